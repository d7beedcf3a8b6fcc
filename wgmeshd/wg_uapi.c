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
 * The userspace backend: WireGuard's cross-platform UAPI, a line protocol
 * on /var/run/wireguard/IFNAME.sock.  "get=1" answers with key=value lines
 * and "errno=N"; "set=1" takes key=value lines and answers with "errno=N";
 * an empty line ends each message.
 *
 * The process at the other end is not trusted more than it must be: the
 * reply is bounded in size, line length and time, every key must be known
 * (or on a short list of keys that are knowingly ignored), every value is
 * range checked, and the private key it prints is turned into the public
 * key at once and wiped.  One connection per operation, so a userspace
 * implementation that restarts is picked up again.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "parent.h"

#define UAPI_DIR		"/var/run/wireguard"
#define UAPI_TIMEOUT_MS		5000	/* for a whole operation */
#define UAPI_REPLY_MAX		(1024 * 1024)
#define UAPI_LINE_MAX		256	/* with the newline */
#define UAPI_HEXKEY_LEN		(2 * WG_KEY_LEN)

/* A growing buffer whose old copies are wiped: it may hold keys. */
struct sbuf {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

enum uapi_key {
	K_PRIVATE_KEY,
	K_OWN_PUBLIC_KEY,
	K_LISTEN_PORT,
	K_FWMARK,
	K_PUBLIC_KEY,
	K_PRESHARED_KEY,
	K_PROTOCOL_VERSION,
	K_ENDPOINT,
	K_LAST_SEC,
	K_LAST_NSEC,
	K_TX_BYTES,
	K_RX_BYTES,
	K_KEEPALIVE,
	K_ALLOWED_IP,
	K_ERRNO,
	K_IGNORED
};

enum uapi_section {
	S_DEVICE,	/* before the first public_key */
	S_PEER,		/* after one */
	S_ANY
};

static const struct uapi_keyword {
	const char		*name;
	enum uapi_key		 key;
	enum uapi_section	 section;
} uapi_keywords[] = {
	{ "private_key", K_PRIVATE_KEY, S_DEVICE },
	/* boringtun prints the public key instead of the private one */
	{ "own_public_key", K_OWN_PUBLIC_KEY, S_DEVICE },
	{ "listen_port", K_LISTEN_PORT, S_DEVICE },
	{ "fwmark", K_FWMARK, S_DEVICE },
	{ "public_key", K_PUBLIC_KEY, S_ANY },
	{ "preshared_key", K_PRESHARED_KEY, S_PEER },
	{ "protocol_version", K_PROTOCOL_VERSION, S_PEER },
	{ "endpoint", K_ENDPOINT, S_PEER },
	{ "last_handshake_time_sec", K_LAST_SEC, S_PEER },
	{ "last_handshake_time_nsec", K_LAST_NSEC, S_PEER },
	{ "tx_bytes", K_TX_BYTES, S_PEER },
	{ "rx_bytes", K_RX_BYTES, S_PEER },
	{ "persistent_keepalive_interval", K_KEEPALIVE, S_PEER },
	{ "allowed_ip", K_ALLOWED_IP, S_PEER },
	{ "errno", K_ERRNO, S_ANY },
	/*
	 * Ignored: AmneziaWG's obfuscation settings, numbers that mean
	 * nothing to us, printed by amneziawg-go on the same socket.
	 */
	{ "jc", K_IGNORED, S_DEVICE },
	{ "jmin", K_IGNORED, S_DEVICE },
	{ "jmax", K_IGNORED, S_DEVICE },
	{ "s1", K_IGNORED, S_DEVICE },
	{ "s2", K_IGNORED, S_DEVICE },
	{ "h1", K_IGNORED, S_DEVICE },
	{ "h2", K_IGNORED, S_DEVICE },
	{ "h3", K_IGNORED, S_DEVICE },
	{ "h4", K_IGNORED, S_DEVICE },
};

struct uapi_state {
	struct wg_device	*dev;
	struct wg_peer		*peer;	/* NULL: device section */
	uint32_t		 seen;	/* keys seen in this section */
	int			 have_errno;
	int			 err;
};

static int	 sbuf_reserve(struct sbuf *, size_t);
static int	 sbuf_add(struct sbuf *, const char *);
static int	 sbuf_printf(struct sbuf *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static void	 sbuf_wipe(struct sbuf *);
static int	 ms_left(const struct timespec *);
static int	 uapi_connect(const char *);
static int	 uapi_send(const char *, int, const struct sbuf *,
		    const struct timespec *);
static int	 uapi_recv(const char *, int, struct sbuf *,
		    const struct timespec *);
static int	 uapi_transact(const char *, const struct sbuf *,
		    struct sbuf *);
static int	 parse_uint(const char *, uint64_t, uint64_t *);
static int	 parse_errno(const char *, int *);
static int	 parse_hexkey(const char *, uint8_t [WG_KEY_LEN]);
static int	 parse_endpoint(const char *, struct sockaddr_storage *);
static const char *uapi_line(struct uapi_state *, char *);
static int	 put_key(struct sbuf *, const char *,
		    const uint8_t [WG_KEY_LEN]);
static int	 put_endpoint(struct sbuf *, const struct sockaddr_storage *);
static int	 build_set(struct sbuf *, const struct wg_device_set *);
static int	 parse_set_reply(const struct sbuf *, int *);

static int
sbuf_reserve(struct sbuf *sb, size_t need)
{
	char	*p;
	size_t	 cap;

	if (sb->cap - sb->len >= need)
		return (0);
	if (need > SIZE_MAX / 2 - sb->len) {
		errno = ENOMEM;
		return (-1);
	}
	cap = sb->cap == 0 ? 4096 : sb->cap;
	while (cap - sb->len < need)
		cap *= 2;
	if ((p = malloc(cap)) == NULL)
		return (-1);
	if (sb->buf != NULL) {
		memcpy(p, sb->buf, sb->len);
		sodium_memzero(sb->buf, sb->cap);
		free(sb->buf);
	}
	sb->buf = p;
	sb->cap = cap;
	return (0);
}

static int
sbuf_add(struct sbuf *sb, const char *s)
{
	size_t	len = strlen(s);

	if (sbuf_reserve(sb, len + 1) == -1)
		return (-1);
	memcpy(sb->buf + sb->len, s, len + 1);
	sb->len += len;
	return (0);
}

static int
sbuf_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sbuf_reserve(sb, (size_t)n + 1) == -1)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += n;
	return (0);
}

