/*
 * classify.c: the one switch over statement types. Each statement gets its
 * kind, phase and targets here (DESIGN's phase table; docs/phases.md lists
 * every choice); ALTER TABLE is in alter.c, target helpers in targets.c.
 */
#include "internal.h"

#include <string.h>

/* The last String of a name list ("funcname", "names", ...). */
static const char *last_name(const cJSON *list)
{
	const cJSON *last = NULL, *it;

	cJSON_ArrayForEach(it, list) last = it;
	return phg_node_sval(last);
}

const char *phg_list_qname(struct phg_arena *arena, const cJSON *list)
{
	const char *parts[3] = {NULL, NULL, NULL};
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, list)
	{
		if (n < 3)
			parts[n] = phg_node_sval(it);
		n++;
	}
	if (n == 0 || n > 3 || !parts[n - 1])
		return NULL;
	if (n == 1)
		return phg_qname(arena, NULL, parts[0]);
	/* [catalog,] schema, name */
	return phg_qname(arena, parts[n - 2], parts[n - 1]);
}

static const char *list_qname(struct cl_run *r, const cJSON *list)
{
	return phg_list_qname(r->arena, list);
}

static int create_table(struct cl_run *r, const cJSON *st)
{
	const char *table =
		phg_rangevar_qname(r->arena, phg_field(st, "relation"));
	const cJSON *it;
	int rc = cl_action(r, PHG_KIND_CREATE_TABLE, PHG_PHASE_EXPAND, st);

	if (rc == 0)
		rc = cl_table_target(r, table, PHG_ACCESS_CREATE);
	cJSON_ArrayForEach(it, phg_field(st, "tableElts"))
	{
		const char *col =
			phg_field_str(phg_node_get(it, "ColumnDef"), "colname");

		if (rc == 0 && col)
			rc = cl_column_target(r, table, col, PHG_ACCESS_CREATE,
					      0);
	}
	/* The model does not know the table yet: it is not an old one. */
	for (size_t i = 0; i < r->ntargets; i++)
		r->targets[i].flags &= ~PHG_TF_EXISTING_TABLE;
	return rc;
}

static int create_index(struct cl_run *r, const cJSON *st)
{
	const char *table =
		phg_rangevar_qname(r->arena, phg_field(st, "relation"));
	const char *schema =
		phg_field_str(phg_field(st, "relation"), "schemaname");
	const char *idx = phg_field_str(st, "idxname");
	bool unique = phg_field_bool(st, "unique");
	const cJSON *it;
	int rc;

	r->stmt->no_transaction = phg_field_bool(st, "concurrent");
	rc = cl_action(r,
		       unique ? PHG_KIND_CREATE_UNIQUE_INDEX
			      : PHG_KIND_CREATE_INDEX,
		       unique ? PHG_PHASE_CONTRACT : PHG_PHASE_EXPAND, st);
	if (rc == 0 && idx)
		rc = cl_object_target(r, phg_qname(r->arena, schema, idx),
				      PHG_ACCESS_CREATE);
	cJSON_ArrayForEach(it, phg_field(st, "indexParams"))
	{
		const char *col =
			phg_field_str(phg_node_get(it, "IndexElem"), "name");

		if (rc == 0 && col && table)
			rc = cl_column_target(r, table, col,
					      unique ? PHG_ACCESS_TIGHTEN
						     : PHG_ACCESS_READ,
					      0);
	}
	return rc;
}

