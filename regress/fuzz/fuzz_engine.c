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
 * The engine's handlers, engine_dispatch_parent() and
 * engine_dispatch_storage(), against whatever the other processes may
 * send: configuration transactions in and out of order, the device's
 * view of peers that exist or not, answers for control clients, the
 * control socket with and without a descriptor, pair keys, gossip and
 * LAN sockets, the state file's entries; engine_gossip_read() and
 * lan_read() against whatever arrives on a gossip or LAN socket; and
 * the signals.  engine.c, control.c and lan.c are included, so that the
 * state can be reset for every input.  Host names are not looked up
 * (fuzz_getaddrinfo(), fuzz_daemon.c): each lookup takes the next input
 * byte, wherever the engine makes it, and is answered at once when that
 * byte is odd, by an "answer" operation otherwise, as evdns would (an
 * error, or any number of addresses).  The clock is the input's, for
 * time() and for gossip's counters alike.  A gossip or LAN socket is a
 * copy of one end of a socketpair; recvfrom(), recvmsg() and sendto()
 * are replaced, so that a datagram arrives from any address the input
 * says (on a LAN socket, with IP_PKTINFO saying where it was sent), and
 * what the engine sends is caught.  exit() is replaced too, so that the
 * engine's last words to storage, when the parent hangs up or a signal
 * ends it, can be checked.
 *
 * Input: a flags byte
 *	bit 0		start configured (fuzz_send_conf())
 *	bit 1		start with the control socket
 *	bit 2		with a control client connected, so that answers
 *			relayed from the parent reach one
 *	bits 3-4	verbosity
 *	bit 5		when configured: with a pair key for every
 *			peer, a gossip socket for both interfaces and a
 *			LAN socket for wg0's port
 *	bit 6		when configured: storage has answered the loads
 *	bit 7		when configured: every peer is up
 * then operations, each an op byte and what it needs:
 *	bits 0-4	0 to 21: a message from the parent, of the type
 *			fuzz_type() gives for it
 *			(but these: 0: a signal, SIGHUP, SIGTERM or SIGINT
 *			by the next byte; 1: a gossip datagram arrives, see
 *			inject(); 2: storage answers a load, see
 *			storage_answer(); 3: the parent hangs up; 4: a LAN
 *			datagram arrives, see inject_lan(); 7: more
 *			IMSG_PAIR_KEY; 8: more IMSG_SOCKET_GOSSIP, always
 *			with a socket; 19: IMSG_LAN_LINKS; 20: more
 *			IMSG_SOCKET_LAN, see
 *			socket_lan()); 22: of a type of four bytes; 23:
 *			from storage, type the next byte (those too
 *			through fuzz_type()); 24: the clock
 *			moves on (a byte of seconds) and the engine ticks;
 *			25: a lookup is answered; 26: a well-formed
 *			configuration; more of the messages that matter
 *			most: 27: RECONF_PEER, 28-29: DEVICE_PEER, 30:
 *			RECONF_IFACE, 31: CTL_END
 *	bit 5		with a descriptor
 *	bit 6		the payload is a length (two bytes) and that many
 *			input bytes; otherwise one its type wants, made
 *			mostly of plausible values
 *	bit 7		held back, to arrive with the next message
 * and for a message a byte that picks its peer id: the engine's
 * generation, the next one, client 1, or four input bytes.
 *
 * What must hold, beside no crash, leak or undefined behaviour: every
 * request the engine makes of the parent passes the parent's checks
 * (the configured generation, interface and peer, a unicast endpoint),
 * every answer to a client is well-formed, and a configuration the
 * engine accepted is whole: each interface's peers numbered 0 to
 * npeers - 1, once each.  What it sends the storage process passes
 * storage's checks: a LOAD once per interface, for a configured one;
 * ENTRYs only for an interface whose state was loaded, each for a
 * configured peer, a unicast endpoint, either observed (at a time seen,
 * not ahead of the clock) or persisted (as storage gave it), then that
 * interface's SAVE with their count; a SAVE, even of nothing, for every
 * loaded interface when the parent hangs up or SIGTERM or SIGINT comes
 * (SIGHUP does nothing).  What it takes from storage is exactly what is
 * well-formed and asked for.  Gossip goes only through the socket of
 * the peer's interface, to the peer's address and gossip port, sealed
 * with the pair key the parent gave for that peer, only to a peer that
 * is up, saying nothing of the peer it goes to or of peers on other
 * interfaces.  A datagram that is forged, replayed or from anywhere but
 * a peer's address and port makes the engine do nothing; one that
 * passes, a PUNCH_REQUEST, is answered by nothing larger; each is
 * counted once, taken or dropped for one reason.  A pair key
 * goes to the peer the parent named, with the interface's public key;
 * the engine keeps gossip sockets only for configured interfaces, one
 * each, and LAN sockets only for ports that an interface discovers on,
 * one each.  LAN discovery: see socket_lan(), check_lan_send(),
 * inject_lan() and tick().
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netdb.h>

#include "wgmeshd.h"
#include "wire.h"
#include "engine.h"
#include "fuzz_daemon.h"

static int	 fuzz_imsgev_compose(struct imsgev *, uint32_t, uint32_t, int,
		    const void *, size_t);
static ssize_t	 fuzz_sendto(int, const void *, size_t, int,
		    const struct sockaddr *, socklen_t);
static ssize_t	 fuzz_recvfrom(int, void *, size_t, int, struct sockaddr *,
		    socklen_t *);
static ssize_t	 fuzz_recvmsg(int, struct msghdr *, int);
static int	 fuzz_setsockopt(int, int, int, const void *, socklen_t);
static int	 fuzz_gossip_pair_init(struct gossip_pair *, const uint8_t *,
		    const uint8_t *, const uint8_t *);
static int	 fuzz_mesh_reconf(struct mesh *, const struct mesh_peer *,
		    size_t);
static void	 fuzz_exit(int) __attribute__((__noreturn__));

#define imsg_get		fuzz_imsg_get
#define imsg_free		fuzz_imsg_free
#define time			fuzz_time
#define realtime_us		fuzz_realtime_us
#define evdns_getaddrinfo	fuzz_getaddrinfo
#define imsgev_compose		fuzz_imsgev_compose
#define sendto			fuzz_sendto
#define recvfrom		fuzz_recvfrom
#define recvmsg			fuzz_recvmsg
#define setsockopt		fuzz_setsockopt
#define gossip_pair_init	fuzz_gossip_pair_init
#define mesh_reconf		fuzz_mesh_reconf
#define exit			fuzz_exit
#include "../../wgmeshd/engine.c"
#include "../../wgmeshd/control.c"
#include "../../wgmeshd/lan.c"
#undef exit
#undef mesh_reconf
#undef gossip_pair_init
#undef setsockopt
#undef recvmsg
#undef recvfrom
#undef sendto
#undef imsgev_compose
#undef realtime_us
#undef time

#define FUZZ_MAXOPS	256
#define FUZZ_CLOCK	1700000000
#define FUZZ_NLOADS	8	/* interfaces whose state was asked for */
#define FUZZ_NPAIRS	16	/* pair keys remembered */
#define FUZZ_NPINGS	8	/* LAN challenges remembered */
#define FUZZ_NGIVEN	64	/* entries storage gave, remembered */
#define WIRE_INET	4	/* address families in gossip */
#define WIRE_INET6	6

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* an interface's state, as storage sees the engine ask for it */
struct load {
	char			 ifname[IMSG_IFNAME_MAX];
	int			 loading;	/* LOAD sent, not answered */
	uint32_t		 received;	/* ENTRYs taken meanwhile */
	int			 final;		/* saved at exit */
};

/* a pair key the engine took, and the peer's side of it */
struct pair {
	uint8_t			 own[WG_KEY_LEN];	/* the interface's */
	uint8_t			 peer[WG_KEY_LEN];
	uint8_t			 key[GOSSIP_KEY_LEN];
	struct gossip_pair	 gp;	/* the peer's: seals what arrives */
};

/* a datagram for fuzz_recvfrom() to return */
struct datagram {
	int			 pending;
	uint8_t			 data[GOSSIP_MAX_DATAGRAM_BYTES + 64];
	size_t			 len;
	struct sockaddr_in6	 from;
	socklen_t		 fromlen;
};

/* one for fuzz_recvmsg(), on a LAN socket of either family */
struct lan_datagram {
	int			 pending;
	uint8_t			 data[LAN_DATAGRAM_LEN + 16];
	size_t			 len;
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	int			 pktinfo;	/* with IP(V6)_PKTINFO: */
	struct in_addr		 dst;	/* sent here (IPv4) */
	struct in6_addr		 dst6;	/* (IPv6) */
	uint32_t		 ifindex;	/* arrived on (IPv6) */
	int			 hoplimit;	/* TTL, hop limit; -1: not said */
};

/* a LAN challenge the engine sent, as caught */
struct lan_ping {
	const struct mesh_peer	*p;		/* to this peer, */
	unsigned long		 conf;	/* in configuration # */
	uint8_t			 key[WG_KEY_LEN];	/* the peer's */
	uint8_t			 nonce[GOSSIP_PING_NONCE_LEN];
	struct sockaddr_storage	 to;
	socklen_t		 tolen;
	int64_t			 at;
};

/* an entry storage gave the engine */
struct given {
	uint8_t			 key[WG_KEY_LEN];
	struct imsg_addr	 endpoint;
	int64_t			 last_seen;
};

/* what may be sent on a LAN socket while a datagram is read */
struct lan_expect {
	int			 reading;
	const struct mesh_peer	*from;		/* the peer named */
	int			 may_ping;	/* a challenge back */
	int			 may_pong;	/* an answer, with: */
	uint8_t			 nonce[GOSSIP_PING_NONCE_LEN];
	int			 any;		/* a replay: any */
	int			 pinged, ponged;
};

static int	 deliver(struct fuzz_pipe *);
static int	 settle(struct fuzz_pipe *);
static void	 check_conf(void);
static void	 check_gsocks(void);
static void	 check_lsocks(void);
static struct lan_sock *lan_sock_by_fd(int);
static struct mesh_peer *lan_named(uint16_t, const uint8_t *);
static size_t	 lan_beacons_due(void);
static void	 check_lan_send(struct lan_sock *, const void *, size_t,
		    const struct sockaddr *, socklen_t);
static struct lan_ping *ping_find(const uint8_t *);
static int	 inject_lan(struct fuzz_in *);
static int	 socket_lan(struct fuzz_in *, uint8_t);
static int	 engine_ends(int);
static void	 check_to_parent(uint32_t, uint32_t, const void *);
static void	 check_to_client(uint32_t, const void *);
static void	 check_to_storage(uint32_t, const void *);
static void	 check_gossip(struct mesh_peer *, const uint8_t *, size_t);
static int	 iface_index(const char *);
static struct mesh_peer *peer_by_key(uint32_t, const uint8_t *);
static int	 peer_other(const struct mesh_peer *, const uint8_t *);
static int	 peer_is_up(const struct mesh_peer *);
static struct load *load_find(const char *);
static int	 storage_expect(uint32_t, const void *, size_t);
static void	 storage_took(uint32_t, const void *);
static int	 storage_send(uint32_t, int, const void *, size_t);
static int	 storage_answer(struct fuzz_in *);
static struct pair *pair_find(const uint8_t *, size_t);
static size_t	 gossip_payload(struct fuzz_in *, uint8_t, uint32_t,
		    uint8_t *);
static int	 inject(struct fuzz_in *);
static uint64_t	 gossip_counted(void);
static size_t	 payload(struct fuzz_in *, uint32_t, uint8_t *);
static int	 answer(struct fuzz_in *);
static int	 tick(struct fuzz_in *);
static void	 client_connect(void);
static void	 start(uint8_t);
static void	 reset(int);

static struct fuzz_pipe	 pp, ps;	/* from the parent, storage */
static int		 listen_fd = -1, client_fd = -1;
static struct sockaddr_un listen_sun;
static struct mesh_peer	*checked;	/* the configuration checked */
static struct load	 loads[FUZZ_NLOADS];
static size_t		 nloads;
static char		 group_ifname[IMSG_IFNAME_MAX];	/* ENTRYs, then SAVE */
static size_t		 group_n;
static struct pair	 pairs[FUZZ_NPAIRS];
static size_t		 npairs, pairs_next;
static struct gossip_pair *pair_failed;	/* fatal() leaves it behind */
static struct datagram	 dgram;
static uint8_t		 last_dgram[GOSSIP_MAX_DATAGRAM_BYTES];
static size_t		 last_len;
static int		 last_taken;	/* by the engine, when it came */
static size_t		 nsent;		/* gossip datagrams sent */
static size_t		 sent_max;	/* the largest, in bytes */
static size_t		 nset;		/* IMSG_SET_ENDPOINTs */
static int		 exiting, exited;
static unsigned long	 nconf;		/* mesh_reconf() calls */
static struct given	 given[FUZZ_NGIVEN];
static size_t		 ngiven;
static int		 given_lost;	/* more than could be kept */
static struct lan_datagram ldgram;
static uint8_t		 last_ldgram[sizeof(ldgram.data)];
static size_t		 last_llen;
static int		 last_ltaken;	/* its counter was taken */
static struct lan_expect lan_may;
static struct lan_ping	 pings[FUZZ_NPINGS];
static size_t		 npings, pings_next;
static int		 beacons_ok;	/* now, the engine may beacon */
static size_t		 nbeacons;
static uint32_t		 mcast_if;	/* IPV6_MULTICAST_IF set */

static int
fuzz_imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid,
    int fd, const void *data, size_t len)
{
	struct engine	*e = &engine_state;
	struct imsg	 imsg;
	const char	*why;

	/*
	 * What every receiver refuses by proto.h's table: a type the
	 * engine does not send, a payload of another size, a descriptor.
	 * The check_to_*() take it from there: which types each receiver
	 * takes, and what they must mean.
	 */
	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = type;
	imsg.fd = fd;
	imsg.datalen = len;
	if ((why = imsg_check(&imsg, PROC_ENGINE)) != NULL)
		fuzz_fail("the engine sends what is refused: %s", why);
	if (iev == &e->iev_parent)
		check_to_parent(type, peerid, data);
	else if (iev == &e->iev_storage)
		check_to_storage(type, data);
	else
		check_to_client(type, data);
	return (imsgev_compose(iev, type, peerid, fd, data, len));
}

/* The parent hung up: the engine saves and exits. */
static void
fuzz_exit(int status)
{
	if (status != 0 || !exiting)
		fuzz_fail("exit(%d)%s", status, exiting ? "" :
		    ", the parent still there");
	exited = 1;
	longjmp(fuzz_jmp, 1);
}

