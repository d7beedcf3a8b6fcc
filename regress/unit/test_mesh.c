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

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wgmeshd.h"
#include "wire.h"
#include "engine.h"
#include "regress.h"

struct recorder {
	int				 nset;
	int				 nchange;	/* to another one */
	int				 npoke;
	enum mesh_action		 lastpoke;
	struct imsg_set_endpoint	 last;
};

/* A mesh of many peers: which of them were sent endpoints. */
#define FAN_PEERS	128
struct fan {
	struct mesh	*m;
	int		 endpoints[FAN_PEERS];	/* ENDPOINTS datagrams to each */
	int		 entries[FAN_PEERS];	/* and entries in them */
	uint8_t		 about;			/* counted: entries of it */
	int		 nabout;
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
static void	 test_totals(void);
static void	 test_waits_for_device(void);
static void	 test_gossip_push(void);
static void	 test_gossip_news_and_punch(void);
static void	 test_punch_relay(void);
static void	 test_gossip_bad(void);
static void	 test_persisted_last(void);
static void	 test_silence(void);
static void	 test_alive(void);
static void	 test_doubt(void);
static void	 test_backoff_news(void);
static void	 test_keepalive_deferred(void);
static void	 test_lan_not_gossiped(void);
static void	 test_lan_not_relayed(void);
static void	 test_lan_prefers_ipv4(void);
static void	 test_lan_trial(void);
static void	 test_obs_flood(void);
static void	 test_obs_heard(void);
static void	 test_upnp_relayed(void);
static void	 test_upnp_waits(void);
static void	 test_rules(void);
static void	 fan_send(struct mesh_peer *, uint8_t, const uint8_t *, size_t,
		    void *);
static void	 fan_action(enum mesh_action, struct mesh_peer *,
		    const struct imsg_set_endpoint *, void *);
static void	 fan_mesh(struct mesh *, struct fan *, int, int, int64_t);
static int	 fan_reached(const struct fan *);
static void	 test_gossip_fanout(void);
static void	 test_gossip_forward(void);
static void	 pong_record(struct mesh_peer *, uint32_t, void *);
static void	 test_ping(void);
static void	 dev_rx(struct mesh *, struct imsg_device_peer *, uint64_t,
		    int64_t);
static void	 test_why_resolve(void);
static void	 test_why_keys(void);
static void	 test_why_keys_not_crossed(void);
static void	 test_why_rx(void);
static void	 test_why_nat(void);

#define WHY_KEYS	"keys or preshared key differ (check public-key, " \
			    "preshared-key-file), or our answers are lost"

static void
record(enum mesh_action a, struct mesh_peer *p,
    const struct imsg_set_endpoint *set, void *arg)
{
	struct recorder	*r = arg;

	if (a == MESH_ACTION_SET_ENDPOINT) {
		r->nset++;
		if (!imsg_addr_equal(&r->last.endpoint, &set->endpoint))
			r->nchange++;
		r->last = *set;
	} else {
		r->npoke++;
		r->lastpoke = a;
	}
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
	mesh_init(m, record, NULL, r, 1);
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

	struct imsg_device_peer	 dev;

	TEST("a configured address is set, then poked");
	one_peer(&m, &r);
	mesh_candidates(&m, &m.peers[0], &a, 1, ORIGIN_CONFIGURED, 1000);
	CHECK(r.nset == 1 && imsg_addr_equal(&r.last.endpoint, &a) &&
	    r.last.keepalive == 25 && r.last.peer == 0, "set %d", r.nset);
	CHECK(m.peers[0].state == PEER_STATE_CONNECTING, "state %d",
	    m.peers[0].state);
	CHECK(r.npoke == 0, "poked %d times before the device had it",
	    r.npoke);
	memset(&dev, 0, sizeof(dev));
	dev.endpoint = a;
	mesh_device(&m, &m.peers[0], &dev, 1000);
	CHECK(r.npoke == 1, "poked %d times once the device had it", r.npoke);
	mesh_device(&m, &m.peers[0], &dev, 1000);
	CHECK(r.npoke == 1, "poked again (%d) for the same setting", r.npoke);
	mesh_tick(&m, 1001);
	/* set again each MESH_PUNCH_SECONDS: the parent makes it anew */
	CHECK(r.nset == 2 && r.nchange == 1, "set %d times, changes %d",
	    r.nset, r.nchange);
	mesh_device(&m, &m.peers[0], &dev, 1001);
	CHECK(r.npoke == 2, "poke %d after the second setting", r.npoke);
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
	mesh_candidates(&m, &m.peers[0], &a, 1, ORIGIN_CONFIGURED, 1000);
	memset(&dev, 0, sizeof(dev));
	dev.last_handshake = 1002;
	dev.rx_bytes = 1;
	/* it roamed: WireGuard follows it to another address */
	dev.endpoint = addr4("198.18.9.9", 40000);
	mesh_device(&m, &m.peers[0], &dev, 1002);
	CHECK(m.peers[0].state == PEER_STATE_UP, "state %d", m.peers[0].state);
	CHECK(m.peers[0].origin == ORIGIN_DEVICE, "source %d",
	    m.peers[0].origin);
	r.nset = r.npoke = 0;
	for (t = 1003; t < 1002 + MESH_HANDSHAKE_FRESH_SECONDS; t++) {
		if (t % 10 == 0) {	/* its keepalives */
			dev.rx_bytes++;
			mesh_device(&m, &m.peers[0], &dev, t);
		}
		mesh_tick(&m, t);
	}
	CHECK(r.nset == 0 && r.npoke == 0, "moved: set %d poke %d", r.nset,
	    r.npoke);
	/* the handshake goes stale: both addresses are tried in turn */
	mesh_tick(&m, 1002 + MESH_HANDSHAKE_FRESH_SECONDS);
	CHECK(r.nset == 1 && imsg_addr_equal(&r.last.endpoint, &a),
	    "first the configured one (%d)", r.nset);
	mesh_tick(&m, 1002 + MESH_HANDSHAKE_FRESH_SECONDS + MESH_TRY_SECONDS);
	/* the device has it still: poked, not set (the parent would
	   make the peer anew) */
	CHECK(r.nset == 1 && r.npoke == 1 &&
	    m.peers[0].trying.port == 40000,
	    "then the one that worked last (set %d, poke %d, port %u)",
	    r.nset, r.npoke, m.peers[0].trying.port);
	mesh_tick(&m, 1003 + MESH_HANDSHAKE_FRESH_SECONDS + MESH_TRY_SECONDS);
	CHECK(r.nset == 2 && r.last.endpoint.port == 40000,
	    "and set a second later (%d, port %u)", r.nset,
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
	mesh_candidates(&m, &m.peers[0], a, 3, ORIGIN_DNS, 0);
	CHECK(r.nset == 1 && imsg_addr_equal(&r.last.endpoint, &a[0]), "a0");
	mesh_tick(&m, MESH_TRY_SECONDS);
	CHECK(r.nset == 2 && imsg_addr_equal(&r.last.endpoint, &a[1]), "a1");
	mesh_tick(&m, 2 * MESH_TRY_SECONDS);
	CHECK(r.nset == 3 && imsg_addr_equal(&r.last.endpoint, &a[2]), "a2");
	mesh_tick(&m, 3 * MESH_TRY_SECONDS);
	CHECK(m.peers[0].state == PEER_STATE_UNREACHABLE, "state %d",
	    m.peers[0].state);
	CHECK(strcmp(m.peers[0].reason, "nothing came back from 3 "
	    "endpoints: down, a firewall, or keys differ") == 0,
	    "reason: %s", m.peers[0].reason);
	for (t = 3 * MESH_TRY_SECONDS + 1; t < 3600; t++)
		mesh_tick(&m, t);
	sets_first_hour = r.nchange;
	/* backoff doubles up to MESH_BACKOFF_MAX_SECONDS: tens, not 700 */
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
	CHECK(strcmp(m.peers[0].reason,
	    "no endpoint known; waiting for the peer") == 0, "reason: %s",
	    m.peers[0].reason);
	mesh_clear(&m);
}

/* The device's report of peer 0 with rx bytes and no handshake. */
static void
dev_rx(struct mesh *m, struct imsg_device_peer *dev, uint64_t rx,
    int64_t now)
{
	dev->rx_bytes = rx;
	mesh_device(m, &m->peers[0], dev, now);
}

static void
test_why_resolve(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct imsg_addr	 a = addr4("198.18.0.2", 51820);

	TEST("why: a name that does not resolve, and what the resolver said");
	one_peer(&m, &r);
	mesh_resolve_failed(&m, &m.peers[0], "nb.example",
	    "nodename nor servname provided, or not known", 10);
	CHECK(m.peers[0].state == PEER_STATE_UNREACHABLE &&
	    strcmp(m.peers[0].reason, "cannot resolve nb.example: nodename "
	    "nor servname provided, or not known") == 0,
	    "state %d, reason: %s", m.peers[0].state, m.peers[0].reason);
	mesh_tick(&m, 11);
	CHECK(m.peers[0].state == PEER_STATE_UNREACHABLE &&
	    strncmp(m.peers[0].reason, "cannot resolve", 14) == 0,
	    "a tick later: %s", m.peers[0].reason);
	/* it resolves: tried */
	mesh_candidates(&m, &m.peers[0], &a, 1, ORIGIN_DNS, 12);
	CHECK(m.peers[0].state == PEER_STATE_CONNECTING && r.nset == 1 &&
	    m.peers[0].resolve_error[0] == '\0', "state %d, set %d, %s",
	    m.peers[0].state, r.nset, m.peers[0].reason);
	mesh_clear(&m);
}

/*
 * Its initiation reached us (WireGuard counts it in rx bytes), and none
 * completes for longer than one of WireGuard's retries: said at once, in
 * the middle of the first round, not at its end; counters that restart
 * (the peer made anew) still count as bytes; a handshake ends it.
 */
static void
test_why_keys(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct imsg_addr	 a[3];
	struct imsg_device_peer	 dev;

	TEST("why: its handshakes reach us, none completes: keys differ");
	one_peer(&m, &r);
	a[0] = addr4("198.18.0.2", 51820);
	a[1] = addr4("198.18.0.3", 51820);
	a[2] = addr4("198.18.0.4", 51820);
	mesh_candidates(&m, &m.peers[0], a, 3, ORIGIN_CONFIGURED, 1000);
	memset(&dev, 0, sizeof(dev));
	dev.endpoint = a[0];
	dev_rx(&m, &dev, 148, 1001);
	mesh_tick(&m, 1002);
	dev_rx(&m, &dev, 0, 1003);		/* made anew */
	dev_rx(&m, &dev, 148, 1005);
	mesh_tick(&m, 1006);
	CHECK(m.peers[0].state == PEER_STATE_CONNECTING,
	    "after 4 s: state %d, %s", m.peers[0].state, m.peers[0].reason);
	dev_rx(&m, &dev, 296, 1007);
	CHECK(m.peers[0].state == PEER_STATE_CONNECTING,
	    "after 6 s: state %d, %s", m.peers[0].state, m.peers[0].reason);
	r.nset = 0;
	mesh_tick(&m, 1009);
	CHECK(m.peers[0].state == PEER_STATE_UNREACHABLE &&
	    strcmp(m.peers[0].reason, WHY_KEYS) == 0 &&
	    m.peers[0].next < m.peers[0].ntry,
	    "after 8 s, within the round (%zu of %zu): state %d, %s",
	    m.peers[0].next, m.peers[0].ntry, m.peers[0].state,
	    m.peers[0].reason);
	/* rule 8: this end's initiation, at once, where it is tried */
	CHECK(r.nset == 1 && (r.last.flags & SET_ENDPOINT_ANEW) != 0 &&
	    imsg_addr_equal(&r.last.endpoint, &a[1]),
	    "set %d, flags %u", r.nset, r.last.flags);
	r.nset = 0;
	mesh_tick(&m, 1010);
	/* rule 8: set anew, so that this end sends an initiation too */
	CHECK(r.nset == 1 && (r.last.flags & SET_ENDPOINT_ANEW) != 0,
	    "set %d, flags %u", r.nset, r.last.flags);
	mesh_tick(&m, 1015);
	CHECK(strcmp(m.peers[0].reason, WHY_KEYS) == 0,
	    "at the round's end: %s", m.peers[0].reason);
	/* the other end fixed its key: a handshake */
	dev.last_handshake = 1020;
	dev_rx(&m, &dev, 400, 1020);
	CHECK(m.peers[0].state == PEER_STATE_UP && m.peers[0].hs_rx_first == 0,
	    "state %d, evidence %lld", m.peers[0].state,
	    (long long)m.peers[0].hs_rx_first);
	mesh_clear(&m);

	TEST("why: evidence of keys that differ ends with a reload");
	one_peer(&m, &r);
	memset(&dev, 0, sizeof(dev));
	dev.endpoint = a[0];
	dev_rx(&m, &dev, 148, 1001);
	dev_rx(&m, &dev, 296, 1009);
	CHECK(strcmp(m.peers[0].reason, WHY_KEYS) == 0, "before: %s",
	    m.peers[0].reason);
	{
		struct mesh_peer	p = m.peers[0];

		p.pair = NULL;
		mesh_reconf(&m, &p, 1);
	}
	mesh_tick(&m, 1010);
	CHECK(m.peers[0].hs_rx_first == 0 &&
	    strcmp(m.peers[0].reason, WHY_KEYS) != 0, "after: %s",
	    m.peers[0].reason);
	mesh_clear(&m);
}

/* Two initiations that cross, then a handshake: no word of keys. */
static void
test_why_keys_not_crossed(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct imsg_addr	 a = addr4("198.18.0.2", 51820);
	struct imsg_device_peer	 dev;

	TEST("why: initiations that cross once are no evidence");
	one_peer(&m, &r);
	mesh_candidates(&m, &m.peers[0], &a, 1, ORIGIN_CONFIGURED, 1000);
	memset(&dev, 0, sizeof(dev));
	dev.endpoint = a;
	dev_rx(&m, &dev, 148, 1000);
	mesh_tick(&m, 1001);
	mesh_tick(&m, 1004);
	dev.last_handshake = 1005;
	dev_rx(&m, &dev, 296, 1005);
	mesh_tick(&m, 1006);
	CHECK(m.peers[0].state == PEER_STATE_UP && m.peers[0].hs_rx_first == 0,
	    "state %d, %s", m.peers[0].state, m.peers[0].reason);
	mesh_clear(&m);
}

/* Bytes from it within a round, but not long enough to tell. */
static void
test_why_rx(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct imsg_addr	 a = addr4("198.18.0.2", 51820);
	struct imsg_device_peer	 dev;

	TEST("why: a round with bytes from it and no handshake");
	one_peer(&m, &r);
	mesh_candidates(&m, &m.peers[0], &a, 1, ORIGIN_CONFIGURED, 1000);
	memset(&dev, 0, sizeof(dev));
	dev.endpoint = a;
	dev_rx(&m, &dev, 148, 1002);
	mesh_tick(&m, 1005);
	CHECK(m.peers[0].state == PEER_STATE_UNREACHABLE &&
	    strcmp(m.peers[0].reason, "no handshake at 1 endpoint, though its "
	    "handshakes reach us") == 0, "state %d, %s", m.peers[0].state,
	    m.peers[0].reason);
	/* one initiation, at the start only: enough, once time has passed */
	mesh_tick(&m, 1009);
	CHECK(strcmp(m.peers[0].reason, WHY_KEYS) != 0, "at 7 s: %s",
	    m.peers[0].reason);
	mesh_tick(&m, 1010);
	CHECK(strcmp(m.peers[0].reason, WHY_KEYS) == 0, "at 8 s: %s",
	    m.peers[0].reason);
	mesh_clear(&m);
}

/*
 * Both ends started together: the peer's initiations came before the
 * device was first read, and none after (it answers ours, and sends none
 * of its own meanwhile).  They are evidence all the same, as long as the
 * device never had a handshake with it; a handshake long ago (its bytes
 * may be a session's) is not.
 */
static void
test_why_keys_first_read(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct mesh_peer	 p;
	struct imsg_addr	 a = addr4("198.18.0.2", 51820);
	struct imsg_device_peer	 dev;
	int			 stale;

	for (stale = 0; stale <= 1; stale++) {
		TEST(stale ? "why: bytes at the first read after an old "
		    "handshake are no evidence" : "why: its initiations "
		    "before the first read are evidence");
		memset(&r, 0, sizeof(r));
		mesh_init(&m, record, NULL, &r, 1);
		memset(&p, 0, sizeof(p));
		strlcpy(p.name, "edgeworth", sizeof(p.name));
		p.public_key[0] = 1;
		p.keepalive = 25;
		mesh_reconf(&m, &p, 1);
		memset(&dev, 0, sizeof(dev));
		dev.endpoint = a;
		dev.last_handshake = stale ? 1000 - 400 : 0;
		dev_rx(&m, &dev, 296, 1000);
		mesh_candidates(&m, &m.peers[0], &a, 1, ORIGIN_CONFIGURED,
		    1000);
		/* only our own initiations from now on */
		dev.tx_bytes = 148;
		mesh_device(&m, &m.peers[0], &dev, 1005);
		mesh_tick(&m, 1007);
		CHECK(strcmp(m.peers[0].reason, WHY_KEYS) != 0, "at 7 s: %s",
		    m.peers[0].reason);
		mesh_tick(&m, 1008);
		CHECK(stale == (strcmp(m.peers[0].reason, WHY_KEYS) != 0),
		    "at 8 s: %s", m.peers[0].reason);
		mesh_clear(&m);
	}
}

/*
 * Both NATs map each destination anew (rule 14's evidence: two nodes see
 * the peer at one address and two ports, two peers see us so): said,
 * and only then.
 */
static void
test_why_nat(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct mesh_peer	 conf[3], *p;
	struct imsg_device_peer	 dev;
	int			 i;

	TEST("why: both NATs map each destination anew, on evidence only");
	memset(&r, 0, sizeof(r));
	mesh_init(&m, record, NULL, &r, 1);
	memset(conf, 0, sizeof(conf));
	for (i = 0; i < 3; i++) {
		conf[i].index = i;
		snprintf(conf[i].name, sizeof(conf[i].name), "n%d", i);
		conf[i].public_key[0] = i + 1;
		conf[i].address[15] = i + 1;
	}
	mesh_reconf(&m, conf, 3);
	p = &m.peers[0];
	for (i = 0; i < 2; i++) {
		p->obs[i].addr = addr4("198.18.5.5", 40000 + i);
		p->obs[i].observed = 1000;
		p->obs[i].origin = ORIGIN_OBSERVED;
		p->obs[i].firsthand = 1;
		p->obs[i].reporter = i + 1;
	}
	p->nobs = 2;
	m.peers[1].sees_us = addr4("198.18.6.6", 50000);
	m.peers[2].sees_us = addr4("198.18.6.6", 50001);
	m.peers[1].sees_us_at = m.peers[2].sees_us_at = 1000;
	memset(&dev, 0, sizeof(dev));
	mesh_device(&m, p, &dev, 1000);
	mesh_tick(&m, 1005);
	mesh_tick(&m, 1010);
	CHECK(p->state == PEER_STATE_UNREACHABLE && strcmp(p->reason,
	    "no handshake at 2 endpoints: both NATs map each destination "
	    "anew") == 0, "state %d, %s", p->state, p->reason);
	/* one of them only: nothing is said of NATs */
	m.peers[2].sees_us.port = 50000;
	mesh_tick(&m, 1030);
	mesh_tick(&m, 1035);
	mesh_tick(&m, 1040);
	CHECK(p->state == PEER_STATE_UNREACHABLE && strcmp(p->reason,
	    "nothing came back from 2 endpoints: down, a firewall, or keys "
	    "differ") == 0, "state %d, %s", p->state, p->reason);
	mesh_clear(&m);
}

/*
 * The byte totals wgmeshctl shows never go back: the device's counters
 * restart when the peer is made anew (rule 13), and a reload keeps the
 * totals; endpoint changes are counted, an endpoint that goes away not.
 */
static void
test_totals(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct mesh_peer	 p[2];
	struct imsg_device_peer	 dev;

	TEST("byte totals never go back when the device's counters restart");
	one_peer(&m, &r);
	memset(&dev, 0, sizeof(dev));
	dev.last_handshake = 50;
	dev.endpoint = addr4("198.18.0.2", 51820);
	dev.rx_bytes = 1000;
	dev.tx_bytes = 2000;
	mesh_device(&m, &m.peers[0], &dev, 50);
	CHECK(m.peers[0].rx_total == 1000 && m.peers[0].tx_total == 2000,
	    "first report: %llu %llu",
	    (unsigned long long)m.peers[0].rx_total,
	    (unsigned long long)m.peers[0].tx_total);
	CHECK(m.peers[0].endpoint_changes == 1, "endpoint changes %llu",
	    (unsigned long long)m.peers[0].endpoint_changes);
	dev.rx_bytes = 1500;
	dev.tx_bytes = 2100;
	mesh_device(&m, &m.peers[0], &dev, 51);
	CHECK(m.peers[0].rx_total == 1500 && m.peers[0].tx_total == 2100,
	    "growth: %llu %llu", (unsigned long long)m.peers[0].rx_total,
	    (unsigned long long)m.peers[0].tx_total);
	/* made anew: the device starts again from 0 */
	dev.rx_bytes = 92;
	dev.tx_bytes = 148;
	mesh_device(&m, &m.peers[0], &dev, 52);
	CHECK(m.peers[0].rx_total == 1592 && m.peers[0].tx_total == 2248,
	    "after a remake: %llu %llu",
	    (unsigned long long)m.peers[0].rx_total,
	    (unsigned long long)m.peers[0].tx_total);
	CHECK(m.peers[0].device.rx_bytes == 92,
	    "the device's view is its own: %llu",
	    (unsigned long long)m.peers[0].device.rx_bytes);
	/* gone from the device, then back elsewhere */
	memset(&dev, 0, sizeof(dev));
	mesh_device(&m, &m.peers[0], &dev, 53);
	CHECK(m.peers[0].rx_total == 1592, "peer gone: %llu",
	    (unsigned long long)m.peers[0].rx_total);
	dev.endpoint = addr4("198.18.0.3", 51820);
	dev.rx_bytes = 10;
	mesh_device(&m, &m.peers[0], &dev, 54);
	CHECK(m.peers[0].rx_total == 1602, "back: %llu",
	    (unsigned long long)m.peers[0].rx_total);
	CHECK(m.peers[0].endpoint_changes == 2, "endpoint changes %llu",
	    (unsigned long long)m.peers[0].endpoint_changes);
	/* a reload that renumbers it keeps its totals */
	memset(p, 0, sizeof(p));
	p[0].index = 0;
	p[0].public_key[0] = 2;
	p[1].index = 1;
	p[1].public_key[0] = 1;
	mesh_reconf(&m, p, 2);
	CHECK(m.peers[1].rx_total == 1602 && m.peers[1].tx_total == 2248 &&
	    m.peers[1].endpoint_changes == 2, "reload lost the totals");
	CHECK(m.peers[0].rx_total == 0 && m.peers[0].endpoint_changes == 0,
	    "a new peer starts at 0");
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
	dev.rx_bytes = 1;
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
	mesh_init(&m, record, NULL, &r, 1);
	memset(&p, 0, sizeof(p));
	p.public_key[0] = 1;
	mesh_reconf(&m, &p, 1);
	/* a restart: the configured address is known before the device */
	mesh_candidates(&m, &m.peers[0], &a, 1, ORIGIN_CONFIGURED, 1000);
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

/* Three peers, p0 p1 p2, all read from the device, none up. */
struct sent {
	int		 to;
	uint8_t		 type;
	uint8_t		 buf[GOSSIP_MAX_PAYLOAD_BYTES];
	size_t		 len;
};

struct net {
	struct recorder	 r;
	struct mesh	*m;
	struct sent	 sent[64];
	int		 nsent;
};

static void
sent_record(struct mesh_peer *to, uint8_t type, const uint8_t *buf,
    size_t len, void *arg)
{
	struct net	*n = arg;
	struct sent	*s;

	if (n->nsent == 64)
		return;
	s = &n->sent[n->nsent++];
	s->to = to - n->m->peers;
	s->type = type;
	memcpy(s->buf, buf, len);
	s->len = len;
}

static void
net_action(enum mesh_action a, struct mesh_peer *p,
    const struct imsg_set_endpoint *set, void *arg)
{
	struct net	*n = arg;

	record(a, p, set, &n->r);
}

static void
three_peers(struct mesh *m, struct net *n)
{
	struct mesh_peer	p[3];
	struct imsg_device_peer	dev;
	int			i;

	memset(n, 0, sizeof(*n));
	n->m = m;
	mesh_init(m, net_action, sent_record, n, 42);
	memset(p, 0, sizeof(p));
	for (i = 0; i < 3; i++) {
		p[i].index = i;
		p[i].public_key[0] = 10 + i;
		p[i].address[0] = 0xfd;
		p[i].address[15] = i;
		p[i].keepalive = 25;
		snprintf(p[i].name, sizeof(p[i].name), "p%d", i);
	}
	mesh_reconf(m, p, 3);
	memset(&dev, 0, sizeof(dev));
	for (i = 0; i < 3; i++) {
		dev.peer = i;
		mesh_device(m, &m->peers[i], &dev, 1000);
	}
}

static void
peer_up(struct mesh *m, int i, const char *addr, uint16_t port, int64_t now)
{
	struct imsg_device_peer	dev;

	memset(&dev, 0, sizeof(dev));
	dev.peer = i;
	dev.last_handshake = now;
	dev.rx_bytes = (uint64_t)now;	/* it keeps talking */
	dev.endpoint = addr4(addr, port);
	mesh_device(m, &m->peers[i], &dev, now);
}

static int
sent_count(const struct net *n, int to, uint8_t type)
{
	int	i, c = 0;

	for (i = 0; i < n->nsent; i++)
		if (n->sent[i].to == to && n->sent[i].type == type)
			c++;
	return (c);
}

static const struct sent *
sent_find(const struct net *n, int to, uint8_t type)
{
	int	i;

	for (i = 0; i < n->nsent; i++)
		if (n->sent[i].to == to && n->sent[i].type == type)
			return (&n->sent[i]);
	return (NULL);
}

static void
test_gossip_push(void)
{
	struct mesh		 m;
	struct net		 n;
	struct gossip_endpoint	 ep[4];
	const struct sent	*s;
	size_t			 k;

	TEST("gossip: a new peer gets the table, the others the change");
	three_peers(&m, &n);
	peer_up(&m, 0, "198.18.0.1", 51820, 1001);
	mesh_tick(&m, 1001);
	/* p0 alone is up: its table has nothing about p1, p2 */
	CHECK(sent_count(&n, 1, GOSSIP_MSG_ENDPOINTS) == 0 &&
	    sent_count(&n, 2, GOSSIP_MSG_ENDPOINTS) == 0, "sent to a peer "
	    "that is down");
	n.nsent = 0;
	peer_up(&m, 1, "198.18.1.1", 40001, 1002);
	CHECK(n.nsent == 0, "pushed before mesh_flush (%d)", n.nsent);
	mesh_flush(&m, 1002);
	/* p0 hears where p1 is; p1 gets the table: where p0 is */
	s = sent_find(&n, 0, GOSSIP_MSG_ENDPOINTS);
	CHECK(s != NULL && gossip_endpoints_decode(s->buf, s->len, ep, 4,
	    &k) == 0 && k == 1 && ep[0].public_key[0] == 11 &&
	    ep[0].addr.port == 40001 && ep[0].origin == ORIGIN_OBSERVED,
	    "p0 was not told where p1 is");
	s = sent_find(&n, 1, GOSSIP_MSG_ENDPOINTS);
	/* and, last, where p1 itself is seen (rule 14) */
	CHECK(s != NULL && gossip_endpoints_decode(s->buf, s->len, ep, 4,
	    &k) == 0 && k == 2 && ep[0].public_key[0] == 10 &&
	    ep[0].addr.port == 51820 && ep[1].public_key[0] == 11 &&
	    ep[1].addr.port == 40001, "p1 did not get the table");
	/* nothing changes: nothing is sent until anti-entropy */
	n.nsent = 0;
	mesh_tick(&m, 1003);
	mesh_tick(&m, 1004);
	CHECK(n.nsent == 0, "%d datagrams without a change", n.nsent);
	peer_up(&m, 0, "198.18.0.1", 51820, 1001 + MESH_ANTI_ENTROPY_SECONDS);
	peer_up(&m, 1, "198.18.1.1", 40001, 1001 + MESH_ANTI_ENTROPY_SECONDS);
	n.nsent = 0;
	mesh_tick(&m, 1001 + MESH_ANTI_ENTROPY_SECONDS);
	CHECK(n.nsent == 1, "anti-entropy: %d datagrams", n.nsent);
	/* p1 roams (WireGuard follows it): p0 hears at once */
	n.nsent = 0;
	peer_up(&m, 1, "198.18.1.2", 40001, 1005 + MESH_ANTI_ENTROPY_SECONDS);
	mesh_tick(&m, 1005 + MESH_ANTI_ENTROPY_SECONDS);
	CHECK(sent_count(&n, 0, GOSSIP_MSG_ENDPOINTS) == 1 &&
	    sent_count(&n, 1, GOSSIP_MSG_ENDPOINTS) == 0, "roaming pushed "
	    "to p0 %d, p1 %d", sent_count(&n, 0, GOSSIP_MSG_ENDPOINTS),
	    sent_count(&n, 1, GOSSIP_MSG_ENDPOINTS));
	mesh_clear(&m);
}

static void
test_gossip_news_and_punch(void)
{
	struct mesh		 m;
	struct net		 n;
	struct gossip_endpoint	 ep;
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES];
	uint8_t			 key[WG_KEY_LEN];
	const struct sent	*s;
	ssize_t			 len;
	size_t			 k;

	TEST("gossip: news of an unreachable peer is tried at once");
	three_peers(&m, &n);
	peer_up(&m, 0, "198.18.0.1", 51820, 1001);
	mesh_tick(&m, 1001);
	n.nsent = 0;
	n.r.nset = n.r.npoke = 0;
	memset(&ep, 0, sizeof(ep));
	ep.public_key[0] = 11;		/* p1, seen by p0 behind a NAT */
	ep.addr = addr4("198.18.2.1", 40002);
	ep.observed = 1001;
	ep.origin = ORIGIN_OBSERVED;
	len = gossip_endpoints_encode(buf, sizeof(buf), &ep, 1, &k);
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ENDPOINTS, buf,
	    (size_t)len, 1002) == 0, "refused");
	CHECK(n.r.nset == 1 && n.r.last.peer == 1 &&
	    imsg_addr_equal(&n.r.last.endpoint, &ep.addr) && n.r.npoke == 0,
	    "set %d poke %d (the poke waits for the device)", n.r.nset,
	    n.r.npoke);
	s = sent_find(&n, 0, GOSSIP_MSG_PUNCH_REQUEST);
	CHECK(s != NULL && gossip_punch_request_decode(s->buf, s->len,
	    key) == 0 && key[0] == 11, "no PUNCH_REQUEST to p0 for p1");
	CHECK(m.peers[1].state == PEER_STATE_CONNECTING, "state %d",
	    m.peers[1].state);
	/* the same news again: nothing more */
	n.nsent = 0;
	mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ENDPOINTS, buf, (size_t)len,
	    1003);
	CHECK(n.r.nset == 1 && n.nsent == 0, "repeated: set %d sent %d",
	    n.r.nset, n.nsent);
	/* news from the future or from long ago is ignored */
	ep.addr = addr4("198.18.2.9", 40009);
	ep.observed = 1004 + MESH_OBS_FUTURE_SECONDS + 1;
	len = gossip_endpoints_encode(buf, sizeof(buf), &ep, 1, &k);
	mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ENDPOINTS, buf, (size_t)len,
	    1004);
	ep.observed = 1004 - MESH_OBS_MAX_AGE_SECONDS;
	len = gossip_endpoints_encode(buf, sizeof(buf), &ep, 1, &k);
	mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ENDPOINTS, buf, (size_t)len,
	    1004);
	CHECK(m.peers[1].nobs == 1, "%zu observations kept", m.peers[1].nobs);
	mesh_clear(&m);
}

