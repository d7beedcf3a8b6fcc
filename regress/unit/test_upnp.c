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
 * upnp.c's checks of what comes from the gateway: which URLs the worker
 * may connect to (IPv4 literals only: a name would go to getaddrinfo(3),
 * which the sandbox does not allow), the engine's check of each answer
 * from the worker against its request, PCP's MAP request and the checks
 * of its answers, NAT-PMP's answers before libnatpmp reads them, the
 * gateways' epochs, and the default gateway found in /proc/net/route's
 * text.  Talking to a real gateway is regress/lab/upnp.sh's and
 * regress/lab/natpmp.sh's part.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "wgmeshd.h"
#include "engine.h"
#include "regress.h"

static void	 test_url(void);
static void	 test_answer(void);
static void	 test_answer_pmp(void);
static void	 test_pcp_build(void);
static void	 test_pcp_parse(void);
static void	 test_natpmp_answer(void);
static void	 test_epoch(void);
static void	 test_route(void);
static void	 pcp_answer(uint8_t *, uint8_t);
static void	 map_request(struct upnp_request *);
static void	 map_answer(const struct upnp_request *, struct upnp_answer *,
		    const char *, const char *);

static void
test_url(void)
{
	static const struct {
		const char	*url;
		const char	*host;	/* NULL: refused */
	} t[] = {
		{ "http://198.19.1.1:5000/rootDesc.xml", "198.19.1.1" },
		{ "http://198.19.1.1/rootDesc.xml", "198.19.1.1" },
		{ "http://198.19.1.1:5000", "198.19.1.1" },
		{ "http://198.19.1.1", "198.19.1.1" },
		{ "http://223.255.255.255:65535/x", "223.255.255.255" },
		{ "http://198.19.1.1:1/ctl/IPConn", "198.19.1.1" },
		/* names would be looked up */
		{ "http://router.lan:5000/rootDesc.xml", NULL },
		{ "http://localhost/", NULL },
		{ "http://198.19.1.1.example:80/", NULL },
		/* only dotted decimal with four parts */
		{ "http://3322536193/", NULL },
		{ "http://0xc6.19.1.1/", NULL },
		{ "http://198.19.1/", NULL },
		{ "http://198.19.1.256/", NULL },
		{ "http://198.019.1.1/", NULL },
		/* IPv6, user info, other schemes, bad ports */
		{ "http://[fd00::1]:5000/rootDesc.xml", NULL },
		{ "http://user@198.19.1.1/", NULL },
		{ "http://198.19.1.1@198.18.0.1/", NULL },
		{ "https://198.19.1.1/", NULL },
		{ "HTTP://198.19.1.1/", NULL },
		{ "198.19.1.1:5000/rootDesc.xml", NULL },
		{ "http://198.19.1.1:/", NULL },
		{ "http://198.19.1.1:0/", NULL },
		{ "http://198.19.1.1:65536/", NULL },
		{ "http://198.19.1.1:5000x/", NULL },
		{ "http://198.19.1.1:0000005000/", NULL },
		{ "http://198.19.1.1 /", NULL },
		{ "http://198.19.1.1?x", NULL },
		{ "http://:5000/", NULL },
		{ "http:///", NULL },
		{ "http://", NULL },
		{ "", NULL },
		/* no gateway lives here: this host, metadata, multicast */
		{ "http://127.0.0.1:8080/rootDesc.xml", NULL },
		{ "http://127.255.0.9/", NULL },
		{ "http://0.0.0.0/", NULL },
		{ "http://0.1.2.3/", NULL },
		{ "http://169.254.169.254/latest/meta-data/", NULL },
		{ "http://169.254.1.1:5000/", NULL },
		{ "http://239.255.255.250:1900/", NULL },
		{ "http://255.255.255.255/", NULL },
		{ "http://240.0.0.1/", NULL },
		{ "http://198.19.1.1:5000/rootDesc.xml", "198.19.1.1" },
		{ "http://198.18.0.11/", "198.18.0.11" },
		{ "http://169.253.255.255/", "169.253.255.255" },
	};
	char	host[INET_ADDRSTRLEN], small[8];
	size_t	i;
	int	r;

	TEST("upnp_url_host: IPv4 literals only");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(host, 'x', sizeof(host));
		r = upnp_url_host(t[i].url, host, sizeof(host));
		if (t[i].host == NULL)
			CHECK(r == -1, "\"%s\" accepted as %s", t[i].url, host);
		else
			CHECK(r == 0 && strcmp(host, t[i].host) == 0,
			    "\"%s\": %d \"%.16s\"", t[i].url, r, host);
	}
	TEST("upnp_url_host: a host that does not fit is refused");
	CHECK(upnp_url_host("http://198.19.1.1/", small, sizeof(small)) == -1,
	    "accepted");
}

