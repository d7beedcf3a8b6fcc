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


#ifndef WGMESHD_H
#define WGMESHD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <net/if.h>
#include <stdint.h>
#include <stdio.h>

#include "imsg.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define WGMESHD_CONF		"/etc/wgmeshd.conf"
#define WGMESHD_KEYDIR		"/etc/wgmeshd"
#define WGMESHD_STATEDIR	"/var/lib/wgmeshd"
#define WGMESHD_SOCKET		"/run/wgmeshd.sock"
#define WGMESHD_USER		"_wgmeshd"
#define WGMESHD_CHROOT		"/var/empty"	/* the engine's root */
#define WGMESHD_POLL_MS		1000	/* how often the device is read, */
#define WGMESHD_POLL_FAST_MS	200	/* and while a peer is not up, */
#define WGMESHD_POLL_FAST_COUNT	75	/* 15 s after a change */
#define DEVICE_HANDSHAKE_GRACE_SECONDS 2	/* a new session is not moved */
#define DEVICE_CROSSED_QUIET_MS	500	/* ms without bytes: no handshake
					   is under way */
#define WGMESHD_RESOLVE_SECONDS	300	/* host names are looked up again */
#define CONTROL_MAX_CLIENTS	32

/*
 * The WireGuard device, as wg.c sees it through one of two backends:
 * generic netlink (kernel) or the UAPI socket (wireguard-go, boringtun).
 * A private key never comes back from wg_get(): the backends wipe it and
 * report only whether one is set.
 */
struct wg_peer {
	uint8_t			 public_key[WG_KEY_LEN];
	struct sockaddr_storage	 endpoint;	/* AF_UNSPEC: none */
	int64_t			 last_handshake; /* seconds (realtime), 0 never */
	uint64_t		 rx_bytes;
	uint64_t		 tx_bytes;
	uint16_t		 keepalive;
	int			 has_psk;
	struct prefix		*allowed;
	size_t			 nallowed;
};

struct wg_device {
	char			 ifname[IFNAMSIZ];
	int			 has_private_key;
	uint8_t			 public_key[WG_KEY_LEN];
	uint16_t		 listen_port;
	uint32_t		 fwmark;
	struct wg_peer		*peers;
	size_t			 npeers;
};

#define WGPEER_REMOVE		0x01	/* remove the peer, nothing else */
#define WGPEER_REPLACE_ALLOWED	0x02	/* allowed-ips become exactly these */
#define WGPEER_SET_PSK		0x04	/* psk (all zero: none) */
#define WGPEER_SET_ENDPOINT	0x08
#define WGPEER_SET_KEEPALIVE	0x10
#define WGPEER_UPDATE_ONLY	0x20	/* do not create the peer */

struct wg_peer_set {
	uint32_t		 flags;
	uint8_t			 public_key[WG_KEY_LEN];
	uint8_t			 psk[WG_KEY_LEN];
	struct sockaddr_storage	 endpoint;
	uint16_t		 keepalive;
	const struct prefix	*allowed;
	size_t			 nallowed;
};

#define WGDEV_SET_PRIVATE_KEY	0x01
#define WGDEV_SET_LISTEN_PORT	0x02
#define WGDEV_SET_FWMARK	0x04
#define WGDEV_REPLACE_PEERS	0x08	/* peers not listed are removed */

struct wg_device_set {
	uint32_t		 flags;
	uint8_t			 private_key[WG_KEY_LEN];
	uint16_t		 listen_port;
	uint32_t		 fwmark;
	const struct wg_peer_set *peers;
	size_t			 npeers;
};

struct wg_handle;

/* Bounds on what a device read may hold; more is refused, not truncated. */
#define WG_PEERS_MAX		65536
#define WG_ALLOWED_MAX		65536	/* per peer */

/*
 * wg_get() and the backends' get functions fill a zeroed wg_device and
 * leave it zeroed (ifname aside) on failure; wg_device_free() releases it.
 * wg_set() and the backends' set functions check the request with
 * wg_set_valid() first.  Allowed-ips are sent with their host bits
 * cleared, and come back that way.
 */
