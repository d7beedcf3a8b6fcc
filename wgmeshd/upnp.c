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
 * Port mappings on the LAN's gateway (PCP, NAT-PMP, UPnP IGD), in the
 * engine.  For each interface with "port-mapping" (or "upnp yes") the
 * gateway is asked to forward a UDP port (the external port) to this
 * host's listen port; the gateway's external address and the port it
 * gave are then gossiped as this node's endpoint (mesh_self_endpoint(),
 * through the engine's callback), whichever protocol made the mapping.
 * A mapping is renewed at half its lease with the protocol that made
 * it, tried again with a growing delay when it fails (every configured
 * protocol again once it is lost), and deleted when the engine exits.
 *
 * The protocols, in the order tried, the first that maps wins:
 *  1. PCP (RFC 6887), a MAP request written here (pcp_map_build(),
 *     pcp_map_parse()), to the default gateway's port 5351;
 *  2. NAT-PMP (RFC 6886), through libnatpmp, to the same port;
 *  3. UPnP IGD through miniupnpc: SSDP discovery, then HTTP.
 * PCP and NAT-PMP wait PMP_FIRST_WAIT_MS for an answer, then twice that
 * after sending again (750 ms each); a gateway that refuses the port
 * (ICMP) is given up at once, and NAT-PMP is not tried where PCP's
 * datagram was refused.  Every answer from the gateway is checked
 * before use: size, version, opcode, result code, the internal port
 * (and PCP's nonce) of the request, the lease, the external address,
 * and the gateway's epoch (a gateway that restarted lost its mappings;
 * pmp_epoch_check()).  An answer that fails a check is dropped, and the
 * request fails once no good answer came in time.
 *
 * The default gateway is read from /proc/net/route, opened as
 * UPNP_ROUTE_FD before the worker's chroot (the filter allows pread(2)
 * on that descriptor alone) and read again for each request, so that a
 * gateway that changes is followed; libnatpmp is given the address
 * rather than reading the file itself.
 *
 * miniupnpc blocks: SSDP discovery waits about two seconds and every
 * call is an HTTP request.  So that gossip and hole punching never wait
 * for a gateway, those calls run in a worker process, forked by the
 * engine before its privilege drop.  The worker is also where the
 * gateway's HTTP, XML, PCP and NAT-PMP are parsed, and where TCP is
 * allowed: the engine, which holds the pair keys, makes no TCP
 * connection at all.  The engine's event loop and the worker share
 * nothing but a SOCK_SEQPACKET socketpair: one fixed-size struct
 * upnp_request per datagram one way, one struct upnp_answer per request
 * the other way, in order.  The worker keeps what it learned of the
 * gateway (and which PCP and NAT-PMP mappings it made, with PCP's
 * nonces, to renew and delete them); the engine keeps the mappings.
 * The engine checks every answer before use (upnp_answer_check()); a
 * malformed one, or the worker's end, is fatal.
 *
 * The worker closes every descriptor of the engine's but its pipe and
 * stdio, drops its privileges and loads its own filter (the confine
 * callback: privdrop(), sandbox_upnp()), and is killed when the engine
 * ends; the engine first waits for its mappings to be deleted.  It
 * reaches only IPv4 literals: miniupnpc hands a URL's host to
 * getaddrinfo(3), and a name there would make glibc read files and send
 * DNS queries that the sandbox does not allow.  That is why the gateway
 * is chosen here, step by step with miniupnpc's own parts, rather than
 * by UPNP_GetValidIGD(), which connects to the URLs a gateway's
 * description names before its caller can look at them; the choice is
 * the same (a connected gateway with a routable address first, then one
 * whose address is reserved, as UPNP_GetValidIGD()'s 1 and 2).
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/miniwget.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <natpmp.h>

#include "wgmeshd.h"
#include "engine.h"

#define UPNP_DEVICES_MAX	8	/* SSDP answers looked at */
#define UPNP_SSDP_TTL		2	/* UDA 1.1's default */
#define UPNP_CIF_PREFIX	"urn:schemas-upnp-org:service:WANCommonInterfaceConfig:"
#define UPNP_WANIP_PREFIX	"urn:schemas-upnp-org:service:WANIPConnection:"
#define UPNP_WANPPP_PREFIX	"urn:schemas-upnp-org:service:WANPPPConnection:"
#define UPNP_E_NOSUCHENTRY	714	/* DeletePortMapping: already gone */
#define UPNP_E_PERMANENT_ONLY	725	/* OnlyPermanentLeasesSupported */
#define UPNP_ROUTE_MAX		(64 * 1024)	/* of /proc/net/route read */
#define PMP_MADE_MAX		16	/* PCP, NAT-PMP mappings remembered */
#define PCP_VERSION		2
#define PCP_OP_MAP		1
#define PCP_R_ANSWER		0x80	/* the R bit: a response */
#define PCP_HEADER_LEN		24
#define NATPMP_OP_ANSWER	128	/* added to the request's opcode */
#define NATPMP_UNSUPP_VERSION	1	/* result code */
#define RTF_UP_GATEWAY		0x0003	/* RTF_UP | RTF_GATEWAY */

/* What the worker knows of the gateway; its own, never shared. */
struct upnp_igd {
	int			 valid;
	int			 kind;		/* enum upnp_igd_kind */
	struct UPNPUrls		 urls;
	char			 service[MINIUPNPC_URL_MAXSIZE];
	char			 lan[UPNP_ADDR_MAX];	/* ours, towards it */
};

/* A PCP or NAT-PMP mapping the worker made, to renew and delete it. */
struct pmp_made {
	uint16_t		 int_port;	/* 0: a free slot */
	uint8_t			 proto;		/* PORTMAP_PCP or _NATPMP */
	uint8_t			 nonce[PCP_NONCE_LEN];
};

/* The worker's state, its own. */
struct upnp_worker {
	struct upnp_igd		 igd;
	struct in_addr		 gw;		/* the epochs are this one's */
	struct pmp_epoch	 epoch_pcp;
	struct pmp_epoch	 epoch_natpmp;
	struct pmp_made		 made[PMP_MADE_MAX];
	size_t			 made_next;	/* the slot a new one takes */
};

/* One interface's mapping, in the engine. */
struct upnp_map {
	uint64_t		 id;		/* in its pending requests */
	char			 ifname[IMSG_IFNAME_MAX];
	uint32_t		 iface;		/* index, now */
	uint8_t			 public_key[WG_KEY_LEN];
	uint16_t		 listen_port;
	uint16_t		 ext_port;	/* asked for */
	uint8_t			 protos;	/* PORTMAP_*: configured */
	uint8_t			 proto;		/* PORTMAP_*: made it */
	int			 busy;		/* a MAP is with the worker */
	int			 mapped;
	struct imsg_addr	 ext;		/* the mapping, when mapped */
	char			 lan[INET_ADDRSTRLEN];
	uint32_t		 lease;		/* 0: permanent */
	int64_t			 expires;	/* 0: never */
	int64_t			 next;		/* when to map (again) */
	unsigned int		 failures;	/* in a row */
};

/* A request with the worker; answers come back in the same order. */
struct upnp_pending {
	TAILQ_ENTRY(upnp_pending) entry;
	struct upnp_request	 rq;
	uint64_t		 map_id;	/* 0, or gone: nobody waits */
	char			 ifname[IMSG_IFNAME_MAX];
};
TAILQ_HEAD(upnp_pending_list, upnp_pending);

struct upnp {
	int			 fd;		/* -1: no worker */
	struct event		*ev_read;
	struct event		*ev_tick;
	upnp_endpoint_cb	 cb;
	void			*cb_arg;
	struct upnp_map		*maps;
	size_t			 nmaps;
	uint64_t		 next_id;
	uint32_t		 seq;
	struct upnp_pending_list pending;
	int			 stopping;
};

static struct upnp	 upnp_state = { .fd = -1 };

static __dead void upnp_worker_main(int, pid_t, upnp_confine_cb);
static void	 upnp_worker_loop(int);
static void	 upnp_worker_map(struct upnp_worker *,
		    const struct upnp_request *, struct upnp_answer *);
static void	 upnp_worker_unmap(struct upnp_worker *,
		    const struct upnp_request *, struct upnp_answer *);
static int	 upnp_worker_gateway(struct upnp_worker *, struct in_addr *);
static void	 upnp_igd_map(struct upnp_igd *,
		    const struct upnp_request *, struct upnp_answer *);
static void	 upnp_igd_unmap(struct upnp_igd *,
		    const struct upnp_request *, struct upnp_answer *);
static int	 pcp_request(struct upnp_worker *, const struct in_addr *,
		    const struct upnp_request *, uint32_t, struct upnp_answer *);
static int	 pcp_exchange(int, const uint8_t *, uint16_t, const uint8_t *,
		    struct pcp_map_answer *);
static int	 natpmp_request(struct upnp_worker *, const struct in_addr *,
		    const struct upnp_request *, uint32_t, struct upnp_answer *);
static int	 natpmp_wait(natpmp_t *, uint8_t, natpmpresp_t *);
static int	 pmp_socket_lan(int, struct in_addr *, struct upnp_answer *);
static int	 pmp_granted(const struct upnp_request *, uint32_t, uint16_t,
		    struct in_addr, struct upnp_answer *);
static struct pmp_made *pmp_made_find(struct upnp_worker *, uint16_t,
		    uint8_t);
static void	 pmp_made_add(struct upnp_worker *, uint16_t, uint8_t,
		    const uint8_t *);
static int64_t	 upnp_now_ms(void);
static int	 upnp_igd_find(struct upnp_igd *, struct upnp_answer *);
static int	 upnp_igd_try(struct upnp_igd *, struct IGDdatas *,
		    const char *, const char *, const char *);
static void	 upnp_igd_forget(struct upnp_igd *);
static int	 upnp_reserved(const char *);
static void	 upnp_fail(struct upnp_answer *, int, int);
static void	 upnp_read(int, short, void *);
static void	 upnp_tick(int, short, void *);
static int	 upnp_send(struct upnp *, uint8_t, struct upnp_map *,
		    uint16_t);
static void	 upnp_answer(struct upnp *, const struct upnp_answer *);
static void	 upnp_mapped(struct upnp *, struct upnp_map *,
		    const struct upnp_answer *, const struct imsg_addr *);
static void	 upnp_failed(struct upnp *, struct upnp_map *,
		    const struct upnp_answer *, int);
static void	 upnp_forget(struct upnp *, struct upnp_map *);
static struct upnp_map *upnp_map_by_id(struct upnp *, uint64_t);
static const char *upnp_call_name(uint8_t);
static const char *upnp_error(const struct upnp_answer *, char *, size_t);
static int64_t	 upnp_now(void);
static const char *pmp_error(uint8_t, int32_t, char *, size_t);

static int64_t
upnp_now(void)
{
	struct timespec	ts;

	/* leases run on the monotonic clock: a clock step moves nothing */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return ((int64_t)ts.tv_sec);
}

static int64_t
upnp_now_ms(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Starts the worker process and the engine's side of it.  Called before
 * the privilege drop and the sandbox; the worker calls confine with the
 * engine's pid to drop its own.  cb is told of each mapping made (an
 * address) and lost (NULL).
 */
void
upnp_init(struct event_base *base, upnp_endpoint_cb cb, void *arg,
    upnp_confine_cb confine)
{
	struct upnp	*u = &upnp_state;
	struct timeval	 tv = { 1, 0 };
	ssize_t		 n;
	pid_t		 engine = getpid();
	char		 ready[2];
	int		 sp[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1)
		fatal("UPnP socketpair");
	switch (fork()) {
	case -1:
		fatal("UPnP worker: fork");
	case 0:
		close(sp[0]);
		upnp_worker_main(sp[1], engine, confine);
	}
	close(sp[1]);
	/* the worker says it runs once its filter is in place */
	while ((n = recv(sp[0], ready, sizeof(ready), 0)) == -1 &&
	    errno == EINTR)
		;
	if (n != 1 || ready[0] != 'r')
		fatalx("the UPnP worker did not start");

	u->fd = sp[0];
	if (evutil_make_socket_nonblocking(u->fd) == -1)
		fatalx("UPnP socket");
	u->cb = cb;
	u->cb_arg = arg;
	u->next_id = 1;
	TAILQ_INIT(&u->pending);
	if ((u->ev_read = event_new(base, u->fd, EV_READ | EV_PERSIST,
	    upnp_read, u)) == NULL || event_add(u->ev_read, NULL) == -1)
		fatalx("UPnP event");
	if ((u->ev_tick = event_new(base, -1, EV_PERSIST, upnp_tick,
	    u)) == NULL || evtimer_add(u->ev_tick, &tv) == -1)
		fatalx("UPnP timer");
}

/* --- the worker process ----------------------------------------------- */

/*
 * The worker: the engine's pipe as fd 3 (over the engine's imsg pipe,
 * which dup2 closes), the routing table as UPNP_ROUTE_FD, nothing else
 * of the engine's (imsg pipes, sockets, the event base's descriptors,
 * syslog's).  Signals for the daemon are the engine's to act on: it
 * deletes the mappings through us before it exits, and its end kills us
 * (sandbox_upnp()).  Without the routing table PCP and NAT-PMP fail
 * with PMP_E_NOROUTE; UPnP still works.
 */
static __dead void
upnp_worker_main(int fd, pid_t engine, upnp_confine_cb confine)
{
	int	rt;

	closelog();
	if (dup2(fd, 3) == -1 || close_range(4, ~0U, 0) == -1)
		_exit(1);
	if ((rt = open("/proc/net/route", O_RDONLY | O_CLOEXEC)) != -1 &&
	    rt != UPNP_ROUTE_FD) {
		if (dup2(rt, UPNP_ROUTE_FD) == -1)
			_exit(1);
		close(rt);
	}
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* the command line stays the engine's */
	sandbox_proc_name("upnp");
	confine(engine);
	if (send(3, "r", 1, MSG_NOSIGNAL) != 1)
		_exit(1);
	upnp_worker_loop(3);
	_exit(0);
}

/*
 * Answers requests one at a time until the engine's end closes.  It
 * logs nothing (the engine logs): what happened goes back in the
 * answer.
 */
static void
upnp_worker_loop(int fd)
{
	static struct upnp_worker w;
	struct upnp_request	 rq;
	struct upnp_answer	 an;
	ssize_t			 n;

	memset(&w, 0, sizeof(w));
	for (;;) {
		n = recv(fd, &rq, sizeof(rq), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		memset(&an, 0, sizeof(an));
		an.seq = rq.seq;
		an.op = rq.op;
		an.ext_port = rq.ext_port;
		an.status = UPNP_FAILED;
		/* the engine is ours; a wrong size is answered as a failure */
		if (n == sizeof(rq) && rq.op == UPNP_OP_MAP)
			upnp_worker_map(&w, &rq, &an);
		else if (n == sizeof(rq) && rq.op == UPNP_OP_UNMAP)
			upnp_worker_unmap(&w, &rq, &an);
		else
			upnp_fail(&an, UPNP_CALL_NONE, 0);
		while ((n = send(fd, &an, sizeof(an), MSG_NOSIGNAL)) == -1 &&
		    errno == EINTR)
			;
		if (n != sizeof(an))
			break;
	}
	upnp_igd_forget(&w.igd);
	close(fd);
}

static void
upnp_fail(struct upnp_answer *an, int call, int code)
{
	an->status = UPNP_FAILED;
	an->call = call;
	an->code = code;
}

/*
 * MAP: PCP, NAT-PMP, UPnP, those of them the request names, in that
 * order; the first that maps answers.  A failure says why each failed.
 */
static void
upnp_worker_map(struct upnp_worker *w, const struct upnp_request *rq,
    struct upnp_answer *an)
{
	struct in_addr	 gw;
	int		 route = -1;

	if ((rq->protos & (PORTMAP_PCP | PORTMAP_NATPMP)) != 0)
		route = upnp_worker_gateway(w, &gw);
	if ((rq->protos & PORTMAP_PCP) != 0) {
		an->tried |= PORTMAP_PCP;
		if (route == -1)
			an->pcp_code = PMP_E_NOROUTE;
		else if (pcp_request(w, &gw, rq, rq->lease, an) == 0)
			return;
	}
	if ((rq->protos & PORTMAP_NATPMP) != 0) {
		an->tried |= PORTMAP_NATPMP;
		if (route == -1)
			an->natpmp_code = PMP_E_NOROUTE;
		else if (an->pcp_code == PMP_E_REFUSED)
			/* nothing listens on the gateway's port 5351 */
			an->natpmp_code = PMP_E_REFUSED;
		else if (natpmp_request(w, &gw, rq, rq->lease, an) == 0)
			return;
	}
	if ((rq->protos & PORTMAP_UPNP) != 0) {
		an->tried |= PORTMAP_UPNP;
		upnp_igd_map(&w->igd, rq, an);
		if (an->status == UPNP_OK)
			an->proto = PORTMAP_UPNP;
	}
}

/*
 * UNMAP: with the protocols the request names; PCP and NAT-PMP only
 * where this worker made the mapping (PCP needs its nonce), UPnP with
 * the gateway used.  Nothing to delete is a success; the answer is a
 * failure if any deletion tried failed.
 */
static void
upnp_worker_unmap(struct upnp_worker *w, const struct upnp_request *rq,
    struct upnp_answer *an)
{
	static const uint8_t	 pmp[] = { PORTMAP_PCP, PORTMAP_NATPMP };
	struct pmp_made		*pm;
	struct in_addr		 gw;
	size_t			 i;
	int			 failed = 0, r;

	for (i = 0; i < sizeof(pmp) / sizeof(pmp[0]); i++) {
		if ((rq->protos & pmp[i]) == 0 ||
		    (pm = pmp_made_find(w, rq->int_port, pmp[i])) == NULL)
			continue;
		an->tried |= pmp[i];
		if (upnp_worker_gateway(w, &gw) == -1) {
			if (pmp[i] == PORTMAP_PCP)
				an->pcp_code = PMP_E_NOROUTE;
			else
				an->natpmp_code = PMP_E_NOROUTE;
			failed = 1;
			continue;
		}
		if (pmp[i] == PORTMAP_PCP)
			r = pcp_request(w, &gw, rq, 0, an);
		else
			r = natpmp_request(w, &gw, rq, 0, an);
		if (r == -1)
			failed = 1;
		else
			memset(pm, 0, sizeof(*pm));
	}
	if ((rq->protos & PORTMAP_UPNP) != 0 && w->igd.valid) {
		an->tried |= PORTMAP_UPNP;
		upnp_igd_unmap(&w->igd, rq, an);
		if (an->status != UPNP_OK)
			failed = 1;
	}
	an->status = failed ? UPNP_FAILED : UPNP_OK;
	an->proto = 0;
}

/*
 * The IPv4 default gateway: the routing table read again from its
 * start.  A new gateway starts the epochs afresh.
 */
static int
upnp_worker_gateway(struct upnp_worker *w, struct in_addr *gw)
{
	static char	 buf[UPNP_ROUTE_MAX];
	size_t		 len = 0;
	ssize_t		 n;

	while (len < sizeof(buf) && (n = pread(UPNP_ROUTE_FD, buf + len,
	    sizeof(buf) - len, len)) > 0)
		len += n;
	if (len == 0 || upnp_route_gateway(buf, len, gw) == -1)
		return (-1);
	if (gw->s_addr != w->gw.s_addr) {
		w->gw = *gw;
		memset(&w->epoch_pcp, 0, sizeof(w->epoch_pcp));
		memset(&w->epoch_natpmp, 0, sizeof(w->epoch_natpmp));
	}
	return (0);
}

/*
 * The default route's gateway in /proc/net/route's text (len bytes, the
 * last line may be cut): a line for destination 0/0 that is up and has
 * a gateway, the one of lowest metric.  Addresses are printed as the
 * kernel holds them, in network order, as a 32-bit number in hex.
 */
int
upnp_route_gateway(const char *text, size_t len, struct in_addr *gw)
{
	char		 line[256], ifname[32];
	const char	*p = text, *end = text + len, *nl;
	unsigned int	 dst, via, flags, refcnt, use, metric, mask;
	unsigned int	 best = ~0U;
	int		 found = 0;

	while (p < end && (nl = memchr(p, '\n', end - p)) != NULL) {
		if ((size_t)(nl - p) < sizeof(line)) {
			memcpy(line, p, nl - p);
			line[nl - p] = '\0';
			if (sscanf(line, "%31s %8x %8x %4x %u %u %u %8x", ifname,
			    &dst, &via, &flags, &refcnt, &use, &metric,
			    &mask) == 8 && dst == 0 && mask == 0 &&
			    via != 0 && (flags & RTF_UP_GATEWAY) ==
			    RTF_UP_GATEWAY && (!found || metric < best)) {
				gw->s_addr = via;
				best = metric;
				found = 1;
			}
		}
		p = nl + 1;
	}
	return (found ? 0 : -1);
}

/* --- PCP (RFC 6887) ----------------------------------------------------- */

/*
 * A PCP MAP request for UDP (RFC 6887 7.1, 11.1): the common header
 * (version 2, opcode MAP, the lifetime, our address as an IPv4-mapped
 * IPv6 address), then the nonce, protocol 17, the internal port, the
 * suggested external port and, as "no suggestion" of an IPv4 address,
 * ::ffff:0.0.0.0.  Lifetime 0 deletes the mapping the nonce made.
 */
void
pcp_map_build(uint8_t msg[PCP_MAP_LEN], const struct in_addr *client,
    uint16_t int_port, uint16_t ext_port, uint32_t lifetime,
    const uint8_t nonce[PCP_NONCE_LEN])
{
	uint32_t	lt = htonl(lifetime);
	uint16_t	ip = htons(int_port), ep = htons(ext_port);

	memset(msg, 0, PCP_MAP_LEN);
	msg[0] = PCP_VERSION;
	msg[1] = PCP_OP_MAP;
	memcpy(msg + 4, &lt, 4);
	msg[18] = 0xff;
	msg[19] = 0xff;
	memcpy(msg + 20, &client->s_addr, 4);
	memcpy(msg + 24, nonce, PCP_NONCE_LEN);
	msg[36] = IPPROTO_UDP;
	memcpy(msg + 40, &ip, 2);
	memcpy(msg + 42, &ep, 2);
	msg[54] = 0xff;
	msg[55] = 0xff;
}

/*
 * An answer to our MAP (RFC 6887 7.2, 8.3, 11.1): 24 to 1100 bytes, a
 * multiple of 4, version 2, the R bit and opcode MAP; with the MAP
 * fields (60 bytes and more: options are ignored) the nonce, protocol
 * and internal port must be ours.  A success must have them and an
 * IPv4-mapped external address; an error may come without (the server
 * copies them "when possible").  Returns 0 with *out filled, -2 for
 * NAT-PMP's "unsupported version" (a gateway that speaks NAT-PMP only),
 * -1 for anything else, which is dropped.
 */
int
pcp_map_parse(const uint8_t *msg, size_t len, uint16_t int_port,
    const uint8_t nonce[PCP_NONCE_LEN], struct pcp_map_answer *out)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };
	uint32_t		 v32;
	uint16_t		 v16;

	memset(out, 0, sizeof(*out));
	/* NAT-PMP's header: version 0, 128 + our opcode, result code */
	if (len >= 4 && msg[0] == 0 && msg[1] == (PCP_R_ANSWER | PCP_OP_MAP) &&
	    msg[2] == 0 && msg[3] == NATPMP_UNSUPP_VERSION)
		return (-2);
	if (len < PCP_HEADER_LEN || len > PCP_MAX_LEN || len % 4 != 0 ||
	    msg[0] != PCP_VERSION || msg[1] != (PCP_R_ANSWER | PCP_OP_MAP))
		return (-1);
	out->result = msg[3];
	memcpy(&v32, msg + 4, 4);
	out->lifetime = ntohl(v32);
	memcpy(&v32, msg + 8, 4);
	out->epoch = ntohl(v32);
	if (len < PCP_MAP_LEN)
		return (out->result != 0 ? 0 : -1);
	memcpy(&v16, msg + 40, 2);
	if (memcmp(msg + 24, nonce, PCP_NONCE_LEN) != 0 ||
	    msg[36] != IPPROTO_UDP || ntohs(v16) != int_port)
		return (-1);
	if (out->result != 0)
		return (0);
	if (memcmp(msg + 44, mapped, sizeof(mapped)) != 0)
		return (-1);
	memcpy(&v16, msg + 42, 2);
	out->ext_port = ntohs(v16);
	memcpy(&out->ext_addr.s_addr, msg + 56, 4);
	return (0);
}

