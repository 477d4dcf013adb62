/*
 * ban_create_domain_with_constraint.c: CREATE DOMAIN with a CHECK or NOT
 * NULL constraint. Every column of the domain inherits it, and changing it
 * later (ALTER DOMAIN ... ADD CONSTRAINT or VALIDATE CONSTRAINT) checks
 * every such column under a SHARE lock on each table, with no online form:
 * a column's own CHECK can be added NOT VALID and validated while writes go
 * on, one table at a time.
 */
#include "analyzer.h"

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *st, *it, *names, *last = NULL;
	bool has_check = false, not_null = false;
	const char *domain, *d, *help;

	if (stmt->kind != PHG_KIND_CREATE_DOMAIN)
		return 0;
	st = stmt->actions[0].node;
	cJSON_ArrayForEach(it, phg_field(st, "constraints"))
	{
		const char *type = phg_field_str(phg_node_get(it, "Constraint"),
						 "contype");

		has_check |= phg_streq(type, "CONSTR_CHECK");
		not_null |= phg_streq(type, "CONSTR_NOTNULL");
	}
	if (!has_check && !not_null)
		return 0;
	names = phg_field(st, "domainname");
	cJSON_ArrayForEach(it, names) last = it;
	domain = phg_list_qname(ctx->arena, names);
	d = phg_rule_sql_ident(ctx->arena, phg_node_sval(last));
	if (!domain || !d)
		return 0;
	help = phg_arena_printf(
		ctx->arena,
		"Keep the domain a plain alias of its type (CREATE DOMAIN %s "
		"AS "
		"<type>;, or use the type itself) and put the rule on each "
		"column that uses it: %s — on a new table, in CREATE TABLE; on "
		"an existing one, ALTER TABLE <table> ADD CONSTRAINT <name> "
		"CHECK (...) NOT VALID; then, in a later migration, ALTER "
		"TABLE "
		"<table> VALIDATE CONSTRAINT <name>; which lets reads and "
		"writes go on.",
		d,
		has_check && not_null ? "<column> <type> NOT NULL CHECK (...)"
		: not_null	      ? "<column> <type> NOT NULL"
				      : "<column> <type> CHECK (...)");
	if (!help)
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"domain '%s' is created with %s, which ties the rule to every "
		"column of the domain: changing it later (ALTER DOMAIN ... ADD "
		"CONSTRAINT, VALIDATE CONSTRAINT, SET NOT NULL) checks all "
		"those columns under a SHARE lock on each table, blocking "
		"writes, with no online form",
		domain,
		has_check && not_null ? "CHECK and NOT NULL constraints"
		: not_null	      ? "a NOT NULL constraint"
				      : "a CHECK constraint");
}

const struct phg_analyzer phg_rule_ban_create_domain_with_constraint = {
	.id = "ban-create-domain-with-constraint",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "CREATE DOMAIN with a CHECK or NOT NULL constraint",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_CREATE_DOMAIN),
};
