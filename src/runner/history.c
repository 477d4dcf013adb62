/*
 * history.c: the history table in each target database — created under the
 * advisory lock, read whole, one row per migration (keyed by its full name,
 * since Prisma names may share a version) — and the one judgement of a row
 * against its file that both `migrate` and `status` use.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

const char *phg_mig_state_name(enum phg_mig_state s)
{
	switch (s) {
	case PHG_MIG_APPLIED:
		return "applied";
	case PHG_MIG_PENDING:
		return "pending";
	case PHG_MIG_RUNNING:
		return "running";
	case PHG_MIG_INTERRUPTED:
		return "interrupted";
	case PHG_MIG_FAILED:
		return "failed";
	case PHG_MIG_DRIFT:
		return "drift";
	case PHG_MIG_MISSING:
		return "missing";
	}
	return "pending";
}

enum rn_verdict rn_verdict(const struct phg_history_row *row,
			   const struct phg_migration *m)
{
	bool applied = phg_streq(row->state, "applied");
	/* Outside a transaction, finished statements stay after a failure
	   or a crash: the database holds part of this file. */
	bool partial =
		!applied && !row->transactional && row->statements_done > 0;

	if (!applied && !partial)
		return m ? RN_ROW_NOTHING_KEPT : RN_ROW_GONE;
	if (!m)
		return RN_ROW_MISSING;
	if (!phg_streq(row->checksum, m->checksum))
		return RN_ROW_DRIFT;
	return applied ? RN_ROW_APPLIED : RN_ROW_PARTIAL;
}

int rn_history_ensure(struct rn_conn *c, struct phg_err *err)
{
	bool exists = false;
	char *sql;
	int rc = rn_history_exists(c, &exists, err);

	/* CREATE ... IF NOT EXISTS still needs the CREATE privilege: a role
	   that may only write an existing history never gets that far. */
	if (rc < 0 || exists)
		return rc;
	sql = phg_asprintf("CREATE SCHEMA IF NOT EXISTS %s;"
			   "CREATE TABLE IF NOT EXISTS %s.history ("
			   " name text PRIMARY KEY,"
			   " version text NOT NULL,"
			   " checksum text NOT NULL,"
			   " phase text NOT NULL,"
			   " release text,"
			   " state text NOT NULL CHECK (state IN "
			   "('applied', 'running', 'failed')),"
			   " transactional boolean NOT NULL,"
			   " statements_done integer NOT NULL DEFAULT 0,"
			   " started_at timestamptz NOT NULL DEFAULT now(),"
			   " finished_at timestamptz,"
			   " duration_ms bigint,"
			   " applied_by text NOT NULL,"
			   " applied_host text NOT NULL,"
			   " phasegate_version text NOT NULL,"
			   " no_gate boolean NOT NULL DEFAULT false,"
			   " error text)",
			   c->schema, c->schema);
	if (!sql)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	rc = rn_exec(c, sql, "cannot create the history table", NULL, err);
	free(sql);
	return rc;
}

int rn_history_exists(struct rn_conn *c, bool *exists, struct phg_err *err)
{
	char *name = phg_asprintf("%s.history", c->schema);
	const char *params[1] = {name};
	PGresult *res;
	int rc;

	if (!name)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	rc = rn_query(c, "SELECT to_regclass($1) IS NOT NULL", 1, params, &res,
		      "cannot read the history", err);
	free(name);
	if (rc < 0)
		return rc;
	*exists = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
}

static char *value(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col)
		       ? NULL
		       : phg_strdup(PQgetvalue(res, row, col));
}

int rn_history_read(struct rn_conn *c, struct phg_history_row **rows, size_t *n,
		    struct phg_err *err)
{
	char *sql = phg_asprintf(
		"SELECT name, version, checksum, phase, release, state,"
		" statements_done, coalesce(duration_ms, 0),"
		" to_char(finished_at AT TIME ZONE 'UTC',"
		" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), transactional"
		" FROM %s.history ORDER BY started_at, name",
		c->schema);
	PGresult *res;
	int rc;

	*rows = NULL;
	*n = 0;
	if (!sql)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	rc = rn_query(c, sql, 0, NULL, &res, "cannot read the history", err);
	free(sql);
	if (rc < 0)
		return rc;
	*n = (size_t)PQntuples(res);
	*rows = calloc(*n + 1, sizeof(**rows));
	if (!*rows) {
		PQclear(res);
		*n = 0;
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	}
	for (int i = 0; i < (int)*n; i++) {
		struct phg_history_row *r = &(*rows)[i];

		r->name = value(res, i, 0);
		r->version = value(res, i, 1);
		r->checksum = value(res, i, 2);
		r->phase = value(res, i, 3);
		r->release = value(res, i, 4);
		r->state = value(res, i, 5);
		r->statements_done = atoi(PQgetvalue(res, i, 6));
		r->duration_ms = atoll(PQgetvalue(res, i, 7));
		r->finished_at = value(res, i, 8);
		r->transactional = PQgetvalue(res, i, 9)[0] == 't';
	}
	PQclear(res);
	return 0;
}

void rn_history_free(struct phg_history_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].name);
		free(rows[i].version);
		free(rows[i].checksum);
		free(rows[i].phase);
		free(rows[i].release);
		free(rows[i].state);
		free(rows[i].finished_at);
	}
	free(rows);
}

void rn_names_init(struct rn_names *ix)
{
	phg_arena_init(&ix->arena);
	phg_map_init(&ix->map, &ix->arena);
}

int rn_names_put(struct rn_names *ix, const char *name, void *val)
{
	return phg_map_put(&ix->map, name, val);
}

void *rn_names_get(const struct rn_names *ix, const char *name)
{
	return name ? phg_map_get(&ix->map, name) : NULL;
}

void rn_names_release(struct rn_names *ix)
{
	phg_map_release(&ix->map);
	phg_arena_release(&ix->arena);
}

int rn_history_index(struct phg_history_row *rows, size_t n,
		     struct rn_names *ix)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].name &&
		    rn_names_put(ix, rows[i].name, &rows[i]) < 0)
			return PHG_ENOMEM;
	return 0;
}
