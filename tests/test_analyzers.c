/*
 * test_analyzers.c: the rule registry and every statement-stage rule's
 * fixtures. fixtures/analyzers/<id>/ holds bad*.sql with the findings they
 * must give (bad*.expected.json, a canonical JSON array: rule, severity,
 * line, column, message, help, suppressed) and good*.sql that must give
 * none. Optional: settings.yaml (config keys such as postgres_version, for
 * every case of the folder), <case>.settings.yaml (for one case, instead),
 * and history.sql (schema shipped in an earlier release). Each case runs
 * through the library with its rule alone: it becomes
 * migrations/0001_<case>.sql of a temporary folder (after
 * 0000_history.sql), every other rule is turned off, and the findings of
 * the case's migration are compared byte for byte. PHG_UPDATE_SNAPSHOTS=1
 * rewrites the expected files instead (review that diff like code).
 *
 * A case whose rule depends on the migration layout names it in
 * <case>.layout (one word): numbered (the default), dbmate (the case's SQL
 * holds its own "-- migrate:up" line), golang-migrate, prisma, flyway or
 * diesel; a diesel case may come with <case>.metadata.toml, written beside
 * its up.sql.
 *
 * Also checked: the registry (sorted, unique, kebab-case ids, a docs page
 * for each rule and fixtures for each statement-stage rule), that a rule
 * called only for the statement kinds it declares finds what it finds
 * called on every statement (test_kinds), ignore comments, and that every
 * example in a docs/rules page marked
 * "<!-- fixture: PATH -->" (or "<!-- fixture-hex: PATH -->", as hexdump -C
 * shows it) is that file verbatim, so the docs cannot drift.
 */
#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"
#include "lint/lint.h"

#define FIXTURES "fixtures/analyzers"
#define DOCS "docs/rules"
#define IGNORE_REASON "reviewed: the table is tiny"

/* The rules that cannot be turned off (and cannot be suppressed). */
static bool always_on(const char *id)
{
	return strcmp(id, PHG_RULE_SYNTAX_ERROR) == 0 ||
	       strcmp(id, PHG_RULE_INVALID_ENCODING) == 0;
}

/*
 * How run_case runs (test_kinds): with every rule on instead of the case's
 * alone, and with each statement rule called on every statement whatever
 * kinds it declares.
 */
static bool all_rules, every_rule;

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char *xasprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && (size_t)n < sizeof(buf), "path too long");
	return strdup(buf);
}

/* Reads a whole file (NUL bytes included) or fails the test. */
static void read_all(const char *path, struct phg_buf *out)
{
	struct phg_err err = {0};

	memset(out, 0, sizeof(*out));
	ck_assert_msg(phg_read_file(path, out, &err) == 0, "%s", err.msg);
	if (!out->data)
		ck_assert_int_eq(phg_buf_puts(out, ""), 0);
}

/* A folder's entry names, sorted; NULL-terminated, malloc'd. */
static char **list_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	ck_assert_msg(d != NULL, "cannot open '%s'", path);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 2) * sizeof(*names));
		ck_assert_ptr_nonnull(names);
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (!names)
		names = calloc(1, sizeof(*names));
	names[n] = NULL;
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0;
		     k--) {
			char *t = names[k];

			names[k] = names[k - 1];
			names[k - 1] = t;
		}
	return names;
}

