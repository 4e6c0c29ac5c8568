/*-------------------------------------------------------------------------
 *
 * outbox_write.c
 *		Write checked items into spotgo_gss.outbox in the caller's
 *		transaction, without SPI: a new pending item, or the same role's
 *		pending item of the key updated in place.
 *
 * This does what INSERT .. ON CONFLICT (server, object_key, enqueued_by)
 * WHERE state = 'pending' DO UPDATE did, without paying for a new executor
 * for every row (a trigger's statement through SPI set up a ModifyTable
 * node, read the CHECK constraints back from their text and planned them,
 * opened every index, for each row).  The protocol is the executor's own
 * (nodeModifyTable.c, ExecInsert and ExecOnConflictUpdate):
 *
 *	 1. Pre-check the arbiter index outbox_one_pending with a dirty snapshot
 *		(ExecCheckIndexConstraints), waiting for a transaction that is
 *		inserting the same (server, key, role) right now.  Skipped at first
 *		while items keep being new (see outbox_expect_pending).
 *	 2. No pending item: insert the row speculatively (a speculative
 *		insertion lock others can wait on), insert its index entries, the
 *		arbiter's first with a partial uniqueness check.  Had a concurrent
 *		transaction got in first with the same key, kill the row (it was
 *		never visible) and start again at 1.
 *	 3. A pending item: lock it and update it in place: the new operation
 *		and payload, version + 1, attempts, next attempt and the last error
 *		reset.  Had it been updated or deleted meanwhile (delivered, claimed),
 *		start again at 1.  Under REPEATABLE READ or SERIALIZABLE an item
 *		that the transaction's snapshot cannot see is a serialization
 *		failure, as with ON CONFLICT.
 *
 * So at most one pending item per (server, object key, role) exists at any
 * time, whatever runs concurrently; another role's item has a different
 * arbiter key and is never touched.  Every write is WAL-logged heap and
 * index access, in the caller's transaction.  After each item the command
 * counter is advanced (SPI did the same), so that a later item of the same
 * key, in this call or the next, can update it.
 *
 * Columns not written here take the table's defaults, evaluated from the
 * catalog (the identity, now(), 'pending', 1, 0), and the row is checked
 * against the table's NOT NULL and CHECK constraints: the schema stays in
 * the extension's script.  Triggers on the outbox itself are not fired.
 *
 * Security: nothing on this path resolves a name (no SQL is parsed), and
 * the row is written as the outbox's owner with
 * SECURITY_RESTRICTED_OPERATION.
 *
 * Cache: the outbox's OID, owner and column numbers, the prepared default
 * expressions, CHECK constraints and index descriptions (IndexInfo, with
 * their prepared predicates) are built once per backend, in their own
 * context under CacheMemoryContext, and rebuilt after any relcache
 * invalidation of the outbox or one of its indexes (the relcache drops its
 * own copies on the same messages).  Relations, slots and the EState live
 * for one call only: nothing holds a relation reference or a buffer pin
 * across calls, so an error or a subtransaction abort in between leaves
 * nothing behind, and the outbox can be truncated or altered later in the
 * same transaction.
 *
 * The executor routines used here (ExecCheckIndexConstraints and
 * ExecSimpleRelationUpdate on a ResultRelInfo, index_insert with its
 * indexUnchanged hint) have these signatures from PostgreSQL 14 on.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "compat.h"
#include "outbox_write.h"

/* the columns written here, and their types */
typedef enum OutboxColumn
{
	OC_ID,
	OC_SERVER,
	OC_OPERATION,
	OC_OBJECT_KEY,
	OC_PAYLOAD,
	OC_ENQUEUED_BY,
	OC_VERSION,
	OC_ATTEMPTS,
	OC_NEXT_ATTEMPT_AT,
	OC_LAST_STATUS,
	OC_LAST_ERROR,
	OC_COUNT
} OutboxColumn;

static const struct
{
	const char *name;
	Oid			type;
}			outbox_columns[OC_COUNT] =
{
	{"id", INT8OID},
	{"server", TEXTOID},
	{"operation", TEXTOID},
	{"object_key", TEXTOID},
	{"payload", JSONBOID},
	{"enqueued_by", REGROLEOID},
	{"version", INT4OID},
	{"attempts", INT4OID},
	{"next_attempt_at", TIMESTAMPTZOID},
	{"last_status", INT4OID},
	{"last_error", TEXTOID},
};

