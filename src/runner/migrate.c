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
	long to; /* index of --to, or -1 */
	struct phg_err *err;
	char **applied_names; /* applied by this run (for the soak checks) */
	size_t napplied;
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

/* The regions this run touches, primary first (the config's order). */
static int select_regions(struct run *r)
{
	const struct phg_config *cfg = r->o->cfg;

	if (cfg->nregions == 0)
		return phg_err_set(r->err, PHG_EUSAGE,
				   "no regions in the config: add a 'regions:' "
				   "list with each database (see "
				   "docs/config.md)");
	r->regions = calloc(cfg->nregions, sizeof(*r->regions));
	if (!r->regions)
		return phg_err_set(r->err, PHG_ENOMEM, "out of memory");
	if (r->o->region) {
		const struct phg_region *one = find_region(cfg, r->o->region);

		if (!one)
			return phg_err_set(r->err, PHG_EUSAGE,
					   "--region '%s': no region of that "
					   "name in the config",
					   r->o->region);
		r->regions[r->nregions++] = one;
		return 0;
	}
	if (cfg->nregions > 1 && !r->o->all_regions)
		return phg_err_set(r->err, PHG_EUSAGE,
				   "the config has %zu regions: name one with "
				   "--region NAME, or use --all-regions",
				   cfg->nregions);
	for (size_t i = 0; i < cfg->nregions; i++)
		r->regions[r->nregions++] = &cfg->regions[i];
	return 0;
}

