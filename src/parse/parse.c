/*
 * parse.c: one file's text → statements, with libpg_query. The whole input
 * is parsed at once when it is small and well-formed (fastest); otherwise,
 * and for large files, it is split with the scanner and every statement is
 * parsed alone, so one bad or too-deep statement becomes a finding at that
 * statement and the rest is still analysed.
 */
#include "parse.h"

#include <pg_query.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"
#include "pgparse.h"

/* Whether libpg_query was called, so that shutting it down is safe. */
static bool parser_used;

void phg_parse_shutdown(void)
{
	phg_parse_do_cache_release();
	if (parser_used)
		pg_query_exit();
	phg_json_shutdown();
	parser_used = false;
}

/* Inputs larger than this are parsed statement by statement. */
#define PHG_WHOLE_PARSE_MAX (2u * 1024 * 1024)

struct parse_run {
	const char *file;
	const char *text; /* whole file */
	size_t len;
	size_t base; /* offset of the parser's input within text */
	struct phg_arena *arena;
	struct phg_findings *findings;
	struct phg_cursor cur;
	phg_stmt_fn pre, fn;
	void *ctx;
	const char *file_rules[PHG_MAX_IGNORES]; /* ignore-file ids so far */
	size_t nfile;
	struct phg_parsed_file *out;
	struct phg_err *err;
};

static const char *line_text(struct parse_run *r, size_t line_start)
{
	size_t e = line_start, cap = line_start + 400;

	while (e < r->len && e < cap && r->text[e] != '\n')
		e++;
	if (e > line_start && r->text[e - 1] == '\r')
		e--;
	/* Do not cut a code point in half. */
	while (e > line_start && e == cap &&
	       ((unsigned char)r->text[e] & 0xc0) == 0x80)
		e--;
	return phg_arena_strndup(r->arena, r->text + line_start,
				 e - line_start);
}

static struct phg_finding *add_finding_at(struct parse_run *r, const char *rule,
					  size_t at, const char *msg,
					  const char *help)
{
	struct phg_finding *f;

	phg_cursor_advance(&r->cur, at);
	f = phg_findings_add(r->findings, rule, PHG_SEV_ERROR, r->file,
			     r->cur.line, r->cur.col, msg, help);
	if (f)
		f->source_line = (char *)line_text(r, r->cur.line_start);
	return f;
}

static int push_stmt(struct parse_run *r, struct phg_stmt *s)
{
	struct phg_parsed_file *o = r->out;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		struct phg_stmt **n = realloc(o->stmts, cap * sizeof(*n));

		if (!n)
			return PHG_ENOMEM;
		o->stmts = n;
		o->cap = cap;
	}
	o->stmts[o->n++] = s;
	return 0;
}

/*
 * Gives a statement its ignore ids: its own comment's first, then the
 * file-level ones seen so far (which stay for the rest of the file).
 */
static int attach_ignores(struct parse_run *r, struct phg_stmt *s,
			  const struct phg_ignore *ig)
{
	size_t n;

	for (size_t i = 0; i < ig->nfile && r->nfile < PHG_MAX_IGNORES; i++)
		r->file_rules[r->nfile++] = ig->file_rules[i];
	if (ig->found) {
		phg_cursor_advance(&r->cur, ig->comment_at);
		s->ignore_line = r->cur.line;
	}
	s->ignore_without_reason = ig->reasonless;
	s->nlocal_ignores = ig->n;
	n = ig->n + r->nfile;
	if (n == 0)
		return 0;
	s->ignores = phg_arena_alloc(r->arena, n * sizeof(char *));
	if (!s->ignores)
		return PHG_ENOMEM;
	memcpy(s->ignores, ig->rules, ig->n * sizeof(char *));
	memcpy(s->ignores + ig->n, r->file_rules, r->nfile * sizeof(char *));
	s->nignores = n;
	return 0;
}

/*
 * Makes a statement for text[from, to): finds its first token, its position
 * and its ignore comment. Returns NULL for an empty range (only comments).
 */
static int new_stmt(struct parse_run *r, size_t from, size_t to,
		    struct phg_stmt **out)
{
	struct phg_ignore ig = {0};
	struct phg_stmt *s;
	size_t tok;
	int rc;

	*out = NULL;
	rc = phg_skip_to_token(r->text, from, to, r->arena, &ig, &tok);
	if (rc < 0)
		return rc;
	if (tok >= to)
		return 0;
	s = phg_arena_alloc(r->arena, sizeof(*s));
	if (!s)
		return PHG_ENOMEM;
	s->file = r->file;
	s->index = (int)r->out->n;
	s->offset = tok;
	s->len = to - tok;
	rc = attach_ignores(r, s, &ig);
	if (rc < 0)
		return rc;
	phg_cursor_advance(&r->cur, tok);
	s->line = r->cur.line;
	s->col = r->cur.col;
	s->source_line = line_text(r, r->cur.line_start);
	if (!s->source_line)
		return PHG_ENOMEM;
	rc = push_stmt(r, s);
	if (rc < 0)
		return rc;
	*out = s;
	return 0;
}

