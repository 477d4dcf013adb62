/*
 * sandbox_world.c: the sandbox fixture of sandbox_world.h — `sandbox up`
 * once per suite, and `sandbox down` on every way out of the runner.
 */
#define _XOPEN_SOURCE 700
#include "sandbox_world.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

char sw_dir[128];
double sw_up_seconds;
int sw_up_rc = -1;

static char root[64];
static char *up_err;

/* For the clean-up paths that cannot allocate (signal handler, guard). */
static char bin_path[4096];
static const char *down_argv[6];
static pid_t owner;
static int guard_fd = -1;
static volatile sig_atomic_t cleaned;

double sw_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sw_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* `phasegate sandbox down`, bounded to 60 s; async-signal-safe. */
static void run_down_raw(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		if (devnull >= 0)
			dup2(devnull, 1);
		execv(bin_path, (char *const *)down_argv);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 6000; i++) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			break;
		sw_sleep_ms(10);
	}
}

static void cleanup(void)
{
	char *out = NULL, *err = NULL;
	const char *argv[] = {"sandbox", "down", "--dir", sw_dir, NULL};

	if (cleaned || getpid() != owner || !sw_dir[0])
		return;
	cleaned = 1;
	if (th_run("/tmp", argv, &out, &err) != 0)
		fprintf(stderr, "sandbox down failed: %s\n", err ? err : "");
	free(out);
	free(err);
	rmdir(root);
	if (guard_fd >= 0) {
		ssize_t r = write(guard_fd, "q", 1);

		(void)r;
		close(guard_fd);
		guard_fd = -1;
	}
}

static const int fatal_signals[] = {SIGABRT, SIGSEGV, SIGBUS,
				    SIGTERM, SIGINT,  SIGHUP};
#define N_FATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))
static struct sigaction old_actions[N_FATAL];

static void on_fatal(int sig)
{
	if (!cleaned && getpid() == owner) {
		cleaned = 1;
		run_down_raw();
	}
	for (size_t i = 0; i < N_FATAL; i++)
		if (fatal_signals[i] == sig)
			sigaction(sig, &old_actions[i], NULL);
	raise(sig);
}

/* The guard: end-of-file on the pipe without a 'q' runs `down`. */
static void spawn_guard(void)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return;
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		char b;
		ssize_t r;

		setsid();
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		close(p[1]);
		do
			r = read(p[0], &b, 1);
		while (r < 0 && errno == EINTR);
		if (r != 1) {
			run_down_raw();
			rmdir(root);
		}
		_exit(0);
	}
	close(p[0]);
	guard_fd = pid > 0 ? p[1] : -1;
	if (pid < 0)
		close(p[1]);
}

void sw_up(void)
{
	struct sigaction sa;
	char migrations[4096];
	const char *argv[] = {"sandbox",      "up",	  "--dir", sw_dir,
			      "--migrations", migrations, NULL};
	const char *bin = getenv("PHG_BINARY");
	char *out = NULL;
	double t0;

	owner = getpid();
	snprintf(bin_path, sizeof(bin_path), "%s", bin ? bin : "phasegate");
	snprintf(root, sizeof(root), "/tmp/phg-sbx-XXXXXX");
	if (!mkdtemp(root)) {
		root[0] = '\0';
		return;
	}
	/* PostgreSQL runs as postgres: let it reach the sandbox folder. */
	chmod(root, 0755);
	snprintf(sw_dir, sizeof(sw_dir), "%s/s", root);
	down_argv[0] = bin_path;
	down_argv[1] = "sandbox";
	down_argv[2] = "down";
	down_argv[3] = "--dir";
	down_argv[4] = sw_dir;
	down_argv[5] = NULL;
	snprintf(migrations, sizeof(migrations), "%s",
		 th_src_path("migrations"));
	spawn_guard();
	atexit(cleanup);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_FATAL; i++)
		sigaction(fatal_signals[i], &sa, &old_actions[i]);
	t0 = sw_now();
	sw_up_rc = th_run("/tmp", argv, &out, &up_err);
	sw_up_seconds = sw_now() - t0;
	printf("sandbox: up in %.2f s (exit %d)\n", sw_up_seconds, sw_up_rc);
	if (sw_up_rc != 0)
		fprintf(stderr, "sandbox up failed:\n%s%s\n", out ? out : "",
			up_err ? up_err : "");
	free(out);
	fflush(stdout);
}

void sw_down(void)
{
	cleanup();
	free(up_err);
	up_err = NULL;
}

void sw_require_up(void)
{
	ck_assert_msg(root[0], "cannot create a temporary folder in /tmp");
	ck_assert_msg(sw_up_rc == 0,
		      "phasegate sandbox up failed (exit %d): %s", sw_up_rc,
		      up_err ? up_err : "");
}

static int jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valueint : 0;
}

static long jpid(const cJSON *o, const char *key)
{
	return (long)jnum(cJSON_GetObjectItemCaseSensitive(o, key), "pid");
}

