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
 * The engine: which endpoint next and gossip (mesh.c, with no I/O), LAN
 * discovery (lan.c), UPnP (upnp.c, and its worker process), the control
 * socket (control.c) and the engine's state (engine.c).
 */

#ifndef ENGINE_H
#define ENGINE_H

#include <sys/types.h>

#include <netinet/in.h>
#include <stdint.h>

#include "imsg.h"
#include "proto.h"
#include "util.h"

struct event;
struct event_base;
struct gossip_pair;

/* mesh.c: endpoint choice and gossip, with no I/O (see its top comment) */
#define MESH_MAX_CANDIDATES	8	/* from the configuration */
#define MESH_MAX_OBS		4	/* gossiped, per peer (mesh_obs_add()) */
#define MESH_MAX_PERSISTED	2	/* from the state file, per peer */
#define MESH_MAX_TRY		(MESH_MAX_CANDIDATES + MESH_MAX_OBS + \
				    MESH_MAX_PERSISTED + 1)
#define MESH_TRY_SECONDS	5	/* per candidate */
#define MESH_IDENTITY_RETRY_SECONDS 5	/* an identity request unanswered, */
#define MESH_IDENTITY_MAX_SECONDS 300	/* doubled up to this */
#define MESH_PUNCH_SECONDS	1	/* between two urgent tries */
#define MESH_BACKOFF_MAX_SECONDS 300	/* the longest pause after a round */
#define MESH_OBS_MAX_AGE_SECONDS 600	/* gossip older than this is dropped */
#define MESH_OBS_FUTURE_SECONDS	300	/* clock skew tolerated (as now) */
#define MESH_ANTI_ENTROPY_SECONDS 30	/* between two full tables */
#define MESH_TABLES_PER_SECOND	8	/* whole tables, to peers that came up */
#define MESH_PUSH_ALL		32	/* up peers a change goes to, all of */
#define MESH_FANOUT_EXTRA	4	/* them; more: log2(up) + this of them */
#define MESH_SILENCE_MARGIN_SECONDS 3	/* past the keepalive: path lost */
#define MESH_ALIVE_GRACE_SECONDS 2	/* for an answer once in doubt */
#define MESH_LAN_FRESH_SECONDS	60	/* a LAN answer stays good */
#define MESH_LAN_RETRY_SECONDS	300	/* before a LAN that failed again */
#define MESH_LAN_TRIAL_SECONDS	10	/* an up peer is tried on a LAN */
#define MESH_UPNP_WAIT_SECONDS	20	/* a peer may take to come through it */
#define MESH_RELAY_AFTER_SECONDS 6	/* not up so long: relayed (rule 14) */
#define MESH_RELAY_EVIDENCE_SECONDS 2	/* at the least, evidence or not */
#define MESH_RELAY_REFRESH_SECONDS 4	/* an end asks its relay again */
#define MESH_RELAY_LOST_SECONDS	10	/* no answer so long: relay lost */
#define MESH_RELAY_WANT_SECONDS	12	/* a relay keeps a pair asked for */
#define MESH_RELAY_PROVE_SECONDS 8	/* a port given must carry a handshake */
#define MESH_RELAY_REFUSED_SECONDS 60	/* a relay that said no is skipped */
#define MESH_RELAY_FAILED_SECONDS 300	/* one that carried nothing */
#define MESH_RELAY_PAIRS_MAX	RELAY_PAIRS_MAX	/* pairs a node relays */
#define MESH_TRIAL_SECONDS	8	/* a relayed pair tried directly */
#define MESH_TRIAL_STEP_SECONDS	4	/* per candidate in a trial */
#define MESH_TRIAL_PAUSED_SECONDS 2	/* both ends' PAUSE are in by then */
#define MESH_TRIAL_FIRST_SECONDS 40	/* the first, after relaying; doubled */
#define MESH_TRIAL_MAX_SECONDS	3600	/* per failed trial, up to this */
#define MESH_TRIAL_GAP_SECONDS	35	/* after a trial: its connection-
					   tracking entries are gone */
#define MESH_KEYS_EVIDENCE_SECONDS 8	/* its handshake came, none completed
					   since: over one WireGuard retry */
#define MESH_KEYS_STALE_SECONDS	600	/* that evidence, unrenewed, holds */