/* Names applied in a region (for the gate's release boundary). */
static int applied_in(struct run *r, const struct phg_region *reg,
		      char ***names, size_t *n)
{
	struct phg_history_row *rows = NULL;
	size_t nrows = 0, k = 0;
	struct rn_conn c;
	bool exists = false;
	int rc = rn_connect(r->o->cfg, reg, &c, r->err);

	*names = NULL;
	*n = 0;
	if (rc < 0)
		return rc;
	rc = rn_history_exists(&c, &exists, r->err);
	if (rc == 0 && exists)
		rc = rn_history_read(&c, &rows, &nrows, r->err);
	rn_close(&c);
	if (rc < 0)
		return rc;
	*names = calloc(nrows + 1, sizeof(char *));
	if (!*names) {
		rn_history_free(rows, nrows);
		return phg_err_set(r->err, PHG_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < nrows; i++)
		if (phg_streq(rows[i].state, "applied"))
			(*names)[k++] = phg_strdup(rows[i].name);
	*n = k;
	rn_history_free(rows, nrows);
	return 0;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
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
	free_names(names, n);
	if (rc < 0)
		return rc;
	r->lint = &r->res->gate;
	if (!r->o->no_gate && phg_lint_refused(r->lint))
		r->res->refused = true;
	return 0;
}

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

/* Refuses the region when the history and the files disagree. */
static int check_drift(struct run *r, const char *region,
		       struct phg_history_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct phg_history_row *row = &rows[i];
		const struct phg_migration *m = NULL;

		if (!phg_streq(row->state, "applied"))
			continue;
		for (size_t k = 0; k < r->lint->nmigrations && !m; k++)
			if (phg_streq(r->lint->migrations[k].mig->name,
				      row->name))
				m = r->lint->migrations[k].mig;
		if (!m) {
			r->res->refused = true;
			return phg_err_set(
				r->err, PHG_EINPUT,
				"region '%s': migration '%s' is in the history "
				"but its file is missing; nothing was applied",
				region, row->name);
		}
		if (!phg_streq(m->checksum, row->checksum)) {
			r->res->refused = true;
			return phg_err_set(
				r->err, PHG_EINPUT,
				"region '%s': checksum drift in '%s': applied "
				"with sha256 %s, the file now has sha256 %s; "
				"nothing was applied",
				region, m->path, row->checksum, m->checksum);
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

static int load_text(const struct phg_migration *m, struct phg_buf *text,
		     struct phg_err *err)
{
	struct phg_migration copy = *m;

	/* phg_source_load refreshes offsets; the lint already has them. */
	return phg_source_load(&copy, text, err);
}

static int remember_applied(struct run *r, const char *name)
{
	char **n = realloc(r->applied_names,
			   (r->napplied + 1) * sizeof(*r->applied_names));

	if (!n)
		return phg_err_set(r->err, PHG_ENOMEM, "out of memory");
	r->applied_names = n;
	n[r->napplied] = phg_strdup(name);
	if (!n[r->napplied])
		return phg_err_set(r->err, PHG_ENOMEM, "out of memory");
	r->napplied++;
	return 0;
}

static void dry_run_line(struct run *r, const char *region,
			 const struct phg_lint_migration *m)
{
	const struct phg_config *cfg = r->o->cfg;
	char detail[400];

	snprintf(detail, sizeof(detail),
		 "%s, %s; lock_timeout=%lldms statement_timeout=%lldms",
		 phg_phase_name(m->phase),
		 m->own_transaction  ? "its own BEGIN/COMMIT, run as written"
		 : m->no_transaction ? "statement by statement, no transaction"
				     : "one transaction",
		 cfg->migrate.lock_timeout_ms,
		 cfg->migrate.statement_timeout_ms);
	emit(r, PHG_EV_DRY_RUN, region, m->mig->name, detail, 0, 0);
}

static int apply_region(struct run *r, const struct phg_region *reg)
{
	struct phg_history_row *rows = NULL;
	size_t nrows = 0, count = 0;
	struct rn_conn c;
	bool exists = true;
	int rc;

	emit(r, PHG_EV_REGION_START, reg->name, NULL, NULL, 0, 0);
	rc = rn_connect(r->o->cfg, reg, &c, r->err);
	if (rc < 0)
		return rc;
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
	for (size_t i = 0; rc == 0 && i < r->lint->nmigrations; i++) {
		const struct phg_lint_migration *m = &r->lint->migrations[i];
		struct phg_history_row *row =
			rn_history_find(rows, nrows, m->mig->name);
		struct rn_apply a = {.opts = r->o, .m = m, .row = row};
		struct phg_buf text = {0};
		long long ms = 0;

		if (!wanted(r, i, row))
			continue;
		if (r->o->dry_run) {
			dry_run_line(r, reg->name, m);
			continue;
		}
		rc = load_text(m->mig, &text, r->err);
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
			rc = remember_applied(r, m->mig->name);
		}
	}
	rn_history_free(rows, nrows);
	rn_close(&c);
	if (rc == 0)
		emit(r, PHG_EV_REGION_DONE, reg->name, NULL, NULL, 0, count);
	return rc;
}

/* How many of this run's migrations a region's history shows as applied. */
static int count_applied(struct run *r, const struct phg_region *reg,
			 size_t *seen, struct phg_err *err)
{
	struct phg_history_row *rows = NULL;
	size_t nrows = 0;
	struct rn_conn c;
	bool exists = false;
	int rc = rn_connect(r->o->cfg, reg, &c, err);

	*seen = 0;
	if (rc < 0)
		return rc;
	rc = rn_history_exists(&c, &exists, err);
	if (rc == 0 && exists)
		rc = rn_history_read(&c, &rows, &nrows, err);
	rn_close(&c);
	for (size_t i = 0; rc == 0 && i < r->napplied; i++) {
		const struct phg_history_row *row =
			rn_history_find(rows, nrows, r->applied_names[i]);

		if (row && phg_streq(row->state, "applied"))
			(*seen)++;
	}
	rn_history_free(rows, nrows);
	return rc;
}

/* A replica gets no migrations: wait until it shows them. */
static int wait_replica(struct run *r, const struct phg_region *reg)
{
	long long deadline = rn_now_ms() + r->o->cfg->migrate.replica_wait_ms;

	emit(r, PHG_EV_REPLICA_WAIT, reg->name, NULL, NULL, 0, 0);
	for (;;) {
		size_t seen = 0;
		struct phg_err e = {0};

		if (count_applied(r, reg, &seen, &e) == 0 &&
		    seen == r->napplied)
			return 0;
		if (rn_now_ms() >= deadline)
			return phg_err_set(r->err, PHG_ERUNTIME,
					   "region '%s': the replica does not "
					   "show the %zu migrations applied to "
					   "'%s' after %lld ms",
					   reg->name, r->napplied,
					   reg->replica_of,
					   r->o->cfg->migrate.replica_wait_ms);
		rn_sleep_ms(500);
	}
}

/*
 * The soak before the next region: a countdown, and every few seconds a
 * check that each finished region is still reachable and still shows every
 * migration this run applied.
 */
static int soak(struct run *r, const struct phg_region *next, size_t done)
{
	long long end = rn_now_ms() + next->soak_ms, left;

	while ((left = end - rn_now_ms()) > 0) {
		emit(r, PHG_EV_SOAK, next->name, NULL, NULL, left, 0);
		for (size_t i = 0; i < done; i++) {
			const struct phg_region *fin = r->regions[i];
			size_t seen = 0;
			int rc;

			if (fin->replica_of)
				continue;
			rc = count_applied(r, fin, &seen, r->err);
			if (rc < 0)
				return rc;
			if (seen < r->napplied)
				return phg_err_set(
					r->err, PHG_ERUNTIME,
					"region '%s' lost history during the "
					"soak: it shows %zu of the %zu "
					"migrations applied",
					fin->name, seen, r->napplied);
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
	rc = select_regions(&r);
	if (rc == 0)
		rc = gate_and_collect(&r);
	if (rc == 0 && res->refused)
		goto out;
	if (rc == 0) {
		r.to = find_to(&r);
		if (r.to == -2)
			rc = phg_err_set(err, PHG_EUSAGE,
					 "--to '%s': no migration has that "
					 "version or name",
					 opts->to);
	}
	for (size_t i = 0; rc == 0 && i < r.nregions; i++) {
		const struct phg_region *reg = r.regions[i];

		if (i > 0 && !opts->no_soak && !opts->dry_run &&
		    reg->soak_ms > 0)
			rc = soak(&r, reg, i);
		if (rc == 0 && reg->replica_of && !opts->dry_run)
			rc = wait_replica(&r, reg);
		else if (rc == 0 && !reg->replica_of)
			rc = apply_region(&r, reg);
	}
out:
	free_names(r.applied_names, r.napplied);
	free(r.regions);
	return rc;
}

void phg_runner_result_release(struct phg_runner_result *res)
{
	if (res->have_gate)
		phg_lint_result_release(&res->gate);
	memset(res, 0, sizeof(*res));
}
