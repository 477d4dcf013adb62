/*
 * ban_drop_database.c: DROP DATABASE in a migration. It destroys every
 * table and all the data of both releases; no deploy should be able to.
 */
#include "analyzer.h"

static const char help[] =
	"Remove the statement from the migration. Dropping a database is a "
	"decision for a person with a backup at hand, not a step of a deploy "
	"that runs in every region. If the migration really manages a "
	"scratch database (a test setup), add '-- phasegate:ignore "
	"ban-drop-database <reason>' on the line before it.";

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const char *db;

	if (stmt->kind != PHG_KIND_DROP_DATABASE)
		return 0;
	db = phg_field_str(stmt->actions[0].node, "dbname");
	return phg_rule_report(self, ctx, stmt, help,
			       "dropping database '%s' destroys it with every "
			       "table and all the data in it",
			       db ? db : "?");
}

const struct phg_analyzer phg_rule_ban_drop_database = {
	.id = "ban-drop-database",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "DROP DATABASE in a migration",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_DROP_DATABASE),
};
