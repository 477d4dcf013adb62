/*
 * fuzz_layout.c: layout detection under libFuzzer — the input describes a
 * small migrations folder, which is written to a temporary folder and read
 * with phg_source_discover (file and folder names, dbmate markers, Prisma
 * and Diesel subfolders, Diesel's metadata.toml, symbolic links). What it
 * finds must be ordered as phg_migration_cmp says, each migration must load
 * and be found again by its name, and the folder is then linted as the
 * runner lints it (collecting each migration's statements).
 *
 * Input: NUL-separated pairs "name\0content\0name\0content...". A name is a
 * path inside the folder ("0001_x.sql", "20240101_x/migration.sql"); one
 * ending in '/' is a folder (its content is ignored); one starting with '@'
 * is a symbolic link whose content is the target, relative and without
 * "..", so it stays inside the folder (a loop is allowed). Names with empty,
 * "." or ".." parts, more than four levels, and absolute or escaping
 * targets are skipped, as are entries past the 32nd.
 */
#define _GNU_SOURCE /* asprintf, strndup */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "fuzz_util.h"
#include "lint/lint.h"
#include "parse/parse.h"
#include "source/source.h"

#define FOLDER "m"
#define MAX_ENTRIES 32
#define MAX_DEPTH 4
#define MAX_PART 128

/* Whether every '/'-separated part of p is a usable name. */
static bool safe_path(const char *p)
{
	int depth = 0;

	if (!*p || *p == '/')
		return false;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || n > MAX_PART || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.') ||
		    ++depth > MAX_DEPTH)
			return false;
		if (!e)
			return true;
		p = e + 1;
	}
}

static bool make_dirs(const char *rel)
{
	char *path = fz_path(rel);
	size_t top = strlen(fz_root()) + 1;
	bool ok = true;

	for (char *s = path + top;; s++) {
		char *e = strchr(s, '/');

		if (e)
			*e = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			ok = false;
		if (!e || !ok)
			break;
		*e = '/';
		s = e;
	}
	free(path);
	return ok;
}

static void make_link(const char *rel, const char *content, size_t len)
{
	char *path = fz_path(rel), *slash;
	char *target = strndup(content, len);

	if (!target)
		abort();
	if (!safe_path(target))
		goto out;
	slash = strrchr(rel, '/');
	if (slash) {
		char *parent = strndup(rel, (size_t)(slash - rel));

		if (!parent)
			abort();
		make_dirs(parent);
		free(parent);
	}
	(void)symlink(target, path);
out:
	free(target);
	free(path);
}

/* Writes one entry; entries that make no sense are skipped. */
static void write_entry(const char *name, const char *content, size_t len)
{
	bool link = name[0] == '@';
	char *bare, *rel;
	size_t n;
	bool folder;

	bare = strdup(name + (link ? 1 : 0));
	if (!bare)
		abort();
	n = strlen(bare);
	folder = n > 0 && bare[n - 1] == '/';
	while (n > 0 && bare[n - 1] == '/')
		bare[--n] = '\0';
	if (asprintf(&rel, FOLDER "/%s", bare) < 0)
		abort();
	if (safe_path(bare)) {
		if (link)
			make_link(rel, content, len);
		else if (folder)
			make_dirs(rel);
		else
			(void)fz_write(rel, content, len);
	}
	free(rel);
	free(bare);
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

/* What discovery promises about the set it returns. */
static void check_set(struct phg_migration_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct phg_migration *m = &set->items[i];
		struct phg_buf text = {0};
		struct phg_err err = {0};
		long k;

		if (phg_migration_cmp(m, m) != 0)
			abort();
		if (i + 1 < set->n) {
			struct phg_migration *b = &set->items[i + 1];
			int ab = phg_migration_cmp(m, b);

			if (ab > 0 ||
			    sign(ab) != -sign(phg_migration_cmp(b, m)))
				abort();
			if (sign(phg_version_cmp(m->version, b->version)) !=
			    -sign(phg_version_cmp(b->version, m->version)))
				abort();
		}
		if (m->up_start > m->up_end)
			abort();
		k = phg_source_find(set, m->name);
		if (k < 0 || (size_t)k >= set->n)
			abort();
		if (phg_source_load(m, &text, &err) == 0 &&
		    (m->up_end > text.len || strlen(m->checksum) != 64))
			abort();
		phg_buf_release(&text);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char *env[] = {"PHG_ARENA_MALLOC=1", NULL};

	(void)argc;
	(void)argv;
	fz_fixed_env(env);
	fz_root();
	atexit(phg_parse_shutdown);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phg_migration_set set;
	struct phg_err err = {0};
	char *dir = fz_path(FOLDER);
	size_t at = 0;
	int rc;

	if (mkdir(dir, 0755) < 0)
		abort();
	for (int i = 0; i < MAX_ENTRIES && at < size; i++) {
		size_t name_end = fz_find(data, size, at, "", 1);
		size_t end = name_end < size
				     ? fz_find(data, size, name_end + 1, "", 1)
				     : size;
		char *name = strndup((const char *)data + at, name_end - at);
		const char *content =
			name_end < size ? (const char *)data + name_end + 1
					: "";
		size_t len = name_end < size ? end - name_end - 1 : 0;

		if (!name)
			abort();
		write_entry(name, content, len);
		free(name);
		at = end + 1;
	}

	memset(&set, 0, sizeof(set));
	rc = phg_source_discover(dir, &set, &err);
	if (rc == 0) {
		check_set(&set);
	} else if ((rc != PHG_EIO && rc != PHG_EINPUT) || !err.msg[0] ||
		   set.n != 0) {
		fprintf(stderr, "fuzz_layout: discover returned %d: %s\n", rc,
			err.msg);
		abort();
	}
	phg_source_release(&set);

	if (rc == 0) {
		struct phg_config cfg;
		struct phg_lint_opts lo = {0};
		struct phg_lint_result res;
		const char *paths[] = {dir};

		memset(&err, 0, sizeof(err));
		if (phg_config_defaults(&cfg, &err) < 0)
			abort();
		lo.cfg = &cfg;
		lo.paths = paths;
		lo.npaths = 1;
		lo.collect = true;
		if (phg_lint_run(&lo, &res, &err) == PHG_ENOMEM)
			abort();
		phg_lint_result_release(&res);
		phg_config_release(&cfg);
	}
	free(dir);
	fz_clear();
	return 0;
}
