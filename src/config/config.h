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
	char *through; /* version or full name of its last migration */
	int line, col; /* where "through" is written, for errors */
};

/* A per-rule setting from "rules:" (id: error | warning | off). */
struct phg_rule_setting {
	char *id;
	enum phg_severity severity; /* PHG_SEV_OFF when "off" */
	int line, col;
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

#endif
