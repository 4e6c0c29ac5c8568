/*-------------------------------------------------------------------------
 *
 * fdw.c
 *		Foreign tables over the APIs' resources: the handler, planning
 *		(pushdown, costs, LIMIT), the streaming scan, EXPLAIN, and IMPORT
 *		FOREIGN SCHEMA.
 *
 * A foreign table names a resource (OPTIONS (resource 'gss.customer_orders'));
 * its columns are some of the resource's composite type, matched by name.
 * This file knows resources only through resource.h: which filters a
 * resource's API applies, and whether exactly; it knows no path, parameter or
 * field name.
 *
 * Planning.  A condition "column = value", "column IN (...)" or "column =
 * ANY(array)" on a filter column, whose value contains no column of the
 * table and nothing volatile, is sent to the API; the value may be a
 * constant, a parameter ($1), an InitPlan's result or, on the inner side of
 * a nested loop, the outer row's column (a parameterized path, as
 * postgres_fdw builds them).  A condition the API applies exactly is not
 * checked again here; the others are.  When every condition is sent exactly,
 * a LIMIT (and OFFSET) goes to the scan too (an UPPERREL_FINAL path): pages
 * are asked for no larger than the limit, and paging stops there.  Costs: a
 * request costs the server's latency_ms, a row its parsing; rows come from
 * the table option rows, else the row count of the local sync table, else
 * the resource's default.
 *
 * The scan.  Values are evaluated when the scan starts (again on a rescan
 * with new parameters), and the listing (listing.c) hands out rows as they
 * are parsed; only the columns the query uses are built.  A value the API
 * cannot take (a packing-slip number with a comma, for a comma-separated
 * list) is not sent; the scan then checks the condition itself.  A scan that
 * feeds an UPDATE or DELETE reads its whole listing first, since changing
 * orders while paging through them would move them between pages; a DELETE
 * straight on the scan deletes in the scan (fdw_modify.c).
 *
 * EXPLAIN (VERBOSE) shows the first request the scan sends (method, path,
 * query string, body; never a header, where the keys travel); EXPLAIN
 * ANALYZE the requests, pages and bytes it took.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/comment.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "compat.h"
#include "fdw.h"
#include "options.h"
#include "pinned.h"
#include "resource.h"

PG_FUNCTION_INFO_V1(spotgo_gss_fdw_handler);

/* planner units: a millisecond of waiting for an answer; parsing one row */
#define FDW_COST_PER_MS		10.0
#define FDW_ROW_COST_FACTOR	10.0	/* times cpu_tuple_cost */
/* rows a parameter's array is taken to hold, for estimates */
#define FDW_PARAM_ARRAY_ROWS 10

/* fdw_private of the ForeignScan plan */
enum
{
	FDW_PRIV_RESOURCE,			/* String: the resource's name */
	FDW_PRIV_WANTED,			/* String: '1'/'0' per resource column */
	FDW_PRIV_FILTERS,			/* IntList: filter of each pushed condition */
	FDW_PRIV_ARRAYS,			/* IntList: its value is an array (= ANY) */
	FDW_PRIV_LIMIT				/* Integer: the last two fdw_exprs are LIMIT and OFFSET */
	/* FDW_PRIV_MODE (fdw.h): Integer, FdwScanMode */
};

/* fdw_private of a LIMIT path (upper rel) */
enum
{
	FDW_LIMIT_COUNT,			/* Expr or NULL */
	FDW_LIMIT_OFFSET			/* Expr or NULL */
};

/* a condition sent to the API */
typedef struct FdwCond
{
	RestrictInfo *rinfo;
	int			filter;			/* in the resource's filters */
	Expr	   *value;			/* an array for = ANY */
	bool		is_array;
} FdwCond;

/* baserel->fdw_private */
typedef struct FdwRelInfo
{
	FdwTable   *table;
	ApiEndpoint *ep;			/* the server's settings, no key */
	List	   *pushed;			/* FdwCond of baserestrictinfo */
	List	   *local;			/* RestrictInfo checked here */
	bool		all_exact;		/* nothing is checked here: a LIMIT may go */
	double		base_rows;		/* the whole listing */
	Cost		request_cost;
	Cost		row_cost;
} FdwRelInfo;

typedef struct FdwScanState
{
	FdwTable   *table;
	const ApiResource *res;
	ApiEndpoint *settings;		/* for EXPLAIN: no key */
	ApiEndpoint *ep;			/* with the key; NULL until the scan starts */
	Oid			userid;
	bool	   *wanted;
	List	   *filters;
	List	   *arrays;
	List	   *exprs;			/* ExprState of fdw_exprs */
	bool		has_limit;
	FdwScanMode mode;
	MemoryContext scan_cxt;		/* values and the listing of one (re)scan */

	bool		started;
	bool		finished;
	Listing    *listing;
	int64		limit;			/* -1: none */
	int64		offset;
	int64		skipped;
	int64		returned;
	ListingStats stats;

	/* conditions the API could not take at run time: checked here */
	int			nchecks;
	int			check_filter[RESOURCE_MAX_FILTERS];
	int			check_col[RESOURCE_MAX_FILTERS];
	char	  **check_values[RESOURCE_MAX_FILTERS];
	int			check_n[RESOURCE_MAX_FILTERS];

	/* FDW_SCAN_COLLECT, FDW_SCAN_DELETE: the whole listing, then from here */
	Tuplestorestate *rows;
	TupleTableSlot *stored;
	bool	   *deleted;		/* FDW_SCAN_DELETE: per stored row */
	int64		next_row;
} FdwScanState;

/* ---- the table and its resource ---- */

/* the resource's composite type, in the extension's schema (spotgo_gss: not relocatable) */
static Oid
fdw_resource_type(const ApiResource *res)
{
	Oid			nsp = get_namespace_oid("spotgo_gss", false);
	Oid			typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										CStringGetDatum(res->type_name), ObjectIdGetDatum(nsp));

	if (!OidIsValid(typid))
		elog(ERROR, "type spotgo_gss.%s does not exist", res->type_name);
	return typid;
}

/* "a, b, c": the resource's columns, for hints */
static char *
fdw_column_names(TupleDesc desc)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < desc->natts; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", NameStr(TupleDescAttr(desc, i)->attname));
	return buf.data;
}

/*
 * fdw_table
 *		The resource of a foreign table, its server, and which of its columns
 *		each of the table's columns is.  Raises when the table's server is of
 *		the other API, or a column is not one of the resource's (42703
 *		naming the valid ones) or has another type (42804).  palloc'd.
 */
