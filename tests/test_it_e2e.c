/*
 * test_it_e2e.c: `phasegate release` end to end in `phasegate sandbox`
 * (three regions of PostgreSQL, nginx balancer and slots, mtail, one
 * Prometheus), with wrk sending traffic through the balancers. The sandbox
 * starts once (tests/sandbox_world.c, an unchecked fixture that always
 * takes it down); each test has its own folder, databases on the sandbox's
 * clusters, migrations and ledger, and a config made from the one `up`
 * wrote with short times (holds of 4 s, analysis every 500 ms, 2 s sustain,
 * 1 s soak, 2 s lease). Covered: the happy path (no failed request, the
 * slots' access logs show each step's split, every step in the ledger), a
 * green slot answering 500s during the 10 % step (rollback, its delay
 * measured, the old slot takes everything back, later regions untouched),
 * SIGKILL of the driver inside each step in turn then `release resume`
 * (finishes, no migration twice, repeated deploys harmless), the second
 * region's database down (halt, exit 3, reason recorded; resume after it
 * is back), the deployment window (refused; emergency approval recorded)
 * and a PostgreSQL ledger with two drivers at once (one refused naming
 * the holder). Flags in Unleash are test_it_release_flags.c's.
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "orchestrator/orchestrator.h"
#include "store/store.h"

#include "sandbox_world.h"
#include "test_it_runner.h"

#define HOLD_S 4.0

static const char *bin(void)
{
	const char *b = getenv("PHG_BINARY");

	return b ? b : "phasegate";
}

/* ---- strings ----------------------------------------------------------- */

/* Replaces every occurrence of from in *s (malloc'd) by to. */
static void replace_all(char **s, const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to), count = 0, o = 0;
	const char *p, *src = *s;
	char *out;

	for (p = strstr(src, from); p; p = strstr(p + nf, from))
		count++;
	out = malloc(strlen(src) + count * nt + 1);
	ck_assert_ptr_nonnull(out);
	for (p = src;;) {
		const char *q = strstr(p, from);

		if (!q) {
			strcpy(out + o, p);
			break;
		}
		memcpy(out + o, p, (size_t)(q - p));
		o += (size_t)(q - p);
		memcpy(out + o, to, nt);
		o += nt;
		p = q + nf;
	}
	free(*s);
	*s = out;
}

/* Replaces the text from `start` up to (excluding) `end` by to. */
static void replace_span(char **s, const char *start, const char *end,
			 const char *to)
{
	char *a = strstr(*s, start), *b, *out;

	ck_assert_msg(a != NULL, "the sandbox's config lacks '%s'", start);
	b = end ? strstr(a, end) : a + strlen(a);
	ck_assert_msg(b != NULL, "the sandbox's config lacks '%s'", end);
	out = malloc(strlen(*s) + strlen(to) + 1);
	ck_assert_ptr_nonnull(out);
	memcpy(out, *s, (size_t)(a - *s));
	strcpy(out + (a - *s), to);
	strcat(out, b);
	free(*s);
	*s = out;
}

/* "2026-11-26T12:43:30.462Z" as Unix time. */
static double iso_time(const char *s)
{
	struct tm tm = {0};
	double sec = 0;

	ck_assert_ptr_nonnull(s);
	ck_assert_msg(sscanf(s, "%d-%d-%dT%d:%d:%lf", &tm.tm_year, &tm.tm_mon,
			     &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &sec) == 6,
		      "not a time: '%s'", s);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm) + sec;
}

/* ---- the project: folder, databases, migrations, config --------------- */

struct proj {
	char *dir;
	char db[64];
	char dsn[SW_NREGIONS][256];
	char state[256]; /* the ledger's location, as the store opens it */
	struct sw_info in;
};

/* What a test changes in the config. */
struct proj_opts {
	const char *window;	     /* "any" when NULL */
	bool one_region;	     /* the primary only */
	bool slow_smoke;	     /* smoke: a command that takes 1 s */
	const char *state_url;	     /* a PostgreSQL ledger */
	const char *extra_migration; /* 0002_... SQL, or NULL */
};

/*
 * deploy.sh REGION SLOT RELEASE: logs, sleeps 1 s while DIR/slow exists,
 * deploys with `phasegate sandbox deploy`, then breaks the slot when
 * DIR/break-REGION exists. smoke.sh: sleeps 1 s, then succeeds.
 */
static void write_scripts(const struct proj *p)
{
	char buf[4096], path[600];

	snprintf(
		buf, sizeof(buf),
		"#!/bin/sh\n"
		"d=%s\n"
		"echo \"start $1 $2 $3 $PHASEGATE_STEP\" >> \"$d/deploy.log\"\n"
		"if [ -e \"$d/slow\" ]; then sleep 1; fi\n"
		"'%s' sandbox deploy --dir '%s' --region \"$1\" --slot \"$2\" "
		"--release \"$3\" || exit 1\n"
		"echo \"deploy $1 $2 $3\" >> \"$d/deploy.log\"\n"
		"if [ -e \"$d/break-$1\" ]; then\n"
		"  '%s' sandbox break --dir '%s' --region \"$1\" --slot \"$2\" "
		"|| exit 1\n"
		"  echo \"broke $1 $2\" >> \"$d/deploy.log\"\n"
		"fi\n",
		p->dir, bin(), sw_dir, bin(), sw_dir);
	th_write_str(p->dir, "deploy.sh", buf);
	snprintf(path, sizeof(path), "%s/deploy.sh", p->dir);
	ck_assert_int_eq(chmod(path, 0755), 0);
	th_write_str(p->dir, "smoke.sh",
		     "#!/bin/sh\nsleep 1\necho \"smoke $1 $2\"\n");
	snprintf(path, sizeof(path), "%s/smoke.sh", p->dir);
	ck_assert_int_eq(chmod(path, 0755), 0);
}

