/*
 * test_releases.c: whole runs of the phasegate binary over release
 * scenarios, snapshot style. Each fixtures/releases/<scenario>/ holds a
 * migrations tree, usually a phasegate.yaml, and:
 *   args            optional, one argument per line (default: lint --format
 *                   json)
 *   git-base        optional, the paths (one per line, '#' comments) that
 *                   are committed and tagged as the ref given to --base
 *                   before the run; the rest stays in the working tree
 *   expected.json   the whole stdout
 *   expected.exit   the exit code
 *   expected.stderr optional, the whole stderr
 * The scenario is copied to a temporary folder and run there, so paths
 * print relative. PHG_UPDATE_SNAPSHOTS=1 rewrites the expected files from
 * the run instead of comparing (review that diff like code);
 * PHG_SCENARIO=<name> runs (or rewrites) that scenario alone. The demo at the
 * repository root and the ADR fixtures are also checked by rule name, and
 * the examples of the release docs must be their fixture files, byte for
 * byte.
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

#define SCENARIOS "fixtures/releases"
#define MAX_ARGS 32

static char **scenarios;
static size_t nscenarios;

/*
 * The non-empty lines of a file (without those starting with '#' when
 * comments is set), NULL-terminated in lines, as pointers into *text (which
 * the caller frees); returns how many.
 */
static size_t read_lines(const char *path, char **text, char **lines,
			 size_t max, bool comments)
{
	size_t n = 0;

	*text = th_slurp(path);
	if (!*text)
		return 0;
	for (char *line = strtok(*text, "\n"); line;
	     line = strtok(NULL, "\n")) {
		size_t len = strlen(line);

		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		if (!*line || (comments && *line == '#'))
			continue;
		ck_assert_msg(n + 1 < max, "too many lines in '%s'", path);
		lines[n++] = line;
	}
	lines[n] = NULL;
	return n;
}

