/*
 * prefer_bigint_over_smallint.c: a column declared smallint (int2) in
 * CREATE TABLE or ADD COLUMN. Its values stop at 32767, which counters and
 * ids reach sooner than anyone expects, and widening it then rewrites the
 * table under an ACCESS EXCLUSIVE lock. A style rule: it applies to new
 * tables too. smallserial columns are prefer-identity's.
 */
#include "analyzer.h"

/* smallint (int2), arrays too. */
static bool matches(const struct phg_rule_column *cd)
{
	return phg_streq(cd->builtin, "int2");
}

static int column(const struct phg_analyzer *self,
		  const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt,
		  const char *table, const cJSON *rel,
		  const struct phg_rule_column *cd)
{
	const char *col = cd->name;
	bool added = cd->added;
	bool array = cd->array;
	const char *c, *t, *help;

	c = phg_rule_sql_ident(ctx->arena, col);
	t = phg_rule_sql_relation(ctx->arena, rel);
	if (!c || !t)
		return PHG_ENOMEM;
	if (!added)
		help = phg_arena_printf(
			ctx->arena,
			"Declare it bigint: %s bigint%s in the CREATE TABLE — "
			"6 "
			"more bytes per value (integer, 2 more, if the values "
			"stay well below 2147483647). If the values are "
			"bounded "
			"by nature (a percentage, a day of the month), keep "
			"smallint and suppress this warning with that reason.",
			c, array ? "[]" : "");
	else
		help = phg_arena_printf(
			ctx->arena,
			"Declare it bigint: ALTER TABLE %s ADD COLUMN %s "
			"bigint%s ...; — 6 more bytes per value (integer, 2 "
			"more, if the values stay well below 2147483647). If "
			"the values are bounded by nature (a percentage, a day "
			"of the month), keep smallint and suppress this "
			"warning "
			"with that reason.",
			t, c, array ? "[]" : "");
	if (!help)
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"column '%s.%s' is smallint%s (16-bit): its values stop at "
		"32767, and widening it later rewrites the table under an "
		"ACCESS EXCLUSIVE lock",
		table, col, array ? "[]" : "");
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	return phg_rule_each_column(self, ctx, stmt, matches, column);
}

const struct phg_analyzer phg_rule_prefer_bigint_over_smallint = {
	.id = "prefer-bigint-over-smallint",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a new smallint (16-bit) column: prefer bigint",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_COLUMN, PHG_KIND_CREATE_TABLE),
};
