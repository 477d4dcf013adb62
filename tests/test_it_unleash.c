/*
 * test_it_unleash.c: integration tests of the unleash provider against a
 * real unleash-server 7.5.1 from npm (installed by scripts/unleash.sh,
 * started by scripts/unleash-server.js) on a fresh database of a real
 * PostgreSQL 15 cluster (tests/pg_cluster.h), with an admin token made at
 * start-up. Covered: enable and disable (each twice: idempotent), a
 * rollout of 10 then 50 % read back with get (one flexibleRollout
 * strategy, updated in place), a rollout on a flag without a strategy
 * (created), a missing flag, and a bad token (refused; the token never in
 * the message).
 */
#include <check.h>
#include <cjson/cJSON.h>

#include "providers/providers.h"
#include "util/util.h"

#include "it_services.h"
#include "pg_cluster.h"
#include "unleash_world.h"

static const char *const flags[] = {"new-slug-ui", "fresh-flag", NULL};

static void unleash_up(void)
{
	uw_up("test_it_unleash", flags);
}

static struct phg_unleash provider(void)
{
	struct phg_unleash u = {.url = uw_url,
				.token = uw_token,
				.environment = "production",
				.timeout_ms = 10000};

	return u;
}

/* The number of flexibleRollout strategies of flag in production. */
static int rollout_strategies(const char *flag)
{
	char url[512], auth[160];
	const char *headers[] = {auth, NULL};
	struct phg_http_request req = {.url = url, .headers = headers};
	struct phg_http_response res;
	struct phg_err err = {0};
	const cJSON *s;
	cJSON *list;
	int n = 0;

	snprintf(url, sizeof(url),
		 "%s/api/admin/projects/default/features/%s/environments/"
		 "production/strategies",
		 uw_url, flag);
	snprintf(auth, sizeof(auth), "Authorization: %s", uw_token);
	ck_assert_int_eq(phg_http_do(&req, NULL, &res, &err), 0);
	list = cJSON_Parse(res.body);
	cJSON_ArrayForEach(s, list)
	{
		const cJSON *name = cJSON_GetObjectItem(s, "name");

		n += cJSON_IsString(name) &&
		     strcmp(name->valuestring, "flexibleRollout") == 0;
	}
	cJSON_Delete(list);
	phg_http_response_release(&res);
	return n;
}

START_TEST(enable_disable_and_rollout)
{
	struct phg_unleash u;
	struct phg_call_ctx ctx = {.release = "v1.2.3", .step = "5"};
	struct phg_err err = {0};
	bool on = true;
	int rollout = 0;

	uw_require();
	u = provider();
	ck_assert_msg(phg_unleash_get(&u, "new-slug-ui", &on, &rollout, &err) ==
			      0,
		      "%s", err.msg);
	ck_assert(!on);

	for (int i = 0; i < 2; i++) {
		ck_assert_msg(
			phg_unleash_enable(&u, "new-slug-ui", &ctx, &err) == 0,
			"enable #%d: %s", i + 1, err.msg);
		ck_assert_int_eq(
			phg_unleash_get(&u, "new-slug-ui", &on, &rollout, &err),
			0);
		ck_assert(on);
	}
	/* Unleash gives an enabled flag without strategy a 100 % one. */
	ck_assert_int_eq(rollout, 100);

	ck_assert_msg(phg_unleash_rollout(&u, "new-slug-ui", 10, &ctx, &err) ==
			      0,
		      "%s", err.msg);
	ck_assert_int_eq(
		phg_unleash_get(&u, "new-slug-ui", &on, &rollout, &err), 0);
	ck_assert(on);
	ck_assert_int_eq(rollout, 10);
	ck_assert_msg(phg_unleash_rollout(&u, "new-slug-ui", 50, &ctx, &err) ==
			      0,
		      "%s", err.msg);
	ck_assert_msg(phg_unleash_rollout(&u, "new-slug-ui", 50, &ctx, &err) ==
			      0,
		      "%s", err.msg);
	ck_assert_int_eq(
		phg_unleash_get(&u, "new-slug-ui", &on, &rollout, &err), 0);
	ck_assert_int_eq(rollout, 50);
	ck_assert_int_eq(rollout_strategies("new-slug-ui"), 1);

	for (int i = 0; i < 2; i++) {
		ck_assert_msg(
			phg_unleash_disable(&u, "new-slug-ui", &ctx, &err) == 0,
			"disable #%d: %s", i + 1, err.msg);
		ck_assert_int_eq(
			phg_unleash_get(&u, "new-slug-ui", &on, &rollout, &err),
			0);
		ck_assert(!on);
	}
	ck_assert_int_eq(rollout, 50);
}
END_TEST

START_TEST(rollout_creates_the_strategy)
{
	struct phg_unleash u;
	struct phg_err err = {0};
	bool on = true;
	int rollout = 0;

	uw_require();
	u = provider();
	ck_assert_int_eq(phg_unleash_get(&u, "fresh-flag", &on, &rollout, &err),
			 0);
	ck_assert_int_eq(rollout, -1);
	ck_assert_msg(phg_unleash_rollout(&u, "fresh-flag", 25, NULL, &err) ==
			      0,
		      "%s", err.msg);
	ck_assert_int_eq(phg_unleash_get(&u, "fresh-flag", &on, &rollout, &err),
			 0);
	ck_assert(!on);
	ck_assert_int_eq(rollout, 25);
	ck_assert_int_eq(rollout_strategies("fresh-flag"), 1);
	ck_assert_int_eq(phg_unleash_rollout(&u, "fresh-flag", 150, NULL, &err),
			 PHG_ECONFIG);
}
END_TEST

START_TEST(missing_flag_and_bad_token)
{
	struct phg_unleash u;
	struct phg_err err = {0};
	char bad[128];

	uw_require();
	u = provider();
	ck_assert_int_eq(phg_unleash_enable(&u, "no-such-flag", NULL, &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "not found") &&
			      strstr(err.msg, "'no-such-flag'"),
		      "%s", err.msg);

	snprintf(bad, sizeof(bad), "*:*.wrong-secret-%s", uw_token + 4);
	u.token = bad;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(phg_unleash_disable(&u, "new-slug-ui", NULL, &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "refused the admin token (401)") ||
			      strstr(err.msg, "refused the admin token (403)"),
		      "%s", err.msg);
	ck_assert_msg(!strstr(err.msg, "wrong-secret") &&
			      !strstr(err.msg, uw_token + 4),
		      "token in '%s'", err.msg);
}
END_TEST

static Suite *unleash_suite(void)
{
	Suite *s = suite_create("it_unleash");
	TCase *tc = tcase_create("admin_api");

	tcase_add_unchecked_fixture(tc, unleash_up, uw_down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, enable_disable_and_rollout);
	tcase_add_test(tc, rollout_creates_the_strategy);
	tcase_add_test(tc, missing_flag_and_bad_token);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(unleash_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
