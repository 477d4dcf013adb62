/*
 * store.c: the ledger's API over the two backends. Every query is written
 * once here, in the SQL both SQLite and PostgreSQL accept, and run through
 * the backend's ops table (internal.h); the clock, row locks and id columns
 * are placeholders each backend spells its own way. Each write is one
 * committed statement or one short transaction, so a process killed at
 * any moment leaves the ledger consistent.
 */
#include "internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ------------------------------------------------------------ */

const char *phg_release_state_name(enum phg_release_state s)
{
	switch (s) {
	case PHG_REL_RUNNING:
		return "running";
	case PHG_REL_SUCCEEDED:
		return "succeeded";
	case PHG_REL_ROLLED_BACK:
		return "rolled-back";
	case PHG_REL_ABORTED:
		return "aborted";
	case PHG_REL_FAILED:
		return "failed";
	case PHG_REL_REVERTED:
		return "reverted";
	}
	return "unknown";
}

int phg_release_state_parse(const char *name, enum phg_release_state *out)
{
	for (int i = PHG_REL_RUNNING; i <= PHG_REL_REVERTED; i++) {
		if (name &&
		    strcmp(name, phg_release_state_name(
					 (enum phg_release_state)i)) == 0) {
			*out = (enum phg_release_state)i;
			return 0;
		}
	}
	return PHG_EINPUT;
}

const char *phg_step_state_name(enum phg_step_state s)
{
	switch (s) {
	case PHG_STEP_RUNNING:
		return "running";
	case PHG_STEP_DONE:
		return "done";
	case PHG_STEP_FAILED:
		return "failed";
	case PHG_STEP_SKIPPED:
		return "skipped";
	case PHG_STEP_ROLLED_BACK:
		return "rolled-back";
	}
	return "unknown";
}

int phg_step_state_parse(const char *name, enum phg_step_state *out)
{
	for (int i = PHG_STEP_RUNNING; i <= PHG_STEP_ROLLED_BACK; i++) {
		if (name &&
		    strcmp(name, phg_step_state_name((enum phg_step_state)i)) ==
			    0) {
			*out = (enum phg_step_state)i;
			return 0;
		}
	}
	return PHG_EINPUT;
}

/* ---- shared helpers ----------------------------------------------------- */

const char *st_cell(const struct st_rows *rows, size_t r, size_t c)
{
	if (r >= rows->nrows || c >= rows->ncols)
		return NULL;
	return rows->cells[r * rows->ncols + c];
}

void st_rows_release(struct st_rows *rows)
{
	if (!rows->cells)
		return;
	for (size_t i = 0; i < rows->nrows * rows->ncols; i++)
		free(rows->cells[i]);
	free(rows->cells);
	memset(rows, 0, sizeof(*rows));
}

