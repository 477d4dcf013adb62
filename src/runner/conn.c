/*
 * conn.c: connections to the regions' databases — DSN expansion at the last
 * moment, messages without secrets, queries with SQLSTATE carried into the
 * error, the advisory lock, and bounded sleeps.
 */
#include "internal.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void rn_sleep_ms(long long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

long long rn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Copies msg into out, with every occurrence of secret replaced. */
static void scrub(const char *msg, const char *secret, char *out, size_t cap)
{
	size_t n = 0, slen = secret ? strlen(secret) : 0;

	while (*msg && n + 1 < cap) {
		if (slen >= 1 && strncmp(msg, secret, slen) == 0) {
			const char *mask = "********";

			while (*mask && n + 1 < cap)
				out[n++] = *mask++;
			msg += slen;
			continue;
		}
		out[n++] = *msg == '\n' ? ' ' : *msg;
		msg++;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static char *dsn_password(const char *dsn)
{
	PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
	char *pw = NULL;

	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
			pw = phg_strdup(o->val);
	PQconninfoFree(opts);
	return pw;
}

/*
 * The runner's own session settings. client_connection_check_interval
 * (PostgreSQL 14 and later): when this process dies mid-statement (a crash,
 * SIGKILL), the server cancels the statement within a second instead of
 * finishing it while holding the migration lock.
 */
static int session_settings(struct rn_conn *c, struct phg_err *err)
{
	if (PQserverVersion(c->pg) < 140000)
		return 0;
	return rn_exec(c, "SET client_connection_check_interval = 1000",
		       "cannot set the session", NULL, err);
}

const char *rn_session_sql(const struct rn_conn *c)
{
	return PQserverVersion(c->pg) < 140000
		       ? "RESET ALL; RESET ROLE"
		       : "RESET ALL; RESET ROLE; "
			 "SET client_connection_check_interval = 1000";
}

int rn_session_reset(struct rn_conn *c, struct phg_err *err)
{
	return rn_exec(c, rn_session_sql(c), "cannot reset the session", NULL,
		       err);
}

const char *rn_whoami(void)
{
	const char *u = getenv("USER");
	const struct passwd *pw;

	if (u && *u)
		return u;
	pw = getpwuid(geteuid());
	return pw && pw->pw_name && *pw->pw_name ? pw->pw_name : "unknown";
}

void rn_hostname(char *out, size_t cap)
{
	if (gethostname(out, cap) != 0)
		snprintf(out, cap, "unknown");
	out[cap - 1] = '\0';
}

int rn_connect(const struct phg_config *cfg, const struct phg_region *region,
	       struct rn_conn *c, struct phg_err *err)
{
	const char *keys[] = {"dbname", "application_name", "connect_timeout",
			      NULL};
	const char *vals[4] = {NULL, "phasegate", "10", NULL};
	char *dsn = NULL, *schema;
	char msg[600];
	int rc;

	memset(c, 0, sizeof(*c));
	c->region = region->name;
	rc = phg_config_expand(region->database, &dsn, err);
	if (rc < 0)
		return rc;
	c->password = dsn_password(dsn);
	vals[0] = dsn;
	c->pg = PQconnectdbParams(keys, vals, 1);
	/* The DSN held the secret: it goes now. */
	memset(dsn, 0, strlen(dsn));
	free(dsn);
	if (!c->pg)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	if (PQstatus(c->pg) != CONNECTION_OK) {
		scrub(PQerrorMessage(c->pg), c->password, msg, sizeof(msg));
		rn_close(c);
		return phg_err_set(err, PHG_ERUNTIME,
				   "region '%s': cannot connect: %s",
				   region->name, msg);
	}
	PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
	rc = session_settings(c, err);
	if (rc < 0) {
		rn_close(c);
		return rc;
	}
	schema = PQescapeIdentifier(c->pg, cfg->migrate.history_schema,
				    strlen(cfg->migrate.history_schema));
	if (!schema) {
		rn_close(c);
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	}
	c->schema = phg_strdup(schema);
	PQfreemem(schema);
	return c->schema ? 0 : phg_err_set(err, PHG_ENOMEM, "out of memory");
}

void rn_close(struct rn_conn *c)
{
	if (c->pg)
		PQfinish(c->pg);
	if (c->password) {
		memset(c->password, 0, strlen(c->password));
		free(c->password);
	}
	free(c->schema);
	memset(c, 0, sizeof(*c));
}

static int result_error(struct rn_conn *c, PGresult *res, const char *what,
			char *sqlstate, struct phg_err *err)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *m =
		res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char msg[600];

	scrub(m ? m : PQerrorMessage(c->pg), c->password, msg, sizeof(msg));
	if (sqlstate)
		snprintf(sqlstate, 6, "%s", st ? st : "");
	return phg_err_set(err, PHG_ERUNTIME, "region '%s': %s: %s%s%s%s",
			   c->region, what, msg, st ? " (SQLSTATE " : "",
			   st ? st : "", st ? ")" : "");
}

int rn_exec(struct rn_conn *c, const char *sql, const char *what,
	    char *sqlstate, struct phg_err *err)
{
	PGresult *res = PQexec(c->pg, sql);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	int rc = 0;

	if (sqlstate)
		sqlstate[0] = '\0';
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
	    st != PGRES_EMPTY_QUERY)
		rc = result_error(c, res, what, sqlstate, err);
	PQclear(res);
	return rc;
}

