/*
 * text.c: files, strings, UTF-8 and SHA-256. Reading is capped (a file past
 * PHG_MAX_FILE_SIZE fails cleanly) and every failure names the path.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

const char *phg_errno_text(int e)
{
	switch (e) {
	case ENOENT:
		return "no such file or directory";
	case EACCES:
		return "permission denied";
	case EISDIR:
		return "is a folder, not a file";
	case ENOTDIR:
		return "not a folder";
	case ELOOP:
		return "too many levels of symbolic links";
	default:
		return strerror(e);
	}
}

int phg_read_file_at(int dirfd, const char *rel, const char *path,
		     bool regular_only, struct phg_buf *out,
		     struct phg_err *err)
{
	struct stat st;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer when only
	   regular files are wanted (it is refused below). Otherwise a FIFO
	   (--config <(...)) is read like a file. */
	int fd = openat(dirfd, rel,
			O_RDONLY | O_CLOEXEC | (regular_only ? O_NONBLOCK : 0));
	int rc = 0;

	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR
			       ? 1
			       : phg_err_set(err, PHG_EIO,
					     "cannot read '%s': %s", path,
					     phg_errno_text(errno));
	if (fstat(fd, &st) < 0) {
		rc = phg_err_set(err, PHG_EIO, "cannot read '%s': %s", path,
				 phg_errno_text(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = phg_err_set(err, PHG_EIO, "cannot read '%s': %s", path,
				 phg_errno_text(EISDIR));
		goto out;
	}
	if (regular_only && !S_ISREG(st.st_mode)) {
		rc = phg_err_set(err, PHG_EIO,
				 "cannot read '%s': not a regular file", path);
		goto out;
	}
	for (;;) {
		ssize_t n;
		size_t want;

		if (phg_buf_reserve(out, 64 * 1024) < 0) {
			rc = phg_err_set(err, PHG_ENOMEM,
					 "cannot read '%s': out of memory",
					 path);
			goto out;
		}
		/* An empty file must read as "", not as what malloc left. */
		out->data[out->len] = '\0';
		want = out->cap - out->len - 1;
		n = read(fd, out->data + out->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = phg_err_set(err, PHG_EIO, "cannot read '%s': %s",
					 path, phg_errno_text(errno));
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len > PHG_MAX_FILE_SIZE) {
			rc = phg_err_set(
				err, PHG_EIO,
				"cannot read '%s': larger than %zu bytes", path,
				PHG_MAX_FILE_SIZE);
			goto out;
		}
		/* A short read that reached the size fstat gave is the end of
		   the file: no second read to be told so. (Files that say size
		   0, like /proc's, are read until read returns 0.) */
		if ((size_t)n < want && S_ISREG(st.st_mode) && st.st_size > 0 &&
		    out->len >= (size_t)st.st_size)
			break;
	}
out:
	close(fd);
	if (rc < 0)
		phg_buf_release(out);
	return rc;
}

int phg_read_file(const char *path, struct phg_buf *out, struct phg_err *err)
{
	int rc = phg_read_file_at(AT_FDCWD, path, path, false, out, err);

	/* errno is still openat's. */
	return rc == 1 ? phg_err_set(err, PHG_EIO, "cannot read '%s': %s", path,
				     phg_errno_text(errno))
		       : rc;
}

void phg_sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static size_t utf8_seq_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Whether p[0, 16) are all 0x01-0x7f (no high bit, no zero byte). */
static bool ascii16(const unsigned char *p)
{
#if defined(__SSE2__)
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);

	return !_mm_movemask_epi8(
		_mm_or_si128(x, _mm_cmpeq_epi8(x, _mm_setzero_si128())));
#else
	(void)p;
	return false;
#endif
}

size_t phg_utf8_invalid_at(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n;
		uint64_t x;

		if (len - i >= 16 && ascii16(p + i)) {
			i += 16;
			continue;
		}
		/* 8 bytes of 0x01-0x7f at a time (no high bit, and no borrow
		   out of a zero byte when one is subtracted from each). */
		if (len - i >= 8) {
			memcpy(&x, p + i, 8);
			if (!((x | (x - 0x0101010101010101ULL)) &
			      0x8080808080808080ULL)) {
				i += 8;
				continue;
			}
		}
		if (p[i] >= 0x01 && p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_seq_len(p + i, len - i);
		if (n == 0)
			return i;
		i += n;
	}
	return len;
}

size_t phg_utf8_count(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

bool phg_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool phg_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

char *phg_path_join(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	bool slash = na > 0 && a[na - 1] != '/';
	char *p;

	if (na == 0)
		return phg_strdup(b);
	p = malloc(na + slash + nb + 1);
	if (!p)
		return NULL;
	memcpy(p, a, na);
	if (slash)
		p[na] = '/';
	memcpy(p + na + slash, b, nb + 1);
	return p;
}
