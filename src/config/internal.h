/*
 * internal.h: what the config module's files share and nothing outside
 * src/config/ may use.
 */
#ifndef PHG_CONFIG_INTERNAL_H
#define PHG_CONFIG_INTERNAL_H

#include "config.h"

/*
 * Checks the ${NAME} references in value without expanding them, so that a
 * mistyped reference is found at load time, with its place, by every
 * command (lint included). Returns NULL when each "${" has its "}" and a
 * valid name, or a static description of the first problem that completes
 * "'database' has ...": it never quotes value, which may hold a secret.
 */
const char *phg_config_ref_problem(const char *value);

#endif
