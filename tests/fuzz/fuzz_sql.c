/*
 * fuzz_sql.c: the whole SQL path of `phasegate lint` under libFuzzer — the
 * input becomes one to four migration files in a temporary folder, which
 * phg_lint_run discovers, parses, classifies, replays into the model,
 * analyzes and gates; the result is then rendered in every report format
 * (text with and without colour, json, sarif, github, gitlab, gcc), and the
 * JSON ones must read back as JSON. First, the whole input is parsed both
 * ways (tests/tree_compare.c): the trees phasegate builds from libpg_query's
 * parse nodes must be the ones its JSON gives.
 *
 * Input: an optional first line "-- fuzz: <flag>..." (an SQL comment, so it
 * stays in the first file harmlessly) chooses how lint runs, then the SQL;
 * a line "-- fuzz:next" starts the next migration file. Flags:
 *   pg=N        postgres_version N, 10 to 15 as the config allows
 *               (default 15)
 *   after       contract: after-cutover
 *   flyway | golang | prisma | diesel | dbmate
 *               the layout the files are named for (default numbered;
 *               dbmate names the files by timestamp, the markers are the
 *               input's)
 *   releases=N  a config with one release through each of the first N
 *               migrations, the rest the candidate
 *   all         lint every release (with releases=N)
 *   shipped=N   the runner's gate: the first N migrations are applied,
 *               and lint collects what the runner needs
 *   file        lint the last migration as a file PATH
 * Without flags the folder is linted with no config: one release per
 * migration, every one linted.
 */
#define _GNU_SOURCE /* asprintf */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "fuzz_util.h"
#include "lint/lint.h"
#include "parse/parse.h"
#include "report/report.h"
#include "tree_compare.h"

#define HEADER "-- fuzz:"
#define NEXT "\n-- fuzz:next\n"
#define MAX_FILES 4
#define FOLDER "m"

enum layout { NUMBERED, FLYWAY, GOLANG, PRISMA, DIESEL, DBMATE };

struct run {
	int pg;
	bool after, all, file;
	enum layout layout;
	size_t releases, shipped;
	char *names[MAX_FILES]; /* migration names, as discovered */
	char *paths[MAX_FILES]; /* relative to the folder */
	size_t nfiles;
};

static void parse_header(const char *line, size_t len, struct run *run)
{
	char *h = strndup(line, len), *save = NULL;

	if (!h)
		abort();
	for (char *w = strtok_r(h, " \t\r", &save); w;
	     w = strtok_r(NULL, " \t\r", &save)) {
		if (!strncmp(w, "pg=", 3))
			run->pg = (int)strtol(w + 3, NULL, 10);
		else if (!strcmp(w, "after"))
			run->after = true;
		else if (!strcmp(w, "all"))
			run->all = true;
		else if (!strcmp(w, "file"))
			run->file = true;
		else if (!strcmp(w, "flyway"))
			run->layout = FLYWAY;
		else if (!strcmp(w, "golang"))
			run->layout = GOLANG;
		else if (!strcmp(w, "prisma"))
			run->layout = PRISMA;
		else if (!strcmp(w, "diesel"))
			run->layout = DIESEL;
		else if (!strcmp(w, "dbmate"))
			run->layout = DBMATE;
		else if (!strncmp(w, "releases=", 9))
			run->releases = (size_t)strtoul(w + 9, NULL, 10);
		else if (!strncmp(w, "shipped=", 8))
			run->shipped = (size_t)strtoul(w + 8, NULL, 10);
	}
	free(h);
}

/* Names migration i (0-based) as its layout does. */
static void name_file(struct run *run, size_t i)
{
	size_t v = i + 1;
	int rc = -1;

	switch (run->layout) {
	case NUMBERED:
		rc = asprintf(&run->names[i], "%04zu_m%zu", v, v);
		if (rc >= 0)
			rc = asprintf(&run->paths[i], "%s.sql", run->names[i]);
		break;
	case DBMATE:
		rc = asprintf(&run->names[i], "2024010100000%zu_m%zu", v, v);
		if (rc >= 0)
			rc = asprintf(&run->paths[i], "%s.sql", run->names[i]);
		break;
	case FLYWAY:
		rc = asprintf(&run->names[i], "V1.%zu__m%zu", v, v);
		if (rc >= 0)
			rc = asprintf(&run->paths[i], "%s.sql", run->names[i]);
		break;
	case GOLANG:
		rc = asprintf(&run->names[i], "%zu_m%zu", v, v);
		if (rc >= 0)
			rc = asprintf(&run->paths[i], "%s.up.sql",
				      run->names[i]);
		break;
	case PRISMA:
		rc = asprintf(&run->names[i], "2024010100000%zu_m%zu", v, v);
		if (rc >= 0)
			rc = asprintf(&run->paths[i], "%s/migration.sql",
				      run->names[i]);
		break;
	case DIESEL:
		rc = asprintf(&run->names[i], "2024-01-01-00000%zu_m%zu", v, v);
		if (rc >= 0)
			rc = asprintf(&run->paths[i], "%s/up.sql",
				      run->names[i]);
		break;
	}
	if (rc < 0)
		abort();
}

/* Writes the migration files; returns false when one cannot be written. */
static bool write_files(const uint8_t *data, size_t size, size_t from,
			struct run *run)
{
	while (run->nfiles < MAX_FILES) {
		size_t end =
			run->nfiles + 1 == MAX_FILES
				? size
				: fz_find(data, size, from, NEXT, strlen(NEXT));
		size_t i = run->nfiles++;
		char *rel;
		bool ok;

		name_file(run, i);
		if (asprintf(&rel, FOLDER "/%s", run->paths[i]) < 0)
			abort();
		ok = fz_write(rel, data + from, end - from);
		free(rel);
		if (!ok)
			return false;
		if (end == size)
			break;
		/* The separator's leading newline ends the file before it. */
		from = end + strlen(NEXT);
	}
	return true;
}

