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
 * Gossip datagrams, with no I/O: per-pair keys, sealing and opening,
 * replay protection and the payload encodings.  The caller reads the
 * clock and the socket; everything here is a function of its arguments,
 * but for the random nonce prefix that gossip_pair_init() draws.
 *
 * A datagram is
 *	version (1) | type (1) | prefix (15) | counter (8, big endian) |
 *	ciphertext | tag
 * where the header, the first 25 bytes, is the AEAD's associated data.
 * XChaCha20-Poly1305's 24-byte nonce is one direction byte (which of the
 * two public keys, the smaller one or the other, sent it) and the
 * header's last 23 bytes, the prefix and the counter: the two directions
 * of a pair never share a nonce under their common key.
 *
 * The key of a pair is the same at every start (a function of the two
 * key pairs and the gossip secret), so the nonce must never repeat across
 * starts either.  The counter alone does not ensure it: it is the
 * sender's realtime clock in microseconds (or one more than the last one
 * sent, if that is larger), and a clock stepped back, a restored
 * snapshot or a machine without a real-time clock starts it again where
 * an earlier run has been.  So each end draws a random prefix whenever
 * it sets a pair up (gossip_pair_init()), and sends it in every datagram
 * so that the receiver can rebuild the nonce.  Two set-ups share a
 * prefix with odds of 2^-120; only then can a counter repeat a nonce.
 * Per pair set-up rather than once per process: a pair is set up again
 * within one process too (a peer removed and added back by a reload, a
 * key changed and changed back), its counter then starting afresh.
 *
 * The counter keeps increasing across restarts without any state on
 * disk, so the receiver judges replays and freshness by it alone,
 * whatever the prefix (see gossip_open()), and can refuse a datagram that
 * is too old to be anything but a replay.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "wire.h"
#include "engine.h"

#define GOSSIP_LABEL		"wgmeshd gossip v1"
#define GOSSIP_WIRE_INET	4	/* address families on the wire */
#define GOSSIP_WIRE_INET6	6
#define GOSSIP_WIRE_HEARD	0x80	/* in an entry's origin */
#define GOSSIP_NONCE_LEN	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define GOSSIP_PREFIX_AT	2	/* offsets in the header */
#define GOSSIP_COUNTER_AT	(GOSSIP_PREFIX_AT + GOSSIP_PREFIX_LEN)

_Static_assert(GOSSIP_COUNTER_AT + 8 == GOSSIP_HEADER_LEN,
    "version, type, prefix, counter: the header");
_Static_assert(1 + GOSSIP_HEADER_LEN - GOSSIP_PREFIX_AT == GOSSIP_NONCE_LEN,
    "a direction byte, the prefix and the counter: the nonce");

_Static_assert(sizeof(((struct mesh_peer *)0)->lan_nonce) ==
    GOSSIP_PING_NONCE_LEN, "a LAN challenge is a PING nonce");

static void	 put64(uint8_t *, uint64_t);
static uint64_t	 get64(const uint8_t *);
static void	 gossip_nonce(uint8_t [GOSSIP_NONCE_LEN], uint8_t,
		    const uint8_t [GOSSIP_HEADER_LEN]);
static int	 gossip_type_valid(uint8_t);
static int	 gossip_fresh(uint64_t, int64_t);

static const char *const gossip_result_names[GOSSIP_E_MAX] = {
	[GOSSIP_OK] = "ok",
	[GOSSIP_E_SHORT] = "short",
	[GOSSIP_E_LONG] = "too long",
	[GOSSIP_E_VERSION] = "bad version",
	[GOSSIP_E_TYPE] = "bad type",
	[GOSSIP_E_AUTH] = "authentication failed",
	[GOSSIP_E_REPLAY] = "replay",
	[GOSSIP_E_STALE] = "stale",
	[GOSSIP_E_NOSPACE] = "no space",
};

static void
put64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (v);
}

const char *
gossip_result_name(int r)
{
	if (r < 0 || r >= GOSSIP_E_MAX)
		return ("unknown");
	return (gossip_result_names[r]);
}

