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
 * The state file (wgmeshd/statefile.c): format and parse, every kind of
 * damage refused with its line, and save and load in a temporary
 * directory, including under the storage process's seccomp filter.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "wgmeshd.h"
#include "storage.h"
#include "regress.h"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define NOW		1700000000LL
#define HEADER		"# wgmeshd state v1\n"
/* a key of 32 bytes of 0x01 */
#define KEY1		"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define GOOD		KEY1 " 198.18.0.1:51820 1699999000 observed\n"

struct damage {
	const char	*what;
	const char	*text;
	const char	*error;		/* the start of err */
};

static const struct damage damages[] = {
	{ "empty file", "", "line 1: missing header" },
	{ "bad header", "# wgmeshd state v2\n" GOOD, "line 1: not a" },
	{ "header only, no newline", "# wgmeshd state v1",
	    "line 1: no newline" },
	{ "entry before the header", GOOD HEADER, "line 1: not a" },
	{ "bad key", HEADER GOOD "AAAA 198.18.0.1:51820 1 lan\n",
	    "line 3: invalid public key" },
	/* a scope names an interface of one boot: never in the file */
	{ "link-local with a scope", HEADER KEY1
	    " [fe80::1%2]:51820 1699999000 lan\n",
	    "line 2: invalid endpoint" },
	{ "link-local without one", HEADER KEY1
	    " [fe80::1]:51820 1699999000 lan\n",
	    "line 2: endpoint is not a unicast address" },
	{ "key of 43 bytes", HEADER
	    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ== 198.18.0.1:1 1 lan\n",
	    "line 2: invalid public key" },
	{ "zero key", HEADER
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 198.18.0.1:1 1 lan\n",
	    "line 2: invalid public key" },
	{ "no port", HEADER KEY1 " 198.18.0.1 1 lan\n",
	    "line 2: invalid endpoint" },
	{ "bad address", HEADER KEY1 " 198.18.0.256:1 1 lan\n",
	    "line 2: endpoint is not an IP address" },
	{ "host name", HEADER GOOD KEY1 " vpn.example.org:51820 1 lan\n",
	    "line 3: endpoint is not an IP address" },
	{ "IPv6 without brackets", HEADER KEY1 " fd00::1:51820 1 lan\n",
	    "line 2: invalid endpoint" },
	{ "port 0", HEADER KEY1 " 198.18.0.1:0 1 lan\n",
	    "line 2: invalid endpoint" },
	{ "port 65536", HEADER KEY1 " 198.18.0.1:65536 1 lan\n",
	    "line 2: invalid endpoint" },
	{ "multicast", HEADER KEY1 " 224.0.0.1:51820 1 lan\n",
	    "line 2: endpoint is not a unicast address" },
	{ "broadcast", HEADER KEY1 " 255.255.255.255:51820 1 lan\n",
	    "line 2: endpoint is not a unicast address" },
	{ "unspecified", HEADER KEY1 " 0.0.0.0:51820 1 lan\n",
	    "line 2: endpoint is not a unicast address" },
	{ "IPv6 multicast", HEADER KEY1 " [ff02::1]:51820 1 lan\n",
	    "line 2: endpoint is not a unicast address" },
	{ "time in the future", HEADER KEY1 " 198.18.0.1:1 1700086400 lan\n",
	    "line 2: time in the future" },
	{ "time 0", HEADER KEY1 " 198.18.0.1:1 0 lan\n",
	    "line 2: invalid time" },
	{ "negative time", HEADER KEY1 " 198.18.0.1:1 -5 lan\n",
	    "line 2: invalid time" },
	{ "time with a sign", HEADER KEY1 " 198.18.0.1:1 +5 lan\n",
	    "line 2: invalid time" },
	{ "time with a leading zero", HEADER KEY1 " 198.18.0.1:1 05 lan\n",
	    "line 2: invalid time" },
	{ "time not a number", HEADER KEY1 " 198.18.0.1:1 12a lan\n",
	    "line 2: invalid time" },
	{ "time overflows", HEADER KEY1
	    " 198.18.0.1:1 9223372036854775808 lan\n", "line 2: invalid time" },
	{ "unknown origin", HEADER GOOD GOOD KEY1 " 198.18.0.1:1 1 dns\n",
	    "line 4: unknown origin" },
	{ "origin in capitals", HEADER KEY1 " 198.18.0.1:1 1 LAN\n",
	    "line 2: unknown origin" },
	{ "extra field", HEADER KEY1 " 198.18.0.1:1 1 lan x\n",
	    "line 2: extra field" },
	{ "missing field", HEADER KEY1 " 198.18.0.1:1 1\n",
	    "line 2: missing field" },
	{ "two spaces", HEADER KEY1 "  198.18.0.1:1 1 lan\n",
	    "line 2: empty field" },
	{ "trailing space", HEADER KEY1 " 198.18.0.1:1 1 lan \n",
	    "line 2: empty field" },
	{ "empty line", HEADER GOOD "\n", "line 3: empty field" },
	{ "tab", HEADER KEY1 "\t198.18.0.1:1 1 lan\n",
	    "line 2: control or non-ASCII" },
	{ "CR LF", HEADER KEY1 " 198.18.0.1:1 1 lan\r\n",
	    "line 2: control or non-ASCII" },
	{ "non-ASCII", HEADER KEY1 " 198.18.0.1:1 1 l\xc3\xa4n\n",
	    "line 2: control or non-ASCII" },
	{ "no newline at the end", HEADER GOOD KEY1 " 198.18.0.1:1 1 lan",
	    "line 3: no newline" },
};

