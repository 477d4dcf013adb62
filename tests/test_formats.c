/*
 * test_formats.c: every output format of `phasegate lint`, snapshot style,
 * and the `rules` and `explain` commands. Each fixtures/formats/<scenario>/
 * holds a migrations tree and a phasegate.yaml, and:
 *   expected.<format>  the whole stdout of `lint --format <format>` for
 *                      text, json, sarif, github, gitlab and gcc, and of
 *                      `lint --color always` for expected.color
 *   expected.exit      the exit code (the same for every format)
 * The scenario is copied to a temporary folder and run there, so paths
 * print relative. phasegate's version in the SARIF driver is written as
 * @VERSION@ in the snapshot, so a release does not rewrite it.
 * PHG_UPDATE_SNAPSHOTS=1 rewrites the expected files from the run instead of
 * comparing (review that diff like code).
 *
 * Beyond the bytes: the SARIF, GitLab and GitHub snapshots are read back and
 * their structure checked (what code scanning, Code Quality and the Actions
 * runner rely on); colour appears only on a terminal without NO_COLOR, or
 * with --color always; `rules` lists the registry; `explain` prints each
 * docs page byte for byte and refuses unknown ids with close matches.
 */
#define _GNU_SOURCE
#include <check.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "report/report.h"

#define SCENARIOS "fixtures/formats"
/* The scenario with findings of every kind, which the structure checks
   read. */
#define GATE "release-gate"
#define VERSION_KEY "\"name\":\"phasegate\",\"version\":\""
#define ESC "\033["

/* The snapshots of each scenario: the file suffix, and lint's arguments. */
static const struct format {
	const char *name;
	const char *argv[6];
} formats[] = {
	{"text", {"lint", "--format", "text", NULL}},
	{"color", {"lint", "--color", "always", NULL}},
	{"json", {"lint", "--format", "json", NULL}},
	{"sarif", {"lint", "--format", "sarif", NULL}},
	{"github", {"lint", "--format", "github", NULL}},
	{"gitlab", {"lint", "--format", "gitlab", NULL}},
	{"gcc", {"lint", "--format", "gcc", NULL}},
};
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

static char **scenarios;
static size_t nscenarios;

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot write '%s'", path);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Returns raw (taken) with phasegate's version in the SARIF driver
   replaced by @VERSION@, as a new malloc'd string. */
static char *normalize_version(char *raw)
{
	char *p = strstr(raw, VERSION_KEY PHG_VERSION "\""), *v, *res;

	if (!p)
		return raw;
	v = p + strlen(VERSION_KEY);
	*v = '\0';
	if (asprintf(&res, "%s@VERSION@%s", raw, v + strlen(PHG_VERSION)) < 0)
		abort();
	free(raw);
	return res;
}

/* Runs one format of a scenario in a fresh copy; sets *out (malloc'd,
   version normalized) and returns the exit code; stderr must be empty. */
static int run_format(const char *scenario, const struct format *fmt,
		      char **out)
{
	char *src = th_join(th_src_path(SCENARIOS), scenario);
	char *tmp = th_tmpdir();
	char *work = th_join(tmp, scenario);
	char *raw = NULL, *err = NULL;
	int code;

	th_copy_tree(src, work, true);
	code = th_run(work, fmt->argv, &raw, &err);
	th_rmtree(tmp);
	free(work);
	free(tmp);
	free(src);
	*out = normalize_version(raw);
	ck_assert_msg(*err == '\0', "%s/%s: stderr: %s", scenario, fmt->name,
		      err);
	free(err);
	return code;
}

/* The expected file of a scenario (malloc'd path). */
static char *expected_path(const char *scenario, const char *what)
{
	char *dir = th_join(th_src_path(SCENARIOS), scenario);
	char *name, *path;

	if (asprintf(&name, "expected.%s", what) < 0)
		abort();
	path = th_join(dir, name);
	free(dir);
	free(name);
	return path;
}

/*
 * Compares want and got; on a difference, describes the first one (with
 * context) in msg and prints got whole.
 */
