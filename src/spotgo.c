/*-------------------------------------------------------------------------
 *
 * spotgo.c
 *		SpotGo CarrierPortal order endpoints as SQL functions.
 *
 * Everything this product knows about SpotGo's paths and field names is in
 * this file, and every name the public reference does not state (query
 * paging, document status body, multipart part names) is in the
 * spotgo_assumed table below, so that one edit fixes it when the live API
 * disagrees.
 *
 * Orders are checked before sending (object, orderNumber, locations with
 * integer sequence, ISO 8601 dates, two-letter country codes, coordinates in
 * range, requiredDocumentTypes a string or an array of strings), and a bad
 * field is named by its JSON path, e.g. locations[1].startDate.  Enumerations
 * whose full list is not published (order status, location type, document
 * type) are not checked.
 *
 * The orders resource (spotgo_resources, at the end) describes the
 * listings once: an order query read page after page by its continuation
 * tokens (the loop, with its checks of repeated tokens and max_pages, is
 * listing.c's), or a lookup of one order by id; the SQL function, the
 * foreign table and the outbox's lookup of an order id all use it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "compat.h"
#include "http.h"
#include "json_rows.h"
#include "options.h"
#include "push.h"
#include "resource.h"

PG_FUNCTION_INFO_V1(spotgo_create_order);
PG_FUNCTION_INFO_V1(spotgo_update_order);
PG_FUNCTION_INFO_V1(spotgo_upsert_order);
PG_FUNCTION_INFO_V1(spotgo_delete_order);
PG_FUNCTION_INFO_V1(spotgo_get_order);
PG_FUNCTION_INFO_V1(spotgo_query_orders);
PG_FUNCTION_INFO_V1(spotgo_document_content);
PG_FUNCTION_INFO_V1(spotgo_document);
PG_FUNCTION_INFO_V1(spotgo_upload_document);
PG_FUNCTION_INFO_V1(spotgo_set_document_status);

#define SPOTGO_ORDERS_PATH	"/api/v1/orders"

/*
 * Names the reference marks as assumed (shared/api/spotgo.md).  Change them
 * here, and only here, when the live API says otherwise.
 */
static const struct
{
	const char *query_path;		/* POST, the filter plus paging fields */
	const char *query_page_size;
	const char *query_token;	/* request and response */
	const char *query_items;	/* response array of orders */
	const char *upsert_path;
	const char *document_status_field;
	const char *document_reason_field;
	const char *document_comment_field;
	const char *upload_file_part;
	const char *upload_type_part;
}			spotgo_assumed = {
	.query_path = SPOTGO_ORDERS_PATH "/query",
	.query_page_size = "pageSize",
	.query_token = "continuationToken",
	.query_items = "items",
	.upsert_path = SPOTGO_ORDERS_PATH "/upsert",
	.document_status_field = "status",
	.document_reason_field = "rejectionReason",
	.document_comment_field = "comment",
	.upload_file_part = "file",
	.upload_type_part = "documentType",
};

/* spotgo_gss.spotgo_order, in column order */
enum
{
	SO_ORDER_ID, SO_ORDER_NUMBER, SO_STATUS, SO_CREATED_AT, SO_CARRIER_NAME,
	SO_CARRIER_EMAIL, SO_CARRIER_VAT_CODE, SO_SHARE_URL, SO_ORDER,
	SO_INTERNAL_COMMENTS,
	SO_NATTS
};

static const JrowsColumn spotgo_carrier_fields[] = {
	{"name", SO_CARRIER_NAME, JR_TEXT, NULL},
	{"email", SO_CARRIER_EMAIL, JR_TEXT, NULL},
	{"vatCode", SO_CARRIER_VAT_CODE, JR_TEXT, NULL},
	{NULL, 0, JR_TEXT, NULL}
};

static const JrowsColumn spotgo_share_fields[] = {
	{"shareUrl", SO_SHARE_URL, JR_TEXT, NULL},
	{NULL, 0, JR_TEXT, NULL}
};

static const JrowsColumn spotgo_order_fields[] = {
	{"orderId", SO_ORDER_ID, JR_UUID, NULL},
	{"orderNumber", SO_ORDER_NUMBER, JR_TEXT, NULL},
	{"status", SO_STATUS, JR_TEXT, NULL},
	{"createdAt", SO_CREATED_AT, JR_TIMESTAMPTZ, NULL},
	{"carrier", -1, JR_TEXT, spotgo_carrier_fields},
	{"share", -1, JR_TEXT, spotgo_share_fields},
	{"internalComments", SO_INTERNAL_COMMENTS, JR_TEXT, NULL},
	{NULL, 0, JR_TEXT, NULL}
};

static const char *const spotgo_query_captures[] = {"continuationToken"};

static JrowsSpec spotgo_query_spec = {
	.shape = JR_KEYED,
	.rows_key = NULL,			/* spotgo_assumed.query_items, set at first use */
	.columns = spotgo_order_fields,
	.natts = SO_NATTS,
	.extra_attnum = -1,
	.whole_attnum = SO_ORDER,
	.captures = spotgo_query_captures,
	.ncaptures = 1,
	.what = "SpotGo order query"
};

/* one order, GET /api/v1/orders/{orderId} */
static const JrowsSpec spotgo_get_spec = {
	.shape = JR_SINGLE,
	.columns = spotgo_order_fields,
	.natts = SO_NATTS,
	.extra_attnum = -1,
	.whole_attnum = SO_ORDER,
	.what = "SpotGo order"
};

/* ---- requests ---- */

static char *
spotgo_server_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static ApiEndpoint *
spotgo_endpoint(FunctionCallInfo fcinfo, int argno)
{
	return endpoint_lookup(spotgo_server_arg(fcinfo, argno), API_SPOTGO, GetUserId());
}

/*
 * spotgo_request
 *		A request with the key and the API version, as SpotGo wants them on
 *		every call (the version both as a media-type parameter and as a
 *		header).  A JSON body, when given, is sent with its content type.
 */
static void
spotgo_request(ApiEndpoint *ep, HttpRequest *req, const char *method, const char *what,
			   const char *body, size_t body_len)
{
	http_request_init(req, method, what);
	req->body = body;
	req->body_len = body_len;
	http_add_header(req, ep->api_key_header, ep->secret);
	http_add_header(req, "Accept", psprintf("application/json; x-api-version=%s", ep->api_version));
	http_add_header(req, "x-api-version", ep->api_version);
	if (body)
		http_add_header(req, "Content-Type",
						psprintf("application/json; x-api-version=%s", ep->api_version));
}

