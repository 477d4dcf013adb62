/*
 * test_fast_paths.c: the speed paths give what the plain ones gave. printf's
 * common conversions without vsnprintf (and the fallback for the rest), a
 * buffer that flushes as it grows, JSON escaping, the UTF-8 check and the
 * line/column cursor 8 bytes at a time, and the JSON reader's chunked
 * allocation, each compared with snprintf, a byte-by-byte reference or
 * cJSON on many inputs, including every length around a word boundary.
 */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/lexer.h"
#include "parse/parse.h"
#include "util/util.h"

/* A small deterministic generator (xorshift), so failures reproduce. */
static uint64_t rng = 88172645463325252ULL;

static unsigned next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 32);
}

static struct phg_arena arena;

/* The same format through phg_arena_printf, phg_buf_printf (on a buffer
 * that already holds text) and phg_asprintf must equal snprintf's. */
#define CHECK_FMT(...)                                                         \
	do {                                                                   \
		static char want[16384];                                       \
		struct phg_buf b = {0};                                        \
		char *got, *heap;                                              \
                                                                               \
		snprintf(want, sizeof(want), __VA_ARGS__);                     \
		got = phg_arena_printf(&arena, __VA_ARGS__);                   \
		ck_assert_ptr_nonnull(got);                                    \
		ck_assert_str_eq(got, want);                                   \
		ck_assert_int_eq(phg_buf_puts(&b, "<"), 0);                    \
		ck_assert_int_eq(phg_buf_printf(&b, __VA_ARGS__), 0);          \
		ck_assert_uint_eq(b.len, strlen(want) + 1);                    \
		ck_assert_str_eq(b.data + 1, want);                            \
		phg_buf_release(&b);                                           \
		heap = phg_asprintf(__VA_ARGS__);                              \
		ck_assert_ptr_nonnull(heap);                                   \
		ck_assert_str_eq(heap, want);                                  \
		free(heap);                                                    \
	} while (0)

START_TEST(printf_matches_snprintf)
{
	const char *volatile null_str = NULL;
	char big[6000];

	phg_arena_init(&arena);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_FMT("plain text, no conversion");
	CHECK_FMT("%s", "a string");
	CHECK_FMT("%s and %s", "", "b");
	CHECK_FMT("%d|%i|%u|%d", 0, -7, 42u, INT_MIN);
	CHECK_FMT("%ld|%lu|%ld", LONG_MIN, ULONG_MAX, 123456789L);
	CHECK_FMT("%lld|%llu", LLONG_MIN, ULLONG_MAX);
	CHECK_FMT("%zu|%zd|%zd", (size_t)SIZE_MAX, (ptrdiff_t)-5,
		  (ptrdiff_t)PTRDIFF_MAX);
	CHECK_FMT("%c%c%c", 'a', '"', '\n');
	CHECK_FMT("100%% of %s%%", "it");
	CHECK_FMT("table '%s' column \"%s\" line %d", "public.users", "email",
		  12);
	/* Conversions the fast path leaves to vsnprintf. */
	CHECK_FMT("%5d|%-5d|%05d", 42, 42, 42);
	CHECK_FMT("%-8s|%8s|", "ab", "cd");
	CHECK_FMT("%.3s|%.*s", "abcdef", 2, "xyz");
	CHECK_FMT("%x %X %o", 255u, 255u, 8u);
	CHECK_FMT("%.2f %g", 2.5, 0.125);
	CHECK_FMT("%hhd %hd", (signed char)-3, (short)-300);
	CHECK_FMT("%+d % d", 5, 5);
	CHECK_FMT("[%s]", null_str);
	/* Longer than the 4,096-byte first try, and right around it. */
	CHECK_FMT("%s", big);
	CHECK_FMT("%s%d", big + sizeof(big) - 4096, 7);
	CHECK_FMT("%s", big + sizeof(big) - 4095);
	CHECK_FMT("%s", big + sizeof(big) - 4097);
	CHECK_FMT("%s|%s", big + 3000, big + 3000);
	phg_arena_release(&arena);
}
END_TEST

struct sink {
	struct phg_buf all;
	int calls;
	int fail_at; /* the call that fails (0: never) */
};

static int to_sink(void *ctx, const char *data, size_t len)
{
	struct sink *s = ctx;

	if (++s->calls == s->fail_at)
		return PHG_EIO;
	return phg_buf_add(&s->all, data, len);
}