/*
 * The engine's pair key for a peer: the key of the IMSG_PAIR_KEY being
 * handled, the public key of the interface and of the peer it names.
 * Remembered, so that what the engine seals can be opened, and what
 * arrives sealed.
 */
static int
fuzz_gossip_pair_init(struct gossip_pair *gp, const uint8_t *key,
    const uint8_t *own, const uint8_t *peer)
{
	struct engine		*e = &engine_state;
	struct imsg_pair_key	 pk;
	struct mesh_peer	*p;
	struct pair		*hp;
	int			 r;

	if (fuzz_cur_hdr.type != IMSG_PAIR_KEY || fuzz_cur_len != sizeof(pk))
		fuzz_fail("a pair key from %s", imsg_type_name(
		    fuzz_cur_hdr.type));
	memcpy(&pk, fuzz_cur_data, sizeof(pk));
	if ((p = mesh_peer_find(&e->mesh, pk.iface, pk.peer)) == NULL ||
	    pk.iface >= e->nifaces)
		fuzz_fail("a pair key for no peer %u/%u", pk.iface, pk.peer);
	if (memcmp(key, pk.key, sizeof(pk.key)) != 0 ||
	    memcmp(own, e->ifaces[pk.iface].public_key, WG_KEY_LEN) != 0 ||
	    memcmp(peer, p->public_key, WG_KEY_LEN) != 0)
		fuzz_fail("the pair key for %u/%u used otherwise", pk.iface,
		    pk.peer);
	/* on failure fatal() follows, and would leave gp behind */
	if ((r = gossip_pair_init(gp, key, own, peer)) == -1) {
		pair_failed = gp;
		return (r);
	}
	/* a new replay window: what was sent before may be taken again */
	last_taken = last_ltaken = 0;
	for (hp = pairs; hp < pairs + npairs; hp++)
		if (memcmp(hp->own, own, WG_KEY_LEN) == 0 &&
		    memcmp(hp->peer, peer, WG_KEY_LEN) == 0 &&
		    memcmp(hp->key, key, GOSSIP_KEY_LEN) == 0)
			return (r);	/* keeps its counters */
	if (npairs < FUZZ_NPAIRS)
		hp = &pairs[npairs++];
	else {
		hp = &pairs[pairs_next];
		pairs_next = (pairs_next + 1) % FUZZ_NPAIRS;
	}
	memcpy(hp->own, own, WG_KEY_LEN);
	memcpy(hp->peer, peer, WG_KEY_LEN);
	memcpy(hp->key, key, GOSSIP_KEY_LEN);
	if (gossip_pair_init(&hp->gp, key, peer, own) == -1)
		fuzz_fail("the peer's side of a pair key");
	return (r);
}

/* A new configuration: the LAN challenges caught are of the old one. */
static int
fuzz_mesh_reconf(struct mesh *m, const struct mesh_peer *conf, size_t n)
{
	nconf++;
	return (mesh_reconf(m, conf, n));
}

/* A datagram the input made, or what the socket has (nothing). */
static ssize_t
fuzz_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
    socklen_t *fromlen)
{
	size_t	n;

	if (!dgram.pending)
		return (recvfrom(fd, buf, len, flags, from, fromlen));
	dgram.pending = 0;
	n = dgram.len < len ? dgram.len : len;
	memcpy(buf, dgram.data, n);
	if (from != NULL && fromlen != NULL) {
		memcpy(from, &dgram.from, *fromlen < dgram.fromlen ?
		    *fromlen : dgram.fromlen);
		*fromlen = dgram.fromlen;
	}
	return ((ssize_t)n);
}

/*
 * The LAN datagram the input made, as the kernel gives it with
 * IP_PKTINFO and IP_TTL (IPv4) or IPV6_PKTINFO and IPV6_HOPLIMIT (IPv6), or what
 * the socket has (nothing).
 */
static ssize_t
fuzz_recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct lan_sock		*ls;
	struct cmsghdr		*cm;
	struct in_pktinfo	 pi;
	struct in6_pktinfo	 pi6;
	size_t			 n, need;

	if ((ls = lan_sock_by_fd(fd)) == NULL || msg->msg_iovlen != 1)
		fuzz_fail("recvmsg: descriptor %d is no LAN socket", fd);
	if (!ldgram.pending)
		return (recvmsg(fd, msg, flags));
	ldgram.pending = 0;
	n = ldgram.len < msg->msg_iov[0].iov_len ? ldgram.len :
	    msg->msg_iov[0].iov_len;
	memcpy(msg->msg_iov[0].iov_base, ldgram.data, n);
	msg->msg_flags = ldgram.len > n ? MSG_TRUNC : 0;
	if (msg->msg_name != NULL) {
		memcpy(msg->msg_name, &ldgram.from,
		    msg->msg_namelen < ldgram.fromlen ? msg->msg_namelen :
		    ldgram.fromlen);
		msg->msg_namelen = ldgram.fromlen;
	}
	if (ls->af == AF_INET6) {
		need = (ldgram.pktinfo ? CMSG_SPACE(sizeof(pi6)) : 0) +
		    (ldgram.hoplimit >= 0 ? CMSG_SPACE(sizeof(int)) : 0);
		if (need == 0) {
			msg->msg_controllen = 0;
			return ((ssize_t)n);
		}
		if (msg->msg_controllen < need) {
			msg->msg_flags |= MSG_CTRUNC;
			msg->msg_controllen = 0;
			return ((ssize_t)n);
		}
		msg->msg_controllen = need;
		cm = CMSG_FIRSTHDR(msg);
		if (ldgram.pktinfo) {
			memset(&pi6, 0, sizeof(pi6));
			pi6.ipi6_addr = ldgram.dst6;
			pi6.ipi6_ifindex = ldgram.ifindex;
			cm->cmsg_level = IPPROTO_IPV6;
			cm->cmsg_type = IPV6_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(pi6));
			memcpy(CMSG_DATA(cm), &pi6, sizeof(pi6));
			cm = CMSG_NXTHDR(msg, cm);
		}
		if (ldgram.hoplimit >= 0 && cm != NULL) {
			cm->cmsg_level = IPPROTO_IPV6;
			cm->cmsg_type = IPV6_HOPLIMIT;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &ldgram.hoplimit, sizeof(int));
		}
		return ((ssize_t)n);
	}
	need = (ldgram.pktinfo ? CMSG_SPACE(sizeof(pi)) : 0) +
	    (ldgram.hoplimit >= 0 ? CMSG_SPACE(sizeof(int)) : 0);
	if (need == 0) {
		msg->msg_controllen = 0;
		return ((ssize_t)n);
	}
	if (msg->msg_controllen < need) {
		msg->msg_flags |= MSG_CTRUNC;
		msg->msg_controllen = 0;
		return ((ssize_t)n);
	}
	msg->msg_controllen = need;
	cm = CMSG_FIRSTHDR(msg);
	if (ldgram.pktinfo) {
		memset(&pi, 0, sizeof(pi));
		pi.ipi_ifindex = 2;
		pi.ipi_spec_dst.s_addr = htonl(0xc0a80101);
		pi.ipi_addr = ldgram.dst;
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		cm = CMSG_NXTHDR(msg, cm);
	}
	if (ldgram.hoplimit >= 0 && cm != NULL) {
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_TTL;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &ldgram.hoplimit, sizeof(int));
	}
	return ((ssize_t)n);
}

/*
 * On an IPv6 LAN socket, the link the next beacon leaves by: one the
 * parent named.  Nothing else is set on a socket the engine was given.
 */
static int
fuzz_setsockopt(int fd, int level, int name, const void *val,
    socklen_t len)
{
	struct lan_sock	*ls;
	struct lan	*l = &engine_state.lan;
	size_t		 i;
	int		 v;

	if ((ls = lan_sock_by_fd(fd)) == NULL || ls->af != AF_INET6 ||
	    level != IPPROTO_IPV6 || name != IPV6_MULTICAST_IF ||
	    len != sizeof(v))
		fuzz_fail("setsockopt(%d, %d, %d) on a socket given", fd,
		    level, name);
	memcpy(&v, val, sizeof(v));
	for (i = 0; i < l->nlinks; i++)
		if (l->links[i] == (uint32_t)v)
			break;
	if (v <= 0 || i == l->nlinks)
		fuzz_fail("IPV6_MULTICAST_IF %d, no link the parent named", v);
	mcast_if = (uint32_t)v;
	return (0);
}

/*
 * A poke: an empty datagram to a configured peer's address and gossip
 * port.  Gossip: through the socket of the peer's interface, to its
 * address and gossip port.  On a LAN socket: see check_lan_send().
 */
static ssize_t
fuzz_sendto(int fd, const void *buf, size_t len, int flags,
    const struct sockaddr *sa, socklen_t salen)
{
	struct engine			*e = &engine_state;
	const struct sockaddr_in6	*sin6 = (const void *)sa;
	struct mesh_peer		*p = NULL;
	struct lan_sock			*ls;
	size_t				 i, k;
	int				 ii;

	if ((ls = lan_sock_by_fd(fd)) != NULL) {
		check_lan_send(ls, buf, len, sa, salen);
		return ((ssize_t)len);
	}
	if (sa == NULL || salen != sizeof(*sin6) ||
	    sin6->sin6_family != AF_INET6)
		fuzz_fail("sendto: not an IPv6 address");
	if (fd == e->poke_fd) {
		for (i = 0; i < e->mesh.npeers; i++) {
			p = &e->mesh.peers[i];
			if (p->iface < e->nifaces &&
			    memcmp(p->control, &sin6->sin6_addr, 16) == 0 &&
			    ntohs(sin6->sin6_port) ==
			    e->ifaces[p->iface].gossip_port)
				break;
		}
		if (i == e->mesh.npeers || len != 0)
			fuzz_fail("a poke of %zu bytes, not to a peer", len);
		return (0);
	}
	for (i = 0; i < e->ngsocks; i++)
		if (e->gsocks[i].fd == fd)
			break;
	if (i == e->ngsocks || !fuzz_fd_is_copy(fd))
		fuzz_fail("sendto: descriptor %d is no gossip socket", fd);
	if ((ii = iface_index(e->gsocks[i].ifname)) == -1)
		fuzz_fail("gossip on %s, not configured", e->gsocks[i].ifname);
	/* (a hostile parent may name two interfaces alike) */
	for (k = 0; k < e->mesh.npeers; k++) {
		p = &e->mesh.peers[k];
		if (p->iface < e->nifaces && strcmp(e->ifaces[p->iface].ifname,
		    e->gsocks[i].ifname) == 0 &&
		    memcmp(p->control, &sin6->sin6_addr, 16) == 0 &&
		    ntohs(sin6->sin6_port) == e->ifaces[p->iface].gossip_port)
			break;
	}
	if (k == e->mesh.npeers)
		fuzz_fail("gossip on %s to [%02x…]:%u, no peer of it",
		    e->gsocks[i].ifname, sin6->sin6_addr.s6_addr[0],
		    ntohs(sin6->sin6_port));
	check_gossip(p, buf, len);
	nsent++;
	if (len > sent_max)
		sent_max = len;
	return ((ssize_t)len);
}

static int
iface_index(const char *ifname)
{
	struct engine	*e = &engine_state;
	size_t		 i;

	for (i = 0; i < e->nifaces; i++)
		if (strcmp(e->ifaces[i].ifname, ifname) == 0)
			return ((int)i);
	return (-1);
}

/* A peer with that key on the interface, or one named alike. */
static struct mesh_peer *
peer_by_key(uint32_t iface, const uint8_t *key)
{
	struct engine	*e = &engine_state;
	struct mesh_peer *p;
	size_t		 i;

	for (i = 0; i < e->mesh.npeers; i++) {
		p = &e->mesh.peers[i];
		if ((p->iface == iface || (p->iface < e->nifaces &&
		    iface < e->nifaces && strcmp(e->ifaces[p->iface].ifname,
		    e->ifaces[iface].ifname) == 0)) &&
		    memcmp(p->public_key, key, WG_KEY_LEN) == 0)
			return (p);
	}
	return (NULL);
}

/* Another peer than p, on its interface (or one named alike), has key. */
static int
peer_other(const struct mesh_peer *p, const uint8_t *key)
{
	struct engine		*e = &engine_state;
	const struct mesh_peer	*q;
	size_t			 i;

	for (i = 0; i < e->mesh.npeers; i++) {
		q = &e->mesh.peers[i];
		if (q != p && q->iface < e->nifaces && p->iface < e->nifaces &&
		    strcmp(e->ifaces[q->iface].ifname,
		    e->ifaces[p->iface].ifname) == 0 &&
		    memcmp(q->public_key, key, WG_KEY_LEN) == 0)
			return (1);
	}
	return (0);
}

/* Up, as mesh.c decides: gossip goes to such peers only. */
static int
peer_is_up(const struct mesh_peer *p)
{
	return (mesh_peer_is_up(p, fuzz_clock));
}

/* The newest pair key for that peer (n: which one back), or NULL. */
static struct pair *
pair_find(const uint8_t *peer, size_t n)
{
	size_t	i, k;

	for (i = 0; i < npairs; i++) {
		k = (pairs_next + npairs - 1 - i) % npairs;
		if (memcmp(pairs[k].peer, peer, WG_KEY_LEN) == 0 && n-- == 0)
			return (&pairs[k]);
	}
	return (NULL);
}

/*
 * A datagram for p: sealed with a key given for p, of a type its
 * receiver takes, saying nothing of p itself or of strangers.
 */
