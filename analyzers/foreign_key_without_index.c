/*
 * foreign_key_without_index.c: a foreign key (ADD CONSTRAINT ... FOREIGN
 * KEY, or REFERENCES in CREATE TABLE or ADD COLUMN) whose referencing
 * columns no index starts with (in any order). PostgreSQL indexes the
 * referenced key, not the referencing columns: each DELETE or key UPDATE
 * of the referenced table scans the referencing table for rows that point
 * at it, and joins that way scan it too. A correctness-of-design rule: it
 * applies to new tables too.
 *
 * An index created later in the same migration counts (CREATE TABLE ...
 * REFERENCES, then CREATE INDEX, is the usual order), so a file's foreign
 * keys are judged at its last statement, against the schema as the file
 * leaves it. Keys on a table no migration created are not judged: its
 * indexes are unknown. Earlier statements are read from their parse
 * trees, which are alive unless the file had to be parsed statement by
 * statement (a syntax error, or more than 2 MB).
 */
#include "surroundings.h"

#include <string.h>

#define FK_MAX_COLUMNS 8

/* One foreign key of a statement. */
struct fk {
	const char *name; /* conname, or NULL */
	const char *columns[FK_MAX_COLUMNS];
	size_t ncolumns;
	const cJSON *pktable; /* RangeVar */
};

typedef int (*fk_fn)(const struct fk *fk, void *arg);

/* Calls fn for a CONSTR_FOREIGN constraint (column: its ColumnDef's). */
static int one_fk(const cJSON *con, const char *column, fk_fn fn, void *arg)
{
	struct fk fk;
	const cJSON *it;

	if (!phg_streq(phg_field_str(con, "contype"), "CONSTR_FOREIGN"))
		return 0;
	memset(&fk, 0, sizeof(fk));
	fk.name = phg_field_str(con, "conname");
	fk.pktable = phg_field(con, "pktable");
	if (column)
		fk.columns[fk.ncolumns++] = column;
	cJSON_ArrayForEach(it, phg_field(con, "fk_attrs"))
	{
		if (!phg_node_sval(it) || fk.ncolumns == FK_MAX_COLUMNS)
			return 0;
		fk.columns[fk.ncolumns++] = phg_node_sval(it);
	}
	return fk.ncolumns ? fn(&fk, arg) : 0;
}

