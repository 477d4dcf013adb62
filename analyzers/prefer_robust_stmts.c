/*
 * prefer_robust_stmts.c: CREATE TABLE or CREATE INDEX without IF NOT
 * EXISTS, DROP without IF EXISTS, ALTER TABLE ADD COLUMN without IF NOT
 * EXISTS, DROP COLUMN or DROP CONSTRAINT without IF EXISTS — in a
 * migration that cannot run as one transaction, when the statement is
 * committed before a later statement that may fail. A failed run then
 * leaves it applied, and a retry of the migration (which starts from the
 * top) stops at it. Judged at the file's last statement:
 *
 * - only with runner: external. phasegate's own runner records each
 *   statement it applies outside a transaction and resumes after the last
 *   one that succeeded, so it never runs one twice;
 * - numbered files (no tool phasegate knows, e.g. psql -f): a migration
 *   that holds a statement that cannot run in a transaction
 *   (CONCURRENTLY, VACUUM...) or its own BEGIN/COMMIT runs as written, so
 *   a statement outside its BEGIN ... COMMIT blocks is committed at once,
 *   and one inside at its block's COMMIT; any other migration is taken to
 *   run in one transaction;
 * - dbmate, Diesel, Flyway, Prisma, golang-migrate: these send the
 *   migration as one query string or wrap it in one transaction, which is
 *   atomic, until a COMMIT of the file's own commits what comes before it.
 *
 * Earlier statements are read from their parse trees, alive unless the
 * file had to be parsed statement by statement.
 */
#include "surroundings.h"

#include <string.h>

/* A statement that a retry cannot run again, and how to write it. */
struct fragile {
	const char *what;   /* "CREATE TABLE 'public.t' without IF NOT
			       EXISTS" */
	const char *retry;  /* "a retry of the migration stops here (already
			       exists)" */
	const char *robust; /* the robust form, as SQL */
	bool concurrent;    /* CREATE INDEX CONCURRENTLY */
	const char *index;  /* its name as SQL */
	const char *object; /* what it creates or drops, as targets name it
			       (NULL when unnamed) */
	enum phg_access undone_by; /* an earlier statement that does this to
				      object undoes it on a retry */
};

/* The first object a DROP names, as SQL (as written for plain names). */
static const char *drop_object_sql(struct phg_arena *arena, const cJSON *st)
{
	const cJSON *obj = cJSON_GetArrayItem(phg_field(st, "objects"), 0);
	const cJSON *items = phg_field(phg_node_get(obj, "List"), "items");
	const char *out = NULL;
	const cJSON *it;

	if (!items) {
		/* A type, a function...: its qualified name. */
		out = phg_drop_object_name(
			arena, phg_field_str(st, "removeType"), obj);
		return out ? out : "...";
	}
	cJSON_ArrayForEach(it, items)
	{
		const char *part = phg_rule_sql_ident(arena, phg_node_sval(it));

		if (!part)
			return "...";
		out = out ? phg_arena_printf(arena, "%s.%s", out, part) : part;
	}
	return out ? out : "...";
}

/* Fills f when the ALTER TABLE has a subcommand a retry cannot repeat. */
static bool alter_fragile(struct phg_arena *arena, const cJSON *st,
			  const char *table, const char *t_sql,
			  struct fragile *f)
{
	const char *schema =
		phg_field_str(phg_field(st, "relation"), "schemaname");
	const cJSON *it;

