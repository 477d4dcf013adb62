/*
 * lexer.c: what the parse tree does not keep — where a statement's first
 * token is (whitespace and comments skipped), its line and column in code
 * points, and the phasegate:ignore comments written before it.
 */
#include "lexer.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <stdint.h>
#include <string.h>

void phg_cursor_init(struct phg_cursor *c, const char *text, size_t pos)
{
	c->text = text;
	c->pos = 0;
	c->line = 1;
	c->col = 1;
	c->line_start = 0;
	/*
	 * A BOM at the start of the file is not a column, wherever the cursor
	 * goes (strncmp: the text may be shorter than a BOM).
	 */
	if (strncmp(text, "\xef\xbb\xbf", 3) == 0) {
		c->pos = 3;
		c->line_start = 3;
	}
	phg_cursor_advance(c, pos);
}

#if defined(__SSE2__)
/* Set bits of a 16-bit mask, without a call: baseline x86-64 has no
   popcnt instruction, and __builtin_popcount becomes a libgcc call. */
static inline unsigned bits16(unsigned x)
{
	x = x - ((x >> 1) & 0x5555u);
	x = (x & 0x3333u) + ((x >> 2) & 0x3333u);
	x = (x + (x >> 4)) & 0x0f0fu;
	return (x + (x >> 8)) & 0x1fu;
}
#endif

void phg_cursor_advance(struct phg_cursor *c, size_t to)
{
	const unsigned char *t = (const unsigned char *)c->text;

#if defined(__SSE2__)
	/* 16 bytes at a time: newlines and UTF-8 continuation bytes found
	   with two compares, counted with bits16. */
	const __m128i nl = _mm_set1_epi8('\n');
	const __m128i top2 = _mm_set1_epi8((char)0xc0);
	const __m128i cont = _mm_set1_epi8((char)0x80);

	while (c->pos < to && to - c->pos >= 16) {
		__m128i x = _mm_loadu_si128(
			(const __m128i *)(const void *)(t + c->pos));
		unsigned lines =
			(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, nl));
		unsigned conts = (unsigned)_mm_movemask_epi8(
			_mm_cmpeq_epi8(_mm_and_si128(x, top2), cont));

		if (lines) {
			/* The last newline starts the line; columns count the
			   code points after it. */
			unsigned last = 31u - (unsigned)__builtin_clz(lines);
			unsigned after = 0xffffu & ~((2u << last) - 1u);

			c->line += bits16(lines);
			c->line_start = c->pos + last + 1;
			c->col = 1 + bits16(after & ~conts);
		} else {
			c->col += 16 - bits16(conts);
		}
		c->pos += 16;
	}
#endif
	while (c->pos < to) {
		if (t[c->pos] == '\n') {
			c->line++;
			c->col = 1;
			c->line_start = c->pos + 1;
		} else if ((t[c->pos] & 0xc0) != 0x80) {
			c->col++;
		}
		c->pos++;
	}
}

size_t phg_cursor_char_to_byte(const char *s, size_t len, size_t nchars)
{
	size_t i = 0, n = 0;

	while (i < len) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (n == nchars)
				return i;
			n++;
		}
		i++;
	}
	return len;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
	       ch == '\f' || ch == '\v';
}

static size_t skip_block_comment(const char *s, size_t i, size_t end)
{
	int depth = 0;

	while (i < end) {
		if (i + 1 < end && s[i] == '/' && s[i + 1] == '*') {
			depth++;
			i += 2;
		} else if (i + 1 < end && s[i] == '*' && s[i + 1] == '/') {
			depth--;
			i += 2;
			if (depth == 0)
				return i;
		} else {
			i++;
		}
	}
	return end;
}

static bool is_rule_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || (ch >= 'A' && ch <= 'Z');
}

/* Reads ids "a,b, c" from s[i..eol) into list; returns where they end. */
static int read_ids(const char *s, size_t *pi, size_t eol,
		    struct phg_arena *arena, const char **list, size_t *n)
{
	size_t i = *pi;

	while (i < eol) {
		size_t b, j;

		while (i < eol && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
			i++;
		b = i;
		while (i < eol && is_rule_char(s[i]))
			i++;
		if (i == b)
			break;
		if (*n < PHG_MAX_IGNORES) {
			list[*n] = phg_arena_strndup(arena, s + b, i - b);
			if (!list[*n])
				return PHG_ENOMEM;
			(*n)++;
		}
		/* More ids follow only after a comma. */
		for (j = i; j < eol && (s[j] == ' ' || s[j] == '\t'); j++)
			;
		i = j;
		if (j >= eol || s[j] != ',')
			break;
	}
	*pi = i;
	return 0;
}

/*
 * Reads an ignore comment (its "--" at s[at]) into ig; other comments leave
 * ig as it was.
 */
static int read_ignore(const char *s, size_t at, size_t eol,
		       struct phg_arena *arena, struct phg_ignore *ig)
{
	static const struct {
		const char *tag;
		bool file, squawk;
	} tags[] = {
		{"phasegate:ignore-file", true, false},
		{"phasegate:ignore", false, false},
		{"squawk-ignore-file", true, true},
		{"squawk-ignore", false, true},
	};
	size_t i = at + 2, k;
	int rc;

	while (i < eol && (s[i] == ' ' || s[i] == '\t'))
		i++;
	for (k = 0; k < sizeof(tags) / sizeof(tags[0]); k++) {
		size_t n = strlen(tags[k].tag);

		if (eol - i >= n && memcmp(s + i, tags[k].tag, n) == 0 &&
		    (i + n == eol || s[i + n] == ' ' || s[i + n] == '\t')) {
			i += n;
			break;
		}
	}
	if (k == sizeof(tags) / sizeof(tags[0]))
		return 0;
	rc = tags[k].file
		     ? read_ids(s, &i, eol, arena, ig->file_rules, &ig->nfile)
		     : read_ids(s, &i, eol, arena, ig->rules, &ig->n);
	if (rc < 0)
		return rc;
	while (eol > i && is_space(s[eol - 1]))
		eol--;
	if (!tags[k].squawk && eol <= i)
		ig->reasonless = true;
	if (!tags[k].file) {
		ig->found = true;
		ig->comment_at = at;
	}
	return 0;
}

int phg_skip_to_token(const char *s, size_t i, size_t end,
		      struct phg_arena *arena, struct phg_ignore *ig,
		      size_t *token)
{
	while (i < end) {
		if (is_space(s[i])) {
			i++;
		} else if (i + 1 < end && s[i] == '-' && s[i + 1] == '-') {
			size_t eol = i + 2;

			while (eol < end && s[eol] != '\n')
				eol++;
			if (ig) {
				int rc = read_ignore(s, i, eol, arena, ig);

				if (rc < 0)
					return rc;
			}
			i = eol;
		} else if (i + 1 < end && s[i] == '/' && s[i + 1] == '*') {
			i = skip_block_comment(s, i, end);
		} else {
			break;
		}
	}
	*token = i;
	return 0;
}
