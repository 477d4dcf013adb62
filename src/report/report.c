/*
 * report.c: the format names, rendering a lint result as text (with or
 * without ANSI colours) or JSON, and the dispatch to the other formats
 * (report_sarif.c, report_github.c, report_gitlab.c, report_gcc.c).
 */
#include "internal.h"

#include <string.h>

static const char *const format_names[] = {
	[PHG_FORMAT_TEXT] = "text",	[PHG_FORMAT_JSON] = "json",
	[PHG_FORMAT_SARIF] = "sarif",	[PHG_FORMAT_GITHUB] = "github",
	[PHG_FORMAT_GITLAB] = "gitlab", [PHG_FORMAT_GCC] = "gcc",
};

int phg_report_format_parse(const char *name, enum phg_format *out,
			    struct phg_err *err)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(*format_names);
	     i++) {
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum phg_format)i;
			return 0;
		}
	}
	return phg_err_set(err, PHG_EUSAGE,
			   "unknown format '%s' (use text, json, sarif, "
			   "github, gitlab or gcc)",
			   name);
}

const char *phg_report_verdict(const struct phg_lint_result *r)
{
	return phg_lint_refused(r) ? "refused" : "ok";
}

const char *phg_report_path(const struct phg_finding *f)
{
	const char *p = f->file ? f->file : "";

	while (p[0] == '.' && p[1] == '/') {
		p += 2;
		while (*p == '/')
			p++;
	}
	return p;
}

/* Appends n with a comma between each group of three digits. */
static int thousands(struct phg_buf *b, long long n)
{
	char digits[32];
	int len = snprintf(digits, sizeof(digits), "%lld", n < 0 ? 0 : n);
	int rc = 0;

	for (int i = 0; rc == 0 && i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			rc = phg_buf_puts(b, ",");
		rc = rc ? rc : phg_buf_add(b, digits + i, 1);
	}
	return rc;
}

/* Appends a size in 1024-based units, with one decimal under 10 of a
   unit when it has one: "512 bytes", "8 kB", "48 kB", "7.1 MB". */
static int pretty_size(struct phg_buf *b, long long bytes)
{
	static const char *const units[] = {"kB", "MB", "GB", "TB", "PB"};
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024)
		return phg_buf_printf(b, "%lld bytes", bytes < 0 ? 0 : bytes);
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (v < 9.95 && v - (double)(long long)v >= 0.05)
		return phg_buf_printf(b, "%.1f %s", v, units[u]);
	return phg_buf_printf(b, "%.0f %s", v, units[u]);
}

/* Appends a window of seconds in its largest whole unit: "45s", "12m",
   "5h", "3d". */
static int short_duration(struct phg_buf *b, double seconds)
{
	long long s = (long long)seconds;

	if (s < 120)
		return phg_buf_printf(b, "%llds", s < 1 ? 1 : s);
	if (s < 2 * 3600)
		return phg_buf_printf(b, "%lldm", s / 60);
	if (s < 2 * 86400)
		return phg_buf_printf(b, "%lldh", s / 3600);
	return phg_buf_printf(b, "%lldd", s / 86400);
}

int phg_report_stats_note(struct phg_buf *b, const struct phg_finding *f)
{
	const struct phg_table_stats *s = f->stats;
	int rc;

	if (!s)
		return 0;
	rc = phg_buf_printf(b, "table '%s': ~", s->table);
	rc = rc ? rc : thousands(b, s->rows);
	rc = rc ? rc : phg_buf_puts(b, s->rows == 1 ? " row, " : " rows, ");
	rc = rc ? rc : pretty_size(b, s->bytes);
	if (rc == 0 && s->writes_per_second < 0)
		rc = phg_buf_puts(b, ", write rate unknown");
	else if (rc == 0 && s->writes_per_second < 100)
		rc = phg_buf_printf(b, ", %.1f writes/s", s->writes_per_second);
	else if (rc == 0) {
		rc = phg_buf_puts(b, ", ");
		rc = rc ? rc
			: thousands(b, (long long)(s->writes_per_second + 0.5));
		rc = rc ? rc : phg_buf_puts(b, " writes/s");
	}
	if (rc == 0 && s->writes_per_second >= 0) {
		rc = phg_buf_puts(b, " averaged over ");
		rc = rc ? rc : short_duration(b, s->window_seconds);
	}
	if (rc == 0 && f->downgraded)
		rc = phg_buf_puts(b, "; downgraded from error: the table is "
				     "under the stats thresholds");
	return rc;
}

