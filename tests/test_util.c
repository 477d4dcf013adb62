/*
 * test_util.c: the shared pieces — hash map (with deletion), UTF-8 checks,
 * JSON string escaping, SHA-256, the arena, errors (first one wins).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "util/util.h"

START_TEST(map_put_get_delete)
{
	struct phg_arena a;
	struct phg_map m;
	char key[32];

	phg_arena_init(&a);
	phg_map_init(&m, &a);
	for (intptr_t i = 1; i <= 5000; i++) {
		snprintf(key, sizeof(key), "k%ld", (long)i);
		ck_assert_int_eq(phg_map_put(&m, key, (void *)i), 0);
	}
	ck_assert_uint_eq(m.n, 5000);
	/* Delete every other key; the rest must still be found. */
	for (intptr_t i = 1; i <= 5000; i += 2) {
		snprintf(key, sizeof(key), "k%ld", (long)i);
		phg_map_del(&m, key);
	}
	ck_assert_uint_eq(m.n, 2500);
	for (intptr_t i = 1; i <= 5000; i++) {
		snprintf(key, sizeof(key), "k%ld", (long)i);
		if (i % 2)
			ck_assert_ptr_null(phg_map_get(&m, key));
		else
			ck_assert_int_eq((intptr_t)phg_map_get(&m, key), i);
	}
	phg_map_release(&m);
	phg_arena_release(&a);
}
END_TEST

START_TEST(utf8_checks)
{
	ck_assert_uint_eq(phg_utf8_invalid_at("abc", 3), 3);
	ck_assert_uint_eq(phg_utf8_invalid_at("a\xc3\xa9z", 4), 4);
	ck_assert_uint_eq(phg_utf8_invalid_at("ab\0c", 4), 2);
	ck_assert_uint_eq(phg_utf8_invalid_at("ab\xff", 3), 2);
	/* Overlong encoding and a lone surrogate are invalid. */
	ck_assert_uint_eq(phg_utf8_invalid_at("x\xc0\xaf", 3), 1);
	ck_assert_uint_eq(phg_utf8_invalid_at("x\xed\xa0\x80", 4), 1);
	/* Truncated sequence at the end. */
	ck_assert_uint_eq(phg_utf8_invalid_at("x\xe2\x82", 3), 1);
	ck_assert_uint_eq(phg_utf8_count("a\xc3\xa9\xe2\x82\xac", 6), 3);
}
END_TEST

START_TEST(json_escaping)
{
	struct phg_buf b = {0};

	ck_assert_int_eq(phg_buf_json_str(&b, "a\"b\\c\n\t\x01\xc3\xa9"), 0);
	ck_assert_str_eq(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\xc3\xa9\"");
	phg_buf_release(&b);
}
END_TEST

START_TEST(sha256_known_value)
{
	char hex[65];

	phg_sha256_hex("abc", 3, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9c"
			      "b410ff61f20015ad");
}
END_TEST

START_TEST(arena_strings_and_big_blocks)
{
	struct phg_arena a;
	char *big, *s;

	phg_arena_init(&a);
	s = phg_arena_printf(&a, "%s.%d", "public", 7);
	ck_assert_str_eq(s, "public.7");
	big = phg_arena_alloc(&a, 1 << 20);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 1 << 20);
	ck_assert_str_eq(phg_arena_strndup(&a, "abcdef", 3), "abc");
	phg_arena_release(&a);
}
END_TEST

/*
 * An arena past 1 MiB of blocks takes 2 MiB huge-page regions: 12 MiB of
 * small allocations (more than a region each way) keep their contents,
 * are zeroed when asked, never overlap, and the arena releases cleanly.
 * PHG_ARENA_MALLOC is unset here so that the sanitizer builds, which set
 * it, run the block path too.
 */