void st_scrub(const char *msg, const char *secret, char *out, size_t cap)
{
	size_t n = 0, slen = secret ? strlen(secret) : 0;

	if (cap == 0)
		return;
	while (msg && *msg && n + 1 < cap) {
		if (slen >= 1 && strncmp(msg, secret, slen) == 0) {
			const char *mask = "********";

			while (*mask && n + 1 < cap)
				out[n++] = *mask++;
			msg += slen;
			continue;
		}
		out[n++] = *msg == '\n' ? ' ' : *msg;
		msg++;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static bool is_pg_url(const char *loc)
{
	return strncmp(loc, "postgres://", 11) == 0 ||
	       strncmp(loc, "postgresql://", 13) == 0;
}

void st_redact(const char *location, char *out, size_t cap)
{
	const char *p = strstr(location, "://"), *host, *at, *end;

	if (!is_pg_url(location) || !p) {
		snprintf(out, cap, "%s", location);
		return;
	}
	host = p + 3;
	/* Userinfo is what comes before the last '@' ahead of the query
	   string: a password written without escapes may hold '@' or '/'
	   (a database name with '@' is then shown cut, never a secret). */
	end = host + strcspn(host, "?#");
	at = NULL;
	for (const char *q = host; q < end; q++)
		if (*q == '@')
			at = q;
	if (at)
		host = at + 1;
	end = host + strcspn(host, "?#");
	snprintf(out, cap, "%.*s%.*s", (int)(p + 3 - location), location,
		 (int)(end - host), host);
}

/*
 * A copy of s fit for the ledger: valid UTF-8 (each invalid byte becomes
 * '?') and at most PHG_STORE_TEXT_MAX bytes, cut on a character boundary.
 * NULL stays NULL (*out NULL, returns 0).
 */
static int clean_text(const char *s, char **out)
{
	size_t len, i = 0, n = 0;
	char *c;

	*out = NULL;
	if (!s)
		return 0;
	len = strlen(s);
	c = malloc((len < PHG_STORE_TEXT_MAX ? len : PHG_STORE_TEXT_MAX) + 1);
	if (!c)
		return PHG_ENOMEM;
	while (i < len) {
		size_t ok = phg_utf8_invalid_at(s + i, len - i), take;

		take = ok;
		if (n + take > PHG_STORE_TEXT_MAX) {
			take = PHG_STORE_TEXT_MAX - n;
			/* Back up to the start of a character. */
			while (take > 0 &&
			       ((unsigned char)s[i + take] & 0xc0) == 0x80)
				take--;
			memcpy(c + n, s + i, take);
			n += take;
			break;
		}
		memcpy(c + n, s + i, take);
		n += take;
		i += take;
		if (i < len) {
			if (n + 1 > PHG_STORE_TEXT_MAX)
				break;
			c[n++] = '?';
			i++;
		}
	}
	c[n] = '\0';
	*out = c;
	return 0;
}

static int oom(struct phg_err *err)
{
	return phg_err_set(err, PHG_ENOMEM, "out of memory");
}

/* Replaces the backend placeholders in sql; malloc'd or NULL. */
static char *expand_sql(const struct phg_store *s, const char *sql)
{
	static const char *const names[] = {"{now}", "{now_ms}", "{for_update}",
					    "{id}"};
	const char *vals[4];
	struct phg_buf b = {0};

	vals[0] = s->ops->now_sql;
	vals[1] = s->ops->now_ms_sql;
	vals[2] = s->ops->for_update;
	vals[3] = s->ops->id_type;
	while (*sql) {
		const char *brace = strchr(sql, '{');
		bool done = false;

		if (!brace) {
			if (phg_buf_puts(&b, sql) < 0)
				goto fail;
			break;
		}
		if (phg_buf_add(&b, sql, (size_t)(brace - sql)) < 0)
			goto fail;
		for (size_t i = 0; i < 4 && !done; i++) {
			size_t nl = strlen(names[i]);

			if (strncmp(brace, names[i], nl) == 0) {
				if (phg_buf_puts(&b, vals[i]) < 0)
					goto fail;
				sql = brace + nl;
				done = true;
			}
		}
		if (!done) {
			if (phg_buf_add(&b, "{", 1) < 0)
				goto fail;
			sql = brace + 1;
		}
	}
	if (!b.data && phg_buf_puts(&b, "") < 0)
		goto fail;
	return b.data;
fail:
	phg_buf_release(&b);
	return NULL;
}

/* Runs one statement; see st_ops.exec. */
static int q(struct phg_store *s, const char *sql, size_t n,
	     const struct st_param *p, struct st_rows *out, const char *what,
	     struct phg_err *err)
{
	char *x = expand_sql(s, sql);
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!x)
		return oom(err);
	rc = s->ops->exec(s->impl, x, n, p, out, what, err);
	free(x);
	return rc;
}

static int begin(struct phg_store *s, struct phg_err *err)
{
	int rc = q(s, s->ops->begin_sql, 0, NULL, NULL,
		   "cannot start a transaction", err);

	if (rc == 0)
		s->in_tx = true;
	return rc;
}

static int commit(struct phg_store *s, struct phg_err *err)
{
	int rc = q(s, "COMMIT", 0, NULL, NULL, "cannot commit", err);

	if (rc < 0)
		q(s, "ROLLBACK", 0, NULL, NULL, "cannot roll back",
		  &(struct phg_err){0});
	s->in_tx = false;
	return rc;
}

/* Ends a failed transaction; its own failure is not the one to report. */
static void rollback(struct phg_store *s)
{
	struct phg_err ignored = {0};

	if (!s->in_tx)
		return;
	q(s, "ROLLBACK", 0, NULL, NULL, "cannot roll back", &ignored);
	s->in_tx = false;
}

static struct st_param ptext(const char *v)
{
	return (struct st_param){.type = ST_TEXT, .s = v};
}

static struct st_param pint(long long v)
{
	return (struct st_param){.type = ST_INT, .i = v};
}

static struct st_param preal(double v)
{
	return (struct st_param){.type = ST_REAL, .d = v};
}

static long long cell_ll(const struct st_rows *r, size_t row, size_t col)
{
	const char *c = st_cell(r, row, col);

	return c ? strtoll(c, NULL, 10) : 0;
}

static double cell_double(const struct st_rows *r, size_t row, size_t col)
{
	const char *c = st_cell(r, row, col);

	return c ? strtod(c, NULL) : NAN;
}

/* A malloc'd copy of a cell (NULL stays NULL); false when out of memory. */
static bool cell_dup(const struct st_rows *r, size_t row, size_t col,
		     char **out)
{
	const char *c = st_cell(r, row, col);

	*out = c ? phg_strdup(c) : NULL;
	return !c || *out;
}

/* Reconnects a dropped PostgreSQL connection (outside transactions). */
static int ready(struct phg_store *s, struct phg_err *err)
{
	if (!s)
		return phg_err_set(err, PHG_ERUNTIME, "the ledger is not open");
	return s->ops->ensure ? s->ops->ensure(s->impl, err) : 0;
}

/* ---- open and the schema ------------------------------------------------ */

static const char *const schema_ddl[] = {
	"CREATE TABLE IF NOT EXISTS releases ("
	" id {id},"
	" environment text NOT NULL,"
	" tag text NOT NULL,"
	" state text NOT NULL,"
	" target_slot text NOT NULL,"
	" started_at text NOT NULL,"
	" finished_at text,"
	" approved_by text,"
	" reason text,"
	" migrations text NOT NULL DEFAULT '',"
	" UNIQUE (environment, tag))",
	"CREATE TABLE IF NOT EXISTS steps ("
	" id {id},"
	" release_id bigint NOT NULL REFERENCES releases (id),"
	" region text NOT NULL,"
	" name text NOT NULL,"
	" seq integer NOT NULL,"
	" state text NOT NULL,"
	" started_at text NOT NULL,"
	" finished_at text,"
	" detail text)",
	"CREATE INDEX IF NOT EXISTS steps_by_release ON steps (release_id)",
	"CREATE TABLE IF NOT EXISTS readings ("
	" id {id},"
	" release_id bigint NOT NULL REFERENCES releases (id),"
	" region text NOT NULL,"
	" metric text NOT NULL,"
	" value double precision,"
	" breached integer NOT NULL,"
	" weight integer NOT NULL,"
	" at text NOT NULL)",
	"CREATE INDEX IF NOT EXISTS readings_by_release ON readings "
	"(release_id)",
	"CREATE TABLE IF NOT EXISTS weights ("
	" id {id},"
	" release_id bigint NOT NULL REFERENCES releases (id),"
	" region text NOT NULL,"
	" green_percent integer NOT NULL,"
	" at text NOT NULL)",
	"CREATE INDEX IF NOT EXISTS weights_by_release ON weights "
	"(release_id, region)",
	"CREATE TABLE IF NOT EXISTS events ("
	" id {id},"
	" release_id bigint NOT NULL REFERENCES releases (id),"
	" region text,"
	" kind text NOT NULL,"
	" detail text,"
	" at text NOT NULL)",
	"CREATE INDEX IF NOT EXISTS events_by_release ON events (release_id)",
	"CREATE TABLE IF NOT EXISTS live_slots ("
	" environment text NOT NULL,"
	" region text NOT NULL,"
	" slot text NOT NULL,"
	" updated_at text NOT NULL,"
	" PRIMARY KEY (environment, region))",
	"CREATE TABLE IF NOT EXISTS leases ("
	" environment text PRIMARY KEY,"
	" holder text,"
	" acquired_at text,"
	" renewed_at text,"
	" renewed_ms bigint)",
	NULL};

/*
 * Inside one write transaction (PostgreSQL: under a transaction-level
 * advisory lock, so concurrent first opens do not race): the version
 * table, then either the tables of a fresh ledger or a check that the
 * ledger's version is one this build reads.
 */
/*
 * Reads the schema version without a transaction, so opening a ledger that
 * is already set up takes no write lock (SQLite's BEGIN IMMEDIATE would
 * make every `release status` queue behind the running driver). Returns 0
 * and *version, or -1 when there is no version table yet (nothing set).
 */
static int schema_version_read(struct phg_store *s, long long *version)
{
	struct st_rows rows;
	struct phg_err scratch = {0};

	if (q(s, "SELECT max(version) FROM schema_version", 0, NULL, &rows,
	      "cannot read the schema version", &scratch) < 0)
		return -1;
	*version = cell_ll(&rows, 0, 0);
	st_rows_release(&rows);
	return 0;
}

static int schema_newer(const struct phg_store *s, long long version,
			struct phg_err *err)
{
	return phg_err_set(err, PHG_ERUNTIME,
			   "ledger '%s' has schema version %lld, newer than "
			   "this phasegate's %d: use a newer phasegate",
			   s->where, version, PHG_STORE_SCHEMA_VERSION);
}

static int schema(struct phg_store *s, struct phg_err *err)
{
	struct st_rows rows;
	long long version;
	int rc;

	if (schema_version_read(s, &version) == 0 &&
	    version >= PHG_STORE_SCHEMA_VERSION)
		return version > PHG_STORE_SCHEMA_VERSION
			       ? schema_newer(s, version, err)
			       : 0;
	rc = begin(s, err);
	if (rc < 0)
		return rc;
	if (s->ops->prepare) {
		rc = s->ops->prepare(s->impl, err);
		if (rc < 0)
			goto out;
	}
	rc = q(s,
	       "CREATE TABLE IF NOT EXISTS schema_version ("
	       " version integer NOT NULL,"
	       " applied_at text NOT NULL)",
	       0, NULL, NULL, "cannot create the schema version table", err);
	if (rc < 0)
		goto out;
	rc = q(s, "SELECT max(version) FROM schema_version", 0, NULL, &rows,
	       "cannot read the schema version", err);
	if (rc < 0)
		goto out;
	version = cell_ll(&rows, 0, 0);
	st_rows_release(&rows);
	if (version > PHG_STORE_SCHEMA_VERSION) {
		rc = schema_newer(s, version, err);
		goto out;
	}
	if (version == PHG_STORE_SCHEMA_VERSION) {
		rollback(s); /* nothing written */
		return 0;
	}
	/* A fresh ledger (version 1 is the first, so nothing to upgrade). */
	for (size_t i = 0; schema_ddl[i]; i++) {
		rc = q(s, schema_ddl[i], 0, NULL, NULL,
		       "cannot create the ledger's tables", err);
		if (rc < 0)
			goto out;
	}
	{
		struct st_param p[] = {pint(PHG_STORE_SCHEMA_VERSION)};

		rc = q(s,
		       "INSERT INTO schema_version (version, applied_at) "
		       "VALUES ($1, {now})",
		       1, p, NULL, "cannot record the schema version", err);
		if (rc < 0)
			goto out;
	}
	return commit(s, err);
out:
	rollback(s);
	return rc;
}

int phg_store_check_location(const char *location, struct phg_err *err)
{
	if (!location || !*location)
		return phg_err_set(err, PHG_ECONFIG,
				   "the ledger location is empty");
	/* "host=... password=..." would otherwise become an SQLite file
	   named after the password. */
	if (!is_pg_url(location) && strchr(location, '=') &&
	    strpbrk(location, " \t"))
		return phg_err_set(err, PHG_ECONFIG,
				   "the ledger location looks like a libpq "
				   "keyword connection string: give "
				   "PostgreSQL as a postgresql:// URL");
	return 0;
}

bool phg_store_is_postgres(const char *location)
{
	return location && is_pg_url(location);
}

int phg_store_open(const char *location, struct phg_store **out,
		   struct phg_err *err)
{
	struct phg_store *s;
	char where[1024];
	int rc;

	*out = NULL;
	rc = phg_store_check_location(location, err);
	if (rc < 0)
		return rc;
	s = phg_xcalloc(1, sizeof(*s));
	if (!s)
		return oom(err);
	st_redact(location, where, sizeof(where));
	s->where = phg_strdup(where);
	if (!s->where) {
		free(s);
		return oom(err);
	}
	if (is_pg_url(location)) {
		s->ops = &st_pg_ops;
		rc = st_pg_open(location, s->where, &s->impl, err);
	} else {
		s->ops = &st_sqlite_ops;
		rc = st_sqlite_open(location, s->where, &s->impl, err);
	}
	if (rc == 0)
		rc = schema(s, err);
	if (rc < 0) {
		phg_store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void phg_store_close(struct phg_store *s)
{
	if (!s)
		return;
	if (s->impl)
		s->ops->close(s->impl);
	free(s->where);
	free(s);
}

const char *phg_store_backend(const struct phg_store *s)
{
	return s->ops->name;
}

const char *phg_store_where(const struct phg_store *s)
{
	return s->where;
}

/* ---- leases ------------------------------------------------------------- */

int phg_store_lease_acquire(struct phg_store *s, const char *environment,
			    const char *holder, long long ttl_ms,
			    char **taken_from, struct phg_err *err)
{
	struct st_param p[3] = {ptext(environment), ptext(holder)};
	struct st_rows rows = {0};
	const char *cur;
	long long age;
	bool same;
	int rc;

	if (taken_from)
		*taken_from = NULL;
	if (ttl_ms <= 0)
		return phg_err_set(err, PHG_ECONFIG,
				   "release lease ttl must be positive, not "
				   "%lld ms",
				   ttl_ms);
	if (!holder || !*holder)
		return phg_err_set(err, PHG_EINPUT,
				   "release lease holder is empty");
	rc = ready(s, err);
	if (rc < 0)
		return rc;
	rc = begin(s, err);
	if (rc < 0)
		return rc;
	/* Make sure the row exists, then lock it: two processes racing
	   serialise on the row (PostgreSQL) or the write lock (SQLite). */
	rc = q(s,
	       "INSERT INTO leases (environment) VALUES ($1) "
	       "ON CONFLICT (environment) DO NOTHING",
	       1, p, NULL, "cannot acquire the release lease", err);
	if (rc < 0)
		goto out;
	rc = q(s,
	       "SELECT holder, acquired_at, {now_ms} - renewed_ms "
	       "FROM leases WHERE environment = $1 {for_update}",
	       1, p, &rows, "cannot acquire the release lease", err);
	if (rc < 0)
		goto out;
	cur = st_cell(&rows, 0, 0);
	age = cell_ll(&rows, 0, 2);
	same = cur && strcmp(cur, holder) == 0;
	if (cur && !same && age <= ttl_ms) {
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "release lease held by '%s' since %s "
				 "(environment '%s', renewed %lld ms ago, "
				 "taken over after %lld ms)",
				 cur, st_cell(&rows, 0, 1), environment, age,
				 ttl_ms);
		goto out;
	}
	if (cur && !same && taken_from) {
		*taken_from = phg_strdup(cur);
		if (!*taken_from) {
			rc = oom(err);
			goto out;
		}
	}
	p[2] = pint(same ? 1 : 0);
	rc = q(s,
	       "UPDATE leases SET holder = $2, "
	       "acquired_at = CASE WHEN $3 = 1 THEN acquired_at "
	       "ELSE {now} END, "
	       "renewed_at = {now}, renewed_ms = {now_ms} "
	       "WHERE environment = $1",
	       3, p, NULL, "cannot acquire the release lease", err);
	if (rc < 0)
		goto out;
	st_rows_release(&rows);
	rc = commit(s, err);
	if (rc < 0 && taken_from) {
		free(*taken_from);
		*taken_from = NULL;
	}
	return rc;
out:
	st_rows_release(&rows);
	rollback(s);
	if (taken_from) {
		free(*taken_from);
		*taken_from = NULL;
	}
	return rc;
}

int phg_store_lease_renew(struct phg_store *s, const char *environment,
			  const char *holder, struct phg_err *err)
{
	struct st_param p[] = {ptext(environment), ptext(holder)};
	struct st_rows rows;
	const char *now_held;
	int rc = ready(s, err);

	if (rc < 0)
		return rc;
	rc = q(s,
	       "UPDATE leases SET renewed_at = {now}, renewed_ms = {now_ms} "
	       "WHERE environment = $1 AND holder = $2 RETURNING environment",
	       2, p, &rows, "cannot renew the release lease", err);
	if (rc < 0)
		return rc;
	if (rows.nrows == 1) {
		st_rows_release(&rows);
		return 0;
	}
	st_rows_release(&rows);
	rc = q(s, "SELECT holder FROM leases WHERE environment = $1", 1, p,
	       &rows, "cannot renew the release lease", err);
	if (rc < 0)
		return rc;
	now_held = st_cell(&rows, 0, 0);
	if (now_held)
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "release lease of environment '%s' is no "
				 "longer held by '%s': taken over by '%s'",
				 environment, holder, now_held);
	else
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "release lease of environment '%s' is no "
				 "longer held by '%s': released",
				 environment, holder);
	st_rows_release(&rows);
	return rc;
}

