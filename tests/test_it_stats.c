/*
 * test_it_stats.c: `phasegate lint --stats DSN` against a real PostgreSQL
 * 15 cluster. The suite fills a big table (200,000 rows), a small one (100
 * rows) and a partitioned one (two partitions, 50,000 rows), runs ANALYZE
 * so the statistics are real, and lints releases that touch them:
 *   - a CREATE INDEX without CONCURRENTLY on the big table stays an error
 *     and states the table's numbers; on the small one it becomes a
 *     warning that says it was downgraded; the exit code follows;
 *   - the JSON numbers match what the database says (rows near the real
 *     count, size and writes exactly pg_total_relation_size and
 *     n_tup_ins + n_tup_upd + n_tup_del, the rate their quotient);
 *   - "stats:" thresholds in the config change the outcome;
 *   - compatibility rules (renaming-column, changing-column-type) are
 *     never downgraded; tables the release creates, or the database does
 *     not have, get no numbers;
 *   - sarif, github, gitlab and gcc carry the numbers; GitLab's
 *     fingerprint does not change with them;
 *   - without --stats the output is byte for byte the same as before, a
 *     "stats:" key in the config notwithstanding;
 *   - an unreachable server, a missing database, an unparsable or empty
 *     DSN exit 3 or 2 and never print the password; ${NAME} works;
 *   - bad "stats:" values are config errors at their line and column.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lint/lint.h"

#include "test_it_runner.h"

static struct pgc_set cluster;
static int cluster_rc = -1, data_rc = -1;

/* The cluster's postgres database, with a password trust auth ignores. */
static char dsn[512];

static void cluster_up(void)
{
	if (!pgc_available())
		return; /* each test fails with PGC_UNAVAILABLE_MSG */
	cluster_rc = pgc_start(&cluster, 1);
	if (cluster_rc != 0)
		return;
	snprintf(dsn, sizeof(dsn),
		 "postgresql://postgres:" RT_PASSWORD "@127.0.0.1:%d/postgres",
		 cluster.c[0].port);
	data_rc = pgc_exec(
		&cluster.c[0],
		"CREATE TABLE big (id bigint PRIMARY KEY, v int, note text);"
		"INSERT INTO big SELECT g, g % 1000, 'row ' || g "
		"FROM generate_series(1, 200000) g;"
		"CREATE TABLE small (id bigint PRIMARY KEY, v int);"
		"INSERT INTO small SELECT g, g FROM generate_series(1, 100) g;"
		"CREATE TABLE parted (id bigint, v int) PARTITION BY RANGE "
		"(id);"
		"CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) "
		"TO (25001);"
		"CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM "
		"(25001) TO (100000);"
		"INSERT INTO parted SELECT g, g FROM generate_series(1, 50000) "
		"g;"
		"ANALYZE big; ANALYZE small; ANALYZE parted;");
}

static void cluster_down(void)
{
	pgc_stop_all(&cluster);
}

static void require_cluster(void)
{
	ck_assert_msg(pgc_available(), PGC_UNAVAILABLE_MSG);
	ck_assert_msg(cluster_rc == 0, "pgc_start failed (see stderr)");
	ck_assert_msg(data_rc == 0, "cannot fill the tables (see stderr)");
}

/* A project folder with one migration (and a config when cfg is set). */
static char *project(const char *sql, const char *cfg)
{
	char *dir = th_tmpdir();

	rt_mig(dir, "0001_release", sql);
	if (cfg)
		th_write_str(dir, "phasegate.yaml", cfg);
	return dir;
}

/* lint in dir with up to five more arguments (NULL-terminated). */
static int lint(const char *dir, char **out, char **err, const char *a1,
		const char *a2, const char *a3, const char *a4, const char *a5)
{
	return rt_run(dir, out, err, "lint", a1, a2, a3, a4, a5, NULL);
}

static cJSON *parse_json(const char *text)
{
	cJSON *j = cJSON_Parse(text ? text : "");

	ck_assert_msg(j != NULL, "not JSON: %s", text ? text : "(null)");
	return j;
}

