/*
 * cmd_release.c: `phasegate release TAG` and its subcommands — `resume
 * TAG`, `status [TAG]`, `abort TAG` and `report TAG --html FILE` ("status",
 * "resume", "abort" and "report" are words, never tags). The work is the
 * orchestrator's; this file parses options, prints progress lines as they
 * come and maps the outcome to an exit code.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "orchestrator/orchestrator.h"
#include "report/report.h"
#include "runner/runner.h"

static void release_usage(FILE *out)
{
	fprintf(out,
		"usage: phasegate release [options] TAG\n"
		"       phasegate release resume TAG\n"
		"       phasegate release status [TAG] [--format text|json]\n"
		"       phasegate release abort TAG\n"
		"       phasegate release report TAG --html FILE\n"
		"\n"
		"Ships release TAG: takes the environment's lease, checks the "
		"deployment\n"
		"window, the lint gate and checksums, then per region (primary "
		"first):\n"
		"migrate, deploy the standby slot, smoke test it, shift "
		"traffic in steps\n"
		"held for an analysis window, swap the live slot; rolls the "
		"region back\n"
		"on a trigger, a failed smoke test or a failed step. Every "
		"step is in the\n"
		"ledger: 'release resume TAG' continues after a crash.\n"
		"\n"
		"options:\n"
		"      --dry-run            print the whole plan; touch "
		"nothing\n"
		"      --emergency          release outside the deployment "
		"window\n"
		"      --approved-by NAME   who approved the emergency "
		"(recorded; needed\n"
		"                           with --emergency)\n"
		"      --format text|json   for 'status'\n"
		"      --html FILE          for 'report': the page to write\n"
		"  -c, --config FILE        the config\n"
		"  -h, --help               show this help\n"
		"\n"
		"exit codes: 0 done, 1 rolled back, aborted or refused "
		"(window, lint gate,\n"
		"checksum drift, another release running), 2 usage or config, "
		"3 runtime\n"
		"(database or provider unreachable, lease held by another "
		"process)\n");
}

static void print_line(const char *line, void *ctx)
{
	(void)ctx;
	printf("%s\n", line);
	fflush(stdout);
}

/* A tag names a release in the ledger and the history: keep it plain. */
static bool tag_ok(const char *t)
{
	size_t n = strlen(t);

	return n > 0 && n <= 100 && t[0] != '-' &&
	       strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-+") == n;
}

static int outcome_exit(int rc, enum phg_orch_outcome oc, const char *why,
			const struct phg_err *err)
{
	if (rc < 0) {
		phg_print_err(err);
		return phg_exit_for(rc);
	}
	switch (oc) {
	case PHG_ORCH_DONE:
		return PHG_EXIT_OK;
	case PHG_ORCH_REFUSED:
		fprintf(stderr, "phasegate: refused: %s\n", why);
		return PHG_EXIT_REFUSED;
	case PHG_ORCH_ROLLED_BACK:
		fprintf(stderr, "phasegate: rolled back: %s\n", why);
		return PHG_EXIT_REFUSED;
	case PHG_ORCH_ABORTED:
		fprintf(stderr, "phasegate: aborted: %s\n", why);
		return PHG_EXIT_REFUSED;
	}
	return PHG_EXIT_RUNTIME;
}

/* ---- status ------------------------------------------------------------- */

static const char *step_mark(enum phg_step_state s)
{
	switch (s) {
	case PHG_STEP_RUNNING:
		return "running";
	case PHG_STEP_DONE:
		return "done";
	case PHG_STEP_FAILED:
		return "FAILED";
	case PHG_STEP_SKIPPED:
		return "skipped";
	case PHG_STEP_ROLLED_BACK:
		return "ROLLED-BACK";
	}
	return "?";
}

static void json_kv(struct phg_buf *b, const char *k, const char *v, bool comma)
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

