/*
 * release_html: `phasegate release report TAG --html FILE` — one
 * self-contained page (no script, no external file) a person would rather
 * look at than read the ledger: the outcome, a timeline of steps per region,
 * green's traffic weight and each trigger's readings over time as inline SVG
 * charts with their thresholds, the migrations applied where, and the
 * events. Everything from the ledger is escaped; nothing is fetched.
 */
#define _DEFAULT_SOURCE /* timegm */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Chart geometry, in SVG user units. */
#define CHART_W 960
#define CHART_H 180
#define PAD_L 64
#define PAD_R 16
#define PAD_T 12
#define PAD_B 28
#define LANE_H 26

/* A palette that tells regions apart; a region past the end reuses it. */
static const char *const region_colors[] = {"#2563eb", "#d97706", "#059669",
					    "#7c3aed", "#db2777", "#0891b2"};

static int html_text(struct phg_buf *b, const char *s)
{
	const char *run = s;

	if (!s)
		return 0;
	for (; *s; s++) {
		const char *rep = NULL;

		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		if (phg_buf_add(b, run, (size_t)(s - run)) < 0 ||
		    phg_buf_puts(b, rep) < 0)
			return PHG_ENOMEM;
		run = s + 1;
	}
	return phg_buf_add(b, run, (size_t)(s - run));
}

/* "2026-11-26T12:00:00.250Z" (or without the fraction) → ms since epoch. */
int phg_report_parse_time(const char *iso, double *ms)
{
	struct tm tm;
	int y, mo, d, h, mi, n = 0;
	double sec;

	if (!iso || sscanf(iso, "%4d-%2d-%2d%*[T ]%2d:%2d:%lf%n", &y, &mo, &d,
			   &h, &mi, &sec, &n) != 6)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	*ms = (double)timegm(&tm) * 1000.0 + sec * 1000.0;
	return 0;
}

/* The span of time the page draws: every timestamp the ledger holds. */
struct span {
	double t0, t1;
};

static void span_add(struct span *sp, const char *iso)
{
	double t;

	if (phg_report_parse_time(iso, &t) < 0)
		return;
	if (sp->t0 == 0 || t < sp->t0)
		sp->t0 = t;
	if (t > sp->t1)
		sp->t1 = t;
}

static struct span span_of(const struct phg_release_page *p)
{
	struct span sp = {0, 0};

	span_add(&sp, p->release->started_at);
	span_add(&sp, p->release->finished_at);
	for (size_t i = 0; i < p->nsteps; i++) {
		span_add(&sp, p->steps[i].started_at);
		span_add(&sp, p->steps[i].finished_at);
	}
	for (size_t i = 0; i < p->nreadings; i++)
		span_add(&sp, p->readings[i].at);
	for (size_t i = 0; i < p->nevents; i++)
		span_add(&sp, p->events[i].at);
	if (sp.t1 <= sp.t0)
		sp.t1 = sp.t0 + 1000;
	return sp;
}

static double x_of(const struct span *sp, double t)
{
	double w = CHART_W - PAD_L - PAD_R;

	return PAD_L + (t - sp->t0) / (sp->t1 - sp->t0) * w;
}

/* The distinct regions in the order they first appear in the steps. */
struct regions {
	const char *name[16];
	size_t n;
};

static void regions_add(struct regions *r, const char *name)
{
	if (!name || !*name)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->name[i], name) == 0)
			return;
	if (r->n < sizeof(r->name) / sizeof(r->name[0]))
		r->name[r->n++] = name;
}

static size_t region_index(const struct regions *r, const char *name)
{
	for (size_t i = 0; name && i < r->n; i++)
		if (strcmp(r->name[i], name) == 0)
			return i;
	return 0;
}

static const char *region_color(size_t i)
{
	return region_colors[i % (sizeof(region_colors) /
				  sizeof(region_colors[0]))];
}

static const char *step_color(enum phg_step_state s)
{
	switch (s) {
	case PHG_STEP_RUNNING:
		return "#93c5fd";
	case PHG_STEP_DONE:
		return "#22c55e";
	case PHG_STEP_FAILED:
		return "#ef4444";
	case PHG_STEP_SKIPPED:
		return "#d1d5db";
	case PHG_STEP_ROLLED_BACK:
		return "#f97316";
	}
	return "#d1d5db";
}

