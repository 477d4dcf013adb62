/*
 * test_it_runner.c: integration tests of `phasegate migrate`, `plan` and
 * `status` against three real PostgreSQL 15 clusters, one per region
 * (us-east-1 primary, eu-west-1, ap-southeast-1). Each test writes its own
 * project (config + numbered migrations) and gets fresh databases, so the
 * tests share the clusters but nothing else. Covered: applying everything
 * primary first, a second run that applies nothing, status counts, plan and
 * dry run touching nothing, --phase and --to, the region flag, checksum
 * drift, a missing file, a syntax error, the gate and --no-gate, the soak
 * countdown, a replica that never shows the migrations, and DSN passwords
 * kept out of every output and of the history.
 */
#include <cjson/cJSON.h>

#include "util/util.h"

#include "test_it_runner.h"

static struct pgc_set regions;
static int regions_rc = -1;

static void regions_up(void)
{
	long long t0 = rt_now_ms();

	if (!pgc_available())
		return; /* each test fails with PGC_UNAVAILABLE_MSG */
	regions_rc = pgc_start(&regions, 3);
	if (regions_rc == 0)
		printf("test_it_runner: 3 clusters up in %lld ms\n",
		       rt_now_ms() - t0);
	fflush(stdout);
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

/* Microseconds since the epoch of an aggregate over the history. */
static long long history_us(const char *dsn, const char *agg)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT (extract(epoch FROM %s) * 1000000)::bigint FROM "
		 "phasegate.history",
		 agg);
	return rt_num(dsn, sql);
}

static bool applied(const char *dsn, const char *name)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM phasegate.history WHERE name = '%s' "
		 "AND state = 'applied'",
		 name);
	return rt_has_history(dsn) && rt_num(dsn, sql) == 1;
}

/* The "applied" count of region name in `status --format json`. */
static long long json_count(const cJSON *root, const char *region,
			    const char *key)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, cJSON_GetObjectItem(root, "regions"))
	{
		const cJSON *n = cJSON_GetObjectItem(r, "name");

		if (cJSON_IsString(n) && strcmp(n->valuestring, region) == 0) {
			const cJSON *v = cJSON_GetObjectItem(r, key);

			return cJSON_IsNumber(v) ? (long long)v->valuedouble
						 : -1;
		}
	}
	return -1;
}