static enum phg_kind drop_kind(const char *type, enum phg_access *access)
{
	static const struct {
		const char *type;
		enum phg_kind kind;
	} map[] = {
		{"OBJECT_TABLE", PHG_KIND_DROP_TABLE},
		{"OBJECT_FOREIGN_TABLE", PHG_KIND_DROP_TABLE},
		{"OBJECT_INDEX", PHG_KIND_DROP_INDEX},
		{"OBJECT_VIEW", PHG_KIND_DROP_VIEW},
		{"OBJECT_MATVIEW", PHG_KIND_DROP_VIEW},
		{"OBJECT_FUNCTION", PHG_KIND_DROP_FUNCTION},
		{"OBJECT_PROCEDURE", PHG_KIND_DROP_FUNCTION},
		{"OBJECT_ROUTINE", PHG_KIND_DROP_FUNCTION},
		{"OBJECT_AGGREGATE", PHG_KIND_DROP_FUNCTION},
		{"OBJECT_TYPE", PHG_KIND_DROP_TYPE},
		{"OBJECT_DOMAIN", PHG_KIND_DROP_TYPE},
		{"OBJECT_TRIGGER", PHG_KIND_DROP_TRIGGER},
		{"OBJECT_POLICY", PHG_KIND_DROP_POLICY},
		{"OBJECT_SCHEMA", PHG_KIND_DROP_SCHEMA},
		{"OBJECT_SEQUENCE", PHG_KIND_DROP_SEQUENCE},
	};

	*access = PHG_ACCESS_REMOVE;
	for (size_t i = 0; type && i < sizeof(map) / sizeof(map[0]); i++)
		if (phg_streq(type, map[i].type))
			return map[i].kind;
	return PHG_KIND_DROP_OTHER;
}

const char *phg_drop_object_name(struct phg_arena *arena, const char *type,
				 const cJSON *obj)
{
	const cJSON *list = phg_field(phg_node_get(obj, "List"), "items");
	const cJSON *owa = phg_node_get(obj, "ObjectWithArgs");
	const cJSON *tn = phg_node_get(obj, "TypeName");

	if (owa)
		return phg_list_qname(arena, phg_field(owa, "objname"));
	if (tn)
		return phg_list_qname(arena, phg_field(tn, "names"));
	/* Schemas, extensions, languages...: names outside any schema. */
	if (phg_node_sval(obj))
		return phg_arena_strdup(arena, phg_node_sval(obj));
	if (!list)
		return NULL;
	if (phg_streq(type, "OBJECT_TRIGGER") ||
	    phg_streq(type, "OBJECT_POLICY") ||
	    phg_streq(type, "OBJECT_RULE")) {
		/* [schema,] table, name: the object lives on the table. */
		const char *name = last_name(list);

		return name ? phg_qname(arena, NULL, name) : NULL;
	}
	return phg_list_qname(arena, list);
}

static int drop_stmt(struct cl_run *r, const cJSON *st)
{
	enum phg_access access;
	enum phg_kind kind =
		drop_kind(phg_field_str(st, "removeType"), &access);
	const cJSON *it;
	int rc;

	if (phg_field_bool(st, "concurrent"))
		r->stmt->no_transaction = true;
	rc = cl_action(r, kind, PHG_PHASE_CONTRACT, st);
	cJSON_ArrayForEach(it, phg_field(st, "objects"))
	{
		const char *name = phg_drop_object_name(
			r->arena, phg_field_str(st, "removeType"), it);

		if (rc < 0 || !name)
			continue;
		if (kind == PHG_KIND_DROP_TABLE || kind == PHG_KIND_DROP_VIEW)
			rc = cl_table_target(r, name, access);
		else
			rc = cl_object_target(r, name, access);
	}
	return rc;
}

