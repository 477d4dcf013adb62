/*
 * report_gitlab.c: the lint result as a GitLab Code Quality report (a JSON
 * array of Code Climate issues), which merge requests show as a widget and
 * in the diff. Each issue has a fingerprint GitLab uses to tell new findings
 * from fixed ones across pipelines: the SHA-256 of rule, file, line and
 * message, so it is stable from run to run. Two findings that would share a
 * fingerprint get an occurrence number in the hash, since GitLab expects
 * them unique. Suppressed findings are left out: they do not fail the gate.
 */
#include "internal.h"

#include <stdint.h>
#include <string.h>

/*
 * The fingerprint of f into out: SHA-256 over the fields, each followed by
 * a NUL so that no two field lists hash the same text, then the occurrence
 * number when it is not the first.
 */
static int fingerprint(const struct phg_finding *f, uintptr_t occurrence,
		       char out[65])
{
	struct phg_buf in = {0};
	int rc = phg_buf_puts(&in, f->rule);

	rc = rc ? rc : phg_buf_add(&in, "", 1);
	rc = rc ? rc : phg_buf_puts(&in, phg_report_path(f));
	rc = rc ? rc : phg_buf_add(&in, "", 1);
	rc = rc ? rc : phg_buf_int(&in, f->line);
	rc = rc ? rc : phg_buf_add(&in, "", 1);
	rc = rc ? rc : phg_buf_puts(&in, f->message ? f->message : "");
	if (rc == 0 && occurrence > 0) {
		rc = phg_buf_add(&in, "", 1);
		rc = rc ? rc : phg_buf_int(&in, (long long)occurrence);
	}
	if (rc == 0)
		phg_sha256_hex(in.data, in.len, out);
	phg_buf_release(&in);
	return rc;
}

static int issue(struct phg_buf *b, const struct phg_finding *f, const char *fp)
{
	struct phg_buf text = {0};
	int rc = phg_buf_puts(&text, f->message ? f->message : "");

	/* lint --stats: the note joins the description, never the
	   fingerprint, which must not change as the table grows. */
	if (rc == 0 && f->stats) {
		rc = phg_buf_puts(&text, " (");
		rc = rc ? rc : phg_report_stats_note(&text, f);
		rc = rc ? rc : phg_buf_puts(&text, ")");
	}
	rc = rc ? rc : phg_buf_puts(b, "{\"description\":");
	rc = rc ? rc : phg_buf_json_str(b, text.data ? text.data : "");
	phg_buf_release(&text);
	rc = rc ? rc : phg_buf_puts(b, ",\"check_name\":");
	rc = rc ? rc : phg_buf_json_str(b, f->rule);
	rc = rc ? rc
		: phg_buf_printf(
			  b, ",\"fingerprint\":\"%s\",\"severity\":\"%s\"", fp,
			  f->severity == PHG_SEV_ERROR ? "major" : "minor");
	if (rc == 0 && f->help && *f->help) {
		/* Code Climate's issue body: GitLab shows it where it can. */
		rc = phg_buf_puts(b, ",\"content\":{\"body\":");
		rc = rc ? rc : phg_buf_json_str(b, f->help);
		rc = rc ? rc : phg_buf_puts(b, "}");
	}
	rc = rc ? rc : phg_buf_puts(b, ",\"location\":{\"path\":");
	rc = rc ? rc : phg_buf_json_str(b, phg_report_path(f));
	rc = rc ? rc
		: phg_buf_printf(b, ",\"lines\":{\"begin\":%d}}}",
				 f->line > 0 ? f->line : 1);
	return rc;
}

int phg_report_gitlab(const struct phg_lint_result *r, struct phg_buf *b)
{
	struct phg_arena arena;
	struct phg_map seen;
	bool first = true;
	int rc;

	phg_arena_init(&arena);
	phg_map_init(&seen, &arena);
	rc = phg_buf_puts(b, "[");
	for (size_t i = 0; rc == 0 && i < r->findings.n; i++) {
		const struct phg_finding *f = &r->findings.items[i];
		uintptr_t n;
		char fp[65], base[65];

		if (f->suppressed)
			continue;
		rc = fingerprint(f, 0, base);
		if (rc)
			break;
		n = (uintptr_t)phg_map_get(&seen, base);
		rc = phg_map_put(&seen, base, (void *)(n + 1));
		rc = rc ? rc : n ? fingerprint(f, n, fp) : 0;
		if (rc == 0 && !n)
			memcpy(fp, base, sizeof(fp));
		rc = rc ? rc : phg_buf_puts(b, first ? "" : ",");
		rc = rc ? rc : issue(b, f, fp);
		first = false;
	}
	rc = rc ? rc : phg_buf_puts(b, "]\n");
	phg_map_release(&seen);
	phg_arena_release(&arena);
	return rc;
}
