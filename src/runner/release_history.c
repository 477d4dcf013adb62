/*
 * release_history.c: which migrations a release applied in each region,
 * read from the regions' history tables (rows whose release is the tag),
 * for `release report`. It reads and never writes: no history table is
 * created, no lock is taken, and an unreachable region is noted in its
 * entry, not returned as an error.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the rows of rows[0..n) whose release is tag, in place. */
static size_t keep_release(struct phg_history_row *rows, size_t n,
			   const char *tag)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (phg_streq(rows[i].release, tag)) {
			rows[k++] = rows[i];
			continue;
		}
		free(rows[i].name);
		free(rows[i].version);
		free(rows[i].checksum);
		free(rows[i].phase);
		free(rows[i].release);
		free(rows[i].state);
		free(rows[i].finished_at);
	}
	return k;
}

int phg_runner_release_history(const struct phg_config *cfg, const char *tag,
			       struct phg_release_history **out, size_t *n,
			       struct phg_err *err)
{
	struct phg_release_history *h;

	*out = NULL;
	*n = 0;
	h = calloc(cfg->nregions + 1, sizeof(*h));
	if (!h)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	for (size_t i = 0; i < cfg->nregions; i++) {
		const struct phg_region *reg = &cfg->regions[i];
		struct phg_release_history *e = &h[*n];
		struct phg_err ce = {0};
		struct rn_conn c = {0};
		bool exists = false;
		int rc;

		/* A replica's history is its primary's. */
		if (reg->replica_of)
			continue;
		e->region = reg->name;
		(*n)++;
		rc = rn_connect(cfg, reg, &c, &ce);
		if (rc == PHG_ECONFIG) {
			phg_runner_release_history_free(h, *n);
			*n = 0;
			return phg_err_set(err, rc, "%s", ce.msg);
		}
		if (rc == 0)
			rc = rn_history_exists(&c, &exists, &ce);
		if (rc == 0 && exists)
			rc = rn_history_read(&c, &e->rows, &e->nrows, &ce);
		if (c.pg)
			rn_close(&c);
		if (rc < 0) {
			snprintf(e->error, sizeof(e->error), "%s", ce.msg);
			continue;
		}
		e->reachable = true;
		e->nrows = keep_release(e->rows, e->nrows, tag);
	}
	*out = h;
	return 0;
}

void phg_runner_release_history_free(struct phg_release_history *h, size_t n)
{
	for (size_t i = 0; h && i < n; i++)
		rn_history_free(h[i].rows, h[i].nrows);
	free(h);
}
