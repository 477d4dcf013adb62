/*
 * store_cases: the ledger tests both backends must pass, shared by
 * test_store.c (SQLite) and test_it_store.c (PostgreSQL). The suite file
 * says how to make a fresh, empty ledger and how to bump its schema
 * version behind the store's back; store_cases adds the tests to a TCase.
 */
#ifndef PHG_TEST_STORE_CASES_H
#define PHG_TEST_STORE_CASES_H

#include <check.h>
#include <stdbool.h>

/* What a suite file provides. */
struct sc_backend {
	const char *name; /* "sqlite" or "postgresql" */
	/* A location for a fresh ledger (malloc'd); each call a new one. */
	char *(*fresh)(void);
	/* Sets the ledger's schema version to v, bypassing the store. */
	void (*set_version)(const char *location, int v);
};
extern const struct sc_backend *sc_backend;

/* Adds every shared test to tc. */
void sc_add_cases(TCase *tc);

/* Whether s looks like 2026-11-26T11:46:31.123Z. */
bool sc_is_iso_ms(const char *s);

#endif
