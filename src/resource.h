/*-------------------------------------------------------------------------
 *
 * resource.h
 *		One description per API resource, and the listing that reads the
 *		pages of any of them.
 *
 * gss.c and spotgo.c each describe their resources in one table
 * (ApiResource): the composite type a row has, the filters the API can
 * apply, the key column, how a listing is split into requests and how each
 * page is asked for, and how rows are written.  The SQL functions, the
 * foreign tables (fdw.c, fdw_modify.c) and the outbox's lookups all read
 * through the one page loop of listing.c, which knows paging styles but no
 * endpoint; fdw.c knows resources only through this header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_RESOURCE_H
#define SPOTGO_GSS_RESOURCE_H

#include "http.h"
#include "json_rows.h"
#include "options.h"

#define RESOURCE_MAX_FILTERS 4

typedef enum PagingStyle
{
	PAGING_NONE,				/* one request, one answer */
	PAGING_NUMBERED,			/* page 1, 2, ..; capture 0 of an answer: the page count */
	PAGING_TOKEN				/* capture 0 of an answer: the token that asks for the next page */
} PagingStyle;

/* a filter the API applies and a foreign scan may send (column = value) */
typedef struct ResourceFilter
{
	const char *column;			/* a column of the resource's composite type */
	Oid			type;			/* its type: TEXTOID or UUIDOID */
	bool		many;			/* several values at once (IN, = ANY) */
	bool		exact;			/* matched exactly as "=" does: no local re-check */
	bool		alone;			/* a request of its own (a lookup): other filters are not sent */
} ResourceFilter;

/* the values of one filter in one listing (text forms) */
typedef struct FilterValues
{
	bool		used;
	bool		verbatim;		/* placeholders for EXPLAIN: sent without encoding */
	int			n;
	char	  **values;
} FilterValues;

/* what one listing asks for */
typedef struct ListingQuery
{
	FilterValues filters[RESOURCE_MAX_FILTERS];	/* by position in the resource's filters */
	const bool *wanted;			/* columns to build (NULL: all) */
	int64		limit;			/* rows at most, -1: all */
	void	   *args;			/* a SQL function's own arguments, for its resource */
} ListingQuery;

/* one listing of a query: a query may need several (a list filter in chunks) */
typedef struct ListingPart
{
	PagingStyle paging;
	const JrowsSpec *spec;		/* how an answer becomes rows */
	const char *what;			/* the request, as http.c names it */
	const char *context;		/* errcontext "<context>, page N"; NULL: none */
	bool		absent_is_empty;	/* 404 or an empty body: no rows (a lookup) */
	void	   *arg;			/* the resource's: filter text, JSON filter, id */
} ListingPart;

/* the outcome of writing one row */
typedef struct WriteOutcome
{
	bool		done;			/* the API did it */
	char	   *message;		/* the API's words, or why it did not; may be NULL */
	bool		has_row;		/* the API answered a row (values, nulls), for RETURNING */
	Datum	   *values;			/* the resource's natts columns */
	bool	   *nulls;
} WriteOutcome;

/* one row to write, in the resource's column order */
typedef struct WriteRow
{
	Datum	   *values;
	bool	   *nulls;
	const bool *given;			/* columns the foreign table has */
	const bool *changed;		/* columns the statement set (INSERT: all it has) */
} WriteRow;

typedef struct ApiResource ApiResource;

typedef struct ResourceWrites
{
	bool		batched;		/* inserts go batch_size rows a request */
	int			delete_batch;	/* keys one delete request takes */
	const char *const *read_only;	/* columns the API sets; NULL-terminated */
	/* each fills out[0..n); raises on a failed request */
	void		(*insert) (ApiEndpoint *ep, WriteRow *rows, int n, WriteOutcome *out);
	void		(*update) (ApiEndpoint *ep, WriteRow *row, WriteOutcome *out);
	void		(*remove) (ApiEndpoint *ep, char **keys, int n, WriteOutcome *out);
} ResourceWrites;

struct ApiResource
{
	const char *name;			/* the foreign table option, e.g. gss.customer_orders */
	const char *remote_schema;	/* IMPORT FOREIGN SCHEMA: gss or spotgo */
	const char *table;			/* the table it creates */
	const char *comment;		/* and its COMMENT */
	ApiKind		api;
	const char *type_name;		/* composite type in the extension's schema */
	int			natts;			/* its columns */
	const ResourceFilter *filters;
	int			nfilters;
	const char *key_column;		/* identifies a row to change; NULL: read only */
	PagingStyle paging;			/* of a listing without a lookup */
	const char *count_table;	/* the local sync copy in the extension's schema, or NULL */
	const char *count_sql;		/* its rows for server $1 */
	double		default_rows;	/* estimate when nothing better is known */

	/* the listings of a query (palloc'd array); raises on values the API cannot take */
	ListingPart *(*plan) (const ListingQuery *q, int *nparts);
	/* the request for one page of a part */
	void		(*request) (ApiEndpoint *ep, const ListingPart *part, int page,
							int page_size, const char *token, HttpRequest *req);
	/* whether the API can take value for filter f (else it is applied locally) */
	bool		(*value_ok) (int f, const char *value);

	const ResourceWrites *writes;	/* NULL: read only */
};

/* numbers for EXPLAIN ANALYZE */
typedef struct ListingStats
{
	int64		requests;		/* HTTP attempts */
	int64		pages;			/* answers parsed */
	int64		bytes;			/* body bytes received */
} ListingStats;

typedef struct Listing Listing;

/* gss.c and spotgo.c */
extern const ApiResource gss_resources[];
extern const int gss_nresources;
extern const ApiResource spotgo_resources[];
extern const int spotgo_nresources;

/* listing.c */
extern const ApiResource *resource_by_name(const char *name);
extern char *resource_names(void);
extern Listing *listing_open(const ApiResource *res, ApiEndpoint *ep, const ListingQuery *q,
							 bool no_raise);
extern bool listing_next(Listing *l, Datum **values, bool **nulls);
extern const HttpResponse *listing_failure(Listing *l);
extern void listing_stats(Listing *l, ListingStats *stats);
extern void listing_close(Listing *l, ListingStats *stats);
extern char *listing_describe(const ApiResource *res, ApiEndpoint *ep, const ListingQuery *q);

#endif							/* SPOTGO_GSS_RESOURCE_H */
