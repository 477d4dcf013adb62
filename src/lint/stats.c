/*
 * stats.c: database-aware severity for `lint --stats`. The command reads
 * what the database says about the tables the findings are on (one query,
 * runner/stats.c); here each finding gets its table's numbers, and a
 * finding of a rule whose hazard grows with the table (a lock held for a
 * build, a scan or a rewrite) is lowered from error to warning when the
 * table is under the configured thresholds. Compatibility rules are never
 * lowered: they break the old release whatever the table's size.
 */
#include "lint.h"

#include <string.h>

int phg_lint_stats_tables(const struct phg_lint_result *r,
			  struct phg_vec *tables)
{
	for (size_t i = 0; i < r->findings.n; i++) {
		const char *t = r->findings.items[i].table;
		bool seen = false;
		int rc;

		for (size_t k = 0; t && !seen && k < tables->n; k++)
			seen = phg_streq(tables->items[k], t);
		if (!t || seen)
			continue;
		rc = phg_vec_push(tables, (void *)t);
		if (rc < 0)
			return rc;
	}
	return 0;
}

bool phg_lint_stats_small(const struct phg_table_stats *s,
			  const struct phg_stats_settings *th)
{
	return s->rows >= 0 && s->bytes >= 0 &&
	       s->rows < th->small_table_rows &&
	       s->bytes < th->small_table_bytes;
}

static const struct phg_table_stats *
stats_of(const struct phg_table_stats *stats, size_t n, const char *table)
{
	for (size_t i = 0; table && i < n; i++)
		if (phg_streq(stats[i].table, table))
			return &stats[i];
	return NULL;
}

void phg_lint_stats_apply(struct phg_lint_result *r,
			  const struct phg_table_stats *stats, size_t n,
			  const struct phg_stats_settings *th)
{
	r->stats = true;
	r->stats_settings = *th;
	for (size_t i = 0; i < r->findings.n; i++) {
		struct phg_finding *f = &r->findings.items[i];
		const struct phg_analyzer *a;

		f->stats = stats_of(stats, n, f->table);
		if (!f->stats || f->severity != PHG_SEV_ERROR)
			continue;
		a = phg_analyzer_find(f->rule);
		if (!a || !a->scales_with_table ||
		    !phg_lint_stats_small(f->stats, th))
			continue;
		f->severity = PHG_SEV_WARNING;
		f->downgraded = true;
		if (!f->suppressed) {
			r->errors--;
			r->warnings++;
		}
	}
}
