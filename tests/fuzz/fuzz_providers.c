/*
 * fuzz_providers.c: the providers' reading of HTTP responses under
 * libFuzzer. A small HTTP server on 127.0.0.1 (a thread of this process)
 * answers every request with the input's status and body; the target then
 * asks a provider through real libcurl: a Prometheus instant query, an
 * Unleash flag read, or a smoke-test check that expects a status and a
 * text. Each call must succeed or fail with a message, never crash, leak
 * or hang, and no message may hold the token or the bearer secret the
 * requests carried, even when the response body echoes it back.
 *
 * Input: the first byte chooses the provider (bits 0-1: prometheus,
 * unleash, check, check with an empty expected text) and the status
 * (bits 2-3: 200, 404, 400, 201); the rest is the response body.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "providers/providers.h"

#define SECRET_TOKEN "fz-unleash-token-6d1f"
#define SECRET_BEARER "fz-bearer-secret-93ac"

static int port;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *reply; /* the whole HTTP response, under lock */
static size_t reply_len;

/* Reads the request's head (up to the blank line) and throws it away. */
static void read_request(int fd)
{
	char buf[8192];
	size_t have = 0;

	while (have < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);

		if (n <= 0)
			return;
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return;
	}
}

static void *serve(void *arg)
{
	int lfd = *(int *)arg;

	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		struct timeval tv = {.tv_sec = 2};
		char *copy;
		size_t len, off = 0;

		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		read_request(fd);
		pthread_mutex_lock(&lock);
		len = reply_len;
		copy = malloc(len ? len : 1);
		if (copy && len)
			memcpy(copy, reply, len);
		pthread_mutex_unlock(&lock);
		while (copy && off < len) {
			ssize_t n = write(fd, copy + off, len - off);

			if (n <= 0)
				break;
			off += (size_t)n;
		}
		free(copy);
		shutdown(fd, SHUT_RDWR);
		close(fd);
	}
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static int lfd;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	pthread_t t;

	(void)argc;
	(void)argv;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lfd, 16) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
		perror("fuzz_providers: cannot listen on 127.0.0.1");
		abort();
	}
	port = ntohs(a.sin_port);
	if (pthread_create(&t, NULL, serve, &lfd) != 0)
		abort();
	pthread_detach(t);
	return 0;
}

/*
 * Fails (a crash libFuzzer reports) when a message holds the secret the
 * call carried. A body may hold the other one: that call never had it.
 */
static void no_secret(const char *what, const char *text, const char *secret)
{
	if (text && strstr(text, secret)) {
		fprintf(stderr, "fuzz_providers: %s leaks a secret: %s\n", what,
			text);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 404, 400, 201};
	static const char *const headers[] = {
		"Authorization: Bearer " SECRET_BEARER, NULL};
	char url[64], why[512] = "";
	struct phg_err err = {0};
	long status;
	int mode;
	char *resp;

	if (size == 0)
		return 0;
	mode = data[0] & 3;
	status = statuses[(data[0] >> 2) & 3];
	if (asprintf(&resp,
		     "HTTP/1.1 %ld Fuzz\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		     status, size - 1) < 0)
		abort();
	{
		size_t head = strlen(resp);
		char *all = realloc(resp, head + size);

		if (!all)
			abort();
		memcpy(all + head, data + 1, size - 1);
		pthread_mutex_lock(&lock);
		free(reply);
		reply = all;
		reply_len = head + size - 1;
		pthread_mutex_unlock(&lock);
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);

	if (mode == 0) {
		struct phg_prometheus p = {
			.url = url, .headers = headers, .timeout_ms = 5000};
		double value = 0;
		bool present = false;

		(void)phg_prometheus_query(&p, "sum(rate(x[1m]))", &value,
					   &present, &err);
	} else if (mode == 1) {
		struct phg_unleash u = {.url = url,
					.token = SECRET_TOKEN,
					.environment = "production",
					.timeout_ms = 5000};
		bool enabled = false;
		int rollout = 0;

		(void)phg_unleash_get(&u, "new-checkout", &enabled, &rollout,
				      &err);
	} else {
		char check_url[96];
		struct phg_http_check chk = {
			.req = {.url = check_url,
				.headers = headers,
				.timeout_ms = 5000},
			.expect_status = 200,
			.expect_body = mode == 2 ? "\"status\":\"ok\"" : ""};
		struct phg_call_ctx ctx = {.release = "v1.2.3", .step = "7"};
		bool ok = false;

		snprintf(check_url, sizeof(check_url), "%s/healthz", url);
		(void)phg_http_check_run(&chk, &ctx, &ok, why, sizeof(why),
					 &err);
		no_secret("the check's reason", why, SECRET_BEARER);
	}
	no_secret("the error", err.msg,
		  mode == 1 ? SECRET_TOKEN : SECRET_BEARER);
	return 0;
}
