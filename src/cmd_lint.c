/*
 * cmd_lint.c: `phasegate lint [PATH...]` — checks migration files and gates
 * the release; exit 1 when an unsuppressed error is found. Whether the text
 * report is coloured is decided here (--color, the terminal, NO_COLOR), not
 * in the library.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "lint/lint.h"
#include "orchestrator/orchestrator.h"
#include "report/report.h"
#include "runner/runner.h"

static void lint_usage(FILE *out)
{
	fprintf(out,
		"usage: phasegate lint [options] [PATH...]\n"
		"\n"
		"Classifies every statement as expand, backfill or contract "
		"and "
		"refuses\n"
		"releases that would break the release still serving traffic.\n"
		"\n"
		"PATH is a migrations folder (linted release by release) or a "
		"migration\n"
		"file (linted in the context of the migrations before it). "
		"Without PATH,\n"
		"the candidate release of the config's folder is linted. "
		"Several\n"
		"PATHs are linted one after another, each on its own, into "
		"one report.\n"
		"\n"
		"options:\n"
		"  -f, --format FORMAT  text (default), json, sarif, github, "
		"gitlab or gcc\n"
		"      --color WHEN     colour the text report: auto (default: "
		"on a terminal,\n"
		"                       unless NO_COLOR is set), always or "
		"never\n"
		"  -c, --config FILE    the config (default: phasegate.yaml "
		"here or above)\n"
		"      --base REF       migrations in git at REF are shipped; "
		"the rest is the\n"
		"                       candidate release\n"
		"      --release NAME   lint a shipped release against its own "
		"history\n"
		"      --changed-since REF\n"
		"                       report only migrations that differ "
		"from "
		"git REF (or\n"
		"                       are untracked), each linted with its "
		"release\n"
		"      --all            lint every release (exit 1 if any has "
		"an error)\n"
		"      --stats DSN      read the tables' rows, size and write "
		"rate from this\n"
		"                       database, state them in each finding "
		"and lower lock\n"
		"                       findings on small tables to warnings "
		"(write\n"
		"                       '${DATABASE_URL}' to keep the password "
		"out of argv)\n"
		"  -h, --help           show this help\n"
		"\n"
		"exit codes: 0 ok, 1 refused (an unsuppressed error), 2 usage, "
		"config or\n"
		"unreadable file, 3 runtime failure\n");
}

/* --color WHEN */
enum color_when { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

/* auto: stdout is a terminal and NO_COLOR is unset or empty (no-color.org). */
static bool want_color(enum color_when when)
{
	const char *no_color = getenv("NO_COLOR");

	if (when != COLOR_AUTO)
		return when == COLOR_ALWAYS;
	return isatty(STDOUT_FILENO) && !(no_color && *no_color);
}

static int flush_stdout(void *ctx, const char *data, size_t len)
{
	(void)ctx;
	return fwrite(data, 1, len, stdout) == len ? 0 : PHG_EIO;
}

/* The report goes out 64 KB at a time as it is made: a report of several
 * megabytes no longer means as much fresh memory (page faults). */
static int write_report(const struct phg_lint_result *r,
			const struct phg_report_opts *ro)
{
	struct phg_buf out = {.flush = flush_stdout};
	int rc = phg_buf_reserve(&out, 64 * 1024);

	rc = rc ? rc : phg_report_render_opts(r, ro, &out);
	if (rc == PHG_EIO) { /* main reports stdout's error */
		phg_buf_release(&out);
		return PHG_EXIT_RUNTIME;
	}
	if (rc < 0) {
		fprintf(stderr, "phasegate: out of memory\n");
		phg_buf_release(&out);
		return PHG_EXIT_RUNTIME;
	}
	if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len) {
		phg_buf_release(&out);
		return PHG_EXIT_RUNTIME;
	}
	phg_buf_release(&out);
	return phg_lint_refused(r) ? PHG_EXIT_REFUSED : PHG_EXIT_OK;
}

/*
 * --stats: one query for the tables the findings are on, then each finding
 * gets its table's numbers and lock findings on small tables become
 * warnings. The database is asked even when no finding names a table, so
 * that a wrong DSN fails today rather than on the first finding.
 */
static int add_stats(const struct phg_config *cfg, const char *dsn,
		     struct phg_lint_result *res, struct phg_err *err)
{
	struct phg_vec tables = {0};
	struct phg_table_stats *stats = NULL;
	size_t n = 0;
	int rc = phg_lint_stats_tables(res, &tables);

