/*
 * disallowed_unique_constraint.c: ADD CONSTRAINT ... UNIQUE (or a UNIQUE
 * column in ADD COLUMN) on a table that has traffic, without USING INDEX.
 * PostgreSQL builds the unique index inside the ALTER TABLE, holding an
 * ACCESS EXCLUSIVE lock for the whole build.
 */
#include "analyzer.h"

/* A list of String nodes as "a, b" in SQL, or NULL (arena). */
static const char *list_sql(struct phg_arena *arena, const cJSON *list)
{
	const char *out = NULL;
	const cJSON *it;

	cJSON_ArrayForEach(it, list)
	{
		const char *name = phg_rule_sql_ident(arena, phg_node_sval(it));

		out = !out   ? name
		      : name ? phg_arena_printf(arena, "%s, %s", out, name)
			     : NULL;
		if (!out)
			return NULL;
	}
	return out;
}

/* A list of String nodes joined by "_" (PostgreSQL's default names). */
static const char *list_join(struct phg_arena *arena, const cJSON *list)
{
	const char *out = NULL;
	const cJSON *it;

	cJSON_ArrayForEach(it, list)
	{
		const char *name = phg_node_sval(it);

		out = !out   ? name
		      : name ? phg_arena_printf(arena, "%s_%s", out, name)
			     : NULL;
		if (!out)
			return NULL;
	}
	return out;
}

/* The help, with the statement's names (arena), or NULL. */
static const char *help_for(struct phg_arena *arena, const cJSON *rel,
			    const char *name, const char *cols,
			    const char *new_column)
{
	const char *t = phg_rule_sql_relation(arena, rel),
		   *n = phg_rule_sql_ident(arena, name);
	const char *first;

	if (!t || !n || !cols)
		return NULL;
	if (new_column)
		first = phg_arena_printf(arena,
					 "Add the column alone first: ALTER "
					 "TABLE %s ADD COLUMN %s <type>; then "
					 "(1) in",
					 t, cols);
	else
		first = "(1) In";
	if (!first)
		return NULL;
	return phg_arena_printf(
		arena,
		"%s a migration of its own, CREATE UNIQUE INDEX "
		"CONCURRENTLY %s ON %s (%s); — reads and writes go on while "
		"it builds; CONCURRENTLY cannot run inside a transaction "
		"block, so phasegate runs that migration outside one. (2) "
		"ALTER TABLE %s ADD CONSTRAINT %s UNIQUE USING INDEX %s; — a "
		"brief lock: the index becomes the constraint's. If the build "
		"fails (a duplicate value, a cancelled deploy), it leaves an "
		"INVALID index: DROP INDEX CONCURRENTLY %s; before you retry.",
		first, n, t, cols, t, n, n, n);
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *rel = phg_field(phg_node_inner(stmt->tree), "relation");
	const char *relname = phg_field_str(rel, "relname");
	const char *table = NULL;
	int rc = 0;

	for (size_t i = 0; i < stmt->nactions && rc == 0; i++) {
		const struct phg_action *a = &stmt->actions[i];
		const cJSON *def = phg_field(a->node, "def");
		const cJSON *con = phg_node_get(def, "Constraint");
		const cJSON *coldef = phg_node_get(def, "ColumnDef");
		const char *col = NULL, *name, *cols, *help;

		if (a->kind == PHG_KIND_ADD_COLUMN) {
			const cJSON *it;

			/* UNIQUE written on the new column. */
			con = NULL;
			cJSON_ArrayForEach(it, phg_field(coldef, "constraints"))
			{
				const cJSON *c = phg_node_get(it, "Constraint");

				if (phg_streq(phg_field_str(c, "contype"),
					      "CONSTR_UNIQUE"))
					con = c;
			}
			col = phg_field_str(coldef, "colname");
			if (!con || !col)
				continue;
		} else if (a->kind != PHG_KIND_ADD_UNIQUE ||
			   phg_field_str(con, "indexname")) {
			continue;
		}
		if (!table) {
			table = phg_rule_stmt_table(ctx, stmt);
			if (!table || !phg_rule_table_existing(ctx, table))
				return 0;
		}
		name = phg_field_str(con, "conname");
		if (!name)
			name = phg_arena_printf(
				ctx->arena, "%s_%s_key", relname,
				col ? col
				    : list_join(ctx->arena,
						phg_field(con, "keys")));
		cols = col ? phg_rule_sql_ident(ctx->arena, col)
			   : list_sql(ctx->arena, phg_field(con, "keys"));
		help = help_for(ctx->arena, rel, name, cols, col);
		if (!help)
			return PHG_ENOMEM;
		if (col)
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"adding column '%s.%s' as UNIQUE builds its "
				"index under an ACCESS EXCLUSIVE lock on the "
				"table, blocking reads and writes for the "
				"whole build",
				table, col);
		else if (phg_field_str(con, "conname"))
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"adding UNIQUE constraint '%s' to '%s' builds "
				"its index under an ACCESS EXCLUSIVE lock, "
				"blocking reads and writes of the table for "
				"the whole build",
				name, table);
		else
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"adding a UNIQUE constraint to '%s' builds its "
				"index under an ACCESS EXCLUSIVE lock, "
				"blocking reads and writes of the table for "
				"the whole build",
				table);
	}
	return rc;
}

const struct phg_analyzer phg_rule_disallowed_unique_constraint = {
	.id = "disallowed-unique-constraint",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "ADD CONSTRAINT ... UNIQUE without USING INDEX on a table "
		   "that has traffic",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_COLUMN, PHG_KIND_ADD_UNIQUE),
	.scales_with_table = true,
};
