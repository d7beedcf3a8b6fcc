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
 * The engine's endpoint choice, gossip and relaying (wgmeshd/mesh.c,
 * unchanged) for N nodes over a simulated network, on one clock in
 * milliseconds, from a seed: the same seed gives the same run.
 *
 * Each node has what the daemon has around mesh.c, as engine.c and the
 * parent drive it:
 * - the engine: mesh_tick() every second from its start; mesh_receive()
 *   for gossip that came through the tunnel; every peer has a pair key
 *   before the first device report; SET_ENDPOINT reaches the device
 *   SIM_IPC_MS later (through the parent); a POKE goes into the tunnel at
 *   once, a POKE_SOON MESH_POKE_DELAY_MS after it was asked for, as
 *   engine_action() sends them; mesh_flush() after each batch of the
 *   parent's reports;
 * - the parent: reads the device at start, then every second, or every
 *   200 ms while a peer has no handshake younger than 180 s (for 75
 *   reads after the start or an endpoint set at most), and reports
 *   each peer whose view (endpoint, last handshake, rx and tx bytes)
 *   changed, in peer order; an endpoint set is applied as
 *   device_set_endpoint() applies it, by the daemon's own
 *   device_set_decide() (wgmeshd/rules.c: left alone, made anew, or
 *   pointed elsewhere), and the device is read at once after it, the
 *   peer set reported changed or not;
 * - a WireGuard device, one peer per other node, with the kernel's
 *   timers: an initiation at most every 5 s after the last initiation
 *   or response sent (a retry that falls inside is lost, as in the
 *   kernel), retried every 5 s (+ up to 333 ms) up to 18 times; a
 *   keepalive 10 s after data when nothing was sent; a new handshake
 *   15 s after data sent with nothing received; the persistent
 *   keepalive, reset by any authenticated packet sent or received;
 *   rekeying after 120 s by the initiator, keys refused after 180 s;
 *   roaming (every authenticated packet sets the peer's endpoint to its
 *   source); the one handshake state of Noise, so that when two
 *   initiations cross, both responses are refused and the next retry
 *   decides; staged packets sent once a session exists.  Packets counted
 *   in rx and tx bytes as WireGuard counts them (handshakes included).
 *   Cookies, load, counters and AEAD are not modelled: gossip payloads go
 *   to mesh_receive() in clear.  Whatever the engine sends into the
 *   tunnel is data to WireGuard, counted in the receiver's rx bytes.
 *   There is no shared LAN and no UPnP router: mesh_lan_verified() and
 *   mesh_self_endpoint() are never called;
 * - relaying (rules 14 to 18 of mesh.c), as the defaults have it: every
 *   node has mesh_ifaces() (listen port 51820, relay-offer auto,
 *   relay-use yes) and a relay process (mesh_relay_init()), and lets
 *   every peer be relayed.  The relay process is modelled after
 *   wgmeshd/relay_wire.c, simplified: an OPEN gives pair id i the ports
 *   SIM_RELAY_PORT + 2i and + 1, answered SIM_IPC_MS later
 *   (mesh_relay_opened(), then mesh_flush(), as engine.c); a leg latches
 *   the source of the first handshake initiation for the other end (the
 *   check of mac1) from the address the relay's device has the end at,
 *   and never moves; what comes from a latched address goes out of the
 *   other leg's port to the other latched address, and nothing while
 *   the pair is paused (MESH_TRIAL_SECONDS + 1 s) or after it is closed.
 *   Only public hosts receive on those ports (behind NAT the router
 *   forwards nothing to them); WireGuard's roaming then makes the
 *   relay's port the peer's endpoint, as in reality.  -R turns relaying
 *   off (relay-use no), as before it existed.
 *
 * Hosts are public (198.18.0.0/16, port 51820) or behind a NAT router of
 * their own (198.19.0.0/16).  A cone router keeps one external port for
 * the host (endpoint-independent mapping); a symmetric router takes a new
 * port for each destination address and port.  Both filter by address:
 * a packet comes in on a mapping only from an address the host sent to
 * through that mapping.  Mappings and filters last SIM_NAT_TIMEOUT_MS
 * after their last use.  Every packet takes 10 to 12 ms, never
 * overtaking an earlier one between the same two hosts.  Every node is
 * configured with every other node as a peer (persistent keepalive 25 s)
 * and with the public nodes' endpoints, nothing else.  Nodes start at
 * random times within the first second.
 *
 * Which pairs can connect directly follows from that: a public node with
 * anyone;
 * two cone hosts, by sending at each other's mapping at once; a cone and
 * a symmetric host, because the cone side's filter admits the symmetric
 * side's address once the cone side has sent to it (to any of its ports),
 * and the symmetric side then sends from a new mapping made for the cone
 * side's one mapping.  Two symmetric hosts cannot: each only ever sees
 * the other's mappings for third parties, whose filters let nothing of
 * theirs in; relayed, they can (every pair can).
 *
 * Measured besides: pairs up direct and relayed at the end, the pairs
 * each relay carries (both legs latched), path changes per pair (a
 * WireGuard endpoint going from a relay's port to elsewhere or back, in
 * the steady state), gossip bytes (relay and trial messages included,
 * and apart), and what must not happen: a packet between two symmetric
 * NATs directly, a relay's port in gossip (every ENDPOINTS and PUNCH
 * received is decoded), or among a node's observations, saved
 * endpoints or the endpoint a peer was last up at.
 *
 *	sim			the three mixes at N = 10, 100, 1000: a table
 *				and "BENCH sim-MIX-N metric value" lines
 *	sim -m mixed -n 50	one mix (public, mixed, cone), one size
 *	sim -N 10,100		other sizes
 *	sim -c			the regress suite
 *	-R			relaying off (relay-use no)
 *	-s seed (1), -T wall-time limit per run in s (45, 0: none),
 *	-t A,B traces nodes A and B on stderr (their relay and trial
 *	messages too), -v progress (-vv: more),
 *	-K what if received packets did not push WireGuard's persistent
 *	keepalive back.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wgmeshd.h"
#include "wire.h"
#include "engine.h"
#include "regress.h"

#define SIM_EPOCH		((int64_t)1767225600)	/* realtime s at simulated 0 */
#define SIM_LATENCY_MS		10		/* one way, any two hosts, */
#define SIM_JITTER_MS		3		/* plus 0 to 2 ms */
#define SIM_IPC_MS		1		/* engine to parent to device */
#define SIM_NAT_TIMEOUT_MS	180000
#define SIM_WHY_KEYS		"keys or preshared key differ" /* mesh_why() */
#define SIM_WG_PORT		51820
#define SIM_KEEPALIVE		25
#define SIM_START_SPREAD_MS	1000
#define SIM_CONVERGE_MAX_MS	600000		/* then measure anyway */
#define SIM_WINDOW_MS		300000		/* the steady state */
#define SIM_PUBLIC_NET		0xc6120000U	/* 198.18.0.0/16 */
#define SIM_ROUTER_NET		0xc6130000U	/* 198.19.0.0/16 */
#define SIM_NODES_MAX		60000
#define SIM_WALL_LIMIT		45.0		/* s of wall time per run */
#define SIM_RELAY_PORT		51900		/* pair id i: this + 2i, + 1 */
#define SIM_RELAY_PORTS		(2 * RELAY_PAIRS_MAX)
/* engine_relay_op(): a pause lasts a trial and a second */
#define SIM_RELAY_PAUSE_MS	((MESH_TRIAL_SECONDS + 1) * 1000)

/* WireGuard's constants (messages.h, timers.c) */
#define WG_REKEY_AFTER_MS	120000
#define WG_REJECT_AFTER_MS	180000
#define WG_REKEY_TIMEOUT_MS	5000
#define WG_REKEY_JITTER_MS	334
#define WG_KEEPALIVE_TIMEOUT_MS	10000
#define WG_MAX_HANDSHAKES	18		/* 90 s / REKEY_TIMEOUT */
#define WG_MAX_STAGED		128
#define WG_INIT_LEN		148
#define WG_RESP_LEN		92
#define WG_DATA_OVERHEAD	32		/* header and tag */
#define UNDERLAY_OVERHEAD	28		/* IPv4 and UDP */
#define TUNNEL_OVERHEAD		48		/* IPv6 and UDP, inside */

/* The event wheel: one slot per millisecond, longer than any delay. */
#define WHEEL_BITS		20
#define WHEEL_SIZE		(1 << WHEEL_BITS)
#define WHEEL_MASK		(WHEEL_SIZE - 1)

enum node_kind {
	KIND_PUBLIC,
	KIND_CONE,
	KIND_SYMMETRIC,
};

enum ev_kind {
	EV_START,
	EV_TICK,
	EV_POLL,
	EV_SET_ENDPOINT,
	EV_TIMER,
	EV_PACKET,
	EV_SWEEP,
	EV_POKES,
	EV_RELAY_OPENED,
};

enum wg_timer {
	T_RETRANSMIT,
	T_SEND_KEEPALIVE,
	T_NEW_HANDSHAKE,
	T_PERSISTENT,
	T_MAX
};

enum hs_state {
	HS_NONE,
	HS_CREATED_INITIATION,
	HS_CREATED_RESPONSE,
};

enum pkt_type {
	PKT_INITIATION,
	PKT_RESPONSE,
	PKT_DATA,
};

enum data_kind {
	DATA_KEEPALIVE,
	DATA_POKE,
	DATA_GOSSIP,
};

struct pkt {
	struct pkt		*next;		/* staged, or free */
	uint8_t			 type;		/* enum pkt_type */
	uint8_t			 pool;		/* its size class */
	uint8_t			 kind;		/* enum data_kind */
	uint8_t			 gtype;		/* gossip message type */
	uint16_t		 len;		/* gossip payload */
	uint16_t		 wire;		/* WireGuard message length */
	uint32_t		 from;		/* the WireGuard identities */
	uint32_t		 to;
	uint32_t		 src_ip;
	uint32_t		 dst_ip;
	uint16_t		 src_port;
	uint16_t		 dst_port;
	uint32_t		 id;		/* handshake */
	uint32_t		 sid;		/* session */
	uint8_t			 payload[];
};

struct simev {
	struct simev		*next;
	int64_t			 at;
	uint8_t			 kind;		/* enum ev_kind */
	uint8_t			 timer;		/* enum wg_timer */
	uint16_t		 port;
	uint16_t		 keepalive;
	uint8_t			 anew;		/* SET_ENDPOINT_ANEW */
	uint32_t		 node;
	uint32_t		 peer;		/* a node id */
	uint32_t		 gen;
	uint32_t		 ip;
	struct pkt		*pkt;
};

struct keypair {
	uint32_t		 sid;		/* 0: none */
	int			 initiator;
	int64_t			 birth;
};

struct wgtimer {
	int64_t			 expiry;	/* 0: not pending */
	int64_t			 queued;	/* the event in the wheel */
};

/* What a WireGuard peer is; made anew by device_set_endpoint(). */
struct wgpeer {
	uint32_t		 ep_ip;
	uint16_t		 ep_port;	/* 0: no endpoint */
	uint16_t		 keepalive;
	uint64_t		 rx;
	uint64_t		 tx;
	int64_t			 last_hs;	/* realtime s, 0 never */
	int64_t			 last_sent_hs;	/* ms */
	uint32_t		 hs_id;
	uint8_t			 hs_state;
	uint8_t			 attempts;
	uint8_t			 lastminute;
	uint8_t			 need_another;
	struct keypair		 cur;
	struct keypair		 prev;
	struct keypair		 next;
	struct wgtimer		 t[T_MAX];
	struct pkt		*stq;		/* staged: data only */
	struct pkt		**stq_tail;
	uint16_t		 nstaged;
};

/* How a link's endpoint goes (link_path()). */
enum path_class {
	PATHC_NONE,
	PATHC_RELAY,		/* a relay's port */
	PATHC_DIRECT,
};

/*
 * A pair a node relays, as its relay process has it: both legs' ports,
 * the address each end is expected at (the relay's device's view, 0:
 * any) and the address each leg latched.
 */
struct simrelay {
	uint8_t			 open;		/* ports given */
	uint8_t			 latched[2];
	uint32_t		 end[2];	/* node ids */
	uint32_t		 expect[2];
	uint32_t		 ip[2];		/* latched */
	uint16_t		 port[2];
	int64_t			 paused_until;	/* ms */
};

/* Node i's peer for node j. */
struct link {
	struct wgpeer		 wg;
	uint32_t		 gen;		/* timers of older peers */
	uint8_t			 dirty;		/* changed since the poll */
	uint8_t			 poke_queued;	/* a POKE_SOON pending */
	uint32_t		 ep_changes;	/* in the window */
	int64_t			 path_last;	/* last arrival sent */
	struct imsg_device_peer	 seen;		/* last reported */
	int64_t			 rx_seen_at;	/* ms: a read saw rx change */
	uint8_t			 path;		/* enum path_class, the last */
	uint32_t		 path_changes;	/* relay <-> direct, window */
};

/* The pair (i, j), i < j, as the sweeps see it: pairs[i * N + j]. */
struct pair {
	uint8_t			 unreach;	/* the pair cannot connect */
	uint8_t			 relay_only;	/* not directly, at least */
	uint8_t			 up;		/* at the last sweep */
	uint8_t			 ever;		/* was up once */
	uint32_t		 downs;		/* in the window */
};

struct node {
	uint32_t		 id;
	int			 kind;		/* enum node_kind */
	uint32_t		 ip;		/* its own, or its router's */
	uint16_t		 cone_port;
	uint16_t		 next_port;
	int64_t			 cone_last;
	int64_t			 start;
	int			 started;
	struct mesh		 mesh;
	struct link		*links;		/* by node id */
	uint32_t		*dirty;		/* links changed since the poll */
	size_t			 ndirty;
	uint32_t		 wait_hint;	/* a peer seen waiting */
	int64_t			 wait_check;	/* none waiting before (s) */
	unsigned int		 fast_polls;	/* left before slowing down */
	int			 touched;	/* mesh.c called since the sweep */
	uint64_t		 g_dgrams;	/* gossip sent */
	uint64_t		 g_bytes;
	uint64_t		 wg_bytes;	/* handshakes, keepalives, pokes */
	uint64_t		 g_rx_entries;	/* endpoints in gossip received */
	uint64_t		 refused;	/* responses to a handshake gone */
	uint64_t		 g_relay_bytes;	/* relay and trial messages */
	struct simrelay		*relays;	/* RELAY_PAIRS_MAX, or NULL */
	uint32_t		 relays_open;
	uint32_t		 relays_peak;
	uint64_t		 relay_opens;
	uint64_t		 relay_fwd;	/* datagrams forwarded */
	uint64_t		 relay_fwd_bytes;
	uint64_t		 relay_drops;	/* unlatched, paused, shut */
};

struct hent {
	uint64_t		 key;
	uint64_t		 val;
	int64_t			 at;
	int			 used;
};

struct hmap {
	struct hent		*e;
	size_t			 cap;
	size_t			 n;
};

struct mix {
	const char		*name;
	int			 pct_public;
	int			 pct_cone;	/* the rest: symmetric */
	const char		*desc;
};

