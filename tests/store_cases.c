/*
 * store_cases.c: the ledger's round-trip suite, run on both backends:
 * releases, steps, readings, weights, events, live slots, the lease
 * (acquire, re-acquire, refusal naming the holder, renew, release, stale
 * takeover after a 200 ms ttl), a newer schema version refused, two
 * processes racing for the lease 20 times, and a write surviving a
 * SIGKILL right after it was committed. Every wait is bounded.
 */
#define _GNU_SOURCE
#include "store_cases.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

const struct sc_backend *sc_backend;

bool sc_is_iso_ms(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	if (!s || strlen(s) != sizeof(pat) - 1)
		return false;
	for (size_t i = 0; pat[i]; i++) {
		if (pat[i] == 'd' ? !isdigit((unsigned char)s[i])
				  : s[i] != pat[i])
			return false;
	}
	return true;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static struct phg_store *open_fresh(char **loc)
{
	struct phg_store *s = NULL;
	struct phg_err err = {0};

	*loc = sc_backend->fresh();
	ck_assert_ptr_nonnull(*loc);
	ck_assert_msg(phg_store_open(*loc, &s, &err) == 0, "open: %s", err.msg);
	ck_assert_str_eq(phg_store_backend(s), sc_backend->name);
	return s;
}

static struct phg_store *reopen(const char *loc)
{
	struct phg_store *s = NULL;
	struct phg_err err = {0};

	ck_assert_msg(phg_store_open(loc, &s, &err) == 0, "reopen: %s",
		      err.msg);
	return s;
}

static long long new_release(struct phg_store *s, const char *env,
			     const char *tag)
{
	struct phg_store_release r = {.environment = (char *)env,
				      .tag = (char *)tag,
				      .state = PHG_REL_RUNNING,
				      .target_slot = "green",
				      .migrations = "0001_a,0002_b"};
	struct phg_err err = {0};
	long long id = 0;

	ck_assert_msg(phg_store_release_create(s, &r, &id, &err) == 0,
		      "create %s: %s", tag, err.msg);
	ck_assert_int_gt(id, 0);
	return id;
}

/*
 * Waits for pid at most timeout_ms; kills it and fails the test when it
 * is still running. Returns its wait status.
 */
static int wait_child(pid_t pid, long timeout_ms)
{
	int status = 0;

	for (long waited = 0;; waited += 10) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return status;
		ck_assert_msg(w == 0, "waitpid: %s", strerror(errno));
		if (waited >= timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			ck_abort_msg("child %d still running after %ld ms",
				     (int)pid, timeout_ms);
		}
		sleep_ms(10);
	}
}

