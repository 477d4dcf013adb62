/*
 * cmd_explain.c: `phasegate explain <id>` — prints a rule's page (what it
 * catches, why it matters, the safe sequence), as docs/rules/<id>.md holds
 * it: the pages are embedded in the binary, so the text matches the build
 * and needs no docs folder at run time. An unknown id is a usage error that
 * names the ids it is close to.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

/* How many close matches an unknown id lists at most. */
#define MAX_SUGGESTIONS 5
/* Ids longer than this are not compared by edit distance. */
#define MAX_ID 128

static void explain_usage(FILE *out)
{
	fprintf(out,
		"usage: phasegate explain <rule-id>\n"
		"\n"
		"Prints the rule's page: what it catches, why it is unsafe "
		"while the\n"
		"previous release serves traffic, and the safe sequence to "
		"write instead.\n"
		"'phasegate rules' lists the ids.\n"
		"\n"
		"options:\n"
		"  -h, --help  show this help\n"
		"\n"
		"exit codes: 0 printed, 2 no such rule\n");
}

/* Levenshtein distance of a and b (both at most MAX_ID bytes). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t prev[MAX_ID + 1], cur[MAX_ID + 1];

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? sub : del;
			cur[j] = ins < cur[j] ? ins : cur[j];
		}
		memcpy(prev, cur, (lb + 1) * sizeof(*prev));
	}
	return prev[lb];
}

/* The largest edit distance that still counts as close to name. */
static size_t close_limit(const char *name)
{
	size_t len = strlen(name);

	return len / 3 > 2 ? len / 3 : 2;
}

/*
 * How close rule id is to the unknown name: 0 when one holds the other
 * ("not-null" and "setting-not-null"), else the edit distance; anything over
 * close_limit(name) is not close.
 */
static size_t closeness(const char *name, const char *id)
{
	if (strlen(name) >= 3 && (strstr(id, name) || strstr(name, id)))
		return 0;
	if (strlen(name) > MAX_ID || strlen(id) > MAX_ID)
		return close_limit(name) + 1;
	return distance(name, id);
}

/* Says the rule is unknown, naming the closest ids, closest first. */
static void unknown_rule(const char *name)
{
	size_t n = 0;

	fprintf(stderr, "phasegate: unknown rule '%s'", name);
	for (size_t s = 0; s <= close_limit(name); s++) {
		for (const struct phg_rule_doc *d = phg_rule_docs;
		     d->id && n < MAX_SUGGESTIONS; d++) {
			if (closeness(name, d->id) == s)
				fprintf(stderr, "%s%s",
					n++ ? ", " : " (did you mean ", d->id);
		}
	}
	fprintf(stderr, "%s\n",
		n ? "?)" : " (see 'phasegate rules' for the list)");
}

int cmd_explain(int argc, char **argv, struct phg_cmd_env *env)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	(void)env;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			explain_usage(stdout);
			return PHG_EXIT_OK;
		default:
			explain_usage(stderr);
			return PHG_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		explain_usage(stderr);
		return PHG_EXIT_USAGE;
	}
	for (const struct phg_rule_doc *d = phg_rule_docs; d->id; d++) {
		if (strcmp(d->id, argv[optind]) == 0)
			return fwrite(d->text, 1, d->len, stdout) == d->len
				       ? PHG_EXIT_OK
				       : PHG_EXIT_RUNTIME;
	}
	unknown_rule(argv[optind]);
	return PHG_EXIT_USAGE;
}