int phg_store_lease_release(struct phg_store *s, const char *environment,
			    const char *holder, struct phg_err *err)
{
	struct st_param p[] = {ptext(environment), ptext(holder)};
	int rc = ready(s, err);

	if (rc < 0)
		return rc;
	return q(s,
		 "UPDATE leases SET holder = NULL, acquired_at = NULL, "
		 "renewed_at = {now}, renewed_ms = {now_ms} "
		 "WHERE environment = $1 AND holder = $2",
		 2, p, NULL, "cannot release the release lease", err);
}

int phg_store_lease_get(struct phg_store *s, const char *environment,
			struct phg_store_lease_info *out, bool *found,
			struct phg_err *err)
{
	struct st_param p[] = {ptext(environment)};
	struct st_rows rows;
	int rc = ready(s, err);

	memset(out, 0, sizeof(*out));
	*found = false;
	if (rc < 0)
		return rc;
	rc = q(s,
	       "SELECT holder, acquired_at, renewed_at, {now_ms} - renewed_ms "
	       "FROM leases WHERE environment = $1 AND holder IS NOT NULL",
	       1, p, &rows, "cannot read the release lease", err);
	if (rc < 0)
		return rc;
	if (rows.nrows == 1) {
		if (!cell_dup(&rows, 0, 0, &out->holder) ||
		    !cell_dup(&rows, 0, 1, &out->acquired_at) ||
		    !cell_dup(&rows, 0, 2, &out->renewed_at)) {
			phg_store_lease_info_release(out);
			st_rows_release(&rows);
			return oom(err);
		}
		out->age_ms = cell_ll(&rows, 0, 3);
		*found = true;
	}
	st_rows_release(&rows);
	return 0;
}

