/*-------------------------------------------------------------------------
 *
 * outbox_enqueue.c
 *		Queueing pushes in the user's transaction: enqueue(), the push
 *		trigger functions, and the checks before anything is queued.
 *
 * Triggers never touch the network: they write a row to spotgo_gss.outbox
 * in the user's transaction, so a rolled-back change enqueues nothing and a
 * committed one is never lost.  Delivery (outbox_deliver.c) happens after
 * commit.
 *
 * Every payload is checked as the calling role before anything is queued:
 * the operation's key function (push.c) checks its shape, and the role must
 * have USAGE on the server and a user mapping with a key, so nothing
 * unsendable is queued.  The row is then written by outbox_write.c, as the
 * outbox's owner (other roles cannot write the table), with
 * SECURITY_RESTRICTED_OPERATION, without SQL: nothing resolves a name
 * through a schema the caller controls.
 *
 * Coalescing (outbox_write.c): at most one item per (server, object key,
 * enqueuing role) is pending; a newer change of the same role replaces the
 * pending payload and bumps its version.  Another role's pending item for
 * the same key is never changed or revealed: each role gets its own item,
 * and delivery keeps the order of the items of one key (outbox_deliver.c).
 *
 * A trigger's mapping function is resolved once per trigger (unqualified
 * names in the table's schema, then pg_catalog, never the caller's
 * search_path), checked (one argument of the table's row type, returns
 * jsonb, not a set), and the firing role's EXECUTE right is checked on
 * every call.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/params.h"
#include "optimizer/optimizer.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "options.h"
#include "outbox.h"
#include "outbox_payload.h"
#include "outbox_write.h"
#include "pinned.h"
#include "push.h"

PG_FUNCTION_INFO_V1(spotgo_gss_enqueue);
PG_FUNCTION_INFO_V1(push_spotgo_order);
PG_FUNCTION_INFO_V1(push_gss_order);

/* set when this transaction enqueued something: wake the worker at commit */
static bool outbox_enqueued = false;
static bool outbox_callback_registered = false;

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


/* ---- enqueue ---- */

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

/*
 * outbox_insert
 *		Write n checked items for one server and role (outbox_write.c) and
 *		wake the worker at commit.  Returns the id of the last item.
 */
static int64
outbox_insert(const char *server, Oid role, int n, const char **ops, char **keys, Jsonb **payloads)
{
	int64		id = outbox_write(server, role, n, ops, keys, payloads);

	outbox_enqueued = true;
	return id;
}

/*
 * outbox_enqueue
 *		Validate payload for operation as the current role, then insert it
 *		or replace the pending payload of the same role's item of the same
 *		(server, key), as the outbox's owner.  Returns the item's id.
 */
int64
outbox_enqueue(const char *operation, Jsonb *payload, const char *servername)
{
	const PushOpInfo *op = push_op_by_name(operation);
	char	   *key = op->key(payload);
	Oid			role = GetUserId();
	const char *server = outbox_check_server(servername, op->api, role);

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

/*
 * Per trigger and statement (it lives in the trigger's FmgrInfo): the
 * resolved and checked mapping function, or how to build to_jsonb(row).
 */
typedef struct TriggerCache
{
	Oid			tgoid;
	Oid			mapfunc;		/* InvalidOid: to_jsonb(row) */
	Oid			rowtype;
	Oid			checked_role;	/* role whose EXECUTE right was checked last */
	MemoryContext cxt;			/* the trigger's FmgrInfo's: one statement */
	ExprState  *map;			/* mapfunc($1), planned for checked_role */
	ExprContext *mapcontext;	/* its parameter $1: the row */
	OutboxRowJsonb *rowjsonb;	/* no mapping function: to_jsonb(row) (outbox_payload.c) */
} TriggerCache;

/* the rows of a statement-level trigger's transition tables written at once */
#define OUTBOX_TRIGGER_CHUNK 1000

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
	b->keys[b->n] = push_op_by_name(operation)->key(payload);
	b->payloads[b->n] = payload;
	b->n++;
}

/*
 * outbox_mapping_function
 *		Resolve a trigger's mapping-function argument (regprocedure text) and
 *		check it: a plain function of one argument, the table's row type,
 *		returning jsonb.  Unqualified names resolve in the table's schema,
 *		then pg_catalog, never through the firing role's search_path.
 *		Raises naming the function.
 */
static Oid
outbox_mapping_function(const char *spec, Relation rel, const char *fname)
{
	char	   *nspname = get_namespace_name(RelationGetNamespace(rel));
	Oid			rowtype = RelationGetDescr(rel)->tdtypeid;
	int			nestlevel;
	Oid			fn;
	HeapTuple	tup;
	Form_pg_proc proc;
	bool		ok;

	nestlevel = pinned_path_push(psprintf("%s, pg_catalog", quote_identifier(nspname)));
	fn = DatumGetObjectId(DirectFunctionCall1(regprocedurein, CStringGetDatum(spec)));
	pinned_path_pop(nestlevel);

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", fn);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	ok = proc->prokind == PROKIND_FUNCTION && !proc->proretset &&
		proc->prorettype == JSONBOID && proc->pronargs == 1 &&
		proc->proargtypes.values[0] == rowtype;
	ReleaseSysCache(tup);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
				 errmsg("%s() cannot use %s as its mapping function", fname, format_procedure(fn)),
				 errdetail("A mapping function takes one argument of the table's row type %s and returns jsonb (not a set).",
						   format_type_be(rowtype)),
				 errhint("Name a function like %s.payload(%s) RETURNS jsonb in the trigger's first argument.",
						 quote_identifier(nspname), format_type_be(rowtype))));
	return fn;
}

