/*
 * cmd_status.c: `phasegate status` — per region: applied, pending, running,
 * interrupted, failed, drift and missing migrations, as text or JSON.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "report/report.h"
#include "runner/runner.h"

static void status_usage(FILE *out)
{
	fprintf(out,
		"usage: phasegate status [options]\n"
		"\n"
		"Shows, per region, which migrations are applied, pending, "
		"running\n"
		"(started outside a transaction, its runner at work), "
		"interrupted (the\n"
		"same, its runner gone: migrate resumes it), failed, drift "
		"(changed\n"
		"since applied) or missing (applied, file gone). Touches "
		"nothing.\n"
		"\n"
		"options:\n"
		"      --region NAME    only this region\n"
		"  -f, --format FORMAT  text (default) or json\n"
		"  -c, --config FILE    the config\n"
		"  -h, --help           show this help\n"
		"\n"
		"exit codes: 0 all reachable and no drift, 1 drift or a "
		"missing file,\n"
		"2 usage or config, 3 a region unreachable\n");
}

/* The per-state counts, in enum order, as JSON members. */
static int json_counts(struct phg_buf *b, const struct phg_region_status *r)
{
	int rc = 0;

	for (int k = 0; rc == 0 && k < PHG_MIG_STATES; k++)
		rc = phg_buf_printf(b, ",\"%s\":%zu",
				    phg_mig_state_name((enum phg_mig_state)k),
				    r->count[k]);
	return rc;
}

static int json_item(struct phg_buf *b, const struct phg_status_item *it,
		     bool first)
{
	int rc = phg_buf_puts(b, first ? "{\"name\":" : ",{\"name\":");

	rc = rc ? rc : phg_buf_json_str(b, it->name);
	rc = rc ? rc
		: phg_buf_printf(b, ",\"state\":\"%s\",\"phase\":",
				 phg_mig_state_name(it->state));
	rc = rc ? rc : phg_buf_json_str(b, it->phase);
	rc = rc ? rc
		: phg_buf_printf(b,
				 ",\"statements_done\":%d,\"duration_ms\":%lld,"
				 "\"finished_at\":",
				 it->statements_done, it->duration_ms);
	rc = rc ? rc
		: (it->finished_at ? phg_buf_json_str(b, it->finished_at)
				   : phg_buf_puts(b, "null"));
	return rc ? rc : phg_buf_puts(b, "}");
}

static int render_json(const struct phg_region_status *st, size_t n,
		       struct phg_buf *b)
{
	int rc = phg_buf_puts(b, "{\"version\":1,\"regions\":[");

	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct phg_region_status *r = &st[i];

		rc = phg_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		rc = rc ? rc : phg_buf_json_str(b, r->region);
		rc = rc ? rc
			: phg_buf_printf(b,
					 ",\"reachable\":%s,\"replica\":%s,"
					 "\"locked\":%s",
					 r->reachable ? "true" : "false",
					 r->replica ? "true" : "false",
					 r->locked ? "true" : "false");
		rc = rc ? rc : json_counts(b, r);
		rc = rc ? rc : phg_buf_puts(b, ",\"error\":");
		rc = rc ? rc
			: (r->reachable ? phg_buf_puts(b, "null")
					: phg_buf_json_str(b, r->error));
		rc = rc ? rc : phg_buf_puts(b, ",\"migrations\":[");
		for (size_t k = 0; rc == 0 && k < r->nitems; k++)
			rc = json_item(b, &r->items[k], k == 0);
		rc = rc ? rc : phg_buf_puts(b, "]}");
	}
	return rc ? rc : phg_buf_puts(b, "]}\n");
}

/* "5 applied, 1 pending, 1 failed": applied and pending always. */
static int text_counts(struct phg_buf *b, const struct phg_region_status *r)
{
	int rc = phg_buf_printf(b, "%zu applied, %zu pending",
				r->count[PHG_MIG_APPLIED],
				r->count[PHG_MIG_PENDING]);

	for (int k = PHG_MIG_RUNNING; rc == 0 && k < PHG_MIG_STATES; k++)
		if (r->count[k])
			rc = phg_buf_printf(
				b, ", %zu %s", r->count[k],
				phg_mig_state_name((enum phg_mig_state)k));
	return rc;
}

