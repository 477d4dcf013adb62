/*
 * test_lint_scope.c: which migrations lint reports — `--changed-since REF`
 * (files that differ from REF: modified, staged, committed since, or not
 * tracked at all; still linted with their releases against the whole
 * history) and the config's `exclude:` globs (replayed as history, never
 * reported), run end to end with the binary in temporary git repositories,
 * and several folders in one run (each linted on its own).
 */
#define _GNU_SOURCE
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* Runs git with argv in cwd, output discarded; returns its exit code. */
static int git(const char *cwd, const char *const *argv)
{
	const char *args[32] = {"git",
				"-c",
				"user.name=phasegate tests",
				"-c",
				"user.email=tests@phasegate.invalid",
				"-c",
				"init.defaultBranch=main",
				"-c",
				"commit.gpgsign=false",
				"-c",
				"tag.gpgsign=false"};
	size_t n = 11;
	int status = 0;
	pid_t pid;

	while (*argv && n < 31)
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

#define GIT(dir, ...)                                                          \
	do {                                                                   \
		const char *argv_[] = {__VA_ARGS__, NULL};                     \
		ck_assert_int_eq(git(dir, argv_), 0);                          \
	} while (0)

/* A lint run's exit code and parsed JSON report. */
struct report {
	int code;
	cJSON *json;
	char *out, *err;
};

static void lint(const char *dir, const char *const *argv, struct report *r)
{
	r->code = th_run(dir, argv, &r->out, &r->err);
	r->json = cJSON_Parse(r->out);
}

static void report_free(struct report *r)
{
	cJSON_Delete(r->json);
	free(r->out);
	free(r->err);
}

/* "file:rule" of every finding, joined with spaces. */
static char *findings_of(const struct report *r)
{
	static char buf[4096];
	const cJSON *f;

	buf[0] = '\0';
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(r->json, "findings"))
	{
		size_t len = strlen(buf);

		snprintf(buf + len, sizeof(buf) - len, "%s%s:%s",
			 len ? " " : "",
			 cJSON_GetStringValue(cJSON_GetObjectItem(f, "file")),
			 cJSON_GetStringValue(cJSON_GetObjectItem(f, "rule")));
	}
	return buf;
}

/* The files of the report's statements, joined with spaces. */
static char *statement_files(const struct report *r)
{
	static char buf[4096];
	const cJSON *s;

	buf[0] = '\0';
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(r->json, "statements"))
	{
		size_t len = strlen(buf);

		snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? " " : "",
			 cJSON_GetStringValue(cJSON_GetObjectItem(s, "file")));
	}
	return buf;
}

static const char config[] = "migrations: migrations\n"
			     "releases:\n"
			     "  - name: v1.0.0\n"
			     "    through: \"0001\"\n";

/* Index builds on accounts, a table of the shipped release: one finding
   (require-concurrent-index-creation) per file. */
#define INDEX(n) "CREATE INDEX accounts_i" n " ON accounts (email);\n"

/* A repository whose tag "base" holds 0001-0003; then 0002 is changed in
   the working tree, 0004 staged, 0005 committed, 0006 untracked, 0007
   untracked but ignored. 0003 stays as it was. */
static char *changed_repo(void)
{
	char *dir = th_tmpdir();

	th_write_str(dir, "phasegate.yaml", config);
	th_write_str(dir, "migrations/0001_accounts.sql",
		     "CREATE TABLE accounts (id bigint PRIMARY KEY, email "
		     "text);\n");
	th_write_str(dir, "migrations/0002_a.sql", INDEX("2"));
	th_write_str(dir, "migrations/0003_b.sql", INDEX("3"));
	GIT(dir, "init", "-q");
	GIT(dir, "add", ".");
	GIT(dir, "commit", "-q", "-m", "base");
	GIT(dir, "tag", "base");
	th_write_str(dir, "migrations/0002_a.sql", "-- changed\n" INDEX("2"));
	th_write_str(dir, "migrations/0004_c.sql", INDEX("4"));
	GIT(dir, "add", "migrations/0004_c.sql");
	th_write_str(dir, "migrations/0005_d.sql", INDEX("5"));
	GIT(dir, "add", "migrations/0005_d.sql");
	GIT(dir, "commit", "-q", "-m", "later");
	th_write_str(dir, "migrations/0006_e.sql", INDEX("6"));
	th_write_str(dir, ".gitignore", "migrations/0007_*\n");
	th_write_str(dir, "migrations/0007_f.sql", INDEX("7"));
	return dir;
}

