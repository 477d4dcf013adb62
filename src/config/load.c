/*
 * load.c: reads phasegate.yaml with libyaml's document API and checks it
 * strictly: every key known, every value of the right type and range, no
 * duplicate keys, one document. Each error carries the file and the 1-based
 * line and column of the key or value at fault, so a typo never silently
 * turns into a default. Values are taken as written: ${NAME} references are
 * expanded later, only by the commands that need them (their syntax is
 * checked here, so a typo in one is found by every command).
 */
#include "internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* The newest PostgreSQL whose grammar phasegate parses, and the oldest. */
#define PG_MIN 10
#define PG_MAX 15

/* At most this many bytes of a wrong value or key go into a message. */

/* "retries:" takes 0 to this many: more only hides a stuck lock. */
#define RETRIES_MAX 100

/* PostgreSQL keeps lock_timeout and statement_timeout in an int of ms. */
#define PG_TIMEOUT_MAX_MS ((long long)INT_MAX)

/* The longest identifier PostgreSQL keeps whole (NAMEDATALEN - 1). */
#define PG_IDENT_MAX 63

/* What every check needs: the file, its document and where errors go. */
struct loader {
	const char *path;
	const char *text; /* the file's bytes, for hints on syntax errors */
	size_t len;
	yaml_document_t *doc;
	struct phg_err *err;
	const yaml_node_t *key;	       /* the top-level key being loaded */
	const yaml_node_t *migrations; /* the "migrations" value, if given */
};

static void note_error_at(struct loader *ld, yaml_mark_t mark, const char *fmt,
			  ...) __attribute__((format(printf, 3, 4)));

/* Records a PHG_ECONFIG error at mark (0-based in libyaml, 1-based here). */
static void note_error_at(struct loader *ld, yaml_mark_t mark, const char *fmt,
			  ...)
{
	char msg[sizeof(((struct phg_err *)0)->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	phg_err_set_at(ld->err, PHG_ECONFIG, ld->path, (int)mark.line + 1,
		       (int)mark.column + 1, "%s", msg);
}

/*
 * "return FAIL_AT(...)" records the error and returns PHG_ECONFIG. A macro,
 * so that the constant is visible where it is returned: static analyzers do
 * not follow variadic functions and would otherwise assume success.
 */
#define FAIL_AT(ld, mark, ...)                                                 \
	(note_error_at((ld), (mark), __VA_ARGS__), PHG_ECONFIG)

static int no_memory(struct loader *ld)
{
	phg_err_set(ld->err, PHG_ENOMEM, "cannot load '%s': out of memory",
		    ld->path);
	return PHG_ENOMEM;
}

/* The loader only hands out indexes of nodes it made: never NULL. */
static const yaml_node_t *node_at(struct loader *ld, int index)
{
	return yaml_document_get_node(ld->doc, index);
}

bool phg_cfg_is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = phg_cfg_text(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

const char *phg_cfg_describe(const yaml_node_t *n, char *buf, size_t size)
{
	size_t len, cut;

	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		len = n->data.scalar.length;
		if (len == 0)
			return "an empty value";
		/* Cut on a character boundary, never inside one. */
		cut = len > PHG_CFG_QUOTE_MAX ? PHG_CFG_QUOTE_MAX : len;
		while (cut < len && (n->data.scalar.value[cut] & 0xc0) == 0x80)
			cut--;
		snprintf(buf, size, "'%.*s%s'", (int)cut, phg_cfg_text(n),
			 cut < len ? "..." : "");
		return buf;
	case YAML_NO_NODE:
		break;
	}
	return "nothing";
}

/*
 * Checks that n is a scalar with some text and no NUL byte (which would cut
 * a C string short) and sets *text to it (borrowed from the document). what
 * completes "'migrations' must be ...", e.g. "a folder path".
 */
static int text_value(struct loader *ld, const char *key, const char *what,
		      const yaml_node_t *n, const char **text)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0)
		return FAIL_AT(ld, n->start_mark, "'%s' must be %s, not %s",
			       key, what,
			       phg_cfg_describe(n, buf, sizeof(buf)));
	if (memchr(n->data.scalar.value, '\0', n->data.scalar.length))
		return FAIL_AT(ld, n->start_mark,
			       "'%s' must be %s without a NUL character", key,
			       what);
	*text = phg_cfg_text(n);
	return 0;
}

/*
 * Checks the key of pair p of map: a scalar that no earlier pair of map
 * repeats. Sets *key to it.
 */
static int check_key(struct loader *ld, const yaml_node_t *map,
		     const yaml_node_pair_t *p, const yaml_node_t **key)
{
	const yaml_node_t *k = node_at(ld, p->key);
	char buf[PHG_CFG_QUOTE_MAX + 8];

	if (k->type != YAML_SCALAR_NODE)
		return FAIL_AT(ld, k->start_mark,
			       "a key must be a name, not %s",
			       phg_cfg_describe(k, buf, sizeof(buf)));
	for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p;
	     q++) {
		const yaml_node_t *prev = node_at(ld, q->key);

		if (prev->data.scalar.length == k->data.scalar.length &&
		    !memcmp(prev->data.scalar.value, k->data.scalar.value,
			    k->data.scalar.length))
			return FAIL_AT(ld, k->start_mark,
				       "duplicate key %s (first at line %d)",
				       phg_cfg_describe(k, buf, sizeof(buf)),
				       (int)prev->start_mark.line + 1);
	}
	*key = k;
	return 0;
}

/* The value of key in map, or NULL; the map's keys are checked already. */
static const yaml_node_t *map_get(struct loader *ld, const yaml_node_t *map,
				  const char *key)
{
	for (const yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		if (!strcmp(phg_cfg_text(node_at(ld, p->key)), key))
			return node_at(ld, p->value);
	}
	return NULL;
}

