/*
 * test_it_release.c: `phasegate release` end to end against three real
 * PostgreSQL 15 clusters (one per region) with an SQLite ledger in the
 * test's folder. Deploy and smoke are `command` providers: small scripts
 * that log what they were called with (region, slot, release) and fail on
 * demand. No load balancer and no Prometheus here: traffic steps are
 * recorded in the ledger and held for 0 s, analysis is off (its logic is
 * test_orchestrator.c's; test_it_release_analysis.c has it with real
 * nginx and Prometheus). Covered: the happy path (every step in the
 * ledger, history rows carry the tag, the live slot swapped per region,
 * lint taking its release boundary from the ledger, the next release
 * deploys the other slot, rollback TAG), a failing smoke
 * test in the second region (rolled back there, the first stays on the new
 * slot, the third untouched, exit 1), SIGKILL mid-release then `release
 * resume` (finishes, no migration twice), a second driver refused naming
 * the lease's holder (exit 3), `release abort` after the driver died (the
 * current region rolled back, the release aborted) and while it holds a
 * traffic step (it rolls back and stops), the window refusal and
 * an emergency approval recorded, contract migrations after the last
 * cutover with `contract: after-cutover` (and a mixed-phase migration
 * refused in preflight), and a dry run that touches nothing. Also: `release
 * report --html` after the happy path (the migrations applied per region,
 * every step, the weight chart); a driver frozen past its lease's ttl
 * whose lease another process takes over, inside a traffic step and
 * inside a deploy command (it exits 3 naming the new holder, records
 * nothing more and calls no further provider); a PostgreSQL ledger (`state:` on
 * one of the clusters) with two drivers at once (one drives, the other exits 3
 * naming it), and that ledger down for less than the ttl (the release
 * finishes) and past it (the driver stops, exit 3; a resume finishes); the
 * second region's database down after the preflight (the release halts
 * there with the reason, the first region finished; back up, `release
 * resume` finishes with no migration run twice).
 */
#include <sys/stat.h>

#include "orchestrator/orchestrator.h"
#include "store/store.h"

#include "test_it_runner.h"

static struct pgc_set regions;
static int regions_rc = -1;

