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
 * Identity (identity.c and its use in mesh.c): the wire form and its
 * checks, each disagreement's exact text, and two nodes in one process
 * whose files disagree about a name: both show a mismatch, not up, until
 * the file is mended and reloaded.
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

#define IFNAME		"wg0"
#define QUEUE_MAX	64

struct node {
	struct mesh		 m;
	char			 name[IMSG_NAME_MAX];	/* its own */
	char			 peer_name[IMSG_NAME_MAX]; /* the other's */
	uint8_t			 key[WG_KEY_LEN];
	size_t			 sent;			/* identities */
	size_t			 sent_want;
	size_t			 largest_answer;
};

struct msg {
	int			 from, to;
	uint8_t			 type;
	uint8_t			 buf[GOSSIP_MAX_PAYLOAD_BYTES];
	size_t			 len;
};

static struct node	 nodes[2];
static struct msg	 queue[QUEUE_MAX];
static size_t		 nqueue;
static int64_t		 now;

static void	 on_action(enum mesh_action, struct mesh_peer *,
		    const struct imsg_set_endpoint *, void *);
static void	 on_send(struct mesh_peer *, uint8_t, const uint8_t *, size_t,
		    void *);
static void	 deliver(void);
static void	 configure(int, const char *, const char *);
static void	 setup(const char *, const char *, const char *, const char *);
static void	 run(int64_t);
static struct imsg_prefix prefix6(const char *, uint8_t);
static void	 sample(struct identity *);
static void	 test_wire(void);
static void	 test_check(void);
static void	 test_mesh(void);

static void
on_action(enum mesh_action act, struct mesh_peer *p,
    const struct imsg_set_endpoint *set, void *arg)
{
}

static void
on_send(struct mesh_peer *p, uint8_t type, const uint8_t *buf, size_t len,
    void *arg)
{
	struct node	*n = arg;
	struct msg	*q;

	if (type != GOSSIP_MSG_IDENTITY)
		return;
	n->sent++;
	if (len == IDENTITY_LEN_MAX && (buf[0] & IDENTITY_WANT) != 0)
		n->sent_want++;
	else if (len > n->largest_answer)
		n->largest_answer = len;
	if (nqueue == QUEUE_MAX)
		return;
	q = &queue[nqueue++];
	q->from = (int)(n - nodes);
	q->to = 1 - q->from;
	q->type = type;
	memcpy(q->buf, buf, len);
	q->len = len;
}

static void
deliver(void)
{
	struct msg	q;
	size_t		rounds;

	for (rounds = 0; nqueue > 0 && rounds < 32; rounds++) {
		q = queue[0];
		memmove(&queue[0], &queue[1], (nqueue - 1) * sizeof(queue[0]));
		nqueue--;
		mesh_receive(&nodes[q.to].m, &nodes[q.to].m.peers[0], q.type,
		    q.buf, q.len, now);
	}
}

/*
 * Node i's file: it calls itself name, and the other node peer_name,
 * routing the /64 derived from that name to it.
 */
static void
configure(int i, const char *name, const char *peer_name)
{
	struct mesh_peer	 conf;
	struct mesh_iface	 mi;
	struct prefix		 own, theirs;

	strlcpy(nodes[i].name, name, sizeof(nodes[i].name));
	strlcpy(nodes[i].peer_name, peer_name, sizeof(nodes[i].peer_name));
	address_derive(&own, name, IFNAME);
	address_derive(&theirs, peer_name, IFNAME);
	memset(&conf, 0, sizeof(conf));
	strlcpy(conf.name, peer_name, sizeof(conf.name));
	memcpy(conf.public_key, nodes[1 - i].key, WG_KEY_LEN);
	memcpy(conf.address, theirs.addr.bytes, 16);
	address_control(conf.control, nodes[1 - i].key);
	prefix_mask(&theirs);
	prefix_to_imsg(&conf.allowed[0], &theirs);
	conf.nallowed = 1;
	conf.keepalive = 25;
	conf.starts_later = key_starts_later(nodes[i].key, nodes[1 - i].key);
	mesh_reconf(&nodes[i].m, &conf, 1);
	memset(&mi, 0, sizeof(mi));
	mi.listen_port = 51820;
	memcpy(mi.public_key, nodes[i].key, WG_KEY_LEN);
	strlcpy(mi.name, name, sizeof(mi.name));
	prefix_to_imsg(&mi.addresses[0], &own);
	mi.naddresses = 1;
	mesh_ifaces(&nodes[i].m, &mi, 1);
}

