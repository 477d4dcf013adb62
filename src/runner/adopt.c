/*
 * adopt.c: `phasegate adopt` — switching to phasegate from Prisma,
 * golang-migrate, dbmate or Flyway without running anything again. In each
 * region the other tool's history table is read, and every migration on disk
 * that it shows as applied is recorded in phasegate's history as applied
 * (checksum of the file as it is now, phase from the lint, release
 * 'adopted'), under the migration lock and in one statement per region.
 *
 * How each tool's history names what is applied:
 *   Prisma          _prisma_migrations: one row per attempt; applied when
 *                   finished_at is set and rolled_back_at is not; a row with
 *                   neither is a failed migration (Prisma refuses too);
 *                   matched by folder name.
 *   golang-migrate  schema_migrations: one row, the LATEST version applied,
 *                   and dirty when that migration failed part-way; every
 *                   migration up to that version counts as applied.
 *   dbmate          schema_migrations: one row per applied version.
 *   Flyway          flyway_schema_history: one row per event in
 *                   installed_rank order; versions compared as Flyway does
 *                   (1.1 = 1_1 = 01.1.0); a baseline row covers every
 *                   version up to it; undo and delete rows take a version
 *                   back out; success = false is a failed migration;
 *                   repeatable (R__) rows have no version and are matched by
 *                   script (or description), and only when the file's Flyway
 *                   checksum still equals the last run's: a repeatable that
 *                   changed since would have run again under Flyway, so it
 *                   stays pending.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How an entry of the other tool's history names migrations. */
enum entry_kind {
	E_NAME,	   /* Prisma: a folder name */
	E_VERSION, /* dbmate, Flyway: one version */
	E_UPTO,	   /* golang-migrate, a Flyway baseline: every version up to
		      and including this one */
	E_SCRIPT   /* a Flyway repeatable migration: its script */
};

struct entry {
	enum entry_kind kind;
	char *key;	/* name, version or script */
	char *desc;	/* Flyway's description, or NULL */
	char *checksum; /* Prisma's SHA-256 of the file, or NULL */
	bool has_crc;	/* crc is Flyway's checksum (a signed CRC-32) */
	long long crc;
	char *started;	   /* timestamptz as text, or NULL */
	char *finished;	   /* timestamptz as text, or NULL */
	char *ms;	   /* how long it ran, or NULL */
	bool quiet;	   /* no warning when no file matches (a baseline) */
	bool removed;	   /* undone or deleted later (Flyway) */
	bool matched;	   /* a file on disk matched it */
	bool prisma_twice; /* a second applied row of one Prisma name */
};

/* The other tool's history as read in one region. */
struct theirs {
	struct entry *e;
	size_t n, cap;
	char *table;	/* as PostgreSQL names it (regclass text) */
	char what[200]; /* "golang-migrate's schema_migrations at ..." */
	struct phg_arena arena;
	struct phg_map by_name, by_version, by_script, by_desc;
	struct entry **upto; /* the live E_UPTO entries (a few at most) */
	size_t nupto;
};

struct adopt_run {
	const struct phg_adopt_opts *o;
	struct phg_adopt_result *res;
	struct phg_lint_result lint;
	bool have_lint;
	struct phg_err *err;
};

static const char *const tool_names[] = {"prisma", "golang-migrate", "dbmate",
					 "flyway"};
static const char *const tool_tables[] = {
	"_prisma_migrations", "schema_migrations", "schema_migrations",
	"flyway_schema_history"};

int phg_adopt_tool_parse(const char *name, enum phg_adopt_tool *out)
{
	for (size_t i = 0; i < sizeof(tool_names) / sizeof(tool_names[0]); i++)
		if (name && strcmp(name, tool_names[i]) == 0) {
			*out = (enum phg_adopt_tool)i;
			return 0;
		}
	return -1;
}

const char *phg_adopt_tool_name(enum phg_adopt_tool tool)
{
	switch (tool) {
	case PHG_ADOPT_PRISMA:
	case PHG_ADOPT_GOLANG_MIGRATE:
	case PHG_ADOPT_DBMATE:
	case PHG_ADOPT_FLYWAY:
		return tool_names[tool];
	}
	return "unknown";
}

