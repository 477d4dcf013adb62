/*
 * test_input_matrix.c: the rest of issue 6's input matrix, end to end
 * through the phasegate binary, each case asserting the exit code
 * (DESIGN: 0 ok, 1 refused, 2 usage/config/file) and the exact message or
 * finding counts. test_parse.c already covers empty, comment-only, BOM,
 * CRLF, NUL, invalid UTF-8, unterminated quotes, \connect and \set, a
 * 20 MB file and deep nesting; test_source.c the discovery library. Here:
 * a 50 MB file and 100,000 statements in one file (finding counts, peak
 * RSS), more psql meta-commands, DO blocks (nested, dynamic, another
 * language), duplicate versions, two layouts in one folder, a folder named
 * like a migration file, symlink loops, unreadable files (a FIFO, a
 * dangling symlink, and chmod 000 read by an unprivileged child), config
 * keys that do not exist or have the wrong type, a missing environment
 * variable, and that lint writes nothing. That a refused migrate leaves
 * the database untouched is test_it_runner.c's
 * syntax_error_refused_before_anything_runs and
 * gate_refuses_then_no_gate_is_recorded.
 */
#define _GNU_SOURCE
#include <check.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static char *tmp;

static void setup(void)
{
	tmp = th_tmpdir();
}

static void teardown(void)
{
	if (tmp) {
		th_rmtree(tmp);
		free(tmp);
		tmp = NULL;
	}
}

static char *in_tmp(const char *rel)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", tmp, rel);
	return buf;
}

/* Runs phasegate in tmp; fails the test on a crash. */
static int run(const char *const *argv, char **out, char **err)
{
	char *o = NULL, *e = NULL;
	int rc = th_run(tmp, argv, &o, &e);

	ck_assert_msg(rc <= 3, "phasegate crashed or hung (%d): %s", rc, e);
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
	return rc;
}

/* Runs `phasegate lint <path>` in tmp and expects exit 2 and exactly
   "phasegate: <msg>\n" on stderr, nothing on stdout. */
static void lint_fails(const char *path, const char *msg)
{
	const char *argv[] = {"lint", path, NULL};
	char *out, *err, want[4200];

	ck_assert_int_eq(run(argv, &out, &err), 2);
	snprintf(want, sizeof(want), "phasegate: %s\n", msg);
	ck_assert_str_eq(err, want);
	ck_assert_str_eq(out, "");
	free(out);
	free(err);
}

static void assert_contains(const char *hay, const char *needle)
{
	ck_assert_msg(hay && strstr(hay, needle), "'%s' not in:\n%s", needle,
		      hay ? hay : "(null)");
}

/* Lints path with --format json; returns the parsed report. */
static cJSON *lint_json(const char *path, int want_rc)
{
	const char *argv[] = {"lint", "--format", "json", path, NULL};
	char *out, *err;
	cJSON *doc;
	int rc = run(argv, &out, &err);

	ck_assert_msg(rc == want_rc, "exit %d, expected %d: %s", rc, want_rc,
		      err);
	doc = cJSON_Parse(out);
	ck_assert_msg(doc != NULL, "not JSON: %.200s", out);
	free(out);
	free(err);
	return doc;
}

static long summary_num(const cJSON *doc, const char *key)
{
	const cJSON *v =
		cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "summary"), key);

	ck_assert_msg(cJSON_IsNumber(v), "summary.%s missing", key);
	return (long)v->valuedouble;
}

/* Findings of rule (unsuppressed) in a JSON report. */
static long count_rule(const cJSON *doc, const char *rule)
{
	const cJSON *f;
	long n = 0;

	cJSON_ArrayForEach(f, cJSON_GetObjectItem(doc, "findings"))
	{
		const cJSON *r = cJSON_GetObjectItem(f, "rule");

		if (cJSON_IsString(r) && strcmp(r->valuestring, rule) == 0)
			n++;
	}
	return n;
}

