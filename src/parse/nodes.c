/*
 * nodes.c: parses SQL with libpg_query and builds the statement trees
 * straight from PostgreSQL's raw parse nodes, without the JSON round trip:
 * pg_query_parse spends about 60 % of its time writing JSON that phasegate
 * then reads back. The trees hold what phg_json_parse makes of
 * pg_query_parse's output, node for node and field for field (the same
 * names, order and omissions; tests/test_nodes.c compares them), with two
 * differences: a node is one object that carries its type name (JSON
 * needs a second, {"TypeName": {fields}}; phg_node_get reads both forms),
 * and token offsets ("location") are not built: nothing reads them, and
 * they are a third of the nodes. The field tables come from the PostgreSQL
 * 15 server headers (scripts/gen-pg-nodes.py, at build time).
 */
#include <pg_query.h>
/* libpg_query's version, before the server headers define their own. */
enum { PHG_PG_QUERY_VERSION_NUM = PG_VERSION_NUM };
#undef PG_VERSION
#undef PG_MAJORVERSION
#undef PG_VERSION_NUM

#include <pg_query/pg_query_internal.h>

#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"

#include <stdio.h>

#include "jsonmem.h"
#include "pgparse.h"

/* How a field is read and written (libpg_query's WRITE_*_FIELD macros). */
enum pgn_kind {
	PGN_BOOL,	  /* written when true */
	PGN_CHAR,	  /* a one-character string, when not 0 */
	PGN_INT,	  /* numbers: written when not 0 */
	PGN_POSITIVE_INT, /* Integer's ival: libpg_query 15-4.0.0 writes it
			     only when it is above 0 */
	PGN_INT16,
	PGN_UINT,
	PGN_UINT64,
	PGN_LONG,
	PGN_FLOAT,
	PGN_STRING,    /* when not NULL */
	PGN_NODE,      /* any node, wrapped in its type name, when not NULL */
	PGN_LIST,      /* an array of wrapped nodes, when not NIL */
	PGN_BITMAPSET, /* an array of members, when not empty */
	PGN_SPECIFIC,  /* a pointer to a known node type: its fields only */
	PGN_EMBEDDED,  /* a node struct inside this one: its fields only */
	PGN_ENUM       /* the enumerator's name, always */
};

struct pgn_field {
	const char *name;
	enum pgn_kind kind;
	size_t offset;
	NodeTag tag; /* PGN_SPECIFIC, PGN_EMBEDDED: the node type */
	const char *(*enum_name)(int value);
};

struct pgn_type {
	const char *name;
	const struct pgn_field *fields;
	size_t nfields;
};

#include "pg_nodes.inc"

#define PGN_NTYPES (sizeof(pgn_types) / sizeof(pgn_types[0]))

struct walker {
	struct phg_jchunk mem;
	int depth;
};

/* A node under key (a static name: copied only without the arena). */
static cJSON *add(struct walker *w, cJSON *parent, cJSON **last,
		  const char *key, int type)
{
	cJSON *n = phg_jchunk_node(&w->mem, type);

	if (!n)
		return NULL;
	if (key) {
		if (w->mem.arena) {
			n->string = (char *)(uintptr_t)key;
		} else if (!(n->string = strdup(key))) {
			free(n);
			return NULL;
		}
	}
	if (*last) {
		(*last)->next = n;
		n->prev = *last;
	} else {
		parent->child = n;
	}
	*last = n;
	/* cJSON keeps the last item as the first one's prev. */
	parent->child->prev = n;
	return n;
}

static bool add_string(struct walker *w, cJSON *parent, cJSON **last,
		       const char *key, const char *value, size_t len)
{
	cJSON *n = add(w, parent, last, key, cJSON_String);

	if (!n || !(n->valuestring = phg_jchunk_alloc(&w->mem, len + 1, 1)))
		return false;
	memcpy(n->valuestring, value, len);
	n->valuestring[len] = '\0';
	return true;
}

static bool add_number(struct walker *w, cJSON *parent, cJSON **last,
		       const char *key, double value)
{
	cJSON *n = add(w, parent, last, key, cJSON_Number);

	if (!n)
		return false;
	phg_jnumber_set(n, value);
	return true;
}

/* An object or array under key; NULL past PHG_JSON_MAX_DEPTH. */
static cJSON *open_container(struct walker *w, cJSON *parent, cJSON **last,
			     const char *key, int type)
{
	if (w->depth >= PHG_JSON_MAX_DEPTH)
		return NULL;
	w->depth++;
	return add(w, parent, last, key, type);
}

static bool write_fields(struct walker *w, cJSON *obj, NodeTag tag,
			 const void *base);
static bool write_node(struct walker *w, cJSON *parent, cJSON **last,
		       const char *key, const Node *node);

