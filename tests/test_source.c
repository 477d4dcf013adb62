/*
 * test_source.c: the source module — every layout recognised by its shape,
 * the tools' own orders, duplicate versions, dbmate sections, transaction
 * markers, unreadable and looping entries, checksums and finding by ref.
 * Each test builds its migrations folder in a fresh temporary folder.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "source/source.h"

static char *tmp;

static void setup(void)
{
	tmp = th_tmpdir();
}

static void teardown(void)
{
	th_rmtree(tmp);
	free(tmp);
	tmp = NULL;
}

/* Discovers tmp (or tmp/sub) and fails the test on an error. */
static void discover_ok(const char *sub, struct phg_migration_set *set)
{
	struct phg_err err = {0};
	char path[4096];
	int rc;

	if (sub)
		snprintf(path, sizeof(path), "%s/%s", tmp, sub);
	else
		snprintf(path, sizeof(path), "%s", tmp);
	rc = phg_source_discover(path, set, &err);
	ck_assert_msg(rc == 0, "discover failed: %s", err.msg);
	ck_assert_int_eq(err.code, 0);
}

/* Discovers tmp and expects a failure with code; returns the message. */
static const char *discover_fail(int code, struct phg_err *err)
{
	struct phg_migration_set set;
	int rc;

	memset(err, 0, sizeof(*err));
	rc = phg_source_discover(tmp, &set, err);
	ck_assert_int_eq(rc, code);
	ck_assert_int_eq(err->code, code);
	ck_assert_uint_eq(set.n, 0);
	ck_assert_ptr_null(set.items);
	ck_assert_ptr_null(set.dir);
	return err->msg;
}

static char *in_tmp(const char *rel)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", tmp, rel);
	return buf;
}

/* The names of set, joined by spaces, for whole-order comparisons. */
static const char *names(const struct phg_migration_set *set)
{
	static char buf[8192];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < set->n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
					i ? " " : "", set->items[i].name);
	return buf;
}

START_TEST(test_layout_names)
{
	ck_assert_str_eq(phg_layout_name(PHG_LAYOUT_NUMBERED), "numbered");
	ck_assert_str_eq(phg_layout_name(PHG_LAYOUT_GOLANG_MIGRATE),
			 "golang-migrate");
	ck_assert_str_eq(phg_layout_name(PHG_LAYOUT_PRISMA), "prisma");
	ck_assert_str_eq(phg_layout_name(PHG_LAYOUT_DBMATE), "dbmate");
	ck_assert_str_eq(phg_layout_name(PHG_LAYOUT_FLYWAY), "flyway");
	ck_assert_str_eq(phg_layout_name(PHG_LAYOUT_DIESEL), "diesel");
}
END_TEST

START_TEST(test_numbered_and_drizzle)
{
	struct phg_migration_set set;
	char *p;

	th_write_str(tmp, "0010_late.sql", "SELECT 10;\n");
	th_write_str(tmp, "0001_init.sql", "SELECT 1;\n");
	th_write_str(tmp, "0002_add_slug.sql", "SELECT 2;");
	th_write_str(tmp, "README.md", "not a migration\n");
	th_write_str(tmp, "schema.sql", "-- a dump, no version\n");
	th_write_str(tmp, "meta/_journal.json", "{}\n");
	th_write_str(tmp, "meta/0000_snapshot.json", "{}\n");
	discover_ok(NULL, &set);
	ck_assert_str_eq(set.dir, tmp);
	ck_assert_uint_eq(set.n, 3);
	ck_assert_str_eq(names(&set), "0001_init 0002_add_slug 0010_late");
	p = phg_path_join(tmp, "0001_init.sql");
	ck_assert_str_eq(set.items[0].path, p);
	free(p);
	ck_assert_str_eq(set.items[1].version, "0002");
	for (size_t i = 0; i < set.n; i++) {
		ck_assert_int_eq(set.items[i].layout, PHG_LAYOUT_NUMBERED);
		ck_assert(!set.items[i].no_transaction);
		ck_assert(!set.items[i].repeatable);
		ck_assert_uint_eq(set.items[i].up_start, 0);
	}
	ck_assert_uint_eq(set.items[1].up_end, strlen("SELECT 2;"));
	phg_source_release(&set);
	ck_assert_uint_eq(set.n, 0);
	ck_assert_ptr_null(set.items);
}
END_TEST

START_TEST(test_dir_with_trailing_slash)
{
	struct phg_migration_set set;
	struct phg_err err = {0};
	char dir[4096];
	char *want;

	th_write_str(tmp, "migrations/0001_init.sql", "SELECT 1;\n");
	snprintf(dir, sizeof(dir), "%s/migrations/", tmp);
	ck_assert_int_eq(phg_source_discover(dir, &set, &err), 0);
	ck_assert_uint_eq(set.n, 1);
	want = phg_asprintf("%s/migrations/0001_init.sql", tmp);
	ck_assert_str_eq(set.items[0].path, want);
	free(want);
	phg_source_release(&set);
}
END_TEST

/* Checksums are taken when a migration is loaded. */
static void load_all(struct phg_migration_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct phg_buf text = {0};
		struct phg_err err = {0};

		ck_assert_int_eq(phg_source_load(&set->items[i], &text, &err),
				 0);
		phg_buf_release(&text);
	}
}

