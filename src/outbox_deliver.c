/*-------------------------------------------------------------------------
 *
 * outbox_deliver.c
 *		Delivering the outbox after commit: claim, send through the APIs'
 *		push operations, record outcomes.  Shared by CALL
 *		spotgo_gss.drain_outbox() and the background worker (worker.c).
 *
 * One batch is three steps, so that nothing is held while waiting on the
 * network:
 *	1. claim (a transaction): due items are locked FOR UPDATE SKIP LOCKED and
 *	   stamped with this backend's pid (claimed_by); the endpoint (server
 *	   options and user mapping) of every group of items is resolved; commit.
 *	   Other drainers skip claimed items, so two drainers never send one item
 *	   at once.  An item is due only when no older pending item of the same
 *	   key exists, so the changes of one order reach the API in order.
 *	2. send: no snapshot is taken and no transaction id assigned, so the
 *	   vacuum horizon is not held back however slow the API is.  (A
 *	   transaction shell is open: CALL cannot leave one, and the worker uses
 *	   the same shell so that a failure inside one group is rolled back as a
 *	   subtransaction and becomes the outcome of that group's items.)
 *	3. record every outcome (a transaction).  An item whose version changed
 *	   while it was in flight (a newer change arrived) stays pending and goes
 *	   out again with the new payload.  If recording the batch fails (an
 *	   answer that cannot be stored), each item is recorded on its own, and
 *	   one that still fails is recorded as a failed attempt with that error:
 *	   one bad answer never blocks the other items, and never makes a batch
 *	   go out again and again.
 * A claim is stale when its backend is gone (crash, kill -9, restart) or it
 * is older than spotgo_gss.claim_timeout; stale items are claimed again, so
 * a crash re-sends at most the batch that was in flight.  Every operation is
 * idempotent on its natural key, so such a re-send is harmless.
 *
 * The SQL of each step is an internal function of the extension script
 * (outbox_claim, outbox_record, ...), called here fully qualified under the
 * pinned search_path.  The outbox's rows are only ever touched by those.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/pmsignal.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "compat.h"
#include "options.h"
#include "outbox.h"
#include "pinned.h"
#include "push.h"
#include "spotgo_gss.h"

PG_FUNCTION_INFO_V1(drain_outbox);

/* the oldest version of the extension script this library can deliver with */
#define OUTBOX_MIN_SCRIPT_VERSION "0.2.0"

/* how a drain runs its transactions */
typedef struct DrainMode
{
	bool		procedure;		/* CALL: SPI connected non-atomic, commit with SPI_commit */
	int			nestlevel;		/* of the pinned search_path */
} DrainMode;

/* items of one server, role and operation, and where to send them */
typedef struct PushGroup
{
	PushItem  **items;
	int			n;
	ApiEndpoint *ep;			/* NULL: could not be resolved; items have failed */
} PushGroup;

/* ---- transactions ---- */

/*
 * deliver_sql_begin / deliver_sql_commit
 *		Bracket a step that runs the outbox's SQL: a transaction (the worker;
 *		CALL is already in one) with SPI, a snapshot and the pinned path.
 */
static void
deliver_sql_begin(DrainMode *m)
{
	if (!m->procedure)
	{
		if (!IsTransactionState())
		{
			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
		}
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
	}
	m->nestlevel = pinned_path_push(PINNED_SEARCH_PATH);
}

static void
deliver_sql_commit(DrainMode *m)
{
	pinned_path_pop(m->nestlevel);
	if (m->procedure)
	{
		SPI_commit();			/* starts the next transaction too */
		return;
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * deliver_send_begin
 *		The transaction shell of the send step: no snapshot, no xid.
 */
static void
deliver_send_begin(DrainMode *m)
{
	if (!m->procedure)
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
	}
}

/* one row of a single-column SPI result, or NULL */
static Datum
deliver_single(bool *isnull)
{
	if (SPI_processed != 1)
	{
		*isnull = true;
		return (Datum) 0;
	}
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
}

/* run one of the outbox's functions; nargs parameters of the given types */
static void
deliver_exec(const char *sql, int nargs, Oid *types, Datum *args, int expect)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, args, NULL, false, 0);

	if (rc != expect)
		elog(ERROR, "%s failed: %s", sql, SPI_result_code_string(rc));
}

