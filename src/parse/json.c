/*
 * json.c: a reader for libpg_query's JSON parse trees that builds cJSON
 * nodes, so the rest of phasegate reads trees with cJSON's API. It exists
 * for speed and depth: it allocates from the parse arena (jsonmem.c) in one
 * pass with no strtod, where cJSON_Parse cost as much as the parse itself,
 * and it reads trees up to PHG_JSON_MAX_DEPTH levels where Debian's cJSON
 * stops at 1,000. Anything it does not accept returns NULL, which the
 * caller reports as unanalyzable-statement.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "jsonmem.h"

struct jreader {
	const char *p, *end;
	int depth;
	struct phg_jchunk mem;
};

static inline void *jr_alloc(struct jreader *r, size_t n, size_t align)
{
	return phg_jchunk_alloc(&r->mem, n, align);
}

static inline cJSON *node_new(struct jreader *r, int type)
{
	return phg_jchunk_node(&r->mem, type);
}

/* Where the first '"' or '\\' from p on is (end when none). */
static const char *string_stop(const char *p, const char *end)
{
#if defined(__SSE2__)
	/* 16 bytes at a time (any x86-64). */
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');

	for (; end - p >= 16; p += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		int m = _mm_movemask_epi8(_mm_or_si128(
			_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)));

		if (m)
			return p + __builtin_ctz((unsigned)m);
	}
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;

	/* 8 bytes at a time: the lowest flagged byte is the first match. */
	for (; end - p >= 8; p += 8) {
		uint64_t x, q, bs, m;

		memcpy(&x, p, 8);
		q = x ^ (ones * '"');
		bs = x ^ (ones * '\\');
		m = (((q - ones) & ~q) | ((bs - ones) & ~bs)) & highs;
		if (m)
			return p + (__builtin_ctzll(m) >> 3);
	}
#endif
	while (p < end && *p != '"' && *p != '\\')
		p++;
	return p;
}

static inline void skip_ws(struct jreader *r)
{
	/* libpg_query writes no whitespace: one comparison says so. */
	while (r->p < r->end && (unsigned char)*r->p <= ' ' &&
	       (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' ||
		*r->p == '\t'))
		r->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static bool read_hex4(struct jreader *r, unsigned long *cp)
{
	*cp = 0;
	if (r->end - r->p < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		int v = hexval(r->p[i]);

		if (v < 0)
			return false;
		*cp = (*cp << 4) | (unsigned long)v;
	}
	r->p += 4;
	return true;
}

/* Reads a string literal (r->p at the opening quote) into the arena. */
static char *read_string(struct jreader *r)
{
	const char *start = ++r->p, *q = string_stop(start, r->end);
	char *out, *o;

	/* Fast path: no escapes, copy in one go. */
	if (q < r->end && *q == '"') {
		out = jr_alloc(r, (size_t)(q - start) + 1, 1);
		if (!out)
			return NULL;
		memcpy(out, start, (size_t)(q - start));
		out[q - start] = '\0';
		r->p = q + 1;
		return out;
	}
	/* Escapes never make the text longer than the literal. */
	while (q < r->end && *q != '"')
		q += *q == '\\' ? 2 : 1;
	if (q >= r->end)
		return NULL;
	out = o = jr_alloc(r, (size_t)(q - start) + 1, 1);
	if (!out)
		return NULL;
	while (r->p < r->end && *r->p != '"') {
		char c = *r->p++;
		unsigned long cp;

		if (c != '\\') {
			*o++ = c;
			continue;
		}
		if (r->p >= r->end)
			goto fail;
		c = *r->p++;
		switch (c) {
		case 'n':
			*o++ = '\n';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'u':
			if (!read_hex4(r, &cp))
				goto fail;
			if (cp >= 0xd800 && cp <= 0xdbff &&
			    r->end - r->p >= 6 && r->p[0] == '\\' &&
			    r->p[1] == 'u') {
				unsigned long lo;

				r->p += 2;
				if (!read_hex4(r, &lo))
					goto fail;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			}
			if (cp == 0)
				goto fail; /* a NUL would cut the string */
			o += put_utf8(o, cp);
			break;
		default:
			*o++ = c; /* \" \\ \/ */
		}
	}
	if (r->p >= r->end)
		goto fail;
	r->p++;
	*o = '\0';
	return out;
fail:
	phg_jchunk_free(&r->mem, out);
	return NULL;
}

static cJSON *read_value(struct jreader *r);

static cJSON *read_number(struct jreader *r)
{
	const char *s = r->p;
	bool neg = false, frac = false;
	long long v = 0;
	cJSON *n;

	if (*r->p == '-') {
		neg = true;
		r->p++;
	}
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
		if (v < 100000000000000000LL)
			v = v * 10 + (*r->p - '0');
		r->p++;
	}
	while (r->p < r->end &&
	       (*r->p == '.' || *r->p == 'e' || *r->p == 'E' || *r->p == '+' ||
		*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))) {
		frac = true;
		r->p++;
	}
	if (r->p == s || (neg && r->p == s + 1))
		return NULL;
	n = node_new(r, cJSON_Number);
	if (!n)
		return NULL;
	if (frac) {
		char buf[64];
		size_t len = (size_t)(r->p - s);

		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, s, len);
		buf[len] = '\0';
		phg_jnumber_set(n, strtod(buf, NULL));
	} else {
		phg_jnumber_set(n, (double)(neg ? -v : v));
	}
	return n;
}

