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
 * What the relay does with one datagram of a relayed pair: the
 * classifier and the pair's state, with no I/O (relay.c receives and
 * sends; regress/unit/test_relay.c and regress/fuzz/fuzz_relay.c drive
 * this file alone).  A pair has two legs; end i sends to leg i's port,
 * and what it sends goes out of the other leg's port to the other end.
 * The relay holds no key: WireGuard's mac1, a keyed hash under the
 * receiver's public key, tells it who a handshake is for, and the
 * receiver's answer tells it the handshake was genuine.  The rules, and
 * the function that applies each:
 *
 *  1. A leg latches an address only on a handshake initiation with a
 *     valid mac1 for the other end; an unlatched leg latches the first
 *     from the address the engine expects the end at (any, if none), and
 *     forwards it once the other leg has latched (relay_initiation()).
 *  2. On a latched leg, an initiation from another address does not
 *     re-latch: it becomes the leg's one candidate and is forwarded, at
 *     most one per leg per RELAY_CANDIDATE_MS; the leg moves to the
 *     candidate only when the other end answers it, with a response
 *     (valid mac1) from the other leg's latched address whose receiver
 *     index is the candidate's sender index (relay_initiation(),
 *     relay_response()).  WireGuard answers only an initiation that
 *     decrypts under its static key with a fresh timestamp: a replay or
 *     a forgery never moves a leg.
 *  3. Every initiation's mac1 is remembered (RELAY_REPLAY_RING per
 *     pair); one seen again is a replay, from any address
 *     (relay_replayed()).
 *  4. Responses, cookie replies and data are forwarded only from the
 *     leg's latched address, and only to the other leg's latched
 *     address: nothing is ever sent anywhere else (relay_classify()).
 *  5. A pair's packets and bytes each way go through token buckets;
 *     over either, dropped (relay_take()).  A paused pair drops all.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <string.h>

#include <blake2.h>

#include "relay.h"

static enum relay_verdict relay_initiation(struct relay_pair *, int,
		    const struct relay_addr *, const uint8_t *, int64_t,
		    int *);
static enum relay_verdict relay_response(struct relay_pair *, int,
		    const struct relay_addr *, const uint8_t *, int *);
static int	 relay_replayed(struct relay_pair *, const uint8_t *);
static int	 relay_message_type(const uint8_t *, size_t);
static int	 relay_take(struct relay_bucket *, uint64_t, int64_t);
static void	 relay_bucket_init(struct relay_bucket *, uint64_t, int64_t);
static uint32_t	 relay_le32(const uint8_t *);

static const uint8_t	 v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			    0xff, 0xff };

/*
 * A new pair.  packet_rate: packets per second each way; byte_rate:
 * bytes per second each way.
 */
void
relay_pair_init(struct relay_pair *p, const struct imsg_relay_open *ro,
    uint64_t packet_rate, uint64_t byte_rate, int64_t now_ms)
{
	int	i;

	memset(p, 0, sizeof(*p));
	p->id = ro->id;
	for (i = 0; i < 2; i++) {
		relay_mac1_key(p->mac1_key[i], ro->public_key[i]);
		p->leg[i].last_ms = -1;
		relay_bucket_init(&p->leg[i].packet_bucket, packet_rate,
		    now_ms);
		relay_bucket_init(&p->leg[i].byte_bucket, byte_rate, now_ms);
	}
	relay_pair_expect(p, ro->expect);
}

/* Where the engine sees each end; af 0: anywhere. */
void
relay_pair_expect(struct relay_pair *p, const struct imsg_addr expect[2])
{
	int	i;

	for (i = 0; i < 2; i++)
		p->leg[i].has_expect = relay_addr_from_imsg(
		    &p->leg[i].expect, &expect[i]) == 0;
}

/* Drops everything for ms from now; 0 ends a pause. */
void
relay_pair_pause(struct relay_pair *p, uint32_t ms, int64_t now_ms)
{
	p->paused_until_ms = ms == 0 ? 0 : now_ms + ms;
}

int
relay_pair_paused(const struct relay_pair *p, int64_t now_ms)
{
	return (now_ms < p->paused_until_ms);
}

/*
 * One datagram that arrived on leg "leg" from src.  RELAY_FORWARD: send
 * it out of the other leg's port to *dst.  *latched is set when a leg
 * latched or moved.
 */
