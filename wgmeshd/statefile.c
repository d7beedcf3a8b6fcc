/*
 * Copyright (c) 2026 The wgmeshd authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * The state file: the endpoints known for an interface's peers, kept by
 * the storage process in IFNAME.state in its chroot (the state directory).
 *
 *	# wgmeshd state v1
 *	<public key, base64> <a.b.c.d:port or [v6]:port> <last seen> <origin>
 *
 * one endpoint a line, fields separated by one space, every line ending
 * in a newline.  The parser is strict: anything it does not expect makes
 * the whole file damaged, and the caller reports it and starts without
 * it; nothing of a damaged file is used.  A save writes IFNAME.state.tmp,
 * syncs it, renames it over IFNAME.state and syncs the directory, so the
 * file is always either the old one or the new one.
 *
 * Only the calls the storage filter allows (sandbox.c) are used: openat
 * with plain flags, read, write, fstat, fsync, rename, unlink, close.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wgmeshd.h"
#include "storage.h"

#define STATEFILE_HEADER	"# wgmeshd state v1"
#define STATEFILE_SUFFIX	".state"
#define STATEFILE_TMP_SUFFIX	".state.tmp"
#define STATEFILE_FUTURE	86400	/* clock skew tolerated, seconds */
#define STATEFILE_NFIELDS	4
/* IFNAME ".state.tmp" and a NUL */
#define STATEFILE_PATH_MAX	(IMSG_IFNAME_MAX + sizeof(STATEFILE_TMP_SUFFIX))

static const char *const origin_names[] = {
	[ORIGIN_OBSERVED] =	"observed",
	[ORIGIN_LAN] =		"lan",
	[ORIGIN_UPNP] =		"upnp",
	[ORIGIN_CONFIGURED] =	"configured",
	[ORIGIN_PERSISTED] =	"persisted",
};

static int	 statefile_parse_line(char *, int64_t, struct state_entry *,
		    const char **);
static int	 statefile_parse_time(const char *, int64_t *);
static int	 statefile_path(char *, size_t, const char *, const char *);
static int	 statefile_write_all(int, const char *, size_t);
static int	 statefile_sync_dir(void);
static void	 statefile_err(char *, size_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));

const char *
origin_name(uint8_t origin)
{
	if (origin >= sizeof(origin_names) /
	    sizeof(origin_names[0]) || origin_names[origin] == NULL)
		return (NULL);
	return (origin_names[origin]);
}

/*
 * Parses a whole file of len bytes; now (realtime seconds) bounds the
 * last seen times.  On success *out (NULL when there is nothing; free(3)
 * it) holds *n entries; on failure nothing is returned and err says
 * "line N: reason".
 */
int
statefile_parse(const char *buf, size_t len, int64_t now,
    struct state_entry **out, size_t *n, char *err, size_t errlen)
{
	struct state_entry	*entries = NULL;
	const char		*p, *end, *nl, *reason;
	char			 line[STATEFILE_LINE_MAX];
	size_t			 lineno, linelen, nlines, count = 0, i;

	*out = NULL;
	*n = 0;
	if (len > STATEFILE_SIZE_MAX) {
		statefile_err(err, errlen, "larger than %d bytes",
		    STATEFILE_SIZE_MAX);
		return (-1);
	}
	if (len == 0) {
		statefile_err(err, errlen, "line 1: missing header");
		return (-1);
	}

	/* every line but the header is an entry */
	for (nlines = 0, i = 0; i < len; i++)
		if (buf[i] == '\n')
			nlines++;
	if (nlines > STATEFILE_ENTRIES_MAX + 1)
		nlines = STATEFILE_ENTRIES_MAX + 1;
	if (nlines > 1 && (entries = calloc(nlines - 1,
	    sizeof(*entries))) == NULL) {
		statefile_err(err, errlen, "%s", strerror(errno));
		return (-1);
	}

	end = buf + len;
	for (p = buf, lineno = 1; p < end; p = nl + 1, lineno++) {
		nl = memchr(p, '\n', end - p);
		linelen = (nl != NULL ? nl : end) - p;
		if (linelen >= sizeof(line)) {
			reason = "line too long";
			goto bad;
		}
		if (memchr(p, '\0', linelen) != NULL) {
			reason = "NUL byte";
			goto bad;
		}
		for (i = 0; i < linelen; i++)
			if (p[i] < ' ' || p[i] > '~') {
				reason = "control or non-ASCII character";
				goto bad;
			}
		if (nl == NULL) {
			reason = "no newline at the end";
			goto bad;
		}
		memcpy(line, p, linelen);
		line[linelen] = '\0';

		if (lineno == 1) {
			if (strcmp(line, STATEFILE_HEADER) != 0) {
				reason = "not a \"" STATEFILE_HEADER "\" file";
				goto bad;
			}
			continue;
		}
		if (count == STATEFILE_ENTRIES_MAX) {
			reason = "too many entries";
			goto bad;
		}
		if (statefile_parse_line(line, now, &entries[count],
		    &reason) == -1)
			goto bad;
		count++;
	}

	if (count == 0) {
		free(entries);
		entries = NULL;
	}
	*out = entries;
	*n = count;
	return (0);