/*
 * PCP MAP (lifetime 0: delete) with the gateway gw.  Returns 0 with the
 * mapping in an (status UPNP_OK), or -1 with an->pcp_code.
 */
static int
pcp_request(struct upnp_worker *w, const struct in_addr *gw,
    const struct upnp_request *rq, uint32_t lifetime, struct upnp_answer *an)
{
	struct sockaddr_in	 sin;
	struct pcp_map_answer	 pa;
	struct pmp_made		*pm;
	struct in_addr		 lan;
	uint8_t			 msg[PCP_MAP_LEN], nonce[PCP_NONCE_LEN];
	int			 s, r;

	if ((pm = pmp_made_find(w, rq->int_port, PORTMAP_PCP)) != NULL)
		memcpy(nonce, pm->nonce, sizeof(nonce));
	else
		arc4random_buf(nonce, sizeof(nonce));
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		an->pcp_code = PMP_E_SOCKET;
		return (-1);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(PMP_PORT);
	sin.sin_addr = *gw;
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    pmp_socket_lan(s, &lan, an) == -1) {
		close(s);
		an->pcp_code = PMP_E_SOCKET;
		return (-1);
	}
	pcp_map_build(msg, &lan, rq->int_port, lifetime != 0 ?
	    rq->ext_port : 0, lifetime, nonce);
	r = pcp_exchange(s, msg, rq->int_port, nonce, &pa);
	close(s);
	if (r != 0) {
		an->pcp_code = r;
		return (-1);
	}
	if (pa.result != 0) {
		an->pcp_code = pa.result;
		return (-1);
	}
	an->epoch_reset |= pmp_epoch_check(&w->epoch_pcp, pa.epoch,
	    upnp_now_ms());
	if (lifetime == 0)
		return (0);
	if ((r = pmp_granted(rq, pa.lifetime, pa.ext_port, pa.ext_addr,
	    an)) != 0) {
		an->pcp_code = r;
		return (-1);
	}
	an->proto = PORTMAP_PCP;
	pmp_made_add(w, rq->int_port, PORTMAP_PCP, nonce);
	return (0);
}