static void	 make_entries(struct state_entry *, size_t);
static int	 entries_equal(const struct state_entry *, size_t,
		    const struct state_entry *, size_t);
static int	 parse_error(const char *, size_t, const char *, char *,
		    size_t);
static int	 write_file(const char *, const char *, size_t, mode_t);
static char	*read_file(const char *, size_t *);
static int	 exists(const char *);
static void	 test_round_trip(void);
static void	 test_format_refuses(void);
static void	 test_damage(void);
static void	 test_limits(void);
static void	 test_save_load(void);
static void	 test_save_fails(void);
static void	 test_links(void);
static void	 test_sandboxed(void);

/* Entries of every origin, both families. */
static void
make_entries(struct state_entry *e, size_t n)
{
	size_t	 i;

	memset(e, 0, n * sizeof(*e));
	for (i = 0; i < n; i++) {
		memset(e[i].public_key, (int)(i % 250) + 1, WG_KEY_LEN);
		e[i].public_key[0] = (uint8_t)(i >> 8);
		e[i].public_key[1] = (uint8_t)i;
		if (i % 2 == 0) {
			e[i].endpoint.af = AF_INET;
			e[i].endpoint.addr[0] = 198;
			e[i].endpoint.addr[1] = 18;
			e[i].endpoint.addr[2] = (uint8_t)(i >> 8);
			e[i].endpoint.addr[3] = (uint8_t)i;
		} else {
			e[i].endpoint.af = AF_INET6;
			e[i].endpoint.addr[0] = 0xfd;
			e[i].endpoint.addr[14] = (uint8_t)(i >> 8);
			e[i].endpoint.addr[15] = (uint8_t)i;
		}
		e[i].endpoint.port = (uint16_t)(1 + i * 13);
		e[i].last_seen = NOW - (int64_t)i;
		e[i].origin = ORIGIN_OBSERVED + i % 5;
	}
}

static int
entries_equal(const struct state_entry *a, size_t na,
    const struct state_entry *b, size_t nb)
{
	return (na == nb && (na == 0 ||
	    memcmp(a, b, na * sizeof(*a)) == 0));
}

/* Parses text; returns 0 if it was refused with an error starting so. */
static int
parse_error(const char *text, size_t len, const char *want, char *err,
    size_t errlen)
{
	struct state_entry	*e;
	size_t			 n;

	err[0] = '\0';
	if (statefile_parse(text, len, NOW, &e, &n, err, errlen) == 0) {
		free(e);
		snprintf(err, errlen, "(accepted)");
		return (-1);
	}
	if (e != NULL || n != 0)
		return (-1);
	return (strncmp(err, want, strlen(want)) == 0 ? 0 : -1);
}

