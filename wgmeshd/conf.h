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
 * The configuration: what parse.y builds from wgmeshd.conf(5), what
 * conf.c checks and answers about it, what printconf.c prints, and the
 * key files it names (keys.c).  The parent's alone: the engine and the
 * storage process are given what they need of it in messages.
 */

#ifndef CONF_H
#define CONF_H

#include <sys/types.h>
#include <sys/queue.h>

#include <net/if.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"
#include "util.h"

#define DEFAULT_LISTEN_PORT	51820
#define DEFAULT_GOSSIP_PORT	1666
#define DEFAULT_KEEPALIVE	25

/* How the parser marks a peer keepalive that falls back to the interface's */
#define KEEPALIVE_INHERIT	(-1)
#define RELAY_USE_INHERIT	(-1)

struct peer_conf {
	TAILQ_ENTRY(peer_conf)	 entry;
	char			 name[NODE_NAME_MAX];
	uint8_t			 public_key[WG_KEY_LEN];
	int			 has_public_key;
	char			*psk_file;	/* NULL: the interface's */
	int			 psk_lineno;	/* its setting's line */
	int			 has_endpoint;
	struct endpoint		 endpoint;
	int			 allowed_auto;	/* include the derived /64 */
	struct prefix		*allowed;	/* explicit allowed-ips */
	size_t			 nallowed;
	int			 keepalive;	/* or KEEPALIVE_INHERIT */
	int			 relay_use;	/* 0, 1 or RELAY_USE_INHERIT */
	struct prefix		 derived;	/* fd00:…::1/64 */
	char			*file;		/* where it was defined, */
	int			 lineno;	/* for later messages */
	/* filled in by the parent when it applies the configuration */
	int			 has_psk;
	uint8_t			 psk_digest[32];
};
TAILQ_HEAD(peer_list, peer_conf);

struct iface_conf {
	TAILQ_ENTRY(iface_conf)	 entry;
	char			 ifname[IFNAMSIZ];
	char			 node_name[NODE_NAME_MAX];
	char			*private_key_file;
	char			*psk_file;		/* NULL: none */
	char			*gossip_secret_file;	/* NULL: none */
	int			 psk_lineno;		/* their settings' */
	int			 gossip_secret_lineno;	/* lines */
	uint16_t		 listen_port;
	uint32_t		 fwmark;		/* 0: none */
	int			 address_auto;
	struct prefix		*addresses;		/* explicit ones */
	size_t			 naddresses;
	struct prefix		 derived;
	uint16_t		 gossip_port;
	int			 lan_discovery;
	int			 upnp;			/* PORTMAP_*; 0: none */
	uint16_t		 upnp_external_port;	/* 0: listen-port */
	uint16_t		 keepalive;		/* 0: off */
	int			 relay_offer;		/* enum relay_offer */
	int			 relay_use;
	int			 backend;	/* enum wg_backend */
	struct peer_list	 peers;
	size_t			 npeers;
	/*
	 * This node's own entry among the peers, when the file is one for
	 * the whole mesh (conf_check() takes it out of peers): its
	 * public-key must be this node's, its endpoint is this node's own.
	 */
	struct peer_conf	*self;
	/* filled in by conf_load_keys() */
	int			 has_public_key;
	uint8_t			 public_key[WG_KEY_LEN];
	char			*file;
	int			 lineno;
};
TAILQ_HEAD(iface_list, iface_conf);

struct wgmeshd_conf {
	char			*user;
	char			*state_dir;
	char			*control_socket;
	/* the relay process's (relay.c); a reload changes them at restart */
	uint16_t		 relay_port_low;
	uint16_t		 relay_port_high;
	uint32_t		 relay_max_pairs;
	uint32_t		 relay_rate_mbit;	/* per pair, each way */
	uint32_t		 relay_packet_rate;	/* the same, packets/s */
	struct iface_list	 ifaces;
	size_t			 nifaces;
};

/* parse.y: the grammar; its error reporting, which conf.c's checks use */
struct wgmeshd_conf	*parse_config(const char *);
struct wgmeshd_conf	*parse_config_stream(const char *, FILE *);
int			 file_check_secrecy(int, const char *);
int			 file_check_dirs(const char *);
int			 cmdline_symset(const char *);
void			 conf_error(const char *, int, const char *, ...)
			    __attribute__((__format__ (printf, 3, 4)));
const char		*printable(const char *);
const char		*where(const char *, const char *, int);

/* conf.c: checks, accessors */
void			 conf_check(struct wgmeshd_conf *);
void			 conf_free(struct wgmeshd_conf *);
void			 iface_free(struct iface_conf *);
void			 peer_free(struct peer_conf *);
size_t			 peer_allowed_count(const struct peer_conf *);
void			 peer_allowed_get(const struct peer_conf *, size_t,
			    struct prefix *);
int			 conf_endpoint_in_overlay(const struct wgmeshd_conf *,
			    const struct imsg_addr *);
uint16_t peer_keepalive(const struct iface_conf *, const struct peer_conf *);
int	 peer_relay_use(const struct iface_conf *, const struct peer_conf *);
int	 conf_relay_offered(const struct wgmeshd_conf *);
int	 conf_relay_same(const struct wgmeshd_conf *,
	    const struct wgmeshd_conf *);
const char *peer_psk_file(const struct iface_conf *,
	    const struct peer_conf *);
int	 peer_allowed(const struct peer_conf *, struct prefix **, size_t *);

/* printconf.c */
void			 conf_print(FILE *, const struct wgmeshd_conf *);

/* keys.c */
#define KEYS_CREATE		0x01	/* create a missing private key file */
#define KEY_FILE_MISSING	1	/* key_file_read(): no such file */
int	 key_file_read(const char *, uint8_t [WG_KEY_LEN]);
int	 key_file_create(const char *, uint8_t [WG_KEY_LEN]);
int	 key_file_write(const char *, const uint8_t [WG_KEY_LEN]);
int	 conf_load_keys(struct wgmeshd_conf *, int);

#endif /* CONF_H */
