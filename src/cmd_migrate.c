/*
 * cmd_migrate.c: `phasegate migrate` — applies the pending migrations,
 * region by region, primary first; prints one line per migration and a
 * summary. `phasegate plan` shares this file: it is migrate's dry run with
 * the linter's hazards next to each migration.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "report/report.h"
#include "runner/runner.h"

static void migrate_usage(FILE *out, bool plan)
{
	if (plan)
		fprintf(out,
			"usage: phasegate plan [options]\n"
			"\n"
			"Shows, per region (every region unless --region "
			"names one), what\n"
			"'migrate' would run, in order, with each migration's "
			"phase, how it\n"
			"runs (one transaction or statement by statement), and "
			"the linter's\n"
			"hazards. Touches nothing.\n");
	else
		fprintf(out,
			"usage: phasegate migrate [options]\n"
			"\n"
			"Applies the pending migrations with a history table, "
			"an advisory lock,\n"
			"lock timeouts and retries; region by region, primary "
			"first.\n");
	fprintf(out,
		"\n"
		"options:\n"
		"      --region NAME    only this region\n"
		"      --all-regions    every region, primary first (needed "
		"with several)\n"
		"      --phase LIST     only pending migrations of these "
		"phases:\n"
		"                       expand,backfill,contract (a "
		"migration's phase is\n"
		"                       its strongest statement's)\n"
		"      --to VERSION     stop after this version or name\n");
	if (!plan)
		fprintf(out,
			"      --dry-run        print what would run, per "
			"region; touch nothing\n"
			"      --no-gate        apply even when the lint gate "
			"refuses (recorded)\n"
			"      --no-soak        do not wait between regions\n"
			"      --release TAG    the release recorded in the "
			"history\n");
	fprintf(out, "  -c, --config FILE    the config\n"
		     "  -h, --help           show this help\n"
		     "\n"
		     "exit codes: 0 ok, 1 refused (gate, a file that cannot be "
		     "parsed, checksum\n"
		     "drift, a missing file), 2 usage or config, 3 runtime "
		     "(database\n"
		     "unreachable, lock not acquired, a migration failed, a "
		     "replica behind)\n");
}

static int parse_phases(const char *list, unsigned *mask)
{
	char buf[128];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	*mask = 0;
	for (char *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "expand"))
			*mask |= PHG_PHASE_BIT(PHG_PHASE_EXPAND);
		else if (!strcmp(t, "backfill"))
			*mask |= PHG_PHASE_BIT(PHG_PHASE_BACKFILL);
		else if (!strcmp(t, "contract"))
			*mask |= PHG_PHASE_BIT(PHG_PHASE_CONTRACT);
		else
			return -1;
	}
	return *mask ? 0 : -1;
}

static void print_progress(const struct phg_progress *p, void *ctx)
{
	const struct phg_runner_opts *ro = ctx;

	switch (p->event) {
	case PHG_EV_REGION_START:
		printf("== region %s\n", p->region);
		break;
	case PHG_EV_MIGRATION_DONE:
		printf("  applied  %-50s %-9s %6lld ms\n", p->name, p->detail,
		       p->ms);
		break;
	case PHG_EV_MIGRATION_SKIP:
		printf("  skipped  %-50s %s\n", p->name, p->detail);
		break;
	case PHG_EV_RETRY:
		printf("  retry    %-50s %s\n", p->name, p->detail);
		break;
	case PHG_EV_REGION_DONE:
		printf("  region %s: %zu %s\n", p->region, p->count,
		       ro->dry_run ? "to apply" : "applied");
		break;
	case PHG_EV_SOAK:
		printf("  soak before %s: %lld s left\n", p->region,
		       (p->ms + 999) / 1000);
		break;
	case PHG_EV_REPLICA_WAIT:
		printf("== region %s (replica): waiting until it shows the "
		       "migrations\n",
		       p->region);
		break;
	case PHG_EV_DRY_RUN:
		printf("  would apply %-46s %s\n", p->name, p->detail);
		break;
	case PHG_EV_LOCK_WAIT:
		printf("  waiting for another phasegate run to release the "
		       "lock on %s\n",
		       p->region);
		break;
	case PHG_EV_ADOPTED: /* adopt's own */
		break;
	case PHG_EV_WARNING:
		printf("  warning  %s\n", p->detail);
		break;
	}
	fflush(stdout);
}