static cJSON *finding(cJSON *report, int i)
{
	cJSON *f =
		cJSON_GetArrayItem(cJSON_GetObjectItem(report, "findings"), i);

	ck_assert_msg(f != NULL, "no finding %d", i);
	return f;
}

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(obj, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(obj, key);

	ck_assert_msg(cJSON_IsNumber(v), "'%s' is not a number", key);
	return v->valuedouble;
}

static bool flag(const cJSON *obj, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItem(obj, key));
}

static long long db_num(const char *sql)
{
	return rt_num(cluster.c[0].dsn, sql);
}

static const char two_indexes[] = "CREATE INDEX big_v ON big (v);\n"
				  "CREATE INDEX small_v ON small (v);\n";

START_TEST(test_json_numbers)
{
	char *dir, *out = NULL, *err = NULL;
	cJSON *j, *big, *small, *bs, *ss, *sum;
	long long big_bytes, small_bytes, big_writes;
	double window;
	int rc;

	require_cluster();
	dir = project(two_indexes, NULL);
	rc = lint(dir, &out, &err, "--stats", dsn, "--format", "json",
		  "migrations");
	ck_assert_msg(rc == 1, "exit %d, stderr: %s", rc, err);
	j = parse_json(out);
	big = finding(j, 0);
	small = finding(j, 1);
	ck_assert_str_eq(str(big, "rule"), "require-concurrent-index-creation");
	ck_assert_str_eq(str(big, "severity"), "error");
	ck_assert(!flag(big, "downgraded"));
	bs = cJSON_GetObjectItem(big, "stats");
	ck_assert_msg(cJSON_IsObject(bs), "no stats on the big table: %s", out);
	ck_assert_str_eq(str(bs, "table"), "public.big");
	/* reltuples after ANALYZE: near the 200,000 rows written. */
	ck_assert_msg(fabs(num(bs, "rows") - 200000) <= 10000, "rows %.0f",
		      num(bs, "rows"));
	big_bytes = db_num("SELECT pg_total_relation_size('big')");
	ck_assert_int_eq((long long)num(bs, "bytes"), big_bytes);
	ck_assert_int_gt(big_bytes, 1024 * 1024);
	big_writes = db_num("SELECT n_tup_ins + n_tup_upd + n_tup_del FROM "
			    "pg_stat_user_tables WHERE relname = 'big'");
	ck_assert_int_ge(big_writes, 200000);
	ck_assert_int_eq((long long)num(bs, "writes"), big_writes);
	window = num(bs, "window_seconds");
	ck_assert_msg(window > 0 &&
			      window <= db_num("SELECT extract(epoch FROM "
					       "now() - "
					       "pg_postmaster_start_time())") +
						2,
		      "window %.3f", window);
	ck_assert_msg(
		fabs(num(bs, "writes_per_second") - big_writes / window) <=
			0.01 * (big_writes / window) + 0.01,
		"rate %.3f, writes %lld over %.3f s",
		num(bs, "writes_per_second"), big_writes, window);

	ck_assert_str_eq(str(small, "severity"), "warning");
	ck_assert(flag(small, "downgraded"));
	ss = cJSON_GetObjectItem(small, "stats");
	ck_assert_msg(cJSON_IsObject(ss), "no stats on the small table");
	ck_assert_str_eq(str(ss, "table"), "public.small");
	ck_assert_msg(fabs(num(ss, "rows") - 100) <= 5, "rows %.0f",
		      num(ss, "rows"));
	small_bytes = db_num("SELECT pg_total_relation_size('small')");
	ck_assert_int_eq((long long)num(ss, "bytes"), small_bytes);

	sum = cJSON_GetObjectItem(j, "summary");
	ck_assert_int_eq((int)num(sum, "errors"), 1);
	ck_assert_int_eq((int)num(sum, "warnings"), 1);
	ck_assert_str_eq(str(sum, "verdict"), "refused");
	cJSON_Delete(j);
	free(out);
	free(err);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_text_and_exit_codes)
{
	char *dir, *out = NULL, *err = NULL;
	int rc;

	require_cluster();
	dir = project(two_indexes, NULL);
	rc = lint(dir, &out, &err, "--stats", dsn, "migrations", NULL, NULL);
	ck_assert_msg(rc == 1, "exit %d, stderr: %s", rc, err);
	ck_assert_msg(rt_has(out, "1:1: error[require-concurrent-index-"
				  "creation]: creating index 'public.big_v'"),
		      "%s", out);
	ck_assert_msg(rt_has(out, "  note: table 'public.big': ~"), "%s", out);
	ck_assert_msg(rt_has(out, "2:1: warning[require-concurrent-index-"
				  "creation]: creating index 'public.small_v'"),
		      "%s", out);
	ck_assert_msg(rt_has(out, "rows, 8 kB, ") ||
			      rt_has(out, "rows, 16 kB, ") ||
			      rt_has(out, "rows, 24 kB, ") ||
			      rt_has(out, "rows, 32 kB, ") ||
			      rt_has(out, "rows, 40 kB, "),
		      "small table's size: %s", out);
	ck_assert_msg(rt_has(out, "; downgraded from error: the table is "
				  "under the stats thresholds\n"),
		      "%s", out);
	ck_assert_msg(rt_has(out, "1 error, 1 warning, 0 suppressed: refused"),
		      "%s", out);
	free(out);
	free(err);
	th_rmtree(dir);
	free(dir);

	/* The small table alone: a warning, so the release passes. */
	dir = project("CREATE INDEX small_v ON small (v);\n", NULL);
	out = err = NULL;
	rc = lint(dir, &out, &err, "--stats", dsn, "migrations", NULL, NULL);
	ck_assert_msg(rc == 0, "exit %d: %s%s", rc, out, err);
	ck_assert_msg(rt_has(out, "0 errors, 1 warning, 0 suppressed: ok"),
		      "%s", out);
	free(out);
	free(err);
	/* Without --stats the same release is refused. */
	out = err = NULL;
	rc = lint(dir, &out, &err, "migrations", NULL, NULL, NULL, NULL);
	ck_assert_int_eq(rc, 1);
	free(out);
	free(err);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* Lints two_indexes with cfg; returns the exit code, *errors the count. */
static int lint_with_config(const char *cfg, int *errors, int *downgraded)
{
	char *dir = project(two_indexes, cfg), *out = NULL, *err = NULL;
	int rc = lint(dir, &out, &err, "--stats", dsn, "--format", "json",
		      "migrations");
	cJSON *j = parse_json(out), *it;

	*errors = (int)num(cJSON_GetObjectItem(j, "summary"), "errors");
	*downgraded = 0;
	cJSON_ArrayForEach(it,
			   cJSON_GetObjectItem(j, "findings")) *downgraded +=
		flag(it, "downgraded");
	cJSON_Delete(j);
	free(out);
	free(err);
	th_rmtree(dir);
	free(dir);
	return rc;
}

START_TEST(test_config_thresholds)
{
	int errors, downgraded, rc;

	require_cluster();
	/* Raised: the big table counts as small too. */
	rc = lint_with_config("stats:\n"
			      "  small_table_rows: 1000000\n"
			      "  small_table_size: 1GB\n",
			      &errors, &downgraded);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(errors, 0);
	ck_assert_int_eq(downgraded, 2);
	/* Fewer rows than the small table has: nothing is small. */
	rc = lint_with_config("stats:\n  small_table_rows: 50\n", &errors,
			      &downgraded);
	ck_assert_int_eq(rc, 1);
	ck_assert_int_eq(errors, 2);
	ck_assert_int_eq(downgraded, 0);
	/* A size of 0 turns the downgrade off. */
	rc = lint_with_config("stats:\n  small_table_size: 0\n", &errors,
			      &downgraded);
	ck_assert_int_eq(rc, 1);
	ck_assert_int_eq(errors, 2);
	ck_assert_int_eq(downgraded, 0);
	/* The size threshold alone: 4kB is less than the small table. */
	rc = lint_with_config("stats:\n  small_table_size: 4096\n", &errors,
			      &downgraded);
	ck_assert_int_eq(errors, 2);
	ck_assert_int_eq(downgraded, 0);
	/* An empty "stats:" keeps the defaults. */
	rc = lint_with_config("stats:\n", &errors, &downgraded);
	ck_assert_int_eq(rc, 1);
	ck_assert_int_eq(errors, 1);
	ck_assert_int_eq(downgraded, 1);
}
END_TEST

START_TEST(test_gate_rules_never_downgraded)
{
	char *dir, *out = NULL, *err = NULL;
	cJSON *j, *it;
	int rc, seen = 0;

	require_cluster();
	dir = project("ALTER TABLE small RENAME COLUMN v TO w;\n", NULL);
	rt_mig(dir, "0002_type",
	       "ALTER TABLE small ALTER COLUMN id TYPE numeric;\n");
	rc = lint(dir, &out, &err, "--stats", dsn, "--format", "json",
		  "migrations");
	ck_assert_msg(rc == 1, "exit %d: %s", rc, err);
	j = parse_json(out);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "findings"))
	{
		const char *rule = str(it, "rule");

		if (strcmp(rule, "renaming-column") != 0 &&
		    strcmp(rule, "changing-column-type") != 0)
			continue;
		seen++;
		ck_assert_msg(!strcmp(str(it, "severity"), "error"),
			      "%s was lowered", rule);
		ck_assert(!flag(it, "downgraded"));
		ck_assert_str_eq(str(cJSON_GetObjectItem(it, "stats"), "table"),
				 "public.small");
	}
	ck_assert_msg(seen == 2, "expected both rules: %s", out);
	cJSON_Delete(j);
	free(out);
	free(err);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* The "stats:" defaults docs/config.md promises. */
