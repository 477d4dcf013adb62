/*
 * test_config.c: the config module — loading phasegate.yaml (valid files,
 * defaults, and every kind of mistake with its exact place and message),
 * regions and their run order, the runner's "migrate:" settings, durations,
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

/* The "migrate:" defaults docs/config.md promises. */
static void assert_migrate_defaults(const struct phg_migrate_settings *m)
{
	ck_assert_str_eq(m->history_schema, "phasegate");
	ck_assert_int_eq(m->lock_timeout_ms, 5000);
	ck_assert_int_eq(m->statement_timeout_ms, 0);
	ck_assert_int_eq(m->retries, 5);
	ck_assert_int_eq(m->retry_backoff_ms, 1000);
	ck_assert_int_eq(m->advisory_lock_wait_ms, 60000);
	ck_assert_int_eq(m->replica_wait_ms, 600000);
}

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
	ck_assert_uint_eq(cfg.nregions, 0);
	ck_assert_ptr_null(cfg.regions);
	assert_migrate_defaults(&cfg.migrate);
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
	ck_assert_uint_eq(cfg.nregions, 0);
	assert_migrate_defaults(&cfg.migrate);
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
	/* regions: */
	{"regions a scalar", "regions: us-east-1\n", 1, 10,
	 "'regions' must be a list of regions, each with 'name' and "
	 "'database', not 'us-east-1'"},
	{"regions a mapping", "regions:\n  us-east-1: {}\n", 2, 3,
	 "'regions' must be a list of regions, each with 'name' and "
	 "'database', not a mapping"},
	{"region entry a scalar", "regions:\n  - us-east-1\n", 2, 5,
	 "each region must be a mapping with 'name' and 'database', not "
	 "'us-east-1'"},
	{"region unknown key",
	 "regions:\n  - name: us\n    database: x\n    soka: 1h\n", 4, 5,
	 "unknown key 'soka' in a region: it takes 'name', 'database', "
	 "'primary', 'replica_of', 'soak' and 'vars'"},
	{"region unknown key in a flow mapping",
	 "regions:\n  - {name: \xc3\xa9u, database: x, region: eu}\n", 2, 29,
	 "unknown key 'region' in a region: it takes 'name', 'database', "
	 "'primary', 'replica_of', 'soak' and 'vars'"},
	{"region duplicate key", "regions:\n  - name: a\n    name: b\n", 3, 5,
	 "duplicate key 'name' (first at line 2)"},
	{"region without name", "regions:\n  - database: x\n", 2, 5,
	 "a region has no 'name'"},
	{"region name with capitals and a space",
	 "regions:\n  - name: US East\n    database: x\n", 2, 11,
	 "'name' must be a region name of lower-case letters, digits, '.', "
	 "'_' and '-', not 'US East'"},
	{"region name with a slash",
	 "regions:\n  - name: eu/west\n    database: x\n", 2, 11,
	 "'name' must be a region name of lower-case letters, digits, '.', "
	 "'_' and '-', not 'eu/west'"},
	{"region name empty", "regions:\n  - name: \"\"\n    database: x\n", 2,
	 11, "'name' must be a region name, not an empty value"},
	{"region name a mapping",
	 "regions:\n  - name: {a: b}\n    database: x\n", 2, 11,
	 "'name' must be a region name, not a mapping"},
	{"region without database", "regions:\n  - name: us-east-1\n", 2, 5,
	 "region 'us-east-1' has no 'database' (its connection URL, e.g. "
	 "'${DATABASE_URL}')"},
	{"region database a list", "regions:\n  - name: a\n    database: [x]\n",
	 3, 15, "'database' must be a connection URL, not a list"},
	{"region database empty",
	 "regions:\n  - name: a\n    database:\n    primary: true\n", 3, 14,
	 "'database' must be a connection URL, not an empty value"},
	{"region database unterminated reference",
	 "regions:\n  - name: a\n    database: ${DATABASE_URL\n", 3, 15,
	 "'database' has an unterminated '${': write '${NAME}'"},
	{"region database invalid reference",
	 "regions:\n  - name: a\n    database: ${1DB}\n", 3, 15,
	 "'database' has an invalid environment variable name in '${...}': "
	 "use letters, digits and '_', not starting with a digit"},
	{"region duplicate name",
	 "regions:\n  - name: a\n    database: x\n    primary: true\n"
	 "  - name: a\n    database: y\n",
	 5, 11, "duplicate region 'a' (first at line 2)"},
	{"region primary not a boolean",
	 "regions:\n  - name: a\n    database: x\n    primary: yes\n", 4, 14,
	 "'primary' must be true or false, not 'yes'"},
	{"region primary a list",
	 "regions:\n  - name: a\n    database: x\n    primary: [true]\n", 4, 14,
	 "'primary' must be true or false, not a list"},
	{"two primaries",
	 "regions:\n  - name: a\n    database: x\n    primary: true\n"
	 "  - name: b\n    database: y\n    primary: TRUE\n",
	 7, 14,
	 "region 'b' is a second primary (the first is 'a' at line 2): "
	 "exactly one region runs first"},
	{"no primary",
	 "migrations: m\nregions:\n  - name: a\n    database: x\n"
	 "  - name: b\n    database: y\n",
	 2, 1,
	 "'regions' has no primary: mark the region that runs first with "
	 "'primary: true'"},
	{"lone region that is not the primary",
	 "regions:\n  - name: a\n    database: x\n    primary: False\n", 1, 1,
	 "'regions' has no primary: mark the region that runs first with "
	 "'primary: true'"},
	{"replica of an unknown region",
	 "regions:\n  - name: a\n    database: x\n    primary: true\n"
	 "  - name: b\n    database: y\n    replica_of: c\n",
	 7, 17, "region 'b' is a replica of unknown region 'c'"},
	{"replica of itself",
	 "regions:\n  - name: a\n    database: x\n    primary: true\n"
	 "  - name: b\n    database: y\n    replica_of: b\n",
	 7, 17, "region 'b' cannot be a replica of itself"},
	{"replica of a replica",
	 "regions:\n  - name: a\n    database: x\n    primary: true\n"
	 "  - name: b\n    database: y\n    replica_of: a\n"
	 "  - name: c\n    database: z\n    replica_of: b\n",
	 10, 17,
	 "region 'c' is a replica of 'b', which is a replica itself: name the "
	 "region that gets the migrations"},
	{"replica before the region it replicates",
	 "regions:\n  - name: a\n    database: x\n    primary: true\n"
	 "  - name: r\n    database: y\n    replica_of: b\n"
	 "  - name: b\n    database: z\n",
	 7, 17,
	 "region 'r' is a replica of 'b', which runs after it: list the "
	 "replica after the region it replicates"},
	{"replica_of empty",
	 "regions:\n  - name: a\n    database: x\n    replica_of: \"\"\n", 4,
	 17, "'replica_of' must be a region name, not an empty value"},
	{"replica that is the primary",
	 "regions:\n  - name: a\n    database: x\n"
	 "  - name: b\n    database: y\n    primary: true\n    replica_of: a\n",
	 6, 14,
	 "region 'b' is a replica ('replica_of'), so it cannot be the "
	 "primary"},
	{"soak not a duration",
	 "regions:\n  - name: a\n    database: x\n    soak: 1 hour\n", 4, 11,
	 "'soak' must be a duration such as 5s, 500ms or 1h, not '1 hour'"},
	{"soak negative",
	 "regions:\n  - name: a\n    database: x\n    primary: true\n"
	 "  - name: b\n    database: y\n    soak: -1h\n",
	 7, 11, "'soak' must be a duration such as 5s, 500ms or 1h, not '-1h'"},
	{"soak on the primary",
	 "regions:\n  - name: a\n    database: x\n    primary: true\n"
	 "    soak: 1h\n  - name: b\n    database: y\n",
	 5, 11,
	 "region 'a' is the primary and runs first, so it takes no 'soak' "
	 "(the wait after the previous region)"},
	{"soak on a lone region",
	 "regions:\n  - name: a\n    database: x\n    soak: 10m\n", 4, 11,
	 "region 'a' is the primary and runs first, so it takes no 'soak' "
	 "(the wait after the previous region)"},
	/* migrate: */
	{"migrate a list", "migrate: [lock_timeout]\n", 1, 10,
	 "'migrate' must be a mapping of runner settings such as "
	 "'lock_timeout: 5s', not a list"},
	{"migrate a scalar", "migrate: fast\n", 1, 10,
	 "'migrate' must be a mapping of runner settings such as "
	 "'lock_timeout: 5s', not 'fast'"},
	{"migrate unknown key", "migrate:\n  lock_timout: 5s\n", 2, 3,
	 "unknown key 'lock_timout' in 'migrate': it takes 'history_schema', "
	 "'lock_timeout', 'statement_timeout', 'retries', 'retry_backoff', "
	 "'advisory_lock_wait' and 'replica_wait'"},
	{"migrate duplicate key", "migrate:\n  retries: 1\n  retries: 2\n", 3,
	 3, "duplicate key 'retries' (first at line 2)"},
	{"lock_timeout in words", "migrate:\n  lock_timeout: five\n", 2, 17,
	 "'lock_timeout' must be a duration such as 5s, 500ms or 1h, not "
	 "'five'"},
	{"lock_timeout without a unit", "migrate:\n  lock_timeout: 5\n", 2, 17,
	 "'lock_timeout' must be a duration such as 5s, 500ms or 1h, not "
	 "'5': add a unit"},
	{"lock_timeout zero", "migrate:\n  lock_timeout: 0s\n", 2, 17,
	 "'lock_timeout' must be more than 0: without it a migration waiting "
	 "for a lock blocks every query queued behind it"},
	{"lock_timeout a fraction", "migrate:\n  lock_timeout: 1.5s\n", 2, 17,
	 "'lock_timeout' must be a duration such as 5s, 500ms or 1h, not "
	 "'1.5s'"},
	{"lock_timeout empty", "migrate:\n  lock_timeout:\n", 2, 16,
	 "'lock_timeout' must be a duration such as 5s, 500ms or 1h, not an "
	 "empty value"},
	{"statement_timeout past PostgreSQL's limit",
	 "migrate:\n  statement_timeout: 600h\n", 2, 22,
	 "'statement_timeout' must be at most 2147483647ms (about 596h), "
	 "PostgreSQL's limit, not '600h'"},
	{"lock_timeout one past PostgreSQL's limit",
	 "migrate:\n  lock_timeout: 2147483648ms\n", 2, 17,
	 "'lock_timeout' must be at most 2147483647ms (about 596h), "
	 "PostgreSQL's limit, not '2147483648ms'"},
	{"statement_timeout negative", "migrate:\n  statement_timeout: -1s\n",
	 2, 22,
	 "'statement_timeout' must be a duration such as 5s, 500ms or 1h, not "
	 "'-1s'"},
	{"retries too many", "migrate:\n  retries: 101\n", 2, 12,
	 "'retries' must be an integer between 0 and 100, not '101'"},
	{"retries negative", "migrate:\n  retries: -1\n", 2, 12,
	 "'retries' must be an integer between 0 and 100, not '-1'"},
	{"retries a fraction", "migrate:\n  retries: 2.5\n", 2, 12,
	 "'retries' must be an integer between 0 and 100, not '2.5'"},
	{"retries huge", "migrate:\n  retries: 99999999999999999999\n", 2, 12,
	 "'retries' must be an integer between 0 and 100, not "
	 "'99999999999999999999'"},
	{"retry_backoff unknown unit", "migrate:\n  retry_backoff: 1d\n", 2, 18,
	 "'retry_backoff' must be a duration such as 5s, 500ms or 1h, not "
	 "'1d'"},
	{"advisory_lock_wait overflow",
	 "migrate:\n  advisory_lock_wait: 9999999999999999999h\n", 2, 23,
	 "'advisory_lock_wait' must be a duration such as 5s, 500ms or 1h, "
	 "not '9999999999999999999h'"},
	{"replica_wait a list", "migrate:\n  replica_wait: [1m]\n", 2, 17,
	 "'replica_wait' must be a duration such as 5s, 500ms or 1h, not a "
	 "list"},
	{"history_schema with capitals",
	 "migrate:\n  history_schema: Phasegate\n", 2, 19,
	 "'history_schema' must be a schema name (lower-case letters, digits "
	 "and '_', not starting with a digit, at most 63 characters), not "
	 "'Phasegate'"},
	{"history_schema starting with a digit",
	 "migrate:\n  history_schema: 1history\n", 2, 19,
	 "'history_schema' must be a schema name (lower-case letters, digits "
	 "and '_', not starting with a digit, at most 63 characters), not "
	 "'1history'"},
	{"history_schema too long",
	 "migrate:\n  history_schema: "
	 "a234567890123456789012345678901234567890123456789012345678901234\n",
	 2, 19,
	 "'history_schema' must be a schema name (lower-case letters, digits "
	 "and '_', not starting with a digit, at most 63 characters), not "
	 "'a234567890123456789012345678901234567890123456789012345678901234'"},
	{"history_schema reserved", "migrate:\n  history_schema: pg_history\n",
	 2, 19,
	 "'history_schema' cannot be 'pg_history': PostgreSQL reserves names "
	 "starting with 'pg_' for system schemas"},
	{"history_schema empty", "migrate:\n  history_schema: ''\n", 2, 19,
	 "'history_schema' must be a schema name, not an empty value"},
};

