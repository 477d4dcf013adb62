/*
 * nginx.c: the nginx traffic provider — writes the upstream file that
 * splits traffic between the blue and green slots (temp file, fsync,
 * rename), checks the whole config with `nginx -t`, reloads with
 * `nginx -s reload` (graceful: old workers finish their requests), and
 * waits until the master runs new workers. nginx runs through
 * phg_command_run (argv, bounded). weight=0 is not valid nginx, so a slot
 * at 0 % is written as `down`.
 */
#include "internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NGINX_DEFAULT_TIMEOUT_MS 30000LL
#define NGINX_MAX_WORKERS 256

static const char *nginx_bin(const struct phg_nginx *lb)
{
	return lb->binary && *lb->binary ? lb->binary : "nginx";
}

/* An empty prefix (an unset template) means no -p. */
static const char *nginx_prefix(const struct phg_nginx *lb)
{
	return lb->prefix && *lb->prefix ? lb->prefix : NULL;
}

static long long nginx_timeout(const struct phg_nginx *lb)
{
	return lb->timeout_ms > 0 ? lb->timeout_ms : NGINX_DEFAULT_TIMEOUT_MS;
}

/* Writes data to path through a temp file in the same folder + rename. */
static int write_atomic(const char *path, const char *data, size_t len,
			struct phg_err *err)
{
	char *tmp = phg_asprintf("%s.tmp.%ld", path, (long)getpid());
	int fd, rc = 0;
	size_t off = 0;

	if (!tmp)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = phg_err_set(err, PHG_EIO, "cannot write '%s': %s", tmp,
				 strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = phg_err_set(err, PHG_EIO, "cannot write '%s': %s",
					 tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		rc = phg_err_set(err, PHG_EIO, "cannot write '%s': %s", tmp,
				 strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		rc = phg_err_set(err, PHG_EIO, "cannot rename '%s' to '%s': %s",
				 tmp, path, strerror(errno));
		unlink(tmp);
	}
out:
	free(tmp);
	return rc;
}

/* Runs nginx with the given action arguments (after -p/-c/-e). */
static int run_nginx(const struct phg_nginx *lb, const char *a1, const char *a2,
		     struct phg_command_result *res, struct phg_err *err)
{
	char *argv[10];
	int n = 0;
	struct phg_command cmd = {0};

	argv[n++] = (char *)nginx_bin(lb);
	if (nginx_prefix(lb)) {
		argv[n++] = "-p";
		argv[n++] = (char *)nginx_prefix(lb);
	}
	argv[n++] = "-c";
	argv[n++] = (char *)lb->conf;
	/* Messages nginx writes before it reads the config: to our pipe,
	   not to the compiled-in /var/log/nginx/error.log. */
	argv[n++] = "-e";
	argv[n++] = "stderr";
	argv[n++] = (char *)a1;
	argv[n++] = (char *)a2;
	argv[n] = NULL;
	cmd.argv = argv;
	cmd.timeout_ms = nginx_timeout(lb);
	cmd.output_limit = 16 * 1024;
	return phg_command_run(&cmd, NULL, res, err);
}

/* Trims trailing white space of nginx's output in place. */
static const char *trimmed(char *s)
{
	size_t n = s ? strlen(s) : 0;

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s ? s : "";
}

/* Reads a pid from a file; 0 when it cannot. */
static pid_t read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &v) != 1)
		v = 0;
	fclose(f);
	return (pid_t)v;
}

/*
 * The pid file: lb->pid_file, else the conf's top-level `pid PATH;` line
 * (relative paths are under the prefix). Returns a malloc'd path or NULL.
 */
