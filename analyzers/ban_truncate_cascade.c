/*
 * ban_truncate_cascade.c: TRUNCATE ... CASCADE. Besides the tables it
 * names, it empties every table that has a foreign key to them, and the
 * tables that reference those, whatever they are — data nobody asked to
 * delete, on every region.
 */
#include "analyzer.h"

/* The TRUNCATE's tables as SQL ("a, b"), or NULL (arena). */
static const char *tables_sql(struct phg_arena *arena, const cJSON *rels)
{
	const char *out = NULL;
	const cJSON *it;

	cJSON_ArrayForEach(it, rels)
	{
		const char *t = phg_rule_sql_relation(
			arena, phg_node_get(it, "RangeVar"));

		out = !out ? t
		      : t  ? phg_arena_printf(arena, "%s, %s", out, t)
			   : NULL;
		if (!out)
			return NULL;
	}
	return out;
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *st;
	const char *tables, *names = NULL, *help;

	if (stmt->kind != PHG_KIND_TRUNCATE)
		return 0;
	st = stmt->actions[0].node;
	if (!phg_streq(phg_field_str(st, "behavior"), "DROP_CASCADE"))
		return 0;
	tables = tables_sql(ctx->arena, phg_field(st, "relations"));
	for (size_t i = 0; i < stmt->ntargets; i++)
		names = !names ? phg_arena_printf(ctx->arena, "'%s'",
						  stmt->targets[i].object)
			       : phg_arena_printf(ctx->arena, "%s, '%s'", names,
						  stmt->targets[i].object);
	help = phg_arena_printf(
		ctx->arena,
		"Name every table to empty, without CASCADE: TRUNCATE %s; — "
		"if another table still references them, PostgreSQL refuses "
		"instead of emptying it too; add the tables you mean to the "
		"list. Under blue-green, prefer deleting in batches (DELETE "
		"... WHERE id BETWEEN ...): TRUNCATE takes an ACCESS "
		"EXCLUSIVE lock on every table it empties.",
		tables ? tables : "...");
	if (!help || (stmt->ntargets && !names))
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"TRUNCATE ... CASCADE of %s also empties every table with a "
		"foreign key to %s, and the tables that reference those, "
		"whatever they are",
		names ? names : "its tables",
		stmt->ntargets > 1 ? "them" : "it");
}

const struct phg_analyzer phg_rule_ban_truncate_cascade = {
	.id = "ban-truncate-cascade",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "TRUNCATE ... CASCADE (empties every referencing table)",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_TRUNCATE),
};
