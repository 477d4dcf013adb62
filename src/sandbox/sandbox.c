/*
 * sandbox.c: `phasegate sandbox up|down|status|deploy|break` — starting the
 * three regions (PostgreSQL, the backends' nginx, the balancer's nginx,
 * mtail) and Prometheus, recording every process in sandbox.json as soon as
 * it starts (so a failure half-way, or a later `down`, stops exactly what
 * runs), probing them, and changing what a slot serves.
 *
 * PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the
 * `postgres` user through runuser (the recipe of tests/pg_cluster.c), from
 * /tmp, and its folders live under the sandbox when postgres can reach it,
 * else in a /tmp folder recorded in the state. initdb runs once; each
 * region's cluster is a copy of that template.
 */
#define _DEFAULT_SOURCE /* initgroups, mkdtemp */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "internal.h"

#define RUNUSER "/usr/sbin/runuser"
#define INITIAL_RELEASE "v0"

/* Bounds, in milliseconds. */
enum {
	T_INITDB = 120000,
	T_COPY = 120000,
	T_PG_CTL = 90000,
	T_ANSWER = 20000,  /* a started process answers HTTP */
	T_SCRAPED = 40000, /* Prometheus has scraped every mtail */
	T_STOP = 10000,	   /* polite stop, then SIGKILL */
	T_RELOAD = 15000,  /* a reloaded slot serves the change */
	T_NGINX_TEST = 20000
};

/* The programs the sandbox runs, found once. */
struct progs {
	char nginx[SBX_PATH], mtail[SBX_PATH], prometheus[SBX_PATH];
	bool root;
	uid_t pg_uid;
	gid_t pg_gid;
};

static void progress(const struct phg_sandbox_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void progress(const struct phg_sandbox_opts *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!o || !o->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->progress(o->progress_arg, line);
}

static int find_progs(struct progs *p, struct phg_err *err)
{
	static const char *const hint =
		": install it (scripts/install-deps.sh)";

	memset(p, 0, sizeof(*p));
	if (!sbx_find_exe("nginx", p->nginx, sizeof(p->nginx)))
		return phg_err_set(err, PHG_EUSAGE, "nginx is not installed%s",
				   hint);
	if (!sbx_find_exe("mtail", p->mtail, sizeof(p->mtail)))
		return phg_err_set(err, PHG_EUSAGE, "mtail is not installed%s",
				   hint);
	if (!sbx_find_exe("prometheus", p->prometheus, sizeof(p->prometheus)))
		return phg_err_set(err, PHG_EUSAGE,
				   "prometheus is not installed%s", hint);
	if (access(SBX_PGBIN "/initdb", X_OK) < 0 ||
	    access(SBX_PGBIN "/pg_ctl", X_OK) < 0)
		return phg_err_set(
			err, PHG_EUSAGE,
			"PostgreSQL 15 is not installed ('%s/initdb' "
			"is missing)%s",
			SBX_PGBIN, hint);
	p->root = geteuid() == 0;
	if (p->root) {
		struct passwd *pw = getpwnam("postgres");

		if (!pw || access(RUNUSER, X_OK) < 0)
			return phg_err_set(
				err, PHG_EUSAGE,
				"running as root, PostgreSQL must run as the "
				"'postgres' user through %s: %s is missing",
				RUNUSER, pw ? RUNUSER : "the 'postgres' user");
		p->pg_uid = pw->pw_uid;
		p->pg_gid = pw->pw_gid;
	}
	return 0;
}

/* argv run as postgres when we are root: runuser -u postgres -- argv. */
static void as_postgres(const struct progs *p, const char **in,
			const char **out, size_t cap)
{
	size_t n = 0;

	if (p->root && cap > 5) {
		out[n++] = RUNUSER;
		out[n++] = "-u";
		out[n++] = "postgres";
		out[n++] = "--";
	}
	for (; *in && n + 1 < cap; in++)
		out[n++] = *in;
	out[n] = NULL;
}

/* Whether the postgres user can reach (search and read) dir. */
static bool postgres_can_reach(const struct progs *p, const char *dir)
{
	pid_t pid;
	int status = 0;

	if (!p->root)
		return true;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		if (initgroups("postgres", p->pg_gid) < 0 ||
		    setgid(p->pg_gid) < 0 || setuid(p->pg_uid) < 0)
			_exit(2);
		_exit(access(dir, R_OK | X_OK) == 0 ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) < 0)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Characters the generated nginx and YAML files cannot hold in a path. */
static int check_path_chars(const char *dir, struct phg_err *err)
{
	for (const char *s = dir; *s; s++)
		if (strchr("\"'\\$;{}#`", *s) || (unsigned char)*s < 0x20)
			return phg_err_set(
				err, PHG_EUSAGE,
				"sandbox folder '%s' holds '%c', which the "
				"nginx configs cannot hold: choose another "
				"--dir",
				dir, *s);
	return 0;
}

/* Whether dir holds nothing but the lock file. */
static bool dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool empty = true;

	if (!d)
		return true;
	while (empty && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, ".lock"))
			empty = false;
	closedir(d);
	return empty;
}

static void pg_path(const struct sbx_state *st, const struct sbx_region *r,
		    const char *what, char *out, size_t size)
{
	sbx_fmt(out, size, "%s/%s%s%s", st->pgroot, r->name, what[0] ? "/" : "",
		what);
}

