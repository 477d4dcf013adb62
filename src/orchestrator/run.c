/*
 * run.c: the release as a sequence of recorded steps. The plan is the
 * same list every time it is computed from the config (preflight, then
 * per region: soak, migrate, deploy, smoke, traffic steps, done; then the
 * contract steps when they run after the cutover), so a resume walks it
 * again and skips what the ledger shows done. Also the dry run (the plan,
 * nothing touched), `release abort` and `rollback TAG`.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int phg_orch_open_store(const struct phg_config *cfg, bool must_exist,
			struct phg_store **s, struct phg_err *err)
{
	char *loc = NULL;
	struct stat st;
	int rc = phg_config_state_location(cfg, &loc, err);

	*s = NULL;
	if (rc == 0)
		rc = phg_store_check_location(loc, err);
	if (rc < 0) {
		free(loc);
		return rc;
	}
	if (must_exist && !phg_store_is_postgres(loc) && stat(loc, &st) < 0) {
		free(loc);
		return 0;
	}
	rc = phg_store_open(loc, s, err);
	free(loc);
	return rc;
}

int or_plan(struct orch *r)
{
	const struct phg_config *cfg = r->cfg;
	size_t cap = 2 + cfg->nregions * (5 + r->rs->nsteps) + cfg->nregions,
	       n = 0;
	struct or_step *p = phg_xcalloc(cap, sizeof(*p));

	if (!p)
		return phg_err_set(r->err, PHG_ENOMEM, "out of memory");
	p[n].kind = OR_PREFLIGHT;
	snprintf(p[n++].name, sizeof(p->name), "preflight");
	for (size_t i = 0; i < cfg->nregions; i++) {
		const struct phg_region *reg = &cfg->regions[i];

		if (i > 0 && reg->soak_ms > 0) {
			p[n] = (struct or_step){.kind = OR_SOAK, .reg = reg};
			snprintf(p[n++].name, sizeof(p->name), "soak");
		}
		p[n] = (struct or_step){.kind = OR_MIGRATE, .reg = reg};
		snprintf(p[n++].name, sizeof(p->name), "migrate");
		p[n] = (struct or_step){.kind = OR_DEPLOY, .reg = reg};
		snprintf(p[n++].name, sizeof(p->name), "deploy");
		p[n] = (struct or_step){.kind = OR_SMOKE, .reg = reg};
		snprintf(p[n++].name, sizeof(p->name), "smoke");
		for (size_t k = 0; k < r->rs->nsteps; k++) {
			p[n] = (struct or_step){.kind = OR_TRAFFIC,
						.reg = reg,
						.weight = r->rs->steps[k]};
			snprintf(p[n++].name, sizeof(p->name), "traffic-%d",
				 r->rs->steps[k]);
		}
		p[n] = (struct or_step){.kind = OR_DONE, .reg = reg};
		snprintf(p[n++].name, sizeof(p->name), "done");
	}
	if (cfg->contract == PHG_CONTRACT_AFTER_CUTOVER)
		for (size_t i = 0; i < cfg->nregions; i++) {
			p[n] = (struct or_step){.kind = OR_CONTRACT,
						.reg = &cfg->regions[i]};
			snprintf(p[n++].name, sizeof(p->name), "contract");
		}
	r->plan = p;
	r->nplan = n;
	return 0;
}

/* Whether the ledger shows step s done (or skipped) already. */
static bool done_before(const struct phg_store_step *steps, size_t n,
			const struct or_step *s)
{
	const char *region = s->reg ? s->reg->name : "";
	const struct phg_store_step *last = NULL;

	for (size_t i = 0; i < n; i++)
		if (phg_streq(steps[i].name, s->name) &&
		    phg_streq(steps[i].region ? steps[i].region : "", region))
			last = &steps[i];
	return last && (last->state == PHG_STEP_DONE ||
			last->state == PHG_STEP_SKIPPED);
}

static void set_why(char *why, size_t size, const char *text)
{
	if (size)
		snprintf(why, size, "%s", text);
}

