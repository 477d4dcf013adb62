/*
 * test_it_secrets.c: a database password never leaves phasegate (DESIGN
 * "Secrets"). A real PostgreSQL 15 cluster gets a role whose password is a
 * fresh random string (set from a SCRAM verifier computed on the client, so
 * the server never sees it either), and pg_hba.conf makes that role log in
 * with it over TCP. Every command that takes a DSN runs with the DSN in the
 * environment (${NAME} in the config), in URL and in keyword form: lint,
 * plan, migrate (dry run, real, again), status (text and json), adopt
 * (dry run, real), and the failure paths — a wrong password, a port
 * nobody listens on, a database that does not exist, a failing migration.
 * Every stdout and stderr is kept; then all of it, the history table, the
 * server's log and every file under the project are searched for the
 * password (as written and as percent-encoded in the URL): zero hits.
 *
 * Commands are rows of a table (struct step), so a command that lands
 * later is one more row in the run that fits it.
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <dirent.h>
#include <sys/stat.h>

#include "test_it_runner.h"

static struct pgc_set cluster;
static int cluster_rc = -1;

/* The role's password: "S3c-", 24 random hex digits, "/~". The '/' must
   be written %2F in a URL: both forms are searched for. */
static char password[64];
static char password_url[80];

static void cluster_up(void)
{
	if (!pgc_available())
		return; /* each test fails with PGC_UNAVAILABLE_MSG */
	cluster_rc = pgc_start(&cluster, 1);
}

static void cluster_down(void)
{
	pgc_stop_all(&cluster);
}

static void require_cluster(void)
{
	ck_assert_msg(pgc_available(), PGC_UNAVAILABLE_MSG);
	ck_assert_msg(cluster_rc == 0, "pgc_start failed (see stderr)");
}

/* Fills password and password_url with a fresh random password. */
static void make_password(void)
{
	unsigned char raw[12];
	FILE *f = fopen("/dev/urandom", "rb");
	char hex[25];

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(raw, 1, sizeof(raw), f), sizeof(raw));
	fclose(f);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	snprintf(password, sizeof(password), "S3c-%s/~", hex);
	snprintf(password_url, sizeof(password_url), "S3c-%s%%2F~", hex);
}

/*
 * Creates role `app` with the password (its SCRAM verifier computed here)
 * and a database it owns, and makes TCP logins of `app` need the password
 * (the harness's clusters trust everyone). Returns the database's name.
 */
static const char *create_app_db(void)
{
	static char db[64];
	const struct pgc_cluster *c = &cluster.c[0];
	PGconn *pg = PQconnectdb(c->dsn);
	char *verifier, sql[512], hba[300], *old, *body;

	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
	verifier = PQencryptPasswordConn(pg, password, "app", "scram-sha-256");
	ck_assert_msg(verifier != NULL, "%s", PQerrorMessage(pg));
	PQfinish(pg);
	snprintf(db, sizeof(db), "secrets_%d", (int)getpid());
	snprintf(sql, sizeof(sql),
		 "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE "
		 "rolname = 'app') THEN CREATE ROLE app LOGIN; END IF; END $$;"
		 "ALTER ROLE app PASSWORD '%s'",
		 verifier);
	PQfreemem(verifier);
	ck_assert_int_eq(pgc_exec(c, sql), 0);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER app", db);
	ck_assert_int_eq(pgc_exec(c, sql), 0);

	snprintf(hba, sizeof(hba), "%s/data/pg_hba.conf", c->dir);
	old = th_slurp(hba);
	ck_assert_ptr_nonnull(old);
	if (!strstr(old, "host all app 127.0.0.1/32 scram-sha-256")) {
		FILE *f;

		ck_assert_int_gt(asprintf(&body,
					  "host all app 127.0.0.1/32 "
					  "scram-sha-256\n%s",
					  old),
				 0);
		f = fopen(hba, "w");
		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(fputs(body, f) >= 0, 1);
		ck_assert_int_eq(fclose(f), 0);
		free(body);
		ck_assert_int_eq(pgc_exec(c, "SELECT pg_reload_conf()"), 0);
		rt_sleep_ms(300);
	}
	free(old);
	return db;
}

/* Everything the commands printed, to search at the end. */
struct sink {
	char *all;
	size_t len;
};

static void sink_add(struct sink *s, const char *what, const char *text)
{
	size_t n = strlen(what) + strlen(text) + 2;
	char *grown = realloc(s->all, s->len + n + 1);

	ck_assert_ptr_nonnull(grown);
	s->all = grown;
	s->len += (size_t)snprintf(s->all + s->len, n + 1, "%s\n%s\n", what,
				   text);
}

