/*
 * plpgsql.c: reading the SQL a DO block runs. The block's body is parsed as
 * a PL/pgSQL function with libpg_query, and every embedded SQL statement is
 * parsed in turn, so a DO block takes the phase of what it does. Dynamic SQL
 * (EXECUTE) and other languages cannot be read: the caller treats such a
 * block as a contract and warns.
 *
 * Given the file's text, each embedded statement is also placed where it is
 * written: PL/pgSQL numbers a statement's line from the first line of the
 * function body, so the body is found in the DO statement's own text (the
 * string literal after DO and its LANGUAGE clause) and the statement's text
 * is looked for from that line on.
 */
#include "parse.h"

#include <pg_query.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"
#include "pgparse.h"

/* The longest source line a statement keeps for the caret (as parse.c). */
#define LINE_TEXT_MAX 400

/* Where the block's body is in the file. */
struct body {
	const char *text; /* the whole file */
	size_t len;
	size_t start, end; /* the body's bytes in text */
	bool exact;	   /* text[start, end) is the body as PL/pgSQL read it
			      (dollar quotes, or a quoted string without escapes) */
	struct phg_cursor origin; /* at the DO statement's first token */
	struct phg_cursor cur;	  /* moves forward through the body */
	int line;		  /* 1-based line of cur within the body */
	size_t line_at;		  /* byte where that line starts */
};

struct do_walk {
	const struct phg_stmt *outer;
	phg_stmt_fn fn;
	void *ctx;
	bool dynamic; /* EXECUTE or FOR ... EXECUTE: not readable */
	bool bad;     /* an embedded statement did not parse */
	int rc;
	int count;
	struct phg_arena *arena; /* NULL: statements stay at the block */
	struct body body;
	bool placed;  /* body found: statements get their own place */
	int lineno;   /* PL/pgSQL's line of the statement being read */
	size_t next;  /* where the statement placed last ends */
	cJSON **docs; /* trees handed out, kept until the walk ends */
	size_t ndocs, cap;
};

static const char *do_arg(const cJSON *dostmt, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, phg_field(dostmt, "args"))
	{
		const cJSON *d = phg_node_get(it, "DefElem");

		if (phg_streq(phg_field_str(d, "defname"), name))
			return phg_node_sval(phg_field(d, "arg"));
	}
	return NULL;
}

static bool is_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || ((unsigned char)c & 0x80);
}

/* The end of a quoted token whose quote is q, opened before i; '' and, with
   backslashes set, \x stay inside. Returns the closing quote's offset. */
static size_t quoted_end(const char *t, size_t i, size_t end, char q,
			 bool backslashes)
{
	while (i < end) {
		if (backslashes && t[i] == '\\' && i + 1 < end) {
			i += 2;
		} else if (t[i] == q && i + 1 < end && t[i + 1] == q) {
			i += 2;
		} else if (t[i] == q) {
			return i;
		} else {
			i++;
		}
	}
	return end;
}

/* A dollar-quoted body opened by the tag at t[i]: sets *start and *end. */
static bool dollar_body(const char *t, size_t i, size_t end, size_t *start,
			size_t *stop)
{
	size_t j = i + 1, taglen;

	while (j < end && t[j] != '$' && is_ident_char(t[j]))
		j++;
	if (j >= end || t[j] != '$')
		return false;
	taglen = j + 1 - i;
	*start = j + 1;
	for (size_t k = *start; k + taglen <= end; k++)
		if (t[k] == '$' && memcmp(t + k, t + i, taglen) == 0) {
			*stop = k;
			return true;
		}
	return false;
}

/*
 * Finds the body (sval, as the parser read it) in the DO statement's text:
 * past "DO", comments, the LANGUAGE clause and quoted identifiers, the first
 * string literal is the body. Fills b; false when it cannot be found.
 */