static int show_status(struct phg_store *st, const struct phg_config *cfg,
		       const struct phg_store_release *rel, bool json)
{
	struct phg_store_step *steps = NULL;
	struct phg_store_reading *rd = NULL;
	struct phg_store_event *ev = NULL;
	size_t ns = 0, nr = 0, ne = 0;
	struct phg_err err = {0};
	struct phg_buf b = {0};
	int rc;

	rc = phg_store_step_list(st, rel->id, &steps, &ns, &err);
	if (rc == 0)
		rc = phg_store_reading_list(st, rel->id, &rd, &nr, &err);
	if (rc == 0)
		rc = phg_store_event_list(st, rel->id, &ev, &ne, &err);
	if (rc < 0) {
		phg_print_err(&err);
		goto out;
	}
	if (json) {
		phg_buf_puts(&b, "{");
		json_kv(&b, "environment", rel->environment, true);
		json_kv(&b, "tag", rel->tag, true);
		json_kv(&b, "state", phg_release_state_name(rel->state), true);
		json_kv(&b, "started_at", rel->started_at, true);
		json_kv(&b, "finished_at", rel->finished_at, true);
		json_kv(&b, "approved_by", rel->approved_by, true);
		json_kv(&b, "reason", rel->reason, true);
		phg_buf_puts(&b, "\"steps\":[");
		for (size_t i = 0; i < ns; i++) {
			phg_buf_puts(&b, i ? ",{" : "{");
			json_kv(&b, "region", steps[i].region, true);
			json_kv(&b, "name", steps[i].name, true);
			json_kv(&b, "state",
				phg_step_state_name(steps[i].state), true);
			json_kv(&b, "started_at", steps[i].started_at, true);
			json_kv(&b, "finished_at", steps[i].finished_at, true);
			json_kv(&b, "detail", steps[i].detail, false);
			phg_buf_puts(&b, "}");
		}
		phg_buf_puts(&b, "],\"regions\":[");
	} else {
		printf("release %s (environment %s): %s\n", rel->tag,
		       rel->environment, phg_release_state_name(rel->state));
		printf("  started %s%s%s\n", rel->started_at,
		       rel->finished_at ? ", finished " : "",
		       rel->finished_at ? rel->finished_at : "");
		if (rel->approved_by)
			printf("  emergency approval: %s\n", rel->approved_by);
		if (rel->reason)
			printf("  reason: %s\n", rel->reason);
		for (size_t i = 0; i < ns; i++)
			if (!steps[i].region || !steps[i].region[0])
				printf("  %-12s %s\n", steps[i].name,
				       step_mark(steps[i].state));
	}
	for (size_t r = 0; r < cfg->nregions; r++) {
		const char *name = cfg->regions[r].name;
		char *live = NULL;
		int green = -1;

		phg_store_weight_get(st, rel->id, name, &green, &err);
		phg_store_live_slot(st, rel->environment, name, &live, &err);
		if (json) {
			phg_buf_puts(&b, r ? ",{" : "{");
			json_kv(&b, "region", name, true);
			json_kv(&b, "live_slot", live, true);
			phg_buf_printf(&b, "\"green_percent\":%d,", green);
			phg_buf_puts(&b, "\"readings\":{");
		} else {
			printf("region %s: live %s", name,
			       live ? live : "blue");
			if (green >= 0)
				printf(", weights blue %d%% green %d%%",
				       100 - green, green);
			printf("\n   ");
			for (size_t i = 0; i < ns; i++)
				if (phg_streq(steps[i].region, name))
					printf(" %s:%s", steps[i].name,
					       step_mark(steps[i].state));
			printf("\n");
		}
		/* The latest reading of each metric. */
		for (int m = 0, first = 1; m < PHG_METRICS; m++) {
			const struct phg_store_reading *last = NULL;
			const char *mn = phg_metric_name((enum phg_metric)m);

			for (size_t i = 0; i < nr; i++)
				if (phg_streq(rd[i].region, name) &&
				    phg_streq(rd[i].metric, mn))
					last = &rd[i];
			if (!last)
				continue;
			if (json) {
				phg_buf_puts(&b, first ? "" : ",");
				phg_buf_json_str(&b, mn);
				phg_buf_printf(&b,
					       ":{\"value\":%.17g,\"breached\":"
					       "%s,\"at\":",
					       last->value,
					       last->breached ? "true"
							      : "false");
				phg_buf_json_str(&b, last->at);
				phg_buf_puts(&b, "}");
			} else {
				printf("    %s=%g%s at %s\n", mn, last->value,
				       last->breached ? " (breach)" : "",
				       last->at);
			}
			first = 0;
		}
		if (json)
			phg_buf_puts(&b, "}}");
		free(live);
	}
	if (json) {
		phg_buf_puts(&b, "],\"events\":[");
		for (size_t i = 0; i < ne; i++) {
			phg_buf_puts(&b, i ? ",{" : "{");
			json_kv(&b, "region", ev[i].region, true);
			json_kv(&b, "kind", ev[i].kind, true);
			json_kv(&b, "detail", ev[i].detail, true);
			json_kv(&b, "at", ev[i].at, false);
			phg_buf_puts(&b, "}");
		}
		phg_buf_puts(&b, "]}\n");
		fputs(b.data ? b.data : "", stdout);
	}
out:
	phg_buf_release(&b);
	phg_store_step_free_array(steps, ns);
	phg_store_reading_free_array(rd, nr);
	phg_store_event_free_array(ev, ne);
	return rc < 0 ? phg_exit_for(rc) : PHG_EXIT_OK;
}

