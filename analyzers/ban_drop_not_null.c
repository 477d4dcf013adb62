/*
 * ban_drop_not_null.c: ALTER COLUMN ... DROP NOT NULL on a column that
 * existed before the release. The previous release was written for a
 * column that always holds a value; once the new release writes NULLs
 * there, the old code that reads them may fail. A reminder (warning): the
 * change is right once every running release copes with NULL.
 */
#include "analyzer.h"

#include <string.h>

/* The statement's RELAX target for this column (its origin), or NULL. */
static const struct phg_target *column_target(const struct phg_stmt *stmt,
					      const char *object)
{
	for (size_t i = 0; object && i < stmt->ntargets; i++)
		if (stmt->targets[i].access == PHG_ACCESS_RELAX &&
		    (stmt->targets[i].flags & PHG_TF_COLUMN) &&
		    phg_streq(stmt->targets[i].object, object))
			return &stmt->targets[i];
	return NULL;
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
		const struct phg_column *known;
		const char *col, *t, *c, *help;

		if (stmt->actions[i].kind != PHG_KIND_DROP_NOT_NULL)
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
		/* Already nullable (as far as the migrations tell, which
		   they do for a table they created): nothing changes. */
		model_table = phg_model_table(ctx->model, table);
		known = model_table && model_table->known
				? phg_model_column(model_table, col)
				: NULL;
		if (known && !known->not_null)
			continue;
		t = phg_rule_sql_relation(ctx->arena, rel);
		c = phg_rule_sql_ident(ctx->arena, col);
		help = t && c ? phg_arena_printf(
					ctx->arena,
					"Let the readers cope before the "
					"writers change: (1) in one release, "
					"ship code that handles NULL in %s.%s "
					"wherever it reads it; (2) in a later "
					"release, once that one is deployed "
					"everywhere, ALTER TABLE %s ALTER "
					"COLUMN %s DROP NOT NULL; and the code "
					"that writes NULL. If the previous "
					"release already copes, or nothing "
					"writes NULL until it is gone, "
					"suppress this warning with that "
					"reason: -- phasegate:ignore "
					"ban-drop-not-null <reason>.",
					t, c, t, c)
			      : NULL;
		if (!help)
			return PHG_ENOMEM;
		rc = phg_rule_report(
			self, ctx, stmt, help,
			"dropping NOT NULL from '%s.%s' lets the new release "
			"write NULLs there, which the previous release, "
			"written "
			"for a column that always has a value, may fail to "
			"read",
			table, col);
	}
	return rc;
}

const struct phg_analyzer phg_rule_ban_drop_not_null = {
	.id = "ban-drop-not-null",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "DROP NOT NULL on a column the previous release reads",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_DROP_NOT_NULL),
};
