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


#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "proto.h"
#include "util.h"

static int	 parse_port(const char *, uint16_t *);
static int	 name_valid(const char *, size_t);
static int	 prefix_addrlen(const struct prefix *);

/*
 * A key is exactly 44 characters of standard base64 with padding, as wg(8)
 * prints it; anything else (short, long, trailing garbage, the URL-safe
 * alphabet) is refused rather than guessed at.
 */
int
key_from_base64(uint8_t key[WG_KEY_LEN], const char *b64)
{
	uint8_t		 tmp[WG_KEY_LEN];
	size_t		 len;
	const char	*end;

	if (b64 == NULL || strlen(b64) != WG_KEY_B64_LEN - 1)
		return (-1);
	if (sodium_base642bin(tmp, sizeof(tmp), b64, WG_KEY_B64_LEN - 1,
	    NULL, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != WG_KEY_LEN || *end != '\0') {
		sodium_memzero(tmp, sizeof(tmp));
		return (-1);
	}
	memcpy(key, tmp, WG_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return (0);
}

void
key_to_base64(char out[WG_KEY_B64_LEN], const uint8_t key[WG_KEY_LEN])
{
	sodium_bin2base64(out, WG_KEY_B64_LEN, key, WG_KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* RFC 7748 clamping, as WireGuard stores private keys. */
void
key_clamp(uint8_t key[WG_KEY_LEN])
{
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
}

int
key_public_from_private(uint8_t pub[WG_KEY_LEN],
    const uint8_t priv[WG_KEY_LEN])
{
	if (crypto_scalarmult_curve25519_base(pub, priv) != 0)
		return (-1);
	return (0);
}

int
key_is_zero(const uint8_t key[WG_KEY_LEN])
{
	return (sodium_is_zero(key, WG_KEY_LEN));
}

int
prefix_parse(const char *s, struct prefix *p)
{
	char		 buf[INET6_ADDRSTRLEN + 5], *slash, *ep;
	unsigned long	 plen;
	int		 maxlen;

	if (s == NULL || strlen(s) >= sizeof(buf))
		return (-1);
	strlcpy(buf, s, sizeof(buf));
	memset(p, 0, sizeof(*p));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, &p->addr.v4) == 1) {
		p->af = AF_INET;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, buf, &p->addr.v6) == 1) {
		p->af = AF_INET6;
		maxlen = 128;
	} else
		return (-1);
	if (slash == NULL) {
		p->plen = maxlen;
		return (0);
	}
	if (!isdigit((unsigned char)slash[0]) ||
	    (slash[0] == '0' && slash[1] != '\0'))
		return (-1);
	errno = 0;
	plen = strtoul(slash, &ep, 10);
	if (errno != 0 || *ep != '\0' || plen > (unsigned long)maxlen)
		return (-1);
	p->plen = plen;
	return (0);
}

const char *
prefix_ntop(const struct prefix *p, char *buf, size_t len)
{
	char	addr[INET6_ADDRSTRLEN];

	if (inet_ntop(p->af, &p->addr, addr, sizeof(addr)) == NULL)
		strlcpy(addr, "?", sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, p->plen);
	return (buf);
}

static int
prefix_addrlen(const struct prefix *p)
{
	return (p->af == AF_INET ? 4 : 16);
}

void
prefix_mask(struct prefix *p)
{
	int	i, bits;

	for (i = 0; i < prefix_addrlen(p); i++) {
		bits = p->plen - i * 8;
		if (bits >= 8)
			continue;
		if (bits <= 0)
			p->addr.bytes[i] = 0;
		else
			p->addr.bytes[i] &= 0xff << (8 - bits);
	}
}

int
prefix_has_host_bits(const struct prefix *p)
{
	struct prefix	m = *p;

	prefix_mask(&m);
	return (memcmp(&m.addr, &p->addr, sizeof(p->addr)) != 0);
}

int
prefix_equal(const struct prefix *a, const struct prefix *b)
{
	return (a->af == b->af && a->plen == b->plen &&
	    memcmp(&a->addr, &b->addr, prefix_addrlen(a)) == 0);
}

/* Two prefixes overlap when one contains the other's network. */
int
prefix_overlap(const struct prefix *a, const struct prefix *b)
{
	struct prefix	ma = *a, mb = *b;

	if (a->af != b->af)
		return (0);
	ma.plen = mb.plen = a->plen < b->plen ? a->plen : b->plen;
	prefix_mask(&ma);
	prefix_mask(&mb);
	return (memcmp(&ma.addr, &mb.addr, prefix_addrlen(a)) == 0);
}

void
address_derive(struct prefix *p, const char *name, const char *ifname)
{
	crypto_hash_sha256_state	 st;
	uint8_t				 h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
	crypto_hash_sha256_update(&st, (const uint8_t *)ifname,
	    strlen(ifname));
	crypto_hash_sha256_final(&st, h);

	/*
	 * The fleet module takes the first twelve hex digits of the hash,
	 * which are its first six bytes in order.
	 */
	memset(p, 0, sizeof(*p));
	p->af = AF_INET6;
	p->plen = 64;
	p->addr.bytes[0] = 0xfd;
	p->addr.bytes[1] = 0x00;
	memcpy(&p->addr.bytes[2], h, 6);
	p->addr.bytes[15] = 1;
}

/*
 * A node's control address on an interface, from its public key alone:
 * fd00::/64 and the first eight bytes of SHA-256("wgmeshd control" and
 * the key).  Every peer routes it (a /128) to the key it is made from,
 * so two nodes that disagree about each other's names, or about the
 * prefixes they route, still reach each other's engines through the
 * tunnel and can say so; gossip goes between control addresses.  A
 * name's /64 (address_derive()) is fd00:h:h:h::/64, so the two collide
 * only when a name's first 48 bits of digest are zero.
 */
void
address_control(uint8_t out[16], const uint8_t key[WG_KEY_LEN])
{
	crypto_hash_sha256_state	 st;
	uint8_t				 h[crypto_hash_sha256_BYTES];
	static const char		 label[] = "wgmeshd control";

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)label,
	    sizeof(label) - 1);
	crypto_hash_sha256_update(&st, key, WG_KEY_LEN);
	crypto_hash_sha256_final(&st, h);
	memset(out, 0, 16);
	out[0] = 0xfd;
	memcpy(&out[8], h, 8);
}

