/*-------------------------------------------------------------------------
 *
 * gss.c
 *		GoSweetSpot customer-order endpoints as SQL functions.
 *
 * Everything this product knows about GSS's paths, parameters and field
 * names is in this file, and its resources (customer_orders, pending_orders)
 * are described once, in gss_resources at the end: how a listing is split
 * (a list filter goes 50 numbers a listing) and how each page is asked for,
 * which filter a foreign scan may send, and how a foreign table's rows are
 * written.  The page loop itself (numbered pages, the next one travelling
 * while one is parsed, an empty page ending a listing, max_pages) is
 * listing.c's, shared with the foreign tables.
 *
 * Input is checked completely before the first request: an order must be a
 * JSON object with a non-empty string packingslipno, no number may appear
 * twice in one call, and a number bound for a comma-separated list (list
 * filter, delete) may not contain a comma, which GSS cannot express.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "http.h"
#include "json_rows.h"
#include "options.h"
#include "push.h"
#include "resource.h"

PG_FUNCTION_INFO_V1(gss_customer_orders);
PG_FUNCTION_INFO_V1(gss_pending_orders);
PG_FUNCTION_INFO_V1(gss_order_status);
PG_FUNCTION_INFO_V1(gss_upsert_orders);
PG_FUNCTION_INFO_V1(gss_upsert_order);
PG_FUNCTION_INFO_V1(gss_delete_orders);

#define GSS_LIST_PATH		"/api/customerorders"
#define GSS_STATUS_PATH		"/v2/order/"
#define GSS_PENDING_PATH	"/v2/pendingorders"
#define GSS_MAX_PER_LIST	50	/* numbers per delete call (GSS's limit) and per list filter */

/* spotgo_gss.gss_order, in column order */
enum
{
	GO_PACKINGSLIPNO, GO_CONSIGNEE, GO_ADDRESS1, GO_ADDRESS2, GO_SUBURB, GO_CITY,
	GO_POSTCODE, GO_COUNTRY, GO_DELVREF, GO_DELVINSTRUCTIONS, GO_CONTACTNAME,
	GO_CONTACTPHONE, GO_EMAIL, GO_RAWADDRESS, GO_COSTCENTRE, GO_ISRURAL, GO_NOTRURAL,
	GO_STATUS, GO_TICKETNUMBER, GO_TRACKINGURL, GO_PICKED, GO_DELIVERED,
	GO_MANUALTICKET, GO_PRODUCTS, GO_PACKAGES, GO_EXTRA,
	GO_NATTS
};

/* the nested "status" object of a listed order, flattened */
static const JrowsColumn gss_status_fields[] = {
	{"Status", GO_STATUS, JR_TEXT, NULL},
	{"ticketnumber", GO_TICKETNUMBER, JR_TEXT, NULL},
	{"trackingurl", GO_TRACKINGURL, JR_TEXT, NULL},
	{"Picked", GO_PICKED, JR_TIMESTAMP, NULL},
	{"Delivered", GO_DELIVERED, JR_TIMESTAMP, NULL},
	{"manualticket", GO_MANUALTICKET, JR_BOOL, NULL},
	{NULL, 0, JR_TEXT, NULL}
};

static const JrowsColumn gss_order_fields[] = {
	{"packingslipno", GO_PACKINGSLIPNO, JR_TEXT, NULL},
	{"consignee", GO_CONSIGNEE, JR_TEXT, NULL},
	{"address1", GO_ADDRESS1, JR_TEXT, NULL},
	{"address2", GO_ADDRESS2, JR_TEXT, NULL},
	{"suburb", GO_SUBURB, JR_TEXT, NULL},
	{"city", GO_CITY, JR_TEXT, NULL},
	{"postcode", GO_POSTCODE, JR_TEXT, NULL},
	{"country", GO_COUNTRY, JR_TEXT, NULL},
	{"delvref", GO_DELVREF, JR_TEXT, NULL},
	{"delvinstructions", GO_DELVINSTRUCTIONS, JR_TEXT, NULL},
	{"contactname", GO_CONTACTNAME, JR_TEXT, NULL},
	{"contactphone", GO_CONTACTPHONE, JR_TEXT, NULL},
	{"email", GO_EMAIL, JR_TEXT, NULL},
	{"rawaddress", GO_RAWADDRESS, JR_TEXT, NULL},
	{"costcentre", GO_COSTCENTRE, JR_TEXT, NULL},
	{"isrural", GO_ISRURAL, JR_BOOL, NULL},
	{"notrural", GO_NOTRURAL, JR_BOOL, NULL},
	{"status", -1, JR_TEXT, gss_status_fields},
	{"products", GO_PRODUCTS, JR_JSONB, NULL},
	{"packages", GO_PACKAGES, JR_JSONB, NULL},
	{NULL, 0, JR_TEXT, NULL}
};

static const char *const gss_page_captures[] = {"Pages"};

static const JrowsSpec gss_page_spec = {
	.shape = JR_KEYED,
	.rows_key = "Results",
	.columns = gss_order_fields,
	.natts = GO_NATTS,
	.extra_attnum = GO_EXTRA,
	.whole_attnum = -1,
	.captures = gss_page_captures,
	.ncaptures = 1,
	.what = "GoSweetSpot customer-order list"
};

static const JrowsSpec gss_pending_spec = {
	.shape = JR_ARRAY,
	.columns = gss_order_fields,
	.natts = GO_NATTS,
	.extra_attnum = GO_EXTRA,
	.whole_attnum = -1,
	.what = "GoSweetSpot pending-order list"
};

/* spotgo_gss.gss_order_status */
static const JrowsColumn gss_order_status_fields[] = {
	{"packingslipno", 0, JR_TEXT, NULL},
	{"consignee", 1, JR_TEXT, NULL},
	{"status", 2, JR_TEXT, NULL},
	{"ticketnumber", 3, JR_TEXT, NULL},
	{"trackingurl", 4, JR_TEXT, NULL},
	{"picked", 5, JR_TIMESTAMP, NULL},
	{"delivered", 6, JR_TIMESTAMP, NULL},
	{"ticketprinteddate", 7, JR_TIMESTAMP, NULL},
	{"ticketprintedby", 8, JR_TEXT, NULL},
	{"ticketdeleteddate", 9, JR_TIMESTAMP, NULL},
	{"ticketdeletedby", 10, JR_TEXT, NULL},
	{NULL, 0, JR_TEXT, NULL}
};

#define GSS_STATUS_NATTS 11

