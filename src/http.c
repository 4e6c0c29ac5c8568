/*-------------------------------------------------------------------------
 *
 * http.c
 *		The only file that talks to libcurl: handle cache, keep-alive,
 *		timeouts, cancel, retries with back-off and Retry-After, the
 *		client-side rate limit, the response size cap, and the mapping of
 *		failures to SQLSTATEs.
 *
 * One CURLM multi handle per backend owns the connection pool, so a
 * connection to an API host stays open (keep-alive) across statements.  Each
 * foreign server has one cached easy handle in http_servers, re-initialised
 * with curl_easy_reset() before every attempt (which keeps its connection and
 * DNS cache); a second transfer on a server whose handle is busy gets a
 * temporary handle.  Any change to a server or user mapping (syscache
 * callbacks) drops the cached handles, as postgres_fdw's connection cache
 * is invalidated; a handle in use is dropped when its transfer ends.
 *
 * Transfers run through the multi interface so that waiting never blocks
 * signal handling: the wait loop polls the sockets for at most
 * HTTP_POLL_MS at a time and calls CHECK_FOR_INTERRUPTS() between polls, so
 * query cancel and statement_timeout end a transfer within that time.  The
 * back-off and rate-limit pauses wait on the process latch.  Every wait
 * ends the process on postmaster death: the latch waits with
 * WL_EXIT_ON_PM_DEATH, the socket poll (not a latch wait) by checking
 * PostmasterIsAlive() after each poll.
 *
 * libcurl's memory lives outside PostgreSQL's memory contexts, and an ERROR
 * unwinds with longjmp, so every attached transfer is detached (handle
 * removed from the multi handle, header list and MIME body freed) by whichever
 * comes first: the PG_CATCH around the wait loop, a (sub)transaction abort
 * callback, or the reset callback of the memory context the transfer was
 * allocated in.  Callbacks that libcurl calls never raise: they record a
 * condition that is turned into an error after the transfer ends.
 *
 * The response body grows in the caller's memory context with
 * MCXT_ALLOC_NO_OOM allocations, bounded by spotgo_gss.max_response_bytes.
 *
 * Secrets travel only in request headers, which are never logged or quoted
 * in messages; base_url cannot hold credentials (options.c).  Text that
 * came from an API reaches a message only through http_append_clean()
 * (control characters become spaces, invalid bytes '?'), after the key that
 * was sent has been masked, and only then cut to length.
 *
 * http_begin() only attaches a transfer: it moves when http_finish() waits
 * for it, or when the caller, busy with other work meanwhile (parsing the
 * page before), calls http_progress() now and then.
 *
 * http_raise_too_many_pages() is the one error of a listing that would need
 * more than the server's max_pages requests; the page loop (listing.c)
 * calls it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "access/xact.h"
#include "common/jsonapi.h"
#include "lib/ilist.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "http.h"
#include "stats.h"
#include "ratelimit.h"
#include "spotgo_gss.h"

#define HTTP_POLL_MS			100 /* longest wait between interrupt checks */
#define HTTP_BACKOFF_BASE_MS	250
#define HTTP_BACKOFF_MAX_MS		10000
#define HTTP_RATE_RING_MAX		6000
#define HTTP_MESSAGE_MAX		500 /* bytes of an API message quoted in DETAIL */
#define HTTP_USER_AGENT			"spotgo_gss/" SPOTGO_GSS_VERSION

/* per-server cache entry: the reusable handle and the rate-limit log */
typedef struct ServerState
{
	Oid			serverid;		/* hash key */
	CURL	   *easy;			/* NULL until first use */
	bool		busy;			/* easy is attached to a transfer */
	bool		stale;			/* options changed: drop easy when idle */
	int			rate_rpm;		/* requests_per_minute the ring is sized for */
	int			rate_size;
	int			rate_next;
	int			rate_count;
	int64		rate_window_us;
	TimestampTz *rate_sent;		/* start times of the last rate_size requests */
} ServerState;

struct HttpTransfer
{
	ApiEndpoint *ep;
	HttpRequest *req;
	ServerState *ss;
	CURL	   *easy;
	bool		own_easy;		/* temporary handle, clean up after use */
	struct curl_slist *headers;
	curl_mime  *mime;
	bool		attached;
	bool		done;
	CURLcode	result;
	dlist_node	node;			/* in http_attached while attached */
	SubTransactionId subxid;	/* (sub)transaction that started it */
	MemoryContext cxt;			/* where body and transfer live */
	MemoryContextCallback reset_cb;
	/* response, filled by the libcurl callbacks, which never raise */
	char	   *buf;
	size_t		len;
	size_t		alloc;
	size_t		limit;
	bool		too_big;
	bool		oom;
	char		content_type[256];
	char		content_disposition[512];
	char		retry_after[64];
	char		errbuf[CURL_ERROR_SIZE];
	/* attempts */
	int			attempt;
	TimestampTz deadline;
	instr_time	started;
};

static CURLM *http_multi = NULL;
static HTAB *http_servers = NULL;
static dlist_head http_attached = DLIST_STATIC_INIT(http_attached);

static void http_detach(HttpTransfer *x);

