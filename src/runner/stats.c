/*
 * stats.c: `lint --stats` — one read-only query that tells, for the tables
 * the findings are on, how many rows they hold (pg_class.reltuples, the
 * planner's estimate that ANALYZE and VACUUM keep), how big they are with
 * their indexes and TOAST (pg_total_relation_size), and how many rows were
 * written per second (pg_stat_all_tables' cumulative inserts, updates and
 * deletes over the time since the database's statistics were last reset,
 * or since the server started when they never were). A partitioned table
 * counts its partitions. The connection is the runner's (conn.c), so the
 * DSN is expanded at the last moment and never printed.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The pseudo-region the connection code names in its messages. */
#define STATS_REGION "stats"

/*
 * One row per wanted table that exists as a table or a partitioned table:
 * its position in the arrays ($1 schemas, $2 names), rows, bytes, writes,
 * and the window the writes were counted over, in seconds.
 */
static const char stats_sql[] =
	"WITH want AS (SELECT * FROM unnest($1::text[], $2::text[]) "
	"WITH ORDINALITY AS w(nsp, rel, i)), "
	"win AS (SELECT extract(epoch FROM now() - coalesce((SELECT "
	"stats_reset FROM pg_stat_database WHERE datname = "
	"current_database()), pg_postmaster_start_time()))::float8 AS s) "
	"SELECT w.i, "
	"sum(CASE WHEN lc.reltuples >= 0 THEN lc.reltuples::float8 "
	"ELSE coalesce(st.n_live_tup, 0)::float8 END), "
	"sum(pg_total_relation_size(lc.oid))::int8, "
	"sum(coalesce(st.n_tup_ins + st.n_tup_upd + st.n_tup_del, 0))::int8, "
	"min(win.s) "
	"FROM want w CROSS JOIN win "
	"JOIN pg_namespace n ON n.nspname = w.nsp "
	"JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.rel "
	"AND c.relkind IN ('r', 'p') "
	"CROSS JOIN LATERAL (SELECT c.oid AS relid WHERE c.relkind = 'r' "
	"UNION ALL SELECT pt.relid FROM pg_partition_tree(c.oid) pt "
	"WHERE c.relkind = 'p' AND pt.isleaf) leaf "
	"JOIN pg_class lc ON lc.oid = leaf.relid "
	"LEFT JOIN pg_stat_all_tables st ON st.relid = lc.oid "
	"GROUP BY w.i ORDER BY w.i";

/* Appends s to b as one element of a PostgreSQL array literal. */
static int array_elem(struct phg_buf *b, const char *s, size_t len, bool first)
{
	int rc = phg_buf_puts(b, first ? "\"" : ",\"");

	for (size_t i = 0; rc == 0 && i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			rc = phg_buf_puts(b, "\\");
		rc = rc ? rc : phg_buf_add(b, s + i, 1);
	}
	return rc ? rc : phg_buf_puts(b, "\"");
}

/*
 * The array literals of the tables' schemas and names: "schema.name"
 * splits at its first dot, as phasegate joins them.
 */
static int table_arrays(const char *const *tables, size_t n,
			struct phg_buf *schemas, struct phg_buf *names)
{
	int rc = phg_buf_puts(schemas, "{");

	rc = rc ? rc : phg_buf_puts(names, "{");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *dot = strchr(tables[i], '.');
		size_t slen = dot ? (size_t)(dot - tables[i]) : 6;
		const char *schema = dot ? tables[i] : "public";
		const char *name = dot ? dot + 1 : tables[i];

		rc = array_elem(schemas, schema, slen, i == 0);
		rc = rc ? rc : array_elem(names, name, strlen(name), i == 0);
	}
	rc = rc ? rc : phg_buf_puts(schemas, "}");
	return rc ? rc : phg_buf_puts(names, "}");
}

/*
 * Checks that dsn (as written) expands and parses as a connection string
 * before connecting: libpq's parse errors may quote a piece of the string,
 * so they are not shown.
 */
