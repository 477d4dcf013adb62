/*
 * expr.c: questions about expressions and types that classify and the rules
 * share — volatility of defaults, binary-coercible type widening, CHECK
 * constraints that require a column to be non-NULL.
 */
#include "classify.h"

#include <string.h>

/*
 * Built-in functions whose value is the same for every row of one statement
 * (immutable or stable). Anything else is treated as volatile: an unknown
 * function might be.
 */
static const char *const nonvolatile_functions[] = {
	"abs",
	"btrim",
	"coalesce",
	"concat",
	"current_date",
	"current_time",
	"current_timestamp",
	"date_trunc",
	"greatest",
	"jsonb_build_object",
	"json_build_object",
	"least",
	"length",
	"localtime",
	"localtimestamp",
	"lower",
	"lpad",
	"ltrim",
	"make_interval",
	"md5",
	"now",
	"nullif",
	"replace",
	"round",
	"rpad",
	"rtrim",
	"statement_timestamp",
	"substr",
	"substring",
	"to_char",
	"to_jsonb",
	"to_json",
	"to_timestamp",
	"transaction_timestamp",
	"trim",
	"upper",
	"array_agg",
	"jsonb_build_array",
	"json_build_array",
	"timezone",
	"current_user",
	"current_schema",
	"session_user",
	"format",
	"left",
	"right",
	"split_part",
	"encode",
	"decode",
	"sha256",
	"char_length",
	"octet_length",
	"floor",
	"ceil",
	"ceiling",
	"trunc",
	"date_part",
	"extract",
	"age",
	"array_length",
	"cardinality",
	"uuid_nil",
	"jsonb_typeof",
	"initcap",
	"regexp_replace",
	"translate",
	"to_date",
	"to_number",
	"int4",
	"int8",
	"text",
	"bool",
};

static const char *func_name(const cJSON *funccall)
{
	const cJSON *names = phg_field(funccall, "funcname");
	const cJSON *last = NULL, *it;

	cJSON_ArrayForEach(it, names) last = it;
	return phg_node_sval(last);
}

static bool is_nonvolatile(const char *name)
{
	for (size_t i = 0; i < sizeof(nonvolatile_functions) /
				       sizeof(nonvolatile_functions[0]);
	     i++)
		if (phg_streq(name, nonvolatile_functions[i]))
			return true;
	return false;
}

/* Depth-first search for a FuncCall that may be volatile. */
static const char *find_volatile(const cJSON *node, int depth)
{
	const cJSON *it;

	if (!node || depth > 2000)
		return NULL;
	if (cJSON_IsObject(node)) {
		const cJSON *fc = phg_node_get(node, "FuncCall");

		if (fc) {
			const char *name = func_name(fc);

			if (!name || !is_nonvolatile(name))
				return name ? name : "?";
		}
		/* SQLValueFunction (CURRENT_TIMESTAMP ...) is stable. */
	}
	if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
		cJSON_ArrayForEach(it, node)
		{
			const char *v = find_volatile(it, depth + 1);

			if (v)
				return v;
		}
	}
	return NULL;
}

const char *phg_expr_volatile_function(const cJSON *expr)
{
	return find_volatile(expr, 0);
}

bool phg_expr_is_volatile(const cJSON *expr)
{
	return find_volatile(expr, 0) != NULL;
}

const cJSON *phg_coldef_default(const cJSON *coldef)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, phg_field(coldef, "constraints"))
	{
		const cJSON *c = phg_node_get(it, "Constraint");

		if (phg_streq(phg_field_str(c, "contype"), "CONSTR_DEFAULT"))
			return phg_field(c, "raw_expr");
	}
	return NULL;
}

bool phg_coldef_has(const cJSON *coldef, const char *contype)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, phg_field(coldef, "constraints"))
	{
		const cJSON *c = phg_node_get(it, "Constraint");

		if (phg_streq(phg_field_str(c, "contype"), contype))
			return true;
	}
	return false;
}

static const char *type_last_name(const cJSON *type_name)
{
	const cJSON *last = NULL, *it;

	cJSON_ArrayForEach(it, phg_field(type_name, "names")) last = it;
	return phg_node_sval(last);
}

