/*-------------------------------------------------------------------------
 *
 * outbox_payload.c
 *		A push trigger's default payload: exactly to_jsonb(row), built
 *		without the generic detour.
 *
 * to_jsonb() of a row looks up every column's type category (domain base
 * type, array, composite, cast to json) for every row, turns each text
 * value into a C string through its output function, and pushes the pairs
 * in column order, to be sorted again for every row.  That was as costly as
 * inserting the outbox row.  Here the trigger's row type is looked at once
 * per statement: the columns are put in jsonb's key order (shorter names
 * first, then bytewise, which is how jsonb stores an object), and each
 * text, varchar or char column (or domain over one), whose output function
 * returns its bytes unchanged, becomes a jsonb string straight from the
 * datum.  Any other column goes through to_jsonb() of its own type; if
 * that is not a scalar (an array, a composite, json), the row is handed to
 * to_jsonb() whole.  The result is the same jsonb value as to_jsonb(row),
 * byte for byte (TAP test 016 compares the two).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

#include "outbox_payload.h"

/* one column of the row, in jsonb key order */
typedef struct RowJsonbColumn
{
	int			attno;			/* 0-based */
	JsonbValue	key;			/* its name */
	bool		is_text;		/* the value's bytes are the string */
	FmgrInfo	to_jsonb;		/* otherwise: to_jsonb() of the column's type */
} RowJsonbColumn;

struct OutboxRowJsonb
{
	TupleDesc	desc;
	int			ncolumns;
	RowJsonbColumn *columns;
	FmgrInfo	row_to_jsonb;	/* to_jsonb() of the whole row */
};

/* FmgrInfo of to_jsonb() bound to argument type type, in cxt */
static void
outbox_bind_to_jsonb(FmgrInfo *finfo, Oid type, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	FuncExpr   *expr = makeFuncExpr(F_TO_JSONB, JSONBOID,
									list_make1(makeNullConst(type, -1, InvalidOid)),
									InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);

	fmgr_info_cxt(F_TO_JSONB, finfo, cxt);
	fmgr_info_set_expr((Node *) expr, finfo);
	MemoryContextSwitchTo(old);
}

/* jsonb's order of object keys (JsonbValue strings) */
static int
outbox_key_cmp(const void *a, const void *b)
{
	const RowJsonbColumn *ca = a;
	const RowJsonbColumn *cb = b;

	if (ca->key.val.string.len != cb->key.val.string.len)
		return ca->key.val.string.len > cb->key.val.string.len ? 1 : -1;
	return memcmp(ca->key.val.string.val, cb->key.val.string.val, ca->key.val.string.len);
}

/*
 * outbox_row_jsonb_prepare
 *		Describe rows of desc (which must outlive the result) for
 *		outbox_row_jsonb(); allocated in cxt.
 */
OutboxRowJsonb *
outbox_row_jsonb_prepare(TupleDesc desc, MemoryContext cxt)
{
	OutboxRowJsonb *rj = MemoryContextAllocZero(cxt, sizeof(OutboxRowJsonb));

	rj->desc = desc;
	rj->columns = MemoryContextAllocZero(cxt, sizeof(RowJsonbColumn) * Max(desc->natts, 1));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		RowJsonbColumn *col;
		Oid			base;

		if (att->attisdropped)
			continue;
		col = &rj->columns[rj->ncolumns++];
		col->attno = i;
		col->key.type = jbvString;
		col->key.val.string.val = NameStr(att->attname);
		col->key.val.string.len = strlen(NameStr(att->attname));
		base = getBaseType(att->atttypid);
		col->is_text = base == TEXTOID || base == VARCHAROID || base == BPCHAROID;
		if (!col->is_text)
			outbox_bind_to_jsonb(&col->to_jsonb, att->atttypid, cxt);
	}
	qsort(rj->columns, rj->ncolumns, sizeof(RowJsonbColumn), outbox_key_cmp);
	outbox_bind_to_jsonb(&rj->row_to_jsonb, desc->tdtypeid, cxt);
	return rj;
}

/*
 * outbox_row_jsonb
 *		to_jsonb(tuple), a row of the prepared descriptor, allocated in the
 *		current memory context.  Raises what to_jsonb() raises.
 */
Jsonb *
outbox_row_jsonb(OutboxRowJsonb *rj, HeapTuple tuple)
{
	TupleDesc	desc = rj->desc;
	Datum	   *values = palloc(sizeof(Datum) * Max(desc->natts, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(desc->natts, 1));
	JsonbPair  *pairs = palloc(sizeof(JsonbPair) * Max(rj->ncolumns, 1));
	JsonbValue	object;

	heap_deform_tuple(tuple, desc, values, nulls);
	for (int k = 0; k < rj->ncolumns; k++)
	{
		RowJsonbColumn *col = &rj->columns[k];
		JsonbValue *v = &pairs[k].value;

		pairs[k].key = col->key;
		pairs[k].order = k;
		if (nulls[col->attno])
			v->type = jbvNull;
		else if (col->is_text)
		{
			struct varlena *t = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(values[col->attno]));
			size_t		len = VARSIZE_ANY_EXHDR(t);

			/* to_jsonb()'s own limit and words */
			if (len > JENTRY_OFFLENMASK)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("string too long to represent as jsonb string"),
						 errdetail("Due to an implementation restriction, jsonb strings cannot exceed %d bytes.",
								   JENTRY_OFFLENMASK)));
			v->type = jbvString;
			v->val.string.len = (int) len;
			v->val.string.val = VARDATA_ANY(t);
		}
		else
		{
			Jsonb	   *j = DatumGetJsonbP(FunctionCall1(&col->to_jsonb, values[col->attno]));

			if (!JsonbExtractScalar(&j->root, v))
				return DatumGetJsonbP(FunctionCall1(&rj->row_to_jsonb,
													heap_copy_tuple_as_datum(tuple, desc)));
		}
	}
	object.type = jbvObject;
	object.val.object.nPairs = rj->ncolumns;
	object.val.object.pairs = pairs;
	return JsonbValueToJsonb(&object);
}
