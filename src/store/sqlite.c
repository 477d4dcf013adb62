/*
 * sqlite.c: the ledger in an SQLite file, the default. The folder is
 * created (mode 0700) and the file with mode 0600 before SQLite opens it
 * (SQLite gives its -wal and -shm files the database file's mode). WAL
 * journal with synchronous=FULL: a committed write survives the process
 * being killed (and the machine losing power). Writers wait for each
 * other at most PHG_SQLITE_BUSY_MS. The clock is this machine's.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long a write waits for another process's transaction. */
#define PHG_SQLITE_BUSY_MS 10000

struct sq {
	sqlite3 *db;
	const char *where; /* borrowed from struct phg_store */
};

static int sq_fail(struct sq *c, const char *what, struct phg_err *err)
{
	return phg_err_set(err, PHG_ERUNTIME, "ledger '%s': %s: %s", c->where,
			   what, sqlite3_errmsg(c->db));
}

/* Creates the folders above path that are missing (mode 0700). */
static int make_parents(const char *path, struct phg_err *err)
{
	char *buf = phg_strdup(path);
	int rc = 0;

	if (!buf)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
			rc = phg_err_set(err, PHG_EIO,
					 "cannot create folder '%s' for the "
					 "ledger: %s",
					 buf, strerror(errno));
			break;
		}
		*p = '/';
	}
	free(buf);
	return rc;
}

/* Creates the file when missing and makes its mode exactly 0600. */
static int make_file(const char *path, struct phg_err *err)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc = 0;

	if (fd < 0)
		return phg_err_set(err, PHG_EIO, "cannot open ledger '%s': %s",
				   path, strerror(errno));
	if (fstat(fd, &st) != 0)
		rc = phg_err_set(err, PHG_EIO, "cannot open ledger '%s': %s",
				 path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = phg_err_set(err, PHG_EIO,
				 "cannot open ledger '%s': not a regular file",
				 path);
	else if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) != 0)
		rc = phg_err_set(err, PHG_EIO,
				 "cannot set mode 0600 on ledger '%s': %s",
				 path, strerror(errno));
	close(fd);
	return rc;
}

static int sq_pragma(struct sq *c, const char *sql, const char *expect,
		     struct phg_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	int out = 0;

	if (rc != SQLITE_OK)
		return sq_fail(c, "cannot configure SQLite", err);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		out = sq_fail(c, "cannot configure SQLite", err);
	} else if (expect) {
		const unsigned char *v =
			rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;

		if (!v || strcmp((const char *)v, expect) != 0)
			out = phg_err_set(err, PHG_ERUNTIME,
					  "ledger '%s': '%s' gave '%s', not "
					  "'%s'",
					  c->where, sql,
					  v ? (const char *)v : "", expect);
	}
	sqlite3_finalize(st);
	return out;
}

int st_sqlite_open(const char *path, const char *where, void **impl,
		   struct phg_err *err)
{
	struct sq *c;
	int rc;

	*impl = NULL;
	rc = make_parents(path, err);
	if (rc == 0)
		rc = make_file(path, err);
	if (rc < 0)
		return rc;
	c = phg_xcalloc(1, sizeof(*c));
	if (!c)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	c->where = where;
	rc = sqlite3_open_v2(path, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
				     SQLITE_OPEN_NOFOLLOW,
			     NULL);
	if (rc != SQLITE_OK) {
		if (c->db)
			rc = sq_fail(c, "cannot open", err);
		else
			rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, PHG_SQLITE_BUSY_MS);
	rc = sq_pragma(c, "PRAGMA journal_mode = WAL", "wal", err);
	if (rc == 0)
		rc = sq_pragma(c, "PRAGMA synchronous = FULL", NULL, err);
	if (rc == 0)
		rc = sq_pragma(c, "PRAGMA foreign_keys = ON", NULL, err);
	if (rc < 0)
		goto fail;
	*impl = c;
	return 0;
fail:
	sqlite3_close(c->db);
	free(c);
	return rc;
}

/* $N (the shared SQL's parameters) become ?N, SQLite's numbered form. */
static char *sq_params(const char *sql)
{
	char *x = phg_strdup(sql);

	for (char *p = x; p && *p; p++)
		if (*p == '$' && p[1] >= '0' && p[1] <= '9')
			*p = '?';
	return x;
}