 bad:
	statefile_err(err, errlen, "line %zu: %s", lineno, reason);
	free(entries);
	return (-1);
}

/*
 * Writes the file for n entries to buf, and returns its length, or -1
 * (errno EINVAL: an entry that the parser would refuse; ENOSPC: buf is
 * too small).  A buffer of statefile_size(n) bytes is always enough.
 */
int
statefile_format(char *buf, size_t len, const struct state_entry *entries,
    size_t n)
{
	char	 key[WG_KEY_B64_LEN], ep[ENDPOINT_STR_MAX];
	size_t	 off, i;
	int	 r;

	if (n > STATEFILE_ENTRIES_MAX) {
		errno = EINVAL;
		return (-1);
	}
	r = snprintf(buf, len, "%s\n", STATEFILE_HEADER);
	if (r < 0 || (size_t)r >= len) {
		errno = ENOSPC;
		return (-1);
	}
	off = r;
	for (i = 0; i < n; i++) {
		if (!statefile_entry_valid(&entries[i])) {
			errno = EINVAL;
			return (-1);
		}
		key_to_base64(key, entries[i].public_key);
		imsg_addr_ntop(&entries[i].endpoint, ep, sizeof(ep));
		r = snprintf(buf + off, len - off, "%s %s %" PRId64 " %s\n",
		    key, ep, entries[i].last_seen,
		    origin_name(entries[i].origin));
		if (r < 0 || (size_t)r >= len - off) {
			errno = ENOSPC;
			return (-1);
		}
		off += r;
	}
	return ((int)off);
}

/* Room for the file of n entries, and its NUL. */
size_t
statefile_size(size_t n)
{
	return (sizeof(STATEFILE_HEADER) + 1 + n * STATEFILE_LINE_MAX);
}

/*
 * Reads and parses IFNAME.state in the current directory.  Returns 0,
 * STATEFILE_MISSING when there is no such file, or -1 with the reason in
 * err (a symbolic link, not a regular file, too large, damaged).
 */
