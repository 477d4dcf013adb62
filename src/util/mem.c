/*
 * mem.c: allocation helpers, the run arena, growable buffers and pointer
 * vectors. Nothing here aborts: every allocation failure is returned.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, madvise */
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define ARENA_BLOCK (64 * 1024)
/*
 * An arena that holds ARENA_SMALL_MAX bytes of blocks takes its further
 * blocks as 2 MiB regions, 2 MiB aligned, that the kernel may back with one
 * huge page each (madvise MADV_HUGEPAGE; nothing changes where transparent
 * huge pages are off). A large run's result arena (lint over many folders
 * keeps tens of MB of findings and statements) then costs a few page faults
 * instead of thousands, and its report walks it with fewer TLB misses.
 * Small arenas never take one.
 */
#define ARENA_HUGE ((size_t)2 * 1024 * 1024)
#define ARENA_SMALL_MAX ((size_t)1024 * 1024)

/*
 * Formats what phasegate's messages use (%s %d %i %u %c %% with l, ll or z)
 * without vsnprintf, which costs several times more per byte on long texts
 * such as the rules' help. Returns the length written to out (NUL
 * included within cap), or -1 when fmt holds anything else (a flag, width,
 * precision or other conversion), a %s is NULL or the text does not fit:
 * the caller then formats with vsnprintf and its own copy of the arguments.
 */
static int fast_vformat(char *out, size_t cap, const char *fmt, va_list ap)
{
	char *o = out, *end = out + cap;
	const char *f = fmt;

	for (;;) {
		const char *pct = strchr(f, '%');
		size_t n = pct ? (size_t)(pct - f) : strlen(f);
		char digits[24], *d = digits + sizeof(digits);
		unsigned long long u;
		bool neg = false;
		int lng = 0;

		if (n >= (size_t)(end - o))
			return -1;
		memcpy(o, f, n);
		o += n;
		if (!pct)
			break;
		f = pct + 1;
		if (*f == 'l') {
			lng = *++f == 'l' ? 2 : 1;
			f += lng == 2;
		} else if (*f == 'z') {
			lng = 3;
			f++;
		}
		switch (*f) {
		case '%':
		case 'c':
		case 's':
			if (lng)
				return -1;
			if (*f == 's') {
				const char *s = va_arg(ap, const char *);

				if (!s)
					return -1;
				n = strlen(s);
				if (n >= (size_t)(end - o))
					return -1;
				memcpy(o, s, n);
				o += n;
			} else {
				if (end - o < 2)
					return -1;
				*o++ = *f == '%' ? '%' : (char)va_arg(ap, int);
			}
			f++;
			continue;
		case 'd':
		case 'i': {
			long long v = lng == 3
					      ? (long long)va_arg(ap, ptrdiff_t)
				      : lng == 2 ? va_arg(ap, long long)
				      : lng == 1 ? va_arg(ap, long)
						 : va_arg(ap, int);

			neg = v < 0;
			u = neg ? 0ULL - (unsigned long long)v
				: (unsigned long long)v;
			break;
		}
		case 'u':
			u = lng == 3   ? va_arg(ap, size_t)
			    : lng == 2 ? va_arg(ap, unsigned long long)
			    : lng == 1 ? va_arg(ap, unsigned long)
				       : va_arg(ap, unsigned);
			break;
		default:
			return -1;
		}
		do {
			*--d = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (neg)
			*--d = '-';
		n = (size_t)(digits + sizeof(digits) - d);
		if (n >= (size_t)(end - o))
			return -1;
		memcpy(o, d, n);
		o += n;
		f++;
	}
	*o = '\0';
	return (int)(o - out);
}

int phg_vsnprintf(char *out, size_t cap, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = cap ? fast_vformat(out, cap, fmt, cp) : -1;
	va_end(cp);
	return n >= 0 ? n : vsnprintf(out, cap, fmt, ap);
}

struct phg_arena_block {
	struct phg_arena_block *next;
	size_t cap;
	bool huge; /* an ARENA_HUGE mapping, not malloc's */
	max_align_t data[];
};

void *phg_xcalloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size ? size : 1);
}

