/*
 * migrate.c: a migrate run across regions. The lint gate judges what is
 * pending in the first region; then each region in order (primary first):
 * connect, take the advisory lock, create the history when missing, refuse
 * on checksum drift or a missing file, apply what is pending; between
 * regions the soak waits while checking that the finished regions stay
 * reachable with complete history. The first failure stops the run; a second
 * run resumes where it stopped.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run {
	const struct phg_runner_opts *o;
	struct phg_runner_result *res;
	const struct phg_region **regions; /* in run order */
	size_t nregions;
	struct phg_lint_result *lint;
	struct rn_names disk; /* name -> struct phg_migration on disk */
	long to; /* index of --to's migration (the last one without it) */
	struct phg_err *err;
	/* What each finished region's history showed as applied when it
	   finished, in run order (for the soak's checks). */
	char ***fin_names;
	size_t *fin_n;
};

static void emit(const struct run *r, enum phg_event ev, const char *region,
		 const char *name, const char *detail, long long ms,
		 size_t count)
{
	struct phg_progress p = {.event = ev,
				 .region = region,
				 .name = name,
				 .detail = detail,
				 .ms = ms,
				 .count = count};

	if (r->o->progress)
		r->o->progress(&p, r->o->progress_ctx);
}

static const struct phg_region *find_region(const struct phg_config *cfg,
					    const char *name)
{
	for (size_t i = 0; i < cfg->nregions; i++)
		if (strcmp(cfg->regions[i].name, name) == 0)
			return &cfg->regions[i];
	return NULL;
}

int rn_select_regions(const struct phg_config *cfg, const char *name, bool all,
		      const struct phg_region ***out, size_t *n,
		      struct phg_err *err)
{
	*out = NULL;
	*n = 0;
	if (cfg->nregions == 0)
		return phg_err_set(err, PHG_EUSAGE,
				   "no regions in the config: add a 'regions:' "
				   "list with each database (see "
				   "docs/config.md)");
	*out = calloc(cfg->nregions, sizeof(**out));
	if (!*out)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	if (name) {
		const struct phg_region *one = find_region(cfg, name);

		if (!one)
			return phg_err_set(err, PHG_EUSAGE,
					   "--region '%s': no region of that "
					   "name in the config",
					   name);
		(*out)[(*n)++] = one;
		return 0;
	}
	if (cfg->nregions > 1 && !all)
		return phg_err_set(err, PHG_EUSAGE,
				   "the config has %zu regions: name one with "
				   "--region NAME, or use --all-regions",
				   cfg->nregions);
	for (size_t i = 0; i < cfg->nregions; i++)
		(*out)[(*n)++] = &cfg->regions[i];
	return 0;
}

/* The regions this run touches, primary first (the config's order). */
static int select_regions(struct run *r)
{
	return rn_select_regions(r->o->cfg, r->o->region, r->o->all_regions,
				 &r->regions, &r->nregions, r->err);
}

/*
 * Names of the migrations a region's history shows as applied (none when it
 * has no history table). *names is freed with free_names.
 */
static int applied_in_err(struct run *r, const struct phg_region *reg,
			  char ***names, size_t *n, struct phg_err *err)
{
	struct phg_history_row *rows = NULL;
	size_t nrows = 0, k = 0;
	struct rn_conn c;
	bool exists = false;
	int rc = rn_connect(r->o->cfg, reg, &c, err);

	*names = NULL;
	*n = 0;
	if (rc < 0)
		return rc;
	rc = rn_history_exists(&c, &exists, err);
	if (rc == 0 && exists)
		rc = rn_history_read(&c, &rows, &nrows, err);
	rn_close(&c);
	if (rc < 0)
		return rc;
	*names = calloc(nrows + 1, sizeof(char *));
	if (!*names) {
		rn_history_free(rows, nrows);
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < nrows; i++)
		if (phg_streq(rows[i].state, "applied"))
			(*names)[k++] = phg_strdup(rows[i].name);
	*n = k;
	rn_history_free(rows, nrows);
	return 0;
}

