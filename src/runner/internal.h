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

/* Takes the session advisory lock, waiting up to wait_ms (exit 3 after). */
int rn_lock(struct rn_conn *c, long long wait_ms, phg_progress_fn progress,
	    void *pctx, struct phg_err *err);

/* Creates the history schema and table when missing (under the lock). */
int rn_history_ensure(struct rn_conn *c, struct phg_err *err);
/* Whether the history table exists (without creating it). */
int rn_history_exists(struct rn_conn *c, bool *exists, struct phg_err *err);
/* Reads every history row; *rows is freed with rn_history_free. */
int rn_history_read(struct rn_conn *c, struct phg_history_row **rows, size_t *n,
		    struct phg_err *err);
void rn_history_free(struct phg_history_row *rows, size_t n);
/* The row of a migration, or NULL. */
struct phg_history_row *rn_history_find(struct phg_history_row *rows, size_t n,
					const char *name);

/* What applying one migration needs to know. */
struct rn_apply {
	const struct phg_runner_opts *opts;
	const struct phg_lint_migration *m;
	const struct phg_history_row *row; /* its row if one exists */
	const char *text;		   /* the whole file */
	size_t len;
};

/* Applies one migration in its region (rn_apply_one in apply.c). */
int rn_apply_one(struct rn_conn *c, const struct rn_apply *a, long long *ms,
		 struct phg_err *err);

/* Sleeps ms milliseconds (bounded waits only). */
void rn_sleep_ms(long long ms);
/* Milliseconds of a monotonic clock. */
long long rn_now_ms(void);

#endif
