/*-------------------------------------------------------------------------
 *
 * outbox.c
 *		The durable outbox: enqueue, the trigger functions, and delivery
 *		(claim, send, record) shared by CALL spotgo_gss.drain_outbox() and
 *		the background worker.
 *
 * Triggers never touch the network: they write a row to spotgo_gss.outbox
 * in the user's transaction, so a rolled-back change enqueues nothing and a
 * committed one is never lost.  At most one item per (server, object key) is
 * pending: a newer change replaces the payload of the pending one (INSERT ..
 * ON CONFLICT on a partial unique index) and bumps its version.
 *
 * Delivery works in batches, each in two short transactions so that no row
 * lock is held while waiting on the network:
 *	1. claim: due items are locked FOR UPDATE SKIP LOCKED and stamped with
 *	   this backend's pid (claimed_by); commit.  Other drainers skip claimed
 *	   items, so two drainers never send one item at once.
 *	2. send, then record every outcome in one UPDATE and commit.  An item
 *	   whose version changed while it was in flight (a newer change arrived)
 *	   stays pending and goes out again with the new payload.
 * A claim is stale when its backend is gone (crash, kill -9, restart) or it
 * is older than spotgo_gss.claim_timeout; stale items are claimed again, so
 * a crash re-sends at most the batch that was in flight.  Every operation is
 * idempotent on its natural key, so such a re-send is harmless.
 *
 * Enqueue runs as the calling role for validation (USAGE on the server and a
 * user mapping are required, so nothing unsendable is queued), records that
 * role in enqueued_by, and writes the row as the outbox's owner: other roles
 * cannot write the table directly.  Delivery uses enqueued_by's mapping.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/fmgroids.h"
#include "nodes/makefuncs.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "utils/tuplestore.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "options.h"
#include "outbox.h"
#include "push.h"
#include "spotgo_gss.h"

PG_FUNCTION_INFO_V1(spotgo_gss_enqueue);
PG_FUNCTION_INFO_V1(push_spotgo_order);
PG_FUNCTION_INFO_V1(push_gss_order);
PG_FUNCTION_INFO_V1(drain_outbox);

static const struct
{
	const char *name;
	PushOp		op;
	ApiKind		api;
	bool		is_delete;
}			outbox_ops[] = {
	{"spotgo.upsert_order", PUSH_SPOTGO_UPSERT, API_SPOTGO, false},
	{"spotgo.delete_order", PUSH_SPOTGO_DELETE, API_SPOTGO, true},
	{"gss.upsert_order", PUSH_GSS_UPSERT, API_GSS, false},
	{"gss.delete_order", PUSH_GSS_DELETE, API_GSS, true},
};

/* set when this transaction enqueued something: wake the worker at commit */
static bool outbox_enqueued = false;
static bool outbox_callback_registered = false;

static SPIPlanPtr outbox_insert_plan = NULL;

/*
 * The last server checked in this transaction: a trigger firing for many
 * rows checks the server, USAGE and user mapping once.  Cleared at the end
 * of every transaction and on any change to servers or user mappings.
 */
static bool outbox_checked_valid = false;
static ApiKind outbox_checked_api;
static Oid	outbox_checked_role;
static char outbox_checked_asked[NAMEDATALEN + 1];	/* "" for the default */
static char outbox_checked_name[NAMEDATALEN];

/* ---- outcomes, called by gss_push / spotgo_push ---- */

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

/* ---- enqueue ---- */

static int
outbox_op_index(const char *name)
{
	for (int i = 0; i < (int) lengthof(outbox_ops); i++)
		if (strcmp(outbox_ops[i].name, name) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown outbox operation \"%s\"", name),
			 errhint("Valid operations are spotgo.upsert_order, spotgo.delete_order, gss.upsert_order and gss.delete_order.")));
	return -1;					/* not reached */
}

/* a delete payload: an object with the key as a non-empty string */
static char *
outbox_delete_key(Jsonb *payload, const char *field, bool no_comma)
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

static void
outbox_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_COMMIT && outbox_enqueued)
		worker_wake();
	/*
	 * A prepared transaction's items are woken for by nobody: the worker
	 * finds them on its next round (COMMIT PREPARED runs no callback of ours).
	 */
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
	{
		outbox_enqueued = false;
		outbox_checked_valid = false;
	}
}

static Oid
outbox_relid(void)
{
	Oid			nsp = get_namespace_oid("spotgo_gss", false);
	Oid			relid = get_relname_relid("outbox", nsp);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table spotgo_gss.outbox does not exist"),
				 errhint("Install the extension with CREATE EXTENSION spotgo_gss.")));
	return relid;
}

/* the natural key of a payload for operation opi, checked as the API needs it */
static char *
outbox_check_payload(int opi, Jsonb *payload)
{
	switch (outbox_ops[opi].op)
	{
		case PUSH_SPOTGO_UPSERT:
			return spotgo_order_key(payload);
		case PUSH_GSS_UPSERT:
			return gss_order_key(payload);
		case PUSH_SPOTGO_DELETE:
			return outbox_delete_key(payload, "orderNumber", false);
		default:
			return outbox_delete_key(payload, "packingslipno", true);
	}
}

