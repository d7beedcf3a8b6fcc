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
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto.h"
#include "util.h"
#include "regress.h"

static void	 hex(uint8_t *, size_t, const char *);
static void	 test_rfc7748(void);
static void	 test_base64(void);
static void	 test_prefix(void);
static void	 test_derive(void);
static void	 test_endpoint(void);
static void	 test_names(void);
static void	 test_imsg_addr(void);
static void	 test_endpoint_classes(void);
static void	 test_str_vis(void);
static void	 ia6(struct imsg_addr *, const char *, uint16_t, uint32_t);

static void
hex(uint8_t *out, size_t len, const char *s)
{
	size_t	n;

	if (sodium_hex2bin(out, len, s, strlen(s), NULL, &n, NULL) != 0 ||
	    n != len) {
		printf("bad hex in test: %s\n", s);
		exit(2);
	}
}

/* RFC 7748, sections 5.2 and 6.1. */
static void
test_rfc7748(void)
{
	uint8_t	a[32], A[32], b[32], B[32], k[32], out[32], u[32], s[32];

	TEST("X25519 vectors (RFC 7748)");
	hex(s, 32, "a546e36bf0527c9d3b16154b82465edd"
	    "62144c0ac1fc5a18506a2244ba449ac4");
	hex(u, 32, "e6db6867583030db3594c1a424b15f7c"
	    "726624ec26b3353b10a903a6d0ab1c4c");
	hex(k, 32, "c3da55379de9c6908e94ea4df28d084f"
	    "32eccf03491c71f754b4075577a28552");
	CHECK(crypto_scalarmult_curve25519(out, s, u) == 0 &&
	    memcmp(out, k, 32) == 0, "section 5.2 vector 1");

	hex(a, 32, "77076d0a7318a57d3c16c17251b26645"
	    "df4c2f87ebc0992ab177fba51db92c2a");
	hex(A, 32, "8520f0098930a754748b7ddcb43ef75a"
	    "0dbf3a0d26381af4eba4a98eaa9b4e6a");
	hex(b, 32, "5dab087e624a8a4b79e17f8b83800ee6"
	    "6f3bb1292618b6fd1c2f8b27ff88e0eb");
	hex(B, 32, "de9edb7d7b7dc1b4d35b61c2ece43537"
	    "3f8343c85b78674dadfc7e146f882b4f");
	hex(k, 32, "4a5d9d5ba4ce2de1728e3bf480350f25"
	    "e07e21c947d19e3376f09b3c1e161742");
	CHECK(key_public_from_private(out, a) == 0 && memcmp(out, A, 32) == 0,
	    "Alice's public key");
	CHECK(key_public_from_private(out, b) == 0 && memcmp(out, B, 32) == 0,
	    "Bob's public key");
	CHECK(crypto_scalarmult_curve25519(out, a, B) == 0 &&
	    memcmp(out, k, 32) == 0, "shared secret from Alice's side");
	CHECK(crypto_scalarmult_curve25519(out, b, A) == 0 &&
	    memcmp(out, k, 32) == 0, "shared secret from Bob's side");

	/* clamping is what WireGuard does to a private key */
	memset(a, 0xff, sizeof(a));
	key_clamp(a);
	CHECK(a[0] == 0xf8 && a[31] == 0x7f, "clamp: %02x %02x", a[0], a[31]);
	memset(a, 0, sizeof(a));
	CHECK(key_is_zero(a), "zero key");
	a[17] = 1;
	CHECK(!key_is_zero(a), "non-zero key");
}

