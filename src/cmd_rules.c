/*
 * cmd_rules.c: `phasegate rules` — lists every rule of the registry with its
 * default severity, its stage and its summary, as an aligned table or as
 * JSON (for tools that generate configs or docs).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "report/report.h"

static void rules_usage(FILE *out)
{
	fprintf(out,
		"usage: phasegate rules [options]\n"
		"\n"
		"Lists every rule: its id, default severity, stage (statement: "
		"one\n"
		"statement at a time; release: the whole release, as the gate "
		"sees it)\n"
		"and summary. 'phasegate explain <id>' prints a rule's page.\n"
		"\n"
		"options:\n"
		"  -f, --format FORMAT  text (default) or json\n"
		"  -h, --help           show this help\n");
}

static const char *stage_name(enum phg_stage stage)
{
	switch (stage) {
	case PHG_STAGE_STATEMENT:
		return "statement";
	case PHG_STAGE_RELEASE:
		return "release";
	}
	return "statement";
}

static int render_text(struct phg_buf *b)
{
	int width = (int)strlen("RULE");
	int rc;

	for (size_t i = 0; phg_analyzers[i]; i++) {
		int n = (int)strlen(phg_analyzers[i]->id);

		width = n > width ? n : width;
	}
	rc = phg_buf_printf(b, "%-*s  %-8s  %-9s  %s\n", width, "RULE",
			    "SEVERITY", "STAGE", "SUMMARY");
	for (size_t i = 0; rc == 0 && phg_analyzers[i]; i++) {
		const struct phg_analyzer *a = phg_analyzers[i];

		rc = phg_buf_printf(b, "%-*s  %-8s  %-9s  %s\n", width, a->id,
				    phg_severity_name(a->severity),
				    stage_name(a->stage),
				    a->summary ? a->summary : "");
	}
	return rc;
}

/* {"version":1,"rules":[{"id","severity","stage","summary","help_uri"}]} */
static int render_json(struct phg_buf *b)
{
	int rc = phg_buf_puts(b, "{\"version\":1,\"rules\":[");

	for (size_t i = 0; rc == 0 && phg_analyzers[i]; i++) {
		const struct phg_analyzer *a = phg_analyzers[i];

		rc = phg_buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
		rc = rc ? rc : phg_buf_json_str(b, a->id);
		rc = rc ? rc
			: phg_buf_printf(
				  b, ",\"severity\":\"%s\",\"stage\":\"%s\"",
				  phg_severity_name(a->severity),
				  stage_name(a->stage));
		rc = rc ? rc : phg_buf_puts(b, ",\"summary\":");
		rc = rc ? rc
			: phg_buf_json_str(b, a->summary ? a->summary : "");
		rc = rc ? rc : phg_buf_puts(b, ",\"help_uri\":\"");
		rc = rc ? rc : phg_report_rule_url(b, a->id);
		rc = rc ? rc : phg_buf_puts(b, "\"}");
	}
	return rc ? rc : phg_buf_puts(b, "]}\n");
}

int cmd_rules(int argc, char **argv, struct phg_cmd_env *env)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct phg_buf out = {0};
	bool json = false;
	int c, rc;

	(void)env;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") != 0 &&
			    strcmp(optarg, "text") != 0) {
				fprintf(stderr,
					"phasegate: unknown format '%s' (use "
					"text or json)\n",
					optarg);
				return PHG_EXIT_USAGE;
			}
			json = strcmp(optarg, "json") == 0;
			break;
		case 'h':
			rules_usage(stdout);
			return PHG_EXIT_OK;
		default:
			rules_usage(stderr);
			return PHG_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "phasegate: rules takes no arguments (see "
				"'phasegate rules --help')\n");
		return PHG_EXIT_USAGE;
	}
	rc = json ? render_json(&out) : render_text(&out);
	if (rc < 0) {
		fprintf(stderr, "phasegate: out of memory\n");
		phg_buf_release(&out);
		return PHG_EXIT_RUNTIME;
	}
	rc = fwrite(out.data, 1, out.len, stdout) == out.len ? PHG_EXIT_OK
							     : PHG_EXIT_RUNTIME;
	phg_buf_release(&out);
	return rc;
}
