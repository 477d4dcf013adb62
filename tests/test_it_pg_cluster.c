/*
 * test_it_pg_cluster.c: integration test of the cluster harness itself —
 * three real PostgreSQL 15 clusters answer on their own ports, one can be
 * stopped and restarted on the same port, and their databases are
 * independent. Started once in an unchecked fixture, shared by the tests.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_cluster.h"

static struct pgc_set regions;
static int regions_rc = -1;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void regions_up(void)
{
	double t0;

	if (!pgc_available())
		return; /* each test fails with PGC_UNAVAILABLE_MSG */
	t0 = now_s();
	regions_rc = pgc_start(&regions, 3);
	if (regions_rc == 0)
		printf("pg_cluster: started 3 clusters in %.2f s (ports %d %d "
		       "%d)\n",
		       now_s() - t0, regions.c[0].port, regions.c[1].port,
		       regions.c[2].port);
	fflush(stdout);
}

static void regions_down(void)
{
	double t0 = now_s();

	pgc_stop_all(&regions);
	if (regions_rc == 0)
		printf("pg_cluster: stopped and removed them in %.2f s\n",
		       now_s() - t0);
	fflush(stdout);
}

static void require_regions(void)
{
	ck_assert_msg(pgc_available(), PGC_UNAVAILABLE_MSG);
	ck_assert_msg(regions_rc == 0, "pgc_start failed (see stderr)");
}

START_TEST(each_cluster_answers_on_its_port)
{
	require_regions();
	ck_assert_uint_eq(regions.n, 3);
	for (size_t i = 0; i < regions.n; i++) {
		const struct pgc_cluster *c = &regions.c[i];
		char dsn[64];
		char *one = pgc_query_value(c, "SELECT 1");
		char *port = pgc_query_value(c, "SHOW port");

		snprintf(dsn, sizeof(dsn),
			 "postgresql://postgres@127.0.0.1:%d/postgres",
			 c->port);
		ck_assert_str_eq(c->dsn, dsn);
		ck_assert_ptr_nonnull(one);
		ck_assert_str_eq(one, "1");
		ck_assert_ptr_nonnull(port);
		ck_assert_int_eq(atoi(port), c->port);
		ck_assert_uint_lt(strlen(c->dir), 64);
		for (size_t j = 0; j < i; j++)
			ck_assert_int_ne(c->port, regions.c[j].port);
		free(one);
		free(port);
	}
}
END_TEST

START_TEST(stopped_cluster_refuses_then_restarts_on_same_port)
{
	struct pgc_cluster *c;
	int port;
	char *one;

	require_regions();
	c = &regions.c[1];
	port = c->port;
	ck_assert(pgc_ping(c));
	pgc_stop_one(&regions, 1);
	ck_assert_msg(!pgc_ping(c), "cluster 2 still answers after stop");
	fprintf(stderr, "expected: a 'connection refused' from cluster 2\n");
	ck_assert_ptr_null(pgc_query_value(c, "SELECT 1"));
	/* The others keep running. */
	ck_assert(pgc_ping(&regions.c[0]));
	ck_assert(pgc_ping(&regions.c[2]));

	ck_assert_int_eq(pgc_restart_one(&regions, 1), 0);
	ck_assert_int_eq(c->port, port);
	one = pgc_query_value(c, "SELECT 1");
	ck_assert_ptr_nonnull(one);
	ck_assert_str_eq(one, "1");
	free(one);
}
END_TEST

START_TEST(databases_are_independent)
{
	char *n;

	require_regions();
	/* Cluster 2, restarted by a test child, outlived that child. */
	for (size_t i = 0; i < regions.n; i++)
		ck_assert_msg(pgc_ping(&regions.c[i]), "cluster %zu is down",
			      i + 1);
	ck_assert_int_eq(pgc_exec(&regions.c[0],
				  "CREATE TABLE only_in_one (id int);"
				  "INSERT INTO only_in_one VALUES (7)"),
			 0);
	n = pgc_query_value(&regions.c[0], "SELECT id FROM only_in_one");
	ck_assert_ptr_nonnull(n);
	ck_assert_str_eq(n, "7");
	free(n);
	n = pgc_query_value(&regions.c[2],
			    "SELECT to_regclass('only_in_one') IS NULL");
	ck_assert_ptr_nonnull(n);
	ck_assert_str_eq(n, "t");
	free(n);
	/* A failing statement is reported as -1, not a crash. */
	fprintf(stderr,
		"expected: 'only_in_one' does not exist in cluster 3\n");
	ck_assert_int_eq(pgc_exec(&regions.c[2], "SELECT * FROM only_in_one"),
			 -1);
	ck_assert_int_eq(pgc_exec(&regions.c[0], "DROP TABLE only_in_one"), 0);
}
END_TEST

static Suite *pg_cluster_suite(void)
{
	Suite *s = suite_create("pg_cluster");
	TCase *tc = tcase_create("regions");

	tcase_add_unchecked_fixture(tc, regions_up, regions_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, each_cluster_answers_on_its_port);
	tcase_add_test(tc, stopped_cluster_refuses_then_restarts_on_same_port);
	tcase_add_test(tc, databases_are_independent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pg_cluster_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
