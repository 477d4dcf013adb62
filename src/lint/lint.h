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
	const char *base; /* --base REF, or NULL */
	/* --changed-since REF, or NULL: only migrations whose file differs
	   from REF (or that git does not track) are reported; each is still
	   linted with its release, against the history before it. */
	const char *changed_since;
	const char *release; /* --release NAME, or NULL */
	bool all;	     /* --all */
	/* Names of migrations already applied (the runner's gate): they are
	   history, the rest is the candidate release. */
	const char *const *shipped;
	size_t nshipped;
	bool collect; /* keep what the runner needs in out->migrations */
	/* Tests: call every statement rule on every statement, whatever
	   kinds it declares (the findings must not change). */
	bool every_rule;
};

/* One statement as the runner sends it. */
struct phg_lint_stmt_info {
	size_t offset, len; /* bytes of the statement in the file */
	int line;
	enum phg_kind kind;
	bool no_transaction;
	const char *concurrent_index; /* schema.name of an index this
					 statement builds CONCURRENTLY */
};

/* What the runner needs to know about one migration (opts.collect). */
struct phg_lint_migration {
	const struct phg_migration *mig; /* valid until the result is freed */
	enum phg_phase phase;		 /* the strongest of its statements */
	bool no_transaction;		 /* must run outside a transaction */
	bool own_transaction;		 /* holds its own BEGIN/COMMIT */
	bool unreadable;		 /* a syntax or encoding error */
	struct phg_lint_stmt_info *stmts;
	size_t nstmts;
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
	size_t phases[4];	   /* statements per phase */
	size_t files;		   /* migrations linted */
	struct phg_map file_order; /* path -> 1-based rank, for sorting */
	/* With opts.collect: every migration of the (single) folder, in
	   order, and the folder's migration set (owned). */
	struct phg_lint_migration *migrations;
	size_t nmigrations;
	struct phg_migration_set set;
	/* lint --stats: the findings carry their tables' numbers, judged
	   with these thresholds (phg_lint_stats_apply). */
	bool stats;
	struct phg_stats_settings stats_settings;
};

/*
 * Runs lint as opts says. Lint findings are data in out, never errors; the
 * return is <0 only when lint could not run: PHG_EUSAGE (nothing to lint;
 * a --base or --changed-since ref git does not know), PHG_ECONFIG (a
 * "through" that matches nothing, an unknown rule id), PHG_EIO (a path or
 * file that cannot be read), PHG_EINPUT (two migrations with one version),
 * PHG_ERUNTIME (git cannot run), PHG_ENOMEM. Migrations the config's
 * "exclude" globs match are replayed as history but never reported. The
 * caller releases out either way.
 */
int phg_lint_run(const struct phg_lint_opts *opts, struct phg_lint_result *out,
		 struct phg_err *err);

void phg_lint_result_release(struct phg_lint_result *r);

/* Whether the result refuses the release (an unsuppressed error). */
bool phg_lint_refused(const struct phg_lint_result *r);

/* lint --stats: what the database says about one table. */
struct phg_table_stats {
	const char *table; /* schema.name, as findings name it */
	long long rows;	   /* estimated live rows: pg_class.reltuples, or
			      n_live_tup while the table was never analyzed
			      (partitions summed) */
	long long bytes;   /* pg_total_relation_size: heap, indexes, TOAST */
	long long writes;  /* rows inserted, updated and deleted since the
			      window began */
	double window_seconds;	  /* since the database's statistics were
				     reset, else since the server started */
	double writes_per_second; /* writes / window_seconds; < 0 unknown */
};

/*
 * The distinct tables r's findings are on (f->table), in order of first
 * use, pushed into tables as borrowed pointers (valid while r is). Returns
 * 0 or PHG_ENOMEM.
 */
int phg_lint_stats_tables(const struct phg_lint_result *r,
			  struct phg_vec *tables);

/*
 * Whether s describes a small table under th: fewer rows than
 * th->small_table_rows and fewer bytes than th->small_table_bytes (a
 * threshold of 0 makes no table small).
 */
bool phg_lint_stats_small(const struct phg_table_stats *s,
			  const struct phg_stats_settings *th);

/*
 * Gives each finding of r on one of the n tables of stats its numbers
 * (f->stats; the array must outlive r), lowers an unsuppressed or
 * suppressed error of a rule whose hazard scales with the table
 * (phg_analyzer.scales_with_table) to a warning when the table is small
 * under th (f->downgraded), and recounts errors and warnings. Marks r as
 * linted with stats, so the report shows them. Cannot fail.
 */
void phg_lint_stats_apply(struct phg_lint_result *r,
			  const struct phg_table_stats *stats, size_t n,
			  const struct phg_stats_settings *th);

/*
 * Lists the files git holds at ref under folder dir (paths relative to dir),
 * running git with argv. Returns 0 and a malloc'd NULL-terminated array in
 * *files (free it with phg_git_paths_free, also after a failure), or
 * PHG_EUSAGE when ref is unknown or dir is not in a repository.
 */
int phg_git_ls_tree(const char *dir, const char *ref, char ***files,
		    struct phg_err *err);

/*
 * Lists the files under folder dir (paths relative to dir) that differ
 * from git ref — changed, added or renamed since ref, in the index or the
 * working tree — and the files git does not track there (ignored ones
 * left out), running git with argv. Returns 0 and a malloc'd
 * NULL-terminated array in *files (free it with phg_git_paths_free, also
 * after a failure), PHG_EUSAGE when ref is unknown or dir is not in a
 * repository, PHG_ERUNTIME when git cannot run or runs too long.
 */
int phg_git_changed(const char *dir, const char *ref, char ***files,
		    struct phg_err *err);

/* Frees what phg_git_ls_tree or phg_git_changed returned (NULL is fine). */
void phg_git_paths_free(char **files);

#endif
