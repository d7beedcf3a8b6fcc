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
 * The parent process: its state (wgmeshd.c) and the sockets it makes for
 * the engine (parent_net.c).
 */

#ifndef PARENT_H
#define PARENT_H

#include <sys/types.h>
#include <sys/un.h>

#include <stdint.h>
#include <time.h>

#include "imsg.h"
#include "proto.h"

struct device;
struct event;
struct event_base;
struct wgmeshd_conf;

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
	pid_t			 engine_pid;
	pid_t			 storage_pid;
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
