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
 * LAN discovery, in the engine.  Each interface with lan-discovery
 * announces a BEACON ("this public key listens on port N") on the
 * underlay every LAN_BEACON_SECONDS, on its gossip port: to the IPv4
 * limited broadcast address, and to the IPv6 all-nodes group ff02::1 out
 * of every link the parent names (IMSG_LAN_LINKS).  A beacon is only a
 * hint: a node that has the sender as a peer challenges the beacon's
 * source with a PING sealed under their pair key, and the peer is at
 * that LAN address only when a PONG comes back from there with the
 * PING's nonce.  The peer does the same the other way: a PING received
 * is answered and, as it is itself only a hint, challenged in turn.
 *
 *	D: BEACON (broadcast)	E: PING(n1) -> D	D: PONG(n1) -> E
 *				D: PING(n2) -> E	E: PONG(n2) -> D
 *
 * The proof is bound to the path, so that a neighbour cannot relay the
 * exchange and put itself between two peers:
 *  1. Every datagram must arrive with TTL (IPv4) or hop limit (IPv6)
 *     255, which a sender can only have set on this link (a router
 *     decrements it), as NDP does (RFC 4861); ours leave with 255 (the
 *     parent sets the sockets up so).  IPv6 goes further: the source is
 *     a link-local address on the link it arrived on, and the endpoint
 *     such a peer gets carries the link's index as its scope.
 *  2. A PING or PONG is only ever sent on-link (MSG_DONTROUTE: the
 *     kernel refuses a destination that its routes reach through a
 *     gateway), so a beacon with a forged source cannot make the nodes
 *     of a LAN send anywhere else (lan_ping()).
 *  3. A PING seals the address and port it was sent to; its receiver
 *     takes it only at that address (IP_PKTINFO) and port.  A PONG seals
 *     the address and port the PING came from; the pinger takes it only
 *     when that is where the PONG arrived, at its own port.  A relay
 *     forwards from its own address, to another: one of the two fails
 *     (lan_path_ours()).
 *  4. A PONG counts only with the nonce of the PING outstanding, from
 *     the address that PING went to.
 * A beacon counts only when it was sent to the limited broadcast address
 * or to ff02::1, which no router forwards; and a PING is no larger than
 * the beacon behind it, at most one per peer every LAN_PING_SECONDS.  A
 * replayed beacon causes a PING that nobody answers; a replayed PING or
 * PONG fails the pair's replay window.  Even so, a proof moves a peer
 * that is up elsewhere only on trial (mesh_lan_verified()).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "wire.h"
#include "engine.h"

#define LAN_READS_PER_WAKEUP	64
#define LAN_PING_SECONDS	2	/* between two challenges of a peer */
#define LAN_HOPLIMIT		255	/* RFC 4861: not routed */

/* where a datagram came from and was sent to */
struct lan_rx {
	struct imsg_addr	 from;		/* with its port */
	struct imsg_addr	 to;		/* our address, our port */
	int			 group;		/* broadcast or all-nodes */
};

static void	 lan_read(int, short, void *);
static int	 lan_from4(struct lan *, struct msghdr *,
		    const struct sockaddr_storage *, struct lan_rx *);
static int	 lan_from6(struct lan *, struct msghdr *,
		    const struct sockaddr_storage *, struct lan_rx *);
static void	 lan_datagram(struct lan *, struct lan_sock *,
		    const struct lan_rx *, const uint8_t *, size_t);
static int	 lan_path_ours(const struct imsg_addr *, const struct lan_rx *);
static struct mesh_peer *lan_peer(struct lan *, uint16_t,
		    const uint8_t [WG_KEY_LEN]);
static void	 lan_ping(struct lan *, struct lan_sock *, struct mesh_peer *,
		    const struct imsg_addr *, uint8_t,
		    const uint8_t [GOSSIP_PING_NONCE_LEN], int64_t, int64_t);
static void	 lan_send_beacon(struct lan *, struct lan_sock *,
		    const struct imsg_iface *, const uint8_t *, size_t);
static struct lan_sock *lan_sock_find(struct lan *, uint16_t, uint16_t);
static void	 lan_beacon_outcome(struct lan_sock *, const char *, int);
static int	 lan_own(struct lan *, uint16_t, const uint8_t [WG_KEY_LEN]);