int
address_collides(const struct prefix *a, const struct prefix *b)
{
	return (a->af == b->af && memcmp(&a->addr, &b->addr, 8) == 0);
}

static int
parse_port(const char *s, uint16_t *port)
{
	char		*ep;
	unsigned long	 v;

	if (!isdigit((unsigned char)s[0]))
		return (-1);
	errno = 0;
	v = strtoul(s, &ep, 10);
	if (errno != 0 || *ep != '\0' || v == 0 || v > 65535)
		return (-1);
	*port = v;
	return (0);
}

/*
 * "198.18.0.1:51820", "[fd00::1]:51820" or "host.example:51820".  A bare
 * IPv6 address without brackets is refused: its last group would be
 * read as a port.
 */
int
endpoint_parse(const char *s, struct endpoint *ep, const char **errstr)
{
	char			 buf[ENDPOINT_STR_MAX], *host, *port;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	struct in_addr		 a4;
	struct in6_addr		 a6;

	memset(ep, 0, sizeof(*ep));
	if (strlen(s) >= sizeof(buf)) {
		*errstr = "too long";
		return (-1);
	}
	strlcpy(buf, s, sizeof(buf));
	if (buf[0] == '[') {
		host = buf + 1;
		if ((port = strchr(host, ']')) == NULL) {
			*errstr = "missing ']'";
			return (-1);
		}
		*port++ = '\0';
		if (*port != ':') {
			*errstr = "missing port";
			return (-1);
		}
		port++;
		if (inet_pton(AF_INET6, host, &a6) != 1) {
			*errstr = "invalid IPv6 address";
			return (-1);
		}
	} else {
		host = buf;
		if ((port = strrchr(host, ':')) == NULL) {
			*errstr = "missing port";
			return (-1);
		}
		*port++ = '\0';
		if (strchr(host, ':') != NULL) {
			*errstr = "IPv6 address must be in brackets";
			return (-1);
		}
	}
	if (parse_port(port, &ep->port) == -1) {
		*errstr = "port must be 1 to 65535";
		return (-1);
	}
	if (strlcpy(ep->host, host, sizeof(ep->host)) >= sizeof(ep->host)) {
		*errstr = "host name too long";
		return (-1);
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		sin6 = (struct sockaddr_in6 *)&ep->ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = a6;
		sin6->sin6_port = htons(ep->port);
		ep->literal = 1;
	} else if (inet_pton(AF_INET, host, &a4) == 1) {
		sin = (struct sockaddr_in *)&ep->ss;
		sin->sin_family = AF_INET;
		sin->sin_addr = a4;
		sin->sin_port = htons(ep->port);
		ep->literal = 1;
	} else if (!hostname_valid(host)) {
		*errstr = "invalid host name";
		return (-1);
	}
	return (0);
}