static void emit(const struct adopt_run *r, enum phg_event ev,
		 const char *region, const char *name, const char *detail,
		 size_t count)
{
	struct phg_progress p = {.event = ev,
				 .region = region,
				 .name = name,
				 .detail = detail,
				 .count = count};

	if (r->o->run.progress)
		r->o->run.progress(&p, r->o->run.progress_ctx);
}

static void warn(const struct adopt_run *r, const char *region,
		 const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void warn(const struct adopt_run *r, const char *region,
		 const char *name, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(r, PHG_EV_WARNING, region, name, msg, 0);
}

/*
 * Flyway's checksum of a file: CRC-32 of its lines without their line
 * breaks (Java's readLine ends a line at \n, \r or \r\n), a leading UTF-8
 * BOM dropped, as a signed 32-bit number. Line endings do not change it.
 */
static long long flyway_checksum(const char *text, size_t len)
{
	uint32_t crc = 0xffffffffu, v;
	size_t i = 0;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	for (; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '\n' || ch == '\r')
			continue;
		crc ^= ch;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	v = ~crc;
	return v <= INT32_MAX ? (long long)v : (long long)v - 4294967296LL;
}

/*
 * A version as a lookup key that equal versions share: parts split at '.'
 * or '_', leading zeros dropped, trailing zero parts dropped ("01.1.0" and
 * "1_1" both give "1.1"), as phg_version_cmp compares them. Returns false
 * when v is not such a version (or does not fit).
 */
static bool version_key(const char *v, char *out, size_t cap)
{
	size_t n = 0, keep = 0;

	if (!v || !*v)
		return false;
	while (*v) {
		size_t len = strcspn(v, "._");
		const char *p = v;

		if (len == 0)
			return false;
		for (size_t i = 0; i < len; i++)
			if (v[i] < '0' || v[i] > '9')
				return false;
		while (len > 1 && *p == '0') {
			p++;
			len--;
		}
		if (n + len + 2 > cap)
			return false;
		if (n)
			out[n++] = '.';
		memcpy(out + n, p, len);
		n += len;
		if (!(len == 1 && *p == '0'))
			keep = n;
		v += strcspn(v, "._");
		if (*v && !*++v)
			return false;
	}
	/* "0" alone stays "0"; "1.0.0" becomes "1". */
	out[keep ? keep : 1] = '\0';
	if (!keep)
		out[0] = '0';
	return true;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Flyway's description of a repeatable file: "R__my_view" -> "my view". */
static void flyway_desc(const char *name, char *out, size_t cap)
{
	const char *d = strstr(name, "__");
	size_t n = 0;

	for (d = d ? d + 2 : name; *d && n + 1 < cap; d++)
		out[n++] = *d == '_' ? ' ' : *d;
	out[n] = '\0';
}

static void theirs_release(struct theirs *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].key);
		free(t->e[i].desc);
		free(t->e[i].checksum);
		free(t->e[i].started);
		free(t->e[i].finished);
		free(t->e[i].ms);
	}
	free(t->e);
	free(t->upto);
	free(t->table);
	phg_map_release(&t->by_name);
	phg_map_release(&t->by_version);
	phg_map_release(&t->by_script);
	phg_map_release(&t->by_desc);
	phg_arena_release(&t->arena);
	memset(t, 0, sizeof(*t));
}

static char *col(PGresult *res, int row, int c)
{
	return PQgetisnull(res, row, c) ? NULL
					: phg_strdup(PQgetvalue(res, row, c));
}

/* A new entry of kind k with key (copied); NULL when out of memory. */
static struct entry *add_entry(struct theirs *t, enum entry_kind k,
			       const char *key)
{
	struct entry *e;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct entry *grown = realloc(t->e, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		t->e = grown;
		t->cap = cap;
	}
	e = &t->e[t->n];
	memset(e, 0, sizeof(*e));
	e->kind = k;
	e->key = phg_strdup(key ? key : "");
	if (!e->key)
		return NULL;
	t->n++;
	return e;
}

/*
 * Finds the tool's table (its default name, or --table) through the
 * session's search_path and checks that it has the tool's columns, so that
 * golang-migrate's schema_migrations is never read as dbmate's or the
 * other way round. Errors are PHG_EUSAGE: the table or a column missing.
 */