/* Runs git with argv in cwd, output discarded; returns its exit code. */
static int git(const char *cwd, const char *const *argv)
{
	const char *args[MAX_ARGS + 16] = {
		"git",
		"-c",
		"user.name=phasegate tests",
		"-c",
		"user.email=tests@phasegate.invalid",
		"-c",
		"init.defaultBranch=main",
		"-c",
		"commit.gpgsign=false",
		"-c",
		"tag.gpgsign=false",
	};
	size_t n = 11;
	int status = 0;
	pid_t pid;

	while (*argv && n < MAX_ARGS + 15)
		args[n++] = *argv++;
	args[n] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		if (chdir(cwd) < 0)
			_exit(127);
		execvp("git", (char *const *)args);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The argument after --base in argv. */
static const char *base_ref(char *const *argv)
{
	for (size_t i = 0; argv[i]; i++) {
		if (!strcmp(argv[i], "--base") && argv[i + 1])
			return argv[i + 1];
		if (!strncmp(argv[i], "--base=", 7))
			return argv[i] + 7;
	}
	return NULL;
}

/* Commits the paths git-base lists in tmp and tags the commit ref. */
static void make_git_base(const char *tmp, const char *list, const char *ref)
{
	char *text, *paths[MAX_ARGS];
	const char *add[MAX_ARGS + 2] = {"add", "--"};
	const char *init[] = {"init", "-q", NULL};
	const char *commit[] = {"commit", "-q", "-m", "base", NULL};
	const char *tag[] = {"tag", ref, NULL};
	size_t n = read_lines(list, &text, paths, MAX_ARGS, true);

	ck_assert_msg(ref != NULL, "a git-base scenario needs --base in args");
	ck_assert_msg(n > 0, "'%s' lists nothing", list);
	for (size_t i = 0; i < n; i++)
		add[i + 2] = paths[i];
	add[n + 2] = NULL;
	ck_assert_int_eq(git(tmp, init), 0);
	ck_assert_int_eq(git(tmp, add), 0);
	ck_assert_int_eq(git(tmp, commit), 0);
	ck_assert_int_eq(git(tmp, tag), 0);
	free(text);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot write '%s'", path);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * Compares want and got; on a difference, describes the first one (with
 * context) in msg, unless msg already holds a failure, and prints got.
 */
static void compare(const char *scenario, const char *what, const char *want,
		    const char *got, char *msg, size_t size)
{
	size_t i = 0;

	if (!strcmp(want, got) || *msg)
		return;
	while (want[i] && want[i] == got[i])
		i++;
	fprintf(stderr, "%s: %s differs; whole output:\n%s\n", scenario, what,
		got);
	snprintf(msg, size,
		 "%s: %s differs at byte %zu:\n  want: %.200s\n  got:  %.200s",
		 scenario, what, i, want + (i > 60 ? i - 60 : 0),
		 got + (i > 60 ? i - 60 : 0));
}

START_TEST(test_scenario)
{
	const char *name = scenarios[_i];
	char *src = th_join(th_src_path(SCENARIOS), name);
	char *tmp = th_tmpdir();
	char *work = th_join(tmp, name);
	char *args_path = th_join(src, "args"),
	     *base_path = th_join(src, "git-base");
	char *json_path = th_join(src, "expected.json");
	char *exit_path = th_join(src, "expected.exit");
	char *stderr_path = th_join(src, "expected.stderr");
	char *args_text = NULL, *argv[MAX_ARGS] = {"lint", "--format", "json"};
	char *out = NULL, *err = NULL, *want_json, *want_exit, *want_stderr;
	char msg[1024] = "";
	struct stat st;
	int code;

	argv[3] = NULL;
	th_copy_tree(src, work, true);
	if (stat(args_path, &st) == 0)
		ck_assert_int_gt(read_lines(args_path, &args_text, argv,
					    MAX_ARGS, false),
				 0);
	if (stat(base_path, &st) == 0)
		make_git_base(work, base_path, base_ref(argv));
	code = th_run(work, (const char *const *)argv, &out, &err);
	want_json = th_slurp(json_path);
	want_exit = th_slurp(exit_path);
	want_stderr = th_slurp(stderr_path);
	if (th_updating_snapshots()) {
		char num[16];

		snprintf(num, sizeof(num), "%d\n", code);
		write_text(json_path, out);
		write_text(exit_path, num);
		if (*err || want_stderr)
			write_text(stderr_path, err);
	} else if (!want_json || !want_exit) {
		snprintf(msg, sizeof(msg),
			 "%s: no expected.json or expected.exit (run with "
			 "PHG_UPDATE_SNAPSHOTS=1 and review)",
			 name);
	} else {
		compare(name, "stdout", want_json, out, msg, sizeof(msg));
		if (!*msg && code != atoi(want_exit))
			snprintf(msg, sizeof(msg),
				 "%s: exit %d, want %d; stderr: %.500s", name,
				 code, atoi(want_exit), err);
		if (want_stderr)
			compare(name, "stderr", want_stderr, err, msg,
				sizeof(msg));
		else if (!*msg && *err)
			snprintf(msg, sizeof(msg),
				 "%s: unexpected stderr: %.500s", name, err);
	}
	free(want_json);
	free(want_exit);
	free(want_stderr);
	free(out);
	free(err);
	free(args_text);
	free(args_path);
	free(base_path);
	free(json_path);
	free(exit_path);
	free(stderr_path);
	th_rmtree(tmp);
	free(work);
	free(tmp);
	free(src);
	/* Everything is freed first, so a failure leaks nothing. */
	ck_assert_msg(msg[0] == '\0', "%s", msg);
}
END_TEST

/* What lint said about a copy of a project: JSON and text runs. */
struct run {
	int code;      /* of `lint --format json` */
	cJSON *report; /* its stdout, parsed (NULL when not JSON) */
	char *out, *err;
	int text_code; /* of plain `lint`, as the README runs it */
	char *text_err;
};

/*
 * Copies the listed entries of the repository folder rel into a temporary
 * folder, runs `phasegate lint --format json` and `phasegate lint` there,
 * and removes the folder again.
 */
static void lint_copy(const char *rel, const char *const *entries,
		      struct run *r)
{
	const char *json_argv[] = {"lint", "--format", "json", NULL};
	const char *text_argv[] = {"lint", NULL};
	char *from_root = strdup(th_src_path(rel));
	char *tmp = th_tmpdir();

	for (size_t i = 0; entries[i]; i++) {
		char *from = th_join(from_root, entries[i]);
		char *to = th_join(tmp, entries[i]);
		struct stat st;

		if (stat(from, &st) == 0 && S_ISDIR(st.st_mode))
			th_copy_tree(from, to, false);
		else if (stat(from, &st) == 0)
			th_copy_file(from, to);
		free(from);
		free(to);
	}
	free(from_root);
	r->code = th_run(tmp, json_argv, &r->out, &r->err);
	r->report = cJSON_Parse(r->out);
	r->text_code = th_run(tmp, text_argv, NULL, &r->text_err);
	th_rmtree(tmp);
	free(tmp);
	ck_assert_msg(r->report != NULL, "%s: not JSON: %s\nstderr: %s", rel,
		      r->out, r->err);
}

static void run_free(struct run *r)
{
	cJSON_Delete(r->report);
	free(r->out);
	free(r->err);
	free(r->text_err);
}

/* How many unsuppressed findings of rule (any rule when NULL) with severity
   sev (any when NULL) the report holds. */
static int count_findings(const struct run *r, const char *rule,
			  const char *sev)
{
	const cJSON *f;
	int n = 0;

	cJSON_ArrayForEach(f, cJSON_GetObjectItem(r->report, "findings"))
	{
		const char *id =
			cJSON_GetStringValue(cJSON_GetObjectItem(f, "rule"));
		const char *s = cJSON_GetStringValue(
			cJSON_GetObjectItem(f, "severity"));

		if (cJSON_IsTrue(cJSON_GetObjectItem(f, "suppressed")))
			continue;
		if ((!rule || (id && !strcmp(id, rule))) &&
		    (!sev || (s && !strcmp(s, sev))))
			n++;
	}
	return n;
}

static const char *verdict(const struct run *r)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetObjectItem(r->report, "summary"), "verdict"));
}

