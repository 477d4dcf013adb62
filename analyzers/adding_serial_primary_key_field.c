/*
 * adding_serial_primary_key_field.c: ADD PRIMARY KEY without USING INDEX
 * (or a column added as PRIMARY KEY) on a table that has traffic.
 * PostgreSQL builds the key's unique index inside the ALTER TABLE, holding
 * an ACCESS EXCLUSIVE lock for the whole build. (The id is squawk's: a
 * serial PRIMARY KEY column is the usual way to get there.) A column added
 * as PRIMARY KEY with no value is adding-required-field's (the statement
 * fails on a table with rows), one with a volatile default is
 * adding-volatile-default's; a serial, identity or generated one is this
 * rule's alone, the rewrite included.
 */
#include "analyzer.h"

/* A list of String nodes as "a, b" in SQL, or NULL (arena). */
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

/* Whether adding-volatile-default reports this column (same test). */
static bool volatile_default_reports(const cJSON *coldef, int postgres_version)
{
	const cJSON *def = phg_coldef_default(coldef);

	if (!def || phg_field_bool(phg_node_get(def, "A_Const"), "isnull") ||
	    phg_coldef_has(coldef, "CONSTR_GENERATED") ||
	    phg_coldef_has(coldef, "CONSTR_IDENTITY") ||
	    phg_coldef_is_serial(coldef))
		return false;
	return postgres_version < 11 || phg_expr_volatile_function(def);
}

/* What fills a new key column: "serial", "identity", "generated", NULL. */
static const char *filled_by(const cJSON *coldef)
{
	if (phg_coldef_is_serial(coldef))
		return "serial";
	if (phg_coldef_has(coldef, "CONSTR_IDENTITY"))
		return "identity";
	if (phg_coldef_has(coldef, "CONSTR_GENERATED"))
		return "generated";
	return NULL;
}

/* The tail every help shares: the index, then the key on it. */
static const char *key_steps(struct phg_arena *arena, const char *t,
			     const char *name, const char *cols, int first)
{
	return phg_arena_printf(
		arena,
		"(%d) In a migration of its own, CREATE UNIQUE INDEX "
		"CONCURRENTLY %s ON %s (%s); — reads and writes go on while "
		"it builds; CONCURRENTLY cannot run inside a transaction "
		"block, so phasegate runs that migration outside one. (%d) "
		"Make sure the key columns are NOT NULL (a validated CHECK, "
		"then SET NOT NULL: see setting-not-null), else the next step "
		"scans the table to prove it. (%d) ALTER TABLE %s ADD "
		"CONSTRAINT %s "
		"PRIMARY KEY USING INDEX %s; — a brief lock: the index becomes "
		"the key's. If the build fails (a duplicate value, a cancelled "
		"deploy), it leaves an INVALID index: DROP INDEX CONCURRENTLY "
		"%s; before you retry.",
		first, name, t, cols, first + 1, first + 2, t, name, name,
		name);
}

/* Help for ADD COLUMN c <serial|identity|generated|default> PRIMARY KEY. */
static const char *column_help(struct phg_arena *arena, const cJSON *rel,
			       const char *col, const char *by)
{
	const char *t = phg_rule_sql_relation(arena, rel);
	const char *relname = phg_field_str(rel, "relname");
	const char *schema = phg_field_str(rel, "schemaname");
	const char *c = phg_rule_sql_ident(arena, col);
	const char *pk = phg_rule_sql_ident(
		arena, phg_arena_printf(arena, "%s_pkey", relname));
	const char *seq = phg_rule_sql_ident(
		arena, phg_arena_printf(arena, "%s_%s_seq", relname, col));
	const char *tail;

	if (!t || !c || !pk || !seq)
		return NULL;
	if (schema)
		seq = phg_arena_printf(arena, "%s.%s",
				       phg_rule_sql_ident(arena, schema), seq);
	if (by && phg_streq(by, "generated"))
		by = NULL;
	tail = key_steps(arena, t, pk, c, 4);
	if (!seq || !tail)
		return NULL;
	if (by)
		return phg_arena_printf(
			arena,
			"Fill the column from a sequence and build the key "
			"beside the table, over separate migrations: (1) "
			"CREATE SEQUENCE %s AS bigint; ALTER TABLE %s ADD "
			"COLUMN %s bigint; — no rewrite. (2) ALTER TABLE %s "
			"ALTER COLUMN %s SET DEFAULT nextval('%s'); ALTER "
			"SEQUENCE %s OWNED BY %s.%s; — rows inserted from then "
			"on get a value. (3) In a backfill migration, UPDATE "
			"%s SET %s = nextval('%s') WHERE %s IS NULL, in "
			"batches "
			"by key range. %s",
			seq, t, c, t, c, seq, seq, t, c, t, c, seq, c, tail);
	return phg_arena_printf(
		arena,
		"Add the column, fill it, then build the key beside the "
		"table, over separate migrations: (1) ALTER TABLE %s ADD "
		"COLUMN %s <type>; — no rewrite. (2) Give new rows their "
		"value (a default, or a BEFORE INSERT trigger for a computed "
		"one). (3) In a backfill migration, fill the existing rows in "
		"batches by key range. %s",
		t, c, tail);
}