static void compare(const char *what, const char *want, const char *got,
		    char *msg, size_t size)
{
	size_t i = 0;

	if (!strcmp(want, got))
		return;
	while (want[i] && want[i] == got[i])
		i++;
	fprintf(stderr, "%s differs; whole output:\n%s\n", what, got);
	snprintf(msg, size,
		 "%s differs at byte %zu:\n  want: %.200s\n  got:  %.200s",
		 what, i, want + (i > 60 ? i - 60 : 0),
		 got + (i > 60 ? i - 60 : 0));
}

/* Loop index: scenario _i / NFORMATS, format _i % NFORMATS. */
START_TEST(test_snapshot)
{
	const char *scenario = scenarios[(size_t)_i / NFORMATS];
	const struct format *fmt = &formats[(size_t)_i % NFORMATS];
	char *path = expected_path(scenario, fmt->name);
	char *exit_path = expected_path(scenario, "exit");
	char *out = NULL, *want, *want_exit;
	char what[256], msg[1024] = "";
	int code = run_format(scenario, fmt, &out);

	snprintf(what, sizeof(what), "%s: expected.%s", scenario, fmt->name);
	want = th_slurp(path);
	want_exit = th_slurp(exit_path);
	if (th_updating_snapshots()) {
		char num[16];

		snprintf(num, sizeof(num), "%d\n", code);
		write_text(path, out);
		write_text(exit_path, num);
	} else if (!want || !want_exit) {
		snprintf(msg, sizeof(msg),
			 "%s or expected.exit missing (run with "
			 "PHG_UPDATE_SNAPSHOTS=1 and review)",
			 what);
	} else {
		compare(what, want, out, msg, sizeof(msg));
		if (!*msg && code != atoi(want_exit))
			snprintf(msg, sizeof(msg), "%s: exit %d, want %d", what,
				 code, atoi(want_exit));
	}
	free(want);
	free(want_exit);
	free(out);
	free(path);
	free(exit_path);
	ck_assert_msg(msg[0] == '\0', "%s", msg);
}
END_TEST

/* Parses a snapshot of the gate scenario (the caller deletes it). */
static cJSON *parse_snapshot(const char *what)
{
	char *path = expected_path(GATE, what);
	char *text = th_slurp(path);
	cJSON *doc;

	ck_assert_msg(text != NULL, "no %s", path);
	doc = cJSON_Parse(text);
	ck_assert_msg(doc != NULL, "%s is not JSON", path);
	free(text);
	free(path);
	return doc;
}