static const struct in6_addr lan_all_nodes = {{{
	0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 }}};

void
lan_init(struct lan *l, struct event_base *base, struct mesh *m)
{
	memset(l, 0, sizeof(*l));
	l->base = base;
	l->mesh = m;
}

static struct lan_sock *
lan_sock_find(struct lan *l, uint16_t port, uint16_t af)
{
	size_t	i;

	for (i = 0; i < l->nsocks; i++)
		if (l->socks[i]->port == port && l->socks[i]->af == af)
			return (l->socks[i]);
	return (NULL);
}

/*
 * A new configuration: sockets of ports that no interface with LAN
 * discovery uses any more are closed.
 */
void
lan_reconf(struct lan *l, const struct imsg_iface *ifaces, size_t n)
{
	size_t	i, j;

	l->ifaces = ifaces;
	l->nifaces = n;
	for (i = 0; i < l->nsocks; ) {
		for (j = 0; j < n; j++)
			if (ifaces[j].lan_discovery &&
			    ifaces[j].gossip_port == l->socks[i]->port)
				break;
		if (j < n) {
			i++;
			continue;
		}
		event_free(l->socks[i]->ev);
		close(l->socks[i]->fd);
		free(l->socks[i]);
		l->socks[i] = l->socks[--l->nsocks];
	}
}

/*
 * IMSG_SOCKET_LAN: the socket of a port and family; it replaces an
 * earlier one.
 */
void
lan_socket(struct lan *l, int fd, uint16_t port, uint16_t af)
{
	struct lan_sock	 *ls, **nls;
	size_t		  i;

	for (i = 0; i < l->nifaces; i++)
		if (l->ifaces[i].lan_discovery &&
		    l->ifaces[i].gossip_port == port)
			break;
	if (i == l->nifaces)
		fatalx("IMSG_SOCKET_LAN: no interface discovers on port %u",
		    port);
	if ((ls = lan_sock_find(l, port, af)) != NULL) {
		event_free(ls->ev);
		close(ls->fd);
	} else {
		if ((nls = reallocarray(l->socks, l->nsocks + 1,
		    sizeof(*nls))) == NULL ||
		    (ls = calloc(1, sizeof(*ls))) == NULL)
			fatal("LAN socket");
		l->socks = nls;
		l->socks[l->nsocks++] = ls;
		ls->port = port;
		ls->af = af;
	}
	ls->fd = fd;
	ls->l = l;
	if ((ls->ev = event_new(l->base, fd, EV_READ | EV_PERSIST, lan_read,
	    ls)) == NULL || event_add(ls->ev, NULL) == -1)
		fatalx("LAN event");
	/* the peers already there hear of us at once */
	lan_beacon(l, 1);
}

/* IMSG_LAN_LINKS: the links IPv6 beacons go out of, checked by the caller. */
void
lan_links(struct lan *l, const uint32_t *ifindex, size_t n)
{
	int	news;

	if (n > IMSG_LAN_LINKS_MAX)
		n = IMSG_LAN_LINKS_MAX;
	news = n != l->nlinks ||
	    memcmp(l->links, ifindex, n * sizeof(*ifindex)) != 0;
	memcpy(l->links, ifindex, n * sizeof(*ifindex));
	l->nlinks = n;
	/*
	 * A link that came up hears of us at once; not while the
	 * configuration changes (the next round will do).
	 */
	if (news && !l->paused)
		lan_beacon(l, 1);
}

/*
 * Every LAN_BEACON_SECONDS (or now, with "force"): each interface with
 * LAN discovery says where it listens, on each family it has a socket
 * of.
 */
void
lan_beacon(struct lan *l, int force)
{
	struct lan_sock		*ls;
	uint8_t			 buf[LAN_DATAGRAM_LEN];
	size_t			 i;
	int64_t			 now = realtime_us() / 1000000;

	if (!force && now - l->beacon_at < LAN_BEACON_SECONDS)
		return;
	l->beacon_at = now;
	for (i = 0; i < l->nifaces; i++) {
		if (!l->ifaces[i].lan_discovery)
			continue;
		if (lan_header_encode(buf, sizeof(buf), LAN_BEACON,
		    l->ifaces[i].listen_port, l->ifaces[i].public_key) == -1)
			continue;
		if ((ls = lan_sock_find(l, l->ifaces[i].gossip_port,
		    AF_INET)) != NULL)
			lan_send_beacon(l, ls, &l->ifaces[i], buf, sizeof(buf));
		if ((ls = lan_sock_find(l, l->ifaces[i].gossip_port,
		    AF_INET6)) != NULL)
			lan_send_beacon(l, ls, &l->ifaces[i], buf, sizeof(buf));
	}
}

