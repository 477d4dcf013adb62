/*
 * main.c: the command table and dispatch. main parses the global options
 * (--config, --help, --version), loads the config a command needs, runs it,
 * and maps the result to an exit code — checking that stdout was written in
 * full, so a truncated report never exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "lazy/lazy.h"
#include "parse/parse.h"

static const struct phg_cmd commands[] = {
	{"lint", cmd_lint, PHG_CMD_CONFIG_OPTIONAL,
	 "check migration files and gate the release"},
	{"plan", cmd_plan, 0,
	 "show what migrate would run, per region, with hazards"},
	{"migrate", cmd_migrate, 0,
	 "apply pending migrations, region by region, primary first"},
	{"status", cmd_status, 0,
	 "show applied, pending, failed and drifted migrations per region"},
	{"adopt", cmd_adopt, 0,
	 "record what Prisma, golang-migrate, dbmate or Flyway applied"},
	{"rules", cmd_rules, 0,
	 "list every rule with its severity, stage and summary"},
	{"explain", cmd_explain, 0,
	 "print a rule's page: why it is unsafe and the safe sequence"},
	{"release", cmd_release, 0,
	 "ship a release: migrate, deploy, shift traffic, roll back"},
	{"rollback", cmd_rollback, 0,
	 "return every region of a release to its old slot"},
	{"history", cmd_history, 0, "list the releases in the ledger"},
	{"sandbox", cmd_sandbox, PHG_CMD_CONFIG_OPTIONAL,
	 "a local three-region world (PostgreSQL, nginx, Prometheus)"},
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: phasegate [--config FILE] <command> [options]\n"
		"\n"
		"Makes PostgreSQL schema changes safe to ship with blue-green "
		"deployments.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out,
		"\n"
		"options:\n"
		"  -c, --config FILE  the config (default: phasegate.yaml "
		"here or in a parent folder)\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\n"
		"Run 'phasegate <command> --help' for a command's options.\n"
		"exit codes: 0 ok, 1 refused, 2 usage or config error, 3 "
		"runtime failure\n");
}

int phg_exit_for(int code)
{
	switch ((enum phg_code)code) {
	case PHG_OK:
		return PHG_EXIT_OK;
	case PHG_EUSAGE:
	case PHG_ECONFIG:
	case PHG_EIO:
	case PHG_EINPUT:
		return PHG_EXIT_USAGE;
	case PHG_ENOMEM:
	case PHG_ERUNTIME:
		return PHG_EXIT_RUNTIME;
	}
	return PHG_EXIT_RUNTIME;
}

void phg_print_err(const struct phg_err *err)
{
	if (err->file[0] && err->line > 0)
		fprintf(stderr, "phasegate: %s:%d:%d: %s\n", err->file,
			err->line, err->col, err->msg);
	else if (err->file[0])
		fprintf(stderr, "phasegate: %s: %s\n", err->file, err->msg);
	else
		fprintf(stderr, "phasegate: %s\n", err->msg);
}

int phg_cmd_config(struct phg_cmd_env *env)
{
	struct phg_err err = {0};
	char *found = NULL;
	int rc = 0;

	if (!env->config_path) {
		rc = phg_config_find(&found, &err);
		if (rc == 0 && !found)
			rc = phg_config_defaults(&env->cfg, &err);
		if (rc == 0 && !found)
			return 0;
	}
	if (rc == 0 || env->config_path)
		rc = phg_config_load(env->config_path ? env->config_path
						      : found,
				     &env->cfg, &err);
	free(found);
	if (rc < 0) {
		phg_print_err(&err);
		return phg_exit_for(rc);
	}
	env->have_config = true;
	return 0;
}

/* A library behind src/lazy's stubs (libpq, libcurl, libsqlite3, libcrypto)
 * could not be loaded when a command first needed it. */
static void lazy_failed(const char *soname, const char *why)
{
	fflush(stdout);
	fprintf(stderr, "phasegate: cannot load %s: %s\n", soname, why);
	exit(PHG_EXIT_RUNTIME);
}

static int finish(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "phasegate: cannot write the output: %s\n",
			strerror(errno));
		if (code == PHG_EXIT_OK)
			code = PHG_EXIT_RUNTIME;
	}
	phg_parse_shutdown();
	return code;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct phg_cmd_env env = {0};
	const struct phg_cmd *cmd = NULL;
	int c, code;

	/* Big parse trees come and go per file: keep glibc from trimming. */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	phg_lazy_on_fail(lazy_failed);
	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			env.config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return finish(PHG_EXIT_OK);
		case 'V':
			printf("phasegate %s\n", PHG_VERSION);
			return finish(PHG_EXIT_OK);
		default:
			usage(stderr);
			return finish(PHG_EXIT_USAGE);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return finish(PHG_EXIT_USAGE);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr,
			"phasegate: unknown command '%s' (see 'phasegate "
			"--help')\n",
			argv[optind]);
		return finish(PHG_EXIT_USAGE);
	}
	code = cmd->run(argc - optind, argv + optind, &env);
	phg_config_release(&env.cfg);
	return finish(code);
}
