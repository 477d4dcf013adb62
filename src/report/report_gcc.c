/*
 * report_gcc.c: the lint result in GCC's diagnostic format, one line per
 * finding, for editors and tools that parse compiler output (Vim's
 * errorformat, Emacs compilation-mode, problem matchers):
 *   file:line:col: error: message [rule]
 * A message never spans lines (CR and LF become spaces). Suppressed
 * findings are left out: they do not fail the gate.
 */
#include "internal.h"

static int diagnostic(struct phg_buf *b, const struct phg_finding *f)
{
	int rc = phg_report_one_line(b, f->file);

	if (rc == 0 && f->line > 0)
		rc = phg_buf_printf(b, ":%d", f->line);
	if (rc == 0 && f->line > 0 && f->col > 0)
		rc = phg_buf_printf(b, ":%d", f->col);
	rc = rc ? rc
		: phg_buf_printf(b, ": %s: ", phg_severity_name(f->severity));
	rc = rc ? rc : phg_report_one_line(b, f->message);
	if (rc == 0 && f->stats) {
		struct phg_buf note = {0};

		rc = phg_report_stats_note(&note, f);
		rc = rc ? rc : phg_buf_puts(b, " (");
		rc = rc ? rc : phg_report_one_line(b, note.data);
		rc = rc ? rc : phg_buf_puts(b, ")");
		phg_buf_release(&note);
	}
	return rc ? rc : phg_buf_printf(b, " [%s]\n", f->rule);
}

int phg_report_gcc(const struct phg_lint_result *r, struct phg_buf *b)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < r->findings.n; i++)
		if (!r->findings.items[i].suppressed)
			rc = diagnostic(b, &r->findings.items[i]);
	return rc;
}
