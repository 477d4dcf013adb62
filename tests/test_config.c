/*
 * test_config.c: the config module — loading phasegate.yaml (valid files,
 * defaults, and every kind of mistake with its exact place and message),
 * where paths point, finding the file by walking up, and expanding ${NAME}
 * without ever leaking a value into an error.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "helpers.h"

/* A zeroed config: what phg_config_release and a failed load leave. */
static bool cfg_is_zero(const struct phg_config *cfg)
{
	static const struct phg_config zero;

	return memcmp(cfg, &zero, sizeof(zero)) == 0;
}

/* Writes text as dir/phasegate.yaml and returns its malloc'd path. */
static char *write_config(const char *dir, const char *text)
{
	char *path;

	th_write_str(dir, PHG_CONFIG_FILE, text);
	path = phg_path_join(dir, PHG_CONFIG_FILE);
	ck_assert_ptr_nonnull(path);
	return path;
}

START_TEST(test_full_valid)
{
	char *dir = th_tmpdir();
	char *path = write_config(
		dir, "migrations: db/migrations   # folder, relative\n"
		     "postgres_version: 13\n"
		     "contract: after-cutover\n"
		     "runner: external\n"
		     "releases:                     # oldest first\n"
		     "  - name: v1.0.0\n"
		     "    through: \"0001\"\n"
		     "  - through: 0002_add_slug\n"
		     "    name: 'v1.1.0'\n"
		     "rules:\n"
		     "  require-concurrent-index-creation: warning\n"
		     "  renaming-column: off\n"
		     "  backfill-with-expand: error\n");
	char *want_migrations = phg_path_join(dir, "db/migrations");
	struct phg_config cfg;
	struct phg_err err = {0};

	ck_assert_int_eq(phg_config_load(path, &cfg, &err), 0);
	ck_assert_int_eq(err.code, 0);
	ck_assert_str_eq(cfg.path, path);
	ck_assert_str_eq(cfg.dir, dir);
	ck_assert_str_eq(cfg.migrations, want_migrations);
	ck_assert_int_eq(cfg.postgres_version, 13);
	ck_assert_int_eq(cfg.contract, PHG_CONTRACT_AFTER_CUTOVER);
	ck_assert_int_eq(cfg.runner, PHG_RUNNER_EXTERNAL);

	ck_assert_uint_eq(cfg.nreleases, 2);
	ck_assert_str_eq(cfg.releases[0].name, "v1.0.0");
	ck_assert_str_eq(cfg.releases[0].through, "0001");
	ck_assert_int_eq(cfg.releases[0].line, 7);
	ck_assert_int_eq(cfg.releases[0].col, 14);
	ck_assert_str_eq(cfg.releases[1].name, "v1.1.0");
	ck_assert_str_eq(cfg.releases[1].through, "0002_add_slug");
	ck_assert_int_eq(cfg.releases[1].line, 8);
	ck_assert_int_eq(cfg.releases[1].col, 14);

	ck_assert_uint_eq(cfg.nrules, 3);
	ck_assert_str_eq(cfg.rules[0].id, "require-concurrent-index-creation");
	ck_assert_int_eq(cfg.rules[0].severity, PHG_SEV_WARNING);
	ck_assert_int_eq(cfg.rules[0].line, 11);
	ck_assert_int_eq(cfg.rules[0].col, 3);
	ck_assert_str_eq(cfg.rules[1].id, "renaming-column");
	ck_assert_int_eq(cfg.rules[1].severity, PHG_SEV_OFF);
	ck_assert_str_eq(cfg.rules[2].id, "backfill-with-expand");
	ck_assert_int_eq(cfg.rules[2].severity, PHG_SEV_ERROR);
	ck_assert_int_eq(cfg.rules[2].line, 13);

	phg_config_release(&cfg);
	ck_assert(cfg_is_zero(&cfg));
	free(want_migrations);
	free(path);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_defaults)
{
	struct phg_config cfg;
	struct phg_err err = {0};

	ck_assert_int_eq(phg_config_defaults(&cfg, &err), 0);
	ck_assert_ptr_null(cfg.path);
	ck_assert_str_eq(cfg.dir, ".");
	ck_assert_str_eq(cfg.migrations, "migrations");
	ck_assert_int_eq(cfg.postgres_version, 15);
	ck_assert_int_eq(cfg.contract, PHG_CONTRACT_BEFORE_DEPLOY);
	ck_assert_int_eq(cfg.runner, PHG_RUNNER_PHASEGATE);
	ck_assert_uint_eq(cfg.nreleases, 0);
	ck_assert_ptr_null(cfg.releases);
	ck_assert_uint_eq(cfg.nrules, 0);
	ck_assert_ptr_null(cfg.rules);
	phg_config_release(&cfg);
	ck_assert(cfg_is_zero(&cfg));
}
END_TEST

