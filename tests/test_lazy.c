/*
 * test_lazy.c: libraries loaded on first use (src/lazy). The phasegate binary
 * does not load libpq, libcurl, libsqlite3 or libcrypto to lint; the stubs
 * pass every kind of argument through on their first call (variadic, floating
 * point, more than fit in registers) and later calls; several threads may make
 * the first call at once; a library or function that cannot be loaded goes to
 * the failure handler. Built without PHG_LAZY_LIBS (not x86-64 Linux), the
 * binary must link those libraries instead, and the suite checks that.
 */
#include <check.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "lazy/lazy.h"
#include "util/util.h"

static const char *const lazy_sonames[] = {"libpq.so.5", "libcurl.so.4",
					   "libsqlite3.so.0", "libcrypto.so.3"};
#define NLAZY (sizeof(lazy_sonames) / sizeof(lazy_sonames[0]))

/* The dynamic loader's log of one lint of the demo migrations. */
static char *loader_log_of_lint(void)
{
	const char *argv[] = {"lint", "--format", "json",
			      th_src_path("migrations"), NULL};
	char *dir = th_tmpdir();
	char *log = NULL;
	int rc;

	setenv("LD_DEBUG", "files", 1);
	rc = th_run(dir, argv, NULL, &log);
	unsetenv("LD_DEBUG");
	ck_assert_msg(rc == 0, "phasegate lint exited %d: %s", rc,
		      log ? log : "");
	ck_assert_ptr_nonnull(log);
	/* The log is there: the libraries phasegate does link are in it. */
	ck_assert_msg(strstr(log, "libcjson.so") != NULL,
		      "LD_DEBUG=files printed no loader log: %s", log);
	th_rmtree(dir);
	free(dir);
	return log;
}

#ifdef PHG_LAZY_LIBS

/* Whether the library is in this process (dlopen with RTLD_NOLOAD). */
static int in_process(const char *soname)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);

	if (h)
		dlclose(h);
	return h != NULL;
}

START_TEST(lint_binary_loads_none_of_them)
{
	char *log = loader_log_of_lint();

	for (size_t i = 0; i < NLAZY; i++)
		ck_assert_msg(strstr(log, lazy_sonames[i]) == NULL,
			      "phasegate lint loaded %s", lazy_sonames[i]);
	free(log);
}
END_TEST

/* Runs first in its (forked) process: nothing is loaded until called. */
START_TEST(loaded_on_first_call_only)
{
	for (size_t i = 0; i < NLAZY; i++)
		ck_assert_msg(!in_process(lazy_sonames[i]),
			      "%s loaded before any call", lazy_sonames[i]);
	ck_assert_int_ge(PQlibVersion(), 150000);
	ck_assert(in_process("libpq.so.5"));
	ck_assert(!in_process("libsqlite3.so.0"));
	ck_assert(!in_process("libcurl.so.4"));
}
END_TEST

START_TEST(variadic_and_float_arguments_on_first_call)
{
	/* The first call of sqlite3_mprintf goes through the resolver: 8 ints
	 * (2 more than the registers hold) and 10 doubles (2 more than xmm0-7),
	 * a string and a 64-bit integer must all arrive. */
	char *s = sqlite3_mprintf(
		"%s|%d,%d,%d,%d,%d,%d,%d,%d|%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,"
		"%.1f,%.1f,%.1f|%lld",
		"abc", 1, 2, 3, 4, 5, 6, 7, 8, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5,
		7.5, 8.5, 9.5, 10.5, (long long)1 << 40);

	ck_assert_str_eq(s, "abc|1,2,3,4,5,6,7,8|1.5,2.5,3.5,4.5,5.5,6.5,7.5,"
			    "8.5,9.5,10.5|1099511627776");
	sqlite3_free(s);
	/* The second call jumps straight to the library. */
	s = sqlite3_mprintf("%d-%.2f", 42, 0.25);
	ck_assert_str_eq(s, "42-0.25");
	sqlite3_free(s);
}
END_TEST

START_TEST(libraries_work_through_the_stubs)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	PQconninfoOption *opts;
	char *errmsg = NULL, *esc;
	const char *host = NULL;
	char hex[65];
	CURL *h;

	/* sqlite: a query in memory, a double result */
	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_prepare_v2(db, "SELECT ?1 * 2.5", -1, &st, NULL),
		SQLITE_OK);
	ck_assert_int_eq(sqlite3_bind_double(st, 1, 3.0), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert(sqlite3_column_double(st, 0) == 7.5);
	sqlite3_finalize(st);
	sqlite3_close(db);

	/* libpq: parse a conninfo string (no server needed) */
	opts = PQconninfoParse("host=127.0.0.1 port=1 dbname=x", &errmsg);
	ck_assert_ptr_nonnull(opts);
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
	ck_assert_str_eq(host, "127.0.0.1");
	PQconninfoFree(opts);

	/* curl: variadic setopt (a pointer and a long), no transfer */
	h = curl_easy_init();
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(
		curl_easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:1/"),
		CURLE_OK);
	ck_assert_int_eq(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10L),
			 CURLE_OK);
	esc = curl_easy_escape(h, "a b/c", 0);
	ck_assert_str_eq(esc, "a%20b%2Fc");
	curl_free(esc);
	curl_easy_cleanup(h);

	/* libcrypto, through phg_sha256_hex */
	phg_sha256_hex("abc", 3, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9c"
			      "b410ff61f20015ad");
}
END_TEST