char *phg_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *phg_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *phg_asprintf(const char *fmt, ...)
{
	char small[4096];
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = fast_vformat(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n >= 0)
		return phg_strndup(small, (size_t)n);
	/* One formatting pass when the result is short. */
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if ((size_t)n < sizeof(small))
		return phg_strndup(small, (size_t)n);
	p = malloc((size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

int phg_buf_int(struct phg_buf *b, long long v)
{
	char tmp[24], *e = tmp + sizeof(tmp), *p = e;
	unsigned long long u =
		v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return phg_buf_add(b, p, (size_t)(e - p));
}

void phg_arena_init(struct phg_arena *a)
{
	const char *env = getenv("PHG_ARENA_MALLOC");

	memset(a, 0, sizeof(*a));
	a->use_malloc = env && env[0] == '1';
}

void phg_arena_release(struct phg_arena *a)
{
	struct phg_arena_block *b = a->head, *next;

	for (; b; b = next) {
		next = b->next;
		if (b->huge)
			munmap(b, ARENA_HUGE);
		else
			free(b);
	}
	for (size_t i = 0; i < a->nallocs; i++)
		free(a->allocs[i]);
	free(a->allocs);
	memset(a, 0, sizeof(*a));
}

static void *arena_malloc_tracked(struct phg_arena *a, size_t size)
{
	void *p;

	if (a->nallocs == a->capallocs) {
		size_t cap = a->capallocs ? a->capallocs * 2 : 64;
		void **n = realloc(a->allocs, cap * sizeof(*n));

		if (!n)
			return NULL;
		a->allocs = n;
		a->capallocs = cap;
	}
	p = calloc(1, size ? size : 1);
	if (p)
		a->allocs[a->nallocs++] = p;
	return p;
}

/* An ARENA_HUGE region, aligned to its size, advised for a huge page. */
static struct phg_arena_block *huge_block(void)
{
	size_t span = 2 * ARENA_HUGE;
	char *p = mmap(NULL, span, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *at;
	struct phg_arena_block *b;

	if (p == MAP_FAILED)
		return NULL;
	at = (char *)(((uintptr_t)p + ARENA_HUGE - 1) &
		      ~(uintptr_t)(ARENA_HUGE - 1));
	if (at > p)
		munmap(p, (size_t)(at - p));
	if (at + ARENA_HUGE < p + span)
		munmap(at + ARENA_HUGE, (size_t)(p + span - (at + ARENA_HUGE)));
	(void)madvise(at, ARENA_HUGE, MADV_HUGEPAGE);
	b = (struct phg_arena_block *)(void *)at;
	b->cap = ARENA_HUGE - sizeof(*b);
	b->huge = true;
	return b;
}

/* A new block for a: a huge one once a is large, else ARENA_BLOCK. */
static struct phg_arena_block *block_new(struct phg_arena *a)
{
	struct phg_arena_block *b =
		a->taken >= ARENA_SMALL_MAX ? huge_block() : NULL;

	if (!b) {
		b = malloc(sizeof(*b) + ARENA_BLOCK);
		if (!b)
			return NULL;
		b->cap = ARENA_BLOCK;
		b->huge = false;
	}
	a->taken += b->cap;
	return b;
}

/* size bytes at the given alignment (a power of two), zeroed or not. */
static void *arena_take(struct phg_arena *a, size_t size, size_t align,
			bool zero)
{
	struct phg_arena_block *b;
	size_t at;
	void *p;

	if (a->use_malloc || size > ARENA_BLOCK / 4)
		return arena_malloc_tracked(a, size);
	at = (a->used + align - 1) & ~(align - 1);
	if (!a->head || at + size > a->cap) {
		b = block_new(a);
		if (!b)
			return NULL;
		b->next = a->head;
		a->head = b;
		a->cap = b->cap;
		at = 0;
	}
	p = (char *)a->head->data + at;
	a->used = at + size;
	if (zero)
		memset(p, 0, size);
	return p;
}

void *phg_arena_alloc(struct phg_arena *a, size_t size)
{
	return arena_take(a, size, sizeof(max_align_t), true);
}

/* Text needs no alignment and is written whole: packed, not zeroed. */
static char *arena_text(struct phg_arena *a, size_t size)
{
	return arena_take(a, size, 1, false);
}

char *phg_arena_strndup(struct phg_arena *a, const char *s, size_t n)
{
	char *p = arena_text(a, n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *phg_arena_strdup(struct phg_arena *a, const char *s)
{
	return s ? phg_arena_strndup(a, s, strlen(s)) : NULL;
}

char *phg_arena_printf(struct phg_arena *a, const char *fmt, ...)
{
	char small[4096];
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = fast_vformat(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n >= 0)
		return phg_arena_strndup(a, small, (size_t)n);
	/* One formatting pass when the result is short (the usual case). */
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if ((size_t)n < sizeof(small))
		return phg_arena_strndup(a, small, (size_t)n);
	p = arena_text(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

char *phg_arena_join3(struct phg_arena *a, const char *x, char sep,
		      const char *y)
{
	size_t nx = strlen(x), ny = strlen(y);
	char *p = arena_text(a, nx + ny + 2);

	if (!p)
		return NULL;
	memcpy(p, x, nx);
	p[nx] = sep;
	memcpy(p + nx + 1, y, ny + 1);
	return p;
}

int phg_buf_reserve(struct phg_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1, cap;
	char *n;

	if (need <= b->cap)
		return 0;
	if (b->flush && b->len > 0) {
		int rc = b->flush(b->flush_ctx, b->data, b->len);

		if (rc < 0)
			return rc;
		b->len = 0;
		b->data[0] = '\0';
		need = extra + 1;
		if (need <= b->cap)
			return 0;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	n = realloc(b->data, cap);
	if (!n)
		return PHG_ENOMEM;
	b->data = n;
	b->cap = cap;
	return 0;
}

int phg_buf_add(struct phg_buf *b, const char *s, size_t n)
{
	int rc = phg_buf_reserve(b, n);

	if (rc < 0)
		return rc; /* PHG_ENOMEM, or the flush's error */
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int phg_buf_printf(struct phg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc = phg_buf_reserve(b, 128);

	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	n = fast_vformat(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n >= 0) {
		b->len += (size_t)n;
		return 0;
	}
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return PHG_ENOMEM;
	if ((size_t)n >= b->cap - b->len) {
		rc = phg_buf_reserve(b, (size_t)n);
		if (rc < 0)
			return rc;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
}

static bool json_plain(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\';
}

/* How many bytes from p on need no escaping: 16 at a time with SSE2 (any
 * x86-64), then 8 at a time (SWAR): a word with a byte below 0x20, a quote
 * or a backslash is looked at byte by byte. */
static size_t json_plain_run(const unsigned char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	size_t i = 0;

#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);

	for (; i + 16 <= n; i += 16) {
		__m128i x =
			_mm_loadu_si128((const __m128i *)(const void *)(p + i));
		/* A byte is below 0x20 when min(byte, 0x1f) is itself. */
		__m128i bad =
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
						  _mm_cmpeq_epi8(x, bslash)),
				     _mm_cmpeq_epi8(_mm_min_epu8(x, ctl), x));
		int m = _mm_movemask_epi8(bad);

		if (m)
			return i + (size_t)__builtin_ctz((unsigned)m);
	}
#endif
	while (i < n) {
		if (i + 8 <= n) {
			uint64_t x, q, bs;

			memcpy(&x, p + i, 8);
			q = x ^ (ones * '"');
			bs = x ^ (ones * '\\');
			/* No byte below 0x20, quote or backslash: skip
			   the word; otherwise look at one byte. */
			if (!((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) |
			       ((bs - ones) & ~bs)) &
			      highs)) {
				i += 8;
				continue;
			}
		}
		if (!json_plain(p[i]))
			break;
		i++;
	}
	return i;
}

/* Writes the escape for c, one of the bytes json_plain_run stops at. */
static char *json_escape(char *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	*o++ = '\\';
	switch (c) {
	case '"':
	case '\\':
		*o++ = (char)c;
		break;
	case '\n':
		*o++ = 'n';
		break;
	case '\r':
		*o++ = 'r';
		break;
	case '\t':
		*o++ = 't';
		break;
	default:
		memcpy(o, "u00", 3);
		o[3] = hex[c >> 4];
		o[4] = hex[c & 15];
		o += 5;
	}
	return o;
}

int phg_buf_json_str(struct phg_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	const unsigned char *end = p + n;
	char *o;
	int rc;

	/* Room for the worst case (every byte written as \u00XX, and the
	   quotes) once, then no more checks. */
	if (n > (SIZE_MAX - 2) / 6)
		return PHG_ENOMEM;
	rc = phg_buf_reserve(b, 6 * n + 2);
	if (rc < 0)
		return rc;
	o = b->data + b->len;
	*o++ = '"';
	while (p < end) {
		/* Copy the longest run that needs no escaping at once. */
		size_t run = json_plain_run(p, (size_t)(end - p));

		memcpy(o, p, run);
		o += run;
		p += run;
		if (p == end)
			break;
		o = json_escape(o, *p++);
	}
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->data);
	return 0;
}

void phg_buf_release(struct phg_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int phg_vec_push(struct phg_vec *v, void *item)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void **n = realloc(v->items, cap * sizeof(*n));

		if (!n)
			return PHG_ENOMEM;
		v->items = n;
		v->cap = cap;
	}
	v->items[v->n++] = item;
	return 0;
}

void phg_vec_release(struct phg_vec *v)
{
	free(v->items);
	memset(v, 0, sizeof(*v));
}
