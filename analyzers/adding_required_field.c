/*
 * adding_required_field.c: ADD COLUMN ... NOT NULL with no default on a
 * table that has traffic. On a table with rows the statement fails (the
 * existing rows would hold NULL); on an empty one it succeeds, and then
 * every INSERT of the previous release, which does not know the column,
 * fails.
 */
#include "analyzer.h"

/* Whether the column gets a value without the writer naming it. */
static bool has_value(const cJSON *coldef)
{
	const cJSON *def = phg_coldef_default(coldef);

	if (def && !phg_field_bool(phg_node_get(def, "A_Const"), "isnull"))
		return true;
	return phg_coldef_has(coldef, "CONSTR_IDENTITY") ||
	       phg_coldef_has(coldef, "CONSTR_GENERATED") ||
	       phg_coldef_is_serial(coldef);
}

/* The help, with the statement's names (arena), or NULL. */
static const char *help_for(struct phg_arena *arena, const cJSON *rel,
			    const char *col)
{
	const char *t = phg_rule_sql_relation(arena, rel),
		   *c = phg_rule_sql_ident(arena, col);
	const char *con = phg_rule_sql_ident(
		arena, phg_arena_printf(arena, "%s_%s_not_null",
					phg_field_str(rel, "relname"), col));

	if (!t || !c || !con)
		return NULL;
	return phg_arena_printf(
		arena,
		"Either give it a default every row can take — ALTER TABLE %s "
		"ADD COLUMN %s <type> NOT NULL DEFAULT <value>; (from "
		"PostgreSQL 11 a constant default adds the column without "
		"rewriting the table) — or require it over releases: (1) "
		"ALTER TABLE %s ADD COLUMN %s <type>; (2) deploy code that "
		"always sets it, and backfill the existing rows in batches; "
		"(3) in a later release, ALTER TABLE %s ADD CONSTRAINT %s "
		"CHECK (%s IS NOT NULL) NOT VALID; then ALTER TABLE %s "
		"VALIDATE CONSTRAINT %s; then ALTER TABLE %s ALTER COLUMN %s "
		"SET NOT NULL;",
		t, c, t, c, t, con, c, t, con, t, c);
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *rel = phg_field(phg_node_inner(stmt->tree), "relation");
	const char *table = NULL;
	int rc = 0;

	for (size_t i = 0; i < stmt->nactions && rc == 0; i++) {
		const cJSON *coldef;
		const char *col, *help;

		if (stmt->actions[i].kind != PHG_KIND_ADD_COLUMN)
			continue;
		coldef = phg_node_get(phg_field(stmt->actions[i].node, "def"),
				      "ColumnDef");
		col = phg_field_str(coldef, "colname");
		if (!col ||
		    !(phg_coldef_has(coldef, "CONSTR_NOTNULL") ||
		      phg_coldef_has(coldef, "CONSTR_PRIMARY")) ||
		    has_value(coldef))
			continue;
		if (!table) {
			table = phg_rule_stmt_table(ctx, stmt);
			if (!table || !phg_rule_table_existing(ctx, table))
				return 0;
		}
		help = help_for(ctx->arena, rel, col);
		if (!help)
			return PHG_ENOMEM;
		rc = phg_rule_report(
			self, ctx, stmt, help,
			"adding column '%s.%s' as NOT NULL without a default "
			"fails on a table that has rows, and rejects every "
			"insert of the previous release, which does not set it",
			table, col);
	}
	return rc;
}

const struct phg_analyzer phg_rule_adding_required_field = {
	.id = "adding-required-field",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "ADD COLUMN ... NOT NULL without a default on a table that "
		   "has traffic",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_COLUMN),
};