/* applied_in_err reporting to the run's error. */
static int applied_in(struct run *r, const struct phg_region *reg,
		      char ***names, size_t *n)
{
	return applied_in_err(r, reg, names, n, r->err);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/* The index of --to's migration (the last one without it), or -2. */
static long find_to(struct run *r)
{
	const char *to = r->o->to;

	if (!to)
		return (long)r->lint->nmigrations - 1;
	for (size_t i = r->lint->nmigrations; i-- > 0;) {
		const struct phg_migration *m = r->lint->migrations[i].mig;

		if (phg_streq(m->name, to) ||
		    phg_version_cmp(m->version, to) == 0)
			return (long)i;
	}
	return -2;
}

/* The first parser finding of a file, for the refusal's message. */
static const struct phg_finding *first_finding(const struct phg_lint_result *l,
					       const char *path)
{
	for (size_t i = 0; i < l->findings.n; i++) {
		const struct phg_finding *f = &l->findings.items[i];

		if (phg_streq(f->file, path) &&
		    (phg_streq(f->rule, PHG_RULE_SYNTAX_ERROR) ||
		     phg_streq(f->rule, PHG_RULE_INVALID_ENCODING) ||
		     phg_streq(f->rule, PHG_RULE_UNANALYZABLE)))
			return f;
	}
	return NULL;
}

/* refuse_unreadable for one migration (never one that is applied). */
static int refuse_one(struct run *r, const struct phg_lint_migration *m)
{
	const struct phg_finding *f;

	if (!m->unreadable && rn_unclosed_begin(m)) {
		r->res->refused = true;
		return phg_err_set(r->err, PHG_EINPUT,
				   "migration '%s' opens a transaction at line "
				   "%d that it does not close (add its "
				   "COMMIT); nothing was applied",
				   m->mig->name, rn_unclosed_begin(m));
	}
	if (!m->unreadable)
		return 0;
	r->res->refused = r->res->about_files = true;
	f = first_finding(r->lint, m->mig->path);
	if (f)
		return phg_err_set(r->err, PHG_EINPUT,
				   "migration '%s' cannot be parsed "
				   "(%s:%d:%d: %s); phasegate never sends a "
				   "file it cannot read, --no-gate included: "
				   "nothing was applied",
				   m->mig->name, f->file, f->line, f->col,
				   f->message);
	return phg_err_set(r->err, PHG_EINPUT,
			   "migration '%s' cannot be parsed; phasegate never "
			   "sends a file it cannot read, --no-gate included: "
			   "nothing was applied",
			   m->mig->name);
}

/*
 * A pending migration that phasegate cannot parse is never sent, --no-gate
 * or not: the runner splits statements and decides on transactions from
 * the parse tree. Nor is one that opens a transaction it never closes.
 * Refused before any region is touched; migrations after --to do not
 * count.
 */
static int refuse_unreadable(struct run *r, char **applied, size_t napplied)
{
	const struct phg_lint_result *l = r->lint;
	struct rn_names done;
	int rc = 0;

	rn_names_init(&done);
	for (size_t k = 0; k < napplied && rc == 0; k++)
		if (rn_names_put(&done, applied[k], applied[k]) < 0)
			rc = phg_err_set(r->err, PHG_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < l->nmigrations && (long)i <= r->to;
	     i++)
		if (!rn_names_get(&done, l->migrations[i].mig->name))
			rc = refuse_one(r, &l->migrations[i]);
	rn_names_release(&done);
	return rc;
}

/* Lints the migrations pending in the first region as one release. */
static int gate_and_collect(struct run *r)
{
	const struct phg_region *first = r->regions[0];
	struct phg_lint_opts lo = {0};
	char **names = NULL;
	size_t n = 0;
	int rc;

	/* A replica shows its primary's history. */
	if (first->replica_of)
		first = find_region(r->o->cfg, first->replica_of);
	rc = applied_in(r, first, &names, &n);
	if (rc < 0)
		return rc;
	lo.cfg = r->o->cfg;
	lo.have_config = true;
	lo.shipped = (const char *const *)names;
	lo.nshipped = n;
	lo.collect = true;
	r->res->have_gate = true;
	rc = phg_lint_run(&lo, &r->res->gate, r->err);
	if (rc == 0) {
		r->lint = &r->res->gate;
		for (size_t i = 0; rc == 0 && i < r->lint->nmigrations; i++)
			if (rn_names_put(
				    &r->disk, r->lint->migrations[i].mig->name,
				    (void *)r->lint->migrations[i].mig) < 0)
				rc = phg_err_set(r->err, PHG_ENOMEM,
						 "out of memory");
		r->to = find_to(r);
		if (r->to == -2)
			rc = phg_err_set(r->err, PHG_EUSAGE,
					 "--to '%s': no migration has that "
					 "version or name",
					 r->o->to);
	}
	if (rc == 0)
		rc = refuse_unreadable(r, names, n);
	free_names(names, n);
	if (rc == 0 && !r->o->no_gate && phg_lint_refused(r->lint))
		r->res->refused = r->res->about_files = true;
	return rc;
}

/* The migration of that name on disk, or NULL. */
static const struct phg_migration *on_disk(const struct run *r,
					   const char *name)
{
	return rn_names_get(&r->disk, name);
}

/*
 * Refuses the region when the history and the files disagree: an applied
 * (or partly applied) migration whose file changed or is gone. Nothing is
 * applied there then, since what the database holds matches no file.
 */
static int check_drift(struct run *r, const char *region,
		       struct phg_history_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct phg_history_row *row = &rows[i];
		const struct phg_migration *m = on_disk(r, row->name);
		bool partly = !phg_streq(row->state, "applied");

		switch (rn_verdict(row, m)) {
		case RN_ROW_MISSING:
			r->res->refused = true;
			return phg_err_set(
				r->err, PHG_EINPUT,
				"region '%s': migration '%s' is in the history "
				"(%s) but its file is missing; nothing was "
				"applied",
				region, row->name,
				partly ? "partly applied" : "applied");
		case RN_ROW_DRIFT:
			r->res->refused = true;
			return phg_err_set(
				r->err, PHG_EINPUT,
				"region '%s': checksum drift in '%s': %s with "
				"sha256 %s, the file now has sha256 %s; "
				"nothing was applied",
				region, m->path,
				partly ? "partly applied" : "applied",
				row->checksum, m->checksum);
		case RN_ROW_APPLIED:
		case RN_ROW_PARTIAL:
		case RN_ROW_NOTHING_KEPT:
		case RN_ROW_GONE:
			break;
		}
	}
	return 0;
}

