/*
 * test_do_blocks.c: the statements a DO block runs, placed where they are
 * written (phg_parse_do_block_placed). PL/pgSQL numbers lines from the
 * body's first line; these cases check that each inner statement gets the
 * file's line, column (code points), byte range, source line and ignore
 * comments — for dollar-quoted bodies with and without a tag, a LANGUAGE
 * clause before or after, bodies on the DO's own line, '...' bodies with
 * escapes, CRLF, a BOM, comments and UTF-8 before a statement, nested
 * blocks, dynamic SQL, one body in two blocks or read twice — and that
 * trees handed out stay alive until the walk ends. The lint runs that use
 * them are release scenarios (fixtures/releases/do-block-*).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse.h"

#define MAX_INNER 24

/* What one inner statement looked like when the callback saw it. */
struct seen {
	char type[32];
	int line, col;
	size_t offset, len;
	char source_line[128];
	size_t nignores, nlocal;
	char first_ignore[64];
	bool reasonless;
	int ignore_line;
};

struct run {
	struct phg_arena arena;
	struct phg_findings findings;
	const char *text;
	size_t len;
	bool placed; /* pass the file's text */
	int block_rc;
	struct seen inner[MAX_INNER];
	size_t n;
	const struct phg_stmt *prev; /* the previous inner statement's copy */
	struct phg_stmt copies[MAX_INNER];
};

static int on_inner(struct phg_stmt *s, void *ctx)
{
	struct run *r = ctx;
	struct seen *v;

	ck_assert_uint_lt(r->n, MAX_INNER);
	ck_assert_ptr_nonnull(s->tree);
	/* The previous statement's tree is still alive. */
	if (r->prev)
		ck_assert_ptr_nonnull(phg_node_type(r->prev->tree));
	v = &r->inner[r->n];
	snprintf(v->type, sizeof(v->type), "%s", s->node_type);
	v->line = s->line;
	v->col = s->col;
	v->offset = s->offset;
	v->len = s->len;
	snprintf(v->source_line, sizeof(v->source_line), "%s",
		 s->source_line ? s->source_line : "");
	v->nignores = s->nignores;
	v->nlocal = s->nlocal_ignores;
	snprintf(v->first_ignore, sizeof(v->first_ignore), "%s",
		 s->nignores ? s->ignores[0] : "");
	v->reasonless = s->ignore_without_reason;
	v->ignore_line = s->ignore_line;
	r->copies[r->n] = *s;
	r->prev = &r->copies[r->n];
	r->n++;
	return 0;
}

static int on_outer(struct phg_stmt *s, void *ctx)
{
	struct run *r = ctx;

	if (!phg_streq(s->node_type, "DoStmt"))
		return 0;
	/* Trees stay alive until their own walk ends, not longer. */
	r->prev = NULL;
	r->block_rc =
		r->placed ? phg_parse_do_block_placed(s, r->text, r->len,
						      &r->arena, on_inner, r)
			  : phg_parse_do_block(s, on_inner, r);
	return r->block_rc < 0 ? r->block_rc : 0;
}

/* Parses text as a file and walks its DO blocks. */
static void run(struct run *r, const char *text, bool placed)
{
	struct phg_parsed_file pf;
	struct phg_err err = {0};

	memset(r, 0, sizeof(*r));
	phg_arena_init(&r->arena);
	r->findings.arena = &r->arena;
	r->text = text;
	r->len = strlen(text);
	r->placed = placed;
	ck_assert_int_eq(phg_parse_file("m.sql", text, r->len, 0, r->len,
					&r->arena, &r->findings, on_outer, r,
					&pf, &err),
			 0);
	ck_assert_uint_eq(r->findings.n, 0);
	phg_parse_release(&pf);
}

static void run_free(struct run *r)
{
	phg_findings_release(&r->findings);
	phg_arena_release(&r->arena);
}

/* Asserts inner statement i: its type, line and column, and that its
   byte offset is where the text says. */