/* The i-th statement's field (string) of a JSON report. */
static const char *stmt_str(const cJSON *doc, int i, const char *key)
{
	const cJSON *s =
		cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "statements"), i);
	const cJSON *v = cJSON_GetObjectItem(s, key);

	ck_assert_msg(cJSON_IsString(v), "statement %d has no %s", i, key);
	return v->valuestring;
}

/* Peak RSS in MB of the children this (forked) test waited for. */
static long children_peak_mb(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
	return ru.ru_maxrss / 1024;
}

/* Sanitizer builds (the whole tree is built alike) use several times
   the memory and time. */
#if defined(__SANITIZE_ADDRESS__)
#define SLOW_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLOW_BUILD 1
#endif
#endif
#ifndef SLOW_BUILD
#define SLOW_BUILD 0
#endif

/* ---- size ---- */

/*
 * A 50 MB file: 25,568 statements of about 2 KB (an INSERT with a long
 * literal, the shape of a data migration), every 1,000th a CREATE INDEX
 * without CONCURRENTLY on a table in production. Over 2 MB, so it is
 * parsed statement by statement: memory follows the file's text and the
 * statements kept, not one parse tree of the whole file.
 */
START_TEST(test_fifty_mb_file)
{
	char *pad = malloc(2001);
	FILE *f;
	size_t size = 0;
	long n = 0, peak;
	cJSON *doc;

	memset(pad, 'x', 2000);
	pad[2000] = '\0';
	th_write_str(tmp, "m/.keep", "");
	f = fopen(in_tmp("m/0001_big.sql"), "w");
	ck_assert_ptr_nonnull(f);
	while (size < 50u * 1024 * 1024) {
		int w;

		if (n % 1000 == 999)
			w = fprintf(f,
				    "CREATE INDEX audit_log_i%ld_idx ON "
				    "audit_log (id);\n",
				    n);
		else
			w = fprintf(f,
				    "INSERT INTO audit_log (id, body) VALUES "
				    "(%ld, '%s');\n",
				    n, pad);
		ck_assert_int_gt(w, 0);
		size += (size_t)w;
		n++;
	}
	ck_assert_int_eq(fclose(f), 0);
	free(pad);
	ck_assert_int_eq(n, 25568);

	doc = lint_json("m", 1);
	ck_assert_int_eq(summary_num(doc, "files"), 1);
	ck_assert_int_eq(summary_num(doc, "statements"), 25568);
	ck_assert_int_eq(summary_num(doc, "errors"), 25);
	ck_assert_int_eq(summary_num(doc, "warnings"), 0);
	ck_assert_int_eq(count_rule(doc, "require-concurrent-index-creation"),
			 25);
	ck_assert_int_eq(
		cJSON_GetArraySize(cJSON_GetObjectItem(doc, "findings")), 25);
	cJSON_Delete(doc);
	/* Measured 215 MB (bench/resources.sh): the 50 MB text, the
	   statements and the JSON report. Four times that is a leak or a
	   whole-file tree, not noise. */
	peak = children_peak_mb();
	ck_assert_msg(peak < (SLOW_BUILD ? 4096 : 1024),
		      "peak RSS %ld MB for a 50 MB file", peak);
}
END_TEST

/*
 * 100,000 statements in one file (4.3 MB): blocks of ADD COLUMN, CREATE
 * INDEX (not CONCURRENTLY), UPDATE and SELECT on 2,500 tables in
 * production, 10 columns each. Every CREATE INDEX is an error, every
 * UPDATE an unbatched backfill of a column the release adds.
 * statements-after-access-exclusive needs the earlier statements' trees,
 * which a file over 2 MB does not keep: none here (the 10,000-statement
 * file below has it once).
 */