static const char *str(const cJSON *obj, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static const cJSON *get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* Findings of the JSON snapshot: all, and those not suppressed. */
static void count_findings(int *all, int *unsuppressed)
{
	cJSON *json = parse_snapshot("json");
	const cJSON *f;

	*all = *unsuppressed = 0;
	cJSON_ArrayForEach(f, get(json, "findings"))
	{
		(*all)++;
		if (!cJSON_IsTrue(get(f, "suppressed")))
			(*unsuppressed)++;
	}
	cJSON_Delete(json);
}

/* What code scanning relies on: SARIF 2.1.0, one run, the driver, every
   result's rule in the rules array, levels, locations, suppressions. */
START_TEST(test_sarif_structure)
{
	cJSON *sarif = parse_snapshot("sarif");
	const cJSON *runs = get(sarif, "runs"), *run, *driver, *rules, *r;
	int all, unsuppressed, results = 0, suppressed = 0;

	count_findings(&all, &unsuppressed);
	ck_assert_str_eq(str(sarif, "version"), "2.1.0");
	ck_assert_int_eq(cJSON_GetArraySize(runs), 1);
	run = cJSON_GetArrayItem(runs, 0);
	driver = get(get(run, "tool"), "driver");
	ck_assert_str_eq(str(driver, "name"), "phasegate");
	ck_assert_str_eq(str(driver, "version"), "@VERSION@");
	ck_assert_str_eq(str(driver, "informationUri"), PHG_INFORMATION_URI);
	ck_assert_str_eq(str(run, "columnKind"), "unicodeCodePoints");
	rules = get(driver, "rules");
	ck_assert_int_gt(cJSON_GetArraySize(rules), 0);
	cJSON_ArrayForEach(r, rules)
	{
		const char *id = str(r, "id");
		const struct phg_analyzer *a = phg_analyzer_find(id);
		char *uri, *page;

		ck_assert_msg(a != NULL, "rule '%s' not in the registry", id);
		ck_assert_str_eq(str(get(r, "shortDescription"), "text"),
				 a->summary);
		ck_assert_str_eq(str(get(r, "defaultConfiguration"), "level"),
				 a->severity == PHG_SEV_ERROR ? "error"
							      : "warning");
		if (asprintf(&uri, "%s%s.md", PHG_RULE_DOCS_BASE, id) < 0 ||
		    asprintf(&page, "docs/rules/%s.md", id) < 0)
			abort();
		ck_assert_str_eq(str(r, "helpUri"), uri);
		ck_assert_msg(access(th_src_path(page), R_OK) == 0,
			      "helpUri of '%s' names no docs page", id);
		free(uri);
		free(page);
	}
	cJSON_ArrayForEach(r, get(run, "results"))
	{
		const char *id = str(r, "ruleId"), *level = str(r, "level");
		const cJSON *index = get(r, "ruleIndex");
		const cJSON *loc = cJSON_GetArrayItem(get(r, "locations"), 0);
		const cJSON *phys = get(loc, "physicalLocation");
		const cJSON *region = get(phys, "region");
		const cJSON *sup = get(r, "suppressions");

		results++;
		ck_assert_ptr_nonnull(id);
		ck_assert_msg(cJSON_IsNumber(index) && index->valueint >= 0 &&
				      index->valueint <
					      cJSON_GetArraySize(rules),
			      "result of '%s': bad ruleIndex", id);
		ck_assert_str_eq(
			str(cJSON_GetArrayItem(rules, index->valueint), "id"),
			id);
		ck_assert_msg(!strcmp(level, "error") ||
				      !strcmp(level, "warning"),
			      "level '%s'", level);
		ck_assert_ptr_nonnull(str(get(r, "message"), "text"));
		ck_assert_ptr_nonnull(
			str(get(phys, "artifactLocation"), "uri"));
		ck_assert_int_ge(get(region, "startLine")->valueint, 1);
		ck_assert_int_ge(get(region, "startColumn")->valueint, 1);
		if (sup) {
			suppressed++;
			ck_assert_str_eq(
				str(cJSON_GetArrayItem(sup, 0), "kind"),
				"inSource");
		}
	}
	ck_assert_int_gt(results, 0);
	ck_assert_int_eq(results, all);
	ck_assert_int_eq(suppressed, all - unsuppressed);
	ck_assert_int_gt(suppressed, 0);
	cJSON_Delete(sarif);
}
END_TEST

/* Code Quality: unsuppressed findings only, unique 64-hex fingerprints. */
START_TEST(test_gitlab_structure)
{
	cJSON *gl = parse_snapshot("gitlab");
	const cJSON *issue;
	int all, unsuppressed, n = 0;
	char seen[64][65];

	count_findings(&all, &unsuppressed);
	ck_assert(cJSON_IsArray(gl));
	cJSON_ArrayForEach(issue, gl)
	{
		const char *fp = str(issue, "fingerprint");
		const char *sev = str(issue, "severity");
		const cJSON *loc = get(issue, "location");

		ck_assert_ptr_nonnull(str(issue, "description"));
		ck_assert_ptr_nonnull(
			phg_analyzer_find(str(issue, "check_name")));
		ck_assert_msg(!strcmp(sev, "major") || !strcmp(sev, "minor"),
			      "severity '%s'", sev);
		ck_assert_uint_eq(strlen(fp), 64);
		ck_assert_uint_eq(strspn(fp, "0123456789abcdef"), 64);
		for (int i = 0; i < n; i++)
			ck_assert_str_ne(seen[i], fp);
		ck_assert_int_lt(n, 64);
		snprintf(seen[n++], sizeof(seen[0]), "%s", fp);
		ck_assert_ptr_nonnull(str(loc, "path"));
		ck_assert_int_ge(get(get(loc, "lines"), "begin")->valueint, 1);
	}
	ck_assert_int_eq(n, unsuppressed);
	cJSON_Delete(gl);
}
END_TEST

/* Workflow commands: one per unsuppressed finding, every other line plain
   text the runner ignores, no command split over lines. */
START_TEST(test_github_structure)
{
	char *path = expected_path(GATE, "github");
	char *text = th_slurp(path);
	int all, unsuppressed, commands = 0;

	count_findings(&all, &unsuppressed);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_null(strchr(text, '\r'));
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strncmp(line, "::", 2)) {
			char *props = strchr(line + 2, ' ');
			char *end = props ? strstr(props, "::") : NULL;

			commands++;
			ck_assert_msg(
				!strncmp(line, "::error file=", 13) ||
					!strncmp(line, "::warning file=", 15),
				"not an annotation: %s", line);
			ck_assert_msg(end != NULL, "no message: %s", line);
			*end = '\0';
			/* Properties hold no raw ':' (escaped as %3A). */
			ck_assert_msg(strchr(props, ':') == NULL,
				      "unescaped ':' in %s", props);
			ck_assert_ptr_nonnull(strstr(props, ",title="));
		} else {
			ck_assert_msg(!strncmp(line, "phasegate: ", 11),
				      "unexpected line: %s", line);
		}
	}
	ck_assert_int_eq(commands, unsuppressed);
	free(text);
	free(path);
}
END_TEST