/* Two nodes up with each other, by the names each file gives. */
static void
setup(const char *a, const char *b_at_a, const char *b, const char *a_at_b)
{
	int	i;

	memset(nodes, 0, sizeof(nodes));
	nqueue = 0;
	now = 1000;
	for (i = 0; i < 2; i++) {
		nodes[i].key[0] = (uint8_t)(0x20 * (i + 1));
		mesh_init(&nodes[i].m, on_action, on_send, &nodes[i],
		    (uint64_t)i + 3);
	}
	configure(0, a, b_at_a);
	configure(1, b, a_at_b);
}

/* The clock runs to t; both devices report a fresh handshake. */
static void
run(int64_t t)
{
	struct imsg_device_peer	dev;
	int			i;

	while (now < t) {
		now++;
		for (i = 0; i < 2; i++) {
			memset(&dev, 0, sizeof(dev));
			dev.endpoint.af = AF_INET;
			dev.endpoint.port = 51820;
			dev.endpoint.addr[0] = 198;
			dev.endpoint.addr[1] = 18;
			dev.endpoint.addr[3] = (uint8_t)(i + 1);
			dev.last_handshake = now - 1;
			dev.rx_bytes = (uint64_t)now * 100;
			mesh_device(&nodes[i].m, &nodes[i].m.peers[0], &dev,
			    now);
			mesh_tick(&nodes[i].m, now);
		}
		deliver();
	}
}

static struct imsg_prefix
prefix6(const char *s, uint8_t plen)
{
	struct imsg_prefix	p;

	memset(&p, 0, sizeof(p));
	p.af = AF_INET6;
	p.plen = plen;
	inet_pton(AF_INET6, s, p.addr);
	return (p);
}

static void
sample(struct identity *id)
{
	memset(id, 0, sizeof(*id));
	strlcpy(id->name, "alice", sizeof(id->name));
	strlcpy(id->peer_name, "bob", sizeof(id->peer_name));
	memset(id->public_key, 0x42, WG_KEY_LEN);
	id->addresses[0] = prefix6("fd00:1:2:3::1", 64);
	id->addresses[1].af = AF_INET;
	id->addresses[1].plen = 24;
	inet_pton(AF_INET, "198.18.7.1", id->addresses[1].addr);
	id->naddresses = 2;
	id->routed[0] = prefix6("fd00:4:5:6::", 64);
	id->nrouted = 1;
}