/* The postmaster's pid from data/postmaster.pid (0 when none). */
static long read_postmaster_pid(const char *data)
{
	char path[SBX_PATH + 32];
	long pid = 0;
	FILE *f;

	sbx_fmt(path, sizeof(path), "%s/postmaster.pid", data);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

/* ---- stopping ---------------------------------------------------------- */

/*
 * Stops everything recorded in st, all at once: SIGTERM to Prometheus,
 * mtail and nginx (a fast shutdown), SIGINT to each postmaster (what
 * pg_ctl -m fast sends); then waits for each, SIGKILL after T_STOP.
 * Returns the number of processes that would not go.
 */
static int stop_all(struct sbx_state *st)
{
	struct {
		struct sbx_proc *p;
		int sig;
	} all[1 + 4 * SBX_NREGIONS];
	size_t n = 0;
	int left = 0;

	all[n].p = &st->prom;
	all[n++].sig = SIGTERM;
	for (size_t i = 0; i < st->nregions; i++) {
		struct sbx_region *r = &st->r[i];

		all[n].p = &r->mtail;
		all[n++].sig = SIGTERM;
		all[n].p = &r->lb;
		all[n++].sig = SIGTERM;
		all[n].p = &r->app;
		all[n++].sig = SIGTERM;
		all[n].p = &r->pg;
		all[n++].sig = SIGINT;
	}
	for (size_t i = 0; i < n; i++)
		if (sbx_proc_alive(all[i].p))
			kill((pid_t)all[i].p->pid, all[i].sig);
	for (size_t i = 0; i < n; i++) {
		if (!sbx_proc_stop(all[i].p, all[i].sig, T_STOP))
			left++;
		else
			memset(all[i].p, 0, sizeof(*all[i].p));
	}
	return left;
}

/* Stops everything and removes the folders (a failed `up`, or `down`). */
static int teardown(struct sbx_state *st, struct phg_err *err)
{
	int left = stop_all(st);

	if (st->pgroot_outside)
		sbx_rmtree(st->pgroot);
	sbx_rmtree(st->dir);
	if (left)
		return phg_err_set(err, PHG_ERUNTIME,
				   "%d sandbox process%s would not stop, even "
				   "with SIGKILL",
				   left, left == 1 ? "" : "es");
	return 0;
}

/* ---- starting ---------------------------------------------------------- */

/*
 * Waits until GET port/path answers 200 while our child pid runs. On
 * failure names what and quotes the tail of log.
 */
static int wait_answer(pid_t pid, int port, const char *path, const char *what,
		       const char *log, struct phg_err *err)
{
	double deadline = sbx_now() + T_ANSWER / 1000.0;
	char body[64], tail[400];
	int status;

	for (;;) {
		if (sbx_http_get(port, path, 1000, body, sizeof(body)) == 200)
			return 0;
		if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
			sbx_file_tail(log, tail, sizeof(tail));
			return phg_err_set(err, PHG_ERUNTIME,
					   "%s exited at start: %s", what,
					   tail[0] ? tail : "(no output)");
		}
		if (sbx_now() > deadline) {
			sbx_file_tail(log, tail, sizeof(tail));
			return phg_err_set(err, PHG_ERUNTIME,
					   "%s does not answer on 127.0.0.1:%d "
					   "after %d s: %s",
					   what, port, T_ANSWER / 1000,
					   tail[0] ? tail : "(no output)");
		}
		sbx_sleep_ms(50);
	}
}

static int make_dirs(const struct sbx_state *st, const struct progs *p,
		     struct phg_err *err)
{
	static const char *const sub[] = {"app/conf",	"app/logs", "app/temp",
					  "lb/conf",	"lb/logs",  "lb/temp",
					  "mtail/progs"};
	char path[SBX_PATH + 64];
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < st->nregions; i++) {
		for (size_t k = 0; rc == 0 && k < sizeof(sub) / sizeof(sub[0]);
		     k++) {
			sbx_region_path(st, &st->r[i], sub[k], path,
					sizeof(path));
			rc = sbx_mkdirs(path, err);
		}
		pg_path(st, &st->r[i], "", path, sizeof(path));
		rc = rc ? rc : sbx_mkdirs(path, err);
		if (rc == 0 && p->root && chown(path, p->pg_uid, p->pg_gid) < 0)
			rc = phg_err_set(err, PHG_EIO,
					 "cannot chown '%s' to postgres: %s",
					 path, strerror(errno));
	}
	/*
	 * The balancer's access log exists before nginx and mtail start:
	 * mtail polls only the files it finds at start, and nginx appends to
	 * the file it opened (never replace it: nginx would go on writing to
	 * the old inode until a reload).
	 */
	for (size_t i = 0; rc == 0 && i < st->nregions; i++) {
		int fd;

		sbx_region_path(st, &st->r[i], "lb/logs/access.log", path,
				sizeof(path));
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			  0644);
		if (fd < 0)
			rc = phg_err_set(err, PHG_EIO, "cannot create '%s': %s",
					 path, strerror(errno));
		else
			close(fd);
	}
	sbx_fmt(path, sizeof(path), "%s/prometheus/data", st->dir);
	rc = rc ? rc : sbx_mkdirs(path, err);
	sbx_fmt(path, sizeof(path), "%s/template", st->pgroot);
	rc = rc ? rc : sbx_mkdirs(path, err);
	if (rc == 0 && p->root &&
	    (chown(st->pgroot, p->pg_uid, p->pg_gid) < 0 ||
	     chown(path, p->pg_uid, p->pg_gid) < 0))
		rc = phg_err_set(err, PHG_EIO,
				 "cannot chown '%s' to postgres: %s",
				 st->pgroot, strerror(errno));
	return rc;
}

