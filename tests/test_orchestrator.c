/*
 * test_orchestrator.c: the orchestrator's decisions without a network or a
 * real clock — deployment windows at fixed instants across America/New_York's
 * daylight saving changes, denied dates and day boundaries; and the analysis
 * of a traffic step with an injected clock: a healthy step advances after
 * its hold, a trigger must hold for the sustain time, a blip shorter than
 * that does not roll back, missing data is never a breach, and active
 * connections are compared with the reading before the cutover. Also the
 * config's flags.unleash.rollout (at-done, with-traffic, or an error at its
 * line and column).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/orchestrator.h"

#include "helpers.h"

/* Seconds since the epoch of a UTC civil time (no timegm: not POSIX). */
static time_t utc(int y, int mo, int d, int h, int mi)
{
	long long yy = y - (mo <= 2);
	long long era = (yy >= 0 ? yy : yy - 399) / 400;
	long long yoe = yy - era * 400;
	long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	long long days = era * 146097 + doe - 719468;

	return (time_t)(days * 86400 + h * 3600 + mi * 60);
}

/* The ADR's window: Mon-Thu 10:00-16:00 America/New_York. */
static struct phg_window adr_window(void)
{
	static char tz[] = "America/New_York";
	struct phg_window w = {
		.timezone = tz, .days = 0x1e, .start_min = 600, .end_min = 960};
	return w;
}

static bool is_open(const struct phg_window *w, time_t t, char *why, size_t n)
{
	struct phg_err err = {0};
	bool open = false;

	ck_assert_msg(phg_window_check(w, t, &open, why, n, &err) == 0, "%s",
		      err.msg);
	return open;
}

static const struct instant {
	const char *what;
	int y, mo, d, h, mi; /* UTC */
	bool open;
	const char *local; /* in the description */
} instants[] = {
	/* Before the spring change (EST, UTC-5). */
	{"mon 10:00 EST", 2026, 3, 2, 15, 0, true, "Mon 2026-03-02 10:00 EST"},
	{"mon 09:59 EST", 2026, 3, 2, 14, 59, false, "09:59 EST"},
	{"mon 09:00 EST (14:00Z)", 2026, 3, 2, 14, 0, false, "09:00 EST"},
	/* After it (EDT, UTC-4): the same 14:00Z is 10:00 and open. */
	{"mon 10:00 EDT (14:00Z)", 2026, 3, 9, 14, 0, true,
	 "Mon 2026-03-09 10:00 EDT"},
	{"mon 15:59 EDT", 2026, 3, 9, 19, 59, true, "15:59 EDT"},
	{"mon 16:00 EDT (end is out)", 2026, 3, 9, 20, 0, false, "16:00 EDT"},
	/* The day of the change itself is a Sunday: never open. */
	{"sun of the change", 2026, 3, 8, 15, 0, false, "Sun 2026-03-08"},
	{"fri 11:00 EDT", 2026, 3, 13, 15, 0, false, "not an allowed day"},
	/* Monday late evening local is Tuesday in UTC. */
	{"mon 23:00 EDT (tue UTC)", 2026, 3, 10, 3, 0, false,
	 "Mon 2026-03-09 23:00 EDT is outside the allowed hours"},
	/* Autumn: EDT until Sun 2026-11-01 02:00, then EST. */
	{"thu 10:00 EDT", 2026, 10, 29, 14, 0, true, "10:00 EDT"},
	{"mon 09:00 EST after (14:00Z)", 2026, 11, 2, 14, 0, false,
	 "09:00 EST"},
	{"mon 10:00 EST after", 2026, 11, 2, 15, 0, true, "10:00 EST"},
	{"thu 15:30 EST", 2026, 11, 5, 20, 30, true, "15:30 EST"},
	{"thu 16:30 EST", 2026, 11, 5, 21, 30, false, "16:30 EST"},
};

START_TEST(test_window_dst)
{
	const struct instant *in = &instants[_i];
	struct phg_window w = adr_window();
	char why[512];
	bool open = is_open(&w, utc(in->y, in->mo, in->d, in->h, in->mi), why,
			    sizeof(why));

	ck_assert_msg(open == in->open, "%s: %s", in->what, why);
	ck_assert_msg(strstr(why, in->local), "%s: '%s' lacks '%s'", in->what,
		      why, in->local);
	ck_assert_msg(strstr(why, "Mon-Thu 10:00-16:00 America/New_York"),
		      "%s: %s", in->what, why);
}
END_TEST