/* Writes the same mix of pieces to b. */
static int write_mix(struct phg_buf *b)
{
	static char chunk[200000];
	int rc = 0;

	memset(chunk, 'c', sizeof(chunk));
	for (int i = 0; i < 5000 && rc == 0; i++) {
		rc = phg_buf_printf(b, "%d:%s;", i, "piece");
		rc = rc ? rc : phg_buf_json_str(b, "quote \" and \\ and \n");
		rc = rc ? rc : phg_buf_int(b, -i);
		if (rc == 0 && i % 1000 == 0) /* bigger than the buffer */
			rc = phg_buf_add(b, chunk, sizeof(chunk));
	}
	return rc;
}

START_TEST(flushing_buffer_writes_the_same_bytes)
{
	struct phg_buf plain = {0};
	struct sink s = {0};
	struct phg_buf out = {.flush = to_sink, .flush_ctx = &s};

	ck_assert_int_eq(write_mix(&plain), 0);
	ck_assert_int_eq(phg_buf_reserve(&out, 64 * 1024), 0);
	ck_assert_int_eq(write_mix(&out), 0);
	ck_assert_int_ge(s.calls, 4);
	/* The buffer grew only for the one piece bigger than itself. */
	ck_assert_uint_le(out.cap, 512 * 1024);
	ck_assert_int_eq(phg_buf_add(&s.all, out.data, out.len), 0);
	ck_assert_uint_eq(s.all.len, plain.len);
	ck_assert(memcmp(s.all.data, plain.data, plain.len) == 0);
	phg_buf_release(&out);
	phg_buf_release(&s.all);

	/* A failing flush is the write's error. */
	memset(&s, 0, sizeof(s));
	s.fail_at = 3;
	out = (struct phg_buf){.flush = to_sink, .flush_ctx = &s};
	ck_assert_int_eq(phg_buf_reserve(&out, 4096), 0);
	ck_assert_int_eq(write_mix(&out), PHG_EIO);
	phg_buf_release(&out);
	phg_buf_release(&s.all);
	phg_buf_release(&plain);
}
END_TEST

/* Byte-by-byte JSON escaping, as phg_buf_json_str was written first. */
static void json_ref(struct phg_buf *b, const unsigned char *p)
{
	static const char hex[] = "0123456789abcdef";

	phg_buf_add(b, "\"", 1);
	for (; *p; p++) {
		char esc[7] = {'\\',	     'u',	   '0', '0',
			       hex[*p >> 4], hex[*p & 15], 0};

		if (*p == '"')
			phg_buf_add(b, "\\\"", 2);
		else if (*p == '\\')
			phg_buf_add(b, "\\\\", 2);
		else if (*p == '\n')
			phg_buf_add(b, "\\n", 2);
		else if (*p == '\r')
			phg_buf_add(b, "\\r", 2);
		else if (*p == '\t')
			phg_buf_add(b, "\\t", 2);
		else if (*p < 0x20)
			phg_buf_add(b, esc, 6);
		else
			phg_buf_add(b, (const char *)p, 1);
	}
	phg_buf_add(b, "\"", 1);
}

/* Random bytes (never NUL) from a set heavy in the ones that matter. */
static void random_text(unsigned char *s, size_t len)
{
	static const unsigned char pick[] = {'a',  'b',	 ' ',  '"',  '\\', '\n',
					     '\r', '\t', 0x01, 0x1f, 0x20, 0x7f,
					     0x80, 0xc3, 0xa9, 0xe2, 0x82, 0xac,
					     0xff, '/',	 '{'};

	for (size_t i = 0; i < len; i++)
		s[i] = next_rand() % 4 ? (unsigned char)('a' + next_rand() % 26)
				       : pick[next_rand() % sizeof(pick)];
	s[len] = '\0';
}

START_TEST(json_escaping_matches_reference)
{
	unsigned char s[100];

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)round % 40;
		struct phg_buf got = {0}, want = {0};

		random_text(s, len);
		ck_assert_int_eq(phg_buf_json_str(&got, (const char *)s), 0);
		json_ref(&want, s);
		ck_assert_str_eq(got.data, want.data);
		phg_buf_release(&got);
		phg_buf_release(&want);
	}
}
END_TEST

/* util's UTF-8 rule, byte by byte (text.c's utf8_seq_len). */
static size_t seq_ref(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static size_t utf8_ref(const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = seq_ref(p + i, len - i);

		if (n == 0)
			return i;
		i += n;
	}
	return len;
}

