/*
 * test_parse.c: the parse module against DESIGN's input matrix ("Interfaces
 * users rely on": Input, Locations) — empty and comment-only files, a BOM,
 * CRLF, NUL bytes and invalid UTF-8, syntax errors at the character where
 * the parser stopped, unterminated quotes, psql meta-commands, first-token
 * positions, a 20 MB file, statements too deep to read, ignore comments and
 * dbmate ranges. Each case asserts the exact rule, line, column and number
 * of statements; a few also run the binary end to end for the exit code and
 * the file:line:col of the text report.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "parse/parse.h"

#define MAX_SEEN 16

/* One parse, and what the callbacks saw while the trees were alive. */
struct parsed {
	struct phg_arena arena;
	struct phg_findings findings;
	struct phg_parsed_file pf;
	struct phg_err err;
	int rc;
	size_t calls;		  /* fn calls */
	size_t with_tree;	  /* fn calls that had a tree */
	char types[MAX_SEEN][32]; /* node type per fn call ("-": none) */
	char order[256];	  /* "p0 f0 ..." for pre and fn calls */
	int stop_after;		  /* fn returns PHG_EINPUT after this many */
};

static void note_order(struct parsed *p, char who, const struct phg_stmt *s)
{
	size_t len = strlen(p->order);

	if (len + 8 < sizeof(p->order))
		snprintf(p->order + len, sizeof(p->order) - len, "%s%c%d",
			 len ? " " : "", who, s->index);
}

static int on_pre(struct phg_stmt *s, void *ctx)
{
	note_order(ctx, 'p', s);
	return 0;
}

static int on_stmt(struct phg_stmt *s, void *ctx)
{
	struct parsed *p = ctx;

	ck_assert_int_eq(s->index, (int)p->calls);
	if (p->calls < MAX_SEEN)
		snprintf(p->types[p->calls], sizeof(p->types[0]), "%s",
			 s->node_type ? s->node_type : "-");
	/* A tree and a state other than OK never go together. */
	ck_assert(!(s->tree && s->state != PHG_STMT_OK));
	p->calls++;
	if (s->tree)
		p->with_tree++;
	note_order(p, 'f', s);
	if (p->stop_after && p->calls == (size_t)p->stop_after)
		return PHG_EINPUT;
	return 0;
}

static void parse_setup(struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	phg_arena_init(&p->arena);
	p->findings.arena = &p->arena;
}

/* Parses text[start, end) of a file of len bytes (text NUL-terminated). */
static void parse_range(struct parsed *p, const char *text, size_t len,
			size_t start, size_t end)
{
	p->rc = phg_parse_file("m.sql", text, len, start, end, &p->arena,
			       &p->findings, on_stmt, p, &p->pf, &p->err);
}

static void parse_n(struct parsed *p, const char *text, size_t len)
{
	parse_setup(p);
	parse_range(p, text, len, 0, len);
}

static void parse_str(struct parsed *p, const char *text)
{
	parse_n(p, text, strlen(text));
}

static void parse_done(struct parsed *p)
{
	phg_parse_release(&p->pf);
	phg_findings_release(&p->findings);
	phg_arena_release(&p->arena);
}

/* The parse succeeded with n statements (and fn saw every one). */
static void assert_counts(const struct parsed *p, size_t nstmts,
			  size_t nfindings)
{
	ck_assert_msg(p->rc == 0, "parse failed (%d): %s", p->rc, p->err.msg);
	ck_assert_int_eq(p->err.code, 0);
	ck_assert_uint_eq(p->pf.n, nstmts);
	ck_assert_uint_eq(p->calls, nstmts);
	ck_assert_uint_eq(p->findings.n, nfindings);
}

static void assert_finding(const struct parsed *p, size_t i, const char *rule,
			   int line, int col)
{
	const struct phg_finding *f;

	ck_assert_uint_lt(i, p->findings.n);
	f = &p->findings.items[i];
	ck_assert_str_eq(f->rule, rule);
	ck_assert_int_eq(f->severity, PHG_SEV_ERROR);
	ck_assert_str_eq(f->file, "m.sql");
	ck_assert_msg(f->line == line && f->col == col,
		      "%s at %d:%d, expected %d:%d (%s)", rule, f->line, f->col,
		      line, col, f->message);
	ck_assert_ptr_nonnull(f->message);
	ck_assert_ptr_nonnull(f->help);
	ck_assert_ptr_nonnull(f->source_line);
}

static void assert_stmt(const struct parsed *p, size_t i, int line, int col,
			enum phg_stmt_state state)
{
	const struct phg_stmt *s;

	ck_assert_uint_lt(i, p->pf.n);
	s = p->pf.stmts[i];
	ck_assert_int_eq(s->index, (int)i);
	ck_assert_msg(s->line == line && s->col == col,
		      "statement %zu at %d:%d, expected %d:%d", i, s->line,
		      s->col, line, col);
	ck_assert_int_eq(s->state, state);
	ck_assert_ptr_null(s->tree); /* freed with its file */
	ck_assert_str_eq(s->file, "m.sql");
}

/* The statement's text starts with prefix. */
static void assert_stmt_text(const char *text, const struct parsed *p, size_t i,
			     const char *prefix)
{
	const struct phg_stmt *s = p->pf.stmts[i];

	ck_assert_uint_ge(s->len, strlen(prefix));
	ck_assert_msg(strncmp(text + s->offset, prefix, strlen(prefix)) == 0,
		      "statement %zu starts with '%.20s', expected '%s'", i,
		      text + s->offset, prefix);
}

/* ---- empty and comment-only input ---- */

START_TEST(test_empty)
{
	struct parsed p;

	parse_str(&p, "");
	assert_counts(&p, 0, 0);
	ck_assert(!p.pf.encoding_error);
	ck_assert_str_eq(p.pf.file, "m.sql");
	parse_done(&p);

	parse_str(&p, "\n\n \t\r\n");
	assert_counts(&p, 0, 0);
	parse_done(&p);
}
END_TEST