static void
map_request(struct upnp_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->seq = 7;
	rq->op = UPNP_OP_MAP;
	rq->ext_port = 33723;
	rq->int_port = 51820;
	rq->lease = UPNP_LEASE_SECONDS;
	rq->protos = PORTMAP_UPNP;
	strlcpy(rq->desc, "wgmeshd wg0", sizeof(rq->desc));
}

static void
map_answer(const struct upnp_request *rq, struct upnp_answer *an,
    const char *ext, const char *lan)
{
	memset(an, 0, sizeof(*an));
	an->seq = rq->seq;
	an->op = rq->op;
	an->ext_port = rq->ext_port;
	an->status = UPNP_OK;
	an->igd = UPNP_IGD_RESERVED;
	an->lease = rq->lease;
	an->tried = PORTMAP_UPNP;
	an->proto = PORTMAP_UPNP;
	an->mapped_port = rq->ext_port;
	strlcpy(an->ext_addr, ext, sizeof(an->ext_addr));
	strlcpy(an->lan_addr, lan, sizeof(an->lan_addr));
}

static void
test_answer(void)
{
	static const char *const bad_ext[] = {
		"", "198.18.0", "198.18.0.11 ", " 198.18.0.11", "198.18.0.11x",
		"::1", "fd00::1", "0.0.0.0", "0.1.2.3", "127.0.0.1",
		"224.0.0.1", "239.255.255.250", "255.255.255.255",
		"240.0.0.1", "router", "198.18.0.011",
	};
	static const char *const bad_lan[] = {
		"", "0.0.0.0", "fd00::2", "198.19.1", "lan",
	};
	struct upnp_request	 rq, un;
	struct upnp_answer	 an;
	struct imsg_addr	 ext;
	uint8_t			 want[4] = { 198, 18, 0, 11 };
	size_t			 i;
	int			 r;

	map_request(&rq);

	TEST("upnp_answer_check: a mapping");
	map_answer(&rq, &an, "198.18.0.11", "198.19.1.2");
	r = upnp_answer_check(&rq, &an, &ext);
	CHECK(r == UPNP_OK && ext.af == AF_INET && ext.port == 33723 &&
	    memcmp(ext.addr, want, 4) == 0, "%d", r);
	an.igd = UPNP_IGD_CONNECTED;
	CHECK(upnp_answer_check(&rq, &an, &ext) == UPNP_OK, "igd 1");
	an.lease = 0;
	CHECK(upnp_answer_check(&rq, &an, &ext) == UPNP_OK,
	    "a permanent lease (725) is fine");

	TEST("upnp_answer_check: what does not answer the request is a bug");
	map_answer(&rq, &an, "198.18.0.11", "198.19.1.2");
	an.seq++;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "seq");
	map_answer(&rq, &an, "198.18.0.11", "198.19.1.2");
	an.op = UPNP_OP_UNMAP;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "op");
	map_answer(&rq, &an, "198.18.0.11", "198.19.1.2");
	an.ext_port = 51820;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "port");
	map_answer(&rq, &an, "198.18.0.11", "198.19.1.2");
	an.mapped_port = 33724;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1,
	    "UPnP mapped a port not asked for");
	map_answer(&rq, &an, "198.18.0.11", "198.19.1.2");
	an.lease = 7200;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "a lease not asked for");
	map_answer(&rq, &an, "198.18.0.11", "198.19.1.2");
	an.igd = 3;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "igd 3 (disconnected)");
	an.igd = 0;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "igd 0");
	map_answer(&rq, &an, "198.18.0.11", "198.19.1.2");
	an.status = 7;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "status");
	map_answer(&rq, &an, "198.18.0.11", "198.19.1.2");
	memset(an.ext_addr, '1', sizeof(an.ext_addr));
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "unterminated");
	map_answer(&rq, &an, "198.18.0.11", "198.19.1.2");
	memset(an.lan_addr, '1', sizeof(an.lan_addr));
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "unterminated LAN");

	TEST("upnp_answer_check: failures");
	map_answer(&rq, &an, "", "");
	an.status = UPNP_FAILED;
	an.call = UPNP_CALL_ADD;
	an.code = 718;
	CHECK(upnp_answer_check(&rq, &an, &ext) == UPNP_FAILED, "718");
	an.call = UPNP_CALL_NONE;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "no call named");
	an.call = UPNP_CALL_MAX;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "call out of range");
	an.call = UPNP_CALL_ADD;
	an.tried = 0;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "nothing tried");

	TEST("upnp_answer_check: a gateway's external address that is none");
	for (i = 0; i < sizeof(bad_ext) / sizeof(bad_ext[0]); i++) {
		map_answer(&rq, &an, bad_ext[i], "198.19.1.2");
		memset(&ext, 0xff, sizeof(ext));
		r = upnp_answer_check(&rq, &an, &ext);
		CHECK(r == UPNP_BAD_EXTERNAL && ext.af == 0,
		    "\"%s\": %d, af %u", bad_ext[i], r, ext.af);
	}
	TEST("upnp_answer_check: a LAN address that is none");
	for (i = 0; i < sizeof(bad_lan) / sizeof(bad_lan[0]); i++) {
		map_answer(&rq, &an, "198.18.0.11", bad_lan[i]);
		r = upnp_answer_check(&rq, &an, &ext);
		CHECK(r == UPNP_BAD_LAN && ext.af == 0, "\"%s\": %d",
		    bad_lan[i], r);
	}

	TEST("upnp_answer_check: deleting");
	memset(&un, 0, sizeof(un));
	un.seq = 9;
	un.op = UPNP_OP_UNMAP;
	un.ext_port = 33723;
	un.protos = PORTMAP_UPNP;
	memset(&an, 0, sizeof(an));
	an.seq = 9;
	an.op = UPNP_OP_UNMAP;
	an.ext_port = 33723;
	an.status = UPNP_OK;
	CHECK(upnp_answer_check(&un, &an, &ext) == UPNP_OK,
	    "nothing to delete");
	an.tried = PORTMAP_UPNP;
	CHECK(upnp_answer_check(&un, &an, &ext) == UPNP_OK, "deleted");
	an.status = UPNP_FAILED;
	an.call = UPNP_CALL_DELETE;
	an.code = UPNP_E_NOGATEWAY;
	CHECK(upnp_answer_check(&un, &an, &ext) == UPNP_FAILED, "failed");
	an.ext_port = 1;
	CHECK(upnp_answer_check(&un, &an, &ext) == -1, "another port");
}

