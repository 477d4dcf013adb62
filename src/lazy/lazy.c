/*
 * lazy.c: the resolver behind the generated library stubs (lazy.h): the
 * first call of a stubbed function opens its library and finds the function.
 */
#include "lazy.h"

#include <dlfcn.h>
#include <stdlib.h>

static phg_lazy_fail_fn fail_fn;

void phg_lazy_on_fail(phg_lazy_fail_fn fn)
{
	__atomic_store_n(&fail_fn, fn, __ATOMIC_RELEASE);
}

static void fail(const char *soname, const char *why)
{
	phg_lazy_fail_fn fn = __atomic_load_n(&fail_fn, __ATOMIC_ACQUIRE);

	if (fn)
		fn(soname, why ? why : "unknown error");
	abort();
}

void *phg_lazy_resolve(struct phg_lazy_lib *lib, unsigned idx)
{
	void *h = __atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE);
	void *fn;

	if (h == NULL) {
		/* Two threads may both open it: dlopen counts references and
		 * returns the same handle. */
		h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
		if (h == NULL)
			fail(lib->soname, dlerror());
		__atomic_store_n(&lib->handle, h, __ATOMIC_RELEASE);
	}
	if (idx >= lib->n)
		fail(lib->soname, "function index out of range");
	fn = dlsym(h, lib->names + lib->offsets[idx]);
	if (fn == NULL)
		fail(lib->soname, dlerror());
	__atomic_store_n(&lib->tab[idx], fn, __ATOMIC_RELEASE);
	return fn;
}
