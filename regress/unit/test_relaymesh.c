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
 * Relaying in mesh.c (rules 14 to 18), with three nodes in one process:
 * x and y cannot reach each other, r is up with both and relays.  Gossip
 * goes from node to node in memory (a link can be cut); each node's
 * device view is what the test says; the relay process is a recorder of
 * OPEN, PAUSE and CLOSE whose ports the test gives back.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wgmeshd.h"
#include "wire.h"
#include "engine.h"
#include "regress.h"

#define NODES		3
#define QUEUE_MAX	512
#define LISTEN_PORT	51820

struct node {
	struct mesh		 m;
	const char		*name;
	uint8_t			 key[WG_KEY_LEN];
	struct imsg_addr	 seen;		/* where the others see it */
	struct imsg_set_endpoint last_set[NODES]; /* per other node */
	int			 nset[NODES];
	int			 nanew[NODES];	/* sets with SET_ENDPOINT_ANEW */
	int			 ops[3];	/* enum mesh_relay_op */
	uint32_t		 opened_id;
	int			 open_pending;
	int			 sent[16];	/* per gossip type */
};

struct msg {
	int			 from, to;
	uint8_t			 type;
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES];
	size_t			 len;
};

static struct node	 nodes[NODES];
static struct msg	 queue[QUEUE_MAX];
static size_t		 nqueue;
static int		 cut[NODES][NODES];
static int64_t		 now;

static int	 node_of_key(const uint8_t *);
static struct mesh_peer *peer_of(int, int);
static void	 on_action(enum mesh_action, struct mesh_peer *,
		    const struct imsg_set_endpoint *, void *);
static void	 on_send(struct mesh_peer *, uint8_t, const uint8_t *, size_t,
		    void *);
static void	 on_relay(enum mesh_relay_op, const struct mesh_relay *,
		    const struct mesh_peer *, const struct mesh_peer *, void *);
static void	 deliver(void);
static void	 device(int, int, const struct imsg_addr *, int64_t, uint64_t);
static void	 setup(void);
static void	 run(int64_t);
static struct imsg_addr addr4(const char *, uint16_t);
static int	 table_has(int, const struct imsg_addr *);

static int
node_of_key(const uint8_t *key)
{
	int	i;

	for (i = 0; i < NODES; i++)
		if (memcmp(nodes[i].key, key, WG_KEY_LEN) == 0)
			return (i);
	return (-1);
}

/* a's peer entry for node b */
static struct mesh_peer *
peer_of(int a, int b)
{
	return (mesh_peer_by_key(&nodes[a].m, 0, nodes[b].key));
}

static void
on_action(enum mesh_action act, struct mesh_peer *p,
    const struct imsg_set_endpoint *set, void *arg)
{
	struct node	*n = arg;
	int		 b = node_of_key(p->public_key);

	if (act != MESH_ACTION_SET_ENDPOINT || b == -1)
		return;
	n->last_set[b] = *set;
	n->nset[b]++;
	if (set->flags & SET_ENDPOINT_ANEW)
		n->nanew[b]++;
}

static void
on_send(struct mesh_peer *p, uint8_t type, const uint8_t *buf, size_t len,
    void *arg)
{
	struct node	*n = arg;
	struct msg	*q;

	if (nqueue == QUEUE_MAX || len > sizeof(q->buf))
		return;
	q = &queue[nqueue++];
	q->from = (int)(n - nodes);
	q->to = node_of_key(p->public_key);
	q->type = type;
	memcpy(q->buf, buf, len);
	q->len = len;
	if (type < 16)
		n->sent[type]++;
}

static void
on_relay(enum mesh_relay_op op, const struct mesh_relay *rp,
    const struct mesh_peer *a, const struct mesh_peer *b, void *arg)
{
	struct node	*n = arg;

	n->ops[op]++;
	if (op == MESH_RELAY_OPEN) {
		n->opened_id = rp->id;
		n->open_pending = 1;
	}
}

/* Gossip reaches its node, unless the link is cut; answers go on too. */
static void
deliver(void)
{
	struct msg	 q;
	size_t		 i, rounds;

	for (rounds = 0; nqueue > 0 && rounds < 64; rounds++) {
		for (i = 0; i < nqueue; i++) {
			q = queue[i];
			queue[i].len = 0;
			memmove(&queue[0], &queue[1],
			    (nqueue - 1) * sizeof(queue[0]));
			nqueue--;
			if (q.to == -1 || cut[q.from][q.to])
				break;
			mesh_receive(&nodes[q.to].m, peer_of(q.to, q.from),
			    q.type, q.buf, q.len, now);
			break;
		}
	}
}