/* The settings each cluster gets, appended to its postgresql.conf. */
static int pg_settings(const char *data, int port, struct phg_err *err)
{
	char path[SBX_PATH + 32];
	FILE *f;

	sbx_fmt(path, sizeof(path), "%s/postgresql.conf", data);
	f = fopen(path, "a");
	if (!f)
		return phg_err_set(err, PHG_EIO, "cannot write '%s': %s", path,
				   strerror(errno));
	fprintf(f,
		"\n# phasegate sandbox\n"
		"port = %d\n"
		"listen_addresses = '127.0.0.1'\n"
		"unix_socket_directories = ''\n"
		"max_connections = 40\n"
		"shared_buffers = 16MB\n"
		"fsync = off\n"
		"synchronous_commit = off\n"
		"full_page_writes = off\n",
		port);
	if (fclose(f) != 0)
		return phg_err_set(err, PHG_EIO, "cannot write '%s': %s", path,
				   strerror(errno));
	return 0;
}

/*
 * initdb once into a template, then every region at once: copy the
 * template, add the settings, pg_ctl start -w (which returns when the
 * server accepts connections).
 */
static int start_postgres(struct sbx_state *st, const struct progs *p,
			  const struct phg_sandbox_opts *o, struct phg_err *err)
{
	char tmpl[SBX_PATH + 32], out[SBX_NREGIONS][1024];
	char data[SBX_NREGIONS][SBX_PATH + 32],
		log[SBX_NREGIONS][SBX_PATH + 32];
	struct sbx_job jobs[SBX_NREGIONS];
	const char *argv[24];
	int code, rc = 0;

	sbx_fmt(tmpl, sizeof(tmpl), "%s/template/data", st->pgroot);
	{
		const char *initdb[] = {SBX_PGBIN "/initdb",
					"-D",
					tmpl,
					"-U",
					"postgres",
					"--auth=trust",
					"--no-sync",
					"-E",
					"UTF8",
					"--locale=C.UTF-8",
					NULL};

		as_postgres(p, initdb, argv, 24);
		code = sbx_run(argv, "/tmp", T_INITDB, out[0], sizeof(out[0]));
		if (code != 0)
			return phg_err_set(err, PHG_ERUNTIME,
					   "initdb failed: %s", out[0]);
	}
	for (size_t i = 0; i < st->nregions; i++) {
		const char *cp[] = {"/bin/cp", "-a", tmpl, data[i], NULL};

		pg_path(st, &st->r[i], "data", data[i], sizeof(data[i]));
		pg_path(st, &st->r[i], "server.log", log[i], sizeof(log[i]));
		sbx_job_start(&jobs[i], cp, "/tmp", T_COPY, out[i],
			      sizeof(out[i]));
	}
	for (size_t i = 0; i < st->nregions; i++) {
		code = sbx_job_finish(&jobs[i]);
		if (code != 0 && rc == 0)
			rc = phg_err_set(err, PHG_ERUNTIME,
					 "copying the PostgreSQL template for "
					 "%s failed: %s",
					 st->r[i].name, out[i]);
		rc = rc ? rc : pg_settings(data[i], st->r[i].pg_port, err);
	}
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < st->nregions; i++) {
		const char *pg_ctl[] = {SBX_PGBIN "/pg_ctl",
					"-D",
					data[i],
					"-l",
					log[i],
					"-w",
					"-t",
					"60",
					"start",
					NULL};

		as_postgres(p, pg_ctl, argv, 24);
		sbx_job_start(&jobs[i], argv, "/tmp", T_PG_CTL, out[i],
			      sizeof(out[i]));
	}
	for (size_t i = 0; i < st->nregions; i++) {
		struct sbx_region *r = &st->r[i];

		code = sbx_job_finish(&jobs[i]);
		sbx_proc_set(&r->pg, read_postmaster_pid(data[i]));
		if (code != 0 && rc == 0) {
			char tail[400];

			sbx_file_tail(log[i], tail, sizeof(tail));
			rc = phg_err_set(err, PHG_ERUNTIME,
					 "PostgreSQL of %s did not start on "
					 "port %d: %s",
					 r->name, r->pg_port,
					 tail[0] ? tail : out[i]);
		}
	}
	if (sbx_state_save(st, err) < 0 && rc == 0)
		rc = err->code;
	for (size_t i = 0; rc == 0 && i < st->nregions; i++)
		progress(o, "postgres   %-15s 127.0.0.1:%d", st->r[i].name,
			 st->r[i].pg_port);
	return rc;
}

