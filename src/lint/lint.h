/*
 * lint: the whole left half of DESIGN's picture for one run — find the
 * migrations, place the release boundaries, replay history into the model,
 * and classify, analyze and gate the releases being linted.
 */
#ifndef PHG_LINT_H
#define PHG_LINT_H

#include "../../analyzers/analyzer.h"

struct phg_lint_opts {
	const struct phg_config *cfg; /* loaded, or defaults */
	bool have_config;	      /* cfg came from a file */
	const char *const *paths;     /* files or folders; none = config's */
	size_t npaths;
	const char *base;    /* --base REF, or NULL */
	const char *release; /* --release NAME, or NULL */
	bool all;	     /* --all */
};

/* One release of a linted folder. */
struct phg_lint_release {
	const char *name;
	size_t first, end; /* migrations [first, end) */
	bool linted;
	size_t errors; /* error findings (not suppressed) */
};

struct phg_lint_result {
	struct phg_arena arena;
	struct phg_findings findings; /* of the linted releases, in order */
	struct phg_vec stmts;	      /* statements of the linted releases */
	struct phg_vec releases;      /* struct phg_lint_release * */
	size_t errors, warnings, suppressed;
	size_t phases[4]; /* statements per phase */
	size_t files;	  /* migrations read */
};

/*
 * Runs lint as opts says. Lint findings are data in out, never errors; the
 * return is <0 only when lint could not run: PHG_EUSAGE (nothing to lint),
 * PHG_ECONFIG (a "through" that matches nothing, an unknown rule id),
 * PHG_EIO (a path or file that cannot be read), PHG_EINPUT (two migrations
 * with one version), PHG_ENOMEM. The caller releases out either way.
 */
int phg_lint_run(const struct phg_lint_opts *opts, struct phg_lint_result *out,
		 struct phg_err *err);

void phg_lint_result_release(struct phg_lint_result *r);

/* Whether the result refuses the release (an unsuppressed error). */
bool phg_lint_refused(const struct phg_lint_result *r);

/*
 * Lists the files git holds at ref under folder dir (paths relative to dir),
 * running git with argv. Returns 0 and a malloc'd NULL-terminated array in
 * *files, or PHG_EUSAGE when ref is unknown or dir is not in a repository.
 */
int phg_git_ls_tree(const char *dir, const char *ref, char ***files,
		    struct phg_err *err);

#endif