/* ---- claim ---- */

/*
 * deliver_claim
 *		Claim up to limit due items; they are copied into cxt.  Needs a step
 *		begun with deliver_sql_begin().
 */
static int
deliver_claim(int limit, MemoryContext cxt, PushItem ***out)
{
	Datum		args[2];
	Oid			types[2] = {INT4OID, INT4OID};
	PushItem  **items;
	MemoryContext old;

	args[0] = Int32GetDatum(limit);
	args[1] = Int32GetDatum(spotgo_gss_claim_timeout);
	deliver_exec("SELECT * FROM spotgo_gss.outbox_claim($1, $2)", 2, types, args, SPI_OK_SELECT);

	old = MemoryContextSwitchTo(cxt);
	items = palloc0(sizeof(PushItem *) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		PushItem   *it = palloc0(sizeof(PushItem));
		bool		isnull;

		it->id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		it->version = DatumGetInt32(SPI_getbinval(t, d, 2, &isnull));
		it->op = push_op_by_name(SPI_getvalue(t, d, 3))->op;
		it->server = SPI_getvalue(t, d, 4);
		it->key = SPI_getvalue(t, d, 5);
		it->payload = DatumGetJsonbPCopy(SPI_getbinval(t, d, 6, &isnull));
		it->role = DatumGetObjectId(SPI_getbinval(t, d, 7, &isnull));
		it->attempts = DatumGetInt32(SPI_getbinval(t, d, 8, &isnull));
		it->order_id = SPI_getvalue(t, d, 9);
		items[i] = it;
	}
	MemoryContextSwitchTo(old);
	*out = items;
	return (int) SPI_processed;
}

/* order of groups: server, role, operation, then id (the claim order) */
static int
deliver_item_cmp(const void *a, const void *b)
{
	const PushItem *x = *(PushItem *const *) a;
	const PushItem *y = *(PushItem *const *) b;
	int			c = strcmp(x->server, y->server);

	if (c != 0)
		return c;
	if (x->role != y->role)
		return x->role < y->role ? -1 : 1;
	if (x->op != y->op)
		return x->op < y->op ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id ? 1 : 0;
}

/* "message: detail" of an error, for last_error */
static char *
deliver_error_text(ErrorData *edata)
{
	return edata->detail ? psprintf("%s: %s", edata->message, edata->detail) : pstrdup(edata->message);
}

/*
 * deliver_in_subxact
 *		Run fn(arg) in a subtransaction.  Returns NULL when it succeeded;
 *		otherwise the subtransaction is rolled back and the error returned
 *		(copied into the caller's memory context), except cancel and
 *		shutdown, which end the drain.
 */
static ErrorData *
deliver_in_subxact(void (*fn) (void *arg), void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile failure = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		failure = edata;
	}
	PG_END_TRY();
	return failure;
}

/* every item of grp not yet decided fails with the error (retried later) */
static void
deliver_fail_undecided(PushGroup *grp, ErrorData *edata)
{
	for (int i = 0; i < grp->n; i++)
		if (!grp->items[i]->done && grp->items[i]->error == NULL)
			push_failed_text(grp->items[i], 0, false, deliver_error_text(edata));
	FreeErrorData(edata);
}

static void
deliver_resolve_cb(void *arg)
{
	PushGroup  *grp = (PushGroup *) arg;

	grp->ep = endpoint_lookup(grp->items[0]->server, push_op_info(grp->items[0]->op)->api,
							  grp->items[0]->role);
}

static void
deliver_send_cb(void *arg)
{
	PushGroup  *grp = (PushGroup *) arg;

	push_op_info(grp->items[0]->op)->send(grp->ep, grp->items, grp->n);
}

/*
 * deliver_group_items
 *		Sort the claimed items into groups of one server, role and operation
 *		and resolve each group's endpoint, in the claim's transaction.  A
 *		group whose endpoint cannot be resolved (a dropped user mapping, a
 *		revoked USAGE) fails here, retried later: that may be fixed.
 */