/* One command of a run: its arguments and the exit code it must give. */
struct step {
	const char *argv[8];
	int rc;
	const char *stderr_has; /* NULL, or text stderr must hold */
};

/* Runs the steps in dir; every output goes into the sink. */
static void run_steps(const char *dir, const struct step *steps, size_t n,
		      struct sink *s)
{
	for (size_t i = 0; i < n; i++) {
		char *out = NULL, *err = NULL, label[256];
		int rc = th_run(dir, steps[i].argv, &out, &err);
		size_t len = 0;

		for (size_t k = 0; steps[i].argv[k]; k++)
			len += (size_t)snprintf(label + len,
						sizeof(label) - len, "%s ",
						steps[i].argv[k]);
		ck_assert_msg(rc == steps[i].rc,
			      "'%s' exit %d, expected %d\n%s%s", label, rc,
			      steps[i].rc, out, err);
		if (steps[i].stderr_has)
			ck_assert_msg(rt_has(err, steps[i].stderr_has),
				      "'%s': '%s' not in stderr:\n%s", label,
				      steps[i].stderr_has, err);
		sink_add(s, label, out);
		sink_add(s, label, err);
		free(out);
		free(err);
	}
}

/* Appends every file under dir (phasegate may have written one). */
static void sink_tree(struct sink *s, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ck_assert_int_eq(lstat(path, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			sink_tree(s, path);
		} else if (S_ISREG(st.st_mode)) {
			char *text = th_slurp(path);

			/* Binary files (a SQLite ledger) hold NULs: search
			   each piece. */
			for (off_t at = 0; text && at < st.st_size;) {
				sink_add(s, path, text + at);
				at += (off_t)strlen(text + at) + 1;
			}
			free(text);
		}
	}
	closedir(d);
}

/* Fails the test when needle is in the sink, showing where. */
static void assert_absent(const struct sink *s, const char *needle)
{
	const char *hit = strstr(s->all, needle);
	const char *from;

	if (!hit)
		return;
	from = hit - s->all > 300 ? hit - 300 : s->all;
	ck_abort_msg("a secret leaked: ...%.400s...", from);
}

static void assert_no_password(const struct sink *s)
{
	ck_assert_ptr_nonnull(s->all);
	assert_absent(s, password);
	assert_absent(s, password_url);
	/* Its distinctive part alone, in case it was cut or re-encoded. */
	assert_absent(s, password + 4);
}

/* The secret path of the webhook URL (a closed port: posting fails). */
#define HOOK_SECRET "hook-3f9c1e7a5b"
#define RELEASE_YAML                                                           \
	"release:\n"                                                           \
	"  window: any\n"                                                      \
	"  traffic:\n"                                                         \
	"    steps: [100]\n"                                                   \
	"    hold: 0\n"                                                        \
	"  notify:\n"                                                          \
	"    webhook:\n"                                                       \
	"      url: http://127.0.0.1:1/services/${PHG_SECRET_HOOK}\n"

#define GM_DDL                                                                 \
	"CREATE TABLE IF NOT EXISTS \"schema_migrations\" (version bigint "    \
	"not null primary key, dirty boolean not null)"

/*
 * The project: golang-migrate files (so adopt has a tool to read) and a
 * release whose webhook URL holds a secret path. With a URL DSN the ledger
 * is on PostgreSQL through the same secret DSN; a keyword DSN cannot name a
 * ledger (refused, see keyword_dsn_refused_as_ledger), so that run keeps the
 * SQLite ledger beside the config, which the tree search reads.
 */
static void write_project(const char *dir, bool pg_ledger)
{
	th_write_str(
		dir, "phasegate.yaml",
		pg_ledger ? "migrations: migrations\n"
			    "state: ${PHG_SECRET_DSN}\n"
			    "regions:\n"
			    "  - name: eu-west-1\n"
			    "    database: ${PHG_SECRET_DSN}\n" RELEASE_YAML
			  : "migrations: migrations\n"
			    "regions:\n"
			    "  - name: eu-west-1\n"
			    "    database: ${PHG_SECRET_DSN}\n" RELEASE_YAML);
	th_write_str(dir, "migrations/1_create_accounts.up.sql",
		     "CREATE TABLE accounts (id bigint PRIMARY KEY);\n");
	th_write_str(dir, "migrations/2_add_email.up.sql",
		     "ALTER TABLE accounts ADD COLUMN email text;\n");
	th_write_str(dir, "migrations/3_add_name.up.sql",
		     "ALTER TABLE accounts ADD COLUMN name text;\n");
}

static void set_dsn(const char *dsn)
{
	ck_assert_int_eq(setenv("PHG_SECRET_DSN", dsn, 1), 0);
}

