/*-------------------------------------------------------------------------
 *
 * options.c
 *		The foreign-data wrapper's option validator, and the lookup that
 *		turns a server name plus the caller's user mapping into an
 *		ApiEndpoint.
 *
 * Servers carry the non-secret settings (api, base_url, limits); user
 * mappings carry the secret key, as postgres_fdw keeps passwords.  The
 * validator sees the complete option list of an object on every CREATE and
 * ALTER, so per-API rules (site_id required for gss, spotgo-only options)
 * are checked here, before any request is made.  max_pages (default 10000)
 * bounds the requests of one listing; latency_ms (default 100) is what a
 * request costs the planner.  Foreign tables carry resource (one of the
 * resources of gss.c and spotgo.c, required) and rows (an estimate); the
 * server's api must be the resource's, which is checked when the table is
 * used (fdw.c), since a table's validator does not see its server.  Values
 * that end up in HTTP headers are refused when they hold control
 * characters, so no option can inject a header.  Messages never quote a
 * secret's value.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/htup_details.h"
#include "access/reloptions.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/syscache.h"

#include "compat.h"
#include "options.h"
#include "resource.h"
#include "spotgo_gss.h"

PG_FUNCTION_INFO_V1(spotgo_gss_fdw_validator);

typedef enum OptKind
{
	OPT_TEXT,					/* free text, no control characters */
	OPT_API,
	OPT_URL,
	OPT_INT,
	OPT_BOOL,
	OPT_EMAIL,
	OPT_VERSION,
	OPT_HEADER_NAME,
	OPT_JSON_OBJECT,
	OPT_PATH,
	OPT_SECRET,
	OPT_RESOURCE
} OptKind;

#define FOR_GSS		0x01
#define FOR_SPOTGO	0x02
#define FOR_BOTH	(FOR_GSS | FOR_SPOTGO)

typedef struct OptionDef
{
	const char *name;
	Oid			context;		/* catalog the option belongs to */
	OptKind		kind;
	int			apis;			/* FOR_* */
	int			min;			/* OPT_INT bounds */
	int			max;
} OptionDef;

static const OptionDef option_defs[] = {
	{"api", ForeignServerRelationId, OPT_API, FOR_BOTH, 0, 0},
	{"base_url", ForeignServerRelationId, OPT_URL, FOR_BOTH, 0, 0},
	{"site_id", ForeignServerRelationId, OPT_TEXT, FOR_GSS, 0, 0},
	{"support_email", ForeignServerRelationId, OPT_EMAIL, FOR_GSS, 0, 0},
	{"api_version", ForeignServerRelationId, OPT_VERSION, FOR_SPOTGO, 0, 0},
	{"api_key_header", ForeignServerRelationId, OPT_HEADER_NAME, FOR_SPOTGO, 0, 0},
	{"timeout_ms", ForeignServerRelationId, OPT_INT, FOR_BOTH, 1, 3600000},
	{"connect_timeout_ms", ForeignServerRelationId, OPT_INT, FOR_BOTH, 1, 600000},
	{"max_retries", ForeignServerRelationId, OPT_INT, FOR_BOTH, 0, 20},
	{"requests_per_minute", ForeignServerRelationId, OPT_INT, FOR_BOTH, 0, 1000000},
	{"page_size", ForeignServerRelationId, OPT_INT, FOR_BOTH, 1, 10000},
	{"max_pages", ForeignServerRelationId, OPT_INT, FOR_BOTH, 1, 1000000},
	{"batch_size", ForeignServerRelationId, OPT_INT, FOR_GSS, 1, 1000},
	{"max_concurrency", ForeignServerRelationId, OPT_INT, FOR_SPOTGO, 1, 64},
	{"sync_filter", ForeignServerRelationId, OPT_JSON_OBJECT, FOR_SPOTGO, 0, 0},
	{"verify_tls", ForeignServerRelationId, OPT_BOOL, FOR_BOTH, 0, 0},
	{"ca_file", ForeignServerRelationId, OPT_PATH, FOR_BOTH, 0, 0},
	{"latency_ms", ForeignServerRelationId, OPT_INT, FOR_BOTH, 0, 600000},
	{"access_key", UserMappingRelationId, OPT_SECRET, FOR_GSS, 0, 0},
	{"api_key", UserMappingRelationId, OPT_SECRET, FOR_SPOTGO, 0, 0},
	{"resource", ForeignTableRelationId, OPT_RESOURCE, FOR_BOTH, 0, 0},
	{"rows", ForeignTableRelationId, OPT_INT, FOR_BOTH, 0, INT_MAX},
	{NULL, InvalidOid, OPT_TEXT, 0, 0, 0}
};

