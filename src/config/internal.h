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

#include <yaml.h>

/* How much of a wrong scalar value a message quotes (bytes). */
#define PHG_CFG_QUOTE_MAX 64
/* A scalar node's text. */
static inline const char *phg_cfg_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}
/* A plain scalar that YAML reads as null: nothing, "~" or "null". */
bool phg_cfg_is_null(const yaml_node_t *n);
/*
 * Writes how a wrong value reads after "not" in a message into buf: 'abc'
 * (cut after PHG_CFG_QUOTE_MAX bytes, on a character boundary), a mapping,
 * a list, or an empty value; returns buf or a static text.
 */
const char *phg_cfg_describe(const yaml_node_t *n, char *buf, size_t size);

/*
 * release.c: the orchestrator's keys ("environment:", "state:",
 * "release:") and a region's "vars:", loaded from load.c's tables with
 * the same strictness (errors at line:col). Each loader takes the file's
 * path (for errors), its document and the value node.
 */

int phg_cfgrel_load_key(const char *key, const char *path, yaml_document_t *doc,
			const yaml_node_t *v, struct phg_config *cfg,
			struct phg_err *err);
int phg_cfgrel_load_vars(const char *path, yaml_document_t *doc,
			 const yaml_node_t *v, struct phg_region *reg,
			 struct phg_err *err);
/* Sets the "release:" defaults (the ADR's numbers); 0 or PHG_ENOMEM. */
int phg_cfgrel_defaults(struct phg_config *cfg);
/* Frees what the keys above allocated (regions' vars included). */
void phg_cfgrel_release(struct phg_config *cfg);
/* After the whole file: every {var.NAME} is in every region's vars. */
int phg_cfgrel_check(const char *path, const struct phg_config *cfg,
		     struct phg_err *err);

#endif
