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


#ifndef WGM_PROTO_H
#define WGM_PROTO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every message that crosses a process boundary, one row each: between
 * the parent, the engine and the storage process, and between wgmeshctl
 * and the engine.  A row gives
 *	the type;
 *	its number: "= N" where it is fixed, blank for the one after the
 *	    row above.  Only the control socket's numbers (wgmeshctl and
 *	    the engine) are fixed, so that a wgmeshctl of another version
 *	    is understood; the daemon's processes come from one binary, and
 *	    their numbers may change from one version to the next;
 *	its payload: NONE, EXACT(s) (one struct s), or LIST(s, n) (0 to n
 *	    structs s one after the other);
 *	who may send it: P the parent, E the engine, S the storage process,
 *	    R the relay process, C a control client (wgmeshctl);
 *	whether it carries a descriptor: FD, it always does; 0, never.
 * Every dispatcher hands each message to imsg_check() (proto.c) with
 * the process at the other end of its pipe before looking at it: a type
 * not in the table, one that process does not send, a payload of
 * another size, a descriptor missing or one too many, and the message
 * is refused (fatal between the daemon's processes; a control client is
 * disconnected).  What a dispatcher checks itself is meaning: ranges,
 * strings, order, the configuration it refers to.  Whether a process
 * takes a type at all is its dispatcher's switch.  The rows are grouped
 * by sender; the payload structs follow, with what each field means.
 *
 *	  type                      no.  payload                    from   fd
 */
#define IMSG_TYPES(X)                                                          \
	/* wgmeshctl -> engine; RELOAD and LOG_VERBOSE go on to the            \
	 * parent, LOG_VERBOSE from there to storage */                        \
	X(IMSG_CTL_SHOW_PEERS,      =1,  LIST(ctl_show_peers, 1),   C,     0)  \
	X(IMSG_CTL_SHOW_INTERFACES, =2,  NONE,                      C,     0)  \
	X(IMSG_CTL_SHOW_SELF,       =3,  NONE,                      C,     0)  \
	X(IMSG_CTL_RELOAD,          =4,  NONE,                      C|E,   0)  \
	X(IMSG_CTL_LOG_VERBOSE,     =5,  EXACT(ctl_log_verbose),    C|E|P, 0)  \
	X(IMSG_CTL_SHOW_COUNTERS,   =24, NONE,                      C,     0)  \
	X(IMSG_CTL_MONITOR,         =20, NONE,                      C,     0)  \
	X(IMSG_CTL_SHOW_METRICS,    =26, NONE,                      C,     0)  \
	X(IMSG_CTL_PING,            =27, EXACT(ctl_ping),           C,     0)  \
	/* engine -> wgmeshctl; RESULT and END also parent -> engine,          \
	 * the parent's answer to a reload */                                  \
	X(IMSG_CTL_RESULT,          =6,  EXACT(ctl_result),         E|P,   0)  \
	X(IMSG_CTL_PEER,            =7,  EXACT(ctl_peer),           E,     0)  \
	X(IMSG_CTL_IFACE,           =8,  EXACT(ctl_iface),          E,     0)  \
	X(IMSG_CTL_END,             =9,  EXACT(ctl_result),         E|P,   0)  \
	X(IMSG_CTL_COUNTERS,        =25, EXACT(ctl_counters),       E,     0)  \
	X(IMSG_CTL_EVENT,           =21, EXACT(ctl_event),          E,     0)  \
	X(IMSG_CTL_PONG,            =28, EXACT(ctl_pong),           E,     0)  \
	/* parent -> engine, storage: a configuration, as a transaction */     \
	X(IMSG_RECONF_BEGIN,        =32, EXACT(imsg_reconf_begin),  P,     0)  \
	X(IMSG_RECONF_IFACE,        ,    EXACT(imsg_iface),         P,     0)  \
	X(IMSG_RECONF_PEER,         ,    EXACT(imsg_peer),          P,     0)  \
	X(IMSG_RECONF_END,          ,    NONE,                      P,     0)  \
	/* parent -> engine */                                                 \
	X(IMSG_SOCKET_CONTROL,      ,    NONE,                      P,     FD) \
	X(IMSG_SOCKET_GOSSIP,       ,    EXACT(imsg_socket_gossip), P,     FD) \
	X(IMSG_SOCKET_LAN,          ,    EXACT(imsg_socket_lan),    P,     FD) \
	X(IMSG_LAN_LINKS,           ,    EXACT(imsg_lan_links),     P,     0)  \
	X(IMSG_PAIR_KEY,            ,    EXACT(imsg_pair_key),      P,     0)  \
	X(IMSG_DEVICE_PEER,         ,    EXACT(imsg_device_peer),   P,     0)  \
	/* engine -> parent: beside RELOAD and LOG_VERBOSE, its request */     \
	X(IMSG_SET_ENDPOINT,        ,    EXACT(imsg_set_endpoint),  E,     0)  \
	/* engine -> storage; ENTRY also storage -> engine */                  \
	X(IMSG_STATE_LOAD,          ,    EXACT(imsg_state_iface),   E,     0)  \
	X(IMSG_STATE_ENTRY,         ,    EXACT(imsg_state_entry),   E|S,   0)  \
	X(IMSG_STATE_SAVE,          ,    EXACT(imsg_state_iface),   E,     0)  \
	/* storage -> engine */                                                \
	X(IMSG_STATE_LOADED,        ,    EXACT(imsg_state_iface),   S,     0)  \
	/* engine -> relay (relay.c): the pairs it forwards for */             \
	X(IMSG_RELAY_OPEN,          ,    EXACT(imsg_relay_open),    E,     0)  \
	X(IMSG_RELAY_EXPECT,        ,    EXACT(imsg_relay_expect),  E,     0)  \
	X(IMSG_RELAY_PAUSE,         ,    EXACT(imsg_relay_pause),   E,     0)  \
	X(IMSG_RELAY_CLOSE,         ,    EXACT(imsg_relay_close),   E,     0)  \
	/* relay -> engine */                                                  \
	X(IMSG_RELAY_OPENED,        ,    EXACT(imsg_relay_opened),  R,     0)  \
	X(IMSG_RELAY_STATE,         ,    LIST(imsg_relay_state,                \
					    RELAY_STATE_MSG_MAX),   R,     0)  \
	X(IMSG_RELAY_COUNTERS,      ,    EXACT(relay_counters),     R,     0)