static void
spotgo_append_uuid(StringInfo buf, Datum uuid)
{
	appendStringInfoString(buf, DatumGetCString(DirectFunctionCall1(uuid_out, uuid)));
}

/* send, raise on failure (except the statuses the caller handles), return the body as jsonb or NULL */
static Jsonb *
spotgo_send_json(ApiEndpoint *ep, HttpRequest *req, HttpResponse *resp, const char *what)
{
	http_execute(ep, req, resp);
	http_raise_for_status(ep, req, resp);
	if (strspn(resp->body, " \t\r\n") == resp->body_len)
		return NULL;
	return jrows_body_jsonb(resp->body, resp->body_len, what);
}

/* ---- validation ---- */

static void
spotgo_bad(const char *path, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid SpotGo order at %s", path),
			 errdetail("%s", detail)));
}

static char *
spotgo_path(const char *parent, const char *key)
{
	return parent[0] ? psprintf("%s.%s", parent, key) : pstrdup(key);
}

/* the value of key in an object container, or NULL (absent or JSON null) */
static JsonbValue *
spotgo_get(JsonbContainer *obj, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);

	return (v == NULL || v->type == jbvNull) ? NULL : v;
}

static bool
spotgo_is_object(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static bool
spotgo_is_array(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data) &&
		!JsonContainerIsScalar(v->val.binary.data);
}

static char *
spotgo_string(JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static double
spotgo_number(JsonbValue *v)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

static bool
spotgo_is_integer(JsonbValue *v)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));

	if (*s == '-')
		s++;
	return *s != '\0' && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 9;
}

static void
spotgo_check_string(JsonbContainer *obj, const char *parent, const char *key)
{
	JsonbValue *v = spotgo_get(obj, key);

	if (v && v->type != jbvString)
		spotgo_bad(spotgo_path(parent, key), psprintf("%s must be a string.", key));
}

static void
spotgo_check_party(JsonbContainer *order, const char *key)
{
	JsonbValue *v = spotgo_get(order, key);

	if (v == NULL)
		return;
	if (!spotgo_is_object(v))
		spotgo_bad(key, psprintf("%s must be an object.", key));
	spotgo_check_string(v->val.binary.data, key, "name");
	spotgo_check_string(v->val.binary.data, key, "email");
	spotgo_check_string(v->val.binary.data, key, "vatCode");
}

static void
spotgo_check_location(JsonbContainer *loc, const char *path)
{
	JsonbValue *v;
	static const char *const dates[] = {"startDate", "endDate"};

	v = spotgo_get(loc, "sequence");
	if (v == NULL)
		spotgo_bad(spotgo_path(path, "sequence"), "Every location needs an integer sequence.");
	if (v->type != jbvNumeric || !spotgo_is_integer(v))
		spotgo_bad(spotgo_path(path, "sequence"), "sequence must be an integer.");

	for (int i = 0; i < (int) lengthof(dates); i++)
	{
		v = spotgo_get(loc, dates[i]);
		if (v && (v->type != jbvString || !jrows_is_iso8601(spotgo_string(v))))
			spotgo_bad(spotgo_path(path, dates[i]),
					   psprintf("%s must be an ISO 8601 date and time such as 2026-08-24T14:15:22Z.", dates[i]));
	}

	v = spotgo_get(loc, "countryCode");
	if (v)
	{
		if (v->type != jbvString || v->val.string.len != 2 ||
			!isalpha((unsigned char) v->val.string.val[0]) ||
			!isalpha((unsigned char) v->val.string.val[1]))
			spotgo_bad(spotgo_path(path, "countryCode"),
					   "countryCode must be a two-letter ISO 3166 code.");
	}
	spotgo_check_string(loc, path, "type");
	spotgo_check_string(loc, path, "name");
	spotgo_check_string(loc, path, "postalCode");
	spotgo_check_string(loc, path, "city");
	spotgo_check_string(loc, path, "street");

	v = spotgo_get(loc, "position");
	if (v)
	{
		char	   *ppath = spotgo_path(path, "position");
		static const struct
		{
			const char *name;
			double		limit;
		}			coords[] = {{"latitude", 90.0}, {"longitude", 180.0}};

		if (!spotgo_is_object(v))
			spotgo_bad(ppath, "position must be an object with latitude and longitude.");
		for (int i = 0; i < (int) lengthof(coords); i++)
		{
			JsonbValue *c = spotgo_get(v->val.binary.data, coords[i].name);

			if (c == NULL)
				continue;
			if (c->type != jbvNumeric || fabs(spotgo_number(c)) > coords[i].limit)
				spotgo_bad(spotgo_path(ppath, coords[i].name),
						   psprintf("%s must be a number from %g to %g.", coords[i].name,
									-coords[i].limit, coords[i].limit));
		}
	}
}

/*
 * spotgo_check_order
 *		Check an order body before sending; return its orderNumber.
 */