static const JrowsSpec gss_status_spec = {
	.shape = JR_SINGLE,
	.columns = gss_order_status_fields,
	.natts = GSS_STATUS_NATTS,
	.extra_attnum = -1,
	.whole_attnum = -1,
	.what = "GoSweetSpot order status"
};

/* one element of the batch PUT's answer */
static const JrowsColumn gss_upsert_result_fields[] = {
	{"packingslipno", 0, JR_TEXT, NULL},
	{"result", 1, JR_BOOL, NULL},
	{"msg", 2, JR_TEXT, NULL},
	{NULL, 0, JR_TEXT, NULL}
};

static const JrowsSpec gss_upsert_spec = {
	.shape = JR_ARRAY,
	.columns = gss_upsert_result_fields,
	.natts = 3,
	.extra_attnum = -1,
	.whole_attnum = -1,
	.what = "GoSweetSpot order upload"
};

/* the delete answer: {"number": "outcome", ...} */
static const JrowsSpec gss_delete_spec = {
	.shape = JR_MAP,
	.natts = 2,
	.extra_attnum = -1,
	.whole_attnum = -1,
	.what = "GoSweetSpot order deletion"
};

/* ---- small helpers ---- */

static char *
gss_server_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static void
gss_headers(ApiEndpoint *ep, HttpRequest *req)
{
	http_add_header(req, "access_key", ep->secret);
	http_add_header(req, "site_id", ep->site_id);
	if (ep->support_email)
		http_add_header(req, "supportemail", ep->support_email);
	http_add_header(req, "Accept", "application/json");
	if (req->body)
		http_add_header(req, "Content-Type", "application/json; charset=utf-8");
}

static void
gss_check_natts(ReturnSetInfo *rsinfo, int natts)
{
	if (rsinfo->setDesc->natts != natts)
		elog(ERROR, "result type has %d columns, expected %d", rsinfo->setDesc->natts, natts);
}

/* a key and its position in the input, for gss_first_repeat() */
typedef struct GssKeyPos
{
	const char *key;
	int			pos;
} GssKeyPos;

static int
gss_keypos_cmp(const void *a, const void *b, void *arg)
{
	const GssKeyPos *x = (const GssKeyPos *) a;
	const GssKeyPos *y = (const GssKeyPos *) b;
	uint32	   *calls = (uint32 *) arg;
	int			c;

	/* a long sort stays cancellable (pg_qsort holds nothing to release) */
	if ((++*calls & 0xFFFF) == 0)
		CHECK_FOR_INTERRUPTS();
	c = strcmp(x->key, y->key);
	if (c != 0)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * gss_first_repeat
 *		Whether a string appears twice in keys[0..n); if so, *first and
 *		*second get the positions a pairwise scan in input order would report
 *		first: the smallest second position, with the earliest twin.  Sorts
 *		the positions (O(n log n)), interruptible.
 */
static bool
gss_first_repeat(char **keys, int n, int *first, int *second)
{
	GssKeyPos  *kp;
	uint32		calls = 0;
	bool		found = false;

	if (n < 2)
		return false;
	kp = palloc(sizeof(GssKeyPos) * n);
	for (int i = 0; i < n; i++)
	{
		kp[i].key = keys[i];
		kp[i].pos = i;
	}
	qsort_arg(kp, n, sizeof(GssKeyPos), gss_keypos_cmp, &calls);
	for (int i = 1; i < n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (strcmp(kp[i].key, kp[i - 1].key) != 0)
			continue;
		/* within a run of equal keys, positions ascend: its first two count */
		if (i >= 2 && strcmp(kp[i - 1].key, kp[i - 2].key) == 0)
			continue;
		if (!found || kp[i].pos < *second)
		{
			*first = kp[i - 1].pos;
			*second = kp[i].pos;
			found = true;
		}
	}
	pfree(kp);
	return found;
}

/* refuse a number bound for a comma-separated list that holds a comma */
static void
gss_check_list_number(const char *num)
{
	if (strchr(num, ',') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("packing-slip number \"%s\" contains a comma", num),
				 errdetail("GoSweetSpot takes packing-slip numbers as a comma-separated list and has no way to escape a comma inside one."),
				 errhint("Use spotgo_gss.gss_order_status() for this number; it is sent in the URL path.")));
}

/*
 * gss_slip_numbers
 *		The elements of a text[] of packing-slip numbers, checked: no NULL or
 *		empty element, no comma when they go into a comma-separated list, no
 *		repeats when unique is set.  Returns the count; *out palloc'd.
 */
static int
gss_slip_numbers(ArrayType *arr, const char *argname, bool for_list, bool unique, char ***out)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	  **nums;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", argname)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	nums = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s[%d] is null", argname, i + 1)));
		nums[i] = TextDatumGetCString(elems[i]);
		if (nums[i][0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s[%d] is an empty packing-slip number", argname, i + 1)));
		if (for_list)
			gss_check_list_number(nums[i]);
	}
	if (unique)
	{
		int			first;
		int			second;

		if (gss_first_repeat(nums, n, &first, &second))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("packing-slip number \"%s\" appears more than once in %s", nums[second], argname),
					 errdetail("%s[%d] and %s[%d] are the same.", argname, first + 1, argname, second + 1)));
	}
	*out = nums;
	return n;
}

/* append "a,b,c" (each percent-encoded unless verbatim) for nums[from..to) */
static void
gss_append_list(StringInfo buf, char **nums, int from, int to, bool verbatim)
{
	for (int i = from; i < to; i++)
	{
		if (i > from)
			appendStringInfoChar(buf, ',');
		if (verbatim)
			appendStringInfoString(buf, nums[i]);
		else
			http_append_encoded(buf, nums[i]);
	}
}

