/*
 * test_it_release_analysis.c: `phasegate release` with its analysis and its
 * traffic provider real: a PostgreSQL 15 cluster (one region), an nginx load
 * balancer whose upstream file the release rewrites and reloads, a second
 * nginx serving the blue and green slots and a metrics file, and Prometheus
 * scraping that file every second. The metrics are written by the test (the
 * sandbox's end-to-end tests derive them from real traffic). Covered: a
 * healthy release advances through its steps with readings recorded and
 * the connections baseline taken before the cutover; then a release whose
 * error rate breaches is rolled back by the trigger after the sustain time
 * (the measured delay is printed and bounded), traffic back on the old slot;
 * webhook notifications posted on start, finish and rollback.
 */
#include "providers/providers.h"
#include "report/report.h"
#include "store/store.h"

#include "it_services.h"
#include "test_it_runner.h"

#define PROM_MISSING                                                           \
	"prometheus is not installed (Debian package 'prometheus', "           \
	"--no-install-recommends): run scripts/install-deps.sh"

static struct pgc_set pg;
static int pg_rc = -1, svc_rc = -1;
static struct svc_nginx backends, lb;
static pid_t prom_pid = -1;
static int blue_port, green_port, lb_port, metrics_port, prom_port;
static char *web_dir, *lb_dir, *prom_dir, prom_url[64];

static void write_metrics(double err_rate)
{
	char m[512];

	snprintf(m, sizeof(m),
		 "# TYPE app_error_rate gauge\n"
		 "app_error_rate{region=\"r1\"} %g\n"
		 "# TYPE app_p99_ms gauge\n"
		 "app_p99_ms{region=\"r1\"} 120\n"
		 "# TYPE app_connections gauge\n"
		 "app_connections{region=\"r1\"} 100\n",
		 err_rate);
	/* Rewritten whole, then renamed: a scrape never sees half. */
	th_write_str(web_dir, "html/metrics.tmp", m);
	{
		char a[4200], b[4200];

		snprintf(a, sizeof(a), "%s/html/metrics.tmp", web_dir);
		snprintf(b, sizeof(b), "%s/html/metrics", web_dir);
		rename(a, b);
		chmod(b, 0644);
	}
}

/* Waits until Prometheus answers q with v (30 s at most). */
static bool prom_shows(const char *q, double want)
{
	struct phg_prometheus p = {.url = prom_url, .timeout_ms = 2000};
	long long end = svc_now_ms() + 30000;

	while (svc_now_ms() < end) {
		struct phg_err err = {0};
		double v = 0;
		bool present = false;

		if (phg_prometheus_query(&p, q, &v, &present, &err) == 0 &&
		    present && v == want)
			return true;
		svc_sleep_ms(200);
	}
	return false;
}

static void up(void)
{
	char body[2048], log[4200];

	if (pgc_available())
		pg_rc = pgc_start(&pg, 1);
	if (!svc_have("nginx") || !svc_have("prometheus"))
		return;
	blue_port = svc_free_port();
	green_port = svc_free_port();
	metrics_port = svc_free_port();
	lb_port = svc_free_port();
	web_dir = svc_tmpdir();
	lb_dir = svc_tmpdir();
	prom_dir = svc_tmpdir();
	write_metrics(0.001);
	snprintf(body, sizeof(body),
		 "server { listen 127.0.0.1:%d;\n"
		 "  location = /metrics { alias PREFIX/html/metrics; }\n"
		 "  location = /hook { return 200 \"ok\\n\"; } }\n"
		 "server { listen 127.0.0.1:%d;\n"
		 "  location / { return 200 \"ok blue\\n\"; } }\n"
		 "server { listen 127.0.0.1:%d;\n"
		 "  location / { return 200 \"ok green\\n\"; } }\n",
		 metrics_port, blue_port, green_port);
	if (svc_nginx_start(&backends, web_dir, metrics_port, body) != 0)
		return;
	snprintf(body, sizeof(body),
		 "upstream app {\n    server 127.0.0.1:%d weight=100;\n"
		 "    server 127.0.0.1:%d down;\n}\n",
		 blue_port, green_port);
	th_write_str(lb_dir, "conf/upstream.conf", body);
	snprintf(body, sizeof(body),
		 "include PREFIX/conf/upstream.conf;\n"
		 "server { listen 127.0.0.1:%d;\n"
		 "  location / { proxy_pass http://app; } }\n",
		 lb_port);
	if (svc_nginx_start(&lb, lb_dir, lb_port, body) != 0)
		return;
	prom_pid = svc_prometheus_start(prom_dir, "app", metrics_port,
					&prom_port, log, sizeof(log));
	snprintf(prom_url, sizeof(prom_url), "http://127.0.0.1:%d", prom_port);
	if (prom_pid < 0 ||
	    !prom_shows("app_error_rate{region=\"r1\"}", 0.001)) {
		fprintf(stderr, "prometheus did not scrape: %s\n",
			svc_log_tail(log));
		return;
	}
	svc_rc = 0;
}

