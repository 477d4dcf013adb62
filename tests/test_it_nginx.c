/*
 * test_it_nginx.c: integration tests of the nginx traffic provider with
 * two real nginx instances, as RECIPES.md advises: one serves the blue and
 * green slots (each answers its own name), the other is the load balancer
 * whose config includes the upstream file phg_nginx_set_weights writes.
 * Covered: 0/10/50/100 % for green — the file's exact text, the weights
 * read back, and the split of 200 requests sent through the balancer; a
 * call returning only once new workers took over; a repeated call; a
 * config nginx -t rejects (the old file stays); and
 * ten reloads under four concurrent streams of requests, none of which may
 * fail.
 */
#include <check.h>
#include <dirent.h>

#include "providers/providers.h"
#include "util/util.h"

#include "it_services.h"

static struct svc_nginx backends, lb;
static int nginx_rc = -1, blue_port, green_port;
static char *be_dir, *lb_dir, upstream_path[4096], blue_addr[64],
	green_addr[64];

static void nginx_up(void)
{
	char body[4096];
	int lb_port = svc_free_port();

	if (!svc_have("nginx"))
		return;
	be_dir = svc_tmpdir();
	lb_dir = svc_tmpdir();
	blue_port = svc_free_port();
	green_port = svc_free_port();
	snprintf(blue_addr, sizeof(blue_addr), "127.0.0.1:%d", blue_port);
	snprintf(green_addr, sizeof(green_addr), "127.0.0.1:%d", green_port);
	snprintf(
		body, sizeof(body),
		"server { listen %s; location / { return 200 \"blue\\n\"; } }\n"
		"server { listen %s; location / { return 200 \"green\\n\"; } "
		"}\n",
		blue_addr, green_addr);
	if (svc_nginx_start(&backends, be_dir, blue_port, body) != 0 ||
	    !svc_wait_port(green_port, 5000))
		return;
	snprintf(upstream_path, sizeof(upstream_path), "%s/conf/upstream.conf",
		 lb_dir);
	snprintf(body, sizeof(body),
		 "upstream app {\n    server %s weight=100;\n"
		 "    server %s down;\n}\n",
		 blue_addr, green_addr);
	th_write_str(lb_dir, "conf/upstream.conf", body);
	snprintf(body, sizeof(body),
		 "include PREFIX/conf/upstream.conf;\n"
		 "server {\n"
		 "  listen 127.0.0.1:%d;\n"
		 "  location / {\n"
		 "    proxy_pass http://app;\n"
		 "    proxy_next_upstream error timeout;\n"
		 "    add_header Connection close;\n"
		 "  }\n"
		 "}\n",
		 lb_port);
	nginx_rc = svc_nginx_start(&lb, lb_dir, lb_port, body);
}

static void nginx_down(void)
{
	svc_nginx_stop(&lb);
	svc_nginx_stop(&backends);
	svc_rmdir(lb_dir);
	svc_rmdir(be_dir);
	lb_dir = be_dir = NULL;
}

static void require_nginx(void)
{
	ck_assert_msg(svc_have("nginx"), SVC_NGINX_MISSING);
	ck_assert_msg(nginx_rc == 0, "nginx did not start (see stderr)");
}

static struct phg_nginx provider(void)
{
	struct phg_nginx p = {.prefix = lb_dir,
			      .conf = "conf/nginx.conf",
			      .upstream_file = upstream_path,
			      .upstream = "app",
			      .blue = blue_addr,
			      .green = green_addr,
			      .timeout_ms = 20000};

	return p;
}

/*
 * The balancer's workers that are not shutting down (children of its
 * master, from /proc); returns how many, up to max.
 */
static int live_workers(pid_t *out, int max)
{
	char path[64], buf[512];
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)) != NULL && n < max) {
		long pid = strtol(de->d_name, NULL, 10), ppid;
		FILE *f;
		size_t r;
		char *rp;

		if (pid <= 0)
			continue;

		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		r = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[r] = '\0';
		rp = strrchr(buf, ')');
		if (!rp || sscanf(rp + 1, " %*c %ld", &ppid) != 1 ||
		    ppid != (long)lb.pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		r = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[r] = '\0';
		if (strstr(buf, "worker process") &&
		    !strstr(buf, "shutting down"))
			out[n++] = (pid_t)pid;
	}
	if (d)
		closedir(d);
	return n;
}