/*
 * http_invalidate
 *		Syscache callback for pg_foreign_server and pg_user_mapping: forget
 *		the handles (and so the connections) of every server.  A handle in
 *		use is dropped when its transfer ends.
 */
static void
http_invalidate(Datum arg pg_attribute_unused(), int cacheid pg_attribute_unused(), uint32 hashvalue pg_attribute_unused())
{
	HASH_SEQ_STATUS scan;
	ServerState *ss;

	if (http_servers == NULL)
		return;
	hash_seq_init(&scan, http_servers);
	while ((ss = hash_seq_search(&scan)) != NULL)
	{
		if (ss->easy == NULL)
			continue;
		if (ss->busy)
			ss->stale = true;
		else
		{
			curl_easy_cleanup(ss->easy);
			ss->easy = NULL;
		}
	}
}

/*
 * http_xact_callback / http_subxact_callback
 *		On abort, detach the transfers started in the aborting (sub)transaction
 *		or its children (subtransaction ids only grow).  A transfer outlives a
 *		function call only on the error path, so nothing live is lost; the
 *		transfers of an enclosing subtransaction go on.
 */
static void
http_detach_from(SubTransactionId subid)
{
	dlist_mutable_iter iter;

	dlist_foreach_modify(iter, &http_attached)
	{
		HttpTransfer *x = dlist_container(HttpTransfer, node, iter.cur);

		if (x->subxid >= subid)
			http_detach(x);
	}
}

static void
http_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		http_detach_from(InvalidSubTransactionId);
}

static void
http_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid pg_attribute_unused(), void *arg pg_attribute_unused())
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		http_detach_from(mySubid);
}

/*
 * http_setup
 *		First-use initialisation of libcurl, the multi handle, the server
 *		cache and the callbacks.
 */
static void
http_setup(void)
{
	HASHCTL		ctl;

	if (http_multi != NULL)
		return;

	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialize libcurl")));

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(ServerState);
	ctl.hcxt = TopMemoryContext;
	http_servers = hash_create("spotgo_gss servers", 8, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, http_invalidate, (Datum) 0);
	CacheRegisterSyscacheCallback(USERMAPPINGOID, http_invalidate, (Datum) 0);
	RegisterXactCallback(http_xact_callback, NULL);
	RegisterSubXactCallback(http_subxact_callback, NULL);

	http_multi = curl_multi_init();
	if (http_multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl multi handle")));
}

/*
 * http_request_init
 *		Start describing a request; the path is appended by the caller with
 *		appendStringInfo and http_append_encoded.
 */
void
http_request_init(HttpRequest *req, const char *method, const char *what)
{
	memset(req, 0, sizeof(HttpRequest));
	req->method = method;
	req->what = what;
	initStringInfo(&req->path);
	req->idempotent = strcmp(method, "POST") != 0;
}

/*
 * http_add_header
 *		Add "name: value" to the request.  The value may be a secret: it is
 *		never logged.
 */
void
http_add_header(HttpRequest *req, const char *name, const char *value)
{
	req->headers = lappend(req->headers, psprintf("%s: %s", name, value));
}

/*
 * http_append_encoded
 *		Append s percent-encoded (RFC 3986: all but unreserved characters),
 *		for a path segment or a query value.
 *
 *		A value that is "." or ".." has its dots encoded too ("%2E%2E"): as a
 *		path segment it would otherwise be a dot segment, which libcurl (and
 *		any RFC 3986 client or server) removes, so that GET /v2/order/..
 *		would become GET /v2/.  Encoding keeps the segment a name at every
 *		hop, where CURLOPT_PATH_AS_IS would only keep libcurl from
 *		normalising it; in a query value "%2E" means the same as ".".
 */
void
http_append_encoded(StringInfo buf, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	bool		dots = strcmp(s, ".") == 0 || strcmp(s, "..") == 0;

	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || (c == '.' && !dots) || c == '_' || c == '~')
			appendStringInfoChar(buf, (char) c);
		else
		{
			appendStringInfoChar(buf, '%');
			appendStringInfoChar(buf, hex[c >> 4]);
			appendStringInfoChar(buf, hex[c & 15]);
		}
	}
}

/* ---- libcurl callbacks: they must not raise ---- */

static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	HttpTransfer *x = (HttpTransfer *) userdata;
	size_t		n = size * nmemb;

	if (x->len + n > x->limit)
	{
		x->too_big = true;
		return 0;
	}
	if (x->len + n + 1 > x->alloc)
	{
		size_t		want = Max(x->alloc * 2, x->len + n + 1);
		char	   *p;

		want = Max(want, 16384);
		want = Min(want, x->limit + 1);
		p = MemoryContextAllocExtended(x->cxt, want, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
		if (p == NULL)
		{
			x->oom = true;
			return 0;
		}
		if (x->buf)
		{
			memcpy(p, x->buf, x->len);
			pfree(x->buf);
		}
		x->buf = p;
		x->alloc = want;
	}
	memcpy(x->buf + x->len, ptr, n);
	x->len += n;
	return n;
}

