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
 * broadcasts a BEACON ("this public key listens on port N") on the
 * underlay every LAN_BEACON_SECONDS, on its gossip port.  A beacon is
 * only a hint: a node that has the sender as a peer challenges the
 * beacon's source with a PING sealed under their pair key, and the peer
 * is at that LAN address only when a PONG comes back from there with the
 * PING's nonce.  The peer does the same the other way: a PING received
 * is answered and, as it is itself only a hint, challenged in turn.
 *
 *	D: BEACON (broadcast)	E: PING(n1) -> D	D: PONG(n1) -> E
 *				D: PING(n2) -> E	E: PONG(n2) -> D
 *
 * A beacon counts only when it was sent to the limited broadcast address,
 * which no router forwards, so that no one from afar can make us send a
 * PING anywhere; and a PING is no larger than the beacon behind it.  A
 * replayed beacon causes a PING that nobody answers; a replayed PING or
 * PONG fails the pair's replay window, and a PONG counts only with the
 * nonce of the PING outstanding, from the address that PING went to.
 * IPv4 only: an IPv6 LAN's peers would be link-local, and an endpoint
 * here carries no interface scope.
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

#define LAN_READS_PER_WAKEUP	64
#define LAN_PING_SECONDS	2	/* between two challenges of a peer */

static void	 lan_read(int, short, void *);
static void	 lan_datagram(struct lan *, struct lan_sock *,
		    const struct sockaddr_in *, const uint8_t *, size_t, int);
static struct mesh_peer *lan_peer(struct lan *, uint16_t,
		    const uint8_t [WG_KEY_LEN]);
static void	 lan_ping(struct lan *, struct lan_sock *, struct mesh_peer *,
		    const struct sockaddr_in *, uint8_t,
		    const uint8_t [GOSSIP_PING_NONCE_LEN], int64_t, int64_t);
static struct lan_sock *lan_sock_find(struct lan *, uint16_t);

void
lan_init(struct lan *l, struct event_base *base, struct mesh *m)
{
	memset(l, 0, sizeof(*l));
	l->base = base;
	l->mesh = m;
}

static struct lan_sock *
lan_sock_find(struct lan *l, uint16_t port)
{
	size_t	i;

	for (i = 0; i < l->nsocks; i++)
		if (l->socks[i]->port == port)
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

/* IMSG_SOCKET_LAN: the socket of a port; it replaces an earlier one. */
void
lan_socket(struct lan *l, int fd, uint16_t port)
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
	if ((ls = lan_sock_find(l, port)) != NULL) {
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
	}
	ls->fd = fd;
	ls->l = l;
	if ((ls->ev = event_new(l->base, fd, EV_READ | EV_PERSIST, lan_read,
	    ls)) == NULL || event_add(ls->ev, NULL) == -1)
		fatalx("LAN event");
	/* the peers already there hear of us at once */
	lan_beacon(l, 1);
}

/*
 * Every LAN_BEACON_SECONDS (or now, with "force"): each interface with
 * LAN discovery says where it listens.
 */
