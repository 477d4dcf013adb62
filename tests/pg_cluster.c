/*
 * pg_cluster.c: starts and stops PostgreSQL 15 clusters for integration
 * tests (see pg_cluster.h for the contract and the Check pattern).
 *
 * Everything PostgreSQL runs as `postgres` through runuser, with argv and
 * no shell, from /tmp (runuser keeps the current folder, and postgres cannot
 * read root's home). Each child's output is captured and printed only when
 * it fails, and each wait has a deadline. Clean-up has three layers: the
 * atexit handler, the fatal-signal handler (async-signal-safe: it only
 * reads postmaster.pid and sends the postmaster SIGINT, a fast shutdown),
 * and a guard process that outlives a killed test process.
 */
#define _XOPEN_SOURCE 700
#include "pg_cluster.h"

#include "sandbox/internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define PGC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PGC_SANITIZED 1
#endif
#endif
#ifdef PGC_SANITIZED
#include <sanitizer/common_interface_defs.h>
#endif

#define RUNUSER "/usr/sbin/runuser"
#define PG_CTL PGC_BINDIR "/pg_ctl"
#define PGC_MAX_SETS 8
#define START_ATTEMPTS 4
#define PGC_MAX_CLUSTERS 64
#define CONNECT_TIMEOUT "10"
/* Highest descriptor closed in children; tests open few files. */
#define PGC_MAX_FD 1024

/* Seconds a child may run: pg_ctl has its own -t 60 inside these. */
enum { T_INITDB = 120, T_COPY = 120, T_PG_CTL = 90 };

static struct pgc_set *volatile registry[PGC_MAX_SETS];
static const int fatal_signals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE,
				    SIGILL,  SIGTERM, SIGINT, SIGHUP};
#define N_FATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))
static struct sigaction old_actions[N_FATAL];
static int handlers_installed;

bool pgc_available(void)
{
	return access(PGC_BINDIR "/initdb", X_OK) == 0 &&
	       access(PG_CTL, X_OK) == 0 && access(RUNUSER, X_OK) == 0 &&
	       getpwnam("postgres") != NULL;
}

/* ---- child processes ---------------------------------------------- */

/* Closes inherited descriptors above 2 except keep (-1 for none). */
static void close_from_3(int keep)
{
	for (int fd = 3; fd < PGC_MAX_FD; fd++)
		if (fd != keep)
			close(fd);
}

/*
 * Starts argv (argv[0] a full path) from /tmp with stdin from /dev/null,
 * stdout and stderr into a pipe, in its own process group, and no other
 * descriptor, with the sandbox's runner (src/sandbox/proc.c). Returns 0,
 * or -1 with the reason in out.
 */
static int job_spawn(struct sbx_job *j, const char *const *argv, int timeout_s,
		     char *out, size_t outsz)
{
	if (sbx_job_start(j, argv, "/tmp", timeout_s * 1000L, out, outsz) == 0)
		return 0;
	snprintf(out, outsz, "cannot start %s: %s", argv[0], strerror(errno));
	return -1;
}

/* Runs argv to its end (see job_spawn); returns its exit code or -1. */
static int run_cmd(const char *const *argv, int timeout_s, char *out,
		   size_t outsz)
{
	struct sbx_job j;

	if (job_spawn(&j, argv, timeout_s, out, outsz) < 0)
		return -1;
	return sbx_job_finish(&j);
}

/* Prints a failed command and what it printed. */
static void report(const char *what, const char *out)
{
	size_t n = strlen(out);

	if (!n)
		fprintf(stderr, "pg_cluster: %s failed\n", what);
	else
		fprintf(stderr, "pg_cluster: %s failed:\n%s%s", what, out,
			out[n - 1] == '\n' ? "" : "\n");
}

/* ---- folders -------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rmtree(const char *dir)
{
	if (dir[0])
		nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

/*
 * Where the folders go: /dev/shm when it is a roomy memory file system
 * (copying the 39 MB template there takes 0.08 s instead of 0.7 s on this
 * machine's disk, and initdb is faster too), else /tmp. Containers often
 * give /dev/shm only 64 MB, which is why its free space is checked.
 * PGC_DIR in the environment chooses another (short, world-searchable) one.
 */