static void
sbuf_wipe(struct sbuf *sb)
{
	if (sb->buf != NULL) {
		sodium_memzero(sb->buf, sb->cap);
		free(sb->buf);
	}
	memset(sb, 0, sizeof(*sb));
}

int
uapi_socket_path(const char *ifname, char *buf, size_t len)
{
	int	n;

	n = snprintf(buf, len, "%s/%s.sock", UAPI_DIR, ifname);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (0);
}

/* Milliseconds until the deadline, for poll(2); 0 once it has passed. */
static int
ms_left(const struct timespec *deadline)
{
	struct timespec	now;
	long long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0)
		return (0);
	return (ms > INT_MAX ? INT_MAX : (int)ms);
}

/*
 * Non-blocking from the start: a connect to a listener whose backlog is
 * full fails at once instead of waiting.
 */
static int
uapi_connect(const char *ifname)
{
	struct sockaddr_un	sun;
	struct ucred		uc;
	socklen_t		len;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (uapi_socket_path(ifname, sun.sun_path, sizeof(sun.sun_path)) ==
	    -1) {
		log_warn("%s: UAPI socket path", ifname);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		log_warn("%s: UAPI socket", ifname);
		return (-1);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == ECONNREFUSED)
			log_warnx("%s: UAPI connect %s: nothing listens "
			    "(a stale socket?)", ifname, sun.sun_path);
		else
			log_warn("%s: UAPI connect %s", ifname, sun.sun_path);
		close(fd);
		return (-1);
	}
	/*
	 * The path alone proves nothing: a socket that another user made
	 * there (a directory made writable, a private /run gone wrong)
	 * would receive private keys.  Only root's implementation is
	 * told anything, or believed.
	 */
	len = sizeof(uc);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1) {
		log_warn("%s: UAPI %s: SO_PEERCRED", ifname, sun.sun_path);
		close(fd);
		return (-1);
	}
	if (uc.uid != 0) {
		log_warnx("%s: UAPI socket %s is served by uid %u (pid %d), "
		    "not root: refusing it", ifname, sun.sun_path,
		    (unsigned int)uc.uid, (int)uc.pid);
		close(fd);
		errno = EPERM;
		return (-1);
	}
	return (fd);
}

