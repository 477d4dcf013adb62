/*
 * ban_char_field.c: a column declared char(n) (character, bpchar) in CREATE
 * TABLE or ADD COLUMN. It pads every value with spaces to n characters,
 * ignores trailing spaces when comparing (but not in LIKE or when cast to
 * text), and is no faster or smaller than text. A style rule: it applies to
 * new tables too. The one-byte internal type "char" is another type and is
 * left alone, as are arrays.
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

	if (!col || !phg_streq(builtin_type(coldef), "bpchar") ||
	    phg_field(phg_field(coldef, "typeName"), "arrayBounds"))
		return 0;
	/* The table's name only for a column that matches. */
	if (!*tablep)
		*tablep = phg_rule_stmt_table(ctx, stmt);
	table = *tablep;
	if (!table)
		return 0;
	c = phg_rule_sql_ident(ctx->arena, col);
	if (!c)
		return PHG_ENOMEM;
	if (n < 0) {
		help = phg_arena_printf(
			ctx->arena,
			"Declare it text: %s text. It keeps values as written, "
			"with no padding.",
			c);
		if (!help)
			return PHG_ENOMEM;
		return phg_rule_report(
			self, ctx, stmt, help,
			"column '%s.%s' is bpchar: it ignores trailing spaces "
			"when comparing (but not in LIKE or when cast to "
			"text), "
			"and is no faster or smaller than text",
			table, col);
	}
	help = text_help(
		ctx->arena, rel, col,
		phg_arena_printf(ctx->arena, "char_length(%s) <= %d", c, n),
		added, added && phg_rule_table_existing(ctx, table));
	if (help)
		help = phg_arena_printf(
			ctx->arena,
			"%s Write = %d instead of <= %d if every value must "
			"have exactly that length.",
			help, n, n);
	if (!help)
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"column '%s.%s' is char(%d): it pads every value with spaces "
		"to "
		"%d character%s, ignores trailing spaces when comparing (but "
		"not in LIKE or when cast to text), and is no faster or "
		"smaller "
		"than text",
		table, col, n, n, n == 1 ? "" : "s");
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

const struct phg_analyzer phg_rule_ban_char_field = {
	.id = "ban-char-field",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary =
		"a new char(n) column: use text (with a CHECK on its length)",
	.check_stmt = check,
};
