/*
 * adding_stored_generated_column.c: ADD COLUMN ... GENERATED ALWAYS AS
 * (...) STORED, an identity column or a serial column on a table that has
 * traffic. PostgreSQL must write a value into every existing row, so it
 * rewrites the whole table under an ACCESS EXCLUSIVE lock.
 * adding-volatile-default leaves these columns to this rule; a column that
 * is also the PRIMARY KEY is adding-serial-primary-key-field's (its help
 * covers the rewrite and the key).
 */
#include "analyzer.h"

/* The help for a column filled from a sequence (identity or serial). */
static const char *sequence_help(struct phg_arena *arena, const cJSON *rel,
				 const char *col)
{
	const char *t = phg_rule_sql_relation(arena, rel);
	const char *relname = phg_field_str(rel, "relname");
	const char *schema = phg_field_str(rel, "schemaname");
	const char *c = phg_rule_sql_ident(arena, col);
	const char *seq = phg_rule_sql_ident(
		arena, phg_arena_printf(arena, "%s_%s_seq", relname, col));

	if (!t || !c || !seq)
		return NULL;
	if (schema)
		seq = phg_arena_printf(arena, "%s.%s",
				       phg_rule_sql_ident(arena, schema), seq);
	if (!seq)
		return NULL;
	return phg_arena_printf(
		arena,
		"Fill it from a sequence without a rewrite, over separate "
		"migrations: (1) CREATE SEQUENCE %s AS bigint; ALTER TABLE %s "
		"ADD COLUMN %s bigint; — no rewrite. (2) ALTER TABLE %s ALTER "
		"COLUMN %s SET DEFAULT nextval('%s'); ALTER SEQUENCE %s OWNED "
		"BY %s.%s; — rows inserted from then on get a value, existing "
		"rows stay NULL. (3) In a backfill migration, UPDATE %s SET %s "
		"= nextval('%s') WHERE %s IS NULL, in batches by key range. "
		"(4) Require the column (NOT NULL) in a later release if it "
		"must be (see setting-not-null).",
		seq, t, c, t, c, seq, seq, t, c, t, c, seq, c);
}

/*
 * A TypeName node as SQL for a help ("bigint", "numeric(12,2)", "text[]"),
 * or "<type>" when it is not a plain built-in (arena).
 */
static const char *type_sql(struct phg_arena *arena, const cJSON *tn)
{
	static const char *const names[][2] = {
		{"int8", "bigint"},
		{"int4", "integer"},
		{"int2", "smallint"},
		{"float8", "double precision"},
		{"float4", "real"},
		{"bool", "boolean"},
		{"bpchar", "char"},
		{"varchar", "varchar"},
		{"numeric", "numeric"},
		{"text", "text"},
		{"timestamptz", "timestamptz"},
		{"timestamp", "timestamp"},
		{"date", "date"},
		{"uuid", "uuid"},
		{"jsonb", "jsonb"},
		{"tsvector", "tsvector"},
	};
	const cJSON *list = phg_field(tn, "names"), *it;
	int n = cJSON_GetArraySize(list);
	const char *last = phg_node_sval(cJSON_GetArrayItem(list, n - 1));
	const char *out = NULL, *mods = NULL;

	if (n == 2 && !phg_streq(phg_node_sval(cJSON_GetArrayItem(list, 0)),
				 "pg_catalog"))
		return "<type>";
	for (size_t i = 0; last && i < sizeof(names) / sizeof(names[0]); i++)
		if (phg_streq(last, names[i][0]))
			out = names[i][1];
	if (!out || n > 2)
		return "<type>";
	cJSON_ArrayForEach(it, phg_field(tn, "typmods"))
	{
		const cJSON *c = phg_node_get(it, "A_Const");
		int v = phg_field_int(phg_field(c, "ival"), "ival", 0);

		if (!c || !phg_field(c, "ival"))
			return "<type>";
		mods = mods ? phg_arena_printf(arena, "%s,%d", mods, v)
			    : phg_arena_printf(arena, "%d", v);
		if (!mods)
			return NULL;
	}
	return phg_arena_printf(arena, "%s%s%s%s%s", out, mods ? "(" : "",
				mods ? mods : "", mods ? ")" : "",
				phg_field(tn, "arrayBounds") ? "[]" : "");
}