static void write_blocks(const char *rel, int nstmts)
{
	FILE *f = fopen(in_tmp(rel), "w");

	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < nstmts / 4; i++) {
		int t = i / 10;

		ck_assert_int_gt(fprintf(f,
					 "ALTER TABLE accounts%d ADD COLUMN "
					 "c%d text;\n"
					 "CREATE INDEX accounts%d_c%d_idx ON "
					 "accounts%d (c%d);\n"
					 "UPDATE accounts%d SET c%d = 'x';\n"
					 "SELECT %d;\n",
					 t, i, t, i, t, i, t, i, i),
				 0);
	}
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_hundred_thousand_statements)
{
	const cJSON *phases;
	cJSON *doc;
	struct timespec t0, t1;
	double secs;

	th_write_str(tmp, "m/.keep", "");
	write_blocks("m/0001_many.sql", 100000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	doc = lint_json("m", 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_int_eq(summary_num(doc, "statements"), 100000);
	ck_assert_int_eq(summary_num(doc, "errors"), 25000);
	ck_assert_int_eq(summary_num(doc, "warnings"), 50000);
	ck_assert_int_eq(count_rule(doc, "require-concurrent-index-creation"),
			 25000);
	ck_assert_int_eq(count_rule(doc, "unbatched-backfill"), 25000);
	ck_assert_int_eq(count_rule(doc, "backfill-with-expand"), 25000);
	phases = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "summary"),
				     "phases");
	ck_assert_int_eq(cJSON_GetObjectItem(phases, "expand")->valueint,
			 50000);
	ck_assert_int_eq(cJSON_GetObjectItem(phases, "backfill")->valueint,
			 25000);
	ck_assert_int_eq(cJSON_GetObjectItem(phases, "none")->valueint, 25000);
	/* The last statement, where it is. */
	ck_assert_str_eq(stmt_str(doc, 99999, "kind"), "select");
	ck_assert_int_eq(
		cJSON_GetObjectItem(
			cJSON_GetArrayItem(
				cJSON_GetObjectItem(doc, "statements"), 99999),
			"line")
			->valueint,
		100000);
	cJSON_Delete(doc);
	/*
	 * A generous bound that a quadratic step would still break: two
	 * rules looked back over the whole file at every statement (fixed;
	 * 100,000 statements took minutes); now about 5 s here.
	 */
	ck_assert_msg(secs < (SLOW_BUILD ? 240 : 60),
		      "100,000 statements took %.1f s", secs);
}
END_TEST

START_TEST(test_ten_thousand_statements_parsed_whole)
{
	cJSON *doc;

	th_write_str(tmp, "m/.keep", "");
	write_blocks("m/0001_many.sql", 10000);
	doc = lint_json("m", 1);
	ck_assert_int_eq(summary_num(doc, "statements"), 10000);
	ck_assert_int_eq(count_rule(doc, "require-concurrent-index-creation"),
			 2500);
	ck_assert_int_eq(count_rule(doc, "unbatched-backfill"), 2500);
	ck_assert_int_eq(count_rule(doc, "backfill-with-expand"), 2500);
	/* Once per transaction: at the CREATE INDEX after the first ADD
	   COLUMN's lock. */
	ck_assert_int_eq(count_rule(doc, "statements-after-access-exclusive"),
			 1);
	ck_assert_int_eq(summary_num(doc, "errors"), 2500);
	ck_assert_int_eq(summary_num(doc, "warnings"), 5001);
	cJSON_Delete(doc);
}
END_TEST

/* ---- psql meta-commands and DO blocks ---- */

START_TEST(test_psql_meta_commands)
{
	static const char text[] = "SELECT 1;\n"
				   "\\i other.sql\n"
				   "SELECT 2;\n"
				   "SELECT 'x' \\gexec\n"
				   "\\echo done\n"
				   "\\if :flag\n"
				   "CREATE TABLE t (id int);\n";
	const char *argv[] = {"lint", "m/0001_meta.sql", NULL};
	char *out;
	cJSON *doc;

	th_write_str(tmp, "m/0001_meta.sql", text);
	ck_assert_int_eq(run(argv, &out, NULL), 1);
	/* Each meta-command runs into the next semicolon: a syntax error
	   where the backslash is, never a statement silently dropped. */
	assert_contains(out, "m/0001_meta.sql:2:1: error[syntax-error]");
	assert_contains(out, "m/0001_meta.sql:4:12: error[syntax-error]");
	ck_assert_ptr_null(strstr(out, ":5:1: error"));
	assert_contains(out, "2 errors, 0 warnings, 0 suppressed: refused");
	free(out);
	doc = lint_json("m/0001_meta.sql", 1);
	ck_assert_int_eq(summary_num(doc, "statements"), 3);
	ck_assert_int_eq(count_rule(doc, "syntax-error"), 2);
	ck_assert_str_eq(stmt_str(doc, 0, "kind"), "select");
	cJSON_Delete(doc);
}
END_TEST