struct result {
	char			 mix[16];
	uint32_t		 n;
	uint32_t		 npublic;
	uint32_t		 ncone;
	uint32_t		 nsym;
	uint64_t		 seed;
	uint64_t		 reachable;
	uint64_t		 unreachable;
	uint64_t		 unreach_shown;	/* at both ends, at the end */
	uint64_t		 unreach_ever_up; /* must stay 0 */
	uint64_t		 keys_said;	/* keys differ, said: must
						   stay 0 (they never do) */
	double			 unreach_shown_frac; /* of the window */
	int64_t			 t_connected;	/* ms, every pair up once */
	int64_t			 t_mesh;	/* ms, all up at once */
	int64_t			 t_99;		/* ms, 99% of them up */
	int64_t			 window_start;
	int64_t			 window_ms;
	uint64_t		 downs;		/* reachable pairs going down */
	uint64_t		 down_pairs;
	double			 down_frac;	/* of pair samples */
	uint64_t		 ep_reach;	/* endpoint changes in window */
	uint64_t		 ep_unreach;
	uint32_t		 ep_reach_max;	/* per pair */
	uint32_t		 ep_unreach_max;
	uint64_t		 ep_reach_pairs;
	double			 g_dgrams;	/* per node per s, window */
	double			 g_bytes;
	double			 g_conv_bytes;	/* per node, until the window */
	double			 g_conv_dgrams;
	double			 g_conv_entries; /* received */
	double			 wg_bytes;	/* per node per s, window */
	uint64_t		 punches;	/* in the window */
	uint64_t		 refused;	/* in the window */
	uint64_t		 refused_conv;	/* until then */
	int64_t			 sweep_ms;
	int64_t			 sim_ms;	/* simulated time reached */
	int			 timed_out;
	int			 failed;
	double			 wall_s;
	long			 rss_kb;
	int			 relaying;	/* 0: -R */
	uint64_t		 relay_only;	/* no direct path serves them */
	uint64_t		 up_direct;	/* pairs up at the end */
	uint64_t		 up_relayed;
	uint64_t		 relay_only_direct; /* up direct: must stay 0 */
	uint32_t		 relay_nodes;	/* relaying a pair at the end */
	uint32_t		 relay_max;	/* pairs one node relays, end */
	double			 relay_mean;	/* per relaying node */
	uint32_t		 relay_peak;	/* at once, any time */
	uint64_t		 relay_opens;
	uint64_t		 relay_opens_nat; /* by nodes behind NAT */
	double			 relay_fwd;	/* datagrams per relaying node
						   per s, window */
	uint64_t		 sym_direct;	/* packets: must stay 0 */
	uint64_t		 relay_leaks;	/* relay ports in gossip */
	uint64_t		 relay_kept;	/* ... in obs, learned, saved */
	uint64_t		 path_changes;	/* window, all pairs */
	uint32_t		 path_max;	/* window, one pair */
	uint64_t		 path_pairs;	/* pairs with any */
	uint64_t		 ep_relayed;	/* window: relay-only pairs */
	double			 g_relay_bytes;	/* per node per s, window */
};

static const struct mix mixes[] = {
	{ "public", 100, 0, "all public" },
	{ "mixed", 20, 60, "20% public, 60% cone NAT, 20% symmetric NAT" },
	{ "cone", 50, 50, "half public, half behind cone NAT" },
};
#define NMIXES	(sizeof(mixes) / sizeof(mixes[0]))

static __dead void usage(void);
static uint64_t	 rng_next(uint64_t *);
static uint32_t	 rng_below(uint32_t);
static double	 wall_now(void);
static int64_t	 now_s(void);
static uint32_t	 peer_node(uint32_t, uint32_t);
static uint32_t	 peer_index(uint32_t, uint32_t);
static void	 addr_set(struct imsg_addr *, uint32_t, uint16_t);
static uint64_t	 hash64(uint64_t);
static void	 hmap_grow(struct hmap *);
static struct hent *hmap_find(struct hmap *, uint64_t, int);
static void	 hmap_free(struct hmap *);
static struct simev *ev_add(int64_t, int);
static void	 ev_release(struct simev *);
static uint16_t	 nat_port(struct node *);
static void	 nat_out(struct node *, uint32_t, uint16_t, uint32_t *,
		    uint16_t *);
static int	 nat_in(struct node *, uint32_t, uint16_t);
static struct node *node_by_ip(uint32_t);
static uint32_t	 addr_ip(const struct imsg_addr *);
static int	 relay_addr(uint32_t, uint16_t);
static void	 link_path(struct link *);
static void	 relay_input(struct node *, struct pkt *);
static void	 relay_opened(struct simev *);
static void	 sim_relay(enum mesh_relay_op, const struct mesh_relay *,
		    const struct mesh_peer *, const struct mesh_peer *,
		    void *);
static void	 gossip_leaks(const struct pkt *);
static void	 trace_relay(uint32_t, uint32_t, uint8_t, const uint8_t *,
		    size_t);
static struct pkt *pkt_new(int, size_t);
static void	 pkt_free(struct pkt *);
static int	 net_send(struct node *, uint32_t, struct pkt *);
static void	 net_deliver(struct pkt *);
static void	 link_changed(struct node *, uint32_t);
static void	 link_set_endpoint(struct node *, uint32_t, uint32_t,
		    uint16_t);
static void	 link_reset(struct link *);
static void	 timer_mod(struct node *, uint32_t, int, int64_t);
static void	 timer_del(struct link *, int);
static void	 timer_fire(struct simev *);
static int	 wg_can_send(const struct wgpeer *);
static void	 wg_traversal(struct node *, uint32_t);
static int	 wg_output(struct node *, uint32_t, struct pkt *);
static void	 wg_initiate(struct node *, uint32_t, int);
static void	 wg_respond(struct node *, uint32_t, uint32_t);
static void	 wg_stage(struct wgpeer *, int, uint8_t, const uint8_t *,
		    size_t);
static void	 wg_flush_staged(struct wgpeer *);
static void	 wg_send_staged(struct node *, uint32_t);
static void	 wg_send_keepalive(struct node *, uint32_t);
static void	 wg_handshake_complete(struct node *, uint32_t);
static void	 wg_received(struct node *, uint32_t, size_t);
static struct keypair *wg_keypair(struct wgpeer *, uint32_t);
static void	 wg_input(struct node *, struct pkt *);
static void	 sim_action(enum mesh_action, struct mesh_peer *,
		    const struct imsg_set_endpoint *, void *);
static void	 sim_send(struct mesh_peer *, uint8_t, const uint8_t *,
		    size_t, void *);
static void	 engine_poke(struct node *, uint32_t);
static void	 engine_poke_soon(struct node *, uint32_t);
static void	 engine_pokes_due(struct node *, uint32_t);
static void	 node_key(uint32_t, uint8_t [WG_KEY_LEN]);
static uint32_t	 key_node(const uint8_t [WG_KEY_LEN]);
static int	 node_send_dir(uint32_t, uint32_t);
static int	 node_starts_later(uint32_t, uint32_t);
static void	 parent_set_endpoint(struct simev *);
static int	 link_waiting(const struct link *);
static int	 device_waiting(struct node *);
static int	 cmp_u32(const void *, const void *);
static void	 parent_read(struct node *);
static void	 parent_poll(struct node *);
static void	 node_start(struct node *);
static void	 window_begin(void);
static void	 sweep(void);
static void	 dispatch(struct simev *);
static void	 sim_setup(const struct mix *, uint32_t, uint64_t);
static void	 sim_finish(struct result *);
static void	 sim_free(void);
static int	 sim_run(const struct mix *, uint32_t, uint64_t, double,
		    struct result *);
static void	 run_forked(const struct mix *, uint32_t, uint64_t, double,
		    struct result *);
static const struct mix *mix_find(const char *);
static long long number(const char *, long long, long long, const char *);
static void	 fmt_time(char *, size_t, int64_t, const struct result *);
static void	 print_header(uint64_t);
static void	 print_row(const struct result *);
static void	 print_bench(const struct result *);
static uint32_t	 trial_changes_allowed(int64_t);
static void	 check_relayed(const struct result *, const char *);
static int	 all_up(const struct result *);
static int	 self_check(void);
static int	 traced(uint32_t, uint32_t);
static void	 trace(uint32_t, uint32_t, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));

/* The run: one at a time, in this process. */
static struct node	*nodes;
static uint32_t		 nnodes;
static int64_t		 now_ms;
static uint64_t		 rng_state;
static uint32_t		 hs_counter;
static uint32_t		 sid_counter;
static struct hmap	 nat_fwd;	/* symmetric: (router, dst) -> port */
static struct hmap	 nat_rev;	/* symmetric: (router, port) -> dst */
static struct hmap	 nat_filter;	/* (router, port, remote address) */
static struct simev	**wheel_head;
static struct simev	**wheel_tail;
static struct simev	*ev_pool;
/* packets, free, by payload size in PKT_CLASS steps */
#define PKT_CLASS		128
#define PKT_CLASSES		\
	((GOSSIP_MAX_PAYLOAD_BYTES + PKT_CLASS - 1) / PKT_CLASS + 1)
static struct pkt	*pkt_pool[PKT_CLASSES];
static struct imsg_device_peer *reports;
static uint8_t		*upmap;		/* i * N + j: i has j up */
static struct pair	*pairs;
static int64_t		 upmap_s;	/* the second it is for */
/*
 * The pair keys, as the parent hands them to the engine before the first
 * device report.  Nothing is sealed here: mesh.c only needs to know that
 * a peer has one (engine_send() sends nothing otherwise) and the
 * direction that gossip_pair_init() derives from the two public keys.
 * One of each, shared by every peer; taken back before mesh_clear().
 */
static struct gossip_pair sim_pair[2];
static int		 keepalive_classic;	/* -K */
static int		 relaying = 1;		/* -R: 0, relay-use no */
static int		 verbose;
static int64_t		 trace_a = -1, trace_b = -1;	/* -t A,B */

/* What is measured, by sweeps over all pairs. */
static struct {
	int64_t		 sweep_ms;
	uint64_t	 reachable;
	uint64_t	 unreachable;
	uint64_t	 ever;
	int64_t		 t_connected;
	int64_t		 t_mesh;
	int64_t		 t_99;
	int		 in_window;
	int64_t		 window_start;
	int64_t		 window_end;
	int		 done;
	uint64_t	 downs;
	uint64_t	 samples;
	uint64_t	 down_samples;
	uint64_t	 unreach_samples;
	uint64_t	 unreach_shown_samples;
	uint64_t	 keys_said;
	uint64_t	 g_dgrams0;
	uint64_t	 g_bytes0;
	uint64_t	 wg_bytes0;
	uint64_t	 punches0;
	uint64_t	 refused0;
	uint64_t	 rx_entries0;
	uint64_t	 g_relay_bytes0;
	uint64_t	 relay_fwd0;
	uint64_t	 sym_direct;
	uint64_t	 relay_leaks;
} meas;

static __dead void
usage(void)
{
	fprintf(stderr, "usage: sim [-cKRv] [-m mix] [-N sizes] [-n nodes] "
	    "[-s seed] [-T seconds] [-t A,B]\n");
	exit(1);
}

static int
traced(uint32_t i, uint32_t j)
{
	return ((i == trace_a && j == trace_b) ||
	    (i == trace_b && j == trace_a));
}

/* -t A,B: what happens between nodes A and B, on stderr */
static void
trace(uint32_t i, uint32_t j, const char *fmt, ...)
{
	va_list	ap;

	if (!traced(i, j))
		return;
	fprintf(stderr, "%9.3f %u->%u ", now_ms / 1000.0, i, j);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* xorshift64*: the network's randomness, from the seed only */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t	x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return (x * 0x2545f4914f6cdd1dULL);
}

static uint32_t
rng_below(uint32_t n)
{
	return ((uint32_t)((rng_next(&rng_state) >> 11) % n));
}

static double
wall_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* mesh.c and WireGuard's handshake times count whole realtime seconds. */
static int64_t
now_s(void)
{
	return (SIM_EPOCH + now_ms / 1000);
}

/* A node's peer list is every other node, in the order of their ids. */
static uint32_t
peer_node(uint32_t self, uint32_t index)
{
	return (index < self ? index : index + 1);
}

static uint32_t
peer_index(uint32_t self, uint32_t node)
{
	return (node < self ? node : node - 1);
}

static void
addr_set(struct imsg_addr *a, uint32_t ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (port == 0)
		return;
	a->af = AF_INET;
	a->port = port;
	a->addr[0] = ip >> 24;
	a->addr[1] = (ip >> 16) & 0xff;
	a->addr[2] = (ip >> 8) & 0xff;
	a->addr[3] = ip & 0xff;
}

static uint64_t
hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return (k);
}

static void
hmap_grow(struct hmap *h)
{
	struct hent	*old = h->e;
	size_t		 i, j, ocap = h->cap;

	h->cap = ocap == 0 ? 1024 : ocap * 2;
	if ((h->e = calloc(h->cap, sizeof(*h->e))) == NULL)
		err(1, "hmap");
	for (i = 0; i < ocap; i++) {
		if (!old[i].used)
			continue;
		for (j = hash64(old[i].key) & (h->cap - 1); h->e[j].used;
		    j = (j + 1) & (h->cap - 1))
			;
		h->e[j] = old[i];
	}
	free(old);
}

/* Entries are never removed: a stale one is told by its time. */
static struct hent *
hmap_find(struct hmap *h, uint64_t key, int create)
{
	size_t	i;

	if (create && (h->n + 1) * 2 > h->cap)
		hmap_grow(h);
	if (h->cap == 0)
		return (NULL);
	for (i = hash64(key) & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
		if (!h->e[i].used) {
			if (!create)
				return (NULL);
			memset(&h->e[i], 0, sizeof(h->e[i]));
			h->e[i].used = 1;
			h->e[i].key = key;
			h->n++;
			return (&h->e[i]);
		}
		if (h->e[i].key == key)
			return (&h->e[i]);
	}
}

static void
hmap_free(struct hmap *h)
{
	free(h->e);
	memset(h, 0, sizeof(*h));
}

/* Events of the same millisecond run in the order they were added. */
static struct simev *
ev_add(int64_t at, int kind)
{
	struct simev	*ev;
	size_t		 slot;

	if (at <= now_ms || at - now_ms >= WHEEL_SIZE)
		errx(1, "event %d at %" PRId64 " ms, now %" PRId64, kind, at,
		    now_ms);
	if ((ev = ev_pool) != NULL)
		ev_pool = ev->next;
	else if ((ev = malloc(sizeof(*ev))) == NULL)
		err(1, "event");
	memset(ev, 0, sizeof(*ev));
	ev->at = at;
	ev->kind = kind;
	slot = (size_t)at & WHEEL_MASK;
	if (wheel_tail[slot] == NULL)
		wheel_head[slot] = ev;
	else
		wheel_tail[slot]->next = ev;
	wheel_tail[slot] = ev;
	return (ev);
}

static void
ev_release(struct simev *ev)
{
	ev->next = ev_pool;
	ev_pool = ev;
}

/*
 * Router ports are handed out in turn from a random start; a symmetric
 * router skips those still mapped.  None is the listen port: a direct
 * trial tries a peer's listen port at its router's address (rule 17),
 * and a symmetric router's mapping there for that peer's address would
 * let two symmetric NATs connect by a lucky guess, now and then.
 */
static uint16_t
nat_port(struct node *r)
{
	struct hent	*rv, *f;
	uint16_t	 p;

	for (;;) {
		if (r->next_port < 1024)
			r->next_port = 1024;
		if ((p = r->next_port++) == SIM_WG_PORT)
			continue;
		if (r->kind != KIND_SYMMETRIC)
			return (p);
		if ((rv = hmap_find(&nat_rev, (uint64_t)r->id << 16 | p,
		    0)) == NULL)
			return (p);
		f = hmap_find(&nat_fwd, rv->val, 0);
		if (f == NULL || f->val != p ||
		    now_ms - f->at >= SIM_NAT_TIMEOUT_MS)
			return (p);
	}
}

