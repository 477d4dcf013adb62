/*
 * internal.h: what the orchestrator's files share — one run's context, the
 * plan of steps, and the helpers that act (providers) and record (store).
 */
#ifndef PHG_ORCHESTRATOR_INTERNAL_H
#define PHG_ORCHESTRATOR_INTERNAL_H

#include "orchestrator.h"

#include "../providers/providers.h"
#include "../runner/runner.h"

enum or_kind {
	OR_PREFLIGHT,
	OR_SOAK,
	OR_MIGRATE,
	OR_DEPLOY,
	OR_SMOKE,
	OR_TRAFFIC,
	OR_DONE,
	OR_CONTRACT
};

/* One planned step; seq is its index in the plan. */
struct or_step {
	enum or_kind kind;
	const struct phg_region *reg; /* NULL for preflight */
	char name[32];		      /* as the ledger records it */
	int weight;		      /* traffic: the new slot's percentage */
};

/* How a step ended. */
enum or_result {
	OR_OK,
	OR_SKIPPED,  /* nothing configured to do */
	OR_ROLLBACK, /* roll the region back: why says why */
	OR_FAIL,     /* the release failed (nothing to roll back) */
	OR_HALT,     /* runtime failure: stays running, resumable */
	OR_ABORT     /* `release abort` asked */
};

/* Renews the lease from its own thread and ledger connection, so that a
   long blocking step (a deploy command) never lets it go stale. */
struct or_renewer;

struct orch {
	const struct phg_orch_opts *o;
	const struct phg_config *cfg;
	const struct phg_release_settings *rs;
	struct phg_store *st;
	char holder[160];
	bool have_lease;
	struct or_renewer *renewer;
	long long rel_id;
	long long last_renew; /* monotonic ms before the last good renewal */
	bool lost;	      /* the lease is another's: act and record
				 nothing more */
	char lost_msg[sizeof(((struct phg_err *)0)->msg)];
	struct or_step *plan;
	size_t nplan;
	struct phg_err *err;
	char why[1024];
	char detail[4096]; /* the running step's outcome text */
};

/* The real clocks, used when the options leave them NULL. */
long long or_now(const struct orch *r);
void or_sleep(const struct orch *r, long long ms);
time_t or_wall(const struct orch *r);

/* Prints one progress line through the options' callback. */
void or_say(const struct orch *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Builds r->plan from the config. */
int or_plan(struct orch *r);

/* The slot the release deploys to in reg (recorded on first use), and
   the other one. */
int or_target(struct orch *r, const struct phg_region *reg, char *slot,
	      size_t size);
const char *or_other(const char *slot);

/* Green's percentage when the new slot target gets pct. */
int or_green_pct(const char *target, int pct);

/* Sets the load balancer's weights (when configured) and records them. */
int or_set_weights(struct orch *r, const struct phg_region *reg,
		   const char *target, int new_pct, struct phg_err *err);

/* Switches the feature flags (when configured): pct < 0 off; else on,
   and with `rollout: with-traffic` their gradual rollout set to pct
   first. Failures are recorded and printed, never fatal. */
void or_flags(struct orch *r, const struct phg_region *reg, int pct);

/* Posts a notification (when configured); failures are logged only. */
void or_notify(struct orch *r, const char *event, const char *text);

/*
 * Whether the driver may still act: 0 when the lease is surely ours (a
 * renewal succeeded less than half the ttl ago, else one is made now,
 * retrying a ledger that does not answer until the ttl runs out);
 * PHG_ERUNTIME with err naming the new holder when it was taken over (or
 * could not be renewed within the ttl): then r->lost is set and the driver
 * must stop before any provider call, migration or ledger write.
 */
int or_guard(struct orch *r, struct phg_err *err);
/* Whether the lease is known lost (no ledger call). */
bool or_lost(struct orch *r);

/* Renews the lease when due and reports an abort request (1). */
int or_tick(struct orch *r, struct phg_err *err);

/* Traffic to the old slot first, then flags off and the ledger. */
int or_rollback_region(struct orch *r, const struct phg_region *reg,
		       const char *reason, struct phg_err *err);

/* Runs one step; fills r->detail or r->why. */
enum or_result or_act(struct orch *r, const struct or_step *s,
		      long long step_id);

/* Acquires the environment's lease for r. */
int or_lease(struct orch *r);
void or_unlease(struct orch *r);

#endif
