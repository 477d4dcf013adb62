/*
 * discover.c: walks one migrations folder and recognises each entry by its
 * own shape — a file name (numbered, golang-migrate and ory/popx, Flyway),
 * its text (dbmate markers), or a subfolder's contents (Prisma
 * migration.sql, Diesel up.sql + metadata.toml). Every forward migration is
 * read once for its markers; its text is kept only for
 * phg_source_discover_cached (lint reads each file once). The result
 * is sorted once and checked for duplicate versions.
 *
 * Only one level of subfolders is ever looked into, and only by name
 * (open or stat of "<sub>/migration.sql"), so a symlinked folder, even one
 * that loops back, costs a few calls and can never recurse.
 */
#define _DEFAULT_SOURCE /* d_type's DT_* names in <dirent.h> */
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A migration while the folder is walked, with what only sorting needs. */
struct entry {
	struct phg_migration m;
	bool pg_dialect; /* ory/popx ".postgres." file: beats a generic one */
	bool dropped;
	bool cached; /* its text is in walk.cache at cache_at */
	size_t cache_at;
};

struct walk {
	const char *dir;
	struct entry *items;
	size_t n, cap;
	struct phg_buf buf;   /* every file is read into this one buffer */
	int dirfd;	      /* the folder, open: files are opened in it */
	bool keep_text;	      /* phg_source_discover_cached */
	bool last_was_diesel; /* the previous subfolder held up.sql */
	struct phg_buf cache; /* the texts kept, each NUL-terminated */
	struct phg_err *err;
};

/* What a file or folder name says about the migration it holds. */
struct shape {
	enum phg_layout layout;
	const char *name; /* points into the file name; name_len bytes */
	size_t name_len;
	const char *version; /* points into the file name; version_len bytes */
	size_t version_len;
	bool repeatable, no_transaction, pg_dialect;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static size_t digits_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_digit(s[i]))
		i++;
	return i;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

/*
 * ory/popx writes "<version>_<name>.<dialect>.up.sql". Returns 1 for a
 * PostgreSQL dialect, -1 for another database's, 0 when the dot-word is not
 * a dialect (then it is part of the name).
 */
static int dialect_kind(const char *word, size_t n)
{
	static const char *const pg[] = {"postgres", "postgresql"};
	static const char *const other[] = {
		"mysql", "sqlite",    "sqlite3",    "cockroach", "cockroachdb",
		"mssql", "sqlserver", "clickhouse", "oracle",	 "mariadb"};

	for (size_t i = 0; i < sizeof(pg) / sizeof(pg[0]); i++)
		if (strlen(pg[i]) == n && !memcmp(word, pg[i], n))
			return 1;
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (strlen(other[i]) == n && !memcmp(word, other[i], n))
			return -1;
	return 0;
}

/* Flyway: "V1__x", "V1.1__x", "V1_1__x" or "R__x" (base is without ".sql"). */
static bool flyway_shape(const char *base, size_t n, struct shape *s)
{
	const char *sep;
	size_t vlen;
	bool digit = false;

	if (n >= 3 && base[0] == 'R' && base[1] == '_' && base[2] == '_') {
		s->layout = PHG_LAYOUT_FLYWAY;
		s->repeatable = true;
		s->version = "";
		s->version_len = 0;
		return true;
	}
	if (n < 4 || base[0] != 'V' || !is_digit(base[1]))
		return false;
	sep = strstr(base + 1, "__");
	if (!sep || (size_t)(sep - base) >= n)
		return false;
	vlen = (size_t)(sep - base) - 1;
	for (size_t i = 1; i <= vlen; i++) {
		if (is_digit(base[i]))
			digit = true;
		else if ((base[i] == '.' || base[i] == '_') && digit)
			digit = false;
		else
			return false;
	}
	if (!digit)
		return false;
	s->layout = PHG_LAYOUT_FLYWAY;
	s->version = base + 1;
	s->version_len = vlen;
	return true;
}

/*
 * Recognises a migration file by its name. Returns false for anything that
 * is not a forward PostgreSQL migration: down files, other dialects, names
 * no layout writes.
 */