START_TEST(releases_round_trip)
{
	struct phg_err err = {0};
	struct phg_store_release r = {0}, in = {0}, *list = NULL;
	char *loc;
	struct phg_store *s = open_fresh(&loc);
	long long a, b, c, dup = 0;
	bool found = true;
	size_t n = 0;

	in.environment = "production";
	in.tag = "v1.0.0";
	in.state = PHG_REL_RUNNING;
	in.target_slot = "green";
	in.approved_by = "alice";
	in.reason = NULL;
	in.migrations = "0001_users,0002_email";
	ck_assert_msg(phg_store_release_create(s, &in, &a, &err) == 0, "%s",
		      err.msg);
	/* The same tag again is refused, naming it. */
	ck_assert_int_eq(phg_store_release_create(s, &in, &dup, &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "'v1.0.0'") != NULL, "%s", err.msg);
	ck_assert_int_eq(dup, 0);
	err = (struct phg_err){0};
	/* A bad slot is refused. */
	in.tag = "v9";
	in.target_slot = "purple";
	ck_assert_int_eq(phg_store_release_create(s, &in, &dup, &err),
			 PHG_EINPUT);
	err = (struct phg_err){0};
	b = new_release(s, "production", "v1.1.0");
	c = new_release(s, "staging", "v1.1.0"); /* other environment */
	ck_assert_int_gt(b, a);
	ck_assert_int_ne(c, b);

	ck_assert(phg_store_release_get(s, "production", "v1.0.0", &r, &found,
					&err) == 0);
	ck_assert(found);
	ck_assert_int_eq(r.id, a);
	ck_assert_str_eq(r.environment, "production");
	ck_assert_str_eq(r.tag, "v1.0.0");
	ck_assert_int_eq(r.state, PHG_REL_RUNNING);
	ck_assert_str_eq(r.target_slot, "green");
	ck_assert_str_eq(r.approved_by, "alice");
	ck_assert_ptr_null(r.reason);
	ck_assert_ptr_null(r.finished_at);
	ck_assert_str_eq(r.migrations, "0001_users,0002_email");
	ck_assert_msg(sc_is_iso_ms(r.started_at), "started_at '%s'",
		      r.started_at);
	phg_store_release_release(&r);

	ck_assert(phg_store_release_get(s, "production", "v0", &r, &found,
					&err) == 0);
	ck_assert(!found);
	ck_assert(phg_store_release_latest(s, "production", &r, &found, &err) ==
		  0);
	ck_assert(found);
	ck_assert_str_eq(r.tag, "v1.1.0");
	ck_assert_int_eq(r.id, b);
	ck_assert_ptr_null(r.approved_by);
	phg_store_release_release(&r);
	ck_assert(phg_store_release_latest(s, "nowhere", &r, &found, &err) ==
		  0);
	ck_assert(!found);

	/* Finish: state, reason, finished_at; running again clears it. */
	ck_assert(phg_store_release_finish(s, a, PHG_REL_ROLLED_BACK,
					   "error_rate 0.07 > 0.05 for 2m",
					   &err) == 0);
	ck_assert(phg_store_release_get(s, "production", "v1.0.0", &r, &found,
					&err) == 0);
	ck_assert_int_eq(r.state, PHG_REL_ROLLED_BACK);
	ck_assert_str_eq(r.reason, "error_rate 0.07 > 0.05 for 2m");
	ck_assert_msg(sc_is_iso_ms(r.finished_at), "finished_at '%s'",
		      r.finished_at);
	ck_assert(strcmp(r.finished_at, r.started_at) >= 0);
	phg_store_release_release(&r);
	ck_assert(phg_store_release_finish(s, a, PHG_REL_REVERTED, NULL,
					   &err) == 0);
	ck_assert(phg_store_release_get(s, "production", "v1.0.0", &r, &found,
					&err) == 0);
	ck_assert_int_eq(r.state, PHG_REL_REVERTED);
	ck_assert_str_eq(r.reason, "error_rate 0.07 > 0.05 for 2m");
	phg_store_release_release(&r);
	ck_assert(phg_store_release_finish(s, b, PHG_REL_RUNNING, NULL, &err) ==
		  0);
	ck_assert(phg_store_release_get(s, "production", "v1.1.0", &r, &found,
					&err) == 0);
	ck_assert_ptr_null(r.finished_at);
	phg_store_release_release(&r);
	ck_assert_int_eq(
		phg_store_release_finish(s, 999999, PHG_REL_FAILED, NULL, &err),
		PHG_ERUNTIME);
	err = (struct phg_err){0};

	/* A release created final gets finished_at at once. */
	in.tag = "v2-refused";
	in.target_slot = "blue";
	in.state = PHG_REL_FAILED;
	in.reason = "outside the deployment window";
	ck_assert(phg_store_release_create(s, &in, &dup, &err) == 0);
	phg_store_close(s);

	/* The list, from a new connection, oldest first. */
	s = reopen(loc);
	ck_assert(phg_store_release_list(s, "production", &list, &n, &err) ==
		  0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0].tag, "v1.0.0");
	ck_assert_str_eq(list[1].tag, "v1.1.0");
	ck_assert_str_eq(list[2].tag, "v2-refused");
	ck_assert_int_eq(list[2].state, PHG_REL_FAILED);
	ck_assert_str_eq(list[2].target_slot, "blue");
	ck_assert_msg(sc_is_iso_ms(list[2].finished_at), "%s",
		      list[2].finished_at);
	ck_assert_str_eq(list[2].reason, "outside the deployment window");
	phg_store_release_free_array(list, n);
	ck_assert(phg_store_release_list(s, "nowhere", &list, &n, &err) == 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(list);
	phg_store_close(s);
	free(loc);
}
END_TEST

