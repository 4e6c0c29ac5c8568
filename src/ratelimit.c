/*-------------------------------------------------------------------------
 *
 * ratelimit.c
 *		A server's requests_per_minute counted across all sessions of a
 *		database, in shared memory.
 *
 * Each (database, server) gets a slot with the start times of its last
 * requests: a sliding-window log, so that no minute ever sees more than
 * requests_per_minute request starts from all sessions together.  Rates above
 * RATELIMIT_RING per minute keep the same rate over a proportionally shorter
 * window.  One LWLock guards all slots; it is held only to read and append a
 * time, never while waiting: a session that must wait is told how long, sleeps
 * (interruptibly, in http.c) and asks again.
 *
 * The slots exist only when spotgo_gss is in shared_preload_libraries; then,
 * and while a free slot is left, ratelimit_shared_try() answers.  Otherwise it
 * returns -1 and http.c counts per session.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "ratelimit.h"

#define RATELIMIT_SLOTS		64
#define RATELIMIT_RING		256

typedef struct RateSlot
{
	Oid			dbid;			/* InvalidOid: free */
	Oid			serverid;
	int			rpm;
	int			size;
	int			next;
	int			count;
	int64		window_us;
	TimestampTz sent[RATELIMIT_RING];
} RateSlot;

typedef struct RateShared
{
	LWLock	   *lock;
	RateSlot	slots[RATELIMIT_SLOTS];
} RateShared;

static RateShared *ratelimit_shared = NULL;

void
ratelimit_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(RateShared)));
	RequestNamedLWLockTranche("spotgo_gss rate limit", 1);
}

void
ratelimit_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ratelimit_shared = ShmemInitStruct("spotgo_gss rate limit", sizeof(RateShared), &found);
	if (!found)
	{
		memset(ratelimit_shared, 0, sizeof(RateShared));
		ratelimit_shared->lock = &(GetNamedLWLockTranche("spotgo_gss rate limit"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * ratelimit_shared_try
 *		Ask to start a request to serverid, limited to rpm a minute across the
 *		database's sessions.  0: go, the start is recorded; > 0: wait that
 *		many ms and ask again; -1: no shared state (count per session).
 */
long
ratelimit_shared_try(Oid serverid, int rpm)
{
	RateSlot   *slot = NULL;
	RateSlot   *free_slot = NULL;
	TimestampTz now;
	long		wait_ms = 0;

	if (ratelimit_shared == NULL || !OidIsValid(MyDatabaseId))
		return -1;

	LWLockAcquire(ratelimit_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < RATELIMIT_SLOTS; i++)
	{
		RateSlot   *s = &ratelimit_shared->slots[i];

		if (s->dbid == MyDatabaseId && s->serverid == serverid)
		{
			slot = s;
			break;
		}
		if (free_slot == NULL && !OidIsValid(s->dbid))
			free_slot = s;
	}
	if (slot == NULL && free_slot == NULL)
	{
		LWLockRelease(ratelimit_shared->lock);
		return -1;
	}
	if (slot == NULL)
	{
		slot = free_slot;
		slot->dbid = MyDatabaseId;
		slot->serverid = serverid;
		slot->rpm = 0;
	}
	if (slot->rpm != rpm)
	{
		slot->rpm = rpm;
		slot->size = Min(rpm, RATELIMIT_RING);
		slot->next = slot->count = 0;
		slot->window_us = (int64) 60 * 1000 * 1000 * slot->size / rpm;
	}

	now = GetCurrentTimestamp();
	if (slot->count == slot->size)
	{
		TimestampTz free_at = slot->sent[slot->next] + slot->window_us;

		if (free_at > now)
			wait_ms = (long) ((free_at - now + 999) / 1000);
	}
	if (wait_ms == 0)
	{
		slot->sent[slot->next] = now;
		slot->next = (slot->next + 1) % slot->size;
		if (slot->count < slot->size)
			slot->count++;
	}
	LWLockRelease(ratelimit_shared->lock);
	return wait_ms;
}