START_TEST(test_comments_only)
{
	struct parsed p;

	parse_str(&p, "-- a line comment\n"
		      "/* a block\n   comment /* nested */ still */\n"
		      "-- phasegate:ignore some-rule a reason for nothing\n");
	assert_counts(&p, 0, 0);
	parse_done(&p);

	/* Comments and a lone semicolon are not a statement either. */
	parse_str(&p, "SELECT 1;\n-- trailing comment");
	assert_counts(&p, 1, 0);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_OK);
	parse_done(&p);
}
END_TEST

/* ---- BOM and CRLF ---- */

START_TEST(test_bom)
{
	static const char text[] = "\xef\xbb\xbf"
				   "CREATE TABLE t (id int);\nSELECT 1;\n";
	struct parsed p;

	parse_str(&p, text);
	assert_counts(&p, 2, 0);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_OK);
	assert_stmt(&p, 1, 2, 1, PHG_STMT_OK);
	ck_assert_uint_eq(p.pf.stmts[0]->offset, 3);
	assert_stmt_text(text, &p, 0, "CREATE TABLE t");
	/* The caret line shows the text, not the BOM. */
	ck_assert_str_eq(p.pf.stmts[0]->source_line,
			 "CREATE TABLE t (id int);");
	ck_assert_str_eq(p.types[0], "CreateStmt");
	parse_done(&p);

	/* Only a BOM: an empty file. */
	parse_str(&p, "\xef\xbb\xbf");
	assert_counts(&p, 0, 0);
	parse_done(&p);
}
END_TEST

START_TEST(test_bom_syntax_error)
{
	struct parsed p;

	/* The BOM is not a column: FROM FROM stops at 1:13. */
	parse_str(&p, "\xef\xbb\xbfSELECT FROM FROM;\nSELECT 2;");
	assert_counts(&p, 2, 1);
	assert_finding(&p, 0, "syntax-error", 1, 13);
	ck_assert_str_eq(p.findings.items[0].source_line, "SELECT FROM FROM;");
	assert_stmt(&p, 0, 1, 1, PHG_STMT_SYNTAX_ERROR);
	assert_stmt(&p, 1, 2, 1, PHG_STMT_OK);
	parse_done(&p);
}
END_TEST

START_TEST(test_crlf)
{
	static const char text[] = "SELECT 1;\r\n"
				   "\r\n"
				   "  SELECT 2;\r\n"
				   "SELECT 3 FROM FROM;\r\n"
				   "SELECT 4;\r\n";
	struct parsed p;

	parse_str(&p, text);
	assert_counts(&p, 4, 1);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_OK);
	assert_stmt(&p, 1, 3, 3, PHG_STMT_OK);
	assert_stmt(&p, 2, 4, 1, PHG_STMT_SYNTAX_ERROR);
	assert_stmt(&p, 3, 5, 1, PHG_STMT_OK);
	assert_finding(&p, 0, "syntax-error", 4, 15);
	/* Source lines carry no carriage return. */
	ck_assert_str_eq(p.pf.stmts[1]->source_line, "  SELECT 2;");
	ck_assert_str_eq(p.findings.items[0].source_line,
			 "SELECT 3 FROM FROM;");
	parse_done(&p);

	/* Well-formed CRLF input (parsed whole). */
	parse_str(&p, "CREATE TABLE t (\r\n  id int\r\n);\r\n\r\n"
		      "\t/* x */ DROP TABLE t;\r\n");
	assert_counts(&p, 2, 0);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_OK);
	assert_stmt(&p, 1, 5, 10, PHG_STMT_OK);
	ck_assert_str_eq(p.types[1], "DropStmt");
	parse_done(&p);
}
END_TEST

/* ---- invalid encoding ---- */

START_TEST(test_nul_byte)
{
	static const char text[] = "SELECT 1;\0 DROP TABLE users;";
	struct parsed p;

	parse_n(&p, text, sizeof(text) - 1);
	assert_counts(&p, 0, 1);
	assert_finding(&p, 0, "invalid-encoding", 1, 10);
	ck_assert(p.pf.encoding_error);
	ck_assert_ptr_nonnull(strstr(p.findings.items[0].message, "NUL"));
	ck_assert(!p.findings.items[0].suppressed);
	parse_done(&p);
}
END_TEST

START_TEST(test_nul_byte_later_line)
{
	static const char text[] = "SELECT 1;\nSELECT '\xc3\xa9\0';\nSELECT 3;";
	struct parsed p;

	parse_n(&p, text, sizeof(text) - 1);
	assert_counts(&p, 0, 1);
	/* "SELECT 'é" is nine characters (ten bytes): the NUL is column 10. */
	assert_finding(&p, 0, "invalid-encoding", 2, 10);
	ck_assert(p.pf.encoding_error);
	parse_done(&p);
}
END_TEST

START_TEST(test_invalid_utf8)
{
	struct parsed p;

	parse_str(&p, "SELECT 1;\nSELECT 'ab\xff';\n");
	assert_counts(&p, 0, 1);
	assert_finding(&p, 0, "invalid-encoding", 2, 11);
	ck_assert(p.pf.encoding_error);
	ck_assert_ptr_nonnull(
		strstr(p.findings.items[0].message, "invalid UTF-8"));
	parse_done(&p);

	/* A truncated sequence, after a valid multibyte character. */
	parse_str(&p, "-- \xc3\xa9t\xc3\xa9\nSELECT '\xc3';");
	assert_counts(&p, 0, 1);
	assert_finding(&p, 0, "invalid-encoding", 2, 9);
	parse_done(&p);

	/* Latin-1 text (a common mistake): the first bad byte counts. */
	parse_str(&p, "COMMENT ON TABLE t IS 'caf\xe9';");
	assert_counts(&p, 0, 1);
	assert_finding(&p, 0, "invalid-encoding", 1, 27);
	parse_done(&p);
}
END_TEST

