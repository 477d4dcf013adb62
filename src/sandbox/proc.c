/*
 * proc.c: the sandbox's processes and files — starting programs with argv
 * in their own sessions, running short commands with a deadline, checking
 * that a recorded pid is still the process that was started (its start
 * time in /proc), stopping with a bounded wait and SIGKILL, free loopback
 * ports, and small file helpers.
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Highest descriptor closed in children. */
#define SBX_MAX_FD 1024

int sbx_fmt(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

double sbx_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sbx_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool sbx_find_exe(const char *name, char *out, size_t size)
{
	static const char *const extra[] = {"/usr/sbin",       "/usr/bin",
					    "/usr/local/sbin", "/usr/local/bin",
					    "/sbin",	       "/bin"};
	const char *path = getenv("PATH");

	if (strchr(name, '/')) {
		sbx_fmt(out, size, "%s", name);
		return access(out, X_OK) == 0;
	}
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);

		if (len > 0 && len + strlen(name) + 2 <= size) {
			sbx_fmt(out, size, "%.*s/%s", (int)len, path, name);
			if (access(out, X_OK) == 0)
				return true;
		}
		path = end ? end + 1 : NULL;
	}
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		sbx_fmt(out, size, "%s/%s", extra[i], name);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

/* In a child: default signal handling, nothing blocked. */
static void child_reset_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
}

