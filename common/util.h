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


#ifndef WGM_UTIL_H
#define WGM_UTIL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdint.h>

#define WG_KEY_LEN		32
/* base64 of a 32-byte key: 44 characters and a NUL */
#define WG_KEY_B64_LEN		45

/* Longest node name; names are host names, so one DNS label and more. */
#define NODE_NAME_MAX		64	/* including the NUL */
/* Longest host name in an endpoint, as in RFC 1035, plus a NUL. */
#define ENDPOINT_HOST_MAX	254
/* "[" host "]:" port and a NUL; "[" address "%" scope "]:" port fits */
#define ENDPOINT_STR_MAX	(ENDPOINT_HOST_MAX + 9)
/* "ffff:...:ffff/128" and a NUL */
#define PREFIX_STR_MAX		(INET6_ADDRSTRLEN + 4)

struct prefix {
	sa_family_t	 af;		/* AF_INET or AF_INET6 */
	uint8_t		 plen;
	union {
		struct in_addr	 v4;
		struct in6_addr	 v6;
		uint8_t		 bytes[16];
	}		 addr;
};

/* An endpoint as written in the configuration: literal or host name. */
struct endpoint {
	char		 host[ENDPOINT_HOST_MAX];	/* no brackets */
	uint16_t	 port;
	int		 literal;	/* host is an IP literal, ss is valid */
	struct sockaddr_storage ss;
};

/* keys: base64 is libsodium's, original alphabet with padding */
int	 key_from_base64(uint8_t [WG_KEY_LEN], const char *);
void	 key_to_base64(char [WG_KEY_B64_LEN], const uint8_t [WG_KEY_LEN]);
void	 key_clamp(uint8_t [WG_KEY_LEN]);
int	 key_public_from_private(uint8_t [WG_KEY_LEN],
	    const uint8_t [WG_KEY_LEN]);
int	 key_is_zero(const uint8_t [WG_KEY_LEN]);

/* prefixes: "198.18.0.1/24", "fd00::1/64"; no length means a host */
int	 prefix_parse(const char *, struct prefix *);
const char *prefix_ntop(const struct prefix *, char *, size_t);
int	 prefix_has_host_bits(const struct prefix *);
void	 prefix_mask(struct prefix *);
int	 prefix_overlap(const struct prefix *, const struct prefix *);
int	 prefix_equal(const struct prefix *, const struct prefix *);

/*
 * The address a node has on an interface, as the NixOS fleet module
 * derives it: the first 48 bits of the hex string of
 * sha256(name || ifname) give fd00:h0-3:h4-7:h8-11::1/64.
 */
void	 address_derive(struct prefix *, const char *, const char *);
int	 address_collides(const struct prefix *, const struct prefix *);
void	 address_control(uint8_t [16], const uint8_t [WG_KEY_LEN]);

/* endpoints: "198.18.0.1:51820", "[fd00::1]:51820", "host.example:51820" */
int	 endpoint_parse(const char *, struct endpoint *, const char **);
const char *endpoint_ntop(const struct endpoint *, char *, size_t);
const char *sockaddr_ntop(const struct sockaddr *, char *, size_t);

/* addresses between processes (struct imsg_addr, common/proto.h) */
struct imsg_addr;
struct imsg_prefix;
int	 imsg_addr_from_sockaddr(struct imsg_addr *, const struct sockaddr *);
int	 imsg_addr_to_sockaddr(struct sockaddr_storage *,
	    const struct imsg_addr *);
int	 imsg_addr_is_endpoint(const struct imsg_addr *);
int	 imsg_addr_is_link_local(const struct imsg_addr *);
void	 prefix_to_imsg(struct imsg_prefix *, const struct prefix *);
void	 prefix_from_imsg(struct prefix *, const struct imsg_prefix *);
int	 imsg_addr_in_prefix(const struct imsg_addr *, const struct prefix *);
int	 imsg_addr_equal(const struct imsg_addr *, const struct imsg_addr *);
const char *imsg_addr_ntop(const struct imsg_addr *, char *, size_t);
const char *imsg_addr_ntop_ifname(const struct imsg_addr *, char *, size_t);

/* realtime microseconds: gossip counters and freshness (gossip.c) */
int64_t	 realtime_us(void);

/* strings: glibc 2.36 (Debian 12) has no strlcpy */
size_t	 wgm_strlcpy(char *, const char *, size_t);
#define strlcpy	wgm_strlcpy

/* a string from elsewhere, safe on a terminal: at most 4 bytes a byte */
#define STR_VIS_MAX(n)	((n) * 4 + 1)
size_t	 str_vis(char *, size_t, const char *);

/* names */
int	 node_name_valid(const char *);
int	 ifname_valid(const char *);
int	 hostname_valid(const char *);

#endif /* WGM_UTIL_H */
