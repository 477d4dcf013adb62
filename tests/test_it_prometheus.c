/*
 * test_it_prometheus.c: integration tests of the prometheus provider
 * against a real Prometheus (Debian's package) scraping, every second, a
 * metrics file that a real nginx serves. The fixture waits for the first
 * scrape by polling `up{job="demo"} == 1` (bounded, never a fixed sleep).
 * Covered: a scalar, a vector of one sample, an empty vector (no data, not
 * an error), several samples, a bad query (error status), NaN, an answer
 * that is not Prometheus JSON, and a server that is not there.
 */
#include <check.h>

#include "providers/providers.h"
#include "util/util.h"

#include "it_services.h"

#define PROM_MISSING                                                           \
	"prometheus is not installed (Debian package 'prometheus', "           \
	"--no-install-recommends): run scripts/install-deps.sh"

static const char metrics[] =
	"# TYPE demo_requests_total counter\n"
	"demo_requests_total{slot=\"blue\",status=\"200\"} 90\n"
	"demo_requests_total{slot=\"green\",status=\"200\"} 9\n"
	"demo_requests_total{slot=\"green\",status=\"500\"} 1\n"
	"# TYPE demo_value gauge\n"
	"demo_value 42.5\n";

static struct svc_nginx web;
static pid_t prom_pid = -1;
static int prom_rc = -1, prom_port;
static char *web_dir, *prom_dir, prom_url[64];

static bool scraped(long long ms)
{
	struct phg_prometheus p = {.url = prom_url, .timeout_ms = 2000};
	long long end = svc_now_ms() + ms;

	while (svc_now_ms() < end) {
		struct phg_err err = {0};
		double v = 0;
		bool present = false;

		if (phg_prometheus_query(&p, "up{job=\"demo\"} == 1", &v,
					 &present, &err) == 0 &&
		    present && v == 1)
			return true;
		svc_sleep_ms(200);
	}
	return false;
}

static void prom_up(void)
{
	char body[1024], log[4200];
	int web_port = svc_free_port();
	long long t0 = svc_now_ms();

	if (!svc_have("nginx") || !svc_have("prometheus"))
		return;
	web_dir = svc_tmpdir();
	prom_dir = svc_tmpdir();
	th_write_str(web_dir, "html/metrics", metrics);
	snprintf(body, sizeof(body),
		 "server { listen 127.0.0.1:%d;\n"
		 "  location = /metrics { alias PREFIX/html/metrics; }\n"
		 "  location = /health { return 200 \"ok\\n\"; } }\n",
		 web_port);
	if (svc_nginx_start(&web, web_dir, web_port, body) != 0)
		return;
	prom_pid = svc_prometheus_start(prom_dir, "demo", web_port, &prom_port,
					log, sizeof(log));
	snprintf(prom_url, sizeof(prom_url), "http://127.0.0.1:%d", prom_port);
	if (prom_pid < 0 || !scraped(30000)) {
		fprintf(stderr, "prometheus did not scrape: %s\n",
			svc_log_tail(log));
		return;
	}
	printf("test_it_prometheus: first scrape queryable after %lld ms\n",
	       svc_now_ms() - t0);
	fflush(stdout);
	prom_rc = 0;
}

static void prom_down(void)
{
	svc_stop(prom_pid, SIGTERM, 10000);
	prom_pid = -1;
	svc_nginx_stop(&web);
	svc_rmdir(prom_dir);
	svc_rmdir(web_dir);
	prom_dir = web_dir = NULL;
}

static void require_prom(void)
{
	ck_assert_msg(svc_have("nginx"), SVC_NGINX_MISSING);
	ck_assert_msg(svc_have("prometheus"), PROM_MISSING);
	ck_assert_msg(prom_rc == 0, "prometheus did not start or scrape "
				    "(see stderr)");
}