#define IMSG_TYPE_ENUM(type, number, payload, from, fd)	type number,
enum imsg_type {
	IMSG_NONE = 0,
	IMSG_TYPES(IMSG_TYPE_ENUM)
	IMSG_TYPE_MAX
};
#undef IMSG_TYPE_ENUM

/* Who sends a message: imsg_check()'s second argument. */
#define PROC_PARENT	0x01
#define PROC_ENGINE	0x02
#define PROC_STORAGE	0x04
#define PROC_CONTROL	0x08	/* a control client: wgmeshctl */
#define PROC_RELAY	0x10	/* the relay process (relay.c) */

/*
 * Addresses cross process boundaries in this compact form rather than as
 * sockaddrs, so that a receiver checks four fields, not a union.  The
 * scope is the interface index of an IPv6 link-local address, which
 * means nothing without one; such an address never leaves the host (it
 * is neither gossiped nor saved) because the index is this host's.
 */
struct imsg_addr {
	uint16_t	 af;		/* AF_INET, AF_INET6, or 0: none */
	uint16_t	 port;		/* host byte order */
	uint8_t		 addr[16];	/* IPv4 in the first four bytes */
	uint32_t	 scope;		/* a link-local's ifindex, or 0 */
};

#define IMSG_IFNAME_MAX		16	/* IFNAMSIZ */
#define IMSG_NAME_MAX		64	/* NODE_NAME_MAX */
#define IMSG_HOST_MAX		254	/* ENDPOINT_HOST_MAX */
#define IMSG_BACKEND_MAX	16
#define IMSG_TEXT_MAX		512
#define IMSG_PREFIXES_MAX	16	/* struct imsg_prefix lists */