/* ---- syntax errors ---- */

START_TEST(test_syntax_error_counts_characters)
{
	struct parsed p;

	/*
	 * libpg_query's cursorpos is 21 (characters); the byte position would
	 * be 26.
	 */
	parse_str(&p, "SELECT '\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9' FROM "
		      "FROM;");
	assert_counts(&p, 1, 1);
	assert_finding(&p, 0, "syntax-error", 1, 21);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_SYNTAX_ERROR);
	ck_assert_ptr_nonnull(strstr(p.findings.items[0].message, "FROM"));
	ck_assert_str_eq(p.types[0], "-");
	ck_assert_uint_eq(p.with_tree, 0);
	parse_done(&p);
}
END_TEST

START_TEST(test_syntax_error_later_statements_returned)
{
	static const char text[] =
		"CREATE TABLE t (name text DEFAULT '\xc3\xa9');\n"
		"SELECT '\xc3\xa9\xc3\xa9\xc3\xa9', '\xc3\xbc' FROM FROM;\n"
		"DROP TABLE t;\n";
	struct parsed p;

	parse_str(&p, text);
	assert_counts(&p, 3, 1);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_OK);
	assert_stmt(&p, 1, 2, 1, PHG_STMT_SYNTAX_ERROR);
	assert_stmt(&p, 2, 3, 1, PHG_STMT_OK);
	/* "SELECT 'ééé', 'ü' " is 23 characters (27 bytes). */
	assert_finding(&p, 0, "syntax-error", 2, 24);
	ck_assert_str_eq(p.types[0], "CreateStmt");
	ck_assert_str_eq(p.types[1], "-");
	ck_assert_str_eq(p.types[2], "DropStmt");
	ck_assert_uint_eq(p.with_tree, 2);
	assert_stmt_text(text, &p, 2, "DROP TABLE t");
	parse_done(&p);
}
END_TEST

START_TEST(test_syntax_error_mid_line)
{
	struct parsed p;

	parse_str(&p, "SELECT 1; SELECT '\xc3\xa9' FROM FROM; SELECT 2;");
	assert_counts(&p, 3, 1);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_OK);
	assert_stmt(&p, 1, 1, 11, PHG_STMT_SYNTAX_ERROR);
	assert_stmt(&p, 2, 1, 33, PHG_STMT_OK);
	assert_finding(&p, 0, "syntax-error", 1, 27);
	parse_done(&p);
}
END_TEST

START_TEST(test_syntax_error_each_statement)
{
	struct parsed p;

	/* Two bad statements: two findings, each at its own place. */
	parse_str(&p, "SELECT FROM FROM;\nSELECT 1;\n  ALTER TABLE;\n");
	assert_counts(&p, 3, 2);
	assert_finding(&p, 0, "syntax-error", 1, 13);
	assert_finding(&p, 1, "syntax-error", 3, 14);
	assert_stmt(&p, 2, 3, 3, PHG_STMT_SYNTAX_ERROR);
	parse_done(&p);
}
END_TEST

START_TEST(test_syntax_error_at_end_of_input)
{
	struct parsed p;

	parse_str(&p, "SELECT 1;\nSELECT (1");
	assert_counts(&p, 2, 1);
	assert_stmt(&p, 1, 2, 1, PHG_STMT_SYNTAX_ERROR);
	/* Where the parser stopped: just past the last character. */
	assert_finding(&p, 0, "syntax-error", 2, 10);
	ck_assert_ptr_nonnull(
		strstr(p.findings.items[0].message, "end of input"));
	parse_done(&p);
}
END_TEST

START_TEST(test_syntax_error_inside_multiline_statement)
{
	struct parsed p;

	/* The error is on the statement's third line, not its first. */
	parse_str(&p, "CREATE TABLE t (id int);\n"
		      "ALTER TABLE t ADD COLUMN b int,\n"
		      "  ADD COLUMN c int c;\n");
	assert_counts(&p, 2, 1);
	assert_finding(&p, 0, "syntax-error", 3, 20);
	parse_done(&p);
}
END_TEST

START_TEST(test_unbalanced_parentheses)
{
	struct parsed p;

	/*
	 * The scanner returns no statement after an unbalanced parenthesis;
	 * the rest of the file is still one statement with a syntax error.
	 */
	parse_str(&p, "SELECT 1); DROP TABLE t;\n");
	assert_counts(&p, 1, 1);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_SYNTAX_ERROR);
	assert_finding(&p, 0, "syntax-error", 1, 9);
	parse_done(&p);

	parse_str(&p, "CREATE TABLE a (id int);\n"
		      "SELECT (;\n"
		      "DROP TABLE a;\n");
	assert_counts(&p, 2, 1);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_OK);
	assert_stmt(&p, 1, 2, 1, PHG_STMT_SYNTAX_ERROR);
	assert_finding(&p, 0, "syntax-error", 2, 9);
	parse_done(&p);

	/* Closed later: the semicolons inside belong to the statement. */
	parse_str(&p, "SELECT (;\nSELECT 2);\nSELECT 3;\n");
	assert_counts(&p, 2, 1);
	assert_finding(&p, 0, "syntax-error", 1, 9);
	assert_stmt(&p, 1, 3, 1, PHG_STMT_OK);
	parse_done(&p);
}
END_TEST

