/*
 * test_it_runner_faults.c: fault tests of the runner against real
 * PostgreSQL 15 clusters —
 *   - region down: the second region's server stops; the primary finishes,
 *     the run exits 3 naming the region, and resumes once it is back;
 *   - concurrency: 8 runners started at once on one fresh database apply
 *     each of 20 migrations exactly once, and all exit 0;
 *   - locks: a table held in ACCESS EXCLUSIVE mode makes a migration retry
 *     and fail cleanly (exit 3, lock_not_available, nothing half-applied);
 *     released during the retries, the migration succeeds; and a table
 *     held in ACCESS SHARE mode keeps a write load waiting at most about
 *     lock_timeout per attempt (the measured figure is printed);
 *   - a runner killed in the middle of a slow concurrent index build: the
 *     server cancels the build, status says "interrupted", and the rerun
 *     (which must set the file's search_path again) drops the INVALID
 *     index and builds it anew;
 *   - crash: SIGKILL at random moments while 200 migrations (transactional,
 *     statement by statement with CREATE INDEX CONCURRENTLY, and with their
 *     own BEGIN/COMMIT) apply: 60 kills by default (PHG_CRASH_KILLS; never
 *     fewer than 30, and no more once 90 s of killing have passed), random
 *     delays from a printed seed (PHG_CRASH_SEED replays it), each round on
 *     a fresh database; the history matches the schema after every kill
 *     and after each round's rerun to completion.
 * Each migration inserts a marker row under a primary key, so one that ran
 * twice fails the rerun, and one that left its marker without a history
 * row shows. Timings are printed so they can be recorded.
 */
#include "test_it_runner.h"

static struct pgc_set regions;
static int regions_rc = -1;

static void regions_up(void)
{
	if (!pgc_available())
		return; /* each test fails with PGC_UNAVAILABLE_MSG */
	regions_rc = pgc_start(&regions, 3);
}

static void regions_down(void)
{
	pgc_stop_all(&regions);
}

static void require_regions(void)
{
	ck_assert_msg(pgc_available(), PGC_UNAVAILABLE_MSG);
	ck_assert_msg(regions_rc == 0, "pgc_start failed (see stderr)");
}

START_TEST(region_down_stops_then_resumes)
{
	struct rt_proj p;
	char *out, *err;
	int rc;

	require_regions();
	rt_setup(&p, &regions, 3, false);
	pgc_stop_one(&regions, 1);
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    NULL);
	pgc_restart_one(&regions, 1);
	ck_assert_msg(rc == 3, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(err, "region 'eu-west-1'") &&
			      rt_has(err, "cannot connect"),
		      "%s", err);
	ck_assert_int_eq(rt_applied(p.dsn[0]), 5);
	ck_assert_int_eq(rt_applied(p.dsn[1]), 0);
	ck_assert_int_eq(rt_applied(p.dsn[2]), 0);
	free(out);
	free(err);

	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(out, "region us-east-1: 0 applied") &&
			      rt_has(out, "region eu-west-1: 5 applied") &&
			      rt_has(out, "region ap-southeast-1: 5 applied"),
		      "%s", out);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(rt_applied(p.dsn[i]), 5);
	free(out);
	free(err);
	rt_teardown(&p);
}
END_TEST

/*
 * Migration n (from 1) of the concurrency and crash sets: a table and its
 * marker, in one transaction; with every > 0, every `every`-th one also
 * fills its table and builds two indexes concurrently (statement by
 * statement), and every 7th other one holds its own BEGIN/COMMIT.
 */
