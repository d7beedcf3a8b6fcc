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
 * LAN discovery's challenge against a neighbour that relays it, with the
 * real lan.c, mesh.c and gossip.c over UDP sockets on the loopback
 * interface (which keeps the TTL, as one link does) of a network
 * namespace of its own, where regress/run gives lo three lab addresses
 * (loopback addresses are no endpoints: imsg_addr_is_endpoint()): V
 * challenges P;
 * M, a third host, forwards the datagrams between them from its own
 * address, with TTL 255.  Neither V nor P may take M's address for the
 * other; a PONG that echoes another source than the PING's, or a PING
 * that arrives with a TTL below 255, is dropped and counted.  lan.c is
 * included, for its static lan_read() and lan_ping().
 *
 *	V 198.18.0.1:V_PORT	P 198.18.0.2:P_PORT	M 198.18.0.3:M_PORT
 */

#include "../wgmeshd/lan.c"

#include <arpa/inet.h>

#include <syslog.h>

#include "regress.h"

#define V_PORT		21661
#define P_PORT		21662
#define M_PORT		21663
#define NOW		1800000000LL

struct node {
	struct imsg_iface	 iface;
	struct mesh		 m;
	struct lan		 l;
	struct gossip_pair	*pair;
	size_t			 nset;		/* SET_ENDPOINTs asked for */
	struct imsg_addr	 set;		/* the last one */
};

static void	 record(enum mesh_action, struct mesh_peer *,
		    const struct imsg_set_endpoint *, void *);
static int	 udp_socket(const char *, uint16_t, int);
static void	 node_init(struct node *, const char *, uint8_t, uint16_t,
		    struct node *, const uint8_t [GOSSIP_KEY_LEN]);
static struct mesh_peer *the_peer(struct node *);
static ssize_t	 take(int, uint8_t *, size_t);
static void	 forward(int, const uint8_t *, size_t, const char *, uint16_t);
static struct imsg_addr addr4(const char *, uint16_t);
static void	 test_direct(struct node *, struct node *);
static void	 test_relayed_ping(struct node *, struct node *, int);
static void	 test_forged_pong(struct node *, struct node *);
static void	 test_ttl(struct node *, struct node *);
static void	 test_beacons(struct node *);
static void	 count_line(const char *, void *);

static struct event_base *base;

static void
record(enum mesh_action a, struct mesh_peer *p,
    const struct imsg_set_endpoint *set, void *arg)
{
	struct node	*n = arg;

	if (a != MESH_ACTION_SET_ENDPOINT)
		return;
	n->nset++;
	n->set = set->endpoint;
}

static struct imsg_addr
addr4(const char *s, uint16_t port)
{
	struct imsg_addr	a;

	memset(&a, 0, sizeof(a));
	a.af = AF_INET;
	a.port = port;
	if (inet_pton(AF_INET, s, a.addr) != 1)
		abort();
	return (a);
}

/* As the parent makes a LAN socket (lan_socket_open()), on one address. */
static int
udp_socket(const char *addr, uint16_t port, int ttl)
{
	struct sockaddr_in	sin;
	int			fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) == -1) {
		perror("socket");
		exit(1);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror(addr);
		exit(1);
	}
	return (fd);
}

/* A node with one interface whose one peer is "other". */
static void
node_init(struct node *n, const char *addr, uint8_t keybyte, uint16_t port,
    struct node *other, const uint8_t key[GOSSIP_KEY_LEN])
{
	struct mesh_peer	conf;

	memset(&n->iface, 0, sizeof(n->iface));
	n->iface.npeers = 1;
	memset(n->iface.public_key, keybyte, WG_KEY_LEN);
	snprintf(n->iface.ifname, sizeof(n->iface.ifname), "wg0");
	n->iface.listen_port = 51820;
	n->iface.gossip_port = port;
	n->iface.lan_discovery = 1;
	mesh_init(&n->m, record, NULL, n, 1);
	lan_init(&n->l, base, &n->m);
	lan_reconf(&n->l, &n->iface, 1);
	lan_socket(&n->l, udp_socket(addr, port, 255), port, AF_INET);
	memset(&conf, 0, sizeof(conf));
	conf.iface = 0;
	conf.index = 0;
	conf.keepalive = 25;
	memcpy(conf.public_key, other->iface.public_key, WG_KEY_LEN);
	snprintf(conf.name, sizeof(conf.name), "peer");
	if (mesh_reconf(&n->m, &conf, 1) == -1 ||
	    (n->m.peers[0].pair = calloc(1, sizeof(struct gossip_pair))) ==
	    NULL || gossip_pair_init(n->m.peers[0].pair, key,
	    n->iface.public_key, other->iface.public_key) == -1)
		abort();
	/* up elsewhere: what a neighbour would want to come between */
	n->m.peers[0].device.endpoint = addr4("198.18.0.5", 51820);
	n->m.peers[0].device.last_handshake = realtime_us() / 1000000;
	n->m.peers[0].device_known = 1;
	n->m.peers[0].rx_at = n->m.peers[0].device.last_handshake;
}