static char *find_pid_file(const struct phg_nginx *lb)
{
	struct phg_buf conf = {0};
	struct phg_err e = {0};
	char *conf_path, *found = NULL;
	const char *p;

	if (lb->pid_file && *lb->pid_file)
		return phg_strdup(lb->pid_file);
	conf_path = lb->conf[0] == '/' || !nginx_prefix(lb)
			    ? phg_strdup(lb->conf)
			    : phg_path_join(lb->prefix, lb->conf);
	if (!conf_path || phg_read_file(conf_path, &conf, &e) != 0)
		goto out;
	for (p = conf.data; p && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *q = p, *end;

		if (strncmp(q, "pid", 3) != 0 || !isspace((unsigned char)q[3]))
			continue;
		q += 3;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '"' || *q == '\'') {
			/* pid "/path/nginx.pid"; (quoted, as the sandbox
			   writes it) */
			const char quote[2] = {*q, '\0'};

			q++;
			end = q + strcspn(q, quote);
		} else {
			end = q + strcspn(q, "; \t\n");
		}
		if (end == q || *end == '\0')
			continue;
		if (*q == '/' || !nginx_prefix(lb)) {
			found = phg_strndup(q, (size_t)(end - q));
		} else {
			char *rel = phg_strndup(q, (size_t)(end - q));

			found = rel ? phg_path_join(lb->prefix, rel) : NULL;
			free(rel);
		}
		break;
	}
out:
	phg_buf_release(&conf);
	free(conf_path);
	return found;
}

/* The children of master, from /proc; returns how many (up to max). */
static size_t list_workers(pid_t master, pid_t *out, size_t max, bool *shutting)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		char path[64], buf[512];
		long pid, ppid;
		char *rp;
		FILE *f;
		size_t r;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, NULL, 10);
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		r = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[r] = '\0';
		/* "pid (comm) state ppid ...": comm may hold spaces. */
		rp = strrchr(buf, ')');
		if (!rp || sscanf(rp + 1, " %*c %ld", &ppid) != 1 ||
		    ppid != (long)master)
			continue;
		shutting[n] = false;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		f = fopen(path, "r");
		if (f) {
			r = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			for (size_t i = 0; i < r; i++)
				if (buf[i] == '\0')
					buf[i] = ' ';
			buf[r] = '\0';
			shutting[n] = strstr(buf, "shutting down") != NULL;
		}
		out[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

static bool in_list(pid_t p, const pid_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == p)
			return true;
	return false;
}

static void sleep_ms(long long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Waits until master has a worker that was not in old[] and every worker
 * of old[] is gone or shutting down. Returns 0, or PHG_ERUNTIME at the
 * deadline.
 */
static int wait_new_workers(pid_t master, const pid_t *old, size_t nold,
			    long long deadline, struct phg_err *err)
{
	pid_t now[NGINX_MAX_WORKERS];
	bool shutting[NGINX_MAX_WORKERS];

	for (;;) {
		size_t n =
			list_workers(master, now, NGINX_MAX_WORKERS, shutting);
		bool fresh = false, stale = false;

		for (size_t i = 0; i < n; i++) {
			if (!in_list(now[i], old, nold))
				fresh = fresh || !shutting[i];
			else if (!shutting[i])
				stale = true;
		}
		if (fresh && !stale)
			return 0;
		if (kill(master, 0) != 0)
			return phg_err_set(err, PHG_ERUNTIME,
					   "nginx master %ld exited during "
					   "the reload",
					   (long)master);
		if (pv_now_ms() >= deadline)
			return phg_err_set(err, PHG_ERUNTIME,
					   "nginx did not start new workers "
					   "within the timeout after the "
					   "reload");
		sleep_ms(10);
	}
}

/* One server line: a weight, or `down` at 0 % (weight=0 is invalid). */
static int add_server(struct phg_buf *b, const char *addr, int percent)
{
	if (percent == 0)
		return phg_buf_printf(b, "    server %s down;\n", addr);
	return phg_buf_printf(b, "    server %s weight=%d;\n", addr, percent);
}

int phg_nginx_set_weights(const struct phg_nginx *lb, int green_percent,
			  struct phg_err *err)
{
	struct phg_buf text = {0}, old = {0};
	struct phg_command_result res = {0};
	struct phg_err e = {0};
	pid_t workers[NGINX_MAX_WORKERS], master = 0;
	bool shutting[NGINX_MAX_WORKERS];
	size_t nworkers = 0;
	char *pid_file = NULL;
	bool had_old;
	int rc = 0, blue_percent = 100 - green_percent;
	long long t0 = pv_now_ms();

	if (!lb->conf || !*lb->conf || !lb->upstream_file ||
	    !*lb->upstream_file || !lb->upstream || !*lb->upstream ||
	    !lb->blue || !*lb->blue || !lb->green || !*lb->green)
		return phg_err_set(err, PHG_ECONFIG,
				   "nginx provider needs conf, upstream_file, "
				   "upstream, blue and green");
	if (green_percent < 0 || green_percent > 100)
		return phg_err_set(err, PHG_ECONFIG,
				   "green weight %d is outside 0..100",
				   green_percent);
	if (phg_buf_printf(&text, "# written by phasegate: green %d %%\n",
			   green_percent) < 0 ||
	    phg_buf_printf(&text, "upstream %s {\n", lb->upstream) < 0)
		goto nomem;
	if (add_server(&text, lb->blue, blue_percent) < 0 ||
	    add_server(&text, lb->green, green_percent) < 0)
		goto nomem;
	if (phg_buf_puts(&text, "}\n") < 0)
		goto nomem;

	had_old = phg_read_file(lb->upstream_file, &old, &e) == 0;
	if (!had_old && access(lb->upstream_file, F_OK) == 0) {
		rc = phg_err_set(err, PHG_EIO, "%s", e.msg);
		goto out;
	}
	rc = write_atomic(lb->upstream_file, text.data, text.len, err);
	if (rc < 0)
		goto out;

	rc = run_nginx(lb, "-t", "-q", &res, err);
	if (rc < 0)
		goto restore;
	if (res.exit_code != 0) {
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "nginx -t rejected the config with the new "
				 "weights (kept the old '%s'): %s",
				 lb->upstream_file, trimmed(res.output));
		goto restore;
	}
	phg_command_result_release(&res);

	pid_file = find_pid_file(lb);
	if (pid_file)
		master = read_pid(pid_file);
	if (master > 0)
		nworkers = list_workers(master, workers, NGINX_MAX_WORKERS,
					shutting);
	rc = run_nginx(lb, "-s", "reload", &res, err);
	if (rc < 0)
		goto out;
	if (res.exit_code != 0) {
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "nginx -s reload failed (exit %d): %s",
				 res.exit_code, trimmed(res.output));
		goto out;
	}
	if (master > 0)
		rc = wait_new_workers(master, workers, nworkers,
				      t0 + nginx_timeout(lb), err);
	goto out;

