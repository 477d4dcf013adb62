/*
 * model: the schema catalog, replayed statement by statement over the
 * history and the release so far — schemas, tables, columns (type,
 * nullability, default), constraints (valid or not), indexes, views,
 * functions and types — with the release in which each was created. Rules
 * ask it questions ("did this table exist before the release?") instead of
 * working them out again.
 */
#ifndef PHG_MODEL_H
#define PHG_MODEL_H

#include "../parse/parse.h"

/* Release number of objects no migration created (they are in production). */
#define PHG_ORIGIN_PRODUCTION (-1)

struct phg_column {
	const char *name;
	const char *type; /* last part of the type name: "varchar", "text" */
	int typmods[2];	  /* e.g. varchar(n): {n, -1}; numeric(p,s): {p, s};
			     -1 when absent */
	bool is_array;
	bool not_null;
	bool has_default; /* a non-NULL default, identity, serial or
			     generated value */
	int origin;
};

enum phg_contype {
	PHG_CON_CHECK,
	PHG_CON_FOREIGN,
	PHG_CON_UNIQUE,
	PHG_CON_PRIMARY,
	PHG_CON_EXCLUSION,
	PHG_CON_OTHER
};

struct phg_constraint {
	const char *name;
	enum phg_contype type;
	bool valid;
	const char *not_null_column; /* CHECK (col IS NOT NULL): col */
	const char **columns;	     /* the table's columns it binds */
	size_t ncolumns;
	int origin;
};

struct phg_index {
	const char *qname; /* schema.name */
	const char *table; /* schema.table */
	bool unique;
	const char **columns; /* plain column keys, in order */
	size_t ncolumns;
	int origin;
};

struct phg_table {
	const char *schema, *name, *qname;
	int origin;   /* PHG_ORIGIN_PRODUCTION when no migration created it */
	bool known;   /* a migration created it, so its columns are known */
	bool is_view; /* a view or materialized view */
	struct phg_vec columns;	    /* struct phg_column * */
	struct phg_vec constraints; /* struct phg_constraint * */
};

struct phg_model {
	struct phg_arena *arena;
	struct phg_map tables;	    /* qname -> struct phg_table */
	struct phg_map indexes;	    /* qname -> struct phg_index */
	struct phg_map objects;	    /* other qualified names (functions,
				       types, sequences, schemas) ->
				       origin + 2, as a pointer-sized int */
	struct phg_map constraints; /* schema.constraint -> constraint */
};

/* Starts an empty catalog whose memory comes from arena. */
void phg_model_init(struct phg_model *m, struct phg_arena *arena);
void phg_model_release(struct phg_model *m);

/*
 * Applies one classified statement (its tree must be alive) made in release
 * number `release`. Unknown statements change nothing. Returns 0 or
 * PHG_ENOMEM.
 */
int phg_model_apply(struct phg_model *m, const struct phg_stmt *stmt,
		    int release);

/* Builds "schema.name" (schema NULL or "" means public) in arena. */
const char *phg_qname(struct phg_arena *arena, const char *schema,
		      const char *name);
/* Builds "schema.table.column" in arena. */
const char *phg_colname(struct phg_arena *arena, const char *table_qname,
			const char *column);

/* The table or view named schema.name, or NULL. */
struct phg_table *phg_model_table(const struct phg_model *m, const char *qname);
/* The table's column, or NULL. */
struct phg_column *phg_model_column(const struct phg_table *t,
				    const char *name);
/* The table's constraint, or NULL. */
struct phg_constraint *phg_model_constraint(const struct phg_table *t,
					    const char *name);
/* The index named schema.name, or NULL. */
struct phg_index *phg_model_index(const struct phg_model *m, const char *qname);

/*
 * The release that created a table (schema.name): its origin, or
 * PHG_ORIGIN_PRODUCTION when no migration created it.
 */
int phg_model_table_origin(const struct phg_model *m, const char *qname);
/* Same for a column of a table. */
int phg_model_column_origin(const struct phg_model *m, const char *qname,
			    const char *column);
/* The origin of another named object (function, type, view...), or
 * PHG_ORIGIN_PRODUCTION when unknown; *known says whether it was seen. */
int phg_model_object_origin(const struct phg_model *m, const char *qname,
			    bool *known);

/* Whether the table has a validated CHECK (column IS NOT NULL). */
bool phg_model_has_valid_not_null_check(const struct phg_table *t,
					const char *column);
/* Whether some index of the table starts with these columns. */
bool phg_model_has_index_on(const struct phg_model *m, const char *table_qname,
			    const char *const *columns, size_t ncolumns);

#endif
