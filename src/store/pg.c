/*
 * pg.c: the ledger in PostgreSQL, for several CI runners sharing one. Its
 * tables live in their own schema, phasegate_ledger, created on first open
 * under a transaction-level advisory lock. Every timestamp and every lease
 * age comes from the server's clock, so runners whose clocks disagree
 * still agree on who holds the lease. The URL's password is kept only to
 * scrub it out of messages.
 */
#include "internal.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_SCHEMA "phasegate_ledger"

/* Type OIDs of the parameters (pg_type.h is a server header). */
#define PG_INT8OID 20
#define PG_TEXTOID 25
#define PG_FLOAT8OID 701

/* The URL's secrets: the password as libpq decodes it, and as written
   (percent-encoded) in the userinfo or the query string. */
#define PG_NSECRETS 3

struct pq {
	PGconn *pg;
	const char *where; /* borrowed from struct phg_store */
	char *secret[PG_NSECRETS];
};

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Scrubs every secret out of msg into out. */
static void pq_scrub(const struct pq *c, const char *msg, char *out, size_t cap)
{
	char tmp[1024];

	st_scrub(msg, NULL, out, cap);
	for (size_t i = 0; i < PG_NSECRETS; i++) {
		size_t n;

		if (!c->secret[i])
			continue;
		st_scrub(out, c->secret[i], tmp, sizeof(tmp));
		n = strlen(tmp);
		if (n >= cap)
			n = cap - 1;
		memcpy(out, tmp, n);
		out[n] = '\0';
	}
}

/* The raw value after key= in the query string of url, or NULL. */
static char *query_value(const char *url, const char *key)
{
	const char *qs = strchr(url, '?');
	size_t kl = strlen(key);

	while (qs) {
		qs++;
		if (strncmp(qs, key, kl) == 0 && qs[kl] == '=') {
			const char *v = qs + kl + 1;

			return phg_strndup(v, strcspn(v, "&#"));
		}
		qs = strchr(qs, '&');
	}
	return NULL;
}

static void find_secrets(struct pq *c, const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	const char *host = strstr(url, "://"), *end, *at = NULL, *colon;

	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
			c->secret[0] = phg_strdup(o->val);
	PQconninfoFree(opts);
	if (host) {
		host += 3;
		end = host + strcspn(host, "?#");
		for (const char *q = host; q < end; q++)
			if (*q == '@')
				at = q;
		colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
		if (colon && at > colon + 1)
			c->secret[1] = phg_strndup(colon + 1,
						   (size_t)(at - colon - 1));
	}
	c->secret[2] = query_value(url, "password");
}

static int pq_error(struct pq *c, PGresult *res, const char *what,
		    struct phg_err *err)
{
	const char *m =
		res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[600];

	pq_scrub(c, m ? m : PQerrorMessage(c->pg), msg, sizeof(msg));
	return phg_err_set(err, PHG_ERUNTIME, "ledger '%s': %s: %s%s%s%s",
			   c->where, what, msg, st ? " (SQLSTATE " : "",
			   st ? st : "", st ? ")" : "");
}

static int pq_exec(void *impl, const char *sql, size_t nparams,
		   const struct st_param *params, struct st_rows *out,
		   const char *what, struct phg_err *err)
{
	struct pq *c = impl;
	Oid types[16] = {0};
	const char *vals[16] = {NULL};
	char bufs[16][64];
	PGresult *res;
	int rc = 0;

	if (nparams > 16)
		return phg_err_set(err, PHG_ERUNTIME,
				   "ledger: too many parameters (%zu)",
				   nparams);
	for (size_t i = 0; i < nparams; i++) {
		const struct st_param *p = &params[i];

		switch (p->type) {
		case ST_TEXT:
			types[i] = PG_TEXTOID;
			vals[i] = p->s;
			break;
		case ST_INT:
			types[i] = PG_INT8OID;
			snprintf(bufs[i], sizeof(bufs[i]), "%lld", p->i);
			vals[i] = bufs[i];
			break;
		case ST_REAL:
			types[i] = PG_FLOAT8OID;
			if (isnan(p->d))
				snprintf(bufs[i], sizeof(bufs[i]), "NaN");
			else if (isinf(p->d))
				snprintf(bufs[i], sizeof(bufs[i]), "%sInfinity",
					 p->d < 0 ? "-" : "");
			else
				snprintf(bufs[i], sizeof(bufs[i]), "%.17g",
					 p->d);
			vals[i] = bufs[i];
			break;
		}
	}
	res = PQexecParams(c->pg, sql, (int)nparams, types, vals, NULL, NULL,
			   0);
	if (!res || (PQresultStatus(res) != PGRES_COMMAND_OK &&
		     PQresultStatus(res) != PGRES_TUPLES_OK)) {
		rc = pq_error(c, res, what, err);
		PQclear(res);
		return rc;
	}
	if (out && PQresultStatus(res) == PGRES_TUPLES_OK) {
		size_t nr = (size_t)PQntuples(res), nc = (size_t)PQnfields(res);

		out->nrows = nr;
		out->ncols = nc;
		if (nr * nc > 0) {
			out->cells = phg_xcalloc(nr * nc, sizeof(char *));
			if (!out->cells) {
				memset(out, 0, sizeof(*out));
				rc = phg_err_set(err, PHG_ENOMEM,
						 "out of memory");
			}
		}
		for (size_t r = 0; rc == 0 && r < nr; r++) {
			for (size_t f = 0; f < nc; f++) {
				char **cell = &out->cells[r * nc + f];

				if (PQgetisnull(res, (int)r, (int)f))
					continue;
				*cell = phg_strdup(
					PQgetvalue(res, (int)r, (int)f));
				if (!*cell) {
					st_rows_release(out);
					rc = phg_err_set(err, PHG_ENOMEM,
							 "out of memory");
					break;
				}
			}
		}
	}
	PQclear(res);
	return rc;
}