static bool wanted(const struct run *r, size_t i,
		   const struct phg_history_row *row)
{
	const struct phg_lint_migration *m = &r->lint->migrations[i];
	unsigned mask = r->o->phases ? r->o->phases : PHG_PHASES_ALL;

	if (row && phg_streq(row->state, "applied"))
		return false;
	if ((long)i > r->to)
		return false;
	return (mask & PHG_PHASE_BIT(m->phase)) != 0 ||
	       (m->phase == PHG_PHASE_NONE &&
		(mask & PHG_PHASE_BIT(PHG_PHASE_EXPAND)));
}

/*
 * Reads a migration's file again to send it. The statements' offsets come
 * from the lint's reading, and the history records that checksum: a file
 * that changed since (edited during a soak, say) is refused.
 */
static int load_text(struct run *r, const char *region,
		     const struct phg_migration *m, struct phg_buf *text)
{
	struct phg_migration copy = *m;
	int rc = phg_source_load(&copy, text, r->err);

	if (rc == 0 && !phg_streq(copy.checksum, m->checksum)) {
		r->res->refused = true;
		return phg_err_set(r->err, PHG_EINPUT,
				   "region '%s': '%s' changed while phasegate "
				   "ran (sha256 %s when read, %s now); it was "
				   "not applied",
				   region, m->path, m->checksum, copy.checksum);
	}
	return rc;
}

static void dry_run_line(struct run *r, const char *region,
			 const struct phg_lint_migration *m,
			 const struct phg_history_row *row)
{
	const struct phg_config *cfg = r->o->cfg;
	char detail[400], resume[64] = "";

	if (row && rn_verdict(row, m->mig) == RN_ROW_PARTIAL)
		snprintf(resume, sizeof(resume),
			 ", continuing after statement %d",
			 row->statements_done);
	snprintf(detail, sizeof(detail),
		 "%s, %s%s; lock_timeout=%lldms statement_timeout=%lldms",
		 phg_phase_name(m->phase),
		 m->own_transaction  ? "its own BEGIN/COMMIT, run as written"
		 : m->no_transaction ? "statement by statement, no transaction"
				     : "one transaction",
		 resume, cfg->migrate.lock_timeout_ms,
		 cfg->migrate.statement_timeout_ms);
	emit(r, PHG_EV_DRY_RUN, region, m->mig->name, detail, 0, 0);
}