static int find_table(struct adopt_run *r, struct rn_conn *c, struct theirs *t)
{
	static const char *const need[][10] = {
		{"migration_name", "checksum", "started_at", "finished_at",
		 "rolled_back_at", NULL},
		{"version", "dirty", NULL},
		{"version", NULL},
		{"installed_rank", "version", "description", "type", "script",
		 "checksum", "installed_on", "execution_time", "success", NULL},
	};
	enum phg_adopt_tool tool = r->o->from;
	const char *name = r->o->table ? r->o->table : tool_tables[tool];
	const char *params[1] = {name};
	PGresult *res;
	bool dirty = false;
	int rc;

	rc = rn_query(c, "SELECT to_regclass($1)::text", 1, params, &res,
		      "cannot look for the history table", r->err);
	if (rc < 0)
		return rc;
	t->table = PQntuples(res) == 1 ? col(res, 0, 0) : NULL;
	PQclear(res);
	if (!t->table)
		return phg_err_set(r->err, PHG_EUSAGE,
				   "region '%s': no table '%s' in its database "
				   "for --from %s%s",
				   c->region, name, tool_names[tool],
				   r->o->table ? ""
					       : " (if the tool keeps its "
						 "history elsewhere, name it "
						 "with --table)");
	params[0] = t->table;
	rc = rn_query(c,
		      "SELECT attname FROM pg_attribute WHERE attrelid = "
		      "$1::regclass AND attnum > 0 AND NOT attisdropped",
		      1, params, &res,
		      "cannot read the history table's columns", r->err);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
		dirty = dirty || strcmp(PQgetvalue(res, i, 0), "dirty") == 0;
	for (size_t k = 0; need[tool][k]; k++) {
		bool found = false;

		for (int i = 0; i < PQntuples(res) && !found; i++)
			found = strcmp(PQgetvalue(res, i, 0), need[tool][k]) ==
				0;
		if (!found) {
			PQclear(res);
			return phg_err_set(
				r->err, PHG_EUSAGE,
				"region '%s': table '%s' has no column '%s', "
				"so it is not %s's history%s",
				c->region, t->table, need[tool][k],
				tool_names[tool],
				tool == PHG_ADOPT_GOLANG_MIGRATE
					? " (dbmate's schema_migrations has "
					  "only 'version': --from dbmate)"
					: "");
		}
	}
	PQclear(res);
	if (tool == PHG_ADOPT_DBMATE && dirty)
		return phg_err_set(r->err, PHG_EUSAGE,
				   "region '%s': table '%s' has a 'dirty' "
				   "column: it is golang-migrate's history, "
				   "not dbmate's (--from golang-migrate)",
				   c->region, t->table);
	return 0;
}

static int oom(struct adopt_run *r)
{
	return phg_err_set(r->err, PHG_ENOMEM, "out of memory");
}

/* Refuses the region: the other tool's own state is not clean. */
static int refuse(struct adopt_run *r, const char *msg)
{
	r->res->refused = true;
	return phg_err_set(r->err, PHG_EINPUT, "%s; nothing was recorded", msg);
}

static int read_prisma(struct adopt_run *r, struct rn_conn *c, struct theirs *t)
{
	char *sql = phg_asprintf(
		"SELECT migration_name, checksum, started_at::text, "
		"finished_at::text, (extract(epoch FROM finished_at - "
		"started_at) * 1000)::bigint, finished_at IS NULL FROM %s "
		"WHERE rolled_back_at IS NULL ORDER BY migration_name, "
		"started_at",
		t->table);
	char failed[600] = "";
	size_t nfailed = 0, applied = 0;
	PGresult *res;
	int rc;

	if (!sql)
		return oom(r);
	rc = rn_query(c, sql, 0, NULL, &res, "cannot read _prisma_migrations",
		      r->err);
	free(sql);
	if (rc < 0)
		return rc;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		struct entry *e;

		/* Started, neither finished nor rolled back: Prisma itself
		   stops here (P3009) until it is resolved. */
		if (PQgetvalue(res, i, 5)[0] == 't') {
			if (nfailed++ < 5)
				snprintf(failed + strlen(failed),
					 sizeof(failed) - strlen(failed),
					 "%s'%s'", nfailed > 1 ? ", " : "",
					 name);
			continue;
		}
		if (t->n && strcmp(t->e[t->n - 1].key, name) == 0)
			continue; /* applied twice: the first row counts */
		e = add_entry(t, E_NAME, name);
		if (!e) {
			rc = oom(r);
			break;
		}
		applied++;
		e->checksum = col(res, i, 1);
		e->started = col(res, i, 2);
		e->finished = col(res, i, 3);
		e->ms = col(res, i, 4);
	}
	PQclear(res);
	if (rc == 0 && nfailed) {
		char msg[1024];

		snprintf(msg, sizeof(msg),
			 "region '%s': Prisma's history shows %zu failed "
			 "migration%s (started, never finished nor rolled "
			 "back): %s%s; resolve %s first with 'prisma migrate "
			 "resolve --applied NAME' or '--rolled-back NAME'",
			 c->region, nfailed, nfailed == 1 ? "" : "s", failed,
			 nfailed > 5 ? ", ..." : "",
			 nfailed == 1 ? "it" : "them");
		return refuse(r, msg);
	}
	snprintf(t->what, sizeof(t->what),
		 "Prisma's %s: %zu migration%s applied", t->table, applied,
		 applied == 1 ? "" : "s");
	return rc;
}