int sbx_spawn(const char *const *argv, const char *cwd, const char *log,
	      pid_t *pid, struct phg_err *err)
{
	int p[2], child_errno = 0;
	ssize_t n;

	if (pipe(p) < 0)
		return phg_err_set(err, PHG_ERUNTIME, "pipe: %s",
				   strerror(errno));
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	fflush(stdout);
	fflush(stderr);
	*pid = fork();
	if (*pid < 0) {
		close(p[0]);
		close(p[1]);
		return phg_err_set(err, PHG_ERUNTIME, "fork: %s",
				   strerror(errno));
	}
	if (*pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int e;

		setsid();
		child_reset_signals();
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(out, 2) < 0 || (cwd && chdir(cwd) < 0))
			goto fail;
		for (int fd = 3; fd < SBX_MAX_FD; fd++)
			if (fd != p[1])
				close(fd);
		execv(argv[0], (char *const *)argv);
	fail:
		e = errno;
		if (write(p[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(p[1]);
	do
		n = read(p[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(child_errno)) {
		waitpid(*pid, NULL, 0);
		*pid = -1;
		return phg_err_set(err, PHG_ERUNTIME, "cannot start '%s': %s",
				   argv[0], strerror(child_errno));
	}
	return 0;
}

/* Appends n bytes to a buffer that keeps the last cap - 1 bytes. */
static void keep_tail(char *buf, size_t cap, size_t *len, const char *p,
		      size_t n)
{
	if (cap == 0)
		return;
	if (n >= cap - 1) {
		p += n - (cap - 1);
		n = cap - 1;
	}
	if (*len + n > cap - 1) {
		size_t drop = *len + n - (cap - 1);

		memmove(buf, buf + drop, *len - drop);
		*len -= drop;
	}
	memcpy(buf + *len, p, n);
	*len += n;
	buf[*len] = '\0';
}

int sbx_job_start(struct sbx_job *j, const char *const *argv, const char *cwd,
		  long timeout_ms, char *out, size_t outsz)
{
	int p[2];

	j->deadline = sbx_now() + (double)timeout_ms / 1000.0;
	j->out = out;
	j->outsz = outsz;
	j->len = 0;
	j->fd = -1;
	j->pid = -1;
	if (outsz)
		out[0] = '\0';
	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	j->pid = fork();
	if (j->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (j->pid == 0) {
		int in = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		child_reset_signals();
		if (in >= 0)
			dup2(in, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		for (int fd = 3; fd < SBX_MAX_FD; fd++)
			close(fd);
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	j->fd = p[0];
	return 0;
}

int sbx_job_finish(struct sbx_job *j)
{
	bool timed_out = false;
	int status = 0;

	if (j->pid < 0)
		return -1;
	for (;;) {
		struct pollfd pfd = {j->fd, POLLIN, 0};
		double left = j->deadline - sbx_now();
		char chunk[2048];
		ssize_t n;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (poll(&pfd, 1, (int)(left * 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!pfd.revents)
			continue;
		n = read(j->fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		keep_tail(j->out, j->outsz, &j->len, chunk, (size_t)n);
	}
	close(j->fd);
	j->fd = -1;
	while (!timed_out) {
		pid_t w = waitpid(j->pid, &status, WNOHANG);

		if (w == j->pid)
			break;
		if (w < 0 && errno != EINTR)
			return -1;
		if (sbx_now() > j->deadline)
			timed_out = true;
		else
			sbx_sleep_ms(10);
	}
	if (timed_out) {
		kill(-j->pid, SIGKILL);
		kill(j->pid, SIGKILL);
		waitpid(j->pid, &status, 0);
		keep_tail(j->out, j->outsz, &j->len, " (timed out)", 12);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int sbx_run(const char *const *argv, const char *cwd, long timeout_ms,
	    char *out, size_t outsz)
{
	struct sbx_job j;

	if (sbx_job_start(&j, argv, cwd, timeout_ms, out, outsz) < 0)
		return -1;
	return sbx_job_finish(&j);
}

/*
 * Reads /proc/PID/stat: state, parent and start time. Returns false when
 * the process does not exist.
 */
static bool proc_stat(long pid, char *state, long *ppid,
		      unsigned long long *start)
{
	char path[64], buf[1024];
	const char *p;
	ssize_t n;
	int fd;

	sbx_fmt(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* The command name may hold spaces and ')': skip to the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return false;
	p++;
	{
		char st = '?';
		long pp = 0;
		unsigned long long field;
		int used = 0;

		if (sscanf(p, " %c %ld%n", &st, &pp, &used) < 2)
			return false;
		p += used;
		/* Fields 5..21, then 22 is the start time. */
		for (int i = 5; i <= 21; i++) {
			if (sscanf(p, " %llu%n", &field, &used) < 1) {
				/* Negative fields (priority, nice). */
				long long sfield;

				if (sscanf(p, " %lld%n", &sfield, &used) < 1)
					return false;
			}
			p += used;
		}
		if (sscanf(p, " %llu", &field) < 1)
			return false;
		if (state)
			*state = st;
		if (ppid)
			*ppid = pp;
		if (start)
			*start = field;
	}
	return true;
}

void sbx_proc_set(struct sbx_proc *p, long pid)
{
	p->pid = pid;
	p->start = 0;
	if (pid > 0)
		proc_stat(pid, NULL, NULL, &p->start);
}

bool sbx_proc_alive(const struct sbx_proc *p)
{
	unsigned long long start = 0;
	char state = '?';

	if (p->pid <= 1 || !proc_stat(p->pid, &state, NULL, &start))
		return false;
	if (state == 'Z' || state == 'X')
		return false;
	return p->start == 0 || start == p->start;
}

size_t sbx_children(long pid, long *out, size_t cap)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		long child = strtol(e->d_name, NULL, 10), ppid = 0;
		char state = '?';

		if (child > 1 && proc_stat(child, &state, &ppid, NULL) &&
		    ppid == pid && state != 'Z' && n < cap)
			out[n++] = child;
	}
	closedir(d);
	return n;
}

/* SIGKILLs every child of pid (nginx workers, PostgreSQL backends). */
static void kill_children(long pid)
{
	long kids[256];
	size_t n = sbx_children(pid, kids, 256);

	for (size_t i = 0; i < n; i++)
		kill((pid_t)kids[i], SIGKILL);
}

/* Waits up to ms for p to be gone; true when it is. */
static bool wait_gone(const struct sbx_proc *p, long ms)
{
	double deadline = sbx_now() + (double)ms / 1000.0;

	while (sbx_proc_alive(p)) {
		if (sbx_now() > deadline)
			return false;
		/* Our own child (during a failed up): reap it. */
		waitpid((pid_t)p->pid, NULL, WNOHANG);
		sbx_sleep_ms(20);
	}
	return true;
}

bool sbx_proc_stop(const struct sbx_proc *p, int sig, long wait_ms)
{
	if (!sbx_proc_alive(p))
		return true;
	kill((pid_t)p->pid, sig);
	if (wait_gone(p, wait_ms))
		return true;
	kill_children(p->pid);
	kill((pid_t)p->pid, SIGKILL);
	return wait_gone(p, 5000);
}

int sbx_free_ports(int *ports, size_t n, struct phg_err *err)
{
	int fds[64];
	size_t opened = 0;
	int rc = 0;

	if (n > 64)
		return phg_err_set(err, PHG_ERUNTIME, "too many ports");
	for (; opened < n; opened++) {
		struct sockaddr_in a = {0};
		socklen_t len = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0) {
			rc = phg_err_set(err, PHG_ERUNTIME, "socket: %s",
					 strerror(errno));
			break;
		}
		fds[opened] = fd;
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
			rc = phg_err_set(err, PHG_ERUNTIME,
					 "cannot find a free port: %s",
					 strerror(errno));
			opened++;
			break;
		}
		ports[opened] = ntohs(a.sin_port);
	}
	for (size_t i = 0; i < opened; i++)
		close(fds[i]);
	return rc;
}

bool sbx_port_open(int port)
{
	struct sockaddr_in a = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool open_ = false;

	if (fd < 0 || port <= 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)port);
	open_ = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return open_;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void sbx_rmtree(const char *dir)
{
	if (dir[0] && strcmp(dir, "/") != 0)
		nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

int sbx_mkdirs(const char *path, struct phg_err *err)
{
	char buf[SBX_PATH];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return phg_err_set(err, PHG_EUSAGE, "path too long: '%s'",
				   path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return phg_err_set(err, PHG_EIO,
					   "cannot create '%s': %s", buf,
					   strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return phg_err_set(err, PHG_EIO, "cannot create '%s': %s", buf,
				   strerror(errno));
	return 0;
}

int sbx_write_file(const char *path, const char *data, struct phg_err *err)
{
	char tmp[SBX_PATH + 16];
	size_t len = strlen(data);
	FILE *f;

	sbx_fmt(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return phg_err_set(err, PHG_EIO, "cannot write '%s': %s", tmp,
				   strerror(errno));
	if (fwrite(data, 1, len, f) != len) {
		fclose(f);
		remove(tmp);
		return phg_err_set(err, PHG_EIO, "cannot write '%s': %s", tmp,
				   strerror(errno));
	}
	if (fclose(f) != 0) {
		remove(tmp);
		return phg_err_set(err, PHG_EIO, "cannot write '%s': %s", tmp,
				   strerror(errno));
	}
	if (chmod(tmp, 0644) < 0 || rename(tmp, path) < 0) {
		remove(tmp);
		return phg_err_set(err, PHG_EIO, "cannot write '%s': %s", path,
				   strerror(errno));
	}
	return 0;
}

void sbx_file_tail(const char *path, char *out, size_t size)
{
	FILE *f;
	long end;
	size_t n;

	if (size == 0)
		return;
	out[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && (end = ftell(f)) > 0) {
		long from = end > (long)size - 1 ? end - ((long)size - 1) : 0;

		fseek(f, from, SEEK_SET);
		n = fread(out, 1, size - 1, f);
		out[n] = '\0';
		/* One line: newlines become ";". */
		for (char *p = out; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = (p[1] ? ';' : '\0');
	}
	fclose(f);
}
