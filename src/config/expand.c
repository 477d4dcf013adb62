/*
 * expand.c: expands ${NAME} references in config values from the
 * environment. Values expanded here are secrets (DSNs, tokens), so no error
 * message ever carries a value or any part of the text around a reference:
 * only the name of a missing variable.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static bool name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* Whether name[0..end) is a variable name: [A-Za-z_][A-Za-z0-9_]*. */
static bool valid_name(const char *name, const char *end)
{
	if (name == end || !name_start(*name))
		return false;
	for (const char *c = name + 1; c < end; c++) {
		if (!name_char(*c))
			return false;
	}
	return true;
}

/*
 * Appends the variable of the reference that starts at ref ("${NAME}...")
 * to b and sets *next past its "}". The text between the braces is never
 * quoted unless it is a valid name: it could be a mistyped secret.
 */
static int expand_ref(const char *ref, const char **next, struct phg_buf *b,
		      struct phg_err *err)
{
	const char *name = ref + 2, *end = strchr(name, '}'), *env;
	char *key;
	int rc = 0;

	if (!end)
		return phg_err_set(err, PHG_ECONFIG,
				   "unterminated '${' in a config value: write "
				   "'${NAME}'");
	if (!valid_name(name, end))
		return phg_err_set(err, PHG_ECONFIG,
				   "invalid environment variable name in "
				   "'${...}': use letters, digits and '_', not "
				   "starting with a digit");
	key = phg_strndup(name, (size_t)(end - name));
	if (!key)
		return phg_err_set(err, PHG_ENOMEM,
				   "cannot expand a config value: out of "
				   "memory");
	env = getenv(key);
	if (!env)
		rc = phg_err_set(err, PHG_ECONFIG,
				 "environment variable '%s' is not set", key);
	else if (phg_buf_puts(b, env) < 0)
		rc = phg_err_set(err, PHG_ENOMEM,
				 "cannot expand a config value: out of "
				 "memory");
	free(key);
	*next = end + 1;
	return rc;
}

/* See internal.h. Follows the same steps as phg_config_expand below. */
const char *phg_config_ref_problem(const char *value)
{
	const char *p = value;

	while ((p = strchr(p, '$')) != NULL) {
		const char *name = p + 2, *end;

		if (p[1] == '$') {
			p += 2;
			continue;
		}
		if (p[1] != '{') {
			p++;
			continue;
		}
		end = strchr(name, '}');
		if (!end)
			return "an unterminated '${': write '${NAME}'";
		if (!valid_name(name, end))
			return "an invalid environment variable name in "
			       "'${...}': use letters, digits and '_', not "
			       "starting with a digit";
		p = end + 1;
	}
	return NULL;
}

/*
 * Expands value into a malloc'd *out the caller frees: "${NAME}" becomes the
 * environment variable NAME (letters, digits and '_', not starting with a
 * digit; a variable set to "" expands to ""), "$$" becomes "$", and any other
 * "$" stays as written. Fails with PHG_ECONFIG when NAME is not set (the
 * message names it, never a value), when a "${" has no "}" or when the name
 * is not valid; with PHG_ENOMEM when out of memory. On failure *out is NULL.
 */
int phg_config_expand(const char *value, char **out, struct phg_err *err)
{
	struct phg_buf b = {0};
	const char *p = value;
	int rc;

	*out = NULL;
	/* Makes b.data a valid empty string even when value is "". */
	rc = phg_buf_add(&b, "", 0);
	while (rc == 0 && *p) {
		const char *dollar = strchr(p, '$');

		if (!dollar) {
			rc = phg_buf_puts(&b, p);
			break;
		}
		rc = phg_buf_add(&b, p, (size_t)(dollar - p));
		if (rc < 0)
			break;
		if (dollar[1] == '{') {
			rc = expand_ref(dollar, &p, &b, err);
			if (rc < 0)
				goto out;
			continue;
		}
		/* "$$" is one "$"; a "$" before anything else stays. */
		rc = phg_buf_add(&b, "$", 1);
		p = dollar + (dollar[1] == '$' ? 2 : 1);
	}
	if (rc < 0) {
		rc = phg_err_set(err, PHG_ENOMEM,
				 "cannot expand a config value: out of memory");
		goto out;
	}
	*out = b.data;
	b.data = NULL;
out:
	phg_buf_release(&b);
	return rc;
}
