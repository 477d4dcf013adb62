/*
 * fuzz_util.c: the temporary folder every fuzz target writes its input
 * into, emptied after each input and removed at exit, and the helpers the
 * targets share (see fuzz_util.h).
 */
#define _GNU_SOURCE /* asprintf */
#include "fuzz_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static char *root;

/* Removes path and, for a real folder, everything below it. */
static void remove_tree(const char *path, bool keep_top)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	/* A folder a description left without rights still gets emptied. */
	chmod(path, 0700);
	d = opendir(path);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			char *sub;

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (asprintf(&sub, "%s/%s", path, e->d_name) < 0)
				abort();
			remove_tree(sub, false);
			free(sub);
		}
		closedir(d);
	}
	if (!keep_top)
		rmdir(path);
}

static void remove_root(void)
{
	if (root)
		remove_tree(root, false);
	free(root);
	root = NULL;
}

const char *fz_root(void)
{
	const char *tmp = getenv("TMPDIR");

	if (root)
		return root;
	if (asprintf(&root, "%s/phg-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp") <
	    0)
		abort();
	if (!mkdtemp(root)) {
		fprintf(stderr, "fuzz: cannot create '%s': %s\n", root,
			strerror(errno));
		abort();
	}
	atexit(remove_root);
	return root;
}

char *fz_path(const char *rel)
{
	char *p;

	if (asprintf(&p, "%s/%s", fz_root(), rel) < 0)
		abort();
	return p;
}

bool fz_write(const char *rel, const void *data, size_t len)
{
	char *path = fz_path(rel);
	size_t top = strlen(fz_root()) + 1;
	bool ok = false;
	int fd;

	/* Parent folders first: each '/' after the root ends one. */
	for (char *s = path + top; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			*s = '/';
			goto out;
		}
		*s = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
	if (fd < 0)
		goto out;
	ok = len == 0 || write(fd, data, len) == (ssize_t)len;
	if (close(fd) < 0)
		ok = false;
out:
	free(path);
	return ok;
}

void fz_clear(void)
{
	remove_tree(fz_root(), true);
}

void fz_fixed_env(char *const *vars)
{
	static char *none[] = {NULL};

	/* The sanitizers read their options from /proc/self/environ, so
	   replacing environ changes only what the library sees. */
	environ = none;
	for (size_t i = 0; vars[i]; i++)
		if (putenv(vars[i]) != 0)
			abort();
}

size_t fz_find(const uint8_t *data, size_t size, size_t from, const char *sep,
	       size_t seplen)
{
	for (size_t i = from; i + seplen <= size; i++)
		if (!memcmp(data + i, sep, seplen))
			return i;
	return size;
}
