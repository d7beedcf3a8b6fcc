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
 * Gossip datagrams (wgmeshd/gossip.c) against whatever arrives, and what
 * the engine's state machine (wgmeshd/mesh.c) makes of their payloads.
 * Input: a mode byte, then
 *	mode 0: a datagram, opened with a fixed pair key; nothing may pass;
 *	mode 1: a type byte and a plaintext, sealed and opened again, which
 *	    must give back the same; the decoders then get the plaintext,
 *	    and what they accept must encode to the very same bytes (a PUNCH
 *	    is an ENDPOINTS payload of exactly one entry, a PUNCH_REQUEST a
 *	    key and zeroes);
 *	mode 2: counters (8 bytes each, big endian) for the replay window,
 *	    checked against a list of every counter it accepted;
 *	mode 3: payloads for mesh_receive() on a small mesh (see mesh_run());
 *	mode 4: a LAN datagram (see fuzz_lan()).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "wire.h"
#include "engine.h"
#include "fuzz_input.h"

#define NOW		1767225600000000LL	/* 2026-01-01, microseconds */
#define MAX_COUNTERS	512
#define MESH_NOW	1767225600LL		/* seconds */
#define MESH_NPEERS	4	/* three on interface 0, one on 1 */
#define MESH_MAXOPS	64
#define MESH_MAXSENT	64
/* this node's endpoints, by interface and origin */
#define MESH_NSELF	(2 * ORIGIN_PERSISTED)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* the input, read from the front; past its end every byte is zero */
/* what mesh.c asked for while handling one event */
struct sent {
	struct mesh_peer	*to;
	uint8_t			 type;
	size_t			 len;
	struct gossip_endpoint	 ep;	/* a PUNCH's, or a one-entry ENDPOINTS' */
	size_t			 nep;
	uint8_t			 key[WG_KEY_LEN];	/* a PUNCH_REQUEST's */
};

static void	fuzz_open(const uint8_t *, size_t);
static void	fuzz_plaintext(const uint8_t *, size_t);
static void	fuzz_replay(const uint8_t *, size_t);
static void	fuzz_lan(const uint8_t *, size_t);
static void	decode(uint8_t, const uint8_t *, size_t);
static void	fail(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2), __noreturn__));
static void	mesh_run(const uint8_t *, size_t);
static void	mesh_setup(struct fuzz_in *);
static size_t	mesh_payload(struct fuzz_in *, uint8_t, uint8_t *);
static void	mesh_entry(struct fuzz_in *, struct gossip_endpoint *);
static int	entries_name(const struct gossip_endpoint *, size_t,
	    const struct mesh_peer *);
static void	mesh_after(struct mesh_peer *, uint8_t, const uint8_t *,
		    size_t, int);
static int	peer_up(const struct mesh_peer *);
static void	mesh_addr(struct fuzz_in *, struct imsg_addr *);
static void	mesh_lan(struct fuzz_in *, struct mesh_peer *);
static void	mesh_self(struct fuzz_in *, uint32_t);
static int	self_has(uint32_t, const struct gossip_endpoint *);
static void	on_action(enum mesh_action, struct mesh_peer *,
		    const struct imsg_set_endpoint *, void *);
static void	on_send(struct mesh_peer *, uint8_t, const uint8_t *, size_t,
		    void *);

static struct gossip_pair	 pair_a, pair_b;	/* a sends to b */
static struct mesh		 mesh;
static struct sent		 sent[MESH_MAXSENT];
static size_t			 nsent;
static size_t			 nset;		/* SET_ENDPOINT actions */
static int64_t			 mesh_now;
static uint8_t			 mesh_keys[MESH_NPEERS + 1][WG_KEY_LEN];
static int64_t			 fwd_at[MESH_NPEERS];	/* PUNCH forwarded */
static uint8_t			 relay_open[MESH_RELAY_PAIRS_MAX]; /* 1, 2 */
static struct mesh_peer		*lan_peer;	/* proven at: */
static struct imsg_addr		 lan_addr;
static struct mesh_self		 self[MESH_NSELF];	/* as set */
static size_t			 nself;

static void
fail(const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dprintf(2, "fuzz_gossip: %s\n", msg);
	abort();
}

