/*
 * common.c: what every rule uses — reporting a finding at a statement, and
 * the shared questions about the release context.
 */
#include "analyzer.h"

#include <stdarg.h>
#include <string.h>

const struct phg_analyzer *phg_analyzer_find(const char *id)
{
	for (size_t i = 0; phg_analyzers[i]; i++)
		if (phg_streq(phg_analyzers[i]->id, id))
			return phg_analyzers[i];
	return NULL;
}

static bool stmt_ignores(const struct phg_stmt *stmt, const char *id)
{
	for (size_t i = 0; i < stmt->nignores; i++)
		if (phg_streq(stmt->ignores[i], id))
			return true;
	return false;
}

/* The first relation of a VacuumStmt's "rels" or a LockStmt's
   "relations" list, as schema.name. */
static const char *first_listed(struct phg_arena *arena, const cJSON *list)
{
	const cJSON *first = list ? list->child : NULL;
	const cJSON *vr = phg_node_get(first, "VacuumRelation");

	if (vr)
		return phg_rangevar_qname(arena, phg_field(vr, "relation"));
	return first ? phg_rangevar_qname(arena, first) : NULL;
}

/*
 * The table stmt acts on, as schema.name: its relation while its tree is
 * alive (CREATE INDEX, ALTER TABLE, UPDATE, VACUUM, CLUSTER, REINDEX, LOCK,
 * ...), else from its targets: a table, a column's table, an index's
 * table. NULL when there is none, when it is new in this release (it has
 * no traffic and no statistics yet), or when out of memory (the finding
 * then names no table, which only --stats notices).
 */
static const char *finding_table(const struct phg_rule_ctx *ctx,
				 const struct phg_stmt *stmt)
{
	const cJSON *st = stmt->tree ? phg_node_inner(stmt->tree) : NULL;
	const char *t =
		st ? phg_rangevar_qname(ctx->arena, phg_field(st, "relation"))
		   : NULL;
	const struct phg_index *ix;

	if (!t && st)
		t = first_listed(ctx->arena, phg_field(st, "rels"));
	if (!t && st)
		t = first_listed(ctx->arena, phg_field(st, "relations"));
	for (size_t i = 0; !t && i < stmt->ntargets; i++) {
		const struct phg_target *tg = &stmt->targets[i];
		const char *dot = strrchr(tg->object, '.');

		if (tg->flags & PHG_TF_TABLE)
			t = tg->object;
		else if ((tg->flags & PHG_TF_COLUMN) && dot)
			t = phg_arena_strndup(ctx->arena, tg->object,
					      (size_t)(dot - tg->object));
		else if (ctx->model &&
			 (ix = phg_model_index(ctx->model, tg->object)))
			t = ix->table;
	}
	if (!t || !ctx->model ||
	    phg_model_table_origin(ctx->model, t) >= ctx->release)
		return NULL;
	return t;
}

int phg_rule_report(const struct phg_analyzer *self,
		    const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt,
		    const char *help, const char *fmt, ...)
{
	struct phg_finding *f;
	char msg[2048];
	va_list ap;

	if (ctx->severity == PHG_SEV_OFF)
		return 0;
	va_start(ap, fmt);
	phg_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f = phg_findings_add(ctx->findings, self->id, ctx->severity, stmt->file,
			     stmt->line, stmt->col, msg, help);
	if (!f)
		return PHG_ENOMEM;
	f->source_line = (char *)stmt->source_line;
	f->suppressed = stmt_ignores(stmt, self->id);
	f->release = ctx->release;
	f->table = finding_table(ctx, stmt);
	return 0;
}

/* The column's type when it is PostgreSQL's own (pg_catalog.x or x). */
static const char *builtin_type(const cJSON *type_name)
{
	const cJSON *names = phg_field(type_name, "names");
	int n = cJSON_GetArraySize(names);

	if (n == 2 && phg_streq(phg_node_sval(cJSON_GetArrayItem(names, 0)),
				"pg_catalog"))
		return phg_node_sval(cJSON_GetArrayItem(names, 1));
	return n == 1 ? phg_node_sval(cJSON_GetArrayItem(names, 0)) : NULL;
}