void phg_store_lease_info_release(struct phg_store_lease_info *l)
{
	if (!l)
		return;
	free(l->holder);
	free(l->acquired_at);
	free(l->renewed_at);
	memset(l, 0, sizeof(*l));
}

/* ---- releases ----------------------------------------------------------- */

#define RELEASE_COLS                                                           \
	"id, environment, tag, state, target_slot, started_at, finished_at, "  \
	"approved_by, reason, migrations"

static bool is_slot(const char *slot)
{
	return slot &&
	       (strcmp(slot, "blue") == 0 || strcmp(slot, "green") == 0);
}

static int row_release(const struct st_rows *rows, size_t i,
		       struct phg_store_release *r, struct phg_err *err)
{
	memset(r, 0, sizeof(*r));
	r->id = cell_ll(rows, i, 0);
	if (!cell_dup(rows, i, 1, &r->environment) ||
	    !cell_dup(rows, i, 2, &r->tag) ||
	    !cell_dup(rows, i, 4, &r->target_slot) ||
	    !cell_dup(rows, i, 5, &r->started_at) ||
	    !cell_dup(rows, i, 6, &r->finished_at) ||
	    !cell_dup(rows, i, 7, &r->approved_by) ||
	    !cell_dup(rows, i, 8, &r->reason) ||
	    !cell_dup(rows, i, 9, &r->migrations)) {
		phg_store_release_release(r);
		return oom(err);
	}
	if (phg_release_state_parse(st_cell(rows, i, 3), &r->state) < 0) {
		int rc = phg_err_set(err, PHG_ERUNTIME,
				     "ledger holds an unknown state '%s' for "
				     "release '%s'",
				     st_cell(rows, i, 3) ? st_cell(rows, i, 3)
							 : "",
				     r->tag ? r->tag : "");

		phg_store_release_release(r);
		return rc;
	}
	return 0;
}

