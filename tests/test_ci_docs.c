/*
 * test_ci_docs.c: the CI recipes of docs/ci.md and the pre-commit hook of
 * .pre-commit-hooks.yaml, run locally. Every `run:` and `script:` command of
 * the page's YAML blocks that starts with `phasegate` is run with `sh -c`
 * (the binary's folder first on PATH, GITHUB_BASE_REF set as GitHub sets
 * it) in a git copy of a project that passes (the demo) and of one that is
 * refused (fixtures/adr-single-release), whose shipped migrations are
 * committed as origin/main. Each must exit as the page says, and its output
 * must parse: SARIF 2.1.0, a GitLab Code Quality array, GitHub workflow
 * commands. The files the steps upload are the ones the commands write.
 */
#define _GNU_SOURCE
#include <check.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define MAX_CMDS 32

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* A command of the page and the YAML block it is in. */
struct cmd {
	char *text;
	int block; /* index of its ```yaml block */
};

static struct cmd cmds[MAX_CMDS];
static size_t ncmds;
static char *blocks[16]; /* the YAML blocks' text */
static size_t nblocks;

static size_t indent_of(const char *line)
{
	return strspn(line, " ");
}

/* The value after "key:" when line is "[- ]key: value", else NULL. */
static const char *key_value(const char *line, const char *key)
{
	const char *p = line + indent_of(line);
	size_t n = strlen(key);

	if (!strncmp(p, "- ", 2))
		p += 2;
	if (strncmp(p, key, n) != 0 || p[n] != ':')
		return NULL;
	p += n + 1;
	return p + strspn(p, " ");
}

static void add_cmd(const char *text, size_t len, int block)
{
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\r'))
		len--;
	if (len < 10 || strncmp(text, "phasegate ", 10) != 0)
		return;
	ck_assert_uint_lt(ncmds, MAX_CMDS);
	cmds[ncmds].text = strndup(text, len);
	cmds[ncmds].block = block;
	ncmds++;
}

/*
 * Reads the commands of one YAML block: "run: CMD", "run: |" followed by
 * more indented lines, and "script:" followed by "- CMD" items.
 */
static void read_block(char *text, int block)
{
	char *save = NULL;
	size_t in_run = 0, in_script = 0;
	bool run_block = false, script = false;

	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t ind = indent_of(line);
		const char *v;

		if (run_block && ind > in_run) {
			add_cmd(line + ind, strlen(line + ind), block);
			continue;
		}
		if (script && ind > in_script &&
		    !strncmp(line + ind, "- ", 2)) {
			add_cmd(line + ind + 2, strlen(line + ind + 2), block);
			continue;
		}
		run_block = script = false;
		if ((v = key_value(line, "run")) != NULL) {
			if (!strcmp(v, "|") || !strcmp(v, ">")) {
				run_block = true;
				in_run = ind;
			} else {
				add_cmd(v, strlen(v), block);
			}
		} else if ((v = key_value(line, "script")) != NULL && !*v) {
			script = true;
			in_script = ind;
		}
	}
}

/* Every ```yaml block of docs/ci.md, and the commands in them (an
   unchecked fixture: read once, before the tests fork). */
static void read_page(void)
{
	char *page, *p;

	if (nblocks)
		return;
	page = th_slurp(th_src_path("docs/ci.md"));
	ck_assert_msg(page != NULL, "no docs/ci.md");
	p = page;
	while ((p = strstr(p, "\n```yaml\n")) != NULL) {
		char *start = p + 9, *end = strstr(start, "\n```");

		ck_assert_msg(end != NULL, "docs/ci.md: unterminated block");
		ck_assert_uint_lt(nblocks, 16);
		blocks[nblocks] = strndup(start, (size_t)(end - start + 1));
		{
			char *copy = strdup(blocks[nblocks]);

			read_block(copy, (int)nblocks);
			free(copy);
		}
		nblocks++;
		p = end + 4;
	}
	free(page);
}

/* The file a command writes its report to ("> FILE"), or NULL. */
static char *redirect_of(const char *cmd)
{
	const char *gt = strstr(cmd, "> ");
	size_t n;

	if (!gt)
		return NULL;
	gt += 2;
	n = strcspn(gt, " ");
	return strndup(gt, n);
}

static const char *format_of(const char *cmd)
{
	const char *f = strstr(cmd, "--format ");

	if (!f)
		return "text";
	f += 9;
	if (!strncmp(f, "sarif", 5))
		return "sarif";
	if (!strncmp(f, "github", 6))
		return "github";
	if (!strncmp(f, "gitlab", 6))
		return "gitlab";
	return "other";
}

