/*
 * require_lock_timeout.c: the first statement of a migration that waits
 * for a lock blocking the running release's reads or writes on a table
 * that has traffic, while no lock_timeout is set (config runner:
 * external; phasegate's own runner sets migrate.lock_timeout itself).
 * Behind a long transaction such a statement waits in the lock queue, and
 * every query of the table queues behind it: a few seconds of lock_timeout
 * turn that outage into a failed migration to retry. Reported once per
 * migration, at the first such statement.
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
	rc = phg_rule_first_lock_without(ctx, stmt, "lock_timeout", &lock);
	if (rc <= 0)
		return rc;
	help = phg_arena_printf(
		ctx->arena,
		"Set a lock timeout at the top of the migration, before line "
		"%d: SET lock_timeout = '5s'; (SET LOCAL inside a transaction "
		"keeps it to that transaction). A statement that cannot get "
		"its lock within 5 s then fails instead of stalling traffic; "
		"retry the migration once the blocking transaction is gone. "
		"If %s sets lock_timeout on its connection already, turn this "
		"rule off in phasegate.yaml. phasegate's own runner (runner: "
		"phasegate) sets it for every migration, from "
		"migrate.lock_timeout.",
		stmt->line, phg_rule_tool_name(ctx));
	if (!help)
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"this %s waits for %s %s lock on '%s' with no lock_timeout set "
		"in the migration: while a long transaction holds the table, "
		"it waits in the lock queue, and every %s of '%s' queues "
		"behind it",
		phg_rule_stmt_label(stmt), phg_rule_lock_article(lock.mode),
		phg_rule_lock_name(lock.mode), lock.table,
		lock.mode == PHG_LOCK_ACCESS_EXCL ? "read and write" : "write",
		lock.table);
}

const struct phg_analyzer phg_rule_require_lock_timeout = {
	.id = "require-lock-timeout",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a lock on a table that has traffic with no lock_timeout "
		   "set (runner: external)",
	.check_stmt = check,
};
