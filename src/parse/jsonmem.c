/*
 * jsonmem.c: memory for cJSON parse trees. A tree lives only while its file
 * (or, for files parsed statement by statement, its statement) is
 * processed, so its nodes come from a bump arena that is reset in one step
 * instead of hundreds of thousands of malloc/free pairs: cJSON_Parse and
 * cJSON_Delete were a third of lint's time. Only phasegate's reader (json.c)
 * allocates here; cJSON's own functions keep malloc. PHG_ARENA_MALLOC=1
 * keeps plain malloc so AddressSanitizer sees every node.
 */
#include <stdlib.h>
#include <string.h>

#include "jsonmem.h"

#define BLOCK_MIN (1u << 20)

struct jblock {
	struct jblock *next;
	size_t cap, used;
	max_align_t data[];
};

static struct jblock *blocks; /* the first is the one in use */
static bool enabled, decided;

static void *jmalloc(size_t n)
{
	const size_t align = sizeof(max_align_t);
	size_t need = (n + align - 1) / align * align;
	struct jblock *b = blocks;
	void *p;

	if (!b || b->used + need > b->cap) {
		size_t cap = need > BLOCK_MIN ? need : BLOCK_MIN;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = blocks;
		blocks = b;
	}
	p = (char *)b->data + b->used;
	b->used += need;
	return p;
}

bool phg_json_arena_on(void)
{
	/* Only the reader (json.c) allocates here: cJSON's own functions keep
	   malloc, so a cJSON_Parse elsewhere (providers, tests) is not freed
	   by the next phg_json_reset. */
	if (!decided) {
		const char *env = getenv("PHG_ARENA_MALLOC");

		decided = true;
		enabled = !(env && env[0] == '1');
	}
	return enabled;
}

void *phg_json_alloc(size_t n)
{
	return phg_json_arena_on() ? jmalloc(n) : malloc(n);
}

void *phg_jchunk_alloc_slow(struct phg_jchunk *c, size_t n)
{
	char *chunk;

	/* A chunk's start is aligned for anything. */
	if (!c->arena)
		return malloc(n ? n : 1);
	if (n > PHG_JCHUNK / 4)
		return phg_json_alloc(n);
	chunk = phg_json_alloc(PHG_JCHUNK);
	if (!chunk)
		return NULL;
	c->chunk = chunk + n;
	c->chunk_end = chunk + PHG_JCHUNK;
	return chunk;
}

void phg_json_delete(cJSON *doc)
{
	if (!phg_json_arena_on())
		cJSON_Delete(doc);
}

static unsigned long epoch;

unsigned long phg_json_epoch(void)
{
	return epoch;
}

void phg_json_reset(void)
{
	struct jblock *b, *next;

	epoch++;
	if (!enabled || !blocks)
		return;
	/* Keep the biggest block for the next file; free the rest. */
	for (b = blocks->next; b; b = next) {
		next = b->next;
		if (b->cap > blocks->cap) {
			struct jblock *tmp = blocks;

			blocks = b;
			b = tmp;
		}
		free(b);
	}
	blocks->next = NULL;
	blocks->used = 0;
}

void phg_json_shutdown(void)
{
	struct jblock *b, *next;

	for (b = blocks; b; b = next) {
		next = b->next;
		free(b);
	}
	blocks = NULL;
}