/* The source a packet from node s to dip:dport has on the wire. */
static void
nat_out(struct node *s, uint32_t dip, uint16_t dport, uint32_t *sip,
    uint16_t *sport)
{
	struct hent	*f, *rv;
	uint16_t	 port;

	*sip = s->ip;
	switch (s->kind) {
	case KIND_PUBLIC:
		*sport = SIM_WG_PORT;
		return;
	case KIND_CONE:
		if (s->cone_port == 0 ||
		    now_ms - s->cone_last >= SIM_NAT_TIMEOUT_MS)
			s->cone_port = nat_port(s);
		s->cone_last = now_ms;
		port = s->cone_port;
		break;
	default:
		f = hmap_find(&nat_fwd, (uint64_t)s->id << 48 |
		    (uint64_t)dip << 16 | dport, 1);
		if (f->val == 0 || now_ms - f->at >= SIM_NAT_TIMEOUT_MS) {
			f->val = nat_port(s);
			rv = hmap_find(&nat_rev, (uint64_t)s->id << 16 |
			    f->val, 1);
			rv->val = f->key;
		}
		f->at = now_ms;
		port = (uint16_t)f->val;
		break;
	}
	f = hmap_find(&nat_filter, (uint64_t)s->id << 48 |
	    (uint64_t)port << 32 | dip, 1);
	f->at = now_ms;
	*sport = port;
}

/* Whether node r (or its router) lets in a packet from sip to dport. */
static int
nat_in(struct node *r, uint32_t sip, uint16_t dport)
{
	struct hent	*rv, *f = NULL, *flt;

	switch (r->kind) {
	case KIND_PUBLIC:
		return (dport == SIM_WG_PORT ? 0 : -1);
	case KIND_CONE:
		if (dport != r->cone_port ||
		    now_ms - r->cone_last >= SIM_NAT_TIMEOUT_MS)
			return (-1);
		break;
	default:
		if ((rv = hmap_find(&nat_rev, (uint64_t)r->id << 16 | dport,
		    0)) == NULL)
			return (-1);
		f = hmap_find(&nat_fwd, rv->val, 0);
		if (f == NULL || f->val != dport ||
		    now_ms - f->at >= SIM_NAT_TIMEOUT_MS)
			return (-1);
		break;
	}
	flt = hmap_find(&nat_filter, (uint64_t)r->id << 48 |
	    (uint64_t)dport << 32 | sip, 0);
	if (flt == NULL || now_ms - flt->at >= SIM_NAT_TIMEOUT_MS)
		return (-1);
	/* conntrack: an answer keeps the mapping too */
	if (f != NULL)
		f->at = now_ms;
	else
		r->cone_last = now_ms;
	return (0);
}

static struct node *
node_by_ip(uint32_t ip)
{
	uint32_t	id = (ip & 0xffff) - 1;

	if (id >= nnodes)
		return (NULL);
	if ((ip & 0xffff0000) == SIM_PUBLIC_NET &&
	    nodes[id].kind == KIND_PUBLIC)
		return (&nodes[id]);
	if ((ip & 0xffff0000) == SIM_ROUTER_NET &&
	    nodes[id].kind != KIND_PUBLIC)
		return (&nodes[id]);
	return (NULL);
}

static uint32_t
addr_ip(const struct imsg_addr *a)
{
	if (a->af != AF_INET)
		return (0);
	return ((uint32_t)a->addr[0] << 24 | (uint32_t)a->addr[1] << 16 |
	    (uint32_t)a->addr[2] << 8 | a->addr[3]);
}

/*
 * A relay's port: one of a public node's relay ports.  A node behind NAT
 * that gave ports (relay-offer auto before any peer saw it) gave ports
 * its router does not forward; they are not told apart from its mappings.
 */
static int
relay_addr(uint32_t ip, uint16_t port)
{
	struct node	*r;

	return (port >= SIM_RELAY_PORT &&
	    port < SIM_RELAY_PORT + SIM_RELAY_PORTS &&
	    (r = node_by_ip(ip)) != NULL && r->kind == KIND_PUBLIC);
}

/* After any change of l's endpoint: count relay <-> direct changes. */
static void
link_path(struct link *l)
{
	int	c;

	if (l->wg.ep_port == 0)
		return;
	c = relay_addr(l->wg.ep_ip, l->wg.ep_port) ? PATHC_RELAY :
	    PATHC_DIRECT;
	if (l->path != PATHC_NONE && l->path != c)
		l->path_changes++;
	l->path = c;
}

static struct pkt *
pkt_new(int type, size_t len)
{
	struct pkt	*pk;
	size_t		 c = (len + PKT_CLASS - 1) / PKT_CLASS;

	if (len > GOSSIP_MAX_PAYLOAD_BYTES)
		errx(1, "packet of %zu bytes", len);
	if ((pk = pkt_pool[c]) != NULL)
		pkt_pool[c] = pk->next;
	else if ((pk = malloc(sizeof(*pk) + c * PKT_CLASS)) == NULL)
		err(1, "packet");
	memset(pk, 0, sizeof(*pk));
	pk->type = type;
	pk->pool = c;
	pk->len = (uint16_t)len;
	return (pk);
}

static void
pkt_free(struct pkt *pk)
{
	pk->next = pkt_pool[pk->pool];
	pkt_pool[pk->pool] = pk;
}

/* Into the network from node n towards its peer j's endpoint. */
static int
net_send(struct node *n, uint32_t j, struct pkt *pk)
{
	struct wgpeer	*wp = &n->links[j].wg;
	struct simev	*ev;
	int64_t		 at;

	if (wp->ep_port == 0) {
		trace(n->id, j, "send type %u: no endpoint", pk->type);
		pkt_free(pk);
		return (-1);
	}
	pk->from = n->id;
	pk->to = j;
	pk->dst_ip = wp->ep_ip;
	pk->dst_port = wp->ep_port;
	nat_out(n, pk->dst_ip, pk->dst_port, &pk->src_ip, &pk->src_port);
	trace(n->id, j, "send %s%s id %u sid %u %x:%u -> %x:%u",
	    pk->type == PKT_INITIATION ? "init" : pk->type == PKT_RESPONSE ?
	    "resp" : "data", pk->type != PKT_DATA ? "" :
	    pk->kind == DATA_KEEPALIVE ? "/keepalive" : pk->kind == DATA_POKE ?
	    "/poke" : "/gossip", pk->id, pk->sid, pk->src_ip, pk->src_port,
	    pk->dst_ip, pk->dst_port);
	/* jitter, but no reordering between the same two hosts */
	at = now_ms + SIM_LATENCY_MS + rng_below(SIM_JITTER_MS);
	if (at < n->links[j].path_last)
		at = n->links[j].path_last;
	n->links[j].path_last = at;
	ev = ev_add(at, EV_PACKET);
	ev->pkt = pk;
	return (0);
}

static void
net_deliver(struct pkt *pk)
{
	struct node	*n;

	if ((n = node_by_ip(pk->dst_ip)) != NULL &&
	    n->kind == KIND_PUBLIC && pk->dst_port != SIM_WG_PORT) {
		relay_input(n, pk);
		return;
	}
	if (n == NULL || nat_in(n, pk->src_ip, pk->dst_port) == -1) {
		trace(pk->from, pk->to, "dropped by the network (type %u)",
		    pk->type);
		return;
	}
	/* the model: two symmetric NATs let nothing through directly */
	if (n->kind == KIND_SYMMETRIC && nodes[pk->from].kind ==
	    KIND_SYMMETRIC && node_by_ip(pk->src_ip) == &nodes[pk->from]) {
		if (verbose && meas.sym_direct < 5)
			fprintf(stderr, "  %.3f s: node %u got type %u from "
			    "node %u directly, %x:%u -> %x:%u\n",
			    now_ms / 1000.0, n->id, pk->type, pk->from,
			    pk->src_ip, pk->src_port, pk->dst_ip, pk->dst_port);
		meas.sym_direct++;
	}
	/* no device before the daemon has configured one */
	if (!n->started)
		return;
	/* only the peer it was sealed for can open it */
	if (pk->to != n->id)
		return;
	wg_input(n, pk);
}

/* The parent reports a peer whose view changed at its next poll. */
static void
link_changed(struct node *n, uint32_t j)
{
	if (n->links[j].dirty)
		return;
	n->links[j].dirty = 1;
	n->dirty[n->ndirty++] = j;
}

static void
link_set_endpoint(struct node *n, uint32_t j, uint32_t ip, uint16_t port)
{
	struct link	*l = &n->links[j];

	if (l->wg.ep_ip == ip && l->wg.ep_port == port)
		return;
	l->wg.ep_ip = ip;
	l->wg.ep_port = port;
	l->ep_changes++;
	link_path(l);
	link_changed(n, j);
}

/* A peer removed and added again: nothing of the old one is left. */
static void
link_reset(struct link *l)
{
	wg_flush_staged(&l->wg);
	memset(&l->wg, 0, sizeof(l->wg));
	l->wg.stq_tail = &l->wg.stq;
	/* a new peer may initiate at once */
	l->wg.last_sent_hs = -(int64_t)WG_REKEY_TIMEOUT_MS;
	l->gen++;
}

/*
 * A timer has at most one event in the wheel, at or before its expiry;
 * moving it later costs nothing until that event comes.
 */
static void
timer_mod(struct node *n, uint32_t j, int k, int64_t at)
{
	struct link	*l = &n->links[j];
	struct wgtimer	*t = &l->wg.t[k];
	struct simev	*ev;

	t->expiry = at;
	if (t->queued != 0 && t->queued <= at)
		return;
	ev = ev_add(at, EV_TIMER);
	ev->node = n->id;
	ev->peer = j;
	ev->gen = l->gen;
	ev->timer = k;
	t->queued = at;
}

static void
timer_del(struct link *l, int k)
{
	l->wg.t[k].expiry = 0;
}

static void
timer_fire(struct simev *ev)
{
	struct node	*n = &nodes[ev->node];
	struct link	*l = &n->links[ev->peer];
	struct wgtimer	*t = &l->wg.t[ev->timer];
	uint32_t	 j = ev->peer;

	if (ev->gen != l->gen || ev->at != t->queued)
		return;
	t->queued = 0;
	if (t->expiry == 0)
		return;
	if (t->expiry > now_ms) {
		timer_mod(n, j, ev->timer, t->expiry);
		return;
	}
	t->expiry = 0;
	trace(n->id, j, "timer %u", ev->timer);
	switch (ev->timer) {
	case T_RETRANSMIT:
		if (l->wg.attempts > WG_MAX_HANDSHAKES) {
			/* given up: what waited for a session goes */
			timer_del(l, T_SEND_KEEPALIVE);
			wg_flush_staged(&l->wg);
			break;
		}
		l->wg.attempts++;
		wg_initiate(n, j, 1);
		break;
	case T_SEND_KEEPALIVE:
		wg_send_keepalive(n, j);
		if (l->wg.need_another) {
			l->wg.need_another = 0;
			timer_mod(n, j, T_SEND_KEEPALIVE,
			    now_ms + WG_KEEPALIVE_TIMEOUT_MS);
		}
		break;
	case T_NEW_HANDSHAKE:
		wg_initiate(n, j, 0);
		break;
	case T_PERSISTENT:
		if (l->wg.keepalive != 0)
			wg_send_keepalive(n, j);
		break;
	}
}

static int
wg_can_send(const struct wgpeer *wp)
{
	return (wp->cur.sid != 0 &&
	    now_ms - wp->cur.birth < WG_REJECT_AFTER_MS);
}

/* Any authenticated packet, either way, pushes the keepalive back. */
static void
wg_traversal(struct node *n, uint32_t j)
{
	struct wgpeer	*wp = &n->links[j].wg;

	if (wp->keepalive != 0)
		timer_mod(n, j, T_PERSISTENT,
		    now_ms + (int64_t)wp->keepalive * 1000);
}

/* Sends pk if the peer has an endpoint; counts it as WireGuard does. */
static int
wg_output(struct node *n, uint32_t j, struct pkt *pk)
{
	size_t	wire = pk->wire;
	int	gossip = pk->type == PKT_DATA && pk->kind == DATA_GOSSIP;

	if (net_send(n, j, pk) == -1)
		return (-1);
	n->links[j].wg.tx += wire;
	if (!gossip)
		n->wg_bytes += wire + UNDERLAY_OVERHEAD;
	link_changed(n, j);
	return (0);
}

static void
wg_initiate(struct node *n, uint32_t j, int retry)
{
	struct wgpeer	*wp = &n->links[j].wg;
	struct pkt	*pk;

	if (!retry)
		wp->attempts = 0;
	if (now_ms - wp->last_sent_hs < WG_REKEY_TIMEOUT_MS)
		return;
	wp->last_sent_hs = now_ms;
	wp->hs_state = HS_CREATED_INITIATION;
	wp->hs_id = ++hs_counter;
	wg_traversal(n, j);
	timer_del(&n->links[j], T_SEND_KEEPALIVE);
	pk = pkt_new(PKT_INITIATION, 0);
	pk->wire = WG_INIT_LEN;
	pk->id = wp->hs_id;
	/* with no endpoint it is lost, and retried all the same */
	wg_output(n, j, pk);
	timer_mod(n, j, T_RETRANSMIT, now_ms + WG_REKEY_TIMEOUT_MS +
	    rng_below(WG_REKEY_JITTER_MS));
}

/* The responder's keys wait in "next" until data confirms them. */
static void
wg_respond(struct node *n, uint32_t j, uint32_t hs_id)
{
	struct wgpeer	*wp = &n->links[j].wg;
	struct pkt	*pk;

	wp->last_sent_hs = now_ms;
	wp->hs_state = HS_CREATED_RESPONSE;
	wp->next.sid = ++sid_counter;
	wp->next.birth = now_ms;
	wp->next.initiator = 0;
	wg_traversal(n, j);
	timer_del(&n->links[j], T_SEND_KEEPALIVE);
	pk = pkt_new(PKT_RESPONSE, 0);
	pk->wire = WG_RESP_LEN;
	pk->id = hs_id;
	pk->sid = wp->next.sid;
	wg_output(n, j, pk);
}

static void
wg_stage(struct wgpeer *wp, int kind, uint8_t gtype, const uint8_t *buf,
    size_t len)
{
	struct pkt	*pk;

	if (wp->nstaged == WG_MAX_STAGED) {
		pk = wp->stq;
		wp->stq = pk->next;
		if (wp->stq == NULL)
			wp->stq_tail = &wp->stq;
		wp->nstaged--;
		pkt_free(pk);
	}
	pk = pkt_new(PKT_DATA, len);
	pk->kind = kind;
	pk->gtype = gtype;
	if (len > 0)
		memcpy(pk->payload, buf, len);
	*wp->stq_tail = pk;
	wp->stq_tail = &pk->next;
	wp->nstaged++;
}

static void
wg_flush_staged(struct wgpeer *wp)
{
	struct pkt	*pk;

	while ((pk = wp->stq) != NULL) {
		wp->stq = pk->next;
		pkt_free(pk);
	}
	wp->stq_tail = &wp->stq;
	wp->nstaged = 0;
}

static void
wg_send_staged(struct node *n, uint32_t j)
{
	struct link	*l = &n->links[j];
	struct wgpeer	*wp = &l->wg;
	struct pkt	*pk;
	size_t		 inner;
	int		 data = 0, kind;

	if (wp->stq == NULL)
		return;
	if (!wg_can_send(wp)) {
		wg_initiate(n, j, 0);
		return;
	}
	wg_traversal(n, j);
	timer_del(l, T_SEND_KEEPALIVE);
	while ((pk = wp->stq) != NULL) {
		wp->stq = pk->next;
		wp->nstaged--;
		pk->next = NULL;
		pk->sid = wp->cur.sid;
		switch (pk->kind) {
		case DATA_KEEPALIVE:
			inner = 0;
			break;
		case DATA_POKE:
			inner = TUNNEL_OVERHEAD;
			break;
		default:
			inner = pk->len + GOSSIP_HEADER_LEN + GOSSIP_TAG_LEN +
			    TUNNEL_OVERHEAD;
			break;
		}
		pk->wire = WG_DATA_OVERHEAD + ((inner + 15) & ~(size_t)15);
		kind = pk->kind;
		/* pk is the network's now */
		if (wg_output(n, j, pk) == 0 && kind != DATA_KEEPALIVE)
			data = 1;
	}
	wp->stq_tail = &wp->stq;
	if (data && wp->t[T_NEW_HANDSHAKE].expiry == 0)
		timer_mod(n, j, T_NEW_HANDSHAKE, now_ms +
		    WG_KEEPALIVE_TIMEOUT_MS + WG_REKEY_TIMEOUT_MS +
		    rng_below(WG_REKEY_JITTER_MS));
	if (wp->cur.initiator && now_ms - wp->cur.birth >= WG_REKEY_AFTER_MS)
		wg_initiate(n, j, 0);
}

