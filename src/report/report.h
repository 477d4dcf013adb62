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
#include "../store/store.h"

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

/* A trigger to chart: a reading's metric name, a title, its threshold. */
struct phg_release_metric {
	const char *name;  /* "error_rate", "p99_ms", ... as in the readings */
	const char *title; /* "error rate (fraction)", or NULL for name */
	double threshold;  /* the rollback threshold drawn; 0 for none */
};

/* A migration applied by the release in one region. */
struct phg_release_applied {
	const char *region, *name, *phase, *finished_at;
};

/* Everything the release page shows, as read from the ledger. */
struct phg_release_page {
	const struct phg_store_release *release;
	const struct phg_store_step *steps;
	size_t nsteps;
	const struct phg_store_reading *readings; /* weights come from these */
	size_t nreadings;
	const struct phg_store_event *events;
	size_t nevents;
	const struct phg_release_metric *metrics;
	size_t nmetrics;
	const struct phg_release_applied *applied;
	size_t napplied;
};

/*
 * Renders the release page (`release report TAG --html FILE`): one
 * self-contained HTML file with the outcome, a timeline of steps per region,
 * green's traffic weight and each metric's readings over time as inline
 * SVG charts with the rollback thresholds, the migrations applied where,
 * the steps and the events. Returns 0 or PHG_ENOMEM.
 */
int phg_report_release_html(const struct phg_release_page *p,
			    struct phg_buf *buf);

/*
 * Reads an ISO 8601 UTC time ("2026-11-26T12:00:00.250Z") into
 * milliseconds since the epoch; returns 0, or -1 when it is not one.
 */
int phg_report_parse_time(const char *iso, double *ms);

#endif
