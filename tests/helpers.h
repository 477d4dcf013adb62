/*
 * helpers: what the Check suites share — the source folder, temporary
 * folders, writing files, and running the phasegate binary with argv.
 */
#ifndef PHG_TEST_HELPERS_H
#define PHG_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

/* The repository root (PHG_SOURCE_DIR, set by CTest). */
const char *th_source_dir(void);
/* Joins the repository root and rel into a static buffer. */
const char *th_src_path(const char *rel);
/* Creates a fresh temporary folder and returns its malloc'd path. */
char *th_tmpdir(void);
/* Writes len bytes to dir/rel, creating parent folders. */
void th_write(const char *dir, const char *rel, const char *data, size_t len);
/* Writes a NUL-terminated string to dir/rel. */
void th_write_str(const char *dir, const char *rel, const char *data);
/* Removes a folder tree. */
void th_rmtree(const char *dir);
/*
 * Runs the phasegate binary (PHG_BINARY) with argv (NULL-terminated, argv[0]
 * excluded) in folder cwd; returns its exit code and sets *out / *errout to
 * malloc'd captured stdout / stderr (either may be NULL to discard).
 */
int th_run(const char *cwd, const char *const *argv, char **out, char **errout);
/* Reads a whole file into a malloc'd string (NULL when missing). */
char *th_slurp(const char *path);
/* "a/b", malloc'd. */
char *th_join(const char *a, const char *b);
/* Copies a file. */
void th_copy_file(const char *from, const char *to);
/* Copies a folder tree; with skip_expected, not the expected.* files of
   its top folder (a scenario's snapshots). */
void th_copy_tree(const char *from, const char *to, bool skip_expected);
/* Whether snapshots are being rewritten (PHG_UPDATE_SNAPSHOTS=1). */
bool th_updating_snapshots(void);

#endif
