/*
 * ignore_without_reason.c: a phasegate:ignore (or ignore-file) comment that
 * gives no reason. A suppression is a decision someone will have to revisit;
 * the reason is what lets them. squawk-ignore comments are exempt, so teams
 * can switch without rewriting them.
 */
#include "analyzer.h"

static const char help[] =
	"Say why the finding does not apply, after the rule ids: "
	"'-- phasegate:ignore renaming-column the old release never reads "
	"this column'.";

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	if (!stmt->ignore_without_reason)
		return 0;
	return phg_rule_report(self, ctx, stmt, help,
			       "the ignore comment before this statement gives "
			       "no reason");
}

const struct phg_analyzer phg_rule_ignore_without_reason = {
	.id = "ignore-without-reason",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a phasegate:ignore comment with no reason",
	.check_stmt = check,
};
