/*
 * transaction_nesting.c: BEGIN, COMMIT or ROLLBACK in a migration that the
 * layout's own tool already runs in a transaction (runner: external, with
 * dbmate without transaction:false, Flyway, or Diesel without
 * run_in_transaction = false). PostgreSQL has no nested transactions: the
 * file's BEGIN only draws a warning, and its COMMIT ends the tool's
 * transaction early, so what follows it, and the tool's record of the
 * migration, are no longer atomic with the rest. Reported at each BEGIN,
 * and at a COMMIT or ROLLBACK that no BEGIN of the file opened.
 */
#include "surroundings.h"

/* "dbmate runs every migration in a transaction (...)". */
static const char *wrapper(const struct phg_rule_ctx *ctx)
{
	switch (ctx->migration->layout) {
	case PHG_LAYOUT_DBMATE:
		return "dbmate runs this migration in a transaction of its "
		       "own (the -- migrate:up line does not say "
		       "transaction:false)";
	case PHG_LAYOUT_DIESEL:
		return "Diesel runs this migration in a transaction of its "
		       "own (no metadata.toml beside up.sql says "
		       "run_in_transaction = false)";
	default:
		return "Flyway runs this migration in a transaction of its "
		       "own";
	}
}

/* How to run part of a migration outside the tool's transaction. */
static const char *escape(const struct phg_rule_ctx *ctx)
{
	switch (ctx->migration->layout) {
	case PHG_LAYOUT_DBMATE:
		return "start its up section with -- migrate:up "
		       "transaction:false";
	case PHG_LAYOUT_DIESEL:
		return "give it a metadata.toml with run_in_transaction = "
		       "false";
	default:
		return "give it a script configuration file (V<version>__"
		       "<name>.sql.conf) with executeInTransaction=false";
	}
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	enum phg_rule_tool tool;
	const char *help, *tool_name;

	if (ctx->runner != PHG_RUNNER_EXTERNAL || !ctx->migration)
		return 0;
	tool = phg_rule_tool(ctx);
	if (tool != PHG_TOOL_WRAPS && tool != PHG_TOOL_FLYWAY)
		return 0;
	if (stmt->kind != PHG_KIND_BEGIN &&
	    !((stmt->kind == PHG_KIND_COMMIT ||
	       stmt->kind == PHG_KIND_ROLLBACK) &&
	      !stmt->in_transaction_block))
		return 0;
	tool_name = phg_rule_tool_name(ctx);
	help = phg_arena_printf(
		ctx->arena,
		"Remove the file's BEGIN and COMMIT (or ROLLBACK): %s already "
		"applies the migration as one transaction, together with its "
		"record of it. If part of the migration must run outside a "
		"transaction (CREATE INDEX CONCURRENTLY...), move that part to "
		"a migration of its own and %s.",
		tool_name, escape(ctx));
	if (!help)
		return PHG_ENOMEM;
	if (stmt->kind == PHG_KIND_BEGIN)
		return phg_rule_report(
			self, ctx, stmt, help,
			"%s, and PostgreSQL does not nest transactions: this "
			"BEGIN only draws a warning, and the file's COMMIT "
			"ends %s's transaction early, so the statements after "
			"it, and %s's record of the migration, are no longer "
			"atomic with the rest",
			wrapper(ctx), tool_name, tool_name);
	if (stmt->kind == PHG_KIND_COMMIT)
		return phg_rule_report(
			self, ctx, stmt, help,
			"%s: this COMMIT ends it early, so what comes before "
			"it stays applied if a later statement fails, and "
			"%s's record of the migration is no longer atomic with "
			"it",
			wrapper(ctx), tool_name);
	return phg_rule_report(self, ctx, stmt, help,
			       "%s: this ROLLBACK ends it, undoing the "
			       "statements before it, while %s goes on and "
			       "records the migration as applied",
			       wrapper(ctx), tool_name);
}

const struct phg_analyzer phg_rule_transaction_nesting = {
	.id = "transaction-nesting",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "BEGIN or COMMIT in a migration that the layout's own tool "
		   "already runs in a transaction (runner: external)",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_BEGIN, PHG_KIND_COMMIT, PHG_KIND_ROLLBACK),
};