/* Where a receiver counts a drop for verdict r (not GOSSIP_OK). */
uint64_t *
gossip_result_counter(struct gossip_counters *gc, int r)
{
	switch (r) {
	case GOSSIP_E_SHORT:
		return (&gc->drop_short);
	case GOSSIP_E_LONG:
		return (&gc->drop_too_long);
	case GOSSIP_E_VERSION:
		return (&gc->drop_bad_version);
	case GOSSIP_E_TYPE:
		return (&gc->drop_bad_type);
	case GOSSIP_E_AUTH:
		return (&gc->drop_authentication_failed);
	case GOSSIP_E_REPLAY:
		return (&gc->drop_replay);
	case GOSSIP_E_STALE:
		return (&gc->drop_stale);
	case GOSSIP_E_NOSPACE:
		return (&gc->drop_no_space);
	}
	fatalx("gossip verdict %d has no counter", r);
}

/*
 * The key both ends of a pair share: BLAKE2b keyed with the X25519 result
 * over the label, both public keys (the smaller first, so that both ends
 * hash the same bytes) and the gossip secret, if there is one.
 */
int
gossip_pair_key(uint8_t out[GOSSIP_KEY_LEN],
    const uint8_t own_priv[WG_KEY_LEN], const uint8_t own_pub[WG_KEY_LEN],
    const uint8_t peer_pub[WG_KEY_LEN], const uint8_t *secret)
{
	crypto_generichash_state	 st;
	uint8_t				 dh[crypto_scalarmult_BYTES];
	const uint8_t			*lo, *hi;
	int				 c, rv = -1;

	memset(out, 0, GOSSIP_KEY_LEN);
	if ((c = memcmp(own_pub, peer_pub, WG_KEY_LEN)) == 0)
		return (-1);
	lo = c < 0 ? own_pub : peer_pub;
	hi = c < 0 ? peer_pub : own_pub;
	/* libsodium refuses a result of all zeroes: a low-order point */
	if (crypto_scalarmult(dh, own_priv, peer_pub) != 0)
		goto done;
	if (crypto_generichash_init(&st, dh, sizeof(dh), GOSSIP_KEY_LEN) != 0)
		goto done;
	crypto_generichash_update(&st, (const uint8_t *)GOSSIP_LABEL,
	    sizeof(GOSSIP_LABEL) - 1);
	crypto_generichash_update(&st, lo, WG_KEY_LEN);
	crypto_generichash_update(&st, hi, WG_KEY_LEN);
	if (secret != NULL)
		crypto_generichash_update(&st, secret, GOSSIP_SECRET_LEN);
	if (crypto_generichash_final(&st, out, GOSSIP_KEY_LEN) != 0)
		goto done;
	rv = 0;
 done:
	sodium_memzero(dh, sizeof(dh));
	sodium_memzero(&st, sizeof(st));
	if (rv == -1)
		sodium_memzero(out, GOSSIP_KEY_LEN);
	return (rv);
}

/*
 * One end of a pair: the key, the direction of what this end sends, and
 * a fresh random nonce prefix (randombytes_buf(): getrandom(2), which
 * the engine's filter allows, or the /dev/urandom that sodium_init()
 * opened before the chroot).  Counters start afresh; see the top.
 */
int
gossip_pair_init(struct gossip_pair *gp, const uint8_t key[GOSSIP_KEY_LEN],
    const uint8_t own_pub[WG_KEY_LEN], const uint8_t peer_pub[WG_KEY_LEN])
{
	int	c;

	memset(gp, 0, sizeof(*gp));
	if ((c = memcmp(own_pub, peer_pub, WG_KEY_LEN)) == 0)
		return (-1);
	memcpy(gp->key, key, GOSSIP_KEY_LEN);
	gp->send_dir = c < 0 ? 0 : 1;
	randombytes_buf(gp->send_prefix, sizeof(gp->send_prefix));
	return (0);
}

void
gossip_pair_clear(struct gossip_pair *gp)
{
	sodium_memzero(gp, sizeof(*gp));
}