START_TEST(test_do_blocks)
{
	static const char text[] =
		"DO $$ BEGIN EXECUTE 'DROP TABLE ' || 'accounts'; END $$;\n"
		"DO LANGUAGE plperl $$ my $x = 1; $$;\n"
		"DO $$ BEGIN IF THEN END $$;\n"
		"DO $$ BEGIN UPDATE accounts SET note = 'a'; END $$;\n"
		"DO $$ BEGIN\n"
		"  DO $x$ BEGIN DROP TABLE users; END $x$;\n"
		"END $$;\n";
	cJSON *doc;

	th_write_str(tmp, "m/0001_do.sql", text);
	doc = lint_json("m", 0);
	ck_assert_int_eq(summary_num(doc, "statements"), 5);
	/* Dynamic SQL, another language, a body that does not parse: a
	   contract, with a warning at the block. */
	ck_assert_int_eq(count_rule(doc, "unanalyzed-do-block"), 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(stmt_str(doc, i, "kind"), "do");
		ck_assert_str_eq(stmt_str(doc, i, "phase"), "contract");
	}
	ck_assert_str_eq(stmt_str(doc, 3, "phase"), "backfill");
	/* A DO block inside a DO block is read too (PL/pgSQL calls it a
	   CALL statement): once "none" without a finding, so its DROP TABLE
	   passed the gate. Now a contract, and judged where it is. */
	ck_assert_str_eq(stmt_str(doc, 4, "phase"), "contract");
	{
		const cJSON *t = cJSON_GetArrayItem(
			cJSON_GetObjectItem(
				cJSON_GetArrayItem(
					cJSON_GetObjectItem(doc, "statements"),
					4),
				"targets"),
			0);

		ck_assert_str_eq(cJSON_GetObjectItem(t, "object")->valuestring,
				 "public.users");
		ck_assert_str_eq(cJSON_GetObjectItem(t, "access")->valuestring,
				 "remove");
	}
	ck_assert_int_eq(count_rule(doc, "ban-drop-table"), 1);
	ck_assert_int_eq(count_rule(doc, "mixed-phase-migration"), 1);
	ck_assert_int_eq(count_rule(doc, "unbatched-backfill"), 1);
	ck_assert_int_eq(summary_num(doc, "warnings"), 6);
	{
		const cJSON *f;

		cJSON_ArrayForEach(f, cJSON_GetObjectItem(doc, "findings"))
		{
			if (strcmp(cJSON_GetObjectItem(f, "rule")->valuestring,
				   "ban-drop-table"))
				continue;
			ck_assert_int_eq(
				cJSON_GetObjectItem(f, "line")->valueint, 6);
			ck_assert_int_eq(
				cJSON_GetObjectItem(f, "column")->valueint, 16);
		}
	}
	cJSON_Delete(doc);
}
END_TEST

START_TEST(test_do_blocks_nested_too_deep)
{
	char *sql = strdup("SELECT 1;");
	cJSON *doc;

	/* 40 blocks, each inside the next: read 16 deep, then unreadable
	   (a contract with a warning), never a stack overflow. */
	for (int i = 0; i < 40; i++) {
		char *next;

		ck_assert_int_gt(asprintf(&next, "DO $t%d$ BEGIN %s END $t%d$;",
					  i, sql, i),
				 0);
		free(sql);
		sql = next;
	}
	th_write_str(tmp, "m/0001_deep.sql", sql);
	free(sql);
	doc = lint_json("m", 0);
	ck_assert_int_eq(summary_num(doc, "statements"), 1);
	ck_assert_str_eq(stmt_str(doc, 0, "phase"), "contract");
	ck_assert_int_ge(count_rule(doc, "unanalyzed-do-block"), 1);
	cJSON_Delete(doc);
}
END_TEST