static bool is_too_deep(const char *msg)
{
	return strstr(msg, "memory exhausted") ||
	       strstr(msg, "stack depth limit exceeded");
}

static int report_unanalyzable(struct parse_run *r, struct phg_stmt *s,
			       const char *why)
{
	char *msg = phg_arena_printf(
		r->arena,
		"statement cannot be analysed: %s; phasegate does not know "
		"what it changes",
		why);

	struct phg_finding *f;

	s->state = PHG_STMT_UNANALYZABLE;
	if (!msg)
		return PHG_ENOMEM;
	f = add_finding_at(r, "unanalyzable-statement", s->offset, msg,
			   "Simplify the statement (split a long chain of "
			   "expressions or nesting into smaller statements or "
			   "a function), or review it by hand and add "
			   "'-- phasegate:ignore unanalyzable-statement "
			   "<reason>' on the line before it.");
	if (!f)
		return PHG_ENOMEM;
	for (size_t i = 0; i < s->nignores; i++)
		if (strcmp(s->ignores[i], "unanalyzable-statement") == 0)
			f->suppressed = true;
	return 0;
}

/* Gives s its tree; the type name is copied, as it outlives the tree. */
static int set_tree(struct parse_run *r, struct phg_stmt *s, const cJSON *node)
{
	const char *type = phg_node_type(node);

	s->tree = node;
	s->node_type = type ? phg_arena_strdup(r->arena, type) : NULL;
	return type && !s->node_type ? PHG_ENOMEM : 0;
}

/* Runs the statement callback and drops the tree pointer afterwards. */
static int deliver(struct parse_run *r, struct phg_stmt *s, const cJSON *node)
{
	int rc = set_tree(r, s, node);

	if (rc == 0 && r->pre)
		rc = r->pre(s, r->ctx);
	if (rc == 0 && r->fn)
		rc = r->fn(s, r->ctx);
	s->tree = NULL;
	return rc;
}

/* Reports a syntax error found in input (text at r->text + base + off). */
static int report_syntax_error(struct parse_run *r, size_t off, size_t inlen,
			       const PgQueryError *e)
{
	const char *in = r->text + r->base + off;
	size_t at = off;
	char *msg;

	if (e->cursorpos > 0)
		at += phg_cursor_char_to_byte(in, inlen,
					      (size_t)e->cursorpos - 1);
	msg = phg_arena_printf(r->arena, "syntax error: %s", e->message);
	if (!msg ||
	    !add_finding_at(r, "syntax-error", r->base + at, msg,
			    "Fix the SQL so that PostgreSQL 15 can parse it. "
			    "psql meta-commands (\\connect, \\set, ...) are "
			    "not SQL and cannot run in a migration."))
		return PHG_ENOMEM;
	return 0;
}

/* Parses one statement on its own (split mode). */
static int parse_one(struct parse_run *r, size_t from, size_t to)
{
	struct phg_pg_result res;
	struct phg_stmt *s;
	const cJSON *stmts, *first;
	char *copy;
	int rc;

	rc = new_stmt(r, r->base + from, r->base + to, &s);
	if (rc < 0 || !s)
		return rc;
	copy = phg_strndup(r->text + r->base + from, to - from);
	if (!copy)
		return PHG_ENOMEM;
	parser_used = true;
	phg_pg_parse(copy, true, &res);
	if (res.error) {
		if (is_too_deep(res.error->message)) {
			rc = report_unanalyzable(r, s, res.error->message);
		} else {
			s->state = PHG_STMT_SYNTAX_ERROR;
			rc = report_syntax_error(r, from, to - from, res.error);
		}
		if (rc == 0)
			rc = deliver(r, s, NULL);
		goto out;
	}
	if (!res.doc) {
		rc = report_unanalyzable(r, s, "it nests too deeply to read");
		if (rc == 0)
			rc = deliver(r, s, NULL);
		goto out;
	}
	stmts = phg_field(res.doc, "stmts");
	first = cJSON_IsArray(stmts) ? cJSON_GetArrayItem(stmts, 0) : NULL;
	rc = deliver(r, s, phg_field(first, "stmt"));
out:
	phg_json_delete(res.doc);
	phg_json_reset();
	phg_pg_result_free(&res);
	free(copy);
	return rc;
}