/* The help for a generated column: a trigger computes it instead. */
static const char *generated_help(struct phg_arena *arena, const cJSON *rel,
				  const char *col, const char *type)
{
	const char *t = phg_rule_sql_relation(arena, rel);
	const char *c = phg_rule_sql_ident(arena, col);
	const char *fn = phg_rule_sql_ident(
		arena, phg_arena_printf(arena, "%s_set_%s",
					phg_field_str(rel, "relname"), col));

	if (!t || !c || !fn || !type)
		return NULL;
	return phg_arena_printf(
		arena,
		"Compute it with a trigger instead, over separate migrations: "
		"(1) ALTER TABLE %s ADD COLUMN %s %s; — no rewrite. (2) CREATE "
		"FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
		"NEW.%s := <expression>; RETURN NEW; END $$; CREATE TRIGGER %s "
		"BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION "
		"%s(); — new and changed rows get the value (<expression> is "
		"the one in GENERATED ALWAYS AS, each column it reads written "
		"NEW.<column>). (3) In a backfill migration, UPDATE %s SET %s "
		"= <expression> WHERE %s IS NULL, in batches by key range. A "
		"plain column cannot become a generated one later without a "
		"rewrite, so keep the trigger.",
		t, c, type, fn, c, fn, t, fn, t, c, c);
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *rel = phg_field(phg_node_inner(stmt->tree), "relation");
	const char *table = NULL;
	int rc = 0;

	for (size_t i = 0; i < stmt->nactions && rc == 0; i++) {
		const cJSON *coldef;
		const char *col, *help, *kind, *how;
		bool generated;

		if (stmt->actions[i].kind != PHG_KIND_ADD_COLUMN)
			continue;
		coldef = phg_node_get(phg_field(stmt->actions[i].node, "def"),
				      "ColumnDef");
		col = phg_field_str(coldef, "colname");
		generated = phg_coldef_has(coldef, "CONSTR_GENERATED");
		if (phg_coldef_is_serial(coldef)) {
			kind = "serial";
			how = "fills it from its sequence (a nextval() "
			      "default)";
		} else if (phg_coldef_has(coldef, "CONSTR_IDENTITY")) {
			kind = "identity";
			how = "fills it from its sequence";
		} else if (generated) {
			kind = "stored generated";
			how = "computes it";
		} else {
			continue;
		}
		/* The key's rule tells the whole sequence. */
		if (!col || phg_coldef_has(coldef, "CONSTR_PRIMARY"))
			continue;
		if (!table) {
			table = phg_rule_stmt_table(ctx, stmt);
			if (!table || !phg_rule_table_existing(ctx, table))
				return 0;
		}
		help = generated
			       ? generated_help(ctx->arena, rel, col,
						type_sql(ctx->arena,
							 phg_field(coldef,
								   "typeName")))
			       : sequence_help(ctx->arena, rel, col);
		if (!help)
			return PHG_ENOMEM;
		rc = phg_rule_report(self, ctx, stmt, help,
				     "adding %s column '%s.%s' %s for every "
				     "existing row, rewriting the whole table "
				     "under an ACCESS EXCLUSIVE lock that "
				     "blocks reads and writes until it is done",
				     kind, table, col, how);
	}
	return rc;
}

const struct phg_analyzer phg_rule_adding_stored_generated_column = {
	.id = "adding-stored-generated-column",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "ADD COLUMN of a stored generated, identity or serial "
		   "column on a table that has traffic (a rewrite)",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_COLUMN),
	.scales_with_table = true,
};