static void
test_wire(void)
{
	struct identity	 id, out;
	uint8_t		 buf[IDENTITY_LEN_MAX + 8];
	ssize_t		 n, want_n;
	size_t		 i;
	int		 want, bad;

	TEST("an identity goes out and comes back the same");
	sample(&id);
	n = identity_encode(buf, sizeof(buf), &id, 0);
	CHECK(n == 1 + 6 + 4 + 32 + 1 + 18 + 6 + 1 + 18, "length %zd", n);
	CHECK(identity_decode(buf, (size_t)n, &out, &want) == 0 && !want &&
	    memcmp(&id, &out, sizeof(id)) == 0, "round trip");

	TEST("a request is padded to the largest answer, and says so");
	want_n = identity_encode(buf, sizeof(buf), &id, 1);
	CHECK(want_n == IDENTITY_LEN_MAX && IDENTITY_LEN_MAX == 739,
	    "request %zd of %d", want_n, IDENTITY_LEN_MAX);
	CHECK(IDENTITY_LEN_MAX <= GOSSIP_MAX_PAYLOAD_BYTES, "fits a datagram");
	CHECK(identity_decode(buf, (size_t)want_n, &out, &want) == 0 && want,
	    "request decoded");
	id.naddresses = id.nrouted = IMSG_PREFIXES_MAX;
	for (i = 0; i < IMSG_PREFIXES_MAX; i++)
		id.addresses[i] = id.routed[i] = prefix6("fd00::1", 128);
	memset(id.name, 'n', IMSG_NAME_MAX - 1);
	memset(id.peer_name, 'p', IMSG_NAME_MAX - 1);
	n = identity_encode(buf, sizeof(buf), &id, 0);
	CHECK(n == IDENTITY_LEN_MAX, "the largest answer %zd", n);

	TEST("a name too long, or none, is not sent");
	sample(&id);
	id.name[0] = '\0';
	CHECK(identity_encode(buf, sizeof(buf), &id, 0) == -1, "no name");
	CHECK(identity_encode(buf, IDENTITY_LEN_MAX - 1, &id, 0) == -1,
	    "a buffer too small");

	TEST("every cut-short identity is refused");
	sample(&id);
	n = identity_encode(buf, sizeof(buf), &id, 0);
	bad = 0;
	for (i = 0; i < (size_t)n; i++)
		if (identity_decode(buf, i, &out, &want) != -1)
			bad++;
	CHECK(bad == 0, "%d short lengths taken", bad);

	TEST("malformed identities are refused");
	sample(&id);
	n = identity_encode(buf, sizeof(buf), &id, 0);
	buf[n] = 0;
	CHECK(identity_decode(buf, (size_t)n + 1, &out, &want) == -1,
	    "an answer with a byte after it");
	buf[0] = 0x02;
	CHECK(identity_decode(buf, (size_t)n, &out, &want) == -1,
	    "unknown flag");
	buf[0] = 0;
	buf[2] = '"';
	CHECK(identity_decode(buf, (size_t)n, &out, &want) == -1,
	    "a quote in a name");
	buf[2] = 'l';
	buf[1] = 0;
	CHECK(identity_decode(buf, (size_t)n, &out, &want) == -1,
	    "an empty name");
	buf[1] = 5;
	/* flags, "alice", "bob", key: then the count */
	buf[1 + 6 + 4 + 32] = IMSG_PREFIXES_MAX + 1;
	CHECK(identity_decode(buf, (size_t)n, &out, &want) == -1,
	    "too many prefixes");
	buf[1 + 6 + 4 + 32] = 2;
	buf[1 + 6 + 4 + 32 + 1] = 5;
	CHECK(identity_decode(buf, (size_t)n, &out, &want) == -1,
	    "family 5");
	buf[1 + 6 + 4 + 32 + 1] = 6;
	buf[1 + 6 + 4 + 32 + 2] = 129;
	CHECK(identity_decode(buf, (size_t)n, &out, &want) == -1,
	    "a /129");
	buf[1 + 6 + 4 + 32 + 2] = 64;
	CHECK(identity_decode(buf, (size_t)n, &out, &want) == 0,
	    "mended, taken");
	want_n = identity_encode(buf, sizeof(buf), &id, 1);
	buf[want_n - 1] = 1;
	CHECK(identity_decode(buf, (size_t)want_n, &out, &want) == -1,
	    "padding that is not zero");
}