/* copy a header value (after "Name:") into dst, trimmed */
static void
http_copy_header_value(char *dst, size_t dstlen, const char *v, size_t vlen)
{
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
						v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (vlen >= dstlen)
		vlen = dstlen - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

static size_t
http_header_cb(char *line, size_t size, size_t nitems, void *userdata)
{
	HttpTransfer *x = (HttpTransfer *) userdata;
	size_t		n = size * nitems;
	static const struct
	{
		const char *name;
		size_t		off;
		size_t		len;
	}			wanted[] = {
		{"content-type:", offsetof(HttpTransfer, content_type), sizeof(((HttpTransfer *) 0)->content_type)},
		{"content-disposition:", offsetof(HttpTransfer, content_disposition), sizeof(((HttpTransfer *) 0)->content_disposition)},
		{"retry-after:", offsetof(HttpTransfer, retry_after), sizeof(((HttpTransfer *) 0)->retry_after)},
		{"content-length:", 0, 0},
	};

	/* a new status line (interim response): forget earlier headers */
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0)
	{
		x->content_type[0] = x->content_disposition[0] = x->retry_after[0] = '\0';
		return n;
	}
	for (size_t i = 0; i < lengthof(wanted); i++)
	{
		size_t		nl = strlen(wanted[i].name);

		if (n < nl || pg_strncasecmp(line, wanted[i].name, nl) != 0)
			continue;
		if (wanted[i].len > 0)
			http_copy_header_value((char *) x + wanted[i].off, wanted[i].len, line + nl, n - nl);
		else
		{
			/* size the body buffer once when the length is announced */
			char		num[32];
			unsigned long long cl;

			http_copy_header_value(num, sizeof(num), line + nl, n - nl);
			cl = strtoull(num, NULL, 10);
			if (cl > 0 && cl <= x->limit && cl + 1 > x->alloc && x->len == 0)
			{
				char	   *p = MemoryContextAllocExtended(x->cxt, cl + 1,
														   MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);

				if (p != NULL)
				{
					if (x->buf)
						pfree(x->buf);
					x->buf = p;
					x->alloc = cl + 1;
				}
			}
		}
		break;
	}
	return n;
}

/* ---- attaching and detaching ---- */

/*
 * http_transfer_reset_cb
 *		Memory-context reset callback: a transfer whose context goes away
 *		while still attached is detached first.
 */
static void
http_transfer_reset_cb(void *arg)
{
	HttpTransfer *x = (HttpTransfer *) arg;

	x->buf = NULL;				/* freed with the context */
	http_detach(x);
}

/*
 * http_detach
 *		Remove the transfer from the multi handle and free what libcurl
 *		allocated for it.  Idempotent; never raises.
 */
static void
http_detach(HttpTransfer *x)
{
	if (x->attached)
	{
		curl_multi_remove_handle(http_multi, x->easy);
		dlist_delete(&x->node);
		x->attached = false;
	}
	if (x->headers)
	{
		curl_slist_free_all(x->headers);
		x->headers = NULL;
	}
	if (x->mime)
	{
		curl_mime_free(x->mime);
		x->mime = NULL;
	}
	if (x->easy)
	{
		if (x->own_easy)
			curl_easy_cleanup(x->easy);
		else
		{
			x->ss->busy = false;
			if (x->ss->stale)
			{
				curl_easy_cleanup(x->ss->easy);
				x->ss->easy = NULL;
				x->ss->stale = false;
			}
		}
		x->easy = NULL;
	}
}

static void
http_oom_if(bool failed)
{
	if (failed)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while preparing an HTTP request")));
}

/*
 * http_attach
 *		Prepare a handle for one attempt of x and add it to the multi handle.
 *		Raises only before anything is attached, or after cleaning up.
 */
static void
http_attach(HttpTransfer *x)
{
	ApiEndpoint *ep = x->ep;
	HttpRequest *req = x->req;
	CURL	   *easy;
	ListCell   *lc;
	char	   *url;
	long		remaining_ms;

	remaining_ms = (long) ((x->deadline - GetCurrentTimestamp()) / 1000);
	if (remaining_ms < 1)
		remaining_ms = 1;

	if (!x->ss->busy)
	{
		if (x->ss->easy == NULL)
			x->ss->easy = curl_easy_init();
		http_oom_if(x->ss->easy == NULL);
		x->ss->busy = true;
		x->own_easy = false;
		easy = x->ss->easy;
		curl_easy_reset(easy);
	}
	else
	{
		easy = curl_easy_init();
		http_oom_if(easy == NULL);
		x->own_easy = true;
	}
	x->easy = easy;

	/* reset per-attempt response state, keeping the buffer */
	x->len = 0;
	x->too_big = x->oom = false;
	x->done = false;
	x->result = CURLE_OK;
	x->content_type[0] = x->content_disposition[0] = x->retry_after[0] = '\0';
	x->errbuf[0] = '\0';

	PG_TRY();
	{
		url = psprintf("%s%s", ep->base_url, req->path.data);
		curl_easy_setopt(easy, CURLOPT_URL, url);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *) x);
		curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(easy, CURLOPT_USERAGENT, HTTP_USER_AGENT);
