/*-------------------------------------------------------------------------
 *
 * json_rows.c
 *		Turn an API response body into rows of Datums in one pass of
 *		PostgreSQL's JSON lexer (common/jsonapi.h), and jsonb into request
 *		text.
 *
 * No tree of the body is ever built.  A JrowsSpec says where the rows are
 * (a bare array, an array under a key of an envelope object, one object, or
 * an object whose members are rows) and which JSON field feeds which
 * column.  jrows_step() walks the tokens of json_lex() (the same
 * grammar pg_parse_json() applies) and calls the semantic actions below.
 * It walks rather than calling pg_parse_json() because the lexer then
 * only validates strings: with need_escapes it would copy every string a
 * character at a time (PostgreSQL 15) and strdup it again for the
 * callback, which was a third of the time on large listings.  Instead a
 * string's value is taken in place from the response buffer, decoded there
 * when it has escapes.
 *
 * The actions keep a stack of frames, one per open container, each with a
 * role (envelope, row array, row, flattened object, or other); a field name
 * is looked up case-insensitively, first against the field that followed
 * the previous one last time (rows repeat their field order), else in a
 * small hash table built once per parse.  Scalars are converted straight to the
 * column's type.  Values that must be kept as jsonb (a jsonb column, the
 * fields that have no column, the whole row object) are built with
 * pushJsonbValue() from the same events, by up to three "builders" that
 * listen while their part of the document is being read.
 *
 * The walk is a loop over an explicit state, not a recursion, so that it
 * can pause after each row: jrows_open() / jrows_next() hand rows out one
 * at a time as they are parsed (the foreign scan returns each to the
 * executor before the next is read), and jrows_parse() calls a callback for
 * each.  Only the columns the caller wants are converted; the others are
 * skipped.  Each row is parsed in a memory context that is reset when the
 * next row starts, so memory stays flat however long the body is.  The
 * body is the caller's, and is rewritten by the string decoding.
 *
 * Every body is checked to be UTF-8 once, as a whole, before it is parsed
 * (jrows_server_text), since strings are taken in place and the lexer checks
 * only their escapes; a body that is not raises SQLSTATE 22021 naming the
 * field (and its path in the body) whose name or value holds the bad bytes.
 *
 * Errors: a body that is not JSON, or of the wrong shape, raises SQLSTATE
 * 22032 naming the response (spec->what); a value of the wrong JSON type
 * for its column raises 22032 naming the field; a string the column type's
 * input function refuses (a timestamp or UUID) raises that function's error
 * (22007, 22P02), with the field in the context.  API text quoted in a
 * message goes through http_clean_text() (http.c), the one cleaner.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "common/jsonapi.h"
#include "miscadmin.h"
#include "datatype/timestamp.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "compat.h"
#include "http.h"
#include "json_rows.h"

#define JR_MAX_DEPTH		256
#define JR_HASH_SIZE		128		/* power of two, > 2 x fields of a list */

typedef enum FrameRole
{
	FR_ENVELOPE,
	FR_ROWS,
	FR_ROW,
	FR_FLAT,
	FR_OTHER
} FrameRole;

typedef enum TargetKind
{
	TG_NONE,					/* skip (builders may still listen) */
	TG_COLUMN,
	TG_FLAT,
	TG_ROWS,
	TG_ROW,
	TG_CAPTURE,
	TG_EXTRA,
	TG_MAPVALUE
} TargetKind;

/*
 * The fields of one list: a hash table of lower-cased names, and for each
 * field the one that followed it last time, since an API sends the fields of
 * every row in the same order (not necessarily ours): once the order has
 * been seen, most lookups are one comparison.
 */
typedef struct FieldIndex
{
	const JrowsColumn *slot[JR_HASH_SIZE];
	const char *lower[JR_HASH_SIZE];
	int			pos[JR_HASH_SIZE];	/* position of slot's field in the list */
	const char *order_lower[JR_HASH_SIZE / 2];
	const JrowsColumn *order[JR_HASH_SIZE / 2];
	int			n;
	int			last;			/* position of the field matched last, -1 at an object's start */
	int			next_of[JR_HASH_SIZE / 2 + 1];	/* learned: the field that followed each one (index last + 1) */
} FieldIndex;

typedef struct Frame
{
	FrameRole	role;
	bool		is_array;
	const JrowsColumn *col;		/* FR_FLAT: the column that holds the object */
	FieldIndex *index;			/* FR_ROW / FR_FLAT */
	char	   *name;			/* FR_FLAT: field name, for extra keys */
} Frame;

typedef struct Builder
{
	bool		active;
	int			depth;			/* container depth where it started */
	JsonbParseState *state;
	JsonbValue *result;
} Builder;

/* where the token walk is (jrows_step) */
typedef enum WalkStep
{
	WS_VALUE,					/* a value starts at the current token */
	WS_KEY,						/* a field name starts at the current token */
	WS_AFTER,					/* a value has ended: ',' or the container's end follows */
	WS_DONE
} WalkStep;

typedef struct JrowsState
{
	const JrowsSpec *spec;
	JsonLexContext *lex;
	char	  **captured;
	int64		nrows;
	WalkStep	step;
	bool		row_ready;		/* a row is in values/nulls: the walk pauses */
	bool	   *wanted;			/* columns to build (spec->natts) */
	bool		want_extra;
	bool		want_whole;

	int			depth;			/* open containers */
	Frame		frames[JR_MAX_DEPTH + 1];

	/* what the next value is for */
	TargetKind	target;
	const JrowsColumn *target_col;
	int			target_capture;
	char	   *target_key;

	FieldIndex *row_index;
	const JrowsColumn *nested_lists[8]; /* indexes of flattened objects */
	FieldIndex *nested_index[8];
	int			nnested;
	Datum	   *values;
	bool	   *nulls;
	MemoryContext row_cxt;
	MemoryContext outer_cxt;

	Builder		whole;			/* the row object */
	Builder		column;			/* a container going into one column */
	const JrowsColumn *column_col;
	const JrowsColumn *converting;	/* column being converted, for errcontext */
	Builder		extra;			/* fields without a column */
	bool		extra_capturing;
	int			extra_depth;	/* depth of the field's container */
	bool		extra_started;
	char		numbuf[64];		/* the lexeme of a short scalar */
} JrowsState;

/* ---- field lookup ---- */

static uint32
jrows_hash_lower(const char *s, size_t len)
{
	uint32		h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char) pg_ascii_tolower((unsigned char) s[i])) * 16777619u;
	return h;
}