static char *
spotgo_check_order(Jsonb *order)
{
	JsonbContainer *root = &order->root;
	JsonbValue *v;

	if (!JB_ROOT_IS_OBJECT(order))
		spotgo_bad("order", "The order must be a JSON object.");

	v = spotgo_get(root, "orderNumber");
	if (v == NULL || v->type != jbvString || v->val.string.len == 0)
		spotgo_bad("orderNumber", "orderNumber must be a non-empty string.");

	spotgo_check_party(root, "manager");
	spotgo_check_party(root, "carrier");
	spotgo_check_string(root, "", "internalComments");

	{
		JsonbValue *d = spotgo_get(root, "requiredDocumentTypes");

		if (d && d->type != jbvString)
		{
			JsonbIterator *it;
			JsonbValue	e;
			JsonbIteratorToken tok;
			int			i = 0;

			if (!spotgo_is_array(d))
				spotgo_bad("requiredDocumentTypes",
						   "requiredDocumentTypes must be a string or an array of strings.");
			it = JsonbIteratorInit(d->val.binary.data);
			while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
			{
				if (tok != WJB_ELEM)
					continue;
				if (e.type != jbvString)
					spotgo_bad(psprintf("requiredDocumentTypes[%d]", i),
							   "requiredDocumentTypes must be a string or an array of strings.");
				i++;
			}
		}
	}

	v = spotgo_get(root, "details");
	if (v)
	{
		JsonbValue *w;

		if (!spotgo_is_object(v))
			spotgo_bad("details", "details must be an object.");
		w = spotgo_get(v->val.binary.data, "weight");
		if (w && (w->type != jbvNumeric || spotgo_number(w) < 0))
			spotgo_bad("details.weight", "weight must be a number of at least 0.");
		w = spotgo_get(v->val.binary.data, "licensePlates");
		if (w && !spotgo_is_array(w))
			spotgo_bad("details.licensePlates", "licensePlates must be an array of strings.");
	}

	v = spotgo_get(root, "locations");
	if (v)
	{
		JsonbIterator *it;
		JsonbValue	e;
		JsonbIteratorToken tok;
		int			i = 0;

		if (!spotgo_is_array(v))
			spotgo_bad("locations", "locations must be an array of location objects.");
		it = JsonbIteratorInit(v->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		{
			char	   *path;

			if (tok != WJB_ELEM)
				continue;
			path = psprintf("locations[%d]", i++);
			if (!spotgo_is_object(&e))
				spotgo_bad(path, "Each location must be an object.");
			spotgo_check_location(e.val.binary.data, path);
		}
	}

	v = spotgo_get(root, "orderNumber");
	return spotgo_string(v);
}

static char *
spotgo_order_text(Jsonb *order, int *len)
{
	(void) spotgo_check_order(order);
	return jrows_jsonb_text(order, len);
}

/* ---- orders ---- */

/*
 * spotgo_send_order
 *		The common body of create, update and upsert: check the order
 *		(argument order_arg), send it to path (followed by the order id when
 *		id_arg >= 0) and return SpotGo's answer as jsonb, or SQL NULL for an
 *		empty answer.
 */
static Datum
spotgo_send_order(FunctionCallInfo fcinfo, int order_arg, int id_arg, int server_arg,
				  const char *method, const char *path, const char *what, bool idempotent)
{
	ApiEndpoint *ep;
	HttpRequest req;
	HttpResponse resp;
	char	   *body;
	int			len;
	Jsonb	   *res;

	if (PG_ARGISNULL(order_arg) || (id_arg >= 0 && PG_ARGISNULL(id_arg)))
		PG_RETURN_NULL();
	body = spotgo_order_text(PG_GETARG_JSONB_P(order_arg), &len);
	ep = spotgo_endpoint(fcinfo, server_arg);
	spotgo_request(ep, &req, method, what, body, len);
	req.idempotent = idempotent;
	req.endpoint = id_arg >= 0 ? psprintf("%s/{orderId}", path) : path;
	appendStringInfoString(&req.path, path);
	if (id_arg >= 0)
	{
		appendStringInfoChar(&req.path, '/');
		spotgo_append_uuid(&req.path, PG_GETARG_DATUM(id_arg));
	}
	res = spotgo_send_json(ep, &req, &resp, what);
	if (res == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(res);
}

/*
 * spotgo_create_order("order" jsonb, server text) returns jsonb
 *		POST /api/v1/orders.  Not retried after it may have reached SpotGo.
 */
Datum
spotgo_create_order(PG_FUNCTION_ARGS)
{
	return spotgo_send_order(fcinfo, 0, -1, 1, "POST", SPOTGO_ORDERS_PATH,
							 "SpotGo order creation", false);
}

/*
 * spotgo_update_order(order_id uuid, "order" jsonb, server text) returns jsonb
 *		PUT /api/v1/orders/{orderId}.
 */
Datum
spotgo_update_order(PG_FUNCTION_ARGS)
{
	return spotgo_send_order(fcinfo, 1, 0, 2, "PUT", SPOTGO_ORDERS_PATH,
							 "SpotGo order update", true);
}

/*
 * spotgo_upsert_order("order" jsonb, server text) returns jsonb
 *		POST /api/v1/orders/upsert: created, updated, linkChanged, order.
 *		Keyed by orderNumber, so safe to send again.
 */
Datum
spotgo_upsert_order(PG_FUNCTION_ARGS)
{
	return spotgo_send_order(fcinfo, 0, -1, 1, "POST", spotgo_assumed.upsert_path,
							 "SpotGo order upsert", true);
}

/*
 * spotgo_delete_order(order_id uuid, server text) returns boolean
 *		DELETE /api/v1/orders/{orderId}; false when SpotGo did not have it.
 */
Datum
spotgo_delete_order(PG_FUNCTION_ARGS)
{
	ApiEndpoint *ep;
	HttpRequest req;
	HttpResponse resp;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ep = spotgo_endpoint(fcinfo, 1);
	spotgo_request(ep, &req, "DELETE", "SpotGo order deletion", NULL, 0);
	req.endpoint = SPOTGO_ORDERS_PATH "/{orderId}";
	appendStringInfoString(&req.path, SPOTGO_ORDERS_PATH "/");
	spotgo_append_uuid(&req.path, PG_GETARG_DATUM(0));
	http_execute(ep, &req, &resp);
	if (resp.status == 404)
		PG_RETURN_BOOL(false);
	http_raise_for_status(ep, &req, &resp);
	PG_RETURN_BOOL(true);
}

/*
 * spotgo_get_order(order_id uuid, server text) returns jsonb
 *		GET /api/v1/orders/{orderId}; NULL when unknown.
 */
Datum
spotgo_get_order(PG_FUNCTION_ARGS)
{
	ApiEndpoint *ep;
	HttpRequest req;
	HttpResponse resp;
	Jsonb	   *res;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ep = spotgo_endpoint(fcinfo, 1);
	spotgo_request(ep, &req, "GET", "SpotGo order", NULL, 0);
	req.endpoint = SPOTGO_ORDERS_PATH "/{orderId}";
	appendStringInfoString(&req.path, SPOTGO_ORDERS_PATH "/");
	spotgo_append_uuid(&req.path, PG_GETARG_DATUM(0));
	http_execute(ep, &req, &resp);
	if (resp.status == 404)
		PG_RETURN_NULL();
	http_raise_for_status(ep, &req, &resp);
	if (strspn(resp.body, " \t\r\n") == resp.body_len)
		PG_RETURN_NULL();
	res = jrows_body_jsonb(resp.body, resp.body_len, "SpotGo order");
	PG_RETURN_JSONB_P(res);
}

/* ---- query ---- */

/* the filter of one order query, as JSON object text */
typedef struct SpotgoFilter
{
	char	   *text;			/* "{...}" */
	int			len;
	bool		empty;			/* "{}" */
	bool		has_page_size;	/* the caller set pageSize: it wins */
} SpotgoFilter;

/* filter || {pageSize: n} || {continuationToken: token} as text */
static char *
spotgo_query_body(const SpotgoFilter *f, int page_size, const char *token, int *len)
{
	StringInfoData buf;
	bool		empty = f->empty;

	initStringInfo(&buf);
	/* the filter's own text, without its closing brace */
	appendBinaryStringInfo(&buf, f->text, f->len - 1);
	if (!f->has_page_size)
	{
		appendStringInfo(&buf, "%s\"%s\": %d", empty ? "" : ", ", spotgo_assumed.query_page_size, page_size);
		empty = false;
	}
	if (token)
	{
		appendStringInfo(&buf, "%s\"%s\": ", empty ? "" : ", ", spotgo_assumed.query_token);
		escape_json(&buf, token);
	}
	appendStringInfoChar(&buf, '}');
	*len = buf.len;
	return buf.data;
}

/* a filter jsonb (an object) as a SpotgoFilter */
static SpotgoFilter *
spotgo_filter_from_jsonb(Jsonb *filter)
{
	SpotgoFilter *f = palloc0(sizeof(SpotgoFilter));

	f->text = jrows_jsonb_text(filter, &f->len);
	f->empty = (JB_ROOT_COUNT(filter) == 0);
	f->has_page_size = spotgo_get(&filter->root, spotgo_assumed.query_page_size) != NULL;
	return f;
}

/* append a value as a JSON string, or as it is (an EXPLAIN placeholder) */
static void
spotgo_append_json_value(StringInfo buf, const FilterValues *fv, int i)
{
	if (fv->verbatim)
		appendStringInfoString(buf, fv->values[i]);
	else
		escape_json(buf, fv->values[i]);
}

/*
 * spotgo_filter_from_values
 *		The query filter of a foreign scan: {"orderNumber": v, "status":
 *		[v, ...]} from filters 1 and 2 (spotgo_order_filters).
 */
static SpotgoFilter *
spotgo_filter_from_values(const ListingQuery *q)
{
	SpotgoFilter *f = palloc0(sizeof(SpotgoFilter));
	StringInfoData buf;
	const FilterValues *number = &q->filters[1];
	const FilterValues *status = &q->filters[2];

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	if (number->used)
	{
		appendStringInfoString(&buf, "\"orderNumber\": ");
		spotgo_append_json_value(&buf, number, 0);
	}
	if (status->used)
	{
		appendStringInfoString(&buf, number->used ? ", \"status\": [" : "\"status\": [");
		for (int i = 0; i < status->n; i++)
		{
			if (i > 0)
				appendStringInfoString(&buf, ", ");
			spotgo_append_json_value(&buf, status, i);
		}
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoChar(&buf, '}');
	f->text = buf.data;
	f->len = buf.len;
	f->empty = !number->used && !status->used;
	return f;
}

/*
 * spotgo_plan_orders
 *		The listings of spotgo.orders for q: one GET /api/v1/orders/{orderId}
 *		per id of filter 0 (a lookup: unknown means no row), else one order
 *		query with the SQL function's filter (q->args) or the scan's.
 */
static ListingPart *
spotgo_plan_orders(const ListingQuery *q, int *nparts)
{
	const FilterValues *ids = &q->filters[0];
	ListingPart *parts;

	spotgo_query_spec.rows_key = spotgo_assumed.query_items;
	if (ids->used)
	{
		parts = palloc0(sizeof(ListingPart) * Max(ids->n, 1));
		for (int i = 0; i < ids->n; i++)
		{
			parts[i].paging = PAGING_NONE;
			parts[i].spec = &spotgo_get_spec;
			parts[i].what = "SpotGo order";
			parts[i].absent_is_empty = true;
			parts[i].arg = ids->verbatim ? ids->values[i] : NULL;
			if (!ids->verbatim)
			{
				StringInfoData id;

				initStringInfo(&id);
				http_append_encoded(&id, ids->values[i]);
				parts[i].arg = id.data;
			}
		}
		*nparts = ids->n;
		return parts;
	}
	parts = palloc0(sizeof(ListingPart));
	parts->paging = PAGING_TOKEN;
	parts->spec = &spotgo_query_spec;
	parts->what = "SpotGo order query";
	parts->context = "SpotGo order query";
	parts->arg = q->args ? q->args : spotgo_filter_from_values(q);
	*nparts = 1;
	return parts;
}

/* POST the query (page_size, token), or GET one order */
static void
spotgo_request_orders(ApiEndpoint *ep, const ListingPart *part, int page, int page_size,
					  const char *token, HttpRequest *req)
{
	if (part->paging == PAGING_TOKEN)
	{
		int			len;
		char	   *body = spotgo_query_body((SpotgoFilter *) part->arg, page_size, token, &len);

		spotgo_request(ep, req, "POST", part->what, body, len);
		req->endpoint = spotgo_assumed.query_path;
		req->idempotent = true;	/* a read */
		appendStringInfoString(&req->path, spotgo_assumed.query_path);
	}
	else
	{
		spotgo_request(ep, req, "GET", part->what, NULL, 0);
		req->endpoint = SPOTGO_ORDERS_PATH "/{orderId}";
		appendStringInfo(&req->path, "%s/%s", SPOTGO_ORDERS_PATH, (const char *) part->arg);
	}
}

/* every value can be sent */
static bool
spotgo_value_ok(int f, const char *value)
{
	return true;
}

/*
 * spotgo_query_orders(filter jsonb, server text) returns setof spotgo_order
 *		POST /api/v1/orders/query with the filter as given plus pageSize and
 *		continuationToken, until the token ends (listing.c).  A pageSize in
 *		the filter wins over the server's page_size.
 */
Datum
spotgo_query_orders(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *filter;
	ApiEndpoint *ep;
	ListingQuery q;
	Listing    *l;
	Datum	   *values;
	bool	   *nulls;

	compat_init_srf(fcinfo);
	if (rsinfo->setDesc->natts != SO_NATTS)
		elog(ERROR, "result type has %d columns, expected %d", rsinfo->setDesc->natts, SO_NATTS);

	filter = PG_ARGISNULL(0) ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")))
		: PG_GETARG_JSONB_P(0);
	if (!JB_ROOT_IS_OBJECT(filter))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the SpotGo query filter must be a JSON object")));
	if (spotgo_get(&filter->root, spotgo_assumed.query_token) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the SpotGo query filter must not contain \"%s\"", spotgo_assumed.query_token),
				 errhint("spotgo_query_orders() follows the continuation tokens itself and returns every page.")));
	ep = spotgo_endpoint(fcinfo, 1);
	memset(&q, 0, sizeof(q));
	q.limit = -1;
	q.args = spotgo_filter_from_jsonb(filter);
	l = listing_open(&spotgo_resources[0], ep, &q, false);
	while (listing_next(l, &values, &nulls))
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	listing_close(l, NULL);
	return (Datum) 0;
}

/* ---- documents ---- */

/*
 * spotgo_filename
 *		The file name of a Content-Disposition header: filename*=UTF-8''..
 *		(percent-decoded) preferred over filename="..".  NULL when none.
 */
static char *
spotgo_filename(const char *cd)
{
	const char *p;

	if (cd == NULL)
		return NULL;
	p = strcasestr(cd, "filename*=");
	if (p)
	{
		const char *v = strstr(p, "''");
		StringInfoData buf;

		if (v)
		{
			initStringInfo(&buf);
			for (v += 2; *v && *v != ';' && *v != ' '; v++)
			{
				if (*v == '%' && isxdigit((unsigned char) v[1]) && isxdigit((unsigned char) v[2]))
				{
					char		hex[3] = {v[1], v[2], '\0'};

					appendStringInfoChar(&buf, (char) strtol(hex, NULL, 16));
					v += 2;
				}
				else
					appendStringInfoChar(&buf, *v);
			}
			if (pg_verifymbstr(buf.data, buf.len, true))
				return buf.data;
		}
	}
	for (p = cd; (p = strcasestr(p, "filename=")) != NULL; p++)
	{
		const char *v = p + 9;
		StringInfoData buf;

		initStringInfo(&buf);
		if (*v == '"')
		{
			for (v++; *v && *v != '"'; v++)
			{
				if (*v == '\\' && v[1])
					v++;
				appendStringInfoChar(&buf, *v);
			}
		}
		else
			for (; *v && *v != ';' && *v != ' '; v++)
				appendStringInfoChar(&buf, *v);
		if (pg_verifymbstr(buf.data, buf.len, true))
			return buf.data;
		return NULL;
	}
	return NULL;
}

/* GET the content of a document; false when SpotGo does not know it */
static bool
spotgo_fetch_document(FunctionCallInfo fcinfo, HttpResponse *resp)
{
	ApiEndpoint *ep = spotgo_endpoint(fcinfo, 2);
	HttpRequest req;

	spotgo_request(ep, &req, "GET", "SpotGo document content", NULL, 0);
	req.endpoint = SPOTGO_ORDERS_PATH "/{orderId}/documents/{documentId}/content";
	appendStringInfoString(&req.path, SPOTGO_ORDERS_PATH "/");
	spotgo_append_uuid(&req.path, PG_GETARG_DATUM(0));
	appendStringInfoString(&req.path, "/documents/");
	spotgo_append_uuid(&req.path, PG_GETARG_DATUM(1));
	appendStringInfoString(&req.path, "/content");
	http_execute(ep, &req, resp);
	if (resp->status == 404)
		return false;
	http_raise_for_status(ep, &req, resp);
	return true;
}

static bytea *
spotgo_bytea(HttpResponse *resp)
{
	bytea	   *b = palloc(VARHDRSZ + resp->body_len);

	SET_VARSIZE(b, VARHDRSZ + resp->body_len);
	memcpy(VARDATA(b), resp->body, resp->body_len);
	return b;
}

/*
 * spotgo_document_content(order_id uuid, document_id uuid, server text) returns bytea
 *		The document's bytes; NULL when unknown.
 */
Datum
spotgo_document_content(PG_FUNCTION_ARGS)
{
	HttpResponse resp;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (!spotgo_fetch_document(fcinfo, &resp))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(spotgo_bytea(&resp));
}

/*
 * spotgo_document(order_id uuid, document_id uuid, server text)
 *		returns table(content_type text, filename text, content bytea)
 *		The bytes with their Content-Type and Content-Disposition file name;
 *		no row when unknown.
 */
Datum
spotgo_document(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HttpResponse resp;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	char	   *filename;

	compat_init_srf(fcinfo);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || !spotgo_fetch_document(fcinfo, &resp))
		return (Datum) 0;

	if (resp.content_type && pg_verifymbstr(resp.content_type, strlen(resp.content_type), true))
		values[0] = CStringGetTextDatum(resp.content_type);
	else
		nulls[0] = true;
	filename = spotgo_filename(resp.content_disposition);
	if (filename)
		values[1] = CStringGetTextDatum(filename);
	else
		nulls[1] = true;
	values[2] = PointerGetDatum(spotgo_bytea(&resp));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

static char *
spotgo_text_arg(FunctionCallInfo fcinfo, int argno, const char *name, bool required)
{
	char	   *s;

	if (PG_ARGISNULL(argno))
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be null", name)));
		return NULL;
	}
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (required && s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", name)));
	if (strpbrk(s, "\r\n\"") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not contain line breaks or double quotes", name)));
	return s;
}

/*
 * spotgo_upload_document(order_id uuid, content bytea, filename text,
 *		document_type text, content_type text, server text) returns jsonb
 *		POST /api/v1/orders/{orderId}/documents as multipart/form-data.
 */
Datum
spotgo_upload_document(PG_FUNCTION_ARGS)
{
	ApiEndpoint *ep;
	HttpRequest req;
	HttpResponse resp;
	bytea	   *content;
	HttpFormPart parts[2];
	char	   *filename;
	char	   *doctype;
	char	   *ctype;
	Jsonb	   *res;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("content must not be null")));
	content = PG_GETARG_BYTEA_PP(1);
	filename = spotgo_text_arg(fcinfo, 2, "filename", true);
	doctype = spotgo_text_arg(fcinfo, 3, "document_type", true);
	ctype = spotgo_text_arg(fcinfo, 4, "content_type", false);
	if (ctype == NULL || ctype[0] == '\0')
		ctype = "application/pdf";
	ep = spotgo_endpoint(fcinfo, 5);

	spotgo_request(ep, &req, "POST", "SpotGo document upload", NULL, 0);
	req.endpoint = SPOTGO_ORDERS_PATH "/{orderId}/documents";
	appendStringInfoString(&req.path, SPOTGO_ORDERS_PATH "/");
	spotgo_append_uuid(&req.path, PG_GETARG_DATUM(0));
	appendStringInfoString(&req.path, "/documents");
	parts[0].name = spotgo_assumed.upload_file_part;
	parts[0].data = VARDATA_ANY(content);
	parts[0].len = VARSIZE_ANY_EXHDR(content);
	parts[0].filename = filename;
	parts[0].content_type = ctype;
	parts[1].name = spotgo_assumed.upload_type_part;
	parts[1].data = doctype;
	parts[1].len = strlen(doctype);
	parts[1].filename = NULL;
	parts[1].content_type = NULL;
	req.form = parts;
	req.nform = 2;
	res = spotgo_send_json(ep, &req, &resp, "SpotGo document upload");
	if (res == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(res);
}

/*
 * spotgo_set_document_status(order_id uuid, document_id uuid, status text,
 *		reason text, comment text, server text) returns jsonb
 *		POST .../documents/{documentId}/status: Accepted or Rejected.
 */
Datum
spotgo_set_document_status(PG_FUNCTION_ARGS)
{
	ApiEndpoint *ep;
	HttpRequest req;
	HttpResponse resp;
	char	   *status;
	StringInfoData body;
	Jsonb	   *res;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("status must not be null")));
	status = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (strcmp(status, "Accepted") != 0 && strcmp(status, "Rejected") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid document status \"%s\"", status),
				 errhint("A document can be set to Accepted or Rejected.")));

	initStringInfo(&body);
	appendStringInfo(&body, "{\"%s\": ", spotgo_assumed.document_status_field);
	escape_json(&body, status);
	if (!PG_ARGISNULL(3))
	{
		appendStringInfo(&body, ", \"%s\": ", spotgo_assumed.document_reason_field);
		escape_json(&body, text_to_cstring(PG_GETARG_TEXT_PP(3)));
	}
	if (!PG_ARGISNULL(4))
	{
		appendStringInfo(&body, ", \"%s\": ", spotgo_assumed.document_comment_field);
		escape_json(&body, text_to_cstring(PG_GETARG_TEXT_PP(4)));
	}
	appendStringInfoChar(&body, '}');

	ep = spotgo_endpoint(fcinfo, 5);
	spotgo_request(ep, &req, "POST", "SpotGo document status", body.data, body.len);
	req.endpoint = SPOTGO_ORDERS_PATH "/{orderId}/documents/{documentId}/status";
	appendStringInfoString(&req.path, SPOTGO_ORDERS_PATH "/");
	spotgo_append_uuid(&req.path, PG_GETARG_DATUM(0));
	appendStringInfoString(&req.path, "/documents/");
	spotgo_append_uuid(&req.path, PG_GETARG_DATUM(1));
	appendStringInfoString(&req.path, "/status");
	res = spotgo_send_json(ep, &req, &resp, "SpotGo document status");
	if (res == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(res);
}

