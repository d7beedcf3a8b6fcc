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
 * The relay process (relay.c) and its datagram classifier and pair state
 * (relay_wire.c, no I/O: the unit test and the fuzz target drive it).
 */

#ifndef RELAY_H
#define RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "proto.h"

/* the configuration's defaults and bounds (parse.y, conf.c) */
#define RELAY_PORT_LOW_DEFAULT	51900
#define RELAY_PORT_HIGH_DEFAULT	51931
#define RELAY_PORTS_MAX		(2 * RELAY_PAIRS_MAX)	/* in the range */
#define RELAY_MAX_PAIRS_DEFAULT	16
#define RELAY_RATE_MBIT_DEFAULT	1000	/* per pair, each way */
#define RELAY_RATE_MBIT_MAX	100000
#define RELAY_PACKET_RATE_DEFAULT 100000 /* per pair, each way, per s */
#define RELAY_PACKET_RATE_MAX	10000000

#define RELAY_REPLAY_RING	32	/* initiations remembered per pair */
#define RELAY_CANDIDATE_MS	200	/* one new address per leg this often */
#define RELAY_BURST_MS		100	/* a bucket holds this long's worth */
#define RELAY_STATE_MS		1000	/* reports to the engine */

/* WireGuard's messages, as the relay tells them apart */
#define WG_MSG_INITIATION	1
#define WG_MSG_RESPONSE		2
#define WG_MSG_COOKIE		3
#define WG_MSG_DATA		4
#define WG_INITIATION_LEN	148
#define WG_RESPONSE_LEN		92
#define WG_COOKIE_LEN		64
#define WG_DATA_MIN_LEN		32
#define WG_MAC_LEN		16
/* where mac1 starts: the message less mac1 and mac2 */
#define WG_INITIATION_MAC1	(WG_INITIATION_LEN - 2 * WG_MAC_LEN)
#define WG_RESPONSE_MAC1	(WG_RESPONSE_LEN - 2 * WG_MAC_LEN)

/*
 * An address as the relay's dual-stack sockets see it: IPv6, IPv4 as
 * ::ffff:a.b.c.d; the scope of a link-local address.
 */
struct relay_addr {
	uint8_t			 addr[16];
	uint32_t		 scope;
	uint16_t		 port;		/* host byte order */
	uint8_t			 pad[2];
};

/* a token bucket, in thousandths of a packet or a byte */
struct relay_bucket {
	uint64_t		 tokens;
	uint64_t		 rate;		/* per second, whole ones */
	int64_t			 at_ms;		/* last filled */
};

/* One side of a pair: the end that sends to this leg's port. */
struct relay_leg {
	int			 latched;
	struct relay_addr	 addr;
	int			 has_expect;	/* the address alone counts */
	struct relay_addr	 expect;
	/* an initiation from elsewhere, waiting for its answer */
	int			 has_candidate;
	struct relay_addr	 candidate;
	uint32_t		 candidate_sender;	/* its sender index */
	int64_t			 candidate_ms;		/* when, for the limit */
	/* forwarded from this leg */
	uint64_t		 packets;
	uint64_t		 bytes;
	int64_t			 last_ms;	/* -1: never */
	struct relay_bucket	 packet_bucket;
	struct relay_bucket	 byte_bucket;
};

struct relay_pair {
	uint32_t		 id;
	/*
	 * The key of mac1 in a message to end i: HASH("mac1----" ||
	 * public_key[i]), so a message arriving on leg i is checked with
	 * mac1_key[1 - i].
	 */
	uint8_t			 mac1_key[2][32];
	struct relay_leg	 leg[2];
	uint8_t			 seen[RELAY_REPLAY_RING][WG_MAC_LEN];
	size_t			 nseen;
	size_t			 seen_next;
	int64_t			 paused_until_ms;
};

enum relay_verdict {
	RELAY_FORWARD,		/* out of the other leg's port, to *dst */
	RELAY_DROP_JUNK,
	RELAY_DROP_WRONG_PEER,
	RELAY_DROP_UNEXPECTED,
	RELAY_DROP_REPLAY,
	RELAY_DROP_UNLATCHED,
	RELAY_DROP_PAUSED,
	RELAY_DROP_RATE,
};

/* relay_wire.c */
void	 relay_pair_init(struct relay_pair *, const struct imsg_relay_open *,
	    uint64_t, uint64_t, int64_t);
void	 relay_pair_expect(struct relay_pair *, const struct imsg_addr [2]);
void	 relay_pair_pause(struct relay_pair *, uint32_t, int64_t);
int	 relay_pair_paused(const struct relay_pair *, int64_t);
enum relay_verdict relay_classify(struct relay_pair *, int,
	    const struct relay_addr *, const uint8_t *, size_t, int64_t,
	    struct relay_addr *, int *);
void	 relay_count(struct relay_counters *, enum relay_verdict, size_t);
void	 relay_pair_state(const struct relay_pair *, int64_t,
	    struct imsg_relay_state *);
int	 relay_addr_from_imsg(struct relay_addr *, const struct imsg_addr *);
void	 relay_addr_to_imsg(struct imsg_addr *, const struct relay_addr *);
int	 relay_addr_equal(const struct relay_addr *, const struct relay_addr *);
int	 relay_addr_same_host(const struct relay_addr *,
	    const struct relay_addr *);
void	 relay_mac1_key(uint8_t [32], const uint8_t [32]);
int	 relay_mac1_valid(const uint8_t [32], const uint8_t *, size_t);

/* relay.c: the process, started by the parent as wgmeshd -R */
struct relay_params {
	uint16_t		 port_low;
	uint16_t		 port_high;
	uint32_t		 max_pairs;
	uint32_t		 rate_mbit;
	uint32_t		 packet_rate;
};

__dead void	 relay(int, int, const char *, const struct relay_params *);
int		 relay_params_parse(struct relay_params *, char *[], int);

#endif /* RELAY_H */
