/*
 * require_concurrent_index_deletion.c: DROP INDEX without CONCURRENTLY. It
 * takes an ACCESS EXCLUSIVE lock on the index's table: it waits for every
 * running query on the table, and every query that arrives meanwhile waits
 * behind it.
 */
#include "analyzer.h"

/*
 * The name of a DropStmt object ([[catalog.]schema.]name): *qname as
 * schema.name and *sql as written, quoted where needed (arena).
 */
static void object_names(struct phg_arena *arena, const cJSON *obj,
			 const char **qname, const char **sql)
{
	const char *schema = NULL, *name = NULL;
	const cJSON *it;

	*qname = *sql = NULL;
	cJSON_ArrayForEach(it, phg_field(phg_node_get(obj, "List"), "items"))
	{
		schema = name;
		name = phg_node_sval(it);
	}
	if (!name)
		return;
	*qname = phg_qname(arena, schema, name);
	*sql = phg_rule_sql_ident(arena, name);
	if (schema && *sql)
		*sql = phg_arena_printf(arena, "%s.%s",
					phg_rule_sql_ident(arena, schema),
					*sql);
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *st, *obj;
	int rc = 0;

	if (stmt->kind != PHG_KIND_DROP_INDEX)
		return 0;
	st = stmt->actions[0].node;
	if (phg_field_bool(st, "concurrent"))
		return 0;
	cJSON_ArrayForEach(obj, phg_field(st, "objects"))
	{
		const struct phg_index *ix;
		const char *qname, *sql, *help;

		object_names(ctx->arena, obj, &qname, &sql);
		if (!qname || !sql)
			continue;
		/* An index of a table with no traffic yet can go at once. */
		ix = phg_model_index(ctx->model, qname);
		if (ix && ix->table && !phg_rule_table_existing(ctx, ix->table))
			continue;
		help = phg_arena_printf(
			ctx->arena,
			"Write DROP INDEX CONCURRENTLY %s; in a migration of "
			"its own: it waits for the transactions that use the "
			"index without locking out the queries that come "
			"after them. CONCURRENTLY cannot run inside a "
			"transaction block (phasegate runs such a migration "
			"outside one) and drops one index per statement, "
			"without CASCADE.",
			sql);
		if (!help)
			return PHG_ENOMEM;
		if (ix && ix->table)
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"dropping index '%s' without CONCURRENTLY "
				"takes an ACCESS EXCLUSIVE lock on '%s': "
				"reads and writes of the table queue behind "
				"it until the drop is done",
				qname, ix->table);
		else
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"dropping index '%s' without CONCURRENTLY "
				"takes an ACCESS EXCLUSIVE lock on its table: "
				"reads and writes of the table queue behind "
				"it until the drop is done",
				qname);
		if (rc < 0)
			return rc;
	}
	return 0;
}

const struct phg_analyzer phg_rule_require_concurrent_index_deletion = {
	.id = "require-concurrent-index-deletion",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "DROP INDEX without CONCURRENTLY",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_DROP_INDEX),
};