START_TEST(state_names_round_trip)
{
	for (int i = PHG_REL_RUNNING; i <= PHG_REL_REVERTED; i++) {
		enum phg_release_state st;

		ck_assert_int_eq(
			phg_release_state_parse(phg_release_state_name(i), &st),
			0);
		ck_assert_int_eq(st, i);
	}
	for (int i = PHG_STEP_RUNNING; i <= PHG_STEP_ROLLED_BACK; i++) {
		enum phg_step_state st;

		ck_assert_int_eq(
			phg_step_state_parse(phg_step_state_name(i), &st), 0);
		ck_assert_int_eq(st, i);
	}
	{
		enum phg_step_state st;

		ck_assert_int_lt(phg_step_state_parse("nope", &st), 0);
	}
}
END_TEST

START_TEST(steps_in_order_with_start_and_end)
{
	struct phg_err err = {0};
	struct phg_store_step *st = NULL;
	char *loc, *big, bad[] = "out \xff\xfe put";
	struct phg_store *s = open_fresh(&loc);
	long long rel = new_release(s, "production", "v1");
	long long pre, mig, dep, glob;
	size_t n = 0;

	/* Begun out of plan order: listed by seq, then id. */
	ck_assert(phg_store_step_begin(s, rel, "us-east", "migrate", 2, &mig,
				       &err) == 0);
	ck_assert(phg_store_step_begin(s, rel, "us-east", "preflight", 1, &pre,
				       &err) == 0);
	ck_assert(phg_store_step_begin(s, rel, "us-east", "deploy", 2, &dep,
				       &err) == 0);
	ck_assert(phg_store_step_begin(s, rel, NULL, "contract", 9, &glob,
				       &err) == 0);
	ck_assert(phg_store_step_end(s, pre, PHG_STEP_DONE, "window: any",
				     &err) == 0);
	ck_assert(phg_store_step_end(s, mig, PHG_STEP_FAILED, bad, &err) == 0);
	ck_assert(phg_store_step_end(s, glob, PHG_STEP_SKIPPED, NULL, &err) ==
		  0);
	ck_assert_int_eq(
		phg_store_step_end(s, 424242, PHG_STEP_DONE, NULL, &err),
		PHG_ERUNTIME);
	err = (struct phg_err){0};

	ck_assert(phg_store_step_list(s, rel, &st, &n, &err) == 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(st[0].name, "preflight");
	ck_assert_int_eq(st[0].seq, 1);
	ck_assert_int_eq(st[0].state, PHG_STEP_DONE);
	ck_assert_str_eq(st[0].detail, "window: any");
	ck_assert_str_eq(st[0].region, "us-east");
	ck_assert_int_eq(st[0].release_id, rel);
	ck_assert(sc_is_iso_ms(st[0].started_at));
	ck_assert(sc_is_iso_ms(st[0].finished_at));
	ck_assert(strcmp(st[0].finished_at, st[0].started_at) >= 0);
	ck_assert_str_eq(st[1].name, "migrate");
	ck_assert_int_eq(st[1].id, mig);
	ck_assert_int_eq(st[1].state, PHG_STEP_FAILED);
	/* Invalid UTF-8 in provider output is kept, readable. */
	ck_assert_str_eq(st[1].detail, "out ?? put");
	ck_assert_str_eq(st[2].name, "deploy");
	ck_assert_int_eq(st[2].state, PHG_STEP_RUNNING);
	ck_assert_ptr_null(st[2].finished_at);
	ck_assert_ptr_null(st[2].detail);
	ck_assert_str_eq(st[3].region, "");
	ck_assert_int_eq(st[3].state, PHG_STEP_SKIPPED);
	phg_store_step_free_array(st, n);

	/* A huge detail is cut to the cap. */
	big = malloc(PHG_STORE_TEXT_MAX + 5000);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', PHG_STORE_TEXT_MAX + 4999);
	big[PHG_STORE_TEXT_MAX + 4999] = '\0';
	ck_assert(phg_store_step_end(s, dep, PHG_STEP_DONE, big, &err) == 0);
	free(big);
	ck_assert(phg_store_step_list(s, rel, &st, &n, &err) == 0);
	ck_assert_uint_eq(strlen(st[2].detail), PHG_STORE_TEXT_MAX);
	phg_store_step_free_array(st, n);
	ck_assert(phg_store_step_list(s, rel + 1000, &st, &n, &err) == 0);
	ck_assert_uint_eq(n, 0);
	phg_store_close(s);
	free(loc);
}
END_TEST

START_TEST(readings_weights_events)
{
	struct phg_err err = {0};
	struct phg_store_reading *rd = NULL;
	struct phg_store_weight *w = NULL;
	struct phg_store_event *ev = NULL;
	char *loc;
	struct phg_store *s = open_fresh(&loc);
	long long rel = new_release(s, "production", "v1");
	long long other = new_release(s, "production", "v2");
	struct phg_store_reading in[] = {
		{.region = "us-east",
		 .metric = "error_rate",
		 .value = 0.1 + 0.2,
		 .breached = false,
		 .weight = 10},
		{.region = "us-east",
		 .metric = "p99_ms",
		 .value = 1234.5,
		 .breached = true,
		 .weight = 10,
		 .at = "2026-11-26T10:00:00.250Z"},
		{.region = "eu-west",
		 .metric = "connections",
		 .value = NAN,
		 .breached = false,
		 .weight = 50},
		{.region = "eu-west",
		 .metric = "http_5xx_rate",
		 .value = 1e-300,
		 .breached = false,
		 .weight = 100},
	};
	int pct = 0;
	size_t n = 0;

	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(phg_store_reading_add(s, rel, &in[i], &err) == 0,
			      "%s", err.msg);
	ck_assert(phg_store_reading_list(s, rel, &rd, &n, &err) == 0);
	ck_assert_uint_eq(n, 4);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_str_eq(rd[i].region, in[i].region);
		ck_assert_str_eq(rd[i].metric, in[i].metric);
		ck_assert_int_eq(rd[i].breached, in[i].breached);
		ck_assert_int_eq(rd[i].weight, in[i].weight);
		ck_assert_msg(sc_is_iso_ms(rd[i].at), "at '%s'", rd[i].at);
		if (isnan(in[i].value))
			ck_assert(isnan(rd[i].value));
		else /* exactly the same double */
			ck_assert_msg(rd[i].value == in[i].value,
				      "%.17g != %.17g", rd[i].value,
				      in[i].value);
	}
	ck_assert_str_eq(rd[1].at, "2026-11-26T10:00:00.250Z");
	phg_store_reading_free_array(rd, n);
	ck_assert(phg_store_reading_list(s, other, &rd, &n, &err) == 0);
	ck_assert_uint_eq(n, 0);

	/* Weights: -1 when none, the last one per region. */
	ck_assert(phg_store_weight_get(s, rel, "us-east", &pct, &err) == 0);
	ck_assert_int_eq(pct, -1);
	ck_assert(phg_store_weight_set(s, rel, "us-east", 10, &err) == 0);
	ck_assert(phg_store_weight_set(s, rel, "us-east", 50, &err) == 0);
	ck_assert(phg_store_weight_set(s, rel, "eu-west", 0, &err) == 0);
	ck_assert(phg_store_weight_get(s, rel, "us-east", &pct, &err) == 0);
	ck_assert_int_eq(pct, 50);
	ck_assert(phg_store_weight_get(s, rel, "eu-west", &pct, &err) == 0);
	ck_assert_int_eq(pct, 0);
	ck_assert(phg_store_weight_get(s, other, "us-east", &pct, &err) == 0);
	ck_assert_int_eq(pct, -1);
	ck_assert_int_eq(phg_store_weight_set(s, rel, "us-east", 101, &err),
			 PHG_EINPUT);
	err = (struct phg_err){0};
	ck_assert(phg_store_weight_list(s, rel, &w, &n, &err) == 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(w[0].region, "us-east");
	ck_assert_int_eq(w[0].green_percent, 10);
	ck_assert_int_eq(w[1].green_percent, 50);
	ck_assert_str_eq(w[2].region, "eu-west");
	ck_assert(sc_is_iso_ms(w[2].at));
	phg_store_weight_free_array(w, n);

	/* Events, in order, region optional. */
	ck_assert(phg_store_event_add(s, rel, NULL, "start", "v1 by ci",
				      &err) == 0);
	ck_assert(phg_store_event_add(s, rel, "us-east", "weight", "10 -> 50",
				      &err) == 0);
	ck_assert(phg_store_event_add(s, rel, "us-east", "approval", NULL,
				      &err) == 0);
	ck_assert(phg_store_event_list(s, rel, &ev, &n, &err) == 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_null(ev[0].region);
	ck_assert_str_eq(ev[0].kind, "start");
	ck_assert_str_eq(ev[0].detail, "v1 by ci");
	ck_assert_str_eq(ev[1].region, "us-east");
	ck_assert_str_eq(ev[1].kind, "weight");
	ck_assert_ptr_null(ev[2].detail);
	ck_assert(sc_is_iso_ms(ev[2].at));
	ck_assert(strcmp(ev[2].at, ev[0].at) >= 0);
	phg_store_event_free_array(ev, n);
	phg_store_close(s);
	free(loc);
}
END_TEST

START_TEST(live_slot_per_region_defaults_to_blue)
{
	struct phg_err err = {0};
	char *loc, *slot = NULL;
	struct phg_store *s = open_fresh(&loc);

	ck_assert(phg_store_live_slot(s, "production", "us-east", &slot,
				      &err) == 0);
	ck_assert_str_eq(slot, "blue");
	free(slot);
	ck_assert(phg_store_set_live_slot(s, "production", "us-east", "green",
					  &err) == 0);
	ck_assert(phg_store_live_slot(s, "production", "us-east", &slot,
				      &err) == 0);
	ck_assert_str_eq(slot, "green");
	free(slot);
	/* Other regions and environments are apart. */
	ck_assert(phg_store_live_slot(s, "production", "eu-west", &slot,
				      &err) == 0);
	ck_assert_str_eq(slot, "blue");
	free(slot);
	ck_assert(phg_store_live_slot(s, "staging", "us-east", &slot, &err) ==
		  0);
	ck_assert_str_eq(slot, "blue");
	free(slot);
	ck_assert(phg_store_set_live_slot(s, "production", "us-east", "blue",
					  &err) == 0);
	ck_assert(phg_store_live_slot(s, "production", "us-east", &slot,
				      &err) == 0);
	ck_assert_str_eq(slot, "blue");
	free(slot);
	ck_assert_int_eq(phg_store_set_live_slot(s, "production", "us-east",
						 "teal", &err),
			 PHG_EINPUT);
	phg_store_close(s);
	free(loc);
}
END_TEST

START_TEST(lease_acquire_refuse_renew_release_takeover)
{
	struct phg_err err = {0};
	struct phg_store_lease_info li;
	char *loc, *taken = (char *)"x";
	struct phg_store *s = open_fresh(&loc);
	bool found = true;

	ck_assert(phg_store_lease_get(s, "prod", &li, &found, &err) == 0);
	ck_assert(!found);
	ck_assert_msg(phg_store_lease_acquire(s, "prod", "host-a:1:aa", 60000,
					      &taken, &err) == 0,
		      "%s", err.msg);
	ck_assert_ptr_null(taken);
	/* The same holder again: fine, nothing taken. */
	ck_assert(phg_store_lease_acquire(s, "prod", "host-a:1:aa", 60000,
					  &taken, &err) == 0);
	ck_assert_ptr_null(taken);
	/* Another holder: refused, naming the live one. */
	ck_assert_int_eq(phg_store_lease_acquire(s, "prod", "host-b:2:bb",
						 60000, &taken, &err),
			 PHG_ERUNTIME);
	ck_assert_ptr_null(taken);
	ck_assert_msg(strstr(err.msg, "held by 'host-a:1:aa' since 20") != NULL,
		      "%s", err.msg);
	err = (struct phg_err){0};
	/* Another environment is a different lease. */
	ck_assert(phg_store_lease_acquire(s, "staging", "host-b:2:bb", 60000,
					  NULL, &err) == 0);
	ck_assert(phg_store_lease_renew(s, "prod", "host-a:1:aa", &err) == 0);
	ck_assert_int_eq(phg_store_lease_renew(s, "prod", "host-b:2:bb", &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "'host-a:1:aa'") != NULL, "%s", err.msg);
	err = (struct phg_err){0};
	ck_assert(phg_store_lease_get(s, "prod", &li, &found, &err) == 0);
	ck_assert(found);
	ck_assert_str_eq(li.holder, "host-a:1:aa");
	ck_assert(sc_is_iso_ms(li.acquired_at));
	ck_assert(sc_is_iso_ms(li.renewed_at));
	ck_assert_msg(li.age_ms >= 0 && li.age_ms < 30000, "age %lld",
		      li.age_ms);
	phg_store_lease_info_release(&li);
	/* Releasing someone else's lease changes nothing. */
	ck_assert(phg_store_lease_release(s, "prod", "host-b:2:bb", &err) == 0);
	ck_assert_int_eq(phg_store_lease_acquire(s, "prod", "host-b:2:bb",
						 60000, &taken, &err),
			 PHG_ERUNTIME);
	err = (struct phg_err){0};
	ck_assert(phg_store_lease_release(s, "prod", "host-a:1:aa", &err) == 0);
	ck_assert(phg_store_lease_get(s, "prod", &li, &found, &err) == 0);
	ck_assert(!found);
	ck_assert(phg_store_lease_acquire(s, "prod", "host-b:2:bb", 60000,
					  &taken, &err) == 0);
	ck_assert_ptr_null(taken); /* released, not taken over */

	/* Stale: host-b stops renewing; after its 200 ms ttl, host-a takes
	   it over, learns from whom, and host-b's renewal fails. */
	sleep_ms(400);
	ck_assert_msg(phg_store_lease_acquire(s, "prod", "host-a:1:aa", 200,
					      &taken, &err) == 0,
		      "%s", err.msg);
	ck_assert_ptr_nonnull(taken);
	ck_assert_str_eq(taken, "host-b:2:bb");
	free(taken);
	ck_assert_int_eq(phg_store_lease_renew(s, "prod", "host-b:2:bb", &err),
			 PHG_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "taken over by 'host-a:1:aa'") != NULL,
		      "%s", err.msg);
	err = (struct phg_err){0};
	ck_assert_int_eq(
		phg_store_lease_acquire(s, "prod", "host-c", 0, NULL, &err),
		PHG_ECONFIG);
	phg_store_close(s);
	free(loc);
}
END_TEST

START_TEST(newer_schema_version_refused)
{
	struct phg_err err = {0};
	char *loc;
	struct phg_store *s = open_fresh(&loc);

	phg_store_close(s);
	/* Opening again leaves the version alone. */
	s = reopen(loc);
	phg_store_close(s);
	sc_backend->set_version(loc, PHG_STORE_SCHEMA_VERSION + 1);
	s = NULL;
	ck_assert_int_eq(phg_store_open(loc, &s, &err), PHG_ERUNTIME);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err.msg, "schema version 2, newer than") != NULL,
		      "%s", err.msg);
	sc_backend->set_version(loc, PHG_STORE_SCHEMA_VERSION);
	s = reopen(loc);
	phg_store_close(s);
	free(loc);
}
END_TEST