FdwTable *
fdw_table(Relation rel)
{
	ForeignTable *ft = GetForeignTable(RelationGetRelid(rel));
	TupleDesc	tdesc = RelationGetDescr(rel);
	TupleDesc	rdesc;
	FdwTable   *t = palloc0(sizeof(FdwTable));
	const char *resname = NULL;
	ListCell   *lc;

	t->relid = RelationGetRelid(rel);
	t->relname = pstrdup(RelationGetRelationName(rel));
	t->rows = -1;
	foreach(lc, ft->options)
	{
		DefElem    *d = (DefElem *) lfirst(lc);

		if (strcmp(d->defname, "resource") == 0)
			resname = defGetString(d);
		else if (strcmp(d->defname, "rows") == 0)
			t->rows = strtod(defGetString(d), NULL);
	}
	t->res = resname ? resource_by_name(resname) : NULL;
	if (t->res == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("foreign table \"%s\" names no resource", t->relname),
				 errhint("Valid resources are: %s.", resource_names())));
	t->server = GetForeignServer(ft->serverid);
	foreach(lc, t->server->options)
	{
		DefElem    *d = (DefElem *) lfirst(lc);

		if (strcmp(d->defname, "api") == 0 &&
			(strcmp(defGetString(d), "gss") == 0) != (t->res->api == API_GSS))
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("foreign table \"%s\" reads %s resource %s, but server \"%s\" is not a %s server",
							t->relname, api_display_name(t->res->api), t->res->name,
							t->server->servername, api_display_name(t->res->api)),
					 errhint("Create the table on a server with OPTIONS (api '%s').",
							 t->res->api == API_GSS ? "gss" : "spotgo")));
	}

	rdesc = lookup_rowtype_tupdesc(fdw_resource_type(t->res), -1);
	t->res_names = palloc(sizeof(char *) * rdesc->natts);
	for (int i = 0; i < rdesc->natts; i++)
		t->res_names[i] = pstrdup(NameStr(TupleDescAttr(rdesc, i)->attname));
	t->natts = tdesc->natts;
	t->res_att = palloc(sizeof(int) * Max(t->natts, 1));
	t->tab_att = palloc(sizeof(int) * rdesc->natts);
	for (int i = 0; i < rdesc->natts; i++)
		t->tab_att[i] = -1;
	for (int a = 0; a < tdesc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(tdesc, a);
		int			r = -1;

		t->res_att[a] = -1;
		if (att->attisdropped)
			continue;
		for (int i = 0; i < rdesc->natts; i++)
			if (strcmp(NameStr(att->attname), NameStr(TupleDescAttr(rdesc, i)->attname)) == 0)
				r = i;
		if (r < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of foreign table \"%s\" is not a column of resource %s",
							NameStr(att->attname), t->relname, t->res->name),
					 errhint("Valid columns are: %s.", fdw_column_names(rdesc))));
		if (att->atttypid != TupleDescAttr(rdesc, r)->atttypid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of foreign table \"%s\" has type %s, but resource %s gives %s",
							NameStr(att->attname), t->relname, format_type_be(att->atttypid),
							t->res->name, format_type_be(TupleDescAttr(rdesc, r)->atttypid))));
		t->res_att[a] = r;
		t->tab_att[r] = a;
	}
	ReleaseTupleDesc(rdesc);
	return t;
}

/* the resource column of that name, or -1 */
int
fdw_resource_column(const FdwTable *t, const char *column)
{
	for (int i = 0; i < t->res->natts; i++)
		if (strcmp(t->res_names[i], column) == 0)
			return i;
	return -1;
}

/*
 * fdw_endpoint
 *		The table's server as userid sees it: its user mapping's key (else
 *		PUBLIC's), as postgres_fdw uses the mapping of the role the executor
 *		checks permissions as.  Raises 55000 when there is none.
 */
ApiEndpoint *
fdw_endpoint(const FdwTable *t, Oid userid)
{
	ApiEndpoint *ep = endpoint_for_server(t->server, t->res->api, NULL);

	endpoint_add_user_mapping(ep, userid);
	return ep;
}

/* ---- conditions ---- */

/* the text form of a value of a filter's type */
static char *
fdw_value_text(Oid type, Datum d)
{
	Oid			out;
	bool		varlena;

	if (type == TEXTOID)
		return TextDatumGetCString(d);
	getTypeOutputInfo(type, &out, &varlena);
	return OidOutputFunctionCall(out, d);
}

/* the elements of an array value (NULLs left out), as text */
static char **
fdw_array_texts(Oid elemtype, Datum array, int *n)
{
	ArrayType  *arr = DatumGetArrayTypeP(array);
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	char	  **out;

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, &elems, &nulls, &nelems);
	out = palloc(sizeof(char *) * Max(nelems, 1));
	*n = 0;
	for (int i = 0; i < nelems; i++)
		if (!nulls[i])
			out[(*n)++] = fdw_value_text(elemtype, elems[i]);
	return out;
}

/* the filter whose column is the table's attribute attno, or -1 */
static int
fdw_filter_of(const FdwTable *t, AttrNumber attno)
{
	const ApiResource *res = t->res;
	int			r;

	if (attno <= 0 || attno > t->natts || (r = t->res_att[attno - 1]) < 0)
		return -1;
	for (int f = 0; f < res->nfilters; f++)
		if (fdw_resource_column(t, res->filters[f].column) == r)
			return f;
	return -1;
}

/* is a constant value one the API can take (all elements of an array)? */
static bool
fdw_const_ok(const ApiResource *res, int f, Const *c, bool is_array)
{
	char	  **v;
	int			n;

	if (c->constisnull)
		return true;			/* matches nothing; the scan returns no row */
	if (is_array)
		v = fdw_array_texts(res->filters[f].type, c->constvalue, &n);
	else
	{
		v = palloc(sizeof(char *));
		v[0] = fdw_value_text(res->filters[f].type, c->constvalue);
		n = 1;
	}
	for (int i = 0; i < n; i++)
		if (!res->value_ok(f, v[i]))
			return false;
	return true;
}

/*
 * fdw_cond
 *		Whether a condition can be sent: "column = value" (either way round),
 *		"column IN (...)" or "column = ANY(array)" with the type's own
 *		equality, a deterministic collation, a filter column, and a value
 *		that holds no column of this table, nothing volatile and no
 *		sub-select of its own.  A constant must be a value the API can take.
 */
