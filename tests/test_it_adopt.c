/*
 * test_it_adopt.c: integration tests of `phasegate adopt` on a real
 * PostgreSQL 15 cluster. For each tool — Prisma, golang-migrate, dbmate and
 * Flyway — a test creates the tool's history table with the DDL the tool
 * itself runs, fills it with rows saying which migrations it applied (and
 * really runs those migrations' SQL, as the tool did), writes a migrations
 * folder in the tool's layout, runs `phasegate adopt --from TOOL`, and then
 * checks that `status --format json` shows exactly those as applied, that
 * `migrate` applies only the rest, and — through the marker row every
 * migration inserts — that no adopted migration ran a second time. dbmate's
 * own binary does the applying when `npm install --prefix bench dbmate`
 * put it in bench/node_modules; otherwise its DDL is used.
 *
 * Also covered: history entries with no file are listed; a file changed
 * since the tool ran it is reported (a changed Flyway repeatable stays
 * pending); Flyway's dotted versions, baseline and schema rows; numeric
 * versions (10 after 3); --dry-run touches nothing; a second adopt writes
 * nothing; the tool's own bad state — golang-migrate dirty, a failed Prisma
 * or Flyway migration — exits 1 and leaves nothing behind; the wrong tool
 * for a table exits 2; the DSN's password never appears.
 */
#include <cjson/cJSON.h>

#include "util/util.h"

#include "test_it_runner.h"

static struct pgc_set cluster;
static int cluster_rc = -1;

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

/* One migration of a test project. */
struct tmig {
	const char *path; /* relative to the project */
	const char *text; /* the file */
	const char *up;	  /* the SQL the tool ran (dbmate: the up section) */
	const char *name; /* phasegate's name of it */
	bool applied;	  /* the tool applied it before the switch */
};

/* A project: its folder, a fresh database (with a password in its URL). */
struct proj {
	char *dir;
	char dsn[512];
};

/*
 * A project whose migrations live in folder; the database gets the marker
 * table every test migration writes to.
 */
static void proj_setup(struct proj *p, const char *folder)
{
	char cfg[512];

	p->dir = th_tmpdir();
	rt_createdb(&cluster.c[0], true, p->dsn, sizeof(p->dsn));
	setenv("PHG_TEST_DB_1", p->dsn, 1);
	snprintf(cfg, sizeof(cfg),
		 "regions:\n"
		 "  - name: us-east-1\n"
		 "    database: ${PHG_TEST_DB_1}\n"
		 "migrations: %s\n",
		 folder);
	th_write_str(p->dir, "phasegate.yaml", cfg);
	ck_assert_int_eq(rt_exec(p->dsn, "CREATE TABLE marker (k text NOT "
					 "NULL)"),
			 0);
}

static void proj_teardown(struct proj *p)
{
	th_rmtree(p->dir);
	free(p->dir);
}

/* Writes the files; runs the SQL of those the tool applied, as it did. */
static void write_and_apply(const struct proj *p, const struct tmig *m,
			    size_t n, bool run)
{
	for (size_t i = 0; i < n; i++) {
		th_write_str(p->dir, m[i].path, m[i].text);
		if (run && m[i].applied)
			ck_assert_msg(rt_exec(p->dsn, m[i].up) == 0,
				      "cannot run %s", m[i].path);
	}
}

/* Runs phasegate in the project; out and err are freed by the caller. */
static int run(const struct proj *p, char **out, char **err, const char *a1,
	       const char *a2, const char *a3)
{
	const char *argv[4] = {a1, a2, a3, NULL};
	int rc = th_run(p->dir, argv, out, err);

	ck_assert_msg(!rt_has(*out, RT_PASSWORD) && !rt_has(*err, RT_PASSWORD),
		      "the password was printed:\n%s%s", *out, *err);
	return rc;
}

/* How many marker rows migration key wrote. */
static long long markers(const struct proj *p, const char *key)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM marker WHERE k = '%s'",
		 key);
	return rt_num(p->dsn, sql);
}

/* A migration's state in region us-east-1 of `status --format json`. */
static const char *json_state(const cJSON *root, const char *name)
{
	const cJSON *r =
		cJSON_GetArrayItem(cJSON_GetObjectItem(root, "regions"), 0);
	const cJSON *m;

	cJSON_ArrayForEach(m, cJSON_GetObjectItem(r, "migrations"))
	{
		const cJSON *n = cJSON_GetObjectItem(m, "name");
		const cJSON *s = cJSON_GetObjectItem(m, "state");

		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return cJSON_IsString(s) ? s->valuestring : "?";
	}
	return "absent";
}

