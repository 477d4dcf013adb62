/*
 * http.c: the http provider — one request through libcurl's easy API with
 * TLS verified, a deadline for the whole call, bounded retries (connect
 * errors, empty or broken replies, 5xx) with a short backoff, the release
 * and step in X-Phasegate-* headers, and a response body kept up to a cap.
 * Also the smoke check built on it, and the helpers that keep URL secrets
 * out of messages.
 */
#include "internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HTTP_DEFAULT_BODY_LIMIT ((size_t)1 << 20)
#define HTTP_BACKOFF_FIRST_MS 100LL
#define HTTP_BACKOFF_MAX_MS 1000LL

void pv_scrub(char *buf, const char *secret)
{
	size_t n;
	char *p;

	if (!buf || !secret)
		return;
	n = strlen(secret);
	if (n < 3)
		return;
	while ((p = strstr(buf, secret)) != NULL) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + n, strlen(p + n) + 1);
	}
}

void pv_scrub_headers(char *buf, const char *const *headers)
{
	for (size_t i = 0; buf && headers && headers[i]; i++) {
		const char *v = strchr(headers[i], ':'), *cred;

		if (!v)
			continue;
		v += strspn(v + 1, " \t") + 1;
		pv_scrub(buf, v);
		cred = strchr(v, ' ');
		if (cred)
			pv_scrub(buf, cred + strspn(cred, " \t"));
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes %XX escapes of s[0..n) into a malloc'd string. */
static char *url_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

void pv_scrub_url(char *buf, const char *url)
{
	const char *start, *at, *slash, *colon;

	if (!buf || !url)
		return;
	start = strstr(url, "://");
	start = start ? start + 3 : url;
	slash = start + strcspn(start, "/?#");
	at = NULL;
	for (const char *p = start; p < slash; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return;
	colon = memchr(start, ':', (size_t)(at - start));
	if (colon) {
		char raw[512], *dec;
		size_t n = (size_t)(at - colon - 1);

		if (n > 0 && n < sizeof(raw)) {
			memcpy(raw, colon + 1, n);
			raw[n] = '\0';
			pv_scrub(buf, raw);
			dec = url_decode(colon + 1, n);
			pv_scrub(buf, dec);
			free(dec);
		}
	}
	/* The user name may be a token too (https://TOKEN@host). */
	{
		char raw[512];
		const char *uend = colon ? colon : at;
		size_t n = (size_t)(uend - start);

		if (n > 0 && n < sizeof(raw)) {
			memcpy(raw, start, n);
			raw[n] = '\0';
			pv_scrub(buf, raw);
		}
	}
}

void pv_url_display(const char *url, bool origin_only, char *out, size_t size)
{
	const char *start, *host, *end, *q;
	size_t scheme_len;

	if (!size)
		return;
	if (!url || !(start = strstr(url, "://"))) {
		snprintf(out, size, "(url)");
		return;
	}
	scheme_len = (size_t)(start - url);
	host = start + 3;
	end = host + strcspn(host, "/?#");
	for (const char *p = host; p < end; p++)
		if (*p == '@')
			host = p + 1;
	if (origin_only) {
		snprintf(out, size, "%.*s://%.*s%s", (int)scheme_len, url,
			 (int)(end - host), host, *end ? "/…" : "");
		return;
	}
	q = end + strcspn(end, "?#");
	snprintf(out, size, "%.*s://%.*s%.*s%s", (int)scheme_len, url,
		 (int)(end - host), host, (int)(q - end), end,
		 *q == '?' ? "?…" : "");
}

struct body_sink {
	char *data;
	size_t len, cap, limit;
	bool overflow;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body_sink *b = userdata;
	size_t n = size * nmemb;

	if (b->len + n > b->limit) {
		b->overflow = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 4096;
		char *p;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		p = realloc(b->data, ncap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static void sleep_ms(long long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static bool retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		return true;
	default:
		return false;
	}
}

/* A control character (CR, LF) would split the header: replaced. */
static const char *header_safe(char *line)
{
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '_';
	return line;
}

/* Headers of every request: ours, then the caller's. */
static struct curl_slist *build_headers(const struct phg_http_request *req,
					const struct phg_call_ctx *ctx,
					bool *oom)
{
	struct curl_slist *h = NULL, *t;
	char line[512];

	*oom = false;
#define ADD(s)                                                                 \
	do {                                                                   \
		t = curl_slist_append(h, (s));                                 \
		if (!t)                                                        \
			goto fail;                                             \
		h = t;                                                         \
	} while (0)
	/* No "Expect: 100-continue" round trip for bodies. */
	ADD("Expect:");
	if (ctx && ctx->release) {
		snprintf(line, sizeof(line), "X-Phasegate-Release: %s",
			 ctx->release);
		ADD(header_safe(line));
	}
	if (ctx && ctx->step) {
		snprintf(line, sizeof(line), "X-Phasegate-Step: %s", ctx->step);
		ADD(header_safe(line));
	}
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		ADD(req->headers[i]);
#undef ADD
	return h;
fail:
	curl_slist_free_all(h);
	*oom = true;
	return NULL;
}

int phg_http_do(const struct phg_http_request *req,
		const struct phg_call_ctx *ctx, struct phg_http_response *res,
		struct phg_err *err)
{
	const char *method = req->method ? req->method : "GET";
	long long t0 = pv_now_ms(), timeout, deadline, backoff;
	char errbuf[CURL_ERROR_SIZE], shown[512];
	struct body_sink sink = {0};
	struct curl_slist *hdrs = NULL;
	CURL *h = NULL;
	CURLcode cc = CURLE_OK;
	bool oom;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	pv_url_display(req->url, false, shown, sizeof(shown));
	if (!req->url || !*req->url)
		return phg_err_set(err, PHG_ECONFIG, "%s request has no url",
				   method);
	timeout = req->timeout_ms > 0 ? req->timeout_ms : PV_DEFAULT_TIMEOUT_MS;
	deadline = t0 + timeout;
	sink.limit =
		req->body_limit ? req->body_limit : HTTP_DEFAULT_BODY_LIMIT;
	hdrs = build_headers(req, ctx, &oom);
	if (oom)
		goto nomem;
	h = curl_easy_init();
	if (!h)
		goto nomem;
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "phasegate/" PHG_VERSION);
	/* A fresh connection per attempt: a retry must not reuse the
	   connection that just failed. */
	curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (req->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(req->body));
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}

	backoff = HTTP_BACKOFF_FIRST_MS;
	for (int attempt = 0;; attempt++) {
		long long left = deadline - pv_now_ms();
		bool again;

		if (left < 1)
			left = 1;
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)left);
		errbuf[0] = '\0';
		sink.len = 0;
		if (sink.data)
			sink.data[0] = '\0';
		sink.overflow = false;
		res->attempts = attempt + 1;
		res->status = 0;
		cc = curl_easy_perform(h);
		if (cc == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE,
					  &res->status);
		again = attempt < req->retries &&
			((cc == CURLE_OK && res->status >= 500) ||
			 retryable(cc)) &&
			pv_now_ms() + backoff < deadline;
		if (!again)
			break;
		sleep_ms(backoff);
		backoff = backoff * 2 > HTTP_BACKOFF_MAX_MS
				  ? HTTP_BACKOFF_MAX_MS
				  : backoff * 2;
	}
	res->ms = pv_now_ms() - t0;
	if (cc != CURLE_OK) {
		char why[CURL_ERROR_SIZE + 64];

		if (sink.overflow)
			snprintf(why, sizeof(why),
				 "response body larger than %zu bytes",
				 sink.limit);
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			snprintf(why, sizeof(why), "timed out after %lld ms",
				 res->ms);
		else
			snprintf(why, sizeof(why), "%s",
				 errbuf[0] ? errbuf : curl_easy_strerror(cc));
		pv_scrub_url(why, req->url);
		rc = phg_err_set(err, PHG_ERUNTIME, "%s %s failed: %s%s",
				 method, shown, why,
				 res->attempts > 1 ? " (after retries)" : "");
		goto out;
	}
	if (!sink.data) {
		sink.data = phg_strdup("");
		if (!sink.data)
			goto nomem;
	}
	res->body = sink.data;
	res->body_len = sink.len;
	sink.data = NULL;
	goto out;
nomem:
	rc = phg_err_set(err, PHG_ENOMEM, "out of memory calling %s", shown);
out:
	free(sink.data);
	if (h)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	return rc;
}

void phg_http_response_release(struct phg_http_response *res)
{
	if (!res)
		return;
	free(res->body);
	res->body = NULL;
	res->body_len = 0;
}

/* Copies up to 200 bytes of s into why, printable ASCII only. */
static void excerpt(char *dst, size_t size, const char *s, size_t n)
{
	size_t k = 0;

	if (n > 200)
		n = 200;
	for (size_t i = 0; i < n && k + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		dst[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
	}
	dst[k] = '\0';
}

int phg_http_check_run(const struct phg_http_check *chk,
		       const struct phg_call_ctx *ctx, bool *ok, char *why,
		       size_t why_size, struct phg_err *err)
{
	const char *method = chk->req.method ? chk->req.method : "GET";
	long expect = chk->expect_status ? chk->expect_status : 200;
	struct phg_http_response res;
	struct phg_err e = {0};
	char shown[512], got[256];
	int rc;

	*ok = false;
	if (why_size)
		why[0] = '\0';
	pv_url_display(chk->req.url, false, shown, sizeof(shown));
	rc = phg_http_do(&chk->req, ctx, &res, &e);
	pv_scrub_headers(e.msg, chk->req.headers);
	if (rc == PHG_ENOMEM || rc == PHG_ECONFIG)
		return phg_err_set(err, rc, "%s", e.msg);
	if (rc < 0) {
		snprintf(why, why_size, "%s", e.msg);
		return 0;
	}
	excerpt(got, sizeof(got), res.body, res.body_len);
	if (res.status != expect) {
		snprintf(why, why_size,
			 "%s %s answered %ld, expected %ld: '%s'", method,
			 shown, res.status, expect, got);
	} else if (chk->expect_body && !strstr(res.body, chk->expect_body)) {
		snprintf(why, why_size,
			 "%s %s answered %ld without '%s' in its body: '%s'",
			 method, shown, res.status, chk->expect_body, got);
	} else {
		*ok = true;
		snprintf(why, why_size, "%s %s answered %ld in %lld ms", method,
			 shown, res.status, res.ms);
	}
	if (why_size)
		pv_scrub_headers(why, chk->req.headers);
	phg_http_response_release(&res);
	return 0;
}
