/*
 * tree.c: reading parse trees (cJSON). Every access to a node goes through
 * these helpers, so node and field names stay readable and a missing field
 * is NULL, never a crash.
 */
#include "parse.h"

#include <string.h>

const char *phg_phase_name(enum phg_phase phase)
{
	switch (phase) {
	case PHG_PHASE_NONE:
		return "none";
	case PHG_PHASE_EXPAND:
		return "expand";
	case PHG_PHASE_BACKFILL:
		return "backfill";
	case PHG_PHASE_CONTRACT:
		return "contract";
	}
	return "none";
}

const char *phg_access_name(enum phg_access access)
{
	switch (access) {
	case PHG_ACCESS_CREATE:
		return "create";
	case PHG_ACCESS_WRITE:
		return "write";
	case PHG_ACCESS_READ:
		return "read";
	case PHG_ACCESS_REMOVE:
		return "remove";
	case PHG_ACCESS_TIGHTEN:
		return "tighten";
	case PHG_ACCESS_RELAX:
		return "relax";
	}
	return "read";
}

/* cJSON_IsObject without the call into libcjson (trees are read a lot). */
static inline bool is_object(const cJSON *node)
{
	return node && (node->type & 0xFF) == cJSON_Object;
}

/*
 * A node comes in one of two forms. Trees built from parse nodes (nodes.c)
 * hold it as one object whose valuestring is its type name and whose
 * children are its fields; trees read from JSON (PL/pgSQL's, json.c) hold
 * {"Type": {fields}}. Every reader goes through these three helpers, so
 * both forms read the same.
 */
const cJSON *phg_node_get(const cJSON *node, const char *type)
{
	if (!is_object(node))
		return NULL;
	if (node->valuestring)
		return phg_key_eq(node->valuestring, type) ? node : NULL;
	if (!node->child || !node->child->string ||
	    !phg_key_eq(node->child->string, type))
		return NULL;
	return node->child;
}

const char *phg_node_type(const cJSON *node)
{
	if (!is_object(node))
		return NULL;
	if (node->valuestring)
		return node->valuestring;
	return node->child ? node->child->string : NULL;
}

const cJSON *phg_node_inner(const cJSON *node)
{
	if (!is_object(node))
		return NULL;
	return node->valuestring ? node : node->child;
}

const cJSON *phg_field(const cJSON *obj, const char *key)
{
	const cJSON *c;

	if (!is_object(obj) || !key)
		return NULL;
	/* cJSON_GetObjectItemCaseSensitive's walk, without a strcmp call
	   per key: keys are short and differ early. A tree built from parse
	   nodes (nodes.c) names fields with the same literals the readers
	   pass, which the linker usually merges: then the pointers match. */
	for (c = obj->child; c && c->string; c = c->next)
		if (phg_key_eq(c->string, key))
			return c;
	return NULL;
}

/* cJSON_Is* without the call into libcjson. */
static inline bool is_type(const cJSON *node, int type)
{
	return node && (node->type & 0xFF) == type;
}

const char *phg_field_str(const cJSON *obj, const char *key)
{
	const cJSON *v = phg_field(obj, key);

	return is_type(v, cJSON_String) ? v->valuestring : NULL;
}

int phg_field_int(const cJSON *obj, const char *key, int dflt)
{
	const cJSON *v = phg_field(obj, key);

	return is_type(v, cJSON_Number) ? v->valueint : dflt;
}

bool phg_field_bool(const cJSON *obj, const char *key)
{
	return is_type(phg_field(obj, key), cJSON_True);
}

const char *phg_node_sval(const cJSON *node)
{
	return phg_field_str(phg_node_get(node, "String"), "sval");
}

#define PHG_KIND_NAME(id, name) name,
static const char *const kind_names[] = {PHG_KINDS(PHG_KIND_NAME)};
#undef PHG_KIND_NAME

const char *phg_kind_name(enum phg_kind kind)
{
	if ((unsigned)kind >= PHG_KIND_COUNT)
		return "unknown";
	return kind_names[kind];
}
