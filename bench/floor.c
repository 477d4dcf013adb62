/*
 * floor.c: the benchmark floor. It reads each file named on the command line
 * (or, with no arguments, each path listed one per line on stdin), hands the
 * whole text to pg_query_parse and frees the result, and does nothing else.
 * Its wall time and peak memory are what parsing alone costs, which is the
 * yardstick bench/run.sh measures phasegate against. A parse error is
 * counted, not fatal; an unreadable file is (exit 2). The counts go to
 * stderr so a run can be checked for having seen every file.
 */
#include <pg_query.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct floor_counts {
	unsigned long files;
	unsigned long bytes;
	unsigned long parse_errors;
};

/* Reads all of 'path' into a malloc'd, NUL-terminated buffer; NULL on failure.
 */
static char *read_whole(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nbuf = realloc(buf, ncap);
			if (nbuf == NULL)
				goto fail;
			buf = nbuf;
			cap = ncap;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	buf[len] = '\0';
	*len_out = len;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

/* Parses one file; returns 0, or -1 when it cannot be read. */
static int parse_one(const char *path, struct floor_counts *c)
{
	size_t len = 0;
	char *text = read_whole(path, &len);

	if (text == NULL) {
		perror(path);
		return -1;
	}
	PgQueryParseResult r = pg_query_parse(text);
	if (r.error != NULL)
		c->parse_errors++;
	pg_query_free_parse_result(r);
	free(text);
	c->files++;
	c->bytes += len;
	return 0;
}

int main(int argc, char **argv)
{
	struct floor_counts c = {0, 0, 0};
	int failed = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			failed |= parse_one(argv[i], &c) != 0;
	} else {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while ((n = getline(&line, &cap, stdin)) > 0) {
			if (line[n - 1] == '\n')
				line[--n] = '\0';
			if (n == 0)
				continue;
			failed |= parse_one(line, &c) != 0;
		}
		free(line);
	}
	fprintf(stderr, "floor: %lu files, %lu bytes, %lu parse errors\n",
		c.files, c.bytes, c.parse_errors);
	return failed ? 2 : 0;
}