static int query(const char *q, double *v, bool *present, struct phg_err *err)
{
	struct phg_prometheus p = {.url = prom_url, .timeout_ms = 5000};

	memset(err, 0, sizeof(*err));
	return phg_prometheus_query(&p, q, v, present, err);
}

START_TEST(scalar_and_single_sample)
{
	struct phg_err err;
	double v;
	bool present;

	require_prom();
	ck_assert_msg(query("scalar(demo_value) * 2", &v, &present, &err) == 0,
		      "%s", err.msg);
	ck_assert(present);
	ck_assert(v == 85.0);
	ck_assert_msg(query("demo_value", &v, &present, &err) == 0, "%s",
		      err.msg);
	ck_assert(present);
	ck_assert(v == 42.5);
	/* A PromQL selector with quotes, braces and a regex: URL-encoded. */
	ck_assert_msg(query("sum(demo_requests_total{slot=\"green\","
			    "status=~\"5..\"}) / "
			    "sum(demo_requests_total{slot=~\"gr.*\"})",
			    &v, &present, &err) == 0,
		      "%s", err.msg);
	ck_assert(present);
	ck_assert(v == 0.1);
}
END_TEST

START_TEST(empty_vector_is_no_data)
{
	struct phg_err err;
	double v = 7;
	bool present = true;

	require_prom();
	ck_assert_msg(query("demo_requests_total{slot=\"none\"}", &v, &present,
			    &err) == 0,
		      "%s", err.msg);
	ck_assert(!present);
	ck_assert_int_eq(err.code, 0);
}
END_TEST

START_TEST(errors_say_why)
{
	struct phg_prometheus other = {.timeout_ms = 3000};
	struct phg_err err;
	char url[64];
	double v;
	bool present;

	require_prom();
	ck_assert_int_eq(query("demo_requests_total", &v, &present, &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "returned 3 samples, expected one"), "%s",
		      err.msg);

	ck_assert_int_eq(query("sum(demo_value", &v, &present, &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "failed (bad_data)"), "%s", err.msg);

	ck_assert_int_eq(query("0/0", &v, &present, &err), PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "is NaN"), "%s", err.msg);

	ck_assert_int_eq(query("demo_value[1m]", &v, &present, &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "returned a matrix"), "%s", err.msg);

	/* nginx's /health is not Prometheus. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", web.port);
	other.url = url;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(phg_prometheus_query(&other, "up", &v, &present, &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "not Prometheus JSON"), "%s", err.msg);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", svc_free_port());
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(phg_prometheus_query(&other, "up", &v, &present, &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "GET http://127.0.0.1:"), "%s", err.msg);
}
END_TEST

START_TEST(rewritten_metrics_file_is_followed)
{
	/* The file is rewritten (temp + rename): the next scrapes see it. */
	char tmp[4200], dst[4200];
	struct phg_err err;
	long long end;
	double v = 0;
	bool present = false;

	require_prom();
	th_write_str(web_dir, "html/metrics.tmp",
		     "# TYPE demo_value gauge\ndemo_value 7\n");
	snprintf(tmp, sizeof(tmp), "%s/html/metrics.tmp", web_dir);
	snprintf(dst, sizeof(dst), "%s/html/metrics", web_dir);
	ck_assert_int_eq(rename(tmp, dst), 0);
	end = svc_now_ms() + 15000;
	while (svc_now_ms() < end) {
		if (query("demo_value", &v, &present, &err) == 0 && present &&
		    v == 7)
			break;
		svc_sleep_ms(200);
	}
	ck_assert_msg(present && v == 7, "demo_value is still %g", v);
}
END_TEST

static Suite *prom_suite(void)
{
	Suite *s = suite_create("it_prometheus");
	TCase *tc = tcase_create("instant_queries");

	tcase_add_unchecked_fixture(tc, prom_up, prom_down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, scalar_and_single_sample);
	tcase_add_test(tc, empty_vector_is_no_data);
	tcase_add_test(tc, errors_say_why);
	tcase_add_test(tc, rewritten_metrics_file_is_followed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(prom_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
