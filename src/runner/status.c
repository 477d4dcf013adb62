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

/* One region's history as read, until its items are built. */
struct region_read {
	struct phg_history_row *rows;
	size_t nrows;
	struct rn_names by_name;
};

/*
 * Reads a region's history and whether a runner holds its lock. An
 * unreachable region is noted in st, not returned as an error; only a
 * ${NAME} that is not set (PHG_ECONFIG) is.
 */
static int region_read(const struct phg_config *cfg,
		       const struct phg_region *reg, struct region_read *rr,
		       struct phg_region_status *st, struct phg_err *err)
{
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
		rc = rn_history_read(&c, &rr->rows, &rr->nrows, &e);
	/* A row says "running" until it finishes, also when its runner
	   died: only a runner holding the lock is really running it. */
	if (rc == 0 && exists)
		rc = rn_lock_held(&c, &st->locked, &e);
	if (c.pg)
		rn_close(&c);
	if (rc < 0) {
		snprintf(st->error, sizeof(st->error), "%s", e.msg);
		return 0;
	}
	st->reachable = true;
	return rn_history_index(rr->rows, rr->nrows, &rr->by_name) < 0
		       ? phg_err_set(err, PHG_ENOMEM, "out of memory")
		       : 0;
}

/* The migrations on disk, with their checksums and, when needed, phases. */
struct disk {
	struct phg_migration_set set;
	struct rn_names by_name; /* name -> struct phg_migration */
	struct phg_lint_result lint;
	bool have_lint;
	struct rn_names phase; /* name -> struct phg_lint_migration */
};

/*
 * The migrations of the config's folder with their checksums: all that
 * status needs for a migration its history has a row of (drift or not,
 * the phase recorded). Parsing waits until a migration without a row asks
 * for its phase (needs_phases).
 */
static int disk_read(const struct phg_config *cfg, struct disk *d,
		     struct phg_err *err)
{
	int rc = phg_source_discover(cfg->migrations, &d->set, err);

	for (size_t i = 0; rc == 0 && i < d->set.n; i++) {
		struct phg_buf text = {0};

		rc = phg_source_load(&d->set.items[i], &text, err);
		phg_buf_release(&text);
		if (rc == 0 && rn_names_put(&d->by_name, d->set.items[i].name,
					    &d->set.items[i]) < 0)
			rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
	}
	return rc;
}

/* Whether some reachable region has no row for some migration on disk. */
static bool needs_phases(const struct disk *d, const struct region_read *rr,
			 const struct phg_region_status *st, size_t n)
{
	for (size_t r = 0; r < n; r++)
		for (size_t i = 0; st[r].reachable && i < d->set.n; i++)
			if (!rn_names_get(&rr[r].by_name, d->set.items[i].name))
				return true;
	return false;
}

/* The lint's phases, for migrations that have no history row. */
static int disk_phases(const struct phg_config *cfg, struct disk *d,
		       struct phg_err *err)
{
	struct phg_lint_opts lo = {
		.cfg = cfg, .have_config = true, .collect = true};
	int rc = phg_lint_run(&lo, &d->lint, err);

	d->have_lint = true;
	for (size_t i = 0; rc == 0 && i < d->lint.nmigrations; i++)
		if (rn_names_put(&d->phase, d->lint.migrations[i].mig->name,
				 &d->lint.migrations[i]) < 0)
			rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
	return rc;
}

/* Each migration's state in a region that could be read. */
static int region_items(const struct disk *d, const struct region_read *rr,
			struct phg_region_status *st, struct phg_err *err)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < d->set.n; i++) {
		const struct phg_migration *m = &d->set.items[i];
		const struct phg_history_row *row =
			rn_names_get(&rr->by_name, m->name);
		const struct phg_lint_migration *lm =
			row ? NULL : rn_names_get(&d->phase, m->name);

		rc = add_item(st, m->name, compare(m, row, st->locked),
			      row  ? row->phase
			      : lm ? phg_phase_name(lm->phase)
				   : phg_phase_name(PHG_PHASE_NONE),
			      row);
	}
	for (size_t i = 0; rc == 0 && i < rr->nrows; i++) {
		const struct phg_history_row *row = &rr->rows[i];

		/* A failed attempt that kept nothing is no loss. */
		if (rn_names_get(&d->by_name, row->name) ||
		    rn_verdict(row, NULL) == RN_ROW_GONE)
			continue;
		rc = add_item(st, row->name, PHG_MIG_MISSING, row->phase, row);
	}
	return rc < 0 ? phg_err_set(err, rc, "out of memory") : 0;
}

int phg_runner_status(const struct phg_runner_opts *opts,
		      struct phg_region_status **out, size_t *n,
		      struct phg_err *err)
{
	const struct phg_config *cfg = opts->cfg;
	struct region_read *rr = NULL;
	struct disk d = {0};
	int rc;

	*out = NULL;
	*n = 0;
	if (cfg->nregions == 0)
		return phg_err_set(err, PHG_EUSAGE,
				   "no regions in the config: add a 'regions:' "
				   "list with each database (see "
				   "docs/config.md)");
	rn_names_init(&d.by_name);
	rn_names_init(&d.phase);
	rc = disk_read(cfg, &d, err);
	if (rc == 0) {
		*out = calloc(cfg->nregions, sizeof(**out));
		rr = calloc(cfg->nregions, sizeof(*rr));
		if (!*out || !rr)
			rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
	}
	for (size_t i = 0; rc == 0 && i < cfg->nregions; i++) {
		if (opts->region &&
		    strcmp(opts->region, cfg->regions[i].name) != 0)
			continue;
		rn_names_init(&rr[*n].by_name);
		rc = region_read(cfg, &cfg->regions[i], &rr[*n], &(*out)[*n],
				 err);
		(*n)++;
	}
	if (rc == 0 && opts->region && *n == 0)
		rc = phg_err_set(err, PHG_EUSAGE,
				 "--region '%s': no region of that name in the "
				 "config",
				 opts->region);
	if (rc == 0 && needs_phases(&d, rr, *out, *n))
		rc = disk_phases(cfg, &d, err);
	for (size_t i = 0; rc == 0 && i < *n; i++)
		if ((*out)[i].reachable)
			rc = region_items(&d, &rr[i], &(*out)[i], err);
	for (size_t i = 0; rr && i < *n; i++) {
		rn_names_release(&rr[i].by_name);
		rn_history_free(rr[i].rows, rr[i].nrows);
	}
	free(rr);
	rn_names_release(&d.phase);
	rn_names_release(&d.by_name);
	if (d.have_lint)
		phg_lint_result_release(&d.lint);
	phg_source_release(&d.set);
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
