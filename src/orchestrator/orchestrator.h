/*
 * orchestrator: the release state machine. `release TAG` takes the
 * environment's lease, checks the release (deployment window, lint gate,
 * checksum drift, previous release finished), then per region in order
 * (primary first): migrate, deploy the slot that is not live, smoke test
 * it, shift traffic in steps held for an analysis window, and swap the
 * live slot; a trigger, a failed smoke test or a failed step rolls that
 * region back. Every step is recorded in the ledger (store) before and
 * after it acts, so `release resume` continues after a crash. Time is
 * injectable (clock and sleep functions) so the analysis is tested without
 * waiting. The library never prints: lines go to a callback.
 */
#ifndef PHG_ORCHESTRATOR_H
#define PHG_ORCHESTRATOR_H

#include <time.h>

#include "../config/config.h"
#include "../store/store.h"

/* ---- deployment windows ------------------------------------------------ */

/*
 * Whether instant now falls inside window w: its local date (in
 * w->timezone, DST included) is not denied, its weekday is allowed and its
 * local time is in [start, end). Sets *open and writes a one-line
 * description of the decision into why ("open: Tue 2026-03-10 11:00 EDT
 * in Mon-Thu 10:00-16:00 America/New_York"). Returns 0, or PHG_ECONFIG
 * when the time zone cannot be loaded.
 */
int phg_window_check(const struct phg_window *w, time_t now, bool *open,
		     char *why, size_t why_size, struct phg_err *err);

/* ---- analysis ---------------------------------------------------------- */

/* One evaluation's readings; present false = no data (never a breach). */
struct phg_readings {
	double value[PHG_METRICS];
	bool present[PHG_METRICS];
};

/* What analysis remembers between evaluations of one region. */
struct phg_analysis {
	const struct phg_release_settings *rs;
	double baseline_connections; /* read before the cutover */
	bool have_baseline;
	long long breach_since[PHG_METRICS]; /* ms, -1 when not breaching */
};

void phg_analysis_init(struct phg_analysis *a,
		       const struct phg_release_settings *rs);

/*
 * Feeds one evaluation taken at now_ms. Sets breached[m] when metric m is
 * past its rollback threshold (connections: below ratio x the baseline),
 * *healthy when every metric that has a healthy threshold and a query is
 * present and below it (analysis without queries is always healthy), and
 * returns true when a trigger has held for the whole sustain time (then
 * *trigger is its metric). A missing reading is no breach and restarts
 * that metric's sustain clock: a breach must be seen without a gap.
 */
bool phg_analysis_feed(struct phg_analysis *a, long long now_ms,
		       const struct phg_readings *r, bool breached[PHG_METRICS],
		       bool *healthy, int *trigger);

/* Whether the config asks for analysis (prometheus and a query). */
bool phg_analysis_enabled(const struct phg_release_settings *rs);

/* ---- time -------------------------------------------------------------- */

typedef long long (*phg_clock_fn)(void *ctx);	       /* ms, monotonic */
typedef void (*phg_sleep_fn)(long long ms, void *ctx); /* waits ms */
typedef time_t (*phg_wall_fn)(void *ctx);	       /* for the window */

/* ---- holding a traffic step -------------------------------------------- */

enum phg_hold_result {
	PHG_HOLD_PASSED,    /* held for hold_ms and healthy at the end */
	PHG_HOLD_ROLLBACK,  /* a trigger held for sustain */
	PHG_HOLD_UNHEALTHY, /* not healthy by 2 x hold: rolled back too */
	PHG_HOLD_ABORTED    /* the tick callback asked to stop */
};

/*
 * Reads the metrics of one evaluation (the orchestrator queries
 * Prometheus; tests feed numbers). Returns 0, or <0 with err set: then
 * the evaluation counts as missing data.
 */
typedef int (*phg_read_fn)(void *ctx, struct phg_readings *out,
			   struct phg_err *err);
/* Told each evaluation (to record readings and print progress). */
typedef void (*phg_eval_fn)(void *ctx, long long elapsed_ms,
			    const struct phg_readings *r,
			    const bool breached[PHG_METRICS], bool healthy);
/* Called before each sleep: renew the lease, look for an abort. Returns
   <0 to stop the hold (err set) or 1 to abort it. */
typedef int (*phg_tick_fn)(void *ctx, struct phg_err *err);

