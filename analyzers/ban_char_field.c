/*
 * ban_char_field.c: a column declared char(n) (character, bpchar) in CREATE
 * TABLE or ADD COLUMN. It pads every value with spaces to n characters,
 * ignores trailing spaces when comparing (but not in LIKE or when cast to
 * text), and is no faster or smaller than text. A style rule: it applies to
 * new tables too. The one-byte internal type "char" is another type and is
 * left alone, as are arrays.
 */
#include "analyzer.h"

/* char(n), not arrays of it. */
static bool matches(const struct phg_rule_column *cd)
{
	return phg_streq(cd->builtin, "bpchar") && !cd->array;
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
	help = phg_rule_text_help(
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
	return phg_rule_each_column(self, ctx, stmt, matches, column);
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
