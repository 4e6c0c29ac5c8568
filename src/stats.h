/*-------------------------------------------------------------------------
 *
 * stats.h
 *		api_stats: counters of every API call (stats.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_STATS_H
#define SPOTGO_GSS_STATS_H

extern void stats_shmem_request(void);
extern void stats_shmem_startup(void);
extern void stats_attempt(const char *server, const char *method, const char *endpoint,
						  long status, uint64 bytes, double elapsed_ms, bool retry);
extern void stats_throttled(const char *server, const char *method, const char *endpoint);

#endif							/* SPOTGO_GSS_STATS_H */
