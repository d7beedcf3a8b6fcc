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
 * The relay process: forwards the WireGuard datagrams of pairs of peers
 * that cannot reach each other directly, unchanged, so that their tunnel
 * stays end-to-end.  The parent starts it (wgmeshd -R) when an interface
 * may offer relaying, with the port range and the limits on the command
 * line; the engine decides which pairs and commands it over fd 4 (the
 * messages of common/proto.h, IMSG_RELAY_*); fd 3, to the parent, only
 * tells each side that the other is alive, and brings the log level.
 *
 * It binds every port of the range at start, one dual-stack UDP socket
 * each, then drops everything: chroot to an empty directory, an
 * unprivileged user, no new files, and the narrowest filter of the
 * daemon (sandbox_relay()): it cannot make a socket, bind one or open a
 * file.  It holds no key, so a compromise of it gains the ability to
 * send UDP from its own ports and nothing else.  Which datagram goes
 * where is decided in relay_wire.c.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "wgmeshd.h"
#include "relay.h"

#define RELAY_BATCH		32	/* datagrams per recvmmsg(2) */
#define RELAY_DATAGRAM_MAX	9216	/* a jumbo frame's; longer: junk */

/* One port of the range; a pair uses two. */
struct relay_port {
	int			 fd;
	uint16_t		 port;
	int			 slot;		/* -1: free */
	int			 leg;
	struct event		*ev;
};

struct relay_slot {
	int			 used;
	int			 port[2];	/* in relay.ports */
	struct relay_pair	 pair;
};

struct relay_state {
	struct event_base	*base;
	struct imsgev		 iev_parent;
	struct imsgev		 iev_engine;
	struct relay_params	 params;
	struct relay_port	*ports;
	size_t			 nports;
	struct relay_slot	 slots[RELAY_PAIRS_MAX];	/* by id */
	size_t			 npairs;
	struct relay_counters	 stats;
	struct event		*ev_report;
	/* the receive batch, and what of it goes out */
	struct mmsghdr		 rx[RELAY_BATCH];
	struct iovec		 rx_iov[RELAY_BATCH];
	struct sockaddr_in6	 rx_from[RELAY_BATCH];
	struct mmsghdr		 tx[RELAY_BATCH];
	struct sockaddr_in6	 tx_to[RELAY_BATCH];
	uint8_t			 buf[RELAY_BATCH][RELAY_DATAGRAM_MAX];
};

static struct relay_state relay_state;

static int	 relay_number(const char *, long long, long long,
		    long long *);
static void	 relay_bind(struct relay_state *);
static void	 relay_dispatch_parent(int, short, void *);
static void	 relay_dispatch_engine(int, short, void *);
static void	 relay_open(struct relay_state *, struct imsg *);
static void	 relay_opened(struct relay_state *, uint32_t, uint16_t,
		    uint16_t, int);
static void	 relay_close(struct relay_state *, struct imsg *);
static struct relay_slot *relay_slot(struct relay_state *, uint32_t,
		    const char *);
static void	 relay_check_expect(const struct imsg_addr [2], const char *);
static void	 relay_receive(int, short, void *);
static void	 relay_send(struct relay_state *, int, unsigned int);
static void	 relay_report(int, short, void *);
static void	 relay_report_arm(struct relay_state *);
static int64_t	 relay_now_ms(void);

