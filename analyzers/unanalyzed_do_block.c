/*
 * unanalyzed_do_block.c: a DO block phasegate cannot read (dynamic SQL with
 * EXECUTE, a language other than PL/pgSQL, an embedded statement that does
 * not parse). It is judged as a contract, and this warning says so.
 */
#include "analyzer.h"

static const char help[] =
	"Write the statements as plain SQL where you can, so phasegate can "
	"check them; keep dynamic SQL (EXECUTE format(...)) for what truly "
	"needs it. If the block is reviewed and safe, suppress this warning "
	"with '-- phasegate:ignore unanalyzed-do-block <reason>' on the line "
	"before it.";

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	if (stmt->kind != PHG_KIND_DO || !stmt->analysis_warning)
		return 0;
	return phg_rule_report(
		self, ctx, stmt, help,
		"this DO block cannot be analysed (dynamic SQL, another "
		"language, or a statement that does not parse), so it is "
		"treated as a contract");
}

const struct phg_analyzer phg_rule_unanalyzed_do_block = {
	.id = "unanalyzed-do-block",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "a DO block phasegate cannot read, judged as a contract",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_DO),
};