static void *first_call(void *arg)
{
	(void)arg;
	return (void *)(long)sqlite3_libversion_number();
}

START_TEST(first_call_from_many_threads)
{
	pthread_t t[8];
	void *v;

	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, first_call, NULL),
				 0);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(pthread_join(t[i], &v), 0);
		ck_assert_int_eq((long)v, SQLITE_VERSION_NUMBER);
	}
}
END_TEST

static const char *expect_in_why;

static void exit_on_fail(const char *soname, const char *why)
{
	int found = strstr(why, expect_in_why) != NULL;

	fprintf(stderr, "lazy load failed: %s: %s\n", soname, why);
	exit(found ? 42 : 1);
}

START_TEST(missing_library_calls_the_handler)
{
	static void *tab[1];
	static const unsigned offsets[1] = {0};
	struct phg_lazy_lib lib = {"libphasegate-no-such-library.so.0",
				   "some_function\0",
				   offsets,
				   tab,
				   1,
				   NULL};

	expect_in_why = "libphasegate-no-such-library.so.0";
	phg_lazy_on_fail(exit_on_fail);
	phg_lazy_resolve(&lib, 0);
	ck_abort_msg("phg_lazy_resolve returned for a missing library");
}
END_TEST

START_TEST(missing_function_calls_the_handler)
{
	static void *tab[1];
	static const unsigned offsets[1] = {0};
	struct phg_lazy_lib lib = {
		"libc.so.6", "phg_no_such_function\0", offsets, tab, 1, NULL};

	expect_in_why = "phg_no_such_function";
	phg_lazy_on_fail(exit_on_fail);
	phg_lazy_resolve(&lib, 0);
	ck_abort_msg("phg_lazy_resolve returned for a missing function");
}
END_TEST

START_TEST(binary_reports_a_missing_library)
{
	/* A libpq.so.5 the loader cannot use comes first on the library path:
	 * lint does not notice; status, which connects, exits 3 naming it. */
	const char *status[] = {"status", "--config", "phasegate.yaml", NULL};
	const char *lint[] = {"lint", "migrations", NULL};
	char *dir = th_tmpdir(), *errout = NULL;
	char libdir[4096];
	int rc;

	th_write_str(dir, "lib/libpq.so.5", "not an ELF file\n");
	th_write_str(dir, "migrations/0001_t.sql",
		     "CREATE TABLE t (id int);\n");
	th_write_str(dir, "phasegate.yaml",
		     "migrations: migrations\n"
		     "regions:\n"
		     "  - name: r1\n"
		     "    primary: true\n"
		     "    database: postgres://127.0.0.1:1/x\n");
	snprintf(libdir, sizeof(libdir), "%s/lib", dir);
	setenv("LD_LIBRARY_PATH", libdir, 1);
	rc = th_run(dir, lint, NULL, &errout);
	ck_assert_msg(rc == 0, "lint exited %d: %s", rc, errout);
	free(errout);
	errout = NULL;
	rc = th_run(dir, status, NULL, &errout);
	unsetenv("LD_LIBRARY_PATH");
	ck_assert_msg(rc == 3, "status exited %d: %s", rc, errout);
	ck_assert_msg(strstr(errout, "phasegate: cannot load libpq.so.5: ") !=
			      NULL,
		      "unexpected message: %s", errout);
	free(errout);
	th_rmtree(dir);
	free(dir);
}
END_TEST

#else

START_TEST(lint_binary_links_them)
{
	char *log = loader_log_of_lint();

	/* Without the stubs, the libraries are linked and loaded at
	   start-up. */
	for (size_t i = 0; i < NLAZY; i++)
		ck_assert_msg(strstr(log, lazy_sonames[i]) != NULL,
			      "built without PHG_LAZY_LIBS, yet %s was not "
			      "loaded",
			      lazy_sonames[i]);
	free(log);
}
END_TEST

#endif

static Suite *lazy_suite(void)
{
	Suite *s = suite_create("lazy");
	TCase *tc = tcase_create("core");

#ifdef PHG_LAZY_LIBS
	tcase_add_test(tc, lint_binary_loads_none_of_them);
	tcase_add_test(tc, loaded_on_first_call_only);
	tcase_add_test(tc, variadic_and_float_arguments_on_first_call);
	tcase_add_test(tc, libraries_work_through_the_stubs);
	tcase_add_test(tc, first_call_from_many_threads);
	tcase_add_exit_test(tc, missing_library_calls_the_handler, 42);
	tcase_add_exit_test(tc, missing_function_calls_the_handler, 42);
	tcase_add_test(tc, binary_reports_a_missing_library);
#else
	tcase_add_test(tc, lint_binary_links_them);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(lazy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