static const char *const project[] = {"phasegate.yaml", "migrations", NULL};

/* The demo: the ADR's change done safely passes (warnings at most). */
START_TEST(test_demo_passes)
{
	struct run r = {0};

	lint_copy(".", project, &r);
	ck_assert_msg(r.code == 0, "demo: exit %d\n%s\n%s", r.code, r.out,
		      r.err);
	ck_assert_int_eq(count_findings(&r, NULL, "error"), 0);
	ck_assert_int_eq(count_findings(&r, "contract-with-expand", NULL), 0);
	ck_assert_int_eq(count_findings(&r, "mixed-phase-migration", NULL), 0);
	ck_assert_str_eq(verdict(&r), "ok");
	/* The candidate release: 0004-0006, six statements. */
	ck_assert_int_eq(
		cJSON_GetArraySize(cJSON_GetObjectItem(r.report, "statements")),
		6);
	/* The plain `phasegate lint` the README runs. */
	ck_assert_int_eq(r.text_code, 0);
	ck_assert_str_eq(r.text_err, "");
	run_free(&r);
}
END_TEST

/* The ADR's three steps in one release are refused: contract-with-expand. */
START_TEST(test_adr_single_release_refused)
{
	struct run r = {0};

	lint_copy("fixtures/adr-single-release", project, &r);
	ck_assert_msg(r.code == 1, "exit %d\n%s\n%s", r.code, r.out, r.err);
	ck_assert_int_eq(r.text_code, 1);
	ck_assert_int_ge(count_findings(&r, "contract-with-expand", "error"),
			 1);
	ck_assert_str_eq(verdict(&r), "refused");
	run_free(&r);
}
END_TEST

/*
 * The ADR's order over three releases with its literal statements: the
 * order is right (no contract-with-expand) but the locks are not.
 */
START_TEST(test_adr_literal_third_release_locks)
{
	struct run r = {0};

	lint_copy("fixtures/adr-literal-third-release", project, &r);
	ck_assert_msg(r.code == 1, "exit %d\n%s\n%s", r.code, r.out, r.err);
	ck_assert_int_eq(r.text_code, 1);
	ck_assert_int_eq(count_findings(&r, "contract-with-expand", NULL), 0);
	ck_assert_int_eq(count_findings(&r, "setting-not-null", "error"), 1);
	ck_assert_int_eq(
		count_findings(&r, "disallowed-unique-constraint", "error"), 1);
	ck_assert_str_eq(verdict(&r), "refused");
	run_free(&r);
}
END_TEST

