/*
 * test_it_release_flags.c: the release's feature flags against a real
 * unleash-server 7.5.1 (scripts/unleash.sh installs it, scripts/
 * unleash-server.js starts it) on a real PostgreSQL 15 cluster, which also
 * holds the region's database. Covered: a release switches its flags on at
 * the region's `done`; a later release whose smoke test fails rolls the
 * region back and switches them off; with `rollout: with-traffic` the
 * flag's gradual rollout follows the traffic steps (10, 50, 100 %, watched
 * in Unleash while the release runs) and an abort at 10 % switches it
 * off; the admin token (from ${NAME}) never reaches the output.
 */
#include <check.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "providers/providers.h"
#include "store/store.h"
#include "util/util.h"

#include "it_services.h"
#include "test_it_runner.h"
#include "unleash_world.h"

static const char *const flags[] = {"new-slug-ui", NULL};

static void unleash_up(void)
{
	uw_up("test_it_release_flags", flags);
}

static bool flag_on(const char *flag)
{
	struct phg_unleash u = {.url = uw_url,
				.token = uw_token,
				.environment = "production",
				.timeout_ms = 10000};
	struct phg_err err = {0};
	bool enabled = false;
	int rollout = 0;

	ck_assert_msg(phg_unleash_get(&u, flag, &enabled, &rollout, &err) == 0,
		      "%s", err.msg);
	return enabled;
}