enum relay_verdict
relay_classify(struct relay_pair *p, int leg, const struct relay_addr *src,
    const uint8_t *buf, size_t len, int64_t now_ms, struct relay_addr *dst,
    int *latched)
{
	struct relay_leg	*l = &p->leg[leg], *other = &p->leg[1 - leg];
	enum relay_verdict	 v;
	int			 type;

	*latched = 0;
	if (relay_pair_paused(p, now_ms))
		return (RELAY_DROP_PAUSED);
	switch ((type = relay_message_type(buf, len))) {
	case WG_MSG_INITIATION:
		v = relay_initiation(p, leg, src, buf, now_ms, latched);
		break;
	case WG_MSG_RESPONSE:
		v = relay_response(p, leg, src, buf, latched);
		break;
	case WG_MSG_COOKIE:
	case WG_MSG_DATA:
		v = l->latched && relay_addr_equal(src, &l->addr) ?
		    RELAY_FORWARD : RELAY_DROP_UNLATCHED;
		break;
	default:
		return (RELAY_DROP_JUNK);
	}
	if (v != RELAY_FORWARD)
		return (v);
	/* a response to a candidate goes to the candidate, now latched */
	if (!other->latched)
		return (RELAY_DROP_UNLATCHED);
	if (!relay_take(&l->packet_bucket, 1, now_ms) ||
	    !relay_take(&l->byte_bucket, len, now_ms))
		return (RELAY_DROP_RATE);
	*dst = other->addr;
	l->packets++;
	l->bytes += len;
	l->last_ms = now_ms;
	return (RELAY_FORWARD);
}

/* Rules 1 to 3. */
static enum relay_verdict
relay_initiation(struct relay_pair *p, int leg, const struct relay_addr *src,
    const uint8_t *buf, int64_t now_ms, int *latched)
{
	struct relay_leg	*l = &p->leg[leg];

	if (!relay_mac1_valid(p->mac1_key[1 - leg], buf, WG_INITIATION_MAC1))
		return (RELAY_DROP_WRONG_PEER);
	if (relay_replayed(p, buf + WG_INITIATION_MAC1))
		return (RELAY_DROP_REPLAY);
	if (!l->latched) {
		if (l->has_expect && !relay_addr_same_host(src, &l->expect))
			return (RELAY_DROP_UNEXPECTED);
		l->latched = 1;
		l->addr = *src;
		*latched = 1;
		return (RELAY_FORWARD);
	}
	if (relay_addr_equal(src, &l->addr))
		return (RELAY_FORWARD);
	/* another address: only the other end's answer moves the leg */
	if (l->candidate_ms != 0 &&
	    now_ms - l->candidate_ms < RELAY_CANDIDATE_MS)
		return (RELAY_DROP_RATE);
	l->has_candidate = 1;
	l->candidate = *src;
	l->candidate_sender = relay_le32(buf + 4);
	l->candidate_ms = now_ms;
	return (RELAY_FORWARD);
}

/*
 * Rule 2's answer, and rule 4 for responses: from the leg's latched
 * address only, with a valid mac1 for the end it goes to.
 */
static enum relay_verdict
relay_response(struct relay_pair *p, int leg, const struct relay_addr *src,
    const uint8_t *buf, int *latched)
{
	struct relay_leg	*l = &p->leg[leg], *other = &p->leg[1 - leg];

	if (!relay_mac1_valid(p->mac1_key[1 - leg], buf, WG_RESPONSE_MAC1))
		return (RELAY_DROP_WRONG_PEER);
	if (!l->latched || !relay_addr_equal(src, &l->addr))
		return (RELAY_DROP_UNLATCHED);
	/* the receiver index: the initiator's sender index */
	if (other->has_candidate &&
	    relay_le32(buf + 8) == other->candidate_sender) {
		other->latched = 1;
		other->addr = other->candidate;
		other->has_candidate = 0;
		*latched = 1;
	}
	return (RELAY_FORWARD);
}

/* Rule 3: whether this mac1 was seen; remembers it if not. */
static int
relay_replayed(struct relay_pair *p, const uint8_t *mac1)
{
	size_t	i;

	for (i = 0; i < p->nseen; i++)
		if (memcmp(p->seen[i], mac1, WG_MAC_LEN) == 0)
			return (1);
	memcpy(p->seen[p->seen_next], mac1, WG_MAC_LEN);
	p->seen_next = (p->seen_next + 1) % RELAY_REPLAY_RING;
	if (p->nseen < RELAY_REPLAY_RING)
		p->nseen++;
	return (0);
}

/*
 * A WireGuard message by its type, reserved bytes and length; 0 for
 * anything else.
 */
static int
relay_message_type(const uint8_t *buf, size_t len)
{
	if (len < 4 || buf[1] != 0 || buf[2] != 0 || buf[3] != 0)
		return (0);
	switch (buf[0]) {
	case WG_MSG_INITIATION:
		return (len == WG_INITIATION_LEN ? WG_MSG_INITIATION : 0);
	case WG_MSG_RESPONSE:
		return (len == WG_RESPONSE_LEN ? WG_MSG_RESPONSE : 0);
	case WG_MSG_COOKIE:
		return (len == WG_COOKIE_LEN ? WG_MSG_COOKIE : 0);
	case WG_MSG_DATA:
		/*
		 * Header, counter, tag and the plaintext, padded to 16 bytes
		 * but never past the MTU: a full-sized datagram has any
		 * length, so only the least is checked.
		 */
		return (len >= WG_DATA_MIN_LEN ? WG_MSG_DATA : 0);
	}
	return (0);
}