static bool find_body(const struct phg_stmt *outer, const char *text,
		      size_t len, const char *sval, struct body *b)
{
	size_t i = outer->offset, end = outer->offset + outer->len;
	size_t vlen = strlen(sval);

	if (end > len || i + 2 > end || (text[i] | 0x20) != 'd' ||
	    (text[i + 1] | 0x20) != 'o')
		return false;
	i += 2;
	while (i < end) {
		char c;

		if (phg_skip_to_token(text, i, end, NULL, NULL, &i) < 0 ||
		    i >= end)
			return false;
		c = text[i];
		if (c == '$') {
			if (!dollar_body(text, i, end, &b->start, &b->end))
				return false;
			break;
		}
		if (c == '\'' ||
		    ((c | 0x20) == 'e' && i + 1 < end && text[i + 1] == '\'')) {
			bool e = c != '\'';

			b->start = i + (e ? 2 : 1);
			b->end = quoted_end(text, b->start, end, '\'', e);
			break;
		}
		if (c == '"') {
			i = quoted_end(text, i + 1, end, '"', false) + 1;
		} else if (is_ident_char(c)) {
			while (i < end && is_ident_char(text[i]))
				i++;
		} else {
			return false;
		}
	}
	if (i >= end)
		return false;
	b->text = text;
	b->len = len;
	b->exact = b->end - b->start == vlen &&
		   memcmp(text + b->start, sval, vlen) == 0;
	return true;
}

/* A cursor at the DO statement's first token, and the body's start. */
static void start_cursors(const struct phg_stmt *outer, struct body *b)
{
	size_t ls = outer->offset;

	while (ls > 0 && b->text[ls - 1] != '\n')
		ls--;
	if (ls == 0 && b->len >= 3 && memcmp(b->text, "\xef\xbb\xbf", 3) == 0)
		ls = 3;
	b->origin.text = b->text;
	b->origin.pos = outer->offset;
	b->origin.line_start = ls;
	b->origin.line = outer->line;
	b->origin.col = outer->col;
	b->cur = b->origin;
	phg_cursor_advance(&b->cur, b->start);
	b->line = 1;
	b->line_at = b->start;
}

/* The byte where line n of the body starts (its end when it has fewer). */
static size_t body_line(struct body *b, int n)
{
	if (n < b->line) {
		b->line = 1;
		b->line_at = b->start;
	}
	while (b->line < n && b->line_at < b->end) {
		const char *nl =
			memchr(b->text + b->line_at, '\n', b->end - b->line_at);

		if (!nl) {
			b->line_at = b->end;
			break;
		}
		b->line_at = (size_t)(nl - b->text) + 1;
		b->line++;
	}
	return b->line_at;
}

/* The first place of s[0, n) in the body from byte from, or b->end. */
static size_t body_find(const struct body *b, size_t from, const char *s,
			size_t n)
{
	for (size_t i = from; n && i + n <= b->end; i++)
		if (b->text[i] == s[0] && memcmp(b->text + i, s, n) == 0)
			return i;
	return b->end;
}

/*
 * Where a statement PL/pgSQL read as query, on line lineno of the body,
 * starts in the file. The statements come in the order they are written,
 * so the search starts at that line, past the previous statement (from).
 * An exact body holds the query's text as is; otherwise (escapes in a
 * quoted body) its first word is looked for. Failing both, the line's
 * first token.
 */
static size_t place_of(struct body *b, const char *query, int lineno,
		       size_t from)
{
	size_t ls = body_line(b, lineno > 0 ? lineno : 1), at, n = 0;
	const size_t starts[] = {from > ls ? from : ls, ls, b->start};

	if (b->exact)
		n = strlen(query);
	else
		while (query[n] && is_ident_char(query[n]))
			n++;
	for (size_t i = 0; n && i < sizeof(starts) / sizeof(*starts); i++) {
		at = body_find(b, starts[i], query, n);
		if (at < b->end)
			return at;
	}
	at = ls < b->end ? ls : b->start;
	while (at < b->end && (b->text[at] == ' ' || b->text[at] == '\t'))
		at++;
	return at;
}

