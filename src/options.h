/*-------------------------------------------------------------------------
 *
 * options.h
 *		Foreign-server and user-mapping options, resolved into one
 *		ApiEndpoint per call.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_OPTIONS_H
#define SPOTGO_GSS_OPTIONS_H

typedef enum ApiKind
{
	API_SPOTGO,
	API_GSS
} ApiKind;

/*
 * Everything a request needs to know about one server, as seen by one role.
 * Allocated in the caller's memory context by endpoint_lookup().  "secret"
 * is the user mapping's key: it is only ever copied into a request header,
 * never into a message.
 */
typedef struct ApiEndpoint
{
	Oid			serverid;
	Oid			userid;			/* role whose user mapping applies */
	char	   *servername;
	ApiKind		api;
	char	   *base_url;		/* no trailing slash */
	char	   *site_id;		/* gss */
	char	   *support_email;	/* gss, may be NULL */
	char	   *api_version;	/* spotgo */
	char	   *api_key_header; /* spotgo */
	char	   *sync_filter;	/* spotgo, JSON object text */
	int			timeout_ms;
	int			connect_timeout_ms;
	int			max_retries;
	int			requests_per_minute;	/* 0: no client-side limit */
	int			page_size;
	int			max_pages;		/* requests one listing may take */
	int			batch_size;
	int			max_concurrency;
	int			latency_ms;		/* a request's round trip, for the planner */
	bool		verify_tls;
	char	   *ca_file;		/* may be NULL */
	char	   *secret;			/* access_key (gss) or api_key (spotgo) */
} ApiEndpoint;

struct ForeignServer;

extern ApiEndpoint *endpoint_lookup(const char *servername, ApiKind api, Oid userid);
extern ApiEndpoint *endpoint_for_server(struct ForeignServer *server, ApiKind api, const char *guc);
extern void endpoint_add_user_mapping(ApiEndpoint *ep, Oid userid);
extern const char *api_display_name(ApiKind api);

#endif							/* SPOTGO_GSS_OPTIONS_H */