static void regions_up(void)
{
	if (!pgc_available())
		return;
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

/*
 * deploy.sh REGION SLOT RELEASE: logs "start" then "deploy" lines; waits
 * (at most 60 s) while hold-REGION exists; sleeps (recording its pid)
 * while slow-REGION exists. smoke.sh REGION SLOT:
 * fails while fail-REGION exists.
 */
static const char deploy_sh[] =
	"#!/bin/sh\n"
	"d=$(dirname \"$0\")\n"
	"echo \"start $1 $2 $3 $PHASEGATE_RELEASE\" >> \"$d/deploy.log\"\n"
	"n=0; while [ -e \"$d/hold-$1\" ] && [ $n -lt 600 ]; do "
	"sleep 0.1; n=$((n+1)); done\n"
	"if [ -e \"$d/slow-$1\" ]; then echo $$ > \"$d/slow.pid\"; "
	"exec sleep 60; fi\n"
	"echo \"deploy $1 $2 $3 $PHASEGATE_RELEASE\" >> \"$d/deploy.log\"\n";
static const char smoke_sh[] = "#!/bin/sh\n"
			       "d=$(dirname \"$0\")\n"
			       "echo \"smoke $1 $2\" >> \"$d/deploy.log\"\n"
			       "[ ! -e \"$d/fail-$1\" ]\n";

/* Top-level keys written first, and each traffic step's hold (a test
   sets them, then resets them). */
static const char *config_head = "";
static const char *config_hold = "0";
static const char *config_tail = "";

/* The config: three regions with vars, window and lease as given. */
static void write_config(struct rt_proj *p, const char *window,
			 const char *lease_ttl)
{
	char buf[4096], vars[512];

	snprintf(vars, sizeof(vars),
		 "    vars: {deploy: %s/deploy.sh, smoke: %s/smoke.sh}\n",
		 p->dir, p->dir);
	snprintf(buf, sizeof(buf),
		 "%senvironment: test\n"
		 "regions:\n"
		 "  - name: us-east-1\n"
		 "    primary: true\n"
		 "    database: ${PHG_TEST_DB_1}\n%s"
		 "  - name: eu-west-1\n"
		 "    database: ${PHG_TEST_DB_2}\n%s"
		 "  - name: ap-southeast-1\n"
		 "    database: ${PHG_TEST_DB_3}\n%s"
		 "release:\n"
		 "  window: %s\n"
		 "  lease_ttl: %s\n"
		 "  traffic:\n"
		 "    steps: [50, 100]\n"
		 "    hold: %s\n"
		 "  deploy:\n"
		 "    command: [\"{var.deploy}\", \"{region}\", \"{slot}\", "
		 "\"{release}\"]\n"
		 "    timeout: 90s\n"
		 "  smoke:\n"
		 "    command: [\"{var.smoke}\", \"{region}\", \"{slot}\"]\n"
		 "    timeout: 10s\n%s",
		 config_head, vars, vars, vars, window, lease_ttl, config_hold,
		 config_tail);
	th_write_str(p->dir, "phasegate.yaml", buf);
}

static void setup(struct rt_proj *p, const char *window, const char *ttl)
{
	char path[600];

	rt_setup(p, &regions, 3, false);
	/* A backfill that must never run twice: counted per region. */
	rt_mig(p->dir, "0006_audit", "CREATE TABLE audit (n int);\n");
	rt_mig(p->dir, "0007_audit_row", "INSERT INTO audit VALUES (1);\n");
	write_config(p, window, ttl);
	th_write_str(p->dir, "deploy.sh", deploy_sh);
	th_write_str(p->dir, "smoke.sh", smoke_sh);
	snprintf(path, sizeof(path), "%s/deploy.sh", p->dir);
	ck_assert_int_eq(chmod(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/smoke.sh", p->dir);
	ck_assert_int_eq(chmod(path, 0755), 0);
}

/* Rewrites the config only (with config_head, config_hold and
   config_tail as they are now). */
static void setup_config_only(struct rt_proj *p, const char *window,
			      const char *ttl)
{
	write_config(p, window, ttl);
}

static struct phg_store *ledger(const struct rt_proj *p)
{
	struct phg_store *st = NULL;
	struct phg_err err = {0};
	char path[600];

	snprintf(path, sizeof(path), "%s/.phasegate/state.db", p->dir);
	ck_assert_msg(phg_store_open(path, &st, &err) == 0, "%s", err.msg);
	return st;
}

static char *live(struct phg_store *st, const char *region)
{
	struct phg_err err = {0};
	char *slot = NULL;

	ck_assert_int_eq(phg_store_live_slot(st, "test", region, &slot, &err),
			 0);
	return slot;
}

static void release_get(struct phg_store *st, const char *tag,
			struct phg_store_release *rel)
{
	struct phg_err err = {0};
	bool found = false;

	ck_assert_int_eq(
		phg_store_release_get(st, "test", tag, rel, &found, &err), 0);
	ck_assert_msg(found, "release %s not in the ledger", tag);
}

/* The state of the last ledger step (region, name), or -1. */
static int step_state(struct phg_store *st, long long rel, const char *region,
		      const char *name, int *count)
{
	struct phg_store_step *s = NULL;
	struct phg_err err = {0};
	size_t n = 0;
	int state = -1;

	ck_assert_int_eq(phg_store_step_list(st, rel, &s, &n, &err), 0);
	*count = 0;
	for (size_t i = 0; i < n; i++)
		if (phg_streq(s[i].region, region) &&
		    phg_streq(s[i].name, name)) {
			state = (int)s[i].state;
			(*count)++;
		}
	phg_store_step_free_array(s, n);
	return state;
}

static const char *const plan_steps[] = {"migrate",    "deploy",      "smoke",
					 "traffic-50", "traffic-100", "done"};

static void assert_region_done(struct phg_store *st, long long rel,
			       const char *region)
{
	for (size_t k = 0; k < 6; k++) {
		int count,
			s = step_state(st, rel, region, plan_steps[k], &count);

		ck_assert_msg(s == PHG_STEP_DONE, "%s %s: state %d", region,
			      plan_steps[k], s);
	}
}

static long long tag_rows(const char *dsn, const char *tag)
{
	char sql[200];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM phasegate.history WHERE release = '%s' "
		 "AND state = 'applied'",
		 tag);
	return rt_num(dsn, sql);
}

START_TEST(happy_path_then_next_release_and_rollback)
{
	struct rt_proj p;
	struct phg_store *st;
	struct phg_store_release rel = {0};
	char *out = NULL, *err = NULL, *log, *s;
	int rc, count;

	require_regions();
	setup(&p, "any", "1m");
	rc = rt_run(p.dir, &out, &err, "release", "v1", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	ck_assert_msg(rt_has(out, "window: open: the window is 'any'"), "%s",
		      out);
	ck_assert_msg(rt_has(out, "release v1 finished in every region"), "%s",
		      out);
	st = ledger(&p);
	release_get(st, "v1", &rel);
	ck_assert_int_eq(rel.state, PHG_REL_SUCCEEDED);
	ck_assert_str_eq(rel.migrations,
			 "0001_create_accounts,0002_add_name,0003_index_email,"
			 "0004_backfill_name,0005_drop_legacy,0006_audit,"
			 "0007_audit_row");
	ck_assert_int_eq(step_state(st, rel.id, "", "preflight", &count),
			 PHG_STEP_DONE);
	for (int i = 0; i < 3; i++) {
		assert_region_done(st, rel.id, rt_region_names[i]);
		s = live(st, rt_region_names[i]);
		ck_assert_str_eq(s, "green");
		free(s);
		ck_assert_int_eq(tag_rows(p.dsn[i], "v1"), 7);
		ck_assert_int_eq(rt_num(p.dsn[i], "SELECT count(*) FROM audit"),
				 1);
	}
	/* Primary first; the commands saw region, slot and release. */
	{
		char path[600];

		snprintf(path, sizeof(path), "%s/deploy.log", p.dir);
		log = th_slurp(path);
	}
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(
		rt_has(log, "deploy us-east-1 green v1 v1\n") &&
			rt_has(log, "deploy eu-west-1 green v1 v1\n") &&
			rt_has(log, "deploy ap-southeast-1 green v1 v1\n"),
		"%s", log);
	ck_assert(strstr(log, "deploy us-east-1") <
		  strstr(log, "deploy eu-west-1"));
	ck_assert(strstr(log, "smoke us-east-1 green") <
		  strstr(log, "deploy eu-west-1"));
	free(log);
	phg_store_release_release(&rel);
	free(out);
	free(err);

	/* history and status read the ledger. */
	rc = rt_run(p.dir, &out, &err, "history", NULL);
	ck_assert_msg(rc == 0 && rt_has(out, "v1") && rt_has(out, "succeeded"),
		      "%s%s", out, err);
	free(out);
	free(err);
	rc = rt_run(p.dir, &out, &err, "release", "status", "--format", "json",
		    NULL);
	ck_assert_msg(rc == 0 && rt_has(out, "\"tag\":\"v1\"") &&
			      rt_has(out, "\"live_slot\":\"green\"") &&
			      rt_has(out, "\"green_percent\":100"),
		      "%s%s", out, err);
	free(out);
	free(err);

	/* The release page: what was applied in each region, the steps,
	   and green's weight charted from the weights set (no analysis
	   here, so no other reading). */
	{
		char html[600], *page, *t, row[256];

		snprintf(html, sizeof(html), "%s/v1.html", p.dir);
		rc = rt_run(p.dir, &out, &err, "release", "report", "v1",
			    "--html", html, NULL);
		ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
		free(out);
		free(err);
		page = th_slurp(html);
		ck_assert_ptr_nonnull(page);
		t = strstr(page, "<h2>Migrations applied</h2>");
		ck_assert_msg(t, "no migrations section");
		for (int i = 0; i < 3; i++) {
			const char *names[] = {"0001_create_accounts",
					       "0005_drop_legacy",
					       "0007_audit_row"};

			for (int k = 0; k < 3; k++) {
				snprintf(row, sizeof(row),
					 "<tr><td>%s</td><td>%s</td>",
					 rt_region_names[i], names[k]);
				ck_assert_msg(rt_has(t, row), "%s missing",
					      row);
			}
		}
		ck_assert_msg(rt_has(t, "<td>contract</td>"), "no phase");
		for (int i = 0; i < 3; i++)
			for (size_t k = 0; k < 6; k++) {
				snprintf(row, sizeof(row),
					 "<tr><td>%s</td><td>%s</td><td>"
					 "done</td>",
					 rt_region_names[i], plan_steps[k]);
				ck_assert_msg(rt_has(page, row), "%s missing",
					      row);
			}
		ck_assert_msg(rt_has(page, "green traffic weight") &&
				      rt_has(page, "<polyline"),
			      "no weight chart");
		free(page);
	}

	/* lint takes the release boundary from the ledger: the candidate
	   is everything after v1 (without it, only the last migration). */
	rt_mig(p.dir, "0008_more", "ALTER TABLE audit ADD COLUMN note text;\n");
	rt_mig(p.dir, "0009_more", "ALTER TABLE audit ADD COLUMN tag text;\n");
	rc = rt_run(p.dir, &out, &err, "lint", "--format", "json", NULL);
	ck_assert_msg(rc == 0 && rt_has(out, "0008_more.sql") &&
			      rt_has(out, "0009_more.sql") &&
			      !rt_has(out, "0007_audit_row.sql"),
		      "exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	/* The next release deploys the other slot: blue. */
	rc = rt_run(p.dir, &out, &err, "release", "v2", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	for (int i = 0; i < 3; i++) {
		s = live(st, rt_region_names[i]);
		ck_assert_str_eq(s, "blue");
		free(s);
		ck_assert_int_eq(tag_rows(p.dsn[i], "v2"), 2);
	}
	/* v1 is not the latest any more: its old slots are gone. */
	rc = rt_run(p.dir, &out, &err, "rollback", "v1", NULL);
	ck_assert_msg(rc == 1 && rt_has(err, "came after"), "%d %s", rc, err);
	free(out);
	free(err);
	rc = rt_run(p.dir, &out, &err, "rollback", "v2", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	for (int i = 0; i < 3; i++) {
		s = live(st, rt_region_names[i]);
		ck_assert_str_eq(s, "green");
		free(s);
	}
	release_get(st, "v2", &rel);
	ck_assert_int_eq(rel.state, PHG_REL_REVERTED);
	phg_store_release_release(&rel);
	phg_store_close(st);
	rt_teardown(&p);
}
END_TEST

START_TEST(failing_smoke_in_second_region_rolls_it_back)
{
	struct rt_proj p;
	struct phg_store *st;
	struct phg_store_release rel = {0};
	struct phg_err e = {0};
	char *out = NULL, *err = NULL, *s;
	int rc, count, green = -2;

	require_regions();
	setup(&p, "any", "1m");
	th_write_str(p.dir, "fail-eu-west-1", "");
	rc = rt_run(p.dir, &out, &err, "release", "v1", NULL);
	ck_assert_msg(rc == 1, "exit %d\n%s\n%s", rc, out, err);
	ck_assert_msg(rt_has(err, "rolled back: smoke eu-west-1"), "%s", err);
	st = ledger(&p);
	release_get(st, "v1", &rel);
	ck_assert_int_eq(rel.state, PHG_REL_ROLLED_BACK);
	ck_assert_msg(rt_has(rel.reason, "smoke command exited 1"), "%s",
		      rel.reason);
	/* The first region stays on the new slot, recorded. */
	assert_region_done(st, rel.id, "us-east-1");
	s = live(st, "us-east-1");
	ck_assert_str_eq(s, "green");
	free(s);
	/* The second: smoke rolled back, traffic 100 % on blue. */
	ck_assert_int_eq(step_state(st, rel.id, "eu-west-1", "smoke", &count),
			 PHG_STEP_ROLLED_BACK);
	ck_assert_int_eq(
		step_state(st, rel.id, "eu-west-1", "rollback", &count),
		PHG_STEP_DONE);
	ck_assert_int_eq(
		step_state(st, rel.id, "eu-west-1", "traffic-50", &count), -1);
	s = live(st, "eu-west-1");
	ck_assert_str_eq(s, "blue");
	free(s);
	ck_assert_int_eq(
		phg_store_weight_get(st, rel.id, "eu-west-1", &green, &e), 0);
	ck_assert_int_eq(green, 0);
	/* The third: untouched (no step, no migration). */
	ck_assert_int_eq(
		step_state(st, rel.id, "ap-southeast-1", "migrate", &count),
		-1);
	ck_assert(!rt_has_history(p.dsn[2]));
	phg_store_release_release(&rel);
	phg_store_close(st);
	free(out);
	free(err);
	rt_teardown(&p);
}
END_TEST

/* Waits up to 60 s for file to hold text. */
static bool wait_for_text(const char *path, const char *text)
{
	long long end = rt_now_ms() + 60000;

	while (rt_now_ms() < end) {
		char *s = th_slurp(path);
		bool ok = rt_has(s, text);

		free(s);
		if (ok)
			return true;
		rt_sleep_ms(50);
	}
	return false;
}

START_TEST(sigkill_then_resume_and_lease_holder)
{
	struct rt_proj p;
	struct phg_store *st;
	struct phg_store_release rel = {0};
	const char *argv[] = {"release", "v1", NULL};
	char path[600], *out = NULL, *err = NULL, *pid_text;
	int rc, count;
	pid_t pid;

	require_regions();
	setup(&p, "any", "2s");
	th_write_str(p.dir, "slow-eu-west-1", "");
	pid = rt_spawn(p.dir, argv, NULL, NULL);
	snprintf(path, sizeof(path), "%s/deploy.log", p.dir);
	ck_assert_msg(wait_for_text(path, "start eu-west-1"),
		      "the release never reached eu-west-1's deploy");
	/* Another driver: refused, naming the holder (the lease is renewed
	   during the long deploy, well past its 2 s). */
	rt_sleep_ms(2500);
	rc = rt_run(p.dir, &out, &err, "release", "resume", "v1", NULL);
	ck_assert_msg(rc == 3 && rt_has(err, "held by"), "exit %d\n%s\n%s", rc,
		      out, err);
	free(out);
	free(err);
	/* Crash in the middle of the deploy step. */
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(rt_wait(pid, 10000), 128 + SIGKILL);
	snprintf(path, sizeof(path), "%s/slow.pid", p.dir);
	pid_text = th_slurp(path);
	if (pid_text)
		kill((pid_t)atoi(pid_text), SIGKILL);
	free(pid_text);
	snprintf(path, sizeof(path), "%s/slow-eu-west-1", p.dir);
	unlink(path);
	st = ledger(&p);
	release_get(st, "v1", &rel);
	ck_assert_int_eq(rel.state, PHG_REL_RUNNING);
	ck_assert_int_eq(step_state(st, rel.id, "eu-west-1", "deploy", &count),
			 PHG_STEP_RUNNING);
	/* The dead driver's lease goes stale after lease_ttl. */
	rt_sleep_ms(2500);
	rc = rt_run(p.dir, &out, &err, "release", "resume", "v1", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	ck_assert_msg(rt_has(out, "took over the stale lease"), "%s", out);
	free(out);
	free(err);
	phg_store_release_release(&rel);
	release_get(st, "v1", &rel);
	ck_assert_int_eq(rel.state, PHG_REL_SUCCEEDED);
	/* The running deploy was redone; done steps were not. */
	ck_assert_int_eq(step_state(st, rel.id, "eu-west-1", "deploy", &count),
			 PHG_STEP_DONE);
	ck_assert_int_eq(count, 2);
	ck_assert_int_eq(step_state(st, rel.id, "eu-west-1", "migrate", &count),
			 PHG_STEP_DONE);
	ck_assert_int_eq(count, 1);
	ck_assert_int_eq(step_state(st, rel.id, "us-east-1", "deploy", &count),
			 PHG_STEP_DONE);
	ck_assert_int_eq(count, 1);
	for (int i = 0; i < 3; i++) {
		assert_region_done(st, rel.id, rt_region_names[i]);
		/* No migration ran twice. */
		ck_assert_int_eq(rt_num(p.dsn[i], "SELECT count(*) FROM audit"),
				 1);
		ck_assert_int_eq(tag_rows(p.dsn[i], "v1"), 7);
	}
	phg_store_release_release(&rel);
	phg_store_close(st);
	rt_teardown(&p);
}
END_TEST

START_TEST(abort_after_the_driver_died)
{
	struct rt_proj p;
	struct phg_store *st;
	struct phg_store_release rel = {0};
	struct phg_err e = {0};
	const char *argv[] = {"release", "v1", NULL};
	char path[600], *out = NULL, *err = NULL, *pid_text, *s;
	int rc, count, green = -2;
	pid_t pid;

	require_regions();
	setup(&p, "any", "1s");
	th_write_str(p.dir, "slow-eu-west-1", "");
	pid = rt_spawn(p.dir, argv, NULL, NULL);
	snprintf(path, sizeof(path), "%s/deploy.log", p.dir);
	ck_assert(wait_for_text(path, "start eu-west-1"));
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	rt_wait(pid, 10000);
	snprintf(path, sizeof(path), "%s/slow.pid", p.dir);
	pid_text = th_slurp(path);
	if (pid_text)
		kill((pid_t)atoi(pid_text), SIGKILL);
	free(pid_text);
	rt_sleep_ms(1500);
	rc = rt_run(p.dir, &out, &err, "release", "abort", "v1", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	ck_assert_msg(rt_has(out, "rollback eu-west-1: traffic 100% to blue"),
		      "%s", out);
	free(out);
	free(err);
	st = ledger(&p);
	release_get(st, "v1", &rel);
	ck_assert_int_eq(rel.state, PHG_REL_ABORTED);
	ck_assert_int_eq(
		step_state(st, rel.id, "eu-west-1", "rollback", &count),
		PHG_STEP_DONE);
	ck_assert_int_eq(
		phg_store_weight_get(st, rel.id, "eu-west-1", &green, &e), 0);
	ck_assert_int_eq(green, 0);
	s = live(st, "us-east-1");
	ck_assert_str_eq(s, "green");
	free(s);
	/* Nothing left to resume. */
	rc = rt_run(p.dir, &out, &err, "release", "resume", "v1", NULL);
	ck_assert_msg(rc == 1 && rt_has(err, "is aborted: nothing to resume"),
		      "exit %d\n%s", rc, err);
	free(out);
	free(err);
	phg_store_release_release(&rel);
	phg_store_close(st);
	rt_teardown(&p);
}
END_TEST

START_TEST(abort_asks_the_live_driver)
{
	struct rt_proj p;
	struct phg_store *st;
	struct phg_store_release rel = {0};
	const char *argv[] = {"release", "v1", NULL};
	char out_path[600], *out = NULL, *err = NULL, *s;
	int rc, count;
	pid_t pid;

	require_regions();
	/* The driver looks for an abort every analysis interval. */
	config_hold = "60s";
	config_tail = "  analysis: {interval: 500ms}\n";
	setup(&p, "any", "5s");
	config_hold = "0";
	config_tail = "";
	snprintf(out_path, sizeof(out_path), "%s/driver.out", p.dir);
	pid = rt_spawn(p.dir, argv, out_path, NULL);
	ck_assert_msg(wait_for_text(out_path, "traffic 50%: "),
		      "the release never reached its first traffic step");
	rc = rt_run(p.dir, &out, &err, "release", "abort", "v1", NULL);
	ck_assert_msg(rc == 0 && rt_has(out, "release v1 is aborted"),
		      "exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	/* The driver rolled its region back and stopped: exit 1. */
	ck_assert_int_eq(rt_wait(pid, 20000), 1);
	s = th_slurp(out_path);
	ck_assert_msg(rt_has(s, "rollback us-east-1: traffic 100% to blue"),
		      "%s", s);
	free(s);
	st = ledger(&p);
	release_get(st, "v1", &rel);
	ck_assert_int_eq(rel.state, PHG_REL_ABORTED);
	ck_assert_int_eq(
		step_state(st, rel.id, "us-east-1", "traffic-50", &count),
		PHG_STEP_ROLLED_BACK);
	ck_assert_int_eq(step_state(st, rel.id, "eu-west-1", "migrate", &count),
			 -1);
	phg_store_release_release(&rel);
	phg_store_close(st);
	rt_teardown(&p);
}
END_TEST

/* How many weights, steps and events the ledger holds for rel. */
static void ledger_counts(struct phg_store *st, long long rel, size_t c[3])
{
	struct phg_store_weight *w = NULL;
	struct phg_store_step *s = NULL;
	struct phg_store_event *ev = NULL;
	struct phg_err e = {0};

	ck_assert_int_eq(phg_store_weight_list(st, rel, &w, &c[0], &e), 0);
	ck_assert_int_eq(phg_store_step_list(st, rel, &s, &c[1], &e), 0);
	ck_assert_int_eq(phg_store_event_list(st, rel, &ev, &c[2], &e), 0);
	phg_store_weight_free_array(w, c[0]);
	phg_store_step_free_array(s, c[1]);
	phg_store_event_free_array(ev, c[2]);
}

/*
 * Freezes the driver past its lease's ttl (as a stalled VM would be) and
 * takes the lease over as holder. SQLite has one writer at a time: a driver
 * frozen inside a write transaction (its renewer, a step record) blocks
 * every other writer until it runs again, so the freeze is retried, a few
 * times at most, until it lands between transactions.
 */
static void freeze_and_take_over(pid_t pid, struct phg_store *st,
				 const char *holder)
{
	struct phg_err e = {0};
	char *taken = NULL;
	int rc = -1;

	for (int attempt = 0; attempt < 4 && rc != 0; attempt++) {
		e = (struct phg_err){0};
		ck_assert_int_eq(kill(pid, SIGSTOP), 0);
		rt_sleep_ms(1600);
		rc = phg_store_lease_acquire(st, "test", holder, 1000, &taken,
					     &e);
		if (rc != 0) {
			ck_assert_msg(rt_has(e.msg, "locked"), "%s", e.msg);
			ck_assert_int_eq(kill(pid, SIGCONT), 0);
			rt_sleep_ms(150 + 100 * attempt);
		}
	}
	ck_assert_msg(rc == 0, "%s", e.msg);
	ck_assert_msg(taken != NULL, "the lease was not taken over");
	free(taken);
}

START_TEST(lease_taken_over_stops_the_driver)
{
	struct rt_proj p;
	struct phg_store *st;
	struct phg_store_release rel = {0};
	struct phg_store_lease_info li = {0};
	struct phg_err e = {0};
	const char *argv[] = {"release", "v1", NULL};
	char out_path[600], err_path[600], *s;
	size_t before[3], after[3];
	bool found = false;
	int rc, count, green = -2;
	pid_t pid;

	require_regions();
	/* A tiny ttl, and a traffic step held long enough to freeze the
	   driver inside it. */
	config_hold = "60s";
	config_tail = "  analysis: {interval: 200ms}\n";
	setup(&p, "any", "1s");
	config_hold = "0";
	config_tail = "";
	snprintf(out_path, sizeof(out_path), "%s/driver.out", p.dir);
	snprintf(err_path, sizeof(err_path), "%s/driver.err", p.dir);
	pid = rt_spawn(p.dir, argv, out_path, err_path);
	ck_assert_msg(wait_for_text(out_path, "traffic 50%: "),
		      "the release never reached its first traffic step:\n%s",
		      th_slurp(err_path));
	/* Frozen past its ttl (as a stalled VM would be), the driver's
	   lease goes stale and another process takes it over. */
	st = ledger(&p);
	freeze_and_take_over(pid, st, "intruder:1:x");
	release_get(st, "v1", &rel);
	ledger_counts(st, rel.id, before);
	ck_assert_int_eq(kill(pid, SIGCONT), 0);
	/* It stops at once, naming the new holder: exit 3. */
	rc = rt_wait(pid, 20000);
	s = th_slurp(err_path);
	ck_assert_msg(rc == 3 && rt_has(s, "taken over by 'intruder:1:x'"),
		      "exit %d\n%s", rc, s);
	free(s);
	/* Nothing more acted or recorded as the owner: no weight, no step,
	   no event (no halt), the step left running for the new holder. */
	ledger_counts(st, rel.id, after);
	ck_assert_int_eq(after[0], before[0]);
	ck_assert_int_eq(after[1], before[1]);
	ck_assert_int_eq(after[2], before[2]);
	ck_assert_int_eq(
		step_state(st, rel.id, "us-east-1", "traffic-50", &count),
		PHG_STEP_RUNNING);
	ck_assert_int_eq(
		phg_store_weight_get(st, rel.id, "us-east-1", &green, &e), 0);
	ck_assert_int_eq(green, 50);
	ck_assert_int_eq(phg_store_lease_get(st, "test", &li, &found, &e), 0);
	ck_assert(found);
	ck_assert_str_eq(li.holder, "intruder:1:x");
	phg_store_lease_info_release(&li);
	phg_store_release_release(&rel);
	phg_store_close(st);
	rt_teardown(&p);
}
END_TEST

START_TEST(lease_taken_over_during_a_deploy_command)
{
	struct rt_proj p;
	struct phg_store *st;
	struct phg_store_release rel = {0};
	const char *argv[] = {"release", "v1", NULL};
	char path[600], log_path[600], err_path[600], *s;
	size_t before[3], after[3];
	int rc, count;
	pid_t pid;

	require_regions();
	setup(&p, "any", "1s");
	th_write_str(p.dir, "hold-us-east-1", "");
	snprintf(err_path, sizeof(err_path), "%s/driver.err", p.dir);
	snprintf(log_path, sizeof(log_path), "%s/deploy.log", p.dir);
	pid = rt_spawn(p.dir, argv, NULL, err_path);
	ck_assert(wait_for_text(log_path, "start us-east-1"));
	/* Frozen past the ttl while its deploy command runs; taken over. */
	st = ledger(&p);
	freeze_and_take_over(pid, st, "intruder:2:y");
	release_get(st, "v1", &rel);
	ledger_counts(st, rel.id, before);
	ck_assert_int_eq(kill(pid, SIGCONT), 0);
	rt_sleep_ms(500);
	/* The command ends; the driver neither records it nor calls the
	   next provider (smoke). */
	snprintf(path, sizeof(path), "%s/hold-us-east-1", p.dir);
	unlink(path);
	rc = rt_wait(pid, 30000);
	s = th_slurp(err_path);
	ck_assert_msg(rc == 3 && rt_has(s, "taken over by 'intruder:2:y'"),
		      "exit %d\n%s", rc, s);
	free(s);
	s = th_slurp(log_path);
	ck_assert_msg(!rt_has(s, "smoke "), "smoke ran after the takeover:\n%s",
		      s);
	free(s);
	ledger_counts(st, rel.id, after);
	ck_assert_int_eq(after[0], before[0]);
	ck_assert_int_eq(after[1], before[1]);
	ck_assert_int_eq(after[2], before[2]);
	ck_assert_int_eq(step_state(st, rel.id, "us-east-1", "deploy", &count),
			 PHG_STEP_RUNNING);
	phg_store_release_release(&rel);
	phg_store_close(st);
	rt_teardown(&p);
}
END_TEST

START_TEST(postgres_ledger_two_drivers)
{
	struct rt_proj p;
	struct phg_store *st = NULL;
	struct phg_store_release rel = {0};
	struct phg_err e = {0};
	const char *argv[] = {"release", "v1", NULL};
	char state[512], path[600], out_path[2][600], err_path[2][600], *o[2],
		*er[2], held[64];
	struct stat sb;
	bool found = false;
	int rc[2], winner;
	pid_t pid[2];

	require_regions();
	/* The ledger in a PostgreSQL database of the first cluster. */
	rt_createdb(&regions.c[0], true, state, sizeof(state));
	setenv("PHG_TEST_STATE_URL", state, 1);
	config_head = "state: ${PHG_TEST_STATE_URL}\n";
	config_hold = "1s";
	setup(&p, "any", "1m");
	config_head = "";
	config_hold = "0";
	/* Two drivers at once: one takes the lease, the other refuses. */
	for (int i = 0; i < 2; i++) {
		snprintf(out_path[i], sizeof(out_path[i]), "%s/d%d.out", p.dir,
			 i);
		snprintf(err_path[i], sizeof(err_path[i]), "%s/d%d.err", p.dir,
			 i);
	}
	pid[0] = rt_spawn(p.dir, argv, out_path[0], err_path[0]);
	pid[1] = rt_spawn(p.dir, argv, out_path[1], err_path[1]);
	for (int i = 0; i < 2; i++) {
		rc[i] = rt_wait(pid[i], 120000);
		o[i] = th_slurp(out_path[i]);
		er[i] = th_slurp(err_path[i]);
	}
	ck_assert_msg((rc[0] == 0 && rc[1] == 3) || (rc[0] == 3 && rc[1] == 0),
		      "exits %d and %d\n%s%s\n%s%s", rc[0], rc[1], o[0], er[0],
		      o[1], er[1]);
	winner = rc[0] == 0 ? 0 : 1;
	/* The refusal names the holder: the winner (host:pid:...). */
	snprintf(held, sizeof(held), ":%ld:", (long)pid[winner]);
	ck_assert_msg(rt_has(er[1 - winner], "release lease held by '") &&
			      rt_has(er[1 - winner], held),
		      "%s (want %s)", er[1 - winner], held);
	ck_assert_msg(!rt_has(er[1 - winner], RT_PASSWORD) &&
			      !rt_has(o[1 - winner], RT_PASSWORD),
		      "the ledger's password was printed");
	ck_assert(rt_has(o[winner], "release v1 finished in every region"));
	for (int i = 0; i < 2; i++) {
		free(o[i]);
		free(er[i]);
	}
	/* The release is in the PostgreSQL ledger, and no SQLite one was
	   made. */
	ck_assert_msg(phg_store_open(state, &st, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(phg_store_backend(st), "postgresql");
	ck_assert_int_eq(
		phg_store_release_get(st, "test", "v1", &rel, &found, &e), 0);
	ck_assert(found);
	ck_assert_int_eq(rel.state, PHG_REL_SUCCEEDED);
	for (int i = 0; i < 3; i++) {
		assert_region_done(st, rel.id, rt_region_names[i]);
		ck_assert_int_eq(rt_num(p.dsn[i], "SELECT count(*) FROM audit"),
				 1);
	}
	snprintf(path, sizeof(path), "%s/.phasegate/state.db", p.dir);
	ck_assert_msg(stat(path, &sb) < 0, "an SQLite ledger was created");
	phg_store_release_release(&rel);
	phg_store_close(st);
	unsetenv("PHG_TEST_STATE_URL");
	rt_teardown(&p);
}
END_TEST

START_TEST(postgres_ledger_outage_within_and_past_the_ttl)
{
	struct rt_proj p;
	struct phg_store *st = NULL;
	struct phg_store_release rel = {0};
	struct phg_err e = {0};
	const char *v1[] = {"release", "v1", NULL},
		   *v2[] = {"release", "v2", NULL};
	char state[512], out_path[600], err_path[600], *out = NULL, *err = NULL,
						       *s;
	bool found = false;
	long long t0;
	int rc;
	pid_t pid;

	require_regions();
	/* The ledger shares the third cluster, which no step of the first
	   region needs. */
	rt_createdb(&regions.c[2], false, state, sizeof(state));
	setenv("PHG_TEST_STATE_URL", state, 1);
	config_head = "state: ${PHG_TEST_STATE_URL}\n";
	config_hold = "2s";
	config_tail = "  analysis: {interval: 200ms}\n";
	setup(&p, "any", "6s");
	snprintf(out_path, sizeof(out_path), "%s/driver.out", p.dir);
	snprintf(err_path, sizeof(err_path), "%s/driver.err", p.dir);
	/* Down for less than the ttl while the driver holds a step: its
	   renewals are retried, and it finishes. */
	pid = rt_spawn(p.dir, v1, out_path, err_path);
	ck_assert_msg(wait_for_text(out_path, "traffic 50%: "),
		      "the release never reached its first traffic step");
	pgc_stop_one(&regions, 2);
	rt_sleep_ms(1000);
	ck_assert_int_eq(pgc_restart_one(&regions, 2), 0);
	rc = rt_wait(pid, 120000);
	s = th_slurp(err_path);
	ck_assert_msg(rc == 0, "exit %d\n%s", rc, s);
	free(s);
	ck_assert_msg(phg_store_open(state, &st, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(
		phg_store_release_get(st, "test", "v1", &rel, &found, &e), 0);
	ck_assert(found && rel.state == PHG_REL_SUCCEEDED);
	phg_store_release_release(&rel);
	phg_store_close(st);
	st = NULL;

	/* Down past the ttl: the driver stops (exit 3) once the ttl runs
	   out without a renewal, since another process may drive now. */
	config_hold = "60s";
	setup_config_only(&p, "any", "2s");
	rt_mig(p.dir, "0008_more", "ALTER TABLE audit ADD COLUMN note text;\n");
	snprintf(out_path, sizeof(out_path), "%s/driver2.out", p.dir);
	snprintf(err_path, sizeof(err_path), "%s/driver2.err", p.dir);
	pid = rt_spawn(p.dir, v2, out_path, err_path);
	ck_assert_msg(wait_for_text(out_path, "traffic 50%: "),
		      "v2 never reached its first traffic step");
	t0 = rt_now_ms();
	pgc_stop_one(&regions, 2);
	rc = rt_wait(pid, 20000);
	s = th_slurp(err_path);
	ck_assert_msg(rc == 3 && rt_has(s, "not renewed for 2000 ms"),
		      "exit %d after %lld ms\n%s", rc, rt_now_ms() - t0, s);
	free(s);
	ck_assert_int_eq(pgc_restart_one(&regions, 2), 0);
	/* Resumable: once the lease is stale (the driver stopped just
	   before its ttl ran out), a resume takes over and finishes. */
	rt_sleep_ms(2500);
	config_hold = "0";
	setup_config_only(&p, "any", "2s");
	rc = rt_run(p.dir, &out, &err, "release", "resume", "v2", NULL);
	ck_assert_msg(rc == 0 && rt_has(out, "took over the stale lease"),
		      "exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	config_head = "";
	config_tail = "";
	unsetenv("PHG_TEST_STATE_URL");
	rt_teardown(&p);
}
END_TEST

START_TEST(second_region_database_down_halts_then_resumes)
{
	struct rt_proj p;
	struct phg_store *st;
	struct phg_store_release rel = {0};
	struct phg_store_event *ev = NULL;
	struct phg_err e = {0};
	const char *argv[] = {"release", "v1", NULL};
	char path[600], out_path[600], err_path[600], *out = NULL, *err = NULL,
						      *s;
	bool halt = false;
	size_t n = 0;
	int rc, count;
	pid_t pid;

	require_regions();
	setup(&p, "any", "1m");
	/* The database of eu-west-1 goes down after the preflight, while
	   us-east-1 deploys. */
	th_write_str(p.dir, "hold-us-east-1", "");
	snprintf(out_path, sizeof(out_path), "%s/driver.out", p.dir);
	snprintf(err_path, sizeof(err_path), "%s/driver.err", p.dir);
	pid = rt_spawn(p.dir, argv, out_path, err_path);
	snprintf(path, sizeof(path), "%s/deploy.log", p.dir);
	ck_assert_msg(wait_for_text(path, "start us-east-1"),
		      "the release never reached us-east-1's deploy");
	pgc_stop_one(&regions, 1);
	ck_assert(!pgc_ping(&regions.c[1]));
	snprintf(path, sizeof(path), "%s/hold-us-east-1", p.dir);
	unlink(path);
	rc = rt_wait(pid, 60000);
	s = th_slurp(err_path);
	ck_assert_msg(rc == 3 && rt_has(s, "eu-west-1"), "exit %d\n%s", rc, s);
	free(s);
	st = ledger(&p);
	release_get(st, "v1", &rel);
	/* Halted, resumable: region 1 finished, region 2 failed at its
	   migrate with the reason, region 3 untouched. */
	ck_assert_int_eq(rel.state, PHG_REL_RUNNING);
	assert_region_done(st, rel.id, "us-east-1");
	ck_assert_int_eq(step_state(st, rel.id, "eu-west-1", "migrate", &count),
			 PHG_STEP_FAILED);
	ck_assert_int_eq(step_state(st, rel.id, "eu-west-1", "deploy", &count),
			 -1);
	ck_assert_int_eq(
		step_state(st, rel.id, "ap-southeast-1", "migrate", &count),
		-1);
	ck_assert_int_eq(phg_store_event_list(st, rel.id, &ev, &n, &e), 0);
	for (size_t i = 0; i < n; i++)
		if (phg_streq(ev[i].kind, "halt") &&
		    phg_streq(ev[i].region, "eu-west-1") &&
		    rt_has(ev[i].detail, "eu-west-1"))
			halt = true;
	phg_store_event_free_array(ev, n);
	ck_assert_msg(halt, "no halt event with the reason for eu-west-1");
	ck_assert(!rt_has_history(p.dsn[2]));
	phg_store_release_release(&rel);
	/* Back up: resume finishes, and no migration ran twice. */
	ck_assert_int_eq(pgc_restart_one(&regions, 1), 0);
	rc = rt_run(p.dir, &out, &err, "release", "resume", "v1", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	release_get(st, "v1", &rel);
	ck_assert_int_eq(rel.state, PHG_REL_SUCCEEDED);
	ck_assert_int_eq(step_state(st, rel.id, "us-east-1", "migrate", &count),
			 PHG_STEP_DONE);
	ck_assert_int_eq(count, 1);
	ck_assert_int_eq(step_state(st, rel.id, "eu-west-1", "migrate", &count),
			 PHG_STEP_DONE);
	ck_assert_int_eq(count, 2);
	for (int i = 0; i < 3; i++) {
		assert_region_done(st, rel.id, rt_region_names[i]);
		ck_assert_int_eq(rt_num(p.dsn[i], "SELECT count(*) FROM audit"),
				 1);
		ck_assert_int_eq(tag_rows(p.dsn[i], "v1"), 7);
		ck_assert_int_eq(rt_num(p.dsn[i], "SELECT count(*) FROM "
						  "phasegate.history"),
				 7);
	}
	phg_store_release_release(&rel);
	phg_store_close(st);
	rt_teardown(&p);
}
END_TEST

START_TEST(window_refusal_then_emergency_recorded)
{
	struct rt_proj p;
	struct phg_store *st;
	struct phg_store_release rel = {0};
	struct phg_store_event *ev = NULL;
	struct phg_err e = {0};
	char window[256], d[3][16], *out = NULL, *err = NULL;
	time_t now = time(NULL);
	bool approval = false;
	size_t n = 0;
	int rc;

	require_regions();
	/* Denied: yesterday, today and tomorrow in UTC. */
	for (int i = 0; i < 3; i++) {
		time_t t = now + (i - 1) * 86400;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(d[i], sizeof(d[i]), "%Y-%m-%d", &tm);
	}
	snprintf(window, sizeof(window),
		 "{timezone: UTC, days: [sun, mon, tue, wed, thu, fri, sat], "
		 "deny: [\"%s\", \"%s\", \"%s\"]}",
		 d[0], d[1], d[2]);
	setup(&p, window, "1m");
	rc = rt_run(p.dir, &out, &err, "release", "v1", NULL);
	ck_assert_msg(rc == 1 && rt_has(err, "outside the deployment window") &&
			      rt_has(err, "a denied date"),
		      "exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	ck_assert(!rt_has_history(p.dsn[0]));
	rc = rt_run(p.dir, &out, &err, "release", "v1", "--emergency", NULL);
	ck_assert_int_eq(rc, 2);
	free(out);
	free(err);
	rc = rt_run(p.dir, &out, &err, "release", "v1", "--emergency",
		    "--approved-by", "alice", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	st = ledger(&p);
	release_get(st, "v1", &rel);
	ck_assert_int_eq(rel.state, PHG_REL_SUCCEEDED);
	ck_assert_str_eq(rel.approved_by, "alice");
	ck_assert_int_eq(phg_store_event_list(st, rel.id, &ev, &n, &e), 0);
	for (size_t i = 0; i < n; i++)
		if (phg_streq(ev[i].kind, "approval") &&
		    rt_has(ev[i].detail, "approved by alice"))
			approval = true;
	ck_assert(approval);
	phg_store_event_free_array(ev, n);
	rc = rt_run(p.dir, &out, &err, "history", NULL);
	ck_assert_msg(rc == 0 && rt_has(out, "approved by alice"), "%s", out);
	free(out);
	free(err);
	phg_store_release_release(&rel);
	phg_store_close(st);
	rt_teardown(&p);
}
END_TEST

/* The step's started_at (or finished_at), borrowed from a static. */
static char *step_time(struct phg_store *st, long long rel, const char *region,
		       const char *name, bool finished)
{
	static char at[64];
	struct phg_store_step *s = NULL;
	struct phg_err err = {0};
	size_t n = 0;

	at[0] = '\0';
	ck_assert_int_eq(phg_store_step_list(st, rel, &s, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		if (phg_streq(s[i].region, region) &&
		    phg_streq(s[i].name, name))
			snprintf(at, sizeof(at), "%s",
				 finished ? s[i].finished_at : s[i].started_at);
	phg_store_step_free_array(s, n);
	return at;
}

START_TEST(after_cutover_contract_then_mixed_phase_refused)
{
	struct rt_proj p;
	struct phg_store *st;
	struct phg_store_release rel = {0};
	char *out = NULL, *err = NULL, last_done[64];
	int rc, count;
	bool found = true;
	struct phg_err e = {0};

	require_regions();
	config_head = "contract: after-cutover\n";
	setup(&p, "any", "1m");
	config_head = "";
	rc = rt_run(p.dir, &out, &err, "release", "v1", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	ck_assert_msg(rt_has(out, "migrate: 6 migrations applied") &&
			      rt_has(out, "contract: 1 migration applied"),
		      "%s", out);
	free(out);
	free(err);
	st = ledger(&p);
	release_get(st, "v1", &rel);
	ck_assert_int_eq(rel.state, PHG_REL_SUCCEEDED);
	snprintf(last_done, sizeof(last_done), "%s",
		 step_time(st, rel.id, "ap-southeast-1", "done", true));
	for (int i = 0; i < 3; i++) {
		const char *at = step_time(st, rel.id, rt_region_names[i],
					   "contract", false);

		ck_assert_int_eq(step_state(st, rel.id, rt_region_names[i],
					    "contract", &count),
				 PHG_STEP_DONE);
		/* After the last region's cutover. */
		ck_assert_msg(strcmp(at, last_done) >= 0, "%s < %s", at,
			      last_done);
		ck_assert_int_eq(
			rt_num(p.dsn[i],
			       "SELECT count(*) FROM phasegate.history WHERE "
			       "name = '0005_drop_legacy' AND phase = "
			       "'contract' "
			       "AND state = 'applied' AND release = 'v1'"),
			1);
	}
	phg_store_release_release(&rel);
	/* A file mixing an expand with a contract on an existing object is
	   an error with after-cutover: refused in preflight. */
	rt_mig(p.dir, "0008_mixed",
	       "ALTER TABLE legacy_t ADD COLUMN x bigint;\n"
	       "DROP INDEX CONCURRENTLY IF EXISTS legacy_idx;\n");
	rc = rt_run(p.dir, &out, &err, "release", "v2", NULL);
	ck_assert_msg(rc == 1 && rt_has(err, "mixed-phase-migration"),
		      "exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	ck_assert_int_eq(
		phg_store_release_get(st, "test", "v2", &rel, &found, &e), 0);
	ck_assert(!found);
	phg_store_close(st);
	rt_teardown(&p);
}
END_TEST

START_TEST(dry_run_touches_nothing)
{
	struct rt_proj p;
	struct stat sb;
	char path[600], *out = NULL, *err = NULL;
	int rc;

	require_regions();
	setup(&p, "any", "1m");
	rc = rt_run(p.dir, &out, &err, "release", "v1", "--dry-run", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	ck_assert_msg(rt_has(out, "dry run, nothing is touched") &&
			      rt_has(out, "would apply 0007_audit_row") &&
			      rt_has(out, "region eu-west-1") &&
			      rt_has(out, "traffic-50") &&
			      rt_has(out, "deploy.sh ap-southeast-1 {slot} v1"),
		      "%s", out);
	snprintf(path, sizeof(path), "%s/.phasegate", p.dir);
	ck_assert_msg(stat(path, &sb) < 0, "the ledger was created");
	snprintf(path, sizeof(path), "%s/deploy.log", p.dir);
	ck_assert_msg(stat(path, &sb) < 0, "a provider ran");
	for (int i = 0; i < 3; i++)
		ck_assert(!rt_has_history(p.dsn[i]));
	free(out);
	free(err);
	rt_teardown(&p);
}
END_TEST

static Suite *release_suite(void)
{
	Suite *s = suite_create("it_release");
	TCase *tc = tcase_create("release");

	tcase_add_unchecked_fixture(tc, regions_up, regions_down);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, happy_path_then_next_release_and_rollback);
	tcase_add_test(tc, failing_smoke_in_second_region_rolls_it_back);
	tcase_add_test(tc, sigkill_then_resume_and_lease_holder);
	tcase_add_test(tc, abort_after_the_driver_died);
	tcase_add_test(tc, abort_asks_the_live_driver);
	tcase_add_test(tc, window_refusal_then_emergency_recorded);
	tcase_add_test(tc, after_cutover_contract_then_mixed_phase_refused);
	tcase_add_test(tc, dry_run_touches_nothing);
	suite_add_tcase(s, tc);
	/* Own cases (and clusters), so each can be run alone with
	   CK_RUN_CASE. */
	tc = tcase_create("lease");
	tcase_add_unchecked_fixture(tc, regions_up, regions_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, lease_taken_over_stops_the_driver);
	tcase_add_test(tc, lease_taken_over_during_a_deploy_command);
	suite_add_tcase(s, tc);
	tc = tcase_create("pgledger");
	tcase_add_unchecked_fixture(tc, regions_up, regions_down);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, postgres_ledger_two_drivers);
	tcase_add_test(tc, postgres_ledger_outage_within_and_past_the_ttl);
	suite_add_tcase(s, tc);
	/* Stops and restarts a cluster: its own set. */
	tc = tcase_create("regiondown");
	tcase_add_unchecked_fixture(tc, regions_up, regions_down);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, second_region_database_down_halts_then_resumes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(release_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