static void
check_gossip(struct mesh_peer *p, const uint8_t *buf, size_t len)
{
	struct gossip_endpoint	 ep[GOSSIP_ENDPOINTS_MAX];
	struct gossip_pair	 gp;
	struct gossip_relay	 relay;
	struct identity		 id;
	struct engine		*e = &engine_state;
	struct pair		*hp;
	uint8_t			 pt[GOSSIP_MAX_PAYLOAD_BYTES], key[WG_KEY_LEN];
	uint8_t			 type = 0;
	size_t			 ptlen = 0, i, n;
	int			 r = GOSSIP_E_AUTH, want;

	if (len > GOSSIP_MAX_DATAGRAM_BYTES)
		fuzz_fail("a gossip datagram of %zu bytes", len);
	for (i = 0; r != GOSSIP_OK && (hp = pair_find(p->public_key, i)) !=
	    NULL; i++) {
		/* the peer's side, with a window of its own */
		gp = hp->gp;
		memset(&gp.replay, 0, sizeof(gp.replay));
		r = gossip_open(&gp, buf, len, fuzz_realtime_us(), &type, pt,
		    sizeof(pt), &ptlen);
	}
	if (r != GOSSIP_OK)
		fuzz_fail("gossip to peer %s not sealed with a key given for "
		    "it", p->name);
	/* an answer goes back through the tunnel it came by */
	if (!peer_is_up(p) && type != GOSSIP_MSG_ALIVE_ACK)
		fuzz_fail("gossip to peer %s, which is not up", p->name);
	switch (type) {
	case GOSSIP_MSG_ALIVE:
	case GOSSIP_MSG_ALIVE_ACK:
		if (ptlen != GOSSIP_ALIVE_LEN)
			fuzz_fail("gossip type %u to %s: %zu bytes", type,
			    p->name, ptlen);
		break;
	case GOSSIP_MSG_ENDPOINTS:
	case GOSSIP_MSG_PUNCH:
		if (gossip_endpoints_decode(pt, ptlen, ep, type ==
		    GOSSIP_MSG_PUNCH ? 1 : GOSSIP_ENDPOINTS_MAX, &n) == -1 ||
		    n == 0)
			fuzz_fail("gossip type %u to %s: refused there", type,
			    p->name);
		/* a whole table ends with where it sees the receiver */
		for (i = 0; i < n; i++)
			if (!peer_other(p, ep[i].public_key) &&
			    (type != GOSSIP_MSG_ENDPOINTS || memcmp(
			    ep[i].public_key, p->public_key, WG_KEY_LEN) != 0))
				fuzz_fail("gossip type %u to %s: of a "
				    "stranger", type, p->name);
		break;
	case GOSSIP_MSG_RELAY_REQUEST:
	case GOSSIP_MSG_RELAY_ASK:
	case GOSSIP_MSG_RELAY_ANSWER:
	case GOSSIP_MSG_DIRECT_TRIAL:
		if (gossip_relay_decode(pt, ptlen, type, &relay) == -1)
			fuzz_fail("relay message type %u to %s: refused there",
			    type, p->name);
		if (type != GOSSIP_MSG_DIRECT_TRIAL &&
		    !peer_other(p, relay.public_key))
			fuzz_fail("relay message type %u to %s: for itself "
			    "or a stranger", type, p->name);
		break;
	case GOSSIP_MSG_PUNCH_REQUEST:
		if (gossip_punch_request_decode(pt, ptlen, key) == -1)
			fuzz_fail("a PUNCH_REQUEST to %s: refused there",
			    p->name);
		if (!peer_other(p, key))
			fuzz_fail("a PUNCH_REQUEST to %s: for itself or a "
			    "stranger", p->name);
		break;
	case GOSSIP_MSG_IDENTITY:
		/* of itself, to the peer by its name here, in the form */
		if (identity_decode(pt, ptlen, &id, &want) == -1 ||
		    strcmp(id.peer_name, p->name) != 0 ||
		    p->iface >= e->nifaces || strcmp(id.name,
		    e->ifaces[p->iface].node_name) != 0 ||
		    memcmp(id.public_key, e->ifaces[p->iface].public_key,
		    WG_KEY_LEN) != 0)
			fuzz_fail("an IDENTITY to %s: refused there, or not "
			    "ours", p->name);
		break;
	default:
		fuzz_fail("gossip type %u to %s", type, p->name);
	}
}

/* The LAN socket with that descriptor, or NULL. */
static struct lan_sock *
lan_sock_by_fd(int fd)
{
	struct lan	*l = &engine_state.lan;
	size_t		 i;

	for (i = 0; i < l->nsocks; i++)
		if (l->socks[i]->fd == fd)
			return (l->socks[i]);
	return (NULL);
}

/*
 * The peer that a LAN datagram on port names by its key: of the first
 * interface with LAN discovery on that port that has one, as lan.c
 * looks it up; or NULL.
 */
static struct mesh_peer *
lan_named(uint16_t port, const uint8_t *key)
{
	struct engine	*e = &engine_state;
	size_t		 i, k;

	for (i = 0; i < e->nifaces; i++) {
		if (!e->ifaces[i].lan_discovery ||
		    e->ifaces[i].gossip_port != port)
			continue;
		for (k = 0; k < e->mesh.npeers; k++)
			if (e->mesh.peers[k].iface == i &&
			    memcmp(e->mesh.peers[k].public_key, key,
			    WG_KEY_LEN) == 0)
				return (&e->mesh.peers[k]);
	}
	return (NULL);
}

/*
 * Beacons a round sends: interfaces that discover where it has a socket,
 * one to the IPv4 broadcast address, one per link to ff02::1.
 */
static size_t
lan_beacons_due(void)
{
	struct engine	*e = &engine_state;
	size_t		 i, n = 0;

	for (i = 0; i < e->nifaces; i++) {
		if (!e->ifaces[i].lan_discovery ||
		    e->ifaces[i].listen_port == 0)
			continue;
		if (lan_sock_find(&e->lan, e->ifaces[i].gossip_port,
		    AF_INET) != NULL)
			n++;
		if (lan_sock_find(&e->lan, e->ifaces[i].gossip_port,
		    AF_INET6) != NULL)
			n += e->lan.nlinks;
	}
	return (n);
}

/* The newest challenge caught for the peer with that key, or NULL. */
static struct lan_ping *
ping_find(const uint8_t *key)
{
	size_t	i, k;

	for (i = 0; i < npings; i++) {
		k = (pings_next + npings - 1 - i) % npings;
		if (memcmp(pings[k].key, key, WG_KEY_LEN) == 0)
			return (&pings[k]);
	}
	return (NULL);
}

/*
 * What goes out on a LAN socket, always a whole LAN datagram that its
 * receiver takes: to the broadcast address and the socket's port, a
 * beacon of an interface that discovers there, with its listen port and
 * key, when the engine beacons (when given a socket, and on ticks); or,
 * only while a datagram is read and only to where it came from, nothing
 * larger, for the peer it names, in the name of that peer's interface
 * and sealed with a key given for that peer: a PONG with the nonce of a
 * genuine PING, or a PING after a beacon or a genuine PING, at most one
 * per peer every LAN_PING_SECONDS; each with the interface's listen
 * port.
 */
static void
check_lan_send(struct lan_sock *ls, const void *buf, size_t len,
    const struct sockaddr *sa, socklen_t salen)
{
	struct engine			*e = &engine_state;
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;
	const struct sockaddr_in	*fsin = (const void *)&ldgram.from;
	const struct sockaddr_in6	*fsin6 = (const void *)&ldgram.from;
	const struct mesh_peer		*p;
	int				 group, same;
	struct gossip_pair		 gp;
	struct pair			*hp;
	struct lan_ping			*lp;
	uint8_t				 key[WG_KEY_LEN], kind, type = 0;
	uint8_t				 pt[GOSSIP_MAX_PAYLOAD_BYTES];
	uint8_t				 nonce[GOSSIP_PING_NONCE_LEN];
	struct imsg_addr		 path;
	uint16_t			 port;
	size_t				 i, ptlen = 0;
	int				 r = GOSSIP_E_AUTH;

	if (!fuzz_fd_is_copy(ls->fd))
		fuzz_fail("LAN: descriptor %d is no socket given", ls->fd);
	if (ls->af == AF_INET && (sa == NULL || salen != sizeof(*sin) ||
	    sin->sin_family != AF_INET))
		fuzz_fail("LAN: sendto not an IPv4 address");
	if (ls->af == AF_INET6 && (sa == NULL || salen != sizeof(*sin6) ||
	    sin6->sin6_family != AF_INET6))
		fuzz_fail("LAN: sendto not an IPv6 address");
	if (len != LAN_DATAGRAM_LEN)
		fuzz_fail("LAN: a datagram of %zu bytes", len);
	if (lan_header_decode(buf, len, &kind, &port, key) == -1)
		fuzz_fail("LAN: a datagram its receiver refuses");
	group = ls->af == AF_INET ?
	    sin->sin_addr.s_addr == htonl(INADDR_BROADCAST) :
	    memcmp(&sin6->sin6_addr, &lan_all_nodes, 16) == 0;
	if (group) {
		if (!beacons_ok)
			fuzz_fail("LAN: a broadcast %s", lan_may.reading ?
			    "in answer to a datagram" : "out of turn");
		if (kind != LAN_BEACON || ntohs(sin->sin_port) != ls->port)
			fuzz_fail("LAN: a broadcast to port %u on the socket "
			    "of %u, kind %u", ntohs(sin->sin_port), ls->port,
			    kind);
		if (ls->af == AF_INET6 && mcast_if == 0)
			fuzz_fail("LAN: to ff02::1 by no link chosen");
		mcast_if = 0;
		for (i = 0; i < e->nifaces; i++)
			if (e->ifaces[i].lan_discovery &&
			    e->ifaces[i].gossip_port == ls->port &&
			    e->ifaces[i].listen_port == port &&
			    memcmp(e->ifaces[i].public_key, key,
			    WG_KEY_LEN) == 0)
				break;
		if (i == e->nifaces)
			fuzz_fail("LAN: a beacon for port %u, of no interface "
			    "that discovers on port %u", port, ls->port);
		nbeacons++;
		return;
	}
	if (!lan_may.reading)
		fuzz_fail("LAN: a datagram to a single address, unprompted");
	if (ls->af == AF_INET)
		same = sin->sin_addr.s_addr == fsin->sin_addr.s_addr &&
		    sin->sin_port == fsin->sin_port;
	else
		same = memcmp(&sin6->sin6_addr, &fsin6->sin6_addr, 16) == 0 &&
		    sin6->sin6_port == fsin6->sin6_port &&
		    sin6->sin6_scope_id == fsin6->sin6_scope_id &&
		    sin6->sin6_scope_id == ldgram.ifindex;
	if (!same)
		fuzz_fail("LAN: an answer elsewhere than where the datagram "
		    "came from");
	if (len > ldgram.len)
		fuzz_fail("LAN: a datagram of %zu bytes answered with %zu",
		    ldgram.len, len);
	if (kind != LAN_SEALED)
		fuzz_fail("LAN: a beacon to a single address");
	if ((p = lan_may.from) == NULL)
		fuzz_fail("LAN: a datagram naming no peer answered");
	if (p->iface >= e->nifaces || memcmp(key,
	    e->ifaces[p->iface].public_key, WG_KEY_LEN) != 0)
		fuzz_fail("LAN: to %s, not in the name of its interface",
		    p->name);
	for (i = 0; r != GOSSIP_OK && (hp = pair_find(p->public_key, i)) !=
	    NULL; i++) {
		/* the peer's side, with a window of its own */
		gp = hp->gp;
		memset(&gp.replay, 0, sizeof(gp.replay));
		r = gossip_open(&gp, (const uint8_t *)buf + LAN_HEADER_LEN,
		    len - LAN_HEADER_LEN, fuzz_realtime_us(), &type, pt,
		    sizeof(pt), &ptlen);
	}
	if (r != GOSSIP_OK)
		fuzz_fail("LAN: to %s, not sealed with a key given for it",
		    p->name);
	if ((type != GOSSIP_MSG_PING && type != GOSSIP_MSG_PONG) ||
	    gossip_ping_decode(pt, ptlen, nonce, &port, &path) == -1)
		fuzz_fail("LAN: type %u to %s, refused there", type, p->name);
	/* sealed for where it goes: the address a PING came from */
	if (path.af != ls->af || path.port != (ls->af == AF_INET ?
	    ntohs(sin->sin_port) : ntohs(sin6->sin6_port)) ||
	    memcmp(path.addr, ls->af == AF_INET ? (const void *)&sin->sin_addr :
	    (const void *)&sin6->sin6_addr, ls->af == AF_INET ? 4 : 16) != 0)
		fuzz_fail("LAN: to %s, sealed for another address", p->name);
	if (port != e->ifaces[p->iface].listen_port)
		fuzz_fail("LAN: to %s with port %u; it listens on %u",
		    p->name, port, e->ifaces[p->iface].listen_port);
	if (type == GOSSIP_MSG_PONG) {
		if (lan_may.ponged || (!lan_may.any && (!lan_may.may_pong ||
		    memcmp(nonce, lan_may.nonce, sizeof(nonce)) != 0)))
			fuzz_fail("LAN: a PONG to %s, for no PING of its",
			    p->name);
		lan_may.ponged = 1;
		return;
	}
	if (lan_may.pinged || (!lan_may.may_ping && !lan_may.any))
		fuzz_fail("LAN: a PING to %s, %s", p->name, lan_may.pinged ?
		    "twice" : "for no beacon or PING of its");
	lan_may.pinged = 1;
	for (i = 0; i < npings; i++)
		if (pings[i].p == p && pings[i].conf == nconf &&
		    fuzz_clock - pings[i].at < LAN_PING_SECONDS)
			fuzz_fail("LAN: a PING to %s %lld s after the last",
			    p->name, (long long)(fuzz_clock - pings[i].at));
	if (npings < FUZZ_NPINGS)
		lp = &pings[npings++];
	else {
		lp = &pings[pings_next];
		pings_next = (pings_next + 1) % FUZZ_NPINGS;
	}
	lp->p = p;
	lp->conf = nconf;
	memcpy(lp->key, p->public_key, WG_KEY_LEN);
	memcpy(lp->nonce, nonce, sizeof(nonce));
	memset(&lp->to, 0, sizeof(lp->to));
	memcpy(&lp->to, sa, salen);
	lp->tolen = salen;
	lp->at = fuzz_clock;
}

/* What the parent would refuse, and die of; its size checked already. */
static void
check_to_parent(uint32_t type, uint32_t peerid, const void *data)
{
	struct engine			*e = &engine_state;
	struct imsg_set_endpoint	 req;
	struct ctl_log_verbose		 lv;

	switch (type) {
	case IMSG_SET_ENDPOINT:
		memcpy(&req, data, sizeof(req));
		if (e->in_reconf || peerid != e->gen)
			fuzz_fail("IMSG_SET_ENDPOINT for generation %u, "
			    "configured %u%s", peerid, e->gen,
			    e->in_reconf ? ", in a reconfiguration" : "");
		if (req.iface >= e->nifaces ||
		    req.peer >= e->ifaces[req.iface].npeers)
			fuzz_fail("IMSG_SET_ENDPOINT for peer %u/%u, not "
			    "configured", req.iface, req.peer);
		if (!fuzz_addr_is_endpoint(&req.endpoint))
			fuzz_fail("IMSG_SET_ENDPOINT: peer %u/%u: not an "
			    "endpoint: family %u port %u", req.iface,
			    req.peer, req.endpoint.af, req.endpoint.port);
		nset++;
		break;
	case IMSG_CTL_RELOAD:
		if (peerid == 0)
			fuzz_fail("IMSG_CTL_RELOAD for no client");
		break;
	case IMSG_CTL_LOG_VERBOSE:
		memcpy(&lv, data, sizeof(lv));
		if (lv.level < 0 || lv.level > 2)
			fuzz_fail("IMSG_CTL_LOG_VERBOSE %d", (int)lv.level);
		break;
	default:
		fuzz_fail("%s to the parent", imsg_type_name(type));
	}
}