int rn_query(struct rn_conn *c, const char *sql, int nparams,
	     const char *const *params, PGresult **out, const char *what,
	     struct phg_err *err)
{
	PGresult *res =
		PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	*out = NULL;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		int rc = result_error(c, res, what, NULL, err);

		PQclear(res);
		return rc;
	}
	*out = res;
	return 0;
}

/* The lock's key: the same for every runner using this history schema. */
static long long lock_key(const char *schema)
{
	unsigned long long h = 1469598103934665603ULL;

	for (const char *p = "phasegate:"; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (const char *p = schema; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (long long)(h >> 1);
}

int rn_lock_held(struct rn_conn *c, bool *held, struct phg_err *err)
{
	unsigned long long key = (unsigned long long)lock_key(c->schema);
	char hi[16], lo[16];
	const char *params[2] = {hi, lo};
	PGresult *res;
	int rc;

	/* pg_locks shows a bigint advisory key as two 32-bit halves. */
	snprintf(hi, sizeof(hi), "%llu", key >> 32);
	snprintf(lo, sizeof(lo), "%llu", key & 0xffffffffULL);
	rc = rn_query(c,
		      "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN "
		      "pg_database d ON d.oid = l.database WHERE l.locktype = "
		      "'advisory' AND d.datname = current_database() AND "
		      "l.classid = $1::oid AND l.objid = $2::oid AND "
		      "l.objsubid = 1 AND l.granted)",
		      2, params, &res, "cannot read the locks", err);
	if (rc < 0)
		return rc;
	*held = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
}

int rn_lock(struct rn_conn *c, long long wait_ms, phg_progress_fn progress,
	    void *pctx, struct phg_err *err)
{
	long long deadline = rn_now_ms() + wait_ms;
	char key[32];
	const char *params[1] = {key};
	bool told = false;

	snprintf(key, sizeof(key), "%lld", lock_key(c->schema));
	for (;;) {
		PGresult *res;
		bool got;
		int rc = rn_query(c, "SELECT pg_try_advisory_lock($1::bigint)",
				  1, params, &res, "advisory lock", err);

		if (rc < 0)
			return rc;
		got = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
		if (got) {
			c->locked = true;
			return 0;
		}
		if (rn_now_ms() >= deadline)
			return phg_err_set(
				err, PHG_ERUNTIME,
				"region '%s': another phasegate run holds the "
				"migration lock; gave up after %lld ms "
				"(migrate.advisory_lock_wait)",
				c->region, wait_ms);
		if (!told && progress) {
			struct phg_progress p = {.event = PHG_EV_LOCK_WAIT,
						 .region = c->region};

			progress(&p, pctx);
			told = true;
		}
		rn_sleep_ms(100 + rand() % 150);
	}
}
