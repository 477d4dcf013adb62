/*
 * config: reads phasegate.yaml (libyaml), finds it by walking up from the
 * current folder, checks every key and value (errors carry line and column),
 * and expands ${NAME} values only when a command asks for them. It also
 * parses durations ("5s", "1h30m") for the keys that take one.
 */
#ifndef PHG_CONFIG_H
#define PHG_CONFIG_H

#include "../util/util.h"

#define PHG_CONFIG_FILE "phasegate.yaml"

/* When contract migrations run relative to the blue-green cutover. */
enum phg_contract_timing {
	PHG_CONTRACT_BEFORE_DEPLOY, /* default: the ADR's order */
	PHG_CONTRACT_AFTER_CUTOVER
};

/* Who applies the migrations: phasegate itself, or the layout's own tool. */
enum phg_runner_kind { PHG_RUNNER_PHASEGATE, PHG_RUNNER_EXTERNAL };

/* A shipped release from "releases:". */
struct phg_release_def {
	char *name;
	char *through;	  /* version or full name of its last migration */
	int line, col;	  /* where "through" is written, for errors */
	bool from_ledger; /* appended from the release ledger (not written):
			     skipped when it matches nothing or adds nothing */
};

/* A per-rule setting from "rules:" (id: error | warning | off). */
struct phg_rule_setting {
	char *id;
	enum phg_severity severity; /* PHG_SEV_OFF when "off" */
	int line, col;
};

/* One of a region's "vars:": free text for templates ({var.NAME}). */
struct phg_var {
	char *name; /* [A-Za-z_][A-Za-z0-9_]* */
	char *value;
};

/*
 * A text with placeholders ({region}, {slot}, {release}, {step},
 * {weight}, {var.NAME}) checked at load, and ${NAME} references expanded
 * only when used. text is NULL when the key was not given.
 */
struct phg_template {
	char *text;
	int line, col; /* where the value is written, for errors */
};

/* "release.window": when `release` may start (see src/orchestrator). */
struct phg_window {
	bool any;	/* "window: any": every moment */
	char *timezone; /* IANA name, e.g. "America/New_York" */
	unsigned days;	/* bit d: weekday d allowed (0 = Sunday) */
	int start_min;	/* [start_min, end_min): minutes after local */
	int end_min;	/*   midnight; end_min 1440 = end of day */
	char **deny;	/* "YYYY-MM-DD" local dates refused */
	size_t ndeny;
};

/* How a deploy or smoke step acts: a command (argv) or an HTTP call. */
enum phg_step_action_kind {
	PHG_ACTION_NONE,
	PHG_ACTION_COMMAND,
	PHG_ACTION_HTTP
};

struct phg_step_action {
	enum phg_step_action_kind kind;
	struct phg_template *argv; /* command: argc templates */
	size_t argc;
	struct phg_template method, url, body, expect_body; /* http */
	struct phg_template *headers; /* "Name: value" templates */
	size_t nheaders;
	long expect_status; /* http: default 200 */
	int retries;	    /* http: extra attempts */
	long long timeout_ms;
};

/* The metrics analysis reads, in the order they are reported. */
enum phg_metric {
	PHG_METRIC_ERROR_RATE,	  /* fraction of requests failing */
	PHG_METRIC_P99_MS,	  /* 99th percentile latency, ms */
	PHG_METRIC_HTTP_5XX_RATE, /* fraction answered 5xx */
	PHG_METRIC_CONNECTIONS	  /* active connections */
};
#define PHG_METRICS 4

/* The metric's name as the config and the ledger spell it. */
const char *phg_metric_name(enum phg_metric m);

/* "release.traffic.nginx": the load balancer (phg_nginx). */
struct phg_nginx_settings {
	struct phg_template binary, prefix, conf, upstream_file, upstream, blue,
		green;
	long long timeout_ms;
};

/* When "release.flags.unleash" switches the flags on. */
enum phg_flag_rollout {
	PHG_ROLLOUT_AT_DONE,	 /* default: on at the region's done */
	PHG_ROLLOUT_WITH_TRAFFIC /* each traffic step sets the flags'
				    gradual rollout to its percentage */
};

/* "release.flags.unleash". */
struct phg_unleash_settings {
	struct phg_template url, token, environment, project;
	char **features;
	size_t nfeatures;
	long long timeout_ms;
	enum phg_flag_rollout rollout;
};

/*
 * "release:", the orchestrator's settings; durations in milliseconds,
 * rates as fractions, latencies in milliseconds. Defaults are the ADR's.
 */
struct phg_release_settings {
	struct phg_window window; /* default Mon-Thu 10:00-16:00 NY */
	long long lease_ttl_ms;	  /* default 2m */
	int *steps;		  /* green's percentages, rising, last 100 */
	size_t nsteps;		  /* default 10, 50, 100 */
	long long hold_ms;	  /* each step, default 5m */
	bool have_nginx;
	struct phg_nginx_settings nginx;
	long long interval_ms; /* default 15s */
	long long sustain_ms;  /* default 2m */
	/* Thresholds per metric; has_* false = not checked. Healthy: below
	   it (to advance); rollback: above it, except connections, whose
	   rollback value is a ratio of the reading before the cutover. */
	double healthy[PHG_METRICS];
	bool has_healthy[PHG_METRICS];
	double rollback[PHG_METRICS];
	bool has_rollback[PHG_METRICS];
	struct phg_template prometheus;		  /* NULL text: no analysis */
	struct phg_template queries[PHG_METRICS]; /* PromQL templates */
	struct phg_step_action deploy, smoke;
	bool have_unleash;
	struct phg_unleash_settings unleash;
	struct phg_template webhook; /* notify.webhook.url */
	long long webhook_timeout_ms;
};

