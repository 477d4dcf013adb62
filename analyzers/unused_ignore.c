/*
 * unused_ignore.c: a statement's ignore comment that names an unknown rule
 * or suppresses nothing — a typo, or a suppression that outlived its
 * finding. It can only be judged once every rule has reported, so the lint
 * run calls phg_rule_unused_ignore at its end instead of a check function.
 */
#include <string.h>

#include "analyzer.h"

static const char help[] =
	"Remove the rule id from the comment (or the comment), or fix its "
	"spelling: 'phasegate rules' lists every id.";

const struct phg_analyzer phg_rule_unused_ignore = {
	.id = "unused-ignore",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "an ignore comment naming an unknown rule or matching "
		   "nothing",
};

static bool suppressed_here(const struct phg_findings *fs,
			    const struct phg_stmt *s, const char *id)
{
	for (size_t i = 0; i < fs->n; i++) {
		const struct phg_finding *f = &fs->items[i];

		if (f->suppressed && f->line == s->line && f->col == s->col &&
		    phg_streq(f->file, s->file) && phg_streq(f->rule, id))
			return true;
	}
	return false;
}

int phg_rule_check_unused_ignores(const struct phg_rule_ctx *ctx,
				  const struct phg_vec *stmts)
{
	const struct phg_analyzer *self = &phg_rule_unused_ignore;

	if (ctx->severity == PHG_SEV_OFF)
		return 0;
	for (size_t i = 0; i < stmts->n; i++) {
		const struct phg_stmt *s = stmts->items[i];

		for (size_t k = 0; k < s->nlocal_ignores; k++) {
			const char *id = s->ignores[k];
			int rc = 0;

			if (!phg_analyzer_find(id))
				rc = phg_rule_report(
					self, ctx, s, help,
					"the ignore comment names "
					"'%s', which is not a rule",
					id);
			else if (!phg_streq(id, self->id) &&
				 !suppressed_here(ctx->findings, s, id))
				rc = phg_rule_report(self, ctx, s, help,
						     "the ignore comment names "
						     "'%s', but it reports "
						     "nothing here",
						     id);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}