/*
 * Sends msg and waits for its answer, sending again once: 0 with *pa,
 * or a PMP_E_* code.  Answers that fail pcp_map_parse() are dropped.
 */
static int
pcp_exchange(int s, const uint8_t *msg, uint16_t int_port,
    const uint8_t *nonce, struct pcp_map_answer *pa)
{
	struct pollfd	 pfd;
	uint8_t		 buf[PCP_MAX_LEN + 4];
	int64_t		 end, now;
	ssize_t		 n;
	int		 tries, bad = 0, r;

	pfd.fd = s;
	pfd.events = POLLIN;
	for (tries = 0; tries < PMP_TRIES; tries++) {
		if (send(s, msg, PCP_MAP_LEN, MSG_NOSIGNAL) != PCP_MAP_LEN)
			return (errno == ECONNREFUSED ? PMP_E_REFUSED :
			    PMP_E_SOCKET);
		end = upnp_now_ms() + (PMP_FIRST_WAIT_MS << tries);
		while ((now = upnp_now_ms()) < end) {
			if (poll(&pfd, 1, (int)(end - now)) <= 0)
				continue;
			n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == -1 && errno == ECONNREFUSED)
				return (PMP_E_REFUSED);
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				return (PMP_E_SOCKET);	/* unreachable */
			if (n <= 0)
				continue;
			r = pcp_map_parse(buf, n, int_port, nonce, pa);
			if (r == -2)
				return (PMP_E_VERSION);
			if (r == 0)
				return (0);
			bad = 1;
		}
	}
	return (bad ? PMP_E_MALFORMED : PMP_E_TIMEOUT);
}

