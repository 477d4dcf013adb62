/*
 * window.c: deployment windows. An instant is turned into local time in
 * the window's IANA time zone with the C library (TZ set for the call,
 * then restored, and localtime_r), so daylight saving changes are the
 * zoneinfo database's business, not ours; the window is then a matter of
 * the local date (denied dates), weekday and minutes after midnight.
 */
#include "orchestrator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const wday[] = {"Sun", "Mon", "Tue", "Wed",
				   "Thu", "Fri", "Sat"};

/* Writes the window's days as "Mon-Thu" or "Mon,Wed,Fri". */
static void days_text(unsigned days, char *buf, size_t size)
{
	int first = -1, last = -1, runs = 0;
	size_t used = 0;

	buf[0] = '\0';
	for (int d = 0; d < 7; d++) {
		if (!(days & (1u << d)))
			continue;
		if (first < 0)
			first = d;
		if (last >= 0 && d != last + 1)
			runs++;
		last = d;
	}
	if (first < 0) {
		snprintf(buf, size, "no day");
		return;
	}
	if (runs == 0 && last > first) {
		snprintf(buf, size, "%s-%s", wday[first], wday[last]);
		return;
	}
	for (int d = 0; d < 7; d++) {
		int n;

		if (!(days & (1u << d)))
			continue;
		n = snprintf(buf + used, size - used, "%s%s", used ? "," : "",
			     wday[d]);
		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
	}
}

/* Converts now to local time in tz; 0, or -1 when tz is unknown. */
static int local_in(const char *tz, time_t now, struct tm *tm)
{
	char *old = getenv("TZ") ? phg_strdup(getenv("TZ")) : NULL;
	char path[512];
	struct stat st;
	int rc = 0;

	/* An unknown zone would silently be UTC: refuse it instead. */
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	if (strstr(tz, "..") || stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		free(old);
		return -1;
	}
	setenv("TZ", tz, 1);
	tzset();
	if (!localtime_r(&now, tm))
		rc = -1;
	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
	return rc;
}

int phg_window_check(const struct phg_window *w, time_t now, bool *open,
		     char *why, size_t why_size, struct phg_err *err)
{
	char date[16], days[40], zone[16] = "", spec[160];
	const char *verdict = NULL;
	struct tm tm;
	int minute;

	if (w->any) {
		*open = true;
		snprintf(why, why_size, "open: the window is 'any'");
		return 0;
	}
	if (local_in(w->timezone, now, &tm) < 0)
		return phg_err_set(err, PHG_ECONFIG,
				   "cannot load time zone '%s' (is tzdata "
				   "installed?)",
				   w->timezone);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	strftime(zone, sizeof(zone), "%Z", &tm);
	minute = tm.tm_hour * 60 + tm.tm_min;
	days_text(w->days, days, sizeof(days));
	snprintf(spec, sizeof(spec), "%s %02d:%02d-%02d:%02d %s", days,
		 w->start_min / 60, w->start_min % 60, w->end_min / 60,
		 w->end_min % 60, w->timezone);
	*open = true;
	for (size_t i = 0; i < w->ndeny; i++)
		if (!strcmp(w->deny[i], date)) {
			*open = false;
			verdict = "a denied date";
		}
	if (*open && !(w->days & (1u << tm.tm_wday))) {
		*open = false;
		verdict = "not an allowed day";
	}
	if (*open && (minute < w->start_min || minute >= w->end_min)) {
		*open = false;
		verdict = "outside the allowed hours";
	}
	if (*open)
		snprintf(why, why_size, "open: %s %s %02d:%02d %s is in %s",
			 wday[tm.tm_wday], date, tm.tm_hour, tm.tm_min, zone,
			 spec);
	else
		snprintf(why, why_size,
			 "closed: %s %s %02d:%02d %s is %s (window: %s)",
			 wday[tm.tm_wday], date, tm.tm_hour, tm.tm_min, zone,
			 verdict, spec);
	return 0;
}
