/*
 * report.c: rendering a lint result as text or JSON into a buffer.
 */
#include "report.h"

#include <string.h>

int phg_report_format_parse(const char *name, enum phg_format *out,
			    struct phg_err *err)
{
	if (strcmp(name, "text") == 0)
		*out = PHG_FORMAT_TEXT;
	else if (strcmp(name, "json") == 0)
		*out = PHG_FORMAT_JSON;
	else
		return phg_err_set(err, PHG_EUSAGE,
				   "unknown format '%s' (use text or json)",
				   name);
	return 0;
}

static const char *verdict(const struct phg_lint_result *r)
{
	return phg_lint_refused(r) ? "refused" : "ok";
}

static int text_finding(struct phg_buf *b, const struct phg_finding *f)
{
	int rc = phg_buf_printf(b, "%s:%d:%d: %s[%s]%s: %s\n", f->file, f->line,
				f->col, phg_severity_name(f->severity), f->rule,
				f->suppressed ? " (suppressed)" : "",
				f->message);

	if (rc == 0 && f->source_line && f->line > 0) {
		rc = phg_buf_printf(b, "  %5d | %s\n        | ", f->line,
				    f->source_line);
		/* The caret sits under column col, tabs kept as tabs. */
		const char *p = f->source_line;

		for (int c = 1; rc == 0 && *p && c < f->col; c++) {
			rc = phg_buf_puts(b, *p == '\t' ? "\t" : " ");
			p++;
			while (((unsigned char)*p & 0xc0) == 0x80)
				p++;
		}
		if (rc == 0)
			rc = phg_buf_puts(b, "^\n");
	}
	if (rc == 0 && f->help && *f->help)
		rc = phg_buf_printf(b, "  help: %s\n", f->help);
	if (rc == 0)
		rc = phg_buf_puts(b, "\n");
	return rc;
}

static int render_text(const struct phg_lint_result *r, struct phg_buf *b)
{
	int rc = 0;

	for (size_t i = 0; i < r->findings.n && rc == 0; i++)
		rc = text_finding(b, &r->findings.items[i]);
	if (rc == 0)
		rc = phg_buf_printf(
			b,
			"%zu statement%s in %zu migration%s: %zu expand, %zu "
			"backfill, %zu contract, %zu none\n"
			"%zu error%s, %zu warning%s, %zu suppressed: %s\n",
			r->stmts.n, r->stmts.n == 1 ? "" : "s", r->files,
			r->files == 1 ? "" : "s", r->phases[PHG_PHASE_EXPAND],
			r->phases[PHG_PHASE_BACKFILL],
			r->phases[PHG_PHASE_CONTRACT],
			r->phases[PHG_PHASE_NONE], r->errors,
			r->errors == 1 ? "" : "s", r->warnings,
			r->warnings == 1 ? "" : "s", r->suppressed,
			phg_lint_refused(r) ? "refused" : "ok");
	return rc;
}

static int json_finding(struct phg_buf *b, const struct phg_finding *f)
{
	int rc = phg_buf_puts(b, "{\"rule\":");

	rc = rc ? rc : phg_buf_json_str(b, f->rule);
	rc = rc ? rc
		: phg_buf_printf(b, ",\"severity\":\"%s\",\"file\":",
				 phg_severity_name(f->severity));
	rc = rc ? rc : phg_buf_json_str(b, f->file);
	rc = rc ? rc
		: phg_buf_printf(b, ",\"line\":%d,\"column\":%d,\"message\":",
				 f->line, f->col);
	rc = rc ? rc : phg_buf_json_str(b, f->message);
	rc = rc ? rc : phg_buf_puts(b, ",\"help\":");
	rc = rc ? rc : phg_buf_json_str(b, f->help);
	rc = rc ? rc
		: phg_buf_printf(b, ",\"suppressed\":%s}",
				 f->suppressed ? "true" : "false");
	return rc;
}