void
lan_beacon(struct lan *l, int force)
{
	struct sockaddr_in	 sin;
	struct lan_sock		*ls;
	uint8_t			 buf[LAN_DATAGRAM_LEN];
	size_t			 i;
	int64_t			 now = realtime_us() / 1000000;

	if (!force && now - l->beacon_at < LAN_BEACON_SECONDS)
		return;
	l->beacon_at = now;
	for (i = 0; i < l->nifaces; i++) {
		if (!l->ifaces[i].lan_discovery ||
		    (ls = lan_sock_find(l, l->ifaces[i].gossip_port)) ==
		    NULL)
			continue;
		if (lan_header_encode(buf, sizeof(buf), LAN_BEACON,
		    l->ifaces[i].listen_port, l->ifaces[i].public_key) == -1)
			continue;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(ls->port);
		sin.sin_addr.s_addr = htonl(INADDR_BROADCAST);
		if (sendto(ls->fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&sin, sizeof(sin)) == -1)
			log_debug("%s: LAN beacon: %s", l->ifaces[i].ifname,
			    strerror(errno));
		else
			l->stats.tx++;
	}
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

static void
lan_read(int fd, short event, void *arg)
{
	struct lan_sock		*ls = arg;
	struct lan		*l = ls->l;
	struct sockaddr_in	 from;
	struct msghdr		 msg;
	struct iovec		 iov;
	struct cmsghdr		*cm;
	struct in_pktinfo	 pi;
	union {
		struct cmsghdr	 hdr;
		uint8_t		 buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	}			 cmsgbuf;
	uint8_t			 buf[LAN_DATAGRAM_LEN + 1];
	ssize_t			 n;
	int			 i, broadcast;

	for (i = 0; i < LAN_READS_PER_WAKEUP; i++) {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = buf;
		iov.iov_len = sizeof(buf);
		msg.msg_name = &from;
		msg.msg_namelen = sizeof(from);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		if ((n = recvmsg(fd, &msg, 0)) == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("LAN socket, port %u", ls->port);
			return;
		}
		if (msg.msg_namelen != sizeof(from) ||
		    from.sin_family != AF_INET ||
		    (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
			l->stats.drop_bad++;
			continue;
		}
		broadcast = 0;
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == IPPROTO_IP &&
			    cm->cmsg_type == IP_PKTINFO &&
			    cm->cmsg_len == CMSG_LEN(sizeof(pi))) {
				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				broadcast = pi.ipi_addr.s_addr ==
				    htonl(INADDR_BROADCAST);
			}
		/* between RECONF_BEGIN and END the peers are not settled */
		if (l->paused) {
			l->stats.drop_reconf++;
			continue;
		}
		lan_datagram(l, ls, &from, buf, (size_t)n, broadcast);
	}
}

/*
 * One datagram from the LAN socket of ls.  Anything that fails a check
 * is counted and dropped, never answered.
 */
static void
lan_datagram(struct lan *l, struct lan_sock *ls,
    const struct sockaddr_in *from, const uint8_t *buf, size_t len,
    int broadcast)
{
	struct mesh_peer	*p;
	struct imsg_addr	 ep;
	uint8_t			 key[WG_KEY_LEN], kind, type;
	uint8_t			 pt[GOSSIP_PING_LEN];
	uint8_t			 nonce[GOSSIP_PING_NONCE_LEN];
	char			 abuf[ENDPOINT_STR_MAX];
	uint16_t		 port;
	size_t			 ptlen;
	int64_t			 now, now_us;
	int			 r;

	if (lan_header_decode(buf, len, &kind, &port, key) == -1 ||
	    from->sin_addr.s_addr == htonl(INADDR_ANY) ||
	    from->sin_addr.s_addr == htonl(INADDR_BROADCAST) ||
	    from->sin_port == 0) {
		l->stats.drop_bad++;
		return;
	}
	if ((p = lan_peer(l, ls->port, key)) == NULL) {
		l->stats.drop_nopeer++;	/* ourselves, or not a peer */
		return;
	}
	if (p->pair == NULL) {
		l->stats.drop_nokey++;
		return;
	}
	now_us = realtime_us();
	now = now_us / 1000000;
	if (kind == LAN_BEACON) {
		if (!broadcast) {
			l->stats.drop_unicast++;
			return;
		}
		l->stats.rx_beacon++;
		/* up on this LAN already, and lately proven: nothing to do */
		memset(&ep, 0, sizeof(ep));
		ep.af = AF_INET;
		ep.port = port;
		memcpy(ep.addr, &from->sin_addr, 4);
		if (imsg_addr_equal(&p->device.endpoint, &ep) &&
		    now - p->lan_at < MESH_LAN_FRESH / 2)
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
	    gossip_ping_decode(pt, ptlen, nonce, &port) == -1) {
		l->stats.drop_bad++;
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
	memset(&ep, 0, sizeof(ep));
	ep.af = AF_INET;
	ep.port = ntohs(from->sin_port);
	memcpy(ep.addr, &from->sin_addr, 4);
	if (p->lan_ping_to.af == 0 || !imsg_addr_equal(&ep, &p->lan_ping_to) ||
	    sodium_memcmp(nonce, p->lan_nonce, sizeof(nonce)) != 0) {
		l->stats.drop_nonce++;
		return;
	}
	l->stats.rx_pong++;
	memset(&p->lan_ping_to, 0, sizeof(p->lan_ping_to));
	ep.port = port;		/* its WireGuard port, authenticated */
	if (!imsg_addr_equal(&p->lan, &ep))
		log_info("peer %s: answered at LAN endpoint %s", p->name,
		    imsg_addr_ntop(&ep, abuf, sizeof(abuf)));
	mesh_lan_verified(l->mesh, p, &ep, now);
}

/*
 * A PING (a new nonce, at most every LAN_PING_SECONDS for a peer) or a
 * PONG (echoing nonce) to "to", each with our listen port.
 */
static void
lan_ping(struct lan *l, struct lan_sock *ls, struct mesh_peer *p,
    const struct sockaddr_in *to, uint8_t type,
    const uint8_t echo[GOSSIP_PING_NONCE_LEN], int64_t now, int64_t now_us)
{
	uint8_t		 buf[LAN_DATAGRAM_LEN], pt[GOSSIP_PING_LEN];
	uint8_t		 nonce[GOSSIP_PING_NONCE_LEN];
	ssize_t		 hlen, slen;

	if (p->iface >= l->nifaces)
		return;
	if (type == GOSSIP_MSG_PING) {
		if (now - p->lan_ping_at < LAN_PING_SECONDS)
			return;
		randombytes_buf(nonce, sizeof(nonce));
	} else
		memcpy(nonce, echo, sizeof(nonce));
	if ((hlen = lan_header_encode(buf, sizeof(buf), LAN_SEALED, 0,
	    l->ifaces[p->iface].public_key)) == -1 ||
	    gossip_ping_encode(pt, sizeof(pt), nonce,
	    l->ifaces[p->iface].listen_port) == -1 ||
	    (slen = gossip_seal(p->pair, type, pt, sizeof(pt), now_us,
	    buf + hlen, sizeof(buf) - (size_t)hlen)) == -1 ||
	    (size_t)(hlen + slen) != sizeof(buf))
		return;
	if (sendto(ls->fd, buf, sizeof(buf), 0, (const struct sockaddr *)to,
	    sizeof(*to)) == -1) {
		log_debug("peer %s: LAN %s: %s", p->name,
		    type == GOSSIP_MSG_PING ? "PING" : "PONG",
		    strerror(errno));
		return;
	}
	l->stats.tx++;
	if (type == GOSSIP_MSG_PING) {
		memcpy(p->lan_nonce, nonce, sizeof(nonce));
		memset(&p->lan_ping_to, 0, sizeof(p->lan_ping_to));
		p->lan_ping_to.af = AF_INET;
		p->lan_ping_to.port = ntohs(to->sin_port);
		memcpy(p->lan_ping_to.addr, &to->sin_addr, 4);
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