static void proj_setup(struct proj *p, const struct proj_opts *o)
{
	static int seq;
	char path[600], *cfg, line[1024];

	sw_require_up();
	memset(p, 0, sizeof(*p));
	sw_read_info(&p->in);
	p->dir = th_tmpdir();
	snprintf(p->db, sizeof(p->db), "e2e_%d_%d", (int)getpid(), ++seq);
	for (int i = 0; i < SW_NREGIONS; i++) {
		char admin[256], sql[128];

		snprintf(admin, sizeof(admin),
			 "postgresql://postgres@127.0.0.1:%d/postgres",
			 p->in.r[i].pg);
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", p->db);
		ck_assert_msg(rt_exec(admin, sql) == 0,
			      "cannot create database %s in %s", p->db,
			      p->in.r[i].name);
		snprintf(p->dsn[i], sizeof(p->dsn[i]),
			 "postgresql://postgres@127.0.0.1:%d/%s", p->in.r[i].pg,
			 p->db);
	}
	/* An expand, optionally a slow one, and a backfill that must run
	   once per region. */
	rt_mig(p->dir, "0001_create_audit",
	       "CREATE TABLE e2e_audit (n int);\n");
	if (o->extra_migration)
		rt_mig(p->dir, "0002_extra", o->extra_migration);
	rt_mig(p->dir, "0003_audit_row", "INSERT INTO e2e_audit VALUES (1);\n");
	write_scripts(p);

	snprintf(path, sizeof(path), "%s/phasegate.yaml", sw_dir);
	cfg = th_slurp(path);
	ck_assert_ptr_nonnull(cfg);
	snprintf(line, sizeof(line), "migrations: \"%s/migrations\"\n", p->dir);
	replace_span(&cfg, "migrations: ", "postgres_version:", line);
	snprintf(line, sizeof(line), "/%s\n", p->db);
	replace_all(&cfg, "/postgres\n", line);
	replace_all(&cfg, "    soak: 5s\n", "    soak: 1s\n");
	snprintf(line, sizeof(line), "  window: %s\n",
		 o->window ? o->window : "any");
	replace_all(&cfg, "  window: any\n", line);
	replace_all(&cfg, "  lease_ttl: 30s\n", "  lease_ttl: 2s\n");
	replace_all(&cfg, "    hold: 20s\n", "    hold: 4s\n");
	replace_all(&cfg, "    interval: 2s\n", "    interval: 500ms\n");
	replace_all(&cfg, "    sustain: 10s\n", "    sustain: 2s\n");
	snprintf(line, sizeof(line),
		 "  deploy:\n"
		 "    command: [\"%s/deploy.sh\", \"{region}\", \"{slot}\", "
		 "\"{release}\"]\n",
		 p->dir);
	replace_span(&cfg, "  deploy:\n", "    timeout: 1m\n", line);
	if (o->slow_smoke) {
		snprintf(line, sizeof(line),
			 "  smoke:\n"
			 "    command: [\"%s/smoke.sh\", \"{region}\", "
			 "\"{slot}\"]\n"
			 "    timeout: 10s\n",
			 p->dir);
		replace_span(&cfg, "  smoke:\n", NULL, line);
	}
	if (o->one_region)
		replace_span(&cfg, "  - name: eu-west-1\n", "release:\n", "");
	if (o->state_url) {
		snprintf(line, sizeof(line),
			 "state: \"%s\"\nenvironment: ", o->state_url);
		replace_all(&cfg, "environment: ", line);
		snprintf(p->state, sizeof(p->state), "%s", o->state_url);
	} else {
		snprintf(p->state, sizeof(p->state), "%s/.phasegate/state.db",
			 p->dir);
	}
	th_write_str(p->dir, "phasegate.yaml", cfg);
	free(cfg);

	/* The world as a release finds it: blue takes everything, green
	   is not broken, and green's 500s of an earlier test have left the
	   queries' 10 s rate window (plus a scrape). */
	{
		struct stat sb;
		char marker[300];

		snprintf(marker, sizeof(marker), "%s/e2e-broken", sw_dir);
		if (stat(marker, &sb) == 0) {
			double wait =
				(double)sb.st_mtime + 13 - (double)time(NULL);

			if (wait > 0 && wait < 20)
				sw_sleep_ms((long)(wait * 1000));
			unlink(marker);
		}
	}
	for (int i = 0; i < SW_NREGIONS; i++) {
		const char *fix[] = {
			"sandbox",	 "break",  "--dir", sw_dir,  "--region",
			p->in.r[i].name, "--slot", "green", "--fix", NULL};
		char *out = NULL, *err = NULL;

		ck_assert_msg(th_run("/tmp", fix, &out, &err) == 0,
			      "sandbox break --fix: %s", err);
		free(out);
		free(err);
		sw_set_weights(&p->in.r[i], 0);
	}
}

static void proj_teardown(struct proj *p)
{
	th_rmtree(p->dir);
	free(p->dir);
}

