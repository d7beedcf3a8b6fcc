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
 * What nodes send each other: gossip inside the tunnel and LAN discovery
 * on the underlay (gossip.c, lan.c's header), the engine's alone; the
 * parent only derives the pair keys (gossip_pair_key()).
 */

#ifndef WIRE_H
#define WIRE_H

#include <sys/types.h>

#include <stdint.h>

#include "proto.h"
#include "util.h"

/*
 * gossip.c: gossip datagrams with no I/O (see the comment at its top).
 * Gossip runs inside the tunnel, over IPv6, so a datagram fits the
 * tunnel's MTU (1420) less an IPv6 (40) and a UDP (8) header.
 */
#define GOSSIP_VERSION		2	/* 2: the nonce prefix in the header */
#define GOSSIP_KEY_LEN		32
#define GOSSIP_SECRET_LEN	32
#define GOSSIP_PREFIX_LEN	15	/* random, per pair set-up */
#define GOSSIP_HEADER_LEN	25	/* version, type, prefix, counter */
#define GOSSIP_TAG_LEN		16	/* Poly1305 */
#define GOSSIP_MAX_DATAGRAM_BYTES (1420 - 40 - 8)
#define GOSSIP_MAX_PAYLOAD_BYTES	(GOSSIP_MAX_DATAGRAM_BYTES - \
				    GOSSIP_HEADER_LEN - \
				    GOSSIP_TAG_LEN)
#define GOSSIP_FRESH_US		(120 * 1000000ULL)	/* either way */
#define GOSSIP_REPLAY_WINDOW	64	/* counters remembered per sender */
#define GOSSIP_PING_NONCE_LEN	16
#define GOSSIP_PING_LEN		(GOSSIP_PING_NONCE_LEN + 22)	/* gossip.c */
#define GOSSIP_ENDPOINT_LEN	60	/* one ENDPOINTS entry on the wire */
#define GOSSIP_ENDPOINTS_MAX	\
	((GOSSIP_MAX_PAYLOAD_BYTES - 1) / GOSSIP_ENDPOINT_LEN)	/* 22 */

enum gossip_msg {
	GOSSIP_MSG_PING = 1,	/* a nonce, where it was sent */
	GOSSIP_MSG_PONG,	/* the PING's nonce, echoed; whence */
	GOSSIP_MSG_ENDPOINTS,	/* where others see peers */
	GOSSIP_MSG_PUNCH_REQUEST, /* "tell this peer I am trying it" */
	GOSSIP_MSG_PUNCH,	/* "this peer is trying you, from here" */
	GOSSIP_MSG_ALIVE,	/* "are you there?", in the tunnel */
	GOSSIP_MSG_ALIVE_ACK,	/* the ALIVE's token, echoed */
	GOSSIP_MSG_RELAY_REQUEST, /* end to relay: relay me to this peer
				   (or pause for a direct trial, or done) */
	GOSSIP_MSG_RELAY_ASK,	/* relay to end: this peer asks to be
				   relayed to you */
	GOSSIP_MSG_RELAY_ANSWER, /* relay to end: your port, or why not */
	GOSSIP_MSG_DIRECT_TRIAL, /* end to end: try me directly now */
	GOSSIP_MSG_IDENTITY,	/* who I am, who you are to me (identity.c) */
};
#define GOSSIP_MSG_LAST		GOSSIP_MSG_IDENTITY

#define GOSSIP_ALIVE_LEN	8	/* ALIVE and ALIVE_ACK: a token */

/* PUNCH_REQUEST: a public key, padded to the size of what it causes */
#define GOSSIP_PUNCH_REQUEST_LEN	(1 + GOSSIP_ENDPOINT_LEN)