static int run_status(struct phg_cmd_env *env, const char *tag, bool json)
{
	struct phg_store_release rel = {0};
	struct phg_store *st = NULL;
	struct phg_err err = {0};
	bool found = false;
	int rc = phg_orch_open_store(&env->cfg, true, &st, &err);

	if (rc == 0 && !st) {
		if (json)
			printf("null\n");
		else
			printf("no release yet in environment '%s'\n",
			       env->cfg.environment);
		return tag ? PHG_EXIT_USAGE : PHG_EXIT_OK;
	}
	if (rc == 0 && tag)
		rc = phg_store_release_get(st, env->cfg.environment, tag, &rel,
					   &found, &err);
	else if (rc == 0)
		rc = phg_store_release_latest(st, env->cfg.environment, &rel,
					      &found, &err);
	if (rc < 0) {
		phg_print_err(&err);
		phg_store_close(st);
		return phg_exit_for(rc);
	}
	if (!found) {
		phg_store_close(st);
		if (tag) {
			fprintf(stderr,
				"phasegate: no release '%s' in environment "
				"'%s'\n",
				tag, env->cfg.environment);
			return PHG_EXIT_USAGE;
		}
		if (json)
			printf("null\n");
		else
			printf("no release yet in environment '%s'\n",
			       env->cfg.environment);
		return PHG_EXIT_OK;
	}
	rc = show_status(st, &env->cfg, &rel, json);
	phg_store_release_release(&rel);
	phg_store_close(st);
	return rc;
}

/* ---- report ------------------------------------------------------------- */

/* Chart titles with the units the config uses. */
static const char *metric_title(enum phg_metric m)
{
	switch (m) {
	case PHG_METRIC_ERROR_RATE:
		return "error rate (fraction of requests)";
	case PHG_METRIC_P99_MS:
		return "p99 latency (ms)";
	case PHG_METRIC_HTTP_5XX_RATE:
		return "5xx rate (fraction of requests)";
	case PHG_METRIC_CONNECTIONS:
		return "active connections (rollback below the ratio x the "
		       "reading before the cutover)";
	}
	return "";
}

/*
 * The readings, plus one per recorded traffic weight (metric "weight",
 * value and weight green's percentage, at the time it was set): the page
 * draws green's weight from the readings' weights, and a release without
 * analysis has no other reading. *out is malloc'd; its strings are
 * borrowed from rd and w.
 */
static int with_weights(const struct phg_store_reading *rd, size_t nr,
			const struct phg_store_weight *w, size_t nw,
			struct phg_store_reading **out, size_t *n)
{
	struct phg_store_reading *all = phg_xcalloc(nr + nw + 1, sizeof(*all));

	*out = all;
	*n = 0;
	if (!all)
		return PHG_ENOMEM;
	for (size_t i = 0; i < nr; i++)
		all[(*n)++] = rd[i];
	for (size_t i = 0; i < nw; i++)
		all[(*n)++] =
			(struct phg_store_reading){.region = w[i].region,
						   .metric = "weight",
						   .value = w[i].green_percent,
						   .weight = w[i].green_percent,
						   .at = w[i].at};
	return 0;
}

/*
 * What the release applied where: the history rows whose release is the
 * tag, region by region. An unreachable region is a warning, not a
 * failure: the page is still written. *out (malloc'd) borrows from *h.
 */
static int applied_list(const struct phg_config *cfg, const char *tag,
			struct phg_release_history **h, size_t *nh,
			struct phg_release_applied **out, size_t *n,
			struct phg_err *err)
{
	size_t total = 0;
	int rc = phg_runner_release_history(cfg, tag, h, nh, err);

