/*
 * ban_duplicate_column_assignments.c: the same column defined twice in
 * CREATE TABLE, or assigned twice in one UPDATE's SET list. PostgreSQL
 * rejects both ("specified more than once", "multiple assignments to same
 * column"), so the migration fails in the middle of the deploy instead of
 * in review. Applies to new tables too: it is about the statement, not a
 * lock.
 */
#include "analyzer.h"

#include <string.h>

/* How many of the first n entries of names are name. */
static size_t count(const char *const *names, size_t n, const char *name)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += phg_streq(names[i], name);
	return k;
}

/*
 * The names of list's items in order (ColumnDef colname, or a plain
 * ResTarget name: one with indirection assigns a part of the column, like
 * SET a[1] = x, a[2] = y, which PostgreSQL allows), in arena; *n counts
 * them.
 */
static const char **names_of(struct phg_arena *arena, const cJSON *list,
			     bool update, size_t *n)
{
	size_t cap = (size_t)cJSON_GetArraySize(list);
	const char **names =
		cap ? phg_arena_alloc(arena, cap * sizeof(*names)) : NULL;
	const cJSON *it;

	*n = 0;
	if (!names)
		return NULL;
	cJSON_ArrayForEach(it, list)
	{
		const cJSON *node =
			phg_node_get(it, update ? "ResTarget" : "ColumnDef");
		const char *name =
			phg_field_str(node, update ? "name" : "colname");

		if (name && !(update && phg_field(node, "indirection")))
			names[(*n)++] = name;
	}
	return names;
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	bool update = stmt->kind == PHG_KIND_UPDATE;
	const cJSON *st;
	const char *table, **names;
	size_t n;
	int rc = 0;

	if (!update && stmt->kind != PHG_KIND_CREATE_TABLE)
		return 0;
	st = stmt->actions[0].node;
	table = phg_rule_stmt_table(ctx, stmt);
	names = names_of(ctx->arena,
			 phg_field(st, update ? "targetList" : "tableElts"),
			 update, &n);
	for (size_t i = 1; names && i < n && rc == 0; i++) {
		const char *c, *help;

		/* Report each name once, at its second occurrence. */
		if (count(names, i, names[i]) != 1)
			continue;
		c = phg_rule_sql_ident(ctx->arena, names[i]);
		help = !c	? NULL
		       : update ? phg_arena_printf(
					  ctx->arena,
					  "Assign %s once: keep the assignment "
					  "you mean and remove the other (to "
					  "combine them, write one expression, "
					  "e.g. SET %s = CASE ... END).",
					  c, c)
				: phg_arena_printf(
					  ctx->arena,
					  "Define %s once: keep the definition "
					  "you mean (its type, default and "
					  "constraints) and remove the other; "
					  "rename it if you meant two columns.",
					  c);
		if (!help)
			return PHG_ENOMEM;
		if (update)
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"column '%s' is assigned more than once in the "
				"UPDATE of '%s': PostgreSQL rejects the "
				"statement (multiple assignments to same "
				"column)",
				names[i], table ? table : "?");
		else
			rc = phg_rule_report(
				self, ctx, stmt, help,
				"column '%s' is defined more than once in "
				"CREATE TABLE '%s': PostgreSQL rejects the "
				"statement (column specified more than once)",
				names[i], table ? table : "?");
	}
	return rc;
}

const struct phg_analyzer phg_rule_ban_duplicate_column_assignments = {
	.id = "ban-duplicate-column-assignments",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "the same column twice in CREATE TABLE or in an UPDATE's "
		   "SET list",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_CREATE_TABLE, PHG_KIND_UPDATE),
};