/* An object under key holding the fields of a node of type tag. */
static bool write_object(struct walker *w, cJSON *parent, cJSON **last,
			 const char *key, NodeTag tag, const void *base)
{
	cJSON *obj = open_container(w, parent, last, key, cJSON_Object);

	if (!obj || !write_fields(w, obj, tag, base))
		return false;
	w->depth--;
	return true;
}

/* The items of a List of nodes; a NULL item is an empty object. */
static bool write_items(struct walker *w, cJSON *arr, const List *list)
{
	cJSON *last = NULL;
	const ListCell *lc;

	if (list && !IsA(list, List))
		return false; /* integer lists never hold parse nodes */
	foreach (lc, list) {
		const Node *item = lfirst(lc);
		bool ok;

		if (item) {
			ok = write_node(w, arr, &last, NULL, item);
		} else {
			cJSON *empty = open_container(w, arr, &last, NULL,
						      cJSON_Object);

			ok = empty != NULL;
			w->depth -= ok;
		}
		if (!ok)
			return false;
	}
	return true;
}

static bool write_list(struct walker *w, cJSON *parent, cJSON **last,
		       const char *key, const List *list)
{
	cJSON *arr = open_container(w, parent, last, key, cJSON_Array);

	if (!arr || !write_items(w, arr, list))
		return false;
	w->depth--;
	return true;
}

static bool write_bitmapset(struct walker *w, cJSON *parent, cJSON **last,
			    const char *key, const Bitmapset *set)
{
	cJSON *arr, *alast = NULL;

	if (!set)
		return true;
	for (int i = 0; i < set->nwords; i++)
		if (set->words[i])
			goto nonempty;
	return true;
nonempty:
	if (!(arr = open_container(w, parent, last, key, cJSON_Array)))
		return false;
	for (int i = 0; i < set->nwords; i++)
		for (int b = 0; b < BITS_PER_BITMAPWORD; b++)
			if ((set->words[i] >> b) & 1 &&
			    !add_number(w, arr, &alast, NULL,
					i * BITS_PER_BITMAPWORD + b))
				return false;
	w->depth--;
	return true;
}

static bool write_field(struct walker *w, cJSON *obj, cJSON **last,
			const struct pgn_field *f, const char *base)
{
	const void *at = base + f->offset;
	const void *ptr = NULL;
	const char *name;
	char ch;

	switch (f->kind) {
	case PGN_BOOL:
		return !*(const bool *)at ||
		       add(w, obj, last, f->name, cJSON_True);
	case PGN_CHAR:
		ch = *(const char *)at;
		return !ch || add_string(w, obj, last, f->name, &ch, 1);
	case PGN_INT:
		return !*(const int *)at ||
		       add_number(w, obj, last, f->name, *(const int *)at);
	case PGN_POSITIVE_INT:
		return *(const int *)at <= 0 ||
		       add_number(w, obj, last, f->name, *(const int *)at);
	case PGN_INT16:
		return !*(const int16 *)at ||
		       add_number(w, obj, last, f->name, *(const int16 *)at);
	case PGN_UINT:
		return !*(const uint32 *)at ||
		       add_number(w, obj, last, f->name, *(const uint32 *)at);
	case PGN_UINT64:
		return !*(const uint64 *)at ||
		       add_number(w, obj, last, f->name,
				  (double)*(const uint64 *)at);
	case PGN_LONG:
		return !*(const long *)at ||
		       add_number(w, obj, last, f->name,
				  (double)*(const long *)at);
	case PGN_FLOAT: {
		/* libpg_query writes "%f": six decimals, read back. */
		char buf[64];

		if (*(const double *)at == 0)
			return true;
		snprintf(buf, sizeof(buf), "%f", *(const double *)at);
		return add_number(w, obj, last, f->name, strtod(buf, NULL));
	}
	case PGN_ENUM:
		name = f->enum_name(*(const int *)at);
		return name &&
		       add_string(w, obj, last, f->name, name, strlen(name));
	case PGN_EMBEDDED:
		return write_object(w, obj, last, f->name, f->tag, at);
	default:
		break;
	}
	memcpy(&ptr, at, sizeof(ptr));
	if (!ptr)
		return true;
	switch (f->kind) {
	case PGN_STRING:
		return add_string(w, obj, last, f->name, ptr, strlen(ptr));
	case PGN_NODE:
		return write_node(w, obj, last, f->name, ptr);
	case PGN_LIST:
		return write_list(w, obj, last, f->name, ptr);
	case PGN_BITMAPSET:
		return write_bitmapset(w, obj, last, f->name, ptr);
	case PGN_SPECIFIC:
		return write_object(w, obj, last, f->name, f->tag, ptr);
	default:
		return false;
	}
}