/* Ends the release with a region rollback (or abort) for reason. */
static int roll_back(struct orch *r, const struct phg_region *reg,
		     enum phg_release_state state, const char *reason)
{
	char text[1200];
	int rc = or_rollback_region(r, reg, reason, r->err);

	if (rc < 0)
		return rc;
	rc = phg_store_release_finish(r->st, r->rel_id, state, reason, r->err);
	snprintf(text, sizeof(text), "release %s %s in %s: %s", r->o->tag,
		 state == PHG_REL_ABORTED ? "aborted" : "rolled back",
		 reg->name, reason);
	or_say(r, "%s", text);
	or_notify(r, "rollback", text);
	return rc;
}

/* Walks the plan from the ledger's state; sets *outcome. */
static int walk(struct orch *r, enum phg_orch_outcome *outcome, char *why,
		size_t why_size)
{
	struct phg_store_step *steps = NULL;
	size_t nsteps = 0;
	const struct phg_region *cur = NULL;
	int rc = phg_store_step_list(r->st, r->rel_id, &steps, &nsteps, r->err);

	for (size_t i = 0; rc == 0 && i < r->nplan; i++) {
		const struct or_step *s = &r->plan[i];
		enum or_result res;
		long long sid = 0;

		if (s->reg != cur && s->reg && s->kind != OR_CONTRACT) {
			cur = s->reg;
			if (!done_before(steps, nsteps, s))
				or_say(r, "== region %s", cur->name);
		}
		if (done_before(steps, nsteps, s))
			continue;
		rc = or_tick(r, r->err);
		if (rc > 0) {
			if (s->reg && s->kind != OR_CONTRACT &&
			    s->kind != OR_SOAK) {
				rc = roll_back(r, s->reg, PHG_REL_ABORTED,
					       "aborted");
			} else {
				rc = phg_store_release_finish(
					r->st, r->rel_id, PHG_REL_ABORTED,
					"aborted", r->err);
			}
			*outcome = PHG_ORCH_ABORTED;
			set_why(why, why_size, "aborted");
			goto out;
		}
		if (rc < 0)
			goto out;
		or_say(r, "-- %s%s%s", s->name, s->reg ? " " : "",
		       s->reg ? s->reg->name : "");
		rc = phg_store_step_begin(r->st, r->rel_id,
					  s->reg ? s->reg->name : "", s->name,
					  (int)i, &sid, r->err);
		if (rc < 0)
			goto out;
		res = or_act(r, s, sid);
		/* A driver whose lease was taken over records nothing more:
		   the new holder owns the release now. */
		rc = or_guard(r, r->err);
		if (rc < 0)
			goto out;
		switch (res) {
		case OR_OK:
		case OR_SKIPPED:
			rc = phg_store_step_end(r->st, sid,
						res == OR_OK ? PHG_STEP_DONE
							     : PHG_STEP_SKIPPED,
						r->detail, r->err);
			if (r->detail[0])
				or_say(r, "   %s: %s", s->name, r->detail);
			break;
		case OR_ROLLBACK:
		case OR_ABORT: {
			char reason[1100];
			bool ab = res == OR_ABORT;

			snprintf(reason, sizeof(reason), "%s %s: %s", s->name,
				 s->reg->name, r->why);
			/* A contract or soak step has nothing to roll back
			   in its own region: the release stops. */
			if (s->kind == OR_CONTRACT || s->kind == OR_SOAK) {
				rc = phg_store_step_end(r->st, sid,
							PHG_STEP_FAILED, r->why,
							r->err);
				if (rc == 0)
					rc = phg_store_release_finish(
						r->st, r->rel_id,
						ab ? PHG_REL_ABORTED
						   : PHG_REL_FAILED,
						reason, r->err);
				*outcome = ab ? PHG_ORCH_ABORTED
					      : PHG_ORCH_REFUSED;
				set_why(why, why_size, reason);
				goto out;
			}
			rc = roll_back(r, s->reg,
				       ab ? PHG_REL_ABORTED
					  : PHG_REL_ROLLED_BACK,
				       reason);
			if (rc == 0)
				rc = phg_store_step_end(r->st, sid,
							PHG_STEP_ROLLED_BACK,
							r->why, r->err);
			*outcome = ab ? PHG_ORCH_ABORTED : PHG_ORCH_ROLLED_BACK;
			set_why(why, why_size, reason);
			goto out;
		}
		case OR_FAIL: {
			char reason[1100];

			snprintf(reason, sizeof(reason), "%s %s: %s", s->name,
				 s->reg ? s->reg->name : "", r->why);
			rc = phg_store_step_end(r->st, sid, PHG_STEP_FAILED,
						r->why, r->err);
			if (rc == 0)
				rc = phg_store_release_finish(r->st, r->rel_id,
							      PHG_REL_FAILED,
							      reason, r->err);
			or_notify(r, "finish", reason);
			*outcome = PHG_ORCH_REFUSED;
			set_why(why, why_size, reason);
			goto out;
		}
		case OR_HALT: {
			struct phg_err e = {0};

			/* Recorded; the release stays running so that
			   `release resume` continues from here. */
			phg_store_step_end(
				r->st, sid, PHG_STEP_FAILED,
				r->err->msg[0] ? r->err->msg : r->why, &e);
			phg_store_event_add(
				r->st, r->rel_id, s->reg ? s->reg->name : NULL,
				"halt", r->err->msg[0] ? r->err->msg : r->why,
				&e);
			if (!r->err->code)
				phg_err_set(r->err, PHG_ERUNTIME, "%s", r->why);
			rc = r->err->code;
			goto out;
		}
		}
	}
	if (rc == 0) {
		char text[256];

		rc = phg_store_release_finish(r->st, r->rel_id,
					      PHG_REL_SUCCEEDED, NULL, r->err);
		snprintf(text, sizeof(text),
			 "release %s finished in every region", r->o->tag);
		or_say(r, "%s", text);
		or_notify(r, "finish", text);
		*outcome = PHG_ORCH_DONE;
	}
out:
	phg_store_step_free_array(steps, nsteps);
	return rc;
}

