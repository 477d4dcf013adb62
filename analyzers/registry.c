/*
 * registry.c: every rule, sorted by id. Adding a rule = one file in
 * analyzers/, one line here, one docs/rules/<id>.md, one fixture folder.
 */
#include "analyzer.h"

extern const struct phg_analyzer phg_rule_adding_enum_value_in_transaction;
extern const struct phg_analyzer phg_rule_adding_exclusion_constraint;
extern const struct phg_analyzer phg_rule_adding_required_field;
extern const struct phg_analyzer phg_rule_adding_serial_primary_key_field;
extern const struct phg_analyzer phg_rule_adding_stored_generated_column;
extern const struct phg_analyzer phg_rule_adding_volatile_default;
extern const struct phg_analyzer phg_rule_backfill_with_expand;
extern const struct phg_analyzer phg_rule_ban_alter_domain_with_add_constraint;
extern const struct phg_analyzer phg_rule_ban_char_field;
extern const struct phg_analyzer
	phg_rule_ban_concurrent_index_creation_in_transaction;
extern const struct phg_analyzer phg_rule_ban_create_domain_with_constraint;
extern const struct phg_analyzer phg_rule_ban_drop_column;
extern const struct phg_analyzer phg_rule_ban_drop_database;
extern const struct phg_analyzer phg_rule_ban_drop_not_null;
extern const struct phg_analyzer phg_rule_ban_drop_schema;
extern const struct phg_analyzer phg_rule_ban_drop_table;
extern const struct phg_analyzer phg_rule_ban_duplicate_column_assignments;
extern const struct phg_analyzer phg_rule_ban_lock_table;
extern const struct phg_analyzer phg_rule_ban_truncate_cascade;
extern const struct phg_analyzer phg_rule_ban_uncommitted_transaction;
extern const struct phg_analyzer phg_rule_changing_column_type;
extern const struct phg_analyzer phg_rule_constraint_missing_not_valid;
extern const struct phg_analyzer phg_rule_contract_with_expand;
extern const struct phg_analyzer phg_rule_disallowed_unique_constraint;
extern const struct phg_analyzer phg_rule_foreign_key_without_index;
extern const struct phg_analyzer phg_rule_identifier_too_long;
extern const struct phg_analyzer phg_rule_ignore_without_reason;
extern const struct phg_analyzer phg_rule_invalid_encoding;
extern const struct phg_analyzer phg_rule_mixed_phase_migration;
extern const struct phg_analyzer phg_rule_prefer_bigint_over_int;
extern const struct phg_analyzer phg_rule_prefer_bigint_over_smallint;
extern const struct phg_analyzer phg_rule_prefer_identity;
extern const struct phg_analyzer phg_rule_prefer_jsonb;
extern const struct phg_analyzer phg_rule_prefer_repack;
extern const struct phg_analyzer phg_rule_prefer_robust_stmts;
extern const struct phg_analyzer phg_rule_prefer_text_field;
extern const struct phg_analyzer phg_rule_prefer_timestamptz;
extern const struct phg_analyzer phg_rule_renaming_column;
extern const struct phg_analyzer phg_rule_renaming_enum_value;
extern const struct phg_analyzer phg_rule_renaming_table;
extern const struct phg_analyzer phg_rule_require_concurrent_index_creation;
extern const struct phg_analyzer phg_rule_require_concurrent_index_deletion;
extern const struct phg_analyzer phg_rule_require_concurrent_partition_detach;
extern const struct phg_analyzer phg_rule_require_concurrent_reindex;
extern const struct phg_analyzer phg_rule_require_lock_timeout;
extern const struct phg_analyzer phg_rule_require_statement_timeout;
extern const struct phg_analyzer phg_rule_setting_not_null;
extern const struct phg_analyzer phg_rule_statements_after_access_exclusive;
extern const struct phg_analyzer phg_rule_syntax_error;
extern const struct phg_analyzer phg_rule_transaction_nesting;
extern const struct phg_analyzer phg_rule_unanalyzable_statement;
extern const struct phg_analyzer phg_rule_unanalyzed_do_block;
extern const struct phg_analyzer phg_rule_unbatched_backfill;
extern const struct phg_analyzer phg_rule_unused_ignore;

const struct phg_analyzer *const phg_analyzers[] = {
	&phg_rule_adding_enum_value_in_transaction,
	&phg_rule_adding_exclusion_constraint,
	&phg_rule_adding_required_field,
	&phg_rule_adding_serial_primary_key_field,
	&phg_rule_adding_stored_generated_column,
	&phg_rule_adding_volatile_default,
	&phg_rule_backfill_with_expand,
	&phg_rule_ban_alter_domain_with_add_constraint,
	&phg_rule_ban_char_field,
	&phg_rule_ban_concurrent_index_creation_in_transaction,
	&phg_rule_ban_create_domain_with_constraint,
	&phg_rule_ban_drop_column,
	&phg_rule_ban_drop_database,
	&phg_rule_ban_drop_not_null,
	&phg_rule_ban_drop_schema,
	&phg_rule_ban_drop_table,
	&phg_rule_ban_duplicate_column_assignments,
	&phg_rule_ban_lock_table,
	&phg_rule_ban_truncate_cascade,
	&phg_rule_ban_uncommitted_transaction,
	&phg_rule_changing_column_type,
	&phg_rule_constraint_missing_not_valid,
	&phg_rule_contract_with_expand,
	&phg_rule_disallowed_unique_constraint,
	&phg_rule_foreign_key_without_index,
	&phg_rule_identifier_too_long,
	&phg_rule_ignore_without_reason,
	&phg_rule_invalid_encoding,
	&phg_rule_mixed_phase_migration,
	&phg_rule_prefer_bigint_over_int,
	&phg_rule_prefer_bigint_over_smallint,
	&phg_rule_prefer_identity,
	&phg_rule_prefer_jsonb,
	&phg_rule_prefer_repack,
	&phg_rule_prefer_robust_stmts,
	&phg_rule_prefer_text_field,
	&phg_rule_prefer_timestamptz,
	&phg_rule_renaming_column,
	&phg_rule_renaming_enum_value,
	&phg_rule_renaming_table,
	&phg_rule_require_concurrent_index_creation,
	&phg_rule_require_concurrent_index_deletion,
	&phg_rule_require_concurrent_partition_detach,
	&phg_rule_require_concurrent_reindex,
	&phg_rule_require_lock_timeout,
	&phg_rule_require_statement_timeout,
	&phg_rule_setting_not_null,
	&phg_rule_statements_after_access_exclusive,
	&phg_rule_syntax_error,
	&phg_rule_transaction_nesting,
	&phg_rule_unanalyzable_statement,
	&phg_rule_unanalyzed_do_block,
	&phg_rule_unbatched_backfill,
	&phg_rule_unused_ignore,
	NULL,
};
