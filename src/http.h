/*-------------------------------------------------------------------------
 *
 * http.h
 *		The HTTP layer of spotgo_gss, in terms of HttpRequest and
 *		HttpResponse.  Only http.c knows that libcurl does the work.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_HTTP_H
#define SPOTGO_GSS_HTTP_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

#include "compat.h"
#include "options.h"

/* one part of a multipart/form-data body */
typedef struct HttpFormPart
{
	const char *name;
	const char *data;
	size_t		len;
	const char *filename;		/* NULL: a plain field */
	const char *content_type;	/* NULL: libcurl's default */
} HttpFormPart;

typedef struct HttpRequest
{
	const char *method;			/* GET, POST, PUT or DELETE */
	StringInfoData path;		/* encoded path and query, from '/' on */
	List	   *headers;		/* palloc'd "Name: value" strings */
	const char *body;			/* NULL: none */
	size_t		body_len;
	HttpFormPart *form;			/* multipart body instead of body */
	int			nform;
	bool		idempotent;		/* safe to send again after any failure */
	bool		no_raise;		/* transport failures go to resp->error */
	const char *what;			/* what is being fetched, for errcontext */
	const char *endpoint;		/* the path's template for api_stats, e.g.
								 * "/v2/order/{packingslipno}": no identifier */
} HttpRequest;

typedef struct HttpResponse
{
	long		status;
	char	   *body;			/* NUL-terminated; palloc'd */
	size_t		body_len;
	char	   *content_type;	/* NULL when not sent */
	char	   *content_disposition;
	int			attempts;
	char	   *error;			/* no_raise: why there is no answer (status 0) */
	const char *secret;			/* the key sent, to redact from quoted API text */
} HttpResponse;

/* an asynchronous transfer, see http_begin() */
typedef struct HttpTransfer HttpTransfer;

extern void http_request_init(HttpRequest *req, const char *method, const char *what);
extern void http_add_header(HttpRequest *req, const char *name, const char *value);
extern void http_append_encoded(StringInfo buf, const char *s);

extern void http_execute(ApiEndpoint *ep, HttpRequest *req, HttpResponse *resp);
extern HttpTransfer *http_begin(ApiEndpoint *ep, HttpRequest *req);
extern void http_finish(HttpTransfer *xfer, HttpResponse *resp);
extern void http_progress(void);

extern bool http_ok(const HttpResponse *resp);
extern void http_raise_for_status(ApiEndpoint *ep, HttpRequest *req, HttpResponse *resp);
extern char *http_api_message(const char *body, size_t len, const char *secret);
extern char *http_failure_text(const HttpResponse *resp);
extern char *http_clean_text(const char *s, size_t len, size_t max);
compat_noreturn extern void http_raise_too_many_pages(ApiEndpoint *ep, const char *what,
													  const char *api_said);

#endif							/* SPOTGO_GSS_HTTP_H */
