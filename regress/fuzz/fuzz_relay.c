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
 * libFuzzer target: the relay's classifier (relay_wire.c) over a
 * sequence of datagrams on both legs of one pair, from eight addresses.
 * A fuzzer cannot find a valid mac1 by chance, so a step may ask for a
 * message crafted here with one (for the right end or the wrong one),
 * with the fuzzer's indexes and bytes elsewhere; or raw bytes; or a
 * pause, or new expectations.  Each step, checked:
 *	- a forwarded datagram goes to the other leg's latched address, and
 *	  only a latched leg ever forwards;
 *	- a leg latches or moves only on an initiation or response with a
 *	  valid mac1, and a replayed initiation never forwards;
 *	- no more is forwarded each way than the buckets allow.
 * Any breach aborts.
 *
 * A step: op (bit 0: the leg; bits 1-3: the source address; bits 4-7:
 * what), a time step in ms, two 32-bit indexes, then for raw bytes a
 * length and the bytes.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <blake2.h>

#include "relay.h"
#include "fuzz_input.h"

#define PPS		50	/* the fuzzed pair's rates */
#define BPS		20000
#define STEPS_MAX	512

static uint8_t		 key[2][32];
static int		 ready;

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
mac1(uint8_t *msg, size_t len, const uint8_t pk[32])
{
	uint8_t	in[40], k[32];

	memcpy(in, "mac1----", 8);
	memcpy(in + 8, pk, 32);
	blake2s(k, in, NULL, 32, sizeof(in), 0);
	blake2s(msg + len - 32, msg, k, 16, len - 32, 32);
}

/* mac1 checked here, apart from relay_wire.c's */
static int
mac1_valid(const uint8_t *msg, size_t len, const uint8_t pk[32])
{
	uint8_t	copy[256];

	memcpy(copy, msg, len);
	mac1(copy, len, pk);
	return (memcmp(copy + len - 32, msg + len - 32, 16) == 0);
}

