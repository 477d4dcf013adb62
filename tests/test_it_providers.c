/*
 * test_it_providers.c: integration tests of the command, http (smoke
 * check) and webhook providers. Commands are real programs (sh, printf,
 * sleep). HTTP goes to a real nginx on 127.0.0.1 serving /health "ok", a
 * location answering 500 (its access log counts the retries), a slow one
 * proxied to a socket that never answers (timeouts), a body too large, and
 * an HTTPS server with a self-signed certificate (TLS is verified).
 *
 * The webhook receiver: a real Slack cannot run here, so the allowed fake
 * is nginx itself — a location that logs $request_body (JSON-escaped) to a
 * log file, which the test reads back and parses.
 */
#include <check.h>
#include <cjson/cJSON.h>

#include "providers/providers.h"
#include "util/util.h"

#include "it_services.h"

/* ---- command ---------------------------------------------------------- */

static int run(char *const *argv, char *const *env, long long timeout_ms,
	       size_t limit, struct phg_command_result *res,
	       struct phg_err *err)
{
	struct phg_command cmd = {.argv = argv,
				  .env = env,
				  .timeout_ms = timeout_ms,
				  .output_limit = limit};
	struct phg_call_ctx ctx = {.release = "v1.2.3", .step = "7"};

	memset(err, 0, sizeof(*err));
	return phg_command_run(&cmd, &ctx, res, err);
}

START_TEST(command_exit_codes_and_output)
{
	char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	char *ok[] = {"true", NULL};
	struct phg_command_result res;
	struct phg_err err;

	ck_assert_int_eq(run(argv, NULL, 5000, 0, &res, &err), 0);
	ck_assert_int_eq(res.exit_code, 3);
	ck_assert(!res.timed_out);
	ck_assert_int_eq(res.signal, 0);
	ck_assert_msg(strstr(res.output, "out\n") &&
			      strstr(res.output, "err\n"),
		      "output: '%s'", res.output);
	phg_command_result_release(&res);

	ck_assert_int_eq(run(ok, NULL, 5000, 0, &res, &err), 0);
	ck_assert_int_eq(res.exit_code, 0);
	ck_assert_str_eq(res.output, "");
	phg_command_result_release(&res);
}
END_TEST

START_TEST(command_output_is_bounded)
{
	char *argv[] = {"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x",
			NULL};
	struct phg_command_result res;
	struct phg_err err;

	ck_assert_int_eq(run(argv, NULL, 10000, 1000, &res, &err), 0);
	ck_assert_int_eq(res.exit_code, 0);
	ck_assert_uint_eq(res.output_len, 1000);
	ck_assert_uint_eq(strlen(res.output), 1000);
	ck_assert_uint_eq(res.output_dropped, 99000);
	ck_assert_int_eq(res.output[999], 'x');
	phg_command_result_release(&res);
}
END_TEST

/* Whether pid is gone (or a zombie nobody reaped yet). */
static bool pid_gone(long pid)
{
	char path[64], buf[256];
	FILE *f;
	char *rp;
	size_t n;

	if (kill((pid_t)pid, 0) != 0)
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && rp[2] == 'Z';
}

static bool wait_gone(long pid, long long ms)
{
	long long end = svc_now_ms() + ms;

	while (svc_now_ms() < end) {
		if (pid_gone(pid))
			return true;
		svc_sleep_ms(20);
	}
	return pid_gone(pid);
}