static PushGroup *
deliver_group_items(PushItem **items, int n, int *ngroups)
{
	PushGroup  *groups = palloc0(sizeof(PushGroup) * n);
	int			g = 0;

	qsort(items, n, sizeof(PushItem *), deliver_item_cmp);
	for (int from = 0; from < n;)
	{
		int			to = from + 1;
		PushGroup  *grp = &groups[g++];
		ErrorData  *edata;

		while (to < n && strcmp(items[to]->server, items[from]->server) == 0 &&
			   items[to]->role == items[from]->role && items[to]->op == items[from]->op)
			to++;
		grp->items = items + from;
		grp->n = to - from;
		edata = deliver_in_subxact(deliver_resolve_cb, grp);
		if (edata != NULL)
		{
			grp->ep = NULL;
			deliver_fail_undecided(grp, edata);
		}
		from = to;
	}
	*ngroups = g;
	return groups;
}

/* ---- send ---- */

/*
 * deliver_send_group
 *		Send one group through its operation's API.  Anything that raises (an
 *		answer of the wrong shape) is caught in a subtransaction and becomes
 *		the outcome of the items not yet decided; cancel and shutdown are
 *		passed on.  Takes no snapshot.
 */
static void
deliver_send_group(PushGroup *grp)
{
	ErrorData  *edata;

	if (grp->ep == NULL)
		return;
	edata = deliver_in_subxact(deliver_send_cb, grp);
	if (edata != NULL)
		deliver_fail_undecided(grp, edata);
	for (int i = 0; i < grp->n; i++)
		if (!grp->items[i]->done && grp->items[i]->error == NULL)
			push_failed_text(grp->items[i], 0, false, "the API's answer said nothing about this item");
}

/* ---- record ---- */

/* the pause before retry number attempts: 2 s doubled per attempt, at most 1 h, +-25% */
static long
deliver_backoff_ms(int attempts)
{
	double		s = 2.0 * (double) (1 << Min(attempts - 1, 11));

	s = Min(s, 3600.0);
	return (long) (s * 1000.0 * (0.75 + 0.5 * compat_random_fraction()));
}

/* the state an item's outcome leads to */
static const char *
deliver_state(const PushItem *it)
{
	if (it->done)
		return "done";
	if (it->permanent || it->attempts + 1 >= spotgo_gss_max_attempts)
		return "dead";
	return "pending";
}

#define OUTBOX_RECORD_SQL \
	"SELECT spotgo_gss.outbox_record($1, $2, $3, $4, $5, $6, $7, $8, $9)"

/*
 * deliver_record_rows
 *		Write the outcomes of items[0..n) (only rows this backend still
 *		claims), and remember or forget SpotGo order ids.  Raises when
 *		something cannot be stored (an orderId that is not a UUID).
 */
