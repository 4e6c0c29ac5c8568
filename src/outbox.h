/*-------------------------------------------------------------------------
 *
 * outbox.h
 *		The durable outbox: writing it (outbox_enqueue.c), delivering it
 *		(outbox_deliver.c), and the background worker that drains it
 *		(worker.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_OUTBOX_H
#define SPOTGO_GSS_OUTBOX_H

#include "utils/jsonb.h"

/* outbox_enqueue.c */
extern int64 outbox_enqueue(const char *operation, Jsonb *payload, const char *servername);

/* outbox_deliver.c; outbox_run() returns these instead of a count */
#define OUTBOX_NOT_INSTALLED	(-1)	/* no extension in this database */
#define OUTBOX_NEEDS_UPDATE		(-2)	/* its SQL objects are older than the library */
extern int64 outbox_run(int64 max_items, bool procedure, long *next_due_ms);

/* worker.c */
extern void worker_shmem_request(void);
extern void worker_shmem_startup(void);
extern void worker_register(void);
extern void worker_wake(void);

#endif							/* SPOTGO_GSS_OUTBOX_H */
