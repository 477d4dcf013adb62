/*
 * alter.c: ALTER TABLE, one action per subcommand. Each action gets its own
 * phase (DESIGN's table) and targets; the statement's phase is the strongest.
 */
#include "internal.h"

#include <string.h>

struct alter_ctx {
	struct cl_run *r;
	const char *table; /* schema.table */
	const char *schema;
	const struct phg_table *model_table;
};

/* Whether old writers that omit the column would now be rejected. */
static unsigned rejects_old(const struct alter_ctx *a, const char *column)
{
	const struct phg_column *c = phg_model_column(a->model_table, column);

	return c && c->has_default ? 0 : PHG_TF_REJECTS_OLD;
}

static bool coldef_has_value(const cJSON *coldef)
{
	const cJSON *def = phg_coldef_default(coldef);

	if (def && !phg_field_bool(phg_node_get(def, "A_Const"), "isnull"))
		return true;
	return phg_coldef_has(coldef, "CONSTR_IDENTITY") ||
	       phg_coldef_has(coldef, "CONSTR_GENERATED") ||
	       phg_coldef_is_serial(coldef);
}

static int add_column(struct alter_ctx *a, const cJSON *cmd)
{
	const cJSON *coldef = phg_node_get(phg_field(cmd, "def"), "ColumnDef");
	const char *name = phg_field_str(coldef, "colname");
	bool not_null = phg_coldef_has(coldef, "CONSTR_NOTNULL") ||
			phg_coldef_has(coldef, "CONSTR_PRIMARY");
	bool required = not_null && !coldef_has_value(coldef);
	int rc;

	rc = cl_action(a->r, PHG_KIND_ADD_COLUMN,
		       required ? PHG_PHASE_CONTRACT : PHG_PHASE_EXPAND, cmd);
	if (rc == 0 && name)
		rc = cl_column_target(a->r, a->table, name, PHG_ACCESS_CREATE,
				      required ? PHG_TF_REJECTS_OLD : 0);
	return rc;
}

/* Every column a node mentions, as targets with one access. */
static int column_refs(struct alter_ctx *a, const cJSON *node,
		       enum phg_access access, const char *rejecting, int depth)
{
	const cJSON *it;
	int rc = 0;