static void
test_base64(void)
{
	uint8_t		 key[32], back[32];
	char		 b64[WG_KEY_B64_LEN];
	int		 i;
	const char	*bad[] = {
		"",
		"QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA",	/* short */
		"QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA==",
		"QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA= ",
		"QgERRQnE-blQaVNMNiQZ_uk+HEOFKVTmvg4O+MqQ0hA=",	/* URL-safe */
		"QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0h==",	/* 31 bytes */
		"QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0h!=",
		" gERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=",
	};

	TEST("WireGuard key base64");
	CHECK(key_from_base64(key,
	    "QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=") == 0, "valid key");
	key_to_base64(b64, key);
	CHECK(strcmp(b64, "QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=") == 0,
	    "round trip: %s", b64);
	for (i = 0; i < 200; i++) {
		randombytes_buf(key, sizeof(key));
		key_to_base64(b64, key);
		memset(back, 0, sizeof(back));
		if (strlen(b64) != 44 || key_from_base64(back, b64) != 0 ||
		    memcmp(key, back, 32) != 0)
			break;
	}
	CHECK(i == 200, "random round trip failed at %d", i);
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++)
		CHECK(key_from_base64(key, bad[i]) == -1, "accepted \"%s\"",
		    bad[i]);
	CHECK(key_from_base64(key, NULL) == -1, "accepted NULL");
}

static void
test_prefix(void)
{
	struct prefix	 p, q;
	char		 buf[PREFIX_STR_MAX];
	size_t		 i;
	const char	*good[][2] = {
		{ "198.18.0.1", "198.18.0.1/32" },
		{ "198.18.0.0/15", "198.18.0.0/15" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "fd00::1", "fd00::1/128" },
		{ "fd00:1c86:78d4:dcef::1/64", "fd00:1c86:78d4:dcef::1/64" },
		{ "2001:db8::/32", "2001:db8::/32" },
		{ "::/0", "::/0" },
	};
	const char	*bad[] = {
		"", "198.18.0.1/33", "fd00::/129", "198.18.0.1/", "198.18.0/24",
		"198.18.0.1/-1", "198.18.0.1/ 8", "198.18.0.1/08", "fd00::1/64x",
		"bernard", "198.18.0.1/24/1", "fd00:::1/64",
	};

	TEST("prefix parsing and printing");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK(prefix_parse(good[i][0], &p) == 0, "refused %s",
		    good[i][0]);
		prefix_ntop(&p, buf, sizeof(buf));
		CHECK(strcmp(buf, good[i][1]) == 0, "%s printed as %s",
		    good[i][0], buf);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(prefix_parse(bad[i], &p) == -1, "accepted \"%s\"", bad[i]);

	TEST("prefix masks and overlaps");
	prefix_parse("198.18.1.5/24", &p);
	CHECK(prefix_has_host_bits(&p), "198.18.1.5/24 has host bits");
	prefix_mask(&p);
	CHECK(strcmp(prefix_ntop(&p, buf, sizeof(buf)), "198.18.1.0/24") == 0,
	    "masked to %s", buf);
	CHECK(!prefix_has_host_bits(&p), "masked has no host bits");
	prefix_parse("fd00:1:2:3:4::1/67", &p);
	prefix_mask(&p);
	CHECK(strcmp(prefix_ntop(&p, buf, sizeof(buf)), "fd00:1:2:3::/67") ==
	    0, "masked to %s", buf);
	prefix_parse("198.18.0.0/15", &p);
	prefix_parse("198.19.255.0/24", &q);
	CHECK(prefix_overlap(&p, &q) && prefix_overlap(&q, &p), "contained");
	prefix_parse("198.20.0.0/24", &q);
	CHECK(!prefix_overlap(&p, &q), "disjoint");
	prefix_parse("fd00::/8", &q);
	CHECK(!prefix_overlap(&p, &q), "families never overlap");
	prefix_parse("fd00:1::/64", &p);
	CHECK(prefix_overlap(&p, &q), "v6 contained");
	prefix_parse("fd00:1::/64", &q);
	CHECK(prefix_equal(&p, &q), "equal");
	q.plen = 65;
	CHECK(!prefix_equal(&p, &q), "lengths differ");
}

static void
test_derive(void)
{
	struct prefix	 p, q;
	char		 buf[PREFIX_STR_MAX];

	TEST("derived addresses (fleet module vectors)");
	address_derive(&p, "bernard", "testwg");
	CHECK(strcmp(prefix_ntop(&p, buf, sizeof(buf)),
	    "fd00:1c86:78d4:dcef::1/64") == 0, "bernard: %s", buf);
	address_derive(&q, "edgeworth", "testwg");
	CHECK(strcmp(prefix_ntop(&q, buf, sizeof(buf)),
	    "fd00:cac2:10cb:6ee9::1/64") == 0, "edgeworth: %s", buf);
	CHECK(!address_collides(&p, &q), "distinct names collide");
	address_derive(&q, "bernard", "testwg");
	CHECK(address_collides(&p, &q), "same name does not collide");
	/* the interface name is part of the hash */
	address_derive(&q, "bernard", "wg0");
	CHECK(!address_collides(&p, &q), "interface ignored");
	/* concatenation is plain: "bern"+"ardtestwg" is the same input */
	address_derive(&q, "bern", "ardtestwg");
	CHECK(address_collides(&p, &q), "concatenation differs");
}

