/*
 * command.c: the command provider — runs argv (never a shell) in its own
 * process group, with extra environment (PHASEGATE_RELEASE/PHASEGATE_STEP),
 * captures stdout and stderr through one pipe read with poll(), keeps a
 * bounded part of it, and kills the whole group when the timeout expires.
 * A second close-on-exec pipe carries exec's errno back, so a missing
 * binary is an error and not an exit code 127.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define CMD_DEFAULT_LIMIT ((size_t)64 * 1024)
#define CMD_KILL_GRACE_MS 2000LL
#define CMD_DRAIN_MS 200LL

long long pv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Length of the NAME part of "NAME=value" (the whole string without =). */
static size_t env_name_len(const char *e)
{
	const char *eq = strchr(e, '=');

	return eq ? (size_t)(eq - e) : strlen(e);
}

static bool env_overridden(const char *e, char *const *extra)
{
	size_t n = env_name_len(e);

	for (size_t i = 0; extra && extra[i]; i++)
		if (env_name_len(extra[i]) == n && strncmp(extra[i], e, n) == 0)
			return true;
	return false;
}

/*
 * The child's environment: the inherited one, minus the names extra sets,
 * plus extra. The strings are borrowed; the caller frees the array.
 */
static char **build_env(char *const *extra)
{
	size_t n = 0, nextra = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	while (extra && extra[nextra])
		nextra++;
	env = calloc(n + nextra + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!env_overridden(environ[i], extra))
			env[k++] = environ[i];
	for (size_t i = 0; i < nextra; i++)
		env[k++] = extra[i];
	env[k] = NULL;
	return env;
}

/*
 * Finds argv0 in PATH as execvp would (argv0 with a '/' is used as is).
 * Returns a malloc'd path, or NULL with errno ENOENT/EACCES/ENOMEM.
 */
static char *resolve_path(const char *argv0)
{
	const char *path = getenv("PATH");
	int saved = ENOENT;

	if (strchr(argv0, '/'))
		return phg_strdup(argv0);
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t len = colon ? (size_t)(colon - path) : strlen(path);
		/* An empty entry means the current folder. */
		char *cand =
			len ? phg_asprintf("%.*s/%s", (int)len, path, argv0)
			    : phg_asprintf("./%s", argv0);
		struct stat st;

		if (!cand) {
			errno = ENOMEM;
			return NULL;
		}
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(cand, X_OK) == 0)
				return cand;
			saved = EACCES;
		}
		free(cand);
		path += len;
		if (*path == ':')
			path++;
	}
	errno = saved;
	return NULL;
}

static int set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* In the child, after fork: only async-signal-safe calls. */
static void child_exec(const char *file, char *const *argv, char **env,
		       const char *dir, int out_fd, int errpipe)
{
	sigset_t none;
	int devnull, e[2] = {0, 0};

	setpgid(0, 0);
	/* A caller with stdout closed may get the pipe as fd 1 or 2: move it
	   up, so dup2 below really clears close-on-exec. */
	if (out_fd <= STDERR_FILENO)
		out_fd = fcntl(out_fd, F_DUPFD, STDERR_FILENO + 1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* An ignored SIGPIPE or SIGTERM would be inherited across exec. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0 && devnull != STDIN_FILENO) {
		dup2(devnull, STDIN_FILENO);
		close(devnull);
	}
	if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)
		goto fail;
	if (out_fd != STDOUT_FILENO && out_fd != STDERR_FILENO)
		close(out_fd);
	if (dir && chdir(dir) != 0) {
		e[0] = 1; /* the folder, not the program */
		goto fail;
	}
	execve(file, argv, env);
fail:
	e[1] = errno;
	if (write(errpipe, e, sizeof(e)) < 0) {
		/* nothing more can be done in the child */
	}
	_exit(127);
}

/* Appends what fits under limit to the result, counts the rest. */
static int keep_output(struct phg_command_result *res, size_t *cap,
		       size_t limit, const char *data, size_t n)
{
	size_t room = limit > res->output_len ? limit - res->output_len : 0;
	size_t take = n < room ? n : room;

	if (take) {
		if (res->output_len + take + 1 > *cap) {
			size_t ncap = *cap ? *cap : 4096;
			char *p;

			while (ncap < res->output_len + take + 1)
				ncap *= 2;
			if (ncap > limit + 1)
				ncap = limit + 1;
			p = realloc(res->output, ncap);
			if (!p)
				return PHG_ENOMEM;
			res->output = p;
			*cap = ncap;
		}
		memcpy(res->output + res->output_len, data, take);
		res->output_len += take;
		res->output[res->output_len] = '\0';
	}
	res->output_dropped += n - take;
	return 0;
}

/* Reads what is available on fd; returns 1 at EOF, 0 otherwise, <0 error. */
static int drain(int fd, struct phg_command_result *res, size_t *cap,
		 size_t limit)
{
	char chunk[8192];

	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r > 0) {
			if (keep_output(res, cap, limit, chunk, (size_t)r) < 0)
				return PHG_ENOMEM;
			continue;
		}
		if (r == 0)
			return 1;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return 1; /* a read error ends the capture */
	}
}

static void record_status(struct phg_command_result *res, int status)
{
	if (WIFEXITED(status)) {
		res->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->exit_code = -1;
		res->signal = WTERMSIG(status);
	}
}