__dead void
relay(int debug, int verbose, const char *user,
    const struct relay_params *params)
{
	struct relay_state	*r = &relay_state;
	unsigned int		 i;

	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	sandbox_proc_name("relay");

	r->params = *params;
	tzset();
	if ((r->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	relay_bind(r);
	for (i = 0; i < RELAY_BATCH; i++) {
		r->rx_iov[i].iov_base = r->buf[i];
		r->rx_iov[i].iov_len = sizeof(r->buf[i]);
	}
	if ((r->ev_report = evtimer_new(r->base, relay_report, r)) == NULL)
		fatalx("evtimer_new");

	/* the signals' events would need a pipe: the parent stops us */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	privdrop_relay(user, WGMESHD_CHROOT);
	sandbox_relay();

	imsgev_init(&r->iev_parent, r->base, 3, relay_dispatch_parent, r);
	imsgev_init(&r->iev_engine, r->base, 4, relay_dispatch_engine, r);
	imsgev_pipe(&r->iev_parent, "the parent", 0);
	imsgev_pipe(&r->iev_engine, "the engine", 0);
	log_debug("relaying on ports %u-%u, at most %u pairs",
	    r->params.port_low, r->params.port_high, r->params.max_pairs);
	event_base_dispatch(r->base);
	exit(0);
}

/*
 * The command line after -R: "LOW-HIGH" MAX_PAIRS MBIT PACKETS, each
 * already checked by the configuration's parser; -1 if one is not.
 */
int
relay_params_parse(struct relay_params *rp, char *argv[], int argc)
{
	long long	 low, high, pairs, mbit, packets;
	char		*dash;

	if (argc != 4 || (dash = strchr(argv[0], '-')) == NULL)
		return (-1);
	*dash = '\0';
	if (relay_number(argv[0], 1024, 65535, &low) == -1 ||
	    relay_number(dash + 1, low + 1, 65535, &high) == -1 ||
	    high - low + 1 > RELAY_PORTS_MAX ||
	    relay_number(argv[1], 1, (high - low + 1) / 2, &pairs) == -1 ||
	    relay_number(argv[2], 1, RELAY_RATE_MBIT_MAX, &mbit) == -1 ||
	    relay_number(argv[3], 1, RELAY_PACKET_RATE_MAX, &packets) == -1)
		return (-1);
	rp->port_low = low;
	rp->port_high = high;
	rp->max_pairs = pairs;
	rp->rate_mbit = mbit;
	rp->packet_rate = packets;
	return (0);
}

/* A decimal number from min to max, nothing else. */
static int
relay_number(const char *s, long long min, long long max, long long *n)
{
	char	*end;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	*n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || *n < min || *n > max)
		return (-1);
	return (0);
}

/* Every port of the range, before the sandbox forbids bind(2). */
static void
relay_bind(struct relay_state *r)
{
	struct sockaddr_in6	 sin6;
	struct relay_port	*rp;
	int			 off = 0;
	size_t			 i;

	r->nports = r->params.port_high - r->params.port_low + 1;
	if ((r->ports = calloc(r->nports, sizeof(*r->ports))) == NULL)
		fatal("relay ports");
	for (i = 0; i < r->nports; i++) {
		rp = &r->ports[i];
		rp->port = r->params.port_low + i;
		rp->slot = -1;
		if ((rp->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) == -1)
			fatal("relay port %u: socket", rp->port);
		/* IPv4 peers arrive as ::ffff:a.b.c.d */
		if (setsockopt(rp->fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
		    sizeof(off)) == -1)
			fatal("relay port %u: IPV6_V6ONLY", rp->port);
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(rp->port);
		if (bind(rp->fd, (struct sockaddr *)&sin6, sizeof(sin6)) == -1)
			fatal("relay port %u: bind", rp->port);
		if ((rp->ev = event_new(r->base, rp->fd, EV_READ | EV_PERSIST,
		    relay_receive, rp)) == NULL || event_add(rp->ev,
		    NULL) == -1)
			fatalx("relay port %u: event", rp->port);
	}
}

/* The parent sends the log level; its closed pipe: the daemon stops. */
static void
relay_dispatch_parent(int fd, short event, void *arg)
{
	struct relay_state	*r = arg;
	struct imsgev		*iev = &r->iev_parent;
	struct imsg		 imsg;
	const char		*why;
	ssize_t			 n;
	int			 verbose;

	if (imsgev_io(iev, event) == -1)
		exit(0);
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("imsg_get from the parent");
		if (n == 0)
			break;
		if ((why = imsg_check(&imsg, PROC_PARENT)) != NULL)
			fatalx("%s", why);
		switch (imsg.hdr.type) {
		case IMSG_CTL_LOG_VERBOSE:
			if (imsg_get_verbose(&imsg, &verbose) == -1)
				fatalx("invalid IMSG_CTL_LOG_VERBOSE");
			log_setverbose(verbose);
			break;
		default:
			fatalx("unexpected %s from the parent",
			    imsg_type_name(imsg.hdr.type));
		}
		imsg_free(&imsg);
	}
}

static void
relay_dispatch_engine(int fd, short event, void *arg)
{
	struct relay_state	*r = arg;
	struct imsgev		*iev = &r->iev_engine;
	struct imsg		 imsg;
	struct imsg_relay_expect re;
	struct imsg_relay_pause	 rp;
	const char		*why;
	ssize_t			 n;

	/* the engine stops when the daemon does: so do we */
	if (imsgev_io(iev, event) == -1)
		exit(0);
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("imsg_get from the engine");
		if (n == 0)
			break;
		if ((why = imsg_check(&imsg, PROC_ENGINE)) != NULL)
			fatalx("%s", why);
		switch (imsg.hdr.type) {
		case IMSG_RELAY_OPEN:
			relay_open(r, &imsg);
			break;
		case IMSG_RELAY_EXPECT:
			imsg_payload(&imsg, &re, sizeof(re));
			relay_check_expect(re.expect, "IMSG_RELAY_EXPECT");
			relay_pair_expect(&relay_slot(r, re.id,
			    "IMSG_RELAY_EXPECT")->pair, re.expect);
			break;
		case IMSG_RELAY_PAUSE:
			imsg_payload(&imsg, &rp, sizeof(rp));
			if (rp.ms > RELAY_PAUSE_MAX_MS)
				fatalx("IMSG_RELAY_PAUSE: %u ms", rp.ms);
			relay_pair_pause(&relay_slot(r, rp.id,
			    "IMSG_RELAY_PAUSE")->pair, rp.ms, relay_now_ms());
			break;
		case IMSG_RELAY_CLOSE:
			relay_close(r, &imsg);
			break;
		default:
			fatalx("unexpected %s from the engine",
			    imsg_type_name(imsg.hdr.type));
		}
		imsg_free(&imsg);
	}
}