/* The page's promises about its commands, before any is run. */
START_TEST(test_page_commands)
{
	size_t sarif = 0, github = 0, gitlab = 0, changed = 0;

	for (size_t i = 0; i < ncmds; i++) {
		const char *c = cmds[i].text, *f = format_of(c);
		const char *block = blocks[cmds[i].block];
		char *out = redirect_of(c);

		if (!strcmp(f, "sarif")) {
			char *want;

			sarif++;
			/* The upload step reads the file the command writes. */
			ck_assert_ptr_nonnull(out);
			ck_assert(asprintf(&want, "sarif_file: %s", out) > 0);
			ck_assert_msg(strstr(block, want), "no '%s'", want);
			ck_assert_ptr_nonnull(strstr(block,
						     "github/codeql-action/"
						     "upload-sarif@"));
			free(want);
		} else if (!strcmp(f, "github")) {
			github++;
			ck_assert_ptr_null(out);
		} else if (!strcmp(f, "gitlab")) {
			char *want;

			gitlab++;
			ck_assert_ptr_nonnull(out);
			ck_assert(asprintf(&want, "codequality: %s", out) > 0);
			ck_assert_msg(strstr(block, want), "no '%s'", want);
			ck_assert_ptr_nonnull(strstr(block, "when: always"));
			free(want);
		}
		if (strstr(c, "--changed-since"))
			changed++;
		free(out);
	}
	ck_assert_uint_ge(sarif, 1);
	ck_assert_uint_ge(github, 2);
	ck_assert_uint_ge(gitlab, 1);
	ck_assert_uint_ge(changed, 1);
}
END_TEST

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
				"commit.gpgsign=false"};
	size_t n = 9;
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

/* Copies dir/name (a file, or a folder of files) into the same place
   under to. */
static void copy_entry(const char *from_root, const char *to_root,
		       const char *name)
{
	char *from, *to;
	struct stat st;

	ck_assert(asprintf(&from, "%s/%s", from_root, name) > 0);
	ck_assert(asprintf(&to, "%s/%s", to_root, name) > 0);
	ck_assert_int_eq(stat(from, &st), 0);
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(from);
		struct dirent *e;

		mkdir(to, 0755);
		while ((e = readdir(d)) != NULL) {
			char *sub;

			if (e->d_name[0] == '.')
				continue;
			ck_assert(asprintf(&sub, "%s/%s", name, e->d_name) > 0);
			copy_entry(from_root, to_root, sub);
			free(sub);
		}
		closedir(d);
	} else {
		char *text = th_slurp(from);
		FILE *f = fopen(to, "wb");

		ck_assert_ptr_nonnull(text);
		ck_assert_ptr_nonnull(f);
		fputs(text, f);
		fclose(f);
		free(text);
	}
	free(from);
	free(to);
}

/* The projects: where they come from, what ships, the verdict. */
static const struct {
	const char *name, *root;
	const char *const *shipped; /* committed as origin/main */
	bool refused;
} projects[] = {
	{"demo", ".",
	 (const char *const[]){
		 "phasegate.yaml", "migrations/0001_create_organizations.sql",
		 "migrations/0002_add_organization_slug.sql",
		 "migrations/0003_backfill_organization_slug.sql", NULL},
	 false},
	{"adr-single-release", "fixtures/adr-single-release",
	 (const char *const[]){"phasegate.yaml",
			       "migrations/0001_create_organizations.sql",
			       NULL},
	 true},
};

/*
 * A git copy of project p in a temporary folder: its shipped files are
 * committed and pointed at by origin/main, the candidate release is not
 * tracked (so --changed-since reports it all).
 */
static char *make_project(size_t p)
{
	char *dir = th_tmpdir(), *root = strdup(th_src_path(projects[p].root));
	const char *const *s;

	copy_entry(root, dir, "phasegate.yaml");
	copy_entry(root, dir, "migrations");
	free(root);
	GIT(dir, "init", "-q");
	for (s = projects[p].shipped; *s; s++)
		GIT(dir, "add", "--", *s);
	GIT(dir, "commit", "-q", "-m", "shipped");
	GIT(dir, "update-ref", "refs/remotes/origin/main", "HEAD");
	return dir;
}

