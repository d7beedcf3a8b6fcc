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

/* Gossip datagrams (wgmeshd/gossip.c): keys, sealing, replay, payloads. */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "wire.h"
#include "regress.h"

#define NOW	1767225600000000LL	/* 2026-01-01, in microseconds */

struct node {
	uint8_t		 priv[WG_KEY_LEN];
	uint8_t		 pub[WG_KEY_LEN];
};

static void	 node_make(struct node *, uint8_t);
static void	 pairs(struct gossip_pair *, struct gossip_pair *);
static struct gossip_endpoint endpoint(uint8_t, uint16_t);
static void	 test_pair_key(void);
static void	 test_seal_open(void);
static void	 test_tamper(void);
static void	 test_replay(void);
static void	 test_stale(void);
static void	 test_restart(void);
static void	 test_old_version(void);
static void	 test_endpoints(void);
static void	 test_endpoints_refused(void);
static void	 test_endpoints_scoped(void);
static void	 test_ping(void);

static void
node_make(struct node *n, uint8_t seed)
{
	memset(n->priv, seed, sizeof(n->priv));
	if (crypto_scalarmult_base(n->pub, n->priv) != 0)
		abort();
}

/* a and b, two ends of one pair */
static void
pairs(struct gossip_pair *a, struct gossip_pair *b)
{
	struct node	na, nb;
	uint8_t		ka[GOSSIP_KEY_LEN], kb[GOSSIP_KEY_LEN];

	node_make(&na, 1);
	node_make(&nb, 2);
	if (gossip_pair_key(ka, na.priv, na.pub, nb.pub, NULL) != 0 ||
	    gossip_pair_key(kb, nb.priv, nb.pub, na.pub, NULL) != 0 ||
	    gossip_pair_init(a, ka, na.pub, nb.pub) != 0 ||
	    gossip_pair_init(b, kb, nb.pub, na.pub) != 0)
		abort();
}

static struct gossip_endpoint
endpoint(uint8_t i, uint16_t port)
{
	struct gossip_endpoint	ep;

	memset(&ep, 0, sizeof(ep));
	memset(ep.public_key, i, sizeof(ep.public_key));
	if (i % 2) {
		ep.addr.af = AF_INET;
		ep.addr.addr[0] = 198;
		ep.addr.addr[1] = 18;
		ep.addr.addr[3] = i;
	} else {
		ep.addr.af = AF_INET6;
		ep.addr.addr[0] = 0xfd;
		ep.addr.addr[15] = i;
	}
	ep.addr.port = port;
	ep.observed = NOW / 1000000 - i;
	ep.origin = ORIGIN_OBSERVED + i % 5;
	return (ep);
}

static void
test_pair_key(void)
{
	/* a point of order 8, and the identity */
	static const uint8_t	 low[WG_KEY_LEN] = {
		0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae,
		0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
		0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd,
		0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
	};
	static const uint8_t	 zero[WG_KEY_LEN];
	struct node		 a, b, c;
	uint8_t			 ka[GOSSIP_KEY_LEN], kb[GOSSIP_KEY_LEN];
	uint8_t			 kc[GOSSIP_KEY_LEN], s1[GOSSIP_SECRET_LEN];
	uint8_t			 s2[GOSSIP_SECRET_LEN];

	TEST("pair keys");
	node_make(&a, 1);
	node_make(&b, 2);
	node_make(&c, 3);
	memset(s1, 0x11, sizeof(s1));
	memset(s2, 0x22, sizeof(s2));
	CHECK(gossip_pair_key(ka, a.priv, a.pub, b.pub, NULL) == 0, "a");
	CHECK(gossip_pair_key(kb, b.priv, b.pub, a.pub, NULL) == 0, "b");
	CHECK(memcmp(ka, kb, sizeof(ka)) == 0, "both ends, one key");
	CHECK(!key_is_zero(ka), "a key at all");
	CHECK(gossip_pair_key(kc, a.priv, a.pub, c.pub, NULL) == 0, "a-c");
	CHECK(memcmp(ka, kc, sizeof(ka)) != 0, "another peer, another key");
	CHECK(gossip_pair_key(ka, a.priv, a.pub, b.pub, s1) == 0, "secret a");
	CHECK(gossip_pair_key(kb, b.priv, b.pub, a.pub, s1) == 0, "secret b");
	CHECK(memcmp(ka, kb, sizeof(ka)) == 0, "both ends, with a secret");
	CHECK(memcmp(ka, kc, sizeof(ka)) != 0, "secret changes the key");
	CHECK(gossip_pair_key(kb, b.priv, b.pub, a.pub, s2) == 0, "secret 2");
	CHECK(memcmp(ka, kb, sizeof(ka)) != 0, "other secret, other key");
	CHECK(gossip_pair_key(kc, a.priv, a.pub, b.pub, NULL) == 0, "again");
	CHECK(memcmp(ka, kc, sizeof(ka)) != 0, "secret or none differ");
	CHECK(gossip_pair_key(ka, a.priv, a.pub, low, NULL) == -1,
	    "low-order point refused");
	CHECK(key_is_zero(ka), "and no key left behind");
	CHECK(gossip_pair_key(ka, a.priv, a.pub, zero, NULL) == -1,
	    "identity refused");
	CHECK(gossip_pair_key(ka, a.priv, a.pub, a.pub, NULL) == -1,
	    "a pair with oneself refused");
}

