/*-------------------------------------------------------------------------
 *
 * push.h
 *		One outbox item on its way to an API, and what came of it.
 *
 * outbox_enqueue.c checks payloads and outbox_deliver.c sends claimed items
 * only through the operation table of push.c; gss.c and spotgo.c know how to
 * deliver items (gss_push, spotgo_push) and fill in the outcome fields with
 * push_done() / push_failed().  No API file calls into the outbox.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_PUSH_H
#define SPOTGO_GSS_PUSH_H

#include "utils/jsonb.h"

#include "http.h"
#include "options.h"

typedef enum PushOp
{
	PUSH_SPOTGO_UPSERT,
	PUSH_SPOTGO_DELETE,
	PUSH_GSS_UPSERT,
	PUSH_GSS_DELETE
} PushOp;

typedef struct PushItem
{
	/* the claimed item */
	int64		id;
	int			version;
	PushOp		op;
	char	   *server;
	char	   *key;			/* orderNumber or packingslipno */
	Jsonb	   *payload;
	Oid			role;			/* whose user mapping delivers it */
	int			attempts;		/* before this delivery */
	char	   *order_id;		/* spotgo delete: known orderId, or NULL */

	/* the outcome, set by gss_push / spotgo_push */
	bool		done;
	bool		permanent;		/* failed for good: do not retry */
	long		status;			/* last HTTP status, 0 when none */
	char	   *error;
	Jsonb	   *response;
	char	   *learned_order_id;	/* spotgo upsert: orderId of the answer */
} PushItem;

typedef char *(*PushKeyFn) (Jsonb *payload);
typedef void (*PushSendFn) (ApiEndpoint *ep, struct PushItem **items, int n);

/* one push operation: its name in the outbox, its API, how to check and send */
typedef struct PushOpInfo
{
	const char *name;			/* outbox.operation */
	PushOp		op;
	ApiKind		api;
	bool		is_delete;
	const char *key_field;		/* the payload field holding the natural key */
	PushKeyFn	key;			/* checks a payload, returns its key; raises */
	PushSendFn	send;			/* delivers items of one server, role and op */
} PushOpInfo;

/* push.c */
extern const PushOpInfo *push_op_by_name(const char *name);
extern const PushOpInfo *push_op_info(PushOp op);
extern const PushOpInfo *push_op_for(ApiKind api, bool is_delete);
extern void push_failed(PushItem *item, const HttpResponse *resp);
extern void push_failed_text(PushItem *item, long status, bool permanent, const char *error);
extern void push_done(PushItem *item, long status, Jsonb *response);

/* gss.c and spotgo.c: deliver items of one server, role and operation */
extern void gss_push(ApiEndpoint *ep, PushItem **items, int n);
extern void spotgo_push(ApiEndpoint *ep, PushItem **items, int n);

/* payload checks at enqueue time; return the natural key */
extern char *gss_order_key(Jsonb *order);
extern char *spotgo_order_key(Jsonb *order);

#endif							/* SPOTGO_GSS_PUSH_H */
