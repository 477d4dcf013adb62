/*
 * test_store.c: the ledger on SQLite, in a temporary folder. The shared
 * round-trip suite (store_cases.c), plus what only the file backend has:
 * the folder created, mode 0600 on the file and its -wal and -shm files
 * whatever the umask, a looser mode tightened, WAL journal; a folder or
 * an empty location refused; and a PostgreSQL URL's password kept out of
 * the error when the server cannot be reached.
 */
#define _GNU_SOURCE
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "store/store.h"
#include "store_cases.h"

static char *dir; /* this test's temporary folder (checked fixture) */

static void dir_up(void)
{
	dir = th_tmpdir();
}

static void dir_down(void)
{
	th_rmtree(dir);
	free(dir);
	dir = NULL;
}

static char *sqlite_fresh(void)
{
	static int n;
	char *p = NULL;

	ck_assert_int_ge(
		asprintf(&p, "%s/ledger-%d/.phasegate/state.db", dir, ++n), 0);
	return p;
}

static void sqlite_set_version(const char *location, int v)
{
	sqlite3 *db = NULL;
	char sql[128];
	char *msg = NULL;

	ck_assert_int_eq(sqlite3_open(location, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", v);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK,
		      "%s", msg ? msg : "");
	ck_assert_int_eq(sqlite3_changes(db), 1);
	sqlite3_close(db);
}

static const struct sc_backend sqlite_backend = {
	.name = "sqlite",
	.fresh = sqlite_fresh,
	.set_version = sqlite_set_version,
};

static mode_t mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat '%s' failed", path);
	return st.st_mode & 07777;
}

START_TEST(files_get_mode_0600_whatever_the_umask)
{
	struct phg_err err = {0};
	struct phg_store *s = NULL;
	char *loc = sqlite_fresh(), path[4200];
	mode_t old = umask(0);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long id;

	ck_assert_msg(phg_store_open(loc, &s, &err) == 0, "%s", err.msg);
	umask(old);
	ck_assert_str_eq(phg_store_where(s), loc);
	id = 0;
	{
		struct phg_store_release r = {
			.environment = "e", .tag = "t", .target_slot = "blue"};

		ck_assert(phg_store_release_create(s, &r, &id, &err) == 0);
	}
	/* The folder was created; the database and, while it is open, its
	   WAL and shared-memory files are 0600. */
	snprintf(path, sizeof(path), "%s", loc);
	*strrchr(path, '/') = '\0';
	ck_assert_int_eq(mode_of(path), 0700);
	ck_assert_int_eq(mode_of(loc), 0600);
	snprintf(path, sizeof(path), "%s-wal", loc);
	ck_assert_int_eq(mode_of(path), 0600);
	snprintf(path, sizeof(path), "%s-shm", loc);
	ck_assert_int_eq(mode_of(path), 0600);
	/* The journal is WAL (a property of the file). */
	ck_assert_int_eq(sqlite3_open(loc, &db), SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL),
		SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	phg_store_close(s);

	/* A file someone loosened is tightened on the next open. */
	ck_assert_int_eq(chmod(loc, 0644), 0);
	ck_assert_msg(phg_store_open(loc, &s, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(mode_of(loc), 0600);
	phg_store_close(s);
	free(loc);
}
END_TEST

START_TEST(folder_or_empty_location_refused)
{
	struct phg_err err = {0};
	struct phg_store *s = (struct phg_store *)1;

	ck_assert_int_eq(phg_store_open(dir, &s, &err), PHG_EIO);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err.msg, dir) != NULL, "%s", err.msg);
	err = (struct phg_err){0};
	ck_assert_int_eq(phg_store_open("", &s, &err), PHG_ECONFIG);
	ck_assert_str_eq(err.msg, "the ledger location is empty");
}
END_TEST

/*
 * Opening a ledger that is set up takes no write lock: while another
 * connection holds SQLite's write lock (a driver in a step), a reader such
 * as `release status` opens and reads at once instead of queueing.
 */
START_TEST(open_takes_no_write_lock)
{
	struct phg_err err = {0};
	struct phg_store *s = NULL, *reader = NULL;
	struct phg_store_release got = {0};
	char *loc = sqlite_fresh();
	sqlite3 *db = NULL;
	long long id = 0;
	bool found = false;
	time_t t0;

	ck_assert_msg(phg_store_open(loc, &s, &err) == 0, "%s", err.msg);
	{
		struct phg_store_release r = {
			.environment = "e", .tag = "t", .target_slot = "blue"};

		ck_assert(phg_store_release_create(s, &r, &id, &err) == 0);
	}
	ck_assert_int_eq(sqlite3_open(loc, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	t0 = time(NULL);
	ck_assert_msg(phg_store_open(loc, &reader, &err) == 0, "%s", err.msg);
	ck_assert(phg_store_release_get(reader, "e", "t", &got, &found, &err) ==
		  0);
	ck_assert(found);
	/* The busy timeout is 10 s: a queued open would take that long. */
	ck_assert_int_le(time(NULL) - t0, 2);
	phg_store_release_release(&got);
	phg_store_close(reader);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	phg_store_close(s);
	free(loc);
}
END_TEST

START_TEST(unreachable_url_keeps_the_password_out)
{
	/* Port 1 on loopback: nothing listens, the connection is refused. */
	static const char *const urls[] = {
		"postgres://ledger:Sup3r-s3cret@127.0.0.1:1/ledger",
		"postgresql://ledger:Sup3r%2Ds3cret@127.0.0.1:1/ledger",
		("postgresql://127.0.0.1:1/ledger?user=ledger&password=Sup3r-"
		 "s3cret"),
		/* Unescaped '/': libpq would read "Sup3r" as the port. */
		"postgres://ledger:Sup3r/s3cret@127.0.0.1:1/ledger",
	};

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct phg_err err = {0};
		struct phg_store *s = NULL;

		ck_assert_int_lt(phg_store_open(urls[i], &s, &err), 0);
		ck_assert_msg(strstr(err.msg, "127.0.0.1:1/ledger") != NULL,
			      "%s", err.msg);
		ck_assert_msg(strstr(err.msg, "s3cret") == NULL, "%s", err.msg);
		ck_assert_msg(strstr(err.msg, "ledger:") == NULL, "%s",
			      err.msg);
		ck_assert_msg(strstr(err.msg, "password=") == NULL, "%s",
			      err.msg);
	}
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *shared = tcase_create("sqlite_cases");
	TCase *own = tcase_create("sqlite_file");

	sc_backend = &sqlite_backend;
	tcase_add_checked_fixture(shared, dir_up, dir_down);
	tcase_set_timeout(shared, 120);
	sc_add_cases(shared);
	suite_add_tcase(s, shared);
	tcase_add_checked_fixture(own, dir_up, dir_down);
	tcase_add_test(own, files_get_mode_0600_whatever_the_umask);
	tcase_add_test(own, folder_or_empty_location_refused);
	tcase_add_test(own, open_takes_no_write_lock);
	tcase_add_test(own, unreachable_url_keeps_the_password_out);
	suite_add_tcase(s, own);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
