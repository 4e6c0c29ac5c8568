/*-------------------------------------------------------------------------
 *
 * listing.c
 *		The page loop: read every page of a resource's listing, handing out
 *		the rows one at a time as they are parsed.
 *
 * A listing is what gss.c or spotgo.c planned for a query (ListingPart): one
 * or more parts, each read page after page in its paging style, each page
 * asked for by the resource's request callback.  The SQL functions put the
 * rows into their tuplestore, the foreign scan returns each to the executor
 * before the next is parsed, and the outbox's id lookup stops at the row it
 * wants; all of them share this loop and its guarantees:
 *
 *	- Numbered pages: the answer's page count (capture 0) says how many.  A
 *	  page with no rows ends the part whatever the count says (orders
 *	  processed since page 1 shorten a listing), and a count above the
 *	  server's max_pages raises 54000 as soon as an answer says so.  Once the
 *	  count is known, the request for page k+1 is started before page k is
 *	  parsed (http_progress() keeps it moving meanwhile), so the transfer
 *	  overlaps the parsing; two page memory contexts alternate, so at most
 *	  the page being parsed and the one arriving are held.
 *	- Continuation tokens: each answer's token (capture 0) is sent with the
 *	  next request until none comes back; a token answered twice raises
 *	  38000, a listing still answering one after max_pages pages 54000.
 *	- A limit (the foreign scan's pushed LIMIT): no request is made once
 *	  that many rows have been handed out, and none is started ahead.
 *
 * Requests made, pages parsed and bytes received are counted for EXPLAIN
 * ANALYZE.  Everything lives in one memory context, deleted by
 * listing_close(); a transfer still in flight dies with it (http.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "compat.h"
#include "http.h"
#include "json_rows.h"
#include "resource.h"

/* rows parsed between two nudges of a transfer in flight */
#define LISTING_PROGRESS_ROWS	64

struct Listing
{
	const ApiResource *res;
	ApiEndpoint *ep;
	MemoryContext cxt;
	ListingPart *parts;
	int			nparts;
	int			part;			/* current part */
	const bool *wanted;
	int64		limit;
	int			page_size;
	bool		no_raise;
	bool		done;
	bool		failed;
	HttpResponse failure;		/* no_raise: the answer that ended the listing */

	/* the current part */
	int			page;			/* the page being parsed or asked for, 1-based */
	int			pages;			/* numbered: the count the answers give */
	char	   *token;			/* token: to send with the next request */
	HTAB	   *seen;			/* token: tokens answered so far */
	MemoryContext token_cxt;

	/* pages */
	MemoryContext page_cxt[2];
	HttpTransfer *next;			/* the request for the page after this one */
	HttpRequest *next_req;
	int			next_page;
	JrowsParser *parser;
	char	   *captured[1];
	int64		page_rows;
	int64		returned;

	ListingStats stats;
};

/* a continuation token answered in one part, see listing_note_token() */
typedef struct ListingToken
{
	uint64		hash;			/* hash key */
	char	   *token;
	int			page;			/* the page that answered it */
} ListingToken;

/*
 * resource_by_name
 *		The resource a foreign table's option names, or NULL.
 */
const ApiResource *
resource_by_name(const char *name)
{
	for (int i = 0; i < gss_nresources; i++)
		if (strcmp(gss_resources[i].name, name) == 0)
			return &gss_resources[i];
	for (int i = 0; i < spotgo_nresources; i++)
		if (strcmp(spotgo_resources[i].name, name) == 0)
			return &spotgo_resources[i];
	return NULL;
}

/*
 * resource_names
 *		"gss.customer_orders, ..." for hints.  palloc'd.
 */
char *
resource_names(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < gss_nresources; i++)
		appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", gss_resources[i].name);
	for (int i = 0; i < spotgo_nresources; i++)
		appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", spotgo_resources[i].name);
	return buf.data;
}

static void
listing_errcontext(void *arg)
{
	Listing    *l = (Listing *) arg;
	const ListingPart *part = &l->parts[l->part];

	if (part->context)
		errcontext("%s, page %d", part->context, l->page);
}