static bool
fdw_cond(PlannerInfo *root, RelOptInfo *baserel, const FdwTable *t, RestrictInfo *ri, FdwCond *out)
{
	Expr	   *clause = ri->clause;
	Node	   *left;
	Node	   *right;
	Oid			opno;
	Oid			collid;
	bool		is_array;
	Var		   *var;
	Node	   *value;
	int			f;
	RegProcedure fn;

	if (ri->pseudoconstant)
		return false;
	if (IsA(clause, OpExpr) && list_length(((OpExpr *) clause)->args) == 2)
	{
		OpExpr	   *op = (OpExpr *) clause;

		opno = op->opno;
		collid = op->inputcollid;
		left = linitial(op->args);
		right = lsecond(op->args);
		is_array = false;
	}
	else if (IsA(clause, ScalarArrayOpExpr) && ((ScalarArrayOpExpr *) clause)->useOr)
	{
		ScalarArrayOpExpr *op = (ScalarArrayOpExpr *) clause;

		opno = op->opno;
		collid = op->inputcollid;
		left = linitial(op->args);
		right = lsecond(op->args);
		is_array = true;
	}
	else
		return false;

	fn = get_opcode(opno);
	if (fn != F_TEXTEQ && fn != F_UUID_EQ)
		return false;
	if (OidIsValid(collid) && !get_collation_isdeterministic(collid))
		return false;

	while (IsA(left, RelabelType))
		left = (Node *) ((RelabelType *) left)->arg;
	while (IsA(right, RelabelType) && !is_array)
		right = (Node *) ((RelabelType *) right)->arg;
	if (!IsA(left, Var) || (Index) ((Var *) left)->varno != baserel->relid)
	{
		if (is_array || !IsA(right, Var))
			return false;
		value = left;
		left = right;
	}
	else
		value = right;
	var = (Var *) left;
	if ((Index) var->varno != baserel->relid || var->varlevelsup != 0)
		return false;
	if ((f = fdw_filter_of(t, var->varattno)) < 0)
		return false;
	if (is_array && !t->res->filters[f].many)
		return false;
	if (bms_is_member(baserel->relid, pull_varnos(root, value)) ||
		contain_volatile_functions(value) || contain_subplans(value))
		return false;
	if (IsA(value, Const) && !fdw_const_ok(t->res, f, (Const *) value, is_array))
		return false;

	out->rinfo = ri;
	out->filter = f;
	out->value = (Expr *) value;
	out->is_array = is_array;
	return true;
}

/*
 * fdw_classify
 *		Split clauses (RestrictInfos) into the conditions sent to the API (one
 *		per filter; a lookup alone) and those checked here; a condition the
 *		API does not apply exactly is in both.
 */
static void
fdw_classify(PlannerInfo *root, RelOptInfo *baserel, const FdwTable *t, List *clauses,
			 List **pushed, List **local)
{
	const ApiResource *res = t->res;
	FdwCond    *chosen[RESOURCE_MAX_FILTERS] = {NULL};
	int			alone = -1;
	ListCell   *lc;

	*pushed = NIL;
	*local = NIL;
	foreach(lc, clauses)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		FdwCond		c;

		if (fdw_cond(root, baserel, t, ri, &c) && chosen[c.filter] == NULL)
		{
			chosen[c.filter] = palloc(sizeof(FdwCond));
			*chosen[c.filter] = c;
		}
		else
			*local = lappend(*local, ri);
	}
	for (int f = 0; f < res->nfilters; f++)
		if (chosen[f] && res->filters[f].alone && alone < 0)
			alone = f;
	for (int f = 0; f < res->nfilters; f++)
	{
		if (chosen[f] == NULL)
			continue;
		if (alone >= 0 && f != alone)
		{
			*local = lappend(*local, chosen[f]->rinfo);
			continue;
		}
		*pushed = lappend(*pushed, chosen[f]);
		if (!res->filters[f].exact)
			*local = lappend(*local, chosen[f]->rinfo);
	}
}

/* ---- estimates ---- */

/*
 * fdw_local_rows
 *		Rows of the resource's local sync copy for the table's server, when
 *		there is one and the current role may read it; else -1.  Runs the
 *		resource's count under the pinned search_path, at each planning (an
 *		index-only count of the server's rows: milliseconds for 100,000).
 */
static double
fdw_local_rows(const FdwTable *t)
{
	const ApiResource *res = t->res;
	Oid			relid;
	double		rows = -1;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	int			nestlevel;

	if (res->count_table == NULL)
		return -1;
	relid = get_relname_relid(res->count_table, get_namespace_oid("spotgo_gss", false));
	if (!OidIsValid(relid) || pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return -1;
	args[0] = CStringGetTextDatum(t->server->servername);
	SPI_connect();
	nestlevel = pinned_path_push(PINNED_SEARCH_PATH);
	if (SPI_execute_with_args(res->count_sql, 1, argtypes, args, NULL, false, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull && DatumGetInt64(d) > 0)
			rows = (double) DatumGetInt64(d);
	}
	pinned_path_pop(nestlevel);
	SPI_finish();
	return rows;
}

/* how many values a pushed condition sends (-1: unknown) */
static int
fdw_cond_values(FdwCond *c)
{
	if (!IsA(c->value, Const))
		return c->is_array ? FDW_PARAM_ARRAY_ROWS : 1;
	if (((Const *) c->value)->constisnull)
		return 0;
	if (c->is_array)
		return ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(((Const *) c->value)->constvalue)),
							  ARR_DIMS(DatumGetArrayTypeP(((Const *) c->value)->constvalue)));
	return 1;
}

/*
 * fdw_estimate
 *		Rows a scan with these conditions returns, and its costs: the first
 *		page's request before the first row, then a request per page (or per
 *		value of a lookup), a row's parsing and the local conditions.
 */
static void
fdw_estimate(PlannerInfo *root, RelOptInfo *baserel, FdwRelInfo *info, List *pushed, List *local,
			 double *rows_out, Cost *startup, Cost *total)
{
	const ApiResource *res = info->table->res;
	double		fetched = info->base_rows;
	double		requests;
	List	   *other = NIL;
	QualCost	qcost;
	ListCell   *lc;
	bool		lookup = false;

	foreach(lc, pushed)
	{
		FdwCond    *c = (FdwCond *) lfirst(lc);

		if (res->key_column && strcmp(res->filters[c->filter].column, res->key_column) == 0)
		{
			fetched = Min(fetched, (double) fdw_cond_values(c));
			lookup = res->filters[c->filter].alone;
		}
		else if (res->filters[c->filter].exact)
			other = lappend(other, c->rinfo);
	}
	if (other)
		fetched *= clauselist_selectivity(root, other, baserel->relid, JOIN_INNER, NULL);
	fetched = clamp_row_est(fetched);
	if (lookup)
		requests = Max(fetched, 1);
	else if (res->paging == PAGING_NONE)
		requests = 1;
	else
		requests = Max(1.0, ceil(fetched / Max(info->ep->page_size, 1)));

	*rows_out = clamp_row_est(fetched * clauselist_selectivity(root, local, baserel->relid,
															   JOIN_INNER, NULL));
	cost_qual_eval(&qcost, local, root);
	*startup = info->request_cost + qcost.startup;
	*total = requests * info->request_cost + fetched * (info->row_cost + qcost.per_tuple);
}