START_TEST(test_begin_atomic_in_split_mode)
{
	static const char fn[] =
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql\n"
		"BEGIN ATOMIC\n"
		"  SELECT 1;\n"
		"  SELECT 2;\n"
		"END";
	struct parsed p;
	char *text;

	/* A syntax error elsewhere parses the file statement by statement. */
	text = phg_asprintf("SELECT FROM FROM;\n%s;\nSELECT 3;\n", fn);
	ck_assert_ptr_nonnull(text);
	parse_str(&p, text);
	assert_counts(&p, 3, 1);
	assert_finding(&p, 0, "syntax-error", 1, 13);
	assert_stmt(&p, 1, 2, 1, PHG_STMT_OK);
	ck_assert_str_eq(p.types[1], "CreateFunctionStmt");
	assert_stmt(&p, 2, 7, 1, PHG_STMT_OK);
	parse_done(&p);
	free(text);

	/* The last statement, without a semicolon. */
	text = phg_asprintf("SELECT FROM FROM;\n%s\n", fn);
	ck_assert_ptr_nonnull(text);
	parse_str(&p, text);
	assert_counts(&p, 2, 1);
	ck_assert_str_eq(p.types[1], "CreateFunctionStmt");
	parse_done(&p);
	free(text);

	/* A broken body: the error where the parser stopped in it. */
	parse_str(&p, "SELECT FROM FROM;\n"
		      "CREATE FUNCTION f() RETURNS int LANGUAGE sql\n"
		      "BEGIN ATOMIC SELECT 1 +; END;\n");
	ck_assert_int_eq(p.rc, 0);
	ck_assert_uint_eq(p.findings.n, 2);
	assert_finding(&p, 1, "syntax-error", 3, 24);
	parse_done(&p);
}
END_TEST

START_TEST(test_unterminated_string)
{
	static const char text[] = "CREATE TABLE t (id int);\n"
				   "SELECT 'abc;\n"
				   "DROP TABLE t;\n";
	struct parsed p;

	parse_str(&p, text);
	/*
	 * The statements before the open quote are analysed; the rest of the
	 * file is one statement that does not parse.
	 */
	assert_counts(&p, 2, 1);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_OK);
	assert_stmt(&p, 1, 2, 1, PHG_STMT_SYNTAX_ERROR);
	assert_finding(&p, 0, "syntax-error", 2, 8);
	ck_assert_ptr_nonnull(
		strstr(p.findings.items[0].message, "unterminated"));
	ck_assert_str_eq(p.types[0], "CreateStmt");
	ck_assert_str_eq(p.types[1], "-");
	parse_done(&p);
}
END_TEST

START_TEST(test_unterminated_dollar_quote)
{
	static const char text[] =
		"SELECT 1;\n"
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1;\n"
		"SELECT 2;\n";
	struct parsed p;

	parse_str(&p, text);
	assert_counts(&p, 2, 1);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_OK);
	assert_stmt(&p, 1, 2, 1, PHG_STMT_SYNTAX_ERROR);
	assert_finding(&p, 0, "syntax-error", 2, 49);
	ck_assert_ptr_nonnull(strstr(p.findings.items[0].message,
				     "unterminated dollar-quoted string"));
	parse_done(&p);

	/* With multibyte text before it, on the same line. */
	parse_str(&p, "DO $body$ BEGIN RAISE NOTICE '\xc3\xa9'; END $bod$;");
	assert_counts(&p, 1, 1);
	assert_finding(&p, 0, "syntax-error", 1, 4);
	parse_done(&p);
}
END_TEST

START_TEST(test_unterminated_block_comment)
{
	struct parsed p;

	parse_str(&p, "SELECT 1;\n  /* never closed\nDROP TABLE t;\n");
	/* Nothing but the comment follows the first statement. */
	assert_counts(&p, 1, 1);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_OK);
	assert_finding(&p, 0, "syntax-error", 2, 3);
	parse_done(&p);
}
END_TEST

START_TEST(test_psql_meta_commands)
{
	struct parsed p;

	parse_str(&p, "CREATE TABLE a (id int);\n"
		      "\\connect other\n"
		      "CREATE TABLE b (id int);\n"
		      "SELECT 1;\n");
	/* The meta-command runs into the next semicolon: one bad statement. */
	assert_counts(&p, 3, 1);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_OK);
	assert_stmt(&p, 1, 2, 1, PHG_STMT_SYNTAX_ERROR);
	assert_stmt(&p, 2, 4, 1, PHG_STMT_OK);
	assert_finding(&p, 0, "syntax-error", 2, 1);
	ck_assert_ptr_nonnull(strstr(p.findings.items[0].help, "\\connect"));
	parse_done(&p);

	parse_str(&p, "\\set ON_ERROR_STOP on\n");
	assert_counts(&p, 1, 1);
	assert_finding(&p, 0, "syntax-error", 1, 1);
	parse_done(&p);
}
END_TEST

/* ---- positions ---- */

START_TEST(test_first_token_position)
{
	static const char text[] = "  /* \xc3\xa9 */ SELECT 1;\n"
				   "\n"
				   "-- a comment \xc3\xa9\n"
				   "\n"
				   "  /* a\n"
				   " /* nested */ \xc3\xa9 */  SELECT 2;"
				   "\tSELECT 3;";
	struct parsed p;

	parse_str(&p, text);
	assert_counts(&p, 3, 0);
	/* Before SELECT: two spaces, a comment of five characters, a space. */
	assert_stmt(&p, 0, 1, 11, PHG_STMT_OK);
	ck_assert_uint_eq(p.pf.stmts[0]->offset, 11);
	assert_stmt_text(text, &p, 0, "SELECT 1");
	assert_stmt(&p, 1, 6, 21, PHG_STMT_OK);
	assert_stmt_text(text, &p, 1, "SELECT 2");
	assert_stmt(&p, 2, 6, 31, PHG_STMT_OK);
	assert_stmt_text(text, &p, 2, "SELECT 3");
	ck_assert_str_eq(p.pf.stmts[1]->source_line,
			 " /* nested */ \xc3\xa9 */  SELECT 2;\tSELECT 3;");
	parse_done(&p);
}
END_TEST

