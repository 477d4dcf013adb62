/*
 * constraint_missing_not_valid.c: ADD CHECK or FOREIGN KEY without NOT VALID
 * on a table that has traffic. PostgreSQL checks every existing row before
 * the statement ends, holding an ACCESS EXCLUSIVE lock for a CHECK, and a
 * SHARE ROW EXCLUSIVE lock on both tables for a foreign key. A constraint
 * written inline in ADD COLUMN cannot be NOT VALID at all.
 */
#include "analyzer.h"

/* A list of String nodes as "a, b" in SQL, or NULL when empty (arena). */
static const char *list_sql(struct phg_arena *arena, const cJSON *list)
{
	const char *out = NULL;
	const cJSON *it;

	cJSON_ArrayForEach(it, list)
	{
		const char *name = phg_rule_sql_ident(arena, phg_node_sval(it));

		out = !out   ? name
		      : name ? phg_arena_printf(arena, "%s, %s", out, name)
			     : NULL;
		if (!out)
			return NULL;
	}
	return out;
}

/* What to write after ADD CONSTRAINT <name> for this constraint. */
static const char *constraint_sql(struct phg_arena *arena, const cJSON *con,
				  const char *column)
{
	const char *cols, *pkcols, *pk;
	bool more;

	if (!phg_streq(phg_field_str(con, "contype"), "CONSTR_FOREIGN"))
		return "CHECK (...)";
	cols = column ? phg_rule_sql_ident(arena, column)
		      : list_sql(arena, phg_field(con, "fk_attrs"));
	pkcols = list_sql(arena, phg_field(con, "pk_attrs"));
	pk = phg_rule_sql_relation(arena, phg_field(con, "pktable"));
	more = !phg_streq(phg_field_str(con, "fk_upd_action"), "a") ||
	       !phg_streq(phg_field_str(con, "fk_del_action"), "a") ||
	       !phg_streq(phg_field_str(con, "fk_matchtype"), "s");
	if (!cols || !pk)
		return NULL;
	return phg_arena_printf(arena, "FOREIGN KEY (%s) REFERENCES %s%s%s%s%s",
				cols, pk, pkcols ? " (" : "",
				pkcols ? pkcols : "", pkcols ? ")" : "",
				more ? " ..." : "");
}

/* The constraint's name, or the one PostgreSQL would give it. */
static const char *constraint_name(struct phg_arena *arena, const cJSON *rel,
				   const cJSON *con, const char *column)
{
	const char *name = phg_field_str(con, "conname");
	const char *table = phg_field_str(rel, "relname");
	const cJSON *first = cJSON_GetArrayItem(phg_field(con, "fk_attrs"), 0);

	if (name)
		return name;
	if (!column && first)
		column = phg_node_sval(first);
	if (phg_streq(phg_field_str(con, "contype"), "CONSTR_FOREIGN"))
		return phg_arena_printf(arena, "%s_%s_fkey", table,
					column ? column : "");
	if (column)
		return phg_arena_printf(arena, "%s_%s_check", table, column);
	return phg_arena_printf(arena, "%s_check", table);
}

/* Help: the constraint NOT VALID, then VALIDATE in a later migration. */
static const char *help_for(struct phg_arena *arena, const cJSON *rel,
			    const cJSON *con, const char *column)
{
	bool fk = phg_streq(phg_field_str(con, "contype"), "CONSTR_FOREIGN");
	const char *table = phg_rule_sql_relation(arena, rel);
	const char *def = constraint_sql(arena, con, column);
	const char *name = phg_rule_sql_ident(
		arena, constraint_name(arena, rel, con, column));
	const char *pk = phg_field_str(phg_field(con, "pktable"), "relname");
	const char *first = "", *validate_lock;

	if (!table || !def || !name)
		return NULL;
	if (column)
		first = phg_arena_printf(
			arena,
			"Add the column alone first: ALTER TABLE %s ADD COLUMN "
			"%s <type>; then the constraint, in two steps. ",
			table, phg_rule_sql_ident(arena, column));
	else if (!phg_field_str(con, "conname"))
		first = "Name the constraint, so that the second step can "
			"validate it. ";
	validate_lock =
		fk ? phg_arena_printf(arena,
				      "SHARE UPDATE EXCLUSIVE lock (ROW SHARE "
				      "on '%s')",
				      pk ? pk : "the referenced table")
		   : "SHARE UPDATE EXCLUSIVE lock";
	if (!first || !validate_lock)
		return NULL;
	return phg_arena_printf(
		arena,
		"%s(1) ALTER TABLE %s ADD CONSTRAINT %s %s NOT VALID; — it "
		"locks only briefly, and rows written from then on are "
		"checked. (2) In a later migration: ALTER TABLE %s VALIDATE "
		"CONSTRAINT %s; — it checks the existing rows under a %s, so "
		"reads and writes go on. Fix the rows that break the "
		"constraint before validating.",
		first, table, name, def, table, name, validate_lock);
}