static int coldef_fks(const cJSON *cd, fk_fn fn, void *arg)
{
	const cJSON *it;
	int rc = 0;

	cJSON_ArrayForEach(it, phg_field(cd, "constraints"))
	{
		rc = one_fk(phg_node_get(it, "Constraint"),
			    phg_field_str(cd, "colname"), fn, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Calls fn for every foreign key a statement (tree alive) adds; stops at
 * fn's first non-zero result and returns it.
 */
static int each_fk(const struct phg_stmt *s, fk_fn fn, void *arg)
{
	const cJSON *st = phg_node_inner(s->tree);
	const cJSON *it;
	int rc = 0;

	if (!st)
		return 0;
	if (phg_streq(s->node_type, "CreateStmt")) {
		cJSON_ArrayForEach(it, phg_field(st, "tableElts"))
		{
			const cJSON *cd = phg_node_get(it, "ColumnDef");

			rc = cd ? coldef_fks(cd, fn, arg)
				: one_fk(phg_node_get(it, "Constraint"), NULL,
					 fn, arg);
			if (rc != 0)
				return rc;
		}
		return 0;
	}
	if (!phg_streq(s->node_type, "AlterTableStmt") ||
	    s->kind == PHG_KIND_ALTER_OTHER)
		return 0;
	cJSON_ArrayForEach(it, phg_field(st, "cmds"))
	{
		const cJSON *cmd = phg_node_get(it, "AlterTableCmd");
		const char *sub = phg_field_str(cmd, "subtype");
		const cJSON *def = phg_field(cmd, "def");

		if (phg_streq(sub, "AT_AddConstraint") ||
		    phg_streq(sub, "AT_AddConstraintRecurse"))
			rc = one_fk(phg_node_get(def, "Constraint"), NULL, fn,
				    arg);
		else if (phg_streq(sub, "AT_AddColumn") ||
			 phg_streq(sub, "AT_AddColumnRecurse"))
			rc = coldef_fks(phg_node_get(def, "ColumnDef"), fn,
					arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int found(const struct fk *fk, void *arg)
{
	(void)fk;
	(void)arg;
	return 1;
}

/* Whether a statement may add a foreign key, by its kind. */
static bool may_add_fk(const struct phg_stmt *s)
{
	if (s->kind == PHG_KIND_CREATE_TABLE)
		return true;
	for (size_t i = 0; i < s->nactions; i++)
		if (s->actions[i].kind == PHG_KIND_ADD_FOREIGN_KEY ||
		    s->actions[i].kind == PHG_KIND_ADD_COLUMN)
			return true;
	return false;
}

/*
 * Whether an earlier statement may have added a foreign key, cheaply (the
 * rule asks at every statement): an ADD FOREIGN KEY action, or a table
 * this release created whose model holds one (CREATE TABLE ... REFERENCES,
 * ADD COLUMN ... REFERENCES).
 */
static bool earlier_fk(const struct phg_rule_ctx *ctx, const struct phg_stmt *p)
{
	for (size_t i = 0; i < p->nactions; i++)
		if (p->actions[i].kind == PHG_KIND_ADD_FOREIGN_KEY)
			return true;
	if (p->kind == PHG_KIND_CREATE_TABLE && p->ntargets &&
	    (p->targets[0].flags & PHG_TF_TABLE)) {
		const struct phg_table *t =
			phg_model_table(ctx->model, p->targets[0].object);

		for (size_t i = 0; t && i < t->constraints.n; i++) {
			const struct phg_constraint *c =
				t->constraints.items[i];

			if (c->type == PHG_CON_FOREIGN)
				return true;
		}
		return false;
	}
	return may_add_fk(p) && each_fk(p, found, NULL) > 0;
}

static bool file_has_fk(const struct phg_rule_ctx *ctx,
			const struct phg_stmt *stmt)
{
	for (size_t i = ctx->nprev; i > 0; i--)
		if (earlier_fk(ctx, ctx->prev[i - 1]))
			return true;
	return may_add_fk(stmt) && each_fk(stmt, found, NULL) > 0;
}

/* Whether names[0, n) holds exactly the columns of fk (any order). */
static bool same_set(const char *const *names, size_t n, const struct fk *fk)
{
	if (n < fk->ncolumns)
		return false;
	for (size_t i = 0; i < fk->ncolumns; i++) {
		bool in = false;

		for (size_t k = 0; k < fk->ncolumns; k++)
			in = in || phg_streq(names[k], fk->columns[i]);
		if (!in)
			return false;
	}
	return true;
}

/* Leading column names of a list of String or IndexElem nodes. */
static size_t leading_names(const cJSON *list, const char **names, size_t max)
{
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, list)
	{
		const char *s = phg_node_sval(it);

		if (!s)
			s = phg_field_str(phg_node_get(it, "IndexElem"),
					  "name");
		if (!s || n == max)
			break; /* an expression ends the usable prefix */
		names[n++] = s;
	}
	return n;
}

/* Whether a PRIMARY KEY or UNIQUE constraint covers fk. */
static bool constraint_covers(const cJSON *con, const char *column,
			      const struct fk *fk)
{
	const char *type = phg_field_str(con, "contype");
	const char *names[FK_MAX_COLUMNS];
	size_t n;

	if (!phg_streq(type, "CONSTR_PRIMARY") &&
	    !phg_streq(type, "CONSTR_UNIQUE"))
		return false;
	if (column) {
		names[0] = column;
		n = 1;
	} else {
		n = leading_names(phg_field(con, "keys"), names,
				  FK_MAX_COLUMNS);
	}
	return same_set(names, n, fk);
}

static bool coldef_covers(const cJSON *cd, const struct fk *fk)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, phg_field(cd, "constraints"))
	{
		if (constraint_covers(phg_node_get(it, "Constraint"),
				      phg_field_str(cd, "colname"), fk))
			return true;
	}
	return false;
}

/*
 * Whether statement s (not yet in the model) creates an index of table
 * that covers fk: CREATE INDEX, or a PRIMARY KEY or UNIQUE constraint of
 * CREATE TABLE or ALTER TABLE.
 */
static bool stmt_covers(const struct phg_rule_ctx *ctx,
			const struct phg_stmt *s, const char *table,
			const struct fk *fk)
{
	const cJSON *st = phg_node_inner(s->tree);
	const char *names[FK_MAX_COLUMNS];
	const cJSON *it;

	if (!st || !phg_streq(phg_rangevar_qname(ctx->arena,
						 phg_field(st, "relation")),
			      table))
		return false;
	if (phg_streq(s->node_type, "IndexStmt"))
		return same_set(names,
				leading_names(phg_field(st, "indexParams"),
					      names, FK_MAX_COLUMNS),
				fk);
	if (phg_streq(s->node_type, "CreateStmt")) {
		cJSON_ArrayForEach(it, phg_field(st, "tableElts"))
		{
			const cJSON *cd = phg_node_get(it, "ColumnDef");

			if (cd ? coldef_covers(cd, fk)
			       : constraint_covers(
					 phg_node_get(it, "Constraint"), NULL,
					 fk))
				return true;
		}
		return false;
	}
	if (!phg_streq(s->node_type, "AlterTableStmt"))
		return false;
	cJSON_ArrayForEach(it, phg_field(st, "cmds"))
	{
		const cJSON *def =
			phg_field(phg_node_get(it, "AlterTableCmd"), "def");

		if (constraint_covers(phg_node_get(def, "Constraint"), NULL,
				      fk) ||
		    coldef_covers(phg_node_get(def, "ColumnDef"), fk))
			return true;
	}
	return false;
}

/* Whether the model has an index of table starting with fk's columns, in
   any order (every order is tried for 2 or 3 columns). */
static bool model_covers(const struct phg_model *m, const char *table,
			 const struct fk *fk)
{
	size_t n = fk->ncolumns;

	if (phg_model_has_index_on(m, table, fk->columns, n))
		return true;
	if (n < 2 || n > 3)
		return false;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n; k++) {
			const char *p[3] = {fk->columns[i], fk->columns[k],
					    NULL};

			if (k == i)
				continue;
			for (size_t l = 0; n == 3 && l < n; l++)
				if (l != i && l != k)
					p[2] = fk->columns[l];
			if (phg_model_has_index_on(m, table, p, n))
				return true;
		}
	return false;
}

/* The judging of one statement's keys at the file's last statement. */
struct judge {
	const struct phg_analyzer *self;
	const struct phg_rule_ctx *ctx;
	const struct phg_stmt *at;   /* the statement holding the keys */
	const struct phg_stmt *last; /* the file's last, not yet modelled */
	const char *table;	     /* the table that gets the keys */
	const cJSON *rel;	     /* its RangeVar */
};

/* The columns as SQL, joined with sep (arena). */
static const char *columns_sql(struct phg_arena *arena, const struct fk *fk,
			       const char *sep, bool quote)
{
	const char *out = NULL;

	for (size_t i = 0; i < fk->ncolumns; i++) {
		const char *c =
			quote ? phg_rule_sql_ident(arena, fk->columns[i])
			      : fk->columns[i];

		out = out ? phg_arena_printf(arena, "%s%s%s", out, sep, c) : c;
		if (!out)
			return NULL;
	}
	return out;
}

static int judge_fk(const struct fk *fk, void *arg)
{
	const struct judge *j = arg;
	const struct phg_rule_ctx *ctx = j->ctx;
	const struct phg_table *t = phg_model_table(ctx->model, j->table);
	const char *cols, *plain, *ix, *pk, *rel_sql, *help, *named;
	bool fresh;

	if (j->at == j->last && phg_streq(j->at->node_type, "CreateStmt")) {
		fresh = true; /* the last statement creates the table */
	} else {
		/* Dropped or renamed since, or indexes unknown. */
		if (!t || !t->known)
			return 0;
		for (size_t i = 0; j->at != j->last && i < fk->ncolumns; i++)
			if (!phg_model_column(t, fk->columns[i]))
				return 0;
		if (fk->name && j->at != j->last &&
		    !phg_model_constraint(t, fk->name))
			return 0;
		fresh = false;
	}
	if (!fresh && model_covers(ctx->model, j->table, fk))
		return 0;
	if (stmt_covers(ctx, j->last, j->table, fk))
		return 0;
	cols = columns_sql(ctx->arena, fk, ", ", true);
	plain = columns_sql(ctx->arena, fk, "_", false);
	pk = phg_rangevar_qname(ctx->arena, fk->pktable);
	rel_sql = phg_rule_sql_relation(ctx->arena, j->rel);
	ix = plain ? phg_rule_sql_ident(
			     ctx->arena,
			     phg_arena_printf(ctx->arena, "%s_%s_idx",
					      phg_field_str(j->rel, "relname"),
					      plain))
		   : NULL;
	named = fk->name ? phg_arena_printf(ctx->arena, " '%s'", fk->name) : "";
	if (!cols || !ix || !pk || !rel_sql || !named)
		return PHG_ENOMEM;
	if (phg_rule_table_existing(ctx, j->table))
		help = phg_arena_printf(
			ctx->arena,
			"Build the index in a migration of its own: CREATE "
			"INDEX CONCURRENTLY %s ON %s (%s); — reads and writes "
			"go on while it builds. If nothing ever deletes from "
			"'%s' or changes its keys, and nothing looks rows of "
			"'%s' up by %s, suppress this finding with that "
			"reason.",
			ix, rel_sql, cols, pk, j->table, cols);
	else
		help = phg_arena_printf(
			ctx->arena,
			"Index the column%s in this migration, after the "
			"table: CREATE INDEX %s ON %s (%s); — the table is "
			"new in this release, so a plain build blocks nobody.",
			fk->ncolumns > 1 ? "s" : "", ix, rel_sql, cols);
	if (!help)
		return PHG_ENOMEM;
	return phg_rule_report(
		j->self, ctx, j->at, help,
		"the foreign key%s from '%s' (%s) to '%s' has no index on "
		"'%s' that starts with %s: each DELETE or key UPDATE in '%s' "
		"scans '%s' for rows that reference it, and joins that way "
		"scan it too",
		named, j->table, cols, pk, j->table,
		fk->ncolumns > 1 ? "those columns" : "that column", pk,
		j->table);
}

static int judge_stmt(const struct phg_analyzer *self,
		      const struct phg_rule_ctx *ctx, const struct phg_stmt *at,
		      const struct phg_stmt *last)
{
	const cJSON *rel;
	struct judge j = {.self = self, .ctx = ctx, .at = at, .last = last};

	if (!may_add_fk(at))
		return 0;
	rel = phg_field(phg_node_inner(at->tree), "relation");
	if (!rel)
		return 0;
	j.rel = rel;
	j.table = phg_rangevar_qname(ctx->arena, rel);
	if (!j.table)
		return PHG_ENOMEM;
	return each_fk(at, judge_fk, &j);
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	int rc;

	/* Only at the file's last statement: asking file_has_fk first would
	   look back over the whole file at every statement, quadratic in a
	   file's statements (bench/resources.sh). */
	if (phg_rule_more_after(ctx, stmt) != 0 || !file_has_fk(ctx, stmt))
		return 0;
	for (size_t i = 0; i < ctx->nprev; i++) {
		rc = judge_stmt(self, ctx, ctx->prev[i], stmt);
		if (rc < 0)
			return rc;
	}
	rc = judge_stmt(self, ctx, stmt, stmt);
	return rc < 0 ? rc : 0;
}

const struct phg_analyzer phg_rule_foreign_key_without_index = {
	.id = "foreign-key-without-index",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a foreign key whose referencing columns no index starts "
		   "with",
	.check_stmt = check,
};