int phg_store_release_create(struct phg_store *s,
			     const struct phg_store_release *r, long long *id,
			     struct phg_err *err)
{
	char *reason = NULL;
	struct st_param p[8];
	struct st_rows rows = {0};
	int rc;

	*id = 0;
	if (!r->environment || !*r->environment || !r->tag || !*r->tag)
		return phg_err_set(err, PHG_EINPUT,
				   "a release needs an environment and a tag");
	if (!is_slot(r->target_slot))
		return phg_err_set(err, PHG_EINPUT,
				   "release '%s': target slot must be 'blue' "
				   "or 'green', not '%s'",
				   r->tag,
				   r->target_slot ? r->target_slot : "");
	rc = ready(s, err);
	if (rc < 0)
		return rc;
	if (clean_text(r->reason, &reason) < 0)
		return oom(err);
	p[0] = ptext(r->environment);
	p[1] = ptext(r->tag);
	p[2] = ptext(phg_release_state_name(r->state));
	p[3] = ptext(r->target_slot);
	p[4] = ptext(r->approved_by);
	p[5] = ptext(reason);
	p[6] = ptext(r->migrations ? r->migrations : "");
	p[7] = pint(r->state == PHG_REL_RUNNING ? 0 : 1);
	rc = begin(s, err);
	if (rc < 0)
		goto out;
	rc = q(s,
	       "SELECT state FROM releases WHERE environment = $1 AND tag = "
	       "$2",
	       2, p, &rows, "cannot create the release", err);
	if (rc < 0)
		goto out;
	if (rows.nrows > 0) {
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "release '%s' already exists in environment "
				 "'%s' (%s)",
				 r->tag, r->environment, st_cell(&rows, 0, 0));
		goto out;
	}
	st_rows_release(&rows);
	rc = q(s,
	       "INSERT INTO releases (environment, tag, state, target_slot, "
	       "started_at, finished_at, approved_by, reason, migrations) "
	       "VALUES ($1, $2, $3, $4, {now}, "
	       "CASE WHEN $8 = 1 THEN {now} ELSE NULL END, $5, $6, $7) "
	       "RETURNING id",
	       8, p, &rows, "cannot create the release", err);
	if (rc < 0)
		goto out;
	*id = cell_ll(&rows, 0, 0);
	st_rows_release(&rows);
	rc = commit(s, err);
	if (rc < 0)
		*id = 0;
	free(reason);
	return rc;
out:
	st_rows_release(&rows);
	rollback(s);
	free(reason);
	return rc;
}

/* Runs a SELECT of RELEASE_COLS; the first row into *out when found. */
static int release_one(struct phg_store *s, const char *sql, size_t n,
		       const struct st_param *p, struct phg_store_release *out,
		       bool *found, struct phg_err *err)
{
	struct st_rows rows;
	int rc = ready(s, err);

	memset(out, 0, sizeof(*out));
	*found = false;
	if (rc < 0)
		return rc;
	rc = q(s, sql, n, p, &rows, "cannot read the release", err);
	if (rc < 0)
		return rc;
	if (rows.nrows > 0) {
		rc = row_release(&rows, 0, out, err);
		*found = rc == 0;
	}
	st_rows_release(&rows);
	return rc;
}