static const char *outcome_color(enum phg_release_state s)
{
	switch (s) {
	case PHG_REL_RUNNING:
		return "#2563eb";
	case PHG_REL_SUCCEEDED:
		return "#16a34a";
	case PHG_REL_ROLLED_BACK:
	case PHG_REL_FAILED:
	case PHG_REL_ABORTED:
		return "#dc2626";
	case PHG_REL_REVERTED:
		return "#d97706";
	}
	return "#6b7280";
}

/* Time labels along a chart's bottom: start, middle and end, as HH:MM:SS. */
static int time_axis(struct phg_buf *b, const struct span *sp, int y)
{
	for (int i = 0; i <= 4; i++) {
		double t = sp->t0 + (sp->t1 - sp->t0) * i / 4.0;
		time_t secs = (time_t)(t / 1000.0);
		struct tm tm;
		char label[16];

		gmtime_r(&secs, &tm);
		strftime(label, sizeof(label), "%H:%M:%S", &tm);
		if (phg_buf_printf(b,
				   "<text x=\"%.1f\" y=\"%d\" class=\"ax\" "
				   "text-anchor=\"%s\">%s</text>",
				   x_of(sp, t), y,
				   i == 0   ? "start"
				   : i == 4 ? "end"
					    : "middle",
				   label) < 0)
			return PHG_ENOMEM;
	}
	return 0;
}

static int timeline(struct phg_buf *b, const struct phg_release_page *p,
		    const struct span *sp, const struct regions *rg)
{
	int h = PAD_T + (int)(rg->n + 1) * LANE_H + PAD_B;

	if (phg_buf_printf(b,
			   "<h2>Timeline</h2><svg class=\"chart\" "
			   "viewBox=\"0 0 %d %d\" role=\"img\" "
			   "aria-label=\"steps per region over time\">",
			   CHART_W, h) < 0)
		return PHG_ENOMEM;
	for (size_t lane = 0; lane <= rg->n; lane++) {
		int y = PAD_T + (int)lane * LANE_H;

		if (phg_buf_printf(b, "<text x=\"4\" y=\"%d\" class=\"lbl\">",
				   y + 17) < 0 ||
		    html_text(b, lane < rg->n ? rg->name[lane] : "release") <
			    0 ||
		    phg_buf_puts(b, "</text>") < 0)
			return PHG_ENOMEM;
	}
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct phg_store_step *st = &p->steps[i];
		double a, z;
		size_t lane = st->region && *st->region
				      ? region_index(rg, st->region)
				      : rg->n;
		int y = PAD_T + (int)lane * LANE_H + 3;

		if (phg_report_parse_time(st->started_at, &a) < 0)
			continue;
		if (phg_report_parse_time(st->finished_at, &z) < 0)
			z = sp->t1;
		if (phg_buf_printf(b,
				   "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
				   "height=\"%d\" fill=\"%s\" rx=\"2\"><title>",
				   x_of(sp, a), y,
				   fmax(x_of(sp, z) - x_of(sp, a), 2.0),
				   LANE_H - 6, step_color(st->state)) < 0 ||
		    html_text(b, st->name) < 0 || phg_buf_puts(b, ": ") < 0 ||
		    html_text(b, phg_step_state_name(st->state)) < 0 ||
		    (st->detail && (phg_buf_puts(b, " — ") < 0 ||
				    html_text(b, st->detail) < 0)) ||
		    phg_buf_puts(b, "</title></rect>") < 0)
			return PHG_ENOMEM;
	}
	if (time_axis(b, sp, h - 8) < 0 || phg_buf_puts(b, "</svg>") < 0)
		return PHG_ENOMEM;
	return 0;
}

/* The y of value v on a chart whose top is vmax. */
static double y_of(double v, double vmax)
{
	return PAD_T + (CHART_H - PAD_T - PAD_B) * (1.0 - fmin(v / vmax, 1.0));
}

struct point {
	double t, v;
};

static int point_cmp(const void *a, const void *b)
{
	const struct point *x = a, *y = b;

	return (x->t > y->t) - (x->t < y->t);
}

/*
 * The readings of one region for one metric (or, metric NULL, green's
 * weight at each reading time), sorted by time, into a malloc'd *out.
 */
