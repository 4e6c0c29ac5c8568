/*-------------------------------------------------------------------------
 *
 * pinned.h
 *		Run the extension's own SQL under a fixed search_path.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_PINNED_H
#define SPOTGO_GSS_PINNED_H

/* the search_path every statement of the extension runs under */
#define PINNED_SEARCH_PATH "pg_catalog, pg_temp"

extern int	pinned_path_push(const char *path);
extern void pinned_path_pop(int nestlevel);

#endif							/* SPOTGO_GSS_PINNED_H */
