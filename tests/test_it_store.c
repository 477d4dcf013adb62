/*
 * test_it_store.c: the ledger on a real PostgreSQL 15 cluster. The shared
 * round-trip suite (store_cases.c: every function, the lease with a stale
 * takeover, two processes racing for it 20 times, a write surviving
 * SIGKILL, a newer schema refused), each test on a fresh database; plus
 * what only PostgreSQL has: the ledger's own schema, passwords (checked by
 * a real scram-sha-256 login) kept out of every message, and a connection
 * that comes back after the server restarts.
 */
#define _GNU_SOURCE
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg_cluster.h"
#include "store/store.h"
#include "store_cases.h"

static struct pgc_set ledger;
static int ledger_rc = -1;

/* A role that must log in with a password (pg_hba: scram-sha-256). */
#define PW_USER "ledger_pw"
#define PW_RIGHT "Right-Pa55-w0rd"
#define PW_WRONG "Wr0ng-Pa55-w0rd"

static int require_password_for_pw_user(void)
{
	char path[300], *old;
	FILE *f;

	snprintf(path, sizeof(path), "%s/data/pg_hba.conf", ledger.c[0].dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	old = calloc(1, 1 << 16);
	if (!old || fread(old, 1, (1 << 16) - 1, f) == 0) {
		fclose(f);
		free(old);
		return -1;
	}
	fclose(f);
	f = fopen(path, "w");
	if (!f) {
		free(old);
		return -1;
	}
	/* First match wins: this line comes before initdb's trust lines. */
	fprintf(f, "host all " PW_USER " 127.0.0.1/32 scram-sha-256\n%s", old);
	free(old);
	if (fclose(f) != 0)
		return -1;
	if (pgc_exec(&ledger.c[0], "CREATE ROLE " PW_USER " LOGIN CREATEDB "
				   "PASSWORD '" PW_RIGHT "'") != 0)
		return -1;
	return pgc_exec(&ledger.c[0], "SELECT pg_reload_conf()");
}

static void ledger_up(void)
{
	if (!pgc_available())
		return; /* each test fails with PGC_UNAVAILABLE_MSG */
	ledger_rc = pgc_start(&ledger, 1);
	if (ledger_rc == 0 && require_password_for_pw_user() != 0) {
		fprintf(stderr, "test_it_store: cannot set up '" PW_USER "'\n");
		ledger_rc = -1;
	}
}

static void ledger_down(void)
{
	pgc_stop_all(&ledger);
}

static void require_ledger(void)
{
	ck_assert_msg(pgc_available(), PGC_UNAVAILABLE_MSG);
	ck_assert_msg(ledger_rc == 0, "pgc_start failed (see stderr)");
}

/* Creates a fresh database and returns its name (static buffer). */
static const char *fresh_db(const char *owner)
{
	static int n;
	static char name[64];
	char sql[160];

	snprintf(name, sizeof(name), "ledger_%d_%d", (int)getpid(), ++n);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER %s", name, owner);
	ck_assert_msg(pgc_exec(&ledger.c[0], sql) == 0, "%s failed", sql);
	return name;
}

static char *pg_fresh(void)
{
	char *url = NULL;

	require_ledger();
	ck_assert_int_ge(asprintf(&url, "postgresql://postgres@127.0.0.1:%d/%s",
				  ledger.c[0].port, fresh_db("postgres")),
			 0);
	return url;
}

/* Runs sql on location's database, failing the test on error. */
static void run_sql(const char *location, const char *sql)
{
	PGconn *c = PQconnectdb(location);
	PGresult *r;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s",
		      PQerrorMessage(c));
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
			      PQresultStatus(r) == PGRES_TUPLES_OK,
		      "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* The first value of sql on location's database (malloc'd) or NULL. */
static char *sql_value(const char *location, const char *sql)
{
	PGconn *c = PQconnectdb(location);
	PGresult *r;
	char *v = NULL;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s",
		      PQerrorMessage(c));
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQerrorMessage(c));
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

static void pg_set_version(const char *location, int v)
{
	char sql[128];

	snprintf(sql, sizeof(sql),
		 "UPDATE phasegate_ledger.schema_version SET version = %d", v);
	run_sql(location, sql);
}

static const struct sc_backend pg_backend = {
	.name = "postgresql",
	.fresh = pg_fresh,
	.set_version = pg_set_version,
};

START_TEST(tables_live_in_their_own_schema)
{
	char *loc = pg_fresh(), *v;
	struct phg_store *s = NULL;
	struct phg_err err = {0};

	ck_assert_msg(phg_store_open(loc, &s, &err) == 0, "%s", err.msg);
	phg_store_close(s);
	v = sql_value(loc, "SELECT string_agg(table_name, ',' ORDER BY "
			   "table_name) FROM information_schema.tables "
			   "WHERE table_schema = 'phasegate_ledger'");
	ck_assert_str_eq(v, "events,leases,live_slots,readings,releases,"
			    "schema_version,steps,weights");
	free(v);
	v = sql_value(loc, "SELECT count(*) FROM information_schema.tables "
			   "WHERE table_schema = 'public'");
	ck_assert_str_eq(v, "0");
	free(v);
	v = sql_value(loc, "SELECT version FROM "
			   "phasegate_ledger.schema_version");
	ck_assert_str_eq(v, "1");
	free(v);
	free(loc);
}
END_TEST

