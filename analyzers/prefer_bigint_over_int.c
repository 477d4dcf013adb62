/*
 * prefer_bigint_over_int.c: a column declared integer (int, int4) in CREATE
 * TABLE or ADD COLUMN. Its values stop at 2147483647; ids and counters get
 * there, and widening the column then rewrites the table under an ACCESS
 * EXCLUSIVE lock (or takes a new column, a sync trigger and a backfill over
 * releases). A style rule: it applies to new tables too. serial columns are
 * prefer-identity's (an identity column of type bigint fixes both).
 */
#include "analyzer.h"

/* The column's type when it is PostgreSQL's own (pg_catalog.x or x). */
static const char *builtin_type(const cJSON *coldef)
{
	const cJSON *names = phg_field(phg_field(coldef, "typeName"), "names");
	int n = cJSON_GetArraySize(names);

	if (n == 2 && phg_streq(phg_node_sval(cJSON_GetArrayItem(names, 0)),
				"pg_catalog"))
		return phg_node_sval(cJSON_GetArrayItem(names, 1));
	return n == 1 ? phg_node_sval(cJSON_GetArrayItem(names, 0)) : NULL;
}

static int column(const struct phg_analyzer *self,
		  const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt,
		  const char **tablep, const cJSON *rel, const cJSON *coldef,
		  bool added)
{
	const char *table;
	const char *col = phg_field_str(coldef, "colname");
	bool array = phg_field(phg_field(coldef, "typeName"), "arrayBounds");
	const char *c, *t, *help;

	if (!col || !phg_streq(builtin_type(coldef), "int4"))
		return 0;
	/* The table's name only for a column that matches. */
	if (!*tablep)
		*tablep = phg_rule_stmt_table(ctx, stmt);
	table = *tablep;
	if (!table)
		return 0;
	c = phg_rule_sql_ident(ctx->arena, col);
	t = phg_rule_sql_relation(ctx->arena, rel);
	if (!c || !t)
		return PHG_ENOMEM;
	if (!added)
		help = phg_arena_printf(
			ctx->arena,
			"Declare it bigint: %s bigint%s in the CREATE TABLE — "
			"4 "
			"more bytes per value, room for 9.2 × 10^18. If the "
			"values are bounded by nature (a small count, a code), "
			"keep integer and suppress this warning with that "
			"reason.",
			c, array ? "[]" : "");
	else
		help = phg_arena_printf(
			ctx->arena,
			"Declare it bigint: ALTER TABLE %s ADD COLUMN %s "
			"bigint%s ...; — 4 more bytes per value, room for 9.2 "
			"× "
			"10^18. If the values are bounded by nature (a small "
			"count, a code), keep integer and suppress this "
			"warning "
			"with that reason.",
			t, c, array ? "[]" : "");
	if (!help)
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"column '%s.%s' is integer%s (32-bit): its values stop at "
		"2147483647, and widening it to bigint later rewrites the "
		"table "
		"under an ACCESS EXCLUSIVE lock",
		table, col, array ? "[]" : "");
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *rel = phg_field(phg_node_inner(stmt->tree), "relation");
	const char *table = NULL;
	int rc = 0;

	for (size_t i = 0; i < stmt->nactions && rc == 0; i++) {
		const struct phg_action *a = &stmt->actions[i];
		const cJSON *it;

		if (a->kind == PHG_KIND_ADD_COLUMN) {
			rc = column(self, ctx, stmt, &table, rel,
				    phg_node_get(phg_field(a->node, "def"),
						 "ColumnDef"),
				    true);
			continue;
		}
		if (a->kind != PHG_KIND_CREATE_TABLE)
			continue;
		cJSON_ArrayForEach(it, phg_field(a->node, "tableElts"))
		{
			rc = column(self, ctx, stmt, &table, rel,
				    phg_node_get(it, "ColumnDef"), false);
			if (rc < 0)
				return rc;
		}
	}
	return rc;
}

const struct phg_analyzer phg_rule_prefer_bigint_over_int = {
	.id = "prefer-bigint-over-int",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a new integer (32-bit) column: prefer bigint",
	.check_stmt = check,
};