static int
write_file(const char *path, const char *buf, size_t len, mode_t mode)
{
	int	 fd;

	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) == -1)
		return (-1);
	if (write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		return (-1);
	}
	return (close(fd));
}

static char *
read_file(const char *path, size_t *len)
{
	struct stat	 st;
	char		*buf;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return (NULL);
	if (fstat(fd, &st) == -1 || (buf = malloc(st.st_size + 1)) == NULL) {
		close(fd);
		return (NULL);
	}
	if (read(fd, buf, st.st_size) != st.st_size) {
		free(buf);
		close(fd);
		return (NULL);
	}
	close(fd);
	buf[st.st_size] = '\0';
	*len = st.st_size;
	return (buf);
}

static int
exists(const char *path)
{
	struct stat	 st;

	return (lstat(path, &st) == 0);
}

static void
test_round_trip(void)
{
	struct state_entry	 in[12], *out;
	char			 buf[4096], buf2[4096], err[256];
	size_t			 n;
	int			 len, len2;

	TEST("format, then parse");
	make_entries(in, nitems(in));
	len = statefile_format(buf, sizeof(buf), in, nitems(in));
	CHECK(len > 0 && (size_t)len < sizeof(buf), "format: %d", len);
	if (len <= 0)
		return;
	CHECK(strncmp(buf, HEADER, strlen(HEADER)) == 0, "%s", buf);
	CHECK(strstr(buf, " 198.18.0.0:1 1700000000 observed\n") != NULL,
	    "%s", buf);
	CHECK(strstr(buf, " [fd00::1]:14 1699999999 lan\n") != NULL, "%s",
	    buf);
	CHECK(strstr(buf, " persisted\n") != NULL && strstr(buf,
	    " configured\n") != NULL && strstr(buf, " upnp\n") != NULL,
	    "%s", buf);
	CHECK(statefile_parse(buf, len, NOW, &out, &n, err,
	    sizeof(err)) == 0, "parse: %s", err);
	CHECK(entries_equal(in, nitems(in), out, n), "%zu entries", n);
	len2 = statefile_format(buf2, sizeof(buf2), out, n);
	CHECK(len2 == len && memcmp(buf, buf2, len) == 0, "%d", len2);
	free(out);

	TEST("no entries");
	len = statefile_format(buf, sizeof(buf), NULL, 0);
	CHECK(len == (int)strlen(HEADER) && memcmp(buf, HEADER, len) == 0,
	    "%d", len);
	out = (void *)buf;
	CHECK(statefile_parse(buf, len, NOW, &out, &n, err,
	    sizeof(err)) == 0 && out == NULL && n == 0, "%s", err);

	TEST("just under a day ahead, and IPv6 forms");
	snprintf(buf, sizeof(buf), HEADER
	    KEY1 " 198.18.0.1:1 1700086399 lan\n"
	    KEY1 " [64:ff9b::198.18.0.1]:2 1 upnp\n"
	    KEY1 " [2001:DB8:0:0::1]:65535 9 configured\n");
	CHECK(statefile_parse(buf, strlen(buf), NOW, &out, &n, err,
	    sizeof(err)) == 0 && n == 3, "%s", err);
	if (n == 3) {
		len = statefile_format(buf2, sizeof(buf2), out, n);
		CHECK(len > 0 && strstr(buf2, " [2001:db8::1]:65535 9 "
		    "configured\n") != NULL, "%s", buf2);
	}
	free(out);
}