/* Renders a hand-made result in fmt; the text is malloc'd. */
static char *render(const struct phg_lint_result *r, enum phg_format fmt)
{
	struct phg_buf b = {0};
	char *text;

	ck_assert_int_eq(phg_report_render(r, fmt, &b), 0);
	text = strdup(b.data ? b.data : "");
	ck_assert_ptr_nonnull(text);
	phg_buf_release(&b);
	return text;
}

static void add(struct phg_lint_result *r, const char *rule, const char *file,
		int line, int col, const char *message, const char *help)
{
	ck_assert_ptr_nonnull(phg_findings_add(&r->findings, rule,
					       PHG_SEV_ERROR, file, line, col,
					       message, help));
	r->errors++;
}

/* Count of needle in haystack. */
static int occurrences(const char *haystack, const char *needle)
{
	int n = 0;

	for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/*
 * What no fixture gives easily, through the library: two findings that
 * would share a GitLab fingerprint, a finding with no line or column, CR
 * and LF in a message, an absolute path with a space, a leading "./".
 */
START_TEST(test_edge_cases)
{
	struct phg_arena arena;
	struct phg_lint_result r;
	char *out;
	cJSON *doc;
	const char *fp[3];

	memset(&r, 0, sizeof(r));
	phg_arena_init(&arena);
	r.findings.arena = &arena;
	add(&r, "renaming-column", "./migrations/a.sql", 3, 2, "same", "h");
	add(&r, "renaming-column", "./migrations/a.sql", 3, 2, "same", "h");
	add(&r, "syntax-error", "/abs/dir x/b.sql", 0, 0, "one\r\ntwo: a,b 50%",
	    "");

	out = render(&r, PHG_FORMAT_GITLAB);
	doc = cJSON_Parse(out);
	ck_assert_int_eq(cJSON_GetArraySize(doc), 3);
	for (int i = 0; i < 3; i++)
		fp[i] = str(cJSON_GetArrayItem(doc, i), "fingerprint");
	ck_assert_str_ne(fp[0], fp[1]);
	ck_assert_str_ne(fp[0], fp[2]);
	ck_assert_str_ne(fp[1], fp[2]);
	ck_assert_str_eq(
		str(get(cJSON_GetArrayItem(doc, 0), "location"), "path"),
		"migrations/a.sql");
	ck_assert_int_eq(
		get(get(get(cJSON_GetArrayItem(doc, 2), "location"), "lines"),
		    "begin")
			->valueint,
		1);
	cJSON_Delete(doc);
	free(out);

	out = render(&r, PHG_FORMAT_GITHUB);
	ck_assert_int_eq(
		occurrences(out, "::error file=migrations/a.sql,line=3,col=2,"
				 "title=renaming-column::same%0A%0Ahelp: h\n"),
		2);
	ck_assert_ptr_nonnull(strstr(out, "::error file=/abs/dir x/b.sql,"
					  "title=syntax-error::one%0D%0Atwo: "
					  "a,b 50%25\n"));
	free(out);

	out = render(&r, PHG_FORMAT_GCC);
	ck_assert_str_eq(out, "./migrations/a.sql:3:2: error: same "
			      "[renaming-column]\n"
			      "./migrations/a.sql:3:2: error: same "
			      "[renaming-column]\n"
			      "/abs/dir x/b.sql: error: one  two: a,b 50% "
			      "[syntax-error]\n");
	free(out);

	out = render(&r, PHG_FORMAT_SARIF);
	doc = cJSON_Parse(out);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(occurrences(out, "\"uri\":\"migrations/a.sql\""), 2);
	ck_assert_ptr_nonnull(
		strstr(out, "{\"artifactLocation\":{\"uri\":\"file:///abs/"
			    "dir%20x/b.sql\"}}"));
	ck_assert_int_eq(occurrences(out, "\"region\""), 2);
	cJSON_Delete(doc);
	free(out);

	phg_findings_release(&r.findings);
	phg_arena_release(&arena);
}
END_TEST

/*
 * Runs phasegate with argv in cwd, stdout on a pseudo-terminal, NO_COLOR
 * set to no_color (unset when NULL); returns the exit code and what the
 * terminal got in *out (malloc'd), or -1 when no terminal can be had.
 */
static int run_on_tty(const char *cwd, const char *const *argv,
		      const char *no_color, char **out)
{
	const char *bin = getenv("PHG_BINARY");
	const char *args[16] = {bin ? bin : "phasegate"};
	int master = posix_openpt(O_RDWR | O_NOCTTY), status = 0;
	size_t len = 0, n = 1;
	char *buf = NULL, chunk[4096];
	const char *slave;
	ssize_t got;
	pid_t pid;

	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    !(slave = ptsname(master))) {
		if (master >= 0)
			close(master);
		return -1;
	}
	while (*argv && n < 15)
		args[n++] = *argv++;
	args[n] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(slave, O_RDWR | O_NOCTTY), null;

		null = open("/dev/null", O_RDWR);
		if (fd < 0 || null < 0 || chdir(cwd) < 0)
			_exit(127);
		dup2(fd, 1);
		dup2(null, 0);
		dup2(null, 2);
		close(master);
		if (no_color)
			setenv("NO_COLOR", no_color, 1);
		else
			unsetenv("NO_COLOR");
		execv(args[0], (char *const *)args);
		_exit(127);
	}
	/* Read while the child writes: a terminal buffers little. Linux
	   reports EIO once the last holder of the slave is gone. */
	while ((got = read(master, chunk, sizeof(chunk))) > 0 ||
	       (got < 0 && errno == EINTR)) {
		if (got <= 0)
			continue;
		buf = realloc(buf, len + (size_t)got + 1);
		ck_assert_ptr_nonnull(buf);
		memcpy(buf + len, chunk, (size_t)got);
		len += (size_t)got;
	}
	close(master);
	waitpid(pid, &status, 0);
	*out = buf ? buf : calloc(1, 1);
	(*out)[len] = '\0';
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/*
 * Colour: on a terminal unless NO_COLOR is set (and not empty); never when
 * piped; always with --color always; never with --color never. Machine
 * formats never have colour.
 */