static void
decode(uint8_t type, const uint8_t *pt, size_t len)
{
	struct gossip_endpoint	 ep[GOSSIP_ENDPOINTS_MAX];
	struct gossip_endpoint	 ep2[GOSSIP_ENDPOINTS_MAX];
	struct imsg_addr	 path;
	struct gossip_relay	 relay;
	uint8_t			 nonce[GOSSIP_PING_NONCE_LEN];
	uint8_t			 key[WG_KEY_LEN];
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES];
	ssize_t			 n;
	uint16_t		 port;
	struct identity		 id;
	size_t			 count, count2, done, i;
	int			 r, r2, want;

	switch (type) {
	case GOSSIP_MSG_PING:
	case GOSSIP_MSG_PONG:
		if (gossip_ping_decode(pt, len, nonce, &port, &path) == -1)
			return;
		if (path.scope != 0)
			abort();
		n = gossip_ping_encode(buf, sizeof(buf), nonce, port, &path);
		if (n != (ssize_t)len || memcmp(buf, pt, len) != 0)
			abort();
		break;
	case GOSSIP_MSG_ENDPOINTS:
		if (gossip_endpoints_decode(pt, len, ep, GOSSIP_ENDPOINTS_MAX,
		    &count) == -1)
			return;
		for (i = 0; i < count; i++)
			if (!gossip_endpoint_valid(&ep[i]))
				abort();
		n = gossip_endpoints_encode(buf, sizeof(buf), ep, count, &done);
		if (n != (ssize_t)len || done != count ||
		    memcmp(buf, pt, len) != 0)
			abort();
		break;
	case GOSSIP_MSG_RELAY_REQUEST:
	case GOSSIP_MSG_RELAY_ASK:
	case GOSSIP_MSG_RELAY_ANSWER:
	case GOSSIP_MSG_DIRECT_TRIAL:
		if (gossip_relay_decode(pt, len, type, &relay) == -1)
			return;
		if (len != GOSSIP_RELAY_LEN || pt[WG_KEY_LEN + 1] != 0)
			fail("relay message: a bad layout taken");
		n = gossip_relay_encode(buf, sizeof(buf), &relay);
		if (n != (ssize_t)len || memcmp(buf, pt, len) != 0)
			fail("relay message: encodes otherwise");
		break;
	case GOSSIP_MSG_PUNCH_REQUEST:
		if (gossip_punch_request_decode(pt, len, key) == -1) {
			/* only a key padded with zeroes, to the length */
			if (len != GOSSIP_PUNCH_REQUEST_LEN)
				return;
			for (i = WG_KEY_LEN; i < len; i++)
				if (pt[i] != 0)
					return;
			fail("PUNCH_REQUEST: a good one refused");
		}
		if (len != GOSSIP_PUNCH_REQUEST_LEN)
			fail("PUNCH_REQUEST of %zu bytes taken", len);
		n = gossip_punch_request_encode(buf, sizeof(buf), key);
		if (n != (ssize_t)len || memcmp(buf, pt, len) != 0)
			fail("PUNCH_REQUEST: encodes otherwise");
		if (gossip_punch_request_encode(buf, len - 1, key) != -1)
			fail("PUNCH_REQUEST: encoded into too small a buffer");
		break;
	case GOSSIP_MSG_PUNCH:
		/* as mesh.c reads one: at most one entry */
		r = gossip_endpoints_decode(pt, len, ep, 1, &count);
		r2 = gossip_endpoints_decode(pt, len, ep2,
		    GOSSIP_ENDPOINTS_MAX, &count2);
		if ((r == 0) != (r2 == 0 && count2 <= 1))
			fail("PUNCH: decoded with a maximum of 1: %d, %zu; "
			    "without: %d, %zu", r, count, r2, count2);
		if (r == -1) {
			if (count != 0)
				fail("PUNCH: refused, with %zu entries", count);
			return;
		}
		if (count > 1 || (count == 1 &&
		    (!gossip_endpoint_valid(&ep[0]) ||
		    memcmp(&ep[0], &ep2[0], sizeof(ep[0])) != 0)))
			fail("PUNCH: %zu entries", count);
		n = gossip_endpoints_encode(buf, sizeof(buf), ep, count, &done);
		if (n != (ssize_t)len || done != count ||
		    memcmp(buf, pt, len) != 0)
			fail("PUNCH: encodes otherwise");
		break;
	case GOSSIP_MSG_ALIVE:
	case GOSSIP_MSG_ALIVE_ACK:
		/* a token, read by nobody but mesh.c's length check */
		break;
	case GOSSIP_MSG_IDENTITY:
		if (identity_decode(pt, len, &id, &want) == -1)
			return;
		/* what is taken encodes back the same, its padding too */
		n = identity_encode(buf, sizeof(buf), &id, want);
		if (n != (ssize_t)len || memcmp(buf, pt, len) != 0)
			fail("IDENTITY: encodes otherwise");
		if (want && len != IDENTITY_LEN_MAX)
			fail("IDENTITY: a request of %zu bytes taken", len);
		break;
	default:
		abort();
	}
}

static void
fuzz_open(const uint8_t *data, size_t size)
{
	struct gossip_pair	b = pair_b;
	uint8_t			pt[GOSSIP_MAX_PAYLOAD_BYTES], type;
	size_t			len;
	int			r;

	r = gossip_open(&b, data, size, NOW, &type, pt, sizeof(pt), &len);
	if (r < 0 || r >= GOSSIP_E_MAX || r == GOSSIP_E_NOSPACE)
		abort();
	if (r == GOSSIP_OK)
		abort();	/* a forgery */
	if (len != 0 || b.replay.n != 0)
		abort();
}

static void
fuzz_plaintext(const uint8_t *data, size_t size)
{
	struct gossip_pair	a = pair_a, b = pair_b;
	uint8_t			dg[GOSSIP_MAX_DATAGRAM_BYTES];
	uint8_t			pt[GOSSIP_MAX_PAYLOAD_BYTES], type, t;
	ssize_t			n;
	size_t			len;

	if (size < 1)
		return;
	t = data[0];
	data++;
	size--;
	n = gossip_seal(&a, t, data, size, NOW, dg, sizeof(dg));
	if (t < GOSSIP_MSG_PING || t > GOSSIP_MSG_LAST ||
	    size > GOSSIP_MAX_PAYLOAD_BYTES) {
		if (n != -1)
			abort();
		return;
	}
	if (n != (ssize_t)(GOSSIP_HEADER_LEN + size + GOSSIP_TAG_LEN))
		abort();
	if (gossip_open(&b, dg, n, NOW, &type, pt, sizeof(pt), &len) !=
	    GOSSIP_OK || type != t || len != size ||
	    memcmp(pt, data, size) != 0)
		abort();
	if (gossip_open(&b, dg, n, NOW, &type, pt, sizeof(pt), &len) !=
	    GOSSIP_E_REPLAY)
		abort();
	decode(t, data, size);
}