static FieldIndex *
jrows_build_index(const JrowsColumn *cols)
{
	FieldIndex *idx = palloc0(sizeof(FieldIndex));

	for (const JrowsColumn *c = cols; c->field && idx->n < JR_HASH_SIZE / 2; c++)
	{
		size_t		len = strlen(c->field);
		uint32		h = jrows_hash_lower(c->field, len) & (JR_HASH_SIZE - 1);
		char	   *low = pstrdup(c->field);

		for (char *p = low; *p; p++)
			*p = pg_ascii_tolower((unsigned char) *p);
		while (idx->slot[h] != NULL)
			h = (h + 1) & (JR_HASH_SIZE - 1);
		idx->slot[h] = c;
		idx->lower[h] = low;
		idx->pos[h] = idx->n;
		idx->order[idx->n] = c;
		idx->order_lower[idx->n] = low;
		idx->n++;
	}
	for (int i = 0; i <= idx->n; i++)
		idx->next_of[i] = i < idx->n ? i : -1;	/* until learned: list order */
	idx->last = -1;
	return idx;
}

/* name (any case) equals low (lower case)? */
static inline bool
jrows_name_eq(const char *name, const char *low)
{
	for (; *name; name++, low++)
		if (*low != *name && *low != pg_ascii_tolower((unsigned char) *name))
			return false;
	return *low == '\0';
}

static const JrowsColumn *
jrows_lookup(FieldIndex *idx, const char *name)
{
	int			guess = idx->next_of[idx->last + 1];
	uint32		h;

	if (guess >= 0 && jrows_name_eq(name, idx->order_lower[guess]))
	{
		idx->last = guess;
		return idx->order[guess];
	}

	h = jrows_hash_lower(name, strlen(name)) & (JR_HASH_SIZE - 1);
	while (idx->slot[h] != NULL)
	{
		if (jrows_name_eq(name, idx->lower[h]))
		{
			idx->next_of[idx->last + 1] = idx->pos[h];
			idx->last = idx->pos[h];
			return idx->slot[h];
		}
		h = (h + 1) & (JR_HASH_SIZE - 1);
	}
	return NULL;
}

/* the index of a nested field list, built once per parse */
static FieldIndex *
jrows_index_for(JrowsState *st, const JrowsColumn *cols)
{
	MemoryContext old;
	FieldIndex *idx;

	for (int i = 0; i < st->nnested; i++)
		if (st->nested_lists[i] == cols)
			return st->nested_index[i];
	old = MemoryContextSwitchTo(MemoryContextGetParent(st->row_cxt));
	idx = jrows_build_index(cols);
	MemoryContextSwitchTo(old);
	if (st->nnested < (int) lengthof(st->nested_lists))
	{
		st->nested_lists[st->nnested] = cols;
		st->nested_index[st->nnested++] = idx;
	}
	return idx;
}

/* ---- text encoding ---- */

/*
 * Both APIs answer in UTF-8.  PostgreSQL's JSON lexer checks \u escapes but
 * not the raw bytes of a string, and the strings of a body are taken in
 * place, so a body is checked as a whole, once, before it is parsed: one
 * fast pass (pg_verify_mbstr) over bytes that are about to be read anyway.
 * Only when that fails is the body walked again, to name the field that holds
 * the bad bytes.
 */

/* where a body's first invalid byte is, for messages */
typedef struct JrowsBadText
{
	char	   *field;			/* JSON field name (cleaned), or NULL */
	char	   *path;			/* e.g. Results[0].consignee, or NULL */
	bool		in_name;		/* the bytes are in a field name */
	size_t		offset;			/* byte offset in the body */
	char	   *bytes;			/* "0xff 0xfe" */
} JrowsBadText;

/* one open container on the way to the bad bytes */
typedef struct JrowsPathStep
{
	bool		is_array;
	int			index;			/* array: element number */
	const char *key;			/* object: the current field name, in the body */
	int			keylen;
} JrowsPathStep;

/* the offset of the first byte of s that does not start a valid UTF-8 character, or len */
static size_t
jrows_first_bad_byte(const char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = (unsigned char) s[i];
		int			l;

		if (c != 0 && c < 0x80)
		{
			i++;
			continue;
		}
		l = pg_utf_mblen((const unsigned char *) s + i);
		if (c == 0 || (size_t) l > len - i || !pg_verify_mbstr(PG_UTF8, s + i, l, true))
			return i;
		i += l;
	}
	return len;
}

/* "0xff 0xfe": the invalid bytes from s[off], up to 4 and up to end */
static char *
jrows_bad_bytes(const char *s, size_t off, size_t end)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (size_t i = off; i < end && i < off + 4; i++)
	{
		if (i > off && jrows_first_bad_byte(s + i, end - i) != 0)
			break;
		appendStringInfo(&buf, "%s0x%02x", i > off ? " " : "", (unsigned char) s[i]);
	}
	return buf.data;
}

/* the path of the value the walk is at, e.g. Results[3].status.Picked */
static char *
jrows_path_text(JrowsPathStep *steps, int depth)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 1; i <= depth; i++)
	{
		if (steps[i].is_array)
			appendStringInfo(&buf, "[%d]", steps[i].index);
		else if (steps[i].key != NULL)
		{
			if (buf.len > 0)
				appendStringInfoChar(&buf, '.');
			appendStringInfoString(&buf, http_clean_text(steps[i].key, steps[i].keylen, 100));
		}
	}
	return buf.data;
}

/*
 * jrows_find_bad_text
 *		Fill *bad with where the first byte of body that is not valid UTF-8
 *		sits: the field whose name or string value holds it, found by walking
 *		the body's tokens up to it.  Never raises on a malformed body: what
 *		cannot be placed is reported by offset only.
 */