static struct mesh_peer *
the_peer(struct node *n)
{
	return (&n->m.peers[0]);
}

/* A datagram waiting on fd, read without lan.c; -1 when none. */
static ssize_t
take(int fd, uint8_t *buf, size_t size)
{
	return (recv(fd, buf, size, MSG_DONTWAIT));
}

/* M sends what it caught on, from its own socket. */
static void
forward(int fd, const uint8_t *buf, size_t len, const char *to,
    uint16_t port)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, to, &sin.sin_addr);
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&sin,
	    sizeof(sin)) != (ssize_t)len) {
		perror("forward");
		exit(1);
	}
}

/* V challenges P where P is: both prove each other. */
static void
test_direct(struct node *v, struct node *p)
{
	struct imsg_addr	at = addr4("198.18.0.2", P_PORT);
	struct mesh_peer	*vp = the_peer(v), *pv = the_peer(p);
	int64_t			 now = realtime_us() / 1000000;

	TEST("LAN: a challenge answered where it was sent");
	lan_ping(&v->l, v->l.socks[0], vp, &at, GOSSIP_MSG_PING, NULL, now,
	    realtime_us());
	lan_read(p->l.socks[0]->fd, EV_READ, p->l.socks[0]);
	CHECK(p->l.stats.rx_ping == 1, "P took the PING: %llu",
	    (unsigned long long)p->l.stats.rx_ping);
	lan_read(v->l.socks[0]->fd, EV_READ, v->l.socks[0]);
	CHECK(v->l.stats.rx_pong == 1 && v->l.stats.rx_ping == 1,
	    "V took the PONG and P's PING: %llu %llu",
	    (unsigned long long)v->l.stats.rx_pong,
	    (unsigned long long)v->l.stats.rx_ping);
	at.port = 51820;
	CHECK(imsg_addr_equal(&vp->lan, &at), "V has P at its LAN address");
	lan_read(p->l.socks[0]->fd, EV_READ, p->l.socks[0]);
	at = addr4("198.18.0.1", 51820);
	CHECK(p->l.stats.rx_pong == 1 && imsg_addr_equal(&pv->lan, &at),
	    "P has V at its LAN address");
	vp->lan_ping_at = pv->lan_ping_at = 0;
}

/*
 * M sent V a beacon in P's name: V challenges M, M forwards it to P from
 * its own address and P's answers back to V.  P must not answer, V must
 * not take M's address; "before" says what the counters start at.
 */
static void
test_relayed_ping(struct node *v, struct node *p, int mfd)
{
	struct imsg_addr	 m_at = addr4("198.18.0.3", M_PORT);
	struct mesh_peer	*vp = the_peer(v);
	uint8_t			 buf[LAN_DATAGRAM_LEN + 64];
	ssize_t			 n;
	uint64_t		 path0 = p->l.stats.drop_path;
	size_t			 nset0 = v->nset, relayed = 0;
	int64_t			 now = realtime_us() / 1000000;
	int			 i;

	TEST("LAN: a challenge relayed by a neighbour is not answered");
	memset(&vp->lan, 0, sizeof(vp->lan));
	vp->lan_ping_at = vp->lan_moved_at = vp->lan_failed_at = 0;
	lan_ping(&v->l, v->l.socks[0], vp, &m_at, GOSSIP_MSG_PING, NULL, now,
	    realtime_us());
	n = take(mfd, buf, sizeof(buf));
	CHECK(n == LAN_DATAGRAM_LEN, "M caught V's PING: %zd", n);
	if (n > 0)
		forward(mfd, buf, (size_t)n, "198.18.0.2", P_PORT);
	lan_read(p->l.socks[0]->fd, EV_READ, p->l.socks[0]);
	CHECK(p->l.stats.drop_path == path0 + 1,
	    "P dropped it, counted as sealed for another address: %llu",
	    (unsigned long long)(p->l.stats.drop_path - path0));
	/* whatever P sent M, M passes to V as its own */
	for (i = 0; i < 4 && (n = take(mfd, buf, sizeof(buf))) > 0; i++) {
		forward(mfd, buf, (size_t)n, "198.18.0.1", V_PORT);
		relayed++;
	}
	CHECK(relayed == 0, "P answered M %zu times", relayed);
	lan_read(v->l.socks[0]->fd, EV_READ, v->l.socks[0]);
	m_at.port = 51820;
	CHECK(!imsg_addr_equal(&vp->lan, &m_at), "V has P at M's address");
	CHECK(v->nset == nset0, "V moved P (%zu endpoints set)",
	    v->nset - nset0);
}

