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

#define UNLEASH_MISSING                                                        \
	"unleash-server is not installed under $PHG_UNLEASH_DIR or "           \
	"/opt/phasegate-deps/unleash, or node is missing: run "                \
	"scripts/unleash.sh (scripts/install-deps.sh calls it)"

static struct pgc_set pg;
static pid_t unleash_pid = -1;
static int unleash_rc = -1;
static char *unleash_dir, unleash_url[64], token[96];

static const char *install_dir(void)
{
	const char *d = getenv("PHG_UNLEASH_DIR");

	return d && *d ? d : "/opt/phasegate-deps/unleash";
}

static bool unleash_installed(void)
{
	char path[4096];

	snprintf(path, sizeof(path),
		 "%s/node_modules/unleash-server/package.json", install_dir());
	return svc_have("node") && access(path, R_OK) == 0;
}

static bool healthy(long long ms)
{
	char url[128];
	struct phg_http_request req = {.url = url, .timeout_ms = 2000};
	long long end = svc_now_ms() + ms;

	snprintf(url, sizeof(url), "%s/health", unleash_url);
	while (svc_now_ms() < end) {
		struct phg_http_response res;
		struct phg_err err = {0};
		bool ok = phg_http_do(&req, NULL, &res, &err) == 0 &&
			  res.status == 200;

		phg_http_response_release(&res);
		if (ok)
			return true;
		if (svc_exited(unleash_pid))
			return false;
		svc_sleep_ms(250);
	}
	return false;
}

/* Calls the Admin API directly (to set up flags). */
static long admin(const char *method, const char *path, const char *body,
		  const char *tok)
{
	char url[512], auth[160];
	const char *headers[] = {auth, "Content-Type: application/json", NULL};
	struct phg_http_request req = {.method = method,
				       .url = url,
				       .headers = headers,
				       .body = body,
				       .timeout_ms = 10000};
	struct phg_http_response res;
	struct phg_err err = {0};
	long status;

	snprintf(url, sizeof(url), "%s%s", unleash_url, path);
	snprintf(auth, sizeof(auth), "Authorization: %s", tok);
	if (phg_http_do(&req, NULL, &res, &err) != 0) {
		fprintf(stderr, "%s %s: %s\n", method, path, err.msg);
		return -1;
	}
	status = res.status;
	if (status >= 300)
		fprintf(stderr, "%s %s: %ld %s\n", method, path, status,
			res.body);
	phg_http_response_release(&res);
	return status;
}

static void unleash_up(void)
{
	char script[4096], log[4200], db_env[600], port_env[64], tok_env[128],
		dir_env[4200], dbname[64], sql[128];
	int port = svc_free_port();
	unsigned char rnd[12];
	long long t0 = svc_now_ms();
	FILE *f;

	if (!pgc_available() || !unleash_installed())
		return;
	if (pgc_start(&pg, 1) != 0)
		return;
	snprintf(dbname, sizeof(dbname), "unleash_%ld", (long)getpid());
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
	if (pgc_exec(&pg.c[0], sql) != 0)
		return;
	f = fopen("/dev/urandom", "rb");
	if (!f || fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd)) {
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	snprintf(token, sizeof(token), "*:*.phgtest");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(token + strlen(token), sizeof(token) - strlen(token),
			 "%02x", rnd[i]);
	unleash_dir = svc_tmpdir();
	snprintf(unleash_url, sizeof(unleash_url), "http://127.0.0.1:%d", port);
	snprintf(script, sizeof(script), "%s",
		 th_src_path("scripts/unleash-server.js"));
	snprintf(log, sizeof(log), "%s/unleash.log", unleash_dir);
	snprintf(db_env, sizeof(db_env),
		 "UNLEASH_DB_URL=postgres://postgres@127.0.0.1:%d/%s",
		 pg.c[0].port, dbname);
	snprintf(port_env, sizeof(port_env), "UNLEASH_PORT=%d", port);
	snprintf(tok_env, sizeof(tok_env), "UNLEASH_ADMIN_TOKEN=%s", token);
	snprintf(dir_env, sizeof(dir_env), "PHG_UNLEASH_DIR=%s", install_dir());
	{
		char *argv[] = {"node", script, NULL};
		char *env[] = {db_env,
			       port_env,
			       tok_env,
			       dir_env,
			       "SEND_TELEMETRY=false",
			       "CHECK_VERSION=false",
			       "NODE_ENV=production",
			       NULL};

		unleash_pid = svc_spawn(argv, env, unleash_dir, log);
	}
	if (unleash_pid < 0 || !healthy(90000)) {
		fprintf(stderr, "unleash-server did not become healthy: %s\n",
			svc_log_tail(log));
		return;
	}
	printf("test_it_unleash: unleash-server healthy after %lld ms\n",
	       svc_now_ms() - t0);
	fflush(stdout);
	if (admin("POST", "/api/admin/projects/default/features",
		  "{\"name\":\"new-slug-ui\"}", token) != 201 &&
	    admin("GET", "/api/admin/projects/default/features/new-slug-ui",
		  NULL, token) != 200)
		return;
	if (admin("POST", "/api/admin/projects/default/features",
		  "{\"name\":\"fresh-flag\"}", token) != 201 &&
	    admin("GET", "/api/admin/projects/default/features/fresh-flag",
		  NULL, token) != 200)
		return;
	unleash_rc = 0;
}

static void unleash_down(void)
{
	svc_stop(unleash_pid, SIGTERM, 10000);
	unleash_pid = -1;
	pgc_stop_all(&pg);
	svc_rmdir(unleash_dir);
	unleash_dir = NULL;
}

static void require_unleash(void)
{
	ck_assert_msg(pgc_available(), PGC_UNAVAILABLE_MSG);
	ck_assert_msg(unleash_installed(), UNLEASH_MISSING);
	ck_assert_msg(unleash_rc == 0,
		      "unleash-server did not start (see stderr)");
}

static struct phg_unleash provider(void)
{
	struct phg_unleash u = {.url = unleash_url,
				.token = token,
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
		 unleash_url, flag);
	snprintf(auth, sizeof(auth), "Authorization: %s", token);
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

	require_unleash();
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

	require_unleash();
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

	require_unleash();
	u = provider();
	ck_assert_int_eq(phg_unleash_enable(&u, "no-such-flag", NULL, &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "not found") &&
			      strstr(err.msg, "'no-such-flag'"),
		      "%s", err.msg);

	snprintf(bad, sizeof(bad), "*:*.wrong-secret-%s", token + 4);
	u.token = bad;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(phg_unleash_disable(&u, "new-slug-ui", NULL, &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "refused the admin token (401)") ||
			      strstr(err.msg, "refused the admin token (403)"),
		      "%s", err.msg);
	ck_assert_msg(!strstr(err.msg, "wrong-secret") &&
			      !strstr(err.msg, token + 4),
		      "token in '%s'", err.msg);
}
END_TEST

static Suite *unleash_suite(void)
{
	Suite *s = suite_create("it_unleash");
	TCase *tc = tcase_create("admin_api");

	tcase_add_unchecked_fixture(tc, unleash_up, unleash_down);
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