static void
jrows_find_bad_text(char *body, size_t len, JrowsBadText *bad)
{
	JrowsPathStep *steps = palloc0(sizeof(JrowsPathStep) * (JR_MAX_DEPTH + 1));
	int			depth = 0;
	int			untracked = 0;	/* containers open beyond JR_MAX_DEPTH */
	bool		expect_key = false;
	JsonLexContext *lex;

	memset(bad, 0, sizeof(JrowsBadText));
	bad->offset = jrows_first_bad_byte(body, len);
	bad->bytes = jrows_bad_bytes(body, bad->offset, len);
	if (len > (size_t) PG_INT32_MAX)
		return;

	lex = compat_json_lexer(body, (int) len, false);
	while (json_lex(lex) == JSON_SUCCESS && lex->token_type != JSON_TOKEN_END)
	{
		size_t		start = lex->token_start - body;
		size_t		stop = lex->token_terminator - body;
		JrowsPathStep *top = &steps[depth];

		if (start > bad->offset)
			break;				/* past it: it is not inside a token */
		switch (lex->token_type)
		{
			case JSON_TOKEN_OBJECT_START:
			case JSON_TOKEN_ARRAY_START:
				if (depth < JR_MAX_DEPTH && untracked == 0)
				{
					depth++;
					steps[depth].is_array = lex->token_type == JSON_TOKEN_ARRAY_START;
					steps[depth].index = 0;
					steps[depth].key = NULL;
				}
				else
					untracked++;
				expect_key = lex->token_type == JSON_TOKEN_OBJECT_START;
				break;
			case JSON_TOKEN_OBJECT_END:
			case JSON_TOKEN_ARRAY_END:
				if (untracked > 0)
					untracked--;
				else if (depth > 0)
					depth--;
				expect_key = false;
				break;
			case JSON_TOKEN_COMMA:
				if (untracked == 0 && top->is_array)
					top->index++;
				expect_key = untracked == 0 && depth > 0 && !top->is_array;
				break;
			case JSON_TOKEN_COLON:
				expect_key = false;
				break;
			case JSON_TOKEN_STRING:
				if (bad->offset < stop)
				{
					/* the bad bytes are in this string */
					bad->in_name = expect_key;
					if (expect_key)
					{
						top->key = lex->token_start + 1;
						top->keylen = (int) (stop - start - 2);
					}
					bad->path = jrows_path_text(steps, depth);
					for (int i = depth; i > 0 && untracked == 0; i--)
						if (!steps[i].is_array && steps[i].key != NULL)
						{
							bad->field = http_clean_text(steps[i].key, steps[i].keylen, 100);
							break;
						}
					return;
				}
				if (expect_key && untracked == 0)
				{
					top->key = lex->token_start + 1;
					top->keylen = (int) (stop - start - 2);
				}
				break;
			default:
				break;
		}
	}
}

/* message and DETAIL for a body that is not valid UTF-8; palloc'd */
static void
jrows_bad_text_words(char *body, size_t len, const char *what, char **msg, char **detail)
{
	JrowsBadText bad;

	jrows_find_bad_text(body, len, &bad);
	if (bad.field != NULL && !bad.in_name)
	{
		*msg = psprintf("invalid byte sequence for encoding \"UTF8\" in field \"%s\" of the %s",
						bad.field, what);
		*detail = psprintf("The value of %s in the response holds the bytes %s.", bad.path, bad.bytes);
	}
	else if (bad.field != NULL)
	{
		*msg = psprintf("invalid byte sequence for encoding \"UTF8\" in a field name of the %s", what);
		*detail = psprintf("The field name %s in the response holds the bytes %s.", bad.path, bad.bytes);
	}
	else
	{
		*msg = psprintf("invalid byte sequence for encoding \"UTF8\" in the response from the %s", what);
		*detail = psprintf("The response holds the bytes %s at byte %zu.", bad.bytes, bad.offset);
	}
}

/*
 * jrows_bad_text
 *		NULL when body is valid UTF-8; else one line naming the field that
 *		is not, for a status column.  palloc'd.  Never raises.
 */
char *
jrows_bad_text(char *body, size_t len, const char *what)
{
	char	   *msg;
	char	   *detail;

	if (len <= (size_t) PG_INT32_MAX && pg_verify_mbstr(PG_UTF8, body, (int) len, true))
		return NULL;
	jrows_bad_text_words(body, len, what, &msg, &detail);
	return psprintf("%s: %s", msg, detail);
}

/*
 * jrows_server_text
 *		A response body (len bytes, UTF-8 as the APIs send it) checked and in
 *		the database encoding: body itself when the database is UTF-8, else
 *		a palloc'd conversion (*len updated).  Raises SQLSTATE 22021 naming
 *		the field whose name or value is not valid UTF-8, and the response
 *		(what); a character the database encoding cannot hold raises the
 *		conversion's 22P05.
 */
char *
jrows_server_text(char *body, size_t *len, const char *what)
{
	char	   *converted;

	if (*len > (size_t) PG_INT32_MAX ||
		!pg_verify_mbstr(PG_UTF8, body, (int) *len, true))
	{
		char	   *msg;
		char	   *detail;

		jrows_bad_text_words(body, *len, what, &msg, &detail);
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg_internal("%s", msg),
				 errdetail_internal("%s", detail)));
	}
	if (GetDatabaseEncoding() == PG_UTF8)
		return body;
	converted = pg_any_to_server(body, (int) *len, PG_UTF8);
	if (converted != body)
		*len = strlen(converted);
	return converted;
}

/* ---- errors ---- */

static void
jrows_bad_shape(JrowsState *st, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_JSON_TEXT),
			 errmsg("unexpected response from the %s", st->spec->what),
			 errdetail("Expected %s.", expected)));
}

static void
jrows_bad_value(JrowsState *st, const JrowsColumn *col, const char *token, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_JSON_TEXT),
			 errmsg("unexpected value for field \"%s\" in the %s", col->field, st->spec->what),
			 token ?
			 errdetail("Expected %s, got \"%s\".", expected, http_clean_text(token, strlen(token), 100)) :
			 errdetail("Expected %s, got an object or array.", expected)));
}

static void jrows_scalar_value(JsonbValue *v, char *token, JsonTokenType tt);

/* ---- scalar conversion ---- */

static bool
jrows_digits(const char *s, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * jrows_fast_timestamp
 *		Parse "YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]][Z|+HH:MM|-HH:MM]", the form
 *		both APIs send, into microseconds since 2000-01-01 UTC (applying the
 *		offset when with_tz, dropping it otherwise).  False when the text has
 *		another form; the caller then uses the type's input function.
 */
static bool
jrows_fast_timestamp(const char *s, bool with_tz, Timestamp *result)
{
	int			y,
				mo,
				d,
				h,
				mi,
				sec = 0,
				usec = 0,
				offset = 0;
	const char *p = s + 16;

	if (strlen(s) < 16 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':')
		return false;
	if (!jrows_digits(s, 4, &y) || !jrows_digits(s + 5, 2, &mo) || !jrows_digits(s + 8, 2, &d) ||
		!jrows_digits(s + 11, 2, &h) || !jrows_digits(s + 14, 2, &mi))
		return false;
	if (*p == ':')
	{
		if (!jrows_digits(p + 1, 2, &sec))
			return false;
		p += 3;
		if (*p == '.')
		{
			int			scale = 100000;

			p++;
			if (*p < '0' || *p > '9')
				return false;
			while (*p >= '0' && *p <= '9')
			{
				usec += (*p - '0') * scale;
				scale /= 10;
				p++;
			}
		}
	}
	if (*p == 'Z' && p[1] == '\0')
		p++;
	else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':')
	{
		int			oh,
					om;

		if (!jrows_digits(p + 1, 2, &oh) || !jrows_digits(p + 4, 2, &om) || oh > 15 || om > 59)
			return false;
		offset = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	}
	if (*p != '\0')
		return false;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
		d > day_tab[isleap(y)][mo - 1] || h > 23 || mi > 59 || sec > 59)
		return false;

	*result = ((int64) (date2j(y, mo, d) - POSTGRES_EPOCH_JDATE) * SECS_PER_DAY +
			   (h * 60 + mi) * 60 + sec - (with_tz ? offset : 0)) * USECS_PER_SEC + usec;
	return true;
}

