/*
 * unbatched_backfill.c: UPDATE or DELETE of a whole table that has traffic
 * in one statement. The statement locks every row it changes until its
 * transaction commits, so the running release's writes to those rows wait
 * for all of it; it writes a new version of every row at once (bloat, WAL
 * bursts, replicas falling behind) and cannot be resumed halfway.
 *
 * "The whole table", kept simple: no WHERE clause, or a WHERE clause that
 * is only `col IS NULL` (the usual backfill of a new column: on a column
 * the release adds, that is every row). Any other WHERE is taken to bound
 * a batch (an id range, a subquery with LIMIT...).
 */
#include "surroundings.h"

/* The column of a WHERE that is only "col IS NULL", or NULL. */
static const char *is_null_column(const cJSON *where)
{
	const cJSON *nt = phg_node_get(where, "NullTest");
	const cJSON *cr, *it, *last = NULL;

	if (!nt || !phg_streq(phg_field_str(nt, "nulltesttype"), "IS_NULL"))
		return NULL;
	cr = phg_node_get(phg_field(nt, "arg"), "ColumnRef");
	cJSON_ArrayForEach(it, phg_field(cr, "fields")) last = it;
	return phg_node_sval(last);
}

/* The table's primary key column as SQL, or "id" when unknown. */
static const char *key_column(const struct phg_rule_ctx *ctx, const char *table)
{
	const struct phg_table *t = phg_model_table(ctx->model, table);

	for (size_t i = 0; t && i < t->constraints.n; i++) {
		const struct phg_constraint *c = t->constraints.items[i];

		if (c->type == PHG_CON_PRIMARY && c->ncolumns == 1)
			return phg_rule_sql_ident(ctx->arena, c->columns[0]);
	}
	return "id";
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *st, *rel, *where;
	const char *table, *col, *t_sql, *key, *cond, *help, *scope;
	bool update = stmt->kind == PHG_KIND_UPDATE;

	if (!update && stmt->kind != PHG_KIND_DELETE)
		return 0;
	st = stmt->actions[0].node;
	rel = phg_field(st, "relation");
	where = phg_field(st, "whereClause");
	col = where ? is_null_column(where) : NULL;
	if (where && !col)
		return 0;
	table = phg_rule_stmt_table(ctx, stmt);
	if (!table || !phg_rule_table_existing(ctx, table))
		return 0;
	t_sql = phg_rule_sql_relation(ctx->arena, rel);
	key = key_column(ctx, table);
	cond = col ? phg_arena_printf(ctx->arena, "%s IS NULL",
				      phg_rule_sql_ident(ctx->arena, col))
		   : "<rows not done yet>";
	scope = col ? phg_arena_printf(
			      ctx->arena,
			      "every row of '%s' where %s IS NULL%s", table,
			      col,
			      phg_model_column_origin(ctx->model, table, col) ==
					      ctx->release
				      ? " (all of them: the release adds the "
					"column)"
				      : "")
		    : phg_arena_printf(ctx->arena,
				       "every row of '%s' (it has no WHERE "
				       "clause)",
				       table);
	help = phg_arena_printf(
		ctx->arena,
		"%s in batches, each in a transaction of its own, so that "
		"each holds its row locks for a moment: repeat %s WHERE %s IN "
		"(SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT 1000); until "
		"it %s no row. Run the batches from a script or a job after "
		"the migration, not inside the migration's transaction.%s",
		update ? "Update" : "Delete",
		update ? phg_arena_printf(ctx->arena, "UPDATE %s SET ...",
					  t_sql)
		       : phg_arena_printf(ctx->arena, "DELETE FROM %s", t_sql),
		key, key, t_sql, cond, key, update ? "updates" : "deletes",
		update ? ""
		       : " To empty a table nothing reads any more, TRUNCATE "
			 "is one short (ACCESS EXCLUSIVE) step instead.");
	if (!t_sql || !key || !cond || !scope || !help)
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"%s %s in one statement: it locks each row until the "
		"transaction commits, so the running release's writes to "
		"those rows wait for all of it, and it %s every row at once "
		"(bloat, WAL, replica lag)",
		update ? "UPDATE changes" : "DELETE removes", scope,
		update ? "writes a new version of"
		       : "leaves a dead version "
			 "of");
}

const struct phg_analyzer phg_rule_unbatched_backfill = {
	.id = "unbatched-backfill",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "UPDATE or DELETE of a whole table that has traffic in one "
		   "statement",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_UPDATE, PHG_KIND_DELETE),
	.scales_with_table = true,
};