/*
 * listing_open
 *		Plan the listing of q over res (the resource's plan callback, which
 *		raises on values the API cannot take); no request is made yet.  The
 *		listing lives in a child of the current memory context.  With
 *		no_raise, an answer that is not 2xx (or no answer) ends the listing
 *		instead of raising: listing_failure() has it.
 */
Listing *
listing_open(const ApiResource *res, ApiEndpoint *ep, const ListingQuery *q, bool no_raise)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "spotgo_gss listing",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	Listing    *l = palloc0(sizeof(Listing));

	l->res = res;
	l->ep = ep;
	l->cxt = cxt;
	l->wanted = q->wanted;
	l->limit = q->limit;
	l->no_raise = no_raise;
	l->page_size = ep->page_size;
	if (l->limit >= 0 && l->limit < l->page_size)
		l->page_size = (int) Max(l->limit, 1);
	l->parts = res->plan(q, &l->nparts);
	l->page = 1;
	l->pages = 1;
	l->page_cxt[0] = AllocSetContextCreate(cxt, "spotgo_gss page A", ALLOCSET_DEFAULT_SIZES);
	l->page_cxt[1] = AllocSetContextCreate(cxt, "spotgo_gss page B", ALLOCSET_DEFAULT_SIZES);
	l->token_cxt = AllocSetContextCreate(cxt, "spotgo_gss continuation tokens", ALLOCSET_DEFAULT_SIZES);
	l->done = (l->nparts == 0 || l->limit == 0);
	MemoryContextSwitchTo(old);
	return l;
}

/* start the request for page of the current part, in cxt */
static void
listing_begin(Listing *l, int page, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	HttpRequest *req = palloc(sizeof(HttpRequest));

	l->res->request(l->ep, &l->parts[l->part], page, l->page_size, l->token, req);
	l->next = http_begin(l->ep, req);
	l->next_req = req;
	l->next_page = page;
	MemoryContextSwitchTo(old);
}

/* whether the limit leaves no room for rows beyond the current page */
static bool
listing_limit_reached_by(Listing *l, int64 rows)
{
	return l->limit >= 0 && rows >= l->limit;
}

/* abandon the request started ahead, if any (its context goes, and with it the transfer) */
static void
listing_drop_next(Listing *l)
{
	if (l->next != NULL)
	{
		MemoryContextReset(l->page_cxt[l->next_page % 2]);
		l->next = NULL;
	}
}

/*
 * listing_fetch
 *		Get the answer to the current page and open its parser.  False when
 *		the part has no rows there (a lookup of something absent) or the
 *		listing failed (no_raise).
 */
static bool
listing_fetch(Listing *l)
{
	const ListingPart *part = &l->parts[l->part];
	MemoryContext cxt = l->page_cxt[l->page % 2];
	MemoryContext old;
	HttpRequest *req;
	HttpResponse resp;

	if (l->next == NULL || l->next_page != l->page)
		listing_begin(l, l->page, cxt);
	req = l->next_req;
	old = MemoryContextSwitchTo(cxt);
	http_finish(l->next, &resp);
	MemoryContextSwitchTo(old);
	l->next = NULL;
	l->stats.requests += resp.attempts;

	if (part->absent_is_empty && resp.status == 404)
		return false;
	if (l->no_raise && !http_ok(&resp))
	{
		old = MemoryContextSwitchTo(l->cxt);
		l->failure = resp;
		l->failure.body = pnstrdup(resp.body, resp.body_len);
		l->failure.error = resp.error ? pstrdup(resp.error) : NULL;
		l->failure.content_type = l->failure.content_disposition = NULL;
		MemoryContextSwitchTo(old);
		l->failed = true;
		return false;
	}
	http_raise_for_status(l->ep, req, &resp);
	l->stats.bytes += resp.body_len;
	if (part->absent_is_empty && strspn(resp.body, " \t\r\n") == resp.body_len)
		return false;

	/* the next page travels while this one is parsed */
	if (part->paging == PAGING_NUMBERED && l->page < l->pages &&
		!listing_limit_reached_by(l, l->returned + (int64) l->page_size))
		listing_begin(l, l->page + 1, l->page_cxt[(l->page + 1) % 2]);

	old = MemoryContextSwitchTo(cxt);
	l->parser = jrows_open(part->spec, resp.body, resp.body_len, l->wanted, l->captured);
	MemoryContextSwitchTo(old);
	l->page_rows = 0;
	l->stats.pages++;
	return true;
}