/* ---- processes ---------------------------------------------------------- */

/*
 * Starts argv[0] (a path or a name in PATH) with the rest as arguments,
 * stdout and stderr to out_path; it dies with this test process.
 */
static pid_t spawn(const char *cwd, const char *const *argv,
		   const char *out_path)
{
	pid_t parent = getpid(), pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open(out_path ? out_path : "/dev/null",
			     O_WRONLY | O_CREAT | O_TRUNC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent || o < 0 || chdir(cwd) < 0)
			_exit(127);
		dup2(o, 1);
		dup2(o, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* `phasegate ARGS...` in the project in the background. */
static pid_t spawn_pg(const struct proj *p, const char *out_path, ...)
{
	const char *argv[16];
	size_t n = 0;
	va_list ap;

	argv[n++] = bin();
	va_start(ap, out_path);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return spawn(p->dir, argv, out_path);
}

/* ---- traffic: wrk through the balancers -------------------------------- */

struct traffic {
	int n;
	pid_t pid[SW_NREGIONS];
	char out[SW_NREGIONS][640];
	long requests, non2xx, socket_errors;
};

static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096], *save = NULL, *d;

	snprintf(buf, sizeof(buf), "%s",
		 path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char full[4200];

		snprintf(full, sizeof(full), "%s/%s", d, name);
		if (access(full, X_OK) == 0)
			return true;
	}
	return false;
}

/*
 * One wrk per region (the first n), two connections paced at about 100
 * requests/s each, for at most 5 minutes.
 */
static void traffic_start(struct traffic *t, const struct proj *p, int n)
{
	char lua[600];

	ck_assert_msg(in_path("wrk"), "wrk is not installed "
				      "(scripts/install-deps.sh installs it)");
	memset(t, 0, sizeof(*t));
	th_write_str(p->dir, "paced.lua", "function delay() return 10 end\n");
	snprintf(lua, sizeof(lua), "%s/paced.lua", p->dir);
	for (int i = 0; i < n; i++) {
		char url[128];
		const char *argv[] = {"wrk", "-t1", "-c2", "-d300s",
				      "-s",  lua,   url,   NULL};

		snprintf(url, sizeof(url), "http://127.0.0.1:%d/app",
			 p->in.r[i].lb);
		snprintf(t->out[i], sizeof(t->out[i]), "%s/wrk-%d.txt", p->dir,
			 i);
		t->pid[i] = spawn(p->dir, argv, t->out[i]);
	}
	t->n = n;
	sw_sleep_ms(1000);
}

static long num_after(const char *text, const char *key)
{
	const char *p = text ? strstr(text, key) : NULL;

	return p ? strtol(p + strlen(key), NULL, 10) : 0;
}

/* Stops wrk (SIGINT: it prints its summary) and adds up what it saw. */
static void traffic_stop(struct traffic *t)
{
	for (int i = 0; i < t->n; i++)
		kill(t->pid[i], SIGINT);
	for (int i = 0; i < t->n; i++) {
		char *s;
		const char *line;

		rt_wait(t->pid[i], 10000);
		s = th_slurp(t->out[i]);
		ck_assert_msg(s && strstr(s, " requests in "),
			      "wrk printed no summary: %s", s ? s : "");
		for (line = strstr(s, " requests in ");
		     line > s && line[-1] != '\n'; line--)
			;
		t->requests += strtol(line, NULL, 10);
		t->non2xx += num_after(s, "Non-2xx or 3xx responses:");
		if (strstr(s, "Socket errors:"))
			t->socket_errors +=
				num_after(s, "Socket errors: connect ") +
				num_after(s, ", read ") +
				num_after(s, ", write ") +
				num_after(s, ", timeout ");
		free(s);
	}
	t->n = 0;
}

/* ---- the ledger -----------------------------------------------------------
 */

/* `release status TAG --format json`, parsed. */
static cJSON *status_json(const struct proj *p, const char *tag)
{
	char *out = NULL, *err = NULL;
	cJSON *j;
	int rc = rt_run(p->dir, &out, &err, "release", "status", tag,
			"--format", "json", NULL);

	ck_assert_msg(rc == 0, "release status: exit %d: %s", rc, err);
	j = cJSON_Parse(out);
	ck_assert_msg(j != NULL, "release status is not JSON: %s", out);
	free(out);
	free(err);
	return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The last step (region, name) of the status, or NULL. */
static const cJSON *find_step(const cJSON *st, const char *region,
			      const char *name, int *count)
{
	const cJSON *s, *found = NULL;
	int n = 0;

	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(st, "steps"))
	{
		const char *r = jstr(s, "region");

		if (phg_streq(r ? r : "", region) &&
		    phg_streq(jstr(s, "name"), name)) {
			found = s;
			n++;
		}
	}
	if (count)
		*count = n;
	return found;
}

static const char *const plan[] = {"migrate",	 "deploy",     "smoke",
				   "traffic-10", "traffic-50", "traffic-100",
				   "done"};
#define NPLAN (sizeof(plan) / sizeof(plan[0]))

static void assert_region_done(const cJSON *st, const char *region)
{
	for (size_t k = 0; k < NPLAN; k++) {
		const cJSON *s = find_step(st, region, plan[k], NULL);

		ck_assert_msg(s != NULL, "no step %s in %s", plan[k], region);
		ck_assert_msg(phg_streq(jstr(s, "state"), "done"),
			      "%s %s is %s", region, plan[k], jstr(s, "state"));
	}
}