static void
deliver_record_rows(PushItem **items, int n)
{
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *versions = palloc(sizeof(Datum) * n);
	Datum	   *states = palloc(sizeof(Datum) * n);
	Datum	   *nexts = palloc(sizeof(Datum) * n);
	Datum	   *attempts = palloc(sizeof(Datum) * n);
	Datum	   *statuses = palloc(sizeof(Datum) * n);
	Datum	   *errors = palloc(sizeof(Datum) * n);
	Datum	   *responses = palloc(sizeof(Datum) * n);
	Datum	   *claimers = palloc(sizeof(Datum) * n);
	bool	   *st_null = palloc(sizeof(bool) * n);
	bool	   *er_null = palloc(sizeof(bool) * n);
	bool	   *re_null = palloc(sizeof(bool) * n);
	Datum	   *id_servers = palloc(sizeof(Datum) * n);
	Datum	   *id_numbers = palloc(sizeof(Datum) * n);
	Datum	   *id_values = palloc(sizeof(Datum) * n);
	int			nids = 0;
	Datum	   *del_servers = palloc(sizeof(Datum) * n);
	Datum	   *del_numbers = palloc(sizeof(Datum) * n);
	int			ndel = 0;
	int			dims[1] = {n};
	int			lbs[1] = {1};
	Datum		args[9];
	Oid			types[9] = {INT8ARRAYOID, INT4ARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID,
	INT4ARRAYOID, INT4ARRAYOID, TEXTARRAYOID, JSONBARRAYOID, INT4ARRAYOID};
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < n; i++)
	{
		PushItem   *it = items[i];
		const char *state = deliver_state(it);
		int			att = it->attempts + 1;

		ids[i] = Int64GetDatum(it->id);
		versions[i] = Int32GetDatum(it->version);
		states[i] = CStringGetTextDatum(state);
		attempts[i] = Int32GetDatum(att);
		nexts[i] = TimestampTzGetDatum(strcmp(state, "pending") == 0 ?
									   TimestampTzPlusMilliseconds(now, deliver_backoff_ms(att)) : now);
		st_null[i] = it->status == 0;
		statuses[i] = Int32GetDatum((int32) it->status);
		er_null[i] = it->error == NULL;
		errors[i] = it->error ? CStringGetTextDatum(it->error) : (Datum) 0;
		re_null[i] = it->response == NULL;
		responses[i] = it->response ? JsonbPGetDatum(it->response) : (Datum) 0;
		claimers[i] = Int32GetDatum(MyProcPid);

		if (it->done && it->op == PUSH_SPOTGO_UPSERT && it->learned_order_id)
		{
			id_servers[nids] = CStringGetTextDatum(it->server);
			id_numbers[nids] = CStringGetTextDatum(it->key);
			/* raises on an orderId that is not a UUID */
			id_values[nids] = DirectFunctionCall1(uuid_in, CStringGetDatum(it->learned_order_id));
			nids++;
		}
		if (it->done && it->op == PUSH_SPOTGO_DELETE)
		{
			del_servers[ndel] = CStringGetTextDatum(it->server);
			del_numbers[ndel] = CStringGetTextDatum(it->key);
			ndel++;
		}
	}

	args[0] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(versions, n, INT4OID, 4, true, TYPALIGN_INT));
	args[2] = PointerGetDatum(construct_array(states, n, TEXTOID, -1, false, TYPALIGN_INT));
	args[3] = PointerGetDatum(construct_array(nexts, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[4] = PointerGetDatum(construct_array(attempts, n, INT4OID, 4, true, TYPALIGN_INT));
	args[5] = PointerGetDatum(construct_md_array(statuses, st_null, 1, dims, lbs, INT4OID, 4, true, TYPALIGN_INT));
	args[6] = PointerGetDatum(construct_md_array(errors, er_null, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
	args[7] = PointerGetDatum(construct_md_array(responses, re_null, 1, dims, lbs, JSONBOID, -1, false, TYPALIGN_INT));
	args[8] = PointerGetDatum(construct_array(claimers, n, INT4OID, 4, true, TYPALIGN_INT));
	deliver_exec(OUTBOX_RECORD_SQL, 9, types, args, SPI_OK_SELECT);

	if (nids > 0)
	{
		Datum		a[3];
		Oid			t[3] = {TEXTARRAYOID, TEXTARRAYOID, UUIDARRAYOID};

		a[0] = PointerGetDatum(construct_array(id_servers, nids, TEXTOID, -1, false, TYPALIGN_INT));
		a[1] = PointerGetDatum(construct_array(id_numbers, nids, TEXTOID, -1, false, TYPALIGN_INT));
		a[2] = PointerGetDatum(construct_array(id_values, nids, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
		deliver_exec("SELECT spotgo_gss.outbox_learn_order_ids($1, $2, $3)", 3, t, a, SPI_OK_SELECT);
	}
	if (ndel > 0)
	{
		Datum		a[2];
		Oid			t[2] = {TEXTARRAYOID, TEXTARRAYOID};

		a[0] = PointerGetDatum(construct_array(del_servers, ndel, TEXTOID, -1, false, TYPALIGN_INT));
		a[1] = PointerGetDatum(construct_array(del_numbers, ndel, TEXTOID, -1, false, TYPALIGN_INT));
		deliver_exec("SELECT spotgo_gss.outbox_forget_order_ids($1, $2)", 2, t, a, SPI_OK_SELECT);
	}
}

/* the items deliver_record_rows() records in a subtransaction */
typedef struct RecordArgs
{
	PushItem  **items;
	int			n;
} RecordArgs;

static void
deliver_record_cb(void *arg)
{
	RecordArgs *r = (RecordArgs *) arg;

	deliver_record_rows(r->items, r->n);
}

/* deliver_record_rows() in a subtransaction: NULL, or the error (nothing written) */
static ErrorData *
deliver_try_record(PushItem **items, int n)
{
	RecordArgs	r = {items, n};

	return deliver_in_subxact(deliver_record_cb, &r);
}

/* a first failure and a death at WARNING, later retries at DEBUG1 */
static void
deliver_log(const PushItem *it)
{
	const char *state = deliver_state(it);
	const char *opname = push_op_info(it->op)->name;
	int			att = it->attempts + 1;

	if (strcmp(state, "dead") == 0)
		ereport(WARNING,
				(errmsg("spotgo_gss: outbox item %lld (%s on server \"%s\", key \"%s\") is dead after %d attempt(s)",
						(long long) it->id, opname, it->server, it->key, att),
				 errdetail("%s", it->error ? it->error : "unknown error"),
				 errhint("Fix the cause, then run SELECT spotgo_gss.retry_dead();")));
	else if (strcmp(state, "pending") == 0)
		ereport(att == 1 ? WARNING : DEBUG1,
				(errmsg("spotgo_gss: delivery of outbox item %lld (%s on server \"%s\", key \"%s\") failed, will retry",
						(long long) it->id, opname, it->server, it->key),
				 errdetail("%s", it->error ? it->error : "unknown error")));
}

/*
 * deliver_record
 *		Record the outcomes of a batch.  When the batch cannot be recorded
 *		as a whole, each item is recorded on its own; an item that still
 *		cannot be recorded becomes a failed attempt carrying that error (the
 *		API's answer is not kept), so it backs off and eventually dies
 *		instead of being sent again every round.
 */
static void
deliver_record(PushItem **items, int n)
{
	ErrorData  *edata = deliver_try_record(items, n);

	if (edata != NULL)
	{
		FreeErrorData(edata);
		for (int i = 0; i < n; i++)
		{
			PushItem   *it = items[i];

			edata = deliver_try_record(&it, 1);
			if (edata == NULL)
				continue;
			push_failed_text(it, it->status, false,
							 psprintf("the answer could not be recorded: %s", deliver_error_text(edata)));
			it->response = NULL;
			it->learned_order_id = NULL;
			FreeErrorData(edata);
			edata = deliver_try_record(&it, 1);
			if (edata != NULL)
			{
				ereport(WARNING,
						(errmsg("spotgo_gss: could not record the outcome of outbox item %lld", (long long) it->id),
						 errdetail("%s", deliver_error_text(edata))));
				FreeErrorData(edata);
			}
		}
	}
	for (int i = 0; i < n; i++)
		deliver_log(items[i]);
}

/* ---- the drain loop ---- */

/*
 * deliver_script_ok
 *		Whether the extension is installed, and at a version whose script
 *		has the delivery functions (an older one needs ALTER EXTENSION
 *		UPDATE).  Needs a step begun with deliver_sql_begin().
 */
static int64
deliver_script_ok(void)
{
	bool		isnull;
	Datum		d;

	if (!OidIsValid(get_extension_oid("spotgo_gss", true)))
		return OUTBOX_NOT_INSTALLED;
	deliver_exec("SELECT pg_catalog.to_regproc('spotgo_gss.outbox_claim') IS NOT NULL",
				 0, NULL, NULL, SPI_OK_SELECT);
	d = deliver_single(&isnull);
	if (isnull || !DatumGetBool(d))
		return OUTBOX_NEEDS_UPDATE;
	return 0;
}

/*
 * outbox_run
 *		Deliver up to max_items due items in batches of spotgo_gss.drain_batch
 *		(see the file comment), then purge done items older than
 *		spotgo_gss.outbox_retention.  Returns the number of items handled, or
 *		OUTBOX_NOT_INSTALLED / OUTBOX_NEEDS_UPDATE.  In procedure mode the
 *		caller's SPI connection is non-atomic; otherwise (the worker) each
 *		step runs in a transaction of its own.  When next_due_ms is not NULL
 *		it is set to the time until the next pending item is due (-1: none),
 *		so the worker can wake for a retry.
 */
int64
outbox_run(int64 max_items, bool procedure, long *next_due_ms)
{
	DrainMode	m = {procedure, 0};
	MemoryContext batch_cxt;
	volatile int64 handled = 0;
	int64		status;

	deliver_sql_begin(&m);
	status = deliver_script_ok();
	if (status == 0)
	{
		Datum		a[1] = {Int32GetDatum(MyProcPid)};
		Oid			t[1] = {INT4OID};

		/* claims of this backend left by an earlier, interrupted drain */
		deliver_exec("SELECT spotgo_gss.outbox_release($1)", 1, t, a, SPI_OK_SELECT);
	}
	deliver_sql_commit(&m);
	if (status != 0)
		return status;

	batch_cxt = AllocSetContextCreate(TopMemoryContext, "spotgo_gss drain", ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		while (handled < max_items)
		{
			PushItem  **items;
			PushGroup  *groups;
			int			n;
			int			ngroups = 0;
			MemoryContext old;

			CHECK_FOR_INTERRUPTS();
			if (!PostmasterIsAlive())
				proc_exit(1);

			/* 1. claim, and resolve the endpoints */
			deliver_sql_begin(&m);
			n = deliver_claim((int) Min((int64) spotgo_gss_drain_batch, max_items - handled), batch_cxt, &items);
			old = MemoryContextSwitchTo(batch_cxt);
			groups = n > 0 ? deliver_group_items(items, n, &ngroups) : NULL;
			MemoryContextSwitchTo(old);
			deliver_sql_commit(&m);
			if (n == 0)
				break;

			/* 2. send, holding no snapshot */
			deliver_send_begin(&m);
			old = MemoryContextSwitchTo(batch_cxt);
			for (int g = 0; g < ngroups; g++)
			{
				if (!PostmasterIsAlive())
					proc_exit(1);
				deliver_send_group(&groups[g]);
			}
			MemoryContextSwitchTo(old);

			/* 3. record */
			deliver_sql_begin(&m);
			old = MemoryContextSwitchTo(batch_cxt);
			deliver_record(items, n);
			MemoryContextSwitchTo(old);
			deliver_sql_commit(&m);
			MemoryContextReset(batch_cxt);
			handled += n;
		}

		deliver_sql_begin(&m);
		{
			Datum		a[1] = {Int32GetDatum(spotgo_gss_outbox_retention)};
			Oid			t[1] = {INT4OID};

			deliver_exec("SELECT spotgo_gss.outbox_purge($1)", 1, t, a, SPI_OK_SELECT);
			if (next_due_ms)
			{
				bool		isnull;
				Datum		d;

				deliver_exec("SELECT spotgo_gss.outbox_next_due_ms()", 0, NULL, NULL, SPI_OK_SELECT);
				d = deliver_single(&isnull);
				*next_due_ms = isnull ? -1 : (long) DatumGetInt64(d);
			}
		}
		deliver_sql_commit(&m);
	}
	PG_FINALLY();
	{
		MemoryContextDelete(batch_cxt);
	}
	PG_END_TRY();
	return handled;
}

/*
 * CALL spotgo_gss.drain_outbox(max_items int)
 *		Deliver due items now, committing after each batch.  Must be called
 *		with CALL outside an explicit transaction block.
 */
Datum
drain_outbox(PG_FUNCTION_ARGS)
{
	int64		max_items = PG_ARGISNULL(0) ? 10000 : PG_GETARG_INT32(0);
	bool		nonatomic = fcinfo->context && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;
	int64		handled;

	if (!nonatomic)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("spotgo_gss.drain_outbox() commits after each batch and cannot run inside a transaction block"),
				 errhint("Run CALL spotgo_gss.drain_outbox() on its own, not in BEGIN ... COMMIT or a function.")));
	if (max_items <= 0)
		PG_RETURN_VOID();
	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	handled = outbox_run(max_items, true, NULL);
	SPI_finish();
	if (handled == OUTBOX_NEEDS_UPDATE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension spotgo_gss must be updated before the outbox can be delivered"),
				 errdetail("The installed library needs version %s of the extension's SQL objects.",
						   OUTBOX_MIN_SCRIPT_VERSION),
				 errhint("Run ALTER EXTENSION spotgo_gss UPDATE.")));
	PG_RETURN_VOID();
}