int phg_report_json_stats(struct phg_buf *b, const struct phg_finding *f)
{
	const struct phg_table_stats *s = f->stats;
	int rc;

	if (!s)
		return phg_buf_printf(b, ",\"stats\":null,\"downgraded\":%s",
				      f->downgraded ? "true" : "false");
	rc = phg_buf_puts(b, ",\"stats\":{\"table\":");
	rc = rc ? rc : phg_buf_json_str(b, s->table);
	rc = rc ? rc
		: phg_buf_printf(
			  b,
			  ",\"rows\":%lld,\"bytes\":%lld,\"writes\":%lld,"
			  "\"window_seconds\":%.3f,"
			  "\"writes_per_second\":",
			  s->rows, s->bytes, s->writes,
			  s->window_seconds > 0 ? s->window_seconds : 0.0);
	if (rc == 0 && s->writes_per_second < 0)
		rc = phg_buf_puts(b, "null");
	else if (rc == 0)
		rc = phg_buf_printf(b, "%.3f", s->writes_per_second);
	return rc ? rc
		  : phg_buf_printf(b, "},\"downgraded\":%s",
				   f->downgraded ? "true" : "false");
}

int phg_report_message_help(struct phg_buf *b, const struct phg_finding *f)
{
	int rc = phg_buf_puts(b, f->message ? f->message : "");

	if (rc == 0 && f->stats) {
		rc = phg_buf_puts(b, "\n\nnote: ");
		rc = rc ? rc : phg_report_stats_note(b, f);
	}

	if (rc == 0 && f->help && *f->help)
		rc = phg_buf_printf(b, "\n\nhelp: %s", f->help);
	return rc;
}

int phg_report_one_line(struct phg_buf *b, const char *s)
{
	int rc = 0;

	while (rc == 0 && s && *s) {
		size_t n = strcspn(s, "\r\n");

		rc = phg_buf_add(b, s, n);
		s += n;
		if (rc == 0 && *s) {
			rc = phg_buf_puts(b, " ");
			s++;
		}
	}
	return rc;
}

int phg_report_rule_url(struct phg_buf *buf, const char *rule_id)
{
	int rc = phg_buf_puts(buf, PHG_RULE_DOCS_BASE);

	rc = rc ? rc : phg_buf_puts(buf, rule_id);
	return rc ? rc : phg_buf_puts(buf, ".md");
}

/* ANSI SGR sequences of the text format (rustc's choice of colours). */
#define SGR_RESET "\033[0m"
#define SGR_BOLD "\033[1m"
#define SGR_DIM "\033[2m"
#define SGR_ERROR "\033[1;31m"
#define SGR_WARNING "\033[1;33m"
#define SGR_GUTTER "\033[1;34m"
#define SGR_HELP "\033[1;36m"
#define SGR_OK "\033[1;32m"

/* Appends the escape sequence sgr when colouring, nothing otherwise. */
static int paint(struct phg_buf *b, bool color, const char *sgr)
{
	return color ? phg_buf_puts(b, sgr) : 0;
}

static const char *severity_sgr(enum phg_severity sev)
{
	return sev == PHG_SEV_ERROR ? SGR_ERROR : SGR_WARNING;
}

/* The caret line under the source line: spaces (tabs kept as tabs) up to
   column col, then '^'. */