static void
test_punch_relay(void)
{
	struct mesh		 m;
	struct net		 n;
	struct gossip_endpoint	 ep;
	uint8_t			 req[GOSSIP_PUNCH_REQUEST_LEN];
	uint8_t			 key[WG_KEY_LEN];
	const struct sent	*s;
	ssize_t			 len;
	size_t			 k;

	TEST("gossip: a PUNCH_REQUEST is relayed, no answer larger");
	three_peers(&m, &n);
	peer_up(&m, 0, "198.18.1.1", 40001, 1001);
	peer_up(&m, 1, "198.18.2.1", 40002, 1001);
	mesh_tick(&m, 1001);
	n.nsent = 0;
	memset(key, 0, sizeof(key));
	key[0] = 11;
	len = gossip_punch_request_encode(req, sizeof(req), key);
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_PUNCH_REQUEST, req,
	    (size_t)len, 1002) == 0, "refused");
	s = sent_find(&n, 1, GOSSIP_MSG_PUNCH);
	CHECK(s != NULL && s->len <= (size_t)len &&
	    gossip_endpoints_decode(s->buf, s->len, &ep, 1, &k) == 0 &&
	    ep.public_key[0] == 10 && ep.addr.port == 40001,
	    "no PUNCH to p1 with where p0 is");
	s = sent_find(&n, 0, GOSSIP_MSG_ENDPOINTS);
	CHECK(s != NULL && s->len <= (size_t)len &&
	    gossip_endpoints_decode(s->buf, s->len, &ep, 1, &k) == 0 &&
	    ep.public_key[0] == 11 && ep.addr.port == 40002,
	    "no answer to p0 with where p1 is");
	/* at most one a second for a target */
	n.nsent = 0;
	mesh_receive(&m, &m.peers[0], GOSSIP_MSG_PUNCH_REQUEST, req,
	    (size_t)len, 1002);
	CHECK(n.nsent == 0, "%d sent for a second request", n.nsent);
	/* a target that is not up here: no answer at all */
	key[0] = 12;
	len = gossip_punch_request_encode(req, sizeof(req), key);
	mesh_receive(&m, &m.peers[0], GOSSIP_MSG_PUNCH_REQUEST, req,
	    (size_t)len, 1003);
	CHECK(n.nsent == 0, "%d sent for a target that is down", n.nsent);

	TEST("gossip: a PUNCH makes the peer try at once, rate-limited");
	n.r.nset = n.r.npoke = 0;
	memset(&ep, 0, sizeof(ep));
	ep.public_key[0] = 12;
	ep.addr = addr4("198.18.3.1", 40003);
	ep.observed = 1003;
	ep.origin = ORIGIN_OBSERVED;
	len = gossip_endpoints_encode(req, sizeof(req), &ep, 1, &k);
	mesh_receive(&m, &m.peers[0], GOSSIP_MSG_PUNCH, req, (size_t)len,
	    1003);
	CHECK(n.r.nset == 1 && n.r.last.peer == 2 && n.r.npoke == 0,
	    "set %d poke %d (the poke waits for the device)", n.r.nset,
	    n.r.npoke);
	ep.addr = addr4("198.18.3.2", 40003);
	len = gossip_endpoints_encode(req, sizeof(req), &ep, 1, &k);
	mesh_receive(&m, &m.peers[0], GOSSIP_MSG_PUNCH, req, (size_t)len,
	    1003 + MESH_PUNCH_SECONDS - 1);
	CHECK(n.r.nset == 1, "a second PUNCH within %d s was followed",
	    MESH_PUNCH_SECONDS);
	/* a peer that is up is never moved by a PUNCH */
	n.r.nset = 0;
	ep.public_key[0] = 11;
	len = gossip_endpoints_encode(req, sizeof(req), &ep, 1, &k);
	mesh_receive(&m, &m.peers[0], GOSSIP_MSG_PUNCH, req, (size_t)len,
	    1010);
	CHECK(n.r.nset == 0, "an up peer was moved");
	mesh_clear(&m);
}