static void
test_endpoint(void)
{
	struct endpoint	 ep;
	const char	*errstr;
	char		 buf[ENDPOINT_STR_MAX];
	size_t		 i;
	const char	*bad[][2] = {
		{ "198.18.0.1", "missing port" },
		{ "198.18.0.1:0", "port must be 1 to 65535" },
		{ "198.18.0.1:65536", "port must be 1 to 65535" },
		{ "198.18.0.1:51820x", "port must be 1 to 65535" },
		{ "198.18.0.1:", "port must be 1 to 65535" },
		{ "fd00::1:51820", "IPv6 address must be in brackets" },
		{ "[fd00::1]", "missing port" },
		{ "[fd00::1:51820", "missing ']'" },
		{ "[bernard]:51820", "invalid IPv6 address" },
		{ "bad_host:51820", "invalid host name" },
		{ "-bad.example:51820", "invalid host name" },
		{ "bad-.example:51820", "invalid host name" },
		{ "a..example:51820", "invalid host name" },
		{ ":51820", "invalid host name" },
	};

	TEST("endpoints");
	CHECK(endpoint_parse("198.18.0.1:51820", &ep, &errstr) == 0 &&
	    ep.literal && ep.port == 51820 && ep.ss.ss_family == AF_INET,
	    "IPv4 literal");
	CHECK(strcmp(sockaddr_ntop((struct sockaddr *)&ep.ss, buf,
	    sizeof(buf)), "198.18.0.1:51820") == 0, "sockaddr %s", buf);
	CHECK(endpoint_parse("[fd00::1]:1666", &ep, &errstr) == 0 &&
	    ep.literal && ep.port == 1666 && ep.ss.ss_family == AF_INET6 &&
	    strcmp(ep.host, "fd00::1") == 0, "IPv6 literal");
	CHECK(strcmp(endpoint_ntop(&ep, buf, sizeof(buf)), "[fd00::1]:1666") ==
	    0, "printed %s", buf);
	CHECK(strcmp(sockaddr_ntop((struct sockaddr *)&ep.ss, buf,
	    sizeof(buf)), "[fd00::1]:1666") == 0, "sockaddr %s", buf);
	CHECK(endpoint_parse("bitfrost.example.net:51820", &ep, &errstr) ==
	    0 && !ep.literal && strcmp(ep.host, "bitfrost.example.net") == 0,
	    "host name");
	CHECK(strcmp(endpoint_ntop(&ep, buf, sizeof(buf)),
	    "bitfrost.example.net:51820") == 0, "printed %s", buf);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errstr = NULL;
		CHECK(endpoint_parse(bad[i][0], &ep, &errstr) == -1 &&
		    errstr != NULL && strcmp(errstr, bad[i][1]) == 0,
		    "\"%s\": %s", bad[i][0], errstr != NULL ? errstr : "ok");
	}
}

