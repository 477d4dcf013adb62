/*
 * statements_after_access_exclusive.c: a statement that runs in the same
 * transaction after one that took an ACCESS EXCLUSIVE lock on a table that
 * has traffic (ALTER TABLE of most kinds, DROP TABLE, RENAME, TRUNCATE,
 * LOCK TABLE, CLUSTER...). The lock is held until the transaction commits,
 * so every read and write of that table waits through every statement
 * after it: its time, and any lock it waits for, add to the outage.
 *
 * Reported once per transaction, at the first such statement. Statements
 * that take no time and wait for no other lock do not count: transaction
 * control, SET, COMMENT, ALTER TABLE or RENAME of a table the transaction
 * already holds ACCESS EXCLUSIVE on (what they scan or rewrite, their own
 * rules report), and statements that touch no table with traffic (CREATE
 * TABLE without a foreign key to one, CREATE TYPE, CREATE FUNCTION...).
 * Earlier statements are judged from their parse trees, which are alive
 * unless the file had to be parsed statement by statement (a syntax error,
 * or more than 2 MB); then this rule says nothing.
 */
#include "surroundings.h"

#include <string.h>

/* The tables the transaction holds ACCESS EXCLUSIVE on, so far. */
struct held {
	const char *tables[32];
	size_t n;
	const struct phg_stmt *first; /* the statement that took the first */
	const char *first_table;
};

static bool holds(const struct held *h, const char *table)
{
	for (size_t i = 0; i < h->n; i++)
		if (phg_streq(h->tables[i], table))
			return true;
	return false;
}

/* Whether a CREATE TABLE names a foreign key to a table with traffic. */
static bool references_existing(const struct phg_rule_ctx *ctx,
				const cJSON *create)
{
	const cJSON *it, *ci;

	cJSON_ArrayForEach(it, phg_field(create, "tableElts"))
	{
		const cJSON *con = phg_node_get(it, "Constraint");
		const cJSON *cd = phg_node_get(it, "ColumnDef");
		const cJSON *pk = NULL;

		if (phg_streq(phg_field_str(con, "contype"), "CONSTR_FOREIGN"))
			pk = phg_field(con, "pktable");
		cJSON_ArrayForEach(ci, phg_field(cd, "constraints"))
		{
			const cJSON *c = phg_node_get(ci, "Constraint");

			if (phg_streq(phg_field_str(c, "contype"),
				      "CONSTR_FOREIGN"))
				pk = phg_field(c, "pktable");
		}
		if (pk) {
			const char *q = phg_rangevar_qname(ctx->arena, pk);

			if (!q || phg_rule_table_existing(ctx, q))
				return true;
		}
	}
	return false;
}

/* Whether a statement touches a table with traffic, by its targets. */
static bool touches_existing(const struct phg_rule_ctx *ctx,
			     const struct phg_stmt *s)
{
	for (size_t i = 0; i < s->ntargets; i++) {
		const struct phg_target *t = &s->targets[i];

		if (t->access == PHG_ACCESS_CREATE)
			continue;
		if ((t->flags & PHG_TF_EXISTING_TABLE) ||
		    ((t->flags & PHG_TF_TABLE) &&
		     (t->origin < ctx->release ||
		      (t->origin == ctx->release && ctx->after_cutover))))
			return true;
	}
	return false;
}

/*
 * Whether statement s, run while h is held, costs nothing worth
 * reporting. Needs s's tree for some kinds; without it, s counts.
 */