static int text_caret(struct phg_buf *b, const struct phg_finding *f,
		      bool color)
{
	const char *p = f->source_line;
	int rc = 0;

	for (int c = 1; rc == 0 && *p && c < f->col; c++) {
		rc = phg_buf_puts(b, *p == '\t' ? "\t" : " ");
		p++;
		while (((unsigned char)*p & 0xc0) == 0x80)
			p++;
	}
	rc = rc ? rc : paint(b, color, severity_sgr(f->severity));
	rc = rc ? rc : phg_buf_puts(b, "^");
	rc = rc ? rc : paint(b, color, SGR_RESET);
	return rc ? rc : phg_buf_puts(b, "\n");
}

static int text_finding(struct phg_buf *b, const struct phg_finding *f,
			bool color)
{
	int rc = paint(b, color, SGR_BOLD);

	rc = rc ? rc : phg_buf_printf(b, "%s:%d:%d:", f->file, f->line, f->col);
	rc = rc ? rc : paint(b, color, SGR_RESET);
	rc = rc ? rc : phg_buf_puts(b, " ");
	rc = rc ? rc : paint(b, color, severity_sgr(f->severity));
	rc = rc ? rc
		: phg_buf_printf(b, "%s[%s]", phg_severity_name(f->severity),
				 f->rule);
	rc = rc ? rc : paint(b, color, SGR_RESET);
	if (rc == 0 && f->suppressed) {
		rc = paint(b, color, SGR_DIM);
		rc = rc ? rc : phg_buf_puts(b, " (suppressed)");
		rc = rc ? rc : paint(b, color, SGR_RESET);
	}
	rc = rc ? rc : paint(b, color, SGR_BOLD);
	rc = rc ? rc : phg_buf_printf(b, ": %s", f->message);
	rc = rc ? rc : paint(b, color, SGR_RESET);
	rc = rc ? rc : phg_buf_puts(b, "\n");
	if (rc == 0 && f->source_line && f->line > 0) {
		rc = phg_buf_puts(b, "  ");
		rc = rc ? rc : paint(b, color, SGR_GUTTER);
		rc = rc ? rc : phg_buf_printf(b, "%5d |", f->line);
		rc = rc ? rc : paint(b, color, SGR_RESET);
		rc = rc ? rc
			: phg_buf_printf(b, " %s\n        ", f->source_line);
		rc = rc ? rc : paint(b, color, SGR_GUTTER);
		rc = rc ? rc : phg_buf_puts(b, "|");
		rc = rc ? rc : paint(b, color, SGR_RESET);
		rc = rc ? rc : phg_buf_puts(b, " ");
		rc = rc ? rc : text_caret(b, f, color);
	}
	if (rc == 0 && f->stats) {
		rc = phg_buf_puts(b, "  ");
		rc = rc ? rc : paint(b, color, SGR_BOLD);
		rc = rc ? rc : phg_buf_puts(b, "note");
		rc = rc ? rc : paint(b, color, SGR_RESET);
		rc = rc ? rc : phg_buf_puts(b, ": ");
		rc = rc ? rc : phg_report_stats_note(b, f);
		rc = rc ? rc : phg_buf_puts(b, "\n");
	}
	if (rc == 0 && f->help && *f->help) {
		rc = phg_buf_puts(b, "  ");
		rc = rc ? rc : paint(b, color, SGR_HELP);
		rc = rc ? rc : phg_buf_puts(b, "help");
		rc = rc ? rc : paint(b, color, SGR_RESET);
		rc = rc ? rc : phg_buf_printf(b, ": %s\n", f->help);
	}
	return rc ? rc : phg_buf_puts(b, "\n");
}