static int
uapi_send(const char *ifname, int fd, const struct sbuf *req,
    const struct timespec *deadline)
{
	struct pollfd	pfd;
	size_t		off = 0;
	ssize_t		n;
	int		ms;

	while (off < req->len) {
		n = send(fd, req->buf + off, req->len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN) {
			log_warn("%s: UAPI send", ifname);
			return (-1);
		}
		if ((ms = ms_left(deadline)) == 0)
			goto timeout;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, ms) == -1 && errno != EINTR) {
			log_warn("%s: UAPI poll", ifname);
			return (-1);
		}
	}
	return (0);

 timeout:
	log_warnx("%s: UAPI send: no progress in %d ms", ifname,
	    UAPI_TIMEOUT_MS);
	errno = ETIMEDOUT;
	return (-1);
}

/*
 * Reads one reply, up to and including the empty line that ends it.
 * Nothing may follow: the other side speaks only when spoken to.
 */
static int
uapi_recv(const char *ifname, int fd, struct sbuf *reply,
    const struct timespec *deadline)
{
	struct pollfd	 pfd;
	size_t		 i, room;
	ssize_t		 n;
	int		 ms;

	for (;;) {
		if (reply->len >= UAPI_REPLY_MAX) {
			log_warnx("%s: UAPI reply longer than %d bytes",
			    ifname, UAPI_REPLY_MAX);
			errno = EMSGSIZE;
			return (-1);
		}
		room = UAPI_REPLY_MAX - reply->len;
		if (room > 65536)
			room = 65536;
		if (sbuf_reserve(reply, room) == -1) {
			log_warn("%s: UAPI reply", ifname);
			return (-1);
		}
		n = recv(fd, reply->buf + reply->len, room, 0);
		if (n == 0) {
			log_warnx("%s: UAPI: connection closed before the "
			    "end of the reply", ifname);
			errno = ECONNRESET;
			return (-1);
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				log_warn("%s: UAPI recv", ifname);
				return (-1);
			}
			if ((ms = ms_left(deadline)) == 0) {
				log_warnx("%s: UAPI: no reply within %d ms",
				    ifname, UAPI_TIMEOUT_MS);
				errno = ETIMEDOUT;
				return (-1);
			}
			pfd.fd = fd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, ms) == -1 && errno != EINTR) {
				log_warn("%s: UAPI poll", ifname);
				return (-1);
			}
			continue;
		}
		/* An empty line: a newline at the start or after another. */
		i = reply->len;
		reply->len += n;
		for (; i < reply->len; i++) {
			if (reply->buf[i] != '\n' ||
			    (i > 0 && reply->buf[i - 1] != '\n'))
				continue;
			if (i + 1 != reply->len) {
				log_warnx("%s: UAPI: data after the end of "
				    "the reply", ifname);
				errno = EBADMSG;
				return (-1);
			}
			return (0);
		}
	}
}

static int
uapi_transact(const char *ifname, const struct sbuf *req, struct sbuf *reply)
{
	struct timespec	deadline;
	int		fd, rv;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += UAPI_TIMEOUT_MS / 1000;
	if ((fd = uapi_connect(ifname)) == -1)
		return (-1);
	rv = uapi_send(ifname, fd, req, &deadline);
	if (rv == 0)
		rv = uapi_recv(ifname, fd, reply, &deadline);
	close(fd);
	return (rv);
}

/* Decimal, no sign, no leading zeros, at most max. */
static int
parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return (-1);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		if (v > (UINT64_MAX - (s[i] - '0')) / 10)
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return (-1);
	*out = v;
	return (0);
}

/*
 * wireguard-go answers "errno=-22", boringtun "errno=22": the sign is
 * the implementation's habit, the number is the error.
 */
static int
parse_errno(const char *s, int *err)
{
	uint64_t	v;

	if (s[0] == '-' && s[1] != '0')
		s++;
	if (parse_uint(s, 4095, &v) == -1)
		return (-1);
	*err = (int)v;
	return (0);
}