static void
test_seal_open(void)
{
	struct gossip_pair	 a, b;
	uint8_t			 dg[GOSSIP_MAX_DATAGRAM_BYTES + 1];
	uint8_t			 pt[GOSSIP_MAX_PAYLOAD_BYTES + 1];
	uint8_t			 out[GOSSIP_MAX_PAYLOAD_BYTES];
	uint8_t			 type;
	ssize_t			 n;
	size_t			 len;

	TEST("seal and open");
	pairs(&a, &b);
	CHECK(a.send_dir != b.send_dir, "directions differ");
	memset(pt, 'x', sizeof(pt));
	n = gossip_seal(&a, GOSSIP_MSG_PING, pt, 16, NOW, dg, sizeof(dg));
	CHECK(n == GOSSIP_HEADER_LEN + 16 + GOSSIP_TAG_LEN, "length %zd", n);
	CHECK(gossip_open(&b, dg, n, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_OK, "open");
	CHECK(type == GOSSIP_MSG_PING && len == 16 &&
	    memcmp(out, pt, 16) == 0, "round trip");
	/* the same key in the other direction is another nonce */
	n = gossip_seal(&b, GOSSIP_MSG_PONG, pt, 16, NOW, dg, sizeof(dg));
	CHECK(gossip_open(&a, dg, n, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_OK && type == GOSSIP_MSG_PONG, "other direction");
	CHECK(gossip_open(&b, dg, n, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_AUTH, "own datagram reflected back refused");

	n = gossip_seal(&a, GOSSIP_MSG_ENDPOINTS, pt, GOSSIP_MAX_PAYLOAD_BYTES,
	    NOW, dg, sizeof(dg));
	CHECK(n == GOSSIP_MAX_DATAGRAM_BYTES,
	    "largest payload fills a datagram");
	CHECK(gossip_open(&b, dg, n, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_OK && len == GOSSIP_MAX_PAYLOAD_BYTES, "and opens");
	CHECK(gossip_seal(&a, GOSSIP_MSG_ENDPOINTS, pt,
	    GOSSIP_MAX_PAYLOAD_BYTES + 1, NOW, dg, sizeof(dg)) == -1,
	    "payload too large refused");
	CHECK(gossip_seal(&a, GOSSIP_MSG_PING, pt, 16, NOW, dg,
	    GOSSIP_HEADER_LEN + 16 + GOSSIP_TAG_LEN - 1) == -1,
	    "small buffer refused");
	CHECK(gossip_seal(&a, 0, pt, 16, NOW, dg, sizeof(dg)) == -1 &&
	    gossip_seal(&a, GOSSIP_MSG_LAST + 1, pt, 16, NOW, dg,
	    sizeof(dg)) == -1,
	    "unknown type not sealed");
	n = gossip_seal(&a, GOSSIP_MSG_PING, pt, 0, NOW, dg, sizeof(dg));
	CHECK(gossip_open(&b, dg, n, NOW, &type, out, 0, &len) == GOSSIP_OK &&
	    len == 0, "empty payload");

	/* the counter keeps going when the clock does not */
	CHECK(a.send_last > (uint64_t)NOW, "counter %llu",
	    (unsigned long long)a.send_last);
	n = gossip_seal(&a, GOSSIP_MSG_PING, pt, 16, NOW - 5, dg, sizeof(dg));
	CHECK(gossip_open(&b, dg, n, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_OK, "clock stepped back");

	/* checks before the key */
	CHECK(gossip_open(&b, dg, GOSSIP_HEADER_LEN + GOSSIP_TAG_LEN - 1, NOW,
	    &type, out, sizeof(out), &len) == GOSSIP_E_SHORT, "short");
	CHECK(gossip_open(&b, dg, GOSSIP_MAX_DATAGRAM_BYTES + 1, NOW, &type,
	    out, sizeof(out), &len) == GOSSIP_E_LONG, "long");
	n = gossip_seal(&a, GOSSIP_MSG_PING, pt, 16, NOW, dg, sizeof(dg));
	dg[0] = GOSSIP_VERSION + 1;
	CHECK(gossip_open(&b, dg, n, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_VERSION, "version");
	dg[0] = GOSSIP_VERSION;
	dg[1] = 0;
	CHECK(gossip_open(&b, dg, n, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_TYPE, "type");
	dg[1] = GOSSIP_MSG_PING;
	CHECK(gossip_open(&b, dg, n, NOW, &type, out, 15, &len) ==
	    GOSSIP_E_NOSPACE, "small plaintext buffer");
	CHECK(gossip_open(&b, dg, n, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_OK, "untouched by the refusals");
	CHECK(strcmp(gossip_result_name(GOSSIP_E_REPLAY), "replay") == 0 &&
	    strcmp(gossip_result_name(GOSSIP_E_MAX), "unknown") == 0, "names");
	gossip_pair_clear(&a);
	CHECK(key_is_zero(a.key), "clear wipes the key");
}

static void
test_tamper(void)
{
	struct gossip_pair	 a, b, c;
	struct node		 na, nc;
	uint8_t			 dg[GOSSIP_MAX_DATAGRAM_BYTES], pt[64];
	uint8_t			 out[GOSSIP_MAX_PAYLOAD_BYTES], type;
	uint8_t			 kc[GOSSIP_KEY_LEN];
	ssize_t			 n, i;
	size_t			 len;
	int			 bit, ok = 1, r;

	TEST("tampering and wrong keys");
	pairs(&a, &b);
	memset(pt, 'y', sizeof(pt));
	n = gossip_seal(&a, GOSSIP_MSG_ENDPOINTS, pt, sizeof(pt), NOW, dg,
	    sizeof(dg));
	for (i = 0; i < n; i++) {
		for (bit = 0; bit < 8; bit++) {
			dg[i] ^= 1 << bit;
			r = gossip_open(&b, dg, n, NOW, &type, out,
			    sizeof(out), &len);
			/* the version and type bytes are judged first */
			if (r == GOSSIP_OK || (i >= 2 && r != GOSSIP_E_AUTH)) {
				printf("byte %zd bit %d: %s\n", i, bit,
				    gossip_result_name(r));
				ok = 0;
			}
			dg[i] ^= 1 << bit;
		}
	}
	CHECK(ok, "every flipped bit refused");
	CHECK(b.replay.n == 0, "forgeries leave the window alone");
	CHECK(gossip_open(&b, dg, n - 1, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_AUTH, "truncated");

	/* the same datagram under other keys */
	node_make(&na, 1);
	node_make(&nc, 3);
	if (gossip_pair_key(kc, nc.priv, nc.pub, na.pub, NULL) != 0 ||
	    gossip_pair_init(&c, kc, nc.pub, na.pub) != 0)
		abort();
	CHECK(gossip_open(&c, dg, n, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_AUTH, "another pair's key");
	c = b;
	c.key[0] ^= 1;
	CHECK(gossip_open(&c, dg, n, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_AUTH, "one bit of the key");
	c = b;
	c.send_dir ^= 1;
	CHECK(gossip_open(&c, dg, n, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_AUTH, "the wrong direction");
	CHECK(gossip_open(&b, dg, n, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_OK, "the right one");
}

static void
test_replay(void)
{
	struct gossip_pair	 a, b;
	uint8_t			 dg[80][64], out[64], type;
	ssize_t			 n[80];
	size_t			 len, i;
	int			 ok;

	TEST("replay");
	pairs(&a, &b);
	for (i = 0; i < 80; i++)
		n[i] = gossip_seal(&a, GOSSIP_MSG_PING, "0123456789abcdef", 16,
		    NOW + i * 1000, dg[i], sizeof(dg[i]));
	CHECK(gossip_open(&b, dg[1], n[1], NOW, &type, out, sizeof(out),
	    &len) == GOSSIP_OK, "first");
	CHECK(gossip_open(&b, dg[1], n[1], NOW, &type, out, sizeof(out),
	    &len) == GOSSIP_E_REPLAY && len == 0, "same datagram again");
	CHECK(gossip_open(&b, dg[0], n[0], NOW, &type, out, sizeof(out),
	    &len) == GOSSIP_OK, "an older one, reordered");
	CHECK(gossip_open(&b, dg[0], n[0], NOW, &type, out, sizeof(out),
	    &len) == GOSSIP_E_REPLAY, "and again");
	/* 3 to 66 arrive, then 2 is 65th from the top: outside */
	for (ok = 1, i = 3; i <= 66; i++)
		if (gossip_open(&b, dg[i], n[i], NOW, &type, out, sizeof(out),
		    &len) != GOSSIP_OK)
			ok = 0;
	CHECK(ok, "in order");
	CHECK(gossip_open(&b, dg[2], n[2], NOW, &type, out, sizeof(out),
	    &len) == GOSSIP_E_REPLAY, "reordered beyond the window");
	CHECK(gossip_open(&b, dg[1], n[1], NOW, &type, out, sizeof(out),
	    &len) == GOSSIP_E_REPLAY, "pushed out of the window");
	/* 68..79 first, then 67: 64th from the top, still inside */
	for (ok = 1, i = 68; i < 80; i++)
		if (gossip_open(&b, dg[i], n[i], NOW, &type, out, sizeof(out),
		    &len) != GOSSIP_OK)
			ok = 0;
	CHECK(ok, "a gap");
	CHECK(gossip_open(&b, dg[67], n[67], NOW, &type, out, sizeof(out),
	    &len) == GOSSIP_OK, "the gap filled, within the window");
	for (ok = 1, i = 0; i < 80; i++)
		if (gossip_open(&b, dg[i], n[i], NOW, &type, out, sizeof(out),
		    &len) != GOSSIP_E_REPLAY)
			ok = 0;
	CHECK(ok, "all of them again: refused");
	CHECK(gossip_replay_check(&b.replay, 0) == -1, "counter 0");
}

static void
test_stale(void)
{
	struct gossip_pair	 a, b, b2;
	uint8_t			 dg[64], out[64], type;
	ssize_t			 n;
	size_t			 len;

	TEST("freshness");
	pairs(&a, &b);
	b2 = b;
	n = gossip_seal(&a, GOSSIP_MSG_PING, "0123456789abcdef", 16, NOW, dg,
	    sizeof(dg));
	CHECK(gossip_open(&b, dg, n, NOW + GOSSIP_FRESH_US + 1, &type, out,
	    sizeof(out), &len) == GOSSIP_E_STALE, "too old");
	CHECK(gossip_open(&b, dg, n, NOW - GOSSIP_FRESH_US - 1, &type, out,
	    sizeof(out), &len) == GOSSIP_E_STALE, "too far ahead");
	CHECK(gossip_open(&b, dg, n, -1, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_STALE, "no clock");
	CHECK(b.replay.n == 0, "stale ones leave the window alone");
	CHECK(gossip_open(&b, dg, n, NOW + GOSSIP_FRESH_US, &type, out,
	    sizeof(out), &len) == GOSSIP_OK, "just fresh enough");
	/* a receiver that restarted has no window, only its clock */
	CHECK(gossip_open(&b2, dg, n, NOW + 10 * GOSSIP_FRESH_US, &type, out,
	    sizeof(out), &len) == GOSSIP_E_STALE,
	    "captured datagram after a restart");
}

/*
 * The pair key is the same at every start, and the counter is the clock:
 * a sender started again with its clock where it was (stepped back, a
 * snapshot restored, no real-time clock) must still use other nonces.
 */
static void
test_restart(void)
{
	struct gossip_pair	 a1, a2, b, b2;
	struct node		 na, nb;
	uint8_t			 k[GOSSIP_KEY_LEN], dg1[64], dg2[64], dg3[64];
	uint8_t			 out[64], type;
	const char		*pt = "0123456789abcdef";
	ssize_t			 n1, n2, n3;
	size_t			 len;

	TEST("a sender started again with the same clock");
	node_make(&na, 1);
	node_make(&nb, 2);
	if (gossip_pair_key(k, na.priv, na.pub, nb.pub, NULL) != 0 ||
	    gossip_pair_init(&a1, k, na.pub, nb.pub) != 0 ||
	    gossip_pair_init(&a2, k, na.pub, nb.pub) != 0 ||
	    gossip_pair_init(&b, k, nb.pub, na.pub) != 0)
		abort();
	b2 = b;
	n1 = gossip_seal(&a1, GOSSIP_MSG_PING, pt, 16, NOW, dg1, sizeof(dg1));
	n2 = gossip_seal(&a2, GOSSIP_MSG_PING, pt, 16, NOW, dg2, sizeof(dg2));
	CHECK(n1 == GOSSIP_HEADER_LEN + 16 + GOSSIP_TAG_LEN && n2 == n1 &&
	    a1.send_last == a2.send_last, "one counter, one length");
	CHECK(memcmp(dg1 + GOSSIP_HEADER_LEN, dg2 + GOSSIP_HEADER_LEN,
	    (size_t)n1 - GOSSIP_HEADER_LEN) != 0,
	    "another ciphertext for the same plaintext");
	CHECK(memcmp(dg1 + 2, dg2 + 2, GOSSIP_PREFIX_LEN) != 0,
	    "another nonce prefix in the header");
	CHECK(gossip_open(&b2, dg2, n2, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_OK && len == 16 && memcmp(out, pt, 16) == 0,
	    "the second start's datagram opens");

	/* the receiver's window goes on across the prefixes */
	CHECK(gossip_open(&b, dg1, n1, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_OK, "first start");
	CHECK(gossip_open(&b, dg2, n2, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_REPLAY, "second start, same counter: a replay");
	n3 = gossip_seal(&a2, GOSSIP_MSG_PING, pt, 16, NOW + 1000, dg3,
	    sizeof(dg3));
	CHECK(gossip_open(&b, dg3, n3, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_OK, "second start, later counter");
	CHECK(gossip_open(&b, dg1, n1, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_REPLAY, "the first start's datagram again: a replay");
	CHECK(gossip_open(&b, dg3, n3, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_REPLAY, "the second's again: a replay");

	/* the prefix is authenticated */
	n1 = gossip_seal(&a1, GOSSIP_MSG_PING, pt, 16, NOW + 2000, dg1,
	    sizeof(dg1));
	memcpy(dg1 + 2, dg2 + 2, GOSSIP_PREFIX_LEN);
	CHECK(gossip_open(&b, dg1, n1, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_AUTH, "another start's prefix spliced in");
	memcpy(dg1 + 2, a1.send_prefix, GOSSIP_PREFIX_LEN);
	dg1[2 + GOSSIP_PREFIX_LEN - 1] ^= 0x80;
	CHECK(gossip_open(&b, dg1, n1, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_AUTH, "one bit of the prefix");
	dg1[2 + GOSSIP_PREFIX_LEN - 1] ^= 0x80;
	CHECK(gossip_open(&b, dg1, n1, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_OK, "the untouched one");
	gossip_pair_clear(&a1);
	CHECK(key_is_zero(a1.key) && sodium_is_zero(a1.send_prefix,
	    GOSSIP_PREFIX_LEN) && a1.send_last == 0,
	    "clear wipes the prefix too");
}

/*
 * A datagram of version 1 (no prefix; the nonce the direction and the
 * counter), sealed here as such a node would: dropped as "bad version",
 * the short ones too.  And what such a node makes of ours: every
 * datagram is longer than its shortest and starts with another version.
 */
static void
test_old_version(void)
{
	struct gossip_pair	 a, b;
	uint8_t			 dg[10 + GOSSIP_ALIVE_LEN + GOSSIP_TAG_LEN];
	uint8_t			 nonce[24], out[64], type;
	unsigned long long	 clen;
	size_t			 len;
	int			 i;

	TEST("a datagram of version 1");
	pairs(&a, &b);
	dg[0] = 1;
	dg[1] = GOSSIP_MSG_ALIVE;
	for (i = 0; i < 8; i++)
		dg[2 + i] = (uint8_t)((uint64_t)NOW >> (56 - 8 * i));
	memset(nonce, 0, sizeof(nonce));
	nonce[0] = a.send_dir;
	memcpy(nonce + 16, dg + 2, 8);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(dg + 10, &clen,
	    (const uint8_t *)"12345678", GOSSIP_ALIVE_LEN, dg, 10, NULL,
	    nonce, a.key) != 0 || clen != GOSSIP_ALIVE_LEN + GOSSIP_TAG_LEN)
		abort();
	CHECK(sizeof(dg) < GOSSIP_HEADER_LEN + GOSSIP_TAG_LEN,
	    "shorter than any of ours");
	CHECK(gossip_open(&b, dg, sizeof(dg), NOW, &type, out, sizeof(out),
	    &len) == GOSSIP_E_VERSION && len == 0, "dropped: bad version");
	CHECK(b.replay.n == 0, "the window untouched");
	CHECK(gossip_open(&b, dg, 0, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_E_SHORT, "nothing at all: short");
	/* version 1 checked: 26 <= length <= 1372, then the version */
	CHECK(GOSSIP_VERSION != 1 && GOSSIP_HEADER_LEN + GOSSIP_TAG_LEN >=
	    10 + GOSSIP_TAG_LEN && GOSSIP_MAX_DATAGRAM_BYTES <= 1420 - 40 - 8,
	    "a version 1 node counts ours as bad version");
}

static void
test_endpoints(void)
{
	struct gossip_endpoint	 ep[40], back[GOSSIP_ENDPOINTS_MAX];
	struct gossip_pair	 a, b;
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES + 100];
	uint8_t			 dg[GOSSIP_MAX_DATAGRAM_BYTES];
	uint8_t			 out[GOSSIP_MAX_PAYLOAD_BYTES];
	uint8_t			 type;
	ssize_t			 n, m;
	size_t			 i, done, nback, len;

	TEST("ENDPOINTS");
	CHECK(GOSSIP_ENDPOINTS_MAX == 22, "%d entries",
	    GOSSIP_ENDPOINTS_MAX);
	for (i = 0; i < 40; i++)
		ep[i] = endpoint(i + 1, 51820 + i);
	n = gossip_endpoints_encode(buf, sizeof(buf), ep, 40, &done);
	CHECK(done == GOSSIP_ENDPOINTS_MAX &&
	    n == 1 + GOSSIP_ENDPOINTS_MAX * GOSSIP_ENDPOINT_LEN &&
	    n <= GOSSIP_MAX_PAYLOAD_BYTES, "as many as fit: %zu, %zd bytes",
	    done, n);
	pairs(&a, &b);
	m = gossip_seal(&a, GOSSIP_MSG_ENDPOINTS, buf, n, NOW, dg, sizeof(dg));
	CHECK(m > 0 && m <= GOSSIP_MAX_DATAGRAM_BYTES, "sealed: %zd", m);
	CHECK(gossip_open(&b, dg, m, NOW, &type, out, sizeof(out), &len) ==
	    GOSSIP_OK && type == GOSSIP_MSG_ENDPOINTS, "opened");
	CHECK(gossip_endpoints_decode(out, len, back, GOSSIP_ENDPOINTS_MAX,
	    &nback) == 0 && nback == done, "decoded %zu", nback);
	for (i = 0; i < nback; i++)
		if (memcmp(&back[i], &ep[i], sizeof(ep[i])) != 0)
			break;
	CHECK(i == nback, "round trip, entry %zu", i);
	/* hearsay is marked in the origin's top bit */
	ep[1].heard = 1;
	n = gossip_endpoints_encode(buf, sizeof(buf), ep, 3, &done);
	CHECK(n == 1 + 3 * GOSSIP_ENDPOINT_LEN &&
	    buf[1 + GOSSIP_ENDPOINT_LEN + 33] == (0x80 | ep[1].origin) &&
	    gossip_endpoints_decode(buf, n, back, GOSSIP_ENDPOINTS_MAX,
	    &nback) == 0 && nback == 3 && back[1].heard == 1 &&
	    back[1].origin == ep[1].origin && back[0].heard == 0,
	    "heard round trip");
	ep[1].heard = 2;
	CHECK(gossip_endpoints_encode(buf, sizeof(buf), ep, 3, &done) == -1,
	    "heard other than 0 or 1 encoded");
	ep[1].heard = 0;

	/* a buffer that holds three and a bit */
	memset(buf, 0xee, sizeof(buf));
	n = gossip_endpoints_encode(buf, 1 + 3 * GOSSIP_ENDPOINT_LEN + 59, ep,
	    40, &done);
	CHECK(done == 3 && n == 1 + 3 * GOSSIP_ENDPOINT_LEN, "three");
	CHECK(buf[n] == 0xee, "nothing written past them");
	n = gossip_endpoints_encode(buf, 1, ep, 40, &done);
	CHECK(n == 1 && done == 0 && buf[0] == 0, "only the count");
	CHECK(gossip_endpoints_decode(buf, 1, back, 22, &nback) == 0 &&
	    nback == 0, "an empty list");
	CHECK(gossip_endpoints_encode(buf, 0, ep, 40, &done) == -1,
	    "no room at all");
	ep[1].addr.port = 0;
	CHECK(gossip_endpoints_encode(buf, sizeof(buf), ep, 3, &done) == -1 &&
	    done == 0, "an invalid entry is not sent");
}

static void
test_endpoints_refused(void)
{
	struct gossip_endpoint	 ep[3], back[GOSSIP_ENDPOINTS_MAX];
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES + 100], *e;
	ssize_t			 n;
	size_t			 i, done, nback;

	TEST("ENDPOINTS refused");
	for (i = 0; i < 3; i++)
		ep[i] = endpoint(i + 1, 1666);
	n = gossip_endpoints_encode(buf, sizeof(buf), ep, 3, &done);
	CHECK(n == 1 + 3 * GOSSIP_ENDPOINT_LEN, "three");
	CHECK(gossip_endpoints_decode(buf, n, back, 3, &nback) == 0, "valid");
	CHECK(gossip_endpoints_decode(buf, n, back, 2, &nback) == -1,
	    "more than the caller has room for");
	CHECK(gossip_endpoints_decode(buf, 0, back, 3, &nback) == -1,
	    "empty");
	for (i = 1; i < (size_t)n; i++)
		if (gossip_endpoints_decode(buf, i, back, 3, &nback) != -1)
			break;
	CHECK(i == (size_t)n, "every truncation refused (%zu)", i);
	buf[n] = 0;
	CHECK(gossip_endpoints_decode(buf, n + 1, back, 3, &nback) == -1,
	    "trailing byte");
	buf[0] = 2;
	CHECK(gossip_endpoints_decode(buf, n, back, 3, &nback) == -1,
	    "count below the length");
	buf[0] = 4;
	CHECK(gossip_endpoints_decode(buf, n, back, 3, &nback) == -1,
	    "count above the length");
	memset(buf, 0, sizeof(buf));
	buf[0] = GOSSIP_ENDPOINTS_MAX + 1;
	CHECK(gossip_endpoints_decode(buf, 1 + (GOSSIP_ENDPOINTS_MAX + 1) *
	    GOSSIP_ENDPOINT_LEN, back, GOSSIP_ENDPOINTS_MAX, &nback) == -1,
	    "more than a datagram holds");

	/* one field at a time in the second entry (IPv6) */
	e = buf + 1 + GOSSIP_ENDPOINT_LEN;
#define REFUSED(what, stmt) do {					\
	n = gossip_endpoints_encode(buf, sizeof(buf), ep, 3, &done);	\
	stmt;								\
	CHECK(gossip_endpoints_decode(buf, n, back, 3, &nback) == -1 &&	\
	    nback == 0, what);						\
} while (0)
	REFUSED("family 0", e[32] = 0);
	REFUSED("family 2 (AF_INET)", e[32] = 2);
	REFUSED("family 10 (AF_INET6)", e[32] = 10);
	REFUSED("port 0", e[34] = e[35] = 0);
	REFUSED("origin 0", e[33] = 0);
	REFUSED("origin 6", e[33] = ORIGIN_PERSISTED + 1);
	REFUSED("unspecified address", memset(e + 36, 0, 16));
	REFUSED("multicast address", e[36] = 0xff);
	REFUSED("observed before 1970", e[52] = 0x80);
	REFUSED("IPv6 entry marked IPv4", e[32] = 4);
	/* the first entry is IPv4 */
	e = buf + 1;
	REFUSED("IPv4 with bytes after the address", e[40] = 1);
	REFUSED("IPv4 broadcast", memset(e + 36, 0xff, 4));
#undef REFUSED
	n = gossip_endpoints_encode(buf, sizeof(buf), ep, 3, &done);
	e[32] = 6;
	CHECK(gossip_endpoints_decode(buf, n, back, 3, &nback) == 0 &&
	    back[0].addr.af == AF_INET6, "IPv4 bytes read as IPv6 are valid");
}

/*
 * A link-local endpoint's scope is an interface index of this host: such
 * an entry is taken (counted in done) but never written, and one that
 * comes in without a scope is refused.
 */
static void
test_endpoints_scoped(void)
{
	struct gossip_endpoint	 ep[4], back[GOSSIP_ENDPOINTS_MAX];
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES + 100], *e;
	ssize_t			 n;
	size_t			 i, done, nback;

	TEST("ENDPOINTS: no scoped address on the wire");
	for (i = 0; i < 4; i++)
		ep[i] = endpoint(i + 1, 51820);
	ep[1].addr.af = AF_INET6;
	memset(ep[1].addr.addr, 0, 16);
	ep[1].addr.addr[0] = 0xfe;
	ep[1].addr.addr[1] = 0x80;
	ep[1].addr.addr[15] = 1;
	ep[1].addr.scope = 2;
	CHECK(!gossip_endpoint_valid(&ep[1]), "a scoped entry is not valid "
	    "for the wire");
	n = gossip_endpoints_encode(buf, sizeof(buf), ep, 4, &done);
	CHECK(n == 1 + 3 * GOSSIP_ENDPOINT_LEN && done == 4 && buf[0] == 3,
	    "three written, four taken: %zd bytes, %zu", n, done);
	CHECK(gossip_endpoints_decode(buf, n, back, 4, &nback) == 0 &&
	    nback == 3 && memcmp(back[0].public_key, ep[0].public_key,
	    WG_KEY_LEN) == 0 && memcmp(back[1].public_key, ep[2].public_key,
	    WG_KEY_LEN) == 0, "the others, in order");
	for (i = 0; i < nback; i++)
		if (back[i].addr.scope != 0)
			break;
	CHECK(i == nback, "no scope comes off the wire");

	/* room for one: the scoped entry is passed over, not counted */
	n = gossip_endpoints_encode(buf, 1 + GOSSIP_ENDPOINT_LEN, ep + 1, 3,
	    &done);
	CHECK(n == 1 + GOSSIP_ENDPOINT_LEN && done == 2 && buf[0] == 1,
	    "room for one: %zd bytes, %zu taken", n, done);
	n = gossip_endpoints_encode(buf, sizeof(buf), ep + 1, 1, &done);
	CHECK(n == -1 && done == 1, "only a scoped one: nothing to send, "
	    "%zd", n);

	/* an unscoped link-local address from a peer is refused */
	ep[1].addr.scope = 0;
	ep[1].addr.addr[0] = 0xfd;
	n = gossip_endpoints_encode(buf, sizeof(buf), ep, 4, &done);
	CHECK(n == 1 + 4 * GOSSIP_ENDPOINT_LEN, "four");
	e = buf + 1 + GOSSIP_ENDPOINT_LEN;
	e[36] = 0xfe;
	CHECK(gossip_endpoints_decode(buf, n, back, 4, &nback) == -1,
	    "fe80::1 from the wire refused");
}

static void
test_ping(void)
{
	uint8_t			nonce[GOSSIP_PING_NONCE_LEN];
	uint8_t			back[GOSSIP_PING_NONCE_LEN];
	uint8_t			buf[GOSSIP_PING_LEN + 1];
	struct imsg_addr	path, bpath;
	uint16_t		port = 0;

	TEST("PING and PONG");
	randombytes_buf(nonce, sizeof(nonce));
	memset(&path, 0, sizeof(path));
	path.af = AF_INET;
	path.port = 1666;
	path.addr[0] = 198;
	path.addr[1] = 19;
	path.addr[3] = 7;
	CHECK(gossip_ping_encode(buf, sizeof(buf), nonce, 51820, &path) ==
	    GOSSIP_PING_LEN, "encode");
	CHECK(gossip_ping_decode(buf, GOSSIP_PING_LEN, back, &port,
	    &bpath) == 0 && memcmp(nonce, back, sizeof(back)) == 0 &&
	    port == 51820 && imsg_addr_equal(&path, &bpath),
	    "round trip, with the listen port and the path");
	CHECK(gossip_ping_encode(buf, GOSSIP_PING_LEN - 1, nonce, 1,
	    &path) == -1, "small buffer");
	CHECK(gossip_ping_encode(buf, sizeof(buf), nonce, 0, &path) == -1,
	    "port 0 not encoded");
	CHECK(gossip_ping_decode(buf, GOSSIP_PING_LEN - 1, back, &port,
	    &bpath) == -1, "short");
	CHECK(gossip_ping_decode(buf, GOSSIP_PING_LEN + 1, back, &port,
	    &bpath) == -1, "trailing byte");
	buf[GOSSIP_PING_LEN - 1] = 1;
	CHECK(gossip_ping_decode(buf, GOSSIP_PING_LEN, back, &port,
	    &bpath) == -1, "an IPv4 path with bytes past its address refused");
	path.af = AF_INET6;
	path.addr[0] = 0xfe;
	path.addr[1] = 0x80;
	path.addr[15] = 9;
	path.scope = 3;
	CHECK(gossip_ping_encode(buf, sizeof(buf), nonce, 51820, &path) ==
	    GOSSIP_PING_LEN && gossip_ping_decode(buf, GOSSIP_PING_LEN, back,
	    &port, &bpath) == 0 && bpath.af == AF_INET6 &&
	    bpath.port == 1666 && bpath.scope == 0 &&
	    memcmp(bpath.addr, path.addr, 16) == 0,
	    "an IPv6 path, without its scope");
	buf[18] = 5;
	CHECK(gossip_ping_decode(buf, GOSSIP_PING_LEN, back, &port,
	    &bpath) == -1, "an unknown family refused");
	buf[18] = 6;
	buf[20] = buf[21] = 0;
	CHECK(gossip_ping_decode(buf, GOSSIP_PING_LEN, back, &port,
	    &bpath) == -1, "path port 0 refused");
	path.port = 0;
	CHECK(gossip_ping_encode(buf, sizeof(buf), nonce, 51820, &path) == -1,
	    "no path port, not encoded");
	path.port = 1666;
	path.af = 0;
	CHECK(gossip_ping_encode(buf, sizeof(buf), nonce, 51820, &path) == -1,
	    "no path, not encoded");
	path.af = AF_INET6;
	gossip_ping_encode(buf, sizeof(buf), nonce, 51820, &path);
	buf[GOSSIP_PING_NONCE_LEN] = buf[GOSSIP_PING_NONCE_LEN + 1] = 0;
	CHECK(gossip_ping_decode(buf, GOSSIP_PING_LEN, back, &port,
	    &bpath) == -1, "port 0 refused");
}

static void
test_lan(void)
{
	uint8_t		key[WG_KEY_LEN], back[WG_KEY_LEN];
	uint8_t		buf[LAN_DATAGRAM_LEN + 1];
	uint8_t		kind;
	uint16_t	port;

	TEST("LAN datagram headers");
	randombytes_buf(key, sizeof(key));
	CHECK(LAN_DATAGRAM_LEN == LAN_HEADER_LEN + GOSSIP_HEADER_LEN +
	    GOSSIP_PING_LEN + GOSSIP_TAG_LEN, "a LAN datagram is a sealed PING");
	CHECK(lan_header_encode(buf, sizeof(buf), LAN_BEACON, 51820, key) ==
	    LAN_DATAGRAM_LEN, "a beacon is padded to a PING's length");
	CHECK(lan_header_decode(buf, LAN_DATAGRAM_LEN, &kind, &port,
	    back) == 0 && kind == LAN_BEACON && port == 51820 &&
	    memcmp(key, back, sizeof(key)) == 0, "beacon round trip");
	CHECK(lan_header_decode(buf, LAN_DATAGRAM_LEN - 1, &kind, &port,
	    back) == -1 && lan_header_decode(buf, LAN_DATAGRAM_LEN + 1,
	    &kind, &port, back) == -1, "other lengths refused");
	buf[LAN_DATAGRAM_LEN - 1] = 1;
	CHECK(lan_header_decode(buf, LAN_DATAGRAM_LEN, &kind, &port,
	    back) == -1, "a beacon with padding that is not zero refused");
	CHECK(lan_header_encode(buf, sizeof(buf), LAN_BEACON, 0, key) == -1,
	    "a beacon without a port not encoded");
	CHECK(lan_header_encode(buf, sizeof(buf), LAN_SEALED, 0, key) ==
	    LAN_HEADER_LEN, "a sealed datagram's header");
	CHECK(lan_header_decode(buf, LAN_DATAGRAM_LEN, &kind, &port,
	    back) == 0 && kind == LAN_SEALED && port == 0, "sealed round trip");
	buf[7] = 1;
	CHECK(lan_header_decode(buf, LAN_DATAGRAM_LEN, &kind, &port,
	    back) == -1, "a sealed datagram with a port refused");
	buf[7] = 0;
	buf[4] = 3;
	CHECK(lan_header_decode(buf, LAN_DATAGRAM_LEN, &kind, &port,
	    back) == -1, "an unknown kind refused");
	buf[4] = LAN_SEALED;
	buf[0] = 'x';
	CHECK(lan_header_decode(buf, LAN_DATAGRAM_LEN, &kind, &port,
	    back) == -1, "a bad magic refused");
	CHECK(lan_header_encode(buf, LAN_DATAGRAM_LEN - 1, LAN_SEALED, 0,
	    key) == -1, "a small buffer refused");
}

int
main(void)
{
	if (sodium_init() == -1) {
		printf("sodium_init failed\n");
		return (1);
	}
	test_pair_key();
	test_seal_open();
	test_tamper();
	test_replay();
	test_stale();
	test_restart();
	test_old_version();
	test_endpoints();
	test_endpoints_refused();
	test_endpoints_scoped();
	test_ping();
	test_lan();
	return (regress_end());
}