#if LIBCURL_VERSION_NUM >= 0x075500
		curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
		curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
		curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, x->errbuf);
		curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, http_write_cb);
		curl_easy_setopt(easy, CURLOPT_WRITEDATA, (void *) x);
		curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, http_header_cb);
		curl_easy_setopt(easy, CURLOPT_HEADERDATA, (void *) x);
		curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, remaining_ms);
		curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
						 (long) Min(ep->connect_timeout_ms, remaining_ms));
		curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) x->limit);
		curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, ep->verify_tls ? 1L : 0L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, ep->verify_tls ? 2L : 0L);
		if (ep->ca_file)
			curl_easy_setopt(easy, CURLOPT_CAINFO, ep->ca_file);

		foreach(lc, req->headers)
		{
			struct curl_slist *l = curl_slist_append(x->headers, (char *) lfirst(lc));

			http_oom_if(l == NULL);
			x->headers = l;
		}
		/* no "Expect: 100-continue" round trip before large bodies */
		x->headers = curl_slist_append(x->headers, "Expect:");
		http_oom_if(x->headers == NULL);
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, x->headers);

		if (req->nform > 0)
		{
			x->mime = curl_mime_init(easy);
			http_oom_if(x->mime == NULL);
			for (int i = 0; i < req->nform; i++)
			{
				HttpFormPart *p = &req->form[i];
				curl_mimepart *part = curl_mime_addpart(x->mime);

				http_oom_if(part == NULL);
				http_oom_if(curl_mime_name(part, p->name) != CURLE_OK);
				http_oom_if(curl_mime_data(part, p->data, p->len) != CURLE_OK);
				if (p->filename)
					http_oom_if(curl_mime_filename(part, p->filename) != CURLE_OK);
				if (p->content_type)
					http_oom_if(curl_mime_type(part, p->content_type) != CURLE_OK);
			}
			curl_easy_setopt(easy, CURLOPT_MIMEPOST, x->mime);
			if (strcmp(req->method, "POST") != 0)
				curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
		}
		else if (strcmp(req->method, "GET") == 0)
			curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
		else
		{
			if (strcmp(req->method, "POST") == 0)
				curl_easy_setopt(easy, CURLOPT_POST, 1L);
			else
				curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
			if (req->body)
			{
				curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body);
				curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
			}
			else if (strcmp(req->method, "POST") == 0)
			{
				curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
				curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
			}
		}

		if (curl_multi_add_handle(http_multi, easy) != CURLM_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not start an HTTP transfer")));
		x->attached = true;
		dlist_push_tail(&http_attached, &x->node);
		INSTR_TIME_SET_CURRENT(x->started);
	}
	PG_CATCH();
	{
		http_detach(x);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * http_reap
 *		Mark the transfers libcurl has finished as done.  Never raises.
 */
static void
http_reap(void)
{
	int			left;
	CURLMsg    *msg;

	while ((msg = curl_multi_info_read(http_multi, &left)) != NULL)
	{
		HttpTransfer *other;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &other);
		if (other != NULL)
		{
			other->done = true;
			other->result = msg->data.result;
		}
	}
}

/*
 * http_progress
 *		Let the transfers in flight move on without waiting: send what can
 *		be sent, take in what has arrived.  A caller that started a request
 *		with http_begin() and has other work to do (parsing the page before)
 *		calls this now and then, so that the request is on its way.  Never
 *		raises; http_finish() completes the transfer.
 */
void
http_progress(void)
{
	int			running;

	if (http_multi == NULL || dlist_is_empty(&http_attached))
		return;
	curl_multi_perform(http_multi, &running);
	http_reap();
}

/*
 * http_drive
 *		Run the multi handle until x has finished, polling its sockets at most
 *		HTTP_POLL_MS at a time so that cancel and statement_timeout are seen
 *		promptly.  On ERROR (an interrupt) x is detached before re-throwing.
 *		When the postmaster has died the process exits at once (status 1, as
 *		WL_EXIT_ON_PM_DEATH does): a signal interrupts the poll, and the
 *		check runs after every poll.
 */