/* ---- foreign table writes ---- */

/* fields of the order view that SpotGo sets: not sent back */
static const char *const spotgo_view_only[] = {"orderId", "status", "createdAt", "documents", "share"};

/* jsonb_set(jb, path, value) with the path given as C strings */
static Jsonb *
spotgo_jsonb_set(Jsonb *jb, const char *key1, const char *key2, Jsonb *value)
{
	Datum		elems[2];
	int			n = key2 ? 2 : 1;
	ArrayType  *path;

	elems[0] = CStringGetTextDatum(key1);
	if (key2)
		elems[1] = CStringGetTextDatum(key2);
	path = construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT);
	return DatumGetJsonbP(DirectFunctionCall4(jsonb_set, JsonbPGetDatum(jb), PointerGetDatum(path),
											  JsonbPGetDatum(value), BoolGetDatum(true)));
}

/* a text column as a jsonb string, or null */
static Jsonb *
spotgo_text_jsonb(WriteRow *row, int att)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (row->nulls[att])
		appendStringInfoString(&buf, "null");
	else
		escape_json(&buf, TextDatumGetCString(row->values[att]));
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/*
 * spotgo_row_order
 *		The order body a row of an orders foreign table stands for: its
 *		"order" column (the order as SpotGo sent it, without the fields
 *		SpotGo sets), with the columns the statement set on top: order_number
 *		as orderNumber, carrier_* as carrier's name, email and vatCode,
 *		internal_comments as internalComments.  Checked as the SQL functions
 *		check an order.
 */
