/*
 * pgparse.h: libpg_query's parser, giving the tree as cJSON without the
 * JSON text in between (nodes.c). The only header of src/parse that may be
 * included next to the PostgreSQL server headers, so it names nothing of
 * them.
 */
#ifndef PHG_PGPARSE_H
#define PHG_PGPARSE_H

#include <cjson/cJSON.h>
#include <pg_query.h>
#include <stdbool.h>

struct phg_pg_result {
	/* The tree phg_json_parse would read from pg_query_parse's output:
	   {"version": ..., "stmts": [...]}, from the parse arena (free with
	   phg_json_delete). NULL on a syntax error, when it was not asked
	   for, or when it nests deeper than trees may (or no memory). */
	cJSON *doc;
	/* libpg_query's syntax error, or NULL. */
	PgQueryError *error;
};

/* Parses sql; builds the tree only when want_tree. */
void phg_pg_parse(const char *sql, bool want_tree, struct phg_pg_result *out);
/* Frees the error (not the tree). */
void phg_pg_result_free(struct phg_pg_result *res);

#endif
