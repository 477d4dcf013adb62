/*
 * report: writes a lint result for people (text: file:line:col, the rule,
 * the source line with a caret, the help; coloured when the caller says so)
 * or for machines: json (DESIGN's "Interfaces"), sarif (SARIF 2.1.0, for
 * code scanning), github (workflow-command annotations), gitlab (Code
 * Quality JSON) and gcc (one `file:line:col: error: message [rule]` line per
 * finding, for editors). The library never looks at the terminal or the
 * environment: whether to colour is an option.
 */
#ifndef PHG_REPORT_H
#define PHG_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "../lint/lint.h"

enum phg_format {
	PHG_FORMAT_TEXT,
	PHG_FORMAT_JSON,
	PHG_FORMAT_SARIF,
	PHG_FORMAT_GITHUB,
	PHG_FORMAT_GITLAB,
	PHG_FORMAT_GCC
};

/* The JSON report's "version" (of its shape, not of phasegate). */
#define PHG_REPORT_JSON_VERSION 1

/* Where phasegate lives, and where each rule's page is: <base><id>.md. */
#define PHG_INFORMATION_URI "https://github.com/phasegate/phasegate"
#define PHG_RULE_DOCS_BASE                                                     \
	"https://github.com/phasegate/phasegate/blob/main/docs/rules/"

/* How to render, beyond the format. */
struct phg_report_opts {
	enum phg_format format;
	bool color; /* text only: ANSI colours (the caller decides: a
		       terminal, NO_COLOR unset, or --color always) */
};

/*
 * Parses a format name (text, json, sarif, github, gitlab, gcc); returns 0,
 * or PHG_EUSAGE naming the value and the choices.
 */
int phg_report_format_parse(const char *name, enum phg_format *out,
			    struct phg_err *err);

/*
 * Renders r into buf as opts says. Returns 0 or PHG_ENOMEM (buf may then
 * hold part of the report; the caller releases it either way). Writing is
 * the caller's, so a short write can be detected there.
 */
int phg_report_render_opts(const struct phg_lint_result *r,
			   const struct phg_report_opts *opts,
			   struct phg_buf *buf);

/* phg_report_render_opts without colour. */
int phg_report_render(const struct phg_lint_result *r, enum phg_format fmt,
		      struct phg_buf *buf);

/*
 * A rule's documentation page, as a URL (PHG_RULE_DOCS_BASE<id>.md), into
 * buf. Returns 0 or PHG_ENOMEM.
 */
int phg_report_rule_url(struct phg_buf *buf, const char *rule_id);

#endif