static void
source(struct relay_addr *a, unsigned int n)
{
	memset(a, 0, sizeof(*a));
	a->addr[10] = a->addr[11] = 0xff;
	a->addr[12] = 198;
	a->addr[13] = 18;
	a->addr[15] = 10 + n / 2;	/* two ports per host */
	a->port = 5000 + n % 2;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in		 in = { data, size };
	struct imsg_relay_open	 ro;
	struct imsg_addr	 ex[2];
	struct relay_pair	 p;
	struct relay_leg	 before[2];
	struct relay_addr	 src, dst;
	uint8_t			 msg[256], seen[64][16];
	uint64_t		 fwd[2] = { 0, 0 }, fwdb[2] = { 0, 0 };
	int64_t			 now = 1000, start = 1000;
	size_t			 len, nseen = 0, nrecorded = 0, i;
	uint32_t		 i1, i2;
	unsigned int		 step, op, leg, kind, latched, valid;
	enum relay_verdict	 v;
	int			 replay;

	if (!ready) {
		for (i = 0; i < 32; i++) {
			key[0][i] = (uint8_t)(i + 1);
			key[1][i] = (uint8_t)(0x80 + i);
		}
		ready = 1;
	}
	memset(&ro, 0, sizeof(ro));
	memcpy(ro.public_key, key, sizeof(key));
	if (fuzz_u8(&in) & 1) {
		ro.expect[0].af = ro.expect[1].af = AF_INET;
		ro.expect[0].addr[0] = ro.expect[1].addr[0] = 198;
		ro.expect[0].addr[1] = ro.expect[1].addr[1] = 18;
		ro.expect[0].addr[3] = 10;
		ro.expect[1].addr[3] = 11;
	}
	relay_pair_init(&p, &ro, PPS, BPS, now);

	for (step = 0; step < STEPS_MAX && in.len > 0; step++) {
		op = fuzz_u8(&in);
		leg = op & 1;
		source(&src, (op >> 1) & 7);
		kind = op >> 4;
		now += fuzz_u8(&in);
		i1 = fuzz_u32(&in);
		i2 = fuzz_u32(&in);
		valid = 0;
		memset(msg, (uint8_t)i2, sizeof(msg));
		switch (kind) {
		case 0:		/* initiation for the other end */
		case 1:		/* the same, for the wrong one */
			len = WG_INITIATION_LEN;
			msg[0] = 1;
			msg[1] = msg[2] = msg[3] = 0;
			memcpy(msg + 4, &i1, 4);
			mac1(msg, len, key[kind == 0 ? 1 - leg : leg]);
			valid = kind == 0;
			break;
		case 2:		/* response for the other end */
			len = WG_RESPONSE_LEN;
			msg[0] = 2;
			msg[1] = msg[2] = msg[3] = 0;
			memcpy(msg + 4, &i2, 4);
			memcpy(msg + 8, &i1, 4);
			mac1(msg, len, key[1 - leg]);
			valid = 1;
			break;
		case 3:		/* data */
			len = 32 + 16 * (i1 % 8);
			msg[0] = 4;
			msg[1] = msg[2] = msg[3] = 0;
			break;
		case 4:
			relay_pair_pause(&p, i1 % (RELAY_PAUSE_MAX_MS + 1),
			    now);
			continue;
		case 5:
			memset(ex, 0, sizeof(ex));
			ex[i1 & 1].af = (i1 & 2) ? AF_INET : 0;
			ex[i1 & 1].addr[0] = 198;
			ex[i1 & 1].addr[1] = 18;
			ex[i1 & 1].addr[3] = 10 + (i2 % 4);
			relay_pair_expect(&p, ex);
			continue;
		default:	/* raw */
			len = fuzz_u8(&in);
			fuzz_bytes(&in, msg, len);
			break;
		}
		/* raw bytes may repeat a message made here */
		if (len == WG_INITIATION_LEN && memcmp(msg, "\1\0\0\0", 4) == 0)
			valid = mac1_valid(msg, len, key[1 - leg]);
		else if (len == WG_RESPONSE_LEN &&
		    memcmp(msg, "\2\0\0\0", 4) == 0)
			valid = mac1_valid(msg, len, key[1 - leg]);
		/*
		 * Was this initiation's mac1 forwarded before?  Certain while
		 * the relay's ring has not wrapped.
		 */
		replay = 0;
		if (valid && msg[0] == 1) {
			for (i = 0; i < nseen; i++)
				if (memcmp(seen[i], msg + WG_INITIATION_MAC1,
				    16) == 0)
					replay = 1;
			if (!relay_pair_paused(&p, now))
				nrecorded++;
		}
		memcpy(before, p.leg, sizeof(before));
		v = relay_classify(&p, leg, &src, msg, len, now, &dst,
		    (int *)&latched);
		if (latched && !valid)
			abort();	/* latched on no valid mac1 */
		for (i = 0; i < 2; i++)
			if (p.leg[i].latched && (!before[i].latched ||
			    !relay_addr_equal(&p.leg[i].addr,
			    &before[i].addr)) && !latched)
				abort();	/* moved, unsaid */
		if (v != RELAY_FORWARD)
			continue;
		if (replay && nrecorded <= RELAY_REPLAY_RING)
			abort();	/* a replay forwarded */
		if (!p.leg[1 - leg].latched ||
		    !relay_addr_equal(&dst, &p.leg[1 - leg].addr))
			abort();	/* sent where nothing is latched */
		if (valid && msg[0] == 1 &&
		    nseen < sizeof(seen) / sizeof(seen[0]))
			memcpy(seen[nseen++], msg + WG_INITIATION_MAC1, 16);
		fwd[leg]++;
		fwdb[leg] += len;
		/* the buckets: a burst of 100 ms, then the rate */
		if (fwd[leg] > (uint64_t)(PPS * (100 + now - start)) / 1000 +
		    1 || fwdb[leg] > (uint64_t)(BPS * (100 + now - start)) /
		    1000 + 1)
			abort();
	}
	return (0);
}
