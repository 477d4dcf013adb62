/*
 * require_concurrent_reindex.c: REINDEX without CONCURRENTLY on PostgreSQL
 * 12 or later, where REINDEX ... CONCURRENTLY exists. A plain REINDEX holds
 * a SHARE lock on the table (writes wait) and an ACCESS EXCLUSIVE lock on
 * each index it rebuilds — and since planning a query on the table locks
 * all its indexes, reads wait too.
 */
#include "analyzer.h"

/* The help for REINDEX <word> <name> ("INDEX", "accounts_pkey"). */
static const char *help_for(struct phg_arena *arena, const char *word,
			    const char *name)
{
	if (!name)
		return NULL;
	return phg_arena_printf(
		arena,
		"Rebuild it online in a migration of its own: REINDEX %s "
		"CONCURRENTLY %s; — it builds a new copy beside %s "
		"under a SHARE UPDATE EXCLUSIVE lock, so reads and writes go "
		"on, then swaps them. CONCURRENTLY cannot run inside a "
		"transaction block, so phasegate runs that migration outside "
		"one. If it fails, it leaves an INVALID index whose name ends "
		"in _ccnew: DROP INDEX CONCURRENTLY it before you retry.",
		word, name,
		phg_streq(word, "INDEX") ? "the old index" : "each old index");
}

static bool concurrent(const cJSON *st)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, phg_field(st, "params"))
	{
		if (phg_streq(phg_field_str(phg_node_get(it, "DefElem"),
					    "defname"),
			      "concurrently"))
			return true;
	}
	return false;
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *st, *rel;
	const char *kind, *name, *table, *help;

	if (stmt->kind != PHG_KIND_REINDEX || ctx->postgres_version < 12)
		return 0;
	st = stmt->actions[0].node;
	if (concurrent(st))
		return 0;
	kind = phg_field_str(st, "kind");
	rel = phg_field(st, "relation");
	name = phg_rangevar_qname(ctx->arena, rel);
	if (phg_streq(kind, "REINDEX_OBJECT_INDEX")) {
		const struct phg_index *ix = phg_model_index(ctx->model, name);

		/* An index the model does not know is in production. */
		table = ix ? ix->table : NULL;
		if (table && !phg_rule_table_existing(ctx, table))
			return 0;
		help = help_for(ctx->arena, "INDEX",
				phg_rule_sql_relation(ctx->arena, rel));
		if (!help)
			return PHG_ENOMEM;
		return phg_rule_report(
			self, ctx, stmt, help,
			"reindexing index '%s' without CONCURRENTLY blocks "
			"writes to %s%s%s and every query that plans on it, "
			"until the rebuild is done",
			name ? name : "?", table ? "'" : "",
			table ? table : "its table", table ? "'" : "");
	}
	if (phg_streq(kind, "REINDEX_OBJECT_TABLE")) {
		if (!name || !phg_rule_table_existing(ctx, name))
			return 0;
		help = help_for(ctx->arena, "TABLE",
				phg_rule_sql_relation(ctx->arena, rel));
		if (!help)
			return PHG_ENOMEM;
		return phg_rule_report(
			self, ctx, stmt, help,
			"reindexing table '%s' without CONCURRENTLY blocks "
			"reads and writes of it until every index is rebuilt",
			name);
	}
	name = phg_field_str(st, "name");
	if (phg_streq(kind, "REINDEX_OBJECT_SYSTEM"))
		return phg_rule_report(
			self, ctx, stmt,
			"REINDEX SYSTEM has no CONCURRENTLY form. Remove it "
			"from the migration: rebuilding the system catalogs "
			"is maintenance for a quiet hour, run by an operator, "
			"not a step of a deploy that runs in every region.",
			"reindexing the system catalogs%s%s blocks every "
			"session that touches them until the rebuild is done",
			name ? " of " : "", name ? name : "");
	help = help_for(ctx->arena,
			phg_streq(kind, "REINDEX_OBJECT_SCHEMA") ? "SCHEMA"
								 : "DATABASE",
			name ? phg_rule_sql_ident(ctx->arena, name) : "");
	if (!help)
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"reindexing %s '%s' without CONCURRENTLY blocks reads and "
		"writes of each of its tables while that table's indexes are "
		"rebuilt",
		phg_streq(kind, "REINDEX_OBJECT_SCHEMA") ? "schema"
							 : "database",
		name ? name : "?");
}

const struct phg_analyzer phg_rule_require_concurrent_reindex = {
	.id = "require-concurrent-reindex",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "REINDEX without CONCURRENTLY (PostgreSQL 12 or later)",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_REINDEX),
	.scales_with_table = true,
};
