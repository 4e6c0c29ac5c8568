/*-------------------------------------------------------------------------
 *
 * fdw_modify.c
 *		INSERT, UPDATE and DELETE on the foreign tables: rows become the
 *		resource's writes (ResourceWrites of gss.c and spotgo.c).
 *
 * A row is handed to the resource in the column order of its composite
 * type, with the columns the table has (given) and those the statement set
 * (changed); the resource turns it into the API's order and says, per row,
 * whether the API did it and what it answered.  A row the API refused
 * (GoSweetSpot ignores changes to processed orders and deletes only pending
 * ones; SpotGo has no order with that id) is not counted as affected, and
 * one WARNING at the end of the statement names such rows; a request that
 * fails raises, as the SQL functions do.
 *
 * INSERT goes through ExecForeignBatchInsert where the resource batches
 * (batch_size rows a PUT), unless RETURNING or row triggers need each row.
 * UPDATE and DELETE find a row by the resource's key column, carried as a
 * junk column ("spotgo_gss_key"); changing the key, or a column the API
 * sets, is refused.  A DELETE whose rows come straight from the table's scan
 * is done in the scan (fdw.c): the scan reads every row, deletes the ones
 * its conditions pass in the API's own batches (50 numbers a GoSweetSpot
 * request), and hands the executor only the rows that were deleted.  Other
 * DELETEs (a join, row triggers, volatile conditions) delete row by row.
 * RETURNING gives what the API answered when it answers an order (SpotGo),
 * else the row as written or as it was read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/appendinfo.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "compat.h"
#include "fdw.h"
#include "http.h"
#include "options.h"
#include "resource.h"

#define FDW_KEY_JUNK		"spotgo_gss_key"
#define FDW_REFUSED_NAMED	10	/* rows a WARNING names; the others are counted */

/* rows the API refused, for one WARNING */
typedef struct FdwRefusals
{
	int			n;
	StringInfoData detail;
} FdwRefusals;

typedef struct FdwModifyState
{
	FdwTable   *table;
	const ApiResource *res;
	ApiEndpoint *ep;
	CmdType		op;
	bool		in_scan;		/* DELETE: the scan deleted the rows it returns */
	AttrNumber	key_junk;		/* the key's junk column in the subplan's output */
	AttrNumber	row_junk;		/* DELETE with RETURNING: the old row */
	int			key_col;		/* the key's resource column, or -1 */
	Oid			key_type;
	bool	   *given;			/* resource columns the table has */
	bool	   *changed;		/* resource columns the statement sets */
	int			batch_size;
	MemoryContext row_cxt;		/* one call's memory */
	TupleTableSlot **returned;	/* a batch's inserted rows */
	FdwRefusals refused;
} FdwModifyState;

/* ---- refusals ---- */

static void
fdw_refused(FdwRefusals *r, const char *key, const char *message)
{
	if (r->n == 0)
		initStringInfo(&r->detail);
	if (r->n < FDW_REFUSED_NAMED)
	{
		const char *m = message ? message : "refused";

		appendStringInfo(&r->detail, "%s\"%s\": %s", r->n ? "; " : "",
						 http_clean_text(key, strlen(key), 100), http_clean_text(m, strlen(m), 200));
	}
	r->n++;
}

static void
fdw_warn_refused(FdwRefusals *r, const FdwTable *t, const char *verb)
{
	if (r->n == 0)
		return;
	if (r->n > FDW_REFUSED_NAMED)
		appendStringInfo(&r->detail, "; and %d more", r->n - FDW_REFUSED_NAMED);
	ereport(WARNING,
			(errmsg("%s did not %s %d row%s of foreign table \"%s\"; %s not counted",
					api_display_name(t->res->api), verb, r->n, r->n == 1 ? "" : "s", t->relname,
					r->n == 1 ? "it is" : "they are"),
			 errdetail("%s%s", r->detail.data,
					   r->detail.data[r->detail.len - 1] == '.' ? "" : ".")));
	r->n = 0;
}

/*
 * fdw_delete_rows
 *		The DELETE of the scan (FDW_SCAN_DELETE): delete the rows with these
 *		keys, in the resource's batches; done[i] says which were.  A WARNING
 *		names the rows the API refused.
 */
