/*
 * http.c: the sandbox's loopback probes — one GET to 127.0.0.1 with
 * libcurl, never through a proxy, bounded in time, keeping the first bytes
 * of the body.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

struct sink {
	char *buf;
	size_t size, len;
};

static size_t on_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct sink *s = arg;
	size_t n = sz * nm;

	if (s->size && s->len < s->size - 1) {
		size_t take = s->size - 1 - s->len;

		if (take > n)
			take = n;
		memcpy(s->buf + s->len, p, take);
		s->len += take;
		s->buf[s->len] = '\0';
	}
	return n;
}

long sbx_http_get(int port, const char *path, long timeout_ms, char *body,
		  size_t size)
{
	struct sink s = {body, size, 0};
	char url[512];
	long status = 0;
	CURL *c;

	if (size)
		body[0] = '\0';
	c = curl_easy_init();
	if (!c)
		return 0;
	sbx_fmt(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}
