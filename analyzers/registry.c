/*
 * registry.c: every rule, sorted by id. Adding a rule = one file in
 * analyzers/, one line here, one docs/rules/<id>.md, one fixture folder.
 */
#include "analyzer.h"

extern const struct phg_analyzer phg_rule_backfill_with_expand;
extern const struct phg_analyzer phg_rule_changing_column_type;
extern const struct phg_analyzer phg_rule_contract_with_expand;
extern const struct phg_analyzer phg_rule_invalid_encoding;
extern const struct phg_analyzer phg_rule_mixed_phase_migration;
extern const struct phg_analyzer phg_rule_renaming_column;
extern const struct phg_analyzer phg_rule_renaming_table;
extern const struct phg_analyzer phg_rule_syntax_error;
extern const struct phg_analyzer phg_rule_unanalyzable_statement;

const struct phg_analyzer *const phg_analyzers[] = {
	&phg_rule_backfill_with_expand,
	&phg_rule_changing_column_type,
	&phg_rule_contract_with_expand,
	&phg_rule_invalid_encoding,
	&phg_rule_mixed_phase_migration,
	&phg_rule_renaming_column,
	&phg_rule_renaming_table,
	&phg_rule_syntax_error,
	&phg_rule_unanalyzable_statement,
	NULL,
};