static Jsonb *
spotgo_row_order(WriteRow *row)
{
	static const struct
	{
		int			att;
		const char *key1;
		const char *key2;
	}			columns[] = {
		{SO_ORDER_NUMBER, "orderNumber", NULL},
		{SO_CARRIER_NAME, "carrier", "name"},
		{SO_CARRIER_EMAIL, "carrier", "email"},
		{SO_CARRIER_VAT_CODE, "carrier", "vatCode"},
		{SO_INTERNAL_COMMENTS, "internalComments", NULL},
	};
	Jsonb	   *order;

	if (row->given[SO_ORDER] && !row->nulls[SO_ORDER])
	{
		order = DatumGetJsonbP(row->values[SO_ORDER]);
		if (!JB_ROOT_IS_OBJECT(order))
			spotgo_bad("order", "The order must be a JSON object.");
	}
	else
		order = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	for (int i = 0; i < (int) lengthof(spotgo_view_only); i++)
		order = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(order),
												   CStringGetTextDatum(spotgo_view_only[i])));
	for (int i = 0; i < (int) lengthof(columns); i++)
	{
		if (!row->changed[columns[i].att])
			continue;
		if (columns[i].key2)
		{
			JsonbValue *c = spotgo_get(&order->root, columns[i].key1);

			if (c == NULL || !spotgo_is_object(c))
				order = spotgo_jsonb_set(order, columns[i].key1, NULL,
										 DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"))));
		}
		order = spotgo_jsonb_set(order, columns[i].key1, columns[i].key2,
								 spotgo_text_jsonb(row, columns[i].att));
	}
	(void) spotgo_check_order(order);
	return order;
}

