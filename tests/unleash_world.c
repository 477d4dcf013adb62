/*
 * unleash_world: a real unleash-server 7.5.1 for the integration suites
 * that need feature flags (test_it_unleash, test_it_release_flags):
 * installed by scripts/unleash.sh, started by scripts/unleash-server.js on a
 * fresh database of a real PostgreSQL 15 cluster, with a random admin
 * token made at start-up. Start it in an unchecked fixture (uw_up), stop it
 * in its teardown (uw_down); each test begins with uw_require().
 */
#include "unleash_world.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "providers/providers.h"
#include "util/util.h"

#include "it_services.h"

#define UNLEASH_MISSING                                                        \
	"unleash-server is not installed under $PHG_UNLEASH_DIR or "           \
	"/opt/phasegate-deps/unleash, or node is missing: run "                \
	"scripts/unleash.sh (scripts/install-deps.sh calls it)"

struct pgc_set uw_pg;
char uw_url[64], uw_token[96];
static pid_t unleash_pid = -1;
static int unleash_rc = -1;
static char *unleash_dir;

static const char *install_dir(void)
{
	const char *d = getenv("PHG_UNLEASH_DIR");

	return d && *d ? d : "/opt/phasegate-deps/unleash";
}

bool uw_installed(void)
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

	snprintf(url, sizeof(url), "%s/health", uw_url);
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
long uw_admin(const char *method, const char *path, const char *body,
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

	snprintf(url, sizeof(url), "%s%s", uw_url, path);
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

void uw_up(const char *suite, const char *const *flags)
{
	char script[4096], log[4200], db_env[600], port_env[64], tok_env[128],
		dir_env[4200], dbname[64], sql[128];
	int port = svc_free_port();
	unsigned char rnd[12];
	long long t0 = svc_now_ms();
	FILE *f;

	if (!pgc_available() || !uw_installed())
		return;
	if (pgc_start(&uw_pg, 1) != 0)
		return;
	snprintf(dbname, sizeof(dbname), "unleash_%ld", (long)getpid());
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
	if (pgc_exec(&uw_pg.c[0], sql) != 0)
		return;
	f = fopen("/dev/urandom", "rb");
	if (!f || fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd)) {
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	snprintf(uw_token, sizeof(uw_token), "*:*.phgtest");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(uw_token + strlen(uw_token),
			 sizeof(uw_token) - strlen(uw_token), "%02x", rnd[i]);
	unleash_dir = svc_tmpdir();
	snprintf(uw_url, sizeof(uw_url), "http://127.0.0.1:%d", port);
	snprintf(script, sizeof(script), "%s",
		 th_src_path("scripts/unleash-server.js"));
	snprintf(log, sizeof(log), "%s/unleash.log", unleash_dir);
	snprintf(db_env, sizeof(db_env),
		 "UNLEASH_DB_URL=postgres://postgres@127.0.0.1:%d/%s",
		 uw_pg.c[0].port, dbname);
	snprintf(port_env, sizeof(port_env), "UNLEASH_PORT=%d", port);
	snprintf(tok_env, sizeof(tok_env), "UNLEASH_ADMIN_TOKEN=%s", uw_token);
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
	printf("%s: unleash-server healthy after %lld ms\n", suite,
	       svc_now_ms() - t0);
	fflush(stdout);
	for (size_t i = 0; flags && flags[i]; i++) {
		char body[160], path[256];

		snprintf(body, sizeof(body), "{\"name\":\"%s\"}", flags[i]);
		snprintf(path, sizeof(path),
			 "/api/admin/projects/default/features/%s", flags[i]);
		if (uw_admin("POST", "/api/admin/projects/default/features",
			     body, uw_token) != 201 &&
		    uw_admin("GET", path, NULL, uw_token) != 200)
			return;
	}
	unleash_rc = 0;
}

void uw_down(void)
{
	svc_stop(unleash_pid, SIGTERM, 10000);
	unleash_pid = -1;
	pgc_stop_all(&uw_pg);
	svc_rmdir(unleash_dir);
	unleash_dir = NULL;
}

void uw_require(void)
{
	ck_assert_msg(pgc_available(), PGC_UNAVAILABLE_MSG);
	ck_assert_msg(uw_installed(), UNLEASH_MISSING);
	ck_assert_msg(unleash_rc == 0,
		      "unleash-server did not start (see stderr)");
}
