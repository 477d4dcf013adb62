/*
 * err.c: recording the first error of an operation (struct phg_err), and the
 * names of error codes.
 */
#include "util.h"

#include <stdio.h>
#include <string.h>

/* The format attribute lets clang check callers' formats (-Wformat=2). */
static void err_fill(struct phg_err *err, int code, const char *file, int line,
		     int col, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));

static void err_fill(struct phg_err *err, int code, const char *file, int line,
		     int col, const char *fmt, va_list ap)
{
	err->code = code;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	err->line = line;
	err->col = col;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int phg_err_set(struct phg_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code != 0)
		return code;
	va_start(ap, fmt);
	err_fill(err, code, NULL, 0, 0, fmt, ap);
	va_end(ap);
	return code;
}

int phg_err_set_at(struct phg_err *err, int code, const char *file, int line,
		   int col, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code != 0)
		return code;
	va_start(ap, fmt);
	err_fill(err, code, file, line, col, fmt, ap);
	va_end(ap);
	return code;
}

const char *phg_code_name(enum phg_code code)
{
	switch (code) {
	case PHG_OK:
		return "ok";
	case PHG_ENOMEM:
		return "out of memory";
	case PHG_EIO:
		return "i/o error";
	case PHG_EUSAGE:
		return "usage error";
	case PHG_ECONFIG:
		return "config error";
	case PHG_EINPUT:
		return "input error";
	case PHG_ERUNTIME:
		return "runtime error";
	}
	return "unknown error";
}