static int read_golang_migrate(struct adopt_run *r, struct rn_conn *c,
			       struct theirs *t)
{
	/* golang-migrate itself reads one row. */
	char *sql = phg_asprintf("SELECT version::text, dirty FROM %s LIMIT 1",
				 t->table);
	PGresult *res;
	int rc;

	if (!sql)
		return oom(r);
	rc = rn_query(c, sql, 0, NULL, &res, "cannot read schema_migrations",
		      r->err);
	free(sql);
	if (rc < 0)
		return rc;
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		snprintf(t->what, sizeof(t->what),
			 "golang-migrate's %s: no version (nothing applied)",
			 t->table);
		return 0;
	}
	if (PQgetvalue(res, 0, 1)[0] == 't') {
		char msg[1024];

		snprintf(msg, sizeof(msg),
			 "region '%s': golang-migrate's %s says version %s is "
			 "dirty: that migration failed part-way, so what it "
			 "left is unknown. Repair the database, mark the "
			 "version with 'migrate force %s' (or the version "
			 "before it), then adopt again",
			 c->region, t->table, PQgetvalue(res, 0, 0),
			 PQgetvalue(res, 0, 0));
		PQclear(res);
		return refuse(r, msg);
	}
	/* -1 is golang-migrate's "no version". */
	if (PQgetvalue(res, 0, 0)[0] != '-' &&
	    !add_entry(t, E_UPTO, PQgetvalue(res, 0, 0))) {
		PQclear(res);
		return oom(r);
	}
	snprintf(t->what, sizeof(t->what), "golang-migrate's %s: at version %s",
		 t->table, PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static int read_dbmate(struct adopt_run *r, struct rn_conn *c, struct theirs *t)
{
	char *sql = phg_asprintf("SELECT version::text FROM %s WHERE version "
				 "IS NOT NULL ORDER BY 1",
				 t->table);
	PGresult *res;
	int rc;

	if (!sql)
		return oom(r);
	rc = rn_query(c, sql, 0, NULL, &res, "cannot read schema_migrations",
		      r->err);
	free(sql);
	if (rc < 0)
		return rc;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++)
		if (!add_entry(t, E_VERSION, PQgetvalue(res, i, 0)))
			rc = oom(r);
	snprintf(t->what, sizeof(t->what),
		 "dbmate's %s: %d migration%s applied", t->table,
		 PQntuples(res), PQntuples(res) == 1 ? "" : "s");
	PQclear(res);
	return rc;
}

/* The live entry for a Flyway version or script, or NULL. */
static struct entry *flyway_live(struct theirs *t, enum entry_kind k,
				 const char *key)
{
	for (size_t i = t->n; i-- > 0;)
		if (!t->e[i].removed && t->e[i].kind == k &&
		    (k == E_SCRIPT ? strcmp(t->e[i].key, key) == 0
				   : phg_version_cmp(t->e[i].key, key) == 0))
			return &t->e[i];
	return NULL;
}