static void
wg_send_keepalive(struct node *n, uint32_t j)
{
	struct wgpeer	*wp = &n->links[j].wg;

	if (wp->stq == NULL)
		wg_stage(wp, DATA_KEEPALIVE, 0, NULL, 0);
	wg_send_staged(n, j);
}

static void
wg_handshake_complete(struct node *n, uint32_t j)
{
	struct link	*l = &n->links[j];

	timer_del(l, T_RETRANSMIT);
	l->wg.attempts = 0;
	l->wg.lastminute = 0;
	l->wg.last_hs = now_s();
	link_changed(n, j);
}

static void
wg_received(struct node *n, uint32_t j, size_t len)
{
	struct link	*l = &n->links[j];

	l->wg.rx += len;
	link_changed(n, j);
	timer_del(l, T_NEW_HANDSHAKE);
	if (!keepalive_classic)
		wg_traversal(n, j);
}

static struct keypair *
wg_keypair(struct wgpeer *wp, uint32_t sid)
{
	struct keypair	*kp[3] = { &wp->cur, &wp->prev, &wp->next };
	size_t		 i;

	for (i = 0; i < 3; i++)
		if (sid != 0 && kp[i]->sid == sid &&
		    now_ms - kp[i]->birth < WG_REJECT_AFTER_MS)
			return (kp[i]);
	return (NULL);
}

static void
wg_input(struct node *n, struct pkt *pk)
{
	uint32_t	 j = pk->from;
	struct link	*l = &n->links[j];
	struct wgpeer	*wp = &l->wg;
	struct keypair	*kp;

	switch (pk->type) {
	case PKT_INITIATION:
		/* Noise has one handshake: ours, if any, is forgotten */
		link_set_endpoint(n, j, pk->src_ip, pk->src_port);
		wg_respond(n, j, pk->id);
		wg_received(n, j, WG_INIT_LEN);
		break;
	case PKT_RESPONSE:
		if (wp->hs_state != HS_CREATED_INITIATION ||
		    wp->hs_id != pk->id) {
			trace(n->id, j, "response %u refused (state %u id %u)",
			    pk->id, wp->hs_state, wp->hs_id);
			/* crossed by the peer's, or the peer made anew */
			n->refused++;
			return;
		}
		wp->hs_state = HS_NONE;
		link_set_endpoint(n, j, pk->src_ip, pk->src_port);
		wp->prev = wp->cur;
		wp->cur.sid = pk->sid;
		wp->cur.birth = now_ms;
		wp->cur.initiator = 1;
		wp->next.sid = 0;
		wg_handshake_complete(n, j);
		/* confirms the session to the responder */
		wg_send_keepalive(n, j);
		wg_received(n, j, WG_RESP_LEN);
		break;
	case PKT_DATA:
		if ((kp = wg_keypair(wp, pk->sid)) == NULL) {
			trace(n->id, j, "data sid %u refused", pk->sid);
			return;
		}
		link_set_endpoint(n, j, pk->src_ip, pk->src_port);
		if (kp == &wp->next) {
			wp->prev = wp->cur;
			wp->cur = wp->next;
			wp->next.sid = 0;
			wg_handshake_complete(n, j);
			wg_send_staged(n, j);
		}
		if (wp->cur.initiator && !wp->lastminute &&
		    now_ms - wp->cur.birth >= WG_REJECT_AFTER_MS -
		    WG_KEEPALIVE_TIMEOUT_MS - WG_REKEY_TIMEOUT_MS) {
			wp->lastminute = 1;
			wg_initiate(n, j, 0);
		}
		wg_received(n, j, pk->wire);
		if (pk->kind == DATA_KEEPALIVE)
			break;
		if (wp->t[T_SEND_KEEPALIVE].expiry == 0)
			timer_mod(n, j, T_SEND_KEEPALIVE,
			    now_ms + WG_KEEPALIVE_TIMEOUT_MS);
		else
			wp->need_another = 1;
		/* a poke is an empty datagram: the engine drops it */
		if (pk->kind == DATA_GOSSIP && pk->len > 0 &&
		    (pk->gtype == GOSSIP_MSG_ENDPOINTS ||
		    pk->gtype == GOSSIP_MSG_PUNCH)) {
			n->g_rx_entries += pk->payload[0];
			if (relaying)
				gossip_leaks(pk);
		}
		if (pk->kind == DATA_GOSSIP)
			n->touched = 1;
		if (pk->kind == DATA_GOSSIP)
			mesh_receive(&n->mesh,
			    &n->mesh.peers[peer_index(n->id, j)], pk->gtype,
			    pk->payload, pk->len, now_s());
		break;
	}
}

/*
 * The relay process of node r, for a datagram to one of its ports (the
 * simplified rules of wgmeshd/relay_wire.c): a leg latches the address
 * of the first handshake initiation for the other end (WireGuard's mac1
 * tells whom it is for) from the address the end is expected at, and
 * never moves; what comes from a leg's latched address goes out of the
 * other leg's port to the other leg's latched address; nothing while
 * paused, nothing for a port not open.  The relay's host is public: no
 * NAT on the way out.
 */
static void
relay_input(struct node *r, struct pkt *pk)
{
	struct simrelay	*rl;
	struct pkt	*out;
	struct link	*l;
	struct simev	*ev;
	unsigned int	 slot, side;
	int64_t		 at;

	if (pk->dst_port < SIM_RELAY_PORT ||
	    pk->dst_port >= SIM_RELAY_PORT + SIM_RELAY_PORTS ||
	    r->relays == NULL || !r->started) {
		trace(pk->from, pk->to, "dropped: no such port %u at %u",
		    pk->dst_port, r->id);
		return;
	}
	slot = (pk->dst_port - SIM_RELAY_PORT) / 2;
	side = (pk->dst_port - SIM_RELAY_PORT) % 2;
	rl = &r->relays[slot];
	if (!rl->open || now_ms < rl->paused_until) {
		r->relay_drops++;
		trace(pk->from, pk->to, "relay %u pair %u: %s", r->id, slot,
		    rl->open ? "paused" : "not open");
		return;
	}
	if (!rl->latched[side]) {
		if (pk->type != PKT_INITIATION || pk->to != rl->end[1 - side] ||
		    (rl->expect[side] != 0 && pk->src_ip != rl->expect[side])) {
			r->relay_drops++;
			return;
		}
		rl->latched[side] = 1;
		rl->ip[side] = pk->src_ip;
		rl->port[side] = pk->src_port;
		trace(pk->from, pk->to, "relay %u pair %u: leg %u latched "
		    "%x:%u", r->id, slot, side, pk->src_ip, pk->src_port);
	} else if (pk->src_ip != rl->ip[side] ||
	    pk->src_port != rl->port[side]) {
		r->relay_drops++;
		return;
	}
	if (!rl->latched[1 - side]) {
		r->relay_drops++;
		return;
	}
	out = pkt_new(pk->type, pk->len);
	out->kind = pk->kind;
	out->gtype = pk->gtype;
	out->wire = pk->wire;
	out->from = pk->from;
	out->to = pk->to;
	out->id = pk->id;
	out->sid = pk->sid;
	if (pk->len > 0)
		memcpy(out->payload, pk->payload, pk->len);
	out->src_ip = r->ip;
	out->src_port = SIM_RELAY_PORT + 2 * slot + (1 - side);
	out->dst_ip = rl->ip[1 - side];
	out->dst_port = rl->port[1 - side];
	r->relay_fwd++;
	r->relay_fwd_bytes += pk->wire + UNDERLAY_OVERHEAD;
	/* no overtaking between the relay and that end either */
	l = &r->links[rl->end[1 - side]];
	at = now_ms + SIM_LATENCY_MS + rng_below(SIM_JITTER_MS);
	if (at < l->path_last)
		at = l->path_last;
	l->path_last = at;
	ev = ev_add(at, EV_PACKET);
	ev->pkt = out;
}

/*
 * mesh.c's relay callback: what engine_relay_op() asks of the relay
 * process; an OPEN is answered SIM_IPC_MS later (relay_opened()), the
 * ends expected at the addresses this node's device has them.
 */
static void
sim_relay(enum mesh_relay_op op, const struct mesh_relay *rp,
    const struct mesh_peer *a, const struct mesh_peer *b, void *arg)
{
	struct node	*n = arg;
	struct simrelay	*rl;
	struct simev	*ev;

	if (rp->id >= RELAY_PAIRS_MAX)
		errx(1, "node %u: relay pair %u", n->id, rp->id);
	if (n->relays == NULL && (n->relays = calloc(RELAY_PAIRS_MAX,
	    sizeof(*n->relays))) == NULL)
		err(1, "relays");
	rl = &n->relays[rp->id];
	switch (op) {
	case MESH_RELAY_OPEN:
		if (rl->open)
			errx(1, "node %u: relay pair %u opened twice", n->id,
			    rp->id);
		memset(rl, 0, sizeof(*rl));
		rl->end[0] = peer_node(n->id, (uint32_t)(a - n->mesh.peers));
		rl->end[1] = peer_node(n->id, (uint32_t)(b - n->mesh.peers));
		rl->expect[0] = addr_ip(&a->device.endpoint);
		rl->expect[1] = addr_ip(&b->device.endpoint);
		n->relay_opens++;
		if (verbose && n->kind != KIND_PUBLIC)
			fprintf(stderr, "  %.3f s: node %u, behind NAT, opens "
			    "pair %u for %u and %u\n", now_ms / 1000.0, n->id,
			    rp->id, rl->end[0], rl->end[1]);
		ev = ev_add(now_ms + SIM_IPC_MS, EV_RELAY_OPENED);
		ev->node = n->id;
		ev->peer = rp->id;
		trace(rl->end[0], rl->end[1], "relay %u: open pair %u",
		    n->id, rp->id);
		break;
	case MESH_RELAY_PAUSE:
		if (rl->open)
			rl->paused_until = now_ms + SIM_RELAY_PAUSE_MS;
		trace(rl->end[0], rl->end[1], "relay %u: pause pair %u",
		    n->id, rp->id);
		break;
	case MESH_RELAY_CLOSE:
		if (!rl->open)
			errx(1, "node %u: relay pair %u closed, not open",
			    n->id, rp->id);
		rl->open = 0;
		n->relays_open--;
		trace(rl->end[0], rl->end[1], "relay %u: close pair %u",
		    n->id, rp->id);
		break;
	}
}

/* The relay process's answer to an OPEN, as engine_relay_opened(). */
static void
relay_opened(struct simev *ev)
{
	struct node	*n = &nodes[ev->node];
	struct simrelay	*rl = &n->relays[ev->peer];
	uint16_t	 port[2];

	rl->open = 1;
	if (++n->relays_open > n->relays_peak)
		n->relays_peak = n->relays_open;
	port[0] = SIM_RELAY_PORT + 2 * ev->peer;
	port[1] = port[0] + 1;
	mesh_relay_opened(&n->mesh, ev->peer, port, 0, now_s());
	mesh_flush(&n->mesh, now_s());
}

/* A relay's port must never be gossiped (rule 16): counted if it is. */
static void
gossip_leaks(const struct pkt *pk)
{
	static struct gossip_endpoint	 ep[GOSSIP_ENDPOINTS_MAX];
	size_t				 i, n;

	if (gossip_endpoints_decode(pk->payload, pk->len, ep,
	    GOSSIP_ENDPOINTS_MAX, &n) == -1)
		errx(1, "gossip from node %u: not decoded", pk->from);
	for (i = 0; i < n; i++)
		if (relay_addr(addr_ip(&ep[i].addr), ep[i].addr.port)) {
			meas.relay_leaks++;
			if (verbose && meas.relay_leaks <= 20)
				fprintf(stderr, "  %.3f s: node %u told node "
				    "%u (%s) that node %u is at relay port "
				    "%x:%u (origin %u%s)\n", now_ms / 1000.0,
				    pk->from, pk->to, pk->gtype ==
				    GOSSIP_MSG_PUNCH ? "PUNCH" : "ENDPOINTS",
				    key_node(ep[i].public_key),
				    addr_ip(&ep[i].addr),
				    ep[i].addr.port, ep[i].origin,
				    ep[i].heard ? ", heard" : "");
		}
}

/* mesh.c's action callback: what engine_action() does. */
static void
sim_action(enum mesh_action action, struct mesh_peer *p,
    const struct imsg_set_endpoint *set, void *arg)
{
	struct node	*n = arg;
	struct simev	*ev;
	uint32_t	 j = peer_node(n->id, p->index);

	trace(n->id, j, "engine: %s (state %d: %s)",
	    action == MESH_ACTION_POKE ? "poke" :
	    action == MESH_ACTION_POKE_SOON ? "poke soon" : "set endpoint",
	    p->state, p->reason);
	switch (action) {
	case MESH_ACTION_SET_ENDPOINT:
		if (set->endpoint.af != AF_INET)
			errx(1, "node %u: endpoint of family %u", n->id,
			    set->endpoint.af);
		ev = ev_add(now_ms + SIM_IPC_MS, EV_SET_ENDPOINT);
		ev->node = n->id;
		ev->peer = j;
		ev->ip = (uint32_t)set->endpoint.addr[0] << 24 |
		    (uint32_t)set->endpoint.addr[1] << 16 |
		    (uint32_t)set->endpoint.addr[2] << 8 |
		    set->endpoint.addr[3];
		ev->port = set->endpoint.port;
		ev->keepalive = set->keepalive;
		ev->anew = (set->flags & SET_ENDPOINT_ANEW) != 0;
		break;
	case MESH_ACTION_POKE:
		engine_poke(n, j);
		break;
	case MESH_ACTION_POKE_SOON:
		engine_poke_soon(n, j);
		break;
	}
}

/* An empty datagram into the tunnel: WireGuard handshakes to send it. */
static void
engine_poke(struct node *n, uint32_t j)
{
	wg_stage(&n->links[j].wg, DATA_POKE, 0, NULL, 0);
	wg_send_staged(n, j);
}

/*
 * engine_poke_soon(): a peer is queued once; each poke goes
 * MESH_POKE_DELAY_MS after its own request.
 */
static void
engine_poke_soon(struct node *n, uint32_t j)
{
	struct simev	*ev;

	if (n->links[j].poke_queued)
		return;
	n->links[j].poke_queued = 1;
	ev = ev_add(now_ms + MESH_POKE_DELAY_MS, EV_POKES);
	ev->node = n->id;
	ev->peer = j;
}

/* engine_pokes_due(): a delayed start that is due. */
static void
engine_pokes_due(struct node *n, uint32_t j)
{
	n->links[j].poke_queued = 0;
	trace(n->id, j, "engine: delayed poke due");
	engine_poke(n, j);
}