const char *
endpoint_ntop(const struct endpoint *ep, char *buf, size_t len)
{
	if (strchr(ep->host, ':') != NULL)
		snprintf(buf, len, "[%s]:%u", ep->host, ep->port);
	else
		snprintf(buf, len, "%s:%u", ep->host, ep->port);
	return (buf);
}

const char *
sockaddr_ntop(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 addr[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		snprintf(buf, len, "%s:%u", addr, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		snprintf(buf, len, "[%s]:%u", addr, ntohs(sin6->sin6_port));
		break;
	default:
		snprintf(buf, len, "(family %d)", sa->sa_family);
		break;
	}
	return (buf);
}

/* Letters, digits, '-', '_' and '.': safe in paths, logs and files. */
static int
name_valid(const char *s, size_t maxlen)
{
	size_t	i, len = strlen(s);

	if (len == 0 || len >= maxlen)
		return (0);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return (0);
	return (1);
}

/*
 * A string from elsewhere made safe for a terminal, in the manner of
 * vis(3): printable ASCII stays as it is but for the backslash, which is
 * doubled; newline, tab and carriage return become \n, \t and \r; every
 * other byte (control characters, DEL, anything not ASCII) becomes \ooo.
 * Nothing is acted on, and nothing is lost: the encoding can be undone.
 * dst ends in NUL and never holds half an escape.  Returns the length
 * the whole encoding needs, as strlcpy(3) does, so that a caller can
 * tell it was cut short.
 */
size_t
str_vis(char *dst, size_t dstlen, const char *src)
{
	const unsigned char	*s = (const unsigned char *)src;
	char			 e[5];
	size_t			 len = 0, elen;
	int			 full = dstlen == 0;

	if (dstlen > 0)
		dst[0] = '\0';
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			elen = (size_t)snprintf(e, sizeof(e), "\\\\");
		else if (*s == '\n')
			elen = (size_t)snprintf(e, sizeof(e), "\\n");
		else if (*s == '\t')
			elen = (size_t)snprintf(e, sizeof(e), "\\t");
		else if (*s == '\r')
			elen = (size_t)snprintf(e, sizeof(e), "\\r");
		else if (*s < 0x20 || *s >= 0x7f)
			elen = (size_t)snprintf(e, sizeof(e), "\\%03o", *s);
		else {
			e[0] = *s;
			e[1] = '\0';
			elen = 1;
		}
		if (!full && len + elen < dstlen) {
			memcpy(dst + len, e, elen);
			dst[len + elen] = '\0';
		} else
			full = 1;
		len += elen;
	}
	return (len);
}

