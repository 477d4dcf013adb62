/*
 * parse: turns one migration's text into statements with libpg_query. Each
 * statement keeps its file, line and column (first token, code points), its
 * ignore comments and its parse tree (cJSON, alive only while its file is
 * processed). Bad input becomes findings, never a crash: syntax-error,
 * invalid-encoding, unanalyzable-statement.
 */
#ifndef PHG_PARSE_H
#define PHG_PARSE_H

#include <cjson/cJSON.h>

#include "../util/util.h"

/* Expand-contract phase; the order is the strength (contract strongest). */
enum phg_phase {
	PHG_PHASE_NONE = 0,
	PHG_PHASE_EXPAND = 1,
	PHG_PHASE_BACKFILL = 2,
	PHG_PHASE_CONTRACT = 3
};
const char *phg_phase_name(enum phg_phase phase);

/* How a statement touches an object. */
enum phg_access {
	PHG_ACCESS_CREATE,
	PHG_ACCESS_WRITE,
	PHG_ACCESS_READ,
	PHG_ACCESS_REMOVE,
	PHG_ACCESS_TIGHTEN,
	PHG_ACCESS_RELAX
};
const char *phg_access_name(enum phg_access access);

/* What a statement or action does; the name is what the JSON report shows. */
#define PHG_KINDS(X)                                                           \
	X(UNKNOWN, "unknown")                                                  \
	X(CREATE_TABLE, "create_table")                                        \
	X(CREATE_TABLE_AS, "create_table_as")                                  \
	X(CREATE_MATVIEW, "create_materialized_view")                          \
	X(CREATE_VIEW, "create_view")                                          \
	X(REPLACE_VIEW, "replace_view")                                        \
	X(CREATE_FUNCTION, "create_function")                                  \
	X(REPLACE_FUNCTION, "replace_function")                                \
	X(CREATE_TRIGGER, "create_trigger")                                    \
	X(CREATE_SEQUENCE, "create_sequence")                                  \
	X(CREATE_SCHEMA, "create_schema")                                      \
	X(CREATE_EXTENSION, "create_extension")                                \
	X(CREATE_TYPE, "create_type")                                          \
	X(CREATE_DOMAIN, "create_domain")                                      \
	X(CREATE_POLICY, "create_policy")                                      \
	X(CREATE_INDEX, "create_index")                                        \
	X(CREATE_UNIQUE_INDEX, "create_unique_index")                          \
	X(CREATE_OTHER, "create_other")                                        \
	X(ADD_COLUMN, "alter_table.add_column")                                \
	X(DROP_COLUMN, "alter_table.drop_column")                              \
	X(SET_DEFAULT, "alter_table.set_default")                              \
	X(DROP_DEFAULT, "alter_table.drop_default")                            \
	X(SET_NOT_NULL, "alter_table.set_not_null")                            \
	X(DROP_NOT_NULL, "alter_table.drop_not_null")                          \
	X(ALTER_COLUMN_TYPE, "alter_table.alter_column_type")                  \
	X(ADD_CHECK, "alter_table.add_check")                                  \
	X(ADD_FOREIGN_KEY, "alter_table.add_foreign_key")                      \
	X(ADD_UNIQUE, "alter_table.add_unique")                                \
	X(ADD_PRIMARY_KEY, "alter_table.add_primary_key")                      \
	X(ADD_EXCLUSION, "alter_table.add_exclusion")                          \
	X(ADD_CONSTRAINT_OTHER, "alter_table.add_constraint")                  \
	X(VALIDATE_CONSTRAINT, "alter_table.validate_constraint")              \
	X(DROP_CONSTRAINT, "alter_table.drop_constraint")                      \
	X(ATTACH_PARTITION, "alter_table.attach_partition")                    \
	X(DETACH_PARTITION, "alter_table.detach_partition")                    \
	X(ENABLE_RLS, "alter_table.enable_row_level_security")                 \
	X(DISABLE_RLS, "alter_table.disable_row_level_security")               \
	X(ENABLE_TRIGGER, "alter_table.enable_trigger")                        \
	X(DISABLE_TRIGGER, "alter_table.disable_trigger")                      \
	X(ADD_IDENTITY, "alter_table.add_identity")                            \
	X(DROP_IDENTITY, "alter_table.drop_identity")                          \
	X(DROP_EXPRESSION, "alter_table.drop_expression")                      \
	X(ADD_INHERIT, "alter_table.inherit")                                  \
	X(DROP_INHERIT, "alter_table.no_inherit")                              \
	X(ALTER_TABLE_OTHER, "alter_table.other")                              \
	X(ALTER_TABLE, "alter_table")                                          \
	X(ADD_ENUM_VALUE, "alter_type.add_value")                              \
	X(RENAME_ENUM_VALUE, "alter_type.rename_value")                        \
	X(ALTER_DOMAIN_ADD_CONSTRAINT, "alter_domain.add_constraint")          \
	X(ALTER_DOMAIN_OTHER, "alter_domain.other")                            \
	X(ALTER_OTHER, "alter_other")                                          \
	X(RENAME_TABLE, "rename_table")                                        \
	X(RENAME_COLUMN, "rename_column")                                      \
	X(RENAME_INDEX, "rename_index")                                        \
	X(RENAME_CONSTRAINT, "rename_constraint")                              \
	X(RENAME_OTHER, "rename_other")                                        \
	X(SET_SCHEMA, "set_schema")                                            \
	X(DROP_TABLE, "drop_table")                                            \
	X(DROP_INDEX, "drop_index")                                            \
	X(DROP_VIEW, "drop_view")                                              \
	X(DROP_FUNCTION, "drop_function")                                      \
	X(DROP_TYPE, "drop_type")                                              \
	X(DROP_TRIGGER, "drop_trigger")                                        \
	X(DROP_POLICY, "drop_policy")                                          \
	X(DROP_SCHEMA, "drop_schema")                                          \
	X(DROP_SEQUENCE, "drop_sequence")                                      \
	X(DROP_DATABASE, "drop_database")                                      \
	X(DROP_OTHER, "drop_other")                                            \
	X(GRANT, "grant")                                                      \
	X(REVOKE, "revoke")                                                    \
	X(INSERT, "insert")                                                    \
	X(UPDATE, "update")                                                    \
	X(DELETE, "delete")                                                    \
	X(MERGE, "merge")                                                      \
	X(COPY_FROM, "copy_from")                                              \
	X(COPY_TO, "copy_to")                                                  \
	X(TRUNCATE, "truncate")                                                \
	X(REFRESH_MATVIEW, "refresh_materialized_view")                        \
	X(SETVAL, "setval")                                                    \
	X(CALL, "call")                                                        \
	X(SELECT, "select")                                                    \
	X(SET, "set")                                                          \
	X(BEGIN, "begin")                                                      \
	X(COMMIT, "commit")                                                    \
	X(ROLLBACK, "rollback")                                                \
	X(TRANSACTION_OTHER, "transaction_other")                              \
	X(COMMENT, "comment")                                                  \
	X(ANALYZE, "analyze")                                                  \
	X(VACUUM, "vacuum")                                                    \
	X(REINDEX, "reindex")                                                  \
	X(CLUSTER, "cluster")                                                  \
	X(LOCK, "lock")                                                        \
	X(DO, "do")                                                            \
	X(OTHER, "other")