START_TEST(test_defaults)
{
	struct phg_config cfg;
	struct phg_err err = {0};
	struct phg_table_stats t = {.rows = 9999, .bytes = 10485759};

	ck_assert_int_eq(phg_config_defaults(&cfg, &err), 0);
	ck_assert_int_eq(cfg.stats.small_table_rows, 10000);
	ck_assert_int_eq(cfg.stats.small_table_bytes, 10 * 1024 * 1024);
	ck_assert(phg_lint_stats_small(&t, &cfg.stats));
	t.rows = 10000;
	ck_assert(!phg_lint_stats_small(&t, &cfg.stats));
	t.rows = 0;
	t.bytes = 10485760;
	ck_assert(!phg_lint_stats_small(&t, &cfg.stats));
	phg_config_release(&cfg);
}
END_TEST

/* The registry: only statement rules whose hazard grows with the table. */
START_TEST(test_registry_flags)
{
	static const char *const never[] = {
		"contract-with-expand",	 "backfill-with-expand",
		"mixed-phase-migration", "renaming-column",
		"renaming-table",	 "renaming-enum-value",
		"changing-column-type",	 "adding-required-field",
		"ban-drop-column",	 "ban-drop-table"};
	size_t flagged = 0;

	for (size_t i = 0; phg_analyzers[i]; i++) {
		const struct phg_analyzer *a = phg_analyzers[i];

		if (!a->scales_with_table)
			continue;
		flagged++;
		ck_assert_msg(a->stage == PHG_STAGE_STATEMENT,
			      "%s: a release rule cannot scale", a->id);
		for (size_t k = 0; k < sizeof(never) / sizeof(*never); k++)
			ck_assert_msg(strcmp(a->id, never[k]) != 0,
				      "%s must never be downgraded", a->id);
	}
	ck_assert(phg_analyzer_find("require-concurrent-index-creation")
			  ->scales_with_table);
	ck_assert(phg_analyzer_find("adding-volatile-default")
			  ->scales_with_table);
	ck_assert(phg_analyzer_find("setting-not-null")->scales_with_table);
	ck_assert_int_ge(flagged, 10);
}
END_TEST

