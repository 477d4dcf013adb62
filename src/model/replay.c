/*
 * replay.c: applies a statement to the catalog — CREATE/ALTER/DROP/RENAME of
 * tables, columns, constraints, indexes and other named objects. What it
 * does not understand leaves the catalog as it was.
 */
#include "model.h"

#include <stdint.h>
#include <string.h>

#include "../classify/classify.h"

struct replay {
	struct phg_model *m;
	int release;
};

/*
 * Frees what a table outside the arena owns when the map lets go of it: a
 * table it replaces (CREATE TABLE of a name the model has, a rename onto
 * one) would otherwise leak its vectors.
 */
static void table_forget(struct phg_table *t)
{
	phg_vec_release(&t->columns);
	phg_vec_release(&t->constraints);
}

static struct phg_table *table_new(struct replay *r, const char *qname,
				   const char *schema, const char *name)
{
	struct phg_table *t = phg_arena_alloc(r->m->arena, sizeof(*t));
	struct phg_table *old = phg_model_table(r->m, qname);

	if (!t)
		return NULL;
	if (old)
		table_forget(old);
	t->qname = phg_arena_strdup(r->m->arena, qname);
	t->schema = phg_arena_strdup(r->m->arena,
				     schema && *schema ? schema : "public");
	t->name = phg_arena_strdup(r->m->arena, name);
	t->origin = r->release;
	t->known = true;
	if (!t->qname || !t->schema || !t->name ||
	    phg_map_put(&r->m->tables, qname, t) < 0)
		return NULL;
	return t;
}

/* The table, created as "in production" when no migration made it. */
static struct phg_table *table_get(struct replay *r, const cJSON *rangevar)
{
	const cJSON *rv = phg_node_get(rangevar, "RangeVar");
	const char *qname;
	struct phg_table *t;

	if (!rv)
		rv = rangevar;
	qname = phg_rangevar_qname(r->m->arena, rv);
	if (!qname)
		return NULL;
	t = phg_model_table(r->m, qname);
	if (t)
		return t;
	t = table_new(r, qname, phg_field_str(rv, "schemaname"),
		      phg_field_str(rv, "relname"));
	if (t) {
		t->origin = PHG_ORIGIN_PRODUCTION;
		t->known = false;
	}
	return t;
}

static struct phg_column *column_add(struct replay *r, struct phg_table *t,
				     const cJSON *coldef)
{
	const char *name = phg_field_str(coldef, "colname");
	const cJSON *def = NULL, *it;
	bool seen_default = false, not_null = false, generated = false;
	struct phg_column *c;

	if (!name)
		return NULL;
	c = phg_model_column(t, name);
	if (!c) {
		c = phg_arena_alloc(r->m->arena, sizeof(*c));
		if (!c || phg_vec_push(&t->columns, c) < 0)
			return NULL;
		c->name = phg_arena_strdup(r->m->arena, name);
	}
	phg_type_read(phg_field(coldef, "typeName"), c);
	c->type = phg_arena_strdup(r->m->arena, c->type ? c->type : "");
	/* Its constraints in one pass: the first DEFAULT's expression, NOT
	   NULL or PRIMARY KEY, IDENTITY or GENERATED. */
	cJSON_ArrayForEach(it, phg_field(coldef, "constraints"))
	{
		const cJSON *k = phg_node_get(it, "Constraint");
		const char *type = phg_field_str(k, "contype");

		if (!type)
			continue;
		if (!seen_default && phg_streq(type, "CONSTR_DEFAULT")) {
			seen_default = true;
			def = phg_field(k, "raw_expr");
		}
		not_null |= phg_streq(type, "CONSTR_NOTNULL") ||
			    phg_streq(type, "CONSTR_PRIMARY");
		generated |= phg_streq(type, "CONSTR_IDENTITY") ||
			     phg_streq(type, "CONSTR_GENERATED");
	}
	c->not_null = not_null;
	c->has_default = (def && !phg_field_bool(phg_node_get(def, "A_Const"),
						 "isnull")) ||
			 generated || phg_coldef_is_serial(coldef);
	c->origin = r->release;
	return c;
}