static void
fuzz_replay(const uint8_t *data, size_t size)
{
	static uint64_t		 accepted[MAX_COUNTERS];
	struct gossip_replay	 r;
	uint64_t		 c, top = 0;
	size_t			 i, j, n = 0;
	int			 seen;

	memset(&r, 0, sizeof(r));
	for (i = 0; i + 8 <= size && n < MAX_COUNTERS; i += 8) {
		for (c = 0, j = 0; j < 8; j++)
			c = c << 8 | data[i + j];
		for (seen = 0, j = 0; j < n; j++)
			if (accepted[j] == c)
				seen = 1;
		if (gossip_replay_check(&r, c) == 0) {
			if (seen || c == 0)
				abort();
			gossip_replay_update(&r, c);
			accepted[n++] = c;
			if (c > top)
				top = c;
		} else if (c > top)
			abort();	/* newer than all: always taken */
		if (r.n > GOSSIP_REPLAY_WINDOW)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	init;
	uint8_t		priv_a[WG_KEY_LEN], priv_b[WG_KEY_LEN];
	uint8_t		pub_a[WG_KEY_LEN], pub_b[WG_KEY_LEN];
	uint8_t		key[GOSSIP_KEY_LEN];
	size_t		i;

	if (!init) {
		if (sodium_init() == -1)
			abort();
		/* the last one is this node's own */
		for (i = 0; i <= MESH_NPEERS; i++)
			memset(mesh_keys[i], 0x31 + i, WG_KEY_LEN);
		memset(priv_a, 1, sizeof(priv_a));
		memset(priv_b, 2, sizeof(priv_b));
		if (crypto_scalarmult_base(pub_a, priv_a) != 0 ||
		    crypto_scalarmult_base(pub_b, priv_b) != 0 ||
		    gossip_pair_key(key, priv_a, pub_a, pub_b, NULL) != 0 ||
		    gossip_pair_init(&pair_a, key, pub_a, pub_b) != 0 ||
		    gossip_pair_init(&pair_b, key, pub_b, pub_a) != 0)
			abort();
		init = 1;
	}
	if (size < 1)
		return (0);
	switch (data[0] % 5) {
	case 0:
		fuzz_open(data + 1, size - 1);
		break;
	case 1:
		fuzz_plaintext(data + 1, size - 1);
		break;
	case 2:
		fuzz_replay(data + 1, size - 1);
		break;
	case 3:
		mesh_run(data + 1, size - 1);
		break;
	case 4:
		fuzz_lan(data + 1, size - 1);
		break;
	}
	return (0);
}

/*
 * Mode 4: a LAN datagram.  What decodes must be exactly a LAN datagram's
 * length and encode back to the same bytes (a beacon whole, a sealed
 * datagram's header), and not into a smaller buffer.  And the other way:
 * a kind, a port and a key (the input's first 35 bytes) encode exactly
 * when they make a beacon (a port) or a sealed header (none), and then
 * decode back to themselves.
 */
static void
fuzz_lan(const uint8_t *data, size_t size)
{
	uint8_t		key[WG_KEY_LEN], buf[LAN_DATAGRAM_LEN];
	uint8_t		kind;
	uint16_t	port;
	ssize_t		n;
	int		valid;

	if (size >= 3 + WG_KEY_LEN) {
		kind = data[0];
		port = data[1] << 8 | data[2];
		valid = (kind == LAN_BEACON && port != 0) ||
		    (kind == LAN_SEALED && port == 0);
		memset(buf, 0xa5, sizeof(buf));
		n = lan_header_encode(buf, sizeof(buf), kind, port, data + 3);
		if ((n != -1) != valid || (valid && n != (kind == LAN_BEACON ?
		    LAN_DATAGRAM_LEN : LAN_HEADER_LEN)))
			fail("kind %u, port %u: encoded to %zd bytes", kind,
			    port, n);
		if (valid && (lan_header_decode(buf, sizeof(buf), &kind,
		    &port, key) == -1 || kind != data[0] ||
		    port != (data[1] << 8 | data[2]) ||
		    memcmp(key, data + 3, WG_KEY_LEN) != 0))
			fail("kind %u, port %u: does not decode back", data[0],
			    data[1] << 8 | data[2]);
	}
	if (lan_header_decode(data, size, &kind, &port, key) == -1)
		return;
	if (size != LAN_DATAGRAM_LEN)
		fail("a LAN datagram of %zu bytes decoded", size);
	n = lan_header_encode(buf, sizeof(buf), kind, port, key);
	if (n == -1 || memcmp(buf, data, (size_t)n) != 0)
		fail("a LAN header (kind %u, port %u) does not encode back",
		    kind, port);
	if (lan_header_encode(buf, sizeof(buf) - 1, kind, port, key) != -1)
		fail("a LAN header encoded into too small a buffer");
}

/*
 * Mode 3: the state machine, mesh.c, given payloads as if they had been
 * opened from a peer: three peers on interface 0, one on interface 1,
 * some of them up.  Input: a seed byte, a byte of which peers are up, one
 * of which the device has reported, then operations, each an op byte:
 *	bits 0-2	0: an ENDPOINTS; 1, 4: a PUNCH_REQUEST; 2, 5: a
 *			PUNCH; 3: a type of the next byte (but 0xf0: LAN
 *			discovery proves the peer at an address, see
 *			mesh_lan(); 0xf1: this node's own endpoint on the
 *			peer's interface, see mesh_self()); 6: the device
 *			reports a peer (the next byte: which, bit 2: it
 *			received something, 4-5: its handshake, 6-7: its
 *			endpoint); 7: time passes (a byte of seconds) and
 *			the mesh ticks
 *	bits 3-4	from which peer
 * and for a payload what mesh_payload() reads.  What must hold: whatever
 * is sent goes to a peer that is up (mesh_peer_is_up()), on the sender's
 * interface (ENDPOINTS only, on a tick or news from the device), and says
 * nothing of the peer it goes to, nor of any peer not on that interface
 * (but this node's own endpoints there, as set); an endpoint is set only
 * for a peer that the device reported and that is not up, unless to the
 * LAN endpoint just proven, and only a usable one; a malformed payload
 * is answered by nothing; a PUNCH is answered by nothing; a
 * PUNCH_REQUEST by at most a PUNCH to the peer it names and one entry
 * back, neither larger than the request, once a second per peer; an
 * ENDPOINTS by PUNCH_REQUESTs to its sender only.
 */

#define WIRE_INET	4	/* as gossip.c writes families */
#define WIRE_INET6	6

/* Up as mesh.c sees it: not to be disturbed, and worth gossiping to. */
static int
peer_up(const struct mesh_peer *p)
{
	return (mesh_peer_is_up(p, mesh_now));
}

/* The peer on p's interface with that key, but p itself; or NULL. */
static struct mesh_peer *
peer_named(const struct mesh_peer *p, const uint8_t key[WG_KEY_LEN])
{
	size_t	i;

	for (i = 0; i < mesh.npeers; i++)
		if (&mesh.peers[i] != p && mesh.peers[i].iface == p->iface &&
		    memcmp(mesh.peers[i].public_key, key, WG_KEY_LEN) == 0)
			return (&mesh.peers[i]);
	return (NULL);
}

static void
on_action(enum mesh_action action, struct mesh_peer *p,
    const struct imsg_set_endpoint *set, void *arg)
{
	if (p < mesh.peers || p >= mesh.peers + mesh.npeers)
		fail("an action for no peer");
	if (action == MESH_ACTION_POKE || action == MESH_ACTION_POKE_SOON)
		return;
	if (action != MESH_ACTION_SET_ENDPOINT || set == NULL)
		fail("action %d", action);
	if (set->iface != p->iface || set->peer != p->index)
		fail("an endpoint for %u/%u set on %u/%u", p->iface, p->index,
		    set->iface, set->peer);
	if (!imsg_addr_is_endpoint(&set->endpoint))
		fail("an endpoint set that is none");
	/* up, it moves only to the LAN endpoint just proven */
	if (!p->device_known || (peer_up(p) && (p != lan_peer ||
	    !imsg_addr_equal(&set->endpoint, &lan_addr))))
		fail("an endpoint set for peer %u/%u: %s", p->iface, p->index,
		    p->device_known ? "it is up" : "the device said nothing");
	nset++;
}

/* Whatever is sent must make sense to its receiver. */
static void
on_send(struct mesh_peer *to, uint8_t type, const uint8_t *buf, size_t len,
    void *arg)
{
	struct gossip_endpoint	 ep[GOSSIP_ENDPOINTS_MAX];
	struct gossip_pair	 gp;
	struct gossip_relay	 relay;
	struct sent		*s;
	uint8_t			 dg[GOSSIP_MAX_DATAGRAM_BYTES];
	size_t			 i, n = 0;

	if (to < mesh.peers || to >= mesh.peers + mesh.npeers)
		fail("sent to no peer");
	if (nsent == MESH_MAXSENT)
		fail("more than %d datagrams for one event", MESH_MAXSENT);
	/* an answer goes back through the tunnel it came by */
	if (!peer_up(to) && type != GOSSIP_MSG_ALIVE_ACK)
		fail("sent to peer %u/%u, which is not up", to->iface,
		    to->index);
	/* it can be sealed */
	gp = pair_a;
	if (gossip_seal(&gp, type, buf, len, NOW, dg, sizeof(dg)) == -1)
		fail("type %u, %zu bytes: cannot be sealed", type, len);
	s = &sent[nsent++];
	memset(s, 0, sizeof(*s));
	s->to = to;
	s->type = type;
	s->len = len;
	switch (type) {
	case GOSSIP_MSG_ENDPOINTS:
	case GOSSIP_MSG_PUNCH:
		if (gossip_endpoints_decode(buf, len, ep, type ==
		    GOSSIP_MSG_PUNCH ? 1 : GOSSIP_ENDPOINTS_MAX, &n) == -1 ||
		    n == 0)
			fail("type %u: a payload its receiver refuses", type);
		for (i = 0; i < n; i++)
			if (peer_named(to, ep[i].public_key) == NULL &&
			    (type != GOSSIP_MSG_ENDPOINTS ||
			    !self_has(to->iface, &ep[i])) &&
			    (type != GOSSIP_MSG_ENDPOINTS ||
			    memcmp(ep[i].public_key, to->public_key,
			    WG_KEY_LEN) != 0))
				fail("type %u to %u/%u: of a peer not its "
				    "neighbour", type, to->iface, to->index);
		s->ep = ep[0];
		s->nep = n;
		break;
	case GOSSIP_MSG_RELAY_REQUEST:
	case GOSSIP_MSG_RELAY_ASK:
	case GOSSIP_MSG_RELAY_ANSWER:
	case GOSSIP_MSG_DIRECT_TRIAL:
		if (gossip_relay_decode(buf, len, type, &relay) == -1)
			fail("type %u: a relay message its receiver refuses",
			    type);
		if (type != GOSSIP_MSG_DIRECT_TRIAL &&
		    peer_named(to, relay.public_key) == NULL)
			fail("type %u to %u/%u: of a peer not its neighbour",
			    type, to->iface, to->index);
		break;
	case GOSSIP_MSG_PUNCH_REQUEST:
		if (gossip_punch_request_decode(buf, len, s->key) == -1)
			fail("a PUNCH_REQUEST its receiver refuses");
		if (peer_named(to, s->key) == NULL)
			fail("a PUNCH_REQUEST to %u/%u for a peer not its "
			    "neighbour", to->iface, to->index);
		break;
	case GOSSIP_MSG_ALIVE:
	case GOSSIP_MSG_ALIVE_ACK:
		if (len != GOSSIP_ALIVE_LEN)
			fail("type %u of %zu bytes", type, len);
		break;
	default:
		fail("type %u sent", type);
	}
}

static void
put64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

/* One entry, plausible or not. */
static void
mesh_entry(struct fuzz_in *in, struct gossip_endpoint *ep)
{
	uint8_t	sel;

	memset(ep, 0, sizeof(*ep));
	sel = fuzz_u8(in);
	if (sel >= 0xf0)
		fuzz_bytes(in, ep->public_key, WG_KEY_LEN);
	else
		memcpy(ep->public_key, mesh_keys[sel % (MESH_NPEERS + 1)],
		    WG_KEY_LEN);
	sel = fuzz_u8(in);
	ep->addr.af = (sel & 1) ? AF_INET6 : AF_INET;
	ep->addr.port = (sel & 2) ? (uint16_t)(fuzz_u8(in) << 8 | fuzz_u8(in)) :
	    51820;
	if ((sel & 0x0c) == 0x0c)
		fuzz_bytes(in, ep->addr.addr, 16);
	else if (ep->addr.af == AF_INET)
		memcpy(ep->addr.addr, (uint8_t []){ 198, 51, 100,
		    sel >> 4 }, 4);
	else
		memcpy(ep->addr.addr, (uint8_t []){ 0x20, 0x01, 0x0d, 0xb8,
		    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, sel >> 4 }, 16);
	sel = fuzz_u8(in);
	ep->origin = sel < 0xf0 ? ORIGIN_OBSERVED + sel % ORIGIN_PERSISTED :
	    fuzz_u8(in);
	sel = fuzz_u8(in);
	switch (sel % 4) {
	case 0:		/* fresh */
		ep->observed = mesh_now - sel / 4;
		break;
	case 1:		/* old */
		ep->observed = mesh_now - MESH_OBS_MAX_AGE_SECONDS + 1 -
		    sel / 4;
		break;
	case 2:		/* ahead */
		ep->observed = mesh_now + MESH_OBS_FUTURE_SECONDS - sel / 8;
		break;
	default:
		fuzz_bytes(in, &ep->observed, sizeof(ep->observed));
		break;
	}
}

/* A payload of the type: made of entries or a key, or input bytes. */
static size_t
mesh_payload(struct fuzz_in *in, uint8_t type, uint8_t *buf)
{
	struct gossip_endpoint	 ep;
	uint8_t			 sel, *p;
	size_t			 len, i, n;

	sel = fuzz_u8(in);
	if (sel >= 0xe0) {
		len = ((size_t)(sel & 7) << 8 | fuzz_u8(in)) %
		    (GOSSIP_MAX_PAYLOAD_BYTES + 1);
		fuzz_bytes(in, buf, len);
		return (len);
	}
	if (type == GOSSIP_MSG_ALIVE || type == GOSSIP_MSG_ALIVE_ACK) {
		fuzz_bytes(in, buf, GOSSIP_ALIVE_LEN);
		return (GOSSIP_ALIVE_LEN);
	}
	if (type >= GOSSIP_MSG_RELAY_REQUEST &&
	    type <= GOSSIP_MSG_DIRECT_TRIAL) {
		memset(buf, 0, GOSSIP_RELAY_LEN);
		if (sel % 8 > MESH_NPEERS)
			fuzz_bytes(in, buf, WG_KEY_LEN);
		else
			memcpy(buf, mesh_keys[sel % 8], WG_KEY_LEN);
		buf[WG_KEY_LEN] = fuzz_u8(in) % 8;
		if (sel & 0x80) {
			buf[WG_KEY_LEN + 2] = fuzz_u8(in);
			buf[WG_KEY_LEN + 3] = fuzz_u8(in);
		}
		return (GOSSIP_RELAY_LEN);
	}
	if (type == GOSSIP_MSG_PUNCH_REQUEST) {
		memset(buf, 0, GOSSIP_PUNCH_REQUEST_LEN);
		if (sel % 8 > MESH_NPEERS)
			fuzz_bytes(in, buf, WG_KEY_LEN);
		else
			memcpy(buf, mesh_keys[sel % 8], WG_KEY_LEN);
		return (GOSSIP_PUNCH_REQUEST_LEN);
	}
	/* the wire format, written here, so that it may be wrong */
	n = type == GOSSIP_MSG_PUNCH && sel < 0xc0 ? 1 : sel % 8;
	buf[0] = n;
	for (i = 0, p = buf + 1; i < n; i++, p += GOSSIP_ENDPOINT_LEN) {
		mesh_entry(in, &ep);
		memcpy(p, ep.public_key, WG_KEY_LEN);
		p[32] = ep.addr.af == AF_INET ? WIRE_INET : WIRE_INET6;
		p[33] = ep.origin;
		p[34] = ep.addr.port >> 8;
		p[35] = ep.addr.port & 0xff;
		memcpy(p + 36, ep.addr.addr, 16);
		put64(p + 52, (uint64_t)ep.observed);
	}
	return (1 + n * GOSSIP_ENDPOINT_LEN);
}

/* Does one of the n entries name peer p? */
static int
entries_name(const struct gossip_endpoint *ep, size_t n,
    const struct mesh_peer *p)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (memcmp(ep[i].public_key, p->public_key, WG_KEY_LEN) == 0)
			return (1);
	return (0);
}