/* mesh.c's send callback: sealed and sent into the tunnel. */
static void
sim_send(struct mesh_peer *p, uint8_t type, const uint8_t *buf, size_t len,
    void *arg)
{
	struct node	*n = arg;
	uint32_t	 j = peer_node(n->id, p->index);

	n->g_dgrams++;
	n->g_bytes += len + GOSSIP_HEADER_LEN + GOSSIP_TAG_LEN +
	    TUNNEL_OVERHEAD + WG_DATA_OVERHEAD;
	if (type == GOSSIP_MSG_RELAY_REQUEST || type == GOSSIP_MSG_RELAY_ASK ||
	    type == GOSSIP_MSG_RELAY_ANSWER ||
	    type == GOSSIP_MSG_DIRECT_TRIAL) {
		n->g_relay_bytes += len + GOSSIP_HEADER_LEN + GOSSIP_TAG_LEN +
		    TUNNEL_OVERHEAD + WG_DATA_OVERHEAD;
		trace_relay(n->id, j, type, buf, len);
	}
	wg_stage(&n->links[j].wg, DATA_GOSSIP, type, buf, len);
	wg_send_staged(n, j);
}

/* -t A,B: a relay or trial message about A or B (to or from the other) */
static void
trace_relay(uint32_t from, uint32_t to, uint8_t type, const uint8_t *buf,
    size_t len)
{
	static const char	*names[] = { "RELAY_REQUEST", "RELAY_ASK",
				    "RELAY_ANSWER", "DIRECT_TRIAL" };
	struct gossip_relay	 r;
	uint32_t		 about;

	if (trace_a < 0 || gossip_relay_decode(buf, len, type, &r) == -1)
		return;
	about = key_node(r.public_key);
	if (type == GOSSIP_MSG_DIRECT_TRIAL)
		about = to;
	if (!traced(from, about) && !traced(to, about))
		return;
	fprintf(stderr, "%9.3f %u->%u gossip %s about %u: code %u port %u\n",
	    now_ms / 1000.0, from, to, names[type - GOSSIP_MSG_RELAY_REQUEST],
	    about, r.code, r.port);
}

/*
 * Node id's public key: four bytes from a hash of the id first, as
 * random as real keys where mesh_relay_pick() mixes them (and where they
 * compare, for rule 12), then the id.
 */
static void
node_key(uint32_t id, uint8_t key[WG_KEY_LEN])
{
	uint64_t	h = hash64((uint64_t)id + 1);

	memset(key, 0, WG_KEY_LEN);
	key[0] = h >> 56;
	key[1] = (h >> 48) & 0xff;
	key[2] = (h >> 40) & 0xff;
	key[3] = (h >> 32) & 0xff;
	key[4] = id >> 24;
	key[5] = (id >> 16) & 0xff;
	key[6] = (id >> 8) & 0xff;
	key[7] = id & 0xff;
}

/* The node whose key an entry of gossip names. */
static uint32_t
key_node(const uint8_t key[WG_KEY_LEN])
{
	return ((uint32_t)key[4] << 24 | (uint32_t)key[5] << 16 |
	    (uint32_t)key[6] << 8 | key[7]);
}

/* gossip_pair_init()'s direction: 0 where our key is the smaller. */
static int
node_send_dir(uint32_t self, uint32_t peer)
{
	uint8_t	own[WG_KEY_LEN], key[WG_KEY_LEN];

	node_key(self, own);
	node_key(peer, key);
	return (memcmp(own, key, WG_KEY_LEN) < 0 ? 0 : 1);
}

/* Whether node i starts later than node j: the daemon's rule, asked. */
static int
node_starts_later(uint32_t i, uint32_t j)
{
	uint8_t	own[WG_KEY_LEN], key[WG_KEY_LEN];

	node_key(i, own);
	node_key(j, key);
	return (key_starts_later(own, key));
}

/*
 * device_set_endpoint(), as the parent applies the engine's request: the
 * daemon's device_set_decide() on the facts the simulated device has.
 */
static void
parent_set_endpoint(struct simev *ev)
{
	struct node		*n = &nodes[ev->node];
	struct link		*l = &n->links[ev->peer];
	struct device_set_facts	 f;
	enum device_set_how	 how;
	uint32_t		 old_ip = l->wg.ep_ip;
	uint16_t		 old_port = l->wg.ep_port;
	uint16_t		 old_ka = l->wg.keepalive;
	int			 anew;

	memset(&f, 0, sizeof(f));
	f.has_peer = 1;
	f.elsewhere = l->wg.ep_port != 0 &&
	    (l->wg.ep_ip != ev->ip || l->wg.ep_port != ev->port);
	f.now = now_s();
	f.last_handshake = l->wg.last_hs;
	f.rx_bytes = l->wg.rx;
	f.rx_changed = l->wg.rx != l->seen.rx_bytes;
	f.rx_still_ms = now_ms - l->rx_seen_at;
	f.starts_later = node_starts_later(n->id, ev->peer);
	f.anew = ev->anew;
	how = device_set_decide(&f);
	if (how == DEVICE_SET_KEEP) {
		trace(n->id, ev->peer, "parent: endpoint %x:%u: a handshake "
		    "just now elsewhere; left", ev->ip, ev->port);
		goto read;
	}
	anew = how == DEVICE_SET_REMAKE;
	trace(n->id, ev->peer, "parent: endpoint %x:%u%s", ev->ip, ev->port,
	    anew ? " (peer made anew)" : "");
	if (anew) {
		link_reset(l);
		n->wait_check = 0;
		old_ka = 0;
		link_changed(n, ev->peer);
	}
	l->wg.ep_ip = ev->ip;
	l->wg.ep_port = ev->port;
	if (ev->ip != old_ip || ev->port != old_port) {
		l->ep_changes++;
		link_path(l);
		link_changed(n, ev->peer);
	}
	l->wg.keepalive = ev->keepalive;
	/*
	 * WireGuard sends a keepalive when one is switched on, which
	 * starts a handshake on a peer made anew.
	 */
	if (old_ka == 0 && ev->keepalive != 0)
		wg_send_keepalive(n, ev->peer);
 read:
	/*
	 * Then the device is read at once, this peer reported changed or
	 * not: the engine pokes it when it sees the endpoint in place.
	 */
	l->seen.peer = UINT32_MAX;
	link_changed(n, ev->peer);
	parent_read(n);
	n->fast_polls = WGMESHD_POLL_FAST_COUNT;
}

static int
link_waiting(const struct link *l)
{
	return (l->wg.last_hs == 0 ||
	    now_s() - l->wg.last_hs >= MESH_HANDSHAKE_FRESH_SECONDS);
}

/*
 * Whether device_poll() would say "waiting": some peer not handshaken.
 * Handshake times only grow, except when a peer is made anew: with none
 * waiting, none can be before the oldest handshake is too old.
 */
static int
device_waiting(struct node *n)
{
	int64_t		oldest = INT64_MAX;
	uint32_t	j;

	if (now_s() < n->wait_check)
		return (0);
	if (n->wait_hint != n->id &&
	    link_waiting(&n->links[n->wait_hint]))
		return (1);
	for (j = 0; j < nnodes; j++) {
		if (j == n->id)
			continue;
		if (link_waiting(&n->links[j])) {
			n->wait_hint = j;
			return (1);
		}
		if (n->links[j].wg.last_hs < oldest)
			oldest = n->links[j].wg.last_hs;
	}
	n->wait_check = oldest + MESH_HANDSHAKE_FRESH_SECONDS;
	return (0);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * device_poll(): one read of the device, then a report for each peer
 * whose view differs from the last one reported; the engine gets them
 * after the read, in peer order.
 */
static void
parent_read(struct node *n)
{
	struct imsg_device_peer	 d;
	struct link		*l;
	size_t			 i, nrep = 0;
	uint32_t		 j;

	qsort(n->dirty, n->ndirty, sizeof(n->dirty[0]), cmp_u32);
	for (i = 0; i < n->ndirty; i++) {
		j = n->dirty[i];
		l = &n->links[j];
		l->dirty = 0;
		memset(&d, 0, sizeof(d));
		d.iface = 0;
		d.peer = peer_index(n->id, j);
		d.last_handshake = l->wg.last_hs;
		d.rx_bytes = l->wg.rx;
		d.tx_bytes = l->wg.tx;
		addr_set(&d.endpoint, l->wg.ep_ip, l->wg.ep_port);
		if (d.rx_bytes != l->seen.rx_bytes)
			l->rx_seen_at = now_ms;
		if (memcmp(&d, &l->seen, sizeof(d)) == 0)
			continue;
		l->seen = d;
		reports[nrep++] = d;
	}
	n->ndirty = 0;
	for (i = 0; i < nrep; i++) {
		j = peer_node(n->id, reports[i].peer);
		mesh_device(&n->mesh, &n->mesh.peers[reports[i].peer],
		    &reports[i], now_s());
		trace(n->id, j, "report hs %" PRId64 " rx %" PRIu64 " tx %"
		    PRIu64 " -> %s", reports[i].last_handshake == 0 ? -1 :
		    reports[i].last_handshake - SIM_EPOCH, reports[i].rx_bytes,
		    reports[i].tx_bytes, n->mesh.peers[reports[i].peer].reason);
	}
	/* the engine pushes what a batch of reports changed */
	if (nrep > 0)
		mesh_flush(&n->mesh, now_s());
}

/* parent_poll(): the device read every second, or faster while waiting. */
static void
parent_poll(struct node *n)
{
	struct simev	*ev;
	int		 waiting;

	waiting = device_waiting(n);
	parent_read(n);
	/* fast only for a while after the start or an endpoint set */
	if (waiting && n->fast_polls > 0)
		n->fast_polls--;
	else
		waiting = 0;
	ev = ev_add(now_ms + (waiting ? WGMESHD_POLL_FAST_MS :
	    WGMESHD_POLL_MS), EV_POLL);
	ev->node = n->id;
}

/*
 * The daemon starts: the parent configures the device (every peer with
 * its keepalive but where this node's key is the larger, the public ones
 * with their endpoints) and brings it up, which sends an initiation to
 * each peer with a keepalive; the engine gets the
 * configuration and the configured endpoints; the parent reads the
 * device at once.
 */
static void
node_start(struct node *n)
{
	struct mesh_peer	*conf;
	struct mesh_iface	 mi;
	struct imsg_addr	 a;
	struct link		*l;
	struct simev		*ev;
	uint32_t		 i, j;

	n->started = 1;
	n->fast_polls = WGMESHD_POLL_FAST_COUNT;
	for (j = 0; j < nnodes; j++) {
		if (j == n->id)
			continue;
		l = &n->links[j];
		/* the larger key starts later (device_apply()) */
		l->wg.keepalive = node_starts_later(n->id, j) ? 0 :
		    SIM_KEEPALIVE;
		if (nodes[j].kind == KIND_PUBLIC) {
			l->wg.ep_ip = nodes[j].ip;
			l->wg.ep_port = SIM_WG_PORT;
		}
		/* every peer is reported at the first poll */
		l->seen.peer = UINT32_MAX;
		link_changed(n, j);
	}
	for (j = 0; j < nnodes; j++)
		if (j != n->id && n->links[j].wg.keepalive != 0)
			wg_send_keepalive(n, j);

	if ((conf = calloc(nnodes - 1, sizeof(*conf))) == NULL)
		err(1, "configuration");
	for (i = 0; i < nnodes - 1; i++) {
		j = peer_node(n->id, i);
		conf[i].iface = 0;
		conf[i].index = i;
		snprintf(conf[i].name, sizeof(conf[i].name), "node%u", j);
		node_key(j, conf[i].public_key);
		conf[i].address[0] = 0xfd;
		conf[i].address[14] = j >> 8;
		conf[i].address[15] = j & 0xff;
		conf[i].keepalive = SIM_KEEPALIVE;
		conf[i].starts_later = node_starts_later(n->id, j);
		conf[i].relay_use = relaying;
	}
	/*
	 * Every node as the defaults have it: relay-offer auto (mesh.c
	 * offers unless a peer sees it at a port other than its listen
	 * port), relay-use yes, with a relay process (engine_init()).
	 */
	memset(&mi, 0, sizeof(mi));
	mi.iface = 0;
	mi.listen_port = SIM_WG_PORT;
	mi.relay_offer = RELAY_OFFER_AUTO;
	mi.relay_use = relaying;
	node_key(n->id, mi.public_key);
	if (mesh_reconf(&n->mesh, conf, nnodes - 1) == -1 ||
	    mesh_ifaces(&n->mesh, &mi, 1) == -1 ||
	    mesh_relay_init(&n->mesh, sim_relay, RELAY_PAIRS_MAX) == -1)
		err(1, "mesh_reconf");
	free(conf);
	for (i = 0; i < nnodes - 1; i++)
		n->mesh.peers[i].pair = &sim_pair[node_send_dir(n->id,
		    peer_node(n->id, i))];
	for (i = 0; i < nnodes - 1; i++) {
		j = peer_node(n->id, i);
		if (nodes[j].kind != KIND_PUBLIC)
			continue;
		addr_set(&a, nodes[j].ip, SIM_WG_PORT);
		mesh_candidates(&n->mesh, &n->mesh.peers[i], &a, 1,
		    ORIGIN_CONFIGURED, now_s());
	}
	parent_poll(n);
	ev = ev_add(now_ms + 1000, EV_TICK);
	ev->node = n->id;
}

static void
window_begin(void)
{
	uint32_t	i, j;

	meas.in_window = 1;
	meas.window_start = now_ms;
	meas.window_end = now_ms + SIM_WINDOW_MS;
	meas.g_dgrams0 = meas.g_bytes0 = meas.wg_bytes0 = 0;
	meas.punches0 = meas.rx_entries0 = meas.refused0 = 0;
	meas.g_relay_bytes0 = meas.relay_fwd0 = 0;
	for (i = 0; i < nnodes; i++) {
		meas.g_relay_bytes0 += nodes[i].g_relay_bytes;
		meas.relay_fwd0 += nodes[i].relay_fwd;
		meas.rx_entries0 += nodes[i].g_rx_entries;
		meas.g_dgrams0 += nodes[i].g_dgrams;
		meas.g_bytes0 += nodes[i].g_bytes;
		meas.wg_bytes0 += nodes[i].wg_bytes;
		meas.punches0 += nodes[i].mesh.stats.punches;
		meas.refused0 += nodes[i].refused;
		for (j = 0; j < nnodes; j++) {
			nodes[i].links[j].ep_changes = 0;
			nodes[i].links[j].path_changes = 0;
		}
	}
}

/* Every pair, both ends: is it up, as mesh_peer_is_up() says? */
static void
sweep(void)
{
	struct mesh_peer	*a, *b;
	struct pair		*pr;
	uint64_t		 up = 0;
	uint32_t		 i, j;
	int64_t			 t = now_s();
	int			 u;

	/*
	 * What mesh.c says of a node's peers changes only with the second
	 * or a call into it: the others' are as at the last sweep.
	 */
	for (i = 0; i < nnodes; i++) {
		if (!nodes[i].touched && t == upmap_s)
			continue;
		nodes[i].touched = 0;
		for (j = 0; j < nodes[i].mesh.npeers; j++)
			upmap[(size_t)i * nnodes + peer_node(i, j)] =
			    mesh_peer_is_up(&nodes[i].mesh.peers[j], t);
	}
	upmap_s = t;
	for (i = 0; i < nnodes; i++)
		for (j = i + 1; j < nnodes; j++) {
			pr = &pairs[(size_t)i * nnodes + j];
			/* a node that has not started yet has no peers */
			if (nodes[i].mesh.npeers == 0 ||
			    nodes[j].mesh.npeers == 0)
				continue;
			a = &nodes[i].mesh.peers[j - 1];
			b = &nodes[j].mesh.peers[i];
			/* initiations that cross are not keys that differ */
			if (strncmp(a->reason, SIM_WHY_KEYS,
			    strlen(SIM_WHY_KEYS)) == 0 ||
			    strncmp(b->reason, SIM_WHY_KEYS,
			    strlen(SIM_WHY_KEYS)) == 0)
				meas.keys_said++;
			u = upmap[(size_t)i * nnodes + j] &&
			    upmap[(size_t)j * nnodes + i];
			if (u && !pr->ever) {
				pr->ever = 1;
				if (!pr->unreach)
					meas.ever++;
			}
			if (pr->unreach) {
				if (meas.in_window) {
					meas.unreach_samples++;
					if (a->state == PEER_STATE_UNREACHABLE &&
					    b->state == PEER_STATE_UNREACHABLE)
						meas.unreach_shown_samples++;
				}
				continue;
			}
			if (u != pr->up)
				trace(i, j, "sweep: pair %s: %d (rx %" PRId64
				    " doubt %" PRId64 ") / %d (rx %" PRId64
				    " doubt %" PRId64 ")", u ? "up" : "down",
				    mesh_peer_is_up(a, t), a->rx_at - SIM_EPOCH,
				    a->doubt_at == 0 ? -1 : a->doubt_at -
				    SIM_EPOCH, mesh_peer_is_up(b, t), b->rx_at -
				    SIM_EPOCH, b->doubt_at == 0 ? -1 :
				    b->doubt_at - SIM_EPOCH);
			if (u)
				up++;
			else if (verbose > 1 && meas.t_mesh < 0 &&
			    now_ms % 1000 == 0)
				fprintf(stderr, "  %6.1f s: %u-%u down: %s / "
				    "%s\n", now_ms / 1000.0, i, j, a->reason,
				    b->reason);
			if (meas.in_window) {
				meas.samples++;
				if (!u)
					meas.down_samples++;
				if (pr->up && !u) {
					meas.downs++;
					pr->downs++;
				}
			}
			pr->up = u;
		}
	if (meas.t_connected < 0 && meas.ever == meas.reachable)
		meas.t_connected = now_ms;
	if (meas.t_mesh < 0 && up == meas.reachable)
		meas.t_mesh = now_ms;
	if (meas.t_99 < 0 && up * 100 >= meas.reachable * 99)
		meas.t_99 = now_ms;
	if (!meas.in_window) {
		if (meas.t_mesh >= 0 || now_ms >= SIM_CONVERGE_MAX_MS)
			window_begin();
	} else if (now_ms >= meas.window_end)
		meas.done = 1;
	if (verbose && now_ms % 10000 == 0)
		fprintf(stderr, "  %6.1f s: %" PRIu64 " of %" PRIu64
		    " reachable pairs up\n", now_ms / 1000.0, up,
		    meas.reachable);
	ev_add(now_ms + meas.sweep_ms, EV_SWEEP);
}

static void
dispatch(struct simev *ev)
{
	struct node	*n = &nodes[ev->node];
	struct simev	*next;

	/* mesh.c may change what it says of n's peers */
	if (ev->kind != EV_TIMER && ev->kind != EV_PACKET &&
	    ev->kind != EV_SWEEP)
		n->touched = 1;
	switch (ev->kind) {
	case EV_START:
		node_start(n);
		break;
	case EV_TICK:
		mesh_tick(&n->mesh, now_s());
		next = ev_add(now_ms + 1000, EV_TICK);
		next->node = n->id;
		break;
	case EV_POLL:
		parent_poll(n);
		break;
	case EV_SET_ENDPOINT:
		parent_set_endpoint(ev);
		break;
	case EV_TIMER:
		timer_fire(ev);
		break;
	case EV_PACKET:
		net_deliver(ev->pkt);
		pkt_free(ev->pkt);
		break;
	case EV_SWEEP:
		sweep();
		break;
	case EV_POKES:
		engine_pokes_due(n, ev->peer);
		break;
	case EV_RELAY_OPENED:
		relay_opened(ev);
		break;
	}
}

static void
sim_setup(const struct mix *mx, uint32_t n, uint64_t seed)
{
	struct simev	*ev;
	uint32_t	 i, j, k, npub, ncone;
	int		*kinds, t;

	if (n < 2 || n > SIM_NODES_MAX)
		errx(1, "%u nodes: between 2 and %u", n, SIM_NODES_MAX);
	nnodes = n;
	now_ms = 0;
	rng_state = seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
	if (rng_state == 0)
		rng_state = 1;
	hs_counter = sid_counter = 0;
	upmap_s = 0;
	memset(sim_pair, 0, sizeof(sim_pair));
	sim_pair[1].send_dir = 1;
	memset(&meas, 0, sizeof(meas));
	meas.t_connected = meas.t_mesh = meas.t_99 = -1;
	meas.sweep_ms = n <= 200 ? 100 : 1000;
	if ((wheel_head = calloc(WHEEL_SIZE, sizeof(*wheel_head))) == NULL ||
	    (wheel_tail = calloc(WHEEL_SIZE, sizeof(*wheel_tail))) == NULL ||
	    (nodes = calloc(n, sizeof(*nodes))) == NULL ||
	    (reports = calloc(n, sizeof(*reports))) == NULL ||
	    (upmap = calloc((size_t)n * n, 1)) == NULL ||
	    (pairs = calloc((size_t)n * n, sizeof(*pairs))) == NULL ||
	    (kinds = calloc(n, sizeof(*kinds))) == NULL)
		err(1, "setup");

	/* the kinds, in proportion, shuffled over the ids */
	npub = (n * mx->pct_public + 50) / 100;
	ncone = (n * mx->pct_cone + 50) / 100;
	if (npub + ncone > n)
		ncone = n - npub;
	for (i = 0; i < n; i++)
		kinds[i] = i < npub ? KIND_PUBLIC : i < npub + ncone ?
		    KIND_CONE : KIND_SYMMETRIC;
	for (i = n - 1; i > 0; i--) {
		k = rng_below(i + 1);
		t = kinds[i];
		kinds[i] = kinds[k];
		kinds[k] = t;
	}

	for (i = 0; i < n; i++) {
		nodes[i].id = i;
		nodes[i].kind = kinds[i];
		nodes[i].ip = (kinds[i] == KIND_PUBLIC ? SIM_PUBLIC_NET :
		    SIM_ROUTER_NET) + i + 1;
		nodes[i].next_port = 1024 + rng_below(60000);
		nodes[i].wait_hint = i;
		if ((nodes[i].links = calloc(n, sizeof(*nodes[i].links))) ==
		    NULL || (nodes[i].dirty = calloc(n,
		    sizeof(*nodes[i].dirty))) == NULL)
			err(1, "setup");
		for (j = 0; j < n; j++)
			link_reset(&nodes[i].links[j]);
		mesh_init(&nodes[i].mesh, sim_action, sim_send, &nodes[i],
		    rng_next(&rng_state));
		nodes[i].start = rng_below(SIM_START_SPREAD_MS) + 1;
		ev = ev_add(nodes[i].start, EV_START);
		ev->node = i;
	}
	if (verbose > 1)
		for (i = 0; i < n; i++)
			fprintf(stderr, "  node %u: %s\n", i,
			    kinds[i] == KIND_PUBLIC ? "public" :
			    kinds[i] == KIND_CONE ? "cone NAT" : "symmetric NAT");
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++) {
			if (kinds[i] == KIND_SYMMETRIC &&
			    kinds[j] == KIND_SYMMETRIC)
				pairs[(size_t)i * nnodes + j].relay_only = 1;
			/* relayed, every pair can connect */
			if (kinds[i] == KIND_SYMMETRIC &&
			    kinds[j] == KIND_SYMMETRIC && !relaying) {
				pairs[(size_t)i * nnodes + j].unreach = 1;
				meas.unreachable++;
			} else
				meas.reachable++;
		}
	free(kinds);
	ev_add(meas.sweep_ms, EV_SWEEP);
}

