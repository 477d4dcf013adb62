/*
 * changing_column_type.c: ALTER COLUMN TYPE on a column that existed before
 * the release, other than a binary-coercible widening (varchar(n) -> text,
 * numeric precision increase): the old release may write values the new
 * type rejects, and most changes rewrite the table under ACCESS EXCLUSIVE.
 */
#include "analyzer.h"

static const char help[] =
	"Change the type over three releases: (1) expand — ADD COLUMN with the "
	"new type and a trigger that converts every write of the old column; "
	"(2) backfill — convert existing rows in batches, then switch reads "
	"to the new column; (3) contract — drop the trigger and the old column "
	"once no release uses it. Widening varchar(n) to text or to a longer "
	"varchar, or raising numeric precision, needs none of this.";

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	for (size_t i = 0; i < stmt->nactions; i++) {
		const struct phg_action *a = &stmt->actions[i];
		const char *table, *col;

		if (a->kind != PHG_KIND_ALTER_COLUMN_TYPE ||
		    a->phase != PHG_PHASE_CONTRACT)
			continue;
		table = phg_rule_stmt_table(ctx, stmt);
		col = phg_field_str(a->node, "name");
		if (!table || !col ||
		    phg_model_column_origin(ctx->model, table, col) >=
			    ctx->release)
			continue;
		return phg_rule_report(
			self, ctx, stmt, help,
			"changing the type of '%s.%s' breaks the previous "
			"release and rewrites the table under an ACCESS "
			"EXCLUSIVE lock",
			table, col);
	}
	return 0;
}

const struct phg_analyzer phg_rule_changing_column_type = {
	.id = "changing-column-type",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "ALTER COLUMN TYPE other than a widening, on a column the "
		   "previous release uses",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ALTER_COLUMN_TYPE),
};
