/*
 * require_statement_timeout.c: the first statement of a migration that
 * holds a lock blocking the running release's reads or writes on a table
 * that has traffic, while no statement_timeout is set (config runner:
 * external; phasegate's own runner sets migrate.statement_timeout
 * itself). If such a statement runs long — a rewrite, a scan, a wait —
 * nothing stops it while traffic waits. Reported once per migration, at
 * the first such statement.
 */
#include "surroundings.h"

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	struct phg_rule_lock lock;
	const char *help;
	int rc;

	if (ctx->runner != PHG_RUNNER_EXTERNAL)
		return 0;
	rc = phg_rule_first_lock_without(ctx, stmt, "statement_timeout", &lock);
	if (rc <= 0)
		return rc;
	help = phg_arena_printf(
		ctx->arena,
		"Set a statement timeout at the top of the migration, before "
		"line %d: SET statement_timeout = '1min'; — sized for the "
		"longest statement you expect, so that one that runs longer "
		"fails and releases its lock instead of blocking traffic for "
		"as long as it takes (SET LOCAL inside a transaction keeps it "
		"to that transaction). If %s sets statement_timeout on its "
		"connection already, turn this rule off in phasegate.yaml. "
		"phasegate's own runner (runner: phasegate) sets it for every "
		"migration, from migrate.statement_timeout.",
		stmt->line, phg_rule_tool_name(ctx));
	if (!help)
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"this %s holds %s %s lock on '%s' with no statement_timeout "
		"set in the migration: if it runs long (a rewrite, a scan, a "
		"wait), nothing stops it, and every %s of '%s' waits as long",
		phg_rule_stmt_label(stmt), phg_rule_lock_article(lock.mode),
		phg_rule_lock_name(lock.mode), lock.table,
		lock.mode == PHG_LOCK_ACCESS_EXCL ? "read and write" : "write",
		lock.table);
}

const struct phg_analyzer phg_rule_require_statement_timeout = {
	.id = "require-statement-timeout",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a lock on a table that has traffic with no "
		   "statement_timeout set (runner: external)",
	.check_stmt = check,
};