/* GSS's filter time form, "YYYY-MM-DD HH:MM:SSZ", in UTC, encoded */
static void
gss_append_time(StringInfo buf, const char *param, TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		s[64];

	if (TIMESTAMP_NOT_FINITE(t) || timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be a finite timestamp", param)));
	snprintf(s, sizeof(s), "%04d-%02d-%02d %02d:%02d:%02dZ",
			 tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	appendStringInfo(buf, "&%s=", strcmp(param, "created_from") == 0 ? "createdfrom" : "createdto");
	http_append_encoded(buf, s);
}

/* ---- listing ---- */

typedef struct GssPageContext
{
	const char *what;
	int			page;
} GssPageContext;

static void
gss_page_errcontext(void *arg)
{
	GssPageContext *c = (GssPageContext *) arg;

	errcontext("%s, page %d", c->what, c->page);
}

/*
 * gss_plan_list
 *		The listings of GET /api/customerorders for q: one, or one per 50
 *		packing-slip numbers of the list filter (filter 0).  The SQL
 *		function passes its other filters as query-string text in q->args;
 *		a foreign scan passes none, and asks for products only when it wants
 *		that column.
 */
static ListingPart *
gss_plan_list(const ListingQuery *q, int *nparts)
{
	const FilterValues *slips = &q->filters[0];
	const char *common = q->args ? (const char *) q->args :
		(q->wanted == NULL || q->wanted[GO_PRODUCTS]) ? "&includeProducts=true" : "";
	int			n = slips->used ? (slips->n + GSS_MAX_PER_LIST - 1) / GSS_MAX_PER_LIST : 1;
	ListingPart *parts = palloc0(sizeof(ListingPart) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		StringInfoData filter;

		initStringInfo(&filter);
		if (slips->used)
		{
			int			from = i * GSS_MAX_PER_LIST;

			appendStringInfoString(&filter, "&packingslipno=");
			gss_append_list(&filter, slips->values, from, Min(slips->n, from + GSS_MAX_PER_LIST),
							slips->verbatim);
		}
		appendStringInfoString(&filter, common);
		parts[i].paging = PAGING_NUMBERED;
		parts[i].spec = &gss_page_spec;
		parts[i].what = "GoSweetSpot customer orders";
		parts[i].context = "GoSweetSpot customer orders";
		parts[i].arg = filter.data;
	}
	*nparts = n;
	return parts;
}

/* GET /api/customerorders?page=..&pagesize=..<filter> */
static void
gss_request_list(ApiEndpoint *ep, const ListingPart *part, int page, int page_size,
				 const char *token, HttpRequest *req)
{
	http_request_init(req, "GET", part->what);
	req->endpoint = GSS_LIST_PATH;
	appendStringInfo(&req->path, "%s?page=%d&pagesize=%d%s", GSS_LIST_PATH, page, page_size,
					 (const char *) part->arg);
	gss_headers(ep, req);
}

/* the one listing of GET /v2/pendingorders */
static ListingPart *
gss_plan_pending(const ListingQuery *q, int *nparts)
{
	ListingPart *part = palloc0(sizeof(ListingPart));

	part->paging = PAGING_NONE;
	part->spec = &gss_pending_spec;
	part->what = "GoSweetSpot pending orders";
	*nparts = 1;
	return part;
}

static void
gss_request_pending(ApiEndpoint *ep, const ListingPart *part, int page, int page_size,
					const char *token, HttpRequest *req)
{
	http_request_init(req, "GET", part->what);
	req->endpoint = GSS_PENDING_PATH;
	appendStringInfoString(&req->path, GSS_PENDING_PATH);
	gss_headers(ep, req);
}

/* a number GSS can take in its comma-separated list filter */
static bool
gss_slip_ok(int f, const char *value)
{
	return value[0] != '\0' && strchr(value, ',') == NULL;
}

/* every row of a listing into the SQL function's tuplestore */
static void
gss_list_into(ApiEndpoint *ep, const ApiResource *res, ReturnSetInfo *rsinfo, ListingQuery *q)
{
	Listing    *l = listing_open(res, ep, q, false);
	Datum	   *values;
	bool	   *nulls;

	while (listing_next(l, &values, &nulls))
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	listing_close(l, NULL);
}

/*
 * gss_customer_orders(packingslipnos text[], created_from timestamptz,
 *		created_to timestamptz, exclude_completed boolean,
 *		include_products boolean, server text) returns setof gss_order
 *
 *		Every page of GET /api/customerorders.  A list of numbers is sent 50
 *		at a time.
 */
Datum
gss_customer_orders(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	StringInfoData common;
	ApiEndpoint *ep;
	ListingQuery q;

	memset(&q, 0, sizeof(q));
	q.limit = -1;
	if (!PG_ARGISNULL(0))
	{
		q.filters[0].used = true;
		q.filters[0].n = gss_slip_numbers(PG_GETARG_ARRAYTYPE_P(0), "packingslipnos", true, false,
										  &q.filters[0].values);
	}

	initStringInfo(&common);
	if (!PG_ARGISNULL(1))
		gss_append_time(&common, "created_from", PG_GETARG_TIMESTAMPTZ(1));
	if (!PG_ARGISNULL(2))
		gss_append_time(&common, "created_to", PG_GETARG_TIMESTAMPTZ(2));
	if (!PG_ARGISNULL(3) && PG_GETARG_BOOL(3))
		appendStringInfoString(&common, "&excludecompleted=true");
	if (!PG_ARGISNULL(4) && PG_GETARG_BOOL(4))
		appendStringInfoString(&common, "&includeProducts=true");
	q.args = common.data;

	ep = endpoint_lookup(gss_server_arg(fcinfo, 5), API_GSS, GetUserId());
	compat_init_srf(fcinfo);
	gss_check_natts(rsinfo, GO_NATTS);

	/* an empty list asks for nothing */
	if (!q.filters[0].used || q.filters[0].n > 0)
		gss_list_into(ep, &gss_resources[0], rsinfo, &q);
	return (Datum) 0;
}

/*
 * gss_pending_orders(server text) returns setof gss_order
 *		GET /v2/pendingorders: one unpaged array.
 */
Datum
gss_pending_orders(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ApiEndpoint *ep = endpoint_lookup(gss_server_arg(fcinfo, 0), API_GSS, GetUserId());
	ListingQuery q;

	compat_init_srf(fcinfo);
	gss_check_natts(rsinfo, GO_NATTS);
	memset(&q, 0, sizeof(q));
	q.limit = -1;
	gss_list_into(ep, &gss_resources[1], rsinfo, &q);
	return (Datum) 0;
}

/* collects the one row of a single-object answer */
typedef struct GssOneRow
{
	int			natts;
	Datum	   *values;
	bool	   *nulls;
	bool		found;
	MemoryContext cxt;
	TupleDesc	desc;
	HeapTuple	tuple;
} GssOneRow;

static void
gss_emit_one(void *arg, Datum *values, bool *nulls)
{
	GssOneRow  *r = (GssOneRow *) arg;
	MemoryContext old = MemoryContextSwitchTo(r->cxt);

	/* form the tuple now: the values die with the parser's row context */
	r->tuple = heap_form_tuple(r->desc, values, nulls);
	r->found = true;
	MemoryContextSwitchTo(old);
}

/*
 * gss_order_status(packingslipno text, server text) returns gss_order_status
 *		GET /v2/order/{packingslipno}; NULL when GSS does not know the order
 *		(404, an empty body, or null).
 */
Datum
gss_order_status(PG_FUNCTION_ARGS)
{
	char	   *num;
	ApiEndpoint *ep;
	HttpRequest req;
	HttpResponse resp;
	TupleDesc	desc;
	GssOneRow	row;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	num = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (num[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("packingslipno must not be empty")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (desc->natts != GSS_STATUS_NATTS)
		elog(ERROR, "result type has %d columns, expected %d", desc->natts, GSS_STATUS_NATTS);
	BlessTupleDesc(desc);

	ep = endpoint_lookup(gss_server_arg(fcinfo, 1), API_GSS, GetUserId());
	http_request_init(&req, "GET", "GoSweetSpot order status");
	req.endpoint = GSS_STATUS_PATH "{packingslipno}";
	appendStringInfoString(&req.path, GSS_STATUS_PATH);
	http_append_encoded(&req.path, num);
	gss_headers(ep, &req);
	http_execute(ep, &req, &resp);
	if (resp.status == 404)
		PG_RETURN_NULL();
	http_raise_for_status(ep, &req, &resp);
	if (strspn(resp.body, " \t\r\n") == resp.body_len)
		PG_RETURN_NULL();		/* empty or blank body */

	memset(&row, 0, sizeof(row));
	row.cxt = CurrentMemoryContext;
	row.desc = desc;
	jrows_parse(&gss_status_spec, resp.body, resp.body_len, gss_emit_one, &row, NULL);
	if (!row.found)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(HeapTupleGetDatum(row.tuple));
}

/* ---- upload ---- */

static void
gss_bad_order(const char *path, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid GoSweetSpot order at %s", path),
			 errdetail("%s", detail)));
}

/*
 * gss_check_order
 *		Check one order object (a jsonb container) before sending; return
 *		its packingslipno.  Field names are matched case-insensitively, as
 *		GSS does.
 */
static char *
gss_check_order(JsonbContainer *order, const char *path)
{
	JsonbIterator *it = JsonbIteratorInit(order);
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;
	char	   *slip = NULL;
	int			level = 0;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_OBJECT)
		{
			level++;
			continue;
		}
		if (tok == WJB_END_OBJECT)
		{
			level--;
			continue;
		}
		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (tok != WJB_VALUE || level != 1)
			continue;

		if (pg_strcasecmp(key, "packingslipno") == 0)
		{
			if (v.type != jbvString || v.val.string.len == 0)
				gss_bad_order(psprintf("%s.%s", path, key), "packingslipno must be a non-empty string.");
			slip = pnstrdup(v.val.string.val, v.val.string.len);
		}
		else if (v.type == jbvNull)
			continue;
		else if (pg_strcasecmp(key, "products") == 0 || pg_strcasecmp(key, "packages") == 0 ||
				 pg_strcasecmp(key, "dangerousgoods") == 0)
		{
			if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
				gss_bad_order(psprintf("%s.%s", path, key), psprintf("%s must be an array.", key));
		}
		else if (pg_strcasecmp(key, "shippingDescription") == 0)
		{
			if (v.type != jbvString)
				gss_bad_order(psprintf("%s.%s", path, key), "shippingDescription must be a string.");
			if (pg_mbstrlen_with_len(v.val.string.val, v.val.string.len) > 250)
				gss_bad_order(psprintf("%s.%s", path, key), "shippingDescription must be at most 250 characters.");
		}
		else if (pg_strcasecmp(key, "isSignatureRequired") == 0)
		{
			if (v.type != jbvBool)
				gss_bad_order(psprintf("%s.%s", path, key), "isSignatureRequired must be a boolean.");
		}
		else if (pg_strcasecmp(key, "country") == 0)
		{
			if (v.type != jbvString || (v.val.string.len != 0 && v.val.string.len != 2))
				gss_bad_order(psprintf("%s.%s", path, key), "country must be a two-letter ISO 3166 code.");
		}
		else if (pg_strcasecmp(key, "isrural") == 0 || pg_strcasecmp(key, "notrural") == 0)
		{
			if (v.type != jbvBool && v.type != jbvString)
				gss_bad_order(psprintf("%s.%s", path, key), psprintf("%s must be a boolean.", key));
		}
		else if (v.type == jbvBinary && pg_strcasecmp(key, "status") != 0)
		{
			/* all other documented fields are scalars */
			static const char *const scalars[] = {
				"consignee", "address1", "address2", "suburb", "city", "postcode", "delvref",
				"delvinstructions", "contactname", "contactphone", "email", "rawaddress",
				"costcentre", "customField1Value", "customField2Value", "iconUrl"
			};

			for (size_t i = 0; i < lengthof(scalars); i++)
				if (pg_strcasecmp(key, scalars[i]) == 0)
					gss_bad_order(psprintf("%s.%s", path, key), psprintf("%s must be a string.", key));
		}
	}
	if (slip == NULL)
		gss_bad_order(path, "Every order needs a packingslipno.");
	return slip;
}