START_TEST(test_positions_same_in_split_mode)
{
	static const char text[] = "  /* \xc3\xa9 */ SELECT 1;\n"
				   "-- c\n"
				   "\t SELECT '\xc3\xa9', 2;\n"
				   "SELECT FROM FROM;\n";
	struct parsed p;

	/* The syntax error sends the file down the per-statement path. */
	parse_str(&p, text);
	assert_counts(&p, 3, 1);
	assert_stmt(&p, 0, 1, 11, PHG_STMT_OK);
	ck_assert_uint_eq(p.pf.stmts[0]->offset, 11);
	assert_stmt(&p, 1, 3, 3, PHG_STMT_OK);
	assert_stmt_text(text, &p, 1, "SELECT '");
	assert_stmt(&p, 2, 4, 1, PHG_STMT_SYNTAX_ERROR);
	parse_done(&p);
}
END_TEST

START_TEST(test_node_type_outlives_tree)
{
	struct parsed p;

	/* node_type is "static or arena": readable after the trees are gone. */
	parse_str(&p, "CREATE TABLE t (id int);\nUPDATE t SET id = 1;");
	assert_counts(&p, 2, 0);
	ck_assert_str_eq(p.pf.stmts[0]->node_type, "CreateStmt");
	ck_assert_str_eq(p.pf.stmts[1]->node_type, "UpdateStmt");
	parse_done(&p);

	parse_str(&p, "CREATE TABLE t (id int);\nSELECT FROM FROM;");
	assert_counts(&p, 2, 1);
	ck_assert_str_eq(p.pf.stmts[0]->node_type, "CreateStmt");
	ck_assert_ptr_null(p.pf.stmts[1]->node_type);
	parse_done(&p);
}
END_TEST

/* ---- size and depth ---- */

START_TEST(test_large_file)
{
	const size_t target = 20u * 1024 * 1024;
	struct phg_buf b = {0};
	size_t count = 0;
	struct parsed p;

	while (b.len < target) {
		ck_assert_int_eq(
			phg_buf_printf(&b,
				       "INSERT INTO events (id, kind, payload) "
				       "VALUES (%zu, 'k', '%0120d');\n",
				       count, 0),
			0);
		count++;
	}
	parse_n(&p, b.data, b.len);
	assert_counts(&p, count, 0);
	ck_assert_uint_eq(p.with_tree, count);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_OK);
	assert_stmt(&p, count - 1, (int)count, 1, PHG_STMT_OK);
	ck_assert_str_eq(p.pf.stmts[count - 1]->node_type, "InsertStmt");
	parse_done(&p);
	phg_buf_release(&b);
}
END_TEST

START_TEST(test_large_file_with_errors)
{
	struct phg_buf b = {0};
	size_t count = 0;
	struct parsed p;

	/* Over the whole-parse size, with a bad statement near the end. */
	while (b.len < 3u * 1024 * 1024) {
		ck_assert_int_eq(phg_buf_printf(&b, "SELECT %zu;\n", count), 0);
		count++;
	}
	ck_assert_int_eq(phg_buf_puts(&b, "SELECT FROM FROM;\nSELECT 1;\n"), 0);
	parse_n(&p, b.data, b.len);
	assert_counts(&p, count + 2, 1);
	assert_finding(&p, 0, "syntax-error", (int)count + 1, 13);
	assert_stmt(&p, count + 1, (int)count + 2, 1, PHG_STMT_OK);
	parse_done(&p);
	phg_buf_release(&b);
}
END_TEST

/* "SELECT 1;\n" + body + ";\nSELECT 2;\n" in a malloc'd buffer. */
static char *around(const char *body)
{
	char *s = phg_asprintf("SELECT 1;\n%s;\nSELECT 2;\n", body);

	ck_assert_ptr_nonnull(s);
	return s;
}

static void assert_unanalyzable_middle(const char *text)
{
	struct parsed p;

	parse_str(&p, text);
	assert_counts(&p, 3, 1);
	assert_stmt(&p, 0, 1, 1, PHG_STMT_OK);
	assert_stmt(&p, 1, 2, 1, PHG_STMT_UNANALYZABLE);
	assert_stmt(&p, 2, 3, 1, PHG_STMT_OK);
	assert_finding(&p, 0, "unanalyzable-statement", 2, 1);
	ck_assert(!p.findings.items[0].suppressed);
	ck_assert_uint_eq(p.with_tree, 2);
	ck_assert_str_eq(p.types[0], "SelectStmt");
	ck_assert_str_eq(p.types[1], "-");
	ck_assert_str_eq(p.types[2], "SelectStmt");
	parse_done(&p);
}

START_TEST(test_deep_expression_chain)
{
	struct phg_buf b = {0};
	char *text;

	ck_assert_int_eq(phg_buf_puts(&b, "SELECT 1"), 0);
	for (int i = 1; i < 5000; i++)
		ck_assert_int_eq(phg_buf_puts(&b, " + 1"), 0);
	text = around(b.data);
	assert_unanalyzable_middle(text);
	free(text);
	phg_buf_release(&b);
}
END_TEST

START_TEST(test_deep_parentheses)
{
	struct phg_buf b = {0};
	char *text;

	ck_assert_int_eq(phg_buf_puts(&b, "SELECT "), 0);
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(phg_buf_puts(&b, "("), 0);
	ck_assert_int_eq(phg_buf_puts(&b, "1"), 0);
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(phg_buf_puts(&b, ")"), 0);
	text = around(b.data);
	assert_unanalyzable_middle(text);
	free(text);
	phg_buf_release(&b);
}
END_TEST

