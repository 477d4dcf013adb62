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

static int column(const struct phg_analyzer *self,
		  const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt,
		  const char **tablep, const cJSON *rel,
		  const struct phg_rule_column *cd)
{
	const char *table;
	const char *col = cd->name;
	bool added = cd->added;
	int n = cd->typmod;
	const char *c, *help;

	if (!col || n < 0 || !phg_streq(cd->builtin, "varchar") || cd->array)
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

	/* The columns it declares (CREATE TABLE, ADD COLUMN), in order. */
	for (size_t i = 0; i < ctx->ncolumns && rc == 0; i++)
		rc = column(self, ctx, stmt, &table, rel, &ctx->columns[i]);
	return rc;
}

const struct phg_analyzer phg_rule_prefer_text_field = {
	.id = "prefer-text-field",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a new varchar(n) column: prefer text with a CHECK",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_COLUMN, PHG_KIND_CREATE_TABLE),
};