static int points_of(const struct phg_release_page *p, const char *metric,
		     const char *region, struct point **out, size_t *n)
{
	struct point *pts = phg_xcalloc(p->nreadings + 1, sizeof(*pts));

	*n = 0;
	if (!pts)
		return PHG_ENOMEM;
	for (size_t i = 0; i < p->nreadings; i++) {
		const struct phg_store_reading *r = &p->readings[i];
		double t, v;

		if (!r->region || strcmp(r->region, region) != 0)
			continue;
		if (metric && strcmp(r->metric, metric) != 0)
			continue;
		if (phg_report_parse_time(r->at, &t) < 0)
			continue;
		v = metric ? r->value : r->weight;
		if (!isfinite(v))
			continue;
		pts[*n].t = t;
		pts[(*n)++].v = v;
	}
	qsort(pts, *n, sizeof(*pts), point_cmp);
	*out = pts;
	return 0;
}

/*
 * One series: a region's line for one metric (or green's weight) and a dot
 * per reading. A weight holds until the next reading, so it is drawn as
 * steps.
 */
static int series(struct phg_buf *b, const struct span *sp, double vmax,
		  const struct phg_release_page *p, const char *metric,
		  const char *region, const char *color)
{
	struct point *pts;
	size_t n;
	int rc = PHG_ENOMEM;

	if (points_of(p, metric, region, &pts, &n) < 0)
		return PHG_ENOMEM;
	if (n == 0) {
		free(pts);
		return 0;
	}
	if (phg_buf_printf(b,
			   "<polyline fill=\"none\" stroke=\"%s\" "
			   "stroke-width=\"2\" points=\"",
			   color) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		double x = x_of(sp, pts[i].t), y = y_of(pts[i].v, vmax);

		if (!metric && i > 0 &&
		    phg_buf_printf(b, "%.1f,%.1f ", x,
				   y_of(pts[i - 1].v, vmax)) < 0)
			goto out;
		if (phg_buf_printf(b, "%.1f,%.1f ", x, y) < 0)
			goto out;
	}
	if (phg_buf_puts(b, "\"/>") < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (phg_buf_printf(b,
				   "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
				   "fill=\"%s\"/>",
				   x_of(sp, pts[i].t), y_of(pts[i].v, vmax),
				   color) < 0)
			goto out;
	rc = 0;
out:
	free(pts);
	return rc;
}

static double metric_max(const struct phg_release_page *p, const char *metric,
			 double threshold)
{
	double m = threshold > 0 ? threshold * 1.25 : 0;

	for (size_t i = 0; i < p->nreadings; i++)
		if (strcmp(p->readings[i].metric, metric) == 0 &&
		    isfinite(p->readings[i].value) && p->readings[i].value > m)
			m = p->readings[i].value;
	return m > 0 ? m * 1.05 : 1.0;
}

static int chart(struct phg_buf *b, const struct phg_release_page *p,
		 const struct span *sp, const struct regions *rg,
		 const char *title, const char *metric, double threshold,
		 double vmax)
{
	int plot_h = CHART_H - PAD_T - PAD_B;

	if (phg_buf_puts(b, "<h3>") < 0 || html_text(b, title) < 0 ||
	    phg_buf_printf(b,
			   "</h3><svg class=\"chart\" viewBox=\"0 0 %d %d\" "
			   "role=\"img\" aria-label=\"",
			   CHART_W, CHART_H) < 0 ||
	    html_text(b, title) < 0 ||
	    phg_buf_printf(b,
			   "\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
			   "class=\"axis\"/><text x=\"%d\" y=\"%d\" "
			   "class=\"ax\" text-anchor=\"end\">%.4g</text>"
			   "<text x=\"%d\" y=\"%d\" class=\"ax\" "
			   "text-anchor=\"end\">0</text>",
			   PAD_L, PAD_T + plot_h, CHART_W - PAD_R,
			   PAD_T + plot_h, PAD_L - 4, PAD_T + 10, vmax,
			   PAD_L - 4, PAD_T + plot_h) < 0)
		return PHG_ENOMEM;
	if (threshold > 0) {
		double y = y_of(threshold, vmax);

		if (phg_buf_printf(b,
				   "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
				   "y2=\"%.1f\" class=\"limit\"/><text "
				   "x=\"%d\" y=\"%.1f\" class=\"ax limit-t\" "
				   "text-anchor=\"end\">rollback &gt; "
				   "%.4g</text>",
				   PAD_L, y, CHART_W - PAD_R, y,
				   CHART_W - PAD_R, y - 3, threshold) < 0)
			return PHG_ENOMEM;
	}
	for (size_t i = 0; i < rg->n; i++)
		if (series(b, sp, vmax, p, metric, rg->name[i],
			   region_color(i)) < 0)
			return PHG_ENOMEM;
	if (time_axis(b, sp, CHART_H - 8) < 0 || phg_buf_puts(b, "</svg>") < 0)
		return PHG_ENOMEM;
	return 0;
}

static bool has_metric(const struct phg_release_page *p, const char *metric)
{
	for (size_t i = 0; i < p->nreadings; i++)
		if (strcmp(p->readings[i].metric, metric) == 0)
			return true;
	return false;
}

static int legend(struct phg_buf *b, const struct regions *rg)
{
	if (phg_buf_puts(b, "<p class=\"legend\">") < 0)
		return PHG_ENOMEM;
	for (size_t i = 0; i < rg->n; i++)
		if (phg_buf_printf(b, "<span><i style=\"background:%s\"></i>",
				   region_color(i)) < 0 ||
		    html_text(b, rg->name[i]) < 0 ||
		    phg_buf_puts(b, "</span>") < 0)
			return PHG_ENOMEM;
	return phg_buf_puts(b, "</p>");
}

static int charts(struct phg_buf *b, const struct phg_release_page *p,
		  const struct span *sp, const struct regions *rg)
{
	if (phg_buf_puts(b, "<h2>Traffic and triggers</h2>") < 0 ||
	    legend(b, rg) < 0 ||
	    chart(b, p, sp, rg, "green traffic weight (%)", NULL, 0, 100) < 0)
		return PHG_ENOMEM;
	for (size_t i = 0; i < p->nmetrics; i++) {
		const struct phg_release_metric *m = &p->metrics[i];

		if (!has_metric(p, m->name))
			continue;
		if (chart(b, p, sp, rg, m->title ? m->title : m->name, m->name,
			  m->threshold,
			  metric_max(p, m->name, m->threshold)) < 0)
			return PHG_ENOMEM;
	}
	return 0;
}

static int row(struct phg_buf *b, const char *const *cells, size_t n)
{
	if (phg_buf_puts(b, "<tr>") < 0)
		return PHG_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (phg_buf_puts(b, "<td>") < 0 ||
		    html_text(b, cells[i] ? cells[i] : "") < 0 ||
		    phg_buf_puts(b, "</td>") < 0)
			return PHG_ENOMEM;
	return phg_buf_puts(b, "</tr>\n");
}

static int steps_table(struct phg_buf *b, const struct phg_release_page *p)
{
	if (phg_buf_puts(b, "<h2>Steps</h2><table><tr><th>region</th>"
			    "<th>step</th><th>state</th><th>started</th>"
			    "<th>finished</th><th>detail</th></tr>\n") < 0)
		return PHG_ENOMEM;
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct phg_store_step *s = &p->steps[i];
		const char *cells[] = {s->region,
				       s->name,
				       phg_step_state_name(s->state),
				       s->started_at,
				       s->finished_at,
				       s->detail};

		if (row(b, cells, 6) < 0)
			return PHG_ENOMEM;
	}
	return phg_buf_puts(b, "</table>");
}