#define GSS_DEFAULT_BASE_URL	"https://api.gosweetspot.com"
#define SPOTGO_DEFAULT_BASE_URL "https://api-test.spotgo.eu"

/*
 * api_display_name
 *		The service's name as users know it, for messages.
 */
const char *
api_display_name(ApiKind api)
{
	return api == API_GSS ? "GoSweetSpot" : "SpotGo";
}

/*
 * options_valid_list
 *		Comma-separated names of the options valid for a catalog (and, when
 *		apis is not FOR_BOTH, for one API), for hints.  palloc'd.
 */
static char *
options_valid_list(Oid context, int apis)
{
	StringInfoData buf;
	const OptionDef *def;

	initStringInfo(&buf);
	for (def = option_defs; def->name; def++)
	{
		if (def->context != context || (def->apis & apis) == 0)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, def->name);
	}
	if (buf.len == 0)
		appendStringInfoString(&buf, "(none)");
	return buf.data;
}

static const OptionDef *
options_find(const char *name, Oid context)
{
	const OptionDef *def;

	for (def = option_defs; def->name; def++)
		if (def->context == context && strcmp(def->name, name) == 0)
			return def;
	return NULL;
}

static bool
options_has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static void
options_bad_value(const char *name, const char *value, const char *detail)
{
	/* never echo control characters into a message */
	if (options_has_control_chars(value))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\"", name),
				 errdetail("%s", detail)));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
			 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
			 errdetail("%s", detail)));
}

/*
 * options_parse_int
 *		Parse an integer option strictly; NULL-safe error message.
 */
static int
options_parse_int(const char *name, const char *value, int min, int max)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (value[0] == '\0' || *end != '\0' || errno == ERANGE || v < min || v > max)
		options_bad_value(name, value,
						  psprintf("The value must be an integer from %d to %d.", min, max));
	return (int) v;
}

/*
 * options_check_url
 *		base_url: http or https, a host, optional port and path prefix; no
 *		credentials, query or fragment (a key in the URL would leak into
 *		messages).
 */
static void
options_check_url(const char *value)
{
	const char *rest;
	const char *host_end;

	if (strncmp(value, "https://", 8) == 0)
		rest = value + 8;
	else if (strncmp(value, "http://", 7) == 0)
		rest = value + 7;
	else
		options_bad_value("base_url", value,
						  "The URL must start with https:// or http://.");

	host_end = rest + strcspn(rest, "/");
	if (host_end == rest)
		options_bad_value("base_url", value, "The URL must name a host.");
	if (memchr(rest, '@', host_end - rest) != NULL)
		options_bad_value("base_url", "...",
						  "The URL must not carry credentials; put the key in a user mapping.");
	if (strpbrk(value, "?# \t\"<>\\") != NULL || options_has_control_chars(value))
		options_bad_value("base_url", value,
						  "The URL must not contain a query, a fragment, spaces or quotes.");
}

/*
 * options_check_value
 *		Validate one option's value by its kind.  Raises on a bad value.
 */