static void
test_format_refuses(void)
{
	struct state_entry	 e[2];
	char			 buf[4096];
	size_t			 i;
	int			 r, full;

	TEST("format refuses what parse would");
	for (i = 0; i < 7; i++) {
		make_entries(e, nitems(e));
		switch (i) {
		case 0:
			memset(e[1].public_key, 0, WG_KEY_LEN);
			break;
		case 1:
			e[1].endpoint.port = 0;
			break;
		case 2:
			e[1].endpoint.af = 0;
			break;
		case 3:
			e[0].endpoint.addr[8] = 1;	/* junk after IPv4 */
			break;
		case 4:
			e[1].last_seen = 0;
			break;
		case 5:
			e[1].origin = ORIGIN_PERSISTED + 1;
			break;
		case 6:		/* fe80::1%2, a LAN endpoint */
			memset(&e[1].endpoint, 0, sizeof(e[1].endpoint));
			e[1].endpoint.af = AF_INET6;
			e[1].endpoint.port = 51820;
			e[1].endpoint.addr[0] = 0xfe;
			e[1].endpoint.addr[1] = 0x80;
			e[1].endpoint.addr[15] = 1;
			e[1].endpoint.scope = 2;
			CHECK(!statefile_entry_valid(&e[1]), "a scoped entry "
			    "is not valid");
			break;
		}
		errno = 0;
		r = statefile_format(buf, sizeof(buf), e, nitems(e));
		CHECK(r == -1 && errno == EINVAL, "case %zu: %d", i, r);
	}

	TEST("format into a buffer too small");
	make_entries(e, nitems(e));
	full = statefile_format(buf, sizeof(buf), e, nitems(e));
	CHECK(full > 0, "format: %d", full);
	/* the NUL needs a byte too */
	for (i = 0; i <= (size_t)full; i++) {
		errno = 0;
		r = statefile_format(buf, i, e, nitems(e));
		if (r != -1 || errno != ENOSPC)
			break;
	}
	CHECK(i == (size_t)full + 1, "%zu bytes: %d", i, r);
	CHECK(statefile_format(buf, full + 1, e, nitems(e)) == full,
	    "%d bytes", full + 1);
	CHECK(statefile_size(nitems(e)) <= sizeof(buf) && statefile_format(buf,
	    statefile_size(nitems(e)), e, nitems(e)) > 0, "statefile_size");
	CHECK(origin_name(0) == NULL && origin_name(6) == NULL &&
	    origin_name(255) == NULL &&
	    strcmp(origin_name(ORIGIN_LAN), "lan") == 0,
	    "origin_name");
}

static void
test_damage(void)
{
	char	 err[256], buf[1024];
	size_t	 i;

	TEST("damaged files");
	for (i = 0; i < nitems(damages); i++)
		CHECK(parse_error(damages[i].text, strlen(damages[i].text),
		    damages[i].error, err, sizeof(err)) == 0,
		    "%s: got \"%s\", want \"%s\"", damages[i].what, err,
		    damages[i].error);

	TEST("NUL byte");
	memcpy(buf, HEADER GOOD GOOD, strlen(HEADER GOOD GOOD) + 1);
	buf[strlen(HEADER GOOD) + 10] = '\0';
	CHECK(parse_error(buf, strlen(HEADER GOOD GOOD), "line 3: NUL byte",
	    err, sizeof(err)) == 0, "%s", err);
	buf[strlen(HEADER)] = '\0';
	CHECK(parse_error(buf, strlen(HEADER GOOD GOOD), "line 2: NUL byte",
	    err, sizeof(err)) == 0, "%s", err);

	TEST("overlong line");
	snprintf(buf, sizeof(buf), HEADER GOOD KEY1 " 198.18.0.1:1 1 lan");
	while (strlen(buf) < strlen(HEADER GOOD) + STATEFILE_LINE_MAX - 1)
		strlcpy(buf + strlen(buf), "x", sizeof(buf) - strlen(buf));
	strlcpy(buf + strlen(buf), "\n", sizeof(buf) - strlen(buf));
	/* 255 characters and the newline: long enough, but no such origin */
	CHECK(parse_error(buf, strlen(buf), "line 3: unknown origin", err,
	    sizeof(err)) == 0, "%s", err);
	strlcpy(buf + strlen(buf) - 1, "x\n", sizeof(buf) - strlen(buf) + 1);
	CHECK(parse_error(buf, strlen(buf), "line 3: line too long", err,
	    sizeof(err)) == 0, "%s", err);
}