START_TEST(command_timeout_kills_the_group)
{
	char *dir = th_tmpdir(), file[512], script[1024], *pidtext;
	char *argv[] = {"sh", "-c", script, NULL};
	struct phg_command_result res;
	struct phg_err err;
	long grandchild;

	snprintf(file, sizeof(file), "%s/pid", dir);
	/* The grandchild (sleep) holds the output pipe open too. */
	snprintf(script, sizeof(script),
		 "sleep 30 & echo $! > '%s'; echo started; wait", file);
	ck_assert_int_eq(run(argv, NULL, 500, 0, &res, &err), 0);
	ck_assert(res.timed_out);
	ck_assert_int_eq(res.exit_code, -1);
	ck_assert_msg(res.ms >= 450 && res.ms < 3000, "ran %lld ms", res.ms);
	ck_assert_msg(strstr(res.output, "started"), "output '%s'", res.output);
	pidtext = th_slurp(file);
	ck_assert_ptr_nonnull(pidtext);
	grandchild = atol(pidtext);
	ck_assert_int_gt(grandchild, 1);
	ck_assert_msg(wait_gone(grandchild, 3000),
		      "grandchild %ld survived the timeout", grandchild);
	free(pidtext);
	phg_command_result_release(&res);

	/* A group that ignores SIGTERM gets SIGKILL 2 s later. */
	snprintf(script, sizeof(script),
		 "trap '' TERM; sleep 30 & echo $! > '%s'; wait; wait", file);
	ck_assert_int_eq(run(argv, NULL, 300, 0, &res, &err), 0);
	ck_assert(res.timed_out);
	ck_assert_msg(res.ms >= 2000 && res.ms < 5000, "ran %lld ms", res.ms);
	pidtext = th_slurp(file);
	ck_assert_ptr_nonnull(pidtext);
	grandchild = atol(pidtext);
	ck_assert_msg(wait_gone(grandchild, 3000),
		      "grandchild %ld survived SIGKILL", grandchild);
	free(pidtext);
	phg_command_result_release(&res);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(command_background_child_does_not_hold_it)
{
	char *argv[] = {"sh", "-c", "sleep 5 & echo $!", NULL};
	struct phg_command_result res;
	struct phg_err err;

	ck_assert_int_eq(run(argv, NULL, 10000, 0, &res, &err), 0);
	ck_assert_int_eq(res.exit_code, 0);
	ck_assert(!res.timed_out);
	ck_assert_msg(res.ms < 1500, "waited %lld ms for a background child",
		      res.ms);
	kill((pid_t)atol(res.output), SIGKILL);
	phg_command_result_release(&res);
}
END_TEST

START_TEST(command_env_is_passed)
{
	char *argv[] = {"sh", "-c",
			"printf '%s|%s|%s|%s' \"$PHASEGATE_RELEASE\" "
			"\"$PHASEGATE_STEP\" \"$FOO\" \"${PATH:+path}\"",
			NULL};
	char *env[] = {"FOO=bar baz", NULL};
	struct phg_command_result res;
	struct phg_err err;

	ck_assert_int_eq(run(argv, env, 5000, 0, &res, &err), 0);
	ck_assert_str_eq(res.output, "v1.2.3|7|bar baz|path");
	phg_command_result_release(&res);
}
END_TEST

START_TEST(command_argv_is_not_re_split)
{
	char *argv[] = {"printf", "[%s]\n", "a b",  "\"q\"", "it's",
			"$HOME",  "*",	    "; ls", NULL};
	struct phg_command_result res;
	struct phg_err err;

	ck_assert_int_eq(run(argv, NULL, 5000, 0, &res, &err), 0);
	ck_assert_int_eq(res.exit_code, 0);
	ck_assert_str_eq(res.output,
			 "[a b]\n[\"q\"]\n[it's]\n[$HOME]\n[*]\n[; ls]\n");
	phg_command_result_release(&res);
}
END_TEST

START_TEST(command_missing_binary_is_an_error)
{
	char *argv[] = {"phasegate-no-such-program", "x", NULL};
	char *argv2[] = {"/nonexistent/bin/tool", NULL};
	char *argv3[] = {"true", NULL};
	struct phg_command cmd = {.argv = argv3, .dir = "/nonexistent/dir"};
	struct phg_command_result res;
	struct phg_err err;

	ck_assert_int_eq(run(argv, NULL, 5000, 0, &res, &err), PHG_ERUNTIME);
	ck_assert_str_eq(err.msg, "cannot run 'phasegate-no-such-program': "
				  "not found in PATH");
	phg_command_result_release(&res);
	ck_assert_int_eq(run(argv2, NULL, 5000, 0, &res, &err), PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "'/nonexistent/bin/tool'") &&
			      strstr(err.msg, "No such file"),
		      "%s", err.msg);
	phg_command_result_release(&res);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(phg_command_run(&cmd, NULL, &res, &err), PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "in '/nonexistent/dir'"), "%s", err.msg);
	phg_command_result_release(&res);
}
END_TEST