static long long json_count(const cJSON *root, const char *key)
{
	const cJSON *r =
		cJSON_GetArrayItem(cJSON_GetObjectItem(root, "regions"), 0);
	const cJSON *v = cJSON_GetObjectItem(r, key);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

/* The marker key a migration's file writes: the text between its quotes. */
static void marker_key(const struct tmig *m, char *key, size_t cap)
{
	const char *q = strstr(m->text, "VALUES ('");

	snprintf(key, cap, "%.*s", q ? (int)strcspn(q + 9, "'") : 0,
		 q ? q + 9 : "");
}

/*
 * The common end of every tool's test, after a successful adopt: status
 * shows exactly the tool's applied migrations as applied (a changed Flyway
 * repeatable excepted: pending), with no drift; migrate applies only the
 * others; every migration's marker is there once; a second adopt writes
 * nothing. changed names the one migration the tool applied that stays
 * pending (or NULL).
 */
static void check_switch(const struct proj *p, const struct tmig *m, size_t n,
			 const char *from, const char *changed)
{
	size_t adopted = 0, pending = 0;
	char *out, *err, expect[128];
	cJSON *root;
	int rc;

	rc = run(p, &out, &err, "status", "--format", "json");
	ck_assert_msg(rc == 0, "status exit %d\n%s%s", rc, out, err);
	root = cJSON_Parse(out);
	ck_assert_msg(root != NULL, "not JSON:\n%s", out);
	for (size_t i = 0; i < n; i++) {
		bool want;

		if (!m[i].name)
			continue;
		want = m[i].applied && !phg_streq(m[i].name, changed);
		ck_assert_msg(strcmp(json_state(root, m[i].name),
				     want ? "applied" : "pending") == 0,
			      "%s is %s after adopt\n%s", m[i].name,
			      json_state(root, m[i].name), out);
		adopted += want;
		pending += !want;
	}
	ck_assert_int_eq(json_count(root, "applied"), (long long)adopted);
	ck_assert_int_eq(json_count(root, "pending"), (long long)pending);
	ck_assert_int_eq(json_count(root, "drift"), 0);
	ck_assert_int_eq(json_count(root, "missing"), 0);
	cJSON_Delete(root);
	free(out);
	free(err);
	ck_assert_int_eq(rt_num(p->dsn, "SELECT count(*) FROM "
					"phasegate.history WHERE release = "
					"'adopted' AND state = 'applied' AND "
					"finished_at IS NOT NULL AND "
					"applied_by <> '' AND NOT no_gate"),
			 (long long)adopted);

	/* migrate applies the rest, and nothing adopted runs again. */
	rc = run(p, &out, &err, "migrate", NULL, NULL);
	ck_assert_msg(rc == 0, "migrate exit %d\n%s%s", rc, out, err);
	snprintf(expect, sizeof(expect), "%zu migration%s applied", pending,
		 pending == 1 ? "" : "s");
	ck_assert_msg(rt_has(out, expect), "want '%s':\n%s", expect, out);
	for (size_t i = 0; i < n; i++) {
		char line[256], key[128];

		if (!m[i].name)
			continue;
		snprintf(line, sizeof(line), "  applied  %s ", m[i].name);
		ck_assert_msg(rt_has(out, line) ==
				      (!m[i].applied ||
				       phg_streq(m[i].name, changed)),
			      "%s:\n%s", m[i].name, out);
		marker_key(&m[i], key, sizeof(key));
		ck_assert_msg(!*key || markers(p, key) == 1,
			      "marker '%s' written %lld times", key,
			      markers(p, key));
	}
	free(out);
	free(err);

	/* A second adopt: everything is in phasegate's history already. */
	rc = run(p, &out, &err, "adopt", "--from", from);
	ck_assert_msg(rc == 0, "adopt again exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(out, "0 migrations adopted"), "%s", out);
	free(out);
	free(err);
}

/* --- Prisma --- */

/* As prisma-engines' schema engine creates it on PostgreSQL. */
#define PRISMA_DDL                                                             \
	"CREATE TABLE _prisma_migrations (\n"                                  \
	"    id                      VARCHAR(36) PRIMARY KEY NOT NULL,\n"      \
	"    checksum                VARCHAR(64) NOT NULL,\n"                  \
	"    finished_at             TIMESTAMPTZ,\n"                           \
	"    migration_name          VARCHAR(255) NOT NULL,\n"                 \
	"    logs                    TEXT,\n"                                  \
	"    rolled_back_at          TIMESTAMPTZ,\n"                           \
	"    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),\n"    \
	"    applied_steps_count     INTEGER NOT NULL DEFAULT 0\n"             \
	");"

#define P_INIT                                                                 \
	"CREATE TABLE accounts (id bigint PRIMARY KEY);\n"                     \
	"INSERT INTO marker (k) VALUES ('p_init');\n"
#define P_EMAIL                                                                \
	"ALTER TABLE accounts ADD COLUMN email text;\n"                        \
	"INSERT INTO marker (k) VALUES ('p_email');\n"
#define P_NAME                                                                 \
	"ALTER TABLE accounts ADD COLUMN name text;\n"                         \
	"INSERT INTO marker (k) VALUES ('p_name');\n"
#define P_PHONE                                                                \
	"ALTER TABLE accounts ADD COLUMN phone text;\n"                        \
	"INSERT INTO marker (k) VALUES ('p_phone');\n"

static const struct tmig prisma_migs[] = {
	{"prisma/migrations/20240101000000_init/migration.sql", P_INIT, P_INIT,
	 "20240101000000_init", true},
	{"prisma/migrations/20240102000000_add_email/migration.sql", P_EMAIL,
	 P_EMAIL, "20240102000000_add_email", true},
	{"prisma/migrations/20240103000000_add_name/migration.sql", P_NAME,
	 P_NAME, "20240103000000_add_name", false},
	{"prisma/migrations/20240104000000_add_phone/migration.sql", P_PHONE,
	 P_PHONE, "20240104000000_add_phone", false},
};

START_TEST(prisma_adopts_finished_migrations_by_folder_name)
{
	struct proj p;
	char *out, *err;
	int rc;

	require_cluster();
	proj_setup(&p, "prisma/migrations");
	write_and_apply(&p, prisma_migs, 4, true);
	th_write_str(p.dir, "prisma/migrations/migration_lock.toml",
		     "provider = \"postgresql\"\n");
	ck_assert_int_eq(rt_exec(p.dsn, PRISMA_DDL), 0);
	/* init: applied, checksum of the file; add_email: a first attempt
	   rolled back, then applied, with a checksum of another text;
	   add_name: rolled back (its SQL never stayed); one applied
	   migration whose folder is gone. */
	ck_assert_int_eq(
		rt_exec(p.dsn,
			"INSERT INTO _prisma_migrations (id, checksum, "
			"finished_at, migration_name, started_at, "
			"applied_steps_count, rolled_back_at) VALUES "
			"('a0', repeat('0', 64), now(), "
			"'20231201000000_gone', now(), 1, NULL), "
			"('a1', encode(sha256(convert_to($f$" P_INIT "$f$, "
			"'UTF8')), 'hex'), now(), '20240101000000_init', "
			"now() - interval '2 s', 1, NULL), "
			"('a2', repeat('1', 64), NULL, "
			"'20240102000000_add_email', now() - interval '1 day', "
			"0, now() - interval '1 day'), "
			"('a3', repeat('2', 64), now(), "
			"'20240102000000_add_email', now(), 1, NULL), "
			"('a4', repeat('3', 64), NULL, "
			"'20240103000000_add_name', "
			"now(), 0, now())"),
		0);

	rc = run(&p, &out, &err, "adopt", "--from", "prisma");
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(out, "adopted  20240101000000_init "), "%s", out);
	ck_assert_msg(rt_has(out, "adopted  20240102000000_add_email "), "%s",
		      out);
	ck_assert_msg(!rt_has(out, "20240103000000_add_name"), "%s", out);
	ck_assert_msg(rt_has(out, "'20231201000000_gone' is in prisma's "
				  "history but has no folder here"),
		      "%s", out);
	ck_assert_msg(rt_has(out, "20240102000000_add_email/migration.sql' "
				  "changed since Prisma applied it"),
		      "%s", out);
	ck_assert_msg(
		!rt_has(out, "20240101000000_init/migration.sql' changed"),
		"%s", out);
	ck_assert_msg(rt_has(out, "2 migrations adopted from prisma"), "%s",
		      out);
	ck_assert_msg(rt_has(out, "1 migration in prisma's history has no "
				  "file here"),
		      "%s", out);
	free(out);
	free(err);
	/* The row says what phasegate knows of the file. */
	ck_assert_int_eq(rt_num(p.dsn, "SELECT count(*) FROM phasegate.history "
				       "WHERE name = '20240101000000_init' AND "
				       "version = '20240101000000' AND "
				       "transactional AND statements_done = 2 "
				       "AND phase <> '' AND duration_ms >= 0"),
			 1);
	check_switch(&p, prisma_migs, 4, "prisma", NULL);
	proj_teardown(&p);
}
END_TEST

START_TEST(prisma_failed_migration_refuses)
{
	struct proj p;
	char *out, *err;
	int rc;

	require_cluster();
	proj_setup(&p, "prisma/migrations");
	write_and_apply(&p, prisma_migs, 4, false);
	ck_assert_int_eq(rt_exec(p.dsn, PRISMA_DDL), 0);
	ck_assert_int_eq(rt_exec(p.dsn, "INSERT INTO _prisma_migrations (id, "
					"checksum, migration_name, "
					"finished_at) VALUES ('a1', '', "
					"'20240101000000_init', now()), "
					"('a2', '', "
					"'20240102000000_add_email', NULL)"),
			 0);
	rc = run(&p, &out, &err, "adopt", "--from", "prisma");
	ck_assert_msg(rc == 1, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(err, "1 failed migration") &&
			      rt_has(err, "'20240102000000_add_email'") &&
			      rt_has(err, "prisma migrate resolve") &&
			      rt_has(err, "nothing was recorded"),
		      "%s", err);
	ck_assert(!rt_has_history(p.dsn));
	free(out);
	free(err);
	proj_teardown(&p);
}
END_TEST

/* --- golang-migrate --- */

/* As golang-migrate's postgres driver creates it. */
#define GM_DDL                                                                 \
	"CREATE TABLE IF NOT EXISTS \"schema_migrations\" (version bigint "    \
	"not null primary key, dirty boolean not null)"

#define G1                                                                     \
	"CREATE TABLE users (id bigint PRIMARY KEY);\nINSERT INTO marker (k) " \
	"VALUES ('g1');\n"
#define G2                                                                     \
	"ALTER TABLE users ADD COLUMN email text;\nINSERT INTO marker (k) "    \
	"VALUES ('g2');\n"
#define G3                                                                     \
	"ALTER TABLE users ADD COLUMN name text;\nINSERT INTO marker (k) "     \
	"VALUES ('g3');\n"
#define G10                                                                    \
	"ALTER TABLE users ADD COLUMN phone text;\nINSERT INTO marker (k) "    \
	"VALUES ('g10');\n"

static const struct tmig gm_migs[] = {
	{"migrations/1_create_users.up.sql", G1, G1, "1_create_users", true},
	{"migrations/1_create_users.down.sql", "DROP TABLE users;\n", "", NULL,
	 false},
	{"migrations/2_add_email.up.sql", G2, G2, "2_add_email", true},
	{"migrations/3_add_name.up.sql", G3, G3, "3_add_name", true},
	{"migrations/3_add_name.down.sql",
	 "ALTER TABLE users DROP COLUMN name;\n", "", NULL, false},
	{"migrations/10_add_phone.up.sql", G10, G10, "10_add_phone", false},
};

START_TEST(golang_migrate_adopts_every_version_up_to_the_latest)
{
	struct proj p;
	char *out, *err;
	int rc;

	require_cluster();
	proj_setup(&p, "migrations");
	write_and_apply(&p, gm_migs, 6, true);
	ck_assert_int_eq(rt_exec(p.dsn, GM_DDL), 0);
	ck_assert_int_eq(rt_exec(p.dsn, "INSERT INTO schema_migrations "
					"(version, dirty) VALUES (3, false)"),
			 0);

	/* A dry run lists and touches nothing. */
	rc = run(&p, &out, &err, "adopt", "--from=golang-migrate", "--dry-run");
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(out, "at version 3") &&
			      rt_has(out, "would adopt  3_add_name ") &&
			      rt_has(out, "dry run: 3 migrations would be "
					  "adopted"),
		      "%s", out);
	ck_assert(!rt_has_history(p.dsn));
	free(out);
	free(err);

	/* dbmate's reading of golang-migrate's table is refused. */
	rc = run(&p, &out, &err, "adopt", "--from", "dbmate");
	ck_assert_msg(rc == 2, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(err, "golang-migrate's history"), "%s", err);
	ck_assert(!rt_has_history(p.dsn));
	free(out);
	free(err);

	rc = run(&p, &out, &err, "adopt", "--from", "golang-migrate");
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(out, "adopted  1_create_users ") &&
			      rt_has(out, "adopted  2_add_email ") &&
			      rt_has(out, "adopted  3_add_name ") &&
			      !rt_has(out, "10_add_phone") &&
			      !rt_has(out, "warning"),
		      "%s", out);
	free(out);
	free(err);
	check_switch(&p, gm_migs, 6, "golang-migrate", NULL);
	proj_teardown(&p);
}
END_TEST