struct phg_hold {
	struct phg_analysis *analysis;
	long long hold_ms, interval_ms;
	phg_clock_fn now;
	phg_sleep_fn sleep;
	void *clock_ctx;
	phg_read_fn read; /* NULL: analysis disabled, always healthy */
	void *read_ctx;
	phg_eval_fn on_eval; /* or NULL */
	phg_tick_fn tick;    /* or NULL */
	void *cb_ctx;
};

/*
 * Holds a traffic step: evaluates at once and then every interval_ms until
 * hold_ms has passed and the last evaluation was healthy (at most 2 x
 * hold_ms, then PHG_HOLD_UNHEALTHY), or until a trigger holds for the
 * sustain time (PHG_HOLD_ROLLBACK, *trigger its metric). Returns 0 and
 * *res, or <0 when tick failed.
 */
int phg_hold_run(const struct phg_hold *h, enum phg_hold_result *res,
		 int *trigger, struct phg_err *err);

/* ---- the release ------------------------------------------------------- */

typedef void (*phg_line_fn)(const char *line, void *ctx);

enum phg_orch_outcome {
	PHG_ORCH_DONE,	      /* every region switched: exit 0 */
	PHG_ORCH_REFUSED,     /* window, gate, drift, state: exit 1 */
	PHG_ORCH_ROLLED_BACK, /* a region rolled back: exit 1 */
	PHG_ORCH_ABORTED      /* `release abort`: exit 1 */
};

struct phg_orch_opts {
	const struct phg_config *cfg;
	const char *tag;
	bool dry_run;
	bool emergency;		 /* with approved_by: outside the window */
	const char *approved_by; /* recorded in the ledger */
	phg_line_fn out;	 /* progress lines, or NULL */
	void *out_ctx;
	/* Time: NULL = the real clocks. */
	phg_clock_fn now;
	phg_sleep_fn sleep;
	phg_wall_fn wall;
	void *clock_ctx;
};

/*
 * `release TAG` (resume false) or `release resume TAG` (resume true). For a
 * new release: refuses (0, *outcome REFUSED, reason in err.msg... see
 * below) when outside the window without emergency approval, when the lint
 * gate refuses, on checksum drift, or when another release is running;
 * then records the release and runs its steps. Returns 0 with *outcome, or
 * <0: PHG_ECONFIG/PHG_EUSAGE (config or arguments), PHG_ERUNTIME (ledger,
 * database or provider unreachable, lease held by another: err names the
 * holder). For outcome REFUSED, ROLLED_BACK and ABORTED, why holds the
 * reason.
 */
int phg_release_run(const struct phg_orch_opts *o, bool resume,
		    enum phg_orch_outcome *outcome, char *why, size_t why_size,
		    struct phg_err *err);

/*
 * `release abort TAG`: when no live process drives the release, takes the
 * lease and rolls the current region back (traffic to its old slot first,
 * flags off), marking the release aborted; when one does, asks it to
 * abort (an "abort" event it polls) and waits up to twice the lease time
 * for it. Returns 0, or <0 as phg_release_run.
 */
int phg_release_abort(const struct phg_orch_opts *o, struct phg_err *err);

/*
 * `rollback TAG`: returns every region whose old slot is still on standby
 * (the release is the environment's latest) to it: weights 100 % to the
 * old slot, live slot swapped back, flags off; marks the release
 * reverted. Returns 0, or <0 (PHG_EINPUT when a later release exists or
 * the tag is unknown; PHG_ERUNTIME as above).
 */
int phg_release_rollback(const struct phg_orch_opts *o, struct phg_err *err);

/*
 * Opens the environment's ledger as the config says (see
 * phg_config_state_location). With must_exist and an SQLite ledger that
 * is not there, sets *s NULL and returns 0 (a read-only command creates
 * nothing).
 */
int phg_orch_open_store(const struct phg_config *cfg, bool must_exist,
			struct phg_store **s, struct phg_err *err);

/*
 * Appends to cfg->releases, after the config's own, the releases the
 * environment's ledger recorded, oldest first: each named by its tag and
 * ending at the last migration pending when it started (DESIGN's "Where
 * release boundaries come from"); tags the config lists already are left
 * out. Opens nothing that is not there: no ledger file, or a "state:"
 * whose ${NAME} is not set, appends nothing. Returns 0, or <0 when the
 * ledger cannot be read.
 */
int phg_orch_ledger_releases(struct phg_config *cfg, struct phg_err *err);

#endif
