/*
 * renaming_enum_value.c: ALTER TYPE ... RENAME VALUE on an enum that existed
 * before the release. The previous release keeps writing the old label,
 * which PostgreSQL now rejects ("invalid input value for enum"), and keeps
 * comparing what it reads with it.
 */
#include "analyzer.h"

/* A name list ([schema,] name) as SQL, each part quoted if needed. */
static const char *name_sql(struct phg_arena *arena, const cJSON *list)
{
	const char *out = NULL;
	const cJSON *it;

	cJSON_ArrayForEach(it, list)
	{
		const char *part = phg_rule_sql_ident(arena, phg_node_sval(it));

		out = !out   ? part
		      : part ? phg_arena_printf(arena, "%s.%s", out, part)
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
	const char *type, *oldval, *newval, *t, *help;

	if (stmt->kind != PHG_KIND_RENAME_ENUM_VALUE || stmt->ntargets == 0)
		return 0;
	/* An enum created in this release is unknown to the old one. */
	if (stmt->targets[0].origin >= ctx->release)
		return 0;
	st = stmt->actions[0].node;
	type = stmt->targets[0].object;
	oldval = phg_field_str(st, "oldVal");
	newval = phg_field_str(st, "newVal");
	t = name_sql(ctx->arena, phg_field(st, "typeName"));
	if (!oldval || !newval || !t)
		return 0;
	help = phg_arena_printf(
		ctx->arena,
		"Add the new label and move the data over, across releases: "
		"(1) ALTER TYPE %s ADD VALUE '%s'; (2) ship code that reads "
		"both labels as the same and writes '%s'; (3) in a backfill "
		"migration, UPDATE each table that uses the type SET <column> "
		"= '%s' WHERE <column> = '%s', in batches by key range; (4) "
		"once no release writes '%s', leave it unused (PostgreSQL "
		"cannot drop an enum value; a CHECK (<column> <> '%s') keeps "
		"it out if you need to).",
		t, newval, newval, newval, oldval, oldval, oldval);
	if (!help)
		return PHG_ENOMEM;
	return phg_rule_report(
		self, ctx, stmt, help,
		"renaming value '%s' of enum '%s' to '%s' breaks the previous "
		"release: its writes of '%s' fail, and what it reads no longer "
		"matches the label it knows",
		oldval, type, newval, oldval);
}

const struct phg_analyzer phg_rule_renaming_enum_value = {
	.id = "renaming-enum-value",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "ALTER TYPE ... RENAME VALUE on an enum the previous "
		   "release uses",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_RENAME_ENUM_VALUE),
};