START_TEST(test_window_deny_local_date)
{
	static char tz[] = "America/New_York";
	char d1[] = "2026-12-24";
	char *deny[] = {d1};
	struct phg_window w = {.timezone = tz,
			       .days = 0x7f,
			       .start_min = 0,
			       .end_min = 1440,
			       .deny = deny,
			       .ndeny = 1};
	char why[512];

	/* 2026-12-25 03:00Z is still the 24th in New York. */
	ck_assert(!is_open(&w, utc(2026, 12, 25, 3, 0), why, sizeof(why)));
	ck_assert_msg(strstr(why, "a denied date"), "%s", why);
	/* 2026-12-24 04:00Z is the 23rd, 23:00 EST. */
	ck_assert(is_open(&w, utc(2026, 12, 24, 4, 0), why, sizeof(why)));
	ck_assert(!is_open(&w, utc(2026, 12, 24, 5, 0), why, sizeof(why)));
	ck_assert(is_open(&w, utc(2026, 12, 25, 5, 0), why, sizeof(why)));
}
END_TEST

START_TEST(test_window_evening)
{
	/* Mon 18:00-23:00: Tue 02:00Z is Mon 22:00 EDT, open. */
	static char tz[] = "America/New_York";
	struct phg_window w = {.timezone = tz,
			       .days = 1u << 1,
			       .start_min = 18 * 60,
			       .end_min = 23 * 60};
	char why[512];

	ck_assert(is_open(&w, utc(2026, 3, 10, 2, 0), why, sizeof(why)));
	ck_assert(!is_open(&w, utc(2026, 3, 3, 4, 0), why, sizeof(why)));
	ck_assert(is_open(&w, utc(2026, 3, 3, 3, 30), why, sizeof(why)));
}
END_TEST

START_TEST(test_window_any_and_errors)
{
	struct phg_window any = {.any = true}, w = adr_window();
	static char bad[] = "Nowhere/Atlantis";
	struct phg_err err = {0};
	char why[256];
	bool open = false;

	setenv("TZ", "Asia/Tokyo", 1);
	ck_assert(is_open(&any, 0, why, sizeof(why)));
	ck_assert_str_eq(why, "open: the window is 'any'");
	w.timezone = bad;
	ck_assert_int_eq(phg_window_check(&w, 0, &open, why, sizeof(why), &err),
			 PHG_ECONFIG);
	ck_assert_str_eq(err.msg, "cannot load time zone 'Nowhere/Atlantis' "
				  "(is tzdata installed?)");
	/* The process's own zone is left as it was. */
	w = adr_window();
	is_open(&w, utc(2026, 3, 9, 14, 0), why, sizeof(why));
	ck_assert_str_eq(getenv("TZ"), "Asia/Tokyo");
	unsetenv("TZ");
}
END_TEST

/* ---- analysis ----------------------------------------------------------- */

static struct phg_config cfg;

static void cfg_up(void)
{
	struct phg_err err = {0};
	static char q[] = "q", prom[] = "http://127.0.0.1:1";

	ck_assert_int_eq(phg_config_defaults(&cfg, &err), 0);
	/* Templates are borrowed statics: cleared before release. */
	for (int m = 0; m < PHG_METRICS; m++)
		cfg.release.queries[m].text = q;
	cfg.release.prometheus.text = prom;
}

static void cfg_down(void)
{
	for (int m = 0; m < PHG_METRICS; m++)
		cfg.release.queries[m].text = NULL;
	cfg.release.prometheus.text = NULL;
	phg_config_release(&cfg);
}

static struct phg_readings reading(double err_rate, double p99, double x5,
				   double conn)
{
	struct phg_readings r = {{err_rate, p99, x5, conn},
				 {true, true, true, true}};
	return r;
}

