/*
 * it_services.h: real services for the provider integration tests — nginx
 * instances, Prometheus and unleash-server — each in its own temporary
 * folder on free ports of 127.0.0.1, started with argv (no shell) in its
 * own process group, its output in a log file of its folder.
 *
 * Stopping always happens, as with tests/pg_cluster.h: start services in
 * an UNCHECKED fixture (the runner process) and stop them in its teardown.
 * The first start also forks a guard process (its own session) that reads
 * a pipe from the runner: when the runner is gone without stopping them
 * (SIGKILL from a timeout, a crash), the guard kills the services' process
 * groups and removes their folders. Every wait is bounded in time.
 *
 * Header-only (static inline) so each test file takes what it uses.
 */
#ifndef PHG_TEST_IT_SERVICES_H
#define PHG_TEST_IT_SERVICES_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static inline long long svc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void svc_sleep_ms(long long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A port of 127.0.0.1 that was free a moment ago (bind to port 0). */
static inline int svc_free_port(void)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Whether something accepts TCP connections on 127.0.0.1:port. */
static inline bool svc_port_open(int port)
{
	struct sockaddr_in a = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Waits up to ms for the port to accept connections. */
static inline bool svc_wait_port(int port, long long ms)
{
	long long end = svc_now_ms() + ms;

	while (svc_now_ms() < end) {
		if (svc_port_open(port))
			return true;
		svc_sleep_ms(20);
	}
	return false;
}

/*
 * A listening socket on a free port that never accepts: the kernel
 * completes handshakes, nothing ever answers (for timeouts). Returns the
 * fd and sets *port.
 */
static inline int svc_blackhole(int *port)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* Whether an executable name is found in PATH (or is a path). */
static inline bool svc_have(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
		if (n && access(buf, X_OK) == 0)
			return true;
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

/* ---- the guard -------------------------------------------------------- */

static int svc_guard_fd = -1;
static pid_t svc_guard_owner;

static inline void svc_guard_loop(int fd)
{
	pid_t groups[64];
	char dirs[16][512];
	size_t ng = 0, nd = 0;
	char line[500];
	size_t len = 0;

	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (c != '\n') {
			if (len + 1 < sizeof(line))
				line[len++] = c;
			continue;
		}
		line[len] = '\0';
		len = 0;
		if (line[0] == 'g' && ng < 64) {
			groups[ng++] = (pid_t)atol(line + 2);
		} else if (line[0] == 'u') {
			pid_t g = (pid_t)atol(line + 2);

			for (size_t i = 0; i < ng; i++)
				if (groups[i] == g)
					groups[i] = 0;
		} else if (line[0] == 'd' && nd < 16) {
			snprintf(dirs[nd++], sizeof(dirs[0]), "%s", line + 2);
		} else if (line[0] == 'r') {
			for (size_t i = 0; i < nd; i++)
				if (strcmp(dirs[i], line + 2) == 0)
					dirs[i][0] = '\0';
		}
	}
	/* The runner is gone: what it left running goes now. */
	for (size_t i = 0; i < ng; i++)
		if (groups[i] > 1)
			kill(-groups[i], SIGKILL);
	svc_sleep_ms(300);
	for (size_t i = 0; i < nd; i++)
		if (dirs[i][0])
			th_rmtree(dirs[i]);
}

/* Sends one line to the guard, forking it first when needed. */
static inline void svc_guard_send(char kind, const char *value)
{
	char line[600];
	int n;

	if (svc_guard_fd < 0 || svc_guard_owner != getpid()) {
		int p[2];
		pid_t pid;

		if (pipe(p) != 0)
			return;
		pid = fork();
		if (pid == 0) {
			setsid();
			for (int fd = 3; fd < 1024; fd++)
				if (fd != p[0])
					close(fd);
			svc_guard_loop(p[0]);
			_exit(0);
		}
		close(p[0]);
		if (pid < 0) {
			close(p[1]);
			return;
		}
		/* Services must not hold the pipe open: close-on-exec. */
		fcntl(p[1], F_SETFD, FD_CLOEXEC);
		svc_guard_fd = p[1];
		svc_guard_owner = getpid();
	}
	n = snprintf(line, sizeof(line), "%c %s\n", kind, value);
	if (write(svc_guard_fd, line, (size_t)n) < 0) {
		/* the guard is gone: nothing more to do */
	}
}

static inline void svc_guard_pid(char kind, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", (long)pid);
	svc_guard_send(kind, buf);
}

/* ---- processes -------------------------------------------------------- */

/*
 * Starts argv in its own process group, stdin from /dev/null, stdout and
 * stderr appended to log; env entries ("NAME=value") are added. Returns
 * the pid, or -1.
 */
static inline pid_t svc_spawn(char *const *argv, char *const *env,
			      const char *dir, const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int nul = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		if (fd < 0 || nul < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		for (int i = 3; i < 1024; i++)
			close(i);
		for (size_t i = 0; env && env[i]; i++) {
			char name[256];
			const char *eq = strchr(env[i], '=');
			size_t n = eq ? (size_t)(eq - env[i]) : 0;

			if (n && n < sizeof(name)) {
				memcpy(name, env[i], n);
				name[n] = '\0';
				setenv(name, eq + 1, 1);
			}
		}
		if (dir && chdir(dir) != 0)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid > 0) {
		setpgid(pid, pid);
		svc_guard_pid('g', pid);
	}
	return pid;
}

/* Whether pid has exited (reaps it). */
static inline bool svc_exited(pid_t pid)
{
	int st;

	return waitpid(pid, &st, WNOHANG) == pid;
}

/*
 * Stops a service started by svc_spawn: sig to the leader, up to ms for it
 * to exit, then SIGKILL to the whole group.
 */
static inline void svc_stop(pid_t pid, int sig, long long ms)
{
	long long end = svc_now_ms() + ms;
	bool gone = false;

	if (pid <= 0)
		return;
	kill(pid, sig);
	while (svc_now_ms() < end) {
		if (svc_exited(pid)) {
			gone = true;
			break;
		}
		svc_sleep_ms(20);
	}
	kill(-pid, SIGKILL);
	if (!gone)
		waitpid(pid, NULL, 0);
	svc_guard_pid('u', pid);
}

/* A fresh temporary folder that the guard removes if the runner dies. */
static inline char *svc_tmpdir(void)
{
	char *d = th_tmpdir();

	/* nginx workers run as nobody: the folder must be traversable. */
	chmod(d, 0755);
	svc_guard_send('d', d);
	return d;
}

static inline void svc_rmdir(char *d)
{
	if (!d)
		return;
	th_rmtree(d);
	svc_guard_send('r', d);
	free(d);
}

/* The last bytes of a log file, for failure messages (static buffer). */
static inline const char *svc_log_tail(const char *path)
{
	static char buf[1500];
	char *all = th_slurp(path);
	size_t n;

	if (!all)
		return "(no log)";
	n = strlen(all);
	snprintf(buf, sizeof(buf), "%s", n > 1400 ? all + n - 1400 : all);
	free(all);
	return buf;
}

/* ---- nginx ------------------------------------------------------------ */

#define SVC_NGINX_MISSING                                                      \
	"nginx is not installed (the Debian package 'nginx'): run "            \
	"scripts/install-deps.sh"

struct svc_nginx {
	char *dir; /* prefix: conf/nginx.conf, logs/, html/ */
	pid_t pid; /* master (daemon off) */
	int port;  /* the first listen port, waited for */
};

/*
 * Writes PREFIX/conf/nginx.conf around http_body (the inside of the http
 * block; "PREFIX" in it is replaced by the folder) and starts nginx in the
 * foreground. Returns 0 once port accepts connections (10 s at most), -1
 * after printing why.
 */
static inline int svc_nginx_start(struct svc_nginx *n, const char *dir,
				  int port, const char *http_body)
{
	char conf[16384], body[12288], path[4096], log[4096];
	char *argv[] = {"nginx",	   "-p", (char *)dir,	   "-c",
			"conf/nginx.conf", "-e", "logs/error.log", NULL};
	const char *s;
	size_t k = 0;

	memset(n, 0, sizeof(*n));
	n->dir = (char *)dir;
	n->port = port;
	for (s = http_body; *s && k + 1 < sizeof(body);) {
		if (strncmp(s, "PREFIX", 6) == 0) {
			k += (size_t)snprintf(body + k, sizeof(body) - k, "%s",
					      dir);
			s += 6;
		} else {
			body[k++] = *s++;
		}
	}
	body[k < sizeof(body) ? k : sizeof(body) - 1] = '\0';
	snprintf(conf, sizeof(conf),
		 "daemon off;\n"
		 "worker_processes 1;\n"
		 "pid \"%s/nginx.pid\";\n"
		 "error_log %s/logs/error.log info;\n"
		 "events { worker_connections 512; }\n"
		 "http {\n"
		 "  access_log %s/logs/access.log;\n"
		 "  client_body_temp_path %s/tmp/body;\n"
		 "  proxy_temp_path %s/tmp/proxy;\n"
		 "  fastcgi_temp_path %s/tmp/fastcgi;\n"
		 "  uwsgi_temp_path %s/tmp/uwsgi;\n"
		 "  scgi_temp_path %s/tmp/scgi;\n"
		 "  default_type text/plain;\n"
		 "%s\n"
		 "}\n",
		 dir, dir, dir, dir, dir, dir, dir, dir, body);
	th_write_str(dir, "conf/nginx.conf", conf);
	th_write_str(dir, "logs/.keep", "");
	th_write_str(dir, "tmp/.keep", "");
	snprintf(path, sizeof(path), "%s/tmp", dir);
	chmod(path, 0777);
	snprintf(log, sizeof(log), "%s/logs/stderr.log", dir);
	n->pid = svc_spawn(argv, NULL, NULL, log);
	if (n->pid < 0 || !svc_wait_port(port, 10000)) {
		char elog[4096];

		snprintf(elog, sizeof(elog), "%s/logs/error.log", dir);
		fprintf(stderr, "nginx in %s did not listen on %d: %s\n%s\n",
			dir, port, svc_log_tail(log), svc_log_tail(elog));
		return -1;
	}
	return 0;
}

static inline void svc_nginx_stop(struct svc_nginx *n)
{
	if (n->pid > 0)
		svc_stop(n->pid, SIGTERM, 10000);
	n->pid = 0;
}

/* ---- prometheus ------------------------------------------------------- */

/*
 * Starts a real prometheus in dir that scrapes 127.0.0.1:target_port every
 * second as job `job`, listening on a free port (*port); writes its log
 * path to log. Returns its pid once the port accepts connections, or -1.
 */
static inline pid_t svc_prometheus_start(const char *dir, const char *job,
					 int target_port, int *port, char *log,
					 size_t logsz)
{
	char conf[1024], arg_conf[4200], arg_db[4200], arg_listen[64];
	pid_t pid;

	*port = svc_free_port();
	snprintf(conf, sizeof(conf),
		 "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
		 "scrape_configs:\n  - job_name: %s\n"
		 "    static_configs:\n      - targets: ['127.0.0.1:%d']\n",
		 job, target_port);
	th_write_str(dir, "prom.yml", conf);
	snprintf(arg_conf, sizeof(arg_conf), "--config.file=%s/prom.yml", dir);
	snprintf(arg_db, sizeof(arg_db), "--storage.tsdb.path=%s/data", dir);
	snprintf(arg_listen, sizeof(arg_listen),
		 "--web.listen-address=127.0.0.1:%d", *port);
	snprintf(log, logsz, "%s/prometheus.log", dir);
	{
		char *argv[] = {"prometheus",
				arg_conf,
				arg_db,
				arg_listen,
				"--storage.tsdb.retention.time=1h",
				NULL};

		pid = svc_spawn(argv, NULL, dir, log);
	}
	if (pid > 0 && !svc_wait_port(*port, 20000)) {
		svc_stop(pid, SIGTERM, 10000);
		return -1;
	}
	return pid;
}

/* Number of lines of file holding needle (0 when missing). */
static inline int svc_count_lines(const char *path, const char *needle)
{
	char *all = th_slurp(path);
	int count = 0;

	for (char *line = all; line && *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (strstr(line, needle))
			count++;
		if (!nl)
			break;
		line = nl + 1;
	}
	free(all);
	return count;
}

#endif