static void assert_at(const struct run *r, size_t i, const char *type, int line,
		      int col, const char *starts_with)
{
	const struct seen *v = &r->inner[i];

	ck_assert_uint_lt(i, r->n);
	ck_assert_str_eq(v->type, type);
	ck_assert_msg(v->line == line && v->col == col,
		      "inner %zu (%s): at %d:%d, want %d:%d", i, type, v->line,
		      v->col, line, col);
	ck_assert_msg(strncmp(r->text + v->offset, starts_with,
			      strlen(starts_with)) == 0,
		      "inner %zu: offset %zu holds '%.20s', want '%s'", i,
		      v->offset, r->text + v->offset, starts_with);
}

START_TEST(test_dollar_body_lines)
{
	static const char text[] =
		"SELECT 1;\n"
		"-- a comment\n"
		"DO $$\n"
		"BEGIN\n"
		"  IF NOT EXISTS (SELECT 1 FROM pg_indexes) THEN\n"
		"    CREATE INDEX i ON t (a);\n"
		"  END IF;\n"
		"  UPDATE t\n"
		"     SET a = 1;\n"
		"END\n"
		"$$;\n";
	struct run r;

	run(&r, text, true);
	ck_assert_int_eq(r.block_rc, 0);
	ck_assert_uint_eq(r.n, 2);
	assert_at(&r, 0, "IndexStmt", 6, 5, "CREATE INDEX i ON t (a)");
	ck_assert_str_eq(r.inner[0].source_line,
			 "    CREATE INDEX i ON t (a);");
	ck_assert_uint_eq(r.inner[0].len, strlen("CREATE INDEX i ON t (a)"));
	assert_at(&r, 1, "UpdateStmt", 8, 3, "UPDATE t\n     SET a = 1");
	ck_assert_uint_eq(r.inner[1].len, strlen("UPDATE t\n     SET a = 1"));
	ck_assert_str_eq(r.inner[1].source_line, "  UPDATE t");
	run_free(&r);
}
END_TEST

/* Without the file's text, statements stay where the block is. */
START_TEST(test_unplaced)
{
	static const char text[] =
		"\n\nDO $$\nBEGIN\n  DELETE FROM t;\nEND $$;";
	struct run r;

	run(&r, text, false);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(r.inner[0].line, 3);
	ck_assert_int_eq(r.inner[0].col, 1);
	run_free(&r);
}
END_TEST

static const struct {
	const char *name, *text;
	int line, col;
	const char *at;
} one_line_cases[] = {
	{"same line", "DO $$BEGIN CREATE INDEX i ON t (a); END$$;", 1, 12,
	 "CREATE"},
	{"tag and LANGUAGE first",
	 "DO LANGUAGE plpgsql $body$ BEGIN DELETE FROM t; END $body$;", 1, 34,
	 "DELETE"},
	{"LANGUAGE after",
	 "DO $x$\nBEGIN\n\tDELETE FROM t;\nEND\n$x$ LANGUAGE plpgsql;", 3, 2,
	 "DELETE"},
	{"quoted language and comments",
	 "DO /* c */ LANGUAGE \"plpgsql\" -- x\n'BEGIN DELETE FROM t; END';", 2,
	 8, "DELETE"},
	{"quoted body with escapes",
	 "DO 'BEGIN UPDATE t SET a = ''x''; DELETE FROM t; END';", 1, 35,
	 "DELETE"},
	{"E string", "DO E'BEGIN\\n  DELETE FROM t;\\nEND';", 1, 15, "DELETE"},
	{"UTF-8 and a comment before",
	 "SELECT 'é';\nDO $$\nBEGIN /* é */ DELETE FROM t; END $$;", 3, 15,
	 "DELETE"},
	{"CRLF",
	 "SELECT 1;\r\nDO $$\r\nBEGIN\r\n  DELETE FROM t;\r\nEND $$;\r\n", 4, 3,
	 "DELETE"},
	{"BOM",
	 "\xef\xbb\xbf"
	 "DO $$BEGIN DELETE FROM t; END $$;",
	 1, 12, "DELETE"},
	{"nested block and loop",
	 "DO $$\nDECLARE r record;\nBEGIN\n  FOR r IN SELECT 1 LOOP\n"
	 "    BEGIN\n      DELETE FROM t;\n    EXCEPTION WHEN others THEN\n"
	 "      NULL;\n    END;\n  END LOOP;\nEND $$;",
	 6, 7, "DELETE"},
};