START_TEST(test_new_and_unknown_tables)
{
	char *dir, *out = NULL, *err = NULL;
	cJSON *j, *it;
	int rc, n = 0;

	require_cluster();
	/* fresh is created by the release; ghost exists in production
	   as far as lint knows, but not in this database. */
	dir = project("CREATE TABLE fresh (id int);\n"
		      "CREATE INDEX fresh_id ON fresh (id);\n"
		      "CREATE INDEX ghost_x ON ghost (x);\n",
		      NULL);
	rc = lint(dir, &out, &err, "--stats", dsn, "--format", "json",
		  "migrations");
	ck_assert_msg(rc == 1, "exit %d: %s", rc, err);
	j = parse_json(out);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "findings"))
	{
		n++;
		ck_assert_msg(cJSON_IsNull(cJSON_GetObjectItem(it, "stats")),
			      "%s has stats", str(it, "rule"));
		ck_assert(!flag(it, "downgraded"));
		if (!strcmp(str(it, "rule"),
			    "require-concurrent-index-creation"))
			ck_assert_str_eq(str(it, "severity"), "error");
	}
	ck_assert_int_ge(n, 2);
	cJSON_Delete(j);
	free(out);
	free(err);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_partitioned_table)
{
	char *dir, *out = NULL, *err = NULL;
	cJSON *j, *st;
	int rc;

	require_cluster();
	dir = project("CREATE INDEX parted_v ON parted (v);\n", NULL);
	rc = lint(dir, &out, &err, "--stats", dsn, "--format", "json",
		  "migrations");
	ck_assert_msg(rc == 1, "exit %d: %s", rc, err);
	j = parse_json(out);
	st = cJSON_GetObjectItem(finding(j, 0), "stats");
	ck_assert_msg(cJSON_IsObject(st), "%s", out);
	ck_assert_msg(fabs(num(st, "rows") - 50000) <= 2500, "rows %.0f",
		      num(st, "rows"));
	ck_assert_int_eq((long long)num(st, "bytes"),
			 db_num("SELECT pg_total_relation_size('parted_1') + "
				"pg_total_relation_size('parted_2')"));
	cJSON_Delete(j);
	free(out);
	free(err);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_other_formats)
{
	char *dir, *out = NULL, *err = NULL, *plain = NULL;
	cJSON *j, *results, *big, *small, *plain_j;
	int rc;

	require_cluster();
	dir = project(two_indexes, NULL);

	rc = lint(dir, &out, &err, "--stats", dsn, "--format", "sarif",
		  "migrations");
	ck_assert_int_eq(rc, 1);
	j = parse_json(out);
	results = cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(j, "runs"), 0),
		"results");
	big = cJSON_GetArrayItem(results, 0);
	small = cJSON_GetArrayItem(results, 1);
	ck_assert_str_eq(str(big, "level"), "error");
	ck_assert_str_eq(str(small, "level"), "warning");
	ck_assert(flag(cJSON_GetObjectItem(small, "properties"), "downgraded"));
	ck_assert_str_eq(
		str(cJSON_GetObjectItem(cJSON_GetObjectItem(big, "properties"),
					"stats"),
		    "table"),
		"public.big");
	ck_assert_msg(rt_has(str(cJSON_GetObjectItem(small, "message"), "text"),
			     "\n\nnote: table 'public.small': ~"),
		      "%s", out);
	cJSON_Delete(j);
	free(out);
	free(err);

	out = err = NULL;
	rc = lint(dir, &out, &err, "--stats", dsn, "--format", "github",
		  "migrations");
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(rt_has(out, "::error file=migrations/0001_release.sql,"
				  "line=1,col=1,title=require-concurrent-index-"
				  "creation::creating index 'public.big_v'"),
		      "%s", out);
	ck_assert_msg(rt_has(out, "::warning file=migrations/0001_release.sql,"
				  "line=2,col=1"),
		      "%s", out);
	ck_assert_msg(rt_has(out, "%0A%0Anote: table 'public.small': ~"), "%s",
		      out);
	free(out);
	free(err);

	out = err = NULL;
	rc = lint(dir, &out, &err, "--stats", dsn, "--format", "gcc",
		  "migrations");
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(rt_has(out, ":2:1: warning: creating index "
				  "'public.small_v'"),
		      "%s", out);
	ck_assert_msg(rt_has(out, "under the stats thresholds) "
				  "[require-concurrent-index-creation]\n"),
		      "%s", out);
	free(out);
	free(err);

	/* GitLab: the numbers are in the description, not the fingerprint,
	   which stays what it is without --stats. */
	out = err = NULL;
	rc = lint(dir, &out, &err, "--stats", dsn, "--format", "gitlab",
		  "migrations");
	ck_assert_int_eq(rc, 1);
	rc = lint(dir, &plain, NULL, "--format", "gitlab", "migrations", NULL,
		  NULL);
	ck_assert_int_eq(rc, 1);
	j = parse_json(out);
	plain_j = parse_json(plain);
	ck_assert_str_eq(str(cJSON_GetArrayItem(j, 0), "fingerprint"),
			 str(cJSON_GetArrayItem(plain_j, 0), "fingerprint"));
	ck_assert_str_eq(str(cJSON_GetArrayItem(j, 1), "fingerprint"),
			 str(cJSON_GetArrayItem(plain_j, 1), "fingerprint"));
	ck_assert_str_eq(str(cJSON_GetArrayItem(j, 0), "severity"), "major");
	ck_assert_str_eq(str(cJSON_GetArrayItem(j, 1), "severity"), "minor");
	ck_assert_str_eq(str(cJSON_GetArrayItem(plain_j, 1), "severity"),
			 "major");
	ck_assert_msg(rt_has(str(cJSON_GetArrayItem(j, 1), "description"),
			     "(table 'public.small': ~"),
		      "%s", out);
	cJSON_Delete(j);
	cJSON_Delete(plain_j);
	free(out);
	free(err);
	free(plain);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* Without --stats nothing changes, whatever "stats:" says. */