START_TEST(golang_migrate_dirty_refuses_and_missing_version_warns)
{
	struct proj p;
	char *out, *err;
	int rc;

	require_cluster();
	proj_setup(&p, "migrations");
	write_and_apply(&p, gm_migs, 6, false);
	ck_assert_int_eq(rt_exec(p.dsn, GM_DDL), 0);
	ck_assert_int_eq(rt_exec(p.dsn, "INSERT INTO schema_migrations "
					"(version, dirty) VALUES (2, true)"),
			 0);
	rc = run(&p, &out, &err, "adopt", "--from", "golang-migrate");
	ck_assert_msg(rc == 1, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(err, "version 2 is dirty") &&
			      rt_has(err, "migrate force 2") &&
			      rt_has(err, "nothing was recorded"),
		      "%s", err);
	ck_assert(!rt_has_history(p.dsn));
	free(out);
	free(err);
	rc = run(&p, &out, &err, "adopt", "--from=golang-migrate", "--dry-run");
	ck_assert_msg(rc == 1, "dry run exit %d\n%s%s", rc, out, err);
	free(out);
	free(err);

	/* Clean at version 5, which has no file: 1 to 3 are below it. */
	ck_assert_int_eq(rt_exec(p.dsn, "UPDATE schema_migrations SET version "
					"= 5, dirty = false"),
			 0);
	rc = run(&p, &out, &err, "adopt", "--from", "golang-migrate");
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(out, "version 5 is in golang-migrate's history "
				  "but has no file here; the migrations "
				  "before it are adopted") &&
			      rt_has(out, "3 migrations adopted"),
		      "%s", out);
	ck_assert(!rt_has(out, "10_add_phone"));
	free(out);
	free(err);

	/* No table at all: the wrong database or tool. */
	ck_assert_int_eq(rt_exec(p.dsn, "DROP TABLE schema_migrations"), 0);
	rc = run(&p, &out, &err, "adopt", "--from", "golang-migrate");
	ck_assert_msg(rc == 2, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(err, "no table 'schema_migrations'"), "%s", err);
	free(out);
	free(err);
	proj_teardown(&p);
}
END_TEST