static int read_flyway(struct adopt_run *r, struct rn_conn *c, struct theirs *t)
{
	char *sql = phg_asprintf(
		"SELECT version, description, type, script, checksum, success, "
		"installed_on::timestamptz::text, execution_time FROM %s ORDER "
		"BY installed_rank",
		t->table);
	PGresult *res;
	size_t applied = 0;
	int rc;

	if (!sql)
		return oom(r);
	rc = rn_query(c, sql, 0, NULL, &res,
		      "cannot read flyway_schema_history", r->err);
	free(sql);
	if (rc < 0)
		return rc;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		const char *version =
			PQgetisnull(res, i, 0) ? NULL : PQgetvalue(res, i, 0);
		const char *type = PQgetvalue(res, i, 2);
		const char *script = PQgetvalue(res, i, 3);
		enum entry_kind k = version ? E_VERSION : E_SCRIPT;
		const char *key = version ? version : script;
		struct entry *e;

		if (PQgetvalue(res, i, 5)[0] != 't') {
			char msg[1024];

			snprintf(msg, sizeof(msg),
				 "region '%s': Flyway's %s shows a failed "
				 "migration: %s%s ('%s'); it may have left "
				 "part of its work. Repair the database, then "
				 "'flyway repair', then adopt again",
				 c->region, t->table, version ? "version " : "",
				 version ? version : script,
				 PQgetvalue(res, i, 1));
			PQclear(res);
			return refuse(r, msg);
		}
		/* The history table's and the schema's own creation. */
		if (!strcmp(type, "SCHEMA") || !strcmp(type, "TABLE"))
			continue;
		/* An undone or deleted migration is no longer applied. */
		if (!strcmp(type, "DELETE") || phg_has_prefix(type, "UNDO_")) {
			e = flyway_live(t, k, key);
			if (e)
				e->removed = true;
			continue;
		}
		if (version && (!strcmp(type, "BASELINE") ||
				phg_has_suffix(type, "_BASELINE")))
			k = E_UPTO;
		/* A repeatable that ran again: the last run counts. */
		e = k == E_SCRIPT ? flyway_live(t, k, key) : NULL;
		if (e)
			e->removed = true;
		e = add_entry(t, k, key);
		if (!e) {
			rc = oom(r);
			break;
		}
		e->quiet = k == E_UPTO;
		e->desc = col(res, i, 1);
		e->has_crc = !PQgetisnull(res, i, 4);
		e->crc = e->has_crc ? atoll(PQgetvalue(res, i, 4)) : 0;
		e->started = col(res, i, 6);
		e->finished = col(res, i, 6);
		e->ms = col(res, i, 7);
		applied++;
	}
	PQclear(res);
	snprintf(t->what, sizeof(t->what), "Flyway's %s: %zu applied entr%s",
		 t->table, applied, applied == 1 ? "y" : "ies");
	return rc;
}

/* Indexes the live entries for the lookups by name, version and script. */
static int index_entries(struct adopt_run *r, struct theirs *t)
{
	phg_arena_init(&t->arena);
	phg_map_init(&t->by_name, &t->arena);
	phg_map_init(&t->by_version, &t->arena);
	phg_map_init(&t->by_script, &t->arena);
	phg_map_init(&t->by_desc, &t->arena);
	for (size_t i = 0; i < t->n; i++) {
		struct entry *e = &t->e[i];
		char vk[256];
		int rc = 0;

		if (e->removed)
			continue;
		switch (e->kind) {
		case E_NAME:
			rc = phg_map_put(&t->by_name, e->key, e);
			break;
		case E_VERSION:
			/* dbmate versions are strings; ones that are not
			   numbers are matched by name. */
			rc = version_key(e->key, vk, sizeof(vk))
				     ? phg_map_put(&t->by_version, vk, e)
				     : phg_map_put(&t->by_name, e->key, e);
			break;
		case E_SCRIPT:
			rc = phg_map_put(&t->by_script, base_name(e->key), e);
			if (rc == 0 && e->desc)
				rc = phg_map_put(&t->by_desc, e->desc, e);
			break;
		case E_UPTO: {
			struct entry **grown = realloc(
				t->upto, (t->nupto + 1) * sizeof(*grown));

			if (!grown)
				return oom(r);
			t->upto = grown;
			t->upto[t->nupto++] = e;
			break;
		}
		}
		if (rc < 0)
			return oom(r);
	}
	return 0;
}

/* The entry of the other tool's history that covers m, or NULL. */
static struct entry *match(struct theirs *t, const struct phg_migration *m)
{
	struct entry *e;
	char vk[256], key[1024];

