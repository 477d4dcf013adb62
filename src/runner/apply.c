/*
 * apply.c: applying one migration. A transactional migration runs whole in
 * one transaction together with its history row, so it is applied entirely
 * or not at all; lock_not_available rolls it back and retries it with
 * backoff and jitter. A migration that cannot run in a transaction runs
 * statement by statement, its progress recorded after each statement, so a
 * rerun continues after the last statement that finished; an INVALID index
 * left by a failed concurrent build is dropped before the build is retried.
 * A file with its own BEGIN/COMMIT runs as written.
 */
#include "internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *whoami(void)
{
	const char *u = getenv("USER");

	return u && *u ? u : "unknown";
}

static void hostname(char *out, size_t cap)
{
	if (gethostname(out, cap) != 0)
		snprintf(out, cap, "unknown");
	out[cap - 1] = '\0';
}

/* Backoff before retry number `attempt` (1-based), with jitter. */
static long long backoff_ms(const struct phg_config *cfg, int attempt)
{
	long long base = cfg->migrate.retry_backoff_ms;
	long long ms = base;

	for (int i = 1; i < attempt && ms < 60000; i++)
		ms *= 2;
	if (ms > 60000)
		ms = 60000;
	return ms / 2 + (ms > 1 ? rand() % (ms / 2 + 1) : 0);
}

static int set_timeouts(struct rn_conn *c, const struct phg_config *cfg,
			bool local, struct phg_err *err)
{
	char sql[200];

	snprintf(sql, sizeof(sql),
		 "SET %slock_timeout = %lld; SET %sstatement_timeout = %lld",
		 local ? "LOCAL " : "", cfg->migrate.lock_timeout_ms,
		 local ? "LOCAL " : "", cfg->migrate.statement_timeout_ms);
	return rn_exec(c, sql, "cannot set the session timeouts", NULL, err);
}

/* Inserts or updates the migration's history row. */
static int write_row(struct rn_conn *c, const struct rn_apply *a,
		     const char *state, int done, long long ms,
		     const char *error, struct phg_err *err)
{
	const struct phg_migration *m = a->m->mig;
	char host[256], sdone[16], sms[32];
	const char *params[13];
	char *sql;
	PGresult *res;
	int rc;

	hostname(host, sizeof(host));
	snprintf(sdone, sizeof(sdone), "%d", done);
	snprintf(sms, sizeof(sms), "%lld", ms);
	params[0] = m->name;
	params[1] = m->version;
	params[2] = m->checksum;
	params[3] = phg_phase_name(a->m->phase);
	params[4] = a->opts->release;
	params[5] = state;
	params[6] = a->m->no_transaction ? "false" : "true";
	params[7] = sdone;
	params[8] = strcmp(state, "running") == 0 ? NULL : sms;
	params[9] = whoami();
	params[10] = host;
	params[11] = a->opts->no_gate ? "true" : "false";
	params[12] = error;
	sql = phg_asprintf(
		"INSERT INTO %s.history (name, version, checksum, phase, "
		"release, state, transactional, statements_done, duration_ms, "
		"finished_at, applied_by, applied_host, phasegate_version, "
		"no_gate, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
		"$9::bigint, CASE WHEN $6 = 'running' THEN NULL ELSE now() "
		"END, "
		"$10, $11, '" PHG_VERSION "', $12, $13) "
		"ON CONFLICT (name) DO UPDATE SET version = $2, checksum = $3, "
		"phase = $4, release = $5, state = $6, transactional = $7, "
		"statements_done = $8, duration_ms = $9::bigint, finished_at = "
		"CASE WHEN $6 = 'running' THEN NULL ELSE now() END, "
		"applied_by = $10, applied_host = $11, phasegate_version = "
		"'" PHG_VERSION "', no_gate = $12, error = $13",
		c->schema);
	if (!sql)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	rc = rn_query(c, sql, 13, params, &res, "cannot record the history",
		      err);
	free(sql);
	PQclear(res);
	return rc;
}

static char *slice(const char *text, size_t off, size_t len)
{
	return phg_strndup(text + off, len);
}