START_TEST(test_checksum)
{
	struct phg_migration_set set;

	th_write_str(tmp, "0001_init.sql", "SELECT 1;\n");
	th_write_str(tmp, "0002_empty.sql", "");
	discover_ok(NULL, &set);
	ck_assert_uint_eq(set.n, 2);
	load_all(&set);
	ck_assert_str_eq(set.items[0].checksum,
			 "b4e0497804e46e0a0b0b8c31975b062152d551bac49c3c2e8093"
			 "2567b4085dcd");
	ck_assert_str_eq(set.items[1].checksum,
			 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495"
			 "991b7852b855");
	ck_assert_uint_eq(set.items[1].up_end, 0);
	phg_source_release(&set);
}
END_TEST

START_TEST(test_golang_migrate)
{
	struct phg_migration_set set;

	th_write_str(tmp, "1_create.up.sql", "CREATE TABLE a (id int);\n");
	th_write_str(tmp, "1_create.down.sql", "DROP TABLE a;\n");
	th_write_str(tmp, "2_add.up.sql", "ALTER TABLE a ADD b int;\n");
	th_write_str(tmp, "2_add.down.sql", "ALTER TABLE a DROP b;\n");
	th_write_str(tmp, "10_late.up.sql", "SELECT 1;\n");
	discover_ok(NULL, &set);
	ck_assert_uint_eq(set.n, 3);
	ck_assert_str_eq(names(&set), "1_create 2_add 10_late");
	ck_assert_str_eq(set.items[2].version, "10");
	ck_assert(phg_has_suffix(set.items[0].path, "/1_create.up.sql"));
	for (size_t i = 0; i < set.n; i++) {
		ck_assert_int_eq(set.items[i].layout,
				 PHG_LAYOUT_GOLANG_MIGRATE);
		ck_assert(!phg_has_suffix(set.items[i].path, ".down.sql"));
	}
	phg_source_release(&set);
}
END_TEST

START_TEST(test_kratos_dialects)
{
	struct phg_migration_set set;

	th_write_str(tmp, "20210311102338000015_form.postgres.up.sql", "A;");
	th_write_str(tmp, "20210311102338000015_form.postgres.down.sql", "");
	th_write_str(tmp, "20210311102338000015_form.mysql.up.sql", "B;");
	th_write_str(tmp, "20210311102338000015_form.sqlite3.up.sql", "C;");
	th_write_str(tmp, "20210311102338000015_form.cockroach.up.sql", "D;");
	th_write_str(tmp, "20210311102338000016_generic.up.sql", "E;");
	th_write_str(tmp, "20210311102338000016_generic.down.sql", "");
	th_write_str(tmp, "20210311102338000017_idx.autocommit.up.sql", "F;");
	th_write_str(tmp,
		     "20210311102338000018_pgidx.postgres.autocommit.up.sql",
		     "G;");
	th_write_str(tmp, "20210311102338000018_pgidx.mysql.autocommit.up.sql",
		     "H;");
	/* popx runs the .postgres. file in place of the generic one. */
	th_write_str(tmp, "20210311102338000019_both.up.sql", "generic");
	th_write_str(tmp, "20210311102338000019_both.postgres.up.sql", "pg");
	th_write_str(tmp, "20210311102338000019_both.sqlite3.up.sql", "lite");
	discover_ok(NULL, &set);
	ck_assert_uint_eq(set.n, 5);
	ck_assert_str_eq(names(&set), "20210311102338000015_form "
				      "20210311102338000016_generic "
				      "20210311102338000017_idx "
				      "20210311102338000018_pgidx "
				      "20210311102338000019_both");
	ck_assert_str_eq(set.items[0].version, "20210311102338000015");
	ck_assert(phg_has_suffix(set.items[0].path,
				 "/20210311102338000015_form.postgres.up.sql"));
	ck_assert_uint_eq(set.items[0].up_end, 2);
	ck_assert(!set.items[0].no_transaction);
	ck_assert(!set.items[1].no_transaction);
	ck_assert(set.items[2].no_transaction);
	ck_assert(set.items[3].no_transaction);
	ck_assert(phg_has_suffix(set.items[4].path,
				 "/20210311102338000019_both.postgres.up.sql"));
	for (size_t i = 0; i < set.n; i++)
		ck_assert_int_eq(set.items[i].layout,
				 PHG_LAYOUT_GOLANG_MIGRATE);
	phg_source_release(&set);
}
END_TEST

