/*
 * internal.h: what the sandbox's files share — the recorded state, child
 * processes (argv, bounded waits, identity checks against pid reuse),
 * free ports, loopback HTTP probes, and the generated configs.
 */
#ifndef PHG_SANDBOX_INTERNAL_H
#define PHG_SANDBOX_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sandbox.h"

#define SBX_NREGIONS 3
#define SBX_PATH 4096
#define SBX_PGBIN "/usr/lib/postgresql/15/bin"

enum sbx_slot { SBX_BLUE = 0, SBX_GREEN = 1 };

/* A started process: pid plus its start time, so a reused pid is not it. */
struct sbx_proc {
	long pid;
	unsigned long long start; /* /proc/PID/stat field 22 */
};

struct sbx_slot_state {
	char release[65];
	bool broken;
};

struct sbx_region {
	char name[32];
	bool primary;
	int pg_port, blue_port, green_port, slots_port, lb_port, mtail_port;
	struct sbx_proc pg, app, lb, mtail;
	struct sbx_slot_state slot[2];
};

/* Everything `down`, `status`, `deploy` and `break` need: sandbox.json. */
struct sbx_state {
	char dir[SBX_PATH];    /* absolute */
	char pgroot[SBX_PATH]; /* PostgreSQL's folders (inside dir, or a
				  /tmp folder when postgres cannot reach
				  dir) */
	bool pgroot_outside;   /* pgroot is not under dir: remove it too */
	struct sbx_region r[SBX_NREGIONS];
	size_t nregions;
	int prom_port;
	struct sbx_proc prom;
};

/* The region names (ADR-005's), primary first. */
extern const char *const sbx_region_names[SBX_NREGIONS];
const char *sbx_slot_name(enum sbx_slot s);
/* -1 when name is neither "blue" nor "green". */
int sbx_slot_parse(const char *name);

/* ---- state.c ---- */
/* Writes dir/sandbox.json (temp file + rename, mode 0644). */
int sbx_state_save(const struct sbx_state *st, struct phg_err *err);
/* Reads it; *found false (and 0) when the file does not exist. */
int sbx_state_load(const char *dir, struct sbx_state *st, bool *found,
		   struct phg_err *err);
/* Takes dir/.lock (flock, bounded wait); returns the fd or -1 with err. */
int sbx_lock(const char *dir, struct phg_err *err);
void sbx_unlock(int fd);

/* ---- proc.c ---- */
/*
 * snprintf that says whether it fit: 0, or -1 when out was truncated (the
 * sandbox's paths are checked for length once, in `up`).
 */
int sbx_fmt(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
double sbx_now(void);
void sbx_sleep_ms(long ms);
/* Finds a program in PATH, then /usr/sbin, /usr/bin, /usr/local/{s,}bin. */
bool sbx_find_exe(const char *name, char *out, size_t size);
/*
 * Starts argv in its own session from cwd, stdin /dev/null, stdout and
 * stderr appended to log; reports an exec failure. The child is not
 * waited for here.
 */
int sbx_spawn(const char *const *argv, const char *cwd, const char *log,
	      pid_t *pid, struct phg_err *err);
/* A short command running in the background (see sbx_run). */
struct sbx_job {
	pid_t pid;
	int fd;
	double deadline;
	char *out;
	size_t outsz, len;
};
/* Starts argv as sbx_run does, without waiting; -1 when it cannot. */
int sbx_job_start(struct sbx_job *j, const char *const *argv, const char *cwd,
		  long timeout_ms, char *out, size_t outsz);
/* Waits for a started job (bounded); returns as sbx_run does. */
int sbx_job_finish(struct sbx_job *j);
/*
 * Runs argv to its end from cwd (bounded by timeout_ms: then its process
 * group is killed). Keeps the tail of its output in out. Returns the exit
 * code, or -1 when it could not start, died of a signal or timed out.
 */
int sbx_run(const char *const *argv, const char *cwd, long timeout_ms,
	    char *out, size_t outsz);
/* Fills p from a live pid (start time read from /proc). */
void sbx_proc_set(struct sbx_proc *p, long pid);
/* Whether p is alive (not a zombie) and is still the process recorded. */
bool sbx_proc_alive(const struct sbx_proc *p);
/*
 * Stops p: sig, wait up to wait_ms, then SIGKILL to it and its children.
 * Waits (bounded) until it is gone. Returns true when it is gone.
 */
bool sbx_proc_stop(const struct sbx_proc *p, int sig, long wait_ms);
/* The live children of pid (at most cap); returns how many. */
size_t sbx_children(long pid, long *out, size_t cap);
/* Reserves n distinct free loopback ports (bound together, then freed). */
int sbx_free_ports(int *ports, size_t n, struct phg_err *err);
/* Whether something accepts TCP connections on 127.0.0.1:port. */
bool sbx_port_open(int port);
/* Removes a folder tree (no symlinks followed). */
void sbx_rmtree(const char *dir);
/* mkdir -p with mode 0755. */
int sbx_mkdirs(const char *path, struct phg_err *err);
/* Writes data to path via a temp file and rename. */
int sbx_write_file(const char *path, const char *data, struct phg_err *err);
/* The last bytes of a file, one line per line, for error messages. */
void sbx_file_tail(const char *path, char *out, size_t size);

/* ---- http.c ---- */
/*
 * GET http://127.0.0.1:port/path (no proxy, bounded by timeout_ms). Returns
 * the status (0 when nothing answered); the body's first bytes go to body.
 */
long sbx_http_get(int port, const char *path, long timeout_ms, char *body,
		  size_t size);

/* ---- files.c ---- */
int sbx_write_app_conf(const struct sbx_state *st, const struct sbx_region *r,
		       struct phg_err *err);
int sbx_write_slot_conf(const struct sbx_state *st, const struct sbx_region *r,
			enum sbx_slot s, struct phg_err *err);
int sbx_write_lb_conf(const struct sbx_state *st, const struct sbx_region *r,
		      struct phg_err *err);
int sbx_write_mtail_prog(const struct sbx_state *st, const struct sbx_region *r,
			 struct phg_err *err);
int sbx_write_prom_conf(const struct sbx_state *st, struct phg_err *err);
int sbx_write_config(const struct sbx_state *st, const char *migrations,
		     const char *exe, struct phg_err *err);
/* Region folder paths: dir/<region>/<what>. */
void sbx_region_path(const struct sbx_state *st, const struct sbx_region *r,
		     const char *what, char *out, size_t size);

#endif