/* Exactly 64 hex digits, either case. */
static int
parse_hexkey(const char *s, uint8_t key[WG_KEY_LEN])
{
	size_t	i;
	int	hi, lo;

	if (strlen(s) != UAPI_HEXKEY_LEN)
		return (-1);
	for (i = 0; i < WG_KEY_LEN; i++) {
		hi = s[2 * i];
		lo = s[2 * i + 1];
		hi = hi >= '0' && hi <= '9' ? hi - '0' :
		    hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 :
		    hi >= 'A' && hi <= 'F' ? hi - 'A' + 10 : -1;
		lo = lo >= '0' && lo <= '9' ? lo - '0' :
		    lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 :
		    lo >= 'A' && lo <= 'F' ? lo - 'A' + 10 : -1;
		if (hi == -1 || lo == -1) {
			sodium_memzero(key, WG_KEY_LEN);
			return (-1);
		}
		key[i] = hi << 4 | lo;
	}
	return (0);
}

/* "198.18.0.1:51820", "[fd00::1]:51820", "[fe80::1%eth0]:51820" */
static int
parse_endpoint(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[INET6_ADDRSTRLEN + IFNAMSIZ];
	const char		*end, *port;
	char			*zone;
	uint64_t		 v, scope = 0;
	size_t			 len;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return (-1);
		len = end - (s + 1);
		port = end + 2;
		if (len == 0 || len >= sizeof(host))
			return (-1);
		memcpy(host, s + 1, len);
		host[len] = '\0';
		if ((zone = strchr(host, '%')) != NULL) {
			*zone++ = '\0';
			if (parse_uint(zone, UINT32_MAX, &scope) == -1 &&
			    (strlen(zone) >= IFNAMSIZ ||
			    (scope = if_nametoindex(zone)) == 0))
				return (-1);
		}
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return (-1);
		if (parse_uint(port, UINT16_MAX, &v) == -1)
			return (-1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)v);
		sin6->sin6_scope_id = (uint32_t)scope;
		return (0);
	}
	if ((end = strchr(s, ':')) == NULL || strchr(end + 1, ':') != NULL)
		return (-1);
	len = end - s;
	if (len == 0 || len >= sizeof(host))
		return (-1);
	memcpy(host, s, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return (-1);
	if (parse_uint(end + 1, UINT16_MAX, &v) == -1)
		return (-1);
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)v);
	return (0);
}