static void
test_gossip_bad(void)
{
	struct mesh		 m;
	struct net		 n;
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES];

	TEST("gossip: malformed payloads change nothing, answer nothing");
	three_peers(&m, &n);
	peer_up(&m, 0, "198.18.1.1", 40001, 1001);
	peer_up(&m, 1, "198.18.2.1", 40002, 1001);
	mesh_tick(&m, 1001);
	n.nsent = 0;
	n.r.nset = n.r.npoke = 0;
	memset(buf, 0xff, sizeof(buf));
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ENDPOINTS, buf, 61,
	    1002) == -1, "bad ENDPOINTS accepted");
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_PUNCH_REQUEST, buf,
	    GOSSIP_PUNCH_REQUEST_LEN, 1002) == -1, "bad padding accepted");
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_PUNCH, buf, 0,
	    1002) == -1, "empty PUNCH accepted");
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_PING, buf, 16,
	    1002) == -1, "PING accepted");
	CHECK(n.nsent == 0 && n.r.nset == 0 && n.r.npoke == 0,
	    "sent %d set %d", n.nsent, n.r.nset);
	CHECK(m.stats.rx_bad == 4, "rx_bad %llu",
	    (unsigned long long)m.stats.rx_bad);
	mesh_clear(&m);
}

static void
test_persisted_last(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct imsg_addr	 conf = addr4("198.18.0.2", 51820);
	struct imsg_addr	 old = addr4("198.18.7.7", 51820);

	TEST("the state file's endpoints are tried after the configured");
	one_peer(&m, &r);
	mesh_persisted(&m, &m.peers[0], &old, 900, 1000);
	CHECK(r.nset == 1 && imsg_addr_equal(&r.last.endpoint, &old),
	    "alone, the persisted endpoint is tried (%d)", r.nset);
	mesh_candidates(&m, &m.peers[0], &conf, 1, ORIGIN_CONFIGURED, 1001);
	CHECK(r.nset == 2 && imsg_addr_equal(&r.last.endpoint, &conf),
	    "the configured one first (%d)", r.nset);
	mesh_tick(&m, 1001 + MESH_TRY_SECONDS);
	CHECK(r.nset == 3 && imsg_addr_equal(&r.last.endpoint, &old),
	    "then the persisted one (%d)", r.nset);
	mesh_clear(&m);
}

