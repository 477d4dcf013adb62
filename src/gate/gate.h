/*
 * gate: what the release-stage rules ask about a release — its statements in
 * order with their migrations, and each object's accesses (who expands,
 * backfills, reads or contracts it). The judging stays in analyzers/.
 */
#ifndef PHG_GATE_H
#define PHG_GATE_H

#include "../parse/parse.h"

/* One statement of the release, with the migration it belongs to. */
struct phg_gate_stmt {
	const struct phg_stmt *stmt;
	size_t migration; /* index into the release's migrations */
};

/* One target of one statement: the unit the gate reasons about. */
struct phg_gate_use {
	const struct phg_target *target;
	const struct phg_stmt *stmt;
	size_t migration;
};

struct phg_gate {
	int release; /* the release's number */
	struct phg_gate_stmt *stmts;
	size_t nstmts, capstmts;
	struct phg_gate_use *uses; /* every target, in statement order */
	size_t nuses, capuses;
	struct phg_map removed; /* objects the release removes -> a use */
	struct phg_arena *arena;
};

/* Starts an empty summary of release number `release`. */
void phg_gate_init(struct phg_gate *g, int release, struct phg_arena *arena);
void phg_gate_release(struct phg_gate *g);

/* Adds a classified statement of the release (in order). */
int phg_gate_add(struct phg_gate *g, const struct phg_stmt *stmt,
		 size_t migration);

/*
 * Whether use u touches the object of contract c: the same object, or a
 * column of the table c names.
 */
bool phg_gate_touches(const char *contract_object, const char *object);

/* Whether the release removes (drops, renames away) object. */
bool phg_gate_removes(const struct phg_gate *g, const char *object);

#endif
