/*
 * ban_lock_table.c: an explicit LOCK TABLE in a mode that blocks writes —
 * SHARE or stronger — on a table that has traffic. (SHARE is as strong as
 * SHARE ROW EXCLUSIVE for the application: both conflict with the ROW
 * EXCLUSIVE lock every INSERT, UPDATE and DELETE takes.) The lock is held
 * until the migration's transaction ends, blocking the running release's
 * writes (and, in ACCESS EXCLUSIVE mode, its reads) for all that time;
 * while it waits for the lock, the queries it blocks queue behind it too.
 */
#include "analyzer.h"

/*
 * libpg_query's LockStmt "mode" is PostgreSQL's LOCKMODE number: 1 ACCESS
 * SHARE ... 8 ACCESS EXCLUSIVE (lockdefs.h).
 */
static const char *const lock_modes[] = {
	NULL,
	"ACCESS SHARE",
	"ROW SHARE",
	"ROW EXCLUSIVE",
	"SHARE UPDATE EXCLUSIVE",
	"SHARE",
	"SHARE ROW EXCLUSIVE",
	"EXCLUSIVE",
	"ACCESS EXCLUSIVE",
};
#define LOCK_SHARE 5
#define LOCK_EXCLUSIVE 7
#define LOCK_ACCESS_EXCLUSIVE 8

static const char help[] =
	"Remove the explicit lock: every statement takes the lock it needs, "
	"for as short a time as it can. If the migration must keep writers "
	"out while it fixes data, change the rows in small batches instead "
	"(UPDATE ... WHERE id BETWEEN ...), each batch locking only its "
	"rows; to keep your own jobs apart, use pg_advisory_xact_lock(<key>), "
	"which blocks no query of the application. If the table lock is "
	"truly needed, put SET lock_timeout = '2s'; before it so that it "
	"gives up instead of queueing queries behind it, keep the "
	"transaction short, and suppress this finding with the reason.";

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *st, *it;
	int mode, rc = 0;

	if (stmt->kind != PHG_KIND_LOCK)
		return 0;
	st = stmt->actions[0].node;
	/* LOCK TABLE without IN ... MODE means ACCESS EXCLUSIVE. */
	mode = phg_field_int(st, "mode", LOCK_ACCESS_EXCLUSIVE);
	if (mode < LOCK_SHARE || mode > LOCK_ACCESS_EXCLUSIVE)
		return 0;
	cJSON_ArrayForEach(it, phg_field(st, "relations"))
	{
		const char *table = phg_rangevar_qname(ctx->arena, it);

		if (!table || !phg_rule_table_existing(ctx, table))
			continue;
		rc = phg_rule_report(
			self, ctx, stmt, help,
			"locking table '%s' in %s mode blocks %s of it until "
			"the migration's transaction ends, and while it waits "
			"for the lock, those queue behind it too",
			table, lock_modes[mode],
			mode == LOCK_ACCESS_EXCLUSIVE ? "reads and writes"
			: mode == LOCK_EXCLUSIVE
				? "writes and SELECT ... FOR UPDATE/SHARE"
				: "writes");
		if (rc < 0)
			return rc;
	}
	return rc;
}

const struct phg_analyzer phg_rule_ban_lock_table = {
	.id = "ban-lock-table",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "LOCK TABLE in a mode that blocks writes (SHARE or "
		   "stronger) on a table that has traffic",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_LOCK),
};
