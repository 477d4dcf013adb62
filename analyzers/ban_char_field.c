/*
 * ban_char_field.c: a column declared char(n) (character, bpchar) in CREATE
 * TABLE or ADD COLUMN. It pads every value with spaces to n characters,
 * ignores trailing spaces when comparing (but not in LIKE or when cast to
 * text), and is no faster or smaller than text. A style rule: it applies to
 * new tables too. The one-byte internal type "char" is another type and is
 * left alone, as are arrays.
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

	if (!col || !phg_streq(cd->builtin, "bpchar") || cd->array)
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

	/* The columns it declares (CREATE TABLE, ADD COLUMN), in order. */
	for (size_t i = 0; i < ctx->ncolumns && rc == 0; i++)
		rc = column(self, ctx, stmt, &table, rel, &ctx->columns[i]);
	return rc;
}

const struct phg_analyzer phg_rule_ban_char_field = {
	.id = "ban-char-field",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary =
		"a new char(n) column: use text (with a CHECK on its length)",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_COLUMN, PHG_KIND_CREATE_TABLE),
};