static int load_migrations(struct loader *ld, const yaml_node_t *v,
			   struct phg_config *cfg)
{
	const char *text;
	int rc = text_value(ld, "migrations", "a folder path", v, &text);

	(void)cfg;
	if (rc == 0)
		ld->migrations = v;
	return rc;
}

static int load_postgres_version(struct loader *ld, const yaml_node_t *v,
				 struct phg_config *cfg)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	int version = 0;
	size_t i;

	if (v->type != YAML_SCALAR_NODE || v->data.scalar.length == 0)
		goto wrong;
	for (i = 0; i < v->data.scalar.length; i++) {
		unsigned char c = v->data.scalar.value[i];

		if (c < '0' || c > '9')
			goto wrong;
		/* Saturate: any long number is simply too new. */
		if (version < 1000)
			version = version * 10 + (c - '0');
	}
	if (version > PG_MAX)
		return FAIL_AT(ld, v->start_mark,
			       "'postgres_version' must be at most %d, not %s: "
			       "phasegate parses with PostgreSQL %d's grammar",
			       PG_MAX, phg_cfg_describe(v, buf, sizeof(buf)),
			       PG_MAX);
	if (version < PG_MIN)
		goto wrong;
	cfg->postgres_version = version;
	return 0;
wrong:
	return FAIL_AT(ld, v->start_mark,
		       "'postgres_version' must be an integer between %d and "
		       "%d, not %s",
		       PG_MIN, PG_MAX, phg_cfg_describe(v, buf, sizeof(buf)));
}

/*
 * Sets *choice to the index of v's text in words (NULL-terminated), or fails
 * naming subject (already quoted) and every word.
 */
static int one_of(struct loader *ld, const char *subject, const yaml_node_t *v,
		  const char *const *words, int *choice)
{
	char buf[PHG_CFG_QUOTE_MAX + 8], list[256] = "";
	size_t used = 0;
	int i;

	for (i = 0; v->type == YAML_SCALAR_NODE && words[i]; i++) {
		if (strlen(words[i]) == v->data.scalar.length &&
		    !strcmp(phg_cfg_text(v), words[i])) {
			*choice = i;
			return 0;
		}
	}
	for (i = 0; words[i]; i++) {
		const char *sep = !i ? "" : words[i + 1] ? ", " : " or ";
		int n = snprintf(list + used, sizeof(list) - used, "%s'%s'",
				 sep, words[i]);

		if (n < 0 || (size_t)n >= sizeof(list) - used)
			break;
		used += (size_t)n;
	}
	return FAIL_AT(ld, v->start_mark, "%s must be %s, not %s", subject,
		       list, phg_cfg_describe(v, buf, sizeof(buf)));
}

static int load_contract(struct loader *ld, const yaml_node_t *v,
			 struct phg_config *cfg)
{
	static const char *const words[] = {"before-deploy", "after-cutover",
					    NULL};
	int choice, rc = one_of(ld, "'contract'", v, words, &choice);

	if (rc == 0)
		cfg->contract = choice ? PHG_CONTRACT_AFTER_CUTOVER
				       : PHG_CONTRACT_BEFORE_DEPLOY;
	return rc;
}

static int load_runner(struct loader *ld, const yaml_node_t *v,
		       struct phg_config *cfg)
{
	static const char *const words[] = {"phasegate", "external", NULL};
	int choice, rc = one_of(ld, "'runner'", v, words, &choice);

	if (rc == 0)
		cfg->runner =
			choice ? PHG_RUNNER_EXTERNAL : PHG_RUNNER_PHASEGATE;
	return rc;
}

/* Fills rel from one "releases:" entry, a mapping of name and through. */
static int load_release(struct loader *ld, const yaml_node_t *entry,
			struct phg_release_def *rel)
{
	const yaml_node_t *key, *name = NULL, *through = NULL;
	char buf[PHG_CFG_QUOTE_MAX + 8];
	const char *text;
	int rc;

	if (entry->type != YAML_MAPPING_NODE)
		return FAIL_AT(ld, entry->start_mark,
			       "each release must be a mapping with 'name' and "
			       "'through', not %s",
			       phg_cfg_describe(entry, buf, sizeof(buf)));
	for (const yaml_node_pair_t *p = entry->data.mapping.pairs.start;
	     p < entry->data.mapping.pairs.top; p++) {
		const yaml_node_t *v = node_at(ld, p->value);

		rc = check_key(ld, entry, p, &key);
		if (rc < 0)
			return rc;
		if (!strcmp(phg_cfg_text(key), "name"))
			name = v;
		else if (!strcmp(phg_cfg_text(key), "through"))
			through = v;
		else
			return FAIL_AT(ld, key->start_mark,
				       "unknown key %s in a release: it takes "
				       "'name' and 'through'",
				       phg_cfg_describe(key, buf, sizeof(buf)));
	}
	if (!name)
		return FAIL_AT(ld, entry->start_mark,
			       "a release has no 'name'");
	rc = text_value(ld, "name", "a release name", name, &text);
	if (rc < 0)
		return rc;
	rel->name = phg_strdup(text);
	if (!rel->name)
		return no_memory(ld);
	if (!through)
		return FAIL_AT(
			ld, entry->start_mark,
			"release '%.*s' has no 'through' (the version or "
			"name of its last migration)",
			PHG_CFG_QUOTE_MAX, rel->name);
	/* "through: 2" is a YAML integer: its text as written is the version.
	 */
	rc = text_value(ld, "through", "a migration version or name", through,
			&text);
	if (rc < 0)
		return rc;
	rel->through = phg_strdup(text);
	if (!rel->through)
		return no_memory(ld);
	rel->line = (int)through->start_mark.line + 1;
	rel->col = (int)through->start_mark.column + 1;
	return 0;
}