/* one order of an upload: its number and its JSON text */
typedef struct GssOrderText
{
	char	   *slip;
	char	   *json;
	int			len;
} GssOrderText;

/* one answer row of an upload */
typedef struct GssResult
{
	char	   *slip;
	bool		has_result;
	bool		result;
	char	   *msg;
} GssResult;

typedef struct GssResults
{
	GssResult  *items;
	int			n;
	int			cap;
	MemoryContext cxt;
} GssResults;

static void
gss_collect_result(void *arg, Datum *values, bool *nulls)
{
	GssResults *r = (GssResults *) arg;
	MemoryContext old = MemoryContextSwitchTo(r->cxt);
	GssResult  *it;

	if (r->n == r->cap)
	{
		r->cap = r->cap ? r->cap * 2 : 64;
		r->items = r->items ? repalloc(r->items, sizeof(GssResult) * r->cap)
			: palloc(sizeof(GssResult) * r->cap);
	}
	it = &r->items[r->n++];
	it->slip = nulls[0] ? NULL : TextDatumGetCString(values[0]);
	it->has_result = !nulls[1];
	it->result = nulls[1] ? false : DatumGetBool(values[1]);
	it->msg = nulls[2] ? NULL : TextDatumGetCString(values[2]);
	MemoryContextSwitchTo(old);
}

/*
 * gss_orders_from_jsonb
 *		Check the orders argument (an array of order objects, or one object
 *		when single) and return each order's number and text.
 */