/* What wgmeshctl is promised; its size checked already. */
static void
check_to_client(uint32_t type, const void *data)
{
	const struct ctl_result	*r = data;

	switch (type) {
	case IMSG_CTL_RESULT:
	case IMSG_CTL_END:
		if (memchr(r->text, '\0', sizeof(r->text)) == NULL)
			fuzz_fail("%s to a client: no NUL",
			    imsg_type_name(type));
		break;
	case IMSG_CTL_PEER:
	case IMSG_CTL_IFACE:
	case IMSG_CTL_COUNTERS:
	case IMSG_CTL_EVENT:
		break;
	default:
		fuzz_fail("%s to a client", imsg_type_name(type));
	}
}

/*
 * What storage would refuse, and die of (its size checked already); and
 * what it needs to write the right file: the entries of one interface,
 * then its SAVE with their count, only once its state was read.
 */
static void
check_to_storage(uint32_t type, const void *data)
{
	struct engine		*e = &engine_state;
	struct imsg_state_iface	 si;
	struct imsg_state_entry	 se;
	struct mesh_peer	*p;
	struct load		*l;
	size_t			 i;
	int			 ii;

	switch (type) {
	case IMSG_STATE_LOAD:
	case IMSG_STATE_SAVE:
		memcpy(&si, data, sizeof(si));
		if (memchr(si.ifname, '\0', sizeof(si.ifname)) == NULL)
			fuzz_fail("%s: no NUL", imsg_type_name(type));
		if (e->in_reconf || (ii = iface_index(si.ifname)) == -1)
			fuzz_fail("%s for %s, not configured",
			    imsg_type_name(type), si.ifname);
		l = load_find(si.ifname);
		if (type == IMSG_STATE_LOAD) {
			if (si.nentries != 0 || group_n != 0)
				fuzz_fail("IMSG_STATE_LOAD for %s: %u "
				    "entries, %zu before it", si.ifname,
				    si.nentries, group_n);
			if (l != NULL)
				fuzz_fail("IMSG_STATE_LOAD for %s again",
				    si.ifname);
			if (nloads == FUZZ_NLOADS)
				fuzz_fail("too many interfaces for the "
				    "harness");
			l = &loads[nloads++];
			memset(l, 0, sizeof(*l));
			strlcpy(l->ifname, si.ifname, sizeof(l->ifname));
			l->loading = 1;
			break;
		}
		if (l == NULL || l->loading)
			fuzz_fail("IMSG_STATE_SAVE for %s before its state "
			    "was read", si.ifname);
		if (group_n > 0 && strcmp(group_ifname, si.ifname) != 0)
			fuzz_fail("IMSG_STATE_SAVE for %s after entries for "
			    "%s", si.ifname, group_ifname);
		if (si.nentries != group_n)
			fuzz_fail("IMSG_STATE_SAVE for %s: %u entries, %zu "
			    "sent", si.ifname, si.nentries, group_n);
		group_n = 0;
		if (exiting)
			l->final = 1;
		break;
	case IMSG_STATE_ENTRY:
		memcpy(&se, data, sizeof(se));
		if (memchr(se.ifname, '\0', sizeof(se.ifname)) == NULL)
			fuzz_fail("IMSG_STATE_ENTRY: no NUL");
		if (e->in_reconf || (ii = iface_index(se.ifname)) == -1)
			fuzz_fail("IMSG_STATE_ENTRY for %s, not configured",
			    se.ifname);
		if ((l = load_find(se.ifname)) == NULL || l->loading)
			fuzz_fail("IMSG_STATE_ENTRY for %s before its state "
			    "was read", se.ifname);
		if (group_n > 0 && strcmp(group_ifname, se.ifname) != 0)
			fuzz_fail("IMSG_STATE_ENTRY for %s among entries for "
			    "%s", se.ifname, group_ifname);
		if (group_n == STATEFILE_ENTRIES_MAX)
			fuzz_fail("more entries than a state file holds");
		strlcpy(group_ifname, se.ifname, sizeof(group_ifname));
		group_n++;
		if ((p = peer_by_key(ii, se.public_key)) == NULL)
			fuzz_fail("IMSG_STATE_ENTRY for %s: no such peer",
			    se.ifname);
		if (!fuzz_addr_is_endpoint(&se.endpoint))
			fuzz_fail("IMSG_STATE_ENTRY for %s: not an endpoint: "
			    "family %u port %u", p->name, se.endpoint.af,
			    se.endpoint.port);
		if (se.endpoint.scope != 0)
			fuzz_fail("IMSG_STATE_ENTRY for %s: a link-local "
			    "endpoint saved", p->name);
		switch (se.origin) {
		case ORIGIN_OBSERVED:
			if (se.last_seen <= 0 || se.last_seen > fuzz_clock)
				fuzz_fail("IMSG_STATE_ENTRY for %s: seen at "
				    "%lld", p->name, (long long)se.last_seen);
			break;
		case ORIGIN_PERSISTED:
			/* what storage gave for that peer, passed on */
			for (i = 0; i < ngiven; i++)
				if (memcmp(given[i].key, se.public_key,
				    WG_KEY_LEN) == 0 &&
				    imsg_addr_equal(&given[i].endpoint,
				    &se.endpoint) &&
				    given[i].last_seen == se.last_seen)
					break;
			if (i == ngiven && !given_lost)
				fuzz_fail("IMSG_STATE_ENTRY for %s: a "
				    "persisted entry storage never gave",
				    p->name);
			break;
		default:
			fuzz_fail("IMSG_STATE_ENTRY for %s: origin %u",
			    p->name, se.origin);
		}
		break;
	default:
		fuzz_fail("%s to storage", imsg_type_name(type));
	}
}

static struct load *
load_find(const char *ifname)
{
	size_t	i;

	for (i = 0; i < nloads; i++)
		if (strcmp(loads[i].ifname, ifname) == 0)
			return (&loads[i]);
	return (NULL);
}

/*
 * Would the engine take this from storage?  An ENTRY of a whole name, of
 * an interface being loaded, with a unicast endpoint seen some time; the
 * LOADED that ends it, with their count.  Nothing else.
 */
static int
storage_expect(uint32_t type, const void *data, size_t len)
{
	struct imsg_state_entry	 se;
	struct imsg_state_iface	 si;
	struct load		*l;

	switch (type) {
	case IMSG_STATE_ENTRY:
		if (len != sizeof(se))
			return (0);
		memcpy(&se, data, sizeof(se));
		if (memchr(se.ifname, '\0', sizeof(se.ifname)) == NULL ||
		    (l = load_find(se.ifname)) == NULL || !l->loading)
			return (0);
		return (fuzz_addr_is_endpoint(&se.endpoint) &&
		    se.endpoint.scope == 0 && se.last_seen > 0);
	case IMSG_STATE_LOADED:
		if (len != sizeof(si))
			return (0);
		memcpy(&si, data, sizeof(si));
		if (memchr(si.ifname, '\0', sizeof(si.ifname)) == NULL ||
		    (l = load_find(si.ifname)) == NULL || !l->loading)
			return (0);
		return (si.nentries == l->received);
	default:
		return (0);
	}
}

static void
storage_took(uint32_t type, const void *data)
{
	struct imsg_state_entry	 se;
	struct imsg_state_iface	 si;
	struct load		*l;

	if (type == IMSG_STATE_ENTRY) {
		memcpy(&se, data, sizeof(se));
		if ((l = load_find(se.ifname)) != NULL)
			l->received++;
		if (ngiven == FUZZ_NGIVEN)
			given_lost = 1;
		else {
			memcpy(given[ngiven].key, se.public_key, WG_KEY_LEN);
			given[ngiven].endpoint = se.endpoint;
			given[ngiven].last_seen = se.last_seen;
			ngiven++;
		}
	} else {
		memcpy(&si, data, sizeof(si));
		if ((l = load_find(si.ifname)) != NULL)
			l->loading = 0;
	}
}

/* One message from storage, taken exactly when it should be; -1: fatal. */
static int
storage_send(uint32_t type, int fd, const void *data, size_t len)
{
	int	ok, fatal;

	/* no message from storage carries a descriptor (proto.h) */
	ok = fd == -1 && storage_expect(type, data, len);
	fuzz_pipe_send(&ps, type, 0, fd, data, len);
	fatal = settle(&ps) == -1;
	if (ok && fatal)
		fuzz_fail("%s from storage refused: %s", imsg_type_name(type),
		    log_fuzz_fatalmsg());
	if (!ok && !fatal)
		fuzz_fail("%s from storage taken, unasked or malformed",
		    imsg_type_name(type));
	if (ok)
		storage_took(type, data);
	return (fatal ? -1 : 0);
}

/*
 * Storage answers a load in flight (the next byte picks it): a byte of
 * how many entries, each as payload() makes one, then the LOADED, with
 * their count unless the count byte's high bit says otherwise.
 */
static int
storage_answer(struct fuzz_in *in)
{
	struct imsg_state_entry	 se;
	struct imsg_state_iface	 si;
	struct load		*l, *loading[FUZZ_NLOADS];
	uint8_t			 sel, count;
	size_t			 i, n = 0;

	sel = fuzz_u8(in);
	for (i = 0; i < nloads; i++)
		if (loads[i].loading)
			loading[n++] = &loads[i];
	if (n == 0)
		return (0);
	l = loading[sel % n];
	count = fuzz_u8(in);
	for (i = 0; i < (count & 7u); i++) {
		payload(in, IMSG_STATE_ENTRY, (uint8_t *)&se);
		if ((sel & 0x80) == 0)
			strlcpy(se.ifname, l->ifname, sizeof(se.ifname));
		if (storage_send(IMSG_STATE_ENTRY, -1, &se, sizeof(se)) == -1)
			return (-1);
	}
	memset(&si, 0, sizeof(si));
	strlcpy(si.ifname, l->ifname, sizeof(si.ifname));
	si.nentries = (count & 0x80) ? fuzz_u8(in) % 8 : l->received;
	return (storage_send(IMSG_STATE_LOADED, -1, &si, sizeof(si)));
}

/*
 * A gossip payload of the type, for a peer on interface ii: entries or a
 * key of that interface's peers, mostly, or input bytes.
 */
static size_t
gossip_payload(struct fuzz_in *in, uint8_t type, uint32_t ii, uint8_t *buf)
{
	struct engine		*e = &engine_state;
	struct imsg_addr	 a;
	struct mesh_peer	*q;
	uint8_t			 sel, *p, key[WG_KEY_LEN];
	size_t			 len, i, n, k;
	int64_t			 seen;

	sel = fuzz_u8(in);
	if (sel >= 0xe0) {
		len = fuzz_u16(in) % (GOSSIP_MAX_PAYLOAD_BYTES + 1);
		fuzz_bytes(in, buf, len);
		return (len);
	}
	if (type == GOSSIP_MSG_ALIVE || type == GOSSIP_MSG_ALIVE_ACK) {
		fuzz_bytes(in, buf, GOSSIP_ALIVE_LEN);
		return (GOSSIP_ALIVE_LEN);
	}
	n = type == GOSSIP_MSG_PUNCH_REQUEST ? 1 :
	    type == GOSSIP_MSG_PUNCH && sel < 0xc0 ? 1 : sel % 8;
	p = type == GOSSIP_MSG_PUNCH_REQUEST ? buf : buf + 1;
	if (type != GOSSIP_MSG_PUNCH_REQUEST)
		buf[0] = n;
	for (i = 0; i < n; i++, p += GOSSIP_ENDPOINT_LEN) {
		/* a peer of the interface, its own key, or bytes */
		sel = fuzz_u8(in);
		memset(key, 0, sizeof(key));
		for (k = 0, q = NULL; k < e->mesh.npeers && q == NULL; k++)
			if (e->mesh.peers[k].iface == ii && sel % 5 == 0)
				q = &e->mesh.peers[k];
			else if (e->mesh.peers[k].iface == ii)
				sel--;
		if (sel >= 0xf0)
			fuzz_bytes(in, key, sizeof(key));
		else if (q != NULL)
			memcpy(key, q->public_key, sizeof(key));
		else if (ii < e->nifaces)
			memcpy(key, e->ifaces[ii].public_key, sizeof(key));
		memcpy(p, key, WG_KEY_LEN);
		if (type == GOSSIP_MSG_PUNCH_REQUEST) {
			memset(p + WG_KEY_LEN, 0, GOSSIP_PUNCH_REQUEST_LEN -
			    WG_KEY_LEN);
			return (GOSSIP_PUNCH_REQUEST_LEN);
		}
		fuzz_addr(in, &a);
		p[32] = a.af == AF_INET ? WIRE_INET : a.af == AF_INET6 ?
		    WIRE_INET6 : (uint8_t)a.af;
		sel = fuzz_u8(in);
		p[33] = sel < 0xf0 ? ORIGIN_OBSERVED + sel % ORIGIN_PERSISTED :
		    fuzz_u8(in);
		p[34] = a.port >> 8;
		p[35] = a.port & 0xff;
		memcpy(p + 36, a.addr, 16);
		sel = fuzz_u8(in);
		switch (sel % 4) {
		case 0:
			seen = fuzz_clock - sel / 4;
			break;
		case 1:
			seen = fuzz_clock - MESH_OBS_MAX_AGE_SECONDS + sel / 4;
			break;
		case 2:
			seen = fuzz_clock + MESH_OBS_FUTURE_SECONDS - sel / 8;
			break;
		default:
			seen = (int64_t)fuzz_u64(in);
			break;
		}
		for (k = 0; k < 8; k++)
			p[52 + k] = (uint64_t)seen >> (56 - 8 * k);
	}
	return (1 + n * GOSSIP_ENDPOINT_LEN);
}

/*
 * Every datagram read from a gossip socket is counted once: taken
 * (well-formed or not), or dropped for one reason.
 */
static uint64_t
gossip_counted(void)
{
	struct engine	*e = &engine_state;
	uint64_t	 n;
	int		 r;

	n = e->mesh.stats.rx + e->mesh.stats.rx_bad + e->mesh.stats.rx_poke +
	    e->mesh.stats.drop_nopeer + e->mesh.stats.drop_nokey +
	    e->mesh.stats.drop_reconf;
	for (r = GOSSIP_OK + 1; r < GOSSIP_E_MAX; r++)
		n += *gossip_result_counter(&e->mesh.stats, r);
	return (n);
}

/*
 * A datagram arrives on a gossip socket.  Input: a byte that picks the
 * socket, one that picks the sender (bit 6: from another port; bit 7:
 * from another address; bit 5: with a short address) and the peer, then
 * a byte: 0: bytes (a length, then that many); 1, 2: a payload sealed
 * with the peer's pair key (the type, then gossip_payload()); 3: the
 * last datagram sealed, again.
 */