void
fdw_delete_rows(const FdwTable *t, ApiEndpoint *ep, char **keys, int n, bool *done)
{
	WriteOutcome *out = palloc0(sizeof(WriteOutcome) * n);
	FdwRefusals refused = {0};

	t->res->writes->remove(ep, keys, n, out);
	for (int i = 0; i < n; i++)
	{
		done[i] = out[i].done;
		if (!done[i])
			fdw_refused(&refused, keys[i], out[i].message);
	}
	fdw_warn_refused(&refused, t, "delete");
}

/* ---- planning ---- */

static int
fdw_is_updatable(Relation rel)
{
	FdwTable   *t = fdw_table(rel);

	if (t->res->writes == NULL)
		return 0;
	return (1 << CMD_INSERT) | (1 << CMD_UPDATE) | (1 << CMD_DELETE);
}

/* the table's attribute number of the resource's key column; raises when it has none */
static AttrNumber
fdw_key_attno(const FdwTable *t)
{
	int			r = fdw_resource_column(t, t->res->key_column);

	if (r < 0 || t->tab_att[r] < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("foreign table \"%s\" has no column %s", t->relname, t->res->key_column),
				 errdetail("%s identifies the rows of resource %s that an UPDATE or DELETE changes.",
						   t->res->key_column, t->res->name)));
	return t->tab_att[r] + 1;
}

/*
 * fdw_add_update_targets
 *		The key column as a junk column of UPDATE and DELETE, and for a
 *		DELETE with RETURNING the whole old row (the API answers a delete
 *		with no row).
 */
static void
fdw_add_update_targets(PlannerInfo *root, Index rtindex, RangeTblEntry *target_rte,
					   Relation target_relation)
{
	FdwTable   *t = fdw_table(target_relation);
	AttrNumber	attno;
	Form_pg_attribute att;

	if (t->res->writes == NULL)
		return;
	attno = fdw_key_attno(t);
	att = TupleDescAttr(RelationGetDescr(target_relation), attno - 1);
	add_row_identity_var(root, makeVar(rtindex, attno, att->atttypid, att->atttypmod,
									   att->attcollation, 0),
						 rtindex, FDW_KEY_JUNK);
	if (root->parse->commandType == CMD_DELETE && root->parse->returningList != NIL)
		add_row_identity_var(root, makeVar(rtindex, InvalidAttrNumber, RECORDOID, -1, InvalidOid, 0),
							 rtindex, "wholerow");
}

/*
 * fdw_plan_modify
 *		Refuse ON CONFLICT.  A DELETE straight on the table's scan, with no
 *		row trigger and nothing volatile in the scan's conditions, is done in
 *		the scan; its fdw_private says so to BeginForeignModify.
 */
static List *
fdw_plan_modify(PlannerInfo *root, ModifyTable *plan, Index resultRelation, int subplan_index)
{
	Plan	   *sub = outerPlan(plan);
	bool		in_scan = false;

	if (plan->onConflictAction != ONCONFLICT_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("INSERT with ON CONFLICT is not supported on spotgo_gss foreign tables"),
				 errhint("The APIs decide themselves what a repeated order does: GoSweetSpot updates a pending one.")));
	if (plan->operation == CMD_DELETE && sub != NULL && IsA(sub, ForeignScan) &&
		((ForeignScan *) sub)->scan.scanrelid == resultRelation &&
		!has_row_triggers(root, resultRelation, CMD_DELETE) &&
		!contain_volatile_functions((Node *) sub->qual) &&
		!contain_volatile_functions((Node *) ((ForeignScan *) sub)->fdw_exprs))
	{
		ForeignScan *fscan = (ForeignScan *) sub;

		lfirst(list_nth_cell(fscan->fdw_private, FDW_PRIV_MODE)) = makeInteger(FDW_SCAN_DELETE);
		in_scan = true;
	}
	return list_make1(makeInteger(in_scan));
}

/* ---- execution ---- */

/*
 * fdw_modify_init
 *		The state of one modification of rel; the endpoint with the key of
 *		the role the executor checks as.  Refuses an UPDATE that sets a
 *		column the API sets.
 */