enum mesh_action {
	MESH_ACTION_SET_ENDPOINT,	/* ask the parent to set it */
	MESH_ACTION_POKE,		/* send the peer something, so that
					   WireGuard makes a handshake */
	MESH_ACTION_POKE_SOON,		/* the same, in MESH_POKE_DELAY_MS */
};

/* What the engine asks of the relay process for a pair (mesh_relay_cb). */
enum mesh_relay_op {
	MESH_RELAY_OPEN,	/* a port for each end */
	MESH_RELAY_PAUSE,	/* drop the pair's datagrams for a while */
	MESH_RELAY_CLOSE,	/* the ports go */
};

/* An end's relaying of a peer (rules 14 to 18 atop mesh.c). */
enum mesh_relay_end {
	RELAY_END_NONE,		/* direct, or nothing */
	RELAY_END_ASKING,	/* a relay asked, no port yet */
	RELAY_END_ACTIVE,	/* set to the relay's port */
};

/* A pair this node relays. */
struct mesh_relay {
	uint32_t		 id;		/* its index in mesh.relays */
	uint32_t		 iface;
	uint32_t		 end[2];	/* peer indexes */
	int64_t			 want_at[2];	/* each end's last RELAY_REQUEST */
	int64_t			 asked_at;	/* last RELAY_ASK sent */
	uint8_t			 used;
	uint8_t			 open;		/* 1: asked, 2: ports given */
	uint16_t		 port[2];
};
#define MESH_POKE_DELAY_MS	200

/* An endpoint another node told us about. */
struct mesh_obs {
	struct imsg_addr	 addr;
	int64_t			 observed;	/* reporter's realtime s, <= ours */
	uint8_t			 origin;	/* enum endpoint_origin */
	uint8_t			 firsthand;	/* the reporter's own view */
	uint8_t			 pad[2];
	uint32_t		 reporter;	/* its index in mesh.peers */
};

