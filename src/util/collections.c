/*
 * collections.c: the findings list and the string-keyed hash map used by the
 * schema model and the gate.
 */
#include "util.h"

#include <stdlib.h>
#include <string.h>

const char *phg_severity_name(enum phg_severity sev)
{
	switch (sev) {
	case PHG_SEV_OFF:
		return "off";
	case PHG_SEV_WARNING:
		return "warning";
	case PHG_SEV_ERROR:
		return "error";
	}
	return "off";
}

struct phg_finding *phg_findings_add(struct phg_findings *fs, const char *rule,
				     enum phg_severity sev, const char *file,
				     int line, int col, const char *message,
				     const char *help)
{
	struct phg_finding *f;

	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 32;
		struct phg_finding *n = realloc(fs->items, cap * sizeof(*n));

		if (!n)
			return NULL;
		fs->items = n;
		fs->cap = cap;
	}
	f = &fs->items[fs->n];
	memset(f, 0, sizeof(*f));
	f->rule = rule;
	f->severity = sev;
	f->file = file;
	f->line = line;
	f->col = col;
	f->message = phg_arena_strdup(fs->arena, message ? message : "");
	f->help = help ? help : "";
	if (!f->message)
		return NULL;
	fs->n++;
	return f;
}

void phg_findings_release(struct phg_findings *fs)
{
	free(fs->items);
	fs->items = NULL;
	fs->n = fs->cap = 0;
}

/* A word-at-a-time string hash (keys are qualified names, 10-40 bytes). */
static uint32_t hash_str(const char *s)
{
	size_t n = strlen(s);
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ w) * 0x94d049bb133111ebULL;
	h ^= h >> 29;
	return (uint32_t)h;
}

void phg_map_init(struct phg_map *m, struct phg_arena *arena)
{
	memset(m, 0, sizeof(*m));
	m->arena = arena;
}

/* Where key (hash h) is, or the free slot where it would go. */
static size_t map_slot(const struct phg_map *m, const char *key, uint32_t h)
{
	size_t i = h & (m->cap - 1);

	/* Equal hashes almost always mean equal keys, compared whole:
	   strcmp's wide compare beats a byte loop there. */
	while (m->keys[i] && (m->hashes[i] != h || strcmp(m->keys[i], key)))
		i = (i + 1) & (m->cap - 1);
	return i;
}

void *phg_map_get(const struct phg_map *m, const char *key)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	i = map_slot(m, key, hash_str(key));
	return m->keys[i] ? m->vals[i] : NULL;
}

/* Puts key (hash h) and val in a slot known to be free of key. */
static void map_place(struct phg_map *m, const char *key, uint32_t h, void *val)
{
	size_t i = map_slot(m, key, h);

	m->keys[i] = key;
	m->vals[i] = val;
	m->hashes[i] = h;
}

static int map_grow(struct phg_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct phg_map bigger = {.arena = m->arena, .cap = cap, .n = m->n};

	bigger.keys = calloc(cap, sizeof(*bigger.keys));
	bigger.vals = calloc(cap, sizeof(*bigger.vals));
	bigger.hashes = calloc(cap, sizeof(*bigger.hashes));
	if (!bigger.keys || !bigger.vals || !bigger.hashes) {
		free(bigger.keys);
		free(bigger.vals);
		free(bigger.hashes);
		return PHG_ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			map_place(&bigger, m->keys[i], m->hashes[i],
				  m->vals[i]);
	free(m->keys);
	free(m->vals);
	free(m->hashes);
	*m = bigger;
	return 0;
}

int phg_map_put(struct phg_map *m, const char *key, void *val)
{
	uint32_t h = hash_str(key);
	size_t i;

	if ((m->n + 1) * 4 >= m->cap * 3 && map_grow(m) < 0)
		return PHG_ENOMEM;
	i = map_slot(m, key, h);
	if (!m->keys[i]) {
		m->keys[i] = phg_arena_strdup(m->arena, key);
		if (!m->keys[i])
			return PHG_ENOMEM;
		m->hashes[i] = h;
		m->n++;
	}
	m->vals[i] = val;
	return 0;
}

int phg_map_del(struct phg_map *m, const char *key)
{
	size_t i, j;

	if (m->cap == 0)
		return 0;
	i = map_slot(m, key, hash_str(key));
	if (!m->keys[i])
		return 0;
	m->keys[i] = NULL;
	m->vals[i] = NULL;
	m->n--;
	/* Re-insert the rest of the cluster so lookups still find them. */
	for (j = (i + 1) & (m->cap - 1); m->keys[j];
	     j = (j + 1) & (m->cap - 1)) {
		const char *k = m->keys[j];
		void *v = m->vals[j];

		m->keys[j] = NULL;
		m->vals[j] = NULL;
		map_place(m, k, m->hashes[j], v);
	}
	return 0;
}

void phg_map_release(struct phg_map *m)
{
	free(m->keys);
	free(m->vals);
	free(m->hashes);
	memset(m, 0, sizeof(*m));
}