START_TEST(test_release_zeroed_twice)
{
	struct phg_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	phg_config_release(&cfg);
	phg_config_release(&cfg);
	phg_config_release(NULL);
	ck_assert(cfg_is_zero(&cfg));
}
END_TEST

/* Files that hold no keys at all give the defaults. */
static const char *const empty_files[] = {
	"",
	"# nothing configured yet\n\n",
	"---\n",
	"\xef\xbb\xbf",
};

START_TEST(test_empty_file)
{
	char *dir = th_tmpdir();
	char *path = write_config(dir, empty_files[_i]);
	char *want_migrations = phg_path_join(dir, "migrations");
	struct phg_config cfg;
	struct phg_err err = {0};

	ck_assert_int_eq(phg_config_load(path, &cfg, &err), 0);
	ck_assert_str_eq(cfg.path, path);
	ck_assert_str_eq(cfg.dir, dir);
	ck_assert_str_eq(cfg.migrations, want_migrations);
	ck_assert_int_eq(cfg.postgres_version, 15);
	ck_assert_int_eq(cfg.contract, PHG_CONTRACT_BEFORE_DEPLOY);
	ck_assert_int_eq(cfg.runner, PHG_RUNNER_PHASEGATE);
	ck_assert_uint_eq(cfg.nreleases, 0);
	ck_assert_uint_eq(cfg.nrules, 0);
	phg_config_release(&cfg);
	free(want_migrations);
	free(path);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_bom_and_crlf)
{
	char *dir = th_tmpdir();
	char *path = write_config(dir, "\xef\xbb\xbfpostgres_version: 12\r\n"
				       "releases:\r\n"
				       "  - name: v1\r\n"
				       "    through: 7\r\n");
	struct phg_config cfg;
	struct phg_err err = {0};

	ck_assert_int_eq(phg_config_load(path, &cfg, &err), 0);
	ck_assert_int_eq(cfg.postgres_version, 12);
	ck_assert_uint_eq(cfg.nreleases, 1);
	ck_assert_str_eq(cfg.releases[0].through, "7");
	ck_assert_int_eq(cfg.releases[0].line, 4);
	ck_assert_int_eq(cfg.releases[0].col, 14);
	phg_config_release(&cfg);
	free(path);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_through_as_integer)
{
	char *dir = th_tmpdir();
	char *path = write_config(dir, "releases:\n"
				       "  - name: v1\n"
				       "    through: 2\n"
				       "  - name: v2\n"
				       "    through: 0003\n"
				       "  - name: v3\n"
				       "    through: 1.10\n"
				       "  - name: 4\n"
				       "    through: 20240101120000\n");
	struct phg_config cfg;
	struct phg_err err = {0};

	ck_assert_int_eq(phg_config_load(path, &cfg, &err), 0);
	ck_assert_uint_eq(cfg.nreleases, 4);
	/* The text as written: no leading zero lost, no float rounding. */
	ck_assert_str_eq(cfg.releases[0].through, "2");
	ck_assert_str_eq(cfg.releases[1].through, "0003");
	ck_assert_str_eq(cfg.releases[2].through, "1.10");
	ck_assert_str_eq(cfg.releases[3].name, "4");
	ck_assert_str_eq(cfg.releases[3].through, "20240101120000");
	phg_config_release(&cfg);
	free(path);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_postgres_versions)
{
	static const char *const texts[] = {"10", "11", "12", "13", "14", "15"};
	char *dir = th_tmpdir();

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char yaml[64];
		char *path;
		struct phg_config cfg;
		struct phg_err err = {0};

		snprintf(yaml, sizeof(yaml), "postgres_version: %s\n",
			 texts[i]);
		path = write_config(dir, yaml);
		ck_assert_int_eq(phg_config_load(path, &cfg, &err), 0);
		ck_assert_int_eq(cfg.postgres_version, atoi(texts[i]));
		phg_config_release(&cfg);
		free(path);
	}
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* A config that must fail with PHG_ECONFIG at line:col with msg. */
struct bad_case {
	const char *what;
	const char *yaml;
	int line, col;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{"unknown top-level key",
	 "migrations: migrations\npostgres_version: 15\ncontract: "
	 "before-deploy\nregoins: [eu]\n",
	 4, 1, "unknown key 'regoins'"},
	{"postgres_version not a number", "postgres_version: abc\n", 1, 19,
	 "'postgres_version' must be an integer between 10 and 15, not "
	 "'abc'"},
	{"postgres_version a list", "migrations: m\npostgres_version: [15]\n",
	 2, 19,
	 "'postgres_version' must be an integer between 10 and 15, not a "
	 "list"},
	{"postgres_version a float", "postgres_version: 14.5\n", 1, 19,
	 "'postgres_version' must be an integer between 10 and 15, not "
	 "'14.5'"},
	{"postgres_version too old", "postgres_version: 9\n", 1, 19,
	 "'postgres_version' must be an integer between 10 and 15, not '9'"},
	{"postgres_version 16", "postgres_version: 16\n", 1, 19,
	 "'postgres_version' must be at most 15, not '16': phasegate parses "
	 "with PostgreSQL 15's grammar"},
	{"postgres_version huge", "postgres_version: 99999999999999999999\n", 1,
	 19,
	 "'postgres_version' must be at most 15, not '99999999999999999999': "
	 "phasegate parses with PostgreSQL 15's grammar"},
	{"migrations a mapping", "migrations: {path: db}\n", 1, 13,
	 "'migrations' must be a folder path, not a mapping"},
	{"migrations empty", "migrations:\npostgres_version: 15\n", 1, 12,
	 "'migrations' must be a folder path, not an empty value"},
	{"contract unknown word", "contract: during-deploy\n", 1, 11,
	 "'contract' must be 'before-deploy' or 'after-cutover', not "
	 "'during-deploy'"},
	{"contract a list", "contract:\n  - before-deploy\n", 2, 3,
	 "'contract' must be 'before-deploy' or 'after-cutover', not a list"},
	{"runner unknown word", "runner: flyway\n", 1, 9,
	 "'runner' must be 'phasegate' or 'external', not 'flyway'"},
	{"releases a scalar", "releases: v1.0.0\n", 1, 11,
	 "'releases' must be a list of releases, each with 'name' and "
	 "'through', not 'v1.0.0'"},
	{"release entry a scalar", "releases:\n  - v1.0.0\n", 2, 5,
	 "each release must be a mapping with 'name' and 'through', not "
	 "'v1.0.0'"},
	{"release without through", "releases:\n  - name: v1.0.0\n", 2, 5,
	 "release 'v1.0.0' has no 'through' (the version or name of its last "
	 "migration)"},
	{"release without name", "releases:\n  - through: \"0001\"\n", 2, 5,
	 "a release has no 'name'"},
	{"release unknown key",
	 "releases:\n  - name: v1\n    through: 1\n    thru: 2\n", 4, 5,
	 "unknown key 'thru' in a release: it takes 'name' and 'through'"},
	{"columns count characters, not bytes",
	 "releases:\n  - {name: \"\xc3\xa9\xc3\xa9\", thru: 1}\n", 2, 18,
	 "unknown key 'thru' in a release: it takes 'name' and 'through'"},
	{"long value cut on a character boundary",
	 "contract: "
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3"
	 "\xa9zzz\n",
	 1, 11,
	 "'contract' must be 'before-deploy' or 'after-cutover', not "
	 "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa..."
	 "'"},
	{"release name a list", "releases:\n  - name: [a]\n    through: 1\n", 2,
	 11, "'name' must be a release name, not a list"},
	{"release through empty", "releases:\n  - name: v1\n    through:\n", 3,
	 13,
	 "'through' must be a migration version or name, not an empty "
	 "value"},
	{"duplicate release name",
	 "releases:\n  - name: v1\n    through: 1\n  - name: v1\n    through: "
	 "2\n",
	 4, 11, "duplicate release 'v1' (first at line 2)"},
	{"duplicate key in a release",
	 "releases:\n  - name: v1\n    name: v2\n    through: 1\n", 3, 5,
	 "duplicate key 'name' (first at line 2)"},
	{"rules a list", "rules: [renaming-column]\n", 1, 8,
	 "'rules' must be a mapping of rule ids to 'error', 'warning' or "
	 "'off', not a list"},
	{"rule severity unknown",
	 "rules:\n  require-concurrent-index-creation: warn\n", 2, 38,
	 "rule 'require-concurrent-index-creation' must be 'error', 'warning' "
	 "or 'off', not 'warn'"},
	{"rule severity a boolean", "rules:\n  renaming-column: false\n", 2, 20,
	 "rule 'renaming-column' must be 'error', 'warning' or 'off', not "
	 "'false'"},
	{"duplicate rule id",
	 "rules:\n  renaming-column: off\n  renaming-column: error\n", 3, 3,
	 "duplicate key 'renaming-column' (first at line 2)"},
	{"duplicate top-level key",
	 "migrations: a\nrunner: external\nmigrations: b\n", 3, 1,
	 "duplicate key 'migrations' (first at line 1)"},
	{"key a list", "[a, b]: 1\n", 1, 1, "a key must be a name, not a list"},
	{"root a list", "- migrations\n- releases\n", 1, 1,
	 "the config must be a mapping of keys such as 'migrations: "
	 "migrations', not a list"},
	{"root a scalar after blank lines", "\n\nmigrations\n", 1, 1,
	 "the config must be a mapping of keys such as 'migrations: "
	 "migrations', not 'migrations'"},
	{"syntax: unclosed flow list", "migrations: m\nreleases: [a, b\n", 3, 1,
	 "did not find expected ',' or ']' (while parsing a flow sequence at "
	 "line 2)"},
	{"syntax: bad indentation",
	 "migrations: m\nreleases:\n  - name: v1\n   through: 2\n", 4, 4,
	 "did not find expected '-' indicator (while parsing a block "
	 "collection at line 3)"},
	{"syntax: tab indentation", "migrations: m\n\tpostgres_version: 15\n",
	 2, 1,
	 "found a tab character that violates indentation; YAML indents with "
	 "spaces"},
	{"syntax: unterminated quote", "migrations: m\nrunner: \"external\n", 3,
	 1,
	 "found unexpected end of stream (while scanning a quoted scalar at "
	 "line 2)"},
	{"syntax: invalid UTF-8", "migrations: m\nrunner: \xff\n", 2, 9,
	 "invalid leading UTF-8 octet (byte 0xff)"},
	{"syntax: tab after a BOM and a wide character",
	 "\xef\xbb\xbf\xc3\xa9: \n\t\t- 1\n", 2, 1,
	 "found character that cannot start any token: a tab; YAML indents "
	 "with spaces"},
	{"syntax: tab after spaces",
	 "releases:\n  - name: \xc3\xa9\n  \t- through: 1\n", 3, 3,
	 "found a tab character that violates indentation; YAML indents with "
	 "spaces"},
	{"syntax: invalid UTF-8 after a BOM",
	 "\xef\xbb\xbfrunner: \xc3\xa9\xfe\n", 1, 10,
	 "invalid leading UTF-8 octet (byte 0xfe)"},
	{"second document", "migrations: m\n---\nmigrations: n\n", 2, 1,
	 "a config holds one YAML document, found a second"},
};