/* ---- nginx for http and webhook ---------------------------------------- */

static struct svc_nginx web;
static int web_rc = -1, hole_fd = -1, hole_port, refused_port, tls_port;
static char *web_dir;

static void web_up(void)
{
	char body[8192], path[4096];
	int port = svc_free_port();
	char *openssl[] = {"openssl",  "req",
			   "-x509",    "-newkey",
			   "rsa:2048", "-nodes",
			   "-keyout",  "key.pem",
			   "-out",     "cert.pem",
			   "-days",    "1",
			   "-subj",    "/CN=127.0.0.1",
			   "-addext",  "subjectAltName=IP:127.0.0.1",
			   NULL};
	struct phg_command cmd = {.argv = openssl, .timeout_ms = 30000};
	struct phg_command_result res;
	struct phg_err err = {0};
	char big[3000];

	if (!svc_have("nginx") || !svc_have("openssl"))
		return;
	web_dir = svc_tmpdir();
	hole_fd = svc_blackhole(&hole_port);
	refused_port = svc_free_port();
	tls_port = svc_free_port();
	snprintf(path, sizeof(path), "%s/conf", web_dir);
	th_write_str(web_dir, "conf/.keep", "");
	cmd.dir = path;
	if (phg_command_run(&cmd, NULL, &res, &err) != 0 ||
	    res.exit_code != 0) {
		fprintf(stderr, "openssl failed: %s %s\n", err.msg,
			res.output ? res.output : "");
		phg_command_result_release(&res);
		return;
	}
	phg_command_result_release(&res);
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	th_write_str(web_dir, "html/big.txt", big);
	snprintf(body, sizeof(body),
		 "log_format pg '$request_uri $status "
		 "rel=$http_x_phasegate_release step=$http_x_phasegate_step';\n"
		 "log_format hook escape=json '{\"uri\":\"$request_uri\","
		 "\"body\":\"$request_body\","
		 "\"release\":\"$http_x_phasegate_release\","
		 "\"ctype\":\"$http_content_type\"}';\n"
		 "server {\n"
		 "  listen 127.0.0.1:%d;\n"
		 "  access_log PREFIX/logs/access.log pg;\n"
		 "  location = /health { return 200 \"ok\\n\"; }\n"
		 "  location = /fail { return 500 \"boom\\n\"; }\n"
		 "  location = /missing { return 404 \"nope\\n\"; }\n"
		 "  location = /big { alias PREFIX/html/big.txt; }\n"
		 "  location = /slow { proxy_pass http://127.0.0.1:%d; "
		 "proxy_read_timeout 60s; }\n"
		 "  location /hooks/ {\n"
		 "    client_body_buffer_size 64k;\n"
		 "    client_body_in_single_buffer on;\n"
		 "    access_log PREFIX/logs/hook.log hook;\n"
		 "    rewrite ^ /ok break;\n"
		 "    proxy_pass http://127.0.0.1:%d;\n"
		 "  }\n"
		 "  location /hookfail/ { return 500; }\n"
		 "  location = /ok { return 200 \"ok\"; }\n"
		 "}\n"
		 "server {\n"
		 "  listen 127.0.0.1:%d ssl;\n"
		 "  ssl_certificate PREFIX/conf/cert.pem;\n"
		 "  ssl_certificate_key PREFIX/conf/key.pem;\n"
		 "  location = /health { return 200 \"tls ok\\n\"; }\n"
		 "}\n",
		 port, hole_port, port, tls_port);
	web_rc = svc_nginx_start(&web, web_dir, port, body);
}

static void web_down(void)
{
	svc_nginx_stop(&web);
	if (hole_fd >= 0)
		close(hole_fd);
	hole_fd = -1;
	svc_rmdir(web_dir);
	web_dir = NULL;
}

static void require_web(void)
{
	ck_assert_msg(svc_have("nginx"), SVC_NGINX_MISSING);
	ck_assert_msg(svc_have("openssl"), "openssl is not installed");
	ck_assert_msg(web_rc == 0, "nginx did not start (see stderr)");
}

