/*
 * ban_concurrent_index_creation_in_transaction.c: CREATE INDEX
 * CONCURRENTLY where PostgreSQL would run it inside a transaction block —
 * the file's own BEGIN ... COMMIT, the transaction dbmate or Diesel wraps a
 * migration in, or the implicit transaction of a query string that holds
 * other statements (how Prisma, golang-migrate, and dbmate or Diesel told
 * not to wrap, send a migration). PostgreSQL refuses it there, so the
 * migration fails at deploy time. It applies to every table, new or not:
 * the failure does not depend on traffic.
 */
#include "surroundings.h"

/* Why the index build would be in a transaction block, for the message. */
static const char *where(const struct phg_rule_ctx *ctx,
			 const struct phg_stmt *stmt, enum phg_rule_block why)
{
	const struct phg_stmt *begin;
	const struct phg_migration *m = ctx->migration;

	switch (why) {
	case PHG_BLOCK_OWN:
		begin = phg_rule_open_begin(ctx, stmt);
		return phg_arena_printf(ctx->arena,
					"runs inside the transaction block "
					"that BEGIN at line %d opens",
					begin ? begin->line : stmt->line);
	case PHG_BLOCK_PHASEGATE:
		return "runs inside the transaction phasegate applies this "
		       "migration in";
	case PHG_BLOCK_TOOL:
		return m && m->layout == PHG_LAYOUT_DIESEL
			       ? "runs inside the transaction Diesel applies "
				 "every migration in (no metadata.toml beside "
				 "up.sql says run_in_transaction = false)"
			       : "runs inside the transaction dbmate applies "
				 "every migration in (the -- migrate:up line "
				 "does not say transaction:false)";
	case PHG_BLOCK_SCRIPT:
		return phg_arena_printf(
			ctx->arena,
			"is sent by %s in one query string with the "
			"migration's other statements, which PostgreSQL runs "
			"as one implicit transaction",
			phg_rule_tool_name(ctx));
	case PHG_BLOCK_FLYWAY:
	case PHG_BLOCK_NONE:
		break;
	}
	return NULL;
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *st, *rel;
	const char *table, *name, *what, *help, *place;
	enum phg_rule_block why;

	if (stmt->kind != PHG_KIND_CREATE_INDEX &&
	    stmt->kind != PHG_KIND_CREATE_UNIQUE_INDEX)
		return 0;
	st = stmt->actions[0].node;
	if (!phg_field_bool(st, "concurrent"))
		return 0;
	why = phg_rule_block_for(ctx, stmt);
	if (why == PHG_BLOCK_NONE)
		return 0;
	rel = phg_field(st, "relation");
	table = phg_rangevar_qname(ctx->arena, rel);
	name = phg_field_str(st, "idxname");
	what = name ? phg_arena_printf(
			      ctx->arena, "index '%s'",
			      phg_qname(ctx->arena,
					phg_field_str(rel, "schemaname"), name))
		    : "an index";
	help = phg_arena_printf(
		ctx->arena,
		"%sBuild the index in %s: CREATE %sINDEX CONCURRENTLY%s%s ON "
		"%s ...; Move the migration's other statements to a migration "
		"before or after it. If a concurrent build fails, it leaves an "
		"INVALID index behind: DROP INDEX CONCURRENTLY IF EXISTS %s; "
		"before you retry.",
		why == PHG_BLOCK_OWN ? "Take it out of the BEGIN ... COMMIT "
				       "block. "
				     : "",
		phg_rule_outside_tx_how(ctx),
		phg_field_bool(st, "unique") ? "UNIQUE " : "", name ? " " : "",
		name ? phg_rule_sql_ident(ctx->arena, name) : "",
		phg_rule_sql_relation(ctx->arena, rel),
		name ? phg_rule_sql_ident(ctx->arena, name) : "<its name>");
	if (!table || !what || !help)
		return PHG_ENOMEM;
	if (why == PHG_BLOCK_FLYWAY)
		return phg_rule_report(
			self, ctx, stmt, help,
			"Flyway refuses this migration: it mixes CREATE INDEX "
			"CONCURRENTLY of %s on '%s', which cannot run in a "
			"transaction, with statements that run in one (with "
			"Flyway's mixed setting on, it would run them all "
			"without a transaction instead)",
			what, table);
	place = where(ctx, stmt, why);
	if (!place)
		return PHG_ENOMEM;
	return phg_rule_report(self, ctx, stmt, help,
			       "CREATE INDEX CONCURRENTLY of %s on '%s' %s: "
			       "PostgreSQL refuses it there (it cannot run "
			       "inside a transaction block), so the migration "
			       "fails",
			       what, table, place);
}

const struct phg_analyzer
	phg_rule_ban_concurrent_index_creation_in_transaction = {
		.id = "ban-concurrent-index-creation-in-transaction",
		.stage = PHG_STAGE_STATEMENT,
		.severity = PHG_SEV_ERROR,
		.summary = "CREATE INDEX CONCURRENTLY where PostgreSQL would "
			   "run it inside a transaction block",
		.check_stmt = check,
		PHG_RULE_KINDS(PHG_KIND_CREATE_INDEX,
			       PHG_KIND_CREATE_UNIQUE_INDEX),
};