/* Exit codes of a racing child. */
enum { RACE_WON = 0, RACE_REFUSED = 1, RACE_BAD_REFUSAL = 2, RACE_ERROR = 3 };

static void race_child(const char *loc, const char *me, const char *other,
		       int ready_fd, int go_fd)
{
	struct phg_store *s = NULL;
	struct phg_err err = {0};
	char c = 'r';
	int rc;

	if (phg_store_open(loc, &s, &err) < 0) {
		fprintf(stderr, "race %s: open: %s\n", me, err.msg);
		_exit(RACE_ERROR);
	}
	if (write(ready_fd, &c, 1) != 1)
		_exit(RACE_ERROR);
	/* Both children block here until the parent closes the pipe. */
	while (read(go_fd, &c, 1) < 0 && errno == EINTR)
		;
	rc = phg_store_lease_acquire(s, "race", me, 60000, NULL, &err);
	phg_store_close(s);
	if (rc == 0)
		_exit(RACE_WON);
	if (rc == PHG_ERUNTIME && strstr(err.msg, other))
		_exit(RACE_REFUSED);
	fprintf(stderr, "race %s: %s\n", me, err.msg);
	_exit(rc == PHG_ERUNTIME ? RACE_BAD_REFUSAL : RACE_ERROR);
}

