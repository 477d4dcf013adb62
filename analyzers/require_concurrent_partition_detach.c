/*
 * require_concurrent_partition_detach.c: ALTER TABLE ... DETACH PARTITION
 * without CONCURRENTLY on PostgreSQL 14 or later, where DETACH PARTITION
 * ... CONCURRENTLY exists. A plain detach holds an ACCESS EXCLUSIVE lock on
 * the partitioned table, so no query on any partition runs until it is done.
 */
#include "analyzer.h"

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *rel = phg_field(phg_node_inner(stmt->tree), "relation");
	const char *table = NULL;
	int rc = 0;

	if (ctx->postgres_version < 14)
		return 0;
	for (size_t i = 0; i < stmt->nactions && rc == 0; i++) {
		const cJSON *pc;
		const char *part, *t, *p, *help;

		if (stmt->actions[i].kind != PHG_KIND_DETACH_PARTITION)
			continue;
		pc = phg_node_get(phg_field(stmt->actions[i].node, "def"),
				  "PartitionCmd");
		if (!pc || phg_field_bool(pc, "concurrent"))
			continue;
		if (!table) {
			table = phg_rule_stmt_table(ctx, stmt);
			if (!table || !phg_rule_table_existing(ctx, table))
				return 0;
		}
		part = phg_rangevar_qname(ctx->arena, phg_field(pc, "name"));
		t = phg_rule_sql_relation(ctx->arena, rel);
		p = phg_rule_sql_relation(ctx->arena, phg_field(pc, "name"));
		if (!part || !t || !p)
			return PHG_ENOMEM;
		help = phg_arena_printf(
			ctx->arena,
			"Detach it online, alone in a migration of its own: "
			"ALTER TABLE %s DETACH PARTITION %s CONCURRENTLY; — it "
			"takes a SHARE UPDATE EXCLUSIVE lock on %s, so queries "
			"on the other partitions go on, and waits for the "
			"transactions that use %s to end. It cannot run "
			"inside a transaction block, nor while %s has a "
			"DEFAULT partition. If it is interrupted, finish it "
			"with ALTER TABLE %s DETACH PARTITION %s FINALIZE;.",
			t, p, t, p, t, t, p);
		if (!help)
			return PHG_ENOMEM;
		rc = phg_rule_report(
			self, ctx, stmt, help,
			"detaching partition '%s' from '%s' without "
			"CONCURRENTLY takes an ACCESS EXCLUSIVE lock on '%s', "
			"blocking reads and writes of every partition until it "
			"is done",
			part, table, table);
	}
	return rc;
}

const struct phg_analyzer phg_rule_require_concurrent_partition_detach = {
	.id = "require-concurrent-partition-detach",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "DETACH PARTITION without CONCURRENTLY (PostgreSQL 14 or "
		   "later)",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_DETACH_PARTITION),
};