bool phg_coldef_is_serial(const cJSON *coldef)
{
	const char *t = type_last_name(phg_field(coldef, "typeName"));

	return t && (phg_streq(t, "serial") || phg_streq(t, "bigserial") ||
		     phg_streq(t, "smallserial") || phg_streq(t, "serial4") ||
		     phg_streq(t, "serial8") || phg_streq(t, "serial2"));
}

static int typmod_value(const cJSON *node)
{
	const cJSON *c = phg_node_get(node, "A_Const");
	const cJSON *iv = phg_field(c, "ival");

	if (!c)
		return -1;
	return phg_field_int(iv, "ival", 0);
}

void phg_type_read(const cJSON *type_name, struct phg_column *col)
{
	const cJSON *it;
	int i = 0;

	col->type = type_last_name(type_name);
	col->typmods[0] = col->typmods[1] = -1;
	col->is_array = phg_field(type_name, "arrayBounds") != NULL;
	cJSON_ArrayForEach(it, phg_field(type_name, "typmods"))
	{
		if (i < 2)
			col->typmods[i] = typmod_value(it);
		i++;
	}
}

static bool is_varchar(const char *t)
{
	return t && (phg_streq(t, "varchar") || phg_streq(t, "bpchar"));
}

bool phg_type_is_widening(const struct phg_column *old, const cJSON *new_type)
{
	struct phg_column nw = {0};

	if (!old || !old->type)
		return false;
	phg_type_read(new_type, &nw);
	if (!nw.type || nw.is_array != old->is_array)
		return false;
	/* varchar(n) -> text, varchar(n) -> varchar(m >= n) or varchar. */
	if (phg_streq(old->type, "varchar")) {
		if (phg_streq(nw.type, "text"))
			return true;
		if (phg_streq(nw.type, "varchar"))
			return nw.typmods[0] < 0 ||
			       (old->typmods[0] >= 0 &&
				nw.typmods[0] >= old->typmods[0]);
		return false;
	}
	if (is_varchar(old->type) && phg_streq(old->type, "bpchar"))
		return false; /* char(n) pads: a change is a rewrite */
	/* numeric(p, s) -> numeric(q > p, s) or unconstrained numeric. */
	if (phg_streq(old->type, "numeric") && phg_streq(nw.type, "numeric")) {
		if (nw.typmods[0] < 0)
			return true;
		return old->typmods[0] >= 0 &&
		       nw.typmods[0] >= old->typmods[0] &&
		       (nw.typmods[1] < 0 ? 0 : nw.typmods[1]) ==
			       (old->typmods[1] < 0 ? 0 : old->typmods[1]);
	}
	/* Same type, unconstrained or wider length (varbit, timestamp(p)). */
	if (phg_streq(old->type, nw.type))
		return nw.typmods[0] < 0 || (old->typmods[0] >= 0 &&
					     nw.typmods[0] >= old->typmods[0]);
	/* text <-> varchar without length are binary-coercible. */
	if (phg_streq(old->type, "text") && phg_streq(nw.type, "varchar"))
		return nw.typmods[0] < 0;
	/* cidr -> inet is binary-coercible. */
	if (phg_streq(old->type, "cidr") && phg_streq(nw.type, "inet"))
		return true;
	return false;
}

static const char *colref_name(const cJSON *colref)
{
	const cJSON *last = NULL, *it;

	cJSON_ArrayForEach(it, phg_field(colref, "fields")) last = it;
	return phg_node_sval(last);
}

const char *phg_check_not_null_column(const cJSON *expr)
{
	const cJSON *nt = phg_node_get(expr, "NullTest");
	const cJSON *be = phg_node_get(expr, "BoolExpr");
	const cJSON *it;

	if (nt) {
		if (!phg_streq(phg_field_str(nt, "nulltesttype"),
			       "IS_NOT_NULL"))
			return NULL;
		return colref_name(
			phg_node_get(phg_field(nt, "arg"), "ColumnRef"));
	}
	if (be && phg_streq(phg_field_str(be, "boolop"), "AND_EXPR")) {
		cJSON_ArrayForEach(it, phg_field(be, "args"))
		{
			const char *c = phg_check_not_null_column(it);

			if (c)
				return c;
		}
	}
	return NULL;
}