/* One "key=value" line of a get reply; returns why it is wrong, or NULL. */
static const char *
uapi_line(struct uapi_state *st, char *line)
{
	const struct uapi_keyword	*kw = NULL;
	struct wg_device		*dev = st->dev;
	struct wg_peer			*peer = st->peer;
	struct prefix			 pfx;
	uint8_t				 key[WG_KEY_LEN];
	uint8_t				 pub[WG_KEY_LEN];
	uint64_t			 v;
	size_t				 i;
	char				*value;

	if ((value = strchr(line, '=')) == NULL || value == line)
		return ("not key=value");
	*value++ = '\0';
	if (*value == '\0')
		return ("empty value");
	for (i = 0; i < sizeof(uapi_keywords) / sizeof(uapi_keywords[0]);
	    i++) {
		if (strcmp(line, uapi_keywords[i].name) == 0) {
			kw = &uapi_keywords[i];
			break;
		}
	}
	if (kw == NULL)
		return ("unknown key");
	if (st->have_errno)
		return ("a line after errno");
	if (kw->section == S_DEVICE && peer != NULL)
		return ("a device key after the first peer");
	if (kw->section == S_PEER && peer == NULL)
		return ("a peer key before the first peer");
	if (kw->key != K_ALLOWED_IP && kw->key != K_IGNORED &&
	    kw->key != K_PUBLIC_KEY) {
		if ((st->seen & (1U << kw->key)) != 0)
			return ("a key given twice");
		st->seen |= 1U << kw->key;
	}

	switch (kw->key) {
	case K_PRIVATE_KEY:
		if (parse_hexkey(value, key) == -1)
			return ("not a key of 64 hex digits");
		sodium_memzero(value, strlen(value));
		if (key_is_zero(key))
			return (NULL);
		if (key_public_from_private(pub, key) == -1) {
			sodium_memzero(key, sizeof(key));
			return ("unusable private key");
		}
		sodium_memzero(key, sizeof(key));
		if ((st->seen & (1U << K_OWN_PUBLIC_KEY)) != 0 &&
		    memcmp(pub, dev->public_key, WG_KEY_LEN) != 0)
			return ("private and public key do not match");
		memcpy(dev->public_key, pub, WG_KEY_LEN);
		dev->has_private_key = 1;
		break;
	case K_OWN_PUBLIC_KEY:
		if (parse_hexkey(value, pub) == -1)
			return ("not a key of 64 hex digits");
		if ((st->seen & (1U << K_PRIVATE_KEY)) != 0 &&
		    memcmp(pub, dev->public_key, WG_KEY_LEN) != 0)
			return ("private and public key do not match");
		memcpy(dev->public_key, pub, WG_KEY_LEN);
		dev->has_private_key = 1;
		break;
	case K_LISTEN_PORT:
		if (parse_uint(value, UINT16_MAX, &v) == -1)
			return ("port out of range");
		dev->listen_port = v;
		break;
	case K_FWMARK:
		if (parse_uint(value, UINT32_MAX, &v) == -1)
			return ("fwmark out of range");
		dev->fwmark = v;
		break;
	case K_PUBLIC_KEY:
		if (parse_hexkey(value, pub) == -1)
			return ("not a key of 64 hex digits");
		if ((peer = wg_device_add_peer(dev)) == NULL)
			return (errno == E2BIG ? "too many peers" :
			    "out of memory");
		memcpy(peer->public_key, pub, WG_KEY_LEN);
		st->peer = peer;
		st->seen = 0;
		break;
	case K_PRESHARED_KEY:
		if (parse_hexkey(value, key) == -1)
			return ("not a key of 64 hex digits");
		sodium_memzero(value, strlen(value));
		peer->has_psk = !key_is_zero(key);
		sodium_memzero(key, sizeof(key));
		break;
	case K_PROTOCOL_VERSION:
		if (parse_uint(value, UINT32_MAX, &v) == -1 || v != 1)
			return ("protocol version other than 1");
		break;
	case K_ENDPOINT:
		if (parse_endpoint(value, &peer->endpoint) == -1)
			return ("not an IP address and port");
		break;
	case K_LAST_SEC:
		if (parse_uint(value, INT64_MAX, &v) == -1)
			return ("time out of range");
		peer->last_handshake = (int64_t)v;
		break;
	case K_LAST_NSEC:
		if (parse_uint(value, 999999999, &v) == -1)
			return ("nanoseconds out of range");
		break;
	case K_TX_BYTES:
		if (parse_uint(value, UINT64_MAX, &v) == -1)
			return ("count out of range");
		peer->tx_bytes = v;
		break;
	case K_RX_BYTES:
		if (parse_uint(value, UINT64_MAX, &v) == -1)
			return ("count out of range");
		peer->rx_bytes = v;
		break;
	case K_KEEPALIVE:
		if (parse_uint(value, UINT16_MAX, &v) == -1)
			return ("interval out of range");
		peer->keepalive = v;
		break;
	case K_ALLOWED_IP:
		if (strchr(value, '/') == NULL || prefix_parse(value, &pfx) ==
		    -1)
			return ("not an address/length");
		prefix_mask(&pfx);
		if (wg_peer_add_allowed(peer, &pfx) == -1)
			return (errno == E2BIG ? "too many allowed-ips" :
			    "out of memory");
		break;
	case K_ERRNO:
		if (parse_errno(value, &st->err) == -1)
			return ("errno out of range");
		st->have_errno = 1;
		break;
	case K_IGNORED:
		if (parse_uint(value, UINT32_MAX, &v) == -1)
			return ("value out of range");
		break;
	}
	return (NULL);
}