static int sq_bind(struct sq *c, sqlite3_stmt *st, size_t n,
		   const struct st_param *params, struct phg_err *err)
{
	int count = sqlite3_bind_parameter_count(st);

	for (size_t i = 0; i < n && (int)i < count; i++) {
		const struct st_param *p = &params[i];
		int idx = (int)i + 1, rc = SQLITE_OK;

		switch (p->type) {
		case ST_TEXT:
			rc = p->s ? sqlite3_bind_text(st, idx, p->s, -1,
						      SQLITE_TRANSIENT)
				  : sqlite3_bind_null(st, idx);
			break;
		case ST_INT:
			rc = sqlite3_bind_int64(st, idx, p->i);
			break;
		case ST_REAL:
			rc = sqlite3_bind_double(st, idx, p->d);
			break;
		}
		if (rc != SQLITE_OK)
			return sq_fail(c, "cannot bind a parameter", err);
	}
	return 0;
}

/* Copies the current row's columns as text onto out. */
static int sq_row(sqlite3_stmt *st, struct st_rows *out, size_t *cap)
{
	size_t nc = (size_t)sqlite3_column_count(st), base;

	if (out->nrows == 0)
		out->ncols = nc;
	if ((out->nrows + 1) * nc > *cap) {
		size_t ncap = *cap ? *cap * 2 : nc * 8;
		char **g;

		while (ncap < (out->nrows + 1) * nc)
			ncap *= 2;
		g = realloc(out->cells, ncap * sizeof(*g));
		if (!g)
			return PHG_ENOMEM;
		out->cells = g;
		*cap = ncap;
	}
	base = out->nrows * nc;
	for (size_t i = 0; i < nc; i++)
		out->cells[base + i] = NULL;
	out->nrows++;
	for (size_t i = 0; i < nc; i++) {
		int ci = (int)i;
		char num[64];
		const char *v = NULL;

		switch (sqlite3_column_type(st, ci)) {
		case SQLITE_NULL:
			continue;
		case SQLITE_INTEGER:
			snprintf(num, sizeof(num), "%lld",
				 (long long)sqlite3_column_int64(st, ci));
			v = num;
			break;
		case SQLITE_FLOAT:
			/* Enough digits to read back the same double. */
			snprintf(num, sizeof(num), "%.17g",
				 sqlite3_column_double(st, ci));
			v = num;
			break;
		default:
			v = (const char *)sqlite3_column_text(st, ci);
			if (!v)
				return PHG_ENOMEM;
			break;
		}
		out->cells[base + i] = phg_strdup(v);
		if (!out->cells[base + i])
			return PHG_ENOMEM;
	}
	return 0;
}

static int sq_exec(void *impl, const char *sql, size_t nparams,
		   const struct st_param *params, struct st_rows *out,
		   const char *what, struct phg_err *err)
{
	struct sq *c = impl;
	sqlite3_stmt *st = NULL;
	struct st_rows rows = {0};
	size_t cap = 0;
	char *x = sq_params(sql);
	int rc = 0, step;

	if (!x)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	if (sqlite3_prepare_v2(c->db, x, -1, &st, NULL) != SQLITE_OK) {
		rc = sq_fail(c, what, err);
		goto out;
	}
	rc = sq_bind(c, st, nparams, params, err);
	if (rc < 0)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (!out)
			continue;
		if (sq_row(st, &rows, &cap) < 0) {
			rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE)
		rc = sq_fail(c, what, err);
out:
	sqlite3_finalize(st);
	free(x);
	if (rc == 0 && out)
		*out = rows;
	else
		st_rows_release(&rows);
	return rc;
}

static void sq_close(void *impl)
{
	struct sq *c = impl;

	sqlite3_close(c->db);
	free(c);
}

const struct st_ops st_sqlite_ops = {
	.name = "sqlite",
	.now_sql = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
	.now_ms_sql = "CAST(round((julianday('now') - 2440587.5) * "
		      "86400000.0) AS INTEGER)",
	.for_update = "",
	.begin_sql = "BEGIN IMMEDIATE",
	.id_type = "INTEGER PRIMARY KEY AUTOINCREMENT",
	.exec = sq_exec,
	.prepare = NULL,
	.ensure = NULL,
	.close = sq_close,
};