START_TEST(test_feed_healthy_and_breach)
{
	struct phg_analysis a;
	struct phg_readings r = reading(0.001, 120, 0, 100);
	bool br[PHG_METRICS], healthy;
	int trig = -1;

	ck_assert(phg_analysis_enabled(&cfg.release));
	phg_analysis_init(&a, &cfg.release);
	ck_assert(!phg_analysis_feed(&a, 0, &r, br, &healthy, &trig));
	ck_assert(healthy);
	/* Between healthy and rollback: not healthy, no breach. */
	r = reading(0.02, 120, 0, 100);
	ck_assert(!phg_analysis_feed(&a, 1000, &r, br, &healthy, &trig));
	ck_assert(!healthy && !br[PHG_METRIC_ERROR_RATE]);
	r = reading(0.001, 1200, 0, 100);
	ck_assert(!phg_analysis_feed(&a, 2000, &r, br, &healthy, &trig));
	ck_assert(!healthy && br[PHG_METRIC_P99_MS]);
	r = reading(0.001, 100, 0.03, 100);
	ck_assert(!phg_analysis_feed(&a, 3000, &r, br, &healthy, &trig));
	ck_assert(br[PHG_METRIC_HTTP_5XX_RATE] && !br[PHG_METRIC_P99_MS]);
}
END_TEST

START_TEST(test_feed_connections_ratio)
{
	struct phg_analysis a;
	struct phg_readings r = reading(0.001, 100, 0, 40);
	bool br[PHG_METRICS], healthy;
	int trig = -1;

	phg_analysis_init(&a, &cfg.release);
	/* No reading before the cutover: that trigger cannot fire. */
	phg_analysis_feed(&a, 0, &r, br, &healthy, &trig);
	ck_assert(!br[PHG_METRIC_CONNECTIONS]);
	a.have_baseline = true;
	a.baseline_connections = 100;
	r.value[PHG_METRIC_CONNECTIONS] = 60;
	phg_analysis_feed(&a, 0, &r, br, &healthy, &trig);
	ck_assert(!br[PHG_METRIC_CONNECTIONS] && healthy);
	r.value[PHG_METRIC_CONNECTIONS] = 50;
	phg_analysis_feed(&a, 0, &r, br, &healthy, &trig);
	ck_assert(!br[PHG_METRIC_CONNECTIONS]);
	r.value[PHG_METRIC_CONNECTIONS] = 49;
	phg_analysis_feed(&a, 1, &r, br, &healthy, &trig);
	ck_assert(br[PHG_METRIC_CONNECTIONS] && !healthy);
	/* Held for the sustain time: it fires, naming connections. */
	ck_assert(phg_analysis_feed(&a, 1 + 120000, &r, br, &healthy, &trig));
	ck_assert_int_eq(trig, PHG_METRIC_CONNECTIONS);
}
END_TEST

/* A scripted world: a fake clock and readings by elapsed time. */
struct world {
	long long now;
	int evals;
	struct phg_readings (*at)(long long ms);
	int fail_reads;
	int abort_after; /* ticks; 0 never */
	int ticks;
};

static long long w_now(void *ctx)
{
	return ((struct world *)ctx)->now;
}

static void w_sleep(long long ms, void *ctx)
{
	((struct world *)ctx)->now += ms;
}

static int w_read(void *ctx, struct phg_readings *out, struct phg_err *err)
{
	struct world *w = ctx;

	w->evals++;
	if (w->fail_reads) {
		out->present[0] = true; /* garbage the hold must ignore */
		out->value[0] = 1;
		return phg_err_set(err, PHG_ERUNTIME, "refused");
	}
	*out = w->at(w->now);
	return 0;
}

static int w_tick(void *ctx, struct phg_err *err)
{
	struct world *w = ctx;

	(void)err;
	return w->abort_after && ++w->ticks >= w->abort_after ? 1 : 0;
}

static enum phg_hold_result hold(struct world *w, int *trig)
{
	struct phg_analysis a;
	struct phg_hold h = {.analysis = &a,
			     .hold_ms = cfg.release.hold_ms,
			     .interval_ms = cfg.release.interval_ms,
			     .now = w_now,
			     .sleep = w_sleep,
			     .clock_ctx = w,
			     .read = w_read,
			     .read_ctx = w,
			     .tick = w_tick,
			     .cb_ctx = w};
	enum phg_hold_result res = PHG_HOLD_ABORTED;
	struct phg_err err = {0};

