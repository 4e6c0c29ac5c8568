/*-------------------------------------------------------------------------
 *
 * gss.c
 *		GoSweetSpot customer-order endpoints as SQL functions.
 *
 * Everything this product knows about GSS's paths, parameters and field
 * names is in this file.  Listing reads page after page: once page 1 has
 * told how many pages there are, the request for page k+1 is started before
 * page k is parsed, so the transfer overlaps the parsing; two page memory
 * contexts alternate, so at most the page being parsed and the one arriving
 * are held.  Rows go into the function's tuplestore as they are parsed.
 * An empty page ends a listing; one longer than max_pages is refused.
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
gss_emit_tuplestore(void *arg, Datum *values, bool *nulls)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) arg;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
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
		if (for_list && strchr(nums[i], ',') != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("packing-slip number \"%s\" contains a comma", nums[i]),
					 errdetail("GoSweetSpot takes packing-slip numbers as a comma-separated list and has no way to escape a comma inside one."),
					 errhint("Use spotgo_gss.gss_order_status() for this number; it is sent in the URL path.")));
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

/* append "a,b,c" (each percent-encoded) for nums[from..to) */
static void
gss_append_list(StringInfo buf, char **nums, int from, int to)
{
	for (int i = from; i < to; i++)
	{
		if (i > from)
			appendStringInfoChar(buf, ',');
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
 * gss_page_begin
 *		Start the request for one page of the listing, in cxt (where its
 *		answer will live); *req_out gets the request.
 */
static HttpTransfer *
gss_page_begin(ApiEndpoint *ep, const char *filter, int page, MemoryContext cxt, HttpRequest **req_out)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	HttpRequest *req = palloc(sizeof(HttpRequest));
	HttpTransfer *x;

	http_request_init(req, "GET", "GoSweetSpot customer orders");
	req->endpoint = GSS_LIST_PATH;
	appendStringInfo(&req->path, "%s?page=%d&pagesize=%d%s", GSS_LIST_PATH, page, ep->page_size, filter);
	gss_headers(ep, req);
	x = http_begin(ep, req);
	MemoryContextSwitchTo(old);
	*req_out = req;
	return x;
}

/*
 * gss_list_pages
 *		Fetch every page of GET /api/customerorders?<filter>&page=..&pagesize=..
 *		into the tuplestore, overlapping each page's transfer with the parsing
 *		of the one before.
 *
 *		Each answer's "Pages" says how many pages there are.  A page with no
 *		rows ends the listing, whatever "Pages" says: orders processed or
 *		deleted since page 1 shorten a listing, and GSS's "Pages" does not
 *		follow, so an empty page means there is nothing more to read (and an
 *		answer claiming billions of empty pages costs one request).  A listing
 *		whose "Pages" is above the server's max_pages fails (54000) as soon
 *		as an answer says so, without reading the pages: at most max_pages
 *		requests are made.
 */
static void
gss_list_pages(ApiEndpoint *ep, ReturnSetInfo *rsinfo, const char *filter)
{
	MemoryContext page_cxt[2];
	MemoryContext old;
	HttpTransfer *next = NULL;
	HttpRequest *next_req = NULL;
	int			pages = 1;
	GssPageContext pc;
	ErrorContextCallback errcb;

	page_cxt[0] = AllocSetContextCreate(CurrentMemoryContext, "spotgo_gss page A", ALLOCSET_DEFAULT_SIZES);
	page_cxt[1] = AllocSetContextCreate(CurrentMemoryContext, "spotgo_gss page B", ALLOCSET_DEFAULT_SIZES);

	pc.what = "GoSweetSpot customer orders";
	pc.page = 1;
	errcb.callback = gss_page_errcontext;
	errcb.arg = &pc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	for (int page = 1; page <= pages; page++)
	{
		MemoryContext cxt = page_cxt[page % 2];
		HttpRequest *req;
		HttpResponse resp;
		char	   *captured[1];
		int64		nrows;

		pc.page = page;
		if (next == NULL)
			next = gss_page_begin(ep, filter, page, cxt, &next_req);
		req = next_req;
		old = MemoryContextSwitchTo(cxt);
		http_finish(next, &resp);
		MemoryContextSwitchTo(old);
		next = NULL;
		http_raise_for_status(ep, req, &resp);

		/* the next page travels while this one is parsed */
		if (page < pages)
			next = gss_page_begin(ep, filter, page + 1, page_cxt[(page + 1) % 2], &next_req);

		old = MemoryContextSwitchTo(cxt);
		nrows = jrows_parse(&gss_page_spec, resp.body, resp.body_len, gss_emit_tuplestore, rsinfo, captured);
		MemoryContextSwitchTo(old);

		if (captured[0] != NULL)
		{
			char	   *end;
			long		p = strtol(captured[0], &end, 10);

			if (*end != '\0' || p < 0 || p > INT_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_JSON_TEXT),
						 errmsg("unexpected value for field \"Pages\" in the %s", gss_page_spec.what),
						 errdetail("Expected a page count, got \"%s\".",
								   http_clean_text(captured[0], strlen(captured[0]), 50))));
			pages = (int) p;
		}
		else if (page == 1)
			pages = 1;
		MemoryContextReset(cxt);

		if (nrows == 0 && page < pages)
		{
			elog(DEBUG1, "spotgo_gss: page %d of %d of the GoSweetSpot customer orders is empty: the listing ends there",
				 page, pages);
			break;
		}
		if (pages > ep->max_pages)
			http_raise_too_many_pages(ep, gss_page_spec.what,
									  psprintf("The answer to page %d said \"Pages\": %d.", page, pages));
	}

	error_context_stack = errcb.previous;
	MemoryContextDelete(page_cxt[0]);
	MemoryContextDelete(page_cxt[1]);
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
	char	  **nums = NULL;
	int			nnums = -1;
	StringInfoData common;
	ApiEndpoint *ep;

	if (!PG_ARGISNULL(0))
		nnums = gss_slip_numbers(PG_GETARG_ARRAYTYPE_P(0), "packingslipnos", true, false, &nums);

	initStringInfo(&common);
	if (!PG_ARGISNULL(1))
		gss_append_time(&common, "created_from", PG_GETARG_TIMESTAMPTZ(1));
	if (!PG_ARGISNULL(2))
		gss_append_time(&common, "created_to", PG_GETARG_TIMESTAMPTZ(2));
	if (!PG_ARGISNULL(3) && PG_GETARG_BOOL(3))
		appendStringInfoString(&common, "&excludecompleted=true");
	if (!PG_ARGISNULL(4) && PG_GETARG_BOOL(4))
		appendStringInfoString(&common, "&includeProducts=true");

	ep = endpoint_lookup(gss_server_arg(fcinfo, 5), API_GSS, GetUserId());
	compat_init_srf(fcinfo);
	gss_check_natts(rsinfo, GO_NATTS);

	if (nnums < 0)
		gss_list_pages(ep, rsinfo, common.data);
	else
	{
		for (int from = 0; from < nnums; from += GSS_MAX_PER_LIST)
		{
			StringInfoData filter;

			initStringInfo(&filter);
			appendStringInfoString(&filter, "&packingslipno=");
			gss_append_list(&filter, nums, from, Min(nnums, from + GSS_MAX_PER_LIST));
			appendStringInfoString(&filter, common.data);
			gss_list_pages(ep, rsinfo, filter.data);
		}
	}
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
	HttpRequest req;
	HttpResponse resp;

	compat_init_srf(fcinfo);
	gss_check_natts(rsinfo, GO_NATTS);

	http_request_init(&req, "GET", "GoSweetSpot pending orders");
	req.endpoint = GSS_PENDING_PATH;
	appendStringInfoString(&req.path, GSS_PENDING_PATH);
	gss_headers(ep, &req);
	http_execute(ep, &req, &resp);
	http_raise_for_status(ep, &req, &resp);
	jrows_parse(&gss_pending_spec, resp.body, resp.body_len, gss_emit_tuplestore, rsinfo, NULL);
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
	gss_append_list(&req.path, nums, 0, n);
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