struct mesh_peer {
	uint32_t		 iface;
	uint32_t		 index;
	char			 name[NODE_NAME_MAX];
	uint8_t			 public_key[WG_KEY_LEN];
	uint8_t			 address[16];
	uint8_t			 control[16];	/* address_control(): gossip's */
	uint16_t		 keepalive;
	uint16_t		 keepalive_set;	/* last asked of the parent */
	uint8_t			 starts_later;	/* our key is the larger */
	struct gossip_pair	*pair;		/* the engine's; NULL: none */
	struct imsg_addr	 cand[MESH_MAX_CANDIDATES];
	uint8_t			 cand_origin[MESH_MAX_CANDIDATES];
	size_t			 ncand;
	struct mesh_obs		 obs[MESH_MAX_OBS];
	size_t			 nobs;
	struct mesh_obs		 persisted[MESH_MAX_PERSISTED];
	size_t			 npersisted;
	struct imsg_device_peer	 device;	/* the device's view */
	int			 device_known;	/* device reported once */
	/* what wgmeshctl shows: mesh_device_totals() */
	uint64_t		 rx_total;	/* never go back when the */
	uint64_t		 tx_total;	/* device's counters restart */
	uint64_t		 endpoint_changes;
	int64_t			 rx_at;		/* rx_bytes grew, or gossip came */
	int64_t			 alive_at;	/* last ALIVE sent */
	int64_t			 doubt_at;	/* news that it moved */
	struct imsg_addr	 learned;	/* last endpoint while up */
	int64_t			 learned_at;
	uint8_t			 origin;	/* of device.endpoint */
	enum peer_state		 state;
	char			 reason[96];
	/* the round being tried: built when it starts */
	struct imsg_addr	 try[MESH_MAX_TRY];
	uint8_t			 try_origin[MESH_MAX_TRY];
	size_t			 ntry;
	size_t			 next;		/* next candidate to try */
	struct imsg_addr	 trying;	/* the one being tried */
	uint8_t			 trying_origin;
	int			 poke_pending;	/* when the device has it */
	int64_t			 set_at;	/* when it was set */
	int64_t			 try_until;
	int64_t			 retry_at;
	unsigned int		 failures;	/* rounds without success */
	/* gossip */
	int			 was_up;
	int			 dirty;		/* push our view of it */
	int			 send_table;	/* send it everything we know */
	int			 forward;	/* pass fwd on, once */
	struct mesh_obs		 fwd;		/* news of it from another node */
	int64_t			 punch_at;	/* last urgent try */
	int64_t			 punch_asked_at; /* last PUNCH_REQUEST sent */
	int64_t			 punch_fwd_at;	/* last PUNCH forwarded for it */
	/* LAN discovery */
	struct imsg_addr	 lan;		/* answered our challenge */
	int64_t			 lan_at;	/* when it last did */
	int64_t			 lan_moved_at;	/* on trial there while up */
	struct imsg_addr	 lan_prev;	/* where it was up before */
	uint8_t			 lan_prev_origin;
	int			 lan_based;	/* the device showed it there, */
	uint64_t		 lan_rx_base;	/* with so many bytes received */
	int64_t			 lan_failed_at;	/* and it went down there */
	uint8_t			 lan_nonce[16];	/* GOSSIP_PING_NONCE_LEN */
	struct imsg_addr	 lan_ping_to;	/* the challenge outstanding */
	int64_t			 lan_ping_at;
	int64_t			 upnp_wait_at;	/* waiting for it to come */
	/* relaying, as an end (rules 14 to 18) */
	uint8_t			 relay_use;	/* we let it be relayed */
	uint8_t			 relay_state;	/* enum mesh_relay_end */
	uint32_t		 relay_via;	/* the relay's index */
	struct imsg_addr	 relay_ep;	/* the relay's port for it */
	int64_t			 down_since;	/* not up since; 0: up */
	int64_t			 relay_asked_at; /* last RELAY_REQUEST */
	int64_t			 relay_answer_at; /* last answer that holds */
	int64_t			 relay_set_at;	/* the port first given */
	int64_t			 relay_reset_at; /* device set back to it */
	char			 relay_why[64];
	int64_t			 trial_at;	/* a direct trial since */
	int64_t			 trial_next_at;
	int64_t			 trial_end_at;	/* the last one ended */
	unsigned int		 trials;	/* failed ones, in a row */
	int			 trial_news;	/* news worth a trial */
	uint16_t		 trial_port;	/* its listen port, its TRIAL said */
	int			 trial_pause_owed; /* ACKed: PAUSE at the next step */
	int64_t			 trial_ack_at;	/* an ALIVE answered in the trial */
	struct imsg_addr	 relay_ep_gone;	/* the last relay's port for it */
	int64_t			 trial_asked_at; /* our START, unanswered */
	struct imsg_addr	 trial_try[3];	/* what a trial tries, in turn */
	uint8_t			 trial_origin[3];
	size_t			 ntrial;
	uint32_t		 relay_notup_via; /* a relay not up with it */
	int64_t			 relay_notup_at;
	/* as a relay for us */
	int64_t			 relay_refused_at;
	int64_t			 relay_failed_at;
	uint8_t			 path_logged;	/* engine.c: the path last logged */
	uint32_t		 via_logged;
	/* why it is not up (mesh_why()) */
	int64_t			 hs_rx_first;	/* bytes from it, no handshake */
	int64_t			 hs_rx_last;	/* fresh: first and last seen */
	uint64_t		 round_rx;	/* rx_total when the round began */
	int			 keys_told;	/* our initiation sent since */
	char			 resolve_error[96]; /* its name's, "": none */
	/* where this peer sees us (the entry for our key in its table) */
	struct imsg_addr	 sees_us;
	int64_t			 sees_us_at;
	/* peerlog.c: what the log and wgmeshctl were told of it */
	int			 log_known;	/* its first state noted */
	enum peer_state		 log_state;	/* the last one noted */
	enum peer_state		 log_reported;	/* the last one said */
	enum peer_state		 log_previous;	/* the one said before */
	char			 log_reason[96]; /* the last one logged */
	int64_t			 state_since;	/* realtime s, last news */
	int64_t			 up_since;	/* realtime s; 0: not up */
	uint32_t		 flaps;		/* times up, then not */
	/*
	 * Identity (identity.c, mesh_identity_*()): what is routed to it
	 * here (its allowed-ips, the first IMSG_PREFIXES_MAX), whether its
	 * own identity came since our last configuration, and how it
	 * disagrees with ours ("": it agrees, or it has not said).
	 */
	struct imsg_prefix	 allowed[IMSG_PREFIXES_MAX];
	uint8_t			 nallowed;
	uint8_t			 allowed_more;
	uint8_t			 identity_known;
	int64_t			 identity_sent_at;	/* our last request */
	unsigned int		 identity_tries;	/* unanswered */
	int64_t			 identity_answered_at;
	char			 mismatch[96];
};

