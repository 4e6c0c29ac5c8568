/*-------------------------------------------------------------------------
 *
 * stats.c
 *		api_stats: counters of every API call, per (database, server,
 *		method, endpoint template), as pg_stat_statements keeps them for
 *		queries.
 *
 * http.c reports every attempt (stats_attempt) and every client-side
 * rate-limit pause (stats_throttled).  An entry holds plain counters, a
 * fixed log-scale histogram of durations (for p95) and the last status.
 *
 * Shared memory and locking: when spotgo_gss is preloaded, the entries live
 * in a shared hash table of spotgo_gss.stats_max entries, guarded by one
 * LWLock.  The hot path takes it in shared mode only, to find the entry, and
 * updates the counters with atomic operations: sessions and the worker
 * counting at once never wait for each other.  Creating an entry, evicting
 * the least used ones when the table is full (pg_stat_statements' rule: the
 * 5% with the fewest calls go), and reset take it exclusively; so an entry
 * never disappears under a shared holder.
 *
 * Without the preload there is no shared memory: each session counts its
 * own calls in a local table of the same shape, and reading the view says so
 * once with a NOTICE.
 *
 * Endpoint templates come from the API files (HttpRequest.endpoint, for
 * example "/v2/order/{packingslipno}"): never a query string, an identifier
 * or a secret.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "spotgo_gss.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(api_stats_rows);
PG_FUNCTION_INFO_V1(api_stats_reset);

#define STATS_METHOD_LEN	8
#define STATS_ENDPOINT_LEN	96
/* duration buckets: four a power of two of microseconds, from 1 us to ~2.3 h */
#define STATS_BUCKETS		132
#define STATS_EVICT_PERCENT	5

typedef struct StatsKey
{
	Oid			dbid;
	char		server[NAMEDATALEN];
	char		method[STATS_METHOD_LEN];
	char		endpoint[STATS_ENDPOINT_LEN];
} StatsKey;

typedef struct StatsEntry
{
	StatsKey	key;			/* hash key: must be first */
	pg_atomic_uint64 calls;
	pg_atomic_uint64 errors;
	pg_atomic_uint64 retries;
	pg_atomic_uint64 throttled;
	pg_atomic_uint64 bytes;
	pg_atomic_uint64 total_us;
	pg_atomic_uint64 max_us;
	pg_atomic_uint32 last_status;
	pg_atomic_uint64 last_error_at;	/* TimestampTz; 0: never */
	pg_atomic_uint64 hist[STATS_BUCKETS];
} StatsEntry;

typedef struct StatsShared
{
	LWLock	   *lock;
	pg_atomic_uint64 since;		/* TimestampTz of the last reset */
} StatsShared;

/* an entry's counters as read at one moment, for the view */
typedef struct StatsRow
{
	StatsKey	key;
	uint64		calls,
				errors,
				retries,
				throttled,
				bytes,
				total_us,
				max_us;
	uint32		last_status;
	TimestampTz last_error_at;
	uint64		hist[STATS_BUCKETS];
} StatsRow;

static StatsShared *stats_shared = NULL;
static HTAB *stats_hash = NULL;		/* shared, or this session's */
static bool stats_local = false;
static TimestampTz stats_local_since = 0;
static bool stats_local_noticed = false;

/* ---- shared memory ---- */

static Size
stats_hash_size(void)
{
	return hash_estimate_size(spotgo_gss_stats_max, sizeof(StatsEntry));
}

void
stats_shmem_request(void)
{
	RequestAddinShmemSpace(add_size(MAXALIGN(sizeof(StatsShared)), stats_hash_size()));
	RequestNamedLWLockTranche("spotgo_gss api_stats", 1);
}

