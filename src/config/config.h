/*
 * config: reads phasegate.yaml (libyaml), finds it by walking up from the
 * current folder, checks every key and value (errors carry line and column),
 * and expands ${NAME} values only when a command asks for them.
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

struct phg_config {
	char *path;	  /* the file read, or NULL for defaults */
	char *dir;	  /* its folder ("." when in the current one) */
	char *migrations; /* the migrations folder, joined to dir */
	int postgres_version; /* major version, default 15 */
	enum phg_contract_timing contract;
	enum phg_runner_kind runner;
	struct phg_release_def *releases; /* oldest first */
	size_t nreleases;
	struct phg_rule_setting *rules;
	size_t nrules;
};

/* Fills cfg with the defaults (no file, migrations "migrations"). */
int phg_config_defaults(struct phg_config *cfg, struct phg_err *err);

/*
 * Reads and checks the config at path. A syntax error, an unknown key, a
 * value of the wrong type or out of range fails with PHG_ECONFIG, and err
 * carries the file, line and column; an unreadable file fails with PHG_EIO.
 * On success the caller releases cfg with phg_config_release.
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

#endif