/* --- dbmate --- */

/* As dbmate 2.36.0 creates it (seen in the server's statement log). */
#define DBMATE_DDL                                                             \
	"create table if not exists public.schema_migrations (version "        \
	"varchar primary key)"

#define D1                                                                     \
	"CREATE TABLE orders (id bigint PRIMARY KEY, email text);\nINSERT "    \
	"INTO marker (k) VALUES ('d1');\n"
/* dbmate sends a file as one string: CONCURRENTLY must stand alone. */
#define D2 "CREATE INDEX CONCURRENTLY orders_email_idx ON orders (email);\n"
#define D3                                                                     \
	"ALTER TABLE orders ADD COLUMN total numeric;\nINSERT INTO marker "    \
	"(k) VALUES ('d3');\n"
#define D4                                                                     \
	"ALTER TABLE orders ADD COLUMN note text;\nINSERT INTO marker (k) "    \
	"VALUES ('d4');\n"

static const struct tmig dbmate_migs[] = {
	{"db/migrations/20240101000001_create_orders.sql",
	 "-- migrate:up\n" D1 "\n-- migrate:down\nDROP TABLE orders;\n", D1,
	 "20240101000001_create_orders", true},
	{"db/migrations/20240101000002_index_email.sql",
	 "-- migrate:up transaction:false\n" D2
	 "\n-- migrate:down\nDROP INDEX orders_email_idx;\n",
	 D2, "20240101000002_index_email", true},
	{"db/migrations/20240101000003_add_total.sql",
	 "-- migrate:up\n" D3 "\n-- migrate:down\n", D3,
	 "20240101000003_add_total", false},
	{"db/migrations/20240101000004_add_note.sql",
	 "-- migrate:up\n" D4 "\n-- migrate:down\n", D4,
	 "20240101000004_add_note", false},
};

