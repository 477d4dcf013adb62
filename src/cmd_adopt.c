/*
 * cmd_adopt.c: `phasegate adopt --from TOOL` — records in phasegate's
 * history, region by region, the migrations that Prisma, golang-migrate,
 * dbmate or Flyway already applied, so a team switches to phasegate without
 * running anything again. Prints one line per adopted migration, warnings,
 * and a summary.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "runner/runner.h"

static void adopt_usage(FILE *out)
{
	fprintf(out,
		"usage: phasegate adopt --from TOOL [options]\n"
		"\n"
		"Reads the history table of the tool that applied the "
		"migrations so far\n"
		"(Prisma's _prisma_migrations, golang-migrate's or dbmate's "
		"schema_migrations,\n"
		"Flyway's flyway_schema_history) in each region's database, "
		"and records\n"
		"every migration on disk that it shows as applied as applied "
		"in phasegate's\n"
		"history (release 'adopted'). Runs none of their SQL; "
		"migrations already in\n"
		"phasegate's history are left alone, so running it twice is "
		"harmless.\n"
		"\n"
		"options:\n"
		"      --from TOOL      prisma, golang-migrate, dbmate or "
		"flyway (required)\n"
		"      --region NAME    only this region\n"
		"      --all-regions    every region, primary first (needed "
		"with several)\n"
		"      --table NAME     the tool's history table when not its "
		"default\n"
		"                       (NAME or SCHEMA.NAME)\n"
		"      --dry-run        print what would be recorded; touch "
		"nothing\n"
		"  -c, --config FILE    the config\n"
		"  -h, --help           show this help\n"
		"\n"
		"exit codes: 0 ok, 1 the tool's own state is dirty or failed "
		"(nothing\n"
		"recorded in that region), 2 usage or config (no such table, "
		"not the tool's\n"
		"table), 3 runtime (database unreachable, lock not "
		"acquired)\n");
}

static void print_progress(const struct phg_progress *p, void *ctx)
{
	const struct phg_adopt_opts *ao = ctx;

	switch (p->event) {
	case PHG_EV_REGION_START:
		printf("== region %s%s%s\n", p->region, p->detail ? ": " : "",
		       p->detail ? p->detail : "");
		break;
	case PHG_EV_ADOPTED:
		printf("  %s  %-50s %s\n",
		       ao->run.dry_run ? "would adopt" : "adopted", p->name,
		       p->detail);
		break;
	case PHG_EV_WARNING:
		printf("  warning  %s\n", p->detail);
		break;
	case PHG_EV_REGION_DONE:
		printf("  region %s: %s\n", p->region, p->detail);
		break;
	case PHG_EV_LOCK_WAIT:
		printf("  waiting for another phasegate run to release the "
		       "lock on %s\n",
		       p->region);
		break;
	case PHG_EV_MIGRATION_DONE:
	case PHG_EV_MIGRATION_SKIP:
	case PHG_EV_RETRY:
	case PHG_EV_SOAK:
	case PHG_EV_REPLICA_WAIT:
	case PHG_EV_DRY_RUN:
		break;
	}
	fflush(stdout);
}

int cmd_adopt(int argc, char **argv, struct phg_cmd_env *env)
{
	enum { OPT_FROM = 256, OPT_REGION, OPT_ALL, OPT_TABLE, OPT_DRY };
	static const struct option opts[] = {
		{"from", required_argument, NULL, OPT_FROM},
		{"region", required_argument, NULL, OPT_REGION},
		{"all-regions", no_argument, NULL, OPT_ALL},
		{"table", required_argument, NULL, OPT_TABLE},
		{"dry-run", no_argument, NULL, OPT_DRY},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct phg_adopt_opts ao = {0};
	struct phg_adopt_result res = {0};
	struct phg_err err = {0};
	const char *from = NULL;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_FROM:
			from = optarg;
			break;
		case OPT_REGION:
			ao.run.region = optarg;
			break;
		case OPT_ALL:
			ao.run.all_regions = true;
			break;
		case OPT_TABLE:
			ao.table = optarg;
			break;
		case OPT_DRY:
			ao.run.dry_run = true;
			break;
		case 'c':
			env->config_path = optarg;
			break;
		case 'h':
			adopt_usage(stdout);
			return PHG_EXIT_OK;
		default:
			adopt_usage(stderr);
			return PHG_EXIT_USAGE;
		}
	}
	if (optind < argc || (ao.run.region && ao.run.all_regions)) {
		adopt_usage(stderr);
		return PHG_EXIT_USAGE;
	}
	if (!from || phg_adopt_tool_parse(from, &ao.from) < 0) {
		fprintf(stderr,
			"phasegate: %s%s%s: name the tool that applied the "
			"migrations so far: --from prisma, golang-migrate, "
			"dbmate or flyway\n",
			from ? "--from '" : "--from is required",
			from ? from : "", from ? "'" : "");
		return PHG_EXIT_USAGE;
	}
	if (ao.table && !*ao.table) {
		fprintf(stderr, "phasegate: --table needs a table name\n");
		return PHG_EXIT_USAGE;
	}
	rc = phg_cmd_config(env);
	if (rc != 0)
		return rc;
	ao.run.cfg = &env->cfg;
	ao.run.progress = print_progress;
	ao.run.progress_ctx = &ao;
	rc = phg_runner_adopt(&ao, &res, &err);
	if (rc < 0) {
		if (res.adopted)
			printf("%zu migration%s adopted before the failure\n",
			       res.adopted, res.adopted == 1 ? "" : "s");
		phg_print_err(&err);
		return res.refused ? PHG_EXIT_REFUSED : phg_exit_for(rc);
	}
	printf("%s%zu migration%s %s from %s, %zu already in phasegate's "
	       "history; no SQL was run\n",
	       ao.run.dry_run ? "dry run: " : "", res.adopted,
	       res.adopted == 1 ? "" : "s",
	       ao.run.dry_run ? "would be adopted" : "adopted",
	       phg_adopt_tool_name(ao.from), res.already);
	if (res.unmatched)
		printf("%zu migration%s in %s's history %s no file here (see "
		       "the warnings)\n",
		       res.unmatched, res.unmatched == 1 ? "" : "s",
		       phg_adopt_tool_name(ao.from),
		       res.unmatched == 1 ? "has" : "have");
	return PHG_EXIT_OK;
}
