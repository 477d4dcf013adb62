/*
 * model.c: the catalog's lookups, and the names objects are known by.
 * Replaying statements into it is in replay.c.
 */
#include "model.h"

#include <stdint.h>
#include <string.h>

void phg_model_init(struct phg_model *m, struct phg_arena *arena)
{
	memset(m, 0, sizeof(*m));
	m->arena = arena;
	phg_map_init(&m->tables, arena);
	phg_map_init(&m->indexes, arena);
	phg_map_init(&m->objects, arena);
	phg_map_init(&m->constraints, arena);
}

void phg_model_release(struct phg_model *m)
{
	struct phg_map *maps[] = {&m->tables, &m->indexes, &m->objects,
				  &m->constraints};

	for (size_t i = 0; i < m->tables.cap; i++) {
		struct phg_table *t = m->tables.vals[i];

		if (m->tables.keys[i] && t) {
			phg_vec_release(&t->columns);
			phg_vec_release(&t->constraints);
		}
	}
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		phg_map_release(maps[i]);
}

const char *phg_qname(struct phg_arena *arena, const char *schema,
		      const char *name)
{
	if (!name)
		return NULL;
	return phg_arena_join3(arena, schema && *schema ? schema : "public",
			       '.', name);
}

const char *phg_colname(struct phg_arena *arena, const char *table_qname,
			const char *column)
{
	if (!table_qname || !column)
		return NULL;
	return phg_arena_join3(arena, table_qname, '.', column);
}

struct phg_table *phg_model_table(const struct phg_model *m, const char *qname)
{
	return qname ? phg_map_get(&m->tables, qname) : NULL;
}

struct phg_column *phg_model_column(const struct phg_table *t, const char *name)
{
	if (!t || !name)
		return NULL;
	for (size_t i = 0; i < t->columns.n; i++) {
		struct phg_column *c = t->columns.items[i];

		if (phg_key_eq(c->name, name))
			return c;
	}
	return NULL;
}

struct phg_constraint *phg_model_constraint(const struct phg_table *t,
					    const char *name)
{
	if (!t || !name)
		return NULL;
	for (size_t i = 0; i < t->constraints.n; i++) {
		struct phg_constraint *c = t->constraints.items[i];

		if (phg_key_eq(c->name, name))
			return c;
	}
	return NULL;
}

struct phg_index *phg_model_index(const struct phg_model *m, const char *qname)
{
	return qname ? phg_map_get(&m->indexes, qname) : NULL;
}

int phg_model_table_origin(const struct phg_model *m, const char *qname)
{
	const struct phg_table *t = phg_model_table(m, qname);

	return t ? t->origin : PHG_ORIGIN_PRODUCTION;
}

int phg_model_column_origin(const struct phg_model *m, const char *qname,
			    const char *column)
{
	const struct phg_table *t = phg_model_table(m, qname);
	const struct phg_column *c = phg_model_column(t, column);

	if (c)
		return c->origin;
	return t ? t->origin : PHG_ORIGIN_PRODUCTION;
}

int phg_model_object_origin(const struct phg_model *m, const char *qname,
			    bool *known)
{
	void *v = qname ? phg_map_get(&m->objects, qname) : NULL;
	const struct phg_index *ix;
	const struct phg_constraint *con;

	*known = v != NULL;
	if (v)
		return (int)((intptr_t)v - 2);
	ix = phg_model_index(m, qname);
	if (ix) {
		*known = true;
		return ix->origin;
	}
	con = qname ? phg_map_get(&m->constraints, qname) : NULL;
	if (con) {
		*known = true;
		return con->origin;
	}
	return PHG_ORIGIN_PRODUCTION;
}

bool phg_model_has_valid_not_null_check(const struct phg_table *t,
					const char *column)
{
	if (!t || !column)
		return false;
	for (size_t i = 0; i < t->constraints.n; i++) {
		const struct phg_constraint *c = t->constraints.items[i];

		if (c->type == PHG_CON_CHECK && c->valid &&
		    phg_streq(c->not_null_column, column))
			return true;
	}
	return false;
}

bool phg_model_has_index_on(const struct phg_model *m, const char *table_qname,
			    const char *const *columns, size_t ncolumns)
{
	for (size_t i = 0; i < m->indexes.cap; i++) {
		const struct phg_index *ix = m->indexes.vals[i];
		size_t k;

		if (!m->indexes.keys[i] || !ix || ix->ncolumns < ncolumns)
			continue;
		/* Columns first: table names share their schema's prefix. */
		for (k = 0; k < ncolumns; k++)
			if (!phg_streq(ix->columns[k], columns[k]))
				break;
		if (k == ncolumns && phg_streq(ix->table, table_qname))
			return true;
	}
	return false;
}