static void
test_silence(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct imsg_addr	 a = addr4("198.18.0.2", 51820);
	struct imsg_device_peer	 dev;

	TEST("a recent handshake but silence past the keepalive: not up");
	one_peer(&m, &r);
	mesh_candidates(&m, &m.peers[0], &a, 1, ORIGIN_CONFIGURED, 1000);
	memset(&dev, 0, sizeof(dev));
	dev.last_handshake = 1001;
	dev.rx_bytes = 100;
	dev.endpoint = a;
	mesh_device(&m, &m.peers[0], &dev, 1001);
	CHECK(m.peers[0].state == PEER_STATE_UP, "state %d",
	    m.peers[0].state);
	mesh_tick(&m, 1001 + 25 + MESH_SILENCE_MARGIN_SECONDS);
	CHECK(m.peers[0].state == PEER_STATE_UP, "up within the margin");
	mesh_tick(&m, 1002 + 25 + MESH_SILENCE_MARGIN_SECONDS);
	CHECK(m.peers[0].state != PEER_STATE_UP, "still up after silence");
	mesh_clear(&m);
}

/* Gossip from p0 saying where it saw peer "key" at "now". */
static void
news(struct mesh *m, uint8_t key, const char *addr, uint16_t port,
    int64_t now)
{
	struct gossip_endpoint	ep;
	uint8_t			buf[GOSSIP_MAX_PAYLOAD_BYTES];
	ssize_t			len;
	size_t			k;

	memset(&ep, 0, sizeof(ep));
	ep.public_key[0] = key;
	ep.addr = addr4(addr, port);
	ep.observed = now;
	ep.origin = ORIGIN_OBSERVED;
	len = gossip_endpoints_encode(buf, sizeof(buf), &ep, 1, &k);
	CHECK(len > 0 && mesh_receive(m, &m->peers[0], GOSSIP_MSG_ENDPOINTS,
	    buf, (size_t)len, now) == 0, "news refused");
}

/*
 * An endpoint inside a peer's derived /64 is the overlay: WireGuard
 * would send into the tunnel.  Such gossip is dropped and counted.
 */
static void
test_overlay_refused(void)
{
	struct mesh		 m;
	struct net		 n;
	struct gossip_endpoint	 ep;
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES];
	ssize_t			 len;
	size_t			 k;

	TEST("gossip of an endpoint inside the mesh's overlay is dropped");
	three_peers(&m, &n);
	peer_up(&m, 0, "198.18.0.1", 51820, 1001);
	memset(&ep, 0, sizeof(ep));
	ep.public_key[0] = 12;			/* p2 */
	ep.addr.af = AF_INET6;
	ep.addr.port = 51820;
	inet_pton(AF_INET6, "fd00::99", ep.addr.addr);	/* p1's /64 */
	ep.observed = 1002;
	ep.origin = ORIGIN_OBSERVED;
	len = gossip_endpoints_encode(buf, sizeof(buf), &ep, 1, &k);
	n.r.nset = 0;
	CHECK(len > 0 && mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ENDPOINTS,
	    buf, (size_t)len, 1002) == 0, "refused whole");
	mesh_tick(&m, 1002);
	CHECK(m.peers[2].nobs == 0, "kept %zu observations", m.peers[2].nobs);
	CHECK(n.r.nset == 0, "tried it (%d sets)", n.r.nset);
	CHECK(m.stats.rx_unknown == 1, "rx_unknown %llu",
	    (unsigned long long)m.stats.rx_unknown);
	/* the same /64 but another peer's: still the overlay */
	inet_pton(AF_INET6, "fd00:1::1", ep.addr.addr);	/* no peer's */
	len = gossip_endpoints_encode(buf, sizeof(buf), &ep, 1, &k);
	CHECK(len > 0 && mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ENDPOINTS,
	    buf, (size_t)len, 1003) == 0, "refused whole");
	CHECK(m.peers[2].nobs == 1, "an address outside the overlay was "
	    "not kept (%zu)", m.peers[2].nobs);
	mesh_clear(&m);
}