static int harmless(const struct phg_rule_ctx *ctx, const struct phg_stmt *s,
		    const struct held *h, bool *out)
{
	const cJSON *st = phg_node_inner(s->tree);
	struct phg_rule_lock lock;
	int rc;

	*out = false;
	switch (s->kind) {
	case PHG_KIND_BEGIN:
	case PHG_KIND_COMMIT:
	case PHG_KIND_ROLLBACK:
	case PHG_KIND_TRANSACTION_OTHER:
	case PHG_KIND_SET:
	case PHG_KIND_COMMENT:
		*out = true;
		return 0;
	case PHG_KIND_UNKNOWN:
	case PHG_KIND_DO:
	case PHG_KIND_CALL:
	case PHG_KIND_SELECT:
	case PHG_KIND_SETVAL:
	case PHG_KIND_OTHER:
		return 0;
	default:
		break;
	}
	if (!st)
		return 0;
	if (h->n && (phg_streq(s->node_type, "AlterTableStmt") ||
		     phg_streq(s->node_type, "RenameStmt"))) {
		const char *t = phg_rangevar_qname(ctx->arena,
						   phg_field(st, "relation"));

		if (t && holds(h, t)) {
			*out = true;
			return 0;
		}
	}
	if (touches_existing(ctx, s) ||
	    (phg_streq(s->node_type, "CreateStmt") &&
	     references_existing(ctx, st)))
		return 0;
	rc = phg_rule_traffic_lock(ctx, s, &lock);
	if (rc < 0)
		return rc;
	*out = !lock.table;
	return 0;
}

/*
 * Whether s may take ACCESS EXCLUSIVE at all, by its kinds alone: the
 * cheap test before phg_rule_traffic_lock, as every statement looks back
 * at the ones before it.
 */
static bool may_take_access_exclusive(const struct phg_stmt *s)
{
	switch (s->kind) {
	case PHG_KIND_DROP_TABLE:
	case PHG_KIND_DROP_INDEX:
	case PHG_KIND_RENAME_TABLE:
	case PHG_KIND_RENAME_COLUMN:
	case PHG_KIND_RENAME_CONSTRAINT:
	case PHG_KIND_TRUNCATE:
	case PHG_KIND_LOCK:
	case PHG_KIND_CLUSTER:
	case PHG_KIND_VACUUM:
		return true;
	default:
		break;
	}
	if (!phg_streq(s->node_type, "AlterTableStmt"))
		return false;
	for (size_t i = 0; i < s->nactions; i++)
		switch (s->actions[i].kind) {
		case PHG_KIND_ADD_FOREIGN_KEY:
		case PHG_KIND_VALIDATE_CONSTRAINT:
		case PHG_KIND_ENABLE_TRIGGER:
		case PHG_KIND_DISABLE_TRIGGER:
		case PHG_KIND_ATTACH_PARTITION:
			break;
		default:
			return true;
		}
	return false;
}

/* Adds what s takes ACCESS EXCLUSIVE on to h. */
static int take(const struct phg_rule_ctx *ctx, const struct phg_stmt *s,
		struct held *h)
{
	struct phg_rule_lock lock;
	int rc;

	if (!may_take_access_exclusive(s))
		return 0;
	rc = phg_rule_traffic_lock(ctx, s, &lock);
	if (rc < 0 || lock.mode != PHG_LOCK_ACCESS_EXCL)
		return rc;
	if (!h->first) {
		h->first = s;
		h->first_table = lock.table;
	}
	if (!holds(h, lock.table) && h->n < sizeof(h->tables) / sizeof(char *))
		h->tables[h->n++] = lock.table;
	return 0;
}

/*
 * How far the transaction before a statement has been read. Each call
 * used to read the transaction from its start, which made the rule
 * quadratic in a file's statements (100,000 INSERTs took minutes:
 * bench/resources.sh); the next statement of the same file goes on from
 * where the previous call stopped. The tool is single-threaded.
 */
struct scan {
	const struct phg_stmt *const *prev; /* the file's statements */
	const struct phg_stmt *first;	    /* prev[0] */
	const struct phg_stmt *last;	    /* prev[upto - 1] */
	size_t upto;			    /* prev[0, upto) read */
	struct held h; /* ACCESS EXCLUSIVE held in the transaction */
	bool done;     /* a costly statement already followed h.first */
};

static struct scan memo;