static void down(void)
{
	if (prom_pid > 0)
		svc_stop(prom_pid, SIGTERM, 10000);
	prom_pid = -1;
	svc_nginx_stop(&lb);
	svc_nginx_stop(&backends);
	svc_rmdir(prom_dir);
	svc_rmdir(lb_dir);
	svc_rmdir(web_dir);
	prom_dir = lb_dir = web_dir = NULL;
	pgc_stop_all(&pg);
}

static void write_config(const char *dir)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "environment: it\n"
		 "regions:\n"
		 "  - name: r1\n"
		 "    database: ${PHG_TEST_DB_1}\n"
		 "    vars: {lb: %s, blue: '127.0.0.1:%d', green: "
		 "'127.0.0.1:%d'}\n"
		 "release:\n"
		 "  window: any\n"
		 "  traffic:\n"
		 "    steps: [50, 100]\n"
		 "    hold: 3s\n"
		 "    nginx:\n"
		 "      prefix: '{var.lb}'\n"
		 "      conf: conf/nginx.conf\n"
		 "      upstream_file: '{var.lb}/conf/upstream.conf'\n"
		 "      upstream: app\n"
		 "      blue: '{var.blue}'\n"
		 "      green: '{var.green}'\n"
		 "  analysis:\n"
		 "    interval: 500ms\n"
		 "    sustain: 2s\n"
		 "    prometheus: %s\n"
		 "    queries:\n"
		 "      error_rate: 'app_error_rate{region=\"{region}\"}'\n"
		 "      p99_ms: 'app_p99_ms{region=\"{region}\"}'\n"
		 "      connections: 'app_connections{region=\"{region}\"}'\n"
		 "  smoke:\n"
		 "    http: {url: 'http://{var.green}/health', body: ok}\n"
		 "  notify:\n"
		 "    webhook: {url: 'http://127.0.0.1:%d/hook'}\n",
		 lb_dir, blue_port, green_port, prom_url, metrics_port);
	th_write_str(dir, "phasegate.yaml", buf);
}

static double step_ms(const struct phg_store_step *s, size_t n,
		      const char *name)
{
	double ms = -1;

	for (size_t i = 0; i < n; i++)
		if (phg_streq(s[i].name, name))
			phg_report_parse_time(s[i].started_at, &ms);
	return ms;
}