START_TEST(test_without_stats_unchanged)
{
	static const char *const formats[] = {"text",	"json",	  "sarif",
					      "github", "gitlab", "gcc"};
	char *a_dir = project(two_indexes, "migrations: migrations\n");
	char *b_dir = project(two_indexes, "migrations: migrations\n"
					   "stats:\n"
					   "  small_table_rows: 1000000\n"
					   "  small_table_size: 1GB\n");

	for (size_t i = 0; i < sizeof(formats) / sizeof(*formats); i++) {
		char *a = NULL, *b = NULL;
		int ra = lint(a_dir, &a, NULL, "--format", formats[i], NULL,
			      NULL, NULL);
		int rb = lint(b_dir, &b, NULL, "--format", formats[i], NULL,
			      NULL, NULL);

		ck_assert_int_eq(ra, 1);
		ck_assert_int_eq(rb, 1);
		ck_assert_msg(a && b && !strcmp(a, b), "%s differs",
			      formats[i]);
		ck_assert_msg(!rt_has(a, "downgraded") && !rt_has(a, "note:") &&
				      !rt_has(a, "\"stats\""),
			      "%s: %s", formats[i], a);
		free(a);
		free(b);
	}
	th_rmtree(a_dir);
	th_rmtree(b_dir);
	free(a_dir);
	free(b_dir);
}
END_TEST