START_TEST(flags_on_at_done_off_on_rollback)
{
	char *dir, dsn[512], cfg[8192], path[4200], *out = NULL, *err = NULL;
	int rc;

	uw_require();
	dir = th_tmpdir();
	rt_createdb(&uw_pg.c[0], false, dsn, sizeof(dsn));
	setenv("PHG_TEST_DB_1", dsn, 1);
	setenv("PHG_TEST_UNLEASH_TOKEN", uw_token, 1);
	rt_mig(dir, "0001_t", "CREATE TABLE t (id bigint PRIMARY KEY);\n");
	th_write_str(dir, "smoke.sh",
		     "#!/bin/sh\n[ ! -e \"$(dirname \"$0\")/fail\" ]\n");
	snprintf(path, sizeof(path), "%s/smoke.sh", dir);
	ck_assert_int_eq(chmod(path, 0755), 0);
	snprintf(cfg, sizeof(cfg),
		 "environment: flags\n"
		 "regions:\n"
		 "  - name: r1\n"
		 "    database: ${PHG_TEST_DB_1}\n"
		 "release:\n"
		 "  window: any\n"
		 "  traffic: {steps: [100], hold: 0}\n"
		 "  smoke:\n"
		 "    command: ['%s']\n"
		 "  flags:\n"
		 "    unleash:\n"
		 "      url: %s\n"
		 "      token: ${PHG_TEST_UNLEASH_TOKEN}\n"
		 "      environment: production\n"
		 "      features: [new-slug-ui]\n",
		 path, uw_url);
	th_write_str(dir, "phasegate.yaml", cfg);
	ck_assert(!flag_on("new-slug-ui"));
	rc = rt_run(dir, &out, &err, "release", "v1", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	ck_assert_msg(rt_has(out, "flag new-slug-ui on"), "%s", out);
	ck_assert(!rt_has(out, uw_token) && !rt_has(err, uw_token));
	free(out);
	free(err);
	ck_assert(flag_on("new-slug-ui"));

	th_write_str(dir, "fail", "");
	rc = rt_run(dir, &out, &err, "release", "v2", NULL);
	ck_assert_msg(rc == 1, "exit %d\n%s\n%s", rc, out, err);
	ck_assert_msg(rt_has(out, "flag new-slug-ui off"), "%s", out);
	ck_assert(!rt_has(out, uw_token) && !rt_has(err, uw_token));
	free(out);
	free(err);
	ck_assert(!flag_on("new-slug-ui"));
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* The flag's state in "production": enabled, and its rollout (-1 when it
   has no gradual rollout strategy). */
static void flag_state(const char *flag, bool *enabled, int *rollout)
{
	struct phg_unleash u = {.url = uw_url,
				.token = uw_token,
				.environment = "production",
				.timeout_ms = 10000};
	struct phg_err err = {0};

	ck_assert_msg(phg_unleash_get(&u, flag, enabled, rollout, &err) == 0,
		      "%s", err.msg);
}

/*
 * Watches the flag while the release pid runs (at most 90 s): appends each
 * new rollout seen with the flag on to seen[] (up to 8). Returns the exit
 * code, or -1 when it did not stop; stops watching once stop_at is seen
 * (0: never) and returns 0 then, the process still running.
 */
static int watch(pid_t pid, const char *flag, int *seen, int *nseen,
		 int stop_at)
{
	long long end = rt_now_ms() + 90000;

	while (rt_now_ms() < end) {
		int status = 0, rollout = -1;
		bool on = false;
		pid_t w = waitpid(pid, &status, WNOHANG);

		flag_state(flag, &on, &rollout);
		if (on && rollout >= 0 &&
		    (*nseen == 0 || seen[*nseen - 1] != rollout) && *nseen < 8)
			seen[(*nseen)++] = rollout;
		if (w == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (stop_at && on && rollout == stop_at)
			return 0;
		rt_sleep_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

START_TEST(rollout_follows_traffic_off_on_rollback)
{
	char *dir, dsn[512], cfg[8192], out_path[4200], *out = NULL,
							*err = NULL, *s;
	const char *v1[] = {"release", "v1", NULL},
		   *v2[] = {"release", "v2", NULL};
	int seen[8], nseen = 0, rc, rollout = -2;
	bool on = true;
	pid_t pid;

	uw_require();
	ck_assert_msg(uw_admin("POST", "/api/admin/projects/default/features",
			       "{\"name\":\"rollout-ui\"}", uw_token) == 201,
		      "cannot create the flag");
	flag_state("rollout-ui", &on, &rollout);
	ck_assert(!on && rollout == -1);
	dir = th_tmpdir();
	rt_createdb(&uw_pg.c[0], false, dsn, sizeof(dsn));
	setenv("PHG_TEST_DB_1", dsn, 1);
	setenv("PHG_TEST_UNLEASH_TOKEN", uw_token, 1);
	rt_mig(dir, "0001_t", "CREATE TABLE t (id bigint PRIMARY KEY);\n");
	snprintf(cfg, sizeof(cfg),
		 "environment: flags\n"
		 "regions:\n"
		 "  - name: r1\n"
		 "    database: ${PHG_TEST_DB_1}\n"
		 "release:\n"
		 "  window: any\n"
		 "  traffic: {steps: [10, 50, 100], hold: %s}\n"
		 "  analysis: {interval: 200ms}\n"
		 "  flags:\n"
		 "    unleash:\n"
		 "      url: %s\n"
		 "      token: ${PHG_TEST_UNLEASH_TOKEN}\n"
		 "      environment: production\n"
		 "      rollout: with-traffic\n"
		 "      features: [rollout-ui]\n",
		 "1500ms", uw_url);
	th_write_str(dir, "phasegate.yaml", cfg);
	snprintf(out_path, sizeof(out_path), "%s/v1.out", dir);
	pid = rt_spawn(dir, v1, out_path, NULL);
	rc = watch(pid, "rollout-ui", seen, &nseen, 0);
	s = th_slurp(out_path);
	ck_assert_msg(rc == 0, "exit %d\n%s", rc, s);
	/* The rollout followed the traffic, step by step. */
	ck_assert_msg(nseen == 3 && seen[0] == 10 && seen[1] == 50 &&
			      seen[2] == 100,
		      "rollouts seen: %d: %d %d %d\n%s", nseen, seen[0],
		      seen[1], seen[2], s);
	ck_assert_msg(rt_has(s, "flag rollout-ui on, rollout 10%") &&
			      rt_has(s, "flag rollout-ui on, rollout 50%") &&
			      rt_has(s, "flag rollout-ui on, rollout 100%"),
		      "%s", s);
	ck_assert(!rt_has(s, uw_token));
	free(s);
	flag_state("rollout-ui", &on, &rollout);
	ck_assert(on && rollout == 100);

	/* The next release rolls out again from 10 %; aborted there, its
	   region rolls back and the flag is switched off. */
	rt_mig(dir, "0002_u", "CREATE TABLE u (id bigint PRIMARY KEY);\n");
	{
		char *hold = strstr(cfg, "hold: 1500ms");

		ck_assert_ptr_nonnull(hold);
		memcpy(hold, "hold: 60s   ", 12);
	}
	th_write_str(dir, "phasegate.yaml", cfg);
	snprintf(out_path, sizeof(out_path), "%s/v2.out", dir);
	pid = rt_spawn(dir, v2, out_path, NULL);
	nseen = 0;
	rc = watch(pid, "rollout-ui", seen, &nseen, 10);
	ck_assert_msg(rc == 0 && nseen >= 1 && seen[nseen - 1] == 10,
		      "v2 never rolled the flag out to 10%% (exit %d)", rc);
	rc = rt_run(dir, &out, &err, "release", "abort", "v2", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	ck_assert_int_eq(rt_wait(pid, 30000), 1);
	s = th_slurp(out_path);
	ck_assert_msg(rt_has(s, "flag rollout-ui off"), "%s", s);
	free(s);
	flag_state("rollout-ui", &on, &rollout);
	ck_assert_msg(!on, "the flag is still on after the rollback");
	th_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *flags_suite(void)
{
	Suite *s = suite_create("it_release_flags");
	TCase *tc = tcase_create("flags");

	tcase_add_unchecked_fixture(tc, unleash_up, uw_down);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, flags_on_at_done_off_on_rollback);
	tcase_add_test(tc, rollout_follows_traffic_off_on_rollback);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(flags_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