/* what is known about the outbox table, per backend (see the header comment) */
typedef struct OutboxCache
{
	Oid			relid;
	Oid			owner;
	int			natts;
	int			col[OC_COUNT];	/* 0-based attribute index of each column */
	ExprState **defaults;		/* per attribute: its default, or NULL */
	int			nchecks;
	ExprState **checks;			/* CHECK constraints, as ExecRelCheck wants */
	int			nindexes;		/* the arbiter first */
	Oid		   *indexoids;
	IndexInfo **indexinfos;
	List	   *arbiter;		/* OID list: outbox_one_pending */
} OutboxCache;

/*
 * Whether the last item written replaced a pending item.  A new item is
 * inserted straight away (step 2 before step 1): when no pending item of
 * the key exists, which is the common case (the worker delivers within
 * moments), that saves the pre-check's index search.  When one does, the
 * speculative row is killed again, a waste; so after an item that replaced
 * one, the next starts with the pre-check, as long as they keep doing so
 * (an UPDATE of rows whose changes are still pending).
 */
static bool outbox_expect_pending = false;

/* set while outbox_write() runs */
static bool outbox_writing = false;

static MemoryContext outbox_cache_cxt = NULL;
static OutboxCache *outbox_cache = NULL;
static bool outbox_cache_stale = true;
static bool outbox_cache_callback_registered = false;

/*
 * One call: the open relations and the executor state they are used
 * through.  An index is opened when first needed (a new row goes into the
 * arbiter, the primary key and the indexes whose predicate it meets); the
 * pre-check and an update need them all.  The slots of an update are made
 * when the first update comes.
 */
typedef struct OutboxCall
{
	OutboxCache *cache;
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;			/* ri_IndexRelationDescs[i] NULL until opened */
	TupleTableSlot *slot;		/* the new row */
	TupleTableSlot *existing;	/* the pending item being replaced, or NULL */
	TupleTableSlot *updated;	/* its new version, or NULL */
} OutboxCall;


/* ---- the per-backend cache ---- */

/*
 * Relcache invalidation: the outbox or one of its indexes changed (or
 * everything was reset).  Only marks the cache stale; it is rebuilt at the
 * start of the next call, never while a call may be using it.
 */
static void
outbox_cache_invalidate(Datum arg pg_attribute_unused(), Oid relid)
{
	OutboxCache *c = outbox_cache;

	if (c == NULL || relid == InvalidOid || relid == c->relid)
	{
		outbox_cache_stale = true;
		return;
	}
	for (int i = 0; i < c->nindexes; i++)
		if (c->indexoids[i] == relid)
			outbox_cache_stale = true;
}

static Oid
outbox_lookup_relid(void)
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

/* expression_planner + ExecInitExpr, in the current (the cache's) context */
static ExprState *
outbox_prepare_expr(Node *expr)
{
	return ExecInitExpr(expression_planner((Expr *) expr), NULL);
}

/*
 * outbox_cache_build
 *		Describe the open outbox rel in a new cache (in the current memory
 *		context).  Raises on a table this file cannot write correctly.
 */