static char *web_url(const char *path)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "http://127.0.0.1:%d%s", web.port, path);
	return buf;
}

static const char *access_log(void)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/logs/access.log", web_dir);
	return buf;
}

/* nginx writes its access log line after the response: wait for it. */
static int wait_log_count(const char *path, const char *needle, int want)
{
	long long end = svc_now_ms() + 3000;
	int n;

	while ((n = svc_count_lines(path, needle)) < want && svc_now_ms() < end)
		svc_sleep_ms(20);
	return n;
}

START_TEST(http_get_and_headers)
{
	struct phg_http_request req = {.url = web_url("/health?t=get")};
	struct phg_call_ctx ctx = {.release = "v1.2.3", .step = "42"};
	struct phg_http_response res;
	struct phg_err err = {0};

	require_web();
	ck_assert_int_eq(phg_http_do(&req, &ctx, &res, &err), 0);
	ck_assert_int_eq(res.status, 200);
	ck_assert_str_eq(res.body, "ok\n");
	ck_assert_int_eq(res.attempts, 1);
	ck_assert_int_eq(wait_log_count(access_log(),
					"/health?t=get 200 rel=v1.2.3 step=42",
					1),
			 1);
	phg_http_response_release(&res);
}
END_TEST

START_TEST(http_retries_5xx_and_counts_them)
{
	struct phg_http_request req = {.url = web_url("/fail?t=retry"),
				       .retries = 2};
	struct phg_http_response res;
	struct phg_err err = {0};

	require_web();
	ck_assert_int_eq(phg_http_do(&req, NULL, &res, &err), 0);
	ck_assert_int_eq(res.status, 500);
	ck_assert_str_eq(res.body, "boom\n");
	ck_assert_int_eq(res.attempts, 3);
	/* backoff 100 + 200 ms between the three attempts */
	ck_assert_msg(res.ms >= 280 && res.ms < 3000, "took %lld ms", res.ms);
	ck_assert_int_eq(wait_log_count(access_log(), "/fail?t=retry 500", 3),
			 3);
	phg_http_response_release(&res);

	/* No retry on a 404. */
	req.url = web_url("/missing?t=noretry");
	ck_assert_int_eq(phg_http_do(&req, NULL, &res, &err), 0);
	ck_assert_int_eq(res.status, 404);
	ck_assert_int_eq(res.attempts, 1);
	phg_http_response_release(&res);
}
END_TEST

START_TEST(http_refused_and_timeout)
{
	char url[256];
	struct phg_http_request req = {.url = url, .retries = 2};
	struct phg_http_response res;
	struct phg_err err = {0};

	require_web();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", refused_port);
	ck_assert_int_eq(phg_http_do(&req, NULL, &res, &err), PHG_ERUNTIME);
	ck_assert_int_eq(res.attempts, 3);
	ck_assert_msg(strstr(err.msg, "GET http://127.0.0.1:") &&
			      strstr(err.msg, "failed") &&
			      strstr(err.msg, "after retries"),
		      "%s", err.msg);

	/* nginx waits on a socket that never answers: our deadline wins. */
	memset(&err, 0, sizeof(err));
	req.url = web_url("/slow");
	req.timeout_ms = 600;
	ck_assert_int_eq(phg_http_do(&req, NULL, &res, &err), PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "timed out"), "%s", err.msg);
	ck_assert_msg(res.ms >= 550 && res.ms < 2500, "took %lld ms", res.ms);
	ck_assert_int_eq(res.attempts, 1);
}
END_TEST