static void write_marked(const struct rt_proj *p, int n, int every, int rows)
{
	char name[64], sql[1024];

	if (n == 1) {
		rt_mig(p->dir, "0001_marker",
		       "CREATE TABLE marker (k text PRIMARY KEY, at "
		       "timestamptz "
		       "NOT NULL DEFAULT clock_timestamp());\n"
		       "INSERT INTO marker (k) VALUES ('0001');\n");
		return;
	}
	if (every > 0 && n % every == 0) {
		snprintf(name, sizeof(name), "%04d_concurrent", n);
		snprintf(sql, sizeof(sql),
			 "CREATE TABLE c_%04d (id int PRIMARY KEY, v int);\n"
			 "INSERT INTO c_%04d SELECT g, g %% 97 FROM "
			 "generate_series(1, %d) g;\n"
			 "INSERT INTO marker (k) VALUES ('%04d');\n"
			 "CREATE INDEX CONCURRENTLY c_%04d_v_idx ON c_%04d "
			 "(v);\n"
			 "CREATE INDEX CONCURRENTLY c_%04d_vid_idx ON c_%04d "
			 "(v, id);\n",
			 n, n, rows, n, n, n, n, n);
	} else if (every > 0 && n % 7 == 0) {
		/* Its own BEGIN/COMMIT: run as written. */
		snprintf(name, sizeof(name), "%04d_own_tx", n);
		snprintf(sql, sizeof(sql),
			 "BEGIN;\n"
			 "CREATE TABLE o_%04d (id bigint PRIMARY KEY);\n"
			 "INSERT INTO marker (k) VALUES ('%04d');\n"
			 "COMMIT;\n",
			 n, n);
	} else {
		snprintf(name, sizeof(name), "%04d_table", n);
		snprintf(sql, sizeof(sql),
			 "CREATE TABLE t_%04d (id bigint PRIMARY KEY, note "
			 "text);\n"
			 "INSERT INTO marker (k) VALUES ('%04d');\n",
			 n, n);
	}
	rt_mig(p->dir, name, sql);
}

/* A single-region project on cluster 0 with migrations 1..n. */
static void marked_project(struct rt_proj *p, int n, int every, int rows,
			   const char *migrate)
{
	memset(p, 0, sizeof(*p));
	p->dir = th_tmpdir();
	rt_createdb(&regions.c[0], false, p->dsn[0], sizeof(p->dsn[0]));
	setenv("PHG_TEST_DB_1", p->dsn[0], 1);
	rt_write_config1(p, migrate);
	for (int i = 1; i <= n; i++)
		write_marked(p, i, every, rows);
}

START_TEST(eight_runners_apply_each_migration_once)
{
	enum { RUNNERS = 8, MIGRATIONS = 20 };
	const char *argv[] = {"migrate", NULL};
	struct rt_proj p;
	pid_t pids[RUNNERS];
	long long t0, ms, total = 0;
	char path[RUNNERS][512];

	require_regions();
	marked_project(&p, MIGRATIONS, 5, 2000, NULL);
	t0 = rt_now_ms();
	for (int i = 0; i < RUNNERS; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/out%d", p.dir, i);
		pids[i] = rt_spawn(p.dir, argv, path[i], NULL);
	}
	for (int i = 0; i < RUNNERS; i++) {
		int rc = rt_wait(pids[i], 90000);
		char *out = th_slurp(path[i]);
		const char *s = out ? strstr(out, " migration") : NULL;

		ck_assert_msg(rc == 0, "runner %d: exit %d\n%s", i, rc, out);
		/* "N migrations applied": the N before it. */
		while (s && s > out && s[-1] >= '0' && s[-1] <= '9')
			s--;
		if (s)
			total += atoll(s);
		free(out);
	}
	ms = rt_now_ms() - t0;
	printf("concurrency: %d runners, %d migrations, all done in %lld ms\n",
	       RUNNERS, MIGRATIONS, ms);
	ck_assert_int_eq(total, MIGRATIONS);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM marker"),
			 MIGRATIONS);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM "
					  "phasegate.history WHERE state = "
					  "'applied'"),
			 MIGRATIONS);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM "
					  "phasegate.history"),
			 MIGRATIONS);
	ck_assert_int_eq(rt_num(p.dsn[0],
				"SELECT count(*) FROM pg_index WHERE NOT "
				"indisvalid"),
			 0);
	rt_teardown(&p);
}
END_TEST

