/*
 * ban_drop_schema.c: DROP SCHEMA of a schema that existed before the
 * release. With CASCADE it drops every table, view, function and type in
 * it, with their data; without, it still takes away what the previous
 * release may use (its search_path, its functions), or fails on the
 * regions where the schema is not empty.
 */
#include "analyzer.h"

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	bool cascade;
	int rc = 0;

	if (stmt->kind != PHG_KIND_DROP_SCHEMA)
		return 0;
	cascade = phg_streq(phg_field_str(stmt->actions[0].node, "behavior"),
			    "DROP_CASCADE");
	for (size_t i = 0; i < stmt->ntargets && rc == 0; i++) {
		const struct phg_target *t = &stmt->targets[i];
		const char *s, *help;

		/* A schema created in this release is unknown to the old
		   one: dropping it again is housekeeping. */
		if (t->access != PHG_ACCESS_REMOVE || t->origin >= ctx->release)
			continue;
		s = phg_rule_sql_ident(ctx->arena, t->object);
		help = s ? phg_arena_printf(
				   ctx->arena,
				   "Empty the schema object by object, each "
				   "in a release after the one that stopped "
				   "using it (see ban-drop-table), then drop "
				   "it in a later release without CASCADE: "
				   "DROP SCHEMA %s; — it fails instead of "
				   "dropping something you missed. Keep it "
				   "out of the search_path of the new release "
				   "first. Dropping data is a decision for a "
				   "person with a backup at hand; if that is "
				   "done, suppress this finding with the "
				   "reason.",
				   s)
			 : NULL;
		if (!help)
			return PHG_ENOMEM;
		if (cascade)
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"dropping schema '%s' with CASCADE drops every "
				"table, view, function and type in it, with "
				"their data, while the previous release may "
				"still use them",
				t->object);
		else
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"dropping schema '%s' takes it away from the "
				"previous release, which may still use it, and "
				"fails on every region where it is not empty",
				t->object);
	}
	return rc;
}

const struct phg_analyzer phg_rule_ban_drop_schema = {
	.id = "ban-drop-schema",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "DROP SCHEMA of a schema that existed before the release",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_DROP_SCHEMA),
};
