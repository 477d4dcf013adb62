/*
 * jsonmem.h: how tree builders (json.c reads libpg_query's JSON, nodes.c
 * walks its raw parse trees) cut cJSON nodes and strings from the parse
 * arena (jsonmem.c): a chunk at a time, so a node costs a pointer bump.
 * Without the arena (PHG_ARENA_MALLOC=1) every allocation is its own malloc,
 * so cJSON_Delete can free a tree and AddressSanitizer sees each node.
 */
#ifndef PHG_JSONMEM_H
#define PHG_JSONMEM_H

#include <stdint.h>
#include <string.h>

#include "parse.h"

/* How deeply containers may nest in a tree: deeper is unanalyzable. */
#define PHG_JSON_MAX_DEPTH 3000
/* Nodes and strings are cut from chunks of this size taken from the arena;
 * a string over a quarter of it gets an arena allocation of its own. */
#define PHG_JCHUNK (64 * 1024)

struct phg_jchunk {
	char *chunk, *chunk_end; /* what is left of the current chunk */
	bool arena;		 /* phg_json_arena_on(): else malloc each */
};

static inline void phg_jchunk_init(struct phg_jchunk *c)
{
	c->chunk = c->chunk_end = NULL;
	c->arena = phg_json_arena_on();
}

/* A new chunk, or malloc without the arena (phg_jchunk_alloc's slow path). */
void *phg_jchunk_alloc_slow(struct phg_jchunk *c, size_t n);

static inline void *phg_jchunk_alloc(struct phg_jchunk *c, size_t n,
				     size_t align)
{
	uintptr_t at =
		((uintptr_t)c->chunk + align - 1) & ~(uintptr_t)(align - 1);

	if (!c->chunk || at + n > (uintptr_t)c->chunk_end)
		return phg_jchunk_alloc_slow(c, n);
	c->chunk = (char *)(at + n);
	return (void *)at;
}

static inline cJSON *phg_jchunk_node(struct phg_jchunk *c, int type)
{
	cJSON *n = phg_jchunk_alloc(c, sizeof(*n), _Alignof(cJSON));

	if (n) {
		memset(n, 0, sizeof(*n));
		n->type = type;
	}
	return n;
}

/* Sets a number node's value: valueint saturates at int's range, as
   cJSON's own parser does. */
static inline void phg_jnumber_set(cJSON *n, double value)
{
	n->valuedouble = value;
	if (value >= 2147483647.0)
		n->valueint = 2147483647;
	else if (value <= -2147483648.0)
		n->valueint = -2147483647 - 1;
	else
		n->valueint = (int)value;
}

/*
 * Frees one allocation of a build that failed halfway. With the arena
 * nothing is freed one by one; without it (PHG_ARENA_MALLOC=1) the caller
 * only sees NULL, so every partial string and tree must be freed here.
 */
static inline void phg_jchunk_free(const struct phg_jchunk *c, void *p)
{
	if (!c->arena)
		free(p);
}

#endif