/* Progress of the preflight's dry-run migrate: pending names. */
struct pending {
	struct orch *r;
	const char *primary;
	struct phg_buf names;
	bool print;
};

static void collect(const struct phg_progress *p, void *ctx)
{
	struct pending *pd = ctx;

	if (p->event != PHG_EV_DRY_RUN)
		return;
	if (pd->print)
		or_say(pd->r, "  %-10s would apply %s (%s)", p->region, p->name,
		       p->detail);
	if (!phg_streq(p->region, pd->primary))
		return;
	if (pd->names.len)
		phg_buf_puts(&pd->names, ",");
	phg_buf_puts(&pd->names, p->name);
}

/*
 * The checks before a release starts: the lint gate on what is pending,
 * checksum drift, every database reachable (a dry-run migrate of every
 * region). Returns 0 with *refused and why set, or <0 (unreachable).
 */
static int check_migrations(struct orch *r, struct pending *pd, bool *refused,
			    char *why, size_t why_size)
{
	struct phg_runner_opts ro = {0};
	struct phg_runner_result res;
	struct phg_err e = {0};
	int rc;

	*refused = false;
	ro.cfg = r->cfg;
	ro.all_regions = true;
	ro.dry_run = true;
	ro.release = r->o->tag;
	ro.progress = collect;
	ro.progress_ctx = pd;
	rc = phg_runner_migrate(&ro, &res, &e);
	if (rc == 0 && res.refused) {
		const struct phg_finding *f = NULL;

		for (size_t i = 0; i < res.gate.findings.n && !f; i++)
			if (res.gate.findings.items[i].severity ==
				    PHG_SEV_ERROR &&
			    !res.gate.findings.items[i].suppressed)
				f = &res.gate.findings.items[i];
		*refused = true;
		if (f)
			snprintf(why, why_size,
				 "the lint gate refuses the release: %s:%d:%d: "
				 "%s [%s] (%zu error%s: run 'phasegate lint')",
				 f->file, f->line, f->col, f->message, f->rule,
				 res.gate.errors,
				 res.gate.errors == 1 ? "" : "s");
		else
			snprintf(why, why_size,
				 "the lint gate refuses the release (run "
				 "'phasegate lint')");
	} else if (rc < 0 && res.refused) {
		*refused = true;
		snprintf(why, why_size, "%s", e.msg);
		rc = 0;
	} else if (rc < 0) {
		phg_err_set(r->err, rc, "%s", e.msg);
	}
	phg_runner_result_release(&res);
	return rc;
}