#define PHG_KIND_ENUM(id, name) PHG_KIND_##id,
enum phg_kind { PHG_KINDS(PHG_KIND_ENUM) PHG_KIND_COUNT };
#undef PHG_KIND_ENUM
const char *phg_kind_name(enum phg_kind kind);

/* Target flags. */
#define PHG_TF_REJECTS_OLD                                                     \
	1u		 /* the tightening rejects what old writers put        \
			    there (NULL or the default) */
#define PHG_TF_COLUMN 2u /* the object is a column */
#define PHG_TF_TABLE 4u	 /* the object is a table (or view) */
#define PHG_TF_EXISTING_TABLE                                                  \
	8u /* a column of a table that existed before                          \
	      the statement's release */

/* An object a statement touches: "schema.table.column" or "schema.name". */
struct phg_target {
	const char *object;
	enum phg_access access;
	unsigned flags;
	int origin; /* release that created it; -1 = before any migration */
	enum phg_phase phase; /* the phase of the action that touches it */
};

/* One action of a statement (an ALTER TABLE has one per subcommand). */
struct phg_action {
	enum phg_kind kind;
	enum phg_phase phase;
	const cJSON *node; /* the action's node (AlterTableCmd, or the stmt) */
};

/* Why a statement could not be analysed. */
enum phg_stmt_state {
	PHG_STMT_OK,
	PHG_STMT_SYNTAX_ERROR,
	PHG_STMT_UNANALYZABLE
};