/* What one payload from "from" may have caused. */
static void
mesh_after(struct mesh_peer *from, uint8_t type, const uint8_t *buf,
    size_t len, int r)
{
	struct gossip_endpoint	 ep[GOSSIP_ENDPOINTS_MAX];
	struct gossip_relay	 relay;
	struct mesh_peer	*target;
	uint8_t			 key[WG_KEY_LEN];
	size_t			 i, n = 0;

	for (i = 0; i < nsent; i++)
		if (sent[i].to->iface != from->iface)
			fail("gossip from interface %u answered on %u",
			    from->iface, sent[i].to->iface);
	if (r == -1) {
		if (nsent != 0 || nset != 0)
			fail("type %u: malformed, yet answered", type);
		return;
	}
	switch (type) {
	case GOSSIP_MSG_ENDPOINTS:
		if (gossip_endpoints_decode(buf, len, ep,
		    GOSSIP_ENDPOINTS_MAX, &n) == -1)
			fail("ENDPOINTS: refused by gossip.c, taken by mesh.c");
		/* a PUNCH_REQUEST back, or an ALIVE to a peer it names */
		if (nsent > 2 * n || nset > n)
			fail("ENDPOINTS of %zu entries: %zu sent, %zu set", n,
			    nsent, nset);
		for (i = 0; i < nsent; i++) {
			if (sent[i].type == GOSSIP_MSG_ALIVE &&
			    sent[i].to != from &&
			    entries_name(ep, n, sent[i].to))
				continue;
			if (sent[i].to != from ||
			    sent[i].type != GOSSIP_MSG_PUNCH_REQUEST ||
			    sent[i].len != GOSSIP_PUNCH_REQUEST_LEN)
				fail("ENDPOINTS answered with type %u, %zu "
				    "bytes", sent[i].type, sent[i].len);
		}
		break;
	case GOSSIP_MSG_PUNCH:
		if (gossip_endpoints_decode(buf, len, ep, 1, &n) == -1 ||
		    n != 1)
			fail("PUNCH: refused by gossip.c, taken by mesh.c");
		if (nsent > 1 || nset > 1 || (nsent == 1 &&
		    (sent[0].type != GOSSIP_MSG_ALIVE || sent[0].to == from ||
		    !entries_name(ep, n, sent[0].to))))
			fail("PUNCH: %zu sent, %zu set", nsent, nset);
		break;
	case GOSSIP_MSG_ALIVE:
		if (nset != 0 || nsent != 1 || sent[0].to != from ||
		    sent[0].type != GOSSIP_MSG_ALIVE_ACK ||
		    sent[0].len != len)
			fail("ALIVE: %zu sent, %zu set", nsent, nset);
		break;
	case GOSSIP_MSG_ALIVE_ACK:
		if (nset != 0 || nsent != 0)
			fail("ALIVE_ACK: %zu sent, %zu set", nsent, nset);
		break;
	case GOSSIP_MSG_RELAY_REQUEST:
	case GOSSIP_MSG_RELAY_ASK:
	case GOSSIP_MSG_RELAY_ANSWER:
	case GOSSIP_MSG_DIRECT_TRIAL:
		if (gossip_relay_decode(buf, len, type, &relay) == -1)
			fail("relay message: refused by gossip.c, taken by "
			    "mesh.c");
		/* no answer larger than what caused it, and few */
		for (i = 0; i < nsent; i++)
			if (sent[i].len > len)
				fail("relay message of %zu bytes answered with "
				    "%zu", len, sent[i].len);
		if (nsent > 2 || nset > 1)
			fail("relay message: %zu sent, %zu set", nsent, nset);
		break;
	case GOSSIP_MSG_PUNCH_REQUEST:
		if (gossip_punch_request_decode(buf, len, key) == -1)
			fail("PUNCH_REQUEST: refused by gossip.c, taken by "
			    "mesh.c");
		for (i = 0; i < nsent; i++)
			if (sent[i].len > GOSSIP_PUNCH_REQUEST_LEN)
				fail("PUNCH_REQUEST of %d bytes answered with "
				    "%zu", GOSSIP_PUNCH_REQUEST_LEN,
				    sent[i].len);
		if (nset != 0)
			fail("PUNCH_REQUEST: an endpoint set");
		if (nsent == 0)
			break;
		target = peer_named(from, key);
		if (nsent != 2 || target == NULL ||
		    sent[0].to != target || sent[0].type != GOSSIP_MSG_PUNCH ||
		    sent[0].nep != 1 || sent[1].to != from ||
		    sent[1].type != GOSSIP_MSG_ENDPOINTS || sent[1].nep != 1)
			fail("PUNCH_REQUEST: %zu sent, not a PUNCH to the peer "
			    "named and an entry back", nsent);
		if (memcmp(sent[0].ep.public_key, from->public_key,
		    WG_KEY_LEN) != 0 ||
		    !imsg_addr_equal(&sent[0].ep.addr, &from->device.endpoint) ||
		    memcmp(sent[1].ep.public_key, target->public_key,
		    WG_KEY_LEN) != 0 ||
		    !imsg_addr_equal(&sent[1].ep.addr,
		    &target->device.endpoint))
			fail("PUNCH_REQUEST: not where the peers are seen");
		i = (size_t)(target - mesh.peers);
		if (fwd_at[i] == mesh_now)
			fail("PUNCH_REQUEST: forwarded twice in a second");
		fwd_at[i] = mesh_now;
		break;
	case GOSSIP_MSG_IDENTITY:
		/* at most our own back, to the sender, no larger */
		if (nset != 0 || nsent > 1 || (nsent == 1 &&
		    (sent[0].to != from || sent[0].type != GOSSIP_MSG_IDENTITY ||
		    sent[0].len > len)))
			fail("IDENTITY: %zu sent, %zu set", nsent, nset);
		break;
	default:
		fail("type %u taken", type);
	}
}