/*
 * A prefix, for the lists a node tells its peers in its identity
 * (wgmeshd/identity.c): its own addresses, what it routes to each peer.
 */
struct imsg_prefix {
	uint8_t		 af;		/* AF_INET or AF_INET6 */
	uint8_t		 plen;
	uint8_t		 pad[2];
	uint8_t		 addr[16];	/* IPv4 in the first four bytes */
};

/*
 * IMSG_RECONF_BEGIN: parent -> engine, storage.  The generation of the
 * configuration that follows; the parent counts from 1, and its later
 * messages about that configuration (DEVICE_PEER, PAIR_KEY) carry it as
 * their peer id, as the engine's SET_ENDPOINT does.
 */
struct imsg_reconf_begin {
	uint32_t	 gen;
};

/* IMSG_RECONF_IFACE: parent -> engine, storage */
struct imsg_iface {
	uint32_t	 index;
	uint32_t	 npeers;
	char		 ifname[IMSG_IFNAME_MAX];
	char		 node_name[IMSG_NAME_MAX];
	char		 backend[IMSG_BACKEND_MAX];
	uint8_t		 public_key[32];
	uint8_t		 address[16];	/* derived, fd00:…::1 */
	uint16_t	 listen_port;
	uint16_t	 gossip_port;
	uint16_t	 keepalive;
	uint16_t	 upnp_external_port;
	uint8_t		 lan_discovery;
	uint8_t		 upnp;		/* PORTMAP_* to try; 0: none */
	uint8_t		 relay_offer;	/* enum relay_offer */
	uint8_t		 relay_use;	/* 1: its pairs may be relayed */
	/*
	 * The endpoint of this node's own entry, when the configuration
	 * is one file for every node: this node's public address as the
	 * others are told it, for show self; never a peer's.
	 */
	uint16_t	 self_endpoint_port;
	char		 self_endpoint_host[IMSG_HOST_MAX];	/* "": none */
	/* its addresses, the derived one first: the first IMSG_PREFIXES_MAX */
	uint8_t		 naddresses;
	uint8_t		 addresses_more;	/* 1: more than those */
	struct imsg_prefix addresses[IMSG_PREFIXES_MAX];
};

/* An interface's relay-offer: whether this node relays others' pairs. */
enum relay_offer {
	RELAY_OFFER_NO,
	RELAY_OFFER_YES,
	RELAY_OFFER_AUTO,	/* when not behind NAT: the engine decides */
};

/*
 * Port mapping protocols: the set an interface tries (imsg_iface's upnp,
 * bits), the one that made its mapping (ctl_iface's mapping_protocol).
 */
#define PORTMAP_UPNP		0x01	/* UPnP IGD */
#define PORTMAP_NATPMP		0x02	/* NAT-PMP, RFC 6886 */
#define PORTMAP_PCP		0x04	/* PCP, RFC 6887 */
#define PORTMAP_ALL		0x07

/* IMSG_RECONF_PEER: parent -> engine, storage; follows its interface */
struct imsg_peer {
	uint32_t	 iface;
	uint32_t	 index;
	char		 name[IMSG_NAME_MAX];
	char		 endpoint_host[IMSG_HOST_MAX];	/* "" when none */
	uint16_t	 endpoint_port;
	uint8_t		 public_key[32];
	uint8_t		 address[16];	/* derived, fd00:…::1 */
	uint16_t	 keepalive;
	uint8_t		 relay_use;	/* 1: its pair with us may be relayed */
	uint8_t		 nallowed;
	/* its allowed-ips, its control address aside: the first ones */
	struct imsg_prefix allowed[IMSG_PREFIXES_MAX];
	uint8_t		 allowed_more;	/* 1: more than those */
	uint8_t		 pad[3];
};

