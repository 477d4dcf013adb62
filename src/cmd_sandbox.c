/*
 * cmd_sandbox.c: `phasegate sandbox up|down|status|deploy|break` — a local
 * three-region world on 127.0.0.1 (PostgreSQL, nginx load balancer, blue
 * and green slots, mtail, Prometheus) to try releases in, and the deploy
 * and break commands its config and the tests use.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "sandbox/sandbox.h"

static void sandbox_usage(FILE *out)
{
	fprintf(out,
		"usage: phasegate sandbox up [--dir DIR] [--migrations DIR]\n"
		"       phasegate sandbox down [--dir DIR]\n"
		"       phasegate sandbox status [--dir DIR]\n"
		"       phasegate sandbox deploy [--dir DIR] --region R --slot "
		"S --release TAG\n"
		"       phasegate sandbox break [--dir DIR] --region R --slot "
		"S [--fix]\n"
		"\n"
		"A local world for trying releases, on 127.0.0.1 and free "
		"ports: three\n"
		"regions (us-east-1 primary, eu-west-1, ap-southeast-1), each "
		"with a\n"
		"PostgreSQL 15 cluster, an nginx serving the blue and green "
		"slots and an\n"
		"nginx load balancer whose access log mtail turns into "
		"metrics; one\n"
		"Prometheus scrapes every region. Everything lives in one "
		"folder.\n"
		"\n"
		"  up      start it and write DIR/phasegate.yaml, a release "
		"config for it\n"
		"          (running it again while it runs changes nothing)\n"
		"  down    stop every process and remove the folder\n"
		"  status  each component, its address and whether it "
		"answers\n"
		"  deploy  make a slot serve a release (reloads the "
		"backends gracefully)\n"
		"  break   make a slot's app path answer 500 (--fix: 200 "
		"again)\n"
		"\n"
		"options:\n"
		"      --dir DIR         the sandbox folder (default: "
		".phasegate/sandbox\n"
		"                        beside the config, or here without "
		"one)\n"
		"      --migrations DIR  the migrations folder the config "
		"points at\n"
		"                        (default: the config's)\n"
		"      --region NAME     deploy, break: the region\n"
		"      --slot SLOT       deploy, break: blue or green\n"
		"      --release TAG     deploy: the tag the slot serves\n"
		"      --fix             break: answer 200 again\n"
		"  -c, --config FILE     the config\n"
		"  -h, --help            show this help\n"
		"\n"
		"exit codes: 0 ok, 2 usage or a missing program, 3 a "
		"component failed\n"
		"(status: one does not answer)\n");
}

static void on_progress(void *arg, const char *line)
{
	(void)arg;
	printf("  %s\n", line);
	fflush(stdout);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The running binary's absolute path, for the deploy command. */
static void self_exe(char *out, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", out, size - 1);

	if (n <= 0)
		snprintf(out, size, "phasegate");
	else
		out[n] = '\0';
}

static int print_status(const char *dir)
{
	struct phg_sandbox_component *c = NULL;
	struct phg_err err = {0};
	size_t n = 0, down = 0;
	int rc = phg_sandbox_status(dir, &c, &n, &err);

	if (rc < 0) {
		phg_print_err(&err);
		return phg_exit_for(rc);
	}
	printf("%-11s %-15s %-16s %-8s %-8s %s\n", "COMPONENT", "REGION",
	       "ADDRESS", "PID", "STATE", "DETAIL");
	for (size_t i = 0; i < n; i++) {
		const char *state = c[i].answers   ? "answers"
				    : c[i].running ? "silent"
						   : "stopped";

		if (!c[i].answers)
			down++;
		printf("%-11s %-15s %-16s %-8ld %-8s %s\n", c[i].name,
		       c[i].region[0] ? c[i].region : "-", c[i].addr, c[i].pid,
		       state, c[i].detail);
	}
	free(c);
	if (down) {
		fprintf(stderr,
			"phasegate: %zu sandbox component%s not answering\n",
			down, down == 1 ? " is" : "s are");
		return PHG_EXIT_RUNTIME;
	}
	return PHG_EXIT_OK;
}

