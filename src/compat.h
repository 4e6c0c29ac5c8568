/*-------------------------------------------------------------------------
 *
 * compat.h
 *		The one place where spotgo_gss bridges PostgreSQL major versions.
 *
 * Each block names the server change it covers.  Other files call the
 * wrappers below and carry no PG_VERSION_NUM tests of their own.
 * Supported: PostgreSQL 15 and later (tested on 15, 17 and 18; 16 and 19
 * are compiled by no test here, see the README).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SPOTGO_GSS_COMPAT_H
#define SPOTGO_GSS_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "spotgo_gss needs PostgreSQL 15 or later"
#endif

#include "fmgr.h"
#include "funcapi.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

/* every set-returning function materializes (InitMaterializedSRF, PG15) */
#define compat_init_srf(fcinfo) InitMaterializedSRF((fcinfo), 0)

/*
 * PG17 gave makeJsonLexContextCstringLen() a leading JsonLexContext argument
 * (NULL: allocate one).
 */
#if PG_VERSION_NUM >= 170000
static inline JsonLexContext *
compat_json_lexer(char *json, int len, bool need_escapes)
{
	return makeJsonLexContextCstringLen(NULL, json, len, GetDatabaseEncoding(), need_escapes);
}
#else
static inline JsonLexContext *
compat_json_lexer(char *json, int len, bool need_escapes)
{
	return makeJsonLexContextCstringLen(json, len, GetDatabaseEncoding(), need_escapes);
}
#endif

/*
 * PG18 replaced the pg_attribute_noreturn() suffix with the pg_noreturn
 * prefix; the older macro is a GCC attribute, which may stand first too.
 */
#if PG_VERSION_NUM >= 180000
#define compat_noreturn pg_noreturn
#else
#define compat_noreturn pg_attribute_noreturn()
#endif

/*
 * PG17 made the token pointers of JsonLexContext const.  json_rows.c owns
 * the response buffer the lexer reads and decodes strings in place there,
 * so it takes them as writable pointers into that buffer.
 */
#if PG_VERSION_NUM >= 170000
#define compat_token_start(lex) unconstify(char *, (lex)->token_start)
#define compat_token_end(lex) unconstify(char *, (lex)->token_terminator)
#else
#define compat_token_start(lex) ((lex)->token_start)
#define compat_token_end(lex) ((lex)->token_terminator)
#endif

/* PG15's name for reserving the GUC prefix */
#define compat_reserve_guc_prefix(p) MarkGUCPrefixReserved(p)

/*
 * PG16 replaced the per-object-type ACL checks (pg_foreign_server_aclcheck()
 * and friends) with object_aclcheck().
 */
#include "utils/acl.h"
#if PG_VERSION_NUM >= 160000
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_proc.h"
#define compat_server_aclcheck(serverid, roleid, mode) \
	object_aclcheck(ForeignServerRelationId, (serverid), (roleid), (mode))
#define compat_proc_aclcheck(procid, roleid, mode) \
	object_aclcheck(ProcedureRelationId, (procid), (roleid), (mode))
#else
#define compat_server_aclcheck(serverid, roleid, mode) \
	pg_foreign_server_aclcheck((serverid), (roleid), (mode))
#define compat_proc_aclcheck(procid, roleid, mode) \
	pg_proc_aclcheck((procid), (roleid), (mode))
#endif

/* a random number in [0, 1) (pg_prng, PG15) */
#include "common/pg_prng.h"
static inline double
compat_random_fraction(void)
{
	return pg_prng_double(&pg_global_prng_state);
}



/*
 * PG17 replaced PGPROC.pgprocno with the global MyProcNumber (and
 * GetPGProcByNumber()).  compat_my_proc_index() is this process's index in
 * ProcGlobal->allProcs.
 */
#include "storage/proc.h"
#if PG_VERSION_NUM >= 170000
#define compat_my_proc_index() ((uint32) MyProcNumber)
#else
#define compat_my_proc_index() ((uint32) MyProc->pgprocno)
#endif

/*
 * PG17 gave create_foreignscan_path() and create_foreign_upper_path() an
 * fdw_restrictinfo argument, and PG18 a disabled_nodes count before the
 * costs.  The wrapper's paths have neither (NIL, 0).
 */
