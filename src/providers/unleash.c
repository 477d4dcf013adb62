/*
 * unleash.c: the feature-flag provider — Unleash's Admin API (tested
 * against unleash-server 7.5): switch a flag on or off in one environment
 * (POST .../environments/ENV/on|off, idempotent on Unleash's side) and set
 * a gradual rollout (the flag's flexibleRollout strategy in that
 * environment: created when missing, else its rollout patched with a JSON
 * Patch, so other parameters and constraints stay). The admin token goes
 * only into the Authorization header, never into a message.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct uctx {
	const struct phg_unleash *u;
	char *feature; /* URL-escaped */
	char *project;
	char *env;
	const char *feature_raw;
	char shown[256];
};

static int uctx_init(struct uctx *c, const struct phg_unleash *u,
		     const char *feature, struct phg_err *err)
{
	memset(c, 0, sizeof(*c));
	c->u = u;
	c->feature_raw = feature;
	if (!u->url || !u->token || !u->environment || !feature || !*feature)
		return phg_err_set(err, PHG_ECONFIG,
				   "unleash provider needs url, token, "
				   "environment and a feature name");
	pv_url_display(u->url, false, c->shown, sizeof(c->shown));
	c->feature = curl_easy_escape(NULL, feature, 0);
	c->project =
		curl_easy_escape(NULL, u->project ? u->project : "default", 0);
	c->env = curl_easy_escape(NULL, u->environment, 0);
	if (!c->feature || !c->project || !c->env)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	return 0;
}

static void uctx_release(struct uctx *c)
{
	curl_free(c->feature);
	curl_free(c->project);
	curl_free(c->env);
}

/* Unleash's own reason from an error body, scrubbed of the token. */
static void body_reason(const struct phg_http_response *res, const char *token,
			char *out, size_t size)
{
	cJSON *root = cJSON_ParseWithLength(res->body, res->body_len);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "details");

	if (cJSON_IsArray(d) && cJSON_GetArraySize(d) > 0) {
		const cJSON *dm = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetArrayItem(d, 0), "message");

		if (cJSON_IsString(dm))
			m = dm;
	}
	snprintf(out, size, "%.200s",
		 cJSON_IsString(m) ? m->valuestring
				   : (res->body ? res->body : ""));
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	pv_scrub(out, token);
	cJSON_Delete(root);
}

/*
 * Calls the Admin API: path is appended to url. Returns 0 with the
 * response when it answered 2xx, else an error naming what (doing) failed.
 */
static int ucall(const struct uctx *c, const char *method, const char *path,
		 const char *body, const char *doing,
		 const struct phg_call_ctx *ctx, struct phg_http_response *res,
		 struct phg_err *err)
{
	const struct phg_unleash *u = c->u;
	struct phg_http_request req = {0};
	struct phg_err e = {0};
	const char *headers[3];
	char *auth = NULL, *url = NULL, reason[256];
	int rc;

	auth = phg_asprintf("Authorization: %s", u->token);
	url = phg_asprintf("%s%s", u->url, path);
	if (!auth || !url) {
		rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
		goto out;
	}
	headers[0] = auth;
	headers[1] = "Content-Type: application/json";
	headers[2] = NULL;
	req.method = method;
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.timeout_ms = u->timeout_ms;
	req.retries = 2;
	rc = phg_http_do(&req, ctx, res, &e);
	if (rc < 0) {
		pv_scrub(e.msg, u->token);
		rc = phg_err_set(err, rc, "unleash: cannot %s: %s", doing,
				 e.msg);
		goto out;
	}
	if (res->status >= 200 && res->status <= 299)
		goto out;
	body_reason(res, u->token, reason, sizeof(reason));
	if (res->status == 401 || res->status == 403)
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "unleash at %s refused the admin token "
				 "(%ld) to %s: %s",
				 c->shown, res->status, doing, reason);
	else if (res->status == 404)
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "unleash: cannot %s: not found (feature '%s' "
				 "or environment '%s' missing?): %s",
				 doing, c->feature_raw, u->environment, reason);
	else
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "unleash: cannot %s: answered %ld: %s", doing,
				 res->status, reason);
	phg_http_response_release(res);
out:
	free(auth);
	free(url);
	return rc;
}

static int switch_env(const struct phg_unleash *u, const char *feature, bool on,
		      const struct phg_call_ctx *ctx, struct phg_err *err)
{
	struct phg_http_response res = {0};
	struct uctx c;
	char path[1024], doing[512];
	int rc = uctx_init(&c, u, feature, err);

	if (rc < 0)
		goto out;
	snprintf(path, sizeof(path),
		 "/api/admin/projects/%s/features/%s/environments/%s/%s",
		 c.project, c.feature, c.env, on ? "on" : "off");
	snprintf(doing, sizeof(doing), "switch '%s' %s in '%s'", feature,
		 on ? "on" : "off", u->environment);
	rc = ucall(&c, "POST", path, NULL, doing, ctx, &res, err);
out:
	phg_http_response_release(&res);
	uctx_release(&c);
	return rc;
}

int phg_unleash_enable(const struct phg_unleash *u, const char *feature,
		       const struct phg_call_ctx *ctx, struct phg_err *err)
{
	return switch_env(u, feature, true, ctx, err);
}

int phg_unleash_disable(const struct phg_unleash *u, const char *feature,
			const struct phg_call_ctx *ctx, struct phg_err *err)
{
	return switch_env(u, feature, false, ctx, err);
}

/* The first flexibleRollout strategy of a strategies array, or NULL. */
static const cJSON *find_rollout(const cJSON *strategies)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, strategies)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(s, "name");

		if (cJSON_IsString(n) &&
		    strcmp(n->valuestring, "flexibleRollout") == 0)
			return s;
	}
	return NULL;
}

