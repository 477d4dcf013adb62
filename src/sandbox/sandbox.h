/*
 * sandbox: a local three-region world on 127.0.0.1 for trying releases and
 * for the end-to-end tests. Per region: a PostgreSQL 15 cluster, an nginx
 * serving the blue and green slots (each a version page, /health and an
 * app path that answers 200, or 500 when the slot is "broken"), an nginx
 * load balancer in front of them whose access log mtail follows, and one
 * Prometheus scraping every region's mtail with a region label. Everything
 * lives under one folder, on free ports; the processes' pids are recorded
 * in a state file there, so any later `phasegate sandbox …` finds them.
 *
 * Processes are started with argv (no shell) in their own sessions and
 * outlive the command that started them; PostgreSQL runs as the `postgres`
 * user through runuser when phasegate runs as root. Every wait is bounded.
 * The library prints nothing: progress goes through a callback.
 */
#ifndef PHG_SANDBOX_H
#define PHG_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/util.h"

/* The state file and the generated config, inside the sandbox folder. */
#define PHG_SANDBOX_STATE "sandbox.json"
#define PHG_SANDBOX_CONFIG "phasegate.yaml"

/* What `up` needs to know. Paths may be relative to the current folder. */
struct phg_sandbox_opts {
	const char *dir;	/* the sandbox folder (created) */
	const char *migrations; /* the project's migrations folder */
	const char *exe;	/* the phasegate binary, for the deploy
				   command in the config */
	/* Called with one line of progress (no newline), or NULL. */
	void (*progress)(void *arg, const char *line);
	void *progress_arg;
};

/*
 * Starts the sandbox in opts->dir and writes opts->dir/phasegate.yaml.
 * When a sandbox already runs there and every component answers, sets
 * *already and returns 0 without touching it. A folder that exists, is not
 * empty and holds no sandbox, a sandbox that runs only in part, or a
 * missing program (nginx, mtail, prometheus, PostgreSQL 15) fails with
 * PHG_EUSAGE or PHG_ERUNTIME; a failure half-way stops what was started and
 * removes the folder. Returns 0 or a negative PHG_E* code.
 */
int phg_sandbox_up(const struct phg_sandbox_opts *opts, bool *already,
		   struct phg_err *err);

/*
 * Stops every process of the sandbox in dir (politely, then SIGKILL after a
 * bounded wait) and removes the folder. Sets *was_up false when there was
 * no sandbox (not an error). A folder that holds no sandbox state is never
 * removed (PHG_EUSAGE). Returns 0 or a negative PHG_E* code.
 */
int phg_sandbox_down(const char *dir, bool *was_up, struct phg_err *err);

/* One row of `status`: a process or an endpoint of one. */
struct phg_sandbox_component {
	char name[24];	 /* postgres, backends, blue, green, balancer,
			    mtail, prometheus */
	char region[32]; /* "" for prometheus */
	char addr[64];	 /* what answers: 127.0.0.1:PORT */
	int port;
	long pid;
	bool running; /* the recorded process is alive */
	bool answers; /* it answered a request just now */
	char detail[96];
};

/*
 * Probes every component of the sandbox in dir. Sets *out to a malloc'd
 * array of *n rows (the caller frees it). No sandbox: PHG_EUSAGE.
 */
int phg_sandbox_status(const char *dir, struct phg_sandbox_component **out,
		       size_t *n, struct phg_err *err);

/*
 * Makes slot ("blue" or "green") of region serve release: its version page
 * and app path show the tag, the backends' nginx is reloaded gracefully,
 * and the call returns once the slot answers with the new tag (bounded).
 * Safe to repeat. A slot that was broken stays broken. Returns 0 or a
 * negative PHG_E* code (PHG_EUSAGE for an unknown region or slot, or a tag
 * with other than letters, digits and . _ - +).
 */
int phg_sandbox_deploy(const char *dir, const char *region, const char *slot,
		       const char *release, struct phg_err *err);

/*
 * Makes the slot's app path answer 500 (broken true) or 200 again, reloads
 * the backends and returns once the slot answers so (bounded). Idempotent.
 */
int phg_sandbox_break(const char *dir, const char *region, const char *slot,
		      bool broken, struct phg_err *err);

#endif