/* SpotGo's answer (an order view) as a row of the resource, for RETURNING */
static void
spotgo_answer_row(HttpResponse *resp, WriteOutcome *out)
{
	JrowsParser *p;
	Datum	   *values;
	bool	   *nulls;

	if (strspn(resp->body, " \t\r\n") == resp->body_len)
		return;
	p = jrows_open(&spotgo_get_spec, resp->body, resp->body_len, NULL, NULL);
	if (jrows_next(p, &values, &nulls))
	{
		out->values = palloc(sizeof(Datum) * SO_NATTS);
		out->nulls = palloc(sizeof(bool) * SO_NATTS);
		jrows_copy_row(&spotgo_get_spec, values, nulls, out->values, out->nulls);
		out->has_row = true;
	}
	(void) jrows_close(p);
}

/* send an order (create or update); out gets the answer; false on 404 */
static bool
spotgo_write_order(ApiEndpoint *ep, WriteRow *row, const char *method, const char *id,
				   const char *what, WriteOutcome *out)
{
	HttpRequest req;
	HttpResponse resp;
	int			len;
	char	   *body = jrows_jsonb_text(spotgo_row_order(row), &len);

	memset(out, 0, sizeof(WriteOutcome));
	spotgo_request(ep, &req, method, what, body, len);
	req.endpoint = id ? SPOTGO_ORDERS_PATH "/{orderId}" : SPOTGO_ORDERS_PATH;
	appendStringInfoString(&req.path, SPOTGO_ORDERS_PATH);
	if (id)
	{
		appendStringInfoChar(&req.path, '/');
		http_append_encoded(&req.path, id);
	}
	http_execute(ep, &req, &resp);
	if (id && resp.status == 404)
	{
		out->message = pstrdup("SpotGo has no order with this id");
		return false;
	}
	http_raise_for_status(ep, &req, &resp);
	out->done = true;
	spotgo_answer_row(&resp, out);
	return true;
}

