/*-------------------------------------------------------------------------
 *
 * bi_client.c
 *		What an ODBC BI tool does first, through unixODBC and Debian's
 *		psqlODBC driver: list the tables of a schema with SQLTables (and the
 *		columns of one with SQLColumns), then read rows with a query.
 *
 *		bi_client CONNECTION-STRING SCHEMA TABLE QUERY
 *
 * Prints "table SCHEMA.NAME TYPE" per table, "column NAME TYPE" per column
 * of TABLE, then "row V1|V2|..." per row of QUERY; exits 1 with the ODBC
 * diagnostics on stderr when a call fails.  Used by test/t/015_odbc_bi.pl.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sql.h>
#include <sqlext.h>

static void
fail(SQLSMALLINT type, SQLHANDLE handle, const char *what)
{
	SQLCHAR		state[6];
	SQLCHAR		text[1024];
	SQLINTEGER	native;
	SQLSMALLINT len;

	fprintf(stderr, "%s failed\n", what);
	for (SQLSMALLINT i = 1;
		 SQLGetDiagRec(type, handle, i, state, &native, text, sizeof(text), &len) == SQL_SUCCESS;
		 i++)
		fprintf(stderr, "  %s: %s\n", state, text);
	exit(1);
}

#define CHECK(rc, type, handle, what) \
	do { if (!SQL_SUCCEEDED(rc)) fail((type), (handle), (what)); } while (0)

/* print every row of a statement's result: prefix, then the chosen columns joined by sep */
static void
print_rows(SQLHSTMT st, const char *prefix, const int *cols, int ncols, const char *sep)
{
	SQLRETURN	rc;

	while ((rc = SQLFetch(st)) != SQL_NO_DATA)
	{
		CHECK(rc, SQL_HANDLE_STMT, st, "SQLFetch");
		printf("%s", prefix);
		for (int i = 0; i < ncols; i++)
		{
			char		buf[4096];
			SQLLEN		ind;

			rc = SQLGetData(st, (SQLUSMALLINT) cols[i], SQL_C_CHAR, buf, sizeof(buf), &ind);
			CHECK(rc, SQL_HANDLE_STMT, st, "SQLGetData");
			printf("%s%s", i ? sep : "", ind == SQL_NULL_DATA ? "NULL" : buf);
		}
		printf("\n");
	}
	SQLCloseCursor(st);
}

int
main(int argc, char **argv)
{
	SQLHENV		env;
	SQLHDBC		dbc;
	SQLHSTMT	st;
	SQLRETURN	rc;
	int			table_cols[] = {2, 3, 4};	/* TABLE_SCHEM, TABLE_NAME, TABLE_TYPE */
	int			column_cols[] = {4, 6};		/* COLUMN_NAME, TYPE_NAME */
	int			n;

	if (argc != 5)
	{
		fprintf(stderr, "usage: %s CONNECTION-STRING SCHEMA TABLE QUERY\n", argv[0]);
		return 2;
	}
	SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env);
	SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER) SQL_OV_ODBC3, 0);
	SQLAllocHandle(SQL_HANDLE_DBC, env, &dbc);
	rc = SQLDriverConnect(dbc, NULL, (SQLCHAR *) argv[1], SQL_NTS, NULL, 0, NULL, SQL_DRIVER_NOPROMPT);
	CHECK(rc, SQL_HANDLE_DBC, dbc, "SQLDriverConnect");
	SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st);

	/* the schema browser: every table-like object of the schema, any type */
	rc = SQLTables(st, NULL, 0, (SQLCHAR *) argv[2], SQL_NTS, (SQLCHAR *) "%", SQL_NTS, NULL, 0);
	CHECK(rc, SQL_HANDLE_STMT, st, "SQLTables");
	print_rows(st, "table ", table_cols, 3, " ");

	/* the columns of one table, as the field list of a chart */
	rc = SQLColumns(st, NULL, 0, (SQLCHAR *) argv[2], SQL_NTS, (SQLCHAR *) argv[3], SQL_NTS, NULL, 0);
	CHECK(rc, SQL_HANDLE_STMT, st, "SQLColumns");
	print_rows(st, "column ", column_cols, 2, " ");

	/* the rows */
	rc = SQLExecDirect(st, (SQLCHAR *) argv[4], SQL_NTS);
	CHECK(rc, SQL_HANDLE_STMT, st, "SQLExecDirect");
	{
		SQLSMALLINT ncols;
		int		   *cols;

		SQLNumResultCols(st, &ncols);
		cols = malloc(sizeof(int) * ncols);
		for (n = 0; n < ncols; n++)
			cols[n] = n + 1;
		print_rows(st, "row ", cols, ncols, "|");
		free(cols);
	}

	SQLFreeHandle(SQL_HANDLE_STMT, st);
	SQLDisconnect(dbc);
	SQLFreeHandle(SQL_HANDLE_DBC, dbc);
	SQLFreeHandle(SQL_HANDLE_ENV, env);
	return 0;
}