/*
 * One beacon to the IPv4 broadcast address, or one to ff02::1 out of
 * each link (a multicast datagram leaves by one interface only).
 */
static void
lan_send_beacon(struct lan *l, struct lan_sock *ls,
    const struct imsg_iface *iface, const uint8_t *buf, size_t len)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	size_t			 i;
	int			 ifindex, err = 0;

	if (ls->af == AF_INET) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(ls->port);
		sin.sin_addr.s_addr = htonl(INADDR_BROADCAST);
		if (sendto(ls->fd, buf, len, 0, (struct sockaddr *)&sin,
		    sizeof(sin)) == -1)
			lan_beacon_outcome(ls, iface->ifname, errno);
		else {
			lan_beacon_outcome(ls, iface->ifname, 0);
			l->stats.tx++;
		}
		return;
	}
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(ls->port);
	sin6.sin6_addr = lan_all_nodes;
	for (i = 0; i < l->nlinks; i++) {
		ifindex = (int)l->links[i];
		if (setsockopt(ls->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF,
		    &ifindex, sizeof(ifindex)) == -1 ||
		    sendto(ls->fd, buf, len, 0, (struct sockaddr *)&sin6,
		    sizeof(sin6)) == -1) {
			log_debug("%s: LAN beacon on link %d: %s",
			    iface->ifname, ifindex, strerror(errno));
			err = errno;
		} else
			l->stats.tx++;
	}
	lan_beacon_outcome(ls, iface->ifname, err);
}

/*
 * A beacon's failure is logged when it changes, and its end: a host
 * without a route to the broadcast address (no default route) fails
 * every LAN_BEACON_SECONDS the same way, and said so each time.
 */
static void
lan_beacon_outcome(struct lan_sock *ls, const char *ifname, int err)
{
	if (err == ls->beacon_errno)
		return;
	if (err == 0)
		log_info("%s: LAN beacons (IPv%d) go out again", ifname,
		    ls->af == AF_INET ? 4 : 6);
	else
		log_warnx("%s: LAN beacon (IPv%d): %s; tried again every %d "
		    "s, logged again when that changes", ifname,
		    ls->af == AF_INET ? 4 : 6, strerror(err),
		    LAN_BEACON_SECONDS);
	ls->beacon_errno = err;
}

/* The peer whose key a LAN datagram names, on an interface of port. */
static struct mesh_peer *
lan_peer(struct lan *l, uint16_t port, const uint8_t key[WG_KEY_LEN])
{
	struct mesh_peer	*p;
	size_t			 i;

	for (i = 0; i < l->nifaces; i++) {
		if (!l->ifaces[i].lan_discovery ||
		    l->ifaces[i].gossip_port != port)
			continue;
		if ((p = mesh_peer_by_key(l->mesh, i, key)) != NULL)
			return (p);
	}
	return (NULL);
}

/* Whether key is this node's, on an interface of port: its own beacon. */
static int
lan_own(struct lan *l, uint16_t port, const uint8_t key[WG_KEY_LEN])
{
	size_t	i;

	for (i = 0; i < l->nifaces; i++)
		if (l->ifaces[i].gossip_port == port &&
		    memcmp(l->ifaces[i].public_key, key, WG_KEY_LEN) == 0)
			return (1);
	return (0);
}