	cJSON_ArrayForEach(it, phg_field(st, "cmds"))
	{
		const cJSON *cmd = phg_node_get(it, "AlterTableCmd");
		const char *sub = phg_field_str(cmd, "subtype");
		const char *name = phg_field_str(cmd, "name");
		bool col;

		if (phg_field_bool(cmd, "missing_ok"))
			continue;
		if (phg_streq(sub, "AT_AddColumn") ||
		    phg_streq(sub, "AT_AddColumnRecurse")) {
			name = phg_field_str(phg_node_get(phg_field(cmd, "def"),
							  "ColumnDef"),
					     "colname");
			if (!name)
				continue;
			f->what = phg_arena_printf(
				arena,
				"ADD COLUMN '%s' of '%s' without IF NOT EXISTS",
				name, table);
			f->retry = "a retry of the migration stops here "
				   "(already exists)";
			f->robust = phg_arena_printf(
				arena,
				"ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s "
				"...;",
				t_sql, phg_rule_sql_ident(arena, name));
			f->object = phg_colname(arena, table, name);
			f->undone_by = PHG_ACCESS_REMOVE;
			return true;
		}
		if (!name || !(phg_streq(sub, "AT_DropColumn") ||
			       phg_streq(sub, "AT_DropColumnRecurse") ||
			       phg_streq(sub, "AT_DropConstraint") ||
			       phg_streq(sub, "AT_DropConstraintRecurse")))
			continue;
		col = phg_has_prefix(sub, "AT_DropColumn");
		f->what = phg_arena_printf(arena,
					   "DROP %s '%s' of '%s' without IF "
					   "EXISTS",
					   col ? "COLUMN" : "CONSTRAINT", name,
					   table);
		f->retry = "a retry of the migration stops here (does not "
			   "exist)";
		f->robust = phg_arena_printf(
			arena, "ALTER TABLE %s DROP %s IF EXISTS %s;", t_sql,
			col ? "COLUMN" : "CONSTRAINT",
			phg_rule_sql_ident(arena, name));
		f->object = col ? phg_colname(arena, table, name)
				: phg_qname(arena, schema, name);
		f->undone_by = PHG_ACCESS_CREATE;
		return true;
	}
	return false;
}

/* Whether s (tree alive) is one a retry cannot run again; fills f. */
static bool fragile(const struct phg_rule_ctx *ctx, const struct phg_stmt *s,
		    struct fragile *f)
{
	const cJSON *st = phg_node_inner(s->tree);
	const cJSON *rel = phg_field(st, "relation");
	const char *table = phg_rangevar_qname(ctx->arena, rel);
	const char *t_sql = phg_rule_sql_relation(ctx->arena, rel);
	const char *name;

	memset(f, 0, sizeof(*f));
	if (!st || s->state != PHG_STMT_OK)
		return false;
	if (phg_streq(s->node_type, "CreateStmt") && table &&
	    !phg_field_bool(st, "if_not_exists")) {
		f->what = phg_arena_printf(ctx->arena,
					   "CREATE TABLE '%s' without IF NOT "
					   "EXISTS",
					   table);
		f->retry = "a retry of the migration stops here (already "
			   "exists)";
		f->robust = phg_arena_printf(
			ctx->arena, "CREATE TABLE IF NOT EXISTS %s (...);",
			t_sql);
		f->object = table;
		f->undone_by = PHG_ACCESS_REMOVE;
		return true;
	}
	if (phg_streq(s->node_type, "IndexStmt") && table &&
	    !phg_field_bool(st, "if_not_exists")) {
		name = phg_field_str(st, "idxname");
		f->concurrent = phg_field_bool(st, "concurrent");
		f->index =
			name ? phg_rule_sql_ident(ctx->arena, name) : "<name>";
		f->object =
			name ? phg_qname(ctx->arena,
					 phg_field_str(rel, "schemaname"), name)
			     : NULL;
		f->undone_by = PHG_ACCESS_REMOVE;
		f->what = name ? phg_arena_printf(ctx->arena,
						  "CREATE INDEX '%s' without "
						  "IF NOT EXISTS",
						  f->object)
			       : phg_arena_printf(ctx->arena,
						  "CREATE INDEX on '%s' "
						  "without a name",
						  table);
		f->retry = name ? "a retry of the migration stops here "
				  "(already exists)"
				: "a retry of the migration builds a second, "
				  "duplicate index";
		f->robust = phg_arena_printf(
			ctx->arena,
			"CREATE %sINDEX %sIF NOT EXISTS %s ON %s ...;",
			phg_field_bool(st, "unique") ? "UNIQUE " : "",
			f->concurrent ? "CONCURRENTLY " : "", f->index, t_sql);
		return true;
	}
	if (phg_streq(s->node_type, "DropStmt") &&
	    !phg_field_bool(st, "missing_ok")) {
		const char *label = phg_rule_kind_label(s->kind);

		if (label[0] >= 'a' && label[0] <= 'z')
			label = "DROP";
		f->object = phg_drop_object_name(
			ctx->arena, phg_field_str(st, "removeType"),
			cJSON_GetArrayItem(phg_field(st, "objects"), 0));
		f->undone_by = PHG_ACCESS_CREATE;
		f->what = phg_arena_printf(ctx->arena,
					   "%s '%s' without IF EXISTS", label,
					   f->object ? f->object : "...");
		f->retry = "a retry of the migration stops here (does not "
			   "exist)";
		f->robust = phg_arena_printf(
			ctx->arena, "%s%s IF EXISTS %s;", label,
			phg_field_bool(st, "concurrent") ? " CONCURRENTLY" : "",
			drop_object_sql(ctx->arena, st));
		return true;
	}
	if (phg_streq(s->node_type, "AlterTableStmt") &&
	    s->kind != PHG_KIND_ALTER_OTHER && table && t_sql)
		return alter_fragile(ctx->arena, st, table, t_sql, f);
	return false;
}