static const char **name_list(struct replay *r, const cJSON *list, size_t *n)
{
	size_t count = (size_t)cJSON_GetArraySize(list), i = 0;
	const char **out;
	const cJSON *it;

	*n = 0;
	if (count == 0)
		return NULL;
	out = phg_arena_alloc(r->m->arena, count * sizeof(*out));
	if (!out)
		return NULL;
	cJSON_ArrayForEach(it, list)
	{
		const char *s = phg_node_sval(it);

		if (!s)
			s = phg_field_str(phg_node_get(it, "IndexElem"),
					  "name");
		if (s && i < count)
			out[i++] = phg_arena_strdup(r->m->arena, s);
	}
	*n = i;
	return out;
}

static int index_add(struct replay *r, const char *schema, const char *name,
		     const char *table, bool unique, const cJSON *cols)
{
	struct phg_index *ix = phg_arena_alloc(r->m->arena, sizeof(*ix));

	if (!ix)
		return PHG_ENOMEM;
	ix->qname = phg_qname(r->m->arena, schema, name);
	ix->table = table;
	ix->unique = unique;
	ix->origin = r->release;
	ix->columns = name_list(r, cols, &ix->ncolumns);
	return ix->qname ? phg_map_put(&r->m->indexes, ix->qname, ix)
			 : PHG_ENOMEM;
}

static enum phg_contype contype_of(const char *s)
{
	if (phg_streq(s, "CONSTR_CHECK"))
		return PHG_CON_CHECK;
	if (phg_streq(s, "CONSTR_FOREIGN"))
		return PHG_CON_FOREIGN;
	if (phg_streq(s, "CONSTR_UNIQUE"))
		return PHG_CON_UNIQUE;
	if (phg_streq(s, "CONSTR_PRIMARY"))
		return PHG_CON_PRIMARY;
	if (phg_streq(s, "CONSTR_EXCLUSION"))
		return PHG_CON_EXCLUSION;
	return PHG_CON_OTHER;
}

static void expr_columns_walk(const cJSON *node, struct phg_vec *out, int depth)
{
	const cJSON *it;

	if (!node || depth > 2000)
		return;
	if (cJSON_IsObject(node) && phg_node_get(node, "ColumnRef")) {
		const cJSON *last = NULL;

		cJSON_ArrayForEach(it,
				   phg_field(phg_node_get(node, "ColumnRef"),
					     "fields")) last = it;
		if (phg_node_sval(last))
			phg_vec_push(out, (void *)phg_node_sval(last));
		return;
	}
	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		cJSON_ArrayForEach(it, node)
			expr_columns_walk(it, out, depth + 1);
}

/* The distinct columns an expression mentions, copied into the arena. */
static const char **expr_columns(struct replay *r, const cJSON *expr, size_t *n)
{
	struct phg_vec found = {0};
	const char **out = NULL;

	*n = 0;
	expr_columns_walk(expr, &found, 0);
	if (found.n)
		out = phg_arena_alloc(r->m->arena, found.n * sizeof(*out));
	for (size_t i = 0; out && i < found.n; i++) {
		bool dup = false;

		for (size_t k = 0; k < *n; k++)
			dup = dup || phg_streq(out[k], found.items[i]);
		if (!dup)
			out[(*n)++] =
				phg_arena_strdup(r->m->arena, found.items[i]);
	}
	phg_vec_release(&found);
	return out;
}