/* The docs whose examples are fixture files; rule pages allow no others. */
static const struct {
	const char *path;
	bool only_fixtures;
} example_docs[] = {
	{"docs/rules/contract-with-expand.md", true},
	{"docs/rules/backfill-with-expand.md", true},
	{"docs/rules/mixed-phase-migration.md", true},
	{"docs/releases.md", false},
};

/* The line after *p (NUL-terminated in place), advancing *p past it. */
static char *next_line(char **p)
{
	char *line = *p, *nl;

	if (!*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = line + strlen(line);
	}
	return line;
}

/*
 * Every code block after `<!-- fixture: PATH -->` is PATH's text, so the
 * docs cannot drift from what the tests run.
 */
START_TEST(test_docs_examples)
{
	const char *doc = example_docs[_i].path;
	char *text = th_slurp(th_src_path(doc)), *p = text, *line;
	char *fixture = NULL;
	int lineno = 0, checked = 0;

	ck_assert_msg(text != NULL, "missing %s", doc);
	while ((line = next_line(&p)) != NULL) {
		char path[1024], *want, *start;
		size_t len = 0;

		lineno++;
		if (sscanf(line, "<!-- fixture: %1023s -->", path) == 1) {
			free(fixture);
			fixture = strdup(path);
			continue;
		}
		if (strncmp(line, "```", 3) != 0) {
			if (*line) {
				free(fixture);
				fixture = NULL;
			}
			continue;
		}
		ck_assert_msg(fixture || !example_docs[_i].only_fixtures,
			      "%s:%d: a code block without a fixture marker",
			      doc, lineno);
		start = p;
		while ((line = next_line(&p)) != NULL &&
		       strcmp(line, "```") != 0) {
			lineno++;
			len += strlen(line) + 1;
		}
		lineno++;
		ck_assert_msg(line != NULL, "%s: unterminated code block", doc);
		if (!fixture)
			continue;
		want = th_slurp(th_src_path(fixture));
		ck_assert_msg(want != NULL, "%s:%d: no fixture '%s'", doc,
			      lineno, fixture);
		/* The block's lines were split in place: join them back. */
		for (size_t i = 0; i < len; i++)
			if (start[i] == '\0')
				start[i] = '\n';
		ck_assert_msg(strlen(want) == len &&
				      memcmp(want, start, len) == 0,
			      "%s:%d: the example is not '%s' as it is", doc,
			      lineno, fixture);
		free(want);
		free(fixture);
		fixture = NULL;
		checked++;
	}
	ck_assert_msg(checked > 0, "%s: no fixture examples", doc);
	free(fixture);
	free(text);
}
END_TEST

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every scenario folder (or PHG_SCENARIO's), sorted, into scenarios. */
static void find_scenarios(void)
{
	DIR *d = opendir(th_src_path(SCENARIOS));
	const char *only = getenv("PHG_SCENARIO");
	struct dirent *e;
	size_t cap = 0;

	if (!d) {
		fprintf(stderr, "cannot open %s\n", th_src_path(SCENARIOS));
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' ||
		    (only && *only && strcmp(e->d_name, only) != 0))
			continue;
		if (nscenarios == cap) {
			cap = cap ? cap * 2 : 32;
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

static Suite *releases_suite(void)
{
	Suite *s = suite_create("releases");
	TCase *sc = tcase_create("scenarios");
	TCase *demo = tcase_create("demo");
	TCase *docs = tcase_create("docs");

	tcase_add_loop_test(sc, test_scenario, 0, (int)nscenarios);
	suite_add_tcase(s, sc);
	tcase_add_test(demo, test_demo_passes);
	tcase_add_test(demo, test_adr_single_release_refused);
	tcase_add_test(demo, test_adr_literal_third_release_locks);
	suite_add_tcase(s, demo);
	tcase_add_loop_test(
		docs, test_docs_examples, 0,
		(int)(sizeof(example_docs) / sizeof(example_docs[0])));
	suite_add_tcase(s, docs);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* git (ours, and phasegate's for --base) must find the copies' own
	   repositories, not one a calling hook points at. */
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
	unsetenv("GIT_INDEX_FILE");
	find_scenarios();
	if (nscenarios == 0) {
		fprintf(stderr, "no scenarios in %s\n", th_src_path(SCENARIOS));
		return EXIT_FAILURE;
	}
	sr = srunner_create(releases_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (size_t i = 0; i < nscenarios; i++)
		free(scenarios[i]);
	free(scenarios);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