START_TEST(applies_every_region_primary_first_then_nothing)
{
	struct rt_proj p;
	char *out, *err;
	const char *a, *b, *c;
	cJSON *root;
	int rc;

	require_regions();
	rt_setup(&p, &regions, 3, false);
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    NULL);
	ck_assert_msg(rc == 0, "exit %d\nstdout:\n%s\nstderr:\n%s", rc, out,
		      err);
	/* Progress order: the primary, then the others as written. */
	a = strstr(out, "== region us-east-1");
	b = strstr(out, "== region eu-west-1");
	c = strstr(out, "== region ap-southeast-1");
	ck_assert_msg(a && b && c && a < b && b < c, "order:\n%s", out);
	ck_assert_msg(rt_has(out, "15 migrations applied"), "%s", out);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(rt_applied(p.dsn[i]), 5);
		ck_assert_int_eq(rt_num(p.dsn[i],
					"SELECT count(*) FROM pg_index WHERE "
					"indexrelid::regclass::text IN "
					"('accounts_email_idx', "
					"'accounts_name_idx') AND indisvalid"),
				 2);
		ck_assert_int_eq(
			rt_num(p.dsn[i],
			       "SELECT count(*) FROM "
			       "information_schema.columns "
			       "WHERE table_name = 'accounts' AND column_name "
			       "= 'legacy'"),
			0);
	}
	/* The history's times agree: each region finished before the next
	   one started. */
	for (int i = 0; i + 1 < 3; i++) {
		long long fin = history_us(p.dsn[i], "max(finished_at)");
		long long start = history_us(p.dsn[i + 1], "min(started_at)");

		ck_assert_msg(fin > 0 && start > 0 && fin <= start,
			      "%s finished at %lld, %s started at %lld",
			      rt_region_names[i], fin, rt_region_names[i + 1],
			      start);
	}
	/* Recorded: how each ran, its phase, who applied it. */
	ck_assert_int_eq(rt_num(p.dsn[0], "SELECT count(*) FROM "
					  "phasegate.history WHERE NOT "
					  "transactional"),
			 1);
	ck_assert_int_eq(
		rt_num(p.dsn[0],
		       "SELECT count(*) FROM phasegate.history WHERE "
		       "finished_at >= started_at AND duration_ms >= 0 "
		       "AND applied_by <> '' AND applied_host <> '' AND "
		       "phasegate_version <> '' AND NOT no_gate AND "
		       "statements_done > 0"),
		5);
	{
		char *ph = rt_value(p.dsn[1],
				    "SELECT string_agg(phase, ',' ORDER BY "
				    "name) FROM phasegate.history");

		ck_assert_ptr_nonnull(ph);
		ck_assert_str_eq(ph, "expand,expand,expand,backfill,contract");
		free(ph);
	}
	free(out);
	free(err);

	/* A second run applies nothing. */
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(out, "0 migrations applied"), "%s", out);
	ck_assert_msg(!rt_has(out, "  applied  "), "%s", out);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(rt_num(p.dsn[i], "SELECT count(*) FROM "
						  "phasegate.history"),
				 5);
	free(out);
	free(err);

	/* status --format json: counts per region. */
	rt_mig(p.dir, "0006_add_phone",
	       "ALTER TABLE accounts ADD COLUMN "
	       "phone text;\n");
	rc = rt_run(p.dir, &out, &err, "status", "--format", "json", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	root = cJSON_Parse(out);
	ck_assert_msg(root != NULL, "not JSON:\n%s", out);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(
			json_count(root, rt_region_names[i], "applied"), 5);
		ck_assert_int_eq(
			json_count(root, rt_region_names[i], "pending"), 1);
		ck_assert_int_eq(json_count(root, rt_region_names[i], "failed"),
				 0);
		ck_assert_int_eq(json_count(root, rt_region_names[i], "drift"),
				 0);
	}
	cJSON_Delete(root);
	free(out);
	free(err);
	rt_teardown(&p);
}
END_TEST

START_TEST(plan_and_dry_run_touch_nothing)
{
	struct rt_proj p;
	char *out, *err;
	int rc;

	require_regions();
	rt_setup(&p, &regions, 3, false);
	rc = rt_run(p.dir, &out, &err, "plan", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	for (int i = 0; i < 3; i++) {
		char head[64];

		snprintf(head, sizeof(head), "== region %s",
			 rt_region_names[i]);
		ck_assert_msg(rt_has(out, head), "%s", out);
	}
	ck_assert_msg(rt_has(out, "0003_index_email"), "%s", out);
	ck_assert_msg(rt_has(out, "statement by statement"), "%s", out);
	ck_assert_msg(rt_has(out, "one transaction"), "%s", out);
	free(out);
	free(err);

	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--dry-run",
		    NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	/* Each region lists all five, with phase and session settings. */
	{
		const char *s = out;
		int n = 0;

		while ((s = strstr(s, "would apply")) != NULL) {
			n++;
			s++;
		}
		ck_assert_msg(n == 15, "%d lines:\n%s", n, out);
	}
	ck_assert_msg(rt_has(out, "contract"), "%s", out);
	ck_assert_msg(rt_has(out, "lock_timeout=5000ms"), "%s", out);
	ck_assert_msg(!rt_has(out, "migrations applied"), "%s", out);
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(!rt_has_history(p.dsn[i]),
			      "dry run created a history in %s",
			      rt_region_names[i]);
		ck_assert_int_eq(rt_num(p.dsn[i], "SELECT count(*) FROM "
						  "pg_tables WHERE tablename = "
						  "'accounts'"),
				 0);
	}
	free(out);
	free(err);
	rt_teardown(&p);
}
END_TEST