typedef void (*mesh_action_cb)(enum mesh_action, struct mesh_peer *,
    const struct imsg_set_endpoint *, void *);
typedef void (*mesh_send_cb)(struct mesh_peer *, uint8_t, const uint8_t *,
    size_t, void *);
typedef void (*mesh_relay_cb)(enum mesh_relay_op, const struct mesh_relay *,
    const struct mesh_peer *, const struct mesh_peer *, void *);

/* What an interface lets relaying do (from struct imsg_iface). */
struct mesh_iface {
	uint32_t		 iface;
	uint16_t		 listen_port;
	uint8_t			 relay_offer;	/* enum relay_offer */
	uint8_t			 relay_use;
	uint8_t			 public_key[WG_KEY_LEN];	/* ours */
	/* what this node tells its peers of itself (identity.c) */
	char			 name[IMSG_NAME_MAX];
	struct imsg_prefix	 addresses[IMSG_PREFIXES_MAX];
	uint8_t			 naddresses;
	uint8_t			 addresses_more;
};
typedef void (*peerlog_event_cb)(const struct mesh_peer *, void *);
/* wgmeshctl ping's ALIVE_ACK came from the peer: the token's id */
typedef void (*mesh_pong_cb)(struct mesh_peer *, uint32_t, void *);

/*
 * An endpoint of this node that others cannot observe: a UPnP mapping;
 * there only while the mapping is (mesh_self_endpoint()).
 */
struct mesh_self {
	uint32_t		 iface;
	uint8_t			 origin;	/* enum endpoint_origin */
	int			 dirty;		/* not pushed yet */
	uint8_t			 public_key[WG_KEY_LEN];	/* ours */
	struct imsg_addr	 addr;
};

struct mesh {
	struct mesh_peer	*peers;
	size_t			 npeers;
	struct mesh_peer	**by_key;	/* sorted by iface, key */
	struct mesh_peer	**by_address;	/* by iface, address */
	struct mesh_peer	**by_control;	/* by iface, control address */
	struct mesh_self	*self;
	size_t			 nself;
	mesh_action_cb		 action;
	mesh_send_cb		 send;
	void			*arg;
	uint64_t		 rng;		/* xorshift64 state, not 0 */
	int64_t			 table_at;	/* last anti-entropy */
	int64_t			 tables_at;	/* whole tables sent this */
	unsigned int		 tables_sent;	/* second, so many */
	struct gossip_counters	 stats;		/* the engine's drops too */
	mesh_relay_cb		 relay;		/* NULL: no relay process */
	struct mesh_relay	*relays;	/* MESH_RELAY_PAIRS_MAX */
	size_t			 relay_max;	/* relay-max-pairs */
	struct mesh_iface	*ifaces;
	size_t			 nifaces;
	mesh_pong_cb		 pong;		/* NULL: pings not asked */
};

void	 mesh_init(struct mesh *, mesh_action_cb, mesh_send_cb, void *,
	    uint64_t);
void	 mesh_clear(struct mesh *);
int	 mesh_reconf(struct mesh *, const struct mesh_peer *, size_t);
struct mesh_peer *mesh_peer_find(struct mesh *, uint32_t, uint32_t);
struct mesh_peer *mesh_peer_by_key(struct mesh *, uint32_t,
	    const uint8_t [WG_KEY_LEN]);
struct mesh_peer *mesh_peer_by_address(struct mesh *, uint32_t,
	    const uint8_t [16]);
struct mesh_peer *mesh_peer_by_control(struct mesh *, uint32_t,
	    const uint8_t [16]);
int	 mesh_peer_mismatch(const struct mesh_peer *);
void	 mesh_device(struct mesh *, struct mesh_peer *,
	    const struct imsg_device_peer *, int64_t);
void	 mesh_candidates(struct mesh *, struct mesh_peer *,
	    const struct imsg_addr *, size_t, uint8_t, int64_t);
void	 mesh_resolve_failed(struct mesh *, struct mesh_peer *,
	    const char *, const char *, int64_t);
void	 mesh_persisted(struct mesh *, struct mesh_peer *,
	    const struct imsg_addr *, int64_t, int64_t);