	*out = NULL;
	*n = 0;
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < *nh; i++)
		total += (*h)[i].nrows;
	*out = phg_xcalloc(total + 1, sizeof(**out));
	if (!*out)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	for (size_t i = 0; i < *nh; i++) {
		const struct phg_release_history *e = &(*h)[i];

		if (!e->reachable)
			fprintf(stderr,
				"phasegate: warning: region '%s': migrations "
				"not listed: %s\n",
				e->region, e->error);
		for (size_t k = 0; k < e->nrows; k++) {
			const struct phg_history_row *row = &e->rows[k];

			if (!phg_streq(row->state, "applied"))
				continue;
			(*out)[(*n)++] = (struct phg_release_applied){
				.region = e->region,
				.name = row->name,
				.phase = row->phase ? row->phase : "",
				.finished_at = row->finished_at
						       ? row->finished_at
						       : ""};
		}
	}
	return 0;
}

static int run_report(struct phg_cmd_env *env, const char *tag,
		      const char *html)
{
	const struct phg_release_settings *rs = &env->cfg.release;
	struct phg_release_metric metrics[PHG_METRICS];
	struct phg_store_release rel = {0};
	struct phg_store_step *steps = NULL;
	struct phg_store_reading *rd = NULL, *all = NULL;
	struct phg_store_weight *w = NULL;
	struct phg_store_event *ev = NULL;
	struct phg_release_history *hist = NULL;
	struct phg_release_applied *applied = NULL;
	size_t ns = 0, nr = 0, nw = 0, ne = 0, nall = 0, nhist = 0,
	       napplied = 0, nm = 0;
	struct phg_store *st = NULL;
	struct phg_err err = {0};
	struct phg_buf b = {0};
	bool found = false;
	FILE *f;
	int rc = phg_orch_open_store(&env->cfg, true, &st, &err);

	if (rc == 0 && !st) {
		fprintf(stderr, "phasegate: no ledger yet: no release '%s'\n",
			tag);
		return PHG_EXIT_USAGE;
	}
	if (rc == 0)
		rc = phg_store_release_get(st, env->cfg.environment, tag, &rel,
					   &found, &err);
	if (rc == 0 && !found)
		rc = phg_err_set(&err, PHG_EUSAGE,
				 "no release '%s' in environment '%s'", tag,
				 env->cfg.environment);
	if (rc == 0)
		rc = phg_store_step_list(st, rel.id, &steps, &ns, &err);
	if (rc == 0)
		rc = phg_store_reading_list(st, rel.id, &rd, &nr, &err);
	if (rc == 0)
		rc = phg_store_weight_list(st, rel.id, &w, &nw, &err);
	if (rc == 0)
		rc = phg_store_event_list(st, rel.id, &ev, &ne, &err);
	if (rc == 0 && with_weights(rd, nr, w, nw, &all, &nall) < 0)
		rc = phg_err_set(&err, PHG_ENOMEM, "out of memory");
	if (rc == 0)
		rc = applied_list(&env->cfg, tag, &hist, &nhist, &applied,
				  &napplied, &err);
	if (rc == 0) {
		/* The triggers, with the configured rollback thresholds
		   (connections' is a ratio of a per-region reading: no
		   line). */
		for (int m = 0; m < PHG_METRICS; m++) {
			if (!rs->has_rollback[m] && !rs->queries[m].text)
				continue;
			metrics[nm++] = (struct phg_release_metric){
				.name = phg_metric_name((enum phg_metric)m),
				.title = metric_title((enum phg_metric)m),
				.threshold =
					m == PHG_METRIC_CONNECTIONS ||
							!rs->has_rollback[m]
						? 0
						: rs->rollback[m]};
		}
		struct phg_release_page p = {.release = &rel,
					     .steps = steps,
					     .nsteps = ns,
					     .readings = all,
					     .nreadings = nall,
					     .events = ev,
					     .nevents = ne,
					     .metrics = metrics,
					     .nmetrics = nm,
					     .applied = applied,
					     .napplied = napplied};

		rc = phg_report_release_html(&p, &b);
		if (rc < 0)
			phg_err_set(&err, rc, "cannot render the report");
	}
	if (rc == 0) {
		f = fopen(html, "w");
		if (!f || fwrite(b.data, 1, b.len, f) != b.len)
			rc = phg_err_set(&err, PHG_EIO, "cannot write '%s'",
					 html);
		if (f && fclose(f) != 0 && rc == 0)
			rc = phg_err_set(&err, PHG_EIO, "cannot write '%s'",
					 html);
	}
	if (rc == 0)
		printf("wrote %s\n", html);
	else
		phg_print_err(&err);
	phg_buf_release(&b);
	free(applied);
	phg_runner_release_history_free(hist, nhist);
	free(all);
	phg_store_step_free_array(steps, ns);
	phg_store_reading_free_array(rd, nr);
	phg_store_weight_free_array(w, nw);
	phg_store_event_free_array(ev, ne);
	phg_store_release_release(&rel);
	phg_store_close(st);
	return rc < 0 ? phg_exit_for(rc) : PHG_EXIT_OK;
}

