/*
 * webhook.c: the notification provider — posts a Slack-compatible JSON
 * message ({"text": ..., "event": ..., "release": ..., "step": ...}),
 * built with cJSON so any text is escaped. The URL often is the secret
 * (Slack's incoming webhooks), so messages show only its origin.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Removes the URL's path (from its first '/' after the host) from buf. */
static void scrub_path(char *buf, const char *url)
{
	const char *host = strstr(url, "://");
	const char *path = host ? strchr(host + 3, '/') : NULL;

	pv_scrub_url(buf, url);
	if (path && strlen(path) > 1)
		pv_scrub(buf, path);
}

int phg_webhook_post(const struct phg_webhook *w, const char *event,
		     const char *text, const struct phg_call_ctx *ctx,
		     struct phg_err *err)
{
	static const char *const headers[] = {"Content-Type: application/json",
					      NULL};
	struct phg_http_request req = {0};
	struct phg_http_response res = {0};
	struct phg_err e = {0};
	cJSON *msg = cJSON_CreateObject();
	char *body = NULL, shown[256];
	int rc = 0;

	pv_url_display(w->url, true, shown, sizeof(shown));
	if (!msg)
		goto nomem;
	if (!cJSON_AddStringToObject(msg, "text", text ? text : "") ||
	    (event && !cJSON_AddStringToObject(msg, "event", event)) ||
	    (ctx && ctx->release &&
	     !cJSON_AddStringToObject(msg, "release", ctx->release)) ||
	    (ctx && ctx->step &&
	     !cJSON_AddStringToObject(msg, "step", ctx->step)))
		goto nomem;
	body = cJSON_PrintUnformatted(msg);
	if (!body)
		goto nomem;
	if (!w->url || !*w->url) {
		rc = phg_err_set(err, PHG_ECONFIG, "webhook has no url");
		goto out;
	}
	req.method = "POST";
	req.url = w->url;
	req.headers = headers;
	req.body = body;
	req.timeout_ms = w->timeout_ms;
	req.retries = 2;
	req.body_limit = 64 * 1024;
	rc = phg_http_do(&req, ctx, &res, &e);
	if (rc < 0) {
		/* phg_http_do shows the path; a webhook's path is secret:
		   keep only the reason, and scrub the path from it. */
		const char *why = strstr(e.msg, " failed: ");
		char reason[512];

		snprintf(reason, sizeof(reason), "%s", why ? why + 9 : "?");
		scrub_path(reason, w->url);
		rc = phg_err_set(err, rc, "webhook %s (%s) failed: %s", shown,
				 event ? event : "message", reason);
		goto out;
	}
	if (res.status < 200 || res.status > 299)
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "webhook %s (%s) answered %ld", shown,
				 event ? event : "message", res.status);
	goto out;
nomem:
	rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
out:
	phg_http_response_release(&res);
	cJSON_free(body);
	cJSON_Delete(msg);
	return rc;
}
