/*
 * contract_with_expand.c: a contract on an object that existed before the
 * release, in the same release that expands, backfills or reads it in a
 * backfill; and tightening a column the release adds to an existing table
 * when the constraint rejects what old writers put there.
 */
#include "analyzer.h"

#include <string.h>

static const char help[] =
	"Ship the contract in a strictly later release than the expand and "
	"backfill it depends on, so the release still serving traffic never "
	"meets it: release N adds (expand), release N+1 backfills, release "
	"N+2 contracts. Move this statement into a migration of the next "
	"release.";

static const char help_tighten[] =
	"The previous release does not know the new column, so its INSERTs "
	"leave it NULL (or its default) and would fail. Add the column as "
	"nullable in this release, backfill it in the next, and make it "
	"required in the release after that (CHECK (col IS NOT NULL) NOT "
	"VALID, VALIDATE CONSTRAINT, SET NOT NULL, DROP CONSTRAINT).";

static bool is_contract(const struct phg_target *t)
{
	return t->phase == PHG_PHASE_CONTRACT &&
	       (t->access == PHG_ACCESS_REMOVE ||
		t->access == PHG_ACCESS_TIGHTEN);
}

static bool expands_or_backfills(const struct phg_target *t)
{
	if (t->phase == PHG_PHASE_EXPAND)
		return t->access == PHG_ACCESS_CREATE ||
		       t->access == PHG_ACCESS_RELAX;
	if (t->phase == PHG_PHASE_BACKFILL)
		return t->access == PHG_ACCESS_WRITE ||
		       t->access == PHG_ACCESS_READ;
	return false;
}

static const char *verb(const struct phg_target *t)
{
	if (t->phase == PHG_PHASE_BACKFILL)
		return t->access == PHG_ACCESS_READ ? "reads it in a backfill"
						    : "backfills it";
	return t->access == PHG_ACCESS_CREATE ? "adds it" : "expands it";
}

/* The use in the release that expands, backfills or reads c's object. */
static const struct phg_gate_use *find_dependency(const struct phg_gate *g,
						  const struct phg_gate_use *c)
{
	for (size_t i = 0; i < g->nuses; i++) {
		const struct phg_gate_use *u = &g->uses[i];

		if (u->stmt != c->stmt && expands_or_backfills(u->target) &&
		    phg_gate_touches(c->target->object, u->target->object))
			return u;
	}
	return NULL;
}

/* The ADD COLUMN of the release that created c's column. */
static const struct phg_gate_use *find_add(const struct phg_gate *g,
					   const struct phg_gate_use *c)
{
	for (size_t i = 0; i < g->nuses; i++) {
		const struct phg_gate_use *u = &g->uses[i];

		if (u->target->access == PHG_ACCESS_CREATE &&
		    phg_streq(u->target->object, c->target->object))
			return u;
	}
	return NULL;
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx)
{
	const struct phg_gate *g = ctx->gate;
	const struct phg_stmt *last = NULL;
	const unsigned new_col =
		PHG_TF_COLUMN | PHG_TF_REJECTS_OLD | PHG_TF_EXISTING_TABLE;

	for (size_t i = 0; i < g->nuses; i++) {
		const struct phg_gate_use *c = &g->uses[i];
		const struct phg_gate_use *u;
		int rc;

		if (c->stmt == last || !is_contract(c->target))
			continue;
		if (c->target->origin < g->release) {
			u = find_dependency(g, c);
			if (!u)
				continue;
			rc = phg_rule_report(
				self, ctx, c->stmt, help,
				"%s contracts '%s', which existed before this "
				"release, while this release also %s (%s:%d); "
				"the previous release still uses it",
				phg_rule_kind_label(c->stmt->kind),
				c->target->object, verb(u->target),
				u->stmt->file, u->stmt->line);
		} else if (c->target->access == PHG_ACCESS_TIGHTEN &&
			   (c->target->flags & new_col) == new_col &&
			   (u = find_add(g, c)) != NULL) {
			rc = phg_rule_report(
				self, ctx, c->stmt, help_tighten,
				"%s makes '%s' reject NULL, but this release "
				"adds that column to an existing table "
				"(%s:%d): "
				"the previous release's inserts leave it NULL "
				"and would fail",
				phg_rule_kind_label(c->stmt->kind),
				c->target->object, u->stmt->file,
				u->stmt->line);
		} else {
			continue;
		}
		if (rc < 0)
			return rc;
		last = c->stmt;
	}
	return 0;
}

const struct phg_analyzer phg_rule_contract_with_expand = {
	.id = "contract-with-expand",
	.stage = PHG_STAGE_RELEASE,
	.severity = PHG_SEV_ERROR,
	.summary = "a contract in the same release as the expand or backfill "
		   "it depends on",
	.check_release = check,
};