static OutboxCache *
outbox_cache_build(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TupleConstr *constr = desc->constr;
	OutboxCache *c = palloc0(sizeof(OutboxCache));
	Oid			arbiter = get_relname_relid("outbox_one_pending", RelationGetNamespace(rel));
	List	   *indexes;
	ListCell   *lc;
	int			n;

	c->relid = RelationGetRelid(rel);
	c->owner = rel->rd_rel->relowner;
	c->natts = desc->natts;

	for (int k = 0; k < OC_COUNT; k++)
		c->col[k] = -1;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (att->attgenerated)
			elog(ERROR, "spotgo_gss.outbox has a generated column, which enqueuing cannot fill in");
		for (int k = 0; k < OC_COUNT; k++)
			if (strcmp(NameStr(att->attname), outbox_columns[k].name) == 0)
			{
				if (att->atttypid != outbox_columns[k].type)
					elog(ERROR, "column spotgo_gss.outbox.%s has type %s, expected %s",
						 outbox_columns[k].name, format_type_be(att->atttypid),
						 format_type_be(outbox_columns[k].type));
				c->col[k] = i;
			}
	}
	for (int k = 0; k < OC_COUNT; k++)
		if (c->col[k] < 0)
			elog(ERROR, "table spotgo_gss.outbox has no column %s", outbox_columns[k].name);

	/* defaults of the columns an insert does not set */
	c->defaults = palloc0(sizeof(ExprState *) * desc->natts);
	for (int i = 0; i < desc->natts; i++)
	{
		Node	   *def;

		if (TupleDescAttr(desc, i)->attisdropped ||
			i == c->col[OC_SERVER] || i == c->col[OC_OPERATION] ||
			i == c->col[OC_OBJECT_KEY] || i == c->col[OC_PAYLOAD] ||
			i == c->col[OC_ENQUEUED_BY])
			continue;
		def = build_column_default(rel, i + 1);
		if (def != NULL)
			c->defaults[i] = outbox_prepare_expr(def);
	}

	/* CHECK constraints, in the order ExecRelCheck() reads them */
	c->nchecks = constr ? constr->num_check : 0;
	c->checks = palloc0(sizeof(ExprState *) * Max(c->nchecks, 1));
	for (int i = 0; i < c->nchecks; i++)
		c->checks[i] = outbox_prepare_expr(stringToNode(constr->check[i].ccbin));

	/* the indexes, the arbiter first */
	indexes = RelationGetIndexList(rel);
	if (!OidIsValid(arbiter) || !list_member_oid(indexes, arbiter))
		elog(ERROR, "index spotgo_gss.outbox_one_pending does not exist");
	c->arbiter = list_make1_oid(arbiter);
	c->nindexes = list_length(indexes);
	c->indexoids = palloc(sizeof(Oid) * c->nindexes);
	c->indexinfos = palloc(sizeof(IndexInfo *) * c->nindexes);
	c->indexoids[0] = arbiter;
	n = 1;
	foreach(lc, indexes)
		if (lfirst_oid(lc) != arbiter)
			c->indexoids[n++] = lfirst_oid(lc);
	for (int i = 0; i < c->nindexes; i++)
	{
		Relation	idx = index_open(c->indexoids[i], RowExclusiveLock);
		IndexInfo  *ii = BuildIndexInfo(idx);

		if (ii->ii_ExclusionOps != NULL || (ii->ii_Unique && !idx->rd_index->indimmediate))
			elog(ERROR, "index %s of spotgo_gss.outbox is deferrable or an exclusion constraint, which enqueuing does not support",
				 RelationGetRelationName(idx));
		if (ii->ii_Unique)
			BuildSpeculativeIndexInfo(idx, ii);
		if (ii->ii_Expressions != NIL)
		{
			ListCell   *e;

			foreach(e, ii->ii_Expressions)
				ii->ii_ExpressionsState = lappend(ii->ii_ExpressionsState,
												  outbox_prepare_expr(lfirst(e)));
		}
		if (ii->ii_Predicate != NIL)
			ii->ii_PredicateState = ExecInitQual((List *) expression_planner((Expr *) ii->ii_Predicate), NULL);
		c->indexinfos[i] = ii;
		index_close(idx, NoLock);
	}
	if (!c->indexinfos[0]->ii_Unique)
		elog(ERROR, "index spotgo_gss.outbox_one_pending is not unique");
	list_free(indexes);
	return c;
}

/*
 * outbox_open
 *		Open the outbox (RowExclusiveLock, kept to the end of the
 *		transaction) and return it, with the cache valid for it.
 */
static Relation
outbox_open(void)
{
	for (;;)
	{
		Oid			relid;
		Relation	rel;
		MemoryContext old;

		if (!outbox_cache_callback_registered)
		{
			CacheRegisterRelcacheCallback(outbox_cache_invalidate, (Datum) 0);
			outbox_cache_callback_registered = true;
		}
		relid = (outbox_cache && !outbox_cache_stale) ? outbox_cache->relid : outbox_lookup_relid();

		/*
		 * Taking the lock reads pending invalidations: the cache may go stale
		 * here.  The cached OID may even be gone (the extension dropped and
		 * created again by another session): then look it up again.
		 */
		rel = try_table_open(relid, RowExclusiveLock);
		if (rel == NULL)
		{
			outbox_cache_stale = true;
			continue;
		}
		if (outbox_cache && !outbox_cache_stale && outbox_cache->relid == relid)
			return rel;

		/* (re)build; an invalidation arriving meanwhile means once more */
		outbox_cache = NULL;
		if (outbox_cache_cxt == NULL)
			outbox_cache_cxt = AllocSetContextCreate(CacheMemoryContext, "spotgo_gss outbox",
													 ALLOCSET_SMALL_SIZES);
		else
			MemoryContextReset(outbox_cache_cxt);
		outbox_cache_stale = false;
		old = MemoryContextSwitchTo(outbox_cache_cxt);
		PG_TRY();
		{
			outbox_cache = outbox_cache_build(rel);
		}
		PG_CATCH();
		{
			outbox_cache = NULL;
			outbox_cache_stale = true;
			PG_RE_THROW();
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);
		if (!outbox_cache_stale)
			return rel;
		table_close(rel, NoLock);
	}
}


