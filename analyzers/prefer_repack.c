/*
 * prefer_repack.c: VACUUM FULL and CLUSTER in a migration. Both write a new
 * copy of the table and its indexes under an ACCESS EXCLUSIVE lock, so no
 * query of the running release reads or writes the table until they are
 * done. pg_repack (or pg_squeeze) does the same work online.
 */
#include "analyzer.h"

#include <string.h>

/* Whether a VACUUM option list turns FULL on (FULL, FULL true, FULL 1). */
static bool full_on(const cJSON *options)
{
	static const char *const off[] = {"false", "off", "no", "0"};
	const cJSON *it;

	cJSON_ArrayForEach(it, options)
	{
		const cJSON *d = phg_node_get(it, "DefElem");
		const cJSON *arg = phg_field(d, "arg");
		const char *s;

		if (!phg_streq(phg_field_str(d, "defname"), "full"))
			continue;
		if (!arg)
			return true;
		if (phg_node_get(arg, "Integer"))
			return phg_field_int(phg_node_get(arg, "Integer"),
					     "ival", 0) != 0;
		s = phg_node_sval(arg);
		for (size_t i = 0; s && i < sizeof(off) / sizeof(off[0]); i++)
			if (phg_streq(s, off[i]))
				return false;
		return true;
	}
	return false;
}

/* The help for one table (SQL), or for the whole database (NULL). */
static const char *help_for(struct phg_arena *arena, const char *t,
			    bool cluster)
{
	if (!t)
		return phg_arena_printf(
			arena,
			"Remove the statement from the migration. To reclaim "
			"space or reorder rows without blocking, run pg_repack "
			"(or pg_squeeze) outside the deploy, table by table: "
			"it "
			"builds a new copy in the background and takes an "
			"ACCESS EXCLUSIVE lock only for a moment at the start "
			"and the end. %s",
			cluster ? "pg_repack --order-by=<columns> orders the "
				  "rows as CLUSTER would."
				: "A plain VACUUM (without FULL) blocks "
				  "neither reads nor writes, if what you need "
				  "is to make dead rows reusable.");
	return phg_arena_printf(
		arena,
		"Remove the statement from the migration, and run pg_repack "
		"(or pg_squeeze) outside the deploy instead: pg_repack "
		"--table=%s%s — it builds a new copy of the table in the "
		"background and takes an ACCESS EXCLUSIVE lock only for a "
		"moment at the start and the end. %s",
		t, cluster ? " --order-by=<the index's columns>" : "",
		cluster ? "CLUSTER's order is not kept as rows change anyway."
			: "A plain VACUUM (without FULL) blocks neither "
			  "reads nor writes, if what you need is to make dead "
			  "rows reusable.");
}

static int report(const struct phg_analyzer *self,
		  const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt,
		  const cJSON *rel, bool cluster)
{
	const char *table = phg_rangevar_qname(ctx->arena, rel);
	const char *what = cluster ? "CLUSTER" : "VACUUM FULL";
	const char *help;

	if (table && !phg_rule_table_existing(ctx, table))
		return 0;
	help = help_for(ctx->arena,
			table ? phg_rule_sql_relation(ctx->arena, rel) : NULL,
			cluster);
	if (!help)
		return PHG_ENOMEM;
	if (table)
		return phg_rule_report(
			self, ctx, stmt, help,
			"%s of '%s' rewrites the whole table and its indexes "
			"under an ACCESS EXCLUSIVE lock, blocking reads and "
			"writes until it is done",
			what, table);
	return phg_rule_report(
		self, ctx, stmt, help,
		"%s without a table rewrites every %stable of the database, "
		"each under an ACCESS EXCLUSIVE lock that blocks reads and "
		"writes of it until it is done",
		what, cluster ? "clustered " : "");
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *st, *rels, *it;
	int rc = 0;

	if (stmt->kind == PHG_KIND_CLUSTER)
		return report(self, ctx, stmt,
			      phg_field(stmt->actions[0].node, "relation"),
			      true);
	if (stmt->kind != PHG_KIND_VACUUM)
		return 0;
	st = stmt->actions[0].node;
	if (!full_on(phg_field(st, "options")))
		return 0;
	rels = phg_field(st, "rels");
	if (!rels || cJSON_GetArraySize(rels) == 0)
		return report(self, ctx, stmt, NULL, false);
	cJSON_ArrayForEach(it, rels)
	{
		const cJSON *vr = phg_node_get(it, "VacuumRelation");

		rc = report(self, ctx, stmt, phg_field(vr, "relation"), false);
		if (rc < 0)
			return rc;
	}
	return rc;
}

const struct phg_analyzer phg_rule_prefer_repack = {
	.id = "prefer-repack",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "VACUUM FULL or CLUSTER in a migration (use pg_repack)",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_CLUSTER, PHG_KIND_VACUUM),
	.scales_with_table = true,
};
