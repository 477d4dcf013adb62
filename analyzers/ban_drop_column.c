/*
 * ban_drop_column.c: ALTER TABLE ... DROP COLUMN of a column that existed
 * before the release. During the deploy the previous release still serves
 * traffic; every query of it that names the column (or an ORM that lists
 * every column it knows) fails from the moment the drop commits. A
 * reminder (warning): the drop is right once no running release uses the
 * column.
 */
#include "analyzer.h"

#include <string.h>

/* The statement's REMOVE target for this column (its origin), or NULL. */
static const struct phg_target *column_target(const struct phg_stmt *stmt,
					      const char *object)
{
	for (size_t i = 0; object && i < stmt->ntargets; i++)
		if (stmt->targets[i].access == PHG_ACCESS_REMOVE &&
		    (stmt->targets[i].flags & PHG_TF_COLUMN) &&
		    phg_streq(stmt->targets[i].object, object))
			return &stmt->targets[i];
	return NULL;
}

/* The help, with the statement's names (arena), or NULL. */
static const char *help_for(struct phg_arena *arena, const cJSON *rel,
			    const char *col, const struct phg_column *known)
{
	const char *t = phg_rule_sql_relation(arena, rel),
		   *c = phg_rule_sql_ident(arena, col);
	const char *required;

	if (!t || !c)
		return NULL;
	if (known && known->not_null && !known->has_default)
		required = phg_arena_printf(
			arena,
			" %s.%s is NOT NULL without a default, so give it one "
			"in that release (ALTER TABLE %s ALTER COLUMN %s SET "
			"DEFAULT <value>;), or the new code's inserts fail — "
			"rather than DROP NOT NULL, which hands NULLs to the "
			"previous release;",
			t, c, t, c);
	else if (known)
		required = "";
	else
		required = phg_arena_printf(
			arena,
			" if %s.%s is NOT NULL without a default, give it one "
			"in that release (ALTER TABLE %s ALTER COLUMN %s SET "
			"DEFAULT <value>;) so that the new code's inserts "
			"work;",
			t, c, t, c);
	if (!required)
		return NULL;
	return phg_arena_printf(
		arena,
		"Drop a column only once no running release uses it: (1) in "
		"one release, ship code that no longer reads or writes %s.%s "
		"— "
		"with an ORM that lists every column, tell it to ignore the "
		"column (Rails ignored_columns, Django "
		"SeparateDatabaseAndState);%s (2) in a later release, once "
		"that one is deployed everywhere, ALTER TABLE %s DROP COLUMN "
		"%s;. If the previous release already does not use it, "
		"suppress this warning with that reason: -- phasegate:ignore "
		"ban-drop-column <reason>.",
		t, c, required, t, c);
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *rel = phg_field(phg_node_inner(stmt->tree), "relation");
	const char *table = NULL;
	int rc = 0;

	for (size_t i = 0; i < stmt->nactions && rc == 0; i++) {
		const struct phg_target *target;
		const struct phg_table *model_table;
		const char *col, *help;

		if (stmt->actions[i].kind != PHG_KIND_DROP_COLUMN)
			continue;
		col = phg_field_str(stmt->actions[i].node, "name");
		if (!table)
			table = phg_rule_stmt_table(ctx, stmt);
		if (!col || !table)
			continue;
		target = column_target(stmt,
				       phg_colname(ctx->arena, table, col));
		/* A column this release added is unknown to the old one. */
		if (!target || target->origin >= ctx->release)
			continue;
		/* The columns of a table no migration created are
		   unknown. */
		model_table = phg_model_table(ctx->model, table);
		help = help_for(ctx->arena, rel, col,
				model_table && model_table->known
					? phg_model_column(model_table, col)
					: NULL);
		if (!help)
			return PHG_ENOMEM;
		rc = phg_rule_report(
			self, ctx, stmt, help,
			"dropping column '%s.%s', which existed before this "
			"release: the previous release must no longer read or "
			"write it, or its queries that name it fail as soon as "
			"the drop commits",
			table, col);
	}
	return rc;
}

const struct phg_analyzer phg_rule_ban_drop_column = {
	.id = "ban-drop-column",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "DROP COLUMN of a column that existed before the release",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_DROP_COLUMN),
};