/* The nonce of a datagram with that header, sent in direction dir. */
static void
gossip_nonce(uint8_t n[GOSSIP_NONCE_LEN], uint8_t dir,
    const uint8_t hdr[GOSSIP_HEADER_LEN])
{
	n[0] = dir;
	memcpy(n + 1, hdr + GOSSIP_PREFIX_AT,
	    GOSSIP_HEADER_LEN - GOSSIP_PREFIX_AT);
}

static int
gossip_type_valid(uint8_t type)
{
	return (type >= GOSSIP_MSG_PING && type <= GOSSIP_MSG_LAST);
}

/* Is counter within GOSSIP_FRESH_US of now, either way? */
static int
gossip_fresh(uint64_t counter, int64_t now_us)
{
	uint64_t	now;

	if (now_us < 0)
		return (0);
	now = (uint64_t)now_us;
	if (counter > now)
		return (counter - now <= GOSSIP_FRESH_US);
	return (now - counter <= GOSSIP_FRESH_US);
}

/*
 * Returns the length of the datagram written to out, or -1: a bad type,
 * a payload over GOSSIP_MAX_PAYLOAD_BYTES, too small an out, or a counter that
 * cannot grow any more.
 */
ssize_t
gossip_seal(struct gossip_pair *gp, uint8_t type, const void *pt,
    size_t ptlen, int64_t now_us, uint8_t *out, size_t outsize)
{
	uint8_t			 nonce[GOSSIP_NONCE_LEN];
	unsigned long long	 clen;
	uint64_t		 counter;

	if (!gossip_type_valid(type) || ptlen > GOSSIP_MAX_PAYLOAD_BYTES ||
	    outsize < GOSSIP_HEADER_LEN + ptlen + GOSSIP_TAG_LEN ||
	    gp->send_last == UINT64_MAX)
		return (-1);
	counter = gp->send_last + 1;
	if (now_us > 0 && (uint64_t)now_us > counter)
		counter = (uint64_t)now_us;
	out[0] = GOSSIP_VERSION;
	out[1] = type;
	memcpy(out + GOSSIP_PREFIX_AT, gp->send_prefix, GOSSIP_PREFIX_LEN);
	put64(out + GOSSIP_COUNTER_AT, counter);
	gossip_nonce(nonce, gp->send_dir, out);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + GOSSIP_HEADER_LEN,
	    &clen, pt, ptlen, out, GOSSIP_HEADER_LEN, NULL, nonce,
	    gp->key) != 0)
		return (-1);
	gp->send_last = counter;
	return (GOSSIP_HEADER_LEN + (size_t)clen);
}

/*
 * Authenticates and decrypts a datagram from the pair's peer.  Returns
 * GOSSIP_OK, with the type and plaintext, or the reason for dropping it.
 * The checks that need no key come first, the version first of all, so
 * that a datagram of another version is counted as such even when it is
 * shorter than one of ours.  The counter is judged only after the tag,
 * so that "replay" and "stale" count genuine datagrams only, and the
 * replay window never moves for a forged one.
 *
 * The prefix (authenticated: it is in the associated data and in the
 * nonce) takes no part in the replay checks.  The window holds counters
 * from every prefix the peer has used, and a new prefix must not reset
 * it: a prefix is whatever the datagram says, so with a window per
 * prefix, or one emptied when the prefix changes, anyone who captured
 * the peer's datagrams could replay them, each still fresh, after one
 * of another prefix (the peer's next run, or one of its earlier
 * datagrams) and have them taken again.  Nor is a reset needed: the
 * counter is the clock, which goes on increasing across the peer's
 * restarts.
 */
