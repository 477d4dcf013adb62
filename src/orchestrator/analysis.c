/*
 * analysis.c: the decision logic of a traffic step, apart from any
 * clock, network or ledger so that it can be tested with made-up
 * readings and an injected clock. A step advances only when the metrics
 * are healthy; a rollback fires when one trigger has been seen on every
 * evaluation for the sustain time. Missing data is never a breach.
 */
#include "orchestrator.h"

#include <string.h>

void phg_analysis_init(struct phg_analysis *a,
		       const struct phg_release_settings *rs)
{
	memset(a, 0, sizeof(*a));
	a->rs = rs;
	for (int m = 0; m < PHG_METRICS; m++)
		a->breach_since[m] = -1;
}

bool phg_analysis_enabled(const struct phg_release_settings *rs)
{
	if (!rs->prometheus.text)
		return false;
	for (int m = 0; m < PHG_METRICS; m++)
		if (rs->queries[m].text)
			return true;
	return false;
}

/* Whether reading v of metric m is past its rollback threshold. */
static bool breach(const struct phg_analysis *a, int m, double v)
{
	const struct phg_release_settings *rs = a->rs;

	if (!rs->has_rollback[m])
		return false;
	if (m == PHG_METRIC_CONNECTIONS)
		return a->have_baseline && a->baseline_connections > 0 &&
		       v < rs->rollback[m] * a->baseline_connections;
	return v > rs->rollback[m];
}

bool phg_analysis_feed(struct phg_analysis *a, long long now_ms,
		       const struct phg_readings *r, bool breached[PHG_METRICS],
		       bool *healthy, int *trigger)
{
	const struct phg_release_settings *rs = a->rs;
	bool fire = false;

	*healthy = true;
	for (int m = 0; m < PHG_METRICS; m++) {
		bool queried = rs->queries[m].text != NULL;

		breached[m] = r->present[m] && breach(a, m, r->value[m]);
		if (breached[m]) {
			if (a->breach_since[m] < 0)
				a->breach_since[m] = now_ms;
			if (!fire &&
			    now_ms - a->breach_since[m] >= rs->sustain_ms) {
				fire = true;
				*trigger = m;
			}
		} else {
			a->breach_since[m] = -1;
		}
		if (m == PHG_METRIC_CONNECTIONS || !rs->has_healthy[m] ||
		    !queried)
			continue;
		if (!r->present[m] || !(r->value[m] < rs->healthy[m]))
			*healthy = false;
	}
	/* A breach is never healthy, whatever the healthy thresholds say. */
	for (int m = 0; m < PHG_METRICS; m++)
		if (breached[m])
			*healthy = false;
	return fire;
}

int phg_hold_run(const struct phg_hold *h, enum phg_hold_result *res,
		 int *trigger, struct phg_err *err)
{
	long long start = h->now(h->clock_ctx), elapsed, wait;

	for (;;) {
		struct phg_readings rd;
		bool breached[PHG_METRICS] = {false}, healthy = true, fire;
		int rc;

		memset(&rd, 0, sizeof(rd));
		elapsed = h->now(h->clock_ctx) - start;
		if (h->read) {
			struct phg_err rerr = {0};

			/* A failed read is missing data, never a breach. */
			if (h->read(h->read_ctx, &rd, &rerr) < 0)
				memset(&rd, 0, sizeof(rd));
		}
		fire = phg_analysis_feed(h->analysis, h->now(h->clock_ctx), &rd,
					 breached, &healthy, trigger);
		if (!h->read)
			healthy = true;
		if (h->on_eval)
			h->on_eval(h->cb_ctx, elapsed, &rd, breached, healthy);
		if (fire) {
			*res = PHG_HOLD_ROLLBACK;
			return 0;
		}
		if (elapsed >= h->hold_ms && healthy) {
			*res = PHG_HOLD_PASSED;
			return 0;
		}
		if (elapsed >= 2 * h->hold_ms && h->hold_ms > 0) {
			*res = PHG_HOLD_UNHEALTHY;
			return 0;
		}
		if (elapsed >= h->hold_ms && h->hold_ms == 0 &&
		    elapsed >= h->interval_ms * 4) {
			*res = PHG_HOLD_UNHEALTHY;
			return 0;
		}
		if (h->tick) {
			rc = h->tick(h->cb_ctx, err);
			if (rc < 0)
				return rc;
			if (rc > 0) {
				*res = PHG_HOLD_ABORTED;
				return 0;
			}
		}
		wait = h->interval_ms;
		if (elapsed < h->hold_ms && h->hold_ms - elapsed < wait)
			wait = h->hold_ms - elapsed;
		if (wait <= 0)
			wait = 1;
		h->sleep(wait, h->clock_ctx);
	}
}