static int
inject(struct fuzz_in *in)
{
	struct engine		*e = &engine_state;
	struct gossip_sock	*gs;
	struct mesh_peer	*p = NULL, *q;
	struct pair		*hp = NULL;
	uint8_t			 pt[GOSSIP_MAX_PAYLOAD_BYTES];
	uint8_t			 sel, who, type = 0;
	uint64_t		 rx, counted;
	size_t			 i, k, ptlen, sent0, set0;
	ssize_t			 n;
	int			 ii, from_peer, expect = 0; /* 2: cannot say */

	sel = fuzz_u8(in);
	who = fuzz_u8(in);
	if (e->ngsocks == 0)
		return (0);
	gs = &e->gsocks[sel % e->ngsocks];
	ii = iface_index(gs->ifname);
	for (i = 0, k = 0; i < e->mesh.npeers; i++)
		if ((int)e->mesh.peers[i].iface == ii &&
		    k++ == (who & 0x1f) % 4)
			p = &e->mesh.peers[i];

	memset(&dgram, 0, sizeof(dgram));
	dgram.from.sin6_family = AF_INET6;
	dgram.fromlen = sizeof(dgram.from);
	if (ii != -1)
		dgram.from.sin6_port = htons(e->ifaces[ii].gossip_port);
	if (p != NULL)
		memcpy(&dgram.from.sin6_addr, p->control, 16);
	if (who & 0x20)
		dgram.fromlen = fuzz_u8(in) % sizeof(dgram.from);
	if (who & 0x40)
		dgram.from.sin6_port = htons(fuzz_u16(in));
	if ((who & 0x80) || p == NULL)
		fuzz_bytes(in, &dgram.from.sin6_addr, 16);

	sel = fuzz_u8(in);
	switch (sel % 4) {
	case 1:
	case 2:
		if (p == NULL || (hp = pair_find(p->public_key, 0)) == NULL)
			return (0);
		type = fuzz_u8(in);
		type = type < 0xf0 ? GOSSIP_MSG_PING + type % 7 : type;
		ptlen = gossip_payload(in, type, ii, pt);
		if ((n = gossip_seal(&hp->gp, type, pt, ptlen,
		    fuzz_realtime_us(), dgram.data, sizeof(dgram.data))) == -1)
			return (0);
		dgram.len = (size_t)n;
		memcpy(last_dgram, dgram.data, dgram.len);
		last_len = dgram.len;
		break;
	case 3:
		/* taken before: a replay, dropped; or it may be taken now */
		memcpy(dgram.data, last_dgram, last_len);
		dgram.len = last_len;
		expect = last_taken ? 0 : 2;
		break;
	default:
		dgram.len = fuzz_u16(in) % (sizeof(dgram.data) + 1);
		fuzz_bytes(in, dgram.data, dgram.len);
		break;
	}
	/*
	 * From a peer's address and port, as the engine finds the peer:
	 * sealed with the key it has for that peer, it is taken.
	 */
	q = ii == -1 ? NULL : mesh_peer_by_control(&e->mesh, ii,
	    dgram.from.sin6_addr.s6_addr);
	from_peer = q != NULL && !e->in_reconf &&
	    dgram.fromlen == sizeof(dgram.from) &&
	    ntohs(dgram.from.sin6_port) == e->ifaces[ii].gossip_port;
	if (hp != NULL)
		expect = from_peer && q->pair != NULL &&
		    memcmp(q->pair->key, hp->key, GOSSIP_KEY_LEN) == 0 &&
		    q->pair->send_dir != hp->gp.send_dir;

	dgram.pending = 1;
	sent0 = nsent;
	set0 = nset;
	sent_max = 0;
	rx = e->mesh.stats.rx + e->mesh.stats.rx_bad;
	counted = gossip_counted();
	if (setjmp(fuzz_jmp) != 0)
		fuzz_fail("a datagram made the engine die: %s",
		    log_fuzz_fatalmsg());
	engine_gossip_read(gs->fd, EV_READ, gs);
	fuzz_imsg_forget(0);
	if (dgram.pending)
		fuzz_fail("a datagram not read");
	if (gossip_counted() != counted + 1)
		fuzz_fail("a gossip datagram counted %llu times",
		    (unsigned long long)(gossip_counted() - counted));
	if (hp != NULL)
		last_taken = e->mesh.stats.rx + e->mesh.stats.rx_bad !=
		    rx;
	else if (expect == 2 && e->mesh.stats.rx +
	    e->mesh.stats.rx_bad != rx)
		last_taken = 1;
	if (expect == 0) {
		/* a forgery, a replay, or not from where the key says */
		if (nsent != sent0 || nset != set0 ||
		    e->mesh.stats.rx + e->mesh.stats.rx_bad != rx)
			fuzz_fail("a datagram not from the peer acted on: "
			    "%zu sent, %zu endpoints set", nsent - sent0,
			    nset - set0);
	} else if (expect == 1) {
		if (e->mesh.stats.rx + e->mesh.stats.rx_bad != rx + 1)
			fuzz_fail("a genuine datagram from %s dropped",
			    q->name);
		if ((type == GOSSIP_MSG_PUNCH_REQUEST ||
		    type == GOSSIP_MSG_ALIVE) && sent_max > dgram.len)
			fuzz_fail("a type %u of %zu bytes answered with %zu",
			    type, dgram.len, sent_max);
	}
	check_conf();
	fuzz_queue_drop(&e->iev_parent.ibuf);
	return (0);
}

/*
 * A datagram arrives on a LAN socket.  Input: a byte that picks the
 * socket; one that picks the sender and how it arrives (bits 0-1: the
 * peer, of those of the interfaces that discover on the socket's port;
 * bit 2: from another port; bit 3: from another address; bit 4: with a
 * short address; bits 5-6: IP_PKTINFO says it went to the broadcast
 * address (0, 3) or to this host (1), or is missing (2)); and one of
 * what it is (bits 0-2, modulo 6: 0: bytes, a length and that many; 1: a
 * beacon; 2: a PING, 3: a PONG (with the nonce of the engine's last PING
 * to the peer, from where that went), 4: 18 bytes of a type of the next
 * byte, sealed with the peer's pair key; 5: the last sealed one again;
 * bit 5: the port or the nonce from the input; bit 6: in the name of
 * the peer's interface instead; bit 7: of a key from the input).
 *
 * What must hold: the datagram is read and counted once (or, in a
 * configuration transaction, not at all); nothing but a beacon
 * (broadcast, from a usable address, naming a peer with a pair key) or
 * a genuine PING is answered, and as check_lan_send() says; a genuine
 * PING gets its PONG, and a PING back unless one went to that
 * peer less than LAN_PING_SECONDS ago; a beacon gets a PING unless the
 * peer is up there, lately proven, or was challenged just now; a
 * replay is taken at most once; and the peer's LAN endpoint is set, to
 * where the PONG came from with the port it says, exactly when a
 * genuine PONG comes with the nonce of the PING outstanding from where
 * that went (and it is an endpoint).  Nothing else changes a peer's LAN
 * endpoint, asks the parent for anything or sends gossip.  (In a
 * configuration transaction nothing has to be answered, but no request
 * may go to the parent: check_to_parent().)
 */
