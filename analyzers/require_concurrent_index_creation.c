/*
 * require_concurrent_index_creation.c: CREATE [UNIQUE] INDEX without
 * CONCURRENTLY on a table that has traffic. A plain build holds a SHARE lock
 * for its whole length, so every INSERT, UPDATE and DELETE of the running
 * release waits until the index is built.
 */
#include "analyzer.h"

/*
 * The indexed columns as SQL ("a, b"), or NULL when one is an expression
 * (or when out of memory: the help then gives no column list).
 */
static const char *columns_sql(struct phg_arena *arena, const cJSON *params)
{
	const char *out = NULL;
	const cJSON *it;

	cJSON_ArrayForEach(it, params)
	{
		const char *col = phg_rule_sql_ident(
			arena,
			phg_field_str(phg_node_get(it, "IndexElem"), "name"));

		if (!col)
			return NULL;
		out = out ? phg_arena_printf(arena, "%s, %s", out, col) : col;
		if (!out)
			return NULL;
	}
	return out;
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *st, *rel;
	const char *table, *name, *index, *schema, *rel_sql, *cols, *help;
	bool unique;

	if (stmt->kind != PHG_KIND_CREATE_INDEX &&
	    stmt->kind != PHG_KIND_CREATE_UNIQUE_INDEX)
		return 0;
	st = stmt->actions[0].node;
	rel = phg_field(st, "relation");
	/*
	 * ON ONLY a partitioned table creates an invalid index on the parent
	 * alone, at once; the partitions are indexed CONCURRENTLY one by one
	 * and attached. (A partitioned table cannot be indexed CONCURRENTLY.)
	 */
	if (phg_field_bool(st, "concurrent") || !phg_field_bool(rel, "inh"))
		return 0;
	table = phg_rule_stmt_table(ctx, stmt);
	if (!table || !phg_rule_table_existing(ctx, table))
		return 0;
	unique = phg_field_bool(st, "unique");
	schema = phg_field_str(rel, "schemaname");
	name = phg_field_str(st, "idxname");
	index = name ? phg_qname(ctx->arena, schema, name) : NULL;
	rel_sql = phg_rule_sql_ident(ctx->arena, phg_field_str(rel, "relname"));
	if (rel_sql && schema)
		rel_sql = phg_arena_printf(
			ctx->arena, "%s.%s",
			phg_rule_sql_ident(ctx->arena, schema), rel_sql);
	if (!rel_sql || (name && !index))
		return PHG_ENOMEM;
	/* Spell out the columns of a plain index; keep the rest as is. */
	cols = columns_sql(ctx->arena, phg_field(st, "indexParams"));
	if (cols && phg_streq(phg_field_str(st, "accessMethod"), "btree") &&
	    !phg_field(st, "whereClause") && !phg_field(st, "options") &&
	    !phg_field(st, "indexIncludingParams"))
		cols = phg_arena_printf(ctx->arena, "(%s)", cols);
	else
		cols = "... (the rest of the statement as it is)";
	help = phg_arena_printf(
		ctx->arena,
		"Build the index in a migration of its own: CREATE %sINDEX "
		"CONCURRENTLY%s%s ON %s %s; — it takes a SHARE UPDATE "
		"EXCLUSIVE lock, so reads and writes go on while it builds "
		"(it reads the table twice and takes longer). CONCURRENTLY "
		"cannot run inside a transaction block, so phasegate runs "
		"that migration outside one: keep nothing else in it. If the "
		"build fails (a deadlock, a cancelled deploy%s), it leaves an "
		"INVALID index behind: DROP INDEX CONCURRENTLY %s; before "
		"you retry (IF NOT EXISTS would keep the broken one).",
		unique ? "UNIQUE " : "", name ? " " : "",
		name ? phg_rule_sql_ident(ctx->arena, name) : "", rel_sql,
		cols ? cols : "", unique ? ", a duplicate value" : "",
		name ? phg_rule_sql_ident(ctx->arena, name) : "<its name>");
	if (!help)
		return PHG_ENOMEM;
	if (index)
		return phg_rule_report(
			self, ctx, stmt, help,
			"creating %sindex '%s' on '%s' without CONCURRENTLY "
			"blocks writes to the table for the whole build",
			unique ? "unique " : "", index, table);
	return phg_rule_report(self, ctx, stmt, help,
			       "creating %s on '%s' without CONCURRENTLY "
			       "blocks writes to the table for the whole build",
			       unique ? "a unique index" : "an index", table);
}

const struct phg_analyzer phg_rule_require_concurrent_index_creation = {
	.id = "require-concurrent-index-creation",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "CREATE INDEX without CONCURRENTLY on a table that has "
		   "traffic",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_CREATE_INDEX, PHG_KIND_CREATE_UNIQUE_INDEX),
	.scales_with_table = true,
};
