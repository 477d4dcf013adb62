/*
 * boundaries.c: what one lint target means (DESIGN's "Lint targets") and
 * where its release boundaries are (DESIGN's "Where release boundaries come
 * from"): --base REF, else the config's releases, else one release per
 * migration.
 */
#include <fnmatch.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int alloc_releases(struct lint_folder *f, size_t n, struct phg_err *err)
{
	f->nreleases = n;
	f->lint_release = calloc(n + 1, sizeof(*f->lint_release));
	f->release_of = calloc(f->set.n + 1, sizeof(*f->release_of));
	if (!f->lint_release || !f->release_of)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	return 0;
}

static int add_release_info(struct lint_folder *f, const char *name,
			    size_t first, size_t end)
{
	struct phg_lint_release *r =
		phg_arena_alloc(&f->res->arena, sizeof(*r));

	if (!r)
		return PHG_ENOMEM;
	r->name = phg_arena_strdup(&f->res->arena, name);
	r->first = first;
	r->end = end;
	return phg_vec_push(&f->res->releases, r);
}

/* Migration i's path relative to the folder ("0001_x.sql", "x/up.sql"). */
static const char *rel_path(const struct lint_folder *f, size_t i)
{
	const char *rel = f->set.items[i].path + strlen(f->set.dir);

	while (*rel == '/')
		rel++;
	return rel;
}

static bool listed(char *const *files, const char *rel)
{
	for (size_t k = 0; files && files[k]; k++)
		if (phg_streq(files[k], rel))
			return true;
	return false;
}

/* --base REF: what git holds at REF is history (release 0). */
static int by_base(struct lint_folder *f, struct phg_err *err)
{
	char **files = NULL;
	int rc = phg_git_ls_tree(f->set.dir, f->opts->base, &files, err);

	if (rc == 0)
		rc = alloc_releases(f, 2, err);
	for (size_t i = 0; rc == 0 && i < f->set.n; i++)
		f->release_of[i] = listed(files, rel_path(f, i)) ? 0 : 1;
	phg_git_paths_free(files);
	if (rc < 0)
		return rc;
	if (rc == 0 && (add_release_info(f, f->opts->base, 0, 0) < 0 ||
			add_release_info(f, "candidate", 0, f->set.n) < 0))
		rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
	return rc;
}

/* The runner's gate: applied migrations are history (release 0). */
static int by_shipped(struct lint_folder *f, struct phg_err *err)
{
	const struct phg_lint_opts *o = f->opts;
	int rc = alloc_releases(f, 2, err);

	for (size_t i = 0; rc == 0 && i < f->set.n; i++) {
		f->release_of[i] = 1;
		for (size_t k = 0; k < o->nshipped; k++)
			if (phg_streq(o->shipped[k], f->set.items[i].name))
				f->release_of[i] = 0;
	}
	if (rc == 0 && (add_release_info(f, "applied", 0, 0) < 0 ||
			add_release_info(f, "pending", 0, f->set.n) < 0))
		rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
	return rc;
}

/*
 * The config's releases, then the ledger's (appended by the command), then
 * the candidate. A ledger release whose last migration is gone, or that
 * adds nothing after the releases above it, is left out.
 */
static int by_config(struct lint_folder *f, struct phg_err *err)
{
	const struct phg_config *cfg = f->opts->cfg;
	size_t next = 0, used = 0;
	int rc = alloc_releases(f, cfg->nreleases + 1, err);

	for (size_t r = 0; rc == 0 && r < cfg->nreleases; r++) {
		const struct phg_release_def *d = &cfg->releases[r];
		long k = phg_source_find(&f->set, d->through);

		if (d->from_ledger && (k < 0 || (size_t)k + 1 <= next))
			continue;
		if (k < 0)
			return phg_err_set_at(
				err, PHG_ECONFIG, cfg->path, d->line, d->col,
				"release '%s': through '%s' matches no "
				"migration in '%s'",
				d->name, d->through, f->set.dir);
		if ((size_t)k + 1 < next)
			return phg_err_set_at(
				err, PHG_ECONFIG, cfg->path, d->line, d->col,
				"release '%s': through '%s' comes before the "
				"end of the release listed above it",
				d->name, d->through);
		for (size_t i = next; i <= (size_t)k; i++)
			f->release_of[i] = (int)used;
		if (add_release_info(f, d->name, next, (size_t)k + 1) < 0)
			return phg_err_set(err, PHG_ENOMEM, "out of memory");
		next = (size_t)k + 1;
		used++;
	}
	f->nreleases = used + 1;
	for (size_t i = next; rc == 0 && i < f->set.n; i++)
		f->release_of[i] = (int)used;
	if (rc == 0 && add_release_info(f, "candidate", next, f->set.n) < 0)
		rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
	return rc;
}

/* No boundaries: each migration is a release of its own. */
static int by_migration(struct lint_folder *f, struct phg_err *err)
{
	int rc = alloc_releases(f, f->set.n, err);

	for (size_t i = 0; rc == 0 && i < f->set.n; i++) {
		f->release_of[i] = (int)i;
		if (add_release_info(f, f->set.items[i].name, i, i + 1) < 0)
			rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
	}
	return rc;
}

/*
 * Whether glob matches migration path rel, or one of the folders it is in
 * (so "2019*_legacy" covers "20190101_legacy/migration.sql"); '*' stays
 * within one part of the path.
 */