static void
outbox_forget_checked(Datum arg pg_attribute_unused(), int cacheid pg_attribute_unused(), uint32 hashvalue pg_attribute_unused())
{
	outbox_checked_valid = false;
}

/*
 * outbox_check_server
 *		The server's name, after checking that role may send to it (the
 *		server exists for this API, USAGE, a user mapping with a key).
 */
static const char *
outbox_check_server(const char *servername, ApiKind api, Oid role)
{
	const char *asked = servername ? servername : "";
	ApiEndpoint *ep;

	if (outbox_checked_valid && outbox_checked_api == api && outbox_checked_role == role &&
		strcmp(outbox_checked_asked, asked) == 0)
		return outbox_checked_name;
	ep = endpoint_lookup(servername, api, role);
	if (!outbox_callback_registered)
	{
		RegisterXactCallback(outbox_xact_callback, NULL);
		CacheRegisterSyscacheCallback(FOREIGNSERVEROID, outbox_forget_checked, (Datum) 0);
		CacheRegisterSyscacheCallback(USERMAPPINGOID, outbox_forget_checked, (Datum) 0);
		outbox_callback_registered = true;
	}
	strlcpy(outbox_checked_asked, asked, sizeof(outbox_checked_asked));
	strlcpy(outbox_checked_name, ep->servername, sizeof(outbox_checked_name));
	outbox_checked_api = api;
	outbox_checked_role = role;
	outbox_checked_valid = strlen(asked) < sizeof(outbox_checked_asked) - 1;
	return outbox_checked_name;
}

static Oid
outbox_owner(void)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(outbox_relid()));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for spotgo_gss.outbox");
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

#define OUTBOX_UPSERT_TAIL \
	"ON CONFLICT (server, object_key) WHERE state = 'pending' DO UPDATE " \
	"SET operation = excluded.operation, payload = excluded.payload, " \
	"    enqueued_by = excluded.enqueued_by, version = o.version + 1, " \
	"    attempts = 0, next_attempt_at = now(), last_status = NULL, last_error = NULL "

/*
 * outbox_insert
 *		Insert n checked items for one server, or replace the pending payload
 *		of the same key (the last of several for one key wins), as the
 *		outbox's owner.  Returns the id of the last item.
 */
static int64
outbox_insert(const char *server, Oid role, int n, const char **ops, char **keys, Jsonb **payloads)
{
	Oid			save_userid;
	int			save_sec;
	volatile int64 id = 0;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(outbox_owner(), save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		bool		isnull;
		int			rc;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (n == 1)
		{
			Datum		values[5];

			if (outbox_insert_plan == NULL)
			{
				Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID, OIDOID};
				SPIPlanPtr	plan = SPI_prepare(
											   "INSERT INTO spotgo_gss.outbox AS o (server, operation, object_key, payload, enqueued_by) "
											   "VALUES ($1, $2, $3, $4, $5::regrole) " OUTBOX_UPSERT_TAIL
											   "RETURNING id", 5, types);

				if (plan == NULL)
					elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
				SPI_keepplan(plan);
				outbox_insert_plan = plan;
			}
			values[0] = CStringGetTextDatum(server);
			values[1] = CStringGetTextDatum(ops[0]);
			values[2] = CStringGetTextDatum(keys[0]);
			values[3] = JsonbPGetDatum(payloads[0]);
			values[4] = ObjectIdGetDatum(role);
			rc = SPI_execute_plan(outbox_insert_plan, values, NULL, false, 1);
		}
		else
		{
			Datum	   *o = palloc(sizeof(Datum) * n);
			Datum	   *k = palloc(sizeof(Datum) * n);
			Datum		args[5];
			Oid			types[5] = {TEXTOID, TEXTARRAYOID, TEXTARRAYOID, JSONBARRAYOID, OIDOID};

			for (int i = 0; i < n; i++)
			{
				o[i] = CStringGetTextDatum(ops[i]);
				k[i] = CStringGetTextDatum(keys[i]);
			}
			args[0] = CStringGetTextDatum(server);
			args[1] = PointerGetDatum(construct_array(o, n, TEXTOID, -1, false, TYPALIGN_INT));
			args[2] = PointerGetDatum(construct_array(k, n, TEXTOID, -1, false, TYPALIGN_INT));
			args[3] = PointerGetDatum(construct_array((Datum *) payloads, n, JSONBOID, -1, false, TYPALIGN_INT));
			args[4] = ObjectIdGetDatum(role);
			rc = SPI_execute_with_args(
									   "INSERT INTO spotgo_gss.outbox AS o (server, operation, object_key, payload, enqueued_by) "
									   "SELECT DISTINCT ON (u.k) $1, u.op, u.k, u.p, $5::regrole "
									   "  FROM unnest($2, $3, $4) WITH ORDINALITY AS u(op, k, p, n) "
									   " ORDER BY u.k, u.n DESC " OUTBOX_UPSERT_TAIL
									   "RETURNING id", 5, types, args, NULL, false, 0);
		}
		if (rc != SPI_OK_INSERT_RETURNING || SPI_processed < 1)
			elog(ERROR, "could not insert into spotgo_gss.outbox");
		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[SPI_processed - 1], SPI_tuptable->tupdesc, 1, &isnull));
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();

	outbox_enqueued = true;
	return id;
}