/* The history table, the ledger's tables and the server's log. */
static void sink_server(struct sink *s, const char *dsn, bool pg_ledger)
{
	char *dump, logf[300], *log;

	if (pg_ledger) {
		dump = rt_value(
			dsn, "SELECT count(*) || E'\\n' || string_agg("
			     "query_to_xml(format('SELECT * FROM %I.%I', "
			     "table_schema, table_name), true, false, '')"
			     "::text, E'\\n') FROM information_schema.tables "
			     "WHERE table_schema = 'phasegate_ledger'");
		ck_assert_ptr_nonnull(dump);
		ck_assert_msg(rt_has(dump, "v2.0.0"),
			      "the PostgreSQL ledger holds no release");
		sink_add(s, "ledger", dump);
		free(dump);
	}

	dump = rt_value(dsn, "SELECT string_agg(h::text, E'\\n') FROM "
			     "phasegate.history h");
	ck_assert_ptr_nonnull(dump);
	sink_add(s, "history", dump);
	free(dump);
	snprintf(logf, sizeof(logf), "%s/server.log", cluster.c[0].dir);
	log = th_slurp(logf);
	if (log) {
		sink_add(s, "server.log", log);
		free(log);
	}
}

static void run_all(bool keyword_form)
{
	const struct pgc_cluster *c = &cluster.c[0];
	const char *db;
	char *dir, good[512], wrong[512], closed[512], nodb[512];
	struct sink s = {0};
	/* Reading, adopting and applying with the right password. */
	static const struct step ok[] = {
		{{"lint", NULL}, 0, NULL},
		{{"lint", "--format", "json", NULL}, 0, NULL},
		{{"lint", "--all", "--format", "sarif", "migrations", NULL},
		 0,
		 NULL},
		{{"adopt", "--from", "golang-migrate", "--dry-run", NULL},
		 0,
		 NULL},
		{{"adopt", "--from", "golang-migrate", NULL}, 0, NULL},
		{{"plan", NULL}, 0, NULL},
		{{"migrate", "--dry-run", NULL}, 0, NULL},
		{{"migrate", "--release", "v1.0.0", NULL}, 0, NULL},
		{{"migrate", NULL}, 0, NULL},
		{{"status", NULL}, 0, NULL},
		{{"status", "--format", "json", NULL}, 0, NULL},
		/* A release through the ledger, its webhook failing. */
		{{"release", "v2.0.0", "--dry-run", NULL}, 0, NULL},
		{{"release", "v2.0.0", NULL}, 0, NULL},
		{{"release", "status", NULL}, 0, NULL},
		{{"release", "status", "v2.0.0", "--format", "json", NULL},
		 0,
		 NULL},
		{{"history", NULL}, 0, NULL},
		{{"release", "report", "v2.0.0", "--html", "report.html", NULL},
		 0,
		 NULL},
		{{"rollback", "v2.0.0", NULL}, 0, NULL},
	};
	/* A migration that fails in the database. */
	static const struct step failing[] = {
		{{"migrate", NULL}, 3, "4_fails"},
		{{"status", "--format", "json", NULL}, 0, NULL},
		{{"plan", NULL}, 0, NULL},
	};
	/* Every command that connects, with each bad DSN. */
	static const struct step unreachable[] = {
		{{"plan", NULL}, 3, NULL},
		{{"migrate", NULL}, 3, NULL},
		{{"migrate", "--dry-run", NULL}, 3, NULL},
		{{"status", NULL}, 3, NULL},
		{{"status", "--format", "json", NULL}, 3, NULL},
		{{"adopt", "--from", "golang-migrate", NULL}, 3, NULL},
		{{"release", "v3.0.0", NULL}, 3, NULL},
		{{"lint", NULL}, 0, NULL},
	};

	require_cluster();
	make_password();
	db = create_app_db();
	dir = th_tmpdir();
	write_project(dir, !keyword_form);
	ck_assert_int_eq(setenv("PHG_SECRET_HOOK", HOOK_SECRET, 1), 0);
	if (keyword_form) {
		snprintf(good, sizeof(good),
			 "host=127.0.0.1 port=%d dbname=%s user=app "
			 "password='%s' connect_timeout=10",
			 c->port, db, password);
		snprintf(wrong, sizeof(wrong),
			 "host=127.0.0.1 port=%d dbname=%s user=app "
			 "password='%sX' connect_timeout=10",
			 c->port, db, password);
		snprintf(closed, sizeof(closed),
			 "host=127.0.0.1 port=1 dbname=%s user=app "
			 "password='%s' connect_timeout=10",
			 db, password);
		snprintf(nodb, sizeof(nodb),
			 "host=127.0.0.1 port=%d dbname=nosuchdb user=app "
			 "password='%s' connect_timeout=10",
			 c->port, password);
	} else {
		snprintf(good, sizeof(good),
			 "postgresql://app:%s@127.0.0.1:%d/%s", password_url,
			 c->port, db);
		snprintf(wrong, sizeof(wrong),
			 "postgresql://app:%sX@127.0.0.1:%d/%s", password_url,
			 c->port, db);
		snprintf(closed, sizeof(closed),
			 "postgresql://app:%s@127.0.0.1:1/%s", password_url,
			 db);
		snprintf(nodb, sizeof(nodb),
			 "postgresql://app:%s@127.0.0.1:%d/nosuchdb",
			 password_url, c->port);
	}

	/* The password is needed: without it (or wrong) no login. */
	{
		char url[512];
		PGconn *pg;

		snprintf(url, sizeof(url),
			 "postgresql://app@127.0.0.1:%d/%s?connect_timeout=10",
			 c->port, db);
		pg = PQconnectdb(url);
		ck_assert_msg(PQstatus(pg) != CONNECTION_OK,
			      "app logs in without a password: pg_hba.conf "
			      "was not changed");
		PQfinish(pg);
	}
	/* golang-migrate applied 1 before the switch. */
	ck_assert_int_eq(rt_exec(good, GM_DDL), 0);
	ck_assert_int_eq(rt_exec(good, "CREATE TABLE accounts (id bigint "
				       "PRIMARY KEY); INSERT INTO "
				       "schema_migrations VALUES (1, false)"),
			 0);

	set_dsn(good);
	run_steps(dir, ok, sizeof(ok) / sizeof(ok[0]), &s);
	ck_assert_int_eq(rt_applied(good), 3);

	th_write_str(dir, "migrations/4_fails.up.sql",
		     "INSERT INTO no_such_table VALUES (1);\n");
	run_steps(dir, failing, sizeof(failing) / sizeof(failing[0]), &s);

	set_dsn(wrong);
	run_steps(dir, unreachable,
		  sizeof(unreachable) / sizeof(unreachable[0]), &s);
	set_dsn(closed);
	run_steps(dir, unreachable,
		  sizeof(unreachable) / sizeof(unreachable[0]), &s);
	set_dsn(nodb);
	run_steps(dir, unreachable,
		  sizeof(unreachable) / sizeof(unreachable[0]), &s);

	/* The wrong password's failure says why, without either one. */
	ck_assert(rt_has(s.all, "password authentication failed"));
	ck_assert(rt_has(s.all, "nosuchdb"));
	sink_server(&s, good, !keyword_form);
	sink_tree(&s, dir);
	assert_no_password(&s);
	assert_absent(&s, HOOK_SECRET);
	free(s.all);
	th_rmtree(dir);
	free(dir);
}