static void
sim_finish(struct result *r)
{
	struct link	*a, *b;
	struct pair	*pm;
	struct mesh_peer *p;
	uint64_t	 g_dgrams = 0, g_bytes = 0, wg_bytes = 0, punches = 0;
	uint64_t	 rx_entries = 0, refused = 0, g_relay = 0, fwd = 0;
	uint64_t	 carried = 0;
	uint32_t	 i, j, k, c, nr;
	double		 secs;

	r->reachable = meas.reachable;
	r->unreachable = meas.unreachable;
	r->t_connected = meas.t_connected;
	r->t_mesh = meas.t_mesh;
	r->t_99 = meas.t_99;
	r->window_start = meas.window_start;
	r->window_ms = meas.in_window ? now_ms - meas.window_start : 0;
	r->downs = meas.downs;
	r->keys_said = meas.keys_said;
	r->sweep_ms = meas.sweep_ms;
	r->down_frac = meas.samples > 0 ?
	    (double)meas.down_samples / meas.samples : 0;
	r->unreach_shown_frac = meas.unreach_samples > 0 ?
	    (double)meas.unreach_shown_samples / meas.unreach_samples : 0;
	r->relaying = relaying;
	r->sym_direct = meas.sym_direct;
	r->relay_leaks = meas.relay_leaks;
	for (i = 0; i < nnodes; i++) {
		g_dgrams += nodes[i].g_dgrams;
		g_bytes += nodes[i].g_bytes;
		wg_bytes += nodes[i].wg_bytes;
		punches += nodes[i].mesh.stats.punches;
		refused += nodes[i].refused;
		rx_entries += nodes[i].g_rx_entries;
		g_relay += nodes[i].g_relay_bytes;
		fwd += nodes[i].relay_fwd;
		r->relay_opens += nodes[i].relay_opens;
		if (nodes[i].kind != KIND_PUBLIC)
			r->relay_opens_nat += nodes[i].relay_opens;
		if (nodes[i].relays_peak > r->relay_peak)
			r->relay_peak = nodes[i].relays_peak;
		/* the pairs it carries at the end: both legs latched */
		for (k = 0, nr = 0; nodes[i].relays != NULL &&
		    k < RELAY_PAIRS_MAX; k++)
			if (nodes[i].relays[k].open &&
			    nodes[i].relays[k].latched[0] &&
			    nodes[i].relays[k].latched[1])
				nr++;
		if (nr > 0) {
			r->relay_nodes++;
			carried += nr;
		}
		if (nr > r->relay_max)
			r->relay_max = nr;
		/* a relay's port is never where a peer is (rule 16) */
		for (j = 0; j < nodes[i].mesh.npeers; j++) {
			p = &nodes[i].mesh.peers[j];
			for (k = 0; k < p->nobs; k++)
				r->relay_kept += relay_addr(
				    addr_ip(&p->obs[k].addr),
				    p->obs[k].addr.port);
			for (k = 0; k < p->npersisted; k++)
				r->relay_kept += relay_addr(
				    addr_ip(&p->persisted[k].addr),
				    p->persisted[k].addr.port);
			r->relay_kept += relay_addr(addr_ip(&p->learned),
			    p->learned.port);
		}
		switch (nodes[i].kind) {
		case KIND_PUBLIC:
			r->npublic++;
			break;
		case KIND_CONE:
			r->ncone++;
			break;
		default:
			r->nsym++;
			break;
		}
		for (j = i + 1; j < nnodes; j++) {
			a = &nodes[i].links[j];
			b = &nodes[j].links[i];
			pm = &pairs[(size_t)i * nnodes + j];
			c = a->ep_changes + b->ep_changes;
			if (pm->relay_only)
				r->relay_only++;
			if (!pm->unreach) {
				k = a->path_changes > b->path_changes ?
				    a->path_changes : b->path_changes;
				r->path_changes += k;
				if (k > 0)
					r->path_pairs++;
				if (k > r->path_max)
					r->path_max = k;
				if (k > 0 && verbose)
					fprintf(stderr, "  pair %u-%u: %u path "
					    "changes\n", i, j, k);
			}
			/* relayed: at a relay's port, or on a direct trial */
			if (!pm->unreach && pm->up) {
				if (a->path == PATHC_RELAY ||
				    b->path == PATHC_RELAY ||
				    nodes[i].mesh.peers[j - 1].relay_state ==
				    RELAY_END_ACTIVE ||
				    nodes[j].mesh.peers[i].relay_state ==
				    RELAY_END_ACTIVE)
					r->up_relayed++;
				else {
					r->up_direct++;
					if (pm->relay_only)
						r->relay_only_direct++;
				}
			}
			if (pm->unreach) {
				if (pm->ever)
					r->unreach_ever_up++;
				/* cut short, a node may not have started */
				if (nodes[i].mesh.npeers > 0 &&
				    nodes[j].mesh.npeers > 0 &&
				    nodes[i].mesh.peers[j - 1].state ==
				    PEER_STATE_UNREACHABLE &&
				    nodes[j].mesh.peers[i].state ==
				    PEER_STATE_UNREACHABLE)
					r->unreach_shown++;
				r->ep_unreach += c;
				if (c > r->ep_unreach_max)
					r->ep_unreach_max = c;
				continue;
			}
			if (pm->downs > 0)
				r->down_pairs++;
			if (pm->relay_only) {
				/* their trials: see path_changes */
				r->ep_relayed += c;
				continue;
			}
			if (pm->downs > 0 && verbose)
				fprintf(stderr, "  pair %u-%u went down %u "
				    "times\n", i, j, pm->downs);
			r->ep_reach += c;
			if (c > 0)
				r->ep_reach_pairs++;
			if (c > r->ep_reach_max)
				r->ep_reach_max = c;
		}
	}
	if (r->relay_nodes > 0)
		r->relay_mean = (double)carried / r->relay_nodes;
	secs = r->window_ms / 1000.0;
	if (secs > 0) {
		r->g_relay_bytes = (g_relay - meas.g_relay_bytes0) / secs /
		    nnodes;
		if (r->relay_nodes > 0)
			r->relay_fwd = (fwd - meas.relay_fwd0) / secs /
			    r->relay_nodes;
		r->g_dgrams = (g_dgrams - meas.g_dgrams0) / secs / nnodes;
		r->g_bytes = (g_bytes - meas.g_bytes0) / secs / nnodes;
		r->wg_bytes = (wg_bytes - meas.wg_bytes0) / secs / nnodes;
		r->punches = punches - meas.punches0;
		r->refused = refused - meas.refused0;
		r->refused_conv = meas.refused0;
		r->g_conv_bytes = (double)meas.g_bytes0 / nnodes;
		r->g_conv_dgrams = (double)meas.g_dgrams0 / nnodes;
		r->g_conv_entries = (double)meas.rx_entries0 / nnodes;
	} else {
		r->g_conv_bytes = (double)g_bytes / nnodes;
		r->g_conv_dgrams = (double)g_dgrams / nnodes;
		r->g_conv_entries = (double)rx_entries / nnodes;
		r->refused_conv = refused;
	}
}

static void
sim_free(void)
{
	struct simev	*ev;
	struct pkt	*pk;
	uint32_t	 i, j;
	size_t		 s;

	for (s = 0; s < WHEEL_SIZE; s++)
		while ((ev = wheel_head[s]) != NULL) {
			wheel_head[s] = ev->next;
			if (ev->kind == EV_PACKET)
				pkt_free(ev->pkt);
			free(ev);
		}
	while ((ev = ev_pool) != NULL) {
		ev_pool = ev->next;
		free(ev);
	}

	for (i = 0; i < nnodes; i++) {
		for (j = 0; j < nnodes; j++)
			wg_flush_staged(&nodes[i].links[j].wg);
		for (j = 0; j < nodes[i].mesh.npeers; j++)
			nodes[i].mesh.peers[j].pair = NULL;
		mesh_clear(&nodes[i].mesh);
		free(nodes[i].links);
		free(nodes[i].dirty);
		free(nodes[i].relays);
	}
	for (s = 0; s < PKT_CLASSES; s++)
		while ((pk = pkt_pool[s]) != NULL) {
			pkt_pool[s] = pk->next;
			free(pk);
		}
	free(nodes);
	free(reports);
	free(upmap);
	upmap = NULL;
	free(pairs);
	pairs = NULL;
	free(wheel_head);
	free(wheel_tail);
	hmap_free(&nat_fwd);
	hmap_free(&nat_rev);
	hmap_free(&nat_filter);
	nodes = NULL;
	reports = NULL;
	wheel_head = wheel_tail = NULL;
	nnodes = 0;
}