/* dbmate's own binary, when bench/node_modules has it. */
static const char *dbmate_binary(void)
{
	const char *bin =
		th_src_path("bench/node_modules/@dbmate/linux-x64/bin/dbmate");

	return access(bin, X_OK) == 0 ? bin : NULL;
}

/* Applies the first migrations with dbmate itself. */
static bool apply_with_dbmate(const struct proj *p)
{
	const char *bin = dbmate_binary();
	char url[600], dir[512];
	pid_t pid;
	int rc;

	if (!bin)
		return false;
	snprintf(url, sizeof(url), "%s?sslmode=disable", p->dsn);
	snprintf(dir, sizeof(dir), "%s/db/migrations", p->dir);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execl(bin, bin, "--url", url, "--migrations-dir", dir,
		      "--no-dump-schema", "migrate", (char *)NULL);
		_exit(127);
	}
	rc = rt_wait(pid, 60000);
	ck_assert_msg(rc == 0, "dbmate exit %d", rc);
	return true;
}

START_TEST(dbmate_adopts_each_applied_version)
{
	struct proj p;
	char *out, *err;
	bool real;
	int rc;

	require_cluster();
	proj_setup(&p, "db/migrations");
	/* The two files dbmate applied, then the rest written after. */
	write_and_apply(&p, dbmate_migs, 2, false);
	real = apply_with_dbmate(&p);
	if (!real) {
		write_and_apply(&p, dbmate_migs, 2, true);
		ck_assert_int_eq(rt_exec(p.dsn, DBMATE_DDL), 0);
		ck_assert_int_eq(rt_exec(p.dsn, "INSERT INTO schema_migrations "
						"(version) VALUES "
						"('20240101000001'), "
						"('20240101000002')"),
				 0);
	}
	printf("test_it_adopt: dbmate history written by %s\n",
	       real ? "dbmate itself" : "its DDL");
	ck_assert_int_eq(rt_num(p.dsn, "SELECT count(*) FROM marker"), 1);
	ck_assert_int_eq(rt_exec(p.dsn, "INSERT INTO schema_migrations "
					"(version) VALUES ('20231231000000')"),
			 0);
	write_and_apply(&p, dbmate_migs + 2, 2, false);

	rc = run(&p, &out, &err, "adopt", "--from", "dbmate");
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(
		rt_has(out, "dbmate's") &&
			rt_has(out, "3 migrations applied") &&
			rt_has(out, "adopted  20240101000001_create_orders "
				    "") &&
			rt_has(out, "adopted  20240101000002_index_email ") &&
			rt_has(out, "version 20231231000000 is in dbmate's "
				    "history but has no file here; not "
				    "recorded") &&
			rt_has(out, "2 migrations adopted from dbmate"),
		"%s", out);
	free(out);
	free(err);
	/* transaction:false is recorded as the runner would have run it. */
	ck_assert_int_eq(rt_num(p.dsn, "SELECT count(*) FROM phasegate.history "
				       "WHERE name = "
				       "'20240101000002_index_email' AND NOT "
				       "transactional AND statements_done = 1"),
			 1);
	check_switch(&p, dbmate_migs, 4, "dbmate", NULL);
	proj_teardown(&p);
}
END_TEST