static const char *base_dir(size_t n)
{
	const char *env = getenv("PGC_DIR");
	struct statvfs vfs;
	unsigned long long need =
		(n + 1) * 128ULL * 1024 * 1024 + (512ULL << 20);

	if (env && env[0])
		return env;
	if (statvfs("/dev/shm", &vfs) == 0 && access("/dev/shm", W_OK) == 0 &&
	    (unsigned long long)vfs.f_bavail * vfs.f_frsize >= need)
		return "/dev/shm";
	return "/tmp";
}

/* Makes a fresh BASE/pgc-XXXXXX folder owned by postgres into dir. */
static int make_dir(const char *base, char *dir, size_t size, uid_t uid,
		    gid_t gid)
{
	char tmpl[64];

	snprintf(tmpl, sizeof(tmpl), "%s/pgc-XXXXXX", base);

	if (!mkdtemp(tmpl)) {
		fprintf(stderr,
			"pg_cluster: cannot create a folder in '%s': %s\n",
			base, strerror(errno));
		return -1;
	}
	snprintf(dir, size, "%s", tmpl);
	if (chown(dir, uid, gid) < 0) {
		fprintf(stderr,
			"pg_cluster: cannot chown '%s' to postgres: %s\n", dir,
			strerror(errno));
		rmdir(dir);
		dir[0] = '\0';
		return -1;
	}
	return 0;
}

/* ---- one server ----------------------------------------------------- */

/* Reads the postmaster's pid from dir/data/postmaster.pid (0 if none). */
static pid_t read_pid(const char *dir)
{
	/* Async-signal-safe: no stdio, no malloc. */
	char path[300], buf[32];
	size_t dl = strlen(dir);
	const char *tail = "/data/postmaster.pid";
	size_t tl = strlen(tail);
	ssize_t n;
	pid_t pid = 0;
	int fd;

	if (dl + tl + 1 > sizeof(path))
		return 0;
	memcpy(path, dir, dl);
	memcpy(path + dl, tail, tl + 1);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		pid = pid * 10 + (buf[i] - '0');
	return pid;
}

/* Whether pid is alive and is a postgres process (not a reused pid). */
static bool is_postmaster(pid_t pid)
{
	/* Async-signal-safe: formats /proc/PID/comm by hand. */
	char path[64] = "/proc/", digits[16], comm[16];
	int fd, i = 6, nd = 0;
	ssize_t n;

	if (pid <= 1 || kill(pid, 0) < 0)
		return false;
	for (pid_t p = pid; p > 0 && nd < 15; p /= 10)
		digits[nd++] = (char)('0' + p % 10);
	while (nd > 0)
		path[i++] = digits[--nd];
	memcpy(path + i, "/comm", 6);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return true; /* no /proc: trust kill() */
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	return n >= 8 && memcmp(comm, "postgres", 8) == 0;
}