/* A connection of the test's own, holding locks in an open transaction. */
static PGconn *hold(const char *dsn, const char *lock_sql)
{
	PGconn *pg = PQconnectdb(dsn);
	PGresult *res;

	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
	res = PQexec(pg, "BEGIN");
	ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	res = PQexec(pg, lock_sql);
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
			      PQresultStatus(res) == PGRES_TUPLES_OK,
		      "%s", PQerrorMessage(pg));
	PQclear(res);
	return pg;
}

static void release(PGconn *pg)
{
	PGresult *res = PQexec(pg, "COMMIT");

	PQclear(res);
	PQfinish(pg);
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *s = text; s && (s = strstr(s, prefix)) != NULL; s++)
		n++;
	return n;
}

/*
 * A write load in a child process: inserts into t for ms milliseconds,
 * then writes "<max latency ms> <inserts>" to fd.
 */
static pid_t start_load(const char *dsn, long long ms, int fd)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		PGconn *pg = PQconnectdb(dsn);
		long long end = rt_now_ms() + ms, worst = 0, n = 0;
		char line[64];

		if (PQstatus(pg) != CONNECTION_OK)
			_exit(1);
		while (rt_now_ms() < end) {
			long long t = rt_now_ms();
			char sql[128];
			PGresult *res;

			snprintf(sql, sizeof(sql),
				 "INSERT INTO t (id, v) VALUES (%lld, 1)",
				 1000000 + n);
			res = PQexec(pg, sql);
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
				_exit(2);
			PQclear(res);
			t = rt_now_ms() - t;
			if (t > worst)
				worst = t;
			n++;
		}
		PQfinish(pg);
		snprintf(line, sizeof(line), "%lld %lld\n", worst, n);
		if (write(fd, line, strlen(line)) < 0)
			_exit(3);
		_exit(0);
	}
	return pid;
}