START_TEST(test_prisma)
{
	struct phg_migration_set set;

	th_write_str(tmp, "migration_lock.toml", "provider = \"postgresql\"\n");
	th_write_str(tmp, "20240102120000_add/migration.sql", "SELECT 2;\n");
	th_write_str(tmp, "20240101120000_init/migration.sql", "SELECT 1;\n");
	/* Prisma knows folders by name: versions may repeat. */
	th_write_str(tmp, "20240104000000_b/migration.sql", "SELECT 5;\n");
	th_write_str(tmp, "20240104000000_a/migration.sql", "SELECT 4;\n");
	/* A folder named like a migration file is still a folder. */
	th_write_str(tmp, "20240103120000_x.sql/migration.sql", "SELECT 3;\n");
	/* Prisma orders by folder name: '_' sorts after every digit. */
	th_write_str(tmp, "20250625_short/migration.sql", "SELECT 7;\n");
	th_write_str(tmp, "20250625120000_long/migration.sql", "SELECT 6;\n");
	th_write_str(tmp, "20250101000000_empty/README.md", "no sql here\n");
	discover_ok(NULL, &set);
	ck_assert_uint_eq(set.n, 7);
	ck_assert_str_eq(names(&set), "20240101120000_init 20240102120000_add "
				      "20240103120000_x.sql 20240104000000_a "
				      "20240104000000_b 20250625120000_long "
				      "20250625_short");
	ck_assert_str_eq(set.items[0].version, "20240101120000");
	ck_assert_str_eq(set.items[6].version, "20250625");
	ck_assert(phg_has_suffix(set.items[2].path,
				 "/20240103120000_x.sql/migration.sql"));
	for (size_t i = 0; i < set.n; i++) {
		ck_assert_int_eq(set.items[i].layout, PHG_LAYOUT_PRISMA);
		ck_assert(phg_has_suffix(set.items[i].path, "/migration.sql"));
	}
	phg_source_release(&set);
}
END_TEST

START_TEST(test_dbmate)
{
	static const char text[] = "-- migrate:up\n"
				   "CREATE TABLE a (id int);\n"
				   "\n"
				   "-- migrate:down\n"
				   "DROP TABLE a;\n";
	static const char notx[] = "-- a comment first\n"
				   "-- migrate:up transaction:false\n"
				   "CREATE INDEX CONCURRENTLY i ON a (id);\n";
	static const char crlf[] = "\xEF\xBB\xBF--migrate:up\r\n"
				   "SELECT 1;\r\n"
				   "--   migrate:down\r\n";
	struct phg_migration_set set;
	const struct phg_migration *m;

	th_write_str(tmp, "20240101000000_create.sql", text);
	th_write_str(tmp, "20240102000000_index.sql", notx);
	th_write_str(tmp, "00000000000003-post-setup.sql", crlf);
	th_write_str(tmp, "20240103000000_plain.sql",
		     "-- migrate:upgrade is not a marker\nSELECT 1;\n");
	discover_ok(NULL, &set);
	ck_assert_uint_eq(set.n, 4);
	ck_assert_str_eq(names(&set),
			 "00000000000003-post-setup 20240101000000_create "
			 "20240102000000_index 20240103000000_plain");

	m = &set.items[0];
	ck_assert_int_eq(m->layout, PHG_LAYOUT_DBMATE);
	ck_assert_str_eq(m->version, "00000000000003");
	ck_assert_uint_eq(m->up_start, strlen("\xEF\xBB\xBF--migrate:up\r\n"));
	ck_assert_uint_eq(m->up_end, m->up_start + strlen("SELECT 1;\r\n"));

	m = &set.items[1];
	ck_assert_int_eq(m->layout, PHG_LAYOUT_DBMATE);
	ck_assert(!m->no_transaction);
	ck_assert_uint_eq(m->up_start, strlen("-- migrate:up\n"));
	ck_assert_uint_eq(m->up_end, strstr(text, "-- migrate:down") - text);
	/* The down section is not forward SQL. */
	ck_assert_ptr_null(strstr(text + m->up_end, "CREATE"));
	ck_assert_ptr_nonnull(strstr(text + m->up_end, "DROP"));

	m = &set.items[2];
	ck_assert_int_eq(m->layout, PHG_LAYOUT_DBMATE);
	ck_assert(m->no_transaction);
	ck_assert_uint_eq(m->up_start, strstr(notx, "CREATE") - notx);
	ck_assert_uint_eq(m->up_end, strlen(notx));

	m = &set.items[3];
	ck_assert_int_eq(m->layout, PHG_LAYOUT_NUMBERED);
	ck_assert_uint_eq(m->up_start, 0);
	phg_source_release(&set);
}
END_TEST

/* phg_source_read gives want as m's forward SQL. */
static void assert_reads(struct phg_migration *m, const char *want)
{
	struct phg_buf text = {0};
	struct phg_err err = {0};

	ck_assert_int_eq(phg_source_read(m, &text, &err), 0);
	ck_assert_uint_eq(m->up_end - m->up_start, strlen(want));
	ck_assert(memcmp(text.data + m->up_start, want, strlen(want)) == 0);
	phg_buf_release(&text);
}

/* Lint's discovery keeps each file's text, so the file is read once; a
   runner's discovery keeps nothing and reads the file when it loads it. */
START_TEST(test_discover_cached)
{
	struct phg_migration_set kept, plain;
	struct phg_err err = {0};

	th_write_str(tmp, "0001_init.sql", "SELECT 1;\n");
	th_write_str(tmp, "20240101000000_db.sql",
		     "-- migrate:up\nSELECT 2;\n-- migrate:down\nSELECT 3;\n");
	ck_assert_int_eq(phg_source_discover_cached(tmp, &kept, &err), 0);
	discover_ok(NULL, &plain);
	ck_assert_uint_eq(kept.n, 2);
	ck_assert_str_eq(kept.items[0].cached, "SELECT 1;\n");
	ck_assert_uint_eq(kept.items[0].cached_len, strlen("SELECT 1;\n"));
	ck_assert_ptr_null(plain.items[0].cached);
	ck_assert_ptr_null(plain.cache);

	/* Changed on disk after discovery: the kept text is what is read. */
	th_write_str(tmp, "0001_init.sql", "SELECT 'changed';\n");
	th_write_str(tmp, "20240101000000_db.sql",
		     "-- migrate:up\nSELECT 'changed';\n");
	assert_reads(&kept.items[0], "SELECT 1;\n");
	assert_reads(&kept.items[1], "SELECT 2;\n");
	assert_reads(&plain.items[0], "SELECT 'changed';\n");
	assert_reads(&plain.items[1], "SELECT 'changed';\n");
	phg_source_release(&kept);
	phg_source_release(&plain);
}
END_TEST

