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


/* The endpoint choice state machine (wgmeshd/mesh.c), driven by hand. */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wgmeshd.h"
#include "regress.h"

struct recorder {
	int				 nset;
	int				 npoke;
	struct imsg_set_endpoint	 last;
};

static void	 record(enum mesh_action, struct mesh_peer *,
		    const struct imsg_set_endpoint *, void *);
static struct imsg_addr addr4(const char *, uint16_t);
static void	 one_peer(struct mesh *, struct recorder *);
static void	 test_literal(void);
static void	 test_up_is_left_alone(void);
static void	 test_rotation_and_backoff(void);
static void	 test_no_endpoint(void);
static void	 test_reconf_keeps_state(void);
static void	 test_waits_for_device(void);

static void
record(enum mesh_action a, struct mesh_peer *p,
    const struct imsg_set_endpoint *set, void *arg)
{
	struct recorder	*r = arg;

	if (a == MESH_ACTION_SET_ENDPOINT) {
		r->nset++;
		r->last = *set;
	} else
		r->npoke++;
}

static struct imsg_addr
addr4(const char *s, uint16_t port)
{
	struct imsg_addr	a;

	memset(&a, 0, sizeof(a));
	a.af = AF_INET;
	a.port = port;
	inet_pton(AF_INET, s, a.addr);
	return (a);
}

/* One peer, and the device's first report: not on the device yet. */
static void
one_peer(struct mesh *m, struct recorder *r)
{
	struct mesh_peer	p;
	struct imsg_device_peer	dev;

	memset(r, 0, sizeof(*r));
	mesh_init(m, record, r);
	memset(&p, 0, sizeof(p));
	p.iface = 0;
	p.index = 0;
	strlcpy(p.name, "edgeworth", sizeof(p.name));
	p.public_key[0] = 1;
	p.keepalive = 25;
	mesh_reconf(m, &p, 1);
	memset(&dev, 0, sizeof(dev));
	mesh_device(m, &m->peers[0], &dev, 0);
}

static void
test_literal(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct imsg_addr	 a = addr4("198.18.0.2", 51820);

	TEST("a configured address is set, then poked");
	one_peer(&m, &r);
	mesh_candidates(&m, &m.peers[0], &a, 1, EP_SOURCE_CONFIG, 1000);
	CHECK(r.nset == 1 && imsg_addr_equal(&r.last.endpoint, &a) &&
	    r.last.keepalive == 25 && r.last.peer == 0, "set %d", r.nset);
	CHECK(m.peers[0].state == PEER_STATE_CONNECTING, "state %d",
	    m.peers[0].state);
	mesh_tick(&m, 1001);
	CHECK(r.npoke == 1 && r.nset == 1, "poke %d set %d", r.npoke, r.nset);
	mesh_clear(&m);
}

static void
test_up_is_left_alone(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct imsg_addr	 a = addr4("198.18.0.2", 51820);
	struct imsg_device_peer	 dev;
	int64_t			 t;

	TEST("a peer with a recent handshake is never moved");
	one_peer(&m, &r);
	mesh_candidates(&m, &m.peers[0], &a, 1, EP_SOURCE_CONFIG, 1000);
	memset(&dev, 0, sizeof(dev));
	dev.last_handshake = 1002;
	/* it roamed: WireGuard follows it to another address */
	dev.endpoint = addr4("198.18.9.9", 40000);
	mesh_device(&m, &m.peers[0], &dev, 1002);
	CHECK(m.peers[0].state == PEER_STATE_UP, "state %d", m.peers[0].state);
	CHECK(m.peers[0].source == EP_SOURCE_DEVICE, "source %d",
	    m.peers[0].source);
	r.nset = r.npoke = 0;
	for (t = 1003; t < 1002 + MESH_HANDSHAKE_FRESH; t++)
		mesh_tick(&m, t);
	CHECK(r.nset == 0 && r.npoke == 0, "moved: set %d poke %d", r.nset,
	    r.npoke);
	/* the handshake goes stale: both addresses are tried in turn */
	mesh_tick(&m, 1002 + MESH_HANDSHAKE_FRESH);
	CHECK(r.nset == 1 && imsg_addr_equal(&r.last.endpoint, &a),
	    "first the configured one (%d)", r.nset);
	mesh_tick(&m, 1002 + MESH_HANDSHAKE_FRESH + MESH_TRY_SECONDS);
	CHECK(r.nset == 2 && r.last.endpoint.port == 40000,
	    "then the one that worked last (%d, port %u)", r.nset,
	    r.last.endpoint.port);
	mesh_clear(&m);
}

