/*
 * pg_cluster: real PostgreSQL 15 clusters for integration tests, one per
 * "region", each in its own short temporary folder and on a free port of
 * 127.0.0.1, run as the unprivileged `postgres` user through runuser
 * (PostgreSQL refuses to run as root, and the tests run as root). Folders
 * are /dev/shm/pgc-XXXXXX when /dev/shm has room, else /tmp/pgc-XXXXXX, or
 * under $PGC_DIR (keep it short: the socket path must stay under 107 bytes).
 *
 * initdb runs once into a template data folder; each cluster is a `cp -a`
 * copy of it, so three clusters start in about a second. Child processes
 * run with argv (no shell) and every wait is bounded in time.
 *
 * Stopping always happens, even when a test fails:
 *   - pgc_stop_all() stops the clusters and removes their folders;
 *   - a started set is registered: an atexit handler calls pgc_stop_all(),
 *     and a handler for SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTERM,
 *     SIGINT and SIGHUP asks each postmaster for a fast shutdown before the
 *     signal takes its usual course; both act only in the process that
 *     called pgc_start(), never in Check's forked test children;
 *   - a small guard process (its own session) waits on a pipe from the
 *     process that called pgc_start(); when that process is gone without
 *     pgc_stop_all() (SIGKILL from a timeout, a crash), the guard stops the
 *     clusters and removes the folders.
 *
 * The safe pattern with Check (which forks each test by default): start the
 * clusters in an UNCHECKED fixture, which runs in the runner process, and
 * stop them in its teardown; the tests of the TCase share them:
 *
 *	static struct pgc_set regions;
 *	static int regions_rc = -1;
 *	static void up(void) { regions_rc = pgc_start(&regions, 3); }
 *	static void down(void) { pgc_stop_all(&regions); }
 *	...
 *	tcase_add_unchecked_fixture(tc, up, down);
 *	tcase_set_timeout(tc, 120);
 *	...and each test begins with:
 *	ck_assert_msg(pgc_available(), PGC_UNAVAILABLE_MSG);
 *	ck_assert_msg(regions_rc == 0, "pgc_start failed (see stderr)");
 *
 * A set belongs to the process that started it. pgc_start() inside a
 * (forked) test or a checked fixture is fine only if that test also calls
 * pgc_stop_all(): otherwise the child's atexit handler stops the clusters
 * when the test ends, and later tests would find them gone. With CK_FORK=no
 * everything runs in one process and the same pattern works. A test may
 * stop and restart one cluster (pgc_stop_one, pgc_restart_one): a server's
 * state lives in its data folder, so the runner's copy of the set stays
 * valid.
 *
 * An integration test must never pass silently when PostgreSQL is missing:
 * it fails with PGC_UNAVAILABLE_MSG.
 */
#ifndef PHG_TEST_PG_CLUSTER_H
#define PHG_TEST_PG_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Where Debian's postgresql-15 package puts the server programs. */
#ifndef PGC_BINDIR
#define PGC_BINDIR "/usr/lib/postgresql/15/bin"
#endif

#define PGC_UNAVAILABLE_MSG                                                    \
	"PostgreSQL 15 is not installed (" PGC_BINDIR "/initdb or the "        \
	"'postgres' user is missing): run scripts/install-deps.sh"

/* One running (or stopped) server. */
struct pgc_cluster {
	char dir[256]; /* its folder: data/, server.log, the socket */
	int port;      /* TCP port on 127.0.0.1, kept across restarts */
	char dsn[512]; /* postgresql://postgres@127.0.0.1:PORT/postgres */
};

/* A set of clusters started together; pgc_start() fills it. */
struct pgc_set {
	struct pgc_cluster *c; /* n clusters, owned by the set */
	size_t n;
	char template_dir[256]; /* holds data/, the initdb template */
	/* Internal: the process that started the set, and its guard. */
	pid_t owner;
	pid_t guard_pid;
	int guard_fd;
};

/*
 * Whether clusters can be started here: PGC_BINDIR/initdb and runuser are
 * executable and the `postgres` user exists.
 */
bool pgc_available(void);

/*
 * Starts n clusters (1 to 64) into *set, which the caller provides (usually
 * a static) and which must stay valid until pgc_stop_all(). Returns 0 once
 * every server accepts connections; -1 after printing why to stderr (with
 * the tail of the server's log), in which case everything already started
 * is stopped and removed and *set is left empty.
 */
int pgc_start(struct pgc_set *set, size_t n);

/*
 * Stops cluster i (fast shutdown, waits up to 60 s); its folder stays, so
 * pgc_restart_one() can start it again. Stopping a stopped cluster is a
 * no-op.
 */
void pgc_stop_one(struct pgc_set *set, size_t i);

/*
 * Starts cluster i again on the same port and data. Returns 0 when it
 * accepts connections, -1 after printing why to stderr.
 */
int pgc_restart_one(struct pgc_set *set, size_t i);

/*
 * Stops every cluster of the set, removes their folders and the template,
 * frees set->c and unregisters the set. Safe to call twice, and on a set
 * whose pgc_start() failed.
 */
void pgc_stop_all(struct pgc_set *set);

/*
 * Runs sql (one or more statements) on cluster c's `postgres` database in
 * a new connection (connect timeout 10 s). Returns 0, or -1 after printing
 * the server's error to stderr.
 */
int pgc_exec(const struct pgc_cluster *c, const char *sql);

/*
 * Runs sql on cluster c and returns the first column of the first row as a
 * malloc'd string the caller frees. Returns NULL on error (printed to
 * stderr), when there is no row, or when the value is SQL NULL.
 */
char *pgc_query_value(const struct pgc_cluster *c, const char *sql);

/*
 * Whether cluster c accepts connections right now (PQping, connect timeout
 * 5 s). Prints nothing: meant for checking that a cluster is down.
 */
bool pgc_ping(const struct pgc_cluster *c);

#endif