int phg_unleash_rollout(const struct phg_unleash *u, const char *feature,
			int percent, const struct phg_call_ctx *ctx,
			struct phg_err *err)
{
	struct phg_http_response res = {0};
	struct uctx c;
	cJSON *list = NULL, *body = NULL;
	const cJSON *s, *id;
	char path[1024], doing[512], pct[16];
	char *text = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	if (percent < 0 || percent > 100)
		return phg_err_set(err, PHG_ECONFIG,
				   "unleash rollout %d is outside 0..100",
				   percent);
	rc = uctx_init(&c, u, feature, err);
	if (rc < 0)
		goto out;
	snprintf(pct, sizeof(pct), "%d", percent);
	snprintf(path, sizeof(path),
		 "/api/admin/projects/%s/features/%s/environments/%s/"
		 "strategies",
		 c.project, c.feature, c.env);
	snprintf(doing, sizeof(doing), "read the strategies of '%s' in '%s'",
		 feature, u->environment);
	rc = ucall(&c, "GET", path, NULL, doing, ctx, &res, err);
	if (rc < 0)
		goto out;
	list = cJSON_ParseWithLength(res.body, res.body_len);
	if (!cJSON_IsArray(list)) {
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "unleash: cannot %s: the answer is not a "
				 "JSON array",
				 doing);
		goto out;
	}
	phg_http_response_release(&res);
	s = find_rollout(list);
	id = s ? cJSON_GetObjectItemCaseSensitive(s, "id") : NULL;
	snprintf(doing, sizeof(doing),
		 "set the rollout of '%s' in '%s' to %d %%", feature,
		 u->environment, percent);
	if (s && cJSON_IsString(id)) {
		char *eid = curl_easy_escape(NULL, id->valuestring, 0);
		cJSON *op;

		if (!eid)
			goto nomem;
		snprintf(path + strlen(path), sizeof(path) - strlen(path),
			 "/%s", eid);
		curl_free(eid);
		body = cJSON_CreateArray();
		op = cJSON_CreateObject();
		if (!body || !op || !cJSON_AddItemToArray(body, op) ||
		    !cJSON_AddStringToObject(op, "op", "replace") ||
		    !cJSON_AddStringToObject(op, "path",
					     "/parameters/rollout") ||
		    !cJSON_AddStringToObject(op, "value", pct))
			goto nomem;
		text = cJSON_PrintUnformatted(body);
		if (!text)
			goto nomem;
		rc = ucall(&c, "PATCH", path, text, doing, ctx, &res, err);
	} else {
		cJSON *params;

		body = cJSON_CreateObject();
		if (!body ||
		    !cJSON_AddStringToObject(body, "name", "flexibleRollout") ||
		    !(params = cJSON_AddObjectToObject(body, "parameters")) ||
		    !cJSON_AddStringToObject(params, "rollout", pct) ||
		    !cJSON_AddStringToObject(params, "stickiness", "default") ||
		    !cJSON_AddStringToObject(params, "groupId", feature))
			goto nomem;
		text = cJSON_PrintUnformatted(body);
		if (!text)
			goto nomem;
		rc = ucall(&c, "POST", path, text, doing, ctx, &res, err);
	}
	goto out;
nomem:
	rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
out:
	cJSON_free(text);
	cJSON_Delete(body);
	cJSON_Delete(list);
	phg_http_response_release(&res);
	uctx_release(&c);
	return rc;
}

/* A rollout parameter: a string "10" or a number 10; -1 when neither. */
static int rollout_of(const cJSON *strategy)
{
	const cJSON *params =
		cJSON_GetObjectItemCaseSensitive(strategy, "parameters");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(params, "rollout");

	if (cJSON_IsNumber(r))
		return (int)r->valuedouble;
	if (cJSON_IsString(r) && r->valuestring[0])
		return atoi(r->valuestring);
	return -1;
}

int phg_unleash_get(const struct phg_unleash *u, const char *feature,
		    bool *enabled, int *rollout, struct phg_err *err)
{
	struct phg_http_response res = {0};
	struct uctx c;
	cJSON *root = NULL;
	const cJSON *e, *found = NULL;
	char path[1024], doing[512];
	int rc;

	*enabled = false;
	*rollout = -1;
	rc = uctx_init(&c, u, feature, err);
	if (rc < 0)
		goto out;
	snprintf(path, sizeof(path), "/api/admin/projects/%s/features/%s",
		 c.project, c.feature);
	snprintf(doing, sizeof(doing), "read feature '%s'", feature);
	rc = ucall(&c, "GET", path, NULL, doing, NULL, &res, err);
	if (rc < 0)
		goto out;
	root = cJSON_ParseWithLength(res.body, res.body_len);
	cJSON_ArrayForEach(
		e, cJSON_GetObjectItemCaseSensitive(root, "environments"))
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");

		if (cJSON_IsString(n) &&
		    strcmp(n->valuestring, u->environment) == 0)
			found = e;
	}
	if (!found) {
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "unleash: feature '%s' has no environment "
				 "'%s'",
				 feature, u->environment);
		goto out;
	}
	*enabled = cJSON_IsTrue(
		cJSON_GetObjectItemCaseSensitive(found, "enabled"));
	{
		const cJSON *s = find_rollout(
			cJSON_GetObjectItemCaseSensitive(found, "strategies"));

		if (s)
			*rollout = rollout_of(s);
	}
out:
	cJSON_Delete(root);
	phg_http_response_release(&res);
	uctx_release(&c);
	return rc;
}
