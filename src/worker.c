/*-------------------------------------------------------------------------
 *
 * worker.c
 *		The background worker that drains the outbox after commit, and the
 *		shared state that lets a committing backend wake it.
 *
 * Shared memory holds one atomic: the worker's PGPROC number plus one (0
 * while no worker runs).  A backend whose transaction enqueued something
 * sets that process's latch at commit (outbox.c's transaction callback), so
 * delivery starts at once; otherwise the worker naps
 * spotgo_gss.worker_naptime between rounds, or less when a retry is due
 * sooner.  Without shared_preload_libraries
 * there is no shared state and no worker: worker_wake() does nothing, and
 * CALL spotgo_gss.drain_outbox() (for example from pg_cron) delivers.
 *
 * A failure inside a round is reported, its transaction aborted, and the
 * worker naps and goes on: per-item failures are recorded on the items, so
 * one bad row cannot make the worker crash-loop.  The worker exits with 1
 * (so the postmaster restarts it after bgw_restart_time) only when told to
 * stop.  It exits at once when the postmaster dies: every wait here and in
 * http.c has WL_EXIT_ON_PM_DEATH, and the delivery loop checks between
 * groups.
 *
 * Two processes: the launcher (registered at startup) connects to no
 * database and only watches; the worker proper is a dynamic background
 * worker the launcher starts in spotgo_gss.database, and starts again when
 * it exits.  Connecting to a database that does not exist is FATAL, and a
 * static worker would be restarted into the same FATAL every
 * bgw_restart_time: instead the launcher reads pg_database (a shared
 * catalog), logs once that the database is missing, and looks again every
 * LAUNCHER_MISSING_DB_RECHECK_MS.  Likewise a database without the
 * extension, or with an extension script older than the library, is logged
 * once by the worker, not every round.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_database.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "outbox.h"
#include "spotgo_gss.h"

PGDLLEXPORT void spotgo_gss_launcher_main(Datum arg);
PGDLLEXPORT void spotgo_gss_worker_main(Datum arg);

/* how often the launcher looks again for a database that does not exist */
#define LAUNCHER_MISSING_DB_RECHECK_MS	60000
/* a worker that ends sooner than this after its start is restarted after it */
#define LAUNCHER_RESTART_DELAY_MS		5000

typedef struct WorkerShared
{
	pg_atomic_uint32 procno_plus_one;
} WorkerShared;

static WorkerShared *worker_shared = NULL;

void
worker_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(WorkerShared)));
}

void
worker_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	worker_shared = ShmemInitStruct("spotgo_gss worker", sizeof(WorkerShared), &found);
	if (!found)
		pg_atomic_init_u32(&worker_shared->procno_plus_one, 0);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * worker_register
 *		Register the launcher; called from _PG_init while
 *		shared_preload_libraries are loaded.
 */
void
worker_register(void)
{
	BackgroundWorker w;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 5;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "spotgo_gss");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "spotgo_gss_launcher_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "spotgo_gss launcher");
	snprintf(w.bgw_type, BGW_MAXLEN, "spotgo_gss launcher");
	RegisterBackgroundWorker(&w);
}

/*
 * worker_wake
 *		Set the worker's latch, if a worker runs.  Never raises.
 */
void
worker_wake(void)
{
	uint32		p;

	if (worker_shared == NULL)
		return;
	p = pg_atomic_read_u32(&worker_shared->procno_plus_one);
	if (p > 0 && p <= ProcGlobal->allProcCount)
		SetLatch(&ProcGlobal->allProcs[p - 1].procLatch);
}

static void
worker_detach(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	if (worker_shared)
		pg_atomic_write_u32(&worker_shared->procno_plus_one, 0);
}

/* wait on the latch for ms, ending on SIGTERM and postmaster death */
static void
launcher_nap(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/*
 * launcher_database_exists
 *		Whether spotgo_gss.database exists.  pg_database is a shared catalog,
 *		read with a plain heap scan as autovacuum's launcher reads it: with
 *		no database selected there are no catalog caches or indexes to use.
 */
static bool
launcher_database_exists(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (!found && HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
		found = strcmp(NameStr(((Form_pg_database) GETSTRUCT(tup))->datname), spotgo_gss_database) == 0;
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return found;
}

/* the worker the launcher started; it ends with the launcher */
static BackgroundWorkerHandle *launcher_worker = NULL;

static void
launcher_stop_worker(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	if (launcher_worker)
		TerminateBackgroundWorker(launcher_worker);
}

/* start the worker proper; NULL when no background worker slot is free */
static BackgroundWorkerHandle *
launcher_start_worker(void)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher restarts it */
	snprintf(w.bgw_library_name, BGW_MAXLEN, "spotgo_gss");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "spotgo_gss_worker_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "spotgo_gss outbox worker");
	snprintf(w.bgw_type, BGW_MAXLEN, "spotgo_gss outbox worker");
	w.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&w, &handle))
		return NULL;
	return handle;
}