static void
test_alive(void)
{
	struct mesh		 m;
	struct net		 n;
	const struct sent	*s;
	uint8_t			 tok[GOSSIP_ALIVE_LEN + 1];
	int64_t			 t;

	TEST("a quiet peer is asked, and stays up when it answers");
	three_peers(&m, &n);
	peer_up(&m, 0, "198.18.0.1", 51820, 1001);
	n.nsent = 0;
	for (t = 1002; t <= 1001 + 25; t++)
		mesh_tick(&m, t);
	CHECK(sent_count(&n, 0, GOSSIP_MSG_ALIVE) == 0, "asked too early");
	mesh_tick(&m, 1027);
	mesh_tick(&m, 1027);
	CHECK(sent_count(&n, 0, GOSSIP_MSG_ALIVE) == 1, "%d ALIVEs after "
	    "the keepalive", sent_count(&n, 0, GOSSIP_MSG_ALIVE));
	s = sent_find(&n, 0, GOSSIP_MSG_ALIVE);
	CHECK(s != NULL && s->len == GOSSIP_ALIVE_LEN, "ALIVE size");
	/* the answer is the only thing received: the device saw nothing */
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ALIVE_ACK, s->buf,
	    s->len, 1027) == 0, "ALIVE_ACK refused");
	for (t = 1028; t <= 1027 + 25 + MESH_SILENCE_MARGIN_SECONDS; t++)
		mesh_tick(&m, t);
	CHECK(m.peers[0].state == PEER_STATE_UP && n.r.nset == 0,
	    "an answering peer was given up (state %d, %d set)",
	    m.peers[0].state, n.r.nset);
	mesh_tick(&m, 1028 + 25 + MESH_SILENCE_MARGIN_SECONDS);
	CHECK(m.peers[0].state != PEER_STATE_UP, "up without an answer");

	TEST("an ALIVE is answered by an ALIVE_ACK as large, no more");
	n.nsent = 0;
	memset(tok, 7, sizeof(tok));
	CHECK(mesh_receive(&m, &m.peers[1], GOSSIP_MSG_ALIVE, tok,
	    GOSSIP_ALIVE_LEN, 1100) == 0, "ALIVE refused");
	s = sent_find(&n, 1, GOSSIP_MSG_ALIVE_ACK);
	CHECK(n.nsent == 1 && s != NULL && s->len == GOSSIP_ALIVE_LEN &&
	    memcmp(s->buf, tok, GOSSIP_ALIVE_LEN) == 0, "answer");
	CHECK(mesh_receive(&m, &m.peers[1], GOSSIP_MSG_ALIVE, tok,
	    GOSSIP_ALIVE_LEN + 1, 1100) == -1 && mesh_receive(&m,
	    &m.peers[1], GOSSIP_MSG_ALIVE_ACK, tok, 1, 1100) == -1 &&
	    n.nsent == 1, "bad sizes taken or answered");
	mesh_clear(&m);
}

/* mesh_pong_cb: what wgmeshctl ping's hook was told */
static int		 pong_n;
static uint32_t		 pong_id;
static struct mesh_peer	*pong_peer;

static void
pong_record(struct mesh_peer *p, uint32_t id, void *arg)
{
	pong_n++;
	pong_id = id;
	pong_peer = p;
}

static void
test_ping(void)
{
	struct mesh		 m;
	struct net		 n;
	const struct sent	*s;
	uint8_t			 ping[GOSSIP_ALIVE_LEN], own[GOSSIP_ALIVE_LEN];
	uint64_t		 alive_tx;
	int64_t			 alive_at;

	TEST("wgmeshctl ping: an ALIVE, its answer to the hook with its id");
	three_peers(&m, &n);
	peer_up(&m, 0, "198.18.0.1", 51820, 1001);
	mesh_tick(&m, 1001);
	m.pong = pong_record;
	pong_n = 0;
	n.nsent = 0;
	alive_at = m.peers[0].alive_at;
	alive_tx = m.stats.alive_tx;
	mesh_ping(&m, &m.peers[0], 42);
	s = sent_find(&n, 0, GOSSIP_MSG_ALIVE);
	CHECK(n.nsent == 1 && s != NULL && s->len == GOSSIP_ALIVE_LEN,
	    "no ALIVE sent");
	CHECK(m.stats.alive_tx == alive_tx + 1, "not counted as sent");
	/* the mesh's own questions keep their pace */
	CHECK(m.peers[0].alive_at == alive_at, "alive_at moved");
	memcpy(ping, s->buf, sizeof(ping));
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ALIVE_ACK, ping,
	    sizeof(ping), 1002) == 0, "its answer refused");
	CHECK(pong_n == 1 && pong_id == 42 && pong_peer == &m.peers[0],
	    "hook: %d calls, id %u", pong_n, pong_id);
	CHECK(m.peers[0].rx_at == 1002, "its answer is no sign of life");

	TEST("wgmeshctl ping: an answer to the mesh's own ALIVE is not one");
	m.peers[0].doubt_at = 1003;	/* asked: mesh_doubt() */
	mesh_tick(&m, 1003);
	s = sent_find(&n, 0, GOSSIP_MSG_ALIVE);
	CHECK(sent_count(&n, 0, GOSSIP_MSG_ALIVE) == 2, "not asked in doubt");
	memcpy(own, n.sent[n.nsent - 1].buf, sizeof(own));
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ALIVE_ACK, own,
	    sizeof(own), 1003) == 0 && pong_n == 1, "the hook was told");
	CHECK(m.peers[0].doubt_at == 0, "the doubt did not end");

	TEST("wgmeshctl ping: its answer ends no doubt, proves no trial");
	/* a ping sent before a doubt began, answered in the same second */
	mesh_ping(&m, &m.peers[0], 43);
	memcpy(ping, n.sent[n.nsent - 1].buf, sizeof(ping));
	m.peers[0].doubt_at = 1004;
	m.peers[0].alive_at = 1004;
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ALIVE_ACK, ping,
	    sizeof(ping), 1004) == 0 && pong_n == 2 && pong_id == 43,
	    "hook: %d calls, id %u", pong_n, pong_id);
	CHECK(m.peers[0].doubt_at == 1004, "a ping's answer ended a doubt");
	/* in a direct trial (rule 17): only the mesh's own answer proves */
	m.peers[0].doubt_at = 0;
	m.peers[0].trial_at = 1000;
	m.peers[0].trial_ack_at = 0;
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ALIVE_ACK, ping,
	    sizeof(ping), 1005) == 0, "refused");
	CHECK(m.peers[0].trial_ack_at == 0, "a ping's answer taken as a "
	    "trial's proof");
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ALIVE_ACK, own,
	    sizeof(own), 1005) == 0 && m.peers[0].trial_ack_at == 1005,
	    "the mesh's own answer not taken");
	/* late, after the engine gave up: still a ping's, hook or none */
	m.peers[0].trial_ack_at = 0;
	m.pong = NULL;
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ALIVE_ACK, ping,
	    sizeof(ping), 1006) == 0 && m.peers[0].trial_ack_at == 0 &&
	    pong_n == 3, "a late answer taken");
	m.peers[0].trial_at = 0;
	mesh_clear(&m);
}

static void
test_doubt(void)
{
	struct mesh		 m;
	struct net		 n;
	struct imsg_addr	 moved = addr4("198.18.1.9", 40001);
	int			 answer;

	for (answer = 0; answer < 2; answer++) {
		TEST(answer ? "news that an up peer moved: it answers, it "
		    "stays" : "news that an up peer moved: no answer within "
		    "MESH_ALIVE_GRACE_SECONDS, the news is tried");
		three_peers(&m, &n);
		peer_up(&m, 0, "198.18.0.1", 51820, 1001);
		peer_up(&m, 1, "198.18.1.1", 40001, 1001);
		mesh_tick(&m, 1001);
		n.nsent = 0;
		n.r.nset = 0;
		news(&m, 11, "198.18.1.9", 40001, 1003);
		CHECK(sent_count(&n, 1, GOSSIP_MSG_ALIVE) == 1,
		    "not asked at once");
		mesh_tick(&m, 1004);
		CHECK(m.peers[1].state == PEER_STATE_UP && n.r.nset == 0,
		    "given up before the grace");
		if (answer)
			mesh_receive(&m, &m.peers[1], GOSSIP_MSG_ALIVE_ACK,
			    n.sent[0].buf, GOSSIP_ALIVE_LEN, 1004);
		mesh_tick(&m, 1003 + MESH_ALIVE_GRACE_SECONDS);
		mesh_tick(&m, 1004 + MESH_ALIVE_GRACE_SECONDS);
		if (answer)
			CHECK(m.peers[1].state == PEER_STATE_UP &&
			    n.r.nset == 0 && m.peers[1].doubt_at == 0,
			    "moved although it answered (%d set)", n.r.nset);
		else
			CHECK(m.peers[1].state != PEER_STATE_UP &&
			    n.r.nset >= 1 && n.r.last.peer == 1 &&
			    imsg_addr_equal(&n.r.last.endpoint, &moved),
			    "state %d, %d set", m.peers[1].state, n.r.nset);
		mesh_clear(&m);
	}
}

static void
test_backoff_news(void)
{
	struct mesh	m;
	struct net	n;
	int64_t		t;
	int		before;

	TEST("backing off, news is tried once per pause (symmetric NAT)");
	three_peers(&m, &n);
	peer_up(&m, 0, "198.18.0.1", 51820, 1001);
	news(&m, 11, "198.18.1.1", 40001, 1002);
	for (t = 1003; t < 1100 &&
	    m.peers[1].state != PEER_STATE_UNREACHABLE; t++) {
		peer_up(&m, 0, "198.18.0.1", 51820, t);
		mesh_tick(&m, t);
	}
	CHECK(m.peers[1].state == PEER_STATE_UNREACHABLE &&
	    m.peers[1].retry_at > t, "not backing off at %lld",
	    (long long)t);
	before = n.r.nset;
	news(&m, 11, "198.18.1.1", 40002, t + 1);
	CHECK(n.r.nset == before + 1, "the first news in the pause not tried");
	news(&m, 11, "198.18.1.1", 40003, t + 3);
	news(&m, 11, "198.18.1.1", 40004, t + 5);
	CHECK(n.r.nset == before + 1, "%d more tries in one pause",
	    n.r.nset - before);
	CHECK(m.peers[1].state == PEER_STATE_UNREACHABLE, "state %d",
	    m.peers[1].state);
	mesh_clear(&m);
}

static void
test_keepalive_deferred(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct imsg_addr	 a = addr4("198.18.0.2", 51820);
	struct imsg_device_peer	 dev;
	int			 dir;

	for (dir = 0; dir < 2; dir++) {
		TEST(dir ? "the end with the larger key pokes later, and gets "
		    "its keepalive once up" : "the end with the smaller key "
		    "sets its keepalive at once");
		one_peer(&m, &r);
		if ((m.peers[0].pair = calloc(1,
		    sizeof(*m.peers[0].pair))) == NULL)
			abort();
		m.peers[0].pair->send_dir = dir;
		m.peers[0].starts_later = dir;
		mesh_candidates(&m, &m.peers[0], &a, 1, ORIGIN_CONFIGURED,
		    1000);
		CHECK(r.nset == 1 && r.last.keepalive == (dir ? 0 : 25),
		    "set %d, keepalive %u", r.nset, r.last.keepalive);
		memset(&dev, 0, sizeof(dev));
		dev.endpoint = a;
		mesh_device(&m, &m.peers[0], &dev, 1000);
		CHECK(r.npoke == 1 && r.nset == 1, "poke %d set %d", r.npoke,
		    r.nset);
		CHECK(r.lastpoke == (dir ? MESH_ACTION_POKE_SOON :
		    MESH_ACTION_POKE) && r.nset == 1, "poke %d set %d",
		    r.lastpoke, r.nset);
		/* up: the keepalive held back is set, where it is */
		dev.last_handshake = 1001;
		dev.rx_bytes = 1;
		mesh_device(&m, &m.peers[0], &dev, 1001);
		mesh_tick(&m, 1002);
		CHECK(m.peers[0].state == PEER_STATE_UP && r.nset == 1 + dir &&
		    r.last.keepalive == 25 && imsg_addr_equal(
		    &r.last.endpoint, &a), "up %d, set %d keepalive %u",
		    m.peers[0].state, r.nset, r.last.keepalive);
		mesh_clear(&m);
	}
}