START_TEST(lock_timeouts_retry_then_fail_or_succeed)
{
	const char *argv[] = {"migrate", NULL};
	struct rt_proj p;
	char *out, *err, path[512], epath[512];
	long long t0, ms;
	PGconn *holder;
	pid_t pid;
	int rc;

	require_regions();
	memset(&p, 0, sizeof(p));
	p.dir = th_tmpdir();
	rt_createdb(&regions.c[0], false, p.dsn[0], sizeof(p.dsn[0]));
	setenv("PHG_TEST_DB_1", p.dsn[0], 1);
	rt_write_config1(&p, "migrate:\n"
			     "  lock_timeout: 200ms\n"
			     "  retries: 3\n"
			     "  retry_backoff: 100ms\n");
	rt_mig(p.dir, "0001_create_t",
	       "CREATE TABLE t (id int PRIMARY KEY, v int);\n"
	       "CREATE TABLE marker (k text PRIMARY KEY);\n");
	rc = rt_run(p.dir, &out, &err, "migrate", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	free(out);
	free(err);
	rt_mig(p.dir, "0002_alter_t",
	       "INSERT INTO marker VALUES ('0002');\n"
	       "ALTER TABLE t ADD COLUMN w int;\n");

	/* The lock never frees: four attempts, then a clean failure. */
	holder = hold(p.dsn[0], "LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
	t0 = rt_now_ms();
	rc = rt_run(p.dir, &out, &err, "migrate", NULL);
	ms = rt_now_ms() - t0;
	release(holder);
	printf("locks: held throughout, failed after %lld ms with %d retries "
	       "(lock_timeout 200ms, retries 3, backoff 100ms)\n",
	       ms, count_lines(out, "  retry "));
	ck_assert_msg(rc == 3, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(err, "55P03") &&
			      rt_has(err, "lock_not_available") &&
			      rt_has(err, "0002_alter_t"),
		      "%s", err);
	ck_assert_int_eq(count_lines(out, "  retry "), 3);
	ck_assert_msg(ms >= 4 * 200 && ms < 10000, "took %lld ms", ms);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM marker"), 0);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM "
					  "information_schema.columns WHERE "
					  "table_name = 't' AND column_name = "
					  "'w'"),
			 0);
	ck_assert_int_eq(rt_num(p.dsn[0],
				"SELECT count(*) FROM "
				"phasegate.history WHERE name = "
				"'0002_alter_t' AND state = 'applied'"),
			 0);
	free(out);
	free(err);
	rc = rt_run(p.dir, &out, &err, "status", NULL);
	ck_assert_msg(rc == 0 && (rt_has(out, "1 failed") ||
				  rt_has(out, "1 pending")),
		      "exit %d\n%s%s", rc, out, err);
	free(out);
	free(err);

	/* Held for about 0.5 s, released during the retries: it succeeds. */
	snprintf(path, sizeof(path), "%s/lock.out", p.dir);
	snprintf(epath, sizeof(epath), "%s/lock.err", p.dir);
	holder = hold(p.dsn[0], "LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
	t0 = rt_now_ms();
	pid = rt_spawn(p.dir, argv, path, epath);
	rt_sleep_ms(500);
	release(holder);
	rc = rt_wait(pid, 30000);
	ms = rt_now_ms() - t0;
	out = th_slurp(path);
	err = th_slurp(epath);
	printf("locks: released after 500 ms, applied after %lld ms with %d "
	       "retries\n",
	       ms, count_lines(out, "  retry "));
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert_int_ge(count_lines(out, "  retry "), 1);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM marker"), 1);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM "
					  "phasegate.history WHERE state = "
					  "'applied'"),
			 2);
	free(out);
	free(err);

	/*
	 * Outside a transaction: the marker goes in, the concurrent build
	 * cannot get its lock and fails. The rerun continues after the
	 * marker (running it again would break its primary key).
	 */
	rt_mig(p.dir, "0003_index_t",
	       "INSERT INTO marker VALUES ('0003');\n"
	       "CREATE INDEX CONCURRENTLY t_v_idx ON t (v);\n");
	holder = hold(p.dsn[0], "LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
	rc = rt_run(p.dir, &out, &err, "migrate", NULL);
	release(holder);
	ck_assert_msg(rc == 3 && rt_has(err, "55P03"), "exit %d\n%s%s", rc, out,
		      err);
	free(out);
	free(err);
	rc = rt_run(p.dir, &out, &err, "status", NULL);
	ck_assert_msg(rc == 0 && rt_has(out, "1 failed") &&
			      rt_has(out, "1 statement done"),
		      "exit %d\n%s%s", rc, out, err);
	free(out);
	free(err);
	rc = rt_run(p.dir, &out, &err, "migrate", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM marker"), 2);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM pg_index i "
					  "JOIN pg_class c ON c.oid = "
					  "i.indexrelid WHERE c.relname = "
					  "'t_v_idx' AND i.indisvalid"),
			 1);
	free(out);
	free(err);

	/*
	 * A long reader holds ACCESS SHARE while a write load runs: the
	 * migration's queued ACCESS EXCLUSIVE request blocks the load, but
	 * only for lock_timeout per attempt.
	 */
	rt_mig(p.dir, "0004_alter_t_again",
	       "ALTER TABLE t ADD COLUMN x int;\n");
	{
		int fds[2];
		pid_t load;
		char buf[64] = "";
		long long worst = -1, n = 0;
		ssize_t got;

		ck_assert_int_eq(pipe(fds), 0);
		holder = hold(p.dsn[0], "SELECT count(*) FROM t");
		load = start_load(p.dsn[0], 2500, fds[1]);
		rt_sleep_ms(200);
		rc = rt_run(p.dir, &out, &err, "migrate", NULL);
		ck_assert_int_eq(rt_wait(load, 30000), 0);
		release(holder);
		close(fds[1]);
		got = read(fds[0], buf, sizeof(buf) - 1);
		close(fds[0]);
		if (got > 0) {
			buf[got] = '\0';
			sscanf(buf, "%lld %lld", &worst, &n);
		}
		printf("locks: under a write load (%lld inserts), the longest "
		       "insert waited %lld ms (lock_timeout 200ms)\n",
		       n, worst);
		ck_assert_msg(rc == 3, "exit %d\n%s%s", rc, out, err);
		ck_assert_int_ge(worst, 0);
		ck_assert_msg(worst < 3 * 200, "an insert waited %lld ms",
			      worst);
		free(out);
		free(err);
	}
	rt_teardown(&p);
}
END_TEST