/* ---- planning ---- */

static void
fdw_get_rel_size(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	FdwRelInfo *info = palloc0(sizeof(FdwRelInfo));
	Relation	rel = table_open(foreigntableid, NoLock);
	Cost		startup;
	Cost		total;

	info->table = fdw_table(rel);
	table_close(rel, NoLock);
	info->ep = endpoint_for_server(info->table->server, info->table->res->api, NULL);
	info->request_cost = info->ep->latency_ms * FDW_COST_PER_MS;
	info->row_cost = cpu_tuple_cost * FDW_ROW_COST_FACTOR;
	info->base_rows = info->table->rows >= 0 ? info->table->rows : fdw_local_rows(info->table);
	if (info->base_rows < 0)
		info->base_rows = info->table->res->default_rows;

	fdw_classify(root, baserel, info->table, baserel->baserestrictinfo, &info->pushed, &info->local);
	info->all_exact = (info->local == NIL);
	baserel->fdw_private = info;
	fdw_estimate(root, baserel, info, info->pushed, info->local, &baserel->rows, &startup, &total);
}

/* EC members that are this rel's filter columns, one at a time (postgres_fdw's idiom) */
typedef struct FdwEcArg
{
	const FdwTable *table;
	Expr	   *current;
	List	   *already_used;
} FdwEcArg;

static bool
fdw_ec_member(PlannerInfo *root, RelOptInfo *rel, EquivalenceClass *ec, EquivalenceMember *em,
			  void *arg)
{
	FdwEcArg   *a = (FdwEcArg *) arg;
	Expr	   *expr = em->em_expr;

	if (a->current != NULL)
		return equal(expr, a->current);
	if (!IsA(expr, Var) || (Index) ((Var *) expr)->varno != rel->relid ||
		fdw_filter_of(a->table, ((Var *) expr)->varattno) < 0 ||
		list_member(a->already_used, expr))
		return false;
	a->current = expr;
	return true;
}

/* add ri's outer rels to the list of parameterizations when it could be sent */
static List *
fdw_param_info(PlannerInfo *root, RelOptInfo *baserel, FdwRelInfo *info, RestrictInfo *ri,
			   List *ppis)
{
	FdwCond		c;
	Relids		outer;

	if (!join_clause_is_movable_to(ri, baserel) || !fdw_cond(root, baserel, info->table, ri, &c))
		return ppis;
	outer = bms_union(ri->clause_relids, baserel->lateral_relids);
	outer = bms_del_member(outer, baserel->relid);
	if (bms_is_empty(outer))
		return ppis;
	return list_append_unique_ptr(ppis, get_baserel_parampathinfo(root, baserel, outer));
}

/*
 * fdw_get_paths
 *		The plain path, and one parameterized path per set of outer rels
 *		whose values a join clause could send (a nested loop then asks the
 *		API once per outer row, for just the matching rows).
 */
static void
fdw_get_paths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	FdwRelInfo *info = (FdwRelInfo *) baserel->fdw_private;
	double		rows;
	Cost		startup;
	Cost		total;
	List	   *ppis = NIL;
	ListCell   *lc;

	fdw_estimate(root, baserel, info, info->pushed, info->local, &rows, &startup, &total);
	add_path(baserel, (Path *) compat_create_foreignscan_path(root, baserel, NULL, rows, startup, total,
															  NIL, baserel->lateral_relids, NULL, NIL));

	foreach(lc, baserel->joininfo)
		ppis = fdw_param_info(root, baserel, info, lfirst_node(RestrictInfo, lc), ppis);
	if (baserel->has_eclass_joins)
	{
		FdwEcArg	arg;

		memset(&arg, 0, sizeof(arg));
		arg.table = info->table;
		for (;;)
		{
			List	   *clauses;

			arg.current = NULL;
			clauses = generate_implied_equalities_for_column(root, baserel, fdw_ec_member, &arg,
															 baserel->lateral_referencers);
			if (arg.current == NULL)
				break;
			foreach(lc, clauses)
				ppis = fdw_param_info(root, baserel, info, lfirst_node(RestrictInfo, lc), ppis);
			arg.already_used = lappend(arg.already_used, arg.current);
		}
	}

	foreach(lc, ppis)
	{
		ParamPathInfo *ppi = (ParamPathInfo *) lfirst(lc);
		List	   *pushed;
		List	   *local;

		fdw_classify(root, baserel, info->table,
					 list_concat_copy(baserel->baserestrictinfo, ppi->ppi_clauses), &pushed, &local);
		fdw_estimate(root, baserel, info, pushed, local, &rows, &startup, &total);
		ppi->ppi_rows = rows;
		add_path(baserel, (Path *) compat_create_foreignscan_path(root, baserel, NULL, rows, startup, total,
																  NIL, ppi->ppi_req_outer, NULL, NIL));
	}
}

/* the resource columns a scan must build: the query's columns, and the filters' */
static char *
fdw_wanted_mask(PlannerInfo *root, RelOptInfo *baserel, const FdwTable *t, List *clauses)
{
	Bitmapset  *attrs = NULL;
	char	   *mask;
	int			ncols;
	bool		all;
	ListCell   *lc;

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &attrs);
	foreach(lc, clauses)
		pull_varattnos((Node *) lfirst_node(RestrictInfo, lc)->clause, baserel->relid, &attrs);
	all = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attrs);
	ncols = t->res->natts;
	mask = palloc(ncols + 1);
	memset(mask, '0', ncols);
	mask[ncols] = '\0';
	for (int a = 0; a < t->natts; a++)
	{
		if (t->res_att[a] < 0)
			continue;
		if (all || bms_is_member(a + 1 - FirstLowInvalidHeapAttributeNumber, attrs))
			mask[t->res_att[a]] = '1';
	}
	for (int f = 0; f < t->res->nfilters; f++)
	{
		int			r = fdw_resource_column(t, t->res->filters[f].column);

		if (r >= 0 && t->tab_att[r] >= 0)
			mask[r] = '1';
	}
	return mask;
}

