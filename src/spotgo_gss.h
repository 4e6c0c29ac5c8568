/*-------------------------------------------------------------------------
 *
 * spotgo_gss.h
 *		Declarations shared by the files of spotgo_gss: GUC variables and
 *		the version string.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_H
#define SPOTGO_GSS_H

#define SPOTGO_GSS_VERSION "0.2.0"

/* GUCs, defined in spotgo_gss.c */
extern char *spotgo_gss_gss_server;
extern char *spotgo_gss_spotgo_server;
extern int	spotgo_gss_max_response_bytes;
extern char *spotgo_gss_database;
extern int	spotgo_gss_worker_naptime;
extern int	spotgo_gss_max_attempts;
extern int	spotgo_gss_outbox_retention;
extern int	spotgo_gss_claim_timeout;
extern int	spotgo_gss_drain_batch;
extern int	spotgo_gss_sync_overlap;
extern int	spotgo_gss_stats_max;

#endif							/* SPOTGO_GSS_H */