struct phg_stmt {
	const char *file;	 /* display path (borrowed for the run) */
	int index;		 /* 0-based within its file */
	int line, col;		 /* first token, 1-based, col in code points */
	size_t offset, len;	 /* byte range in the file, from first token */
	const char *source_line; /* the text of line `line` (arena) */
	enum phg_stmt_state state;
	const cJSON *tree;     /* the statement node, e.g. {"UpdateStmt":{...}};
				  NULL once its file is done */
	const char *node_type; /* "UpdateStmt", ... (static or arena) */
	const char **ignores;  /* rule ids from ignore comments: the
				  statement's own, then the file's */
	size_t nignores;
	size_t nlocal_ignores; /* how many of them are the statement's own */
	bool ignore_without_reason; /* an ignore comment gave no reason */
	int ignore_line;	    /* line of the ignore comment */

	/* Filled by classify. */
	enum phg_phase phase;
	enum phg_kind kind; /* the action's kind, or ALTER_TABLE_OTHER... for
			       several actions: see nactions */
	struct phg_action *actions;
	size_t nactions;
	struct phg_target *targets;
	size_t ntargets;
	bool no_transaction;	   /* cannot run in a transaction (CONCURRENTLY,
				      VACUUM, ...) */
	bool in_transaction_block; /* between the file's own BEGIN/COMMIT */
	bool opens_transaction, closes_transaction;
	bool analysis_warning; /* a DO block that could not be analysed */
};

/* The statements of one file. */
struct phg_parsed_file {
	const char *file;
	struct phg_stmt **stmts; /* arena-allocated, in order */
	size_t n, cap;
	bool encoding_error; /* invalid-encoding: nothing was parsed */
};

/*
 * Called once per statement, in order, while its tree is alive; a negative
 * return stops parsing and is returned by phg_parse_file.
 */
typedef int (*phg_stmt_fn)(struct phg_stmt *stmt, void *ctx);

/*
 * Parses text[start, end) of file (text is the whole file, NUL-terminated at
 * len; start/end select e.g. a dbmate up section), so lines and columns are
 * the file's own. A BOM at start is skipped; CRLF is fine. A NUL byte or
 * invalid UTF-8 adds an invalid-encoding finding at the first bad byte and
 * nothing of the file is parsed; a syntax error adds a syntax-error finding
 * and parsing goes on with the next statement; a statement too deep to read
 * adds unanalyzable-statement. Each statement is passed to fn (may be NULL)
 * while its tree lives; large files are parsed statement by statement so
 * memory follows the largest statement. Statements and findings are
 * allocated from arena and stay in out after the trees are freed. Returns 0,
 * fn's negative result, or PHG_ENOMEM.
 */
int phg_parse_file(const char *file, const char *text, size_t len, size_t start,
		   size_t end, struct phg_arena *arena,
		   struct phg_findings *findings, phg_stmt_fn fn, void *ctx,
		   struct phg_parsed_file *out, struct phg_err *err);

/*
 * Like phg_parse_file, but first calls pre (may be NULL) for every
 * statement of the file, then fn for every statement, trees alive in both
 * passes — so a caller can learn file-wide facts (a statement that cannot
 * run in a transaction, the strongest phase) before judging statements.
 * Files parsed statement by statement (large or malformed ones) call pre and
 * fn back to back for each statement instead.
 */
int phg_parse_file2(const char *file, const char *text, size_t len,
		    size_t start, size_t end, struct phg_arena *arena,
		    struct phg_findings *findings, phg_stmt_fn pre,
		    phg_stmt_fn fn, void *ctx, struct phg_parsed_file *out,
		    struct phg_err *err);

