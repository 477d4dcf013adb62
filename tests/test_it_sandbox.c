/*
 * test_it_sandbox.c: integration test of `phasegate sandbox` with the real
 * programs — three PostgreSQL 15 clusters, six nginx, three mtail and one
 * Prometheus on 127.0.0.1. `up` runs once in an UNCHECKED fixture (the
 * runner process) and `down` in its teardown; the tests, forked by Check,
 * find the sandbox through its state file. Every wait is bounded.
 *
 * Stopping always happens, even when a test fails (tests/sandbox_world.c,
 * shared with test_it_e2e.c): the fixture's teardown runs `sandbox down`;
 * an atexit handler and a fatal-signal handler (fork and exec of `sandbox
 * down`, async-signal-safe) do it in the runner when the teardown did not
 * run; and a guard process in its own session, which waits on a pipe from
 * the runner, does it when the runner is SIGKILLed.
 */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "sandbox_world.h"

#define REGION "us-east-1"

/* The sandbox of this run: sandbox_world.c's sw_dir. */
static const char *const dir = sw_dir;

/* ---- the fixture (tests/sandbox_world.c) ---------------------------- */

static void sandbox_up(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
	sw_up();
}

static void sandbox_down(void)
{
	sw_down();
}

static void require_up(void)
{
	sw_require_up();
}

/* ---- the sandbox's state -------------------------------------------- */

/* ---- HTTP ------------------------------------------------------------- */

struct body {
	char buf[65536];
	size_t len;
};

static size_t on_data(char *p, size_t sz, size_t nm, void *arg)
{
	struct body *b = arg;
	size_t n = sz * nm, take = n;

	if (take > sizeof(b->buf) - 1 - b->len)
		take = sizeof(b->buf) - 1 - b->len;
	memcpy(b->buf + b->len, p, take);
	b->len += take;
	b->buf[b->len] = '\0';
	return n;
}

/* GET http://127.0.0.1:port + path; returns the status, 0 for none. */
static long get(int port, const char *path, struct body *b)
{
	char url[2048];
	long status = 0;
	CURL *c = curl_easy_init();

	b->len = 0;
	b->buf[0] = '\0';
	ck_assert_ptr_nonnull(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}

/*
 * An instant Prometheus query. Returns true with *value when the result
 * is one sample; false when the vector is empty (no data yet).
 */
static bool prom_query(int port, const char *promql, double *value)
{
	CURL *c = curl_easy_init();
	char *q = curl_easy_escape(c, promql, 0);
	char path[2048];
	struct body b;
	cJSON *j, *res, *first, *val;
	bool have = false;

	snprintf(path, sizeof(path), "/api/v1/query?query=%s", q);
	curl_free(q);
	curl_easy_cleanup(c);
	ck_assert_int_eq(get(port, path, &b), 200);
	j = cJSON_Parse(b.buf);
	ck_assert_msg(j != NULL, "prometheus answered: %s", b.buf);
	res = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(j, "data"), "result");
	first = cJSON_GetArrayItem(res, 0);
	val = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(first, "value"), 1);
	if (cJSON_IsString(val)) {
		*value = strtod(val->valuestring, NULL);
		have = true;
	}
	cJSON_Delete(j);
	return have;
}

/* ---- helpers ----------------------------------------------------------- */

static int phasegate(const char *const *argv, char **out, char **err)
{
	return th_run("/tmp", argv, out, err);
}

/*
 * Writes the balancer's upstream file in phg_nginx's format (blue first,
 * "down" at 0 %) and reloads it: nginx -t, then nginx -s reload, argv.
 */

/* Counts the slots that answer n requests through the balancer. */
static void send_requests(int lb_port, int n, int *blue, int *green,
			  int *errors)
{
	struct body b;

	*blue = *green = *errors = 0;
	for (int i = 0; i < n; i++) {
		long code = get(lb_port, "/app", &b);

		if (code != 200)
			(*errors)++;
		else if (strncmp(b.buf, "blue ", 5) == 0)
			(*blue)++;
		else if (strncmp(b.buf, "green ", 6) == 0)
			(*green)++;
	}
}