void	 mesh_tick(struct mesh *, int64_t);
void	 mesh_flush(struct mesh *, int64_t);
int	 mesh_receive(struct mesh *, struct mesh_peer *, uint8_t,
	    const uint8_t *, size_t, int64_t);
int	 mesh_peer_is_up(const struct mesh_peer *, int64_t);
void	 mesh_lan_verified(struct mesh *, struct mesh_peer *,
	    const struct imsg_addr *, int64_t);
int	 mesh_self_endpoint(struct mesh *, uint32_t,
	    const uint8_t [WG_KEY_LEN], uint8_t, const struct imsg_addr *);
int	 mesh_ifaces(struct mesh *, const struct mesh_iface *, size_t);
int	 mesh_relay_init(struct mesh *, mesh_relay_cb, size_t);
void	 mesh_relay_opened(struct mesh *, uint32_t, const uint16_t [2], int,
	    int64_t);
enum peer_path mesh_peer_path(const struct mesh *, const struct mesh_peer *,
	    int64_t, const struct mesh_peer **);
#define MESH_PING_ID_MAX	0x7fffffffU	/* a ping's id: 31 bits */
void	 mesh_ping(struct mesh *, struct mesh_peer *, uint32_t);

/* lan.c: LAN discovery, in the engine */

struct lan;

struct lan_sock {
	struct lan		*l;
	uint16_t		 port;
	uint16_t		 af;		/* AF_INET or AF_INET6 */
	int			 fd;
	struct event		*ev;
	int			 beacon_errno;	/* the last beacon's, logged */
};


struct lan {
	struct event_base	*base;
	struct mesh		*mesh;
	const struct imsg_iface	*ifaces;	/* the engine's */
	size_t			 nifaces;
	struct lan_sock		**socks;
	size_t			 nsocks;
	int64_t			 beacon_at;
	int			 paused;	/* the engine is in_reconf */
	uint32_t		 links[IMSG_LAN_LINKS_MAX]; /* IPv6 beacons */
	size_t			 nlinks;
	struct lan_counters	 stats;
};

/* peerlog.c: each change of a peer's state, once */
void	 peerlog_step(struct mesh *, int64_t, peerlog_event_cb, void *);

void	 lan_init(struct lan *, struct event_base *, struct mesh *);
void	 lan_reconf(struct lan *, const struct imsg_iface *, size_t);
void	 lan_socket(struct lan *, int, uint16_t, uint16_t);
void	 lan_links(struct lan *, const uint32_t *, size_t);
void	 lan_beacon(struct lan *, int);
void	 lan_clear(struct lan *);

/* engine.c */
/*
 * engine.c: the relay process's pairs, as the engine commands them
 * (IMSG_RELAY_*, common/proto.h) and as the relay reports them.  A
 * pair's id is the engine's choice, < RELAY_PAIRS_MAX.
 */
enum engine_relay_status {
	ENGINE_RELAY_FREE,
	ENGINE_RELAY_OPENING,		/* OPEN sent, no OPENED yet */
	ENGINE_RELAY_OPEN,		/* its ports known, or refused */
	ENGINE_RELAY_CLOSING,		/* closed before OPENED came: the
					   id is taken until it does */
};

struct engine_relay_pair {
	enum engine_relay_status status;
	struct imsg_relay_opened opened;	/* its ports, or error */
	struct imsg_relay_state	 state;		/* the last report */
	int			 has_state;
};

int		 engine_relay_open(uint32_t, uint32_t, const uint8_t [2][32],
		    const struct imsg_addr [2]);
void		 engine_relay_expect(uint32_t, const struct imsg_addr [2]);
void		 engine_relay_pause(uint32_t, uint32_t);
void		 engine_relay_close(uint32_t);

void		 engine_ctl_peers(struct imsgev *, const char *);
void		 engine_ctl_ifaces(struct imsgev *);
void		 engine_ctl_counters(struct imsgev *);
void		 engine_ctl_reload(uint32_t);
void		 engine_ctl_verbose(int);
struct mesh_peer *engine_ctl_ping_find(const struct ctl_ping *, char *,
		    size_t);
struct mesh_peer *engine_ping_peer(const char *, const uint8_t [WG_KEY_LEN]);
void		 engine_ping_peer_id(const struct mesh_peer *, char *, size_t,
		    uint8_t [WG_KEY_LEN]);