/* An address: one of a few on a LAN, or any. */
static void
mesh_addr(struct fuzz_in *in, struct imsg_addr *a)
{
	uint8_t	sel = fuzz_u8(in);

	memset(a, 0, sizeof(*a));
	if (sel & 0x80) {
		a->af = (sel & 1) ? AF_INET6 : (sel & 2) ? AF_INET : sel;
		a->port = (uint16_t)(fuzz_u8(in) << 8 | fuzz_u8(in));
		fuzz_bytes(in, a->addr, sel & 1 ? 16 : 4);
		/* a LAN's IPv6 one: link-local, with its interface */
		if ((sel & 0x41) == 0x41) {
			a->addr[0] = 0xfe;
			a->addr[1] = 0x80;
			a->scope = 1 + ((sel >> 2) & 3);
		}
		return;
	}
	a->af = AF_INET;
	a->port = (sel & 0x40) ? 0 : 51820 + (sel & 3);
	memcpy(a->addr, (uint8_t []){ 192, 168, 1, (sel >> 2) & 0xf }, 4);
}

/*
 * LAN discovery proves "p" at an address (lan.c, on a PONG): it is the
 * peer's LAN endpoint from now on, if it is one (and not IPv6 while an
 * IPv4 one is usable); at most one datagram is sent (an ALIVE to a peer
 * that is up, moved there on trial; on_send() checks that it is up) and
 * at most that endpoint is set, for a peer the device knows (see
 * on_action()).
 */