START_TEST(test_deep_statement_suppressed)
{
	struct phg_buf b = {0};
	struct parsed p;

	ck_assert_int_eq(
		phg_buf_puts(&b, "-- phasegate:ignore unanalyzable-statement "
				 "reviewed by hand\nSELECT 1"),
		0);
	for (int i = 1; i < 5000; i++)
		ck_assert_int_eq(phg_buf_puts(&b, " + 1"), 0);
	ck_assert_int_eq(phg_buf_puts(&b, ";\n"), 0);
	parse_str(&p, b.data);
	assert_counts(&p, 1, 1);
	assert_stmt(&p, 0, 2, 1, PHG_STMT_UNANALYZABLE);
	assert_finding(&p, 0, "unanalyzable-statement", 2, 1);
	ck_assert(p.findings.items[0].suppressed);
	parse_done(&p);
	phg_buf_release(&b);
}
END_TEST

/* ---- ignore comments ---- */

START_TEST(test_ignore_comment)
{
	struct parsed p;
	const struct phg_stmt *s;

	parse_str(&p, "SELECT 1;\n"
		      "-- phasegate:ignore rule-a,rule-b the reason here\n"
		      "DROP TABLE t;\n"
		      "SELECT 2;\n");
	assert_counts(&p, 3, 0);
	ck_assert_uint_eq(p.pf.stmts[0]->nignores, 0);
	s = p.pf.stmts[1];
	ck_assert_int_eq(s->line, 3);
	ck_assert_uint_eq(s->nignores, 2);
	ck_assert_str_eq(s->ignores[0], "rule-a");
	ck_assert_str_eq(s->ignores[1], "rule-b");
	ck_assert(!s->ignore_without_reason);
	ck_assert_int_eq(s->ignore_line, 2);
	/* It covers the next statement only. */
	ck_assert_uint_eq(p.pf.stmts[2]->nignores, 0);
	ck_assert_int_eq(p.pf.stmts[2]->ignore_line, 0);
	parse_done(&p);
}
END_TEST

START_TEST(test_ignore_comment_forms)
{
	struct parsed p;
	const struct phg_stmt *s;

	/* Spaces after commas; CRLF; a reason that looks like a rule id. */
	parse_str(&p, "--phasegate:ignore  rule-a, rule-b ,rule-c  reason\r\n"
		      "DROP TABLE t;\r\n");
	assert_counts(&p, 1, 0);
	s = p.pf.stmts[0];
	ck_assert_uint_eq(s->nignores, 3);
	ck_assert_str_eq(s->ignores[2], "rule-c");
	ck_assert(!s->ignore_without_reason);
	parse_done(&p);

	/* Not the tag: "phasegate:ignored" and a block comment. */
	parse_str(&p, "-- phasegate:ignored rule-a why\n"
		      "/* phasegate:ignore rule-b why */\n"
		      "DROP TABLE t;\n");
	assert_counts(&p, 1, 0);
	ck_assert_uint_eq(p.pf.stmts[0]->nignores, 0);
	ck_assert(!p.pf.stmts[0]->ignore_without_reason);
	ck_assert_int_eq(p.pf.stmts[0]->ignore_line, 0);
	parse_done(&p);
}
END_TEST

START_TEST(test_ignore_without_reason)
{
	struct parsed p;
	const struct phg_stmt *s;

	parse_str(&p,
		  "-- phasegate:ignore rule-a\nDROP TABLE t;\n"
		  "-- phasegate:ignore rule-a, rule-b   \r\nDROP TABLE u;\n");
	assert_counts(&p, 2, 0);
	s = p.pf.stmts[0];
	ck_assert_uint_eq(s->nignores, 1);
	ck_assert_str_eq(s->ignores[0], "rule-a");
	ck_assert(s->ignore_without_reason);
	ck_assert_int_eq(s->ignore_line, 1);
	s = p.pf.stmts[1];
	ck_assert_uint_eq(s->nignores, 2);
	ck_assert(s->ignore_without_reason);
	ck_assert_int_eq(s->ignore_line, 3);
	parse_done(&p);
}
END_TEST

START_TEST(test_ignore_line_is_the_ignore_comment)
{
	struct parsed p;
	const struct phg_stmt *s;

	/* A plain comment after the ignore comment does not move it. */
	parse_str(&p, "-- phasegate:ignore rule-a reviewed\n"
		      "-- drop the old table\n"
		      "DROP TABLE t;\n");
	assert_counts(&p, 1, 0);
	s = p.pf.stmts[0];
	ck_assert_uint_eq(s->nignores, 1);
	ck_assert_int_eq(s->ignore_line, 1);
	ck_assert_int_eq(s->line, 3);
	parse_done(&p);
}
END_TEST

START_TEST(test_ignore_in_split_mode)
{
	struct parsed p;

	parse_str(&p, "SELECT FROM FROM;\n"
		      "-- phasegate:ignore rule-a why\n"
		      "DROP TABLE t;\n");
	assert_counts(&p, 2, 1);
	ck_assert_uint_eq(p.pf.stmts[1]->nignores, 1);
	ck_assert_int_eq(p.pf.stmts[1]->ignore_line, 2);
	parse_done(&p);

	/* A syntax error cannot be suppressed. */
	parse_str(&p, "-- phasegate:ignore syntax-error it is fine\n"
		      "SELECT FROM FROM;\n");
	assert_counts(&p, 1, 1);
	assert_finding(&p, 0, "syntax-error", 2, 13);
	ck_assert(!p.findings.items[0].suppressed);
	parse_done(&p);
}
END_TEST

/* ---- ranges (dbmate sections) ---- */

