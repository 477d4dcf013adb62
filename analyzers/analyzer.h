/*
 * analyzer: the rule interface. Each rule is one file in analyzers/ defining
 * one `const struct phg_analyzer`, listed in registry.c (sorted by id). A
 * statement-stage rule sees one classified statement, the schema model as it
 * was before it, and the release context; a release-stage rule (the gate's
 * rules) sees the whole release as src/gate/ summarises it. Rules report
 * findings with a message and the safe alternative (help).
 */
#ifndef PHG_ANALYZER_H
#define PHG_ANALYZER_H

#include "classify/classify.h"
#include "config/config.h"
#include "gate/gate.h"
#include "model/model.h"
#include "source/source.h"

/* When a rule runs. ("phase" already means expand/backfill/contract.) */
enum phg_stage { PHG_STAGE_STATEMENT, PHG_STAGE_RELEASE };

/*
 * A column that a statement declares (CREATE TABLE's, ADD COLUMN's), as
 * the rules on column types read it: read once per statement.
 */
struct phg_rule_column {
	const cJSON *def;    /* its ColumnDef */
	const char *name;    /* never NULL */
	const char *builtin; /* its type when PostgreSQL's own (pg_catalog.x
				or x), else NULL */
	int typmod; /* its first type modifier (varchar(n): n), or -1 */
	bool array; /* declared as an array */
	bool added; /* by ADD COLUMN (else by CREATE TABLE) */
};

/* What a rule sees besides the statement. */
struct phg_rule_ctx {
	struct phg_arena *arena;
	struct phg_findings *findings;
	const struct phg_model *model; /* as before the statement */
	int release;		       /* the statement's release */
	int postgres_version;
	enum phg_contract_timing contract;
	enum phg_runner_kind runner;
	const struct phg_migration *migration; /* NULL for release rules */
	bool after_cutover;  /* this migration runs after the cutover */
	bool in_transaction; /* the statement runs inside a transaction: its
				file's own BEGIN block, or the one whoever
				applies the file wraps it in */
	const struct phg_stmt *const *prev; /* the file's statements before
					       this one (statement rules) */
	size_t nprev;
	const char *text; /* the migration file's text while it is linted:
			     statement offsets index it (NULL: unknown) */
	size_t text_len;
	/* The columns the statement declares, in order (statement rules). */
	const struct phg_rule_column *columns;
	size_t ncolumns;
	enum phg_severity severity;  /* the rule's severity in this run */
	const struct phg_gate *gate; /* release rules only */
};

struct phg_analyzer;
typedef int (*phg_stmt_check_fn)(const struct phg_analyzer *self,
				 const struct phg_rule_ctx *ctx,
				 const struct phg_stmt *stmt);
typedef int (*phg_release_check_fn)(const struct phg_analyzer *self,
				    const struct phg_rule_ctx *ctx);

struct phg_analyzer {
	const char
		*id; /* kebab-case, e.g. "require-concurrent-index-creation" */
	enum phg_stage stage;
	enum phg_severity severity;	    /* default */
	const char *summary;		    /* one line, for --help and docs */
	phg_stmt_check_fn check_stmt;	    /* PHG_STAGE_STATEMENT */
	phg_release_check_fn check_release; /* PHG_STAGE_RELEASE */
	/*
	 * The hazard is a lock held, or a table scanned or rewritten, for a
	 * time that grows with the table: with `lint --stats`, a finding on
	 * a table under the stats thresholds is lowered from error to
	 * warning. Never set on compatibility rules (the gate's, renames,
	 * type changes): those break the old release whatever the size.
	 */
	bool scales_with_table;
	/*
	 * The statement kinds a statement-stage rule looks at, written
	 * PHG_RULE_KINDS(PHG_KIND_..., ...): the rule is called only for a
	 * statement whose kind, or one of whose actions' kinds, is listed.
	 * None listed: it is called for every statement. (A rule that reads
	 * the tree by node type, or every statement, lists none.)
	 */
	const enum phg_kind *kinds;
	size_t nkinds;
};

#define PHG_RULE_KINDS(...)                                                    \
	.kinds = (const enum phg_kind[]){__VA_ARGS__},                         \
	.nkinds = sizeof((const enum phg_kind[]){__VA_ARGS__}) /               \
		  sizeof(enum phg_kind)

