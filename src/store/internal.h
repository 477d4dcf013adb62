/*
 * internal.h: private to store/ — the small ops table the two backends
 * (sqlite.c, pg.c) fill, so store.c writes every ledger query once. A
 * backend runs one statement with typed parameters and hands back its rows
 * as text; SQL text is shared, with a few placeholders each backend
 * spells its own way ({now}, {now_ms}, {for_update}, {id}).
 */
#ifndef PHG_STORE_INTERNAL_H
#define PHG_STORE_INTERNAL_H

#include "store.h"

/* A statement parameter: text (s, NULL is SQL NULL), integer or double. */
enum st_ptype { ST_TEXT, ST_INT, ST_REAL };
struct st_param {
	enum st_ptype type;
	const char *s;
	long long i;
	double d;
};

/* Rows of a result as malloc'd text cells (NULL is SQL NULL). */
struct st_rows {
	size_t nrows, ncols;
	char **cells; /* nrows * ncols, row-major */
};
/* The cell at row r, column c (NULL when SQL NULL). */
const char *st_cell(const struct st_rows *rows, size_t r, size_t c);
void st_rows_release(struct st_rows *rows);

struct st_ops {
	const char *name; /* "sqlite" or "postgresql" */
	/* SQL expressions for the ledger clock: ISO 8601 UTC text with
	   milliseconds, and milliseconds since the epoch (bigint). */
	const char *now_sql, *now_ms_sql;
	/* Row lock suffix for a SELECT inside a write transaction ("" for
	   SQLite, whose write transactions are already exclusive). */
	const char *for_update;
	/* Starts a write transaction. */
	const char *begin_sql;
	/* The column type of an auto-incremented id primary key. */
	const char *id_type;
	/*
	 * Runs one statement (after placeholders are replaced) with params
	 * ($1, $2, ... in the text). Fills *out when non-NULL (the caller
	 * releases it). Returns 0 or PHG_ERUNTIME / PHG_ENOMEM with err
	 * saying what failed ("what: detail"), never the location's secret.
	 */
	int (*exec)(void *impl, const char *sql, size_t nparams,
		    const struct st_param *params, struct st_rows *out,
		    const char *what, struct phg_err *err);
	/*
	 * Prepares the connection before the schema is read, inside the
	 * schema transaction (PostgreSQL: create and select its schema).
	 */
	int (*prepare)(void *impl, struct phg_err *err);
	/*
	 * Called before each operation, outside transactions: PostgreSQL
	 * reconnects a connection that dropped (a server restart during a
	 * long release). NULL when there is nothing to do.
	 */
	int (*ensure)(void *impl, struct phg_err *err);
	void (*close)(void *impl);
};

struct phg_store {
	const struct st_ops *ops;
	void *impl;
	char *where; /* the location for messages, userinfo stripped */
	bool in_tx;  /* inside st_begin .. st_commit */
};

/*
 * Opens the backends. *impl is the backend's connection; where is the
 * location as messages may show it. Return 0 or a negative PHG_E* code.
 */
int st_sqlite_open(const char *path, const char *where, void **impl,
		   struct phg_err *err);
int st_pg_open(const char *url, const char *where, void **impl,
	       struct phg_err *err);
extern const struct st_ops st_sqlite_ops;
extern const struct st_ops st_pg_ops;

/*
 * Writes into out (cap bytes) the location as it may be shown: for a URL,
 * the scheme, host, port and path, without userinfo (user and password)
 * or query string; a path as it is.
 */
void st_redact(const char *location, char *out, size_t cap);

/*
 * Copies msg into out (cap bytes), every occurrence of secret (when
 * non-empty) replaced by "********" and newlines by spaces, trailing
 * spaces trimmed.
 */
void st_scrub(const char *msg, const char *secret, char *out, size_t cap);

#endif
