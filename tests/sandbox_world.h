/*
 * sandbox_world.h: a `phasegate sandbox` for a Check suite — `up` once in an
 * UNCHECKED fixture (the runner process), `down` in its teardown, and
 * `down` also when the teardown does not run: an atexit handler, a
 * fatal-signal handler (fork and exec, async-signal-safe) and a guard
 * process in its own session that notices the runner's death (SIGKILL) on
 * a pipe. The tests, forked by Check, read the sandbox's state file.
 */
#ifndef PHG_TEST_SANDBOX_WORLD_H
#define PHG_TEST_SANDBOX_WORLD_H

#include <stdbool.h>
#include <stddef.h>

#define SW_NREGIONS 3

/* The sandbox's folder (ROOT/s, ROOT a world-searchable /tmp folder). */
extern char sw_dir[128];
/* How long `up` took, and its exit code (-1 before it ran). */
extern double sw_up_seconds;
extern int sw_up_rc;

struct sw_region {
	char name[32];
	int pg, blue, green, slots, lb, mtail;
	long pids[4]; /* postgres, backends, balancer, mtail */
};

struct sw_info {
	struct sw_region r[SW_NREGIONS];
	int prom;
	long prom_pid;
	char pgroot[512]; /* PostgreSQL's folders: PGROOT/<region>/data */
};

/* The fixture: `sandbox up --dir sw_dir --migrations migrations`. */
void sw_up(void);
void sw_down(void);
/* Fails the test unless the fixture's `up` succeeded. */
void sw_require_up(void);
/* Reads sw_dir/sandbox.json (fails the test when it cannot). */
void sw_read_info(struct sw_info *in);
/* A monotonic clock in seconds, and a sleep that survives signals. */
double sw_now(void);
void sw_sleep_ms(long ms);
/*
 * Sets region's balancer weights (green_percent to green, the rest to
 * blue; 0 % written "down") and reloads it gracefully: returns once the
 * old workers are gone. Fails the test on an error.
 */
void sw_set_weights(const struct sw_region *r, int green_percent);
/* Whether the process is gone (no /proc entry, or a zombie). */
bool sw_pid_gone(long pid);
/* The live (not zombie) children of pid, at most cap: nginx's workers. */
size_t sw_children_of(long pid, long *out, size_t cap);

#endif