int
gossip_open(struct gossip_pair *gp, const uint8_t *in, size_t len,
    int64_t now_us, uint8_t *type, uint8_t *pt, size_t ptsize, size_t *ptlen)
{
	uint8_t			 nonce[GOSSIP_NONCE_LEN];
	unsigned long long	 mlen;
	uint64_t		 counter;

	*ptlen = 0;
	if (len == 0)
		return (GOSSIP_E_SHORT);
	if (in[0] != GOSSIP_VERSION)
		return (GOSSIP_E_VERSION);
	if (len < GOSSIP_HEADER_LEN + GOSSIP_TAG_LEN)
		return (GOSSIP_E_SHORT);
	if (len > GOSSIP_MAX_DATAGRAM_BYTES)
		return (GOSSIP_E_LONG);
	if (!gossip_type_valid(in[1]))
		return (GOSSIP_E_TYPE);
	if (ptsize < len - GOSSIP_HEADER_LEN - GOSSIP_TAG_LEN)
		return (GOSSIP_E_NOSPACE);
	counter = get64(in + GOSSIP_COUNTER_AT);
	gossip_nonce(nonce, gp->send_dir ^ 1, in);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &mlen, NULL,
	    in + GOSSIP_HEADER_LEN, len - GOSSIP_HEADER_LEN, in,
	    GOSSIP_HEADER_LEN, nonce, gp->key) != 0)
		return (GOSSIP_E_AUTH);
	if (!gossip_fresh(counter, now_us)) {
		sodium_memzero(pt, (size_t)mlen);
		return (GOSSIP_E_STALE);
	}
	if (gossip_replay_check(&gp->replay, counter) == -1) {
		sodium_memzero(pt, (size_t)mlen);
		return (GOSSIP_E_REPLAY);
	}
	gossip_replay_update(&gp->replay, counter);
	*type = in[1];
	*ptlen = (size_t)mlen;
	return (GOSSIP_OK);
}

/*
 * The replay window keeps the GOSSIP_REPLAY_WINDOW highest counters
 * accepted.  A counter is accepted once: when it is not among them and,
 * once the window is full, above the lowest of them.  Only the lowest is
 * ever pushed out, so every counter accepted before is either still in
 * the window or below its lowest.  The window is a set rather than a
 * bitmap over counter values because counters are microseconds: two
 * datagrams sent a millisecond apart are a thousand values apart.
 */
int
gossip_replay_check(const struct gossip_replay *r, uint64_t counter)
{
	uint64_t	low = UINT64_MAX;
	size_t		i;

	if (counter == 0)
		return (-1);
	for (i = 0; i < r->n; i++) {
		if (r->seen[i] == counter)
			return (-1);
		if (r->seen[i] < low)
			low = r->seen[i];
	}
	if (r->n == GOSSIP_REPLAY_WINDOW && counter < low)
		return (-1);
	return (0);
}

/* Only after gossip_replay_check() said yes. */
void
gossip_replay_update(struct gossip_replay *r, uint64_t counter)
{
	size_t	i, low;

	if (r->n < GOSSIP_REPLAY_WINDOW) {
		r->seen[r->n++] = counter;
		return;
	}
	for (i = 1, low = 0; i < r->n; i++)
		if (r->seen[i] < r->seen[low])
			low = i;
	r->seen[low] = counter;
}

/*
 * ENDPOINTS: a count (1 byte), then that many entries of
 * GOSSIP_ENDPOINT_LEN bytes:
 *	public key (32) | family (1: 4 or 6) | origin (1) | port (2) |
 *	address (16, IPv4 in the first four) | observed (8, seconds)
 * all big endian; the origin's top bit (GOSSIP_WIRE_HEARD) says that the
 * sender passes on what it heard, rather than what it sees itself.  Writes as many of the n entries as fit in size (and in
 * one datagram) and says how many of them it took in *done; returns the
 * length, or -1 if an entry is not valid or not even the count fits.  An
 * entry with an interface scope (a link-local address) is taken but not
 * written: the index names an interface of this host only; when all of
 * them are such, it is -1 too (with *done saying so), as there is
 * nothing to send.
 */
