/*
 * prefer_jsonb.c: a column declared json in CREATE TABLE or ADD COLUMN. It
 * keeps the input text and parses it again on every access, has no
 * equality operator (no DISTINCT, GROUP BY, UNIQUE or = on it) and no GIN
 * index; jsonb stores the parsed value. A style rule: it applies to new
 * tables too.
 */
#include "analyzer.h"

/* json, arrays too. */
static bool matches(const struct phg_rule_column *cd)
{
	return phg_streq(cd->builtin, "json");
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
	help = phg_arena_printf(
		ctx->arena,
		"Declare it jsonb: %s%s%s%s jsonb%s%s — stored parsed, "
		"comparable, indexable with GIN. Keep json only if you need "
		"the input text kept exactly (key order, duplicate keys, "
		"spacing), and suppress this warning with that reason.",
		added ? "ALTER TABLE " : "", added ? t : "",
		added ? " ADD COLUMN " : "", c, array ? "[]" : "",
		added ? " ...;" : " in the CREATE TABLE");
	if (!help)
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"column '%s.%s' is json%s: it keeps the input text and parses "
		"it again on every access, and has no equality operator (no "
		"DISTINCT, GROUP BY or UNIQUE on it) and no GIN index",
		table, col, array ? "[]" : "");
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	return phg_rule_each_column(self, ctx, stmt, matches, column);
}

const struct phg_analyzer phg_rule_prefer_jsonb = {
	.id = "prefer-jsonb",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a new json column: prefer jsonb",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_COLUMN, PHG_KIND_CREATE_TABLE),
};