static int load_releases(struct loader *ld, const yaml_node_t *v,
			 struct phg_config *cfg)
{
	const yaml_node_item_t *items;
	char buf[PHG_CFG_QUOTE_MAX + 8];
	size_t n, i, j;
	int rc;

	if (phg_cfg_is_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return FAIL_AT(ld, v->start_mark,
			       "'releases' must be a list of releases, each "
			       "with 'name' and 'through', not %s",
			       phg_cfg_describe(v, buf, sizeof(buf)));
	items = v->data.sequence.items.start;
	n = (size_t)(v->data.sequence.items.top - items);
	if (n == 0)
		return 0;
	cfg->releases = phg_xcalloc(n, sizeof(*cfg->releases));
	if (!cfg->releases)
		return no_memory(ld);
	for (i = 0; i < n; i++) {
		const yaml_node_t *entry = node_at(ld, items[i]);
		struct phg_release_def *rel = &cfg->releases[i];

		/* Counted first so that a half-filled entry is freed too. */
		cfg->nreleases = i + 1;
		rc = load_release(ld, entry, rel);
		if (rc < 0)
			return rc;
		for (j = 0; j < i; j++) {
			const yaml_node_t *first;

			if (strcmp(cfg->releases[j].name, rel->name) != 0)
				continue;
			first = map_get(ld, node_at(ld, items[j]), "name");
			return FAIL_AT(
				ld, map_get(ld, entry, "name")->start_mark,
				"duplicate release '%.*s' (first at line "
				"%d)",
				PHG_CFG_QUOTE_MAX, rel->name,
				(int)first->start_mark.line + 1);
		}
	}
	return 0;
}

static int load_rules(struct loader *ld, const yaml_node_t *v,
		      struct phg_config *cfg)
{
	static const char *const words[] = {"error", "warning", "off", NULL};
	static const enum phg_severity sevs[] = {PHG_SEV_ERROR, PHG_SEV_WARNING,
						 PHG_SEV_OFF};
	const yaml_node_pair_t *pairs;
	char buf[PHG_CFG_QUOTE_MAX + 8];
	size_t n, i;
	int rc;

	if (phg_cfg_is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return FAIL_AT(ld, v->start_mark,
			       "'rules' must be a mapping of rule ids to "
			       "'error', 'warning' or 'off', not %s",
			       phg_cfg_describe(v, buf, sizeof(buf)));
	pairs = v->data.mapping.pairs.start;
	n = (size_t)(v->data.mapping.pairs.top - pairs);
	if (n == 0)
		return 0;
	cfg->rules = phg_xcalloc(n, sizeof(*cfg->rules));
	if (!cfg->rules)
		return no_memory(ld);
	for (i = 0; i < n; i++) {
		struct phg_rule_setting *rule = &cfg->rules[i];
		const yaml_node_t *key, *val = node_at(ld, pairs[i].value);
		char subject[PHG_CFG_QUOTE_MAX + 16];
		int choice;

		rc = check_key(ld, v, &pairs[i], &key);
		if (rc < 0)
			return rc;
		/* Ids are checked by the lint engine, which knows them all. */
		if (key->data.scalar.length == 0 ||
		    memchr(key->data.scalar.value, '\0',
			   key->data.scalar.length))
			return FAIL_AT(ld, key->start_mark,
				       "a rule id must be a name, not %s",
				       phg_cfg_describe(key, buf, sizeof(buf)));
		snprintf(subject, sizeof(subject), "rule %s",
			 phg_cfg_describe(key, buf, sizeof(buf)));
		rc = one_of(ld, subject, val, words, &choice);
		if (rc < 0)
			return rc;
		cfg->nrules = i + 1;
		rule->id = phg_strdup(phg_cfg_text(key));
		if (!rule->id)
			return no_memory(ld);
		rule->severity = sevs[choice];
		rule->line = (int)key->start_mark.line + 1;
		rule->col = (int)key->start_mark.column + 1;
	}
	return 0;
}

/*
 * Loads "exclude:", a list of globs (fnmatch patterns) matched against each
 * migration's path relative to the migrations folder. An empty list or
 * null means none.
 */
static int load_exclude(struct loader *ld, const yaml_node_t *v,
			struct phg_config *cfg)
{
	const yaml_node_item_t *items;
	char buf[PHG_CFG_QUOTE_MAX + 8];
	const char *text;
	size_t n;
	int rc;

	if (phg_cfg_is_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return FAIL_AT(ld, v->start_mark,
			       "'exclude' must be a list of globs such as "
			       "'2019*_legacy/*', not %s",
			       phg_cfg_describe(v, buf, sizeof(buf)));
	items = v->data.sequence.items.start;
	n = (size_t)(v->data.sequence.items.top - items);
	if (n == 0)
		return 0;
	cfg->exclude = phg_xcalloc(n, sizeof(*cfg->exclude));
	if (!cfg->exclude)
		return no_memory(ld);
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *glob = node_at(ld, items[i]);

		rc = text_value(ld, "exclude",
				"a list of globs, each a migration path "
				"relative to the migrations folder",
				glob, &text);
		if (rc < 0)
			return rc;
		if (text[0] == '/')
			return FAIL_AT(
				ld, glob->start_mark,
				"'exclude' globs are relative to the "
				"migrations folder, not %s",
				phg_cfg_describe(glob, buf, sizeof(buf)));
		cfg->exclude[i] = phg_strdup(text);
		if (!cfg->exclude[i])
			return no_memory(ld);
		cfg->nexclude = i + 1;
	}
	return 0;
}

/*
 * Sets *ms to the duration v holds (see phg_duration_parse), or fails
 * naming key. A bare number other than 0 gets a hint: it lacks a unit.
 */
static int duration_value(struct loader *ld, const char *key,
			  const yaml_node_t *v, long long *ms)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	const char *text;
	bool bare;