/* An open pair, or fatal: the engine and we disagree. */
static struct relay_slot *
relay_slot(struct relay_state *r, uint32_t id, const char *what)
{
	if (id >= RELAY_PAIRS_MAX || !r->slots[id].used)
		fatalx("%s: no pair %u", what, id);
	return (&r->slots[id]);
}

static void
relay_check_expect(const struct imsg_addr expect[2], const char *what)
{
	int	i;

	for (i = 0; i < 2; i++)
		if ((expect[i].af != 0 && expect[i].af != AF_INET &&
		    expect[i].af != AF_INET6) || (expect[i].af != AF_INET6 &&
		    expect[i].scope != 0))
			fatalx("%s: an address of family %u, scope %u", what,
			    expect[i].af, expect[i].scope);
}

static void
relay_open(struct relay_state *r, struct imsg *imsg)
{
	struct imsg_relay_open	 ro;
	struct relay_slot	*s;
	size_t			 i, n = 0;
	int			 avail[2];

	imsg_payload(imsg, &ro, sizeof(ro));
	if (ro.id >= RELAY_PAIRS_MAX)
		fatalx("IMSG_RELAY_OPEN: id %u", ro.id);
	relay_check_expect(ro.expect, "IMSG_RELAY_OPEN");
	if (r->slots[ro.id].used) {
		relay_opened(r, ro.id, 0, 0, EEXIST);
		return;
	}
	for (i = 0; i < r->nports && n < 2; i++)
		if (r->ports[i].slot == -1)
			avail[n++] = i;
	if (n < 2 || r->npairs >= r->params.max_pairs) {
		relay_opened(r, ro.id, 0, 0, ENOSPC);
		return;
	}
	s = &r->slots[ro.id];
	memset(s, 0, sizeof(*s));
	s->used = 1;
	relay_pair_init(&s->pair, &ro, r->params.packet_rate,
	    (uint64_t)r->params.rate_mbit * 1000000 / 8, relay_now_ms());
	for (i = 0; i < 2; i++) {
		s->port[i] = avail[i];
		r->ports[avail[i]].slot = ro.id;
		r->ports[avail[i]].leg = i;
	}
	r->npairs++;
	relay_opened(r, ro.id, r->ports[avail[0]].port,
	    r->ports[avail[1]].port, 0);
	relay_report_arm(r);
	log_debug("pair %u: ports %u and %u", ro.id, r->ports[avail[0]].port,
	    r->ports[avail[1]].port);
}

static void
relay_opened(struct relay_state *r, uint32_t id, uint16_t port0,
    uint16_t port1, int error)
{
	struct imsg_relay_opened ro;

	memset(&ro, 0, sizeof(ro));
	ro.id = id;
	ro.port[0] = port0;
	ro.port[1] = port1;
	ro.error = error;
	imsgev_compose(&r->iev_engine, IMSG_RELAY_OPENED, 0, -1, &ro,
	    sizeof(ro));
}

static void
relay_close(struct relay_state *r, struct imsg *imsg)
{
	struct imsg_relay_close	 rc;
	struct relay_slot	*s;
	int			 i;

	imsg_payload(imsg, &rc, sizeof(rc));
	s = relay_slot(r, rc.id, "IMSG_RELAY_CLOSE");
	for (i = 0; i < 2; i++)
		r->ports[s->port[i]].slot = -1;
	explicit_bzero(s, sizeof(*s));
	r->npairs--;
	log_debug("pair %u closed", rc.id);
}

/*
 * Datagrams on a port: each classified, what is forwarded sent in one
 * batch out of the other leg's port.
 */
