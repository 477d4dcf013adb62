/*
 * release.c: the orchestrator's part of phasegate.yaml — "environment:",
 * "state:", a region's "vars:" and "release:" (window, lease, traffic
 * steps, analysis thresholds and queries, deploy, smoke, flags, notify) —
 * checked as strictly as the rest of the config: unknown keys, wrong types
 * and out-of-range values fail with the line and column. Templates are
 * checked here too (an unknown {placeholder} is a config error) and
 * rendered on use by phg_template_render; ${NAME} references are expanded
 * only then, so a secret is never read, nor printed, at load.
 */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ZONEINFO "/usr/share/zoneinfo"

/* The ADR's numbers (docs/release.md lists them). */
#define DEF_LEASE_TTL_MS (2LL * 60 * 1000)
#define DEF_HOLD_MS (5LL * 60 * 1000)
#define DEF_INTERVAL_MS (15LL * 1000)
#define DEF_SUSTAIN_MS (2LL * 60 * 1000)
#define DEF_DEPLOY_TIMEOUT_MS (5LL * 60 * 1000)
#define DEF_SMOKE_TIMEOUT_MS (10LL * 1000)
#define DEF_SMOKE_RETRIES 3
#define DEF_HTTP_TIMEOUT_MS (10LL * 1000)
#define DEF_NGINX_TIMEOUT_MS (30LL * 1000)

struct rl {
	const char *path;
	yaml_document_t *doc;
	struct phg_err *err;
};

static const char *const metric_names[PHG_METRICS] = {
	"error_rate", "p99_ms", "http_5xx_rate", "connections"};

const char *phg_metric_name(enum phg_metric m)
{
	return m < PHG_METRICS ? metric_names[m] : "unknown";
}

static const yaml_node_t *node(struct rl *r, int i)
{
	return yaml_document_get_node(r->doc, i);
}

static int fail(struct rl *r, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records a PHG_ECONFIG error at m and returns PHG_ECONFIG. */
static int fail(struct rl *r, yaml_mark_t m, const char *fmt, ...)
{
	char msg[sizeof(((struct phg_err *)0)->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	phg_err_set_at(r->err, PHG_ECONFIG, r->path, (int)m.line + 1,
		       (int)m.column + 1, "%s", msg);
	return PHG_ECONFIG;
}

static int oom(struct rl *r)
{
	return phg_err_set(r->err, PHG_ENOMEM,
			   "cannot load '%s': out of memory", r->path);
}

/* Checks pair p's key: a scalar no earlier pair of map repeats. */
static int get_key(struct rl *r, const yaml_node_t *map,
		   const yaml_node_pair_t *p, const char **key,
		   const yaml_node_t **knode)
{
	const yaml_node_t *k = node(r, p->key);
	char buf[PHG_CFG_QUOTE_MAX + 8];

	if (k->type != YAML_SCALAR_NODE)
		return fail(r, k->start_mark, "a key must be a name, not %s",
			    phg_cfg_describe(k, buf, sizeof(buf)));
	for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p;
	     q++) {
		const yaml_node_t *prev = node(r, q->key);

		if (prev->type == YAML_SCALAR_NODE &&
		    prev->data.scalar.length == k->data.scalar.length &&
		    !memcmp(prev->data.scalar.value, k->data.scalar.value,
			    k->data.scalar.length))
			return fail(r, k->start_mark,
				    "duplicate key %s (first at line %d)",
				    phg_cfg_describe(k, buf, sizeof(buf)),
				    (int)prev->start_mark.line + 1);
	}
	*key = phg_cfg_text(k);
	*knode = k;
	return 0;
}

static int unknown_key(struct rl *r, const yaml_node_t *k, const char *where,
		       const char *takes)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];

	return fail(r, k->start_mark, "unknown key %s in '%s': it takes %s",
		    phg_cfg_describe(k, buf, sizeof(buf)), where, takes);
}

static int need_map(struct rl *r, const char *key, const yaml_node_t *v,
		    const char *what)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];

	if (v->type == YAML_MAPPING_NODE)
		return 0;
	return fail(r, v->start_mark, "'%s' must be %s, not %s", key, what,
		    phg_cfg_describe(v, buf, sizeof(buf)));
}

static int text(struct rl *r, const char *key, const yaml_node_t *v,
		const char *what, const char **out)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];

	*out = NULL;
	if (v->type != YAML_SCALAR_NODE || v->data.scalar.length == 0)
		return fail(r, v->start_mark, "'%s' must be %s, not %s", key,
			    what, phg_cfg_describe(v, buf, sizeof(buf)));
	if (memchr(v->data.scalar.value, '\0', v->data.scalar.length))
		return fail(r, v->start_mark,
			    "'%s' must be %s without a NUL character", key,
			    what);
	*out = phg_cfg_text(v);
	return 0;
}

static int set_str(struct rl *r, char **dst, const char *s)
{
	char *copy = phg_strdup(s);

	if (!copy)
		return oom(r);
	free(*dst);
	*dst = copy;
	return 0;
}

static int duration(struct rl *r, const char *key, const yaml_node_t *v,
		    bool positive, long long *ms)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	long long value;

	if (v->type != YAML_SCALAR_NODE ||
	    memchr(v->data.scalar.value, '\0', v->data.scalar.length) ||
	    phg_duration_parse(phg_cfg_text(v), &value) < 0)
		return fail(r, v->start_mark,
			    "'%s' must be a duration such as 5s, 500ms or "
			    "1h, not %s",
			    key, phg_cfg_describe(v, buf, sizeof(buf)));
	if (positive && value == 0)
		return fail(r, v->start_mark, "'%s' must be more than 0", key);
	*ms = value;
	return 0;
}