/*
 * Waits up to ms for every phasegate session on dsn's database to end (a
 * killed runner's backend ends once it notices). Returns whether they did.
 */
static bool runner_sessions_gone(const char *dsn, long long ms)
{
	long long end = rt_now_ms() + ms;

	while (rt_num(dsn, "SELECT count(*) FROM pg_stat_activity WHERE "
			   "application_name = 'phasegate' AND datname = "
			   "current_database()") != 0) {
		if (rt_now_ms() >= end)
			return false;
		rt_sleep_ms(50);
	}
	return true;
}

START_TEST(killed_concurrent_build_is_dropped_and_rebuilt)
{
	const char *argv[] = {"migrate", NULL};
	struct rt_proj p;
	char *out, *err;
	long long t0, killed_ms, gone_ms;
	pid_t pid;
	int rc;

	require_regions();
	memset(&p, 0, sizeof(p));
	p.dir = th_tmpdir();
	rt_createdb(&regions.c[0], false, p.dsn[0], sizeof(p.dsn[0]));
	setenv("PHG_TEST_DB_1", p.dsn[0], 1);
	rt_write_config1(&p, NULL);
	/*
	 * An index whose every entry takes 5 ms to compute: ~2 s to build. It
	 * lives in schema app, found through the file's own search_path, which
	 * the resumed run must set again.
	 */
	rt_mig(p.dir, "0001_slow",
	       "CREATE SCHEMA app;\n"
	       "CREATE TABLE app.s (id int PRIMARY KEY);\n"
	       "INSERT INTO app.s SELECT generate_series(1, 400);\n"
	       "CREATE FUNCTION app.slow_id(i int) RETURNS int LANGUAGE "
	       "plpgsql IMMUTABLE AS $$ BEGIN PERFORM pg_sleep(0.005); RETURN "
	       "i; END $$;\n");
	rc = rt_run(p.dir, &out, &err, "migrate", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	free(out);
	free(err);
	rt_mig(p.dir, "0002_slow_index",
	       "SET search_path = app, public;\n"
	       "CREATE INDEX CONCURRENTLY s_slow_idx ON s (slow_id(id));\n"
	       "CREATE TABLE after_index (id int PRIMARY KEY);\n");
	/* The next migration starts from a clean session: public. */
	rt_mig(p.dir, "0003_later",
	       "CREATE TABLE later (id int PRIMARY KEY);\n");

	t0 = rt_now_ms();
	pid = rt_spawn(p.dir, argv, NULL, NULL);
	/* Mid-build, status sees a runner at work. */
	rt_sleep_ms(400);
	rc = rt_run(p.dir, &out, &err, "status", NULL);
	ck_assert_msg(rc == 0 && rt_has(out, "1 running") &&
			      rt_has(out, "holds the migration lock"),
		      "exit %d\n%s%s", rc, out, err);
	free(out);
	free(err);
	if (rt_now_ms() - t0 < 700)
		rt_sleep_ms(700 - (rt_now_ms() - t0));
	kill(pid, SIGKILL);
	ck_assert_int_eq(rt_wait(pid, 10000), 128 + SIGKILL);
	killed_ms = rt_now_ms() - t0;
	/* The server cancels the orphaned build within a second or so
	   (client_connection_check_interval), leaving it INVALID. */
	ck_assert_msg(runner_sessions_gone(p.dsn[0], 15000),
		      "the killed runner's session lives on");
	gone_ms = rt_now_ms() - t0;
	printf("crash: runner killed at %lld ms into a ~2 s concurrent "
	       "build; its session ended at %lld ms\n",
	       killed_ms, gone_ms);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM pg_index i "
					  "JOIN pg_class c ON c.oid = "
					  "i.indexrelid WHERE c.relname = "
					  "'s_slow_idx' AND NOT i.indisvalid"),
			 1);
	ck_assert_int_eq(rt_applied(p.dsn[0]), 1);
	rc = rt_run(p.dir, &out, &err, "status", NULL);
	ck_assert_msg(rc == 0 && rt_has(out, "1 interrupted") &&
			      rt_has(out, "0002_slow_index"),
		      "exit %d\n%s%s", rc, out, err);
	free(out);
	free(err);

	/* The rerun drops the wreck and builds it again. */
	rc = rt_run(p.dir, &out, &err, "migrate", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM pg_index i "
					  "JOIN pg_class c ON c.oid = "
					  "i.indexrelid WHERE c.relname = "
					  "'s_slow_idx' AND i.indisvalid"),
			 1);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM pg_indexes "
					  "WHERE schemaname = 'app' AND "
					  "tablename = 's'"),
			 2);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM pg_index "
					  "WHERE NOT indisvalid"),
			 0);
	ck_assert_int_eq(rt_applied(p.dsn[0]), 3);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM pg_tables "
					  "WHERE schemaname = 'app' AND "
					  "tablename = 'after_index'"),
			 1);
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM pg_tables "
					  "WHERE schemaname = 'public' AND "
					  "tablename = 'later'"),
			 1);
	free(out);
	free(err);
	rt_teardown(&p);
}
END_TEST