START_TEST(utf8_check_matches_reference)
{
	unsigned char s[80];

	for (int round = 0; round < 50000; round++) {
		size_t len = (size_t)round % 70;

		/* Mostly ASCII; now and then a NUL, a valid é or a bad byte. */
		for (size_t i = 0; i < len; i++)
			s[i] = (unsigned char)(0x20 + next_rand() % 0x5f);
		if (len > 2 && round % 3 == 0) {
			size_t at = next_rand() % (len - 1);
			int kind = (int)(next_rand() % 4);

			if (kind == 0)
				s[at] = 0;
			else if (kind == 1)
				s[at] = 0xc3, s[at + 1] = 0xa9;
			else if (kind == 2)
				s[at] = 0xff;
			else
				s[at] = 0x80;
		}
		ck_assert_uint_eq(phg_utf8_invalid_at((const char *)s, len),
				  utf8_ref(s, len));
	}
}
END_TEST

START_TEST(cursor_matches_reference)
{
	char text[400];

	for (int round = 0; round < 2000; round++) {
		size_t len = 50 + (size_t)round % 300;
		struct phg_cursor c;
		size_t pos = 0;
		int line = 1, col = 1;
		size_t line_start = 0;

		for (size_t i = 0; i < len; i++) {
			unsigned r = next_rand() % 40;

			text[i] = r == 0   ? '\n'
				  : r == 1 ? (char)0xc3
				  : r == 2 ? (char)0xa9
					   : (char)('a' + r % 26);
		}
		text[len] = '\0';
		phg_cursor_init(&c, text, 0);
		while (pos < len) {
			size_t to = pos + 1 + next_rand() % 30;

			if (to > len)
				to = len;
			for (; pos < to; pos++) {
				if (text[pos] == '\n') {
					line++;
					col = 1;
					line_start = pos + 1;
				} else if (((unsigned char)text[pos] & 0xc0) !=
					   0x80) {
					col++;
				}
			}
			phg_cursor_advance(&c, to);
			ck_assert_uint_eq(c.pos, to);
			ck_assert_int_eq(c.line, line);
			ck_assert_int_eq(c.col, col);
			ck_assert_uint_eq(c.line_start, line_start);
		}
	}
}
END_TEST

/* phg_json_parse and cJSON_Parse read doc into the same tree. */
static void same_tree(const char *doc)
{
	cJSON *ours = phg_json_parse(doc), *theirs = cJSON_Parse(doc);
	char *a, *b;

	ck_assert_ptr_nonnull(ours);
	ck_assert_ptr_nonnull(theirs);
	a = cJSON_PrintUnformatted(ours);
	b = cJSON_PrintUnformatted(theirs);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	phg_json_delete(ours);
	cJSON_Delete(theirs);
}

START_TEST(json_reader_matches_cjson)
{
	struct phg_buf doc = {0};
	unsigned char s[60];

	same_tree("{\"a\":1,\"b\":[true,false,null,-2,3.5e2],\"c\":{}}");
	same_tree("{\"k\\\"ey\":\"tab\\there \\u00e9 \\ud83d\\ude00 "
		  "\\\\ \\/\"}");
	/* Many strings of every length around a word, escapes inside, and
	   enough of them to need several chunks. */
	phg_buf_puts(&doc, "{\"items\":[");
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)i % 50;

		for (size_t j = 0; j < len; j++)
			s[j] = (unsigned char)('a' + next_rand() % 26);
		if (len > 3 && i % 5 == 0)
			s[len / 2] = '\n';
		s[len] = '\0';
		if (i)
			phg_buf_puts(&doc, ",");
		phg_buf_printf(&doc, "{\"n\":%d,\"s\":", i);
		phg_buf_json_str(&doc, (const char *)s);
		phg_buf_puts(&doc, "}");
	}
	/* A string bigger than a quarter of a chunk gets its own block. */
	phg_buf_puts(&doc, "],\"big\":\"");
	for (int i = 0; i < 40000; i++)
		phg_buf_add(&doc, "y", 1);
	phg_buf_puts(&doc, "\"}");
	same_tree(doc.data);
	phg_buf_release(&doc);
	phg_json_reset();
}
END_TEST

static Suite *fast_paths_suite(void)
{
	Suite *s = suite_create("fast_paths");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, printf_matches_snprintf);
	tcase_add_test(tc, flushing_buffer_writes_the_same_bytes);
	tcase_add_test(tc, json_escaping_matches_reference);
	tcase_add_test(tc, utf8_check_matches_reference);
	tcase_add_test(tc, cursor_matches_reference);
	tcase_add_test(tc, json_reader_matches_cjson);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fast_paths_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