/* INSERT: POST /api/v1/orders, one order a request (not retried once it may have arrived) */
static void
spotgo_write_insert(ApiEndpoint *ep, WriteRow *rows, int n, WriteOutcome *out)
{
	for (int i = 0; i < n; i++)
		(void) spotgo_write_order(ep, &rows[i], "POST", NULL, "SpotGo order creation", &out[i]);
}

/* UPDATE: PUT /api/v1/orders/{orderId} */
static void
spotgo_write_update(ApiEndpoint *ep, WriteRow *row, WriteOutcome *out)
{
	char	   *id = DatumGetCString(DirectFunctionCall1(uuid_out, row->values[SO_ORDER_ID]));

	(void) spotgo_write_order(ep, row, "PUT", id, "SpotGo order update", out);
}

/* DELETE: DELETE /api/v1/orders/{orderId} each; an unknown id is not done */
static void
spotgo_write_remove(ApiEndpoint *ep, char **keys, int n, WriteOutcome *out)
{
	for (int i = 0; i < n; i++)
	{
		HttpRequest req;
		HttpResponse resp;

		memset(&out[i], 0, sizeof(WriteOutcome));
		spotgo_request(ep, &req, "DELETE", "SpotGo order deletion", NULL, 0);
		req.endpoint = SPOTGO_ORDERS_PATH "/{orderId}";
		appendStringInfoString(&req.path, SPOTGO_ORDERS_PATH "/");
		http_append_encoded(&req.path, keys[i]);
		http_execute(ep, &req, &resp);
		if (resp.status == 404)
		{
			out[i].message = pstrdup("SpotGo has no order with this id");
			continue;
		}
		http_raise_for_status(ep, &req, &resp);
		out[i].done = true;
	}
}

/* ---- the resource ---- */

static const ResourceFilter spotgo_order_filters[] = {
	{"order_id", UUIDOID, true, true, true},
	{"order_number", TEXTOID, false, false, false},	/* SpotGo matches a part of the number */
	{"status", TEXTOID, true, false, false},	/* in any case */
};

static const char *const spotgo_read_only[] = {
	"order_id", "status", "created_at", "share_url", NULL
};

static const ResourceWrites spotgo_order_writes = {
	.batched = false,
	.read_only = spotgo_read_only,
	.insert = spotgo_write_insert,
	.update = spotgo_write_update,
	.remove = spotgo_write_remove,
};

const ApiResource spotgo_resources[] = {
	{
		.name = "spotgo.orders",
		.remote_schema = "spotgo",
		.table = "orders",
		.comment = "SpotGo CarrierPortal orders (POST /api/v1/orders/query, token paging); order_id = is one GET /api/v1/orders/{orderId}, order_number = and status = / IN go into the query filter; INSERT creates, UPDATE updates by order_id, DELETE deletes",
		.api = API_SPOTGO,
		.type_name = "spotgo_order",
		.natts = SO_NATTS,
		.filters = spotgo_order_filters,
		.nfilters = lengthof(spotgo_order_filters),
		.key_column = "order_id",
		.paging = PAGING_TOKEN,
		.count_table = "spotgo_orders_local",
		.count_sql = "SELECT pg_catalog.count(*) FROM spotgo_gss.spotgo_orders_local"
		" WHERE server OPERATOR(pg_catalog.=) $1 AND deleted_at IS NULL",
		.default_rows = 1000,
		.plan = spotgo_plan_orders,
		.request = spotgo_request_orders,
		.value_ok = spotgo_value_ok,
		.writes = &spotgo_order_writes,
	},
};

const int	spotgo_nresources = lengthof(spotgo_resources);

/* ---- push: delivery of outbox items ---- */

/*
 * spotgo_order_key
 *		Check an order for the outbox as spotgo_upsert_order() would; return
 *		its orderNumber.
 */
char *
spotgo_order_key(Jsonb *order)
{
	return spotgo_check_order(order);
}

