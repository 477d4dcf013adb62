/*
 * status.c: what each region's history says next to the files on disk —
 * applied, pending, running, interrupted, failed, drift and missing (see
 * enum phg_mig_state). It reads and never writes: no history table is
 * created, and the migration lock is looked at, not taken. An unreachable
 * region is a status, not an error.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_item(struct phg_region_status *st, const char *name,
		    enum phg_mig_state state, const char *phase,
		    const struct phg_history_row *row)
{
	struct phg_status_item *n =
		realloc(st->items, (st->nitems + 1) * sizeof(*n));
	struct phg_status_item *it;

	if (!n)
		return PHG_ENOMEM;
	st->items = n;
	it = &n[st->nitems++];
	memset(it, 0, sizeof(*it));
	it->name = phg_strdup(name);
	it->state = state;
	it->phase = phg_strdup(phase ? phase : "");
	if (row) {
		it->statements_done = row->statements_done;
		it->duration_ms = row->duration_ms;
		it->finished_at =
			row->finished_at ? phg_strdup(row->finished_at) : NULL;
	}
	st->count[state]++;
	return it->name && it->phase ? 0 : PHG_ENOMEM;
}

/* A migration on disk next to its history row (or none). */
static enum phg_mig_state compare(const struct phg_migration *m,
				  const struct phg_history_row *row,
				  bool locked)
{
	if (!row)
		return PHG_MIG_PENDING;
	switch (rn_verdict(row, m)) {
	case RN_ROW_APPLIED:
		return PHG_MIG_APPLIED;
	case RN_ROW_DRIFT:
		return PHG_MIG_DRIFT;
	case RN_ROW_MISSING: /* m is on disk: not reached */
		return PHG_MIG_MISSING;
	case RN_ROW_PARTIAL:
	case RN_ROW_NOTHING_KEPT:
	case RN_ROW_GONE:
		break;
	}
	if (phg_streq(row->state, "running"))
		return locked ? PHG_MIG_RUNNING : PHG_MIG_INTERRUPTED;
	if (phg_streq(row->state, "failed"))
		return PHG_MIG_FAILED;
	return PHG_MIG_PENDING;
}

static int region_status(const struct phg_config *cfg,
			 const struct phg_region *reg,
			 const struct phg_lint_result *lint,
			 struct phg_region_status *st, struct phg_err *err)
{
	struct phg_history_row *rows = NULL;
	size_t nrows = 0;
	struct phg_err e = {0};
	struct rn_conn c;
	bool exists = false;
	int rc;

	st->region = reg->name;
	st->replica = reg->replica_of != NULL;
	rc = rn_connect(cfg, reg, &c, &e);
	if (rc == PHG_ECONFIG)
		return phg_err_set(err, rc, "%s", e.msg);
	if (rc == 0)
		rc = rn_history_exists(&c, &exists, &e);
	if (rc == 0 && exists)
		rc = rn_history_read(&c, &rows, &nrows, &e);
	/* A row says "running" until it finishes, also when its runner
	   died: only a runner holding the lock is really running it. */
	if (rc == 0 && exists)
		rc = rn_lock_held(&c, &st->locked, &e);
	if (c.pg)
		rn_close(&c);
	if (rc < 0) {
		snprintf(st->error, sizeof(st->error), "%s", e.msg);
		rn_history_free(rows, nrows);
		return 0;
	}
	st->reachable = true;
	for (size_t i = 0; rc == 0 && i < lint->nmigrations; i++) {
		const struct phg_lint_migration *m = &lint->migrations[i];
		const struct phg_history_row *row =
			rn_history_find(rows, nrows, m->mig->name);

		rc = add_item(st, m->mig->name,
			      compare(m->mig, row, st->locked),
			      row ? row->phase : phg_phase_name(m->phase), row);
	}
	for (size_t i = 0; rc == 0 && i < nrows; i++) {
		bool on_disk = false;

		for (size_t k = 0; k < lint->nmigrations && !on_disk; k++)
			on_disk = phg_streq(lint->migrations[k].mig->name,
					    rows[i].name);
		/* A failed attempt that kept nothing is no loss. */
		if (on_disk || rn_verdict(&rows[i], NULL) == RN_ROW_GONE)
			continue;
		rc = add_item(st, rows[i].name, PHG_MIG_MISSING, rows[i].phase,
			      &rows[i]);
	}
	rn_history_free(rows, nrows);
	return rc < 0 ? phg_err_set(err, rc, "out of memory") : 0;
}

int phg_runner_status(const struct phg_runner_opts *opts,
		      struct phg_region_status **out, size_t *n,
		      struct phg_err *err)
{
	const struct phg_config *cfg = opts->cfg;
	struct phg_lint_opts lo = {
		.cfg = cfg, .have_config = true, .collect = true};
	struct phg_lint_result lint;
	int rc;

	*out = NULL;
	*n = 0;
	if (cfg->nregions == 0)
		return phg_err_set(err, PHG_EUSAGE,
				   "no regions in the config: add a 'regions:' "
				   "list with each database (see "
				   "docs/config.md)");
	rc = phg_lint_run(&lo, &lint, err);
	if (rc == 0) {
		*out = calloc(cfg->nregions, sizeof(**out));
		if (!*out)
			rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
	}
	for (size_t i = 0; rc == 0 && i < cfg->nregions; i++) {
		if (opts->region &&
		    strcmp(opts->region, cfg->regions[i].name) != 0)
			continue;
		rc = region_status(cfg, &cfg->regions[i], &lint, &(*out)[*n],
				   err);
		(*n)++;
	}
	if (rc == 0 && opts->region && *n == 0)
		rc = phg_err_set(err, PHG_EUSAGE,
				 "--region '%s': no region of that name in the "
				 "config",
				 opts->region);
	phg_lint_result_release(&lint);
	return rc;
}

void phg_runner_status_free(struct phg_region_status *st, size_t n)
{
	for (size_t i = 0; st && i < n; i++) {
		for (size_t k = 0; k < st[i].nitems; k++) {
			free(st[i].items[k].name);
			free(st[i].items[k].phase);
			free(st[i].items[k].finished_at);
		}
		free(st[i].items);
	}
	free(st);
}
