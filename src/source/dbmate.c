/*
 * dbmate.c: finds the "-- migrate:up" section of a dbmate migration and the
 * options on its marker line, the way dbmate's own parser does: a marker is
 * a line starting with "--", optional blanks, then "migrate:up" or
 * "migrate:down" followed by a blank or the end of the line.
 */
#include "source.h"

#include <string.h>

enum marker { MARK_NONE, MARK_UP, MARK_DOWN };

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * Classifies the line text[p..end); on a marker, *opts is where the rest of
 * the line (its options) starts.
 */
static enum marker line_marker(const char *text, size_t p, size_t end,
			       size_t *opts)
{
	static const char up[] = "migrate:up", down[] = "migrate:down";
	enum marker kind;
	size_t n;

	if (end - p < 2 || text[p] != '-' || text[p + 1] != '-')
		return MARK_NONE;
	p += 2;
	while (p < end && is_blank(text[p]))
		p++;
	if (end - p >= sizeof(up) - 1 &&
	    !memcmp(text + p, up, sizeof(up) - 1)) {
		kind = MARK_UP;
		n = sizeof(up) - 1;
	} else if (end - p >= sizeof(down) - 1 &&
		   !memcmp(text + p, down, sizeof(down) - 1)) {
		kind = MARK_DOWN;
		n = sizeof(down) - 1;
	} else {
		return MARK_NONE;
	}
	p += n;
	if (p < end && !is_blank(text[p]))
		return MARK_NONE; /* "-- migrate:upgrade" is a comment */
	*opts = p;
	return kind;
}

/* True when the options text[p..end) hold the word "transaction:false". */
static bool opts_no_transaction(const char *text, size_t p, size_t end)
{
	static const char word[] = "transaction:false";

	while (p < end) {
		size_t start;

		while (p < end && is_blank(text[p]))
			p++;
		start = p;
		while (p < end && !is_blank(text[p]))
			p++;
		if (p - start == sizeof(word) - 1 &&
		    !memcmp(text + start, word, sizeof(word) - 1))
			return true;
	}
	return false;
}

bool phg_dbmate_sections(const char *text, size_t len, size_t *up_start,
			 size_t *up_end, bool *no_transaction)
{
	size_t p = 0, start = 0;
	bool in_up = false, no_tx = false;

	while (p < len) {
		const char *nl = memchr(text + p, '\n', len - p);
		size_t end = nl ? (size_t)(nl - text) : len, lp = p, opts = 0;
		enum marker kind;

		/* A UTF-8 byte order mark may stand before the first line. */
		if (p == 0 && len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
			lp = 3;
		kind = line_marker(text, lp, end, &opts);
		if (!in_up && kind == MARK_UP) {
			in_up = true;
			no_tx = opts_no_transaction(text, opts, end);
			start = nl ? end + 1 : len;
		} else if (in_up && kind == MARK_DOWN) {
			*up_start = start;
			*up_end = p;
			*no_transaction = no_tx;
			return true;
		}
		p = nl ? end + 1 : len;
	}
	if (!in_up)
		return false;
	*up_start = start;
	*up_end = len;
	*no_transaction = no_tx;
	return true;
}