START_TEST(phase_filter_and_to)
{
	struct rt_proj p;
	char *out, *err;
	char *names;
	int rc;

	require_regions();
	rt_setup(&p, &regions, 3, false);
	rc = rt_run(p.dir, &out, &err, "migrate", "--region", "us-east-1",
		    "--phase", "expand", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	names = rt_value(p.dsn[0], "SELECT string_agg(name, ',' ORDER BY "
				   "name) FROM phasegate.history WHERE state "
				   "= 'applied'");
	ck_assert_ptr_nonnull(names);
	ck_assert_str_eq(names,
			 "0001_create_accounts,0002_add_name,0003_index_email");
	free(names);
	ck_assert(!rt_has_history(p.dsn[1]));
	free(out);
	free(err);

	/* Then the backfill alone, then the rest. */
	rc = rt_run(p.dir, &out, &err, "migrate", "--region", "us-east-1",
		    "--phase", "backfill", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert(applied(p.dsn[0], "0004_backfill_name"));
	ck_assert(!applied(p.dsn[0], "0005_drop_legacy"));
	free(out);
	free(err);

	/* --to stops at 0002 in every region. */
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    "--to", "0002", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	for (int i = 1; i < 3; i++) {
		ck_assert_int_eq(rt_applied(p.dsn[i]), 2);
		ck_assert(applied(p.dsn[i], "0002_add_name"));
	}
	ck_assert_int_eq(rt_applied(p.dsn[0]), 4);
	free(out);
	free(err);

	/* An unknown --to is a usage error. */
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--to",
		    "0099", NULL);
	ck_assert_msg(rc == 2 && rt_has(err, "0099"), "exit %d\n%s", rc, err);
	free(out);
	free(err);
	rt_teardown(&p);
}
END_TEST

START_TEST(several_regions_need_a_region_flag)
{
	struct rt_proj p;
	char *out, *err;
	int rc;

	require_regions();
	rt_setup(&p, &regions, 3, false);
	rc = rt_run(p.dir, &out, &err, "migrate", NULL);
	ck_assert_msg(rc == 2, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(err, "--all-regions") && rt_has(err, "--region"),
		      "%s", err);
	for (int i = 0; i < 3; i++)
		ck_assert(!rt_has_history(p.dsn[i]));
	free(out);
	free(err);
	rc = rt_run(p.dir, &out, &err, "migrate", "--region", "mars-1", NULL);
	ck_assert_msg(rc == 2 && rt_has(err, "mars-1"), "exit %d\n%s", rc, err);
	free(out);
	free(err);
	rt_teardown(&p);
}
END_TEST

START_TEST(drift_refuses_naming_both_checksums)
{
	struct rt_proj p;
	char *out, *err, *old;
	char *text;
	char path[512], now[65];
	int rc;

	require_regions();
	rt_setup(&p, &regions, 3, false);
	rc = rt_run(p.dir, &out, &err, "migrate", "--region", "us-east-1",
		    NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	free(out);
	free(err);
	old = rt_value(p.dsn[0], "SELECT checksum FROM phasegate.history "
				 "WHERE name = '0002_add_name'");
	ck_assert_ptr_nonnull(old);
	rt_mig(p.dir, "0002_add_name",
	       "ALTER TABLE accounts ADD COLUMN name varchar(100);\n");
	rt_mig(p.dir, "0006_add_phone",
	       "ALTER TABLE accounts ADD COLUMN phone text;\n");
	snprintf(path, sizeof(path), "%s/migrations/0002_add_name.sql", p.dir);
	text = th_slurp(path);
	phg_sha256_hex(text, strlen(text), now);
	free(text);

	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    NULL);
	ck_assert_msg(rc == 1, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(err, "drift") && rt_has(err, "0002_add_name") &&
			      rt_has(err, old) && rt_has(err, now),
		      "%s", err);
	ck_assert(!applied(p.dsn[0], "0006_add_phone"));
	for (int i = 1; i < 3; i++)
		ck_assert_int_eq(rt_applied(p.dsn[i]), 0);
	free(out);
	free(err);

	/* status shows it too, exit 1. */
	rc = rt_run(p.dir, &out, &err, "status", "--region", "us-east-1", NULL);
	ck_assert_msg(rc == 1 && rt_has(out, "1 drift"), "exit %d\n%s%s", rc,
		      out, err);
	free(out);
	free(err);
	free(old);
	rt_teardown(&p);
}
END_TEST

START_TEST(missing_applied_file_refuses)
{
	struct rt_proj p;
	char *out, *err;
	char path[512];
	int rc;

	require_regions();
	rt_setup(&p, &regions, 3, false);
	rc = rt_run(p.dir, &out, &err, "migrate", "--region", "us-east-1",
		    "--to", "0003", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	free(out);
	free(err);
	snprintf(path, sizeof(path), "%s/migrations/0002_add_name.sql", p.dir);
	ck_assert_int_eq(unlink(path), 0);
	rc = rt_run(p.dir, &out, &err, "migrate", "--region", "us-east-1",
		    NULL);
	ck_assert_msg(rc == 1, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(err, "0002_add_name") && rt_has(err, "missing"),
		      "%s", err);
	ck_assert_int_eq(rt_applied(p.dsn[0]), 3);
	free(out);
	free(err);
	rc = rt_run(p.dir, &out, &err, "status", "--region", "us-east-1", NULL);
	ck_assert_msg(rc == 1 && rt_has(out, "1 missing"), "exit %d\n%s%s", rc,
		      out, err);
	free(out);
	free(err);
	rt_teardown(&p);
}
END_TEST

START_TEST(syntax_error_refused_before_anything_runs)
{
	struct rt_proj p;
	char *out, *err;
	int rc;

	require_regions();
	rt_setup(&p, &regions, 3, false);
	rt_mig(p.dir, "0004_backfill_name",
	       "UPDATE accounts SET name = email WHERE WHERE name IS NULL;\n");
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    NULL);
	ck_assert_msg(rc == 1, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(out, "syntax-error") || rt_has(err, "syntax"),
		      "%s%s", out, err);
	for (int i = 0; i < 3; i++) {
		ck_assert(!rt_has_history(p.dsn[i]));
		ck_assert_int_eq(rt_num(p.dsn[i], "SELECT count(*) FROM "
						  "pg_tables WHERE tablename = "
						  "'accounts'"),
				 0);
	}
	free(out);
	free(err);
	/* --no-gate does not send a file phasegate cannot read either. */
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    "--no-gate", NULL);
	ck_assert_msg(rc == 1, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(err, "0004_backfill_name"), "%s", err);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(rt_applied(p.dsn[i]), 0);
	free(out);
	free(err);
	rt_teardown(&p);
}
END_TEST