static int apply_region(struct run *r, const struct phg_region *reg)
{
	struct phg_history_row *rows = NULL;
	size_t nrows = 0, count = 0;
	struct rn_names by_name;
	struct rn_conn c;
	bool exists = true;
	int rc;

	emit(r, PHG_EV_REGION_START, reg->name, NULL, NULL, 0, 0);
	rc = rn_connect(r->o->cfg, reg, &c, r->err);
	if (rc < 0)
		return rc;
	rn_names_init(&by_name);
	if (r->o->dry_run) {
		rc = rn_history_exists(&c, &exists, r->err);
	} else {
		rc = rn_lock(&c, r->o->cfg->migrate.advisory_lock_wait_ms,
			     r->o->progress, r->o->progress_ctx, r->err);
		if (rc == 0)
			rc = rn_history_ensure(&c, r->err);
	}
	if (rc == 0 && exists)
		rc = rn_history_read(&c, &rows, &nrows, r->err);
	if (rc == 0)
		rc = check_drift(r, reg->name, rows, nrows);
	if (rc == 0 && rn_history_index(rows, nrows, &by_name) < 0)
		rc = phg_err_set(r->err, PHG_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < r->lint->nmigrations; i++) {
		const struct phg_lint_migration *m = &r->lint->migrations[i];
		struct phg_history_row *row =
			rn_names_get(&by_name, m->mig->name);
		struct rn_apply a = {.opts = r->o, .m = m, .row = row};
		struct phg_buf text = {0};
		long long ms = 0;

		if (!wanted(r, i, row))
			continue;
		if (r->o->dry_run) {
			dry_run_line(r, reg->name, m, row);
			count++;
			r->res->would_apply++;
			continue;
		}
		rc = load_text(r, reg->name, m->mig, &text);
		a.text = text.data ? text.data : "";
		a.len = text.len;
		if (rc == 0)
			rc = rn_apply_one(&c, &a, &ms, r->err);
		phg_buf_release(&text);
		if (rc == 0) {
			count++;
			r->res->applied++;
			emit(r, PHG_EV_MIGRATION_DONE, reg->name, m->mig->name,
			     phg_phase_name(m->phase), ms, 0);
		}
	}
	rn_names_release(&by_name);
	rn_history_free(rows, nrows);
	rn_close(&c);
	if (rc == 0)
		emit(r, PHG_EV_REGION_DONE, reg->name, NULL, NULL, 0, count);
	return rc;
}

/*
 * How many of names (n) the list have (nh) holds; every name counts as
 * missing when the index cannot be built (out of memory), so a check fails
 * rather than passes.
 */
static size_t shown(char **names, size_t n, char **have, size_t nh)
{
	struct rn_names ix;
	size_t seen = 0;
	bool ok = true;

	rn_names_init(&ix);
	for (size_t k = 0; k < nh && ok; k++)
		ok = rn_names_put(&ix, have[k], have[k]) == 0;
	for (size_t i = 0; ok && i < n; i++)
		if (rn_names_get(&ix, names[i]))
			seen++;
	rn_names_release(&ix);
	return seen;
}

/*
 * A replica gets no migrations: wait until its history shows every
 * migration applied to the region it replicates (not only this run's: an
 * earlier run may have stopped before the replica caught up).
 */