/* The file's statements: ctx->prev, then stmt. */
static const struct phg_stmt *nth(const struct phg_rule_ctx *ctx,
				  const struct phg_stmt *stmt, size_t i)
{
	return i < ctx->nprev ? ctx->prev[i] : stmt;
}

/* The last part of a qualified name ("public.t" -> "t"). */
static const char *last_part(const char *qname)
{
	const char *dot = strrchr(qname, '.');

	return dot ? dot + 1 : qname;
}

/*
 * Whether a statement before the i-th does to f's object what undoes the
 * failed run's work on a retry: creates what it drops (CREATE, or RENAME
 * ... TO its name), or drops what it creates. Then the retry passes.
 */
static bool redone_before(const struct phg_rule_ctx *ctx,
			  const struct phg_stmt *stmt, size_t i,
			  const struct fragile *f)
{
	for (size_t k = 0; f->object && k < i; k++) {
		const struct phg_stmt *p = nth(ctx, stmt, k);

		for (size_t t = 0; t < p->ntargets; t++)
			if (p->targets[t].access == f->undone_by &&
			    phg_streq(p->targets[t].object, f->object))
				return true;
		/* RENAME of a type, a function...: no targets; its tree. */
		if (f->undone_by == PHG_ACCESS_CREATE &&
		    phg_streq(p->node_type, "RenameStmt") &&
		    phg_streq(phg_field_str(phg_node_inner(p->tree), "newname"),
			      last_part(f->object)))
			return true;
	}
	return false;
}

/* What a statement that cannot run in a transaction is, for messages. */
static const char *no_tx_label(const struct phg_stmt *s)
{
	switch (s->kind) {
	case PHG_KIND_CREATE_INDEX:
	case PHG_KIND_CREATE_UNIQUE_INDEX:
		return "CREATE INDEX CONCURRENTLY";
	case PHG_KIND_DROP_INDEX:
		return "DROP INDEX CONCURRENTLY";
	case PHG_KIND_REINDEX:
		return "REINDEX CONCURRENTLY";
	case PHG_KIND_VACUUM:
		return "VACUUM";
	case PHG_KIND_DO:
		return "a DO block with such a statement";
	default:
		return "a statement that cannot run in a transaction";
	}
}

