/*
 * surroundings.c: what the transaction and lock rules ask about a
 * statement's surroundings — the tool that applies its migration, the
 * transaction block PostgreSQL would run it in, what follows it in its
 * file, and the table lock it takes.
 */
#include "surroundings.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

enum phg_rule_tool phg_rule_tool(const struct phg_rule_ctx *ctx)
{
	const struct phg_migration *m = ctx->migration;

	if (!m)
		return PHG_TOOL_UNKNOWN;
	switch (m->layout) {
	case PHG_LAYOUT_DBMATE:
	case PHG_LAYOUT_DIESEL:
		/* Told not to wrap, both send the file as one query string
		   (dbmate's db.Exec, Diesel's batch_execute). */
		return m->no_transaction ? PHG_TOOL_SCRIPT : PHG_TOOL_WRAPS;
	case PHG_LAYOUT_PRISMA:
	case PHG_LAYOUT_GOLANG_MIGRATE:
		return PHG_TOOL_SCRIPT;
	case PHG_LAYOUT_FLYWAY:
		return PHG_TOOL_FLYWAY;
	case PHG_LAYOUT_NUMBERED:
		return PHG_TOOL_UNKNOWN;
	}
	return PHG_TOOL_UNKNOWN;
}

const char *phg_rule_tool_name(const struct phg_rule_ctx *ctx)
{
	const struct phg_migration *m = ctx->migration;

	if (!m)
		return "the migration tool";
	switch (m->layout) {
	case PHG_LAYOUT_DBMATE:
		return "dbmate";
	case PHG_LAYOUT_DIESEL:
		return "Diesel";
	case PHG_LAYOUT_PRISMA:
		return "Prisma";
	case PHG_LAYOUT_GOLANG_MIGRATE:
		return "golang-migrate";
	case PHG_LAYOUT_FLYWAY:
		return "Flyway";
	case PHG_LAYOUT_NUMBERED:
		return "the migration tool";
	}
	return "the migration tool";
}

/* Where the scan of what follows a statement is. */
enum tail_state { TAIL_CODE, TAIL_LINE_COMMENT, TAIL_BLOCK_COMMENT };

struct tail {
	enum tail_state state;
	int depth;	  /* nesting of block comments */
	char pending;	  /* '-', '/' or '*' seen, its pair not yet */
	bool found_token; /* a character of SQL */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v' || c == ';';
}

/* Feeds one byte; returns true once SQL is found. */
static bool tail_feed(struct tail *t, char c)
{
	char p = t->pending;

	t->pending = 0;
	switch (t->state) {
	case TAIL_LINE_COMMENT:
		if (c == '\n')
			t->state = TAIL_CODE;
		return false;
	case TAIL_BLOCK_COMMENT:
		if (p == '*' && c == '/') {
			if (--t->depth == 0)
				t->state = TAIL_CODE;
		} else if (p == '/' && c == '*') {
			t->depth++;
		} else if (c == '*' || c == '/') {
			t->pending = c;
		}
		return false;
	case TAIL_CODE:
		break;
	}
	if (p == '-' && c == '-') {
		t->state = TAIL_LINE_COMMENT;
		return false;
	}
	if (p == '/' && c == '*') {
		t->state = TAIL_BLOCK_COMMENT;
		t->depth = 1;
		return false;
	}
	if (p) {
		t->found_token = true;
		return true;
	}
	if (is_blank(c))
		return false;
	if (c == '-' || c == '/') {
		t->pending = c;
		return false;
	}
	t->found_token = true;
	return true;
}

