/*
 * report/internal.h: what the format files of src/report/ share. Private to
 * the module; report.h is its API.
 */
#ifndef PHG_REPORT_INTERNAL_H
#define PHG_REPORT_INTERNAL_H

#include "report.h"

/* Each renders r into b, returning 0 or PHG_ENOMEM. */
int phg_report_sarif(const struct phg_lint_result *r, struct phg_buf *b);
int phg_report_github(const struct phg_lint_result *r, struct phg_buf *b);
int phg_report_gitlab(const struct phg_lint_result *r, struct phg_buf *b);
int phg_report_gcc(const struct phg_lint_result *r, struct phg_buf *b);

/*
 * A finding's file as the machine formats name it: relative paths lose a
 * leading "./" (code scanning and Code Quality match paths from the
 * repository root). Borrowed from f.
 */
const char *phg_report_path(const struct phg_finding *f);

/*
 * Appends the text machine formats show for a finding: the message, with
 * lint --stats a blank line and "note: <stats note>", and, when there is
 * one, a blank line and "help: <help>".
 */
int phg_report_message_help(struct phg_buf *b, const struct phg_finding *f);

/*
 * lint --stats: appends the note on f's table — "table 'public.big':
 * ~200,000 rows, 7.1 MB, 5.2 writes/s averaged over 3h", and when its severity
 * was lowered
 * "; downgraded from error: the table is under the stats thresholds".
 * Appends nothing when f has no stats.
 */
int phg_report_stats_note(struct phg_buf *b, const struct phg_finding *f);

/*
 * lint --stats: appends f's ,"stats":{...} (or null) and ,"downgraded":
 * members for the JSON and SARIF reports.
 */
int phg_report_json_stats(struct phg_buf *b, const struct phg_finding *f);

/* Appends s with CR and LF replaced by spaces (one finding, one line). */
int phg_report_one_line(struct phg_buf *b, const char *s);

/* "ok" or "refused". */
const char *phg_report_verdict(const struct phg_lint_result *r);

#endif
