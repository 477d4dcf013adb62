/*
 * report: writes a lint result for people (text: file:line:col, the rule,
 * the source line with a caret, the help) or for machines (json, as
 * DESIGN's "Interfaces" says).
 */
#ifndef PHG_REPORT_H
#define PHG_REPORT_H

#include <stdio.h>

#include "../lint/lint.h"

enum phg_format { PHG_FORMAT_TEXT, PHG_FORMAT_JSON };

/* The JSON report's "version" (of its shape, not of phasegate). */
#define PHG_REPORT_JSON_VERSION 1

/* Parses "text" or "json"; returns 0, or PHG_EUSAGE naming the value. */
int phg_report_format_parse(const char *name, enum phg_format *out,
			    struct phg_err *err);

/*
 * Renders r into buf in the format. Returns 0 or PHG_ENOMEM. Writing is the
 * caller's, so a short write can be detected there.
 */
int phg_report_render(const struct phg_lint_result *r, enum phg_format fmt,
		      struct phg_buf *buf);

#endif