	if (v->type == YAML_SCALAR_NODE &&
	    !memchr(v->data.scalar.value, '\0', v->data.scalar.length) &&
	    phg_duration_parse(phg_cfg_text(v), ms) == 0)
		return 0;
	text = v->type == YAML_SCALAR_NODE ? phg_cfg_text(v) : "";
	bare = *text && strspn(text, "0123456789") == v->data.scalar.length;
	return FAIL_AT(ld, v->start_mark,
		       "'%s' must be a duration such as 5s, 500ms or 1h, not "
		       "%s%s",
		       key, phg_cfg_describe(v, buf, sizeof(buf)),
		       bare ? ": add a unit" : "");
}

/* Sets *out to the whole number v holds, from min to max, or fails. */
static int int_value(struct loader *ld, const char *key, const yaml_node_t *v,
		     int min, int max, int *out)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	long long n = 0;
	size_t i;

	if (v->type != YAML_SCALAR_NODE || v->data.scalar.length == 0)
		goto wrong;
	for (i = 0; i < v->data.scalar.length; i++) {
		unsigned char c = v->data.scalar.value[i];

		if (c < '0' || c > '9')
			goto wrong;
		/* Saturate: any long number is out of range anyway. */
		if (n <= max)
			n = n * 10 + (c - '0');
	}
	if (n < min || n > max)
		goto wrong;
	*out = (int)n;
	return 0;
wrong:
	return FAIL_AT(ld, v->start_mark,
		       "'%s' must be an integer between %d and %d, not %s", key,
		       min, max, phg_cfg_describe(v, buf, sizeof(buf)));
}

/* Sets *out from a YAML boolean (true or false, as the core schema). */
static int bool_value(struct loader *ld, const char *key, const yaml_node_t *v,
		      bool *out)
{
	static const char *const words[] = {"true",  "True",  "TRUE",
					    "false", "False", "FALSE"};
	char buf[PHG_CFG_QUOTE_MAX + 8];

	for (size_t i = 0;
	     v->type == YAML_SCALAR_NODE && i < sizeof(words) / sizeof(*words);
	     i++) {
		if (strlen(words[i]) == v->data.scalar.length &&
		    !strcmp(phg_cfg_text(v), words[i])) {
			*out = i < 3;
			return 0;
		}
	}
	return FAIL_AT(ld, v->start_mark, "'%s' must be true or false, not %s",
		       key, phg_cfg_describe(v, buf, sizeof(buf)));
}

static int mark_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

/* Whether text is a region name: [a-z0-9._-]+ (checked non-empty). */
static bool region_name_ok(const char *text)
{
	return strspn(text, "abcdefghijklmnopqrstuvwxyz0123456789._-") ==
	       strlen(text);
}

/*
 * Fills reg from one "regions:" entry. Checks what one entry can check on
 * its own: its keys, the types of its values, a primary that is a replica;
 * load_regions checks what needs all of them.
 */
static int load_region(struct loader *ld, const yaml_node_t *entry,
		       struct phg_region *reg)
{
	const yaml_node_t *key, *name = NULL, *database = NULL, *primary = NULL,
				*replica_of = NULL, *soak = NULL, *vars = NULL;
	char buf[PHG_CFG_QUOTE_MAX + 8];
	const char *text, *problem;
	int rc;

	if (entry->type != YAML_MAPPING_NODE)
		return FAIL_AT(ld, entry->start_mark,
			       "each region must be a mapping with 'name' and "
			       "'database', not %s",
			       phg_cfg_describe(entry, buf, sizeof(buf)));
	for (const yaml_node_pair_t *p = entry->data.mapping.pairs.start;
	     p < entry->data.mapping.pairs.top; p++) {
		const yaml_node_t *v = node_at(ld, p->value);
		const char *k;

		rc = check_key(ld, entry, p, &key);
		if (rc < 0)
			return rc;
		k = phg_cfg_text(key);
		if (!strcmp(k, "name"))
			name = v;
		else if (!strcmp(k, "database"))
			database = v;
		else if (!strcmp(k, "primary"))
			primary = v;
		else if (!strcmp(k, "replica_of"))
			replica_of = v;
		else if (!strcmp(k, "soak"))
			soak = v;
		else if (!strcmp(k, "vars"))
			vars = v;
		else
			return FAIL_AT(ld, key->start_mark,
				       "unknown key %s in a region: it takes "
				       "'name', 'database', 'primary', "
				       "'replica_of', 'soak' and 'vars'",
				       phg_cfg_describe(key, buf, sizeof(buf)));
	}
	if (!name)
		return FAIL_AT(ld, entry->start_mark, "a region has no 'name'");
	rc = text_value(ld, "name", "a region name", name, &text);
	if (rc < 0)
		return rc;
	if (!region_name_ok(text))
		return FAIL_AT(ld, name->start_mark,
			       "'name' must be a region name of lower-case "
			       "letters, digits, '.', '_' and '-', not %s",
			       phg_cfg_describe(name, buf, sizeof(buf)));
	reg->name = phg_strdup(text);
	if (!reg->name)
		return no_memory(ld);
	reg->line = mark_line(name);
	reg->col = (int)name->start_mark.column + 1;