int
uapi_parse_get(const char *buf, size_t len, struct wg_device *dev)
{
	struct uapi_state	 st;
	char			 ifname[IFNAMSIZ], line[UAPI_LINE_MAX];
	const char		*p = buf, *end = buf + len, *nl, *why = NULL;
	const char		*name;
	size_t			 n, i;
	int			 lineno = 0, done = 0;

	memcpy(ifname, dev->ifname, sizeof(ifname));
	ifname[sizeof(ifname) - 1] = '\0';
	memset(dev, 0, sizeof(*dev));
	memcpy(dev->ifname, ifname, sizeof(dev->ifname));
	name = ifname[0] != '\0' ? ifname : "?";
	memset(&st, 0, sizeof(st));
	st.dev = dev;

	while (p < end) {
		lineno++;
		if ((nl = memchr(p, '\n', end - p)) == NULL) {
			why = "no newline at the end";
			goto bad;
		}
		n = nl - p;
		if (n == 0) {
			if (nl + 1 != end) {
				why = "data after the empty line";
				goto bad;
			}
			done = 1;
			break;
		}
		if (n >= sizeof(line)) {
			why = "line too long";
			goto bad;
		}
		for (i = 0; i < n; i++) {
			if (p[i] <= ' ' || p[i] >= 0x7f) {
				why = "a space or a control character";
				goto bad;
			}
		}
		memcpy(line, p, n);
		line[n] = '\0';
		why = uapi_line(&st, line);
		sodium_memzero(line, sizeof(line));
		if (why != NULL)
			goto bad;
		p = nl + 1;
	}
	lineno++;
	if (!done) {
		why = "no empty line at the end";
		goto bad;
	}
	if (!st.have_errno) {
		why = "no errno";
		goto bad;
	}
	if (st.err != 0) {
		log_warnx("%s: UAPI get: errno=%d", name, st.err);
		wg_device_free(dev);
		memset(dev, 0, sizeof(*dev));
		memcpy(dev->ifname, ifname, sizeof(dev->ifname));
		errno = st.err;
		return (-1);
	}
	return (0);

 bad:
	log_warnx("%s: UAPI get: reply line %d: %s", name, lineno, why);
	wg_device_free(dev);
	memset(dev, 0, sizeof(*dev));
	memcpy(dev->ifname, ifname, sizeof(dev->ifname));
	errno = EBADMSG;
	return (-1);
}

int
uapi_get(const char *ifname, struct wg_device *dev)
{
	struct sbuf	req, reply;
	int		rv;

	memset(dev, 0, sizeof(*dev));
	strlcpy(dev->ifname, ifname, sizeof(dev->ifname));
	memset(&req, 0, sizeof(req));
	memset(&reply, 0, sizeof(reply));
	if (sbuf_add(&req, "get=1\n\n") == -1) {
		log_warn("%s: UAPI get", ifname);
		return (-1);
	}
	rv = uapi_transact(ifname, &req, &reply);
	if (rv == 0)
		rv = uapi_parse_get(reply.buf, reply.len, dev);
	sbuf_wipe(&req);
	sbuf_wipe(&reply);
	return (rv);
}

static int
put_key(struct sbuf *sb, const char *name, const uint8_t key[WG_KEY_LEN])
{
	char	hex[UAPI_HEXKEY_LEN + 1];
	int	rv;

	sodium_bin2hex(hex, sizeof(hex), key, WG_KEY_LEN);
	rv = sbuf_add(sb, name) == -1 || sbuf_add(sb, "=") == -1 ||
	    sbuf_add(sb, hex) == -1 || sbuf_add(sb, "\n") == -1 ? -1 : 0;
	sodium_memzero(hex, sizeof(hex));
	return (rv);
}

static int
put_endpoint(struct sbuf *sb, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6;
	char				 addr[INET6_ADDRSTRLEN];

	sin6 = (const struct sockaddr_in6 *)ss;
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		return (sbuf_printf(sb, "endpoint=%s:%u\n", addr,
		    ntohs(sin->sin_port)));
	}
	inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
	if (sin6->sin6_scope_id != 0)
		return (sbuf_printf(sb, "endpoint=[%s%%%u]:%u\n", addr,
		    sin6->sin6_scope_id, ntohs(sin6->sin6_port)));
	return (sbuf_printf(sb, "endpoint=[%s]:%u\n", addr,
	    ntohs(sin6->sin6_port)));
}

/*
 * wireguard-go acts on "update_only" and "remove" only right after
 * "public_key", so they come first in a peer's lines.
 */