static bool file_shape(const char *fname, struct shape *s)
{
	size_t n = strlen(fname), d;

	memset(s, 0, sizeof(*s));
	if (!ends_with(fname, n, ".sql") || n == 4)
		return false;
	n -= 4; /* fname[0..n) is the base, without ".sql" */
	s->name = fname;
	s->name_len = n;
	if (flyway_shape(fname, n, s))
		return true;
	d = digits_len(fname, n);
	if (d == 0)
		return false;
	s->version = fname;
	s->version_len = d;
	if (ends_with(fname, n, ".down"))
		return false;
	if (ends_with(fname, n, ".up")) {
		const char *dot;

		n -= 3;
		s->layout = PHG_LAYOUT_GOLANG_MIGRATE;
		if (ends_with(fname, n, ".autocommit")) {
			n -= strlen(".autocommit");
			s->no_transaction = true;
		}
		dot = NULL;
		for (size_t i = d; i < n; i++)
			if (fname[i] == '.')
				dot = fname + i;
		if (dot) {
			size_t w = n - (size_t)(dot + 1 - fname);
			int kind = dialect_kind(dot + 1, w);

			if (kind < 0)
				return false;
			if (kind > 0) {
				n = (size_t)(dot - fname);
				s->pg_dialect = true;
			}
		}
		s->name_len = n;
		return n > d && (fname[d] == '_' || fname[d] == '-');
	}
	if (d < n && fname[d] != '_' && fname[d] != '-')
		return false;
	s->layout = PHG_LAYOUT_NUMBERED;
	return true;
}

/* True when a metadata.toml says run_in_transaction = false. */
static bool toml_no_transaction(const char *t, size_t len)
{
	static const char key[] = "run_in_transaction";
	size_t p = 0;

	while (p < len) {
		const char *nl = memchr(t + p, '\n', len - p);
		size_t end = nl ? (size_t)(nl - t) : len;

		while (p < end && (t[p] == ' ' || t[p] == '\t'))
			p++;
		if (end - p > sizeof(key) - 1 &&
		    !memcmp(t + p, key, sizeof(key) - 1)) {
			p += sizeof(key) - 1;
			while (p < end && (t[p] == ' ' || t[p] == '\t'))
				p++;
			if (p < end && t[p] == '=') {
				p++;
				while (p < end && (t[p] == ' ' || t[p] == '\t'))
					p++;
				if (end - p >= 5 &&
				    !memcmp(t + p, "false", 5) &&
				    (end - p == 5 || t[p + 5] == ' ' ||
				     t[p + 5] == '\t' || t[p + 5] == '\r' ||
				     t[p + 5] == '#'))
					return true;
			}
		}
		p = nl ? end + 1 : len;
	}
	return false;
}

static struct entry *push(struct walk *w)
{
	struct entry *e;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct entry *items = realloc(w->items, cap * sizeof(*items));