static void
options_check_value(const OptionDef *def, const char *value)
{
	switch (def->kind)
	{
		case OPT_API:
			if (strcmp(value, "gss") != 0 && strcmp(value, "spotgo") != 0)
				options_bad_value(def->name, value, "The value must be \"gss\" or \"spotgo\".");
			break;
		case OPT_URL:
			options_check_url(value);
			break;
		case OPT_INT:
			(void) options_parse_int(def->name, value, def->min, def->max);
			break;
		case OPT_BOOL:
			{
				bool		b;

				if (!parse_bool(value, &b))
					options_bad_value(def->name, value, "The value must be a boolean (true or false).");
				break;
			}
		case OPT_EMAIL:
			if (strchr(value, '@') == NULL || strpbrk(value, " ,;<>\"") != NULL ||
				options_has_control_chars(value))
				options_bad_value(def->name, value, "The value must be one e-mail address.");
			break;
		case OPT_VERSION:
			if (value[0] == '\0' || strspn(value, "0123456789.") != strlen(value))
				options_bad_value(def->name, value, "The value must be a version number such as 1.0.");
			break;
		case OPT_HEADER_NAME:
			if (value[0] == '\0' ||
				strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != strlen(value))
				options_bad_value(def->name, value,
								  "The value must be an HTTP header name (letters, digits, '-' and '_').");
			break;
		case OPT_JSON_OBJECT:
			{
				JsonLexContext *lex = compat_json_lexer(unconstify(char *, value), strlen(value), true);

				if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS ||
					value[strspn(value, " \t\r\n")] != '{')
					options_bad_value(def->name, value, "The value must be a JSON object.");
				break;
			}
		case OPT_PATH:
			if (!is_absolute_path(value) || options_has_control_chars(value))
				options_bad_value(def->name, value, "The value must be an absolute file path.");
			break;
		case OPT_SECRET:
			if (value[0] == '\0' || options_has_control_chars(value))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"%s\"", def->name),
						 errdetail("A key must be non-empty and free of control characters.")));
			break;
		case OPT_RESOURCE:
			if (resource_by_name(value) == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"%s\": \"%s\"", def->name,
								options_has_control_chars(value) ? "..." : value),
						 errhint("Valid resources are: %s.", resource_names())));
			break;
		case OPT_TEXT:
			if (value[0] == '\0' || options_has_control_chars(value))
				options_bad_value(def->name, value, "The value must be non-empty and free of control characters.");
			break;
	}
}

/*
 * spotgo_gss_fdw_validator
 *		Validator of the spotgo_gss foreign-data wrapper: unknown options,
 *		bad values, options of the other API, and a missing api or site_id
 *		are errors naming what is valid.
 */
Datum
spotgo_gss_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	const char *api = NULL;
	bool		has_site_id = false;
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *d = (DefElem *) lfirst(lc);
		const OptionDef *def = options_find(d->defname, catalog);

		if (def == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", d->defname),
					 errhint("Valid options in this context are: %s",
							 options_valid_list(catalog, FOR_BOTH))));
		options_check_value(def, defGetString(d));
		if (strcmp(d->defname, "api") == 0)
			api = defGetString(d);
		else if (strcmp(d->defname, "site_id") == 0)
			has_site_id = true;
	}

	if (catalog == ForeignTableRelationId)
	{
		bool		has_resource = false;

		foreach(lc, options)
			if (strcmp(((DefElem *) lfirst(lc))->defname, "resource") == 0)
				has_resource = true;
		if (!has_resource)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("option \"resource\" is required for a spotgo_gss foreign table"),
					 errhint("Valid resources are: %s.", resource_names())));
	}
	if (catalog != ForeignServerRelationId)
		PG_RETURN_VOID();

	if (api == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("option \"api\" is required for a spotgo_gss server"),
				 errhint("Add OPTIONS (api 'gss') or OPTIONS (api 'spotgo').")));

	/* options of the other API are refused rather than silently ignored */
	foreach(lc, options)
	{
		DefElem    *d = (DefElem *) lfirst(lc);
		const OptionDef *def = options_find(d->defname, catalog);
		int			want = strcmp(api, "gss") == 0 ? FOR_GSS : FOR_SPOTGO;

		if ((def->apis & want) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"%s\" does not apply to a server with api '%s'", d->defname, api),
					 errhint("Valid options in this context are: %s",
							 options_valid_list(catalog, want))));
	}

	if (strcmp(api, "gss") == 0 && !has_site_id)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("option \"site_id\" is required for a server with api 'gss'"),
				 errhint("GoSweetSpot sends it as the site_id header; add OPTIONS (site_id '...').")));

	PG_RETURN_VOID();
}

/*
 * endpoint_user_mapping_options
 *		The options of userid's mapping for the server, else PUBLIC's; NIL
 *		with *found false when neither exists.  Unlike GetUserMapping() this
 *		does not raise, so the caller can phrase the error.
 */