START_TEST(test_dbmate_sections_direct)
{
	size_t s = 99, e = 99;
	bool nt = true;
	const char *t;

	ck_assert(!phg_dbmate_sections("SELECT 1;\n", 10, &s, &e, &nt));
	ck_assert_uint_eq(s, 99);
	t = "-- migrate:up";
	ck_assert(phg_dbmate_sections(t, strlen(t), &s, &e, &nt));
	ck_assert_uint_eq(s, strlen(t));
	ck_assert_uint_eq(e, strlen(t));
	ck_assert(!nt);
	/* A down marker before the up marker does not end the up section. */
	t = "-- migrate:down\nDROP x;\n-- migrate:up\tfoo transaction:false\n"
	    "SELECT 1;\n";
	ck_assert(phg_dbmate_sections(t, strlen(t), &s, &e, &nt));
	ck_assert_uint_eq(s, strstr(t, "SELECT") - t);
	ck_assert_uint_eq(e, strlen(t));
	ck_assert(nt);
	t = "-- migrate:up transaction:falsey\nSELECT 1;\n";
	ck_assert(phg_dbmate_sections(t, strlen(t), &s, &e, &nt));
	ck_assert(!nt);
}
END_TEST

START_TEST(test_flyway)
{
	struct phg_migration_set set;

	th_write_str(tmp, "V2__e.sql", "SELECT 2;\n");
	th_write_str(tmp, "V1.10__d.sql", "SELECT 110;\n");
	th_write_str(tmp, "V1.2__c.sql", "SELECT 12;\n");
	th_write_str(tmp, "V1__a.sql", "SELECT 1;\n");
	th_write_str(tmp, "V1_3__f.sql", "SELECT 13;\n");
	th_write_str(tmp, "V1.1__b.sql", "SELECT 11;\n");
	th_write_str(tmp, "R__z_view.sql",
		     "CREATE OR REPLACE VIEW z AS SELECT 1;");
	th_write_str(tmp, "R__a_view.sql",
		     "CREATE OR REPLACE VIEW a AS SELECT 1;");
	th_write_str(tmp, "V57__readme.md", "not sql\n");
	th_write_str(tmp, "U2__undo.sql", "SELECT 0;\n");
	discover_ok(NULL, &set);
	ck_assert_uint_eq(set.n, 8);
	ck_assert_str_eq(names(&set), "V1__a V1.1__b V1.2__c V1_3__f V1.10__d "
				      "V2__e R__a_view R__z_view");
	ck_assert_str_eq(set.items[1].version, "1.1");
	ck_assert_str_eq(set.items[3].version, "1.3");
	ck_assert_str_eq(set.items[4].version, "1.10");
	ck_assert(!set.items[5].repeatable);
	ck_assert(set.items[6].repeatable);
	ck_assert(set.items[7].repeatable);
	ck_assert_str_eq(set.items[6].version, "");
	for (size_t i = 0; i < set.n; i++)
		ck_assert_int_eq(set.items[i].layout, PHG_LAYOUT_FLYWAY);
	phg_source_release(&set);
}
END_TEST

START_TEST(test_diesel)
{
	struct phg_migration_set set;

	th_write_str(tmp, "00000000000000_diesel_initial_setup/up.sql", "A;");
	th_write_str(tmp, "00000000000000_diesel_initial_setup/down.sql", "");
	th_write_str(tmp, "2017-03-18-181441_downloads/up.sql", "B;");
	th_write_str(tmp, "2017-03-18-181441_downloads/down.sql", "b;");
	th_write_str(tmp, "2024-02-12-120203_remove_index/up.sql",
		     "DROP INDEX CONCURRENTLY i;\n");
	th_write_str(tmp, "2024-02-12-120203_remove_index/down.sql", "");
	th_write_str(tmp, "2024-02-12-120203_remove_index/metadata.toml",
		     "# diesel\nrun_in_transaction = false\n");
	th_write_str(tmp, "2024-02-13-000000_stays/up.sql", "C;");
	th_write_str(tmp, "2024-02-13-000000_stays/metadata.toml",
		     "run_in_transaction = true\n");
	/* Diesel compares versions as strings: the 18-digit 2025 version
	   applies before the 14-digit 2026 one. */
	th_write_str(tmp, "2026-01-01-000000_old_style/up.sql", "D;");
	th_write_str(tmp, "2025-09-19-132648-0000_new_style/up.sql", "E;");
	th_write_str(tmp, "2025-10-01-000000_Add spaces here/up.sql", "F;");
	th_write_str(tmp, "2025-10-02-000000_down_only/down.sql", "G;");
	th_write_str(tmp, "data_seed.sql", "INSERT INTO x VALUES (1);\n");
	th_write_str(tmp, "README.md", "readme\n");
	discover_ok(NULL, &set);
	ck_assert_uint_eq(set.n, 7);
	ck_assert_str_eq(names(&set), "00000000000000_diesel_initial_setup "
				      "2017-03-18-181441_downloads "
				      "2024-02-12-120203_remove_index "
				      "2024-02-13-000000_stays "
				      "2025-09-19-132648-0000_new_style "
				      "2025-10-01-000000_Add spaces here "
				      "2026-01-01-000000_old_style");
	ck_assert_str_eq(set.items[1].version, "20170318181441");
	ck_assert_str_eq(set.items[4].version, "202509191326480000");
	ck_assert(phg_has_suffix(set.items[1].path,
				 "/2017-03-18-181441_downloads/up.sql"));
	ck_assert(!set.items[1].no_transaction);
	ck_assert(set.items[2].no_transaction);
	ck_assert(!set.items[3].no_transaction);
	for (size_t i = 0; i < set.n; i++)
		ck_assert_int_eq(set.items[i].layout, PHG_LAYOUT_DIESEL);
	phg_source_release(&set);
}
END_TEST