/* The text of the line starting at ls, in the arena (as parse.c keeps it). */
static const char *line_text(struct phg_arena *arena, const struct body *b,
			     size_t ls)
{
	size_t e = ls, cap = ls + LINE_TEXT_MAX;

	while (e < b->len && e < cap && b->text[e] != '\n')
		e++;
	if (e > ls && b->text[e - 1] == '\r')
		e--;
	while (e > ls && e == cap && ((unsigned char)b->text[e] & 0xc0) == 0x80)
		e--;
	return phg_arena_strndup(arena, b->text + ls, e - ls);
}

/*
 * Where the comment lines right above the statement at `at` begin (blank
 * lines and whole "--" lines, inside the body), so their ignore comments can
 * be read; `at` itself when text precedes the statement on its line.
 */
static size_t comments_above(const struct body *b, size_t at)
{
	const char *t = b->text;
	size_t g = at;

	while (g > b->start && (t[g - 1] == ' ' || t[g - 1] == '\t'))
		g--;
	if (g > b->start && t[g - 1] != '\n')
		return at;
	while (g > b->start) {
		size_t le = g - 1, ls = le, f;

		while (ls > b->start && t[ls - 1] != '\n')
			ls--;
		f = ls;
		while (f < le && (t[f] == ' ' || t[f] == '\t' || t[f] == '\r'))
			f++;
		if (f < le && !(f + 1 < le && t[f] == '-' && t[f + 1] == '-'))
			break;
		g = ls;
	}
	return g;
}

/*
 * Gives inner its own ignore comments (written in the body on the lines
 * before it) ahead of the block's, whose ignores it inherits.
 */
static int inner_ignores(struct do_walk *w, struct phg_stmt *inner, size_t at)
{
	const struct phg_stmt *outer = w->outer;
	struct phg_ignore ig = {0};
	size_t tok, n;
	int rc;

	inner->nlocal_ignores = 0;
	inner->ignore_without_reason = false;
	inner->ignore_line = 0;
	rc = phg_skip_to_token(w->body.text, comments_above(&w->body, at), at,
			       w->arena, &ig, &tok);
	if (rc < 0)
		return rc;
	if (tok != at || ig.n == 0) {
		inner->ignore_without_reason = tok == at && ig.reasonless;
		return 0;
	}
	n = ig.n + outer->nignores;
	inner->ignores = phg_arena_alloc(w->arena, n * sizeof(char *));
	if (!inner->ignores)
		return PHG_ENOMEM;
	memcpy(inner->ignores, ig.rules, ig.n * sizeof(char *));
	if (outer->nignores)
		memcpy(inner->ignores + ig.n, outer->ignores,
		       outer->nignores * sizeof(char *));
	inner->nignores = n;
	inner->nlocal_ignores = ig.n;
	inner->ignore_without_reason = ig.reasonless;
	inner->ignore_line = inner->line;
	for (size_t i = ig.comment_at; i < at; i++)
		if (w->body.text[i] == '\n')
			inner->ignore_line--;
	return 0;
}

/* Moves inner to where query is written in the file. */
static int place_inner(struct do_walk *w, struct phg_stmt *inner,
		       const char *query)
{
	struct body *b = &w->body;
	size_t at = place_of(b, query, w->lineno, w->next),
	       qlen = strlen(query);

	if (at < b->cur.pos)
		b->cur = b->origin;
	phg_cursor_advance(&b->cur, at);
	inner->offset = at;
	/* A quoted body's escapes make the text longer than the query. */
	inner->len = at + qlen <= b->end ? qlen : b->end - at;
	w->next = at + inner->len;
	inner->line = b->cur.line;
	inner->col = b->cur.col;
	inner->source_line = line_text(w->arena, b, b->cur.line_start);
	if (!inner->source_line)
		return PHG_ENOMEM;
	return inner_ignores(w, inner, at);
}

