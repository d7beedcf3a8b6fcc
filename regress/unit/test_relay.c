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
 * relay_wire.c: the relay's classifier and pair state, with crafted
 * WireGuard messages whose mac1 is computed here with libb2 as WireGuard
 * computes it (HASH("mac1----" || receiver's public key) as the key of a
 * keyed BLAKE2s-128 over the message up to mac1).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <string.h>

#include <blake2.h>

#include "relay.h"
#include "regress.h"

static void	 mac1(uint8_t *, size_t, const uint8_t [32]);
static size_t	 initiation(uint8_t *, uint32_t, uint8_t, const uint8_t [32]);
static size_t	 response(uint8_t *, uint32_t, uint32_t, const uint8_t [32]);
static size_t	 data(uint8_t *, size_t);
static struct relay_addr addr4(uint8_t, uint16_t);
static void	 pair_open(struct relay_pair *, int, uint64_t, uint64_t);
static void	 pair_up(struct relay_pair *, uint64_t, uint64_t);
static enum relay_verdict in(struct relay_pair *, int,
		    const struct relay_addr *, const uint8_t *, size_t,
		    int64_t);
static void	 test_mac1(void);
static void	 test_junk(void);
static void	 test_latch(void);
static void	 test_expect(void);
static void	 test_replay(void);
static void	 test_relatch(void);
static void	 test_candidate_rate(void);
static void	 test_pause(void);
static void	 test_rates(void);
static void	 test_state(void);

static uint8_t		 key[2][32];	/* the ends' public keys */
static struct relay_addr dst;
static int		 latched;

/* WireGuard's mac1 of the len - 32 bytes before it, for public key pk. */
static void
mac1(uint8_t *msg, size_t len, const uint8_t pk[32])
{
	uint8_t	in8[40], k[32];

	memcpy(in8, "mac1----", 8);
	memcpy(in8 + 8, pk, 32);
	blake2s(k, in8, NULL, 32, sizeof(in8), 0);
	blake2s(msg + len - 32, msg, k, 16, len - 32, 32);
	memset(msg + len - 16, 0, 16);		/* mac2: no cookie */
}

/* An initiation to the holder of pk; "fill" makes it unique. */
static size_t
initiation(uint8_t *msg, uint32_t sender, uint8_t fill, const uint8_t pk[32])
{
	memset(msg, fill, WG_INITIATION_LEN);
	msg[0] = 1;
	msg[1] = msg[2] = msg[3] = 0;
	memcpy(msg + 4, &sender, 4);		/* little-endian host */
	mac1(msg, WG_INITIATION_LEN, pk);
	return (WG_INITIATION_LEN);
}

static size_t
response(uint8_t *msg, uint32_t sender, uint32_t receiver,
    const uint8_t pk[32])
{
	memset(msg, 0x5a, WG_RESPONSE_LEN);
	msg[0] = 2;
	msg[1] = msg[2] = msg[3] = 0;
	memcpy(msg + 4, &sender, 4);
	memcpy(msg + 8, &receiver, 4);
	mac1(msg, WG_RESPONSE_LEN, pk);
	return (WG_RESPONSE_LEN);
}

static size_t
data(uint8_t *msg, size_t len)
{
	memset(msg, 0x77, len);
	msg[0] = 4;
	msg[1] = msg[2] = msg[3] = 0;
	return (len);
}

/* 198.18.0.host:port, as a dual-stack socket sees it */
static struct relay_addr
addr4(uint8_t host, uint16_t port)
{
	struct relay_addr	 a;

	memset(&a, 0, sizeof(a));
	a.addr[10] = a.addr[11] = 0xff;
	a.addr[12] = 198;
	a.addr[13] = 18;
	a.addr[15] = host;
	a.port = port;
	return (a);
}

/* A pair; "expect": end 0 expected at .10, end 1 at .11. */
static void
pair_open(struct relay_pair *p, int expect, uint64_t pps, uint64_t bps)
{
	struct imsg_relay_open	 ro;
	int			 i;

	memset(&ro, 0, sizeof(ro));
	ro.id = 7;
	memcpy(ro.public_key, key, sizeof(key));
	for (i = 0; expect && i < 2; i++) {
		ro.expect[i].af = AF_INET;
		ro.expect[i].addr[0] = 198;
		ro.expect[i].addr[1] = 18;
		ro.expect[i].addr[3] = 10 + i;
		ro.expect[i].port = 1;	/* the port is not compared */
	}
	relay_pair_init(p, &ro, pps, bps, 1000);
}

static enum relay_verdict
in(struct relay_pair *p, int leg, const struct relay_addr *src,
    const uint8_t *buf, size_t len, int64_t now)
{
	memset(&dst, 0, sizeof(dst));
	return (relay_classify(p, leg, src, buf, len, now, &dst, &latched));
}

static void
test_mac1(void)
{
	uint8_t	 msg[WG_INITIATION_LEN], k[32];

	TEST("relay: mac1 under the receiver's public key");
	initiation(msg, 1, 0x11, key[1]);
	relay_mac1_key(k, key[1]);
	CHECK(relay_mac1_valid(k, msg, WG_INITIATION_MAC1), "valid");
	relay_mac1_key(k, key[0]);
	CHECK(!relay_mac1_valid(k, msg, WG_INITIATION_MAC1),
	    "valid for the wrong key");
	relay_mac1_key(k, key[1]);
	msg[50] ^= 1;
	CHECK(!relay_mac1_valid(k, msg, WG_INITIATION_MAC1),
	    "valid when changed");
}

static void
test_junk(void)
{
	struct relay_pair	 p;
	struct relay_addr	 a = addr4(10, 5000);
	uint8_t			 msg[2048];

	TEST("relay: junk by type, reserved bytes and size");
	pair_open(&p, 0, 1000, 1000000);
	memset(msg, 0, sizeof(msg));
	CHECK(in(&p, 0, &a, msg, 0, 1000) == RELAY_DROP_JUNK, "empty");
	CHECK(in(&p, 0, &a, msg, 3, 1000) == RELAY_DROP_JUNK, "short");
	initiation(msg, 1, 1, key[1]);
	CHECK(in(&p, 0, &a, msg, 147, 1000) == RELAY_DROP_JUNK, "147");
	CHECK(in(&p, 0, &a, msg, 149, 1000) == RELAY_DROP_JUNK, "149");
	msg[2] = 1;
	CHECK(in(&p, 0, &a, msg, 148, 1000) == RELAY_DROP_JUNK, "reserved");
	data(msg, 48);
	CHECK(in(&p, 0, &a, msg, 31, 1000) == RELAY_DROP_JUNK, "data 31");
	/*
	 * WireGuard pads the plaintext to 16 bytes, but not past the MTU:
	 * a full datagram (1420 + 32) is data (here from no latched leg)
	 */
	CHECK(in(&p, 0, &a, msg, 1452, 1000) == RELAY_DROP_UNLATCHED,
	    "data 1452");
	CHECK(in(&p, 0, &a, msg, 16, 1000) == RELAY_DROP_JUNK, "data 16");
	msg[0] = 5;
	CHECK(in(&p, 0, &a, msg, 48, 1000) == RELAY_DROP_JUNK, "type 5");
	msg[0] = 3;
	CHECK(in(&p, 0, &a, msg, 63, 1000) == RELAY_DROP_JUNK, "cookie 63");
	CHECK(!p.leg[0].latched && !p.leg[1].latched, "latched on junk");
}

static void
test_latch(void)
{
	struct relay_pair	 p;
	struct relay_addr	 a0 = addr4(10, 5000), a1 = addr4(11, 6000);
	struct relay_addr	 a2 = addr4(12, 7000);
	uint8_t			 msg[2048];
	size_t			 n;

	TEST("relay: latching on genuine initiations, data both ways");
	pair_open(&p, 0, 1000, 1000000);
	n = data(msg, 64);
	CHECK(in(&p, 0, &a0, msg, n, 1000) == RELAY_DROP_UNLATCHED,
	    "data before latching");
	/* an initiation from end 0 is for end 1: key[1] */
	n = initiation(msg, 100, 1, key[0]);
	CHECK(in(&p, 0, &a0, msg, n, 1000) == RELAY_DROP_WRONG_PEER,
	    "mac1 for the sender's own key");
	CHECK(!p.leg[0].latched, "latched on a wrong peer");
	n = initiation(msg, 100, 2, key[1]);
	CHECK(in(&p, 0, &a0, msg, n, 1000) == RELAY_DROP_UNLATCHED &&
	    latched, "first initiation: latch, nowhere to send");
	CHECK(p.leg[0].latched && relay_addr_equal(&p.leg[0].addr, &a0),
	    "leg 0 at end 0");
	n = initiation(msg, 200, 3, key[0]);
	CHECK(in(&p, 1, &a1, msg, n, 1000) == RELAY_FORWARD && latched &&
	    relay_addr_equal(&dst, &a0), "end 1's initiation to end 0");
	n = response(msg, 101, 200, key[1]);
	CHECK(in(&p, 0, &a0, msg, n, 1001) == RELAY_FORWARD &&
	    relay_addr_equal(&dst, &a1), "end 0's response to end 1");
	n = data(msg, 1440);
	CHECK(in(&p, 0, &a0, msg, n, 1002) == RELAY_FORWARD &&
	    relay_addr_equal(&dst, &a1), "data 0 -> 1");
	CHECK(in(&p, 1, &a1, msg, n, 1002) == RELAY_FORWARD &&
	    relay_addr_equal(&dst, &a0), "data 1 -> 0");
	n = data(msg, 32);
	CHECK(in(&p, 1, &a1, msg, n, 1002) == RELAY_FORWARD,
	    "a keepalive, 32 bytes");

	TEST("relay: nothing from an address not latched");
	n = data(msg, 64);
	CHECK(in(&p, 0, &a2, msg, n, 1003) == RELAY_DROP_UNLATCHED,
	    "data from a third address");
	a0.port++;
	CHECK(in(&p, 0, &a0, msg, n, 1003) == RELAY_DROP_UNLATCHED,
	    "data from another port");
	a0.port--;
	n = response(msg, 102, 200, key[1]);
	CHECK(in(&p, 0, &a2, msg, n, 1003) == RELAY_DROP_UNLATCHED,
	    "a response from a third address");
	memset(msg, 0, 64);
	msg[0] = 3;
	CHECK(in(&p, 1, &a2, msg, 64, 1003) == RELAY_DROP_UNLATCHED,
	    "a cookie reply from a third address");
	CHECK(in(&p, 1, &a1, msg, 64, 1003) == RELAY_FORWARD &&
	    relay_addr_equal(&dst, &a0), "a cookie reply from end 1");
	n = response(msg, 102, 200, key[0]);
	CHECK(in(&p, 0, &a0, msg, n, 1003) == RELAY_DROP_WRONG_PEER,
	    "a response from end 0 with mac1 for end 0");
}

static void
test_expect(void)
{
	struct relay_pair	 p;
	struct relay_addr	 a0 = addr4(10, 5000), a2 = addr4(12, 5000);
	struct imsg_addr	 none[2];
	uint8_t			 msg[WG_INITIATION_LEN];
	size_t			 n;

	TEST("relay: an unlatched leg latches only the expected address");
	pair_open(&p, 1, 1000, 1000000);
	n = initiation(msg, 1, 1, key[1]);
	CHECK(in(&p, 0, &a2, msg, n, 1000) == RELAY_DROP_UNEXPECTED &&
	    !p.leg[0].latched, "from a stranger");
	n = initiation(msg, 1, 2, key[1]);
	a0.port = 40000;	/* the NAT's new port for the relay */
	CHECK(in(&p, 0, &a0, msg, n, 1000) == RELAY_DROP_UNLATCHED &&
	    p.leg[0].latched, "the expected address, any port");

	TEST("relay: EXPECT cleared: any address latches");
	pair_open(&p, 1, 1000, 1000000);
	memset(none, 0, sizeof(none));
	relay_pair_expect(&p, none);
	n = initiation(msg, 1, 3, key[1]);
	CHECK(in(&p, 0, &a2, msg, n, 1000) == RELAY_DROP_UNLATCHED &&
	    p.leg[0].latched, "not latched");
}

/* Both legs latched: end 0 at .10:5000, end 1 at .11:6000. */
static void
pair_up(struct relay_pair *p, uint64_t pps, uint64_t bps)
{
	struct relay_addr	 a0 = addr4(10, 5000), a1 = addr4(11, 6000);
	uint8_t			 msg[WG_INITIATION_LEN];

	pair_open(p, 0, pps, bps);
	in(p, 0, &a0, msg, initiation(msg, 100, 0xa0, key[1]), 1000);
	in(p, 1, &a1, msg, initiation(msg, 200, 0xa1, key[0]), 1000);
}

static void
test_replay(void)
{
	struct relay_pair	 p;
	struct relay_addr	 a0 = addr4(10, 5000), a1 = addr4(11, 6000);
	struct relay_addr	 a2 = addr4(12, 7000);
	uint8_t			 msg[WG_INITIATION_LEN], old[WG_INITIATION_LEN];
	size_t			 n;
	int			 i;

	TEST("relay: a replayed initiation, from anywhere, is dropped");
	pair_up(&p, 100000, 100000000);
	n = initiation(old, 300, 0x33, key[1]);
	CHECK(in(&p, 0, &a0, old, n, 2000) == RELAY_FORWARD, "genuine");
	CHECK(in(&p, 0, &a2, old, n, 3000) == RELAY_DROP_REPLAY,
	    "replayed from a third address");
	CHECK(!p.leg[0].has_candidate, "a replay became a candidate");
	CHECK(in(&p, 0, &a0, old, n, 3000) == RELAY_DROP_REPLAY,
	    "replayed from end 0's address");
	/* the answer to the genuine one: no candidate, no move */
	n = response(msg, 400, 300, key[0]);
	CHECK(in(&p, 1, &a1, msg, n, 3001) == RELAY_FORWARD &&
	    relay_addr_equal(&dst, &a0) &&
	    relay_addr_equal(&p.leg[0].addr, &a0), "leg 0 stays");

	TEST("relay: the ring holds the last RELAY_REPLAY_RING");
	for (i = 0; i < RELAY_REPLAY_RING - 1; i++)
		in(&p, 0, &a0, msg, initiation(msg, 500 + i, 0x40 + i,
		    key[1]), 4000);
	n = initiation(old, 300, 0x33, key[1]);
	CHECK(in(&p, 0, &a2, old, n, 5000) == RELAY_DROP_REPLAY,
	    "the oldest forgotten too early");
}

static void
test_relatch(void)
{
	struct relay_pair	 p;
	struct relay_addr	 a0 = addr4(10, 5000), a1 = addr4(11, 6000);
	struct relay_addr	 a2 = addr4(12, 7000), a3 = addr4(10, 5001);
	uint8_t			 msg[WG_INITIATION_LEN];
	size_t			 n;

	TEST("relay: a forged initiation (valid mac1, no answer) moves "
	    "nothing");
	pair_up(&p, 100000, 100000000);
	n = initiation(msg, 900, 0x90, key[1]);
	CHECK(in(&p, 0, &a2, msg, n, 2000) == RELAY_FORWARD &&
	    relay_addr_equal(&dst, &a1), "a candidate goes to end 1");
	CHECK(p.leg[0].has_candidate && relay_addr_equal(&p.leg[0].addr,
	    &a0), "leg 0 moved on an initiation");
	/* end 1 does not answer it; its traffic still goes to end 0 */
	n = data(msg, 64);
	CHECK(in(&p, 1, &a1, msg, n, 2100) == RELAY_FORWARD &&
	    relay_addr_equal(&dst, &a0), "data went elsewhere");
	CHECK(in(&p, 0, &a2, msg, n, 2100) == RELAY_DROP_UNLATCHED,
	    "data from the candidate taken");
	/* an answer to another sender index moves nothing */
	n = response(msg, 901, 12345, key[0]);
	CHECK(in(&p, 1, &a1, msg, n, 2200) == RELAY_FORWARD &&
	    relay_addr_equal(&dst, &a0), "a response to end 0's session");
	CHECK(relay_addr_equal(&p.leg[0].addr, &a0), "moved");
	/* a response with the candidate's index from a stranger: no */
	n = response(msg, 901, 900, key[0]);
	CHECK(in(&p, 1, &a2, msg, n, 2200) == RELAY_DROP_UNLATCHED &&
	    relay_addr_equal(&p.leg[0].addr, &a0), "moved by a stranger");

	TEST("relay: end 0 roams; end 1's answer moves leg 0");
	n = initiation(msg, 1000, 0x91, key[1]);
	CHECK(in(&p, 0, &a3, msg, n, 2500) == RELAY_FORWARD &&
	    relay_addr_equal(&dst, &a1), "the new address's initiation");
	n = response(msg, 2000, 1000, key[0]);
	CHECK(in(&p, 1, &a1, msg, n, 2501) == RELAY_FORWARD && latched &&
	    relay_addr_equal(&dst, &a3), "the answer to the new address");
	CHECK(relay_addr_equal(&p.leg[0].addr, &a3) &&
	    !p.leg[0].has_candidate, "leg 0 not moved");
	n = data(msg, 64);
	CHECK(in(&p, 0, &a0, msg, n, 2502) == RELAY_DROP_UNLATCHED,
	    "the old address still taken");
	CHECK(in(&p, 1, &a1, msg, n, 2502) == RELAY_FORWARD &&
	    relay_addr_equal(&dst, &a3), "data to the old address");
}

static void
test_candidate_rate(void)
{
	struct relay_pair	 p;
	struct relay_addr	 a2 = addr4(12, 7000);
	uint8_t			 msg[WG_INITIATION_LEN];
	int			 i, fwd = 0;

	TEST("relay: one candidate per leg per 200 ms");
	pair_up(&p, 100000, 100000000);
	for (i = 0; i < 100; i++) {
		a2.port = 7000 + i;
		if (in(&p, 0, &a2, msg, initiation(msg, i, (uint8_t)i,
		    key[1]), 2000 + i * 10) == RELAY_FORWARD)
			fwd++;
	}
	/* 1000 ms: one at 0, 200, 400, 600, 800 */
	CHECK(fwd == 5, "%d candidates forwarded in a second", fwd);
}

static void
test_pause(void)
{
	struct relay_pair	 p;
	struct relay_addr	 a0 = addr4(10, 5000), a1 = addr4(11, 6000);
	uint8_t			 msg[WG_INITIATION_LEN];
	size_t			 n;

	TEST("relay: a paused pair drops everything, then forwards again");
	pair_up(&p, 100000, 100000000);
	relay_pair_pause(&p, 500, 2000);
	n = data(msg, 64);
	CHECK(in(&p, 0, &a0, msg, n, 2000) == RELAY_DROP_PAUSED, "data");
	n = initiation(msg, 1, 0xee, key[1]);
	CHECK(in(&p, 0, &a0, msg, n, 2499) == RELAY_DROP_PAUSED,
	    "an initiation");
	n = data(msg, 64);
	CHECK(in(&p, 1, &a1, msg, n, 2500) == RELAY_FORWARD, "after");
	relay_pair_pause(&p, 500, 3000);
	relay_pair_pause(&p, 0, 3001);
	CHECK(in(&p, 1, &a1, msg, n, 3002) == RELAY_FORWARD,
	    "pause not ended by 0");
}

static void
test_rates(void)
{
	struct relay_pair	 p;
	struct relay_addr	 a0 = addr4(10, 5000), a1 = addr4(11, 6000);
	uint8_t			 msg[2048];
	size_t			 n;
	int			 i, fwd;

	TEST("relay: the packet rate, each way");
	/* 100 packets/s: a bucket of 10 */
	pair_up(&p, 100, 100000000);
	n = data(msg, 64);
	for (i = 0, fwd = 0; i < 50; i++)
		fwd += in(&p, 0, &a0, msg, n, 5000) == RELAY_FORWARD;
	CHECK(fwd == 10, "%d at once", fwd);
	CHECK(in(&p, 1, &a1, msg, n, 5000) == RELAY_FORWARD,
	    "the other way shares the bucket");
	for (i = 0, fwd = 0; i < 1000; i++)
		fwd += in(&p, 0, &a0, msg, n, 5001 + i) == RELAY_FORWARD;
	CHECK(fwd >= 95 && fwd <= 105, "%d in a second at 100/s", fwd);

	TEST("relay: the byte rate, each way");
	/* 100000 bytes/s: a bucket of 10000 */
	pair_up(&p, 100000, 100000);
	n = data(msg, 1440);
	for (i = 0, fwd = 0; i < 50; i++)
		fwd += in(&p, 0, &a0, msg, n, 5000) == RELAY_FORWARD;
	CHECK(fwd == 6, "%d of 1440 bytes at once", fwd);
	for (i = 0, fwd = 0; i < 1000; i++)
		fwd += in(&p, 0, &a0, msg, n, 5001 + i) == RELAY_FORWARD;
	CHECK(fwd >= 65 && fwd <= 72, "%d in a second at 100 kB/s", fwd);
}

static void
test_state(void)
{
	struct relay_pair	 p;
	struct relay_addr	 a0 = addr4(10, 5000);
	struct imsg_relay_state	 rs;
	struct relay_counters	 c;
	uint8_t			 msg[64];

	TEST("relay: the state reported, the counters");
	pair_open(&p, 0, 1000, 1000000);
	relay_pair_state(&p, 1000, &rs);
	CHECK(rs.id == 7 && rs.latched[0].af == 0 && rs.rx_ms[0] == -1 &&
	    rs.rx_ms[1] == -1, "a new pair");
	pair_up(&p, 1000, 1000000);
	in(&p, 0, &a0, msg, data(msg, 64), 1500);
	relay_pair_state(&p, 2000, &rs);
	CHECK(rs.latched[0].af == AF_INET && rs.latched[0].port == 5000 &&
	    rs.latched[0].addr[0] == 198 && rs.latched[0].addr[3] == 10 &&
	    rs.latched[1].port == 6000, "latched addresses");
	CHECK(rs.packets[0] == 1 && rs.bytes[0] == 64 && rs.rx_ms[0] == 500,
	    "leg 0: %llu %llu %lld", (unsigned long long)rs.packets[0],
	    (unsigned long long)rs.bytes[0], (long long)rs.rx_ms[0]);
	/* leg 1's initiation was forwarded at 1000 */
	CHECK(rs.packets[1] == 1 && rs.rx_ms[1] == 1000 && !rs.paused,
	    "leg 1");
	memset(&c, 0, sizeof(c));
	relay_count(&c, RELAY_FORWARD, 100);
	relay_count(&c, RELAY_DROP_REPLAY, 148);
	relay_count(&c, RELAY_DROP_WRONG_PEER, 148);
	CHECK(c.forwarded == 1 && c.forwarded_bytes == 100 &&
	    c.drop_replay == 1 && c.drop_wrong_peer == 1, "counted");
}

int
main(void)
{
	int	i;

	for (i = 0; i < 32; i++) {
		key[0][i] = (uint8_t)(i + 1);
		key[1][i] = (uint8_t)(0x80 + i);
	}
	test_mac1();
	test_junk();
	test_latch();
	test_expect();
	test_replay();
	test_relatch();
	test_candidate_rate();
	test_pause();
	test_rates();
	test_state();
	return (regress_end());
}