static int render_text(const struct phg_region_status *st, size_t n,
		       struct phg_buf *b)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct phg_region_status *r = &st[i];

		if (!r->reachable) {
			rc = phg_buf_printf(b,
					    "== region %s: unreachable: %s\n",
					    r->region, r->error);
			continue;
		}
		rc = phg_buf_printf(b, "== region %s%s: ", r->region,
				    r->replica ? " (replica)" : "");
		rc = rc ? rc : text_counts(b, r);
		rc = rc ? rc
			: phg_buf_puts(b, r->locked ? " (a runner holds the "
						      "migration lock)\n"
						    : "\n");
		for (size_t k = 0; rc == 0 && k < r->nitems; k++) {
			const struct phg_status_item *it = &r->items[k];

			if (it->state == PHG_MIG_APPLIED)
				continue;
			rc = phg_buf_printf(b, "  %-11s %-50s %s",
					    phg_mig_state_name(it->state),
					    it->name, it->phase);
			if (rc == 0 && it->statements_done > 0 &&
			    (it->state == PHG_MIG_RUNNING ||
			     it->state == PHG_MIG_INTERRUPTED ||
			     it->state == PHG_MIG_FAILED))
				rc = phg_buf_printf(
					b, ", %d statement%s done",
					it->statements_done,
					it->statements_done == 1 ? "" : "s");
			rc = rc ? rc : phg_buf_puts(b, "\n");
		}
		if (rc == 0 && r->count[PHG_MIG_INTERRUPTED])
			rc = phg_buf_puts(b, "  interrupted: its runner "
					     "stopped; 'phasegate migrate' "
					     "continues after the last "
					     "statement done\n");
	}
	return rc;
}

int cmd_status(int argc, char **argv, struct phg_cmd_env *env)
{
	enum { OPT_REGION = 256 };
	static const struct option opts[] = {
		{"region", required_argument, NULL, OPT_REGION},
		{"format", required_argument, NULL, 'f'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct phg_runner_opts ro = {0};
	enum phg_format fmt = PHG_FORMAT_TEXT;
	struct phg_region_status *st = NULL;
	struct phg_buf out = {0};
	struct phg_err err = {0};
	size_t n = 0;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:c:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_REGION:
			ro.region = optarg;
			break;
		case 'f':
			if (phg_report_format_parse(optarg, &fmt, &err) < 0 ||
			    (fmt != PHG_FORMAT_TEXT &&
			     fmt != PHG_FORMAT_JSON)) {
				if (!err.code)
					phg_err_set(
						&err, PHG_EUSAGE,
						"status prints text or json, "
						"not '%s'",
						optarg);
				phg_print_err(&err);
				return PHG_EXIT_USAGE;
			}
			break;
		case 'c':
			env->config_path = optarg;
			break;
		case 'h':
			status_usage(stdout);
			return PHG_EXIT_OK;
		default:
			status_usage(stderr);
			return PHG_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		status_usage(stderr);
		return PHG_EXIT_USAGE;
	}
	rc = phg_cmd_config(env);
	if (rc != 0)
		return rc;
	ro.cfg = &env->cfg;
	rc = phg_runner_status(&ro, &st, &n, &err);
	if (rc < 0) {
		phg_print_err(&err);
		phg_runner_status_free(st, n);
		return phg_exit_for(rc);
	}
	rc = fmt == PHG_FORMAT_JSON ? render_json(st, n, &out)
				    : render_text(st, n, &out);
	if (rc == 0 && out.data)
		fputs(out.data, stdout);
	rc = PHG_EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		if (st[i].count[PHG_MIG_DRIFT] || st[i].count[PHG_MIG_MISSING])
			rc = rc ? rc : PHG_EXIT_REFUSED;
		if (!st[i].reachable)
			rc = PHG_EXIT_RUNTIME;
	}
	phg_buf_release(&out);
	phg_runner_status_free(st, n);
	return rc;
}