/*
 * P answers a PING that came through M: its PONG echoes M's address as
 * the PING's source, and reaches V from P's own address and port.
 */
static void
test_forged_pong(struct node *v, struct node *p)
{
	struct imsg_addr	 p_at = addr4("198.18.0.2", P_PORT);
	struct imsg_addr	 m_at = addr4("198.18.0.3", M_PORT);
	struct mesh_peer	*vp = the_peer(v), *pv = the_peer(p);
	struct sockaddr_in	 sin;
	uint8_t			 buf[LAN_DATAGRAM_LEN + 64];
	uint8_t			 pt[GOSSIP_PING_LEN];
	uint64_t		 path0 = v->l.stats.drop_path;
	uint64_t		 pong0 = v->l.stats.rx_pong;
	ssize_t			 n, hlen, slen;
	size_t			 nset0 = v->nset;
	int64_t			 now = realtime_us() / 1000000;

	TEST("LAN: an answer echoing another source is dropped");
	memset(&vp->lan, 0, sizeof(vp->lan));
	vp->lan_ping_at = vp->lan_moved_at = vp->lan_failed_at = 0;
	lan_ping(&v->l, v->l.socks[0], vp, &p_at, GOSSIP_MSG_PING, NULL, now,
	    realtime_us());
	n = take(p->l.socks[0]->fd, buf, sizeof(buf));
	CHECK(n == LAN_DATAGRAM_LEN, "V's PING at P: %zd", n);
	hlen = lan_header_encode(buf, sizeof(buf), LAN_SEALED, 0,
	    p->iface.public_key);
	CHECK(hlen == LAN_HEADER_LEN &&
	    gossip_ping_encode(pt, sizeof(pt), vp->lan_nonce, 51820,
	    &m_at) == GOSSIP_PING_LEN, "PONG made");
	slen = gossip_seal(pv->pair, GOSSIP_MSG_PONG, pt, sizeof(pt),
	    realtime_us(), buf + hlen, sizeof(buf) - (size_t)hlen);
	CHECK(hlen + slen == LAN_DATAGRAM_LEN, "PONG sealed");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(V_PORT);
	inet_pton(AF_INET, "198.18.0.1", &sin.sin_addr);
	CHECK(sendto(p->l.socks[0]->fd, buf, LAN_DATAGRAM_LEN, 0,
	    (struct sockaddr *)&sin, sizeof(sin)) == LAN_DATAGRAM_LEN,
	    "PONG sent from P's address and port");
	lan_read(v->l.socks[0]->fd, EV_READ, v->l.socks[0]);
	CHECK(v->l.stats.drop_path == path0 + 1 &&
	    v->l.stats.rx_pong == pong0,
	    "V dropped it and counted it: drop_path +%llu, rx_pong +%llu",
	    (unsigned long long)(v->l.stats.drop_path - path0),
	    (unsigned long long)(v->l.stats.rx_pong - pong0));
	CHECK(vp->lan.af == 0 && v->nset == nset0, "V took P's address");
}