int cmd_release(int argc, char **argv, struct phg_cmd_env *env)
{
	enum {
		OPT_DRY = 256,
		OPT_EMERGENCY,
		OPT_APPROVED,
		OPT_FORMAT,
		OPT_HTML
	};
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, OPT_DRY},
		{"emergency", no_argument, NULL, OPT_EMERGENCY},
		{"approved-by", required_argument, NULL, OPT_APPROVED},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"html", required_argument, NULL, OPT_HTML},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct phg_orch_opts o = {0};
	enum phg_orch_outcome oc = PHG_ORCH_REFUSED;
	const char *sub = NULL, *tag = NULL, *format = "text", *html = NULL;
	struct phg_err err = {0};
	char why[1200] = "";
	int c, rc, nargs;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DRY:
			o.dry_run = true;
			break;
		case OPT_EMERGENCY:
			o.emergency = true;
			break;
		case OPT_APPROVED:
			o.approved_by = optarg;
			break;
		case OPT_FORMAT:
			format = optarg;
			break;
		case OPT_HTML:
			html = optarg;
			break;
		case 'c':
			env->config_path = optarg;
			break;
		case 'h':
			release_usage(stdout);
			return PHG_EXIT_OK;
		default:
			release_usage(stderr);
			return PHG_EXIT_USAGE;
		}
	}
	nargs = argc - optind;
	if (nargs >= 1 && (!strcmp(argv[optind], "status") ||
			   !strcmp(argv[optind], "resume") ||
			   !strcmp(argv[optind], "abort") ||
			   !strcmp(argv[optind], "report"))) {
		sub = argv[optind];
		tag = nargs >= 2 ? argv[optind + 1] : NULL;
		nargs--;
	} else if (nargs >= 1) {
		tag = argv[optind];
	}
	if (nargs > 1 || (!sub && !tag) ||
	    (sub && strcmp(sub, "status") && !tag)) {
		release_usage(stderr);
		return PHG_EXIT_USAGE;
	}
	if (tag && !tag_ok(tag)) {
		fprintf(stderr,
			"phasegate: tag '%s': use letters, digits, '.', '_', "
			"'-' and '+'\n",
			tag);
		return PHG_EXIT_USAGE;
	}
	if (strcmp(format, "text") && strcmp(format, "json")) {
		fprintf(stderr, "phasegate: --format '%s': use text or json\n",
			format);
		return PHG_EXIT_USAGE;
	}
	if ((o.emergency && (!o.approved_by || !*o.approved_by)) ||
	    (o.approved_by && !o.emergency)) {
		fprintf(stderr, "phasegate: --emergency and --approved-by NAME "
				"go together\n");
		return PHG_EXIT_USAGE;
	}
	if ((sub && (o.dry_run || o.emergency)) ||
	    (html && !phg_streq(sub, "report")) ||
	    (phg_streq(sub, "report") && !html) ||
	    (strcmp(format, "text") && !phg_streq(sub, "status"))) {
		release_usage(stderr);
		return PHG_EXIT_USAGE;
	}
	rc = phg_cmd_config(env);
	if (rc != 0)
		return rc;
	if (phg_streq(sub, "status"))
		return run_status(env, tag, !strcmp(format, "json"));
	if (phg_streq(sub, "report"))
		return run_report(env, tag, html);
	o.cfg = &env->cfg;
	o.tag = tag;
	o.out = print_line;
	if (phg_streq(sub, "abort")) {
		rc = phg_release_abort(&o, &err);
		if (rc < 0) {
			phg_print_err(&err);
			return phg_exit_for(rc);
		}
		return PHG_EXIT_OK;
	}
	rc = phg_release_run(&o, phg_streq(sub, "resume"), &oc, why,
			     sizeof(why), &err);
	return outcome_exit(rc, oc, why, &err);
}