static void
test_limits(void)
{
	char	*buf, err[256];
	struct state_entry *e;
	size_t	 len, i, n, line = strlen(GOOD);

	TEST("entry limit");
	len = strlen(HEADER) + (STATEFILE_ENTRIES_MAX + 1) * line;
	if ((buf = malloc(STATEFILE_SIZE_MAX + 2)) == NULL)
		fatal("malloc");
	memcpy(buf, HEADER, strlen(HEADER));
	for (i = 0; i <= STATEFILE_ENTRIES_MAX; i++)
		memcpy(buf + strlen(HEADER) + i * line, GOOD, line);
	CHECK(statefile_parse(buf, len - line, NOW, &e, &n, err,
	    sizeof(err)) == 0 && n == STATEFILE_ENTRIES_MAX, "%s", err);
	free(e);
	CHECK(parse_error(buf, len, "line 4098: too many entries", err,
	    sizeof(err)) == 0, "%s", err);

	TEST("size limit");
	memset(buf + len, '\n', STATEFILE_SIZE_MAX + 1 - len);
	CHECK(parse_error(buf, STATEFILE_SIZE_MAX + 1, "larger than", err,
	    sizeof(err)) == 0, "%s", err);
	CHECK(parse_error(buf, STATEFILE_SIZE_MAX, "line 4098: too many", err,
	    sizeof(err)) == 0, "%s", err);
	free(buf);
}

static void
test_save_load(void)
{
	struct state_entry	 in[40], *out;
	struct stat		 st;
	char			 err[256], *buf;
	size_t			 n, len;
	int			 r;

	TEST("save, then load");
	make_entries(in, nitems(in));
	r = statefile_save("wg0", in, nitems(in), err, sizeof(err));
	CHECK(r == 0, "save: %s", err);
	CHECK(stat("wg0.state", &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 07777) == 0600, "mode %o", (unsigned)st.st_mode);
	CHECK(!exists("wg0.state.tmp"), "the temporary file lingers");
	r = statefile_load("wg0", &out, &n, err, sizeof(err));
	CHECK(r == 0 && entries_equal(in, nitems(in), out, n), "load: %d %s",
	    r, err);
	free(out);

	TEST("save again, fewer entries");
	r = statefile_save("wg0", in, 3, err, sizeof(err));
	CHECK(r == 0, "save: %s", err);
	r = statefile_load("wg0", &out, &n, err, sizeof(err));
	CHECK(r == 0 && entries_equal(in, 3, out, n), "load: %d %s", r, err);
	free(out);

	TEST("a stale temporary file");
	CHECK(write_file("wg0.state.tmp", "junk", 4, 0666) == 0, "write");
	r = statefile_save("wg0", in, 5, err, sizeof(err));
	CHECK(r == 0 && !exists("wg0.state.tmp"), "save: %s", err);
	CHECK(stat("wg0.state", &st) == 0 && (st.st_mode & 07777) == 0600,
	    "mode %o", (unsigned)st.st_mode);

	TEST("no file, a damaged file, bad names");
	out = (void *)err;
	r = statefile_load("wg9", &out, &n, err, sizeof(err));
	CHECK(r == STATEFILE_MISSING && out == NULL && n == 0, "%d", r);
	CHECK(write_file("wg8.state", HEADER GOOD "x\n",
	    strlen(HEADER GOOD "x\n"), 0600) == 0, "write");
	r = statefile_load("wg8", &out, &n, err, sizeof(err));
	CHECK(r == -1 && out == NULL && strcmp(err,
	    "wg8.state: line 3: missing field") == 0, "%d %s", r, err);
	r = statefile_load("../wg0", &out, &n, err, sizeof(err));
	CHECK(r == -1, "../wg0 loaded");
	r = statefile_load("averylonginterfacename", &out, &n, err,
	    sizeof(err));
	CHECK(r == -1, "long name loaded");
	r = statefile_save("a/b", in, 1, err, sizeof(err));
	CHECK(r == -1 && !exists("a"), "a/b saved");
	r = statefile_save("..", in, 1, err, sizeof(err));
	CHECK(r == -1 && !exists("..state.tmp"), ".. saved");

	TEST("not a regular file; too large");
	CHECK(mkfifo("wg7.state", 0600) == 0, "mkfifo");
	r = statefile_load("wg7", &out, &n, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "not a regular file") != NULL, "%s",
	    err);
	CHECK(truncate("wg8.state", STATEFILE_SIZE_MAX + 1) == 0, "truncate");
	r = statefile_load("wg8", &out, &n, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "larger than") != NULL, "%s", err);
	CHECK(truncate("wg8.state", STATEFILE_SIZE_MAX) == 0, "truncate");
	r = statefile_load("wg8", &out, &n, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "wg8.state: line 3:") != NULL, "%s",
	    err);

	if ((buf = read_file("wg0.state", &len)) != NULL) {
		CHECK(strncmp(buf, HEADER, strlen(HEADER)) == 0, "%s", buf);
		free(buf);
	}
}