/*
 * The session: the ledger's schema first on the search path, and bounded
 * waits (a lock held by a stuck process, a transaction left open by one
 * that was stopped) so no call blocks forever.
 */
static int pq_session(struct pq *c, struct phg_err *err)
{
	static const char *const sql[] = {
		"SET search_path TO " PG_SCHEMA,
		"SET lock_timeout = '10s'",
		"SET statement_timeout = '60s'",
		"SET idle_in_transaction_session_timeout = '60s'",
		"SET client_min_messages = warning",
		NULL};

	PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
	for (size_t i = 0; sql[i]; i++) {
		int rc = pq_exec(c, sql[i], 0, NULL, NULL,
				 "cannot set up the session", err);

		if (rc < 0)
			return rc;
	}
	return 0;
}

static void pq_free(struct pq *c)
{
	if (c->pg)
		PQfinish(c->pg);
	for (size_t i = 0; i < PG_NSECRETS; i++) {
		if (c->secret[i]) {
			memset(c->secret[i], 0, strlen(c->secret[i]));
			free(c->secret[i]);
		}
	}
	free(c);
}

int st_pg_open(const char *url, const char *where, void **impl,
	       struct phg_err *err)
{
	/* Defaults first: what the URL says (dbname expands it) wins. */
	const char *keys[] = {"connect_timeout", "fallback_application_name",
			      "dbname", NULL};
	const char *vals[] = {"10", "phasegate-ledger", url, NULL};
	struct pq *c;
	char msg[600];
	int rc;

	*impl = NULL;
	c = phg_xcalloc(1, sizeof(*c));
	if (!c)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	c->where = where;
	find_secrets(c, url);
	if (c->secret[1] && !c->secret[0]) {
		/* libpq read the URL otherwise than it is written (a '/'
		   in the password ends the host part): its message could
		   quote a piece of the password. */
		pq_free(c);
		return phg_err_set(err, PHG_ECONFIG,
				   "cannot connect to ledger '%s': malformed "
				   "URL (write '/', '@', ':', '?' and '#' in "
				   "the password as %%2F, %%40, %%3A, %%3F "
				   "and %%23)",
				   where);
	}
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (!c->pg) {
		pq_free(c);
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		pq_scrub(c, PQerrorMessage(c->pg), msg, sizeof(msg));
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "cannot connect to ledger '%s': %s", where,
				 msg);
		pq_free(c);
		return rc;
	}
	rc = pq_session(c, err);
	if (rc < 0) {
		pq_free(c);
		return rc;
	}
	*impl = c;
	return 0;
}

/* Creates the schema when missing, serialised with other first opens. */
static int pq_prepare(void *impl, struct phg_err *err)
{
	struct pq *c = impl;
	struct st_rows rows = {0};
	int rc;

	rc = pq_exec(c,
		     "SELECT pg_advisory_xact_lock(hashtext('" PG_SCHEMA "'))",
		     0, NULL, NULL, "cannot lock the ledger's schema", err);
	if (rc == 0)
		rc = pq_exec(
			c,
			"SELECT 1 FROM pg_namespace WHERE nspname = '" PG_SCHEMA
			"'",
			0, NULL, &rows, "cannot read the ledger's schema", err);
	if (rc == 0 && rows.nrows == 0)
		rc = pq_exec(c, "CREATE SCHEMA " PG_SCHEMA, 0, NULL, NULL,
			     "cannot create schema '" PG_SCHEMA "'", err);
	st_rows_release(&rows);
	return rc;
}

static int pq_ensure(void *impl, struct phg_err *err)
{
	struct pq *c = impl;
	char msg[600];

	if (PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	PQreset(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		pq_scrub(c, PQerrorMessage(c->pg), msg, sizeof(msg));
		return phg_err_set(err, PHG_ERUNTIME,
				   "cannot reconnect to ledger '%s': %s",
				   c->where, msg);
	}
	return pq_session(c, err);
}

static void pq_close(void *impl)
{
	pq_free(impl);
}

const struct st_ops st_pg_ops = {
	.name = "postgresql",
	.now_sql = "to_char(clock_timestamp() AT TIME ZONE 'UTC', "
		   "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
	.now_ms_sql = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint",
	.for_update = "FOR UPDATE",
	.begin_sql = "BEGIN",
	.id_type = "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
	.exec = pq_exec,
	.prepare = pq_prepare,
	.ensure = pq_ensure,
	.close = pq_close,
};
