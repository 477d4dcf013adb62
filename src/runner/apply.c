/*
 * apply.c: applying one migration, so that its history row never lies.
 *
 * A transactional migration runs whole in one transaction together with
 * its history row: applied entirely, with its row, or not at all.
 * lock_not_available rolls it back and retries it with backoff and jitter.
 *
 * A migration that cannot run in a transaction (CONCURRENTLY, VACUUM, a
 * layout's no-transaction marker) runs statement by statement, and so does
 * a file with its own BEGIN/COMMIT ("as written"). Its progress is the
 * history row's statements_done, and each unit of work commits together
 * with it where PostgreSQL allows:
 *   - a statement that may run in a transaction runs in one with the
 *     progress update, so a crash leaves it done-and-recorded or neither;
 *   - a block of the file's own BEGIN ... COMMIT records its progress just
 *     before its COMMIT, inside the block;
 *   - a statement that cannot run in a transaction runs alone, then its
 *     progress is recorded. A crash in between reruns it; for a concurrent
 *     index build the rerun looks first: a VALID index of that name means
 *     the build finished, an INVALID one is the wreck of a failed or
 *     cancelled build and is dropped before building again.
 * A rerun continues after the last recorded statement, after sending the
 * file's SET statements before it again (a new session has lost them).
 * Every migration starts from a reset session, so what one SETs never
 * leaks into the next.
 */
#include "internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* What one write of the migration's history row says. */
struct row_write {
	const char *state; /* applied, running or failed */
	int done;	   /* statements_done */
	bool begins;	   /* the first write of an attempt: started_at now */
	long long ms;	   /* duration so far */
	const char *error; /* for a failed row, or NULL */
};

/*
 * Inserts or updates the migration's history row. started_at is the start
 * of the transaction that begins an attempt; finished_at the moment a
 * final state is written.
 */