	if (m->repeatable) {
		e = phg_map_get(&t->by_script, base_name(m->path));
		if (!e) {
			flyway_desc(m->name, key, sizeof(key));
			e = phg_map_get(&t->by_desc, key);
		}
		return e;
	}
	e = phg_map_get(&t->by_name, m->name);
	if (!e) {
		/* A Prisma folder named "..._x.sql" is "..._x" here. */
		snprintf(key, sizeof(key), "%s.sql", m->name);
		e = phg_map_get(&t->by_name, key);
	}
	if (!e && version_key(m->version, vk, sizeof(vk)))
		e = phg_map_get(&t->by_version, vk);
	for (size_t i = 0; !e && *m->version && i < t->nupto; i++)
		if (phg_version_cmp(m->version, t->upto[i]->key) <= 0)
			e = t->upto[i];
	return e;
}

/* Whether an E_UPTO entry's own version has a file. */
static bool upto_has_file(const struct adopt_run *r, const struct entry *e)
{
	for (size_t i = 0; i < r->lint.nmigrations; i++) {
		const struct phg_migration *m = r->lint.migrations[i].mig;

		if (!m->repeatable && phg_version_cmp(m->version, e->key) == 0)
			return true;
	}
	return false;
}

/* Appends v to a PostgreSQL array literal being built (NULL as NULL). */
static int arr_add(struct phg_buf *b, const char *v)
{
	int rc = phg_buf_puts(b, b->len > 1 ? "," : "");

	if (rc == 0 && !v)
		return phg_buf_puts(b, "NULL");
	rc = rc ? rc : phg_buf_puts(b, "\"");
	for (const char *p = v; rc == 0 && *p; p++) {
		if (*p == '"' || *p == '\\')
			rc = phg_buf_puts(b, "\\");
		rc = rc ? rc : phg_buf_add(b, p, 1);
	}
	return rc ? rc : phg_buf_puts(b, "\"");
}

/* The rows to write: one array per column. */
enum {
	A_NAME,
	A_VERSION,
	A_SUM,
	A_PHASE,
	A_TX,
	A_DONE,
	A_START,
	A_FIN,
	A_MS,
	NA
};

static int add_row(struct phg_buf *a, const struct phg_lint_migration *lm,
		   const struct entry *e)
{
	char done[32];
	int rc;

	snprintf(done, sizeof(done), "%zu", lm->nstmts);
	rc = arr_add(&a[A_NAME], lm->mig->name);
	rc = rc ? rc : arr_add(&a[A_VERSION], lm->mig->version);
	rc = rc ? rc : arr_add(&a[A_SUM], lm->mig->checksum);
	rc = rc ? rc : arr_add(&a[A_PHASE], phg_phase_name(lm->phase));
	rc = rc ? rc
		: arr_add(&a[A_TX], lm->no_transaction || lm->own_transaction
					    ? "f"
					    : "t");
	rc = rc ? rc : arr_add(&a[A_DONE], done);
	rc = rc ? rc : arr_add(&a[A_START], e->started);
	rc = rc ? rc : arr_add(&a[A_FIN], e->finished);
	return rc ? rc : arr_add(&a[A_MS], e->ms);
}

/*
 * Writes the rows in one statement; a row whose name is already in the
 * history (written since it was read, which the lock rules out, or there
 * before) is left alone. *written is how many went in.
 */