/* Adds one ColumnDef (or nothing: not a column, or unnamed) to out. */
static void read_column(const cJSON *def, bool added,
			struct phg_rule_column *out, size_t max, size_t *n)
{
	const char *name = phg_field_str(def, "colname");
	const cJSON *tn, *c;

	if (!name)
		return;
	if (*n < max) {
		tn = phg_field(def, "typeName");
		c = phg_node_get(
			cJSON_GetArrayItem(phg_field(tn, "typmods"), 0),
			"A_Const");
		out[*n].def = def;
		out[*n].name = name;
		out[*n].builtin = builtin_type(tn);
		out[*n].typmod =
			c ? phg_field_int(phg_field(c, "ival"), "ival", 0) : -1;
		out[*n].array = phg_field(tn, "arrayBounds") != NULL;
		out[*n].added = added;
	}
	(*n)++;
}

size_t phg_rule_read_columns(const struct phg_stmt *stmt,
			     struct phg_rule_column *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < stmt->nactions; i++) {
		const struct phg_action *a = &stmt->actions[i];
		const cJSON *it;

		if (a->kind == PHG_KIND_ADD_COLUMN) {
			read_column(phg_node_get(phg_field(a->node, "def"),
						 "ColumnDef"),
				    true, out, max, &n);
			continue;
		}
		if (a->kind != PHG_KIND_CREATE_TABLE)
			continue;
		cJSON_ArrayForEach(it, phg_field(a->node, "tableElts"))
			read_column(phg_node_get(it, "ColumnDef"), false, out,
				    max, &n);
	}
	return n;
}

bool phg_rule_table_existing(const struct phg_rule_ctx *ctx,
			     const char *table_qname)
{
	int origin = phg_model_table_origin(ctx->model, table_qname);

	if (origin < ctx->release)
		return true;
	return origin == ctx->release && ctx->after_cutover;
}

const char *phg_rule_stmt_table(const struct phg_rule_ctx *ctx,
				const struct phg_stmt *stmt)
{
	const cJSON *st = phg_node_inner(stmt->tree);

	return phg_rangevar_qname(ctx->arena, phg_field(st, "relation"));
}

int phg_rule_each_column(const struct phg_analyzer *self,
			 const struct phg_rule_ctx *ctx,
			 const struct phg_stmt *stmt,
			 bool (*match)(const struct phg_rule_column *cd),
			 phg_rule_column_fn fn)
{
	const cJSON *rel = phg_field(phg_node_inner(stmt->tree), "relation");
	const char *table = NULL;
	int rc = 0;

	for (size_t i = 0; i < ctx->ncolumns && rc == 0; i++) {
		const struct phg_rule_column *cd = &ctx->columns[i];

		if (!match(cd))
			continue;
		/* The table's name only once a column matches. */
		if (!table && !(table = phg_rule_stmt_table(ctx, stmt)))
			return 0;
		rc = fn(self, ctx, stmt, table, rel, cd);
	}
	return rc;
}

const char *phg_rule_text_help(struct phg_arena *arena, const cJSON *rel,
			       const char *col, const char *cond, bool added,
			       bool existing)
{
	const char *t = phg_rule_sql_relation(arena, rel);
	const char *c = phg_rule_sql_ident(arena, col);
	const char *con = phg_rule_sql_ident(
		arena, phg_arena_printf(arena, "%s_%s_check",
					phg_field_str(rel, "relname"), col));

	if (!t || !c || !con || !cond)
		return NULL;
	if (!added)
		return phg_arena_printf(arena,
					"Declare it text with a CHECK: %s text "
					"CHECK (%s) in the CREATE TABLE.",
					c, cond);
	if (!existing)
		return phg_arena_printf(arena,
					"Declare it text with a CHECK: ALTER "
					"TABLE %s ADD COLUMN %s text CHECK "
					"(%s) ...;",
					t, c, cond);
	return phg_arena_printf(
		arena,
		"Declare it text and add the CHECK apart: (1) ALTER TABLE %s "
		"ADD COLUMN %s text ...; (2) ALTER TABLE %s ADD CONSTRAINT %s "
		"CHECK (%s) NOT VALID; — a brief lock, new rows are checked. "
		"(3) In a later migration, ALTER TABLE %s VALIDATE CONSTRAINT "
		"%s; — it scans under a SHARE UPDATE EXCLUSIVE lock, so reads "
		"and writes go on.",
		t, c, t, con, cond, t, con);
}