START_TEST(arena_grows_into_huge_blocks)
{
	enum { N = 12 * 1024, SIZE = 1000 };
	char *saved = getenv("PHG_ARENA_MALLOC");
	char *copy = saved ? strdup(saved) : NULL;
	static unsigned char *items[N];
	struct phg_arena a;

	unsetenv("PHG_ARENA_MALLOC");
	phg_arena_init(&a);
	for (int i = 0; i < N; i++) {
		items[i] = phg_arena_alloc(&a, SIZE);
		ck_assert_ptr_nonnull(items[i]);
		for (int k = 0; k < SIZE; k++)
			ck_assert_int_eq(items[i][k], 0);
		memset(items[i], i & 0xff, SIZE);
	}
	ck_assert_uint_ge(a.taken, (size_t)N * SIZE);
	/* The newest block is a region: aligned to its 2 MiB. */
	ck_assert_uint_eq((uintptr_t)(void *)a.head % (2u * 1024 * 1024), 0);
	for (int i = 0; i < N; i++)
		for (int k = 0; k < SIZE; k += 97)
			ck_assert_int_eq(items[i][k], i & 0xff);
	phg_arena_release(&a);
	ck_assert_ptr_null(a.head);
	if (copy) {
		setenv("PHG_ARENA_MALLOC", copy, 1);
		free(copy);
	}
}
END_TEST

START_TEST(first_error_wins)
{
	struct phg_err err = {0};

	ck_assert_int_eq(phg_err_set(&err, PHG_EIO, "cannot read '%s'", "a"),
			 PHG_EIO);
	ck_assert_int_eq(phg_err_set(&err, PHG_ECONFIG, "second"), PHG_ECONFIG);
	ck_assert_int_eq(err.code, PHG_EIO);
	ck_assert_str_eq(err.msg, "cannot read 'a'");
}
END_TEST

START_TEST(read_file_errors_name_the_path)
{
	char *dir = th_tmpdir();
	struct phg_err err = {0};
	struct phg_buf b = {0};
	char path[512];

	snprintf(path, sizeof(path), "%s/missing.sql", dir);
	ck_assert_int_eq(phg_read_file(path, &b, &err), PHG_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, "missing.sql"));
	ck_assert_ptr_nonnull(strstr(err.msg, "no such file"));
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(phg_read_file(dir, &b, &err), PHG_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, "folder"));
	th_write_str(dir, "ok.sql", "SELECT 1;");
	snprintf(path, sizeof(path), "%s/ok.sql", dir);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(phg_read_file(path, &b, &err), 0);
	ck_assert_str_eq(b.data, "SELECT 1;");
	phg_buf_release(&b);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* Sizes around the 64 KiB read size, and a file that says size 0 but has
   text (/proc): each reads whole, short reads or not. */
START_TEST(read_file_reads_whole)
{
	static const size_t sizes[] = {1, 65534, 65535, 65536, 200000};
	char *dir = th_tmpdir();
	struct phg_err err = {0};
	struct phg_buf b = {0};
	char path[512];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *text = malloc(sizes[i] + 1);

		ck_assert_ptr_nonnull(text);
		for (size_t k = 0; k < sizes[i]; k++)
			text[k] = (char)('a' + k % 26);
		text[sizes[i]] = '\0';
		th_write(dir, "f.sql", text, sizes[i]);
		snprintf(path, sizeof(path), "%s/f.sql", dir);
		b.len = 0;
		ck_assert_int_eq(phg_read_file(path, &b, &err), 0);
		ck_assert_uint_eq(b.len, sizes[i]);
		ck_assert(memcmp(b.data, text, sizes[i]) == 0);
		free(text);
	}
	b.len = 0;
	ck_assert_int_eq(phg_read_file("/proc/self/status", &b, &err), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "\nPid:"));
	ck_assert(b.len > 0 && b.data[b.len - 1] == '\n');
	phg_buf_release(&b);
	th_rmtree(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("util");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, map_put_get_delete);
	tcase_add_test(tc, read_file_reads_whole);
	tcase_add_test(tc, utf8_checks);
	tcase_add_test(tc, json_escaping);
	tcase_add_test(tc, sha256_known_value);
	tcase_add_test(tc, arena_strings_and_big_blocks);
	tcase_add_test(tc, arena_grows_into_huge_blocks);
	tcase_add_test(tc, first_error_wins);
	tcase_add_test(tc, read_file_errors_name_the_path);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