int phg_store_release_get(struct phg_store *s, const char *environment,
			  const char *tag, struct phg_store_release *out,
			  bool *found, struct phg_err *err)
{
	struct st_param p[] = {ptext(environment), ptext(tag)};

	return release_one(s,
			   "SELECT " RELEASE_COLS " FROM releases "
			   "WHERE environment = $1 AND tag = $2",
			   2, p, out, found, err);
}

int phg_store_release_latest(struct phg_store *s, const char *environment,
			     struct phg_store_release *out, bool *found,
			     struct phg_err *err)
{
	struct st_param p[] = {ptext(environment)};

	return release_one(s,
			   "SELECT " RELEASE_COLS " FROM releases "
			   "WHERE environment = $1 ORDER BY id DESC LIMIT 1",
			   1, p, out, found, err);
}

int phg_store_release_list(struct phg_store *s, const char *environment,
			   struct phg_store_release **out, size_t *n,
			   struct phg_err *err)
{
	struct st_param p[] = {ptext(environment)};
	struct st_rows rows;
	struct phg_store_release *a = NULL;
	int rc = ready(s, err);

	*out = NULL;
	*n = 0;
	if (rc < 0)
		return rc;
	rc = q(s,
	       "SELECT " RELEASE_COLS " FROM releases WHERE environment = $1 "
	       "ORDER BY id",
	       1, p, &rows, "cannot list the releases", err);
	if (rc < 0)
		return rc;
	if (rows.nrows > 0) {
		a = phg_xcalloc(rows.nrows, sizeof(*a));
		if (!a) {
			st_rows_release(&rows);
			return oom(err);
		}
	}
	for (size_t i = 0; i < rows.nrows; i++) {
		rc = row_release(&rows, i, &a[i], err);
		if (rc < 0) {
			phg_store_release_free_array(a, i);
			st_rows_release(&rows);
			return rc;
		}
	}
	*out = a;
	*n = rows.nrows;
	st_rows_release(&rows);
	return 0;
}

int phg_store_release_finish(struct phg_store *s, long long id,
			     enum phg_release_state state, const char *reason,
			     struct phg_err *err)
{
	char *clean = NULL;
	struct st_param p[4];
	struct st_rows rows;
	int rc = ready(s, err);

	if (rc < 0)
		return rc;
	if (clean_text(reason, &clean) < 0)
		return oom(err);
	p[0] = pint(id);
	p[1] = ptext(phg_release_state_name(state));
	p[2] = ptext(clean);
	p[3] = pint(state == PHG_REL_RUNNING ? 0 : 1);
	rc = q(s,
	       "UPDATE releases SET state = $2, reason = COALESCE($3, reason), "
	       "finished_at = CASE WHEN $4 = 1 THEN {now} ELSE NULL END "
	       "WHERE id = $1 RETURNING id",
	       4, p, &rows, "cannot finish the release", err);
	free(clean);
	if (rc < 0)
		return rc;
	if (rows.nrows == 0)
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "cannot finish release %lld: not in the "
				 "ledger",
				 id);
	st_rows_release(&rows);
	return rc;
}

int phg_store_live_slot(struct phg_store *s, const char *environment,
			const char *region, char **slot, struct phg_err *err)
{
	struct st_param p[] = {ptext(environment), ptext(region)};
	struct st_rows rows;
	const char *v;
	int rc = ready(s, err);

	*slot = NULL;
	if (rc < 0)
		return rc;
	rc = q(s,
	       "SELECT slot FROM live_slots WHERE environment = $1 AND "
	       "region = $2",
	       2, p, &rows, "cannot read the live slot", err);
	if (rc < 0)
		return rc;
	v = st_cell(&rows, 0, 0);
	*slot = phg_strdup(v ? v : "blue");
	st_rows_release(&rows);
	return *slot ? 0 : oom(err);
}

int phg_store_set_live_slot(struct phg_store *s, const char *environment,
			    const char *region, const char *slot,
			    struct phg_err *err)
{
	struct st_param p[] = {ptext(environment), ptext(region), ptext(slot)};
	int rc;

	if (!is_slot(slot))
		return phg_err_set(err, PHG_EINPUT,
				   "region '%s': live slot must be 'blue' or "
				   "'green', not '%s'",
				   region, slot ? slot : "");
	rc = ready(s, err);
	if (rc < 0)
		return rc;
	return q(s,
		 "INSERT INTO live_slots (environment, region, slot, "
		 "updated_at) VALUES ($1, $2, $3, {now}) "
		 "ON CONFLICT (environment, region) DO UPDATE SET "
		 "slot = excluded.slot, updated_at = excluded.updated_at",
		 3, p, NULL, "cannot record the live slot", err);
}

void phg_store_release_release(struct phg_store_release *r)
{
	if (!r)
		return;
	free(r->environment);
	free(r->tag);
	free(r->target_slot);
	free(r->started_at);
	free(r->finished_at);
	free(r->approved_by);
	free(r->reason);
	free(r->migrations);
	memset(r, 0, sizeof(*r));
}

void phg_store_release_free_array(struct phg_store_release *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++)
		phg_store_release_release(&r[i]);
	free(r);
}

/* ---- steps -------------------------------------------------------------- */

int phg_store_step_begin(struct phg_store *s, long long release_id,
			 const char *region, const char *name, int seq,
			 long long *step_id, struct phg_err *err)
{
	struct st_param p[] = {pint(release_id), ptext(region ? region : ""),
			       ptext(name), pint(seq)};
	struct st_rows rows;
	int rc = ready(s, err);

	*step_id = 0;
	if (rc < 0)
		return rc;
	rc = q(s,
	       "INSERT INTO steps (release_id, region, name, seq, state, "
	       "started_at) VALUES ($1, $2, $3, $4, 'running', {now}) "
	       "RETURNING id",
	       4, p, &rows, "cannot record the step", err);
	if (rc < 0)
		return rc;
	*step_id = cell_ll(&rows, 0, 0);
	st_rows_release(&rows);
	return 0;
}