static void
lan_read(int fd, short event, void *arg)
{
	struct lan_sock		*ls = arg;
	struct lan		*l = ls->l;
	struct sockaddr_storage	 ss;
	struct lan_rx		 rx;
	struct msghdr		 msg;
	struct iovec		 iov;
	union {
		struct cmsghdr	 hdr;
		uint8_t		 buf[CMSG_SPACE(sizeof(struct in6_pktinfo))
				    + CMSG_SPACE(sizeof(int))];
	}			 cmsgbuf;
	uint8_t			 buf[LAN_DATAGRAM_LEN + 1];
	ssize_t			 n;
	int			 i, r;

	for (i = 0; i < LAN_READS_PER_WAKEUP; i++) {
		memset(&msg, 0, sizeof(msg));
		memset(&ss, 0, sizeof(ss));
		iov.iov_base = buf;
		iov.iov_len = sizeof(buf);
		msg.msg_name = &ss;
		msg.msg_namelen = sizeof(ss);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		if ((n = recvmsg(fd, &msg, 0)) == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("LAN socket, port %u", ls->port);
			return;
		}
		if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
			l->stats.drop_bad++;
			continue;
		}
		memset(&rx, 0, sizeof(rx));
		if (ls->af == AF_INET6)
			r = lan_from6(l, &msg, &ss, &rx);
		else
			r = lan_from4(l, &msg, &ss, &rx);
		if (r == -1)
			continue;
		rx.to.port = ls->port;
		/* between RECONF_BEGIN and END the peers are not settled */
		if (l->paused) {
			l->stats.drop_reconf++;
			continue;
		}
		lan_datagram(l, ls, &rx, buf, (size_t)n);
	}
}

/*
 * An IPv4 datagram's source and destination; -1 (counted) unless it
 * came with TTL 255 (rule 1 at the top).
 */
static int
lan_from4(struct lan *l, struct msghdr *msg,
    const struct sockaddr_storage *ss, struct lan_rx *rx)
{
	struct cmsghdr		*cm;
	struct in_pktinfo	 pi;
	int			 ttl = -1, havepi = 0;

	if (msg->msg_namelen != sizeof(struct sockaddr_in) ||
	    ss->ss_family != AF_INET) {
		l->stats.drop_bad++;
		return (-1);
	}
	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != IPPROTO_IP)
			continue;
		if (cm->cmsg_type == IP_PKTINFO &&
		    cm->cmsg_len == CMSG_LEN(sizeof(pi))) {
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			havepi = 1;
		} else if (cm->cmsg_type == IP_TTL &&
		    cm->cmsg_len == CMSG_LEN(sizeof(ttl)))
			memcpy(&ttl, CMSG_DATA(cm), sizeof(ttl));
	}
	if (!havepi ||
	    imsg_addr_from_sockaddr(&rx->from,
	    (const struct sockaddr *)ss) == -1) {
		l->stats.drop_bad++;
		return (-1);
	}
	if (ttl != LAN_HOPLIMIT) {
		l->stats.drop_hoplimit++;
		return (-1);
	}
	rx->to.af = AF_INET;
	memcpy(rx->to.addr, &pi.ipi_addr, sizeof(pi.ipi_addr));
	rx->group = pi.ipi_addr.s_addr == htonl(INADDR_BROADCAST);
	return (0);
}

/*
 * An IPv6 datagram's source, and whether it was sent to ff02::1; -1
 * (counted) unless it comes from a link-local address of the link it
 * arrived on, with hop limit 255.
 */
static int
lan_from6(struct lan *l, struct msghdr *msg,
    const struct sockaddr_storage *ss, struct lan_rx *rx)
{
	struct cmsghdr		*cm;
	struct in6_pktinfo	 pi;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	int			 hoplimit = -1, havepi = 0;

	if (msg->msg_namelen != sizeof(struct sockaddr_in6) ||
	    ss->ss_family != AF_INET6) {
		l->stats.drop_bad++;
		return (-1);
	}
	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != IPPROTO_IPV6)
			continue;
		if (cm->cmsg_type == IPV6_PKTINFO &&
		    cm->cmsg_len == CMSG_LEN(sizeof(pi))) {
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			havepi = 1;
		} else if (cm->cmsg_type == IPV6_HOPLIMIT &&
		    cm->cmsg_len == CMSG_LEN(sizeof(hoplimit)))
			memcpy(&hoplimit, CMSG_DATA(cm), sizeof(hoplimit));
	}
	if (!havepi) {
		l->stats.drop_bad++;
		return (-1);
	}
	if (hoplimit != LAN_HOPLIMIT) {
		l->stats.drop_hoplimit++;
		return (-1);
	}
	if (imsg_addr_from_sockaddr(&rx->from,
	    (const struct sockaddr *)ss) == -1 ||
	    !imsg_addr_is_link_local(&rx->from) || rx->from.scope == 0 ||
	    pi.ipi6_ifindex == 0 || rx->from.scope != pi.ipi6_ifindex ||
	    sin6->sin6_scope_id != pi.ipi6_ifindex) {
		l->stats.drop_scope++;
		return (-1);
	}
	rx->to.af = AF_INET6;
	memcpy(rx->to.addr, &pi.ipi6_addr, sizeof(pi.ipi6_addr));
	rx->group = memcmp(&pi.ipi6_addr, &lan_all_nodes,
	    sizeof(lan_all_nodes)) == 0;
	return (0);
}