static void
test_names(void)
{
	char	long_name[80];

	TEST("names");
	CHECK(node_name_valid("bernard"), "bernard");
	CHECK(node_name_valid("host-1.lab_a"), "host-1.lab_a");
	CHECK(!node_name_valid(""), "empty");
	CHECK(!node_name_valid("a b"), "space");
	CHECK(!node_name_valid("a/b"), "slash");
	memset(long_name, 'a', sizeof(long_name));
	long_name[NODE_NAME_MAX - 1] = '\0';
	CHECK(node_name_valid(long_name), "63 characters");
	long_name[NODE_NAME_MAX - 1] = 'a';
	long_name[NODE_NAME_MAX] = '\0';
	CHECK(!node_name_valid(long_name), "64 characters");
	CHECK(ifname_valid("wg0") && ifname_valid("testwg"), "wg0");
	CHECK(!ifname_valid("wg0123456789abcd"), "16 characters");
	CHECK(ifname_valid("wg0123456789abc"), "15 characters");
	CHECK(!ifname_valid("wg/0") && !ifname_valid("..") &&
	    !ifname_valid("") && !ifname_valid("wg 0"), "bad ifnames");
	CHECK(hostname_valid("bitfrost.example.net"), "host");
	CHECK(hostname_valid("bitfrost.example.net."), "rooted name");
	CHECK(!hostname_valid(".") && !hostname_valid(".example"), "dots");
	memset(long_name, 'a', sizeof(long_name));
	long_name[64] = '\0';
	CHECK(!hostname_valid(long_name), "64-character label");
	long_name[63] = '\0';
	CHECK(hostname_valid(long_name), "63-character label");
}

static void
ia6(struct imsg_addr *ia, const char *addr, uint16_t port, uint32_t scope)
{
	memset(ia, 0, sizeof(*ia));
	ia->af = AF_INET6;
	ia->port = port;
	ia->scope = scope;
	if (inet_pton(AF_INET6, addr, ia->addr) != 1)
		abort();
}

/* struct imsg_addr's interface scope: link-local addresses only. */
/*
 * Addresses of this host, or IPv4 in IPv6 clothing, are no endpoints:
 * the device would send a peer's datagrams to a local service.
 */
static void
test_endpoint_classes(void)
{
	static const struct {
		const char	*addr;
		int		 ok;
	} t[] = {
		{ "198.18.0.1", 1 },
		{ "1.0.0.1", 1 },
		{ "126.255.255.255", 1 },
		{ "128.0.0.1", 1 },
		{ "127.0.0.1", 0 },
		{ "127.255.255.254", 0 },
		{ "0.0.0.0", 0 },
		{ "0.1.2.3", 0 },
		{ "0.255.255.255", 0 },
		{ "2001:db8::1", 1 },
		{ "64:ff9b::198.18.0.1", 1 },
		{ "::1", 0 },
		{ "::", 0 },
		{ "::198.18.0.1", 0 },
		{ "::ffff:198.18.0.1", 0 },
		{ "::ffff:127.0.0.1", 0 },
		{ "::1:0:0:1", 1 },
	};
	struct imsg_addr	 a;
	struct prefix		 p;
	size_t			 i;

	TEST("endpoints: no loopback, 0/8 or IPv4-mapped address");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&a, 0, sizeof(a));
		a.port = 51820;
		if (inet_pton(AF_INET, t[i].addr, a.addr) == 1)
			a.af = AF_INET;
		else if (inet_pton(AF_INET6, t[i].addr, a.addr) == 1)
			a.af = AF_INET6;
		CHECK(a.af != 0 && imsg_addr_is_endpoint(&a) == t[i].ok,
		    "%s: %s", t[i].addr, t[i].ok ? "refused" : "accepted");
	}

	TEST("imsg_addr_in_prefix");
	memset(&a, 0, sizeof(a));
	a.af = AF_INET6;
	a.port = 51820;
	inet_pton(AF_INET6, "fd00:1c86:78d4:dcef::7", a.addr);
	CHECK(prefix_parse("fd00:1c86:78d4:dcef::/64", &p) == 0 &&
	    imsg_addr_in_prefix(&a, &p), "inside its /64");
	CHECK(prefix_parse("fd00:1c86:78d4:dcee::/64", &p) == 0 &&
	    !imsg_addr_in_prefix(&a, &p), "inside the next /64");
	CHECK(prefix_parse("fd00::/8", &p) == 0 &&
	    imsg_addr_in_prefix(&a, &p), "inside fd00::/8");
	CHECK(prefix_parse("198.18.0.0/15", &p) == 0 &&
	    !imsg_addr_in_prefix(&a, &p), "IPv6 inside an IPv4 prefix");
	memset(&a, 0, sizeof(a));
	a.af = AF_INET;
	a.port = 1;
	inet_pton(AF_INET, "198.19.255.255", a.addr);
	CHECK(imsg_addr_in_prefix(&a, &p), "198.19.255.255 in 198.18/15");
	CHECK(prefix_parse("198.19.255.255/32", &p) == 0 &&
	    imsg_addr_in_prefix(&a, &p), "a /32");
	CHECK(prefix_parse("198.19.255.254/32", &p) == 0 &&
	    !imsg_addr_in_prefix(&a, &p), "the /32 beside");
}

