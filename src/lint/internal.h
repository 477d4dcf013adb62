/*
 * internal.h: private to lint/ — the state of linting one folder.
 */
#ifndef PHG_LINT_INTERNAL_H
#define PHG_LINT_INTERNAL_H

#include <stdint.h>

#include "lint.h"

struct lint_folder {
	const struct phg_lint_opts *opts;
	struct phg_lint_result *res;
	struct phg_migration_set set;
	int *release_of;    /* per migration: its release number */
	bool *reported;	    /* per migration: not excluded by the config,
			       and changed when --changed-since is given */
	bool *lint_release; /* per release: linted in this run */
	size_t nreleases;
	size_t stop; /* migrations [0, stop) are read */
	long only;   /* a file PATH: the one migration reported, or -1 */
	enum phg_severity *severity; /* per registry entry */
	/* The statement rules to call (on in this run), as bits of registry
	   indexes: rule_words words per kind (PHG_KIND_COUNT of them), then
	   the rules that look at every statement, then scratch space. */
	uint64_t *rule_bits;
	size_t rule_words;
	/* The statement's columns, for the rules (room for columns_cap). */
	struct phg_rule_column *columns;
	size_t columns_cap;

	struct phg_model model;
	struct phg_gate gate;
	bool gate_active;

	/* The migration being read. */
	struct phg_migration *mig;
	size_t mig_index;
	int release;
	bool linted;
	enum phg_phase file_phase;
	bool file_no_tx, in_tx_block;
	enum phg_phase mig_phase; /* over every statement, linted or not */
	bool mig_no_tx, own_tx;
	bool file_own_tx;	   /* the file has its own BEGIN/COMMIT */
	struct phg_vec file_stmts; /* the file's linted statements so far */
	struct phg_vec infos; /* opts.collect: the file's statement infos */
	const char *text;     /* the migration's text, while it is parsed */
	size_t text_len;

	/* The DO block being read, statement by statement. */
	struct phg_stmt *do_outer;
	unsigned long long do_used;    /* its own ignore ids (by index) that
					  suppressed a statement inside it */
	struct phg_vec inner_ignoring; /* statements inside DO blocks with
					  ignore comments of their own, for
					  unused-ignore */
};

/*
 * Resolves a lint target (a folder, a file, or the config's folder): finds
 * the migrations, places the release boundaries, chooses the releases to
 * lint and where to stop reading. Errors as phg_lint_run's.
 */
int lint_target_prepare(struct lint_folder *f, const char *path,
			struct phg_err *err);

#endif
