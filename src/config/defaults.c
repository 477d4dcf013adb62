/*
 * defaults.c: the config's lifecycle — filling a struct phg_config with the
 * defaults every command starts from, and freeing what a load allocated.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

/* The grammar phasegate parses with is PostgreSQL 15's. */
#define PHG_CONFIG_DEFAULT_PG 15

/*
 * Fills cfg with the defaults: no file, folder ".", migrations in
 * "migrations", PostgreSQL 15, contracts before the deploy, phasegate as the
 * runner, no releases and no rule settings. Returns 0, or PHG_ENOMEM with cfg
 * left zeroed. The caller releases cfg with phg_config_release.
 */
int phg_config_defaults(struct phg_config *cfg, struct phg_err *err)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->dir = phg_strdup(".");
	cfg->migrations = phg_strdup("migrations");
	cfg->postgres_version = PHG_CONFIG_DEFAULT_PG;
	cfg->contract = PHG_CONTRACT_BEFORE_DEPLOY;
	cfg->runner = PHG_RUNNER_PHASEGATE;
	if (!cfg->dir || !cfg->migrations) {
		phg_config_release(cfg);
		return phg_err_set(err, PHG_ENOMEM,
				   "cannot set the config defaults: out of "
				   "memory");
	}
	return 0;
}

/*
 * Frees everything cfg owns and zeroes it. Safe on a zeroed struct, on the
 * defaults and on what a failed load left behind; calling it twice is fine.
 */
void phg_config_release(struct phg_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->nreleases; i++) {
		free(cfg->releases[i].name);
		free(cfg->releases[i].through);
	}
	free(cfg->releases);
	for (i = 0; i < cfg->nrules; i++)
		free(cfg->rules[i].id);
	free(cfg->rules);
	free(cfg->path);
	free(cfg->dir);
	free(cfg->migrations);
	memset(cfg, 0, sizeof(*cfg));
}
