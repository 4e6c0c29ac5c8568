/*-------------------------------------------------------------------------
 *
 * json_rows.h
 *		Response bodies straight into Datum rows, in one pass of
 *		PostgreSQL's JSON event parser; jsonb into request text.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_JSON_ROWS_H
#define SPOTGO_GSS_JSON_ROWS_H

#include "utils/jsonb.h"

typedef enum JrowsType
{
	JR_TEXT,
	JR_BOOL,
	JR_INT4,
	JR_TIMESTAMP,				/* offsets, if any, are dropped */
	JR_TIMESTAMPTZ,				/* no offset means UTC */
	JR_UUID,
	JR_JSONB
} JrowsType;

/* one JSON field of a row object and where it goes */
typedef struct JrowsColumn
{
	const char *field;			/* matched case-insensitively; NULL ends a list */
	int			attnum;			/* 0-based column, or -1 with nested */
	JrowsType	type;
	const struct JrowsColumn *nested;	/* an object whose fields are columns */
} JrowsColumn;

typedef enum JrowsShape
{
	JR_ARRAY,					/* body: [row, ...] */
	JR_KEYED,					/* body: {..., rows_key: [row, ...], ...} */
	JR_SINGLE,					/* body: row (or null: no row) */
	JR_MAP						/* body: {key: scalar, ...}: rows (key, value) */
} JrowsShape;

typedef struct JrowsSpec
{
	JrowsShape	shape;
	const char *rows_key;		/* JR_KEYED */
	const JrowsColumn *columns; /* fields of a row object */
	int			natts;
	int			extra_attnum;	/* jsonb of fields with no column, or -1 */
	int			whole_attnum;	/* jsonb of the whole row object, or -1 */
	const char *const *captures;	/* top-level scalars to return as text */
	int			ncaptures;
	const char *what;			/* the response, for messages */
} JrowsSpec;

/* receives each row; values live until the next row */
typedef void (*JrowsEmit) (void *arg, Datum *values, bool *nulls);

/* a body being parsed, row by row */
typedef struct JrowsState JrowsParser;

extern JrowsParser *jrows_open(const JrowsSpec *spec, char *body, size_t len,
							   const bool *wanted, char **captured);
extern bool jrows_next(JrowsParser *p, Datum **values, bool **nulls);
extern int64 jrows_close(JrowsParser *p);
extern void jrows_copy_row(const JrowsSpec *spec, const Datum *values, const bool *nulls,
						   Datum *dst, bool *dnulls);
extern int64 jrows_parse(const JrowsSpec *spec, char *body, size_t len,
						 JrowsEmit emit, void *arg, char **captured);
extern char *jrows_jsonb_text(Jsonb *jb, int *len);
extern Jsonb *jrows_body_jsonb(char *body, size_t len, const char *what);
extern Jsonb *jrows_try_body_jsonb(char *body, size_t len, const char *what, char **why);
extern char *jrows_server_text(char *body, size_t *len, const char *what);
extern char *jrows_bad_text(char *body, size_t len, const char *what);
extern bool jrows_is_iso8601(const char *s);

#endif							/* SPOTGO_GSS_JSON_ROWS_H */