static bool is_space_or_semicolon(char ch)
{
	return ch == ';' || ch == ' ' || ch == '\t' || ch == '\n' ||
	       ch == '\r' || ch == '\f' || ch == '\v';
}

/* Case-insensitive search for an ASCII word in s[0, n). */
static bool mentions(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);

	for (size_t i = 0; i + w <= n; i++) {
		size_t k = 0;

		while (k < w && (s[i + k] | 0x20) == word[k])
			k++;
		if (k == w)
			return true;
	}
	return false;
}

/* Parses input[from, to) alone: 0 parsed, 1 failed at its end, -1 other. */
static int try_parse(const char *input, size_t from, size_t to)
{
	char *copy = phg_strndup(input + from, to - from);
	struct phg_pg_result res;
	int rc;

	if (!copy)
		return -1;
	phg_pg_parse(copy, false, &res);
	rc = 0;
	if (res.error)
		rc = strstr(res.error->message, "at end of input") ? 1 : -1;
	phg_pg_result_free(&res);
	free(copy);
	return rc;
}

/* Pieces a BEGIN ATOMIC body may span; more is not tried. */
#define PHG_ATOMIC_MAX_PIECES 256

/*
 * The scanner ends a statement at every semicolon outside parentheses, so a
 * function body in BEGIN ATOMIC ... END comes in pieces. When piece i
 * mentions ATOMIC and fails at its end, the next pieces are added while the
 * parse keeps failing there; the first text that parses is the statement
 * (*to is moved to its end). Returns the index of its last piece, or i.
 */
static int join_atomic(const char *input, size_t inlen, bool whole_input,
		       const PgQuerySplitResult *sp, int i, size_t *to)
{
	size_t from = (size_t)sp->stmts[i]->stmt_location;

	if (!mentions(input + from, *to - from, "atomic") ||
	    try_parse(input, from, *to) != 1)
		return i;
	for (int j = i + 1; j < sp->n_stmts && j <= i + PHG_ATOMIC_MAX_PIECES;
	     j++) {
		size_t end = (size_t)sp->stmts[j]->stmt_location +
			     (size_t)sp->stmts[j]->stmt_len;
		bool last = end >= inlen || input[end] != ';';
		int rc;

		if (last && !whole_input)
			break;
		if (last)
			end = inlen;
		rc = try_parse(input, from, end);
		if (rc == 0) {
			*to = end;
			return j;
		}
		if (rc < 0 || last)
			break;
	}
	return i;
}

/*
 * Split mode: scanner boundaries, then one parse per statement. The scanner
 * cannot be trusted past bad input: it fails at an unterminated quote or
 * comment, and after an unbalanced parenthesis it returns no more
 * statements, silently. So only the statements it ends with a semicolon
 * (before an unterminated token: the text before it is split again) are
 * taken from it (BEGIN ATOMIC bodies joined again), and whatever follows
 * the last of them is parsed as one more statement, whose error becomes the
 * finding.
 */
static int parse_split(struct parse_run *r, const char *input, size_t inlen)
{
	PgQuerySplitResult sp, again = {0};
	const PgQuerySplitResult *use = &sp;
	size_t scan_end = inlen, done = 0, before;
	char *prefix = NULL;
	int rc = 0;

	parser_used = true;
	sp = pg_query_split_with_scanner(input);
	if (sp.error) {
		if (sp.error->cursorpos > 0)
			scan_end = phg_cursor_char_to_byte(
				input, inlen, (size_t)sp.error->cursorpos - 1);
		else
			scan_end = 0;
		prefix = phg_strndup(input, scan_end);
		if (!prefix) {
			rc = PHG_ENOMEM;
			goto out;
		}
		again = pg_query_split_with_scanner(prefix);
		use = &again;
	}
	for (int i = 0; !use->error && i < use->n_stmts && rc == 0; i++) {
		size_t from = (size_t)use->stmts[i]->stmt_location;
		size_t to = from + (size_t)use->stmts[i]->stmt_len;

		if (from < done || to >= scan_end || input[to] != ';')
			break;
		i = join_atomic(input, scan_end, !sp.error, use, i, &to);
		rc = parse_one(r, from, to);
		done = to < inlen ? to + 1 : inlen;
	}
	while (done < inlen && is_space_or_semicolon(input[done]))
		done++;
	before = r->out->n;
	if (rc == 0 && done < inlen)
		rc = parse_one(r, done, inlen);
	/* Only an unterminated comment was left: no statement holds it. */
	if (rc == 0 && sp.error && r->out->n == before)
		rc = report_syntax_error(r, 0, inlen, sp.error);
out:
	if (prefix)
		pg_query_free_split_result(again);
	free(prefix);
	pg_query_free_split_result(sp);
	return rc;
}