static ForeignScan *
fdw_get_plan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid, ForeignPath *best_path,
			 List *tlist, List *scan_clauses, Plan *outer_plan)
{
	FdwRelInfo *info = (FdwRelInfo *) baserel->fdw_private;
	List	   *pushed;
	List	   *local;
	List	   *exprs = NIL;
	List	   *filters = NIL;
	List	   *arrays = NIL;
	bool		has_limit = (best_path->fdw_private != NIL);
	FdwScanMode mode = FDW_SCAN_STREAM;
	List	   *private;
	ListCell   *lc;

	fdw_classify(root, baserel, info->table, scan_clauses, &pushed, &local);
	foreach(lc, pushed)
	{
		FdwCond    *c = (FdwCond *) lfirst(lc);

		exprs = lappend(exprs, c->value);
		filters = lappend_int(filters, c->filter);
		arrays = lappend_int(arrays, c->is_array);
	}
	if (has_limit)
	{
		exprs = lappend(exprs, list_nth(best_path->fdw_private, FDW_LIMIT_COUNT));
		exprs = lappend(exprs, list_nth(best_path->fdw_private, FDW_LIMIT_OFFSET));
	}
	/* the rows an UPDATE or DELETE changes are read before the first is changed */
	if ((root->parse->commandType == CMD_UPDATE || root->parse->commandType == CMD_DELETE) &&
		baserel->relid == (Index) root->parse->resultRelation)
		mode = FDW_SCAN_COLLECT;

	private = list_make5(makeString(pstrdup(info->table->res->name)),
						 makeString(fdw_wanted_mask(root, baserel, info->table, scan_clauses)),
						 filters, arrays, makeInteger(has_limit));
	private = lappend(private, makeInteger(mode));
	return make_foreignscan(tlist, extract_actual_clauses(local, false), baserel->relid, exprs,
							private, NIL, NIL, outer_plan);
}

/*
 * fdw_get_upper_paths
 *		A LIMIT (with OFFSET) straight over a scan whose conditions all go to
 *		the API exactly: a path that takes the limit into the scan, so that
 *		pages are no larger than needed and paging stops there.  Nothing may
 *		sit between (no ORDER BY, grouping, DISTINCT, window, SRF, locking).
 */
static void
fdw_get_upper_paths(PlannerInfo *root, UpperRelationKind stage, RelOptInfo *input_rel,
					RelOptInfo *output_rel, void *extra)
{
	FinalPathExtraData *fextra = (FinalPathExtraData *) extra;
	Query	   *parse = root->parse;
	FdwRelInfo *info;
	Node	   *count = parse->limitCount;
	Node	   *offset = parse->limitOffset;
	double		rows;
	Cost		startup;
	Cost		total;

	if (stage != UPPERREL_FINAL || input_rel->reloptkind != RELOPT_BASEREL ||
		input_rel->fdw_private == NULL || !fextra->limit_needed)
		return;
	info = (FdwRelInfo *) input_rel->fdw_private;
	if (!info->all_exact || parse->commandType != CMD_SELECT || parse->rowMarks ||
		parse->sortClause || parse->hasTargetSRFs || parse->distinctClause || parse->hasAggs ||
		parse->groupClause || parse->groupingSets || parse->hasWindowFuncs || root->hasHavingQual ||
		parse->limitOption == LIMIT_OPTION_WITH_TIES || !bms_is_empty(input_rel->lateral_relids))
		return;
	if ((count && (contain_var_clause(count) || contain_volatile_functions(count) ||
				   contain_subplans(count))) ||
		(offset && (contain_var_clause(offset) || contain_volatile_functions(offset) ||
					contain_subplans(offset))))
		return;

	fdw_estimate(root, input_rel, info, info->pushed, info->local, &rows, &startup, &total);
	if (fextra->count_est > 0)
		rows = Min(rows, (double) (fextra->count_est + fextra->offset_est));
	rows = clamp_row_est(rows);
	total = startup + Max(0.0, ceil(rows / Max(info->ep->page_size, 1)) - 1) * info->request_cost +
		rows * info->row_cost;
	add_path(output_rel, (Path *) compat_create_foreign_upper_path(root, input_rel,
																   root->upper_targets[UPPERREL_FINAL],
																   rows, startup, total, NIL, NULL,
																   list_make2(count, offset)));
}

/* ---- the scan ---- */

static void
fdw_begin_scan(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	FdwScanState *st = palloc0(sizeof(FdwScanState));
	char	   *mask = strVal(list_nth(plan->fdw_private, FDW_PRIV_WANTED));

	node->fdw_state = st;
	st->table = fdw_table(node->ss.ss_currentRelation);
	st->res = st->table->res;
	st->settings = endpoint_for_server(st->table->server, st->res->api, NULL);
	st->wanted = palloc0(sizeof(bool) * Max(strlen(mask), 1));
	for (int i = 0; mask[i]; i++)
		st->wanted[i] = (mask[i] == '1');
	st->filters = (List *) list_nth(plan->fdw_private, FDW_PRIV_FILTERS);
	st->arrays = (List *) list_nth(plan->fdw_private, FDW_PRIV_ARRAYS);
	st->has_limit = intVal(list_nth(plan->fdw_private, FDW_PRIV_LIMIT)) != 0;
	st->mode = (FdwScanMode) intVal(list_nth(plan->fdw_private, FDW_PRIV_MODE));
	st->userid = compat_scan_user(plan, estate);
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	st->exprs = ExecInitExprList(plan->fdw_exprs, (PlanState *) node);
	st->scan_cxt = AllocSetContextCreate(estate->es_query_cxt, "spotgo_gss scan",
										 ALLOCSET_DEFAULT_SIZES);
	/* the key: a role without a mapping learns it before any request */
	st->ep = fdw_endpoint(st->table, st->userid);
}

/* sort and drop repeats */
static int
fdw_cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
fdw_unique(char **v, int n)
{
	int			k = 0;

	if (n < 2)
		return n;
	qsort(v, n, sizeof(char *), fdw_cmp_text);
	for (int i = 0; i < n; i++)
		if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
			v[k++] = v[i];
	return k;
}