void sw_read_info(struct sw_info *in)
{
	char path[256];
	char *text;
	cJSON *j;
	const cJSON *regions, *r, *v;
	int i = 0;

	memset(in, 0, sizeof(*in));
	snprintf(path, sizeof(path), "%s/sandbox.json", sw_dir);
	text = th_slurp(path);
	ck_assert_msg(text != NULL, "no state file '%s'", path);
	j = cJSON_Parse(text);
	free(text);
	ck_assert_msg(j != NULL, "'%s' is not JSON", path);
	in->prom = jnum(j, "prometheus_port");
	in->prom_pid = jpid(j, "prometheus");
	v = cJSON_GetObjectItemCaseSensitive(j, "pgroot");
	if (cJSON_IsString(v))
		snprintf(in->pgroot, sizeof(in->pgroot), "%s", v->valuestring);
	regions = cJSON_GetObjectItemCaseSensitive(j, "regions");
	cJSON_ArrayForEach(r, regions)
	{
		ck_assert_int_lt(i, SW_NREGIONS);
		v = cJSON_GetObjectItemCaseSensitive(r, "name");
		if (cJSON_IsString(v))
			snprintf(in->r[i].name, sizeof(in->r[i].name), "%s",
				 v->valuestring);
		in->r[i].pg = jnum(r, "postgres_port");
		in->r[i].blue = jnum(r, "blue_port");
		in->r[i].green = jnum(r, "green_port");
		in->r[i].slots = jnum(r, "slots_port");
		in->r[i].lb = jnum(r, "balancer_port");
		in->r[i].mtail = jnum(r, "mtail_port");
		in->r[i].pids[0] = jpid(r, "postgres");
		in->r[i].pids[1] = jpid(r, "backends");
		in->r[i].pids[2] = jpid(r, "balancer");
		in->r[i].pids[3] = jpid(r, "mtail");
		i++;
	}
	cJSON_Delete(j);
	ck_assert_int_eq(i, SW_NREGIONS);
}

/* Runs argv (full path first) to its end, bounded to 30 s. */
static int run_argv(const char *const *argv)
{
	double deadline = sw_now() + 30;
	int status = 0;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (sw_now() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		sw_sleep_ms(20);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Whether the process is gone (no /proc entry, or a zombie). */
bool sw_pid_gone(long pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool gone = true;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) != NULL)
		gone = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	fclose(f);
	return gone;
}

/* The live (not zombie) children of pid: nginx's workers. */
size_t sw_children_of(long pid, long *out, size_t cap)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		long child = strtol(e->d_name, NULL, 10), ppid = 0;
		char path[64], buf[512], *p, state = '?';
		FILE *f;

		if (child <= 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", child);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 1, " %c %ld", &state, &ppid) == 2 &&
		    ppid == pid && state != 'Z' && n < cap)
			out[n++] = child;
		fclose(f);
	}
	closedir(d);
	return n;
}

void sw_set_weights(const struct sw_region *r, int green_percent)
{
	char lb[256], conf[320], errlog[320], text[512], bs[32], gs[32];
	const char *test[] = {"/usr/sbin/nginx",
			      "-t",
			      "-q",
			      "-p",
			      lb,
			      "-c",
			      conf,
			      "-e",
			      errlog,
			      NULL};
	const char *reload[] = {
		"/usr/sbin/nginx", "-p", lb, "-c", conf, "-e", errlog, "-s",
		"reload",	   NULL};
	int blue = 100 - green_percent;
	long old[64];
	size_t nold;
	double deadline;

	snprintf(lb, sizeof(lb), "%s/%s/lb", sw_dir, r->name);
	snprintf(conf, sizeof(conf), "%s/conf/lb.conf", lb);
	snprintf(errlog, sizeof(errlog), "%s/logs/error.log", lb);
	if (blue > 0)
		snprintf(bs, sizeof(bs), "weight=%d", blue);
	else
		snprintf(bs, sizeof(bs), "down");
	if (green_percent > 0)
		snprintf(gs, sizeof(gs), "weight=%d", green_percent);
	else
		snprintf(gs, sizeof(gs), "down");
	snprintf(text, sizeof(text),
		 "upstream app {\n    server 127.0.0.1:%d %s;\n    server "
		 "127.0.0.1:%d %s;\n}\n",
		 r->blue, bs, r->green, gs);
	th_write_str(lb, "conf/upstream.conf", text);
	ck_assert_int_eq(run_argv(test), 0);
	nold = sw_children_of(r->pids[2], old, 64);
	ck_assert_int_gt(nold, 0);
	ck_assert_int_eq(run_argv(reload), 0);
	deadline = sw_now() + 15;
	for (size_t i = 0; i < nold; i++) {
		while (!sw_pid_gone(old[i]) && sw_now() < deadline)
			sw_sleep_ms(20);
		ck_assert_msg(sw_pid_gone(old[i]),
			      "an old balancer worker still runs 15 s after "
			      "the reload");
	}
}