/* the order's id in an upsert answer: {"order": {"orderId": ...}} */
static char *
spotgo_answer_order_id(Jsonb *answer)
{
	JsonbValue *order;
	JsonbValue *id;

	if (answer == NULL || !JB_ROOT_IS_OBJECT(answer))
		return NULL;
	order = spotgo_get(&answer->root, "order");
	if (order == NULL || !spotgo_is_object(order))
		return NULL;
	id = spotgo_get(order->val.binary.data, "orderId");
	return (id && id->type == jbvString) ? spotgo_string(id) : NULL;
}

static HttpTransfer *
spotgo_push_begin(ApiEndpoint *ep, PushItem *item, HttpRequest *req)
{
	int			len;
	char	   *body = jrows_jsonb_text(item->payload, &len);

	spotgo_request(ep, req, "POST", "SpotGo order upsert", body, len);
	req->endpoint = spotgo_assumed.upsert_path;
	req->idempotent = true;
	req->no_raise = true;
	appendStringInfoString(&req->path, spotgo_assumed.upsert_path);
	return http_begin(ep, req);
}

/*
 * spotgo_push_upserts
 *		Up to max_concurrency upserts in flight at once on the backend's
 *		multi handle: finishing one drives all, and a new one starts as each
 *		ends.
 */
static void
spotgo_push_upserts(ApiEndpoint *ep, PushItem **items, int n)
{
	int			window = Max(1, ep->max_concurrency);
	HttpTransfer **xfers = palloc0(sizeof(HttpTransfer *) * n);
	HttpRequest *reqs = palloc0(sizeof(HttpRequest) * n);
	int			next = 0;

	for (; next < n && next < window; next++)
		xfers[next] = spotgo_push_begin(ep, items[next], &reqs[next]);

	for (int i = 0; i < n; i++)
	{
		HttpResponse resp;

		http_finish(xfers[i], &resp);
		if (next < n)
		{
			xfers[next] = spotgo_push_begin(ep, items[next], &reqs[next]);
			next++;
		}
		if (http_ok(&resp))
		{
			char	   *why;
			Jsonb	   *answer = jrows_try_body_jsonb(resp.body, resp.body_len,
													  "SpotGo order upsert", &why);

			if (answer == NULL)
				push_failed_text(items[i], resp.status, false, why);
			else
			{
				push_done(items[i], resp.status, answer);
				items[i]->learned_order_id = spotgo_answer_order_id(answer);
			}
		}
		else
			push_failed(items[i], &resp);
	}
}

/*
 * spotgo_find_order_id
 *		The id of the order with exactly this number, by a query on the
 *		number (the query may match other numbers too, so pages are read
 *		until it is found); NULL when SpotGo has none.  false when a request
 *		failed (the item then carries the failure).  Raises what the query
 *		raises (an answer of the wrong shape, a looping token, max_pages).
 */
static bool
spotgo_find_order_id(ApiEndpoint *ep, PushItem *item, char **order_id)
{
	StringInfoData buf;
	ListingQuery q;
	Listing    *l;
	Datum	   *values;
	bool	   *nulls;
	const HttpResponse *failed;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"orderNumber\": ");
	escape_json(&buf, item->key);
	appendStringInfoChar(&buf, '}');

	memset(&q, 0, sizeof(q));
	q.limit = -1;
	q.args = spotgo_filter_from_jsonb(DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																		 CStringGetDatum(buf.data))));
	*order_id = NULL;
	l = listing_open(&spotgo_resources[0], ep, &q, true);
	while (listing_next(l, &values, &nulls))
	{
		if (nulls[SO_ORDER_ID] || nulls[SO_ORDER_NUMBER])
			continue;
		if (strcmp(TextDatumGetCString(values[SO_ORDER_NUMBER]), item->key) == 0)
		{
			*order_id = DatumGetCString(DirectFunctionCall1(uuid_out, values[SO_ORDER_ID]));
			break;
		}
	}
	failed = listing_failure(l);
	if (failed != NULL)
	{
		HttpResponse resp = *failed;

		resp.body = pstrdup(failed->body);
		resp.error = failed->error ? pstrdup(failed->error) : NULL;
		listing_close(l, NULL);
		push_failed(item, &resp);
		return false;
	}
	listing_close(l, NULL);
	return true;
}

/* deletes, one after another: find the id when not known, then DELETE */
static void
spotgo_push_deletes(ApiEndpoint *ep, PushItem **items, int n)
{
	for (int i = 0; i < n; i++)
	{
		PushItem   *item = items[i];
		char	   *order_id = item->order_id;
		HttpRequest req;
		HttpResponse resp;

		if (order_id == NULL)
		{
			if (!spotgo_find_order_id(ep, item, &order_id))
				continue;
			if (order_id == NULL)
			{
				/* SpotGo never had it: nothing to delete */
				push_done(item, 200, DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																		CStringGetDatum("{\"deleted\": false, \"reason\": \"no such order\"}"))));
				continue;
			}
		}
		spotgo_request(ep, &req, "DELETE", "SpotGo order deletion", NULL, 0);
		req.endpoint = SPOTGO_ORDERS_PATH "/{orderId}";
		req.no_raise = true;
		appendStringInfoString(&req.path, SPOTGO_ORDERS_PATH "/");
		http_append_encoded(&req.path, order_id);
		http_execute(ep, &req, &resp);
		if (http_ok(&resp) || resp.status == 404)
		{
			StringInfoData r;

			initStringInfo(&r);
			appendStringInfo(&r, "{\"deleted\": %s, \"orderId\": ", resp.status == 404 ? "false" : "true");
			escape_json(&r, order_id);
			appendStringInfoChar(&r, '}');
			push_done(item, resp.status, DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(r.data))));
		}
		else
			push_failed(item, &resp);
	}
}

/*
 * spotgo_push
 *		Deliver outbox items of one server, role and operation.  Outcomes go
 *		into the items; HTTP failures do not raise.
 */
void
spotgo_push(ApiEndpoint *ep, PushItem **items, int n)
{
	if (n == 0)
		return;
	if (items[0]->op == PUSH_SPOTGO_UPSERT)
		spotgo_push_upserts(ep, items, n);
	else
		spotgo_push_deletes(ep, items, n);
}