/*
 * jrows_input_text_ok
 *		Whether a string may go to a type's input function, whose error
 *		message would quote it whole: no control character (C0, DEL, C1) and
 *		at most 100 bytes, which no timestamp, UUID or integer needs.  Other
 *		strings are refused by jrows_bad_value(), which quotes them cleaned.
 */
static bool
jrows_input_text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	for (; *p; p++)
	{
		if (p - (const unsigned char *) s >= 100 || *p < 0x20 || *p == 0x7f ||
			(*p == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0))
			return false;
	}
	return true;
}

/*
 * jrows_convert
 *		A scalar token to the column's type; sets *isnull for JSON null and
 *		for empty strings in non-text columns.
 */
static Datum
jrows_convert(JrowsState *st, const JrowsColumn *col, char *token, JsonTokenType tt, bool *isnull)
{
	*isnull = false;
	if (tt == JSON_TOKEN_NULL)
	{
		*isnull = true;
		return (Datum) 0;
	}
	if (col->type != JR_TEXT && col->type != JR_JSONB && tt == JSON_TOKEN_STRING && token[0] == '\0')
	{
		*isnull = true;
		return (Datum) 0;
	}

	switch (col->type)
	{
		case JR_TEXT:
			return PointerGetDatum(cstring_to_text(token));
		case JR_BOOL:
			{
				bool		b;

				if (tt == JSON_TOKEN_TRUE)
					return BoolGetDatum(true);
				if (tt == JSON_TOKEN_FALSE)
					return BoolGetDatum(false);
				if (tt == JSON_TOKEN_STRING && parse_bool(token, &b))
					return BoolGetDatum(b);
				jrows_bad_value(st, col, token, "a boolean");
				break;
			}
		case JR_INT4:
			if ((tt != JSON_TOKEN_NUMBER && tt != JSON_TOKEN_STRING) || !jrows_input_text_ok(token))
				jrows_bad_value(st, col, token, "an integer");
			return Int32GetDatum(pg_strtoint32(token));
		case JR_TIMESTAMP:
		case JR_TIMESTAMPTZ:
			{
				Timestamp	ts;
				bool		tz = col->type == JR_TIMESTAMPTZ;

				if (tt != JSON_TOKEN_STRING)
					jrows_bad_value(st, col, token, "a timestamp");
				if (jrows_fast_timestamp(token, tz, &ts))
					return TimestampGetDatum(ts);
				if (!jrows_input_text_ok(token))
					jrows_bad_value(st, col, token, "a timestamp");
				if (tz)
					return DirectFunctionCall3(timestamptz_in, CStringGetDatum(token),
											   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
				return DirectFunctionCall3(timestamp_in, CStringGetDatum(token),
										   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
			}
		case JR_UUID:
			if (tt != JSON_TOKEN_STRING || !jrows_input_text_ok(token))
				jrows_bad_value(st, col, token, "a UUID");
			return DirectFunctionCall1(uuid_in, CStringGetDatum(token));
		case JR_JSONB:
			{
				JsonbValue	v;
				JsonbValue	raw;
				JsonbValue *res;
				JsonbParseState *ps = NULL;

				/* a scalar jsonb is a one-element array marked rawScalar */
				raw.type = jbvArray;
				raw.val.array.rawScalar = true;
				raw.val.array.nElems = 0;
				raw.val.array.elems = NULL;
				pushJsonbValue(&ps, WJB_BEGIN_ARRAY, &raw);
				jrows_scalar_value(&v, token, tt);
				pushJsonbValue(&ps, WJB_ELEM, &v);
				res = pushJsonbValue(&ps, WJB_END_ARRAY, NULL);
				return JsonbPGetDatum(JsonbValueToJsonb(res));
			}
	}
	return (Datum) 0;			/* not reached */
}

/* ---- jsonb builders ---- */

static void
jrows_builder_start(Builder *b, int depth)
{
	b->active = true;
	b->depth = depth;
	b->state = NULL;
	b->result = NULL;
}

/* push one event to a builder; at its root's end the result is kept */
static void
jrows_builder_push(Builder *b, JsonbIteratorToken tok, JsonbValue *v)
{
	JsonbValue *r = pushJsonbValue(&b->state, tok, v);

	if ((tok == WJB_END_OBJECT || tok == WJB_END_ARRAY) && b->state == NULL)
	{
		b->result = r;
		b->active = false;
	}
}

static void
jrows_scalar_value(JsonbValue *v, char *token, JsonTokenType tt)
{
	switch (tt)
	{
		case JSON_TOKEN_STRING:
			v->type = jbvString;
			v->val.string.val = token;
			v->val.string.len = strlen(token);
			break;
		case JSON_TOKEN_NUMBER:
			v->type = jbvNumeric;
			v->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(token),
																 ObjectIdGetDatum(InvalidOid),
																 Int32GetDatum(-1)));
			break;
		case JSON_TOKEN_TRUE:
		case JSON_TOKEN_FALSE:
			v->type = jbvBool;
			v->val.boolean = (tt == JSON_TOKEN_TRUE);
			break;
		default:
			v->type = jbvNull;
			break;
	}
}

/* send an event to every builder that is listening */
static void
jrows_route(JrowsState *st, JsonbIteratorToken tok, JsonbValue *v)
{
	if (st->whole.active)
		jrows_builder_push(&st->whole, tok, v);
	if (st->column.active)
		jrows_builder_push(&st->column, tok, v);
	if (st->extra_capturing)
		jrows_builder_push(&st->extra, tok, v);
}

static void
jrows_route_key(JrowsState *st, char *fname)
{
	JsonbValue	k;

	if (!st->whole.active && !st->column.active && !st->extra_capturing)
		return;
	k.type = jbvString;
	k.val.string.val = fname;
	k.val.string.len = strlen(fname);
	jrows_route(st, WJB_KEY, &k);
}