/* wg.c */
struct wg_handle	*wg_open(const char *);
void			 wg_close(struct wg_handle *);
const char		*wg_backend_name(const struct wg_handle *);
int			 wg_get(struct wg_handle *, struct wg_device *);
int			 wg_set(struct wg_handle *, const struct wg_device_set *);
void			 wg_device_free(struct wg_device *);
struct wg_peer		*wg_device_add_peer(struct wg_device *);
int			 wg_peer_add_allowed(struct wg_peer *,
			    const struct prefix *);
int			 wg_set_valid(const char *, const struct wg_device_set *);

/*
 * wg_uapi.c: uapi_parse_get() parses a whole "get=1" reply, up to and
 * including its final empty line; dev->ifname, if set, names the device
 * in messages.
 */
int	 uapi_get(const char *, struct wg_device *);
int	 uapi_set(const char *, const struct wg_device_set *);
int	 uapi_parse_get(const char *, size_t, struct wg_device *);
int	 uapi_socket_path(const char *, char *, size_t);

/*
 * wg_kernel.c: wgnl_parse_device() adds one or more WG_CMD_GET_DEVICE
 * messages (4-byte aligned) to dev, merging a peer continued from the
 * previous message; on failure dev may hold a part and must be freed.
 */
struct wgnl;
struct wgnl	*wgnl_open(void);
void		 wgnl_close(struct wgnl *);
int		 wgnl_get(struct wgnl *, const char *, struct wg_device *);
int		 wgnl_set(struct wgnl *, const char *,
		    const struct wg_device_set *);
int		 wgnl_parse_device(const void *, size_t, struct wg_device *);

/*
 * rtnl.c: links, addresses and routes, for both backends.  Routes go to
 * the main table with their own protocol number, so they can be told
 * from everybody else's ("ip route show proto 77").
 */
#define RTPROT_WGMESHD		77
int	 rtnl_link_index(const char *);
int	 rtnl_link_create_wireguard(const char *);
int	 rtnl_link_up(const char *);
int	 rtnl_addr_add(const char *, const struct prefix *);
int	 rtnl_addr_del(const char *, const struct prefix *);
int	 rtnl_route_add(const char *, const struct prefix *);
int	 rtnl_route_del(const char *, const struct prefix *);

/* mesh.c: endpoint choice and gossip, with no I/O (see its top comment) */
#define MESH_MAX_CANDIDATES	8	/* from the configuration */
#define MESH_MAX_OBS		4	/* gossiped, per peer (mesh_obs_add()) */
#define MESH_MAX_PERSISTED	2	/* from the state file, per peer */
#define MESH_MAX_TRY		(MESH_MAX_CANDIDATES + MESH_MAX_OBS + \
				    MESH_MAX_PERSISTED + 1)
#define MESH_TRY_SECONDS	5	/* per candidate */
#define MESH_PUNCH_SECONDS	1	/* between two urgent tries */
#define MESH_BACKOFF_MAX_SECONDS 300	/* the longest pause after a round */
#define MESH_HANDSHAKE_FRESH_SECONDS 180 /* WireGuard's REJECT_AFTER_TIME */
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

enum mesh_action {
	MESH_ACTION_SET_ENDPOINT,	/* ask the parent to set it */
	MESH_ACTION_POKE,		/* send the peer something, so that
					   WireGuard makes a handshake */
	MESH_ACTION_POKE_SOON,		/* the same, in MESH_POKE_DELAY_MS */
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
};

typedef void (*mesh_action_cb)(enum mesh_action, struct mesh_peer *,
    const struct imsg_set_endpoint *, void *);
typedef void (*mesh_send_cb)(struct mesh_peer *, uint8_t, const uint8_t *,
    size_t, void *);

/* An endpoint of this node that others cannot observe: a UPnP mapping. */
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
void	 mesh_device(struct mesh *, struct mesh_peer *,
	    const struct imsg_device_peer *, int64_t);
void	 mesh_candidates(struct mesh *, struct mesh_peer *,
	    const struct imsg_addr *, size_t, uint8_t, int64_t);
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

/* lan.c: LAN discovery, in the engine */
#define LAN_BEACON_SECONDS	10

struct lan;