/*
 * listing_note_token
 *		Remember the token that a page answered; raise (38000) when an
 *		earlier page of the same part answered it already: following it would
 *		read the same pages again, for ever or into a listing with repeats.
 *		(Two tokens whose hashes collide are both followed; max_pages bounds
 *		that.)  Returns a copy of the token that outlives the page.
 */
static char *
listing_note_token(Listing *l, const char *token)
{
	uint64		h = hash_bytes_extended((const unsigned char *) token, strlen(token), 0);
	bool		found;
	ListingToken *t;

	if (l->seen == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(ListingToken);
		ctl.hcxt = l->token_cxt;
		l->seen = hash_create("spotgo_gss continuation tokens", 64, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	t = hash_search(l->seen, &h, HASH_ENTER, &found);
	if (!found)
	{
		t->token = MemoryContextStrdup(l->token_cxt, token);
		t->page = l->page;
		return t->token;
	}
	if (strcmp(t->token, token) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("the %s from server \"%s\" answered the same continuation token twice",
						l->parts[l->part].spec->what, l->ep->servername),
				 errdetail("Pages %d and %d both answered the continuation token \"%s\".",
						   t->page, l->page, http_clean_text(token, strlen(token), 100)),
				 errhint("Following it would read the same pages again; report the fault to %s.",
						 api_display_name(l->ep->api))));
	return MemoryContextStrdup(l->token_cxt, token);
}

/* the page count an answer gave (capture 0), checked */
static int
listing_page_count(Listing *l, const char *s)
{
	const JrowsSpec *spec = l->parts[l->part].spec;
	char	   *end;
	long		p = strtol(s, &end, 10);

	if (*end != '\0' || p < 0 || p > INT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_JSON_TEXT),
				 errmsg("unexpected value for field \"%s\" in the %s", spec->captures[0], spec->what),
				 errdetail("Expected a page count, got \"%s\".", http_clean_text(s, strlen(s), 50))));
	return (int) p;
}

/*
 * listing_page_done
 *		The current page has been parsed: decide what comes next (another
 *		page, the next part).  False when the listing is over.
 */
static bool
listing_page_done(Listing *l)
{
	const ListingPart *part = &l->parts[l->part];
	const JrowsSpec *spec = part->spec;
	bool		more = false;

	if (part->paging == PAGING_NUMBERED)
	{
		if (l->captured[0] != NULL)
			l->pages = listing_page_count(l, l->captured[0]);
		else if (l->page == 1)
			l->pages = 1;
		if (l->page_rows == 0 && l->page < l->pages)
			elog(DEBUG1, "spotgo_gss: page %d of %d of the %s is empty: the listing ends there",
				 l->page, l->pages, part->context ? part->context : spec->what);
		else
		{
			if (l->pages > l->ep->max_pages)
				http_raise_too_many_pages(l->ep, spec->what,
										  psprintf("The answer to page %d said \"%s\": %d.",
												   l->page, spec->captures[0], l->pages));
			more = l->page < l->pages;
		}
	}
	else if (part->paging == PAGING_TOKEN)
	{
		char	   *next = (l->captured[0] && l->captured[0][0]) ? l->captured[0] : NULL;

		if (next != NULL && !listing_limit_reached_by(l, l->returned))
		{
			l->token = listing_note_token(l, next);
			if (l->page >= l->ep->max_pages)
				http_raise_too_many_pages(l->ep, spec->what,
										  psprintf("Page %d still answered a continuation token (\"%s\").",
												   l->page, http_clean_text(l->token, strlen(l->token), 100)));
			more = true;
		}
	}
	MemoryContextReset(l->page_cxt[l->page % 2]);
	if (listing_limit_reached_by(l, l->returned))
		more = false;
	if (more)
	{
		l->page++;
		return true;
	}
	listing_drop_next(l);
	if (listing_limit_reached_by(l, l->returned))
		return false;

	/* the next part, from its first page */
	if (++l->part >= l->nparts)
	{
		l->part = l->nparts - 1;
		return false;
	}
	l->page = 1;
	l->pages = 1;
	l->token = NULL;
	l->seen = NULL;
	MemoryContextReset(l->token_cxt);
	return true;
}

