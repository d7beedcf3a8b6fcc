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
 * The WireGuard device behind one interface name, whichever implementation
 * runs it: a UAPI socket in /var/run/wireguard means a userspace one
 * (wireguard-go, boringtun), anything else the kernel's, reached over
 * generic netlink.  The choice is made once, when the handle is opened.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wgmeshd.h"
#include "parent.h"

struct wg_handle {
	char			 ifname[IFNAMSIZ];
	enum wg_backend		 backend;
	struct wgnl		*nl;
};

#define WGPEER_ALL	(WGPEER_REMOVE | WGPEER_REPLACE_ALLOWED | \
			    WGPEER_SET_PSK | WGPEER_SET_ENDPOINT | \
			    WGPEER_SET_KEEPALIVE | WGPEER_UPDATE_ONLY)
#define WGDEV_ALL	(WGDEV_SET_PRIVATE_KEY | WGDEV_SET_LISTEN_PORT | \
			    WGDEV_SET_FWMARK | WGDEV_REPLACE_PEERS)

static int	 grow(void **, size_t, size_t);
static int	 userspace_present(const char *);

/*
 * Arrays here only ever grow by one element, so their capacity need not
 * be stored: it is 4, or the next power of two at or above the count.
 */
static int
grow(void **array, size_t n, size_t size)
{
	void	*p;
	size_t	 cap;

	if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
		return (0);
	cap = n == 0 ? 4 : n * 2;
	if ((p = reallocarray(*array, cap, size)) == NULL)
		return (-1);
	*array = p;
	return (0);
}

struct wg_peer *
wg_device_add_peer(struct wg_device *dev)
{
	struct wg_peer	*peer;

	if (dev->npeers >= WG_PEERS_MAX) {
		errno = E2BIG;
		return (NULL);
	}
	if (grow((void **)&dev->peers, dev->npeers, sizeof(*dev->peers)) ==
	    -1)
		return (NULL);
	peer = &dev->peers[dev->npeers++];
	memset(peer, 0, sizeof(*peer));
	peer->endpoint.ss_family = AF_UNSPEC;
	return (peer);
}

int
wg_peer_add_allowed(struct wg_peer *peer, const struct prefix *p)
{
	if (peer->nallowed >= WG_ALLOWED_MAX) {
		errno = E2BIG;
		return (-1);
	}
	if (grow((void **)&peer->allowed, peer->nallowed,
	    sizeof(*peer->allowed)) == -1)
		return (-1);
	peer->allowed[peer->nallowed++] = *p;
	return (0);
}

void
wg_device_free(struct wg_device *dev)
{
	size_t	i;

	if (dev == NULL)
		return;
	for (i = 0; i < dev->npeers; i++)
		free(dev->peers[i].allowed);
	free(dev->peers);
	dev->peers = NULL;
	dev->npeers = 0;
}

/*
 * Mistakes in a request are the caller's; refuse them before anything is
 * sent, so that a device is never left half configured by one.
 */
