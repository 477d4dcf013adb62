/*
 * lazy: shared libraries loaded on first use. phasegate links libpq,
 * libcurl, libsqlite3 and libcrypto through stubs generated at configure time
 * (cmake/lazylib.cmake): each exported function of the library gets a stub
 * with the function's own name that jumps through a table; the first call of
 * each goes through phg_lazy_resolve, which opens the library with dlopen and
 * looks the function up. Callers include the library's own header and call it
 * as usual. A command that never calls them (lint, rules, explain) never loads
 * them, nor the twenty-odd libraries they pull in, which was most of a lint
 * process's start-up (docs/benchmarks.md).
 *
 * A library or function that cannot be loaded at the first call is fatal, as
 * it would have been at start-up without the stubs: the handler set with
 * phg_lazy_on_fail is called (main's prints the reason and exits 3); without
 * one, abort().
 */
#ifndef PHG_LAZY_H
#define PHG_LAZY_H

/* One library: written by the generated file, read by the resolver. */
struct phg_lazy_lib {
	const char *soname;	 /* what dlopen opens, e.g. "libpq.so.5" */
	const char *names;	 /* every function name, NUL-separated */
	const unsigned *offsets; /* each name's offset in names */
	void **tab;		 /* each function's address once resolved */
	unsigned n;		 /* how many functions */
	void *handle;		 /* dlopen's handle once opened */
};

/* Called when a library or function cannot be loaded; must not return. */
typedef void (*phg_lazy_fail_fn)(const char *soname, const char *why);

/* Sets the handler for a failed load (NULL: abort()). */
void phg_lazy_on_fail(phg_lazy_fail_fn fn);

/*
 * Opens lib if needed, looks up function idx, stores its address in the
 * table and returns it. Called by the stubs' first call; thread-safe.
 */
void *phg_lazy_resolve(struct phg_lazy_lib *lib, unsigned idx);

#endif
