/*
 * ban_drop_table.c: DROP TABLE of a table that existed before the release.
 * During the deploy the previous release still serves traffic; if it still
 * reads or writes the table, its queries fail from the moment the drop
 * commits. A reminder (warning): the drop is right once no running release
 * uses the table.
 */
#include "analyzer.h"

#include <string.h>

/* schema.name as SQL: public left out, each part quoted if needed. */
static const char *qname_sql(struct phg_arena *arena, const char *qname)
{
	const char *dot = strchr(qname, '.');
	const char *schema;

	if (!dot)
		return phg_rule_sql_ident(arena, qname);
	if (phg_has_prefix(qname, "public."))
		return phg_rule_sql_ident(arena, dot + 1);
	schema = phg_arena_strndup(arena, qname, (size_t)(dot - qname));
	return schema ? phg_arena_printf(arena, "%s.%s",
					 phg_rule_sql_ident(arena, schema),
					 phg_rule_sql_ident(arena, dot + 1))
		      : NULL;
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	int rc = 0;

	if (stmt->kind != PHG_KIND_DROP_TABLE)
		return 0;
	for (size_t i = 0; i < stmt->ntargets && rc == 0; i++) {
		const struct phg_target *t = &stmt->targets[i];
		const char *sql, *help;

		if (t->access != PHG_ACCESS_REMOVE ||
		    !(t->flags & PHG_TF_TABLE) || t->origin >= ctx->release)
			continue;
		sql = qname_sql(ctx->arena, t->object);
		help = sql ? phg_arena_printf(
				     ctx->arena,
				     "Drop a table only once no running "
				     "release uses it: (1) in one release, "
				     "ship code that no longer reads or writes "
				     "the table %s, and drop the foreign keys "
				     "of other "
				     "tables that point to it; (2) in a later "
				     "release, once that one is deployed "
				     "everywhere, DROP TABLE %s;. If the "
				     "previous release already does not use "
				     "it, suppress this warning with that "
				     "reason: -- phasegate:ignore "
				     "ban-drop-table <reason>.",
				     sql, sql)
			   : NULL;
		if (!help)
			return PHG_ENOMEM;
		rc = phg_rule_report(
			self, ctx, stmt, help,
			"dropping table '%s', which existed before this "
			"release: the previous release must no longer read or "
			"write it, or its queries fail as soon as the drop "
			"commits",
			t->object);
	}
	return rc;
}

const struct phg_analyzer phg_rule_ban_drop_table = {
	.id = "ban-drop-table",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_WARNING,
	.summary = "DROP TABLE of a table that existed before the release",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_DROP_TABLE),
};
