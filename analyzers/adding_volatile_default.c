/*
 * adding_volatile_default.c: ADD COLUMN with a default that makes
 * PostgreSQL rewrite the table under an ACCESS EXCLUSIVE lock — a volatile
 * one (random(), gen_random_uuid(), clock_timestamp(), nextval(), or a
 * function phasegate does not know), or before PostgreSQL 11 any non-NULL
 * default. Generated, identity and serial columns are left to other rules.
 */
#include "analyzer.h"

/* The help, with the statement's names (arena), or NULL. */
static const char *help_for(struct phg_arena *arena, const cJSON *rel,
			    const char *col, bool volatile_default)
{
	const char *t = phg_rule_sql_relation(arena, rel),
		   *c = phg_rule_sql_ident(arena, col);

	if (!t || !c)
		return NULL;
	return phg_arena_printf(
		arena,
		"Add the column without the default, then fill it: (1) ALTER "
		"TABLE %s ADD COLUMN %s <type>; — no rewrite. (2) ALTER TABLE "
		"%s ALTER COLUMN %s SET DEFAULT <%s>; — rows inserted from "
		"then on get it, existing rows stay NULL. (3) In a backfill "
		"migration, UPDATE %s SET %s = <%s> WHERE %s IS NULL, in "
		"batches by key range, so each batch locks few rows briefly. "
		"Require the column (NOT NULL) in a later release if it must "
		"be.",
		t, c, t, c, volatile_default ? "expression" : "value", t, c,
		volatile_default ? "expression" : "value", c);
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *rel = phg_field(phg_node_inner(stmt->tree), "relation");
	const char *table = NULL;
	int rc = 0;

	for (size_t i = 0; i < stmt->nactions && rc == 0; i++) {
		const cJSON *coldef, *def;
		const char *col, *fn, *help;

		if (stmt->actions[i].kind != PHG_KIND_ADD_COLUMN)
			continue;
		coldef = phg_node_get(phg_field(stmt->actions[i].node, "def"),
				      "ColumnDef");
		col = phg_field_str(coldef, "colname");
		def = phg_coldef_default(coldef);
		if (!col || !def ||
		    phg_field_bool(phg_node_get(def, "A_Const"), "isnull") ||
		    phg_coldef_has(coldef, "CONSTR_GENERATED") ||
		    phg_coldef_has(coldef, "CONSTR_IDENTITY") ||
		    phg_coldef_is_serial(coldef))
			continue;
		fn = phg_expr_volatile_function(def);
		if (!fn && ctx->postgres_version >= 11)
			continue;
		if (!table) {
			table = phg_rule_stmt_table(ctx, stmt);
			if (!table || !phg_rule_table_existing(ctx, table))
				return 0;
		}
		help = help_for(ctx->arena, rel, col, fn != NULL);
		if (!help)
			return PHG_ENOMEM;
		if (fn)
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"adding column '%s.%s' with a volatile default "
				"(%s()) rewrites the whole table under an "
				"ACCESS EXCLUSIVE lock, blocking reads and "
				"writes until it is done",
				table, col, fn);
		else
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"adding column '%s.%s' with a default rewrites "
				"the whole table under an ACCESS EXCLUSIVE "
				"lock on PostgreSQL %d, blocking reads and "
				"writes until it is done (from PostgreSQL 11 "
				"only a volatile default does)",
				table, col, ctx->postgres_version);
	}
	return rc;
}

const struct phg_analyzer phg_rule_adding_volatile_default = {
	.id = "adding-volatile-default",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "ADD COLUMN with a default that rewrites the table "
		   "(volatile, or any before PostgreSQL 11)",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_COLUMN),
	.scales_with_table = true,
};