int phg_store_step_end(struct phg_store *s, long long step_id,
		       enum phg_step_state state, const char *detail,
		       struct phg_err *err)
{
	char *clean = NULL;
	struct st_param p[4];
	struct st_rows rows;
	int rc = ready(s, err);

	if (rc < 0)
		return rc;
	if (clean_text(detail, &clean) < 0)
		return oom(err);
	p[0] = pint(step_id);
	p[1] = ptext(phg_step_state_name(state));
	p[2] = ptext(clean);
	p[3] = pint(state == PHG_STEP_RUNNING ? 0 : 1);
	rc = q(s,
	       "UPDATE steps SET state = $2, detail = $3, "
	       "finished_at = CASE WHEN $4 = 1 THEN {now} ELSE NULL END "
	       "WHERE id = $1 RETURNING id",
	       4, p, &rows, "cannot record the step's end", err);
	free(clean);
	if (rc < 0)
		return rc;
	if (rows.nrows == 0)
		rc = phg_err_set(err, PHG_ERUNTIME,
				 "cannot end step %lld: not in the ledger",
				 step_id);
	st_rows_release(&rows);
	return rc;
}

int phg_store_step_list(struct phg_store *s, long long release_id,
			struct phg_store_step **out, size_t *n,
			struct phg_err *err)
{
	struct st_param p[] = {pint(release_id)};
	struct st_rows rows;
	struct phg_store_step *a = NULL;
	int rc = ready(s, err);

	*out = NULL;
	*n = 0;
	if (rc < 0)
		return rc;
	rc = q(s,
	       "SELECT id, release_id, region, name, seq, state, started_at, "
	       "finished_at, detail FROM steps WHERE release_id = $1 "
	       "ORDER BY seq, id",
	       1, p, &rows, "cannot list the steps", err);
	if (rc < 0)
		return rc;
	if (rows.nrows > 0 && !(a = phg_xcalloc(rows.nrows, sizeof(*a)))) {
		st_rows_release(&rows);
		return oom(err);
	}
	for (size_t i = 0; i < rows.nrows; i++) {
		struct phg_store_step *st = &a[i];

		st->id = cell_ll(&rows, i, 0);
		st->release_id = cell_ll(&rows, i, 1);
		st->seq = (int)cell_ll(&rows, i, 4);
		if (!cell_dup(&rows, i, 2, &st->region) ||
		    !cell_dup(&rows, i, 3, &st->name) ||
		    !cell_dup(&rows, i, 6, &st->started_at) ||
		    !cell_dup(&rows, i, 7, &st->finished_at) ||
		    !cell_dup(&rows, i, 8, &st->detail)) {
			rc = oom(err);
		} else if (phg_step_state_parse(st_cell(&rows, i, 5),
						&st->state) < 0) {
			rc = phg_err_set(err, PHG_ERUNTIME,
					 "ledger holds an unknown state '%s' "
					 "for step %lld",
					 st_cell(&rows, i, 5)
						 ? st_cell(&rows, i, 5)
						 : "",
					 st->id);
		}
		if (rc < 0) {
			phg_store_step_free_array(a, i + 1);
			st_rows_release(&rows);
			return rc;
		}
	}
	*out = a;
	*n = rows.nrows;
	st_rows_release(&rows);
	return 0;
}

void phg_store_step_free_array(struct phg_store_step *st, size_t n)
{
	for (size_t i = 0; st && i < n; i++) {
		free(st[i].region);
		free(st[i].name);
		free(st[i].started_at);
		free(st[i].finished_at);
		free(st[i].detail);
	}
	free(st);
}

/* ---- readings, weights, events ----------------------------------------- */

int phg_store_reading_add(struct phg_store *s, long long release_id,
			  const struct phg_store_reading *r,
			  struct phg_err *err)
{
	struct st_param p[] = {pint(release_id),
			       ptext(r->region ? r->region : ""),
			       ptext(r->metric),
			       preal(r->value),
			       pint(r->breached ? 1 : 0),
			       pint(r->weight),
			       ptext(r->at)};
	int rc = ready(s, err);

	if (rc < 0)
		return rc;
	return q(s,
		 "INSERT INTO readings (release_id, region, metric, value, "
		 "breached, weight, at) VALUES ($1, $2, $3, $4, $5, $6, "
		 "COALESCE($7, {now}))",
		 7, p, NULL, "cannot record the reading", err);
}

int phg_store_reading_list(struct phg_store *s, long long release_id,
			   struct phg_store_reading **out, size_t *n,
			   struct phg_err *err)
{
	struct st_param p[] = {pint(release_id)};
	struct st_rows rows;
	struct phg_store_reading *a = NULL;
	int rc = ready(s, err);

	*out = NULL;
	*n = 0;
	if (rc < 0)
		return rc;
	rc = q(s,
	       "SELECT region, metric, value, breached, weight, at "
	       "FROM readings WHERE release_id = $1 ORDER BY id",
	       1, p, &rows, "cannot list the readings", err);
	if (rc < 0)
		return rc;
	if (rows.nrows > 0 && !(a = phg_xcalloc(rows.nrows, sizeof(*a)))) {
		st_rows_release(&rows);
		return oom(err);
	}
	for (size_t i = 0; i < rows.nrows; i++) {
		a[i].value = cell_double(&rows, i, 2);
		a[i].breached = cell_ll(&rows, i, 3) != 0;
		a[i].weight = (int)cell_ll(&rows, i, 4);
		if (!cell_dup(&rows, i, 0, &a[i].region) ||
		    !cell_dup(&rows, i, 1, &a[i].metric) ||
		    !cell_dup(&rows, i, 5, &a[i].at)) {
			phg_store_reading_free_array(a, i + 1);
			st_rows_release(&rows);
			return oom(err);
		}
	}
	*out = a;
	*n = rows.nrows;
	st_rows_release(&rows);
	return 0;
}