/* begin capturing one field with no column into the row's extra object */
static void
jrows_extra_field(JrowsState *st, const char *key)
{
	JsonbValue	k;

	if (!st->want_extra)
		return;
	if (!st->extra_started)
	{
		st->extra.state = NULL;
		st->extra.active = true;
		pushJsonbValue(&st->extra.state, WJB_BEGIN_OBJECT, NULL);
		st->extra_started = true;
	}
	k.type = jbvString;
	k.val.string.val = unconstify(char *, key);
	k.val.string.len = strlen(key);
	pushJsonbValue(&st->extra.state, WJB_KEY, &k);
	st->extra_capturing = true;
	st->extra_depth = st->depth;
}

/* ---- rows ---- */

static void
jrows_row_start(JrowsState *st)
{
	const JrowsSpec *spec = st->spec;

	/* the previous row has been consumed: its values go */
	MemoryContextReset(st->row_cxt);
	st->outer_cxt = MemoryContextSwitchTo(st->row_cxt);
	for (int i = 0; i < spec->natts; i++)
	{
		st->values[i] = (Datum) 0;
		st->nulls[i] = true;
	}
	st->extra_started = false;
	st->extra_capturing = false;
	if (st->row_index)
		st->row_index->last = -1;
	if (st->want_whole)
	{
		jrows_builder_start(&st->whole, st->depth);
		jrows_builder_push(&st->whole, WJB_BEGIN_OBJECT, NULL);
	}
}

static void
jrows_row_end(JrowsState *st)
{
	const JrowsSpec *spec = st->spec;

	if (st->want_whole && st->whole.result)
	{
		st->values[spec->whole_attnum] = JsonbPGetDatum(JsonbValueToJsonb(st->whole.result));
		st->nulls[spec->whole_attnum] = false;
	}
	if (st->extra_started)
	{
		JsonbValue *r = pushJsonbValue(&st->extra.state, WJB_END_OBJECT, NULL);

		st->values[spec->extra_attnum] = JsonbPGetDatum(JsonbValueToJsonb(r));
		st->nulls[spec->extra_attnum] = false;
		st->extra_started = false;
	}
	st->nrows++;
	st->row_ready = true;
	MemoryContextSwitchTo(st->outer_cxt);
}

/* ---- semantic actions ---- */

static void
jrows_container_start(void *arg, bool is_array)
{
	JrowsState *st = (JrowsState *) arg;
	const JrowsSpec *spec = st->spec;
	Frame	   *parent = &st->frames[st->depth];
	Frame	   *f;
	TargetKind	target = st->target;

	if (st->depth >= JR_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_JSON_TEXT),
				 errmsg("response from the %s is nested too deeply", spec->what)));

	/* listeners first see the container open as part of what they build */
	jrows_route(st, is_array ? WJB_BEGIN_ARRAY : WJB_BEGIN_OBJECT, NULL);

	st->depth++;
	f = &st->frames[st->depth];
	f->is_array = is_array;
	f->role = FR_OTHER;
	f->index = NULL;
	st->target = TG_NONE;

	if (st->depth == 1)
	{
		switch (spec->shape)
		{
			case JR_ARRAY:
				if (!is_array)
					jrows_bad_shape(st, "a JSON array");
				f->role = FR_ROWS;
				break;
			case JR_KEYED:
			case JR_MAP:
				if (is_array)
					jrows_bad_shape(st, "a JSON object");
				f->role = FR_ENVELOPE;
				break;
			case JR_SINGLE:
				if (is_array)
					jrows_bad_shape(st, "a JSON object");
				f->role = FR_ROW;
				f->index = st->row_index;
				jrows_row_start(st);
				break;
		}
		return;
	}

	switch (target)
	{
		case TG_ROWS:
			if (!is_array)
				jrows_bad_shape(st, psprintf("\"%s\" to be an array", spec->rows_key));
			f->role = FR_ROWS;
			break;
		case TG_ROW:
			if (is_array)
				jrows_bad_shape(st, "an array of objects");
			f->role = FR_ROW;
			f->index = st->row_index;
			jrows_row_start(st);
			break;
		case TG_FLAT:
			if (is_array)
			{
				/* not the object we know: keep it whole in extra */
				jrows_extra_field(st, st->target_col->field);
				if (st->extra_capturing)
				{
					st->extra_depth = st->depth - 1;
					jrows_builder_push(&st->extra, WJB_BEGIN_ARRAY, NULL);
				}
				break;
			}
			f->role = FR_FLAT;
			f->col = st->target_col;
			f->index = jrows_index_for(st, st->target_col->nested);
			f->index->last = -1;
			f->name = pstrdup(st->target_col->field);
			break;
		case TG_COLUMN:
			if (st->target_col->type != JR_JSONB && st->target_col->type != JR_TEXT)
				jrows_bad_value(st, st->target_col, NULL, "a scalar");
			st->column_col = st->target_col;
			jrows_builder_start(&st->column, st->depth);
			jrows_builder_push(&st->column, is_array ? WJB_BEGIN_ARRAY : WJB_BEGIN_OBJECT, NULL);
			break;
		default:
			if (parent->role == FR_ROWS && !is_array)
			{
				f->role = FR_ROW;
				f->index = st->row_index;
				jrows_row_start(st);
			}
			break;
	}
	return;
}

static void
jrows_container_end(void *arg, bool is_array)
{
	JrowsState *st = (JrowsState *) arg;
	Frame	   *f = &st->frames[st->depth];
	FrameRole	role = f->role;
	int			depth = st->depth;

	jrows_route(st, is_array ? WJB_END_ARRAY : WJB_END_OBJECT, NULL);

	/* a container going into one column is complete */
	if (st->column_col != NULL && !st->column.active && st->column.result != NULL &&
		st->column.depth == depth)
	{
		Jsonb	   *jb = JsonbValueToJsonb(st->column.result);
		int			att = st->column_col->attnum;

		if (st->column_col->type == JR_JSONB)
			st->values[att] = JsonbPGetDatum(jb);
		else
			st->values[att] = CStringGetTextDatum(JsonbToCString(NULL, &jb->root, VARSIZE(jb)));
		st->nulls[att] = false;
		st->column_col = NULL;
		st->column.result = NULL;
	}

	/* a field with no column whose value was this container is complete */
	if (st->extra_capturing && st->extra_depth == depth - 1)
		st->extra_capturing = false;

	st->depth--;
	if (role == FR_ROW)
		jrows_row_end(st);
	return;
}

