/*
 * common.c: what every rule uses — reporting a finding at a statement, and
 * the shared questions about the release context.
 */
#include "analyzer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const struct phg_analyzer *phg_analyzer_find(const char *id)
{
	for (size_t i = 0; phg_analyzers[i]; i++)
		if (strcmp(phg_analyzers[i]->id, id) == 0)
			return phg_analyzers[i];
	return NULL;
}

static bool stmt_ignores(const struct phg_stmt *stmt, const char *id)
{
	for (size_t i = 0; i < stmt->nignores; i++)
		if (strcmp(stmt->ignores[i], id) == 0)
			return true;
	return false;
}

int phg_rule_report(const struct phg_analyzer *self,
		    const struct phg_rule_ctx *ctx, const struct phg_stmt *stmt,
		    const char *help, const char *fmt, ...)
{
	struct phg_finding *f;
	char msg[2048];
	va_list ap;

	if (ctx->severity == PHG_SEV_OFF)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f = phg_findings_add(ctx->findings, self->id, ctx->severity, stmt->file,
			     stmt->line, stmt->col, msg, help);
	if (!f)
		return PHG_ENOMEM;
	f->source_line = (char *)stmt->source_line;
	f->suppressed = stmt_ignores(stmt, self->id);
	f->release = ctx->release;
	return 0;
}

bool phg_rule_table_existing(const struct phg_rule_ctx *ctx,
			     const char *table_qname)
{
	int origin = phg_model_table_origin(ctx->model, table_qname);

	if (origin < ctx->release)
		return true;
	return origin == ctx->release && ctx->after_cutover;
}

const char *phg_rule_stmt_table(const struct phg_rule_ctx *ctx,
				const struct phg_stmt *stmt)
{
	const cJSON *st = phg_node_inner(stmt->tree);

	return phg_rangevar_qname(ctx->arena, phg_field(st, "relation"));
}