static void
test_save_fails(void)
{
	struct state_entry	 in[600], *out;
	struct rlimit		 rl, small;
	char			 err[256], *before, *after;
	size_t			 n, blen, alen;
	int			 r;

	make_entries(in, nitems(in));
	if (statefile_save("wg1", in, 2, err, sizeof(err)) == -1 ||
	    (before = read_file("wg1.state", &blen)) == NULL) {
		CHECK(0, "save: %s", err);
		return;
	}

	TEST("a save with an entry that cannot be written");
	in[1].origin = 0;
	r = statefile_save("wg1", in, 3, err, sizeof(err));
	CHECK(r == -1 && errno == EINVAL, "save: %d %s", r, err);
	in[1].origin = ORIGIN_LAN;
	after = read_file("wg1.state", &alen);
	CHECK(after != NULL && alen == blen && memcmp(before, after,
	    blen) == 0, "the old file changed");
	free(after);
	CHECK(!exists("wg1.state.tmp"), "the temporary file lingers");
	r = statefile_save("wg1", in, STATEFILE_ENTRIES_MAX + 1, err,
	    sizeof(err));
	CHECK(r == -1 && errno == EINVAL, "too many saved: %d", r);

	TEST("a write that fails midway (RLIMIT_FSIZE)");
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &rl);
	small = rl;
	small.rlim_cur = 4096;
	CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0, "setrlimit");
	errno = 0;
	r = statefile_save("wg1", in, nitems(in), err, sizeof(err));
	CHECK(r == -1 && errno == EFBIG && strstr(err, "write") != NULL,
	    "save: %d %s", r, err);
	CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0, "setrlimit");
	signal(SIGXFSZ, SIG_DFL);
	after = read_file("wg1.state", &alen);
	CHECK(after != NULL && alen == blen && memcmp(before, after,
	    blen) == 0, "the old file changed");
	free(after);
	CHECK(!exists("wg1.state.tmp"), "the temporary file lingers");
	r = statefile_load("wg1", &out, &n, err, sizeof(err));
	CHECK(r == 0 && entries_equal(in, 2, out, n), "load: %s", err);
	free(out);
	free(before);

	TEST("a rename that fails");
	CHECK(mkdir("wg6.state", 0700) == 0, "mkdir");
	r = statefile_save("wg6", in, 2, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "rename") != NULL, "save: %d %s", r,
	    err);
	CHECK(!exists("wg6.state.tmp"), "the temporary file lingers");
	rmdir("wg6.state");
}