START_TEST(test_dbmate_range)
{
	static const char text[] = "-- migrate:up\n"
				   "CREATE TABLE t (id int);\n"
				   "\n"
				   "  ALTER TABLE t ADD COLUMN n text;\n"
				   "\n"
				   "-- migrate:down\n"
				   "DROP TABLE t;\n";
	size_t start = strlen("-- migrate:up\n");
	size_t end = (size_t)(strstr(text, "-- migrate:down") - text);
	struct parsed p;

	parse_setup(&p);
	parse_range(&p, text, sizeof(text) - 1, start, end);
	assert_counts(&p, 2, 0);
	assert_stmt(&p, 0, 2, 1, PHG_STMT_OK);
	assert_stmt(&p, 1, 4, 3, PHG_STMT_OK);
	ck_assert_str_eq(p.types[1], "AlterTableStmt");
	parse_done(&p);
}
END_TEST

START_TEST(test_dbmate_range_errors)
{
	static const char text[] = "-- migrate:up\n"
				   "CREATE TABLE t (id int);\n"
				   "SELECT '\xc3\xa9' FROM FROM;\n"
				   "-- migrate:down\n"
				   "DROP TABLE t;\n";
	static const char bad[] = "-- migrate:up\n"
				  "SELECT 1;\n"
				  "SELECT '\xff';\n"
				  "-- migrate:down\n";
	size_t start = strlen("-- migrate:up\n");
	struct parsed p;

	parse_setup(&p);
	parse_range(&p, text, sizeof(text) - 1, start,
		    (size_t)(strstr(text, "-- migrate:down") - text));
	assert_counts(&p, 2, 1);
	assert_stmt(&p, 0, 2, 1, PHG_STMT_OK);
	assert_stmt(&p, 1, 3, 1, PHG_STMT_SYNTAX_ERROR);
	assert_finding(&p, 0, "syntax-error", 3, 17);
	parse_done(&p);

	parse_setup(&p);
	parse_range(&p, bad, sizeof(bad) - 1, start,
		    (size_t)(strstr(bad, "-- migrate:down") - bad));
	assert_counts(&p, 0, 1);
	assert_finding(&p, 0, "invalid-encoding", 3, 9);
	parse_done(&p);

	/* An empty range. */
	parse_setup(&p);
	parse_range(&p, text, sizeof(text) - 1, start, start);
	assert_counts(&p, 0, 0);
	parse_done(&p);
}
END_TEST

/* ---- callbacks ---- */

START_TEST(test_callback_stops_parsing)
{
	struct parsed p;

	parse_setup(&p);
	p.stop_after = 1;
	parse_range(&p, "SELECT 1; SELECT 2; SELECT 3;", 29, 0, 29);
	ck_assert_int_eq(p.rc, PHG_EINPUT);
	ck_assert_uint_eq(p.calls, 1);
	parse_done(&p);

	parse_setup(&p);
	p.stop_after = 2;
	parse_range(&p, "SELECT 1; SELECT FROM FROM; SELECT 3;", 37, 0, 37);
	ck_assert_int_eq(p.rc, PHG_EINPUT);
	ck_assert_uint_eq(p.calls, 2);
	parse_done(&p);
}
END_TEST

START_TEST(test_pre_pass_order)
{
	struct parsed p;

	parse_setup(&p);
	p.rc = phg_parse_file2("m.sql", "SELECT 1; SELECT 2;", 19, 0, 19,
			       &p.arena, &p.findings, on_pre, on_stmt, &p,
			       &p.pf, &p.err);
	ck_assert_int_eq(p.rc, 0);
	/* Whole files: every pre first, then every fn. */
	ck_assert_str_eq(p.order, "p0 p1 f0 f1");
	parse_done(&p);

	parse_setup(&p);
	p.rc = phg_parse_file2("m.sql", "SELECT 1; SELECT (;", 19, 0, 19,
			       &p.arena, &p.findings, on_pre, on_stmt, &p,
			       &p.pf, &p.err);
	ck_assert_int_eq(p.rc, 0);
	/* Statement by statement: pre and fn back to back. */
	ck_assert_str_eq(p.order, "p0 f0 p1 f1");
	parse_done(&p);
}
END_TEST

/* ---- end to end, through the binary ---- */

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

/* Writes tmp/name and lints it; returns the exit code. */
static int lint_file(const char *name, const char *data, size_t len,
		     const char *format, char **out)
{
	const char *argv[] = {"lint", "--format", format, name, NULL};
	char *err = NULL;
	int rc;

	th_write(tmp, name, data, len);
	rc = th_run(tmp, argv, out, &err);
	ck_assert_msg(rc <= 3, "phasegate crashed (%d): %s", rc, err);
	free(err);
	return rc;
}

static void assert_contains(const char *out, const char *want)
{
	ck_assert_msg(strstr(out, want) != NULL, "'%s' not in:\n%s", want, out);
}

START_TEST(test_e2e_invalid_encoding)
{
	static const char text[] = "SELECT 1;\0 DROP TABLE users;";
	char *out;

	ck_assert_int_eq(
		lint_file("0001_nul.sql", text, sizeof(text) - 1, "text", &out),
		1);
	assert_contains(out, "0001_nul.sql:1:10: error[invalid-encoding]");
	free(out);
	ck_assert_int_eq(
		lint_file("0001_nul.sql", text, sizeof(text) - 1, "json", &out),
		1);
	/* The DROP was never seen. */
	ck_assert_ptr_null(strstr(out, "drop_table"));
	assert_contains(out, "\"statements\":0");
	free(out);
}
END_TEST

START_TEST(test_e2e_syntax_error)
{
	static const char text[] = "SELECT 'ééééé' FROM FROM;\n"
				   "CREATE TABLE t (id int);\n";
	char *out;

	ck_assert_int_eq(
		lint_file("0001_bad.sql", text, sizeof(text) - 1, "text", &out),
		1);
	assert_contains(out, "0001_bad.sql:1:21: error[syntax-error]");
	free(out);
	ck_assert_int_eq(
		lint_file("0001_bad.sql", text, sizeof(text) - 1, "json", &out),
		1);
	/* The statement after the bad one is still classified. */
	assert_contains(out, "\"line\":2,\"column\":1,\"phase\":\"expand\","
			     "\"kind\":\"create_table\"");
	free(out);
}
END_TEST