static void
http_drive(HttpTransfer *x)
{
	PG_TRY();
	{
		while (!x->done)
		{
			int			running;

			curl_multi_perform(http_multi, &running);
			http_reap();
			if (x->done)
				break;
			curl_multi_poll(http_multi, NULL, 0, HTTP_POLL_MS, NULL);
			/* the poll is not a latch wait: see to postmaster death here */
			if (!PostmasterIsAlive())
				proc_exit(1);
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_CATCH();
	{
		http_detach(x);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * http_sleep_ms
 *		Wait on the latch, ending at once on cancel or statement_timeout, and
 *		exiting the process on postmaster death (WL_EXIT_ON_PM_DEATH).
 */
static void
http_sleep_ms(long ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		left = (long) ((end - GetCurrentTimestamp()) / 1000);

		CHECK_FOR_INTERRUPTS();
		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * http_rate_wait
 *		Client-side rate limit: at most requests_per_minute request starts in
 *		any sliding minute, per server, counted across the database's
 *		sessions when the library is preloaded (ratelimit.c), else per
 *		session.  Records this start.
 */
static void
http_rate_wait(ServerState *ss, ApiEndpoint *ep, HttpRequest *req)
{
	int			rpm = ep->requests_per_minute;
	long		wait_ms;
	bool		counted = false;	/* one throttled pause per request */

	if (rpm <= 0)
		return;

	while ((wait_ms = ratelimit_shared_try(ep->serverid, rpm)) >= 0)
	{
		if (wait_ms == 0)
			return;
		elog(DEBUG1, "spotgo_gss: shared rate limit of server \"%s\" reached, waiting %ld ms",
			 ep->servername, wait_ms);
		if (!counted)
			stats_throttled(ep->servername, req->method, req->endpoint);
		counted = true;
		http_sleep_ms(wait_ms);
	}

	if (ss->rate_rpm != rpm)
	{
		int			size = Min(rpm, HTTP_RATE_RING_MAX);

		if (ss->rate_sent)
			pfree(ss->rate_sent);
		ss->rate_sent = MemoryContextAllocZero(TopMemoryContext, sizeof(TimestampTz) * size);
		ss->rate_rpm = rpm;
		ss->rate_size = size;
		ss->rate_next = ss->rate_count = 0;
		/* with a ring smaller than rpm, keep the same rate over a shorter window */
		ss->rate_window_us = (int64) 60 * 1000 * 1000 * size / rpm;
	}

	if (ss->rate_count == ss->rate_size)
	{
		TimestampTz oldest = ss->rate_sent[ss->rate_next];
		TimestampTz free_at = oldest + ss->rate_window_us;
		TimestampTz now = GetCurrentTimestamp();

		if (free_at > now)
		{
			long		ms = (long) ((free_at - now + 999) / 1000);

			elog(DEBUG1, "spotgo_gss: rate limit of server \"%s\" reached, waiting %ld ms",
				 ep->servername, ms);
			if (!counted)
				stats_throttled(ep->servername, req->method, req->endpoint);
			http_sleep_ms(ms);
		}
	}
	ss->rate_sent[ss->rate_next] = GetCurrentTimestamp();
	ss->rate_next = (ss->rate_next + 1) % ss->rate_size;
	if (ss->rate_count < ss->rate_size)
		ss->rate_count++;
}

/*
 * http_begin
 *		Start a request and return without waiting for it, so that the caller
 *		can work (parse the previous page) while the response arrives.
 *		http_finish() completes it, with retries.  The transfer and its body
 *		live in the current memory context; if that context goes away first,
 *		the transfer is cancelled and freed.
 */
HttpTransfer *
http_begin(ApiEndpoint *ep, HttpRequest *req)
{
	HttpTransfer *x;
	bool		found;

	http_setup();

	x = palloc0(sizeof(HttpTransfer));
	x->ep = ep;
	x->req = req;
	x->cxt = CurrentMemoryContext;
	x->limit = (size_t) spotgo_gss_max_response_bytes;
	x->attempt = 1;
	x->subxid = GetCurrentSubTransactionId();
	x->ss = hash_search(http_servers, &ep->serverid, HASH_ENTER, &found);
	if (!found)
	{
		memset((char *) x->ss + sizeof(Oid), 0, sizeof(ServerState) - sizeof(Oid));
	}
	x->reset_cb.func = http_transfer_reset_cb;
	x->reset_cb.arg = x;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &x->reset_cb);

	http_rate_wait(x->ss, ep, x->req);
	/* the timeout covers the transfer and its retries, not the rate-limit pause */
	x->deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ep->timeout_ms);
	http_attach(x);
	return x;
}

/* transport failures worth another attempt, and whether the request surely never left */
static bool
http_retryable_transport(CURLcode rc, bool *not_sent)
{
	*not_sent = (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
				 rc == CURLE_COULDNT_RESOLVE_PROXY);
	return *not_sent || rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR ||
		rc == CURLE_RECV_ERROR || rc == CURLE_PARTIAL_FILE;
}

static bool
http_retryable_status(long status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

/*
 * http_retry_after_ms
 *		The server's Retry-After (delta seconds or an HTTP date) in ms, or -1.
 */
static long
http_retry_after_ms(const char *v)
{
	char	   *end;
	long		secs;
	time_t		when;

	if (v[0] == '\0')
		return -1;
	secs = strtol(v, &end, 10);
	if (end != v && *end == '\0' && secs >= 0)
		return secs > 86400 ? 86400000L : secs * 1000;
	when = curl_getdate(v, NULL);
	if (when == (time_t) -1)
		return -1;
	secs = (long) (when - time(NULL));
	return secs < 0 ? 0 : secs * 1000;
}

static long
http_backoff_ms(int attempt)
{
	double		cap = Min((double) HTTP_BACKOFF_MAX_MS,
						  (double) HTTP_BACKOFF_BASE_MS * (1 << Min(attempt - 1, 16)));

	/* "equal jitter": between half and all of the exponential step */
	return (long) (cap / 2 + cap / 2 * compat_random_fraction());
}

static const char *
http_path_only(HttpRequest *req)
{
	char	   *q = strchr(req->path.data, '?');

	return q ? pnstrdup(req->path.data, q - req->path.data) : req->path.data;
}

/*
 * http_curl_error
 *		libcurl's words on a failed transfer; they may quote what the peer
 *		sent, so they are cleaned like API text.  palloc'd.
 */
static char *
http_curl_error(HttpTransfer *x)
{
	const char *e = x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result);

	return http_clean_text(e, strlen(e), HTTP_MESSAGE_MAX);
}

/*
 * http_transport_text
 *		One line on why a transfer produced no usable response.  palloc'd.
 */
static char *
http_transport_text(HttpTransfer *x)
{
	if (x->too_big || x->result == CURLE_FILESIZE_EXCEEDED)
		return psprintf("response larger than spotgo_gss.max_response_bytes (%zu bytes)", x->limit);
	if (x->oom)
		return pstrdup("out of memory while receiving the response");
	if (x->result == CURLE_OPERATION_TIMEDOUT)
		return psprintf("timed out after %d ms (%d attempt(s))", x->ep->timeout_ms, x->attempt);
	return psprintf("%s (%d attempt(s))", http_curl_error(x), x->attempt);
}

/*
 * http_raise_transport
 *		Raise the error for a transfer that produced no usable response.
 */
static void
http_raise_transport(HttpTransfer *x)
{
	ApiEndpoint *ep = x->ep;

	if (x->too_big || x->result == CURLE_FILESIZE_EXCEEDED)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("response from server \"%s\" is larger than spotgo_gss.max_response_bytes (%zu bytes)",
						ep->servername, x->limit),
				 errdetail("%s %s was abandoned after %zu bytes.",
						   x->req->method, http_path_only(x->req), x->len),
				 errhint("Raise spotgo_gss.max_response_bytes, or lower the server option page_size.")));
	if (x->oom)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while receiving a response from server \"%s\"", ep->servername)));
	if (x->result == CURLE_OPERATION_TIMEDOUT)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("request to server \"%s\" timed out", ep->servername),
				 errdetail("%s %s did not complete within timeout_ms (%d ms) after %d attempt(s).",
						   x->req->method, http_path_only(x->req), ep->timeout_ms, x->attempt),
				 errhint("Raise the server option timeout_ms if the API is slow.")));
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("could not complete request to server \"%s\"", ep->servername),
			 errdetail("%s %s failed after %d attempt(s): %s",
					   x->req->method, http_path_only(x->req), x->attempt,
					   http_curl_error(x)),
			 ep->verify_tls && (x->result == CURLE_PEER_FAILED_VERIFICATION ||
								x->result == CURLE_SSL_CACERT_BADFILE) ?
			 errhint("Check the server's certificate, or name a CA bundle with the server option ca_file.") : 0));
}