	if (!database)
		return FAIL_AT(ld, entry->start_mark,
			       "region '%.*s' has no 'database' (its "
			       "connection URL, e.g. '${DATABASE_URL}')",
			       PHG_CFG_QUOTE_MAX, reg->name);
	/* Never phg_cfg_describe() a database value that is text: it is a
	 * secret. */
	rc = text_value(ld, "database", "a connection URL", database, &text);
	if (rc < 0)
		return rc;
	problem = phg_config_ref_problem(text);
	if (problem)
		return FAIL_AT(ld, database->start_mark, "'database' has %s",
			       problem);
	reg->database = phg_strdup(text);
	if (!reg->database)
		return no_memory(ld);

	if (primary) {
		rc = bool_value(ld, "primary", primary, &reg->primary);
		if (rc < 0)
			return rc;
	}
	if (replica_of) {
		rc = text_value(ld, "replica_of", "a region name", replica_of,
				&text);
		if (rc < 0)
			return rc;
		reg->replica_of = phg_strdup(text);
		if (!reg->replica_of)
			return no_memory(ld);
		if (reg->primary)
			return FAIL_AT(ld, primary->start_mark,
				       "region '%.*s' is a replica "
				       "('replica_of'), so it cannot be the "
				       "primary",
				       PHG_CFG_QUOTE_MAX, reg->name);
	}
	if (soak) {
		rc = duration_value(ld, "soak", soak, &reg->soak_ms);
		if (rc < 0)
			return rc;
	}
	if (vars)
		return phg_cfgrel_load_vars(ld->path, ld->doc, vars, reg,
					    ld->err);
	return 0;
}

/* The index of the region named name among the first n, or n. */
static size_t region_find(const struct phg_region *regions, size_t n,
			  const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcmp(regions[i].name, name))
			break;
	}
	return i;
}

/*
 * Checks each replica_of against the other regions, written order kept:
 * it names a region, not its own, that is not a replica and that does not
 * run after it (the runner waits for a replica to show what its source got).
 * primary is the index of the primary.
 */
static int check_replicas(struct loader *ld, const yaml_node_item_t *items,
			  const struct phg_region *regions, size_t n,
			  size_t primary)
{
	for (size_t i = 0; i < n; i++) {
		const struct phg_region *r = &regions[i];
		const yaml_node_t *at;
		size_t t;

		if (!r->replica_of)
			continue;
		at = map_get(ld, node_at(ld, items[i]), "replica_of");
		t = region_find(regions, n, r->replica_of);
		if (t == n)
			return FAIL_AT(ld, at->start_mark,
				       "region '%.*s' is a replica of unknown "
				       "region '%.*s'",
				       PHG_CFG_QUOTE_MAX, r->name,
				       PHG_CFG_QUOTE_MAX, r->replica_of);
		if (t == i)
			return FAIL_AT(ld, at->start_mark,
				       "region '%.*s' cannot be a replica of "
				       "itself",
				       PHG_CFG_QUOTE_MAX, r->name);
		if (regions[t].replica_of)
			return FAIL_AT(ld, at->start_mark,
				       "region '%.*s' is a replica of '%.*s', "
				       "which is a replica itself: name the "
				       "region that gets the migrations",
				       PHG_CFG_QUOTE_MAX, r->name,
				       PHG_CFG_QUOTE_MAX, regions[t].name);
		if (t != primary && t > i)
			return FAIL_AT(ld, at->start_mark,
				       "region '%.*s' is a replica of '%.*s', "
				       "which runs after it: list the replica "
				       "after the region it replicates",
				       PHG_CFG_QUOTE_MAX, r->name,
				       PHG_CFG_QUOTE_MAX, regions[t].name);
	}
	return 0;
}

/*
 * Loads "regions:" and leaves cfg->regions in the order they run: the
 * primary first, then the others as written (each keeps its written index).
 * Names are unique; exactly one region is the primary (a lone region is,
 * unless it says "primary: false"), and it takes no soak; replicas are
 * checked by check_replicas. An empty list means no regions.
 */
static int load_regions(struct loader *ld, const yaml_node_t *v,
			struct phg_config *cfg)
{
	const yaml_node_item_t *items;
	struct phg_region *regions, first;
	char buf[PHG_CFG_QUOTE_MAX + 8];
	size_t n, i, j, primary = 0;
	bool have_primary = false;
	int rc;