#include "optimizer/pathnode.h"
#if PG_VERSION_NUM >= 180000
#define compat_create_foreignscan_path(root, rel, target, rows, startup, total, pathkeys, outer, outerpath, priv) \
	create_foreignscan_path((root), (rel), (target), (rows), 0, (startup), (total), (pathkeys), \
							(outer), (outerpath), NIL, (priv))
#define compat_create_foreign_upper_path(root, rel, target, rows, startup, total, pathkeys, outerpath, priv) \
	create_foreign_upper_path((root), (rel), (target), (rows), 0, (startup), (total), (pathkeys), \
							  (outerpath), NIL, (priv))
#elif PG_VERSION_NUM >= 170000
#define compat_create_foreignscan_path(root, rel, target, rows, startup, total, pathkeys, outer, outerpath, priv) \
	create_foreignscan_path((root), (rel), (target), (rows), (startup), (total), (pathkeys), \
							(outer), (outerpath), NIL, (priv))
#define compat_create_foreign_upper_path(root, rel, target, rows, startup, total, pathkeys, outerpath, priv) \
	create_foreign_upper_path((root), (rel), (target), (rows), (startup), (total), (pathkeys), \
							  (outerpath), NIL, (priv))
#else
#define compat_create_foreignscan_path(root, rel, target, rows, startup, total, pathkeys, outer, outerpath, priv) \
	create_foreignscan_path((root), (rel), (target), (rows), (startup), (total), (pathkeys), \
							(outer), (outerpath), (priv))
#define compat_create_foreign_upper_path(root, rel, target, rows, startup, total, pathkeys, outerpath, priv) \
	create_foreign_upper_path((root), (rel), (target), (rows), (startup), (total), (pathkeys), \
							  (outerpath), (priv))
#endif

/*
 * PG16 moved the role whose permissions a query is checked as from the
 * range table entry (rte->checkAsUser) into the plan: ForeignScan's
 * checkAsUser, and ExecGetResultRelCheckAsUser() for a table being
 * modified.  Both wrappers give the role whose user mapping applies.
 */
#include "executor/executor.h"
#include "miscadmin.h"
#include "parser/parsetree.h"
#if PG_VERSION_NUM >= 160000
static inline Oid
compat_scan_user(ForeignScan *plan, EState *estate)
{
	return OidIsValid(plan->checkAsUser) ? plan->checkAsUser : GetUserId();
}

static inline Oid
compat_modify_user(ResultRelInfo *rri, EState *estate)
{
	return ExecGetResultRelCheckAsUser(rri, estate);
}
#else
static inline Oid
compat_scan_user(ForeignScan *plan, EState *estate)
{
	RangeTblEntry *rte = exec_rt_fetch(plan->scan.scanrelid, estate);

	return OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
}

static inline Oid
compat_modify_user(ResultRelInfo *rri, EState *estate)
{
	RangeTblEntry *rte = exec_rt_fetch(rri->ri_RangeTableIndex, estate);

	return OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
}
#endif

/*
 * PG18 moved ExplainState and the ExplainProperty*() functions out of
 * commands/explain.h into explain_state.h and explain_format.h.
 */
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#else
#include "commands/explain.h"
#endif

/*
 * PG18 gave ExecCheckIndexConstraints() the TID of a row to ignore (NULL:
 * none, as for an insertion), and renamed ResultRelInfo's
 * ri_ConstraintExprs (the prepared CHECK constraints) to
 * ri_CheckConstraintExprs.
 */
#include "executor/executor.h"
#if PG_VERSION_NUM >= 180000
#define compat_check_index_constraints(rri, slot, estate, conflict, arbiters) \
	ExecCheckIndexConstraints((rri), (slot), (estate), (conflict), NULL, (arbiters))
#define compat_set_check_exprs(rri, exprs) ((rri)->ri_CheckConstraintExprs = (exprs))
#else
#define compat_check_index_constraints(rri, slot, estate, conflict, arbiters) \
	ExecCheckIndexConstraints((rri), (slot), (estate), (conflict), (arbiters))
#define compat_set_check_exprs(rri, exprs) ((rri)->ri_ConstraintExprs = (exprs))
#endif

#endif							/* SPOTGO_GSS_COMPAT_H */