/*
 * http_finish
 *		Wait for a transfer begun by http_begin(), retrying retryable
 *		failures within the request's timeout, and fill resp with the final
 *		answer, whatever its status.  Raises on transport failures (SQLSTATE
 *		08006), oversized bodies (54000) and cancel (57014, by the server).
 *		resp->body is palloc'd in the context http_begin() ran in.
 */
void
http_finish(HttpTransfer *x, HttpResponse *resp)
{
	ApiEndpoint *ep = x->ep;
	HttpRequest *req = x->req;
	long		status = 0;

	for (;;)
	{
		bool		not_sent;
		long		delay_ms;
		instr_time	elapsed;

		http_drive(x);
		status = 0;
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
		http_detach(x);

		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, x->started);
		elog(DEBUG1, "spotgo_gss: %s %s -> %s%ld in %.1f ms (attempt %d)",
			 req->method, req->path.data,
			 x->result == CURLE_OK ? "HTTP " : "failed, ",
			 x->result == CURLE_OK ? status : (long) x->result,
			 INSTR_TIME_GET_MILLISEC(elapsed), x->attempt);
		stats_attempt(ep->servername, req->method, req->endpoint,
					  x->result == CURLE_OK ? status : 0, (uint64) x->len,
					  INSTR_TIME_GET_MILLISEC(elapsed), x->attempt > 1);

		if (x->result != CURLE_OK)
		{
			if (x->too_big || x->oom || x->attempt > ep->max_retries ||
				!http_retryable_transport(x->result, &not_sent) ||
				(!req->idempotent && !not_sent))
			{
				if (req->no_raise)
					break;
				http_raise_transport(x);
			}
			delay_ms = http_backoff_ms(x->attempt);
		}
		else if (http_retryable_status(status) && x->attempt <= ep->max_retries &&
				 (req->idempotent || status == 429))
		{
			delay_ms = http_retry_after_ms(x->retry_after);
			if (delay_ms < 0)
				delay_ms = http_backoff_ms(x->attempt);
		}
		else
			break;

		/* no point sleeping past the deadline: report what we have */
		if (TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay_ms) >= x->deadline)
		{
			if (x->result != CURLE_OK && !req->no_raise)
				http_raise_transport(x);
			break;
		}
		http_sleep_ms(delay_ms);
		x->attempt++;
		http_rate_wait(x->ss, ep, x->req);
		http_attach(x);
	}

	resp->status = status;
	resp->attempts = x->attempt;
	resp->error = NULL;
	resp->secret = ep->secret;
	if (x->result != CURLE_OK)
	{
		/* only with no_raise: the caller records why */
		resp->status = 0;
		resp->error = MemoryContextStrdup(x->cxt, http_transport_text(x));
	}
	if (x->buf == NULL)
		x->buf = MemoryContextAlloc(x->cxt, 1);
	x->buf[x->len] = '\0';
	resp->body = x->buf;
	resp->body_len = x->len;
	resp->content_type = x->content_type[0] ? MemoryContextStrdup(x->cxt, x->content_type) : NULL;
	resp->content_disposition = x->content_disposition[0] ?
		MemoryContextStrdup(x->cxt, x->content_disposition) : NULL;
	/* the body now belongs to resp; the transfer is spent */
	x->buf = NULL;
	x->alloc = x->len = 0;
}