void		 engine_ping_describe(const struct mesh_peer *,
		    struct ctl_pong *);
int		 engine_ping_send(struct mesh_peer *, uint32_t, char *,
		    size_t);

/*
 * upnp.c: a UDP port mapping on the LAN's gateway for each interface with
 * "port-mapping" (or "upnp yes"): PCP (RFC 6887, our own code), NAT-PMP
 * (RFC 6886, libnatpmp) and UPnP IGD (miniupnpc), tried in that order,
 * the first that answers used.  A worker process makes them (miniupnpc
 * blocks, and PCP and NAT-PMP wait for answers); the engine's event loop
 * talks to it over a socketpair, one struct upnp_request per datagram,
 * one struct upnp_answer back for each, in order.  upnp_init() comes
 * before the privilege drop; the callback hears of each mapping made
 * (an address) and lost (NULL).
 */
#define UPNP_LEASE_SECONDS	3600	/* asked for; renewed at half */
#define UPNP_LEASE_MIN_SECONDS	30	/* shorter, from PCP or NAT-PMP: refused */
#define UPNP_RECHECK_SECONDS	1800	/* a permanent mapping is redone */
#define UPNP_DISCOVER_MS	2000	/* SSDP: how long answers are awaited */
#define UPNP_RETRY_MIN_SECONDS	5	/* after a failure, doubling, */
#define UPNP_RETRY_MAX_SECONDS	600	/* up to this */
#define UPNP_DESC_MAX		48
#define UPNP_ADDR_MAX		40	/* an address as text, with its NUL */
#define PMP_PORT		5351	/* the gateway's, PCP and NAT-PMP */
#define PMP_FIRST_WAIT_MS	250	/* for an answer, then doubling: */
#define PMP_TRIES		2	/* 250 + 500 ms per protocol */
#define PCP_NONCE_LEN		12
#define PCP_MAP_LEN		60	/* a MAP request, and its answer */
#define PCP_MAX_LEN		1100	/* any PCP message */

enum upnp_op {
	UPNP_OP_MAP = 1,	/* make or renew a mapping */
	UPNP_OP_UNMAP,		/* delete one */
};

/* The call that failed, in an answer. */
enum upnp_call {
	UPNP_CALL_NONE,
	UPNP_CALL_DISCOVER,	/* SSDP */
	UPNP_CALL_IGD,		/* choosing a gateway from the answers */
	UPNP_CALL_EXTERNAL,	/* GetExternalIPAddress */
	UPNP_CALL_ADD,		/* AddPortMapping */
	UPNP_CALL_DELETE,	/* DeletePortMapping */
	UPNP_CALL_MAX
};

/* An answer's status, and upnp_answer_check()'s verdicts. */
enum upnp_result {
	UPNP_OK,
	UPNP_FAILED,
	UPNP_BAD_EXTERNAL,	/* "success" with no external address */
	UPNP_BAD_LAN,		/* "success" with no LAN address */
};

/* The gateway used, as UPNP_GetValidIGD() would rank it. */
enum upnp_igd_kind {
	UPNP_IGD_CONNECTED = 1,	/* a routable external address */
	UPNP_IGD_RESERVED = 2,	/* a reserved one (behind another NAT?) */
};

/*
 * The worker's own error codes (for UPNP_CALL_DISCOVER and _IGD), apart
 * from miniupnpc's (negative) and the gateway's UPnP codes (400 to 799).
 */
#define UPNP_E_NOANSWER		1001	/* no device answered SSDP */
#define UPNP_E_NOGATEWAY	1002	/* none of them is a gateway */
#define UPNP_E_DESCRIPTION	1003	/* no description could be fetched */
#define UPNP_E_URL		1004	/* a URL is not an IPv4 literal */
#define UPNP_E_DISCONNECTED	1005	/* not connected, no address */
#define UPNP_E_LAN		1006	/* no address of ours towards it */

/*
 * Why PCP or NAT-PMP failed (pcp_code, natpmp_code): the gateway's
 * result code (1 to 255, each protocol's own), or one of these.
 */
#define PMP_E_NOROUTE		1101	/* no IPv4 default gateway */
#define PMP_E_SOCKET		1102	/* a socket could not be made */
#define PMP_E_TIMEOUT		1103	/* no answer in time */
#define PMP_E_REFUSED		1104	/* ICMP port unreachable */
#define PMP_E_MALFORMED		1105	/* only answers that fail the checks */
#define PMP_E_LIFETIME		1106	/* success, with a lease too short */
#define PMP_E_EXTERNAL		1107	/* success, with no usable address */
#define PMP_E_VERSION		1108	/* PCP: the gateway speaks NAT-PMP only */