/* A challenge that comes with a TTL below 255 was routed. */
static void
test_ttl(struct node *v, struct node *p)
{
	struct imsg_addr	 p_at = addr4("198.18.0.2", P_PORT);
	struct mesh_peer	*vp = the_peer(v);
	uint8_t			 buf[LAN_DATAGRAM_LEN + 64];
	uint64_t		 ttl0 = p->l.stats.drop_hoplimit;
	uint64_t		 ping0 = p->l.stats.rx_ping;
	int64_t			 now = realtime_us() / 1000000;
	int			 ttl = 64;

	TEST("LAN: a challenge with TTL 64 is dropped");
	vp->lan_ping_at = 0;
	setsockopt(v->l.socks[0]->fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	lan_ping(&v->l, v->l.socks[0], vp, &p_at, GOSSIP_MSG_PING, NULL, now,
	    realtime_us());
	ttl = 255;
	setsockopt(v->l.socks[0]->fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	lan_read(p->l.socks[0]->fd, EV_READ, p->l.socks[0]);
	CHECK(p->l.stats.drop_hoplimit == ttl0 + 1 &&
	    p->l.stats.rx_ping == ping0, "P dropped it and counted it");
	CHECK(take(v->l.socks[0]->fd, buf, sizeof(buf)) == -1,
	    "P answered it");
}

static void
count_line(const char *line, void *arg)
{
	size_t	*n = arg;

	(void)line;
	(*n)++;
}

/*
 * A beacon that cannot go out (here: broadcast without SO_BROADCAST, as
 * without a default route) is logged once, not every time; V's own
 * beacon, handed back, is counted as its own, not as from no peer.
 */
static void
test_beacons(struct node *v)
{
	struct imsg_addr	 self = addr4("198.18.0.1", V_PORT);
	struct lan_sock		*ls = v->l.socks[0];
	struct sockaddr_in	 sin;
	uint8_t			 buf[LAN_DATAGRAM_LEN];
	uint64_t		 own0 = v->l.stats.rx_own;
	uint64_t		 nopeer0 = v->l.stats.drop_nopeer;
	size_t			 lines = 0;
	int			 i;

	TEST("LAN: a beacon that cannot go out is logged once");
	CHECK(lan_header_encode(buf, sizeof(buf), LAN_BEACON, 51820,
	    v->iface.public_key) == LAN_DATAGRAM_LEN, "lan_header_encode");
	/* the socket's first beacon, at lan_socket(), failed and said so */
	log_capture(count_line, &lines);
	for (i = 0; i < 5; i++)
		lan_send_beacon(&v->l, ls, &v->iface, buf, sizeof(buf));
	CHECK(lines == 0 && ls->beacon_errno == EACCES,
	    "%zu warnings for 5 more failed beacons", lines);
	lan_beacon_outcome(ls, "wg0", 0);
	CHECK(ls->beacon_errno == 0, "the failure not forgotten once they "
	    "go out");
	for (i = 0; i < 5; i++)
		lan_send_beacon(&v->l, ls, &v->iface, buf, sizeof(buf));
	CHECK(lines == 1, "%zu warnings for 5 failed beacons after that",
	    lines);
	log_capture(NULL, NULL);

	TEST("LAN: this node's own beacon is its own, not a drop");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(self.port);
	memcpy(&sin.sin_addr, self.addr, 4);
	if (sendto(ls->fd, buf, sizeof(buf), 0, (struct sockaddr *)&sin,
	    sizeof(sin)) != (ssize_t)sizeof(buf)) {
		perror("sendto");
		exit(1);
	}
	lan_read(ls->fd, EV_READ, ls);
	CHECK(v->l.stats.rx_own == own0 + 1 &&
	    v->l.stats.drop_nopeer == nopeer0,
	    "rx_own %llu (was %llu), drop_nopeer %llu (was %llu)",
	    (unsigned long long)v->l.stats.rx_own, (unsigned long long)own0,
	    (unsigned long long)v->l.stats.drop_nopeer,
	    (unsigned long long)nopeer0);
}

int
main(void)
{
	struct node	v, p;
	uint8_t		key[GOSSIP_KEY_LEN];
	int		mfd;

	if (sodium_init() == -1 || (base = event_base_new()) == NULL) {
		printf("init failed\n");
		return (1);
	}
	log_init(1, LOG_DAEMON);
	randombytes_buf(key, sizeof(key));
	/* each needs the other's key before the peers are made */
	memset(&v, 0, sizeof(v));
	memset(&p, 0, sizeof(p));
	memset(v.iface.public_key, 'v', WG_KEY_LEN);
	memset(p.iface.public_key, 'p', WG_KEY_LEN);
	node_init(&v, "198.18.0.1", 'v', V_PORT, &p, key);
	node_init(&p, "198.18.0.2", 'p', P_PORT, &v, key);
	mfd = udp_socket("198.18.0.3", M_PORT, 255);

	test_direct(&v, &p);
	test_relayed_ping(&v, &p, mfd);
	test_forged_pong(&v, &p);
	test_ttl(&v, &p);
	test_beacons(&v);

	close(mfd);
	lan_clear(&v.l);
	lan_clear(&p.l);
	mesh_clear(&v.m);
	mesh_clear(&p.m);
	event_base_free(base);
	return (regress_end());
}