	phg_analysis_init(&a, &cfg.release);
	a.have_baseline = true;
	a.baseline_connections = 100;
	ck_assert_int_eq(phg_hold_run(&h, &res, trig, &err), 0);
	return res;
}

static struct phg_readings always_healthy(long long ms)
{
	(void)ms;
	return reading(0.001, 150, 0, 100);
}

static struct phg_readings always_errors(long long ms)
{
	(void)ms;
	return reading(0.10, 150, 0, 100);
}

/* Errors from 15 s to 60 s only: 45 s, less than the 2 min sustain. */
static struct phg_readings blip(long long ms)
{
	return ms >= 15000 && ms <= 60000 ? reading(0.10, 150, 0.5, 100)
					  : reading(0.001, 150, 0, 100);
}

static struct phg_readings no_data(long long ms)
{
	struct phg_readings r;

	(void)ms;
	memset(&r, 0, sizeof(r));
	return r;
}

/* Breaches with one gap of missing data at 120 s. */
static struct phg_readings gap(long long ms)
{
	return ms == 120000 ? no_data(ms) : always_errors(ms);
}

static struct phg_readings conn_drop(long long ms)
{
	return reading(0.001, 150, 0, ms >= 60000 ? 30 : 100);
}

START_TEST(test_hold_healthy_advances)
{
	struct world w = {.at = always_healthy};
	int trig = -1;

	ck_assert_int_eq(hold(&w, &trig), PHG_HOLD_PASSED);
	ck_assert_int_eq(w.now, 300000); /* exactly the 5 min hold */
	ck_assert_int_eq(w.evals, 21);	 /* at 0, 15 s, ... 300 s */
}
END_TEST

START_TEST(test_hold_trigger_needs_sustain)
{
	struct world w = {.at = always_errors};
	int trig = -1;

	ck_assert_int_eq(hold(&w, &trig), PHG_HOLD_ROLLBACK);
	ck_assert_int_eq(trig, PHG_METRIC_ERROR_RATE);
	/* Seen at 0 s, held 2 min: fires at the evaluation at 120 s. */
	ck_assert_int_eq(w.now, 120000);
	ck_assert_int_eq(w.evals, 9);
}
END_TEST

START_TEST(test_hold_blip_does_not_roll_back)
{
	struct world w = {.at = blip};
	int trig = -1;

	ck_assert_int_eq(hold(&w, &trig), PHG_HOLD_PASSED);
	ck_assert_int_eq(w.now, 300000);
}
END_TEST

START_TEST(test_hold_missing_data_is_no_breach)
{
	struct world w = {.at = no_data};
	int trig = -1;

	/* Never healthy (no data), never a breach: gives up at 2 x hold. */
	ck_assert_int_eq(hold(&w, &trig), PHG_HOLD_UNHEALTHY);
	ck_assert_int_eq(w.now, 600000);
}
END_TEST

START_TEST(test_hold_gap_restarts_sustain)
{
	struct world w = {.at = gap};
	int trig = -1;

	ck_assert_int_eq(hold(&w, &trig), PHG_HOLD_ROLLBACK);
	/* Breaching again from 135 s: 2 min later. */
	ck_assert_int_eq(w.now, 255000);
}
END_TEST

START_TEST(test_hold_failed_reads_are_missing_data)
{
	struct world w = {.at = always_errors, .fail_reads = 1};
	int trig = -1;

	ck_assert_int_eq(hold(&w, &trig), PHG_HOLD_UNHEALTHY);
}
END_TEST

START_TEST(test_hold_connections_drop)
{
	struct world w = {.at = conn_drop};
	int trig = -1;

	ck_assert_int_eq(hold(&w, &trig), PHG_HOLD_ROLLBACK);
	ck_assert_int_eq(trig, PHG_METRIC_CONNECTIONS);
	ck_assert_int_eq(w.now, 180000);
}
END_TEST

START_TEST(test_hold_sustain_zero_and_abort)
{
	struct world w = {.at = always_errors};
	int trig = -1;

	cfg.release.sustain_ms = 0;
	ck_assert_int_eq(hold(&w, &trig), PHG_HOLD_ROLLBACK);
	ck_assert_int_eq(w.now, 0);
	cfg.release.sustain_ms = 120000;
	w = (struct world){.at = always_healthy, .abort_after = 3};
	ck_assert_int_eq(hold(&w, &trig), PHG_HOLD_ABORTED);
	ck_assert_int_eq(w.now, 30000);
}
END_TEST

