/*
 * prometheus.c: the metrics provider — one instant PromQL query over
 * Prometheus' HTTP API (GET /api/v1/query?query=..., URL-encoded), its
 * JSON answer read with cJSON. A scalar or a one-sample vector is a value;
 * an empty vector is "no data yet"; every other shape is an error that
 * says what came back.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses a sample's [time, "value"] pair. */
static int sample_value(const cJSON *pair, double *value, const char *query,
			struct phg_err *err)
{
	const cJSON *v =
		cJSON_IsArray(pair) ? cJSON_GetArrayItem(pair, 1) : NULL;
	char *end;
	double d;

	if (!cJSON_IsString(v) || !v->valuestring)
		return phg_err_set(err, PHG_ERUNTIME,
				   "prometheus query '%s': a sample without a "
				   "value",
				   query);
	d = strtod(v->valuestring, &end);
	if (end == v->valuestring || *end != '\0')
		return phg_err_set(err, PHG_ERUNTIME,
				   "prometheus query '%s': value '%.40s' is "
				   "not a number",
				   query, v->valuestring);
	if (isnan(d))
		return phg_err_set(err, PHG_ERUNTIME,
				   "prometheus query '%s' is NaN (a division "
				   "by zero, e.g. no traffic in the window?)",
				   query);
	*value = d;
	return 0;
}

int phg_prometheus_query(const struct phg_prometheus *p, const char *promql,
			 double *value, bool *present, struct phg_err *err)
{
	struct phg_http_request req = {0};
	struct phg_http_response res = {0};
	cJSON *root = NULL;
	const cJSON *status, *data, *type, *result;
	char *esc = NULL, *url = NULL, shown[256];
	int rc = 0;

	*present = false;
	*value = 0;
	if (!p->url || !promql)
		return phg_err_set(err, PHG_ECONFIG,
				   "prometheus provider needs a url and a "
				   "query");
	pv_url_display(p->url, false, shown, sizeof(shown));
	esc = curl_easy_escape(NULL, promql, 0);
	if (!esc)
		goto nomem;
	url = phg_asprintf("%s%sapi/v1/query?query=%s", p->url,
			   phg_has_suffix(p->url, "/") ? "" : "/", esc);
	if (!url)
		goto nomem;
	req.url = url;
	req.headers = p->headers;
	req.timeout_ms = p->timeout_ms;
	req.retries = 2;
	rc = phg_http_do(&req, NULL, &res, err);
	if (rc < 0)
		goto out;
	root = cJSON_ParseWithLength(res.body, res.body_len);
	status = cJSON_GetObjectItemCaseSensitive(root, "status");
	if (!cJSON_IsString(status)) {
		char got[80];

		snprintf(got, sizeof(got), "%.60s", res.body);
		for (char *c = got; *c; c++)
			if ((unsigned char)*c < 0x20)
				*c = ' ';
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "prometheus at %s answered %ld with a body "
				 "that is not Prometheus JSON: '%s'",
				 shown, res.status, got);
		goto out;
	}
	if (strcmp(status->valuestring, "success") != 0) {
		const cJSON *et =
			cJSON_GetObjectItemCaseSensitive(root, "errorType");
		const cJSON *em =
			cJSON_GetObjectItemCaseSensitive(root, "error");

		rc = phg_err_set(err, PHG_ERUNTIME,
				 "prometheus query '%s' failed (%s): %s",
				 promql,
				 cJSON_IsString(et) ? et->valuestring : "error",
				 cJSON_IsString(em) ? em->valuestring : "?");
		goto out;
	}
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	type = cJSON_GetObjectItemCaseSensitive(data, "resultType");
	result = cJSON_GetObjectItemCaseSensitive(data, "result");
	if (!cJSON_IsString(type) || !result) {
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "prometheus query '%s': answer without "
				 "data.resultType and data.result",
				 promql);
	} else if (strcmp(type->valuestring, "scalar") == 0) {
		rc = sample_value(result, value, promql, err);
		*present = rc == 0;
	} else if (strcmp(type->valuestring, "vector") == 0 &&
		   cJSON_IsArray(result)) {
		int n = cJSON_GetArraySize(result);

		if (n == 0) {
			*present = false;
		} else if (n == 1) {
			rc = sample_value(
				cJSON_GetObjectItemCaseSensitive(
					cJSON_GetArrayItem(result, 0), "value"),
				value, promql, err);
			*present = rc == 0;
		} else {
			rc = phg_err_set(err, PHG_ERUNTIME,
					 "prometheus query '%s' returned %d "
					 "samples, expected one (aggregate it, "
					 "e.g. sum(...))",
					 promql, n);
		}
	} else {
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "prometheus query '%s' returned a %s, "
				 "expected a scalar or an instant vector",
				 promql, type->valuestring);
	}
	goto out;
nomem:
	rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
out:
	if (rc < 0)
		pv_scrub_headers(err->msg, p->headers);
	cJSON_Delete(root);
	phg_http_response_release(&res);
	curl_free(esc);
	free(url);
	return rc;
}