static FdwModifyState *
fdw_modify_init(ResultRelInfo *rinfo, EState *estate, CmdType op, bool explain_only)
{
	FdwModifyState *m = palloc0(sizeof(FdwModifyState));
	Relation	rel = rinfo->ri_RelationDesc;
	const ResourceWrites *w;

	m->table = fdw_table(rel);
	m->res = m->table->res;
	m->op = op;
	rinfo->ri_FdwState = m;
	w = m->res->writes;
	m->batch_size = w->batched ?
		Max(endpoint_for_server(m->table->server, m->res->api, NULL)->batch_size, 1) : 1;
	if (explain_only)
		return m;
	m->ep = fdw_endpoint(m->table, compat_modify_user(rinfo, estate));
	m->given = palloc0(sizeof(bool) * m->res->natts);
	m->changed = palloc0(sizeof(bool) * m->res->natts);
	for (int a = 0; a < m->table->natts; a++)
		if (m->table->res_att[a] >= 0)
			m->given[m->table->res_att[a]] = true;
	if (op == CMD_UPDATE)
	{
		Bitmapset  *cols = ExecGetUpdatedCols(rinfo, estate);
		int			c = -1;

		while ((c = bms_next_member(cols, c)) >= 0)
		{
			AttrNumber	attno = c + FirstLowInvalidHeapAttributeNumber;
			int			r;

			if (attno <= 0 || (r = m->table->res_att[attno - 1]) < 0)
				continue;
			m->changed[r] = true;
			for (const char *const *ro = w->read_only; *ro; ro++)
				if (strcmp(*ro, m->table->res_names[r]) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("column \"%s\" of foreign table \"%s\" is set by %s",
									*ro, m->table->relname, api_display_name(m->res->api)),
							 errhint("An UPDATE may change the other columns.")));
		}
	}
	else
		memcpy(m->changed, m->given, sizeof(bool) * m->res->natts);
	m->key_col = -1;
	if (m->res->key_column)
		m->key_col = fdw_resource_column(m->table, m->res->key_column);
	if (m->key_col >= 0 && m->table->tab_att[m->key_col] >= 0)
		m->key_type = TupleDescAttr(RelationGetDescr(rel), m->table->tab_att[m->key_col])->atttypid;
	else
		m->key_col = -1;
	m->row_cxt = AllocSetContextCreate(estate->es_query_cxt, "spotgo_gss modify",
									   ALLOCSET_DEFAULT_SIZES);
	return m;
}

