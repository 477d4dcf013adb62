/*
 * fuzz_config.c: the config loader under libFuzzer — the input is written
 * as phasegate.yaml and read with phg_config_load; a config that loads has
 * each region's database expanded (${NAME} from a fixed environment), and
 * the input's text up to its first NUL also goes through
 * phg_config_expand and phg_duration_parse, the two value readers. A load
 * must succeed or fail with PHG_ECONFIG and a message; never crash, leak or
 * hang.
 */
#define _GNU_SOURCE /* strndup of the input's text */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* ${PHG_FUZZ_DSN} and ${PHG_FUZZ_EMPTY} are set; any other name is
	   not, whatever the machine's environment holds. */
	static char *env[] = {"PHG_FUZZ_DSN=postgres://u:secret@localhost/db",
			      "PHG_FUZZ_EMPTY=", NULL};

	(void)argc;
	(void)argv;
	fz_fixed_env(env);
	fz_root();
	return 0;
}

static void expand(const char *value)
{
	struct phg_err err = {0};
	char *out = NULL;
	int rc = phg_config_expand(value, &out, &err);

	if (rc == 0 && !out)
		abort();
	if (rc < 0 && (rc != PHG_ECONFIG || !err.msg[0]))
		abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phg_config cfg;
	struct phg_err err = {0};
	char *path = fz_path(PHG_CONFIG_FILE), *text;
	long long ms;
	int rc;

	if (!fz_write(PHG_CONFIG_FILE, data, size))
		abort();
	memset(&cfg, 0, sizeof(cfg));
	rc = phg_config_load(path, &cfg, &err);
	if (rc == 0) {
		for (size_t i = 0; i < cfg.nregions; i++)
			if (cfg.regions[i].database)
				expand(cfg.regions[i].database);
	} else if (rc != PHG_ECONFIG || !err.msg[0]) {
		/* Bad input is a config error with a message, nothing else. */
		fprintf(stderr, "fuzz_config: load returned %d: %s\n", rc,
			err.msg);
		abort();
	}
	phg_config_release(&cfg);

	text = strndup((const char *)data, size);
	if (!text)
		abort();
	expand(text);
	(void)phg_duration_parse(text, &ms);
	free(text);
	free(path);
	fz_clear();
	return 0;
}