/*
 * A region from "regions:": an independent database that migrations are
 * applied to, or, with replica_of, a replica that gets none and is waited
 * for until it shows them. database is kept as written: a "${NAME}" in it is
 * expanded by the command that connects (phg_config_expand), never at load.
 */
struct phg_region {
	char *name;	/* unique, [a-z0-9._-]+ */
	char *database; /* connection URL as written, e.g. "${DATABASE_URL}" */
	bool primary;	/* exactly one region is; it runs first */
	char *replica_of;  /* the region it replicates, or NULL */
	long long soak_ms; /* wait after the previous region finished; 0 none */
	size_t index;	   /* 0-based position in the file, as written */
	int line, col;	   /* where its "name" value is written, for errors */
	struct phg_var *vars; /* "vars:", as written, for {var.NAME} */
	size_t nvars;
};

/* Settings of "migrate:", the runner's knobs; durations in milliseconds. */
struct phg_migrate_settings {
	char *history_schema;		 /* default "phasegate" */
	long long lock_timeout_ms;	 /* default 5000; always more than 0 */
	long long statement_timeout_ms;	 /* default 0: none */
	int retries;			 /* lock_not_available retries, 5 */
	long long retry_backoff_ms;	 /* backoff base, default 1000 */
	long long advisory_lock_wait_ms; /* default 60000, then exit 3 */
	long long replica_wait_ms;	 /* default 600000 (10m) */
};

/*
 * "stats:", for `lint --stats`: a table with fewer rows than
 * small_table_rows and smaller than small_table_bytes (with its indexes and
 * TOAST) is small, and the lock findings on it are warnings. Either at 0
 * turns the downgrade off.
 */
struct phg_stats_settings {
	long long small_table_rows;  /* default 10000 */
	long long small_table_bytes; /* default 10 MB (10485760) */
};

struct phg_config {
	char *path;	      /* the file read, or NULL for defaults */
	char *dir;	      /* its folder ("." when in the current one) */
	char *migrations;     /* the migrations folder, joined to dir */
	int postgres_version; /* major version, default 15 */
	enum phg_contract_timing contract;
	enum phg_runner_kind runner;
	struct phg_release_def *releases; /* oldest first */
	size_t nreleases;
	struct phg_rule_setting *rules;
	size_t nrules;
	/* Globs from "exclude:" (fnmatch, relative to the migrations folder):
	   migrations they match are history, never reported. */
	char **exclude;
	size_t nexclude;
	struct phg_region *regions; /* in the order they run: primary first */
	size_t nregions;
	struct phg_migrate_settings migrate;
	struct phg_stats_settings stats; /* "stats:" */
	char *environment;		 /* ledger key, default "default" */
	char *state; /* the ledger's location as written, or NULL */
	struct phg_release_settings release;
};

/*
 * Fills cfg with the defaults (no file, migrations "migrations", no regions,
 * the "migrate:" defaults).
 */
int phg_config_defaults(struct phg_config *cfg, struct phg_err *err);

/*
 * Reads and checks the config at path. A syntax error, an unknown key, a
 * value of the wrong type or out of range, or regions that are not exactly
 * one primary plus others (each replica_of naming an earlier-running region
 * that is not a replica) fails with PHG_ECONFIG, and err carries the file,
 * line and column; an unreadable file fails with PHG_EIO. cfg->regions is in
 * run order, primary first. Values are kept as written (no ${NAME}
 * expanded). On success the caller releases cfg with phg_config_release.
 */
int phg_config_load(const char *path, struct phg_config *cfg,
		    struct phg_err *err);

/*
 * Looks for phasegate.yaml in the current folder and its parents. Sets *path
 * to a malloc'd relative path ("phasegate.yaml", "../phasegate.yaml", ...)
 * or to NULL when there is none; returns 0 either way, <0 on failure.
 */
int phg_config_find(char **path, struct phg_err *err);

void phg_config_release(struct phg_config *cfg);

/*
 * Expands ${NAME} references in value from the environment into a malloc'd
 * *out. A variable that is not set fails with PHG_ECONFIG naming it (never
 * its value). "$$" stands for one "$".
 */
int phg_config_expand(const char *value, char **out, struct phg_err *err);

/*
 * Parses a duration into *ms: "0", or one or more parts of whole digits and a
 * unit — h, m, s or ms — with the units from largest to smallest and each at
 * most once: "250ms", "5s", "10m", "1h30m", "1m30s500ms". No sign, no
 * fraction ("1.5s": write "1500ms"), no spaces, lower-case units only; a
 * bare number other than 0 has no unit and is refused. Returns 0, or
 * PHG_ECONFIG when s is not such a duration or its total does not fit in a
 * long long of milliseconds; *ms is set only on success. s may be NULL
 * (refused).
 */
int phg_duration_parse(const char *s, long long *ms);

/* Placeholder values for phg_template_render; NULL ones render as "". */
struct phg_template_vars {
	const char *region, *slot, *release, *step;
	int weight;
	const struct phg_region *reg; /* for {var.NAME} */
};

/*
 * Renders t's placeholders into a malloc'd *out and then, when expand is
 * true, its ${NAME} references (from the environment); with expand false
 * they stay as written (for printing: never a secret). A {var.NAME} the
 * region lacks, or a ${NAME} not set, fails with PHG_ECONFIG naming it.
 */
int phg_template_render(const char *t, const struct phg_template_vars *v,
			bool expand, char **out, struct phg_err *err);

/*
 * The ledger's location: "state:" expanded from the environment, or
 * <config dir>/.phasegate/state.db. malloc'd into *out; may hold a
 * password, so never print it.
 */
int phg_config_state_location(const struct phg_config *cfg, char **out,
			      struct phg_err *err);

#endif