int
wg_set_valid(const char *ifname, const struct wg_device_set *set)
{
	const struct wg_peer_set	*ps;
	const struct prefix		*p;
	size_t				 i, j;
	int				 af;

	if ((set->flags & ~WGDEV_ALL) != 0) {
		log_warnx("%s: set: unknown device flags 0x%x", ifname,
		    set->flags);
		return (-1);
	}
	if (set->npeers > 0 && set->peers == NULL) {
		log_warnx("%s: set: no peer array", ifname);
		return (-1);
	}
	for (i = 0; i < set->npeers; i++) {
		ps = &set->peers[i];
		if ((ps->flags & ~WGPEER_ALL) != 0) {
			log_warnx("%s: set: peer %zu: unknown flags 0x%x",
			    ifname, i, ps->flags);
			return (-1);
		}
		if (key_is_zero(ps->public_key)) {
			log_warnx("%s: set: peer %zu: no public key",
			    ifname, i);
			return (-1);
		}
		if ((ps->flags & WGPEER_REMOVE) != 0 &&
		    (ps->flags != WGPEER_REMOVE || ps->nallowed != 0)) {
			log_warnx("%s: set: peer %zu: removal with changes",
			    ifname, i);
			return (-1);
		}
		if ((ps->flags & WGPEER_SET_ENDPOINT) != 0) {
			af = ps->endpoint.ss_family;
			if (af != AF_INET && af != AF_INET6) {
				log_warnx("%s: set: peer %zu: endpoint of "
				    "family %d", ifname, i, af);
				return (-1);
			}
		}
		if (ps->nallowed > WG_ALLOWED_MAX ||
		    (ps->nallowed > 0 && ps->allowed == NULL)) {
			log_warnx("%s: set: peer %zu: bad allowed-ips",
			    ifname, i);
			return (-1);
		}
		for (j = 0; j < ps->nallowed; j++) {
			p = &ps->allowed[j];
			if ((p->af == AF_INET && p->plen <= 32) ||
			    (p->af == AF_INET6 && p->plen <= 128))
				continue;
			log_warnx("%s: set: peer %zu: allowed-ip %zu: family "
			    "%d, length %u", ifname, i, j, p->af, p->plen);
			return (-1);
		}
	}
	return (0);
}

/* A UAPI socket, even a stale one, says that the device is userspace's. */
static int
userspace_present(const char *ifname)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;

	if (uapi_socket_path(ifname, sun.sun_path, sizeof(sun.sun_path)) ==
	    -1)
		return (0);
	if (lstat(sun.sun_path, &sb) == -1)
		return (0);
	return (S_ISSOCK(sb.st_mode));
}

/*
 * backend: enum wg_backend; with WG_BACKEND_AUTO a UAPI socket means
 * userspace, and the kernel's is used (its link created) otherwise.
 */
struct wg_handle *
wg_open(const char *ifname, int backend)
{
	struct wg_handle	*h;
	struct wg_device	 dev;
	int			 idx;

	if (!ifname_valid(ifname)) {
		log_warnx("%s: not a valid interface name", ifname);
		return (NULL);
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		log_warn("%s: wg_open", ifname);
		return (NULL);
	}
	strlcpy(h->ifname, ifname, sizeof(h->ifname));
	if (backend == WG_BACKEND_USERSPACE || (backend != WG_BACKEND_KERNEL &&
	    userspace_present(ifname)))
		h->backend = WG_BACKEND_USERSPACE;
	else {
		h->backend = WG_BACKEND_KERNEL;
		if ((idx = rtnl_link_index(ifname)) == -1)
			goto fail;
		if (idx == 0 && rtnl_link_create_wireguard(ifname) == -1)
			goto fail;
		if ((h->nl = wgnl_open()) == NULL)
			goto fail;
	}

	/* Fail here, not at the first poll, if the device is not usable. */
	if (wg_get(h, &dev) == -1)
		goto fail;
	wg_device_free(&dev);
	log_debug("%s: %s WireGuard", ifname, wg_backend_name(h));
	return (h);

 fail:
	wg_close(h);
	return (NULL);
}

void
wg_close(struct wg_handle *h)
{
	if (h == NULL)
		return;
	if (h->nl != NULL)
		wgnl_close(h->nl);
	free(h);
}

const char *
wg_backend_name(const struct wg_handle *h)
{
	return (h->backend == WG_BACKEND_USERSPACE ? "userspace" : "kernel");
}

int
wg_get(struct wg_handle *h, struct wg_device *dev)
{
	if (h->backend == WG_BACKEND_USERSPACE)
		return (uapi_get(h->ifname, dev));
	return (wgnl_get(h->nl, h->ifname, dev));
}

int
wg_set(struct wg_handle *h, const struct wg_device_set *set)
{
	if (h->backend == WG_BACKEND_USERSPACE)
		return (uapi_set(h->ifname, set));
	return (wgnl_set(h->nl, h->ifname, set));
}