START_TEST(test_long_versions_order)
{
	struct phg_migration_set set;

	th_write_str(tmp, "20210311102338000016_c.sql", "");
	th_write_str(tmp, "100000000000000000000_d.sql", "");
	th_write_str(tmp, "9_b.sql", "");
	th_write_str(tmp, "20210311102338000015_a.sql", "");
	th_write_str(tmp, "0000000000000000000000099999999999999999999_e.sql",
		     "");
	discover_ok(NULL, &set);
	ck_assert_str_eq(names(&set),
			 "9_b 20210311102338000015_a 20210311102338000016_c "
			 "0000000000000000000000099999999999999999999_e "
			 "100000000000000000000_d");
	phg_source_release(&set);
}
END_TEST

START_TEST(test_version_cmp)
{
	ck_assert_int_lt(phg_version_cmp("1.2", "1.10"), 0);
	ck_assert_int_gt(phg_version_cmp("1.10", "1.9"), 0);
	ck_assert_int_eq(phg_version_cmp("002", "2"), 0);
	ck_assert_int_eq(phg_version_cmp("1", "1.0"), 0);
	ck_assert_int_eq(phg_version_cmp("1_1", "1.1"), 0);
	ck_assert_int_lt(phg_version_cmp("1", "1.1"), 0);
	ck_assert_int_lt(phg_version_cmp("99999999999999999999",
					 "100000000000000000000"),
			 0);
	ck_assert_int_gt(
		phg_version_cmp("20210311102338000016", "20210311102338000015"),
		0);
	ck_assert_int_eq(phg_version_cmp("0", ""), 0);
}
END_TEST

START_TEST(test_migration_cmp)
{
	struct phg_migration a = {0}, b = {0};

	a.layout = b.layout = PHG_LAYOUT_FLYWAY;
	a.path = "d/V9__x.sql";
	a.name = "V9__x";
	a.version = "9";
	b.path = "d/R__a.sql";
	b.name = "R__a";
	b.version = "";
	b.repeatable = true;
	ck_assert_int_lt(phg_migration_cmp(&a, &b), 0);
	ck_assert_int_gt(phg_migration_cmp(&b, &a), 0);
	ck_assert_int_eq(phg_migration_cmp(&a, &a), 0);
	b = a;
	b.name = "V9__y";
	b.path = "d/V9__y.sql";
	ck_assert_int_lt(phg_migration_cmp(&a, &b), 0);
}
END_TEST

START_TEST(test_duplicate_version)
{
	struct phg_err err;
	char *want;

	th_write_str(tmp, "1_a.sql", "SELECT 1;\n");
	th_write_str(tmp, "001_b.sql", "SELECT 1;\n");
	th_write_str(tmp, "2_c.sql", "SELECT 2;\n");
	want = phg_asprintf("two migrations have version '1': '%s/001_b.sql' "
			    "and '%s/1_a.sql'",
			    tmp, tmp);
	ck_assert_str_eq(discover_fail(PHG_EINPUT, &err), want);
	free(want);
}
END_TEST

START_TEST(test_duplicate_version_across_layouts)
{
	struct phg_err err;
	char *want;

	/* golang-migrate and a numbered file claim one version. */
	th_write_str(tmp, "0003_a.sql", "");
	th_write_str(tmp, "3_b.up.sql", "");
	want = phg_asprintf("two migrations have version '3': '%s/0003_a.sql' "
			    "and '%s/3_b.up.sql'",
			    tmp, tmp);
	ck_assert_str_eq(discover_fail(PHG_EINPUT, &err), want);
	free(want);
}
END_TEST

START_TEST(test_duplicate_flyway)
{
	struct phg_err err;
	char *want;

	th_write_str(tmp, "V1.1__a.sql", "");
	th_write_str(tmp, "V1_1__b.sql", "");
	want = phg_asprintf("two migrations have version '1.1': "
			    "'%s/V1.1__a.sql' and '%s/V1_1__b.sql'",
			    tmp, tmp);
	ck_assert_str_eq(discover_fail(PHG_EINPUT, &err), want);
	free(want);
}
END_TEST