START_TEST(gate_refuses_then_no_gate_is_recorded)
{
	struct rt_proj p;
	char *out, *err;
	int rc;

	require_regions();
	rt_setup(&p, &regions, 3, false);
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	free(out);
	free(err);
	/* Renaming a column the running release uses. */
	rt_mig(p.dir, "0006_rename_email",
	       "ALTER TABLE accounts RENAME COLUMN email TO mail;\n");
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    NULL);
	ck_assert_msg(rc == 1, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(out, "renaming-column"), "%s", out);
	ck_assert_msg(rt_has(err, "--no-gate"), "%s", err);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(rt_applied(p.dsn[i]), 5);
	free(out);
	free(err);

	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    "--no-gate", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	for (int i = 0; i < 3; i++) {
		ck_assert(applied(p.dsn[i], "0006_rename_email"));
		ck_assert_int_eq(rt_num(p.dsn[i],
					"SELECT count(*) FROM "
					"phasegate.history WHERE no_gate"),
				 1);
		ck_assert_int_eq(rt_num(p.dsn[i],
					"SELECT count(*) FROM "
					"phasegate.history WHERE no_gate AND "
					"name = '0006_rename_email'"),
				 1);
	}
	free(out);
	free(err);
	rt_teardown(&p);
}
END_TEST