/*
 * The relay messages (mesh.c, rules 14 to 18): one layout for all four,
 * so that no answer is larger than what caused it.  The key names the
 * other end of the pair (REQUEST, ANSWER), the end that asks (ASK), or
 * is zero (DIRECT_TRIAL); the code is an enum relay_op, relay_answer or
 * trial_op; the port is the relay's port for the receiver (ANSWER) or
 * the sender's WireGuard listen port (DIRECT_TRIAL), else zero.
 */
#define GOSSIP_RELAY_LEN	(WG_KEY_LEN + 4)	/* key, code, 0, port */

enum relay_op {
	RELAY_OP_WANT = 1,	/* relay me to it; again every few seconds */
	RELAY_OP_PAUSE,		/* drop our pair's datagrams: a direct trial */
	RELAY_OP_DONE,		/* no longer needed (or not wanted: ASK) */
};

enum relay_answer {
	RELAY_ANSWER_OK = 1,	/* the port is yours */
	RELAY_ANSWER_WAITING,	/* the other end was asked */
	RELAY_ANSWER_NOT_OFFERED, /* this node does not relay */
	RELAY_ANSWER_NOT_UP,	/* it is not connected to both ends */
	RELAY_ANSWER_FULL,	/* no pair or port free */
	RELAY_ANSWER_CLOSED,	/* the pair ended (the other end left) */
	RELAY_ANSWER_MAX
};

enum trial_op {
	TRIAL_OP_START = 1,	/* I try you directly now; do the same */
	TRIAL_OP_ACK,		/* so do I */
};

/*
 * IDENTITY (identity.c, which has its wire form): what a node tells a peer
 * of itself and of the peer, to be compared with the peer's own file.
 */
#define IDENTITY_WANT		0x01	/* flags: send me yours */
#define IDENTITY_PREFIX_LEN_MAX	18	/* family, length, 16 bytes */
#define IDENTITY_LEN_MAX	(1 + 2 * IMSG_NAME_MAX + WG_KEY_LEN + \
				    2 * (1 + IMSG_PREFIXES_MAX * \
				    IDENTITY_PREFIX_LEN_MAX))	/* 739 */

struct identity {
	char			 name[IMSG_NAME_MAX];	/* the sender's */
	char			 peer_name[IMSG_NAME_MAX]; /* the receiver's */
	uint8_t			 public_key[WG_KEY_LEN]; /* the sender's */
	struct imsg_prefix	 addresses[IMSG_PREFIXES_MAX]; /* its own */
	struct imsg_prefix	 routed[IMSG_PREFIXES_MAX]; /* to the receiver */
	uint8_t			 naddresses;
	uint8_t			 addresses_more;
	uint8_t			 nrouted;
	uint8_t			 routed_more;
};

struct gossip_relay {
	uint8_t			 public_key[WG_KEY_LEN];
	uint8_t			 code;
	uint16_t		 port;
};

/* gossip_open()'s verdicts; a receiver counts drops by them */
enum gossip_result {
	GOSSIP_OK,
	GOSSIP_E_SHORT,
	GOSSIP_E_LONG,
	GOSSIP_E_VERSION,
	GOSSIP_E_TYPE,
	GOSSIP_E_AUTH,
	GOSSIP_E_REPLAY,
	GOSSIP_E_STALE,
	GOSSIP_E_NOSPACE,	/* the caller's buffer, not the datagram */
	GOSSIP_E_MAX
};


struct gossip_replay {
	uint64_t		 seen[GOSSIP_REPLAY_WINDOW];
	size_t			 n;
};

struct gossip_pair {
	uint8_t			 key[GOSSIP_KEY_LEN];
	uint8_t			 send_dir;	/* nonce bit; the peer's: ^1 */
	uint8_t			 send_prefix[GOSSIP_PREFIX_LEN];
	uint64_t		 send_last;	/* last counter sent */
	struct gossip_replay	 replay;	/* counters received */
};

struct gossip_endpoint {
	uint8_t			 public_key[WG_KEY_LEN];
	struct imsg_addr	 addr;
	int64_t			 observed;	/* realtime seconds */
	uint8_t			 origin;	/* enum endpoint_origin */
	uint8_t			 heard;		/* 1: passed on, not seen */
};

