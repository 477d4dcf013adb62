/*
 * internal.h: private to runner/ — one database connection with its region,
 * and the helpers that talk to it.
 */
#ifndef PHG_RUNNER_INTERNAL_H
#define PHG_RUNNER_INTERNAL_H

#include <libpq-fe.h>

#include "runner.h"

/* SQLSTATE of lock_not_available (lock_timeout expired). */
#define RN_LOCK_NOT_AVAILABLE "55P03"

struct rn_conn {
	PGconn *pg;
	const char *region;
	char *schema;	/* quoted history schema identifier */
	char *password; /* the DSN's password, only to scrub messages */
	bool locked;
};

/*
 * Connects to a region's database: ${NAME} in the DSN expanded here, never
 * printed. Errors are PHG_ECONFIG (a variable not set) or PHG_ERUNTIME
 * ("region 'x': cannot connect: ..."), with the password scrubbed.
 */
int rn_connect(const struct phg_config *cfg, const struct phg_region *region,
	       struct rn_conn *c, struct phg_err *err);
void rn_close(struct rn_conn *c);

/*
 * Puts the session back as it was when it connected (RESET ALL, RESET ROLE)
 * plus the runner's own settings, so what one migration SETs (search_path,
 * a role, session_replication_role, ...) never leaks into the next. The
 * advisory lock stays. Returns 0 or PHG_ERUNTIME.
 */
int rn_session_reset(struct rn_conn *c, struct phg_err *err);
/*
 * What rn_session_reset sends, as SQL text for a longer message (static:
 * depends only on the server's version).
 */
const char *rn_session_sql(const struct rn_conn *c);

/* Who runs phasegate ($USER, else the process's user): for the history. */
const char *rn_whoami(void);
/* The host name (or "unknown") into out, cap bytes. */
void rn_hostname(char *out, size_t cap);

/*
 * Runs sql (one or several statements) and discards the result. On failure
 * sets sqlstate (6 bytes, may be NULL) and err ("region 'x': what: message
 * (SQLSTATE)") and returns PHG_ERUNTIME.
 */
int rn_exec(struct rn_conn *c, const char *sql, const char *what,
	    char *sqlstate, struct phg_err *err);

/* Runs a parameterised query; *out is the caller's to PQclear. */
int rn_query(struct rn_conn *c, const char *sql, int nparams,
	     const char *const *params, PGresult **out, const char *what,
	     struct phg_err *err);

/*
 * Takes the session-level advisory lock of the history schema in c's
 * database, polling up to wait_ms; it is held until the connection closes.
 * Returns 0, or PHG_ERUNTIME when another runner kept it that long (or the
 * query failed). progress hears PHG_EV_LOCK_WAIT once if it has to wait.
 */
int rn_lock(struct rn_conn *c, long long wait_ms, phg_progress_fn progress,
	    void *pctx, struct phg_err *err);
/* Whether any session (c's included) holds that lock now, without taking it. */
int rn_lock_held(struct rn_conn *c, bool *held, struct phg_err *err);

/*
 * The regions a command works on, in run order (primary first): the one
 * named (name), or every region (all, or when there is only one). *out is
 * a malloc'd array of n borrowed pointers, freed by the caller whatever the
 * return. Errors are PHG_EUSAGE: no regions, an unknown name, or several
 * regions and neither a name nor all.
 */
int rn_select_regions(const struct phg_config *cfg, const char *name, bool all,
		      const struct phg_region ***out, size_t *n,
		      struct phg_err *err);

/* Creates the history schema and table when missing (under the lock). */
int rn_history_ensure(struct rn_conn *c, struct phg_err *err);
/* Whether the history table exists (without creating it). */
int rn_history_exists(struct rn_conn *c, bool *exists, struct phg_err *err);
/* Reads every history row; *rows is freed with rn_history_free. */
int rn_history_read(struct rn_conn *c, struct phg_history_row **rows, size_t *n,
		    struct phg_err *err);
void rn_history_free(struct phg_history_row *rows, size_t n);

/*
 * Names to pointers, so that matching 10,000 migrations with 10,000 history
 * rows never compares every pair. The map points into the struct's own
 * arena: init it where it stays, never copy it.
 */
struct rn_names {
	struct phg_arena arena;
	struct phg_map map;
};
void rn_names_init(struct rn_names *ix);
/* Adds name (copied) -> val; the last put of a name wins. 0 or PHG_ENOMEM. */
int rn_names_put(struct rn_names *ix, const char *name, void *val);
/* The value put for name, or NULL. */
void *rn_names_get(const struct rn_names *ix, const char *name);
void rn_names_release(struct rn_names *ix);
/* Indexes history rows by name. Returns 0 or PHG_ENOMEM. */
int rn_history_index(struct phg_history_row *rows, size_t n,
		     struct rn_names *ix);

/* How a history row stands against the migration's file (see rn_verdict). */
enum rn_verdict {
	RN_ROW_APPLIED,	     /* applied, file unchanged */
	RN_ROW_DRIFT,	     /* applied or partly applied, file changed */
	RN_ROW_MISSING,	     /* applied or partly applied, file gone */
	RN_ROW_PARTIAL,	     /* started outside a transaction and not
				finished: a rerun continues after
				statements_done */
	RN_ROW_NOTHING_KEPT, /* a failed or interrupted attempt that left
				nothing: a rerun starts over */
	RN_ROW_GONE	     /* nothing kept and the file is gone: ignore */
};

/*
 * Judges a history row against its migration m (NULL when no file has that
 * name). Drift and missing block a region: what is in the database no
 * longer matches any file, so nothing may be applied there. The runner and
 * `status` both decide with this one function.
 */
enum rn_verdict rn_verdict(const struct phg_history_row *row,
			   const struct phg_migration *m);

/* What applying one migration needs to know. */
struct rn_apply {
	const struct phg_runner_opts *opts;
	const struct phg_lint_migration *m;
	const struct phg_history_row *row; /* its row if one exists */
	const char *text;		   /* the whole file */
	size_t len;
};

/*
 * Applies one migration on c, which holds the advisory lock. A migration
 * that can runs in one transaction with its history row; one that cannot
 * (or that holds its own BEGIN/COMMIT) runs statement by statement with
 * its progress recorded, continuing after a->row's statements_done when
 * that row is a partial run of the same file. On failure the history
 * shows a 'failed' row (when the connection still works) and err says
 * what failed; returns 0 or PHG_ERUNTIME (PHG_ENOMEM). *ms is the time
 * spent either way.
 */
int rn_apply_one(struct rn_conn *c, const struct rn_apply *a, long long *ms,
		 struct phg_err *err);

/*
 * The line of a BEGIN in a migration with its own transaction control that
 * no COMMIT or ROLLBACK closes (before the next BEGIN), or 0. Such a file
 * would leave its work, and its history row, in a transaction that the
 * end of the session rolls back.
 */
int rn_unclosed_begin(const struct phg_lint_migration *m);

/* Sleeps ms milliseconds (bounded waits only). */
void rn_sleep_ms(long long ms);
/* Milliseconds of a monotonic clock. */
long long rn_now_ms(void);

#endif