/* Sends n GETs through the balancer; counts green answers and failures. */
static void send_requests(int n, int *green, int *failed)
{
	char url[128];
	struct phg_http_request req = {.url = url, .timeout_ms = 5000};

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", lb.port);
	*green = *failed = 0;
	for (int i = 0; i < n; i++) {
		struct phg_http_response res;
		struct phg_err err = {0};

		if (phg_http_do(&req, NULL, &res, &err) != 0 ||
		    res.status != 200) {
			(*failed)++;
		} else if (strcmp(res.body, "green\n") == 0) {
			(*green)++;
		} else if (strcmp(res.body, "blue\n") != 0) {
			(*failed)++;
		}
		phg_http_response_release(&res);
	}
}

START_TEST(weights_split_the_traffic)
{
	static const int steps[] = {0, 10, 50, 100};
	struct phg_nginx p;

	require_nginx();
	p = provider();
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int w = steps[i], got = -1, green, failed;
		struct phg_err err = {0};
		char want[512], *text;
		long long t0 = svc_now_ms();
		pid_t before[8], after[8];
		int nb = live_workers(before, 8), na;

		ck_assert_int_ge(nb, 1);
		ck_assert_msg(phg_nginx_set_weights(&p, w, &err) == 0,
			      "set %d: %s", w, err.msg);
		printf("test_it_nginx: set_weights(%d) took %lld ms\n", w,
		       svc_now_ms() - t0);
		/* It returned once the reload took effect: only new workers
		   take requests. */
		na = live_workers(after, 8);
		ck_assert_int_ge(na, 1);
		for (int k = 0; k < na; k++)
			for (int j = 0; j < nb; j++)
				ck_assert_int_ne(after[k], before[j]);
		ck_assert_int_eq(phg_nginx_get_weights(&p, &got, &err), 0);
		ck_assert_int_eq(got, w);
		text = th_slurp(upstream_path);
		snprintf(want, sizeof(want),
			 "# written by phasegate: green %d %%\n"
			 "upstream app {\n"
			 "    server %s %s%.0d;\n"
			 "    server %s %s%.0d;\n"
			 "}\n",
			 w, blue_addr, w == 100 ? "down" : "weight=", 100 - w,
			 green_addr, w == 0 ? "down" : "weight=", w);
		ck_assert_str_eq(text, want);
		free(text);
		send_requests(200, &green, &failed);
		printf("test_it_nginx: green %d %%: %d of 200 requests to "
		       "green, %d failed\n",
		       w, green, failed);
		ck_assert_int_eq(failed, 0);
		/* One worker, smooth weighted round robin: near exact. */
		ck_assert_msg(abs(green - 2 * w) <= 10,
			      "green %d %%: %d of 200 went to green", w, green);
		if (w == 0 || w == 100)
			ck_assert_int_eq(green, 2 * w);
	}
	fflush(stdout);
}
END_TEST

START_TEST(repeat_and_rejected_config)
{
	struct phg_nginx p, bad;
	struct phg_err err = {0};
	char *before, *after;
	int got;

	char pid_file[4200];

	require_nginx();
	p = provider();
	ck_assert_int_eq(phg_nginx_set_weights(&p, 50, &err), 0);
	/* The same again, with the pid file given instead of read from the
	   conf's (quoted) pid line. */
	snprintf(pid_file, sizeof(pid_file), "%s/nginx.pid", lb_dir);
	p.pid_file = pid_file;
	ck_assert_int_eq(phg_nginx_set_weights(&p, 50, &err), 0);
	ck_assert_int_eq(phg_nginx_get_weights(&p, &got, &err), 0);
	ck_assert_int_eq(got, 50);

	ck_assert_int_eq(phg_nginx_set_weights(&p, 101, &err), PHG_ECONFIG);
	memset(&err, 0, sizeof(err));

	/* nginx -t refuses the file: the old one is put back. */
	before = th_slurp(upstream_path);
	bad = p;
	bad.green = "127.0.0.1:notaport";
	ck_assert_int_eq(phg_nginx_set_weights(&bad, 10, &err), PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "nginx -t rejected") &&
			      strstr(err.msg, "notaport"),
		      "%s", err.msg);
	after = th_slurp(upstream_path);
	ck_assert_str_eq(after, before);
	free(before);
	free(after);

	/* No nginx running under this prefix: the reload fails. */
	memset(&err, 0, sizeof(err));
	bad = p;
	bad.pid_file = "/nonexistent/nginx.pid";
	bad.prefix = "/nonexistent";
	bad.conf = "/nonexistent/conf/nginx.conf";
	ck_assert_int_ne(phg_nginx_set_weights(&bad, 10, &err), 0);
	ck_assert_msg(err.msg[0], "no message");
}
END_TEST

