/*
 * prefer_timestamptz.c: a column declared timestamp (without time zone) in
 * CREATE TABLE or ADD COLUMN. It stores a wall-clock time with no zone, so
 * one value means different instants to sessions with different TimeZone
 * settings (two releases, two regions), and moving it to timestamptz later
 * rewrites the table unless the session time zone is UTC (PostgreSQL 12+).
 * A style rule: it applies to new tables too.
 */
#include "analyzer.h"

/* The column's first type modifier (varchar(n): n), or -1. */
static int first_typmod(const cJSON *coldef)
{
	const cJSON *mods = phg_field(phg_field(coldef, "typeName"), "typmods");
	const cJSON *c = phg_node_get(cJSON_GetArrayItem(mods, 0), "A_Const");

	return c ? phg_field_int(phg_field(c, "ival"), "ival", 0) : -1;
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
	bool array = phg_field(phg_field(coldef, "typeName"), "arrayBounds");
	int p = first_typmod(coldef);
	const char *c, *t, *type, *help;

	if (!col || !phg_streq(builtin_type(coldef), "timestamp"))
		return 0;
	/* The table's name only for a column that matches. */
	if (!*tablep)
		*tablep = phg_rule_stmt_table(ctx, stmt);
	table = *tablep;
	if (!table)
		return 0;
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

const struct phg_analyzer phg_rule_prefer_timestamptz = {
	.id = "prefer-timestamptz",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a new timestamp (without time zone) column: prefer "
		   "timestamptz",
	.check_stmt = check,
};