static int
gss_orders_from_jsonb(Jsonb *jb, bool single, GssOrderText **out)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	GssOrderText *orders;
	int			n = 0;
	int			cap = 16;

	if (single)
	{
		if (!JB_ROOT_IS_OBJECT(jb))
			gss_bad_order("order", "The order must be a JSON object.");
		orders = palloc(sizeof(GssOrderText));
		orders[0].slip = gss_check_order(&jb->root, "order");
		orders[0].json = jrows_jsonb_text(jb, &orders[0].len);
		*out = orders;
		return 1;
	}
	if (!JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb))
		gss_bad_order("orders", "orders must be a JSON array of order objects.");

	orders = palloc(sizeof(GssOrderText) * cap);
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *path;

		if (tok != WJB_ELEM)
			continue;
		CHECK_FOR_INTERRUPTS();
		path = psprintf("orders[%d]", n);
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			gss_bad_order(path, "Each element must be an order object.");
		if (n == cap)
		{
			cap *= 2;
			orders = repalloc(orders, sizeof(GssOrderText) * cap);
		}
		orders[n].slip = gss_check_order(v.val.binary.data, path);
		{
			StringInfoData buf;

			initStringInfo(&buf);
			(void) JsonbToCString(&buf, v.val.binary.data, v.val.binary.len);
			orders[n].json = buf.data;
			orders[n].len = buf.len;
		}
		n++;
	}
	if (n > 1)
	{
		char	  **slips = palloc(sizeof(char *) * n);
		int			first;
		int			second;

		for (int i = 0; i < n; i++)
			slips[i] = orders[i].slip;
		if (gss_first_repeat(slips, n, &first, &second))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("packing-slip number \"%s\" appears more than once in orders", slips[second]),
					 errdetail("orders[%d] and orders[%d] have the same packingslipno.", first, second)));
		pfree(slips);
	}
	*out = orders;
	return n;
}

/* the answer for orders[i] of a batch: same position if it names the same number, else by number */
static GssResult *
gss_match_result(GssResults *r, int pos, const char *slip)
{
	if (pos < r->n && (r->items[pos].slip == NULL || strcmp(r->items[pos].slip, slip) == 0))
		return &r->items[pos];
	for (int i = 0; i < r->n; i++)
		if (r->items[i].slip && pg_strcasecmp(r->items[i].slip, slip) == 0)
			return &r->items[i];
	return NULL;
}

/*
 * gss_put_batch
 *		PUT /api/customerorders with body (a JSON array of orders) and parse
 *		the per-order answer into results (allocated in the current context).
 *		A repeated PUT updates the same pending orders, so it is retried.  On
 *		a non-2xx answer: raise when raise is set, else return false with
 *		resp filled.
 */
static bool
gss_put_batch(ApiEndpoint *ep, StringInfo body, bool raise, HttpResponse *resp, GssResults *results)
{
	HttpRequest req;

	http_request_init(&req, "PUT", "GoSweetSpot order upload");
	req.endpoint = GSS_LIST_PATH;
	req.idempotent = true;
	req.no_raise = !raise;
	appendStringInfoString(&req.path, GSS_LIST_PATH);
	req.body = body->data;
	req.body_len = body->len;
	gss_headers(ep, &req);
	http_execute(ep, &req, resp);
	if (raise)
		http_raise_for_status(ep, &req, resp);
	else if (!http_ok(resp))
		return false;

	memset(results, 0, sizeof(GssResults));
	results->cxt = CurrentMemoryContext;
	jrows_parse(&gss_upsert_spec, resp->body, resp->body_len, gss_collect_result, results, NULL);
	return true;
}

/*
 * gss_upload
 *		PUT the orders in batches of batch_size; call back with each order's
 *		outcome in input order.  accepted is NULL-able: has_result false
 *		when the answer does not mention the order.
 */
typedef void (*GssOutcome) (void *arg, const char *slip, GssResult *res);

static void
gss_upload(ApiEndpoint *ep, GssOrderText *orders, int n, GssOutcome cb, void *arg)
{
	MemoryContext batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "spotgo_gss batch",
													ALLOCSET_DEFAULT_SIZES);
	GssPageContext pc;
	ErrorContextCallback errcb;

	pc.what = "GoSweetSpot order upload, batch";
	errcb.callback = gss_page_errcontext;
	errcb.arg = &pc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	for (int from = 0; from < n; from += ep->batch_size)
	{
		int			to = Min(n, from + ep->batch_size);
		MemoryContext old = MemoryContextSwitchTo(batch_cxt);
		StringInfoData body;
		HttpResponse resp;
		GssResults results;

		pc.page = from / ep->batch_size + 1;
		initStringInfo(&body);
		appendStringInfoChar(&body, '[');
		for (int i = from; i < to; i++)
		{
			if (i > from)
				appendStringInfoChar(&body, ',');
			appendBinaryStringInfo(&body, orders[i].json, orders[i].len);
		}
		appendStringInfoChar(&body, ']');
		(void) gss_put_batch(ep, &body, true, &resp, &results);
		MemoryContextSwitchTo(old);

		for (int i = from; i < to; i++)
			cb(arg, orders[i].slip, gss_match_result(&results, i - from, orders[i].slip));
		MemoryContextReset(batch_cxt);
	}
	error_context_stack = errcb.previous;
	MemoryContextDelete(batch_cxt);
}

static void
gss_upsert_row(void *arg, const char *slip, GssResult *res)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) arg;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = CStringGetTextDatum(slip);
	if (res == NULL || !res->has_result)
	{
		nulls[1] = true;
		values[2] = CStringGetTextDatum("the API's answer did not mention this order");
	}
	else
	{
		values[1] = BoolGetDatum(res->result);
		if (res->msg == NULL || res->msg[0] == '\0')
			nulls[2] = true;
		else
			values[2] = CStringGetTextDatum(res->msg);
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * gss_upsert_orders(orders jsonb, server text)
 *		returns table(packingslipno text, accepted boolean, message text)
 *
 *		PUT /api/customerorders in batches; one row per order, input order.
 */
Datum
gss_upsert_orders(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GssOrderText *orders;
	int			n;
	ApiEndpoint *ep;

	compat_init_srf(fcinfo);
	gss_check_natts(rsinfo, 3);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	n = gss_orders_from_jsonb(PG_GETARG_JSONB_P(0), false, &orders);
	ep = endpoint_lookup(gss_server_arg(fcinfo, 1), API_GSS, GetUserId());
	if (n > 0)
		gss_upload(ep, orders, n, gss_upsert_row, rsinfo);
	return (Datum) 0;
}

static void
gss_upsert_one(void *arg, const char *slip pg_attribute_unused(), GssResult *res)
{
	int		   *outcome = (int *) arg;

	*outcome = (res == NULL || !res->has_result) ? -1 : res->result ? 1 : 0;
}

/*
 * gss_upsert_order("order" jsonb, server text) returns boolean
 *		One order; true when GSS saved it, false when it ignored it (already
 *		processed).
 */
Datum
gss_upsert_order(PG_FUNCTION_ARGS)
{
	GssOrderText *orders;
	ApiEndpoint *ep;
	int			outcome = -1;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	(void) gss_orders_from_jsonb(PG_GETARG_JSONB_P(0), true, &orders);
	ep = endpoint_lookup(gss_server_arg(fcinfo, 1), API_GSS, GetUserId());
	gss_upload(ep, orders, 1, gss_upsert_one, &outcome);
	if (outcome < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_JSON_TEXT),
				 errmsg("the GoSweetSpot answer did not mention order \"%s\"", orders[0].slip)));
	PG_RETURN_BOOL(outcome == 1);
}