/* ---- folders ---- */

START_TEST(test_duplicate_versions)
{
	char want[8400];

	th_write_str(tmp, "m/1_a.sql", "SELECT 1;\n");
	th_write_str(tmp, "m/001_b.sql", "SELECT 1;\n");
	th_write_str(tmp, "m/2_c.sql", "SELECT 2;\n");
	lint_fails("m", "two migrations have version '1': 'm/001_b.sql' and "
			"'m/1_a.sql'");
	/* Linting one of them names both as well. */
	lint_fails("m/2_c.sql", "two migrations have version '1': "
				"'m/001_b.sql' and 'm/1_a.sql'");
	/* Across layouts: golang-migrate and Flyway claim version 3. */
	th_rmtree(in_tmp("m"));
	th_write_str(tmp, "m/3_x.up.sql", "SELECT 3;\n");
	th_write_str(tmp, "m/V3__y.sql", "SELECT 3;\n");
	snprintf(want, sizeof(want),
		 "two migrations have version '3': 'm/3_x.up.sql' and "
		 "'m/V3__y.sql'");
	lint_fails("m", want);
}
END_TEST

START_TEST(test_two_layouts_in_one_folder)
{
	cJSON *doc;

	/* Numbered + dbmate (numeric versions) first, then Prisma
	   folders, each group in its own tool's order (docs/layouts.md). */
	th_write_str(tmp, "m/0001_a.sql", "CREATE TABLE a (id int);\n");
	th_write_str(tmp, "m/20240102000000_d.sql",
		     "-- migrate:up\nCREATE TABLE d (id int);\n"
		     "-- migrate:down\nDROP TABLE d;\n");
	th_write_str(tmp, "m/20240101000000_p/migration.sql",
		     "CREATE TABLE p (id int);\n");
	doc = lint_json("m", 0);
	ck_assert_int_eq(summary_num(doc, "files"), 3);
	ck_assert_int_eq(summary_num(doc, "statements"), 3);
	ck_assert_str_eq(stmt_str(doc, 0, "file"), "m/0001_a.sql");
	ck_assert_str_eq(stmt_str(doc, 1, "file"), "m/20240102000000_d.sql");
	/* Only the up section of the dbmate file. */
	ck_assert_str_eq(stmt_str(doc, 1, "kind"), "create_table");
	ck_assert_str_eq(stmt_str(doc, 2, "file"),
			 "m/20240101000000_p/migration.sql");
	cJSON_Delete(doc);
}
END_TEST

START_TEST(test_folder_named_like_a_migration)
{
	th_write_str(tmp, "m/0001_a.sql", "SELECT 1;\n");
	/* Once skipped in silence: the migration meant to be there was not
	   linted, and lint said ok. */
	th_write_str(tmp, "m/0002_b.sql/inner.sql", "DROP TABLE users;\n");
	lint_fails("m", "cannot read 'm/0002_b.sql': is a folder, not a file");
	th_rmtree(in_tmp("m/0002_b.sql"));
	th_write_str(tmp, "m/V3__c.sql/x", "");
	lint_fails("m", "cannot read 'm/V3__c.sql': is a folder, not a file");
	th_rmtree(in_tmp("m/V3__c.sql"));
	/* A Prisma folder may be named so: it holds migration.sql. */
	th_write_str(tmp, "m/20240101000000_d.sql/migration.sql",
		     "SELECT 2;\n");
	{
		cJSON *doc = lint_json("m", 0);

		ck_assert_int_eq(summary_num(doc, "files"), 2);
		cJSON_Delete(doc);
	}
	/* Named as the PATH: a folder where a file was named. */
	th_write_str(tmp, "n/0002_b.sql/inner.sql", "SELECT 1;\n");
	lint_fails("n", "cannot read 'n/0002_b.sql': is a folder, not a file");
}
END_TEST