static bool glob_matches(const char *glob, const char *rel)
{
	char part[4096];

	if (fnmatch(glob, rel, FNM_PATHNAME) == 0)
		return true;
	for (const char *s = strchr(rel, '/'); s; s = strchr(s + 1, '/')) {
		size_t n = (size_t)(s - rel);

		if (n >= sizeof(part))
			break;
		memcpy(part, rel, n);
		part[n] = '\0';
		if (fnmatch(glob, part, FNM_PATHNAME) == 0)
			return true;
	}
	return false;
}

/*
 * Which migrations are reported: those the config's exclude globs do not
 * match and, with --changed-since, whose file differs from the ref.
 */
static int choose_reported(struct lint_folder *f, struct phg_err *err)
{
	const struct phg_lint_opts *o = f->opts;
	char **changed = NULL;
	int rc = 0;

	f->reported = calloc(f->set.n + 1, sizeof(*f->reported));
	if (!f->reported)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	if (o->changed_since)
		rc = phg_git_changed(f->set.dir, o->changed_since, &changed,
				     err);
	for (size_t i = 0; rc == 0 && i < f->set.n; i++) {
		const char *rel = rel_path(f, i);

		f->reported[i] = !o->changed_since || listed(changed, rel);
		for (size_t k = 0; k < o->cfg->nexclude && f->reported[i]; k++)
			if (glob_matches(o->cfg->exclude[k], rel))
				f->reported[i] = false;
	}
	phg_git_paths_free(changed);
	return rc;
}

/* Whether release r holds a migration that is reported. */
static bool reports_in(const struct lint_folder *f, size_t r)
{
	for (size_t i = 0; i < f->set.n; i++)
		if (f->release_of[i] == (int)r && f->reported[i])
			return true;
	return false;
}

static int choose_releases(struct lint_folder *f, bool own, struct phg_err *err)
{
	const struct phg_lint_opts *o = f->opts;
	size_t first = f->res->releases.n - f->nreleases;

	f->stop = f->set.n;
	if (f->only >= 0) {
		f->lint_release[f->release_of[f->only]] = true;
		f->stop = (size_t)f->only + 1;
		return 0;
	}
	if (o->release) {
		for (size_t r = 0; r < f->nreleases; r++) {
			const struct phg_lint_release *info =
				f->res->releases.items[first + r];

			if (phg_streq(info->name, o->release)) {
				f->lint_release[r] = true;
				for (size_t i = 0; i < f->set.n; i++)
					if (f->release_of[i] == (int)r)
						f->stop = i + 1;
				return 0;
			}
		}
		return phg_err_set(err, PHG_EUSAGE,
				   "--release '%s': no release of that name "
				   "in '%s'",
				   o->release, f->set.dir);
	}
	/* --changed-since: each release that holds a changed migration. */
	for (size_t r = 0; r < f->nreleases; r++)
		f->lint_release[r] =
			o->changed_since
				? reports_in(f, r)
				: o->all || own || r + 1 == f->nreleases;
	return 0;
}

static int mark_linted(struct lint_folder *f)
{
	size_t first = f->res->releases.n - f->nreleases;

	for (size_t r = 0; r < f->nreleases; r++) {
		struct phg_lint_release *info =
			f->res->releases.items[first + r];

		info->linted = f->lint_release[r];
	}
	return 0;
}

/* The migrations folder of a migration file (Prisma and Diesel nest). */
static char *folder_of(const char *file)
{
	char *a = phg_strdup(file), *b, *dir;
	const char *base;

	if (!a)
		return NULL;
	base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	dir = phg_strdup(dirname(a));
	free(a);
	if (dir &&
	    (phg_streq(base, "migration.sql") || phg_streq(base, "up.sql"))) {
		b = phg_strdup(dirname(dir));
		free(dir);
		dir = b;
	}
	return dir;
}

int lint_target_prepare(struct lint_folder *f, const char *path,
			struct phg_err *err)
{
	const struct phg_lint_opts *o = f->opts;
	struct stat st;
	char *dir = NULL;
	bool own = false;
	int rc;

	if (stat(path, &st) < 0) {
		struct phg_buf b = {0};

		/* phg_read_file words the reason as everywhere else. */
		rc = phg_read_file(path, &b, err);
		phg_buf_release(&b);
		return rc < 0 ? rc
			      : phg_err_set(err, PHG_EIO, "cannot read '%s'",
					    path);
	}
	if (S_ISDIR(st.st_mode)) {
		dir = phg_strdup(path);
	} else {
		dir = folder_of(path);
	}
	if (!dir)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	rc = phg_source_discover_cached(dir, &f->set, err);
	if (rc < 0)
		goto out;
	if (!S_ISDIR(st.st_mode)) {
		for (size_t i = 0; i < f->set.n; i++)
			if (same_file(f->set.items[i].path, path))
				f->only = (long)i;
		if (f->only < 0) {
			rc = phg_err_set(err, PHG_EUSAGE,
					 "'%s' is not a forward migration of "
					 "'%s'",
					 path, dir);
			goto out;
		}
	}
	if (o->shipped) {
		rc = by_shipped(f, err);
	} else if (o->base) {
		rc = by_base(f, err);
	} else if (o->have_config && o->cfg->nreleases > 0 &&
		   same_file(dir, o->cfg->migrations)) {
		rc = by_config(f, err);
	} else {
		own = true;
		rc = by_migration(f, err);
	}
	if (rc == 0)
		rc = choose_reported(f, err);
	if (rc == 0)
		rc = choose_releases(f, own, err);
	if (rc == 0)
		rc = mark_linted(f);
out:
	free(dir);
	return rc;
}