static void
test_links(void)
{
	struct state_entry	 in[2], *out;
	char			 err[256], *buf;
	size_t			 n, len;
	int			 r;

	make_entries(in, nitems(in));
	TEST("a symbolic link is not followed");
	CHECK(statefile_save("wg2", in, 2, err, sizeof(err)) == 0, "%s", err);
	CHECK(symlink("wg2.state", "wg3.state") == 0, "symlink");
	r = statefile_load("wg3", &out, &n, err, sizeof(err));
	CHECK(r == -1 && out == NULL && n == 0, "loaded through a link");
	CHECK(strstr(err, "wg3.state:") != NULL, "%s", err);

	/* a link as the temporary file: replaced, its target untouched */
	CHECK(write_file("victim", "precious", 8, 0644) == 0, "write");
	CHECK(symlink("victim", "wg4.state.tmp") == 0, "symlink");
	r = statefile_save("wg4", in, 2, err, sizeof(err));
	CHECK(r == 0, "save: %s", err);
	buf = read_file("victim", &len);
	CHECK(buf != NULL && len == 8 && memcmp(buf, "precious", 8) == 0,
	    "the link's target was written");
	free(buf);
	CHECK(!exists("wg4.state.tmp"), "the temporary file lingers");

	/* a save over a link replaces the link, not its target */
	r = statefile_save("wg3", in, 1, err, sizeof(err));
	CHECK(r == 0, "save: %s", err);
	r = statefile_load("wg3", &out, &n, err, sizeof(err));
	CHECK(r == 0 && entries_equal(in, 1, out, n), "%s", err);
	free(out);
	r = statefile_load("wg2", &out, &n, err, sizeof(err));
	CHECK(r == 0 && entries_equal(in, 2, out, n), "%s", err);
	free(out);
}

/* Save and load in a child under the storage process's filter. */
static void
test_sandboxed(void)
{
	struct state_entry	 in[50], *out;
	char			 err[256];
	size_t			 n;
	pid_t			 pid;
	int			 status, r;

	TEST("save and load under the storage filter");
	make_entries(in, nitems(in));
	fflush(stdout);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		sandbox_storage();
		if (statefile_save("wgs", in, nitems(in), err,
		    sizeof(err)) == -1) {
			printf("FAIL sandboxed save: %s\n", err);
			_exit(1);
		}
		/* again, over the file just written */
		if (statefile_save("wgs", in, nitems(in), err,
		    sizeof(err)) == -1) {
			printf("FAIL sandboxed save: %s\n", err);
			_exit(1);
		}
		r = statefile_load("wgs", &out, &n, err, sizeof(err));
		if (r != 0 || !entries_equal(in, nitems(in), out, n)) {
			printf("FAIL sandboxed load: %d %s\n", r, err);
			_exit(1);
		}
		free(out);
		r = statefile_load("nothere", &out, &n, err, sizeof(err));
		if (r != STATEFILE_MISSING) {
			printf("FAIL sandboxed load of nothing: %d\n", r);
			_exit(1);
		}
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) == -1)
		fatal("waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child: %s %d", WIFSIGNALED(status) ? "signal" : "exit",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	r = statefile_load("wgs", &out, &n, err, sizeof(err));
	CHECK(r == 0 && entries_equal(in, nitems(in), out, n), "%s", err);
	free(out);
	CHECK(!exists("wgs.state.tmp"), "the temporary file lingers");
}

int
main(void)
{
	static const char *const files[] = {
		"wg0.state", "wg1.state", "wg2.state", "wg3.state",
		"wg4.state", "wg7.state", "wg8.state", "wgs.state", "victim",
		"wg0.state.tmp", "wg1.state.tmp", "wg4.state.tmp",
		"wg6.state.tmp", "wgs.state.tmp",
	};
	char	 dir[] = "/tmp/test_statefile.XXXXXX";
	int	 cwd;
	size_t	 i;

	log_init(1, LOG_DAEMON);
	umask(022);
	test_round_trip();
	test_format_refuses();
	test_damage();
	test_limits();

	if ((cwd = open(".", O_RDONLY | O_DIRECTORY)) == -1)
		fatal("open .");
	if (mkdtemp(dir) == NULL || chdir(dir) == -1)
		fatal("%s", dir);
	test_save_load();
	test_save_fails();
	test_links();
	test_sandboxed();

	for (i = 0; i < nitems(files); i++)
		unlink(files[i]);
	rmdir("wg6.state");
	if (fchdir(cwd) == -1)
		fatal("fchdir");
	CHECK(rmdir(dir) == 0, "%s left behind: %s", dir, strerror(errno));
	close(cwd);
	return (regress_end());
}