/*
 * A peer that answers over both families keeps its IPv4 LAN address while
 * that one is usable; the link-local one takes over only after it.
 */
static void
test_lan_prefers_ipv4(void)
{
	struct mesh		 m;
	struct net		 n;
	struct imsg_addr	 lan4 = addr4("198.19.1.5", 51820), lan6;
	struct mesh_peer	*p;

	TEST("LAN: IPv4 before IPv6 link-local");
	memset(&lan6, 0, sizeof(lan6));
	lan6.af = AF_INET6;
	lan6.port = 51820;
	lan6.addr[0] = 0xfe;
	lan6.addr[1] = 0x80;
	lan6.addr[15] = 5;
	lan6.scope = 2;
	three_peers(&m, &n);
	p = &m.peers[1];
	mesh_lan_verified(&m, p, &lan4, 1001);
	CHECK(imsg_addr_equal(&p->lan, &lan4), "IPv4 first");
	mesh_lan_verified(&m, p, &lan6, 1002);
	CHECK(imsg_addr_equal(&p->lan, &lan4) && p->lan_at == 1001,
	    "IPv6 while IPv4 is usable: IPv4 kept");
	mesh_lan_verified(&m, p, &lan6, 1001 + MESH_LAN_FRESH_SECONDS);
	CHECK(imsg_addr_equal(&p->lan, &lan6), "IPv6 once IPv4 is stale");
	mesh_lan_verified(&m, p, &lan4, 1002 + MESH_LAN_FRESH_SECONDS);
	CHECK(imsg_addr_equal(&p->lan, &lan4), "IPv4 again over IPv6");
	lan6.scope = 0;
	mesh_lan_verified(&m, p, &lan6, 1003 + MESH_LAN_FRESH_SECONDS +
	    MESH_LAN_FRESH_SECONDS);
	CHECK(imsg_addr_equal(&p->lan, &lan4), "no link-local without a "
	    "scope");
	mesh_clear(&m);
}

/*
 * p0, a member that lies, fills our table for p2 with made-up addresses
 * dated as late as it may; p1 then tells where it truly sees p2: that
 * report is kept and tried at once, and p0 holds no more than its own
 * slots, dated no later than they arrived.
 */
static void
test_obs_flood(void)
{
	struct mesh		 m;
	struct net		 n;
	struct gossip_endpoint	 ep[GOSSIP_ENDPOINTS_MAX];
	struct imsg_addr	 truth = addr4("198.18.2.1", 40002);
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES];
	size_t			 i, k, from0;
	ssize_t			 len;

	TEST("one member's flood of news hides no peer");
	three_peers(&m, &n);
	peer_up(&m, 0, "198.18.0.1", 51820, 1001);
	peer_up(&m, 1, "198.18.1.1", 51820, 1001);
	memset(ep, 0, sizeof(ep));
	for (i = 0; i < GOSSIP_ENDPOINTS_MAX; i++) {
		ep[i].public_key[0] = 12;	/* p2 */
		ep[i].addr = addr4("198.18.66.1", (uint16_t)(1000 + i));
		ep[i].addr.addr[3] = (uint8_t)i;
		ep[i].observed = 1002 + MESH_OBS_FUTURE_SECONDS - 1;
		ep[i].origin = i % 2 == 0 ? ORIGIN_OBSERVED : ORIGIN_UPNP;
	}
	len = gossip_endpoints_encode(buf, sizeof(buf), ep,
	    GOSSIP_ENDPOINTS_MAX, &k);
	CHECK(len > 0 && mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ENDPOINTS,
	    buf, (size_t)len, 1002) == 0, "the flood refused");
	for (i = from0 = 0; i < m.peers[2].nobs; i++) {
		if (m.peers[2].obs[i].reporter == 0)
			from0++;
		CHECK(m.peers[2].obs[i].observed <= 1002,
		    "a time after it arrived: %lld",
		    (long long)m.peers[2].obs[i].observed);
	}
	CHECK(from0 <= 2, "p0 holds %zu slots", from0);
	/* the truth, a second later */
	memset(ep, 0, sizeof(ep));
	ep[0].public_key[0] = 12;
	ep[0].addr = truth;
	ep[0].observed = 1003;
	ep[0].origin = ORIGIN_OBSERVED;
	len = gossip_endpoints_encode(buf, sizeof(buf), ep, 1, &k);
	n.r.nset = 0;
	CHECK(mesh_receive(&m, &m.peers[1], GOSSIP_MSG_ENDPOINTS, buf,
	    (size_t)len, 1003) == 0, "the truth refused");
	for (i = 0; i < m.peers[2].nobs; i++)
		if (imsg_addr_equal(&m.peers[2].obs[i].addr, &truth))
			break;
	CHECK(i < m.peers[2].nobs, "p1's report of p2 not kept");
	CHECK(n.r.nset == 1 && n.r.last.peer == 2 &&
	    imsg_addr_equal(&n.r.last.endpoint, &truth),
	    "p1's report of p2 not tried (set %d)", n.r.nset);
	/* and in the rounds, first hand before hearsay */
	mesh_tick(&m, 1003 + MESH_TRY_SECONDS);
	for (i = 0; i < m.peers[2].ntry; i++)
		if (imsg_addr_equal(&m.peers[2].try[i], &truth))
			break;
	CHECK(i < m.peers[2].ntry, "p1's report of p2 not in the round");
	mesh_clear(&m);
}

/*
 * What a node passes on is marked as heard, and ranks below what a node
 * sees itself: a table for p1 carries p2, which is not up here, as heard;
 * of two reports of p2 at the same time, the first-hand one is tried
 * first.
 */
static void
test_obs_heard(void)
{
	struct mesh		 m;
	struct net		 n;
	struct gossip_endpoint	 ep[4], back[GOSSIP_ENDPOINTS_MAX];
	struct imsg_addr	 seen = addr4("198.18.2.1", 40002);
	struct imsg_addr	 heard = addr4("198.18.2.9", 40009);
	const struct sent	*t;
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES];
	size_t			 i, k, nb;
	ssize_t			 len;

	TEST("hearsay is marked, and ranks below first-hand news");
	three_peers(&m, &n);
	peer_up(&m, 0, "198.18.0.1", 51820, 1001);
	memset(ep, 0, sizeof(ep));
	ep[0].public_key[0] = 12;
	ep[0].addr = heard;
	ep[0].observed = 1002;
	ep[0].origin = ORIGIN_OBSERVED;
	ep[0].heard = 1;
	len = gossip_endpoints_encode(buf, sizeof(buf), ep, 1, &k);
	mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ENDPOINTS, buf, (size_t)len,
	    1002);
	CHECK(m.peers[2].nobs == 1 && !m.peers[2].obs[0].firsthand,
	    "hearsay taken as first hand");
	peer_up(&m, 1, "198.18.1.1", 51820, 1002);
	ep[0].addr = seen;
	ep[0].heard = 0;
	len = gossip_endpoints_encode(buf, sizeof(buf), ep, 1, &k);
	mesh_receive(&m, &m.peers[1], GOSSIP_MSG_ENDPOINTS, buf, (size_t)len,
	    1002);
	n.nsent = 0;
	mesh_tick(&m, 1002 + MESH_TRY_SECONDS);
	CHECK(m.peers[2].ntry >= 2 &&
	    imsg_addr_equal(&m.peers[2].try[0], &seen),
	    "the first-hand report not tried first");
	/* p1 came up: its table has p2 as heard, p0 as seen */
	t = sent_find(&n, 1, GOSSIP_MSG_ENDPOINTS);
	CHECK(t != NULL && gossip_endpoints_decode(t->buf, t->len, back,
	    GOSSIP_ENDPOINTS_MAX, &nb) == 0, "no table to p1");
	for (i = k = 0; t != NULL && i < nb; i++) {
		if (back[i].public_key[0] == 12) {
			CHECK(back[i].heard == 1, "p2 not marked as heard");
			k++;
		}
		if (back[i].public_key[0] == 10) {
			CHECK(back[i].heard == 0, "p0 marked as heard");
			k++;
		}
	}
	CHECK(k == 2, "%zu entries of p0 and p2 in p1's table", k);
	mesh_clear(&m);
}

/*
 * A peer up elsewhere moves to a LAN address that answered only on
 * trial (rule 4 of mesh.c): without bytes from it there within
 * MESH_LAN_TRIAL_SECONDS seconds, it goes back, and the LAN is left alone for
 * MESH_LAN_RETRY_SECONDS seconds; with them, it stays.
 */
static void
test_lan_trial(void)
{
	struct mesh		 m;
	struct recorder		 r;
	struct imsg_addr	 wan = addr4("198.18.0.2", 51820);
	struct imsg_addr	 lan = addr4("198.19.1.5", 51820);
	struct imsg_device_peer	 dev;
	struct mesh_peer	*p;
	int64_t			 t;

	TEST("LAN: an up peer is moved on trial, and back without proof");
	one_peer(&m, &r);
	p = &m.peers[0];
	memset(&dev, 0, sizeof(dev));
	dev.last_handshake = 1000;
	dev.rx_bytes = 100;
	dev.endpoint = wan;
	mesh_device(&m, p, &dev, 1000);
	CHECK(p->state == PEER_STATE_UP, "state %d", p->state);
	r.nset = r.nchange = 0;
	mesh_lan_verified(&m, p, &lan, 1001);
	CHECK(r.nset == 1 && imsg_addr_equal(&r.last.endpoint, &lan),
	    "tried at its LAN address (%d)", r.nset);
	/* the device has it there; nothing comes from there */
	dev.endpoint = lan;
	mesh_device(&m, p, &dev, 1001);
	for (t = 1002; t < 1001 + MESH_LAN_TRIAL_SECONDS; t++)
		mesh_tick(&m, t);
	CHECK(r.nset == 1, "set back before the trial ended (%d)", r.nset);
	mesh_tick(&m, 1001 + MESH_LAN_TRIAL_SECONDS);
	CHECK(r.nset == 2 && imsg_addr_equal(&r.last.endpoint, &wan),
	    "set back where it was up (%d)", r.nset);
	dev.endpoint = wan;
	dev.rx_bytes = 200;
	mesh_device(&m, p, &dev, 1002 + MESH_LAN_TRIAL_SECONDS);
	mesh_lan_verified(&m, p, &lan, 1003 + MESH_LAN_TRIAL_SECONDS);
	CHECK(r.nset == 2, "tried again at once (%d)", r.nset);
	mesh_clear(&m);

	TEST("LAN: an up peer stays once it answers there");
	one_peer(&m, &r);
	p = &m.peers[0];
	dev.last_handshake = 1000;
	dev.rx_bytes = 100;
	dev.endpoint = wan;
	mesh_device(&m, p, &dev, 1000);
	r.nset = 0;
	mesh_lan_verified(&m, p, &lan, 1001);
	dev.endpoint = lan;
	mesh_device(&m, p, &dev, 1001);
	/* bytes from it, the device still has it there: proven */
	dev.rx_bytes = 150;
	mesh_device(&m, p, &dev, 1002);
	CHECK(p->lan_moved_at == 0, "still on trial");
	for (t = 1003; t < 1010 + MESH_LAN_TRIAL_SECONDS; t++) {
		dev.rx_bytes++;
		mesh_device(&m, p, &dev, t);
		mesh_tick(&m, t);
	}
	CHECK(r.nset == 1 && imsg_addr_equal(&p->device.endpoint, &lan) &&
	    p->origin == ORIGIN_LAN, "moved away from the LAN (%d)",
	    r.nset);
	mesh_clear(&m);

	TEST("LAN: bytes from elsewhere prove nothing");
	one_peer(&m, &r);
	p = &m.peers[0];
	dev.last_handshake = 1000;
	dev.rx_bytes = 100;
	dev.endpoint = wan;
	mesh_device(&m, p, &dev, 1000);
	r.nset = 0;
	mesh_lan_verified(&m, p, &lan, 1001);
	dev.endpoint = lan;
	mesh_device(&m, p, &dev, 1001);
	/* the peer still sends from its WAN address: WireGuard follows */
	for (t = 1002; t <= 1001 + MESH_LAN_TRIAL_SECONDS; t++) {
		dev.rx_bytes++;
		dev.endpoint = wan;
		mesh_device(&m, p, &dev, t);
		mesh_tick(&m, t);
	}
	CHECK(p->lan_moved_at == 0 && p->lan_failed_at != 0,
	    "the trial did not end as failed");
	CHECK(r.nset == 1, "set again (%d): the device is back already",
	    r.nset);
	mesh_clear(&m);
}