/* The state of step (region, name) in the ledger now, or -1. */
static int ledger_step(const char *state, const char *tag, const char *region,
		       const char *name)
{
	struct phg_store *st = NULL;
	struct phg_store_release rel = {0};
	struct phg_store_step *s = NULL;
	struct phg_err err = {0};
	size_t n = 0;
	bool found = false;
	int result = -1;

	if (phg_store_open(state, &st, &err) < 0) {
		fprintf(stderr, "e2e: cannot read the ledger: %s\n", err.msg);
		return -1;
	}
	if (phg_store_release_get(st, "sandbox", tag, &rel, &found, &err) ==
		    0 &&
	    found && phg_store_step_list(st, rel.id, &s, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++)
			if (phg_streq(s[i].region, region) &&
			    phg_streq(s[i].name, name))
				result = (int)s[i].state;
		phg_store_step_free_array(s, n);
	}
	if (found)
		phg_store_release_release(&rel);
	phg_store_close(st);
	return result;
}

/*
 * Waits up to timeout_s for the driver's output (flushed line by line) to
 * show step (region, name) starting: "-- NAME REGION". The ledger is not
 * polled while the driver runs: every open of the SQLite ledger takes its
 * write lock (BEGIN IMMEDIATE, for the schema check).
 */
static bool wait_step(const char *out_path, const char *region,
		      const char *name, double timeout_s)
{
	double end = sw_now() + timeout_s;
	char want[128];

	snprintf(want, sizeof(want), "-- %s %s\n", name, region);
	while (sw_now() < end) {
		char *text = th_slurp(out_path);
		bool seen = rt_has(text, want);

		free(text);
		if (seen)
			return true;
		sw_sleep_ms(20);
	}
	return false;
}

/* ---- the slots' access logs ------------------------------------------- */

