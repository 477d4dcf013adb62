/*
 * report_sarif.c: the lint result as SARIF 2.1.0 (OASIS), the format code
 * scanning tools take (GitHub's upload-sarif among them). One run; the
 * driver lists the rules the results refer to (not the whole registry, so
 * a report does not change each time a rule is added), each with its
 * summary, its docs page and its default level. Columns count code points,
 * which the run declares (SARIF's default is UTF-16 code units). A
 * suppressed finding stays a result, with an in-source suppression.
 */
#include "internal.h"

#include <string.h>

/* Bytes a relative-reference URI keeps as they are (RFC 3986 unreserved,
   the path separator, and sub-delims); ':' is escaped, because in a first
   segment it would read as a scheme. */
static bool uri_keeps(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("-._~/!$&'()*+,;=@", c);
}

/*
 * Appends path as a SARIF artifact URI: relative paths stay relative (code
 * scanning resolves them from the repository root), absolute ones become
 * file:// URIs; bytes outside the URI alphabet are percent-encoded.
 */
static int uri(struct phg_buf *b, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = path[0] == '/' ? phg_buf_puts(b, "file://") : 0;

	for (const unsigned char *p = (const unsigned char *)path;
	     rc == 0 && *p; p++) {
		char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};

		rc = uri_keeps(*p) ? phg_buf_add(b, (const char *)p, 1)
				   : phg_buf_add(b, esc, 3);
	}
	return rc;
}

static const char *level(enum phg_severity sev)
{
	return sev == PHG_SEV_ERROR ? "error" : "warning";
}

/*
 * The rules the findings refer to, in registry order (sorted by id), then
 * any id the registry does not know, in order of first use: into ids.
 */
static int used_rules(const struct phg_lint_result *r, struct phg_vec *ids)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && phg_analyzers[i]; i++) {
		for (size_t k = 0; k < r->findings.n; k++) {
			if (strcmp(r->findings.items[k].rule,
				   phg_analyzers[i]->id) == 0) {
				rc = phg_vec_push(ids,
						  (void *)phg_analyzers[i]->id);
				break;
			}
		}
	}
	for (size_t k = 0; rc == 0 && k < r->findings.n; k++) {
		const char *id = r->findings.items[k].rule;
		bool seen = false;

		for (size_t j = 0; !seen && j < ids->n; j++)
			seen = strcmp(ids->items[j], id) == 0;
		if (!seen)
			rc = phg_vec_push(ids, (void *)id);
	}
	return rc;
}

static int rule_index(const struct phg_vec *ids, const char *id)
{
	for (size_t i = 0; i < ids->n; i++)
		if (strcmp(ids->items[i], id) == 0)
			return (int)i;
	return -1;
}

static int sarif_rule(struct phg_buf *b, const char *id)
{
	const struct phg_analyzer *a = phg_analyzer_find(id);
	int rc = phg_buf_puts(b, "{\"id\":");

	rc = rc ? rc : phg_buf_json_str(b, id);
	if (rc == 0 && a && a->summary) {
		rc = phg_buf_puts(b, ",\"shortDescription\":{\"text\":");
		rc = rc ? rc : phg_buf_json_str(b, a->summary);
		rc = rc ? rc : phg_buf_puts(b, "}");
	}
	rc = rc ? rc : phg_buf_puts(b, ",\"helpUri\":\"");
	rc = rc ? rc : phg_report_rule_url(b, id);
	rc = rc ? rc : phg_buf_puts(b, "\"");
	if (rc == 0 && a)
		rc = phg_buf_printf(
			b, ",\"defaultConfiguration\":{\"level\":\"%s\"}",
			level(a->severity));
	return rc ? rc : phg_buf_puts(b, "}");
}

/* lint --stats: the finding's numbers as the result's property bag. */
static int sarif_properties(struct phg_buf *b, const struct phg_finding *f)
{
	struct phg_buf members = {0};
	int rc = phg_report_json_stats(&members, f);

	/* The members come with a leading comma: drop it. */
	rc = rc ? rc : phg_buf_puts(b, ",\"properties\":{");
	rc = rc ? rc : phg_buf_add(b, members.data + 1, members.len - 1);
	phg_buf_release(&members);
	return rc ? rc : phg_buf_puts(b, "}");
}

static int sarif_result(struct phg_buf *b, const struct phg_lint_result *r,
			const struct phg_finding *f, int index)
{
	struct phg_buf text = {0};
	int rc = phg_buf_puts(b, "{\"ruleId\":");

	rc = rc ? rc : phg_buf_json_str(b, f->rule);
	rc = rc ? rc
		: phg_buf_printf(b, ",\"ruleIndex\":%d,\"level\":\"%s\"", index,
				 level(f->severity));
	rc = rc ? rc : phg_report_message_help(&text, f);
	rc = rc ? rc : phg_buf_puts(b, ",\"message\":{\"text\":");
	rc = rc ? rc : phg_buf_json_str(b, text.data ? text.data : "");
	rc = rc ? rc
		: phg_buf_puts(b, "},\"locations\":[{\"physicalLocation\":{"
				  "\"artifactLocation\":{\"uri\":\"");
	rc = rc ? rc : uri(b, phg_report_path(f));
	rc = rc ? rc : phg_buf_puts(b, "\"}");
	if (rc == 0 && f->line > 0) {
		rc = phg_buf_printf(b, ",\"region\":{\"startLine\":%d",
				    f->line);
		if (rc == 0 && f->col > 0)
			rc = phg_buf_printf(b, ",\"startColumn\":%d", f->col);
		rc = rc ? rc : phg_buf_puts(b, "}");
	}
	rc = rc ? rc : phg_buf_puts(b, "}}]");
	if (rc == 0 && f->suppressed)
		rc = phg_buf_puts(
			b, ",\"suppressions\":[{\"kind\":\"inSource\"}]");
	if (rc == 0 && r->stats)
		rc = sarif_properties(b, f);
	phg_buf_release(&text);
	return rc ? rc : phg_buf_puts(b, "}");
}

int phg_report_sarif(const struct phg_lint_result *r, struct phg_buf *b)
{
	struct phg_vec ids = {0};
	int rc = used_rules(r, &ids);

	rc = rc ? rc
		: phg_buf_puts(
			  b,
			  "{\"$schema\":\"https://json.schemastore.org/"
			  "sarif-2.1.0.json\",\"version\":\"2.1.0\",\"runs\":[{"
			  "\"tool\":{\"driver\":{\"name\":\"phasegate\","
			  "\"version\":\"" PHG_VERSION "\","
			  "\"informationUri\":\"" PHG_INFORMATION_URI "\","
			  "\"rules\":[");
	for (size_t i = 0; rc == 0 && i < ids.n; i++) {
		rc = i ? phg_buf_puts(b, ",") : 0;
		rc = rc ? rc : sarif_rule(b, ids.items[i]);
	}
	rc = rc ? rc : phg_buf_puts(b, "]}},\"results\":[");
	for (size_t i = 0; rc == 0 && i < r->findings.n; i++) {
		const struct phg_finding *f = &r->findings.items[i];

		rc = i ? phg_buf_puts(b, ",") : 0;
		rc = rc ? rc : sarif_result(b, r, f, rule_index(&ids, f->rule));
	}
	rc = rc ? rc
		: phg_buf_puts(b,
			       "],\"columnKind\":\"unicodeCodePoints\"}]}\n");
	phg_vec_release(&ids);
	return rc;
}
