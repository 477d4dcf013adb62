/*
 * renaming_table.c: RENAME of a table that existed before the release — the
 * previous release still queries the old name.
 */
#include "analyzer.h"

static const char help[] =
	"Keep the old name working while both releases run: (1) rename the "
	"table and, in the same transaction, CREATE VIEW <old name> AS SELECT "
	"* FROM <new name> (a simple view stays insertable and updatable); "
	"ignore this rule for that migration with a reason. (2) In a later "
	"release, once no release uses the old name, DROP VIEW <old name>.";

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	for (size_t i = 0; i < stmt->ntargets; i++) {
		const struct phg_target *t = &stmt->targets[i];

		if (stmt->kind != PHG_KIND_RENAME_TABLE ||
		    t->access != PHG_ACCESS_REMOVE || t->origin >= ctx->release)
			continue;
		return phg_rule_report(
			self, ctx, stmt, help,
			"renaming table '%s' breaks the previous release, "
			"which still queries it by its old name",
			t->object);
	}
	return 0;
}

const struct phg_analyzer phg_rule_renaming_table = {
	.id = "renaming-table",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "RENAME of a table the previous release uses",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_RENAME_TABLE),
};