START_TEST(soak_waits_with_a_countdown)
{
	struct rt_proj p;
	char *out, *err;
	long long t0, ms;
	int rc;

	require_regions();
	rt_setup(&p, &regions, 3, false);
	rt_write_config(&p, "    soak: 2s\n", NULL, NULL);
	t0 = rt_now_ms();
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", NULL);
	ms = rt_now_ms() - t0;
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	printf("soak: 2s soak, run took %lld ms\n", ms);
	ck_assert_msg(ms >= 2000 && ms < 20000, "took %lld ms", ms);
	ck_assert_msg(rt_has(out, "soak before eu-west-1: 2 s left"), "%s",
		      out);
	/* The soak comes between us-east-1 and eu-west-1. */
	ck_assert_msg(strstr(out, "== region us-east-1") <
				      strstr(out, "soak before eu-west-1") &&
			      strstr(out, "soak before eu-west-1") <
				      strstr(out, "== region eu-west-1"),
		      "%s", out);
	ck_assert_int_eq(
		history_us(p.dsn[1], "min(started_at)") -
				history_us(p.dsn[0], "max(finished_at)") >=
			2000000,
		1);
	free(out);
	free(err);
	/* --no-soak skips it. */
	rt_mig(p.dir, "0006_add_phone",
	       "ALTER TABLE accounts ADD COLUMN phone text;\n");
	t0 = rt_now_ms();
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    NULL);
	ms = rt_now_ms() - t0;
	ck_assert_msg(rc == 0 && !rt_has(out, "soak"), "exit %d\n%s%s", rc, out,
		      err);
	ck_assert_msg(ms < 2000, "--no-soak took %lld ms", ms);
	free(out);
	free(err);
	rt_teardown(&p);
}
END_TEST

START_TEST(replica_gets_nothing_and_times_out)
{
	struct rt_proj p;
	char *out, *err;
	long long t0, ms;
	int rc;

	require_regions();
	rt_setup(&p, &regions, 3, false);
	rt_write_config(&p, NULL, "    replica_of: us-east-1\n",
			"migrate:\n  replica_wait: 2s\n");
	t0 = rt_now_ms();
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    NULL);
	ms = rt_now_ms() - t0;
	ck_assert_msg(rc == 3, "exit %d\n%s%s", rc, out, err);
	printf("replica: gave up after %lld ms (replica_wait 2s)\n", ms);
	ck_assert_msg(ms >= 2000 && ms < 20000, "took %lld ms", ms);
	ck_assert_msg(rt_has(err, "region 'ap-southeast-1'") &&
			      rt_has(err, "replica") &&
			      rt_has(err, "us-east-1"),
		      "%s", err);
	ck_assert_int_eq(rt_applied(p.dsn[0]), 5);
	ck_assert_int_eq(rt_applied(p.dsn[1]), 5);
	ck_assert_msg(!rt_has_history(p.dsn[2]),
		      "phasegate wrote a history into the replica");
	ck_assert_int_eq(rt_num(p.dsn[2], "SELECT count(*) FROM pg_tables "
					  "WHERE tablename = 'accounts'"),
			 0);
	free(out);
	free(err);
	rt_teardown(&p);
}
END_TEST