static int json_stmt(struct phg_buf *b, const struct phg_stmt *s)
{
	int rc = phg_buf_puts(b, "{\"file\":");

	rc = rc ? rc : phg_buf_json_str(b, s->file);
	rc = rc ? rc : phg_buf_puts(b, ",\"line\":");
	rc = rc ? rc : phg_buf_int(b, s->line);
	rc = rc ? rc : phg_buf_puts(b, ",\"column\":");
	rc = rc ? rc : phg_buf_int(b, s->col);
	rc = rc ? rc : phg_buf_puts(b, ",\"phase\":\"");
	rc = rc ? rc : phg_buf_puts(b, phg_phase_name(s->phase));
	rc = rc ? rc : phg_buf_puts(b, "\",\"kind\":\"");
	rc = rc ? rc : phg_buf_puts(b, phg_kind_name(s->kind));
	rc = rc ? rc : phg_buf_puts(b, "\"");
	if (rc == 0 && s->nactions > 1) {
		rc = phg_buf_puts(b, ",\"actions\":[");
		for (size_t i = 0; i < s->nactions && rc == 0; i++) {
			rc = phg_buf_puts(b,
					  i ? ",{\"kind\":\"" : "{\"kind\":\"");
			rc = rc ? rc
				: phg_buf_puts(
					  b, phg_kind_name(s->actions[i].kind));
			rc = rc ? rc : phg_buf_puts(b, "\",\"phase\":\"");
			rc = rc ? rc
				: phg_buf_puts(b, phg_phase_name(
							  s->actions[i].phase));
			rc = rc ? rc : phg_buf_puts(b, "\"}");
		}
		rc = rc ? rc : phg_buf_puts(b, "]");
	}
	rc = rc ? rc : phg_buf_puts(b, ",\"targets\":[");
	for (size_t i = 0; i < s->ntargets && rc == 0; i++) {
		rc = phg_buf_puts(b, i ? ",{\"object\":" : "{\"object\":");
		rc = rc ? rc : phg_buf_json_str(b, s->targets[i].object);
		rc = rc ? rc : phg_buf_puts(b, ",\"access\":\"");
		rc = rc ? rc
			: phg_buf_puts(b,
				       phg_access_name(s->targets[i].access));
		rc = rc ? rc : phg_buf_puts(b, "\"}");
	}
	return rc ? rc : phg_buf_puts(b, "]}");
}

static int render_json(const struct phg_lint_result *r, struct phg_buf *b)
{
	int rc = phg_buf_printf(b, "{\"version\":%d,\"findings\":[",
				PHG_REPORT_JSON_VERSION);

	for (size_t i = 0; i < r->findings.n && rc == 0; i++) {
		rc = i ? phg_buf_puts(b, ",") : 0;
		rc = rc ? rc : json_finding(b, &r->findings.items[i]);
	}
	rc = rc ? rc : phg_buf_puts(b, "],\"statements\":[");
	for (size_t i = 0; i < r->stmts.n && rc == 0; i++) {
		rc = i ? phg_buf_puts(b, ",") : 0;
		rc = rc ? rc : json_stmt(b, r->stmts.items[i]);
	}
	rc = rc ? rc : phg_buf_puts(b, "],\"releases\":[");
	for (size_t i = 0; i < r->releases.n && rc == 0; i++) {
		const struct phg_lint_release *rel = r->releases.items[i];

		rc = i ? phg_buf_puts(b, ",") : 0;
		rc = rc ? rc : phg_buf_puts(b, "{\"name\":");
		rc = rc ? rc : phg_buf_json_str(b, rel->name);
		rc = rc ? rc
			: phg_buf_printf(b, ",\"linted\":%s}",
					 rel->linted ? "true" : "false");
	}
	if (rc == 0)
		rc = phg_buf_printf(
			b,
			"],\"summary\":{\"files\":%zu,\"statements\":%zu,"
			"\"errors\":%zu,\"warnings\":%zu,\"suppressed\":%zu,"
			"\"phases\":{\"expand\":%zu,\"backfill\":%zu,"
			"\"contract\":%zu,\"none\":%zu},\"verdict\":\"%s\"}}\n",
			r->files, r->stmts.n, r->errors, r->warnings,
			r->suppressed, r->phases[PHG_PHASE_EXPAND],
			r->phases[PHG_PHASE_BACKFILL],
			r->phases[PHG_PHASE_CONTRACT],
			r->phases[PHG_PHASE_NONE], verdict(r));
	return rc;
}

int phg_report_render(const struct phg_lint_result *r, enum phg_format fmt,
		      struct phg_buf *buf)
{
	switch (fmt) {
	case PHG_FORMAT_TEXT:
		return render_text(r, buf);
	case PHG_FORMAT_JSON:
		return render_json(r, buf);
	}
	return PHG_EUSAGE;
}
