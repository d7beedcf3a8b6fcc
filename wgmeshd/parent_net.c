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
 * The parent's sockets for the engine, which cannot make them (it has no
 * privileges): each interface's gossip socket, bound to the device, and
 * LAN discovery's sockets on the underlay; with them each peer's gossip
 * key, derived here from the private key that never leaves the parent,
 * and the links that IPv6 LAN beacons go out of.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <ifaddrs.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "conf.h"
#include "wire.h"
#include "parent.h"

static int	 gossip_socket_open(const struct iface_conf *, int);
static int	 lan_socket_open(const struct iface_conf *, int, int);

/*
 * A UDP socket on the interface's control address (address_control(): it
 * depends on the key alone, so that gossip passes when the two ends of a
 * pair disagree about names) and gossip port, tied to the device, so
 * that what it receives came through the tunnel.  The address may not be
 * usable yet: it is bound regardless.
 */
static int
gossip_socket_open(const struct iface_conf *iface, int quiet)
{
	struct sockaddr_in6	sin6;
	int			fd, one = 1;

	if ((fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_UDP)) == -1) {
		log_warn("%s: gossip socket", iface->ifname);
		return (-1);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface->ifname,
	    strlen(iface->ifname)) == -1) {
		log_warn("%s: gossip socket: SO_BINDTODEVICE", iface->ifname);
		goto fail;
	}
	/*
	 * SO_REUSEPORT: LAN discovery's IPv6 socket has the same port on
	 * the wildcard address, and the kernel lets the two overlap only
	 * when both say so.  Not SO_REUSEADDR: for UDP the kernel checks
	 * no owner then, so any local user could bind the address on the
	 * device too and take datagrams meant for us; sockets that share
	 * a port by SO_REUSEPORT must all belong to the same user (root,
	 * who made these).  Datagrams to the control address still come
	 * here: the kernel looks up sockets bound to the exact address
	 * before those on the wildcard one.
	 */
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
	    sizeof(one)) == -1 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one,
	    sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1) {
		log_warn("%s: gossip socket: setsockopt", iface->ifname);
		goto fail;
	}
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(iface->gossip_port);
	address_control(sin6.sin6_addr.s6_addr, iface->public_key);
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == -1) {
		if (quiet)
			log_debug("%s: gossip socket: bind to port %u: %s",
			    iface->ifname, iface->gossip_port,
			    strerror(errno));
		else
			log_warn("%s: gossip socket: bind to port %u; "
			    "trying again", iface->ifname,
			    iface->gossip_port);
		goto fail;
	}
	return (fd);
 fail:
	close(fd);
	return (-1);
}

/*
 * After each configuration, for the engine: each peer's gossip key (the
 * private key is read, used and wiped here; the engine never sees it),
 * and a gossip socket for each interface that has none yet or whose
 * address or port changed.
 */
void
parent_send_gossip(void)
{
	struct parent			*ps = &parent_state;
	struct iface_conf		*iface;
	struct peer_conf		*peer;
	struct device			*d;
	struct imsg_pair_key		 pk;
	uint8_t				 priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	uint8_t				 secret[WG_KEY_LEN];
	uint32_t			 ii = 0, pi;
	int				 has_secret;

	TAILQ_FOREACH(iface, &ps->conf->ifaces, entry) {
		if (ii >= ps->ndevs)
			break;
		d = &ps->devs[ii];
		/* a device left out has no LAN socket at the engine either */
		if (d->wg == NULL || d->peers == NULL) {
			d->lan_port = 0;
			goto next;	/* not configured: no gossip */
		}
		has_secret = iface->gossip_secret_file != NULL;
		if (key_file_read(iface->private_key_file, priv) != 0 ||
		    key_public_from_private(pub, priv) == -1 ||
		    (has_secret && key_file_read(iface->gossip_secret_file,
		    secret) != 0)) {
			log_warnx("%s: no gossip keys", iface->ifname);
			d->lan_port = 0;
			goto wipe;
		}
		pi = 0;
		TAILQ_FOREACH(peer, &iface->peers, entry) {
			memset(&pk, 0, sizeof(pk));
			pk.iface = ii;
			pk.peer = pi++;
			if (gossip_pair_key(pk.key, priv, pub,
			    peer->public_key, has_secret ? secret : NULL) ==
			    -1) {
				log_warnx("%s: peer %s: no gossip key (its "
				    "public key is not usable)", iface->ifname,
				    peer->name);
				continue;
			}
			imsgev_compose(&ps->iev_engine, IMSG_PAIR_KEY, ps->gen,
			    -1, &pk, sizeof(pk));
			sodium_memzero(&pk, sizeof(pk));
		}
		parent_gossip_socket(d);
		parent_lan_socket(d);
 wipe:
		sodium_memzero(priv, sizeof(priv));
		sodium_memzero(secret, sizeof(secret));
 next:
		ii++;
	}
}

