/*-------------------------------------------------------------------------
 *
 * fdw.h
 *		What the foreign scan (fdw.c) and the foreign writes (fdw_modify.c)
 *		share: a foreign table resolved to its resource.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_FDW_H
#define SPOTGO_GSS_FDW_H

#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "utils/rel.h"

#include "resource.h"

/* how a scan hands out its rows (fdw_private of the plan, FDW_PRIV_MODE) */
typedef enum FdwScanMode
{
	FDW_SCAN_STREAM,			/* as they are parsed */
	FDW_SCAN_COLLECT,			/* all read first: they are about to be changed */
	FDW_SCAN_DELETE				/* all read, deleted, then the deleted ones */
} FdwScanMode;

#define FDW_PRIV_MODE 5

/* a foreign table of the wrapper and the resource it reads */
typedef struct FdwTable
{
	Oid			relid;
	const char *relname;
	const ApiResource *res;
	ForeignServer *server;
	char	  **res_names;		/* the resource's columns */
	int			natts;			/* the table's attributes, dropped ones included */
	int		   *res_att;		/* per table attribute (0-based): resource column, or -1 */
	int		   *tab_att;		/* per resource column: table attribute (0-based), or -1 */
	double		rows;			/* the table option rows, or -1 */
} FdwTable;

/* fdw.c */
extern FdwTable *fdw_table(Relation rel);
extern int	fdw_resource_column(const FdwTable *t, const char *column);
extern ApiEndpoint *fdw_endpoint(const FdwTable *t, Oid userid);

/* fdw_modify.c */
extern void fdw_modify_routine(FdwRoutine *routine);
extern void fdw_delete_rows(const FdwTable *t, ApiEndpoint *ep, char **keys, int n, bool *done);

#endif							/* SPOTGO_GSS_FDW_H */
