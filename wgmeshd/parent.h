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
 * The parent process: its state (wgmeshd.c), the sockets it makes for
 * the engine (parent_net.c), its side of each WireGuard interface
 * (device.c) and the backends under it (wg.c, wg_uapi.c, wg_kernel.c,
 * rtnl.c).
 */

#ifndef PARENT_H
#define PARENT_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <net/if.h>
#include <stdint.h>
#include <time.h>

#include "imsg.h"
#include "proto.h"
#include "util.h"
#include "wgmeshd.h"

struct event;
struct event_base;
struct iface_conf;
struct peer_conf;
struct wgmeshd_conf;

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
struct wg_handle	*wg_open(const char *, int);
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

/* device.c: the parent's side of a WireGuard interface */
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
	    const struct peer_conf *, const struct imsg_addr *, uint16_t, int);

/* the engine has at most this many clients, each with one request */
#define RELOAD_CLIENTS_MAX	CONTROL_MAX_CLIENTS

struct parent {
	struct event_base	*base;
	struct wgmeshd_conf	*conf;
	struct device		*devs;
	size_t			 ndevs;
	uint32_t		 gen;		/* configuration generation */
	const char		*conffile;
	struct imsgev		 iev_engine;
	struct imsgev		 iev_storage;
	struct imsgev		 iev_relay;	/* when has_relay */
	int			 has_relay;
	pid_t			 engine_pid;
	pid_t			 storage_pid;
	pid_t			 relay_pid;	/* 0: none */
	struct event		*ev_poll;
	unsigned int		 fast_polls;	/* left before slowing down */
	struct event		*ev_sig[5];
	int			 control_fd;
	char			 control_path[sizeof(((struct sockaddr_un *)
				    NULL)->sun_path)];
	/* the clients waiting for the next reload: its errors and outcome */
	uint32_t		 reload_clients[RELOAD_CLIENTS_MAX];
	size_t			 nreload_clients;
	int			 reload_wanted;	/* a reload waits */
	int64_t			 reload_at;	/* ms, monotonic: the last */
	struct event		*ev_reload;
	int64_t			 reload_refused_logged;
	/* endpoint requests over the limit, and when that was last logged */
	uint64_t		 set_dropped;
	int64_t			 set_dropped_logged;
	/* the links IPv6 LAN beacons go out of, as the engine has them */
	struct imsg_lan_links	 lan_links;
	time_t			 lan_links_at;
};

extern struct parent	 parent_state;

/* parent_net.c */
void	 parent_send_gossip(void);
void	 parent_gossip_socket(struct device *);
void	 parent_lan_socket(struct device *);
void	 parent_lan_links(int);

#endif /* PARENT_H */