static void
test_rotation_and_backoff(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct imsg_addr	 a[3];
	int64_t			 t;
	int			 sets_first_hour;

	TEST("candidates rotate, then back off without flapping");
	one_peer(&m, &r);
	a[0] = addr4("198.18.0.2", 51820);
	a[1] = addr4("198.18.0.3", 51820);
	a[2] = addr4("198.18.0.4", 51820);
	mesh_candidates(&m, &m.peers[0], a, 3, EP_SOURCE_DNS, 0);
	CHECK(r.nset == 1 && imsg_addr_equal(&r.last.endpoint, &a[0]), "a0");
	mesh_tick(&m, MESH_TRY_SECONDS);
	CHECK(r.nset == 2 && imsg_addr_equal(&r.last.endpoint, &a[1]), "a1");
	mesh_tick(&m, 2 * MESH_TRY_SECONDS);
	CHECK(r.nset == 3 && imsg_addr_equal(&r.last.endpoint, &a[2]), "a2");
	mesh_tick(&m, 3 * MESH_TRY_SECONDS);
	CHECK(m.peers[0].state == PEER_STATE_UNREACHABLE, "state %d",
	    m.peers[0].state);
	CHECK(strstr(m.peers[0].reason, "no handshake at 3 endpoints") !=
	    NULL, "reason: %s", m.peers[0].reason);
	for (t = 3 * MESH_TRY_SECONDS + 1; t < 3600; t++)
		mesh_tick(&m, t);
	sets_first_hour = r.nset;
	/* backoff doubles up to MESH_BACKOFF_MAX: tens of tries, not 700 */
	CHECK(sets_first_hour < 60, "%d endpoint changes in an hour",
	    sets_first_hour);
	CHECK(sets_first_hour > 3, "gave up after %d", sets_first_hour);
	mesh_clear(&m);
}

static void
test_no_endpoint(void)
{
	struct mesh	m;
	struct recorder	r;

	TEST("no endpoint: wait for the peer");
	one_peer(&m, &r);
	mesh_tick(&m, 10);
	mesh_tick(&m, 100);
	CHECK(r.nset == 0 && r.npoke == 0, "acted without an endpoint");
	CHECK(m.peers[0].state == PEER_STATE_NO_ENDPOINT, "state %d",
	    m.peers[0].state);
	mesh_clear(&m);
}

static void
test_reconf_keeps_state(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct mesh_peer	 p[2];
	struct imsg_device_peer	 dev;

	TEST("a reload keeps what is known about unchanged peers");
	one_peer(&m, &r);
	memset(&dev, 0, sizeof(dev));
	dev.last_handshake = 50;
	dev.endpoint = addr4("198.18.0.2", 51820);
	mesh_device(&m, &m.peers[0], &dev, 50);
	memset(p, 0, sizeof(p));
	p[0].index = 0;
	p[0].public_key[0] = 2;		/* a new peer first */
	p[1].index = 1;
	p[1].public_key[0] = 1;		/* edgeworth, renumbered */
	mesh_reconf(&m, p, 2);
	CHECK(m.npeers == 2, "npeers %zu", m.npeers);
	CHECK(m.peers[1].device.last_handshake == 50 &&
	    m.peers[1].state == PEER_STATE_UP, "state lost");
	CHECK(m.peers[1].index == 1, "index not renumbered");
	CHECK(m.peers[0].state == PEER_STATE_NO_ENDPOINT, "new peer state");
	CHECK(mesh_peer_find(&m, 0, 1) == &m.peers[1], "find");
	CHECK(mesh_peer_find(&m, 0, 2) == NULL, "find out of range");
	mesh_reconf(&m, NULL, 0);
	CHECK(m.npeers == 0, "emptied");
	mesh_clear(&m);
}

static void
test_waits_for_device(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct mesh_peer	 p;
	struct imsg_device_peer	 dev;
	struct imsg_addr	 a = addr4("198.18.0.2", 51820);

	TEST("nothing is set before the device has been read");
	memset(&r, 0, sizeof(r));
	mesh_init(&m, record, &r);
	memset(&p, 0, sizeof(p));
	p.public_key[0] = 1;
	mesh_reconf(&m, &p, 1);
	/* a restart: the configured address is known before the device */
	mesh_candidates(&m, &m.peers[0], &a, 1, EP_SOURCE_CONFIG, 1000);
	mesh_tick(&m, 1001);
	CHECK(r.nset == 0 && r.npoke == 0, "set %d poke %d before the device",
	    r.nset, r.npoke);
	/* the session is up on the device: still nothing */
	memset(&dev, 0, sizeof(dev));
	dev.last_handshake = 990;
	dev.endpoint = addr4("198.18.7.7", 40000);
	mesh_device(&m, &m.peers[0], &dev, 1001);
	CHECK(r.nset == 0 && r.npoke == 0 && m.peers[0].state ==
	    PEER_STATE_UP, "set %d poke %d state %d", r.nset, r.npoke,
	    m.peers[0].state);
	mesh_clear(&m);
}

int
main(void)
{
	test_waits_for_device();
	test_literal();
	test_up_is_left_alone();
	test_rotation_and_backoff();
	test_no_endpoint();
	test_reconf_keeps_state();
	return (regress_end());
}