/* One run; returns -1 when the wall-time limit cut it short. */
static int
sim_run(const struct mix *mx, uint32_t n, uint64_t seed, double wall_limit,
    struct result *r)
{
	struct simev	*ev;
	size_t		 slot;
	uint64_t	 nev = 0;
	double		 t0 = wall_now();

	memset(r, 0, sizeof(*r));
	strlcpy(r->mix, mx->name, sizeof(r->mix));
	r->n = n;
	r->seed = seed;
	sim_setup(mx, n, seed);
	for (;;) {
		slot = (size_t)now_ms & WHEEL_MASK;
		while ((ev = wheel_head[slot]) != NULL) {
			if ((wheel_head[slot] = ev->next) == NULL)
				wheel_tail[slot] = NULL;
			dispatch(ev);
			ev_release(ev);
			/* one simulated millisecond may take minutes */
			if (++nev % 1024 == 0 && wall_limit > 0 &&
			    wall_now() - t0 > wall_limit) {
				r->timed_out = 1;
				goto out;
			}
		}
		if (meas.done)
			break;
		now_ms++;
	}
 out:
	r->sim_ms = now_ms;
	sim_finish(r);
	r->wall_s = wall_now() - t0;
	sim_free();
	return (r->timed_out ? -1 : 0);
}

/* A run in a child of its own, so that its peak RSS is its own. */
static void
run_forked(const struct mix *mx, uint32_t n, uint64_t seed,
    double wall_limit, struct result *r)
{
	struct rusage	 ru;
	struct result	 got;
	pid_t		 pid;
	ssize_t		 len;
	size_t		 have = 0;
	int		 fd[2], status;
	double		 t0 = wall_now();

	fflush(stdout);
	fflush(stderr);
	if (pipe(fd) == -1)
		err(1, "pipe");
	switch ((pid = fork())) {
	case -1:
		err(1, "fork");
	case 0:
		close(fd[0]);
		sim_run(mx, n, seed, wall_limit, &got);
		if (write(fd[1], &got, sizeof(got)) != sizeof(got))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	memset(&got, 0, sizeof(got));
	while (have < sizeof(got)) {
		len = read(fd[0], (char *)&got + have, sizeof(got) - have);
		if (len == -1 && errno == EINTR)
			continue;
		if (len <= 0)
			break;
		have += (size_t)len;
	}
	close(fd[0]);
	if (wait4(pid, &status, 0, &ru) == -1)
		err(1, "wait4");
	*r = got;
	if (have != sizeof(got) || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		memset(r, 0, sizeof(*r));
		strlcpy(r->mix, mx->name, sizeof(r->mix));
		r->n = n;
		r->seed = seed;
		r->failed = 1;
	}
	r->wall_s = wall_now() - t0;
	r->rss_kb = ru.ru_maxrss;
}

static const struct mix *
mix_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NMIXES; i++)
		if (strcmp(mixes[i].name, name) == 0)
			return (&mixes[i]);
	return (NULL);
}

static long long
number(const char *s, long long min, long long max, const char *what)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || v < min ||
	    v > max)
		errx(1, "%s %s: a number from %lld to %lld", what, s, min,
		    max);
	return (v);
}

static void
fmt_time(char *buf, size_t len, int64_t ms, const struct result *r)
{
	if (ms >= 0)
		snprintf(buf, len, "%.1f", ms / 1000.0);
	else if (r->timed_out)
		snprintf(buf, len, ">%.1f", r->sim_ms / 1000.0);
	else
		snprintf(buf, len, "never");
}

static void
print_header(uint64_t seed)
{
	size_t	i;

	printf("wgmeshd simulator (regress/sim/sim.c), seed %" PRIu64
	    ": one-way latency %d-%d ms, keepalive %d s,\n"
	    "NAT mappings and filters %d s, steady state over %d s after "
	    "the mesh is complete\n", seed, SIM_LATENCY_MS,
	    SIM_LATENCY_MS + SIM_JITTER_MS - 1, SIM_KEEPALIVE,
	    SIM_NAT_TIMEOUT_MS / 1000, SIM_WINDOW_MS / 1000);
	for (i = 0; i < NMIXES; i++)
		printf("  %-7s %s\n", mixes[i].name, mixes[i].desc);
	printf("Pairs that can connect directly: public-any, cone-cone, "
	    "cone-symmetric\n(address-dependent filtering); "
	    "symmetric-symmetric cannot: %s.\n", relaying ?
	    "relayed" : "-R, not relayed");
	if (keepalive_classic)
		printf("WHAT-IF (-K): received packets do not push the "
		    "persistent keepalive back.\n");

	printf("\n");
	printf("| %-15s | %5s | %8s | %-15s | %8s | %9s | %6s | %6s | "
	    "%6s | %6s | %5s | %-13s | %7s | %7s | %6s | %8s | %7s | "
	    "%7s | %7s |\n", "scenario", "N", "pairs ok", "unreach (shown)",
	    "relayed", "per relay", "99% s", "conn s", "mesh s", "flaps",
	    "path", "ep chg ok/unr", "g dgr/s", "g B/s", "rly B/s",
	    "conv KiB", "wg B/s", "wall s", "RSS MiB");
	printf("|-----------------|-------|----------|-----------------|"
	    "----------|-----------|--------|--------|--------|--------|"
	    "-------|---------------|---------|---------|--------|"
	    "----------|---------|---------|---------|\n");
}

static void
print_row(const struct result *r)
{
	char	name[32], unr[32], conn[16], mesh[16], t99[16], ep[32];
	char	flaps[24], rel[24], per[24], path[24], rb[24];
	char	dgr[24], bytes[24], wg[24];

	snprintf(name, sizeof(name), "sim-%s-%u", r->mix, r->n);
	if (r->failed) {
		printf("| %-15s | %5u | %s |\n", name, r->n,
		    "FAILED: the run did not finish");
		return;
	}
	if (r->window_ms > 0 || r->unreachable == 0)
		snprintf(unr, sizeof(unr), "%" PRIu64 " (%" PRIu64 ")",
		    r->unreachable, r->unreach_shown);
	else
		snprintf(unr, sizeof(unr), "%" PRIu64 " (-)", r->unreachable);
	if (r->relaying) {
		snprintf(rel, sizeof(rel), "%" PRIu64, r->up_relayed);
		snprintf(per, sizeof(per), "%u/%.1f", r->relay_max,
		    r->relay_mean);
	} else {
		strlcpy(rel, "-R", sizeof(rel));
		strlcpy(per, "-", sizeof(per));
	}
	fmt_time(conn, sizeof(conn), r->t_connected, r);
	fmt_time(mesh, sizeof(mesh), r->t_mesh, r);
	fmt_time(t99, sizeof(t99), r->t_99, r);
	/* no steady state to speak of when cut short before it */
	if (r->window_ms > 0) {
		snprintf(ep, sizeof(ep), "%" PRIu64 "/%" PRIu64, r->ep_reach,
		    r->ep_unreach);
		snprintf(flaps, sizeof(flaps), "%" PRIu64, r->downs);
		snprintf(dgr, sizeof(dgr), "%.2f", r->g_dgrams);
		snprintf(bytes, sizeof(bytes), "%.0f", r->g_bytes);
		snprintf(wg, sizeof(wg), "%.0f", r->wg_bytes);
		snprintf(path, sizeof(path), "%u", r->path_max);
		snprintf(rb, sizeof(rb), "%.1f", r->g_relay_bytes);
	} else {
		strlcpy(path, "-", sizeof(path));
		strlcpy(rb, "-", sizeof(rb));
		strlcpy(ep, "-", sizeof(ep));
		strlcpy(flaps, "-", sizeof(flaps));
		strlcpy(dgr, "-", sizeof(dgr));
		strlcpy(bytes, "-", sizeof(bytes));
		strlcpy(wg, "-", sizeof(wg));
	}
	printf("| %-15s | %5u | %8" PRIu64 " | %-15s | %8s | %9s | %6s | "
	    "%6s | %6s | %6s | %5s | %-13s | %7s | %7s | %6s | %8.1f | %7s | "
	    "%7.1f | %7.0f |\n", name, r->n, r->reachable, unr, rel, per,
	    t99, conn, mesh, flaps, path, ep, dgr, bytes, rb,
	    r->g_conv_bytes / 1024, wg, r->wall_s, r->rss_kb / 1024.0);
}

static void
print_bench(const struct result *r)
{
	char	name[32];

	snprintf(name, sizeof(name), "sim-%s-%u", r->mix, r->n);
	if (r->failed)
		return;
	if (r->t_mesh >= 0)
		printf("BENCH %s time_to_mesh_s %.1f\n", name,
		    r->t_mesh / 1000.0);
	if (r->t_connected >= 0)
		printf("BENCH %s time_all_connected_s %.1f\n", name,
		    r->t_connected / 1000.0);
	if (r->t_99 >= 0)
		printf("BENCH %s time_99pct_up_s %.1f\n", name,
		    r->t_99 / 1000.0);
	printf("BENCH %s pairs_reachable %" PRIu64 "\n", name, r->reachable);
	if (r->relaying) {
		printf("BENCH %s pairs_relay_only %" PRIu64 "\n", name,
		    r->relay_only);
		printf("BENCH %s pairs_up_direct %" PRIu64 "\n", name,
		    r->up_direct);
		printf("BENCH %s pairs_up_relayed %" PRIu64 "\n", name,
		    r->up_relayed);
		printf("BENCH %s relay_nodes %u\n", name, r->relay_nodes);
		printf("BENCH %s relay_pairs_max_per_node %u\n", name,
		    r->relay_max);
		printf("BENCH %s relay_pairs_mean_per_node %.1f\n", name,
		    r->relay_mean);
		printf("BENCH %s relay_pairs_peak_per_node %u\n", name,
		    r->relay_peak);
		printf("BENCH %s relay_opens %" PRIu64 "\n", name,
		    r->relay_opens);
		printf("BENCH %s relay_opens_behind_nat %" PRIu64 "\n", name,
		    r->relay_opens_nat);
		printf("BENCH %s relay_ports_gossiped %" PRIu64 "\n", name,
		    r->relay_leaks);
		printf("BENCH %s relay_ports_kept %" PRIu64 "\n", name,
		    r->relay_kept);
		printf("BENCH %s relay_only_up_direct %" PRIu64 "\n", name,
		    r->relay_only_direct);
		printf("BENCH %s symmetric_direct_packets %" PRIu64 "\n",
		    name, r->sym_direct);
	}
	printf("BENCH %s pairs_unreachable %" PRIu64 "\n", name,
	    r->unreachable);
	printf("BENCH %s unreachable_shown %" PRIu64 "\n", name,
	    r->unreach_shown);
	if (r->window_ms > 0) {
		printf("BENCH %s flaps %" PRIu64 "\n", name, r->downs);
		printf("BENCH %s flapping_pairs %" PRIu64 "\n", name,
		    r->down_pairs);
		printf("BENCH %s endpoint_changes %" PRIu64 "\n", name,
		    r->ep_reach);
		printf("BENCH %s endpoint_changes_unreachable %" PRIu64 "\n",
		    name, r->ep_unreach);
		printf("BENCH %s gossip_dgrams_per_node_s %.3f\n", name,
		    r->g_dgrams);
		printf("BENCH %s gossip_bytes_per_node_s %.1f\n", name,
		    r->g_bytes);
		printf("BENCH %s wg_bytes_per_node_s %.1f\n", name,
		    r->wg_bytes);
		printf("BENCH %s path_changes %" PRIu64 "\n", name,
		    r->path_changes);
		printf("BENCH %s path_changing_pairs %" PRIu64 "\n", name,
		    r->path_pairs);
		if (r->relaying)
			printf("BENCH %s endpoint_changes_relay_only %" PRIu64
			    "\n", name, r->ep_relayed);
		printf("BENCH %s path_changes_max_per_pair %u\n", name,
		    r->path_max);
		if (r->relaying) {
			printf("BENCH %s relay_gossip_bytes_per_node_s %.1f\n",
			    name, r->g_relay_bytes);
			printf("BENCH %s relay_dgrams_per_relay_s %.1f\n",
			    name, r->relay_fwd);
		}
	}
	printf("BENCH %s converge_gossip_kib_per_node %.1f\n", name,
	    r->g_conv_bytes / 1024);
	printf("BENCH %s converge_gossip_dgrams_per_node %.0f\n", name,
	    r->g_conv_dgrams);
	printf("BENCH %s converge_entries_received_per_node %.0f\n", name,
	    r->g_conv_entries);
	if (r->window_ms > 0)
		printf("BENCH %s punches %" PRIu64 "\n", name, r->punches);
	if (r->window_ms > 0)
		printf("BENCH %s responses_refused %" PRIu64 "\n", name,
		    r->refused);
	printf("BENCH %s converge_responses_refused %" PRIu64 "\n", name,
	    r->refused_conv);
	printf("BENCH %s wall_s %.2f\n", name, r->wall_s);
	printf("BENCH %s rss_kb %ld\n", name, r->rss_kb);
	if (r->timed_out) {
		printf("BENCH %s timed_out 1\n", name);
		printf("BENCH %s simulated_s %.3f\n", name, r->sim_ms / 1000.0);
	}
}

/*
 * A check that mesh.c does not pass yet: an XFAIL line, not a failure, so
 * that make check stays usable and still shows it; once it holds, XPASS
 * counts as a failure, to have it turned back into a CHECK.
 */