static int keep_doc(struct do_walk *w, cJSON *doc)
{
	if (w->ndocs == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		cJSON **grown = realloc(w->docs, cap * sizeof(*grown));

		if (!grown)
			return PHG_ENOMEM;
		w->docs = grown;
		w->cap = cap;
	}
	w->docs[w->ndocs++] = doc;
	return 0;
}

/* Parses one embedded query and hands its statements to the callback. */
static void walk_query(struct do_walk *w, const char *query)
{
	struct phg_pg_result res;
	cJSON *doc;
	const cJSON *it;

	phg_pg_parse(query, true, &res);
	doc = res.doc;
	if (!doc) {
		w->bad = true;
		goto out;
	}
	/* Earlier statements' trees stay alive for the callback's sake. */
	if (keep_doc(w, doc) < 0) {
		phg_json_delete(doc);
		w->rc = PHG_ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, phg_field(doc, "stmts"))
	{
		struct phg_stmt inner = *w->outer;

		inner.tree = phg_field(it, "stmt");
		inner.node_type = phg_node_type(inner.tree);
		inner.actions = NULL;
		inner.nactions = 0;
		inner.targets = NULL;
		inner.ntargets = 0;
		inner.state = PHG_STMT_OK;
		inner.analysis_warning = false;
		w->count++;
		if (w->rc == 0 && w->placed)
			w->rc = place_inner(w, &inner, query);
		if (w->rc == 0 && w->fn)
			w->rc = w->fn(&inner, w->ctx);
	}
out:
	phg_pg_result_free(&res);
}

static void walk_node(struct do_walk *w, const cJSON *node, int depth)
{
	const cJSON *it;

	if (!node || depth > 2000 || w->rc != 0)
		return;
	if (cJSON_IsObject(node)) {
		const cJSON *ex = phg_node_get(node, "PLpgSQL_stmt_execsql");
		const cJSON *call = phg_node_get(node, "PLpgSQL_stmt_call");

		if (phg_node_get(node, "PLpgSQL_stmt_dynexecute") ||
		    phg_node_get(node, "PLpgSQL_stmt_dynfors")) {
			w->dynamic = true;
			return;
		}
		/* PL/pgSQL reads CALL and DO (a nested block) as a "call"
		   statement: its SQL runs like any other. */
		if (!ex)
			ex = call;
		if (ex) {
			const char *q = phg_field_str(
				phg_node_get(phg_field(ex, call ? "expr"
								: "sqlstmt"),
					     "PLpgSQL_expr"),
				"query");

			w->lineno = phg_field_int(ex, "lineno", 1);
			if (q)
				walk_query(w, q);
			return;
		}
	}
	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		cJSON_ArrayForEach(it, node) walk_node(w, it, depth + 1);
}

/*
 * Wraps the body in a function definition with a dollar tag it lacks; the
 * body starts right after the tag, so PL/pgSQL's line 1 is the body's
 * first line.
 */
static char *wrap_body(const char *body)
{
	char tag[32] = "phg";

	for (int i = 0; i < 1000; i++) {
		char probe[40];

		snprintf(probe, sizeof(probe), "$%s$", tag);
		if (!strstr(body, probe))
			return phg_asprintf("CREATE FUNCTION phg_do() RETURNS "
					    "void LANGUAGE plpgsql AS %s%s%s",
					    probe, body, probe);
		snprintf(tag, sizeof(tag), "phg%d", i);
	}
	return NULL;
}

/*
 * PL/pgSQL bodies parsed in the current tree epoch (phg_json_epoch): the
 * classifier, the model and lint each read a DO block, and it is parsed
 * once. An entry's tree lives until the epoch ends (so a walk that reads a
 * nested block while walking its own keeps its tree); a full cache only
 * means parsing again.
 */
#define DO_CACHE_MAX 16
struct do_cached {
	char *body; /* a copy: the statement's tree may go first */
	cJSON *doc; /* NULL: the body does not parse */
};
static struct do_cached do_cache[DO_CACHE_MAX];
static size_t do_ncached;
static unsigned long do_cache_epoch;