ssize_t
gossip_endpoints_encode(uint8_t *buf, size_t size,
    const struct gossip_endpoint *ep, size_t n, size_t *done)
{
	size_t	i, fit, count = 0;
	uint8_t	*p;

	*done = 0;
	if (size < 1)
		return (-1);
	if (size > GOSSIP_MAX_PAYLOAD_BYTES)
		size = GOSSIP_MAX_PAYLOAD_BYTES;
	fit = (size - 1) / GOSSIP_ENDPOINT_LEN;
	for (i = 0; i < n && count < fit; i++) {
		if (ep[i].addr.scope != 0)
			continue;
		if (!gossip_endpoint_valid(&ep[i]))
			return (-1);
		count++;
	}
	n = i;
	/* nothing but scoped entries: no empty datagram either */
	if (count == 0 && n > 0) {
		*done = n;
		return (-1);
	}
	buf[0] = count;
	p = buf + 1;
	for (i = 0; i < n; i++) {
		if (ep[i].addr.scope != 0)
			continue;
		memcpy(p, ep[i].public_key, WG_KEY_LEN);
		p[32] = ep[i].addr.af == AF_INET ? GOSSIP_WIRE_INET :
		    GOSSIP_WIRE_INET6;
		p[33] = ep[i].origin | (ep[i].heard ? GOSSIP_WIRE_HEARD : 0);
		p[34] = ep[i].addr.port >> 8;
		p[35] = ep[i].addr.port & 0xff;
		memcpy(p + 36, ep[i].addr.addr, 16);
		put64(p + 52, (uint64_t)ep[i].observed);
		p += GOSSIP_ENDPOINT_LEN;
	}
	*done = n;
	return (1 + count * GOSSIP_ENDPOINT_LEN);
}

int
gossip_endpoints_decode(const uint8_t *buf, size_t len,
    struct gossip_endpoint *ep, size_t max, size_t *n)
{
	const uint8_t	*p;
	size_t		 count, i;
	uint64_t	 observed;

	*n = 0;
	if (len < 1)
		return (-1);
	count = buf[0];
	if (count > GOSSIP_ENDPOINTS_MAX || count > max ||
	    len - 1 != count * GOSSIP_ENDPOINT_LEN)
		return (-1);
	for (i = 0, p = buf + 1; i < count; i++, p += GOSSIP_ENDPOINT_LEN) {
		memset(&ep[i], 0, sizeof(ep[i]));
		memcpy(ep[i].public_key, p, WG_KEY_LEN);
		switch (p[32]) {
		case GOSSIP_WIRE_INET:
			ep[i].addr.af = AF_INET;
			break;
		case GOSSIP_WIRE_INET6:
			ep[i].addr.af = AF_INET6;
			break;
		default:
			return (-1);
		}
		ep[i].origin = p[33] & ~GOSSIP_WIRE_HEARD;
		ep[i].heard = (p[33] & GOSSIP_WIRE_HEARD) != 0;
		ep[i].addr.port = (uint16_t)(p[34] << 8 | p[35]);
		memcpy(ep[i].addr.addr, p + 36, 16);
		if ((observed = get64(p + 52)) > INT64_MAX)
			return (-1);
		ep[i].observed = (int64_t)observed;
		if (!gossip_endpoint_valid(&ep[i]))
			return (-1);
	}
	*n = count;
	return (0);
}

/*
 * A usable endpoint (imsg_addr_is_endpoint(): a family, a port, no
 * unspecified, broadcast or multicast address) that means the same on
 * every host (no scope, so no link-local address), a known origin and a
 * time that is not before 1970.
 */
int
gossip_endpoint_valid(const struct gossip_endpoint *ep)
{
	if (ep->addr.scope != 0 || ep->heard > 1)
		return (0);
	if (ep->origin < ORIGIN_OBSERVED ||
	    ep->origin > ORIGIN_PERSISTED)
		return (0);
	if (ep->observed < 0)
		return (0);
	return (imsg_addr_is_endpoint(&ep->addr));
}

