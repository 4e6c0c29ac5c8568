/*-------------------------------------------------------------------------
 *
 * spotgo_gss.c
 *		Module entry point: GUC definitions, and, when preloaded, the
 *		outbox worker and its shared memory.
 *
 * The synchronous SQL functions and CALL spotgo_gss.drain_outbox() work
 * without shared_preload_libraries; loading the library in a backend then
 * only defines the GUCs.  In shared_preload_libraries it also registers the
 * background worker (worker.c), the small shared state that lets a
 * committing backend wake it, and the rate-limit slots that the database's
 * sessions share (ratelimit.c).  Nothing here does I/O.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/guc.h"

#include "compat.h"
#include "outbox.h"
#include "ratelimit.h"
#include "spotgo_gss.h"
#include "stats.h"

PG_MODULE_MAGIC;

char	   *spotgo_gss_gss_server = NULL;
char	   *spotgo_gss_spotgo_server = NULL;
int			spotgo_gss_max_response_bytes = 256 * 1024 * 1024;
char	   *spotgo_gss_database = NULL;
int			spotgo_gss_worker_naptime = 1000;
int			spotgo_gss_max_attempts = 10;
int			spotgo_gss_outbox_retention = 7 * 24 * 3600;
int			spotgo_gss_claim_timeout = 600;
int			spotgo_gss_drain_batch = 1000;
int			spotgo_gss_sync_overlap = 3600;
int			spotgo_gss_stats_max = 1000;

void		_PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
spotgo_gss_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	worker_shmem_request();
	ratelimit_shmem_request();
	stats_shmem_request();
}

static void
spotgo_gss_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	worker_shmem_startup();
	ratelimit_shmem_startup();
	stats_shmem_startup();
}

/*
 * _PG_init
 *		Define the GUCs.  Runs once per backend that loads the library.
 */
void
_PG_init(void)
{
	DefineCustomStringVariable("spotgo_gss.gss_server",
							   "Foreign server used by GoSweetSpot functions when no server is named.",
							   "The server must belong to the spotgo_gss foreign-data wrapper and have api 'gss'.",
							   &spotgo_gss_gss_server,
							   "gss",
							   PGC_USERSET,
							   0,
							   NULL,
							   NULL,
							   NULL);

	DefineCustomStringVariable("spotgo_gss.spotgo_server",
							   "Foreign server used by SpotGo functions when no server is named.",
							   "The server must belong to the spotgo_gss foreign-data wrapper and have api 'spotgo'.",
							   &spotgo_gss_spotgo_server,
							   "spotgo",
							   PGC_USERSET,
							   0,
							   NULL,
							   NULL,
							   NULL);

	/*
	 * Responses are held in memory (a page at a time when listing), and a
	 * bytea or text value cannot exceed 1 GB, hence the upper bound.
	 */
	DefineCustomIntVariable("spotgo_gss.max_response_bytes",
							"Largest API response body accepted, in bytes.",
							"A longer response fails with SQLSTATE 54000 and is not read further.",
							&spotgo_gss_max_response_bytes,
							256 * 1024 * 1024,
							1024,
							1024 * 1024 * 1024 - 1,
							PGC_USERSET,
							GUC_UNIT_BYTE,
							NULL,
							NULL,
							NULL);

	DefineCustomIntVariable("spotgo_gss.worker_naptime",
							"Time the outbox worker sleeps when nothing is due.",
							"A commit that enqueues wakes the worker at once.",
							&spotgo_gss_worker_naptime,
							1000,
							10,
							3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL,
							NULL,
							NULL);

	DefineCustomIntVariable("spotgo_gss.max_attempts",
							"Delivery attempts after which an outbox item becomes dead.",
							NULL,
							&spotgo_gss_max_attempts,
							10,
							1,
							1000,
							PGC_SUSET,
							0,
							NULL,
							NULL,
							NULL);

	DefineCustomIntVariable("spotgo_gss.outbox_retention",
							"How long delivered (done) outbox items are kept.",
							NULL,
							&spotgo_gss_outbox_retention,
							7 * 24 * 3600,
							0,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL,
							NULL,
							NULL);

	DefineCustomIntVariable("spotgo_gss.claim_timeout",
							"Age after which a claim on an outbox item by a live backend is taken over.",
							"Claims of backends that no longer exist are taken over at once.",
							&spotgo_gss_claim_timeout,
							600,
							10,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL,
							NULL,
							NULL);

	DefineCustomIntVariable("spotgo_gss.drain_batch",
							"Outbox items claimed, sent and recorded per transaction.",
							"A crash re-sends at most one batch.",
							&spotgo_gss_drain_batch,
							1000,
							1,
							100000,
							PGC_SUSET,
							0,
							NULL,
							NULL,
							NULL);

	/* read by sync_gss_orders() with current_setting() */
	DefineCustomIntVariable("spotgo_gss.sync_overlap",
							"How far before the watermark an incremental GoSweetSpot sync starts listing.",
							"Orders created shortly before the last run but listed late are caught.",
							&spotgo_gss_sync_overlap,
							3600,
							0,
							INT_MAX,
							PGC_USERSET,
							GUC_UNIT_S,
							NULL,
							NULL,
							NULL);

	/* the worker and its shared state exist only when preloaded */
	if (!process_shared_preload_libraries_in_progress)
	{
		compat_reserve_guc_prefix("spotgo_gss");
		return;
	}

	/* a PGC_POSTMASTER setting can only be defined while preloading */
	DefineCustomStringVariable("spotgo_gss.database",
							   "Database whose outbox the background worker drains.",
							   "Only used when spotgo_gss is in shared_preload_libraries.",
							   &spotgo_gss_database,
							   "postgres",
							   PGC_POSTMASTER,
							   0,
							   NULL,
							   NULL,
							   NULL);

	DefineCustomIntVariable("spotgo_gss.stats_max",
							"Entries of spotgo_gss.api_stats kept in shared memory.",
							"One entry per database, server, method and endpoint; when full, the least used are evicted.",
							&spotgo_gss_stats_max,
							1000,
							100,
							100000,
							PGC_POSTMASTER,
							0,
							NULL,
							NULL,
							NULL);

	compat_reserve_guc_prefix("spotgo_gss");
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = spotgo_gss_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = spotgo_gss_shmem_startup;
	worker_register();
}