/* Runs cmd with sh -c in dir, stdout to dir/stdout.txt; exit code. */
static int run_sh(const char *dir, const char *cmd)
{
	const char *bin = getenv("PHG_BINARY");
	char *bindir = strdup(bin ? bin : "phasegate"), *path;
	time_t deadline = time(NULL) + 120;
	int status = 0;
	pid_t pid;

	ck_assert(asprintf(&path, "%s:%s", dirname(bindir),
			   getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin") >
		  0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int out;

		if (chdir(dir) < 0)
			_exit(127);
		out = open("stdout.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(out, 1);
		setenv("PATH", path, 1);
		setenv("GITHUB_BASE_REF", "main", 1);
		setenv("NO_COLOR", "1", 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (time(NULL) > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(20000);
	}
	free(bindir);
	free(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void check_sarif(const char *cmd, const char *text, bool refused)
{
	cJSON *doc = cJSON_Parse(text);
	const cJSON *run, *results, *r;
	int errors = 0;

	ck_assert_msg(doc != NULL, "%s: not JSON: %.200s", cmd, text);
	ck_assert_str_eq(
		cJSON_GetStringValue(cJSON_GetObjectItem(doc, "version")),
		"2.1.0");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "runs")),
			 1);
	run = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "runs"), 0);
	ck_assert_str_eq(
		cJSON_GetStringValue(cJSON_GetObjectItem(
			cJSON_GetObjectItem(cJSON_GetObjectItem(run, "tool"),
					    "driver"),
			"name")),
		"phasegate");
	results = cJSON_GetObjectItem(run, "results");
	ck_assert(cJSON_IsArray(results));
	cJSON_ArrayForEach(r, results)
	{
		errors += same(
			cJSON_GetStringValue(cJSON_GetObjectItem(r, "level")),
			"error");
		ck_assert_ptr_nonnull(cJSON_GetObjectItem(r, "ruleId"));
		ck_assert_ptr_nonnull(cJSON_GetObjectItem(r, "locations"));
	}
	ck_assert_msg(refused ? errors > 0 : errors == 0,
		      "%s: %d error results", cmd, errors);
	cJSON_Delete(doc);
}

static void check_gitlab(const char *cmd, const char *text, bool refused)
{
	cJSON *doc = cJSON_Parse(text);
	const cJSON *issue;
	int major = 0;

	ck_assert_msg(cJSON_IsArray(doc), "%s: not a JSON array: %.200s", cmd,
		      text);
	cJSON_ArrayForEach(issue, doc)
	{
		static const char *const keys[] = {"description", "check_name",
						   "fingerprint", "severity"};

		for (size_t k = 0; k < 4; k++)
			ck_assert_msg(cJSON_IsString(cJSON_GetObjectItem(
					      issue, keys[k])),
				      "%s: an issue without '%s'", cmd,
				      keys[k]);
		ck_assert(cJSON_IsString(cJSON_GetObjectItem(
			cJSON_GetObjectItem(issue, "location"), "path")));
		major += same(cJSON_GetStringValue(
				      cJSON_GetObjectItem(issue, "severity")),
			      "major");
	}
	ck_assert_msg(refused ? major > 0 : major == 0, "%s: %d major issues",
		      cmd, major);
	cJSON_Delete(doc);
}

static void check_github(const char *cmd, char *text, bool refused)
{
	char *save = NULL;
	int errors = 0;

	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(!strncmp(line, "::error file=", 13) ||
				      !strncmp(line, "::warning file=", 15) ||
				      !strncmp(line, "phasegate: ", 11),
			      "%s: not a workflow command or log line: %s", cmd,
			      line);
		errors += !strncmp(line, "::error ", 8);
	}
	ck_assert_msg(refused ? errors > 0 : errors == 0, "%s: %d ::error", cmd,
		      errors);
}