/* an integer LIMIT or OFFSET value; -1 when NULL (none) */
static int64
fdw_limit_value(ExprState *es, ExprContext *econtext, bool is_offset)
{
	bool		isnull;
	Datum		d;
	int64		v;

	if (es == NULL)
		return is_offset ? 0 : -1;
	d = ExecEvalExpr(es, econtext, &isnull);
	if (isnull)
		return is_offset ? 0 : -1;
	v = DatumGetInt64(d);
	if (v < 0)
		ereport(ERROR,
				is_offset ?
				(errcode(ERRCODE_INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE),
				 errmsg("OFFSET must not be negative")) :
				(errcode(ERRCODE_INVALID_ROW_COUNT_IN_LIMIT_CLAUSE),
				 errmsg("LIMIT must not be negative")));
	return v;
}

/*
 * fdw_start
 *		Evaluate the values to send and open the listing.  A NULL value (or
 *		an array of NULLs) matches nothing: no request.  Values the API
 *		cannot take are not sent; for a condition the API would have applied
 *		exactly, the scan checks it itself.
 */
static void
fdw_start(ForeignScanState *node)
{
	FdwScanState *st = (FdwScanState *) node->fdw_state;
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	MemoryContext old;
	ListingQuery q;
	ListCell   *lf;
	ListCell   *la;
	ListCell   *le;
	int			i = 0;

	MemoryContextReset(st->scan_cxt);
	old = MemoryContextSwitchTo(st->scan_cxt);
	memset(&q, 0, sizeof(q));
	q.wanted = st->wanted;
	q.limit = -1;
	st->started = true;
	st->finished = false;
	st->nchecks = 0;
	st->skipped = st->returned = 0;
	st->limit = -1;
	st->offset = 0;
	le = list_head(st->exprs);
	forboth(lf, st->filters, la, st->arrays)
	{
		int			f = lfirst_int(lf);
		const ResourceFilter *filter = &st->res->filters[f];
		ExprState  *es = (ExprState *) lfirst(le);
		bool		isnull;
		Datum		d = ExecEvalExpr(es, econtext, &isnull);
		char	  **v;
		int			n;
		bool		ok = true;

		le = lnext(st->exprs, le);
		i++;
		if (isnull)
		{
			st->finished = true;
			continue;
		}
		if (lfirst_int(la))
			v = fdw_array_texts(filter->type, d, &n);
		else
		{
			v = palloc(sizeof(char *));
			v[0] = fdw_value_text(filter->type, d);
			n = 1;
		}
		n = fdw_unique(v, n);
		if (n == 0)
			st->finished = true;
		for (int k = 0; k < n; k++)
			ok = ok && st->res->value_ok(f, v[k]);
		if (ok)
		{
			q.filters[f].used = true;
			q.filters[f].n = n;
			q.filters[f].values = v;
		}
		else if (filter->exact)
		{
			st->check_filter[st->nchecks] = f;
			st->check_col[st->nchecks] = fdw_resource_column(st->table, filter->column);
			st->check_values[st->nchecks] = v;
			st->check_n[st->nchecks] = n;
			st->nchecks++;
		}
	}
	if (st->has_limit)
	{
		st->limit = fdw_limit_value((ExprState *) lfirst(le), econtext, false);
		st->offset = fdw_limit_value((ExprState *) lfirst(lnext(st->exprs, le)), econtext, true);
		if (st->limit == 0)
			st->finished = true;
		if (st->limit > 0 && st->nchecks == 0)
			q.limit = st->limit + st->offset;
	}
	if (!st->finished)
		st->listing = listing_open(st->res, st->ep, &q, false);
	MemoryContextSwitchTo(old);
}

/* the conditions checked here because their values could not be sent */
static bool
fdw_checks_pass(FdwScanState *st, Datum *values, bool *nulls)
{
	for (int c = 0; c < st->nchecks; c++)
	{
		int			col = st->check_col[c];
		char	   *v;
		bool		found;

		if (nulls[col])
			return false;
		v = fdw_value_text(st->res->filters[st->check_filter[c]].type, values[col]);
		found = bsearch(&v, st->check_values[c], st->check_n[c], sizeof(char *), fdw_cmp_text) != NULL;
		pfree(v);				/* rows that fail are skipped within one call: no leak per row */
		if (!found)
			return false;
	}
	return true;
}

/* the row into the scan slot, the resource's columns to the table's */
static void
fdw_store_row(FdwScanState *st, TupleTableSlot *slot, Datum *values, bool *nulls)
{
	ExecClearTuple(slot);
	for (int a = 0; a < st->table->natts; a++)
	{
		int			r = st->table->res_att[a];

		slot->tts_isnull[a] = (r < 0) ? true : nulls[r];
		slot->tts_values[a] = (r < 0) ? (Datum) 0 : values[r];
	}
	ExecStoreVirtualTuple(slot);
}

/* the listing is over: its memory goes, its numbers stay */
static void
fdw_end_listing(FdwScanState *st)
{
	if (st->listing)
	{
		listing_close(st->listing, &st->stats);
		st->listing = NULL;
	}
	st->finished = true;
}

/*
 * fdw_scan_next
 *		The next row of the listing into the scan slot; false at the end.
 *		Applies the scan's own checks, OFFSET and LIMIT.
 */