START_TEST(test_symlink_loops)
{
	cJSON *doc;

	th_write_str(tmp, "m/0001_a.sql", "SELECT 1;\n");
	/* Folder loops are never walked: only <folder>/migration.sql and
	   up.sql are looked at. */
	ck_assert_int_eq(symlink(".", in_tmp("m/0002_here")), 0);
	ck_assert_int_eq(symlink("0004_b", in_tmp("m/0003_a")), 0);
	ck_assert_int_eq(symlink("0003_a", in_tmp("m/0004_b")), 0);
	doc = lint_json("m", 0);
	ck_assert_int_eq(summary_num(doc, "files"), 1);
	cJSON_Delete(doc);
	/* A loop named like a migration file is an unreadable migration. */
	ck_assert_int_eq(symlink("0005_self.sql", in_tmp("m/0005_self.sql")),
			 0);
	lint_fails("m", "cannot read 'm/0005_self.sql': too many levels of "
			"symbolic links");
}
END_TEST

/* ---- unreadable files ---- */

START_TEST(test_unreadable_fifo_and_dangling_symlink)
{
	th_write_str(tmp, "m/0001_a.sql", "SELECT 1;\n");
	/* A FIFO would block a reader until a writer comes: never opened. */
	ck_assert_int_eq(mkfifo(in_tmp("m/0002_pipe.sql"), 0644), 0);
	lint_fails("m", "cannot read 'm/0002_pipe.sql': not a regular file");
	lint_fails("m/0002_pipe.sql",
		   "cannot read 'm/0002_pipe.sql': not a regular file");
	ck_assert_int_eq(unlink(in_tmp("m/0002_pipe.sql")), 0);
	ck_assert_int_eq(symlink("gone.sql", in_tmp("m/0002_gone.sql")), 0);
	lint_fails("m", "cannot read 'm/0002_gone.sql': no such file or "
			"directory");
}
END_TEST

/*
 * Runs phasegate as the user nobody (the tests run as root, which reads
 * any file): fork, drop groups, gid and uid, exec. Returns the exit code;
 * *err gets stderr.
 */
static int run_as_nobody(const char *const *argv, char **err)
{
	const char *bin = getenv("PHG_BINARY");
	const struct passwd *pw = getpwnam("nobody");
	char errpath[4200];
	const char *args[16];
	size_t n = 0;
	int status;
	pid_t pid;

	ck_assert_msg(pw != NULL, "no user 'nobody' to drop privileges to");
	ck_assert_ptr_nonnull(bin);
	snprintf(errpath, sizeof(errpath), "%s/stderr.txt", tmp);
	args[n++] = bin;
	while (argv[n - 1] && n < 15) {
		args[n] = argv[n - 1];
		n++;
	}
	args[n] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0666);

		int null = open("/dev/null", O_WRONLY);

		if (fd < 0 || null < 0 || dup2(fd, 2) < 0 ||
		    dup2(null, 1) < 0 || chdir(tmp) < 0 ||
		    setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
		    setuid(pw->pw_uid) < 0)
			_exit(126);
		/* Really dropped: root could still read everything. */
		if (setuid(0) == 0)
			_exit(125);
		execv(bin, (char *const *)args);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "phasegate crashed");
	ck_assert_msg(WEXITSTATUS(status) < 125,
		      "cannot run %s as nobody (exit %d): the build folder and "
		      "every folder above it must be readable by others",
		      bin, WEXITSTATUS(status));
	*err = th_slurp(errpath);
	ck_assert_ptr_nonnull(*err);
	ck_assert_int_eq(unlink(errpath), 0);
	return WEXITSTATUS(status);
}

