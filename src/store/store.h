/*
 * store: the release ledger. One interface, two backends: SQLite (default,
 * <config dir>/.phasegate/state.db, created with mode 0600) and PostgreSQL
 * (config "state: ${PHASEGATE_STATE_URL}", for several CI runners sharing
 * one ledger). It records releases, their steps per region with start, end
 * and outcome, trigger readings, traffic weights, approvals and every
 * event, under its own schema version; and a lease so one process drives an
 * environment's release at a time (a stale lease, whose holder stopped
 * renewing it, is taken over after the configured time).
 *
 * Every write is committed before the call returns, so a process killed at
 * any moment leaves the ledger consistent: the orchestrator records a step
 * as started before it acts and as finished after.
 */
#ifndef PHG_STORE_H
#define PHG_STORE_H

#include "../util/util.h"

struct phg_store; /* opaque: a connection to one ledger */

/* The ledger's schema version this build writes and reads. */
#define PHG_STORE_SCHEMA_VERSION 1

/* Release outcomes, as stored (text) and reported. */
enum phg_release_state {
	PHG_REL_RUNNING,     /* started, not finished (or its driver died) */
	PHG_REL_SUCCEEDED,   /* every region done */
	PHG_REL_ROLLED_BACK, /* a region rolled back (trigger, smoke, step) */
	PHG_REL_ABORTED,     /* `release abort` */
	PHG_REL_FAILED,	     /* refused in preflight or a step failed with no
				rollback needed (nothing shifted yet) */
	PHG_REL_REVERTED     /* `rollback TAG` returned every region */
};
const char *phg_release_state_name(enum phg_release_state s);
int phg_release_state_parse(const char *name, enum phg_release_state *out);

/* Step outcomes. */
enum phg_step_state {
	PHG_STEP_RUNNING,
	PHG_STEP_DONE,
	PHG_STEP_FAILED,
	PHG_STEP_SKIPPED,
	PHG_STEP_ROLLED_BACK
};
const char *phg_step_state_name(enum phg_step_state s);
int phg_step_state_parse(const char *name, enum phg_step_state *out);

/* A release as the ledger holds it. Strings are malloc'd. */
struct phg_store_release {
	long long id;
	char *environment;
	char *tag;
	enum phg_release_state state;
	char *target_slot; /* "blue" or "green": the slot it deploys to */
	char *started_at;  /* ISO 8601 UTC */
	char *finished_at; /* NULL while running */
	char *approved_by; /* emergency approver, or NULL */
	char *reason;	   /* why it failed or rolled back, or NULL */
	char *migrations;  /* comma-separated names pending at start */
};

/* One step of a release in one region ("" region for global steps). */
struct phg_store_step {
	long long id;
	long long release_id;
	char *region;
	char *name; /* "preflight", "migrate", "deploy", "smoke",
		       "traffic-10", "done", "soak", "contract", ... */
	int seq;    /* order within the release, as planned */
	enum phg_step_state state;
	char *started_at, *finished_at;
	char *detail; /* outcome text, provider output (bounded), or NULL */
};

/* A trigger or metric reading taken during analysis. */
struct phg_store_reading {
	char *region;
	char *metric; /* "error_rate", "p99_ms", "http_5xx_rate",
			 "connections" */
	double value;
	bool breached; /* over its rollback threshold */
	int weight;    /* green's traffic percentage at the time */
	char *at;      /* ISO 8601 UTC, millisecond precision; NULL = now */
};

/* A logged event (free text kind + detail), for history and the report. */
struct phg_store_event {
	char *region; /* or NULL */
	char *kind;   /* "start", "weight", "rollback", "approval", ... */
	char *detail;
	char *at;
};

/*
 * Opens the ledger at location: a postgres:// or postgresql:// URL selects
 * PostgreSQL, anything else is an SQLite file path (its folder is created,
 * the file gets mode 0600). Creates or upgrades the schema; a ledger whose
 * schema version is newer than this build's is refused (PHG_ERUNTIME). The
 * location may hold a password: it never appears in err. A struct
 * phg_store is one connection: use it from one thread at a time (open one
 * per thread, as a lease-renewing thread does).
 */
int phg_store_open(const char *location, struct phg_store **out,
		   struct phg_err *err);
void phg_store_close(struct phg_store *s);

/*
 * Checks a location before anything is opened or created: an empty one, or
 * a libpq keyword string ("host=... password=...", which would otherwise
 * name an SQLite file after the password), fails with PHG_ECONFIG.
 */
int phg_store_check_location(const char *location, struct phg_err *err);
/* Whether location selects the PostgreSQL backend (a postgres:// URL). */
bool phg_store_is_postgres(const char *location);
/* "sqlite" or "postgresql". */
const char *phg_store_backend(const struct phg_store *s);
/*
 * The location as messages may show it (borrowed): a path as given, a URL
 * without its userinfo (user, password) and query string.
 */
const char *phg_store_where(const struct phg_store *s);

/* Every timestamp the ledger writes: ISO 8601 UTC with milliseconds,
   "2026-11-26T11:46:31.123Z", from the ledger's clock (the PostgreSQL
   server's, or this machine's for SQLite). */
#define PHG_STORE_TIME_LEN 24
/* Free-form text (step detail, event detail, reason) is cut to this many
   bytes, on a UTF-8 boundary; invalid UTF-8 bytes become '?'. */
#define PHG_STORE_TEXT_MAX (64 * 1024)