START_TEST(test_color)
{
	const char *text[] = {"lint", NULL};
	const char *never[] = {"lint", "--color", "never", NULL};
	const char *sarif[] = {"lint", "--format", "sarif", NULL};
	const char *bad[] = {"lint", "--color", "sometimes", NULL};
	char *src = th_join(th_src_path(SCENARIOS), GATE);
	char *tmp = th_tmpdir();
	char *work = th_join(tmp, GATE);
	char *out = NULL, *err = NULL;
	int code;

	th_copy_tree(src, work, true);
	/* Piped: no colour, whatever NO_COLOR says. */
	unsetenv("NO_COLOR");
	ck_assert_int_eq(th_run(work, text, &out, NULL), 1);
	ck_assert_ptr_null(strstr(out, ESC));
	free(out);
	ck_assert_int_eq(th_run(work, bad, NULL, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "--color"));
	free(err);
	/* A terminal. */
	code = run_on_tty(work, text, NULL, &out);
	if (code == -1) {
		fprintf(stderr, "test_color: no pseudo-terminal here; the "
				"terminal cases are skipped\n");
	} else {
		ck_assert_int_eq(code, 1);
		ck_assert_msg(strstr(out, ESC "1;31m") != NULL,
			      "no colour on a terminal:\n%s", out);
		free(out);
		ck_assert_int_eq(run_on_tty(work, text, "1", &out), 1);
		ck_assert_msg(strstr(out, ESC) == NULL,
			      "colour despite NO_COLOR=1:\n%s", out);
		ck_assert_ptr_nonnull(strstr(out, "error[renaming-column]"));
		free(out);
		/* An empty NO_COLOR does not count (no-color.org). */
		ck_assert_int_eq(run_on_tty(work, text, "", &out), 1);
		ck_assert_ptr_nonnull(strstr(out, ESC));
		free(out);
		ck_assert_int_eq(run_on_tty(work, never, NULL, &out), 1);
		ck_assert_ptr_null(strstr(out, ESC));
		free(out);
		ck_assert_int_eq(run_on_tty(work, sarif, NULL, &out), 1);
		ck_assert_ptr_null(strstr(out, ESC));
		free(out);
	}
	th_rmtree(tmp);
	free(work);
	free(tmp);
	free(src);
}
END_TEST