/* PCP's and NAT-PMP's mappings, from the worker: the engine's checks */
static void
test_answer_pmp(void)
{
	struct upnp_request	 rq, un;
	struct upnp_answer	 an;
	struct imsg_addr	 ext;
	uint8_t			 p;

	map_request(&rq);
	rq.protos = PORTMAP_ALL;
	for (p = PORTMAP_NATPMP; p <= PORTMAP_PCP; p <<= 1) {
		TEST(p == PORTMAP_PCP ? "upnp_answer_check: a PCP mapping" :
		    "upnp_answer_check: a NAT-PMP mapping");
		map_answer(&rq, &an, "198.18.0.11", "198.19.1.2");
		an.proto = p;
		an.tried = p | PORTMAP_PCP;
		an.mapped_port = 40001;
		an.lease = 1800;
		CHECK(upnp_answer_check(&rq, &an, &ext) == UPNP_OK &&
		    ext.port == 40001, "another port, a shorter lease: %u",
		    ext.port);
		an.lease = UPNP_LEASE_MIN_SECONDS - 1;
		CHECK(upnp_answer_check(&rq, &an, &ext) == -1,
		    "a lease too short");
		an.lease = 0;
		CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "lease 0");
		an.lease = rq.lease + 1;
		CHECK(upnp_answer_check(&rq, &an, &ext) == -1,
		    "a lease longer than asked");
		an.lease = rq.lease;
		an.mapped_port = 0;
		CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "port 0");
		an.mapped_port = 40001;
		an.tried = PORTMAP_UPNP;
		CHECK(upnp_answer_check(&rq, &an, &ext) == -1,
		    "made by a protocol not tried");
		an.tried = PORTMAP_ALL;
		an.proto = p | PORTMAP_UPNP;
		CHECK(upnp_answer_check(&rq, &an, &ext) == -1,
		    "by two protocols");
	}

	TEST("upnp_answer_check: only the protocols asked for");
	map_request(&rq);
	rq.protos = PORTMAP_NATPMP;
	map_answer(&rq, &an, "198.18.0.11", "198.19.1.2");
	an.proto = PORTMAP_NATPMP;
	an.tried = PORTMAP_NATPMP | PORTMAP_PCP;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "PCP tried too");
	an.tried = PORTMAP_NATPMP;
	CHECK(upnp_answer_check(&rq, &an, &ext) == UPNP_OK, "NAT-PMP only");
	map_answer(&rq, &an, "198.18.0.11", "198.19.1.2");
	an.proto = 0;
	an.tried = PORTMAP_NATPMP;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "no protocol");

	TEST("upnp_answer_check: why each protocol failed");
	map_request(&rq);
	rq.protos = PORTMAP_ALL;
	map_answer(&rq, &an, "", "");
	an.status = UPNP_FAILED;
	an.tried = PORTMAP_ALL;
	an.pcp_code = PMP_E_TIMEOUT;
	an.natpmp_code = 2;
	an.call = UPNP_CALL_DISCOVER;
	an.code = UPNP_E_NOANSWER;
	CHECK(upnp_answer_check(&rq, &an, &ext) == UPNP_FAILED, "all three");
	an.pcp_code = 0;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1, "PCP's reason missing");
	an.pcp_code = PMP_E_NOROUTE;
	an.natpmp_code = 0;
	CHECK(upnp_answer_check(&rq, &an, &ext) == -1,
	    "NAT-PMP's reason missing");
	an.tried = PORTMAP_PCP;
	CHECK(upnp_answer_check(&rq, &an, &ext) == UPNP_FAILED,
	    "PCP alone, UPnP's fields unused");

	TEST("upnp_answer_check: deleting a PCP mapping");
	memset(&un, 0, sizeof(un));
	un.seq = 3;
	un.op = UPNP_OP_UNMAP;
	un.ext_port = 33723;
	un.protos = PORTMAP_PCP;
	memset(&an, 0, sizeof(an));
	an.seq = 3;
	an.op = UPNP_OP_UNMAP;
	an.ext_port = 33723;
	an.status = UPNP_OK;
	an.tried = PORTMAP_PCP;
	CHECK(upnp_answer_check(&un, &an, &ext) == UPNP_OK, "deleted");
	an.tried = PORTMAP_NATPMP;
	CHECK(upnp_answer_check(&un, &an, &ext) == -1, "by NAT-PMP");
}