static int number(struct rl *r, const char *key, const yaml_node_t *v,
		  double min, double max, const char *unit, double *out)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	char *end = NULL;
	double d;

	if (v->type != YAML_SCALAR_NODE || v->data.scalar.length == 0 ||
	    v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		goto wrong;
	d = strtod(phg_cfg_text(v), &end);
	if (!end || *end || end == phg_cfg_text(v) || !isfinite(d) || d < min ||
	    d > max)
		goto wrong;
	*out = d;
	return 0;
wrong:
	return fail(r, v->start_mark,
		    "'%s' must be a number from %g to %g (%s), not %s", key,
		    min, max, unit, phg_cfg_describe(v, buf, sizeof(buf)));
}

static int integer(struct rl *r, const char *key, const yaml_node_t *v, int min,
		   int max, int *out)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	long long n = 0;

	if (v->type != YAML_SCALAR_NODE || v->data.scalar.length == 0)
		goto wrong;
	for (size_t i = 0; i < v->data.scalar.length; i++) {
		unsigned char c = v->data.scalar.value[i];

		if (c < '0' || c > '9')
			goto wrong;
		if (n <= max)
			n = n * 10 + (c - '0');
	}
	if (n < min || n > max)
		goto wrong;
	*out = (int)n;
	return 0;
wrong:
	return fail(r, v->start_mark,
		    "'%s' must be an integer between %d and %d, not %s", key,
		    min, max, phg_cfg_describe(v, buf, sizeof(buf)));
}

/* ---- templates ---------------------------------------------------------- */

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') ||
			(s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/*
 * Finds the next placeholder in s from *pos: a '{', a letter, letters,
 * digits, '_' or '.', and '}' (PromQL's {label="..."} and regex {2} are
 * text); "${...}" is an environment reference, never a placeholder. Sets
 * *start (the '{') and *len (the name's length) and returns true, or
 * returns false at the end.
 */
static bool next_placeholder(const char *s, size_t *pos, size_t *start,
			     size_t *len)
{
	size_t i = *pos;

	while (s[i]) {
		if (s[i] == '$' && s[i + 1] == '$' && s[i + 2] != '{') {
			i += 2;
			continue;
		}
		/* "${NAME}", and "$${...}" (a literal "${...}"). */
		if (s[i] == '$' && (s[i + 1] == '{' || s[i + 1] == '$')) {
			const char *end = strchr(s + i + 2, '}');

			i = end ? (size_t)(end - s) + 1 : strlen(s);
			continue;
		}
		if (s[i] == '{' && ((s[i + 1] >= 'a' && s[i + 1] <= 'z') ||
				    (s[i + 1] >= 'A' && s[i + 1] <= 'Z'))) {
			size_t j = i + 1;

			while ((s[j] >= 'a' && s[j] <= 'z') ||
			       (s[j] >= 'A' && s[j] <= 'Z') ||
			       (s[j] >= '0' && s[j] <= '9') || s[j] == '_' ||
			       s[j] == '.')
				j++;
			if (s[j] == '}') {
				*start = i;
				*len = j - i - 1;
				*pos = j + 1;
				return true;
			}
		}
		i++;
	}
	*pos = i;
	return false;
}

static const char *const placeholder_names[] = {"region", "slot",   "release",
						"step",	  "weight", NULL};

/* Whether name (n bytes) is a placeholder; var.NAME sets *var. */
static bool placeholder_ok(const char *name, size_t n, bool *var)
{
	*var = false;
	if (n > 4 && !strncmp(name, "var.", 4)) {
		*var = true;
		return name_ok(name + 4, n - 4);
	}
	for (size_t i = 0; placeholder_names[i]; i++)
		if (strlen(placeholder_names[i]) == n &&
		    !strncmp(placeholder_names[i], name, n))
			return true;
	return false;
}

/* Loads a template value: text, known placeholders, valid ${NAME}s. */
static int tmpl(struct rl *r, const char *key, const yaml_node_t *v,
		struct phg_template *t)
{
	const char *s = NULL, *problem;
	size_t pos = 0, start, len;
	bool var = false;
	int rc = text(r, key, v, "a text", &s);

	if (rc < 0)
		return rc;
	while (next_placeholder(s, &pos, &start, &len)) {
		if (!placeholder_ok(s + start + 1, len, &var))
			return fail(r, v->start_mark,
				    "'%s' has an unknown placeholder "
				    "'{%.*s}': use {region}, {slot}, "
				    "{release}, {step}, {weight} or "
				    "{var.NAME}",
				    key,
				    (int)(len > PHG_CFG_QUOTE_MAX
						  ? PHG_CFG_QUOTE_MAX
						  : len),
				    s + start + 1);
	}
	problem = phg_config_ref_problem(s);
	if (problem)
		return fail(r, v->start_mark, "'%s' has %s", key, problem);
	rc = set_str(r, &t->text, s);
	t->line = (int)v->start_mark.line + 1;
	t->col = (int)v->start_mark.column + 1;
	return rc;
}

static const char *var_get(const struct phg_region *reg, const char *name,
			   size_t n)
{
	for (size_t i = 0; reg && i < reg->nvars; i++)
		if (strlen(reg->vars[i].name) == n &&
		    !strncmp(reg->vars[i].name, name, n))
			return reg->vars[i].value;
	return NULL;
}

/* See config.h. */
int phg_template_render(const char *t, const struct phg_template_vars *v,
			bool expand, char **out, struct phg_err *err)
{
	struct phg_buf b = {0};
	size_t pos = 0, prev = 0, start, len;
	bool var;
	int rc = phg_buf_add(&b, "", 0);

	*out = NULL;
	while (rc == 0 && next_placeholder(t, &pos, &start, &len)) {
		const char *name = t + start + 1, *val = NULL;
		char num[16];

		rc = phg_buf_add(&b, t + prev, start - prev);
		prev = pos;
		if (rc < 0)
			break;
		if (!placeholder_ok(name, len, &var)) {
			rc = phg_err_set(err, PHG_ECONFIG,
					 "unknown placeholder '{%.*s}'",
					 (int)len, name);
			goto out;
		}
		if (var) {
			val = var_get(v->reg, name + 4, len - 4);
			if (!val) {
				rc = phg_err_set(
					err, PHG_ECONFIG,
					"region '%s' has no '%.*s' in its "
					"'vars'",
					v->reg ? v->reg->name : "?",
					(int)len - 4, name + 4);
				goto out;
			}
		} else if (!strncmp(name, "region", len)) {
			val = v->region;
		} else if (!strncmp(name, "slot", len)) {
			val = v->slot;
		} else if (!strncmp(name, "release", len)) {
			val = v->release;
		} else if (!strncmp(name, "step", len)) {
			val = v->step;
		} else {
			snprintf(num, sizeof(num), "%d", v->weight);
			val = num;
		}
		rc = phg_buf_puts(&b, val ? val : "");
	}
	if (rc == 0)
		rc = phg_buf_puts(&b, t + prev);
	if (rc < 0) {
		rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
		goto out;
	}
	if (expand) {
		rc = phg_config_expand(b.data, out, err);
		goto out;
	}
	*out = b.data;
	b.data = NULL;
out:
	phg_buf_release(&b);
	return rc;
}

/* ---- environment, state, vars ------------------------------------------- */

static int load_environment(struct rl *r, const yaml_node_t *v,
			    struct phg_config *cfg)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	const char *s;
	int rc = text(r, "environment", v, "an environment name", &s);

	if (rc < 0)
		return rc;
	if (strlen(s) > 64 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._-") != strlen(s))
		return fail(r, v->start_mark,
			    "'environment' must be a name of letters, digits, "
			    "'.', '_' and '-' (at most 64), not %s",
			    phg_cfg_describe(v, buf, sizeof(buf)));
	return set_str(r, &cfg->environment, s);
}

static int load_state(struct rl *r, const yaml_node_t *v,
		      struct phg_config *cfg)
{
	const char *s, *problem;
	/* Never phg_cfg_describe() the value: it may hold a password. */
	int rc = text(r, "state", v,
		      "a ledger location (a file path or a "
		      "postgres:// URL)",
		      &s);

	if (rc < 0)
		return rc;
	problem = phg_config_ref_problem(s);
	if (problem)
		return fail(r, v->start_mark, "'state' has %s", problem);
	return set_str(r, &cfg->state, s);
}

int phg_cfgrel_load_vars(const char *path, yaml_document_t *doc,
			 const yaml_node_t *v, struct phg_region *reg,
			 struct phg_err *err)
{
	struct rl r = {path, doc, err};
	const yaml_node_pair_t *p;
	size_t n;
	int rc;

	if (phg_cfg_is_null(v))
		return 0;
	rc = need_map(&r, "vars", v,
		      "a mapping of names to texts, such as 'lb: /srv/lb'");
	if (rc < 0)
		return rc;
	n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	if (n == 0)
		return 0;
	reg->vars = phg_xcalloc(n, sizeof(*reg->vars));
	if (!reg->vars)
		return oom(&r);
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn, *val = node(&r, p->value);
		struct phg_var *var = &reg->vars[reg->nvars];
		char buf[PHG_CFG_QUOTE_MAX + 8];
		const char *k, *s;

		rc = get_key(&r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		if (!name_ok(k, strlen(k)))
			return fail(&r, kn->start_mark,
				    "a var name must be letters, digits and "
				    "'_', not starting with a digit, not %s",
				    phg_cfg_describe(kn, buf, sizeof(buf)));
		if (val->type != YAML_SCALAR_NODE ||
		    memchr(val->data.scalar.value, '\0',
			   val->data.scalar.length))
			return fail(&r, val->start_mark,
				    "var '%s' must be a text, not %s", k,
				    phg_cfg_describe(val, buf, sizeof(buf)));
		s = phg_cfg_text(val);
		if (phg_config_ref_problem(s))
			return fail(&r, val->start_mark, "var '%s' has %s", k,
				    phg_config_ref_problem(s));
		var->name = phg_strdup(k);
		var->value = phg_strdup(s);
		reg->nvars++;
		if (!var->name || !var->value)
			return oom(&r);
	}
	return 0;
}

/* ---- window ------------------------------------------------------------- */

static const char *const day_names[] = {"sun", "mon", "tue", "wed",
					"thu", "fri", "sat", NULL};

static bool tz_ok(const char *tz)
{
	struct stat st;
	char path[512];

	if (!*tz || tz[0] == '/' || strstr(tz, "..") ||
	    strspn(tz, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		       "0123456789/_+-") != strlen(tz))
		return false;
	/* Without a zoneinfo database, the check waits for its use. */
	if (stat(ZONEINFO, &st) < 0)
		return true;
	snprintf(path, sizeof(path), "%s/%s", ZONEINFO, tz);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int parse_hhmm(const char *s, int *min)
{
	if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
	      s[2] == ':' && s[3] >= '0' && s[3] <= '5' && s[4] >= '0' &&
	      s[4] <= '9'))
		return -1;
	*min = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 +
	       (s[4] - '0');
	return *min <= 24 * 60 ? 0 : -1;
}

