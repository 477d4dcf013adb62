/*
 * find.c: finds phasegate.yaml by looking in the current folder, then its
 * parent, and so on up to the filesystem root, the way git finds its
 * repository. Paths stay relative ("../phasegate.yaml") so that everything
 * derived from them prints short.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* How many folders up the search goes at most: deeper trees are unusual. */
#define PHG_CONFIG_FIND_MAX_LEVELS 256

/*
 * Looks for phasegate.yaml in ".", "..", "../..", ... and stops after the
 * filesystem root (compared by device and inode), at a folder it may not
 * search, or after PHG_CONFIG_FIND_MAX_LEVELS levels. Sets *path to a
 * malloc'd relative path the caller frees, or to NULL when there is none, and
 * returns 0 either way. Anything named phasegate.yaml counts as found, so a
 * folder of that name fails loudly in phg_config_load instead of a parent's
 * config being used by surprise. Returns PHG_EIO when a folder cannot be
 * examined for another reason, PHG_ENOMEM when out of memory.
 */
int phg_config_find(char **path, struct phg_err *err)
{
	/* "../" per level up, then the file name. */
	char prefix[PHG_CONFIG_FIND_MAX_LEVELS * 3 + 1] = "";
	size_t plen = 0;
	struct stat root, st;
	int level;

	*path = NULL;
	if (stat("/", &root) < 0)
		return phg_err_set(err, PHG_EIO,
				   "cannot look for '%s': cannot examine '/': "
				   "%s",
				   PHG_CONFIG_FILE, strerror(errno));
	for (level = 0; level < PHG_CONFIG_FIND_MAX_LEVELS; level++) {
		char *candidate = phg_asprintf("%s%s", prefix, PHG_CONFIG_FILE);
		char folder[sizeof(prefix) + 1];

		if (!candidate)
			return phg_err_set(
				err, PHG_ENOMEM,
				"cannot look for '%s': out of memory",
				PHG_CONFIG_FILE);
		if (stat(candidate, &st) == 0) {
			*path = candidate;
			return 0;
		}
		free(candidate);
		if (errno == EACCES)
			return 0;
		if (errno != ENOENT && errno != ENOTDIR)
			return phg_err_set(err, PHG_EIO,
					   "cannot look for '%s%s': %s", prefix,
					   PHG_CONFIG_FILE, strerror(errno));

		/* "../.." for the prefix "../../", "." for none. */
		if (plen == 0)
			snprintf(folder, sizeof(folder), ".");
		else
			snprintf(folder, sizeof(folder), "%.*s",
				 (int)(plen - 1), prefix);
		if (stat(folder, &st) < 0) {
			if (errno == EACCES)
				return 0;
			return phg_err_set(err, PHG_EIO,
					   "cannot look for '%s' in '%s': %s",
					   PHG_CONFIG_FILE, folder,
					   strerror(errno));
		}
		if (st.st_dev == root.st_dev && st.st_ino == root.st_ino)
			return 0;
		if (plen + 3 >= sizeof(prefix))
			return 0;
		memcpy(prefix + plen, "../", 4);
		plen += 3;
	}
	return 0;
}