/* --- Flyway --- */

/* As Flyway creates it on PostgreSQL (PostgreSQLDatabase). */
#define FLYWAY_DDL                                                             \
	"CREATE TABLE \"public\".\"flyway_schema_history\" (\n"                \
	"    \"installed_rank\" INT NOT NULL,\n"                               \
	"    \"version\" VARCHAR(50),\n"                                       \
	"    \"description\" VARCHAR(200) NOT NULL,\n"                         \
	"    \"type\" VARCHAR(20) NOT NULL,\n"                                 \
	"    \"script\" VARCHAR(1000) NOT NULL,\n"                             \
	"    \"checksum\" INTEGER,\n"                                          \
	"    \"installed_by\" VARCHAR(100) NOT NULL,\n"                        \
	"    \"installed_on\" TIMESTAMP NOT NULL DEFAULT now(),\n"             \
	"    \"execution_time\" INTEGER NOT NULL,\n"                           \
	"    \"success\" BOOLEAN NOT NULL\n"                                   \
	");\n"                                                                 \
	"ALTER TABLE \"public\".\"flyway_schema_history\" ADD CONSTRAINT "     \
	"\"flyway_schema_history_pk\" PRIMARY KEY (\"installed_rank\");\n"     \
	"CREATE INDEX \"flyway_schema_history_s_idx\" ON "                     \
	"\"public\".\"flyway_schema_history\" (\"success\");"

#define F1                                                                     \
	"CREATE TABLE items (id bigint PRIMARY KEY);\nINSERT INTO marker (k) " \
	"VALUES ('f1');\n"
#define F11                                                                    \
	"ALTER TABLE items ADD COLUMN sku text;\nINSERT INTO marker (k) "      \
	"VALUES ('f1.1');\n"
#define F12                                                                    \
	"ALTER TABLE items ADD COLUMN name text;\nINSERT INTO marker (k) "     \
	"VALUES ('f1.2');\n"
#define F2                                                                     \
	"ALTER TABLE items ADD COLUMN price numeric;\nINSERT INTO marker (k) " \
	"VALUES ('f2');\n"
#define F10                                                                    \
	"ALTER TABLE items ADD COLUMN color text;\nINSERT INTO marker (k) "    \
	"VALUES ('f10');\n"
#define FR_VIEW                                                                \
	"CREATE OR REPLACE VIEW v_one AS SELECT 1 AS one;\nINSERT INTO "       \
	"marker (k) VALUES ('r_view');\n"
#define FR_CHANGED                                                             \
	"CREATE OR REPLACE VIEW v_two AS SELECT 2 AS two;\nINSERT INTO "       \
	"marker (k) VALUES ('r_changed');\n"
#define FR_CHANGED_OLD                                                         \
	"CREATE OR REPLACE VIEW v_two AS SELECT 1 AS two;\nINSERT INTO "       \
	"marker (k) VALUES ('r_changed_old');\n"