	if (phg_cfg_is_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return FAIL_AT(ld, v->start_mark,
			       "'regions' must be a list of regions, each with "
			       "'name' and 'database', not %s",
			       phg_cfg_describe(v, buf, sizeof(buf)));
	items = v->data.sequence.items.start;
	n = (size_t)(v->data.sequence.items.top - items);
	if (n == 0)
		return 0;
	regions = cfg->regions = phg_xcalloc(n, sizeof(*cfg->regions));
	if (!regions)
		return no_memory(ld);
	for (i = 0; i < n; i++) {
		const yaml_node_t *entry = node_at(ld, items[i]);
		struct phg_region *reg = &regions[i];

		/* Counted first so that a half-filled entry is freed too. */
		cfg->nregions = i + 1;
		reg->index = i;
		rc = load_region(ld, entry, reg);
		if (rc < 0)
			return rc;
		j = region_find(regions, i, reg->name);
		if (j < i)
			return FAIL_AT(
				ld, map_get(ld, entry, "name")->start_mark,
				"duplicate region '%.*s' (first at line "
				"%d)",
				PHG_CFG_QUOTE_MAX, reg->name, regions[j].line);
		if (!reg->primary)
			continue;
		if (have_primary)
			return FAIL_AT(
				ld, map_get(ld, entry, "primary")->start_mark,
				"region '%.*s' is a second primary (the first "
				"is '%.*s' at line %d): exactly one region "
				"runs first",
				PHG_CFG_QUOTE_MAX, reg->name, PHG_CFG_QUOTE_MAX,
				regions[primary].name, regions[primary].line);
		have_primary = true;
		primary = i;
	}
	/* A lone region is the primary unless it says otherwise. */
	if (!have_primary && n == 1 &&
	    !map_get(ld, node_at(ld, items[0]), "primary")) {
		regions[0].primary = have_primary = true;
		primary = 0;
	}
	rc = check_replicas(ld, items, regions, n, have_primary ? primary : n);
	if (rc < 0)
		return rc;
	if (!have_primary)
		return FAIL_AT(ld, ld->key->start_mark,
			       "'regions' has no primary: mark the region that "
			       "runs first with 'primary: true'");
	if (regions[primary].soak_ms > 0)
		return FAIL_AT(
			ld,
			map_get(ld, node_at(ld, items[primary]), "soak")
				->start_mark,
			"region '%.*s' is the primary and runs first, so it "
			"takes no 'soak' (the wait after the previous region)",
			PHG_CFG_QUOTE_MAX, regions[primary].name);
	/* Primary first, the rest as written. */
	first = regions[primary];
	memmove(regions + 1, regions, primary * sizeof(*regions));
	regions[0] = first;
	return 0;
}

/*
 * Checks a schema name phasegate will create and write to: a plain
 * lower-case identifier (so quoting never changes it), not pg_*.
 */
static int schema_value(struct loader *ld, const char *key,
			const yaml_node_t *v, const char **out)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	const char *text;
	size_t len;
	int rc = text_value(ld, key, "a schema name", v, &text);

	if (rc < 0)
		return rc;
	len = strlen(text);
	if (len > PG_IDENT_MAX || (text[0] >= '0' && text[0] <= '9') ||
	    strspn(text, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
		return FAIL_AT(
			ld, v->start_mark,
			"'%s' must be a schema name (lower-case letters, "
			"digits and '_', not starting with a digit, at "
			"most %d characters), not %s",
			key, PG_IDENT_MAX,
			phg_cfg_describe(v, buf, sizeof(buf)));
	if (phg_has_prefix(text, "pg_"))
		return FAIL_AT(ld, v->start_mark,
			       "'%s' cannot be %s: PostgreSQL reserves names "
			       "starting with 'pg_' for system schemas",
			       key, phg_cfg_describe(v, buf, sizeof(buf)));
	*out = text;
	return 0;
}

/* A timeout PostgreSQL takes: at most INT_MAX milliseconds. */
static int pg_timeout_value(struct loader *ld, const char *key,
			    const yaml_node_t *v, long long *ms)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	long long value;
	int rc = duration_value(ld, key, v, &value);

	if (rc < 0)
		return rc;
	if (value > PG_TIMEOUT_MAX_MS)
		return FAIL_AT(ld, v->start_mark,
			       "'%s' must be at most %lldms (about 596h), "
			       "PostgreSQL's limit, not %s",
			       key, PG_TIMEOUT_MAX_MS,
			       phg_cfg_describe(v, buf, sizeof(buf)));
	*ms = value;
	return 0;
}

/* Loads one key of "migrate:" into m. */
static int load_migrate_key(struct loader *ld, const yaml_node_t *key,
			    const yaml_node_t *v,
			    struct phg_migrate_settings *m)
{
	const char *k = phg_cfg_text(key), *text;
	char buf[PHG_CFG_QUOTE_MAX + 8];
	char *copy;
	int rc;

	if (!strcmp(k, "history_schema")) {
		rc = schema_value(ld, k, v, &text);
		if (rc < 0)
			return rc;
		copy = phg_strdup(text);
		if (!copy)
			return no_memory(ld);
		free(m->history_schema);
		m->history_schema = copy;
		return 0;
	}
	if (!strcmp(k, "lock_timeout")) {
		rc = pg_timeout_value(ld, k, v, &m->lock_timeout_ms);
		if (rc == 0 && m->lock_timeout_ms == 0)
			return FAIL_AT(ld, v->start_mark,
				       "'lock_timeout' must be more than 0: "
				       "without it a migration waiting for a "
				       "lock blocks every query queued behind "
				       "it");
		return rc;
	}
	if (!strcmp(k, "statement_timeout"))
		return pg_timeout_value(ld, k, v, &m->statement_timeout_ms);
	if (!strcmp(k, "retries"))
		return int_value(ld, k, v, 0, RETRIES_MAX, &m->retries);
	if (!strcmp(k, "retry_backoff"))
		return duration_value(ld, k, v, &m->retry_backoff_ms);
	if (!strcmp(k, "advisory_lock_wait"))
		return duration_value(ld, k, v, &m->advisory_lock_wait_ms);
	if (!strcmp(k, "replica_wait"))
		return duration_value(ld, k, v, &m->replica_wait_ms);
	return FAIL_AT(ld, key->start_mark,
		       "unknown key %s in 'migrate': it takes "
		       "'history_schema', 'lock_timeout', "
		       "'statement_timeout', 'retries', 'retry_backoff', "
		       "'advisory_lock_wait' and 'replica_wait'",
		       phg_cfg_describe(key, buf, sizeof(buf)));
}

static int load_migrate(struct loader *ld, const yaml_node_t *v,
			struct phg_config *cfg)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	int rc;