/* Whole mode: one parse of the input. Returns 1 to ask for split mode. */
static int parse_whole(struct parse_run *r, const char *input, size_t inlen)
{
	struct phg_pg_result res;
	const cJSON *item;
	int rc = 0;

	parser_used = true;
	phg_pg_parse(input, true, &res);
	if (!res.doc) {
		rc = 1;
		goto out;
	}
	cJSON_ArrayForEach(item, phg_field(res.doc, "stmts"))
	{
		size_t from = (size_t)phg_field_int(item, "stmt_location", 0);
		size_t n = (size_t)phg_field_int(item, "stmt_len", 0);
		size_t to = n ? from + n : inlen;
		struct phg_stmt *s;

		if (from > inlen || to > inlen)
			break;
		rc = new_stmt(r, r->base + from, r->base + to, &s);
		if (rc < 0)
			break;
		if (s)
			rc = set_tree(r, s, phg_field(item, "stmt"));
		if (rc < 0)
			break;
	}
	for (size_t i = 0; rc == 0 && r->pre && i < r->out->n; i++)
		rc = r->pre(r->out->stmts[i], r->ctx);
	for (size_t i = 0; rc == 0 && r->fn && i < r->out->n; i++)
		rc = r->fn(r->out->stmts[i], r->ctx);
	for (size_t i = 0; i < r->out->n; i++)
		r->out->stmts[i]->tree = NULL;
out:
	phg_json_delete(res.doc);
	phg_json_reset();
	phg_pg_result_free(&res);
	return rc;
}

static int check_encoding(struct parse_run *r, size_t start, size_t end)
{
	size_t bad = start + phg_utf8_invalid_at(r->text + start, end - start);
	char msg[160];

	if (bad >= end)
		return 0;
	r->out->encoding_error = true;
	snprintf(msg, sizeof(msg),
		 "%s at byte %zu: the file is not valid UTF-8 and was not "
		 "parsed",
		 r->text[bad] == '\0' ? "NUL byte" : "invalid UTF-8", bad);
	if (!add_finding_at(r, "invalid-encoding", bad, msg,
			    "Save the file as UTF-8 without NUL bytes. "
			    "Nothing in this file was checked, so it is "
			    "refused as a whole."))
		return PHG_ENOMEM;
	return 1;
}

int phg_parse_file(const char *file, const char *text, size_t len, size_t start,
		   size_t end, struct phg_arena *arena,
		   struct phg_findings *findings, phg_stmt_fn fn, void *ctx,
		   struct phg_parsed_file *out, struct phg_err *err)
{
	return phg_parse_file2(file, text, len, start, end, arena, findings,
			       NULL, fn, ctx, out, err);
}

int phg_parse_file2(const char *file, const char *text, size_t len,
		    size_t start, size_t end, struct phg_arena *arena,
		    struct phg_findings *findings, phg_stmt_fn pre,
		    phg_stmt_fn fn, void *ctx, struct phg_parsed_file *out,
		    struct phg_err *err)
{
	struct parse_run r = {.file = file,
			      .pre = pre,
			      .text = text,
			      .len = len,
			      .arena = arena,
			      .findings = findings,
			      .fn = fn,
			      .ctx = ctx,
			      .out = out,
			      .err = err};
	char *copy = NULL;
	const char *input;
	size_t inlen;
	int rc;

	phg_json_arena_on();
	memset(out, 0, sizeof(*out));
	out->file = file;
	if (end > len)
		end = len;
	if (start > end)
		start = end;
	if (start == 0 && end >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		start = 3;
	phg_cursor_init(&r.cur, text, 0);
	rc = check_encoding(&r, start, end);
	if (rc != 0)
		return rc < 0 ? phg_err_set(err, rc, "out of memory") : 0;
	r.base = start;
	inlen = end - start;
	if (end == len) {
		input = text + start;
	} else {
		copy = phg_strndup(text + start, inlen);
		if (!copy)
			return phg_err_set(err, PHG_ENOMEM, "out of memory");
		input = copy;
	}
	rc = inlen > PHG_WHOLE_PARSE_MAX ? 1 : parse_whole(&r, input, inlen);
	if (rc == 1) {
		/* Start again, statement by statement, from a clean slate. */
		out->n = 0;
		r.nfile = 0;
		phg_cursor_init(&r.cur, text, 0);
		rc = parse_split(&r, input, inlen);
	}
	free(copy);
	if (rc == PHG_ENOMEM)
		return phg_err_set(err, rc, "out of memory");
	return rc;
}

void phg_parse_release(struct phg_parsed_file *out)
{
	free(out->stmts);
	out->stmts = NULL;
	out->n = out->cap = 0;
}