static int migrations_table(struct phg_buf *b, const struct phg_release_page *p)
{
	if (phg_buf_puts(b, "<h2>Migrations applied</h2>") < 0)
		return PHG_ENOMEM;
	if (p->napplied == 0)
		return phg_buf_puts(b, "<p>none</p>");
	if (phg_buf_puts(b, "<table><tr><th>region</th><th>migration</th>"
			    "<th>phase</th><th>finished</th></tr>\n") < 0)
		return PHG_ENOMEM;
	for (size_t i = 0; i < p->napplied; i++) {
		const struct phg_release_applied *a = &p->applied[i];
		const char *cells[] = {a->region, a->name, a->phase,
				       a->finished_at};

		if (row(b, cells, 4) < 0)
			return PHG_ENOMEM;
	}
	return phg_buf_puts(b, "</table>");
}

static int events_table(struct phg_buf *b, const struct phg_release_page *p)
{
	if (phg_buf_puts(b, "<h2>Events</h2><table><tr><th>at</th>"
			    "<th>region</th><th>event</th><th>detail</th>"
			    "</tr>\n") < 0)
		return PHG_ENOMEM;
	for (size_t i = 0; i < p->nevents; i++) {
		const struct phg_store_event *e = &p->events[i];
		const char *cells[] = {e->at, e->region, e->kind, e->detail};

		if (row(b, cells, 4) < 0)
			return PHG_ENOMEM;
	}
	return phg_buf_puts(b, "</table>");
}