struct upnp_request {
	uint32_t		 seq;
	uint8_t			 op;		/* enum upnp_op */
	uint8_t			 protos;	/* PORTMAP_* to try, in order */
	uint16_t		 ext_port;	/* asked for */
	uint16_t		 int_port;	/* the listen port */
	uint8_t			 pad2[2];
	uint32_t		 lease;		/* s; 0: permanent */
	char			 desc[UPNP_DESC_MAX];
};

struct upnp_answer {
	uint32_t		 seq;		/* the request's */
	uint8_t			 op;		/* the request's */
	uint8_t			 status;	/* UPNP_OK or UPNP_FAILED */
	uint8_t			 call;		/* enum upnp_call, if failed */
	uint8_t			 igd;		/* enum upnp_igd_kind, if OK */
	int32_t			 code;		/* why UPnP failed */
	uint16_t		 ext_port;	/* the request's */
	uint16_t		 mapped_port;	/* the gateway's, if OK */
	uint32_t		 lease;		/* granted */
	uint8_t			 proto;		/* PORTMAP_* that did it, if OK */
	uint8_t			 tried;		/* PORTMAP_* tried */
	uint8_t			 epoch_reset;	/* the gateway lost its state */
	uint8_t			 pad;
	int32_t			 pcp_code;	/* why PCP failed */
	int32_t			 natpmp_code;	/* why NAT-PMP failed */
	char			 ext_addr[UPNP_ADDR_MAX]; /* the gateway's */
	char			 lan_addr[UPNP_ADDR_MAX]; /* ours, to it */
};

/*
 * What the worker remembers of a PCP or NAT-PMP gateway's epoch (RFC
 * 6887 8.5, RFC 6886 3.6): its last "seconds since the epoch" and our
 * clock then.
 */
struct pmp_epoch {
	int		 known;
	uint32_t	 epoch;		/* the gateway's */
	int64_t		 at_ms;		/* our monotonic clock */
};

/* A PCP MAP answer, as pcp_map_parse() found it. */
struct pcp_map_answer {
	uint8_t		 result;	/* the gateway's result code */
	uint32_t	 lifetime;
	uint32_t	 epoch;
	uint16_t	 ext_port;
	struct in_addr	 ext_addr;	/* IPv4 (a ::ffff: address) */
};

typedef void (*upnp_endpoint_cb)(uint32_t, const uint8_t [WG_KEY_LEN],
    const struct imsg_addr *, void *);
/* in the worker process: drop privileges, load its filter */
typedef void (*upnp_confine_cb)(pid_t);

void	 upnp_init(struct event_base *, upnp_endpoint_cb, void *,
	    upnp_confine_cb);
void	 upnp_reconf(const struct imsg_iface *, size_t);
int	 upnp_mapping(const char *, struct imsg_addr *, uint8_t *);
void	 upnp_shutdown(void);
int	 upnp_url_host(const char *, char *, size_t);
int	 upnp_answer_check(const struct upnp_request *,
	    const struct upnp_answer *, struct imsg_addr *);
const char *upnp_proto_name(uint8_t);
int	 upnp_route_gateway(const char *, size_t, struct in_addr *);
void	 pcp_map_build(uint8_t [PCP_MAP_LEN], const struct in_addr *,
	    uint16_t, uint16_t, uint32_t, const uint8_t [PCP_NONCE_LEN]);
int	 pcp_map_parse(const uint8_t *, size_t, uint16_t,
	    const uint8_t [PCP_NONCE_LEN], struct pcp_map_answer *);
int	 pmp_epoch_check(struct pmp_epoch *, uint32_t, int64_t);
int	 natpmp_answer_ok(const uint8_t *, size_t, uint8_t);

/* control.c: the engine's side of the control socket */
void	 control_init(struct event_base *, int);
void	 control_relay(uint32_t, uint32_t, const void *, size_t);
void	 control_event(const struct ctl_event *);
void	 control_pong(struct mesh_peer *, uint32_t);
void	 control_close_all(void);

#endif /* ENGINE_H */