/* The last inner statement of each case, where the text has it. */
START_TEST(test_one_line)
{
	struct run r;

	run(&r, one_line_cases[_i].text, true);
	ck_assert_msg(r.n >= 1, "%s: no inner statement",
		      one_line_cases[_i].name);
	ck_assert_msg(r.inner[r.n - 1].line == one_line_cases[_i].line &&
			      r.inner[r.n - 1].col == one_line_cases[_i].col,
		      "%s: at %d:%d, want %d:%d", one_line_cases[_i].name,
		      r.inner[r.n - 1].line, r.inner[r.n - 1].col,
		      one_line_cases[_i].line, one_line_cases[_i].col);
	ck_assert_msg(strncmp(r.text + r.inner[r.n - 1].offset,
			      one_line_cases[_i].at,
			      strlen(one_line_cases[_i].at)) == 0,
		      "%s: offset holds '%.20s'", one_line_cases[_i].name,
		      r.text + r.inner[r.n - 1].offset);
	run_free(&r);
}
END_TEST

/* Two equal statements on one line land on their own places. */
START_TEST(test_repeated_statement)
{
	static const char text[] =
		"DO $$BEGIN DELETE FROM t; DELETE FROM t; END $$;";
	struct run r;

	run(&r, text, true);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_int_eq(r.inner[0].col, 12);
	ck_assert_int_eq(r.inner[1].col, 27);
	run_free(&r);
}
END_TEST

/* Two blocks with one body: the body is parsed once (kept for the tree's
   lifetime), and each block's statement is still placed in its own block;
   a block read twice gives the same statements twice. */
static int on_outer_twice(struct phg_stmt *s, void *ctx)
{
	int rc = on_outer(s, ctx);

	if (rc == 0 && phg_streq(s->node_type, "DoStmt"))
		rc = on_outer(s, ctx);
	return rc;
}

START_TEST(test_same_body_twice)
{
	static const char text[] = "DO $$BEGIN DELETE FROM t; END$$;\n"
				   "DO $$BEGIN UPDATE u SET a = 1; END$$;\n"
				   "DO $$BEGIN DELETE FROM t; END$$;\n";
	struct phg_parsed_file pf;
	struct phg_err err = {0};
	struct run r;

	run(&r, text, true);
	ck_assert_uint_eq(r.n, 3);
	assert_at(&r, 0, "DeleteStmt", 1, 12, "DELETE FROM t");
	assert_at(&r, 1, "UpdateStmt", 2, 12, "UPDATE u");
	assert_at(&r, 2, "DeleteStmt", 3, 12, "DELETE FROM t");
	run_free(&r);

	memset(&r, 0, sizeof(r));
	phg_arena_init(&r.arena);
	r.findings.arena = &r.arena;
	r.text = text;
	r.len = strlen(text);
	r.placed = true;
	ck_assert_int_eq(phg_parse_file("m.sql", text, r.len, 0, r.len,
					&r.arena, &r.findings, on_outer_twice,
					&r, &pf, &err),
			 0);
	phg_parse_release(&pf);
	ck_assert_uint_eq(r.n, 6);
	for (size_t i = 0; i < 6; i += 2) {
		const char *type = i == 2 ? "UpdateStmt" : "DeleteStmt";
		const char *start = i == 2 ? "UPDATE u" : "DELETE FROM t";

		assert_at(&r, i, type, (int)i / 2 + 1, 12, start);
		assert_at(&r, i + 1, type, (int)i / 2 + 1, 12, start);
	}
	run_free(&r);
}
END_TEST