/* Starts nginx -p prefix -c conf/<conf> (daemon off: pid is the master). */
static int start_nginx(const struct progs *p, const char *prefix,
		       const char *conf, pid_t *pid, struct phg_err *err)
{
	char confpath[SBX_PATH + 64], log[SBX_PATH + 64], errlog[SBX_PATH + 64];
	const char *argv[] = {p->nginx, "-p", prefix, "-c",
			      confpath, "-e", errlog, NULL};

	sbx_fmt(confpath, sizeof(confpath), "%s/conf/%s", prefix, conf);
	sbx_fmt(log, sizeof(log), "%s/logs/nginx.out", prefix);
	sbx_fmt(errlog, sizeof(errlog), "%s/logs/error.log", prefix);
	return sbx_spawn(argv, prefix, log, pid, err);
}

/* The pids of what start_services spawned, for wait_services. */
struct spawned {
	pid_t app[SBX_NREGIONS], lb[SBX_NREGIONS], mtail[SBX_NREGIONS], prom;
};

/*
 * Spawns both nginx of every region, each region's mtail (on the access
 * log, created beforehand: mtail polls only the files it finds at start)
 * and Prometheus, recording each in the state; waits for none of them.
 */
static int start_services(struct sbx_state *st, const struct progs *p,
			  struct spawned *sp, struct phg_err *err)
{
	char path[SBX_PATH + 64], log[SBX_PATH + 64];
	int rc = 0;

	memset(sp, 0, sizeof(*sp));
	for (size_t i = 0; rc == 0 && i < st->nregions; i++) {
		struct sbx_region *r = &st->r[i];

		sbx_region_path(st, r, "app", path, sizeof(path));
		rc = start_nginx(p, path, "app.conf", &sp->app[i], err);
		if (rc == 0)
			sbx_proc_set(&r->app, sp->app[i]);
		sbx_region_path(st, r, "lb", path, sizeof(path));
		rc = rc ? rc : start_nginx(p, path, "lb.conf", &sp->lb[i], err);
		if (rc == 0)
			sbx_proc_set(&r->lb, sp->lb[i]);
		rc = rc ? rc : sbx_state_save(st, err);
	}
	for (size_t i = 0; rc == 0 && i < st->nregions; i++) {
		struct sbx_region *r = &st->r[i];
		char progs[SBX_PATH], logs[SBX_PATH + 64], port[16];
		const char *argv[] = {p->mtail,
				      "-progs",
				      progs,
				      "-logs",
				      logs,
				      "-address",
				      "127.0.0.1",
				      "-port",
				      port,
				      "-logtostderr",
				      "-emit_prog_label=false",
				      NULL};

		sbx_region_path(st, r, "mtail/progs", progs, sizeof(progs));
		sbx_region_path(st, r, "lb/logs/access.log", logs,
				sizeof(logs));
		sbx_fmt(port, sizeof(port), "%d", r->mtail_port);
		sbx_region_path(st, r, "mtail/mtail.log", log, sizeof(log));
		rc = rc ? rc : sbx_spawn(argv, progs, log, &sp->mtail[i], err);
		if (rc == 0)
			sbx_proc_set(&r->mtail, sp->mtail[i]);
		rc = rc ? rc : sbx_state_save(st, err);
	}
	if (rc == 0) {
		char cfg[SBX_PATH + 64], data[SBX_PATH + 64], listen[64],
			pdir[SBX_PATH + 32];
		const char *argv[] = {p->prometheus,
				      cfg,
				      data,
				      listen,
				      "--storage.tsdb.retention.time=1h",
				      NULL};

		sbx_fmt(pdir, sizeof(pdir), "%s/prometheus", st->dir);
		sbx_fmt(cfg, sizeof(cfg), "--config.file=%s/prometheus.yml",
			pdir);
		sbx_fmt(data, sizeof(data), "--storage.tsdb.path=%s/data",
			pdir);
		sbx_fmt(listen, sizeof(listen),
			"--web.listen-address=127.0.0.1:%d", st->prom_port);
		sbx_fmt(log, sizeof(log), "%s/prometheus.log", pdir);
		rc = sbx_spawn(argv, pdir, log, &sp->prom, err);
		if (rc == 0)
			sbx_proc_set(&st->prom, sp->prom);
		rc = rc ? rc : sbx_state_save(st, err);
	}
	return rc;
}

/* Waits until everything start_services spawned answers. */
static int wait_services(const struct sbx_state *st, const struct spawned *sp,
			 const struct phg_sandbox_opts *o, struct phg_err *err)
{
	char log[SBX_PATH + 64];
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < st->nregions; i++) {
		const struct sbx_region *r = &st->r[i];
		char what[64];

		sbx_region_path(st, r, "app/logs/error.log", log, sizeof(log));
		sbx_fmt(what, sizeof(what), "the backends' nginx of %s",
			r->name);
		rc = wait_answer(sp->app[i], r->blue_port, "/health", what, log,
				 err);
		rc = rc ? rc
			: wait_answer(sp->app[i], r->green_port, "/health",
				      what, log, err);
		rc = rc ? rc
			: wait_answer(sp->app[i], r->slots_port, "/health",
				      what, log, err);
		sbx_region_path(st, r, "lb/logs/error.log", log, sizeof(log));
		sbx_fmt(what, sizeof(what), "the balancer of %s", r->name);
		rc = rc ? rc
			: wait_answer(sp->lb[i], r->lb_port,
				      "/phasegate-lb/health", what, log, err);
		sbx_region_path(st, r, "mtail/mtail.log", log, sizeof(log));
		sbx_fmt(what, sizeof(what), "mtail of %s", r->name);
		rc = rc ? rc
			: wait_answer(sp->mtail[i], r->mtail_port, "/metrics",
				      what, log, err);
		if (rc == 0) {
			progress(o,
				 "backends   %-15s blue 127.0.0.1:%d, green "
				 "127.0.0.1:%d",
				 r->name, r->blue_port, r->green_port);
			progress(o, "balancer   %-15s 127.0.0.1:%d", r->name,
				 r->lb_port);
			progress(o, "mtail      %-15s 127.0.0.1:%d", r->name,
				 r->mtail_port);
		}
	}
	if (rc == 0) {
		sbx_fmt(log, sizeof(log), "%s/prometheus/prometheus.log",
			st->dir);
		rc = wait_answer(sp->prom, st->prom_port, "/-/ready",
				 "prometheus", log, err);
	}
	return rc;
}