static int
build_set(struct sbuf *sb, const struct wg_device_set *set)
{
	const struct wg_peer_set	*ps;
	struct prefix			 pfx;
	char				 buf[PREFIX_STR_MAX];
	size_t				 i, j;

	if (sbuf_add(sb, "set=1\n") == -1)
		return (-1);
	if ((set->flags & WGDEV_SET_PRIVATE_KEY) != 0 &&
	    put_key(sb, "private_key", set->private_key) == -1)
		return (-1);
	if ((set->flags & WGDEV_SET_LISTEN_PORT) != 0 &&
	    sbuf_printf(sb, "listen_port=%u\n", set->listen_port) == -1)
		return (-1);
	if ((set->flags & WGDEV_SET_FWMARK) != 0 &&
	    sbuf_printf(sb, "fwmark=%u\n", set->fwmark) == -1)
		return (-1);
	if ((set->flags & WGDEV_REPLACE_PEERS) != 0 &&
	    sbuf_add(sb, "replace_peers=true\n") == -1)
		return (-1);
	for (i = 0; i < set->npeers; i++) {
		ps = &set->peers[i];
		if (put_key(sb, "public_key", ps->public_key) == -1)
			return (-1);
		if ((ps->flags & WGPEER_REMOVE) != 0) {
			if (sbuf_add(sb, "remove=true\n") == -1)
				return (-1);
			continue;
		}
		if ((ps->flags & WGPEER_UPDATE_ONLY) != 0 &&
		    sbuf_add(sb, "update_only=true\n") == -1)
			return (-1);
		if ((ps->flags & WGPEER_SET_PSK) != 0 &&
		    put_key(sb, "preshared_key", ps->psk) == -1)
			return (-1);
		if ((ps->flags & WGPEER_SET_ENDPOINT) != 0 &&
		    put_endpoint(sb, &ps->endpoint) == -1)
			return (-1);
		if ((ps->flags & WGPEER_SET_KEEPALIVE) != 0 &&
		    sbuf_printf(sb, "persistent_keepalive_interval=%u\n",
		    ps->keepalive) == -1)
			return (-1);
		if ((ps->flags & WGPEER_REPLACE_ALLOWED) != 0 &&
		    sbuf_add(sb, "replace_allowed_ips=true\n") == -1)
			return (-1);
		for (j = 0; j < ps->nallowed; j++) {
			pfx = ps->allowed[j];
			prefix_mask(&pfx);
			if (sbuf_printf(sb, "allowed_ip=%s\n",
			    prefix_ntop(&pfx, buf, sizeof(buf))) == -1)
				return (-1);
		}
	}
	return (sbuf_add(sb, "\n"));
}

/* The reply to a set is exactly "errno=N" and an empty line. */
static int
parse_set_reply(const struct sbuf *reply, int *err)
{
	char		 line[32];
	size_t		 n;

	if (reply->len < 3 || reply->buf[reply->len - 1] != '\n' ||
	    reply->buf[reply->len - 2] != '\n')
		return (-1);
	n = reply->len - 2;
	if (n >= sizeof(line) || n <= 6 ||
	    memcmp(reply->buf, "errno=", 6) != 0)
		return (-1);
	memcpy(line, reply->buf + 6, n - 6);
	line[n - 6] = '\0';
	return (parse_errno(line, err));
}

int
uapi_set(const char *ifname, const struct wg_device_set *set)
{
	struct sbuf	req, reply;
	int		rv, err;

	if (wg_set_valid(ifname, set) == -1) {
		errno = EINVAL;
		return (-1);
	}
	memset(&req, 0, sizeof(req));
	memset(&reply, 0, sizeof(reply));
	if (build_set(&req, set) == -1) {
		log_warn("%s: UAPI set", ifname);
		sbuf_wipe(&req);
		return (-1);
	}
	rv = uapi_transact(ifname, &req, &reply);
	if (rv == 0) {
		if (parse_set_reply(&reply, &err) == -1) {
			log_warnx("%s: UAPI set: malformed reply", ifname);
			errno = EBADMSG;
			rv = -1;
		} else if (err != 0) {
			log_warnx("%s: UAPI set: errno=%d (%s)", ifname, err,
			    strerror(err));
			errno = err;
			rv = -1;
		}
	}
	sbuf_wipe(&req);
	sbuf_wipe(&reply);
	return (rv);
}