static void deploy_green(const char *release)
{
	const char *argv[] = {"sandbox",   "deploy", "--dir",  dir,
			      "--region",  REGION,   "--slot", "green",
			      "--release", release,  NULL};
	char *out = NULL, *err = NULL;
	int rc = phasegate(argv, &out, &err);

	ck_assert_msg(rc == 0, "sandbox deploy: exit %d: %s", rc, err);
	free(out);
	free(err);
}

/* A query of the written config, {region} and {slot} filled in. */
static void config_query(const char *name, const char *slot, char *out,
			 size_t size)
{
	char path[256], key[64], *text, *line, *end;
	struct sub {
		const char *from, *to;
	} subs[] = {{"{region}", REGION}, {"{slot}", slot}};
	size_t o = 0;

	snprintf(path, sizeof(path), "%s/phasegate.yaml", dir);
	text = th_slurp(path);
	ck_assert_ptr_nonnull(text);
	snprintf(key, sizeof(key), "      %s: '", name);
	line = strstr(text, key);
	ck_assert_msg(line != NULL, "no query '%s' in the config", name);
	line += strlen(key);
	end = strchr(line, '\'');
	ck_assert_ptr_nonnull(end);
	while (line < end && o + 32 < size) {
		bool done = false;

		for (size_t i = 0; i < 2 && !done; i++) {
			size_t n = strlen(subs[i].from);

			if (strncmp(line, subs[i].from, n) == 0) {
				o += (size_t)snprintf(out + o, size - o, "%s",
						      subs[i].to);
				line += n;
				done = true;
			}
		}
		if (!done)
			out[o++] = *line++;
	}
	out[o] = '\0';
	free(text);
}

static bool port_open(int port)
{
	struct sockaddr_in a = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)port);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Every row of `status` (after the header) answers; returns the rows. */