void phg_store_reading_free_array(struct phg_store_reading *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].region);
		free(r[i].metric);
		free(r[i].at);
	}
	free(r);
}

int phg_store_weight_set(struct phg_store *s, long long release_id,
			 const char *region, int green_percent,
			 struct phg_err *err)
{
	struct st_param p[] = {pint(release_id), ptext(region ? region : ""),
			       pint(green_percent)};
	int rc;

	if (green_percent < 0 || green_percent > 100)
		return phg_err_set(err, PHG_EINPUT,
				   "region '%s': green's weight must be 0 to "
				   "100, not %d",
				   region ? region : "", green_percent);
	rc = ready(s, err);
	if (rc < 0)
		return rc;
	return q(s,
		 "INSERT INTO weights (release_id, region, green_percent, at) "
		 "VALUES ($1, $2, $3, {now})",
		 3, p, NULL, "cannot record the traffic weight", err);
}

int phg_store_weight_get(struct phg_store *s, long long release_id,
			 const char *region, int *green_percent,
			 struct phg_err *err)
{
	struct st_param p[] = {pint(release_id), ptext(region ? region : "")};
	struct st_rows rows;
	int rc = ready(s, err);

	*green_percent = -1;
	if (rc < 0)
		return rc;
	rc = q(s,
	       "SELECT green_percent FROM weights WHERE release_id = $1 AND "
	       "region = $2 ORDER BY id DESC LIMIT 1",
	       2, p, &rows, "cannot read the traffic weight", err);
	if (rc < 0)
		return rc;
	if (rows.nrows > 0)
		*green_percent = (int)cell_ll(&rows, 0, 0);
	st_rows_release(&rows);
	return 0;
}

int phg_store_weight_list(struct phg_store *s, long long release_id,
			  struct phg_store_weight **out, size_t *n,
			  struct phg_err *err)
{
	struct st_param p[] = {pint(release_id)};
	struct st_rows rows;
	struct phg_store_weight *a = NULL;
	int rc = ready(s, err);

	*out = NULL;
	*n = 0;
	if (rc < 0)
		return rc;
	rc = q(s,
	       "SELECT region, green_percent, at FROM weights "
	       "WHERE release_id = $1 ORDER BY id",
	       1, p, &rows, "cannot list the traffic weights", err);
	if (rc < 0)
		return rc;
	if (rows.nrows > 0 && !(a = phg_xcalloc(rows.nrows, sizeof(*a)))) {
		st_rows_release(&rows);
		return oom(err);
	}
	for (size_t i = 0; i < rows.nrows; i++) {
		a[i].green_percent = (int)cell_ll(&rows, i, 1);
		if (!cell_dup(&rows, i, 0, &a[i].region) ||
		    !cell_dup(&rows, i, 2, &a[i].at)) {
			phg_store_weight_free_array(a, i + 1);
			st_rows_release(&rows);
			return oom(err);
		}
	}
	*out = a;
	*n = rows.nrows;
	st_rows_release(&rows);
	return 0;
}

void phg_store_weight_free_array(struct phg_store_weight *w, size_t n)
{
	for (size_t i = 0; w && i < n; i++) {
		free(w[i].region);
		free(w[i].at);
	}
	free(w);
}

int phg_store_event_add(struct phg_store *s, long long release_id,
			const char *region, const char *kind,
			const char *detail, struct phg_err *err)
{
	char *clean = NULL;
	struct st_param p[4];
	int rc = ready(s, err);

	if (rc < 0)
		return rc;
	if (clean_text(detail, &clean) < 0)
		return oom(err);
	p[0] = pint(release_id);
	p[1] = ptext(region);
	p[2] = ptext(kind ? kind : "");
	p[3] = ptext(clean);
	rc = q(s,
	       "INSERT INTO events (release_id, region, kind, detail, at) "
	       "VALUES ($1, $2, $3, $4, {now})",
	       4, p, NULL, "cannot record the event", err);
	free(clean);
	return rc;
}

int phg_store_event_list(struct phg_store *s, long long release_id,
			 struct phg_store_event **out, size_t *n,
			 struct phg_err *err)
{
	struct st_param p[] = {pint(release_id)};
	struct st_rows rows;
	struct phg_store_event *a = NULL;
	int rc = ready(s, err);

	*out = NULL;
	*n = 0;
	if (rc < 0)
		return rc;
	rc = q(s,
	       "SELECT region, kind, detail, at FROM events "
	       "WHERE release_id = $1 ORDER BY id",
	       1, p, &rows, "cannot list the events", err);
	if (rc < 0)
		return rc;
	if (rows.nrows > 0 && !(a = phg_xcalloc(rows.nrows, sizeof(*a)))) {
		st_rows_release(&rows);
		return oom(err);
	}
	for (size_t i = 0; i < rows.nrows; i++) {
		if (!cell_dup(&rows, i, 0, &a[i].region) ||
		    !cell_dup(&rows, i, 1, &a[i].kind) ||
		    !cell_dup(&rows, i, 2, &a[i].detail) ||
		    !cell_dup(&rows, i, 3, &a[i].at)) {
			phg_store_event_free_array(a, i + 1);
			st_rows_release(&rows);
			return oom(err);
		}
	}
	*out = a;
	*n = rows.nrows;
	st_rows_release(&rows);
	return 0;
}

void phg_store_event_free_array(struct phg_store_event *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++) {
		free(e[i].region);
		free(e[i].kind);
		free(e[i].detail);
		free(e[i].at);
	}
	free(e);
}