static int
inject_lan(struct fuzz_in *in)
{
	struct engine		*e = &engine_state;
	struct lan		*l = &e->lan;
	struct lan_sock		*ls;
	struct mesh_peer	*p = NULL, *q, *named = NULL;
	struct pair		*hp = NULL;
	struct lan_ping		*lp = NULL;
	struct lan_counters	 st0, *st = &l->stats;
	struct imsg_addr	 ep, from, *lan0, path, ppath;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	int64_t			*lan_at0, ping_at0 = 0;
	uint8_t			 pt[GOSSIP_PING_LEN], key[WG_KEY_LEN];
	uint8_t			 hkey[WG_KEY_LEN];
	uint8_t			 nonce[GOSSIP_PING_NONCE_LEN];
	uint8_t			 sel, who, what, hkind = 0, type = 0;
	uint16_t		 port = 0, hport = 0, listen = 0;
	uint64_t		 before, after;
	size_t			 i, k, sent0, set0, npeers;
	ssize_t			 n;
	int			 sealed = 0, genuine = 0, replay = 0;
	int			 verify = 0, must_pong = 0, must_ping = 0;
	int			 keep4 = 0;
	int			 beacon, broadcast, addr_ok, decoded, taken;

	sel = fuzz_u8(in);
	who = fuzz_u8(in);
	what = fuzz_u8(in);
	if (l->nsocks == 0)
		return (0);
	ls = l->socks[sel % l->nsocks];
	for (i = 0, k = 0; i < e->mesh.npeers; i++) {
		q = &e->mesh.peers[i];
		if (q->iface < e->nifaces &&
		    e->ifaces[q->iface].lan_discovery &&
		    e->ifaces[q->iface].gossip_port == ls->port &&
		    k++ == (who & 3u))
			p = q;
	}

	memset(&ldgram, 0, sizeof(ldgram));
	sin = (struct sockaddr_in *)&ldgram.from;
	sin6 = (struct sockaddr_in6 *)&ldgram.from;
	ldgram.pktinfo = ((who >> 5) & 3) != 2;
	ldgram.hoplimit = -1;
	if (ls->af == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(ls->port);
		sin->sin_addr.s_addr = htonl(0xc0a80102 + (who & 3u));
		ldgram.fromlen = sizeof(*sin);
		if (who & 0x04)
			sin->sin_port = htons(fuzz_u16(in));
		if (who & 0x08)
			fuzz_bytes(in, &sin->sin_addr, 4);
		ldgram.dst.s_addr = ((who >> 5) & 3) == 1 ?
		    htonl(0xc0a80101) : htonl(INADDR_BROADCAST);
		/* a TTL, or none */
		ldgram.hoplimit = 255;
		if (what & 0x08)
			ldgram.hoplimit = (int)fuzz_u8(in) - 1;
	} else {
		/* fe80::c0a8:102%2 and so on, as the kernel says */
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(ls->port);
		sin6->sin6_addr.s6_addr[0] = 0xfe;
		sin6->sin6_addr.s6_addr[1] = 0x80;
		sin6->sin6_addr.s6_addr[12] = 0xc0;
		sin6->sin6_addr.s6_addr[13] = 0xa8;
		sin6->sin6_addr.s6_addr[14] = 0x01;
		sin6->sin6_addr.s6_addr[15] = 0x02 + (who & 3u);
		sin6->sin6_scope_id = 2;
		ldgram.fromlen = sizeof(*sin6);
		ldgram.ifindex = 2;
		ldgram.hoplimit = 255;
		if (who & 0x04)
			sin6->sin6_port = htons(fuzz_u16(in));
		if (who & 0x08)
			fuzz_bytes(in, &sin6->sin6_addr, 16);
		/* a hop limit, or none, or another link */
		if (what & 0x08)
			ldgram.hoplimit = (int)fuzz_u8(in) - 1;
		if (what & 0x10)
			sin6->sin6_scope_id = fuzz_u8(in) % 4;
		ldgram.dst6 = lan_all_nodes;
		if (((who >> 5) & 3) == 1)
			ldgram.dst6.s6_addr[0] = 0xfe;
	}
	if (who & 0x10)
		ldgram.fromlen = fuzz_u8(in) % sizeof(ldgram.from);

	memset(key, 0, sizeof(key));
	if (what & 0x80)
		fuzz_bytes(in, key, sizeof(key));
	else if (p != NULL && (what & 0x40))
		memcpy(key, e->ifaces[p->iface].public_key, sizeof(key));
	else if (p != NULL)
		memcpy(key, p->public_key, sizeof(key));
	switch ((what & 7) % 6) {
	case 0:
		ldgram.len = fuzz_u16(in) % (sizeof(ldgram.data) + 1);
		fuzz_bytes(in, ldgram.data, ldgram.len);
		break;
	case 1:
		port = (what & 0x20) ? fuzz_u16(in) : 51820;
		ldgram.len = LAN_DATAGRAM_LEN;
		if (lan_header_encode(ldgram.data, sizeof(ldgram.data),
		    LAN_BEACON, port, key) == -1) {
			/* port 0: as a broken node would send it */
			memcpy(ldgram.data, LAN_MAGIC, 4);
			ldgram.data[4] = LAN_BEACON;
			memcpy(ldgram.data + 8, key, WG_KEY_LEN);
		}
		break;
	case 2:
	case 3:
	case 4:
		if (p == NULL || (hp = pair_find(p->public_key, 0)) == NULL)
			return (0);
		sealed = 1;
		type = (what & 7) == 2 ? GOSSIP_MSG_PING :
		    (what & 7) == 3 ? GOSSIP_MSG_PONG : fuzz_u8(in);
		lp = ping_find(p->public_key);
		if (type == GOSSIP_MSG_PONG && lp != NULL &&
		    (what & 0x20) == 0) {
			memcpy(nonce, lp->nonce, sizeof(nonce));
			if ((who & 0x0c) == 0 && lp->to.ss_family ==
			    ls->af) {
				ldgram.from = lp->to;
				ldgram.fromlen = lp->tolen;
			}
		} else
			fuzz_bytes(in, nonce, sizeof(nonce));
		port = (what & 0x20) ? fuzz_u16(in) : 51820;
		/* sealed for where it arrives, or (0x10) elsewhere */
		memset(&path, 0, sizeof(path));
		path.af = ls->af;
		path.port = ls->port;
		if (ls->af == AF_INET)
			memcpy(path.addr, &ldgram.dst, 4);
		else
			memcpy(path.addr, &ldgram.dst6, 16);
		if ((what & 0x10) && ls->af == AF_INET)
			fuzz_bytes(in, &path, sizeof(path));
		if ((what & 7) == 4)
			fuzz_bytes(in, pt, sizeof(pt));
		else if (gossip_ping_encode(pt, sizeof(pt), nonce, port,
		    &path) == -1) {
			memset(pt, 0, sizeof(pt));
			memcpy(pt, nonce, sizeof(nonce));
		}
		if (lan_header_encode(ldgram.data, sizeof(ldgram.data),
		    LAN_SEALED, 0, key) != LAN_HEADER_LEN ||
		    (n = gossip_seal(&hp->gp, type, pt, sizeof(pt),
		    fuzz_realtime_us(), ldgram.data + LAN_HEADER_LEN,
		    sizeof(ldgram.data) - LAN_HEADER_LEN)) == -1)
			return (0);
		ldgram.len = LAN_HEADER_LEN + (size_t)n;
		memcpy(last_ldgram, ldgram.data, ldgram.len);
		last_llen = ldgram.len;
		break;
	default:
		if (last_llen == 0)
			return (0);
		replay = 1;
		memcpy(ldgram.data, last_ldgram, last_llen);
		ldgram.len = last_llen;
		break;
	}

	/* what lan.c makes of it */
	memset(&from, 0, sizeof(from));
	from.af = ls->af;
	if (ls->af == AF_INET) {
		broadcast = ldgram.pktinfo &&
		    ldgram.dst.s_addr == htonl(INADDR_BROADCAST);
		from.port = ntohs(sin->sin_port);
		memcpy(from.addr, &sin->sin_addr, 4);
		/* not routed, and where it was sent is known */
		addr_ok = ldgram.fromlen == sizeof(*sin) && ldgram.pktinfo &&
		    ldgram.hoplimit == 255 && fuzz_addr_is_endpoint(&from);
	} else {
		broadcast = ldgram.pktinfo &&
		    memcmp(&ldgram.dst6, &lan_all_nodes, 16) == 0;
		from.port = ntohs(sin6->sin6_port);
		memcpy(from.addr, &sin6->sin6_addr, 16);
		from.scope = sin6->sin6_scope_id;
		/* not routed, link-local on the link it came in by */
		addr_ok = ldgram.fromlen == sizeof(*sin6) && ldgram.pktinfo &&
		    ldgram.hoplimit == 255 && from.addr[0] == 0xfe &&
		    (from.addr[1] & 0xc0) == 0x80 &&
		    from.scope == ldgram.ifindex &&
		    fuzz_addr_is_endpoint(&from);
	}
	decoded = ldgram.len == LAN_DATAGRAM_LEN && lan_header_decode(
	    ldgram.data, ldgram.len, &hkind, &hport, hkey) == 0;
	if (decoded && addr_ok)
		named = lan_named(ls->port, hkey);
	if (named != NULL && named->pair == NULL)
		named = NULL;	/* nothing to answer with */
	if (named != NULL) {
		listen = e->ifaces[named->iface].listen_port;
		ping_at0 = named->lan_ping_at;
	}
	beacon = named != NULL && hkind == LAN_BEACON && broadcast;
	if (beacon) {
		ep = from;
		ep.port = hport;
		must_ping = listen != 0 &&
		    fuzz_clock - ping_at0 >= LAN_PING_SECONDS &&
		    !(imsg_addr_equal(&named->device.endpoint, &ep) &&
		    fuzz_clock - named->lan_at < MESH_LAN_FRESH_SECONDS / 2);
	}
	/* sealed here, now, for the peer, with the key the engine has */
	genuine = sealed && named == p && hkind == LAN_SEALED &&
	    memcmp(p->pair->key, hp->key, GOSSIP_KEY_LEN) == 0 &&
	    p->pair->send_dir != hp->gp.send_dir;
	/* sealed for our address, unicast, and our port */
	if (genuine && (type == GOSSIP_MSG_PING || type == GOSSIP_MSG_PONG) &&
	    gossip_ping_decode(pt, sizeof(pt), nonce, &port, &ppath) == 0 &&
	    !broadcast && ppath.af == ls->af && ppath.port == ls->port &&
	    memcmp(ppath.addr, ls->af == AF_INET ? (const void *)&ldgram.dst :
	    (const void *)&ldgram.dst6, ls->af == AF_INET ? 4 : 16) == 0) {
		if (type == GOSSIP_MSG_PING) {
			must_pong = listen != 0;
			must_ping = listen != 0 &&
			    fuzz_clock - ping_at0 >= LAN_PING_SECONDS;
		} else {
			ep = from;
			verify = imsg_addr_equal(&ep, &p->lan_ping_to) &&
			    memcmp(p->lan_nonce, nonce, sizeof(nonce)) == 0;
			ep.port = port;
			/* a peer on both families keeps its IPv4 one */
			keep4 = ep.af == AF_INET6 && p->lan.af == AF_INET &&
			    fuzz_clock - p->lan_at < MESH_LAN_FRESH_SECONDS &&
			    (p->lan_failed_at == 0 ||
			    fuzz_clock - p->lan_failed_at >=
			    MESH_LAN_RETRY_SECONDS);
		}
	}

	memset(&lan_may, 0, sizeof(lan_may));
	lan_may.reading = 1;
	lan_may.from = named;
	lan_may.may_ping = beacon || must_ping;
	lan_may.may_pong = must_pong;
	lan_may.any = replay && !last_ltaken;
	memcpy(lan_may.nonce, nonce, sizeof(nonce));

	npeers = e->mesh.npeers;
	if ((lan0 = calloc(npeers + 1, sizeof(*lan0))) == NULL ||
	    (lan_at0 = calloc(npeers + 1, sizeof(*lan_at0))) == NULL)
		fuzz_fail("calloc");
	for (i = 0; i < npeers; i++) {
		lan0[i] = e->mesh.peers[i].lan;
		lan_at0[i] = e->mesh.peers[i].lan_at;
	}
	st0 = *st;
	before = st0.rx_beacon + st0.rx_ping + st0.rx_pong + st0.rx_own +
	    st0.drop_bad + st0.drop_unicast + st0.drop_nopeer + st0.drop_nokey +
	    st0.drop_open + st0.drop_nonce + st0.drop_hoplimit +
	    st0.drop_scope + st0.drop_path;
	sent0 = nsent;
	set0 = nset;
	beacons_ok = 0;
	ldgram.pending = 1;
	if (setjmp(fuzz_jmp) != 0)
		fuzz_fail("a LAN datagram made the engine die: %s",
		    log_fuzz_fatalmsg());
	lan_read(ls->fd, EV_READ, ls);
	fuzz_imsg_forget(0);
	lan_may.reading = 0;

	if (ldgram.pending)
		fuzz_fail("a LAN datagram not read");
	after = st->rx_beacon + st->rx_ping + st->rx_pong + st->rx_own +
	    st->drop_bad + st->drop_unicast + st->drop_nopeer + st->drop_nokey +
	    st->drop_open + st->drop_nonce + st->drop_hoplimit +
	    st->drop_scope + st->drop_path;
	/* in a configuration transaction, it may be dropped uncounted */
	if (after != before + 1 && !(e->in_reconf && after == before))
		fuzz_fail("a LAN datagram counted %llu times",
		    (unsigned long long)(after - before));
	if (e->in_reconf)
		must_ping = must_pong = verify = beacon = 0;
	if (beacon && st->rx_beacon != st0.rx_beacon + 1)
		fuzz_fail("a beacon from %s not taken", named->name);
	if (must_pong && (!lan_may.ponged || st->rx_ping != st0.rx_ping + 1))
		fuzz_fail("a PING from %s not answered", named->name);
	if (must_ping && !lan_may.pinged)
		fuzz_fail("a %s from %s not challenged", beacon ? "beacon" :
		    "PING", named->name);
	/* the counter was taken: it got past gossip_open() */
	taken = named != NULL && hkind == LAN_SEALED && after != before &&
	    st->drop_open == st0.drop_open;
	if (replay && last_ltaken && taken)
		fuzz_fail("a LAN datagram taken twice");
	if (sealed)
		last_ltaken = taken;
	else if (replay)
		last_ltaken |= taken;
	if (verify) {
		if (st->rx_pong != st0.rx_pong + 1 || p->lan_ping_to.af != 0)
			fuzz_fail("a genuine PONG from %s not taken", p->name);
		if (fuzz_addr_is_endpoint(&ep) && !keep4 &&
		    (!imsg_addr_equal(&p->lan, &ep) || p->lan_at != fuzz_clock))
			fuzz_fail("a genuine PONG from %s: its LAN endpoint "
			    "not set", p->name);
		if (keep4 && p->lan.af != AF_INET)
			fuzz_fail("a genuine PONG from %s over IPv6: its "
			    "usable IPv4 LAN endpoint replaced", p->name);
	} else if (!lan_may.any) {
		for (i = 0; i < npeers && i < e->mesh.npeers; i++)
			if (!imsg_addr_equal(&lan0[i], &e->mesh.peers[i].lan) ||
			    lan_at0[i] != e->mesh.peers[i].lan_at)
				fuzz_fail("peer %s: a LAN endpoint taken from "
				    "no genuine PONG", e->mesh.peers[i].name);
		if (nsent != sent0 || nset != set0)
			fuzz_fail("a LAN datagram acted on: %zu gossip "
			    "datagrams sent, %zu endpoints set",
			    nsent - sent0, nset - set0);
	}
	free(lan0);
	free(lan_at0);
	check_conf();
	check_lsocks();
	fuzz_queue_drop(&e->iev_parent.ibuf);
	return (0);
}

/*
 * More IMSG_SOCKET_LAN, always with a socket (unless the input has sent
 * all it may), then delivered alone: taken exactly when whole, for a
 * port other than 0 on which some interface discovers and a family it
 * knows, outside a configuration transaction; then the engine has a
 * socket of that family there, in
 * place of the one it had, and beacons at once from every interface
 * that discovers where it has a socket.
 */
static int
socket_lan(struct fuzz_in *in, uint8_t op)
{
	static uint8_t		 buf[64];
	struct engine		*e = &engine_state;
	struct imsg_socket_lan	 sl;
	size_t			 len, nsocks0, i;
	int			 fd, ok, had, fatal;

	if (op & 0x40) {
		len = fuzz_u8(in) % sizeof(buf);
		fuzz_bytes(in, buf, len);
	} else
		len = payload(in, IMSG_SOCKET_LAN, buf);
	memset(&sl, 0, sizeof(sl));
	memcpy(&sl, buf, len < sizeof(sl) ? len : sizeof(sl));
	fd = fuzz_fd_socket();
	ok = fd != -1 && len == sizeof(sl) && sl.port != 0 &&
	    (sl.af == AF_INET || sl.af == AF_INET6) && !e->in_reconf;
	for (i = 0; ok && i < e->nifaces; i++)
		if (e->ifaces[i].lan_discovery &&
		    e->ifaces[i].gossip_port == sl.port)
			break;
	if (i == e->nifaces)
		ok = 0;
	had = lan_sock_find(&e->lan, sl.port, sl.af) != NULL;
	nsocks0 = e->lan.nsocks;
	nbeacons = 0;
	fuzz_pipe_send(&pp, IMSG_SOCKET_LAN, e->gen, fd, buf, len);
	fatal = settle(&pp) == -1;
	if (ok && fatal)
		fuzz_fail("IMSG_SOCKET_LAN for port %u refused: %s", sl.port,
		    log_fuzz_fatalmsg());
	if (!ok && !fatal)
		fuzz_fail("IMSG_SOCKET_LAN of %zu bytes for port %u taken%s",
		    len, sl.port, fd == -1 ? ", without a socket" : "");
	if (fatal)
		return (-1);
	if (lan_sock_find(&e->lan, sl.port, sl.af) == NULL ||
	    e->lan.nsocks != nsocks0 + !had)
		fuzz_fail("IMSG_SOCKET_LAN for port %u: %zu sockets, %zu "
		    "before", sl.port, e->lan.nsocks, nsocks0);
	if (nbeacons != lan_beacons_due())
		fuzz_fail("IMSG_SOCKET_LAN: %zu beacons, %zu due", nbeacons,
		    lan_beacons_due());
	return (0);
}

/*
 * The engine's LAN discovery: its configuration is the engine's; its
 * sockets, one per port at most, each for a port some interface
 * discovers on, a descriptor the parent gave (none a gossip socket's),
 * with its event.
 */
static void
check_lsocks(void)
{
	struct engine	*e = &engine_state;
	struct lan	*l = &e->lan;
	struct lan_sock	*ls;
	size_t		 i, j;

	if (l->base != e->base || l->mesh != &e->mesh ||
	    l->ifaces != e->ifaces || l->nifaces != e->nifaces)
		fuzz_fail("LAN discovery has another engine, or another "
		    "configuration");
	for (i = 0; i < l->nsocks; i++) {
		ls = l->socks[i];
		if (ls == NULL || ls->l != l || ls->port == 0 ||
		    (ls->af != AF_INET && ls->af != AF_INET6))
			fuzz_fail("LAN socket %zu: not one", i);
		for (j = 0; j < l->nifaces; j++)
			if (l->ifaces[j].lan_discovery &&
			    l->ifaces[j].gossip_port == ls->port)
				break;
		if (j == l->nifaces)
			fuzz_fail("a LAN socket for port %u, where no "
			    "interface discovers", ls->port);
		if (!fuzz_fd_is_copy(ls->fd) || ls->ev == NULL ||
		    event_get_fd(ls->ev) != ls->fd ||
		    event_get_callback_arg(ls->ev) != ls)
			fuzz_fail("LAN socket for port %u: descriptor %d, its "
			    "event lost", ls->port, ls->fd);
		for (j = 0; j < i; j++)
			if (l->socks[j]->port == ls->port &&
			    l->socks[j]->af == ls->af)
				fuzz_fail("two LAN sockets for port %u, "
				    "family %u", ls->port, ls->af);
		for (j = 0; j < e->ngsocks; j++)
			if (e->gsocks[j].fd == ls->fd)
				fuzz_fail("descriptor %d, a LAN socket and a "
				    "gossip one", ls->fd);
	}
}

/*
 * The end: the parent hangs up (sig 0), or a signal comes.  SIGHUP is
 * the parent's business: nothing happens.  Otherwise the engine sends
 * storage every loaded interface's state once more, sends it, and exits.
 */
static int
engine_ends(int sig)
{
	struct engine	*e = &engine_state;
	struct load	*l;
	size_t		 i, q0;

	if (sig == SIGHUP) {
		q0 = imsgbuf_queuelen(&e->iev_parent.ibuf) +
		    imsgbuf_queuelen(&e->iev_storage.ibuf);
		if (setjmp(fuzz_jmp) != 0)
			fuzz_fail("SIGHUP: %s", exited ? "the engine exited" :
			    log_fuzz_fatalmsg());
		engine_signal(SIGHUP, EV_SIGNAL, e);
		if (imsgbuf_queuelen(&e->iev_parent.ibuf) +
		    imsgbuf_queuelen(&e->iev_storage.ibuf) != q0)
			fuzz_fail("SIGHUP: the engine said something");
		return (0);
	}
	if (sig == 0)
		fuzz_pipe_close(&pp);
	for (i = 0; i < nloads; i++)
		loads[i].final = 0;
	exiting = 1;
	if (setjmp(fuzz_jmp) != 0) {
		if (!exited)
			fuzz_fail("fatal at the end (signal %d): %s", sig,
			    log_fuzz_fatalmsg());
		fuzz_imsg_forget(0);
		if (group_n != 0)
			fuzz_fail("entries without their SAVE at exit");
		for (i = 0; i < e->nifaces && !e->in_reconf; i++)
			if ((l = load_find(e->ifaces[i].ifname)) != NULL &&
			    !l->loading && !l->final)
				fuzz_fail("%s: no state saved at exit",
				    e->ifaces[i].ifname);
		if (imsgbuf_queuelen(&e->iev_storage.ibuf) != 0)
			fuzz_fail("the state not sent at exit");
		return (-1);
	}
	if (sig == 0)
		engine_dispatch_parent(e->iev_parent.ibuf.fd, EV_READ, e);
	else
		engine_signal(sig, EV_SIGNAL, e);
	fuzz_fail("%s; the engine goes on", sig == 0 ?
	    "the parent hung up" : strsignal(sig));
}