static bool
fdw_scan_next(ForeignScanState *node)
{
	FdwScanState *st = (FdwScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	Datum	   *values;
	bool	   *nulls;

	if (!st->started)
		fdw_start(node);
	while (!st->finished)
	{
		if (st->limit >= 0 && st->returned >= st->limit)
			break;
		if (!listing_next(st->listing, &values, &nulls))
			break;
		if (st->nchecks > 0 && !fdw_checks_pass(st, values, nulls))
			continue;
		if (st->skipped < st->offset)
		{
			st->skipped++;
			continue;
		}
		st->returned++;
		fdw_store_row(st, slot, values, nulls);
		return true;
	}
	fdw_end_listing(st);
	ExecClearTuple(slot);
	return false;
}

/*
 * fdw_collect
 *		Read the whole listing into a tuplestore (the rows an UPDATE or
 *		DELETE will change); for FDW_SCAN_DELETE, only the rows the scan's
 *		conditions pass, which are then deleted (fdw_modify.c) before the
 *		first is returned.
 */
static void
fdw_collect(ForeignScanState *node)
{
	FdwScanState *st = (FdwScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	MemoryContext old = MemoryContextSwitchTo(node->ss.ps.state->es_query_cxt);
	int			keycol = st->res->key_column ? fdw_resource_column(st->table, st->res->key_column) : -1;
	int			keyatt = keycol >= 0 ? st->table->tab_att[keycol] : -1;
	char	  **keys = NULL;
	int64		nkeys = 0;
	int64		cap = 0;

	if (st->rows)
		tuplestore_end(st->rows);
	st->rows = tuplestore_begin_heap(false, false, work_mem);
	if (st->stored == NULL)
		st->stored = MakeSingleTupleTableSlot(RelationGetDescr(node->ss.ss_currentRelation),
											  &TTSOpsMinimalTuple);
	MemoryContextSwitchTo(old);

	while (fdw_scan_next(node))
	{
		if (st->mode == FDW_SCAN_DELETE)
		{
			bool		pass;

			econtext->ecxt_scantuple = slot;
			pass = node->ss.ps.qual == NULL || ExecQual(node->ss.ps.qual, econtext);
			ResetExprContext(econtext);
			if (!pass || keyatt < 0 || slot->tts_isnull[keyatt])
				continue;
			old = MemoryContextSwitchTo(st->scan_cxt);
			if (nkeys == cap)
			{
				cap = cap ? cap * 2 : 64;
				keys = keys ? repalloc(keys, sizeof(char *) * cap) : palloc(sizeof(char *) * cap);
			}
			keys[nkeys++] = fdw_value_text(TupleDescAttr(slot->tts_tupleDescriptor, keyatt)->atttypid,
										   slot->tts_values[keyatt]);
			MemoryContextSwitchTo(old);
		}
		tuplestore_puttupleslot(st->rows, slot);
	}
	if (st->mode == FDW_SCAN_DELETE)
	{
		old = MemoryContextSwitchTo(st->scan_cxt);
		st->deleted = palloc0(sizeof(bool) * Max(nkeys, 1));
		if (nkeys > 0)
			fdw_delete_rows(st->table, st->ep, keys, (int) nkeys, st->deleted);
		MemoryContextSwitchTo(old);
	}
	st->next_row = 0;
}

static TupleTableSlot *
fdw_iterate_scan(ForeignScanState *node)
{
	FdwScanState *st = (FdwScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	if (st->mode == FDW_SCAN_STREAM)
	{
		(void) fdw_scan_next(node);
		return slot;
	}
	if (!st->started)
		fdw_collect(node);
	while (tuplestore_gettupleslot(st->rows, true, false, st->stored))
	{
		int64		i = st->next_row++;

		CHECK_FOR_INTERRUPTS();
		if (st->mode == FDW_SCAN_DELETE && !st->deleted[i])
			continue;
		ExecCopySlot(slot, st->stored);
		return slot;
	}
	return ExecClearTuple(slot);
}

static void
fdw_rescan(ForeignScanState *node)
{
	FdwScanState *st = (FdwScanState *) node->fdw_state;

	fdw_end_listing(st);
	st->started = false;
	st->finished = false;
}

static void
fdw_end_scan(ForeignScanState *node)
{
	FdwScanState *st = (FdwScanState *) node->fdw_state;

	if (st == NULL)
		return;
	if (st->listing)
		fdw_end_listing(st);
	if (st->rows)
		tuplestore_end(st->rows);
	if (st->stored)
		ExecDropSingleTupleTableSlot(st->stored);
}

/* ---- EXPLAIN ---- */

/* a pushed value as EXPLAIN shows it: constants as they are sent, parameters as $n */
static void
fdw_explain_values(const ApiResource *res, int f, Expr *value, bool is_array, FilterValues *fv)
{
	fv->used = true;
	if (IsA(value, Const))
	{
		Const	   *c = (Const *) value;

		if (c->constisnull)
			fv->n = 0;
		else if (is_array)
			fv->values = fdw_array_texts(res->filters[f].type, c->constvalue, &fv->n);
		else
		{
			fv->values = palloc(sizeof(char *));
			fv->values[0] = fdw_value_text(res->filters[f].type, c->constvalue);
			fv->n = 1;
		}
		fv->n = fdw_unique(fv->values, fv->n);
		return;
	}
	fv->verbatim = true;
	fv->values = palloc(sizeof(char *));
	fv->n = 1;
	if (IsA(value, Param) && ((Param *) value)->paramkind == PARAM_EXTERN)
		fv->values[0] = psprintf("$%d", ((Param *) value)->paramid);
	else
		fv->values[0] = "?";
}

static void
fdw_explain_scan(ForeignScanState *node, ExplainState *es)
{
	FdwScanState *st = (FdwScanState *) node->fdw_state;
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;

	if (es->verbose)
	{
		ListingQuery q;
		ListCell   *lf;
		ListCell   *la;
		ListCell   *le = list_head(plan->fdw_exprs);

		memset(&q, 0, sizeof(q));
		q.wanted = st->wanted;
		q.limit = -1;
		forboth(lf, st->filters, la, st->arrays)
		{
			fdw_explain_values(st->res, lfirst_int(lf), (Expr *) lfirst(le), lfirst_int(la),
							   &q.filters[lfirst_int(lf)]);
			le = lnext(plan->fdw_exprs, le);
		}
		if (st->has_limit)
		{
			Node	   *count = (Node *) lfirst(le);
			Node	   *offset = (Node *) lfirst(lnext(plan->fdw_exprs, le));

			bool		known_count = count && IsA(count, Const) && !((Const *) count)->constisnull;
			bool		known_offset = offset == NULL ||
				(IsA(offset, Const) && !((Const *) offset)->constisnull);
			int64		off = (offset && known_offset) ? DatumGetInt64(((Const *) offset)->constvalue) : 0;

			if (known_count && known_offset)
				q.limit = DatumGetInt64(((Const *) count)->constvalue) + off;
			ExplainPropertyText("Pushed Limit",
								!known_count ? "a parameter" : off == 0 ?
								psprintf(INT64_FORMAT, q.limit) :
								psprintf(INT64_FORMAT " after " INT64_FORMAT " skipped",
										 q.limit - off, off), es);
		}
		ExplainPropertyText("Resource", st->res->name, es);
		ExplainPropertyText("Request", listing_describe(st->res, st->settings, &q), es);
		if (st->mode == FDW_SCAN_DELETE)
			ExplainPropertyText("Deletes", "in the scan, once every row is read", es);
		else if (st->mode == FDW_SCAN_COLLECT)
			ExplainPropertyText("Reads", "every row before the first is changed", es);
	}
	if (es->analyze)
	{
		ListingStats s = st->stats;

		if (st->listing)
			listing_stats(st->listing, &s);
		ExplainPropertyInteger("API Requests", NULL, s.requests, es);
		ExplainPropertyInteger("API Pages", NULL, s.pages, es);
		ExplainPropertyInteger("API Bytes", NULL, s.bytes, es);
	}
}

/* ---- IMPORT FOREIGN SCHEMA ---- */

/* a table IMPORT FOREIGN SCHEMA is about to create, and its comment */
typedef struct FdwPendingComment
{
	Oid			nsp;
	char	   *relname;
	char	   *comment;
} FdwPendingComment;

static List *fdw_pending_comments = NIL;
static TimestampTz fdw_pending_statement = 0;
static bool fdw_hook_installed = false;
static object_access_hook_type fdw_prev_object_access_hook = NULL;

/* the name and schema of a relation created by the current command (not yet visible to syscache) */
static bool
fdw_new_relation(Oid relid, char **relname, Oid *nsp)
{
	Relation	rel = table_open(RelationRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;

	ScanKeyInit(&key, Anum_pg_class_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, ClassOidIndexId, true, SnapshotSelf, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tuple);

		*relname = pstrdup(NameStr(form->relname));
		*nsp = form->relnamespace;
		found = form->relkind == RELKIND_FOREIGN_TABLE;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * fdw_object_access
 *		object_access_hook: when a table that the running IMPORT FOREIGN
 *		SCHEMA listed is created, give it its comment (an FDW can only
 *		return CREATE FOREIGN TABLE statements).  Items of an earlier
 *		statement are dropped unused.
 */
static void
fdw_object_access(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	ListCell   *lc;
	char	   *relname;
	Oid			nsp;

	if (fdw_prev_object_access_hook)
		fdw_prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access != OAT_POST_CREATE || classId != RelationRelationId || subId != 0 ||
		fdw_pending_comments == NIL)
		return;
	if (fdw_pending_statement != GetCurrentStatementStartTimestamp())
	{
		list_free_deep(fdw_pending_comments);
		fdw_pending_comments = NIL;
		return;
	}
	if (!fdw_new_relation(objectId, &relname, &nsp))
		return;
	foreach(lc, fdw_pending_comments)
	{
		FdwPendingComment *p = (FdwPendingComment *) lfirst(lc);

		if (p->nsp == nsp && strcmp(p->relname, relname) == 0)
		{
			CreateComments(objectId, RelationRelationId, 0, p->comment);
			fdw_pending_comments = foreach_delete_current(fdw_pending_comments, lc);
			break;
		}
	}
}

/*
 * fdw_import_schema
 *		IMPORT FOREIGN SCHEMA gss (customer_orders, pending_orders) or spotgo
 *		(orders): every column of the resource's type, OPTIONS (resource),
 *		and a COMMENT on each table (through fdw_object_access).  LIMIT TO
 *		and EXCEPT are honoured.
 */
static List *
fdw_import_schema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	const char *api = NULL;
	List	   *commands = NIL;
	Oid			nsp = get_namespace_oid(stmt->local_schema, false);
	ListCell   *lc;

	foreach(lc, server->options)
		if (strcmp(((DefElem *) lfirst(lc))->defname, "api") == 0)
			api = defGetString((DefElem *) lfirst(lc));
	if (strcmp(stmt->remote_schema, "gss") != 0 && strcmp(stmt->remote_schema, "spotgo") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("server \"%s\" has no schema \"%s\"", server->servername, stmt->remote_schema),
				 errhint("Import schema \"%s\".", api && strcmp(api, "gss") == 0 ? "gss" : "spotgo")));
	if (api == NULL || strcmp(api, stmt->remote_schema) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("server \"%s\" has no schema \"%s\"", server->servername, stmt->remote_schema),
				 errdetail("Schema \"%s\" is on servers with OPTIONS (api '%s').",
						   stmt->remote_schema, stmt->remote_schema),
				 errhint("Import schema \"%s\".", api && strcmp(api, "gss") == 0 ? "gss" : "spotgo")));

	list_free_deep(fdw_pending_comments);
	fdw_pending_comments = NIL;
	for (int k = 0; k < 2; k++)
	{
		const ApiResource *list = k == 0 ? gss_resources : spotgo_resources;
		int			n = k == 0 ? gss_nresources : spotgo_nresources;

		for (int i = 0; i < n; i++)
		{
			const ApiResource *res = &list[i];
			TupleDesc	desc;
			StringInfoData buf;
			MemoryContext old;
			FdwPendingComment *p;

			if (strcmp(res->remote_schema, stmt->remote_schema) != 0)
				continue;
			if (!IsImportableForeignTable(res->table, stmt))
				continue;
			desc = lookup_rowtype_tupdesc(fdw_resource_type(res), -1);
			initStringInfo(&buf);
			appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (",
							 quote_qualified_identifier(stmt->local_schema, res->table));
			for (int a = 0; a < desc->natts; a++)
			{
				Form_pg_attribute att = TupleDescAttr(desc, a);

				appendStringInfo(&buf, "%s%s %s", a ? ", " : "", quote_identifier(NameStr(att->attname)),
								 format_type_with_typemod(att->atttypid, att->atttypmod));
			}
			ReleaseTupleDesc(desc);
			appendStringInfo(&buf, ") SERVER %s OPTIONS (resource %s)",
							 quote_identifier(server->servername), quote_literal_cstr(res->name));
			commands = lappend(commands, buf.data);

			old = MemoryContextSwitchTo(TopMemoryContext);
			p = palloc(sizeof(FdwPendingComment));
			p->nsp = nsp;
			p->relname = pstrdup(res->table);
			p->comment = pstrdup(res->comment);
			fdw_pending_comments = lappend(fdw_pending_comments, p);
			MemoryContextSwitchTo(old);
		}
	}
	fdw_pending_statement = GetCurrentStatementStartTimestamp();
	if (!fdw_hook_installed)
	{
		fdw_prev_object_access_hook = object_access_hook;
		object_access_hook = fdw_object_access;
		fdw_hook_installed = true;
	}
	return commands;
}

/*
 * spotgo_gss_fdw_handler
 *		The wrapper's callbacks.
 */
Datum
spotgo_gss_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = fdw_get_rel_size;
	routine->GetForeignPaths = fdw_get_paths;
	routine->GetForeignPlan = fdw_get_plan;
	routine->GetForeignUpperPaths = fdw_get_upper_paths;
	routine->BeginForeignScan = fdw_begin_scan;
	routine->IterateForeignScan = fdw_iterate_scan;
	routine->ReScanForeignScan = fdw_rescan;
	routine->EndForeignScan = fdw_end_scan;
	routine->ExplainForeignScan = fdw_explain_scan;
	routine->ImportForeignSchema = fdw_import_schema;
	fdw_modify_routine(routine);
	PG_RETURN_POINTER(routine);
}
