/*
 * renaming_column.c: RENAME COLUMN on a column that existed before the
 * release — the previous release still reads and writes the old name.
 */
#include "analyzer.h"

static const char help[] =
	"Rename over three releases instead: (1) expand — ADD COLUMN with the "
	"new name and a trigger that copies every write of the old column to "
	"the new one; deploy code that writes both and reads the old. (2) "
	"backfill — copy existing rows in batches; switch reads to the new "
	"column. (3) contract — drop the trigger and the old column once no "
	"release uses it.";

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	for (size_t i = 0; i < stmt->ntargets; i++) {
		const struct phg_target *t = &stmt->targets[i];

		if (stmt->kind != PHG_KIND_RENAME_COLUMN ||
		    t->access != PHG_ACCESS_REMOVE || t->origin >= ctx->release)
			continue;
		return phg_rule_report(
			self, ctx, stmt, help,
			"renaming column '%s' breaks the previous release, "
			"which still reads and writes it by its old name",
			t->object);
	}
	return 0;
}

const struct phg_analyzer phg_rule_renaming_column = {
	.id = "renaming-column",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "RENAME COLUMN on a column the previous release uses",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_RENAME_COLUMN),
};