/*
 * p0 and p1 are up, p1 at its LAN address: p2 comes up and gets a table
 * with p0 alone.
 */
static void
lan_peer_table_checked(struct mesh *m, struct net *n)
{
	struct gossip_endpoint	 ep[4];
	const struct sent	*s;
	size_t			 k = 0;

	mesh_flush(m, 1001);
	n->nsent = 0;
	peer_up(m, 2, "198.18.2.1", 40002, 1002);
	mesh_flush(m, 1002);
	s = sent_find(n, 2, GOSSIP_MSG_ENDPOINTS);
	CHECK(s != NULL && gossip_endpoints_decode(s->buf, s->len, ep, 4,
	    &k) == 0 && k == 2 && ep[0].public_key[0] == 10 &&
	    ep[1].public_key[0] == 12,
	    "the table for p2 has %zu entries", s != NULL ? k : 0);
}

static void
test_lan_not_gossiped(void)
{
	struct mesh		 m;
	struct net		 n;
	struct gossip_endpoint	 ep[4];
	struct imsg_addr	 lan = addr4("198.19.1.5", 51820);
	size_t			 k;
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES];
	ssize_t			 len;

	TEST("a LAN address is neither gossiped nor taken from gossip");
	three_peers(&m, &n);
	peer_up(&m, 0, "198.18.0.1", 51820, 1001);
	mesh_lan_verified(&m, &m.peers[1], &lan, 1001);
	peer_up(&m, 1, "198.19.1.5", 51820, 1001);
	CHECK(m.peers[1].origin == ORIGIN_LAN, "source %u",
	    m.peers[1].origin);
	lan_peer_table_checked(&m, &n);
	/* and one from elsewhere is dropped */
	memset(&ep[0], 0, sizeof(ep[0]));
	ep[0].public_key[0] = 12;
	ep[0].addr = addr4("198.19.7.7", 51820);
	ep[0].observed = 1003;
	ep[0].origin = ORIGIN_LAN;
	len = gossip_endpoints_encode(buf, sizeof(buf), ep, 1, &k);
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ENDPOINTS, buf,
	    (size_t)len, 1003) == 0 && m.peers[2].nobs == 0,
	    "kept %zu", m.peers[2].nobs);
	mesh_clear(&m);
}

/*
 * A peer's LAN address is not told to a node elsewhere: not when the
 * device followed the peer there before our challenge was answered, and
 * not in the answer to a PUNCH_REQUEST (mesh20: nodes behind the other
 * router tried it for MESH_TRY_SECONDS first).
 */
static void
test_lan_not_relayed(void)
{
	struct mesh		 m;
	struct net		 n;
	struct gossip_endpoint	 ep[4];
	const struct sent	*s;
	uint8_t			 req[GOSSIP_PUNCH_REQUEST_LEN];
	uint8_t			 key[WG_KEY_LEN];
	ssize_t			 len;
	size_t			 k;

	TEST("a LAN address being challenged is not gossiped");
	three_peers(&m, &n);
	peer_up(&m, 0, "198.18.0.1", 51820, 1001);
	/* p1 is challenged at its LAN address; the device is there first */
	m.peers[1].lan_ping_to = addr4("198.19.1.5", 51820);
	peer_up(&m, 1, "198.19.1.5", 51820, 1001);
	CHECK(m.peers[1].origin != ORIGIN_LAN, "source %u",
	    m.peers[1].origin);
	lan_peer_table_checked(&m, &n);

	TEST("a PUNCH_REQUEST is not answered with a LAN address");
	n.nsent = 0;
	memset(key, 0, sizeof(key));
	key[0] = 11;	/* p2, elsewhere, asks for p1, on our LAN */
	len = gossip_punch_request_encode(req, sizeof(req), key);
	CHECK(mesh_receive(&m, &m.peers[2], GOSSIP_MSG_PUNCH_REQUEST, req,
	    (size_t)len, 1003) == 0, "refused");
	CHECK(sent_find(&n, 2, GOSSIP_MSG_ENDPOINTS) == NULL,
	    "p1's LAN address told to p2");
	s = sent_find(&n, 1, GOSSIP_MSG_PUNCH);
	CHECK(s != NULL && gossip_endpoints_decode(s->buf, s->len, ep, 1,
	    &k) == 0 && ep[0].public_key[0] == 12 && ep[0].addr.port == 40002,
	    "no PUNCH to p1 with where p2 is");
	/* p1, on our LAN, asks for p2: p2 is not told p1's LAN address */
	n.nsent = 0;
	key[0] = 12;
	len = gossip_punch_request_encode(req, sizeof(req), key);
	mesh_receive(&m, &m.peers[1], GOSSIP_MSG_PUNCH_REQUEST, req,
	    (size_t)len, 1004);
	CHECK(sent_find(&n, 2, GOSSIP_MSG_PUNCH) == NULL,
	    "p1's LAN address sent to p2 in a PUNCH");
	s = sent_find(&n, 1, GOSSIP_MSG_ENDPOINTS);
	CHECK(s != NULL && gossip_endpoints_decode(s->buf, s->len, ep, 1,
	    &k) == 0 && ep[0].public_key[0] == 12 && ep[0].addr.port == 40002,
	    "no answer to p1 with where p2 is");
	mesh_clear(&m);
}

static void
test_upnp_relayed(void)
{
	struct mesh		 m;
	struct net		 n;
	struct gossip_endpoint	 ep[4];
	const struct sent	*s;
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES];
	ssize_t			 len;
	size_t			 k, i;
	int			 found = 0;

	TEST("a peer's own UPnP mapping is passed on at the next push");
	three_peers(&m, &n);
	peer_up(&m, 0, "198.18.0.1", 51820, 1001);
	peer_up(&m, 1, "198.18.1.1", 40001, 1001);
	mesh_tick(&m, 1001);
	n.nsent = 0;
	memset(&ep[0], 0, sizeof(ep[0]));
	ep[0].public_key[0] = 10;	/* p0, of itself */
	ep[0].addr = addr4("198.18.0.99", 51820);
	ep[0].observed = 1002;
	ep[0].origin = ORIGIN_UPNP;
	len = gossip_endpoints_encode(buf, sizeof(buf), ep, 1, &k);
	CHECK(mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ENDPOINTS, buf,
	    (size_t)len, 1002) == 0, "refused");
	peer_up(&m, 0, "198.18.0.1", 51820, 1002);
	peer_up(&m, 1, "198.18.1.1", 40001, 1002);
	mesh_tick(&m, 1002);
	s = sent_find(&n, 1, GOSSIP_MSG_ENDPOINTS);
	if (s != NULL && gossip_endpoints_decode(s->buf, s->len, ep, 4,
	    &k) == 0)
		for (i = 0; i < k; i++)
			if (ep[i].public_key[0] == 10 &&
			    ep[i].origin == ORIGIN_UPNP &&
			    ep[i].addr.addr[3] == 99)
				found = 1;
	CHECK(found, "p1 was not told p0's mapping");
	mesh_clear(&m);
}

static void
test_upnp_waits(void)
{
	struct mesh		 m;
	struct net		 n;
	struct imsg_addr	 ext = addr4("198.18.0.11", 33723);
	uint8_t			 own[WG_KEY_LEN];
	int64_t			 t;
	int			 mapped;

	memset(own, 0x77, sizeof(own));
	for (mapped = 0; mapped < 2; mapped++) {
		TEST(mapped ? "with a UPnP mapping, a peer is let come through "
		    "it for a while" : "without a mapping (none asked for, or "
		    "none made yet), gossiped addresses are tried at once");
		three_peers(&m, &n);
		peer_up(&m, 0, "198.18.0.1", 51820, 1001);
		if (mapped)
			mesh_self_endpoint(&m, 0, own, ORIGIN_UPNP, &ext);
		n.r.nset = 0;
		news(&m, 11, "198.18.0.12", 51820, 1002);
		mesh_tick(&m, 1002);
		if (!mapped) {
			CHECK(n.r.nset == 1, "set %d at once", n.r.nset);
			mesh_clear(&m);
			continue;
		}
		CHECK(n.r.nset == 0 && m.peers[1].state ==
		    PEER_STATE_CONNECTING, "set %d, state %d", n.r.nset,
		    m.peers[1].state);
		for (t = 1003; t <= 1002 + MESH_UPNP_WAIT_SECONDS &&
		    n.r.nset == 0; t++) {
			peer_up(&m, 0, "198.18.0.1", 51820, t);
			mesh_tick(&m, t);
		}
		CHECK(n.r.nset == 1 && t - 1 == 1002 + MESH_UPNP_WAIT_SECONDS,
		    "tried at %lld (%d set)", (long long)(t - 1), n.r.nset);
		mesh_clear(&m);
	}
}


static void
fan_send(struct mesh_peer *to, uint8_t type, const uint8_t *buf, size_t len,
    void *arg)
{
	struct fan		*f = arg;
	struct gossip_endpoint	 ep[GOSSIP_ENDPOINTS_MAX];
	size_t			 i, k, n = to - f->m->peers;

	if (type != GOSSIP_MSG_ENDPOINTS || n >= FAN_PEERS ||
	    gossip_endpoints_decode(buf, len, ep, GOSSIP_ENDPOINTS_MAX,
	    &k) == -1)
		return;
	f->endpoints[n]++;
	f->entries[n] += k;
	for (i = 0; i < k; i++)
		if (ep[i].public_key[0] == f->about)
			f->nabout++;
}