static bool date_ok(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    strspn(s, "0123456789-") != 10)
		return false;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return !(m == 2 && d == 29 &&
		 !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

static int load_days(struct rl *r, const yaml_node_t *v, unsigned *days)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];

	if (v->type != YAML_SEQUENCE_NODE ||
	    v->data.sequence.items.top == v->data.sequence.items.start)
		return fail(r, v->start_mark,
			    "'days' must be a list of days such as [mon, "
			    "tue], not %s",
			    phg_cfg_describe(v, buf, sizeof(buf)));
	*days = 0;
	for (const yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		const yaml_node_t *d = node(r, *it);
		size_t i;

		for (i = 0; d->type == YAML_SCALAR_NODE && day_names[i]; i++)
			if (!strcmp(phg_cfg_text(d), day_names[i]))
				break;
		if (d->type != YAML_SCALAR_NODE || !day_names[i])
			return fail(r, d->start_mark,
				    "a day must be one of sun, mon, tue, wed, "
				    "thu, fri or sat, not %s",
				    phg_cfg_describe(d, buf, sizeof(buf)));
		*days |= 1u << i;
	}
	return 0;
}

static int load_window(struct rl *r, const yaml_node_t *v, struct phg_window *w)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	int rc;

	if (v->type == YAML_SCALAR_NODE && !strcmp(phg_cfg_text(v), "any")) {
		w->any = true;
		return 0;
	}
	if (v->type != YAML_MAPPING_NODE)
		return fail(r, v->start_mark,
			    "'window' must be 'any' or a mapping with "
			    "'timezone', 'days', 'hours' and 'deny', not %s",
			    phg_cfg_describe(v, buf, sizeof(buf)));
	w->any = false;
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *val = node(r, p->value);
		const char *k, *s;

		rc = get_key(r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		if (!strcmp(k, "timezone")) {
			rc = text(r, k, val, "an IANA time zone", &s);
			if (rc < 0)
				return rc;
			if (!tz_ok(s))
				return fail(r, val->start_mark,
					    "'timezone' must be an IANA time "
					    "zone such as America/New_York, "
					    "not %s",
					    phg_cfg_describe(val, buf,
							     sizeof(buf)));
			rc = set_str(r, &w->timezone, s);
		} else if (!strcmp(k, "days")) {
			rc = load_days(r, val, &w->days);
		} else if (!strcmp(k, "hours")) {
			rc = text(r, k, val, "a time range", &s);
			if (rc == 0 && (strlen(s) != 11 || s[5] != '-' ||
					parse_hhmm(s, &w->start_min) < 0 ||
					parse_hhmm(s + 6, &w->end_min) < 0 ||
					w->start_min >= w->end_min))
				rc = fail(r, val->start_mark,
					  "'hours' must be a range such as "
					  "\"10:00-16:00\" (start before end, "
					  "up to 24:00), not %s",
					  phg_cfg_describe(val, buf,
							   sizeof(buf)));
		} else if (!strcmp(k, "deny")) {
			size_t n;

			if (phg_cfg_is_null(val))
				continue;
			if (val->type != YAML_SEQUENCE_NODE)
				return fail(r, val->start_mark,
					    "'deny' must be a list of dates "
					    "such as \"2026-12-25\", not %s",
					    phg_cfg_describe(val, buf,
							     sizeof(buf)));
			n = (size_t)(val->data.sequence.items.top -
				     val->data.sequence.items.start);
			for (size_t i = 0; i < w->ndeny; i++)
				free(w->deny[i]);
			free(w->deny);
			w->ndeny = 0;
			w->deny = phg_xcalloc(n + 1, sizeof(char *));
			if (!w->deny)
				return oom(r);
			for (size_t i = 0; i < n; i++) {
				const yaml_node_t *d = node(
					r, val->data.sequence.items.start[i]);

				if (d->type != YAML_SCALAR_NODE ||
				    !date_ok(phg_cfg_text(d)))
					return fail(
						r, d->start_mark,
						"a denied date must be "
						"YYYY-MM-DD, not %s",
						phg_cfg_describe(d, buf,
								 sizeof(buf)));
				w->deny[i] = phg_strdup(phg_cfg_text(d));
				if (!w->deny[i])
					return oom(r);
				w->ndeny = i + 1;
			}
		} else {
			return unknown_key(r, kn, "window",
					   "'timezone', 'days', 'hours' and "
					   "'deny'");
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- traffic ------------------------------------------------------------ */

static int load_steps(struct rl *r, const yaml_node_t *v,
		      struct phg_release_settings *rs)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	size_t n;
	int *steps;
	int rc;

	if (v->type != YAML_SEQUENCE_NODE ||
	    v->data.sequence.items.top == v->data.sequence.items.start)
		return fail(r, v->start_mark,
			    "'steps' must be a list of green's percentages "
			    "such as [10, 50, 100], not %s",
			    phg_cfg_describe(v, buf, sizeof(buf)));
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	steps = phg_xcalloc(n, sizeof(int));
	if (!steps)
		return oom(r);
	free(rs->steps);
	rs->steps = steps;
	rs->nsteps = n;
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *s = node(r, v->data.sequence.items.start[i]);

		rc = integer(r, "steps", s, 1, 100, &steps[i]);
		if (rc < 0)
			return rc;
		if (i > 0 && steps[i] <= steps[i - 1])
			return fail(r, s->start_mark,
				    "'steps' must rise: %d comes after %d",
				    steps[i], steps[i - 1]);
		if (i + 1 == n && steps[i] != 100)
			return fail(r, s->start_mark,
				    "'steps' must end at 100 (the whole "
				    "cutover), not %d",
				    steps[i]);
	}
	return 0;
}