/* More distinct bodies than the parse cache keeps (16): the rest are
   parsed and freed by the walk itself, and every statement is still read
   in its own block. */
START_TEST(test_more_bodies_than_kept)
{
	struct phg_buf b = {0};
	struct run r;

	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(phg_buf_printf(&b,
						"DO $$BEGIN DELETE FROM t%d; "
						"END$$;\n",
						i),
				 0);
	run(&r, b.data, true);
	ck_assert_uint_eq(r.n, 20);
	for (size_t i = 0; i < 20; i++) {
		char want[32];

		snprintf(want, sizeof(want), "DELETE FROM t%zu", i);
		assert_at(&r, i, "DeleteStmt", (int)i + 1, 12, want);
	}
	run_free(&r);
	phg_buf_release(&b);
}
END_TEST

/* Ignore comments above a statement in the body are its own. */
START_TEST(test_ignores)
{
	static const char text[] =
		"-- phasegate:ignore rule-a before the block\n"
		"DO $$\n"
		"BEGIN\n"
		"  -- phasegate:ignore rule-b, rule-c the reason\n"
		"\n"
		"  DELETE FROM t;\n"
		"  UPDATE t SET a = 1; -- phasegate:ignore rule-d trailing\n"
		"  -- phasegate:ignore rule-e\n"
		"  TRUNCATE t;\n"
		"END $$;\n";
	struct run r;

	run(&r, text, true);
	ck_assert_uint_eq(r.n, 3);
	/* Its own two, then the block's one. */
	ck_assert_uint_eq(r.inner[0].nlocal, 2);
	ck_assert_uint_eq(r.inner[0].nignores, 3);
	ck_assert_str_eq(r.inner[0].first_ignore, "rule-b");
	ck_assert(!r.inner[0].reasonless);
	ck_assert_int_eq(r.inner[0].ignore_line, 4);
	/* None of its own (a comment after a statement is not before the
	   next one's line), the block's inherited. */
	ck_assert_uint_eq(r.inner[1].nlocal, 0);
	ck_assert_uint_eq(r.inner[1].nignores, 1);
	ck_assert_str_eq(r.inner[1].first_ignore, "rule-a");
	ck_assert_uint_eq(r.inner[2].nlocal, 1);
	ck_assert_str_eq(r.inner[2].first_ignore, "rule-e");
	ck_assert(r.inner[2].reasonless);
	ck_assert_int_eq(r.inner[2].ignore_line, 8);
	run_free(&r);
}
END_TEST

/* Dynamic SQL makes the block unreadable; the rest is still placed. */
START_TEST(test_dynamic)
{
	static const char text[] = "DO $$\nBEGIN\n  EXECUTE 'DROP TABLE t';\n"
				   "  DELETE FROM t;\nEND $$;";
	struct run r;

	run(&r, text, true);
	ck_assert_int_eq(r.block_rc, 1);
	ck_assert_uint_eq(r.n, 1);
	assert_at(&r, 0, "DeleteStmt", 4, 3, "DELETE FROM t");
	run_free(&r);
}
END_TEST

static Suite *do_suite(void)
{
	Suite *s = suite_create("do_blocks");
	TCase *tc = tcase_create("placed");

	tcase_add_test(tc, test_dollar_body_lines);
	tcase_add_test(tc, test_unplaced);
	tcase_add_loop_test(
		tc, test_one_line, 0,
		(int)(sizeof(one_line_cases) / sizeof(one_line_cases[0])));
	tcase_add_test(tc, test_repeated_statement);
	tcase_add_test(tc, test_same_body_twice);
	tcase_add_test(tc, test_more_bodies_than_kept);
	tcase_add_test(tc, test_ignores);
	tcase_add_test(tc, test_dynamic);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(do_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	phg_parse_shutdown();
	return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
