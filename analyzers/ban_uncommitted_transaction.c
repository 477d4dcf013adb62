/*
 * ban_uncommitted_transaction.c: a migration that opens a transaction
 * (BEGIN, START TRANSACTION) and ends without COMMIT or ROLLBACK. Judged at
 * the file's last statement, and reported at the BEGIN. What happens next
 * depends on who applies the file — phasegate refuses it; a tool that
 * sends the file as one query string leaves the transaction open until the
 * connection closes, which rolls it back, or until the tool's next
 * statement — and none of it is what the author meant. Where the tool
 * itself wraps the file (dbmate, Diesel, Flyway with runner: external),
 * transaction-nesting reports the BEGIN instead.
 */
#include "surroundings.h"

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const struct phg_stmt *begin;
	const char *what, *help;
	enum phg_rule_tool tool = phg_rule_tool(ctx);

	if (!stmt->in_transaction_block || stmt->closes_transaction)
		return 0;
	if (ctx->runner == PHG_RUNNER_EXTERNAL &&
	    (tool == PHG_TOOL_WRAPS || tool == PHG_TOOL_FLYWAY))
		return 0;
	begin = phg_rule_open_begin(ctx, stmt);
	if (!begin || phg_rule_more_after(ctx, stmt) != 0)
		return 0;
	if (ctx->runner == PHG_RUNNER_PHASEGATE)
		what = "phasegate refuses to apply a migration that leaves its "
		       "transaction open, so the deploy stops here";
	else
		what = phg_arena_printf(
			ctx->arena,
			"%s sends the file as written, so the transaction "
			"stays open: it is rolled back when the connection "
			"closes, or takes in whatever the session runs next, "
			"while the migration may be recorded as applied",
			phg_rule_tool_name(ctx));
	help = phg_arena_printf(
		ctx->arena,
		"End the block: add COMMIT; after the last statement that "
		"belongs in the transaction (line %d). %s",
		stmt->line,
		ctx->runner == PHG_RUNNER_PHASEGATE
			? "Or remove the BEGIN: phasegate applies a migration "
			  "in one transaction of its own unless a statement "
			  "cannot run in one."
			: "Or remove the BEGIN, if the migration does not "
			  "need a transaction block of its own.");
	if (!what || !help)
		return PHG_ENOMEM;
	return phg_rule_report(self, ctx, begin, help,
			       "the transaction this BEGIN opens is never "
			       "committed: the file's last statement (line "
			       "%d) is still inside it, and no COMMIT or "
			       "ROLLBACK follows; %s",
			       stmt->line, what);
}

const struct phg_analyzer phg_rule_ban_uncommitted_transaction = {
	.id = "ban-uncommitted-transaction",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "BEGIN without a later COMMIT or ROLLBACK in the file",
	.check_stmt = check,
};
