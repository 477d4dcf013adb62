/*
 * helpers.c: temporary folders, files and child processes for the Check
 * suites, and copying the snapshot scenarios they run in. Children run with
 * argv (no shell) and are bounded in time.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *th_source_dir(void)
{
	const char *d = getenv("PHG_SOURCE_DIR");

	return d ? d : ".";
}

const char *th_src_path(const char *rel)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", th_source_dir(), rel);
	return buf;
}

char *th_tmpdir(void)
{
	char tmpl[] = "/tmp/phg-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	if (!d) {
		perror("mkdtemp");
		abort();
	}
	return strdup(d);
}

static void mkdirs_for(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	}
}

void th_write(const char *dir, const char *rel, const char *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	mkdirs_for(path);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		abort();
	}
	if (len && fwrite(data, 1, len, f) != len)
		abort();
	fclose(f);
}

void th_write_str(const char *dir, const char *rel, const char *data)
{
	th_write(dir, rel, data, strlen(data));
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	chmod(path, 0700);
	return remove(path);
}

void th_rmtree(const char *dir)
{
	nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

char *th_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[65536];

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			buf = realloc(buf, cap);
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[len] = '\0';
	return buf;
}

struct capture {
	int fd;
	char *buf;
	size_t len, cap;
};

static void capture_read(struct capture *c)
{
	char chunk[65536];
	ssize_t n = read(c->fd, chunk, sizeof(chunk));

	if (n <= 0) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	if (c->len + (size_t)n + 1 > c->cap) {
		c->cap = (c->len + (size_t)n + 1) * 2;
		c->buf = realloc(c->buf, c->cap);
	}
	memcpy(c->buf + c->len, chunk, (size_t)n);
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
}

int th_run(const char *cwd, const char *const *argv, char **out, char **errout)
{
	const char *bin = getenv("PHG_BINARY");
	int po[2], pe[2], status = 0;
	struct capture cap[2] = {{0}, {0}};
	time_t deadline = time(NULL) + 300;
	const char *args[64];
	size_t n = 0;
	pid_t pid;

	if (!bin)
		bin = "phasegate";
	args[n++] = bin;
	for (; argv[n - 1] && n < 63; n++)
		args[n] = argv[n - 1];
	args[n] = NULL;
	if (pipe(po) < 0 || pipe(pe) < 0)
		abort();
	pid = fork();
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		if (cwd && chdir(cwd) < 0)
			_exit(127);
		execv(bin, (char *const *)args);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	cap[0].fd = po[0];
	cap[1].fd = pe[0];
	while ((cap[0].fd >= 0 || cap[1].fd >= 0) && time(NULL) < deadline) {
		struct pollfd fds[2] = {{cap[0].fd, POLLIN, 0},
					{cap[1].fd, POLLIN, 0}};

		if (poll(fds, 2, 1000) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++)
			if (cap[i].fd >= 0 &&
			    (fds[i].revents & (POLLIN | POLLHUP)))
				capture_read(&cap[i]);
	}
	if (cap[0].fd >= 0 || cap[1].fd >= 0)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	for (int i = 0; i < 2; i++) {
		if (cap[i].fd >= 0)
			close(cap[i].fd);
		if (!cap[i].buf)
			cap[i].buf = calloc(1, 1);
	}
	if (out)
		*out = cap[0].buf;
	else
		free(cap[0].buf);
	if (errout)
		*errout = cap[1].buf;
	else
		free(cap[1].buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *th_join(const char *a, const char *b)
{
	char *p;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		abort();
	return p;
}

void th_copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	if (in < 0) {
		perror(from);
		abort();
	}
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		perror(to);
		abort();
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			abort();
	if (n != 0)
		abort();
	close(in);
	close(out);
}

void th_copy_tree(const char *from, const char *to, bool skip_expected)
{
	DIR *d = opendir(from);
	struct dirent *e;

	if (!d) {
		perror(from);
		abort();
	}
	mkdir(to, 0755);
	while ((e = readdir(d)) != NULL) {
		char *src, *dst;
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (skip_expected && !strncmp(e->d_name, "expected.", 9))
			continue;
		src = th_join(from, e->d_name);
		dst = th_join(to, e->d_name);
		if (lstat(src, &st) != 0)
			abort();
		if (S_ISDIR(st.st_mode))
			th_copy_tree(src, dst, false);
		else if (S_ISREG(st.st_mode))
			th_copy_file(src, dst);
		free(src);
		free(dst);
	}
	closedir(d);
}

bool th_updating_snapshots(void)
{
	const char *u = getenv("PHG_UPDATE_SNAPSHOTS");

	return u && strcmp(u, "1") == 0;
}