static void report_retry(const struct rn_apply *a, struct rn_conn *c,
			 const struct phg_err *why)
{
	struct phg_progress p = {.event = PHG_EV_RETRY,
				 .region = c->region,
				 .name = a->m->mig->name,
				 .detail = why->msg};

	if (a->opts->progress)
		a->opts->progress(&p, a->opts->progress_ctx);
}

/* One transaction: the migration's statements and its history row. */
static int apply_in_transaction(struct rn_conn *c, const struct rn_apply *a,
				long long started, struct phg_err *err)
{
	const struct phg_config *cfg = a->opts->cfg;
	const struct phg_migration *m = a->m->mig;
	char *body = slice(a->text, m->up_start, m->up_end - m->up_start);
	int rc = 0;

	if (!body)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	for (int attempt = 0;; attempt++) {
		struct phg_err e = {0};
		char state[6] = "";

		rc = rn_exec(c, "BEGIN", "cannot begin", NULL, &e);
		if (rc == 0)
			rc = set_timeouts(c, cfg, true, &e);
		if (rc == 0) {
			char what[600];

			snprintf(what, sizeof(what), "migration '%s' failed",
				 m->name);
			rc = rn_exec(c, body, what, state, &e);
		}
		if (rc == 0)
			rc = write_row(c, a, "applied", (int)a->m->nstmts,
				       rn_now_ms() - started, NULL, &e);
		if (rc == 0)
			rc = rn_exec(c, "COMMIT", "cannot commit", state, &e);
		if (rc == 0)
			break;
		rn_exec(c, "ROLLBACK", "cannot roll back", NULL, NULL);
		if (strcmp(state, RN_LOCK_NOT_AVAILABLE) == 0 &&
		    attempt < cfg->migrate.retries) {
			report_retry(a, c, &e);
			rn_sleep_ms(backoff_ms(cfg, attempt + 1));
			continue;
		}
		/* Nothing of it stayed; say so in the history. */
		write_row(c, a, "failed", 0, rn_now_ms() - started, e.msg,
			  NULL);
		*err = err->code ? *err : e;
		break;
	}
	free(body);
	return rc;
}

/* Whether an index exists, and whether it is valid. */
static int index_state(struct rn_conn *c, const char *qname, bool *exists,
		       bool *valid, struct phg_err *err)
{
	const char *dot = strchr(qname, '.');
	char schema[256];
	const char *params[2] = {schema, dot ? dot + 1 : qname};
	PGresult *res;
	int rc;

	snprintf(schema, sizeof(schema), "%.*s", dot ? (int)(dot - qname) : 6,
		 dot ? qname : "public");
	rc = rn_query(c,
		      "SELECT i.indisvalid FROM pg_class c JOIN pg_namespace n "
		      "ON n.oid = c.relnamespace JOIN pg_index i ON "
		      "i.indexrelid = c.oid WHERE n.nspname = $1 AND "
		      "c.relname = $2",
		      2, params, &res, "cannot inspect an index", err);
	if (rc < 0)
		return rc;
	*exists = PQntuples(res) == 1;
	*valid = *exists && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
}

static int drop_invalid_index(struct rn_conn *c, const char *qname,
			      struct phg_err *err)
{
	char *q = PQescapeIdentifier(c->pg, strchr(qname, '.') + 1,
				     strlen(strchr(qname, '.') + 1));
	char *s = PQescapeIdentifier(c->pg, qname,
				     (size_t)(strchr(qname, '.') - qname));
	char *sql = q && s ? phg_asprintf("DROP INDEX CONCURRENTLY IF EXISTS "
					  "%s.%s",
					  s, q)
			   : NULL;
	int rc =
		sql ? rn_exec(c, sql, "cannot drop an invalid index", NULL, err)
		    : phg_err_set(err, PHG_ENOMEM, "out of memory");

	PQfreemem(q);
	PQfreemem(s);
	free(sql);
	return rc;
}

/*
 * Before a concurrent build: an INVALID index of that name is the wreck of
 * a failed build and goes; a valid one means the build finished but was not
 * recorded (the runner died in between), so the statement is done.
 */
static int prepare_concurrent(struct rn_conn *c, const char *qname, bool *done,
			      struct phg_err *err)
{
	bool exists, valid;
	int rc = index_state(c, qname, &exists, &valid, err);