/* IMSG_DEVICE_PEER: parent -> engine, when the device's view changes */
struct imsg_device_peer {
	uint32_t	 iface;
	uint32_t	 peer;
	int64_t		 last_handshake;	/* realtime seconds, 0: never */
	uint64_t	 rx_bytes;
	uint64_t	 tx_bytes;
	struct imsg_addr endpoint;
};

/*
 * IMSG_SET_ENDPOINT: engine -> parent, the one request the engine makes
 * of its own (RELOAD and LOG_VERBOSE it passes on for a client)
 */
struct imsg_set_endpoint {
	uint32_t	 iface;
	uint32_t	 peer;
	struct imsg_addr endpoint;
	uint16_t	 keepalive;
	uint8_t		 flags;		/* SET_ENDPOINT_* */
	uint8_t		 pad;
};
/*
 * The path to the peer changed (a relay's port given, another relay):
 * its session, made over the old path, is of no use to the new one, and
 * a relay forwards only after a handshake; the peer is made anew, so
 * that WireGuard starts one now (rule 13 atop mesh.c).
 */
#define SET_ENDPOINT_ANEW	0x01

/*
 * IMSG_PAIR_KEY: parent -> engine, one per peer after each IMSG_RECONF_END
 * of the same generation (peerid): the key that seals gossip between this
 * node and the peer (gossip.c).  The parent wipes its copy once sent.
 */
struct imsg_pair_key {
	uint32_t	 iface;
	uint32_t	 peer;
	uint8_t		 key[32];
};

/*
 * IMSG_SOCKET_GOSSIP: parent -> engine, with a UDP socket bound to the
 * interface's derived address and gossip port, and to the device itself.
 * It replaces any earlier one for that interface.
 */
struct imsg_socket_gossip {
	char		 ifname[IMSG_IFNAME_MAX];
};

/*
 * IMSG_SOCKET_LAN: parent -> engine, with a UDP socket bound to the
 * wildcard address and a gossip port, for the LAN discovery of every
 * interface that uses that port: one of each family (af).  IPv4:
 * SO_BROADCAST, IP_PKTINFO, IP_RECVTTL, TTL 255.  IPv6 (IPV6_V6ONLY):
 * IPV6_RECVPKTINFO,
 * IPV6_RECVHOPLIMIT, hop limit 255 for unicast and multicast, no
 * multicast loop.
 */
struct imsg_socket_lan {
	uint16_t	 port;
	uint16_t	 af;		/* AF_INET or AF_INET6 */
	uint8_t		 pad[4];
};

/*
 * IMSG_LAN_LINKS: parent -> engine, the underlay links an IPv6 beacon
 * goes out of: up, multicast, not loopback, not a WireGuard device of
 * ours, with a link-local address.  Sent when the list changes.
 */
#define IMSG_LAN_LINKS_MAX	32
struct imsg_lan_links {
	uint32_t	 nlinks;
	uint32_t	 ifindex[IMSG_LAN_LINKS_MAX];
};

/*
 * The state file crosses between the engine and the storage process as
 * one interface at a time:
 *	IMSG_STATE_LOAD	  engine -> storage: send me IFNAME's entries
 *	IMSG_STATE_ENTRY  either way: one endpoint
 *	IMSG_STATE_LOADED storage -> engine: that was all (nentries of them)
 *	IMSG_STATE_SAVE	  engine -> storage: the nentries ENTRYs just sent
 *			  are IFNAME's whole state now
 */
struct imsg_state_iface {
	char		 ifname[IMSG_IFNAME_MAX];
	uint32_t	 nentries;
	uint8_t		 pad[4];
};

struct imsg_state_entry {
	char		 ifname[IMSG_IFNAME_MAX];
	int64_t		 last_seen;	/* realtime seconds, > 0 */
	uint8_t		 public_key[32];
	struct imsg_addr endpoint;
	uint8_t		 origin;	/* enum endpoint_origin */
	uint8_t		 pad[7];
};