		if (!items)
			return NULL;
		w->items = items;
		w->cap = cap;
	}
	e = &w->items[w->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

static void entry_release(struct entry *e)
{
	free(e->m.path);
	free(e->m.name);
	free(e->m.version);
	memset(&e->m, 0, sizeof(e->m));
}

/* Copies src[0..n) without its dashes (Diesel writes dated versions). */
static char *strndup_nodash(const char *src, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (src[i] != '-')
			*o++ = src[i];
	*o = '\0';
	return out;
}

/* Keeps w->buf as e's text when asked to and within the budget. */
static void keep_text(struct walk *w, struct entry *e)
{
	if (!w->keep_text ||
	    w->cache.len + w->buf.len + 1 > PHG_SOURCE_CACHE_MAX)
		return;
	e->cache_at = w->cache.len;
	e->m.cached_len = w->buf.len;
	/* Out of memory only costs the second read. */
	e->cached = phg_buf_add(&w->cache, w->buf.data, w->buf.len) == 0 &&
		    phg_buf_add(&w->cache, "", 1) == 0;
	if (!e->cached)
		w->cache.len = e->cache_at;
}

/*
 * Adds the migration whose SQL is rel inside the folder: reads it for its
 * dbmate markers (a numbered file may be dbmate's); only regular files are
 * read (a FIFO would block). With optional, a file that is not there
 * returns 1 and adds nothing; otherwise that is an error naming it.
 */
static int add_file(struct walk *w, const char *rel, const struct shape *s,
		    bool diesel_dash, bool optional)
{
	struct entry *e;
	char *path = phg_path_join(w->dir, rel);
	int rc = 0;

	if (!path)
		return phg_err_set(w->err, PHG_ENOMEM, "out of memory");
	w->buf.len = 0;
	rc = phg_read_file_at(w->dirfd, rel, path, true, &w->buf, w->err);
	if (rc == 1 && !optional)
		rc = phg_err_set(w->err, PHG_EIO, "cannot read '%s': %s", path,
				 phg_errno_text(ENOENT));
	if (rc != 0)
		goto out;
	e = push(w);
	if (!e) {
		rc = phg_err_set(w->err, PHG_ENOMEM, "out of memory");
		goto out;
	}
	keep_text(w, e);
	e->m.path = path;
	path = NULL;
	e->m.name = phg_strndup(s->name, s->name_len);
	e->m.version = diesel_dash ? strndup_nodash(s->version, s->version_len)
				   : phg_strndup(s->version, s->version_len);
	if (!e->m.name || !e->m.version) {
		rc = phg_err_set(w->err, PHG_ENOMEM, "out of memory");
		goto out;
	}
	if (s->layout == PHG_LAYOUT_FLYWAY) {
		/* Flyway reads V1_1 as 1.1 and records it so. */
		for (char *p = e->m.version; *p; p++)
			if (*p == '_')
				*p = '.';
	}
	e->m.layout = s->layout;
	e->m.repeatable = s->repeatable;
	e->m.no_transaction = s->no_transaction;
	e->pg_dialect = s->pg_dialect;
	e->m.up_start = 0;
	e->m.up_end = w->buf.len;
	if (s->layout == PHG_LAYOUT_NUMBERED) {
		size_t start, end;
		bool no_tx;

		if (phg_dbmate_sections(w->buf.data, w->buf.len, &start, &end,
					&no_tx)) {
			e->m.layout = PHG_LAYOUT_DBMATE;
			e->m.up_start = start;
			e->m.up_end = end;
			e->m.no_transaction = no_tx;
		}
	}
out:
	free(path);
	return rc;
}

/*
 * Whether something may be at rel: false only when fstatat says nothing
 * is there (any other answer is left to the read, which words errors).
 */
static bool probe(const struct walk *w, const char *rel)
{
	struct stat st;

	return fstatat(w->dirfd, rel, &st, 0) == 0 ||
	       (errno != ENOENT && errno != ENOTDIR);
}

/*
 * A subfolder whose name starts with a digit: Prisma when it holds
 * migration.sql, Diesel when it holds up.sql, otherwise not a migration
 * (returns 1).
 */
static int add_folder(struct walk *w, const char *sub)
{
	struct shape s;
	char *rel = NULL, *path = NULL;
	const char *us;
	int rc;

	memset(&s, 0, sizeof(s));
	s.name = sub;
	s.name_len = strlen(sub);
	rel = phg_asprintf("%s/migration.sql", sub);
	if (!rel) {
		rc = phg_err_set(w->err, PHG_ENOMEM, "out of memory");
		goto out;
	}
	s.layout = PHG_LAYOUT_PRISMA;
	s.version = sub;
	s.version_len = digits_len(sub, s.name_len);
	/* Opened straight away (a Prisma folder costs one open, not a stat
	   and an open), unless the previous subfolder was a Diesel one:
	   then it is probed with fstatat first, because a failed open costs
	   the kernel a file structure and a failed stat only the lookup. */
	rc = !w->last_was_diesel || probe(w, rel)
		     ? add_file(w, rel, &s, false, true)
		     : 1;
	w->last_was_diesel = false;
	if (rc != 1)
		goto out;
	free(rel);
	rel = phg_asprintf("%s/up.sql", sub);
	if (!rel) {
		rc = phg_err_set(w->err, PHG_ENOMEM, "out of memory");
		goto out;
	}
	/* Diesel's version is the name up to its first '_', dashes removed. */
	s.layout = PHG_LAYOUT_DIESEL;
	us = strchr(sub, '_');
	s.version_len = us ? (size_t)(us - sub) : s.name_len;
	rc = add_file(w, rel, &s, true, true);
	if (rc != 0)
		goto out; /* 1: neither file, not a migration */
	w->last_was_diesel = true;
	free(rel);
	rel = phg_asprintf("%s/metadata.toml", sub);
	path = rel ? phg_path_join(w->dir, rel) : NULL;
	if (!path) {
		rc = phg_err_set(w->err, PHG_ENOMEM, "out of memory");
		goto out;
	}
	w->buf.len = 0;
	rc = probe(w, rel) ? phg_read_file_at(w->dirfd, rel, path, true,
					      &w->buf, w->err)
			   : 1;
	if (rc != 0) {
		rc = rc < 0 ? rc : 0;
		goto out;
	}
	if (toml_no_transaction(w->buf.data, w->buf.len))
		w->items[w->n - 1].m.no_transaction = true;
out:
	free(rel);
	free(path);
	return rc;
}

/* A folder named like a migration file (and not a Prisma or Diesel one). */
static int not_a_file(struct walk *w, const char *fname)
{
	char *path = phg_path_join(w->dir, fname);
	int rc;

	if (!path)
		return phg_err_set(w->err, PHG_ENOMEM, "out of memory");
	rc = phg_err_set(w->err, PHG_EIO, "cannot read '%s': %s", path,
			 phg_errno_text(EISDIR));
	free(path);
	return rc;
}

/*
 * One folder entry. d_type saves a stat for plain files and folders; a
 * symlink or an unknown type is stat()ed, following the link.
 */
static int add_entry(struct walk *w, const struct dirent *de)
{
	const char *fname = de->d_name;
	struct shape s;
	struct stat st;
	bool is_dir = false, known = false;
	int rc;

	if (fname[0] == '.')
		return 0;
#if defined(_DIRENT_HAVE_D_TYPE) && defined(DT_DIR)
	if (de->d_type == DT_DIR) {
		is_dir = true;
		known = true;
	} else if (de->d_type == DT_REG) {
		known = true;
	}
#endif
	if (!known) {
		char *path = phg_path_join(w->dir, fname);
		int e;

		if (!path)
			return phg_err_set(w->err, PHG_ENOMEM, "out of memory");
		rc = fstatat(w->dirfd, fname, &st, 0);
		e = errno;
		if (rc < 0) {
			/* Only a name that looks like a migration matters. */
			if (file_shape(fname, &s))
				rc = phg_err_set(w->err, PHG_EIO,
						 "cannot read '%s': %s", path,
						 phg_errno_text(e));
			else
				rc = 0;
			free(path);
			return rc;
		}
		free(path);
		is_dir = S_ISDIR(st.st_mode);
	}
	if (is_dir) {
		rc = is_digit(fname[0]) ? add_folder(w, fname) : 1;
		if (rc != 1)
			return rc;
		/* A folder named like a migration file is never skipped in
		   silence: the migration someone meant to write is missing. */
		if (!file_shape(fname, &s))
			return 0;
		return not_a_file(w, fname);
	}
	if (!file_shape(fname, &s))
		return 0;
	return add_file(w, fname, &s, false, false);
}

static int entry_cmp(const void *a, const void *b)
{
	return phg_migration_cmp(&((const struct entry *)a)->m,
				 &((const struct entry *)b)->m);
}

/* True when sorted neighbours a and b claim one version. */
static bool same_version(const struct phg_migration *a,
			 const struct phg_migration *b)
{
	if (a->repeatable || b->repeatable)
		return false;
	if (a->layout == PHG_LAYOUT_PRISMA || b->layout == PHG_LAYOUT_PRISMA)
		return false; /* Prisma knows migrations by folder name */
	if (a->layout == PHG_LAYOUT_DIESEL || b->layout == PHG_LAYOUT_DIESEL)
		return a->layout == b->layout &&
		       !strcmp(a->version, b->version);
	return !phg_version_cmp(a->version, b->version);
}

/* The version as a number, for messages: "001" and "1.0" both say "1". */
static char *version_label(const char *a, const char *b)
{
	struct phg_buf out = {0};
	const char *p = a;

	if (!strcmp(a, b))
		return phg_strdup(a);
	while (*p) {
		size_t n = strcspn(p, "._");
		const char *q = p;
		size_t k = n;

		while (k > 1 && *q == '0') {
			q++;
			k--;
		}
		if (phg_buf_add(&out, out.len ? "." : "", out.len ? 1 : 0) ||
		    phg_buf_add(&out, q, k)) {
			phg_buf_release(&out);
			return NULL;
		}
		p += n;
		if (*p)
			p++;
	}
	/* Trailing zero parts do not count: "1.0" is "1". */
	while (out.len > 2 && !strcmp(out.data + out.len - 2, ".0")) {
		out.len -= 2;
		out.data[out.len] = '\0';
	}
	return out.data ? out.data : phg_strdup(a);
}

/*
 * Finds equal versions among sorted neighbours. An ory/popx ".postgres."
 * file replaces the generic file of its version, as popx does; any other
 * pair is an error naming both.
 */
static int check_duplicates(struct walk *w)
{
	size_t i = 0;

	while (i < w->n) {
		size_t j = i + 1, pg = 0, kept = 0, first = 0, second = 0;

		while (j < w->n && same_version(&w->items[i].m, &w->items[j].m))
			j++;
		for (size_t k = i; k < j; k++)
			pg += w->items[k].pg_dialect;
		for (size_t k = i; k < j; k++) {
			struct entry *e = &w->items[k];

			if (pg && !e->pg_dialect &&
			    e->m.layout == PHG_LAYOUT_GOLANG_MIGRATE) {
				e->dropped = true;
				continue;
			}
			if (kept == 0)
				first = k;
			else if (kept == 1)
				second = k;
			kept++;
		}
		if (kept > 1) {
			const struct phg_migration *a = &w->items[first].m;
			const struct phg_migration *b = &w->items[second].m;
			char *label = version_label(a->version, b->version);

			if (!label)
				return phg_err_set(w->err, PHG_ENOMEM,
						   "out of memory");
			phg_err_set(w->err, PHG_EINPUT,
				    "two migrations have version '%s': '%s' "
				    "and '%s'",
				    label, a->path, b->path);
			free(label);
			return PHG_EINPUT;
		}
		i = j;
	}
	return 0;
}

static int discover(const char *dir, bool keep_text,
		    struct phg_migration_set *out, struct phg_err *err)
{
	struct walk w;
	DIR *d = NULL;
	size_t n = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	w.dir = dir;
	w.keep_text = keep_text;
	w.err = err;
	d = opendir(dir);
	if (!d) {
		rc = phg_err_set(err, PHG_EIO, "cannot read '%s': %s", dir,
				 phg_errno_text(errno));
		goto out;
	}
	w.dirfd = dirfd(d);
	for (;;) {
		struct dirent *de;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = phg_err_set(err, PHG_EIO,
						 "cannot read '%s': %s", dir,
						 phg_errno_text(errno));
			break;
		}
		rc = add_entry(&w, de);
		if (rc < 0)
			goto out;
	}
	if (rc < 0)
		goto out;
	if (w.n)
		qsort(w.items, w.n, sizeof(*w.items), entry_cmp);
	rc = check_duplicates(&w);
	if (rc < 0)
		goto out;
	out->dir = phg_strdup(dir);
	out->items = calloc(w.n ? w.n : 1, sizeof(*out->items));
	if (!out->dir || !out->items) {
		rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < w.n; i++) {
		if (w.items[i].dropped)
			continue;
		if (w.items[i].cached)
			w.items[i].m.cached =
				w.cache.data + w.items[i].cache_at;
		out->items[n++] = w.items[i].m;
		memset(&w.items[i].m, 0, sizeof(w.items[i].m));
	}
	out->n = n;
	out->cache = w.cache.data;
	w.cache.data = NULL;
out:
	if (d)
		closedir(d);
	for (size_t i = 0; i < w.n; i++)
		entry_release(&w.items[i]);
	free(w.items);
	phg_buf_release(&w.buf);
	phg_buf_release(&w.cache);
	if (rc < 0)
		phg_source_release(out);
	return rc;
}

int phg_source_discover(const char *dir, struct phg_migration_set *out,
			struct phg_err *err)
{
	return discover(dir, false, out, err);
}

int phg_source_discover_cached(const char *dir, struct phg_migration_set *out,
			       struct phg_err *err)
{
	return discover(dir, true, out, err);
}

void phg_source_release(struct phg_migration_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->items[i].path);
		free(set->items[i].name);
		free(set->items[i].version);
	}
	free(set->items);
	free(set->dir);
	free(set->cache);
	memset(set, 0, sizeof(*set));
}