START_TEST(reload_under_load_loses_nothing)
{
	enum { STREAMS = 4 };
	char stop[4096];
	struct phg_nginx p;
	long long t0;
	int reloads = 0, status;
	long requests = 0, failures = 0, greens = 0;
	pid_t kids[STREAMS];

	require_nginx();
	p = provider();
	snprintf(stop, sizeof(stop), "%s/stop", lb_dir);
	unlink(stop);
	for (int k = 0; k < STREAMS; k++) {
		kids[k] = fork();
		ck_assert_int_ge(kids[k], 0);
		if (kids[k] == 0) {
			/* A stream: one request after the other until told
			   to stop (30 s at most), then its counts in a
			   file. */
			char url[128], line[96], name[32];
			struct phg_http_request req = {.url = url,
						       .timeout_ms = 5000};
			long n = 0, bad = 0, green = 0;
			long long end = svc_now_ms() + 30000;

			snprintf(url, sizeof(url), "http://127.0.0.1:%d/",
				 lb.port);
			while (access(stop, F_OK) != 0 && svc_now_ms() < end) {
				struct phg_http_response res;
				struct phg_err err = {0};

				if (phg_http_do(&req, NULL, &res, &err) != 0 ||
				    res.status != 200)
					bad++;
				else if (strcmp(res.body, "green\n") == 0)
					green++;
				n++;
				phg_http_response_release(&res);
			}
			snprintf(line, sizeof(line), "%ld %ld %ld\n", n, bad,
				 green);
			snprintf(name, sizeof(name), "counts.%d", k);
			th_write_str(lb_dir, name, line);
			_exit(0);
		}
	}
	svc_sleep_ms(300);
	t0 = svc_now_ms();
	for (int i = 0; i < 10; i++) {
		struct phg_err err = {0};
		int w = (i % 2) ? 90 : 10;

		ck_assert_msg(phg_nginx_set_weights(&p, w, &err) == 0, "%s",
			      err.msg);
		reloads++;
		svc_sleep_ms(100);
	}
	th_write_str(lb_dir, "stop", "");
	for (int k = 0; k < STREAMS; k++) {
		char path[4200], *counts;
		long n, bad, green;

		ck_assert_int_eq(waitpid(kids[k], &status, 0), kids[k]);
		snprintf(path, sizeof(path), "%s/counts.%d", lb_dir, k);
		counts = th_slurp(path);
		ck_assert_ptr_nonnull(counts);
		ck_assert_int_eq(
			sscanf(counts, "%ld %ld %ld", &n, &bad, &green), 3);
		free(counts);
		requests += n;
		failures += bad;
		greens += green;
	}
	printf("test_it_nginx: %d reloads in %lld ms under %d concurrent "
	       "streams: %ld requests (%ld to green), %ld failed\n",
	       reloads, svc_now_ms() - t0, STREAMS, requests, greens, failures);
	fflush(stdout);
	ck_assert_msg(requests >= 100, "only %ld requests", requests);
	/* Both slots served during the shifts. */
	ck_assert_int_gt(greens, 0);
	ck_assert_int_lt(greens, requests);
	ck_assert_int_eq(failures, 0);
}
END_TEST

static Suite *nginx_suite(void)
{
	Suite *s = suite_create("it_nginx");
	TCase *tc = tcase_create("blue_green");

	tcase_add_unchecked_fixture(tc, nginx_up, nginx_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, weights_split_the_traffic);
	tcase_add_test(tc, repeat_and_rejected_config);
	tcase_add_test(tc, reload_under_load_loses_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nginx_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
