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
 * What every wgmeshd process shares: paths and limits, the children's
 * entry points, privilege dropping (sandbox.c), the endpoint rules of
 * rules.c and the state entries the storage process gives the engine.
 * Each process has a header of its own beside this one: parent.h (and
 * conf.h, netlink.h), engine.h (and wire.h), storage.h.
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
#ifndef WGMESHD_EXAMPLES	/* where make install puts the example */
#define WGMESHD_EXAMPLES	"/usr/local/share/examples/wgmeshd"
#endif
#define WGMESHD_POLL_MS		1000	/* how often the device is read, */
#define WGMESHD_POLL_FAST_MS	200	/* and while a peer is not up, */
#define WGMESHD_POLL_FAST_COUNT	75	/* 15 s after a change */
#define MESH_HANDSHAKE_FRESH_SECONDS 180 /* WireGuard's REJECT_AFTER_TIME */
#define DEVICE_HANDSHAKE_GRACE_SECONDS 2	/* a new session is not moved */
#define DEVICE_CROSSED_QUIET_MS	500	/* ms without bytes: no handshake
					   is under way */
#define WGMESHD_RESOLVE_SECONDS	300	/* host names are looked up again */
#define CONTROL_MAX_CLIENTS	32
#define CONTROL_EVENTS_QUEUED	256	/* not read by a monitor client */
#define CONTROL_PINGS_MAX	8	/* wgmeshctl pings at once, one
					   probe out each: control.c */
#define UPNP_SHUTDOWN_MS	3000	/* at exit, the engine deletes its UPnP
					   mappings; the parent waits */

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
	int			 anew;		/* SET_ENDPOINT_ANEW asked */
};

int	 key_starts_later(const uint8_t [WG_KEY_LEN],
	    const uint8_t [WG_KEY_LEN]);
enum device_set_how device_set_decide(const struct device_set_facts *);

/*
 * Which WireGuard implementation runs an interface ("backend" in
 * wgmeshd.conf(5)); auto: a UAPI socket means userspace, else the kernel.
 */
enum wg_backend {
	WG_BACKEND_AUTO,
	WG_BACKEND_KERNEL,
	WG_BACKEND_USERSPACE
};

/*
 * startcheck.c: what the start needs of this host (-n checks it too);
 * the paths it looks at, startcheck_system's unless a test's.  Each
 * check but startcheck() writes why it fails into its buffer.
 */
struct wgmeshd_conf;
struct startcheck_paths {
	const char	*chroot;	/* the engine's root */
	const char	*sys_module;	/* /sys/module */
	const char	*modules;	/* /lib/modules */
	const char	*uapi_dir;	/* /var/run/wireguard */
	const char	*release;	/* NULL: the running kernel's */
};
extern const struct startcheck_paths startcheck_system;
int	 startcheck(const struct wgmeshd_conf *,
	    const struct startcheck_paths *);
int	 startcheck_user(const char *, char *, size_t);
int	 startcheck_chroot(const char *, char *, size_t);
int	 startcheck_dir(const char *, const char *, char *, size_t);
int	 startcheck_backend(const char *, int,
	    const struct startcheck_paths *, char *, size_t);

/*
 * The children's entry points: main() runs them (-E, -S; the relay
 * process, -R, in relay.h).  The engine's last argument: 1 when the
 * relay process's pipe is at fd 5 (-r).
 */
__dead void	 engine(int, int, const char *, int);
__dead void	 storage(int, int, const char *, const char *);

/*
 * sandbox.c: each child calls privdrop() (engine: a chroot owned by root)
 * or privdrop_statedir() (storage: the state directory, which may be the
 * user's), then sandbox_engine() or sandbox_storage(); the engine's UPnP
 * worker process, privdrop() and sandbox_upnp(engine); the relay process,
 * privdrop_relay() and sandbox_relay().  Before: open all
 * files and sockets needed, sodium_init(), tzset(), evdns configured;
 * after: no getpwnam(), no getaddrinfo() of host names, no fork.  The
 * worker's one file, /proc/net/route, is read with pread(2) on
 * UPNP_ROUTE_FD, the only descriptor its filter lets it read so.
 */
#define UPNP_ROUTE_FD		4
void	 privdrop(const char *, const char *);
void	 privdrop_statedir(const char *, const char *);
void	 privdrop_check_dir(const char *, uid_t);
void	 sandbox_proc_name(const char *);
void	 sandbox_engine(void);
void	 sandbox_storage(void);
void	 sandbox_upnp(pid_t);
void	 privdrop_relay(const char *, const char *);
void	 sandbox_relay(void);

/*
 * The known endpoints of an interface's peers, as the storage process
 * keeps them (statefile.c) and gives them to the engine: at most
 * STATEFILE_ENTRIES_MAX per interface.
 */
#define STATEFILE_ENTRIES_MAX	4096

struct state_entry {
	int64_t			 last_seen;	/* realtime seconds, > 0 */
	uint8_t			 public_key[WG_KEY_LEN];
	struct imsg_addr	 endpoint;
	uint8_t			 origin;	/* enum endpoint_origin */
	uint8_t			 pad[3];
};

#endif /* WGMESHD_H */