/* Every command of the page, in project _i. */
START_TEST(test_run_commands)
{
	char *dir = make_project((size_t)_i);
	bool refused = projects[_i].refused;

	ck_assert_uint_gt(ncmds, 0);
	for (size_t i = 0; i < ncmds; i++) {
		const char *c = cmds[i].text, *f = format_of(c);
		char *out = redirect_of(c), *file, *text;
		/* "|| [ $? -eq 1 ]": a refusal is not the step's failure. */
		int want = refused && !strstr(c, "|| [ $? -eq 1 ]") ? 1 : 0;
		int code = run_sh(dir, c);

		ck_assert_msg(code == want, "%s: '%s' exited %d, want %d",
			      projects[_i].name, c, code, want);
		ck_assert(asprintf(&file, "%s/%s", dir,
				   out ? out : "stdout.txt") > 0);
		text = th_slurp(file);
		ck_assert_msg(text != NULL, "%s: no '%s'", c, file);
		if (!strcmp(f, "sarif"))
			check_sarif(c, text, refused);
		else if (!strcmp(f, "gitlab"))
			check_gitlab(c, text, refused);
		else if (!strcmp(f, "github"))
			check_github(c, text, refused);
		else
			ck_abort_msg("'%s': a format this test cannot check",
				     c);
		free(text);
		free(file);
		free(out);
	}
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* The value of "  key: value" in the hook definition, or NULL. */
static char *hook_value(const char *hooks, const char *key)
{
	char *pat;
	const char *p;

	ck_assert(asprintf(&pat, "\n  %s: ", key) > 0);
	p = strstr(hooks, pat);
	if (!p) {
		free(pat);
		return NULL;
	}
	p += strlen(pat);
	free(pat);
	return strndup(p, strcspn(p, "\n"));
}

/* The files of dir (recursively), relative, into list. */
static void list_files(const char *root, const char *rel, char **list,
		       size_t *n, size_t max)
{
	char *path;
	DIR *d;
	struct dirent *e;

	ck_assert(asprintf(&path, "%s%s%s", root, *rel ? "/" : "", rel) > 0);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		char *sub, *full;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		ck_assert(asprintf(&sub, "%s%s%s", rel, *rel ? "/" : "",
				   e->d_name) > 0);
		ck_assert(asprintf(&full, "%s/%s", root, sub) > 0);
		ck_assert_int_eq(stat(full, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			list_files(root, sub, list, n, max);
			free(sub);
		} else {
			ck_assert_uint_lt(*n, max);
			list[(*n)++] = sub;
		}
		free(full);
	}
	closedir(d);
	free(path);
}

/*
 * .pre-commit-hooks.yaml: the hook's fields, then its entry run as
 * pre-commit runs it — with the project's files its `files` pattern takes
 * and its `exclude` pattern leaves, a down migration among them.
 */
START_TEST(test_pre_commit_hook)
{
	char *hooks = th_slurp(th_src_path(".pre-commit-hooks.yaml"));
	char *entry, *files, *exclude, *language, *pass, *cmd = NULL, *dir;
	char *list[64];
	size_t n = 0, taken = 0;
	regex_t want, skip;
	int code;

	ck_assert_msg(hooks != NULL, "no .pre-commit-hooks.yaml");
	ck_assert_ptr_nonnull(strstr(hooks, "\n- id: phasegate-lint\n"));
	entry = hook_value(hooks, "entry");
	files = hook_value(hooks, "files");
	exclude = hook_value(hooks, "exclude");
	language = hook_value(hooks, "language");
	pass = hook_value(hooks, "pass_filenames");
	ck_assert_str_eq(entry, "phasegate lint");
	ck_assert_str_eq(files, "\\.sql$");
	ck_assert_ptr_nonnull(exclude);
	ck_assert_str_eq(language, "system");
	ck_assert_str_eq(pass, "true");
	ck_assert_int_eq(regcomp(&want, files, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_int_eq(regcomp(&skip, exclude, REG_EXTENDED | REG_NOSUB), 0);

	dir = make_project((size_t)_i);
	/* A down migration of another layout, never a forward one. */
	th_write_str(dir, "db/1_init.down.sql", "DROP TABLE x;\n");
	list_files(dir, "", list, &n, 64);
	ck_assert(asprintf(&cmd, "%s", entry) > 0);
	for (size_t i = 0; i < n; i++) {
		if (regexec(&want, list[i], 0, NULL, 0) == 0 &&
		    regexec(&skip, list[i], 0, NULL, 0) != 0) {
			char *more;

			ck_assert(asprintf(&more, "%s %s", cmd, list[i]) > 0);
			free(cmd);
			cmd = more;
			taken++;
		}
		free(list[i]);
	}
	ck_assert_uint_gt(taken, 1);
	code = run_sh(dir, cmd);
	ck_assert_msg(code == (projects[_i].refused ? 1 : 0),
		      "%s: '%s' exited %d", projects[_i].name, cmd, code);
	regfree(&want);
	regfree(&skip);
	free(cmd);
	free(entry);
	free(files);
	free(exclude);
	free(language);
	free(pass);
	free(hooks);
	th_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *ci_suite(void)
{
	Suite *s = suite_create("ci_docs");
	TCase *page = tcase_create("page");
	TCase *runs = tcase_create("runs");
	int np = (int)(sizeof(projects) / sizeof(projects[0]));

	tcase_add_unchecked_fixture(page, read_page, NULL);
	tcase_add_unchecked_fixture(runs, read_page, NULL);
	tcase_add_test(page, test_page_commands);
	suite_add_tcase(s, page);
	tcase_add_loop_test(runs, test_run_commands, 0, np);
	tcase_add_loop_test(runs, test_pre_commit_hook, 0, np);
	tcase_set_timeout(runs, 300);
	suite_add_tcase(s, runs);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
	unsetenv("GIT_INDEX_FILE");
	sr = srunner_create(ci_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (size_t i = 0; i < ncmds; i++)
		free(cmds[i].text);
	for (size_t i = 0; i < nblocks; i++)
		free(blocks[i]);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
