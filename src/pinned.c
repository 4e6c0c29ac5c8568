/*-------------------------------------------------------------------------
 *
 * pinned.c
 *		Run the extension's own SQL under a fixed search_path.
 *
 * Every statement that C code runs through SPI, and every name it resolves
 * for a caller, must mean the same whatever the caller's search_path is: a
 * role that puts a schema of its own first could otherwise plant an
 * operator or function that the extension (running as the outbox's owner,
 * or as the worker's superuser) would call.  This is postgres_fdw's
 * set_transmission_modes() idiom: a new GUC nesting level with the path
 * set in it, popped when done; an ERROR in between pops it with the
 * (sub)transaction.  A plan kept with SPI_keepplan() remembers the path it
 * was made under, so running it under the same pinned path never re-plans.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "pinned.h"

/*
 * pinned_path_push
 *		Set search_path to path (usually PINNED_SEARCH_PATH) at a new GUC
 *		nesting level; returns the level for pinned_path_pop().  Needs a
 *		transaction.
 */
int
pinned_path_push(const char *path)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("search_path", path,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/*
 * pinned_path_pop
 *		Restore the search_path in force before pinned_path_push().
 */
void
pinned_path_pop(int nestlevel)
{
	AtEOXact_GUC(true, nestlevel);
}
