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

/* varchar(n) with its n, not arrays of it. */
static bool matches(const struct phg_rule_column *cd)
{
	return cd->typmod >= 0 && phg_streq(cd->builtin, "varchar") &&
	       !cd->array;
}

static int column(const struct phg_analyzer *self,
		  const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt,
		  const char *table, const cJSON *rel,
		  const struct phg_rule_column *cd)
{
	const char *col = cd->name;
	bool added = cd->added;
	int n = cd->typmod;
	const char *c, *help;

	c = phg_rule_sql_ident(ctx->arena, col);
	help = phg_rule_text_help(
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
	return phg_rule_each_column(self, ctx, stmt, matches, column);
}

const struct phg_analyzer phg_rule_prefer_text_field = {
	.id = "prefer-text-field",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a new varchar(n) column: prefer text with a CHECK",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_COLUMN, PHG_KIND_CREATE_TABLE),
};