START_TEST(test_unknown_format)
{
	const char *argv[] = {"lint", "--format", "xml", NULL};
	char *err = NULL;

	ck_assert_int_eq(th_run(NULL, argv, NULL, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "unknown format 'xml'"));
	ck_assert_ptr_nonnull(strstr(err, "sarif"));
	free(err);
}
END_TEST

/* `rules` lists every registry rule once, in order, text and JSON. */
START_TEST(test_rules_lists_registry)
{
	const char *text_argv[] = {"rules", NULL};
	const char *json_argv[] = {"rules", "--format", "json", NULL};
	char *out = NULL, *err = NULL, *line, *save = NULL;
	size_t i = 0;
	cJSON *doc;
	const cJSON *r;

	ck_assert_int_eq(th_run(NULL, text_argv, &out, &err), 0);
	ck_assert_str_eq(err, "");
	line = strtok_r(out, "\n", &save);
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, "RULE"));
	for (line = strtok_r(NULL, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), i++) {
		const struct phg_analyzer *a = phg_analyzers[i];
		size_t n = strlen(a ? a->id : "");

		ck_assert_msg(a != NULL, "extra line: %s", line);
		ck_assert_msg(!strncmp(line, a->id, n) && line[n] == ' ',
			      "line %zu is not '%s': %s", i + 2, a->id, line);
		ck_assert_ptr_nonnull(
			strstr(line, phg_severity_name(a->severity)));
		ck_assert_ptr_nonnull(strstr(line, a->summary));
	}
	ck_assert_ptr_null(phg_analyzers[i]);
	free(out);
	free(err);

	ck_assert_int_eq(th_run(NULL, json_argv, &out, NULL), 0);
	doc = cJSON_Parse(out);
	ck_assert_ptr_nonnull(doc);
	i = 0;
	cJSON_ArrayForEach(r, get(doc, "rules"))
	{
		const struct phg_analyzer *a = phg_analyzers[i++];

		ck_assert_ptr_nonnull(a);
		ck_assert_str_eq(str(r, "id"), a->id);
		ck_assert_str_eq(str(r, "severity"),
				 phg_severity_name(a->severity));
		ck_assert_str_eq(str(r, "stage"), a->stage == PHG_STAGE_RELEASE
							  ? "release"
							  : "statement");
		ck_assert_str_eq(str(r, "summary"), a->summary);
	}
	ck_assert_ptr_null(phg_analyzers[i]);
	cJSON_Delete(doc);
	free(out);
}
END_TEST

