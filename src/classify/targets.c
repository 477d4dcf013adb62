/*
 * targets.c: building a statement's action and target lists, and finding the
 * columns an expression reads (for backfills: "UPDATE t SET new = old" reads
 * old).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

const char *phg_rangevar_qname(struct phg_arena *arena, const cJSON *rangevar)
{
	const cJSON *rv = phg_node_get(rangevar, "RangeVar");
	const char *relname;

	if (!rv)
		rv = rangevar;
	relname = phg_field_str(rv, "relname");
	if (!relname)
		return NULL;
	return phg_qname(arena, phg_field_str(rv, "schemaname"), relname);
}

int cl_action(struct cl_run *r, enum phg_kind kind, enum phg_phase phase,
	      const cJSON *node)
{
	struct phg_action *a;

	if (r->nactions == r->capactions) {
		size_t cap = r->capactions ? r->capactions * 2 : 1;
		struct phg_action *n =
			phg_arena_alloc(r->arena, cap * sizeof(*n));

		if (!n)
			return PHG_ENOMEM;
		if (r->nactions)
			memcpy(n, r->actions, r->nactions * sizeof(*n));
		r->actions = n;
		r->capactions = cap;
	}
	a = &r->actions[r->nactions++];
	a->kind = kind;
	a->phase = phase;
	a->node = node;
	r->phase = phase;
	return 0;
}

int cl_target(struct cl_run *r, const char *object, enum phg_access access,
	      unsigned flags, int origin)
{
	struct phg_target *t;

	if (!object)
		return 0;
	/* The same object and access twice adds nothing. */
	for (size_t i = 0; i < r->ntargets; i++)
		if (r->targets[i].access == access &&
		    r->targets[i].phase == r->phase &&
		    phg_streq(r->targets[i].object, object))
			return 0;
	if (r->ntargets == r->captargets) {
		size_t cap = r->captargets ? r->captargets * 2 : 2;
		struct phg_target *n =
			phg_arena_alloc(r->arena, cap * sizeof(*n));

		if (!n)
			return PHG_ENOMEM;
		if (r->ntargets)
			memcpy(n, r->targets, r->ntargets * sizeof(*n));
		r->targets = n;
		r->captargets = cap;
	}
	t = &r->targets[r->ntargets++];
	t->object = object;
	t->access = access;
	t->flags = flags;
	t->origin = origin;
	t->phase = r->phase;
	return 0;
}

int cl_table_target(struct cl_run *r, const char *qname, enum phg_access access)
{
	int origin = access == PHG_ACCESS_CREATE
			     ? r->release
			     : phg_model_table_origin(r->model, qname);

	return cl_target(r, qname, access, PHG_TF_TABLE, origin);
}

int cl_column_target(struct cl_run *r, const char *table, const char *column,
		     enum phg_access access, unsigned flags)
{
	const char *obj = phg_colname(r->arena, table, column);
	int origin = access == PHG_ACCESS_CREATE
			     ? r->release
			     : phg_model_column_origin(r->model, table, column);

	if (!obj)
		return PHG_ENOMEM;
	/* A column an earlier action of this statement adds is new. */
	for (size_t i = 0; i < r->ntargets; i++)
		if (r->targets[i].access == PHG_ACCESS_CREATE &&
		    phg_streq(r->targets[i].object, obj))
			origin = r->release;
	if (phg_model_table_origin(r->model, table) < r->release)
		flags |= PHG_TF_EXISTING_TABLE;
	return cl_target(r, obj, access, flags | PHG_TF_COLUMN, origin);
}

int cl_object_target(struct cl_run *r, const char *qname,
		     enum phg_access access)
{
	bool known;
	int origin = access == PHG_ACCESS_CREATE
			     ? r->release
			     : phg_model_object_origin(r->model, qname, &known);

	return cl_target(r, qname, access, 0, origin);
}

/*
 * Relations a query reads from, with their aliases, for column refs; a
 * subquery's scope has its enclosing query's as parent (correlation).
 */
struct rel_scope {
	const char *qname[16];
	const char *alias[16];
	size_t n;
	const struct rel_scope *parent;
};

static void scope_add_rangevar(struct cl_run *r, struct rel_scope *sc,
			       const cJSON *rv)
{
	const cJSON *alias = phg_field(rv, "alias");

	if (sc->n >= 16)
		return;
	sc->qname[sc->n] = phg_rangevar_qname(r->arena, rv);
	sc->alias[sc->n] =
		phg_field_str(phg_node_get(alias, "Alias"), "aliasname");
	if (!sc->alias[sc->n])
		sc->alias[sc->n] = phg_field_str(alias, "aliasname");
	if (!sc->alias[sc->n])
		sc->alias[sc->n] = phg_field_str(rv, "relname");
	if (sc->qname[sc->n])
		sc->n++;
}