START_TEST(two_processes_race_for_the_lease)
{
	char *loc = sc_backend->fresh();
	int wins[2] = {0, 0};

	for (int round = 0; round < 20; round++) {
		char holder[2][64];
		int ready[2], go[2], code[2];
		pid_t pid[2];
		struct phg_store *s;
		struct phg_err err = {0};

		snprintf(holder[0], sizeof(holder[0]), "racer-a:%d", round);
		snprintf(holder[1], sizeof(holder[1]), "racer-b:%d", round);
		ck_assert(pipe(ready) == 0 && pipe(go) == 0);
		for (int i = 0; i < 2; i++) {
			pid[i] = fork();
			ck_assert_int_ge(pid[i], 0);
			if (pid[i] == 0) {
				close(ready[0]);
				close(go[1]);
				race_child(loc, holder[i], holder[1 - i],
					   ready[1], go[0]);
			}
		}
		close(ready[1]);
		close(go[0]);
		/* Both opened (the first round opens a fresh ledger at
		   once), then both acquire at once. */
		for (int got = 0; got < 2;) {
			struct pollfd pfd = {ready[0], POLLIN, 0};
			char c;

			ck_assert_msg(poll(&pfd, 1, 30000) == 1,
				      "racers not ready within 30 s");
			if (read(ready[0], &c, 1) != 1)
				break;
			got++;
		}
		close(go[1]);
		close(ready[0]);
		for (int i = 0; i < 2; i++) {
			int st = wait_child(pid[i], 30000);

			ck_assert_msg(WIFEXITED(st), "racer killed by %d",
				      WTERMSIG(st));
			code[i] = WEXITSTATUS(st);
		}
		ck_assert_msg(
			(code[0] == RACE_WON && code[1] == RACE_REFUSED) ||
				(code[0] == RACE_REFUSED &&
				 code[1] == RACE_WON),
			"round %d: exit codes %d and %d (0 won, 1 "
			"refused naming the winner)",
			round, code[0], code[1]);
		wins[code[0] == RACE_WON ? 0 : 1]++;
		s = reopen(loc);
		ck_assert(phg_store_lease_release(
				  s, "race",
				  holder[code[0] == RACE_WON ? 0 : 1],
				  &err) == 0);
		phg_store_close(s);
	}
	printf("%s: lease race, 20 rounds: a won %d, b won %d\n",
	       sc_backend->name, wins[0], wins[1]);
	fflush(stdout);
	free(loc);
}
END_TEST