static void free_list(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

/* A statement-stage rule that the parser reports, not an analyzer. */
static bool parser_rule(const struct phg_analyzer *a)
{
	return a->stage == PHG_STAGE_STATEMENT && !a->check_stmt;
}

/* What one case gave. */
struct outcome {
	char *json; /* the rule's findings, canonical */
	size_t n;   /* findings of the rule */
	size_t suppressed;
	size_t errors; /* unsuppressed errors of the whole run */
	int lines[64]; /* distinct lines of the findings, in order */
	size_t nlines;
};

static void outcome_release(struct outcome *o)
{
	free(o->json);
	memset(o, 0, sizeof(*o));
}

static int json_finding(struct phg_buf *b, const struct phg_finding *f)
{
	int rc = phg_buf_puts(b, "  {\n    \"rule\": ");

	rc = rc ? rc : phg_buf_json_str(b, f->rule);
	rc = rc ? rc
		: phg_buf_printf(b,
				 ",\n    \"severity\": \"%s\",\n    \"line\": "
				 "%d,\n    \"column\": %d,\n    \"message\": ",
				 phg_severity_name(f->severity), f->line,
				 f->col);
	rc = rc ? rc : phg_buf_json_str(b, f->message);
	rc = rc ? rc : phg_buf_puts(b, ",\n    \"help\": ");
	rc = rc ? rc : phg_buf_json_str(b, f->help);
	rc = rc ? rc
		: phg_buf_printf(b, ",\n    \"suppressed\": %s\n  }",
				 f->suppressed ? "true" : "false");
	return rc;
}

/*
 * Loads the case's settings (<case>.settings.yaml, else the folder's
 * settings.yaml, else the defaults) into cfg, and turns every rule but `id`
 * off (except the two that are always on). Returns the malloc'd rule
 * settings now in cfg, whose ids are borrowed from the registry: the caller
 * takes them out of cfg and frees the array before phg_config_release.
 */
static struct phg_rule_setting *config_for(const char *folder, const char *id,
					   const char *casename,
					   struct phg_config *cfg)
{
	char *settings = xasprintf("%s/%s.settings.yaml", folder, casename);
	struct phg_rule_setting *rules;
	struct phg_err err = {0};
	size_t n = 0;

	if (!is_file(settings)) {
		free(settings);
		settings = xasprintf("%s/settings.yaml", folder);
	}
	if (is_file(settings))
		ck_assert_msg(phg_config_load(settings, cfg, &err) == 0,
			      "%s:%d:%d: %s", settings, err.line, err.col,
			      err.msg);
	else
		ck_assert_int_eq(phg_config_defaults(cfg, &err), 0);
	ck_assert_msg(cfg->nrules == 0 && cfg->nreleases == 0,
		      "%s: only settings such as postgres_version belong here, "
		      "not rules or releases",
		      settings);
	free(settings);
	while (phg_analyzers[n])
		n++;
	rules = calloc(n + 1, sizeof(*rules));
	ck_assert_ptr_nonnull(rules);
	for (size_t i = 0; i < n; i++) {
		const char *other = phg_analyzers[i]->id;

		if (all_rules || strcmp(other, id) == 0 || always_on(other))
			continue;
		rules[cfg->nrules].id = (char *)other;
		rules[cfg->nrules].severity = PHG_SEV_OFF;
		cfg->nrules++;
	}
	cfg->rules = rules;
	return rules;
}

/*
 * Where case `casename` of a fixture folder is written, as named `name`:
 * the path of its SQL inside the temporary folder, in the layout its
 * <case>.layout names (malloc'd). *diesel says whether it is a Diesel
 * migration folder (whose metadata.toml, if any, goes beside it).
 */
static char *case_path(const char *folder, const char *casename,
		       const char *name, bool *diesel)
{
	char *hint = xasprintf("%s/%s.layout", folder, casename);
	char *text = is_file(hint) ? th_slurp(hint) : NULL;
	char layout[32] = "numbered";
	char *path;

	if (text) {
		ck_assert_msg(sscanf(text, "%31s", layout) == 1,
			      "%s: name a layout", hint);
		free(text);
	}
	if (strcmp(layout, "numbered") == 0)
		path = xasprintf("migrations/0001_%s.sql", name);
	else if (strcmp(layout, "dbmate") == 0)
		path = xasprintf("migrations/20240101000001_%s.sql", name);
	else if (strcmp(layout, "golang-migrate") == 0)
		path = xasprintf("migrations/1_%s.up.sql", name);
	else if (strcmp(layout, "flyway") == 0)
		path = xasprintf("migrations/V1__%s.sql", name);
	else if (strcmp(layout, "prisma") == 0)
		path = xasprintf("migrations/20240101000001_%s/migration.sql",
				 name);
	else if (strcmp(layout, "diesel") == 0)
		path = xasprintf("migrations/2024-01-01-000001_%s/up.sql",
				 name);
	else
		ck_abort_msg("%s: unknown layout '%s'", hint, layout);
	*diesel = strcmp(layout, "diesel") == 0;
	free(hint);
	return path;
}

/*
 * Runs rule `id` alone over `sql` as the migration named `name` of a fresh
 * folder (0001_<name>.sql, or as the case's layout names it; after the
 * fixture folder's history.sql, if any), with the settings of case
 * `casename`, and fills out. A finding of another rule, or in the history,
 * fails the test.
 */
static void run_case(const char *folder, const char *id, const char *casename,
		     const char *name, const char *sql, size_t len,
		     struct outcome *out)
{
	char *history = xasprintf("%s/history.sql", folder);
	char *metadata = xasprintf("%s/%s.metadata.toml", folder, casename);
	char *tmp = th_tmpdir();
	char *migrations = xasprintf("%s/migrations", tmp);
	bool diesel;
	char *rel = case_path(folder, casename, name, &diesel);
	char *suffix = xasprintf("%s", rel + strlen("migrations"));
	const char *paths[1] = {migrations};
	struct phg_lint_opts opts = {0};
	struct phg_lint_result res;
	struct phg_rule_setting *rules;
	struct phg_config cfg;
	struct phg_err err = {0};
	struct phg_buf b = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	if (is_file(history)) {
		struct phg_buf h;

		read_all(history, &h);
		th_write(tmp, "migrations/0000_history.sql", h.data, h.len);
		phg_buf_release(&h);
	}
	th_write(tmp, rel, sql, len);
	if (is_file(metadata)) {
		struct phg_buf toml;
		char *beside;

		ck_assert_msg(diesel, "%s: only a diesel case has one",
			      metadata);
		read_all(metadata, &toml);
		beside = xasprintf("%.*s/metadata.toml",
				   (int)(strrchr(rel, '/') - rel), rel);
		th_write(tmp, beside, toml.data, toml.len);
		free(beside);
		phg_buf_release(&toml);
	}
	rules = config_for(folder, id, casename, &cfg);
	opts.cfg = &cfg;
	opts.paths = paths;
	opts.npaths = 1;
	opts.every_rule = every_rule;
	rc = phg_lint_run(&opts, &res, &err);
	ck_assert_msg(rc == 0, "%s/%s: lint failed: %s", folder, name, err.msg);
	ck_assert_int_eq(phg_buf_puts(&b, "["), 0);
	for (size_t i = 0; i < res.findings.n; i++) {
		const struct phg_finding *f = &res.findings.items[i];

		if (all_rules) {
			/* Every finding, the history's too, and its rule. */
			ck_assert_int_eq(
				phg_buf_printf(&b, "%s\n%s:%s ",
					       out->n ? "," : "",
					       strstr(f->file, "migrations/"),
					       f->rule),
				0);
			ck_assert_int_eq(json_finding(&b, f), 0);
			out->n++;
			continue;
		}
		ck_assert_msg(phg_has_suffix(f->file, suffix),
			      "%s: the history gives %s at line %d: %s", folder,
			      f->rule, f->line, f->message);
		ck_assert_msg(strcmp(f->rule, id) == 0,
			      "%s/%s: unexpected %s at line %d: %s", folder,
			      name, f->rule, f->line, f->message);
		ck_assert_int_eq(phg_buf_puts(&b, out->n ? ",\n" : "\n"), 0);
		ck_assert_int_eq(json_finding(&b, f), 0);
		out->n++;
		out->suppressed += f->suppressed;
		if (out->nlines < 64 &&
		    (out->nlines == 0 ||
		     out->lines[out->nlines - 1] != f->line))
			out->lines[out->nlines++] = f->line;
	}
	ck_assert_int_eq(phg_buf_puts(&b, out->n ? "\n]\n" : "]\n"), 0);
	out->json = strdup(b.data);
	out->errors = res.errors;
	phg_buf_release(&b);
	phg_lint_result_release(&res);
	/* The ids belong to the registry: keep phg_config_release off them. */
	cfg.rules = NULL;
	cfg.nrules = 0;
	free(rules);
	phg_config_release(&cfg);
	th_rmtree(tmp);
	free(tmp);
	free(migrations);
	free(rel);
	free(suffix);
	free(history);
	free(metadata);
}

/* Runs fixture file `file` (bad1.sql...) of rule id's folder. */
static void run_fixture(const char *id, const char *file, struct outcome *out)
{
	char *folder = xasprintf("%s/%s/%s", th_source_dir(), FIXTURES, id);
	char *path = xasprintf("%s/%s", folder, file);
	char *name = strdup(file);
	struct phg_buf sql;

	name[strlen(name) - strlen(".sql")] = '\0';
	read_all(path, &sql);
	run_case(folder, id, name, name, sql.data, sql.len, out);
	phg_buf_release(&sql);
	free(name);
	free(path);
	free(folder);
}

/* Checks one case of a folder against its snapshot; returns 1 if bad. */
static int check_case(const char *id, const char *folder, const char *file)
{
	bool bad = phg_has_prefix(file, "bad");
	char *base = strdup(file);
	char *expected_path;
	char *expected;
	struct outcome o;
	int failed = 0;

	base[strlen(base) - strlen(".sql")] = '\0';
	expected_path = xasprintf("%s/%s.expected.json", folder, base);
	run_fixture(id, file, &o);
	if (!bad) {
		if (o.n) {
			fprintf(stderr, "%s/%s: a good case gave findings:\n%s",
				id, file, o.json);
			failed = 1;
		}
		if (is_file(expected_path)) {
			fprintf(stderr, "%s: a good case has no snapshot\n",
				expected_path);
			failed = 1;
		}
		goto out;
	}
	if (o.n == 0) {
		fprintf(stderr, "%s/%s: a bad case gave no finding\n", id,
			file);
		failed = 1;
	}
	if (th_updating_snapshots()) {
		FILE *f = fopen(expected_path, "wb");

		ck_assert_ptr_nonnull(f);
		fputs(o.json, f);
		ck_assert_int_eq(fclose(f), 0);
		goto out;
	}
	expected = th_slurp(expected_path);
	if (!expected) {
		fprintf(stderr,
			"%s is missing (PHG_UPDATE_SNAPSHOTS=1 writes it)\n",
			expected_path);
		failed = 1;
	} else if (strcmp(expected, o.json) != 0) {
		fprintf(stderr, "%s differs; the run gave:\n%s", expected_path,
			o.json);
		failed = 1;
	}
	free(expected);
out:
	outcome_release(&o);
	free(expected_path);
	free(base);
	return failed;
}

static bool is_case(const char *file)
{
	return (phg_has_prefix(file, "bad") || phg_has_prefix(file, "good")) &&
	       phg_has_suffix(file, ".sql");
}

/* Every statement-stage rule, alone, over its fixture folder. */
START_TEST(test_fixtures)
{
	char *root = xasprintf("%s/%s", th_source_dir(), FIXTURES);
	char **ids = list_dir(root);
	int failed = 0, cases = 0;

	for (size_t i = 0; ids[i]; i++) {
		const struct phg_analyzer *a = phg_analyzer_find(ids[i]);
		char *folder = xasprintf("%s/%s", root, ids[i]);
		char **files;

		ck_assert_msg(a != NULL, "%s/%s: no rule has that id", FIXTURES,
			      ids[i]);
		ck_assert_msg(a->stage == PHG_STAGE_STATEMENT,
			      "%s/%s: a release-stage rule belongs in "
			      "fixtures/releases",
			      FIXTURES, ids[i]);
		files = list_dir(folder);
		for (size_t k = 0; files[k]; k++) {
			const char *f = files[k];
			const char *suffix = NULL;
			char *sql;

			if (is_case(f)) {
				failed += check_case(ids[i], folder, f);
				cases++;
				continue;
			}
			if (strcmp(f, "settings.yaml") == 0 ||
			    strcmp(f, "history.sql") == 0)
				continue;
			/* bad1.expected.json, bad1.settings.yaml, bad1.layout,
			   bad1.metadata.toml: bad1.sql. */
			if (phg_has_prefix(f, "bad") &&
			    phg_has_suffix(f, ".expected.json"))
				suffix = ".expected.json";
			else if ((phg_has_prefix(f, "bad") ||
				  phg_has_prefix(f, "good")) &&
				 phg_has_suffix(f, ".settings.yaml"))
				suffix = ".settings.yaml";
			else if ((phg_has_prefix(f, "bad") ||
				  phg_has_prefix(f, "good")) &&
				 phg_has_suffix(f, ".layout"))
				suffix = ".layout";
			else if ((phg_has_prefix(f, "bad") ||
				  phg_has_prefix(f, "good")) &&
				 phg_has_suffix(f, ".metadata.toml"))
				suffix = ".metadata.toml";
			else
				ck_abort_msg("%s/%s: not a fixture file name",
					     folder, f);
			sql = xasprintf("%s/%.*s.sql", folder,
					(int)(strlen(f) - strlen(suffix)), f);
			ck_assert_msg(is_file(sql), "%s/%s has no case", folder,
				      f);
			free(sql);
		}
		free_list(files);
		free(folder);
	}
	free_list(ids);
	free(root);
	ck_assert_msg(cases > 0, "no fixture cases found under %s", FIXTURES);
	ck_assert_msg(failed == 0, "%d of %d fixture cases failed (see above)",
		      failed, cases);
}
END_TEST

static bool kebab(const char *id)
{
	bool dash_ok = false;

	if (!*id)
		return false;
	for (const char *p = id; *p; p++) {
		if (*p == '-') {
			if (!dash_ok)
				return false;
			dash_ok = false;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
		dash_ok = true;
	}
	return dash_ok;
}

/* Whether folder holds a file starting with prefix and ending in .sql. */
static bool has_case(const char *folder, const char *prefix)
{
	char **files = list_dir(folder);
	bool found = false;

	for (size_t i = 0; files[i]; i++)
		if (phg_has_prefix(files[i], prefix) &&
		    phg_has_suffix(files[i], ".sql"))
			found = true;
	free_list(files);
	return found;
}

START_TEST(test_registry)
{
	size_t n = 0;

	for (; phg_analyzers[n]; n++) {
		const struct phg_analyzer *a = phg_analyzers[n];
		char *doc =
			xasprintf("%s/%s/%s.md", th_source_dir(), DOCS, a->id);

		ck_assert_msg(kebab(a->id), "'%s' is not kebab-case", a->id);
		if (n > 0)
			ck_assert_msg(strcmp(phg_analyzers[n - 1]->id, a->id) <
					      0,
				      "'%s' comes before '%s': the registry "
				      "must be sorted and unique",
				      phg_analyzers[n - 1]->id, a->id);
		ck_assert_ptr_eq(phg_analyzer_find(a->id), a);
		ck_assert_msg(a->summary && *a->summary, "%s has no summary",
			      a->id);
		ck_assert_msg(a->severity == PHG_SEV_ERROR ||
				      a->severity == PHG_SEV_WARNING,
			      "%s: bad default severity", a->id);
		ck_assert_msg(is_file(doc), "%s has no %s", a->id, doc);
		free(doc);
		if (a->stage == PHG_STAGE_RELEASE) {
			/* Judged by fixtures/releases (test_releases). */
			ck_assert_msg(a->check_release && !a->check_stmt,
				      "%s: a release rule checks releases",
				      a->id);
		} else {
			char *folder = xasprintf("%s/%s/%s", th_source_dir(),
						 FIXTURES, a->id);

			ck_assert_msg(!a->check_release,
				      "%s: a statement rule checks statements",
				      a->id);
			ck_assert_msg(
				!parser_rule(a) || always_on(a->id) ||
					strcmp(a->id, PHG_RULE_UNANALYZABLE) ==
						0 ||
					/* judged at the end of the run */
					strcmp(a->id, "unused-ignore") == 0,
				"%s: a statement rule without a check", a->id);
			ck_assert_msg(is_dir(folder), "%s has no %s", a->id,
				      folder);
			ck_assert_msg(has_case(folder, "bad") &&
					      has_case(folder, "good"),
				      "%s needs a bad and a good case", folder);
			free(folder);
		}
	}
	ck_assert_uint_gt(n, 0);
	ck_assert_ptr_null(phg_analyzer_find("no-such-rule"));
}
END_TEST

/* sql with "-- phasegate:ignore <id> <reason>" before each given line. */
static char *with_ignores(const struct phg_buf *sql, const char *id,
			  const int *lines, size_t nlines, size_t *len)
{
	struct phg_buf b = {0};
	int line = 1;
	size_t k = 0;

	for (size_t i = 0; i <= sql->len; i++) {
		bool line_start = i == 0 || sql->data[i - 1] == '\n';

		if (line_start && i > 0)
			line++;
		if (line_start && k < nlines && lines[k] == line) {
			ck_assert_int_eq(phg_buf_printf(&b,
							"-- phasegate:ignore "
							"%s %s\n",
							id, IGNORE_REASON),
					 0);
			k++;
		}
		if (i < sql->len)
			ck_assert_int_eq(phg_buf_add(&b, sql->data + i, 1), 0);
	}
	ck_assert_uint_eq(k, nlines);
	*len = b.len;
	return b.data;
}

/*
 * Every bad case with an ignore comment before each statement it flags:
 * the same findings come back suppressed and nothing is refused — except
 * syntax-error and invalid-encoding, which no comment can silence.
 */
START_TEST(test_suppression)
{
	char *root = xasprintf("%s/%s", th_source_dir(), FIXTURES);
	char **ids = list_dir(root);
	size_t checked = 0;

	for (size_t i = 0; ids[i]; i++) {
		char *folder = xasprintf("%s/%s", root, ids[i]);
		char **files = list_dir(folder);

		for (size_t k = 0; files[k]; k++) {
			struct outcome before, after;
			struct phg_buf sql;
			char *path, *name, *text;
			size_t len;

			if (!is_case(files[k]) ||
			    !phg_has_prefix(files[k], "bad"))
				continue;
			path = xasprintf("%s/%s", folder, files[k]);
			read_all(path, &sql);
			run_fixture(ids[i], files[k], &before);
			text = with_ignores(&sql, ids[i], before.lines,
					    before.nlines, &len);
			name = xasprintf("ignored_%.*s",
					 (int)(strlen(files[k]) - 4), files[k]);
			run_case(folder, ids[i], name + strlen("ignored_"),
				 name, text, len, &after);
			ck_assert_msg(after.n == before.n,
				      "%s: %zu findings with ignore comments, "
				      "%zu without",
				      path, after.n, before.n);
			if (always_on(ids[i])) {
				ck_assert_msg(after.suppressed == 0,
					      "%s: %s must not be suppressible",
					      path, ids[i]);
				ck_assert_uint_gt(after.errors, 0);
			} else {
				ck_assert_msg(after.suppressed == after.n,
					      "%s: %zu of %zu findings "
					      "suppressed",
					      path, after.suppressed, after.n);
				ck_assert_msg(after.errors == 0,
					      "%s: suppressed findings still "
					      "refuse the release",
					      path);
			}
			checked++;
			outcome_release(&before);
			outcome_release(&after);
			phg_buf_release(&sql);
			free(text);
			free(name);
			free(path);
		}
		free_list(files);
		free(folder);
	}
	ck_assert_uint_gt(checked, 0);
	free_list(ids);
	free(root);
}
END_TEST

/*
 * A rule that declares the statement kinds it looks at (PHG_RULE_KINDS) is
 * called only for those: every fixture of every rule, with every rule on,
 * gives the same findings when each rule is called on every statement.
 * And the kinds declared are kinds, each once, on statement rules.
 */
START_TEST(test_kinds)
{
	char *root = xasprintf("%s/%s", th_source_dir(), FIXTURES);
	char **ids = list_dir(root);
	size_t checked = 0, declaring = 0;

	for (size_t i = 0; phg_analyzers[i]; i++) {
		const struct phg_analyzer *a = phg_analyzers[i];

		ck_assert_msg(
			a->nkinds == 0 || (a->stage == PHG_STAGE_STATEMENT &&
					   a->check_stmt && a->kinds),
			"%s: only a statement rule declares kinds", a->id);
		for (size_t k = 0; k < a->nkinds; k++) {
			ck_assert_msg((size_t)a->kinds[k] < PHG_KIND_COUNT,
				      "%s: kind %d is not a kind", a->id,
				      (int)a->kinds[k]);
			for (size_t j = 0; j < k; j++)
				ck_assert_msg(a->kinds[j] != a->kinds[k],
					      "%s: kind '%s' twice", a->id,
					      phg_kind_name(a->kinds[k]));
		}
		declaring += a->nkinds > 0;
	}
	ck_assert_uint_gt(declaring, 0);
	all_rules = true;
	for (size_t i = 0; ids[i]; i++) {
		char *folder = xasprintf("%s/%s", root, ids[i]);
		char **files = list_dir(folder);

		for (size_t k = 0; files[k]; k++) {
			struct outcome routed, every;

			if (!is_case(files[k]))
				continue;
			every_rule = false;
			run_fixture(ids[i], files[k], &routed);
			every_rule = true;
			run_fixture(ids[i], files[k], &every);
			ck_assert_msg(strcmp(routed.json, every.json) == 0,
				      "%s/%s: with each rule called on every "
				      "statement:\n%s\nwith rules called by "
				      "the kinds they declare:\n%s",
				      ids[i], files[k], every.json,
				      routed.json);
			checked += every.n > 0;
			outcome_release(&routed);
			outcome_release(&every);
		}
		free_list(files);
		free(folder);
	}
	all_rules = every_rule = false;
	/* The comparison saw findings. */
	ck_assert_uint_gt(checked, 50);
	free_list(ids);
	free(root);
}
END_TEST

/* An ignore comment for another rule does not suppress this one. */
START_TEST(test_ignore_names_the_rule)
{
	static const char sql[] = "-- phasegate:ignore renaming-column "
				  "wrong rule named\n"
				  "CREATE INDEX i ON t (a);\n";
	char *folder = xasprintf("%s/%s", th_source_dir(), FIXTURES);
	struct outcome o;

	run_case(folder, "require-concurrent-index-creation", "other_rule",
		 "other_rule", sql, strlen(sql), &o);
	ck_assert_uint_eq(o.n, 1);
	ck_assert_uint_eq(o.suppressed, 0);
	ck_assert_uint_eq(o.errors, 1);
	outcome_release(&o);
	free(folder);
}
END_TEST

/* The file as `hexdump -C` shows it, without the final offset line. */
static char *hexdump(const struct phg_buf *data)
{
	struct phg_buf b = {0};

	for (size_t off = 0; off < data->len; off += 16) {
		ck_assert_int_eq(phg_buf_printf(&b, "%08zx ", off), 0);
		for (size_t i = 0; i < 16; i++) {
			if (i == 8)
				ck_assert_int_eq(phg_buf_puts(&b, " "), 0);
			if (off + i < data->len)
				ck_assert_int_eq(
					phg_buf_printf(&b, " %02x",
						       (unsigned char)data
							       ->data[off + i]),
					0);
			else
				ck_assert_int_eq(phg_buf_puts(&b, "   "), 0);
		}
		ck_assert_int_eq(phg_buf_puts(&b, "  |"), 0);
		for (size_t i = 0; i < 16 && off + i < data->len; i++) {
			unsigned char c = (unsigned char)data->data[off + i];
			char ch = c >= 0x20 && c < 0x7f ? (char)c : '.';

			ck_assert_int_eq(phg_buf_add(&b, &ch, 1), 0);
		}
		ck_assert_int_eq(phg_buf_puts(&b, "|\n"), 0);
	}
	if (!b.data)
		ck_assert_int_eq(phg_buf_puts(&b, ""), 0);
	return b.data;
}

/*
 * Checks the marked examples of one docs page; returns how many there are
 * and counts those of the page's own fixture folder in *own_bad/good.
 */
static size_t check_doc(const char *id, const char *path, size_t *own_bad,
			size_t *own_good)
{
	static const char mark[] = "<!-- fixture: ";
	static const char hexmark[] = "<!-- fixture-hex: ";
	char *own = xasprintf("%s/%s/", FIXTURES, id);
	struct phg_buf doc;
	size_t count = 0;
	char *line, *save = NULL;

	read_all(path, &doc);
	for (line = strtok_r(doc.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		bool hex = phg_has_prefix(line, hexmark);
		const char *rel, *end, *body_start, *fence_end;
		char *file, *want, *got;
		struct phg_buf data;

		if (!phg_has_prefix(line, mark) && !hex)
			continue;
		rel = line + (hex ? strlen(hexmark) : strlen(mark));
		end = strstr(rel, " -->");
		ck_assert_msg(end && end[4] == '\0', "%s: bad marker '%s'",
			      path, line);
		file = xasprintf("%.*s", (int)(end - rel), rel);
		/* The fenced block after the marker (```sql, ```yaml...). */
		body_start = end + 5;
		ck_assert_msg(phg_has_prefix(body_start, "```") &&
				      (!hex ||
				       phg_has_prefix(body_start, "```text\n")),
			      "%s: '%s' must be followed by a ```%s block",
			      path, file, hex ? "text" : "sql");
		body_start = strchr(body_start, '\n');
		ck_assert_ptr_nonnull(body_start);
		body_start++;
		fence_end = phg_has_prefix(body_start, "```")
				    ? body_start
				    : strstr(body_start, "\n```");
		ck_assert_msg(fence_end != NULL, "%s: '%s': unclosed block",
			      path, file);
		if (fence_end != body_start)
			fence_end++;
		got = xasprintf("%.*s", (int)(fence_end - body_start),
				body_start);
		read_all(th_src_path(file), &data);
		want = hex ? hexdump(&data) : strdup(data.data);
		ck_assert_msg(hex || phg_utf8_invalid_at(data.data, data.len) ==
					      data.len,
			      "%s: '%s' is not UTF-8 text: use fixture-hex",
			      path, file);
		ck_assert_msg(strcmp(got, want) == 0,
			      "%s: the example of '%s' differs from the file; "
			      "the file holds:\n%s",
			      path, file, want);
		if (phg_has_prefix(file, own)) {
			const char *base = file + strlen(own);

			*own_bad += phg_has_prefix(base, "bad");
			*own_good += phg_has_prefix(base, "good");
		}
		count++;
		/* Go on after the block. */
		save = (char *)fence_end + 3;
		free(got);
		free(want);
		free(file);
		phg_buf_release(&data);
	}
	phg_buf_release(&doc);
	free(own);
	return count;
}

/*
 * Examples in docs/rules/<id>.md are fixture files verbatim, and the page of
 * every rule with fixtures shows at least one bad and one good case.
 */
START_TEST(test_docs_examples)
{
	char *root = xasprintf("%s/%s", th_source_dir(), DOCS);
	char **pages = list_dir(root);
	size_t examples = 0;

	for (size_t i = 0; pages[i]; i++) {
		char *path = xasprintf("%s/%s", root, pages[i]);
		char *id = strdup(pages[i]);
		char *folder;
		size_t bad = 0, good = 0;

		if (!phg_has_suffix(id, ".md")) {
			free(id);
			free(path);
			continue;
		}
		id[strlen(id) - 3] = '\0';
		examples += check_doc(id, path, &bad, &good);
		folder = xasprintf("%s/%s/%s", th_source_dir(), FIXTURES, id);
		if (is_dir(folder))
			ck_assert_msg(bad > 0 && good > 0,
				      "%s shows %zu bad and %zu good fixture "
				      "cases; it needs at least one of each",
				      path, bad, good);
		free(folder);
		free(id);
		free(path);
	}
	ck_assert_uint_gt(examples, 0);
	free_list(pages);
	free(root);
}
END_TEST

static Suite *analyzers_suite(void)
{
	Suite *s = suite_create("analyzers");
	TCase *tc = tcase_create("analyzers");

	/*
	 * Once per test case, not per test: libpg_query cannot parse again
	 * after pg_query_exit, which CK_FORK=no would ask of it.
	 */
	tcase_add_unchecked_fixture(tc, NULL, phg_parse_shutdown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_fixtures);
	tcase_add_test(tc, test_suppression);
	tcase_add_test(tc, test_kinds);
	tcase_add_test(tc, test_ignore_names_the_rule);
	tcase_add_test(tc, test_docs_examples);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(analyzers_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