int phg_rule_more_after(const struct phg_rule_ctx *ctx,
			const struct phg_stmt *stmt)
{
	const struct phg_migration *m = ctx->migration;
	struct tail t = {.state = TAIL_CODE};
	size_t pos, end;
	char buf[512];
	int fd, rc = 0;

	if (!m || !m->path)
		return -1;
	pos = stmt->offset + stmt->len;
	end = m->up_end;
	if (pos > end)
		return -1;
	if (pos == end)
		return 0;
	if (ctx->text && end <= ctx->text_len) {
		/* The lint holds the file: no need to read it again. */
		while (pos < end && !tail_feed(&t, ctx->text[pos]))
			pos++;
		goto out;
	}
	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (pos < end && !t.found_token) {
		size_t want = end - pos < sizeof(buf) ? end - pos : sizeof(buf);
		ssize_t n = pread(fd, buf, want, (off_t)pos);

		if (n <= 0) {
			rc = -1;
			break;
		}
		for (ssize_t i = 0; i < n && !tail_feed(&t, buf[i]); i++)
			;
		pos += (size_t)n;
	}
	close(fd);
	if (rc < 0)
		return rc;
out:
	/* A lone '-' or '/' at the very end is SQL (a broken statement). */
	return t.found_token || (t.state == TAIL_CODE && t.pending) ? 1 : 0;
}

int phg_rule_beside_others(const struct phg_rule_ctx *ctx,
			   const struct phg_stmt *stmt)
{
	if (ctx->nprev > 0)
		return 1;
	return phg_rule_more_after(ctx, stmt);
}

const struct phg_stmt *phg_rule_open_begin(const struct phg_rule_ctx *ctx,
					   const struct phg_stmt *stmt)
{
	if (!stmt->in_transaction_block)
		return NULL;
	if (stmt->opens_transaction)
		return stmt;
	for (size_t i = ctx->nprev; i > 0; i--)
		if (ctx->prev[i - 1]->opens_transaction)
			return ctx->prev[i - 1];
	return NULL;
}

enum phg_rule_block phg_rule_block_for(const struct phg_rule_ctx *ctx,
				       const struct phg_stmt *stmt)
{
	if (stmt->in_transaction_block)
		return PHG_BLOCK_OWN;
	if (ctx->runner == PHG_RUNNER_PHASEGATE)
		return ctx->in_transaction ? PHG_BLOCK_PHASEGATE
					   : PHG_BLOCK_NONE;
	switch (phg_rule_tool(ctx)) {
	case PHG_TOOL_WRAPS:
		return PHG_BLOCK_TOOL;
	case PHG_TOOL_SCRIPT:
		/* Alone in the string, it runs outside any block. */
		return phg_rule_beside_others(ctx, stmt) == 1 ? PHG_BLOCK_SCRIPT
							      : PHG_BLOCK_NONE;
	case PHG_TOOL_FLYWAY:
		return phg_rule_beside_others(ctx, stmt) == 1 ? PHG_BLOCK_FLYWAY
							      : PHG_BLOCK_NONE;
	case PHG_TOOL_UNKNOWN:
		return PHG_BLOCK_NONE;
	}
	return PHG_BLOCK_NONE;
}

const char *phg_rule_stmt_label(const struct phg_stmt *s)
{
	static const struct {
		const char *type, *label;
	} types[] = {
		{"AlterTableStmt", "ALTER TABLE"},
		{"RenameStmt", "RENAME"},
		{"LockStmt", "LOCK TABLE"},
		{"ClusterStmt", "CLUSTER"},
		{"VacuumStmt", "VACUUM"},
		{"ReindexStmt", "REINDEX"},
		{"CreateTrigStmt", "CREATE TRIGGER"},
		{"GrantStmt", "GRANT"},
	};
	const char *l;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (phg_streq(s->node_type, types[i].type))
			return types[i].label;
	l = phg_rule_kind_label(s->kind);
	/* A kind with no SQL words of its own. */
	return l[0] >= 'a' && l[0] <= 'z' ? "statement" : l;
}