/* ---- delete ---- */

typedef struct GssOutcomes
{
	char	  **keys;
	char	  **values;
	int			n;
	int			cap;
	MemoryContext cxt;
} GssOutcomes;

static void
gss_collect_outcome(void *arg, Datum *values, bool *nulls)
{
	GssOutcomes *o = (GssOutcomes *) arg;
	MemoryContext old = MemoryContextSwitchTo(o->cxt);

	if (o->n == o->cap)
	{
		o->cap = o->cap ? o->cap * 2 : 64;
		o->keys = o->keys ? repalloc(o->keys, sizeof(char *) * o->cap) : palloc(sizeof(char *) * o->cap);
		o->values = o->values ? repalloc(o->values, sizeof(char *) * o->cap) : palloc(sizeof(char *) * o->cap);
	}
	o->keys[o->n] = TextDatumGetCString(values[0]);
	o->values[o->n] = nulls[1] ? NULL : TextDatumGetCString(values[1]);
	o->n++;
	MemoryContextSwitchTo(old);
}

/*
 * gss_delete_batch
 *		DELETE /api/customerorders?packingslipno=nums[0],.. (at most 50) and
 *		parse the answer into out (allocated in the current context).  On a
 *		non-2xx answer: raise when raise is set, else return false with resp
 *		filled.
 */
static bool
gss_delete_batch(ApiEndpoint *ep, char **nums, int n, bool raise, HttpResponse *resp, GssOutcomes *out)
{
	HttpRequest req;

	http_request_init(&req, "DELETE", "GoSweetSpot order deletion");
	req.endpoint = GSS_LIST_PATH;
	req.no_raise = !raise;
	appendStringInfo(&req.path, "%s?packingslipno=", GSS_LIST_PATH);
	gss_append_list(&req.path, nums, 0, n, false);
	gss_headers(ep, &req);
	http_execute(ep, &req, resp);
	if (raise)
		http_raise_for_status(ep, &req, resp);
	else if (!http_ok(resp))
		return false;

	memset(out, 0, sizeof(GssOutcomes));
	out->cxt = CurrentMemoryContext;
	jrows_parse(&gss_delete_spec, resp->body, resp->body_len, gss_collect_outcome, out, NULL);
	return true;
}

/*
 * gss_outcome_for
 *		GSS's words for num in a delete answer (matched exactly, else
 *		case-insensitively); NULL when the answer does not mention it, ""
 *		when it gives null.
 */
static const char *
gss_outcome_for(GssOutcomes *out, const char *num)
{
	for (int k = 0; k < out->n; k++)
		if (strcmp(out->keys[k], num) == 0)
			return out->values[k] ? out->values[k] : "";
	for (int k = 0; k < out->n; k++)
		if (pg_strcasecmp(out->keys[k], num) == 0)
			return out->values[k] ? out->values[k] : "";
	return NULL;
}

/*
 * gss_delete_orders(packingslipnos text[], server text)
 *		returns table(packingslipno text, deleted boolean, outcome text)
 *
 *		DELETE /api/customerorders?packingslipno=a,b,.. 50 at a time; one
 *		row per number, input order, outcome in GSS's words.
 */
Datum
gss_delete_orders(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	  **nums;
	int			n;
	ApiEndpoint *ep;
	MemoryContext call_cxt = AllocSetContextCreate(CurrentMemoryContext, "spotgo_gss delete",
												   ALLOCSET_DEFAULT_SIZES);

	compat_init_srf(fcinfo);
	gss_check_natts(rsinfo, 3);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	n = gss_slip_numbers(PG_GETARG_ARRAYTYPE_P(0), "packingslipnos", true, true, &nums);
	ep = endpoint_lookup(gss_server_arg(fcinfo, 1), API_GSS, GetUserId());

	for (int from = 0; from < n; from += GSS_MAX_PER_LIST)
	{
		int			to = Min(n, from + GSS_MAX_PER_LIST);
		MemoryContext old = MemoryContextSwitchTo(call_cxt);
		HttpResponse resp;
		GssOutcomes out;

		(void) gss_delete_batch(ep, nums + from, to - from, true, &resp, &out);
		MemoryContextSwitchTo(old);

		for (int i = from; i < to; i++)
		{
			Datum		values[3];
			bool		nulls[3] = {false, false, false};
			const char *outcome = gss_outcome_for(&out, nums[i]);

			if (outcome && outcome[0] == '\0')
				outcome = NULL;
			values[0] = CStringGetTextDatum(nums[i]);
			values[1] = BoolGetDatum(outcome != NULL && strcmp(outcome, "Deleted.") == 0);
			if (outcome)
				values[2] = CStringGetTextDatum(outcome);
			else
				nulls[2] = true;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		MemoryContextReset(call_cxt);
	}
	MemoryContextDelete(call_cxt);
	return (Datum) 0;
}

/* ---- foreign table writes ---- */

/* is name one of the order's fields (any case), flattened ones included? */
static bool
gss_is_field(const char *name, int len)
{
	const JrowsColumn *lists[] = {gss_order_fields, gss_status_fields};

	for (int l = 0; l < (int) lengthof(lists); l++)
		for (const JrowsColumn *c = lists[l]; c->field; c++)
			if ((int) strlen(c->field) == len && pg_strncasecmp(c->field, name, len) == 0)
				return true;
	return false;
}

/* push a jsonb column's value (container or scalar) as an object member's value */
static void
gss_push_jsonb_value(JsonbParseState **ps, Jsonb *jb)
{
	JsonbValue	v;

	if (JB_ROOT_IS_SCALAR(jb))
		(void) JsonbExtractScalar(&jb->root, &v);
	else
	{
		v.type = jbvBinary;
		v.val.binary.data = &jb->root;
		v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
	}
	(void) pushJsonbValue(ps, WJB_VALUE, &v);
}

/*
 * gss_row_order
 *		The order a row of a customer_orders foreign table stands for: its
 *		top-level columns under GSS's field names (the status columns are
 *		GSS's to set, and left out), plus the fields of extra that have no
 *		column, as the listing kept them.  Checked as gss_upsert_order()
 *		checks an order; *slip gets its packingslipno.
 */
static GssOrderText
gss_row_order(WriteRow *row)
{
	JsonbParseState *ps = NULL;
	JsonbValue	k;
	JsonbValue	v;
	Jsonb	   *jb;
	GssOrderText o;

	(void) pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	for (const JrowsColumn *c = gss_order_fields; c->field; c++)
	{
		if (c->nested != NULL || !row->given[c->attnum] || row->nulls[c->attnum])
			continue;
		k.type = jbvString;
		k.val.string.val = unconstify(char *, c->field);
		k.val.string.len = strlen(c->field);
		(void) pushJsonbValue(&ps, WJB_KEY, &k);
		switch (c->type)
		{
			case JR_BOOL:
				v.type = jbvBool;
				v.val.boolean = DatumGetBool(row->values[c->attnum]);
				(void) pushJsonbValue(&ps, WJB_VALUE, &v);
				break;
			case JR_JSONB:
				gss_push_jsonb_value(&ps, DatumGetJsonbP(row->values[c->attnum]));
				break;
			default:
				v.type = jbvString;
				v.val.string.val = TextDatumGetCString(row->values[c->attnum]);
				v.val.string.len = strlen(v.val.string.val);
				(void) pushJsonbValue(&ps, WJB_VALUE, &v);
				break;
		}
	}
	if (row->given[GO_EXTRA] && !row->nulls[GO_EXTRA])
	{
		Jsonb	   *extra = DatumGetJsonbP(row->values[GO_EXTRA]);
		JsonbIterator *it;
		JsonbIteratorToken tok;
		bool		skip = false;

		if (!JB_ROOT_IS_OBJECT(extra))
			gss_bad_order("order.extra", "extra must be a JSON object of the fields that have no column.");
		it = JsonbIteratorInit(&extra->root);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
			{
				/* a column's field, or a field of the status object: not from extra */
				skip = memchr(v.val.string.val, '.', v.val.string.len) != NULL ||
					gss_is_field(v.val.string.val, v.val.string.len);
				if (!skip)
					(void) pushJsonbValue(&ps, WJB_KEY, &v);
			}
			else if (tok == WJB_VALUE && !skip)
				(void) pushJsonbValue(&ps, WJB_VALUE, &v);
		}
	}
	jb = JsonbValueToJsonb(pushJsonbValue(&ps, WJB_END_OBJECT, NULL));
	o.slip = gss_check_order(&jb->root, "order");
	o.json = jrows_jsonb_text(jb, &o.len);
	return o;
}