/* what wgmeshctl shows of the daemon's strings on a terminal */
static void
test_str_vis(void)
{
	static const struct {
		const char	*in, *out;
	} t[] = {
		{ "", "" },
		{ "edgeworth", "edgeworth" },
		{ "a b~!\"'", "a b~!\"'" },
		{ "\x1b[31mred\x1b[0m", "\\033[31mred\\033[0m" },
		{ "bell\a", "bell\\007" },
		{ "del\x7f", "del\\177" },
		{ "back\\slash", "back\\\\slash" },
		{ "line\nbreak\ttab\rcr", "line\\nbreak\\ttab\\rcr" },
		{ "\xc3\xa9t\xc3\xa9", "\\303\\251t\\303\\251" },
		{ "\xff\x80\x01", "\\377\\200\\001" },
		{ "\x9b" "2J", "\\2332J" },	/* C1 CSI */
	};
	char	 buf[STR_VIS_MAX(16)], small[6];
	size_t	 i, n;

	TEST("str_vis");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = str_vis(buf, sizeof(buf), t[i].in);
		CHECK(strcmp(buf, t[i].out) == 0 && n == strlen(t[i].out),
		    "#%zu: \"%s\" (%zu), want \"%s\"", i, buf, n, t[i].out);
	}
	/* cut short: whole escapes only, always terminated */
	n = str_vis(small, sizeof(small), "ab\x1b" "cd");
	CHECK(n == 8 && strcmp(small, "ab") == 0, "\"%s\" %zu", small, n);
	n = str_vis(small, sizeof(small), "\x1b\x1b");
	CHECK(n == 8 && strcmp(small, "\\033") == 0, "\"%s\" %zu", small,
	    n);
	n = str_vis(small, 1, "abc");
	CHECK(n == 3 && small[0] == '\0', "one byte: %zu", n);
	n = str_vis(small, 3, "\x01");
	CHECK(n == 4 && small[0] == '\0', "no half escape: %zu", n);
	/* the worst case fits STR_VIS_MAX */
	memset(small, 0x1b, 5);
	small[5] = '\0';
	CHECK(str_vis(buf, STR_VIS_MAX(5), small) == 20 && strlen(buf) == 20,
	    "five escapes: %zu", strlen(buf));
}