const char *phg_rule_kind_label(enum phg_kind kind)
{
	static const struct {
		enum phg_kind kind;
		const char *label;
	} labels[] = {
		{PHG_KIND_CREATE_TABLE, "CREATE TABLE"},
		{PHG_KIND_CREATE_INDEX, "CREATE INDEX"},
		{PHG_KIND_CREATE_UNIQUE_INDEX, "CREATE UNIQUE INDEX"},
		{PHG_KIND_ADD_COLUMN, "ADD COLUMN"},
		{PHG_KIND_DROP_COLUMN, "DROP COLUMN"},
		{PHG_KIND_SET_DEFAULT, "SET DEFAULT"},
		{PHG_KIND_DROP_DEFAULT, "DROP DEFAULT"},
		{PHG_KIND_SET_NOT_NULL, "SET NOT NULL"},
		{PHG_KIND_DROP_NOT_NULL, "DROP NOT NULL"},
		{PHG_KIND_ALTER_COLUMN_TYPE, "ALTER COLUMN TYPE"},
		{PHG_KIND_ADD_CHECK, "ADD CHECK"},
		{PHG_KIND_ADD_FOREIGN_KEY, "ADD FOREIGN KEY"},
		{PHG_KIND_ADD_UNIQUE, "ADD UNIQUE"},
		{PHG_KIND_ADD_PRIMARY_KEY, "ADD PRIMARY KEY"},
		{PHG_KIND_ADD_EXCLUSION, "ADD EXCLUDE"},
		{PHG_KIND_VALIDATE_CONSTRAINT, "VALIDATE CONSTRAINT"},
		{PHG_KIND_DROP_CONSTRAINT, "DROP CONSTRAINT"},
		{PHG_KIND_ALTER_TABLE, "ALTER TABLE"},
		{PHG_KIND_RENAME_TABLE, "RENAME TABLE"},
		{PHG_KIND_RENAME_COLUMN, "RENAME COLUMN"},
		{PHG_KIND_DROP_TABLE, "DROP TABLE"},
		{PHG_KIND_DROP_INDEX, "DROP INDEX"},
		{PHG_KIND_DROP_VIEW, "DROP VIEW"},
		{PHG_KIND_DROP_FUNCTION, "DROP FUNCTION"},
		{PHG_KIND_DROP_TYPE, "DROP TYPE"},
		{PHG_KIND_INSERT, "INSERT"},
		{PHG_KIND_UPDATE, "UPDATE"},
		{PHG_KIND_DELETE, "DELETE"},
		{PHG_KIND_MERGE, "MERGE"},
		{PHG_KIND_COPY_FROM, "COPY"},
		{PHG_KIND_TRUNCATE, "TRUNCATE"},
		{PHG_KIND_REPLACE_VIEW, "CREATE OR REPLACE VIEW"},
		{PHG_KIND_REPLACE_FUNCTION, "CREATE OR REPLACE FUNCTION"},
		{PHG_KIND_DO, "DO"},
	};

	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (labels[i].kind == kind)
			return labels[i].label;
	return phg_kind_name(kind);
}

const char *phg_rule_sql_ident(struct phg_arena *arena, const char *s)
{
	bool plain = s && *s && !(*s >= '0' && *s <= '9');
	size_t n = 0;
	char *out, *o;

	for (const char *p = s; plain && *p; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			*p == '_';
	if (!s || plain)
		return s;
	for (const char *p = s; *p; p++)
		n += *p == '"' ? 2 : 1;
	out = o = phg_arena_alloc(arena, n + 3);
	if (!out)
		return NULL;
	*o++ = '"';
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			*o++ = '"';
		*o++ = *p;
	}
	*o = '"';
	return out;
}

const char *phg_rule_sql_relation(struct phg_arena *arena, const cJSON *rv)
{
	const char *schema = phg_field_str(rv, "schemaname");
	const char *name =
		phg_rule_sql_ident(arena, phg_field_str(rv, "relname"));

	if (!schema || !name)
		return name;
	return phg_arena_printf(arena, "%s.%s",
				phg_rule_sql_ident(arena, schema), name);
}