static int status_rows_answering(const char *out)
{
	int rows = 0;
	const char *line = strchr(out, '\n');

	while (line && line[1]) {
		char name[32], region[32], addr[64], state[16];
		long pid;

		ck_assert_msg(sscanf(line + 1, "%31s %31s %63s %ld %15s", name,
				     region, addr, &pid, state) == 5,
			      "cannot read the status row: %.80s", line + 1);
		ck_assert_msg(strcmp(state, "answers") == 0,
			      "%s of %s (%s) is %s", name, region, addr, state);
		rows++;
		line = strchr(line + 1, '\n');
	}
	return rows;
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(up_starts_every_component_and_status_shows_them_answering)
{
	const char *argv[] = {"sandbox", "status", "--dir", dir, NULL};
	char *out = NULL, *err = NULL, path[256], *cfg, want[256];
	struct sw_info in;
	int rc;

	require_up();
	rc = phasegate(argv, &out, &err);
	ck_assert_msg(rc == 0, "sandbox status: exit %d: %s%s", rc, out, err);
	/* 3 x (postgres, blue, green, slots, balancer, mtail) + prometheus */
	ck_assert_int_eq(status_rows_answering(out), 6 * SW_NREGIONS + 1);
	ck_assert_ptr_nonnull(strstr(out, "us-east-1"));
	ck_assert_ptr_nonnull(strstr(out, "eu-west-1"));
	ck_assert_ptr_nonnull(strstr(out, "ap-southeast-1"));
	ck_assert_ptr_nonnull(strstr(out, "prometheus"));
	free(out);
	free(err);

	/* The config points at the sandbox's own clusters and services. */
	sw_read_info(&in);
	snprintf(path, sizeof(path), "%s/phasegate.yaml", dir);
	cfg = th_slurp(path);
	ck_assert_ptr_nonnull(cfg);
	for (int i = 0; i < SW_NREGIONS; i++) {
		snprintf(
			want, sizeof(want),
			"database: postgresql://postgres@127.0.0.1:%d/postgres",
			in.r[i].pg);
		ck_assert_msg(strstr(cfg, want), "config lacks '%s'", want);
		snprintf(want, sizeof(want), "blue: 127.0.0.1:%d",
			 in.r[i].blue);
		ck_assert_msg(strstr(cfg, want), "config lacks '%s'", want);
	}
	snprintf(want, sizeof(want), "prometheus: http://127.0.0.1:%d",
		 in.prom);
	ck_assert_msg(strstr(cfg, want), "config lacks '%s'", want);
	snprintf(want, sizeof(want),
		 "\"sandbox\", \"deploy\", \"--dir\", \"%s\"", dir);
	ck_assert_msg(strstr(cfg, want), "config lacks '%s'", want);
	ck_assert_ptr_nonnull(strstr(cfg, "migrations: \"/"));
	ck_assert_ptr_nonnull(
		strstr(cfg, "upstream_file: \"{var.lb}/conf/upstream.conf\""));
	free(cfg);
}
END_TEST

START_TEST(up_again_while_it_runs_changes_nothing)
{
	const char *argv[] = {"sandbox",      "up",   "--dir", dir,
			      "--migrations", "/tmp", NULL};
	struct sw_info before, after;
	char *out = NULL, *err = NULL;
	int rc;

	require_up();
	sw_read_info(&before);
	rc = phasegate(argv, &out, &err);
	ck_assert_msg(rc == 0, "second up: exit %d: %s", rc, err);
	ck_assert_ptr_nonnull(strstr(out, "already up"));
	sw_read_info(&after);
	ck_assert_int_eq(before.r[0].lb, after.r[0].lb);
	ck_assert_int_eq(before.prom_pid, after.prom_pid);
	free(out);
	free(err);
}
END_TEST

/* The sum of mtail's lb_requests_total{slot=SLOT} samples on port. */
static double mtail_count(int port, const char *slot)
{
	static struct body b;
	char want[64];
	double sum = 0;
	const char *p;

	ck_assert_int_eq(get(port, "/metrics", &b), 200);
	snprintf(want, sizeof(want), "lb_requests_total{slot=\"%s\"", slot);
	for (p = strstr(b.buf, want); p; p = strstr(p + 1, want)) {
		const char *sp = strchr(p, '}');

		if (sp)
			sum += strtod(sp + 1, NULL);
	}
	return sum;
}

START_TEST(traffic_through_each_balancer_reaches_blue)
{
	struct sw_info in;
	int blue, green, errors;
	double before[SW_NREGIONS], deadline;

	require_up();
	sw_read_info(&in);
	for (int i = 0; i < SW_NREGIONS; i++) {
		before[i] = mtail_count(in.r[i].mtail, "blue");
		send_requests(in.r[i].lb, 30, &blue, &green, &errors);
		ck_assert_int_eq(errors, 0);
		ck_assert_int_eq(green, 0);
		ck_assert_int_eq(blue, 30);
	}
	/* mtail counts every one of them from the balancer's access log. */
	deadline = sw_now() + 10;
	for (int i = 0; i < SW_NREGIONS; i++) {
		double n;

		while ((n = mtail_count(in.r[i].mtail, "blue") - before[i]) <
			       30 &&
		       sw_now() < deadline)
			sw_sleep_ms(100);
		ck_assert_msg(n == 30,
			      "mtail of region %d counted %g of 30 requests", i,
			      n);
	}
}
END_TEST

START_TEST(deploy_green_then_half_the_traffic_reaches_it)
{
	struct sw_info in;
	struct body b;
	int blue, green, errors, n = 200;
	double deadline;

	require_up();
	sw_read_info(&in);
	sw_set_weights(&in.r[0], 0);
	deploy_green("v2.0.0");
	ck_assert_int_eq(get(in.r[0].green, "/version", &b), 200);
	ck_assert_str_eq(b.buf, "v2.0.0\n");
	ck_assert_int_eq(get(in.r[0].green, "/app", &b), 200);
	ck_assert_str_eq(b.buf, "green v2.0.0\n");
	/* Repeating a deploy is harmless. */
	deploy_green("v2.0.0");
	ck_assert_int_eq(get(in.r[0].green, "/version", &b), 200);
	ck_assert_str_eq(b.buf, "v2.0.0\n");
	/* The slot router reaches green by name (the config's smoke). */
	ck_assert_int_eq(get(in.r[0].slots, "/green/health", &b), 200);
	ck_assert_str_eq(b.buf, "ok\n");
	/* Deploying green moved no traffic. */
	send_requests(in.r[0].lb, 20, &blue, &green, &errors);
	ck_assert_int_eq(blue, 20);

	sw_set_weights(&in.r[0], 50);
	/* The reload is graceful and asynchronous: wait for green. */
	deadline = sw_now() + 15;
	do {
		send_requests(in.r[0].lb, 4, &blue, &green, &errors);
		ck_assert_int_eq(errors, 0);
		ck_assert_msg(sw_now() < deadline,
			      "green gets no traffic 15 s after the reload");
	} while (green == 0);
	send_requests(in.r[0].lb, n, &blue, &green, &errors);
	printf("sandbox: 50/50 split over %d requests: blue %d, green %d\n", n,
	       blue, green);
	ck_assert_int_eq(errors, 0);
	ck_assert_int_eq(blue + green, n);
	ck_assert_int_ge(green, n / 2 - n * 15 / 100);
	ck_assert_int_le(green, n / 2 + n * 15 / 100);
	/* The other regions stay on blue. */
	send_requests(in.r[1].lb, 10, &blue, &green, &errors);
	ck_assert_int_eq(blue, 10);
}
END_TEST

START_TEST(broken_green_shows_in_prometheus_from_real_traffic)
{
	const char *brk[] = {"sandbox", "break",  "--dir", dir, "--region",
			     REGION,	"--slot", "green", NULL};
	const char *fix[] = {"sandbox", "break",  "--dir", dir,	    "--region",
			     REGION,	"--slot", "green", "--fix", NULL};
	char q5xx[1024], qerr[1024], qblue[1024], qp99[1024];
	char *out = NULL, *err = NULL;
	struct sw_info in;
	struct body b;
	double t0, value = 0, seen = -1, over = -1, blue_rate = 0, p99 = 0;
	int blue, green, errors, rc;
	bool have;

	require_up();
	sw_read_info(&in);
	deploy_green("v2.0.0");
	sw_set_weights(&in.r[0], 50);
	config_query("http_5xx_rate", "green", q5xx, sizeof(q5xx));
	config_query("error_rate", "green", qerr, sizeof(qerr));
	config_query("http_5xx_rate", "blue", qblue, sizeof(qblue));
	config_query("p99_ms", "blue", qp99, sizeof(qp99));

	rc = phasegate(brk, &out, &err);
	ck_assert_msg(rc == 0, "sandbox break: exit %d: %s", rc, err);
	free(out);
	free(err);
	ck_assert_int_eq(get(in.r[0].green, "/app", &b), 500);
	ck_assert_int_eq(get(in.r[0].green, "/health", &b), 200);

	/*
	 * Real traffic through the balancer; Prometheus sees it via mtail.
	 * Green's 200s from before the break leave the 10 s window gradually:
	 * measure when the rate is first above 0, when it passes the ADR's
	 * rollback threshold (0.02), and wait until it is above 0.9.
	 */
	t0 = sw_now();
	while (sw_now() - t0 < 60) {
		send_requests(in.r[0].lb, 20, &blue, &green, &errors);
		ck_assert_int_eq(green, 0); /* green now answers only 500 */
		ck_assert_int_gt(blue, 0);
		have = prom_query(in.prom, q5xx, &value);
		if (have && value > 0 && seen < 0)
			seen = sw_now() - t0;
		if (have && value > 0.02 && over < 0)
			over = sw_now() - t0;
		if (have && value > 0.9)
			break;
		sw_sleep_ms(200);
	}
	ck_assert_msg(seen >= 0,
		      "no 5xx rate for green in Prometheus 60 s after break "
		      "(query %s)",
		      q5xx);
	ck_assert_msg(value > 0.9,
		      "green's 5xx rate is %g, not near 1, 60 s after break",
		      value);
	printf("sandbox: green's 5xx rate in Prometheus: > 0 after %.1f s, > "
	       "0.02 after %.1f s, %.3f after %.1f s\n",
	       seen, over, value, sw_now() - t0);
	ck_assert(prom_query(in.prom, qerr, &value));
	ck_assert(value > 0.9);
	/* Blue serves the same traffic without errors. */
	ck_assert(prom_query(in.prom, qblue, &blue_rate));
	ck_assert_msg(blue_rate == 0, "blue's 5xx rate is %g", blue_rate);
	ck_assert(prom_query(in.prom, qp99, &p99));
	printf("sandbox: blue's p99 through the balancer: %.1f ms\n", p99);
	ck_assert(p99 > 0 && p99 < 1000);

	rc = phasegate(fix, &out, &err);
	ck_assert_msg(rc == 0, "sandbox break --fix: exit %d: %s", rc, err);
	free(out);
	free(err);
	ck_assert_int_eq(get(in.r[0].green, "/app", &b), 200);
	send_requests(in.r[0].lb, 20, &blue, &green, &errors);
	ck_assert_int_eq(errors, 0);
	ck_assert_int_gt(green, 0);
}
END_TEST

START_TEST(down_stops_everything_and_a_second_up_works)
{
	const char *down[] = {"sandbox", "down", "--dir", dir, NULL};
	const char *up[] = {
		"sandbox", "up",	   "--dir",
		dir,	   "--migrations", th_src_path("migrations"),
		NULL};
	const char *status[] = {"sandbox", "status", "--dir", dir, NULL};
	char *out = NULL, *err = NULL;
	struct sw_info in;
	long pids[4 * SW_NREGIONS + 1];
	int ports[6 * SW_NREGIONS + 1], np = 0, nports = 0, rc;
	double t0, deadline;
	struct stat sb;

	require_up();
	sw_read_info(&in);
	pids[np++] = in.prom_pid;
	ports[nports++] = in.prom;
	for (int i = 0; i < SW_NREGIONS; i++) {
		const struct sw_region *r = &in.r[i];

		for (int k = 0; k < 4; k++)
			pids[np++] = r->pids[k];
		ports[nports++] = r->pg;
		ports[nports++] = r->blue;
		ports[nports++] = r->green;
		ports[nports++] = r->slots;
		ports[nports++] = r->lb;
		ports[nports++] = r->mtail;
	}
	t0 = sw_now();
	rc = phasegate(down, &out, &err);
	ck_assert_msg(rc == 0, "sandbox down: exit %d: %s", rc, err);
	printf("sandbox: down in %.2f s\n", sw_now() - t0);
	free(out);
	free(err);
	ck_assert_msg(stat(dir, &sb) < 0 && errno == ENOENT,
		      "'%s' is still there", dir);
	deadline = sw_now() + 10;
	for (int i = 0; i < np; i++) {
		while (!sw_pid_gone(pids[i]) && sw_now() < deadline)
			sw_sleep_ms(20);
		ck_assert_msg(sw_pid_gone(pids[i]), "process %ld still runs",
			      pids[i]);
	}
	for (int i = 0; i < nports; i++) {
		while (port_open(ports[i]) && sw_now() < deadline)
			sw_sleep_ms(20);
		ck_assert_msg(!port_open(ports[i]), "port %d still answers",
			      ports[i]);
	}
	/* Down again: nothing to do, not an error. */
	rc = phasegate(down, &out, &err);
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(strstr(out, "nothing runs"));
	free(out);
	free(err);
	/* Status of no sandbox fails and says so. */
	rc = phasegate(status, &out, &err);
	ck_assert_int_ne(rc, 0);
	ck_assert_ptr_nonnull(strstr(err, "no sandbox"));
	free(out);
	free(err);

	/* A second up works (the fixture's teardown takes it down). */
	t0 = sw_now();
	rc = phasegate(up, &out, &err);
	ck_assert_msg(rc == 0, "second up after down: exit %d: %s", rc, err);
	printf("sandbox: up again in %.2f s\n", sw_now() - t0);
	free(out);
	free(err);
	rc = phasegate(status, &out, &err);
	ck_assert_msg(rc == 0, "status after the second up: exit %d: %s%s", rc,
		      out, err);
	ck_assert_int_eq(status_rows_answering(out), 6 * SW_NREGIONS + 1);
	free(out);
	free(err);
}
END_TEST

/* Runs before the down test: it leaves one region without its mtail. */
START_TEST(a_dead_component_shows_in_status_and_up_refuses)
{
	const char *status[] = {"sandbox", "status", "--dir", dir, NULL};
	const char *up[] = {"sandbox",	    "up",   "--dir", dir,
			    "--migrations", "/tmp", NULL};
	char *out = NULL, *err = NULL;
	struct sw_info in;
	double deadline;
	long pid;
	int rc;

	require_up();
	sw_read_info(&in);
	pid = in.r[2].pids[3]; /* ap-southeast-1's mtail */
	ck_assert_int_gt(pid, 1);
	ck_assert_int_eq(kill((pid_t)pid, SIGKILL), 0);
	deadline = sw_now() + 10;
	while (!sw_pid_gone(pid) && sw_now() < deadline)
		sw_sleep_ms(20);
	ck_assert(sw_pid_gone(pid));
	rc = phasegate(status, &out, &err);
	ck_assert_int_eq(rc, 3);
	ck_assert_msg(strstr(out, "mtail       ap-southeast-1") &&
			      strstr(out, "stopped"),
		      "status does not show the dead mtail:\n%s", out);
	ck_assert_ptr_nonnull(strstr(err, "1 sandbox component is not"));
	free(out);
	free(err);
	rc = phasegate(up, &out, &err);
	ck_assert_int_eq(rc, 3);
	ck_assert_msg(strstr(err, "runs only in part") &&
			      strstr(err, "mtail of ap-southeast-1"),
		      "up says: %s", err);
	free(out);
	free(err);
}
END_TEST

START_TEST(bad_arguments_are_usage_errors)
{
	const char *bad_region[] = {"sandbox",	 "deploy", "--dir",  dir,
				    "--region",	 "mars-1", "--slot", "green",
				    "--release", "v1",	   NULL};
	const char *bad_slot[] = {"sandbox", "break",  "--dir", dir, "--region",
				  REGION,    "--slot", "red",	NULL};
	const char *bad_tag[] = {"sandbox",   "deploy",	 "--dir",  dir,
				 "--region",  REGION,	 "--slot", "green",
				 "--release", "v1\"; x", NULL};
	const char *no_release[] = {"sandbox", "deploy",   "--dir",
				    dir,       "--region", REGION,
				    "--slot",  "green",	   NULL};
	const char *bad_verb[] = {"sandbox", "explode", NULL};
	char *out = NULL, *err = NULL;

	require_up();
	ck_assert_int_eq(phasegate(bad_region, &out, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "unknown region 'mars-1'"));
	free(out);
	free(err);
	ck_assert_int_eq(phasegate(bad_slot, &out, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "unknown slot 'red'"));
	free(out);
	free(err);
	ck_assert_int_eq(phasegate(bad_tag, &out, &err), 2);
	free(out);
	free(err);
	ck_assert_int_eq(phasegate(no_release, &out, &err), 2);
	free(out);
	free(err);
	ck_assert_int_eq(phasegate(bad_verb, &out, &err), 2);
	free(out);
	free(err);
}
END_TEST

static Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("sandbox");

	tcase_add_unchecked_fixture(tc, sandbox_up, sandbox_down);
	tcase_set_timeout(tc, 240);
	tcase_add_test(
		tc, up_starts_every_component_and_status_shows_them_answering);
	tcase_add_test(tc, up_again_while_it_runs_changes_nothing);
	tcase_add_test(tc, traffic_through_each_balancer_reaches_blue);
	tcase_add_test(tc, deploy_green_then_half_the_traffic_reaches_it);
	tcase_add_test(tc, broken_green_shows_in_prometheus_from_real_traffic);
	tcase_add_test(tc, bad_arguments_are_usage_errors);
	tcase_add_test(tc, a_dead_component_shows_in_status_and_up_refuses);
	tcase_add_test(tc, down_stops_everything_and_a_second_up_works);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sandbox_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
