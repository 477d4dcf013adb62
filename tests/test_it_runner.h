/*
 * test_it_runner.h: what the runner's integration suites (test_it_runner.c,
 * test_it_runner_faults.c) share — a fresh database per test on each
 * cluster, a project folder with a config and numbered migrations, direct
 * queries with libpq, and running the phasegate binary either to the end
 * (th_run) or in the background (to kill it, or to run several at once).
 * Everything is static inline so each suite uses what it needs.
 */
#ifndef PHG_TEST_IT_RUNNER_H
#define PHG_TEST_IT_RUNNER_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "pg_cluster.h"

/* The password of the DSNs that carry one (trust auth ignores it). */
#define RT_PASSWORD "Sup3rSecretPw"

static inline long long rt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void rt_sleep_ms(long long ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
			      .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Creates a database of a fresh name on cluster c and writes its URL into
 * dsn (with RT_PASSWORD when with_password). Fails the test on error.
 */
static inline void rt_createdb(const struct pgc_cluster *c, bool with_password,
			       char *dsn, size_t cap)
{
	static int seq;
	char name[64], sql[128];

	snprintf(name, sizeof(name), "rt_%d_%d", (int)getpid(), ++seq);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	ck_assert_msg(pgc_exec(c, sql) == 0, "cannot create database %s", name);
	snprintf(dsn, cap, "postgresql://postgres%s@127.0.0.1:%d/%s",
		 with_password ? ":" RT_PASSWORD : "", c->port, name);
}

/* Runs sql on dsn; returns 0, or -1 after printing the error. */
static inline int rt_exec(const char *dsn, const char *sql)
{
	PGconn *pg = PQconnectdb(dsn);
	PGresult *res;
	int rc = -1;

	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "rt_exec: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return -1;
	}
	res = PQexec(pg, sql);
	if (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK)
		rc = 0;
	else
		fprintf(stderr, "rt_exec: %s", PQerrorMessage(pg));
	PQclear(res);
	PQfinish(pg);
	return rc;
}

/*
 * The first column of the first row of sql on dsn, malloc'd; NULL on an
 * error (printed), no row, or SQL NULL.
 */
static inline char *rt_value(const char *dsn, const char *sql)
{
	PGconn *pg = PQconnectdb(dsn);
	PGresult *res;
	char *v = NULL;

	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "rt_value: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	res = PQexec(pg, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "rt_value: %s", PQerrorMessage(pg));
	else if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		v = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(pg);
	return v;
}

/* An integer query result, or -1 when there is none. */
static inline long long rt_num(const char *dsn, const char *sql)
{
	char *v = rt_value(dsn, sql);
	long long n = v ? atoll(v) : -1;

	free(v);
	return n;
}

/* Whether the history table exists in dsn's database. */
static inline bool rt_has_history(const char *dsn)
{
	return rt_num(dsn, "SELECT count(*) FROM pg_namespace WHERE nspname "
			   "= 'phasegate'") > 0;
}

/* Applied history rows (0 when there is no history table). */
static inline long long rt_applied(const char *dsn)
{
	if (!rt_has_history(dsn))
		return 0;
	return rt_num(dsn, "SELECT count(*) FROM phasegate.history WHERE "
			   "state = 'applied'");
}

/* Writes dir/migrations/<name>.sql. */
static inline void rt_mig(const char *dir, const char *name, const char *sql)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "migrations/%s.sql", name);
	th_write_str(dir, rel, sql);
}

/*
 * Runs phasegate in dir with the NULL-terminated arguments; *out and *err
 * get its output (malloc'd; the caller frees them).
 */
static inline int rt_run(const char *dir, char **out, char **err, ...)
{
	const char *argv[32];
	size_t n = 0;
	va_list ap;
	int rc;

	va_start(ap, err);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	rc = th_run(dir, argv, out, err);
	return rc;
}

/*
 * Starts phasegate in the background in dir with argv (NULL-terminated,
 * argv[0] excluded), its stdout and stderr going to out_path and err_path
 * (either may be NULL for /dev/null). Returns its pid.
 */
static inline pid_t rt_spawn(const char *dir, const char *const *argv,
			     const char *out_path, const char *err_path)
{
	const char *bin = getenv("PHG_BINARY");
	const char *args[32];
	size_t n = 0;
	pid_t pid;

	if (!bin)
		bin = "phasegate";
	args[n++] = bin;
	for (; argv[n - 1] && n < 31; n++)
		args[n] = argv[n - 1];
	args[n] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open(out_path ? out_path : "/dev/null",
			     O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err_path ? err_path : "/dev/null",
			     O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (o < 0 || e < 0 || chdir(dir) < 0)
			_exit(127);
		dup2(o, 1);
		dup2(e, 2);
		execv(bin, (char *const *)args);
		_exit(127);
	}
	return pid;
}