START_TEST(test_changed_since)
{
	const char *all[] = {"lint", "--format", "json", NULL};
	const char *changed[] = {"lint", "--format", "json", "--changed-since",
				 "base", NULL};
	char *dir = changed_repo();
	struct report r;

	/* Without the flag: every migration of the candidate release. */
	lint(dir, all, &r);
	ck_assert_int_eq(r.code, 1);
	ck_assert_ptr_nonnull(r.json);
	ck_assert_str_eq(
		findings_of(&r),
		"migrations/0002_a.sql:require-concurrent-index-creation "
		"migrations/0003_b.sql:require-concurrent-index-creation "
		"migrations/0004_c.sql:require-concurrent-index-creation "
		"migrations/0005_d.sql:require-concurrent-index-creation "
		"migrations/0006_e.sql:require-concurrent-index-creation "
		"migrations/0007_f.sql:require-concurrent-index-creation");
	report_free(&r);

	/* With it: not 0003 (as at base), not 0007 (ignored by git). */
	lint(dir, changed, &r);
	ck_assert_int_eq(r.code, 1);
	ck_assert_ptr_nonnull(r.json);
	ck_assert_str_eq(
		findings_of(&r),
		"migrations/0002_a.sql:require-concurrent-index-creation "
		"migrations/0004_c.sql:require-concurrent-index-creation "
		"migrations/0005_d.sql:require-concurrent-index-creation "
		"migrations/0006_e.sql:require-concurrent-index-creation");
	ck_assert_str_eq(statement_files(&r),
			 "migrations/0002_a.sql migrations/0004_c.sql "
			 "migrations/0005_d.sql migrations/0006_e.sql");
	ck_assert_int_eq(
		cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "summary"),
				    "files")
			->valueint,
		4);
	report_free(&r);

	/* Against HEAD: only what the working tree and the index add. */
	changed[4] = "HEAD";
	lint(dir, changed, &r);
	ck_assert_str_eq(
		findings_of(&r),
		"migrations/0002_a.sql:require-concurrent-index-creation "
		"migrations/0006_e.sql:require-concurrent-index-creation");
	report_free(&r);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* A shipped migration that changed is linted with its own release (0002
   and 0003 are v1.1.0's); releases without a change are not linted. */
START_TEST(test_changed_shipped_release)
{
	const char *changed[] = {"lint", "--format", "json", "--changed-since",
				 "base", NULL};
	char *dir = changed_repo();
	struct report r;
	const cJSON *rel;

	th_write_str(dir, "phasegate.yaml",
		     "migrations: migrations\n"
		     "releases:\n"
		     "  - name: v1.0.0\n"
		     "    through: \"0001\"\n"
		     "  - name: v1.1.0\n"
		     "    through: \"0003\"\n");
	GIT(dir, "tag", "-f", "base", "HEAD");
	th_write_str(dir, "migrations/0003_b.sql", "-- edited\n" INDEX("3"));
	lint(dir, changed, &r);
	ck_assert_msg(r.json != NULL, "%s", r.err);
	ck_assert_str_eq(
		findings_of(&r),
		"migrations/0002_a.sql:require-concurrent-index-creation "
		"migrations/0003_b.sql:require-concurrent-index-creation "
		"migrations/0006_e.sql:require-concurrent-index-creation");
	rel = cJSON_GetObjectItem(r.json, "releases");
	ck_assert(cJSON_IsFalse(
		cJSON_GetObjectItem(cJSON_GetArrayItem(rel, 0), "linted")));
	ck_assert(cJSON_IsTrue(
		cJSON_GetObjectItem(cJSON_GetArrayItem(rel, 1), "linted")));
	ck_assert(cJSON_IsTrue(
		cJSON_GetObjectItem(cJSON_GetArrayItem(rel, 2), "linted")));
	report_free(&r);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* A file PATH is reported only when it changed. */
START_TEST(test_changed_since_file_path)
{
	const char *same[] = {"lint", "--format",
			      "gcc",  "--changed-since",
			      "base", "migrations/0003_b.sql",
			      NULL};
	const char *other[] = {"lint", "--format",
			       "gcc",  "--changed-since",
			       "base", "migrations/0002_a.sql",
			       NULL};
	char *dir = changed_repo(), *out = NULL;

	ck_assert_int_eq(th_run(dir, same, &out, NULL), 0);
	ck_assert_str_eq(out, "");
	free(out);
	ck_assert_int_eq(th_run(dir, other, &out, NULL), 1);
	ck_assert_ptr_nonnull(strstr(out, "migrations/0002_a.sql:2:1: error"));
	free(out);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_changed_since_errors)
{
	const char *unknown[] = {"lint", "--changed-since", "no-such-ref",
				 NULL};
	const char *dash[] = {"lint", "--changed-since=--output=x", NULL};
	char *dir = changed_repo(), *plain = th_tmpdir(), *err = NULL;

	ck_assert_int_eq(th_run(dir, unknown, NULL, &err), 2);
	ck_assert_str_eq(err, "phasegate: --changed-since 'no-such-ref': git "
			      "cannot compare 'migrations' with that ref (is "
			      "it a commit, and the folder inside a git "
			      "repository?)\n");
	free(err);
	ck_assert_int_eq(th_run(dir, dash, NULL, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "a ref cannot start with '-'"));
	free(err);
	/* Not a repository at all. */
	th_write_str(plain, "phasegate.yaml", config);
	th_write_str(plain, "migrations/0001_a.sql", "SELECT 1;\n");
	unknown[2] = "HEAD";
	ck_assert_int_eq(th_run(plain, unknown, NULL, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "git cannot compare"));
	free(err);
	th_rmtree(dir);
	th_rmtree(plain);
	free(dir);
	free(plain);
}
END_TEST

/*
 * exclude: the legacy migrations are history (the table and the renamed
 * column exist for the later ones), and nothing of theirs is reported —
 * neither statement findings nor the release rules' (renaming-column).
 */
START_TEST(test_exclude)
{
	const char *all[] = {"lint", "--format", "json", "migrations", NULL};
	const char *file[] = {"lint", "--format", "json",
			      "migrations/0002_rename_legacy.sql", NULL};
	char *dir = th_tmpdir();
	struct report r;

	th_write_str(dir, "phasegate.yaml",
		     "migrations: migrations\n"
		     "exclude: ['*_legacy.sql', 'old']\n");
	th_write_str(dir, "migrations/0001_accounts_legacy.sql",
		     "CREATE TABLE accounts (id serial PRIMARY KEY, email "
		     "text);\n" INDEX("1"));
	th_write_str(dir, "migrations/0002_rename_legacy.sql",
		     "ALTER TABLE accounts RENAME COLUMN email TO mail;\n");
	th_write_str(dir, "migrations/0003_index.sql",
		     "CREATE INDEX accounts_mail ON accounts (mail);\n");
	lint(dir, all, &r);
	ck_assert_int_eq(r.code, 1);
	ck_assert_msg(r.json != NULL, "%s", r.err);
	ck_assert_str_eq(
		findings_of(&r),
		"migrations/0003_index.sql:require-concurrent-index-creation");
	ck_assert_str_eq(statement_files(&r), "migrations/0003_index.sql");
	report_free(&r);
	/* Named on the command line, an excluded file reports nothing. */
	lint(dir, file, &r);
	ck_assert_int_eq(r.code, 0);
	ck_assert_str_eq(findings_of(&r), "");
	report_free(&r);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* A glob naming a migration's folder covers the files inside it. */
START_TEST(test_exclude_folder)
{
	const char *all[] = {"lint", "--format", "json", NULL};
	char *dir = th_tmpdir();
	struct report r;

	th_write_str(dir, "phasegate.yaml",
		     "migrations: migrations\n"
		     "exclude:\n"
		     "  - \"2019*_legacy\"\n");
	th_write_str(dir, "migrations/20190101000000_legacy/migration.sql",
		     "CREATE TABLE accounts (id bigint PRIMARY KEY, email "
		     "text);\n" INDEX("1"));
	th_write_str(dir, "migrations/20240101000000_add/migration.sql",
		     INDEX("2"));
	lint(dir, all, &r);
	ck_assert_msg(r.json != NULL, "%s", r.err);
	ck_assert_str_eq(findings_of(&r),
			 "migrations/20240101000000_add/migration.sql:"
			 "require-concurrent-index-creation");
	report_free(&r);
	th_rmtree(dir);
	free(dir);
}
END_TEST

static const struct {
	const char *yaml, *err;
} bad_exclude[] = {
	{"exclude: '*_legacy.sql'\n",
	 "phasegate: phasegate.yaml:1:10: 'exclude' must be a list of globs "
	 "such as '2019*_legacy/*', not '*_legacy.sql'\n"},
	{"exclude:\n  - ''\n",
	 "phasegate: phasegate.yaml:2:5: 'exclude' must be a list of globs, "
	 "each a migration path relative to the migrations folder, not an "
	 "empty value\n"},
	{"exclude: [{a: b}]\n",
	 "phasegate: phasegate.yaml:1:11: 'exclude' must be a list of globs, "
	 "each a migration path relative to the migrations folder, not a "
	 "mapping\n"},
	{"exclude: ['/srv/migrations/*']\n",
	 "phasegate: phasegate.yaml:1:11: 'exclude' globs are relative to the "
	 "migrations folder, not '/srv/migrations/*'\n"},
};

START_TEST(test_exclude_config_errors)
{
	const char *argv[] = {"lint", NULL};
	char *dir = th_tmpdir(), *err = NULL;

	th_write_str(dir, "phasegate.yaml", bad_exclude[_i].yaml);
	th_write_str(dir, "migrations/0001_a.sql", "SELECT 1;\n");
	ck_assert_int_eq(th_run(dir, argv, NULL, &err), 2);
	ck_assert_str_eq(err, bad_exclude[_i].err);
	free(err);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* exclude: [] and exclude: with nothing are no globs. */
START_TEST(test_exclude_empty)
{
	const char *argv[] = {"lint", "--format", "gcc", NULL};
	static const char *const yaml[] = {"exclude: []\n", "exclude:\n"};
	char *dir = th_tmpdir(), *out = NULL;

	th_write_str(dir, "migrations/0001_a.sql",
		     "CREATE TABLE a (id bigint PRIMARY KEY);\n");
	th_write_str(dir, "migrations/0002_b.sql",
		     "CREATE INDEX a_id ON a (id);\n");
	for (size_t i = 0; i < 2; i++) {
		th_write_str(dir, "phasegate.yaml", yaml[i]);
		ck_assert_int_eq(th_run(dir, argv, &out, NULL), 1);
		ck_assert_ptr_nonnull(strstr(out, "0002_b.sql:1:1: error"));
		free(out);
	}
	th_rmtree(dir);
	free(dir);
}
END_TEST

/*
 * Several folders in one run (how the benchmark runs phasegate over the
 * corpus): each is linted on its own, so the report is the reports of the
 * folders one by one, in order. b adds a foreign key to a table no
 * migration of b creates, so b cannot know its indexes and does not judge
 * the key; were a's history (which creates the table, without an index on
 * owner) seen in b, foreign-key-without-index would be reported there.
 */
START_TEST(test_several_folders)
{
	const char *only_a[] = {"lint", "--format", "json", "a", NULL};
	const char *only_b[] = {"lint", "--format", "json", "b", NULL};
	const char *both[] = {"lint", "--format", "json", "a", "b", NULL};
	char *dir = th_tmpdir(), *a_findings, *b_findings, want[4096];
	struct report ra, rb, r;
	int files;

	th_write_str(dir, "a/0001_accounts.sql",
		     "CREATE TABLE accounts (id bigint PRIMARY KEY, owner "
		     "bigint);\n");
	th_write_str(dir, "a/0002_index.sql",
		     "CREATE INDEX accounts_i2 ON accounts (id);\n");
	th_write_str(dir, "b/0001_fk.sql",
		     "ALTER TABLE accounts ADD CONSTRAINT accounts_owner_fk "
		     "FOREIGN KEY (owner) REFERENCES users (id) NOT VALID;\n");
	lint(dir, only_a, &ra);
	lint(dir, only_b, &rb);
	lint(dir, both, &r);
	ck_assert_ptr_nonnull(ra.json);
	ck_assert_ptr_nonnull(rb.json);
	ck_assert_ptr_nonnull(r.json);
	a_findings = strdup(findings_of(&ra));
	b_findings = strdup(findings_of(&rb));
	ck_assert_str_eq(a_findings,
			 "a/0002_index.sql:require-concurrent-index-creation");
	ck_assert_str_eq(b_findings, "");
	snprintf(want, sizeof(want), "%s%s%s", a_findings,
		 *a_findings && *b_findings ? " " : "", b_findings);
	ck_assert_str_eq(findings_of(&r), want);
	/* statement_files answers in one static buffer: one at a time. */
	snprintf(want, sizeof(want), "%s ", statement_files(&ra));
	strncat(want, statement_files(&rb), sizeof(want) - strlen(want) - 1);
	ck_assert_str_eq(statement_files(&r), want);
	files = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "summary"),
				    "files")
			->valueint;
	ck_assert_int_eq(files, 3);
	ck_assert_int_eq(r.code, ra.code > rb.code ? ra.code : rb.code);
	free(a_findings);
	free(b_findings);
	report_free(&ra);
	report_free(&rb);
	report_free(&r);
	th_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *scope_suite(void)
{
	Suite *s = suite_create("lint_scope");
	TCase *changed = tcase_create("changed_since");
	TCase *exclude = tcase_create("exclude");
	TCase *several = tcase_create("several_folders");

	tcase_add_test(changed, test_changed_since);
	tcase_add_test(changed, test_changed_shipped_release);
	tcase_add_test(changed, test_changed_since_file_path);
	tcase_add_test(changed, test_changed_since_errors);
	suite_add_tcase(s, changed);
	tcase_add_test(exclude, test_exclude);
	tcase_add_test(exclude, test_exclude_folder);
	tcase_add_loop_test(
		exclude, test_exclude_config_errors, 0,
		(int)(sizeof(bad_exclude) / sizeof(bad_exclude[0])));
	tcase_add_test(exclude, test_exclude_empty);
	suite_add_tcase(s, exclude);
	tcase_add_test(several, test_several_folders);
	suite_add_tcase(s, several);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* git (ours, and phasegate's) must find the temporary repositories,
	   not one a calling hook points at. */
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
	unsetenv("GIT_INDEX_FILE");
	sr = srunner_create(scope_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