static void
mesh_lan(struct fuzz_in *in, struct mesh_peer *p)
{
	struct imsg_addr	a, before = p->lan;
	int64_t			at = p->lan_at;
	int			keep4;

	mesh_addr(in, &a);
	/* an IPv4 LAN endpoint still usable is kept over an IPv6 one */
	keep4 = a.af == AF_INET6 && p->lan.af == AF_INET &&
	    mesh_now - p->lan_at < MESH_LAN_FRESH_SECONDS &&
	    (p->lan_failed_at == 0 ||
	    mesh_now - p->lan_failed_at >= MESH_LAN_RETRY_SECONDS);
	lan_peer = p;
	lan_addr = a;
	mesh_lan_verified(&mesh, p, &a, mesh_now);
	lan_peer = NULL;
	if (imsg_addr_is_endpoint(&a) && !keep4 ?
	    !imsg_addr_equal(&p->lan, &a) ||
	    p->lan_at != mesh_now : !imsg_addr_equal(&p->lan, &before) ||
	    p->lan_at != at)
		fail("peer %u/%u: LAN endpoint not as proven", p->iface,
		    p->index);
	if (nsent > 1 || nset > 1)
		fail("a LAN endpoint proven: %zu sent, %zu set", nsent, nset);
}

/*
 * This node's own endpoint on an interface, of an origin (UPnP, mostly),
 * set or forgotten (an address that is none).
 */