const char *phg_rule_outside_tx_how(const struct phg_rule_ctx *ctx)
{
	const struct phg_migration *m = ctx->migration;

	if (ctx->runner == PHG_RUNNER_PHASEGATE)
		return "a migration of its own holding only this statement "
		       "(phasegate applies such a migration statement by "
		       "statement, outside a transaction)";
	switch (m ? m->layout : PHG_LAYOUT_NUMBERED) {
	case PHG_LAYOUT_DBMATE:
		return "a migration of its own holding only this statement, "
		       "whose up section starts with -- migrate:up "
		       "transaction:false (dbmate sends the section as one "
		       "query string: beside other statements PostgreSQL "
		       "would still run it in an implicit transaction)";
	case PHG_LAYOUT_DIESEL:
		return "a migration of its own holding only this statement, "
		       "with run_in_transaction = false in its metadata.toml "
		       "(Diesel sends up.sql as one query string: beside "
		       "other statements PostgreSQL would still run it in an "
		       "implicit transaction)";
	case PHG_LAYOUT_PRISMA:
		return "a migration of its own holding only this statement "
		       "(Prisma sends migration.sql as one query string; "
		       "alone, the statement runs outside any transaction)";
	case PHG_LAYOUT_GOLANG_MIGRATE:
		return "a migration of its own holding only this statement "
		       "(golang-migrate sends the file as one query string; "
		       "alone, the statement runs outside any transaction)";
	case PHG_LAYOUT_FLYWAY:
		return "a migration of its own holding only this statement "
		       "(Flyway recognises it and runs that migration outside "
		       "a transaction)";
	case PHG_LAYOUT_NUMBERED:
		break;
	}
	return "a migration of its own, with no BEGIN or COMMIT, that your "
	       "migration tool runs outside a transaction";
}

const char *phg_rule_lock_name(enum phg_lock mode)
{
	switch (mode) {
	case PHG_LOCK_NONE:
		return "no";
	case PHG_LOCK_SHARE:
		return "SHARE";
	case PHG_LOCK_SHARE_ROW_EXCL:
		return "SHARE ROW EXCLUSIVE";
	case PHG_LOCK_EXCLUSIVE:
		return "EXCLUSIVE";
	case PHG_LOCK_ACCESS_EXCL:
		return "ACCESS EXCLUSIVE";
	}
	return "no";
}

const char *phg_rule_lock_article(enum phg_lock mode)
{
	return mode == PHG_LOCK_EXCLUSIVE || mode == PHG_LOCK_ACCESS_EXCL ? "an"
									  : "a";
}

/* Whether a table made in release `origin` has traffic (as
   phg_rule_table_existing, from an origin a target recorded). */
static bool origin_existing(const struct phg_rule_ctx *ctx, int origin)
{
	return origin < ctx->release ||
	       (origin == ctx->release && ctx->after_cutover);
}

/* Keeps the strongest lock seen. */
static void take(struct phg_rule_lock *out, const char *table,
		 enum phg_lock mode)
{
	if (table && mode > out->mode) {
		out->table = table;
		out->mode = mode;
	}
}

/*
 * Locks a RangeVar's table when it has traffic. The name is built on the
 * stack and copied to the arena only when kept: rules ask about earlier
 * statements again and again.
 */
static int take_rangevar(const struct phg_rule_ctx *ctx,
			 struct phg_rule_lock *out, const cJSON *rv,
			 enum phg_lock mode)
{
	const cJSON *inner = phg_node_get(rv, "RangeVar");
	const char *schema, *name;
	char buf[256];
	size_t ls, ln;

	if (!rv || mode <= out->mode)
		return 0;
	if (inner)
		rv = inner;
	schema = phg_field_str(rv, "schemaname");
	name = phg_field_str(rv, "relname");
	if (!name)
		return 0;
	if (!schema || !*schema)
		schema = "public";
	ls = strlen(schema);
	ln = strlen(name);
	if (ls + ln + 2 > sizeof(buf))
		return 0;
	memcpy(buf, schema, ls);
	buf[ls] = '.';
	memcpy(buf + ls + 1, name, ln + 1);
	if (!phg_rule_table_existing(ctx, buf))
		return 0;
	name = phg_arena_strdup(ctx->arena, buf);
	if (!name)
		return PHG_ENOMEM;
	take(out, name, mode);
	return 0;
}