/* Reads prev[memo.upto, nprev): the transaction restarts after each
   BEGIN and COMMIT. */
static int scan_to(const struct phg_rule_ctx *ctx)
{
	bool skip;
	int rc;

	if (memo.prev != ctx->prev || memo.upto > ctx->nprev ||
	    (memo.upto && (memo.first != ctx->prev[0] ||
			   memo.last != ctx->prev[memo.upto - 1]))) {
		memset(&memo, 0, sizeof(memo));
		memo.prev = ctx->prev;
	}
	for (; memo.upto < ctx->nprev; memo.upto++) {
		const struct phg_stmt *p = ctx->prev[memo.upto];

		memo.first = ctx->prev[0];
		memo.last = p;
		if (p->opens_transaction || p->closes_transaction) {
			memset(&memo.h, 0, sizeof(memo.h));
			memo.done = false;
			continue;
		}
		if (memo.done)
			continue;
		if (memo.h.first) {
			rc = harmless(ctx, p, &memo.h, &skip);
			if (rc < 0)
				goto fail;
			/* Reported there already. */
			if (!skip) {
				memo.done = true;
				continue;
			}
		}
		rc = take(ctx, p, &memo.h);
		if (rc < 0)
			goto fail;
	}
	return 0;
fail:
	memset(&memo, 0, sizeof(memo));
	return rc;
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	struct held h = {.n = 0};
	const char *help;
	bool skip;
	int rc;

	/* A file's first statement: nothing of an earlier file or run is
	   kept (the rule sees every statement of a linted file). */
	if (ctx->nprev == 0)
		memset(&memo, 0, sizeof(memo));
	/* A query string of several statements is one implicit
	   transaction, whatever the layout's marker says. */
	if (!ctx->in_transaction && !(ctx->runner == PHG_RUNNER_EXTERNAL &&
				      phg_rule_tool(ctx) == PHG_TOOL_SCRIPT))
		return 0;
	/* Harmless whatever the transaction holds: the common case, and
	   no need to look back. */
	rc = harmless(ctx, stmt, &h, &skip);
	if (rc < 0 || skip)
		return rc;
	/* The transaction began at the file's BEGIN, after its last
	   COMMIT, or with the file. */
	if (stmt->in_transaction_block && stmt->opens_transaction)
		return 0;
	rc = scan_to(ctx);
	if (rc < 0)
		return rc;
	if (memo.done)
		return 0;
	h = memo.h;
	if (!h.first)
		return 0;
	rc = harmless(ctx, stmt, &h, &skip);
	if (rc < 0 || skip)
		return rc;
	help = phg_arena_printf(
		ctx->arena,
		"%s, so that the lock is released as soon as the statement "
		"that takes it is done. Keep that statement short, and set "
		"lock_timeout before it so that it gives up instead of "
		"queueing traffic behind it.",
		stmt->in_transaction_block
			? phg_arena_printf(ctx->arena,
					   "End the transaction right after "
					   "line %d: COMMIT; there, and run "
					   "the statements after it in a "
					   "transaction of their own (BEGIN; "
					   "... COMMIT;)",
					   h.first->line)
			: phg_arena_printf(ctx->arena,
					   "Move the statements after line %d "
					   "to a migration of their own",
					   h.first->line));
	if (!help)
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"this %s runs in the transaction that still holds the ACCESS "
		"EXCLUSIVE lock %s took on '%s' at line %d: every read and "
		"write of '%s' waits until the transaction commits, through "
		"this statement and every one after it",
		phg_rule_stmt_label(stmt), phg_rule_stmt_label(h.first),
		h.first_table, h.first->line, h.first_table);
}

const struct phg_analyzer phg_rule_statements_after_access_exclusive = {
	.id = "statements-after-access-exclusive",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "more statements in the transaction after one that took an "
		   "ACCESS EXCLUSIVE lock on a table that has traffic",
	.check_stmt = check,
};
