/*
 * tree_compare.c: the check that the parse trees phasegate builds from
 * libpg_query's raw parse nodes (src/parse/nodes.c) are the trees its JSON
 * reader makes of pg_query_parse's output, but for token offsets
 * ("location"), which nodes.c leaves out, and for the form of a node
 * (nodes.c: one object carrying its type name; JSON: {"Type": {fields}}).
 * Shared by tests/test_nodes.c and the fuzz_sql target, which checks it on
 * every input it makes.
 */
#include "tree_compare.h"

#include <pg_query.h>
#include <stdio.h>
#include <string.h>

#include "parse/parse.h"
#include "parse/pgparse.h"

/* Where two trees first differ ("" when they do not), for the message. */
static char diff_at[512];

static bool same_tree(const cJSON *a, const cJSON *b, const char *path)
{
	const cJSON *ca, *cb;
	char sub[400];

	if ((a->type & 0xFF) != (b->type & 0xFF)) {
		snprintf(diff_at, sizeof(diff_at), "%s: type %d vs %d", path,
			 a->type & 0xFF, b->type & 0xFF);
		return false;
	}
	if ((a->string == NULL) != (b->string == NULL) ||
	    (a->string && strcmp(a->string, b->string) != 0)) {
		snprintf(diff_at, sizeof(diff_at), "%s: key %s vs %s", path,
			 a->string ? a->string : "-",
			 b->string ? b->string : "-");
		return false;
	}
	/* nodes.c's one object per node (its type in valuestring) against
	   JSON's {"Type": {fields}}: the fields are compared. */
	if ((b->type & 0xFF) == cJSON_Object && b->valuestring) {
		a = a->child;
		if (!a || a->next || (a->type & 0xFF) != cJSON_Object ||
		    !a->string || strcmp(a->string, b->valuestring) != 0) {
			snprintf(diff_at, sizeof(diff_at),
				 "%s: JSON has no single \"%s\" object here",
				 path, b->valuestring);
			return false;
		}
	}
	switch (a->type & 0xFF) {
	case cJSON_Number:
		if (a->valuedouble != b->valuedouble ||
		    a->valueint != b->valueint) {
			snprintf(diff_at, sizeof(diff_at), "%s: %g vs %g", path,
				 a->valuedouble, b->valuedouble);
			return false;
		}
		return true;
	case cJSON_String:
		if (strcmp(a->valuestring, b->valuestring) != 0) {
			snprintf(diff_at, sizeof(diff_at),
				 "%s: '%.80s' vs '%.80s'", path, a->valuestring,
				 b->valuestring);
			return false;
		}
		return true;
	case cJSON_Object:
	case cJSON_Array:
		break;
	default:
		return true;
	}
	for (ca = a->child, cb = b->child; ca && cb;
	     ca = ca->next, cb = cb->next) {
		snprintf(sub, sizeof(sub), "%.300s/%s", path,
			 ca->string ? ca->string : "[]");
		if (!same_tree(ca, cb, sub))
			return false;
	}
	if (ca || cb) {
		snprintf(diff_at, sizeof(diff_at), "%s: %s has more items",
			 path, ca ? "JSON" : "nodes");
		return false;
	}
	/* cJSON keeps the last item as the first one's prev. */
	if (b->child && b->child->prev->next != NULL) {
		snprintf(diff_at, sizeof(diff_at),
			 "%s: the first item's prev is not the last", path);
		return false;
	}
	return true;
}

/* Takes every "location" member out of a tree read from JSON. */
static void drop_locations(cJSON *node)
{
	cJSON *c = node->child, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->string && strcmp(c->string, "location") == 0 &&
		    (c->type & 0xFF) == cJSON_Number)
			phg_json_delete(cJSON_DetachItemViaPointer(node, c));
		else
			drop_locations(c);
	}
}

/* Whether any "location" member is left in a tree. */
static bool has_location(const cJSON *node)
{
	for (const cJSON *c = node->child; c; c = c->next)
		if ((c->string && strcmp(c->string, "location") == 0) ||
		    has_location(c))
			return true;
	return false;
}

int tc_compare_parse(const char *sql, char *why, size_t whylen)
{
	PgQueryParseResult json = pg_query_parse(sql);
	struct phg_pg_result nodes;
	cJSON *from_json = NULL;
	int rc = 0;

	diff_at[0] = '\0';
	phg_pg_parse(sql, true, &nodes);
	if ((json.error == NULL) != (nodes.error == NULL)) {
		snprintf(diff_at, sizeof(diff_at), "only %s failed",
			 json.error ? "JSON" : "nodes");
		rc = -1;
	} else if (json.error) {
		if (strcmp(json.error->message, nodes.error->message) != 0 ||
		    json.error->cursorpos != nodes.error->cursorpos ||
		    nodes.doc) {
			snprintf(diff_at, sizeof(diff_at),
				 "errors differ: '%s' at %d vs '%s' at %d",
				 json.error->message, json.error->cursorpos,
				 nodes.error->message, nodes.error->cursorpos);
			rc = -1;
		}
	} else {
		from_json = phg_json_parse(json.parse_tree);
		if ((from_json == NULL) != (nodes.doc == NULL)) {
			snprintf(diff_at, sizeof(diff_at), "only %s has a tree",
				 from_json ? "JSON" : "nodes");
			rc = -1;
		} else if (from_json) {
			drop_locations(from_json);
			if (!same_tree(from_json, nodes.doc, ""))
				rc = -1;
			else if (has_location(nodes.doc)) {
				snprintf(diff_at, sizeof(diff_at),
					 "nodes built a location");
				rc = -1;
			} else {
				rc = 1;
			}
		}
	}
	snprintf(why, whylen, "%s", diff_at);
	phg_json_delete(from_json);
	phg_json_delete(nodes.doc);
	phg_json_reset();
	phg_pg_result_free(&nodes);
	pg_query_free_parse_result(json);
	return rc;
}
