/*
 * git.c: asks git which migrations a ref holds (for --base) and which
 * differ from a ref (for --changed-since), with argv and no shell; each run
 * is bounded in time and output.
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
#define GIT_SECONDS 60

/*
 * Runs git with argv (argv[0] is "git") and appends its stdout to out.
 * Returns 0, or PHG_ERUNTIME (git cannot start, or runs too long or says
 * too much), or 1 when git exits with an error (the caller words it).
 */
static int run_git(const char *const *argv, struct phg_buf *out,
		   struct phg_err *err)
{
	int pipefd[2], status = 0, rc = 0;
	time_t deadline = time(NULL) + GIT_SECONDS;
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
					 "git %s took too long or said too "
					 "much",
					 argv[3]);
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
		rc = 1;
	return rc;
}

/* Splits git's NUL-separated output into a NULL-terminated array. */
static int split_paths(const struct phg_buf *out, char ***files,
		       struct phg_err *err)
{
	size_t n = 0, k = 0;
	char **list;

	for (size_t i = 0; i < out->len; i++)
		if (out->data[i] == '\0')
			n++;
	list = calloc(n + 1, sizeof(*list));
	if (!list)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	*files = list;
	for (size_t i = 0; i < out->len && k < n;
	     i += strlen(out->data + i) + 1) {
		list[k] = phg_strdup(out->data + i);
		if (!list[k++])
			return phg_err_set(err, PHG_ENOMEM, "out of memory");
	}
	return 0;
}

int phg_git_ls_tree(const char *dir, const char *ref, char ***files,
		    struct phg_err *err)
{
	const char *argv[] = {"git", "-C", dir,	 "ls-tree", "-r", "--name-only",
			      "-z",  ref,  "--", ".",	    NULL};
	struct phg_buf out = {0};
	int rc;

	*files = NULL;
	if (ref[0] == '-')
		return phg_err_set(err, PHG_EUSAGE,
				   "--base '%s': a ref cannot start with '-'",
				   ref);
	rc = run_git(argv, &out, err);
	if (rc == 1)
		rc = phg_err_set(err, PHG_EUSAGE,
				 "--base '%s': git cannot list '%s' at that "
				 "ref (is it a commit, and the folder inside a "
				 "git repository?)",
				 ref, dir);
	if (rc == 0)
		rc = split_paths(&out, files, err);
	phg_buf_release(&out);
	return rc;
}

int phg_git_changed(const char *dir, const char *ref, char ***files,
		    struct phg_err *err)
{
	const char *diff[] = {"git",	     "-C", dir,		 "diff",
			      "--name-only", "-z", "--relative", "--no-renames",
			      ref,	     "--", ".",		 NULL};
	const char *untracked[] = {"git",
				   "-C",
				   dir,
				   "ls-files",
				   "--others",
				   "-z",
				   "--exclude-standard",
				   "--",
				   ".",
				   NULL};
	struct phg_buf out = {0};
	int rc;

	*files = NULL;
	if (ref[0] == '-')
		return phg_err_set(err, PHG_EUSAGE,
				   "--changed-since '%s': a ref cannot start "
				   "with '-'",
				   ref);
	rc = run_git(diff, &out, err);
	if (rc == 0)
		rc = run_git(untracked, &out, err);
	if (rc == 1)
		rc = phg_err_set(err, PHG_EUSAGE,
				 "--changed-since '%s': git cannot compare "
				 "'%s' with that ref (is it a commit, and the "
				 "folder inside a git repository?)",
				 ref, dir);
	if (rc == 0)
		rc = split_paths(&out, files, err);
	phg_buf_release(&out);
	return rc;
}

void phg_git_paths_free(char **files)
{
	for (size_t k = 0; files && files[k]; k++)
		free(files[k]);
	free(files);
}