	if (phg_cfg_is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return FAIL_AT(ld, v->start_mark,
			       "'migrate' must be a mapping of runner settings "
			       "such as 'lock_timeout: 5s', not %s",
			       phg_cfg_describe(v, buf, sizeof(buf)));
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *key;

		rc = check_key(ld, v, p, &key);
		if (rc < 0)
			return rc;
		rc = load_migrate_key(ld, key, node_at(ld, p->value),
				      &cfg->migrate);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* "environment:", "state:" and "release:" live in release.c. */
static int load_release_keys(struct loader *ld, const yaml_node_t *v,
			     struct phg_config *cfg)
{
	return phg_cfgrel_load_key(phg_cfg_text(ld->key), ld->path, ld->doc, v,
				   cfg, ld->err);
}

/* The largest size "stats:" takes: 1024TB, far past any table. */
#define SIZE_MAX_BYTES (1LL << 50)

/*
 * Sets *bytes from a size: whole bytes (a YAML integer), or digits and one
 * of PostgreSQL's units, 1024-based and case as PostgreSQL writes them:
 * B, kB, MB, GB, TB ("64MB", "512kB"). No sign, fraction or space.
 */
static int size_value(struct loader *ld, const char *key, const yaml_node_t *v,
		      long long *bytes)
{
	static const struct {
		const char *unit;
		long long factor;
	} units[] = {{"", 1},		{"B", 1},	   {"kB", 1LL << 10},
		     {"MB", 1LL << 20}, {"GB", 1LL << 30}, {"TB", 1LL << 40}};
	char buf[PHG_CFG_QUOTE_MAX + 8];
	const char *text = "";
	long long n = 0;
	size_t digits = 0;

	if (v->type == YAML_SCALAR_NODE &&
	    !memchr(v->data.scalar.value, '\0', v->data.scalar.length))
		text = phg_cfg_text(v);
	while (text[digits] >= '0' && text[digits] <= '9') {
		/* Saturate: any long number is too large anyway. */
		if (n <= SIZE_MAX_BYTES)
			n = n * 10 + (text[digits] - '0');
		digits++;
	}
	for (size_t i = 0; digits && i < sizeof(units) / sizeof(units[0]);
	     i++) {
		if (strcmp(text + digits, units[i].unit) != 0)
			continue;
		if (n > SIZE_MAX_BYTES / units[i].factor)
			return FAIL_AT(ld, v->start_mark,
				       "'%s' must be at most 1024TB, not %s",
				       key,
				       phg_cfg_describe(v, buf, sizeof(buf)));
		*bytes = n * units[i].factor;
		return 0;
	}
	return FAIL_AT(ld, v->start_mark,
		       "'%s' must be a size such as 10MB, 512kB or 1GB (or "
		       "whole bytes), not %s",
		       key, phg_cfg_describe(v, buf, sizeof(buf)));
}

/*
 * Loads "stats:", the thresholds under which `lint --stats` takes a table
 * for small: small_table_rows (a whole number) and small_table_size (a
 * size). Every key is optional.
 */
static int load_stats(struct loader *ld, const yaml_node_t *v,
		      struct phg_config *cfg)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	int rc;

	if (phg_cfg_is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return FAIL_AT(ld, v->start_mark,
			       "'stats' must be a mapping such as "
			       "'small_table_rows: 10000', not %s",
			       phg_cfg_describe(v, buf, sizeof(buf)));
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *key, *val = node_at(ld, p->value);
		const char *k;
		int rows;

		rc = check_key(ld, v, p, &key);
		if (rc < 0)
			return rc;
		k = phg_cfg_text(key);
		if (!strcmp(k, "small_table_rows")) {
			rc = int_value(ld, k, val, 0, INT_MAX, &rows);
			if (rc == 0)
				cfg->stats.small_table_rows = rows;
		} else if (!strcmp(k, "small_table_size")) {
			rc = size_value(ld, k, val,
					&cfg->stats.small_table_bytes);
		} else {
			return FAIL_AT(ld, key->start_mark,
				       "unknown key %s in 'stats': it takes "
				       "'small_table_rows' and "
				       "'small_table_size'",
				       phg_cfg_describe(key, buf, sizeof(buf)));
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The keys of the top-level mapping, and what checks each value. */
static const struct top_key {
	const char *name;
	int (*load)(struct loader *ld, const yaml_node_t *v,
		    struct phg_config *cfg);
} top_keys[] = {
	{"migrations", load_migrations},
	{"postgres_version", load_postgres_version},
	{"contract", load_contract},
	{"runner", load_runner},
	{"releases", load_releases},
	{"rules", load_rules},
	{"exclude", load_exclude},
	{"regions", load_regions},
	{"migrate", load_migrate},
	{"stats", load_stats},
	{"environment", load_release_keys},
	{"state", load_release_keys},
	{"release", load_release_keys},
};

static int load_root(struct loader *ld, const yaml_node_t *root,
		     struct phg_config *cfg)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	int rc;

	if (root->type != YAML_MAPPING_NODE) {
		yaml_mark_t first = {0, 0, 0};

		return FAIL_AT(ld, first,
			       "the config must be a mapping of keys such as "
			       "'migrations: migrations', not %s",
			       phg_cfg_describe(root, buf, sizeof(buf)));
	}
	for (const yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		const yaml_node_t *key;
		size_t i;

		rc = check_key(ld, root, p, &key);
		if (rc < 0)
			return rc;
		for (i = 0; i < sizeof(top_keys) / sizeof(top_keys[0]); i++) {
			if (!strcmp(phg_cfg_text(key), top_keys[i].name))
				break;
		}
		if (i == sizeof(top_keys) / sizeof(top_keys[0]))
			return FAIL_AT(ld, key->start_mark, "unknown key %s",
				       phg_cfg_describe(key, buf, sizeof(buf)));
		ld->key = key;
		rc = top_keys[i].load(ld, node_at(ld, p->value), cfg);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* libyaml strips a UTF-8 BOM before counting columns; so do we. */
static size_t text_start(const struct loader *ld)
{
	return ld->len >= 3 && !memcmp(ld->text, "\xef\xbb\xbf", 3) ? 3 : 0;
}

/* The mark of byte offset off: lines and columns in characters. */
static yaml_mark_t offset_mark(const struct loader *ld, size_t off)
{
	yaml_mark_t mark = {0, 0, 0};

	for (size_t i = text_start(ld); i < off && i < ld->len; i++) {
		unsigned char c = (unsigned char)ld->text[i];

		if (c == '\n') {
			mark.line++;
			mark.column = 0;
		} else if ((c & 0xc0) != 0x80) {
			mark.column++;
		}
	}
	return mark;
}

/* The byte at mark, or NUL past the end (marks count characters). */
static char char_at(const struct loader *ld, yaml_mark_t mark)
{
	size_t i = text_start(ld), line = 0, col = 0;

	while (i < ld->len && line < mark.line) {
		if (ld->text[i++] == '\n')
			line++;
	}
	for (; i < ld->len && ld->text[i] != '\n'; i++) {
		if ((ld->text[i] & 0xc0) == 0x80)
			continue;
		if (col++ == mark.column)
			return ld->text[i];
	}
	return '\0';
}

/* Carries libyaml's problem and its place into err. */
static int syntax_error(struct loader *ld, const yaml_parser_t *parser)
{
	yaml_mark_t mark = parser->problem_mark;
	const char *problem = parser->problem ? parser->problem : "bad YAML";
	char detail[128] = "";

	if (parser->error == YAML_MEMORY_ERROR)
		return no_memory(ld);
	if (parser->error == YAML_READER_ERROR) {
		/* The reader gives a byte offset, not a mark. */
		mark = offset_mark(ld, parser->problem_offset);
		if (parser->problem_value >= 0)
			snprintf(detail, sizeof(detail), " (byte 0x%02x)",
				 (unsigned)parser->problem_value & 0xffu);
	} else if (char_at(ld, mark) == '\t') {
		/* The commonest YAML mistake: say it plainly. */
		snprintf(detail, sizeof(detail), "%s; YAML indents with spaces",
			 strstr(problem, "tab") ? "" : ": a tab");
	} else if (parser->context) {
		snprintf(detail, sizeof(detail), " (%s at line %d)",
			 parser->context, (int)parser->context_mark.line + 1);
	}
	return FAIL_AT(ld, mark, "%s%s", problem, detail);
}

/* The folder of path: "." for a bare name, "/" for a file in "/". */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return phg_strdup(".");
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path)
		return phg_strdup("/");
	return phg_strndup(path, (size_t)(slash - path));
}

/* Sets cfg->migrations: relative to the config's folder, as written. */
static int resolve_migrations(struct loader *ld, struct phg_config *cfg)
{
	const char *value =
		ld->migrations ? phg_cfg_text(ld->migrations) : "migrations";
	char *m;

	if (value[0] == '/' || !strcmp(cfg->dir, "."))
		m = phg_strdup(value);
	else
		m = phg_path_join(cfg->dir, value);
	if (!m)
		return no_memory(ld);
	free(cfg->migrations);
	cfg->migrations = m;
	return 0;
}

/*
 * Reads and checks the config at path into cfg (which it overwrites). An
 * empty file, or one holding only comments, gives the defaults. A YAML syntax
 * error, a root that is not a mapping, an unknown or duplicate key, a value
 * of the wrong type or out of range, a release without 'name' or 'through',
 * two releases of one name, regions that break a rule of "regions:" (see
 * load_regions) or a second YAML document fail with PHG_ECONFIG,
 * err carrying path, line and column (1-based, columns in characters). An
 * unreadable file fails with PHG_EIO. On failure cfg is released (zeroed);
 * on success the caller releases it with phg_config_release.
 */
int phg_config_load(const char *path, struct phg_config *cfg,
		    struct phg_err *err)
{
	struct loader ld = {.path = path, .err = err};
	struct phg_buf buf = {0};
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool have_parser = false, have_doc = false;
	const yaml_node_t *root;
	int rc;

	rc = phg_config_defaults(cfg, err);
	if (rc < 0)
		return rc;
	free(cfg->dir);
	cfg->dir = dir_of(path);
	cfg->path = phg_strdup(path);
	if (!cfg->dir || !cfg->path) {
		rc = no_memory(&ld);
		goto out;
	}
	rc = phg_read_file(path, &buf, err);
	if (rc < 0)
		goto out;
	ld.text = buf.data ? buf.data : "";
	ld.len = buf.len;
	ld.doc = &doc;

	if (!yaml_parser_initialize(&parser)) {
		rc = no_memory(&ld);
		goto out;
	}
	have_parser = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)ld.text,
				     ld.len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = syntax_error(&ld, &parser);
		goto out;
	}
	have_doc = true;

	/* A second document would be ignored silently: refuse it. */
	if (!yaml_parser_load(&parser, &extra)) {
		rc = syntax_error(&ld, &parser);
		goto out;
	}
	if (yaml_document_get_root_node(&extra)) {
		rc = FAIL_AT(&ld, extra.start_mark,
			     "a config holds one YAML document, found a "
			     "second");
		yaml_document_delete(&extra);
		goto out;
	}
	yaml_document_delete(&extra);

	root = yaml_document_get_root_node(&doc);
	if (root && !phg_cfg_is_null(root)) {
		rc = load_root(&ld, root, cfg);
		if (rc < 0)
			goto out;
		rc = phg_cfgrel_check(path, cfg, err);
		if (rc < 0)
			goto out;
	}
	rc = resolve_migrations(&ld, cfg);
out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	phg_buf_release(&buf);
	if (rc < 0)
		phg_config_release(cfg);
	return rc;
}