static int rename_stmt(struct cl_run *r, const cJSON *st)
{
	const char *type = phg_field_str(st, "renameType");
	const char *table =
		phg_rangevar_qname(r->arena, phg_field(st, "relation"));
	const char *schema =
		phg_field_str(phg_field(st, "relation"), "schemaname");
	const char *oldname = phg_field_str(st, "subname");
	const char *newname = phg_field_str(st, "newname");
	int rc;

	if (phg_streq(type, "OBJECT_COLUMN")) {
		rc = cl_action(r, PHG_KIND_RENAME_COLUMN, PHG_PHASE_CONTRACT,
			       st);
		if (rc == 0 && table && oldname)
			rc = cl_column_target(r, table, oldname,
					      PHG_ACCESS_REMOVE, 0);
		if (rc == 0 && table && newname)
			rc = cl_column_target(r, table, newname,
					      PHG_ACCESS_CREATE, 0);
		return rc;
	}
	if (phg_streq(type, "OBJECT_TABLE") || phg_streq(type, "OBJECT_VIEW") ||
	    phg_streq(type, "OBJECT_MATVIEW") ||
	    phg_streq(type, "OBJECT_FOREIGN_TABLE")) {
		rc = cl_action(r, PHG_KIND_RENAME_TABLE, PHG_PHASE_CONTRACT,
			       st);
		if (rc == 0 && table)
			rc = cl_table_target(r, table, PHG_ACCESS_REMOVE);
		if (rc == 0 && newname)
			rc = cl_table_target(
				r, phg_qname(r->arena, schema, newname),
				PHG_ACCESS_CREATE);
		return rc;
	}
	if (phg_streq(type, "OBJECT_INDEX"))
		return cl_action(r, PHG_KIND_RENAME_INDEX, PHG_PHASE_CONTRACT,
				 st);
	if (phg_streq(type, "OBJECT_TABCONSTRAINT"))
		return cl_action(r, PHG_KIND_RENAME_CONSTRAINT,
				 PHG_PHASE_CONTRACT, st);
	return cl_action(r, PHG_KIND_RENAME_OTHER, PHG_PHASE_CONTRACT, st);
}

static int dml_stmt(struct cl_run *r, enum phg_kind kind, const cJSON *st)
{
	const cJSON *rel = phg_field(st, "relation");
	const char *table = phg_rangevar_qname(r->arena, rel);
	const cJSON *it;
	int rc = cl_action(r, kind, PHG_PHASE_BACKFILL, st);

	if (rc < 0 || !table)
		return rc;
	if (kind == PHG_KIND_UPDATE) {
		cJSON_ArrayForEach(it, phg_field(st, "targetList"))
		{
			const cJSON *rt = phg_node_get(it, "ResTarget");
			const char *col = phg_field_str(rt, "name");

			if (col)
				rc = cl_column_target(r, table, col,
						      PHG_ACCESS_WRITE, 0);
			if (rc == 0)
				rc = cl_reads(r, rel,
					      phg_field(st, "fromClause"),
					      phg_field(rt, "val"));
			if (rc < 0)
				return rc;
		}
		return cl_reads(r, rel, phg_field(st, "fromClause"),
				phg_field(st, "whereClause"));
	}
	if (kind == PHG_KIND_INSERT) {
		bool any = false;

		cJSON_ArrayForEach(it, phg_field(st, "cols"))
		{
			const char *col = phg_field_str(
				phg_node_get(it, "ResTarget"), "name");

			if (col) {
				any = true;
				rc = cl_column_target(r, table, col,
						      PHG_ACCESS_WRITE, 0);
				if (rc < 0)
					return rc;
			}
		}
		if (!any)
			rc = cl_table_target(r, table, PHG_ACCESS_WRITE);
		/* INSERT ... SELECT reads what its query reads. */
		return rc < 0 ? rc
			      : cl_reads(r, NULL, NULL,
					 phg_field(st, "selectStmt"));
	}
	rc = cl_table_target(r, table, PHG_ACCESS_WRITE);
	if (rc == 0 && kind == PHG_KIND_DELETE)
		rc = cl_reads(r, rel, phg_field(st, "usingClause"),
			      phg_field(st, "whereClause"));
	return rc;
}

static int truncate_stmt(struct cl_run *r, const cJSON *st)
{
	const cJSON *it;
	int rc = cl_action(r, PHG_KIND_TRUNCATE, PHG_PHASE_BACKFILL, st);

	cJSON_ArrayForEach(it, phg_field(st, "relations"))
	{
		if (rc == 0)
			rc = cl_table_target(r,
					     phg_rangevar_qname(r->arena, it),
					     PHG_ACCESS_WRITE);
	}
	return rc;
}