#define KNOWN(cond, why, ...) do {					\
	if (cond) {							\
		regress_failed++;					\
		printf("XPASS %s:%d: %s: holds now; make it a CHECK "	\
		    "again\n", __FILE__, __LINE__, #cond);		\
	} else {							\
		printf("XFAIL (%s) ", (why));				\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

/*
 * What mesh.c does not do yet, as the simulator shows it (regress/sim/sim
 * -t A,B traces a pair, its relay and trial messages included):
 * SYMMETRIC: with relaying off (-R, relay-use no), two peers behind
 *   symmetric NAT cannot connect, but each round tries every port the
 *   others saw, each set again every second and each time making the
 *   peer anew: many more endpoint changes than a round every
 *   MESH_BACKOFF_MAX_SECONDS.
 * RELAY_PICK: mesh_relay_pick() asks only nodes among the peer's
 *   MESH_MAX_OBS reporters; when none of them is public, every one asked
 *   is behind NAT and answers NOT_OFFERED, each skipped for
 *   MESH_RELAY_REFUSED_SECONDS, and the round starts again: at N = 40,
 *   pairs wait minutes for a relay (mixed-40, seeds 1 to 5: 34-195 s).
 * RELAY_LEAK: a relay's port goes out in gossip as where a peer is
 *   observed: mesh_rx_punch_request() answers with the device's endpoint
 *   of a peer relayed here, and a peer whose relaying was dropped while
 *   the device stays at the relay's port (origin no longer ORIGIN_RELAY)
 *   is pushed as observed there.
 * RELAY_AUTO: relay-offer auto offers while no peer has told this node
 *   where it sees it (mesh_relay_offered(): no evidence of a NAT is taken
 *   as none): a node behind NAT asked in the first seconds opens ports
 *   its router does not forward, and the pair waits
 *   MESH_RELAY_PROVE_SECONDS for another relay (mixed-40, seed 5).
 * TRIALS: when both ends of a relayed pair start a direct trial at
 *   about the same moment, the endpoints flip between the relay's port
 *   and the candidates in the first second, before both PAUSEs are in
 *   at the relay: more path changes than rule 17's doubling schedule
 *   allows at N = 40 (the pairs stay up).  (Found and fixed here
 *   before: trials on every new port of a NAT that maps anew, one-sided
 *   trials, a PAUSE overtaking its ACK, bytes through the relay taken
 *   as a direct path; RELAY_PICK, RELAY_LEAK and RELAY_AUTO, below,
 *   hold now and are CHECKs.)
 */
#define SYMMETRIC	"mesh.c: symmetric pairs tried too often"
#define TRIALS		"mesh.c: endpoints flip while crossed trials start"

/* Within 10 s, the issue's target: see self_check(). */
#define CHECK_RELAYED_MS	10000

/*
 * The path changes (relay <-> direct, at one end) that rule 17's schedule
 * allows a relayed pair in w seconds: two a trial (there and back), the
 * first at the start of the window at worst, each next one
 * MESH_TRIAL_FIRST_SECONDS doubled per failed trial after the last one
 * ended.
 */
static uint32_t
trial_changes_allowed(int64_t w)
{
	int64_t		t = 0, wait;
	uint32_t	n = 0;

	while (t < w) {
		n++;
		wait = (int64_t)MESH_TRIAL_FIRST_SECONDS << (n < 7 ? n : 7);
		if (wait > MESH_TRIAL_MAX_SECONDS)
			wait = MESH_TRIAL_MAX_SECONDS;
		t += MESH_TRIAL_SECONDS + wait;
	}
	return (2 * n);
}

/*
 * A relaying run's checks, every pair counted: the model holds (no
 * packet between two symmetric NATs directly), every pair can come up,
 * none that no direct path serves is up direct.  Whether all are up at
 * the end: all_up().
 */
static void
check_relayed(const struct result *r, const char *what)
{
	uint64_t	npairs = (uint64_t)r->n * (r->n - 1) / 2;

	CHECK(r->sym_direct == 0, "%s: %" PRIu64 " packets between two "
	    "symmetric NATs got through: the model is broken", what,
	    r->sym_direct);
	CHECK(r->reachable == npairs && r->unreachable == 0, "%s: pairs: %"
	    PRIu64 " reachable, %" PRIu64 " not", what, r->reachable,
	    r->unreachable);
	CHECK(r->window_ms == SIM_WINDOW_MS, "%s: window %" PRId64 " ms",
	    what, r->window_ms);
	CHECK(r->relay_only_direct == 0, "%s: %" PRIu64 " pairs up direct "
	    "that no direct path serves", what, r->relay_only_direct);
}

/* Every pair up at the end, those that need it relayed. */
static int
all_up(const struct result *r)
{
	return (r->up_direct + r->up_relayed == (uint64_t)r->n *
	    (r->n - 1) / 2 && r->up_relayed >= r->relay_only);
}

/*
 * make check: ten nodes through both kinds of NAT reach a full mesh,
 * the pair of symmetric NATs relayed, within CHECK_RELAYED_MS, stay
 * there without flapping, never gossip a relay's port, and gossip
 * little; ten public nodes do so within the lab's target; then the
 * first again with keepalives that received packets do not push back
 * (-K), and with relaying off (-R: the pair shown unreachable); forty
 * nodes, three seeds; ten public nodes, seeds 2 to 8.
 *
 * CHECK_RELAYED_MS is the issue's target (mixed-1000 up within 10 s).
 * Rule 14 relays a pair MESH_RELAY_EVIDENCE_SECONDS (2 s) after it went
 * down when both NATs are seen to map anew, MESH_RELAY_AFTER_SECONDS
 * (6 s) otherwise; then REQUEST, ASK, ANSWER take a few round trips of
 * 20-25 ms and the handshake through the relay one more.  Measured
 * (seeds 1 to 5): 2.5-3.2 s at N = 10; at N = 40, 3.0-3.5 s with the
 * fixes proposed for RELAY_PICK, RELAY_LEAK, RELAY_AUTO and TRIALS
 * (34-195 s without).
 */
static int
self_check(void)
{
	struct result	 r;
	const struct mix *mx;
	uint64_t	 seed, leaks, downs, nat;
	uint32_t	 allowed = trial_changes_allowed(SIM_WINDOW_MS / 1000);
	uint32_t	 pmax;
	int64_t		 tmax;
	int		 i;

	for (i = 0; i < 4; i++) {
		mx = mix_find(i == 1 ? "public" : "mixed");
		keepalive_classic = i == 2;
		relaying = i != 3;
		TEST(keepalive_classic ? "-K, keepalives not pushed back by "
		    "packets received" : !relaying ? "-R, relaying off: "
		    "20% public, 60% cone, 20% symmetric" : mx->desc);
		if (sim_run(mx, 10, 1, 60.0, &r) == -1) {
			CHECK(0, "%s: over 60 s of wall time", mx->name);
			continue;
		}
		if (relaying) {
			check_relayed(&r, mx->name);
			CHECK(all_up(&r), "%s: %" PRIu64 " pairs up direct, %"
			    PRIu64 " relayed (%" PRIu64 " need it) at the end",
			    mx->name, r.up_direct, r.up_relayed, r.relay_only);
		} else {
			CHECK(r.unreach_ever_up == 0, "%" PRIu64 " symmetric "
			    "pairs up: the model is broken", r.unreach_ever_up);
			CHECK(r.reachable == 44 && r.unreachable == 1,
			    "pairs: %" PRIu64 " reachable, %" PRIu64
			    " not", r.reachable, r.unreachable);
		}
		/* crossed initiations cost WireGuard's 5 s REKEY_TIMEOUT */
		CHECK(r.t_mesh >= 0 && r.t_mesh <= (relaying ?
		    CHECK_RELAYED_MS : 15000), "%s: mesh complete after %"
		    PRId64 " ms", mx->name, r.t_mesh);
		/*
		 * The lab's target is 2 s with under 1 ms of latency; with
		 * 10 ms, initiations that cross at a start are common, and
		 * the end with the smaller key ends a crossing within 2 s
		 * (device_set_endpoint()), not WireGuard's 5 s.
		 */
		if (mx->pct_public == 100)
			CHECK(r.t_mesh >= 0 && r.t_mesh <= 4000,
			    "%s: mesh complete after %" PRId64 " ms, %" PRIu64
			    " handshake responses refused", mx->name, r.t_mesh,
			    r.refused_conv);
		CHECK(r.window_ms == SIM_WINDOW_MS, "window %" PRId64 " ms",
		    r.window_ms);
		CHECK(r.keys_said == 0, "%s: keys said to differ (they do "
		    "not) in %" PRIu64 " samples", mx->name, r.keys_said);
		CHECK(r.ep_reach == 0, "%s: %" PRIu64 " endpoint changes on "
		    "pairs that are up (direct)", mx->name, r.ep_reach);
		CHECK(r.downs == 0, "%s: %" PRIu64 " times a pair went down "
		    "in %d s (%" PRIu64 " of %" PRIu64 " pairs)", mx->name,
		    r.downs, SIM_WINDOW_MS / 1000, r.down_pairs, r.reachable);
		if (r.nsym == 0) {
			/*
			 * About 0.29 datagrams per node per second: 48 bytes
			 * with gossip version 1, 53 with version 2's 15 more
			 * bytes of nonce prefix in each header.
			 */
			CHECK(r.g_bytes <= 55, "%s: %.0f gossip bytes per node "
			    "per second", mx->name, r.g_bytes);
		} else {
			/*
			 * Symmetric peers are asked (ALIVE) more often; a
			 * relayed pair's two ends ask their relay every
			 * MESH_RELAY_REFRESH_SECONDS (17 B/node/s of 71-73
			 * at N = 10, seeds 1 to 5).
			 */
			CHECK(r.g_bytes <= 100, "%s: %.0f gossip bytes per node "
			    "per second (relay messages %.0f)", mx->name,
			    r.g_bytes, r.g_relay_bytes);
		}
		if (relaying) {
			CHECK(r.relay_opens_nat == 0, "%s: %" PRIu64 " pairs "
			    "opened by relays behind NAT", mx->name,
			    r.relay_opens_nat);
			CHECK(r.relay_leaks == 0 && r.relay_kept == 0, "%s: "
			    "relay ports: %" PRIu64 " gossiped, %" PRIu64
			    " kept as a peer's place", mx->name, r.relay_leaks,
			    r.relay_kept);
			if (r.relay_only == 0)
				CHECK(r.path_max == 0, "%s: %u path changes",
				    mx->name, r.path_max);
			else
			CHECK(r.path_max <= allowed, "%s%s: a relayed "
			    "pair changed path %u times in %d s, rule 17's "
			    "schedule allows %u", mx->name, keepalive_classic ?
			    " -K" : "", r.path_max, SIM_WINDOW_MS / 1000,
			    allowed);
		}
		if (r.unreachable == 0)
			continue;
		/* a round of tries every MESH_BACKOFF_MAX_SECONDS at most */
		KNOWN(r.unreach_shown == r.unreachable &&
		    r.unreach_shown_frac >= 0.9 &&
		    r.ep_unreach <= 8 * r.unreachable, SYMMETRIC,
		    "%s -R: %" PRIu64 " of %" PRIu64 " unreachable pairs shown "
		    "so at the end, %.0f%% of the time, %" PRIu64 " endpoint "
		    "changes", mx->name, r.unreach_shown, r.unreachable,
		    100 * r.unreach_shown_frac, r.ep_unreach);
	}
	keepalive_classic = 0;
	relaying = 1;

	/*
	 * Forty nodes, 28 pairs of symmetric NATs among 780: relays
	 * chosen among 8 public nodes.
	 */
	TEST("relayed: mixed, N = 40, seeds 1 to 5");
	mx = mix_find("mixed");
	leaks = downs = nat = 0;
	pmax = 0;
	tmax = 0;
	for (seed = 1; seed <= 5; seed++) {
		if (sim_run(mx, 40, seed, 60.0, &r) == -1) {
			CHECK(0, "seed %" PRIu64 ": over 60 s of wall time",
			    seed);
			continue;
		}
		check_relayed(&r, "mixed-40");
		CHECK(r.ep_reach == 0, "seed %" PRIu64 ": %" PRIu64 " endpoint "
		    "changes on pairs up directly", seed, r.ep_reach);
		leaks += r.relay_leaks + r.relay_kept;
		nat += r.relay_opens_nat;
		downs += r.downs + !all_up(&r);
		if (r.path_max > pmax)
			pmax = r.path_max;
		if (r.t_mesh < 0 || r.t_mesh > tmax)
			tmax = r.t_mesh < 0 ? INT64_MAX : r.t_mesh;
	}
	CHECK(tmax <= CHECK_RELAYED_MS, "mixed-40: every pair "
	    "up after %.1f s at most (seeds 1 to 5)", tmax == INT64_MAX ?
	    -1.0 : tmax / 1000.0);
	CHECK(leaks == 0, "mixed-40: %" PRIu64 " relay ports "
	    "gossiped or kept (seeds 1 to 5)", leaks);
	CHECK(nat == 0, "mixed-40: %" PRIu64 " pairs opened "
	    "by relays behind NAT (seeds 1 to 5)", nat);
	KNOWN(downs == 0 && pmax <= allowed, TRIALS, "mixed-40: %" PRIu64
	    " times a pair went down (or was down at the end), a pair "
	    "changed path %u times in %d s (schedule: %u)", downs, pmax,
	    SIM_WINDOW_MS / 1000, allowed);

	/* crossings at a start, with other seeds: none costs 5 s */
	TEST("all public, seeds 2 to 8: no pair waits for REKEY_TIMEOUT");
	mx = mix_find("public");
	for (seed = 2; seed <= 8; seed++) {
		if (sim_run(mx, 10, seed, 60.0, &r) == -1) {
			CHECK(0, "seed %" PRIu64 ": over 60 s of wall time",
			    seed);
			continue;
		}
		CHECK(r.t_mesh >= 0 && r.t_mesh <= 4000, "seed %" PRIu64
		    ": mesh complete after %" PRId64 " ms, %" PRIu64
		    " handshake responses refused", seed, r.t_mesh,
		    r.refused_conv);
	}
	return (regress_end());
}

int
main(int argc, char *argv[])
{
	struct result	 *rs;
	const struct mix *mx = NULL;
	char		 *sizes = NULL, *s, *tok;
	uint32_t	  size[16], nsize = 0, one = 0;
	uint64_t	  seed = 1;
	double		  wall_limit = SIM_WALL_LIMIT;
	size_t		  i, k, nr = 0;
	int		  ch, check = 0;

	while ((ch = getopt(argc, argv, "cKm:N:n:Rs:T:t:v")) != -1) {
		switch (ch) {
		case 't':
			if (sscanf(optarg, "%" SCNd64 ",%" SCNd64, &trace_a,
			    &trace_b) != 2)
				errx(1, "-t %s: two node ids, A,B", optarg);
			break;
		case 'c':
			check = 1;
			break;
		case 'K':
			keepalive_classic = 1;
			break;
		case 'R':
			relaying = 0;
			break;
		case 'm':
			if ((mx = mix_find(optarg)) == NULL)
				errx(1, "mix %s: public, mixed or cone",
				    optarg);
			break;
		case 'N':
			sizes = optarg;
			break;
		case 'n':
			one = number(optarg, 2, SIM_NODES_MAX, "-n");
			break;
		case 's':
			seed = number(optarg, 0, INT64_MAX, "-s");
			break;
		case 'T':
			wall_limit = number(optarg, 0, 86400, "-T");
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	if (check)
		return (self_check());

	if (one != 0)
		size[nsize++] = one;
	else if (sizes != NULL) {
		if ((s = strdup(sizes)) == NULL)
			err(1, NULL);
		for (tok = strtok(s, ","); tok != NULL;
		    tok = strtok(NULL, ",")) {
			if (nsize == sizeof(size) / sizeof(size[0]))
				errx(1, "-N: too many sizes");
			size[nsize++] = number(tok, 2, SIM_NODES_MAX, "-N");
		}
		free(s);
	} else {
		size[nsize++] = 10;
		size[nsize++] = 100;
		size[nsize++] = 1000;
	}
	if ((rs = calloc(NMIXES * nsize, sizeof(*rs))) == NULL)
		err(1, NULL);
	print_header(seed);
	for (i = 0; i < NMIXES; i++) {
		if (mx != NULL && mx != &mixes[i])
			continue;
		for (k = 0; k < nsize; k++) {
			run_forked(&mixes[i], size[k], seed, wall_limit,
			    &rs[nr]);
			print_row(&rs[nr]);
			nr++;
		}
	}
	printf("\n");
	fputs("pairs ok: pairs that can connect (relayed: all of them); "
	    "unreach (shown): pairs\nthat cannot (-R), and how many of "
	    "them both ends show as UNREACHABLE at the end;\nrelayed: pairs "
	    "up through a relay at the end; per relay: pairs one relay\n"
	    "carries at the end, most/mean of the relays carrying any; 99% "
	    "s: 99% of the\npairs that can connect are up; conn s: every one "
	    "of them has been up; mesh s:\nall of them up at once; flaps: a "
	    "pair going down in the steady state; path:\nmost relay <-> "
	    "direct changes of one pair in the steady state; ep chg: "
	    "endpoint\nchanges in the steady state (pairs ok, the relayed "
	    "ones' trials apart/-R\nunreachable); g dgr/s, g B/s: gossip "
	    "datagrams and bytes (sealed, in the tunnel,\nwith WireGuard's "
	    "overhead) per node per second in the steady state; rly B/s:\n"
	    "the relay and trial messages among them; conv KiB: gossip per "
	    "node until then;\nwg B/s: WireGuard's own traffic (handshakes, "
	    "keepalives, pokes) per node per\nsecond.  >T: cut short by the "
	    "wall-time limit (-T) after T simulated seconds.\n\n", stdout);
	for (i = 0; i < nr; i++)
		print_bench(&rs[i]);
	free(rs);
	return (0);
}