static void
jrows_field_start(void *arg, char *fname)
{
	JrowsState *st = (JrowsState *) arg;
	Frame	   *f = &st->frames[st->depth];
	const JrowsSpec *spec = st->spec;
	const JrowsColumn *col;

	jrows_route_key(st, fname);
	st->target = TG_NONE;

	switch (f->role)
	{
		case FR_ROW:
		case FR_FLAT:
			col = jrows_lookup(f->index, fname);
			if (col == NULL)
			{
				st->target = TG_EXTRA;
				jrows_extra_field(st, f->role == FR_FLAT ? psprintf("%s.%s", f->name, fname) : fname);
			}
			else if (col->nested != NULL)
			{
				st->target = TG_FLAT;
				st->target_col = col;
			}
			else if (st->wanted[col->attnum])
			{
				st->target = TG_COLUMN;
				st->target_col = col;
			}
			break;
		case FR_ENVELOPE:
			if (spec->shape == JR_MAP)
			{
				st->target = TG_MAPVALUE;
				st->target_key = fname;
				break;
			}
			if (spec->rows_key && pg_strcasecmp(fname, spec->rows_key) == 0)
			{
				st->target = TG_ROWS;
				break;
			}
			for (int i = 0; i < spec->ncaptures; i++)
			{
				if (pg_strcasecmp(fname, spec->captures[i]) == 0)
				{
					st->target = TG_CAPTURE;
					st->target_capture = i;
					break;
				}
			}
			break;
		default:
			break;
	}
	return;
}

static void
jrows_element_start(void *arg)
{
	JrowsState *st = (JrowsState *) arg;

	st->target = st->frames[st->depth].role == FR_ROWS ? TG_ROW : TG_NONE;
	return;
}

static void
jrows_scalar(void *arg, char *token, JsonTokenType tt)
{
	JrowsState *st = (JrowsState *) arg;
	Frame	   *f = &st->frames[st->depth];
	const JrowsSpec *spec = st->spec;

	if (st->whole.active || st->column.active || st->extra_capturing)
	{
		JsonbValue	v;

		jrows_scalar_value(&v, token, tt);
		jrows_route(st, f->is_array ? WJB_ELEM : WJB_VALUE, &v);
	}

	if (st->depth == 0)
	{
		/* a bare scalar body: "null" means no row for a single lookup */
		if (spec->shape == JR_SINGLE && tt == JSON_TOKEN_NULL)
			return;
		jrows_bad_shape(st, spec->shape == JR_ARRAY ? "a JSON array" : "a JSON object");
	}

	switch (st->target)
	{
		case TG_COLUMN:
			{
				int			att = st->target_col->attnum;

				st->converting = st->target_col;
				st->values[att] = jrows_convert(st, st->target_col, token, tt, &st->nulls[att]);
				st->converting = NULL;
				break;
			}
		case TG_CAPTURE:
			if (st->captured && tt != JSON_TOKEN_NULL)
				st->captured[st->target_capture] = pstrdup(token);
			break;
		case TG_MAPVALUE:
			{
				MemoryContext old;

				MemoryContextReset(st->row_cxt);
				old = MemoryContextSwitchTo(st->row_cxt);
				st->nulls[0] = false;
				st->nulls[1] = (tt == JSON_TOKEN_NULL);
				st->values[0] = CStringGetTextDatum(st->target_key);
				st->values[1] = st->nulls[1] ? (Datum) 0 : CStringGetTextDatum(token);
				st->nrows++;
				st->row_ready = true;
				MemoryContextSwitchTo(old);
				break;
			}
		case TG_ROWS:
			if (tt != JSON_TOKEN_NULL)
				jrows_bad_shape(st, psprintf("\"%s\" to be an array", spec->rows_key));
			break;
		default:
			break;
	}

	/* a scalar completes the field it was the value of */
	if (st->extra_capturing && st->extra_depth == st->depth)
		st->extra_capturing = false;
	st->target = TG_NONE;
	return;
}

/* ---- the token walk ---- */

/* the lexer's words on an error; they quote the offending token, which is API text */
static char *
jrows_clean_errdetail(JsonParseErrorType rc, JsonLexContext *lex)
{
	char	   *d = json_errdetail(rc, lex);

	return http_clean_text(d, strlen(d), 500);
}

static void
jrows_lex_error(JrowsState *st, JsonParseErrorType rc)
{
	/* at the end of the input there is no token to quote: say so instead */
	if (st->lex->token_type == JSON_TOKEN_END || st->lex->token_start == NULL)
		rc = JSON_EXPECTED_MORE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_JSON_TEXT),
			 errmsg("malformed JSON in the response from the %s", st->spec->what),
			 errdetail("%s", jrows_clean_errdetail(rc, st->lex))));
}

static void
jrows_advance(JrowsState *st)
{
	JsonParseErrorType rc = json_lex(st->lex);

	if (rc != JSON_SUCCESS)
		jrows_lex_error(st, rc);
}