/*
 * Where an endpoint came from, the one vocabulary for it: in gossip (one
 * byte of an entry), in the state file (where each has a word: observed,
 * lan, upnp, configured, persisted), and, with the local ones after
 * those, for the endpoint a peer uses or is tried at (wgmeshctl's
 * endpoint_source: config, dns, device, gossip, punch, state, lan, upnp,
 * relay).
 * Only ORIGIN_OBSERVED to ORIGIN_PERSISTED cross the network or the disk,
 * and their values are fixed.
 */
enum endpoint_origin {
	ORIGIN_NONE,
	ORIGIN_OBSERVED,	/* seen by WireGuard, at this or another node */
	ORIGIN_LAN,		/* a verified LAN beacon: a LAN address that
				   answered a challenge */
	ORIGIN_UPNP,		/* a peer's mapped port on its router */
	ORIGIN_CONFIGURED,	/* the configuration (an IP literal) */
	ORIGIN_PERSISTED,	/* an earlier run's state file, or the last
				   endpoint that worked */
	/* here only */
	ORIGIN_DNS,		/* a host name in the configuration */
	ORIGIN_DEVICE,		/* learned by WireGuard from the peer */
	ORIGIN_GOSSIP,		/* where another node told us it sees it */
	ORIGIN_PUNCH,		/* from a peer's request to punch through */
	ORIGIN_RELAY,		/* a relay's port for the peer: never
				   gossiped, saved or taken as seen */
};


enum peer_state {
	PEER_STATE_NO_ENDPOINT,	/* nothing to try; waiting for the peer */
	PEER_STATE_CONNECTING,	/* trying candidates */
	PEER_STATE_UP,		/* a recent handshake */
	PEER_STATE_UNREACHABLE,	/* candidates tried, backing off */
	PEER_STATE_MISMATCH,	/* a handshake, but it and we disagree
				   about names or addresses (identity.c) */
};

/* How traffic to an up peer goes (mesh_peer_path()). */
enum peer_path {
	PATH_NONE,		/* not up */
	PATH_DIRECT,
	PATH_LAN,		/* at its address on our LAN */
	PATH_RELAY,		/* through another node's relay ports */
};

/* IMSG_CTL_PEER: engine -> wgmeshctl */
struct ctl_peer {
	char		 ifname[IMSG_IFNAME_MAX];
	char		 name[IMSG_NAME_MAX];
	char		 reason[96];
	uint8_t		 public_key[32];
	uint8_t		 address[16];
	struct imsg_addr endpoint;
	int64_t		 last_handshake;	/* realtime seconds, 0: never */
	int64_t		 now;			/* the engine's clock */
	uint64_t	 rx_bytes;		/* totals: mesh_device_totals() */
	uint64_t	 tx_bytes;
	uint64_t	 endpoint_changes;	/* the device's, since known */
	uint16_t	 keepalive;
	uint8_t		 origin;		/* enum endpoint_origin */
	uint8_t		 state;			/* enum peer_state */
	uint32_t	 flaps;			/* times up, then not */
	int64_t		 last_rx;		/* realtime s: bytes or
						   gossip came; 0: never */
	int64_t		 up_since;		/* realtime s; 0: not up */
	int64_t		 state_since;		/* realtime s, this state */
	char		 via[IMSG_NAME_MAX];	/* PATH_RELAY: the relay */
	char		 path_why[64];		/* PATH_RELAY: why */
	uint8_t		 path;			/* enum peer_path */
	uint8_t		 pad[7];
};

/*
 * IMSG_CTL_IFACE: engine -> wgmeshctl, one per interface: the answer to
 * IMSG_CTL_SHOW_INTERFACES and to IMSG_CTL_SHOW_SELF alike.  A peer block
 * for the other nodes' configurations (show self) is made of the
 * interface's name, node name, public key, listen port and the endpoint
 * of this node's own entry (if the file has one), all of which are here; the two requests differ in what wgmeshctl prints, not in
 * what the engine knows, so they share the answer rather than repeat
 * its fields in a second struct.
 */
