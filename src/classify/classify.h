/*
 * classify: one pass over a statement's tree sets its phase (expand,
 * backfill, contract, none), its kind, its actions (one per ALTER TABLE
 * subcommand) and its targets ({object, access}), asking the schema model
 * about what existed before it. Analyzers read the result, never the raw
 * statement type again; the expression helpers here answer the questions
 * rules share (is this default volatile? is this type change a widening?).
 */
#ifndef PHG_CLASSIFY_H
#define PHG_CLASSIFY_H

#include "../model/model.h"

/*
 * Classifies stmt (whose tree must be alive) as part of release number
 * `release`, with the model as it is before the statement. Statements that
 * could not be parsed get phase none and kind unknown. Targets and actions
 * are allocated from arena. Returns 0 or PHG_ENOMEM.
 */
int phg_classify(struct phg_stmt *stmt, const struct phg_model *model,
		 int release, struct phg_arena *arena);

/*
 * Whether a statement cannot run inside a transaction block (CONCURRENTLY,
 * VACUUM...), from its tree alone: the cheap question a first pass over a
 * file asks.
 */
bool phg_stmt_no_transaction(const cJSON *tree);

/*
 * "schema.name" of a RangeVar node (its inner object, or {"RangeVar":...}),
 * public when bare, allocated from arena; NULL when rangevar is NULL.
 */
const char *phg_rangevar_qname(struct phg_arena *arena, const cJSON *rangevar);

/* "schema.name" of a name list ([catalog,] [schema,] name), in arena. */
const char *phg_list_qname(struct phg_arena *arena, const cJSON *list);

/*
 * The name of one object of a DropStmt's "objects" list, as targets name it
 * ("schema.name"; bare for schemas and extensions), in arena; type is the
 * DropStmt's removeType.
 */
const char *phg_drop_object_name(struct phg_arena *arena, const char *type,
				 const cJSON *obj);

/*
 * Whether evaluating expr may give a different value per row: a call of a
 * volatile function (random(), gen_random_uuid(), clock_timestamp(),
 * nextval(), ...) or of a function phasegate does not know. Constants,
 * casts, now() and other stable or immutable built-ins are not.
 */
bool phg_expr_is_volatile(const cJSON *expr);

/* The volatile function called in expr (for messages), or NULL. */
const char *phg_expr_volatile_function(const cJSON *expr);

/* The DEFAULT expression among a ColumnDef's constraints, or NULL. */
const cJSON *phg_coldef_default(const cJSON *coldef);
/* Whether a ColumnDef has a constraint of this contype ("CONSTR_..."). */
bool phg_coldef_has(const cJSON *coldef, const char *contype);
/* Whether a ColumnDef's type is serial, bigserial or smallserial. */
bool phg_coldef_is_serial(const cJSON *coldef);

/*
 * Whether changing a column of type old_type(old_mods) to the TypeName node
 * new_type needs no rewrite and keeps every old value: varchar(n) -> text or
 * varchar(m > n), numeric(p, s) -> numeric(q > p, s), and the like.
 */
bool phg_type_is_widening(const struct phg_column *old, const cJSON *new_type);

/* Fills col's type fields from a TypeName node. */
void phg_type_read(const cJSON *type_name, struct phg_column *col);

/*
 * The column a CHECK expression requires to be non-NULL (a top-level
 * "col IS NOT NULL", possibly AND-ed with more), or NULL.
 */
const char *phg_check_not_null_column(const cJSON *expr);

#endif