static int load_nginx(struct rl *r, const yaml_node_t *v,
		      struct phg_nginx_settings *ng)
{
	static const char *const keys[] = {"binary",	    "prefix",	"conf",
					   "upstream_file", "upstream", "blue",
					   "green",	    NULL};
	struct phg_template *fields[] = {
		&ng->binary,   &ng->prefix, &ng->conf, &ng->upstream_file,
		&ng->upstream, &ng->blue,   &ng->green};
	int rc = need_map(r, "nginx", v, "a mapping");

	if (rc < 0)
		return rc;
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *val = node(r, p->value);
		const char *k;
		size_t i;

		rc = get_key(r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		if (!strcmp(k, "timeout")) {
			rc = duration(r, k, val, true, &ng->timeout_ms);
			if (rc < 0)
				return rc;
			continue;
		}
		for (i = 0; keys[i] && strcmp(keys[i], k); i++)
			;
		if (!keys[i])
			return unknown_key(r, kn, "nginx",
					   "'binary', 'prefix', 'conf', "
					   "'upstream_file', 'upstream', "
					   "'blue', 'green' and 'timeout'");
		rc = tmpl(r, k, val, fields[i]);
		if (rc < 0)
			return rc;
	}
	/* binary defaults to "nginx"; the rest is needed. */
	for (size_t i = 1; keys[i]; i++)
		if (!fields[i]->text)
			return fail(r, v->start_mark, "'nginx' has no '%s'",
				    keys[i]);
	return 0;
}