/*
 * Waits until Prometheus has scraped every region's mtail: the first
 * scrape becomes queryable seconds after start (RECIPES.md), so poll.
 */
static int wait_scraped(const struct sbx_state *st, struct phg_err *err)
{
	double deadline = sbx_now() + T_SCRAPED / 1000.0;
	char body[2048], want[16];

	sbx_fmt(want, sizeof(want), "\"%zu\"", st->nregions);
	for (;;) {
		long code = sbx_http_get(
			st->prom_port,
			"/api/v1/query?query=count(up%7Bjob%3D%22mtail%22%7D"
			"%3D%3D1)",
			2000, body, sizeof(body));

		if (code == 200 && strstr(body, want))
			return 0;
		if (sbx_now() > deadline)
			return phg_err_set(err, PHG_ERUNTIME,
					   "prometheus has not scraped every "
					   "region's mtail after %d s",
					   T_SCRAPED / 1000);
		sbx_sleep_ms(250);
	}
}

/* Turns a path into an absolute one; dir is created when missing. */
static int absolute_dir(const char *dir, bool create, char *out, size_t size,
			bool *exists, struct phg_err *err)
{
	char *real;
	struct stat sb;

	*exists = stat(dir, &sb) == 0;
	if (*exists && !S_ISDIR(sb.st_mode))
		return phg_err_set(err, PHG_EUSAGE,
				   "sandbox folder '%s' is not a folder", dir);
	if (!*exists && create) {
		int rc = sbx_mkdirs(dir, err);

		if (rc < 0)
			return rc;
	}
	if (!*exists && !create) {
		sbx_fmt(out, size, "%s", dir);
		return 0;
	}
	real = realpath(dir, NULL);
	if (!real)
		return phg_err_set(err, PHG_EIO, "cannot resolve '%s': %s", dir,
				   strerror(errno));
	if (strlen(real) + 64 >= size) {
		free(real);
		return phg_err_set(err, PHG_EUSAGE,
				   "sandbox folder '%s' is too long a path",
				   dir);
	}
	sbx_fmt(out, size, "%s", real);
	free(real);
	return 0;
}

/* Whether every component answers (for an idempotent `up`). */
static int check_running(const char *dir, const char **bad, struct phg_err *err)
{
	static char name[96];
	struct phg_sandbox_component *c = NULL;
	size_t n = 0;
	int rc = phg_sandbox_status(dir, &c, &n, err);

	*bad = NULL;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!c[i].answers) {
			sbx_fmt(name, sizeof(name), "%s%s%s", c[i].name,
				c[i].region[0] ? " of " : "", c[i].region);
			*bad = name;
			break;
		}
	}
	free(c);
	return rc;
}

int phg_sandbox_up(const struct phg_sandbox_opts *opts, bool *already,
		   struct phg_err *err)
{
	struct sbx_state *st = NULL;
	struct spawned sp;
	struct progs p;
	char dir[SBX_PATH], migrations[SBX_PATH];
	int ports[6 * SBX_NREGIONS + 1];
	bool exists, found = false, started = false;
	int lock = -1, rc;

	*already = false;
	rc = find_progs(&p, err);
	rc = rc ? rc
		: absolute_dir(opts->dir, true, dir, sizeof(dir), &exists, err);
	rc = rc ? rc : check_path_chars(dir, err);
	if (rc < 0)
		return rc;
	{
		char *m = realpath(opts->migrations, NULL);

		sbx_fmt(migrations, sizeof(migrations), "%s",
			m ? m : opts->migrations);
		free(m);
	}
	st = phg_xcalloc(1, sizeof(*st));
	if (!st)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	lock = sbx_lock(dir, err);
	if (lock < 0) {
		rc = err->code ? err->code : PHG_ERUNTIME;
		goto out;
	}
	rc = sbx_state_load(dir, st, &found, err);
	if (rc < 0)
		goto out;
	if (found) {
		const char *bad = NULL;

		rc = check_running(dir, &bad, err);
		if (rc == 0 && bad)
			rc = phg_err_set(
				err, PHG_ERUNTIME,
				"the sandbox in '%s' runs only in part "
				"(%s does not answer): run 'phasegate "
				"sandbox down --dir %s' first",
				dir, bad, dir);
		if (rc == 0)
			*already = true;
		goto out;
	}
	if (!dir_is_empty(dir)) {
		rc = phg_err_set(err, PHG_EUSAGE,
				 "'%s' is not empty and holds no sandbox: "
				 "choose another --dir",
				 dir);
		goto out;
	}