static bool is_running(const struct pgc_cluster *c)
{
	return is_postmaster(read_pid(c->dir));
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

/*
 * Says whether the server log from offset on shows that the port was
 * taken; when it does not, prints that part of the log (its last 3 kB).
 */
static bool report_log(const struct pgc_cluster *c, off_t from)
{
	char path[300], buf[3072];
	bool port_taken = false;
	off_t size;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/server.log", c->dir);
	f = fopen(path, "r");
	if (!f)
		return false;
	size = file_size(path);
	if (size - from > (off_t)sizeof(buf) - 1)
		from = size - (off_t)sizeof(buf) + 1;
	fseeko(f, from, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	port_taken = strstr(buf, "Address already in use") ||
		     strstr(buf, "could not create any TCP/IP sockets");
	if (!port_taken)
		fprintf(stderr, "pg_cluster: %s/server.log:\n%s\n", c->dir,
			buf);
	return port_taken;
}

/*
 * Fills ports with n distinct ports of 127.0.0.1 that were free a moment
 * ago: the kernel picks each (bind to port 0), and the sockets stay open
 * until all are picked so none repeats. Returns 0 or -1 (printed).
 */
static int free_ports(int *ports, size_t n)
{
	int socks[PGC_MAX_CLUSTERS];
	int rc = 0;
	size_t k = 0;

	assert(n <= PGC_MAX_CLUSTERS);
	for (; k < n; k++) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socks[k] = socket(AF_INET, SOCK_STREAM, 0);
		if (socks[k] < 0 ||
		    bind(socks[k], (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(socks[k], (struct sockaddr *)&a, &len) < 0) {
			fprintf(stderr, "pg_cluster: no free port: %s\n",
				strerror(errno));
			rc = -1;
			if (socks[k] >= 0)
				close(socks[k]);
			break;
		}
		ports[k] = ntohs(a.sin_port);
	}
	while (k > 0)
		close(socks[--k]);
	return rc;
}

/* pg_ctl stop in the given mode; returns pg_ctl's exit code. */
static int pg_ctl_stop(const struct pgc_cluster *c, const char *mode, char *out,
		       size_t outsz)
{
	char data[300];
	const char *argv[] = {RUNUSER, "-u", "postgres", "--", PG_CTL,
			      "-D",    data, "-m",	 mode, "-w",
			      "-t",    "60", "stop",	 NULL};

	snprintf(data, sizeof(data), "%s/data", c->dir);
	return run_cmd(argv, T_PG_CTL, out, outsz);
}

/* A `pg_ctl start` in flight. */
struct start {
	struct sbx_job job;
	off_t log_from;
	char out[4096];
};

/* Spawns `pg_ctl start` for c on c->port; returns 0 or -1 (printed). */
static int start_spawn(struct pgc_cluster *c, struct start *st)
{
	char data[300], logf[300], opts[512];
	const char *argv[] = {RUNUSER, "-u", "postgres", "--", PG_CTL, "-D",
			      data,    "-l", logf,	 "-w", "-t",   "60",
			      "-o",    opts, "start",	 NULL};

	snprintf(data, sizeof(data), "%s/data", c->dir);
	snprintf(logf, sizeof(logf), "%s/server.log", c->dir);
	/* pg_ctl hands -o to a shell: c->dir is [A-Za-z0-9/-] only. */
	snprintf(opts, sizeof(opts),
		 "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off "
		 "-c synchronous_commit=off -c full_page_writes=off "
		 "-c max_connections=100",
		 c->port, c->dir);
	snprintf(c->dsn, sizeof(c->dsn),
		 "postgresql://postgres@127.0.0.1:%d/postgres", c->port);
	st->log_from = file_size(logf);
	if (job_spawn(&st->job, argv, T_PG_CTL, st->out, sizeof(st->out)) < 0) {
		report("pg_ctl start", st->out);
		return -1;
	}
	return 0;
}

/*
 * Waits for a spawned start. Returns 0 when the server accepts
 * connections, 1 when its port was taken (worth another port), -1 on other
 * failures (printed with the server log).
 */
static int start_finish(struct pgc_cluster *c, struct start *st)
{
	bool port_taken;

	if (sbx_job_finish(&st->job) == 0)
		return 0;
	/* A server that did not get ready in time may still be running. */
	if (is_running(c)) {
		char out2[1024];

		pg_ctl_stop(c, "immediate", out2, sizeof(out2));
	}
	port_taken = report_log(c, st->log_from);
	if (port_taken)
		fprintf(stderr, "pg_cluster: port %d was taken\n", c->port);
	else
		report("pg_ctl start", st->out);
	return port_taken ? 1 : -1;
}

/* One attempt to start c on c->port (see start_finish). */
static int start_once(struct pgc_cluster *c)
{
	struct start st;

	if (start_spawn(c, &st) < 0)
		return -1;
	return start_finish(c, &st);
}

/* Starts c on a fresh free port, trying a few ports. */
static int start_new_port(struct pgc_cluster *c)
{
	for (int i = 0; i < START_ATTEMPTS; i++) {
		int rc;

		if (free_ports(&c->port, 1) < 0)
			return -1;
		rc = start_once(c);
		if (rc <= 0)
			return rc;
	}
	fprintf(stderr, "pg_cluster: no port worked in %d attempts\n",
		START_ATTEMPTS);
	return -1;
}

/*
 * Starts all n clusters at once (pg_ctl -w mostly waits), then retries on
 * new ports, one at a time, those whose port was taken meanwhile.
 */
static int start_all(struct pgc_cluster *c, size_t n)
{
	struct start *st = calloc(n, sizeof(*st));
	int *rc = calloc(n, sizeof(*rc));
	int *ports = calloc(n, sizeof(*ports));
	int ret = -1;

	if (!st || !rc || !ports) {
		fprintf(stderr, "pg_cluster: out of memory\n");
		goto out;
	}
	if (free_ports(ports, n) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		c[i].port = ports[i];
		rc[i] = start_spawn(&c[i], &st[i]) < 0 ? -1 : 2;
	}
	for (size_t i = 0; i < n; i++)
		if (rc[i] == 2)
			rc[i] = start_finish(&c[i], &st[i]);
	ret = 0;
	for (size_t i = 0; i < n; i++) {
		if (rc[i] == 1)
			rc[i] = start_new_port(&c[i]);
		if (rc[i] != 0)
			ret = -1;
	}
out:
	free(st);
	free(rc);
	free(ports);
	return ret;
}

/* Stops c if it runs: fast, then immediate, then SIGKILL. */
static void stop_cluster(const struct pgc_cluster *c)
{
	char out[4096];
	pid_t pid = read_pid(c->dir);

	if (!is_postmaster(pid))
		return;
	if (pg_ctl_stop(c, "fast", out, sizeof(out)) == 0)
		return;
	report("pg_ctl stop -m fast", out);
	if (pg_ctl_stop(c, "immediate", out, sizeof(out)) == 0)
		return;
	report("pg_ctl stop -m immediate", out);
	if (is_postmaster(pid)) {
		kill(pid, SIGKILL);
		for (int i = 0; i < 500 && kill(pid, 0) == 0; i++)
			sbx_sleep_ms(10);
	}
}

/*
 * Stops every cluster of set (fast shutdowns all at once, then one by one
 * for any that resisted) and removes the folders.
 */
static void stop_and_remove(struct pgc_set *set)
{
	struct sbx_job jobs[PGC_MAX_CLUSTERS];
	char outs[PGC_MAX_CLUSTERS][512];

	assert(set->n <= PGC_MAX_CLUSTERS);
	for (size_t i = 0; i < set->n; i++) {
		struct pgc_cluster *c = &set->c[i];
		char data[300];
		const char *argv[] = {RUNUSER, "-u", "postgres", "--",	 PG_CTL,
				      "-D",    data, "-m",	 "fast", "-w",
				      "-t",    "60", "stop",	 NULL};

		jobs[i].pid = -1;
		if (!is_running(c))
			continue;
		snprintf(data, sizeof(data), "%s/data", c->dir);
		if (job_spawn(&jobs[i], argv, T_PG_CTL, outs[i],
			      sizeof(outs[i])) < 0)
			jobs[i].pid = -1;
	}
	for (size_t i = 0; i < set->n; i++)
		if (jobs[i].pid > 0)
			sbx_job_finish(&jobs[i]);
	for (size_t i = 0; i < set->n; i++) {
		stop_cluster(&set->c[i]);
		rmtree(set->c[i].dir);
	}
	rmtree(set->template_dir);
}

/* ---- safety nets ---------------------------------------------------- */

/* Async-signal-safe: asks each postmaster of the owner's sets to stop. */
static void signal_stop_all(void)
{
	pid_t me = getpid();

	for (size_t s = 0; s < PGC_MAX_SETS; s++) {
		struct pgc_set *set = registry[s];

		if (!set || set->owner != me)
			continue;
		for (size_t i = 0; i < set->n; i++) {
			pid_t pid = read_pid(set->c[i].dir);

			if (is_postmaster(pid))
				kill(pid, SIGINT);
		}
	}
}

static void on_fatal_signal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)uc;
	signal_stop_all();
	for (size_t i = 0; i < N_FATAL; i++)
		if (fatal_signals[i] == sig)
			sigaction(sig, &old_actions[i], NULL);
	/*
	 * A real fault returns to the faulting instruction, which faults again
	 * into the previous handler (ASan's or the default); a sent signal is
	 * raised again, delivered once this handler returns.
	 */
	if (si->si_code <= 0 ||
	    (sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE && sig != SIGILL))
		raise(sig);
	errno = saved;
}

static void at_exit(void)
{
	pid_t me = getpid();

	for (size_t s = 0; s < PGC_MAX_SETS; s++)
		if (registry[s] && registry[s]->owner == me)
			pgc_stop_all(registry[s]);
}

#ifdef PGC_SANITIZED
/* ASan or UBSan is about to end the process (possibly with _exit). */
static void on_sanitizer_death(void)
{
	signal_stop_all();
}
#endif

static void install_handlers(void)
{
	struct sigaction sa;

	if (handlers_installed)
		return;
	handlers_installed = 1;
	atexit(at_exit);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fatal_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_FATAL; i++)
		sigaction(fatal_signals[i], &sa, &old_actions[i]);
#ifdef PGC_SANITIZED
	__sanitizer_set_death_callback(on_sanitizer_death);
#endif
}