static void
mesh_self(struct fuzz_in *in, uint32_t iface)
{
	struct imsg_addr	 a;
	uint8_t			 origin, sel;
	size_t			 i;

	sel = fuzz_u8(in);
	origin = sel < 0xf0 ? ORIGIN_UPNP :
	    ORIGIN_OBSERVED + fuzz_u8(in) % ORIGIN_PERSISTED;
	mesh_addr(in, &a);
	if (mesh_self_endpoint(&mesh, iface, mesh_keys[MESH_NPEERS], origin,
	    (sel & 1) ? NULL : &a) == -1)
		fail("mesh_self_endpoint");
	if (nsent != 0 || nset != 0)
		fail("this node's endpoint: %zu sent, %zu set", nsent, nset);
	for (i = 0; i < nself; i++)
		if (self[i].iface == iface && self[i].origin == origin)
			break;
	if ((sel & 1) || !imsg_addr_is_endpoint(&a)) {
		if (i < nself)
			self[i] = self[--nself];
		return;
	}
	if (i == nself && nself++ == MESH_NSELF)
		fail("too many endpoints of this node for the harness");
	memset(&self[i], 0, sizeof(self[i]));
	self[i].iface = iface;
	self[i].origin = origin;
	self[i].addr = a;
}

/* Is this entry one of this node's endpoints on the interface, as set? */
static int
self_has(uint32_t iface, const struct gossip_endpoint *ep)
{
	size_t	i;

	if (memcmp(ep->public_key, mesh_keys[MESH_NPEERS], WG_KEY_LEN) != 0)
		return (0);
	for (i = 0; i < nself; i++)
		if (self[i].iface == iface && self[i].origin == ep->origin &&
		    imsg_addr_equal(&self[i].addr, &ep->addr))
			return (1);
	return (0);
}

/*
 * The relay process: a pair is opened only between two peers up here on
 * one interface; paused or closed only once open; answers come at ticks.
 */
static void
on_relay(enum mesh_relay_op op, const struct mesh_relay *rp,
    const struct mesh_peer *a, const struct mesh_peer *b, void *arg)
{
	if (rp->id >= MESH_RELAY_PAIRS_MAX)
		fail("relay pair id %u", rp->id);
	switch (op) {
	case MESH_RELAY_OPEN:
		if (relay_open[rp->id] != 0)
			fail("relay pair %u opened twice", rp->id);
		if (a == NULL || b == NULL || a == b || a->iface != b->iface ||
		    !peer_up(a) || !peer_up(b))
			fail("relay pair %u between peers not both up",
			    rp->id);
		relay_open[rp->id] = 1;
		break;
	case MESH_RELAY_PAUSE:
		if (relay_open[rp->id] != 2)
			fail("relay pair %u paused, not open", rp->id);
		break;
	case MESH_RELAY_CLOSE:
		if (relay_open[rp->id] != 2)
			fail("relay pair %u closed, not open", rp->id);
		relay_open[rp->id] = 0;
		break;
	}
}

/* Four peers, some up, some heard of by the device, some configured. */
static void
mesh_setup(struct fuzz_in *in)
{
	struct mesh_peer	 conf[MESH_NPEERS];
	struct mesh_iface	 mi[2];
	struct imsg_device_peer	 dp;
	struct imsg_addr	 cand;
	uint8_t			 up, known, seed;
	size_t			 i;

	seed = fuzz_u8(in);
	up = fuzz_u8(in);
	known = fuzz_u8(in);
	mesh_now = MESH_NOW;
	nsent = nset = 0;
	memset(fwd_at, 0, sizeof(fwd_at));
	lan_peer = NULL;
	nself = 0;
	mesh_init(&mesh, on_action, on_send, NULL, seed);
	memset(relay_open, 0, sizeof(relay_open));
	if (mesh_relay_init(&mesh, on_relay, 4) == -1)
		fail("mesh_relay_init");
	memset(mi, 0, sizeof(mi));
	for (i = 0; i < 2; i++) {
		mi[i].iface = (uint32_t)i;
		mi[i].listen_port = 51820;
		mi[i].relay_offer = seed % 3;
		mi[i].relay_use = (seed & 4) == 0;
		memcpy(mi[i].public_key, mesh_keys[MESH_NPEERS], WG_KEY_LEN);
	}
	if (mesh_ifaces(&mesh, mi, 2) == -1)
		fail("mesh_ifaces");
	memset(conf, 0, sizeof(conf));
	for (i = 0; i < MESH_NPEERS; i++) {
		conf[i].iface = i < 3 ? 0 : 1;
		conf[i].index = i < 3 ? i : 0;
		snprintf(conf[i].name, sizeof(conf[i].name), "peer%zu", i);
		memcpy(conf[i].public_key, mesh_keys[i], WG_KEY_LEN);
		conf[i].address[0] = 0xfd;
		conf[i].address[15] = i + 1;
		conf[i].keepalive = 25;
		conf[i].relay_use = (seed & 8) == 0 || i != 1;
	}
	if (mesh_reconf(&mesh, conf, MESH_NPEERS) == -1)
		fail("mesh_reconf");
	for (i = 0; i < MESH_NPEERS; i++) {
		if (known & (0x10 << i)) {
			memset(&cand, 0, sizeof(cand));
			cand.af = AF_INET;
			cand.port = 51820;
			memcpy(cand.addr, (uint8_t []){ 203, 0, 113, i + 1 },
			    4);
			mesh_candidates(&mesh, &mesh.peers[i], &cand, 1,
			    ORIGIN_CONFIGURED, mesh_now);
		}
		if (((up | known) & (1 << i)) == 0)
			continue;
		memset(&dp, 0, sizeof(dp));
		dp.iface = conf[i].iface;
		dp.peer = conf[i].index;
		if (up & (1 << i))
			dp.last_handshake = mesh_now - 5 * (i + 1);
		else if (up & (0x10 << i))
			dp.last_handshake = mesh_now - 1000;
		if ((up & (1 << i)) || (up & (0x10 << i))) {
			dp.endpoint.af = AF_INET;
			dp.endpoint.port = 51820 + i;
			memcpy(dp.endpoint.addr, (uint8_t []){ 198, 18, 0,
			    i + 1 }, 4);
		}
		mesh_device(&mesh, &mesh.peers[i], &dp, mesh_now);
	}
}