/* ---- crash ------------------------------------------------------------ */

#define CRASH_MIGRATIONS 200
#define CRASH_EVERY 10 /* each 10th builds indexes concurrently */

/*
 * What must hold at any moment, read in one statement (one snapshot), as
 * counts of violations: a marker without an applied history row (or, for
 * a statement-by-statement migration, without its progress past the
 * marker); an applied row without its marker; an applied concurrent
 * migration without both indexes valid; a table of a transactional
 * migration without an applied row, or the reverse; a table of an own
 * BEGIN/COMMIT migration without its block recorded, or the reverse.
 */
static const char crash_check_sql[] =
	"SELECT concat_ws(' ',"
	" (SELECT count(*) FROM marker m WHERE NOT EXISTS (SELECT 1 FROM"
	"  phasegate.history h WHERE h.version = m.k AND (h.state = 'applied'"
	"  OR (NOT h.transactional AND h.statements_done >= 3)))),"
	" (SELECT count(*) FROM phasegate.history h WHERE h.state = 'applied'"
	"  AND NOT EXISTS (SELECT 1 FROM marker m WHERE m.k = h.version)),"
	" (SELECT count(*) FROM phasegate.history h WHERE h.state = 'applied'"
	"  AND h.name LIKE '%_concurrent' AND (SELECT count(*) FROM pg_index"
	"  i JOIN"
	"  pg_class c ON c.oid = i.indexrelid WHERE i.indisvalid AND"
	"  c.relname IN ('c_' || h.version || '_v_idx', 'c_' || h.version ||"
	"  '_vid_idx')) <> 2),"
	" (SELECT count(*) FROM pg_tables p WHERE p.tablename ~ '^t_[0-9]+$'"
	"  AND NOT EXISTS (SELECT 1 FROM phasegate.history h WHERE h.state ="
	"  'applied' AND p.tablename = 't_' || h.version)),"
	" (SELECT count(*) FROM phasegate.history h WHERE h.state = 'applied'"
	"  AND h.transactional AND h.version <> '0001' AND"
	"  to_regclass('t_' || h.version) IS NULL),"
	" (SELECT count(*) FROM pg_tables p WHERE p.tablename ~ '^o_[0-9]+$'"
	"  AND NOT EXISTS (SELECT 1 FROM phasegate.history h WHERE"
	"  p.tablename = 'o_' || h.version AND (h.state = 'applied' OR"
	"  h.statements_done >= 4))),"
	" (SELECT count(*) FROM phasegate.history h WHERE h.name LIKE"
	"  '%_own_tx' AND (h.state = 'applied' OR h.statements_done >= 4) AND"
	"  to_regclass('o_' || h.version) IS NULL))";