/* Requests to /app each slot of region logged with a time in [t0, t1]. */
static void split(const struct proj *p, int region, double t0, double t1,
		  long *blue, long *green)
{
	const char *slots[] = {"blue", "green"};
	long *counts[] = {blue, green};

	for (int s = 0; s < 2; s++) {
		char path[600], *text, *line, *save = NULL;

		*counts[s] = 0;
		snprintf(path, sizeof(path), "%s/%s/app/logs/%s.access.log",
			 sw_dir, p->in.r[region].name, slots[s]);
		text = th_slurp(path);
		ck_assert_msg(text != NULL, "no access log '%s'", path);
		for (line = strtok_r(text, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char iso[64], uri[256];
			double at;
			int status;

			if (sscanf(line, "%63s %lf %d %255s", iso, &at, &status,
				   uri) == 4 &&
			    strncmp(uri, "/app", 4) == 0 && at >= t0 &&
			    at <= t1)
				(*counts[s])++;
		}
		free(text);
	}
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(happy_path_three_regions_under_traffic)
{
	struct proj p;
	struct proj_opts o = {0};
	struct traffic t;
	char *out = NULL, *err = NULL;
	cJSON *st;
	double t0;
	int rc;

	proj_setup(&p, &o);
	traffic_start(&t, &p, SW_NREGIONS);
	t0 = sw_now();
	rc = rt_run(p.dir, &out, &err, "release", "v1", NULL);
	printf("e2e happy path: release in %.1f s (exit %d)\n", sw_now() - t0,
	       rc);
	traffic_stop(&t);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	ck_assert_msg(rt_has(out, "release v1 finished in every region"), "%s",
		      out);
	free(out);
	free(err);
	printf("e2e happy path: wrk: %ld requests, %ld non-2xx, %ld socket "
	       "errors\n",
	       t.requests, t.non2xx, t.socket_errors);
	ck_assert_int_gt(t.requests, 1000);
	ck_assert_int_eq(t.non2xx, 0);
	ck_assert_int_eq(t.socket_errors, 0);

	/* Every step in the ledger; the backends saw each step's split
	   (from 1 s after the step started: the reload is graceful). */
	st = status_json(&p, "v1");
	ck_assert_str_eq(jstr(st, "state"), "succeeded");
	ck_assert_str_eq(jstr(find_step(st, "", "preflight", NULL), "state"),
			 "done");
	for (int i = 0; i < SW_NREGIONS; i++) {
		const char *region = p.in.r[i].name;
		static const int pct[] = {10, 50, 100};

		assert_region_done(st, region);
		if (i > 0)
			ck_assert_str_eq(
				jstr(find_step(st, region, "soak", NULL),
				     "state"),
				"done");
		for (int k = 0; k < 3; k++) {
			char name[32];
			const cJSON *s;
			long blue, green;
			double a, b, share;

			snprintf(name, sizeof(name), "traffic-%d", pct[k]);
			s = find_step(st, region, name, NULL);
			a = iso_time(jstr(s, "started_at")) + 1.0;
			b = iso_time(jstr(s, "finished_at"));
			split(&p, i, a, b, &blue, &green);
			share = blue + green
					? (double)green / (double)(blue + green)
					: -1;
			printf("e2e happy path: %s %s: blue %ld, green %ld "
			       "(%.1f %% green over %.1f s)\n",
			       region, name, blue, green, 100 * share, b - a);
			ck_assert_msg(blue + green >= 100,
				      "%s %s: only %ld requests logged", region,
				      name, blue + green);
			if (pct[k] == 100)
				ck_assert_msg(share >= 0.99,
					      "%s %s: green got %.3f", region,
					      name, share);
			else
				ck_assert_msg(
					share - pct[k] / 100.0 <= 0.07 &&
						pct[k] / 100.0 - share <= 0.07,
					"%s %s: green got %.3f, want "
					"%.2f",
					region, name, share, pct[k] / 100.0);
		}
		/* The backfill ran once; history rows carry the tag. */
		ck_assert_int_eq(
			rt_num(p.dsn[i], "SELECT count(*) FROM e2e_audit"), 1);
		ck_assert_int_eq(
			rt_num(p.dsn[i],
			       "SELECT count(*) FROM phasegate.history WHERE "
			       "release = 'v1' AND state = 'applied'"),
			2);
	}
	cJSON_Delete(st);
	proj_teardown(&p);
}
END_TEST

START_TEST(green_answering_500s_rolls_the_region_back)
{
	struct proj p;
	struct proj_opts o = {0};
	struct traffic t;
	char *out = NULL, *err = NULL, path[700], *ups;
	const cJSON *s10, *rb;
	cJSON *st;
	long blue, green;
	double delay, bound, t_rb;
	int rc;

	proj_setup(&p, &o);
	th_write_str(p.dir, "break-us-east-1", "");
	traffic_start(&t, &p, SW_NREGIONS);
	/* The next test waits for green's 500s to leave the rate window
	   from when this file was last written. */
	th_write_str(sw_dir, "e2e-broken", "");
	rc = rt_run(p.dir, &out, &err, "release", "v1", NULL);
	th_write_str(sw_dir, "e2e-broken", "");
	/* Traffic after the rollback: all of it on blue. */
	sw_sleep_ms(1500);
	t_rb = (double)time(NULL);
	sw_sleep_ms(2000);
	traffic_stop(&t);
	ck_assert_msg(rc == 1, "exit %d\n%s\n%s", rc, out, err);
	ck_assert_msg(rt_has(err, "rolled back"), "%s", err);
	free(out);
	free(err);
	printf("e2e rollback: wrk: %ld requests, %ld non-2xx (green's 500s "
	       "before the rollback), %ld socket errors\n",
	       t.requests, t.non2xx, t.socket_errors);
	ck_assert_int_gt(t.non2xx, 0);

	st = status_json(&p, "v1");
	ck_assert_str_eq(jstr(st, "state"), "rolled-back");
	s10 = find_step(st, "us-east-1", "traffic-10", NULL);
	ck_assert_ptr_nonnull(s10);
	ck_assert_str_eq(jstr(s10, "state"), "rolled-back");
	rb = find_step(st, "us-east-1", "rollback", NULL);
	ck_assert_msg(rb != NULL, "no rollback step");
	delay = iso_time(jstr(rb, "started_at")) -
		iso_time(jstr(s10, "started_at"));
	/* sustain 2 s + the queries' 10 s rate window + two intervals of
	   500 ms + a scrape (1 s). */
	bound = 2 + 10 + 2 * 0.5 + 1;
	printf("e2e rollback: rolled back %.2f s after the 10 %% step started "
	       "(bound %.1f s); reason: %s\n",
	       delay, bound, jstr(st, "reason"));
	ck_assert_msg(delay > 0 && delay < bound, "rollback after %.2f s",
		      delay);
	ck_assert_msg(rt_has(jstr(st, "reason"), "http_5xx_rate") ||
			      rt_has(jstr(st, "reason"), "error_rate"),
		      "reason: %s", jstr(st, "reason"));
	/* Traffic is 100 % on the old slot: the upstream file and what
	   the slots served. */
	snprintf(path, sizeof(path), "%s/us-east-1/lb/conf/upstream.conf",
		 sw_dir);
	ups = th_slurp(path);
	ck_assert_ptr_nonnull(ups);
	{
		char want[64];

		snprintf(want, sizeof(want), "127.0.0.1:%d down;",
			 p.in.r[0].green);
		ck_assert_msg(strstr(ups, want), "upstream.conf:\n%s", ups);
		snprintf(want, sizeof(want), "127.0.0.1:%d weight=100;",
			 p.in.r[0].blue);
		ck_assert_msg(strstr(ups, want), "upstream.conf:\n%s", ups);
	}
	free(ups);
	split(&p, 0, t_rb, t_rb + 1.5, &blue, &green);
	printf("e2e rollback: after it: blue %ld, green %ld\n", blue, green);
	ck_assert_int_gt(blue, 50);
	ck_assert_int_eq(green, 0);
	/* Later regions untouched: no step, no migration. */
	for (int i = 1; i < SW_NREGIONS; i++) {
		int count;

		ck_assert_ptr_null(
			find_step(st, p.in.r[i].name, "soak", &count));
		ck_assert_ptr_null(
			find_step(st, p.in.r[i].name, "migrate", &count));
		ck_assert(!rt_has_history(p.dsn[i]));
	}
	cJSON_Delete(st);
	proj_teardown(&p);
}
END_TEST

/* Where the driver is killed, in turn: (region, step). */
static const char *const kill_at[][2] = {
	{"us-east-1", "migrate"},     {"us-east-1", "deploy"},
	{"us-east-1", "smoke"},	      {"us-east-1", "traffic-10"},
	{"us-east-1", "traffic-50"},  {"us-east-1", "traffic-100"},
	{"eu-west-1", "soak"},	      {"eu-west-1", "migrate"},
	{"eu-west-1", "deploy"},      {"eu-west-1", "smoke"},
	{"eu-west-1", "traffic-100"},
};
#define NKILL (sizeof(kill_at) / sizeof(kill_at[0]))

START_TEST(sigkill_inside_each_step_then_resume)
{
	struct proj p;
	struct proj_opts o = {.slow_smoke = true,
			      .extra_migration = "SELECT pg_sleep(1.5);\n"};
	struct traffic t;
	char *out = NULL, *err = NULL, path[700], *log;
	cJSON *st;
	int rc, deploys[SW_NREGIONS] = {0};

	proj_setup(&p, &o);
	th_write_str(p.dir, "slow", "");
	traffic_start(&t, &p, SW_NREGIONS);
	for (size_t k = 0; k < NKILL; k++) {
		char out_path[700];
		pid_t pid;
		double t0 = sw_now();

		snprintf(out_path, sizeof(out_path), "%s/driver-%zu.out", p.dir,
			 k);
		pid = k == 0 ? spawn_pg(&p, out_path, "release", "v1", NULL)
			     : spawn_pg(&p, out_path, "release", "resume", "v1",
					NULL);
		ck_assert_msg(
			wait_step(out_path, kill_at[k][0], kill_at[k][1], 90),
			"the release never ran %s of %s", kill_at[k][1],
			kill_at[k][0]);
		sw_sleep_ms(300);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(rt_wait(pid, 10000), 128 + SIGKILL);
		printf("e2e kill: SIGKILL inside %s %s, %.1f s after the "
		       "driver started\n",
		       kill_at[k][0], kill_at[k][1], sw_now() - t0);
		ck_assert_int_eq(ledger_step(p.state, "v1", kill_at[k][0],
					     kill_at[k][1]),
				 PHG_STEP_RUNNING);
		/* The dead driver's lease goes stale after lease_ttl. */
		sw_sleep_ms(2500);
	}
	unlink(strcat(strcpy(path, p.dir), "/slow"));
	rc = rt_run(p.dir, &out, &err, "release", "resume", "v1", NULL);
	traffic_stop(&t);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	ck_assert_msg(rt_has(out, "took over the stale lease"), "%s", out);
	free(out);
	free(err);
	printf("e2e kill: wrk: %ld requests, %ld non-2xx, %ld socket "
	       "errors\n",
	       t.requests, t.non2xx, t.socket_errors);
	ck_assert_int_eq(t.non2xx, 0);
	ck_assert_int_eq(t.socket_errors, 0);

	st = status_json(&p, "v1");
	ck_assert_str_eq(jstr(st, "state"), "succeeded");
	for (int i = 0; i < SW_NREGIONS; i++) {
		assert_region_done(st, p.in.r[i].name);
		/* No migration ran twice. */
		ck_assert_int_eq(
			rt_num(p.dsn[i], "SELECT count(*) FROM e2e_audit"), 1);
		ck_assert_int_eq(
			rt_num(p.dsn[i],
			       "SELECT count(*) FROM phasegate.history WHERE "
			       "release = 'v1' AND state = 'applied'"),
			3);
		ck_assert_int_eq(
			rt_num(p.dsn[i],
			       "SELECT count(*) - count(DISTINCT name) FROM "
			       "phasegate.history"),
			0);
	}
	cJSON_Delete(st);
	/* The killed deploys were repeated, harmlessly: each green serves
	   v1 and answered every request above. */
	snprintf(path, sizeof(path), "%s/deploy.log", p.dir);
	log = th_slurp(path);
	ck_assert_ptr_nonnull(log);
	for (const char *l = log; (l = strstr(l, "start ")) != NULL; l++)
		for (int i = 0; i < SW_NREGIONS; i++)
			if (strncmp(l + 6, p.in.r[i].name,
				    strlen(p.in.r[i].name)) == 0 &&
			    l[6 + strlen(p.in.r[i].name)] == ' ')
				deploys[i]++;
	printf("e2e kill: deploy calls per region: %d, %d, %d\n", deploys[0],
	       deploys[1], deploys[2]);
	ck_assert_int_ge(deploys[0], 2);
	ck_assert_int_ge(deploys[1], 2);
	free(log);
	snprintf(path, sizeof(path), "%s/sandbox.json", sw_dir);
	log = th_slurp(path);
	{
		cJSON *j = cJSON_Parse(log), *r;
		int i = 0;

		ck_assert_ptr_nonnull(j);
		cJSON_ArrayForEach(
			r, cJSON_GetObjectItemCaseSensitive(j, "regions"))
		{
			const cJSON *g = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(r, "slots"),
				"green");

			ck_assert_msg(phg_streq(jstr(g, "release"), "v1"),
				      "green of region %d serves %s", i,
				      jstr(g, "release"));
			i++;
		}
		cJSON_Delete(j);
	}
	free(log);
	proj_teardown(&p);
}
END_TEST

START_TEST(window_refusal_then_emergency_approval)
{
	struct proj p;
	struct proj_opts o = {.one_region = true};
	struct traffic t;
	char window[256], d[3][16], *out = NULL, *err = NULL;
	time_t now = time(NULL);
	cJSON *st;
	int rc;

	/* Denied: yesterday, today and tomorrow in UTC. */
	for (int i = 0; i < 3; i++) {
		time_t tt = now + (i - 1) * 86400;
		struct tm tm;

		gmtime_r(&tt, &tm);
		strftime(d[i], sizeof(d[i]), "%Y-%m-%d", &tm);
	}
	snprintf(window, sizeof(window),
		 "{timezone: UTC, days: [sun, mon, tue, wed, thu, fri, sat], "
		 "deny: [\"%s\", \"%s\", \"%s\"]}",
		 d[0], d[1], d[2]);
	o.window = window;
	proj_setup(&p, &o);
	rc = rt_run(p.dir, &out, &err, "release", "v1", NULL);
	ck_assert_msg(rc == 1 && rt_has(err, "outside the deployment window"),
		      "exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	ck_assert(!rt_has_history(p.dsn[0]));
	traffic_start(&t, &p, 1);
	rc = rt_run(p.dir, &out, &err, "release", "v1", "--emergency",
		    "--approved-by", "alice", NULL);
	traffic_stop(&t);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	ck_assert_int_eq(t.non2xx + t.socket_errors, 0);
	st = status_json(&p, "v1");
	ck_assert_str_eq(jstr(st, "state"), "succeeded");
	ck_assert_str_eq(jstr(st, "approved_by"), "alice");
	assert_region_done(st, "us-east-1");
	cJSON_Delete(st);
	rc = rt_run(p.dir, &out, &err, "history", NULL);
	ck_assert_msg(rc == 0 && rt_has(out, "approved by alice"), "%s", out);
	free(out);
	free(err);
	proj_teardown(&p);
}
END_TEST

START_TEST(postgresql_ledger_two_drivers_one_refused)
{
	struct proj p;
	struct proj_opts o = {.one_region = true};
	struct sw_info in;
	struct traffic t;
	char url[256], admin[256], sql[128], outs[2][700], *text[2];
	pid_t pid[2];
	int rc[2], driver;

	sw_require_up();
	sw_read_info(&in);
	snprintf(admin, sizeof(admin),
		 "postgresql://postgres@127.0.0.1:%d/postgres", in.r[0].pg);
	snprintf(sql, sizeof(sql), "CREATE DATABASE e2e_ledger_%d",
		 (int)getpid());
	ck_assert_int_eq(rt_exec(admin, sql), 0);
	snprintf(url, sizeof(url),
		 "postgresql://postgres@127.0.0.1:%d/e2e_ledger_%d", in.r[0].pg,
		 (int)getpid());
	o.state_url = url;
	proj_setup(&p, &o);
	traffic_start(&t, &p, 1);
	for (int i = 0; i < 2; i++) {
		snprintf(outs[i], sizeof(outs[i]), "%s/driver-%d.out", p.dir,
			 i);
		pid[i] = spawn_pg(&p, outs[i], "release", "v1", NULL);
	}
	for (int i = 0; i < 2; i++)
		rc[i] = rt_wait(pid[i], 120000);
	traffic_stop(&t);
	for (int i = 0; i < 2; i++)
		text[i] = th_slurp(outs[i]);
	printf("e2e pg ledger: exits %d and %d\n", rc[0], rc[1]);
	driver = rc[0] == 0 ? 0 : 1;
	ck_assert_msg(rc[driver] == 0 && rc[1 - driver] == 3,
		      "exits %d and %d\n%s\n%s", rc[0], rc[1], text[0],
		      text[1]);
	{
		char holder[64];

		snprintf(holder, sizeof(holder), ":%d:", (int)pid[driver]);
		ck_assert_msg(rt_has(text[1 - driver], "held by") &&
				      rt_has(text[1 - driver], holder),
			      "the refused one says: %s", text[1 - driver]);
		printf("e2e pg ledger: the refused one: %s",
		       strstr(text[1 - driver], "phasegate:")
			       ? strstr(text[1 - driver], "phasegate:")
			       : text[1 - driver]);
	}
	ck_assert_int_eq(t.non2xx + t.socket_errors, 0);
	/* The ledger's rows are in PostgreSQL. */
	ck_assert_int_eq(
		rt_num(url, "SELECT count(*) FROM phasegate_ledger.releases "
			    "WHERE tag = 'v1' AND state = 'succeeded'"),
		1);
	free(text[0]);
	free(text[1]);
	proj_teardown(&p);
}
END_TEST

/* runuser -u postgres -- pg_ctl ARGS (as root), bounded to 60 s. */
static int pg_ctl(const char *data, const char *verb)
{
	char log[1024];
	const char *as_root[] = {"runuser",
				 "-u",
				 "postgres",
				 "--",
				 "/usr/lib/postgresql/15/bin/pg_ctl",
				 "-D",
				 data,
				 "-l",
				 log,
				 "-w",
				 "-t",
				 "60",
				 "-m",
				 "fast",
				 verb,
				 NULL};
	pid_t pid;

	snprintf(log, sizeof(log), "%s/../server.log", data);
	pid = spawn("/tmp", geteuid() == 0 ? as_root : as_root + 4, NULL);
	return rt_wait(pid, 70000);
}

/* Records the restarted postmaster in sandbox.json, for `down`. */
static void record_postmaster(const char *data, int region)
{
	char path[1024], *text, stat_path[64], buf[1024], *q;
	long pid;
	unsigned long long start = 0;
	cJSON *j, *r, *pg;
	FILE *f;

	snprintf(path, sizeof(path), "%s/postmaster.pid", data);
	text = th_slurp(path);
	ck_assert_ptr_nonnull(text);
	pid = atol(text);
	free(text);
	snprintf(stat_path, sizeof(stat_path), "/proc/%ld/stat", pid);
	f = fopen(stat_path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	q = strrchr(buf, ')');
	ck_assert_ptr_nonnull(q);
	/* Fields 3..21 after the name, then 22 is the start time. */
	q += 2;
	for (int field = 3; field < 22 && q; field++)
		q = strchr(q, ' ') ? strchr(q, ' ') + 1 : NULL;
	ck_assert_ptr_nonnull(q);
	start = strtoull(q, NULL, 10);
	snprintf(path, sizeof(path), "%s/sandbox.json", sw_dir);
	text = th_slurp(path);
	j = cJSON_Parse(text);
	free(text);
	ck_assert_ptr_nonnull(j);
	r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "regions"),
			       region);
	pg = cJSON_GetObjectItemCaseSensitive(r, "postgres");
	ck_assert_ptr_nonnull(pg);
	cJSON_ReplaceItemInObjectCaseSensitive(pg, "pid",
					       cJSON_CreateNumber((double)pid));
	cJSON_ReplaceItemInObjectCaseSensitive(
		pg, "start", cJSON_CreateNumber((double)start));
	text = cJSON_Print(j);
	th_write_str(sw_dir, "sandbox.json", text);
	free(text);
	cJSON_Delete(j);
}

/* Runs last: it restarts eu-west-1's PostgreSQL. */
START_TEST(second_region_database_down_halts_then_resumes)
{
	struct proj p;
	struct proj_opts o = {0};
	struct traffic t;
	char data[700], out_path[700], *out = NULL, *err = NULL, *text;
	const cJSON *mig;
	cJSON *st;
	pid_t pid;
	int rc;

	proj_setup(&p, &o);
	snprintf(data, sizeof(data), "%s/eu-west-1/data", p.in.pgroot);
	traffic_start(&t, &p, SW_NREGIONS);
	snprintf(out_path, sizeof(out_path), "%s/driver.out", p.dir);
	pid = spawn_pg(&p, out_path, "release", "v1", NULL);
	/* Preflight saw every database; now the second one goes away. */
	ck_assert_msg(wait_step(out_path, "us-east-1", "traffic-10", 60),
		      "the release never reached us-east-1's traffic-10");
	ck_assert_int_eq(pg_ctl(data, "stop"), 0);
	rc = rt_wait(pid, 120000);
	text = th_slurp(out_path);
	ck_assert_msg(rc == 3, "exit %d\n%s", rc, text);
	printf("e2e db down: the release halted (exit 3): %s",
	       strstr(text, "phasegate:") ? strstr(text, "phasegate:") : "\n");
	free(text);
	st = status_json(&p, "v1");
	ck_assert_str_eq(jstr(st, "state"), "running");
	assert_region_done(st, "us-east-1");
	mig = find_step(st, "eu-west-1", "migrate", NULL);
	ck_assert_ptr_nonnull(mig);
	ck_assert_str_eq(jstr(mig, "state"), "failed");
	ck_assert_msg(rt_has(jstr(mig, "detail"), "eu-west-1") ||
			      rt_has(jstr(mig, "detail"), "connect"),
		      "detail: %s", jstr(mig, "detail"));
	ck_assert_ptr_null(find_step(st, "eu-west-1", "deploy", NULL));
	cJSON_Delete(st);

	/* Back again: resume finishes. */
	ck_assert_int_eq(pg_ctl(data, "start"), 0);
	record_postmaster(data, 1);
	sw_sleep_ms(2500); /* the lease is free; waiting is harmless */
	rc = rt_run(p.dir, &out, &err, "release", "resume", "v1", NULL);
	traffic_stop(&t);
	ck_assert_msg(rc == 0, "exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	ck_assert_int_eq(t.non2xx + t.socket_errors, 0);
	st = status_json(&p, "v1");
	ck_assert_str_eq(jstr(st, "state"), "succeeded");
	for (int i = 0; i < SW_NREGIONS; i++) {
		assert_region_done(st, p.in.r[i].name);
		ck_assert_int_eq(
			rt_num(p.dsn[i], "SELECT count(*) FROM e2e_audit"), 1);
	}
	cJSON_Delete(st);
	proj_teardown(&p);
}
END_TEST

/* E2E_ONLY=WORD[,WORD] runs only the tests whose names have a WORD. */
static bool wanted(const char *name)
{
	const char *only = getenv("E2E_ONLY");
	char buf[256], *save = NULL, *w;

	if (!only || !*only)
		return true;
	snprintf(buf, sizeof(buf), "%s", only);
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
		if (strstr(name, w))
			return true;
	return false;
}

#define ADD(t)                                                                 \
	do {                                                                   \
		if (wanted(#t))                                                \
			tcase_add_test(tc, t);                                 \
	} while (0)

static Suite *e2e_suite(void)
{
	Suite *s = suite_create("it_e2e");
	TCase *tc = tcase_create("e2e");

	tcase_add_unchecked_fixture(tc, sw_up, sw_down);
	tcase_set_timeout(tc, 300);
	ADD(happy_path_three_regions_under_traffic);
	ADD(green_answering_500s_rolls_the_region_back);
	ADD(sigkill_inside_each_step_then_resume);
	ADD(window_refusal_then_emergency_approval);
	ADD(postgresql_ledger_two_drivers_one_refused);
	ADD(second_region_database_down_halts_then_resumes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(e2e_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