/*
 * A gossip socket for the engine, when the device has none yet or its
 * address or port changed.  One that cannot be bound now (the old one of
 * an interface just re-created may still be open in the engine) is tried
 * again at each poll.
 */
void
parent_gossip_socket(struct device *d)
{
	struct parent			*ps = &parent_state;
	struct iface_conf		*iface = d->conf;
	struct imsg_socket_gossip	 sg;
	uint8_t				 control[16];
	int				 fd;

	address_control(control, iface->public_key);
	if (d->wg == NULL || d->peers == NULL ||
	    (d->gossip_port == iface->gossip_port &&
	    memcmp(d->gossip_addr, control, 16) == 0))
		return;
	if ((fd = gossip_socket_open(iface, d->gossip_failed)) == -1) {
		d->gossip_failed = 1;
		return;
	}
	memset(&sg, 0, sizeof(sg));
	strlcpy(sg.ifname, iface->ifname, sizeof(sg.ifname));
	if (imsgev_compose(&ps->iev_engine, IMSG_SOCKET_GOSSIP, ps->gen, fd,
	    &sg, sizeof(sg)) == -1) {
		log_warn("%s: gossip socket to the engine", iface->ifname);
		close(fd);
		return;
	}
	if (d->gossip_failed)
		log_info("%s: gossip socket bound", iface->ifname);
	d->gossip_failed = 0;
	d->gossip_port = iface->gossip_port;
	memcpy(d->gossip_addr, control, 16);
}

/*
 * LAN discovery's sockets, one of each family per gossip port: interfaces
 * that share a port share them (the engine tells them apart by the keys).
 * A host without IPv6 does LAN discovery over IPv4 alone.
 */
void
parent_lan_socket(struct device *d)
{
	struct parent		*ps = &parent_state;
	struct iface_conf	*iface = d->conf;
	struct imsg_socket_lan	 sl;
	size_t			 i;
	int			 fd4, fd6 = -1;

	if (d->wg == NULL || d->peers == NULL)
		return;
	if (!iface->lan_discovery)
		d->lan_port = 0;	/* the engine closes it */
	if (!iface->lan_discovery || d->lan_port == iface->gossip_port) {
		d->lan_failed = 0;
		return;
	}
	d->lan_port = 0;
	for (i = 0; i < ps->ndevs; i++)
		if (ps->devs[i].lan_port == iface->gossip_port) {
			d->lan_failed = 0;	/* shared: it has one */
			return;
		}
	if ((fd4 = lan_socket_open(iface, AF_INET, d->lan_failed)) == -1 ||
	    ((fd6 = lan_socket_open(iface, AF_INET6, d->lan_failed)) == -1 &&
	    errno != EAFNOSUPPORT)) {
		d->lan_failed = 1;
		goto fail;
	}
	memset(&sl, 0, sizeof(sl));
	sl.port = iface->gossip_port;
	sl.af = AF_INET;
	if (imsgev_compose(&ps->iev_engine, IMSG_SOCKET_LAN, ps->gen, fd4,
	    &sl, sizeof(sl)) == -1) {
		log_warn("%s: LAN discovery socket to the engine",
		    iface->ifname);
		goto fail;
	}
	fd4 = -1;
	if (fd6 != -1) {
		/* the links first: the engine beacons when it has a socket */
		parent_lan_links(1);
		sl.af = AF_INET6;
		if (imsgev_compose(&ps->iev_engine, IMSG_SOCKET_LAN, ps->gen,
		    fd6, &sl, sizeof(sl)) == -1) {
			log_warn("%s: IPv6 LAN discovery socket to the "
			    "engine", iface->ifname);
			close(fd6);
		}
	} else
		log_info("%s: no IPv6: LAN discovery over IPv4 only",
		    iface->ifname);
	if (d->lan_failed)
		log_info("%s: LAN discovery socket bound", iface->ifname);
	d->lan_failed = 0;
	d->lan_port = iface->gossip_port;
	return;
 fail:
	if (fd4 != -1)
		close(fd4);
	if (fd6 != -1)
		close(fd6);
}

/*
 * A LAN discovery socket of a family on the wildcard address and the
 * gossip port; -1 (errno set) on failure, EAFNOSUPPORT quietly.
 * Datagrams of both families leave with TTL (hop limit) 255 and arrive
 * with theirs and their destination, so that the engine keeps only those
 * that were not routed and checks where they were sent (lan.c).
 */