int	 gossip_pair_key(uint8_t [GOSSIP_KEY_LEN], const uint8_t [WG_KEY_LEN],
	    const uint8_t [WG_KEY_LEN], const uint8_t [WG_KEY_LEN],
	    const uint8_t *);
int	 gossip_pair_init(struct gossip_pair *, const uint8_t [GOSSIP_KEY_LEN],
	    const uint8_t [WG_KEY_LEN], const uint8_t [WG_KEY_LEN]);
void	 gossip_pair_clear(struct gossip_pair *);
ssize_t	 gossip_seal(struct gossip_pair *, uint8_t, const void *, size_t,
	    int64_t, uint8_t *, size_t);
int	 gossip_open(struct gossip_pair *, const uint8_t *, size_t, int64_t,
	    uint8_t *, uint8_t *, size_t, size_t *);
const char *gossip_result_name(int);
uint64_t *gossip_result_counter(struct gossip_counters *, int);
int	 gossip_replay_check(const struct gossip_replay *, uint64_t);
void	 gossip_replay_update(struct gossip_replay *, uint64_t);
ssize_t	 gossip_endpoints_encode(uint8_t *, size_t,
	    const struct gossip_endpoint *, size_t, size_t *);
int	 gossip_endpoints_decode(const uint8_t *, size_t,
	    struct gossip_endpoint *, size_t, size_t *);
int	 gossip_endpoint_valid(const struct gossip_endpoint *);
ssize_t	 gossip_ping_encode(uint8_t *, size_t,
	    const uint8_t [GOSSIP_PING_NONCE_LEN], uint16_t,
	    const struct imsg_addr *);
int	 gossip_ping_decode(const uint8_t *, size_t,
	    uint8_t [GOSSIP_PING_NONCE_LEN], uint16_t *, struct imsg_addr *);

/*
 * LAN datagrams, on the underlay's gossip port: a header naming the
 * sender, then for PING and PONG a sealed gossip datagram.  A BEACON is
 * the header and zeroes, exactly as long as a PING, so that the PING it
 * may cause is never larger than what caused it.
 */
#define LAN_MAGIC		"wgmL"
#define LAN_BEACON_SECONDS	10	/* a beacon, and the links checked */
#define LAN_HEADER_LEN		40	/* magic, kind, 0, port, key */
#define LAN_DATAGRAM_LEN	(LAN_HEADER_LEN + GOSSIP_HEADER_LEN + \
				    GOSSIP_PING_LEN + GOSSIP_TAG_LEN)
enum lan_kind {
	LAN_BEACON = 1,		/* "this node listens on port N here" */
	LAN_SEALED,		/* a PING or PONG under the pair key */
};

ssize_t	 lan_header_encode(uint8_t *, size_t, uint8_t, uint16_t,
	    const uint8_t [WG_KEY_LEN]);
int	 lan_header_decode(const uint8_t *, size_t, uint8_t *, uint16_t *,
	    uint8_t [WG_KEY_LEN]);
ssize_t	 gossip_punch_request_encode(uint8_t *, size_t,
	    const uint8_t [WG_KEY_LEN]);
int	 gossip_punch_request_decode(const uint8_t *, size_t,
	    uint8_t [WG_KEY_LEN]);
ssize_t	 gossip_relay_encode(uint8_t *, size_t, const struct gossip_relay *);
int	 gossip_relay_decode(const uint8_t *, size_t, uint8_t,
	    struct gossip_relay *);

/* identity.c */
ssize_t	 identity_encode(uint8_t *, size_t, const struct identity *, int);
int	 identity_decode(const uint8_t *, size_t, struct identity *, int *);
int	 identity_check(const struct identity *, const struct identity *,
	    char *, size_t);

#endif /* WIRE_H */