static void
fan_action(enum mesh_action a, struct mesh_peer *p,
    const struct imsg_set_endpoint *set, void *arg)
{
}

/*
 * npeers peers (public_key[0] = index + 1), the first nup of them up at
 * "now", the others known to the device and down; then what they sent
 * when they came up is forgotten.
 */
static void
fan_mesh(struct mesh *m, struct fan *f, int npeers, int nup, int64_t now)
{
	struct mesh_peer	*p;
	struct imsg_device_peer	 dev;
	int			 i;

	memset(f, 0, sizeof(*f));
	f->m = m;
	mesh_init(m, fan_action, fan_send, f, 7);
	if ((p = calloc(npeers, sizeof(*p))) == NULL)
		err(1, NULL);
	for (i = 0; i < npeers; i++) {
		p[i].index = i;
		p[i].public_key[0] = i + 1;
		p[i].address[0] = 0xfd;
		p[i].address[15] = i;
		p[i].keepalive = 25;
		snprintf(p[i].name, sizeof(p[i].name), "p%d", i);
	}
	mesh_reconf(m, p, npeers);
	free(p);
	for (i = 0; i < npeers; i++) {
		memset(&dev, 0, sizeof(dev));
		dev.peer = i;
		if (i < nup) {
			dev.last_handshake = now;
			dev.rx_bytes = 1;
			dev.endpoint = addr4("198.18.0.1", 10000 + i);
		}
		mesh_device(m, &m->peers[i], &dev, now);
	}
	mesh_flush(m, now);
	memset(f->endpoints, 0, sizeof(f->endpoints));
	memset(f->entries, 0, sizeof(f->entries));
}

/* How many peers were sent endpoints; no peer more than once. */
static int
fan_reached(const struct fan *f)
{
	int	i, n = 0;

	for (i = 0; i < FAN_PEERS; i++) {
		if (f->endpoints[i] > 1)
			return (-1);
		n += f->endpoints[i];
	}
	return (n);
}

static void
test_gossip_fanout(void)
{
	struct mesh		 m;
	struct fan		 f;
	struct imsg_addr	 a = addr4("198.18.9.9", 4000);
	uint8_t			 own[WG_KEY_LEN];
	int			 n;

	/* log2(100) + MESH_FANOUT_EXTRA */
	TEST("gossip: a change goes to all of 5 up peers, to 10 of 100");
	memset(own, 0, sizeof(own));
	own[0] = 0xee;
	fan_mesh(&m, &f, 5, 5, 1000);
	mesh_self_endpoint(&m, 0, own, ORIGIN_UPNP, &a);
	mesh_flush(&m, 1001);
	CHECK((n = fan_reached(&f)) == 5, "5 up peers: pushed to %d", n);
	mesh_clear(&m);

	fan_mesh(&m, &f, 100, 100, 1000);
	mesh_self_endpoint(&m, 0, own, ORIGIN_UPNP, &a);
	mesh_flush(&m, 1001);
	CHECK((n = fan_reached(&f)) == 10, "100 up peers: pushed to %d", n);
	/* nothing new: nothing more */
	memset(f.endpoints, 0, sizeof(f.endpoints));
	mesh_flush(&m, 1002);
	CHECK((n = fan_reached(&f)) == 0, "pushed again to %d", n);
	mesh_clear(&m);

	/* the labs' sizes: every up peer, as before */
	fan_mesh(&m, &f, MESH_PUSH_ALL, MESH_PUSH_ALL, 1000);
	mesh_self_endpoint(&m, 0, own, ORIGIN_UPNP, &a);
	mesh_flush(&m, 1001);
	CHECK((n = fan_reached(&f)) == MESH_PUSH_ALL, "%d up peers: pushed "
	    "to %d", MESH_PUSH_ALL, n);
	mesh_clear(&m);
}

static void
test_gossip_forward(void)
{
	struct mesh		 m;
	struct fan		 f;
	struct gossip_endpoint	 ep;
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES];
	ssize_t			 len;
	size_t			 k;
	int			 n;

	TEST("gossip: news of a peer that is down is passed on once");
	/* 100 up, p100 down; no anti-entropy round in the next 30 s */
	fan_mesh(&m, &f, 101, 100, 1000);
	m.table_at = 1000;
	f.about = 101;
	memset(&ep, 0, sizeof(ep));
	ep.public_key[0] = 101;
	ep.addr = addr4("198.19.0.7", 40007);
	ep.observed = 1000;
	ep.origin = ORIGIN_OBSERVED;
	len = gossip_endpoints_encode(buf, sizeof(buf), &ep, 1, &k);
	mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ENDPOINTS, buf, (size_t)len,
	    1001);
	CHECK(fan_reached(&f) == 0, "passed on before mesh_flush");
	mesh_flush(&m, 1001);
	CHECK((n = fan_reached(&f)) == 10 && f.nabout == 10, "passed on to "
	    "%d peers, %d entries of p100", n, f.nabout);
	mesh_flush(&m, 1002);
	CHECK(f.nabout == 10, "passed on again (%d)", f.nabout);
	/* the same address, fresher, from another peer: not news */
	ep.observed = 1002;
	len = gossip_endpoints_encode(buf, sizeof(buf), &ep, 1, &k);
	mesh_receive(&m, &m.peers[1], GOSSIP_MSG_ENDPOINTS, buf, (size_t)len,
	    1003);
	mesh_flush(&m, 1003);
	CHECK(f.nabout == 10, "a fresher time passed on (%d)", f.nabout);
	/* another address is */
	ep.addr = addr4("198.19.0.8", 40008);
	len = gossip_endpoints_encode(buf, sizeof(buf), &ep, 1, &k);
	mesh_receive(&m, &m.peers[1], GOSSIP_MSG_ENDPOINTS, buf, (size_t)len,
	    1004);
	mesh_flush(&m, 1004);
	CHECK(f.nabout == 20, "a new address: %d entries", f.nabout);
	mesh_clear(&m);

	/* a small mesh: everyone hears it first hand, nothing passed on */
	fan_mesh(&m, &f, 6, 5, 1000);
	f.about = 6;
	ep.public_key[0] = 6;
	ep.observed = 1000;
	len = gossip_endpoints_encode(buf, sizeof(buf), &ep, 1, &k);
	mesh_receive(&m, &m.peers[0], GOSSIP_MSG_ENDPOINTS, buf, (size_t)len,
	    1001);
	mesh_flush(&m, 1001);
	CHECK(f.nabout == 0, "5 up peers: passed on %d times", f.nabout);
	mesh_clear(&m);
}

/*
 * rules.c: who starts later, and what the parent does with a request to
 * set an endpoint (regress/sim calls the same functions).
 */
static void
test_rules(void)
{
	struct device_set_facts	f, g;
	uint8_t			lo[WG_KEY_LEN], hi[WG_KEY_LEN];

	TEST("rules: who starts later, and the parent's remake rule");
	memset(lo, 0x11, sizeof(lo));
	memset(hi, 0x11, sizeof(hi));
	hi[WG_KEY_LEN - 1] = 0x12;
	CHECK(key_starts_later(hi, lo) && !key_starts_later(lo, hi),
	    "the larger key starts later");

	/* never answered, no handshake: made anew */
	memset(&f, 0, sizeof(f));
	f.has_peer = 1;
	f.now = 10000;
	CHECK(device_set_decide(&f) == DEVICE_SET_REMAKE, "fresh peer");
	g = f;
	g.has_peer = 0;
	CHECK(device_set_decide(&g) == DEVICE_SET_UPDATE, "no such peer");
	/* a handshake a second ago, elsewhere: left as it is */
	g = f;
	g.last_handshake = f.now - DEVICE_HANDSHAKE_GRACE_SECONDS + 1;
	g.elsewhere = 1;
	CHECK(device_set_decide(&g) == DEVICE_SET_KEEP, "grace");
	g.last_handshake = f.now - DEVICE_HANDSHAKE_GRACE_SECONDS;
	CHECK(device_set_decide(&g) == DEVICE_SET_UPDATE, "grace is over");
	g.elsewhere = 0;
	g.last_handshake = f.now - 1;
	CHECK(device_set_decide(&g) == DEVICE_SET_UPDATE, "same endpoint");
	/* a handshake too old to count */
	g.last_handshake = f.now - MESH_HANDSHAKE_FRESH_SECONDS;
	CHECK(device_set_decide(&g) == DEVICE_SET_REMAKE, "stale session");
	/* a new path asked for (a relay's port): made anew, session or not */
	g.last_handshake = f.now - 10;
	g.rx_bytes = 100;
	g.anew = 1;
	CHECK(device_set_decide(&g) == DEVICE_SET_REMAKE, "anew asked");
	g.elsewhere = 1;
	g.last_handshake = f.now - DEVICE_HANDSHAKE_GRACE_SECONDS + 1;
	CHECK(device_set_decide(&g) == DEVICE_SET_KEEP,
	    "anew asked, but a handshake elsewhere just now");
	g.anew = 0;
	g.elsewhere = 0;
	/* bytes received: only the end that starts first, once quiet */
	g = f;
	g.rx_bytes = 148;
	g.rx_still_ms = DEVICE_CROSSED_QUIET_MS;
	CHECK(device_set_decide(&g) == DEVICE_SET_REMAKE, "crossed, quiet");
	g.rx_still_ms = DEVICE_CROSSED_QUIET_MS - 1;
	CHECK(device_set_decide(&g) == DEVICE_SET_UPDATE, "not quiet yet");
	g.rx_still_ms = DEVICE_CROSSED_QUIET_MS;
	g.rx_changed = 1;
	CHECK(device_set_decide(&g) == DEVICE_SET_UPDATE, "bytes just came");
	g.rx_changed = 0;
	g.starts_later = 1;
	CHECK(device_set_decide(&g) == DEVICE_SET_UPDATE, "starts later");
}

int
main(void)
{
	test_rules();
	test_gossip_fanout();
	test_gossip_forward();
	test_upnp_waits();
	test_upnp_relayed();
	test_lan_not_gossiped();
	test_lan_not_relayed();
	test_lan_prefers_ipv4();
	test_lan_trial();
	test_obs_flood();
	test_obs_heard();
	test_keepalive_deferred();
	test_silence();
	test_alive();
	test_ping();
	test_doubt();
	test_backoff_news();
	test_gossip_push();
	test_gossip_news_and_punch();
	test_punch_relay();
	test_gossip_bad();
	test_persisted_last();
	test_waits_for_device();
	test_literal();
	test_overlay_refused();
	test_up_is_left_alone();
	test_rotation_and_backoff();
	test_no_endpoint();
	test_why_resolve();
	test_why_keys();
	test_why_keys_not_crossed();
	test_why_keys_first_read();
	test_why_rx();
	test_why_nat();
	test_reconf_keeps_state();
	test_totals();
	return (regress_end());
}