static int
jrows_hex4(const char *p)
{
	int			v = 0;

	for (int i = 0; i < 4; i++)
	{
		char		c = p[i];

		v = v * 16 + (c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
	}
	return v;
}

/*
 * jrows_string
 *		The value of the string token just lexed, NUL-terminated in place:
 *		the lexer has validated it and moved past it, so its bytes are ours
 *		to rewrite.  Escapes are decoded into the same bytes (a decoded form
 *		is never longer).  Raises on \u0000 and unpaired surrogates, which
 *		the lexer leaves to the caller when it builds no strings itself.
 */
static char *
jrows_string(JrowsState *st)
{
	char	   *src = compat_token_start(st->lex) + 1;
	char	   *stop = compat_token_end(st->lex) - 1;
	char	   *dst;
	char	   *bs = memchr(src, '\\', stop - src);

	if (bs == NULL)
	{
		*stop = '\0';
		return src;
	}
	dst = src = bs;
	while (src < stop)
	{
		if (*src != '\\')
		{
			*dst++ = *src++;
			continue;
		}
		src++;
		switch (*src)
		{
			case 'b':
				*dst++ = '\b';
				src++;
				break;
			case 'f':
				*dst++ = '\f';
				src++;
				break;
			case 'n':
				*dst++ = '\n';
				src++;
				break;
			case 'r':
				*dst++ = '\r';
				src++;
				break;
			case 't':
				*dst++ = '\t';
				src++;
				break;
			case 'u':
				{
					pg_wchar	cp = jrows_hex4(src + 1);

					src += 5;
					if (is_utf16_surrogate_first(cp))
					{
						if (src + 6 > stop || src[0] != '\\' || src[1] != 'u' ||
							!is_utf16_surrogate_second(jrows_hex4(src + 2)))
							jrows_lex_error(st, JSON_UNICODE_LOW_SURROGATE);
						cp = surrogate_pair_to_codepoint(cp, jrows_hex4(src + 2));
						src += 6;
					}
					else if (is_utf16_surrogate_second(cp))
						jrows_lex_error(st, JSON_UNICODE_LOW_SURROGATE);
					if (cp == 0)
						jrows_lex_error(st, JSON_UNICODE_CODE_POINT_ZERO);
					if (GetDatabaseEncoding() == PG_UTF8)
					{
						unicode_to_utf8(cp, (unsigned char *) dst);
						dst += pg_utf_mblen((unsigned char *) dst);
					}
					else
					{
						unsigned char buf[MAX_UNICODE_EQUIVALENT_STRING + 1];

						pg_unicode_to_server(cp, buf);
						memcpy(dst, buf, strlen((char *) buf));
						dst += strlen((char *) buf);
					}
					break;
				}
			default:			/* " \ / */
				*dst++ = *src++;
				break;
		}
	}
	*dst = '\0';
	return compat_token_start(st->lex) + 1;
}

/* the lexeme of a number, true, false or null, NUL-terminated (a copy: the next token follows it) */
static char *
jrows_lexeme(JrowsState *st)
{
	size_t		len = st->lex->token_terminator - st->lex->token_start;
	char	   *buf = len < sizeof(st->numbuf) ? st->numbuf : palloc(len + 1);

	memcpy(buf, st->lex->token_start, len);
	buf[len] = '\0';
	return buf;
}

/*
 * jrows_step
 *		Walk the tokens, calling the semantic actions above, until a row is
 *		complete (true: it is in st->values and st->nulls) or the body has
 *		ended (false).  The walk keeps its place in st->step and in the
 *		frames of the open containers, so it can pause after any row and go
 *		on later: a listing hands its rows out one at a time, as they are
 *		parsed.
 */
static bool
jrows_step(JrowsState *st)
{
	JsonLexContext *lex = st->lex;

	st->row_ready = false;
	while (!st->row_ready)
	{
		JsonTokenType tt = lex->token_type;

		switch (st->step)
		{
			case WS_VALUE:
				switch (tt)
				{
					case JSON_TOKEN_OBJECT_START:
					case JSON_TOKEN_ARRAY_START:
						{
							bool		is_array = (tt == JSON_TOKEN_ARRAY_START);
							JsonTokenType end = is_array ? JSON_TOKEN_ARRAY_END : JSON_TOKEN_OBJECT_END;

							jrows_container_start(st, is_array);
							jrows_advance(st);
							if (lex->token_type == end)
							{
								jrows_container_end(st, is_array);
								jrows_advance(st);
								st->step = WS_AFTER;
							}
							else if (is_array)
								jrows_element_start(st);
							else
								st->step = WS_KEY;
							break;
						}
					case JSON_TOKEN_STRING:
						jrows_scalar(st, jrows_string(st), tt);
						jrows_advance(st);
						st->step = WS_AFTER;
						break;
					case JSON_TOKEN_NUMBER:
					case JSON_TOKEN_TRUE:
					case JSON_TOKEN_FALSE:
					case JSON_TOKEN_NULL:
						jrows_scalar(st, jrows_lexeme(st), tt);
						jrows_advance(st);
						st->step = WS_AFTER;
						break;
					default:
						jrows_lex_error(st, JSON_EXPECTED_JSON);
				}
				break;
			case WS_KEY:
				if (tt != JSON_TOKEN_STRING)
					jrows_lex_error(st, JSON_EXPECTED_STRING);
				jrows_field_start(st, jrows_string(st));
				jrows_advance(st);
				if (lex->token_type != JSON_TOKEN_COLON)
					jrows_lex_error(st, JSON_EXPECTED_COLON);
				jrows_advance(st);
				st->step = WS_VALUE;
				break;
			case WS_AFTER:
				if (st->depth == 0)
				{
					if (tt != JSON_TOKEN_END)
						jrows_lex_error(st, JSON_EXPECTED_END);
					st->step = WS_DONE;
					return false;
				}
				if (st->frames[st->depth].is_array)
				{
					if (tt == JSON_TOKEN_COMMA)
					{
						jrows_advance(st);
						jrows_element_start(st);
						st->step = WS_VALUE;
					}
					else if (tt == JSON_TOKEN_ARRAY_END)
					{
						jrows_container_end(st, true);
						jrows_advance(st);
					}
					else
						jrows_lex_error(st, JSON_EXPECTED_ARRAY_NEXT);
				}
				else
				{
					if (tt == JSON_TOKEN_COMMA)
					{
						jrows_advance(st);
						st->step = WS_KEY;
					}
					else if (tt == JSON_TOKEN_OBJECT_END)
					{
						jrows_container_end(st, false);
						jrows_advance(st);
					}
					else
						jrows_lex_error(st, JSON_EXPECTED_OBJECT_NEXT);
				}
				break;
			case WS_DONE:
				return false;
		}
	}
	return true;
}

/* errcontext: which field of which response was being converted */
static void
jrows_errcontext(void *arg)
{
	JrowsState *st = (JrowsState *) arg;

	if (st->converting)
		errcontext("field \"%s\" of the %s", st->converting->field, st->spec->what);
}

/*
 * jrows_open
 *		Start parsing body (len bytes, NUL-terminated; strings are decoded in
 *		place, so the body is rewritten and belongs to the parser) per spec.
 *		wanted (spec->natts flags, NULL: all) names the columns to build: the
 *		others stay NULL and their values are skipped without conversion.
 *		captured, when not NULL, has spec->ncaptures slots, set while the
 *		body is read to the top-level scalars named in spec->captures
 *		(palloc'd text, NULL when absent or null); read them once
 *		jrows_next() has returned false.  The parser lives in the current
 *		memory context.  Raises 22021 on a body that is not UTF-8.
 */
JrowsParser *
jrows_open(const JrowsSpec *spec, char *body, size_t len, const bool *wanted, char **captured)
{
	JrowsState *st;

	if (len > (size_t) PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("response from the %s is too large to parse", spec->what)));

	/* the APIs speak UTF-8; the parser works in the database encoding */
	body = jrows_server_text(body, &len, spec->what);

	st = palloc0(sizeof(JrowsState));
	st->spec = spec;
	st->captured = captured;
	st->values = palloc0(sizeof(Datum) * Max(spec->natts, 2));
	st->nulls = palloc0(sizeof(bool) * Max(spec->natts, 2));
	st->wanted = palloc(sizeof(bool) * Max(spec->natts, 2));
	for (int i = 0; i < Max(spec->natts, 2); i++)
		st->wanted[i] = (wanted == NULL || i >= spec->natts || wanted[i]);
	st->want_extra = spec->extra_attnum >= 0 && st->wanted[spec->extra_attnum];
	st->want_whole = spec->whole_attnum >= 0 && st->wanted[spec->whole_attnum];
	st->row_index = spec->columns ? jrows_build_index(spec->columns) : NULL;
	st->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "spotgo_gss row",
										ALLOCSET_DEFAULT_SIZES);
	st->frames[0].role = FR_ENVELOPE;
	if (captured)
		memset(captured, 0, sizeof(char *) * spec->ncaptures);

	/* the lexer validates strings without building them; jrows_string() takes them in place */
	st->lex = compat_json_lexer(body, (int) len, false);
	st->step = WS_VALUE;
	jrows_advance(st);
	return st;
}

