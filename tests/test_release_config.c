/*
 * test_release_config.c: the orchestrator's config keys — "environment:",
 * "state:", a region's "vars:" and "release:" — every key read from a full
 * file, the ADR's defaults when absent, every kind of mistake with its
 * line, column and message, and templates: placeholders checked at load,
 * rendered on use, ${NAME} expanded only when asked.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "helpers.h"

static char *write_config(const char *dir, const char *text)
{
	char *path;

	th_write_str(dir, PHG_CONFIG_FILE, text);
	path = phg_path_join(dir, PHG_CONFIG_FILE);
	ck_assert_ptr_nonnull(path);
	return path;
}

static const char full[] =
	"environment: production\n"
	"state: ${PHASEGATE_STATE_URL}\n"
	"regions:\n"
	"  - name: us-east\n"
	"    primary: true\n"
	"    database: ${US_EAST_DATABASE_URL}\n"
	"    vars:\n"
	"      lb: /tmp/sandbox/us-east/lb\n"
	"      blue: 127.0.0.1:18081\n"
	"      green: 127.0.0.1:18082\n"
	"      deploy: ./deploy.sh\n"
	"  - name: eu-west\n"
	"    database: x\n"
	"    soak: 30m\n"
	"    vars: {lb: /lb2, blue: b2, green: g2, deploy: ./d2}\n"
	"release:\n"
	"  window:\n"
	"    timezone: Europe/Paris\n"
	"    days: [mon, fri]\n"
	"    hours: \"09:30-17:00\"\n"
	"    deny: [\"2026-12-24\", \"2026-12-25\"]\n"
	"  lease_ttl: 3m\n"
	"  traffic:\n"
	"    steps: [5, 25, 100]\n"
	"    hold: 1m\n"
	"    nginx:\n"
	"      prefix: \"{var.lb}\"\n"
	"      conf: conf/lb.conf\n"
	"      upstream_file: \"{var.lb}/conf/upstream.conf\"\n"
	"      upstream: app\n"
	"      blue: \"{var.blue}\"\n"
	"      green: \"{var.green}\"\n"
	"      timeout: 20s\n"
	"  analysis:\n"
	"    interval: 5s\n"
	"    sustain: 30s\n"
	"    healthy: { error_rate: 0.02, p99_ms: 300, http_5xx_rate: 0.001 }\n"
	"    rollback: { error_rate: 0.1, p99_ms: 900, http_5xx_rate: 0.03,\n"
	"                connections_ratio: 0.4 }\n"
	"    prometheus: http://127.0.0.1:9090\n"
	"    queries:\n"
	"      error_rate: "
	"'sum(rate(x{region=\"{region}\",s=~\"5..\"}[30s]))'\n"
	"      p99_ms: 'histogram_quantile(0.99, y{slot=\"{slot}\"})'\n"
	"      http_5xx_rate: 'z{a=~\"b{2}\"}'\n"
	"      connections: 'c{release=\"{release}\"}'\n"
	"  deploy:\n"
	"    command: [\"{var.deploy}\", \"{slot}\", \"{release}\", "
	"\"{step}\"]\n"
	"    timeout: 2m\n"
	"  smoke:\n"
	"    http: { url: \"http://{var.green}/health\", status: 204, body: "
	"ok,\n"
	"            timeout: 3s, retries: 5, method: HEAD,\n"
	"            headers: [\"X-Region: {region}\"], request_body: "
	"\"w={weight}\" }\n"
	"  flags:\n"
	"    unleash: { url: http://127.0.0.1:4242, token: "
	"\"${UNLEASH_TOKEN}\",\n"
	"               environment: production, project: p1,\n"
	"               features: [new-slug-ui, other], timeout: 4s }\n"
	"  notify:\n"
	"    webhook: { url: \"${SLACK_WEBHOOK_URL}\", timeout: 2s }\n";

START_TEST(test_every_key)
{
	char *dir = th_tmpdir(), *path = write_config(dir, full);
	const struct phg_release_settings *rs;
	struct phg_config cfg;
	struct phg_err err = {0};

	ck_assert_msg(phg_config_load(path, &cfg, &err) == 0, "%d:%d: %s",
		      err.line, err.col, err.msg);
	rs = &cfg.release;
	ck_assert_str_eq(cfg.environment, "production");
	ck_assert_str_eq(cfg.state, "${PHASEGATE_STATE_URL}");
	ck_assert_uint_eq(cfg.regions[0].nvars, 4);
	ck_assert_str_eq(cfg.regions[0].vars[0].name, "lb");
	ck_assert_str_eq(cfg.regions[0].vars[0].value,
			 "/tmp/sandbox/us-east/lb");
	ck_assert_str_eq(cfg.regions[1].vars[2].value, "g2");
	ck_assert(!rs->window.any);
	ck_assert_str_eq(rs->window.timezone, "Europe/Paris");
	ck_assert_uint_eq(rs->window.days, (1u << 1) | (1u << 5));
	ck_assert_int_eq(rs->window.start_min, 9 * 60 + 30);
	ck_assert_int_eq(rs->window.end_min, 17 * 60);
	ck_assert_uint_eq(rs->window.ndeny, 2);
	ck_assert_str_eq(rs->window.deny[1], "2026-12-25");
	ck_assert_int_eq(rs->lease_ttl_ms, 180000);
	ck_assert_uint_eq(rs->nsteps, 3);
	ck_assert_int_eq(rs->steps[0], 5);
	ck_assert_int_eq(rs->steps[2], 100);
	ck_assert_int_eq(rs->hold_ms, 60000);
	ck_assert(rs->have_nginx);
	ck_assert_ptr_null(rs->nginx.binary.text);
	ck_assert_str_eq(rs->nginx.prefix.text, "{var.lb}");
	ck_assert_int_eq(rs->nginx.prefix.line, 27);
	ck_assert_int_eq(rs->nginx.prefix.col, 15);
	ck_assert_str_eq(rs->nginx.upstream.text, "app");
	ck_assert_int_eq(rs->nginx.timeout_ms, 20000);
	ck_assert_int_eq(rs->interval_ms, 5000);
	ck_assert_int_eq(rs->sustain_ms, 30000);
	ck_assert_double_eq(rs->healthy[PHG_METRIC_ERROR_RATE], 0.02);
	ck_assert_double_eq(rs->healthy[PHG_METRIC_P99_MS], 300);
	ck_assert(rs->has_healthy[PHG_METRIC_HTTP_5XX_RATE]);
	ck_assert_double_eq(rs->rollback[PHG_METRIC_ERROR_RATE], 0.1);
	ck_assert_double_eq(rs->rollback[PHG_METRIC_P99_MS], 900);
	ck_assert_double_eq(rs->rollback[PHG_METRIC_HTTP_5XX_RATE], 0.03);
	ck_assert_double_eq(rs->rollback[PHG_METRIC_CONNECTIONS], 0.4);
	ck_assert_str_eq(rs->prometheus.text, "http://127.0.0.1:9090");
	ck_assert_str_eq(rs->queries[PHG_METRIC_HTTP_5XX_RATE].text,
			 "z{a=~\"b{2}\"}");
	ck_assert_int_eq(rs->deploy.kind, PHG_ACTION_COMMAND);
	ck_assert_uint_eq(rs->deploy.argc, 4);
	ck_assert_str_eq(rs->deploy.argv[1].text, "{slot}");
	ck_assert_int_eq(rs->deploy.timeout_ms, 120000);
	ck_assert_int_eq(rs->smoke.kind, PHG_ACTION_HTTP);
	ck_assert_str_eq(rs->smoke.url.text, "http://{var.green}/health");
	ck_assert_int_eq(rs->smoke.expect_status, 204);
	ck_assert_str_eq(rs->smoke.expect_body.text, "ok");
	ck_assert_str_eq(rs->smoke.method.text, "HEAD");
	ck_assert_str_eq(rs->smoke.body.text, "w={weight}");
	ck_assert_uint_eq(rs->smoke.nheaders, 1);
	ck_assert_int_eq(rs->smoke.timeout_ms, 3000);
	ck_assert_int_eq(rs->smoke.retries, 5);
	ck_assert(rs->have_unleash);
	ck_assert_str_eq(rs->unleash.token.text, "${UNLEASH_TOKEN}");
	ck_assert_str_eq(rs->unleash.project.text, "p1");
	ck_assert_uint_eq(rs->unleash.nfeatures, 2);
	ck_assert_str_eq(rs->unleash.features[1], "other");
	ck_assert_int_eq(rs->unleash.timeout_ms, 4000);
	ck_assert_str_eq(rs->webhook.text, "${SLACK_WEBHOOK_URL}");
	ck_assert_int_eq(rs->webhook_timeout_ms, 2000);
	phg_config_release(&cfg);
	free(path);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* No "release:" at all: the ADR's numbers. */
