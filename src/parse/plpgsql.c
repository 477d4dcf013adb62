/*
 * plpgsql.c: reading the SQL a DO block runs. The block's body is parsed as
 * a PL/pgSQL function with libpg_query, and every embedded SQL statement is
 * parsed in turn, so a DO block takes the phase of what it does. Dynamic SQL
 * (EXECUTE) and other languages cannot be read: the caller treats such a
 * block as a contract and warns.
 */
#include "parse.h"

#include <pg_query.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct do_walk {
	const struct phg_stmt *outer;
	phg_stmt_fn fn;
	void *ctx;
	bool dynamic; /* EXECUTE or FOR ... EXECUTE: not readable */
	bool bad;     /* an embedded statement did not parse */
	int rc;
	int count;
};

static const char *do_arg(const cJSON *dostmt, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, phg_field(dostmt, "args"))
	{
		const cJSON *d = phg_node_get(it, "DefElem");

		if (phg_streq(phg_field_str(d, "defname"), name))
			return phg_node_sval(phg_field(d, "arg"));
	}
	return NULL;
}

/* Parses one embedded query and hands its statements to the callback. */
static void walk_query(struct do_walk *w, const char *query)
{
	PgQueryParseResult res = pg_query_parse(query);
	cJSON *doc = NULL;
	const cJSON *it;

	if (res.error) {
		w->bad = true;
		goto out;
	}
	doc = phg_json_parse(res.parse_tree);
	if (!doc) {
		w->bad = true;
		goto out;
	}
	cJSON_ArrayForEach(it, phg_field(doc, "stmts"))
	{
		struct phg_stmt inner = *w->outer;

		inner.tree = phg_field(it, "stmt");
		inner.node_type = phg_node_type(inner.tree);
		inner.actions = NULL;
		inner.nactions = 0;
		inner.targets = NULL;
		inner.ntargets = 0;
		inner.state = PHG_STMT_OK;
		w->count++;
		if (w->rc == 0 && w->fn)
			w->rc = w->fn(&inner, w->ctx);
	}
out:
	phg_json_delete(doc);
	pg_query_free_parse_result(res);
}

static void walk_node(struct do_walk *w, const cJSON *node, int depth)
{
	const cJSON *it;

	if (!node || depth > 2000 || w->rc != 0)
		return;
	if (cJSON_IsObject(node)) {
		const cJSON *ex = phg_node_get(node, "PLpgSQL_stmt_execsql");

		if (phg_node_get(node, "PLpgSQL_stmt_dynexecute") ||
		    phg_node_get(node, "PLpgSQL_stmt_dynfors")) {
			w->dynamic = true;
			return;
		}
		if (ex) {
			const char *q = phg_field_str(
				phg_node_get(phg_field(ex, "sqlstmt"),
					     "PLpgSQL_expr"),
				"query");

			if (q)
				walk_query(w, q);
			return;
		}
	}
	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		cJSON_ArrayForEach(it, node) walk_node(w, it, depth + 1);
}

/* Wraps the body in a function definition with a dollar tag it lacks. */
static char *wrap_body(const char *body)
{
	char tag[32] = "phg";

	for (int i = 0; i < 1000; i++) {
		char probe[40];

		snprintf(probe, sizeof(probe), "$%s$", tag);
		if (!strstr(body, probe))
			return phg_asprintf("CREATE FUNCTION phg_do() RETURNS "
					    "void LANGUAGE plpgsql AS %s%s%s",
					    probe, body, probe);
		snprintf(tag, sizeof(tag), "phg%d", i);
	}
	return NULL;
}

int phg_parse_do_block(const struct phg_stmt *outer, phg_stmt_fn fn, void *ctx)
{
	const cJSON *st = phg_node_get(outer->tree, "DoStmt");
	const char *body = do_arg(st, "as");
	const char *lang = do_arg(st, "language");
	struct do_walk w = {.outer = outer, .fn = fn, .ctx = ctx};
	PgQueryPlpgsqlParseResult res;
	cJSON *doc = NULL;
	char *src;

	if (!st || !body || (lang && strcmp(lang, "plpgsql") != 0))
		return 1;
	src = wrap_body(body);
	if (!src)
		return 1;
	res = pg_query_parse_plpgsql(src);
	if (res.error || !res.plpgsql_funcs) {
		w.bad = true;
		goto out;
	}
	doc = phg_json_parse(res.plpgsql_funcs);
	if (!doc) {
		w.bad = true;
		goto out;
	}
	walk_node(&w, doc, 0);
out:
	phg_json_delete(doc);
	pg_query_free_plpgsql_parse_result(res);
	free(src);
	if (w.rc < 0)
		return w.rc;
	return w.dynamic || w.bad ? 1 : 0;
}