/* SELECT: a read, unless it calls setval() (a backfill). */
static bool calls_setval(const cJSON *node, int depth)
{
	const cJSON *it;

	if (!node || depth > 2000)
		return false;
	if (cJSON_IsObject(node)) {
		const cJSON *fc = phg_node_get(node, "FuncCall");

		if (fc &&
		    phg_streq(last_name(phg_field(fc, "funcname")), "setval"))
			return true;
	}
	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		cJSON_ArrayForEach(
			it, node) if (calls_setval(it, depth + 1)) return true;
	return false;
}

static int select_stmt(struct cl_run *r, const cJSON *st)
{
	const cJSON *into = phg_field(st, "intoClause");

	if (into) {
		const cJSON *ic = phg_node_get(into, "IntoClause");
		int rc = cl_action(r, PHG_KIND_CREATE_TABLE_AS,
				   PHG_PHASE_EXPAND, st);

		if (rc == 0)
			rc = cl_table_target(
				r,
				phg_rangevar_qname(
					r->arena,
					phg_field(ic ? ic : into, "rel")),
				PHG_ACCESS_CREATE);
		return rc;
	}
	if (calls_setval(phg_field(st, "targetList"), 0))
		return cl_action(r, PHG_KIND_SETVAL, PHG_PHASE_BACKFILL, st);
	return cl_action(r, PHG_KIND_SELECT, PHG_PHASE_NONE, st);
}

static int view_stmt(struct cl_run *r, const cJSON *st)
{
	const char *view = phg_rangevar_qname(r->arena, phg_field(st, "view"));
	bool exists = view && phg_model_table(r->model, view) != NULL;
	bool replace = phg_field_bool(st, "replace") && exists;
	int rc = cl_action(
		r, replace ? PHG_KIND_REPLACE_VIEW : PHG_KIND_CREATE_VIEW,
		replace ? PHG_PHASE_CONTRACT : PHG_PHASE_EXPAND, st);

	if (rc == 0 && view)
		rc = cl_table_target(r, view,
				     replace ? PHG_ACCESS_TIGHTEN
					     : PHG_ACCESS_CREATE);
	return rc;
}

static int function_stmt(struct cl_run *r, const cJSON *st)
{
	const char *fn = list_qname(r, phg_field(st, "funcname"));
	bool known = false;
	bool replace = phg_field_bool(st, "replace");
	int rc;

	if (fn)
		phg_model_object_origin(r->model, fn, &known);
	replace = replace && known;
	rc = cl_action(r,
		       replace ? PHG_KIND_REPLACE_FUNCTION
			       : PHG_KIND_CREATE_FUNCTION,
		       replace ? PHG_PHASE_CONTRACT : PHG_PHASE_EXPAND, st);
	if (rc == 0 && fn)
		rc = cl_object_target(r, fn,
				      replace ? PHG_ACCESS_TIGHTEN
					      : PHG_ACCESS_CREATE);
	return rc;
}

static int create_named(struct cl_run *r, enum phg_kind kind, const char *qname,
			const cJSON *st)
{
	int rc = cl_action(r, kind, PHG_PHASE_EXPAND, st);

	if (rc == 0 && qname)
		rc = cl_object_target(r, qname, PHG_ACCESS_CREATE);
	return rc;
}