int
statefile_load(const char *ifname, struct state_entry **out, size_t *n,
    char *err, size_t errlen)
{
	struct stat	 st;
	char		 path[STATEFILE_PATH_MAX], reason[128], *buf = NULL;
	size_t		 len = 0;
	ssize_t		 r;
	int		 fd, ret = -1;

	*out = NULL;
	*n = 0;
	if (statefile_path(path, sizeof(path), ifname,
	    STATEFILE_SUFFIX) == -1) {
		statefile_err(err, errlen, "invalid interface name");
		return (-1);
	}
	/* O_NONBLOCK: a FIFO put in its place must not hang the process */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			return (STATEFILE_MISSING);
		statefile_err(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		statefile_err(err, errlen, "%s: fstat: %s", path,
		    strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		statefile_err(err, errlen, "%s: not a regular file", path);
		goto done;
	}
	if (st.st_size > STATEFILE_SIZE_MAX) {
		statefile_err(err, errlen, "%s: larger than %d bytes", path,
		    STATEFILE_SIZE_MAX);
		goto done;
	}
	/* one byte more than allowed, to notice a file that grew */
	if ((buf = malloc(STATEFILE_SIZE_MAX + 1)) == NULL) {
		statefile_err(err, errlen, "%s", strerror(errno));
		goto done;
	}
	while (len < STATEFILE_SIZE_MAX + 1) {
		r = read(fd, buf + len, STATEFILE_SIZE_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			statefile_err(err, errlen, "%s: read: %s", path,
			    strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		len += r;
	}
	if (statefile_parse(buf, len, (int64_t)time(NULL), out, n, reason,
	    sizeof(reason)) == 0)
		ret = 0;
	else
		statefile_err(err, errlen, "%s: %s", path, reason);

 done:
	free(buf);
	close(fd);
	return (ret);
}

/*
 * Replaces IFNAME.state with the n entries, atomically.  Returns 0, or -1
 * with errno set and the failed step in err; the old file is then left as
 * it was and the temporary file removed.  Only a failure to sync the
 * directory comes after the new file is in place.
 */
int
statefile_save(const char *ifname, const struct state_entry *entries,
    size_t n, char *err, size_t errlen)
{
	char		 path[STATEFILE_PATH_MAX], tmp[STATEFILE_PATH_MAX];
	char		*buf;
	const char	*step;
	size_t		 size;
	int		 fd = -1, len, saved;

	if (statefile_path(path, sizeof(path), ifname,
	    STATEFILE_SUFFIX) == -1 || statefile_path(tmp, sizeof(tmp),
	    ifname, STATEFILE_TMP_SUFFIX) == -1) {
		statefile_err(err, errlen, "invalid interface name");
		errno = EINVAL;
		return (-1);
	}
	if (n > STATEFILE_ENTRIES_MAX) {
		statefile_err(err, errlen, "more than %d entries",
		    STATEFILE_ENTRIES_MAX);
		errno = EINVAL;
		return (-1);
	}
	size = statefile_size(n);
	if ((buf = malloc(size)) == NULL) {
		statefile_err(err, errlen, "%s", strerror(errno));
		return (-1);
	}
	if ((len = statefile_format(buf, size, entries, n)) == -1) {
		saved = errno;
		statefile_err(err, errlen, "cannot format the entries: %s",
		    strerror(errno));
		free(buf);
		errno = saved;
		return (-1);
	}

	/*
	 * A temporary file left by a crash is removed first, so that O_EXCL
	 * makes a new one with our mode (there is no fchmod in the filter).
	 */
	if (unlink(tmp) == -1 && errno != ENOENT) {
		step = "unlink";
		goto fail_nofile;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		step = "open";
		goto fail_nofile;
	}
	if (statefile_write_all(fd, buf, len) == -1) {
		step = "write";
		goto fail;
	}
	if (fsync(fd) == -1) {
		step = "fsync";
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		step = "close";
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		step = "rename";
		goto fail;
	}
	free(buf);
	if (statefile_sync_dir() == -1) {
		saved = errno;
		statefile_err(err, errlen, "%s saved, but the directory could "
		    "not be synced: %s", path, strerror(errno));
		errno = saved;
		return (-1);
	}
	return (0);

 fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
 fail_nofile:
	saved = errno;
	statefile_err(err, errlen, "%s: %s: %s", tmp, step, strerror(errno));
	free(buf);
	errno = saved;
	return (-1);
}

/* One line, without its newline; fills e or sets *reason. */
static int
statefile_parse_line(char *line, int64_t now, struct state_entry *e,
    const char **reason)
{
	struct endpoint	 ep;
	char		*field[STATEFILE_NFIELDS], *s, *sp;
	const char	*errstr;
	size_t		 nf = 0;
	int		 src;

	memset(e, 0, sizeof(*e));
	for (s = line;; s = sp + 1) {
		if (*s == ' ' || *s == '\0') {
			*reason = "empty field";
			return (-1);
		}
		if (nf == STATEFILE_NFIELDS) {
			*reason = "extra field";
			return (-1);
		}
		field[nf++] = s;
		if ((sp = strchr(s, ' ')) == NULL)
			break;
		*sp = '\0';
	}
	if (nf < STATEFILE_NFIELDS) {
		*reason = "missing field";
		return (-1);
	}

	if (key_from_base64(e->public_key, field[0]) == -1 ||
	    key_is_zero(e->public_key)) {
		*reason = "invalid public key";
		return (-1);
	}
	if (endpoint_parse(field[1], &ep, &errstr) == -1) {
		*reason = "invalid endpoint";
		return (-1);
	}
	if (!ep.literal) {
		*reason = "endpoint is not an IP address";
		return (-1);
	}
	if (imsg_addr_from_sockaddr(&e->endpoint,
	    (struct sockaddr *)&ep.ss) == -1 ||
	    !imsg_addr_is_endpoint(&e->endpoint)) {
		*reason = "endpoint is not a unicast address";
		return (-1);
	}
	if (statefile_parse_time(field[2], &e->last_seen) == -1) {
		*reason = "invalid time";
		return (-1);
	}
	if (now > INT64_MAX - STATEFILE_FUTURE)
		now = INT64_MAX - STATEFILE_FUTURE;
	if (e->last_seen >= now + STATEFILE_FUTURE) {
		*reason = "time in the future";
		return (-1);
	}
	for (src = 1; origin_name(src) != NULL; src++)
		if (strcmp(field[3], origin_name(src)) == 0)
			break;
	if (origin_name(src) == NULL) {
		*reason = "unknown origin";
		return (-1);
	}
	e->origin = src;
	return (0);
}

/* Decimal seconds, 1 or more, no sign and no leading zero. */
static int
statefile_parse_time(const char *s, int64_t *t)
{
	int64_t	 v = 0;

	if (*s < '1' || *s > '9')
		return (-1);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return (-1);
		if (v > (INT64_MAX - (*s - '0')) / 10)
			return (-1);
		v = v * 10 + (*s - '0');
	}
	*t = v;
	return (0);
}

/*
 * Whether the parser would take the entry back (the time aside); the
 * storage process checks the engine's entries with it.
 */
int
statefile_entry_valid(const struct state_entry *e)
{
	return (!key_is_zero(e->public_key) &&
	    imsg_addr_is_endpoint(&e->endpoint) && e->endpoint.scope == 0 &&
	    e->last_seen > 0 &&
	    origin_name(e->origin) != NULL);
}

static int
statefile_path(char *buf, size_t len, const char *ifname, const char *suffix)
{
	int	 r;

	if (!ifname_valid(ifname))
		return (-1);
	r = snprintf(buf, len, "%s%s", ifname, suffix);
	if (r < 0 || (size_t)r >= len)
		return (-1);
	return (0);
}

static int
statefile_write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 r;

	while (len > 0) {
		if ((r = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (r == 0) {
			errno = EIO;
			return (-1);
		}
		buf += r;
		len -= r;
	}
	return (0);
}

/* Makes the rename durable. */
static int
statefile_sync_dir(void)
{
	int	 fd, saved;

	if ((fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	if (fsync(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	return (close(fd));
}

static void
statefile_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