restore:
	if (had_old)
		write_atomic(lb->upstream_file, old.data, old.len, &e);
	else
		unlink(lb->upstream_file);
	goto out;
nomem:
	rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
out:
	phg_command_result_release(&res);
	phg_buf_release(&text);
	phg_buf_release(&old);
	free(pid_file);
	return rc;
}

/* The weight of server addr in the upstream text: -1 missing, 0 down. */
static int server_weight(const char *text, const char *addr)
{
	const char *p = text;
	size_t alen = strlen(addr);

	while ((p = strstr(p, "server")) != NULL) {
		const char *q = p + 6, *end;

		p = q;
		if (!isspace((unsigned char)*q))
			continue;
		while (isspace((unsigned char)*q))
			q++;
		if (strncmp(q, addr, alen) != 0 ||
		    !(isspace((unsigned char)q[alen]) || q[alen] == ';'))
			continue;
		end = strchr(q, ';');
		if (!end)
			return -1;
		for (const char *w = q + alen; w < end; w++) {
			if (strncmp(w, "down", 4) == 0)
				return 0;
			if (strncmp(w, "weight=", 7) == 0)
				return atoi(w + 7);
		}
		return 1; /* nginx's default weight */
	}
	return -1;
}

int phg_nginx_get_weights(const struct phg_nginx *lb, int *green_percent,
			  struct phg_err *err)
{
	struct phg_buf text = {0};
	int rc, b, g;

	if (!lb->upstream_file || !lb->blue || !lb->green)
		return phg_err_set(err, PHG_ECONFIG,
				   "nginx provider needs upstream_file, blue "
				   "and green");
	rc = phg_read_file(lb->upstream_file, &text, err);
	if (rc < 0)
		return rc;
	b = server_weight(text.data, lb->blue);
	g = server_weight(text.data, lb->green);
	if (b < 0 || g < 0 || b + g == 0) {
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "'%s' does not name both slots (%s, %s) with "
				 "a weight",
				 lb->upstream_file, lb->blue, lb->green);
	} else {
		*green_percent = (g * 100 + (b + g) / 2) / (b + g);
	}
	phg_buf_release(&text);
	return rc;
}
