/*
 * adding_exclusion_constraint.c: ADD CONSTRAINT ... EXCLUDE on a table that
 * has traffic. PostgreSQL builds the constraint's index and checks every
 * row inside the ALTER TABLE, under an ACCESS EXCLUSIVE lock, and an
 * exclusion constraint has neither a NOT VALID nor a USING INDEX form: there
 * is no online way to add one to a table with rows.
 */
#include "analyzer.h"

/*
 * The constrained columns as SQL ("a, b") when every operator of the
 * EXCLUDE is = on a plain column — a uniqueness rule in disguise — else
 * NULL (arena).
 */
static const char *equality_columns(struct phg_arena *arena,
				    const cJSON *exclusions)
{
	const char *out = NULL;
	const cJSON *it;

	cJSON_ArrayForEach(it, exclusions)
	{
		const cJSON *pair =
			phg_field(phg_node_get(it, "List"), "items");
		const cJSON *elem =
			phg_node_get(cJSON_GetArrayItem(pair, 0), "IndexElem");
		const cJSON *ops = phg_field(
			phg_node_get(cJSON_GetArrayItem(pair, 1), "List"),
			"items");
		const char *col =
			phg_rule_sql_ident(arena, phg_field_str(elem, "name"));

		if (!col || cJSON_GetArraySize(ops) != 1 ||
		    !phg_streq(phg_node_sval(cJSON_GetArrayItem(ops, 0)), "="))
			return NULL;
		out = out ? phg_arena_printf(arena, "%s, %s", out, col) : col;
		if (!out)
			return NULL;
	}
	return out;
}

/* The help, with the statement's names (arena), or NULL. */
static const char *help_for(struct phg_arena *arena, const cJSON *rel,
			    const char *name, const char *equal_cols)
{
	const char *t = phg_rule_sql_relation(arena, rel);
	const char *n = phg_rule_sql_ident(arena, name);
	const char *nt = phg_rule_sql_ident(
		arena, phg_arena_printf(arena, "%s_new",
					phg_field_str(rel, "relname")));

	if (!t || !n || !nt)
		return NULL;
	if (equal_cols)
		return phg_arena_printf(
			arena,
			"Every operator is =, so this is a uniqueness rule: "
			"(1) in a migration of its own, CREATE UNIQUE INDEX "
			"CONCURRENTLY %s ON %s (%s); — reads and writes go on "
			"while it builds; CONCURRENTLY cannot run inside a "
			"transaction block, so phasegate runs that migration "
			"outside one. (2) ALTER TABLE %s ADD CONSTRAINT %s "
			"UNIQUE USING INDEX %s; — a brief lock. If the build "
			"fails, it leaves an INVALID index: DROP INDEX "
			"CONCURRENTLY %s; before you retry.",
			n, t, equal_cols, t, n, n, n);
	return phg_arena_printf(
		arena,
		"An exclusion constraint has no online form (neither NOT "
		"VALID nor USING INDEX). Move the rows to a table that has it "
		"from the start, over releases: (1) CREATE TABLE %s (LIKE %s "
		"INCLUDING ALL, CONSTRAINT %s EXCLUDE ...); and a trigger on "
		"%s that copies every write to it; (2) backfill %s in batches "
		"by key range; (3) switch reads and writes to %s in a release; "
		"(4) drop %s in a later one. For a small table, a short lock "
		"may be acceptable: put SET lock_timeout = '2s'; before the "
		"statement and suppress this finding with the reason.",
		nt, t, n, t, nt, nt, t);
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *rel = phg_field(phg_node_inner(stmt->tree), "relation");
	const char *table = NULL;
	int rc = 0;

	for (size_t i = 0; i < stmt->nactions && rc == 0; i++) {
		const cJSON *con;
		const char *name, *help;

		if (stmt->actions[i].kind != PHG_KIND_ADD_EXCLUSION)
			continue;
		if (!table) {
			table = phg_rule_stmt_table(ctx, stmt);
			if (!table || !phg_rule_table_existing(ctx, table))
				return 0;
		}
		con = phg_node_get(phg_field(stmt->actions[i].node, "def"),
				   "Constraint");
		name = phg_field_str(con, "conname");
		help = help_for(
			ctx->arena, rel,
			name ? name
			     : phg_arena_printf(ctx->arena, "%s_excl",
						phg_field_str(rel, "relname")),
			equality_columns(ctx->arena,
					 phg_field(con, "exclusions")));
		if (!help)
			return PHG_ENOMEM;
		if (name)
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"adding exclusion constraint '%s' to '%s' "
				"builds its index and checks every row under "
				"an ACCESS EXCLUSIVE lock, blocking reads and "
				"writes of the table for the whole build",
				name, table);
		else
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"adding an exclusion constraint to '%s' builds "
				"its index and checks every row under an "
				"ACCESS "
				"EXCLUSIVE lock, blocking reads and writes of "
				"the table for the whole build",
				table);
	}
	return rc;
}

const struct phg_analyzer phg_rule_adding_exclusion_constraint = {
	.id = "adding-exclusion-constraint",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "ADD CONSTRAINT ... EXCLUDE on a table that has traffic "
		   "(no online form)",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_EXCLUSION),
	.scales_with_table = true,
};