/* Every rule, sorted by id, NULL-terminated. */
extern const struct phg_analyzer *const phg_analyzers[];

/* The rule with this id, or NULL. */
const struct phg_analyzer *phg_analyzer_find(const char *id);

/*
 * Rules that are findings of the parser rather than analyzers: they are in
 * the registry so that docs, config and suppression know them.
 */
#define PHG_RULE_SYNTAX_ERROR "syntax-error"
#define PHG_RULE_INVALID_ENCODING "invalid-encoding"
#define PHG_RULE_UNANALYZABLE "unanalyzable-statement"

/*
 * Reports a finding of rule `self` at stmt's first token, with the rule's
 * severity in this run. message and help are printf formats. Returns 0 or
 * PHG_ENOMEM.
 */
int phg_rule_report(const struct phg_analyzer *self,
		    const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt,
		    const char *help, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Whether a table (schema.name) counts as existing for lock and rewrite
 * rules: created before the statement's release, never created by a
 * migration (in production), or created in this release by a migration that
 * runs after the cutover.
 */
bool phg_rule_table_existing(const struct phg_rule_ctx *ctx,
			     const char *table_qname);

/*
 * Fills out[0, max) with the columns stmt (tree alive) declares, in order:
 * each ADD COLUMN's, each of a CREATE TABLE's. Returns how many there are
 * (more than max: call again with room for them).
 */
size_t phg_rule_read_columns(const struct phg_stmt *stmt,
			     struct phg_rule_column *out, size_t max);

/* The table of the statement's first action (ALTER TABLE, CREATE INDEX...),
   as schema.name, or NULL. */
const char *phg_rule_stmt_table(const struct phg_rule_ctx *ctx,
				const struct phg_stmt *stmt);

/* What a column-type rule does with one column it matched: table is the
   statement's table (schema.name), rel the relation as the statement names
   it. Returns 0 or PHG_ENOMEM. */
typedef int (*phg_rule_column_fn)(const struct phg_analyzer *self,
				  const struct phg_rule_ctx *ctx,
				  const struct phg_stmt *stmt,
				  const char *table, const cJSON *rel,
				  const struct phg_rule_column *cd);

/*
 * The check of a rule on column types: calls fn for every column the
 * statement declares (ctx->columns, in order) that match accepts, with the
 * statement's table, named once, at the first match (a statement without
 * one reports nothing). Stops at fn's first non-zero result.
 */
int phg_rule_each_column(const struct phg_analyzer *self,
			 const struct phg_rule_ctx *ctx,
			 const struct phg_stmt *stmt,
			 bool (*match)(const struct phg_rule_column *cd),
			 phg_rule_column_fn fn);

/*
 * The help of ban-char-field and prefer-text-field: declare the column
 * text with CHECK (cond) — inline in CREATE TABLE or on a new table, in
 * three steps on a table that has traffic (existing: an inline CHECK there
 * would scan it under an ACCESS EXCLUSIVE lock). In arena; NULL when out of
 * memory or cond is NULL.
 */
const char *phg_rule_text_help(struct phg_arena *arena, const cJSON *rel,
			       const char *col, const char *cond, bool added,
			       bool existing);

/*
 * The statement's kind as SQL words for messages ("SET NOT NULL",
 * "UPDATE"), or the kind's name when there is no short SQL for it.
 */
const char *phg_rule_kind_label(enum phg_kind kind);

/*
 * An identifier as SQL for a help text: as is when PostgreSQL would keep it
 * unquoted, else double-quoted ("Invoice"). In arena; NULL stays NULL.
 */
const char *phg_rule_sql_ident(struct phg_arena *arena, const char *s);
/* A RangeVar's relation as SQL, schema-qualified when written so. */
const char *phg_rule_sql_relation(struct phg_arena *arena, const cJSON *rv);

/*
 * unused-ignore, judged once every rule has reported: each statement of
 * stmts whose own ignore comment names an unknown rule, or a rule that
 * suppressed nothing there, gets a finding (ctx->severity applies).
 */
int phg_rule_check_unused_ignores(const struct phg_rule_ctx *ctx,
				  const struct phg_vec *stmts);

#endif