int phg_command_run(const struct phg_command *cmd,
		    const struct phg_call_ctx *ctx,
		    struct phg_command_result *res, struct phg_err *err)
{
	char *extra[64 + 3] = {0};
	char *owned[2] = {0};
	char **env = NULL;
	char *file = NULL;
	int out[2] = {-1, -1}, ep[2] = {-1, -1};
	size_t limit, cap = 0, nextra = 0;
	long long t0 = pv_now_ms(), deadline, kill_at = 0;
	bool eof = false, exited = false, termed = false;
	long long exited_at = 0;
	pid_t pid;
	int rc = 0, status = 0, child_err[2] = {0, 0};
	ssize_t r;

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (!cmd || !cmd->argv || !cmd->argv[0] || !cmd->argv[0][0])
		return phg_err_set(err, PHG_ECONFIG, "command has no argv");
	limit = cmd->output_limit ? cmd->output_limit : CMD_DEFAULT_LIMIT;
	deadline = t0 + (cmd->timeout_ms > 0 ? cmd->timeout_ms
					     : PV_DEFAULT_TIMEOUT_MS * 6);

	for (size_t i = 0; cmd->env && cmd->env[i]; i++) {
		if (nextra >= 64) {
			return phg_err_set(err, PHG_ECONFIG,
					   "command '%s': more than 64 "
					   "environment entries",
					   cmd->argv[0]);
		}
		if (!strchr(cmd->env[i], '='))
			return phg_err_set(err, PHG_ECONFIG,
					   "command '%s': environment entry "
					   "without '=' (entry %zu)",
					   cmd->argv[0], i + 1);
		extra[nextra++] = cmd->env[i];
	}
	if (ctx && ctx->release) {
		owned[0] = phg_asprintf("PHASEGATE_RELEASE=%s", ctx->release);
		if (!owned[0])
			goto nomem;
		extra[nextra++] = owned[0];
	}
	if (ctx && ctx->step) {
		owned[1] = phg_asprintf("PHASEGATE_STEP=%s", ctx->step);
		if (!owned[1])
			goto nomem;
		extra[nextra++] = owned[1];
	}
	env = build_env(extra);
	if (!env)
		goto nomem;
	file = resolve_path(cmd->argv[0]);
	if (!file) {
		if (errno == ENOMEM)
			goto nomem;
		rc = phg_err_set(err, PHG_ERUNTIME, "cannot run '%s': %s",
				 cmd->argv[0],
				 errno == EACCES ? "permission denied"
						 : "not found in PATH");
		goto out;
	}
	if (pipe(out) != 0 || pipe(ep) != 0 || set_cloexec(out[0]) != 0 ||
	    set_cloexec(out[1]) != 0 || set_cloexec(ep[0]) != 0 ||
	    set_cloexec(ep[1]) != 0) {
		rc = phg_err_set(err, PHG_ERUNTIME, "cannot run '%s': pipe: %s",
				 cmd->argv[0], strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = phg_err_set(err, PHG_ERUNTIME, "cannot run '%s': fork: %s",
				 cmd->argv[0], strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(file, cmd->argv, env, cmd->dir, out[1], ep[1]);
	/* Both sides set the group, so a kill never races the child's own. */
	setpgid(pid, pid);
	close(out[1]);
	out[1] = -1;
	close(ep[1]);
	ep[1] = -1;
	do {
		r = read(ep[0], child_err, sizeof(child_err));
	} while (r < 0 && errno == EINTR);
	if (r == (ssize_t)sizeof(child_err)) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (child_err[0] == 1)
			rc = phg_err_set(err, PHG_ERUNTIME,
					 "cannot run '%s' in '%s': %s",
					 cmd->argv[0], cmd->dir,
					 strerror(child_err[1]));
		else
			rc = phg_err_set(err, PHG_ERUNTIME,
					 "cannot run '%s': %s", cmd->argv[0],
					 strerror(child_err[1]));
		goto out;
	}
	fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);

	for (;;) {
		long long now = pv_now_ms(), wait_ms;
		struct pollfd pfd = {.fd = out[0], .events = POLLIN};

		if (!exited) {
			pid_t w = waitpid(pid, &status, WNOHANG);

			if (w == pid) {
				exited = true;
				exited_at = now;
				record_status(res, status);
			} else if (w < 0 && errno == ECHILD) {
				/* SIGCHLD ignored by the caller: reaped by the
				   kernel, its status is lost. */
				exited = true;
				exited_at = now;
			}
		}
		if (exited && (eof || now - exited_at >= CMD_DRAIN_MS))
			break;
		if (!exited && !termed && now >= deadline) {
			res->timed_out = true;
			termed = true;
			kill(-pid, SIGTERM);
			kill_at = now + CMD_KILL_GRACE_MS;
		}
		if (termed && kill_at && now >= kill_at) {
			kill(-pid, SIGKILL);
			kill_at = 0;
		}
		wait_ms = 50;
		if (!termed && deadline - now < wait_ms)
			wait_ms = deadline - now > 0 ? deadline - now : 0;
		if (eof) {
			sleep_ms(wait_ms > 10 ? 10 : wait_ms);
			continue;
		}
		if (poll(&pfd, 1, (int)wait_ms) > 0) {
			int d = drain(out[0], res, &cap, limit);

			if (d < 0)
				goto nomem_kill;
			if (d == 1)
				eof = true;
		}
	}
	if (res->timed_out) {
		/* What is left of the group goes too (a grandchild that
		   ignored SIGTERM). */
		kill(-pid, SIGKILL);
		res->exit_code = -1;
	}
	res->ms = pv_now_ms() - t0;
	if (!res->output) {
		res->output = phg_strdup("");
		if (!res->output)
			goto nomem;
	}
	goto out;

nomem_kill:
	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
nomem:
	rc = phg_err_set(err, PHG_ENOMEM, "out of memory running a command");
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	free(owned[0]);
	free(owned[1]);
	free(env);
	free(file);
	return rc;
}

void phg_command_result_release(struct phg_command_result *res)
{
	if (!res)
		return;
	free(res->output);
	res->output = NULL;
	res->output_len = 0;
}
