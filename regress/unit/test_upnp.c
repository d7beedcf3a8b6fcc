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
 * which the sandbox does not allow), and the engine's check of each
 * answer from the worker against its request.  Talking to a real gateway
 * is regress/lab/upnp.sh's part.
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
	memset(&an, 0, sizeof(an));
	an.seq = 9;
	an.op = UPNP_OP_UNMAP;
	an.ext_port = 33723;
	an.status = UPNP_OK;
	CHECK(upnp_answer_check(&un, &an, &ext) == UPNP_OK, "deleted");
	an.status = UPNP_FAILED;
	an.call = UPNP_CALL_DELETE;
	an.code = UPNP_E_NOGATEWAY;
	CHECK(upnp_answer_check(&un, &an, &ext) == UPNP_FAILED, "failed");
	an.ext_port = 1;
	CHECK(upnp_answer_check(&un, &an, &ext) == -1, "another port");
}

int
main(void)
{
	log_init(1, LOG_DAEMON);
	test_url();
	test_answer();
	return (regress_end());
}