static int transaction_stmt(struct cl_run *r, const cJSON *st)
{
	const char *k = phg_field_str(st, "kind");

	if (phg_streq(k, "TRANS_STMT_BEGIN") ||
	    phg_streq(k, "TRANS_STMT_START")) {
		r->stmt->opens_transaction = true;
		return cl_action(r, PHG_KIND_BEGIN, PHG_PHASE_NONE, st);
	}
	if (phg_streq(k, "TRANS_STMT_COMMIT") ||
	    phg_streq(k, "TRANS_STMT_ROLLBACK")) {
		r->stmt->closes_transaction = true;
		return cl_action(r,
				 phg_streq(k, "TRANS_STMT_COMMIT")
					 ? PHG_KIND_COMMIT
					 : PHG_KIND_ROLLBACK,
				 PHG_PHASE_NONE, st);
	}
	return cl_action(r, PHG_KIND_TRANSACTION_OTHER, PHG_PHASE_NONE, st);
}

static int alter_enum(struct cl_run *r, const cJSON *st)
{
	const char *type = list_qname(r, phg_field(st, "typeName"));
	bool rename = phg_field_str(st, "oldVal") != NULL;
	int rc = cl_action(r,
			   rename ? PHG_KIND_RENAME_ENUM_VALUE
				  : PHG_KIND_ADD_ENUM_VALUE,
			   rename ? PHG_PHASE_CONTRACT : PHG_PHASE_EXPAND, st);

	if (rc == 0 && type)
		rc = cl_object_target(r, type,
				      rename ? PHG_ACCESS_TIGHTEN
					     : PHG_ACCESS_RELAX);
	return rc;
}

static int vacuum_stmt(struct cl_run *r, const cJSON *st)
{
	bool vacuum = phg_field_bool(st, "is_vacuumcmd");

	if (vacuum)
		r->stmt->no_transaction = true;
	return cl_action(r, vacuum ? PHG_KIND_VACUUM : PHG_KIND_ANALYZE,
			 PHG_PHASE_NONE, st);
}

static bool has_concurrently_param(const cJSON *st)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, phg_field(st, "params"))
	{
		const cJSON *d = phg_node_get(it, "DefElem");

		if (phg_streq(phg_field_str(d, "defname"), "concurrently"))
			return true;
	}
	return false;
}

/*
 * ALTER DOMAIN: adding or validating a constraint and SET NOT NULL tighten
 * every column of the domain (contract); dropping them relaxes (expand).
 */
static int alter_domain(struct cl_run *r, const cJSON *st)
{
	const char *sub = phg_field_str(st, "subtype");
	const char *domain = list_qname(r, phg_field(st, "typeName"));
	enum phg_kind kind = PHG_KIND_ALTER_DOMAIN_OTHER;
	enum phg_phase phase = PHG_PHASE_NONE;
	enum phg_access access = PHG_ACCESS_RELAX;
	int rc;

	if (phg_streq(sub, "C")) {
		kind = PHG_KIND_ALTER_DOMAIN_ADD_CONSTRAINT;
		phase = PHG_PHASE_CONTRACT;
	} else if (phg_streq(sub, "O") || phg_streq(sub, "V")) {
		phase = PHG_PHASE_CONTRACT;
	} else if (phg_streq(sub, "N") || phg_streq(sub, "X")) {
		phase = PHG_PHASE_EXPAND;
	} else if (phg_streq(sub, "T")) {
		phase = phg_field(st, "def") ? PHG_PHASE_EXPAND
					     : PHG_PHASE_CONTRACT;
	}
	if (phase == PHG_PHASE_CONTRACT)
		access = PHG_ACCESS_TIGHTEN;
	rc = cl_action(r, kind, phase, st);
	if (rc == 0 && domain && phase != PHG_PHASE_NONE)
		rc = cl_object_target(r, domain, access);
	return rc;
}

/* Merges what one statement inside a DO block does into the block. */
static int merge_inner(struct phg_stmt *inner, void *vr)
{
	struct cl_run *r = vr;
	int rc = phg_classify(inner, r->model, r->release, r->arena);

	for (size_t i = 0; rc == 0 && i < inner->nactions; i++)
		rc = cl_action(r, inner->actions[i].kind,
			       inner->actions[i].phase, NULL);
	for (size_t i = 0; rc == 0 && i < inner->ntargets; i++) {
		const struct phg_target *t = &inner->targets[i];

		r->phase = t->phase;
		rc = cl_target(r, t->object, t->access, t->flags, t->origin);
	}
	if (inner->no_transaction)
		r->stmt->no_transaction = true;
	/* A nested DO block that cannot be read: so cannot this one. */
	if (inner->analysis_warning)
		r->stmt->analysis_warning = true;
	return rc;
}

