/*
 * prefer_timestamptz.c: a column declared timestamp (without time zone) in
 * CREATE TABLE or ADD COLUMN. It stores a wall-clock time with no zone, so
 * one value means different instants to sessions with different TimeZone
 * settings (two releases, two regions), and moving it to timestamptz later
 * rewrites the table unless the session time zone is UTC (PostgreSQL 12+).
 * A style rule: it applies to new tables too.
 */
#include "analyzer.h"

/* timestamp without time zone, arrays too. */
static bool matches(const struct phg_rule_column *cd)
{
	return phg_streq(cd->builtin, "timestamp");
}

static int column(const struct phg_analyzer *self,
		  const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt,
		  const char *table, const cJSON *rel,
		  const struct phg_rule_column *cd)
{
	const char *col = cd->name;
	bool added = cd->added;
	bool array = cd->array;
	int p = cd->typmod;
	const char *c, *t, *type, *help;

	c = phg_rule_sql_ident(ctx->arena, col);
	t = phg_rule_sql_relation(ctx->arena, rel);
	type = p >= 0  ? phg_arena_printf(ctx->arena, "timestamptz(%d)%s", p,
					  array ? "[]" : "")
	       : array ? "timestamptz[]"
		       : "timestamptz";
	if (!c || !t || !type)
		return PHG_ENOMEM;
	help = phg_arena_printf(
		ctx->arena,
		"Declare it timestamptz: %s%s%s%s %s%s — it stores an instant "
		"and shows it in each session's time zone. Keep timestamp only "
		"for a time that is deliberately without a zone (a local "
		"opening hour), and suppress this warning with that reason.",
		added ? "ALTER TABLE " : "", added ? t : "",
		added ? " ADD COLUMN " : "", c, type,
		added ? " ...;" : " in the CREATE TABLE");
	if (!help)
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"column '%s.%s' is timestamp without time zone: one value "
		"means "
		"different instants to sessions with different TimeZone "
		"settings, and changing it to timestamptz later rewrites the "
		"table (unless the session time zone is UTC, from PostgreSQL "
		"12)",
		table, col);
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	return phg_rule_each_column(self, ctx, stmt, matches, column);
}

const struct phg_analyzer phg_rule_prefer_timestamptz = {
	.id = "prefer-timestamptz",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a new timestamp (without time zone) column: prefer "
		   "timestamptz",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_COLUMN, PHG_KIND_CREATE_TABLE),
};
