/*
 * providers: how the orchestrator acts outside phasegate and reads the
 * world — run a command (argv, never a shell), call HTTP (libcurl, TLS
 * verified), write nginx upstream weights and reload it gracefully, query
 * Prometheus, drive Unleash feature flags, and post webhook notifications.
 * Each call is bounded in time, carries the release and step id where the
 * far side can see it (environment PHASEGATE_RELEASE / PHASEGATE_STEP for
 * commands, headers X-Phasegate-Release / X-Phasegate-Step for HTTP), and is
 * safe to repeat: the orchestrator's steps are at-least-once.
 *
 * The library never prints. Secrets (tokens, URLs with passwords) never
 * reach err or captured output: a provider names what failed by its role
 * ("smoke test GET http://127.0.0.1:8081/health") with userinfo removed.
 */
#ifndef PHG_PROVIDERS_H
#define PHG_PROVIDERS_H

#include "../util/util.h"

/* Who the call is for: passed to the far side so it can de-duplicate. */
struct phg_call_ctx {
	const char *release; /* the release tag */
	const char *step;    /* the ledger's step id, as text */
};

/* ---- command ---------------------------------------------------------- */

struct phg_command {
	char *const *argv;    /* argv[0] is looked up in PATH; NULL-ended */
	char *const *env;     /* extra "NAME=value" entries, NULL-ended, or
				 NULL; added to the inherited environment */
	const char *dir;      /* working folder, or NULL */
	long long timeout_ms; /* killed (whole process group) after
				 this; 60 s when 0 */
	size_t output_limit;  /* bytes of stdout+stderr kept (default 64 KiB
				 when 0); the rest is counted, not kept */
};

struct phg_command_result {
	int exit_code; /* -1 when killed by a signal or the timeout */
	int signal;    /* the signal that ended it, or 0 */
	bool timed_out;
	char *output;	       /* stdout and stderr interleaved, bounded: the
				  first output_limit bytes, NUL-terminated */
	size_t output_len;     /* kept */
	size_t output_dropped; /* bytes past the limit: counted, not kept */
	long long ms;	       /* how long it ran */
};

/*
 * Runs cmd and waits for it (bounded by its timeout). Returns 0 when it ran
 * (whatever its exit code: check res->exit_code), PHG_ERUNTIME when it
 * could not start (argv[0] not found or not executable, dir missing). The
 * command runs in its own process group with stdin from /dev/null; on
 * timeout the group gets SIGTERM, then SIGKILL 2 s later. Output written by
 * background processes after the command itself exited is not waited for
 * (at most 200 ms). The caller releases res (also after an error).
 */
int phg_command_run(const struct phg_command *cmd,
		    const struct phg_call_ctx *ctx,
		    struct phg_command_result *res, struct phg_err *err);
void phg_command_result_release(struct phg_command_result *res);

/* ---- http ------------------------------------------------------------- */

struct phg_http_request {
	const char *method; /* "GET" when NULL */
	const char *url;
	const char *const *headers; /* "Name: value", NULL-ended, or NULL */
	const char *body;	    /* or NULL */
	long long timeout_ms;	    /* whole request, default 10 s when 0 */
	int retries;		    /* extra attempts on connect errors and
				       5xx, with a short backoff */
	const char *ca_file;	    /* extra CA bundle, or NULL */
	size_t body_limit;	    /* response bytes kept, 1 MiB when 0 */
};

struct phg_http_response {
	long status;
	char *body; /* NUL-terminated, bounded by body_limit */
	size_t body_len;
	long long ms; /* the whole call, retries included */
	int attempts; /* 1 + the retries made */
};

/*
 * Performs the request. timeout_ms bounds the whole call, retries and
 * backoff (100 ms doubling, at most 1 s) included; a retry happens on a
 * connect error, an empty or broken reply, or a 5xx status (the last 5xx
 * is returned as the response). Redirects are not followed. Returns 0 with
 * a response for any HTTP status, PHG_ERUNTIME when no response came
 * (refused, timeout, TLS failure, a body past body_limit: curl's message
 * in err, the URL shown without userinfo or query).
 */
int phg_http_do(const struct phg_http_request *req,
		const struct phg_call_ctx *ctx, struct phg_http_response *res,
		struct phg_err *err);
void phg_http_response_release(struct phg_http_response *res);

/*
 * A check such as a smoke test: the request must answer expect_status
 * (200 when 0) and, when expect_body is set, hold that text. Returns 0 and
 * *ok; a mismatch, or no response at all, sets *ok false and describes it
 * in why (bounded copy of what came back, or the reason no response came).
 * A negative return is for what is not a check result (out of memory).
 */