	sbx_fmt(st->dir, sizeof(st->dir), "%s", dir);
	st->nregions = SBX_NREGIONS;
	rc = sbx_free_ports(ports, sizeof(ports) / sizeof(ports[0]), err);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < st->nregions; i++) {
		struct sbx_region *r = &st->r[i];
		const int *pp = &ports[6 * i];

		sbx_fmt(r->name, sizeof(r->name), "%s", sbx_region_names[i]);
		r->primary = i == 0;
		r->pg_port = pp[0];
		r->blue_port = pp[1];
		r->green_port = pp[2];
		r->slots_port = pp[3];
		r->lb_port = pp[4];
		r->mtail_port = pp[5];
		for (int s = 0; s < 2; s++)
			sbx_fmt(r->slot[s].release, sizeof(r->slot[s].release),
				"%s", INITIAL_RELEASE);
	}
	st->prom_port = ports[6 * SBX_NREGIONS];
	if (postgres_can_reach(&p, dir)) {
		sbx_fmt(st->pgroot, sizeof(st->pgroot), "%s/pg", dir);
	} else {
		char tmpl[] = "/tmp/phasegate-sandbox-XXXXXX";

		if (!mkdtemp(tmpl)) {
			rc = phg_err_set(err, PHG_EIO,
					 "cannot create a folder in /tmp: %s",
					 strerror(errno));
			goto out;
		}
		sbx_fmt(st->pgroot, sizeof(st->pgroot), "%s", tmpl);
		st->pgroot_outside = true;
	}
	/* From here on a failure stops what runs and removes the folder. */
	started = true;
	rc = sbx_state_save(st, err);
	rc = rc ? rc : make_dirs(st, &p, err);
	for (size_t i = 0; rc == 0 && i < st->nregions; i++) {
		struct sbx_region *r = &st->r[i];

		rc = sbx_write_app_conf(st, r, err);
		rc = rc ? rc : sbx_write_slot_conf(st, r, SBX_BLUE, err);
		rc = rc ? rc : sbx_write_slot_conf(st, r, SBX_GREEN, err);
		rc = rc ? rc : sbx_write_lb_conf(st, r, err);
		rc = rc ? rc : sbx_write_mtail_prog(st, r, err);
	}
	rc = rc ? rc : sbx_write_prom_conf(st, err);
	/* Prometheus's first scrape takes seconds: start it before initdb. */
	rc = rc ? rc : start_services(st, &p, &sp, err);
	rc = rc ? rc : start_postgres(st, &p, opts, err);
	rc = rc ? rc : wait_services(st, &sp, opts, err);
	rc = rc ? rc : wait_scraped(st, err);
	if (rc == 0)
		progress(opts, "prometheus %-15s 127.0.0.1:%d", "",
			 st->prom_port);
	rc = rc ? rc : sbx_write_config(st, migrations, opts->exe, err);
	rc = rc ? rc : sbx_state_save(st, err);
out:
	if (rc < 0 && started) {
		struct phg_err ignored = {0};

		sbx_unlock(lock);
		lock = -1;
		teardown(st, &ignored);
	}
	sbx_unlock(lock);
	free(st);
	return rc;
}

int phg_sandbox_down(const char *dir_in, bool *was_up, struct phg_err *err)
{
	struct sbx_state *st = NULL;
	char dir[SBX_PATH];
	bool exists, found = false;
	int lock = -1, rc;

	*was_up = false;
	rc = absolute_dir(dir_in, false, dir, sizeof(dir), &exists, err);
	if (rc < 0 || !exists)
		return rc;
	st = phg_xcalloc(1, sizeof(*st));
	if (!st)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	lock = sbx_lock(dir, err);
	if (lock < 0) {
		rc = err->code ? err->code : PHG_ERUNTIME;
		goto out;
	}
	rc = sbx_state_load(dir, st, &found, err);
	if (rc < 0)
		goto out;
	if (!found) {
		if (dir_is_empty(dir))
			sbx_rmtree(dir);
		else
			rc = phg_err_set(err, PHG_EUSAGE,
					 "'%s' holds no sandbox (no %s): not "
					 "removing it",
					 dir, PHG_SANDBOX_STATE);
		goto out;
	}
	/* The state names its own folder: trust the one we were given. */
	sbx_fmt(st->dir, sizeof(st->dir), "%s", dir);
	*was_up = true;
	sbx_unlock(lock);
	lock = -1;
	rc = teardown(st, err);
out:
	sbx_unlock(lock);
	free(st);
	return rc;
}

/* ---- status ------------------------------------------------------------ */

static bool pg_answers(int port)
{
	char conninfo[128];

	sbx_fmt(conninfo, sizeof(conninfo),
		"host=127.0.0.1 port=%d dbname=postgres user=postgres "
		"connect_timeout=3 sslmode=disable",
		port);
	return port > 0 && PQping(conninfo) == PQPING_OK;
}