/* Locks the tables the statement's table targets name (their origin as
   classify saw it, before a DROP or RENAME took them away). */
static void take_table_targets(const struct phg_rule_ctx *ctx,
			       const struct phg_stmt *stmt,
			       struct phg_rule_lock *out,
			       enum phg_access access, enum phg_lock mode)
{
	for (size_t i = 0; i < stmt->ntargets; i++) {
		const struct phg_target *t = &stmt->targets[i];

		if ((t->flags & PHG_TF_TABLE) && t->access == access &&
		    origin_existing(ctx, t->origin))
			take(out, t->object, mode);
	}
}

/* ALTER TABLE subcommands that take less than ACCESS EXCLUSIVE
   (tablecmds.c's AlterTableGetLockLevel). */
static enum phg_lock alter_action_lock(const struct phg_action *a)
{
	const char *sub = phg_field_str(a->node, "subtype");
	static const char *const weak[] = {
		"AT_SetStatistics",   "AT_ClusterOn",
		"AT_DropCluster",     "AT_SetOptions",
		"AT_ResetOptions",    "AT_SetRelOptions",
		"AT_ResetRelOptions", "AT_DetachPartitionFinalize",
	};

	switch (a->kind) {
	case PHG_KIND_ADD_FOREIGN_KEY:
	case PHG_KIND_ENABLE_TRIGGER:
	case PHG_KIND_DISABLE_TRIGGER:
		return PHG_LOCK_SHARE_ROW_EXCL;
	case PHG_KIND_VALIDATE_CONSTRAINT:
	case PHG_KIND_ATTACH_PARTITION:
		return PHG_LOCK_NONE; /* SHARE UPDATE EXCLUSIVE */
	case PHG_KIND_DETACH_PARTITION:
		return phg_field_bool(phg_node_get(phg_field(a->node, "def"),
						   "PartitionCmd"),
				      "concurrent")
			       ? PHG_LOCK_NONE
			       : PHG_LOCK_ACCESS_EXCL;
	case PHG_KIND_ALTER_TABLE_OTHER:
		if (!sub)
			return PHG_LOCK_NONE;
		for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++)
			if (phg_streq(sub, weak[i]))
				return PHG_LOCK_NONE;
		return PHG_LOCK_ACCESS_EXCL;
	default:
		return PHG_LOCK_ACCESS_EXCL;
	}
}

/* LockStmt's mode: PostgreSQL's LOCKMODE numbers. */
static enum phg_lock lock_stmt_mode(int mode)
{
	switch (mode) {
	case 5:
		return PHG_LOCK_SHARE;
	case 6:
		return PHG_LOCK_SHARE_ROW_EXCL;
	case 7:
		return PHG_LOCK_EXCLUSIVE;
	case 8:
		return PHG_LOCK_ACCESS_EXCL;
	default:
		return PHG_LOCK_NONE;
	}
}

static bool has_option(const cJSON *options, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, options)
	{
		if (phg_streq(phg_field_str(phg_node_get(it, "DefElem"),
					    "defname"),
			      name))
			return true;
	}
	return false;
}

static int drop_lock(const struct phg_rule_ctx *ctx,
		     const struct phg_stmt *stmt, const cJSON *st,
		     struct phg_rule_lock *out)
{
	const char *type = phg_field_str(st, "removeType");
	const cJSON *it;

	if (stmt->kind == PHG_KIND_DROP_TABLE) {
		take_table_targets(ctx, stmt, out, PHG_ACCESS_REMOVE,
				   PHG_LOCK_ACCESS_EXCL);
		return 0;
	}
	if (!phg_streq(type, "OBJECT_INDEX") ||
	    phg_field_bool(st, "concurrent"))
		return 0;
	/* The index's table, while the model still knows the index. */
	cJSON_ArrayForEach(it, phg_field(st, "objects"))
	{
		const char *q = phg_drop_object_name(ctx->arena, type, it);
		const struct phg_index *ix =
			q ? phg_model_index(ctx->model, q) : NULL;

		if (ix && phg_rule_table_existing(ctx, ix->table))
			take(out, ix->table, PHG_LOCK_ACCESS_EXCL);
	}
	return 0;
}

