/*
 * setting_not_null.c: ALTER COLUMN SET NOT NULL on a table that has
 * traffic. PostgreSQL scans the whole table under an ACCESS EXCLUSIVE lock
 * to prove there is no NULL, unless (from PostgreSQL 12) a validated
 * CHECK (col IS NOT NULL) proves it already.
 */
#include "analyzer.h"

/* The help, with the statement's names (arena), or NULL. */
static const char *help_for(struct phg_arena *arena, const cJSON *rel,
			    const char *col, int postgres_version)
{
	const char *t = phg_rule_sql_relation(arena, rel),
		   *c = phg_rule_sql_ident(arena, col);
	const char *con = phg_rule_sql_ident(
		arena, phg_arena_printf(arena, "%s_%s_not_null",
					phg_field_str(rel, "relname"), col));

	if (!t || !c || !con)
		return NULL;
	if (postgres_version < 12)
		return phg_arena_printf(
			arena,
			"Before PostgreSQL 12 SET NOT NULL always scans the "
			"table. Enforce the rule with a constraint instead: "
			"(1) ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT "
			"NULL) NOT VALID; — a brief lock, new rows are "
			"checked; "
			"(2) in a later migration, ALTER TABLE %s VALIDATE "
			"CONSTRAINT %s; — it scans under a SHARE UPDATE "
			"EXCLUSIVE lock, so reads and writes go on. Run "
			"ALTER TABLE %s ALTER COLUMN %s SET NOT NULL; and "
			"ALTER TABLE %s DROP CONSTRAINT %s; after upgrading "
			"to PostgreSQL 12 or later, which skips the scan.",
			t, con, c, t, con, t, c, t, con);
	return phg_arena_printf(
		arena,
		"Prove it with a validated CHECK first, over separate "
		"migrations: (1) ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS "
		"NOT NULL) NOT VALID; — a brief lock, new rows are checked. "
		"(2) ALTER TABLE %s VALIDATE CONSTRAINT %s; — it scans under a "
		"SHARE UPDATE EXCLUSIVE lock, so reads and writes go on. (3) "
		"ALTER TABLE %s ALTER COLUMN %s SET NOT NULL; — PostgreSQL 12+ "
		"uses the CHECK and skips the scan. (4) ALTER TABLE %s DROP "
		"CONSTRAINT %s; — it is redundant now.",
		t, con, c, t, con, t, c, t, con);
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *rel = phg_field(phg_node_inner(stmt->tree), "relation");
	const struct phg_table *model_table = NULL;
	const char *table = NULL;
	int rc = 0;

	for (size_t i = 0; i < stmt->nactions && rc == 0; i++) {
		const struct phg_column *known;
		const char *col, *help;

		if (stmt->actions[i].kind != PHG_KIND_SET_NOT_NULL)
			continue;
		col = phg_field_str(stmt->actions[i].node, "name");
		if (!col)
			continue;
		if (!table) {
			table = phg_rule_stmt_table(ctx, stmt);
			if (!table || !phg_rule_table_existing(ctx, table))
				return 0;
			model_table = phg_model_table(ctx->model, table);
		}
		/* Already NOT NULL: PostgreSQL does nothing. */
		known = phg_model_column(model_table, col);
		if (known && known->not_null)
			continue;
		if (ctx->postgres_version >= 12 &&
		    phg_model_has_valid_not_null_check(model_table, col))
			continue;
		help = help_for(ctx->arena, rel, col, ctx->postgres_version);
		if (!help)
			return PHG_ENOMEM;
		if (ctx->postgres_version < 12)
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"setting '%s.%s' NOT NULL scans the whole "
				"table under an ACCESS EXCLUSIVE lock, "
				"blocking reads and writes: before PostgreSQL "
				"12 (postgres_version is %d) even a validated "
				"CHECK does not spare the scan",
				table, col, ctx->postgres_version);
		else
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"setting '%s.%s' NOT NULL scans the whole "
				"table under an ACCESS EXCLUSIVE lock, "
				"blocking reads and writes, because no "
				"validated CHECK (%s IS NOT NULL) proves it "
				"first",
				table, col, col);
	}
	return rc;
}

const struct phg_analyzer phg_rule_setting_not_null = {
	.id = "setting-not-null",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "SET NOT NULL on a table that has traffic, without a "
		   "validated CHECK (col IS NOT NULL)",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_SET_NOT_NULL),
	.scales_with_table = true,
};