/*
 * A DO block takes the phase of the statements inside it; one that cannot
 * be read (dynamic SQL, another language) is a contract, flagged.
 */
static int do_stmt(struct cl_run *r)
{
	enum phg_phase phase = PHG_PHASE_NONE;
	int rc = phg_parse_do_block(r->stmt, merge_inner, r);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < r->nactions; i++)
		if (r->actions[i].phase > phase)
			phase = r->actions[i].phase;
	if (rc == 1) {
		r->stmt->analysis_warning = true;
		phase = PHG_PHASE_CONTRACT;
	}
	/* The block is one action: its kind is "do", its phase the inner max.
	 */
	r->nactions = 0;
	return cl_action(r, PHG_KIND_DO, phase, phg_node_inner(r->stmt->tree));
}

/* Statements the table above does not name, by their node type's verb. */
static int fallback(struct cl_run *r, const char *type, const cJSON *st)
{
	if (phg_has_prefix(type, "Create") || phg_has_prefix(type, "Define") ||
	    phg_has_prefix(type, "Composite"))
		return cl_action(r, PHG_KIND_CREATE_OTHER, PHG_PHASE_EXPAND,
				 st);
	if (phg_has_prefix(type, "Drop"))
		return cl_action(r, PHG_KIND_DROP_OTHER, PHG_PHASE_CONTRACT,
				 st);
	if (phg_has_prefix(type, "Alter"))
		return cl_action(r, PHG_KIND_ALTER_OTHER, PHG_PHASE_NONE, st);
	return cl_action(r, PHG_KIND_OTHER, PHG_PHASE_NONE, st);
}