/*
 * outbox_enqueue
 *		Validate payload for operation as the current role, then insert it
 *		or replace the pending payload of the same (server, key), as the
 *		outbox's owner.  Returns the item's id.
 */
int64
outbox_enqueue(const char *operation, Jsonb *payload, const char *servername)
{
	int			opi = outbox_op_index(operation);
	char	   *key = outbox_check_payload(opi, payload);
	Oid			role = GetUserId();
	const char *server = outbox_check_server(servername, outbox_ops[opi].api, role);

	return outbox_insert(server, role, 1, &operation, &key, &payload);
}

/*
 * spotgo_gss.enqueue(operation text, payload jsonb, server text) returns bigint
 */
Datum
spotgo_gss_enqueue(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("operation and payload must not be null")));
	PG_RETURN_INT64(outbox_enqueue(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								   PG_GETARG_JSONB_P(1),
								   PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2))));
}

/* ---- triggers ---- */

typedef struct TriggerCache
{
	Oid			tgoid;
	Oid			mapfunc;		/* InvalidOid: to_jsonb(row) */
	FmgrInfo	call;			/* the mapping function, or to_jsonb for the row type */
} TriggerCache;

/* the items one trigger call enqueues */
typedef struct OutboxBatch
{
	int			n;
	int			cap;
	const char **ops;
	char	  **keys;
	Jsonb	  **payloads;
} OutboxBatch;

static void
outbox_batch_add(OutboxBatch *b, const char *operation, Jsonb *payload)
{
	if (b->n == b->cap)
	{
		b->cap = b->cap ? b->cap * 2 : 16;
		b->ops = b->ops ? repalloc(b->ops, sizeof(char *) * b->cap) : palloc(sizeof(char *) * b->cap);
		b->keys = b->keys ? repalloc(b->keys, sizeof(char *) * b->cap) : palloc(sizeof(char *) * b->cap);
		b->payloads = b->payloads ? repalloc(b->payloads, sizeof(Jsonb *) * b->cap) : palloc(sizeof(Jsonb *) * b->cap);
	}
	b->ops[b->n] = operation;
	b->keys[b->n] = outbox_check_payload(outbox_op_index(operation), payload);
	b->payloads[b->n] = payload;
	b->n++;
}

/*
 * outbox_trigger_cache
 *		Per trigger: the mapping function, or to_jsonb() bound to the table's
 *		row type (called directly: no detour through json text).
 */
static TriggerCache *
outbox_trigger_cache(FunctionCallInfo fcinfo, TriggerData *td, const char *fname)
{
	Trigger    *tg = td->tg_trigger;
	TriggerCache *cache = (TriggerCache *) fcinfo->flinfo->fn_extra;
	MemoryContext old;

	if (cache != NULL && cache->tgoid == tg->tgoid)
		return cache;
	if (tg->tgnargs > 2)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() takes at most two arguments: a mapping function and a server", fname)));

	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	cache = palloc0(sizeof(TriggerCache));
	cache->tgoid = tg->tgoid;
	if (tg->tgnargs >= 1 && tg->tgargs[0][0] != '\0')
	{
		cache->mapfunc = DatumGetObjectId(DirectFunctionCall1(regprocedurein,
															  CStringGetDatum(tg->tgargs[0])));
		fmgr_info_cxt(cache->mapfunc, &cache->call, fcinfo->flinfo->fn_mcxt);
	}
	else
	{
		Oid			rowtype = RelationGetDescr(td->tg_relation)->tdtypeid;
		FuncExpr   *expr = makeFuncExpr(F_TO_JSONB, JSONBOID,
										list_make1(makeNullConst(rowtype, -1, InvalidOid)),
										InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);

		fmgr_info_cxt(F_TO_JSONB, &cache->call, fcinfo->flinfo->fn_mcxt);
		fmgr_info_set_expr((Node *) expr, &cache->call);
	}
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = cache;
	return cache;
}

/* the API payload of a row: the mapping function's result (NULL: skip the row), or to_jsonb(row) */
static Jsonb *
outbox_row_payload(TriggerCache *cache, HeapTuple tuple, TupleDesc desc)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, &cache->call, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = heap_copy_tuple_as_datum(tuple, desc);
	fcinfo->args[0].isnull = false;
	result = FunctionCallInvoke(fcinfo);
	if (fcinfo->isnull)
		return NULL;
	return DatumGetJsonbP(result);
}