static void assert_clean(const struct phg_err *err)
{
	ck_assert_msg(strstr(err->msg, "Pa55") == NULL, "%s", err->msg);
	ck_assert_msg(strstr(err->msg, PW_USER ":") == NULL, "%s", err->msg);
}

START_TEST(password_never_in_err)
{
	const char *db;
	char *url = NULL;
	struct phg_store *s = NULL;
	struct phg_err err = {0};
	int port;

	require_ledger();
	port = ledger.c[0].port;
	db = fresh_db(PW_USER);

	/* A wrong password: a real authentication failure. */
	ck_assert_int_ge(asprintf(&url,
				  "postgresql://" PW_USER ":" PW_WRONG
				  "@127.0.0.1:%d/%s",
				  port, db),
			 0);
	ck_assert_int_eq(phg_store_open(url, &s, &err), PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "password authentication failed") != NULL,
		      "%s", err.msg);
	assert_clean(&err);
	free(url);

	/* The same in the query string. */
	err = (struct phg_err){0};
	ck_assert_int_ge(asprintf(&url,
				  "postgres://127.0.0.1:%d/%s?user=" PW_USER
				  "&password=" PW_WRONG,
				  port, db),
			 0);
	ck_assert_int_eq(phg_store_open(url, &s, &err), PHG_ERUNTIME);
	assert_clean(&err);
	ck_assert_msg(strstr(err.msg, "password=") == NULL, "%s", err.msg);
	free(url);

	/* A database that does not exist, with the right password. */
	err = (struct phg_err){0};
	ck_assert_int_ge(asprintf(&url,
				  "postgresql://" PW_USER ":" PW_RIGHT
				  "@127.0.0.1:%d/no_such_ledger",
				  port),
			 0);
	ck_assert_int_eq(phg_store_open(url, &s, &err), PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "no_such_ledger") != NULL, "%s", err.msg);
	assert_clean(&err);
	free(url);

	/* The right one: opens; where and a later refusal stay clean. */
	err = (struct phg_err){0};
	ck_assert_int_ge(asprintf(&url,
				  "postgresql://" PW_USER ":" PW_RIGHT
				  "@127.0.0.1:%d/%s",
				  port, db),
			 0);
	ck_assert_msg(phg_store_open(url, &s, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(phg_store_backend(s), "postgresql");
	ck_assert_msg(strstr(phg_store_where(s), "Pa55") == NULL &&
			      strstr(phg_store_where(s), "127.0.0.1") != NULL,
		      "%s", phg_store_where(s));
	ck_assert(phg_store_lease_acquire(s, "prod", "a", 60000, NULL, &err) ==
		  0);
	ck_assert_int_eq(
		phg_store_lease_acquire(s, "prod", "b", 60000, NULL, &err),
		PHG_ERUNTIME);
	assert_clean(&err);
	phg_store_close(s);
	pg_set_version(url, PHG_STORE_SCHEMA_VERSION + 1);
	err = (struct phg_err){0};
	ck_assert_int_eq(phg_store_open(url, &s, &err), PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "newer") != NULL, "%s", err.msg);
	assert_clean(&err);
	free(url);
}
END_TEST

START_TEST(reconnects_after_server_restart)
{
	char *loc = pg_fresh();
	struct phg_store *s = NULL;
	struct phg_err err = {0};
	struct phg_store_release r;
	bool found = false;
	long long id = 0;
	int rc;

	ck_assert_msg(phg_store_open(loc, &s, &err) == 0, "%s", err.msg);
	{
		struct phg_store_release in = {.environment = "prod",
					       .tag = "v1",
					       .target_slot = "green"};

		ck_assert(phg_store_release_create(s, &in, &id, &err) == 0);
	}
	pgc_stop_one(&ledger, 0);
	ck_assert_int_eq(pgc_restart_one(&ledger, 0), 0);
	/* The first call may meet the dead connection and fail; the next
	   one reconnects. */
	rc = phg_store_event_add(s, id, NULL, "note", "after restart", &err);
	if (rc < 0) {
		ck_assert_int_eq(rc, PHG_ERUNTIME);
		err = (struct phg_err){0};
	}
	ck_assert_msg(
		phg_store_release_get(s, "prod", "v1", &r, &found, &err) == 0,
		"%s", err.msg);
	ck_assert(found);
	ck_assert_int_eq(r.id, id);
	phg_store_release_release(&r);
	phg_store_close(s);
	free(loc);
}
END_TEST

static Suite *it_store_suite(void)
{
	Suite *s = suite_create("it_store");
	TCase *shared = tcase_create("postgresql");

	sc_backend = &pg_backend;
	tcase_add_unchecked_fixture(shared, ledger_up, ledger_down);
	tcase_set_timeout(shared, 120);
	sc_add_cases(shared);
	tcase_add_test(shared, tables_live_in_their_own_schema);
	tcase_add_test(shared, password_never_in_err);
	tcase_add_test(shared, reconnects_after_server_restart);
	suite_add_tcase(s, shared);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(it_store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
