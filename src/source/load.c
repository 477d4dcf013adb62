/*
 * load.c: reads one migration's file for parsing and finds its forward SQL
 * again, since the file may have changed since it was discovered (unless
 * discovery kept its text: phg_source_discover_cached).
 */
#include "source.h"

int phg_source_load(struct phg_migration *m, struct phg_buf *text,
		    struct phg_err *err)
{
	int rc = phg_source_read(m, text, err);

	if (rc == 0)
		phg_sha256_hex(text->data ? text->data : "", text->len,
			       m->checksum);
	return rc;
}

int phg_source_read(struct phg_migration *m, struct phg_buf *text,
		    struct phg_err *err)
{
	size_t start, end;
	bool no_tx;
	int rc;

	/* Offsets are the file's own, so the text replaces what was there. */
	text->len = 0;
	if (text->data)
		text->data[0] = '\0';
	if (m->cached)
		rc = phg_buf_add(text, m->cached, m->cached_len) < 0
			     ? phg_err_set(err, PHG_ENOMEM, "out of memory")
			     : 0;
	else
		rc = phg_read_file(m->path, text, err);
	if (rc < 0)
		return rc;
	if (m->layout != PHG_LAYOUT_DBMATE) {
		m->up_start = 0;
		m->up_end = text->len;
		return 0;
	}
	if (!phg_dbmate_sections(text->data, text->len, &start, &end, &no_tx)) {
		phg_buf_release(text);
		return phg_err_set(err, PHG_EINPUT,
				   "'%s' has no '-- migrate:up' line any more",
				   m->path);
	}
	m->up_start = start;
	m->up_end = end;
	m->no_transaction = no_tx;
	return 0;
}