/*
 * Flyway's checksums of the files (CRC-32 of the lines without their
 * breaks, signed), computed with Python's zlib.crc32 — an implementation
 * independent of phasegate's — for the exact texts above; F1's file is
 * written with CRLF line ends, which do not change it.
 */
#define CRC_F1 "1440138260"
#define CRC_F11 "900661888"
#define CRC_FR_VIEW "-1634747410"

static const struct tmig flyway_migs[] = {
	{"sql/V1__create_items.sql",
	 "CREATE TABLE items (id bigint PRIMARY KEY);\r\nINSERT INTO marker "
	 "(k) VALUES ('f1');\r\n",
	 F1, "V1__create_items", true},
	{"sql/V1.1__add_sku.sql", F11, F11, "V1.1__add_sku", true},
	{"sql/V1_2__add_name.sql", F12, F12, "V1_2__add_name", true},
	{"sql/V2__add_price.sql", F2, F2, "V2__add_price", false},
	{"sql/V10__add_color.sql", F10, F10, "V10__add_color", false},
	{"sql/R__view.sql", FR_VIEW, FR_VIEW, "R__view", true},
	/* Flyway ran an older text: it would run this one again. */
	{"sql/R__changed.sql", FR_CHANGED, FR_CHANGED_OLD, "R__changed", true},
};

START_TEST(flyway_adopts_dotted_versions_and_unchanged_repeatables)
{
	struct proj p;
	char *out, *err;
	int rc;

	require_cluster();
	proj_setup(&p, "sql");
	write_and_apply(&p, flyway_migs, 7, true);
	ck_assert_int_eq(rt_exec(p.dsn, FLYWAY_DDL), 0);
	ck_assert_int_eq(
		rt_exec(p.dsn,
			"INSERT INTO flyway_schema_history (installed_rank, "
			"version, description, type, script, checksum, "
			"installed_by, execution_time, success) VALUES "
			"(1, NULL, '<< Flyway Schema Creation >>', 'SCHEMA', "
			"'\"public\"', NULL, 'flyway', 0, true), "
			"(2, '1', 'create items', 'SQL', "
			"'V1__create_items.sql', " CRC_F1 ", 'flyway', 12, "
			"true), "
			"(3, '1.1', 'add sku', 'SQL', "
			"'V1.1__add_sku.sql', " CRC_F11 ", 'flyway', 5, true), "
			/* written by an older text of the file */
			"(4, '1.2', 'add name', 'SQL', 'V1_2__add_name.sql', "
			"12345, 'flyway', 4, true), "
			"(5, '1.3', 'dropped later', 'SQL', "
			"'V1.3__dropped_later.sql', 777, 'flyway', 3, true), "
			"(6, NULL, 'view', 'SQL', 'R__view.sql', " CRC_FR_VIEW
			", 'flyway', 2, true), "
			"(7, NULL, 'changed', 'SQL', 'R__changed.sql', 4242, "
			"'flyway', 2, true)"),
		0);

	rc = run(&p, &out, &err, "adopt", "--from", "flyway");
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(out, "adopted  V1__create_items ") &&
			      rt_has(out, "adopted  V1.1__add_sku ") &&
			      rt_has(out, "adopted  V1_2__add_name ") &&
			      rt_has(out, "adopted  R__view ") &&
			      !rt_has(out, "adopted  R__changed") &&
			      !rt_has(out, "V2__add_price") &&
			      !rt_has(out, "V10__add_color"),
		      "%s", out);
	ck_assert_msg(rt_has(out, "version 1.3 ('dropped later') is in "
				  "flyway's history but has no file here"),
		      "%s", out);
	ck_assert_msg(rt_has(out, "'sql/R__changed.sql' changed since Flyway "
				  "last ran it (checksum 4242 then"),
		      "%s", out);
	ck_assert_msg(rt_has(out, "'sql/V1_2__add_name.sql' changed since "
				  "Flyway applied it (checksum 12345 then"),
		      "%s", out);
	ck_assert_msg(!rt_has(out, "V1__create_items.sql' changed") &&
			      !rt_has(out, "V1.1__add_sku.sql' changed") &&
			      !rt_has(out, "R__view.sql' changed"),
		      "%s", out);
	ck_assert_msg(rt_has(out, "4 migrations adopted from flyway"), "%s",
		      out);
	free(out);
	free(err);
	check_switch(&p, flyway_migs, 7, "flyway", "R__changed");
	/* R__changed's older text ran under Flyway, its new one under
	   phasegate. */
	ck_assert_int_eq(markers(&p, "r_changed_old"), 1);
	proj_teardown(&p);
}
END_TEST