static struct phg_sandbox_component *add_row(struct phg_sandbox_component *c,
					     size_t *n, const char *name,
					     const char *region, int port,
					     const struct sbx_proc *p)
{
	struct phg_sandbox_component *row = &c[(*n)++];

	sbx_fmt(row->name, sizeof(row->name), "%s", name);
	sbx_fmt(row->region, sizeof(row->region), "%s", region);
	sbx_fmt(row->addr, sizeof(row->addr), "127.0.0.1:%d", port);
	row->port = port;
	row->pid = p->pid;
	row->running = sbx_proc_alive(p);
	return row;
}

/* A slot's row: answers /health; detail says what it serves. */
static void slot_row(struct phg_sandbox_component *row,
		     const struct sbx_region *r, enum sbx_slot s)
{
	char body[128];
	long code;

	row->answers = row->running && sbx_http_get(row->port, "/health", 2000,
						    body, sizeof(body)) == 200;
	if (!row->answers)
		return;
	code = sbx_http_get(row->port, "/version", 2000, body, sizeof(body));
	body[strcspn(body, "\r\n")] = '\0';
	sbx_fmt(row->detail, sizeof(row->detail), "release %s%s",
		code == 200 ? body : "?",
		r->slot[s].broken ? ", broken (app answers 500)" : "");
}

int phg_sandbox_status(const char *dir_in, struct phg_sandbox_component **out,
		       size_t *nout, struct phg_err *err)
{
	struct phg_sandbox_component *c;
	struct sbx_state *st;
	char dir[SBX_PATH], body[256];
	bool exists, found = false;
	size_t n = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	rc = absolute_dir(dir_in, false, dir, sizeof(dir), &exists, err);
	if (rc < 0)
		return rc;
	st = phg_xcalloc(1, sizeof(*st));
	if (!st)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	rc = exists ? sbx_state_load(dir, st, &found, err) : 0;
	if (rc == 0 && !found)
		rc = phg_err_set(err, PHG_EUSAGE, "no sandbox in '%s'", dir);
	c = rc == 0 ? phg_xcalloc(6 * SBX_NREGIONS + 1, sizeof(*c)) : NULL;
	if (rc == 0 && !c)
		rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < st->nregions; i++) {
		const struct sbx_region *r = &st->r[i];
		struct phg_sandbox_component *row;

		row = add_row(c, &n, "postgres", r->name, r->pg_port, &r->pg);
		row->answers = row->running && pg_answers(r->pg_port);
		if (r->primary)
			sbx_fmt(row->detail, sizeof(row->detail), "primary");
		row = add_row(c, &n, "blue", r->name, r->blue_port, &r->app);
		slot_row(row, r, SBX_BLUE);
		row = add_row(c, &n, "green", r->name, r->green_port, &r->app);
		slot_row(row, r, SBX_GREEN);
		row = add_row(c, &n, "slots", r->name, r->slots_port, &r->app);
		row->answers = row->running &&
			       sbx_http_get(r->slots_port, "/health", 2000,
					    body, sizeof(body)) == 200;
		sbx_fmt(row->detail, sizeof(row->detail),
			"/blue/..., /green/...");
		row = add_row(c, &n, "balancer", r->name, r->lb_port, &r->lb);
		row->answers = row->running &&
			       sbx_http_get(r->lb_port, "/phasegate-lb/health",
					    2000, body, sizeof(body)) == 200;
		row = add_row(c, &n, "mtail", r->name, r->mtail_port,
			      &r->mtail);
		row->answers = row->running &&
			       sbx_http_get(r->mtail_port, "/metrics", 2000,
					    body, sizeof(body)) == 200;
	}
	if (rc == 0) {
		struct phg_sandbox_component *row = add_row(
			c, &n, "prometheus", "", st->prom_port, &st->prom);

		row->answers = row->running &&
			       sbx_http_get(st->prom_port, "/-/ready", 2000,
					    body, sizeof(body)) == 200;
		*out = c;
		*nout = n;
	} else {
		free(c);
	}
	free(st);
	return rc;
}

/* ---- deploy and break --------------------------------------------------- */