	if (rc < 0)
		rc = phg_err_set(err, rc, "out of memory");
	else
		rc = phg_runner_table_stats(
			cfg, dsn, (const char *const *)tables.items, tables.n,
			&res->arena, &stats, &n, err);
	if (rc == 0)
		phg_lint_stats_apply(res, stats, n, &cfg->stats);
	phg_vec_release(&tables);
	return rc;
}

int cmd_lint(int argc, char **argv, struct phg_cmd_env *env)
{
	enum {
		OPT_BASE = 256,
		OPT_RELEASE,
		OPT_ALL,
		OPT_COLOR,
		OPT_CHANGED,
		OPT_STATS
	};
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"config", required_argument, NULL, 'c'},
		{"base", required_argument, NULL, OPT_BASE},
		{"release", required_argument, NULL, OPT_RELEASE},
		{"changed-since", required_argument, NULL, OPT_CHANGED},
		{"all", no_argument, NULL, OPT_ALL},
		{"color", required_argument, NULL, OPT_COLOR},
		{"stats", required_argument, NULL, OPT_STATS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct phg_lint_opts lo = {0};
	struct phg_lint_result res;
	struct phg_report_opts ro = {.format = PHG_FORMAT_TEXT};
	enum color_when color = COLOR_AUTO;
	const char *stats_dsn = NULL;
	struct phg_err err = {0};
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (phg_report_format_parse(optarg, &ro.format, &err) <
			    0) {
				phg_print_err(&err);
				return PHG_EXIT_USAGE;
			}
			break;
		case 'c':
			env->config_path = optarg;
			break;
		case OPT_BASE:
			lo.base = optarg;
			break;
		case OPT_RELEASE:
			lo.release = optarg;
			break;
		case OPT_CHANGED:
			lo.changed_since = optarg;
			break;
		case OPT_ALL:
			lo.all = true;
			break;
		case OPT_STATS:
			if (!*optarg) {
				fprintf(stderr,
					"phasegate: --stats needs a connection "
					"string, got an empty one (is the "
					"variable that should hold it set?)\n");
				return PHG_EXIT_USAGE;
			}
			stats_dsn = optarg;
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "auto") == 0) {
				color = COLOR_AUTO;
			} else if (strcmp(optarg, "always") == 0) {
				color = COLOR_ALWAYS;
			} else if (strcmp(optarg, "never") == 0) {
				color = COLOR_NEVER;
			} else {
				fprintf(stderr,
					"phasegate: unknown --color '%s' (use "
					"auto, always or never)\n",
					optarg);
				return PHG_EXIT_USAGE;
			}
			break;
		case 'h':
			lint_usage(stdout);
			return PHG_EXIT_OK;
		default:
			lint_usage(stderr);
			return PHG_EXIT_USAGE;
		}
	}
	if ((lo.all && lo.release) || (lo.base && lo.release)) {
		fprintf(stderr, "phasegate: --release cannot be combined with "
				"--all or --base\n");
		return PHG_EXIT_USAGE;
	}
	rc = phg_cmd_config(env);
	if (rc != 0)
		return rc;
	/* Releases the ledger recorded come after the config's. */
	if (env->have_config && !lo.base &&
	    phg_orch_ledger_releases(&env->cfg, &err) < 0) {
		fprintf(stderr,
			"phasegate: warning: release boundaries from "
			"the ledger not used: %s\n",
			err.msg);
		memset(&err, 0, sizeof(err));
	}
	lo.cfg = &env->cfg;
	lo.have_config = env->have_config;
	lo.paths = (const char *const *)argv + optind;
	lo.npaths = (size_t)(argc - optind);
	rc = phg_lint_run(&lo, &res, &err);
	if (rc < 0) {
		phg_print_err(&err);
		phg_lint_result_release(&res);
		return phg_exit_for(rc);
	}
	if (stats_dsn) {
		rc = add_stats(&env->cfg, stats_dsn, &res, &err);
		if (rc < 0) {
			phg_print_err(&err);
			phg_lint_result_release(&res);
			return phg_exit_for(rc);
		}
	}
	ro.color = ro.format == PHG_FORMAT_TEXT && want_color(color);
	rc = write_report(&res, &ro);
	phg_lint_result_release(&res);
	return rc;
}
