/*
 * cmd_history.c: `phasegate history` — the environment's releases from
 * the ledger, newest first: tag, outcome, when, who approved an emergency
 * and why a release failed or rolled back.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "orchestrator/orchestrator.h"

static void history_usage(FILE *out)
{
	fprintf(out, "usage: phasegate history [options]\n"
		     "\n"
		     "Lists the environment's releases from the ledger, "
		     "newest first.\n"
		     "\n"
		     "options:\n"
		     "      --format text|json  output format (default text)\n"
		     "  -c, --config FILE       the config\n"
		     "  -h, --help              show this help\n"
		     "\n"
		     "exit codes: 0 ok, 2 usage or config, 3 runtime (ledger "
		     "unreachable)\n");
}

static void json_field(struct phg_buf *b, const char *k, const char *v,
		       bool comma)
{
	phg_buf_json_str(b, k);
	phg_buf_puts(b, ":");
	if (v)
		phg_buf_json_str(b, v);
	else
		phg_buf_puts(b, "null");
	if (comma)
		phg_buf_puts(b, ",");
}

int cmd_history(int argc, char **argv, struct phg_cmd_env *env)
{
	enum { OPT_FORMAT = 256 };
	static const struct option opts[] = {
		{"format", required_argument, NULL, OPT_FORMAT},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct phg_store_release *rel = NULL;
	struct phg_store *st = NULL;
	struct phg_err err = {0};
	struct phg_buf b = {0};
	const char *format = "text";
	size_t n = 0;
	int c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			format = optarg;
			break;
		case 'c':
			env->config_path = optarg;
			break;
		case 'h':
			history_usage(stdout);
			return PHG_EXIT_OK;
		default:
			history_usage(stderr);
			return PHG_EXIT_USAGE;
		}
	}
	if (optind != argc ||
	    (strcmp(format, "text") && strcmp(format, "json"))) {
		history_usage(stderr);
		return PHG_EXIT_USAGE;
	}
	rc = phg_cmd_config(env);
	if (rc != 0)
		return rc;
	rc = phg_orch_open_store(&env->cfg, true, &st, &err);
	if (rc == 0 && st)
		rc = phg_store_release_list(st, env->cfg.environment, &rel, &n,
					    &err);
	if (rc < 0) {
		phg_print_err(&err);
		phg_store_close(st);
		return phg_exit_for(rc);
	}
	if (!strcmp(format, "json")) {
		phg_buf_puts(&b, "[");
		for (size_t k = n; k-- > 0;) {
			phg_buf_puts(&b, k + 1 == n ? "{" : ",{");
			json_field(&b, "tag", rel[k].tag, true);
			json_field(&b, "state",
				   phg_release_state_name(rel[k].state), true);
			json_field(&b, "started_at", rel[k].started_at, true);
			json_field(&b, "finished_at", rel[k].finished_at, true);
			json_field(&b, "approved_by", rel[k].approved_by, true);
			json_field(&b, "reason", rel[k].reason, true);
			json_field(&b, "migrations", rel[k].migrations, false);
			phg_buf_puts(&b, "}");
		}
		phg_buf_puts(&b, "]\n");
		fputs(b.data, stdout);
	} else if (n == 0) {
		printf("no release yet in environment '%s'\n",
		       env->cfg.environment);
	} else {
		printf("%-20s %-12s %-24s %s\n", "TAG", "STATE", "STARTED",
		       "DETAIL");
		for (size_t k = n; k-- > 0;)
			printf("%-20s %-12s %-24s %s%s%s\n", rel[k].tag,
			       phg_release_state_name(rel[k].state),
			       rel[k].started_at,
			       rel[k].approved_by ? "approved by " : "",
			       rel[k].approved_by ? rel[k].approved_by : "",
			       rel[k].reason ? rel[k].reason : "");
	}
	phg_buf_release(&b);
	phg_store_release_free_array(rel, n);
	phg_store_close(st);
	return PHG_EXIT_OK;
}