/* --- NAT-PMP (RFC 6886), through libnatpmp ------------------------------- */

/*
 * Whether a datagram may be NAT-PMP's answer of type (0: the external
 * address, 1: a UDP mapping), before libnatpmp reads it (it reads 16
 * bytes whatever came): version 0, opcode 128 + type, and 12 or 16
 * bytes; an error (a result code) at least its 8-byte header.
 */
int
natpmp_answer_ok(const uint8_t *msg, size_t len, uint8_t type)
{
	size_t	want = type == NATPMP_RESPTYPE_PUBLICADDRESS ? 12 : 16;

	if (len < 8 || len > want || msg[0] != 0 ||
	    msg[1] != NATPMP_OP_ANSWER + type)
		return (0);
	if (msg[2] != 0 || msg[3] != 0)
		return (1);
	return (len == want);
}

/*
 * NAT-PMP: the external address, then the mapping (lifetime 0: its
 * deletion, with external port 0 as RFC 6886 3.4 asks).  Returns 0 with
 * the mapping in an, or -1 with an->natpmp_code.
 */
static int
natpmp_request(struct upnp_worker *w, const struct in_addr *gw,
    const struct upnp_request *rq, uint32_t lifetime, struct upnp_answer *an)
{
	natpmp_t	 np;
	natpmpresp_t	 r;
	struct in_addr	 ext, lan;
	int		 e;

	memset(&np, 0, sizeof(np));
	np.s = -1;
	if (initnatpmp(&np, 1, gw->s_addr) != 0 ||
	    pmp_socket_lan(np.s, &lan, an) == -1) {
		if (np.s != -1)
			closenatpmp(&np);
		an->natpmp_code = PMP_E_SOCKET;
		return (-1);
	}
	memset(&ext, 0, sizeof(ext));
	e = 0;
	if (lifetime != 0) {
		if (sendpublicaddressrequest(&np) < 0)
			e = PMP_E_SOCKET;
		else if ((e = natpmp_wait(&np,
		    NATPMP_RESPTYPE_PUBLICADDRESS, &r)) == 0) {
			ext = r.pnu.publicaddress.addr;
			an->epoch_reset |= pmp_epoch_check(&w->epoch_natpmp,
			    r.epoch, upnp_now_ms());
		}
	}
	if (e == 0) {
		if (sendnewportmappingrequest(&np, NATPMP_PROTOCOL_UDP,
		    rq->int_port, lifetime != 0 ? rq->ext_port : 0,
		    lifetime) < 0)
			e = PMP_E_SOCKET;
		else if ((e = natpmp_wait(&np,
		    NATPMP_RESPTYPE_UDPPORTMAPPING, &r)) == 0 &&
		    r.pnu.newportmapping.privateport != rq->int_port)
			e = PMP_E_MALFORMED;
	}
	closenatpmp(&np);
	if (e != 0) {
		an->natpmp_code = e;
		return (-1);
	}
	an->epoch_reset |= pmp_epoch_check(&w->epoch_natpmp, r.epoch,
	    upnp_now_ms());
	if (lifetime == 0)
		return (0);
	if ((e = pmp_granted(rq, r.pnu.newportmapping.lifetime,
	    r.pnu.newportmapping.mappedpublicport, ext, an)) != 0) {
		an->natpmp_code = e;
		return (-1);
	}
	an->proto = PORTMAP_NATPMP;
	pmp_made_add(w, rq->int_port, PORTMAP_NATPMP, NULL);
	return (0);
}

/*
 * Waits for the answer of type to the request libnatpmp has pending,
 * letting it send again on its own schedule (250 ms, then 500), for
 * PMP_TRIES sends in all: 0 with *r, or a PMP_E_* code or the gateway's
 * result code.  A datagram that natpmp_answer_ok() refuses, or an
 * answer to another request (a late one to our first), is dropped.
 */
static int
natpmp_wait(natpmp_t *np, uint8_t type, natpmpresp_t *r)
{
	struct pollfd	 pfd;
	struct timeval	 tv;
	uint8_t		 buf[17];
	int64_t		 end, now, wait;
	ssize_t		 n;
	int		 e, bad = 0;

	end = upnp_now_ms() + PMP_FIRST_WAIT_MS * ((1 << PMP_TRIES) - 1);
	pfd.fd = np->s;
	pfd.events = POLLIN;
	while ((now = upnp_now_ms()) < end) {
		wait = end - now;
		if (getnatpmprequesttimeout(np, &tv) == 0 &&
		    tv.tv_sec * 1000 + tv.tv_usec / 1000 < wait)
			wait = tv.tv_sec * 1000 + tv.tv_usec / 1000;
		if (wait < 0)
			wait = 0;
		if (poll(&pfd, 1, (int)wait) == 1) {
			n = recv(np->s, buf, sizeof(buf),
			    MSG_PEEK | MSG_DONTWAIT);
			if (n == -1 && errno == ECONNREFUSED)
				return (PMP_E_REFUSED);
			if (n >= 0 && !natpmp_answer_ok(buf, n, type)) {
				(void)recv(np->s, buf, sizeof(buf),
				    MSG_DONTWAIT);
				bad = 1;
				continue;
			}
		}
		memset(r, 0, sizeof(*r));
		e = readnatpmpresponseorretry(np, r);
		if (e == NATPMP_TRYAGAIN)
			continue;
		if (e == NATPMP_ERR_NOGATEWAYSUPPORT)
			return (PMP_E_REFUSED);
		if (e == NATPMP_ERR_RECVFROM || e == NATPMP_ERR_SENDERR)
			return (PMP_E_SOCKET);	/* unreachable */
		if (e == 0 && r->type == type)
			return (0);
		if (e == 0) {
			/* not ours: still waiting for our answer */
			np->has_pending_request = 1;
			bad = 1;
			continue;
		}
		if (r->resultcode != 0)
			return (r->resultcode);
		bad = 1;
	}
	return (bad ? PMP_E_MALFORMED : PMP_E_TIMEOUT);
}

/* --- what PCP and NAT-PMP share ------------------------------------------- */

/* Our address towards the gateway, on a connected socket. */
static int
pmp_socket_lan(int s, struct in_addr *lan, struct upnp_answer *an)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);

	if (getsockname(s, (struct sockaddr *)&sin, &len) == -1 ||
	    sin.sin_family != AF_INET || sin.sin_addr.s_addr == INADDR_ANY)
		return (-1);
	*lan = sin.sin_addr;
	if (inet_ntop(AF_INET, lan, an->lan_addr, sizeof(an->lan_addr)) ==
	    NULL)
		return (-1);
	return (0);
}

/*
 * A mapping granted: a lease at least UPNP_LEASE_MIN_SECONDS (taken as
 * at most what was asked for: renewed no later than we meant), an
 * external port, and an external address that is unicast IPv4 and not
 * this host's or this network's.  Fills an and returns 0, or returns
 * why not (PMP_E_LIFETIME, PMP_E_EXTERNAL).
 */
static int
pmp_granted(const struct upnp_request *rq, uint32_t lease, uint16_t port,
    struct in_addr ext, struct upnp_answer *an)
{
	uint32_t	a = ntohl(ext.s_addr);

	if (lease < UPNP_LEASE_MIN_SECONDS)
		return (PMP_E_LIFETIME);
	if (port == 0 || (a >> 24) == 0 || (a >> 24) == IN_LOOPBACKNET ||
	    IN_MULTICAST(a) || IN_BADCLASS(a) ||
	    inet_ntop(AF_INET, &ext, an->ext_addr, sizeof(an->ext_addr)) ==
	    NULL) {
		memset(an->ext_addr, 0, sizeof(an->ext_addr));
		return (PMP_E_EXTERNAL);
	}
	an->status = UPNP_OK;
	an->lease = lease < rq->lease ? lease : rq->lease;
	an->mapped_port = port;
	an->igd = upnp_reserved(an->ext_addr) ? UPNP_IGD_RESERVED :
	    UPNP_IGD_CONNECTED;
	return (0);
}

/*
 * Whether the gateway lost its state since its last answer (RFC 6887
 * 8.5; RFC 6886 3.6 says the same less precisely): its epoch went back,
 * or moved apart from our clock by more than 2 s and 1/16 of the time
 * passed.  The answer is remembered for the next.
 */
int
pmp_epoch_check(struct pmp_epoch *e, uint32_t epoch, int64_t now_ms)
{
	int64_t	client, server;
	int	lost = 0;

	if (e->known) {
		client = (now_ms - e->at_ms) / 1000;
		server = (int64_t)epoch - (int64_t)e->epoch;
		if (server < -1 || client + 2 < server - server / 16 ||
		    server + 2 < client - client / 16)
			lost = 1;
	}
	e->known = 1;
	e->epoch = epoch;
	e->at_ms = now_ms;
	return (lost);
}

