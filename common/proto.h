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

#include <stdint.h>

/*
 * Every message that crosses a process boundary, in one place: between
 * the parent, the engine and the storage process, and between wgmeshctl
 * and the engine.  Payload structs follow the enum as the messages are
 * implemented; each handler checks the exact size before use.
 */
enum imsg_type {
	IMSG_NONE,
	/* wgmeshctl <-> engine */
	IMSG_CTL_SHOW_PEERS,
	IMSG_CTL_SHOW_INTERFACES,
	IMSG_CTL_SHOW_SELF,
	IMSG_CTL_RELOAD,
	IMSG_CTL_LOG_VERBOSE,
	IMSG_CTL_RESULT,
	IMSG_CTL_PEER,
	IMSG_CTL_IFACE,
	IMSG_CTL_END,
	/* parent -> children: a new configuration, as a transaction */
	IMSG_RECONF_BEGIN,
	IMSG_RECONF_IFACE,
	IMSG_RECONF_PEER,
	IMSG_RECONF_END,
	/* parent -> engine */
	IMSG_SOCKET_CONTROL,
	IMSG_SOCKET_GOSSIP,
	IMSG_SOCKET_LAN,
	IMSG_DEVICE_PEER,
	IMSG_PAIR_KEY,
	/* engine -> parent: the one request the engine may make */
	IMSG_SET_ENDPOINT,
	/* storage <-> engine */
	IMSG_STATE_LOAD,
	IMSG_STATE_ENTRY,
	IMSG_STATE_LOADED,
	IMSG_STATE_SAVE,
	/* wgmeshctl <-> engine, added later: at the end, so none renumbers */
	IMSG_CTL_SHOW_COUNTERS,
	IMSG_CTL_COUNTERS,
	/* parent -> engine, added later */
	IMSG_LAN_LINKS,
	IMSG_TYPE_MAX
};

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
	uint8_t		 upnp;
	uint8_t		 pad[2];
};

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
	uint8_t		 pad[2];
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

/* IMSG_SET_ENDPOINT: engine -> parent, the engine's only request */
struct imsg_set_endpoint {
	uint32_t	 iface;
	uint32_t	 peer;
	struct imsg_addr endpoint;
	uint16_t	 keepalive;
	uint8_t		 pad[2];
};

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
 * endpoint_source: config, dns, device, gossip, punch, state, lan, upnp).
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
};

enum peer_state {
	PEER_STATE_NO_ENDPOINT,	/* nothing to try; waiting for the peer */
	PEER_STATE_CONNECTING,	/* trying candidates */
	PEER_STATE_UP,		/* a recent handshake */
	PEER_STATE_UNREACHABLE,	/* candidates tried, backing off */
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
	uint64_t	 rx_bytes;
	uint64_t	 tx_bytes;
	uint16_t	 keepalive;
	uint8_t		 origin;		/* enum endpoint_origin */
	uint8_t		 state;			/* enum peer_state */
	uint8_t		 pad[4];
};

/* IMSG_CTL_IFACE: engine -> wgmeshctl */
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
	struct imsg_addr upnp;		/* the UPnP mapping; af 0: none */
	uint8_t		 pad[4];
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
	uint64_t	 drop_bad;		/* malformed */
	uint64_t	 drop_unicast;		/* a beacon not broadcast */
	uint64_t	 drop_nopeer;		/* ours, or no peer's key */
	uint64_t	 drop_nokey;		/* no pair key yet */
	uint64_t	 drop_open;		/* failed gossip_open() */
	uint64_t	 drop_nonce;		/* a PONG to no PING of ours */
	uint64_t	 drop_reconf;		/* during a reconfiguration */
	uint64_t	 drop_hoplimit;		/* TTL (hop limit) not 255 */
	uint64_t	 drop_scope;		/* IPv6, not link-local on it */
	uint64_t	 drop_path;		/* sealed for another address */
	uint64_t	 drop_offlink;		/* answer to an off-link host */
};

/* IMSG_CTL_COUNTERS: engine -> wgmeshctl, the answer to SHOW_COUNTERS */
struct ctl_counters {
	struct gossip_counters	 gossip;
	struct lan_counters	 lan;
};

/*
 * IMSG_CTL_RESULT: one line of text for the client (reload errors);
 * IMSG_CTL_END: the end of an answer, with its status (0: success).
 */
struct ctl_result {
	int32_t		 status;
	char		 text[IMSG_TEXT_MAX];
};

#define LOG_VERBOSE_MAX		2	/* -vv */

struct imsg;
const char	*imsg_type_name(uint32_t);
int		 imsg_get_verbose(struct imsg *, int *);

#endif /* WGM_PROTO_H */