/* ---- one item ---- */

/* a non-null value for attribute att (0-based) of a slot being filled */
static inline void
outbox_set(TupleTableSlot *slot, int att, Datum value)
{
	slot->tts_values[att] = value;
	slot->tts_isnull[att] = false;
}

/* index i of the call, opened (RowExclusiveLock) if it is not yet */
static Relation
outbox_index(OutboxCall *call, int i)
{
	Relation   *rels = call->rri->ri_IndexRelationDescs;

	if (rels[i] == NULL)
		rels[i] = index_open(call->cache->indexoids[i], RowExclusiveLock);
	return rels[i];
}

/* all indexes of the call, opened */
static void
outbox_all_indexes(OutboxCall *call)
{
	for (int i = 0; i < call->cache->nindexes; i++)
		(void) outbox_index(call, i);
}

/*
 * outbox_index_entries
 *		Insert the index entries of the just inserted row in call->slot.
 *		The arbiter comes first, with a partial uniqueness check: false when
 *		it found a live or in-progress pending item of the same key (the
 *		other indexes are then left alone: the row is about to be killed).
 */
static bool
outbox_index_entries(OutboxCall *call)
{
	OutboxCache *c = call->cache;
	ExprContext *econtext = GetPerTupleExprContext(call->estate);
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];

	econtext->ecxt_scantuple = call->slot;
	for (int i = 0; i < c->nindexes; i++)
	{
		IndexInfo  *ii = c->indexinfos[i];
		IndexUniqueCheck check;

		if (!ii->ii_ReadyForInserts)
			continue;
		if (ii->ii_Predicate != NIL && !ExecQual(ii->ii_PredicateState, econtext))
			continue;
		FormIndexDatum(ii, call->slot, call->estate, values, isnull);
		check = !ii->ii_Unique ? UNIQUE_CHECK_NO : i == 0 ? UNIQUE_CHECK_PARTIAL : UNIQUE_CHECK_YES;
		if (!index_insert(outbox_index(call, i), values, isnull, &call->slot->tts_tid, call->rel,
						  check, false, ii) && i == 0)
			return false;
	}
	return true;
}

/*
 * outbox_insert_new
 *		Step 2: the row in call->slot, inserted speculatively.  False when a
 *		concurrent pending item of the same key won: the row is dead and the
 *		caller starts again.
 */
static bool
outbox_insert_new(OutboxCall *call)
{
	TransactionId xid = GetCurrentTransactionId();
	uint32		token = SpeculativeInsertionLockAcquire(xid);
	bool		ok;

	table_tuple_insert_speculative(call->rel, call->slot, call->estate->es_output_cid, 0, NULL, token);
	ok = outbox_index_entries(call);
	table_tuple_complete_speculative(call->rel, call->slot, token, ok);
	SpeculativeInsertionLockRelease(xid);
	return ok;
}

static TransactionId
outbox_xmin(TupleTableSlot *slot)
{
	bool		isnull;

	return DatumGetTransactionId(slot_getsysattr(slot, MinTransactionIdAttributeNumber, &isnull));
}

/*
 * outbox_replace
 *		Step 3: lock the pending item at tid and give it the new operation
 *		and payload.  False when it was updated or deleted meanwhile: the
 *		caller starts again.  Sets *id to the item's id.
 */