static int load_traffic(struct rl *r, const yaml_node_t *v,
			struct phg_release_settings *rs)
{
	int rc = need_map(r, "traffic", v,
			  "a mapping with 'steps', 'hold' and 'nginx'");

	if (rc < 0)
		return rc;
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *val = node(r, p->value);
		const char *k;

		rc = get_key(r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		if (!strcmp(k, "steps"))
			rc = load_steps(r, val, rs);
		else if (!strcmp(k, "hold"))
			rc = duration(r, k, val, false, &rs->hold_ms);
		else if (!strcmp(k, "nginx")) {
			rc = load_nginx(r, val, &rs->nginx);
			rs->have_nginx = rc == 0;
		} else
			return unknown_key(r, kn, "traffic",
					   "'steps', 'hold' and 'nginx'");
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- analysis ----------------------------------------------------------- */

static int load_thresholds(struct rl *r, const char *where,
			   const yaml_node_t *v, double *vals, bool *has,
			   bool rollback)
{
	int rc = need_map(r, where, v, "a mapping of metrics to thresholds");

	if (rc < 0)
		return rc;
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *val = node(r, p->value);
		const char *k;
		int m;

		rc = get_key(r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		if (!strcmp(k, "error_rate"))
			m = PHG_METRIC_ERROR_RATE;
		else if (!strcmp(k, "p99_ms"))
			m = PHG_METRIC_P99_MS;
		else if (!strcmp(k, "http_5xx_rate"))
			m = PHG_METRIC_HTTP_5XX_RATE;
		else if (rollback && !strcmp(k, "connections_ratio"))
			m = PHG_METRIC_CONNECTIONS;
		else
			return unknown_key(
				r, kn, where,
				rollback ? "'error_rate', 'p99_ms', "
					   "'http_5xx_rate' and "
					   "'connections_ratio'"
					 : "'error_rate', 'p99_ms' and "
					   "'http_5xx_rate'");
		if (m == PHG_METRIC_P99_MS)
			rc = number(r, k, val, 0, 1e9, "milliseconds",
				    &vals[m]);
		else
			rc = number(r, k, val, 0, 1,
				    m == PHG_METRIC_CONNECTIONS
					    ? "a fraction of the connections "
					      "before the cutover"
					    : "a fraction",
				    &vals[m]);
		if (rc < 0)
			return rc;
		has[m] = true;
	}
	return 0;
}

static int load_queries(struct rl *r, const yaml_node_t *v,
			struct phg_release_settings *rs)
{
	int rc = need_map(r, "queries", v,
			  "a mapping of metrics to PromQL queries");

	if (rc < 0)
		return rc;
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *val = node(r, p->value);
		const char *k;
		int m;

		rc = get_key(r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		for (m = 0; m < PHG_METRICS && strcmp(metric_names[m], k); m++)
			;
		if (m == PHG_METRICS)
			return unknown_key(r, kn, "queries",
					   "'error_rate', 'p99_ms', "
					   "'http_5xx_rate' and 'connections'");
		rc = tmpl(r, k, val, &rs->queries[m]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int load_analysis(struct rl *r, const yaml_node_t *v,
			 struct phg_release_settings *rs)
{
	int rc = need_map(r, "analysis", v, "a mapping");

	if (rc < 0)
		return rc;
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *val = node(r, p->value);
		const char *k;

		rc = get_key(r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		if (!strcmp(k, "interval"))
			rc = duration(r, k, val, true, &rs->interval_ms);
		else if (!strcmp(k, "sustain"))
			rc = duration(r, k, val, false, &rs->sustain_ms);
		else if (!strcmp(k, "healthy"))
			rc = load_thresholds(r, "healthy", val, rs->healthy,
					     rs->has_healthy, false);
		else if (!strcmp(k, "rollback"))
			rc = load_thresholds(r, "rollback", val, rs->rollback,
					     rs->has_rollback, true);
		else if (!strcmp(k, "prometheus"))
			rc = tmpl(r, k, val, &rs->prometheus);
		else if (!strcmp(k, "queries"))
			rc = load_queries(r, val, rs);
		else
			return unknown_key(r, kn, "analysis",
					   "'interval', 'sustain', 'healthy', "
					   "'rollback', 'prometheus' and "
					   "'queries'");
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- deploy and smoke --------------------------------------------------- */

static int load_argv(struct rl *r, const char *where, const yaml_node_t *v,
		     struct phg_step_action *a)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	size_t n;
	int rc;

	if (v->type != YAML_SEQUENCE_NODE ||
	    v->data.sequence.items.top == v->data.sequence.items.start)
		return fail(r, v->start_mark,
			    "'%s.command' must be a list (argv, no shell) "
			    "such as [\"./deploy\", \"{slot}\"], not %s",
			    where, phg_cfg_describe(v, buf, sizeof(buf)));
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	a->argv = phg_xcalloc(n, sizeof(*a->argv));
	if (!a->argv)
		return oom(r);
	for (size_t i = 0; i < n; i++) {
		rc = tmpl(r, "command",
			  node(r, v->data.sequence.items.start[i]),
			  &a->argv[i]);
		a->argc = i + 1;
		if (rc < 0)
			return rc;
	}
	a->kind = PHG_ACTION_COMMAND;
	return 0;
}

static int load_http(struct rl *r, const char *where, const yaml_node_t *v,
		     struct phg_step_action *a)
{
	int status, rc = need_map(r, "http", v, "a mapping with 'url'");

	if (rc < 0)
		return rc;
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *val = node(r, p->value);
		const char *k;

		rc = get_key(r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		if (!strcmp(k, "url"))
			rc = tmpl(r, k, val, &a->url);
		else if (!strcmp(k, "method"))
			rc = tmpl(r, k, val, &a->method);
		else if (!strcmp(k, "request_body"))
			rc = tmpl(r, k, val, &a->body);
		else if (!strcmp(k, "body"))
			rc = tmpl(r, k, val, &a->expect_body);
		else if (!strcmp(k, "status")) {
			rc = integer(r, k, val, 100, 599, &status);
			a->expect_status = status;
		} else if (!strcmp(k, "retries"))
			rc = integer(r, k, val, 0, 100, &a->retries);
		else if (!strcmp(k, "timeout"))
			rc = duration(r, k, val, true, &a->timeout_ms);
		else if (!strcmp(k, "headers")) {
			size_t n;
			char buf[PHG_CFG_QUOTE_MAX + 8];

			if (val->type != YAML_SEQUENCE_NODE)
				return fail(r, val->start_mark,
					    "'headers' must be a list of "
					    "\"Name: value\", not %s",
					    phg_cfg_describe(val, buf,
							     sizeof(buf)));
			n = (size_t)(val->data.sequence.items.top -
				     val->data.sequence.items.start);
			a->headers = phg_xcalloc(n + 1, sizeof(*a->headers));
			if (!a->headers)
				return oom(r);
			for (size_t i = 0; i < n && rc == 0; i++) {
				const yaml_node_t *h = node(
					r, val->data.sequence.items.start[i]);

				rc = tmpl(r, "headers", h, &a->headers[i]);
				a->nheaders = i + 1;
				if (rc == 0 && !strchr(a->headers[i].text, ':'))
					rc = fail(r, h->start_mark,
						  "a header must be \"Name: "
						  "value\"");
			}
		} else
			return unknown_key(r, kn, "http",
					   "'url', 'method', 'headers', "
					   "'request_body', 'status', 'body', "
					   "'retries' and 'timeout'");
		if (rc < 0)
			return rc;
	}
	if (!a->url.text)
		return fail(r, v->start_mark, "'%s.http' has no 'url'", where);
	a->kind = PHG_ACTION_HTTP;
	return 0;
}

static int load_action(struct rl *r, const char *where, const yaml_node_t *v,
		       struct phg_step_action *a)
{
	const yaml_node_t *cmd = NULL, *http = NULL, *cmd_key = NULL;
	int rc;

	if (phg_cfg_is_null(v))
		return 0;
	rc = need_map(r, where, v, "a mapping with 'command' or 'http'");
	if (rc < 0)
		return rc;
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *val = node(r, p->value);
		const char *k;

		rc = get_key(r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		if (!strcmp(k, "command")) {
			cmd = val;
			cmd_key = kn;
		} else if (!strcmp(k, "http"))
			http = val;
		else if (!strcmp(k, "timeout"))
			rc = duration(r, k, val, true, &a->timeout_ms);
		else
			return unknown_key(r, kn, where,
					   "'command', 'http' and 'timeout'");
		if (rc < 0)
			return rc;
	}
	if (cmd && http)
		return fail(r, cmd_key->start_mark,
			    "'%s' takes 'command' or 'http', not both", where);
	if (!cmd && !http)
		return fail(r, v->start_mark, "'%s' needs 'command' or 'http'",
			    where);
	return cmd ? load_argv(r, where, cmd, a) : load_http(r, where, http, a);
}

/* ---- flags and notify --------------------------------------------------- */

static int load_unleash(struct rl *r, const yaml_node_t *v,
			struct phg_unleash_settings *u)
{
	char buf[PHG_CFG_QUOTE_MAX + 8];
	int rc = need_map(r, "unleash", v,
			  "a mapping with 'url', 'token', 'environment' and "
			  "'features'");

	if (rc < 0)
		return rc;
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *val = node(r, p->value);
		const char *k, *s;

		rc = get_key(r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		if (!strcmp(k, "url"))
			rc = tmpl(r, k, val, &u->url);
		else if (!strcmp(k, "token"))
			rc = tmpl(r, k, val, &u->token);
		else if (!strcmp(k, "environment"))
			rc = tmpl(r, k, val, &u->environment);
		else if (!strcmp(k, "project"))
			rc = tmpl(r, k, val, &u->project);
		else if (!strcmp(k, "timeout"))
			rc = duration(r, k, val, true, &u->timeout_ms);
		else if (!strcmp(k, "rollout")) {
			rc = text(r, k, val, "at-done or with-traffic", &s);
			if (rc == 0 && !strcmp(s, "at-done"))
				u->rollout = PHG_ROLLOUT_AT_DONE;
			else if (rc == 0 && !strcmp(s, "with-traffic"))
				u->rollout = PHG_ROLLOUT_WITH_TRAFFIC;
			else if (rc == 0)
				return fail(r, val->start_mark,
					    "'rollout' must be at-done or "
					    "with-traffic, not %s",
					    phg_cfg_describe(val, buf,
							     sizeof(buf)));
		} else if (!strcmp(k, "features")) {
			size_t n;

			if (val->type != YAML_SEQUENCE_NODE ||
			    val->data.sequence.items.top ==
				    val->data.sequence.items.start)
				return fail(r, val->start_mark,
					    "'features' must be a list of "
					    "feature flag names, not %s",
					    phg_cfg_describe(val, buf,
							     sizeof(buf)));
			n = (size_t)(val->data.sequence.items.top -
				     val->data.sequence.items.start);
			u->features = phg_xcalloc(n, sizeof(char *));
			if (!u->features)
				return oom(r);
			for (size_t i = 0; i < n && rc == 0; i++) {
				rc = text(
					r, "features",
					node(r,
					     val->data.sequence.items.start[i]),
					"a feature flag name", &s);
				if (rc == 0) {
					u->features[i] = phg_strdup(s);
					u->nfeatures = i + 1;
					if (!u->features[i])
						return oom(r);
				}
			}
		} else
			return unknown_key(r, kn, "unleash",
					   "'url', 'token', 'environment', "
					   "'project', 'features', 'rollout' "
					   "and 'timeout'");
		if (rc < 0)
			return rc;
	}
	if (!u->url.text || !u->token.text || !u->environment.text ||
	    !u->nfeatures)
		return fail(r, v->start_mark,
			    "'unleash' needs 'url', 'token', 'environment' "
			    "and 'features'");
	return 0;
}

static int load_flags(struct rl *r, const yaml_node_t *v,
		      struct phg_release_settings *rs)
{
	int rc = need_map(r, "flags", v, "a mapping with 'unleash'");

	if (rc < 0)
		return rc;
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *val = node(r, p->value);
		const char *k;

		rc = get_key(r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		if (strcmp(k, "unleash"))
			return unknown_key(r, kn, "flags", "'unleash'");
		rc = load_unleash(r, val, &rs->unleash);
		if (rc < 0)
			return rc;
		rs->have_unleash = true;
	}
	return 0;
}

static int load_webhook(struct rl *r, const yaml_node_t *v,
			struct phg_release_settings *rs)
{
	int rc = need_map(r, "webhook", v, "a mapping with 'url'");

	if (rc < 0)
		return rc;
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *val = node(r, p->value);
		const char *k;

		rc = get_key(r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		if (!strcmp(k, "url"))
			rc = tmpl(r, k, val, &rs->webhook);
		else if (!strcmp(k, "timeout"))
			rc = duration(r, k, val, true, &rs->webhook_timeout_ms);
		else
			return unknown_key(r, kn, "webhook",
					   "'url' and 'timeout'");
		if (rc < 0)
			return rc;
	}
	if (!rs->webhook.text)
		return fail(r, v->start_mark, "'webhook' has no 'url'");
	return 0;
}

static int load_notify(struct rl *r, const yaml_node_t *v,
		       struct phg_release_settings *rs)
{
	int rc = need_map(r, "notify", v, "a mapping with 'webhook'");

	if (rc < 0)
		return rc;
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *val = node(r, p->value);
		const char *k;

		rc = get_key(r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		if (strcmp(k, "webhook"))
			return unknown_key(r, kn, "notify", "'webhook'");
		rc = load_webhook(r, val, rs);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int load_release(struct rl *r, const yaml_node_t *v,
			struct phg_config *cfg)
{
	struct phg_release_settings *rs = &cfg->release;
	int rc;

	if (phg_cfg_is_null(v))
		return 0;
	rc = need_map(r, "release", v,
		      "a mapping with 'window', 'traffic', 'analysis', ...");
	if (rc < 0)
		return rc;
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *val = node(r, p->value);
		const char *k;

		rc = get_key(r, v, p, &k, &kn);
		if (rc < 0)
			return rc;
		if (!strcmp(k, "window"))
			rc = load_window(r, val, &rs->window);
		else if (!strcmp(k, "lease_ttl"))
			rc = duration(r, k, val, true, &rs->lease_ttl_ms);
		else if (!strcmp(k, "traffic"))
			rc = load_traffic(r, val, rs);
		else if (!strcmp(k, "analysis"))
			rc = load_analysis(r, val, rs);
		else if (!strcmp(k, "deploy"))
			rc = load_action(r, "deploy", val, &rs->deploy);
		else if (!strcmp(k, "smoke"))
			rc = load_action(r, "smoke", val, &rs->smoke);
		else if (!strcmp(k, "flags"))
			rc = load_flags(r, val, rs);
		else if (!strcmp(k, "notify"))
			rc = load_notify(r, val, rs);
		else if (!strcmp(k, "contract"))
			return fail(r, kn->start_mark,
				    "'contract' is a top-level key, not one of "
				    "'release': move it out of 'release'");
		else
			return unknown_key(r, kn, "release",
					   "'window', 'lease_ttl', 'traffic', "
					   "'analysis', 'deploy', 'smoke', "
					   "'flags' and 'notify'");
		if (rc < 0)
			return rc;
	}
	return 0;
}

int phg_cfgrel_load_key(const char *key, const char *path, yaml_document_t *doc,
			const yaml_node_t *v, struct phg_config *cfg,
			struct phg_err *err)
{
	struct rl r = {path, doc, err};

	if (!strcmp(key, "environment"))
		return load_environment(&r, v, cfg);
	if (!strcmp(key, "state"))
		return load_state(&r, v, cfg);
	return load_release(&r, v, cfg);
}

/* ---- lifecycle and checks ----------------------------------------------- */

int phg_cfgrel_defaults(struct phg_config *cfg)
{
	struct phg_release_settings *rs = &cfg->release;
	static const int steps[] = {10, 50, 100};

	cfg->environment = phg_strdup("default");
	rs->window.timezone = phg_strdup("America/New_York");
	rs->window.days = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4);
	rs->window.start_min = 10 * 60;
	rs->window.end_min = 16 * 60;
	rs->lease_ttl_ms = DEF_LEASE_TTL_MS;
	rs->steps = phg_xcalloc(3, sizeof(int));
	if (rs->steps) {
		memcpy(rs->steps, steps, sizeof(steps));
		rs->nsteps = 3;
	}
	rs->hold_ms = DEF_HOLD_MS;
	rs->nginx.timeout_ms = DEF_NGINX_TIMEOUT_MS;
	rs->interval_ms = DEF_INTERVAL_MS;
	rs->sustain_ms = DEF_SUSTAIN_MS;
	rs->healthy[PHG_METRIC_ERROR_RATE] = 0.01;
	rs->healthy[PHG_METRIC_P99_MS] = 400;
	rs->has_healthy[PHG_METRIC_ERROR_RATE] = true;
	rs->has_healthy[PHG_METRIC_P99_MS] = true;
	rs->rollback[PHG_METRIC_ERROR_RATE] = 0.05;
	rs->rollback[PHG_METRIC_P99_MS] = 1000;
	rs->rollback[PHG_METRIC_HTTP_5XX_RATE] = 0.02;
	rs->rollback[PHG_METRIC_CONNECTIONS] = 0.5;
	for (int m = 0; m < PHG_METRICS; m++)
		rs->has_rollback[m] = true;
	rs->deploy.timeout_ms = DEF_DEPLOY_TIMEOUT_MS;
	rs->deploy.expect_status = 200;
	rs->smoke.timeout_ms = DEF_SMOKE_TIMEOUT_MS;
	rs->smoke.expect_status = 200;
	rs->smoke.retries = DEF_SMOKE_RETRIES;
	rs->unleash.timeout_ms = DEF_HTTP_TIMEOUT_MS;
	rs->webhook_timeout_ms = DEF_HTTP_TIMEOUT_MS;
	if (!cfg->environment || !rs->window.timezone || !rs->steps)
		return PHG_ENOMEM;
	return 0;
}

typedef int (*tmpl_fn)(const struct phg_template *t, void *ctx);

/* Calls fn on every template of the release settings that is set. */
static int each_template(const struct phg_release_settings *rs, tmpl_fn fn,
			 void *ctx)
{
	const struct phg_template *fixed[] = {
		&rs->nginx.binary,
		&rs->nginx.prefix,
		&rs->nginx.conf,
		&rs->nginx.upstream_file,
		&rs->nginx.upstream,
		&rs->nginx.blue,
		&rs->nginx.green,
		&rs->prometheus,
		&rs->queries[0],
		&rs->queries[1],
		&rs->queries[2],
		&rs->queries[3],
		&rs->deploy.method,
		&rs->deploy.url,
		&rs->deploy.body,
		&rs->deploy.expect_body,
		&rs->smoke.method,
		&rs->smoke.url,
		&rs->smoke.body,
		&rs->smoke.expect_body,
		&rs->unleash.url,
		&rs->unleash.token,
		&rs->unleash.environment,
		&rs->unleash.project,
		&rs->webhook,
	};
	const struct phg_step_action *acts[] = {&rs->deploy, &rs->smoke};
	int rc;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		if (fixed[i]->text && (rc = fn(fixed[i], ctx)) < 0)
			return rc;
	for (size_t a = 0; a < 2; a++) {
		for (size_t i = 0; i < acts[a]->argc; i++)
			if (acts[a]->argv[i].text &&
			    (rc = fn(&acts[a]->argv[i], ctx)) < 0)
				return rc;
		for (size_t i = 0; i < acts[a]->nheaders; i++)
			if (acts[a]->headers[i].text &&
			    (rc = fn(&acts[a]->headers[i], ctx)) < 0)
				return rc;
	}
	return 0;
}

struct check_ctx {
	const char *path;
	const struct phg_config *cfg;
	struct phg_err *err;
};

static int check_vars(const struct phg_template *t, void *vctx)
{
	struct check_ctx *c = vctx;
	size_t pos = 0, start, len;
	bool var;

	while (next_placeholder(t->text, &pos, &start, &len)) {
		const char *name = t->text + start + 1;

		if (!placeholder_ok(name, len, &var) || !var)
			continue;
		if (c->cfg->nregions == 0)
			return phg_err_set_at(c->err, PHG_ECONFIG, c->path,
					      t->line, t->col,
					      "placeholder '{%.*s}' needs "
					      "'regions:' with 'vars'",
					      (int)len, name);
		for (size_t i = 0; i < c->cfg->nregions; i++) {
			const struct phg_region *reg = &c->cfg->regions[i];

			if (!var_get(reg, name + 4, len - 4))
				return phg_err_set_at(
					c->err, PHG_ECONFIG, c->path, t->line,
					t->col,
					"placeholder '{%.*s}': region '%s' has "
					"no '%.*s' in its 'vars'",
					(int)len, name, reg->name, (int)len - 4,
					name + 4);
		}
	}
	return 0;
}

int phg_cfgrel_check(const char *path, const struct phg_config *cfg,
		     struct phg_err *err)
{
	struct check_ctx c = {path, cfg, err};

	return each_template(&cfg->release, check_vars, &c);
}

static void free_tmpl(struct phg_template *t)
{
	free(t->text);
	t->text = NULL;
}

static void free_action(struct phg_step_action *a)
{
	for (size_t i = 0; i < a->argc; i++)
		free_tmpl(&a->argv[i]);
	free(a->argv);
	for (size_t i = 0; i < a->nheaders; i++)
		free_tmpl(&a->headers[i]);
	free(a->headers);
	free_tmpl(&a->method);
	free_tmpl(&a->url);
	free_tmpl(&a->body);
	free_tmpl(&a->expect_body);
}

void phg_cfgrel_release(struct phg_config *cfg)
{
	struct phg_release_settings *rs = &cfg->release;
	struct phg_template *ng[] = {
		&rs->nginx.binary,	  &rs->nginx.prefix,   &rs->nginx.conf,
		&rs->nginx.upstream_file, &rs->nginx.upstream, &rs->nginx.blue,
		&rs->nginx.green};

	for (size_t i = 0; i < cfg->nregions; i++) {
		for (size_t j = 0; j < cfg->regions[i].nvars; j++) {
			free(cfg->regions[i].vars[j].name);
			free(cfg->regions[i].vars[j].value);
		}
		free(cfg->regions[i].vars);
	}
	free(cfg->environment);
	free(cfg->state);
	free(rs->window.timezone);
	for (size_t i = 0; i < rs->window.ndeny; i++)
		free(rs->window.deny[i]);
	free(rs->window.deny);
	free(rs->steps);
	for (size_t i = 0; i < sizeof(ng) / sizeof(*ng); i++)
		free_tmpl(ng[i]);
	free_tmpl(&rs->prometheus);
	for (int m = 0; m < PHG_METRICS; m++)
		free_tmpl(&rs->queries[m]);
	free_action(&rs->deploy);
	free_action(&rs->smoke);
	free_tmpl(&rs->unleash.url);
	free_tmpl(&rs->unleash.token);
	free_tmpl(&rs->unleash.environment);
	free_tmpl(&rs->unleash.project);
	for (size_t i = 0; i < rs->unleash.nfeatures; i++)
		free(rs->unleash.features[i]);
	free(rs->unleash.features);
	free_tmpl(&rs->webhook);
}

/* See config.h. */
int phg_config_state_location(const struct phg_config *cfg, char **out,
			      struct phg_err *err)
{
	*out = NULL;
	if (cfg->state)
		return phg_config_expand(cfg->state, out, err);
	*out = phg_path_join(cfg->dir ? cfg->dir : ".", ".phasegate/state.db");
	if (!*out)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	return 0;
}