/* Node names end up in derived addresses, logs and state files. */
int
node_name_valid(const char *s)
{
	return (name_valid(s, NODE_NAME_MAX));
}

/*
 * Linux takes almost any bytes; we take what ip-link(8) users type, so
 * that names are safe in paths such as /run/wireguard/IFNAME.sock.
 */
int
ifname_valid(const char *s)
{
	return (name_valid(s, IFNAMSIZ) && strcmp(s, ".") != 0 &&
	    strcmp(s, "..") != 0);
}

/* RFC 1123 host names: labels of letters, digits and inner hyphens. */
int
hostname_valid(const char *s)
{
	size_t	i, len = strlen(s), label = 0;

	if (len == 0 || len >= ENDPOINT_HOST_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return (0);
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return (0);
		if (s[i] == '-' && label == 0)
			return (0);
		if (++label > 63)
			return (0);
	}
	return (s[len - 1] != '-');
}

/*
 * glibc before 2.38 has no strlcpy; ours returns strlen(src) like
 * OpenBSD's, so truncation is checked the same way everywhere.
 */
size_t
wgm_strlcpy(char *dst, const char *src, size_t dsize)
{
	size_t	len = strlen(src);

	if (dsize != 0) {
		size_t	n = len >= dsize ? dsize - 1 : len;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return (len);
}

/*
 * A sockaddr_in6's scope id is kept only for a link-local address: for
 * any other, the kernel fills it with the arrival interface, which is not
 * part of the address.
 */
int
imsg_addr_from_sockaddr(struct imsg_addr *ia, const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	memset(ia, 0, sizeof(*ia));
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		ia->af = AF_INET;
		ia->port = ntohs(sin->sin_port);
		memcpy(ia->addr, &sin->sin_addr, 4);
		return (0);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		ia->af = AF_INET6;
		ia->port = ntohs(sin6->sin6_port);
		memcpy(ia->addr, &sin6->sin6_addr, 16);
		if (imsg_addr_is_link_local(ia))
			ia->scope = sin6->sin6_scope_id;
		return (0);
	case AF_UNSPEC:
		return (0);
	}
	return (-1);
}

int
imsg_addr_to_sockaddr(struct sockaddr_storage *ss, const struct imsg_addr *ia)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;

	memset(ss, 0, sizeof(*ss));
	switch (ia->af) {
	case AF_INET:
		if (ia->scope != 0)
			return (-1);
		sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(ia->port);
		memcpy(&sin->sin_addr, ia->addr, 4);
		return (0);
	case AF_INET6:
		sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(ia->port);
		memcpy(&sin6->sin6_addr, ia->addr, 16);
		sin6->sin6_scope_id = ia->scope;
		return (0);
	case AF_UNSPEC:
		return (0);
	}
	return (-1);
}

/* fe80::/10 */
int
imsg_addr_is_link_local(const struct imsg_addr *ia)
{
	return (ia->af == AF_INET6 && ia->addr[0] == 0xfe &&
	    (ia->addr[1] & 0xc0) == 0x80);
}

/*
 * Whether an address may be a WireGuard endpoint: a unicast address of
 * either family with a port; an IPv6 link-local one with the interface
 * it is on, and no other with a scope.  Never one of this host's own
 * (0/8, loopback, ::1) nor an IPv4 address dressed as IPv6 (::/96,
 * ::ffff:0:0/96): sent to by the device, those reach local services, and
 * a mapped address would slip past the IPv4 checks.  The parent applies
 * nothing else an engine asks for.
 */
