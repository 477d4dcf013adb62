/*
 * report_github.c: the lint result as GitHub Actions workflow commands,
 * which the runner turns into annotations on the pull request:
 *   ::error file=F,line=L,col=C,title=RULE::message
 * Values are escaped as GitHub's toolkit does (%, CR and LF everywhere, and
 * ':' and ',' in properties too), so a message can neither break the line
 * nor start a second command. Suppressed findings are not annotated; they
 * and the summary are plain log lines (GitHub runs only lines that start
 * with "::"), one line each.
 */
#include "internal.h"

#include <string.h>

/* Appends s escaped as workflow-command data, or as a property value. */
static int escaped(struct phg_buf *b, const char *s, bool property)
{
	const char *special = property ? "%\r\n:," : "%\r\n";
	int rc = 0;

	while (rc == 0 && *s) {
		size_t n = strcspn(s, special);

		rc = phg_buf_add(b, s, n);
		s += n;
		if (rc || !*s)
			break;
		switch (*s) {
		case '%':
			rc = phg_buf_puts(b, "%25");
			break;
		case '\r':
			rc = phg_buf_puts(b, "%0D");
			break;
		case '\n':
			rc = phg_buf_puts(b, "%0A");
			break;
		case ':':
			rc = phg_buf_puts(b, "%3A");
			break;
		default: /* ',' */
			rc = phg_buf_puts(b, "%2C");
			break;
		}
		s++;
	}
	return rc;
}

static int annotation(struct phg_buf *b, const struct phg_finding *f)
{
	struct phg_buf text = {0};
	int rc = phg_buf_printf(b, "::%s file=",
				f->severity == PHG_SEV_ERROR ? "error"
							     : "warning");

	rc = rc ? rc : escaped(b, phg_report_path(f), true);
	if (rc == 0 && f->line > 0)
		rc = phg_buf_printf(b, ",line=%d", f->line);
	if (rc == 0 && f->line > 0 && f->col > 0)
		rc = phg_buf_printf(b, ",col=%d", f->col);
	rc = rc ? rc : phg_buf_puts(b, ",title=");
	rc = rc ? rc : escaped(b, f->rule, true);
	rc = rc ? rc : phg_buf_puts(b, "::");
	rc = rc ? rc : phg_report_message_help(&text, f);
	rc = rc ? rc : escaped(b, text.data ? text.data : "", false);
	phg_buf_release(&text);
	return rc ? rc : phg_buf_puts(b, "\n");
}

/* A suppressed finding as a log line: visible, not an annotation. */
static int suppressed_line(struct phg_buf *b, const struct phg_finding *f)
{
	int rc = phg_buf_printf(b, "phasegate: suppressed %s[%s] at ",
				phg_severity_name(f->severity), f->rule);

	rc = rc ? rc : phg_report_one_line(b, phg_report_path(f));
	rc = rc ? rc : phg_buf_printf(b, ":%d:%d: ", f->line, f->col);
	rc = rc ? rc : phg_report_one_line(b, f->message);
	return rc ? rc : phg_buf_puts(b, "\n");
}

int phg_report_github(const struct phg_lint_result *r, struct phg_buf *b)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < r->findings.n; i++) {
		const struct phg_finding *f = &r->findings.items[i];

		rc = f->suppressed ? suppressed_line(b, f) : annotation(b, f);
	}
	if (rc == 0)
		rc = phg_buf_printf(
			b,
			"phasegate: %zu error%s, %zu warning%s, %zu "
			"suppressed: %s\n",
			r->errors, r->errors == 1 ? "" : "s", r->warnings,
			r->warnings == 1 ? "" : "s", r->suppressed,
			phg_report_verdict(r));
	return rc;
}