/*
 * Whether the path sealed in a PING or PONG is where it arrived: our
 * address that it was sent to, unicast, and our port (rule 3 at the
 * top).  The path carries no scope; a link-local one is ours on the
 * link the datagram came in by (lan_from6()).
 */
static int
lan_path_ours(const struct imsg_addr *path, const struct lan_rx *rx)
{
	return (!rx->group && path->af == rx->to.af &&
	    path->port == rx->to.port &&
	    memcmp(path->addr, rx->to.addr, sizeof(path->addr)) == 0);
}

/*
 * One datagram from the LAN socket of ls, from and to rx's addresses
 * (ports included), sent to a group (broadcast or all-nodes) or not.
 * Anything that fails a check is counted and dropped, never answered.
 */
static void
lan_datagram(struct lan *l, struct lan_sock *ls, const struct lan_rx *rx,
    const uint8_t *buf, size_t len)
{
	struct mesh_peer	*p;
	struct imsg_addr	 ep, path;
	const struct imsg_addr	*from = &rx->from;
	uint8_t			 key[WG_KEY_LEN], kind, type;
	uint8_t			 pt[GOSSIP_PING_LEN];
	uint8_t			 nonce[GOSSIP_PING_NONCE_LEN];
	char			 abuf[ENDPOINT_STR_MAX];
	uint16_t		 port;
	size_t			 ptlen;
	int64_t			 now, now_us;
	int			 r;

	if (lan_header_decode(buf, len, &kind, &port, key) == -1 ||
	    from->af != ls->af || !imsg_addr_is_endpoint(from)) {
		l->stats.drop_bad++;
		return;
	}
	if (lan_own(l, ls->port, key)) {
		/* the network hands a node its own beacons back */
		l->stats.rx_own++;
		return;
	}
	if ((p = lan_peer(l, ls->port, key)) == NULL) {
		l->stats.drop_nopeer++;
		return;
	}
	if (p->pair == NULL) {
		l->stats.drop_nokey++;
		return;
	}
	now_us = realtime_us();
	now = now_us / 1000000;
	if (kind == LAN_BEACON) {
		if (!rx->group) {
			l->stats.drop_unicast++;
			return;
		}
		l->stats.rx_beacon++;
		/* up on this LAN already, and lately proven: nothing to do */
		ep = *from;
		ep.port = port;
		if (imsg_addr_equal(&p->device.endpoint, &ep) &&
		    now - p->lan_at < MESH_LAN_FRESH_SECONDS / 2)
			return;
		lan_ping(l, ls, p, from, GOSSIP_MSG_PING, NULL, now, now_us);
		return;
	}

	r = gossip_open(p->pair, buf + LAN_HEADER_LEN, len - LAN_HEADER_LEN,
	    now_us, &type, pt, sizeof(pt), &ptlen);
	if (r != GOSSIP_OK) {
		l->stats.drop_open++;
		log_debug("peer %s: LAN datagram dropped: %s", p->name,
		    gossip_result_name(r));
		return;
	}
	if ((type != GOSSIP_MSG_PING && type != GOSSIP_MSG_PONG) ||
	    gossip_ping_decode(pt, ptlen, nonce, &port, &path) == -1) {
		l->stats.drop_bad++;
		return;
	}
	if (!lan_path_ours(&path, rx)) {
		l->stats.drop_path++;
		log_debug("peer %s: LAN %s sealed for %s: relayed", p->name,
		    type == GOSSIP_MSG_PING ? "PING" : "PONG",
		    imsg_addr_ntop(&path, abuf, sizeof(abuf)));
		return;
	}
	if (type == GOSSIP_MSG_PING) {
		l->stats.rx_ping++;
		/* the answer, as large as the question */
		lan_ping(l, ls, p, from, GOSSIP_MSG_PONG, nonce, now, now_us);
		/* and the question back (rate-limited in lan_ping()) */
		lan_ping(l, ls, p, from, GOSSIP_MSG_PING, NULL, now, now_us);
		return;
	}
	if (p->lan_ping_to.af == 0 || !imsg_addr_equal(from, &p->lan_ping_to) ||
	    sodium_memcmp(nonce, p->lan_nonce, sizeof(nonce)) != 0) {
		l->stats.drop_nonce++;
		return;
	}
	l->stats.rx_pong++;
	memset(&p->lan_ping_to, 0, sizeof(p->lan_ping_to));
	ep = *from;
	ep.port = port;		/* its WireGuard port, authenticated */
	if (!imsg_addr_equal(&p->lan, &ep))
		log_info("peer %s: answered at LAN endpoint %s", p->name,
		    imsg_addr_ntop(&ep, abuf, sizeof(abuf)));
	mesh_lan_verified(l->mesh, p, &ep, now);
}