/*
 * Reads the SQL a DO block (outer, tree alive) runs: calls fn for each
 * embedded statement, as a copy of outer (same place) whose tree is alive
 * during the call and until this function returns. Returns 0 when the whole
 * block could be read, 1 when it cannot be analysed (another language,
 * dynamic SQL, a statement that does not parse; fn may have been called for
 * some statements), or fn's negative result.
 */
int phg_parse_do_block(const struct phg_stmt *outer, phg_stmt_fn fn, void *ctx);

/*
 * Like phg_parse_do_block, and each embedded statement is placed where it
 * is written: text[0, len) is outer's whole file (outer->offset counts in
 * it), and each statement gets its own line, column (code points), byte
 * range, source line and ignore comments — those written inside the body
 * on the lines right above it are its own (nlocal_ignores), the block's
 * follow and still suppress. The trees of statements already handed to fn
 * stay alive until the walk returns, so fn may keep the statements it saw
 * for later ones. arena holds the source lines and ignore lists. When the
 * body cannot be found in text (text NULL, a quoting phasegate does not
 * read), statements stay at the block's place. With a body in '...' quotes
 * that holds escapes, the line comes from PL/pgSQL's numbering and the
 * column from the statement's first word on that line. Returns as
 * phg_parse_do_block, or PHG_ENOMEM.
 */
int phg_parse_do_block_placed(const struct phg_stmt *outer, const char *text,
			      size_t len, struct phg_arena *arena,
			      phg_stmt_fn fn, void *ctx);

/*
 * Both read a block's body once per tree epoch (phg_json_epoch): the
 * classifier, the model and lint all ask. This frees what is kept (at
 * exit; an epoch's end drops it too).
 */
void phg_parse_do_cache_release(void);

/*
 * cJSON trees come from a bump arena (jsonmem.c) unless PHG_ARENA_MALLOC=1.
 * phg_json_arena_on installs it on first use and says whether it is on;
 * phg_json_delete frees a tree (a no-op with the arena); phg_json_reset
 * drops every tree at once — call it only when no tree is in use;
 * phg_json_shutdown frees the arena at exit.
 */
bool phg_json_arena_on(void);
/* Memory for a tree node or string: the arena, or malloc without it. */
void *phg_json_alloc(size_t n);
/*
 * Reads a JSON document (libpg_query's output) into cJSON nodes allocated
 * with phg_json_alloc; NULL when it is not valid JSON or nests deeper than
 * the reader allows. Free with phg_json_delete.
 */
cJSON *phg_json_parse(const char *text);
void phg_json_delete(cJSON *doc);
void phg_json_reset(void);
/* Counts phg_json_reset calls: a tree made in an earlier epoch is gone. */
unsigned long phg_json_epoch(void);
void phg_json_shutdown(void);

/*
 * Frees libpg_query's memory at exit (for clean leak reports); does nothing
 * when no file was parsed, where pg_query_exit would crash.
 */
void phg_parse_shutdown(void);

/* Frees out's own memory (the statements belong to the arena). */
void phg_parse_release(struct phg_parsed_file *out);

/*
 * Tree helpers, so node names live in one place. A node is either one
 * object whose valuestring is its type and whose children are its fields
 * (trees built from parse nodes) or {"Type": {fields}} (trees read from
 * JSON); these read both. phg_node_get returns the object holding the
 * node's fields when type matches, else NULL.
 */
const cJSON *phg_node_get(const cJSON *node, const char *type);
/* Returns the node's type name, or NULL. */
const char *phg_node_type(const cJSON *node);
/* Returns the object holding the node's fields, whatever the type. */
const cJSON *phg_node_inner(const cJSON *node);
/* Returns obj[key] or NULL. */
const cJSON *phg_field(const cJSON *obj, const char *key);
/* Returns obj[key] as a string, or NULL. */
const char *phg_field_str(const cJSON *obj, const char *key);
/* Returns obj[key] as an int, or dflt when absent. */
int phg_field_int(const cJSON *obj, const char *key, int dflt);
/* Returns obj[key] as a bool (absent = false). */
bool phg_field_bool(const cJSON *obj, const char *key);
/* Returns the String sval of a {"String":{"sval":...}} node, or NULL. */
const char *phg_node_sval(const cJSON *node);

#endif