/* outcomes of an upload, in input order, see gss_write_insert() */
typedef struct GssWriteOutcomes
{
	WriteOutcome *out;
	int			next;
} GssWriteOutcomes;

static void
gss_write_outcome(void *arg, const char *slip pg_attribute_unused(), GssResult *res)
{
	GssWriteOutcomes *w = (GssWriteOutcomes *) arg;
	WriteOutcome *o = &w->out[w->next++];

	memset(o, 0, sizeof(WriteOutcome));
	if (res == NULL || !res->has_result)
		o->message = pstrdup("the GoSweetSpot answer did not mention this order");
	else
	{
		o->done = res->result;
		if (res->msg && res->msg[0])
			o->message = pstrdup(res->msg);
		else if (!res->result)
			o->message = pstrdup("already processed");
	}
}

/*
 * gss_write_insert
 *		INSERT into customer_orders: the rows as orders, PUT in batches of
 *		batch_size; an order GSS ignores (already processed) is not done.
 */
static void
gss_write_insert(ApiEndpoint *ep, WriteRow *rows, int n, WriteOutcome *out)
{
	GssOrderText *orders = palloc(sizeof(GssOrderText) * n);
	GssWriteOutcomes w = {out, 0};

	for (int i = 0; i < n; i++)
		orders[i] = gss_row_order(&rows[i]);
	gss_upload(ep, orders, n, gss_write_outcome, &w);
}

/* UPDATE: the new row, PUT as a whole (GSS replaces a pending order) */
static void
gss_write_update(ApiEndpoint *ep, WriteRow *row, WriteOutcome *out)
{
	gss_write_insert(ep, row, 1, out);
}

/*
 * gss_write_remove
 *		DELETE the orders with these numbers, 50 a request; only "Deleted."
 *		is done.  Every number is checked before the first request.
 */
static void
gss_write_remove(ApiEndpoint *ep, char **keys, int n, WriteOutcome *out)
{
	for (int i = 0; i < n; i++)
		gss_check_list_number(keys[i]);
	for (int from = 0; from < n; from += GSS_MAX_PER_LIST)
	{
		int			to = Min(n, from + GSS_MAX_PER_LIST);
		HttpResponse resp;
		GssOutcomes outcomes;

		(void) gss_delete_batch(ep, keys + from, to - from, true, &resp, &outcomes);
		for (int i = from; i < to; i++)
		{
			const char *said = gss_outcome_for(&outcomes, keys[i]);

			memset(&out[i], 0, sizeof(WriteOutcome));
			out[i].done = said != NULL && strcmp(said, "Deleted.") == 0;
			out[i].message = pstrdup(said && said[0] ? said : "the GoSweetSpot answer did not mention this order");
		}
	}
}

/* ---- the resources ---- */

/*
 * The list filter matches numbers exactly (assumed: gss.md does not say;
 * the sandbox does).  Were GSS to match them in any case, set exact false:
 * foreign scans would then check them again.
 */
static const ResourceFilter gss_list_filters[] = {
	{"packingslipno", TEXTOID, true, true, false},
};

static const char *const gss_read_only[] = {
	"status", "ticketnumber", "trackingurl", "picked", "delivered", "manualticket", NULL
};

static const ResourceWrites gss_order_writes = {
	.batched = true,
	.read_only = gss_read_only,
	.insert = gss_write_insert,
	.update = gss_write_update,
	.remove = gss_write_remove,
};