static void print_plan(struct orch *r)
{
	const struct phg_release_settings *rs = r->rs;
	const struct phg_region *cur = NULL;

	for (size_t i = 1; i < r->nplan; i++) {
		const struct or_step *s = &r->plan[i];
		const struct phg_step_action *a =
			s->kind == OR_DEPLOY ? &rs->deploy : &rs->smoke;
		struct phg_template_vars v = {.region = s->reg->name,
					      .slot = "{slot}",
					      .release = r->o->tag,
					      .step = "{step}",
					      .weight = s->weight,
					      .reg = s->reg};
		struct phg_err e = {0};
		char *t = NULL;

		if (s->reg != cur && s->kind != OR_CONTRACT) {
			cur = s->reg;
			or_say(r, "region %s%s", cur->name,
			       cur->primary ? " (primary)" : "");
		}
		switch (s->kind) {
		case OR_PREFLIGHT:
			break;
		case OR_SOAK:
			or_say(r, "  %2zu soak       %lld ms", i,
			       s->reg->soak_ms);
			break;
		case OR_MIGRATE:
			or_say(r, "  %2zu migrate    %s", i,
			       r->cfg->contract == PHG_CONTRACT_AFTER_CUTOVER
				       ? "expand and backfill migrations"
				       : "expand, backfill and contract "
					 "migrations");
			break;
		case OR_CONTRACT:
			or_say(r,
			       "  %2zu contract   %s: contract migrations "
			       "(after the last cutover)",
			       i, s->reg->name);
			break;
		case OR_DEPLOY:
		case OR_SMOKE:
			if (a->kind == PHG_ACTION_NONE) {
				or_say(r, "  %2zu %-10s nothing configured", i,
				       s->name);
				break;
			}
			if (a->kind == PHG_ACTION_COMMAND) {
				struct phg_buf b = {0};

				for (size_t k = 0; k < a->argc; k++) {
					if (phg_template_render(a->argv[k].text,
								&v, false, &t,
								&e) == 0) {
						phg_buf_puts(&b, k ? " " : "");
						phg_buf_puts(&b, t);
					}
					free(t);
					t = NULL;
				}
				or_say(r,
				       "  %2zu %-10s command: %s (timeout %lld "
				       "ms)",
				       i, s->name, b.data ? b.data : "",
				       a->timeout_ms);
				phg_buf_release(&b);
				break;
			}
			phg_template_render(a->url.text, &v, false, &t, &e);
			or_say(r,
			       "  %2zu %-10s %s %s, expect %ld (timeout %lld "
			       "ms, %d retries)",
			       i, s->name,
			       a->method.text ? a->method.text : "GET",
			       t ? t : "", a->expect_status, a->timeout_ms,
			       a->retries);
			free(t);
			break;
		case OR_TRAFFIC:
			or_say(r,
			       "  %2zu %-10s new slot %d%%%s, hold %lld ms%s",
			       i, s->name, s->weight,
			       rs->have_unleash &&
					       rs->unleash.rollout ==
						       PHG_ROLLOUT_WITH_TRAFFIC
				       ? ", feature flags' rollout too"
				       : "",
			       rs->hold_ms,
			       phg_analysis_enabled(rs)
				       ? ", analysis every interval"
				       : ", no analysis (no prometheus "
					 "queries)");
			break;
		case OR_DONE:
			or_say(r, "  %2zu done       live slot swapped%s", i,
			       rs->have_unleash ? ", feature flags on" : "");
			break;
		}
	}
}