/*
 * outbox_trigger_cache
 *		Per trigger: the mapping function, or the table's row type prepared
 *		for to_jsonb(row) (outbox_payload.c).
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
	cache->cxt = fcinfo->flinfo->fn_mcxt;
	cache->rowtype = RelationGetDescr(td->tg_relation)->tdtypeid;
	if (tg->tgnargs >= 1 && tg->tgargs[0][0] != '\0')
		cache->mapfunc = outbox_mapping_function(tg->tgargs[0], td->tg_relation, fname);
	else
		cache->rowjsonb = outbox_row_jsonb_prepare(CreateTupleDescCopy(RelationGetDescr(td->tg_relation)),
												   fcinfo->flinfo->fn_mcxt);
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = cache;
	return cache;
}

/*
 * outbox_prepare_map
 *		The mapping function applied to the row, as an expression over a
 *		parameter, planned: the planner inlines a simple SQL function (one
 *		SELECT of an expression, not SECURITY DEFINER, no SET clause), whose
 *		body then runs as part of the expression instead of starting an
 *		executor for every row; any other function is called as before.
 *		Done as the firing role, after its EXECUTE right was checked: the
 *		functions the body calls are checked for it here.
 */
static void
outbox_prepare_map(TriggerCache *cache)
{
	MemoryContext old = MemoryContextSwitchTo(cache->cxt);
	Param	   *row = makeNode(Param);
	FuncExpr   *call;

	row->paramkind = PARAM_EXTERN;
	row->paramid = 1;
	row->paramtype = cache->rowtype;
	row->paramtypmod = -1;
	row->paramcollid = InvalidOid;
	row->location = -1;
	call = makeFuncExpr(cache->mapfunc, JSONBOID, list_make1(row),
						InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	cache->map = ExecInitExpr(expression_planner((Expr *) call), NULL);
	if (cache->mapcontext == NULL)
	{
		cache->mapcontext = CreateStandaloneExprContext();
		cache->mapcontext->ecxt_param_list_info = makeParamList(1);
	}
	MemoryContextSwitchTo(old);
}

/*
 * outbox_check_execute
 *		The firing role must be allowed to execute the mapping function, as
 *		if it had called it itself.  Checked again whenever the role differs
 *		from the one checked last.
 */
static void
outbox_check_execute(TriggerCache *cache, Oid role)
{
	if (!OidIsValid(cache->mapfunc) || cache->checked_role == role)
		return;
	if (compat_proc_aclcheck(cache->mapfunc, role, ACL_EXECUTE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for mapping function %s",
						format_procedure(cache->mapfunc)),
				 errdetail("Role \"%s\" fired a push trigger whose mapping function it may not execute.",
						   GetUserNameFromId(role, false)),
				 errhint("GRANT EXECUTE ON FUNCTION %s to the role, or use another mapping function.",
						 format_procedure(cache->mapfunc))));
	outbox_prepare_map(cache);
	cache->checked_role = role;
}

/* the API payload of a row: the mapping function's result (NULL: skip the row), or to_jsonb(row) */
static Jsonb *
outbox_row_payload(TriggerCache *cache, HeapTuple tuple, TupleDesc desc)
{
	ParamExternData *row;
	Datum		result;
	bool		isnull;

	if (cache->rowjsonb != NULL)
		return outbox_row_jsonb(cache->rowjsonb, tuple);
	row = &cache->mapcontext->ecxt_param_list_info->params[0];
	row->value = heap_copy_tuple_as_datum(tuple, desc);
	row->isnull = false;
	row->pflags = PARAM_FLAG_CONST;
	row->ptype = cache->rowtype;
	result = ExecEvalExpr(cache->map, cache->mapcontext, &isnull);
	if (isnull)
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
	const char *upsert = push_op_for(api, false)->name;
	const char *delete = push_op_for(api, true)->name;
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
 *		statement's rows in one call, a thousand rows at a time.  Arguments:
 *		an optional mapping function (regprocedure text, '' for none) taking
 *		the row and returning the API payload, then an optional server name.
 *		Every payload is checked before it is queued, and a bad one fails the
 *		user's statement: nothing of it stays queued.
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
	outbox_check_execute(cache, role);
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
		MemoryContext rowcxt;
		MemoryContext old;

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
		/*
		 * An UPDATE's old and new rows are stored in the same order.  The
		 * items are written every OUTBOX_TRIGGER_CHUNK rows, and the rows'
		 * payloads freed, so that memory does not grow with the statement; a
		 * bad row later on still refuses the whole statement, written chunks
		 * included (they are part of it).
		 */
		rowcxt = AllocSetContextCreate(CurrentMemoryContext, "spotgo_gss push rows",
									   ALLOCSET_DEFAULT_SIZES);
		old = MemoryContextSwitchTo(rowcxt);
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
			if (batch.n >= OUTBOX_TRIGGER_CHUNK)
			{
				outbox_insert(outbox_check_server(server, api, role), role,
							  batch.n, batch.ops, batch.keys, batch.payloads);
				/* a tuple read back from a spilled tuplestore is in rowcxt */
				ExecClearTuple(oslot);
				ExecClearTuple(nslot);
				MemoryContextReset(rowcxt);
				memset(&batch, 0, sizeof(batch));
			}
		}
		if (batch.n > 0)
			outbox_insert(outbox_check_server(server, api, role), role,
						  batch.n, batch.ops, batch.keys, batch.payloads);
		ExecClearTuple(oslot);
		ExecClearTuple(nslot);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(rowcxt);
		batch.n = 0;
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