	if (!node || depth > 2000)
		return 0;
	if (cJSON_IsObject(node)) {
		const cJSON *cr = phg_node_get(node, "ColumnRef");

		if (cr) {
			const cJSON *last = NULL;
			const char *col;

			cJSON_ArrayForEach(it, phg_field(cr, "fields")) last =
				it;
			col = phg_node_sval(last);
			if (!col)
				return 0;
			return cl_column_target(a->r, a->table, col, access,
						phg_streq(col, rejecting)
							? rejects_old(a, col)
							: 0);
		}
	}
	if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
		cJSON_ArrayForEach(it, node)
		{
			rc = column_refs(a, it, access, rejecting, depth + 1);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* Columns named in a list of String nodes (keys, fk_attrs, ...). */
static int column_list(struct alter_ctx *a, const char *table,
		       const cJSON *list, enum phg_access access, bool rejects)
{
	const cJSON *it;
	int rc = 0;

	cJSON_ArrayForEach(it, list)
	{
		const char *col = phg_node_sval(it);

		if (!col)
			continue;
		rc = cl_column_target(a->r, table, col, access,
				      rejects ? rejects_old(a, col) : 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static const char *constraint_qname(struct alter_ctx *a, const cJSON *con)
{
	const char *name = phg_field_str(con, "conname");

	if (!name)
		name = phg_arena_printf(a->r->arena, "%s_%s_unnamed",
					strrchr(a->table, '.') + 1,
					phg_field_str(con, "contype"));
	return phg_qname(a->r->arena, a->schema, name);
}

static int index_columns(struct alter_ctx *a, const char *indexname)
{
	const struct phg_index *ix = phg_model_index(
		a->r->model, phg_qname(a->r->arena, a->schema, indexname));
	int rc = 0;

	for (size_t i = 0; ix && i < ix->ncolumns && rc == 0; i++)
		rc = cl_column_target(a->r, a->table, ix->columns[i],
				      PHG_ACCESS_TIGHTEN, 0);
	return rc;
}

static int add_constraint(struct alter_ctx *a, const cJSON *cmd)
{
	const cJSON *con = phg_node_get(phg_field(cmd, "def"), "Constraint");
	const char *contype = phg_field_str(con, "contype");
	const char *indexname = phg_field_str(con, "indexname");
	enum phg_kind kind = PHG_KIND_ADD_CONSTRAINT_OTHER;
	int rc;

	if (phg_streq(contype, "CONSTR_CHECK"))
		kind = PHG_KIND_ADD_CHECK;
	else if (phg_streq(contype, "CONSTR_FOREIGN"))
		kind = PHG_KIND_ADD_FOREIGN_KEY;
	else if (phg_streq(contype, "CONSTR_UNIQUE"))
		kind = PHG_KIND_ADD_UNIQUE;
	else if (phg_streq(contype, "CONSTR_PRIMARY"))
		kind = PHG_KIND_ADD_PRIMARY_KEY;
	else if (phg_streq(contype, "CONSTR_EXCLUSION"))
		kind = PHG_KIND_ADD_EXCLUSION;
	rc = cl_action(a->r, kind, PHG_PHASE_CONTRACT, cmd);
	if (rc == 0 && con)
		rc = cl_object_target(a->r, constraint_qname(a, con),
				      PHG_ACCESS_CREATE);
	if (rc < 0 || !con)
		return rc;
	switch (kind) {
	case PHG_KIND_ADD_CHECK:
		return column_refs(
			a, phg_field(con, "raw_expr"), PHG_ACCESS_TIGHTEN,
			phg_check_not_null_column(phg_field(con, "raw_expr")),
			0);
	case PHG_KIND_ADD_FOREIGN_KEY:
		rc = column_list(a, a->table, phg_field(con, "fk_attrs"),
				 PHG_ACCESS_TIGHTEN, false);
		if (rc == 0) {
			const char *pk = phg_rangevar_qname(
				a->r->arena, phg_field(con, "pktable"));
			const cJSON *it;

			cJSON_ArrayForEach(it, phg_field(con, "pk_attrs"))
			{
				rc = cl_column_target(a->r, pk,
						      phg_node_sval(it),
						      PHG_ACCESS_READ, 0);
				if (rc < 0)
					return rc;
			}
		}
		return rc;
	case PHG_KIND_ADD_UNIQUE:
	case PHG_KIND_ADD_PRIMARY_KEY:
		if (indexname)
			return index_columns(a, indexname);
		return column_list(a, a->table, phg_field(con, "keys"),
				   PHG_ACCESS_TIGHTEN,
				   kind == PHG_KIND_ADD_PRIMARY_KEY);
	default:
		return column_refs(a, phg_field(con, "exclusions"),
				   PHG_ACCESS_TIGHTEN, NULL, 0);
	}
}

static int validate_constraint(struct alter_ctx *a, const cJSON *cmd)
{
	const char *name = phg_field_str(cmd, "name");
	const struct phg_constraint *c =
		phg_model_constraint(a->model_table, name);
	int rc = cl_action(a->r, PHG_KIND_VALIDATE_CONSTRAINT,
			   PHG_PHASE_CONTRACT, cmd);

	if (rc == 0 && name)
		rc = cl_object_target(a->r,
				      phg_qname(a->r->arena, a->schema, name),
				      PHG_ACCESS_TIGHTEN);
	for (size_t i = 0; c && i < c->ncolumns && rc == 0; i++)
		rc = cl_column_target(a->r, a->table, c->columns[i],
				      PHG_ACCESS_TIGHTEN, 0);
	return rc;
}

static int alter_type(struct alter_ctx *a, const cJSON *cmd)
{
	const char *col = phg_field_str(cmd, "name");
	const cJSON *coldef = phg_node_get(phg_field(cmd, "def"), "ColumnDef");
	const struct phg_column *old = phg_model_column(a->model_table, col);
	bool widening =
		old && !phg_field(coldef, "raw_default") &&
		phg_type_is_widening(old, phg_field(coldef, "typeName"));
	int rc = cl_action(a->r, PHG_KIND_ALTER_COLUMN_TYPE,
			   widening ? PHG_PHASE_EXPAND : PHG_PHASE_CONTRACT,
			   cmd);

	if (rc == 0 && col)
		rc = cl_column_target(
			a->r, a->table, col,
			widening ? PHG_ACCESS_RELAX : PHG_ACCESS_TIGHTEN, 0);
	return rc;
}

/* A subcommand that touches one column with a fixed kind and phase. */
static int column_action(struct alter_ctx *a, const cJSON *cmd,
			 enum phg_kind kind, enum phg_phase phase,
			 enum phg_access access, unsigned flags)
{
	const char *col = phg_field_str(cmd, "name");
	int rc = cl_action(a->r, kind, phase, cmd);

	if (rc == 0 && col)
		rc = cl_column_target(a->r, a->table, col, access, flags);
	return rc;
}

/* A subcommand that touches the table as a whole. */
static int table_action(struct alter_ctx *a, const cJSON *cmd,
			enum phg_kind kind, enum phg_phase phase,
			enum phg_access access)
{
	int rc = cl_action(a->r, kind, phase, cmd);

	if (rc == 0 && phase != PHG_PHASE_NONE)
		rc = cl_table_target(a->r, a->table, access);
	return rc;
}

static int partition_action(struct alter_ctx *a, const cJSON *cmd, bool attach)
{
	const cJSON *pc = phg_node_get(phg_field(cmd, "def"), "PartitionCmd");
	const char *part =
		phg_rangevar_qname(a->r->arena, phg_field(pc, "name"));
	int rc = cl_action(a->r,
			   attach ? PHG_KIND_ATTACH_PARTITION
				  : PHG_KIND_DETACH_PARTITION,
			   attach ? PHG_PHASE_EXPAND : PHG_PHASE_CONTRACT, cmd);

	if (rc == 0 && part)
		rc = cl_table_target(a->r, part,
				     attach ? PHG_ACCESS_RELAX
					    : PHG_ACCESS_REMOVE);
	if (phg_field_bool(pc, "concurrent"))
		a->r->stmt->no_transaction = true;
	return rc;
}

static int alter_cmd(struct alter_ctx *a, const cJSON *cmd)
{
	const char *st = phg_field_str(cmd, "subtype");

	if (!st)
		return cl_action(a->r, PHG_KIND_ALTER_TABLE_OTHER,
				 PHG_PHASE_NONE, cmd);
	if (phg_streq(st, "AT_AddColumn") ||
	    phg_streq(st, "AT_AddColumnRecurse"))
		return add_column(a, cmd);
	if (phg_streq(st, "AT_ColumnDefault"))
		/* SET DEFAULT NULL takes the default away, like DROP. */
		return phg_field(cmd, "def") &&
				       !phg_field_bool(
					       phg_node_get(
						       phg_field(cmd, "def"),
						       "A_Const"),
					       "isnull")
			       ? column_action(a, cmd, PHG_KIND_SET_DEFAULT,
					       PHG_PHASE_EXPAND,
					       PHG_ACCESS_RELAX, 0)
			       : column_action(a, cmd, PHG_KIND_DROP_DEFAULT,
					       PHG_PHASE_CONTRACT,
					       PHG_ACCESS_TIGHTEN, 0);
	if (phg_streq(st, "AT_SetNotNull"))
		return column_action(
			a, cmd, PHG_KIND_SET_NOT_NULL, PHG_PHASE_CONTRACT,
			PHG_ACCESS_TIGHTEN,
			rejects_old(a, phg_field_str(cmd, "name")));
	if (phg_streq(st, "AT_DropNotNull"))
		return column_action(a, cmd, PHG_KIND_DROP_NOT_NULL,
				     PHG_PHASE_EXPAND, PHG_ACCESS_RELAX, 0);
	if (phg_streq(st, "AT_DropColumn") ||
	    phg_streq(st, "AT_DropColumnRecurse"))
		return column_action(a, cmd, PHG_KIND_DROP_COLUMN,
				     PHG_PHASE_CONTRACT, PHG_ACCESS_REMOVE, 0);
	if (phg_streq(st, "AT_AlterColumnType"))
		return alter_type(a, cmd);
	if (phg_streq(st, "AT_AddConstraint") ||
	    phg_streq(st, "AT_AddConstraintRecurse"))
		return add_constraint(a, cmd);
	if (phg_streq(st, "AT_ValidateConstraint") ||
	    phg_streq(st, "AT_ValidateConstraintRecurse"))
		return validate_constraint(a, cmd);
	if (phg_streq(st, "AT_DropConstraint") ||
	    phg_streq(st, "AT_DropConstraintRecurse")) {
		int rc = cl_action(a->r, PHG_KIND_DROP_CONSTRAINT,
				   PHG_PHASE_EXPAND, cmd);

		if (rc == 0 && phg_field_str(cmd, "name"))
			rc = cl_object_target(
				a->r,
				phg_qname(a->r->arena, a->schema,
					  phg_field_str(cmd, "name")),
				PHG_ACCESS_REMOVE);
		return rc;
	}
	if (phg_streq(st, "AT_AttachPartition"))
		return partition_action(a, cmd, true);
	if (phg_streq(st, "AT_DetachPartition"))
		return partition_action(a, cmd, false);
	if (phg_streq(st, "AT_EnableRowSecurity") ||
	    phg_streq(st, "AT_ForceRowSecurity"))
		return table_action(a, cmd, PHG_KIND_ENABLE_RLS,
				    PHG_PHASE_CONTRACT, PHG_ACCESS_TIGHTEN);
	if (phg_streq(st, "AT_DisableRowSecurity") ||
	    phg_streq(st, "AT_NoForceRowSecurity"))
		return table_action(a, cmd, PHG_KIND_DISABLE_RLS,
				    PHG_PHASE_EXPAND, PHG_ACCESS_RELAX);
	if (!strncmp(st, "AT_EnableTrig", 13) ||
	    !strncmp(st, "AT_EnableAlwaysTrig", 19) ||
	    !strncmp(st, "AT_EnableReplicaTrig", 20))
		return table_action(a, cmd, PHG_KIND_ENABLE_TRIGGER,
				    PHG_PHASE_EXPAND, PHG_ACCESS_RELAX);
	if (!strncmp(st, "AT_DisableTrig", 14))
		return table_action(a, cmd, PHG_KIND_DISABLE_TRIGGER,
				    PHG_PHASE_CONTRACT, PHG_ACCESS_TIGHTEN);
	if (phg_streq(st, "AT_AddIdentity"))
		return column_action(a, cmd, PHG_KIND_ADD_IDENTITY,
				     PHG_PHASE_EXPAND, PHG_ACCESS_RELAX, 0);
	if (phg_streq(st, "AT_DropIdentity"))
		return column_action(a, cmd, PHG_KIND_DROP_IDENTITY,
				     PHG_PHASE_CONTRACT, PHG_ACCESS_TIGHTEN, 0);
	if (phg_streq(st, "AT_DropExpression"))
		return column_action(a, cmd, PHG_KIND_DROP_EXPRESSION,
				     PHG_PHASE_CONTRACT, PHG_ACCESS_TIGHTEN, 0);
	if (phg_streq(st, "AT_AddInherit"))
		return table_action(a, cmd, PHG_KIND_ADD_INHERIT,
				    PHG_PHASE_EXPAND, PHG_ACCESS_RELAX);
	if (phg_streq(st, "AT_DropInherit"))
		return table_action(a, cmd, PHG_KIND_DROP_INHERIT,
				    PHG_PHASE_CONTRACT, PHG_ACCESS_TIGHTEN);
	return cl_action(a->r, PHG_KIND_ALTER_TABLE_OTHER, PHG_PHASE_NONE, cmd);
}

int cl_alter_table(struct cl_run *r, const cJSON *stmt)
{
	const cJSON *rel = phg_field(stmt, "relation");
	const char *objtype = phg_field_str(stmt, "objtype");
	struct alter_ctx a = {.r = r};
	const cJSON *it;
	int rc = 0;

	a.table = phg_rangevar_qname(r->arena, rel);
	if (!a.table)
		return cl_action(r, PHG_KIND_ALTER_OTHER, PHG_PHASE_NONE, stmt);
	a.schema = phg_field_str(rel, "schemaname");
	a.model_table = phg_model_table(r->model, a.table);
	if (objtype && !phg_streq(objtype, "OBJECT_TABLE") &&
	    !phg_streq(objtype, "OBJECT_FOREIGN_TABLE"))
		return cl_action(r, PHG_KIND_ALTER_OTHER, PHG_PHASE_NONE, stmt);
	cJSON_ArrayForEach(it, phg_field(stmt, "cmds"))
	{
		rc = alter_cmd(&a, phg_node_get(it, "AlterTableCmd"));
		if (rc < 0)
			return rc;
	}
	if (r->nactions == 0)
		rc = cl_action(r, PHG_KIND_ALTER_TABLE_OTHER, PHG_PHASE_NONE,
			       stmt);
	return rc;
}