static int register_set(struct pgc_set *set)
{
	install_handlers();
	for (size_t s = 0; s < PGC_MAX_SETS; s++) {
		if (!registry[s]) {
			registry[s] = set;
			return 0;
		}
	}
	fprintf(stderr, "pg_cluster: more than %d sets at once\n",
		PGC_MAX_SETS);
	return -1;
}

static void unregister_set(struct pgc_set *set)
{
	for (size_t s = 0; s < PGC_MAX_SETS; s++)
		if (registry[s] == set)
			registry[s] = NULL;
}

/*
 * Forks the guard: in its own session, it waits on a pipe whose only
 * writer is the owner (close-on-exec keeps it out of every server). A 'q'
 * means the owner cleaned up; end-of-file means the owner is gone.
 */
static int spawn_guard(struct pgc_set *set)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0) {
		fprintf(stderr, "pg_cluster: pipe: %s\n", strerror(errno));
		return -1;
	}
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "pg_cluster: fork: %s\n", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		pid_t owner = getppid();
		int devnull = open("/dev/null", O_RDWR);
		char b;
		ssize_t r;

		setsid();
		for (size_t i = 0; i < N_FATAL; i++)
			signal(fatal_signals[i], SIG_DFL);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		close_from_3(p[0]);
		do
			r = read(p[0], &b, 1);
		while (r < 0 && errno == EINTR);
		if (r == 1)
			_exit(0);
		fprintf(stderr,
			"pg_cluster: process %ld ended without stopping its "
			"clusters; the guard stops them\n",
			(long)owner);
		stop_and_remove(set);
		_exit(0);
	}
	close(p[0]);
	set->guard_fd = p[1];
	set->guard_pid = pid;
	return 0;
}

