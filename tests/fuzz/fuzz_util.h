/*
 * fuzz_util: what the libFuzzer targets share — the entry points' prototypes
 * (the strict warnings want them), one private temporary folder per process
 * that is emptied after every input and removed at exit, and small helpers
 * to write files into it and split inputs.
 */
#ifndef PHG_FUZZ_UTIL_H
#define PHG_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Creates the process's temporary folder (under TMPDIR or /tmp) on the first
 * call and returns its path; the folder and everything in it is removed at
 * exit. Aborts when it cannot be created: a fuzz run without it is useless.
 */
const char *fz_root(void);

/*
 * Returns a malloc'd "<fz_root()>/<rel>" (aborts when out of memory, which
 * a fuzz target must report as a crash rather than hide).
 */
char *fz_path(const char *rel);

/*
 * Writes len bytes to <fz_root()>/<rel>, creating the folders on the way.
 * Returns false when a folder or the file cannot be made (a name the
 * description made impossible, e.g. a file where a folder is needed).
 */
bool fz_write(const char *rel, const void *data, size_t len);

/* Removes everything inside fz_root(), never following symbolic links. */
void fz_clear(void);

/*
 * Makes the environment fixed, so a run depends only on its input: only
 * the names given (NULL-terminated "NAME=value" strings) are set.
 */
void fz_fixed_env(char *const *vars);

/*
 * Finds the next occurrence of sep (seplen bytes) in data[from, size);
 * returns its offset, or size when there is none.
 */
size_t fz_find(const uint8_t *data, size_t size, size_t from, const char *sep,
	       size_t seplen);

#endif