START_TEST(http_password_and_query_never_in_err)
{
	char url[256];
	struct phg_http_request req = {.url = url, .retries = 1};
	struct phg_http_check chk = {0};
	struct phg_http_response res;
	struct phg_err err = {0};
	char why[512];
	bool ok;

	require_web();
	snprintf(url, sizeof(url),
		 "http://alice:s3cr3t-pw@127.0.0.1:%d/x?token=tok-9876",
		 refused_port);
	ck_assert_int_eq(phg_http_do(&req, NULL, &res, &err), PHG_ERUNTIME);
	ck_assert_msg(!strstr(err.msg, "s3cr3t-pw") &&
			      !strstr(err.msg, "tok-9876") &&
			      !strstr(err.msg, "alice"),
		      "secret in '%s'", err.msg);
	ck_assert_msg(strstr(err.msg, "http://127.0.0.1:"), "%s", err.msg);

	/* An answer (500) through a URL with userinfo: why has no secret. */
	snprintf(url, sizeof(url),
		 "http://alice:s3cr3t-pw@127.0.0.1:%d/fail?token=tok-9876",
		 web.port);
	chk.req = req;
	ck_assert_int_eq(
		phg_http_check_run(&chk, NULL, &ok, why, sizeof(why), &err), 0);
	ck_assert(!ok);
	ck_assert_msg(strstr(why, "answered 500") && !strstr(why, "s3cr3t") &&
			      !strstr(why, "tok-9876"),
		      "%s", why);
}
END_TEST

START_TEST(http_smoke_check)
{
	struct phg_http_check chk = {.req = {.url = web_url("/health")},
				     .expect_body = "ok"};
	struct phg_err err = {0};
	char why[512], url[256];
	bool ok;

	require_web();
	ck_assert_int_eq(
		phg_http_check_run(&chk, NULL, &ok, why, sizeof(why), &err), 0);
	ck_assert_msg(ok, "%s", why);

	chk.expect_body = "ready";
	ck_assert_int_eq(
		phg_http_check_run(&chk, NULL, &ok, why, sizeof(why), &err), 0);
	ck_assert(!ok);
	ck_assert_msg(strstr(why, "without 'ready'") && strstr(why, "'ok "),
		      "%s", why);

	chk.req.url = web_url("/missing");
	chk.expect_body = NULL;
	ck_assert_int_eq(
		phg_http_check_run(&chk, NULL, &ok, why, sizeof(why), &err), 0);
	ck_assert(!ok);
	ck_assert_msg(strstr(why, "answered 404, expected 200: 'nope '"), "%s",
		      why);

	/* No answer at all is a failed check, not an error. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", refused_port);
	chk.req.url = url;
	ck_assert_int_eq(
		phg_http_check_run(&chk, NULL, &ok, why, sizeof(why), &err), 0);
	ck_assert(!ok);
	ck_assert_msg(strstr(why, "failed"), "%s", why);
	ck_assert_int_eq(err.code, 0);
}
END_TEST

START_TEST(http_body_limit_and_tls)
{
	char url[256], ca[4096];
	struct phg_http_request req = {.url = web_url("/big"),
				       .body_limit = 1000};
	struct phg_http_response res;
	struct phg_err err = {0};

	require_web();
	ck_assert_int_eq(phg_http_do(&req, NULL, &res, &err), PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "larger than 1000 bytes"), "%s", err.msg);
	req.body_limit = 0;
	ck_assert_int_eq(phg_http_do(&req, NULL, &res, &err), 0);
	ck_assert_uint_eq(res.body_len, 2999);
	phg_http_response_release(&res);

	/* A self-signed certificate is refused; with it as CA, accepted. */
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/health", tls_port);
	req.url = url;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(phg_http_do(&req, NULL, &res, &err), PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "certificate"), "%s", err.msg);
	snprintf(ca, sizeof(ca), "%s/conf/cert.pem", web_dir);
	req.ca_file = ca;
	ck_assert_int_eq(phg_http_do(&req, NULL, &res, &err), 0);
	ck_assert_int_eq(res.status, 200);
	ck_assert_str_eq(res.body, "tls ok\n");
	phg_http_response_release(&res);
}
END_TEST

/* ---- webhook ---------------------------------------------------------- */

/* The last line of hook.log holding needle, parsed; NULL when none. */
static cJSON *hook_entry(const char *needle)
{
	char path[4096], *all, *line, *found = NULL;
	long long end = svc_now_ms() + 3000;
	cJSON *j = NULL;

	snprintf(path, sizeof(path), "%s/logs/hook.log", web_dir);
	while (!found && svc_now_ms() < end) {
		all = th_slurp(path);
		for (line = all ? strtok(all, "\n") : NULL; line;
		     line = strtok(NULL, "\n"))
			if (strstr(line, needle)) {
				free(found);
				found = strdup(line);
			}
		free(all);
		if (!found)
			svc_sleep_ms(20);
	}
	if (found)
		j = cJSON_Parse(found);
	free(found);
	return j;
}