START_TEST(test_bad_config)
{
	const struct bad_case *c = &bad_cases[_i];
	char *dir = th_tmpdir();
	char *path = write_config(dir, c->yaml);
	struct phg_config cfg;
	struct phg_err err = {0};
	int rc;

	memset(&cfg, 0xa5, sizeof(cfg)); /* a load must not trust cfg */
	rc = phg_config_load(path, &cfg, &err);
	ck_assert_msg(rc == PHG_ECONFIG, "%s: rc %d", c->what, rc);
	ck_assert_int_eq(err.code, PHG_ECONFIG);
	ck_assert_msg(strcmp(err.msg, c->msg) == 0, "%s: message '%s'", c->what,
		      err.msg);
	ck_assert_msg(err.line == c->line && err.col == c->col,
		      "%s: at %d:%d, want %d:%d", c->what, err.line, err.col,
		      c->line, c->col);
	ck_assert_str_eq(err.file, path);
	ck_assert_msg(cfg_is_zero(&cfg), "%s: cfg not released", c->what);
	phg_config_release(&cfg); /* still safe after a failed load */
	free(path);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_first_error_wins)
{
	char *dir = th_tmpdir();
	char *path = write_config(dir, "regoins: [eu]\n");
	struct phg_config cfg;
	struct phg_err err = {0};

	phg_err_set(&err, PHG_EUSAGE, "earlier failure");
	ck_assert_int_eq(phg_config_load(path, &cfg, &err), PHG_ECONFIG);
	ck_assert_int_eq(err.code, PHG_EUSAGE);
	ck_assert_str_eq(err.msg, "earlier failure");
	ck_assert(cfg_is_zero(&cfg));
	free(path);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_unreadable)
{
	char *dir = th_tmpdir();
	char *missing = phg_path_join(dir, "nothere.yaml");
	struct phg_config cfg;
	struct phg_err err = {0};
	char want[4200];

	ck_assert_int_eq(phg_config_load(missing, &cfg, &err), PHG_EIO);
	snprintf(want, sizeof(want),
		 "cannot read '%s': no such file or "
		 "directory",
		 missing);
	ck_assert_str_eq(err.msg, want);
	ck_assert(cfg_is_zero(&cfg));

	/* A folder where the file was named. */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(phg_config_load(dir, &cfg, &err), PHG_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, dir));
	ck_assert(cfg_is_zero(&cfg));
	free(missing);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* Remembers the current folder so a test can chdir and come back. */