static void
mesh_run(const uint8_t *data, size_t size)
{
	struct fuzz_in		 in = { data, size };
	struct imsg_device_peer	 dp;
	struct mesh_peer	*from, *p;
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES], op, type, sel;
	uint64_t		 received = 0;
	size_t			 len, ops;
	int			 r;

	mesh_setup(&in);
	for (ops = 0; ops < MESH_MAXOPS && in.len > 0; ops++) {
		op = fuzz_u8(&in);
		from = &mesh.peers[(op >> 3) % MESH_NPEERS];
		nsent = nset = 0;
		switch (op & 7) {
		case 6:
			sel = fuzz_u8(&in);
			p = &mesh.peers[sel % MESH_NPEERS];
			dp = p->device;
			dp.iface = p->iface;
			dp.peer = p->index;
			dp.last_handshake = (sel & 0x10) ? mesh_now - (sel >> 5) :
			    (sel & 0x20) ? mesh_now - 200 : 0;
			if (sel & 0x04)
				dp.rx_bytes++;	/* something came */
			if (sel & 0x40) {
				dp.endpoint.af = AF_INET;
				dp.endpoint.port = 40000 + (sel >> 7);
				memcpy(dp.endpoint.addr,
				    (uint8_t []){ 198, 18, 1, sel % 4 }, 4);
			}
			mesh_device(&mesh, p, &dp, mesh_now);
			/*
			 * a quiet peer may be asked, a relay asked or
			 * left, a trial begun; pushes wait
			 */
			for (len = 0; len < nsent; len++)
				if (sent[len].type != GOSSIP_MSG_ALIVE &&
				    sent[len].type != GOSSIP_MSG_RELAY_REQUEST &&
				    sent[len].type != GOSSIP_MSG_DIRECT_TRIAL)
					fail("the device's news sent type %u",
					    sent[len].type);
			/* a peer that came up or moved is news */
			mesh_flush(&mesh, mesh_now);
			for (len = 0; len < nsent; len++)
				if (sent[len].type != GOSSIP_MSG_ENDPOINTS &&
				    sent[len].type != GOSSIP_MSG_ALIVE &&
				    sent[len].type != GOSSIP_MSG_RELAY_REQUEST &&
				    sent[len].type != GOSSIP_MSG_DIRECT_TRIAL)
					fail("the device's news sent type %u",
					    sent[len].type);
			continue;
		case 7:
			sel = fuzz_u8(&in);
			mesh_now += sel;
			/* the relay process answers what it was asked */
			for (len = 0; len < MESH_RELAY_PAIRS_MAX; len++) {
				if (relay_open[len] != 1)
					continue;
				relay_open[len] = (sel & 1) ? 0 : 2;
				mesh_relay_opened(&mesh, (uint32_t)len,
				    (const uint16_t [2]){ 51900, 51901 },
				    (sel & 1) ? 28 : 0, mesh_now);
			}
			mesh_tick(&mesh, mesh_now);
			for (len = 0; len < nsent; len++)
				if (sent[len].type != GOSSIP_MSG_ENDPOINTS &&
				    sent[len].type != GOSSIP_MSG_ALIVE &&
				    (sent[len].type < GOSSIP_MSG_RELAY_REQUEST ||
				    sent[len].type > GOSSIP_MSG_DIRECT_TRIAL))
					fail("a tick sent type %u",
					    sent[len].type);
			continue;
		case 3:
			type = fuzz_u8(&in);
			if (type == 0xf0) {
				mesh_lan(&in, from);
				continue;
			}
			if (type == 0xf1) {
				mesh_self(&in, from->iface);
				continue;
			}
			break;
		case 5:
			type = (op & 0x80) ? GOSSIP_MSG_ALIVE_ACK :
			    GOSSIP_MSG_ALIVE;
			break;
		default:
			type = (op & 7) % 3 == 0 ? GOSSIP_MSG_ENDPOINTS :
			    (op & 7) % 3 == 1 ? GOSSIP_MSG_PUNCH_REQUEST :
			    GOSSIP_MSG_PUNCH;
			break;
		}
		len = mesh_payload(&in, type, buf);
		r = mesh_receive(&mesh, from, type, buf, len, mesh_now);
		received++;
		if (r != 0 && r != -1)
			fail("mesh_receive: %d", r);
		mesh_after(from, type, buf, len, r);
		if (mesh.stats.rx + mesh.stats.rx_bad != received)
			fail("%llu received, %llu counted",
			    (unsigned long long)received, (unsigned long long)
			    (mesh.stats.rx + mesh.stats.rx_bad));
	}
	mesh_clear(&mesh);
}