/* Adds a table constraint; column is set for one declared on a column. */
static int constraint_add(struct replay *r, struct phg_table *t,
			  const cJSON *con, const char *column)
{
	enum phg_contype type = contype_of(phg_field_str(con, "contype"));
	const char *name = phg_field_str(con, "conname");
	struct phg_constraint *c;
	const cJSON *keys;

	if (type == PHG_CON_OTHER)
		return 0;
	if (!name)
		name = phg_arena_printf(r->m->arena, "%s_%s_%s", t->name,
					column ? column : "",
					type == PHG_CON_PRIMARY	 ? "pkey"
					: type == PHG_CON_UNIQUE ? "key"
					: type == PHG_CON_CHECK	 ? "check"
								 : "fkey");
	c = phg_arena_alloc(r->m->arena, sizeof(*c));
	if (!c || !name)
		return PHG_ENOMEM;
	c->name = phg_arena_strdup(r->m->arena, name);
	c->type = type;
	c->valid = !phg_field_bool(con, "skip_validation");
	c->origin = r->release;
	if (type == PHG_CON_CHECK) {
		const char *nn =
			phg_check_not_null_column(phg_field(con, "raw_expr"));

		c->not_null_column =
			nn ? phg_arena_strdup(r->m->arena, nn) : NULL;
		c->columns = expr_columns(r, phg_field(con, "raw_expr"),
					  &c->ncolumns);
	}
	keys = phg_field(con, type == PHG_CON_FOREIGN ? "fk_attrs" : "keys");
	if (keys)
		c->columns = name_list(r, keys, &c->ncolumns);
	else if (column && type != PHG_CON_CHECK) {
		c->columns = phg_arena_alloc(r->m->arena, sizeof(char *));
		if (c->columns) {
			c->columns[0] = phg_arena_strdup(r->m->arena, column);
			c->ncolumns = 1;
		}
	}
	if (phg_vec_push(&t->constraints, c) < 0 ||
	    phg_map_put(&r->m->constraints,
			phg_qname(r->m->arena, t->schema, c->name), c) < 0)
		return PHG_ENOMEM;
	if (type == PHG_CON_PRIMARY || type == PHG_CON_UNIQUE) {
		const char *idx = phg_field_str(con, "indexname");

		if (idx) {
			struct phg_index *ix = phg_model_index(
				r->m, phg_qname(r->m->arena, t->schema, idx));

			/* The index becomes the constraint's, renamed. */
			if (ix) {
				c->columns = ix->columns;
				c->ncolumns = ix->ncolumns;
				phg_map_del(&r->m->indexes, ix->qname);
				ix->qname = phg_qname(r->m->arena, t->schema,
						      c->name);
				return phg_map_put(&r->m->indexes, ix->qname,
						   ix);
			}
		}
		{
			struct phg_index *ix =
				phg_arena_alloc(r->m->arena, sizeof(*ix));

			if (!ix)
				return PHG_ENOMEM;
			ix->qname = phg_qname(r->m->arena, t->schema, c->name);
			ix->table = t->qname;
			ix->unique = true;
			ix->origin = r->release;
			ix->columns = c->columns;
			ix->ncolumns = c->ncolumns;
			return phg_map_put(&r->m->indexes, ix->qname, ix);
		}
	}
	return 0;
}