/*
 * listing_next
 *		The next row: true with *values and *nulls (the resource's columns,
 *		those not wanted NULL) valid until the next call; false when the
 *		listing is over (or failed, with no_raise).  Makes the requests as
 *		they are needed.  Raises what the requests and the parser raise.
 */
bool
listing_next(Listing *l, Datum **values, bool **nulls)
{
	ErrorContextCallback errcb;
	bool		got = false;

	if (l->done)
		return false;
	errcb.callback = listing_errcontext;
	errcb.arg = l;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (l->parser != NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(l->page_cxt[l->page % 2]);

			got = !listing_limit_reached_by(l, l->returned) &&
				jrows_next(l->parser, values, nulls);
			MemoryContextSwitchTo(old);
			if (got)
			{
				l->returned++;
				l->page_rows++;
				if (l->next != NULL && l->page_rows % LISTING_PROGRESS_ROWS == 0)
					http_progress();
				break;
			}
			l->parser = NULL;	/* freed with its page */
			if (!listing_page_done(l))
				break;
			continue;
		}
		if (listing_fetch(l))
			continue;
		if (l->failed || !listing_page_done(l))
			break;
	}

	if (!got)
	{
		l->done = true;
		listing_drop_next(l);
	}
	error_context_stack = errcb.previous;
	return got;
}

/*
 * listing_failure
 *		With no_raise: the answer (or transport failure) that ended the
 *		listing early, or NULL when it ran to its end.
 */
const HttpResponse *
listing_failure(Listing *l)
{
	return l->failed ? &l->failure : NULL;
}

/*
 * listing_stats
 *		Add the listing's numbers so far to *stats.
 */
void
listing_stats(Listing *l, ListingStats *stats)
{
	stats->requests += l->stats.requests;
	stats->pages += l->stats.pages;
	stats->bytes += l->stats.bytes;
}

/*
 * listing_close
 *		Free the listing (a transfer still in flight is abandoned); its
 *		numbers are added to *stats when stats is not NULL.
 */
void
listing_close(Listing *l, ListingStats *stats)
{
	if (stats)
		listing_stats(l, stats);
	MemoryContextDelete(l->cxt);
}

/*
 * listing_describe
 *		The first request the listing of q would send, for EXPLAIN: method,
 *		path and query string, and a body when there is one.  One line per
 *		part (at most a few, then how many more).  Headers, where the keys
 *		travel, are not shown.  palloc'd.
 */
char *
listing_describe(const ApiResource *res, ApiEndpoint *ep, const ListingQuery *q)
{
	int			nparts;
	ListingPart *parts = res->plan(q, &nparts);
	StringInfoData buf;
	int			page_size = ep->page_size;

	if (q->limit >= 0 && q->limit < page_size)
		page_size = (int) Max(q->limit, 1);
	initStringInfo(&buf);
	for (int i = 0; i < nparts && i < 3; i++)
	{
		HttpRequest req;

		res->request(ep, &parts[i], 1, page_size, NULL, &req);
		if (i > 0)
			appendStringInfoString(&buf, "; ");
		appendStringInfo(&buf, "%s %s", req.method, req.path.data);
		if (req.body)
			appendStringInfo(&buf, " %.*s", (int) req.body_len, req.body);
	}
	if (nparts > 3)
		appendStringInfo(&buf, "; and %d more", nparts - 3);
	if (nparts == 0)
		appendStringInfoString(&buf, "none");
	return buf.data;
}