static void scope_add_item(struct cl_run *r, struct rel_scope *sc,
			   const cJSON *item, int depth)
{
	const cJSON *rv = phg_node_get(item, "RangeVar");
	const cJSON *je = phg_node_get(item, "JoinExpr");

	if (depth > 50)
		return;
	if (rv)
		scope_add_rangevar(r, sc, rv);
	if (je) {
		scope_add_item(r, sc, phg_field(je, "larg"), depth + 1);
		scope_add_item(r, sc, phg_field(je, "rarg"), depth + 1);
	}
}

static void scope_add_from(struct cl_run *r, struct rel_scope *sc,
			   const cJSON *from)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, from) scope_add_item(r, sc, it, 0);
}

/*
 * The relation a bare column belongs to: the only one in scope, else the
 * one the model knows has that column, else the first.
 */
static const char *bare_owner(struct cl_run *r, const struct rel_scope *sc,
			      const char *col)
{
	for (; sc; sc = sc->parent) {
		if (sc->n == 0)
			continue;
		if (sc->n == 1)
			return sc->qname[0];
		for (size_t i = 0; i < sc->n; i++)
			if (phg_model_column(
				    phg_model_table(r->model, sc->qname[i]),
				    col))
				return sc->qname[i];
		return sc->qname[0];
	}
	return NULL;
}

static const char *alias_owner(const struct rel_scope *sc, const char *alias)
{
	for (; sc; sc = sc->parent)
		for (size_t i = 0; i < sc->n; i++)
			if (phg_streq(sc->alias[i], alias))
				return sc->qname[i];
	return NULL;
}

/* Adds a read target for a ColumnRef resolved against the scope. */
static int read_colref(struct cl_run *r, const struct rel_scope *sc,
		       const cJSON *colref)
{
	const char *parts[3] = {NULL, NULL, NULL};
	const char *owner;
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, phg_field(colref, "fields"))
	{
		if (n < 3)
			parts[n] = phg_node_sval(it);
		n++;
	}
	if (n == 1 && parts[0]) {
		owner = bare_owner(r, sc, parts[0]);
		return owner ? cl_column_target(r, owner, parts[0],
						PHG_ACCESS_READ, 0)
			     : 0;
	}
	if (n == 2 && parts[0] && parts[1]) {
		owner = alias_owner(sc, parts[0]);
		return owner ? cl_column_target(r, owner, parts[1],
						PHG_ACCESS_READ, 0)
			     : 0;
	}
	return 0;
}

static int collect_reads(struct cl_run *r, const struct rel_scope *sc,
			 const cJSON *node, int depth);

/* A (sub)query: its own FROM scope, its enclosing one as parent. */
static int select_reads(struct cl_run *r, const struct rel_scope *parent,
			const cJSON *sel, int depth)
{
	struct rel_scope sub = {.parent = parent};
	const cJSON *it;
	int rc = 0;

	if (!sel || depth > 2000)
		return 0;
	if (phg_field(sel, "larg") || phg_field(sel, "rarg")) {
		rc = select_reads(r, parent, phg_field(sel, "larg"), depth + 1);
		if (rc == 0)
			rc = select_reads(r, parent, phg_field(sel, "rarg"),
					  depth + 1);
		return rc;
	}
	scope_add_from(r, &sub, phg_field(sel, "fromClause"));
	cJSON_ArrayForEach(it, sel)
	{
		rc = collect_reads(r, &sub, it, depth + 1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int collect_reads(struct cl_run *r, const struct rel_scope *sc,
			 const cJSON *node, int depth)
{
	const cJSON *it;
	int rc = 0;

	if (!node || depth > 2000)
		return 0;
	if (cJSON_IsObject(node)) {
		const cJSON *cr = phg_node_get(node, "ColumnRef");
		const cJSON *sel = phg_node_get(node, "SelectStmt");

		if (cr)
			return read_colref(r, sc, cr);
		if (sel)
			return select_reads(r, sc, sel, depth + 1);
	}
	if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
		cJSON_ArrayForEach(it, node)
		{
			rc = collect_reads(r, sc, it, depth + 1);
			if (rc < 0)
				return rc;
		}
	}
	return rc;
}

int cl_reads(struct cl_run *r, const cJSON *relation, const cJSON *from,
	     const cJSON *expr)
{
	struct rel_scope sc = {0};

	if (relation)
		scope_add_rangevar(r, &sc, relation);
	scope_add_from(r, &sc, from);
	return collect_reads(r, &sc, expr, 0);
}