static void
test_check(void)
{
	struct identity	 theirs, ours;
	char		 why[96];

	/* alice tells bob; bob's view of alice is "ours" */
	sample(&theirs);
	memset(&ours, 0, sizeof(ours));
	strlcpy(ours.name, "bob", sizeof(ours.name));
	strlcpy(ours.peer_name, "alice", sizeof(ours.peer_name));
	ours.addresses[0] = prefix6("fd00:4:5:6::1", 64);
	ours.naddresses = 1;
	ours.routed[0] = prefix6("fd00:1:2:3::", 64);
	ours.routed[1].af = AF_INET;
	ours.routed[1].plen = 32;
	inet_pton(AF_INET, "198.18.7.1", ours.routed[1].addr);
	ours.nrouted = 2;

	TEST("two files that agree");
	CHECK(identity_check(&theirs, &ours, why, sizeof(why)) == 0,
	    "agree");

	TEST("a node renamed on its own side");
	strlcpy(ours.peer_name, "nb-a", sizeof(ours.peer_name));
	CHECK(identity_check(&theirs, &ours, why, sizeof(why)) == 1 &&
	    strcmp(why, "calls itself \"alice\", named \"nb-a\" here: "
	    "make the names agree") == 0, "%s", why);
	strlcpy(ours.peer_name, "alice", sizeof(ours.peer_name));

	TEST("this node known by another name there");
	strlcpy(ours.name, "robert", sizeof(ours.name));
	CHECK(identity_check(&theirs, &ours, why, sizeof(why)) == 1 &&
	    strcmp(why, "knows this node as \"bob\", not \"robert\": "
	    "make the names agree") == 0, "%s", why);
	strlcpy(ours.name, "bob", sizeof(ours.name));

	TEST("its address not routed to it here");
	ours.nrouted = 1;
	CHECK(identity_check(&theirs, &ours, why, sizeof(why)) == 1 &&
	    strcmp(why, "its address 198.18.7.1 is not in its allowed-ips "
	    "here") == 0, "%s", why);
	ours.routed_more = 1;
	CHECK(identity_check(&theirs, &ours, why, sizeof(why)) == 0,
	    "a list cut short proves nothing");
	ours.routed_more = 0;
	ours.nrouted = 2;

	TEST("our address routed elsewhere there");
	theirs.routed[0] = prefix6("fd00:4:5:7::", 64);
	CHECK(identity_check(&theirs, &ours, why, sizeof(why)) == 1 &&
	    strcmp(why, "our address fd00:4:5:6::1 is not in its allowed-ips "
	    "for us there") == 0, "%s", why);
	theirs.routed[0] = prefix6("fd00:4:5::", 48);
	CHECK(identity_check(&theirs, &ours, why, sizeof(why)) == 0,
	    "a shorter prefix holds it");
	theirs.routed[0] = prefix6("fd00:4:5:6::", 63);
	CHECK(identity_check(&theirs, &ours, why, sizeof(why)) == 0,
	    "a /63 holds it");
}

