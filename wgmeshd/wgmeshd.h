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

#include <net/if.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "proto.h"
#include "util.h"

#define WGMESHD_CONF		"/etc/wgmeshd.conf"
#define WGMESHD_KEYDIR		"/etc/wgmeshd"
#define WGMESHD_STATEDIR	"/var/lib/wgmeshd"
#define WGMESHD_SOCKET		"/run/wgmeshd.sock"
#define WGMESHD_USER		"_wgmeshd"

#define DEFAULT_LISTEN_PORT	51820
#define DEFAULT_GOSSIP_PORT	1666
#define DEFAULT_KEEPALIVE	25

/* How the parser marks a peer keepalive that falls back to the interface's */
#define KEEPALIVE_INHERIT	(-1)

struct peer_conf {
	TAILQ_ENTRY(peer_conf)	 entry;
	char			 name[NODE_NAME_MAX];
	uint8_t			 public_key[WG_KEY_LEN];
	int			 has_public_key;
	char			*psk_file;	/* NULL: the interface's */
	int			 has_endpoint;
	struct endpoint		 endpoint;
	int			 allowed_auto;	/* include the derived /64 */
	struct prefix		*allowed;	/* explicit allowed-ips */
	size_t			 nallowed;
	int			 keepalive;	/* or KEEPALIVE_INHERIT */
	struct prefix		 derived;	/* fd00:…::1/64 */
	char			*file;		/* where it was defined, */
	int			 lineno;	/* for later messages */
};
TAILQ_HEAD(peer_list, peer_conf);

struct iface_conf {
	TAILQ_ENTRY(iface_conf)	 entry;
	char			 ifname[IFNAMSIZ];
	char			 node_name[NODE_NAME_MAX];
	char			*private_key_file;
	char			*psk_file;		/* NULL: none */
	char			*gossip_secret_file;	/* NULL: none */
	uint16_t		 listen_port;
	uint32_t		 fwmark;		/* 0: none */
	int			 address_auto;
	struct prefix		*addresses;		/* explicit ones */
	size_t			 naddresses;
	struct prefix		 derived;
	uint16_t		 gossip_port;
	int			 lan_discovery;
	int			 upnp;
	uint16_t		 upnp_external_port;	/* 0: listen-port */
	uint16_t		 keepalive;		/* 0: off */
	struct peer_list	 peers;
	size_t			 npeers;
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
	struct iface_list	 ifaces;
	size_t			 nifaces;
};

/* parse.y */
struct wgmeshd_conf	*parse_config(const char *);
struct wgmeshd_conf	*parse_config_stream(const char *, FILE *);
void			 conf_free(struct wgmeshd_conf *);
void			 conf_print(FILE *, const struct wgmeshd_conf *);
int			 file_check_secrecy(int, const char *);
int			 cmdline_symset(const char *);

/* keys.c */
#define KEYS_CREATE		0x01	/* create a missing private key file */
#define KEY_FILE_MISSING	1	/* key_file_read(): no such file */
int	 key_file_read(const char *, uint8_t [WG_KEY_LEN]);
int	 key_file_create(const char *, uint8_t [WG_KEY_LEN]);
int	 conf_load_keys(struct wgmeshd_conf *, int);

#endif /* WGMESHD_H */