START_TEST(webhook_posts_escaped_json)
{
	const char *text = "release \"v1.2.3\" <b>done</b>\nback\\slash — ok";
	struct phg_webhook w = {.url = web_url("/hooks/T000/B000/abc")};
	struct phg_call_ctx ctx = {.release = "v1.2.3", .step = "9"};
	struct phg_err err = {0};
	cJSON *entry, *msg;

	require_web();
	ck_assert_int_eq(phg_webhook_post(&w, "finish", text, &ctx, &err), 0);
	entry = hook_entry("/hooks/T000/B000/abc");
	ck_assert_msg(entry, "no webhook line in hook.log");
	ck_assert_str_eq(cJSON_GetObjectItem(entry, "ctype")->valuestring,
			 "application/json");
	ck_assert_str_eq(cJSON_GetObjectItem(entry, "release")->valuestring,
			 "v1.2.3");
	msg = cJSON_Parse(cJSON_GetObjectItem(entry, "body")->valuestring);
	ck_assert_msg(msg, "body is not JSON: %s",
		      cJSON_GetObjectItem(entry, "body")->valuestring);
	ck_assert_str_eq(cJSON_GetObjectItem(msg, "text")->valuestring, text);
	ck_assert_str_eq(cJSON_GetObjectItem(msg, "event")->valuestring,
			 "finish");
	ck_assert_str_eq(cJSON_GetObjectItem(msg, "release")->valuestring,
			 "v1.2.3");
	ck_assert_str_eq(cJSON_GetObjectItem(msg, "step")->valuestring, "9");
	cJSON_Delete(msg);
	cJSON_Delete(entry);
}
END_TEST

START_TEST(webhook_failure_hides_the_secret_path)
{
	char url[256];
	struct phg_webhook w = {.url = web_url("/hookfail/T111/secret-xyz")};
	struct phg_err err = {0};

	require_web();
	ck_assert_int_eq(phg_webhook_post(&w, "rollback", "x", NULL, &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "answered 500") &&
			      strstr(err.msg, "(rollback)") &&
			      !strstr(err.msg, "secret-xyz") &&
			      !strstr(err.msg, "T111"),
		      "%s", err.msg);
	/* 500 is retried: three attempts reached nginx. */
	ck_assert_int_eq(wait_log_count(access_log(), "/hookfail/T111", 3), 3);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/secret-xyz",
		 refused_port);
	w.url = url;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(phg_webhook_post(&w, "start", "x", NULL, &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "webhook http://127.0.0.1:") &&
			      !strstr(err.msg, "secret-xyz"),
		      "%s", err.msg);
}
END_TEST

static Suite *providers_suite(void)
{
	Suite *s = suite_create("it_providers");
	TCase *tc = tcase_create("command");
	TCase *th = tcase_create("http_webhook");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, command_exit_codes_and_output);
	tcase_add_test(tc, command_output_is_bounded);
	tcase_add_test(tc, command_timeout_kills_the_group);
	tcase_add_test(tc, command_background_child_does_not_hold_it);
	tcase_add_test(tc, command_env_is_passed);
	tcase_add_test(tc, command_argv_is_not_re_split);
	tcase_add_test(tc, command_missing_binary_is_an_error);
	suite_add_tcase(s, tc);

	tcase_add_unchecked_fixture(th, web_up, web_down);
	tcase_set_timeout(th, 60);
	tcase_add_test(th, http_get_and_headers);
	tcase_add_test(th, http_retries_5xx_and_counts_them);
	tcase_add_test(th, http_refused_and_timeout);
	tcase_add_test(th, http_password_and_query_never_in_err);
	tcase_add_test(th, http_smoke_check);
	tcase_add_test(th, http_body_limit_and_tls);
	tcase_add_test(th, webhook_posts_escaped_json);
	tcase_add_test(th, webhook_failure_hides_the_secret_path);
	suite_add_tcase(s, th);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(providers_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
