/*
 * mixed_phase_migration.c: one migration holding a contract on an object
 * that existed before the release and an expand or backfill of something
 * the release keeps. The runner applies a migration whole, at its strongest
 * phase, so the expand would wait for the contract's slot.
 */
#include "analyzer.h"

static const char help[] =
	"Split the file: put the expand and backfill statements in one "
	"migration and the contract in a separate, later migration (of a later "
	"release), so each runs at its own phase.";

static bool is_old_contract(const struct phg_stmt *s, int release)
{
	for (size_t i = 0; i < s->ntargets; i++) {
		const struct phg_target *t = &s->targets[i];

		if (t->phase == PHG_PHASE_CONTRACT && t->origin < release &&
		    (t->access == PHG_ACCESS_REMOVE ||
		     t->access == PHG_ACCESS_TIGHTEN))
			return true;
	}
	return false;
}

/*
 * An expand or backfill of something the release does not also remove: a
 * CHECK created and dropped in the release is temporary; dropping an older
 * one is an expand green needs before the cutover.
 */
static bool is_lasting_expand(const struct phg_gate *g,
			      const struct phg_stmt *s)
{
	if (s->phase != PHG_PHASE_EXPAND && s->phase != PHG_PHASE_BACKFILL)
		return false;
	if (s->ntargets == 0)
		return true;
	for (size_t i = 0; i < s->ntargets; i++) {
		const struct phg_target *t = &s->targets[i];

		/* Only what this release creates and removes is temporary. */
		bool temporary = t->origin == g->release &&
				 phg_gate_removes(g, t->object);

		if (t->access != PHG_ACCESS_READ && !temporary)
			return true;
	}
	return false;
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx)
{
	const struct phg_gate *g = ctx->gate;
	struct phg_rule_ctx c = *ctx;

	if (c.contract == PHG_CONTRACT_AFTER_CUTOVER &&
	    c.severity != PHG_SEV_OFF)
		c.severity = PHG_SEV_ERROR;
	for (size_t i = 0; i < g->nstmts;) {
		size_t mig = g->stmts[i].migration, j;
		const struct phg_stmt *contract = NULL, *expand = NULL;

		for (j = i; j < g->nstmts && g->stmts[j].migration == mig;
		     j++) {
			const struct phg_stmt *s = g->stmts[j].stmt;

			if (!contract && is_old_contract(s, g->release))
				contract = s;
			if (!expand && is_lasting_expand(g, s))
				expand = s;
		}
		i = j;
		if (contract && expand) {
			int rc = phg_rule_report(
				self, &c, contract, help,
				"this migration contracts an object that "
				"existed before the release (%s) and also "
				"holds an expand or backfill (%s at line %d); "
				"it would run whole at the contract's phase",
				phg_rule_kind_label(contract->kind),
				phg_rule_kind_label(expand->kind),
				expand->line);

			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

const struct phg_analyzer phg_rule_mixed_phase_migration = {
	.id = "mixed-phase-migration",
	.stage = PHG_STAGE_RELEASE,
	.severity = PHG_SEV_WARNING,
	.summary = "a migration mixing a contract with an expand or backfill",
	.check_release = check,
};