/* The new release's checks and record; *go false when refused. */
static int start_new(struct orch *r, enum phg_orch_outcome *outcome, char *why,
		     size_t why_size, bool *go)
{
	const struct phg_orch_opts *o = r->o;
	struct phg_store_release rel = {0}, prev = {0};
	struct pending pd = {.r = r, .primary = r->cfg->regions[0].name};
	char wwhy[512], detail[2048];
	bool open = true, found = false, refused = false;
	long long sid = 0;
	int rc;

	*go = false;
	rc = phg_store_release_get(r->st, r->cfg->environment, o->tag, &rel,
				   &found, r->err);
	if (rc < 0)
		return rc;
	if (found) {
		snprintf(
			why, why_size,
			rel.state == PHG_REL_RUNNING
				? "release '%s' is running already: use "
				  "'phasegate release resume %s'"
				: "release '%s' exists already (%s): tag a new "
				  "release",
			o->tag,
			rel.state == PHG_REL_RUNNING
				? o->tag
				: phg_release_state_name(rel.state));
		phg_store_release_release(&rel);
		*outcome = PHG_ORCH_REFUSED;
		return 0;
	}
	rc = phg_store_release_latest(r->st, r->cfg->environment, &prev, &found,
				      r->err);
	if (rc < 0)
		return rc;
	if (found && prev.state == PHG_REL_RUNNING) {
		snprintf(why, why_size,
			 "release '%s' is still running in environment '%s': "
			 "resume it, abort it or roll it back first",
			 prev.tag, r->cfg->environment);
		phg_store_release_release(&prev);
		*outcome = PHG_ORCH_REFUSED;
		return 0;
	}
	phg_store_release_release(&prev);
	rc = phg_window_check(&r->rs->window, or_wall(r), &open, wwhy,
			      sizeof(wwhy), r->err);
	if (rc < 0)
		return rc;
	or_say(r, "window: %s", wwhy);
	if (!open && !o->emergency) {
		snprintf(why, why_size,
			 "outside the deployment window (%s): an emergency "
			 "release needs --emergency --approved-by NAME",
			 wwhy);
		*outcome = PHG_ORCH_REFUSED;
		return 0;
	}
	rc = check_migrations(r, &pd, &refused, why, why_size);
	if (rc < 0 || refused) {
		phg_buf_release(&pd.names);
		if (refused)
			*outcome = PHG_ORCH_REFUSED;
		return rc;
	}
	rel.environment = (char *)r->cfg->environment;
	rel.tag = (char *)o->tag;
	rel.state = PHG_REL_RUNNING;
	rel.target_slot = "green";
	rel.approved_by = o->emergency ? (char *)o->approved_by : NULL;
	rel.migrations = pd.names.data ? pd.names.data : "";
	{
		char *live = NULL;

		rc = phg_store_live_slot(r->st, r->cfg->environment,
					 r->cfg->regions[0].name, &live,
					 r->err);
		if (rc == 0)
			rel.target_slot =
				(char *)or_other(live ? live : "blue");
		free(live);
	}
	if (rc == 0)
		rc = phg_store_release_create(r->st, &rel, &r->rel_id, r->err);
	if (rc < 0) {
		phg_buf_release(&pd.names);
		return rc;
	}
	snprintf(detail, sizeof(detail),
		 "window %s; lint gate passed; no checksum drift; pending: %s",
		 wwhy, pd.names.len ? pd.names.data : "none");
	phg_buf_release(&pd.names);
	rc = phg_store_step_begin(r->st, r->rel_id, "", "preflight", 0, &sid,
				  r->err);
	if (rc == 0 && o->emergency) {
		char a[700];

		snprintf(a, sizeof(a), "emergency release approved by %s (%s)",
			 o->approved_by, wwhy);
		or_say(r, "%s", a);
		rc = phg_store_event_add(r->st, r->rel_id, NULL, "approval", a,
					 r->err);
	}
	if (rc == 0)
		rc = phg_store_step_end(r->st, sid, PHG_STEP_DONE, detail,
					r->err);
	if (rc == 0) {
		char text[256];

		snprintf(text, sizeof(text),
			 "release %s started (environment %s)", o->tag,
			 r->cfg->environment);
		rc = phg_store_event_add(r->st, r->rel_id, NULL, "start", text,
					 r->err);
		or_notify(r, "start", text);
	}
	*go = rc == 0;
	return rc;
}

