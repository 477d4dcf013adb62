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
#include "report/report.h"

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
		"the candidate release of the config's folder is linted.\n"
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

static int write_report(const struct phg_lint_result *r,
			const struct phg_report_opts *ro)
{
	struct phg_buf out = {0};
	int rc = phg_report_render_opts(r, ro, &out);

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

int cmd_lint(int argc, char **argv, struct phg_cmd_env *env)
{
	enum { OPT_BASE = 256, OPT_RELEASE, OPT_ALL, OPT_COLOR, OPT_CHANGED };
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"config", required_argument, NULL, 'c'},
		{"base", required_argument, NULL, OPT_BASE},
		{"release", required_argument, NULL, OPT_RELEASE},
		{"changed-since", required_argument, NULL, OPT_CHANGED},
		{"all", no_argument, NULL, OPT_ALL},
		{"color", required_argument, NULL, OPT_COLOR},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct phg_lint_opts lo = {0};
	struct phg_lint_result res;
	struct phg_report_opts ro = {.format = PHG_FORMAT_TEXT};
	enum color_when color = COLOR_AUTO;
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
	ro.color = ro.format == PHG_FORMAT_TEXT && want_color(color);
	rc = write_report(&res, &ro);
	phg_lint_result_release(&res);
	return rc;
}