/* Shows the gate's findings (hazards) as the lint text report does. */
static void print_findings(const struct phg_lint_result *r)
{
	struct phg_buf out = {0};

	if (phg_report_render(r, PHG_FORMAT_TEXT, &out) == 0 && out.data)
		fputs(out.data, stdout);
	phg_buf_release(&out);
}

static int run_migrate(int argc, char **argv, struct phg_cmd_env *env,
		       bool plan)
{
	enum {
		OPT_REGION = 256,
		OPT_ALL,
		OPT_PHASE,
		OPT_TO,
		OPT_DRY,
		OPT_NOGATE,
		OPT_NOSOAK,
		OPT_RELEASE
	};
	static const struct option opts[] = {
		{"region", required_argument, NULL, OPT_REGION},
		{"all-regions", no_argument, NULL, OPT_ALL},
		{"phase", required_argument, NULL, OPT_PHASE},
		{"to", required_argument, NULL, OPT_TO},
		{"dry-run", no_argument, NULL, OPT_DRY},
		{"no-gate", no_argument, NULL, OPT_NOGATE},
		{"no-soak", no_argument, NULL, OPT_NOSOAK},
		{"release", required_argument, NULL, OPT_RELEASE},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct phg_runner_opts ro = {0};
	struct phg_runner_result res;
	struct phg_err err = {0};
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_REGION:
			ro.region = optarg;
			break;
		case OPT_ALL:
			ro.all_regions = true;
			break;
		case OPT_PHASE:
			if (parse_phases(optarg, &ro.phases) < 0) {
				fprintf(stderr,
					"phasegate: --phase '%s': use a "
					"comma-separated list of expand, "
					"backfill, contract\n",
					optarg);
				return PHG_EXIT_USAGE;
			}
			break;
		case OPT_TO:
			ro.to = optarg;
			break;
		case OPT_DRY:
			ro.dry_run = true;
			break;
		case OPT_NOGATE:
			ro.no_gate = true;
			break;
		case OPT_NOSOAK:
			ro.no_soak = true;
			break;
		case OPT_RELEASE:
			ro.release = optarg;
			break;
		case 'c':
			env->config_path = optarg;
			break;
		case 'h':
			migrate_usage(stdout, plan);
			return PHG_EXIT_OK;
		default:
			migrate_usage(stderr, plan);
			return PHG_EXIT_USAGE;
		}
	}
	if (optind < argc || (ro.region && ro.all_regions) ||
	    (plan && (ro.dry_run || ro.no_gate || ro.no_soak || ro.release))) {
		migrate_usage(stderr, plan);
		return PHG_EXIT_USAGE;
	}
	rc = phg_cmd_config(env);
	if (rc != 0)
		return rc;
	if (plan) {
		/* Every region unless one is named; the findings are shown
		   instead of refusing. */
		ro.dry_run = true;
		ro.no_gate = true;
		ro.all_regions = !ro.region;
	}
	ro.cfg = &env->cfg;
	ro.progress = print_progress;
	ro.progress_ctx = &ro;
	rc = phg_runner_migrate(&ro, &res, &err);
	if (res.have_gate && (plan || res.about_files))
		print_findings(&res.gate);
	if (rc < 0) {
		if (res.applied)
			printf("%zu migration%s applied before the failure\n",
			       res.applied, res.applied == 1 ? "" : "s");
		phg_print_err(&err);
		rc = res.refused ? PHG_EXIT_REFUSED : phg_exit_for(rc);
	} else if (res.refused) {
		fprintf(stderr, "phasegate: the lint gate refuses the pending "
				"migrations; nothing was applied (--no-gate to "
				"override, recorded in the history)\n");
		rc = PHG_EXIT_REFUSED;
	} else if (ro.dry_run && !plan) {
		printf("dry run: %zu migration%s would be applied\n",
		       res.would_apply, res.would_apply == 1 ? "" : "s");
	} else if (!plan) {
		printf("%zu migration%s applied\n", res.applied,
		       res.applied == 1 ? "" : "s");
	}
	phg_runner_result_release(&res);
	return rc;
}

int cmd_migrate(int argc, char **argv, struct phg_cmd_env *env)
{
	return run_migrate(argc, argv, env, false);
}

int cmd_plan(int argc, char **argv, struct phg_cmd_env *env)
{
	return run_migrate(argc, argv, env, true);
}
