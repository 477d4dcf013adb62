/*
 * gate.c: builds the release summary the gate's rules read: the release's
 * statements, every target use, and the set of removed objects.
 */
#include "gate.h"

#include <stdlib.h>
#include <string.h>

void phg_gate_init(struct phg_gate *g, int release, struct phg_arena *arena)
{
	memset(g, 0, sizeof(*g));
	g->release = release;
	g->arena = arena;
	phg_map_init(&g->removed, arena);
}

void phg_gate_release(struct phg_gate *g)
{
	free(g->stmts);
	free(g->uses);
	phg_map_release(&g->removed);
	memset(g, 0, sizeof(*g));
}

static int grow(void **items, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	p = realloc(*items, ncap * size);
	if (!p)
		return PHG_ENOMEM;
	*items = p;
	*cap = ncap;
	return 0;
}

int phg_gate_add(struct phg_gate *g, const struct phg_stmt *stmt,
		 size_t migration)
{
	if (grow((void **)&g->stmts, &g->capstmts, g->nstmts,
		 sizeof(*g->stmts)) < 0)
		return PHG_ENOMEM;
	g->stmts[g->nstmts].stmt = stmt;
	g->stmts[g->nstmts].migration = migration;
	g->nstmts++;
	for (size_t i = 0; i < stmt->ntargets; i++) {
		const struct phg_target *t = &stmt->targets[i];

		if (grow((void **)&g->uses, &g->capuses, g->nuses,
			 sizeof(*g->uses)) < 0)
			return PHG_ENOMEM;
		g->uses[g->nuses].target = t;
		g->uses[g->nuses].stmt = stmt;
		g->uses[g->nuses].migration = migration;
		if (t->access == PHG_ACCESS_REMOVE &&
		    !phg_map_get(&g->removed, t->object) &&
		    phg_map_put(&g->removed, t->object, (void *)t) < 0)
			return PHG_ENOMEM;
		g->nuses++;
	}
	return 0;
}

bool phg_gate_touches(const char *contract_object, const char *object)
{
	size_t n = strlen(contract_object);

	if (strncmp(contract_object, object, n) != 0)
		return false;
	return object[n] == '\0' || object[n] == '.';
}

bool phg_gate_removes(const struct phg_gate *g, const char *object)
{
	return phg_map_get(&g->removed, object) != NULL;
}
