/*
 * git.c: asks git which migrations a ref holds (for --base), with argv and
 * no shell; output is bounded.
 */
#include "lint.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GIT_OUTPUT_MAX (64u * 1024 * 1024)

static int run_git(const char *dir, const char *ref, struct phg_buf *out,
		   struct phg_err *err)
{
	const char *argv[] = {"git", "-C", dir,	 "ls-tree", "-r", "--name-only",
			      "-z",  ref,  "--", ".",	    NULL};
	int pipefd[2], status = 0, rc = 0;
	time_t deadline = time(NULL) + 60;
	pid_t pid;

	if (pipe(pipefd) < 0)
		return phg_err_set(err, PHG_ERUNTIME, "cannot run git: %s",
				   strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return phg_err_set(err, PHG_ERUNTIME, "cannot run git: %s",
				   strerror(errno));
	}
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		close(2);
		execvp("git", (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		struct pollfd p = {pipefd[0], POLLIN, 0};
		ssize_t n;

		if (time(NULL) > deadline || out->len > GIT_OUTPUT_MAX) {
			kill(pid, SIGKILL);
			rc = phg_err_set(err, PHG_ERUNTIME,
					 "git ls-tree '%s' took too long", ref);
			break;
		}
		if (poll(&p, 1, 1000) <= 0)
			continue;
		if (phg_buf_reserve(out, 65536) < 0) {
			rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
			kill(pid, SIGKILL);
			break;
		}
		n = read(pipefd[0], out->data + out->len, 65536);
		if (n <= 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		rc = phg_err_set(err, PHG_EUSAGE,
				 "--base '%s': git cannot list '%s' at that "
				 "ref (is it a commit, and the folder inside a "
				 "git repository?)",
				 ref, dir);
	return rc;
}

int phg_git_ls_tree(const char *dir, const char *ref, char ***files,
		    struct phg_err *err)
{
	struct phg_buf out = {0};
	size_t n = 0, k = 0;
	char **list;
	int rc;

	*files = NULL;
	if (ref[0] == '-')
		return phg_err_set(err, PHG_EUSAGE,
				   "--base '%s': a ref cannot start with '-'",
				   ref);
	rc = run_git(dir, ref, &out, err);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < out.len; i++)
		if (out.data[i] == '\0')
			n++;
	list = calloc(n + 1, sizeof(*list));
	if (!list) {
		rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < out.len && k < n;
	     i += strlen(out.data + i) + 1) {
		list[k] = phg_strdup(out.data + i);
		if (!list[k++]) {
			rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
			break;
		}
	}
	*files = list;
out:
	phg_buf_release(&out);
	return rc;
}