static int check_dsn(const char *dsn, struct phg_err *err)
{
	struct phg_err sub = {0};
	PQconninfoOption *opts;
	char *expanded = NULL, *msg = NULL;
	int rc = phg_config_expand(dsn, &expanded, &sub);

	if (rc < 0)
		return phg_err_set(err, rc, "--stats: %s", sub.msg);
	if (!*expanded) {
		free(expanded);
		return phg_err_set(
			err, PHG_EUSAGE,
			"--stats: the connection string is empty "
			"(is the variable that should hold it set?)");
	}
	opts = PQconninfoParse(expanded, &msg);
	memset(expanded, 0, strlen(expanded));
	free(expanded);
	if (msg)
		PQfreemem(msg);
	if (!opts)
		return phg_err_set(
			err, PHG_EUSAGE,
			"--stats: cannot parse the connection string "
			"(not shown: it may hold a password); give "
			"a postgresql:// URL or key=value pairs");
	PQconninfoFree(opts);
	return 0;
}

/* Carries the runner's error into err, naming the stats database. */
static int restate(struct phg_err *err, const struct phg_err *sub)
{
	const char *prefix = "region '" STATS_REGION "': ";
	const char *msg = sub->msg;

	if (strncmp(msg, prefix, strlen(prefix)) == 0)
		msg += strlen(prefix);
	return phg_err_set(err, sub->code, "stats database: %s", msg);
}

static double num(const PGresult *res, int row, int col)
{
	return strtod(PQgetvalue(res, row, col), NULL);
}

int phg_runner_table_stats(const struct phg_config *cfg, const char *dsn,
			   const char *const *tables, size_t n,
			   struct phg_arena *arena,
			   struct phg_table_stats **out, size_t *nout,
			   struct phg_err *err)
{
	struct phg_region region = {.name = STATS_REGION,
				    .database = (char *)dsn};
	struct phg_buf schemas = {0}, names = {0};
	struct phg_err sub = {0};
	struct phg_table_stats *st = NULL;
	struct rn_conn c;
	PGresult *res = NULL;
	const char *params[2];
	int rc, rows;

	*out = NULL;
	*nout = 0;
	rc = check_dsn(dsn, err);
	if (rc < 0)
		return rc;
	if (table_arrays(tables, n, &schemas, &names) < 0) {
		rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
		goto out_bufs;
	}
	rc = rn_connect(cfg, &region, &c, &sub);
	if (rc < 0) {
		rc = restate(err, &sub);
		goto out_bufs;
	}
	/* The query reads catalogs only; it should never wait long. */
	rc = rn_exec(&c,
		     "SET statement_timeout = '30s'; "
		     "SET default_transaction_read_only = on",
		     "cannot set the session", NULL, &sub);
	params[0] = schemas.data;
	params[1] = names.data;
	if (rc == 0)
		rc = rn_query(&c, stats_sql, 2, params, &res,
			      "cannot read the table statistics", &sub);
	if (rc < 0) {
		rc = restate(err, &sub);
		goto out;
	}
	rows = PQntuples(res);
	if (rows > 0) {
		st = phg_arena_alloc(arena, (size_t)rows * sizeof(*st));
		if (!st) {
			rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
			goto out;
		}
	}
	for (int i = 0; i < rows; i++) {
		long idx = strtol(PQgetvalue(res, i, 0), NULL, 10);
		struct phg_table_stats *s = &st[*nout];

		if (idx < 1 || (size_t)idx > n)
			continue;
		s->table = tables[idx - 1];
		s->rows = (long long)(num(res, i, 1) + 0.5);
		s->bytes = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		s->writes = strtoll(PQgetvalue(res, i, 3), NULL, 10);
		s->window_seconds = PQgetisnull(res, i, 4) ? 0 : num(res, i, 4);
		s->writes_per_second =
			s->window_seconds > 0
				? (double)s->writes / s->window_seconds
				: -1;
		(*nout)++;
	}
	*out = st;
out:
	PQclear(res);
	rn_close(&c);
out_bufs:
	phg_buf_release(&schemas);
	phg_buf_release(&names);
	return rc;
}