START_TEST(test_defaults)
{
	char *dir = th_tmpdir(),
	     *path = write_config(dir, "regions:\n  - name: a\n"
				       "    database: x\n");
	const struct phg_release_settings *rs;
	struct phg_config cfg;
	struct phg_err err = {0};
	char *loc = NULL, *want;

	ck_assert_int_eq(phg_config_load(path, &cfg, &err), 0);
	rs = &cfg.release;
	ck_assert_str_eq(cfg.environment, "default");
	ck_assert_ptr_null(cfg.state);
	ck_assert_int_eq(phg_config_state_location(&cfg, &loc, &err), 0);
	want = phg_path_join(dir, ".phasegate/state.db");
	ck_assert_str_eq(loc, want);
	ck_assert(!rs->window.any);
	ck_assert_str_eq(rs->window.timezone, "America/New_York");
	ck_assert_uint_eq(rs->window.days, 0x1e); /* Mon-Thu */
	ck_assert_int_eq(rs->window.start_min, 600);
	ck_assert_int_eq(rs->window.end_min, 960);
	ck_assert_int_eq(rs->lease_ttl_ms, 120000);
	ck_assert_uint_eq(rs->nsteps, 3);
	ck_assert_int_eq(rs->steps[0], 10);
	ck_assert_int_eq(rs->steps[1], 50);
	ck_assert_int_eq(rs->steps[2], 100);
	ck_assert_int_eq(rs->hold_ms, 300000);
	ck_assert_int_eq(rs->interval_ms, 15000);
	ck_assert_int_eq(rs->sustain_ms, 120000);
	ck_assert_double_eq(rs->healthy[PHG_METRIC_ERROR_RATE], 0.01);
	ck_assert_double_eq(rs->healthy[PHG_METRIC_P99_MS], 400);
	ck_assert_double_eq(rs->rollback[PHG_METRIC_ERROR_RATE], 0.05);
	ck_assert_double_eq(rs->rollback[PHG_METRIC_P99_MS], 1000);
	ck_assert_double_eq(rs->rollback[PHG_METRIC_HTTP_5XX_RATE], 0.02);
	ck_assert_double_eq(rs->rollback[PHG_METRIC_CONNECTIONS], 0.5);
	ck_assert_ptr_null(rs->prometheus.text);
	ck_assert_int_eq(rs->deploy.kind, PHG_ACTION_NONE);
	ck_assert_int_eq(rs->deploy.timeout_ms, 300000);
	ck_assert_int_eq(rs->smoke.timeout_ms, 10000);
	ck_assert_int_eq(rs->smoke.retries, 3);
	ck_assert(!rs->have_nginx && !rs->have_unleash);
	ck_assert_ptr_null(rs->webhook.text);
	free(want);
	free(loc);
	phg_config_release(&cfg);
	free(path);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_window_any)
{
	char *dir = th_tmpdir(),
	     *path = write_config(dir, "release:\n  window: any\n");
	struct phg_config cfg;
	struct phg_err err = {0};

	ck_assert_int_eq(phg_config_load(path, &cfg, &err), 0);
	ck_assert(cfg.release.window.any);
	phg_config_release(&cfg);
	free(path);
	th_rmtree(dir);
	free(dir);
}
END_TEST

