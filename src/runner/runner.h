/*
 * runner: applies migrations to real PostgreSQL databases with libpq, region
 * by region, primary first — with a history table, checksums, a session
 * advisory lock, lock and statement timeouts, retries of lock_not_available
 * with backoff and jitter, and progress recorded so a rerun resumes; and
 * `adopt`, which records in that history what Prisma, golang-migrate, dbmate
 * or Flyway already applied. The library never prints: progress goes to a
 * callback.
 */
#ifndef PHG_RUNNER_H
#define PHG_RUNNER_H

#include "../config/config.h"
#include "../lint/lint.h"

/* Bitmask of phases for --phase. */
#define PHG_PHASE_BIT(p) (1u << (p))
#define PHG_PHASES_ALL 0xfu

/*
 * Where a migration stands in one region, as `status` reports it:
 *   applied      in the history, file unchanged;
 *   pending      not in the history (or a failed attempt left nothing);
 *   running      started outside a transaction and not finished, while a
 *                runner holds the region's migration lock;
 *   interrupted  the same with no runner holding the lock: the runner died
 *                or lost its connection; `migrate` resumes it;
 *   failed       the last attempt failed; for a migration run statement by
 *                statement, what finished before the failure stays;
 *   drift        applied (or partly applied) and the file changed since;
 *   missing      applied (or partly applied) and the file is gone.
 */
enum phg_mig_state {
	PHG_MIG_APPLIED,
	PHG_MIG_PENDING,
	PHG_MIG_RUNNING,
	PHG_MIG_INTERRUPTED,
	PHG_MIG_FAILED,
	PHG_MIG_DRIFT,
	PHG_MIG_MISSING
};
#define PHG_MIG_STATES 7

/* The state's name as `status` prints it ("applied", ...). */
const char *phg_mig_state_name(enum phg_mig_state s);

/* One row of a region's history, as read. */
struct phg_history_row {
	char *name, *version, *checksum, *phase, *release, *state;
	bool transactional; /* ran in one transaction with this row */
	int statements_done;
	long long duration_ms;
	char *finished_at;
};

/* One migration as a region sees it. */
struct phg_status_item {
	char *name;
	enum phg_mig_state state;
	char *phase; /* from the history, or the file's */
	int statements_done;
	long long duration_ms;
	char *finished_at;
};

/* A region's view: its history and how the migrations compare. */
struct phg_region_status {
	const char *region;
	struct phg_status_item *items; /* one per migration on disk, then one
					  per history row without a file */
	size_t nitems;
	bool reachable;
	char error[1024]; /* when not reachable */
	bool replica;
	bool locked; /* a runner holds the region's migration lock now */
	size_t count[PHG_MIG_STATES]; /* items per state */
};

/* What the runner tells the command as it goes (the command prints). */
enum phg_event {
	PHG_EV_REGION_START,   /* region */
	PHG_EV_MIGRATION_DONE, /* region, name, ms */
	PHG_EV_MIGRATION_SKIP, /* region, name, detail: why */
	PHG_EV_RETRY,	       /* region, name, detail: what failed */
	PHG_EV_REGION_DONE,    /* region, count (would apply, in a dry run) */
	PHG_EV_SOAK,	       /* region (next), ms left */
	PHG_EV_REPLICA_WAIT,   /* region */
	PHG_EV_DRY_RUN,	       /* region, name, detail: the plan line */
	PHG_EV_LOCK_WAIT,      /* region */
	PHG_EV_ADOPTED,	       /* region, name, detail: its phase (adopt) */
	PHG_EV_WARNING	       /* region, name (or NULL), detail: what */
};

struct phg_progress {
	enum phg_event event;
	const char *region, *name, *detail;
	long long ms;
	size_t count;
};

typedef void (*phg_progress_fn)(const struct phg_progress *p, void *ctx);

struct phg_runner_opts {
	const struct phg_config *cfg;
	unsigned phases;    /* PHG_PHASE_BIT mask; 0 = all */
	const char *to;	    /* apply up to this version or name */
	const char *region; /* --region NAME */
	bool all_regions;   /* --all-regions */
	bool dry_run, no_gate, no_soak;
	const char *release; /* release tag recorded in the history */
	phg_progress_fn progress;
	void *progress_ctx;
};

/*
 * Result of a migrate run; gate findings are kept when the gate refused so
 * the command can show them.
 */
struct phg_runner_result {
	size_t applied;
	size_t would_apply; /* a dry run: what it would have applied */
	bool refused;	  /* gate refusal, checksum drift, a missing file, or a
			     pending migration phasegate cannot read: exit 1 */
	bool about_files; /* the refusal is the gate's or a file's that
			     cannot be parsed: the findings say why */
	struct phg_lint_result gate;
	bool have_gate;
};

/*
 * Applies the pending migrations as opts says. Returns 0, or: PHG_EUSAGE
 * (several regions and neither --region nor --all-regions, an unknown
 * region or --to), PHG_ECONFIG (a ${NAME} not set), PHG_EINPUT with
 * res->refused set (checksum drift or a missing file: nothing applied in
 * that region; a pending migration phasegate cannot parse: nothing applied
 * anywhere, even with --no-gate), PHG_ERUNTIME (a database unreachable, the
 * advisory lock not acquired, a migration that failed, a replica that does
 * not catch up). A gate refusal returns 0 with res->refused set and nothing
 * applied. Regions finished before a failure keep what they got; a second
 * run resumes. The caller releases res with phg_runner_result_release,
 * whatever the return.
 */