/* An A_Const's value: {"ival": {Integer's fields}} and so on. */
static bool write_a_const(struct walker *w, cJSON *obj, const A_Const *c)
{
	cJSON *last = NULL;
	const char *key = NULL;
	NodeTag tag = nodeTag(&c->val);

	if (c->isnull) {
		if (!add(w, obj, &last, "isnull", cJSON_True))
			return false;
	} else {
		switch (tag) {
		case T_Integer:
			key = "ival";
			break;
		case T_Float:
			key = "fval";
			break;
		case T_Boolean:
			key = "boolval";
			break;
		case T_String:
			key = "sval";
			break;
		case T_BitString:
			key = "bsval";
			break;
		default:
			break;
		}
		if (key && !write_object(w, obj, &last, key, tag, &c->val))
			return false;
	}
	return true; /* "location" is left out, as everywhere */
}

static const struct pgn_type *type_of(NodeTag tag)
{
	if ((size_t)tag >= PGN_NTYPES || !pgn_types[tag].name)
		return NULL;
	return &pgn_types[tag];
}

static bool write_fields(struct walker *w, cJSON *obj, NodeTag tag,
			 const void *base)
{
	const struct pgn_type *t = type_of(tag);
	cJSON *last = NULL;

	if (tag == T_A_Const)
		return write_a_const(w, obj, base);
	if (!t)
		return false;
	for (size_t i = 0; i < t->nfields; i++)
		if (!write_field(w, obj, &last, &t->fields[i], base))
			return false;
	return true;
}

/*
 * A node under key: one object whose valuestring is the type name (a static
 * name: copied only without the arena) and whose children are its fields;
 * libpg_query's JSON writes {"TypeName": {fields}} (phg_node_get reads
 * both). It counts as the two levels of nesting the JSON form has, so the
 * depth limit stays where it was. NULL past PHG_JSON_MAX_DEPTH.
 */
static cJSON *open_node(struct walker *w, cJSON *parent, cJSON **last,
			const char *key, const char *name)
{
	cJSON *n;

	if (w->depth + 1 >= PHG_JSON_MAX_DEPTH)
		return NULL;
	if (!(n = add(w, parent, last, key, cJSON_Object)))
		return NULL;
	if (w->mem.arena)
		n->valuestring = (char *)(uintptr_t)name;
	else if (!(n->valuestring = strdup(name)))
		return NULL; /* freed with the tree it already hangs in */
	w->depth += 2;
	return n;
}

/* A node of any type; a List's items are under "items". */
static bool write_node(struct walker *w, cJSON *parent, cJSON **last,
		       const char *key, const Node *node)
{
	NodeTag tag = nodeTag(node);
	const char *name = tag == T_A_Const ? "A_Const"
			   : tag == T_List  ? "List"
					    : NULL;
	cJSON *obj, *olast = NULL;
	bool ok;

	if (!name) {
		const struct pgn_type *t = type_of(tag);

		if (!t)
			return false;
		name = t->name;
	}
	if (!(obj = open_node(w, parent, last, key, name)))
		return false;
	if (tag == T_List)
		ok = write_list(w, obj, &olast, "items", (const List *)node);
	else if (tag == T_Boolean)
		/* Unlike inside an A_Const, a Boolean node writes false. */
		ok = add(w, obj, &olast, "boolval",
			 boolVal(node) ? cJSON_True : cJSON_False);
	else
		ok = write_fields(w, obj, tag, node);
	if (!ok)
		return false;
	w->depth -= 2;
	return true;
}

/* {"version": N, "stmts": [{RawStmt's fields}, ...]} */
static cJSON *write_doc(struct walker *w, const List *tree)
{
	cJSON *doc = phg_jchunk_node(&w->mem, cJSON_Object);
	cJSON *last = NULL, *stmts, *slast = NULL;
	const ListCell *lc;

	if (!doc)
		return NULL;
	w->depth = 1;
	if (!add_number(w, doc, &last, "version", PHG_PG_QUERY_VERSION_NUM) ||
	    !(stmts = open_container(w, doc, &last, "stmts", cJSON_Array)))
		goto fail;
	foreach (lc, tree) {
		const Node *raw = lfirst(lc);

		if (!raw || !IsA(raw, RawStmt) ||
		    !write_object(w, stmts, &slast, NULL, T_RawStmt, raw))
			goto fail;
	}
	return doc;
fail:
	phg_json_delete(doc);
	return NULL;
}

void phg_pg_parse(const char *sql, bool want_tree, struct phg_pg_result *out)
{
	MemoryContext ctx = pg_query_enter_memory_context();
	PgQueryInternalParsetreeAndError raw = pg_query_raw_parse(sql);

	out->doc = NULL;
	out->error = raw.error;
	free(raw.stderr_buffer);
	if (!raw.error && want_tree) {
		struct walker w;

		phg_jchunk_init(&w.mem);
		out->doc = write_doc(&w, raw.tree);
	}
	pg_query_exit_memory_context(ctx);
}

void phg_pg_result_free(struct phg_pg_result *res)
{
	if (res->error)
		pg_query_free_error(res->error);
	res->error = NULL;
}
