/*
 * duration.c: parses the durations the config takes ("5s", "500ms",
 * "1h30m") into milliseconds. The grammar is deliberately small — whole
 * numbers, four units, largest unit first — so that a value reads one way
 * only: "1.5s", "5 s", "5S" and "30m1h" are refused rather than guessed at.
 */
#include "config.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

/* The units from largest to smallest; a duration lists them in this order. */
static const struct unit {
	const char *name;
	long long ms;
} units[] = {
	{"h", 60LL * 60 * 1000},
	{"m", 60LL * 1000},
	{"s", 1000},
	{"ms", 1},
};

#define NUNITS (sizeof(units) / sizeof(units[0]))

/*
 * The index in units of the unit at *p, advancing *p past it, or NUNITS
 * when there is none. "ms" is tried before "m": "5ms" is milliseconds.
 */
static size_t read_unit(const char **p)
{
	assert(units[NUNITS - 1].ms == 1);
	if ((*p)[0] == 'm' && (*p)[1] == 's') {
		*p += 2;
		return NUNITS - 1;
	}
	for (size_t i = 0; i < NUNITS; i++) {
		if (**p == units[i].name[0] && units[i].name[1] == '\0') {
			(*p)++;
			return i;
		}
	}
	return NUNITS;
}

/*
 * See config.h. Each part is checked against LLONG_MAX before it is
 * multiplied or added, so no intermediate value overflows.
 */
int phg_duration_parse(const char *s, long long *ms)
{
	const char *p = s;
	long long total = 0;
	size_t next_unit = 0; /* units before this index are used up */

	if (!s || !*s)
		return PHG_ECONFIG;
	/* "0" (or "00") needs no unit: zero is zero in any of them. */
	if (strspn(s, "0") == strlen(s)) {
		*ms = 0;
		return 0;
	}
	while (*p) {
		long long n = 0, part;
		const char *digits = p;
		size_t u;

		for (; *p >= '0' && *p <= '9'; p++) {
			if (n > (LLONG_MAX - (*p - '0')) / 10)
				return PHG_ECONFIG;
			n = n * 10 + (*p - '0');
		}
		if (p == digits)
			return PHG_ECONFIG;
		u = read_unit(&p);
		if (u == NUNITS || u < next_unit)
			return PHG_ECONFIG;
		next_unit = u + 1;
		if (n > LLONG_MAX / units[u].ms)
			return PHG_ECONFIG;
		part = n * units[u].ms;
		if (part > LLONG_MAX - total)
			return PHG_ECONFIG;
		total += part;
	}
	*ms = total;
	return 0;
}
