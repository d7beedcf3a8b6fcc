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
 * Gossip datagrams (wgmeshd/gossip.c) against whatever arrives.
 * Input: a mode byte, then
 *	mode 0: a datagram, opened with a fixed pair key; nothing may pass;
 *	mode 1: a type byte and a plaintext, sealed and opened again, which
 *	    must give back the same; the decoders then get the plaintext,
 *	    and what they accept must encode to the very same bytes;
 *	mode 2: counters (8 bytes each, big endian) for the replay window,
 *	    checked against a list of every counter it accepted.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wgmeshd.h"

#define NOW		1767225600000000LL	/* 2026-01-01, microseconds */
#define MAX_COUNTERS	512

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	fuzz_open(const uint8_t *, size_t);
static void	fuzz_plaintext(const uint8_t *, size_t);
static void	fuzz_replay(const uint8_t *, size_t);
static void	decode(uint8_t, const uint8_t *, size_t);

static struct gossip_pair	 pair_a, pair_b;	/* a sends to b */

static void
decode(uint8_t type, const uint8_t *pt, size_t len)
{
	struct gossip_endpoint	 ep[GOSSIP_ENDPOINTS_MAX];
	uint8_t			 nonce[GOSSIP_PING_NONCE_LEN];
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD];
	ssize_t			 n;
	size_t			 count, done, i;

	switch (type) {
	case GOSSIP_MSG_PING:
	case GOSSIP_MSG_PONG:
		if (gossip_ping_decode(pt, len, nonce) == -1)
			return;
		n = gossip_ping_encode(buf, sizeof(buf), nonce);
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
	default:
		abort();
	}
}

static void
fuzz_open(const uint8_t *data, size_t size)
{
	struct gossip_pair	b = pair_b;
	uint8_t			pt[GOSSIP_MAX_PAYLOAD], type;
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
	uint8_t			dg[GOSSIP_MAX_DATAGRAM];
	uint8_t			pt[GOSSIP_MAX_PAYLOAD], type, t;
	ssize_t			n;
	size_t			len;

	if (size < 1)
		return;
	t = data[0];
	data++;
	size--;
	n = gossip_seal(&a, t, data, size, NOW, dg, sizeof(dg));
	if (t < GOSSIP_MSG_PING || t > GOSSIP_MSG_ENDPOINTS ||
	    size > GOSSIP_MAX_PAYLOAD) {
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

	if (!init) {
		if (sodium_init() == -1)
			abort();
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
	switch (data[0] % 3) {
	case 0:
		fuzz_open(data + 1, size - 1);
		break;
	case 1:
		fuzz_plaintext(data + 1, size - 1);
		break;
	case 2:
		fuzz_replay(data + 1, size - 1);
		break;
	}
	return (0);
}