static const struct bad {
	const char *what, *text;
	int line, col;
	const char *msg;
} bad[] = {
	{"environment type", "environment: [a]\n", 1, 14,
	 "'environment' must be an environment name, not a list"},
	{"environment chars", "environment: 'a b'\n", 1, 14,
	 "'environment' must be a name of letters, digits, '.', '_' and '-' "
	 "(at most 64), not 'a b'"},
	{"state bad ref", "state: ${1X}\n", 1, 8,
	 "'state' has an invalid environment variable name in '${...}': use "
	 "letters, digits and '_', not starting with a digit"},
	{"release not a map", "release: 5\n", 1, 10,
	 "'release' must be a mapping with 'window', 'traffic', 'analysis', "
	 "..., not '5'"},
	{"release unknown key", "release:\n  windw: any\n", 2, 3,
	 "unknown key 'windw' in 'release': it takes 'window', 'lease_ttl', "
	 "'traffic', 'analysis', 'deploy', 'smoke', 'flags' and 'notify'"},
	{"release contract", "release:\n  contract: after-cutover\n", 2, 3,
	 "'contract' is a top-level key, not one of 'release': move it out "
	 "of 'release'"},
	{"release duplicate", "release:\n  lease_ttl: 1m\n  lease_ttl: 2m\n", 3,
	 3, "duplicate key 'lease_ttl' (first at line 2)"},
	{"window word", "release:\n  window: always\n", 2, 11,
	 "'window' must be 'any' or a mapping with 'timezone', 'days', "
	 "'hours' and 'deny', not 'always'"},
	{"window tz", "release:\n  window: {timezone: Mars/Base}\n", 2, 22,
	 "'timezone' must be an IANA time zone such as America/New_York, not "
	 "'Mars/Base'"},
	{"window day", "release:\n  window:\n    days: [mon, fry]\n", 3, 17,
	 "a day must be one of sun, mon, tue, wed, thu, fri or sat, not 'fry'"},
	{"window hours", "release:\n  window:\n    hours: 16:00-10:00\n", 3, 12,
	 "'hours' must be a range such as \"10:00-16:00\" (start before end, "
	 "up to 24:00), not '16:00-10:00'"},
	{"window deny", "release:\n  window:\n    deny: [2026-02-30]\n", 3, 12,
	 "a denied date must be YYYY-MM-DD, not '2026-02-30'"},
	{"window key", "release:\n  window:\n    zone: UTC\n", 3, 5,
	 "unknown key 'zone' in 'window': it takes 'timezone', 'days', "
	 "'hours' and 'deny'"},
	{"lease zero", "release:\n  lease_ttl: 0\n", 2, 14,
	 "'lease_ttl' must be more than 0"},
	{"lease unit", "release:\n  lease_ttl: 5\n", 2, 14,
	 "'lease_ttl' must be a duration such as 5s, 500ms or 1h, not '5'"},
	{"steps falling", "release:\n  traffic:\n    steps: [50, 10, 100]\n", 3,
	 17, "'steps' must rise: 10 comes after 50"},
	{"steps end", "release:\n  traffic:\n    steps: [10, 50]\n", 3, 17,
	 "'steps' must end at 100 (the whole cutover), not 50"},
	{"steps range", "release:\n  traffic:\n    steps: [0, 100]\n", 3, 13,
	 "'steps' must be an integer between 1 and 100, not '0'"},
	{"steps type", "release:\n  traffic:\n    steps: 10\n", 3, 12,
	 "'steps' must be a list of green's percentages such as [10, 50, "
	 "100], not '10'"},
	{"traffic key", "release:\n  traffic:\n    weights: [1]\n", 3, 5,
	 "unknown key 'weights' in 'traffic': it takes 'steps', 'hold' and "
	 "'nginx'"},
	{"nginx missing", "release:\n  traffic:\n    nginx: {prefix: /x}\n", 3,
	 12, "'nginx' has no 'conf'"},
	{"nginx key",
	 "release:\n  traffic:\n    nginx: {prefix: /x, port: 8}\n", 3, 25,
	 "unknown key 'port' in 'nginx': it takes 'binary', 'prefix', 'conf', "
	 "'upstream_file', 'upstream', 'blue', 'green' and 'timeout'"},
	{"interval zero", "release:\n  analysis:\n    interval: 0\n", 3, 15,
	 "'interval' must be more than 0"},
	{"healthy range",
	 "release:\n  analysis:\n    healthy: {error_rate: 2}\n", 3, 27,
	 "'error_rate' must be a number from 0 to 1 (a fraction), not '2'"},
	{"healthy text", "release:\n  analysis:\n    healthy: {p99_ms: fast}\n",
	 3, 23,
	 "'p99_ms' must be a number from 0 to 1e+09 (milliseconds), not "
	 "'fast'"},
	{"healthy connections",
	 "release:\n  analysis:\n    healthy: {connections_ratio: 0.5}\n", 3,
	 15,
	 "unknown key 'connections_ratio' in 'healthy': it takes "
	 "'error_rate', 'p99_ms' and 'http_5xx_rate'"},
	{"rollback key", "release:\n  analysis:\n    rollback: {latency: 1}\n",
	 3, 16,
	 "unknown key 'latency' in 'rollback': it takes 'error_rate', "
	 "'p99_ms', 'http_5xx_rate' and 'connections_ratio'"},
	{"query key", "release:\n  analysis:\n    queries: {cpu: x}\n", 3, 15,
	 "unknown key 'cpu' in 'queries': it takes 'error_rate', 'p99_ms', "
	 "'http_5xx_rate' and 'connections'"},
	{"unknown placeholder",
	 "release:\n  analysis:\n    queries: {p99_ms: 'x{regoin}'}\n", 3, 23,
	 "'p99_ms' has an unknown placeholder '{regoin}': use {region}, "
	 "{slot}, {release}, {step}, {weight} or {var.NAME}"},
	{"analysis key", "release:\n  analysis:\n    window: 1m\n", 3, 5,
	 "unknown key 'window' in 'analysis': it takes 'interval', 'sustain', "
	 "'healthy', 'rollback', 'prometheus' and 'queries'"},
	{"deploy empty", "release:\n  deploy: {timeout: 1m}\n", 2, 11,
	 "'deploy' needs 'command' or 'http'"},
	{"deploy both", "release:\n  deploy: {command: [a], http: {url: x}}\n",
	 2, 12, "'deploy' takes 'command' or 'http', not both"},
	{"deploy command string", "release:\n  deploy: {command: ./d}\n", 2, 21,
	 "'deploy.command' must be a list (argv, no shell) such as "
	 "[\"./deploy\", \"{slot}\"], not './d'"},
	{"deploy placeholder",
	 "release:\n  deploy:\n    command: [d, '{color}']\n", 3, 18,
	 "'command' has an unknown placeholder '{color}': use {region}, "
	 "{slot}, {release}, {step}, {weight} or {var.NAME}"},
	{"smoke http url", "release:\n  smoke:\n    http: {status: 200}\n", 3,
	 11, "'smoke.http' has no 'url'"},
	{"smoke status", "release:\n  smoke:\n    http: {url: x, status: 99}\n",
	 3, 28, "'status' must be an integer between 100 and 599, not '99'"},
	{"smoke http key",
	 "release:\n  smoke:\n    http: {url: x, expect: 1}\n", 3, 20,
	 "unknown key 'expect' in 'http': it takes 'url', 'method', "
	 "'headers', 'request_body', 'status', 'body', 'retries' and "
	 "'timeout'"},
	{"smoke header",
	 "release:\n  smoke:\n    http: {url: x, headers: [a]}\n", 3, 30,
	 "a header must be \"Name: value\""},
	{"flags key", "release:\n  flags:\n    launchdarkly: {}\n", 3, 5,
	 "unknown key 'launchdarkly' in 'flags': it takes 'unleash'"},
	{"unleash missing", "release:\n  flags:\n    unleash: {url: x}\n", 3,
	 14, "'unleash' needs 'url', 'token', 'environment' and 'features'"},
	{"notify key", "release:\n  notify:\n    slack: {}\n", 3, 5,
	 "unknown key 'slack' in 'notify': it takes 'webhook'"},
	{"webhook url", "release:\n  notify:\n    webhook: {timeout: 1s}\n", 3,
	 14, "'webhook' has no 'url'"},
	{"vars type", "regions:\n  - name: a\n    database: x\n    vars: [1]\n",
	 4, 11,
	 "'vars' must be a mapping of names to texts, such as 'lb: /srv/lb', "
	 "not a list"},
	{"vars name",
	 "regions:\n  - name: a\n    database: x\n    vars: {1x: a}\n", 4, 12,
	 "a var name must be letters, digits and '_', not starting with a "
	 "digit, not '1x'"},
	{"vars value",
	 "regions:\n  - name: a\n    database: x\n    vars: {a: [1]}\n", 4, 15,
	 "var 'a' must be a text, not a list"},
	{"var missing in a region",
	 "regions:\n  - name: a\n    primary: true\n    database: x\n"
	 "    vars: {lb: /a}\n  - name: b\n    database: y\n"
	 "release:\n  traffic:\n    nginx:\n      prefix: '{var.lb}'\n"
	 "      conf: c\n      upstream_file: f\n      upstream: u\n"
	 "      blue: b\n      green: g\n",
	 11, 15,
	 "placeholder '{var.lb}': region 'b' has no 'lb' in its 'vars'"},
	{"var without regions",
	 "release:\n  deploy:\n    command: ['{var.x}']\n", 3, 15,
	 "placeholder '{var.x}' needs 'regions:' with 'vars'"},
};