/*
 * Where statement i of n is committed when the file runs: its own index
 * (autocommit), the index of the COMMIT that commits it, or n when it is
 * atomic with the rest of the file (or rolled back).
 */
static size_t commit_point(const struct phg_rule_ctx *ctx,
			   const struct phg_stmt *stmt, size_t i, size_t n,
			   bool as_written)
{
	const struct phg_stmt *s = nth(ctx, stmt, i);

	if (as_written && !s->in_transaction_block)
		return i;
	for (size_t k = i; k < n; k++) {
		const struct phg_stmt *c = nth(ctx, stmt, k);

		if (c->kind == PHG_KIND_COMMIT && c->closes_transaction)
			return k;
		if (c->closes_transaction)
			return n; /* a ROLLBACK undoes it */
	}
	return n;
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	size_t n = ctx->nprev + 1, reason = n;
	bool as_written, tx_control = false;
	int rc = 0;

	if (ctx->runner != PHG_RUNNER_EXTERNAL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct phg_stmt *s = nth(ctx, stmt, i);

		if (s->opens_transaction || s->closes_transaction)
			tx_control = true;
		if (s->no_transaction && reason == n)
			reason = i;
	}
	/* numbered files: a migration that cannot run in one transaction
	   runs as written; the tools phasegate knows keep it atomic until a
	   COMMIT of its own. */
	as_written = phg_rule_tool(ctx) == PHG_TOOL_UNKNOWN;
	if (as_written ? !tx_control && reason == n : !tx_control)
		return 0;
	if (phg_rule_more_after(ctx, stmt) != 0)
		return 0;
	for (size_t i = 0; i + 1 < n && rc == 0; i++) {
		const struct phg_stmt *s = nth(ctx, stmt, i);
		size_t c = commit_point(ctx, stmt, i, n, as_written);
		struct fragile f;
		const char *why, *help;

		if (c >= n - 1 || !fragile(ctx, s, &f) ||
		    redone_before(ctx, stmt, i, &f))
			continue;
		if (c != i)
			why = phg_arena_printf(ctx->arena,
					       "is committed by the COMMIT at "
					       "line %d, before the migration "
					       "ends",
					       nth(ctx, stmt, c)->line);
		else if (reason == i || s->no_transaction)
			why = "cannot run in a transaction, so it is committed "
			      "at once";
		else if (reason < n)
			why = phg_arena_printf(
				ctx->arena,
				"runs outside a transaction (the migration "
				"cannot run in one: it holds %s at line %d), "
				"so it is committed at once",
				no_tx_label(nth(ctx, stmt, reason)),
				nth(ctx, stmt, reason)->line);
		else
			why = "runs outside the migration's BEGIN ... COMMIT "
			      "blocks, so it is committed at once";
		help = phg_arena_printf(
			ctx->arena,
			"Write %s so that a retry passes over what a failed "
			"run already did.%s Or split the migration: what "
			"cannot run in a transaction alone in a migration of "
			"its own, the rest in one transaction.",
			f.robust,
			f.concurrent ? phg_arena_printf(
					       ctx->arena,
					       " If the failed run was "
					       "building this very index, it "
					       "left an INVALID index that IF "
					       "NOT EXISTS would keep: DROP "
					       "INDEX CONCURRENTLY IF EXISTS "
					       "%s; before the retry.",
					       f.index)
				     : "");
		if (!f.what || !f.robust || !why || !help)
			return PHG_ENOMEM;
		rc = phg_rule_report(self, ctx, s, help,
				     "%s %s: if a later statement of the "
				     "migration fails, this one stays "
				     "applied, and %s",
				     f.what, why, f.retry);
	}
	return rc;
}

const struct phg_analyzer phg_rule_prefer_robust_stmts = {
	.id = "prefer-robust-stmts",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a statement a retry cannot run again (no IF [NOT] EXISTS) "
		   "in a migration that a failure leaves half applied",
	.check_stmt = check,
};