int cmd_sandbox(int argc, char **argv, struct phg_cmd_env *env)
{
	enum { O_DIR = 256, O_MIGRATIONS, O_REGION, O_SLOT, O_RELEASE, O_FIX };
	static const struct option opts[] = {
		{"dir", required_argument, NULL, O_DIR},
		{"migrations", required_argument, NULL, O_MIGRATIONS},
		{"region", required_argument, NULL, O_REGION},
		{"slot", required_argument, NULL, O_SLOT},
		{"release", required_argument, NULL, O_RELEASE},
		{"fix", no_argument, NULL, O_FIX},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *migrations = NULL, *region = NULL,
		   *slot = NULL, *release = NULL, *verb;
	char *dir_buf = NULL, *mig_buf = NULL, exe[4096];
	struct phg_err err = {0};
	bool fix = false;
	int c, rc = 0, code = PHG_EXIT_OK;

	optind = 0; /* reinitialise: main parsed with "+" (stop at the verb) */
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case O_DIR:
			dir = optarg;
			break;
		case O_MIGRATIONS:
			migrations = optarg;
			break;
		case O_REGION:
			region = optarg;
			break;
		case O_SLOT:
			slot = optarg;
			break;
		case O_RELEASE:
			release = optarg;
			break;
		case O_FIX:
			fix = true;
			break;
		case 'c':
			env->config_path = optarg;
			break;
		case 'h':
			sandbox_usage(stdout);
			return PHG_EXIT_OK;
		default:
			sandbox_usage(stderr);
			return PHG_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		sandbox_usage(stderr);
		return PHG_EXIT_USAGE;
	}
	verb = argv[optind];
	if (strcmp(verb, "up") && strcmp(verb, "down") &&
	    strcmp(verb, "status") && strcmp(verb, "deploy") &&
	    strcmp(verb, "break")) {
		fprintf(stderr,
			"phasegate: unknown sandbox command '%s' (up, down, "
			"status, deploy or break)\n",
			verb);
		return PHG_EXIT_USAGE;
	}
	if ((!strcmp(verb, "deploy") || !strcmp(verb, "break")) &&
	    (!region || !slot || (!strcmp(verb, "deploy") && !release))) {
		fprintf(stderr,
			"phasegate: sandbox %s needs --region, --slot%s\n",
			verb, strcmp(verb, "deploy") ? "" : " and --release");
		return PHG_EXIT_USAGE;
	}
	/* The config is read only for the defaults --dir and --migrations. */
	if (!dir || (!strcmp(verb, "up") && !migrations)) {
		code = phg_cmd_config(env);
		if (code != PHG_EXIT_OK)
			return code;
		if (!dir) {
			dir_buf = phg_path_join(env->cfg.dir,
						".phasegate/sandbox");
			dir = dir_buf;
		}
		if (!migrations)
			migrations = mig_buf = phg_strdup(env->cfg.migrations);
		if (!dir || !migrations) {
			fprintf(stderr, "phasegate: out of memory\n");
			code = PHG_EXIT_RUNTIME;
			goto out;
		}
	}

	if (!strcmp(verb, "up")) {
		struct phg_sandbox_opts o = {dir, migrations, exe, on_progress,
					     NULL};
		double t0 = now_s();
		bool already = false;

		self_exe(exe, sizeof(exe));
		printf("sandbox: starting in %s\n", dir);
		fflush(stdout);
		rc = phg_sandbox_up(&o, &already, &err);
		if (rc == 0 && already)
			printf("sandbox: already up in %s (nothing changed)\n",
			       dir);
		else if (rc == 0)
			printf("sandbox: up in %.1f s\n"
			       "config:  %s/phasegate.yaml\n"
			       "try:     phasegate --config "
			       "%s/phasegate.yaml release v1.3.0\n",
			       now_s() - t0, dir, dir);
	} else if (!strcmp(verb, "down")) {
		bool was_up = false;

		rc = phg_sandbox_down(dir, &was_up, &err);
		if (rc == 0)
			printf(was_up ? "sandbox: down, %s removed\n"
				      : "sandbox: nothing runs in %s\n",
			       dir);
	} else if (!strcmp(verb, "status")) {
		code = print_status(dir);
	} else if (!strcmp(verb, "deploy")) {
		rc = phg_sandbox_deploy(dir, region, slot, release, &err);
		if (rc == 0)
			printf("sandbox: %s of %s serves %s\n", slot, region,
			       release);
	} else {
		rc = phg_sandbox_break(dir, region, slot, !fix, &err);
		if (rc == 0)
			printf("sandbox: %s of %s %s\n", slot, region,
			       fix ? "answers 200 again"
				   : "is broken: its app path answers 500");
	}
	if (rc < 0) {
		phg_print_err(&err);
		code = phg_exit_for(rc);
	}
out:
	free(dir_buf);
	free(mig_buf);
	return code;
}