static int write_rows(struct adopt_run *r, struct rn_conn *c, struct phg_buf *a,
		      size_t *written)
{
	char host[256];
	const char *params[NA + 2];
	char *sql;
	PGresult *res;
	int rc;

	rn_hostname(host, sizeof(host));
	for (int i = 0; i < NA; i++)
		params[i] = a[i].data;
	params[NA] = rn_whoami();
	params[NA + 1] = host;
	sql = phg_asprintf(
		"INSERT INTO %s.history (name, version, checksum, phase, "
		"release, state, transactional, statements_done, started_at, "
		"finished_at, duration_ms, applied_by, applied_host, "
		"phasegate_version, no_gate) SELECT u.name, u.version, "
		"u.checksum, u.phase, 'adopted', 'applied', u.tx, u.done, "
		"coalesce(u.started, u.finished, now()), coalesce(u.finished, "
		"u.started, now()), u.ms, $10, $11, '" PHG_VERSION "', false "
		"FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
		"$5::boolean[], $6::integer[], $7::timestamptz[], "
		"$8::timestamptz[], $9::bigint[]) AS u(name, version, "
		"checksum, "
		"phase, tx, done, started, finished, ms) ON CONFLICT (name) DO "
		"NOTHING",
		c->schema);
	if (!sql)
		return oom(r);
	rc = rn_query(c, sql, NA + 2, params, &res,
		      "cannot record the adopted migrations", r->err);
	free(sql);
	if (rc < 0)
		return rc;
	*written = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

/*
 * A file's checksum against the one the other tool recorded when it ran
 * it. Returns false for a Flyway repeatable migration that changed since:
 * Flyway would run it again, so it is not adopted.
 */
static bool check_sum(struct adopt_run *r, const char *region,
		      const struct phg_migration *m, const struct entry *e)
{
	struct phg_migration copy = *m;
	struct phg_buf text = {0};
	struct phg_err ignored = {0};
	long long crc;

	if (e->checksum && !phg_streq(e->checksum, m->checksum))
		warn(r, region, m->name,
		     "'%s' changed since Prisma applied it (sha256 %s then, "
		     "%s now); adopted as it is now",
		     m->path, e->checksum, m->checksum);
	if (!e->has_crc || phg_source_read(&copy, &text, &ignored) < 0) {
		phg_buf_release(&text);
		return true;
	}
	crc = flyway_checksum(text.data ? text.data : "", text.len);
	phg_buf_release(&text);
	if (crc == e->crc)
		return true;
	if (m->repeatable) {
		r->res->changed++;
		warn(r, region, m->name,
		     "'%s' changed since Flyway last ran it (checksum %lld "
		     "then, %lld now): Flyway would run it again, so it stays "
		     "pending",
		     m->path, e->crc, crc);
		return false;
	}
	warn(r, region, m->name,
	     "'%s' changed since Flyway applied it (checksum %lld then, %lld "
	     "now); adopted as it is now",
	     m->path, e->crc, crc);
	return true;
}

/* Warns about each entry of the other tool's history with no file. */
static void warn_unmatched(struct adopt_run *r, const char *region,
			   struct theirs *t)
{
	const char *tool = phg_adopt_tool_name(r->o->from);

	for (size_t i = 0; i < t->n; i++) {
		struct entry *e = &t->e[i];

		if (e->removed || e->quiet)
			continue;
		if (e->kind == E_UPTO ? upto_has_file(r, e) : e->matched)
			continue;
		r->res->unmatched++;
		if (e->kind == E_NAME)
			warn(r, region, e->key,
			     "'%s' is in %s's history but has no folder "
			     "here; not recorded",
			     e->key, tool);
		else if (e->kind == E_SCRIPT)
			warn(r, region, e->key,
			     "repeatable '%s' is in %s's history but has no "
			     "file here; not recorded",
			     e->key, tool);
		else
			warn(r, region, e->key,
			     "version %s%s%s%s is in %s's history but has no "
			     "file here; %s",
			     e->key, e->desc ? " ('" : "",
			     e->desc ? e->desc : "", e->desc ? "')" : "", tool,
			     e->kind == E_UPTO
				     ? "the migrations before it are adopted"
				     : "not recorded");
	}
}

static int read_theirs(struct adopt_run *r, struct rn_conn *c, struct theirs *t)
{
	int rc = find_table(r, c, t);

	if (rc < 0)
		return rc;
	switch (r->o->from) {
	case PHG_ADOPT_PRISMA:
		rc = read_prisma(r, c, t);
		break;
	case PHG_ADOPT_GOLANG_MIGRATE:
		rc = read_golang_migrate(r, c, t);
		break;
	case PHG_ADOPT_DBMATE:
		rc = read_dbmate(r, c, t);
		break;
	case PHG_ADOPT_FLYWAY:
		rc = read_flyway(r, c, t);
		break;
	}
	return rc < 0 ? rc : index_entries(r, t);
}

static int adopt_region(struct adopt_run *r, const struct phg_region *reg)
{
	const struct phg_runner_opts *o = &r->o->run;
	struct theirs t = {0};
	struct phg_history_row *rows = NULL;
	size_t nrows = 0, adopted = 0, already = 0, written = 0;
	struct phg_buf arr[NA] = {{0}};
	struct phg_arena arena;
	struct phg_map mine;
	struct rn_conn c;
	bool exists = true;
	char done[200];
	int rc;

	phg_arena_init(&arena);
	phg_map_init(&mine, &arena);
	rc = rn_connect(o->cfg, reg, &c, r->err);
	if (rc < 0)
		goto out;
	if (!o->dry_run)
		rc = rn_lock(&c, o->cfg->migrate.advisory_lock_wait_ms,
			     o->progress, o->progress_ctx, r->err);
	/* The other tool's state first: a refusal leaves nothing behind,
	   not even phasegate's history table. */
	if (rc == 0)
		rc = read_theirs(r, &c, &t);
	if (rc == 0)
		emit(r, PHG_EV_REGION_START, reg->name, NULL, t.what, 0);
	if (rc == 0)
		rc = o->dry_run ? rn_history_exists(&c, &exists, r->err)
				: rn_history_ensure(&c, r->err);
	if (rc == 0 && exists)
		rc = rn_history_read(&c, &rows, &nrows, r->err);
	for (size_t i = 0; rc == 0 && i < nrows; i++)
		if (phg_map_put(&mine, rows[i].name, &rows[i]) < 0)
			rc = oom(r);
	for (size_t i = 0; rc == 0 && i < NA; i++)
		rc = phg_buf_puts(&arr[i], "{") < 0 ? oom(r) : 0;
	for (size_t i = 0; rc == 0 && i < r->lint.nmigrations; i++) {
		const struct phg_lint_migration *lm = &r->lint.migrations[i];
		struct entry *e = match(&t, lm->mig);

		if (!e)
			continue;
		if (e->kind != E_UPTO)
			e->matched = true;
		if (phg_map_get(&mine, lm->mig->name)) {
			already++;
			continue;
		}
		if (!check_sum(r, reg->name, lm->mig, e))
			continue;
		if (add_row(arr, lm, e) < 0) {
			rc = oom(r);
			break;
		}
		adopted++;
		emit(r, PHG_EV_ADOPTED, reg->name, lm->mig->name,
		     phg_phase_name(lm->phase), 0);
	}
	for (size_t i = 0; rc == 0 && i < NA; i++)
		rc = phg_buf_puts(&arr[i], "}") < 0 ? oom(r) : 0;
	if (rc == 0)
		warn_unmatched(r, reg->name, &t);
	if (rc == 0 && !o->dry_run && adopted > 0)
		rc = write_rows(r, &c, arr, &written);
	if (rc == 0) {
		if (o->dry_run)
			written = adopted;
		r->res->adopted += written;
		r->res->already += already;
		snprintf(done, sizeof(done),
			 "%zu %s, %zu already in phasegate's history", written,
			 o->dry_run ? "to adopt" : "adopted", already);
		emit(r, PHG_EV_REGION_DONE, reg->name, NULL, done, written);
	}
out:
	for (size_t i = 0; i < NA; i++)
		phg_buf_release(&arr[i]);
	rn_history_free(rows, nrows);
	if (c.pg)
		rn_close(&c);
	theirs_release(&t);
	phg_map_release(&mine);
	phg_arena_release(&arena);
	return rc;
}

int phg_runner_adopt(const struct phg_adopt_opts *opts,
		     struct phg_adopt_result *res, struct phg_err *err)
{
	struct adopt_run r = {.o = opts, .res = res, .err = err};
	struct phg_lint_opts lo = {0};
	const struct phg_region **regions = NULL;
	size_t n = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = rn_select_regions(opts->run.cfg, opts->run.region,
			       opts->run.all_regions, &regions, &n, err);
	if (rc == 0) {
		/* The phases and how each file would run, and checksums. */
		lo.cfg = opts->run.cfg;
		lo.have_config = true;
		lo.collect = true;
		rc = phg_lint_run(&lo, &r.lint, err);
		r.have_lint = true;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		/* A replica shows its primary's history: nothing to write. */
		if (regions[i]->replica_of) {
			warn(&r, regions[i]->name, NULL,
			     "region '%s' is a replica of '%s': it shows that "
			     "region's history, nothing to record",
			     regions[i]->name, regions[i]->replica_of);
			continue;
		}
		rc = adopt_region(&r, regions[i]);
	}
	if (r.have_lint)
		phg_lint_result_release(&r.lint);
	free(regions);
	return rc;
}
