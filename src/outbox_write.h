/*-------------------------------------------------------------------------
 *
 * outbox_write.h
 *		Writing checked items into spotgo_gss.outbox without SPI.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_OUTBOX_WRITE_H
#define SPOTGO_GSS_OUTBOX_WRITE_H

#include "utils/jsonb.h"

extern int64 outbox_write(const char *server, Oid role, int n,
						  const char **ops, char **keys, Jsonb **payloads);

#endif							/* SPOTGO_GSS_OUTBOX_WRITE_H */