static char saved_cwd[PATH_MAX];

static void save_cwd(void)
{
	ck_assert_ptr_nonnull(getcwd(saved_cwd, sizeof(saved_cwd)));
}

static void restore_cwd(void)
{
	ck_assert_int_eq(chdir(saved_cwd), 0);
}

START_TEST(test_paths_in_current_folder)
{
	char *dir = th_tmpdir();
	struct phg_config cfg;
	struct phg_err err = {0};

	th_write_str(dir, PHG_CONFIG_FILE, "migrations: db/migrations\n");
	save_cwd();
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(phg_config_load("phasegate.yaml", &cfg, &err), 0);
	ck_assert_str_eq(cfg.dir, ".");
	/* No "./" in front: paths print as the user wrote them. */
	ck_assert_str_eq(cfg.migrations, "db/migrations");
	phg_config_release(&cfg);

	/* Without the key, the default folder, also without "./". */
	th_write_str(dir, PHG_CONFIG_FILE, "postgres_version: 14\n");
	ck_assert_int_eq(phg_config_load("phasegate.yaml", &cfg, &err), 0);
	ck_assert_str_eq(cfg.migrations, "migrations");
	phg_config_release(&cfg);
	restore_cwd();
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_paths_in_parent_folders)
{
	char *dir = th_tmpdir();
	char *deep = phg_asprintf("%s/a/b", dir);
	struct phg_config cfg;
	struct phg_err err = {0};

	th_write_str(dir, "a/b/keep", "");
	th_write_str(dir, PHG_CONFIG_FILE, "migrations: db\n");
	th_write_str(dir, "a/" PHG_CONFIG_FILE, "runner: external\n");
	save_cwd();
	ck_assert_int_eq(chdir(deep), 0);

	ck_assert_int_eq(phg_config_load("../phasegate.yaml", &cfg, &err), 0);
	ck_assert_str_eq(cfg.dir, "..");
	ck_assert_str_eq(cfg.migrations, "../migrations");
	ck_assert_int_eq(cfg.runner, PHG_RUNNER_EXTERNAL);
	phg_config_release(&cfg);

	ck_assert_int_eq(phg_config_load("../../phasegate.yaml", &cfg, &err),
			 0);
	ck_assert_str_eq(cfg.dir, "../..");
	ck_assert_str_eq(cfg.migrations, "../../db");
	phg_config_release(&cfg);

	/* An absolute migrations folder is kept as written. */
	th_write_str(dir, PHG_CONFIG_FILE, "migrations: /srv/app/migrations\n");
	ck_assert_int_eq(phg_config_load("../../phasegate.yaml", &cfg, &err),
			 0);
	ck_assert_str_eq(cfg.migrations, "/srv/app/migrations");
	phg_config_release(&cfg);
	restore_cwd();
	ck_assert_int_eq(err.code, 0);
	free(deep);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_paths_absolute)
{
	char *dir = th_tmpdir();
	char *path = write_config(dir, "migrations: sql\n");
	char *want = phg_path_join(dir, "sql");
	struct phg_config cfg;
	struct phg_err err = {0};

	ck_assert_int_eq(phg_config_load(path, &cfg, &err), 0);
	ck_assert_str_eq(cfg.dir, dir);
	ck_assert_str_eq(cfg.migrations, want);
	phg_config_release(&cfg);
	free(want);
	free(path);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_find_walks_up)
{
	char *dir = th_tmpdir();
	char *deep = phg_asprintf("%s/a/b/c", dir);
	char *found = NULL;
	struct phg_config cfg;
	struct phg_err err = {0};

	th_write_str(dir, "a/b/c/keep", "");
	th_write_str(dir, PHG_CONFIG_FILE, "postgres_version: 11\n");
	save_cwd();

	ck_assert_int_eq(chdir(deep), 0);
	ck_assert_int_eq(phg_config_find(&found, &err), 0);
	ck_assert_str_eq(found, "../../../phasegate.yaml");
	/* What find returns loads, and paths follow from it. */
	ck_assert_int_eq(phg_config_load(found, &cfg, &err), 0);
	ck_assert_int_eq(cfg.postgres_version, 11);
	ck_assert_str_eq(cfg.migrations, "../../../migrations");
	phg_config_release(&cfg);
	free(found);

	/* The nearest one wins. */
	th_write_str(dir, "a/b/" PHG_CONFIG_FILE, "");
	ck_assert_int_eq(phg_config_find(&found, &err), 0);
	ck_assert_str_eq(found, "../phasegate.yaml");
	free(found);

	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(phg_config_find(&found, &err), 0);
	ck_assert_str_eq(found, "phasegate.yaml");
	free(found);

	restore_cwd();
	ck_assert_int_eq(err.code, 0);
	free(deep);
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_find_none)
{
	char *dir = th_tmpdir();
	char *found = (char *)"sentinel";
	struct phg_err err = {0};

	/* Only meaningful when no folder above the temporary one has one. */
	if (access("/tmp/" PHG_CONFIG_FILE, F_OK) == 0 ||
	    access("/" PHG_CONFIG_FILE, F_OK) == 0) {
		free(dir);
		return;
	}
	th_write_str(dir, "x/y/keep", "");
	save_cwd();
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(chdir("x/y"), 0);
	ck_assert_int_eq(phg_config_find(&found, &err), 0);
	ck_assert_ptr_null(found);
	ck_assert_int_eq(err.code, 0);

	/* From the root itself the walk ends at once. */
	ck_assert_int_eq(chdir("/"), 0);
	found = (char *)"sentinel";
	ck_assert_int_eq(phg_config_find(&found, &err), 0);
	ck_assert_ptr_null(found);
	restore_cwd();
	th_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_expand_set)
{
	char *out = NULL;
	struct phg_err err = {0};

	ck_assert_int_eq(setenv("PHG_TEST_DB_PASSWORD", "s3cret", 1), 0);
	ck_assert_int_eq(setenv("PHG_TEST_EMPTY", "", 1), 0);
	ck_assert_int_eq(
		phg_config_expand("postgres://app:${PHG_TEST_DB_PASSWORD}@db/x",
				  &out, &err),
		0);
	ck_assert_str_eq(out, "postgres://app:s3cret@db/x");
	free(out);

	ck_assert_int_eq(phg_config_expand("${PHG_TEST_DB_PASSWORD}"
					   "${PHG_TEST_EMPTY}-"
					   "${PHG_TEST_DB_PASSWORD}",
					   &out, &err),
			 0);
	ck_assert_str_eq(out, "s3cret-s3cret");
	free(out);

	ck_assert_int_eq(phg_config_expand("", &out, &err), 0);
	ck_assert_str_eq(out, "");
	free(out);
	ck_assert_int_eq(err.code, 0);
}
END_TEST