static int wait_replica(struct run *r, const struct phg_region *reg)
{
	const struct phg_region *src = find_region(r->o->cfg, reg->replica_of);
	long long wait_ms = r->o->cfg->migrate.replica_wait_ms;
	long long deadline = rn_now_ms() + wait_ms;
	char **want = NULL;
	size_t nwant = 0;
	int rc;

	emit(r, PHG_EV_REPLICA_WAIT, reg->name, NULL, NULL, 0, 0);
	rc = applied_in(r, src, &want, &nwant);
	for (;;) {
		struct phg_err e = {0};
		char **have = NULL;
		size_t nhave = 0, seen = 0;
		int crc;

		if (rc < 0)
			break;
		crc = applied_in_err(r, reg, &have, &nhave, &e);
		if (crc == 0)
			seen = shown(want, nwant, have, nhave);
		free_names(have, nhave);
		if (crc == 0 && seen == nwant)
			break;
		if (rn_now_ms() >= deadline) {
			rc = phg_err_set(r->err, PHG_ERUNTIME,
					 "region '%s': the replica does not "
					 "show the %zu migrations applied to "
					 "'%s' after %lld ms "
					 "(migrate.replica_wait)%s%s",
					 reg->name, nwant, reg->replica_of,
					 wait_ms,
					 crc < 0 ? "; last check: " : "",
					 crc < 0 ? e.msg : "");
			break;
		}
		rn_sleep_ms(500);
	}
	free_names(want, nwant);
	return rc;
}

/*
 * The soak before the next region: a countdown, and every few seconds a
 * check that each finished region is still reachable and still shows every
 * migration it showed when it finished.
 */
static int soak(struct run *r, const struct phg_region *next, size_t done)
{
	long long end = rn_now_ms() + next->soak_ms, left;

	while ((left = end - rn_now_ms()) > 0) {
		emit(r, PHG_EV_SOAK, next->name, NULL, NULL, left, 0);
		for (size_t i = 0; i < done; i++) {
			const struct phg_region *fin = r->regions[i];
			char **have = NULL;
			size_t nhave = 0, seen;
			int rc;

			if (fin->replica_of)
				continue;
			rc = applied_in(r, fin, &have, &nhave);
			if (rc < 0)
				return rc;
			seen = shown(r->fin_names[i], r->fin_n[i], have, nhave);
			free_names(have, nhave);
			if (seen < r->fin_n[i])
				return phg_err_set(
					r->err, PHG_ERUNTIME,
					"region '%s' lost history during the "
					"soak: it shows %zu of the %zu "
					"migrations applied there",
					fin->name, seen, r->fin_n[i]);
		}
		rn_sleep_ms(left < 5000 ? left : 5000);
	}
	return 0;
}

int phg_runner_migrate(const struct phg_runner_opts *opts,
		       struct phg_runner_result *res, struct phg_err *err)
{
	struct run r = {.o = opts, .res = res, .err = err};
	int rc;

	memset(res, 0, sizeof(*res));
	rn_names_init(&r.disk);
	rc = select_regions(&r);
	if (rc == 0) {
		r.fin_names = calloc(r.nregions, sizeof(*r.fin_names));
		r.fin_n = calloc(r.nregions, sizeof(*r.fin_n));
		if (!r.fin_names || !r.fin_n)
			rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
	}
	if (rc == 0)
		rc = gate_and_collect(&r);
	if (rc == 0 && res->refused)
		goto out;
	for (size_t i = 0; rc == 0 && i < r.nregions; i++) {
		const struct phg_region *reg = r.regions[i];

		if (i > 0 && !opts->no_soak && !opts->dry_run &&
		    reg->soak_ms > 0)
			rc = soak(&r, reg, i);
		if (rc == 0 && reg->replica_of && !opts->dry_run)
			rc = wait_replica(&r, reg);
		else if (rc == 0 && !reg->replica_of)
			rc = apply_region(&r, reg);
		/* Remembered for the soaks to come. */
		if (rc == 0 && !reg->replica_of && !opts->dry_run &&
		    i + 1 < r.nregions)
			rc = applied_in(&r, reg, &r.fin_names[i], &r.fin_n[i]);
	}
out:
	for (size_t i = 0; r.fin_names && i < r.nregions; i++)
		free_names(r.fin_names[i], r.fin_n[i]);
	free(r.fin_names);
	free(r.fin_n);
	free(r.regions);
	rn_names_release(&r.disk);
	return rc;
}

void phg_runner_result_release(struct phg_runner_result *res)
{
	if (res->have_gate)
		phg_lint_result_release(&res->gate);
	memset(res, 0, sizeof(*res));
}