/*
 * PING and PONG, which only LAN discovery sends:
 *	nonce (16) | listen port (2) | family (1: 4 or 6) | 0 (1) |
 *	path port (2) | path address (16, IPv4 in the first four)
 * all big endian.  A PONG echoes its PING's nonce; the listen port is
 * the sender's WireGuard port, so that the endpoint a PONG proves is
 * authenticated whole.  The path is the receiver's own address and port
 * as the sender sees them: where a PING was sent to, or where the PING
 * a PONG answers came from.  A receiver that is not at that address
 * was relayed to (see lan.c).  The path has no scope: a link-local
 * address is checked on the link it arrived by.
 */
ssize_t
gossip_ping_encode(uint8_t *buf, size_t size,
    const uint8_t nonce[GOSSIP_PING_NONCE_LEN], uint16_t port,
    const struct imsg_addr *path)
{
	if (size < GOSSIP_PING_LEN || port == 0 || path->port == 0 ||
	    (path->af != AF_INET && path->af != AF_INET6))
		return (-1);
	memset(buf, 0, GOSSIP_PING_LEN);
	memcpy(buf, nonce, GOSSIP_PING_NONCE_LEN);
	buf[16] = port >> 8;
	buf[17] = port & 0xff;
	buf[18] = path->af == AF_INET ? GOSSIP_WIRE_INET : GOSSIP_WIRE_INET6;
	buf[20] = path->port >> 8;
	buf[21] = path->port & 0xff;
	memcpy(buf + 22, path->addr, path->af == AF_INET ? 4 : 16);
	return (GOSSIP_PING_LEN);
}

int
gossip_ping_decode(const uint8_t *buf, size_t len,
    uint8_t nonce[GOSSIP_PING_NONCE_LEN], uint16_t *port,
    struct imsg_addr *path)
{
	size_t	i;

	if (len != GOSSIP_PING_LEN || buf[19] != 0)
		return (-1);
	memset(path, 0, sizeof(*path));
	switch (buf[18]) {
	case GOSSIP_WIRE_INET:
		path->af = AF_INET;
		for (i = 22 + 4; i < GOSSIP_PING_LEN; i++)
			if (buf[i] != 0)
				return (-1);
		break;
	case GOSSIP_WIRE_INET6:
		path->af = AF_INET6;
		break;
	default:
		return (-1);
	}
	*port = buf[16] << 8 | buf[17];
	path->port = (uint16_t)(buf[20] << 8 | buf[21]);
	if (*port == 0 || path->port == 0)
		return (-1);
	memcpy(path->addr, buf + 22, 16);
	memcpy(nonce, buf, GOSSIP_PING_NONCE_LEN);
	return (0);
}

/*
 * A LAN datagram's header: magic, kind, a zero, the port (a BEACON's
 * listen port; 0 before a sealed datagram) and the sender's public key.
 * A BEACON is padded with zeroes to LAN_DATAGRAM_LEN; the caller puts
 * the sealed datagram after the header of the other kind.
 */
ssize_t
lan_header_encode(uint8_t *buf, size_t size, uint8_t kind, uint16_t port,
    const uint8_t key[WG_KEY_LEN])
{
	if (size < LAN_DATAGRAM_LEN ||
	    (kind != LAN_BEACON && kind != LAN_SEALED) ||
	    (kind == LAN_BEACON) != (port != 0))
		return (-1);
	memset(buf, 0, LAN_DATAGRAM_LEN);
	memcpy(buf, LAN_MAGIC, 4);
	buf[4] = kind;
	buf[6] = port >> 8;
	buf[7] = port & 0xff;
	memcpy(buf + 8, key, WG_KEY_LEN);
	return (kind == LAN_BEACON ? LAN_DATAGRAM_LEN : LAN_HEADER_LEN);
}

/* Returns -1 for anything but a well-formed LAN datagram. */
int
lan_header_decode(const uint8_t *buf, size_t len, uint8_t *kind,
    uint16_t *port, uint8_t key[WG_KEY_LEN])
{
	size_t	i;

	if (len != LAN_DATAGRAM_LEN || memcmp(buf, LAN_MAGIC, 4) != 0 ||
	    buf[5] != 0)
		return (-1);
	*kind = buf[4];
	*port = buf[6] << 8 | buf[7];
	switch (*kind) {
	case LAN_BEACON:
		if (*port == 0)
			return (-1);
		for (i = LAN_HEADER_LEN; i < len; i++)
			if (buf[i] != 0)
				return (-1);
		break;
	case LAN_SEALED:
		if (*port != 0)
			return (-1);
		break;
	default:
		return (-1);
	}
	memcpy(key, buf + 8, WG_KEY_LEN);
	return (0);
}