static int dispatch(struct cl_run *r, const char *type, const cJSON *st)
{
	if (phg_streq(type, "CreateStmt"))
		return create_table(r, st);
	if (phg_streq(type, "AlterTableStmt"))
		return cl_alter_table(r, st);
	if (phg_streq(type, "IndexStmt"))
		return create_index(r, st);
	if (phg_streq(type, "DropStmt"))
		return drop_stmt(r, st);
	if (phg_streq(type, "RenameStmt"))
		return rename_stmt(r, st);
	if (phg_streq(type, "UpdateStmt"))
		return dml_stmt(r, PHG_KIND_UPDATE, st);
	if (phg_streq(type, "InsertStmt"))
		return dml_stmt(r, PHG_KIND_INSERT, st);
	if (phg_streq(type, "DeleteStmt"))
		return dml_stmt(r, PHG_KIND_DELETE, st);
	if (phg_streq(type, "MergeStmt"))
		return dml_stmt(r, PHG_KIND_MERGE, st);
	if (phg_streq(type, "TruncateStmt"))
		return truncate_stmt(r, st);
	if (phg_streq(type, "CopyStmt"))
		return phg_field_bool(st, "is_from")
			       ? dml_stmt(r, PHG_KIND_COPY_FROM, st)
			       : cl_action(r, PHG_KIND_COPY_TO, PHG_PHASE_NONE,
					   st);
	if (phg_streq(type, "RefreshMatViewStmt")) {
		int rc = cl_action(r, PHG_KIND_REFRESH_MATVIEW,
				   PHG_PHASE_BACKFILL, st);

		if (phg_field_bool(st, "concurrent"))
			r->stmt->no_transaction = false;
		if (rc == 0)
			rc = cl_table_target(
				r,
				phg_rangevar_qname(r->arena,
						   phg_field(st, "relation")),
				PHG_ACCESS_WRITE);
		return rc;
	}
	if (phg_streq(type, "SelectStmt"))
		return select_stmt(r, st);
	if (phg_streq(type, "CallStmt"))
		return cl_action(r, PHG_KIND_CALL, PHG_PHASE_BACKFILL, st);
	if (phg_streq(type, "ViewStmt"))
		return view_stmt(r, st);
	if (phg_streq(type, "CreateTableAsStmt")) {
		bool mat = phg_streq(phg_field_str(st, "objtype"),
				     "OBJECT_MATVIEW");
		/* libpg_query writes "into" without its node name. */
		const cJSON *ic =
			phg_node_get(phg_field(st, "into"), "IntoClause");

		if (!ic)
			ic = phg_field(st, "into");
		int rc = cl_action(r,
				   mat ? PHG_KIND_CREATE_MATVIEW
				       : PHG_KIND_CREATE_TABLE_AS,
				   PHG_PHASE_EXPAND, st);

		if (rc == 0)
			rc = cl_table_target(
				r,
				phg_rangevar_qname(r->arena,
						   phg_field(ic, "rel")),
				PHG_ACCESS_CREATE);
		return rc;
	}
	if (phg_streq(type, "CreateFunctionStmt"))
		return function_stmt(r, st);
	if (phg_streq(type, "CreateTrigStmt"))
		return cl_action(r, PHG_KIND_CREATE_TRIGGER, PHG_PHASE_EXPAND,
				 st);
	if (phg_streq(type, "CreateSeqStmt"))
		return create_named(
			r, PHG_KIND_CREATE_SEQUENCE,
			phg_rangevar_qname(r->arena, phg_field(st, "sequence")),
			st);
	if (phg_streq(type, "CreateSchemaStmt"))
		return create_named(
			r, PHG_KIND_CREATE_SCHEMA,
			phg_arena_strdup(r->arena,
					 phg_field_str(st, "schemaname")),
			st);
	if (phg_streq(type, "CreateExtensionStmt"))
		return cl_action(r, PHG_KIND_CREATE_EXTENSION, PHG_PHASE_EXPAND,
				 st);
	if (phg_streq(type, "CreateEnumStmt") ||
	    phg_streq(type, "CreateRangeStmt"))
		return create_named(r, PHG_KIND_CREATE_TYPE,
				    list_qname(r, phg_field(st, "typeName")),
				    st);
	if (phg_streq(type, "CompositeTypeStmt"))
		return create_named(
			r, PHG_KIND_CREATE_TYPE,
			phg_rangevar_qname(r->arena, phg_field(st, "typevar")),
			st);
	if (phg_streq(type, "CreateDomainStmt"))
		return create_named(r, PHG_KIND_CREATE_DOMAIN,
				    list_qname(r, phg_field(st, "domainname")),
				    st);
	if (phg_streq(type, "CreatePolicyStmt"))
		return cl_action(r, PHG_KIND_CREATE_POLICY, PHG_PHASE_EXPAND,
				 st);
	if (phg_streq(type, "AlterEnumStmt"))
		return alter_enum(r, st);
	if (phg_streq(type, "AlterDomainStmt"))
		return alter_domain(r, st);
	if (phg_streq(type, "AlterObjectSchemaStmt"))
		return cl_action(r, PHG_KIND_SET_SCHEMA, PHG_PHASE_CONTRACT,
				 st);
	if (phg_streq(type, "GrantStmt") || phg_streq(type, "GrantRoleStmt"))
		return phg_field_bool(st, "is_grant")
			       ? cl_action(r, PHG_KIND_GRANT, PHG_PHASE_EXPAND,
					   st)
			       : cl_action(r, PHG_KIND_REVOKE,
					   PHG_PHASE_CONTRACT, st);
	if (phg_streq(type, "DropdbStmt"))
		return cl_action(r, PHG_KIND_DROP_DATABASE, PHG_PHASE_CONTRACT,
				 st);
	if (phg_streq(type, "TransactionStmt"))
		return transaction_stmt(r, st);
	if (phg_streq(type, "VariableSetStmt") ||
	    phg_streq(type, "VariableShowStmt"))
		return cl_action(r, PHG_KIND_SET, PHG_PHASE_NONE, st);
	if (phg_streq(type, "CommentStmt"))
		return cl_action(r, PHG_KIND_COMMENT, PHG_PHASE_NONE, st);
	if (phg_streq(type, "VacuumStmt"))
		return vacuum_stmt(r, st);
	if (phg_streq(type, "ReindexStmt")) {
		r->stmt->no_transaction = has_concurrently_param(st);
		return cl_action(r, PHG_KIND_REINDEX, PHG_PHASE_NONE, st);
	}
	if (phg_streq(type, "ClusterStmt"))
		return cl_action(r, PHG_KIND_CLUSTER, PHG_PHASE_NONE, st);
	if (phg_streq(type, "LockStmt"))
		return cl_action(r, PHG_KIND_LOCK, PHG_PHASE_NONE, st);
	if (phg_streq(type, "DoStmt"))
		return do_stmt(r);
	if (phg_streq(type, "ExplainStmt") ||
	    phg_streq(type, "CheckPointStmt") ||
	    phg_streq(type, "NotifyStmt") || phg_streq(type, "ListenStmt") ||
	    phg_streq(type, "DiscardStmt") || phg_streq(type, "PrepareStmt") ||
	    phg_streq(type, "DeallocateStmt") || phg_streq(type, "ExecuteStmt"))
		return cl_action(r, PHG_KIND_OTHER, PHG_PHASE_NONE, st);
	return fallback(r, type, st);
}