static struct pmp_made *
pmp_made_find(struct upnp_worker *w, uint16_t int_port, uint8_t proto)
{
	size_t	i;

	for (i = 0; i < PMP_MADE_MAX; i++)
		if (w->made[i].int_port == int_port &&
		    w->made[i].proto == proto)
			return (&w->made[i]);
	return (NULL);
}

/* Remembered, in its slot if it has one; else the oldest is forgotten. */
static void
pmp_made_add(struct upnp_worker *w, uint16_t int_port, uint8_t proto,
    const uint8_t *nonce)
{
	struct pmp_made	*pm;

	if ((pm = pmp_made_find(w, int_port, proto)) == NULL) {
		pm = &w->made[w->made_next];
		w->made_next = (w->made_next + 1) % PMP_MADE_MAX;
	}
	memset(pm, 0, sizeof(*pm));
	pm->int_port = int_port;
	pm->proto = proto;
	if (nonce != NULL)
		memcpy(pm->nonce, nonce, sizeof(pm->nonce));
}

/* --- UPnP IGD, through miniupnpc ------------------------------------------- */

/*
 * MAP: the gateway (found again if it stopped answering: a restarted
 * miniupnpd listens on a new HTTP port), its external address, then
 * AddPortMapping; an IGD that takes only permanent leases gets lease 0.
 */
static void
upnp_igd_map(struct upnp_igd *igd, const struct upnp_request *rq,
    struct upnp_answer *an)
{
	char		 ext[UPNP_ADDR_MAX], eport[8], iport[8], lease[12];
	char		 desc[UPNP_DESC_MAX];
	uint32_t	 granted;
	int		 r, tries, fresh, call;

	snprintf(eport, sizeof(eport), "%u", rq->ext_port);
	snprintf(iport, sizeof(iport), "%u", rq->int_port);
	memcpy(desc, rq->desc, sizeof(desc));
	desc[sizeof(desc) - 1] = '\0';
	for (tries = 0; tries < 2; tries++) {
		fresh = 0;
		if (!igd->valid) {
			if (upnp_igd_find(igd, an) == -1)
				return;
			fresh = 1;
		}
		memset(ext, 0, sizeof(ext));
		call = UPNP_CALL_EXTERNAL;
		r = UPNP_GetExternalIPAddress(igd->urls.controlURL,
		    igd->service, ext);
		if (r == UPNPCOMMAND_SUCCESS) {
			call = UPNP_CALL_ADD;
			granted = rq->lease;
			snprintf(lease, sizeof(lease), "%u", granted);
			r = UPNP_AddPortMapping(igd->urls.controlURL,
			    igd->service, eport, iport, igd->lan, desc, "UDP",
			    NULL, lease);
			if (r == UPNP_E_PERMANENT_ONLY && granted != 0) {
				granted = 0;
				r = UPNP_AddPortMapping(igd->urls.controlURL,
				    igd->service, eport, iport, igd->lan, desc,
				    "UDP", NULL, "0");
			}
			if (r == UPNPCOMMAND_SUCCESS) {
				an->status = UPNP_OK;
				an->igd = upnp_reserved(ext) ?
				    UPNP_IGD_RESERVED : UPNP_IGD_CONNECTED;
				an->lease = granted;
				an->mapped_port = rq->ext_port;
				strlcpy(an->ext_addr, ext,
				    sizeof(an->ext_addr));
				strlcpy(an->lan_addr, igd->lan,
				    sizeof(an->lan_addr));
				return;
			}
		}
		/* no HTTP answer (< 0): the gateway may have moved */
		if (r < 0)
			upnp_igd_forget(igd);
		if (r < 0 && !fresh)
			continue;
		upnp_fail(an, call, r);
		return;
	}
}

/* UNMAP: with the gateway that was used (the caller knows there is one). */
static void
upnp_igd_unmap(struct upnp_igd *igd, const struct upnp_request *rq,
    struct upnp_answer *an)
{
	char	eport[8];
	int	r;

	snprintf(eport, sizeof(eport), "%u", rq->ext_port);
	r = UPNP_DeletePortMapping(igd->urls.controlURL, igd->service, eport,
	    "UDP", NULL);
	if (r == UPNPCOMMAND_SUCCESS || r == UPNP_E_NOSUCHENTRY) {
		an->status = UPNP_OK;
		return;
	}
	if (r < 0)
		upnp_igd_forget(igd);
	upnp_fail(an, UPNP_CALL_DELETE, r);
}

static void
upnp_igd_forget(struct upnp_igd *igd)
{
	if (igd->valid)
		FreeUPNPUrls(&igd->urls);
	memset(igd, 0, sizeof(*igd));
}

/*
 * SSDP discovery (no minissdpd: its socket is not in the chroot), then
 * each answering device's description, from IPv4 literals only.  The
 * first connected gateway with a routable external address wins; else
 * the first connected one at all.  On failure the answer says what was
 * wrong with the most promising device.
 */
static int
upnp_igd_find(struct upnp_igd *igd, struct upnp_answer *an)
{
	struct UPNPDev		*list, *dev;
	struct IGDdatas		 data;
	struct IGDdatas_service	 tmp;
	char			 host[INET_ADDRSTRLEN], lan[UPNP_ADDR_MAX];
	char			*xml;
	int			 err = UPNPDISCOVER_SUCCESS, size, status, n;
	int			 i, why = UPNP_E_NOGATEWAY, r;

	upnp_igd_forget(igd);
	list = upnpDiscover(UPNP_DISCOVER_MS, NULL, "", UPNP_LOCAL_PORT_ANY,
	    0, UPNP_SSDP_TTL, &err);
	if (list == NULL) {
		upnp_fail(an, UPNP_CALL_DISCOVER, err == UPNPDISCOVER_SUCCESS ?
		    UPNP_E_NOANSWER : err);
		return (-1);
	}
	for (dev = list, n = 0; dev != NULL && n < UPNP_DEVICES_MAX &&
	    igd->kind != UPNP_IGD_CONNECTED; dev = dev->pNext, n++) {
		if (dev->descURL == NULL || upnp_url_host(dev->descURL, host,
		    sizeof(host)) == -1) {
			why = UPNP_E_URL;
			continue;
		}
		memset(lan, 0, sizeof(lan));
		if ((xml = miniwget_getaddr(dev->descURL, &size, lan,
		    sizeof(lan), 0, &status)) == NULL) {
			if (why == UPNP_E_NOGATEWAY)
				why = UPNP_E_DESCRIPTION;
			continue;
		}
		memset(&data, 0, sizeof(data));
		if (size > 0)
			parserootdesc(xml, size, &data);
		free(xml);
		data.CIF.servicetype[sizeof(data.CIF.servicetype) - 1] = '\0';
		if (strncmp(data.CIF.servicetype, UPNP_CIF_PREFIX,
		    strlen(UPNP_CIF_PREFIX)) != 0)
			continue;	/* not a gateway */
		/* a gateway may have WANIPConnection and WANPPPConnection */
		for (i = 0; i < 2 && igd->kind != UPNP_IGD_CONNECTED; i++) {
			if (i == 1) {
				tmp = data.first;
				data.first = data.second;
				data.second = tmp;
			}
			r = upnp_igd_try(igd, &data, dev->descURL, host, lan);
			if (r != 0 && (why == UPNP_E_NOGATEWAY ||
			    why == UPNP_E_DESCRIPTION))
				why = r;
		}
	}
	freeUPNPDevlist(list);
	if (igd->kind == 0) {
		upnp_fail(an, UPNP_CALL_IGD, why);
		return (-1);
	}
	igd->valid = 1;
	return (0);
}

/*
 * One WAN service of a gateway: its control URL must name the host that
 * served the description, it must say it is connected and give its
 * external address.  Kept in igd if it beats what igd holds; returns 0,
 * or why it is not usable.
 */
static int
upnp_igd_try(struct upnp_igd *igd, struct IGDdatas *data, const char *desc,
    const char *host, const char *lan)
{
	struct UPNPUrls	 urls;
	struct in_addr	 in;
	char		 chost[INET_ADDRSTRLEN], state[64], lasterr[64];
	char		 ext[UPNP_ADDR_MAX];
	unsigned int	 uptime;
	int		 kind;

	data->first.servicetype[sizeof(data->first.servicetype) - 1] = '\0';
	if (strncmp(data->first.servicetype, UPNP_WANIP_PREFIX,
	    strlen(UPNP_WANIP_PREFIX)) != 0 &&
	    strncmp(data->first.servicetype, UPNP_WANPPP_PREFIX,
	    strlen(UPNP_WANPPP_PREFIX)) != 0)
		return (UPNP_E_NOGATEWAY);
	if (inet_pton(AF_INET, lan, &in) != 1)
		return (UPNP_E_LAN);
	memset(&urls, 0, sizeof(urls));
	GetUPNPUrls(&urls, data, desc, 0);
	if (urls.controlURL == NULL || upnp_url_host(urls.controlURL, chost,
	    sizeof(chost)) == -1 || strcmp(chost, host) != 0) {
		FreeUPNPUrls(&urls);
		return (UPNP_E_URL);
	}
	memset(state, 0, sizeof(state));
	memset(lasterr, 0, sizeof(lasterr));
	if (UPNP_GetStatusInfo(urls.controlURL, data->first.servicetype,
	    state, &uptime, lasterr) != UPNPCOMMAND_SUCCESS ||
	    (strcmp(state, "Connected") != 0 && strcmp(state, "Up") != 0)) {
		FreeUPNPUrls(&urls);
		return (UPNP_E_DISCONNECTED);
	}
	memset(ext, 0, sizeof(ext));
	if (UPNP_GetExternalIPAddress(urls.controlURL,
	    data->first.servicetype, ext) != UPNPCOMMAND_SUCCESS ||
	    inet_pton(AF_INET, ext, &in) != 1) {
		FreeUPNPUrls(&urls);
		return (UPNP_E_DISCONNECTED);
	}
	kind = upnp_reserved(ext) ? UPNP_IGD_RESERVED : UPNP_IGD_CONNECTED;
	if (igd->kind != 0 && kind >= igd->kind) {
		FreeUPNPUrls(&urls);
		return (0);
	}
	if (igd->kind != 0)
		FreeUPNPUrls(&igd->urls);
	igd->urls = urls;
	igd->kind = kind;
	strlcpy(igd->service, data->first.servicetype, sizeof(igd->service));
	strlcpy(igd->lan, lan, sizeof(igd->lan));
	/* upnp_igd_forget() frees the URLs of a gateway being chosen too */
	igd->valid = 1;
	return (0);
}

