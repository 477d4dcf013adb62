/*
 * identifier_too_long.c: a name longer than 63 bytes given to a new object
 * (table, column, constraint, index, sequence, view, schema, function,
 * type, trigger, policy, or by RENAME). PostgreSQL cuts it to 63 bytes
 * (NAMEDATALEN - 1) with only a NOTICE, so the object gets another name
 * than the one written: code and tools that look it up by the full name do
 * not find it, and two long names that share their first 63 bytes collide.
 * A style rule: it applies to new tables too.
 *
 * libpg_query's scanner already cuts names in the tree, so a name of 60 to
 * 63 bytes there (63, or less where the cut fell inside a multibyte
 * character) is looked up in the statement's own text, which is read from
 * the migration only then (rare): a finding names what was written.
 */
#include "analyzer.h"

#include <string.h>

#define NAME_MAX_BYTES 63

struct walk {
	const struct phg_analyzer *self;
	const struct phg_rule_ctx *ctx;
	const struct phg_stmt *stmt;
	struct phg_buf file; /* the migration, read on the first candidate */
	bool read;
	int rc;
};

static bool ident_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * The name as written in text[0, n) whose first bytes PostgreSQL kept as
 * cut (quoted: as is, "" for "; unquoted: ASCII folded to lower case), when
 * it is longer than cut; else NULL (arena).
 */
static const char *written(struct phg_arena *arena, const char *text, size_t n,
			   const char *cut)
{
	size_t len = strlen(cut);

	for (size_t i = 0; i + len <= n; i++) {
		bool quoted = i > 0 && text[i - 1] == '"';
		struct phg_buf out = {0};
		size_t k = 0, j;
		const char *name;

		if (!quoted && i > 0 && ident_char((unsigned char)text[i - 1]))
			continue;
		for (j = i; k < len && j < n; j++, k++) {
			if (quoted && text[j] == '"' && j + 1 < n &&
			    text[j + 1] == '"')
				j++;
			if ((quoted ? text[j] : lower(text[j])) != cut[k])
				break;
		}
		if (k < len)
			continue;
		/* Matched the kept bytes: the name goes on past them? */
		if (quoted ? j >= n || text[j] == '"'
			   : j >= n || !ident_char((unsigned char)text[j]))
			continue;
		for (j = i; j < n; j++) {
			char c = text[j];

			if (quoted && c == '"') {
				if (j + 1 >= n || text[j + 1] != '"')
					break;
				j++;
			} else if (!quoted && !ident_char((unsigned char)c)) {
				break;
			}
			if (phg_buf_add(&out, quoted ? &c : &(char){lower(c)},
					1) < 0)
				break;
		}
		name = out.data ? phg_arena_strndup(arena, out.data, out.len)
				: NULL;
		phg_buf_release(&out);
		return name;
	}
	return NULL;
}

/* name cut as PostgreSQL cuts it: at 63 bytes, on a character boundary. */
static const char *truncated(struct phg_arena *arena, const char *name)
{
	size_t n = NAME_MAX_BYTES;

	while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
		n--;
	return phg_arena_strndup(arena, name, n);
}

static void name(struct walk *w, const char *kind, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	const struct phg_stmt *st = w->stmt;
	const char *full = s, *cut, *help;

	if (w->rc < 0 || len < NAME_MAX_BYTES - 3)
		return;
	if (len <= NAME_MAX_BYTES) {
		struct phg_err err = {0};

		/* The tree holds what PostgreSQL keeps: ask the text. */
		if (!w->read && w->ctx->migration) {
			w->read = true;
			if (phg_read_file(w->ctx->migration->path, &w->file,
					  &err) < 0)
				phg_buf_release(&w->file);
		}
		if (!w->file.data || st->offset + st->len > w->file.len)
			return;
		full = written(w->ctx->arena, w->file.data + st->offset,
			       st->len, s);
		if (!full)
			return;
		len = strlen(full);
		if (len <= NAME_MAX_BYTES)
			return;
	}
	cut = truncated(w->ctx->arena, full);
	help = cut ? phg_arena_printf(
			     w->ctx->arena,
			     "Choose a name of at most 63 bytes, e.g. by "
			     "abbreviating its words, and use it everywhere. "
			     "PostgreSQL would store '%s' and say so only in "
			     "a NOTICE.",
			     cut)
		   : NULL;
	if (!help) {
		w->rc = PHG_ENOMEM;
		return;
	}
	w->rc = phg_rule_report(
		w->self, w->ctx, w->stmt, help,
		"%s name '%s' is %zu bytes long: PostgreSQL cuts it to 63 "
		"bytes ('%s'), so the object gets another name than the one "
		"written here, and another long name sharing those 63 bytes "
		"would collide with it",
		kind, full, len, cut);
}

/* The last String of a name list ([schema,] name). */
static const char *last_name(const cJSON *list)
{
	const cJSON *last = NULL, *it;

	cJSON_ArrayForEach(it, list) last = it;
	return phg_node_sval(last);
}

/* The name a constraint node gives, if any. */
static void constraint_name(struct walk *w, const cJSON *node)
{
	name(w, "constraint",
	     phg_field_str(phg_node_get(node, "Constraint"), "conname"));
}

/*
 * The names a list of definitions gives: ColumnDef (the column and its
 * constraints), Constraint, or AlterTableCmd (its "def"). Only these
 * places: walking the whole tree would cost more than every other rule.
 */
static void defs(struct walk *w, const cJSON *list)
{
	const cJSON *it, *c;

	cJSON_ArrayForEach(it, list)
	{
		const cJSON *cmd = phg_node_get(it, "AlterTableCmd");
		const cJSON *node = cmd ? phg_field(cmd, "def") : it;
		const cJSON *cd = phg_node_get(node, "ColumnDef");

		if (w->rc < 0)
			return;
		if (!cd) {
			constraint_name(w, node);
			continue;
		}
		/* ALTER COLUMN TYPE has a ColumnDef without a name. */
		name(w, "column", phg_field_str(cd, "colname"));
		cJSON_ArrayForEach(c, phg_field(cd, "constraints"))
			constraint_name(w, c);
	}
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	struct walk w = {self, ctx, stmt, {0}, false, 0};
	const char *type = stmt->node_type;
	const cJSON *st = phg_node_inner(stmt->tree);

	if (!type || !st || stmt->kind == PHG_KIND_DO)
		return 0;
	if (phg_streq(type, "CreateStmt")) {
		name(&w, "table",
		     phg_field_str(phg_field(st, "relation"), "relname"));
		defs(&w, phg_field(st, "tableElts"));
	} else if (phg_streq(type, "AlterTableStmt")) {
		defs(&w, phg_field(st, "cmds"));
	} else if (phg_streq(type, "IndexStmt")) {
		name(&w, "index", phg_field_str(st, "idxname"));
	} else if (phg_streq(type, "RenameStmt")) {
		name(&w, "new", phg_field_str(st, "newname"));
	} else if (phg_streq(type, "CreateSeqStmt")) {
		name(&w, "sequence",
		     phg_field_str(phg_field(st, "sequence"), "relname"));
	} else if (phg_streq(type, "ViewStmt")) {
		name(&w, "view",
		     phg_field_str(phg_field(st, "view"), "relname"));
	} else if (phg_streq(type, "CreateTableAsStmt")) {
		/* libpg_query writes "into" as the IntoClause's own object. */
		const cJSON *into = phg_field(st, "into");
		const cJSON *ic = phg_node_get(into, "IntoClause");

		name(&w, "table",
		     phg_field_str(phg_field(ic ? ic : into, "rel"),
				   "relname"));
	} else if (phg_streq(type, "CreateSchemaStmt")) {
		name(&w, "schema", phg_field_str(st, "schemaname"));
	} else if (phg_streq(type, "CreateFunctionStmt")) {
		name(&w, "function", last_name(phg_field(st, "funcname")));
	} else if (phg_streq(type, "CreateEnumStmt") ||
		   phg_streq(type, "CreateRangeStmt")) {
		name(&w, "type", last_name(phg_field(st, "typeName")));
	} else if (phg_streq(type, "CompositeTypeStmt")) {
		name(&w, "type",
		     phg_field_str(phg_field(st, "typevar"), "relname"));
		defs(&w, phg_field(st, "coldeflist"));
	} else if (phg_streq(type, "CreateDomainStmt")) {
		name(&w, "domain", last_name(phg_field(st, "domainname")));
		defs(&w, phg_field(st, "constraints"));
	} else if (phg_streq(type, "CreateTrigStmt")) {
		name(&w, "trigger", phg_field_str(st, "trigname"));
	} else if (phg_streq(type, "CreatePolicyStmt")) {
		name(&w, "policy", phg_field_str(st, "policy_name"));
	}
	phg_buf_release(&w.file);
	return w.rc;
}

const struct phg_analyzer phg_rule_identifier_too_long = {
	.id = "identifier-too-long",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a new object's name longer than 63 bytes (PostgreSQL "
		   "cuts it)",
	.check_stmt = check,
};
