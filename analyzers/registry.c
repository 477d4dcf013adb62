/*
 * registry.c: every rule, sorted by id. Adding a rule = one file in
 * analyzers/, one line here, one docs/rules/<id>.md, one fixture folder.
 */
#include "analyzer.h"

extern const struct phg_analyzer phg_rule_adding_required_field;
extern const struct phg_analyzer phg_rule_adding_volatile_default;
extern const struct phg_analyzer phg_rule_backfill_with_expand;
extern const struct phg_analyzer phg_rule_ban_drop_database;
extern const struct phg_analyzer phg_rule_changing_column_type;
extern const struct phg_analyzer phg_rule_constraint_missing_not_valid;
extern const struct phg_analyzer phg_rule_contract_with_expand;
extern const struct phg_analyzer phg_rule_disallowed_unique_constraint;
extern const struct phg_analyzer phg_rule_ignore_without_reason;
extern const struct phg_analyzer phg_rule_invalid_encoding;
extern const struct phg_analyzer phg_rule_mixed_phase_migration;
extern const struct phg_analyzer phg_rule_renaming_column;
extern const struct phg_analyzer phg_rule_renaming_table;
extern const struct phg_analyzer phg_rule_require_concurrent_index_creation;
extern const struct phg_analyzer phg_rule_require_concurrent_index_deletion;
extern const struct phg_analyzer phg_rule_setting_not_null;
extern const struct phg_analyzer phg_rule_syntax_error;
extern const struct phg_analyzer phg_rule_unanalyzable_statement;
extern const struct phg_analyzer phg_rule_unanalyzed_do_block;
extern const struct phg_analyzer phg_rule_unused_ignore;

const struct phg_analyzer *const phg_analyzers[] = {
	&phg_rule_adding_required_field,
	&phg_rule_adding_volatile_default,
	&phg_rule_backfill_with_expand,
	&phg_rule_ban_drop_database,
	&phg_rule_changing_column_type,
	&phg_rule_constraint_missing_not_valid,
	&phg_rule_contract_with_expand,
	&phg_rule_disallowed_unique_constraint,
	&phg_rule_ignore_without_reason,
	&phg_rule_invalid_encoding,
	&phg_rule_mixed_phase_migration,
	&phg_rule_renaming_column,
	&phg_rule_renaming_table,
	&phg_rule_require_concurrent_index_creation,
	&phg_rule_require_concurrent_index_deletion,
	&phg_rule_setting_not_null,
	&phg_rule_syntax_error,
	&phg_rule_unanalyzable_statement,
	&phg_rule_unanalyzed_do_block,
	&phg_rule_unused_ignore,
	NULL,
};