START_TEST(test_duplicate_diesel)
{
	struct phg_err err;
	char *want;

	th_write_str(tmp, "2017-03-18-181441_a/up.sql", "");
	th_write_str(tmp, "20170318181441_b/up.sql", "");
	want = phg_asprintf("two migrations have version '20170318181441': "
			    "'%s/2017-03-18-181441_a/up.sql' and "
			    "'%s/20170318181441_b/up.sql'",
			    tmp, tmp);
	ck_assert_str_eq(discover_fail(PHG_EINPUT, &err), want);
	free(want);
}
END_TEST

START_TEST(test_mixed_layouts_deterministic)
{
	struct phg_migration_set a, b;

	th_write_str(tmp, "0002_b.sql", "SELECT 2;\n");
	th_write_str(tmp, "0001_a.sql", "SELECT 1;\n");
	th_write_str(tmp, "20240101000000_p/migration.sql", "SELECT 3;\n");
	th_write_str(tmp, "0003_c.up.sql", "SELECT 4;\n");
	th_write_str(tmp, "0003_c.down.sql", "SELECT 5;\n");
	discover_ok(NULL, &a);
	discover_ok(NULL, &b);
	ck_assert_uint_eq(a.n, 4);
	ck_assert_str_eq(names(&a), "0001_a 0002_b 0003_c 20240101000000_p");
	ck_assert_int_eq(a.items[2].layout, PHG_LAYOUT_GOLANG_MIGRATE);
	ck_assert_int_eq(a.items[3].layout, PHG_LAYOUT_PRISMA);
	for (size_t i = 0; i < a.n; i++) {
		ck_assert_str_eq(a.items[i].path, b.items[i].path);
		if (i)
			ck_assert_int_lt(
				phg_migration_cmp(&a.items[i - 1], &a.items[i]),
				0);
	}
	phg_source_release(&a);
	phg_source_release(&b);
}
END_TEST

START_TEST(test_missing_folder)
{
	struct phg_migration_set set;
	struct phg_err err = {0};
	char *dir = phg_path_join(tmp, "migrations");
	char *want = phg_asprintf("cannot read '%s': no such file or directory",
				  dir);

	ck_assert_int_eq(phg_source_discover(dir, &set, &err), PHG_EIO);
	ck_assert_int_eq(err.code, PHG_EIO);
	ck_assert_str_eq(err.msg, want);
	ck_assert_uint_eq(set.n, 0);
	ck_assert_ptr_null(set.items);
	free(dir);
	free(want);
}
END_TEST

START_TEST(test_folder_is_a_file)
{
	struct phg_migration_set set;
	struct phg_err err = {0};

	th_write_str(tmp, "0001_x.sql", "SELECT 1;\n");
	ck_assert_int_eq(phg_source_discover(in_tmp("0001_x.sql"), &set, &err),
			 PHG_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, "0001_x.sql': not a folder"));
}
END_TEST

START_TEST(test_empty_folder)
{
	struct phg_migration_set set;

	discover_ok(NULL, &set);
	ck_assert_uint_eq(set.n, 0);
	ck_assert_str_eq(set.dir, tmp);
	phg_source_release(&set);
}
END_TEST

START_TEST(test_dangling_symlink)
{
	struct phg_err err;
	char *want;

	th_write_str(tmp, "0001_ok.sql", "SELECT 1;\n");
	ck_assert_int_eq(symlink("nowhere.sql", in_tmp("0002_x.sql")), 0);
	want = phg_asprintf("cannot read '%s/0002_x.sql': no such file or "
			    "directory",
			    tmp);
	ck_assert_str_eq(discover_fail(PHG_EIO, &err), want);
	free(want);
}
END_TEST

START_TEST(test_dangling_symlink_not_a_migration)
{
	struct phg_migration_set set;

	th_write_str(tmp, "0001_ok.sql", "SELECT 1;\n");
	ck_assert_int_eq(symlink("nowhere", in_tmp("README.md")), 0);
	ck_assert_int_eq(symlink("nowhere", in_tmp("0001_ok.down.sql")), 0);
	discover_ok(NULL, &set);
	ck_assert_uint_eq(set.n, 1);
	phg_source_release(&set);
}
END_TEST

START_TEST(test_fifo_is_not_read)
{
	struct phg_err err;

	/* Opening a FIFO for reading would block until a writer comes. */
	th_write_str(tmp, "0001_ok.sql", "SELECT 1;\n");
	ck_assert_int_eq(mkfifo(in_tmp("0002_pipe.sql"), 0644), 0);
	ck_assert_ptr_nonnull(strstr(discover_fail(PHG_EIO, &err),
				     "0002_pipe.sql': not a regular file"));
}
END_TEST

START_TEST(test_migration_sql_is_a_folder)
{
	struct phg_err err;

	th_write_str(tmp, "20240101000000_x/migration.sql/inner.sql", "");
	ck_assert_ptr_nonnull(
		strstr(discover_fail(PHG_EIO, &err),
		       "migration.sql': is a folder, not a file"));
}
END_TEST