static void
test_mesh(void)
{
	struct mesh_peer	*ab, *ba;
	uint8_t			 buf[IDENTITY_LEN_MAX];
	struct identity		 id;
	ssize_t			 n;
	uint64_t		 bad;
	size_t			 sent;

	TEST("two nodes whose files agree are up, each told once");
	setup("a", "b", "b", "a");
	run(now + 3);
	ab = &nodes[0].m.peers[0];
	ba = &nodes[1].m.peers[0];
	CHECK(ab->state == PEER_STATE_UP && ba->state == PEER_STATE_UP,
	    "states %d %d", ab->state, ba->state);
	CHECK(ab->identity_known && ba->identity_known, "both known");
	CHECK(nodes[0].sent_want == 1 && nodes[1].sent_want == 1,
	    "one request each: %zu %zu", nodes[0].sent_want,
	    nodes[1].sent_want);
	CHECK(nodes[0].largest_answer <= IDENTITY_LEN_MAX &&
	    nodes[1].largest_answer <= IDENTITY_LEN_MAX,
	    "no answer larger than a request");
	run(now + 60);
	CHECK(nodes[0].sent + nodes[1].sent <= 4, "quiet once known: %zu",
	    nodes[0].sent + nodes[1].sent);

	TEST("a peer that never answers is asked less and less often");
	setup("a", "b", "b", "a");
	nodes[1].m.send = NULL;		/* an older version: it drops them */
	run(now + 3600);
	CHECK(nodes[0].sent_want >= 8 && nodes[0].sent_want <= 20,
	    "%zu requests in an hour", nodes[0].sent_want);
	CHECK(nodes[0].m.peers[0].state == PEER_STATE_UP,
	    "up all the same: it has not said otherwise");

	TEST("a renamed on its own side only: a mismatch on both, not up");
	setup("alice", "b", "b", "nb-a");
	run(now + 3);
	ab = &nodes[0].m.peers[0];
	ba = &nodes[1].m.peers[0];
	CHECK(ab->state == PEER_STATE_MISMATCH && strcmp(ab->reason,
	    "knows this node as \"nb-a\", not \"alice\": make the names "
	    "agree") == 0, "at a: %d %s", ab->state, ab->reason);
	CHECK(ba->state == PEER_STATE_MISMATCH && strcmp(ba->reason,
	    "calls itself \"alice\", named \"nb-a\" here: make the names "
	    "agree") == 0, "at b: %d %s", ba->state, ba->reason);
	CHECK(mesh_peer_mismatch(ab) && mesh_peer_mismatch(ba),
	    "mesh_peer_mismatch()");
	CHECK(mesh_peer_is_up(ab, now), "the handshake is still up");
	run(now + 30);
	CHECK(ab->state == PEER_STATE_MISMATCH &&
	    ba->state == PEER_STATE_MISMATCH, "still a mismatch 30 s on");

	TEST("the file mended and reloaded: up on both sides");
	sent = nodes[0].sent_want;
	configure(0, "nb-a", "b");
	run(now + 2);
	ab = &nodes[0].m.peers[0];
	ba = &nodes[1].m.peers[0];
	CHECK(nodes[0].sent_want == sent + 1, "asked anew after the reload");
	CHECK(ab->state == PEER_STATE_UP && ba->state == PEER_STATE_UP,
	    "states %d %d (%s / %s)", ab->state, ba->state, ab->reason,
	    ba->reason);

	TEST("an identity that is not the sender's key, or malformed, "
	    "changes nothing");
	setup("a", "b", "b", "a");
	run(now + 3);
	ab = &nodes[0].m.peers[0];
	memset(&id, 0, sizeof(id));
	strlcpy(id.name, "evil", sizeof(id.name));
	strlcpy(id.peer_name, "x", sizeof(id.peer_name));
	memset(id.public_key, 0x77, WG_KEY_LEN);
	n = identity_encode(buf, sizeof(buf), &id, 1);
	bad = nodes[0].m.stats.rx_bad;
	sent = nodes[0].sent;
	CHECK(mesh_receive(&nodes[0].m, ab, GOSSIP_MSG_IDENTITY, buf,
	    (size_t)n, now) == -1 && nodes[0].m.stats.rx_bad == bad + 1,
	    "another key refused and counted");
	CHECK(mesh_receive(&nodes[0].m, ab, GOSSIP_MSG_IDENTITY, buf,
	    3, now) == -1, "three bytes refused");
	CHECK(ab->state == PEER_STATE_UP && nodes[0].sent == sent,
	    "still up, nothing answered");

	TEST("requests are answered once a second at most");
	memcpy(id.public_key, nodes[1].key, WG_KEY_LEN);
	strlcpy(id.name, "b", sizeof(id.name));
	strlcpy(id.peer_name, "a", sizeof(id.peer_name));
	n = identity_encode(buf, sizeof(buf), &id, 1);
	sent = nodes[0].sent;
	mesh_receive(&nodes[0].m, ab, GOSSIP_MSG_IDENTITY, buf, (size_t)n,
	    now);
	mesh_receive(&nodes[0].m, ab, GOSSIP_MSG_IDENTITY, buf, (size_t)n,
	    now);
	mesh_receive(&nodes[0].m, ab, GOSSIP_MSG_IDENTITY, buf, (size_t)n,
	    now);
	CHECK(nodes[0].sent <= sent + 1, "%zu answers to three in a second",
	    nodes[0].sent - sent);
	nqueue = 0;
}

int
main(void)
{
	test_wire();
	test_check();
	test_mesh();
	return (regress_end());
}