static int setup(struct orch *r, const struct phg_orch_opts *o,
		 struct phg_err *err)
{
	memset(r, 0, sizeof(*r));
	r->o = o;
	r->cfg = o->cfg;
	r->rs = &o->cfg->release;
	r->err = err;
	if (o->cfg->nregions == 0)
		return phg_err_set(err, PHG_EUSAGE,
				   "no regions in the config: add a 'regions:' "
				   "list (see docs/release.md)");
	return or_plan(r);
}

static void teardown(struct orch *r)
{
	or_unlease(r);
	phg_store_close(r->st);
	free(r->plan);
}

static int dry_run(struct orch *r)
{
	struct pending pd = {
		.r = r, .primary = r->cfg->regions[0].name, .print = true};
	char wwhy[512];
	bool open = true, refused = false;
	int rc;

	or_say(r, "release %s (environment %s): dry run, nothing is touched",
	       r->o->tag, r->cfg->environment);
	rc = phg_window_check(&r->rs->window, or_wall(r), &open, wwhy,
			      sizeof(wwhy), r->err);
	if (rc < 0)
		return rc;
	or_say(r, "window: %s%s", wwhy,
	       open		 ? ""
	       : r->o->emergency ? " (emergency approval given)"
				 : " (release would be refused)");
	or_say(r, "migrations pending:");
	rc = check_migrations(r, &pd, &refused, r->why, sizeof(r->why));
	phg_buf_release(&pd.names);
	/* An unreachable region still gets its plan printed; the error is
	   the dry run's result. */
	if (rc < 0)
		or_say(r, "lint gate and checksums: not checked: %s",
		       r->err->msg);
	else
		or_say(r, "lint gate and checksums: %s",
		       refused ? r->why : "pass");
	or_say(r, "contract migrations: %s",
	       r->cfg->contract == PHG_CONTRACT_AFTER_CUTOVER
		       ? "after the last region's cutover"
		       : "before the deploy, in each region");
	or_say(r, "plan ({slot} is the slot not live in the region):");
	print_plan(r);
	return rc;
}

int phg_release_run(const struct phg_orch_opts *o, bool resume,
		    enum phg_orch_outcome *outcome, char *why, size_t why_size,
		    struct phg_err *err)
{
	struct orch r;
	bool go = false;
	int rc = setup(&r, o, err);

	*outcome = PHG_ORCH_REFUSED;
	if (why_size)
		why[0] = '\0';
	if (rc == 0 && o->dry_run) {
		rc = dry_run(&r);
		*outcome = PHG_ORCH_DONE;
		teardown(&r);
		return rc;
	}
	if (rc == 0)
		rc = phg_orch_open_store(o->cfg, false, &r.st, err);
	if (rc == 0)
		rc = or_lease(&r);
	if (rc == 0 && !resume) {
		rc = start_new(&r, outcome, why, why_size, &go);
	} else if (rc == 0) {
		struct phg_store_release rel = {0};
		bool found = false;

		rc = phg_store_release_get(r.st, o->cfg->environment, o->tag,
					   &rel, &found, err);
		if (rc == 0 && !found)
			rc = phg_err_set(err, PHG_EUSAGE,
					 "no release '%s' in environment '%s'",
					 o->tag, o->cfg->environment);
		else if (rc == 0 && rel.state != PHG_REL_RUNNING)
			snprintf(why, why_size,
				 "release '%s' is %s: nothing to resume",
				 o->tag, phg_release_state_name(rel.state));
		else if (rc == 0) {
			r.rel_id = rel.id;
			go = true;
			or_say(&r, "resuming release %s", o->tag);
			phg_store_event_add(r.st, r.rel_id, NULL, "resume",
					    r.holder, err);
		}
		phg_store_release_release(&rel);
	}
	if (rc == 0 && go)
		rc = walk(&r, outcome, why, why_size);
	teardown(&r);
	return rc;
}

/* The region the release is in: steps begun, not done. */
static const struct phg_region *
current_region(struct orch *r, const struct phg_store_step *st, size_t n)
{
	for (size_t i = 0; i < r->nplan; i++) {
		const struct or_step *s = &r->plan[i];
		bool begun = false;

		if (s->kind != OR_DONE)
			continue;
		if (done_before(st, n, s))
			continue;
		for (size_t k = 0; k < n; k++)
			if (phg_streq(st[k].region, s->reg->name))
				begun = true;
		return begun ? s->reg : NULL;
	}
	return NULL;
}