START_TEST(test_unreadable_file_as_nobody)
{
	const char *lint_dir[] = {"lint", "m", NULL};
	const char *lint_file[] = {"lint", "m/0002_secret.sql", NULL};
	char *err;

	/* nobody must reach the folder and the binary, and read all but
	   the one file. */
	ck_assert_int_eq(chmod(tmp, 0755), 0);
	th_write_str(tmp, "m/0001_a.sql", "SELECT 1;\n");
	th_write_str(tmp, "m/0002_secret.sql", "SELECT 2;\n");
	ck_assert_int_eq(chmod(in_tmp("m"), 0755), 0);
	ck_assert_int_eq(chmod(in_tmp("m/0001_a.sql"), 0644), 0);
	ck_assert_int_eq(chmod(in_tmp("m/0002_secret.sql"), 0), 0);
	ck_assert_int_eq(run_as_nobody(lint_dir, &err), 2);
	ck_assert_str_eq(err, "phasegate: cannot read 'm/0002_secret.sql': "
			      "permission denied\n");
	free(err);
	ck_assert_int_eq(run_as_nobody(lint_file, &err), 2);
	ck_assert_str_eq(err, "phasegate: cannot read 'm/0002_secret.sql': "
			      "permission denied\n");
	free(err);
	/* A folder that cannot be listed. */
	ck_assert_int_eq(chmod(in_tmp("m/0002_secret.sql"), 0644), 0);
	ck_assert_int_eq(chmod(in_tmp("m"), 0311), 0);
	ck_assert_int_eq(run_as_nobody(lint_dir, &err), 2);
	ck_assert_str_eq(err, "phasegate: cannot read 'm': permission "
			      "denied\n");
	free(err);
	ck_assert_int_eq(chmod(in_tmp("m"), 0755), 0);
	/* The same files, readable: ok, so the 2s above were the modes. */
	ck_assert_int_eq(run_as_nobody(lint_dir, &err), 0);
	free(err);
}
END_TEST

/* ---- config ---- */

static void config_fails(const char *yaml, const char *msg)
{
	const char *argv[] = {"lint", NULL};
	char *err, want[1024];

	th_write_str(tmp, "phasegate.yaml", yaml);
	ck_assert_int_eq(run(argv, NULL, &err), 2);
	snprintf(want, sizeof(want), "phasegate: %s\n", msg);
	ck_assert_str_eq(err, want);
	free(err);
}

START_TEST(test_config_unknown_keys)
{
	th_write_str(tmp, "migrations/0001_a.sql", "SELECT 1;\n");
	config_fails("migrations: migrations\n"
		     "\n"
		     "regoins: [eu]\n",
		     "phasegate.yaml:3:1: unknown key 'regoins'");
	config_fails("migrations: migrations\n"
		     "migrate:\n"
		     "  lock_timout: 5s\n",
		     "phasegate.yaml:3:3: unknown key 'lock_timout' in "
		     "'migrate': it takes 'history_schema', 'lock_timeout', "
		     "'statement_timeout', 'retries', 'retry_backoff', "
		     "'advisory_lock_wait' and 'replica_wait'");
}
END_TEST

START_TEST(test_config_wrong_types)
{
	th_write_str(tmp, "migrations/0001_a.sql", "SELECT 1;\n");
	config_fails("migrations: migrations\npostgres_version: fifteen\n",
		     "phasegate.yaml:2:19: 'postgres_version' must be an "
		     "integer between 10 and 15, not 'fifteen'");
	config_fails("migrations: [a, b]\n",
		     "phasegate.yaml:1:13: 'migrations' must be a folder "
		     "path, not a list");
}
END_TEST

START_TEST(test_missing_environment_variable)
{
	static const char yaml[] =
		"migrations: migrations\n"
		"regions:\n"
		"  - name: eu\n"
		"    database: postgresql://app:${PHG_MX_PASSWORD}@127.0.0.1:"
		"1/db?application_name=${PHG_MX_NOT_SET}\n";
	static const char *const commands[][2] = {
		{"plan", NULL}, {"migrate", NULL}, {"status", NULL}};
	const char *lint[] = {"lint", NULL};
	char *out, *err;

	th_write_str(tmp, "migrations/0001_a.sql", "SELECT 1;\n");
	th_write_str(tmp, "phasegate.yaml", yaml);
	ck_assert_int_eq(setenv("PHG_MX_PASSWORD", "mx-Pw-7f3a9", 1), 0);
	unsetenv("PHG_MX_NOT_SET");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		ck_assert_int_eq(run(commands[i], &out, &err), 2);
		/* The variable's name, never a value or the DSN around it. */
		ck_assert_str_eq(err, "phasegate: environment variable "
				      "'PHG_MX_NOT_SET' is not set\n");
		ck_assert_str_eq(out, "");
		free(out);
		free(err);
	}
	/* lint needs no DSN: it does not expand them. */
	ck_assert_int_eq(run(lint, &out, &err), 0);
	ck_assert_ptr_null(strstr(out, "mx-Pw-7f3a9"));
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
}
END_TEST