/* What the kills hit, for the printed summary. */
static int hit_partial, hit_invalid;

/* Checks the invariants now; returns the applied count. */
static long long crash_check(const char *dsn, int kill_no)
{
	char *v;

	if (!rt_has_history(dsn)) {
		ck_assert_int_eq(rt_num(dsn, "SELECT count(*) FROM pg_tables "
					     "WHERE tablename = 'marker'"),
				 0);
		return 0;
	}
	if (rt_num(dsn, "SELECT count(*) FROM pg_tables WHERE tablename = "
			"'marker'") == 0) {
		ck_assert_int_eq(rt_applied(dsn), 0);
		return 0;
	}
	v = rt_value(dsn, crash_check_sql);
	ck_assert_ptr_nonnull(v);
	ck_assert_msg(strcmp(v, "0 0 0 0 0 0 0") == 0,
		      "after kill %d, history and schema disagree: %s "
		      "(markers without history, applied without marker, "
		      "concurrent without valid indexes, tables without "
		      "history, history without tables, own-transaction tables "
		      "without history, history without them)",
		      kill_no, v);
	free(v);
	if (kill_no > 0) {
		/* A run outside a transaction cut short; an index build
		   cut short (or still being cancelled). */
		hit_partial +=
			rt_num(dsn, "SELECT count(*) FROM "
				    "phasegate.history WHERE state <> "
				    "'applied' AND NOT transactional") > 0;
		hit_invalid += rt_num(dsn, "SELECT count(*) FROM pg_index "
					   "WHERE NOT indisvalid") > 0;
	}
	return rt_applied(dsn);
}

/* After the final run: everything applied, once, and valid. */
static void crash_final(const char *dsn)
{
	int concurrent = CRASH_MIGRATIONS / CRASH_EVERY, own = 0;

	for (int n = 2; n <= CRASH_MIGRATIONS; n++)
		own += n % CRASH_EVERY != 0 && n % 7 == 0;
	(void)crash_check(dsn, -1);
	ck_assert_int_eq(rt_applied(dsn), CRASH_MIGRATIONS);
	ck_assert_int_eq(rt_num(dsn, "SELECT count(*) FROM phasegate.history"),
			 CRASH_MIGRATIONS);
	ck_assert_int_eq(rt_num(dsn, "SELECT count(*) FROM marker"),
			 CRASH_MIGRATIONS);
	ck_assert_int_eq(rt_num(dsn, "SELECT count(*) FROM pg_index WHERE "
				     "NOT indisvalid"),
			 0);
	/* Each concurrent table: its primary key and exactly two more. */
	ck_assert_int_eq(rt_num(dsn, "SELECT count(*) FROM pg_indexes WHERE "
				     "tablename ~ '^c_[0-9]+$'"),
			 3 * concurrent);
	ck_assert_int_eq(rt_num(dsn, "SELECT count(*) FROM phasegate.history "
				     "WHERE name LIKE '%_concurrent' AND NOT "
				     "transactional AND statements_done = 5"),
			 concurrent);
	ck_assert_int_eq(rt_num(dsn, "SELECT count(*) FROM pg_tables WHERE "
				     "tablename ~ '^t_[0-9]+$'"),
			 CRASH_MIGRATIONS - concurrent - own - 1);
	ck_assert_int_eq(rt_num(dsn, "SELECT count(*) FROM pg_tables WHERE "
				     "tablename ~ '^o_[0-9]+$'"),
			 own);
	ck_assert_int_eq(rt_num(dsn, "SELECT count(*) FROM phasegate.history "
				     "WHERE name LIKE '%_own_tx' AND NOT "
				     "transactional AND statements_done = 4"),
			 own);
}