int phg_release_abort(const struct phg_orch_opts *o, struct phg_err *err)
{
	struct orch r;
	struct phg_store_release rel = {0};
	struct phg_store_step *steps = NULL;
	size_t n = 0;
	bool found = false;
	int rc = setup(&r, o, err);

	if (rc == 0)
		rc = phg_orch_open_store(o->cfg, false, &r.st, err);
	if (rc == 0)
		rc = phg_store_release_get(r.st, o->cfg->environment, o->tag,
					   &rel, &found, err);
	if (rc == 0 && !found)
		rc = phg_err_set(err, PHG_EUSAGE,
				 "no release '%s' in environment '%s'", o->tag,
				 o->cfg->environment);
	if (rc == 0 && rel.state != PHG_REL_RUNNING)
		rc = phg_err_set(err, PHG_EINPUT,
				 "release '%s' is %s: nothing to abort", o->tag,
				 phg_release_state_name(rel.state));
	if (rc < 0)
		goto out;
	r.rel_id = rel.id;
	{
		if (or_lease(&r) < 0) {
			/* A live driver: ask it, then wait for it. */
			long long until = or_now(&r) + 2 * r.rs->lease_ttl_ms;
			char held[sizeof(err->msg)];

			snprintf(held, sizeof(held), "%s", err->msg);
			memset(err, 0, sizeof(*err));
			rc = phg_store_event_add(r.st, r.rel_id, NULL, "abort",
						 "requested", err);
			or_say(&r,
			       "asked the process driving the release to "
			       "abort (%s)",
			       held);
			while (rc == 0 && or_now(&r) < until) {
				struct phg_store_release now = {0};

				rc = phg_store_release_get(
					r.st, o->cfg->environment, o->tag, &now,
					&found, err);
				if (rc == 0 && now.state != PHG_REL_RUNNING) {
					or_say(&r, "release %s is %s", o->tag,
					       phg_release_state_name(
						       now.state));
					phg_store_release_release(&now);
					goto out;
				}
				phg_store_release_release(&now);
				or_sleep(&r, 500);
			}
			if (rc == 0)
				rc = phg_err_set(err, PHG_ERUNTIME,
						 "the release's driver did not "
						 "stop within %lld ms",
						 2 * r.rs->lease_ttl_ms);
			goto out;
		}
	}
	rc = phg_store_step_list(r.st, r.rel_id, &steps, &n, err);
	if (rc == 0) {
		const struct phg_region *reg = current_region(&r, steps, n);

		if (reg)
			rc = roll_back(&r, reg, PHG_REL_ABORTED,
				       "aborted by 'release abort'");
		else
			rc = phg_store_release_finish(r.st, r.rel_id,
						      PHG_REL_ABORTED,
						      "aborted", err);
	}
out:
	phg_store_step_free_array(steps, n);
	phg_store_release_release(&rel);
	teardown(&r);
	return rc;
}