static int rename_lock(const struct phg_rule_ctx *ctx,
		       const struct phg_stmt *stmt, const cJSON *st,
		       struct phg_rule_lock *out)
{
	const char *type = phg_field_str(st, "renameType");

	if (stmt->kind == PHG_KIND_RENAME_TABLE) {
		take_table_targets(ctx, stmt, out, PHG_ACCESS_REMOVE,
				   PHG_LOCK_ACCESS_EXCL);
		return 0;
	}
	if ((phg_streq(type, "OBJECT_COLUMN") &&
	     phg_streq(phg_field_str(st, "relationType"), "OBJECT_TABLE")) ||
	    phg_streq(type, "OBJECT_TABCONSTRAINT"))
		return take_rangevar(ctx, out, phg_field(st, "relation"),
				     PHG_LOCK_ACCESS_EXCL);
	return 0;
}

int phg_rule_traffic_lock(const struct phg_rule_ctx *ctx,
			  const struct phg_stmt *stmt,
			  struct phg_rule_lock *out)
{
	const char *type = stmt->node_type;
	const cJSON *st = phg_node_inner(stmt->tree);
	const cJSON *it;
	int rc = 0;

	out->table = NULL;
	out->mode = PHG_LOCK_NONE;
	if (!st || !type || stmt->state != PHG_STMT_OK)
		return 0;
	if (phg_streq(type, "AlterTableStmt")) {
		enum phg_lock mode = PHG_LOCK_NONE;

		if (stmt->kind == PHG_KIND_ALTER_OTHER)
			return 0;
		for (size_t i = 0; i < stmt->nactions; i++) {
			enum phg_lock m = alter_action_lock(&stmt->actions[i]);

			if (m > mode)
				mode = m;
		}
		return take_rangevar(ctx, out, phg_field(st, "relation"), mode);
	}
	if (phg_streq(type, "IndexStmt"))
		return phg_field_bool(st, "concurrent")
			       ? 0
			       : take_rangevar(ctx, out,
					       phg_field(st, "relation"),
					       PHG_LOCK_SHARE);
	if (phg_streq(type, "CreateTrigStmt"))
		return take_rangevar(ctx, out, phg_field(st, "relation"),
				     PHG_LOCK_SHARE_ROW_EXCL);
	if (phg_streq(type, "DropStmt"))
		return drop_lock(ctx, stmt, st, out);
	if (phg_streq(type, "RenameStmt"))
		return rename_lock(ctx, stmt, st, out);
	if (phg_streq(type, "TruncateStmt")) {
		take_table_targets(ctx, stmt, out, PHG_ACCESS_WRITE,
				   PHG_LOCK_ACCESS_EXCL);
		return 0;
	}
	if (phg_streq(type, "LockStmt")) {
		enum phg_lock mode =
			lock_stmt_mode(phg_field_int(st, "mode", 8));

		cJSON_ArrayForEach(it, phg_field(st, "relations"))
		{
			rc = take_rangevar(ctx, out, it, mode);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	if (phg_streq(type, "ClusterStmt"))
		return take_rangevar(ctx, out, phg_field(st, "relation"),
				     PHG_LOCK_ACCESS_EXCL);
	if (phg_streq(type, "VacuumStmt")) {
		if (!phg_field_bool(st, "is_vacuumcmd") ||
		    !has_option(phg_field(st, "options"), "full"))
			return 0;
		cJSON_ArrayForEach(it, phg_field(st, "rels"))
		{
			rc = take_rangevar(
				ctx, out,
				phg_field(phg_node_get(it, "VacuumRelation"),
					  "relation"),
				PHG_LOCK_ACCESS_EXCL);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	if (phg_streq(type, "ReindexStmt")) {
		if (stmt->no_transaction ||
		    !phg_streq(phg_field_str(st, "kind"),
			       "REINDEX_OBJECT_TABLE"))
			return 0;
		return take_rangevar(ctx, out, phg_field(st, "relation"),
				     PHG_LOCK_SHARE);
	}
	return 0;
}

/* A setting's value as the session sees it while the file runs. */
struct setting_state {
	bool session; /* set, other than 0, for the session */
	int local;    /* SET LOCAL in this transaction: -1 none, 0 or 1 */
};

static bool setting_in_force(const struct setting_state *s)
{
	return s->local >= 0 ? s->local == 1 : s->session;
}

/* Whether a setting's value (an A_Const) is other than 0. */
static bool value_nonzero(const cJSON *arg)
{
	const cJSON *c = phg_node_get(arg, "A_Const");
	const char *s;

	if (!c)
		return true; /* an expression: assume it sets something */
	if (phg_field(c, "ival"))
		return phg_field_int(phg_field(c, "ival"), "ival", 0) != 0;
	s = phg_field_str(phg_field(c, "sval"), "sval");
	if (!s)
		s = phg_field_str(phg_field(c, "fval"), "fval");
	for (; s && *s; s++)
		if (*s >= '1' && *s <= '9')
			return true;
	return false;
}

/* Case-insensitive search for an ASCII word. */
static bool mentions(const char *s, const char *word)
{
	size_t w = strlen(word);

	for (; s && *s; s++) {
		size_t k = 0;

		while (k < w && s[k] && (s[k] | 0x20) == word[k])
			k++;
		if (k == w)
			return true;
	}
	return false;
}

/* SELECT set_config('setting', value, is_local). */
static void apply_set_config(const cJSON *select, const char *setting,
			     bool in_tx, struct setting_state *t)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, phg_field(select, "targetList"))
	{
		const cJSON *fc = phg_node_get(
			phg_field(phg_node_get(it, "ResTarget"), "val"),
			"FuncCall");
		const cJSON *name = NULL, *n, *args = phg_field(fc, "args");
		const cJSON *a0 = cJSON_GetArrayItem(args, 0);
		const cJSON *a1 = cJSON_GetArrayItem(args, 1);
		const cJSON *a2 = cJSON_GetArrayItem(args, 2);
		bool on, local;

		cJSON_ArrayForEach(n, phg_field(fc, "funcname")) name = n;
		if (!fc || !phg_streq(phg_node_sval(name), "set_config") ||
		    !phg_streq(
			    phg_field_str(phg_field(phg_node_get(a0, "A_Const"),
						    "sval"),
					  "sval"),
			    setting))
			continue;
		on = value_nonzero(a1);
		local = phg_field_bool(
			phg_field(phg_node_get(a2, "A_Const"), "boolval"),
			"boolval");
		if (!local) {
			t->session = on;
			t->local = -1;
		} else if (in_tx) {
			t->local = on;
		}
	}
}

/* What statement p does to the setting; in_tx: p runs in a transaction. */
static void apply_setting(const struct phg_stmt *p, const char *setting,
			  bool in_tx, struct setting_state *t)
{
	const cJSON *st = phg_node_inner(p->tree);
	const char *kind;
	bool on;

	if (p->closes_transaction) {
		t->local = -1;
		return;
	}
	if (p->kind == PHG_KIND_SELECT && st) {
		apply_set_config(st, setting, in_tx, t);
		return;
	}
	if (p->kind != PHG_KIND_SET)
		return;
	if (!st) {
		/* Parsed statement by statement: only its text is left. */
		if (mentions(p->source_line, setting))
			t->session = true;
		return;
	}
	kind = phg_field_str(st, "kind");
	if (phg_streq(kind, "VAR_RESET_ALL")) {
		t->session = false;
		t->local = -1;
		return;
	}
	if (!phg_streq(phg_field_str(st, "name"), setting))
		return;
	if (phg_streq(kind, "VAR_SET_VALUE"))
		on = value_nonzero(
			cJSON_GetArrayItem(phg_field(st, "args"), 0));
	else if (phg_streq(kind, "VAR_SET_DEFAULT") ||
		 phg_streq(kind, "VAR_RESET"))
		on = false;
	else
		return;
	if (!phg_field_bool(st, "is_local")) {
		t->session = on;
		t->local = -1;
	} else if (in_tx) {
		t->local = on;
	}
}

/*
 * Whether an earlier statement was a DROP INDEX without CONCURRENTLY whose
 * index the model no longer knows (it is gone now), so its table cannot
 * be named any more: it took ACCESS EXCLUSIVE on that table, most likely
 * one with traffic.
 */
static bool lost_index_drop(const struct phg_rule_ctx *ctx,
			    const struct phg_stmt *p)
{
	const cJSON *st = phg_node_inner(p->tree);
	const cJSON *it;

	if (p->kind != PHG_KIND_DROP_INDEX || !st ||
	    phg_field_bool(st, "concurrent"))
		return false;
	cJSON_ArrayForEach(it, phg_field(st, "objects"))
	{
		const char *q =
			phg_drop_object_name(ctx->arena, "OBJECT_INDEX", it);

		if (q && !phg_model_index(ctx->model, q))
			return true;
	}
	return false;
}

/*
 * Whether an earlier statement whose tree is gone (the file was parsed
 * statement by statement) was, by its kind and targets, one that locks a
 * table with traffic: the guess that keeps one finding per migration.
 */
static bool dead_lock_taker(const struct phg_rule_ctx *ctx,
			    const struct phg_stmt *p)
{
	if (p->tree || p->state != PHG_STMT_OK || p->no_transaction)
		return false;
	switch (p->kind) {
	case PHG_KIND_LOCK:
		return true;
	case PHG_KIND_DROP_TABLE:
	case PHG_KIND_DROP_INDEX:
	case PHG_KIND_RENAME_TABLE:
	case PHG_KIND_RENAME_COLUMN:
	case PHG_KIND_RENAME_CONSTRAINT:
	case PHG_KIND_TRUNCATE:
	case PHG_KIND_CREATE_INDEX:
	case PHG_KIND_CREATE_UNIQUE_INDEX:
		break;
	default:
		if (!phg_streq(p->node_type, "AlterTableStmt"))
			return false;
	}
	for (size_t i = 0; i < p->ntargets; i++) {
		const struct phg_target *t = &p->targets[i];

		if ((t->flags & PHG_TF_EXISTING_TABLE) ||
		    ((t->flags & PHG_TF_TABLE) &&
		     t->access != PHG_ACCESS_CREATE &&
		     origin_existing(ctx, t->origin)))
			return true;
	}
	return p->kind == PHG_KIND_DROP_INDEX;
}

int phg_rule_first_lock_without(const struct phg_rule_ctx *ctx,
				const struct phg_stmt *stmt,
				const char *setting, struct phg_rule_lock *lock)
{
	struct setting_state state = {.session = false, .local = -1};
	/* The file runs in one transaction: phasegate's or the tool's, or
	   the implicit one of a query string. */
	bool wrapped = !stmt->in_transaction_block &&
		       (ctx->in_transaction ||
			(ctx->runner == PHG_RUNNER_EXTERNAL &&
			 phg_rule_tool(ctx) == PHG_TOOL_SCRIPT));
	int rc = phg_rule_traffic_lock(ctx, stmt, lock);

	if (rc < 0 || !lock->table)
		return rc;
	for (size_t i = 0; i < ctx->nprev; i++) {
		const struct phg_stmt *p = ctx->prev[i];
		struct phg_rule_lock earlier;

		if (!setting_in_force(&state)) {
			rc = phg_rule_traffic_lock(ctx, p, &earlier);
			if (rc < 0)
				return rc;
			/* That one is the first, and was reported. */
			if (earlier.table || lost_index_drop(ctx, p) ||
			    dead_lock_taker(ctx, p))
				return 0;
		}
		apply_setting(p, setting, wrapped || p->in_transaction_block,
			      &state);
	}
	return setting_in_force(&state) ? 0 : 1;
}