START_TEST(sigkill_at_random_moments_never_breaks_history)
{
	const char *argv[] = {"migrate", NULL};
	const char *want = getenv("PHG_CRASH_KILLS");
	int kills_wanted = want ? atoi(want) : 60;
	unsigned seed = getenv("PHG_CRASH_SEED")
				? (unsigned)atoi(getenv("PHG_CRASH_SEED"))
				: (unsigned)time(NULL);
	struct rt_proj p;
	long long t0, full_ms, test_t0 = rt_now_ms();
	int kills = 0, late = 0, rounds = 0;
	char outp[512], errp[512];
	int rc;

	require_regions();
	if (kills_wanted < 1)
		kills_wanted = 60;
	srand(seed);
	/* A full run first: how long the kills have to land in. */
	marked_project(&p, CRASH_MIGRATIONS, CRASH_EVERY, 5000, NULL);
	snprintf(outp, sizeof(outp), "%s/run.out", p.dir);
	snprintf(errp, sizeof(errp), "%s/run.err", p.dir);
	t0 = rt_now_ms();
	rc = rt_wait(rt_spawn(p.dir, argv, outp, errp), 120000);
	full_ms = rt_now_ms() - t0;
	ck_assert_msg(rc == 0, "full run: exit %d\n%s", rc, th_slurp(errp));
	crash_final(p.dsn[0]);
	printf("crash: seed %u; a full run of %d migrations takes %lld ms\n",
	       seed, CRASH_MIGRATIONS, full_ms);

	/* At least 30 kills; past 90 s of killing, no more than that. */
	while (kills < kills_wanted &&
	       !(kills >= 30 && rt_now_ms() - test_t0 > 90000)) {
		char *e;
		int round_kills = 0;

		/* A fresh database per round; the folder stays. */
		rt_createdb(&regions.c[0], false, p.dsn[0], sizeof(p.dsn[0]));
		setenv("PHG_TEST_DB_1", p.dsn[0], 1);
		rounds++;
		long long applied = 0;

		while (round_kills < 10 && kills < kills_wanted) {
			/* Aim within what is left to apply (plus start-up). */
			long long left = full_ms *
					 (CRASH_MIGRATIONS - applied) /
					 CRASH_MIGRATIONS;
			long long delay = rand() % (left + 60);
			pid_t pid = rt_spawn(p.dir, argv, outp, errp);
			int st;

			rt_sleep_ms(delay);
			kill(pid, SIGKILL);
			st = rt_wait(pid, 60000);
			if (st == 0) {
				late++; /* it finished first: round over */
				break;
			}
			e = th_slurp(errp);
			ck_assert_msg(st == 128 + SIGKILL,
				      "round %d: a killed run exited %d "
				      "before the kill:\n%s",
				      rounds, st, e);
			free(e);
			kills++;
			round_kills++;
			applied = crash_check(p.dsn[0], kills);
		}
		/* Rerun to completion. */
		rc = rt_wait(rt_spawn(p.dir, argv, outp, errp), 120000);
		e = th_slurp(errp);
		ck_assert_msg(rc == 0, "round %d: the rerun exited %d:\n%s",
			      rounds, rc, e);
		free(e);
		crash_final(p.dsn[0]);
	}
	printf("crash: %d kills over %d rounds (%d runs finished before "
	       "their kill), all consistent, in %lld ms; %d kills left a "
	       "migration partly run outside a transaction, %d an unfinished "
	       "concurrent index\n",
	       kills, rounds, late, rt_now_ms() - test_t0, hit_partial,
	       hit_invalid);
	rt_teardown(&p);
}
END_TEST

static Suite *faults_suite(void)
{
	Suite *s = suite_create("it_runner_faults");
	TCase *tc = tcase_create("faults");

	tcase_add_unchecked_fixture(tc, regions_up, regions_down);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, region_down_stops_then_resumes);
	tcase_add_test(tc, eight_runners_apply_each_migration_once);
	tcase_add_test(tc, lock_timeouts_retry_then_fail_or_succeed);
	tcase_add_test(tc, killed_concurrent_build_is_dropped_and_rebuilt);
	tcase_add_test(tc, sigkill_at_random_moments_never_breaks_history);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(faults_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