struct phg_http_check {
	struct phg_http_request req;
	long expect_status;
	const char *expect_body;
};
int phg_http_check_run(const struct phg_http_check *chk,
		       const struct phg_call_ctx *ctx, bool *ok, char *why,
		       size_t why_size, struct phg_err *err);

/* ---- nginx ------------------------------------------------------------ */

/*
 * A load balancer: an nginx whose config includes upstream_file, which
 * holds one upstream block naming the two slots. phg_nginx_set_weights
 * writes that file (temp file + rename) as
 *     upstream <upstream> {
 *         server <blue> weight=<blue%>;   (or "down" at 0 %)
 *         server <green> weight=<green%>;
 *     }
 * tests it (nginx -t -p prefix -c conf) and reloads (nginx -s reload -p
 * prefix -c conf): graceful, no request fails. Writing the weights it
 * already has is a no-op reload.
 */
struct phg_nginx {
	const char *binary;	   /* "nginx" when NULL */
	const char *prefix;	   /* -p */
	const char *conf;	   /* -c, relative to prefix or absolute */
	const char *upstream_file; /* the included file to write */
	const char *upstream;	   /* upstream block name */
	const char *blue, *green;  /* "127.0.0.1:8081" */
	const char *pid_file;	   /* the master's pid file, or NULL: read
				      from conf's top-level `pid` line */
	long long timeout_ms;	   /* each nginx run; 30 s when 0 */
};
int phg_nginx_set_weights(const struct phg_nginx *lb, int green_percent,
			  struct phg_err *err);
/*
 * After the reload, set_weights waits (bounded by timeout_ms) until the
 * master has new workers and the old ones are gone or shutting down, so
 * requests sent after it returns follow the new weights; without a pid
 * file it does not wait. A failed `nginx -t` leaves the old file in place
 * and returns PHG_ERUNTIME with nginx's output.
 */

/* Reads the weights back from upstream_file: green's percentage. */
int phg_nginx_get_weights(const struct phg_nginx *lb, int *green_percent,
			  struct phg_err *err);

/* ---- prometheus ------------------------------------------------------- */

/*
 * An instant query (GET /api/v1/query). A result that is a scalar or a
 * vector of exactly one sample sets *value; an empty vector sets *present
 * false (no data yet: not a breach); anything else (several samples, an
 * error status, a body that is not Prometheus JSON, NaN) is PHG_ERUNTIME
 * with the reason.
 */
struct phg_prometheus {
	const char *url; /* base, e.g. http://127.0.0.1:9090 */
	const char *const *headers;
	long long timeout_ms;
};
int phg_prometheus_query(const struct phg_prometheus *p, const char *promql,
			 double *value, bool *present, struct phg_err *err);

/* ---- unleash ---------------------------------------------------------- */

/*
 * Feature flags through Unleash's Admin API (header Authorization: token),
 * project "default" unless set. Enable and disable are idempotent; rollout
 * sets a flexibleRollout strategy's percentage (creating the strategy when
 * the flag has none in that environment, updating it otherwise).
 */
struct phg_unleash {
	const char *url;	 /* base, e.g. http://127.0.0.1:4242 */
	const char *token;	 /* admin token: a secret */
	const char *project;	 /* "default" when NULL */
	const char *environment; /* e.g. "production" */
	long long timeout_ms;
};
int phg_unleash_enable(const struct phg_unleash *u, const char *feature,
		       const struct phg_call_ctx *ctx, struct phg_err *err);
int phg_unleash_disable(const struct phg_unleash *u, const char *feature,
			const struct phg_call_ctx *ctx, struct phg_err *err);
int phg_unleash_rollout(const struct phg_unleash *u, const char *feature,
			int percent, const struct phg_call_ctx *ctx,
			struct phg_err *err);
/* Reads whether the flag is on in the environment, and its rollout (-1
   when it has no flexibleRollout strategy). */
int phg_unleash_get(const struct phg_unleash *u, const char *feature,
		    bool *enabled, int *rollout, struct phg_err *err);

/* ---- webhook ---------------------------------------------------------- */

/*
 * Posts a Slack-compatible notification: {"text": text, plus "release",
 * "event" fields}. A failure is returned (the orchestrator logs it and goes
 * on: a notification never stops a release).
 */
struct phg_webhook {
	const char *url; /* may hold a secret path: never printed whole */
	long long timeout_ms;
};
int phg_webhook_post(const struct phg_webhook *w, const char *event,
		     const char *text, const struct phg_call_ctx *ctx,
		     struct phg_err *err);

#endif