static void
fdw_begin_modify(ModifyTableState *mtstate, ResultRelInfo *rinfo, List *fdw_private,
				 int subplan_index, int eflags)
{
	FdwModifyState *m = fdw_modify_init(rinfo, mtstate->ps.state, mtstate->operation,
										(eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0);
	Plan	   *sub = outerPlanState(mtstate)->plan;

	m->in_scan = intVal(linitial(fdw_private)) != 0;
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	if (m->op == CMD_UPDATE || m->op == CMD_DELETE)
	{
		m->key_junk = ExecFindJunkAttributeInTlist(sub->targetlist, FDW_KEY_JUNK);
		if (!AttributeNumberIsValid(m->key_junk))
			elog(ERROR, "could not find junk %s column", FDW_KEY_JUNK);
		m->row_junk = ExecFindJunkAttributeInTlist(sub->targetlist, "wholerow");
	}
}

/* COPY FROM and partition routing into the table */
static void
fdw_begin_insert(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
	(void) fdw_modify_init(rinfo, mtstate->ps.state, CMD_INSERT, false);
}

/* a slot's row in the resource's column order */
static WriteRow
fdw_row(FdwModifyState *m, TupleTableSlot *slot)
{
	WriteRow	row;
	int			n = m->res->natts;

	slot_getallattrs(slot);
	row.values = palloc0(sizeof(Datum) * n);
	row.nulls = palloc(sizeof(bool) * n);
	memset(row.nulls, true, sizeof(bool) * n);
	for (int a = 0; a < m->table->natts; a++)
	{
		int			r = m->table->res_att[a];

		if (r < 0)
			continue;
		row.values[r] = slot->tts_values[a];
		row.nulls[r] = slot->tts_isnull[a];
	}
	row.given = m->given;
	row.changed = m->changed;
	return row;
}

/* a key value as text */
static char *
fdw_key_text(FdwModifyState *m, Datum d)
{
	Oid			out;
	bool		varlena;

	getTypeOutputInfo(m->key_type, &out, &varlena);
	return OidOutputFunctionCall(out, d);
}

/* the key of a row as text, for messages */
static char *
fdw_row_key(FdwModifyState *m, WriteRow *row, int i)
{
	if (m->key_col < 0 || row->nulls[m->key_col])
		return psprintf("row %d", i + 1);
	return fdw_key_text(m, row->values[m->key_col]);
}

/* the API's answer into the slot, for RETURNING */
static void
fdw_store_answer(FdwModifyState *m, TupleTableSlot *slot, WriteOutcome *o)
{
	if (!o->has_row)
		return;
	ExecClearTuple(slot);
	for (int a = 0; a < m->table->natts; a++)
	{
		int			r = m->table->res_att[a];

		slot->tts_isnull[a] = (r < 0) ? true : o->nulls[r];
		slot->tts_values[a] = (r < 0) ? (Datum) 0 : o->values[r];
	}
	ExecStoreVirtualTuple(slot);
}

static TupleTableSlot **
fdw_batch_insert(EState *estate, ResultRelInfo *rinfo, TupleTableSlot **slots,
				 TupleTableSlot **planSlots, int *numSlots)
{
	FdwModifyState *m = (FdwModifyState *) rinfo->ri_FdwState;
	int			n = *numSlots;
	MemoryContext old;
	WriteRow   *rows;
	WriteOutcome *out;
	int			k = 0;

	MemoryContextReset(m->row_cxt);
	old = MemoryContextSwitchTo(m->row_cxt);
	rows = palloc(sizeof(WriteRow) * n);
	out = palloc0(sizeof(WriteOutcome) * n);
	for (int i = 0; i < n; i++)
		rows[i] = fdw_row(m, slots[i]);
	m->res->writes->insert(m->ep, rows, n, out);
	MemoryContextSwitchTo(old);

	if (m->returned == NULL)
		m->returned = MemoryContextAlloc(estate->es_query_cxt, sizeof(TupleTableSlot *) * Max(m->batch_size, n));
	for (int i = 0; i < n; i++)
	{
		if (!out[i].done)
		{
			old = MemoryContextSwitchTo(m->row_cxt);
			fdw_refused(&m->refused, fdw_row_key(m, &rows[i], i), out[i].message);
			MemoryContextSwitchTo(old);
			continue;
		}
		fdw_store_answer(m, slots[i], &out[i]);
		m->returned[k++] = slots[i];
	}
	*numSlots = k;
	return m->returned;
}

static TupleTableSlot *
fdw_insert(EState *estate, ResultRelInfo *rinfo, TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	int			n = 1;
	TupleTableSlot **done = fdw_batch_insert(estate, rinfo, &slot, &planSlot, &n);

	return n == 1 ? done[0] : NULL;
}

static int
fdw_batch_size(ResultRelInfo *rinfo)
{
	FdwModifyState *m = (FdwModifyState *) rinfo->ri_FdwState;

	if (m == NULL || m->batch_size <= 1 || rinfo->ri_projectReturning ||
		(rinfo->ri_TrigDesc && (rinfo->ri_TrigDesc->trig_insert_before_row ||
								rinfo->ri_TrigDesc->trig_insert_after_row)))
		return 1;
	return m->batch_size;
}

/* the key junk column of the plan's row, as text; NULL when null */
static char *
fdw_junk_key(FdwModifyState *m, TupleTableSlot *planSlot)
{
	bool		isnull;
	Datum		d = ExecGetJunkAttribute(planSlot, m->key_junk, &isnull);

	return isnull ? NULL : fdw_key_text(m, d);
}

static TupleTableSlot *
fdw_update(EState *estate, ResultRelInfo *rinfo, TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	FdwModifyState *m = (FdwModifyState *) rinfo->ri_FdwState;
	MemoryContext old;
	WriteRow	row;
	WriteOutcome out;
	char	   *oldkey;
	char	   *newkey;

	MemoryContextReset(m->row_cxt);
	old = MemoryContextSwitchTo(m->row_cxt);
	row = fdw_row(m, slot);
	oldkey = fdw_junk_key(m, planSlot);
	newkey = fdw_row_key(m, &row, 0);
	if (oldkey == NULL || strcmp(oldkey, newkey) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot change column \"%s\" of foreign table \"%s\"",
						m->res->key_column, m->table->relname),
				 errdetail("%s identifies the order in %s.", m->res->key_column,
						   api_display_name(m->res->api)),
				 errhint("Delete the order and insert it anew.")));
	memset(&out, 0, sizeof(out));
	m->res->writes->update(m->ep, &row, &out);
	if (!out.done)
		fdw_refused(&m->refused, oldkey, out.message);
	MemoryContextSwitchTo(old);
	if (!out.done)
		return NULL;
	fdw_store_answer(m, slot, &out);
	return slot;
}

