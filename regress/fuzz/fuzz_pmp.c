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
 * What the port mapping worker (wgmeshd/upnp.c) reads from the network
 * and the kernel, on arbitrary bytes: PCP answers (pcp_map_parse()),
 * NAT-PMP answers before libnatpmp reads them (natpmp_answer_ok()), the
 * routing table (upnp_route_gateway()) and the gateways' epochs
 * (pmp_epoch_check()).  What is accepted must be what RFC 6887 and RFC
 * 6886 allow for our request; a request built by pcp_map_build() from
 * the input, turned into its answer, must be accepted with its fields.
 */

#include <sys/types.h>

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wgmeshd.h"
#include "engine.h"

#define FUZZ_INT_PORT	51820

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 fuzz_pcp(const uint8_t *, size_t);
static void	 fuzz_pcp_built(const uint8_t *, size_t);
static void	 fuzz_natpmp(const uint8_t *, size_t);
static void	 fuzz_route(const uint8_t *, size_t);
static void	 fuzz_epoch(const uint8_t *, size_t);

static const uint8_t	 nonce[PCP_NONCE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9,
			    10, 11, 12 };

/* upnp.c's worker names itself; never reached here */
void
sandbox_proc_name(const char *name)
{
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return (0);
	switch (data[0] % 5) {
	case 0:
		fuzz_pcp(data + 1, size - 1);
		break;
	case 1:
		fuzz_pcp_built(data + 1, size - 1);
		break;
	case 2:
		fuzz_natpmp(data + 1, size - 1);
		break;
	case 3:
		fuzz_route(data + 1, size - 1);
		break;
	case 4:
		fuzz_epoch(data + 1, size - 1);
		break;
	}
	return (0);
}

/* an answer to our MAP for FUZZ_INT_PORT with nonce */
static void
fuzz_pcp(const uint8_t *msg, size_t len)
{
	struct pcp_map_answer	 pa;
	int			 r;

	r = pcp_map_parse(msg, len, FUZZ_INT_PORT, nonce, &pa);
	if (r == -2) {
		if (len < 4 || msg[0] != 0 || msg[3] != 1)
			abort();
		return;
	}
	if (r == -1)
		return;
	if (r != 0 || len < 24 || len > PCP_MAX_LEN || len % 4 != 0 ||
	    msg[0] != 2 || msg[1] != 0x81 || pa.result != msg[3])
		abort();
	if (len >= PCP_MAP_LEN && (memcmp(msg + 24, nonce, PCP_NONCE_LEN) != 0 ||
	    msg[36] != IPPROTO_UDP || msg[40] != (FUZZ_INT_PORT >> 8) ||
	    msg[41] != (FUZZ_INT_PORT & 0xff)))
		abort();
	if (pa.result != 0)
		return;
	/* a success: the MAP fields, an IPv4-mapped external address */
	if (len < PCP_MAP_LEN || msg[54] != 0xff || msg[55] != 0xff ||
	    memcmp(&pa.ext_addr.s_addr, msg + 56, 4) != 0 ||
	    pa.ext_port != (msg[42] << 8 | msg[43]))
		abort();
}

/* our request, from the input's fields, answered as the gateway would */
static void
fuzz_pcp_built(const uint8_t *in, size_t len)
{
	struct pcp_map_answer	 pa;
	struct in_addr		 client;
	uint8_t			 msg[PCP_MAP_LEN], n[PCP_NONCE_LEN];
	uint32_t		 lifetime;
	uint16_t		 iport, eport;

	if (len < 4 + 2 + 2 + 4 + PCP_NONCE_LEN)
		return;
	memcpy(&client.s_addr, in, 4);
	iport = in[4] << 8 | in[5];
	eport = in[6] << 8 | in[7];
	lifetime = (uint32_t)in[8] << 24 | in[9] << 16 | in[10] << 8 | in[11];
	memcpy(n, in + 12, sizeof(n));
	pcp_map_build(msg, &client, iport, eport, lifetime, n);
	if (msg[0] != 2 || msg[1] != 1 || memcmp(msg + 20, &client.s_addr,
	    4) != 0 || memcmp(msg + 24, n, sizeof(n)) != 0)
		abort();
	/* as a server answers: R bit, success, the external address */
	msg[1] |= 0x80;
	msg[3] = 0;
	memcpy(msg + 56, &client.s_addr, 4);
	if (pcp_map_parse(msg, sizeof(msg), iport, n, &pa) != 0 ||
	    pa.result != 0 || pa.lifetime != lifetime ||
	    pa.ext_port != eport || pa.ext_addr.s_addr != client.s_addr)
		abort();
	/* and for another internal port it is not ours */
	if (pcp_map_parse(msg, sizeof(msg), iport + 1, n, &pa) != -1)
		abort();
}

static void
fuzz_natpmp(const uint8_t *msg, size_t len)
{
	uint8_t	type;

	for (type = 0; type < 2; type++) {
		if (!natpmp_answer_ok(msg, len, type))
			continue;
		if (len < 8 || len > (type == 0 ? 12U : 16U) || msg[0] != 0 ||
		    msg[1] != 128 + type)
			abort();
		if (msg[2] == 0 && msg[3] == 0 && len != (type == 0 ? 12U :
		    16U))
			abort();
	}
}

static void
fuzz_route(const uint8_t *text, size_t len)
{
	struct in_addr	gw;

	gw.s_addr = 0;
	if (upnp_route_gateway((const char *)text, len, &gw) == 0 &&
	    gw.s_addr == 0)
		abort();
}

/* epochs and our clock from the input; the clock only goes forward */
static void
fuzz_epoch(const uint8_t *in, size_t len)
{
	struct pmp_epoch	e;
	uint32_t		epoch;
	int64_t			now = 0;
	int			r;

	memset(&e, 0, sizeof(e));
	for (; len >= 6; in += 6, len -= 6) {
		epoch = (uint32_t)in[0] << 24 | in[1] << 16 | in[2] << 8 |
		    in[3];
		now += (int64_t)(in[4] << 8 | in[5]) * 1000;
		r = pmp_epoch_check(&e, epoch, now);
		if ((r != 0 && r != 1) || !e.known || e.epoch != epoch ||
		    e.at_ms != now)
			abort();
	}
}