static const char page_style[] =
	"<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;"
	"color:#111827;max-width:1000px}h1{margin:0 0 4px}"
	".badge{display:inline-block;padding:2px 10px;border-radius:12px;"
	"color:#fff;font-weight:600}.meta{color:#4b5563}"
	".chart{width:100%;height:auto;background:#f9fafb;"
	"border:1px solid #e5e7eb;border-radius:6px}"
	".ax{font-size:11px;fill:#6b7280}.lbl{font-size:12px;fill:#111827}"
	".axis{stroke:#9ca3af}.limit{stroke:#dc2626;stroke-dasharray:4 3}"
	".limit-t{fill:#dc2626}table{border-collapse:collapse;width:100%;"
	"margin-bottom:16px}td,th{border-bottom:1px solid #e5e7eb;"
	"padding:4px 6px;text-align:left;vertical-align:top}"
	".legend span{margin-right:14px}.legend i{display:inline-block;"
	"width:12px;height:12px;margin-right:4px;border-radius:2px}</style>";

static int header(struct phg_buf *b, const struct phg_release_page *p)
{
	const struct phg_store_release *r = p->release;

	if (phg_buf_puts(b, "<!DOCTYPE html><html lang=\"en\"><head>"
			    "<meta charset=\"utf-8\"><title>release ") < 0 ||
	    html_text(b, r->tag) < 0 || phg_buf_puts(b, "</title>") < 0 ||
	    phg_buf_puts(b, page_style) < 0 ||
	    phg_buf_puts(b, "</head><body><h1>Release ") < 0 ||
	    html_text(b, r->tag) < 0 ||
	    phg_buf_printf(b,
			   " <span class=\"badge\" id=\"outcome\" "
			   "style=\"background:%s\">",
			   outcome_color(r->state)) < 0 ||
	    html_text(b, phg_release_state_name(r->state)) < 0 ||
	    phg_buf_puts(b, "</span></h1><p class=\"meta\">environment ") < 0 ||
	    html_text(b, r->environment) < 0 ||
	    phg_buf_puts(b, " · to slot ") < 0 ||
	    html_text(b, r->target_slot) < 0 ||
	    phg_buf_puts(b, " · started ") < 0 ||
	    html_text(b, r->started_at) < 0 ||
	    phg_buf_puts(b, " · finished ") < 0 ||
	    html_text(b, r->finished_at ? r->finished_at : "not yet") < 0)
		return PHG_ENOMEM;
	if (r->approved_by &&
	    (phg_buf_puts(b, " · emergency approval by ") < 0 ||
	     html_text(b, r->approved_by) < 0))
		return PHG_ENOMEM;
	if (phg_buf_puts(b, "</p>") < 0)
		return PHG_ENOMEM;
	if (r->reason &&
	    (phg_buf_puts(b, "<p id=\"reason\"><b>Why:</b> ") < 0 ||
	     html_text(b, r->reason) < 0 || phg_buf_puts(b, "</p>") < 0))
		return PHG_ENOMEM;
	return 0;
}

int phg_report_release_html(const struct phg_release_page *p, struct phg_buf *b)
{
	struct span sp = span_of(p);
	struct regions rg = {.n = 0};

	for (size_t i = 0; i < p->nsteps; i++)
		regions_add(&rg, p->steps[i].region);
	for (size_t i = 0; i < p->nreadings; i++)
		regions_add(&rg, p->readings[i].region);
	if (header(b, p) < 0 || timeline(b, p, &sp, &rg) < 0 ||
	    charts(b, p, &sp, &rg) < 0 || migrations_table(b, p) < 0 ||
	    steps_table(b, p) < 0 || events_table(b, p) < 0 ||
	    phg_buf_puts(b, "</body></html>\n") < 0)
		return PHG_ENOMEM;
	return 0;
}