bool phg_stmt_no_transaction(const cJSON *tree)
{
	const char *type = phg_node_type(tree);
	const cJSON *st = phg_node_inner(tree);

	if (!type)
		return false;
	if (phg_streq(type, "IndexStmt") || phg_streq(type, "DropStmt"))
		return phg_field_bool(st, "concurrent");
	if (phg_streq(type, "VacuumStmt"))
		return phg_field_bool(st, "is_vacuumcmd");
	if (phg_streq(type, "AlterTableStmt")) {
		const cJSON *it;

		/* DETACH PARTITION ... CONCURRENTLY */
		cJSON_ArrayForEach(it, phg_field(st, "cmds"))
		{
			const cJSON *def = phg_field(
				phg_node_get(it, "AlterTableCmd"), "def");

			if (phg_field_bool(phg_node_get(def, "PartitionCmd"),
					   "concurrent"))
				return true;
		}
		return false;
	}
	if (phg_streq(type, "ReindexStmt"))
		return has_concurrently_param(st);
	return false;
}

int phg_classify(struct phg_stmt *stmt, const struct phg_model *model,
		 int release, struct phg_arena *arena)
{
	struct cl_run r = {.model = model,
			   .arena = arena,
			   .release = release,
			   .stmt = stmt};
	const char *type = stmt->node_type;
	enum phg_phase phase = PHG_PHASE_NONE;
	int rc;

	stmt->phase = PHG_PHASE_NONE;
	stmt->kind = PHG_KIND_UNKNOWN;
	if (stmt->state != PHG_STMT_OK || !stmt->tree || !type)
		return 0;
	rc = dispatch(&r, type, phg_node_inner(stmt->tree));
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < r.nactions; i++)
		if (r.actions[i].phase > phase)
			phase = r.actions[i].phase;
	stmt->phase = phase;
	stmt->actions = r.actions;
	stmt->nactions = r.nactions;
	stmt->targets = r.targets;
	stmt->ntargets = r.ntargets;
	stmt->kind = r.nactions == 1 ? r.actions[0].kind : PHG_KIND_ALTER_TABLE;
	return 0;
}