static int report_constraint(const struct phg_analyzer *self,
			     const struct phg_rule_ctx *ctx,
			     const struct phg_stmt *stmt, const char *table,
			     const cJSON *rel, const cJSON *con)
{
	const char *name = phg_field_str(con, "conname");
	const char *help = help_for(ctx->arena, rel, con, NULL);
	const char *pk;

	if (!help)
		return PHG_ENOMEM;
	if (phg_streq(phg_field_str(con, "contype"), "CONSTR_CHECK"))
		return phg_rule_report(
			self, ctx, stmt, help,
			"adding %s%s%s to '%s' without NOT VALID checks every "
			"row under an ACCESS EXCLUSIVE lock, blocking reads "
			"and writes of the table for the whole scan",
			name ? "CHECK constraint '" : "a CHECK constraint",
			name ? name : "", name ? "'" : "", table);
	pk = phg_rangevar_qname(ctx->arena, phg_field(con, "pktable"));
	return phg_rule_report(
		self, ctx, stmt, help,
		"adding %s%s%s to '%s' without NOT VALID checks every row "
		"while holding a SHARE ROW EXCLUSIVE lock on '%s' and '%s', "
		"blocking writes to both for the whole scan",
		name ? "foreign key '" : "a foreign key", name ? name : "",
		name ? "'" : "", table, table, pk ? pk : "?");
}

/* ADD COLUMN ... REFERENCES / CHECK: a column constraint is validated. */
static int report_inline(const struct phg_analyzer *self,
			 const struct phg_rule_ctx *ctx,
			 const struct phg_stmt *stmt, const char *table,
			 const cJSON *rel, const cJSON *coldef)
{
	const char *col = phg_field_str(coldef, "colname");
	const cJSON *it;

	cJSON_ArrayForEach(it, phg_field(coldef, "constraints"))
	{
		const cJSON *con = phg_node_get(it, "Constraint");
		const char *type = phg_field_str(con, "contype");
		bool fk = phg_streq(type, "CONSTR_FOREIGN");
		const char *help;

		if ((!fk && !phg_streq(type, "CONSTR_CHECK")) ||
		    phg_field_bool(con, "skip_validation"))
			continue;
		help = help_for(ctx->arena, rel, con, col);
		if (!help)
			return PHG_ENOMEM;
		return phg_rule_report(
			self, ctx, stmt, help,
			"adding column '%s.%s' with %s checks every row while "
			"ADD COLUMN holds an ACCESS EXCLUSIVE lock on the "
			"table, and a column constraint cannot be NOT VALID",
			table, col ? col : "?",
			fk ? "a REFERENCES constraint" : "a CHECK constraint");
	}
	return 0;
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *rel = phg_field(phg_node_inner(stmt->tree), "relation");
	const char *table = NULL;
	int rc = 0;

	for (size_t i = 0; i < stmt->nactions && rc == 0; i++) {
		const struct phg_action *a = &stmt->actions[i];
		const cJSON *def = phg_field(a->node, "def");

		if (a->kind != PHG_KIND_ADD_CHECK &&
		    a->kind != PHG_KIND_ADD_FOREIGN_KEY &&
		    a->kind != PHG_KIND_ADD_COLUMN)
			continue;
		/* The table that gets the constraint decides. */
		if (!table) {
			table = phg_rule_stmt_table(ctx, stmt);
			if (!table || !phg_rule_table_existing(ctx, table))
				return 0;
		}
		if (a->kind == PHG_KIND_ADD_COLUMN) {
			rc = report_inline(self, ctx, stmt, table, rel,
					   phg_node_get(def, "ColumnDef"));
			continue;
		}
		if (phg_field_bool(phg_node_get(def, "Constraint"),
				   "skip_validation"))
			continue;
		rc = report_constraint(self, ctx, stmt, table, rel,
				       phg_node_get(def, "Constraint"));
	}
	return rc;
}

const struct phg_analyzer phg_rule_constraint_missing_not_valid = {
	.id = "constraint-missing-not-valid",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "ADD CHECK or FOREIGN KEY without NOT VALID on a table "
		   "that has traffic",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_CHECK, PHG_KIND_ADD_FOREIGN_KEY,
		       PHG_KIND_ADD_COLUMN),
	.scales_with_table = true,
};