static int render_text(const struct phg_lint_result *r, struct phg_buf *b,
		       bool color)
{
	bool refused = phg_lint_refused(r);
	int rc = 0;

	for (size_t i = 0; i < r->findings.n && rc == 0; i++)
		rc = text_finding(b, &r->findings.items[i], color);
	if (rc == 0)
		rc = phg_buf_printf(
			b,
			"%zu statement%s in %zu migration%s: %zu expand, %zu "
			"backfill, %zu contract, %zu none\n"
			"%zu error%s, %zu warning%s, %zu suppressed: ",
			r->stmts.n, r->stmts.n == 1 ? "" : "s", r->files,
			r->files == 1 ? "" : "s", r->phases[PHG_PHASE_EXPAND],
			r->phases[PHG_PHASE_BACKFILL],
			r->phases[PHG_PHASE_CONTRACT],
			r->phases[PHG_PHASE_NONE], r->errors,
			r->errors == 1 ? "" : "s", r->warnings,
			r->warnings == 1 ? "" : "s", r->suppressed);
	rc = rc ? rc : paint(b, color, refused ? SGR_ERROR : SGR_OK);
	rc = rc ? rc : phg_buf_puts(b, phg_report_verdict(r));
	rc = rc ? rc : paint(b, color, SGR_RESET);
	return rc ? rc : phg_buf_puts(b, "\n");
}

static int json_finding(struct phg_buf *b, const struct phg_lint_result *r,
			const struct phg_finding *f)
{
	int rc = phg_buf_puts(b, "{\"rule\":");

	/* Pieces and numbers rather than printf: one finding per line of a
	   large report. */
	rc = rc ? rc : phg_buf_json_str(b, f->rule);
	rc = rc ? rc : phg_buf_puts(b, ",\"severity\":\"");
	rc = rc ? rc : phg_buf_puts(b, phg_severity_name(f->severity));
	rc = rc ? rc : phg_buf_puts(b, "\",\"file\":");
	rc = rc ? rc : phg_buf_json_str(b, f->file);
	rc = rc ? rc : phg_buf_puts(b, ",\"line\":");
	rc = rc ? rc : phg_buf_int(b, f->line);
	rc = rc ? rc : phg_buf_puts(b, ",\"column\":");
	rc = rc ? rc : phg_buf_int(b, f->col);
	rc = rc ? rc : phg_buf_puts(b, ",\"message\":");
	rc = rc ? rc : phg_buf_json_str(b, f->message);
	rc = rc ? rc : phg_buf_puts(b, ",\"help\":");
	rc = rc ? rc : phg_buf_json_str(b, f->help);
	rc = rc ? rc
		: phg_buf_puts(b, f->suppressed ? ",\"suppressed\":true"
						: ",\"suppressed\":false");
	if (rc == 0 && r->stats)
		rc = phg_report_json_stats(b, f);
	return rc ? rc : phg_buf_puts(b, "}");
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
		rc = rc ? rc : json_finding(b, r, &r->findings.items[i]);
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
			r->phases[PHG_PHASE_NONE], phg_report_verdict(r));
	return rc;
}

int phg_report_render_opts(const struct phg_lint_result *r,
			   const struct phg_report_opts *opts,
			   struct phg_buf *buf)
{
	switch (opts->format) {
	case PHG_FORMAT_TEXT:
		return render_text(r, buf, opts->color);
	case PHG_FORMAT_JSON:
		return render_json(r, buf);
	case PHG_FORMAT_SARIF:
		return phg_report_sarif(r, buf);
	case PHG_FORMAT_GITHUB:
		return phg_report_github(r, buf);
	case PHG_FORMAT_GITLAB:
		return phg_report_gitlab(r, buf);
	case PHG_FORMAT_GCC:
		return phg_report_gcc(r, buf);
	}
	return PHG_EUSAGE;
}

int phg_report_render(const struct phg_lint_result *r, enum phg_format fmt,
		      struct phg_buf *buf)
{
	struct phg_report_opts opts = {.format = fmt, .color = false};

	return phg_report_render_opts(r, &opts, buf);
}