/*
 * A configuration the engine took must be whole: as many peers as the
 * interfaces announce, each interface's numbered 0 to npeers - 1 once.
 */
static void
check_conf(void)
{
	struct engine		*e = &engine_state;
	struct mesh_peer	*p, *q;
	size_t			 i, j, n = 0;

	if (e->in_reconf)
		return;
	if (e->new_ifaces != NULL || e->new_peers != NULL ||
	    e->new_peer_conf != NULL || e->new_nifaces != 0 ||
	    e->new_npeers != 0)
		fuzz_fail("a configuration half received, outside one");
	if (e->mesh.peers == checked)
		return;
	checked = e->mesh.peers;
	for (i = 0; i < e->nifaces; i++)
		n += e->ifaces[i].npeers;
	if (n != e->mesh.npeers)
		fuzz_fail("%zu peers announced, %zu configured", n,
		    e->mesh.npeers);
	for (i = 0; i < e->mesh.npeers; i++) {
		p = &e->mesh.peers[i];
		if (p->iface >= e->nifaces ||
		    p->index >= e->ifaces[p->iface].npeers)
			fuzz_fail("peer %u/%u outside the configuration",
			    p->iface, p->index);
		if (strcmp(p->name, e->peer_conf[i].name) != 0)
			fuzz_fail("peer %zu: %s or %s", i, p->name,
			    e->peer_conf[i].name);
		for (j = 0; j < i; j++) {
			q = &e->mesh.peers[j];
			if (p->iface == q->iface && p->index == q->index)
				fuzz_fail("peer %u/%u configured twice",
				    p->iface, p->index);
		}
	}
}

/*
 * The engine's gossip sockets: one for each configured interface at
 * most (none for one dropped, once the configuration is whole), each a
 * descriptor the parent gave, with its event.
 */
static void
check_gsocks(void)
{
	struct engine	*e = &engine_state;
	size_t		 i, j;

	for (i = 0; i < e->ngsocks; i++) {
		if (!e->in_reconf && iface_index(e->gsocks[i].ifname) == -1)
			fuzz_fail("a gossip socket for %s, not configured",
			    e->gsocks[i].ifname);
		if (!fuzz_fd_is_copy(e->gsocks[i].fd) ||
		    e->gsocks[i].ev == NULL ||
		    event_get_fd(e->gsocks[i].ev) != e->gsocks[i].fd ||
		    event_get_callback_arg(e->gsocks[i].ev) != &e->gsocks[i])
			fuzz_fail("gossip socket %zu: descriptor %d, its "
			    "event lost", i, e->gsocks[i].fd);
		for (j = 0; j < i; j++)
			if (strcmp(e->gsocks[i].ifname,
			    e->gsocks[j].ifname) == 0)
				fuzz_fail("two gossip sockets for %s",
				    e->gsocks[i].ifname);
	}
}

/* After a handler returned: it did not keep a pair key that failed. */
static void
deliver_after(void)
{
	if (pair_failed != NULL)
		fuzz_fail("a pair key that could not be made, kept");
}

/* After fatal(): the engine would be gone, and its memory too. */
static void
deliver_fatal(void)
{
	if (exited)
		fuzz_fail("the engine exited");
	free(pair_failed);
	pair_failed = NULL;
}

/* Lets the engine read until the pipe is empty; -1 after fatal(). */
static int
deliver(struct fuzz_pipe *fp)
{
	static const struct fuzz_hooks	 hooks = { NULL, deliver_after,
					    deliver_fatal };
	struct engine			*e = &engine_state;

	if (fp == &pp)
		return (fuzz_deliver(fp, e->iev_parent.ibuf.fd,
		    engine_dispatch_parent, e, &hooks));
	return (fuzz_deliver(fp, e->iev_storage.ibuf.fd,
	    engine_dispatch_storage, e, &hooks));
}

/* Delivers, then checks the engine; -1 after fatal(). */
static int
settle(struct fuzz_pipe *fp)
{
	struct engine	*e = &engine_state;
	int		 r;

	/* a LAN socket from the parent makes the engine beacon */
	beacons_ok = fp == &pp;
	r = deliver(fp);
	beacons_ok = 0;
	if (r == -1)
		return (-1);
	check_conf();
	check_gsocks();
	check_lsocks();
	if (group_n != 0)
		fuzz_fail("entries without their SAVE");
	/* looked at when queued; nobody reads them here */
	fuzz_queue_drop(&e->iev_parent.ibuf);
	fuzz_queue_drop(&e->iev_storage.ibuf);
	return (0);
}

static size_t
payload(struct fuzz_in *in, uint32_t type, uint8_t *buf)
{
	static const char *const ifnames[] = { "wg0", "wg1", "wg-home" };
	static const char *const nodes[] = { "bernard", "edgeworth" };
	static const char *const backends[] = { "kernel", "userspace",
	    "none" };
	static const char *const names[] = { "alpha", "beta", "gamma",
	    "delta", "epsilon" };
	static const char *const hosts[] = { "", "198.18.0.1", "fd00::b",
	    "gamma.example", "0.0.0.0", "224.0.0.1", "ff02::1", "[fd00::1]",
	    "198.18.0.1:51820", "255.255.255.255", "::" };
	static const char *const texts[] = { "reload failed", "" };
	struct engine		*e = &engine_state;
	struct imsg_iface	 mi;
	struct imsg_peer	 mp;
	struct imsg_device_peer	 dp;
	struct imsg_pair_key	 pk;
	struct imsg_socket_gossip sg;
	struct imsg_socket_lan	 sl;
	struct imsg_lan_links	 ll;
	struct imsg_state_entry	 se;
	struct imsg_state_iface	 si;
	struct ctl_result	 r;
	struct mesh_peer	*p;
	const char		*lnames[FUZZ_NLOADS];
	uint32_t		 gen;
	uint8_t			 sel;
	size_t			 i;
	int			 v;

	for (i = 0; i < nloads; i++)
		lnames[i] = loads[i].ifname;
	switch (type) {
	case IMSG_RECONF_BEGIN:
		sel = fuzz_u8(in);
		gen = sel < 0xf0 ? e->gen + 1 + sel % 3 : fuzz_u32(in);
		memcpy(buf, &gen, sizeof(gen));
		return (sizeof(gen));
	case IMSG_RECONF_IFACE:
		memset(&mi, 0, sizeof(mi));
		sel = fuzz_u8(in);
		mi.index = (sel & 0x80) ? fuzz_u32(in) : e->new_nifaces;
		mi.npeers = (sel & 0x40) ? fuzz_u32(in) : sel % 4;
		fuzz_string(in, mi.ifname, sizeof(mi.ifname), ifnames, 3);
		fuzz_string(in, mi.node_name, sizeof(mi.node_name), nodes, 2);
		fuzz_string(in, mi.backend, sizeof(mi.backend), backends, 3);
		fuzz_bytes(in, mi.public_key, sizeof(mi.public_key));
		fuzz_bytes(in, mi.address, sizeof(mi.address));
		mi.listen_port = fuzz_u16(in);
		mi.gossip_port = fuzz_u16(in);
		mi.keepalive = fuzz_u16(in);
		mi.upnp_external_port = fuzz_u16(in);
		mi.lan_discovery = fuzz_u8(in);
		mi.upnp = fuzz_u8(in);
		/* from a bit already read: the seeds' bytes mean as before */
		if (sel & 0x20) {
			strlcpy(mi.self_endpoint_host, hosts[sel % 11],
			    sizeof(mi.self_endpoint_host));
			mi.self_endpoint_port = mi.listen_port;
		}
		memcpy(buf, &mi, sizeof(mi));
		return (sizeof(mi));
	case IMSG_RECONF_PEER:
		memset(&mp, 0, sizeof(mp));
		sel = fuzz_u8(in);
		mp.iface = (sel & 0x80) ? fuzz_u32(in) :
		    e->new_nifaces > 0 ? e->new_nifaces - 1 : 0;
		mp.index = (sel & 0x40) ? fuzz_u32(in) : sel % 4;
		fuzz_string(in, mp.name, sizeof(mp.name), names, 5);
		fuzz_string(in, mp.endpoint_host, sizeof(mp.endpoint_host),
		    hosts, 11);
		mp.endpoint_port = (sel & 0x20) ? fuzz_u16(in) : 51820;
		if (sel & 0x10)
			fuzz_bytes(in, mp.public_key, sizeof(mp.public_key));
		else
			memcpy(mp.public_key, fuzz_keys[fuzz_u8(in) %
			    FUZZ_NKEYS], sizeof(mp.public_key));
		fuzz_bytes(in, mp.address, sizeof(mp.address));
		mp.keepalive = fuzz_u16(in);
		memcpy(buf, &mp, sizeof(mp));
		return (sizeof(mp));
	case IMSG_DEVICE_PEER:
		memset(&dp, 0, sizeof(dp));
		sel = fuzz_u8(in);
		dp.iface = sel < 0xf0 ? sel % 3 : fuzz_u32(in);
		sel = fuzz_u8(in);
		dp.peer = sel < 0xf0 ? sel % 4 : fuzz_u32(in);
		sel = fuzz_u8(in);
		switch (sel % 4) {
		case 0:
			dp.last_handshake = 0;
			break;
		case 1:		/* fresh */
			dp.last_handshake = fuzz_clock - sel / 4;
			break;
		case 2:		/* stale */
			dp.last_handshake = fuzz_clock - 180 - sel;
			break;
		default:
			dp.last_handshake = (int64_t)fuzz_u64(in);
			break;
		}
		dp.rx_bytes = fuzz_u64(in);
		dp.tx_bytes = fuzz_u64(in);
		fuzz_addr(in, &dp.endpoint);
		memcpy(buf, &dp, sizeof(dp));
		return (sizeof(dp));
	case IMSG_CTL_RESULT:
	case IMSG_CTL_END:
		memset(&r, 0, sizeof(r));
		r.status = (int32_t)fuzz_u32(in);
		fuzz_string(in, r.text, sizeof(r.text), texts, 2);
		memcpy(buf, &r, sizeof(r));
		return (sizeof(r));
	case IMSG_CTL_LOG_VERBOSE:
		v = fuzz_u8(in) % 4;
		memcpy(buf, &v, sizeof(v));
		return (sizeof(v));
	case IMSG_PAIR_KEY:
		/* distinct keys for distinct peers, as the parent's are */
		memset(&pk, 0, sizeof(pk));
		sel = fuzz_u8(in);
		pk.iface = sel < 0xf0 ? sel % (e->nifaces + 1) : fuzz_u32(in);
		sel = fuzz_u8(in);
		pk.peer = sel < 0xf0 ? sel % 4 : fuzz_u32(in);
		sel = fuzz_u8(in);
		if (sel >= 0xf0)
			fuzz_bytes(in, pk.key, sizeof(pk.key));
		else {
			for (i = 0; i < sizeof(pk.key); i++)
				pk.key[i] = (uint8_t)(0x5a + i + 7 * sel);
			pk.key[0] = (uint8_t)pk.iface;
			pk.key[1] = (uint8_t)pk.peer;
		}
		memcpy(buf, &pk, sizeof(pk));
		return (sizeof(pk));
	case IMSG_SOCKET_GOSSIP:
		memset(&sg, 0, sizeof(sg));
		fuzz_string(in, sg.ifname, sizeof(sg.ifname), ifnames, 3);
		memcpy(buf, &sg, sizeof(sg));
		return (sizeof(sg));
	case IMSG_SOCKET_LAN:
		/* an interface's gossip port, mostly */
		memset(&sl, 0, sizeof(sl));
		sel = fuzz_u8(in);
		if (sel < 0xc0 && e->nifaces > 0)
			sl.port = e->ifaces[sel % e->nifaces].gossip_port;
		else if (sel < 0xf0)
			sl.port = sel % 2 ? 0 : 1666 + sel % 4;
		else
			sl.port = fuzz_u16(in);
		sel = fuzz_u8(in);
		sl.af = sel < 0x80 ? AF_INET : sel < 0xf0 ? AF_INET6 :
		    fuzz_u16(in);
		memcpy(buf, &sl, sizeof(sl));
		return (sizeof(sl));
	case IMSG_LAN_LINKS:
		/* a few small indexes, now and then a bad list */
		memset(&ll, 0, sizeof(ll));
		sel = fuzz_u8(in);
		ll.nlinks = sel < 0xf0 ? sel % 4 : fuzz_u32(in);
		for (i = 0; i < IMSG_LAN_LINKS_MAX; i++)
			ll.ifindex[i] = sel < 0xe0 ? 2 + i : fuzz_u8(in) % 3;
		memcpy(buf, &ll, sizeof(ll));
		return (sizeof(ll));
	case IMSG_STATE_ENTRY:
		memset(&se, 0, sizeof(se));
		fuzz_string(in, se.ifname, sizeof(se.ifname),
		    nloads > 0 ? lnames : ifnames, nloads > 0 ? nloads : 3);
		sel = fuzz_u8(in);
		se.last_seen = sel % 4 == 0 ? 0 : sel % 4 == 1 ?
		    (int64_t)fuzz_u64(in) : fuzz_clock - 3600 * sel;
		sel = fuzz_u8(in);
		p = e->mesh.npeers > 0 ? &e->mesh.peers[sel %
		    e->mesh.npeers] : NULL;
		if (p != NULL && sel < 0xf0)
			memcpy(se.public_key, p->public_key,
			    sizeof(se.public_key));
		else
			fuzz_bytes(in, se.public_key, sizeof(se.public_key));
		fuzz_addr(in, &se.endpoint);
		se.origin = fuzz_u8(in) % (ORIGIN_PERSISTED + 2);
		memcpy(buf, &se, sizeof(se));
		return (sizeof(se));
	case IMSG_STATE_LOADED:
		memset(&si, 0, sizeof(si));
		fuzz_string(in, si.ifname, sizeof(si.ifname),
		    nloads > 0 ? lnames : ifnames, nloads > 0 ? nloads : 3);
		sel = fuzz_u8(in);
		if (sel >= 0xf0)
			si.nentries = fuzz_u32(in);
		else if (nloads > 0 && load_find(si.ifname) != NULL)
			si.nentries = load_find(si.ifname)->received +
			    (sel & 0x80 ? sel % 3 : 0);
		memcpy(buf, &si, sizeof(si));
		return (sizeof(si));
	default:
		return (0);
	}
}