static List *
endpoint_user_mapping_options(Oid userid, Oid serverid, bool *found)
{
	HeapTuple	tp;
	Datum		datum;
	bool		isnull;
	List	   *options = NIL;

	tp = SearchSysCache2(USERMAPPINGUSERSERVER,
						 ObjectIdGetDatum(userid), ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tp))
		tp = SearchSysCache2(USERMAPPINGUSERSERVER,
							 ObjectIdGetDatum(InvalidOid), ObjectIdGetDatum(serverid));
	*found = HeapTupleIsValid(tp);
	if (!*found)
		return NIL;

	datum = SysCacheGetAttr(USERMAPPINGUSERSERVER, tp, Anum_pg_user_mapping_umoptions, &isnull);
	if (!isnull)
		options = untransformRelOptions(datum);
	ReleaseSysCache(tp);
	return options;
}

/*
 * endpoint_for_server
 *		The settings of a server (options, else defaults) as an ApiEndpoint
 *		without a key, palloc'd in the current context: what planning and
 *		EXPLAIN need.  Raises when the server's api is not api (guc names the
 *		setting that chose the server, for the hint; NULL: none).
 */
ApiEndpoint *
endpoint_for_server(ForeignServer *server, ApiKind api, const char *guc)
{
	ApiEndpoint *ep;
	const char *servername = server->servername;
	ListCell   *lc;

	ep = palloc0(sizeof(ApiEndpoint));
	ep->serverid = server->serverid;
	ep->userid = InvalidOid;
	ep->servername = pstrdup(server->servername);
	ep->api = api;
	ep->base_url = api == API_GSS ? GSS_DEFAULT_BASE_URL : SPOTGO_DEFAULT_BASE_URL;
	ep->api_version = "1.0";
	ep->api_key_header = "X-Api-Key";
	ep->sync_filter = "{}";
	ep->timeout_ms = 30000;
	ep->connect_timeout_ms = 5000;
	ep->max_retries = 3;
	ep->requests_per_minute = api == API_GSS ? 60 : 0;
	ep->page_size = 100;
	ep->max_pages = 10000;
	ep->batch_size = 50;
	ep->max_concurrency = 8;
	ep->verify_tls = true;
	ep->latency_ms = 100;

	foreach(lc, server->options)
	{
		DefElem    *d = (DefElem *) lfirst(lc);
		char	   *v = defGetString(d);
		const char *n = d->defname;

		if (strcmp(n, "api") == 0)
		{
			if ((strcmp(v, "gss") == 0) != (api == API_GSS))
				ereport(ERROR,
						(errcode(ERRCODE_WRONG_OBJECT_TYPE),
						 errmsg("server \"%s\" is a %s server, not a %s server",
								servername,
								api == API_GSS ? "SpotGo" : "GoSweetSpot",
								api_display_name(api)),
						 guc ? errhint("Name a server created with OPTIONS (api '%s'), or set %s.",
									   api == API_GSS ? "gss" : "spotgo", guc) : 0));
		}
		else if (strcmp(n, "base_url") == 0)
			ep->base_url = v;
		else if (strcmp(n, "site_id") == 0)
			ep->site_id = v;
		else if (strcmp(n, "support_email") == 0)
			ep->support_email = v;
		else if (strcmp(n, "api_version") == 0)
			ep->api_version = v;
		else if (strcmp(n, "api_key_header") == 0)
			ep->api_key_header = v;
		else if (strcmp(n, "sync_filter") == 0)
			ep->sync_filter = v;
		else if (strcmp(n, "timeout_ms") == 0)
			ep->timeout_ms = options_parse_int(n, v, 1, INT_MAX);
		else if (strcmp(n, "connect_timeout_ms") == 0)
			ep->connect_timeout_ms = options_parse_int(n, v, 1, INT_MAX);
		else if (strcmp(n, "max_retries") == 0)
			ep->max_retries = options_parse_int(n, v, 0, INT_MAX);
		else if (strcmp(n, "requests_per_minute") == 0)
			ep->requests_per_minute = options_parse_int(n, v, 0, INT_MAX);
		else if (strcmp(n, "page_size") == 0)
			ep->page_size = options_parse_int(n, v, 1, INT_MAX);
		else if (strcmp(n, "max_pages") == 0)
			ep->max_pages = options_parse_int(n, v, 1, INT_MAX);
		else if (strcmp(n, "batch_size") == 0)
			ep->batch_size = options_parse_int(n, v, 1, INT_MAX);
		else if (strcmp(n, "max_concurrency") == 0)
			ep->max_concurrency = options_parse_int(n, v, 1, INT_MAX);
		else if (strcmp(n, "verify_tls") == 0)
			(void) parse_bool(v, &ep->verify_tls);
		else if (strcmp(n, "ca_file") == 0)
			ep->ca_file = v;
		else if (strcmp(n, "latency_ms") == 0)
			ep->latency_ms = options_parse_int(n, v, 0, INT_MAX);
	}

	/* strip trailing slashes so that paths can be appended as "/api/..." */
	ep->base_url = pstrdup(ep->base_url);
	{
		size_t		len = strlen(ep->base_url);

		while (len > 0 && ep->base_url[len - 1] == '/')
			ep->base_url[--len] = '\0';
	}

	return ep;
}