/* The config the flags describe (defaults, changed in place). */
static void make_config(const struct run *run, const char *dir,
			struct phg_config *cfg)
{
	struct phg_err err = {0};

	if (phg_config_defaults(cfg, &err) < 0)
		abort();
	/* Only what the config loader accepts (10 to 15). */
	if (run->pg >= 10 && run->pg <= 15)
		cfg->postgres_version = run->pg;
	cfg->contract = run->after ? PHG_CONTRACT_AFTER_CUTOVER
				   : PHG_CONTRACT_BEFORE_DEPLOY;
	free(cfg->migrations);
	cfg->migrations = strdup(dir);
	if (!cfg->migrations)
		abort();
	cfg->nreleases = run->releases < run->nfiles ? run->releases : 0;
	if (cfg->nreleases) {
		cfg->releases = calloc(cfg->nreleases, sizeof(*cfg->releases));
		if (!cfg->releases)
			abort();
	}
	for (size_t r = 0; r < cfg->nreleases; r++) {
		cfg->releases[r].through = strdup(run->names[r]);
		if (asprintf(&cfg->releases[r].name, "r%zu", r) < 0 ||
		    !cfg->releases[r].through)
			abort();
		cfg->releases[r].line = (int)r + 1;
		cfg->releases[r].col = 1;
	}
}

/* The JSON formats must be JSON, whatever the input held. */
static void check_json(enum phg_format fmt, const struct phg_buf *out)
{
	cJSON *doc;

	if (fmt != PHG_FORMAT_JSON && fmt != PHG_FORMAT_SARIF &&
	    fmt != PHG_FORMAT_GITLAB)
		return;
	doc = cJSON_ParseWithLength(out->data ? out->data : "", out->len);
	if (!doc) {
		fprintf(stderr, "fuzz_sql: format %d is not JSON:\n%.*s\n",
			(int)fmt, (int)out->len, out->data ? out->data : "");
		abort();
	}
	cJSON_Delete(doc);
}

static void render_all(const struct phg_lint_result *res)
{
	static const enum phg_format fmts[] = {
		PHG_FORMAT_TEXT,   PHG_FORMAT_JSON,   PHG_FORMAT_SARIF,
		PHG_FORMAT_GITHUB, PHG_FORMAT_GITLAB, PHG_FORMAT_GCC};

	for (size_t i = 0; i <= sizeof(fmts) / sizeof(fmts[0]); i++) {
		/* One more round: text in colour. */
		bool color = i == sizeof(fmts) / sizeof(fmts[0]);
		struct phg_report_opts ro = {.format = color ? PHG_FORMAT_TEXT
							     : fmts[i],
					     .color = color};
		struct phg_buf out = {0};

		if (phg_report_render_opts(res, &ro, &out) < 0)
			abort();
		check_json(ro.format, &out);
		phg_buf_release(&out);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char *env[] = {"PHG_ARENA_MALLOC=1", NULL};

	(void)argc;
	(void)argv;
	/* Every arena block from malloc, so ASan sees each allocation. */
	fz_fixed_env(env);
	fz_root();
	atexit(phg_parse_shutdown);
	return 0;
}

/* Both parse trees of the input (up to a NUL) agree, or this aborts. */
static void same_trees(const uint8_t *data, size_t size)
{
	char *sql = strndup((const char *)data, size), why[512];

	if (!sql)
		abort();
	if (tc_compare_parse(sql, why, sizeof(why)) < 0) {
		fprintf(stderr, "parse trees differ: %s\n", why);
		abort();
	}
	free(sql);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run run = {0};
	struct phg_config cfg;
	struct phg_lint_opts lo = {0};
	struct phg_lint_result res;
	struct phg_err err = {0};
	const char *shipped[MAX_FILES];
	char *dir = fz_path(FOLDER), *target = NULL;
	size_t from = 0;
	int rc;

	same_trees(data, size);
	if (size >= strlen(HEADER) && !memcmp(data, HEADER, strlen(HEADER))) {
		from = fz_find(data, size, 0, "\n", 1);
		parse_header((const char *)data + strlen(HEADER),
			     from - strlen(HEADER), &run);
		/* The header line stays in the first file (a comment). */
		from = 0;
	}
	if (!write_files(data, size, from, &run))
		goto out;
	make_config(&run, dir, &cfg);
	lo.cfg = &cfg;
	lo.have_config = cfg.nreleases > 0;
	if (run.file) {
		if (asprintf(&target, "%s/%s", dir, run.paths[run.nfiles - 1]) <
		    0)
			abort();
	} else {
		target = strdup(dir);
		if (!target)
			abort();
	}
	lo.paths = (const char *const *)&target;
	lo.npaths = 1;
	lo.all = run.all;
	if (run.shipped > 0) {
		size_t n = run.shipped < run.nfiles ? run.shipped : run.nfiles;

		for (size_t i = 0; i < n; i++)
			shipped[i] = run.names[i];
		lo.shipped = shipped;
		lo.nshipped = n;
		lo.collect = true;
	}
	rc = phg_lint_run(&lo, &res, &err);
	if (rc == PHG_ENOMEM)
		abort();
	if (rc == 0)
		render_all(&res);
	phg_lint_result_release(&res);
	phg_config_release(&cfg);
out:
	for (size_t i = 0; i < run.nfiles; i++) {
		free(run.names[i]);
		free(run.paths[i]);
	}
	free(target);
	free(dir);
	fz_clear();
	return 0;
}