/*
 * Whether an external address is one the Internet does not route
 * (UPNP_GetValidIGD()'s 2): private, shared, loopback, link-local,
 * benchmarking (the lab's 198.18.0.0/15), documentation, multicast,
 * reserved.  Such a gateway is still used; its peers may share the
 * network behind it.
 */
static int
upnp_reserved(const char *s)
{
	static const struct {
		uint32_t	net;
		int		bits;
	} r[] = {
		{ 0x00000000, 8 }, { 0x0a000000, 8 }, { 0x64400000, 10 },
		{ 0x7f000000, 8 }, { 0xa9fe0000, 16 }, { 0xac100000, 12 },
		{ 0xc0000000, 24 }, { 0xc0000200, 24 }, { 0xc0a80000, 16 },
		{ 0xc6120000, 15 }, { 0xc6336400, 24 }, { 0xcb007100, 24 },
		{ 0xe0000000, 3 },
	};
	struct in_addr	 in;
	uint32_t	 a;
	size_t		 i;

	if (inet_pton(AF_INET, s, &in) != 1)
		return (1);
	a = ntohl(in.s_addr);
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if ((a & (0xffffffffU << (32 - r[i].bits))) == r[i].net)
			return (1);
	return (0);
}

/*
 * Whether url is "http://A.B.C.D[:PORT]" followed by "/" or nothing,
 * A.B.C.D an IPv4 address in dotted decimal, PORT 1 to 65535; the host
 * is copied to host.  Anything else (a name, IPv6, user info) is -1,
 * and so is a host where no gateway lives but that a LAN host answering
 * SSDP would like the worker to reach: this host (0/8, 127/8), the
 * link-local 169.254/16 (a cloud's metadata service), multicast and
 * reserved addresses.
 */
int
upnp_url_host(const char *url, char *host, size_t hostlen)
{
	struct in_addr	 in;
	char		 buf[INET_ADDRSTRLEN];
	const char	*p;
	size_t		 n;
	long		 port = 0;
	uint32_t	 a;

	if (strncmp(url, "http://", 7) != 0)
		return (-1);
	p = url + 7;
	n = strcspn(p, ":/");
	if (n == 0 || n >= sizeof(buf))
		return (-1);
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &in) != 1)
		return (-1);
	a = ntohl(in.s_addr);
	if ((a >> 24) == 0 || (a >> 24) == IN_LOOPBACKNET ||
	    (a >> 16) == 0xa9fe || IN_MULTICAST(a) || IN_BADCLASS(a))
		return (-1);
	p += n;
	if (*p == ':') {
		for (p++, n = 0; *p >= '0' && *p <= '9' && n < 6; p++, n++)
			port = port * 10 + (*p - '0');
		if (n == 0 || port < 1 || port > 65535)
			return (-1);
	}
	if (*p != '/' && *p != '\0')
		return (-1);
	if (strlcpy(host, buf, hostlen) >= hostlen)
		return (-1);
	return (0);
}

/* --- the engine's side ------------------------------------------------ */

/*
 * An answer against the request it answers (rq).  Returns -1 when it is
 * malformed (a bug: the worker is ours); otherwise UPNP_OK with *ext the
 * mapping for a successful MAP, UPNP_FAILED when the worker says the
 * gateway failed, or UPNP_BAD_EXTERNAL or UPNP_BAD_LAN when the gateway
 * "succeeded" with an address that is not one.  It must have tried only
 * protocols the request named, and say why each failed; a mapping must
 * come from one of them, with UPnP's port as asked and lease as asked
 * (or permanent), PCP's and NAT-PMP's lease at least
 * UPNP_LEASE_MIN_SECONDS and no more than asked.
 */
int
upnp_answer_check(const struct upnp_request *rq, const struct upnp_answer *an,
    struct imsg_addr *ext)
{
	struct in_addr	 in;
	uint32_t	 a;

	if (an->seq != rq->seq || an->op != rq->op ||
	    an->ext_port != rq->ext_port ||
	    (an->status != UPNP_OK && an->status != UPNP_FAILED) ||
	    an->call >= UPNP_CALL_MAX || (an->tried & ~rq->protos) != 0 ||
	    memchr(an->ext_addr, '\0', sizeof(an->ext_addr)) == NULL ||
	    memchr(an->lan_addr, '\0', sizeof(an->lan_addr)) == NULL)
		return (-1);
	if (an->status == UPNP_FAILED)
		return (an->tried == 0 ||
		    ((an->tried & PORTMAP_UPNP) != 0 &&
		    an->call == UPNP_CALL_NONE) ||
		    ((an->tried & PORTMAP_PCP) != 0 && an->pcp_code == 0 &&
		    rq->op == UPNP_OP_MAP) ||
		    ((an->tried & PORTMAP_NATPMP) != 0 &&
		    an->natpmp_code == 0 && rq->op == UPNP_OP_MAP) ?
		    -1 : UPNP_FAILED);
	if (rq->op == UPNP_OP_UNMAP)
		return (UPNP_OK);
	if ((an->proto != PORTMAP_UPNP && an->proto != PORTMAP_NATPMP &&
	    an->proto != PORTMAP_PCP) || (an->proto & an->tried) == 0 ||
	    (an->igd != UPNP_IGD_CONNECTED && an->igd != UPNP_IGD_RESERVED))
		return (-1);
	if (an->proto == PORTMAP_UPNP && (an->mapped_port != rq->ext_port ||
	    (an->lease != rq->lease && an->lease != 0)))
		return (-1);
	if (an->proto != PORTMAP_UPNP && (an->mapped_port == 0 ||
	    an->lease < UPNP_LEASE_MIN_SECONDS || an->lease > rq->lease))
		return (-1);
	memset(ext, 0, sizeof(*ext));
	if (inet_pton(AF_INET, an->ext_addr, &in) != 1)
		return (UPNP_BAD_EXTERNAL);
	a = ntohl(in.s_addr);
	ext->af = AF_INET;
	ext->port = an->mapped_port;
	memcpy(ext->addr, &in, 4);
	/* a gateway's "external" loopback or this-network address: no */
	if (!imsg_addr_is_endpoint(ext) || (a >> 24) == 0 ||
	    (a >> 24) == 127) {
		memset(ext, 0, sizeof(*ext));
		return (UPNP_BAD_EXTERNAL);
	}
	if (inet_pton(AF_INET, an->lan_addr, &in) != 1 ||
	    in.s_addr == htonl(INADDR_ANY)) {
		memset(ext, 0, sizeof(*ext));
		return (UPNP_BAD_LAN);
	}
	return (UPNP_OK);
}

/* A protocol's name in logs and wgmeshctl's output. */
const char *
upnp_proto_name(uint8_t proto)
{
	switch (proto) {
	case PORTMAP_UPNP:
		return ("UPnP");
	case PORTMAP_NATPMP:
		return ("NAT-PMP");
	case PORTMAP_PCP:
		return ("PCP");
	}
	return ("port mapping");
}

/* Why PCP or NAT-PMP failed, for a log line. */
static const char *
pmp_error(uint8_t proto, int32_t code, char *buf, size_t len)
{
	/* RFC 6887 7.4 */
	static const char *const pcp[] = { "success", "unsupported version",
	    "not authorized", "malformed request", "unsupported opcode",
	    "unsupported option", "malformed option", "network failure",
	    "no resources", "unsupported protocol", "user exceeded quota",
	    "cannot provide external", "address mismatch",
	    "excessive remote peers" };
	/* RFC 6886 3.5 */
	static const char *const natpmp[] = { "success",
	    "unsupported version", "not authorized or refused",
	    "network failure", "out of resources", "unsupported opcode" };
	const char	*s = NULL;

	switch (code) {
	case PMP_E_NOROUTE:
		s = "no IPv4 default gateway";
		break;
	case PMP_E_SOCKET:
		s = "socket error (is the gateway reachable?)";
		break;
	case PMP_E_TIMEOUT:
		s = "no answer from the gateway";
		break;
	case PMP_E_REFUSED:
		s = "the gateway refused the datagram (ICMP)";
		break;
	case PMP_E_MALFORMED:
		s = "only malformed answers";
		break;
	case PMP_E_LIFETIME:
		s = "the lease granted is too short";
		break;
	case PMP_E_EXTERNAL:
		s = "no usable external address or port";
		break;
	case PMP_E_VERSION:
		s = "the gateway speaks NAT-PMP only";
		break;
	default:
		if (proto == PORTMAP_PCP && code > 0 &&
		    (size_t)code < sizeof(pcp) / sizeof(pcp[0]))
			s = pcp[code];
		else if (proto == PORTMAP_NATPMP && code > 0 &&
		    (size_t)code < sizeof(natpmp) / sizeof(natpmp[0]))
			s = natpmp[code];
		break;
	}
	snprintf(buf, len, "%s: %s (%d)", upnp_proto_name(proto),
	    s != NULL ? s : "error", code);
	return (buf);
}