START_TEST(flyway_baseline_counts_and_failed_refuses)
{
	struct proj p;
	char *out, *err;
	int rc;

	require_cluster();
	proj_setup(&p, "sql");
	write_and_apply(&p, flyway_migs, 5, false);
	ck_assert_int_eq(rt_exec(p.dsn, FLYWAY_DDL), 0);
	/* A baseline at 1.1: Flyway never runs 1 and 1.1, their schema was
	   there; then 1.2 (by an older text) and a failed 2. */
	ck_assert_int_eq(
		rt_exec(p.dsn,
			"INSERT INTO flyway_schema_history (installed_rank, "
			"version, description, type, script, checksum, "
			"installed_by, execution_time, success) VALUES "
			"(1, '1.1', '<< Flyway Baseline >>', 'BASELINE', "
			"'<< Flyway Baseline >>', NULL, 'flyway', 0, true), "
			"(2, '1.2', 'add name', 'SQL', 'V1_2__add_name.sql', "
			"NULL, 'flyway', 4, true), "
			"(3, '2', 'add price', 'SQL', 'V2__add_price.sql', 1, "
			"'flyway', 4, false)"),
		0);
	rc = run(&p, &out, &err, "adopt", "--from", "flyway");
	ck_assert_msg(rc == 1, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(
		rt_has(err, "failed migration: version 2 ('add price')") &&
			rt_has(err, "flyway repair"),
		"%s", err);
	ck_assert(!rt_has_history(p.dsn));
	free(out);
	free(err);

	/* Repaired: the failed row is gone. */
	ck_assert_int_eq(rt_exec(p.dsn, "DELETE FROM flyway_schema_history "
					"WHERE NOT success"),
			 0);
	rc = run(&p, &out, &err, "adopt", "--from", "flyway");
	ck_assert_msg(rc == 0, "exit %d\n%s%s", rc, out, err);
	ck_assert_msg(rt_has(out, "adopted  V1__create_items ") &&
			      rt_has(out, "adopted  V1.1__add_sku ") &&
			      rt_has(out, "adopted  V1_2__add_name ") &&
			      !rt_has(out, "V2__add_price") &&
			      !rt_has(out, "warning"),
		      "%s", out);
	free(out);
	free(err);
	proj_teardown(&p);
}
END_TEST

START_TEST(usage_errors)
{
	struct proj p;
	char *out, *err;
	int rc;

	require_cluster();
	proj_setup(&p, "migrations");
	write_and_apply(&p, gm_migs, 6, false);
	rc = run(&p, &out, &err, "adopt", NULL, NULL);
	ck_assert_msg(rc == 2 && rt_has(err, "--from is required"), "%d %s", rc,
		      err);
	free(out);
	free(err);
	rc = run(&p, &out, &err, "adopt", "--from", "liquibase");
	ck_assert_msg(rc == 2 && rt_has(err, "--from 'liquibase'"), "%d %s", rc,
		      err);
	free(out);
	free(err);
	rc = run(&p, &out, &err, "adopt", "--help", NULL);
	ck_assert_msg(rc == 0 && rt_has(out, "usage: phasegate adopt"), "%s",
		      out);
	free(out);
	free(err);
	rc = run(&p, &out, &err, "adopt", "--from=flyway", "--table=nope.nope");
	ck_assert_msg(rc == 2 && rt_has(err, "no table 'nope.nope'"), "%d %s",
		      rc, err);
	free(out);
	free(err);
	/* An unreachable database is a runtime failure. */
	{
		char dsn[512];

		snprintf(dsn, sizeof(dsn),
			 "postgresql://postgres:" RT_PASSWORD
			 "@127.0.0.1:%d/nosuchdb",
			 cluster.c[0].port);
		setenv("PHG_TEST_DB_1", dsn, 1);
	}
	rc = run(&p, &out, &err, "adopt", "--from", "flyway");
	ck_assert_msg(rc == 3 && rt_has(err, "nosuchdb"), "%d %s", rc, err);
	free(out);
	free(err);
	proj_teardown(&p);
}
END_TEST

static Suite *adopt_suite(void)
{
	Suite *s = suite_create("it_adopt");
	TCase *tc = tcase_create("one_cluster");

	tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, prisma_adopts_finished_migrations_by_folder_name);
	tcase_add_test(tc, prisma_failed_migration_refuses);
	tcase_add_test(tc,
		       golang_migrate_adopts_every_version_up_to_the_latest);
	tcase_add_test(tc,
		       golang_migrate_dirty_refuses_and_missing_version_warns);
	tcase_add_test(tc, dbmate_adopts_each_applied_version);
	tcase_add_test(tc,
		       flyway_adopts_dotted_versions_and_unchanged_repeatables);
	tcase_add_test(tc, flyway_baseline_counts_and_failed_refuses);
	tcase_add_test(tc, usage_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(adopt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
