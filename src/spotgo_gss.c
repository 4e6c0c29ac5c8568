/*-------------------------------------------------------------------------
 *
 * spotgo_gss.c
 *		Module entry point: GUC definitions.
 *
 * The synchronous SQL functions work without shared_preload_libraries;
 * loading the library in a backend only defines the GUCs below.  Nothing
 * here does I/O.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "compat.h"
#include "spotgo_gss.h"

PG_MODULE_MAGIC;

char	   *spotgo_gss_gss_server = NULL;
char	   *spotgo_gss_spotgo_server = NULL;
int			spotgo_gss_max_response_bytes = 256 * 1024 * 1024;

void		_PG_init(void);

/*
 * _PG_init
 *		Define the GUCs.  Runs once per backend that loads the library.
 */
void
_PG_init(void)
{
	DefineCustomStringVariable("spotgo_gss.gss_server",
							   "Foreign server used by GoSweetSpot functions when no server is named.",
							   "The server must belong to the spotgo_gss foreign-data wrapper and have api 'gss'.",
							   &spotgo_gss_gss_server,
							   "gss",
							   PGC_USERSET,
							   0,
							   NULL,
							   NULL,
							   NULL);

	DefineCustomStringVariable("spotgo_gss.spotgo_server",
							   "Foreign server used by SpotGo functions when no server is named.",
							   "The server must belong to the spotgo_gss foreign-data wrapper and have api 'spotgo'.",
							   &spotgo_gss_spotgo_server,
							   "spotgo",
							   PGC_USERSET,
							   0,
							   NULL,
							   NULL,
							   NULL);

	/*
	 * Responses are held in memory (a page at a time when listing), and a
	 * bytea or text value cannot exceed 1 GB, hence the upper bound.
	 */
	DefineCustomIntVariable("spotgo_gss.max_response_bytes",
							"Largest API response body accepted, in bytes.",
							"A longer response fails with SQLSTATE 54000 and is not read further.",
							&spotgo_gss_max_response_bytes,
							256 * 1024 * 1024,
							1024,
							1024 * 1024 * 1024 - 1,
							PGC_USERSET,
							GUC_UNIT_BYTE,
							NULL,
							NULL,
							NULL);

	compat_reserve_guc_prefix("spotgo_gss");
}