/*
 * A PING (a new nonce, at most every LAN_PING_SECONDS for a peer) or a
 * PONG (echoing nonce) to "to", each with our listen port and "to"
 * itself as the path: where a PING goes, where the PING a PONG answers
 * came from.  Only on-link (rule 2 at the top): an address the kernel
 * routes through a gateway gets nothing.
 */
static void
lan_ping(struct lan *l, struct lan_sock *ls, struct mesh_peer *p,
    const struct imsg_addr *to, uint8_t type,
    const uint8_t echo[GOSSIP_PING_NONCE_LEN], int64_t now, int64_t now_us)
{
	struct sockaddr_storage	 ss;
	uint8_t			 buf[LAN_DATAGRAM_LEN];
	uint8_t			 pt[GOSSIP_PING_LEN];
	uint8_t			 nonce[GOSSIP_PING_NONCE_LEN];
	struct imsg_addr	 path;
	ssize_t			 hlen, slen;
	socklen_t		 sslen;

	if (p->iface >= l->nifaces || imsg_addr_to_sockaddr(&ss, to) == -1)
		return;
	path = *to;
	path.scope = 0;		/* of this host only */
	sslen = to->af == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	if (type == GOSSIP_MSG_PING) {
		if (now - p->lan_ping_at < LAN_PING_SECONDS)
			return;
		randombytes_buf(nonce, sizeof(nonce));
	} else
		memcpy(nonce, echo, sizeof(nonce));
	if ((hlen = lan_header_encode(buf, sizeof(buf), LAN_SEALED, 0,
	    l->ifaces[p->iface].public_key)) == -1 ||
	    gossip_ping_encode(pt, sizeof(pt), nonce,
	    l->ifaces[p->iface].listen_port, &path) == -1 ||
	    (slen = gossip_seal(p->pair, type, pt, sizeof(pt), now_us,
	    buf + hlen, sizeof(buf) - (size_t)hlen)) == -1 ||
	    (size_t)(hlen + slen) != sizeof(buf))
		return;
	if (sendto(ls->fd, buf, sizeof(buf), MSG_DONTROUTE,
	    (struct sockaddr *)&ss, sslen) == -1) {
		if (errno == ENETUNREACH)
			l->stats.drop_offlink++;
		log_debug("peer %s: LAN %s: %s", p->name,
		    type == GOSSIP_MSG_PING ? "PING" : "PONG",
		    strerror(errno));
		return;
	}
	l->stats.tx++;
	if (type == GOSSIP_MSG_PING) {
		memcpy(p->lan_nonce, nonce, sizeof(nonce));
		p->lan_ping_to = *to;
		p->lan_ping_at = now;
	}
}

/* At exit. */
void
lan_clear(struct lan *l)
{
	size_t	i;

	for (i = 0; i < l->nsocks; i++) {
		event_free(l->socks[i]->ev);
		close(l->socks[i]->fd);
		free(l->socks[i]);
	}
	free(l->socks);
	l->socks = NULL;
	l->nsocks = 0;
}