/*
 * spotgo_gss_launcher_main
 *		Keep one worker running in spotgo_gss.database while it exists.
 */
void
spotgo_gss_launcher_main(Datum arg pg_attribute_unused())
{
	bool		missing_logged = false;
	bool		no_slot_logged = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	before_shmem_exit(launcher_stop_worker, (Datum) 0);

	for (;;)
	{
		BackgroundWorkerHandle *handle;
		TimestampTz started;

		CHECK_FOR_INTERRUPTS();
		if (!launcher_database_exists())
		{
			if (!missing_logged)
				ereport(LOG,
						(errmsg("spotgo_gss outbox worker is waiting: database \"%s\" does not exist",
								spotgo_gss_database),
						 errhint("Create the database (then reload the configuration to start the worker at once), or set spotgo_gss.database to an existing one and restart the server.")));
			missing_logged = true;
			launcher_nap(LAUNCHER_MISSING_DB_RECHECK_MS);
			continue;
		}
		if (missing_logged)
			ereport(LOG,
					(errmsg("spotgo_gss outbox worker found database \"%s\"", spotgo_gss_database)));
		missing_logged = false;

		started = GetCurrentTimestamp();
		handle = launcher_start_worker();
		if (handle == NULL)
		{
			if (!no_slot_logged)
				ereport(LOG,
						(errmsg("spotgo_gss could not start its outbox worker: no background worker slot is free"),
						 errhint("Raise max_worker_processes.")));
			no_slot_logged = true;
			launcher_nap(LAUNCHER_RESTART_DELAY_MS);
			continue;
		}
		no_slot_logged = false;
		launcher_worker = handle;
		if (WaitForBackgroundWorkerShutdown(handle) == BGWH_POSTMASTER_DIED)
			proc_exit(1);
		launcher_worker = NULL;
		pfree(handle);
		/* ended at once (say, its database was just dropped): not in a tight loop */
		if (!TimestampDifferenceExceeds(started, GetCurrentTimestamp(), LAUNCHER_RESTART_DELAY_MS))
			launcher_nap(LAUNCHER_RESTART_DELAY_MS);
	}
}

/*
 * spotgo_gss_worker_main
 *		Connect to spotgo_gss.database and drain the outbox whenever woken
 *		or every spotgo_gss.worker_naptime.
 */
void
spotgo_gss_worker_main(Datum arg pg_attribute_unused())
{
	MemoryContext loop_cxt;
	volatile int64 missing_reported = 0;	/* the state logged last */

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(spotgo_gss_database, NULL, 0);

	pg_atomic_write_u32(&worker_shared->procno_plus_one, compat_my_proc_index() + 1);
	before_shmem_exit(worker_detach, (Datum) 0);
	ereport(LOG,
			(errmsg("spotgo_gss outbox worker started in database \"%s\"", spotgo_gss_database)));

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "spotgo_gss worker loop", ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		int64		handled = 0;
		long		next_due_ms = -1;
		long		nap;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		MemoryContextSwitchTo(loop_cxt);
		PG_TRY();
		{
			pgstat_report_activity(STATE_RUNNING, "draining the outbox");
			handled = outbox_run(PG_INT64_MAX, false, &next_due_ms);
			if (handled < 0 && handled != missing_reported)
			{
				if (handled == OUTBOX_NOT_INSTALLED)
					ereport(LOG,
							(errmsg("spotgo_gss outbox worker is waiting: extension spotgo_gss is not installed in database \"%s\"",
									spotgo_gss_database)));
				else
					ereport(LOG,
							(errmsg("spotgo_gss outbox worker is waiting: extension spotgo_gss in database \"%s\" must be updated",
									spotgo_gss_database),
							 errhint("Run ALTER EXTENSION spotgo_gss UPDATE in that database.")));
			}
			missing_reported = handled < 0 ? handled : 0;
		}
		PG_CATCH();
		{
			/* report, clean up, nap, go on */
			HOLD_INTERRUPTS();
			MemoryContextSwitchTo(loop_cxt);
			EmitErrorReport();
			AbortOutOfAnyTransaction();
			FlushErrorState();
			RESUME_INTERRUPTS();
		}
		PG_END_TRY();
		pgstat_report_activity(STATE_IDLE, NULL);
		pgstat_report_stat(true);
		MemoryContextReset(loop_cxt);

		if (handled > 0)
			continue;			/* more may have arrived meanwhile */
		/* nap, but wake for the next retry if it is due sooner */
		nap = spotgo_gss_worker_naptime;
		if (next_due_ms >= 0 && next_due_ms < nap)
			nap = Max(next_due_ms, 10);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 nap, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