/*
 * A keyword DSN given as the ledger is refused: it would otherwise name an
 * SQLite file after the password. Nothing is created, nothing printed.
 */
START_TEST(keyword_dsn_refused_as_ledger)
{
	char *dir = th_tmpdir(), *out = NULL, *err = NULL, dsn[256];
	const char *argv[] = {"history", NULL};
	struct sink s = {0};
	DIR *d;
	struct dirent *de;
	int files = 0;

	make_password();
	snprintf(dsn, sizeof(dsn),
		 "host=127.0.0.1 port=1 dbname=x user=app password='%s'",
		 password);
	set_dsn(dsn);
	th_write_str(dir, "phasegate.yaml",
		     "migrations: migrations\n"
		     "state: ${PHG_SECRET_DSN}\n");
	th_write_str(dir, "migrations/1_a.up.sql", "SELECT 1;\n");
	ck_assert_int_eq(th_run(dir, argv, &out, &err), 2);
	ck_assert_msg(rt_has(err, "keyword connection string"), "%s", err);
	sink_add(&s, "out", out);
	sink_add(&s, "err", err);
	assert_no_password(&s);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		files += de->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(files, 2); /* phasegate.yaml and migrations */
	free(out);
	free(err);
	free(s.all);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(url_dsn_password_never_appears)
{
	run_all(false);
}
END_TEST

START_TEST(keyword_dsn_password_never_appears)
{
	run_all(true);
}
END_TEST

static Suite *secrets_suite(void)
{
	Suite *s = suite_create("it_secrets");
	TCase *tc = tcase_create("one_cluster");

	tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, keyword_dsn_refused_as_ledger);
	tcase_add_test(tc, url_dsn_password_never_appears);
	tcase_add_test(tc, keyword_dsn_password_never_appears);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(secrets_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