/* A loopback port nothing listens on: bound, then closed. */
static int closed_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Runs lint --stats bad and checks the exit code and stderr. */
static void expect_failure(const char *bad, int code, const char *says)
{
	char *dir = project(two_indexes, NULL), *out = NULL, *err = NULL;
	long long t0 = rt_now_ms();
	int rc =
		lint(dir, &out, &err, "--stats", bad, "migrations", NULL, NULL);

	ck_assert_msg(rc == code, "exit %d (want %d) for a DSN; stderr: %s", rc,
		      code, err);
	ck_assert_msg(rt_has(err, says), "stderr lacks '%s': %s", says, err);
	ck_assert_msg(!rt_has(err, RT_PASSWORD) && !rt_has(out, RT_PASSWORD),
		      "the password was printed: %s", err);
	ck_assert_msg(!out || !*out, "a report was printed: %s", out);
	ck_assert_msg(rt_now_ms() - t0 < 30000, "took %lld ms",
		      rt_now_ms() - t0);
	free(out);
	free(err);
	th_rmtree(dir);
	free(dir);
}

START_TEST(test_unreachable_and_bad_dsn)
{
	char bad[512], port[32];
	int p = closed_port();

	require_cluster();
	snprintf(port, sizeof(port), "port %d", p);
	snprintf(bad, sizeof(bad),
		 "postgresql://postgres:" RT_PASSWORD "@127.0.0.1:%d/postgres",
		 p);
	expect_failure(bad, 3, "stats database: cannot connect");
	expect_failure(bad, 3, port);
	expect_failure(bad, 3, "127.0.0.1");

	snprintf(bad, sizeof(bad),
		 "postgresql://postgres:" RT_PASSWORD
		 "@127.0.0.1:%d/no_such_db",
		 cluster.c[0].port);
	expect_failure(bad, 3, "no_such_db");

	snprintf(bad, sizeof(bad),
		 "postgresql://postgres:" RT_PASSWORD
		 "@127.0.0.1:%d/postgres?bogus=1",
		 cluster.c[0].port);
	expect_failure(bad, 2, "cannot parse the connection string");
	expect_failure("host=127.0.0.1 " RT_PASSWORD, 2,
		       "cannot parse the connection string");
	expect_failure("", 2, "--stats needs a connection string");
	unsetenv("PHG_TEST_STATS_UNSET");
	expect_failure("${PHG_TEST_STATS_UNSET}", 2,
		       "environment variable 'PHG_TEST_STATS_UNSET' is not "
		       "set");
}
END_TEST

