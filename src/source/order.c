/*
 * order.c: the order migrations apply in, and finding one by a reference.
 *
 * Versions are never converted to integers (kratos writes 20 digits): a
 * digit string is compared by its length once leading zeros are gone, then
 * byte by byte. Each layout keeps its tool's own order, so the comparison
 * first puts layouts in families — numeric versions (numbered,
 * golang-migrate, dbmate, Flyway), Prisma (folder names as strings) and
 * Diesel (versions as strings) — which keeps it a total order even in a
 * folder that mixes them.
 */
#include "source.h"

#include <string.h>

enum family { FAM_NUMERIC, FAM_PRISMA, FAM_DIESEL };

static enum family family_of(enum phg_layout layout)
{
	switch (layout) {
	case PHG_LAYOUT_NUMBERED:
	case PHG_LAYOUT_GOLANG_MIGRATE:
	case PHG_LAYOUT_DBMATE:
	case PHG_LAYOUT_FLYWAY:
		return FAM_NUMERIC;
	case PHG_LAYOUT_PRISMA:
		return FAM_PRISMA;
	case PHG_LAYOUT_DIESEL:
		return FAM_DIESEL;
	}
	return FAM_NUMERIC;
}

/* Compares the digit strings a[0..an) and b[0..bn) as numbers. */
static int digits_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c;

	while (an && *a == '0') {
		a++;
		an--;
	}
	while (bn && *b == '0') {
		b++;
		bn--;
	}
	if (an != bn)
		return an < bn ? -1 : 1;
	c = memcmp(a, b, an);
	return c < 0 ? -1 : c > 0;
}

int phg_version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		size_t an = strcspn(a, "._"), bn = strcspn(b, "._");
		int c = digits_cmp(a, an, b, bn);

		if (c)
			return c;
		a += an;
		if (*a)
			a++;
		b += bn;
		if (*b)
			b++;
	}
	return 0;
}

int phg_migration_cmp(const struct phg_migration *a,
		      const struct phg_migration *b)
{
	enum family fa = family_of(a->layout), fb = family_of(b->layout);
	int c = 0;

	if (a->repeatable != b->repeatable)
		return a->repeatable ? 1 : -1;
	if (!a->repeatable) {
		if (fa != fb)
			return fa < fb ? -1 : 1;
		if (fa == FAM_NUMERIC)
			c = phg_version_cmp(a->version, b->version);
		else if (fa == FAM_DIESEL)
			c = strcmp(a->version, b->version);
		/* Prisma applies folders in the byte order of their names. */
		if (c)
			return c < 0 ? -1 : 1;
	}
	c = strcmp(a->name, b->name);
	if (!c)
		c = strcmp(a->path, b->path);
	return c < 0 ? -1 : c > 0;
}

/* True when ref is digits, optionally in parts split by '.' or '_'. */
static bool numeric_ref(const char *ref)
{
	bool digit = false;

	for (const char *p = ref; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digit = true;
		else if ((*p != '.' && *p != '_') || !digit || p[1] == '\0')
			return false;
		else
			digit = false;
	}
	return digit;
}

/* True when ref with its dashes removed equals the Diesel version v. */
static bool diesel_ref_eq(const char *v, const char *ref)
{
	for (; *ref; ref++) {
		if (*ref == '-')
			continue;
		if (*ref != *v)
			return false;
		v++;
	}
	return *v == '\0';
}

long phg_source_find(const struct phg_migration_set *set, const char *ref)
{
	size_t rlen;
	bool numeric;
	long found = -1;

	if (!ref || !*ref)
		return -1;
	rlen = strlen(ref);
	for (size_t i = 0; i < set->n; i++) {
		const char *name = set->items[i].name;

		if (!strcmp(name, ref))
			return (long)i;
	}
	/* A Prisma folder may itself be called "<name>.sql". */
	for (size_t i = 0; i < set->n; i++) {
		const char *name = set->items[i].name;

		if (strlen(name) == rlen + 4 && phg_has_suffix(name, ".sql") &&
		    !strncmp(name, ref, rlen))
			return (long)i;
	}
	/*
	 * By version: several Prisma folders may share one, and the last of
	 * them is the one a release "through" that version ends with.
	 */
	numeric = numeric_ref(ref);
	for (size_t i = 0; i < set->n; i++) {
		const struct phg_migration *m = &set->items[i];

		if (m->repeatable)
			continue;
		if (family_of(m->layout) == FAM_DIESEL) {
			if (diesel_ref_eq(m->version, ref))
				found = (long)i;
		} else if (numeric && !phg_version_cmp(m->version, ref)) {
			found = (long)i;
		}
	}
	return found;
}