/* Help for ADD [CONSTRAINT name] PRIMARY KEY (cols). */
static const char *constraint_help(struct phg_arena *arena, const cJSON *rel,
				   const char *name, const char *cols)
{
	const char *t = phg_rule_sql_relation(arena, rel);
	const char *n = phg_rule_sql_ident(arena, name);
	const char *tail;

	if (!t || !n || !cols)
		return NULL;
	tail = key_steps(arena, t, n, cols, 1);
	if (!tail)
		return NULL;
	return phg_arena_printf(arena, "Build the key's index first: %s", tail);
}

static int report_column(const struct phg_analyzer *self,
			 const struct phg_rule_ctx *ctx,
			 const struct phg_stmt *stmt, const char *table,
			 const cJSON *rel, const cJSON *coldef)
{
	const char *col = phg_field_str(coldef, "colname");
	const char *by = filled_by(coldef);
	const cJSON *def = phg_coldef_default(coldef);
	const char *help;

	if (!col || !phg_coldef_has(coldef, "CONSTR_PRIMARY"))
		return 0;
	/* No value: the statement fails on a table with rows
	   (adding-required-field). A volatile default: the rewrite is
	   adding-volatile-default's. */
	if (!by &&
	    (!def || phg_field_bool(phg_node_get(def, "A_Const"), "isnull")))
		return 0;
	if (volatile_default_reports(coldef, ctx->postgres_version))
		return 0;
	help = column_help(ctx->arena, rel, col, by);
	if (!help)
		return PHG_ENOMEM;
	if (by)
		return phg_rule_report(
			self, ctx, stmt, help,
			"adding column '%s.%s' as a %s PRIMARY KEY rewrites "
			"the "
			"whole table to fill it and builds the key's unique "
			"index, all under an ACCESS EXCLUSIVE lock that blocks "
			"reads and writes until both are done",
			table, col, by);
	return phg_rule_report(
		self, ctx, stmt, help,
		"adding column '%s.%s' as PRIMARY KEY builds the key's unique "
		"index under an ACCESS EXCLUSIVE lock, blocking reads and "
		"writes of the table for the whole build",
		table, col);
}

static int report_constraint(const struct phg_analyzer *self,
			     const struct phg_rule_ctx *ctx,
			     const struct phg_stmt *stmt, const char *table,
			     const cJSON *rel, const cJSON *con)
{
	const char *given = phg_field_str(con, "conname");
	const char *name =
		given ? given
		      : phg_arena_printf(ctx->arena, "%s_pkey",
					 phg_field_str(rel, "relname"));
	const char *help =
		constraint_help(ctx->arena, rel, name,
				list_sql(ctx->arena, phg_field(con, "keys")));

	if (!help)
		return PHG_ENOMEM;
	if (given)
		return phg_rule_report(
			self, ctx, stmt, help,
			"adding primary key '%s' to '%s' builds its unique "
			"index under an ACCESS EXCLUSIVE lock, blocking reads "
			"and writes of the table for the whole build",
			given, table);
	return phg_rule_report(
		self, ctx, stmt, help,
		"adding a primary key to '%s' builds its unique index under an "
		"ACCESS EXCLUSIVE lock, blocking reads and writes of the table "
		"for the whole build",
		table);
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
		const cJSON *con = phg_node_get(def, "Constraint");

		if (a->kind == PHG_KIND_ADD_COLUMN
			    ? !phg_coldef_has(phg_node_get(def, "ColumnDef"),
					      "CONSTR_PRIMARY")
			    : a->kind != PHG_KIND_ADD_PRIMARY_KEY || !con ||
				      phg_field_str(con, "indexname"))
			continue;
		if (!table) {
			table = phg_rule_stmt_table(ctx, stmt);
			if (!table || !phg_rule_table_existing(ctx, table))
				return 0;
		}
		if (a->kind == PHG_KIND_ADD_COLUMN)
			rc = report_column(self, ctx, stmt, table, rel,
					   phg_node_get(def, "ColumnDef"));
		else
			rc = report_constraint(self, ctx, stmt, table, rel,
					       con);
	}
	return rc;
}

const struct phg_analyzer phg_rule_adding_serial_primary_key_field = {
	.id = "adding-serial-primary-key-field",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "ADD PRIMARY KEY without USING INDEX on a table that has "
		   "traffic",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_COLUMN, PHG_KIND_ADD_PRIMARY_KEY),
	.scales_with_table = true,
};
