/*
 * prefer_bigint_over_int.c: a column declared integer (int, int4) in CREATE
 * TABLE or ADD COLUMN. Its values stop at 2147483647; ids and counters get
 * there, and widening the column then rewrites the table under an ACCESS
 * EXCLUSIVE lock (or takes a new column, a sync trigger and a backfill over
 * releases). A style rule: it applies to new tables too. serial columns are
 * prefer-identity's (an identity column of type bigint fixes both).
 */
#include "analyzer.h"

/* integer (int, int4), arrays too. */
static bool matches(const struct phg_rule_column *cd)
{
	return phg_streq(cd->builtin, "int4");
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
	return phg_rule_each_column(self, ctx, stmt, matches, column);
}

const struct phg_analyzer phg_rule_prefer_bigint_over_int = {
	.id = "prefer-bigint-over-int",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a new integer (32-bit) column: prefer bigint",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_COLUMN, PHG_KIND_CREATE_TABLE),
};