START_TEST(test_expand_dollars)
{
	char *out = NULL;
	struct phg_err err = {0};

	ck_assert_int_eq(setenv("PHG_TEST_USER", "app", 1), 0);
	/* "$$" is one "$", so "$${X}" is the text "${X}", not a reference. */
	ck_assert_int_eq(phg_config_expand("pa$$word $${PHG_TEST_USER} "
					   "$$$$ ${PHG_TEST_USER}",
					   &out, &err),
			 0);
	ck_assert_str_eq(out, "pa$word ${PHG_TEST_USER} $$ app");
	free(out);

	/* A "$" before anything else stays as written. */
	ck_assert_int_eq(phg_config_expand("cost $5 $ a$", &out, &err), 0);
	ck_assert_str_eq(out, "cost $5 $ a$");
	free(out);
	ck_assert_int_eq(err.code, 0);
}
END_TEST

START_TEST(test_expand_missing)
{
	char *out = (char *)"sentinel";
	struct phg_err err = {0};

	ck_assert_int_eq(setenv("PHG_TEST_DB_PASSWORD", "s3cret", 1), 0);
	unsetenv("PHG_TEST_NOT_SET");
	ck_assert_int_eq(phg_config_expand("postgres://app:hunter2@db/"
					   "${PHG_TEST_DB_PASSWORD}?x="
					   "${PHG_TEST_NOT_SET}",
					   &out, &err),
			 PHG_ECONFIG);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(err.code, PHG_ECONFIG);
	ck_assert_str_eq(err.msg,
			 "environment variable 'PHG_TEST_NOT_SET' is not set");
	/* Neither a variable's value nor the text around it leaks. */
	ck_assert_ptr_null(strstr(err.msg, "s3cret"));
	ck_assert_ptr_null(strstr(err.msg, "hunter2"));
	ck_assert_ptr_null(strstr(err.msg, "postgres"));
	ck_assert_ptr_null(strstr(err.file, "hunter2"));
}
END_TEST