/* the old row (wholerow junk) into the slot, for RETURNING */
static void
fdw_store_old_row(FdwModifyState *m, TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	bool		isnull;
	Datum		d;
	HeapTupleHeader td;
	HeapTupleData tuple;

	if (!AttributeNumberIsValid(m->row_junk))
		return;
	d = ExecGetJunkAttribute(planSlot, m->row_junk, &isnull);
	if (isnull)
		return;
	td = DatumGetHeapTupleHeader(d);
	tuple.t_len = HeapTupleHeaderGetDatumLength(td);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = td;
	ExecForceStoreHeapTuple(heap_copytuple(&tuple), slot, true);
}

static TupleTableSlot *
fdw_delete(EState *estate, ResultRelInfo *rinfo, TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	FdwModifyState *m = (FdwModifyState *) rinfo->ri_FdwState;
	MemoryContext old;
	char	   *key;
	WriteOutcome out;

	if (!m->in_scan)
	{
		MemoryContextReset(m->row_cxt);
		old = MemoryContextSwitchTo(m->row_cxt);
		key = fdw_junk_key(m, planSlot);
		memset(&out, 0, sizeof(out));
		if (key != NULL)
			m->res->writes->remove(m->ep, &key, 1, &out);
		if (!out.done)
			fdw_refused(&m->refused, key ? key : "(none)", out.message);
		MemoryContextSwitchTo(old);
		if (!out.done)
			return NULL;
	}
	fdw_store_old_row(m, slot, planSlot);
	return slot;
}

static void
fdw_end_modify(EState *estate, ResultRelInfo *rinfo)
{
	FdwModifyState *m = (FdwModifyState *) rinfo->ri_FdwState;

	if (m == NULL || m->ep == NULL)
		return;
	fdw_warn_refused(&m->refused, m->table,
					 m->op == CMD_INSERT ? "insert" : m->op == CMD_UPDATE ? "update" : "delete");
}

static void
fdw_end_insert(EState *estate, ResultRelInfo *rinfo)
{
	fdw_end_modify(estate, rinfo);
}

static void
fdw_explain_modify(ModifyTableState *mtstate, ResultRelInfo *rinfo, List *fdw_private,
				   int subplan_index, ExplainState *es)
{
	if (es->verbose && rinfo->ri_BatchSize > 1)
		ExplainPropertyInteger("Batch Size", NULL, rinfo->ri_BatchSize, es);
}

/*
 * fdw_modify_routine
 *		The write callbacks of the handler.
 */
void
fdw_modify_routine(FdwRoutine *routine)
{
	routine->IsForeignRelUpdatable = fdw_is_updatable;
	routine->AddForeignUpdateTargets = fdw_add_update_targets;
	routine->PlanForeignModify = fdw_plan_modify;
	routine->BeginForeignModify = fdw_begin_modify;
	routine->ExecForeignInsert = fdw_insert;
	routine->ExecForeignBatchInsert = fdw_batch_insert;
	routine->GetForeignModifyBatchSize = fdw_batch_size;
	routine->ExecForeignUpdate = fdw_update;
	routine->ExecForeignDelete = fdw_delete;
	routine->EndForeignModify = fdw_end_modify;
	routine->BeginForeignInsert = fdw_begin_insert;
	routine->EndForeignInsert = fdw_end_insert;
	routine->ExplainForeignModify = fdw_explain_modify;
}