START_TEST(healthy_then_trigger_rollback)
{
	struct phg_store_release rel = {0};
	struct phg_store_reading *rd = NULL;
	struct phg_store_event *ev = NULL;
	struct phg_store_step *steps = NULL;
	struct phg_store *st = NULL;
	struct phg_err e = {0};
	size_t nr = 0, ne = 0, ns = 0, er = 0;
	char *dir, dsn[512], path[4200], *out = NULL, *err = NULL, *up_conf;
	double t50, trb;
	bool found = false, base = false;
	int rc;

	ck_assert_msg(pgc_available(), PGC_UNAVAILABLE_MSG);
	ck_assert_msg(pg_rc == 0, "pgc_start failed (see stderr)");
	ck_assert_msg(svc_have("nginx"), SVC_NGINX_MISSING);
	ck_assert_msg(svc_have("prometheus"), PROM_MISSING);
	ck_assert_msg(svc_rc == 0, "nginx or prometheus did not start");
	dir = th_tmpdir();
	rt_createdb(&pg.c[0], false, dsn, sizeof(dsn));
	setenv("PHG_TEST_DB_1", dsn, 1);
	rt_mig(dir, "0001_t", "CREATE TABLE t (id bigint PRIMARY KEY);\n");
	write_config(dir);

	/* Healthy: both steps held, readings recorded, green live. */
	rc = rt_run(dir, &out, &err, "release", "v1", NULL);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	ck_assert_msg(rt_has(out, "connections before the cutover: 100") &&
			      rt_has(out, "traffic 50%: ") &&
			      rt_has(out, "healthy error_rate=0.001"),
		      "%s", out);
	free(out);
	free(err);
	snprintf(path, sizeof(path), "%s/conf/upstream.conf", lb_dir);
	up_conf = th_slurp(path);
	ck_assert_msg(rt_has(up_conf, "down") && rt_has(up_conf, "weight=100"),
		      "%s", up_conf);
	ck_assert_msg(strstr(up_conf, "down") < strstr(up_conf, "weight=100"),
		      "blue should be down, green at 100: %s", up_conf);
	free(up_conf);
	snprintf(path, sizeof(path), "%s/.phasegate/state.db", dir);
	ck_assert_int_eq(phg_store_open(path, &st, &e), 0);
	ck_assert_int_eq(
		phg_store_release_get(st, "it", "v1", &rel, &found, &e), 0);
	ck_assert(found && rel.state == PHG_REL_SUCCEEDED);
	ck_assert_int_eq(phg_store_reading_list(st, rel.id, &rd, &nr, &e), 0);
	for (size_t i = 0; i < nr; i++)
		if (phg_streq(rd[i].metric, "error_rate")) {
			ck_assert(!rd[i].breached);
			er++;
		}
	/* Two steps of 3 s each, every 500 ms: about 14 evaluations. */
	ck_assert_msg(er >= 10, "%zu error_rate readings", er);
	phg_store_reading_free_array(rd, nr);
	ck_assert_int_eq(phg_store_event_list(st, rel.id, &ev, &ne, &e), 0);
	for (size_t i = 0; i < ne; i++)
		if (phg_streq(ev[i].kind, "baseline") &&
		    phg_streq(ev[i].detail, "100"))
			base = true;
	ck_assert(base);
	phg_store_event_free_array(ev, ne);
	phg_store_release_release(&rel);

	/* Breaching: v2 goes to blue; the trigger rolls it back. */
	write_metrics(0.2);
	ck_assert(prom_shows("app_error_rate{region=\"r1\"}", 0.2));
	rc = rt_run(dir, &out, &err, "release", "v2", NULL);
	ck_assert_msg(rc == 1, "exit %d\n%s\n%s", rc, out, err);
	ck_assert_msg(rt_has(err, "trigger error_rate held for 2000 ms at 50%"),
		      "%s", err);
	free(out);
	free(err);
	snprintf(path, sizeof(path), "%s/conf/upstream.conf", lb_dir);
	up_conf = th_slurp(path);
	/* Old slot (green) has it all again, blue is down. */
	ck_assert_msg(strstr(up_conf, "down") &&
			      strstr(up_conf, "down") <
				      strstr(up_conf, "weight=100"),
		      "%s", up_conf);
	free(up_conf);
	ck_assert_int_eq(
		phg_store_release_get(st, "it", "v2", &rel, &found, &e), 0);
	ck_assert(found && rel.state == PHG_REL_ROLLED_BACK);
	ck_assert_int_eq(phg_store_step_list(st, rel.id, &steps, &ns, &e), 0);
	t50 = step_ms(steps, ns, "traffic-50");
	trb = step_ms(steps, ns, "rollback");
	ck_assert(t50 > 0 && trb > 0);
	printf("test_it_release_analysis: rollback %.0f ms after the 50%% "
	       "step began (sustain 2000 ms, interval 500 ms)\n",
	       trb - t50);
	fflush(stdout);
	ck_assert_msg(trb - t50 >= 2000 && trb - t50 <= 2000 + 2 * 500 + 2000,
		      "rollback after %.0f ms", trb - t50);
	phg_store_step_free_array(steps, ns);
	phg_store_release_release(&rel);
	phg_store_close(st);
	/* Notifications: v1 start and finish, v2 start and rollback. */
	snprintf(path, sizeof(path), "%s/logs/access.log", web_dir);
	ck_assert_int_eq(svc_count_lines(path, "POST /hook"), 4);
	th_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *analysis_suite(void)
{
	Suite *s = suite_create("it_release_analysis");
	TCase *tc = tcase_create("analysis");

	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, healthy_then_trigger_rollback);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(analysis_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