/* An answer to one of the lookups in flight. */
static int
answer(struct fuzz_in *in)
{
	struct evutil_addrinfo	*res;
	evdns_getaddrinfo_cb	 cb;
	void			*arg;
	int			 result;

	if (fuzz_dns_pending() == 0)
		return (0);
	fuzz_dns_take(in, &cb, &arg);
	res = fuzz_dns_addrinfo(in, &result);
	if (setjmp(fuzz_jmp) != 0)
		return (-1);
	cb(result, res, arg);
	check_conf();
	check_lsocks();
	fuzz_queue_drop(&engine_state.iev_parent.ibuf);
	fuzz_queue_drop(&engine_state.iev_storage.ibuf);
	return (0);
}

/*
 * Time passes and the engine ticks (not in a configuration transaction):
 * a round of beacons when one is due, then none until
 * LAN_BEACON_SECONDS later.
 */
static int
tick(struct fuzz_in *in)
{
	struct engine	*e = &engine_state;
	size_t		 due;

	fuzz_clock += fuzz_u8(in);
	due = !e->in_reconf &&
	    fuzz_clock - e->lan.beacon_at >= LAN_BEACON_SECONDS ?
	    lan_beacons_due() : 0;
	nbeacons = 0;
	beacons_ok = 1;
	if (setjmp(fuzz_jmp) != 0)
		return (-1);
	/* the pokes put off for MESH_POKE_DELAY_MS come first */
	if (e->npokes > 0)
		engine_pokes_due(-1, EV_TIMEOUT, e);
	engine_tick(-1, EV_TIMEOUT, e);
	beacons_ok = 0;
	if (nbeacons != due)
		fuzz_fail("a tick: %zu beacons, %zu due", nbeacons, due);
	if (group_n != 0)
		fuzz_fail("entries without their SAVE");
	check_gsocks();
	check_lsocks();
	fuzz_queue_drop(&e->iev_parent.ibuf);
	fuzz_queue_drop(&e->iev_storage.ibuf);
	return (0);
}

/* A client, accepted by control_accept() as a real one would be. */
static void
client_connect(void)
{
	if ((client_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 || connect(client_fd,
	    (struct sockaddr *)&listen_sun, sizeof(listen_sun)) == -1)
		fuzz_fail("control client: %s", strerror(errno));
	control_accept(listen_fd, EV_READ, NULL);
	if (ctl_nconns != 1)
		fuzz_fail("control client not accepted");
}

static void
reset(int fatal)
{
	struct engine	*e = &engine_state;
	size_t		 i;

	fuzz_dns_clear();
	control_close_all();
	if (ctl_fd != -1) {
		event_free(ctl_ev_accept);
		ctl_ev_accept = NULL;
		close(ctl_fd);
		ctl_fd = -1;
	}
	if (client_fd != -1)
		close(client_fd);
	client_fd = -1;
	/* the sockets the engine keeps on purpose */
	for (i = 0; i < e->ngsocks; i++) {
		event_free(e->gsocks[i].ev);
		close(e->gsocks[i].fd);
	}
	free(e->gsocks);
	lan_clear(&e->lan);
	event_free(e->ev_poke);
	free(e->pokes);
	free(e->saved);
	nloads = group_n = 0;
	memset(pairs, 0, sizeof(pairs));
	npairs = pairs_next = 0;
	memset(&dgram, 0, sizeof(dgram));
	last_len = 0;
	last_taken = 0;
	nsent = nset = sent_max = 0;
	exiting = exited = 0;
	ngiven = 0;
	given_lost = 0;
	memset(&ldgram, 0, sizeof(ldgram));
	last_llen = 0;
	last_ltaken = 0;
	memset(&lan_may, 0, sizeof(lan_may));
	memset(pings, 0, sizeof(pings));
	npings = pings_next = 0;
	beacons_ok = 0;
	nbeacons = 0;
	imsgev_clear(&e->iev_parent);
	imsgev_clear(&e->iev_storage);
	fuzz_pipe_close(&pp);
	fuzz_pipe_close(&ps);
	free(e->ifaces);
	free(e->peer_conf);
	free(e->new_ifaces);
	free(e->new_peers);
	free(e->new_peer_conf);
	mesh_clear(&e->mesh);
	memset(e, 0, sizeof(*e));
	checked = NULL;
	fuzz_fd_sweep(fatal);
	log_setverbose(0);
}

/*
 * Where an input starts: configured or not, with pair keys, gossip
 * sockets and LAN sockets, the state loaded, the peers up.
 */
static void
start(uint8_t flags)
{
	struct engine		*e = &engine_state;
	struct imsg_pair_key	 pk;
	struct imsg_socket_gossip sg;
	struct imsg_socket_lan	 sl;
	struct imsg_lan_links	 ll;
	struct imsg_state_iface	 si;
	struct imsg_device_peer	 dp;
	struct mesh_peer	*p;
	size_t			 i, k, nlan = 0;

	if (flags & 1) {
		fuzz_send_conf(&pp, 1);
		if (settle(&pp) == -1)
			fuzz_fail("the configuration was refused: %s",
			    log_fuzz_fatalmsg());
	}
	if (flags & 2) {
		fuzz_pipe_send(&pp, IMSG_SOCKET_CONTROL, 0, fuzz_fd_copy(),
		    NULL, 0);
		if (settle(&pp) == -1)
			fuzz_fail("the control socket was refused: %s",
			    log_fuzz_fatalmsg());
	}
	if (flags & 4)
		client_connect();
	if ((flags & 1) == 0)
		return;
	if (flags & 0x20) {
		for (i = 0; i < e->mesh.npeers; i++) {
			p = &e->mesh.peers[i];
			memset(&pk, 0, sizeof(pk));
			pk.iface = p->iface;
			pk.peer = p->index;
			for (k = 0; k < sizeof(pk.key); k++)
				pk.key[k] = (uint8_t)(0x5a + k);
			pk.key[0] = (uint8_t)pk.iface;
			pk.key[1] = (uint8_t)pk.peer;
			fuzz_pipe_send(&pp, IMSG_PAIR_KEY, e->gen, -1, &pk,
			    sizeof(pk));
		}
		for (i = 0; i < e->nifaces; i++) {
			memset(&sg, 0, sizeof(sg));
			strlcpy(sg.ifname, e->ifaces[i].ifname,
			    sizeof(sg.ifname));
			fuzz_pipe_send(&pp, IMSG_SOCKET_GOSSIP, e->gen,
			    fuzz_fd_socket(), &sg, sizeof(sg));
		}
		/* one per port that an interface discovers on */
		for (i = 0; i < e->nifaces; i++) {
			for (k = 0; k < i; k++)
				if (e->ifaces[k].lan_discovery &&
				    e->ifaces[k].gossip_port ==
				    e->ifaces[i].gossip_port)
					break;
			if (!e->ifaces[i].lan_discovery || k < i)
				continue;
			memset(&sl, 0, sizeof(sl));
			sl.port = e->ifaces[i].gossip_port;
			sl.af = AF_INET;
			fuzz_pipe_send(&pp, IMSG_SOCKET_LAN, e->gen,
			    fuzz_fd_socket(), &sl, sizeof(sl));
			sl.af = AF_INET6;
			fuzz_pipe_send(&pp, IMSG_SOCKET_LAN, e->gen,
			    fuzz_fd_socket(), &sl, sizeof(sl));
			nlan += 2;
		}
		/* one link for IPv6 beacons */
		memset(&ll, 0, sizeof(ll));
		ll.nlinks = 1;
		ll.ifindex[0] = 2;
		fuzz_pipe_send(&pp, IMSG_LAN_LINKS, e->gen, -1, &ll,
		    sizeof(ll));
		if (settle(&pp) == -1)
			fuzz_fail("pair keys and sockets refused: %s",
			    log_fuzz_fatalmsg());
		if (npairs != e->mesh.npeers || e->ngsocks != e->nifaces ||
		    e->lan.nsocks != nlan)
			fuzz_fail("pair keys and sockets not taken");
	}
	if (flags & 0x40) {
		for (i = 0; i < nloads; i++) {
			memset(&si, 0, sizeof(si));
			strlcpy(si.ifname, loads[i].ifname, sizeof(si.ifname));
			if (storage_send(IMSG_STATE_LOADED, -1, &si,
			    sizeof(si)) == -1)
				fuzz_fail("an empty state refused");
		}
	}
	if (flags & 0x80) {
		for (i = 0; i < e->mesh.npeers; i++) {
			p = &e->mesh.peers[i];
			memset(&dp, 0, sizeof(dp));
			dp.iface = p->iface;
			dp.peer = p->index;
			dp.last_handshake = fuzz_clock - 10;
			dp.endpoint.af = AF_INET;
			dp.endpoint.port = 51820;
			dp.endpoint.addr[0] = 198;
			dp.endpoint.addr[1] = 18;
			dp.endpoint.addr[3] = i + 1;
			fuzz_pipe_send(&pp, IMSG_DEVICE_PEER, e->gen, -1, &dp,
			    sizeof(dp));
		}
		if (settle(&pp) == -1)
			fuzz_fail("the device's view refused: %s",
			    log_fuzz_fatalmsg());
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init(1);
	memset(&listen_sun, 0, sizeof(listen_sun));
	listen_sun.sun_family = AF_UNIX;
	/* abstract: nothing in the file system, nothing to clean up */
	snprintf(listen_sun.sun_path + 1, sizeof(listen_sun.sun_path) - 1,
	    "wgmeshd-fuzz-engine-%ld", (long)getpid());
	if ((listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 || bind(listen_fd,
	    (struct sockaddr *)&listen_sun, sizeof(listen_sun)) == -1 ||
	    listen(listen_fd, 4) == -1)
		fuzz_fail("control listener: %s", strerror(errno));
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		 buf[MAX_IMSGSIZE];
	struct engine		*e = &engine_state;
	struct fuzz_in		 in = { data, size };
	struct fuzz_pipe	*fp, *held = NULL;
	uint32_t		 type, peerid;
	size_t			 len, ops;
	uint8_t			 flags, op, sel;
	int			 fd, fatal = 0;

	fuzz_dns_input = &in;
	memset(e, 0, sizeof(*e));
	e->base = fuzz_event_base();
	e->poke_fd = -1;	/* a poke fails quietly, as EAGAIN would */
	fuzz_clock = FUZZ_CLOCK;
	fuzz_pipe_open(&pp);
	fuzz_pipe_open(&ps);
	imsgev_init(&e->iev_parent, e->base, pp.theirs,
	    engine_dispatch_parent, e);
	imsgev_init(&e->iev_storage, e->base, ps.theirs,
	    engine_dispatch_storage, e);
	mesh_init(&e->mesh, engine_action, engine_send, e, 1);
	lan_init(&e->lan, e->base, &e->mesh);
	if ((e->ev_poke = evtimer_new(e->base, engine_pokes_due, e)) == NULL)
		fuzz_fail("evtimer_new");
	ctl_base = e->base;
	ctl_next_id = 1;

	flags = fuzz_u8(&in);
	log_setverbose(((flags >> 3) & 3) % 3);
	start(flags);

	for (ops = 0; ops < FUZZ_MAXOPS && in.len > 0 && !fatal; ops++) {
		op = fuzz_u8(&in);
		sel = op & 0x1f;
		fp = &pp;
		if ((sel >= 23 && sel <= 26) || sel <= 4 || sel == 20) {
			/* these come after what is held back */
			if (held != NULL && (fatal = settle(held) == -1))
				break;
			held = NULL;
		}
		switch (sel) {
		case 0:
			sel = fuzz_u8(&in) % 3;
			fatal = engine_ends(sel == 0 ? SIGHUP : sel == 1 ?
			    SIGTERM : SIGINT) == -1;
			continue;
		case 1:
			fatal = inject(&in) == -1;
			continue;
		case 2:
			fatal = storage_answer(&in) == -1;
			continue;
		case 3:
			fatal = engine_ends(0) == -1;
			continue;
		case 4:
			fatal = inject_lan(&in) == -1;
			continue;
		case 20:
			fatal = socket_lan(&in, op) == -1;
			continue;
		case 7:
			type = IMSG_PAIR_KEY;
			break;
		case 8:
			type = IMSG_SOCKET_GOSSIP;
			break;
		case 19:
			type = IMSG_LAN_LINKS;
			break;
		case 22:
			type = fuzz_type(fuzz_u32(&in));
			break;
		case 23:
			fp = &ps;
			type = fuzz_type(fuzz_u8(&in));
			break;
		case 24:
			fatal = tick(&in) == -1;
			continue;
		case 25:
			fatal = answer(&in) == -1;
			continue;
		case 26:
			fuzz_send_conf(&pp, e->gen + 1);
			fatal = settle(&pp) == -1;
			continue;
		case 27:
			type = IMSG_RECONF_PEER;
			break;
		case 28:
		case 29:
			type = IMSG_DEVICE_PEER;
			break;
		case 30:
			type = IMSG_RECONF_IFACE;
			break;
		case 31:
			type = IMSG_CTL_END;
			break;
		default:
			type = fuzz_type(sel);
			break;
		}
		if (op & 0x40) {
			len = fuzz_u16(&in) % (MAX_IMSGSIZE - IMSG_HEADER_SIZE +
			    1);
			fuzz_bytes(&in, buf, len);
		} else
			len = payload(&in, type, buf);
		sel = fuzz_u8(&in);
		switch (sel % 4) {
		case 0:
			peerid = e->gen;
			break;
		case 1:
			peerid = e->in_reconf ? e->new_gen : e->gen + 1;
			break;
		case 2:
			peerid = 1;
			break;
		default:
			peerid = fuzz_u32(&in);
			break;
		}
		fd = (op & 0x1f) == 8 ? fuzz_fd_socket() : (op & 0x20) ?
		    fuzz_fd_copy() : -1;
		if (fp == &ps) {
			fatal = storage_send(type, fd, buf, len) == -1;
			continue;
		}
		fuzz_pipe_send(fp, type, peerid, fd, buf, len);
		if ((op & 0x80) && fp == &pp) {
			held = fp;	/* to arrive with the next one */
			continue;
		}
		held = NULL;
		fatal = settle(fp) == -1;
		/* only the parent's sockets come with one (proto.h) */
		if (fd != -1 && !fatal && type != IMSG_SOCKET_CONTROL &&
		    type != IMSG_SOCKET_GOSSIP && type != IMSG_SOCKET_LAN)
			fuzz_fail("%s with a descriptor taken",
			    imsg_type_name(type));
	}
	if (held != NULL && !fatal)
		fatal = settle(held) == -1;

	reset(fatal);
	return (0);
}