/* ---- nothing written ---- */

/* Every path under dir with its size and mtime, one per line. */
static void tree_listing(const char *dir, const char *rel, char **acc)
{
	char path[4096];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s%s%s", dir, *rel ? "/" : "", rel);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char sub[4096], full[4200], *next;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
			 de->d_name);
		snprintf(full, sizeof(full), "%s/%s", dir, sub);
		ck_assert_int_eq(lstat(full, &st), 0);
		ck_assert_int_gt(asprintf(&next, "%s%s %lld %lld.%09ld\n", *acc,
					  sub, (long long)st.st_size,
					  (long long)st.st_mtim.tv_sec,
					  st.st_mtim.tv_nsec),
				 0);
		free(*acc);
		*acc = next;
		if (S_ISDIR(st.st_mode))
			tree_listing(dir, sub, acc);
	}
	closedir(d);
}

START_TEST(test_lint_writes_nothing)
{
	static const char *const formats[] = {"text",	"json",	  "sarif",
					      "github", "gitlab", "gcc"};
	char *before = strdup(""), *after;

	th_write_str(tmp, "phasegate.yaml", "migrations: migrations\n");
	th_write_str(tmp, "migrations/0001_a.sql",
		     "CREATE TABLE a (id int);\n");
	th_write_str(tmp, "migrations/0002_b.sql",
		     "ALTER TABLE a RENAME COLUMN id TO key;\n");
	th_write_str(tmp, "migrations/0003_c.sql", "SELECT FROM FROM;\n");
	tree_listing(tmp, "", &before);
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		const char *cfg[] = {"lint", "--format", formats[i], NULL};
		const char *dir[] = {"lint",	 "--all",      "--format",
				     formats[i], "migrations", NULL};

		ck_assert_int_eq(run(cfg, NULL, NULL), 1);
		ck_assert_int_eq(run(dir, NULL, NULL), 1);
	}
	after = strdup("");
	tree_listing(tmp, "", &after);
	ck_assert_str_eq(after, before);
	free(before);
	free(after);
}
END_TEST

static Suite *matrix_suite(void)
{
	Suite *s = suite_create("input_matrix");
	TCase *big = tcase_create("size");
	TCase *tc = tcase_create("input");

	tcase_add_checked_fixture(big, setup, teardown);
	tcase_set_timeout(big, SLOW_BUILD ? 900 : 300);
	tcase_add_test(big, test_fifty_mb_file);
	tcase_add_test(big, test_hundred_thousand_statements);
	tcase_add_test(big, test_ten_thousand_statements_parsed_whole);
	suite_add_tcase(s, big);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_psql_meta_commands);
	tcase_add_test(tc, test_do_blocks);
	tcase_add_test(tc, test_do_blocks_nested_too_deep);
	tcase_add_test(tc, test_duplicate_versions);
	tcase_add_test(tc, test_two_layouts_in_one_folder);
	tcase_add_test(tc, test_folder_named_like_a_migration);
	tcase_add_test(tc, test_symlink_loops);
	tcase_add_test(tc, test_unreadable_fifo_and_dangling_symlink);
	tcase_add_test(tc, test_unreadable_file_as_nobody);
	tcase_add_test(tc, test_config_unknown_keys);
	tcase_add_test(tc, test_config_wrong_types);
	tcase_add_test(tc, test_missing_environment_variable);
	tcase_add_test(tc, test_lint_writes_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(matrix_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