static void
test_imsg_addr(void)
{
	struct imsg_addr	 a, b;
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	 sin6;
	struct sockaddr_in	*sin;
	char			 buf[ENDPOINT_STR_MAX];
	char			 lo[IF_NAMESIZE + 32];
	uint32_t		 loindex;

	TEST("imsg_addr scope");
	ia6(&a, "fe80::1", 51820, 3);
	CHECK(imsg_addr_is_link_local(&a), "fe80::1 is link-local");
	CHECK(imsg_addr_is_endpoint(&a), "fe80::1%%3 is an endpoint");
	a.scope = 0;
	CHECK(!imsg_addr_is_endpoint(&a), "fe80::1 without a scope is not");
	ia6(&a, "febf:ffff::1", 51820, 3);
	CHECK(imsg_addr_is_link_local(&a) && imsg_addr_is_endpoint(&a),
	    "febf:: is in fe80::/10");
	ia6(&a, "fec0::1", 51820, 3);
	CHECK(!imsg_addr_is_link_local(&a) && !imsg_addr_is_endpoint(&a),
	    "fec0::1 with a scope is not an endpoint");
	ia6(&a, "fd00::1", 51820, 3);
	CHECK(!imsg_addr_is_endpoint(&a), "fd00::1 with a scope is not");
	a.scope = 0;
	CHECK(imsg_addr_is_endpoint(&a), "fd00::1 without one is");
	memset(&a, 0, sizeof(a));
	a.af = AF_INET;
	a.port = 51820;
	a.addr[0] = 198; a.addr[1] = 18; a.addr[3] = 1;
	CHECK(imsg_addr_is_endpoint(&a), "198.18.0.1");
	a.scope = 1;
	CHECK(!imsg_addr_is_endpoint(&a), "IPv4 with a scope");
	CHECK(imsg_addr_to_sockaddr(&ss, &a) == -1, "IPv4 with a scope: "
	    "no sockaddr");
	ia6(&a, "ff02::1", 1666, 3);
	CHECK(!imsg_addr_is_endpoint(&a), "ff02::1%%3 is multicast");

	test_endpoint_classes();

	/* the scope goes both ways for a link-local address only */
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(1666);
	sin6.sin6_scope_id = 7;
	inet_pton(AF_INET6, "fe80::a:b", &sin6.sin6_addr);
	CHECK(imsg_addr_from_sockaddr(&a, (struct sockaddr *)&sin6) == 0 &&
	    a.af == AF_INET6 && a.port == 1666 && a.scope == 7,
	    "from a link-local sockaddr_in6: scope %u", a.scope);
	CHECK(imsg_addr_to_sockaddr(&ss, &a) == 0 &&
	    ((struct sockaddr_in6 *)&ss)->sin6_scope_id == 7 &&
	    memcmp(&((struct sockaddr_in6 *)&ss)->sin6_addr,
	    &sin6.sin6_addr, 16) == 0, "back to a sockaddr_in6");
	inet_pton(AF_INET6, "fd00::a:b", &sin6.sin6_addr);
	CHECK(imsg_addr_from_sockaddr(&a, (struct sockaddr *)&sin6) == 0 &&
	    a.scope == 0, "the kernel's scope id of a ULA is dropped");
	sin = (struct sockaddr_in *)&ss;
	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(1);
	CHECK(imsg_addr_from_sockaddr(&a, (struct sockaddr *)&ss) == 0 &&
	    a.scope == 0, "IPv4: no scope");

	/* equal: the same address on two links is two endpoints */
	ia6(&a, "fe80::1", 51820, 3);
	ia6(&b, "fe80::1", 51820, 3);
	CHECK(imsg_addr_equal(&a, &b), "same address and scope");
	b.scope = 4;
	CHECK(!imsg_addr_equal(&a, &b), "another scope");

	/* printed with the index; with the name where one exists */
	CHECK(strcmp(imsg_addr_ntop(&a, buf, sizeof(buf)),
	    "[fe80::1%3]:51820") == 0, "ntop %s", buf);
	ia6(&a, "fd00::1", 51820, 0);
	CHECK(strcmp(imsg_addr_ntop(&a, buf, sizeof(buf)),
	    "[fd00::1]:51820") == 0, "ntop %s", buf);
	CHECK(strcmp(imsg_addr_ntop_ifname(&a, buf, sizeof(buf)),
	    "[fd00::1]:51820") == 0, "ntop_ifname %s", buf);
	ia6(&a, "fe80:0:0:0:ffff:ffff:ffff:ffff", 65535, UINT32_MAX);
	CHECK(strcmp(imsg_addr_ntop(&a, buf, sizeof(buf)),
	    "[fe80::ffff:ffff:ffff:ffff%4294967295]:65535") == 0,
	    "longest scope: %s", buf);
	CHECK(strcmp(imsg_addr_ntop_ifname(&a, buf, sizeof(buf)),
	    "[fe80::ffff:ffff:ffff:ffff%4294967295]:65535") == 0,
	    "no such interface: the index, %s", buf);
	if ((loindex = if_nametoindex("lo")) != 0) {
		ia6(&a, "fe80::1", 1666, loindex);
		snprintf(lo, sizeof(lo), "[fe80::1%%lo]:1666");
		CHECK(strcmp(imsg_addr_ntop_ifname(&a, buf, sizeof(buf)),
		    lo) == 0, "ntop_ifname %s", buf);
	}
}

int
main(void)
{
	if (sodium_init() == -1) {
		printf("sodium_init failed\n");
		return (1);
	}
	test_rfc7748();
	test_base64();
	test_prefix();
	test_derive();
	test_endpoint();
	test_names();
	test_imsg_addr();
	test_str_vis();
	return (regress_end());
}