static int write_row(struct rn_conn *c, const struct rn_apply *a,
		     const struct row_write *w, struct phg_err *err)
{
	const struct phg_migration *m = a->m->mig;
	bool one_tx = !a->m->no_transaction && !a->m->own_transaction;
	char host[256], sdone[16], sms[32];
	const char *params[14];
	char *sql;
	PGresult *res;
	int rc;

	rn_hostname(host, sizeof(host));
	snprintf(sdone, sizeof(sdone), "%d", w->done);
	snprintf(sms, sizeof(sms), "%lld", w->ms);
	params[0] = m->name;
	params[1] = m->version;
	params[2] = m->checksum;
	params[3] = phg_phase_name(a->m->phase);
	params[4] = a->opts->release;
	params[5] = w->state;
	params[6] = one_tx ? "true" : "false";
	params[7] = sdone;
	params[8] = strcmp(w->state, "running") == 0 ? NULL : sms;
	params[9] = rn_whoami();
	params[10] = host;
	params[11] = a->opts->no_gate ? "true" : "false";
	params[12] = w->error;
	params[13] = w->begins ? "true" : "false";
	sql = phg_asprintf(
		"INSERT INTO %s.history AS h (name, version, checksum, phase, "
		"release, state, transactional, statements_done, started_at, "
		"duration_ms, finished_at, applied_by, applied_host, "
		"phasegate_version, no_gate, error) VALUES ($1, $2, $3, $4, "
		"$5, $6, $7, $8, now(), $9::bigint, CASE WHEN $6 = 'running' "
		"THEN NULL ELSE clock_timestamp() END, $10, $11, "
		"'" PHG_VERSION "', $12, $13) "
		"ON CONFLICT (name) DO UPDATE SET version = $2, checksum = $3, "
		"phase = $4, release = $5, state = $6, transactional = $7, "
		"statements_done = $8, started_at = CASE WHEN $14::boolean "
		"THEN now() ELSE h.started_at END, duration_ms = $9::bigint, "
		"finished_at = CASE WHEN $6 = 'running' THEN NULL ELSE "
		"clock_timestamp() END, applied_by = $10, applied_host = $11, "
		"phasegate_version = '" PHG_VERSION "', no_gate = $12, "
		"error = $13",
		c->schema);
	if (!sql)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	rc = rn_query(c, sql, 14, params, &res, "cannot record the history",
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

/*
 * After a failure with SQLSTATE state on attempt `attempt` (0-based):
 * whether to try again. lock_not_available is retried after a backoff up
 * to migrate.retries times; when the retries run out, e says so.
 */
static bool retry_lock(const struct rn_apply *a, struct rn_conn *c,
		       const char *state, int attempt, struct phg_err *e)
{
	const struct phg_config *cfg = a->opts->cfg;

	if (strcmp(state, RN_LOCK_NOT_AVAILABLE) != 0)
		return false;
	if (attempt < cfg->migrate.retries) {
		report_retry(a, c, e);
		rn_sleep_ms(backoff_ms(cfg, attempt + 1));
		return true;
	}
	snprintf(
		e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg),
		": lock_not_available after %d attempt%s (migrate.lock_timeout "
		"%lld ms, migrate.retries %d)",
		attempt + 1, attempt ? "s" : "", cfg->migrate.lock_timeout_ms,
		cfg->migrate.retries);
	return false;
}

/* Records the failure (best effort: the connection may be gone). */
static void record_failure(struct rn_conn *c, const struct rn_apply *a,
			   int done, long long started, const char *msg)
{
	struct row_write w = {.state = "failed",
			      .done = done,
			      .ms = rn_now_ms() - started,
			      .error = msg};

	write_row(c, a, &w, NULL);
}

/* Appends s as an SQL literal (NULL as NULL). */
static int add_literal(struct phg_buf *b, struct rn_conn *c, const char *s)
{
	char *lit;
	int rc;

	if (!s)
		return phg_buf_puts(b, "NULL");
	lit = PQescapeLiteral(c->pg, s, strlen(s));
	if (!lit)
		return PHG_ENOMEM;
	rc = phg_buf_puts(b, lit);
	PQfreemem(lit);
	return rc;
}

/*
 * A transactional migration as one message: the session reset, BEGIN, the
 * timeouts, the file's SQL, its history row and COMMIT. One round trip
 * instead of seven: on a fast server the round trips, not the statements,
 * were most of a small migration's time. The file's SQL ends with a line
 * break, so a last line that is a comment cannot swallow what follows. The
 * row's values are literals (PQescapeLiteral: E'' when needed, so a
 * migration that changes standard_conforming_strings cannot misread them),
 * and its times come from the server: started_at is the transaction's
 * start, the duration runs to the moment the row is written.
 */
static int tx_script(struct rn_conn *c, const struct rn_apply *a,
		     struct phg_buf *b)
{
	const struct phg_config *cfg = a->opts->cfg;
	const struct phg_migration *m = a->m->mig;
	char host[256];
	int rc;

	rn_hostname(host, sizeof(host));
	rc = phg_buf_printf(b,
			    "%s; BEGIN; SET LOCAL lock_timeout = %lld; SET "
			    "LOCAL statement_timeout = %lld;\n",
			    rn_session_sql(c), cfg->migrate.lock_timeout_ms,
			    cfg->migrate.statement_timeout_ms);
	rc = rc ? rc
		: phg_buf_add(b, a->text + m->up_start,
			      m->up_end - m->up_start);
	rc = rc ? rc
		: phg_buf_printf(b,
				 "\n;\nINSERT INTO %s.history AS h (name, "
				 "version, checksum, phase, release, state, "
				 "transactional, statements_done, started_at, "
				 "duration_ms, finished_at, applied_by, "
				 "applied_host, phasegate_version, no_gate, "
				 "error) VALUES (",
				 c->schema);
	rc = rc ? rc : add_literal(b, c, m->name);
	rc = rc ? rc : phg_buf_puts(b, ", ");
	rc = rc ? rc : add_literal(b, c, m->version);
	rc = rc ? rc : phg_buf_puts(b, ", ");
	rc = rc ? rc : add_literal(b, c, m->checksum);
	rc = rc ? rc
		: phg_buf_printf(b, ", '%s', ", phg_phase_name(a->m->phase));
	rc = rc ? rc : add_literal(b, c, a->opts->release);
	rc = rc ? rc
		: phg_buf_printf(
			  b,
			  ", 'applied', true, %zu, now(), (extract(epoch "
			  "FROM clock_timestamp() - now()) * 1000)::"
			  "bigint, clock_timestamp(), ",
			  a->m->nstmts);
	rc = rc ? rc : add_literal(b, c, rn_whoami());
	rc = rc ? rc : phg_buf_puts(b, ", ");
	rc = rc ? rc : add_literal(b, c, host);
	rc = rc ? rc
		: phg_buf_printf(
			  b,
			  ", '" PHG_VERSION "', %s, NULL) ON CONFLICT (name) "
			  "DO UPDATE SET version = excluded.version, checksum "
			  "= excluded.checksum, phase = excluded.phase, "
			  "release = excluded.release, state = excluded.state, "
			  "transactional = excluded.transactional, "
			  "statements_done = excluded.statements_done, "
			  "started_at = excluded.started_at, duration_ms = "
			  "excluded.duration_ms, finished_at = "
			  "excluded.finished_at, applied_by = "
			  "excluded.applied_by, applied_host = "
			  "excluded.applied_host, phasegate_version = "
			  "excluded.phasegate_version, no_gate = "
			  "excluded.no_gate, error = NULL;\nCOMMIT",
			  a->opts->no_gate ? "true" : "false");
	return rc;
}

/*
 * One transaction: the migration's statements and its history row, sent
 * as one message (tx_script). A failure anywhere in it leaves the
 * transaction aborted, so it is rolled back; lock_not_available retries
 * the whole message.
 */
static int apply_in_transaction(struct rn_conn *c, const struct rn_apply *a,
				long long started, struct phg_err *err)
{
	const struct phg_migration *m = a->m->mig;
	struct phg_buf script = {0};
	char what[600];
	int rc;

	if (tx_script(c, a, &script) < 0) {
		phg_buf_release(&script);
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	}
	snprintf(what, sizeof(what), "migration '%s' failed", m->name);
	for (int attempt = 0;; attempt++) {
		struct phg_err e = {0};
		char state[6] = "";

		rc = rn_exec(c, script.data, what, state, &e);
		if (rc == 0)
			break;
		rn_exec(c, "ROLLBACK", "cannot roll back", NULL, NULL);
		if (retry_lock(a, c, state, attempt, &e))
			continue;
		/* Nothing of it stayed; the history says it failed. */
		record_failure(c, a, 0, started, e.msg);
		*err = err->code ? *err : e;
		break;
	}
	phg_buf_release(&script);
	return rc;
}

/*
 * Finds the index qname ("schema.name") builds: in its schema, or, for
 * "public" (which is also what an unqualified name reads as), wherever the
 * session's search_path finds that name, since an index goes into its
 * table's schema. Sets *exists, *valid and the schema found (cap bytes).
 */
static int index_state(struct rn_conn *c, const char *qname, bool *exists,
		       bool *valid, char *found, size_t cap,
		       struct phg_err *err)
{
	const char *dot = strchr(qname, '.');
	char schema[256];
	const char *params[2] = {schema, dot ? dot + 1 : qname};
	PGresult *res;
	int rc;

	snprintf(schema, sizeof(schema), "%.*s", dot ? (int)(dot - qname) : 6,
		 dot ? qname : "public");
	rc = rn_query(c,
		      "SELECT i.indisvalid, n.nspname FROM pg_class c JOIN "
		      "pg_namespace n ON n.oid = c.relnamespace JOIN pg_index "
		      "i ON i.indexrelid = c.oid WHERE c.relname = $2 AND "
		      "(n.nspname = $1 OR ($1 = 'public' AND c.oid = "
		      "to_regclass(quote_ident($2)))) ORDER BY n.nspname = $1 "
		      "DESC LIMIT 1",
		      2, params, &res, "cannot inspect an index", err);
	if (rc < 0)
		return rc;
	*exists = PQntuples(res) == 1;
	*valid = *exists && PQgetvalue(res, 0, 0)[0] == 't';
	snprintf(found, cap, "%s", *exists ? PQgetvalue(res, 0, 1) : "");
	PQclear(res);
	return 0;
}

static int drop_invalid_index(struct rn_conn *c, const char *schema,
			      const char *name, struct phg_err *err)
{
	char *q = PQescapeIdentifier(c->pg, name, strlen(name));
	char *s = PQescapeIdentifier(c->pg, schema, strlen(schema));
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
 * Before a concurrent build that may have run already: an INVALID index of
 * that name is the wreck of a failed build and goes; a valid one means the
 * build finished but was not recorded (the runner died in between), so the
 * statement is done.
 */
static int prepare_concurrent(struct rn_conn *c, const char *qname, bool *done,
			      struct phg_err *err)
{
	const char *dot = strchr(qname, '.');
	char schema[256];
	bool exists, valid;
	int rc = index_state(c, qname, &exists, &valid, schema, sizeof(schema),
			     err);

	*done = false;
	if (rc < 0 || !exists)
		return rc;
	if (valid) {
		*done = true;
		return 0;
	}
	return drop_invalid_index(c, schema, dot ? dot + 1 : qname, err);
}

/* Where a statement-by-statement run stands. */
struct stmt_run {
	struct rn_conn *c;
	const struct rn_apply *a;
	size_t from; /* first statement this run sends */
	size_t done; /* statements recorded as done */
};

static int progress(struct stmt_run *r, size_t done, struct phg_err *err)
{
	struct row_write w = {.state = "running", .done = (int)done};
	int rc = write_row(r->c, r->a, &w, err);

	if (rc == 0)
		r->done = done;
	return rc;
}

static void what_failed(const struct stmt_run *r, size_t i, char *out,
			size_t cap)
{
	snprintf(out, cap, "migration '%s' failed at line %d",
		 r->a->m->mig->name, r->a->m->stmts[i].line);
}

/*
 * A statement that cannot run in a transaction: alone, then its progress.
 * maybe_ran: it may have run before (the first statement of a resumed
 * run), so a concurrent build checks for its index first.
 */
static int run_alone(struct stmt_run *r, size_t i, bool maybe_ran,
		     struct phg_err *err)
{
	const struct phg_lint_stmt_info *s = &r->a->m->stmts[i];
	char *sql = slice(r->a->text, s->offset, s->len);
	char what[600];
	int rc = 0;

	if (!sql)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	what_failed(r, i, what, sizeof(what));
	for (int attempt = 0;; attempt++) {
		struct phg_err e = {0};
		char state[6] = "";
		bool done = false;

		rc = 0;
		if (s->concurrent_index && (maybe_ran || attempt > 0))
			rc = prepare_concurrent(r->c, s->concurrent_index,
						&done, &e);
		if (rc == 0 && !done)
			rc = rn_exec(r->c, sql, what, state, &e);
		if (rc == 0)
			rc = progress(r, i + 1, &e);
		if (rc == 0)
			break;
		if (retry_lock(r->a, r->c, state, attempt, &e))
			continue;
		*err = err->code ? *err : e;
		break;
	}
	free(sql);
	return rc;
}

/* Sends stmts[i] as written. */
static int send_stmt(struct stmt_run *r, size_t i, char *state,
		     struct phg_err *e)
{
	const struct phg_lint_stmt_info *s = &r->a->m->stmts[i];
	char *sql = slice(r->a->text, s->offset, s->len);
	char what[600];
	int rc;

	if (!sql)
		return phg_err_set(e, PHG_ENOMEM, "out of memory");
	what_failed(r, i, what, sizeof(what));
	rc = rn_exec(r->c, sql, what, state, e);
	free(sql);
	return rc;
}

/*
 * Statements [first, end) in one transaction that also records progress
 * `end`: either a statement that may run in a transaction (wrapped in our
 * BEGIN/COMMIT), or the file's own block (own: first is its BEGIN, end - 1
 * its COMMIT, all sent as written; the progress goes in just before that
 * COMMIT, or after a ROLLBACK that ends the block, since it keeps
 * nothing).
 */
static int run_in_tx(struct stmt_run *r, size_t first, size_t end, bool own,
		     struct phg_err *err)
{
	const struct phg_lint_migration *m = r->a->m;
	bool rolls_back = own && m->stmts[end - 1].kind == PHG_KIND_ROLLBACK;
	size_t body_end = own && !rolls_back ? end - 1 : end;
	int rc = 0;

	for (int attempt = 0;; attempt++) {
		struct phg_err e = {0};
		char state[6] = "";
		struct row_write w = {.state = "running", .done = (int)end};

		rc = own ? 0 : rn_exec(r->c, "BEGIN", "cannot begin", NULL, &e);
		for (size_t i = first; rc == 0 && i < body_end; i++)
			rc = send_stmt(r, i, state, &e);
		if (rc == 0)
			rc = write_row(r->c, r->a, &w, &e);
		if (rc == 0 && !own)
			rc = rn_exec(r->c, "COMMIT", "cannot commit", state,
				     &e);
		else if (rc == 0 && !rolls_back)
			rc = send_stmt(r, end - 1, state, &e);
		if (rc == 0) {
			r->done = end;
			break;
		}
		rn_exec(r->c, "ROLLBACK", "cannot roll back", NULL, NULL);
		if (retry_lock(r->a, r->c, state, attempt, &e))
			continue;
		*err = err->code ? *err : e;
		break;
	}
	return rc;
}

/*
 * The end of the file's own transaction block opened at stmts[begin]: one
 * past its COMMIT or ROLLBACK, or 0 when it is never closed.
 */
static size_t block_end(const struct phg_lint_migration *m, size_t begin)
{
	for (size_t i = begin + 1; i < m->nstmts; i++) {
		if (m->stmts[i].kind == PHG_KIND_COMMIT ||
		    m->stmts[i].kind == PHG_KIND_ROLLBACK)
			return i + 1;
		if (m->stmts[i].kind == PHG_KIND_BEGIN)
			return 0;
	}
	return 0;
}

int rn_unclosed_begin(const struct phg_lint_migration *m)
{
	for (size_t i = 0; m->own_transaction && i < m->nstmts; i++)
		if (m->stmts[i].kind == PHG_KIND_BEGIN && block_end(m, i) == 0)
			return m->stmts[i].line;
	return 0;
}

/* Where a rerun continues: after a partial run of this same file. */
static size_t resume_point(const struct rn_apply *a)
{
	if (!a->row || rn_verdict(a->row, a->m->mig) != RN_ROW_PARTIAL)
		return 0;
	if ((size_t)a->row->statements_done > a->m->nstmts)
		return a->m->nstmts;
	return (size_t)a->row->statements_done;
}

/* Statement by statement, progress recorded with each unit of work. */
static int apply_statements(struct rn_conn *c, const struct rn_apply *a,
			    long long started, struct phg_err *err)
{
	const struct phg_lint_migration *m = a->m;
	struct stmt_run r = {.c = c, .a = a};
	struct row_write w = {.state = "running", .begins = true};
	int rc;

	r.from = r.done = resume_point(a);
	/* The run refuses such a file first (rn_unclosed_begin). */
	if (rn_unclosed_begin(m))
		return phg_err_set(err, PHG_ERUNTIME,
				   "region '%s': migration '%s' opens a "
				   "transaction at line %d that it does not "
				   "close; nothing of it ran",
				   c->region, m->mig->name,
				   rn_unclosed_begin(m));
	w.done = (int)r.from;
	rc = set_timeouts(c, a->opts->cfg, false, err);
	/* A resumed run is a new session: the file's SETs before the resume
	   point (search_path, a longer statement_timeout, ...) again. */
	for (size_t i = 0; rc == 0 && i < r.from; i++) {
		char state[6];

		if (m->stmts[i].kind == PHG_KIND_SET)
			rc = send_stmt(&r, i, state, err);
	}
	if (rc == 0)
		rc = write_row(c, a, &w, err);
	for (size_t i = r.from; rc == 0 && i < m->nstmts;) {
		const struct phg_lint_stmt_info *s = &m->stmts[i];
		size_t end = i + 1;

		if (m->own_transaction && s->kind == PHG_KIND_BEGIN) {
			end = block_end(m, i);
			rc = run_in_tx(&r, i, end, true, err);
		} else if (s->no_transaction) {
			rc = run_alone(&r, i, i == r.from && a->row, err);
		} else {
			rc = run_in_tx(&r, i, end, false, err);
		}
		i = end;
	}
	if (rc < 0) {
		record_failure(c, a, (int)r.done, started, err->msg);
		return rc;
	}
	w.state = "applied";
	w.done = (int)m->nstmts;
	w.begins = false;
	w.ms = rn_now_ms() - started;
	return write_row(c, a, &w, err);
}

int rn_apply_one(struct rn_conn *c, const struct rn_apply *a, long long *ms,
		 struct phg_err *err)
{
	long long started = rn_now_ms();
	int rc;

	/* A transactional migration resets the session in its message. */
	if (a->m->own_transaction || a->m->no_transaction) {
		rc = rn_session_reset(c, err);
		if (rc == 0)
			rc = apply_statements(c, a, started, err);
	} else {
		rc = apply_in_transaction(c, a, started, err);
	}
	*ms = rn_now_ms() - started;
	return rc;
}