/* the natural key of a payload, case-insensitively for GSS; NULL when absent */
static char *
outbox_payload_key(Jsonb *payload, ApiKind api)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	const char *field = api == API_GSS ? "packingslipno" : "orderNumber";
	bool		match = false;
	int			level = 0;

	if (payload == NULL || !JB_ROOT_IS_OBJECT(payload))
		return NULL;
	it = JsonbIteratorInit(&payload->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_OBJECT)
			level++;
		else if (tok == WJB_END_OBJECT)
			level--;
		else if (tok == WJB_KEY && level == 1)
			match = (api == API_GSS ? pg_strncasecmp(v.val.string.val, field, v.val.string.len) == 0
					 : strncmp(v.val.string.val, field, v.val.string.len) == 0) &&
				v.val.string.len == (int) strlen(field);
		else if (tok == WJB_VALUE && match)
			return v.type == jbvString ? pnstrdup(v.val.string.val, v.val.string.len) : NULL;
	}
	return NULL;
}

static Jsonb *
outbox_delete_payload(ApiKind api, const char *key)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"%s\": ", api == API_GSS ? "packingslipno" : "orderNumber");
	escape_json(&buf, key);
	appendStringInfoChar(&buf, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/*
 * outbox_row_change
 *		What one row change enqueues: an insert publishes the new payload; a
 *		delete deletes the old key; an update publishes the new payload
 *		unless nothing the API sees changed, and deletes the old key when
 *		the key changed.  A mapping function returning NULL means "not for
 *		the API": nothing for that side.
 */
static void
outbox_row_change(OutboxBatch *b, ApiKind api, bool has_old, Jsonb *po, bool has_new, Jsonb *pn)
{
	const char *upsert = api == API_GSS ? "gss.upsert_order" : "spotgo.upsert_order";
	const char *delete = api == API_GSS ? "gss.delete_order" : "spotgo.delete_order";
	char	   *ko = has_old ? outbox_payload_key(po, api) : NULL;

	if (has_old && has_new)
	{
		char	   *kn = outbox_payload_key(pn, api);

		if (pn && po && DatumGetBool(DirectFunctionCall2(jsonb_eq, JsonbPGetDatum(pn), JsonbPGetDatum(po))))
			return;
		if (ko && (kn == NULL || strcmp(kn, ko) != 0))
			outbox_batch_add(b, delete, outbox_delete_payload(api, ko));
		if (pn)
			outbox_batch_add(b, upsert, pn);
	}
	else if (has_new)
	{
		if (pn)
			outbox_batch_add(b, upsert, pn);
	}
	else if (ko)
		outbox_batch_add(b, delete, outbox_delete_payload(api, ko));
}

/* read a transition table from the start, through a read pointer of our own */
static bool
outbox_transition_next(Tuplestorestate *ts, int ptr, TupleTableSlot *slot)
{
	tuplestore_select_read_pointer(ts, ptr);
	return tuplestore_gettupleslot(ts, true, false, slot);
}

/*
 * outbox_trigger
 *		AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW, or, for bulk
 *		changes, AFTER INSERT / UPDATE / DELETE ... REFERENCING NEW TABLE /
 *		OLD TABLE ... FOR EACH STATEMENT (one trigger per event: PostgreSQL
 *		allows transition tables only then), which enqueues all of a
 *		statement's rows with one INSERT.  Arguments: an optional mapping
 *		function (regprocedure text, '' for none) taking the row and
 *		returning the API payload, then an optional server name.  Every
 *		payload is checked before anything is queued.
 */
static Datum
outbox_trigger(FunctionCallInfo fcinfo, ApiKind api, const char *fname)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Trigger    *tg;
	TriggerCache *cache;
	const char *server = NULL;
	TupleDesc	desc;
	OutboxBatch batch;
	Oid			role = GetUserId();

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() must be called as a trigger", fname)));
	if (!TRIGGER_FIRED_AFTER(td->tg_event) ||
		(TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) && td->tg_newtable == NULL && td->tg_oldtable == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() must be fired AFTER ... FOR EACH ROW", fname),
				 errhint("For bulk changes it can also be fired FOR EACH STATEMENT with REFERENCING NEW TABLE or OLD TABLE.")));
	tg = td->tg_trigger;
	desc = RelationGetDescr(td->tg_relation);
	cache = outbox_trigger_cache(fcinfo, td, fname);
	if (tg->tgnargs >= 2 && tg->tgargs[1][0] != '\0')
		server = tg->tgargs[1];
	memset(&batch, 0, sizeof(batch));

	if (TRIGGER_FIRED_FOR_ROW(td->tg_event))
	{
		bool		has_old = !TRIGGER_FIRED_BY_INSERT(td->tg_event);
		bool		has_new = !TRIGGER_FIRED_BY_DELETE(td->tg_event);
		HeapTuple	oldtup = has_old ? td->tg_trigtuple : NULL;
		HeapTuple	newtup = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple :
			TRIGGER_FIRED_BY_INSERT(td->tg_event) ? td->tg_trigtuple : NULL;

		outbox_row_change(&batch, api,
						  has_old, has_old ? outbox_row_payload(cache, oldtup, desc) : NULL,
						  has_new, has_new ? outbox_row_payload(cache, newtup, desc) : NULL);
	}
	else
	{
		Tuplestorestate *olds = TRIGGER_FIRED_BY_INSERT(td->tg_event) ? NULL : td->tg_oldtable;
		Tuplestorestate *news = TRIGGER_FIRED_BY_DELETE(td->tg_event) ? NULL : td->tg_newtable;
		TupleTableSlot *oslot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
		TupleTableSlot *nslot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
		int			optr = olds ? tuplestore_alloc_read_pointer(olds, EXEC_FLAG_REWIND) : 0;
		int			nptr = news ? tuplestore_alloc_read_pointer(news, EXEC_FLAG_REWIND) : 0;

		if (olds)
		{
			tuplestore_select_read_pointer(olds, optr);
			tuplestore_rescan(olds);
		}
		if (news)
		{
			tuplestore_select_read_pointer(news, nptr);
			tuplestore_rescan(news);
		}
		/* an UPDATE's old and new rows are stored in the same order */
		for (;;)
		{
			bool		has_old = olds && outbox_transition_next(olds, optr, oslot);
			bool		has_new = news && outbox_transition_next(news, nptr, nslot);
			bool		free_o,
						free_n;

			if (!has_old && !has_new)
				break;
			outbox_row_change(&batch, api,
							  has_old, has_old ? outbox_row_payload(cache, ExecFetchSlotHeapTuple(oslot, false, &free_o), desc) : NULL,
							  has_new, has_new ? outbox_row_payload(cache, ExecFetchSlotHeapTuple(nslot, false, &free_n), desc) : NULL);
		}
		if (olds)
			tuplestore_select_read_pointer(olds, 0);
		if (news)
			tuplestore_select_read_pointer(news, 0);
		ExecDropSingleTupleTableSlot(oslot);
		ExecDropSingleTupleTableSlot(nslot);
	}

	if (batch.n > 0)
		outbox_insert(outbox_check_server(server, api, role), role,
					  batch.n, batch.ops, batch.keys, batch.payloads);
	return PointerGetDatum(NULL);
}