START_TEST(test_hold_without_analysis)
{
	struct world w = {.at = always_errors};
	struct phg_analysis a;
	struct phg_hold h = {.analysis = &a,
			     .hold_ms = 60000,
			     .interval_ms = 15000,
			     .now = w_now,
			     .sleep = w_sleep,
			     .clock_ctx = &w};
	enum phg_hold_result res;
	struct phg_err err = {0};
	int trig;

	phg_analysis_init(&a, &cfg.release);
	ck_assert_int_eq(phg_hold_run(&h, &res, &trig, &err), 0);
	ck_assert_int_eq(res, PHG_HOLD_PASSED);
	ck_assert_int_eq(w.now, 60000);
	ck_assert_int_eq(w.evals, 0);
}
END_TEST

/* flags.unleash.rollout: at-done (default) or with-traffic; anything
   else is refused at its line and column. */
START_TEST(test_flags_rollout_config)
{
	static const char head[] = "release:\n"
				   "  flags:\n"
				   "    unleash:\n"
				   "      url: http://127.0.0.1:4242\n"
				   "      token: t\n"
				   "      environment: production\n"
				   "      features: [f]\n";
	const char *tails[] = {"", "      rollout: at-done\n",
			       "      rollout: with-traffic\n",
			       "      rollout: sometimes\n"};
	const enum phg_flag_rollout want[] = {PHG_ROLLOUT_AT_DONE,
					      PHG_ROLLOUT_AT_DONE,
					      PHG_ROLLOUT_WITH_TRAFFIC};
	char *dir = th_tmpdir(), path[4200], text[1024];

	snprintf(path, sizeof(path), "%s/phasegate.yaml", dir);
	for (int i = 0; i < 4; i++) {
		struct phg_config c;
		struct phg_err err = {0};
		int rc;

		snprintf(text, sizeof(text), "%s%s", head, tails[i]);
		th_write_str(dir, "phasegate.yaml", text);
		rc = phg_config_load(path, &c, &err);
		if (i < 3) {
			ck_assert_msg(rc == 0, "%d: %s", i, err.msg);
			ck_assert_int_eq(c.release.unleash.rollout, want[i]);
			phg_config_release(&c);
			continue;
		}
		ck_assert_int_eq(rc, PHG_ECONFIG);
		ck_assert_msg(err.line == 8 && err.col == 16, "at %d:%d: %s",
			      err.line, err.col, err.msg);
		ck_assert_str_eq(err.msg, "'rollout' must be at-done or "
					  "with-traffic, not 'sometimes'");
	}
	th_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *orchestrator_suite(void)
{
	Suite *s = suite_create("orchestrator");
	TCase *win = tcase_create("window"), *an = tcase_create("analysis");

	tcase_add_loop_test(win, test_window_dst, 0,
			    sizeof(instants) / sizeof(instants[0]));
	tcase_add_test(win, test_window_deny_local_date);
	tcase_add_test(win, test_window_evening);
	tcase_add_test(win, test_window_any_and_errors);
	tcase_add_test(win, test_flags_rollout_config);
	suite_add_tcase(s, win);
	tcase_add_checked_fixture(an, cfg_up, cfg_down);
	tcase_add_test(an, test_feed_healthy_and_breach);
	tcase_add_test(an, test_feed_connections_ratio);
	tcase_add_test(an, test_hold_healthy_advances);
	tcase_add_test(an, test_hold_trigger_needs_sustain);
	tcase_add_test(an, test_hold_blip_does_not_roll_back);
	tcase_add_test(an, test_hold_missing_data_is_no_breach);
	tcase_add_test(an, test_hold_gap_restarts_sustain);
	tcase_add_test(an, test_hold_failed_reads_are_missing_data);
	tcase_add_test(an, test_hold_connections_drop);
	tcase_add_test(an, test_hold_sustain_zero_and_abort);
	tcase_add_test(an, test_hold_without_analysis);
	suite_add_tcase(s, an);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(orchestrator_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
