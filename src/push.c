/*-------------------------------------------------------------------------
 *
 * push.c
 *		The outbox's one interface to the APIs: the table of push
 *		operations, and the outcome of one item's delivery.
 *
 * outbox_enqueue.c checks a payload through the operation's key function;
 * outbox_deliver.c sends a group of claimed items through the operation's
 * API and reads their outcomes.  gss.c and spotgo.c fill in outcomes with
 * push_done() / push_failed(); they never call into the outbox.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/jsonb.h"

#include "push.h"

/* a delete payload: an object with the key as a non-empty string */
static char *
push_delete_key(Jsonb *payload, const char *field, bool no_comma)
{
	JsonbValue *v = NULL;

	if (JB_ROOT_IS_OBJECT(payload))
		v = getKeyJsonValueFromContainer(&payload->root, field, strlen(field), NULL);
	if (v == NULL || v->type != jbvString || v->val.string.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid delete payload"),
				 errdetail("A delete needs an object with a non-empty string \"%s\".", field)));
	if (no_comma && memchr(v->val.string.val, ',', v->val.string.len) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("packing-slip number \"%s\" contains a comma",
						pnstrdup(v->val.string.val, v->val.string.len)),
				 errdetail("GoSweetSpot deletes take a comma-separated list and cannot express a comma inside a number.")));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static char *
push_spotgo_delete_key(Jsonb *payload)
{
	return push_delete_key(payload, "orderNumber", false);
}

static char *
push_gss_delete_key(Jsonb *payload)
{
	return push_delete_key(payload, "packingslipno", true);
}

static const PushOpInfo push_ops[] = {
	{"spotgo.upsert_order", PUSH_SPOTGO_UPSERT, API_SPOTGO, false, "orderNumber", spotgo_order_key, spotgo_push},
	{"spotgo.delete_order", PUSH_SPOTGO_DELETE, API_SPOTGO, true, "orderNumber", push_spotgo_delete_key, spotgo_push},
	{"gss.upsert_order", PUSH_GSS_UPSERT, API_GSS, false, "packingslipno", gss_order_key, gss_push},
	{"gss.delete_order", PUSH_GSS_DELETE, API_GSS, true, "packingslipno", push_gss_delete_key, gss_push},
};

/*
 * push_op_by_name
 *		The operation called name; an error naming the valid ones otherwise.
 */
const PushOpInfo *
push_op_by_name(const char *name)
{
	for (int i = 0; i < (int) lengthof(push_ops); i++)
		if (strcmp(push_ops[i].name, name) == 0)
			return &push_ops[i];
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown outbox operation \"%s\"", name),
			 errhint("Valid operations are spotgo.upsert_order, spotgo.delete_order, gss.upsert_order and gss.delete_order.")));
	return NULL;				/* not reached */
}

/* the operation op; op is always one of the enum's values */
const PushOpInfo *
push_op_info(PushOp op)
{
	for (int i = 0; i < (int) lengthof(push_ops); i++)
		if (push_ops[i].op == op)
			return &push_ops[i];
	elog(ERROR, "unknown push operation %d", (int) op);
	return NULL;				/* not reached */
}

/* the upsert or delete operation of an API */
const PushOpInfo *
push_op_for(ApiKind api, bool is_delete)
{
	for (int i = 0; i < (int) lengthof(push_ops); i++)
		if (push_ops[i].api == api && push_ops[i].is_delete == is_delete)
			return &push_ops[i];
	elog(ERROR, "no push operation for API %d", (int) api);
	return NULL;				/* not reached */
}

/*
 * push_failed_text / push_failed / push_done
 *		Record an item's outcome.  4xx answers other than 408 and 429 are
 *		permanent: sending the same payload again cannot succeed.
 */
void
push_failed_text(PushItem *item, long status, bool permanent, const char *error)
{
	item->done = false;
	item->status = status;
	item->permanent = permanent ||
		(status >= 400 && status < 500 && status != 408 && status != 429);
	item->error = pstrdup(error);
}

void
push_failed(PushItem *item, const HttpResponse *resp)
{
	push_failed_text(item, resp->status, false, http_failure_text(resp));
}

void
push_done(PushItem *item, long status, Jsonb *response)
{
	item->done = true;
	item->permanent = false;
	item->status = status;
	item->error = NULL;
	item->response = response;
}
