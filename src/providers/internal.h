/*
 * internal.h: private to providers/ — the clock, showing URLs without
 * their secrets, and removing a secret from a message.
 */
#ifndef PHG_PROVIDERS_INTERNAL_H
#define PHG_PROVIDERS_INTERNAL_H

#include "providers.h"

/* Milliseconds of the monotonic clock. */
long long pv_now_ms(void);

/*
 * Writes url into out for messages: without userinfo, and without its query
 * ("?…" instead); with origin_only, only scheme://host[:port] and "/…" when
 * there was a path (webhook URLs hold their secret in the path). A URL that
 * does not parse is shown as "(url)".
 */
void pv_url_display(const char *url, bool origin_only, char *out, size_t size);

/*
 * Replaces every occurrence of secret (when at least 3 bytes long) in the
 * NUL-terminated buf with "***", in place (buf never grows).
 */
void pv_scrub(char *buf, const char *secret);

/* Removes url's userinfo password and user from buf (pv_scrub). */
void pv_scrub_url(char *buf, const char *url);

/*
 * Removes every request header's value from buf (pv_scrub), and the
 * credential after an "Authorization: <scheme> " prefix on its own: a
 * server that echoes the request must not put a token into a message.
 */
void pv_scrub_headers(char *buf, const char *const *headers);

/* Default timeout of a provider call when the config gives none. */
#define PV_DEFAULT_TIMEOUT_MS 10000LL

#endif