	*done = false;
	if (rc < 0 || !exists)
		return rc;
	if (valid) {
		*done = true;
		return 0;
	}
	return drop_invalid_index(c, qname, err);
}

static int run_statement(struct rn_conn *c, const struct rn_apply *a, size_t i,
			 struct phg_err *err)
{
	const struct phg_config *cfg = a->opts->cfg;
	const struct phg_lint_stmt_info *s = &a->m->stmts[i];
	char *sql = slice(a->text, s->offset, s->len);
	char what[600];
	int rc = 0;

	if (!sql)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	snprintf(what, sizeof(what), "migration '%s' failed at line %d",
		 a->m->mig->name, s->line);
	for (int attempt = 0;; attempt++) {
		struct phg_err e = {0};
		char state[6] = "";
		bool done = false;

		/* Only a rerun or a retry can meet a half-built index. */
		if (s->concurrent_index && (a->row || attempt > 0))
			rc = prepare_concurrent(c, s->concurrent_index, &done,
						&e);
		if (rc == 0 && !done)
			rc = rn_exec(c, sql, what, state, &e);
		if (rc == 0)
			break;
		if (strcmp(state, RN_LOCK_NOT_AVAILABLE) == 0 &&
		    attempt < cfg->migrate.retries) {
			report_retry(a, c, &e);
			rn_sleep_ms(backoff_ms(cfg, attempt + 1));
			rc = 0;
			continue;
		}
		*err = err->code ? *err : e;
		break;
	}
	free(sql);
	return rc;
}

/* Statement by statement, progress recorded after each one. */
static int apply_statements(struct rn_conn *c, const struct rn_apply *a,
			    long long started, struct phg_err *err)
{
	size_t from = 0;
	int rc;

	if (a->row && phg_streq(a->row->state, "running") &&
	    phg_streq(a->row->checksum, a->m->mig->checksum))
		from = (size_t)a->row->statements_done;
	rc = set_timeouts(c, a->opts->cfg, false, err);
	if (rc == 0)
		rc = write_row(c, a, "running", (int)from, 0, NULL, err);
	for (size_t i = from; rc == 0 && i < a->m->nstmts; i++) {
		rc = run_statement(c, a, i, err);
		if (rc == 0)
			rc = write_row(c, a, "running", (int)(i + 1), 0, NULL,
				       err);
		else
			write_row(c, a, "failed", (int)i, rn_now_ms() - started,
				  err->msg, NULL);
	}
	if (rc == 0)
		rc = write_row(c, a, "applied", (int)a->m->nstmts,
			       rn_now_ms() - started, NULL, err);
	return rc;
}

/* A file with its own BEGIN/COMMIT runs as written. */
static int apply_as_written(struct rn_conn *c, const struct rn_apply *a,
			    long long started, struct phg_err *err)
{
	const struct phg_migration *m = a->m->mig;
	char *body = slice(a->text, m->up_start, m->up_end - m->up_start);
	char what[600];
	int rc;

	if (!body)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	snprintf(what, sizeof(what), "migration '%s' failed", m->name);
	rc = set_timeouts(c, a->opts->cfg, false, err);
	if (rc == 0)
		rc = rn_exec(c, body, what, NULL, err);
	free(body);
	if (rc < 0) {
		rn_exec(c, "ROLLBACK", "cannot roll back", NULL, NULL);
		write_row(c, a, "failed", 0, rn_now_ms() - started, err->msg,
			  NULL);
		return rc;
	}
	return write_row(c, a, "applied", (int)a->m->nstmts,
			 rn_now_ms() - started, NULL, err);
}

int rn_apply_one(struct rn_conn *c, const struct rn_apply *a, long long *ms,
		 struct phg_err *err)
{
	long long started = rn_now_ms();
	int rc;

	if (a->m->own_transaction)
		rc = apply_as_written(c, a, started, err);
	else if (a->m->no_transaction)
		rc = apply_statements(c, a, started, err);
	else
		rc = apply_in_transaction(c, a, started, err);
	*ms = rn_now_ms() - started;
	return rc;
}