static int
lan_socket_open(const struct iface_conf *iface, int af, int quiet)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen;
	int			 fd, saved, one = 1, zero = 0, hops = 255;
	const char		*family = af == AF_INET ? "IPv4" : "IPv6";

	if ((fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_UDP)) == -1) {
		if (errno != EAFNOSUPPORT)
			log_warn("%s: %s LAN discovery socket", iface->ifname,
			    family);
		return (-1);
	}
	memset(&ss, 0, sizeof(ss));
	/*
	 * SO_REUSEPORT: the engine may still hold the one it replaces,
	 * and the IPv6 one shares its port with the gossip sockets.  The
	 * kernel lets only sockets of the same user (root) share a port
	 * this way; with SO_REUSEADDR any local user could bind our LAN
	 * address and port and receive the PINGs and PONGs.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1)
		goto sockopt;
	if (af == AF_INET) {
		if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one,
		    sizeof(one)) == -1 ||
		    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one,
		    sizeof(one)) == -1 ||
		    setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one,
		    sizeof(one)) == -1 ||
		    setsockopt(fd, IPPROTO_IP, IP_TTL, &hops,
		    sizeof(hops)) == -1)
			goto sockopt;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(iface->gossip_port);
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sslen = sizeof(*sin);
	} else {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one)) == -1 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
		    sizeof(one)) == -1 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one,
		    sizeof(one)) == -1 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops,
		    sizeof(hops)) == -1 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops,
		    sizeof(hops)) == -1 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero,
		    sizeof(zero)) == -1)
			goto sockopt;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(iface->gossip_port);
		sin6->sin6_addr = in6addr_any;
		sslen = sizeof(*sin6);
	}
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1) {
		saved = errno;
		if (quiet)
			log_debug("%s: %s LAN discovery socket: bind to port "
			    "%u: %s", iface->ifname, family,
			    iface->gossip_port, strerror(errno));
		else
			log_warn("%s: %s LAN discovery socket: bind to port "
			    "%u; trying again", iface->ifname, family,
			    iface->gossip_port);
		close(fd);
		errno = saved == EAFNOSUPPORT ? EADDRNOTAVAIL : saved;
		return (-1);
	}
	return (fd);
 sockopt:
	saved = errno;
	log_warn("%s: %s LAN discovery socket: setsockopt", iface->ifname,
	    family);
	close(fd);
	errno = saved == EAFNOSUPPORT ? EINVAL : saved;
	return (-1);
}

/*
 * The links IPv6 beacons go out of, to the engine when they change (or
 * with "force"): up, multicast, not loopback, with a link-local address,
 * and no WireGuard device of ours.  At most every LAN_BEACON_SECONDS
 * unless forced.
 */
void
parent_lan_links(int force)
{
	struct parent		*ps = &parent_state;
	struct imsg_lan_links	 ll;
	struct ifaddrs		*ifap, *ifa;
	struct imsg_addr	 a;
	uint32_t		 ifindex;
	size_t			 i;
	time_t			 now = time(NULL);

	if (!force && now - ps->lan_links_at < LAN_BEACON_SECONDS)
		return;
	for (i = 0; i < ps->ndevs; i++)
		if (ps->devs[i].lan_port != 0)
			break;
	if (!force && i == ps->ndevs)
		return;
	ps->lan_links_at = now;
	if (getifaddrs(&ifap) == -1) {
		log_warn("getifaddrs");
		return;
	}
	memset(&ll, 0, sizeof(ll));
	for (ifa = ifap; ifa != NULL && ll.nlinks < IMSG_LAN_LINKS_MAX;
	    ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL ||
		    ifa->ifa_addr->sa_family != AF_INET6 ||
		    (ifa->ifa_flags & (IFF_UP | IFF_MULTICAST)) !=
		    (IFF_UP | IFF_MULTICAST) ||
		    (ifa->ifa_flags & IFF_LOOPBACK) != 0 ||
		    imsg_addr_from_sockaddr(&a, ifa->ifa_addr) == -1 ||
		    !imsg_addr_is_link_local(&a))
			continue;
		for (i = 0; i < ps->ndevs; i++)
			if (ps->devs[i].conf != NULL &&
			    strcmp(ps->devs[i].conf->ifname,
			    ifa->ifa_name) == 0)
				break;
		if (i < ps->ndevs ||
		    (ifindex = if_nametoindex(ifa->ifa_name)) == 0)
			continue;
		for (i = 0; i < ll.nlinks; i++)
			if (ll.ifindex[i] == ifindex)
				break;
		if (i == ll.nlinks)
			ll.ifindex[ll.nlinks++] = ifindex;
	}
	freeifaddrs(ifap);
	if (!force && memcmp(&ll, &ps->lan_links, sizeof(ll)) == 0)
		return;
	ps->lan_links = ll;
	if (imsgev_compose(&ps->iev_engine, IMSG_LAN_LINKS, ps->gen, -1, &ll,
	    sizeof(ll)) == -1)
		log_warn("IMSG_LAN_LINKS");
}