/*
 * endpoint_lookup
 *		Resolve a server name (NULL: the API's GUC default) and the user
 *		mapping of userid (else PUBLIC) into an ApiEndpoint, palloc'd in the
 *		current context.  Raises when the server is missing, belongs to
 *		another wrapper or API, the role lacks USAGE, or the mapping or its
 *		key is missing.
 */
ApiEndpoint *
endpoint_lookup(const char *servername, ApiKind api, Oid userid)
{
	ForeignServer *server;
	ForeignDataWrapper *fdw;
	ApiEndpoint *ep;
	AclResult	aclresult;
	const char *guc = api == API_GSS ? "spotgo_gss.gss_server" : "spotgo_gss.spotgo_server";

	if (servername == NULL)
		servername = api == API_GSS ? spotgo_gss_gss_server : spotgo_gss_spotgo_server;
	if (servername == NULL || servername[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no %s server named", api_display_name(api)),
				 errhint("Pass the server name as the last argument, or set %s.", guc)));

	server = GetForeignServerByName(servername, true);
	if (server == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("server \"%s\" does not exist", servername),
				 errhint("Create it with CREATE SERVER %s FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api '%s', ...), or set %s.",
						 quote_identifier(servername), api == API_GSS ? "gss" : "spotgo", guc)));

	fdw = GetForeignDataWrapper(server->fdwid);
	if (strcmp(fdw->fdwname, "spotgo_gss") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("server \"%s\" does not use the spotgo_gss foreign-data wrapper", servername)));

	aclresult = compat_server_aclcheck(server->serverid, userid, ACL_USAGE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FOREIGN_SERVER, server->servername);

	ep = endpoint_for_server(server, api, guc);
	endpoint_add_user_mapping(ep, userid);
	return ep;
}

/*
 * endpoint_add_user_mapping
 *		Put the key of userid's user mapping for ep's server (else PUBLIC's)
 *		into ep.  Raises 55000 when there is no mapping or it has no key.
 */
void
endpoint_add_user_mapping(ApiEndpoint *ep, Oid userid)
{
	const char *servername = ep->servername;
	const char *secret_name = ep->api == API_GSS ? "access_key" : "api_key";
	List	   *umoptions;
	bool		found;
	ListCell   *lc;

	ep->userid = userid;
	umoptions = endpoint_user_mapping_options(userid, ep->serverid, &found);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no user mapping for role \"%s\" on server \"%s\"",
						GetUserNameFromId(userid, false), servername),
				 errhint("Create one with CREATE USER MAPPING FOR %s SERVER %s OPTIONS (%s '...').",
						 quote_identifier(GetUserNameFromId(userid, false)),
						 quote_identifier(servername), secret_name)));

	foreach(lc, umoptions)
	{
		DefElem    *d = (DefElem *) lfirst(lc);

		if (strcmp(d->defname, secret_name) == 0)
			ep->secret = defGetString(d);
	}
	if (ep->secret == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("user mapping for role \"%s\" on server \"%s\" has no %s option",
						GetUserNameFromId(userid, false), servername, secret_name),
				 errhint("Add it with ALTER USER MAPPING FOR %s SERVER %s OPTIONS (ADD %s '...').",
						 quote_identifier(GetUserNameFromId(userid, false)),
						 quote_identifier(servername), secret_name)));
}