START_TEST(test_symlinks)
{
	struct phg_migration_set set;
	char *outside = th_tmpdir();
	char target[4096];

	th_write_str(tmp, "0001_ok.sql", "SELECT 1;\n");
	/* A symlinked file is followed; its checksum is the target's. */
	th_write_str(outside, "real.sql", "SELECT 1;\n");
	snprintf(target, sizeof(target), "%s/real.sql", outside);
	ck_assert_int_eq(symlink(target, in_tmp("0002_linked.sql")), 0);
	/* Loops: a folder linking to its parent, to itself, in a cycle. */
	ck_assert_int_eq(symlink(".", in_tmp("0003_parent")), 0);
	ck_assert_int_eq(symlink("0004_self", in_tmp("0004_self")), 0);
	ck_assert_int_eq(symlink("0006_b", in_tmp("0005_a")), 0);
	ck_assert_int_eq(symlink("0005_a", in_tmp("0006_b")), 0);
	discover_ok(NULL, &set);
	ck_assert_uint_eq(set.n, 2);
	ck_assert_str_eq(names(&set), "0001_ok 0002_linked");
	load_all(&set);
	ck_assert_str_eq(set.items[1].checksum, set.items[0].checksum);
	phg_source_release(&set);
	th_rmtree(outside);
	free(outside);
}
END_TEST

START_TEST(test_symlink_loop_named_like_a_file)
{
	struct phg_err err;
	char *want;

	ck_assert_int_eq(symlink("0004_self.sql", in_tmp("0004_self.sql")), 0);
	want = phg_asprintf("cannot read '%s/0004_self.sql': too many levels "
			    "of symbolic links",
			    tmp);
	ck_assert_str_eq(discover_fail(PHG_EIO, &err), want);
	free(want);
}
END_TEST

START_TEST(test_symlinked_folder_of_prisma)
{
	struct phg_migration_set set;

	/* A linked Prisma folder counts once; a loop inside it is not
	   followed, since only "<folder>/migration.sql" is looked at. */
	th_write_str(tmp, "store/20240101000000_init/migration.sql", "A;");
	ck_assert_int_eq(symlink("..", in_tmp("store/20240101000000_init/"
					      "20240102000000_loop")),
			 0);
	ck_assert_int_eq(symlink("store/20240101000000_init",
				 in_tmp("20240101000000_init")),
			 0);
	discover_ok(NULL, &set);
	ck_assert_uint_eq(set.n, 1);
	ck_assert_int_eq(set.items[0].layout, PHG_LAYOUT_PRISMA);
	ck_assert(phg_has_suffix(set.items[0].path,
				 "/20240101000000_init/migration.sql"));
	phg_source_release(&set);
}
END_TEST

START_TEST(test_find)
{
	struct phg_migration_set set;

	th_write_str(tmp, "0001_init.sql", "");
	th_write_str(tmp, "0002_add_slug.sql", "");
	th_write_str(tmp, "0010_late.sql", "");
	discover_ok(NULL, &set);
	ck_assert_int_eq(phg_source_find(&set, "0002"), 1);
	ck_assert_int_eq(phg_source_find(&set, "2"), 1);
	ck_assert_int_eq(phg_source_find(&set, "10"), 2);
	ck_assert_int_eq(phg_source_find(&set, "0002_add_slug"), 1);
	ck_assert_int_eq(phg_source_find(&set, "0001_init"), 0);
	ck_assert_int_eq(phg_source_find(&set, "0001_init.sql"), -1);
	ck_assert_int_eq(phg_source_find(&set, "3"), -1);
	ck_assert_int_eq(phg_source_find(&set, "add_slug"), -1);
	ck_assert_int_eq(phg_source_find(&set, ""), -1);
	ck_assert_int_eq(phg_source_find(&set, "2."), -1);
	phg_source_release(&set);
}
END_TEST

START_TEST(test_find_flyway)
{
	struct phg_migration_set set;

	th_write_str(tmp, "V1__a.sql", "");
	th_write_str(tmp, "V1_1__b.sql", "");
	th_write_str(tmp, "V1.2__c.sql", "");
	th_write_str(tmp, "R__views.sql", "");
	discover_ok(NULL, &set);
	ck_assert_int_eq(phg_source_find(&set, "1.1"), 1);
	ck_assert_int_eq(phg_source_find(&set, "1_1"), 1);
	ck_assert_int_eq(phg_source_find(&set, "1.2"), 2);
	ck_assert_int_eq(phg_source_find(&set, "1"), 0);
	ck_assert_int_eq(phg_source_find(&set, "V1_1__b"), 1);
	ck_assert_int_eq(phg_source_find(&set, "R__views"), 3);
	ck_assert_int_eq(phg_source_find(&set, "1.3"), -1);
	phg_source_release(&set);
}
END_TEST

START_TEST(test_find_diesel_and_prisma)
{
	struct phg_migration_set set;

	th_write_str(tmp, "d/2017-03-18-181441_a/up.sql", "");
	th_write_str(tmp, "d/2017-03-19-000000_b/up.sql", "");
	discover_ok("d", &set);
	ck_assert_int_eq(phg_source_find(&set, "20170318181441"), 0);
	ck_assert_int_eq(phg_source_find(&set, "2017-03-19-000000"), 1);
	ck_assert_int_eq(phg_source_find(&set, "2017-03-19-000000_b"), 1);
	ck_assert_int_eq(phg_source_find(&set, "2017031900000"), -1);
	phg_source_release(&set);

	th_write_str(tmp, "p/20240101000000_a/migration.sql", "");
	th_write_str(tmp, "p/20240102000000_b/migration.sql", "");
	th_write_str(tmp, "p/20240102000000_c/migration.sql", "");
	th_write_str(tmp, "p/20240103000000_d.sql/migration.sql", "");
	discover_ok("p", &set);
	ck_assert_uint_eq(set.n, 4);
	/* A shared version names the last folder that has it. */
	ck_assert_int_eq(phg_source_find(&set, "20240102000000"), 2);
	ck_assert_int_eq(phg_source_find(&set, "20240102000000_b"), 1);
	ck_assert_int_eq(phg_source_find(&set, "20240103000000_d.sql"), 3);
	ck_assert_int_eq(phg_source_find(&set, "20240103000000_d"), 3);
	phg_source_release(&set);
}
END_TEST

