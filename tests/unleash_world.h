/*
 * unleash_world: a real unleash-server for the integration suites (see
 * unleash_world.c). Its cluster (uw_pg) may also hold the suites' own
 * databases.
 */
#ifndef PHG_TEST_UNLEASH_WORLD_H
#define PHG_TEST_UNLEASH_WORLD_H

#include <stdbool.h>

#include "pg_cluster.h"

extern struct pgc_set uw_pg; /* one cluster: Unleash's database */
extern char uw_url[64];	     /* http://127.0.0.1:PORT */
extern char uw_token[96];    /* the admin token (a secret) */

/* Whether node and unleash-server are installed. */
bool uw_installed(void);
/*
 * Starts the cluster and unleash-server (bounded waits), creates each flag
 * of the NULL-ended flags, and prints the start-up time under suite's name.
 * A failure is reported on stderr and by uw_require.
 */
void uw_up(const char *suite, const char *const *flags);
/* Stops unleash-server and the cluster, removes the folder. */
void uw_down(void);
/* Fails the test unless PostgreSQL and Unleash are there and started. */
void uw_require(void);
/* Calls the Admin API with the token tok; returns the status or -1. */
long uw_admin(const char *method, const char *path, const char *body,
	      const char *tok);

#endif
