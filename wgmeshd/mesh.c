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
 * The engine's endpoint choice and gossip, as a state machine with no
 * I/O: events go in (configuration, the device's view, resolved names,
 * gossip received, time), actions come out through two callbacks (ask the
 * parent to set an endpoint or poke a peer; send a gossip payload to a
 * peer, which the engine seals).  The engine drives it with real events,
 * regress/ with made-up ones, and regress/sim with a simulated network.
 *
 * Which endpoint a peer is given next, and why: the rules, each with the
 * function that applies it (14 to 18: relaying, at the end of the file).  The parent applies rule 13, and rule 12 in
 * part; their decisions are pure functions in rules.c, which regress/sim
 * calls too.
 *
 *  1. Nothing is set for a peer before the parent has reported the
 *     device's view of it: at a start or a reload its session may be up
 *     (mesh_peer_step(), mesh_try_now()).
 *  2. A peer that is up is left alone: WireGuard itself follows a peer
 *     that roams.  Up is a recent handshake and signs of life
 *     (mesh_peer_is_up()); the endpoint it is up at is remembered, for
 *     rule 7 and the state file, and the keepalive held back by rule 12
 *     is set (mesh_peer_step()).
 *  3. A LAN address that answered our challenge (lan.c) comes before
 *     anything else: a peer that is not up is tried there at once
 *     (mesh_lan_verified(), mesh_try_now()), and it heads every round
 *     while it is usable (mesh_try_build(), mesh_lan_usable()).  Of two
 *     families, the IPv4 address stays while it is usable.
 *  4. A peer that is up elsewhere is moved to its LAN address on trial
 *     only (mesh_lan_verified()): the move stands once WireGuard shows
 *     that the peer answers there, that is, once the device reports it
 *     at the LAN address with a handshake made since the move or with
 *     bytes received since it first showed it there (WireGuard takes the
 *     endpoint from the last authenticated datagram, so bytes from
 *     anywhere else would have moved it away).  Until then it is asked
 *     for a sign of life every second (ALIVE, through the tunnel);
 *     without that proof within MESH_LAN_TRIAL_SECONDS, or if it goes
 *     down meanwhile, it is set back where it was up (mesh_lan_trial(),
 *     mesh_lan_fallback()).
 *  5. A LAN address that failed a trial, or lost a peer, is left alone
 *     for MESH_LAN_RETRY_SECONDS (mesh_lan_usable()).
 *  6. UPnP: the port a peer mapped on its router comes second in every
 *     round (mesh_try_build(), mesh_obs_upnp()).  A node with a mapping
 *     of its own (made, not only asked for) lets a peer that has none
 *     come through it, for MESH_UPNP_WAIT_SECONDS from the first step of
 *     the peer that was not up: meanwhile it tries only the LAN and the
 *     configured endpoints, and no news (mesh_upnp_waits(),
 *     mesh_try_build(), mesh_try_now()).
 *  7. Otherwise a round tries, in order of evidence and freshness: where
 *     other nodes saw the peer within MESH_HANDSHAKE_FRESH_SECONDS (first
 *     hand before hearsay, then the newest: mesh_obs_rank()), the
 *     configured addresses and names, older sightings (up to
 *     MESH_OBS_MAX_AGE_SECONDS), the endpoint it was last up at, the
 *     state file; an address already in the round keeps its first place
 *     (mesh_try_build(), mesh_try_add()).  A round is built when it
 *     starts (mesh_peer_step()).
 *  8. Each candidate is tried for MESH_TRY_SECONDS, and set again every
 *     MESH_PUNCH_SECONDS meanwhile, so that the parent makes the peer
 *     anew (rule 13) and a lost first handshake is repeated sooner
 *     (mesh_peer_step()).  A peer whose keys are seen to differ is set
 *     anew each time, and once at once (SET_ENDPOINT_ANEW): the end that
 *     only answered the other's initiations, and so sent none of its own
 *     (WireGuard waits 5 s after any handshake message it sent), sends
 *     one, and the other end sees the keys differ too (mesh_why(),
 *     mesh_keys_tell()).  A datagram into the tunnel starts the
 *     handshake once the device reports the endpoint in place
 *     (mesh_device(), mesh_poke()); the first try of the endpoint the
 *     device already has is only poked (mesh_set_endpoint()).
 *  9. A whole round without a handshake backs off: MESH_TRY_SECONDS
 *     doubled per failed round, at most MESH_BACKOFF_MAX_SECONDS
 *     (mesh_peer_step(), mesh_backoff()).
 * 10. News of a peer that is not up (a new address in gossip, a PUNCH,
 *     a LAN answer) is tried at once, ahead of the round: at most every
 *     MESH_PUNCH_SECONDS (a LAN answer of another address is not held
 *     back by that), not over a LAN address being tried unless it is
 *     one, not while rule 6 waits unless it is a LAN address, and once
 *     per pause while backing off (mesh_try_now(), mesh_rx_endpoints(),
 *     mesh_rx_punch(), mesh_lan_verified()).
 * 11. A node that hears news of a peer it cannot reach asks the node
 *     that told it, if that one is up, to tell the peer
 *     (PUNCH_REQUEST: mesh_rx_endpoints()); that node, with both up,
 *     tells each where it sees the other, so that both ends send at
 *     once, a LAN address only to a node on the same LAN
 *     (mesh_rx_punch_request(), mesh_rx_punch()).
 * 12. Of two ends, the one with the larger public key starts later
 *     (key_starts_later()): two handshake initiations that cross undo
 *     each other for five seconds (WireGuard's REKEY_TIMEOUT).  It pokes
 *     MESH_POKE_DELAY_MS later (mesh_poke()), and has no keepalive until
 *     the peer is up, neither from the parent for a new peer
 *     (device_apply()) nor with an endpoint set (mesh_set_endpoint()).
 * 13. The parent, asked to set an endpoint, leaves a peer that made a
 *     handshake elsewhere in the last DEVICE_HANDSHAKE_GRACE_SECONDS;
 *     makes a peer with no recent handshake anew (so that WireGuard
 *     starts one now), unless bytes came from it (a handshake under way)
 *     and this end starts later or bytes came within
 *     DEVICE_CROSSED_QUIET_MS, or the engine asks for it anew
 *     (SET_ENDPOINT_ANEW: a relay's port, rule 16, or keys that differ,
 *     rule 8); otherwise only points
 *     it elsewhere (device_set_decide(), device_set_endpoint()).
 * 14. A peer that is not up is relayed, when this interface and its
 *     entry allow it (relay-use): at once (after
 *     MESH_RELAY_EVIDENCE_SECONDS) when both NATs map each destination
 *     anew (two nodes that have it up see it at one address and
 *     different ports, and two of our peers see us so: each whole
 *     table ends with where its sender sees the receiver), otherwise
 *     after MESH_RELAY_AFTER_SECONDS without a handshake; the reason is
 *     kept for wgmeshctl (mesh_relay_wanted()).  The end asks the relay
 *     (RELAY_REQUEST), which asks the other end (RELAY_ASK); that end
 *     consents by asking too; a relay gives ports only to a pair both
 *     of whose ends asked (mesh_rx_relay_request(), mesh_rx_relay_ask()).
 *     An answer to ASK from a node that asked another relay: the end
 *     that starts first (rule 12) keeps its choice.
 * 15. The relay is one of the peers up here that told us they have the
 *     peer up: one with a configured endpoint (a public address) first,
 *     then the one both ends rank first (their keys and its key mixed);
 *     one that refused lately (MESH_RELAY_REFUSED_SECONDS), or carried
 *     nothing (MESH_RELAY_FAILED_SECONDS), is skipped (mesh_relay_pick()).
 * 16. Relayed, the peer's endpoint is the relay's address (as our
 *     device has the relay) and the port it gave us, set anew: a relay
 *     latches a leg only on a handshake, and a session made elsewhere
 *     would go on without one (rule 13); WireGuard follows
 *     the last authenticated datagram, so a stale one from elsewhere
 *     that moved it is undone at once.  That endpoint is never
 *     gossiped, saved or taken as where the peer is (ORIGIN_RELAY).  A
 *     relay that stops answering (MESH_RELAY_LOST_SECONDS), goes down,
 *     or carries no handshake within MESH_RELAY_PROVE_SECONDS is left for
 *     another at once (mesh_relay_step(), mesh_rx_relay_answer()).
 * 17. Back to direct: a relayed peer that is up is tried directly
 *     MESH_TRIAL_FIRST_SECONDS after it was relayed, then at doubling
 *     intervals up to MESH_TRIAL_MAX_SECONDS, or on news (a new address
 *     of it in gossip, a LAN answer, a new mapping of ours), but never
 *     within MESH_TRIAL_GAP_SECONDS of the last trial, whose connection-
 *     tracking entries on the routers would spoil it.  One end proposes
 *     (DIRECT_TRIAL START, with its listen port), the other agrees (ACK,
 *     with its own); each has the relay drop the pair's datagrams for the
 *     trial (RELAY_REQUEST PAUSE), so that no stale relayed datagram
 *     pulls the endpoint back, and tries, MESH_TRIAL_STEP_SECONDS each,
 *     a LAN address that answered, the peer's listen port at the address
 *     a node with it up sees (a NAT that keeps ports now does so for new
 *     flows), and that node's view.  Proof that both directions work at
 *     a direct address, a handshake or an answer to an ALIVE, counts
 *     only once the relay drops everything (MESH_TRIAL_PAUSED_SECONDS
 *     in: one before may have crossed the relay; bytes that arrive prove
 *     one direction only), and ends
 *     the relaying (RELAY_REQUEST DONE: the relay frees the
 *     ports and tells the other end); otherwise the peer goes back to
 *     the relay after MESH_TRIAL_SECONDS (mesh_trial_due(),
 *     mesh_trial_begin(), mesh_trial_step(), mesh_rx_trial()).
 * 18. A relaying node offers only what relay-offer allows (auto: unless a
 *     peer sees it at a port other than its listen port, i.e. behind a
 *     NAT), for peers both up here, at most relay-max-pairs pairs; it
 *     keeps a pair while both ends ask for it every
 *     MESH_RELAY_REFRESH_SECONDS (MESH_RELAY_WANT_SECONDS at most between
 *     two) and are up, and closes it otherwise, telling the end still
 *     there (mesh_relay_offered(), mesh_relay_tick()).  What crosses the
 *     relay's ports is the relay process's business (relay.c).
 *
 * WireGuard's crypto ends at the peer, so no proof at this layer tells
 * a relay from the peer itself; lan.c binds the challenge to the path,
 * and rule 4 bounds what a LAN address that does not work costs a peer
 * that was up: MESH_LAN_TRIAL_SECONDS, once every MESH_LAN_RETRY_SECONDS.
 *
 * Gossip: what this node sees of each connected peer (the endpoint its
 * WireGuard uses, which behind NAT is the router's mapping) goes at once
 * to every connected peer when it changes, all of it to a peer that has
 * just connected (at most MESH_TABLES_PER_SECOND), and all of it every
 * MESH_ANTI_ENTROPY_SECONDS to one connected peer chosen at random.  With
 * more than MESH_PUSH_ALL connected peers a change goes to a few of them
 * chosen at random (mesh_fanout()), and a node passes a new address it
 * heard for a peer it cannot reach on once, the same way: an epidemic,
 * O(log N) rounds and O(N log N) datagrams for a change to reach every
 * node, anti-entropy catching what it misses.  A node that hears of a
 * new endpoint for a peer it cannot reach tries it at once, and asks the
 * node that told it to tell that peer (PUNCH_REQUEST); that node sends
 * the peer a PUNCH with where it sees the asker, so that both ends send
 * at the same time and each one's NAT lets the other's packets in (a
 * node that only passed the news on is not connected to the peer and
 * does nothing: the try alone opens the asker's NAT for the peer, whose
 * own try, when the news reaches it, then gets through).
 *
 * What other nodes say of a peer (mesh_obs_add()) is kept per reporter:
 * each node that reports on a peer has a slot of its own (and one more
 * for the port the peer mapped), so that one member that lies fills no
 * more than its own; a time is never taken as later than the moment it
 * arrived; and what the reporter sees itself (first hand: where it has
 * the peer up, or the port the peer itself says it mapped) ranks above
 * what it passes on (hearsay, marked so on the wire), then the fresher
 * first.  A full table makes room for a report that ranks higher than
 * its lowest.
 *
 * Why a peer that is not up is not, for wgmeshctl and the log: see
 * mesh_why(), which reads the device's counters as WireGuard keeps them
 * (an initiation it could open counts in the peer's received bytes,
 * whatever the preshared key; a response it cannot open, or an initiation
 * made for another public key, counts nowhere: mesh_keys_evidence()),
 * what the resolver said (mesh_resolve_failed()) and rule 14's evidence
 * of NATs that map each destination anew.
 *
 * Whether a peer is up: see mesh_peer_is_up().  Pushes wait for
 * mesh_flush(), which the engine calls once it has read a batch of the
 * parent's reports, so that peers that came up together go out together.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wgmeshd.h"
#include "wire.h"
#include "engine.h"

/* What mesh_table() gives. */
enum mesh_table_what {
	TABLE_ALL,		/* everything this node knows */
	TABLE_CHANGES,		/* its changed views of peers that are up */
	TABLE_CHANGES_NEWS,	/* and news heard, to be passed on once */
};

static uint32_t	 mesh_random(struct mesh *, uint32_t);
static int	 mesh_cmp_key(const void *, const void *);
static int	 mesh_cmp_address(const void *, const void *);
static int	 mesh_cmp_control(const void *, const void *);
static struct mesh_peer *mesh_peer_lookup(const struct mesh *,
		    struct mesh_peer **, const struct mesh_peer *,
		    int (*)(const void *, const void *));
static int	 mesh_index(struct mesh *);
static void	 mesh_pair_free(struct mesh_peer *);
static void	 mesh_peer_step(struct mesh *, struct mesh_peer *, int64_t);
static void	 mesh_device_totals(struct mesh_peer *,
		    const struct imsg_device_peer *);
static void	 mesh_try_build(struct mesh *, struct mesh_peer *, int64_t);
static int	 mesh_try_add(struct mesh_peer *, const struct imsg_addr *,
		    uint8_t);
static void	 mesh_set_endpoint(struct mesh *, struct mesh_peer *,
		    const struct imsg_addr *, uint8_t, int64_t);
static void	 mesh_set_endpoint_anew(struct mesh *, struct mesh_peer *,
		    const struct imsg_addr *, uint8_t, int64_t, int);
static void	 mesh_try_now(struct mesh *, struct mesh_peer *,
		    const struct imsg_addr *, uint8_t, int64_t);
static int64_t	 mesh_backoff(const struct mesh_peer *);
static int	 mesh_obs_add(struct mesh *, struct mesh_peer *,
		    const struct gossip_endpoint *, const struct mesh_peer *,
		    int64_t);
static int	 mesh_obs_rank(const struct mesh_obs *, const struct mesh_obs *);
static void	 mesh_obs_reindex(struct mesh_peer *, const uint32_t *, size_t);
static size_t	 mesh_table(struct mesh *, uint32_t, const struct mesh_peer *,
		    enum mesh_table_what, struct gossip_endpoint *, int64_t);
static const struct mesh_obs *mesh_obs_upnp(const struct mesh_peer *,
		    int64_t);
static int	 mesh_device_on_lan(const struct mesh_peer *);
static int	 mesh_upnp_waits(const struct mesh *,
		    const struct mesh_peer *, int64_t);
static const struct mesh_self *mesh_upnp_self(const struct mesh *, uint32_t);
static void	 mesh_send_entries(struct mesh *, struct mesh_peer *, uint8_t,
		    const struct gossip_endpoint *, size_t);
static size_t	 mesh_fanout(size_t);
static void	 mesh_push(struct mesh *, struct mesh_peer **, size_t,
		    struct gossip_endpoint *, struct gossip_endpoint *,
		    int64_t);
static void	 mesh_push_to(struct mesh *, struct mesh_peer *,
		    const struct gossip_endpoint *, size_t,
		    struct gossip_endpoint *);
static void	 mesh_keepalive(struct mesh *, struct mesh_peer *);
static void	 mesh_poke(struct mesh *, struct mesh_peer *);
static struct mesh_self *mesh_self_add(struct mesh *, uint32_t,
		    const uint8_t [WG_KEY_LEN], uint8_t);
static void	 mesh_alive(struct mesh *, struct mesh_peer *, int64_t);
static void	 mesh_doubt(struct mesh *, struct mesh_peer *,
		    const struct imsg_addr *, int64_t);
static int	 mesh_lan_usable(const struct mesh_peer *, int64_t);
static void	 mesh_lan_trial(struct mesh *, struct mesh_peer *, int64_t);
static void	 mesh_lan_fallback(struct mesh *, struct mesh_peer *, int64_t);
static uint8_t	 mesh_origin(const struct mesh_peer *,
		    const struct imsg_addr *);
static int	 mesh_in_overlay(struct mesh *, uint32_t,
		    const struct imsg_addr *);
static void	 mesh_alive_send(struct mesh *, struct mesh_peer *, uint32_t);
static void	 mesh_identity_ours(const struct mesh *,
		    const struct mesh_peer *, struct identity *);
static void	 mesh_identity_send(struct mesh *, struct mesh_peer *, int,
		    int64_t);
static void	 mesh_identity_step(struct mesh *, struct mesh_peer *,
		    int64_t);
static void	 mesh_identity_state(struct mesh_peer *);
static int	 mesh_rx_identity(struct mesh *, struct mesh_peer *,
		    const uint8_t *, size_t, int64_t);
static int	 mesh_rx_endpoints(struct mesh *, struct mesh_peer *,
		    const uint8_t *, size_t, int64_t);
static int	 mesh_rx_punch_request(struct mesh *, struct mesh_peer *,
		    const uint8_t *, size_t, int64_t);
static int	 mesh_rx_punch(struct mesh *, struct mesh_peer *,
		    const uint8_t *, size_t, int64_t);
static const struct mesh_iface *mesh_iface_find(const struct mesh *,
		    uint32_t);
static void	 mesh_clear_peers(struct mesh *);
static void	 mesh_relay_reindex(struct mesh *, struct mesh_peer *, size_t,
		    const uint32_t *);
static void	 mesh_relay_send(struct mesh *, struct mesh_peer *, uint8_t,
		    const uint8_t [WG_KEY_LEN], uint8_t, uint16_t);
static int	 mesh_peer_maps_anew(const struct mesh_peer *, int64_t);
static int	 mesh_self_maps_anew(const struct mesh *, uint32_t, int64_t);
static int	 mesh_relay_offered(const struct mesh *, uint32_t, int64_t);
static int	 mesh_relay_allowed(const struct mesh *,
		    const struct mesh_peer *);
static struct mesh_peer *mesh_relay_pick(struct mesh *, struct mesh_peer *,
		    int64_t);
static void	 mesh_relay_want(struct mesh *, struct mesh_peer *, int64_t);
static void	 mesh_relay_adopt(struct mesh *, struct mesh_peer *,
		    struct mesh_peer *, int64_t);
static void	 mesh_relay_drop(struct mesh *, struct mesh_peer *, int,
		    int64_t);
static int	 mesh_relay_wanted(struct mesh *, struct mesh_peer *, int64_t);
static void	 mesh_relay_asked_why(struct mesh *, struct mesh_peer *,
		    int64_t);
static int	 mesh_trial_due(const struct mesh_peer *, int64_t);
static void	 mesh_trial_build(struct mesh_peer *, int64_t);
static void	 mesh_trial_begin(struct mesh *, struct mesh_peer *, int,
		    int64_t);
static void	 mesh_trial_step(struct mesh *, struct mesh_peer *, int64_t);
static void	 mesh_trial_failed(struct mesh_peer *, int64_t);
static int	 mesh_relay_step(struct mesh *, struct mesh_peer *, int64_t);
static struct mesh_relay *mesh_relay_find(struct mesh *,
		    const struct mesh_peer *, const struct mesh_peer *);
static struct mesh_relay *mesh_relay_new(struct mesh *,
		    const struct mesh_peer *, const struct mesh_peer *);
static void	 mesh_relay_close(struct mesh *, struct mesh_relay *,
		    const struct mesh_peer *, int64_t);
static void	 mesh_relay_tick(struct mesh *, int64_t);
static int	 mesh_rx_relay_request(struct mesh *, struct mesh_peer *,
		    const uint8_t *, size_t, int64_t);
static int	 mesh_rx_relay_ask(struct mesh *, struct mesh_peer *,
		    const uint8_t *, size_t, int64_t);
static int	 mesh_rx_relay_answer(struct mesh *, struct mesh_peer *,
		    const uint8_t *, size_t, int64_t);
static int	 mesh_rx_trial(struct mesh *, struct mesh_peer *,
		    const uint8_t *, size_t, int64_t);
static void	 mesh_set_state(struct mesh_peer *, enum peer_state,
		    const char *, ...) __attribute__((__format__(printf, 3, 4)));
static int	 mesh_ping_ack(struct mesh *, struct mesh_peer *,
		    const uint8_t *);
static void	 mesh_keys_evidence(struct mesh_peer *, int, int64_t);
static int	 mesh_keys_differ(const struct mesh_peer *, int64_t);
static void	 mesh_why(struct mesh *, struct mesh_peer *, int64_t);
static void	 mesh_keys_tell(struct mesh *, struct mesh_peer *, int64_t);

void
mesh_init(struct mesh *m, mesh_action_cb cb, mesh_send_cb send, void *arg,
    uint64_t seed)
{
	memset(m, 0, sizeof(*m));
	m->action = cb;
	m->send = send;
	m->arg = arg;
	m->rng = seed != 0 ? seed : 0x9e3779b97f4a7c15ULL;
}

/* Only to pick whom to gossip with: xorshift64 is plenty. */
static uint32_t
mesh_random(struct mesh *m, uint32_t n)
{
	uint64_t	x = m->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	m->rng = x;
	return ((uint32_t)(x % n));
}

static void
mesh_pair_free(struct mesh_peer *p)
{
	if (p->pair != NULL) {
		gossip_pair_clear(p->pair);
		free(p->pair);
		p->pair = NULL;
	}
}

void
mesh_clear(struct mesh *m)
{
	mesh_clear_peers(m);
	free(m->relays);
	m->relays = NULL;
	m->relay = NULL;
	free(m->ifaces);
	m->ifaces = NULL;
	m->nifaces = 0;
}

static void
mesh_clear_peers(struct mesh *m)
{
	size_t	i;

	for (i = 0; i < m->npeers; i++)
		mesh_pair_free(&m->peers[i]);
	free(m->peers);
	m->peers = NULL;
	m->npeers = 0;
	free(m->by_key);
	m->by_key = NULL;
	free(m->by_address);
	m->by_address = NULL;
	free(m->by_control);
	m->by_control = NULL;
	free(m->self);
	m->self = NULL;
	m->nself = 0;
}

/*
 * Sets (or, with a NULL or empty address, forgets) an endpoint of this
 * node on iface that the peers cannot see for themselves; it is gossiped
 * with the next push and every table.  Returns -1 when out of memory.
 */
int
mesh_self_endpoint(struct mesh *m, uint32_t iface,
    const uint8_t own_key[WG_KEY_LEN], uint8_t origin,
    const struct imsg_addr *addr)
{
	struct mesh_self	*ms;
	size_t			 i;

	for (i = 0; i < m->nself; i++)
		if (m->self[i].iface == iface && m->self[i].origin == origin)
			break;
	if (addr == NULL || !imsg_addr_is_endpoint(addr)) {
		if (i < m->nself) {
			m->self[i] = m->self[m->nself - 1];
			m->nself--;
		}
		return (0);
	}
	if (i == m->nself) {
		if ((ms = mesh_self_add(m, iface, own_key, origin)) == NULL)
			return (-1);
	} else if (imsg_addr_equal(&m->self[i].addr, addr))
		return (0);
	else
		ms = &m->self[i];
	ms->addr = *addr;
	ms->dirty = 1;
	/* a new mapping of ours: worth a direct trial (rule 17) */
	for (i = 0; i < m->npeers; i++)
		if (m->peers[i].iface == iface &&
		    m->peers[i].relay_state == RELAY_END_ACTIVE)
			m->peers[i].trial_news = 1;
	return (0);
}

static struct mesh_self *
mesh_self_add(struct mesh *m, uint32_t iface,
    const uint8_t own_key[WG_KEY_LEN], uint8_t origin)
{
	struct mesh_self	*ms;

	if ((ms = reallocarray(m->self, m->nself + 1, sizeof(*ms))) == NULL)
		return (NULL);
	m->self = ms;
	ms = &m->self[m->nself++];
	memset(ms, 0, sizeof(*ms));
	ms->iface = iface;
	ms->origin = origin;
	memcpy(ms->public_key, own_key, WG_KEY_LEN);
	return (ms);
}

/*
 * A node with a UPnP mapping lets a peer come through it rather than
 * trying the peer's gossiped addresses: what it sends towards a peer's
 * NAT takes its router's state for that flow, and the peer's datagrams to
 * the mapped port, which would have the same addresses on the inside,
 * then clash with it in the router's connection tracking and are dropped
 * (for as long as it keeps sending).  Configured endpoints, a LAN and the
 * peer's own mapping are still tried; and only for MESH_UPNP_WAIT_SECONDS
 * from the first step of p that was not up (mesh_peer_step() starts the
 * clock).  A mapping that is only being asked for changes nothing: most
 * routers have no IGD, and a node that waited for one would be slower
 * than one without "upnp yes" (regress/lab/mixed.sh compares the two).
 */
static int
mesh_upnp_waits(const struct mesh *m, const struct mesh_peer *p,
    int64_t now)
{
	if (mesh_obs_upnp(p, now) != NULL ||
	    mesh_upnp_self(m, p->iface) == NULL)
		return (0);
	return (p->upnp_wait_at == 0 ||
	    now - p->upnp_wait_at < MESH_UPNP_WAIT_SECONDS);
}

/* This node's UPnP mapping on iface, made or being made, if any. */
static const struct mesh_self *
mesh_upnp_self(const struct mesh *m, uint32_t iface)
{
	size_t	i;

	for (i = 0; i < m->nself; i++)
		if (m->self[i].iface == iface &&
		    m->self[i].origin == ORIGIN_UPNP)
			return (&m->self[i]);
	return (NULL);
}

/*
 * A new configuration: peers are matched by public key, so one that is
 * still configured keeps what was learned about it (its pair key too,
 * with the counters it has seen, until the parent sends another).
 */
int
mesh_reconf(struct mesh *m, const struct mesh_peer *conf, size_t n)
{
	struct mesh_peer	*np;
	uint32_t		*moved;
	size_t			 i, j;

	if (n == 0) {
		for (i = 0; m->relays != NULL && i < MESH_RELAY_PAIRS_MAX; i++)
			if (m->relays[i].used && m->relays[i].open != 3)
				mesh_relay_close(m, &m->relays[i], NULL, 0);
		mesh_clear_peers(m);
		return (0);
	}
	if ((np = calloc(n, sizeof(*np))) == NULL)
		return (-1);
	/* where each old peer is now, for what it reported */
	if ((moved = calloc(m->npeers + 1, sizeof(*moved))) == NULL) {
		free(np);
		return (-1);
	}
	for (j = 0; j < m->npeers; j++)
		moved[j] = UINT32_MAX;
	for (i = 0; i < n; i++) {
		for (j = 0; j < m->npeers; j++)
			if (memcmp(m->peers[j].public_key, conf[i].public_key,
			    WG_KEY_LEN) == 0)
				break;
		if (j == m->npeers) {
			np[i] = conf[i];
			np[i].pair = NULL;
			/* as the parent configured it (device_apply()) */
			np[i].keepalive_set = conf[i].starts_later ? 0 :
			    conf[i].keepalive;
			np[i].relay_state = RELAY_END_NONE;
			np[i].relay_via = UINT32_MAX;
			np[i].relay_notup_via = UINT32_MAX;
			mesh_set_state(&np[i], PEER_STATE_NO_ENDPOINT,
			    "waiting for the device");
			continue;
		}
		/* everything learned stays, the candidates too */
		moved[j] = (uint32_t)i;
		np[i] = m->peers[j];
		m->peers[j].pair = NULL;
		np[i].iface = conf[i].iface;
		np[i].index = conf[i].index;
		memcpy(np[i].name, conf[i].name, sizeof(np[i].name));
		memcpy(np[i].address, conf[i].address, sizeof(np[i].address));
		memcpy(np[i].allowed, conf[i].allowed, sizeof(np[i].allowed));
		np[i].nallowed = conf[i].nallowed;
		np[i].allowed_more = conf[i].allowed_more;
		/* ours changed, maybe: told anew, and asked for its own */
		np[i].identity_known = 0;
		np[i].identity_sent_at = 0;
		np[i].identity_tries = 0;
		np[i].keepalive = conf[i].keepalive;
		np[i].keepalive_set = conf[i].keepalive;
		np[i].starts_later = conf[i].starts_later;
		np[i].relay_use = conf[i].relay_use;
		np[i].send_table = np[i].was_up;
		/* a key or preshared key may have changed: look again */
		np[i].hs_rx_first = np[i].hs_rx_last = 0;
		np[i].keys_told = 0;
	}
	for (i = 0; i < n; i++)
		mesh_obs_reindex(&np[i], moved, m->npeers);
	mesh_relay_reindex(m, np, n, moved);
	free(moved);
	mesh_clear_peers(m);
	m->peers = np;
	m->npeers = n;
	if (mesh_index(m) == -1) {
		mesh_clear(m);
		return (-1);
	}
	return (0);
}

/* Peers are looked up by key and by address for every datagram. */
static int
mesh_cmp_key(const void *a, const void *b)
{
	const struct mesh_peer	*p = *(struct mesh_peer * const *)a;
	const struct mesh_peer	*q = *(struct mesh_peer * const *)b;

	if (p->iface != q->iface)
		return (p->iface < q->iface ? -1 : 1);
	return (memcmp(p->public_key, q->public_key, WG_KEY_LEN));
}

static int
mesh_cmp_address(const void *a, const void *b)
{
	const struct mesh_peer	*p = *(struct mesh_peer * const *)a;
	const struct mesh_peer	*q = *(struct mesh_peer * const *)b;

	if (p->iface != q->iface)
		return (p->iface < q->iface ? -1 : 1);
	return (memcmp(p->address, q->address, 16));
}

static int
mesh_cmp_control(const void *a, const void *b)
{
	const struct mesh_peer	*p = *(struct mesh_peer * const *)a;
	const struct mesh_peer	*q = *(struct mesh_peer * const *)b;

	if (p->iface != q->iface)
		return (p->iface < q->iface ? -1 : 1);
	return (memcmp(p->control, q->control, 16));
}

static int
mesh_index(struct mesh *m)
{
	size_t	i;

	if ((m->by_key = calloc(m->npeers, sizeof(*m->by_key))) == NULL ||
	    (m->by_address = calloc(m->npeers,
	    sizeof(*m->by_address))) == NULL ||
	    (m->by_control = calloc(m->npeers,
	    sizeof(*m->by_control))) == NULL)
		return (-1);
	for (i = 0; i < m->npeers; i++)
		m->by_key[i] = m->by_address[i] = m->by_control[i] =
		    &m->peers[i];
	qsort(m->by_key, m->npeers, sizeof(*m->by_key), mesh_cmp_key);
	qsort(m->by_address, m->npeers, sizeof(*m->by_address),
	    mesh_cmp_address);
	qsort(m->by_control, m->npeers, sizeof(*m->by_control),
	    mesh_cmp_control);
	return (0);
}

struct mesh_peer *
mesh_peer_find(struct mesh *m, uint32_t iface, uint32_t index)
{
	size_t	i;

	for (i = 0; i < m->npeers; i++)
		if (m->peers[i].iface == iface && m->peers[i].index == index)
			return (&m->peers[i]);
	return (NULL);
}

/* k, its iface and one field set, in one of the sorted indexes. */
static struct mesh_peer *
mesh_peer_lookup(const struct mesh *m, struct mesh_peer **index,
    const struct mesh_peer *k, int (*cmp)(const void *, const void *))
{
	struct mesh_peer	**found;

	if (m->npeers == 0)
		return (NULL);
	found = bsearch(&k, index, m->npeers, sizeof(*index), cmp);
	return (found != NULL ? *found : NULL);
}

struct mesh_peer *
mesh_peer_by_key(struct mesh *m, uint32_t iface, const uint8_t key[WG_KEY_LEN])
{
	struct mesh_peer	k;

	k.iface = iface;
	memcpy(k.public_key, key, WG_KEY_LEN);
	return (mesh_peer_lookup(m, m->by_key, &k, mesh_cmp_key));
}

struct mesh_peer *
mesh_peer_by_address(struct mesh *m, uint32_t iface, const uint8_t addr[16])
{
	struct mesh_peer	k;

	k.iface = iface;
	memcpy(k.address, addr, 16);
	return (mesh_peer_lookup(m, m->by_address, &k, mesh_cmp_address));
}

/* The peer whose control address (address_control()) this is. */
struct mesh_peer *
mesh_peer_by_control(struct mesh *m, uint32_t iface, const uint8_t addr[16])
{
	struct mesh_peer	k;

	k.iface = iface;
	memcpy(k.control, addr, 16);
	return (mesh_peer_lookup(m, m->by_control, &k, mesh_cmp_control));
}

static void
mesh_set_state(struct mesh_peer *p, enum peer_state state, const char *fmt,
    ...)
{
	va_list	ap;

	p->state = state;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
}

/* The device's view of a peer changed. */
void
mesh_device(struct mesh *m, struct mesh_peer *p,
    const struct imsg_device_peer *dev, int64_t now)
{
	uint64_t	rx_before = p->rx_total;
	int		known = p->device_known, first_rx;

	if (!p->device_known || dev->rx_bytes != p->device.rx_bytes)
		p->rx_at = now;
	/*
	 * At the first read, bytes from a peer that never made a
	 * handshake with this device are its initiations too: both ends
	 * started together, and the one that answers the other's sends
	 * none of its own for a while, so they may be all there is.
	 */
	first_rx = !known && dev->last_handshake == 0 && dev->rx_bytes > 0;
	mesh_device_totals(p, dev);
	p->device = *dev;
	p->device_known = 1;
	mesh_keys_evidence(p, (known && p->rx_total > rx_before) || first_rx,
	    now);
	p->origin = mesh_origin(p, &dev->endpoint);
	/* on trial at a LAN address (rule 4): the bytes it had there */
	if (p->lan_moved_at != 0 && !p->lan_based &&
	    imsg_addr_equal(&dev->endpoint, &p->lan)) {
		p->lan_based = 1;
		p->lan_rx_base = dev->rx_bytes;
	}
	/*
	 * The endpoint asked for is in place: now a datagram into the
	 * tunnel starts the handshake there (the parent reports a peer
	 * at once after setting its endpoint).
	 */
	if (p->poke_pending && imsg_addr_equal(&dev->endpoint, &p->trying)) {
		/*
		 * Both ends often set each other at the same moment (a
		 * PUNCH, a LAN answer), and two handshake initiations that
		 * cross each undo the other's, for five seconds (WireGuard's
		 * REKEY_TIMEOUT).  The end with the larger public key starts
		 * a little later: its datagram still opens its NAT for the
		 * other's, which then gets through.
		 */
		p->poke_pending = 0;
		mesh_poke(m, p);
	}
	mesh_peer_step(m, p, now);
}

/*
 * The totals wgmeshctl shows (show peers, show metrics), from the device's
 * counters, which start again at 0 when the peer is made anew: by the
 * parent (rule 13), by a reload that changed its key, or by someone
 * else.  A counter lower than in the last report has restarted, and all
 * of it is new; otherwise what it grew by is.  The parent reports a peer
 * at once after it made it anew, so what the old peer counted after the
 * last report (at most one poll's worth) is all that is lost.  The totals
 * are the engine's, kept across reloads with the rest of the peer
 * (mesh_reconf()); a peer that a reload removes loses them (added back,
 * it starts again, as Prometheus expects of a counter that was gone),
 * and a restart of the daemon begins again at the device's counters.
 * Nothing of endpoint choice depends on them.
 */
static void
mesh_device_totals(struct mesh_peer *p, const struct imsg_device_peer *dev)
{
	const struct imsg_device_peer	*old = &p->device;

	if (!p->device_known) {
		p->rx_total = dev->rx_bytes;
		p->tx_total = dev->tx_bytes;
		return;
	}
	p->rx_total += dev->rx_bytes >= old->rx_bytes ?
	    dev->rx_bytes - old->rx_bytes : dev->rx_bytes;
	p->tx_total += dev->tx_bytes >= old->tx_bytes ?
	    dev->tx_bytes - old->tx_bytes : dev->tx_bytes;
	if (dev->endpoint.af != 0 &&
	    !imsg_addr_equal(&dev->endpoint, &old->endpoint))
		p->endpoint_changes++;
}

static void
mesh_poke(struct mesh *m, struct mesh_peer *p)
{
	m->action(p->starts_later ? MESH_ACTION_POKE_SOON :
	    MESH_ACTION_POKE, p, NULL, m->arg);
}

/* The keepalive, at the endpoint the device has. */
static void
mesh_keepalive(struct mesh *m, struct mesh_peer *p)
{
	struct imsg_set_endpoint	set;

	memset(&set, 0, sizeof(set));
	set.iface = p->iface;
	set.peer = p->index;
	set.endpoint = p->device.endpoint;
	set.keepalive = p->keepalive;
	p->keepalive_set = p->keepalive;
	m->action(MESH_ACTION_SET_ENDPOINT, p, &set, m->arg);
}

/*
 * Where an endpoint of p came from, the strongest claim first: the
 * configuration, a LAN answer, what was being tried, the round's list;
 * otherwise WireGuard learned it from the peer.
 */
static uint8_t
mesh_origin(const struct mesh_peer *p, const struct imsg_addr *a)
{
	size_t	i;

	if (a->af == 0)
		return (ORIGIN_NONE);
	if ((p->relay_state != RELAY_END_NONE && p->relay_ep.af != 0 &&
	    imsg_addr_equal(&p->relay_ep, a)) ||
	    (p->relay_ep_gone.af != 0 && imsg_addr_equal(&p->relay_ep_gone, a)))
		return (ORIGIN_RELAY);
	for (i = 0; i < p->ncand; i++)
		if (imsg_addr_equal(&p->cand[i], a))
			return (p->cand_origin[i]);
	if (p->lan.af != 0 && imsg_addr_equal(&p->lan, a))
		return (ORIGIN_LAN);
	if (imsg_addr_equal(&p->trying, a))
		return (p->trying_origin);
	for (i = 0; i < p->ntry; i++)
		if (imsg_addr_equal(&p->try[i], a))
			return (p->try_origin[i]);
	return (ORIGIN_DEVICE);
}

/* Addresses for the peer's configured host name (or its literal). */
void
mesh_candidates(struct mesh *m, struct mesh_peer *p,
    const struct imsg_addr *addrs, size_t n, uint8_t origin, int64_t now)
{
	size_t	i;

	/* the name resolved, or is no name (any more): tried afresh */
	if (p->resolve_error[0] != '\0' &&
	    strcmp(p->reason, p->resolve_error) == 0)
		mesh_set_state(p, PEER_STATE_CONNECTING, "resolved");
	p->resolve_error[0] = '\0';
	if (n > MESH_MAX_CANDIDATES)
		n = MESH_MAX_CANDIDATES;
	if (n == p->ncand && (n == 0 ||
	    memcmp(addrs, p->cand, n * sizeof(*addrs)) == 0))
		return;
	memset(p->cand, 0, sizeof(p->cand));
	for (i = 0; i < n; i++) {
		p->cand[i] = addrs[i];
		p->cand_origin[i] = origin;
	}
	p->ncand = n;
	p->next = 0;
	p->failures = 0;
	p->retry_at = 0;
	p->try_until = 0;
	mesh_peer_step(m, p, now);
}

/*
 * The peer's configured host name did not resolve (error: what the
 * resolver said): the reason it is not up while nothing else is known,
 * or nothing comes back from what is (mesh_why()).  The addresses of the
 * last answer, if any, stay candidates.
 */
void
mesh_resolve_failed(struct mesh *m, struct mesh_peer *p, const char *host,
    const char *error, int64_t now)
{
	snprintf(p->resolve_error, sizeof(p->resolve_error),
	    "cannot resolve %s: %s", host, error);
	mesh_peer_step(m, p, now);
}

/* An endpoint from the state file: tried last, after everything else. */
void
mesh_persisted(struct mesh *m, struct mesh_peer *p,
    const struct imsg_addr *addr, int64_t last_seen, int64_t now)
{
	size_t	i, oldest = 0;

	if (!imsg_addr_is_endpoint(addr))
		return;
	for (i = 0; i < p->npersisted; i++) {
		if (imsg_addr_equal(&p->persisted[i].addr, addr)) {
			if (last_seen > p->persisted[i].observed)
				p->persisted[i].observed = last_seen;
			return;
		}
		if (p->persisted[i].observed < p->persisted[oldest].observed)
			oldest = i;
	}
	if (p->npersisted < MESH_MAX_PERSISTED)
		oldest = p->npersisted++;
	else if (p->persisted[oldest].observed >= last_seen)
		return;
	memset(&p->persisted[oldest], 0, sizeof(p->persisted[oldest]));
	p->persisted[oldest].addr = *addr;
	p->persisted[oldest].observed = last_seen;
	p->persisted[oldest].origin = ORIGIN_PERSISTED;
	if (p->state == PEER_STATE_NO_ENDPOINT)
		mesh_peer_step(m, p, now);
}

void
mesh_tick(struct mesh *m, int64_t now)
{
	size_t	i;

	for (i = 0; i < m->npeers; i++)
		mesh_peer_step(m, &m->peers[i], now);
	mesh_relay_tick(m, now);
	mesh_flush(m, now);
}

/*
 * Up: a recent handshake and signs of life.  The handshake alone does not
 * tell: a peer behind NAT that roams is not followed by WireGuard (its
 * router drops what it sends from the new address), and its handshake
 * stays recent for minutes.  Signs of life are bytes from it on the device
 * or gossip from it.  Silence alone does not tell either: WireGuard's
 * keepalive timer is reset by what a peer receives too, so in an idle
 * pair often only one end sends.  So a peer quiet for longer than its
 * keepalive is asked (ALIVE, answered by ALIVE_ACK through the tunnel)
 * and given up only MESH_SILENCE_MARGIN_SECONDS seconds later; and news that it
 * was seen elsewhere (a doubt) has it asked at once and given up if it has
 * not answered within MESH_ALIVE_GRACE_SECONDS seconds.
 */
int
mesh_peer_is_up(const struct mesh_peer *p, int64_t now)
{
	int64_t	quiet = p->keepalive + MESH_SILENCE_MARGIN_SECONDS;

	if (p->device.last_handshake == 0 ||
	    now - p->device.last_handshake >= MESH_HANDSHAKE_FRESH_SECONDS)
		return (0);
	/*
	 * A direct trial has the relay drop the pair's datagrams for
	 * MESH_TRIAL_SECONDS + 1 (rule 17): a keepalive lost then is no
	 * sign of a path lost, until the next one is due.
	 */
	if (p->trial_at != 0 || (p->trial_end_at != 0 &&
	    now - p->trial_end_at <= quiet))
		quiet += MESH_TRIAL_SECONDS + 1;
	if (p->keepalive != 0 && now - p->rx_at > quiet)
		return (0);
	return (p->doubt_at == 0 || p->rx_at > p->doubt_at ||
	    now - p->doubt_at < MESH_ALIVE_GRACE_SECONDS);
}

/*
 * An ALIVE to p, its token a random word and "word": the peer's index
 * for the mesh's own (only to tell answers apart in a capture), a ping's
 * id for wgmeshctl's (mesh_ping()).
 */
static void
mesh_alive_send(struct mesh *m, struct mesh_peer *p, uint32_t word)
{
	uint8_t		token[GOSSIP_ALIVE_LEN];
	uint32_t	r;

	r = mesh_random(m, UINT32_MAX);
	memcpy(token, &r, sizeof(r));
	memcpy(token + sizeof(r), &word, sizeof(word));
	m->send(p, GOSSIP_MSG_ALIVE, token, sizeof(token), m->arg);
	m->stats.tx++;
	m->stats.tx_bytes += sizeof(token);
	m->stats.alive_tx++;
}

/* Asks p for a sign of life, at most once a second. */
static void
mesh_alive(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	if (m->send == NULL || now - p->alive_at < 1)
		return;
	p->alive_at = now;
	mesh_alive_send(m, p, p->index);
}

/*
 * p, up here, was seen at a (another node saw it there, or is told it is
 * trying us from there): if nothing comes from it from now on, it has
 * moved.  A doubt already running keeps its start.
 */
static void
mesh_doubt(struct mesh *m, struct mesh_peer *p, const struct imsg_addr *a,
    int64_t now)
{
	/*
	 * Another port at the same address is what a NAT that maps each
	 * destination anew shows each observer: no news.
	 */
	if (a->af == p->device.endpoint.af &&
	    memcmp(a->addr, p->device.endpoint.addr, sizeof(a->addr)) == 0)
		return;
	if (p->doubt_at == 0 || p->rx_at > p->doubt_at)
		p->doubt_at = now;
	mesh_alive(m, p, now);
}

static int
mesh_try_add(struct mesh_peer *p, const struct imsg_addr *a, uint8_t origin)
{
	size_t	i;

	if (p->ntry == MESH_MAX_TRY || !imsg_addr_is_endpoint(a))
		return (-1);
	for (i = 0; i < p->ntry; i++)
		if (imsg_addr_equal(&p->try[i], a))
			return (-1);
	p->try[p->ntry] = *a;
	p->try_origin[p->ntry] = origin;
	p->ntry++;
	return (0);
}

/* The order of a round: evidence and freshness. */
static void
mesh_try_build(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	struct mesh_obs		 obs[MESH_MAX_OBS], t;
	const struct mesh_obs	*upnp;
	size_t			 i, j, n;

	p->ntry = 0;
	p->round_rx = p->rx_total;
	if (mesh_lan_usable(p, now))
		mesh_try_add(p, &p->lan, ORIGIN_LAN);
	/* a port the peer mapped on its router is there for everyone */
	if ((upnp = mesh_obs_upnp(p, now)) != NULL)
		mesh_try_add(p, &upnp->addr, ORIGIN_UPNP);
	if (mesh_upnp_waits(m, p, now)) {
		for (i = 0; i < p->ncand; i++)
			mesh_try_add(p, &p->cand[i], p->cand_origin[i]);
		return;
	}
	/* gossip, first hand first, then the newest */
	n = p->nobs;
	memcpy(obs, p->obs, n * sizeof(obs[0]));
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && mesh_obs_rank(&obs[j], &obs[j - 1]) > 0;
		    j--) {
			t = obs[j];
			obs[j] = obs[j - 1];
			obs[j - 1] = t;
		}
	for (i = 0; i < n; i++)
		if (now - obs[i].observed < MESH_HANDSHAKE_FRESH_SECONDS)
			mesh_try_add(p, &obs[i].addr, ORIGIN_GOSSIP);
	for (i = 0; i < p->ncand; i++)
		mesh_try_add(p, &p->cand[i], p->cand_origin[i]);
	for (i = 0; i < n; i++)
		if (now - obs[i].observed < MESH_OBS_MAX_AGE_SECONDS)
			mesh_try_add(p, &obs[i].addr, ORIGIN_GOSSIP);
	if (p->learned.af != 0)
		mesh_try_add(p, &p->learned, ORIGIN_PERSISTED);
	for (i = 0; i < p->npersisted; i++)
		mesh_try_add(p, &p->persisted[i].addr, ORIGIN_PERSISTED);
}

/*
 * An endpoint worth trying before the rest of the round (new gossip, a
 * PUNCH): set at once, at most every MESH_PUNCH_SECONDS, never for a peer
 * that is up.
 */
static void
mesh_try_now(struct mesh *m, struct mesh_peer *p, const struct imsg_addr *a,
    uint8_t origin, int64_t now)
{
	char	buf[ENDPOINT_STR_MAX];

	if (!p->device_known || mesh_peer_is_up(p, now) ||
	    now - p->punch_at < MESH_PUNCH_SECONDS)
		return;
	/* a LAN address that answered is better than any news */
	if (origin != ORIGIN_LAN && p->trying_origin == ORIGIN_LAN &&
	    now < p->try_until)
		return;
	if (origin != ORIGIN_LAN && mesh_upnp_waits(m, p, now))
		return;
	if (now < p->retry_at) {
		/*
		 * Backing off: a NAT that maps each destination anew makes
		 * every report a new port, and trying each at once would
		 * undo the backoff.  One urgent try per pause; the round
		 * resumes when the pause ends.
		 */
		if (p->punch_at >= p->retry_at - mesh_backoff(p))
			return;
		p->punch_at = now;
		mesh_set_endpoint(m, p, a, origin, now);
		return;
	}
	p->punch_at = now;
	p->try_until = now + MESH_TRY_SECONDS;
	mesh_set_state(p, PEER_STATE_CONNECTING, "trying %s (%s)",
	    imsg_addr_ntop(a, buf, sizeof(buf)),
	    origin == ORIGIN_PUNCH ? "punch" :
	    origin == ORIGIN_LAN ? "lan" : "gossip");
	mesh_set_endpoint(m, p, a, origin, now);
}

static void
mesh_peer_step(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	const struct imsg_addr		*try;
	int64_t				 backoff;

	/*
	 * Nothing is set before the device has been read: at a start or
	 * a reload the session may be up, and must not be disturbed.
	 */
	if (!p->device_known)
		return;
	if (mesh_relay_step(m, p, now))
		return;
	if (mesh_peer_is_up(p, now)) {
		/*
		 * Only what the parent would set again when asked to; a
		 * relay's port is no place of the peer's (rule 16).
		 */
		if (imsg_addr_is_endpoint(&p->device.endpoint) &&
		    p->origin != ORIGIN_RELAY &&
		    !imsg_addr_equal(&p->learned, &p->device.endpoint)) {
			p->learned = p->device.endpoint;
			p->learned_at = now;
			p->dirty = 1;
		}
		if (!p->was_up) {
			p->was_up = 1;
			p->send_table = 1;
			p->dirty = 1;
		}
		if (p->lan_moved_at != 0)
			mesh_lan_trial(m, p, now);
		p->failures = 0;
		p->next = 0;
		p->try_until = 0;
		p->retry_at = 0;
		if (p->doubt_at != 0 && p->rx_at > p->doubt_at)
			p->doubt_at = 0;
		p->upnp_wait_at = 0;
		/* the keepalive held back while it was tried */
		if (p->keepalive_set != p->keepalive &&
		    imsg_addr_is_endpoint(&p->device.endpoint))
			mesh_keepalive(m, p);
		/* quiet for longer than a keepalive, or in doubt: ask */
		if ((p->keepalive != 0 && now - p->rx_at > p->keepalive) ||
		    p->doubt_at != 0)
			mesh_alive(m, p, now);
		mesh_identity_step(m, p, now);
		/* the engine tells the handshake's age when asked */
		mesh_identity_state(p);
		return;
	}
	p->was_up = 0;
	/* the wait for a peer to come through our mapping starts */
	if (p->upnp_wait_at == 0 && mesh_upnp_waits(m, p, now))
		p->upnp_wait_at = now;
	/* said as soon as the device shows it, not at the round's end */
	if (mesh_keys_differ(p, now)) {
		mesh_why(m, p, now);
		mesh_keys_tell(m, p, now);
	}
	if (p->lan_moved_at != 0) {
		/* on trial on the LAN, and lost there: back (rule 4) */
		mesh_lan_fallback(m, p, now);
		return;
	}

	if (now < p->retry_at)
		return;
	if (now < p->try_until) {
		/*
		 * WireGuard handshakes only when it has something to send,
		 * and tries again only after five seconds; setting the
		 * endpoint again has the parent make the peer anew, so
		 * that a lost first try is repeated sooner (the poke that
		 * starts it follows the device's report).
		 */
		if (now - p->set_at >= MESH_PUNCH_SECONDS &&
		    p->trying.af != 0)
			mesh_set_endpoint_anew(m, p, &p->trying,
			    p->trying_origin, now, mesh_keys_differ(p, now));
		return;
	}
	if (p->next == 0)
		mesh_try_build(m, p, now);
	if (p->ntry == 0) {
		mesh_why(m, p, now);
		return;
	}
	if (p->next >= p->ntry) {
		/*
		 * A whole round without a handshake: back off (the engine
		 * tells wgmeshctl how long is left).
		 */
		p->failures++;
		backoff = mesh_backoff(p);
		p->retry_at = now + backoff;
		p->next = 0;
		mesh_why(m, p, now);
		return;
	}

	try = &p->try[p->next];
	p->next++;
	p->try_until = now + MESH_TRY_SECONDS;
	if (p->state != PEER_STATE_UNREACHABLE)
		mesh_set_state(p, PEER_STATE_CONNECTING,
		    "trying endpoint %zu of %zu", p->next, p->ntry);
	mesh_set_endpoint_anew(m, p, try, p->try_origin[p->next - 1], now,
	    mesh_keys_differ(p, now));
}

/*
 * Bytes from p while no handshake with it is fresh are handshake messages
 * that WireGuard took: its initiations, which we can open whatever the
 * preshared key (a response that we cannot open is not counted, nor is an
 * initiation made for another public key).  They are evidence while no
 * handshake completes; a fresh handshake ends it.
 */
static void
mesh_keys_evidence(struct mesh_peer *p, int grew, int64_t now)
{
	if (p->device.last_handshake != 0 &&
	    now - p->device.last_handshake < MESH_HANDSHAKE_FRESH_SECONDS) {
		p->hs_rx_first = p->hs_rx_last = 0;
		p->keys_told = 0;
		return;
	}
	if (!grew)
		return;
	if (p->hs_rx_first == 0 ||
	    now - p->hs_rx_last >= MESH_KEYS_STALE_SECONDS)
		p->hs_rx_first = now;
	p->hs_rx_last = now;
}

/*
 * Its handshake reached us, and none completed for longer than
 * WireGuard's retry (REKEY_TIMEOUT, 5 s, the most that two initiations
 * that cross take; rule 13 ends a crossing sooner): the keys or the
 * preshared key differ, or our answers are lost on the way back (the
 * device cannot tell the two apart).  One initiation is enough: once an
 * end has answered one, WireGuard sends no initiation of its own for 5 s,
 * so the end that initiates more may see the other's only at the start.
 */
static int
mesh_keys_differ(const struct mesh_peer *p, int64_t now)
{
	return (p->hs_rx_first != 0 &&
	    now - p->hs_rx_first >= MESH_KEYS_EVIDENCE_SECONDS &&
	    now - p->hs_rx_last < MESH_KEYS_STALE_SECONDS);
}

/*
 * Rule 8: keys are seen to differ, and this end may have only answered
 * the peer's initiations (WireGuard sends none of its own for 5 s after
 * any handshake message): once, at once, it is set anew where it is
 * tried, or where the device has it, and poked, so that the peer gets an
 * initiation of ours and sees the keys differ too.
 */
static void
mesh_keys_tell(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	if (p->keys_told)
		return;
	if (p->trying.af != 0)
		mesh_set_endpoint_anew(m, p, &p->trying, p->trying_origin,
		    now, 1);
	else if (imsg_addr_is_endpoint(&p->device.endpoint))
		mesh_set_endpoint_anew(m, p, &p->device.endpoint, p->origin,
		    now, 1);
	else
		return;
	p->keys_told = 1;
}

/*
 * Why p is not up, from what the device and gossip show; at the end of a
 * round, with nothing to try, or as soon as keys are seen to differ.
 * Most specific first: the keys, a configured name that does not
 * resolve (when nothing came back from anything else), no endpoint,
 * bytes from the peer, both NATs seen to map each destination anew (rule
 * 14's evidence), nothing back at all.
 */
static void
mesh_why(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	const char	*s = p->ntry == 1 ? "" : "s";

	if (mesh_keys_differ(p, now))
		mesh_set_state(p, PEER_STATE_UNREACHABLE,
		    "keys or preshared key differ (check public-key, "
		    "preshared-key-file), or our answers are lost");
	else if (p->resolve_error[0] != '\0' && p->rx_total == p->round_rx)
		mesh_set_state(p, PEER_STATE_UNREACHABLE, "%s",
		    p->resolve_error);
	else if (p->ntry == 0 && mesh_upnp_waits(m, p, now))
		mesh_set_state(p, PEER_STATE_CONNECTING,
		    "waiting for it to come through our UPnP mapping");
	else if (p->ntry == 0)
		mesh_set_state(p, PEER_STATE_NO_ENDPOINT,
		    "no endpoint known; waiting for the peer");
	else if (p->rx_total != p->round_rx)
		mesh_set_state(p, PEER_STATE_UNREACHABLE,
		    "no handshake at %zu endpoint%s, though its handshakes "
		    "reach us", p->ntry, s);
	else if (mesh_peer_maps_anew(p, now) &&
	    mesh_self_maps_anew(m, p->iface, now))
		mesh_set_state(p, PEER_STATE_UNREACHABLE,
		    "no handshake at %zu endpoint%s: both NATs map each "
		    "destination anew", p->ntry, s);
	else
		mesh_set_state(p, PEER_STATE_UNREACHABLE,
		    "nothing came back from %zu endpoint%s: down, a firewall, "
		    "or keys differ", p->ntry, s);
}

/* The pause after the last failed round. */
static int64_t
mesh_backoff(const struct mesh_peer *p)
{
	int64_t	backoff;

	if (p->failures == 0)
		return (0);
	backoff = MESH_TRY_SECONDS << (p->failures < 6 ? p->failures : 6);
	return (backoff > MESH_BACKOFF_MAX_SECONDS ? MESH_BACKOFF_MAX_SECONDS :
	    backoff);
}

static void
mesh_set_endpoint(struct mesh *m, struct mesh_peer *p,
    const struct imsg_addr *a, uint8_t origin, int64_t now)
{
	mesh_set_endpoint_anew(m, p, a, origin, now, 0);
}

/*
 * The same; with anew, the parent makes the peer anew whatever its
 * session (SET_ENDPOINT_ANEW: a relay's port, rule 16).
 */
static void
mesh_set_endpoint_anew(struct mesh *m, struct mesh_peer *p,
    const struct imsg_addr *a, uint8_t origin, int64_t now, int anew)
{
	struct imsg_set_endpoint	set;

	/*
	 * The first try of what the device already has (the configured
	 * endpoint, at a start): setting it again would have the parent
	 * make the peer anew and lose the handshake WireGuard started when
	 * it was configured.  A poke will do; a try that goes on sets it.
	 */
	if (!anew && !imsg_addr_equal(&p->trying, a) &&
	    imsg_addr_equal(&p->device.endpoint, a) &&
	    p->keepalive_set == p->keepalive) {
		p->trying = *a;
		p->trying_origin = origin;
		p->poke_pending = 0;
		p->set_at = now;
		mesh_poke(m, p);
		return;
	}
	memset(&set, 0, sizeof(set));
	set.iface = p->iface;
	set.peer = p->index;
	set.endpoint = *a;
	set.keepalive = p->keepalive;
	set.flags = anew ? SET_ENDPOINT_ANEW : 0;
	/*
	 * Setting a keepalive on a peer that had none makes WireGuard send
	 * at once (and the parent may have made the peer anew): both ends
	 * setting each other at the same moment would start two handshakes
	 * that cross and undo each other for five seconds (REKEY_TIMEOUT).
	 * The end with the larger key starts without one (its handshake
	 * starts with its delayed poke, when the other end's has usually
	 * arrived) and gets it once the peer is up.
	 */
	if (p->starts_later && !mesh_peer_is_up(p, now))
		set.keepalive = 0;
	p->keepalive_set = set.keepalive;
	p->trying = *a;
	p->trying_origin = origin;
	p->poke_pending = 1;
	p->set_at = now;
	m->action(MESH_ACTION_SET_ENDPOINT, p, &set, m->arg);
}

/*
 * The device has p at its address on our LAN, or at one we are
 * challenging there: WireGuard follows a peer that moved to its LAN
 * address before our challenge is answered (the peer's came first), and
 * the device's report then had no LAN origin.
 */
static int
mesh_device_on_lan(const struct mesh_peer *p)
{
	const struct imsg_addr	*a = &p->device.endpoint;

	return (p->origin == ORIGIN_LAN ||
	    (p->lan.af != 0 && imsg_addr_equal(&p->lan, a)) ||
	    (p->lan_ping_to.af != 0 && imsg_addr_equal(&p->lan_ping_to, a)));
}

/* A LAN address that answered lately and has not failed since. */
static int
mesh_lan_usable(const struct mesh_peer *p, int64_t now)
{
	return (p->lan.af != 0 && now - p->lan_at < MESH_LAN_FRESH_SECONDS &&
	    (p->lan_failed_at == 0 ||
	    now - p->lan_failed_at >= MESH_LAN_RETRY_SECONDS));
}

/*
 * Rule 4, for p up and on trial at its LAN address: proven, given up,
 * or asked for a sign of life (at most every second).
 */
static void
mesh_lan_trial(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	if (imsg_addr_equal(&p->device.endpoint, &p->lan) &&
	    (p->device.last_handshake > p->lan_moved_at ||
	    (p->lan_based && p->device.rx_bytes != p->lan_rx_base))) {
		p->lan_moved_at = 0;	/* it answers there */
		return;
	}
	if (now - p->lan_moved_at >= MESH_LAN_TRIAL_SECONDS) {
		mesh_lan_fallback(m, p, now);
		return;
	}
	mesh_alive(m, p, now);
}

/*
 * A trial on the LAN failed: p goes back to where it was up, if the
 * device still has it at the LAN address, and the LAN is left alone
 * for MESH_LAN_RETRY_SECONDS (rules 4, 5).
 */
static void
mesh_lan_fallback(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	p->lan_moved_at = 0;
	p->lan_based = 0;
	p->lan_failed_at = now;
	p->try_until = 0;
	p->next = 0;
	if (!imsg_addr_is_endpoint(&p->lan_prev) ||
	    !imsg_addr_equal(&p->device.endpoint, &p->lan))
		return;
	p->try_until = now + MESH_TRY_SECONDS;
	mesh_set_state(p, p->state, "no answer at its LAN address; back");
	mesh_set_endpoint(m, p, &p->lan_prev, p->lan_prev_origin, now);
}

/*
 * p answered a challenge under the pair key from LAN address a.  A LAN
 * endpoint wins over any other: a peer that is not up is tried there at
 * once (rule 3 at the top), one that is up elsewhere is moved there on
 * trial (rule 4).  A peer that answers on both
 * families keeps its IPv4 address while that one is usable, so that the
 * two do not take turns: an IPv4 LAN address is what every WireGuard and
 * every firewall handles, and a link-local one holds only while its
 * interface keeps its index.
 */
void
mesh_lan_verified(struct mesh *m, struct mesh_peer *p,
    const struct imsg_addr *a, int64_t now)
{
	if (!imsg_addr_is_endpoint(a))
		return;
	if (a->af == AF_INET6 && p->lan.af == AF_INET &&
	    mesh_lan_usable(p, now))
		return;
	p->lan = *a;
	p->lan_at = now;
	/* relayed: the LAN is tried first in a direct trial (rule 17) */
	if (p->relay_state == RELAY_END_ACTIVE) {
		if (!imsg_addr_equal(&p->device.endpoint, a))
			p->trial_news = 1;
		return;
	}
	if (!p->device_known || !mesh_lan_usable(p, now) ||
	    imsg_addr_equal(&p->device.endpoint, a))
		return;
	if (!mesh_peer_is_up(p, now)) {
		/* better evidence than the news just tried: at once */
		if (!imsg_addr_equal(&p->trying, a))
			p->punch_at = 0;
		mesh_try_now(m, p, a, ORIGIN_LAN, now);
		return;
	}
	if (p->lan_moved_at != 0)
		return;		/* a trial is running */
	p->lan_prev = p->device.endpoint;
	p->lan_prev_origin = p->origin;
	p->lan_moved_at = now;
	p->lan_based = 0;
	mesh_set_endpoint(m, p, a, ORIGIN_LAN, now);
	mesh_alive(m, p, now);
}

/*
 * Remembers what "from" told of p (see the top): in from's slot for p,
 * or its slot for p's mapped port (ORIGIN_UPNP); a new reporter takes a
 * free slot, or the one ranked lowest if it ranks higher.  The time is
 * no later than now.  Returns 1 when the address is new to p's gossip.
 */
static int
mesh_obs_add(struct mesh *m, struct mesh_peer *p,
    const struct gossip_endpoint *ep, const struct mesh_peer *from,
    int64_t now)
{
	struct mesh_obs	 o, *slot = NULL;
	size_t		 i, low = 0;
	int		 known = 0, upnp = ep->origin == ORIGIN_UPNP;

	memset(&o, 0, sizeof(o));
	o.addr = ep->addr;
	o.observed = ep->observed < now ? ep->observed : now;
	o.origin = ep->origin;
	o.reporter = (uint32_t)(from - m->peers);
	/* its own view of a peer it has up, or a peer's own mapping */
	o.firsthand = !ep->heard && (ep->origin == ORIGIN_OBSERVED ||
	    (upnp && from == p));
	for (i = 0; i < p->nobs; i++) {
		if (p->obs[i].reporter == o.reporter &&
		    (p->obs[i].origin == ORIGIN_UPNP) == upnp)
			slot = &p->obs[i];
		else if (imsg_addr_equal(&p->obs[i].addr, &o.addr))
			known = 1;
		if (mesh_obs_rank(&p->obs[i], &p->obs[low]) < 0)
			low = i;
	}
	if (slot != NULL) {
		/* the same again: a later time is no news */
		if (imsg_addr_equal(&slot->addr, &o.addr)) {
			if (o.observed < slot->observed)
				o.observed = slot->observed;
			*slot = o;
			return (0);
		}
	} else if (p->nobs < MESH_MAX_OBS)
		slot = &p->obs[p->nobs++];
	else if (mesh_obs_rank(&o, &p->obs[low]) > 0)
		slot = &p->obs[low];
	else
		return (0);
	*slot = o;
	return (!known);
}

/* Above zero when a ranks above b: first hand, then the fresher. */
static int
mesh_obs_rank(const struct mesh_obs *a, const struct mesh_obs *b)
{
	if (a->firsthand != b->firsthand)
		return (a->firsthand ? 1 : -1);
	if (a->observed != b->observed)
		return (a->observed > b->observed ? 1 : -1);
	return (0);
}

/*
 * A new configuration: the reports of p by peers still configured,
 * under their new indexes (moved[old], UINT32_MAX for none of nold);
 * the others' are forgotten.
 */
static void
mesh_obs_reindex(struct mesh_peer *p, const uint32_t *moved, size_t nold)
{
	size_t	i, n = 0;

	for (i = 0; i < p->nobs; i++) {
		if (p->obs[i].reporter >= nold ||
		    moved[p->obs[i].reporter] == UINT32_MAX)
			continue;
		p->obs[n] = p->obs[i];
		p->obs[n].reporter = moved[p->obs[i].reporter];
		n++;
	}
	memset(&p->obs[n], 0, (MESH_MAX_OBS - n) * sizeof(p->obs[0]));
	p->nobs = n;
}

/*
 * What this node knows of the peers on iface but "except": for a peer
 * that is up, where it is now; otherwise the freshest thing it heard.
 * Or only what changed (see enum mesh_table_what).  entries has room for
 * two entries a peer.
 */
static size_t
mesh_table(struct mesh *m, uint32_t iface, const struct mesh_peer *except,
    enum mesh_table_what what, struct gossip_endpoint *entries, int64_t now)
{
	struct mesh_peer	*p;
	const struct mesh_obs	*best;
	size_t			 i, j, n = 0;

	for (i = 0; i < m->npeers; i++) {
		p = &m->peers[i];
		if (p->iface != iface || p == except)
			continue;
		if (what != TABLE_ALL && !p->dirty && !p->forward)
			continue;
		memset(&entries[n], 0, sizeof(entries[n]));
		memcpy(entries[n].public_key, p->public_key, WG_KEY_LEN);
		if (mesh_peer_is_up(p, now) &&
		    imsg_addr_is_endpoint(&p->device.endpoint) &&
		    p->origin != ORIGIN_RELAY) {
			/* our own view of it is better than hearsay */
			if (what != TABLE_ALL && !p->dirty)
				continue;
			/*
			 * A LAN address is of no use to nodes elsewhere,
			 * and the ones on that LAN find it for themselves.
			 */
			if (!mesh_device_on_lan(p)) {
				entries[n].addr = p->device.endpoint;
				entries[n].observed = now;
				entries[n].origin = ORIGIN_OBSERVED;
				n++;
			}
			/* and the port it mapped, if that is elsewhere */
			if ((best = mesh_obs_upnp(p, now)) != NULL &&
			    !imsg_addr_equal(&best->addr,
			    &p->device.endpoint)) {
				memcpy(entries[n].public_key, p->public_key,
				    WG_KEY_LEN);
				entries[n].addr = best->addr;
				entries[n].observed = best->observed;
				entries[n].origin = ORIGIN_UPNP;
				entries[n].heard = 1;
				n++;
			}
			continue;
		}
		if (what == TABLE_CHANGES)
			continue;
		if (what == TABLE_CHANGES_NEWS) {
			if (p->forward &&
			    now - p->fwd.observed < MESH_OBS_MAX_AGE_SECONDS) {
				entries[n].addr = p->fwd.addr;
				entries[n].observed = p->fwd.observed;
				entries[n].origin = p->fwd.origin;
				entries[n].heard = 1;
				n++;
			}
			continue;
		}
		best = NULL;
		for (j = 0; j < p->nobs; j++)
			if (now - p->obs[j].observed <
			    MESH_OBS_MAX_AGE_SECONDS &&
			    p->obs[j].origin != ORIGIN_LAN &&
			    (best == NULL ||
			    mesh_obs_rank(&p->obs[j], best) > 0))
				best = &p->obs[j];
		if (best == NULL)
			continue;
		entries[n].addr = best->addr;
		entries[n].observed = best->observed;
		entries[n].origin = best->origin;
		entries[n].heard = 1;
		n++;
	}
	for (i = 0; i < m->nself; i++) {
		if (m->self[i].iface != iface ||
		    (what != TABLE_ALL && !m->self[i].dirty))
			continue;
		memset(&entries[n], 0, sizeof(entries[n]));
		memcpy(entries[n].public_key, m->self[i].public_key,
		    WG_KEY_LEN);
		entries[n].addr = m->self[i].addr;
		entries[n].observed = now;
		entries[n].origin = m->self[i].origin;
		n++;
	}
	return (n);
}

/*
 * The mapping p made on its router, if any: as p itself told us, else
 * as the freshest news of it.
 */
static const struct mesh_obs *
mesh_obs_upnp(const struct mesh_peer *p, int64_t now)
{
	const struct mesh_obs	*best = NULL;
	size_t			 i;

	for (i = 0; i < p->nobs; i++)
		if (p->obs[i].origin == ORIGIN_UPNP &&
		    now - p->obs[i].observed < MESH_OBS_MAX_AGE_SECONDS &&
		    (best == NULL || mesh_obs_rank(&p->obs[i], best) > 0))
			best = &p->obs[i];
	return (best);
}

static void
mesh_send_entries(struct mesh *m, struct mesh_peer *to, uint8_t type,
    const struct gossip_endpoint *entries, size_t n)
{
	uint8_t	buf[GOSSIP_MAX_PAYLOAD_BYTES];
	ssize_t	len;
	size_t	done;

	if (m->send == NULL)
		return;
	while (n > 0) {
		len = gossip_endpoints_encode(buf, sizeof(buf), entries, n,
		    &done);
		if (len == -1 || done == 0)
			return;
		m->send(to, type, buf, (size_t)len, m->arg);
		m->stats.tx++;
		m->stats.tx_bytes += (size_t)len;
		entries += done;
		n -= done;
	}
}

/*
 * How many of n up peers a change goes to: every one in a small mesh
 * (the labs' sizes); in a larger one log2(n) + MESH_FANOUT_EXTRA, chosen
 * at random.  A node that hears news passes it on once, the same way
 * (mesh_rx_endpoints()), so a rumour reaches every node in O(log n)
 * rounds and O(n log n) datagrams, and misses one with a chance of about
 * e^-fanout; anti-entropy is there for those.
 */
static size_t
mesh_fanout(size_t n)
{
	size_t	fanout = MESH_FANOUT_EXTRA;

	if (n <= MESH_PUSH_ALL)
		return (n);
	for (; n > 1; n >>= 1)
		fanout++;
	return (fanout);
}

/*
 * The changes on one interface, to ups[0..nup): the peers up there that
 * did not get a whole table just now.  entries and pushed have room for
 * a table each.
 */
static void
mesh_push(struct mesh *m, struct mesh_peer **ups, size_t nup,
    struct gossip_endpoint *pushed, struct gossip_endpoint *entries,
    int64_t now)
{
	struct mesh_peer	*t;
	size_t			 i, j, npushed, fanout;

	fanout = mesh_fanout(nup);
	/* in a small mesh every node hears it first hand */
	npushed = mesh_table(m, ups[0]->iface, NULL, fanout < nup ?
	    TABLE_CHANGES_NEWS : TABLE_CHANGES, pushed, now);
	if (npushed == 0)
		return;
	/* the first fanout of a partial Fisher-Yates shuffle */
	for (i = 0; fanout < nup && i < fanout; i++) {
		j = i + mesh_random(m, (uint32_t)(nup - i));
		t = ups[i];
		ups[i] = ups[j];
		ups[j] = t;
	}
	for (i = 0; i < fanout; i++)
		mesh_push_to(m, ups[i], pushed, npushed, entries);
}

/* The same changes for all, but a peer's own entries. */
static void
mesh_push_to(struct mesh *m, struct mesh_peer *to,
    const struct gossip_endpoint *pushed, size_t npushed,
    struct gossip_endpoint *entries)
{
	size_t	i, n = 0;

	for (i = 0; i < npushed; i++)
		if (memcmp(pushed[i].public_key, to->public_key,
		    WG_KEY_LEN) != 0)
			entries[n++] = pushed[i];
	mesh_send_entries(m, to, GOSSIP_MSG_ENDPOINTS, entries, n);
}

/*
 * What changed since the last call goes out now (see the top): pushes
 * changes, whole tables to new peers, and anti-entropy.  The engine calls
 * it after each batch of the parent's reports, and mesh_tick() each second.
 */
void
mesh_flush(struct mesh *m, int64_t now)
{
	struct gossip_endpoint	*entries, *pushed;
	struct mesh_peer	*p, **ups, **rest;
	size_t			 i, j, n, nup = 0, nups = 0, nrest, pick;
	size_t			 npushed = 0;
	uint32_t		 iface, pushed_iface = UINT32_MAX;
	int			 dirty = 0, tables = 0;

	if (m->npeers == 0 || m->send == NULL)
		return;
	/* called after every batch of reports: nothing to do is cheap */
	for (i = 0; i < m->npeers; i++) {
		p = &m->peers[i];
		dirty |= p->dirty | p->forward;
		tables |= p->send_table;
	}
	for (i = 0; i < m->nself; i++)
		dirty |= m->self[i].dirty;
	if (!dirty && !tables && now - m->table_at < MESH_ANTI_ENTROPY_SECONDS)
		return;
	for (i = 0; i < m->npeers; i++)
		if (mesh_peer_is_up(&m->peers[i], now))
			nup++;
	if (!dirty && !tables && nup == 0)
		return;
	/* a peer may take two entries: where it is, and its mapping */
	entries = calloc(2 * m->npeers + m->nself, sizeof(*entries));
	pushed = calloc(2 * m->npeers + m->nself, sizeof(*pushed));
	ups = calloc(2 * m->npeers, sizeof(*ups));
	if (entries == NULL || pushed == NULL || ups == NULL) {
		free(entries);
		free(pushed);
		free(ups);
		return;		/* gossip again at the next tick */
	}
	rest = ups + m->npeers;

	/*
	 * A random peer gets everything every MESH_ANTI_ENTROPY_SECONDS;
	 * the first time at a random point of the first period, or nodes
	 * started together would all send theirs at the same moments (a
	 * peer that comes up gets a whole table anyway).
	 */
	if (m->table_at == 0 && nup > 0)
		m->table_at = now - (int64_t)mesh_random(m,
		    MESH_ANTI_ENTROPY_SECONDS);
	if (nup > 0 && now - m->table_at >= MESH_ANTI_ENTROPY_SECONDS) {
		m->table_at = now;
		pick = mesh_random(m, (uint32_t)nup);
		for (i = 0; i < m->npeers; i++) {
			if (!mesh_peer_is_up(&m->peers[i], now))
				continue;
			if (pick-- == 0) {
				m->peers[i].send_table = 1;
				break;
			}
		}
	}
	for (i = 0; i < m->npeers; i++) {
		p = &m->peers[i];
		if (!mesh_peer_is_up(p, now))
			continue;
		/*
		 * At most MESH_TABLES_PER_SECOND whole tables: when a large
		 * mesh starts, every peer comes up at once, and a table to
		 * each would cost N^2 entries; the changes and anti-entropy
		 * tell the others.
		 */
		if (p->send_table) {
			p->send_table = 0;
			if (m->tables_at != now) {
				m->tables_at = now;
				m->tables_sent = 0;
			}
			if (m->tables_sent < MESH_TABLES_PER_SECOND) {
				m->tables_sent++;
				n = mesh_table(m, p->iface, p, TABLE_ALL,
				    entries, now);
				/* and where we see p itself (rule 14) */
				if (imsg_addr_is_endpoint(&p->device.endpoint)
				    && p->origin != ORIGIN_RELAY &&
				    !mesh_device_on_lan(p)) {
					memset(&entries[n], 0,
					    sizeof(entries[n]));
					memcpy(entries[n].public_key,
					    p->public_key, WG_KEY_LEN);
					entries[n].addr = p->device.endpoint;
					entries[n].observed = now;
					entries[n].origin = ORIGIN_OBSERVED;
					n++;
				}
				mesh_send_entries(m, p, GOSSIP_MSG_ENDPOINTS,
				    entries, n);
				continue;
			}
		}
		if (!dirty)
			continue;
		if (nup > MESH_PUSH_ALL) {
			ups[nups++] = p;	/* see below */
			continue;
		}
		/* a small mesh: to every peer that is up, in turn */
		if (pushed_iface != p->iface) {
			npushed = mesh_table(m, p->iface, NULL, TABLE_CHANGES,
			    pushed, now);
			pushed_iface = p->iface;
		}
		mesh_push_to(m, p, pushed, npushed, entries);
	}
	/* a larger one: one interface at a time, to a few on each */
	while (nups > 0) {
		iface = ups[0]->iface;
		for (i = n = nrest = 0; i < nups; i++)
			if (ups[i]->iface == iface)
				ups[n++] = ups[i];
			else
				rest[nrest++] = ups[i];
		mesh_push(m, ups, n, pushed, entries, now);
		memcpy(ups, rest, nrest * sizeof(*ups));
		nups = nrest;
	}
	for (j = 0; j < m->npeers; j++) {
		p = &m->peers[j];
		if (mesh_peer_is_up(p, now))
			p->dirty = 0;
		/* passed on, or (no peer up to take it) let go */
		p->forward = 0;
	}
	/* pushed on an interface only where a peer was up to take it */
	for (j = 0; j < m->nself; j++)
		for (i = 0; i < m->npeers; i++)
			if (m->peers[i].iface == m->self[j].iface &&
			    mesh_peer_is_up(&m->peers[i], now)) {
				m->self[j].dirty = 0;
				break;
			}
	free(entries);
	free(pushed);
	free(ups);
}

/*
 * A payload that passed gossip_open() from peer "from".  Returns -1 when
 * its content is malformed (the caller counts it); nothing is answered
 * then.
 */
int
mesh_receive(struct mesh *m, struct mesh_peer *from, uint8_t type,
    const uint8_t *buf, size_t len, int64_t now)
{
	int	r = 0;

	/* sealed with the pair key, through the tunnel: it is alive */
	from->rx_at = now;
	switch (type) {
	case GOSSIP_MSG_ALIVE:
		if (len != GOSSIP_ALIVE_LEN) {
			r = -1;
			break;
		}
		/* the answer is exactly as large as the question */
		if (m->send != NULL) {
			m->send(from, GOSSIP_MSG_ALIVE_ACK, buf, len, m->arg);
			m->stats.tx++;
			m->stats.tx_bytes += len;
		}
		break;
	case GOSSIP_MSG_ALIVE_ACK:
		if (len != GOSSIP_ALIVE_LEN) {
			r = -1;
			break;
		}
		/* wgmeshctl ping's, which proves less: mesh_ping_ack() */
		if (mesh_ping_ack(m, from, buf))
			break;
		/* an answer to an ALIVE sent in doubt ends it */
		if (from->doubt_at != 0 && from->alive_at >= from->doubt_at)
			from->doubt_at = 0;
		/* in a direct trial: the round trip worked (rule 17) */
		if (from->trial_at != 0)
			from->trial_ack_at = now;
		break;
	case GOSSIP_MSG_ENDPOINTS:
		r = mesh_rx_endpoints(m, from, buf, len, now);
		break;
	case GOSSIP_MSG_PUNCH_REQUEST:
		r = mesh_rx_punch_request(m, from, buf, len, now);
		break;
	case GOSSIP_MSG_PUNCH:
		r = mesh_rx_punch(m, from, buf, len, now);
		break;
	case GOSSIP_MSG_RELAY_REQUEST:
		r = mesh_rx_relay_request(m, from, buf, len, now);
		break;
	case GOSSIP_MSG_RELAY_ASK:
		r = mesh_rx_relay_ask(m, from, buf, len, now);
		break;
	case GOSSIP_MSG_RELAY_ANSWER:
		r = mesh_rx_relay_answer(m, from, buf, len, now);
		break;
	case GOSSIP_MSG_DIRECT_TRIAL:
		r = mesh_rx_trial(m, from, buf, len, now);
		break;
	case GOSSIP_MSG_IDENTITY:
		r = mesh_rx_identity(m, from, buf, len, now);
		break;
	default:
		/* PING and PONG belong to LAN discovery */
		r = -1;
		break;
	}
	if (r == -1)
		m->stats.rx_bad++;
	else
		m->stats.rx++;
	return (r);
}

/*
 * Is a inside the /64 that a peer's address on iface is derived in
 * (fd00:h:h:h::1), or a peer's control address?  WireGuard would send
 * datagrams for such an endpoint into the tunnel itself, so no member
 * may tell one; the parent refuses them too, with the interfaces' own
 * prefixes and every allowed-ip.
 */
static int
mesh_in_overlay(struct mesh *m, uint32_t iface, const struct imsg_addr *a)
{
	uint8_t	host[16];

	if (a->af != AF_INET6)
		return (0);
	if (mesh_peer_by_control(m, iface, a->addr) != NULL)
		return (1);
	memset(host, 0, sizeof(host));
	memcpy(host, a->addr, 8);
	host[15] = 1;
	return (mesh_peer_by_address(m, iface, host) != NULL);
}

static int
mesh_rx_endpoints(struct mesh *m, struct mesh_peer *from, const uint8_t *buf,
    size_t len, int64_t now)
{
	struct gossip_endpoint	 ep[GOSSIP_ENDPOINTS_MAX];
	const struct mesh_iface	*mi;
	struct mesh_peer	*p;
	uint8_t			 req[GOSSIP_PUNCH_REQUEST_LEN];
	size_t			 i, n;
	ssize_t			 rlen;

	if (gossip_endpoints_decode(buf, len, ep, GOSSIP_ENDPOINTS_MAX,
	    &n) == -1)
		return (-1);
	mi = mesh_iface_find(m, from->iface);
	for (i = 0; i < n; i++) {
		/* where from sees us, in its whole table (rule 14) */
		if (mi != NULL && memcmp(ep[i].public_key, mi->public_key,
		    WG_KEY_LEN) == 0) {
			if (ep[i].origin == ORIGIN_OBSERVED && !ep[i].heard &&
			    imsg_addr_is_endpoint(&ep[i].addr)) {
				from->sees_us = ep[i].addr;
				from->sees_us_at = now;
			}
			continue;
		}
		if ((p = mesh_peer_by_key(m, from->iface,
		    ep[i].public_key)) == NULL) {
			m->stats.rx_unknown++;	/* not ours */
			continue;
		}
		if (mesh_in_overlay(m, from->iface, &ep[i].addr)) {
			m->stats.rx_unknown++;	/* an entry not taken */
			continue;
		}
		/* a LAN address from elsewhere is no use here (mesh_table) */
		if (ep[i].observed > now + MESH_OBS_FUTURE_SECONDS ||
		    now - ep[i].observed >= MESH_OBS_MAX_AGE_SECONDS ||
		    ep[i].origin == ORIGIN_LAN)
			continue;
		/* of itself, a node can only tell what it mapped */
		if (p == from) {
			/* news for the others at the next push */
			if (ep[i].origin == ORIGIN_UPNP &&
			    mesh_obs_add(m, p, &ep[i], from, now) == 1)
				p->dirty = 1;
			continue;
		}
		if (mesh_obs_add(m, p, &ep[i], from, now) == 0)
			continue;
		if (ep[i].observed > now)
			ep[i].observed = now;	/* passed on as taken */
		/*
		 * A new address of a peer that is not up here: news, passed
		 * on once with the next push (mesh_push()); a fresher time
		 * of the same address is not.  Of a peer that is up, what
		 * this node sees itself goes out when it changes.
		 */
		if (!mesh_peer_is_up(p, now)) {
			p->forward = 1;
			p->fwd.addr = ep[i].addr;
			p->fwd.observed = ep[i].observed;
			p->fwd.origin = ep[i].origin;
		}
		if (!p->device_known)
			continue;
		/* relayed: news is worth a direct trial (rule 17) */
		if (p->relay_state == RELAY_END_ACTIVE) {
			/* a NAT that maps anew shows every observer a new port */
			if (!mesh_peer_maps_anew(p, now))
				p->trial_news = 1;
			continue;
		}
		if (mesh_peer_is_up(p, now)) {
			/* seen elsewhere since we last heard from it? */
			if (ep[i].observed >= p->rx_at)
				mesh_doubt(m, p, &ep[i].addr, now);
			continue;
		}
		/* news of a peer we cannot reach: try it, and have it try */
		mesh_try_now(m, p, &ep[i].addr, ORIGIN_GOSSIP, now);
		if (m->send != NULL &&
		    now - p->punch_asked_at >= MESH_PUNCH_SECONDS &&
		    mesh_peer_is_up(from, now)) {
			p->punch_asked_at = now;
			rlen = gossip_punch_request_encode(req, sizeof(req),
			    p->public_key);
			if (rlen != -1) {
				m->send(from, GOSSIP_MSG_PUNCH_REQUEST, req,
				    (size_t)rlen, m->arg);
				m->stats.tx++;
				m->stats.tx_bytes += (size_t)rlen;
			}
		}
	}
	return (0);
}

/*
 * "from" wants to reach the peer named: tell that peer where we see
 * "from", and tell "from" where we see that peer.  Each answer is one
 * entry, no larger than the request.  Only between peers that are both
 * up here, at most once a second for each target.
 */
static int
mesh_rx_punch_request(struct mesh *m, struct mesh_peer *from,
    const uint8_t *buf, size_t len, int64_t now)
{
	struct gossip_endpoint	 ep;
	struct mesh_peer	*target;
	uint8_t			 key[WG_KEY_LEN];
	int			 from_lan, target_lan;

	if (gossip_punch_request_decode(buf, len, key) == -1)
		return (-1);
	if ((target = mesh_peer_by_key(m, from->iface, key)) == NULL ||
	    target == from)
		return (0);
	if (!mesh_peer_is_up(from, now) || !mesh_peer_is_up(target, now) ||
	    !imsg_addr_is_endpoint(&from->device.endpoint) ||
	    !imsg_addr_is_endpoint(&target->device.endpoint) ||
	    now == target->punch_fwd_at)
		return (0);
	target->punch_fwd_at = now;
	m->stats.punches++;

	/*
	 * An address on our LAN is of use only to a node on the same LAN:
	 * one elsewhere would try it for MESH_TRY_SECONDS in vain.
	 */
	from_lan = mesh_device_on_lan(from);
	target_lan = mesh_device_on_lan(target);
	memset(&ep, 0, sizeof(ep));
	ep.observed = now;
	ep.origin = ORIGIN_OBSERVED;
	/* a relay's port is no place of either (rule 16) */
	if ((!from_lan || target_lan) && from->origin != ORIGIN_RELAY) {
		memcpy(ep.public_key, from->public_key, WG_KEY_LEN);
		ep.addr = from->device.endpoint;
		mesh_send_entries(m, target, GOSSIP_MSG_PUNCH, &ep, 1);
	}
	if ((!target_lan || from_lan) && target->origin != ORIGIN_RELAY) {
		memcpy(ep.public_key, target->public_key, WG_KEY_LEN);
		ep.addr = target->device.endpoint;
		mesh_send_entries(m, from, GOSSIP_MSG_ENDPOINTS, &ep, 1);
	}
	return (0);
}

/* A peer told us that another one is trying us now, from there. */
static int
mesh_rx_punch(struct mesh *m, struct mesh_peer *from, const uint8_t *buf,
    size_t len, int64_t now)
{
	struct gossip_endpoint	 ep;
	struct mesh_peer	*p;
	size_t			 n;

	if (gossip_endpoints_decode(buf, len, &ep, 1, &n) == -1 || n != 1)
		return (-1);
	if ((p = mesh_peer_by_key(m, from->iface, ep.public_key)) == NULL ||
	    p == from || ep.observed > now + MESH_OBS_FUTURE_SECONDS ||
	    now - ep.observed >= MESH_OBS_MAX_AGE_SECONDS)
		return (0);
	mesh_obs_add(m, p, &ep, from, now);
	if (ep.observed > now)
		ep.observed = now;
	if (p->relay_state == RELAY_END_ACTIVE)
		p->trial_news = 1;
	else if (mesh_peer_is_up(p, now) && p->device_known)
		mesh_doubt(m, p, &ep.addr, now);
	else
		mesh_try_now(m, p, &ep.addr, ORIGIN_PUNCH, now);
	return (0);
}

/*
 * Relaying (rules 14 to 18 at the top).  An end keeps, per peer, which
 * relay it asked and the port it was given (relay_state, relay_via,
 * relay_ep); a relaying node keeps its pairs in m->relays, each opened in
 * the relay process (m->relay) once both ends have asked for it.
 */

/* An interface as mesh_ifaces() was told it; NULL for one not told of. */
static const struct mesh_iface *
mesh_iface_find(const struct mesh *m, uint32_t iface)
{
	size_t	i;

	for (i = 0; i < m->nifaces; i++)
		if (m->ifaces[i].iface == iface)
			return (&m->ifaces[i]);
	return (NULL);
}

/* The interfaces' relay settings and our keys, at each configuration. */
int
mesh_ifaces(struct mesh *m, const struct mesh_iface *ifs, size_t n)
{
	struct mesh_iface	*copy = NULL;

	if (n > 0 && (copy = calloc(n, sizeof(*copy))) == NULL)
		return (-1);
	if (n > 0)
		memcpy(copy, ifs, n * sizeof(*copy));
	free(m->ifaces);
	m->ifaces = copy;
	m->nifaces = n;
	return (0);
}

/* This node can relay: it has a relay process that takes max pairs. */
int
mesh_relay_init(struct mesh *m, mesh_relay_cb cb, size_t max)
{
	if (max > MESH_RELAY_PAIRS_MAX)
		max = MESH_RELAY_PAIRS_MAX;
	if (m->relays == NULL &&
	    (m->relays = calloc(MESH_RELAY_PAIRS_MAX,
	    sizeof(*m->relays))) == NULL)
		return (-1);
	m->relay = cb;
	m->relay_max = max;
	return (0);
}

static void
mesh_relay_send(struct mesh *m, struct mesh_peer *to, uint8_t type,
    const uint8_t key[WG_KEY_LEN], uint8_t code, uint16_t port)
{
	struct gossip_relay	r;
	uint8_t			buf[GOSSIP_RELAY_LEN];
	ssize_t			len;

	if (m->send == NULL)
		return;
	memset(&r, 0, sizeof(r));
	if (key != NULL)
		memcpy(r.public_key, key, WG_KEY_LEN);
	r.code = code;
	r.port = port;
	if ((len = gossip_relay_encode(buf, sizeof(buf), &r)) == -1)
		return;
	m->send(to, type, buf, (size_t)len, m->arg);
	m->stats.tx++;
	m->stats.tx_bytes += (size_t)len;
}

/*
 * Does a NAT map each destination anew for p?  Two nodes that have it up
 * see it at one address and different ports.
 */
static int
mesh_peer_maps_anew(const struct mesh_peer *p, int64_t now)
{
	size_t	i, j;

	for (i = 0; i < p->nobs; i++) {
		if (!p->obs[i].firsthand ||
		    p->obs[i].origin != ORIGIN_OBSERVED ||
		    now - p->obs[i].observed >= MESH_HANDSHAKE_FRESH_SECONDS)
			continue;
		for (j = i + 1; j < p->nobs; j++)
			if (p->obs[j].firsthand &&
			    p->obs[j].origin == ORIGIN_OBSERVED &&
			    now - p->obs[j].observed <
			    MESH_HANDSHAKE_FRESH_SECONDS &&
			    p->obs[j].addr.af == p->obs[i].addr.af &&
			    memcmp(p->obs[j].addr.addr, p->obs[i].addr.addr,
			    sizeof(p->obs[i].addr.addr)) == 0 &&
			    p->obs[j].addr.port != p->obs[i].addr.port)
				return (1);
	}
	return (0);
}

/* And for us, on iface: as our peers tell us they see us. */
static int
mesh_self_maps_anew(const struct mesh *m, uint32_t iface, int64_t now)
{
	const struct mesh_peer	*p, *q;
	size_t			 i, j;

	for (i = 0; i < m->npeers; i++) {
		p = &m->peers[i];
		if (p->iface != iface || p->sees_us.af == 0 ||
		    now - p->sees_us_at >= MESH_HANDSHAKE_FRESH_SECONDS)
			continue;
		for (j = i + 1; j < m->npeers; j++) {
			q = &m->peers[j];
			if (q->iface == iface && q->sees_us.af ==
			    p->sees_us.af && now - q->sees_us_at <
			    MESH_HANDSHAKE_FRESH_SECONDS &&
			    memcmp(q->sees_us.addr, p->sees_us.addr,
			    sizeof(p->sees_us.addr)) == 0 &&
			    q->sees_us.port != p->sees_us.port)
				return (1);
		}
	}
	return (0);
}

/*
 * Rule 18: relay-offer auto offers unless a peer sees us at a port other
 * than our listen port, i.e. behind a NAT that changes ports, where the
 * relay's ports could not be reached.  A NAT that keeps the port is not
 * told apart: the ends then find that the relay carries nothing
 * (MESH_RELAY_PROVE_SECONDS) and go to another.
 */
static int
mesh_relay_offered(const struct mesh *m, uint32_t iface, int64_t now)
{
	const struct mesh_iface	*mi;
	const struct mesh_peer	*p;
	size_t			 i;
	int			 seen;

	if (m->relay == NULL || (mi = mesh_iface_find(m, iface)) == NULL ||
	    mi->relay_offer == RELAY_OFFER_NO)
		return (0);
	if (mi->relay_offer == RELAY_OFFER_YES)
		return (1);
	/* on evidence: a peer sees us at our listen port, none elsewhere */
	for (i = 0, seen = 0; i < m->npeers; i++) {
		p = &m->peers[i];
		if (p->iface != iface || p->sees_us.af == 0 ||
		    now - p->sees_us_at >= MESH_HANDSHAKE_FRESH_SECONDS)
			continue;
		if (p->sees_us.port != mi->listen_port)
			return (0);
		seen = 1;
	}
	return (seen);
}

/* Both this interface and the peer's entry let p be relayed. */
static int
mesh_relay_allowed(const struct mesh *m, const struct mesh_peer *p)
{
	const struct mesh_iface	*mi;

	return ((mi = mesh_iface_find(m, p->iface)) != NULL &&
	    mi->relay_use && p->relay_use);
}

/*
 * Rule 15: the relay for p, of the peers up here that told us they have p
 * up: a configured endpoint (a public address) first, then one both ends
 * rank alike (the three keys mixed), so that both usually ask the same
 * one.  One that refused lately, carried nothing or is not up with p is
 * skipped.
 */
static struct mesh_peer *
mesh_relay_pick(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	struct mesh_peer	*r, *best = NULL;
	const struct mesh_iface	*mi;
	uint32_t		 score, best_score = 0;
	size_t			 i, j;
	int			 conf, best_conf = 0, reports;

	if ((mi = mesh_iface_find(m, p->iface)) == NULL)
		return (NULL);
	for (i = 0; i < m->npeers; i++) {
		r = &m->peers[i];
		if (r == p || r->iface != p->iface ||
		    !mesh_peer_is_up(r, now) ||
		    (r->relay_refused_at != 0 &&
		    now - r->relay_refused_at < MESH_RELAY_REFUSED_SECONDS) ||
		    (r->relay_failed_at != 0 &&
		    now - r->relay_failed_at < MESH_RELAY_FAILED_SECONDS) ||
		    (p->relay_notup_at != 0 && p->relay_notup_via == i &&
		    now - p->relay_notup_at < MESH_RELAY_REFUSED_SECONDS))
			continue;
		/* it reported p first hand: it has p up */
		for (j = 0, reports = 0; j < p->nobs; j++)
			if (p->obs[j].reporter == i && p->obs[j].firsthand &&
			    p->obs[j].origin == ORIGIN_OBSERVED &&
			    now - p->obs[j].observed <
			    MESH_HANDSHAKE_FRESH_SECONDS)
				reports = 1;
		conf = r->origin == ORIGIN_CONFIGURED ||
		    r->origin == ORIGIN_DNS;
		/*
		 * A peer at its configured address usually has every peer
		 * up: asked even when it is not among p's few reporters
		 * (MESH_MAX_OBS); NOT_UP skips it for a while.
		 */
		if (!reports && !conf)
			continue;
		score = 0;
		for (j = 0; j < sizeof(score); j++)
			score = score << 8 | (uint8_t)(r->public_key[j] ^
			    p->public_key[j] ^ mi->public_key[j]);
		if (best == NULL || conf > best_conf ||
		    (conf == best_conf && score < best_score)) {
			best = r;
			best_conf = conf;
			best_score = score;
		}
	}
	return (best);
}

/* p's relay is asked (again) to relay us to p. */
static void
mesh_relay_want(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	p->relay_asked_at = now;
	mesh_relay_send(m, &m->peers[p->relay_via], GOSSIP_MSG_RELAY_REQUEST,
	    p->public_key, RELAY_OP_WANT, 0);
}

/* Rule 14: relays p through r, for the reason given. */
static void
mesh_relay_adopt(struct mesh *m, struct mesh_peer *p, struct mesh_peer *r,
    int64_t now)
{
	p->relay_state = RELAY_END_ASKING;
	p->relay_via = (uint32_t)(r - m->peers);
	p->relay_answer_at = now;
	memset(&p->relay_ep, 0, sizeof(p->relay_ep));
	p->trial_at = 0;
	p->trial_asked_at = 0;
	mesh_relay_want(m, p, now);
}

/*
 * p is relayed no more: the relay is told (unless it told us), and a peer
 * left at the relay's port is tried afresh (rounds from the start).
 */
static void
mesh_relay_drop(struct mesh *m, struct mesh_peer *p, int tell, int64_t now)
{
	struct mesh_peer	*r;

	if (p->relay_state == RELAY_END_NONE)
		return;
	r = &m->peers[p->relay_via];
	if (tell && mesh_peer_is_up(r, now))
		mesh_relay_send(m, r, GOSSIP_MSG_RELAY_REQUEST, p->public_key,
		    RELAY_OP_DONE, 0);
	if (p->relay_state == RELAY_END_ACTIVE &&
	    imsg_addr_equal(&p->device.endpoint, &p->relay_ep)) {
		p->next = 0;
		p->try_until = 0;
		p->retry_at = 0;
		p->failures = 0;
	}
	p->relay_state = RELAY_END_NONE;
	p->relay_via = UINT32_MAX;
	/* the device may stay there, and even handshake there: never news */
	if (p->relay_ep.af != 0)
		p->relay_ep_gone = p->relay_ep;
	memset(&p->relay_ep, 0, sizeof(p->relay_ep));
	p->trial_at = 0;
	p->trial_asked_at = 0;
}

/*
 * Why p is relayed at the other end's request: what the evidence here
 * says, or that the peer found no direct path.
 */
static void
mesh_relay_asked_why(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	int	peer, self;

	peer = mesh_peer_maps_anew(p, now);
	self = mesh_self_maps_anew(m, p->iface, now);
	snprintf(p->relay_why, sizeof(p->relay_why), "%s",
	    peer && self ? "both NATs map each destination anew" :
	    peer ? "its NAT maps each destination anew; no direct path" :
	    self ? "our NAT maps each destination anew; no direct path" :
	    "no direct path, the peer says");
}

/* Rule 14: is it time to relay p, which is not up?  Sets the reason. */
static int
mesh_relay_wanted(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	int	peer, self;

	if (m->send == NULL || !mesh_relay_allowed(m, p) ||
	    p->down_since == 0 ||
	    now - p->down_since < MESH_RELAY_EVIDENCE_SECONDS ||
	    now - p->relay_asked_at < MESH_PUNCH_SECONDS)
		return (0);
	peer = mesh_peer_maps_anew(p, now);
	self = mesh_self_maps_anew(m, p->iface, now);
	if (peer && self)
		snprintf(p->relay_why, sizeof(p->relay_why),
		    "both NATs map each destination anew");
	else if (now - p->down_since < MESH_RELAY_AFTER_SECONDS)
		return (0);
	else if (peer)
		snprintf(p->relay_why, sizeof(p->relay_why),
		    "its NAT maps each destination anew; no direct path");
	else if (self)
		snprintf(p->relay_why, sizeof(p->relay_why),
		    "our NAT maps each destination anew; no direct path");
	else
		snprintf(p->relay_why, sizeof(p->relay_why),
		    "no direct path in %llds",
		    (long long)(now - p->down_since));
	return (1);
}

/* Rule 17: a direct trial may start now. */
static int
mesh_trial_due(const struct mesh_peer *p, int64_t now)
{
	if (p->trial_at != 0 || (p->trial_asked_at != 0 &&
	    now - p->trial_asked_at < MESH_TRIAL_STEP_SECONDS) ||
	    now - p->relay_set_at < MESH_TRIAL_GAP_SECONDS ||
	    (p->trial_end_at != 0 &&
	    now - p->trial_end_at < MESH_TRIAL_GAP_SECONDS))
		return (0);
	return (p->trial_news || now >= p->trial_next_at);
}

/*
 * Rule 17: what a trial tries, each for MESH_TRIAL_STEP_SECONDS: a LAN
 * address that answered, the peer's listen port at the address where a
 * node with it up sees it (a NAT that now keeps ports maps it there for
 * us, while its old flows keep the ports they had), and where that node
 * sees it.
 */
static void
mesh_trial_build(struct mesh_peer *p, int64_t now)
{
	const struct mesh_obs	*best = NULL;
	struct imsg_addr	 guess;
	size_t			 i;

	p->ntrial = 0;
	if (mesh_lan_usable(p, now)) {
		p->trial_try[p->ntrial] = p->lan;
		p->trial_origin[p->ntrial++] = ORIGIN_LAN;
	}
	for (i = 0; i < p->nobs; i++)
		if (p->obs[i].origin == ORIGIN_OBSERVED &&
		    now - p->obs[i].observed < MESH_HANDSHAKE_FRESH_SECONDS &&
		    (best == NULL || mesh_obs_rank(&p->obs[i], best) > 0))
			best = &p->obs[i];
	if (best == NULL && p->ncand > 0 && p->ntrial < 3) {
		p->trial_try[p->ntrial] = p->cand[0];
		p->trial_origin[p->ntrial++] = p->cand_origin[0];
	}
	if (best == NULL)
		return;
	guess = best->addr;
	if (p->trial_port != 0 && guess.port != p->trial_port &&
	    p->ntrial < 3) {
		guess.port = p->trial_port;
		p->trial_try[p->ntrial] = guess;
		p->trial_origin[p->ntrial++] = ORIGIN_GOSSIP;
	}
	if (p->ntrial < 3) {
		p->trial_try[p->ntrial] = best->addr;
		p->trial_origin[p->ntrial++] = ORIGIN_GOSSIP;
	}
}

/* Rule 17: a trial that failed; the next one twice as late. */
static void
mesh_trial_failed(struct mesh_peer *p, int64_t now)
{
	int64_t	wait;

	p->trial_end_at = now;
	if (p->trials < 16)
		p->trials++;
	wait = (int64_t)MESH_TRIAL_FIRST_SECONDS << (p->trials < 7 ?
	    p->trials : 7);
	p->trial_next_at = now + (wait > MESH_TRIAL_MAX_SECONDS ?
	    MESH_TRIAL_MAX_SECONDS : wait);
}

/* Rule 17: both ends agreed; the relay drops the pair's datagrams. */
static void
mesh_trial_begin(struct mesh *m, struct mesh_peer *p, int pause, int64_t now)
{
	p->trial_at = now;
	p->trial_asked_at = 0;
	p->trial_news = 0;
	p->trial_ack_at = 0;
	mesh_trial_build(p, now);
	if (p->ntrial == 0) {
		p->trial_at = 0;
		p->trial_end_at = now;
		return;
	}
	/*
	 * One PAUSE stops the pair both ways.  From the end that ACKed it
	 * could overtake that ACK, which goes through the relay: that end
	 * pauses at its next step.
	 */
	if (pause)
		mesh_relay_send(m, &m->peers[p->relay_via],
		    GOSSIP_MSG_RELAY_REQUEST, p->public_key, RELAY_OP_PAUSE, 0);
	p->trial_pause_owed = !pause;
	p->set_at = 0;
}

/*
 * Rule 17, during a trial: direct once the device has p elsewhere than
 * the relay with a handshake made since, or bytes received there (the
 * relay drops the pair's datagrams meanwhile); back to the relay at the
 * end, the next trial later.
 */
static void
mesh_trial_step(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	size_t	i;

	/*
	 * Proof that both directions work: a handshake, or an answer to
	 * our ALIVE, once the relay drops the pair's datagrams both ways
	 * (the end that ACKed pauses it a step later).  Either one
	 * earlier may have crossed the relay: WireGuard then moved the
	 * endpoint there, and this trial set it back to a candidate that
	 * nothing has proven.  Bytes that arrive prove one direction only.
	 */
	if (imsg_addr_is_endpoint(&p->device.endpoint) &&
	    !imsg_addr_equal(&p->device.endpoint, &p->relay_ep) &&
	    (p->device.last_handshake >= p->trial_at +
	    MESH_TRIAL_PAUSED_SECONDS || (p->trial_ack_at != 0 &&
	    p->trial_ack_at >= p->trial_at + MESH_TRIAL_PAUSED_SECONDS))) {
		p->trials = 0;
		mesh_relay_drop(m, p, 1, now);
		p->learned = p->device.endpoint;
		p->learned_at = now;
		p->dirty = 1;
		return;
	}
	if (p->trial_pause_owed && now > p->trial_at) {
		p->trial_pause_owed = 0;
		mesh_relay_send(m, &m->peers[p->relay_via],
		    GOSSIP_MSG_RELAY_REQUEST, p->public_key, RELAY_OP_PAUSE, 0);
	}
	if (now - p->trial_at >= MESH_TRIAL_SECONDS) {
		p->trial_pause_owed = 0;
		p->trial_at = 0;
		mesh_trial_failed(p, now);
		mesh_set_endpoint(m, p, &p->relay_ep, ORIGIN_RELAY, now);
		return;
	}
	i = (size_t)((now - p->trial_at) / MESH_TRIAL_STEP_SECONDS);
	if (i >= p->ntrial)
		i = p->ntrial - 1;
	if (!imsg_addr_equal(&p->trying, &p->trial_try[i]) ||
	    now - p->set_at >= MESH_PUNCH_SECONDS)
		mesh_set_endpoint(m, p, &p->trial_try[i], p->trial_origin[i],
		    now);
	/* something to send, so that WireGuard sends it there */
	mesh_alive(m, p, now);
}

/*
 * Rules 14 to 17 for p, at each step: returns 1 when p's endpoint is the
 * relay's business this time (the rounds of rules 7 to 10 wait).
 */
static int
mesh_relay_step(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	struct mesh_peer	*r;
	const struct mesh_iface	*mi;
	int			 up = mesh_peer_is_up(p, now);

	if (up)
		p->down_since = 0;
	else if (p->down_since == 0)
		p->down_since = now;
	if (p->relay_state != RELAY_END_NONE && !mesh_relay_allowed(m, p))
		mesh_relay_drop(m, p, 1, now);
	switch (p->relay_state) {
	case RELAY_END_NONE:
		if (!up && mesh_relay_wanted(m, p, now)) {
			p->relay_asked_at = now;
			if ((r = mesh_relay_pick(m, p, now)) != NULL)
				mesh_relay_adopt(m, p, r, now);
		}
		return (0);
	case RELAY_END_ASKING:
		r = &m->peers[p->relay_via];
		if (up) {
			/* direct came first */
			mesh_relay_drop(m, p, 1, now);
			return (0);
		}
		if (!mesh_peer_is_up(r, now) ||
		    now - p->relay_answer_at >= MESH_RELAY_LOST_SECONDS) {
			r->relay_failed_at = now;
			mesh_relay_drop(m, p, 1, now);
			return (0);
		}
		if (now - p->relay_asked_at >= MESH_RELAY_REFRESH_SECONDS)
			mesh_relay_want(m, p, now);
		return (0);
	case RELAY_END_ACTIVE:
	default:
		break;
	}
	r = &m->peers[p->relay_via];
	/* rule 16: a relay that stops is left at once for another */
	if (!mesh_peer_is_up(r, now) ||
	    now - p->relay_answer_at >= MESH_RELAY_LOST_SECONDS ||
	    (!up && now - p->relay_set_at >= MESH_RELAY_PROVE_SECONDS &&
	    p->device.last_handshake < p->relay_set_at)) {
		r->relay_failed_at = now;
		mesh_relay_drop(m, p, 1, now);
		p->relay_asked_at = 0;
		if (p->down_since == 0)
			p->down_since = now - MESH_RELAY_AFTER_SECONDS;
		if (mesh_relay_wanted(m, p, now) &&
		    (r = mesh_relay_pick(m, p, now)) != NULL)
			mesh_relay_adopt(m, p, r, now);
		return (0);
	}
	/*
	 * Relayed, then down: the relay's legs may be latched to mappings
	 * that a router forgot (both ends' at once, so that neither can
	 * move its leg).  The pair is asked for anew, with new legs.
	 */
	if (!up && p->down_since != 0 &&
	    now - p->down_since >= MESH_RELAY_PROVE_SECONDS &&
	    now - p->relay_set_at >= MESH_RELAY_PROVE_SECONDS) {
		mesh_relay_drop(m, p, 1, now);
		p->relay_asked_at = 0;
		snprintf(p->relay_why, sizeof(p->relay_why),
		    "went down through the relay; asked anew");
		if ((r = mesh_relay_pick(m, p, now)) != NULL)
			mesh_relay_adopt(m, p, r, now);
		return (0);
	}
	if (!up)
		mesh_set_state(p, PEER_STATE_CONNECTING,
		    "through %s's relay, waiting for a handshake", r->name);
	if (now - p->relay_asked_at >= MESH_RELAY_REFRESH_SECONDS)
		mesh_relay_want(m, p, now);
	if (p->trial_at != 0) {
		mesh_trial_step(m, p, now);
		return (p->relay_state != RELAY_END_NONE);
	}
	if (p->trial_asked_at != 0 &&
	    now - p->trial_asked_at >= MESH_TRIAL_STEP_SECONDS) {
		/* no answer to our START: as a failed trial */
		p->trial_asked_at = 0;
		mesh_trial_failed(p, now);
	}
	/*
	 * Rule 16: a stale datagram from elsewhere moved it away from the
	 * relay (WireGuard follows the last authenticated one): back.
	 */
	if (!imsg_addr_equal(&p->device.endpoint, &p->relay_ep)) {
		if (now - p->relay_reset_at >= MESH_PUNCH_SECONDS) {
			p->relay_reset_at = now;
			mesh_set_endpoint(m, p, &p->relay_ep, ORIGIN_RELAY,
			    now);
		}
		return (1);
	}
	if (!up)
		return (1);
	if (mesh_trial_due(p, now) &&
	    (mi = mesh_iface_find(m, p->iface)) != NULL) {
		mesh_trial_build(p, now);
		if (p->ntrial == 0) {
			/* nothing to try: as a failed trial */
			p->trial_news = 0;
			mesh_trial_failed(p, now);
			return (0);
		}
		p->trial_asked_at = now;
		p->trial_news = 0;
		mesh_relay_send(m, p, GOSSIP_MSG_DIRECT_TRIAL, NULL,
		    TRIAL_OP_START, mi->listen_port);
	}
	return (0);
}

/* The pair r relays between a and b, if any. */
static struct mesh_relay *
mesh_relay_find(struct mesh *m, const struct mesh_peer *a,
    const struct mesh_peer *b)
{
	struct mesh_relay	*rp;
	uint32_t		 ia = a->index, ib = b->index;
	size_t			 i;

	if (m->relays == NULL)
		return (NULL);
	ia = (uint32_t)(a - m->peers);
	ib = (uint32_t)(b - m->peers);
	for (i = 0; i < MESH_RELAY_PAIRS_MAX; i++) {
		rp = &m->relays[i];
		if (rp->used && ((rp->end[0] == ia && rp->end[1] == ib) ||
		    (rp->end[0] == ib && rp->end[1] == ia)))
			return (rp);
	}
	return (NULL);
}

static struct mesh_relay *
mesh_relay_new(struct mesh *m, const struct mesh_peer *a,
    const struct mesh_peer *b)
{
	struct mesh_relay	*rp;
	size_t			 i, used = 0;

	for (i = 0; i < MESH_RELAY_PAIRS_MAX; i++)
		used += m->relays[i].used;
	if (used >= m->relay_max)
		return (NULL);
	for (i = 0; i < MESH_RELAY_PAIRS_MAX; i++) {
		rp = &m->relays[i];
		if (rp->used)
			continue;
		memset(rp, 0, sizeof(*rp));
		rp->used = 1;
		rp->id = (uint32_t)i;
		rp->iface = a->iface;
		rp->end[0] = (uint32_t)(a - m->peers);
		rp->end[1] = (uint32_t)(b - m->peers);
		return (rp);
	}
	return (NULL);
}

/*
 * A pair ends: its ports go, and each end still up is told, unless it
 * is the one that asked for the end.  A pair whose ports are still being
 * opened is closed once they are (mesh_relay_opened()).
 */
static void
mesh_relay_close(struct mesh *m, struct mesh_relay *rp,
    const struct mesh_peer *told, int64_t now)
{
	struct mesh_peer	*e[2];
	int			 i;

	for (i = 0; i < 2; i++)
		e[i] = rp->end[i] < m->npeers ? &m->peers[rp->end[i]] : NULL;
	for (i = 0; i < 2; i++)
		if (e[i] != NULL && e[i] != told && e[1 - i] != NULL &&
		    rp->want_at[i] != 0 && mesh_peer_is_up(e[i], now))
			mesh_relay_send(m, e[i], GOSSIP_MSG_RELAY_ANSWER,
			    e[1 - i]->public_key, RELAY_ANSWER_CLOSED, 0);
	if (rp->open == 1) {
		rp->open = 3;		/* closed when it is open */
		rp->end[0] = rp->end[1] = UINT32_MAX;
		return;
	}
	if (rp->open == 2)
		m->relay(MESH_RELAY_CLOSE, rp, NULL, NULL, m->arg);
	memset(rp, 0, sizeof(*rp));
}

/* The relay process has opened (or could not open) pair id. */
void
mesh_relay_opened(struct mesh *m, uint32_t id, const uint16_t port[2],
    int error, int64_t now)
{
	struct mesh_relay	*rp;
	struct mesh_peer	*e[2];
	int			 i;

	if (m->relays == NULL || id >= MESH_RELAY_PAIRS_MAX ||
	    !m->relays[id].used)
		return;
	rp = &m->relays[id];
	if (rp->open == 3) {
		if (error == 0)
			m->relay(MESH_RELAY_CLOSE, rp, NULL, NULL, m->arg);
		memset(rp, 0, sizeof(*rp));
		return;
	}
	if (rp->open != 1)
		return;
	for (i = 0; i < 2; i++)
		e[i] = &m->peers[rp->end[i]];
	if (error != 0) {
		for (i = 0; i < 2; i++)
			if (mesh_peer_is_up(e[i], now))
				mesh_relay_send(m, e[i],
				    GOSSIP_MSG_RELAY_ANSWER,
				    e[1 - i]->public_key, RELAY_ANSWER_FULL,
				    0);
		memset(rp, 0, sizeof(*rp));
		return;
	}
	rp->open = 2;
	for (i = 0; i < 2; i++) {
		rp->port[i] = port[i];
		if (mesh_peer_is_up(e[i], now))
			mesh_relay_send(m, e[i], GOSSIP_MSG_RELAY_ANSWER,
			    e[1 - i]->public_key, RELAY_ANSWER_OK, port[i]);
	}
}

/*
 * Rule 18: a pair is kept while both ends ask for it (each asks every
 * MESH_RELAY_REFRESH_SECONDS) and both are up here.
 */
static void
mesh_relay_tick(struct mesh *m, int64_t now)
{
	struct mesh_relay	*rp;
	struct mesh_peer	*e;
	size_t			 i;
	int			 j, stale;

	if (m->relays == NULL)
		return;
	for (i = 0; i < MESH_RELAY_PAIRS_MAX; i++) {
		rp = &m->relays[i];
		if (!rp->used || rp->open == 3)
			continue;
		stale = 0;
		for (j = 0; j < 2; j++) {
			e = &m->peers[rp->end[j]];
			if (!mesh_peer_is_up(e, now))
				stale = 1;
			else if (rp->want_at[j] != 0 &&
			    now - rp->want_at[j] >= MESH_RELAY_WANT_SECONDS)
				stale = 1;
			else if (rp->want_at[j] == 0 && rp->open != 0)
				stale = 1;
		}
		/* one end asked, the other never did */
		if (rp->open == 0 && (rp->want_at[0] == 0 ||
		    rp->want_at[1] == 0) && now - (rp->want_at[0] +
		    rp->want_at[1]) < MESH_RELAY_WANT_SECONDS)
			stale = 0;
		if (stale)
			mesh_relay_close(m, rp, NULL, now);
	}
}

/* Rule 18: an end asks us to relay it to another peer, or to stop. */
static int
mesh_rx_relay_request(struct mesh *m, struct mesh_peer *from,
    const uint8_t *buf, size_t len, int64_t now)
{
	struct gossip_relay	 req;
	struct mesh_relay	*rp;
	struct mesh_peer	*t, *e[2];
	uint8_t			 answer;
	int			 side;

	if (gossip_relay_decode(buf, len, GOSSIP_MSG_RELAY_REQUEST,
	    &req) == -1)
		return (-1);
	if ((t = mesh_peer_by_key(m, from->iface, req.public_key)) == NULL ||
	    t == from)
		return (0);
	rp = mesh_relay_find(m, from, t);
	if (req.code == RELAY_OP_DONE) {
		if (rp != NULL && rp->open != 3)
			mesh_relay_close(m, rp, from, now);
		return (0);
	}
	if (req.code == RELAY_OP_PAUSE) {
		if (rp != NULL && rp->open == 2)
			m->relay(MESH_RELAY_PAUSE, rp, NULL, NULL, m->arg);
		return (0);
	}
	/* answers go back only through a tunnel that is up */
	if (!mesh_peer_is_up(from, now))
		return (0);
	if (!mesh_relay_offered(m, from->iface, now))
		answer = RELAY_ANSWER_NOT_OFFERED;
	else if (!mesh_peer_is_up(from, now) || !mesh_peer_is_up(t, now) ||
	    !imsg_addr_is_endpoint(&from->device.endpoint) ||
	    !imsg_addr_is_endpoint(&t->device.endpoint))
		answer = RELAY_ANSWER_NOT_UP;
	else if (rp == NULL && (rp = mesh_relay_new(m, from, t)) == NULL)
		answer = RELAY_ANSWER_FULL;
	else if (rp->open == 3)
		answer = RELAY_ANSWER_WAITING;
	else {
		side = rp->end[0] == (uint32_t)(from - m->peers) ? 0 : 1;
		rp->want_at[side] = now;
		e[0] = &m->peers[rp->end[0]];
		e[1] = &m->peers[rp->end[1]];
		if (rp->open == 2) {
			mesh_relay_send(m, from, GOSSIP_MSG_RELAY_ANSWER,
			    t->public_key, RELAY_ANSWER_OK, rp->port[side]);
			return (0);
		}
		if (rp->want_at[1 - side] != 0 &&
		    now - rp->want_at[1 - side] < MESH_RELAY_WANT_SECONDS) {
			if (rp->open == 0) {
				rp->open = 1;
				m->relay(MESH_RELAY_OPEN, rp, e[0], e[1],
				    m->arg);
			}
		} else if (now - rp->asked_at >= MESH_PUNCH_SECONDS) {
			/* the other end's consent, asked for */
			rp->asked_at = now;
			mesh_relay_send(m, t, GOSSIP_MSG_RELAY_ASK,
			    from->public_key, RELAY_OP_WANT, 0);
		}
		answer = RELAY_ANSWER_WAITING;
	}
	mesh_relay_send(m, from, GOSSIP_MSG_RELAY_ANSWER, t->public_key,
	    answer, 0);
	return (0);
}

/* Rule 14: a relay tells us that peer p asks to be relayed to us. */
static int
mesh_rx_relay_ask(struct mesh *m, struct mesh_peer *from,
    const uint8_t *buf, size_t len, int64_t now)
{
	struct gossip_relay	 req;
	struct mesh_peer	*p;

	if (gossip_relay_decode(buf, len, GOSSIP_MSG_RELAY_ASK, &req) == -1)
		return (-1);
	if ((p = mesh_peer_by_key(m, from->iface, req.public_key)) == NULL ||
	    p == from || !mesh_peer_is_up(from, now))
		return (0);
	if (!mesh_relay_allowed(m, p)) {
		mesh_relay_send(m, from, GOSSIP_MSG_RELAY_REQUEST,
		    p->public_key, RELAY_OP_DONE, 0);
		return (0);
	}
	if (p->relay_state == RELAY_END_NONE) {
		if (mesh_peer_is_up(p, now))
			return (0);	/* up here: it will see so */
		mesh_relay_asked_why(m, p, now);
		mesh_relay_adopt(m, p, from, now);
		return (0);
	}
	if (p->relay_via == (uint32_t)(from - m->peers)) {
		if (now - p->relay_asked_at >= MESH_PUNCH_SECONDS)
			mesh_relay_want(m, p, now);
		return (0);
	}
	/* each end asked another relay: the one that starts first wins */
	if (p->starts_later && p->relay_state == RELAY_END_ASKING) {
		mesh_relay_drop(m, p, 1, now);
		mesh_relay_asked_why(m, p, now);
		mesh_relay_adopt(m, p, from, now);
	}
	return (0);
}

/* Rule 16: our relay's answer for peer p. */
static int
mesh_rx_relay_answer(struct mesh *m, struct mesh_peer *from,
    const uint8_t *buf, size_t len, int64_t now)
{
	struct gossip_relay	 ans;
	struct mesh_peer	*p;
	struct imsg_addr	 ep;

	if (gossip_relay_decode(buf, len, GOSSIP_MSG_RELAY_ANSWER,
	    &ans) == -1)
		return (-1);
	if ((p = mesh_peer_by_key(m, from->iface, ans.public_key)) == NULL ||
	    p == from || p->relay_state == RELAY_END_NONE ||
	    p->relay_via != (uint32_t)(from - m->peers))
		return (0);
	switch (ans.code) {
	case RELAY_ANSWER_OK:
		if (!imsg_addr_is_endpoint(&from->device.endpoint))
			return (0);
		ep = from->device.endpoint;
		ep.port = ans.port;
		p->relay_answer_at = now;
		if (p->relay_state == RELAY_END_ACTIVE &&
		    imsg_addr_equal(&ep, &p->relay_ep))
			return (0);
		p->relay_state = RELAY_END_ACTIVE;
		p->relay_ep = ep;
		p->relay_set_at = now;
		p->relay_reset_at = now;
		p->trials = 0;
		p->trial_end_at = 0;
		p->trial_next_at = now + MESH_TRIAL_FIRST_SECONDS;
		mesh_set_state(p, PEER_STATE_CONNECTING, "through %s's relay",
		    from->name);
		/* a session made elsewhere: the relay needs a handshake */
		mesh_set_endpoint_anew(m, p, &ep, ORIGIN_RELAY, now, 1);
		break;
	case RELAY_ANSWER_WAITING:
		p->relay_answer_at = now;
		break;
	case RELAY_ANSWER_NOT_UP:
	case RELAY_ANSWER_CLOSED:
		p->relay_notup_via = p->relay_via;
		p->relay_notup_at = now;
		mesh_relay_drop(m, p, 0, now);
		break;
	default:
		from->relay_refused_at = now;
		mesh_relay_drop(m, p, 0, now);
		break;
	}
	return (0);
}

/* Rule 17: the other end of a relayed pair starts (or agrees to) a trial. */
static int
mesh_rx_trial(struct mesh *m, struct mesh_peer *from, const uint8_t *buf,
    size_t len, int64_t now)
{
	struct gossip_relay	 t;
	const struct mesh_iface	*mi;

	if (gossip_relay_decode(buf, len, GOSSIP_MSG_DIRECT_TRIAL, &t) == -1)
		return (-1);
	if (from->relay_state != RELAY_END_ACTIVE ||
	    !mesh_peer_is_up(from, now) ||
	    (mi = mesh_iface_find(m, from->iface)) == NULL)
		return (0);
	from->trial_port = t.port;
	if (t.code == TRIAL_OP_ACK) {
		if (from->trial_asked_at != 0 && from->trial_at == 0)
			mesh_trial_begin(m, from, 1, now);
		return (0);
	}
	/* START: answered with our port, and tried at once */
	if (from->trial_at != 0)
		return (0);
	mesh_trial_build(from, now);
	if (from->ntrial == 0)
		return (0);	/* nothing to try: its START times out */
	mesh_relay_send(m, from, GOSSIP_MSG_DIRECT_TRIAL, NULL, TRIAL_OP_ACK,
	    mi->listen_port);
	mesh_trial_begin(m, from, 0, now);
	return (0);
}

/*
 * How traffic to p goes, for wgmeshctl; via is the relay's peer entry
 * for PATH_RELAY.  Relayed until the relaying ends: the device is
 * elsewhere only for a moment (rule 16) or in a direct trial, which
 * proves nothing until it succeeds (rule 17) and may go back.
 */
enum peer_path
mesh_peer_path(const struct mesh *m, const struct mesh_peer *p, int64_t now,
    const struct mesh_peer **via)
{
	*via = NULL;
	if (!mesh_peer_is_up(p, now))
		return (PATH_NONE);
	if (p->relay_state == RELAY_END_ACTIVE && p->relay_via < m->npeers) {
		*via = &m->peers[p->relay_via];
		return (PATH_RELAY);
	}
	/* still at the port of a relay it lost: no path, not direct */
	if (p->relay_ep_gone.af != 0 &&
	    imsg_addr_equal(&p->device.endpoint, &p->relay_ep_gone))
		return (PATH_NONE);
	if (mesh_device_on_lan(p))
		return (PATH_LAN);
	return (PATH_DIRECT);
}

/*
 * A new configuration: the pairs we relay and the relays our peers use,
 * under the peers' new indexes (moved[old], UINT32_MAX for gone); a pair
 * that lost an end is closed.
 */
static void
mesh_relay_reindex(struct mesh *m, struct mesh_peer *np, size_t n,
    const uint32_t *moved)
{
	struct mesh_relay	*rp;
	size_t			 i;
	int			 j, gone;

	for (i = 0; i < n; i++) {
		if (np[i].relay_state != RELAY_END_NONE) {
			if (np[i].relay_via < m->npeers &&
			    moved[np[i].relay_via] != UINT32_MAX)
				np[i].relay_via = moved[np[i].relay_via];
			else {
				np[i].relay_state = RELAY_END_NONE;
				np[i].relay_via = UINT32_MAX;
				np[i].trial_at = 0;
			}
		}
		if (np[i].relay_notup_via < m->npeers)
			np[i].relay_notup_via = moved[np[i].relay_notup_via];
	}
	if (m->relays == NULL)
		return;
	for (i = 0; i < MESH_RELAY_PAIRS_MAX; i++) {
		rp = &m->relays[i];
		if (!rp->used || rp->open == 3)
			continue;
		gone = 0;
		for (j = 0; j < 2; j++)
			if (rp->end[j] >= m->npeers ||
			    moved[rp->end[j]] == UINT32_MAX ||
			    np[moved[rp->end[j]]].iface != rp->iface)
				gone = 1;
		if (gone) {
			/* the old peers are still there to be told */
			mesh_relay_close(m, rp, NULL, 0);
			continue;
		}
		for (j = 0; j < 2; j++)
			rp->end[j] = moved[rp->end[j]];
	}
}

/*
 * Identity (identity.c): each end tells the other who it is and what it
 * routes to it, and shows a disagreement as a mismatch rather than up.
 */

/* Whether p is up by its handshake but disagrees with us: not up. */
int
mesh_peer_mismatch(const struct mesh_peer *p)
{
	return (p->mismatch[0] != '\0');
}

/* What this node tells p: its name and addresses, p's name and routes. */
static void
mesh_identity_ours(const struct mesh *m, const struct mesh_peer *p,
    struct identity *id)
{
	const struct mesh_iface	*mi;

	memset(id, 0, sizeof(*id));
	if ((mi = mesh_iface_find(m, p->iface)) != NULL) {
		strlcpy(id->name, mi->name, sizeof(id->name));
		memcpy(id->public_key, mi->public_key, WG_KEY_LEN);
		memcpy(id->addresses, mi->addresses, sizeof(id->addresses));
		id->naddresses = mi->naddresses;
		id->addresses_more = mi->addresses_more;
	}
	strlcpy(id->peer_name, p->name, sizeof(id->peer_name));
	memcpy(id->routed, p->allowed, sizeof(id->routed));
	id->nrouted = p->nallowed;
	id->routed_more = p->allowed_more;
}

/*
 * A request (want) is padded to IDENTITY_LEN_MAX, so that the answer it
 * may cause is never larger.
 */
static void
mesh_identity_send(struct mesh *m, struct mesh_peer *p, int want,
    int64_t now)
{
	struct identity	 id;
	uint8_t		 buf[IDENTITY_LEN_MAX];
	ssize_t		 n;

	if (m->send == NULL)
		return;
	mesh_identity_ours(m, p, &id);
	/* a node with no name to tell (a test's, the simulator's) */
	if ((n = identity_encode(buf, sizeof(buf), &id, want)) == -1)
		return;
	if (want)
		p->identity_sent_at = now;
	else
		p->identity_answered_at = now;
	m->send(p, GOSSIP_MSG_IDENTITY, buf, (size_t)n, m->arg);
	m->stats.tx++;
	m->stats.tx_bytes += (size_t)n;
}

/*
 * An up peer whose identity has not come since it came up or since our
 * configuration changed is sent ours and asked for its own, after
 * MESH_IDENTITY_RETRY_SECONDS, then at doubling intervals up to
 * MESH_IDENTITY_MAX_SECONDS: a node of an older version drops them.
 */
static void
mesh_identity_step(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	int64_t	wait;

	if (p->identity_known)
		return;
	if (p->identity_sent_at != 0) {
		/* doubling; six doublings pass the longest wait */
		wait = (int64_t)MESH_IDENTITY_RETRY_SECONDS <<
		    (p->identity_tries < 6 ? p->identity_tries : 6);
		if (wait > MESH_IDENTITY_MAX_SECONDS)
			wait = MESH_IDENTITY_MAX_SECONDS;
		if (now - p->identity_sent_at < wait)
			return;
		p->identity_tries++;
	}
	mesh_identity_send(m, p, 1, now);
}

/* The state of an up peer: up, or a mismatch with its reason. */
static void
mesh_identity_state(struct mesh_peer *p)
{
	if (mesh_peer_mismatch(p)) {
		if (p->state != PEER_STATE_MISMATCH ||
		    strcmp(p->reason, p->mismatch) != 0)
			mesh_set_state(p, PEER_STATE_MISMATCH, "%s",
			    p->mismatch);
	} else if (p->state != PEER_STATE_UP)
		mesh_set_state(p, PEER_STATE_UP, "up");
}

static int
mesh_rx_identity(struct mesh *m, struct mesh_peer *from, const uint8_t *buf,
    size_t len, int64_t now)
{
	struct identity	 theirs, ours;
	int		 want;

	if (identity_decode(buf, len, &theirs, &want) == -1 ||
	    memcmp(theirs.public_key, from->public_key, WG_KEY_LEN) != 0)
		return (-1);
	mesh_identity_ours(m, from, &ours);
	if (identity_check(&theirs, &ours, from->mismatch,
	    sizeof(from->mismatch)) == 0)
		from->mismatch[0] = '\0';
	from->identity_known = 1;
	if (from->state == PEER_STATE_UP || from->state == PEER_STATE_MISMATCH)
		mesh_identity_state(from);
	/* answered once a second at most; the request was no smaller */
	if (want && now - from->identity_answered_at >= 1)
		mesh_identity_send(m, from, 0, now);
	return (0);
}

/*
 * wgmeshctl ping: an ALIVE to p, as mesh_alive() sends, with a token
 * that says it is a ping's (MESH_PING_TOKEN_BIT in its second word,
 * where mesh_alive() has the peer's index, which is smaller) and which
 * (id, at most MESH_PING_ID_MAX).  Neither alive_at nor the rate of
 * mesh_alive() is touched: a ping does not stand in for the mesh's own
 * questions.
 */
#define MESH_PING_TOKEN_BIT	0x80000000U
void
mesh_ping(struct mesh *m, struct mesh_peer *p, uint32_t id)
{
	if (m->send != NULL)
		mesh_alive_send(m, p, (id & MESH_PING_ID_MAX) |
		    MESH_PING_TOKEN_BIT);
}

/*
 * An ALIVE_ACK: returns 1 when it answers a ping (mesh_ping()), which
 * goes to the engine's hook and nowhere else.  Like every sealed
 * datagram it was a sign of life (rx_at, set by mesh_receive()), and
 * that is all it may be taken for here:
 *  - a doubt (mesh_doubt()) ends on an answer to an ALIVE sent after it
 *    began; a ping may have been sent before, so it ends the doubt only
 *    through rx_at, once rx_at is later than the doubt, as any datagram
 *    does;
 *  - a direct trial (rule 17) is proven by an answer to an ALIVE sent
 *    on the direct path once the relay drops the pair's datagrams; a
 *    ping is sent whenever an operator asks, possibly before the trial
 *    or its pause, through the relay, and its answer would then prove
 *    one direction only; mesh_trial_step() asks every second anyway;
 *  - rule 4's LAN trial is proven by the device alone (a handshake or
 *    bytes at the LAN address: mesh_lan_trial()), never by an answer;
 *    a ping's datagrams are counted by the device as any are, and they
 *    move it only as WireGuard would for any authenticated datagram.
 * A late answer, after the engine gave the probe up, is still known by
 * its token as a ping's, so it is never taken for the mesh's own.
 */
static int
mesh_ping_ack(struct mesh *m, struct mesh_peer *p, const uint8_t *token)
{
	uint32_t	w;

	memcpy(&w, token + sizeof(uint32_t), sizeof(w));
	if ((w & MESH_PING_TOKEN_BIT) == 0)
		return (0);
	if (m->pong != NULL)
		m->pong(p, w & MESH_PING_ID_MAX, m->arg);
	return (1);
}
