/*
 * ban_alter_domain_with_add_constraint.c: ALTER DOMAIN ... ADD CONSTRAINT
 * (without NOT VALID) or ALTER DOMAIN ... VALIDATE CONSTRAINT on a domain
 * that has traffic. PostgreSQL checks every column of every table that uses
 * the domain, holding a SHARE lock on each table — writes wait for the
 * whole scan. Unlike a table's VALIDATE CONSTRAINT, a domain's takes that
 * SHARE lock too, so a domain constraint has no online path.
 */
#include "analyzer.h"

static const char help[] =
	"Put the rule on the columns instead of the domain, table by table: "
	"(1) ALTER TABLE <table> ADD CONSTRAINT <table>_<column>_check CHECK "
	"(<the condition, on the column>) NOT VALID; — a brief lock, new "
	"rows are checked. (2) In a later migration, ALTER TABLE <table> "
	"VALIDATE CONSTRAINT <table>_<column>_check; — it scans under a "
	"SHARE UPDATE EXCLUSIVE lock, so reads and writes go on. A domain's "
	"own constraint has no such path: validating it takes a SHARE lock "
	"on every table that uses the domain.";

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *st, *con;
	const char *sub, *domain, *name;
	bool validate;

	if (stmt->kind != PHG_KIND_ALTER_DOMAIN_ADD_CONSTRAINT &&
	    stmt->kind != PHG_KIND_ALTER_DOMAIN_OTHER)
		return 0;
	st = stmt->actions[0].node;
	sub = phg_field_str(st, "subtype");
	validate = phg_streq(sub, "V");
	if (!validate && stmt->kind != PHG_KIND_ALTER_DOMAIN_ADD_CONSTRAINT)
		return 0;
	con = phg_node_get(phg_field(st, "def"), "Constraint");
	/* NOT VALID checks nothing now; its VALIDATE is reported. */
	if (!validate && phg_field_bool(con, "skip_validation"))
		return 0;
	/* A domain created in this release is used by no old table. */
	if (stmt->ntargets &&
	    (stmt->targets[0].origin > ctx->release ||
	     (stmt->targets[0].origin == ctx->release && !ctx->after_cutover)))
		return 0;
	domain = phg_list_qname(ctx->arena, phg_field(st, "typeName"));
	if (!domain)
		return 0;
	name = validate ? phg_field_str(st, "name")
			: phg_field_str(con, "conname");
	if (validate)
		return phg_rule_report(
			self, ctx, stmt, help,
			"validating constraint '%s' of domain '%s' checks "
			"every column of every table that uses the domain, "
			"holding a SHARE lock on each table that blocks writes "
			"for the whole scan",
			name ? name : "?", domain);
	return phg_rule_report(self, ctx, stmt, help,
			       "adding %s%s%s to domain '%s' checks every "
			       "column of every table that uses the domain, "
			       "holding a SHARE lock on each table that blocks "
			       "writes for the whole scan",
			       name ? "constraint '" : "a constraint",
			       name ? name : "", name ? "'" : "", domain);
}

const struct phg_analyzer phg_rule_ban_alter_domain_with_add_constraint = {
	.id = "ban-alter-domain-with-add-constraint",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "ALTER DOMAIN ... ADD CONSTRAINT (or its VALIDATE) on a "
		   "domain that has traffic",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ALTER_DOMAIN_ADD_CONSTRAINT,
		       PHG_KIND_ALTER_DOMAIN_OTHER),
};
