/*
 * surroundings.h: private to analyzers/ — what the rules about transactions
 * and locks ask about a statement's surroundings: which tool sends the
 * migration to PostgreSQL and how, whether PostgreSQL sees the statement
 * inside a transaction block, whether more SQL follows it in its file, and
 * which lock it takes on a table that has traffic.
 */
#ifndef PHG_ANALYZERS_SURROUNDINGS_H
#define PHG_ANALYZERS_SURROUNDINGS_H

#include "analyzer.h"

/* How the layout's own tool applies a migration (config runner: external). */
enum phg_rule_tool {
	PHG_TOOL_UNKNOWN, /* numbered files: no tool phasegate knows */
	PHG_TOOL_WRAPS,	  /* dbmate, Diesel: BEGIN ... COMMIT around the file */
	PHG_TOOL_SCRIPT,  /* Prisma, golang-migrate, dbmate transaction:false,
			     Diesel run_in_transaction = false: the whole file
			     as one query string, which PostgreSQL runs as one
			     implicit transaction when it holds several
			     statements */
	PHG_TOOL_FLYWAY	  /* statement by statement, in one transaction unless
			     every statement is one that cannot run in one */
};

/* The tool of the statement's migration; meaningful with runner: external. */
enum phg_rule_tool phg_rule_tool(const struct phg_rule_ctx *ctx);

/* The tool's name for messages ("dbmate", "Prisma"...). */
const char *phg_rule_tool_name(const struct phg_rule_ctx *ctx);

/*
 * Whether SQL follows stmt in its migration (up to the end of the file, or
 * of a dbmate up section): 1 yes, 0 no (stmt is the last statement), -1
 * unknown (the file cannot be read again). Comments, blank space and
 * semicolons do not count. Reads the file from disk, a few hundred bytes
 * at a time, stopping at the first token.
 */
int phg_rule_more_after(const struct phg_rule_ctx *ctx,
			const struct phg_stmt *stmt);

/* Whether stmt shares its migration with another statement: 1, 0, -1. */
int phg_rule_beside_others(const struct phg_rule_ctx *ctx,
			   const struct phg_stmt *stmt);

/* A statement's SQL words for messages ("ALTER TABLE", "LOCK TABLE",
   "UPDATE"), or "statement". Static text. */
const char *phg_rule_stmt_label(const struct phg_stmt *s);

/* The file's BEGIN whose block stmt is in (stmt itself, or one of
   ctx->prev), or NULL when stmt is not in the file's own block. */
const struct phg_stmt *phg_rule_open_begin(const struct phg_rule_ctx *ctx,
					   const struct phg_stmt *stmt);

/*
 * Why PostgreSQL would run a statement that refuses transaction blocks
 * (CREATE INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE before PostgreSQL
 * 12) inside one.
 */
enum phg_rule_block {
	PHG_BLOCK_NONE,	     /* it runs on its own */
	PHG_BLOCK_OWN,	     /* between the file's own BEGIN and COMMIT */
	PHG_BLOCK_PHASEGATE, /* phasegate wraps the migration */
	PHG_BLOCK_TOOL,	     /* dbmate or Diesel wraps the migration */
	PHG_BLOCK_SCRIPT,    /* one query string with other statements */
	PHG_BLOCK_FLYWAY     /* Flyway refuses to mix it with statements
				that run in a transaction */
};

/*
 * Whether stmt, a statement that cannot run in a transaction block, would
 * be in one when the migration is applied, and why. Flyway counts as
 * recognising such statements (its PostgreSQL parser does, for CREATE
 * INDEX CONCURRENTLY and ALTER TYPE ... ADD VALUE).
 */
enum phg_rule_block phg_rule_block_for(const struct phg_rule_ctx *ctx,
				       const struct phg_stmt *stmt);

/*
 * How to make the migration's applier run one statement outside any
 * transaction, as help text to follow "in" ("a migration of its own
 * holding only this statement, whose up section starts with -- migrate:up
 * transaction:false"). Static text.
 */
const char *phg_rule_outside_tx_how(const struct phg_rule_ctx *ctx);

/* Table lock modes that conflict with the running release's traffic. */
enum phg_lock {
	PHG_LOCK_NONE,		 /* none, or weaker than SHARE */
	PHG_LOCK_SHARE,		 /* blocks writes */
	PHG_LOCK_SHARE_ROW_EXCL, /* blocks writes */
	PHG_LOCK_EXCLUSIVE,	 /* blocks writes and SELECT ... FOR UPDATE */
	PHG_LOCK_ACCESS_EXCL	 /* blocks reads and writes */
};

/* The mode as PostgreSQL names it ("ACCESS EXCLUSIVE"). */
const char *phg_rule_lock_name(enum phg_lock mode);

/* "a" or "an", for the mode's name. */
const char *phg_rule_lock_article(enum phg_lock mode);

/* What a statement locks. */
struct phg_rule_lock {
	const char *table; /* schema.name (arena), NULL when no such lock */
	enum phg_lock mode;
};

/*
 * The strongest table lock stmt takes that conflicts with reads or writes
 * (SHARE or stronger), on a table that has traffic while the migration
 * runs (phg_rule_table_existing), and that table: ALTER TABLE (by its
 * subcommands), CREATE INDEX without CONCURRENTLY, CREATE TRIGGER, DROP
 * TABLE, DROP INDEX without CONCURRENTLY, RENAME, TRUNCATE, LOCK TABLE,
 * CLUSTER, VACUUM FULL, REINDEX TABLE. stmt's tree must be alive (for an
 * earlier statement of the file it is, unless the file was parsed
 * statement by statement; then out->table stays NULL). Returns 0, or
 * PHG_ENOMEM.
 */
int phg_rule_traffic_lock(const struct phg_rule_ctx *ctx,
			  const struct phg_stmt *stmt,
			  struct phg_rule_lock *out);

/*
 * Whether stmt is the first statement of its migration that takes a
 * traffic lock (phg_rule_traffic_lock) while no `setting` ("lock_timeout",
 * "statement_timeout") other than 0 is in force, from the file's earlier
 * statements: SET, SET LOCAL in the same transaction, SELECT set_config();
 * RESET, SET ... TO DEFAULT and 0 take it back. Fills *lock with stmt's
 * lock. Returns 1, 0, or PHG_ENOMEM.
 */
int phg_rule_first_lock_without(const struct phg_rule_ctx *ctx,
				const struct phg_stmt *stmt,
				const char *setting,
				struct phg_rule_lock *lock);

#endif