/* The key of mac1 in messages to the holder of public_key. */
void
relay_mac1_key(uint8_t key[32], const uint8_t public_key[32])
{
	uint8_t	in[8 + 32];

	memcpy(in, "mac1----", 8);
	memcpy(in + 8, public_key, 32);
	if (blake2s(key, in, NULL, 32, sizeof(in), 0) != 0)
		memset(key, 0, 32);	/* matches nothing: a fault */
}

/* mac1 is at buf + len: BLAKE2s-128 of what comes before it. */
int
relay_mac1_valid(const uint8_t key[32], const uint8_t *buf, size_t len)
{
	uint8_t	mac[WG_MAC_LEN];
	uint8_t	diff = 0;
	size_t	i;

	if (blake2s(mac, buf, key, sizeof(mac), len, 32) != 0)
		return (0);
	for (i = 0; i < sizeof(mac); i++)
		diff |= mac[i] ^ buf[len + i];
	return (diff == 0);
}

static void
relay_bucket_init(struct relay_bucket *b, uint64_t rate, int64_t now_ms)
{
	b->rate = rate;
	b->tokens = rate * RELAY_BURST_MS;
	b->at_ms = now_ms;
}

/* Takes n (whole packets or bytes) if there are that many. */
static int
relay_take(struct relay_bucket *b, uint64_t n, int64_t now_ms)
{
	uint64_t	cap = b->rate * RELAY_BURST_MS;

	if (now_ms > b->at_ms) {
		/* rate per second is rate thousandths per ms */
		if ((uint64_t)(now_ms - b->at_ms) >= RELAY_BURST_MS)
			b->tokens = cap;
		else
			b->tokens += b->rate * (uint64_t)(now_ms - b->at_ms);
		if (b->tokens > cap)
			b->tokens = cap;
		b->at_ms = now_ms;
	}
	if (b->tokens < n * 1000)
		return (0);
	b->tokens -= n * 1000;
	return (1);
}

void
relay_count(struct relay_counters *c, enum relay_verdict v, size_t len)
{
	switch (v) {
	case RELAY_FORWARD:
		c->forwarded++;
		c->forwarded_bytes += len;
		break;
	case RELAY_DROP_JUNK:
		c->drop_junk++;
		break;
	case RELAY_DROP_WRONG_PEER:
		c->drop_wrong_peer++;
		break;
	case RELAY_DROP_UNEXPECTED:
		c->drop_unexpected++;
		break;
	case RELAY_DROP_REPLAY:
		c->drop_replay++;
		break;
	case RELAY_DROP_UNLATCHED:
		c->drop_unlatched++;
		break;
	case RELAY_DROP_PAUSED:
		c->drop_paused++;
		break;
	case RELAY_DROP_RATE:
		c->drop_rate++;
		break;
	}
}

void
relay_pair_state(const struct relay_pair *p, int64_t now_ms,
    struct imsg_relay_state *rs)
{
	int	i;

	memset(rs, 0, sizeof(*rs));
	rs->id = p->id;
	for (i = 0; i < 2; i++) {
		if (p->leg[i].latched)
			relay_addr_to_imsg(&rs->latched[i], &p->leg[i].addr);
		rs->packets[i] = p->leg[i].packets;
		rs->bytes[i] = p->leg[i].bytes;
		rs->rx_ms[i] = p->leg[i].last_ms < 0 ? -1 :
		    now_ms - p->leg[i].last_ms;
	}
	rs->paused = relay_pair_paused(p, now_ms);
}

/* -1 for af 0 (no address) and anything not IPv4 or IPv6. */
int
relay_addr_from_imsg(struct relay_addr *ra, const struct imsg_addr *ia)
{
	memset(ra, 0, sizeof(*ra));
	switch (ia->af) {
	case AF_INET:
		memcpy(ra->addr, v4mapped, sizeof(v4mapped));
		memcpy(ra->addr + 12, ia->addr, 4);
		break;
	case AF_INET6:
		memcpy(ra->addr, ia->addr, 16);
		ra->scope = ia->scope;
		break;
	default:
		return (-1);
	}
	ra->port = ia->port;
	return (0);
}

void
relay_addr_to_imsg(struct imsg_addr *ia, const struct relay_addr *ra)
{
	memset(ia, 0, sizeof(*ia));
	if (memcmp(ra->addr, v4mapped, sizeof(v4mapped)) == 0) {
		ia->af = AF_INET;
		memcpy(ia->addr, ra->addr + 12, 4);
	} else {
		ia->af = AF_INET6;
		memcpy(ia->addr, ra->addr, 16);
		ia->scope = ra->scope;
	}
	ia->port = ra->port;
}

int
relay_addr_equal(const struct relay_addr *a, const struct relay_addr *b)
{
	return (a->port == b->port && relay_addr_same_host(a, b));
}

/*
 * The address alone: a NAT that maps each destination anew shows the
 * relay another port than it showed this node's WireGuard.
 */
int
relay_addr_same_host(const struct relay_addr *a, const struct relay_addr *b)
{
	return (a->scope == b->scope && memcmp(a->addr, b->addr, 16) == 0);
}

static uint32_t
relay_le32(const uint8_t *p)
{
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24);
}