START_TEST(test_bad)
{
	const struct bad *b = &bad[_i];
	char *dir = th_tmpdir(), *path = write_config(dir, b->text);
	struct phg_config cfg;
	struct phg_err err = {0};

	ck_assert_msg(phg_config_load(path, &cfg, &err) == PHG_ECONFIG,
		      "%s: loaded", b->what);
	ck_assert_msg(err.line == b->line && err.col == b->col,
		      "%s: at %d:%d, want %d:%d (%s)", b->what, err.line,
		      err.col, b->line, b->col, err.msg);
	ck_assert_msg(!strcmp(err.msg, b->msg), "%s:\n got: %s\nwant: %s",
		      b->what, err.msg, b->msg);
	ck_assert_str_eq(err.file, path);
	free(path);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_render)
{
	struct phg_var vars[] = {{"lb", "/srv/lb"}, {"tok", "${T_SECRET}"}};
	struct phg_region reg = {.name = "eu", .vars = vars, .nvars = 2};
	struct phg_template_vars v = {.region = "eu",
				      .slot = "green",
				      .release = "v1.2.3",
				      .step = "42",
				      .weight = 10,
				      .reg = &reg};
	struct phg_err err = {0};
	char *out = NULL;

	ck_assert_int_eq(
		phg_template_render("{var.lb}/{region}/{slot}/{release}/{step}/"
				    "{weight} x{a=\"{region}\"} {2} $${HOME}",
				    &v, false, &out, &err),
		0);
	ck_assert_str_eq(out, "/srv/lb/eu/green/v1.2.3/42/10 x{a=\"eu\"} {2} "
			      "$${HOME}");
	free(out);
	/* Not expanded: printed as written; expanded: the value. */
	setenv("T_SECRET", "s3cret", 1);
	ck_assert_int_eq(
		phg_template_render("t={var.tok}", &v, false, &out, &err), 0);
	ck_assert_str_eq(out, "t=${T_SECRET}");
	free(out);
	ck_assert_int_eq(
		phg_template_render("t={var.tok}", &v, true, &out, &err), 0);
	ck_assert_str_eq(out, "t=s3cret");
	free(out);
	unsetenv("T_SECRET");
	ck_assert_int_eq(
		phg_template_render("t={var.tok}", &v, true, &out, &err),
		PHG_ECONFIG);
	ck_assert_str_eq(err.msg, "environment variable 'T_SECRET' is not set");
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(
		phg_template_render("{var.nope}", &v, false, &out, &err),
		PHG_ECONFIG);
	ck_assert_str_eq(err.msg, "region 'eu' has no 'nope' in its 'vars'");
}
END_TEST

static Suite *release_config_suite(void)
{
	Suite *s = suite_create("release_config");
	TCase *tc = tcase_create("keys");

	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_window_any);
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_render);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(release_config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