static bool
outbox_replace(OutboxCall *call, ItemPointer tid, const char *operation, Jsonb *payload, int64 *id)
{
	OutboxCache *c = call->cache;
	TupleTableSlot *existing;
	TupleTableSlot *updated;
	TM_FailureData tmfd;
	TM_Result	res;
	int32		version;

	if (call->existing == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(call->estate->es_query_cxt);

		call->existing = table_slot_create(call->rel, NULL);
		call->updated = MakeSingleTupleTableSlot(RelationGetDescr(call->rel), &TTSOpsVirtual);
		MemoryContextSwitchTo(old);
	}
	existing = call->existing;
	updated = call->updated;
	res = table_tuple_lock(call->rel, tid, call->estate->es_snapshot, existing,
						   call->estate->es_output_cid, LockTupleNoKeyExclusive,
						   LockWaitBlock, 0, &tmfd);
	switch (res)
	{
		case TM_Ok:
			break;
		case TM_Invisible:
			/* the command counter moves after each item: not our own row */
			elog(ERROR, "attempted to lock invisible tuple");
			break;
		case TM_SelfModified:
			elog(ERROR, "unexpected self-updated tuple");
			break;
		case TM_Updated:
		case TM_Deleted:
			if (IsolationUsesXactSnapshot())
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent %s",
								res == TM_Updated ? "update" : "delete")));
			ExecClearTuple(existing);
			return false;
		default:
			elog(ERROR, "unrecognized table_tuple_lock status: %u", res);
	}
	if (IsolationUsesXactSnapshot() &&
		!table_tuple_satisfies_snapshot(call->rel, existing, call->estate->es_snapshot) &&
		!TransactionIdIsCurrentTransactionId(outbox_xmin(existing)))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update")));

	slot_getallattrs(existing);
	ExecClearTuple(updated);
	memcpy(updated->tts_values, existing->tts_values, sizeof(Datum) * c->natts);
	memcpy(updated->tts_isnull, existing->tts_isnull, sizeof(bool) * c->natts);
	if (pg_add_s32_overflow(DatumGetInt32(existing->tts_values[c->col[OC_VERSION]]), 1, &version))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("integer out of range")));
	outbox_set(updated, c->col[OC_OPERATION], CStringGetTextDatum(operation));
	outbox_set(updated, c->col[OC_PAYLOAD], JsonbPGetDatum(payload));
	outbox_set(updated, c->col[OC_VERSION], Int32GetDatum(version));
	outbox_set(updated, c->col[OC_ATTEMPTS], Int32GetDatum(0));
	outbox_set(updated, c->col[OC_NEXT_ATTEMPT_AT], TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()));
	updated->tts_isnull[c->col[OC_LAST_STATUS]] = true;
	updated->tts_isnull[c->col[OC_LAST_ERROR]] = true;
	ExecStoreVirtualTuple(updated);

	/* constraints, the heap update and, unless it was HOT, the index entries */
	outbox_all_indexes(call);
	ExecSimpleRelationUpdate(call->rri, call->estate, NULL, existing, updated);

	*id = DatumGetInt64(existing->tts_values[c->col[OC_ID]]);
	ExecClearTuple(updated);
	ExecClearTuple(existing);
	return true;
}

/*
 * outbox_put
 *		One item: a new pending row, or the same role's pending item of the
 *		key replaced.  Returns its id.
 */
static int64
outbox_put(OutboxCall *call, const char *server, Oid role,
		   const char *operation, const char *key, Jsonb *payload)
{
	OutboxCache *c = call->cache;
	TupleTableSlot *slot = call->slot;
	ExprContext *econtext = GetPerTupleExprContext(call->estate);

	ExecClearTuple(slot);
	for (int i = 0; i < c->natts; i++)
	{
		if (c->defaults[i] != NULL)
			slot->tts_values[i] = ExecEvalExprSwitchContext(c->defaults[i], econtext, &slot->tts_isnull[i]);
		else
		{
			slot->tts_values[i] = (Datum) 0;
			slot->tts_isnull[i] = true;
		}
	}
	outbox_set(slot, c->col[OC_SERVER], CStringGetTextDatum(server));
	outbox_set(slot, c->col[OC_OPERATION], CStringGetTextDatum(operation));
	outbox_set(slot, c->col[OC_OBJECT_KEY], CStringGetTextDatum(key));
	outbox_set(slot, c->col[OC_PAYLOAD], JsonbPGetDatum(payload));
	outbox_set(slot, c->col[OC_ENQUEUED_BY], ObjectIdGetDatum(role));
	ExecStoreVirtualTuple(slot);
	if (call->rel->rd_att->constr)
		ExecConstraints(call->rri, slot, call->estate);

	for (bool precheck = outbox_expect_pending;; precheck = true)
	{
		ItemPointerData conflict;
		int64		id;

		CHECK_FOR_INTERRUPTS();
		call->estate->es_output_cid = GetCurrentCommandId(true);
		if (precheck)
			outbox_all_indexes(call);
		if (precheck && !compat_check_index_constraints(call->rri, slot, call->estate, &conflict, c->arbiter))
		{
			if (outbox_replace(call, &conflict, operation, payload, &id))
			{
				outbox_expect_pending = true;
				return id;
			}
		}
		else if (outbox_insert_new(call))
		{
			outbox_expect_pending = false;
			return DatumGetInt64(slot->tts_values[c->col[OC_ID]]);
		}
	}
}

