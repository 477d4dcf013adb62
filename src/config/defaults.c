/*
 * defaults.c: the config's lifecycle — filling a struct phg_config with the
 * defaults every command starts from, and freeing what a load allocated.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* The grammar phasegate parses with is PostgreSQL 15's. */
#define PHG_CONFIG_DEFAULT_PG 15

/* The "migrate:" defaults, as docs/config.md lists them. */
#define DEFAULT_HISTORY_SCHEMA "phasegate"
#define DEFAULT_LOCK_TIMEOUT_MS 5000LL	      /* 5s */
#define DEFAULT_STATEMENT_TIMEOUT_MS 0LL      /* none */
#define DEFAULT_RETRIES 5		      /* lock_not_available retries */
#define DEFAULT_RETRY_BACKOFF_MS 1000LL	      /* 1s */
#define DEFAULT_ADVISORY_LOCK_WAIT_MS 60000LL /* 60s */
#define DEFAULT_REPLICA_WAIT_MS 600000LL      /* 10m */

/* The "stats:" defaults: an index build or a scan of a table this small
   takes well under a second. */
#define DEFAULT_SMALL_TABLE_ROWS 10000LL
#define DEFAULT_SMALL_TABLE_BYTES (10LL * 1024 * 1024) /* 10MB */

/*
 * Fills cfg with the defaults: no file, folder ".", migrations in
 * "migrations", PostgreSQL 15, contracts before the deploy, phasegate as the
 * runner, no releases, no rule settings, no exclude globs, no regions, and
 * the "migrate:" defaults (history in schema "phasegate", lock_timeout 5s, no
 * statement_timeout, 5 retries from a 1s backoff, 60s for the advisory lock,
 * 10m for replicas). Returns 0, or PHG_ENOMEM with cfg left zeroed. The
 * caller releases cfg with phg_config_release.
 */
int phg_config_defaults(struct phg_config *cfg, struct phg_err *err)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->dir = phg_strdup(".");
	cfg->migrations = phg_strdup("migrations");
	cfg->postgres_version = PHG_CONFIG_DEFAULT_PG;
	cfg->contract = PHG_CONTRACT_BEFORE_DEPLOY;
	cfg->runner = PHG_RUNNER_PHASEGATE;
	cfg->migrate.history_schema = phg_strdup(DEFAULT_HISTORY_SCHEMA);
	cfg->migrate.lock_timeout_ms = DEFAULT_LOCK_TIMEOUT_MS;
	cfg->migrate.statement_timeout_ms = DEFAULT_STATEMENT_TIMEOUT_MS;
	cfg->migrate.retries = DEFAULT_RETRIES;
	cfg->migrate.retry_backoff_ms = DEFAULT_RETRY_BACKOFF_MS;
	cfg->migrate.advisory_lock_wait_ms = DEFAULT_ADVISORY_LOCK_WAIT_MS;
	cfg->migrate.replica_wait_ms = DEFAULT_REPLICA_WAIT_MS;
	cfg->stats.small_table_rows = DEFAULT_SMALL_TABLE_ROWS;
	cfg->stats.small_table_bytes = DEFAULT_SMALL_TABLE_BYTES;
	if (!cfg->dir || !cfg->migrations || !cfg->migrate.history_schema ||
	    phg_cfgrel_defaults(cfg) < 0) {
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
	for (i = 0; i < cfg->nexclude; i++)
		free(cfg->exclude[i]);
	free(cfg->exclude);
	phg_cfgrel_release(cfg);
	for (i = 0; i < cfg->nregions; i++) {
		free(cfg->regions[i].name);
		free(cfg->regions[i].database);
		free(cfg->regions[i].replica_of);
	}
	free(cfg->regions);
	free(cfg->migrate.history_schema);
	free(cfg->path);
	free(cfg->dir);
	free(cfg->migrations);
	memset(cfg, 0, sizeof(*cfg));
}