Datum
push_spotgo_order(PG_FUNCTION_ARGS)
{
	return outbox_trigger(fcinfo, API_SPOTGO, "push_spotgo_order");
}

Datum
push_gss_order(PG_FUNCTION_ARGS)
{
	return outbox_trigger(fcinfo, API_GSS, "push_gss_order");
}

/* ---- delivery ---- */

/*
 * outbox_claim
 *		Claim up to limit due items (see the file comment); the items are
 *		copied into cxt.  Needs a transaction and SPI.
 */
static int
outbox_claim(int limit, MemoryContext cxt, PushItem ***out)
{
	Datum		args[2];
	Oid			types[2] = {INT4OID, INT4OID};
	PushItem  **items;
	MemoryContext old;

	args[0] = Int32GetDatum(limit);
	args[1] = Int32GetDatum(spotgo_gss_claim_timeout);
	if (SPI_execute_with_args(
							  "WITH due AS ("
							  "  SELECT o.id FROM spotgo_gss.outbox o"
							  "   WHERE o.state = 'pending' AND o.next_attempt_at <= clock_timestamp()"
							  "     AND (o.claimed_by IS NULL"
							  "          OR o.claimed_at < clock_timestamp() - make_interval(secs => $2)"
							  "          OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = o.claimed_by))"
							  "   ORDER BY o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED)"
							  " UPDATE spotgo_gss.outbox o SET claimed_by = pg_catalog.pg_backend_pid(), claimed_at = clock_timestamp()"
							  "   FROM due WHERE o.id = due.id"
							  " RETURNING o.id, o.version, o.operation, o.server, o.object_key, o.payload,"
							  "           o.enqueued_by::oid, o.attempts,"
							  "           (SELECT i.order_id::text FROM spotgo_gss.spotgo_order_ids i"
							  "             WHERE i.server = o.server AND i.order_number = o.object_key)",
							  2, types, args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not claim outbox items");

	old = MemoryContextSwitchTo(cxt);
	items = palloc0(sizeof(PushItem *) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		PushItem   *it = palloc0(sizeof(PushItem));
		bool		isnull;
		char	   *opname;

		it->id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		it->version = DatumGetInt32(SPI_getbinval(t, d, 2, &isnull));
		opname = SPI_getvalue(t, d, 3);
		it->op = outbox_ops[outbox_op_index(opname)].op;
		it->server = SPI_getvalue(t, d, 4);
		it->key = SPI_getvalue(t, d, 5);
		it->payload = DatumGetJsonbPCopy(SPI_getbinval(t, d, 6, &isnull));
		it->role = DatumGetObjectId(SPI_getbinval(t, d, 7, &isnull));
		it->attempts = DatumGetInt32(SPI_getbinval(t, d, 8, &isnull));
		it->order_id = SPI_getvalue(t, d, 9);
		items[i] = it;
	}
	MemoryContextSwitchTo(old);
	*out = items;
	return (int) SPI_processed;
}

static ApiKind
outbox_api_of(PushOp op)
{
	return (op == PUSH_GSS_UPSERT || op == PUSH_GSS_DELETE) ? API_GSS : API_SPOTGO;
}

/* order of groups: server, role, operation, then id (the claim order) */
static int
outbox_item_cmp(const void *a, const void *b)
{
	const PushItem *x = *(PushItem *const *) a;
	const PushItem *y = *(PushItem *const *) b;
	int			c = strcmp(x->server, y->server);

	if (c != 0)
		return c;
	if (x->role != y->role)
		return x->role < y->role ? -1 : 1;
	if (x->op != y->op)
		return x->op < y->op ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id ? 1 : 0;
}

/*
 * outbox_deliver_group
 *		Send items[0..n) (same server, role and operation).  Anything that
 *		raises (a dropped user mapping, an answer of the wrong shape) is
 *		caught in a subtransaction and becomes the outcome of the items not
 *		yet decided; cancel and shutdown are passed on.
 */
static void
outbox_deliver_group(PushItem **items, int n)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		ApiKind		api = outbox_api_of(items[0]->op);
		ApiEndpoint *ep = endpoint_lookup(items[0]->server, api, items[0]->role);

		if (api == API_GSS)
			gss_push(ep, items, n);
		else
			spotgo_push(ep, items, n);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;

		for (int i = 0; i < n; i++)
			if (!items[i]->done && items[i]->error == NULL)
				/* retried: a missing mapping or a bad answer may be fixed */
				push_failed_text(items[i], 0, false,
								 edata->detail ? psprintf("%s: %s", edata->message, edata->detail) : edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

static long
outbox_backoff_s(int attempts)
{
	double		s = 2.0 * (double) (1 << Min(attempts - 1, 11));

	s = Min(s, 3600.0);
	return (long) (s * (0.75 + 0.5 * compat_random_fraction()));
}

/*
 * outbox_record
 *		Write every outcome in one UPDATE (only rows this backend still
 *		claims), remember SpotGo order ids, and log state changes: a first
 *		failure and a death at WARNING, other retries at DEBUG1.
 */
static void
outbox_record(PushItem **items, int n)
{
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *versions = palloc(sizeof(Datum) * n);
	Datum	   *states = palloc(sizeof(Datum) * n);
	Datum	   *nexts = palloc(sizeof(Datum) * n);
	Datum	   *attempts = palloc(sizeof(Datum) * n);
	Datum	   *statuses = palloc(sizeof(Datum) * n);
	Datum	   *errors = palloc(sizeof(Datum) * n);
	Datum	   *responses = palloc(sizeof(Datum) * n);
	bool	   *st_null = palloc(sizeof(bool) * n);
	bool	   *er_null = palloc(sizeof(bool) * n);
	bool	   *re_null = palloc(sizeof(bool) * n);
	int			dims[1] = {n};
	int			lbs[1] = {1};
	Datum		args[9];
	Oid			types[9] = {INT8ARRAYOID, INT4ARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID,
	INT4ARRAYOID, INT4ARRAYOID, TEXTARRAYOID, JSONBARRAYOID, INT4ARRAYOID};
	Datum	   *claimers = palloc(sizeof(Datum) * n);
	TimestampTz now = GetCurrentTimestamp();
	int			nids = 0;
	Datum	   *id_servers = palloc(sizeof(Datum) * n);
	Datum	   *id_numbers = palloc(sizeof(Datum) * n);
	Datum	   *id_values = palloc(sizeof(Datum) * n);
	Datum	   *del_servers = palloc(sizeof(Datum) * n);
	Datum	   *del_numbers = palloc(sizeof(Datum) * n);
	int			ndel = 0;

	for (int i = 0; i < n; i++)
	{
		PushItem   *it = items[i];
		int			att = it->attempts + 1;
		const char *state;

		if (it->done)
			state = "done";
		else if (it->permanent || att >= spotgo_gss_max_attempts)
			state = "dead";
		else
			state = "pending";

		ids[i] = Int64GetDatum(it->id);
		claimers[i] = Int32GetDatum(MyProcPid);
		versions[i] = Int32GetDatum(it->version);
		states[i] = CStringGetTextDatum(state);
		attempts[i] = Int32GetDatum(att);
		nexts[i] = TimestampTzGetDatum(strcmp(state, "pending") == 0 ?
									   TimestampTzPlusMilliseconds(now, outbox_backoff_s(att) * 1000) : now);
		st_null[i] = it->status == 0;
		statuses[i] = Int32GetDatum((int32) it->status);
		er_null[i] = it->error == NULL;
		errors[i] = it->error ? CStringGetTextDatum(it->error) : (Datum) 0;
		re_null[i] = it->response == NULL;
		responses[i] = it->response ? JsonbPGetDatum(it->response) : (Datum) 0;

		if (strcmp(state, "dead") == 0)
			ereport(WARNING,
					(errmsg("spotgo_gss: outbox item %lld (%s on server \"%s\", key \"%s\") is dead after %d attempt(s)",
							(long long) it->id, outbox_ops[it->op].name, it->server, it->key, att),
					 errdetail("%s", it->error ? it->error : "unknown error"),
					 errhint("Fix the cause, then run SELECT spotgo_gss.retry_dead();")));
		else if (strcmp(state, "pending") == 0)
			ereport(att == 1 ? WARNING : DEBUG1,
					(errmsg("spotgo_gss: delivery of outbox item %lld (%s on server \"%s\", key \"%s\") failed, will retry",
							(long long) it->id, outbox_ops[it->op].name, it->server, it->key),
					 errdetail("%s", it->error ? it->error : "unknown error")));

		if (it->done && it->op == PUSH_SPOTGO_UPSERT && it->learned_order_id)
		{
			id_servers[nids] = CStringGetTextDatum(it->server);
			id_numbers[nids] = CStringGetTextDatum(it->key);
			id_values[nids] = CStringGetTextDatum(it->learned_order_id);
			nids++;
		}
		if (it->done && it->op == PUSH_SPOTGO_DELETE)
		{
			del_servers[ndel] = CStringGetTextDatum(it->server);
			del_numbers[ndel] = CStringGetTextDatum(it->key);
			ndel++;
		}
	}

	args[0] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(versions, n, INT4OID, 4, true, TYPALIGN_INT));
	args[2] = PointerGetDatum(construct_array(states, n, TEXTOID, -1, false, TYPALIGN_INT));
	args[3] = PointerGetDatum(construct_array(nexts, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[4] = PointerGetDatum(construct_array(attempts, n, INT4OID, 4, true, TYPALIGN_INT));
	args[5] = PointerGetDatum(construct_md_array(statuses, st_null, 1, dims, lbs, INT4OID, 4, true, TYPALIGN_INT));
	args[6] = PointerGetDatum(construct_md_array(errors, er_null, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
	args[7] = PointerGetDatum(construct_md_array(responses, re_null, 1, dims, lbs, JSONBOID, -1, false, TYPALIGN_INT));
	args[8] = PointerGetDatum(construct_array(claimers, n, INT4OID, 4, true, TYPALIGN_INT));

	if (SPI_execute_with_args(
							  "UPDATE spotgo_gss.outbox o SET"
							  "  state = CASE WHEN o.version = r.version THEN r.state ELSE 'pending' END,"
							  "  attempts = CASE WHEN o.version = r.version THEN r.attempts ELSE 0 END,"
							  "  next_attempt_at = CASE WHEN o.version = r.version THEN r.next_at ELSE clock_timestamp() END,"
							  "  last_status = r.status, last_error = r.error,"
							  "  response = CASE WHEN r.state = 'done' OR r.response IS NOT NULL THEN r.response ELSE o.response END,"
							  "  sent_at = CASE WHEN r.state = 'done' THEN clock_timestamp() ELSE o.sent_at END,"
							  "  claimed_by = NULL, claimed_at = NULL"
							  " FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9)"
							  "   AS r(id, version, state, next_at, attempts, status, error, response, claimer)"
							  /*
							   * The claimer comes from the arrays, not from a
							   * restriction on claimed_by: statistics say
							   * claimed_by is nearly always NULL, and a
							   * restriction would be estimated at one row
							   * and planned as a rescan of the arrays per
							   * row.  As a join column it lets the planner
							   * probe the primary key once per array row.
							   */
							  " WHERE o.id = r.id AND o.claimed_by = r.claimer",
							  9, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record outbox outcomes");

	if (nids > 0)
	{
		Datum		a[3];
		Oid			t[3] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};

		a[0] = PointerGetDatum(construct_array(id_servers, nids, TEXTOID, -1, false, TYPALIGN_INT));
		a[1] = PointerGetDatum(construct_array(id_numbers, nids, TEXTOID, -1, false, TYPALIGN_INT));
		a[2] = PointerGetDatum(construct_array(id_values, nids, TEXTOID, -1, false, TYPALIGN_INT));
		if (SPI_execute_with_args(
								  "INSERT INTO spotgo_gss.spotgo_order_ids AS i (server, order_number, order_id, updated_at)"
								  " SELECT DISTINCT ON (s, k) s, k, v::uuid, clock_timestamp() FROM unnest($1, $2, $3) AS u(s, k, v)"
								  " ON CONFLICT (server, order_number) DO UPDATE"
								  " SET order_id = excluded.order_id, updated_at = excluded.updated_at",
								  3, t, a, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not record SpotGo order ids");
	}
	if (ndel > 0)
	{
		Datum		a[2];
		Oid			t[2] = {TEXTARRAYOID, TEXTARRAYOID};

		a[0] = PointerGetDatum(construct_array(del_servers, ndel, TEXTOID, -1, false, TYPALIGN_INT));
		a[1] = PointerGetDatum(construct_array(del_numbers, ndel, TEXTOID, -1, false, TYPALIGN_INT));
		if (SPI_execute_with_args(
								  "DELETE FROM spotgo_gss.spotgo_order_ids i USING unnest($1, $2) AS u(s, k)"
								  " WHERE i.server = u.s AND i.order_number = u.k",
								  2, t, a, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not forget SpotGo order ids");
	}
}

/* ---- the drain loop ---- */

typedef struct DrainMode
{
	bool		procedure;		/* CALL: SPI connected non-atomic, commit with SPI_commit */
} DrainMode;

static void
outbox_step_begin(DrainMode *m)
{
	if (m->procedure)
		return;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
outbox_step_commit(DrainMode *m)
{
	if (m->procedure)
	{
		SPI_commit();
		compat_spi_start_transaction();
		return;
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * outbox_run
 *		Deliver up to max_items due items in batches of spotgo_gss.drain_batch,
 *		committing after each claim and each batch; then purge done items
 *		older than spotgo_gss.outbox_retention.  Returns the number of items
 *		handled.  In procedure mode the caller's SPI connection is
 *		non-atomic; otherwise (the worker) each step runs in a transaction of
 *		its own.  Returns -1 when the extension is not installed.  When
 *		next_due_ms is not NULL it is set to the time until the next pending
 *		item is due (-1: none), so the worker can wake for a retry.
 */
int64
outbox_run(int64 max_items, bool procedure, long *next_due_ms)
{
	DrainMode	m = {procedure};
	MemoryContext batch_cxt;
	volatile int64 handled = 0;
	bool		installed;

	outbox_step_begin(&m);
	installed = OidIsValid(get_extension_oid("spotgo_gss", true));
	if (installed)
	{
		/* claims of this backend left by an earlier, interrupted drain */
		if (SPI_execute("UPDATE spotgo_gss.outbox SET claimed_by = NULL, claimed_at = NULL"
						" WHERE claimed_by = pg_catalog.pg_backend_pid()", false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not release old claims");
	}
	outbox_step_commit(&m);
	if (!installed)
		return -1;

	batch_cxt = AllocSetContextCreate(TopMemoryContext, "spotgo_gss drain", ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		while (handled < max_items)
		{
			PushItem  **items;
			int			n;
			int			from;
			MemoryContext old;

			CHECK_FOR_INTERRUPTS();
			outbox_step_begin(&m);
			n = outbox_claim((int) Min((int64) spotgo_gss_drain_batch, max_items - handled), batch_cxt, &items);
			outbox_step_commit(&m);
			if (n == 0)
				break;

			outbox_step_begin(&m);
			old = MemoryContextSwitchTo(batch_cxt);
			qsort(items, n, sizeof(PushItem *), outbox_item_cmp);
			for (from = 0; from < n;)
			{
				int			to = from + 1;

				while (to < n && strcmp(items[to]->server, items[from]->server) == 0 &&
					   items[to]->role == items[from]->role && items[to]->op == items[from]->op)
					to++;
				outbox_deliver_group(items + from, to - from);
				from = to;
			}
			outbox_record(items, n);
			MemoryContextSwitchTo(old);
			outbox_step_commit(&m);
			MemoryContextReset(batch_cxt);
			handled += n;
		}

		outbox_step_begin(&m);
		{
			Datum		a[1] = {Int32GetDatum(spotgo_gss_outbox_retention)};
			Oid			t[1] = {INT4OID};

			if (SPI_execute_with_args("DELETE FROM spotgo_gss.outbox WHERE state = 'done'"
									  " AND sent_at < clock_timestamp() - make_interval(secs => $1)",
									  1, t, a, NULL, false, 0) != SPI_OK_DELETE)
				elog(ERROR, "could not purge the outbox");
			if (next_due_ms)
			{
				bool		isnull;
				Datum		d;

				*next_due_ms = -1;
				if (SPI_execute("SELECT (extract(epoch FROM min(next_attempt_at) - clock_timestamp()) * 1000)::bigint"
								" FROM spotgo_gss.outbox WHERE state = 'pending'", true, 1) != SPI_OK_SELECT)
					elog(ERROR, "could not find the next due outbox item");
				d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
				if (!isnull)
					*next_due_ms = (long) Max(DatumGetInt64(d), 0);
			}
		}
		outbox_step_commit(&m);
	}
	PG_FINALLY();
	{
		MemoryContextDelete(batch_cxt);
	}
	PG_END_TRY();
	return handled;
}

/*
 * CALL spotgo_gss.drain_outbox(max_items int)
 *		Deliver due items now, committing after each batch.  Must be called
 *		with CALL outside an explicit transaction block.
 */
Datum
drain_outbox(PG_FUNCTION_ARGS)
{
	int64		max_items = PG_ARGISNULL(0) ? 10000 : PG_GETARG_INT32(0);
	bool		nonatomic = fcinfo->context && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;

	if (!nonatomic)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("spotgo_gss.drain_outbox() commits after each batch and cannot run inside a transaction block"),
				 errhint("Run CALL spotgo_gss.drain_outbox() on its own, not in BEGIN ... COMMIT or a function.")));
	if (max_items <= 0)
		PG_RETURN_VOID();
	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) outbox_run(max_items, true, NULL);
	SPI_finish();
	PG_RETURN_VOID();
}