int phg_runner_migrate(const struct phg_runner_opts *opts,
		       struct phg_runner_result *res, struct phg_err *err);
void phg_runner_result_release(struct phg_runner_result *res);

/*
 * Reads every selected region's history (opts.region, or all regions) and
 * compares it with the migrations on disk; touches nothing. *out is an
 * array of n entries the caller frees with phg_runner_status_free. An
 * unreachable region is reported in its entry, not as an error; errors are
 * PHG_EUSAGE (no regions, an unknown --region), PHG_ECONFIG (a ${NAME} not
 * set) and the migrations folder's own (PHG_EIO, PHG_EINPUT).
 */
int phg_runner_status(const struct phg_runner_opts *opts,
		      struct phg_region_status **out, size_t *n,
		      struct phg_err *err);
void phg_runner_status_free(struct phg_region_status *st, size_t n);

/* The history rows a release wrote in one region (`release report`). */
struct phg_release_history {
	const char *region; /* borrowed from the config */
	bool reachable;
	char error[1024];	      /* when not reachable */
	struct phg_history_row *rows; /* rows whose release is the tag, in
					 the order they started */
	size_t nrows;
};

/*
 * Reads, in every region that is not a replica (in config order), the
 * history rows whose release is tag; touches nothing (no table created,
 * no lock). *out is an array of n entries freed with
 * phg_runner_release_history_free. An unreachable region is reported in
 * its entry; errors are PHG_ECONFIG (a ${NAME} not set) and PHG_ENOMEM.
 */
int phg_runner_release_history(const struct phg_config *cfg, const char *tag,
			       struct phg_release_history **out, size_t *n,
			       struct phg_err *err);
void phg_runner_release_history_free(struct phg_release_history *h, size_t n);

/* The tools whose history `adopt` reads. */
enum phg_adopt_tool {
	PHG_ADOPT_PRISMA,	  /* _prisma_migrations */
	PHG_ADOPT_GOLANG_MIGRATE, /* schema_migrations (version, dirty) */
	PHG_ADOPT_DBMATE,	  /* schema_migrations (version) */
	PHG_ADOPT_FLYWAY	  /* flyway_schema_history */
};

/*
 * The tool named as --from spells it ("prisma", "golang-migrate", "dbmate",
 * "flyway"): returns 0 and sets *out, or -1 for another name.
 */
int phg_adopt_tool_parse(const char *name, enum phg_adopt_tool *out);
/* The tool's --from name. */
const char *phg_adopt_tool_name(enum phg_adopt_tool tool);

struct phg_adopt_opts {
	/* cfg, region, all_regions, dry_run, progress and progress_ctx are
	   used; the rest is ignored. */
	struct phg_runner_opts run;
	enum phg_adopt_tool from;
	const char *table; /* the tool's history table ("name" or
			      "schema.name") when not its default, or NULL */
};

struct phg_adopt_result {
	size_t adopted;	  /* rows written (a dry run: that it would write) */
	size_t already;	  /* applied for both tools: left alone */
	size_t unmatched; /* in the tool's history without a file on disk */
	size_t changed;	  /* a Flyway repeatable migration changed since it
			     ran: left pending */
	bool refused;	  /* the tool's own state is dirty or failed: exit 1 */
};

/*
 * Records as applied in phasegate's history, region by region (primary
 * first), every migration on disk that the other tool's history shows as
 * applied, without running any of its SQL: checksum of the file as it is,
 * phase from the lint, release 'adopted'. Rows already in phasegate's
 * history are left alone, so a second run writes nothing. Each region's
 * rows are written at once, under the migration lock; a dry run locks and
 * writes nothing. Progress reports each adopted migration and warnings
 * (history entries without a file). Returns 0, or: PHG_EUSAGE (region
 * flags, or no such table or not the tool's columns), PHG_ECONFIG (a
 * ${NAME} not set), PHG_EINPUT with res->refused (the tool's history says
 * a migration is dirty or failed: nothing recorded in that region),
 * PHG_ERUNTIME (a database unreachable, the lock not acquired), and the
 * migrations folder's own errors. Regions finished before a failure keep
 * their rows.
 */
int phg_runner_adopt(const struct phg_adopt_opts *opts,
		     struct phg_adopt_result *res, struct phg_err *err);

/*
 * lint --stats: reads, in one query, what the database at dsn knows about
 * the n tables (schema.name): estimated rows, total size, and rows written
 * per second (see struct phg_table_stats). dsn is a libpq connection URL
 * or key=value string as written: ${NAME} in it is expanded here from the
 * environment. Tables the database does not have get no entry. *out is an
 * array of *nout entries allocated from arena (names borrowed from
 * tables). Returns 0, or PHG_ECONFIG (a ${NAME} not set), PHG_EUSAGE (dsn
 * cannot be parsed), PHG_ERUNTIME (cannot connect, the query failed),
 * PHG_ENOMEM; messages never hold the DSN or its password. cfg gives the
 * session settings a runner connection starts with.
 */
int phg_runner_table_stats(const struct phg_config *cfg, const char *dsn,
			   const char *const *tables, size_t n,
			   struct phg_arena *arena,
			   struct phg_table_stats **out, size_t *nout,
			   struct phg_err *err);

#endif