struct lan_sock {
	struct lan		*l;
	uint16_t		 port;
	uint16_t		 af;		/* AF_INET or AF_INET6 */
	int			 fd;
	struct event		*ev;
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

void	 lan_init(struct lan *, struct event_base *, struct mesh *);
void	 lan_reconf(struct lan *, const struct imsg_iface *, size_t);
void	 lan_socket(struct lan *, int, uint16_t, uint16_t);
void	 lan_links(struct lan *, const uint32_t *, size_t);
void	 lan_beacon(struct lan *, int);
void	 lan_clear(struct lan *);

/* device.c: the parent's side of a WireGuard interface */
struct iface_conf;
struct peer_conf;

struct device_peer {
	struct imsg_device_peer	 seen;		/* last reported */
	struct imsg_addr	 set;		/* the endpoint last set: its
						   scope, which wireguard-go
						   omits */
	int64_t			 rx_at;		/* ms, monotonic: rx_bytes
						   changed */
	int64_t			 set_tat;	/* ms, monotonic: when the
						   next request is due at
						   the steady rate */
};

/*
 * The engine's endpoint requests, per peer: DEVICE_SET_BURST at once,
 * then one per DEVICE_SET_INTERVAL_MS.  The engine's own rate is at most
 * about two a second (a try set again every MESH_PUNCH_SECONDS, an
 * urgent one every MESH_PUNCH_SECONDS, a new candidate every
 * MESH_TRY_SECONDS, the keepalive once a peer is up).
 */
#define DEVICE_SET_BURST	20
#define DEVICE_SET_INTERVAL_MS	200

struct device {
	struct iface_conf	*conf;
	struct wg_handle	*wg;
	struct device_peer	*peers;	/* per configured peer; NULL: the
					   configuration is not applied */
	/* the gossip socket the engine has: where it is bound */
	uint8_t			 gossip_addr[16];
	uint16_t		 gossip_port;	/* 0: none sent */
	int			 gossip_failed;	/* could not bind: retry */
	uint16_t		 lan_port;	/* LAN socket sent; 0: none */
	int			 lan_failed;	/* could not bind: retry */
};

typedef void (*device_report_cb)(const struct imsg_device_peer *, void *);

int	 device_open(struct device *, struct iface_conf *);
void	 device_close(struct device *);
int	 device_apply(struct device *, struct iface_conf *,
	    const struct iface_conf *);
int	 device_poll(struct device *, uint32_t, device_report_cb, void *,
	    int *);
int	 device_set_allowed(struct device *, uint32_t);
int	 device_set_endpoint(struct device *, uint32_t,
	    const struct peer_conf *, const struct imsg_addr *, uint16_t);

/*
 * rules.c: the endpoint rules that the parent and the engine both apply,
 * or that regress/sim must apply as the daemon does; pure functions.
 */
enum device_set_how {
	DEVICE_SET_UPDATE,	/* point the peer elsewhere */
	DEVICE_SET_REMAKE,	/* remove it and make it anew */
	DEVICE_SET_KEEP,	/* leave it: a handshake just now, elsewhere */
};

/* What device_set_decide() needs to know of a peer on the device. */
struct device_set_facts {
	int			 has_peer;	/* the device has the peer */
	int			 elsewhere;	/* at an endpoint, another */
	int64_t			 now;		/* realtime s */
	int64_t			 last_handshake; /* realtime s, 0: never */
	uint64_t		 rx_bytes;
	int			 rx_changed;	/* since the last read */
	int64_t			 rx_still_ms;	/* since a read saw it change */
	int			 starts_later;	/* key_starts_later() */
};

int	 key_starts_later(const uint8_t [WG_KEY_LEN],
	    const uint8_t [WG_KEY_LEN]);
enum device_set_how device_set_decide(const struct device_set_facts *);

/* engine.c */
__dead void	 engine(int, int, const char *);
void		 engine_ctl_peers(struct imsgev *, const char *);
void		 engine_ctl_ifaces(struct imsgev *);
void		 engine_ctl_counters(struct imsgev *);
void		 engine_ctl_reload(uint32_t);
void		 engine_ctl_verbose(int);

/*
 * upnp.c: a UDP port mapping on the LAN's UPnP Internet gateway for each
 * interface with "upnp yes", made by a worker process (miniupnpc blocks)
 * that the engine's event loop talks to over a socketpair, one struct
 * upnp_request per datagram, one struct upnp_answer back for each, in
 * order.  upnp_init() comes before the privilege drop; the callback
 * hears of each mapping made (an address) and lost (NULL).
 */
#define UPNP_LEASE_SECONDS	3600	/* asked for; renewed at half */
#define UPNP_RECHECK_SECONDS	1800	/* a permanent mapping is redone */
#define UPNP_DISCOVER_MS	2000	/* SSDP: how long answers are awaited */
#define UPNP_RETRY_MIN_SECONDS	5	/* after a failure, doubling, */
#define UPNP_RETRY_MAX_SECONDS	600	/* up to this */
#define UPNP_SHUTDOWN_MS	3000	/* at exit, to delete the mappings */
#define UPNP_DESC_MAX		48
#define UPNP_ADDR_MAX		40	/* an address as text, with its NUL */

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

struct upnp_request {
	uint32_t		 seq;
	uint8_t			 op;		/* enum upnp_op */
	uint8_t			 pad;
	uint16_t		 ext_port;
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
	int32_t			 code;		/* why it failed */
	uint16_t		 ext_port;	/* the request's */
	uint8_t			 pad[2];
	uint32_t		 lease;		/* granted: asked for, or 0 */
	char			 ext_addr[UPNP_ADDR_MAX]; /* the IGD's */
	char			 lan_addr[UPNP_ADDR_MAX]; /* ours, to it */
};

typedef void (*upnp_endpoint_cb)(uint32_t, const uint8_t [WG_KEY_LEN],
    const struct imsg_addr *, void *);
/* in the worker process: drop privileges, load its filter */
typedef void (*upnp_confine_cb)(pid_t);

void	 upnp_init(struct event_base *, upnp_endpoint_cb, void *,
	    upnp_confine_cb);
void	 upnp_reconf(const struct imsg_iface *, size_t);
int	 upnp_mapping(const char *, struct imsg_addr *);
void	 upnp_shutdown(void);
int	 upnp_url_host(const char *, char *, size_t);
int	 upnp_answer_check(const struct upnp_request *,
	    const struct upnp_answer *, struct imsg_addr *);

/* control.c: the engine's side of the control socket */
void	 control_init(struct event_base *, int);
void	 control_relay(uint32_t, uint32_t, const void *, size_t);
void	 control_close_all(void);

/* storage.c: a changed state is written this long after it is saved */
#define STORAGE_WRITE_SECONDS	5
__dead void	 storage(int, int, const char *, const char *);

/*
 * sandbox.c: each child calls privdrop() (engine: a chroot owned by root)
 * or privdrop_statedir() (storage: the state directory, which may be the
 * user's), then sandbox_engine() or sandbox_storage(); the engine's UPnP
 * worker process, privdrop() and sandbox_upnp(engine).  Before: open all
 * files and sockets needed, sodium_init(), tzset(), evdns configured;
 * after: no getpwnam(), no getaddrinfo() of host names, no fork.
 */
void	 privdrop(const char *, const char *);
void	 privdrop_statedir(const char *, const char *);
void	 privdrop_check_dir(const char *, uid_t);
void	 sandbox_engine(void);
void	 sandbox_storage(void);
void	 sandbox_upnp(pid_t);

/*
 * statefile.c: the known endpoints of an interface's peers, in
 * IFNAME.state in the current directory (the storage process's chroot).
 * A damaged file is refused as a whole ("line N: reason").  The storage
 * process coalesces saves: at most one per STORAGE_WRITE_SECONDS, and one
 * at shutdown.
 */
#define STATEFILE_ENTRIES_MAX	4096
#define STATEFILE_LINE_MAX	256		/* including the newline */
#define STATEFILE_SIZE_MAX	(1024 * 1024)
#define STATEFILE_MISSING	1		/* statefile_load(): no file */


struct state_entry {
	int64_t			 last_seen;	/* realtime seconds, > 0 */
	uint8_t			 public_key[WG_KEY_LEN];
	struct imsg_addr	 endpoint;
	uint8_t			 origin;	/* enum endpoint_origin */
	uint8_t			 pad[3];
};

const char	*origin_name(uint8_t);
int		 statefile_parse(const char *, size_t, int64_t,
		    struct state_entry **, size_t *, char *, size_t);
int		 statefile_format(char *, size_t, const struct state_entry *,
		    size_t);
size_t		 statefile_size(size_t);
int		 statefile_load(const char *, struct state_entry **, size_t *,
		    char *, size_t);
int		 statefile_save(const char *, const struct state_entry *,
		    size_t, char *, size_t);
int		 statefile_entry_valid(const struct state_entry *);

#endif /* WGMESHD_H */