/* The issue's example, verbatim, plus every "migrate:" key. */
START_TEST(test_regions_and_migrate_valid)
{
	char *dir = th_tmpdir();
	char *path = write_config(
		dir, "regions:\n"
		     "  - name: us-east-1\n"
		     "    primary: true\n"
		     "    database: ${DATABASE_URL_US_EAST_1}   # taken from "
		     "the environment\n"
		     "  - name: eu-west-1\n"
		     "    database: ${DATABASE_URL_EU_WEST_1}\n"
		     "    soak: 1h                              # wait after "
		     "the previous region finished\n"
		     "  - name: ap-southeast-1\n"
		     "    database: ${DATABASE_URL_AP_SOUTHEAST_1}\n"
		     "    soak: 1h\n"
		     "  - name: eu-west-1.replica_2\n"
		     "    database: postgres://reader@eu-replica/app\n"
		     "    replica_of: eu-west-1\n"
		     "    primary: false\n"
		     "migrate:\n"
		     "  history_schema: ops_history\n"
		     "  lock_timeout: 2s\n"
		     "  statement_timeout: 1h30m\n"
		     "  retries: 0\n"
		     "  retry_backoff: 250ms\n"
		     "  advisory_lock_wait: 0\n"
		     "  replica_wait: 1m30s500ms\n");
	struct phg_config cfg;
	struct phg_err err = {0};
	const struct phg_region *r;

	/* Stored as written even when the variables are set. */
	ck_assert_int_eq(setenv("DATABASE_URL_US_EAST_1", "s3cret", 1), 0);
	ck_assert_int_eq(phg_config_load(path, &cfg, &err), 0);
	ck_assert_int_eq(err.code, 0);
	ck_assert_uint_eq(cfg.nregions, 4);
	r = &cfg.regions[0];
	ck_assert_str_eq(r->name, "us-east-1");
	ck_assert_str_eq(r->database, "${DATABASE_URL_US_EAST_1}");
	ck_assert(r->primary);
	ck_assert_ptr_null(r->replica_of);
	ck_assert_int_eq(r->soak_ms, 0);
	ck_assert_uint_eq(r->index, 0);
	ck_assert_int_eq(r->line, 2);
	ck_assert_int_eq(r->col, 11);
	r = &cfg.regions[1];
	ck_assert_str_eq(r->name, "eu-west-1");
	ck_assert_str_eq(r->database, "${DATABASE_URL_EU_WEST_1}");
	ck_assert(!r->primary);
	ck_assert_int_eq(r->soak_ms, 3600000);
	ck_assert_uint_eq(r->index, 1);
	ck_assert_int_eq(r->line, 5);
	r = &cfg.regions[2];
	ck_assert_str_eq(r->name, "ap-southeast-1");
	ck_assert_str_eq(r->database, "${DATABASE_URL_AP_SOUTHEAST_1}");
	ck_assert_int_eq(r->soak_ms, 3600000);
	r = &cfg.regions[3];
	ck_assert_str_eq(r->name, "eu-west-1.replica_2");
	ck_assert_str_eq(r->database, "postgres://reader@eu-replica/app");
	ck_assert_str_eq(r->replica_of, "eu-west-1");
	ck_assert(!r->primary);
	ck_assert_int_eq(r->soak_ms, 0);
	ck_assert_uint_eq(r->index, 3);
	ck_assert_int_eq(r->line, 11);

	ck_assert_str_eq(cfg.migrate.history_schema, "ops_history");
	ck_assert_int_eq(cfg.migrate.lock_timeout_ms, 2000);
	ck_assert_int_eq(cfg.migrate.statement_timeout_ms, 5400000);
	ck_assert_int_eq(cfg.migrate.retries, 0);
	ck_assert_int_eq(cfg.migrate.retry_backoff_ms, 250);
	ck_assert_int_eq(cfg.migrate.advisory_lock_wait_ms, 0);
	ck_assert_int_eq(cfg.migrate.replica_wait_ms, 90500);
	phg_config_release(&cfg);
	ck_assert(cfg_is_zero(&cfg));
	unsetenv("DATABASE_URL_US_EAST_1");
	free(path);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* The primary runs first wherever it is written; the rest keep their order. */
START_TEST(test_regions_primary_written_last)
{
	char *dir = th_tmpdir();
	char *path = write_config(dir, "regions:\n"
				       "  - name: eu-west-1\n"
				       "    database: ${EU}\n"
				       "    soak: 30m\n"
				       "  - name: eu-replica\n"
				       "    database: ${EU_REPLICA}\n"
				       "    replica_of: us-east-1\n"
				       "  - {name: ap-southeast-1, database: "
				       "\"${AP}\", soak: 2h}\n"
				       "  - name: us-east-1\n"
				       "    database: $${literal}\n"
				       "    primary: true\n");
	static const struct {
		const char *name;
		size_t index;
		long long soak_ms;
		int line, col;
	} want[] = {
		{"us-east-1", 3, 0, 9, 11},
		{"eu-west-1", 0, 1800000, 2, 11},
		{"eu-replica", 1, 0, 5, 11},
		{"ap-southeast-1", 2, 7200000, 8, 12},
	};
	struct phg_config cfg;
	struct phg_err err = {0};

	ck_assert_int_eq(phg_config_load(path, &cfg, &err), 0);
	ck_assert_uint_eq(cfg.nregions, 4);
	for (size_t i = 0; i < cfg.nregions; i++) {
		const struct phg_region *r = &cfg.regions[i];

		ck_assert_str_eq(r->name, want[i].name);
		ck_assert_uint_eq(r->index, want[i].index);
		ck_assert_int_eq(r->soak_ms, want[i].soak_ms);
		ck_assert_int_eq(r->line, want[i].line);
		ck_assert_int_eq(r->col, want[i].col);
		ck_assert(r->primary == (i == 0));
	}
	/* A replica of the primary may be written before it: it runs first. */
	ck_assert_str_eq(cfg.regions[2].replica_of, "us-east-1");
	ck_assert_str_eq(cfg.regions[3].database, "${AP}");
	ck_assert_str_eq(cfg.regions[0].database, "$${literal}");
	phg_config_release(&cfg);
	free(path);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* Configs with no regions, or a lone one, and "migrate:" left empty. */
START_TEST(test_regions_lone_and_empty)
{
	static const char *const none[] = {
		"regions:\nmigrate:\n",
		"regions: []\nmigrate: {}\n",
		"regions: ~\nmigrate: null\n",
	};
	char *dir = th_tmpdir();
	char *path;
	struct phg_config cfg;
	struct phg_err err = {0};

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		path = write_config(dir, none[i]);
		ck_assert_int_eq(phg_config_load(path, &cfg, &err), 0);
		ck_assert_uint_eq(cfg.nregions, 0);
		ck_assert_ptr_null(cfg.regions);
		assert_migrate_defaults(&cfg.migrate);
		phg_config_release(&cfg);
		free(path);
	}

	/* A lone region with no "primary" is the primary. */
	path = write_config(dir, "regions:\n"
				 "  - name: local\n"
				 "    database: postgres:///app\n"
				 "migrate:\n"
				 "  lock_timeout: 500ms\n");
	ck_assert_int_eq(phg_config_load(path, &cfg, &err), 0);
	ck_assert_uint_eq(cfg.nregions, 1);
	ck_assert_str_eq(cfg.regions[0].name, "local");
	ck_assert(cfg.regions[0].primary);
	ck_assert_int_eq(cfg.migrate.lock_timeout_ms, 500);
	/* Keys not given keep their defaults. */
	ck_assert_str_eq(cfg.migrate.history_schema, "phasegate");
	ck_assert_int_eq(cfg.migrate.retries, 5);
	ck_assert_int_eq(cfg.migrate.replica_wait_ms, 600000);
	phg_config_release(&cfg);
	free(path);

	/* The limits themselves are accepted. */
	path = write_config(dir, "migrate:\n"
				 "  statement_timeout: 2147483647ms\n"
				 "  lock_timeout: 1ms\n"
				 "  retries: 100\n"
				 "  history_schema: "
				 "_23456789012345678901234567890123456789012345"
				 "678901234567890123\n");
	ck_assert_int_eq(phg_config_load(path, &cfg, &err), 0);
	ck_assert_int_eq(cfg.migrate.statement_timeout_ms, 2147483647LL);
	ck_assert_int_eq(cfg.migrate.lock_timeout_ms, 1);
	ck_assert_int_eq(cfg.migrate.retries, 100);
	ck_assert_uint_eq(strlen(cfg.migrate.history_schema), 63);
	phg_config_release(&cfg);
	free(path);
	ck_assert_int_eq(err.code, 0);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* A database value is a secret: no error about it may quote it. */
START_TEST(test_region_database_never_quoted)
{
	static const char *const yamls[] = {
		"regions:\n  - name: a\n    database: "
		"postgres://app:hunter2@db/${DB\n",
		"regions:\n  - name: a\n    database: "
		"postgres://app:hunter2@db/${hunter2 x}\n",
		"regions:\n  - name: a\n    database: \"hunter2\\0x\"\n",
	};
	char *dir = th_tmpdir();

	for (size_t i = 0; i < sizeof(yamls) / sizeof(yamls[0]); i++) {
		char *path = write_config(dir, yamls[i]);
		struct phg_config cfg;
		struct phg_err err = {0};

		ck_assert_int_eq(phg_config_load(path, &cfg, &err),
				 PHG_ECONFIG);
		ck_assert_int_eq(err.line, 3);
		ck_assert_int_eq(err.col, 15);
		ck_assert_msg(!strstr(err.msg, "hunter2"), "leaked: %s",
			      err.msg);
		free(path);
	}
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* What phg_duration_parse accepts, and the milliseconds it gives. */
static const struct {
	const char *text;
	long long ms;
} good_durations[] = {
	{"0", 0},
	{"00", 0},
	{"0s", 0},
	{"0ms", 0},
	{"1ms", 1},
	{"250ms", 250},
	{"5s", 5000},
	{"05s", 5000},
	{"10m", 600000},
	{"90m", 5400000},
	{"1h", 3600000},
	{"1h30m", 5400000},
	{"2h0m0s0ms", 7200000},
	{"1m30s500ms", 90500},
	{"1h1s", 3601000},
	{"1500ms", 1500},
	{"48h", 172800000},
	{"9223372036854775807ms", LLONG_MAX},
	{"2562047788015h", 9223372036854000000LL},
	{"2562047788015h12m55s807ms", LLONG_MAX},
};

START_TEST(test_duration_good)
{
	long long ms = -1;

	ck_assert_msg(phg_duration_parse(good_durations[_i].text, &ms) == 0,
		      "'%s' refused", good_durations[_i].text);
	ck_assert_msg(ms == good_durations[_i].ms, "'%s' gave %lld, want %lld",
		      good_durations[_i].text, ms, good_durations[_i].ms);
}
END_TEST

/* What it refuses: no sign, fraction, space, other unit, order or case. */
static const char *const bad_durations[] = {
	"",
	"5",
	"100",
	"-5s",
	"-0",
	"+5s",
	"1.5s",
	".5s",
	"5 s",
	" 5s",
	"5s ",
	"5S",
	"5Ms",
	"5sec",
	"5min",
	"5d",
	"5us",
	"s",
	"ms",
	"h5",
	"5m5",
	"1h1h",
	"30m1h",
	"1s1m",
	"5ms3s",
	"1m1m",
	"five",
	"1h 30m",
	"9223372036854775808ms",
	"2562047788016h",
	"2562047788015h12m55s808ms",
	"99999999999999999999999h",
	"0x10s",
};

START_TEST(test_duration_bad)
{
	long long ms = 42;

	ck_assert_msg(phg_duration_parse(bad_durations[_i], &ms) == PHG_ECONFIG,
		      "'%s' accepted", bad_durations[_i]);
	/* *ms is set only on success. */
	ck_assert_int_eq(ms, 42);
}
END_TEST

START_TEST(test_duration_null)
{
	long long ms = 42;

	ck_assert_int_eq(phg_duration_parse(NULL, &ms), PHG_ECONFIG);
	ck_assert_int_eq(ms, 42);
}
END_TEST

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
	TCase *regions = tcase_create("regions");
	TCase *duration = tcase_create("duration");

	tcase_add_test(load, test_full_valid);
	tcase_add_test(load, test_defaults);
	tcase_add_test(load, test_release_zeroed_twice);
	tcase_add_loop_test(load, test_empty_file, 0,
			    sizeof(empty_files) / sizeof(empty_files[0]));
	tcase_add_test(load, test_bom_and_crlf);
	tcase_add_test(load, test_through_as_integer);
	tcase_add_test(load, test_postgres_versions);
	suite_add_tcase(s, load);

	tcase_add_test(regions, test_regions_and_migrate_valid);
	tcase_add_test(regions, test_regions_primary_written_last);
	tcase_add_test(regions, test_regions_lone_and_empty);
	tcase_add_test(regions, test_region_database_never_quoted);
	suite_add_tcase(s, regions);

	tcase_add_loop_test(duration, test_duration_good, 0,
			    sizeof(good_durations) / sizeof(good_durations[0]));
	tcase_add_loop_test(duration, test_duration_bad, 0,
			    sizeof(bad_durations) / sizeof(bad_durations[0]));
	tcase_add_test(duration, test_duration_null);
	suite_add_tcase(s, duration);

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
