/*
 * lexer.h: private to parse/ — first-token search, positions in code points
 * and ignore comments.
 */
#ifndef PHG_PARSE_LEXER_H
#define PHG_PARSE_LEXER_H

#include "../util/util.h"

/* A forward-only position in a file: byte, 1-based line, code-point col. */
struct phg_cursor {
	const char *text;
	size_t pos, line_start;
	int line, col;
};

/* Starts at the file's beginning (skipping a BOM) and advances to pos. */
void phg_cursor_init(struct phg_cursor *c, const char *text, size_t pos);
/* Moves forward to byte `to` (never backward). */
void phg_cursor_advance(struct phg_cursor *c, size_t to);
/* Byte offset of the nchars-th code point of s[0..len), or len. */
size_t phg_cursor_char_to_byte(const char *s, size_t len, size_t nchars);

#define PHG_MAX_IGNORES 16

/*
 * The ignore comments found before a statement: "-- phasegate:ignore ids
 * reason" (and squawk's "-- squawk-ignore ids", honoured so teams can
 * switch) for the statement; "-- phasegate:ignore-file ids reason" (and
 * "-- squawk-ignore-file") for the rest of the file.
 */
struct phg_ignore {
	bool found;	 /* a statement-level ignore */
	bool reasonless; /* a phasegate comment gave no reason */
	size_t comment_at;
	const char *rules[PHG_MAX_IGNORES];
	size_t n;
	const char *file_rules[PHG_MAX_IGNORES];
	size_t nfile;
};

/*
 * Skips whitespace and comments from s[i] (up to end) and sets *token to the
 * first token's offset; phasegate:ignore comments seen on the way are read
 * into ig (when not NULL). Returns 0 or PHG_ENOMEM.
 */
int phg_skip_to_token(const char *s, size_t i, size_t end,
		      struct phg_arena *arena, struct phg_ignore *ig,
		      size_t *token);

#endif