static void
device(int a, int b, const struct imsg_addr *ep, int64_t handshake,
    uint64_t rx)
{
	struct mesh_peer	*p = peer_of(a, b);
	struct imsg_device_peer	 dev;

	memset(&dev, 0, sizeof(dev));
	dev.iface = 0;
	dev.peer = p->index;
	dev.endpoint = *ep;
	dev.last_handshake = handshake;
	dev.rx_bytes = rx;
	mesh_device(&nodes[a].m, p, &dev, now);
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

/*
 * x (198.19.1.1) and y (198.19.2.1) behind NATs, r public at
 * 198.18.0.1; r is up with both, x and y know nothing of each other.
 */
static void
setup(void)
{
	static const char	*names[NODES] = { "x", "y", "r" };
	struct mesh_peer	 conf[NODES - 1];
	struct mesh_iface	 mi;
	int			 i, j, k;

	memset(nodes, 0, sizeof(nodes));
	memset(cut, 0, sizeof(cut));
	nqueue = 0;
	now = 1000;
	for (i = 0; i < NODES; i++) {
		nodes[i].name = names[i];
		nodes[i].key[0] = (uint8_t)(0x10 * (i + 1));
		nodes[i].key[1] = 0x55;
	}
	nodes[0].seen = addr4("198.19.1.1", 40001);
	nodes[1].seen = addr4("198.19.2.1", 40002);
	nodes[2].seen = addr4("198.18.0.1", LISTEN_PORT);
	for (i = 0; i < NODES; i++) {
		mesh_init(&nodes[i].m, on_action, on_send, &nodes[i],
		    (uint64_t)i + 7);
		memset(conf, 0, sizeof(conf));
		for (j = 0, k = 0; j < NODES; j++) {
			if (j == i)
				continue;
			conf[k].iface = 0;
			conf[k].index = (uint32_t)k;
			strlcpy(conf[k].name, names[j], sizeof(conf[k].name));
			memcpy(conf[k].public_key, nodes[j].key, WG_KEY_LEN);
			conf[k].address[0] = 0xfd;
			conf[k].address[1] = (uint8_t)j;
			conf[k].address[15] = 1;
			conf[k].keepalive = 25;
			conf[k].relay_use = 1;
			conf[k].starts_later = key_starts_later(nodes[i].key,
			    nodes[j].key);
			k++;
		}
		mesh_reconf(&nodes[i].m, conf, NODES - 1);
		memset(&mi, 0, sizeof(mi));
		mi.iface = 0;
		mi.listen_port = LISTEN_PORT;
		mi.relay_offer = RELAY_OFFER_AUTO;
		mi.relay_use = 1;
		memcpy(mi.public_key, nodes[i].key, WG_KEY_LEN);
		mesh_ifaces(&nodes[i].m, &mi, 1);
	}
	mesh_relay_init(&nodes[2].m, on_relay, 16);
	/* r is configured at x and y, so its origin is "config" */
	for (i = 0; i < 2; i++) {
		mesh_candidates(&nodes[i].m, peer_of(i, 2), &nodes[2].seen, 1,
		    ORIGIN_CONFIGURED, now);
		device(i, 2, &nodes[2].seen, now, 100);
		device(2, i, &nodes[i].seen, now, 100);
		device(i, 1 - i, &(struct imsg_addr){ 0 }, 0, 0);
	}
}

/* The clock runs to t, a second at a time; r's pairs open as asked. */
static void
run(int64_t t)
{
	static const uint16_t	ports[2] = { 51900, 51901 };
	int			i, j;

	while (now < t) {
		now++;
		for (i = 0; i < NODES; i++) {
			/* links that are not cut stay up, with traffic */
			for (j = 0; j < NODES; j++) {
				struct mesh_peer *p;

				if (i == j || cut[i][j] ||
				    (p = peer_of(i, j)) == NULL ||
				    p->device.last_handshake == 0)
					continue;
				device(i, j, &p->device.endpoint,
				    p->device.last_handshake > now - 100 ?
				    p->device.last_handshake : now,
				    p->device.rx_bytes + 10);
			}
			mesh_tick(&nodes[i].m, now);
		}
		deliver();
		if (nodes[2].open_pending) {
			nodes[2].open_pending = 0;
			mesh_relay_opened(&nodes[2].m, nodes[2].opened_id,
			    ports, 0, now);
			deliver();
		}
	}
}

/* Does a whole table from node a to r name addr? */
static int
table_has(int a, const struct imsg_addr *addr)
{
	struct gossip_endpoint	 ep[GOSSIP_ENDPOINTS_MAX];
	size_t			 i, j, n;

	peer_of(a, 2)->send_table = 1;
	mesh_flush(&nodes[a].m, now);
	for (i = 0; i < nqueue; i++) {
		if (queue[i].from != a || queue[i].type !=
		    GOSSIP_MSG_ENDPOINTS)
			continue;
		if (gossip_endpoints_decode(queue[i].buf, queue[i].len, ep,
		    GOSSIP_ENDPOINTS_MAX, &n) == -1)
			continue;
		for (j = 0; j < n; j++)
			if (imsg_addr_equal(&ep[j].addr, addr))
				return (1);
	}
	return (0);
}

int
main(void)
{
	struct mesh_peer	*xy, *yx;
	const struct mesh_peer	*via;
	struct imsg_addr	 relay_x, relay_y, direct;
	int			 opens, sets;

	TEST("a pair with no direct path is relayed by the node up with both");
	setup();
	run(now + 3);
	xy = peer_of(0, 1);
	yx = peer_of(1, 0);
	CHECK(xy->relay_state == RELAY_END_NONE,
	    "not before MESH_RELAY_AFTER_SECONDS without evidence");
	run(now + MESH_RELAY_AFTER_SECONDS + 2);
	CHECK(nodes[2].ops[MESH_RELAY_OPEN] == 1, "r opened %d pairs",
	    nodes[2].ops[MESH_RELAY_OPEN]);
	CHECK(xy->relay_state == RELAY_END_ACTIVE &&
	    yx->relay_state == RELAY_END_ACTIVE, "both ends relayed: %d %d",
	    xy->relay_state, yx->relay_state);
	relay_x = addr4("198.18.0.1", 51900);
	relay_y = addr4("198.18.0.1", 51901);
	CHECK(imsg_addr_equal(&nodes[0].last_set[1].endpoint, &relay_x) ||
	    imsg_addr_equal(&nodes[0].last_set[1].endpoint, &relay_y),
	    "x set y's endpoint to a relay port");
	CHECK(!imsg_addr_equal(&nodes[0].last_set[1].endpoint,
	    &nodes[1].last_set[0].endpoint), "each end its own port");
	CHECK(nodes[0].nanew[1] == 1 && nodes[1].nanew[0] == 1,
	    "set anew once: the relay needs a handshake (%d %d)",
	    nodes[0].nanew[1], nodes[1].nanew[0]);
	CHECK(nodes[0].sent[GOSSIP_MSG_RELAY_REQUEST] > 0 &&
	    nodes[1].sent[GOSSIP_MSG_RELAY_REQUEST] > 0,
	    "both ends asked (consent of both)");

	TEST("up through the relay: path, never gossiped");
	relay_x = nodes[0].last_set[1].endpoint;
	relay_y = nodes[1].last_set[0].endpoint;
	device(0, 1, &relay_x, now, 500);
	device(1, 0, &relay_y, now, 500);
	run(now + 2);
	CHECK(mesh_peer_path(&nodes[0].m, xy, now, &via) == PATH_RELAY &&
	    via == peer_of(0, 2), "x: relay via r");
	CHECK(strstr(xy->relay_why, "no direct path") != NULL, "why: %s",
	    xy->relay_why);
	CHECK(xy->origin == ORIGIN_RELAY, "origin relay");
	nqueue = 0;
	CHECK(!table_has(0, &relay_x), "x's table has no relay port");
	CHECK(xy->learned.port != relay_x.port || xy->learned.af == 0,
	    "not learned as where y is");
	nqueue = 0;

	TEST("a stale datagram elsewhere does not move it off the relay");
	direct = addr4("198.19.2.1", 40099);
	sets = nodes[0].nset[1];
	device(0, 1, &direct, now, 600);
	run(now + 2);
	CHECK(nodes[0].nset[1] > sets &&
	    imsg_addr_equal(&nodes[0].last_set[1].endpoint, &relay_x),
	    "set back to the relay");
	device(0, 1, &relay_x, now, 700);
	device(1, 0, &relay_y, now, 700);

	TEST("a direct trial: both ends, the relay paused, then direct");
	{
		int64_t	until = now + MESH_TRIAL_FIRST_SECONDS + 5;

		while (now < until && (xy->trial_at == 0 ||
		    yx->trial_at == 0))
			run(now + 1);
		run(now + 1);
	}
	CHECK(nodes[0].sent[GOSSIP_MSG_DIRECT_TRIAL] +
	    nodes[1].sent[GOSSIP_MSG_DIRECT_TRIAL] >= 2,
	    "START and ACK sent: %d %d", nodes[0].sent[GOSSIP_MSG_DIRECT_TRIAL],
	    nodes[1].sent[GOSSIP_MSG_DIRECT_TRIAL]);
	CHECK(nodes[2].ops[MESH_RELAY_PAUSE] >= 1, "relay paused");
	CHECK(xy->trial_at != 0 && yx->trial_at != 0, "both in a trial");
	CHECK(now - xy->relay_set_at >= MESH_TRIAL_FIRST_SECONDS - 1,
	    "not before MESH_TRIAL_FIRST_SECONDS");
	CHECK(!imsg_addr_equal(&nodes[0].last_set[1].endpoint, &relay_x),
	    "x tries y directly");
	/*
	 * One direction only: y's datagrams arrive there (the device shows
	 * it there, bytes grow), but no handshake completes: not direct.
	 */
	direct = nodes[0].last_set[1].endpoint;
	cut[1][0] = 1;		/* y's answers are lost on the way */
	device(0, 1, &direct, xy->device.last_handshake,
	    xy->device.rx_bytes + 5000);
	run(now + 2);
	CHECK(xy->relay_state == RELAY_END_ACTIVE,
	    "bytes without a handshake: still relayed");
	/* the trial fails: back to the relay, the next one later */
	run(now + MESH_TRIAL_SECONDS + 1);
	cut[1][0] = 0;
	CHECK(xy->trial_at == 0 && xy->trials == 1, "trial over, failed");
	/* the session stays: anew only when the relay gave its port */
	CHECK(imsg_addr_equal(&xy->trying, &relay_x) &&
	    nodes[0].nanew[1] == 1, "back at the relay (%d set anew)",
	    nodes[0].nanew[1]);
	CHECK(xy->trial_next_at - xy->trial_end_at ==
	    2 * MESH_TRIAL_FIRST_SECONDS,
	    "the next one later: in %lld s",
	    (long long)(xy->trial_next_at - now));
	device(0, 1, &relay_x, now, 800);
	device(1, 0, &relay_y, now, 800);
	run(now + 2);
	CHECK(xy->relay_state == RELAY_END_ACTIVE, "still relayed");

	TEST("news starts a trial after the gap; success frees the relay");
	xy->trial_news = 1;
	yx->trial_news = 1;
	{
		int64_t	until = now + MESH_TRIAL_GAP_SECONDS + 5;

		while (now < until && xy->trial_at == 0)
			run(now + 1);
	}
	CHECK(xy->trial_at != 0, "trial on news");
	/*
	 * A handshake as the trial begins may have crossed the relay, not
	 * yet paused: WireGuard moved the endpoint there and the trial set
	 * it back to a candidate.  With no answer to our ALIVE, it proves
	 * nothing.
	 */
	cut[1][0] = 1;
	run(now + 1);
	direct = nodes[0].last_set[1].endpoint;
	CHECK(!imsg_addr_equal(&direct, &relay_x), "x tries y directly");
	device(0, 1, &direct, xy->trial_at, xy->device.rx_bytes + 100);
	run(now + 1);
	CHECK(xy->relay_state == RELAY_END_ACTIVE && xy->trial_at != 0,
	    "a handshake before the pause is in: still on trial");
	CHECK(mesh_peer_path(&nodes[0].m, xy, now, &via) == PATH_RELAY &&
	    via == peer_of(0, 2), "shown relayed while on trial");
	cut[1][0] = 0;
	/* the direct path works now: a handshake there */
	device(0, 1, &direct, now, 900);
	device(1, 0, &nodes[0].seen, now, 900);
	opens = nodes[2].ops[MESH_RELAY_CLOSE];
	run(now + 2);
	CHECK(xy->relay_state == RELAY_END_NONE, "x direct");
	CHECK(mesh_peer_path(&nodes[0].m, xy, now, &via) == PATH_DIRECT,
	    "path direct");
	CHECK(nodes[2].ops[MESH_RELAY_CLOSE] == opens + 1,
	    "the relay freed the ports");
	CHECK(yx->relay_state == RELAY_END_NONE, "y told: not relayed");

	TEST("the relay stops: another is asked, or none is shown");
	setup();
	run(now + MESH_RELAY_AFTER_SECONDS + 3);
	xy = peer_of(0, 1);
	CHECK(xy->relay_state == RELAY_END_ACTIVE, "relayed");
	cut[2][0] = cut[2][1] = cut[0][2] = cut[1][2] = 1;
	run(now + MESH_RELAY_LOST_SECONDS + 2);
	CHECK(xy->relay_state != RELAY_END_ACTIVE, "x left the relay");
	/* up a while yet, at the lost relay's port: not shown direct */
	CHECK(xy->relay_ep_gone.af != 0, "the lost relay's port kept");
	device(0, 1, &xy->relay_ep_gone, now, xy->device.rx_bytes + 10);
	CHECK(mesh_peer_is_up(xy, now) &&
	    mesh_peer_path(&nodes[0].m, xy, now, &via) == PATH_NONE,
	    "up at the lost relay's port: no path shown, not direct");
	CHECK(peer_of(0, 2)->relay_failed_at != 0, "r marked as failed");

	TEST("relay-use no at one end: never relayed");
	setup();
	{
		struct mesh_iface	mi;

		memset(&mi, 0, sizeof(mi));
		mi.listen_port = LISTEN_PORT;
		mi.relay_offer = RELAY_OFFER_AUTO;
		mi.relay_use = 0;
		memcpy(mi.public_key, nodes[1].key, WG_KEY_LEN);
		mesh_ifaces(&nodes[1].m, &mi, 1);
	}
	run(now + MESH_RELAY_AFTER_SECONDS + 6);
	CHECK(nodes[2].ops[MESH_RELAY_OPEN] == 0, "no pair opened");
	CHECK(peer_of(0, 1)->relay_state != RELAY_END_ACTIVE,
	    "x not relayed");

	TEST("relay-offer no: refused, nothing opened");
	setup();
	{
		struct mesh_iface	mi;

		memset(&mi, 0, sizeof(mi));
		mi.listen_port = LISTEN_PORT;
		mi.relay_offer = RELAY_OFFER_NO;
		mi.relay_use = 1;
		memcpy(mi.public_key, nodes[2].key, WG_KEY_LEN);
		mesh_ifaces(&nodes[2].m, &mi, 1);
	}
	run(now + MESH_RELAY_AFTER_SECONDS + 6);
	CHECK(nodes[2].ops[MESH_RELAY_OPEN] == 0, "no pair opened");
	CHECK(peer_of(0, 2)->relay_refused_at != 0, "x saw the refusal");

	TEST("a relay request for a peer not up at the relay");
	setup();
	cut[2][1] = cut[1][2] = 1;
	device(2, 1, &nodes[1].seen, 0, 0);
	run(now + MESH_RELAY_AFTER_SECONDS + 6);
	CHECK(nodes[2].ops[MESH_RELAY_OPEN] == 0, "no pair opened");

	TEST("bad relay messages are refused, and change nothing");
	setup();
	{
		uint8_t	 junk[GOSSIP_RELAY_LEN];

		memset(junk, 0, sizeof(junk));
		CHECK(mesh_receive(&nodes[2].m, peer_of(2, 0),
		    GOSSIP_MSG_RELAY_REQUEST, junk, sizeof(junk), now) == -1,
		    "code 0 refused");
		junk[WG_KEY_LEN] = RELAY_OP_WANT;
		CHECK(mesh_receive(&nodes[2].m, peer_of(2, 0),
		    GOSSIP_MSG_RELAY_REQUEST, junk, sizeof(junk) - 1,
		    now) == -1, "short refused");
		junk[WG_KEY_LEN + 3] = 1;
		CHECK(mesh_receive(&nodes[2].m, peer_of(2, 0),
		    GOSSIP_MSG_RELAY_REQUEST, junk, sizeof(junk), now) == -1,
		    "a port in a request refused");
		junk[WG_KEY_LEN + 3] = 0;
		CHECK(mesh_receive(&nodes[2].m, peer_of(2, 0),
		    GOSSIP_MSG_RELAY_REQUEST, junk, sizeof(junk), now) == 0 &&
		    nodes[2].ops[MESH_RELAY_OPEN] == 0,
		    "an unknown key: nothing");
		memcpy(junk, nodes[0].key, WG_KEY_LEN);
		CHECK(mesh_receive(&nodes[2].m, peer_of(2, 0),
		    GOSSIP_MSG_RELAY_REQUEST, junk, sizeof(junk), now) == 0 &&
		    nodes[2].ops[MESH_RELAY_OPEN] == 0,
		    "its own key: nothing");
		junk[WG_KEY_LEN] = RELAY_ANSWER_OK;
		memcpy(junk, nodes[1].key, WG_KEY_LEN);
		junk[WG_KEY_LEN + 3] = 9;
		mesh_receive(&nodes[0].m, peer_of(0, 2),
		    GOSSIP_MSG_RELAY_ANSWER, junk, sizeof(junk), now);
		CHECK(peer_of(0, 1)->relay_state == RELAY_END_NONE,
		    "an answer never asked for: nothing");
	}
	return (regress_end());
}
