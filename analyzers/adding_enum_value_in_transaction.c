/*
 * adding_enum_value_in_transaction.c: ALTER TYPE ... ADD VALUE where
 * PostgreSQL would run it inside a transaction block, before PostgreSQL 12
 * (postgres_version < 12). Until 12, PostgreSQL refuses it there ("ALTER
 * TYPE ... ADD cannot run inside a transaction block"), unless the type
 * was created in the same transaction; the migration fails at deploy time.
 * From 12 it may run in a transaction (the new value cannot be used until
 * the transaction commits).
 */
#include "surroundings.h"

#include <string.h>

/* The enum type the statement changes (schema.name), or NULL. */
static const char *enum_type(const struct phg_stmt *stmt)
{
	for (size_t i = 0; i < stmt->ntargets; i++)
		if (stmt->targets[i].access == PHG_ACCESS_RELAX)
			return stmt->targets[i].object;
	return NULL;
}

/*
 * Whether an earlier statement of the same transaction created the type
 * (then PostgreSQL before 12 allows ADD VALUE): back to the block's BEGIN,
 * or to the last COMMIT, or to the start of a wrapped file.
 */
static bool created_in_same_tx(const struct phg_rule_ctx *ctx, const char *type)
{
	for (size_t i = ctx->nprev; i > 0; i--) {
		const struct phg_stmt *p = ctx->prev[i - 1];

		if (p->closes_transaction)
			return false;
		if (p->kind == PHG_KIND_CREATE_TYPE)
			for (size_t k = 0; k < p->ntargets; k++)
				if (p->targets[k].access == PHG_ACCESS_CREATE &&
				    phg_streq(p->targets[k].object, type))
					return true;
		if (p->opens_transaction)
			return false;
	}
	return false;
}

/* Where the statement runs, for the message. */
static const char *where(const struct phg_rule_ctx *ctx,
			 const struct phg_stmt *stmt, enum phg_rule_block why)
{
	const struct phg_stmt *begin;
	const struct phg_migration *m = ctx->migration;

	switch (why) {
	case PHG_BLOCK_OWN:
		begin = phg_rule_open_begin(ctx, stmt);
		return phg_arena_printf(ctx->arena,
					"inside the transaction block that "
					"BEGIN at line %d opens",
					begin ? begin->line : stmt->line);
	case PHG_BLOCK_PHASEGATE:
		return "inside the transaction phasegate applies it in";
	case PHG_BLOCK_TOOL:
		return m && m->layout == PHG_LAYOUT_DIESEL
			       ? "inside the transaction Diesel applies every "
				 "migration in (no metadata.toml beside up.sql "
				 "says run_in_transaction = false)"
			       : "inside the transaction dbmate applies every "
				 "migration in (the -- migrate:up line does "
				 "not say transaction:false)";
	case PHG_BLOCK_SCRIPT:
		return phg_arena_printf(
			ctx->arena,
			"inside the implicit transaction of the one query "
			"string %s sends for the whole migration (it holds "
			"other statements)",
			phg_rule_tool_name(ctx));
	case PHG_BLOCK_FLYWAY:
	case PHG_BLOCK_NONE:
		break;
	}
	return NULL;
}

static int check(const struct phg_analyzer *self,
		 const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt)
{
	const cJSON *st = stmt->nactions ? stmt->actions[0].node : NULL;
	const char *type, *value, *help, *how, *place;
	enum phg_rule_block why;

	if (stmt->kind != PHG_KIND_ADD_ENUM_VALUE ||
	    ctx->postgres_version >= 12)
		return 0;
	type = enum_type(stmt);
	why = phg_rule_block_for(ctx, stmt);
	if (!type || why == PHG_BLOCK_NONE)
		return 0;
	if (why != PHG_BLOCK_FLYWAY && created_in_same_tx(ctx, type))
		return 0;
	value = phg_field_str(st, "newVal");
	if (ctx->runner == PHG_RUNNER_PHASEGATE)
		/* phasegate runs every statement it may in a transaction. */
		how = phg_arena_printf(
			ctx->arena,
			"%sphasegate applies each statement that PostgreSQL "
			"lets run in a transaction inside one, and it does not "
			"yet treat ADD VALUE before PostgreSQL 12 as one that "
			"cannot, so apply this statement by hand in autocommit "
			"mode (psql -c) before the release and leave it out of "
			"the migration",
			why == PHG_BLOCK_OWN ? "take it out of the BEGIN ... "
					       "COMMIT block; "
					     : "");
	else
		how = phg_arena_printf(ctx->arena, "%sput the statement in %s",
				       why == PHG_BLOCK_OWN
					       ? "take it out of the BEGIN ... "
						 "COMMIT block and "
					       : "",
				       phg_rule_outside_tx_how(ctx));
	help = phg_arena_printf(
		ctx->arena,
		"Before PostgreSQL 12, ALTER TYPE ... ADD VALUE must run "
		"outside any transaction block: %s. Use the new value only in "
		"a later migration. From PostgreSQL 12 it may run in a "
		"transaction: set postgres_version to the version you run.",
		how);
	if (!help)
		return PHG_ENOMEM;
	if (why == PHG_BLOCK_FLYWAY)
		return phg_rule_report(
			self, ctx, stmt, help,
			"Flyway refuses this migration: it mixes ALTER TYPE "
			"'%s' ADD VALUE '%s', which cannot run in a "
			"transaction before PostgreSQL 12 (postgres_version is "
			"%d), with statements that run in one",
			type, value ? value : "", ctx->postgres_version);
	place = where(ctx, stmt, why);
	if (!place)
		return PHG_ENOMEM;
	return phg_rule_report(self, ctx, stmt, help,
			       "ALTER TYPE '%s' ADD VALUE '%s' runs %s: "
			       "before PostgreSQL 12 (postgres_version is "
			       "%d) PostgreSQL refuses it there, so the "
			       "migration fails",
			       type, value ? value : "", place,
			       ctx->postgres_version);
}

const struct phg_analyzer phg_rule_adding_enum_value_in_transaction = {
	.id = "adding-enum-value-in-transaction",
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "ALTER TYPE ... ADD VALUE inside a transaction block "
		   "before PostgreSQL 12",
	.check_stmt = check,
	PHG_RULE_KINDS(PHG_KIND_ADD_ENUM_VALUE),
};