/*
 * outbox_write
 *		Write n checked items of one server and role (the operation, key and
 *		payload of item i in ops[i], keys[i], payloads[i]) as the outbox's
 *		owner; a later item of a key replaces an earlier one.  Returns the id
 *		of the last item.  Raises on constraint violations and serialization
 *		failures, as the INSERT it replaces did.
 */
int64
outbox_write(const char *server, Oid role, int n, const char **ops, char **keys, Jsonb **payloads)
{
	Oid			save_userid;
	int			save_sec;
	volatile int64 id = 0;

	/*
	 * A default or CHECK constraint of the outbox that enqueues would write
	 * it from inside a write, and could rebuild the cache in use: refused.
	 */
	if (outbox_writing)
		elog(ERROR, "spotgo_gss.outbox written recursively (from a default or constraint of the table)");
	GetUserIdAndSecContext(&save_userid, &save_sec);
	outbox_writing = true;
	PG_TRY();
	{
		OutboxCall	call;
		Relation   *indexrels;
		bool		pushed = false;
		MemoryContext old;

		call.rel = outbox_open();
		call.cache = outbox_cache;
		if (call.cache->nchecks != (call.rel->rd_att->constr ? call.rel->rd_att->constr->num_check : 0))
			elog(ERROR, "cached constraints of spotgo_gss.outbox are out of date");
		indexrels = palloc0(sizeof(Relation) * call.cache->nindexes);
		if (!ActiveSnapshotSet())
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			pushed = true;
		}
		SetUserIdAndSecContext(call.cache->owner,
							   save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);

		call.estate = CreateExecutorState();
		call.estate->es_snapshot = GetActiveSnapshot();
		old = MemoryContextSwitchTo(call.estate->es_query_cxt);
		call.rri = makeNode(ResultRelInfo);
		InitResultRelInfo(call.rri, call.rel, 0, NULL, 0);
		call.rri->ri_TrigDesc = NULL;
		call.rri->ri_NumIndices = call.cache->nindexes;
		call.rri->ri_IndexRelationDescs = indexrels;
		call.rri->ri_IndexRelationInfo = call.cache->indexinfos;
		compat_set_check_exprs(call.rri, call.cache->checks);
		call.slot = MakeSingleTupleTableSlot(RelationGetDescr(call.rel), &TTSOpsVirtual);
		call.existing = call.updated = NULL;

		MemoryContextSwitchTo(GetPerTupleMemoryContext(call.estate));
		for (int i = 0; i < n; i++)
		{
			id = outbox_put(&call, server, role, ops[i], keys[i], payloads[i]);
			CommandCounterIncrement();
			ResetPerTupleExprContext(call.estate);
		}
		MemoryContextSwitchTo(old);

		ExecDropSingleTupleTableSlot(call.slot);
		if (call.existing != NULL)
		{
			ExecDropSingleTupleTableSlot(call.updated);
			ExecDropSingleTupleTableSlot(call.existing);
		}
		FreeExecutorState(call.estate);
		if (pushed)
			PopActiveSnapshot();
		/* the locks stay to the end of the transaction */
		for (int i = 0; i < call.cache->nindexes; i++)
			if (indexrels[i] != NULL)
				index_close(indexrels[i], NoLock);
		table_close(call.rel, NoLock);
		pfree(indexrels);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
		outbox_writing = false;
	}
	PG_END_TRY();
	return id;
}