START_TEST(committed_write_survives_sigkill)
{
	struct phg_err err = {0};
	struct phg_store_release r;
	struct phg_store_step *st = NULL;
	struct phg_store_event *ev = NULL;
	char *loc = sc_backend->fresh(), *slot = NULL;
	struct phg_store *s;
	bool found = false;
	size_t n = 0;
	pid_t pid;
	int status;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		long long id = 0, step = 0;

		if (phg_store_open(loc, &s, &err) < 0)
			_exit(3);
		{
			struct phg_store_release in = {.environment = "prod",
						       .tag = "v-killed",
						       .target_slot = "green"};

			if (phg_store_release_create(s, &in, &id, &err) < 0)
				_exit(3);
		}
		if (phg_store_step_begin(s, id, "us-east", "deploy", 3, &step,
					 &err) < 0 ||
		    phg_store_set_live_slot(s, "prod", "us-east", "green",
					    &err) < 0 ||
		    phg_store_event_add(s, id, "us-east", "deploy",
					"green deployed", &err) < 0)
			_exit(3);
		/* Killed right after the last committed write: no close, no
		   exit handlers. */
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	status = wait_child(pid, 30000);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "child did not die by SIGKILL (exit %d)",
		      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	s = reopen(loc);
	ck_assert(phg_store_release_get(s, "prod", "v-killed", &r, &found,
					&err) == 0);
	ck_assert(found);
	ck_assert_int_eq(r.state, PHG_REL_RUNNING);
	ck_assert(phg_store_step_list(s, r.id, &st, &n, &err) == 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(st[0].name, "deploy");
	ck_assert_int_eq(st[0].state, PHG_STEP_RUNNING);
	phg_store_step_free_array(st, n);
	ck_assert(phg_store_event_list(s, r.id, &ev, &n, &err) == 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ev[0].detail, "green deployed");
	phg_store_event_free_array(ev, n);
	ck_assert(phg_store_live_slot(s, "prod", "us-east", &slot, &err) == 0);
	ck_assert_str_eq(slot, "green");
	free(slot);
	phg_store_release_release(&r);
	phg_store_close(s);
	free(loc);
}
END_TEST

void sc_add_cases(TCase *tc)
{
	tcase_add_test(tc, releases_round_trip);
	tcase_add_test(tc, state_names_round_trip);
	tcase_add_test(tc, steps_in_order_with_start_and_end);
	tcase_add_test(tc, readings_weights_events);
	tcase_add_test(tc, live_slot_per_region_defaults_to_blue);
	tcase_add_test(tc, lease_acquire_refuse_renew_release_takeover);
	tcase_add_test(tc, newer_schema_version_refused);
	tcase_add_test(tc, two_processes_race_for_the_lease);
	tcase_add_test(tc, committed_write_survives_sigkill);
}