static void end_guard(struct pgc_set *set)
{
	if (set->guard_fd >= 0) {
		ssize_t r;

		do
			r = write(set->guard_fd, "q", 1);
		while (r < 0 && errno == EINTR);
		close(set->guard_fd);
		set->guard_fd = -1;
	}
	if (set->guard_pid > 0 && set->owner == getpid()) {
		for (int i = 0; i < 500; i++) {
			if (waitpid(set->guard_pid, NULL, WNOHANG) != 0)
				break;
			sbx_sleep_ms(10);
		}
	}
	set->guard_pid = 0;
}

/* Copies the template data folder into each cluster, all at once. */
static int copy_template(struct pgc_set *set, const char *data)
{
	struct sbx_job *jobs = calloc(set->n, sizeof(*jobs));
	char(*outs)[1024] = calloc(set->n, sizeof(*outs));
	int rc = 0;

	if (!jobs || !outs) {
		fprintf(stderr, "pg_cluster: out of memory\n");
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < set->n; i++) {
		char dst[300];
		const char *cp[] = {"/bin/cp", "-a", data, dst, NULL};

		snprintf(dst, sizeof(dst), "%s/data", set->c[i].dir);
		if (job_spawn(&jobs[i], cp, T_COPY, outs[i], sizeof(outs[i])) <
		    0)
			jobs[i].pid = -1;
	}
	for (size_t i = 0; i < set->n; i++) {
		if (jobs[i].pid < 0 || sbx_job_finish(&jobs[i]) != 0) {
			report("cp -a of the template", outs[i]);
			rc = -1;
		}
	}
out:
	free(jobs);
	free(outs);
	return rc;
}

/* ---- API -------------------------------------------------------------- */