struct ctl_iface {
	char		 ifname[IMSG_IFNAME_MAX];
	char		 node_name[IMSG_NAME_MAX];
	char		 backend[IMSG_BACKEND_MAX];
	uint8_t		 public_key[32];
	uint8_t		 address[16];
	uint32_t	 npeers;
	uint32_t	 npeers_up;
	uint16_t	 listen_port;
	uint16_t	 keepalive;
	struct imsg_addr upnp;		/* the port mapping; af 0: none */
	uint32_t	 relay_pairs;	/* pairs this node relays on it */
	uint16_t	 self_endpoint_port;	/* struct imsg_iface's */
	char		 self_endpoint_host[IMSG_HOST_MAX];
	uint8_t		 upnp_enabled;	/* "upnp yes" */
	uint8_t		 mapping_protocol; /* PORTMAP_*, of that mapping */
	uint8_t		 pad[2];
};

/*
 * The engine's counters, engine-wide (all interfaces together) and since
 * it started: datagrams from the network taken or dropped (unanswered)
 * by reason, and what was sent.  Each group is counted in place (struct
 * mesh's and struct lan's stats) and sent as it is; wgmeshctl's
 * counters[] names every field, as "group_field".
 */

/* gossip, on the interfaces' gossip sockets: mesh.c, engine.c */
struct gossip_counters {
	uint64_t	 rx;			/* taken */
	uint64_t	 rx_bad;		/* well sealed, bad content */
	uint64_t	 rx_unknown;		/* entries naming no peer */
	uint64_t	 tx;
	uint64_t	 tx_bytes;		/* payload bytes */
	uint64_t	 punches;		/* PUNCHes forwarded */
	uint64_t	 alive_tx;		/* ALIVEs sent */
	uint64_t	 rx_poke;		/* a peer's empty pokes */
	uint64_t	 drop_nopeer;		/* not from a peer's address */
	uint64_t	 drop_nokey;		/* no pair key yet */
	uint64_t	 drop_reconf;		/* during a reconfiguration */
	/* gossip_open()'s verdicts, named as gossip_result_name() does */
	uint64_t	 drop_short;
	uint64_t	 drop_too_long;
	uint64_t	 drop_bad_version;
	uint64_t	 drop_bad_type;
	uint64_t	 drop_authentication_failed;
	uint64_t	 drop_replay;
	uint64_t	 drop_stale;
	uint64_t	 drop_no_space;
};

/* LAN discovery, on the LAN sockets: lan.c */
struct lan_counters {
	uint64_t	 tx;
	uint64_t	 rx_beacon;
	uint64_t	 rx_ping;
	uint64_t	 rx_pong;
	uint64_t	 rx_own;		/* this node's own beacons */
	uint64_t	 drop_bad;		/* malformed */
	uint64_t	 drop_unicast;		/* a beacon not broadcast */
	uint64_t	 drop_nopeer;		/* no peer's key */
	uint64_t	 drop_nokey;		/* no pair key yet */
	uint64_t	 drop_open;		/* failed gossip_open() */
	uint64_t	 drop_nonce;		/* a PONG to no PING of ours */
	uint64_t	 drop_reconf;		/* during a reconfiguration */
	uint64_t	 drop_hoplimit;		/* TTL (hop limit) not 255 */
	uint64_t	 drop_scope;		/* IPv6, not link-local on it */
	uint64_t	 drop_path;		/* sealed for another address */
	uint64_t	 drop_offlink;		/* answer to an off-link host */
};

/*
 * The relay process's, on its relay ports (relay.c, relay_wire.c): what
 * it forwarded, and each datagram it dropped, by reason.  Sent to the
 * engine as IMSG_RELAY_COUNTERS, which keeps the last for wgmeshctl.
 */
