/*-------------------------------------------------------------------------
 *
 * ratelimit.h
 *		The client-side rate limit shared by a database's sessions, when
 *		spotgo_gss is preloaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_RATELIMIT_H
#define SPOTGO_GSS_RATELIMIT_H

extern void ratelimit_shmem_request(void);
extern void ratelimit_shmem_startup(void);
extern long ratelimit_shared_try(Oid serverid, int rpm);

#endif							/* SPOTGO_GSS_RATELIMIT_H */