static int create_table(struct replay *r, const cJSON *st)
{
	const cJSON *rel = phg_field(st, "relation");
	const char *qname = phg_rangevar_qname(r->m->arena, rel);
	struct phg_table *t;
	const cJSON *it;
	int rc = 0;

	if (!qname)
		return 0;
	if (phg_model_table(r->m, qname) && phg_field_bool(st, "if_not_exists"))
		return 0;
	t = table_new(r, qname, phg_field_str(rel, "schemaname"),
		      phg_field_str(rel, "relname"));
	if (!t)
		return PHG_ENOMEM;
	cJSON_ArrayForEach(it, phg_field(st, "tableElts"))
	{
		const cJSON *cd = phg_node_get(it, "ColumnDef");
		const cJSON *con = phg_node_get(it, "Constraint");
		const cJSON *ci;

		if (cd) {
			if (!column_add(r, t, cd))
				return PHG_ENOMEM;
			cJSON_ArrayForEach(ci, phg_field(cd, "constraints"))
			{
				rc = constraint_add(
					r, t, phg_node_get(ci, "Constraint"),
					phg_field_str(cd, "colname"));
				if (rc < 0)
					return rc;
			}
		} else if (con) {
			rc = constraint_add(r, t, con, NULL);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static void column_remove(struct phg_table *t, const char *name)
{
	for (size_t i = 0; i < t->columns.n; i++) {
		struct phg_column *c = t->columns.items[i];

		if (phg_streq(c->name, name)) {
			memmove(&t->columns.items[i], &t->columns.items[i + 1],
				(t->columns.n - i - 1) * sizeof(void *));
			t->columns.n--;
			return;
		}
	}
}

static void constraint_remove(struct replay *r, struct phg_table *t,
			      const char *name)
{
	for (size_t i = 0; i < t->constraints.n; i++) {
		struct phg_constraint *c = t->constraints.items[i];

		if (phg_streq(c->name, name)) {
			memmove(&t->constraints.items[i],
				&t->constraints.items[i + 1],
				(t->constraints.n - i - 1) * sizeof(void *));
			t->constraints.n--;
			break;
		}
	}
	phg_map_del(&r->m->indexes, phg_qname(r->m->arena, t->schema, name));
	phg_map_del(&r->m->constraints,
		    phg_qname(r->m->arena, t->schema, name));
}

/* A column of a table that no migration created appears when touched. */
static struct phg_column *column_get(struct replay *r, struct phg_table *t,
				     const char *name)
{
	struct phg_column *c = phg_model_column(t, name);

	if (c || !name)
		return c;
	c = phg_arena_alloc(r->m->arena, sizeof(*c));
	if (!c || phg_vec_push(&t->columns, c) < 0)
		return NULL;
	c->name = phg_arena_strdup(r->m->arena, name);
	c->origin = t->origin;
	c->typmods[0] = c->typmods[1] = -1;
	return c;
}

static int alter_cmd(struct replay *r, struct phg_table *t, const cJSON *cmd)
{
	const char *st = phg_field_str(cmd, "subtype");
	const char *name = phg_field_str(cmd, "name");
	const cJSON *def = phg_field(cmd, "def");
	struct phg_column *c;
	struct phg_constraint *con;

	if (!st)
		return 0;
	if (phg_streq(st, "AT_AddColumn") ||
	    phg_streq(st, "AT_AddColumnRecurse")) {
		const cJSON *cd = phg_node_get(def, "ColumnDef");
		const cJSON *ci;

		if (phg_model_column(t, phg_field_str(cd, "colname")) &&
		    phg_field_bool(cmd, "missing_ok"))
			return 0;
		if (!column_add(r, t, cd))
			return cd ? PHG_ENOMEM : 0;
		cJSON_ArrayForEach(ci, phg_field(cd, "constraints"))
		{
			int rc = constraint_add(r, t,
						phg_node_get(ci, "Constraint"),
						phg_field_str(cd, "colname"));
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	if (phg_streq(st, "AT_DropColumn") ||
	    phg_streq(st, "AT_DropColumnRecurse")) {
		if (name)
			column_remove(t, name);
		return 0;
	}
	if (phg_streq(st, "AT_SetNotNull") || phg_streq(st, "AT_DropNotNull")) {
		c = column_get(r, t, name);
		if (c)
			c->not_null = phg_streq(st, "AT_SetNotNull");
		return 0;
	}
	if (phg_streq(st, "AT_ColumnDefault")) {
		c = column_get(r, t, name);
		if (c)
			c->has_default =
				def &&
				!phg_field_bool(phg_node_get(def, "A_Const"),
						"isnull");
		return 0;
	}
	if (phg_streq(st, "AT_AlterColumnType")) {
		c = column_get(r, t, name);
		if (c) {
			phg_type_read(phg_field(phg_node_get(def, "ColumnDef"),
						"typeName"),
				      c);
			c->type = phg_arena_strdup(r->m->arena,
						   c->type ? c->type : "");
		}
		return 0;
	}
	if (phg_streq(st, "AT_AddConstraint") ||
	    phg_streq(st, "AT_AddConstraintRecurse"))
		return constraint_add(r, t, phg_node_get(def, "Constraint"),
				      NULL);
	if (phg_streq(st, "AT_ValidateConstraint") ||
	    phg_streq(st, "AT_ValidateConstraintRecurse")) {
		con = phg_model_constraint(t, name);
		if (con)
			con->valid = true;
		return 0;
	}
	if (phg_streq(st, "AT_DropConstraint") ||
	    phg_streq(st, "AT_DropConstraintRecurse")) {
		if (name)
			constraint_remove(r, t, name);
		return 0;
	}
	return 0;
}

static int alter_table(struct replay *r, const cJSON *st)
{
	const char *objtype = phg_field_str(st, "objtype");
	struct phg_table *t;
	const cJSON *it;

	if (objtype && !phg_streq(objtype, "OBJECT_TABLE") &&
	    !phg_streq(objtype, "OBJECT_FOREIGN_TABLE"))
		return 0;
	t = table_get(r, phg_field(st, "relation"));
	if (!t)
		return phg_field(st, "relation") ? PHG_ENOMEM : 0;
	cJSON_ArrayForEach(it, phg_field(st, "cmds"))
	{
		int rc = alter_cmd(r, t, phg_node_get(it, "AlterTableCmd"));

		if (rc < 0)
			return rc;
	}
	return 0;
}

static int create_index(struct replay *r, const cJSON *st)
{
	const cJSON *rel = phg_field(st, "relation");
	const char *name = phg_field_str(st, "idxname");
	struct phg_table *t = table_get(r, rel);

	if (!t || !name)
		return 0;
	if (phg_model_index(r->m, phg_qname(r->m->arena, t->schema, name)) &&
	    phg_field_bool(st, "if_not_exists"))
		return 0;
	return index_add(r, phg_field_str(rel, "schemaname"), name, t->qname,
			 phg_field_bool(st, "unique"),
			 phg_field(st, "indexParams"));
}

static const char *list_qname(struct replay *r, const cJSON *list)
{
	const char *parts[2] = {NULL, NULL};
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, list)
	{
		parts[0] = parts[1];
		parts[1] = phg_node_sval(it);
		n++;
	}
	if (!parts[1])
		return NULL;
	return phg_qname(r->m->arena, n >= 2 ? parts[0] : NULL, parts[1]);
}

static void drop_table(struct replay *r, const char *qname)
{
	struct phg_table *t = phg_model_table(r->m, qname);

	if (!t)
		return;
	/* Its indexes go with it. */
	for (size_t i = 0; i < r->m->indexes.cap; i++) {
		const struct phg_index *ix = r->m->indexes.vals[i];

		if (r->m->indexes.keys[i] && ix &&
		    phg_streq(ix->table, qname)) {
			phg_map_del(&r->m->indexes, r->m->indexes.keys[i]);
			i--; /* the slot may hold a moved entry now */
		}
	}
	table_forget(t);
	phg_map_del(&r->m->tables, qname);
}

static int drop_stmt(struct replay *r, const cJSON *st)
{
	const char *type = phg_field_str(st, "removeType");
	const cJSON *it;

	cJSON_ArrayForEach(it, phg_field(st, "objects"))
	{
		const char *q = phg_drop_object_name(r->m->arena, type, it);

		if (!q)
			continue;
		if (phg_streq(type, "OBJECT_TABLE") ||
		    phg_streq(type, "OBJECT_VIEW") ||
		    phg_streq(type, "OBJECT_MATVIEW") ||
		    phg_streq(type, "OBJECT_FOREIGN_TABLE"))
			drop_table(r, q);
		else if (phg_streq(type, "OBJECT_INDEX"))
			phg_map_del(&r->m->indexes, q);
		else
			phg_map_del(&r->m->objects, q);
	}
	return 0;
}

static int rename_table(struct replay *r, struct phg_table *t,
			const char *newname)
{
	const char *nq = phg_qname(r->m->arena, t->schema, newname);

	if (!nq)
		return PHG_ENOMEM;
	for (size_t i = 0; i < r->m->indexes.cap; i++) {
		struct phg_index *ix = r->m->indexes.vals[i];

		if (r->m->indexes.keys[i] && ix &&
		    phg_streq(ix->table, t->qname))
			ix->table = nq;
	}
	phg_map_del(&r->m->tables, t->qname);
	if (phg_model_table(r->m, nq))
		table_forget(phg_model_table(r->m, nq));
	t->qname = nq;
	t->name = phg_arena_strdup(r->m->arena, newname);
	return phg_map_put(&r->m->tables, nq, t);
}

static int rename_stmt(struct replay *r, const cJSON *st)
{
	const char *type = phg_field_str(st, "renameType");
	const char *newname = phg_field_str(st, "newname");
	const char *sub = phg_field_str(st, "subname");
	const cJSON *rel = phg_field(st, "relation");
	struct phg_table *t;

	if (!newname || !rel)
		return 0;
	if (phg_streq(type, "OBJECT_INDEX")) {
		const char *q = phg_rangevar_qname(r->m->arena, rel);
		struct phg_index *ix = phg_model_index(r->m, q);

		if (!ix)
			return 0;
		phg_map_del(&r->m->indexes, q);
		ix->qname = phg_qname(
			r->m->arena, phg_field_str(rel, "schemaname"), newname);
		return phg_map_put(&r->m->indexes, ix->qname, ix);
	}
	t = table_get(r, rel);
	if (!t)
		return PHG_ENOMEM;
	if (phg_streq(type, "OBJECT_COLUMN")) {
		struct phg_column *c = column_get(r, t, sub);

		if (c)
			c->name = phg_arena_strdup(r->m->arena, newname);
		return 0;
	}
	if (phg_streq(type, "OBJECT_TABCONSTRAINT")) {
		struct phg_constraint *c = phg_model_constraint(t, sub);

		if (c)
			c->name = phg_arena_strdup(r->m->arena, newname);
		return 0;
	}
	if (phg_streq(type, "OBJECT_TABLE") || phg_streq(type, "OBJECT_VIEW") ||
	    phg_streq(type, "OBJECT_MATVIEW"))
		return rename_table(r, t, newname);
	return 0;
}

static int object_add(struct replay *r, const char *qname)
{
	if (!qname)
		return 0;
	return phg_map_put(&r->m->objects, qname,
			   (void *)(intptr_t)(r->release + 2));
}

static int create_view(struct replay *r, const cJSON *rv, bool is_view)
{
	const char *q = phg_rangevar_qname(r->m->arena, rv);
	struct phg_table *t;

	if (!q || phg_model_table(r->m, q))
		return 0;
	t = table_new(r, q, phg_field_str(rv, "schemaname"),
		      phg_field_str(rv, "relname"));
	if (!t)
		return PHG_ENOMEM;
	t->is_view = is_view;
	return 0;
}

struct do_apply {
	struct phg_model *m;
	int release;
};

static int apply_inner(struct phg_stmt *inner, void *vd)
{
	struct do_apply *d = vd;

	return phg_model_apply(d->m, inner, d->release);
}

int phg_model_apply(struct phg_model *m, const struct phg_stmt *stmt,
		    int release)
{
	struct replay r = {.m = m, .release = release};
	const char *type = stmt->node_type;
	const cJSON *st = phg_node_inner(stmt->tree);

	if (!type || !st || stmt->state != PHG_STMT_OK)
		return 0;
	if (phg_streq(type, "CreateStmt"))
		return create_table(&r, st);
	if (phg_streq(type, "DoStmt")) {
		struct do_apply d = {m, release};
		int rc = phg_parse_do_block(stmt, apply_inner, &d);

		return rc < 0 ? rc : 0;
	}
	if (phg_streq(type, "AlterTableStmt"))
		return alter_table(&r, st);
	if (phg_streq(type, "IndexStmt"))
		return create_index(&r, st);
	if (phg_streq(type, "DropStmt"))
		return drop_stmt(&r, st);
	if (phg_streq(type, "RenameStmt"))
		return rename_stmt(&r, st);
	if (phg_streq(type, "ViewStmt"))
		return create_view(&r, phg_field(st, "view"), true);
	if (phg_streq(type, "CreateTableAsStmt")) {
		/* libpg_query writes "into" without its node name. */
		const cJSON *into = phg_field(st, "into");
		const cJSON *ic = phg_node_get(into, "IntoClause");

		return create_view(&r, phg_field(ic ? ic : into, "rel"),
				   phg_streq(phg_field_str(st, "objtype"),
					     "OBJECT_MATVIEW"));
	}
	if (phg_streq(type, "CreateFunctionStmt"))
		return object_add(&r,
				  list_qname(&r, phg_field(st, "funcname")));
	if (phg_streq(type, "CreateEnumStmt") ||
	    phg_streq(type, "CreateRangeStmt"))
		return object_add(&r,
				  list_qname(&r, phg_field(st, "typeName")));
	if (phg_streq(type, "CreateDomainStmt"))
		return object_add(&r,
				  list_qname(&r, phg_field(st, "domainname")));
	if (phg_streq(type, "CreateSchemaStmt"))
		return object_add(
			&r, phg_arena_strdup(m->arena,
					     phg_field_str(st, "schemaname")));
	if (phg_streq(type, "CreateSeqStmt"))
		return object_add(
			&r, phg_rangevar_qname(m->arena,
					       phg_field(st, "sequence")));
	return 0;
}