int
imsg_addr_is_endpoint(const struct imsg_addr *ia)
{
	static const uint8_t	 zero[16];
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };
	uint32_t		 a;

	if (ia->port == 0)
		return (0);
	switch (ia->af) {
	case AF_INET:
		if (ia->scope != 0 || memcmp(ia->addr + 4, zero, 12) != 0)
			return (0);
		a = (uint32_t)ia->addr[0] << 24 | (uint32_t)ia->addr[1] << 16 |
		    (uint32_t)ia->addr[2] << 8 | ia->addr[3];
		if ((a >> 24) == 0 || (a >> 24) == IN_LOOPBACKNET ||
		    a == INADDR_BROADCAST || IN_MULTICAST(a) ||
		    IN_EXPERIMENTAL(a))
			return (0);
		return (1);
	case AF_INET6:
		if (memcmp(ia->addr, zero, 12) == 0 ||
		    memcmp(ia->addr, mapped, 12) == 0 || ia->addr[0] == 0xff)
			return (0);
		if (imsg_addr_is_link_local(ia) != (ia->scope != 0))
			return (0);
		return (1);
	}
	return (0);
}

/* A prefix as the processes pass it, and back (identity.c). */
void
prefix_to_imsg(struct imsg_prefix *ip, const struct prefix *p)
{
	memset(ip, 0, sizeof(*ip));
	ip->af = p->af;
	ip->plen = p->plen;
	memcpy(ip->addr, p->addr.bytes, prefix_addrlen(p));
}

void
prefix_from_imsg(struct prefix *p, const struct imsg_prefix *ip)
{
	memset(p, 0, sizeof(*p));
	p->af = ip->af;
	p->plen = ip->plen;
	memcpy(p->addr.bytes, ip->addr, prefix_addrlen(p));
}

/* Whether the address (not the port) lies inside the prefix. */
int
imsg_addr_in_prefix(const struct imsg_addr *ia, const struct prefix *p)
{
	struct prefix	a;

	if ((ia->af != AF_INET && ia->af != AF_INET6) || ia->af != p->af)
		return (0);
	memset(&a, 0, sizeof(a));
	a.af = ia->af;
	a.plen = p->plen;
	memcpy(a.addr.bytes, ia->addr, ia->af == AF_INET ? 4 : 16);
	return (prefix_overlap(&a, p));
}

int
imsg_addr_equal(const struct imsg_addr *a, const struct imsg_addr *b)
{
	if (a->af != b->af)
		return (0);
	if (a->af == 0)
		return (1);
	return (a->port == b->port && a->scope == b->scope &&
	    memcmp(a->addr, b->addr, a->af == AF_INET ? 4 : 16) == 0);
}

/*
 * "198.18.0.1:51820", "[fd00::1]:51820", "[fe80::1%3]:51820": a scope as
 * its index, because the engine that prints most of these may not ask
 * the kernel for interface names (imsg_addr_ntop_ifname() does).
 */
const char *
imsg_addr_ntop(const struct imsg_addr *ia, char *buf, size_t len)
{
	struct sockaddr_storage	ss;
	char			addr[INET6_ADDRSTRLEN];

	if (ia->af == 0 || imsg_addr_to_sockaddr(&ss, ia) == -1) {
		snprintf(buf, len, "(none)");
		return (buf);
	}
	if (ia->af != AF_INET6 || ia->scope == 0)
		return (sockaddr_ntop((struct sockaddr *)&ss, buf, len));
	inet_ntop(AF_INET6, ia->addr, addr, sizeof(addr));
	snprintf(buf, len, "[%s%%%u]:%u", addr, ia->scope, ia->port);
	return (buf);
}

/* The same with the interface's name, where the process may look it up. */
const char *
imsg_addr_ntop_ifname(const struct imsg_addr *ia, char *buf, size_t len)
{
	char	addr[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];

	if (ia->af != AF_INET6 || ia->scope == 0 ||
	    if_indextoname(ia->scope, ifname) == NULL)
		return (imsg_addr_ntop(ia, buf, len));
	inet_ntop(AF_INET6, ia->addr, addr, sizeof(addr));
	snprintf(buf, len, "[%s%%%s]:%u", addr, ifname, ia->port);
	return (buf);
}

int64_t
realtime_us(void)
{
	struct timespec	ts;

	/* cannot fail with a valid clock and pointer */
	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return ((int64_t)time(NULL) * 1000000);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}