/*
 * Waits for pid up to timeout_ms; past it the process is killed and -1
 * returned. Otherwise its exit code (128 + signal when signalled).
 */
static inline int rt_wait(pid_t pid, long long timeout_ms)
{
	long long end = rt_now_ms() + timeout_ms;
	int status = 0;

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -2;
		if (rt_now_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		rt_sleep_ms(10);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Whether haystack (may be NULL) contains needle. */
static inline bool rt_has(const char *haystack, const char *needle)
{
	return haystack && strstr(haystack, needle) != NULL;
}

/* One test's project: its folder and a database per region. */
struct rt_proj {
	char *dir;
	char dsn[3][512];
};

static const char *const rt_region_names[3] = {"us-east-1", "eu-west-1",
					       "ap-southeast-1"};

/*
 * The config: three regions (us-east-1 primary, eu-west-1, ap-southeast-1)
 * whose databases come from PHG_TEST_DB_1..3; eu_extra and ap_extra are
 * added to those entries ("    soak: 2s\n"), tail after the list (a
 * "migrate:" block). Any of them may be NULL.
 */
static inline void rt_write_config(const struct rt_proj *p,
				   const char *eu_extra, const char *ap_extra,
				   const char *tail)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		 "regions:\n"
		 "  - name: us-east-1\n"
		 "    primary: true\n"
		 "    database: ${PHG_TEST_DB_1}\n"
		 "  - name: eu-west-1\n"
		 "    database: ${PHG_TEST_DB_2}\n%s"
		 "  - name: ap-southeast-1\n"
		 "    database: ${PHG_TEST_DB_3}\n%s%s",
		 eu_extra ? eu_extra : "", ap_extra ? ap_extra : "",
		 tail ? tail : "");
	th_write_str(p->dir, "phasegate.yaml", buf);
}

/*
 * A config with the single region us-east-1 (PHG_TEST_DB_1) and tail after
 * it (a "migrate:" block, or NULL).
 */
static inline void rt_write_config1(const struct rt_proj *p, const char *tail)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
		 "regions:\n"
		 "  - name: us-east-1\n"
		 "    database: ${PHG_TEST_DB_1}\n%s",
		 tail ? tail : "");
	th_write_str(p->dir, "phasegate.yaml", buf);
}

/*
 * Five migrations: expand, expand, two concurrent index builds (run
 * statement by statement), a backfill and a contract.
 */
static inline void rt_write_migrations(const struct rt_proj *p)
{
	rt_mig(p->dir, "0001_create_accounts",
	       "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT "
	       "NULL, legacy text);\n");
	rt_mig(p->dir, "0002_add_name",
	       "-- a nullable column: old code keeps working\n"
	       "ALTER TABLE accounts ADD COLUMN name text;\n");
	rt_mig(p->dir, "0003_index_email",
	       "CREATE INDEX CONCURRENTLY accounts_email_idx ON accounts "
	       "(email);\n"
	       "CREATE INDEX CONCURRENTLY accounts_name_idx ON accounts "
	       "(name);\n");
	rt_mig(p->dir, "0004_backfill_name",
	       "UPDATE accounts SET name = email WHERE name IS NULL;\n");
	rt_mig(p->dir, "0005_drop_legacy",
	       "ALTER TABLE accounts DROP COLUMN legacy;\n");
}

/*
 * A project on the first n clusters of set: a temporary folder, a fresh
 * database per cluster exported as PHG_TEST_DB_<i>, the three-region
 * config and rt_write_migrations' five migrations.
 */
static inline void rt_setup(struct rt_proj *p, const struct pgc_set *set,
			    size_t n, bool with_password)
{
	memset(p, 0, sizeof(*p));
	p->dir = th_tmpdir();
	for (size_t i = 0; i < n && i < 3; i++) {
		char var[32];

		rt_createdb(&set->c[i], with_password, p->dsn[i],
			    sizeof(p->dsn[i]));
		snprintf(var, sizeof(var), "PHG_TEST_DB_%zu", i + 1);
		setenv(var, p->dsn[i], 1);
	}
	rt_write_config(p, NULL, NULL, NULL);
	rt_write_migrations(p);
}

static inline void rt_teardown(struct rt_proj *p)
{
	th_rmtree(p->dir);
	free(p->dir);
}

#endif