START_TEST(test_expand_malformed)
{
	static const struct {
		const char *value;
		const char *msg;
	} cases[] = {
		{"postgres://app:hunter2@${PHG_TEST_USER",
		 "unterminated '${' in a config value: write '${NAME}'"},
		{"x${", "unterminated '${' in a config value: write '${NAME}'"},
		{"hunter2${}",
		 "invalid environment variable name in '${...}': use letters, "
		 "digits and '_', not starting with a digit"},
		{"${hunter 2}",
		 "invalid environment variable name in '${...}': use letters, "
		 "digits and '_', not starting with a digit"},
		{"${9LIVES}",
		 "invalid environment variable name in '${...}': use letters, "
		 "digits and '_', not starting with a digit"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = (char *)"sentinel";
		struct phg_err err = {0};

		ck_assert_int_eq(phg_config_expand(cases[i].value, &out, &err),
				 PHG_ECONFIG);
		ck_assert_ptr_null(out);
		ck_assert_str_eq(err.msg, cases[i].msg);
		ck_assert_ptr_null(strstr(err.msg, "hunter"));
	}
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *load = tcase_create("load");
	TCase *bad = tcase_create("bad");
	TCase *paths = tcase_create("paths");
	TCase *expand = tcase_create("expand");

	tcase_add_test(load, test_full_valid);
	tcase_add_test(load, test_defaults);
	tcase_add_test(load, test_release_zeroed_twice);
	tcase_add_loop_test(load, test_empty_file, 0,
			    sizeof(empty_files) / sizeof(empty_files[0]));
	tcase_add_test(load, test_bom_and_crlf);
	tcase_add_test(load, test_through_as_integer);
	tcase_add_test(load, test_postgres_versions);
	suite_add_tcase(s, load);

	tcase_add_loop_test(bad, test_bad_config, 0,
			    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(bad, test_first_error_wins);
	tcase_add_test(bad, test_unreadable);
	suite_add_tcase(s, bad);

	tcase_add_test(paths, test_paths_in_current_folder);
	tcase_add_test(paths, test_paths_in_parent_folders);
	tcase_add_test(paths, test_paths_absolute);
	tcase_add_test(paths, test_find_walks_up);
	tcase_add_test(paths, test_find_none);
	suite_add_tcase(s, paths);

	tcase_add_test(expand, test_expand_set);
	tcase_add_test(expand, test_expand_dollars);
	tcase_add_test(expand, test_expand_missing);
	tcase_add_test(expand, test_expand_malformed);
	suite_add_tcase(s, expand);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