void phg_parse_do_cache_release(void)
{
	for (size_t i = 0; i < do_ncached; i++) {
		free(do_cache[i].body);
		/* With the arena the epoch's end already took the tree. */
		phg_json_delete(do_cache[i].doc);
	}
	do_ncached = 0;
}

/* The cached entry for body, or NULL. */
static const struct do_cached *do_cache_find(const char *body)
{
	if (do_cache_epoch != phg_json_epoch()) {
		phg_parse_do_cache_release();
		do_cache_epoch = phg_json_epoch();
	}
	for (size_t i = 0; i < do_ncached; i++)
		if (strcmp(do_cache[i].body, body) == 0)
			return &do_cache[i];
	return NULL;
}

/* The PL/pgSQL tree of body (NULL: it does not parse); *owned says the
   caller frees it, when the cache had no room. */
static cJSON *parse_body(const char *body, bool *owned)
{
	const struct do_cached *hit = do_cache_find(body);
	PgQueryPlpgsqlParseResult res;
	cJSON *doc = NULL;
	char *src, *copy;

	*owned = false;
	if (hit)
		return hit->doc;
	src = wrap_body(body);
	if (!src)
		return NULL;
	res = pg_query_parse_plpgsql(src);
	if (!res.error && res.plpgsql_funcs)
		doc = phg_json_parse(res.plpgsql_funcs);
	pg_query_free_plpgsql_parse_result(res);
	free(src);
	copy = do_ncached < DO_CACHE_MAX ? phg_strdup(body) : NULL;
	if (!copy) {
		*owned = true;
		return doc;
	}
	do_cache[do_ncached].body = copy;
	do_cache[do_ncached++].doc = doc;
	return doc;
}

static int walk_block(struct do_walk *w)
{
	const cJSON *st = phg_node_get(w->outer->tree, "DoStmt");
	const char *body = do_arg(st, "as");
	const char *lang = do_arg(st, "language");
	cJSON *doc;
	bool owned;

	if (!st || !body || (lang && strcmp(lang, "plpgsql") != 0))
		return 1;
	if (w->body.text &&
	    find_body(w->outer, w->body.text, w->body.len, body, &w->body)) {
		start_cursors(w->outer, &w->body);
		w->placed = true;
	}
	doc = parse_body(body, &owned);
	if (doc)
		walk_node(w, doc, 0);
	else
		w->bad = true;
	if (owned)
		phg_json_delete(doc);
	for (size_t i = 0; i < w->ndocs; i++)
		phg_json_delete(w->docs[i]);
	free(w->docs);
	if (w->rc < 0)
		return w->rc;
	return w->dynamic || w->bad ? 1 : 0;
}

/*
 * How deep DO blocks inside DO blocks are read (the callback may read an
 * inner block again): deeper ones count as unreadable, so a crafted file
 * cannot exhaust the stack. The tool is single-threaded.
 */
#define DO_NESTING_MAX 16
static int do_nesting;

static int walk_nested(struct do_walk *w)
{
	int rc;

	if (do_nesting >= DO_NESTING_MAX)
		return 1;
	do_nesting++;
	rc = walk_block(w);
	do_nesting--;
	return rc;
}

int phg_parse_do_block(const struct phg_stmt *outer, phg_stmt_fn fn, void *ctx)
{
	struct do_walk w = {.outer = outer, .fn = fn, .ctx = ctx};

	return walk_nested(&w);
}

int phg_parse_do_block_placed(const struct phg_stmt *outer, const char *text,
			      size_t len, struct phg_arena *arena,
			      phg_stmt_fn fn, void *ctx)
{
	struct do_walk w = {.outer = outer, .fn = fn, .ctx = ctx};

	if (text && arena) {
		w.arena = arena;
		w.body.text = text;
		w.body.len = len;
	}
	return walk_nested(&w);
}