void
stats_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	stats_shared = ShmemInitStruct("spotgo_gss api_stats", sizeof(StatsShared), &found);
	if (!found)
	{
		stats_shared->lock = &(GetNamedLWLockTranche("spotgo_gss api_stats"))->lock;
		pg_atomic_init_u64(&stats_shared->since, (uint64) GetCurrentTimestamp());
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(StatsKey);
	info.entrysize = sizeof(StatsEntry);
	stats_hash = ShmemInitHash("spotgo_gss api_stats hash",
							   spotgo_gss_stats_max, spotgo_gss_stats_max,
							   &info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

/* the table to count in: the shared one, or (not preloaded) this session's */
static HTAB *
stats_table(void)
{
	if (stats_hash == NULL)
	{
		HASHCTL		info;

		memset(&info, 0, sizeof(info));
		info.keysize = sizeof(StatsKey);
		info.entrysize = sizeof(StatsEntry);
		info.hcxt = TopMemoryContext;
		stats_hash = hash_create("spotgo_gss api_stats (this session)", 64, &info,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		stats_local = true;
		stats_local_since = GetCurrentTimestamp();
	}
	return stats_hash;
}

static void
stats_lock(LWLockMode mode)
{
	if (!stats_local)
		LWLockAcquire(stats_shared->lock, mode);
}

static void
stats_unlock(void)
{
	if (!stats_local)
		LWLockRelease(stats_shared->lock);
}

static void
stats_init_entry(StatsEntry *e)
{
	pg_atomic_init_u64(&e->calls, 0);
	pg_atomic_init_u64(&e->errors, 0);
	pg_atomic_init_u64(&e->retries, 0);
	pg_atomic_init_u64(&e->throttled, 0);
	pg_atomic_init_u64(&e->bytes, 0);
	pg_atomic_init_u64(&e->total_us, 0);
	pg_atomic_init_u64(&e->max_us, 0);
	pg_atomic_init_u32(&e->last_status, 0);
	pg_atomic_init_u64(&e->last_error_at, 0);
	for (int i = 0; i < STATS_BUCKETS; i++)
		pg_atomic_init_u64(&e->hist[i], 0);
}

/* qsort: fewest calls first */
static int
stats_usage_cmp(const void *a, const void *b)
{
	uint64		x = pg_atomic_read_u64(&(*(StatsEntry *const *) a)->calls);
	uint64		y = pg_atomic_read_u64(&(*(StatsEntry *const *) b)->calls);

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * stats_evict
 *		Remove the least used STATS_EVICT_PERCENT of the entries (at least
 *		one).  Exclusive lock held.
 */
static void
stats_evict(HTAB *h)
{
	long		n = hash_get_num_entries(h);
	StatsEntry **all;
	HASH_SEQ_STATUS seq;
	StatsEntry *e;
	long		i = 0;
	long		drop;

	if (n == 0)
		return;
	all = palloc(sizeof(StatsEntry *) * n);
	hash_seq_init(&seq, h);
	while ((e = hash_seq_search(&seq)) != NULL && i < n)
		all[i++] = e;
	qsort(all, i, sizeof(StatsEntry *), stats_usage_cmp);
	drop = Max(1, i * STATS_EVICT_PERCENT / 100);
	for (long k = 0; k < drop && k < i; k++)
		hash_search(h, &all[k]->key, HASH_REMOVE, NULL);
	pfree(all);
}

/*
 * stats_entry
 *		The entry of (this database, server, method, endpoint), created when
 *		missing.  Returns with the lock held in shared mode (the caller
 *		updates counters, then calls stats_unlock()).
 */
static StatsEntry *
stats_entry(const char *server, const char *method, const char *endpoint)
{
	HTAB	   *h = stats_table();
	StatsKey	key;
	StatsEntry *e;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	strlcpy(key.server, server ? server : "", sizeof(key.server));
	strlcpy(key.method, method ? method : "", sizeof(key.method));
	strlcpy(key.endpoint, endpoint ? endpoint : "(unnamed)", sizeof(key.endpoint));

	stats_lock(LW_SHARED);
	e = hash_search(h, &key, HASH_FIND, NULL);
	if (e != NULL)
		return e;
	stats_unlock();

	stats_lock(LW_EXCLUSIVE);
	e = hash_search(h, &key, HASH_ENTER_NULL, &found);
	if (e == NULL)
	{
		stats_evict(h);
		e = hash_search(h, &key, HASH_ENTER_NULL, &found);
	}
	if (e != NULL && !found)
		stats_init_entry(e);
	stats_unlock();

	/* back to shared mode; the entry may have been evicted meanwhile */
	stats_lock(LW_SHARED);
	e = hash_search(h, &key, HASH_FIND, NULL);
	if (e == NULL)
		stats_unlock();
	return e;
}

static int
stats_bucket(uint64 us)
{
	int			b;

	if (us <= 1)
		return 0;
	b = (int) floor(4.0 * log2((double) us));
	return Min(b, STATS_BUCKETS - 1);
}

/* the upper bound of bucket b, in milliseconds */
static double
stats_bucket_ms(int b)
{
	return pow(2.0, (double) (b + 1) / 4.0) / 1000.0;
}

/*
 * stats_attempt
 *		Count one attempt of a request: status is the HTTP status (0: no
 *		answer), retry whether an earlier attempt of the same request was
 *		made.  Never raises (an entry that cannot be made is not counted).
 */
void
stats_attempt(const char *server, const char *method, const char *endpoint,
			  long status, uint64 bytes, double elapsed_ms, bool retry)
{
	StatsEntry *e = stats_entry(server, method, endpoint);
	uint64		us = elapsed_ms > 0 ? (uint64) (elapsed_ms * 1000.0) : 0;
	uint64		max;

	if (e == NULL)
		return;
	pg_atomic_fetch_add_u64(&e->calls, 1);
	if (retry)
		pg_atomic_fetch_add_u64(&e->retries, 1);
	if (status == 429)
		pg_atomic_fetch_add_u64(&e->throttled, 1);
	if (status < 200 || status > 299)
	{
		pg_atomic_fetch_add_u64(&e->errors, 1);
		pg_atomic_write_u64(&e->last_error_at, (uint64) GetCurrentTimestamp());
	}
	pg_atomic_fetch_add_u64(&e->bytes, bytes);
	pg_atomic_fetch_add_u64(&e->total_us, us);
	max = pg_atomic_read_u64(&e->max_us);
	while (us > max && !pg_atomic_compare_exchange_u64(&e->max_us, &max, us))
		;
	pg_atomic_fetch_add_u64(&e->hist[stats_bucket(us)], 1);
	pg_atomic_write_u32(&e->last_status, (uint32) Max(status, 0));
	stats_unlock();
}

/* count one client-side rate-limit pause before a request */
void
stats_throttled(const char *server, const char *method, const char *endpoint)
{
	StatsEntry *e = stats_entry(server, method, endpoint);

	if (e == NULL)
		return;
	pg_atomic_fetch_add_u64(&e->throttled, 1);
	stats_unlock();
}

/* ---- the view ---- */

/*
 * The caller may read the statistics: a member of pg_read_all_stats, or a
 * role with SELECT on the view spotgo_gss.api_stats (its owner, or granted).
 */
static void
stats_check_read(void)
{
	Oid			nsp = get_namespace_oid("spotgo_gss", true);
	Oid			view = OidIsValid(nsp) ? get_relname_relid("api_stats", nsp) : InvalidOid;

	if (has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS))
		return;
	if (OidIsValid(view) && pg_class_aclcheck(view, GetUserId(), ACL_SELECT) == ACLCHECK_OK)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for view spotgo_gss.api_stats"),
			 errhint("Members of pg_read_all_stats may read it; others need GRANT SELECT ON spotgo_gss.api_stats.")));
}

/*
 * spotgo_gss.api_stats_rows() returns setof record
 *		The rows of the view spotgo_gss.api_stats.
 */
Datum
api_stats_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	StatsEntry *e;
	TimestampTz since;
	HTAB	   *h;
	StatsRow   *copies;
	long		n;
	long		k = 0;

	stats_check_read();
	compat_init_srf(fcinfo);
	h = stats_table();
	if (stats_local)
	{
		if (!stats_local_noticed)
			ereport(NOTICE,
					(errmsg("spotgo_gss.api_stats shows this session's calls only"),
					 errdetail("spotgo_gss is not in shared_preload_libraries, so sessions do not share their counters."),
					 errhint("Add spotgo_gss to shared_preload_libraries and restart to count every session's and the worker's calls.")));
		stats_local_noticed = true;
		since = stats_local_since;
	}
	else
		since = (TimestampTz) pg_atomic_read_u64(&stats_shared->since);

	/* copy under the lock; build the rows (catalog lookups) after it */
	stats_lock(LW_SHARED);
	n = hash_get_num_entries(h);
	copies = palloc(sizeof(StatsRow) * Max(n, 1));
	hash_seq_init(&seq, h);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		StatsRow   *r;

		if (k >= n)
		{
			hash_seq_term(&seq);
			break;
		}
		r = &copies[k++];
		r->key = e->key;
		r->calls = pg_atomic_read_u64(&e->calls);
		r->errors = pg_atomic_read_u64(&e->errors);
		r->retries = pg_atomic_read_u64(&e->retries);
		r->throttled = pg_atomic_read_u64(&e->throttled);
		r->bytes = pg_atomic_read_u64(&e->bytes);
		r->total_us = pg_atomic_read_u64(&e->total_us);
		r->max_us = pg_atomic_read_u64(&e->max_us);
		r->last_status = pg_atomic_read_u32(&e->last_status);
		r->last_error_at = (TimestampTz) pg_atomic_read_u64(&e->last_error_at);
		for (int i = 0; i < STATS_BUCKETS; i++)
			r->hist[i] = pg_atomic_read_u64(&e->hist[i]);
	}
	stats_unlock();

	for (long j = 0; j < k; j++)
	{
		StatsRow   *r = &copies[j];
		Datum		values[16];
		bool		nulls[16];
		uint64		nhist = 0;
		uint64		seen = 0;
		int			p95 = -1;
		char	   *dbname = get_database_name(r->key.dbid);

		memset(nulls, 0, sizeof(nulls));
		for (int i = 0; i < STATS_BUCKETS; i++)
			nhist += r->hist[i];
		for (int i = 0; i < STATS_BUCKETS && nhist > 0; i++)
		{
			seen += r->hist[i];
			if (seen * 100 >= nhist * 95)
			{
				p95 = i;
				break;
			}
		}
		nulls[0] = dbname == NULL;
		values[0] = dbname ? DirectFunctionCall1(namein, CStringGetDatum(dbname)) : (Datum) 0;
		values[1] = CStringGetTextDatum(r->key.server);
		values[2] = CStringGetTextDatum(r->key.method);
		values[3] = CStringGetTextDatum(r->key.endpoint);
		values[4] = Int64GetDatum((int64) r->calls);
		values[5] = Int64GetDatum((int64) r->errors);
		values[6] = Int64GetDatum((int64) r->retries);
		values[7] = Int64GetDatum((int64) r->throttled);
		values[8] = Int64GetDatum((int64) r->bytes);
		values[9] = Float8GetDatum((double) r->total_us / 1000.0);
		nulls[10] = r->calls == 0;
		values[10] = Float8GetDatum(r->calls > 0 ? (double) r->total_us / 1000.0 / (double) r->calls : 0.0);
		nulls[11] = p95 < 0;
		values[11] = Float8GetDatum(p95 >= 0 ? stats_bucket_ms(p95) : 0.0);
		values[12] = Float8GetDatum((double) r->max_us / 1000.0);
		nulls[13] = r->last_status == 0;
		values[13] = Int32GetDatum((int32) r->last_status);
		nulls[14] = r->last_error_at == 0;
		values[14] = TimestampTzGetDatum(r->last_error_at);
		values[15] = TimestampTzGetDatum(since);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * spotgo_gss.api_stats_reset() returns void
 *		Forget every entry (of every database) and start counting anew.
 */
Datum
api_stats_reset(PG_FUNCTION_ARGS)
{
	HTAB	   *h = stats_table();
	HASH_SEQ_STATUS seq;
	StatsEntry *e;

	stats_lock(LW_EXCLUSIVE);
	hash_seq_init(&seq, h);
	while ((e = hash_seq_search(&seq)) != NULL)
		hash_search(h, &e->key, HASH_REMOVE, NULL);
	if (stats_local)
		stats_local_since = GetCurrentTimestamp();
	else
		pg_atomic_write_u64(&stats_shared->since, (uint64) GetCurrentTimestamp());
	stats_unlock();
	PG_RETURN_VOID();
}
