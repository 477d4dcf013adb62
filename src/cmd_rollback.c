/*
 * cmd_rollback.c: `phasegate rollback TAG` — returns every region whose
 * old slot is still on standby to it (traffic first, then the live slot
 * and the flags), and marks the release reverted in the ledger.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "orchestrator/orchestrator.h"

static void rollback_usage(FILE *out)
{
	fprintf(out,
		"usage: phasegate rollback [options] TAG\n"
		"\n"
		"Returns every region that release TAG switched (or was "
		"switching) to its\n"
		"old slot: traffic 100 %% to the old slot first, then the "
		"live slot and the\n"
		"feature flags. TAG must be the environment's latest release "
		"(after a\n"
		"later one, the old slots are no longer on standby).\n"
		"\n"
		"options:\n"
		"  -c, --config FILE  the config\n"
		"  -h, --help         show this help\n"
		"\n"
		"exit codes: 0 done, 1 refused (a later release exists), 2 "
		"usage or config,\n"
		"3 runtime (ledger or provider unreachable, lease held by "
		"another process)\n");
}

static void print_line(const char *line, void *ctx)
{
	(void)ctx;
	printf("%s\n", line);
	fflush(stdout);
}

int cmd_rollback(int argc, char **argv, struct phg_cmd_env *env)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct phg_orch_opts o = {0};
	struct phg_err err = {0};
	int c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			env->config_path = optarg;
			break;
		case 'h':
			rollback_usage(stdout);
			return PHG_EXIT_OK;
		default:
			rollback_usage(stderr);
			return PHG_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		rollback_usage(stderr);
		return PHG_EXIT_USAGE;
	}
	rc = phg_cmd_config(env);
	if (rc != 0)
		return rc;
	o.cfg = &env->cfg;
	o.tag = argv[optind];
	o.out = print_line;
	rc = phg_release_rollback(&o, &err);
	if (rc < 0) {
		phg_print_err(&err);
		return rc == PHG_EINPUT ? PHG_EXIT_REFUSED : phg_exit_for(rc);
	}
	return PHG_EXIT_OK;
}