struct relay_counters {
	uint64_t	 rx;			/* datagrams received */
	uint64_t	 forwarded;		/* sent on */
	uint64_t	 forwarded_bytes;
	uint64_t	 latched;		/* legs latched or moved */
	uint64_t	 drop_junk;		/* no WireGuard message */
	uint64_t	 drop_wrong_peer;	/* a handshake, bad mac1 */
	uint64_t	 drop_unexpected;	/* an initiation from an address
						   not expected, leg unlatched */
	uint64_t	 drop_replay;		/* an initiation seen before */
	uint64_t	 drop_unlatched;	/* not from the latched address,
						   or nowhere to send it yet */
	uint64_t	 drop_paused;		/* the pair is paused */
	uint64_t	 drop_rate;		/* over a pair's packet or byte
						   rate, or a candidate's */
	uint64_t	 drop_full;		/* the socket's buffer was full */
	uint64_t	 drop_idle;		/* to a port of no open pair */
};

/*
 * IMSG_CTL_COUNTERS: engine -> wgmeshctl, the answer to SHOW_COUNTERS.
 * IMSG_CTL_SHOW_METRICS is answered with every IMSG_CTL_IFACE, every
 * IMSG_CTL_PEER and one IMSG_CTL_COUNTERS, all made in one turn of the
 * engine's loop, so that they describe one moment.
 */
struct ctl_counters {
	struct gossip_counters	 gossip;
	struct lan_counters	 lan;
	struct relay_counters	 relay;
};

/*
 * IMSG_CTL_EVENT: engine -> wgmeshctl, after IMSG_CTL_MONITOR (which has
 * no other answer and keeps the connection): a change of a peer's state
 * as the log says it (peerlog.c), one message each, for as long as the
 * client reads them.
 */
struct ctl_event {
	char		 ifname[IMSG_IFNAME_MAX];
	char		 name[IMSG_NAME_MAX];
	char		 reason[96];
	struct imsg_addr endpoint;
	int64_t		 at;			/* realtime seconds */
	uint8_t		 state;			/* enum peer_state */
	uint8_t		 previous;		/* enum peer_state */
	uint8_t		 pad[6];
};

/*
 * IMSG_CTL_PING: wgmeshctl -> engine, wgmeshctl ping: "count" probes,
 * one at a time, at least a second apart, each a sealed ALIVE through
 * the tunnel to the peer "name" (on interface "ifname"; "": whichever
 * has it), given up after "wait_seconds" without its ALIVE_ACK.  The
 * engine answers one IMSG_CTL_PONG per probe, then IMSG_CTL_END (status
 * 0: one came back at least); a peer that is not there, or not up, is
 * answered at once with IMSG_CTL_END, its status 1 and the reason.
 */
#define CTL_PING_COUNT_MAX	1000
#define CTL_PING_WAIT_MAX	10	/* seconds */
struct ctl_ping {
	char		 ifname[IMSG_IFNAME_MAX];	/* NUL-terminated */
	char		 name[IMSG_NAME_MAX];		/* NUL-terminated */
	uint32_t	 count;		/* 1 to CTL_PING_COUNT_MAX */
	uint32_t	 wait_seconds;	/* 1 to CTL_PING_WAIT_MAX */
};

/*
 * IMSG_CTL_PONG: engine -> wgmeshctl, a probe's fate: its round trip,
 * and the path the peer's traffic took as the engine saw it when the
 * answer came (when it was sent, for one that did not).
 */
struct ctl_pong {
	char		 ifname[IMSG_IFNAME_MAX];
	char		 name[IMSG_NAME_MAX];
	char		 via[IMSG_NAME_MAX];	/* PATH_RELAY: the relay */
	struct imsg_addr endpoint;		/* the device's, for it */
	uint32_t	 seq;			/* 1 to count */
	uint32_t	 rtt_us;		/* answered: the round trip */
	uint8_t		 answered;		/* 0: given up after wait */
	uint8_t		 path;			/* enum peer_path */
	uint8_t		 pad[6];
};

/*
 * IMSG_CTL_RESULT: one line of text for the client (reload errors);
 * IMSG_CTL_END: the end of an answer, with its status (0: success).
 * Both from the engine to wgmeshctl, and from the parent to the engine
 * for the client that asked for a reload (its id the peer id).
 */