const ApiResource gss_resources[] = {
	{
		.name = "gss.customer_orders",
		.remote_schema = "gss",
		.table = "customer_orders",
		.comment = "GoSweetSpot customer orders (GET /api/customerorders, paged); packingslipno = / IN is sent as the list filter; INSERT and UPDATE publish orders (PUT), DELETE deletes pending ones",
		.api = API_GSS,
		.type_name = "gss_order",
		.natts = GO_NATTS,
		.filters = gss_list_filters,
		.nfilters = lengthof(gss_list_filters),
		.key_column = "packingslipno",
		.paging = PAGING_NUMBERED,
		.count_table = "gss_orders_local",
		.count_sql = "SELECT pg_catalog.count(*) FROM spotgo_gss.gss_orders_local"
		" WHERE server OPERATOR(pg_catalog.=) $1 AND deleted_at IS NULL",
		.default_rows = 1000,
		.plan = gss_plan_list,
		.request = gss_request_list,
		.value_ok = gss_slip_ok,
		.writes = &gss_order_writes,
	},
	{
		.name = "gss.pending_orders",
		.remote_schema = "gss",
		.table = "pending_orders",
		.comment = "GoSweetSpot orders published but not yet processed (GET /v2/pendingorders, one answer); read only",
		.api = API_GSS,
		.type_name = "gss_order",
		.natts = GO_NATTS,
		.paging = PAGING_NONE,
		.count_table = "gss_orders_local",
		.count_sql = "SELECT pg_catalog.count(*) FROM spotgo_gss.gss_orders_local"
		" WHERE server OPERATOR(pg_catalog.=) $1 AND deleted_at IS NULL AND open",
		.default_rows = 100,
		.plan = gss_plan_pending,
		.request = gss_request_pending,
	},
};

const int	gss_nresources = lengthof(gss_resources);

/* ---- push: delivery of outbox items ---- */

/*
 * gss_order_key
 *		Check an order for the outbox as gss_upsert_order() would; return
 *		its packingslipno.
 */
char *
gss_order_key(Jsonb *order)
{
	if (!JB_ROOT_IS_OBJECT(order))
		gss_bad_order("payload", "A GoSweetSpot order must be a JSON object.");
	return gss_check_order(&order->root, "payload");
}

/* a small jsonb object {key: text value} for the response column */
static Jsonb *
gss_push_response(const char *key, const char *value, const char *key2, bool b)
{
	JsonbParseState *ps = NULL;
	JsonbValue	k;
	JsonbValue	v;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	k.type = jbvString;
	k.val.string.val = unconstify(char *, key);
	k.val.string.len = strlen(key);
	pushJsonbValue(&ps, WJB_KEY, &k);
	if (value)
	{
		v.type = jbvString;
		v.val.string.val = unconstify(char *, value);
		v.val.string.len = strlen(value);
	}
	else
		v.type = jbvNull;
	pushJsonbValue(&ps, WJB_VALUE, &v);
	if (key2)
	{
		k.val.string.val = unconstify(char *, key2);
		k.val.string.len = strlen(key2);
		pushJsonbValue(&ps, WJB_KEY, &k);
		v.type = jbvBool;
		v.val.boolean = b;
		pushJsonbValue(&ps, WJB_VALUE, &v);
	}
	return JsonbValueToJsonb(pushJsonbValue(&ps, WJB_END_OBJECT, NULL));
}

/* upserts: one PUT per batch_size items */
static void
gss_push_upserts(ApiEndpoint *ep, PushItem **items, int n)
{
	for (int from = 0; from < n; from += ep->batch_size)
	{
		int			to = Min(n, from + ep->batch_size);
		StringInfoData body;
		HttpResponse resp;
		GssResults results;

		initStringInfo(&body);
		appendStringInfoChar(&body, '[');
		for (int i = from; i < to; i++)
		{
			if (i > from)
				appendStringInfoChar(&body, ',');
			(void) JsonbToCString(&body, &items[i]->payload->root, VARSIZE(items[i]->payload));
		}
		appendStringInfoChar(&body, ']');
		if (!gss_put_batch(ep, &body, false, &resp, &results))
		{
			for (int i = from; i < to; i++)
				push_failed(items[i], &resp);
			continue;
		}
		for (int i = from; i < to; i++)
		{
			GssResult  *r = gss_match_result(&results, i - from, items[i]->key);

			if (r == NULL || !r->has_result)
				push_failed_text(items[i], resp.status, false,
								 "the GoSweetSpot answer did not mention this order");
			else if (r->result)
				push_done(items[i], resp.status, gss_push_response("msg", r->msg, "result", true));
			else
			{
				/* GSS ignores changes to processed orders: this change cannot land */
				push_failed_text(items[i], resp.status, true,
								 psprintf("GoSweetSpot ignored the order: %s",
										  r->msg && r->msg[0] ?
										  http_clean_text(r->msg, strlen(r->msg), 500) :
										  "already processed"));
				items[i]->response = gss_push_response("msg", r->msg, "result", false);
			}
		}
	}
}

/* deletes: one DELETE per 50 numbers; deleted, already deleted and unknown all mean done */
static void
gss_push_deletes(ApiEndpoint *ep, PushItem **items, int n)
{
	for (int from = 0; from < n; from += GSS_MAX_PER_LIST)
	{
		int			to = Min(n, from + GSS_MAX_PER_LIST);
		char	   *nums[GSS_MAX_PER_LIST];
		HttpResponse resp;
		GssOutcomes out;

		for (int i = from; i < to; i++)
			nums[i - from] = items[i]->key;
		if (!gss_delete_batch(ep, nums, to - from, false, &resp, &out))
		{
			for (int i = from; i < to; i++)
				push_failed(items[i], &resp);
			continue;
		}
		for (int i = from; i < to; i++)
		{
			const char *outcome = gss_outcome_for(&out, items[i]->key);

			if (outcome == NULL)
				push_failed_text(items[i], resp.status, false,
								 "the GoSweetSpot answer did not mention this order");
			else if (strstr(outcome, "Already processed") != NULL)
			{
				push_failed_text(items[i], resp.status, true,
								 http_clean_text(outcome, strlen(outcome), 500));
				items[i]->response = gss_push_response("outcome", outcome, NULL, false);
			}
			else if (strcmp(outcome, "Deleted.") == 0 || strstr(outcome, "Already deleted") != NULL ||
					 strstr(outcome, "Invalid packing slip number") != NULL)
				push_done(items[i], resp.status, gss_push_response("outcome", outcome, NULL, false));
			else
				push_failed_text(items[i], resp.status, false,
								 http_clean_text(outcome, strlen(outcome), 500));
		}
	}
}

/*
 * gss_push
 *		Deliver outbox items of one server, role and operation: upserts as
 *		batched PUTs, deletes 50 numbers a call.  Outcomes go into the items;
 *		HTTP failures do not raise.
 */
void
gss_push(ApiEndpoint *ep, PushItem **items, int n)
{
	if (n == 0)
		return;
	if (items[0]->op == PUSH_GSS_UPSERT)
		gss_push_upserts(ep, items, n);
	else
		gss_push_deletes(ep, items, n);
}
