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

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void phg_map_init(struct phg_map *m, struct phg_arena *arena)
{
	memset(m, 0, sizeof(*m));
	m->arena = arena;
}

static size_t map_slot(const struct phg_map *m, const char *key)
{
	size_t i = (size_t)hash_str(key) & (m->cap - 1);

	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

void *phg_map_get(const struct phg_map *m, const char *key)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	i = map_slot(m, key);
	return m->keys[i] ? m->vals[i] : NULL;
}

static int map_grow(struct phg_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct phg_map bigger = {.arena = m->arena, .cap = cap};

	bigger.keys = calloc(cap, sizeof(*bigger.keys));
	bigger.vals = calloc(cap, sizeof(*bigger.vals));
	if (!bigger.keys || !bigger.vals) {
		free(bigger.keys);
		free(bigger.vals);
		return PHG_ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i]) {
			size_t j = map_slot(&bigger, m->keys[i]);

			bigger.keys[j] = m->keys[i];
			bigger.vals[j] = m->vals[i];
			bigger.n++;
		}
	}
	free(m->keys);
	free(m->vals);
	*m = bigger;
	return 0;
}

int phg_map_put(struct phg_map *m, const char *key, void *val)
{
	size_t i;

	if ((m->n + 1) * 4 >= m->cap * 3 && map_grow(m) < 0)
		return PHG_ENOMEM;
	i = map_slot(m, key);
	if (!m->keys[i]) {
		m->keys[i] = phg_arena_strdup(m->arena, key);
		if (!m->keys[i])
			return PHG_ENOMEM;
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
	i = map_slot(m, key);
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
		size_t s;

		m->keys[j] = NULL;
		m->vals[j] = NULL;
		s = map_slot(m, k);
		m->keys[s] = k;
		m->vals[s] = v;
	}
	return 0;
}

void phg_map_release(struct phg_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