/*
 * http_execute
 *		Send a request and wait for its final answer (see http_finish).
 */
void
http_execute(ApiEndpoint *ep, HttpRequest *req, HttpResponse *resp)
{
	http_finish(http_begin(ep, req), resp);
}

bool
http_ok(const HttpResponse *resp)
{
	return resp->status >= 200 && resp->status < 300;
}

/*
 * http_append_clean
 *		Append len bytes of text that came from an API (s need not be
 *		NUL-terminated) to buf, fit for a message, DETAIL, HINT, WARNING or a
 *		status column: every control character (C0, DEL and, in UTF-8, C1)
 *		becomes a space, so that API text can never start a line of its own
 *		in the server log (a forged "LOG:  ..."), and every byte that is not
 *		part of a valid character of the database encoding becomes '?'.  At
 *		most max bytes of s are taken, whole characters only, and "..." marks
 *		a cut.  This is the one place where API text is made fit for a
 *		message: every piece of it that reaches one passes through here.
 */
static void
http_append_clean(StringInfo buf, const char *s, size_t len, size_t max)
{
	int			enc = GetDatabaseEncoding();
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = (unsigned char) s[i];
		int			l = 1;
		bool		valid = true;

		if (c >= 0x80)
		{
			l = pg_encoding_mblen(enc, s + i);
			valid = (size_t) l <= len - i && pg_verify_mbstr(enc, s + i, l, true);
			if (!valid)
				l = 1;
		}
		if (i + l > max)
		{
			appendStringInfoString(buf, "...");
			return;
		}
		if (!valid)
			appendStringInfoChar(buf, '?');
		else if (c < 0x20 || c == 0x7f ||
				 (enc == PG_UTF8 && c == 0xc2 && (unsigned char) s[i + 1] < 0xa0))
			appendStringInfoChar(buf, ' ');
		else
			appendBinaryStringInfo(buf, s + i, l);
		i += l;
	}
}

/*
 * http_clean_text
 *		len bytes of API text as http_append_clean() makes them (at most max
 *		bytes taken); palloc'd.  For API text quoted outside this file.
 */
char *
http_clean_text(const char *s, size_t len, size_t max)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (s != NULL)
		http_append_clean(&buf, s, len, max);
	return buf.data;
}

/*
 * http_append_api_text
 *		Append len bytes of API text to buf as http_append_clean() does (at
 *		most HTTP_MESSAGE_MAX bytes), with every occurrence of secret (the
 *		key that was sent, should the API echo it) replaced by "********"
 *		first: masking before cutting, so that a key that straddles the cut
 *		cannot leave its first characters behind.
 */
static void
http_append_api_text(StringInfo buf, const char *s, size_t len, const char *secret)
{
	size_t		slen = secret ? strlen(secret) : 0;
	size_t		scan;
	StringInfoData masked;
	size_t		from = 0;

	if (slen == 0)
	{
		http_append_clean(buf, s, len, HTTP_MESSAGE_MAX);
		return;
	}
	/* a key that starts before the cut matters; past that, nothing is shown */
	scan = Min(len, (size_t) HTTP_MESSAGE_MAX + slen);
	initStringInfo(&masked);
	for (size_t i = 0; i + slen <= scan;)
	{
		if (s[i] == secret[0] && memcmp(s + i, secret, slen) == 0)
		{
			appendBinaryStringInfo(&masked, s + from, i - from);
			appendStringInfoString(&masked, "********");
			i += slen;
			from = i;
		}
		else
			i++;
	}
	appendBinaryStringInfo(&masked, s + from, len - from);
	http_append_clean(buf, masked.data, masked.len, HTTP_MESSAGE_MAX);
	pfree(masked.data);
}

/* the string value of key (matched case-insensitively) in a jsonb object, or NULL */
static JsonbValue *
http_jsonb_get(Jsonb *jb, const char *key, enum jbvType type)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			level = 0;
	bool		match = false;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
			level++;
		else if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
			level--;
		else if (level == 1 && tok == WJB_KEY)
			match = (v.val.string.len == (int) strlen(key) &&
					 pg_strncasecmp(v.val.string.val, key, v.val.string.len) == 0);
		else if (level == 1 && tok == WJB_VALUE && match && v.type == type)
		{
			JsonbValue *r = palloc(sizeof(JsonbValue));

			*r = v;
			return r;
		}
	}
	return NULL;
}

/*
 * http_api_message
 *		The API's own words from an error body: a ProblemDetails' title,
 *		detail and field errors ("Field: message"), an ASP.NET {"Message"},
 *		else the body itself, trimmed.  NULL for an empty body.  Every piece
 *		is masked (secret: the key that was sent) and then cleaned and cut
 *		(http_append_api_text).  palloc'd.
 */