START_TEST(test_load)
{
	struct phg_migration_set set;
	struct phg_buf text = {0};
	struct phg_err err = {0};
	struct phg_migration *m;
	static const char changed[] = "-- comment\n"
				      "-- migrate:up transaction:false\n"
				      "SELECT 22;\n"
				      "-- migrate:down\n";

	th_write_str(tmp, "0001_plain.sql", "SELECT 1;\n");
	th_write_str(tmp, "0002_dbmate.sql",
		     "-- migrate:up\nSELECT 2;\n-- migrate:down\nSELECT 3;\n");
	discover_ok(NULL, &set);
	ck_assert_uint_eq(set.n, 2);

	m = &set.items[0];
	ck_assert_int_eq(phg_source_load(m, &text, &err), 0);
	ck_assert_str_eq(text.data, "SELECT 1;\n");
	ck_assert_uint_eq(m->up_start, 0);
	ck_assert_uint_eq(m->up_end, 10);

	/* The file changed since discovery: offsets follow the new text,
	   and text is replaced, not appended to. */
	m = &set.items[1];
	th_write_str(tmp, "0002_dbmate.sql", changed);
	ck_assert_int_eq(phg_source_load(m, &text, &err), 0);
	ck_assert_uint_eq(text.len, strlen(changed));
	ck_assert_str_eq(text.data, changed);
	ck_assert_uint_eq(m->up_end - m->up_start, strlen("SELECT 22;\n"));
	ck_assert(!strncmp(text.data + m->up_start, "SELECT 22;\n",
			   m->up_end - m->up_start));
	ck_assert(m->no_transaction);

	/* The markers are gone: a dbmate migration without an up section. */
	th_write_str(tmp, "0002_dbmate.sql", "SELECT 2;\n");
	ck_assert_int_eq(phg_source_load(m, &text, &err), PHG_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "0002_dbmate.sql"));

	/* The file is gone. */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(unlink(in_tmp("0001_plain.sql")), 0);
	ck_assert_int_eq(phg_source_load(&set.items[0], &text, &err), PHG_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, "0001_plain.sql': no such file"));
	phg_buf_release(&text);
	phg_source_release(&set);
}
END_TEST

START_TEST(test_many_files)
{
	struct phg_migration_set set;
	char name[64];

	/* Written in reverse; discovery must still give version order. */
	for (int i = 300; i >= 1; i--) {
		snprintf(name, sizeof(name), "%d_m.up.sql", i);
		th_write_str(tmp, name, "SELECT 1;\n");
		snprintf(name, sizeof(name), "%d_m.down.sql", i);
		th_write_str(tmp, name, "SELECT 0;\n");
	}
	discover_ok(NULL, &set);
	ck_assert_uint_eq(set.n, 300);
	for (size_t i = 0; i < set.n; i++) {
		snprintf(name, sizeof(name), "%zu", i + 1);
		ck_assert_str_eq(set.items[i].version, name);
	}
	phg_source_release(&set);
}
END_TEST

static Suite *source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("source");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_layout_names);
	tcase_add_test(tc, test_numbered_and_drizzle);
	tcase_add_test(tc, test_dir_with_trailing_slash);
	tcase_add_test(tc, test_checksum);
	tcase_add_test(tc, test_golang_migrate);
	tcase_add_test(tc, test_kratos_dialects);
	tcase_add_test(tc, test_prisma);
	tcase_add_test(tc, test_dbmate);
	tcase_add_test(tc, test_dbmate_sections_direct);
	tcase_add_test(tc, test_flyway);
	tcase_add_test(tc, test_diesel);
	tcase_add_test(tc, test_long_versions_order);
	tcase_add_test(tc, test_version_cmp);
	tcase_add_test(tc, test_migration_cmp);
	tcase_add_test(tc, test_duplicate_version);
	tcase_add_test(tc, test_duplicate_version_across_layouts);
	tcase_add_test(tc, test_duplicate_flyway);
	tcase_add_test(tc, test_duplicate_diesel);
	tcase_add_test(tc, test_mixed_layouts_deterministic);
	tcase_add_test(tc, test_missing_folder);
	tcase_add_test(tc, test_discover_cached);
	tcase_add_test(tc, test_folder_is_a_file);
	tcase_add_test(tc, test_empty_folder);
	tcase_add_test(tc, test_dangling_symlink);
	tcase_add_test(tc, test_dangling_symlink_not_a_migration);
	tcase_add_test(tc, test_fifo_is_not_read);
	tcase_add_test(tc, test_migration_sql_is_a_folder);
	tcase_add_test(tc, test_symlinks);
	tcase_add_test(tc, test_symlink_loop_named_like_a_file);
	tcase_add_test(tc, test_symlinked_folder_of_prisma);
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_find_flyway);
	tcase_add_test(tc, test_find_diesel_and_prisma);
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_many_files);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(source_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