/* `explain <id>` prints docs/rules/<id>.md byte for byte, for every rule. */
START_TEST(test_explain_every_rule)
{
	for (size_t i = 0; phg_analyzers[i]; i++) {
		const char *id = phg_analyzers[i]->id;
		const char *argv[] = {"explain", id, NULL};
		char *page_path, *page, *out = NULL, *err = NULL;

		if (asprintf(&page_path, "docs/rules/%s.md", id) < 0)
			abort();
		page = th_slurp(th_src_path(page_path));
		ck_assert_msg(page != NULL, "no %s", page_path);
		ck_assert_int_eq(th_run(NULL, argv, &out, &err), 0);
		ck_assert_msg(!strcmp(out, page),
			      "explain %s is not %s (rebuild?)", id, page_path);
		ck_assert_str_eq(err, "");
		free(page);
		free(page_path);
		free(out);
		free(err);
	}
}
END_TEST

/* An unknown id: exit 2, nothing on stdout, close matches on stderr. */
START_TEST(test_explain_unknown)
{
	const char *typo[] = {"explain", "renaming-colum", NULL};
	const char *part[] = {"explain", "not-null", NULL};
	const char *none[] = {"explain", "no-such-thing-at-all", NULL};
	const char *noarg[] = {"explain", NULL};
	const char *help[] = {"explain", "--help", NULL};
	char *out = NULL, *err = NULL;

	ck_assert_int_eq(th_run(NULL, typo, &out, &err), 2);
	ck_assert_str_eq(out, "");
	ck_assert_msg(strstr(err, "unknown rule 'renaming-colum'") &&
			      strstr(err, "did you mean renaming-column"),
		      "%s", err);
	free(out);
	free(err);
	ck_assert_int_eq(th_run(NULL, part, NULL, &err), 2);
	ck_assert_msg(strstr(err, "setting-not-null") != NULL, "%s", err);
	free(err);
	ck_assert_int_eq(th_run(NULL, none, NULL, &err), 2);
	ck_assert_msg(strstr(err, "phasegate rules") != NULL, "%s", err);
	free(err);
	ck_assert_int_eq(th_run(NULL, noarg, NULL, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "usage: phasegate explain"));
	free(err);
	ck_assert_int_eq(th_run(NULL, help, &out, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: phasegate explain"));
	free(out);
}
END_TEST

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every scenario folder, sorted, into scenarios. */
static void find_scenarios(void)
{
	DIR *d = opendir(th_src_path(SCENARIOS));
	struct dirent *e;
	size_t cap = 0;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (nscenarios == cap) {
			cap = cap ? cap * 2 : 8;
			scenarios =
				realloc(scenarios, cap * sizeof(*scenarios));
			if (!scenarios)
				abort();
		}
		scenarios[nscenarios++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(scenarios, nscenarios, sizeof(*scenarios), by_name);
}

static Suite *formats_suite(void)
{
	Suite *s = suite_create("formats");
	TCase *snap = tcase_create("snapshots");
	TCase *shape = tcase_create("structure");
	TCase *cmds = tcase_create("commands");

	tcase_add_loop_test(snap, test_snapshot, 0,
			    (int)(nscenarios * NFORMATS));
	suite_add_tcase(s, snap);
	tcase_add_test(shape, test_sarif_structure);
	tcase_add_test(shape, test_gitlab_structure);
	tcase_add_test(shape, test_github_structure);
	tcase_add_test(shape, test_color);
	tcase_add_test(shape, test_unknown_format);
	tcase_add_test(shape, test_edge_cases);
	suite_add_tcase(s, shape);
	tcase_add_test(cmds, test_rules_lists_registry);
	tcase_add_test(cmds, test_explain_every_rule);
	tcase_add_test(cmds, test_explain_unknown);
	suite_add_tcase(s, cmds);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	find_scenarios();
	if (nscenarios == 0) {
		fprintf(stderr, "no scenarios in %s\n", th_src_path(SCENARIOS));
		return EXIT_FAILURE;
	}
	sr = srunner_create(formats_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (size_t i = 0; i < nscenarios; i++)
		free(scenarios[i]);
	free(scenarios);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
