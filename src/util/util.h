/*
 * util: the small shared pieces every module uses — errors (struct phg_err),
 * a run arena, growable buffers and vectors, string helpers, UTF-8 checks,
 * file reading with a size cap, and SHA-256 (OpenSSL).
 */
#ifndef PHG_UTIL_H
#define PHG_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Error codes: 0 is success, failures are negative. */
enum phg_code {
	PHG_OK = 0,
	PHG_ENOMEM = -1,  /* out of memory */
	PHG_EIO = -2,	  /* a file cannot be read or written */
	PHG_EUSAGE = -3,  /* bad command-line use */
	PHG_ECONFIG = -4, /* bad configuration */
	PHG_EINPUT = -5,  /* bad migrations tree (duplicate version, ...) */
	PHG_ERUNTIME = -6 /* database, provider or other runtime failure */
};

/* The first error of an operation, with its place when there is one. */
struct phg_err {
	int code;
	char file[512];
	int line, col;
	char msg[1024];
};

/*
 * Records an error unless one is already recorded (the first wins) and
 * returns code, so "return phg_err_set(err, PHG_EIO, ...)" reads naturally.
 */
int phg_err_set(struct phg_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like phg_err_set, with a file, line and column (0 when unknown). */
int phg_err_set_at(struct phg_err *err, int code, const char *file, int line,
		   int col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Returns a short lower-case name of an error code. */
const char *phg_code_name(enum phg_code code);

/* Allocation that aborts the process is never used: these return NULL. */
void *phg_xcalloc(size_t n, size_t size);
char *phg_strdup(const char *s);
char *phg_strndup(const char *s, size_t n);
/* Returns a malloc'd formatted string, or NULL when out of memory. */
char *phg_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * vsnprintf, with the conversions phasegate's messages use (%s %d %i %u %c
 * %%, with l, ll or z) formatted without glibc's printf machinery; the
 * same result, truncated the same way.
 */
int phg_vsnprintf(char *out, size_t cap, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/*
 * Arena: bump allocation in blocks, freed all at once. Set PHG_ARENA_MALLOC=1
 * in the environment to send every allocation to malloc (keeps ASan precise).
 */
struct phg_arena_block;
struct phg_arena {
	struct phg_arena_block *head;
	size_t used, cap;
	size_t taken; /* bytes of blocks taken so far */
	bool use_malloc;
	void **allocs;
	size_t nallocs, capallocs;
};
void phg_arena_init(struct phg_arena *a);
/* Frees every allocation made from the arena. */
void phg_arena_release(struct phg_arena *a);
/* Returns zeroed memory owned by the arena, or NULL when out of memory. */
void *phg_arena_alloc(struct phg_arena *a, size_t size);
char *phg_arena_strdup(struct phg_arena *a, const char *s);
char *phg_arena_strndup(struct phg_arena *a, const char *s, size_t n);
char *phg_arena_printf(struct phg_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Returns "x<sep>y" in the arena (no printf), or NULL. */
char *phg_arena_join3(struct phg_arena *a, const char *x, char sep,
		      const char *y);

/* A growable byte buffer, always NUL-terminated when data is not NULL. */
struct phg_buf {
	char *data;
	size_t len, cap;
	/* Optional sink: when set, a buffer that would grow hands what it
	   holds to flush and starts again empty, so output can be written as
	   it is made (lint's report) in a buffer of a fixed size. */
	int (*flush)(void *ctx, const char *data, size_t len);
	void *flush_ctx;
};
int phg_buf_reserve(struct phg_buf *b, size_t extra);
int phg_buf_add(struct phg_buf *b, const char *s, size_t n);
/* Appends s; inline, as reports append many short literals. */
static inline int phg_buf_puts(struct phg_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n + 1 <= b->cap) {
		memcpy(b->data + b->len, s, n + 1);
		b->len += n;
		return 0;
	}
	return phg_buf_add(b, s, n);
}
int phg_buf_printf(struct phg_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends v in decimal (no printf). */
int phg_buf_int(struct phg_buf *b, long long v);
/* Appends s as a JSON string literal, quotes included. */
int phg_buf_json_str(struct phg_buf *b, const char *s);
void phg_buf_release(struct phg_buf *b);

/*
 * A vector of pointers. Push returns 0 or PHG_ENOMEM; the items are not
 * owned by the vector.
 */
struct phg_vec {
	void **items;
	size_t n, cap;
};
int phg_vec_push(struct phg_vec *v, void *item);
void phg_vec_release(struct phg_vec *v);

/* The biggest file phasegate reads (1 GiB); larger files fail cleanly. */
#define PHG_MAX_FILE_SIZE ((size_t)1 << 30)

/*
 * Reads a whole regular file into out (NUL-terminated, len excludes the NUL).
 * Fails with PHG_EIO and a message naming path and the reason (missing,
 * permission denied, a folder, too large). The caller releases out.
 */
int phg_read_file(const char *path, struct phg_buf *out, struct phg_err *err);
/* How "cannot read '...': <reason>" words errno e. */
const char *phg_errno_text(int e);
/*
 * phg_read_file for rel inside the folder open as dirfd (AT_FDCWD: the
 * current one), which spares the kernel a walk of the whole path; path is
 * the name messages use. Returns 1, with nothing read and no error, when
 * nothing is there (ENOENT, ENOTDIR). With regular_only anything but a
 * regular file fails ("not a regular file") without waiting on a FIFO.
 */
int phg_read_file_at(int dirfd, const char *rel, const char *path,
		     bool regular_only, struct phg_buf *out,
		     struct phg_err *err);

/* SHA-256 of data as 64 lower-case hex digits plus NUL. */
void phg_sha256_hex(const void *data, size_t len, char out[65]);

/*
 * Returns the byte offset of the first byte that makes s[0..len) invalid
 * UTF-8 (a NUL byte counts as invalid), or len when it is all valid.
 */
size_t phg_utf8_invalid_at(const char *s, size_t len);
/* Number of code points in s[0..len) (len must end on a boundary). */
size_t phg_utf8_count(const char *s, size_t len);

/* strcmp(a, b) == 0 without the call: the strings compared most (tree
   keys, node types, catalog names) are short and differ early. */
static inline bool phg_key_eq(const char *a, const char *b)
{
	size_t i = 0;

	if (a == b)
		return true;
	while (a[i] == b[i]) {
		if (!a[i])
			return true;
		i++;
	}
	return false;
}

/* Case-sensitive equality that accepts NULL (NULL equals only NULL). */
static inline bool phg_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return a == b || (a[0] == b[0] && strcmp(a, b) == 0);
}
bool phg_has_suffix(const char *s, const char *suffix);
bool phg_has_prefix(const char *s, const char *prefix);
/* Joins a and b with one '/' (a may end in '/'); malloc'd or NULL. */
char *phg_path_join(const char *a, const char *b);

/* Severity of a finding; OFF means the rule is disabled. */
enum phg_severity { PHG_SEV_OFF = 0, PHG_SEV_WARNING = 1, PHG_SEV_ERROR = 2 };
const char *phg_severity_name(enum phg_severity sev);

struct phg_table_stats; /* lint/lint.h */

/* One lint finding: data for the report, never an error of phasegate. */
struct phg_finding {
	const char *rule; /* static rule id, e.g. "syntax-error" */
	enum phg_severity severity;
	const char *file;  /* display path; borrowed for the run */
	int line, col;	   /* 1-based; col counts code points; 0 = none */
	char *message;	   /* what is wrong and why (arena) */
	const char *help;  /* the safe alternative, step by step (arena or
			      static) */
	char *source_line; /* the line at line:col, for the caret (arena) */
	bool suppressed;   /* an ignore comment matched */
	int release;	   /* index of the release it belongs to */
	size_t seq;	   /* order found, to keep sorting stable */
	/* The table (schema.name) the statement acts on, when it existed
	   before the statement's release; NULL otherwise (arena). */
	const char *table;
	/* lint --stats only: the table's numbers (NULL when the database
	   has none for it), and whether they lowered an error to a warning. */
	const struct phg_table_stats *stats;
	bool downgraded;
};

/* Findings of a run; items are allocated from the run arena. */
struct phg_findings {
	struct phg_arena *arena;
	struct phg_finding *items;
	size_t n, cap;
};

/*
 * Appends a finding and returns it, or NULL when out of memory. The message
 * is copied into the arena; the help is kept as given, so it must live as
 * long as the findings: a literal, or a string from their arena (help texts
 * are long, and every finding of a rule would copy the same one).
 */
struct phg_finding *phg_findings_add(struct phg_findings *fs, const char *rule,
				     enum phg_severity sev, const char *file,
				     int line, int col, const char *message,
				     const char *help);
void phg_findings_release(struct phg_findings *fs);

/*
 * A string-keyed hash map (open addressing). Keys are copied into the map's
 * arena; values are borrowed.
 */
struct phg_map {
	struct phg_arena *arena;
	const char **keys;
	void **vals;
	uint32_t *hashes; /* of keys[i], compared before the key */
	size_t n, cap;
};
void phg_map_init(struct phg_map *m, struct phg_arena *arena);
void *phg_map_get(const struct phg_map *m, const char *key);
int phg_map_put(struct phg_map *m, const char *key, void *val);
int phg_map_del(struct phg_map *m, const char *key);
void phg_map_release(struct phg_map *m);

#endif
