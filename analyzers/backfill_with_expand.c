/*
 * backfill_with_expand.c: a backfill of a column the release adds to an
 * existing table — the previous release keeps writing rows the backfill
 * misses.
 */
#include "analyzer.h"

static const char help[] =
	"Backfill in the release after the one that adds the column, when no "
	"old writer is left; or, in this release, add a trigger that fills the "
	"column for rows the previous release writes, and backfill again in "
	"the next release.";

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx)
{
	const struct phg_gate *g = ctx->gate;
	const struct phg_stmt *last = NULL;
	const unsigned want = PHG_TF_COLUMN | PHG_TF_EXISTING_TABLE;

	for (size_t i = 0; i < g->nuses; i++) {
		const struct phg_gate_use *u = &g->uses[i];
		int rc;

		if (u->stmt == last || u->target->phase != PHG_PHASE_BACKFILL ||
		    u->target->access != PHG_ACCESS_WRITE ||
		    (u->target->flags & want) != want ||
		    u->target->origin != g->release)
			continue;
		rc = phg_rule_report(
			self, ctx, u->stmt, help,
			"%s backfills '%s', which this release adds: rows the "
			"previous release writes after the backfill will miss "
			"it",
			phg_rule_kind_label(u->stmt->kind), u->target->object);
		if (rc < 0)
			return rc;
		last = u->stmt;
	}
	return 0;
}

const struct phg_analyzer phg_rule_backfill_with_expand = {
	.id = "backfill-with-expand",
	.stage = PHG_STAGE_RELEASE,
	.severity = PHG_SEV_WARNING,
	.summary = "a backfill of a column the same release adds",
	.check_release = check,
};