/* ${NAME} keeps the password out of argv (and ps). */
START_TEST(test_env_reference)
{
	char *dir, *out = NULL, *err = NULL;
	int rc;

	require_cluster();
	setenv("PHG_TEST_STATS_DSN", dsn, 1);
	dir = project(two_indexes, NULL);
	rc = lint(dir, &out, &err, "--stats", "${PHG_TEST_STATS_DSN}",
		  "migrations", NULL, NULL);
	ck_assert_msg(rc == 1, "exit %d: %s", rc, err);
	ck_assert_msg(rt_has(out, "downgraded from error"), "%s", out);
	free(out);
	free(err);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* Lints with cfg as the config; expects exit 2 and says in stderr. */
static void expect_config_error(const char *cfg, const char *says)
{
	char *dir = project(two_indexes, cfg), *err = NULL;
	int rc = lint(dir, NULL, &err, "migrations", NULL, NULL, NULL, NULL);

	ck_assert_msg(rc == 2, "exit %d for %s", rc, cfg);
	ck_assert_msg(rt_has(err, says), "stderr lacks '%s': %s", says, err);
	free(err);
	th_rmtree(dir);
	free(dir);
}

START_TEST(test_config_errors)
{
	expect_config_error("stats:\n  small_table_size: 10 MB\n",
			    "phasegate.yaml:2:21: 'small_table_size' must be "
			    "a size such as 10MB, 512kB or 1GB (or whole "
			    "bytes), not '10 MB'");
	expect_config_error("stats:\n  small_table_size: 10mb\n",
			    "phasegate.yaml:2:21: 'small_table_size' must be "
			    "a size");
	expect_config_error("stats:\n  small_table_size: 2048TB\n",
			    "phasegate.yaml:2:21: 'small_table_size' must be "
			    "at most 1024TB, not '2048TB'");
	expect_config_error("stats:\n  small_table_rows: -1\n",
			    "phasegate.yaml:2:21: 'small_table_rows' must be "
			    "an integer between 0 and 2147483647, not '-1'");
	expect_config_error("stats:\n  small_tabel_rows: 5\n",
			    "phasegate.yaml:2:3: unknown key "
			    "'small_tabel_rows' in 'stats': it takes "
			    "'small_table_rows' and 'small_table_size'");
	expect_config_error("stats: 5\n", "phasegate.yaml:1:8: 'stats' must be "
					  "a mapping");
	expect_config_error("stats:\n  small_table_rows: 5\n"
			    "  small_table_rows: 6\n",
			    "phasegate.yaml:3:3: duplicate key "
			    "'small_table_rows' (first at line 2)");
}
END_TEST

static Suite *stats_suite(void)
{
	Suite *s = suite_create("it_stats");
	TCase *tc = tcase_create("stats");

	tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_json_numbers);
	tcase_add_test(tc, test_text_and_exit_codes);
	tcase_add_test(tc, test_config_thresholds);
	tcase_add_test(tc, test_gate_rules_never_downgraded);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_registry_flags);
	tcase_add_test(tc, test_new_and_unknown_tables);
	tcase_add_test(tc, test_partitioned_table);
	tcase_add_test(tc, test_other_formats);
	tcase_add_test(tc, test_without_stats_unchanged);
	tcase_add_test(tc, test_unreachable_and_bad_dsn);
	tcase_add_test(tc, test_env_reference);
	tcase_add_test(tc, test_config_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(stats_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
