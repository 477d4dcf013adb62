/*
 * steps.c: what each step of a release does — migrate through the runner,
 * deploy and smoke test through the command and http providers, shift
 * traffic through nginx while analysis reads Prometheus, switch the live
 * slot and the feature flags — and the region rollback, which moves the
 * traffic back before anything slow. Each function here acts; recording
 * the step before and after is run.c's job.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- time and output ---------------------------------------------------- */

long long or_now(const struct orch *r)
{
	struct timespec ts;

	if (r->o->now)
		return r->o->now(r->o->clock_ctx);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void or_sleep(const struct orch *r, long long ms)
{
	struct timespec ts;

	if (r->o->sleep) {
		r->o->sleep(ms, r->o->clock_ctx);
		return;
	}
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

time_t or_wall(const struct orch *r)
{
	return r->o->wall ? r->o->wall(r->o->clock_ctx) : time(NULL);
}

void or_say(const struct orch *r, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (!r->o->out)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->o->out(line, r->o->out_ctx);
}

/* "1m05s" (or "2.5s" under a minute) for progress lines. */
static void dur_text(long long ms, char *buf, size_t size)
{
	long long s = ms / 1000;

	if (s < 60)
		snprintf(buf, size, "%lld.%llds", s, ms % 1000 / 100);
	else if (s >= 3600)
		snprintf(buf, size, "%lldh%02lldm%02llds", s / 3600,
			 s / 60 % 60, s % 60);
	else if (s >= 60)
		snprintf(buf, size, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, size, "%llds", s);
}

/* ---- slots, weights, flags, notifications ------------------------------- */

const char *or_other(const char *slot)
{
	return strcmp(slot, "green") == 0 ? "blue" : "green";
}

int or_green_pct(const char *target, int pct)
{
	return strcmp(target, "green") == 0 ? pct : 100 - pct;
}

int or_target(struct orch *r, const struct phg_region *reg, char *slot,
	      size_t size)
{
	struct phg_store_event *ev = NULL;
	size_t n = 0;
	char *live = NULL;
	int rc = phg_store_event_list(r->st, r->rel_id, &ev, &n, r->err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (phg_streq(ev[i].kind, "target") &&
		    phg_streq(ev[i].region, reg->name)) {
			snprintf(slot, size, "%s", ev[i].detail);
			phg_store_event_free_array(ev, n);
			return 0;
		}
	phg_store_event_free_array(ev, n);
	rc = phg_store_live_slot(r->st, r->cfg->environment, reg->name, &live,
				 r->err);
	if (rc < 0)
		return rc;
	snprintf(slot, size, "%s", or_other(live ? live : "blue"));
	free(live);
	return phg_store_event_add(r->st, r->rel_id, reg->name, "target", slot,
				   r->err);
}

/* Renders a template for reg with the release's values. */
static int render(struct orch *r, const struct phg_template *t,
		  const struct phg_region *reg, const char *slot,
		  const char *step, int weight, bool expand, char **out,
		  struct phg_err *err)
{
	struct phg_template_vars v = {.region = reg ? reg->name : "",
				      .slot = slot,
				      .release = r->o->tag,
				      .step = step,
				      .weight = weight,
				      .reg = reg};

	if (!t->text) {
		*out = NULL;
		return 0;
	}
	return phg_template_render(t->text, &v, expand, out, err);
}

int or_set_weights(struct orch *r, const struct phg_region *reg,
		   const char *target, int new_pct, struct phg_err *err)
{
	const struct phg_nginx_settings *ng = &r->rs->nginx;
	int green = or_green_pct(target, new_pct), rc = 0;
	char *f[7] = {NULL};
	const struct phg_template *t[7] = {
		&ng->binary,   &ng->prefix, &ng->conf, &ng->upstream_file,
		&ng->upstream, &ng->blue,   &ng->green};

	rc = or_guard(r, err);
	if (rc < 0)
		return rc;
	if (r->rs->have_nginx) {
		struct phg_nginx lb;

		for (int i = 0; i < 7 && rc == 0; i++)
			rc = render(r, t[i], reg, target, "", new_pct, true,
				    &f[i], err);
		if (rc == 0) {
			lb = (struct phg_nginx){.binary = f[0],
						.prefix = f[1],
						.conf = f[2],
						.upstream_file = f[3],
						.upstream = f[4],
						.blue = f[5],
						.green = f[6],
						.timeout_ms = ng->timeout_ms};
			rc = phg_nginx_set_weights(&lb, green, err);
		}
		for (int i = 0; i < 7; i++)
			free(f[i]);
		if (rc < 0)
			return rc;
	}
	rc = phg_store_weight_set(r->st, r->rel_id, reg->name, green, err);
	if (rc == 0) {
		char d[64];

		snprintf(d, sizeof(d), "blue %d%% green %d%%", 100 - green,
			 green);
		rc = phg_store_event_add(r->st, r->rel_id, reg->name, "weight",
					 d, err);
	}
	return rc;
}

void or_flags(struct orch *r, const struct phg_region *reg, int pct)
{
	const struct phg_unleash_settings *us = &r->rs->unleash;
	char *url = NULL, *token = NULL, *env = NULL, *project = NULL;
	struct phg_call_ctx ctx = {.release = r->o->tag, .step = ""};
	struct phg_err e = {0};
	const char *what = pct < 0 ? "off" : pct >= 100 ? "on" : "rollout";
	int rc = 0;

	if (!r->rs->have_unleash || or_guard(r, &e) < 0)
		return;
	rc = render(r, &us->url, reg, "", "", 0, true, &url, &e);
	if (rc == 0)
		rc = render(r, &us->token, reg, "", "", 0, true, &token, &e);
	if (rc == 0)
		rc = render(r, &us->environment, reg, "", "", 0, true, &env,
			    &e);
	if (rc == 0)
		rc = render(r, &us->project, reg, "", "", 0, true, &project,
			    &e);
	for (size_t i = 0; rc == 0 && i < us->nfeatures; i++) {
		struct phg_unleash u = {.url = url,
					.token = token,
					.project = project,
					.environment = env,
					.timeout_ms = us->timeout_ms};
		char d[256];

		/* With the rollout following the traffic, the flag is on
		   with its gradual rollout at the step's percentage (100 at
		   done, so that "on" means everyone). */
		if (pct < 0)
			rc = phg_unleash_disable(&u, us->features[i], &ctx, &e);
		else if (us->rollout == PHG_ROLLOUT_WITH_TRAFFIC)
			rc = phg_unleash_rollout(&u, us->features[i], pct, &ctx,
						 &e);
		if (rc == 0 && pct >= 0)
			rc = phg_unleash_enable(&u, us->features[i], &ctx, &e);
		if (rc < 0)
			break;
		if (pct >= 0 && us->rollout == PHG_ROLLOUT_WITH_TRAFFIC)
			snprintf(d, sizeof(d), "%s on, rollout %d%%",
				 us->features[i], pct);
		else
			snprintf(d, sizeof(d), "%s %s", us->features[i],
				 pct < 0 ? "off" : "on");
		or_say(r, "  flag %s", d);
		phg_store_event_add(r->st, r->rel_id, reg->name, "flag", d, &e);
	}
	if (rc < 0) {
		or_say(r, "  warning: feature flags not switched %s: %s", what,
		       e.msg);
		struct phg_err e2 = {0};
		phg_store_event_add(r->st, r->rel_id, reg->name, "flag-error",
				    e.msg, &e2);
	}
	free(url);
	free(token);
	free(env);
	free(project);
}

void or_notify(struct orch *r, const char *event, const char *text)
{
	struct phg_call_ctx ctx = {.release = r->o->tag, .step = ""};
	struct phg_err e = {0};
	char *url = NULL;

	if (!r->rs->webhook.text || or_guard(r, &e) < 0)
		return;
	if (render(r, &r->rs->webhook, NULL, "", "", 0, true, &url, &e) == 0) {
		struct phg_webhook w = {
			.url = url, .timeout_ms = r->rs->webhook_timeout_ms};

		phg_webhook_post(&w, event, text, &ctx, &e);
	}
	if (e.msg[0]) {
		struct phg_err e2 = {0};

		or_say(r, "  warning: notification '%s' not sent: %s", event,
		       e.msg);
		if (r->st && r->rel_id)
			phg_store_event_add(r->st, r->rel_id, NULL,
					    "notify-error", e.msg, &e2);
	}
	free(url);
}

/* ---- lease and abort requests ------------------------------------------- */

/*
 * The lease is ours for ttl after the last renewal that succeeded: nobody
 * can take it over before it is that old on the ledger's clock. So the
 * time taken just before issuing a renewal that succeeded (last_ok) tells
 * how long the driver may act without asking the ledger again: it acts
 * freely for half the ttl after it (a margin for clock rates), and beyond
 * that it renews synchronously first. A renewal that finds another holder
 * means the lease was taken over: the driver stops at once and records
 * nothing more. A renewal that fails for another reason (the ledger
 * unreachable for a moment) is retried until last_ok + ttl; only then does
 * the driver stop, since from then on another process may drive.
 */
struct or_renewer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct phg_store *st; /* its own connection */
	const char *env, *holder;
	long long every_ms, ttl_ms;
	/* Shared with the driver's thread, under mu. */
	long long last_ok; /* monotonic ms before the last good renewal */
	bool lost;
	char lost_msg[sizeof(((struct phg_err *)0)->msg)];
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One renewal attempt on st. Returns 0 (renewed), 1 (transient failure:
 * retry), or -1 (the lease is someone else's now, or nobody's: msg says
 * who holds it).
 */
static int renew_once(struct phg_store *st, const char *env, const char *holder,
		      char *msg, size_t msg_size)
{
	struct phg_store_lease_info li = {0};
	struct phg_err e = {0}, e2 = {0};
	bool found = false;
	int rc = phg_store_lease_renew(st, env, holder, &e);

	if (rc == 0)
		return 0;
	/* Is it another holder's now, or was the ledger just not there? */
	if (phg_store_lease_get(st, env, &li, &found, &e2) < 0)
		return 1;
	rc = found && phg_streq(li.holder, holder) ? 1 : -1;
	if (rc < 0)
		snprintf(msg, msg_size,
			 "release lease of environment '%s' taken over by "
			 "'%s': this process ('%s') stops without acting or "
			 "recording further",
			 env, found && li.holder ? li.holder : "nobody",
			 holder);
	phg_store_lease_info_release(&li);
	return rc;
}

/* Retries wait on the real clock: the lease's ttl is real time. */
static void real_sleep(long long ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
			      .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void set_lost(struct or_renewer *w, const char *msg)
{
	if (w->lost)
		return;
	w->lost = true;
	snprintf(w->lost_msg, sizeof(w->lost_msg), "%s", msg);
}

static void *renew_loop(void *arg)
{
	struct or_renewer *w = arg;
	long long wait_ms = w->every_ms;

	pthread_mutex_lock(&w->mu);
	while (!w->stop && !w->lost) {
		struct timespec ts;
		char msg[sizeof(w->lost_msg)] = "";
		long long before;
		int rc;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(wait_ms / 1000);
		ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT ||
		    w->stop || w->lost)
			continue;
		pthread_mutex_unlock(&w->mu);
		before = mono_ms();
		rc = renew_once(w->st, w->env, w->holder, msg, sizeof(msg));
		pthread_mutex_lock(&w->mu);
		wait_ms = w->every_ms;
		if (rc == 0) {
			if (before > w->last_ok)
				w->last_ok = before;
		} else if (rc < 0) {
			set_lost(w, msg);
		} else if (mono_ms() >= w->last_ok + w->ttl_ms) {
			snprintf(msg, sizeof(msg),
				 "release lease of environment '%s' not "
				 "renewed for %lld ms (the ledger did not "
				 "answer): another process may drive now, so "
				 "this one stops",
				 w->env, w->ttl_ms);
			set_lost(w, msg);
		} else {
			/* Transient: try again soon, within the ttl. */
			wait_ms = w->ttl_ms / 10 > 0 ? w->ttl_ms / 10 : 1;
			if (wait_ms > 500)
				wait_ms = 500;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void renewer_start(struct orch *r)
{
	struct or_renewer *w = phg_xcalloc(1, sizeof(*w));
	struct phg_err e = {0};

	if (!w)
		return;
	if (phg_orch_open_store(r->cfg, false, &w->st, &e) < 0) {
		free(w);
		return;
	}
	w->env = r->cfg->environment;
	w->holder = r->holder;
	w->ttl_ms = r->rs->lease_ttl_ms;
	w->every_ms = r->rs->lease_ttl_ms / 4 > 0 ? r->rs->lease_ttl_ms / 4 : 1;
	w->last_ok = r->last_renew;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, renew_loop, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		phg_store_close(w->st);
		free(w);
		return;
	}
	r->renewer = w;
}

static void renewer_stop(struct orch *r)
{
	struct or_renewer *w = r->renewer;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	phg_store_close(w->st);
	free(w);
	r->renewer = NULL;
}

int or_lease(struct orch *r)
{
	char host[64] = "host";
	char *taken = NULL;
	int rc;
	struct timespec ts;
	long long before;

	gethostname(host, sizeof(host) - 1);
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(r->holder, sizeof(r->holder), "%s:%ld:%lx", host,
		 (long)getpid(), (unsigned long)(ts.tv_nsec ^ ts.tv_sec));
	before = mono_ms();
	rc = phg_store_lease_acquire(r->st, r->cfg->environment, r->holder,
				     r->rs->lease_ttl_ms, &taken, r->err);
	if (rc < 0)
		return rc;
	r->have_lease = true;
	r->last_renew = before;
	renewer_start(r);
	if (taken) {
		or_say(r, "took over the stale lease of '%s'", taken);
		free(taken);
	}
	return 0;
}

void or_unlease(struct orch *r)
{
	struct phg_err e = {0};

	renewer_stop(r);
	/* A lost lease is not ours to release. */
	if (r->have_lease && !r->lost)
		phg_store_lease_release(r->st, r->cfg->environment, r->holder,
					&e);
	r->have_lease = false;
}

/* Marks the lease lost: err says so, the driver records nothing more. */
static int lost(struct orch *r, const char *msg, struct phg_err *err)
{
	if (!r->lost) {
		r->lost = true;
		snprintf(r->lost_msg, sizeof(r->lost_msg), "%s", msg);
	}
	/* The first error wins, except that losing the lease is the reason
	   the release stops, whatever failed on the way. */
	memset(err, 0, sizeof(*err));
	phg_err_set(err, PHG_ERUNTIME, "%s", r->lost_msg);
	if (err != r->err && !r->err->code)
		phg_err_set(r->err, PHG_ERUNTIME, "%s", r->lost_msg);
	return PHG_ERUNTIME;
}

bool or_lost(struct orch *r)
{
	struct or_renewer *w = r->renewer;

	if (r->lost)
		return true;
	if (!w)
		return false;
	pthread_mutex_lock(&w->mu);
	if (w->lost) {
		r->lost = true;
		snprintf(r->lost_msg, sizeof(r->lost_msg), "%s", w->lost_msg);
	}
	pthread_mutex_unlock(&w->mu);
	return r->lost;
}

int or_guard(struct orch *r, struct phg_err *err)
{
	struct or_renewer *w = r->renewer;
	long long last, ttl = r->rs->lease_ttl_ms, delay = 20;
	char msg[sizeof(r->lost_msg)] = "";

	if (!r->have_lease)
		return 0;
	if (or_lost(r))
		return lost(r, r->lost_msg, err);
	if (w) {
		pthread_mutex_lock(&w->mu);
		if (w->last_ok > r->last_renew)
			r->last_renew = w->last_ok;
		pthread_mutex_unlock(&w->mu);
	}
	last = r->last_renew;
	if (mono_ms() - last < ttl / 2)
		return 0;
	/* Not sure any more: ask the ledger before acting. */
	for (;;) {
		long long before = mono_ms();
		int rc = renew_once(r->st, r->cfg->environment, r->holder, msg,
				    sizeof(msg));

		if (rc == 0) {
			r->last_renew = before;
			if (w) {
				pthread_mutex_lock(&w->mu);
				if (before > w->last_ok)
					w->last_ok = before;
				pthread_mutex_unlock(&w->mu);
			}
			return 0;
		}
		if (rc < 0)
			return lost(r, msg, err);
		if (mono_ms() + delay >= last + ttl) {
			snprintf(msg, sizeof(msg),
				 "release lease of environment '%s' not "
				 "renewed for %lld ms (the ledger did not "
				 "answer): another process may drive now, so "
				 "this one stops",
				 r->cfg->environment, ttl);
			return lost(r, msg, err);
		}
		real_sleep(delay);
		if (delay < 500)
			delay *= 2;
	}
}

int or_tick(struct orch *r, struct phg_err *err)
{
	struct phg_store_event *ev = NULL;
	size_t n = 0;
	bool abort = false;
	int rc;

	rc = or_guard(r, err);
	if (rc < 0)
		return rc;
	if (!r->rel_id)
		return 0;
	/* A poll the ledger did not answer is missed, not fatal: the next
	   one sees the request, and the lease is the guard's business. */
	if (phg_store_event_list(r->st, r->rel_id, &ev, &n,
				 &(struct phg_err){0}) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (phg_streq(ev[i].kind, "abort"))
			abort = true;
	phg_store_event_free_array(ev, n);
	return abort ? 1 : 0;
}

/* Sleeps ms in chunks, renewing the lease and printing progress. */
static enum or_result wait_for(struct orch *r, const char *what, long long ms)
{
	long long start = or_now(r), chunk, el;
	char a[32], b[32];

	b[0] = '\0';
	dur_text(ms, b, sizeof(b));
	while ((el = or_now(r) - start) < ms) {
		int t = or_tick(r, r->err);

		if (t < 0)
			return OR_HALT;
		if (t > 0)
			return OR_ABORT;
		dur_text(el, a, sizeof(a));
		or_say(r, "  %s: %s / %s", what, a, b);
		chunk = r->rs->interval_ms;
		if (chunk > r->rs->lease_ttl_ms / 4)
			chunk = r->rs->lease_ttl_ms / 4;
		if (chunk > ms - el)
			chunk = ms - el;
		if (chunk < 1)
			chunk = 1;
		or_sleep(r, chunk);
	}
	return OR_OK;
}

/* ---- the steps ---------------------------------------------------------- */

static void forward(const struct phg_progress *p, void *ctx)
{
	struct orch *r = ctx;

	switch (p->event) {
	case PHG_EV_MIGRATION_DONE:
		or_say(r, "  applied %s (%s, %lld ms)", p->name, p->detail,
		       p->ms);
		break;
	case PHG_EV_RETRY:
		or_say(r, "  retry %s: %s", p->name, p->detail);
		break;
	case PHG_EV_REPLICA_WAIT:
		or_say(r, "  waiting for replica %s", p->region);
		break;
	case PHG_EV_LOCK_WAIT:
		or_say(r, "  waiting for the migration lock on %s", p->region);
		break;
	case PHG_EV_WARNING:
		or_say(r, "  warning: %s", p->detail);
		break;
	case PHG_EV_REGION_START:
	case PHG_EV_MIGRATION_SKIP:
	case PHG_EV_REGION_DONE:
	case PHG_EV_SOAK:
	case PHG_EV_DRY_RUN:
	case PHG_EV_ADOPTED:
		break;
	}
}

static enum or_result do_migrate(struct orch *r, const struct or_step *s)
{
	struct phg_runner_opts ro = {0};
	struct phg_runner_result res;
	struct phg_err e = {0};
	int rc;

	ro.cfg = r->cfg;
	ro.region = s->reg->name;
	ro.release = r->o->tag;
	ro.no_soak = true;
	ro.progress = forward;
	ro.progress_ctx = r;
	if (s->kind == OR_CONTRACT)
		ro.phases = PHG_PHASE_BIT(PHG_PHASE_CONTRACT);
	else if (r->cfg->contract == PHG_CONTRACT_AFTER_CUTOVER)
		ro.phases = PHG_PHASE_BIT(PHG_PHASE_EXPAND) |
			    PHG_PHASE_BIT(PHG_PHASE_BACKFILL);
	if (or_guard(r, r->err) < 0)
		return OR_HALT;
	rc = phg_runner_migrate(&ro, &res, &e);
	if (rc == 0 && !res.refused)
		snprintf(r->detail, sizeof(r->detail),
			 "%zu migration%s applied", res.applied,
			 res.applied == 1 ? "" : "s");
	else if (rc == 0)
		snprintf(r->why, sizeof(r->why),
			 "region '%s': the lint gate refuses the pending "
			 "migrations",
			 s->reg->name);
	else
		snprintf(r->why, sizeof(r->why), "%s", e.msg);
	phg_runner_result_release(&res);
	if (rc == 0 && !r->why[0])
		return OR_OK;
	if (rc == PHG_ERUNTIME || rc == PHG_ENOMEM || rc == PHG_ECONFIG) {
		phg_err_set(r->err, rc, "%s", e.msg);
		return OR_HALT;
	}
	return OR_FAIL;
}

/* Runs an action (deploy or smoke); OR_OK, or OR_ROLLBACK with why. */
static enum or_result do_action(struct orch *r, const struct or_step *s,
				const struct phg_step_action *a,
				const char *target, long long step_id)
{
	char step[32], **argv = NULL, *url = NULL, *method = NULL, *body = NULL,
		       *expect = NULL, **headers = NULL;
	struct phg_call_ctx ctx = {.release = r->o->tag, .step = step};
	enum or_result out = OR_OK;
	struct phg_err e = {0};
	int rc = 0;

	snprintf(step, sizeof(step), "%lld", step_id);
	if (a->kind == PHG_ACTION_NONE) {
		snprintf(r->detail, sizeof(r->detail),
			 "nothing configured (release.%s)", s->name);
		return OR_SKIPPED;
	}
	if (a->kind == PHG_ACTION_COMMAND) {
		struct phg_command cmd = {0};
		struct phg_command_result cr = {0};

		argv = phg_xcalloc(a->argc + 1, sizeof(char *));
		if (!argv)
			return OR_HALT;
		for (size_t i = 0; i < a->argc && rc == 0; i++)
			rc = render(r, &a->argv[i], s->reg, target, step, 0,
				    true, &argv[i], &e);
		if (rc == 0)
			rc = or_guard(r, &e);
		if (rc == 0) {
			cmd.argv = argv;
			cmd.timeout_ms = a->timeout_ms;
			rc = phg_command_run(&cmd, &ctx, &cr, &e);
		}
		/* The output's trailing newlines add nothing to a line. */
		while (cr.output && cr.output_len > 0 &&
		       (cr.output[cr.output_len - 1] == '\n' ||
			cr.output[cr.output_len - 1] == '\r'))
			cr.output[--cr.output_len] = '\0';
		if (rc == 0 && cr.exit_code == 0)
			snprintf(r->detail, sizeof(r->detail),
				 "slot %s: exit 0 in %lld ms%s%.2000s", target,
				 cr.ms, cr.output_len ? "; output: " : "",
				 cr.output ? cr.output : "");
		else if (rc == 0)
			snprintf(r->why, sizeof(r->why),
				 "%s command %s%s%d after %lld ms: %.600s",
				 s->name, cr.timed_out ? "timed out" : "exited",
				 cr.timed_out ? ", " : " ", cr.exit_code, cr.ms,
				 cr.output ? cr.output : "");
		else
			snprintf(r->why, sizeof(r->why), "%s: %.900s", s->name,
				 e.msg);
		phg_command_result_release(&cr);
		for (size_t i = 0; i < a->argc; i++)
			free(argv[i]);
		free(argv);
		return r->why[0] ? OR_ROLLBACK : out;
	}
	rc = render(r, &a->url, s->reg, target, step, 0, true, &url, &e);
	if (rc == 0)
		rc = render(r, &a->method, s->reg, target, step, 0, true,
			    &method, &e);
	if (rc == 0)
		rc = render(r, &a->body, s->reg, target, step, 0, true, &body,
			    &e);
	if (rc == 0)
		rc = render(r, &a->expect_body, s->reg, target, step, 0, true,
			    &expect, &e);
	headers = phg_xcalloc(a->nheaders + 1, sizeof(char *));
	for (size_t i = 0; rc == 0 && headers && i < a->nheaders; i++)
		rc = render(r, &a->headers[i], s->reg, target, step, 0, true,
			    &headers[i], &e);
	if (rc == 0 && headers)
		rc = or_guard(r, &e);
	if (rc == 0 && headers) {
		struct phg_http_check chk = {
			.req = {.method = method,
				.url = url,
				.headers = (const char *const *)headers,
				.body = body,
				.timeout_ms = a->timeout_ms,
				.retries = a->retries},
			.expect_status = a->expect_status,
			.expect_body = expect};
		bool ok = false;
		char why[600];

		rc = phg_http_check_run(&chk, &ctx, &ok, why, sizeof(why), &e);
		if (rc == 0 && ok)
			snprintf(r->detail, sizeof(r->detail), "slot %s: %s",
				 target, why);
		else if (rc == 0)
			snprintf(r->why, sizeof(r->why), "%s failed: %s",
				 s->name, why);
	}
	if (rc < 0)
		snprintf(r->why, sizeof(r->why), "%s: %.900s", s->name, e.msg);
	for (size_t i = 0; headers && i < a->nheaders; i++)
		free(headers[i]);
	free(headers);
	free(url);
	free(method);
	free(body);
	free(expect);
	return r->why[0] ? OR_ROLLBACK : out;
}

/* What analysis needs from one traffic step. */
struct tctx {
	struct orch *r;
	const struct phg_region *reg;
	const char *target;
	int weight; /* new slot's percentage */
	int green;
	char *queries[PHG_METRICS]; /* rendered, expanded */
	char *prom;
	long long hold_ms;
};

static int read_metrics(void *ctx, struct phg_readings *out,
			struct phg_err *err)
{
	struct tctx *t = ctx;
	struct phg_prometheus p = {.url = t->prom, .timeout_ms = 10000};
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (int m = 0; m < PHG_METRICS; m++) {
		struct phg_err e = {0};

		if (!t->queries[m])
			continue;
		if (phg_prometheus_query(&p, t->queries[m], &out->value[m],
					 &out->present[m], &e) < 0) {
			out->present[m] = false;
			or_say(t->r, "  warning: %s query failed: %s",
			       phg_metric_name((enum phg_metric)m), e.msg);
			if (rc == 0)
				rc = phg_err_set(err, PHG_ERUNTIME, "%s",
						 e.msg);
		}
	}
	return 0;
}

static void on_eval(void *ctx, long long elapsed_ms,
		    const struct phg_readings *rd,
		    const bool breached[PHG_METRICS], bool healthy)
{
	struct tctx *t = ctx;
	char line[512], a[32], b[32];
	size_t used = 0;
	struct phg_err ge = {0};
	/* Readings are recorded only while the lease is surely ours. */
	bool record = or_guard(t->r, &ge) == 0;

	dur_text(elapsed_ms, a, sizeof(a));
	dur_text(t->hold_ms, b, sizeof(b));
	used = (size_t)snprintf(line, sizeof(line),
				"  traffic %d%%: %s / %s, %s", t->weight, a, b,
				healthy ? "healthy" : "not healthy");
	for (int m = 0; m < PHG_METRICS && used < sizeof(line); m++) {
		struct phg_store_reading rr;
		struct phg_err e = {0};
		int n;

		if (!rd->present[m]) {
			if (t->queries[m])
				used += (size_t)snprintf(
					line + used, sizeof(line) - used,
					" %s=no-data",
					phg_metric_name((enum phg_metric)m));
			continue;
		}
		n = snprintf(line + used, sizeof(line) - used, " %s=%g%s",
			     phg_metric_name((enum phg_metric)m), rd->value[m],
			     breached[m] ? "(breach)" : "");
		if (n > 0)
			used += (size_t)n;
		rr = (struct phg_store_reading){
			.region = (char *)t->reg->name,
			.metric = (char *)phg_metric_name((enum phg_metric)m),
			.value = rd->value[m],
			.breached = breached[m],
			.weight = t->green};
		if (record)
			phg_store_reading_add(t->r->st, t->r->rel_id, &rr, &e);
	}
	or_say(t->r, "%s", line);
}

static int hold_tick(void *ctx, struct phg_err *err)
{
	struct tctx *t = ctx;

	return or_tick(t->r, err);
}

static long long hold_now(void *ctx)
{
	return or_now(((struct tctx *)ctx)->r);
}

static void hold_sleep(long long ms, void *ctx)
{
	or_sleep(((struct tctx *)ctx)->r, ms);
}

/* The connections reading before the cutover, read once per region and
   kept in the ledger (a resume reuses it). */
static int baseline(struct orch *r, struct tctx *t, struct phg_analysis *an)
{
	struct phg_store_event *ev = NULL;
	size_t n = 0;
	int rc = phg_store_event_list(r->st, r->rel_id, &ev, &n, r->err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (phg_streq(ev[i].kind, "baseline") &&
		    phg_streq(ev[i].region, t->reg->name)) {
			an->baseline_connections = strtod(ev[i].detail, NULL);
			an->have_baseline = true;
		}
	phg_store_event_free_array(ev, n);
	if (an->have_baseline || !t->queries[PHG_METRIC_CONNECTIONS])
		return 0;
	{
		struct phg_prometheus p = {.url = t->prom, .timeout_ms = 10000};
		struct phg_err e = {0};
		bool present = false;
		double v = 0;
		char d[64];

		if (phg_prometheus_query(&p, t->queries[PHG_METRIC_CONNECTIONS],
					 &v, &present, &e) < 0 ||
		    !present) {
			or_say(r, "  warning: no connections reading before "
				  "the cutover: that trigger is off");
			return 0;
		}
		an->baseline_connections = v;
		an->have_baseline = true;
		snprintf(d, sizeof(d), "%.17g", v);
		or_say(r, "  connections before the cutover: %g", v);
		return phg_store_event_add(r->st, r->rel_id, t->reg->name,
					   "baseline", d, r->err);
	}
}

static enum or_result do_traffic(struct orch *r, const struct or_step *s,
				 const char *target)
{
	struct phg_analysis an;
	struct tctx t = {.r = r,
			 .reg = s->reg,
			 .target = target,
			 .weight = s->weight,
			 .green = or_green_pct(target, s->weight),
			 .hold_ms = r->rs->hold_ms};
	struct phg_hold h = {0};
	enum phg_hold_result res = PHG_HOLD_PASSED;
	enum or_result out = OR_OK;
	bool analysis = phg_analysis_enabled(r->rs);
	int trigger = 0, rc = 0;

	phg_analysis_init(&an, r->rs);
	if (analysis) {
		rc = render(r, &r->rs->prometheus, s->reg, target, "",
			    s->weight, true, &t.prom, r->err);
		for (int m = 0; rc == 0 && m < PHG_METRICS; m++)
			rc = render(r, &r->rs->queries[m], s->reg, target, "",
				    s->weight, true, &t.queries[m], r->err);
		if (rc == 0)
			rc = baseline(r, &t, &an);
		if (rc < 0) {
			out = OR_HALT;
			goto out;
		}
	}
	rc = or_set_weights(r, s->reg, target, s->weight, r->err);
	if (rc < 0) {
		snprintf(r->why, sizeof(r->why),
			 "traffic %d%% to %s failed: %.900s", s->weight, target,
			 r->err->msg);
		out = OR_ROLLBACK;
		goto out;
	}
	or_say(r, "  traffic: %s %d%%, %s %d%%", target, s->weight,
	       or_other(target), 100 - s->weight);
	if (r->rs->unleash.rollout == PHG_ROLLOUT_WITH_TRAFFIC)
		or_flags(r, s->reg, s->weight);
	h = (struct phg_hold){.analysis = &an,
			      .hold_ms = r->rs->hold_ms,
			      .interval_ms = r->rs->interval_ms,
			      .now = hold_now,
			      .sleep = hold_sleep,
			      .clock_ctx = &t,
			      .read = analysis ? read_metrics : NULL,
			      .read_ctx = &t,
			      .on_eval = on_eval,
			      .tick = hold_tick,
			      .cb_ctx = &t};
	if (!analysis && r->rs->hold_ms == 0) {
		res = PHG_HOLD_PASSED;
	} else {
		rc = phg_hold_run(&h, &res, &trigger, r->err);
		if (rc < 0) {
			out = OR_HALT;
			goto out;
		}
	}
	switch (res) {
	case PHG_HOLD_PASSED:
		snprintf(r->detail, sizeof(r->detail), "%s %d%%, held %lld ms",
			 target, s->weight, r->rs->hold_ms);
		break;
	case PHG_HOLD_ROLLBACK:
		snprintf(r->why, sizeof(r->why),
			 "trigger %s held for %lld ms at %d%% (threshold %g%s)",
			 phg_metric_name((enum phg_metric)trigger),
			 r->rs->sustain_ms, s->weight, r->rs->rollback[trigger],
			 trigger == PHG_METRIC_CONNECTIONS
				 ? " x the connections before the cutover"
				 : "");
		out = OR_ROLLBACK;
		break;
	case PHG_HOLD_UNHEALTHY:
		snprintf(r->why, sizeof(r->why),
			 "not healthy at %d%% after twice the hold time (%lld "
			 "ms)",
			 s->weight, 2 * r->rs->hold_ms);
		out = OR_ROLLBACK;
		break;
	case PHG_HOLD_ABORTED:
		snprintf(r->why, sizeof(r->why), "aborted at %d%%", s->weight);
		out = OR_ABORT;
		break;
	}
out:
	free(t.prom);
	for (int m = 0; m < PHG_METRICS; m++)
		free(t.queries[m]);
	return out;
}

enum or_result or_act(struct orch *r, const struct or_step *s,
		      long long step_id)
{
	char target[16] = "";
	int rc;

	r->why[0] = r->detail[0] = '\0';
	if (s->reg && s->kind != OR_SOAK && s->kind != OR_CONTRACT) {
		rc = or_target(r, s->reg, target, sizeof(target));
		if (rc < 0)
			return OR_HALT;
	}
	switch (s->kind) {
	case OR_PREFLIGHT:
		return OR_OK;
	case OR_SOAK: {
		char what[96];
		enum or_result w;

		snprintf(what, sizeof(what), "soak before %s", s->reg->name);
		w = wait_for(r, what, s->reg->soak_ms);
		snprintf(r->detail, sizeof(r->detail), "%lld ms",
			 s->reg->soak_ms);
		if (w == OR_ABORT)
			snprintf(r->why, sizeof(r->why), "aborted in the soak");
		return w;
	}
	case OR_MIGRATE:
	case OR_CONTRACT:
		return do_migrate(r, s);
	case OR_DEPLOY:
		return do_action(r, s, &r->rs->deploy, target, step_id);
	case OR_SMOKE:
		return do_action(r, s, &r->rs->smoke, target, step_id);
	case OR_TRAFFIC:
		return do_traffic(r, s, target);
	case OR_DONE:
		rc = or_guard(r, r->err);
		if (rc == 0)
			rc = phg_store_set_live_slot(r->st, r->cfg->environment,
						     s->reg->name, target,
						     r->err);
		if (rc < 0)
			return OR_HALT;
		or_flags(r, s->reg, 100);
		snprintf(r->detail, sizeof(r->detail),
			 "live slot %s, %s on standby", target,
			 or_other(target));
		return OR_OK;
	}
	return OR_HALT;
}

int or_rollback_region(struct orch *r, const struct phg_region *reg,
		       const char *reason, struct phg_err *err)
{
	char target[16];
	long long sid = 0;
	int rc = or_target(r, reg, target, sizeof(target));

	/* Traffic first: nothing slow before the old slot has it all. */
	if (rc == 0)
		rc = or_set_weights(r, reg, target, 0, err);
	if (rc < 0)
		return rc;
	or_say(r, "  rollback %s: traffic 100%% to %s", reg->name,
	       or_other(target));
	or_flags(r, reg, -1);
	rc = phg_store_step_begin(r->st, r->rel_id, reg->name, "rollback",
				  (int)r->nplan, &sid, err);
	if (rc == 0)
		rc = phg_store_event_add(r->st, r->rel_id, reg->name,
					 "rollback", reason, err);
	if (rc == 0) {
		char d[1200];

		snprintf(d, sizeof(d), "traffic 100%% to %s: %s",
			 or_other(target), reason);
		rc = phg_store_step_end(r->st, sid, PHG_STEP_DONE, d, err);
	}
	return rc;
}