int phg_release_rollback(const struct phg_orch_opts *o, struct phg_err *err)
{
	struct orch r;
	struct phg_store_release rel = {0}, latest = {0};
	bool found = false, lfound = false;
	size_t returned = 0;
	int rc = setup(&r, o, err);

	if (rc == 0)
		rc = phg_orch_open_store(o->cfg, false, &r.st, err);
	if (rc == 0)
		rc = or_lease(&r);
	if (rc == 0)
		rc = phg_store_release_get(r.st, o->cfg->environment, o->tag,
					   &rel, &found, err);
	if (rc == 0 && !found)
		rc = phg_err_set(err, PHG_EUSAGE,
				 "no release '%s' in environment '%s'", o->tag,
				 o->cfg->environment);
	if (rc == 0)
		rc = phg_store_release_latest(r.st, o->cfg->environment,
					      &latest, &lfound, err);
	if (rc == 0 && lfound && latest.id != rel.id)
		rc = phg_err_set(err, PHG_EINPUT,
				 "release '%s' came after '%s': its old slots "
				 "are no longer on standby",
				 latest.tag, o->tag);
	if (rc < 0)
		goto out;
	r.rel_id = rel.id;
	for (size_t i = 0; rc == 0 && i < o->cfg->nregions; i++) {
		const struct phg_region *reg = &o->cfg->regions[i];
		struct phg_store_event *ev = NULL;
		char target[16] = "", *live = NULL;
		int green = -1;
		size_t n = 0;

		rc = phg_store_event_list(r.st, r.rel_id, &ev, &n, err);
		for (size_t k = 0; rc == 0 && k < n; k++)
			if (phg_streq(ev[k].kind, "target") &&
			    phg_streq(ev[k].region, reg->name))
				snprintf(target, sizeof(target), "%s",
					 ev[k].detail);
		phg_store_event_free_array(ev, n);
		if (rc < 0 || !target[0])
			continue;
		rc = phg_store_live_slot(r.st, o->cfg->environment, reg->name,
					 &live, err);
		if (rc == 0)
			rc = phg_store_weight_get(r.st, r.rel_id, reg->name,
						  &green, err);
		/* Done there (live), or traffic on the new slot. */
		if (rc == 0 && (phg_streq(live, target) ||
				(green >= 0 && or_green_pct(target, 100) == 100
					 ? green > 0
					 : green >= 0 && green < 100))) {
			rc = or_rollback_region(&r, reg, "rollback TAG", err);
			if (rc == 0)
				rc = phg_store_set_live_slot(
					r.st, o->cfg->environment, reg->name,
					or_other(target), err);
			if (rc == 0) {
				or_say(&r, "region %s: back on %s", reg->name,
				       or_other(target));
				returned++;
			}
		}
		free(live);
	}
	if (rc == 0) {
		char text[256];

		rc = phg_store_release_finish(r.st, r.rel_id, PHG_REL_REVERTED,
					      "rollback", err);
		snprintf(text, sizeof(text),
			 "release %s reverted: %zu region%s returned to the "
			 "old slot",
			 o->tag, returned, returned == 1 ? "" : "s");
		or_say(&r, "%s", text);
		or_notify(&r, "rollback", text);
	}
out:
	phg_store_release_release(&rel);
	phg_store_release_release(&latest);
	teardown(&r);
	return rc;
}

int phg_orch_ledger_releases(struct phg_config *cfg, struct phg_err *err)
{
	struct phg_store_release *rel = NULL;
	struct phg_store *st = NULL;
	struct phg_release_def *defs;
	struct phg_err e = {0};
	size_t n = 0;
	char *loc = NULL;
	int rc;

	/* lint needs no secret: a ledger behind an unset ${NAME} is not
	   read. */
	if (phg_config_state_location(cfg, &loc, &e) < 0)
		return 0;
	free(loc);
	rc = phg_orch_open_store(cfg, true, &st, err);
	if (rc < 0 || !st)
		return rc;
	rc = phg_store_release_list(st, cfg->environment, &rel, &n, err);
	phg_store_close(st);
	if (rc < 0 || n == 0)
		goto out;
	defs = realloc(cfg->releases, (cfg->nreleases + n) * sizeof(*defs));
	if (!defs) {
		rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
		goto out;
	}
	cfg->releases = defs;
	for (size_t i = 0; i < n; i++) {
		const char *list = rel[i].migrations ? rel[i].migrations : "";
		const char *last = strrchr(list, ',');
		bool listed = false;
		struct phg_release_def *d = &cfg->releases[cfg->nreleases];

		for (size_t k = 0; k < cfg->nreleases; k++)
			if (phg_streq(cfg->releases[k].name, rel[i].tag))
				listed = true;
		if (listed || !*list)
			continue;
		memset(d, 0, sizeof(*d));
		d->name = phg_strdup(rel[i].tag);
		d->through = phg_strdup(last ? last + 1 : list);
		d->from_ledger = true;
		cfg->nreleases++;
		if (!d->name || !d->through) {
			rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
			goto out;
		}
	}
out:
	phg_store_release_free_array(rel, n);
	return rc;
}
