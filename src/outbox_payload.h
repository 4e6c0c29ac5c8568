/*-------------------------------------------------------------------------
 *
 * outbox_payload.h
 *		A push trigger's default payload, to_jsonb(row), built directly.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_OUTBOX_PAYLOAD_H
#define SPOTGO_GSS_OUTBOX_PAYLOAD_H

#include "access/htup.h"
#include "access/tupdesc.h"
#include "utils/jsonb.h"

typedef struct OutboxRowJsonb OutboxRowJsonb;

extern OutboxRowJsonb *outbox_row_jsonb_prepare(TupleDesc desc, MemoryContext cxt);
extern Jsonb *outbox_row_jsonb(OutboxRowJsonb *rj, HeapTuple tuple);

#endif							/* SPOTGO_GSS_OUTBOX_PAYLOAD_H */