/*
 * PUNCH_REQUEST: the public key of the peer to tell, then zeroes up to
 * GOSSIP_PUNCH_REQUEST_LEN, so that the request is as large as the one
 * entry (a PUNCH, an ENDPOINTS) that it makes its receiver send.  PUNCH
 * itself is an ENDPOINTS payload of exactly one entry.
 */
ssize_t
gossip_punch_request_encode(uint8_t *buf, size_t size,
    const uint8_t key[WG_KEY_LEN])
{
	if (size < GOSSIP_PUNCH_REQUEST_LEN)
		return (-1);
	memset(buf, 0, GOSSIP_PUNCH_REQUEST_LEN);
	memcpy(buf, key, WG_KEY_LEN);
	return (GOSSIP_PUNCH_REQUEST_LEN);
}

int
gossip_punch_request_decode(const uint8_t *buf, size_t len,
    uint8_t key[WG_KEY_LEN])
{
	size_t	i;

	if (len != GOSSIP_PUNCH_REQUEST_LEN)
		return (-1);
	for (i = WG_KEY_LEN; i < len; i++)
		if (buf[i] != 0)
			return (-1);
	memcpy(key, buf, WG_KEY_LEN);
	return (0);
}

/*
 * A relay message (RELAY_REQUEST, RELAY_ASK, RELAY_ANSWER, DIRECT_TRIAL):
 * the key, the code, a zero byte, the port in network order.
 */
ssize_t
gossip_relay_encode(uint8_t *buf, size_t len, const struct gossip_relay *r)
{
	if (len < GOSSIP_RELAY_LEN)
		return (-1);
	memcpy(buf, r->public_key, WG_KEY_LEN);
	buf[WG_KEY_LEN] = r->code;
	buf[WG_KEY_LEN + 1] = 0;
	buf[WG_KEY_LEN + 2] = r->port >> 8;
	buf[WG_KEY_LEN + 3] = r->port & 0xff;
	return (GOSSIP_RELAY_LEN);
}

/*
 * Checks the layout and the code for the message type; the port must be
 * zero where the type carries none.  What the key names is the caller's
 * to check.
 */
int
gossip_relay_decode(const uint8_t *buf, size_t len, uint8_t type,
    struct gossip_relay *r)
{
	uint8_t	code;
	int	has_port;

	if (len != GOSSIP_RELAY_LEN || buf[WG_KEY_LEN + 1] != 0)
		return (-1);
	code = buf[WG_KEY_LEN];
	switch (type) {
	case GOSSIP_MSG_RELAY_REQUEST:
		if (code < RELAY_OP_WANT || code > RELAY_OP_DONE)
			return (-1);
		has_port = 0;
		break;
	case GOSSIP_MSG_RELAY_ASK:
		if (code != RELAY_OP_WANT)
			return (-1);
		has_port = 0;
		break;
	case GOSSIP_MSG_RELAY_ANSWER:
		if (code < RELAY_ANSWER_OK || code >= RELAY_ANSWER_MAX)
			return (-1);
		has_port = code == RELAY_ANSWER_OK;
		break;
	case GOSSIP_MSG_DIRECT_TRIAL:
		if (code != TRIAL_OP_START && code != TRIAL_OP_ACK)
			return (-1);
		has_port = 1;
		break;
	default:
		return (-1);
	}
	memset(r, 0, sizeof(*r));
	memcpy(r->public_key, buf, WG_KEY_LEN);
	r->code = code;
	r->port = (uint16_t)(buf[WG_KEY_LEN + 2] << 8 | buf[WG_KEY_LEN + 3]);
	if ((r->port == 0) == has_port)
		return (-1);
	return (0);
}