static const char *
upnp_call_name(uint8_t call)
{
	switch (call) {
	case UPNP_CALL_DISCOVER:
		return ("discovery (upnpDiscover)");
	case UPNP_CALL_IGD:
		return ("gateway description");
	case UPNP_CALL_EXTERNAL:
		return ("GetExternalIPAddress");
	case UPNP_CALL_ADD:
		return ("AddPortMapping");
	case UPNP_CALL_DELETE:
		return ("DeletePortMapping");
	}
	return ("request");
}

/*
 * What went wrong, for a log line: for each protocol tried, why; for
 * UPnP the call and its error code.
 */
static const char *
upnp_error(const struct upnp_answer *an, char *buf, size_t len)
{
	char		 one[96];
	const char	*s = NULL, *sep = "";
	size_t		 n;

	buf[0] = '\0';
	if ((an->tried & PORTMAP_PCP) != 0 && an->pcp_code != 0) {
		snprintf(buf, len, "%s", pmp_error(PORTMAP_PCP, an->pcp_code,
		    one, sizeof(one)));
		sep = "; ";
	}
	if ((an->tried & PORTMAP_NATPMP) != 0 && an->natpmp_code != 0) {
		n = strlen(buf);
		snprintf(buf + n, len - n, "%s%s", sep, pmp_error(PORTMAP_NATPMP,
		    an->natpmp_code, one, sizeof(one)));
		sep = "; ";
	}
	if ((an->tried & PORTMAP_UPNP) == 0 || an->status == UPNP_OK)
		return (buf);
	switch (an->code) {
	case UPNP_E_NOANSWER:
		s = "no UPnP device answered";
		break;
	case UPNP_E_NOGATEWAY:
		s = "no Internet gateway device found";
		break;
	case UPNP_E_DESCRIPTION:
		s = "no device description could be fetched";
		break;
	case UPNP_E_URL:
		s = "the gateway's URLs do not name its IPv4 address";
		break;
	case UPNP_E_DISCONNECTED:
		s = "the gateway is not connected or has no external address";
		break;
	case UPNP_E_LAN:
		s = "no IPv4 address of ours towards the gateway";
		break;
	case UPNPCOMMAND_HTTP_ERROR:
		s = "no HTTP answer";
		break;
	case UPNPCOMMAND_INVALID_RESPONSE:
		s = "invalid answer";
		break;
	case UPNPDISCOVER_SOCKET_ERROR:
		if (an->call == UPNP_CALL_DISCOVER)
			s = "socket error";
		break;
	default:
		/* UPnP's own codes, 400 to 799, from the gateway */
		if ((an->call == UPNP_CALL_EXTERNAL ||
		    an->call == UPNP_CALL_ADD ||
		    an->call == UPNP_CALL_DELETE) && an->code > 0)
			s = strupnperror(an->code);
		break;
	}
	n = strlen(buf);
	snprintf(buf + n, len - n, "%sUPnP: %s failed: %s (%d)", sep,
	    upnp_call_name(an->call), s != NULL ? s : "error", an->code);
	return (buf);
}

static struct upnp_map *
upnp_map_by_id(struct upnp *u, uint64_t id)
{
	size_t	i;

	for (i = 0; i < u->nmaps; i++)
		if (u->maps[i].id == id)
			return (&u->maps[i]);
	return (NULL);
}

/*
 * Returns -1 when the request cannot be queued now (tried again later).
 */
static int
upnp_send(struct upnp *u, uint8_t op, struct upnp_map *m, uint16_t ext_port)
{
	struct upnp_pending	*p;
	ssize_t			 n;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("UPnP request");
		return (-1);
	}
	p->rq.seq = ++u->seq;
	p->rq.op = op;
	p->rq.ext_port = ext_port;
	if (m != NULL) {
		p->map_id = m->id;
		strlcpy(p->ifname, m->ifname, sizeof(p->ifname));
		p->rq.int_port = m->listen_port;
		/* a mapping is renewed, or deleted, where it was made */
		p->rq.protos = m->mapped ? m->proto : m->protos;
		if (op == UPNP_OP_MAP)
			p->rq.lease = UPNP_LEASE_SECONDS;
		snprintf(p->rq.desc, sizeof(p->rq.desc), "wgmeshd %s",
		    m->ifname);
	}
	n = send(u->fd, &p->rq, sizeof(p->rq), MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == ENOBUFS)) {
		free(p);
		u->seq--;
		return (-1);
	}
	if (n != sizeof(p->rq))
		fatal("UPnP worker");
	TAILQ_INSERT_TAIL(&u->pending, p, entry);
	return (0);
}

/*
 * The configuration changed: a mapping whose interface is gone, no longer
 * wants UPnP or wants other ports is deleted (after a MAP still with the
 * worker, which answers in order); new ones are asked for at once, not
 * at the next tick, since discovery alone takes UPNP_DISCOVER_MS and
 * the peers wait for the mapping; the ones kept are told to the mesh
 * again, under the interface's index now (mesh_reconf() forgot them).
 */
void
upnp_reconf(const struct imsg_iface *ifaces, size_t nifaces)
{
	struct upnp		*u = &upnp_state;
	struct upnp_map		*nm, *m, *old;
	size_t			 i, j, n = 0;
	uint16_t		 ext;

	if (u->fd == -1)
		return;
	if ((nm = calloc(nifaces + 1, sizeof(*nm))) == NULL)
		fatal("UPnP reconfiguration");
	for (i = 0; i < nifaces; i++) {
		if ((ifaces[i].upnp & ~PORTMAP_ALL) != 0)
			fatalx("interface %s: port mapping protocols %#x",
			    ifaces[i].ifname, ifaces[i].upnp);
		if (ifaces[i].upnp == 0)
			continue;
		ext = ifaces[i].upnp_external_port != 0 ?
		    ifaces[i].upnp_external_port : ifaces[i].listen_port;
		if (ifaces[i].listen_port == 0 || ext == 0)
			continue;
		for (j = 0; j < n; j++)
			if (nm[j].ext_port == ext)
				break;
		if (j < n) {
			log_warnx("interface %s: external port %u is "
			    "interface %s's already; not mapped",
			    ifaces[i].ifname, ext, nm[j].ifname);
			continue;
		}
		m = &nm[n++];
		old = NULL;
		for (j = 0; j < u->nmaps; j++)
			if (strcmp(u->maps[j].ifname, ifaces[i].ifname) == 0 &&
			    u->maps[j].listen_port == ifaces[i].listen_port &&
			    u->maps[j].ext_port == ext &&
			    u->maps[j].protos == ifaces[i].upnp)
				old = &u->maps[j];
		if (old != NULL) {
			*m = *old;
			old->id = 0;	/* kept: not deleted below */
		} else {
			m->id = u->next_id++;
			strlcpy(m->ifname, ifaces[i].ifname,
			    sizeof(m->ifname));
			m->listen_port = ifaces[i].listen_port;
			m->ext_port = ext;
			m->protos = ifaces[i].upnp;
			m->next = upnp_now();
		}
		m->iface = ifaces[i].index;
		memcpy(m->public_key, ifaces[i].public_key, WG_KEY_LEN);
	}
	for (j = 0; j < u->nmaps; j++) {
		old = &u->maps[j];
		if (old->id == 0 || (!old->mapped && !old->busy))
			continue;
		log_info("interface %s: %s mapping of port %u no longer "
		    "configured; deleting it", old->ifname,
		    upnp_proto_name(old->proto), old->ext_port);
		/* its id is gone: nobody waits for the answer but the log */
		if (upnp_send(u, UPNP_OP_UNMAP, old, old->ext_port) == -1)
			log_warnx("interface %s: %s mapping of port %u "
			    "left to expire", old->ifname,
			    upnp_proto_name(old->proto), old->ext_port);
	}
	free(u->maps);
	u->maps = nm;
	u->nmaps = n;
	for (i = 0; i < u->nmaps; i++)
		if (u->maps[i].mapped)
			u->cb(u->maps[i].iface, u->maps[i].public_key,
			    &u->maps[i].ext, u->cb_arg);
	upnp_tick(-1, 0, u);
}

/* For wgmeshctl: the interface's mapping and its protocol, if any. */
int
upnp_mapping(const char *ifname, struct imsg_addr *ext, uint8_t *proto)
{
	struct upnp	*u = &upnp_state;
	size_t		 i;

	for (i = 0; i < u->nmaps; i++)
		if (u->maps[i].mapped && strcmp(u->maps[i].ifname,
		    ifname) == 0) {
			*ext = u->maps[i].ext;
			*proto = u->maps[i].proto;
			return (0);
		}
	return (-1);
}