struct ctl_result {
	int32_t		 status;
	char		 text[IMSG_TEXT_MAX];
};

/*
 * IMSG_CTL_SHOW_PEERS: wgmeshctl -> engine, with none of these (every
 * peer) or one (the peers of that name).
 */
struct ctl_show_peers {
	char		 name[IMSG_NAME_MAX];	/* NUL-terminated */
};

/*
 * IMSG_CTL_LOG_VERBOSE: wgmeshctl -> engine -> parent -> storage, each
 * taking it for itself: 0 (brief) to LOG_VERBOSE_MAX.
 */
#define LOG_VERBOSE_MAX		2	/* -vv */
struct ctl_log_verbose {
	int32_t		 level;
};

/*
 * The relay process (relay.c) forwards the WireGuard datagrams of pairs
 * of peers that cannot reach each other, each pair through two UDP ports
 * of its own: end 0 sends to port[0] and end 1 to port[1], and each
 * sees the other at the port it sends to.  The engine numbers the pairs
 * (id < RELAY_PAIRS_MAX) and commands; the relay answers and reports.
 * End i of a pair is the peer whose public key is public_key[i].
 *	IMSG_RELAY_OPEN	    E->R a new pair; expect[i]: where end i is seen
 *			    from this node (WireGuard's view): its address
 *			    alone is compared, af 0: no expectation
 *	IMSG_RELAY_OPENED   R->E its ports, or an errno: ENOSPC (no free
 *			    ports or pairs), EEXIST (the id is in use)
 *	IMSG_RELAY_EXPECT   E->R new expectations for an open pair
 *	IMSG_RELAY_PAUSE    E->R drop the pair's datagrams for ms (at most
 *			    RELAY_PAUSE_MAX_MS), while its ends try a
 *			    direct path; 0 ends a pause
 *	IMSG_RELAY_CLOSE    E->R free the pair's ports
 *	IMSG_RELAY_STATE    R->E every open pair once a second, in as many
 *			    messages as RELAY_STATE_MSG_MAX needs
 *	IMSG_RELAY_COUNTERS R->E with each round of STATEs
 * An unknown id, a used one closed, a malformed message: fatal.
 */
#define RELAY_PAIRS_MAX		256
#define RELAY_STATE_MSG_MAX	128	/* MAX_IMSGSIZE's worth */
#define RELAY_PAUSE_MAX_MS	30000

struct imsg_relay_open {
	uint32_t	 id;
	uint32_t	 iface;			/* the engine's; not checked */
	uint8_t		 public_key[2][32];
	struct imsg_addr expect[2];
};

struct imsg_relay_opened {
	uint32_t	 id;
	uint16_t	 port[2];		/* 0 when error != 0 */
	int32_t		 error;
};

struct imsg_relay_expect {
	uint32_t	 id;
	struct imsg_addr expect[2];
};

struct imsg_relay_pause {
	uint32_t	 id;
	uint32_t	 ms;
};

struct imsg_relay_close {
	uint32_t	 id;
};

struct imsg_relay_state {
	uint32_t	 id;
	struct imsg_addr latched[2];		/* af 0: not latched */
	uint8_t		 pad0[4];
	uint64_t	 packets[2];		/* forwarded from leg i */
	uint64_t	 bytes[2];
	int64_t		 rx_ms[2];		/* ms since leg i last sent
						   something forwarded; -1:
						   never */
	uint8_t		 paused;
	uint8_t		 pad[7];
};

struct imsg;
const char	*imsg_check(const struct imsg *, unsigned int);
void		 imsg_payload(struct imsg *, void *, size_t);
const char	*imsg_type_name(uint32_t);
const char	*peer_state_name(unsigned int);
const char	*peer_path_name(unsigned int);
int		 imsg_get_verbose(struct imsg *, int *);

#endif /* WGM_PROTO_H */