/* RFC 6887 7.1 and 11.1, byte by byte */
static void
test_pcp_build(void)
{
	static const uint8_t	 want[PCP_MAP_LEN] = {
		/* version, opcode MAP, reserved, lifetime 3600 */
		2, 1, 0, 0, 0, 0, 0x0e, 0x10,
		/* our address, ::ffff:198.19.1.2 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 19, 1, 2,
		/* nonce */
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
		/* UDP, reserved, internal 51820, suggested external 33723 */
		17, 0, 0, 0, 0xca, 0x6c, 0x83, 0xbb,
		/* suggested external address: ::ffff:0.0.0.0 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0,
	};
	static const uint8_t	 nonce[PCP_NONCE_LEN] = { 1, 2, 3, 4, 5, 6,
				    7, 8, 9, 10, 11, 12 };
	struct in_addr		 lan;
	uint8_t			 msg[PCP_MAP_LEN];
	size_t			 i;

	TEST("pcp_map_build: a MAP request for UDP");
	inet_pton(AF_INET, "198.19.1.2", &lan);
	memset(msg, 0xee, sizeof(msg));
	pcp_map_build(msg, &lan, 51820, 33723, 3600, nonce);
	for (i = 0; i < sizeof(msg); i++)
		if (msg[i] != want[i])
			break;
	CHECK(i == sizeof(msg), "byte %zu: %#x, want %#x", i,
	    i < sizeof(msg) ? msg[i] : 0, i < sizeof(msg) ? want[i] : 0);

	TEST("pcp_map_build: a deletion");
	pcp_map_build(msg, &lan, 51820, 0, 0, nonce);
	CHECK(msg[4] == 0 && msg[5] == 0 && msg[6] == 0 && msg[7] == 0 &&
	    msg[42] == 0 && msg[43] == 0 && msg[40] == 0xca,
	    "lifetime and external port not 0");
}

/* A MAP answer: success, lifetime 3600, epoch 1000, 198.18.0.11:40001 */
static void
pcp_answer(uint8_t *msg, uint8_t result)
{
	static const uint8_t	 answer[PCP_MAP_LEN] = {
		2, 0x81, 0, 0, 0, 0, 0x0e, 0x10, 0, 0, 0x03, 0xe8,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
		17, 0, 0, 0, 0xca, 0x6c, 0x9c, 0x41,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 11,
	};

	memcpy(msg, answer, sizeof(answer));
	msg[3] = result;
}

static void
test_pcp_parse(void)
{
	static const uint8_t	 nonce[PCP_NONCE_LEN] = { 1, 2, 3, 4, 5, 6,
				    7, 8, 9, 10, 11, 12 };
	static const uint8_t	 natpmp[8] = { 0, 0x81, 0, 1, 0, 0, 0, 5 };
	struct pcp_map_answer	 pa;
	uint8_t			 msg[PCP_MAX_LEN + 4];
	struct {
		const char	*what;
		size_t		 at;
		uint8_t		 value;
	} bad[] = {
		{ "version 1", 0, 1 },
		{ "no R bit", 1, 0x01 },
		{ "opcode PEER", 1, 0x82 },
		{ "another nonce", 30, 99 },
		{ "TCP", 36, 6 },
		{ "another internal port", 41, 0x6d },
		{ "an IPv6 external address", 54, 0 },
	};
	size_t			 i;

	TEST("pcp_map_parse: a success");
	pcp_answer(msg, 0);
	CHECK(pcp_map_parse(msg, PCP_MAP_LEN, 51820, nonce, &pa) == 0 &&
	    pa.result == 0 && pa.lifetime == 3600 && pa.epoch == 1000 &&
	    pa.ext_port == 40001 && pa.ext_addr.s_addr ==
	    inet_addr("198.18.0.11"), "%u %u %u %u", pa.result, pa.lifetime,
	    pa.epoch, pa.ext_port);
	memset(msg + PCP_MAP_LEN, 0, 8);
	CHECK(pcp_map_parse(msg, PCP_MAP_LEN + 8, 51820, nonce, &pa) == 0,
	    "with an option after it");

	TEST("pcp_map_parse: what is not our answer is dropped");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pcp_answer(msg, 0);
		msg[bad[i].at] = bad[i].value;
		CHECK(pcp_map_parse(msg, PCP_MAP_LEN, 51820, nonce, &pa) == -1,
		    "%s", bad[i].what);
	}
	pcp_answer(msg, 0);
	CHECK(pcp_map_parse(msg, PCP_MAP_LEN, 51821, nonce, &pa) == -1,
	    "asked for another port");
	CHECK(pcp_map_parse(msg, PCP_MAP_LEN - 4, 51820, nonce, &pa) == -1,
	    "a success without its MAP fields");
	CHECK(pcp_map_parse(msg, PCP_MAP_LEN + 1, 51820, nonce, &pa) == -1,
	    "61 bytes");
	CHECK(pcp_map_parse(msg, 20, 51820, nonce, &pa) == -1, "20 bytes");
	memset(msg + PCP_MAP_LEN, 0, sizeof(msg) - PCP_MAP_LEN);
	CHECK(pcp_map_parse(msg, PCP_MAX_LEN + 4, 51820, nonce, &pa) == -1,
	    "more than 1100 bytes");
	CHECK(pcp_map_parse(msg, 0, 51820, nonce, &pa) == -1, "empty");

	TEST("pcp_map_parse: the gateway's refusals");
	pcp_answer(msg, 2);
	CHECK(pcp_map_parse(msg, PCP_MAP_LEN, 51820, nonce, &pa) == 0 &&
	    pa.result == 2, "NOT_AUTHORIZED");
	CHECK(pcp_map_parse(msg, 24, 51820, nonce, &pa) == 0 &&
	    pa.result == 2, "without the MAP fields");
	msg[30] = 99;
	CHECK(pcp_map_parse(msg, PCP_MAP_LEN, 51820, nonce, &pa) == -1,
	    "for another nonce");
	CHECK(pcp_map_parse(natpmp, sizeof(natpmp), 51820, nonce, &pa) == -2,
	    "NAT-PMP's unsupported version");
}

static void
test_natpmp_answer(void)
{
	static const uint8_t	 addr[12] = { 0, 128, 0, 0, 0, 0, 0, 9,
				    198, 18, 0, 11 };
	static const uint8_t	 map[16] = { 0, 129, 0, 0, 0, 0, 0, 9,
				    0xca, 0x6c, 0x83, 0xbb, 0, 0, 0x0e, 0x10 };
	uint8_t			 msg[17];

	TEST("natpmp_answer_ok: the answers asked for");
	CHECK(natpmp_answer_ok(addr, sizeof(addr), 0), "external address");
	CHECK(natpmp_answer_ok(map, sizeof(map), 1), "UDP mapping");

	TEST("natpmp_answer_ok: anything else");
	CHECK(!natpmp_answer_ok(addr, sizeof(addr), 1),
	    "an address for a mapping");
	CHECK(!natpmp_answer_ok(map, 12, 0), "a mapping for an address");
	CHECK(!natpmp_answer_ok(map, 15, 1), "15 bytes");
	CHECK(!natpmp_answer_ok(addr, 11, 0), "11 bytes");
	memcpy(msg, map, sizeof(map));
	msg[16] = 0;
	CHECK(!natpmp_answer_ok(msg, 17, 1), "17 bytes");
	msg[0] = 2;
	CHECK(!natpmp_answer_ok(msg, 16, 1), "PCP's version");
	msg[0] = 0;
	msg[1] = 130;
	CHECK(!natpmp_answer_ok(msg, 16, 1), "a TCP mapping");
	msg[1] = 1;
	CHECK(!natpmp_answer_ok(msg, 16, 1), "a request");
	CHECK(!natpmp_answer_ok(msg, 0, 1), "empty");

	TEST("natpmp_answer_ok: a refusal, with its header only");
	memcpy(msg, map, sizeof(map));
	msg[3] = 2;
	CHECK(natpmp_answer_ok(msg, 8, 1), "8 bytes");
	CHECK(natpmp_answer_ok(msg, 16, 1), "16 bytes");
	CHECK(!natpmp_answer_ok(msg, 7, 1), "7 bytes");
}

/* RFC 6887 8.5 */
static void
test_epoch(void)
{
	struct pmp_epoch	e;

	TEST("pmp_epoch_check: a gateway that kept its state");
	memset(&e, 0, sizeof(e));
	CHECK(pmp_epoch_check(&e, 1000, 5000) == 0, "first answer");
	CHECK(pmp_epoch_check(&e, 1000, 5300) == 0, "same second");
	CHECK(pmp_epoch_check(&e, 1600, 605300) == 0, "10 minutes on");
	CHECK(pmp_epoch_check(&e, 1602, 605300) == 0, "2 s ahead");
	CHECK(pmp_epoch_check(&e, 1601, 605300) == 0, "1 s back");

	TEST("pmp_epoch_check: a gateway that lost it");
	memset(&e, 0, sizeof(e));
	pmp_epoch_check(&e, 100000, 1000);
	CHECK(pmp_epoch_check(&e, 5, 2000) == 1, "restarted");
	memset(&e, 0, sizeof(e));
	pmp_epoch_check(&e, 1000, 1000);
	CHECK(pmp_epoch_check(&e, 1010, 601000) == 1,
	    "10 s on its clock, 10 minutes on ours");
	memset(&e, 0, sizeof(e));
	pmp_epoch_check(&e, 1000, 1000);
	CHECK(pmp_epoch_check(&e, 5000, 11000) == 1,
	    "an hour on its clock, 10 s on ours");
	CHECK(pmp_epoch_check(&e, 5010, 21000) == 0,
	    "then steady again");
}

static void
test_route(void)
{
	static const char	 table[] =
	    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\t"
	    "Mask\t\tMTU\tWindow\tIRTT\n"
	    "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
	    "eth1\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
	    "eth0\t00000000\t010113C6\t0003\t0\t0\t50\t00000000\t0\t0\t0\n"
	    "eth0\t0000000A\t010000C6\t0003\t0\t0\t0\t000000FF\t0\t0\t0\n";
	static const char	 *const none[] = {
		"",
		"Iface\tDestination\tGateway \tFlags\n",
		/* a route to 0/0 without a gateway: a point-to-point link */
		"tun0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n",
		/* down */
		"eth0\t00000000\t0101A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n",
		/* cut short, no newline */
		"eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000",
		"eth0 junk 00000000 0101A8C0\n",
	};
	struct in_addr		 gw;
	size_t			 i;

	TEST("upnp_route_gateway: the default route of lowest metric");
	CHECK(upnp_route_gateway(table, strlen(table), &gw) == 0 &&
	    gw.s_addr == inet_addr("198.19.1.1"), "%s", inet_ntoa(gw));

	TEST("upnp_route_gateway: tables without a default gateway");
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		CHECK(upnp_route_gateway(none[i], strlen(none[i]), &gw) == -1,
		    "table %zu", i);
}

int
main(void)
{
	log_init(1, LOG_DAEMON);
	test_url();
	test_answer();
	test_answer_pmp();
	test_pcp_build();
	test_pcp_parse();
	test_natpmp_answer();
	test_epoch();
	test_route();
	return (regress_end());
}