int pgc_start(struct pgc_set *set, size_t n)
{
	char data[300], out[4096];
	const char *initdb[] = {RUNUSER,
				"-u",
				"postgres",
				"--",
				PGC_BINDIR "/initdb",
				"-D",
				data,
				"-U",
				"postgres",
				"--auth=trust",
				"--no-sync",
				"-E",
				"UTF8",
				"--locale=C.UTF-8",
				NULL};
	struct passwd *pw;
	const char *base;
	uid_t uid;
	gid_t gid;

	memset(set, 0, sizeof(*set));
	set->guard_fd = -1;
	if (!pgc_available()) {
		fprintf(stderr, "pg_cluster: %s\n", PGC_UNAVAILABLE_MSG);
		return -1;
	}
	if (n == 0 || n > PGC_MAX_CLUSTERS) {
		fprintf(stderr,
			"pg_cluster: asked for %zu clusters (1 to %d)\n", n,
			PGC_MAX_CLUSTERS);
		return -1;
	}
	pw = getpwnam("postgres");
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	set->c = calloc(n, sizeof(*set->c));
	if (!set->c) {
		fprintf(stderr, "pg_cluster: out of memory\n");
		return -1;
	}
	/* Every folder exists before the guard forks, so it knows them all. */
	base = base_dir(n);
	if (make_dir(base, set->template_dir, sizeof(set->template_dir), uid,
		     gid) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (make_dir(base, set->c[i].dir, sizeof(set->c[i].dir), uid,
			     gid) < 0)
			goto fail;
		set->n++;
	}
	set->owner = getpid();
	if (spawn_guard(set) < 0 || register_set(set) < 0)
		goto fail;

	snprintf(data, sizeof(data), "%s/data", set->template_dir);
	if (run_cmd(initdb, T_INITDB, out, sizeof(out)) != 0) {
		report("initdb", out);
		goto fail;
	}
	if (copy_template(set, data) < 0 || start_all(set->c, n) < 0)
		goto fail;
	return 0;
fail:
	pgc_stop_all(set);
	return -1;
}

void pgc_stop_one(struct pgc_set *set, size_t i)
{
	if (i < set->n)
		stop_cluster(&set->c[i]);
}

int pgc_restart_one(struct pgc_set *set, size_t i)
{
	struct pgc_cluster *c;

	if (i >= set->n) {
		fprintf(stderr, "pg_cluster: no cluster %zu\n", i);
		return -1;
	}
	c = &set->c[i];
	if (is_running(c))
		return 0;
	/* The port may be held for a moment by a client; try a few times. */
	for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
		int rc = start_once(c);

		if (rc <= 0)
			return rc;
		sbx_sleep_ms(250);
	}
	fprintf(stderr,
		"pg_cluster: cannot restart '%s': port %d stays taken\n",
		c->dir, c->port);
	return -1;
}

void pgc_stop_all(struct pgc_set *set)
{
	/* Unregister first: a signal now must not touch a half-freed set. */
	unregister_set(set);
	if (set->c)
		stop_and_remove(set);
	else
		rmtree(set->template_dir);
	end_guard(set);
	free(set->c);
	memset(set, 0, sizeof(*set));
	set->guard_fd = -1;
}

static PGconn *connect_to(const struct pgc_cluster *c)
{
	static const char *const keys[] = {"dbname", "connect_timeout",
					   "sslmode", NULL};
	const char *vals[] = {c->dsn, CONNECT_TIMEOUT, "disable", NULL};

	return PQconnectdbParams(keys, vals, 1);
}

int pgc_exec(const struct pgc_cluster *c, const char *sql)
{
	PGconn *conn = connect_to(c);
	PGresult *res = NULL;
	int rc = -1;

	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "pg_cluster: cannot connect to '%s': %s",
			c->dsn, PQerrorMessage(conn));
		goto out;
	}
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "pg_cluster: '%s' failed on port %d: %s", sql,
			c->port, PQerrorMessage(conn));
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	PQfinish(conn);
	return rc;
}

char *pgc_query_value(const struct pgc_cluster *c, const char *sql)
{
	PGconn *conn = connect_to(c);
	PGresult *res = NULL;
	char *value = NULL;

	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "pg_cluster: cannot connect to '%s': %s",
			c->dsn, PQerrorMessage(conn));
		goto out;
	}
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "pg_cluster: '%s' failed on port %d: %s", sql,
			c->port, PQerrorMessage(conn));
		goto out;
	}
	if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
		value = strdup(PQgetvalue(res, 0, 0));
out:
	PQclear(res);
	PQfinish(conn);
	return value;
}

bool pgc_ping(const struct pgc_cluster *c)
{
	static const char *const keys[] = {"dbname", "connect_timeout",
					   "sslmode", NULL};
	const char *vals[] = {c->dsn, "5", "disable", NULL};

	return c->port > 0 && PQpingParams(keys, vals, 1) == PQPING_OK;
}
