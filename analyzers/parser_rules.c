/*
 * parser_rules.c: the rules whose findings come from reading the file, not
 * from an analyzer — syntax-error, invalid-encoding, unanalyzable-statement.
 * They are registered so that docs, config and the registry test know them;
 * src/parse/ reports them.
 */
#include "analyzer.h"

const struct phg_analyzer phg_rule_syntax_error = {
	.id = PHG_RULE_SYNTAX_ERROR,
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "the statement does not parse as PostgreSQL 15 SQL",
};

const struct phg_analyzer phg_rule_invalid_encoding = {
	.id = PHG_RULE_INVALID_ENCODING,
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "the file holds a NUL byte or invalid UTF-8",
};

const struct phg_analyzer phg_rule_unanalyzable_statement = {
	.id = PHG_RULE_UNANALYZABLE,
	.stage = PHG_STAGE_STATEMENT,
	.severity = PHG_SEV_ERROR,
	.summary = "the statement is too deep for the parser or tree reader",
};
