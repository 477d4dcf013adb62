/*
 * test_install.c: `cmake --install` of the build this suite belongs to (the
 * folder of PHG_BINARY) into a temporary prefix puts bin/phasegate and
 * share/man/man1/phasegate.1 in place; the installed binary runs, and the
 * man page — generated from docs/cli.md — has its NAME section and every
 * command section of docs/cli.md, renders with `man -l` when man is there,
 * and is plain ASCII roff that groff reads without complaint.
 */
#define _GNU_SOURCE
#include <check.h>
#include <ctype.h>
#include <fcntl.h>
#include <libgen.h>
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

/*
 * Runs argv (a program on PATH, or a path) with extra environment
 * variables env ("NAME=value", NULL-terminated, may be NULL); stdout and
 * stderr go to *out (malloc'd) when out is not NULL. Returns the exit code,
 * 127 when the program cannot run.
 */
static int run(const char *const *argv, const char *const *env, char **out)
{
	char tmpl[] = "/tmp/phg-install-out-XXXXXX";
	int fd = mkstemp(tmpl), status = 0;
	time_t deadline = time(NULL) + 300;
	pid_t pid;

	ck_assert_int_ge(fd, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		for (; env && *env; env++)
			putenv((char *)*env);
		execvp(argv[0], (char *const *)argv);
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
	close(fd);
	if (out)
		*out = th_slurp(tmpl);
	unlink(tmpl);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Whether a program is on PATH. */
static bool have(const char *prog)
{
	const char *argv[] = {"sh", "-c", NULL, NULL};
	char *cmd;
	int rc;

	ck_assert(asprintf(&cmd, "command -v %s >/dev/null 2>&1", prog) > 0);
	argv[2] = cmd;
	rc = run(argv, NULL, NULL);
	free(cmd);
	return rc == 0;
}

static char *prefix;
static char *man_page;

/* Installs once, before the tests fork (an unchecked fixture). */
static void install(void)
{
	const char *bin = getenv("PHG_BINARY");
	char *copy, *out = NULL;
	const char *argv[] = {"cmake",	  "--install", NULL,
			      "--prefix", NULL,	       NULL};
	int rc;

	if (prefix)
		return;
	ck_assert_msg(bin != NULL, "PHG_BINARY is not set (run with ctest)");
	copy = strdup(bin);
	prefix = th_tmpdir();
	argv[2] = dirname(copy);
	argv[4] = prefix;
	rc = run(argv, NULL, &out);
	ck_assert_msg(rc == 0, "cmake --install %s failed (%d): %s", argv[2],
		      rc, out);
	ck_assert(asprintf(&man_page, "%s/share/man/man1/phasegate.1", prefix) >
		  0);
	free(out);
	free(copy);
}

START_TEST(test_binary_installed)
{
	char *path, *out = NULL;
	const char *argv[] = {NULL, "--version", NULL};
	struct stat st;

	ck_assert(asprintf(&path, "%s/bin/phasegate", prefix) > 0);
	ck_assert_msg(stat(path, &st) == 0, "no %s", path);
	ck_assert(S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR));
	argv[0] = path;
	ck_assert_int_eq(run(argv, NULL, &out), 0);
	ck_assert_msg(strstr(out, PHG_VERSION) != NULL, "--version says: %s",
		      out);
	free(out);
	free(path);
}
END_TEST

START_TEST(test_man_page_installed)
{
	char *page = th_slurp(man_page);
	char *cli = th_slurp(th_src_path("docs/cli.md")), *p;
	size_t sections = 0;

	ck_assert_msg(page != NULL, "no %s", man_page);
	ck_assert_ptr_nonnull(strstr(page, "\n.TH PHASEGATE 1 "));
	ck_assert_ptr_nonnull(strstr(page, "\n.SH NAME\nphasegate \\- "));
	/* Plain ASCII: no character for groff's input converter to guess. */
	for (p = page; *p; p++)
		ck_assert_msg((unsigned char)*p < 0x80,
			      "a non-ASCII byte at offset %td", p - page);
	/* Every command section of docs/cli.md is a section of the page. */
	ck_assert_ptr_nonnull(cli);
	for (p = cli; (p = strstr(p, "\n## ")) != NULL; p++) {
		char title[512], want[600];
		size_t n = strcspn(p + 4, "\n"), k = 0;

		/* As roff has it: upper case, hyphens as \-. */
		ck_assert_uint_lt(2 * n, sizeof(title));
		for (size_t i = 0; i < n; i++) {
			if (p[4 + i] == '-')
				title[k++] = '\\';
			title[k++] = (char)toupper((unsigned char)p[4 + i]);
		}
		title[k] = '\0';
		snprintf(want, sizeof(want), "\n.SH \"%s\"\n", title);
		ck_assert_msg(strstr(page, want) != NULL,
			      "the man page has no section '%s'", title);
		sections++;
	}
	ck_assert_uint_ge(sections, 5);
	ck_assert_ptr_nonnull(strstr(page, "\\-\\-changed\\-since REF"));
	free(cli);
	free(page);
}
END_TEST

/* man renders the NAME section (when man is installed). */
START_TEST(test_man_renders)
{
	const char *argv[] = {"man", "-l", NULL, NULL};
	const char *env[] = {"MANPAGER=cat", "PAGER=cat", "MANWIDTH=80",
			     "LC_ALL=C", NULL};
	char *out = NULL;
	int rc;

	if (!have("man")) {
		char *page = th_slurp(man_page);

		fprintf(stderr, "test_install: no man here, grep only\n");
		ck_assert_ptr_nonnull(strstr(page, "\n.SH NAME\n"));
		free(page);
		return;
	}
	argv[2] = man_page;
	rc = run(argv, env, &out);
	ck_assert_msg(rc == 0, "man -l exited %d: %s", rc, out);
	ck_assert_msg(strstr(out, "NAME") && strstr(out, "phasegate - make"),
		      "man -l shows: %.400s", out);
	ck_assert_ptr_nonnull(strstr(out, "PHASEGATE LINT"));
	ck_assert_ptr_nonnull(strstr(out, "--changed-since REF"));
	free(out);
}
END_TEST

/* groff reads the page without a warning about its markup. */
START_TEST(test_groff_clean)
{
	const char *argv[] = {"groff", "-man", "-Tascii", "-z",
			      "-wall", NULL,   NULL};
	char *out = NULL, *line, *save = NULL;

	if (!have("groff"))
		return;
	argv[5] = man_page;
	ck_assert_int_eq(run(argv, NULL, &out), 0);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		/* A long URL or code line cannot be filled: not a bug. */
		ck_assert_msg(strstr(line, "cannot adjust line") ||
				      strstr(line, "cannot break line"),
			      "groff: %s", line);
	free(out);
}
END_TEST

static Suite *install_suite(void)
{
	Suite *s = suite_create("install");
	TCase *tc = tcase_create("install");

	tcase_add_unchecked_fixture(tc, install, NULL);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_binary_installed);
	tcase_add_test(tc, test_man_page_installed);
	tcase_add_test(tc, test_man_renders);
	tcase_add_test(tc, test_groff_clean);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(install_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (prefix)
		th_rmtree(prefix);
	free(prefix);
	free(man_page);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