static bool literal(struct jreader *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return false;
	r->p += n;
	return true;
}

/* Reads the items of an array or the members of an object. */
static cJSON *read_container(struct jreader *r, bool object)
{
	cJSON *c = node_new(r, object ? cJSON_Object : cJSON_Array);
	cJSON *last = NULL;
	const char close = object ? '}' : ']';
	char *key = NULL;

	if (!c)
		return NULL;
	if (++r->depth > PHG_JSON_MAX_DEPTH)
		goto fail;
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		r->depth--;
		return c;
	}
	for (;;) {
		cJSON *item;

		skip_ws(r);
		if (object) {
			if (r->p >= r->end || *r->p != '"')
				goto fail;
			key = read_string(r);
			skip_ws(r);
			if (!key || r->p >= r->end || *r->p != ':')
				goto fail;
			r->p++;
		}
		item = read_value(r);
		if (!item)
			goto fail;
		item->string = key;
		key = NULL;
		if (last) {
			last->next = item;
			item->prev = last;
		} else {
			c->child = item;
		}
		last = item;
		/* cJSON keeps the last item as the first one's prev. */
		c->child->prev = last;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			r->depth--;
			return c;
		}
		goto fail;
	}
fail:
	phg_jchunk_free(&r->mem, key);
	phg_json_delete(c);
	return NULL;
}

static cJSON *read_value(struct jreader *r)
{
	cJSON *n;

	skip_ws(r);
	if (r->p >= r->end)
		return NULL;
	switch (*r->p) {
	case '{':
		return read_container(r, true);
	case '[':
		return read_container(r, false);
	case '"':
		n = node_new(r, cJSON_String);
		if (n && !(n->valuestring = read_string(r))) {
			phg_json_delete(n);
			return NULL;
		}
		return n;
	case 't':
		return literal(r, "true") ? node_new(r, cJSON_True) : NULL;
	case 'f':
		return literal(r, "false") ? node_new(r, cJSON_False) : NULL;
	case 'n':
		return literal(r, "null") ? node_new(r, cJSON_NULL) : NULL;
	default:
		return read_number(r);
	}
}

cJSON *phg_json_parse(const char *text)
{
	struct jreader r = {.p = text, .end = text + strlen(text)};
	cJSON *doc;

	phg_jchunk_init(&r.mem);
	doc = read_value(&r);
	if (!doc)
		return NULL;
	skip_ws(&r);
	if (r.p != r.end) {
		phg_json_delete(doc);
		return NULL;
	}
	return doc;
}