char *
http_api_message(const char *body, size_t len, const char *secret)
{
	StringInfoData buf;
	JsonLexContext *lex;
	Jsonb	   *jb;
	JsonbValue *v;
	static const char *const text_keys[] = {"title", "detail", "message", "error", "error_description"};

	if (body == NULL || len == 0)
		return NULL;
	initStringInfo(&buf);

	lex = compat_json_lexer(unconstify(char *, body), (int) Min(len, (size_t) PG_INT32_MAX), true);
	if (len > 65536 || pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS ||
		(body[strspn(body, " \t\r\n")] != '{'))
	{
		http_append_api_text(&buf, body, len, secret);
		return buf.data;
	}

	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(body)));
	for (size_t i = 0; i < lengthof(text_keys); i++)
	{
		v = http_jsonb_get(jb, text_keys[i], jbvString);
		if (v == NULL || v->val.string.len == 0)
			continue;
		if (buf.len > 0)
			appendStringInfoChar(&buf, ' ');
		http_append_api_text(&buf, v->val.string.val, v->val.string.len, secret);
	}

	/* ProblemDetails field errors: {"Field": ["message", ...], ...} */
	v = http_jsonb_get(jb, "errors", jbvBinary);
	if (v != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	e;
		JsonbIteratorToken tok;
		JsonbValue	field = {0};
		int			level = 0;

		while ((tok = JsonbIteratorNext(&it, &e, false)) != WJB_DONE)
		{
			if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
				level++;
			else if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
				level--;
			else if (tok == WJB_KEY && level == 1)
				field = e;
			else if ((tok == WJB_ELEM || tok == WJB_VALUE) && e.type == jbvString &&
					 field.type == jbvString)
			{
				if (buf.len > 0)
					appendStringInfoChar(&buf, ' ');
				http_append_api_text(&buf, field.val.string.val, field.val.string.len, secret);
				appendStringInfoString(&buf, ": ");
				http_append_api_text(&buf, e.val.string.val, e.val.string.len, secret);
			}
		}
	}

	if (buf.len == 0)
		http_append_api_text(&buf, body, len, secret);
	return buf.data;
}

/*
 * http_failure_text
 *		One line on a failed exchange, for a log or a status column: the
 *		transport failure, or "HTTP <status>: <the API's words>".  palloc'd.
 */
char *
http_failure_text(const HttpResponse *resp)
{
	char	   *msg;

	if (resp->status == 0)
		return pstrdup(resp->error ? resp->error : "no response");
	msg = http_api_message(resp->body, resp->body_len, resp->secret);
	return msg ? psprintf("HTTP %ld: %s", resp->status, msg) : psprintf("HTTP %ld", resp->status);
}

/*
 * http_raise_for_status
 *		Raise the documented error for a non-2xx answer; return otherwise.
 *
 *		401, 403		28000  the key was refused
 *		400, 422		22023  the API refused a value
 *		409				55000  conflict with the object's state
 *		404, 429, 5xx, other	38000
 */
void
http_raise_for_status(ApiEndpoint *ep, HttpRequest *req, HttpResponse *resp)
{
	long		st = resp->status;
	int			code;
	char	   *msg;
	const char *secret_name = ep->api == API_GSS ? "access_key" : "api_key";

	if (http_ok(resp))
		return;

	if (st == 401 || st == 403)
		code = ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
	else if (st == 400 || st == 422)
		code = ERRCODE_INVALID_PARAMETER_VALUE;
	else if (st == 409)
		code = ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
	else
		code = ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;

	msg = http_api_message(resp->body, resp->body_len, ep->secret);

	ereport(ERROR,
			(errcode(code),
			 errmsg("%s API returned HTTP %ld for %s %s",
					api_display_name(ep->api), st, req->method, http_path_only(req)),
			 msg ? errdetail("The API said: %s", msg) : errdetail("The response body was empty."),
			 (st == 401 || st == 403) ?
			 errhint("Check the %s option of the user mapping for server \"%s\"%s.",
					 secret_name, ep->servername,
					 ep->api == API_GSS ? " and the server's site_id" : "") :
			 (st == 429) ?
			 errhint("The API's rate limit was reached after %d attempt(s); lower the server option requests_per_minute.",
					 resp->attempts) :
			 (st >= 500 && resp->attempts > 1) ?
			 errhint("The request was sent %d times.", resp->attempts) : 0));
}

/*
 * http_raise_too_many_pages
 *		Raise the error for a listing that would take more requests than the
 *		server's max_pages (SQLSTATE 54000).  what names the listing as the
 *		parser's messages do ("GoSweetSpot customer-order list"); api_said is
 *		the DETAIL: a sentence on what the API sent that asks for more pages,
 *		its API text already cleaned.
 */
void
http_raise_too_many_pages(ApiEndpoint *ep, const char *what, const char *api_said)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("the %s from server \"%s\" has more than max_pages (%d) pages",
					what, ep->servername, ep->max_pages),
			 errdetail("%s", api_said),
			 errhint("Raise the server option max_pages (or page_size) if the listing is really that long, or narrow it with a filter.")));
}