/* Every command's output, and the history, without the password. */
START_TEST(dsn_password_never_appears)
{
	struct rt_proj p;
	char *out, *err, *dump;
	int rc;

	require_regions();
	rt_setup(&p, &regions, 3, true);
	ck_assert(rt_has(p.dsn[0], RT_PASSWORD));
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert(!rt_has(out, RT_PASSWORD) && !rt_has(err, RT_PASSWORD));
	free(out);
	free(err);
	rc = rt_run(p.dir, &out, &err, "status", "--format", "json", NULL);
	ck_assert_int_eq(rc, 0);
	ck_assert(!rt_has(out, RT_PASSWORD) && !rt_has(err, RT_PASSWORD));
	free(out);
	free(err);
	rc = rt_run(p.dir, &out, &err, "plan", NULL);
	ck_assert_int_eq(rc, 0);
	ck_assert(!rt_has(out, RT_PASSWORD) && !rt_has(err, RT_PASSWORD));
	free(out);
	free(err);
	for (int i = 0; i < 3; i++) {
		dump = rt_value(p.dsn[i], "SELECT string_agg(h::text, E'\\n') "
					  "FROM phasegate.history h");
		ck_assert_ptr_nonnull(dump);
		ck_assert(!rt_has(dump, RT_PASSWORD));
		free(dump);
	}

	/* Failures: a region that refuses connections, and a failing
	   migration (its error lands in the history). */
	{
		char dsn[512];

		snprintf(dsn, sizeof(dsn),
			 "postgresql://postgres:" RT_PASSWORD
			 "@127.0.0.1:%d/nosuchdb",
			 regions.c[1].port);
		setenv("PHG_TEST_DB_2", dsn, 1);
	}
	rt_mig(p.dir, "0006_fails",
	       "INSERT INTO accounts (id, email) VALUES (1, NULL);\n");
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    NULL);
	ck_assert_msg(rc == 3, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(err, "0006_fails"), "%s", err);
	ck_assert(!rt_has(out, RT_PASSWORD) && !rt_has(err, RT_PASSWORD));
	free(out);
	free(err);
	rt_mig(p.dir, "0006_fails",
	       "INSERT INTO accounts (id, email) VALUES (1, 'a@b');\n");
	rc = rt_run(p.dir, &out, &err, "migrate", "--all-regions", "--no-soak",
		    NULL);
	ck_assert_msg(rc == 3, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(err, "eu-west-1") && rt_has(err, "nosuchdb"), "%s",
		      err);
	ck_assert(!rt_has(out, RT_PASSWORD) && !rt_has(err, RT_PASSWORD));
	free(out);
	free(err);
	rc = rt_run(p.dir, &out, &err, "status", NULL);
	ck_assert_msg(rc == 3, "exit %d\n%s%s", rc, out, err);
	ck_assert(!rt_has(out, RT_PASSWORD) && !rt_has(err, RT_PASSWORD));
	free(out);
	free(err);
	dump = rt_value(p.dsn[0], "SELECT string_agg(h::text, E'\\n') FROM "
				  "phasegate.history h");
	ck_assert_ptr_nonnull(dump);
	ck_assert(!rt_has(dump, RT_PASSWORD));
	free(dump);
	rt_teardown(&p);
}
END_TEST

static Suite *runner_suite(void)
{
	Suite *s = suite_create("it_runner");
	TCase *tc = tcase_create("three_regions");

	tcase_add_unchecked_fixture(tc, regions_up, regions_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, applies_every_region_primary_first_then_nothing);
	tcase_add_test(tc, plan_and_dry_run_touch_nothing);
	tcase_add_test(tc, phase_filter_and_to);
	tcase_add_test(tc, several_regions_need_a_region_flag);
	tcase_add_test(tc, drift_refuses_naming_both_checksums);
	tcase_add_test(tc, missing_applied_file_refuses);
	tcase_add_test(tc, syntax_error_refused_before_anything_runs);
	tcase_add_test(tc, gate_refuses_then_no_gate_is_recorded);
	tcase_add_test(tc, soak_waits_with_a_countdown);
	tcase_add_test(tc, replica_gets_nothing_and_times_out);
	tcase_add_test(tc, dsn_password_never_appears);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(runner_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