static int check_release(const char *release, struct phg_err *err)
{
	size_t n = release ? strlen(release) : 0;

	if (n == 0 || n > 64)
		return phg_err_set(err, PHG_EUSAGE,
				   "a release tag of 1 to 64 characters is "
				   "needed");
	for (const char *s = release; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._-+", *s)))
			return phg_err_set(err, PHG_EUSAGE,
					   "release tag '%s' holds '%c': the "
					   "sandbox takes letters, digits and "
					   ". _ - +",
					   release, *s);
	return 0;
}

/*
 * Rewrites the slot's server block and reloads the backends' nginx (test
 * the config, then SIGHUP: nginx's graceful reload), then waits until the
 * slot answers with the release and the app path with the status wanted.
 */
static int apply_slot(struct sbx_state *st, struct sbx_region *r,
		      enum sbx_slot s, struct phg_err *err)
{
	char prefix[SBX_PATH], conf[SBX_PATH + 32], errlog[SBX_PATH + 32],
		out[1024], body[256], want[80];
	const char *argv[] = {NULL, "-t", "-q", "-p",	prefix,
			      "-c", conf, "-e", errlog, NULL};
	int port = s == SBX_BLUE ? r->blue_port : r->green_port;
	long expect = r->slot[s].broken ? 500 : 200;
	char nginx[SBX_PATH];
	long old[64];
	size_t nold;
	double deadline;
	int rc;

	if (!sbx_proc_alive(&r->app))
		return phg_err_set(err, PHG_ERUNTIME,
				   "the backends' nginx of %s is not running "
				   "(pid %ld): run 'phasegate sandbox status'",
				   r->name, r->app.pid);
	if (!sbx_find_exe("nginx", nginx, sizeof(nginx)))
		return phg_err_set(err, PHG_EUSAGE, "nginx is not installed");
	rc = sbx_write_slot_conf(st, r, s, err);
	if (rc < 0)
		return rc;
	sbx_region_path(st, r, "app", prefix, sizeof(prefix));
	sbx_fmt(conf, sizeof(conf), "%s/conf/app.conf", prefix);
	sbx_fmt(errlog, sizeof(errlog), "%s/logs/error.log", prefix);
	argv[0] = nginx;
	if (sbx_run(argv, prefix, T_NGINX_TEST, out, sizeof(out)) != 0)
		return phg_err_set(err, PHG_ERUNTIME,
				   "the new config of %s's %s slot does not "
				   "pass 'nginx -t': %s",
				   r->name, sbx_slot_name(s), out);
	/* The workers serving the old config, to wait for them to go. */
	nold = sbx_children(r->app.pid, old, sizeof(old) / sizeof(old[0]));
	if (kill((pid_t)r->app.pid, SIGHUP) < 0)
		return phg_err_set(err, PHG_ERUNTIME,
				   "cannot reload the backends' nginx of %s: "
				   "%s",
				   r->name, strerror(errno));
	sbx_fmt(want, sizeof(want), "%s\n", r->slot[s].release);
	deadline = sbx_now() + T_RELOAD / 1000.0;
	for (;;) {
		bool old_gone = true;

		for (size_t i = 0; old_gone && i < nold; i++) {
			struct sbx_proc w = {old[i], 0};

			old_gone = !sbx_proc_alive(&w);
		}
		if (old_gone &&
		    sbx_http_get(port, "/version", 2000, body, sizeof(body)) ==
			    200 &&
		    strcmp(body, want) == 0 &&
		    sbx_http_get(port, "/app", 2000, body, sizeof(body)) ==
			    expect)
			return 0;
		if (sbx_now() > deadline)
			return phg_err_set(err, PHG_ERUNTIME,
					   "the %s slot of %s does not serve "
					   "%s%s %d s after the reload",
					   sbx_slot_name(s), r->name,
					   r->slot[s].release,
					   r->slot[s].broken ? " (broken)" : "",
					   T_RELOAD / 1000);
		sbx_sleep_ms(50);
	}
}

/* Loads the state and finds region and slot, under the lock. */
static int change_slot(const char *dir_in, const char *region, const char *slot,
		       const char *release, int broken, struct phg_err *err)
{
	struct sbx_state *st = NULL;
	struct sbx_region *r = NULL;
	char dir[SBX_PATH];
	bool exists, found = false;
	int s = sbx_slot_parse(slot), lock = -1, rc;

	if (s < 0)
		return phg_err_set(err, PHG_EUSAGE,
				   "unknown slot '%s': blue or green",
				   slot ? slot : "");
	rc = absolute_dir(dir_in, false, dir, sizeof(dir), &exists, err);
	if (rc < 0)
		return rc;
	if (!exists)
		return phg_err_set(err, PHG_EUSAGE, "no sandbox in '%s'", dir);
	st = phg_xcalloc(1, sizeof(*st));
	if (!st)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	lock = sbx_lock(dir, err);
	if (lock < 0) {
		rc = err->code ? err->code : PHG_ERUNTIME;
		goto out;
	}
	rc = sbx_state_load(dir, st, &found, err);
	if (rc == 0 && !found)
		rc = phg_err_set(err, PHG_EUSAGE, "no sandbox in '%s'", dir);
	if (rc < 0)
		goto out;
	sbx_fmt(st->dir, sizeof(st->dir), "%s", dir);
	for (size_t i = 0; i < st->nregions; i++)
		if (region && strcmp(st->r[i].name, region) == 0)
			r = &st->r[i];
	if (!r) {
		rc = phg_err_set(err, PHG_EUSAGE,
				 "unknown region '%s': the sandbox has %s, %s "
				 "and %s",
				 region ? region : "", sbx_region_names[0],
				 sbx_region_names[1], sbx_region_names[2]);
		goto out;
	}
	if (release)
		sbx_fmt(r->slot[s].release, sizeof(r->slot[s].release), "%s",
			release);
	if (broken >= 0)
		r->slot[s].broken = broken != 0;
	/* Recorded first: a repeated call converges on the same state. */
	rc = sbx_state_save(st, err);
	rc = rc ? rc : apply_slot(st, r, (enum sbx_slot)s, err);
out:
	sbx_unlock(lock);
	free(st);
	return rc;
}

int phg_sandbox_deploy(const char *dir, const char *region, const char *slot,
		       const char *release, struct phg_err *err)
{
	int rc = check_release(release, err);

	return rc ? rc : change_slot(dir, region, slot, release, -1, err);
}

int phg_sandbox_break(const char *dir, const char *region, const char *slot,
		      bool broken, struct phg_err *err)
{
	return change_slot(dir, region, slot, NULL, broken ? 1 : 0, err);
}