/*
 * Leases: one holder per environment. Acquire succeeds when nobody holds the
 * lease, the caller already holds it, or the holder's last renewal is older
 * than ttl_ms (taken over; *taken_from then names the old holder, malloc'd,
 * else NULL). When another live holder has it, returns PHG_ERUNTIME with
 * err naming the holder ("release lease held by 'host:pid' since ...").
 * holder is a caller-chosen id (host:pid:random). ttl_ms must be positive
 * (PHG_ECONFIG otherwise). Staleness is judged on the ledger's clock: the
 * PostgreSQL server's (never this machine's against another's), or this
 * machine's for SQLite. Renew fails (PHG_ERUNTIME, naming the new holder)
 * when the caller no longer holds the lease: it was taken over, so the
 * caller must stop driving. Releasing a lease the caller does not hold
 * changes nothing and returns 0.
 */
int phg_store_lease_acquire(struct phg_store *s, const char *environment,
			    const char *holder, long long ttl_ms,
			    char **taken_from, struct phg_err *err);
int phg_store_lease_renew(struct phg_store *s, const char *environment,
			  const char *holder, struct phg_err *err);
int phg_store_lease_release(struct phg_store *s, const char *environment,
			    const char *holder, struct phg_err *err);

/* Who holds an environment's lease, for `release status`. */
struct phg_store_lease_info {
	char *holder;
	char *acquired_at; /* when this holder took it */
	char *renewed_at;  /* its last renewal */
	long long age_ms;  /* since the last renewal, on the ledger's clock */
};
/* Returns 0 with *found false when nobody holds the lease. */
int phg_store_lease_get(struct phg_store *s, const char *environment,
			struct phg_store_lease_info *out, bool *found,
			struct phg_err *err);
void phg_store_lease_info_release(struct phg_store_lease_info *l);

/*
 * Releases. Create records r's environment, tag, state, target_slot
 * ("blue" or "green"), approved_by, reason and migrations (NULL is "");
 * started_at is now, finished_at now when the state is not running; id and
 * the times in r are ignored. A tag already released in the environment is
 * refused (PHG_ERUNTIME).
 */
int phg_store_release_create(struct phg_store *s,
			     const struct phg_store_release *r, long long *id,
			     struct phg_err *err);
/* Finds by environment and tag; returns 0 with *found false when absent. */
int phg_store_release_get(struct phg_store *s, const char *environment,
			  const char *tag, struct phg_store_release *out,
			  bool *found, struct phg_err *err);
/* The latest release of the environment (any state). */
int phg_store_release_latest(struct phg_store *s, const char *environment,
			     struct phg_store_release *out, bool *found,
			     struct phg_err *err);
/* All releases of an environment, oldest first (for `history`, lint). */
int phg_store_release_list(struct phg_store *s, const char *environment,
			   struct phg_store_release **out, size_t *n,
			   struct phg_err *err);
/*
 * Sets state, reason (NULL keeps the one recorded) and finished_at: now
 * when the state is final, NULL when it is running again (resume).
 */
int phg_store_release_finish(struct phg_store *s, long long id,
			     enum phg_release_state state, const char *reason,
			     struct phg_err *err);
/*
 * The slot serving a region of the environment ("blue" when nothing was
 * ever released there). Regions are tracked apart: a rollback in a later
 * region leaves earlier regions on the new slot.
 */
int phg_store_live_slot(struct phg_store *s, const char *environment,
			const char *region, char **slot, struct phg_err *err);
int phg_store_set_live_slot(struct phg_store *s, const char *environment,
			    const char *region, const char *slot,
			    struct phg_err *err);
void phg_store_release_release(struct phg_store_release *r);
void phg_store_release_free_array(struct phg_store_release *r, size_t n);

/*
 * Steps: begin records it running (started_at now; region NULL is ""), end
 * sets its state and detail (may be NULL) and finished_at now (NULL when
 * the state is running).
 */
int phg_store_step_begin(struct phg_store *s, long long release_id,
			 const char *region, const char *name, int seq,
			 long long *step_id, struct phg_err *err);
int phg_store_step_end(struct phg_store *s, long long step_id,
		       enum phg_step_state state, const char *detail,
		       struct phg_err *err);
/* Every step of a release, in seq then id order. */
int phg_store_step_list(struct phg_store *s, long long release_id,
			struct phg_store_step **out, size_t *n,
			struct phg_err *err);
void phg_store_step_free_array(struct phg_store_step *st, size_t n);

/*
 * Readings, traffic weights and events, listed in the order they were
 * added. A reading's at NULL means now; a NaN value is kept (as NULL in
 * SQLite). Weights are 0 to 100 (PHG_EINPUT otherwise).
 */
int phg_store_reading_add(struct phg_store *s, long long release_id,
			  const struct phg_store_reading *r,
			  struct phg_err *err);
int phg_store_reading_list(struct phg_store *s, long long release_id,
			   struct phg_store_reading **out, size_t *n,
			   struct phg_err *err);
void phg_store_reading_free_array(struct phg_store_reading *r, size_t n);
int phg_store_weight_set(struct phg_store *s, long long release_id,
			 const char *region, int green_percent,
			 struct phg_err *err);
/* The last weight recorded for the region; -1 when none. */
int phg_store_weight_get(struct phg_store *s, long long release_id,
			 const char *region, int *green_percent,
			 struct phg_err *err);
/* One recorded traffic weight. */
struct phg_store_weight {
	char *region;
	int green_percent;
	char *at;
};
int phg_store_weight_list(struct phg_store *s, long long release_id,
			  struct phg_store_weight **out, size_t *n,
			  struct phg_err *err);
void phg_store_weight_free_array(struct phg_store_weight *w, size_t n);
int phg_store_event_add(struct phg_store *s, long long release_id,
			const char *region, const char *kind,
			const char *detail, struct phg_err *err);
int phg_store_event_list(struct phg_store *s, long long release_id,
			 struct phg_store_event **out, size_t *n,
			 struct phg_err *err);
void phg_store_event_free_array(struct phg_store_event *e, size_t n);

#endif
