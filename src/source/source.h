/*
 * source: finds the migrations in a folder, whatever tool wrote them
 * (numbered, golang-migrate, Prisma, dbmate, Flyway, Diesel), orders them as
 * that tool does and records the layout's markers.
 */
#ifndef PHG_SOURCE_H
#define PHG_SOURCE_H

#include "../util/util.h"

enum phg_layout {
	PHG_LAYOUT_NUMBERED,	   /* 0001_name.sql */
	PHG_LAYOUT_GOLANG_MIGRATE, /* 1_name.up.sql + 1_name.down.sql */
	PHG_LAYOUT_PRISMA,	   /* 20240101120000_name/migration.sql */
	PHG_LAYOUT_DBMATE, /* -- migrate:up / -- migrate:down sections */
	PHG_LAYOUT_FLYWAY, /* V1__name.sql, V1.1__name.sql, R__name.sql */
	PHG_LAYOUT_DIESEL  /* 2017-03-18-181441_name/up.sql + down.sql */
};

/* Returns the layout's name as documented ("numbered", "prisma", ...). */
const char *phg_layout_name(enum phg_layout layout);

/* One forward migration. */
struct phg_migration {
	char *path;    /* the SQL file to read: "<dir>/0001_x.sql", ... */
	char *name;    /* full name: file or folder name without ".sql" (and
			  without ".up.sql" for golang-migrate) */
	char *version; /* the version as the layout writes it: "0001", "1.1",
			  "20170318181441" (Diesel, dashes removed); "" for a
			  Flyway repeatable migration */
	enum phg_layout layout;
	bool repeatable;     /* Flyway R__ */
	bool no_transaction; /* dbmate transaction:false, or Diesel
				metadata.toml run_in_transaction = false */
	/* The forward SQL is text[up_start, up_end) of the file; for dbmate
	   that is the "-- migrate:up" section, for others the whole file. */
	size_t up_start, up_end;
	char checksum[65]; /* SHA-256 of the whole file, hex; set by
			      phg_source_load ("" before) */
	/* The file's text as discovery read it, NUL-terminated, owned by the
	   set (phg_source_discover_cached only; else NULL): phg_source_read
	   takes it instead of reading the file a second time. */
	const char *cached;
	size_t cached_len;
};

/* The migrations of one folder, in the order they apply. */
struct phg_migration_set {
	char *dir; /* the folder as given */
	struct phg_migration *items;
	size_t n;
	char *cache; /* the texts items[i].cached point into */
};

/*
 * Discovers the forward migrations in dir and orders them.
 * Down files and "migrate:down" sections are not forward migrations. Two
 * migrations with one version fail with PHG_EINPUT naming both; an
 * unreadable folder or file fails with PHG_EIO naming it. On success the
 * caller releases out with phg_source_release; on failure out is empty.
 */
int phg_source_discover(const char *dir, struct phg_migration_set *out,
			struct phg_err *err);

/*
 * phg_source_discover that also keeps each file's text (up to
 * PHG_SOURCE_CACHE_MAX bytes in all), for a caller that reads every
 * migration right away: lint. A runner reads files when it applies them,
 * so it does not keep them.
 */
#define PHG_SOURCE_CACHE_MAX (64u * 1024 * 1024)
int phg_source_discover_cached(const char *dir, struct phg_migration_set *out,
			       struct phg_err *err);

/* Frees what phg_source_discover allocated. */
void phg_source_release(struct phg_migration_set *set);

/*
 * Orders two migrations as their layout's tool does: digit strings of any
 * length numerically, Flyway versions part by part, repeatable last, then by
 * name. Returns <0, 0 or >0.
 */
int phg_migration_cmp(const struct phg_migration *a,
		      const struct phg_migration *b);

/*
 * Returns the index of the migration whose version or full name is ref
 * ("0002", "1.1", "0002_add_slug"), or -1 when none matches. Versions
 * compare as numbers ("2" finds "0002"; a Diesel version also in its dashed
 * form); a name matches first. When Prisma folders share a version, the
 * last of them is returned, so a release "through" it holds them all.
 */
long phg_source_find(const struct phg_migration_set *set, const char *ref);

/*
 * Compares two versions as numbers: parts split at '.' or '_' are digit
 * strings of any length compared without conversion, and a missing part
 * counts as 0 ("002" == "2", "1.2" < "1.10", "1" == "1.0", "1_1" == "1.1").
 * Returns <0, 0 or >0.
 */
int phg_version_cmp(const char *a, const char *b);

/*
 * Finds the forward SQL of a dbmate migration in text[0..len): from after
 * the first "-- migrate:up" line's newline to the start of the next
 * "-- migrate:down" line, or to the end. Returns false when text has no
 * "-- migrate:up" line (nothing is set); otherwise sets *up_start, *up_end
 * and *no_transaction (the up line says "transaction:false").
 */
bool phg_dbmate_sections(const char *text, size_t len, size_t *up_start,
			 size_t *up_end, bool *no_transaction);

/*
 * Reads a migration's file into text (whole file, so offsets and lines are
 * the file's own) and refreshes up_start/up_end. The caller releases text.
 */
int phg_source_load(struct phg_migration *m, struct phg_buf *text,
		    struct phg_err *err);

/*
 * Like phg_source_load without the checksum (lint does not need it): reads
 * the file into text and refreshes up_start/up_end.
 */
int phg_source_read(struct phg_migration *m, struct phg_buf *text,
		    struct phg_err *err);

#endif