START_TEST(test_e2e_psql_meta_command)
{
	static const char text[] = "\\connect other\nSELECT 1;\n";
	char *out;

	ck_assert_int_eq(lint_file("0001_meta.sql", text, sizeof(text) - 1,
				   "text", &out),
			 1);
	assert_contains(out, "0001_meta.sql:1:1: error[syntax-error]");
	free(out);
}
END_TEST

START_TEST(test_e2e_unbalanced_parenthesis)
{
	static const char text[] = "SELECT 1); DROP TABLE t;\n";
	char *out;

	/* Once exit 0: the scanner returned no statement and no error. */
	ck_assert_int_eq(lint_file("0001_paren.sql", text, sizeof(text) - 1,
				   "text", &out),
			 1);
	assert_contains(out, "0001_paren.sql:1:9: error[syntax-error]");
	free(out);
}
END_TEST

START_TEST(test_e2e_unanalyzable)
{
	struct phg_buf b = {0};
	char *out;

	ck_assert_int_eq(phg_buf_puts(&b, "SELECT 1;\nSELECT 1"), 0);
	for (int i = 1; i < 5000; i++)
		ck_assert_int_eq(phg_buf_puts(&b, " + 1"), 0);
	ck_assert_int_eq(phg_buf_puts(&b, ";\n"), 0);
	ck_assert_int_eq(
		lint_file("0001_deep.sql", b.data, b.len, "text", &out), 1);
	assert_contains(out,
			"0001_deep.sql:2:1: error[unanalyzable-statement]");
	free(out);
	phg_buf_release(&b);
}
END_TEST

START_TEST(test_e2e_normal_input)
{
	static const char bom_crlf[] = "\xef\xbb\xbf-- first\r\n"
				       "CREATE TABLE t (id int);\r\n";
	char *out;

	/*
	 * Regression, fixed (lint, lint.c sort_findings): with no finding at
	 * all it calls qsort(NULL, 0, ...), which the sanitizer build stops
	 * with "null pointer passed as argument 1": exit 1 instead of 0 there.
	 */
	ck_assert_int_eq(lint_file("0001_empty.sql", "", 0, "text", &out), 0);
	free(out);
	ck_assert_int_eq(lint_file("0002_comments.sql", "-- nothing\n", 11,
				   "text", &out),
			 0);
	free(out);
	ck_assert_int_eq(lint_file("0003_bom.sql", bom_crlf,
				   sizeof(bom_crlf) - 1, "json", &out),
			 0);
	assert_contains(out, "\"line\":2,\"column\":1,\"phase\":\"expand\"");
	free(out);
}
END_TEST

static Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("input");
	TCase *e2e = tcase_create("e2e");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_comments_only);
	tcase_add_test(tc, test_bom);
	tcase_add_test(tc, test_bom_syntax_error);
	tcase_add_test(tc, test_crlf);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_nul_byte_later_line);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_syntax_error_counts_characters);
	tcase_add_test(tc, test_syntax_error_later_statements_returned);
	tcase_add_test(tc, test_syntax_error_mid_line);
	tcase_add_test(tc, test_syntax_error_each_statement);
	tcase_add_test(tc, test_syntax_error_at_end_of_input);
	tcase_add_test(tc, test_syntax_error_inside_multiline_statement);
	tcase_add_test(tc, test_unbalanced_parentheses);
	tcase_add_test(tc, test_begin_atomic_in_split_mode);
	tcase_add_test(tc, test_unterminated_string);
	tcase_add_test(tc, test_unterminated_dollar_quote);
	tcase_add_test(tc, test_unterminated_block_comment);
	tcase_add_test(tc, test_psql_meta_commands);
	tcase_add_test(tc, test_first_token_position);
	tcase_add_test(tc, test_positions_same_in_split_mode);
	tcase_add_test(tc, test_node_type_outlives_tree);
	tcase_add_test(tc, test_large_file);
	tcase_add_test(tc, test_large_file_with_errors);
	tcase_add_test(tc, test_deep_expression_chain);
	tcase_add_test(tc, test_deep_parentheses);
	tcase_add_test(tc, test_deep_statement_suppressed);
	tcase_add_test(tc, test_ignore_comment);
	tcase_add_test(tc, test_ignore_comment_forms);
	tcase_add_test(tc, test_ignore_without_reason);
	tcase_add_test(tc, test_ignore_line_is_the_ignore_comment);
	tcase_add_test(tc, test_ignore_in_split_mode);
	tcase_add_test(tc, test_dbmate_range);
	tcase_add_test(tc, test_dbmate_range_errors);
	tcase_add_test(tc, test_callback_stops_parsing);
	tcase_add_test(tc, test_pre_pass_order);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(e2e, setup, teardown);
	tcase_set_timeout(e2e, 300);
	tcase_add_test(e2e, test_e2e_invalid_encoding);
	tcase_add_test(e2e, test_e2e_syntax_error);
	tcase_add_test(e2e, test_e2e_psql_meta_command);
	tcase_add_test(e2e, test_e2e_unbalanced_parenthesis);
	tcase_add_test(e2e, test_e2e_unanalyzable);
	tcase_add_test(e2e, test_e2e_normal_input);
	suite_add_tcase(s, e2e);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(parse_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	/* Once, at the end: libpg_query cannot parse again after
	   pg_query_exit, which a per-test teardown asked of it with
	   CK_FORK=no (scripts/valgrind.sh). */
	phg_parse_shutdown();
	return failures != 0;
}
