/*
 * prefer_text_field.c: a column declared varchar(n) in CREATE TABLE or ADD
 * COLUMN. The limit lives in the type, so changing it later is an ALTER
 * COLUMN TYPE — an ACCESS EXCLUSIVE lock, and a rewrite of the table to
 * shorten it; text with a CHECK (char_length(col) <= n) enforces the same
 * limit and can be changed without blocking (NOT VALID, then VALIDATE). A
 * style rule: it applies to new tables too. varchar without a length is
 * text already and is left alone, as are arrays.
 */
#include "analyzer.h"

/* The column's first type modifier (varchar(n): n), or -1. */
static int first_typmod(const cJSON *coldef)
{
	const cJSON *mods = phg_field(phg_field(coldef, "typeName"), "typmods");
	const cJSON *c = phg_node_get(cJSON_GetArrayItem(mods, 0), "A_Const");

	return c ? phg_field_int(phg_field(c, "ival"), "ival", 0) : -1;
}

/*
 * The help: the column as text with a CHECK (cond) — inline in CREATE
 * TABLE or on a new table, in three steps on a table that has traffic
 * (an inline CHECK there would scan it under an ACCESS EXCLUSIVE lock).
 */
static const char *text_help(struct phg_arena *arena, const cJSON *rel,
			     const char *col, const char *cond, bool added,
			     bool existing)
{
	const char *t = phg_rule_sql_relation(arena, rel);
	const char *c = phg_rule_sql_ident(arena, col);
	const char *con = phg_rule_sql_ident(
		arena, phg_arena_printf(arena, "%s_%s_check",
					phg_field_str(rel, "relname"), col));

	if (!t || !c || !con || !cond)
		return NULL;
	if (!added)
		return phg_arena_printf(arena,
					"Declare it text with a CHECK: %s text "
					"CHECK (%s) in the CREATE TABLE.",
					c, cond);
	if (!existing)
		return phg_arena_printf(arena,
					"Declare it text with a CHECK: ALTER "
					"TABLE %s ADD COLUMN %s text CHECK "
					"(%s) ...;",
					t, c, cond);
	return phg_arena_printf(
		arena,
		"Declare it text and add the CHECK apart: (1) ALTER TABLE %s "
		"ADD COLUMN %s text ...; (2) ALTER TABLE %s ADD CONSTRAINT %s "
		"CHECK (%s) NOT VALID; — a brief lock, new rows are checked. "
		"(3) In a later migration, ALTER TABLE %s VALIDATE CONSTRAINT "
		"%s; — it scans under a SHARE UPDATE EXCLUSIVE lock, so reads "
		"and writes go on.",
		t, c, t, con, cond, t, con);
}

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
	int n = first_typmod(coldef);
	const char *c, *help;

	if (!col || n < 0 || !phg_streq(builtin_type(coldef), "varchar") ||
	    phg_field(phg_field(coldef, "typeName"), "arrayBounds"))
		return 0;
	/* The table's name only for a column that matches. */
	if (!*tablep)
		*tablep = phg_rule_stmt_table(ctx, stmt);
	table = *tablep;
	if (!table)
		return 0;
	c = phg_rule_sql_ident(ctx->arena, col);
	help = text_help(
		ctx->arena, rel, col,
		c ? phg_arena_printf(ctx->arena, "char_length(%s) <= %d", c, n)
		  : NULL,
		added, added && phg_rule_table_existing(ctx, table));
	if (!help)
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"column '%s.%s' is varchar(%d): changing the limit later is an "
		"ALTER COLUMN TYPE, which takes an ACCESS EXCLUSIVE lock on "
		"the "
		"table (and rewrites it to shorten the limit); text with a "
		"CHECK (char_length(%s) <= %d) keeps the same limit and can be "
		"changed without blocking",
		table, col, n, c, n);
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

const struct phg_analyzer phg_rule_prefer_text_field = {
	.id = "prefer-text-field",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a new varchar(n) column: prefer text with a CHECK",
	.check_stmt = check,
};
