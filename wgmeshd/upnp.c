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
 * UPnP IGD port mappings, in the engine.  For each interface with "upnp
 * yes" the LAN's Internet gateway is asked to forward a UDP port (the
 * external port) to this host's listen port; the gateway's external
 * address and that port are then gossiped as this node's endpoint
 * (mesh_self_endpoint(), through the engine's callback).  A mapping is
 * renewed at half its lease, tried again with a growing delay when it
 * fails, and deleted when the engine exits.
 *
 * miniupnpc blocks: SSDP discovery waits about two seconds and every
 * call is an HTTP request.  So that gossip and hole punching never wait
 * for a gateway, those calls run in a worker process, forked by the
 * engine before its privilege drop.  The worker is also where the
 * gateway's HTTP and XML are parsed, and where TCP is allowed: the
 * engine, which holds the pair keys, makes no TCP connection at all.
 * The engine's event loop and the worker share nothing but a
 * SOCK_SEQPACKET socketpair: one fixed-size struct upnp_request per
 * datagram one way, one struct upnp_answer per request the other way,
 * in order.  The worker keeps what it learned of the gateway; the
 * engine keeps the mappings.  The engine checks every answer before use
 * (upnp_answer_check()); a malformed one, or the worker's end, is
 * fatal.
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

#include "wgmeshd.h"
#include "engine.h"

#define UPNP_DEVICES_MAX	8	/* SSDP answers looked at */
#define UPNP_SSDP_TTL		2	/* UDA 1.1's default */
#define UPNP_CIF_PREFIX	"urn:schemas-upnp-org:service:WANCommonInterfaceConfig:"
#define UPNP_WANIP_PREFIX	"urn:schemas-upnp-org:service:WANIPConnection:"
#define UPNP_WANPPP_PREFIX	"urn:schemas-upnp-org:service:WANPPPConnection:"
#define UPNP_E_NOSUCHENTRY	714	/* DeletePortMapping: already gone */
#define UPNP_E_PERMANENT_ONLY	725	/* OnlyPermanentLeasesSupported */

/* What the worker knows of the gateway; its own, never shared. */
struct upnp_igd {
	int			 valid;
	int			 kind;		/* enum upnp_igd_kind */
	struct UPNPUrls		 urls;
	char			 service[MINIUPNPC_URL_MAXSIZE];
	char			 lan[UPNP_ADDR_MAX];	/* ours, towards it */
};

/* One interface's mapping, in the engine. */
struct upnp_map {
	uint64_t		 id;		/* in its pending requests */
	char			 ifname[IMSG_IFNAME_MAX];
	uint32_t		 iface;		/* index, now */
	uint8_t			 public_key[WG_KEY_LEN];
	uint16_t		 listen_port;
	uint16_t		 ext_port;
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
static void	 upnp_worker_map(struct upnp_igd *,
		    const struct upnp_request *, struct upnp_answer *);
static void	 upnp_worker_unmap(struct upnp_igd *,
		    const struct upnp_request *, struct upnp_answer *);
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

static int64_t
upnp_now(void)
{
	struct timespec	ts;

	/* leases run on the monotonic clock: a clock step moves nothing */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return ((int64_t)ts.tv_sec);
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
 * which dup2 closes), nothing else of the engine's (imsg pipes, sockets,
 * the event base's descriptors, syslog's).  Signals for the daemon are
 * the engine's to act on: it deletes the mappings through us before it
 * exits, and its end kills us (sandbox_upnp()).
 */
static __dead void
upnp_worker_main(int fd, pid_t engine, upnp_confine_cb confine)
{
	closelog();
	if (dup2(fd, 3) == -1 || close_range(4, ~0U, 0) == -1)
		_exit(1);
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
	struct upnp_igd		 igd;
	struct upnp_request	 rq;
	struct upnp_answer	 an;
	ssize_t			 n;

	memset(&igd, 0, sizeof(igd));
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
			upnp_worker_map(&igd, &rq, &an);
		else if (n == sizeof(rq) && rq.op == UPNP_OP_UNMAP)
			upnp_worker_unmap(&igd, &rq, &an);
		else
			upnp_fail(&an, UPNP_CALL_NONE, 0);
		while ((n = send(fd, &an, sizeof(an), MSG_NOSIGNAL)) == -1 &&
		    errno == EINTR)
			;
		if (n != sizeof(an))
			break;
	}
	upnp_igd_forget(&igd);
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
 * MAP: the gateway (found again if it stopped answering: a restarted
 * miniupnpd listens on a new HTTP port), its external address, then
 * AddPortMapping; an IGD that takes only permanent leases gets lease 0.
 */
static void
upnp_worker_map(struct upnp_igd *igd, const struct upnp_request *rq,
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

/* UNMAP: with the gateway that was used; none known, nothing to do. */
static void
upnp_worker_unmap(struct upnp_igd *igd, const struct upnp_request *rq,
    struct upnp_answer *an)
{
	char	eport[8];
	int	r;

	if (!igd->valid) {
		upnp_fail(an, UPNP_CALL_DELETE, UPNP_E_NOGATEWAY);
		return;
	}
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
 * "succeeded" with an address that is not one.
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
	    an->call >= UPNP_CALL_MAX ||
	    memchr(an->ext_addr, '\0', sizeof(an->ext_addr)) == NULL ||
	    memchr(an->lan_addr, '\0', sizeof(an->lan_addr)) == NULL)
		return (-1);
	if (an->status == UPNP_FAILED)
		return (an->call == UPNP_CALL_NONE ? -1 : UPNP_FAILED);
	if (rq->op == UPNP_OP_UNMAP)
		return (UPNP_OK);
	if ((an->igd != UPNP_IGD_CONNECTED && an->igd != UPNP_IGD_RESERVED) ||
	    (an->lease != rq->lease && an->lease != 0))
		return (-1);
	memset(ext, 0, sizeof(*ext));
	if (inet_pton(AF_INET, an->ext_addr, &in) != 1)
		return (UPNP_BAD_EXTERNAL);
	a = ntohl(in.s_addr);
	ext->af = AF_INET;
	ext->port = an->ext_port;
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

/* What went wrong, for a log line: the call and its error code. */
static const char *
upnp_error(const struct upnp_answer *an, char *buf, size_t len)
{
	const char	*s = NULL;

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
	snprintf(buf, len, "%s failed: %s (%d)", upnp_call_name(an->call),
	    s != NULL ? s : "error", an->code);
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

/* Returns -1 when the request cannot be queued now (tried again later). */
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
		if (!ifaces[i].upnp)
			continue;
		ext = ifaces[i].upnp_external_port != 0 ?
		    ifaces[i].upnp_external_port : ifaces[i].listen_port;
		if (ifaces[i].listen_port == 0 || ext == 0)
			continue;
		for (j = 0; j < n; j++)
			if (nm[j].ext_port == ext)
				break;
		if (j < n) {
			log_warnx("interface %s: UPnP external port %u is "
			    "interface %s's already; not mapped",
			    ifaces[i].ifname, ext, nm[j].ifname);
			continue;
		}
		m = &nm[n++];
		old = NULL;
		for (j = 0; j < u->nmaps; j++)
			if (strcmp(u->maps[j].ifname, ifaces[i].ifname) == 0 &&
			    u->maps[j].listen_port == ifaces[i].listen_port &&
			    u->maps[j].ext_port == ext)
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
			m->next = upnp_now();
		}
		m->iface = ifaces[i].index;
		memcpy(m->public_key, ifaces[i].public_key, WG_KEY_LEN);
	}
	for (j = 0; j < u->nmaps; j++) {
		old = &u->maps[j];
		if (old->id == 0 || (!old->mapped && !old->busy))
			continue;
		log_info("interface %s: UPnP mapping of port %u no longer "
		    "configured; deleting it", old->ifname, old->ext_port);
		/* its id is gone: nobody waits for the answer but the log */
		if (upnp_send(u, UPNP_OP_UNMAP, old, old->ext_port) == -1)
			log_warnx("interface %s: UPnP mapping of port %u "
			    "left to expire", old->ifname, old->ext_port);
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

/* For wgmeshctl: the interface's mapping, if it has one. */
int
upnp_mapping(const char *ifname, struct imsg_addr *ext)
{
	struct upnp	*u = &upnp_state;
	size_t		 i;

	for (i = 0; i < u->nmaps; i++)
		if (u->maps[i].mapped && strcmp(u->maps[i].ifname,
		    ifname) == 0) {
			*ext = u->maps[i].ext;
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
			log_warnx("interface %s: UPnP mapping %s expired "
			    "without a renewal", m->ifname,
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
	char			 err[160];
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
		if (r == UPNP_OK)
			log_info("%s%s%sUPnP mapping of port %u deleted",
			    p->ifname[0] != '\0' ? "interface " : "",
			    p->ifname, p->ifname[0] != '\0' ? ": " : "",
			    p->rq.ext_port);
		else
			log_warnx("%s%s%sUPnP mapping of port %u: %s",
			    p->ifname[0] != '\0' ? "interface " : "",
			    p->ifname, p->ifname[0] != '\0' ? ": " : "",
			    p->rq.ext_port, upnp_error(an, err, sizeof(err)));
	} else if (m == NULL || u->stopping) {
		/* its interface changed meanwhile; an UNMAP follows */
		log_debug("UPnP: answer for a mapping no longer wanted "
		    "(port %u)", p->rq.ext_port);
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
	    strcmp(m->lan, an->lan_addr) != 0 || m->lease != an->lease;
	m->mapped = 1;
	m->ext = *ext;
	strlcpy(m->lan, an->lan_addr, sizeof(m->lan));
	m->lease = an->lease;
	m->expires = an->lease != 0 ? now + an->lease : 0;
	m->next = now + (an->lease != 0 ? an->lease / 2 :
	    UPNP_RECHECK_SECONDS);
	m->failures = 0;
	if (!news) {
		log_debug("interface %s: UPnP mapping %s renewed", m->ifname,
		    imsg_addr_ntop(ext, buf, sizeof(buf)));
		return;
	}
	log_info("interface %s: UPnP mapping %s -> %s:%u, lease %u s%s",
	    m->ifname, imsg_addr_ntop(ext, buf, sizeof(buf)), m->lan,
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
	char		 err[160];
	int64_t		 now = upnp_now(), delay;
	unsigned int	 shift;
	int		 refused;

	m->failures++;
	shift = m->failures - 1 < 8 ? m->failures - 1 : 8;
	delay = (int64_t)UPNP_RETRY_MIN_SECONDS << shift;
	if (delay > UPNP_RETRY_MAX_SECONDS)
		delay = UPNP_RETRY_MAX_SECONDS;
	if (r == UPNP_BAD_EXTERNAL)
		snprintf(err, sizeof(err), "GetExternalIPAddress: the "
		    "gateway's external address is not a unicast IPv4 "
		    "address");
	else if (r == UPNP_BAD_LAN)
		snprintf(err, sizeof(err), "no IPv4 address of ours towards "
		    "the gateway");
	else
		upnp_error(an, err, sizeof(err));
	refused = r != UPNP_FAILED || ((an->call == UPNP_CALL_EXTERNAL ||
	    an->call == UPNP_CALL_ADD) && an->code > 0);
	if (refused)
		upnp_forget(u, m);
	if (m->mapped && m->expires != 0 && (m->expires - now) / 2 < delay)
		delay = (m->expires - now) / 2 > 1 ? (m->expires - now) / 2 : 1;
	m->next = now + delay;
	log_warnx("interface %s: UPnP %s; trying again in %lld s", m->ifname,
	    err, (long long)delay);
}

/* The mapping is gone: the mesh stops telling the peers about it. */
static void
upnp_forget(struct upnp *u, struct upnp_map *m)
{
	if (!m->mapped)
		return;
	m->mapped = 0;
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
			log_warnx("interface %s: UPnP mapping of port %u left "
			    "to expire", u->maps[i].ifname,
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
			log_warnx("UPnP: the gateway did not answer within "
			    "%d ms; mappings left to expire",
			    UPNP_SHUTDOWN_MS);
			break;
		}
		pfd.fd = u->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(end - now)) > 0)
			upnp_read(u->fd, EV_READ, u);
	}
}
