/*
 * internal.h: private to classify/ — the state of one statement's
 * classification and the helpers that add actions and targets.
 */
#ifndef PHG_CLASSIFY_INTERNAL_H
#define PHG_CLASSIFY_INTERNAL_H

#include "classify.h"

struct cl_run {
	const struct phg_model *model;
	struct phg_arena *arena;
	int release;
	struct phg_stmt *stmt;
	enum phg_phase phase; /* phase of the action being classified */
	struct phg_action *actions;
	size_t nactions, capactions;
	struct phg_target *targets;
	size_t ntargets, captargets;
};

/* Adds an action and makes its phase the current one for targets. */
int cl_action(struct cl_run *r, enum phg_kind kind, enum phg_phase phase,
	      const cJSON *node);
/* Adds a target with an explicit origin. */
int cl_target(struct cl_run *r, const char *object, enum phg_access access,
	      unsigned flags, int origin);
/* Adds a table target; its origin comes from the model. */
int cl_table_target(struct cl_run *r, const char *qname,
		    enum phg_access access);
/* Adds a column target table.column; its origin comes from the model. */
int cl_column_target(struct cl_run *r, const char *table, const char *column,
		     enum phg_access access, unsigned flags);
/* Adds a target for another named object (function, type, index...). */
int cl_object_target(struct cl_run *r, const char *qname,
		     enum phg_access access);
/*
 * Adds read targets for the columns expr uses, resolved against relation
 * (a RangeVar, may be NULL) and the relations of a FROM list (may be NULL).
 */
int cl_reads(struct cl_run *r, const cJSON *relation, const cJSON *from,
	     const cJSON *expr);

/* ALTER TABLE: one action per subcommand (alter.c). */
int cl_alter_table(struct cl_run *r, const cJSON *stmt);

#endif