static void
relay_receive(int fd, short event, void *arg)
{
	struct relay_port	*rp = arg;
	struct relay_state	*r = &relay_state;
	struct relay_slot	*s;
	struct relay_addr	 src, dst;
	enum relay_verdict	 v;
	struct msghdr		*mh;
	int64_t			 now;
	int			 i, n, latched;
	unsigned int		 ntx = 0;

	for (i = 0; i < RELAY_BATCH; i++) {
		mh = &r->rx[i].msg_hdr;
		memset(mh, 0, sizeof(*mh));
		mh->msg_name = &r->rx_from[i];
		mh->msg_namelen = sizeof(r->rx_from[i]);
		mh->msg_iov = &r->rx_iov[i];
		mh->msg_iovlen = 1;
	}
	if ((n = recvmmsg(fd, r->rx, RELAY_BATCH, 0, NULL)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("relay port %u: recvmmsg", rp->port);
		return;
	}
	now = relay_now_ms();
	r->stats.rx += n;
	if (rp->slot == -1) {
		r->stats.drop_idle += n;
		return;
	}
	s = &r->slots[rp->slot];
	for (i = 0; i < n; i++) {
		mh = &r->rx[i].msg_hdr;
		if ((mh->msg_flags & MSG_TRUNC) != 0 ||
		    r->rx_from[i].sin6_family != AF_INET6) {
			r->stats.drop_junk++;
			continue;
		}
		memset(&src, 0, sizeof(src));
		memcpy(src.addr, &r->rx_from[i].sin6_addr, 16);
		src.port = ntohs(r->rx_from[i].sin6_port);
		if (IN6_IS_ADDR_LINKLOCAL(&r->rx_from[i].sin6_addr))
			src.scope = r->rx_from[i].sin6_scope_id;
		v = relay_classify(&s->pair, rp->leg, &src, r->buf[i],
		    r->rx[i].msg_len, now, &dst, &latched);
		if (latched)
			r->stats.latched++;
		if (v != RELAY_FORWARD) {
			relay_count(&r->stats, v, r->rx[i].msg_len);
			continue;
		}
		memset(&r->tx_to[ntx], 0, sizeof(r->tx_to[ntx]));
		r->tx_to[ntx].sin6_family = AF_INET6;
		r->tx_to[ntx].sin6_port = htons(dst.port);
		memcpy(&r->tx_to[ntx].sin6_addr, dst.addr, 16);
		r->tx_to[ntx].sin6_scope_id = dst.scope;
		memset(&r->tx[ntx], 0, sizeof(r->tx[ntx]));
		r->tx[ntx].msg_hdr.msg_name = &r->tx_to[ntx];
		r->tx[ntx].msg_hdr.msg_namelen = sizeof(r->tx_to[ntx]);
		/* the datagram as it came, where it lies */
		r->rx_iov[i].iov_len = r->rx[i].msg_len;
		r->tx[ntx].msg_hdr.msg_iov = &r->rx_iov[i];
		r->tx[ntx].msg_hdr.msg_iovlen = 1;
		ntx++;
	}
	relay_send(r, r->ports[s->port[1 - rp->leg]].fd, ntx);
	for (i = 0; i < RELAY_BATCH; i++)
		r->rx_iov[i].iov_len = sizeof(r->buf[i]);
}

/* What does not go out now is dropped: a relay does not queue. */
static void
relay_send(struct relay_state *r, int fd, unsigned int ntx)
{
	unsigned int	 done = 0;
	int		 n;

	while (done < ntx) {
		n = sendmmsg(fd, r->tx + done, ntx - done, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == ENOBUFS)) {
			r->stats.drop_full += ntx - done;
			return;
		}
		if (n == -1) {
			/* unreachable for now: counted, this one skipped */
			r->stats.drop_full++;
			done++;
			continue;
		}
		for (; n > 0; n--, done++) {
			r->stats.forwarded++;
			r->stats.forwarded_bytes +=
			    r->tx[done].msg_hdr.msg_iov->iov_len;
		}
	}
}

static void
relay_report_arm(struct relay_state *r)
{
	struct timeval	 tv = { RELAY_STATE_MS / 1000,
			    (RELAY_STATE_MS % 1000) * 1000 };

	if (!evtimer_pending(r->ev_report, NULL))
		evtimer_add(r->ev_report, &tv);
}

/* Once a second while a pair is open, and once after the last closed. */
static void
relay_report(int fd, short event, void *arg)
{
	struct relay_state	*r = arg;
	struct imsg_relay_state	 rs[RELAY_STATE_MSG_MAX];
	int64_t			 now = relay_now_ms();
	size_t			 id, n = 0;

	for (id = 0; id < RELAY_PAIRS_MAX; id++) {
		if (!r->slots[id].used)
			continue;
		relay_pair_state(&r->slots[id].pair, now, &rs[n++]);
		if (n == RELAY_STATE_MSG_MAX) {
			imsgev_compose(&r->iev_engine, IMSG_RELAY_STATE, 0,
			    -1, rs, n * sizeof(rs[0]));
			n = 0;
		}
	}
	if (n > 0)
		imsgev_compose(&r->iev_engine, IMSG_RELAY_STATE, 0, -1, rs,
		    n * sizeof(rs[0]));
	imsgev_compose(&r->iev_engine, IMSG_RELAY_COUNTERS, 0, -1, &r->stats,
	    sizeof(r->stats));
	if (r->npairs > 0)
		relay_report_arm(r);
}

static int64_t
relay_now_ms(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