/*
 * jrows_next
 *		The next row of the body: true with *values and *nulls (spec->natts
 *		entries, owned by the parser) set, valid until the next call; false
 *		at the end of the body.  Raises 22032 on a malformed or unexpected
 *		body, and what a column's input function raises.
 */
bool
jrows_next(JrowsParser *p, Datum **values, bool **nulls)
{
	JrowsState *st = (JrowsState *) p;
	ErrorContextCallback errcb;
	bool		got;

	errcb.callback = jrows_errcontext;
	errcb.arg = st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	got = jrows_step(st);
	error_context_stack = errcb.previous;
	*values = st->values;
	*nulls = st->nulls;
	return got;
}

/*
 * jrows_close
 *		Free the parser's row memory; returns the number of rows it gave.
 */
int64
jrows_close(JrowsParser *p)
{
	JrowsState *st = (JrowsState *) p;
	int64		n = st->nrows;

	MemoryContextDelete(st->row_cxt);
	return n;
}

/*
 * jrows_parse
 *		Parse a whole body (see jrows_open()), calling emit for each row
 *		with every column built, and return the number of rows.
 */
int64
jrows_parse(const JrowsSpec *spec, char *body, size_t len,
			JrowsEmit emit, void *arg, char **captured)
{
	JrowsParser *p = jrows_open(spec, body, len, NULL, captured);
	Datum	   *values;
	bool	   *nulls;

	while (jrows_next(p, &values, &nulls))
		emit(arg, values, nulls);
	return jrows_close(p);
}

/* copy the columns of one field list (and its nested lists) */
static void
jrows_copy_columns(const JrowsColumn *cols, const Datum *values, const bool *nulls, Datum *dst)
{
	for (const JrowsColumn *c = cols; c->field; c++)
	{
		if (c->nested)
		{
			jrows_copy_columns(c->nested, values, nulls, dst);
			continue;
		}
		if (nulls[c->attnum])
			continue;
		switch (c->type)
		{
			case JR_TEXT:
			case JR_JSONB:
				dst[c->attnum] = datumCopy(values[c->attnum], false, -1);
				break;
			case JR_UUID:
				dst[c->attnum] = datumCopy(values[c->attnum], false, UUID_LEN);
				break;
			default:
				dst[c->attnum] = values[c->attnum];
				break;
		}
	}
}

/*
 * jrows_copy_row
 *		Copy a row the parser gave (valid only until its next row) into the
 *		current memory context: dst and dnulls have spec->natts entries.
 */
void
jrows_copy_row(const JrowsSpec *spec, const Datum *values, const bool *nulls, Datum *dst, bool *dnulls)
{
	memcpy(dnulls, nulls, sizeof(bool) * spec->natts);
	memset(dst, 0, sizeof(Datum) * spec->natts);
	if (spec->columns)
		jrows_copy_columns(spec->columns, values, nulls, dst);
	if (spec->extra_attnum >= 0 && !nulls[spec->extra_attnum])
		dst[spec->extra_attnum] = datumCopy(values[spec->extra_attnum], false, -1);
	if (spec->whole_attnum >= 0 && !nulls[spec->whole_attnum])
		dst[spec->whole_attnum] = datumCopy(values[spec->whole_attnum], false, -1);
}

/*
 * jrows_jsonb_text
 *		jsonb as compact JSON text for a request body; palloc'd.
 */
char *
jrows_jsonb_text(Jsonb *jb, int *len)
{
	StringInfoData buf;

	initStringInfo(&buf);
	(void) JsonbToCString(&buf, &jb->root, VARSIZE(jb));
	*len = buf.len;
	return buf.data;
}

/*
 * jrows_body_jsonb
 *		A whole response body as jsonb, for answers that are returned as
 *		they are (one order, a document view).  Raises 22032 naming the
 *		response when the body is not JSON.
 */
Jsonb *
jrows_body_jsonb(char *body, size_t len, const char *what)
{
	JsonLexContext *lex;
	JsonParseErrorType rc;

	if (len > (size_t) PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("response from the %s is too large to parse", what)));
	body = jrows_server_text(body, &len, what);
	lex = compat_json_lexer(body, (int) len, true);
	rc = pg_parse_json(lex, &nullSemAction);
	if (rc != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_JSON_TEXT),
				 errmsg("malformed JSON in the response from the %s", what),
				 errdetail("%s", jrows_clean_errdetail(rc, lex))));
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(body)));
}

/*
 * jrows_try_body_jsonb
 *		As jrows_body_jsonb(), but a body that is not valid UTF-8 or not JSON
 *		gives NULL with *why set to one line on it (cleaned), instead of an
 *		error: for answers whose failure is recorded rather than raised.
 */
Jsonb *
jrows_try_body_jsonb(char *body, size_t len, const char *what, char **why)
{
	JsonLexContext *lex;
	JsonParseErrorType rc;

	*why = NULL;
	if (len == 0 || len > (size_t) PG_INT32_MAX)
	{
		*why = psprintf("the %s answered with %s body", what, len == 0 ? "an empty" : "an oversized");
		return NULL;
	}
	if ((*why = jrows_bad_text(body, len, what)) != NULL)
		return NULL;
	body = jrows_server_text(body, &len, what);
	lex = compat_json_lexer(body, (int) len, true);
	rc = pg_parse_json(lex, &nullSemAction);
	if (rc != JSON_SUCCESS)
	{
		*why = psprintf("malformed JSON in the response from the %s: %s",
						what, jrows_clean_errdetail(rc, lex));
		return NULL;
	}
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(body)));
}

/*
 * jrows_is_iso8601
 *		True for "YYYY-MM-DDTHH:MM[:SS[.fff]][Z|+HH:MM]" with a valid date
 *		and time, the form the APIs take.
 */
bool
jrows_is_iso8601(const char *s)
{
	Timestamp	ts;

	return strlen(s) > 10 && s[10] == 'T' && jrows_fast_timestamp(s, true, &ts);
}