static void
upnp_tick(int fd, short event, void *arg)
{
	struct upnp	*u = arg;
	struct upnp_map	*m;
	char		 buf[ENDPOINT_STR_MAX];
	size_t		 i;
	int64_t		 now = upnp_now();

	for (i = 0; i < u->nmaps; i++) {
		m = &u->maps[i];
		if (m->mapped && m->expires != 0 && now >= m->expires) {
			log_warnx("interface %s: %s mapping %s expired "
			    "without a renewal", m->ifname,
			    upnp_proto_name(m->proto),
			    imsg_addr_ntop(&m->ext, buf, sizeof(buf)));
			upnp_forget(u, m);
		}
		if (m->busy || now < m->next)
			continue;
		if (upnp_send(u, UPNP_OP_MAP, m, m->ext_port) == 0)
			m->busy = 1;
	}
}

static void
upnp_read(int fd, short event, void *arg)
{
	struct upnp		*u = arg;
	struct upnp_answer	 an;
	uint8_t			 buf[sizeof(an) + 1];
	ssize_t			 n;
	int			 i;

	for (i = 0; i < 16; i++) {
		if ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			fatal("UPnP worker");
		}
		if (n == 0)
			fatalx("the UPnP worker has ended");
		if (n != sizeof(an))
			fatalx("UPnP worker: answer of %zd bytes", n);
		memcpy(&an, buf, sizeof(an));
		upnp_answer(u, &an);
	}
}

static void
upnp_answer(struct upnp *u, const struct upnp_answer *an)
{
	struct upnp_pending	*p;
	struct upnp_map		*m;
	struct imsg_addr	 ext;
	char			 err[400];
	int			 r;

	if ((p = TAILQ_FIRST(&u->pending)) == NULL)
		fatalx("UPnP worker: an answer to nothing");
	if ((r = upnp_answer_check(&p->rq, an, &ext)) == -1)
		fatalx("UPnP worker: malformed answer to request %u",
		    p->rq.seq);
	TAILQ_REMOVE(&u->pending, p, entry);
	m = p->map_id != 0 ? upnp_map_by_id(u, p->map_id) : NULL;
	if (p->rq.op == UPNP_OP_UNMAP) {
		/* at exit the mapping is still listed: name its interface */
		if (r == UPNP_OK && an->tried != 0)
			log_info("%s%s%s%s mapping of port %u deleted",
			    p->ifname[0] != '\0' ? "interface " : "",
			    p->ifname, p->ifname[0] != '\0' ? ": " : "",
			    upnp_proto_name(p->rq.protos), p->rq.ext_port);
		else if (r != UPNP_OK)
			log_warnx("%s%s%sdeleting the mapping of port %u: %s",
			    p->ifname[0] != '\0' ? "interface " : "",
			    p->ifname, p->ifname[0] != '\0' ? ": " : "",
			    p->rq.ext_port, upnp_error(an, err, sizeof(err)));
	} else if (m == NULL || u->stopping) {
		/* its interface changed meanwhile; an UNMAP follows */
		log_debug("port mapping: answer for a mapping no longer "
		    "wanted (port %u)", p->rq.ext_port);
	} else {
		m->busy = 0;
		if (r == UPNP_OK)
			upnp_mapped(u, m, an, &ext);
		else
			upnp_failed(u, m, an, r);
	}
	free(p);
}

static void
upnp_mapped(struct upnp *u, struct upnp_map *m, const struct upnp_answer *an,
    const struct imsg_addr *ext)
{
	char	 buf[ENDPOINT_STR_MAX];
	int64_t	 now = upnp_now();
	int	 news;

	news = !m->mapped || !imsg_addr_equal(&m->ext, ext) ||
	    strcmp(m->lan, an->lan_addr) != 0 || m->lease != an->lease ||
	    m->proto != an->proto;
	if (an->epoch_reset)
		log_info("interface %s: the gateway lost its %s mappings "
		    "(its epoch went back) since its last answer", m->ifname,
		    upnp_proto_name(an->proto));
	m->mapped = 1;
	m->proto = an->proto;
	m->ext = *ext;
	strlcpy(m->lan, an->lan_addr, sizeof(m->lan));
	m->lease = an->lease;
	m->expires = an->lease != 0 ? now + an->lease : 0;
	m->next = now + (an->lease != 0 ? an->lease / 2 :
	    UPNP_RECHECK_SECONDS);
	m->failures = 0;
	if (!news) {
		log_debug("interface %s: %s mapping %s renewed", m->ifname,
		    upnp_proto_name(m->proto),
		    imsg_addr_ntop(ext, buf, sizeof(buf)));
		return;
	}
	log_info("interface %s: %s mapping %s -> %s:%u, lease %u s%s",
	    m->ifname, upnp_proto_name(m->proto),
	    imsg_addr_ntop(ext, buf, sizeof(buf)), m->lan,
	    m->listen_port, m->lease, an->igd == UPNP_IGD_RESERVED ?
	    " (the gateway's address is not routable on the Internet)" : "");
	u->cb(m->iface, m->public_key, &m->ext, u->cb_arg);
}

/*
 * A failure: tried again after 5 s, doubling up to 10 minutes, and
 * before the lease of a mapping that still stands runs out.  The
 * gateway's own refusal (a UPnP error code) ends the mapping at once; a
 * gateway that does not answer may still forward until the lease ends.
 */
static void
upnp_failed(struct upnp *u, struct upnp_map *m, const struct upnp_answer *an,
    int r)
{
	char		 err[400];
	int64_t		 now = upnp_now(), delay;
	unsigned int	 shift;
	int		 refused;

	m->failures++;
	shift = m->failures - 1 < 8 ? m->failures - 1 : 8;
	delay = (int64_t)UPNP_RETRY_MIN_SECONDS << shift;
	if (delay > UPNP_RETRY_MAX_SECONDS)
		delay = UPNP_RETRY_MAX_SECONDS;
	if (r == UPNP_BAD_EXTERNAL)
		snprintf(err, sizeof(err), "%s: the gateway's external "
		    "address is not a unicast IPv4 address",
		    upnp_proto_name(an->proto));
	else if (r == UPNP_BAD_LAN)
		snprintf(err, sizeof(err), "no IPv4 address of ours towards "
		    "the gateway");
	else
		upnp_error(an, err, sizeof(err));
	/* the gateway's own result codes, not silence or a lost route */
	refused = r != UPNP_FAILED || ((an->call == UPNP_CALL_EXTERNAL ||
	    an->call == UPNP_CALL_ADD) && an->code > 0) ||
	    (an->pcp_code > 0 && an->pcp_code < 256) ||
	    (an->natpmp_code > 0 && an->natpmp_code < 256);
	if (refused)
		upnp_forget(u, m);
	if (m->mapped && m->expires != 0 && (m->expires - now) / 2 < delay)
		delay = (m->expires - now) / 2 > 1 ? (m->expires - now) / 2 : 1;
	m->next = now + delay;
	log_warnx("interface %s: port mapping failed: %s; trying again in "
	    "%lld s", m->ifname, err, (long long)delay);
}

/* The mapping is gone: the mesh stops telling the peers about it. */
static void
upnp_forget(struct upnp *u, struct upnp_map *m)
{
	if (!m->mapped)
		return;
	m->mapped = 0;
	m->proto = 0;		/* every protocol is tried again */
	memset(&m->ext, 0, sizeof(m->ext));
	m->lan[0] = '\0';
	m->expires = 0;
	u->cb(m->iface, m->public_key, NULL, u->cb_arg);
}

/*
 * The engine is exiting: every mapping made or being made is deleted,
 * waiting for the worker at most UPNP_SHUTDOWN_MS in all (it may be in
 * the middle of a discovery).  What is not deleted by then expires with
 * its lease.
 */
void
upnp_shutdown(void)
{
	struct upnp		*u = &upnp_state;
	struct upnp_pending	*p;
	struct pollfd		 pfd;
	struct timespec		 ts;
	int64_t			 end, now;
	size_t			 i;
	int			 waiting;

	if (u->fd == -1 || u->stopping)
		return;
	u->stopping = 1;
	for (i = 0; i < u->nmaps; i++) {
		if (!u->maps[i].mapped && !u->maps[i].busy)
			continue;
		if (upnp_send(u, UPNP_OP_UNMAP, &u->maps[i],
		    u->maps[i].ext_port) == -1)
			log_warnx("interface %s: %s mapping of port %u left "
			    "to expire", u->maps[i].ifname,
			    upnp_proto_name(u->maps[i].proto),
			    u->maps[i].ext_port);
	}
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return;
	end = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
	    UPNP_SHUTDOWN_MS;
	for (;;) {
		waiting = 0;
		TAILQ_FOREACH(p, &u->pending, entry)
			if (p->rq.op == UPNP_OP_UNMAP)
				waiting = 1;
		if (!waiting)
			break;
		if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
			break;
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (now >= end) {
			log_warnx("port mapping: the gateway did not answer "
			    "within %d ms; mappings left to expire",
			    UPNP_SHUTDOWN_MS);
			break;
		}
		pfd.fd = u->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(end - now)) > 0)
			upnp_read(u->fd, EV_READ, u);
	}
}
