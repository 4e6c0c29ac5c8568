/*-------------------------------------------------------------------------
 *
 * push.h
 *		One outbox item on its way to an API, and what came of it.
 *
 * outbox.c claims items and records outcomes; gss.c and spotgo.c know how
 * to deliver them (gss_push, spotgo_push) and fill in the outcome fields.
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

/* outbox.c */
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
