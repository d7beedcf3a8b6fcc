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
 * The engine: the only process that handles input from the network or
 * from wgmeshctl.  It runs as an unprivileged user, chrooted into an empty
 * directory, under a seccomp filter.  It chooses endpoints (mesh.c),
 * resolves configured host names with evdns, serves the control socket,
 * and may ask the parent for one thing of its own, set a configured
 * peer's endpoint, and pass on a control client's reload and log level.
 * Which messages it takes from whom: common/proto.h's table.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "wire.h"
#include "engine.h"

/* An interface's gossip socket, from the parent. */
struct gossip_sock {
	char			 ifname[IMSG_IFNAME_MAX];
	int			 fd;
	struct event		*ev;
};

/* What the engine last sent the storage process for an interface. */
struct saved_state {
	char			 ifname[IMSG_IFNAME_MAX];
	int			 loading;	/* LOAD sent, LOADED not yet */
	uint32_t		 nloaded;
	uint8_t			 digest[crypto_generichash_BYTES];
};

struct engine {
	struct event_base	*base;
	struct evdns_base	*dns;
	struct imsgev		 iev_parent;
	struct imsgev		 iev_storage;
	struct event		*ev_tick;
	struct event		*ev_sig[3];
	int			 poke_fd;
	uint32_t		 gen;
	struct imsg_iface	*ifaces;
	size_t			 nifaces;
	struct mesh		 mesh;
	int64_t			 resolved_at;
	/* a configuration being received: RECONF_BEGIN … RECONF_END */
	int			 in_reconf;
	uint32_t		 new_gen;
	struct imsg_iface	*new_ifaces;
	size_t			 new_nifaces;
	struct mesh_peer	*new_peers;
	size_t			 new_npeers;
	struct imsg_peer	*peer_conf;	/* as configured, per peer */
	struct imsg_peer	*new_peer_conf;
	struct gossip_sock	*gsocks;
	size_t			 ngsocks;
	struct lan		 lan;
	struct event		*ev_poke;
	struct poke		*pokes;
	size_t			 npokes;
	struct saved_state	*saved;
	size_t			 nsaved;
	/* the relay process (engine_relay_*()), when there is one */
	int			 has_relay;
	struct imsgev		 iev_relay;
	struct engine_relay_pair relay_pairs[RELAY_PAIRS_MAX];
	struct relay_counters	 relay_stats;
};

/* a poke to send soon (MESH_ACTION_POKE_SOON) */
struct poke {
	struct timeval		 due;
	uint32_t		 gen;
	uint32_t		 iface;
	uint32_t		 peer;
};

/* a name lookup in flight; stale when the generation moved on */
struct resolve {
	uint32_t		 gen;
	uint32_t		 iface;
	uint32_t		 peer;
	uint16_t		 port;
};

static struct engine	 engine_state;

static void	 engine_dispatch_parent(int, short, void *);
static void	 engine_dispatch_storage(int, short, void *);
static void	 engine_dispatch_relay(int, short, void *);
static void	 engine_relay_opened(struct engine *, struct imsg *);
static void	 engine_relay_state(struct engine *, struct imsg *);
static struct engine_relay_pair *engine_relay_used(uint32_t, const char *);
static void	 engine_relay_op(enum mesh_relay_op, const struct mesh_relay *,
		    const struct mesh_peer *, const struct mesh_peer *, void *);
static void	 engine_signal(int, short, void *);
static void	 engine_tick(int, short, void *);
static void	 engine_action(enum mesh_action, struct mesh_peer *,
		    const struct imsg_set_endpoint *, void *);
static void	 engine_reconf(struct engine *, struct imsg *);
static void	 engine_reconf_end(struct engine *);
static void	 engine_resolve_all(struct engine *);
static void	 engine_resolved(int, struct evutil_addrinfo *, void *);
static int64_t	 now_seconds(void);
static void	 copy_string(char *, const char *, size_t, const char *);
static void	 engine_prefixes_valid(const struct imsg_prefix *, uint8_t,
		    uint8_t, const char *);
static void	 engine_send(struct mesh_peer *, uint8_t, const uint8_t *,
		    size_t, void *);
static void	 engine_gossip_socket(struct engine *, struct imsg *);
static void	 engine_gossip_read(int, short, void *);
static void	 engine_gossip_prune(struct engine *);
static void	 engine_lan_socket(struct engine *, struct imsg *);
static void	 engine_lan_links(struct engine *, struct imsg *);
static void	 engine_poke(struct engine *, struct mesh_peer *);
static void	 engine_log_paths(struct engine *, int64_t);
static void	 engine_peer_event(const struct mesh_peer *, void *);
static void	 engine_poke_soon(struct engine *, struct mesh_peer *);
static void	 engine_pokes_due(int, short, void *);
static void	 engine_pair_key(struct engine *, struct imsg *);
static void	 engine_state_load(struct engine *);
static void	 engine_state_entry(struct engine *, struct imsg *);
static void	 engine_state_loaded(struct engine *, struct imsg *);
static size_t	 engine_state_entries(struct engine *, uint32_t,
		    struct imsg_state_entry *, size_t, int64_t);
static void	 engine_state_save(struct engine *, int);
static struct saved_state *engine_saved(struct engine *, const char *, int);
static __dead void engine_exit(struct engine *);
static void	 engine_upnp_endpoint(uint32_t, const uint8_t [WG_KEY_LEN],
		    const struct imsg_addr *, void *);
static void	 engine_upnp_confine(pid_t);
static void	 engine_pong(struct mesh_peer *, uint32_t, void *);
static int	 engine_ping_not_up(const struct mesh_peer *, const char *,
		    char *, size_t);
static void	 engine_libevent_log(int, const char *);
static void	 engine_ctl_reason(const struct mesh_peer *, char *, size_t,
		    int64_t);

static const char	*engine_user;

/*
 * libevent's own messages (evdns: "Nameserver ... has failed") in our log
 * rather than raw on stderr; what a name lookup came to is told per peer
 * (mesh_resolve_failed()), so its chatter is for -v.
 */
static void
engine_libevent_log(int severity, const char *msg)
{
	if (severity == EVENT_LOG_ERR || severity == EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

/* The UPnP worker process, forked by upnp_init(): confined as we are */
static void
engine_upnp_confine(pid_t engine)
{
	privdrop(engine_user, WGMESHD_CHROOT);
	sandbox_upnp(engine);
}

static int64_t
now_seconds(void)
{
	return ((int64_t)time(NULL));
}

__dead void
engine(int debug, int verbose, const char *user, int relay)
{
	struct engine	*e = &engine_state;
	struct timeval	 tv = { 1, 0 };
	int		 i, sigs[] = { SIGTERM, SIGINT, SIGHUP };

	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	sandbox_proc_name("engine");

	/* what the sandbox will not allow later */
	tzset();
	event_set_log_callback(engine_libevent_log);
	if ((e->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if ((e->dns = evdns_base_new(e->base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL) {
		log_warnx("no name servers from /etc/resolv.conf; host "
		    "names in endpoints will not resolve");
		if ((e->dns = evdns_base_new(e->base, 0)) == NULL)
			fatalx("evdns_base_new");
	}
	if ((e->poke_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	/* a process, which RLIMIT_NPROC and the filter forbid later */
	engine_user = user;
	upnp_init(e->base, engine_upnp_endpoint, e, engine_upnp_confine);

	privdrop(user, WGMESHD_CHROOT);
	sandbox_engine();

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 3; i++) {
		e->ev_sig[i] = evsignal_new(e->base, sigs[i], engine_signal,
		    e);
		if (e->ev_sig[i] == NULL || evsignal_add(e->ev_sig[i],
		    NULL) == -1)
			fatalx("signal events");
	}
	imsgev_init(&e->iev_parent, e->base, 3, engine_dispatch_parent, e);
	imsgev_init(&e->iev_storage, e->base, 4, engine_dispatch_storage, e);
	/* only the parent passes descriptors: sockets */
	imsgev_pipe(&e->iev_parent, "the parent", 1);
	imsgev_pipe(&e->iev_storage, "the storage process", 0);
	if (relay) {
		imsgev_init(&e->iev_relay, e->base, 5, engine_dispatch_relay,
		    e);
		imsgev_pipe(&e->iev_relay, "the relay process", 0);
		e->has_relay = 1;
	}
	mesh_init(&e->mesh, engine_action, engine_send, e,
	    ((uint64_t)randombytes_random() << 32) | randombytes_random());
	e->mesh.pong = engine_pong;
	if (e->has_relay && mesh_relay_init(&e->mesh, engine_relay_op,
	    RELAY_PAIRS_MAX) == -1)
		fatal("relay pairs");
	lan_init(&e->lan, e->base, &e->mesh);
	if ((e->ev_poke = evtimer_new(e->base, engine_pokes_due, e)) == NULL)
		fatalx("poke timer");

	if ((e->ev_tick = event_new(e->base, -1, EV_PERSIST, engine_tick,
	    e)) == NULL || evtimer_add(e->ev_tick, &tv) == -1)
		fatalx("tick timer");

	event_base_dispatch(e->base);
	exit(0);
}

static void
engine_signal(int sig, short event, void *arg)
{
	/*
	 * The parent decides; a signal sent to us too (a service manager
	 * signals the whole group) ends us quietly, with what we know
	 * saved.
	 */
	if (sig != SIGHUP)
		engine_exit(arg);
}

static void
engine_tick(int fd, short event, void *arg)
{
	struct engine	*e = arg;
	int64_t		 now = now_seconds();

	if (e->in_reconf)
		return;
	if (now - e->resolved_at >= WGMESHD_RESOLVE_SECONDS)
		engine_resolve_all(e);
	mesh_tick(&e->mesh, now);
	engine_log_paths(e, now);
	peerlog_step(&e->mesh, now, engine_peer_event, e);
	lan_beacon(&e->lan, 0);
	engine_state_save(e, 0);
}

/*
 * Each change of an up peer's path is logged once: relayed (through
 * which node, and why), direct again, on the LAN.
 */
static void
engine_log_paths(struct engine *e, int64_t now)
{
	struct mesh_peer	*p;
	const struct mesh_peer	*via;
	enum peer_path		 path;
	uint32_t		 v;
	size_t			 i;

	for (i = 0; i < e->mesh.npeers; i++) {
		p = &e->mesh.peers[i];
		path = mesh_peer_path(&e->mesh, p, now, &via);
		v = via != NULL ? (uint32_t)(via - e->mesh.peers) : UINT32_MAX;
		if (path == PATH_NONE || (path == p->path_logged &&
		    v == p->via_logged))
			continue;
		if (path == PATH_RELAY)
			log_info("peer %s: up through %s's relay: %s",
			    p->name, via->name, p->relay_why);
		else if (p->path_logged == PATH_RELAY)
			log_info("peer %s: %s again, no longer relayed",
			    p->name, path == PATH_LAN ? "on the LAN" :
			    "direct");
		p->path_logged = path;
		p->via_logged = v;
	}
}

static void
engine_action(enum mesh_action action, struct mesh_peer *p,
    const struct imsg_set_endpoint *set, void *arg)
{
	struct engine		*e = arg;
	char			 buf[ENDPOINT_STR_MAX];

	switch (action) {
	case MESH_ACTION_SET_ENDPOINT:
		/* set again while it is tried: not news */
		if (!imsg_addr_equal(&set->endpoint, &p->device.endpoint))
			log_debug("peer %s: trying endpoint %s", p->name,
			    imsg_addr_ntop(&set->endpoint, buf, sizeof(buf)));
		imsgev_compose(&e->iev_parent, IMSG_SET_ENDPOINT, e->gen, -1,
		    set, sizeof(*set));
		break;
	case MESH_ACTION_POKE:
		engine_poke(e, p);
		break;
	case MESH_ACTION_POKE_SOON:
		engine_poke_soon(e, p);
		break;
	}
}

/* An empty datagram into the tunnel starts a handshake. */
static void
engine_poke(struct engine *e, struct mesh_peer *p)
{
	struct sockaddr_in6	sin6;

	if (p->iface >= e->nifaces)
		return;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(e->ifaces[p->iface].gossip_port);
	memcpy(&sin6.sin6_addr, p->control, 16);
	if (sendto(e->poke_fd, "", 0, 0, (struct sockaddr *)&sin6,
	    sizeof(sin6)) == -1 && errno != EAGAIN)
		log_debug("peer %s: poke: %s", p->name, strerror(errno));
}

/*
 * A poke in MESH_POKE_DELAY_MS, for a peer of this generation.  Each
 * waits the whole delay from its own request: a poke that left with an
 * earlier one's batch would cross the other end's handshake, which is
 * what the delay is there to avoid.  All wait the same, so the queue is
 * in the order they are due.
 */
static void
engine_poke_soon(struct engine *e, struct mesh_peer *p)
{
	struct timeval	 now, delay = { 0, MESH_POKE_DELAY_MS * 1000 };
	struct poke	*np;
	size_t		 i;

	for (i = 0; i < e->npokes; i++)
		if (e->pokes[i].iface == p->iface &&
		    e->pokes[i].peer == p->index)
			return;
	if ((np = reallocarray(e->pokes, e->npokes + 1,
	    sizeof(*np))) == NULL) {
		engine_poke(e, p);
		return;
	}
	e->pokes = np;
	event_base_gettimeofday_cached(e->base, &now);
	timeradd(&now, &delay, &e->pokes[e->npokes].due);
	e->pokes[e->npokes].gen = e->gen;
	e->pokes[e->npokes].iface = p->iface;
	e->pokes[e->npokes].peer = p->index;
	if (e->npokes++ == 0)
		evtimer_add(e->ev_poke, &delay);
}

static void
engine_pokes_due(int fd, short event, void *arg)
{
	struct engine		*e = arg;
	struct mesh_peer	*p;
	struct timeval		 now, wait;
	size_t			 n;

	event_base_gettimeofday_cached(e->base, &now);
	for (n = 0; n < e->npokes && !timercmp(&e->pokes[n].due, &now, >);
	    n++)
		if (e->pokes[n].gen == e->gen && !e->in_reconf &&
		    (p = mesh_peer_find(&e->mesh, e->pokes[n].iface,
		    e->pokes[n].peer)) != NULL)
			engine_poke(e, p);
	e->npokes -= n;
	memmove(e->pokes, e->pokes + n, e->npokes * sizeof(e->pokes[0]));
	if (e->npokes == 0) {
		free(e->pokes);
		e->pokes = NULL;
		return;
	}
	timersub(&e->pokes[0].due, &now, &wait);
	evtimer_add(e->ev_poke, &wait);
}

/* Strings from another process must fit and end in a NUL. */
static void
copy_string(char *dst, const char *src, size_t len, const char *what)
{
	if (memchr(src, '\0', len) == NULL)
		fatalx("%s: unterminated string", what);
	memcpy(dst, src, len);
}

/* A list of prefixes from the parent (identity.c tells them): checked. */
static void
engine_prefixes_valid(const struct imsg_prefix *p, uint8_t n, uint8_t more,
    const char *what)
{
	uint8_t	i;

	if (n > IMSG_PREFIXES_MAX || more > 1)
		fatalx("%s: bad prefix list", what);
	for (i = 0; i < n; i++)
		if ((p[i].af != AF_INET && p[i].af != AF_INET6) ||
		    p[i].plen > (p[i].af == AF_INET ? 32 : 128))
			fatalx("%s: bad prefix", what);
}

/*
 * A configuration arrives as RECONF_BEGIN, an IFACE followed by its PEERs
 * for each interface, RECONF_END; it is built beside the running one and
 * swapped in at the end.  Anything out of order is fatal.
 */
static void
engine_reconf(struct engine *e, struct imsg *imsg)
{
	struct imsg_reconf_begin rb;
	struct imsg_iface	 mi, *ifs;
	struct imsg_peer	 mp, *pcs;
	struct mesh_peer	*mps, *p;
	struct imsg_iface	*cur;
	size_t			 have;

	/* peers received so far for the interface being received */
	have = e->new_npeers > 0 && e->new_peers[e->new_npeers - 1].iface ==
	    e->new_nifaces - 1 ? (size_t)e->new_peers[e->new_npeers - 1].index +
	    1 : 0;

	switch (imsg->hdr.type) {
	case IMSG_RECONF_BEGIN:
		if (e->in_reconf)
			fatalx("IMSG_RECONF_BEGIN inside a reconfiguration");
		imsg_payload(imsg, &rb, sizeof(rb));
		e->new_gen = rb.gen;
		e->in_reconf = 1;
		e->lan.paused = 1;
		break;
	case IMSG_RECONF_IFACE:
		if (!e->in_reconf)
			fatalx("IMSG_RECONF_IFACE outside a reconfiguration");
		imsg_payload(imsg, &mi, sizeof(mi));
		if (mi.index != e->new_nifaces || e->new_nifaces >= 4096 ||
		    (e->new_nifaces > 0 &&
		    have != e->new_ifaces[e->new_nifaces - 1].npeers))
			fatalx("IMSG_RECONF_IFACE out of order");
		copy_string(mi.ifname, mi.ifname, sizeof(mi.ifname), "ifname");
		copy_string(mi.node_name, mi.node_name, sizeof(mi.node_name),
		    "node name");
		copy_string(mi.backend, mi.backend, sizeof(mi.backend),
		    "backend");
		copy_string(mi.self_endpoint_host, mi.self_endpoint_host,
		    sizeof(mi.self_endpoint_host), "own endpoint");
		engine_prefixes_valid(mi.addresses, mi.naddresses,
		    mi.addresses_more, "IMSG_RECONF_IFACE");
		if ((ifs = reallocarray(e->new_ifaces, e->new_nifaces + 1,
		    sizeof(*ifs))) == NULL)
			fatal("reconf");
		e->new_ifaces = ifs;
		e->new_ifaces[e->new_nifaces++] = mi;
		break;
	case IMSG_RECONF_PEER:
		if (!e->in_reconf)
			fatalx("IMSG_RECONF_PEER outside a reconfiguration");
		imsg_payload(imsg, &mp, sizeof(mp));
		if (e->new_nifaces == 0 || mp.iface != e->new_nifaces - 1)
			fatalx("IMSG_RECONF_PEER for the wrong interface");
		cur = &e->new_ifaces[mp.iface];
		if (mp.index >= cur->npeers || e->new_npeers >= 65536)
			fatalx("IMSG_RECONF_PEER: index out of range");
		if (mp.index != have)
			fatalx("IMSG_RECONF_PEER out of order");
		copy_string(mp.name, mp.name, sizeof(mp.name), "peer name");
		copy_string(mp.endpoint_host, mp.endpoint_host,
		    sizeof(mp.endpoint_host), "endpoint");
		if ((mps = reallocarray(e->new_peers, e->new_npeers + 1,
		    sizeof(*mps))) == NULL)
			fatal("reconf");
		e->new_peers = mps;
		if ((pcs = reallocarray(e->new_peer_conf, e->new_npeers + 1,
		    sizeof(*pcs))) == NULL)
			fatal("reconf");
		e->new_peer_conf = pcs;
		e->new_peer_conf[e->new_npeers] = mp;
		p = &e->new_peers[e->new_npeers++];
		memset(p, 0, sizeof(*p));
		p->iface = mp.iface;
		p->index = mp.index;
		strlcpy(p->name, mp.name, sizeof(p->name));
		memcpy(p->public_key, mp.public_key, WG_KEY_LEN);
		memcpy(p->address, mp.address, 16);
		address_control(p->control, mp.public_key);
		engine_prefixes_valid(mp.allowed, mp.nallowed, mp.allowed_more,
		    "IMSG_RECONF_PEER");
		memcpy(p->allowed, mp.allowed, sizeof(p->allowed));
		p->nallowed = mp.nallowed;
		p->allowed_more = mp.allowed_more;
		p->keepalive = mp.keepalive;
		p->relay_use = mp.relay_use != 0;
		p->starts_later = key_starts_later(cur->public_key,
		    mp.public_key);
		break;
	case IMSG_RECONF_END:
		if (!e->in_reconf)
			fatalx("IMSG_RECONF_END outside a reconfiguration");
		engine_reconf_end(e);
		break;
	}
}

static void
engine_reconf_end(struct engine *e)
{
	struct mesh_iface	*mi;
	size_t			 i, n = 0;

	for (i = 0; i < e->new_nifaces; i++)
		n += e->new_ifaces[i].npeers;
	if (n != e->new_npeers)
		fatalx("IMSG_RECONF_END: %zu peers announced, %zu received",
		    n, e->new_npeers);
	if ((mi = calloc(e->new_nifaces + 1, sizeof(*mi))) == NULL)
		fatal("reconf");
	for (i = 0; i < e->new_nifaces; i++) {
		mi[i].iface = (uint32_t)i;
		mi[i].listen_port = e->new_ifaces[i].listen_port;
		mi[i].relay_offer = e->new_ifaces[i].relay_offer;
		mi[i].relay_use = e->new_ifaces[i].relay_use != 0;
		memcpy(mi[i].public_key, e->new_ifaces[i].public_key,
		    WG_KEY_LEN);
		strlcpy(mi[i].name, e->new_ifaces[i].node_name,
		    sizeof(mi[i].name));
		memcpy(mi[i].addresses, e->new_ifaces[i].addresses,
		    sizeof(mi[i].addresses));
		mi[i].naddresses = e->new_ifaces[i].naddresses;
		mi[i].addresses_more = e->new_ifaces[i].addresses_more;
	}
	if (mesh_reconf(&e->mesh, e->new_peers, e->new_npeers) == -1 ||
	    mesh_ifaces(&e->mesh, mi, e->new_nifaces) == -1)
		fatal("reconf");
	free(mi);
	free(e->ifaces);
	free(e->peer_conf);
	e->ifaces = e->new_ifaces;
	e->nifaces = e->new_nifaces;
	e->peer_conf = e->new_peer_conf;
	e->gen = e->new_gen;
	e->new_ifaces = NULL;
	e->new_peer_conf = NULL;
	free(e->new_peers);
	e->new_peers = NULL;
	e->new_nifaces = e->new_npeers = 0;
	e->in_reconf = 0;
	log_debug("configuration %u: %zu interfaces, %zu peers", e->gen,
	    e->nifaces, e->mesh.npeers);
	engine_gossip_prune(e);
	lan_reconf(&e->lan, e->ifaces, e->nifaces);
	e->lan.paused = 0;
	engine_state_load(e);
	engine_resolve_all(e);
	/* indexes may have changed: the mappings go to the mesh again */
	upnp_reconf(e->ifaces, e->nifaces);
}

/*
 * Endpoint candidates from the configuration: IP literals at once, host
 * names through evdns (both families).
 */
static void
engine_resolve_all(struct engine *e)
{
	struct imsg_peer	*pc;
	struct mesh_peer	*p;
	struct imsg_addr	 a;
	struct resolve		*r;
	struct evutil_addrinfo	 hints;
	size_t			 i;

	e->resolved_at = now_seconds();
	for (i = 0; i < e->mesh.npeers; i++) {
		p = &e->mesh.peers[i];
		pc = &e->peer_conf[i];
		if (pc->endpoint_host[0] == '\0') {
			/* none (any more): nothing configured to try */
			mesh_candidates(&e->mesh, p, NULL, 0, ORIGIN_NONE,
			    e->resolved_at);
			continue;
		}
		memset(&a, 0, sizeof(a));
		a.port = pc->endpoint_port;
		if (inet_pton(AF_INET, pc->endpoint_host, a.addr) == 1)
			a.af = AF_INET;
		else if (inet_pton(AF_INET6, pc->endpoint_host, a.addr) == 1)
			a.af = AF_INET6;
		if (a.af != 0) {
			if (imsg_addr_is_endpoint(&a))
				mesh_candidates(&e->mesh, p, &a, 1,
				    ORIGIN_CONFIGURED, now_seconds());
			continue;
		}
		if ((r = calloc(1, sizeof(*r))) == NULL)
			fatal("resolve");
		r->gen = e->gen;
		r->iface = p->iface;
		r->peer = p->index;
		r->port = pc->endpoint_port;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_DGRAM;
		hints.ai_protocol = IPPROTO_UDP;
		/*
		 * evdns answers from /etc/hosts (read before the sandbox)
		 * and the name servers; the callback may run at once.
		 */
		evdns_getaddrinfo(e->dns, pc->endpoint_host, NULL, &hints,
		    engine_resolved, r);
	}
}

static void
engine_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct engine		*e = &engine_state;
	struct resolve		*r = arg;
	struct evutil_addrinfo	*ai;
	struct mesh_peer	*p;
	struct imsg_addr	 cand[MESH_MAX_CANDIDATES];
	size_t			 n = 0;

	if (r->gen != e->gen || e->in_reconf ||
	    (p = mesh_peer_find(&e->mesh, r->iface, r->peer)) == NULL)
		goto done;
	if (result != 0) {
		/*
		 * Keep what the last answer gave; try again later.  The
		 * reason the peer is not up says it (peerlog.c logs it).
		 */
		mesh_resolve_failed(&e->mesh, p,
		    e->peer_conf[p - e->mesh.peers].endpoint_host,
		    evutil_gai_strerror(result), now_seconds());
		goto done;
	}
	for (ai = res; ai != NULL && n < MESH_MAX_CANDIDATES;
	    ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    imsg_addr_from_sockaddr(&cand[n], ai->ai_addr) == -1)
			continue;
		cand[n].port = r->port;
		if (imsg_addr_is_endpoint(&cand[n]))
			n++;
	}
	mesh_candidates(&e->mesh, p, cand, n, ORIGIN_DNS, now_seconds());
 done:
	if (res != NULL)
		evutil_freeaddrinfo(res);
	free(r);
}

static void
engine_dispatch_parent(int fd, short event, void *arg)
{
	struct engine		*e = arg;
	struct imsgev		*iev = &e->iev_parent;
	struct imsg		 imsg;
	struct imsg_device_peer	 dp;
	struct mesh_peer	*p;
	struct ctl_result	 r;
	const char		*why;
	ssize_t			 n;

	if (imsgev_io(iev, event) == -1) {
		/* the parent went away: so do we */
		engine_exit(e);
	}
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("imsg_get from the parent");
		if (n == 0)
			break;
		if ((why = imsg_check(&imsg, PROC_PARENT)) != NULL)
			fatalx("%s", why);
		switch (imsg.hdr.type) {
		case IMSG_SOCKET_CONTROL:
			control_init(e->base, imsg_get_fd(&imsg));
			break;
		case IMSG_SOCKET_GOSSIP:
			engine_gossip_socket(e, &imsg);
			break;
		case IMSG_SOCKET_LAN:
			engine_lan_socket(e, &imsg);
			break;
		case IMSG_LAN_LINKS:
			engine_lan_links(e, &imsg);
			break;
		case IMSG_PAIR_KEY:
			engine_pair_key(e, &imsg);
			break;
		case IMSG_RECONF_BEGIN:
		case IMSG_RECONF_IFACE:
		case IMSG_RECONF_PEER:
		case IMSG_RECONF_END:
			engine_reconf(e, &imsg);
			break;
		case IMSG_DEVICE_PEER:
			imsg_payload(&imsg, &dp, sizeof(dp));
			/* reports for an older configuration are stale */
			if (imsg.hdr.peerid != e->gen || e->in_reconf)
				break;
			if ((p = mesh_peer_find(&e->mesh, dp.iface,
			    dp.peer)) == NULL)
				fatalx("IMSG_DEVICE_PEER: no peer %u/%u",
				    dp.iface, dp.peer);
			if ((dp.endpoint.af != 0 &&
			    dp.endpoint.af != AF_INET &&
			    dp.endpoint.af != AF_INET6) ||
			    (dp.endpoint.scope != 0 &&
			    !imsg_addr_is_link_local(&dp.endpoint)))
				fatalx("IMSG_DEVICE_PEER: bad family");
			if (dp.last_handshake < 0)
				fatalx("IMSG_DEVICE_PEER: handshake before "
				    "1970");
			mesh_device(&e->mesh, p, &dp, now_seconds());
			break;
		case IMSG_CTL_RESULT:
		case IMSG_CTL_END:
			imsg_payload(&imsg, &r, sizeof(r));
			r.text[sizeof(r.text) - 1] = '\0';
			control_relay(imsg.hdr.peerid, imsg.hdr.type, &r,
			    sizeof(r));
			break;
		default:
			fatalx("unexpected %s from the parent",
			    imsg_type_name(imsg.hdr.type));
		}
		imsg_free(&imsg);
	}
	/* what the reports changed, for all of them in one push */
	if (!e->in_reconf)
		mesh_flush(&e->mesh, now_seconds());
}

static void
engine_dispatch_storage(int fd, short event, void *arg)
{
	struct engine	*e = arg;
	struct imsgev	*iev = &e->iev_storage;
	struct imsg	 imsg;
	const char	*why;
	ssize_t		 n;

	if (imsgev_io(iev, event) == -1)
		fatalx("lost the storage process");
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("imsg_get from storage");
		if (n == 0)
			break;
		if ((why = imsg_check(&imsg, PROC_STORAGE)) != NULL)
			fatalx("%s", why);
		switch (imsg.hdr.type) {
		case IMSG_STATE_ENTRY:
			engine_state_entry(e, &imsg);
			break;
		case IMSG_STATE_LOADED:
			engine_state_loaded(e, &imsg);
			break;
		default:
			fatalx("unexpected %s from storage",
			    imsg_type_name(imsg.hdr.type));
		}
		imsg_free(&imsg);
	}
}

/* A change of a peer's state, for wgmeshctl monitor. */
static void
engine_peer_event(const struct mesh_peer *p, void *arg)
{
	struct engine		*e = arg;
	struct ctl_event	 ev;

	memset(&ev, 0, sizeof(ev));
	if (p->iface < e->nifaces)
		strlcpy(ev.ifname, e->ifaces[p->iface].ifname,
		    sizeof(ev.ifname));
	strlcpy(ev.name, p->name, sizeof(ev.name));
	strlcpy(ev.reason, p->reason, sizeof(ev.reason));
	ev.endpoint = p->device.endpoint;
	ev.at = p->state_since;
	ev.state = p->state;
	ev.previous = p->log_previous;
	control_event(&ev);
}

/*
 * The reason wgmeshctl shows: the handshake's age when up; otherwise
 * mesh.c's, and how long the pause after a failed round has left, when
 * that fits (the log says the reason alone, once).
 */
static void
engine_ctl_reason(const struct mesh_peer *p, char *buf, size_t len,
    int64_t now)
{
	char	retry[32];

	if (p->state == PEER_STATE_UP) {
		snprintf(buf, len, "handshake %llds ago",
		    (long long)(now - p->device.last_handshake));
		return;
	}
	if (p->state == PEER_STATE_UNREACHABLE && p->retry_at > now)
		snprintf(retry, sizeof(retry), "; retry in %llds",
		    (long long)(p->retry_at - now));
	else
		retry[0] = '\0';
	strlcpy(buf, p->reason, len);
	if (strlen(buf) + strlen(retry) < len)
		memcpy(buf + strlen(buf), retry, strlen(retry) + 1);
}

/* Answers for wgmeshctl, called by control.c. */
void
engine_ctl_peers(struct imsgev *iev, const char *name)
{
	struct engine		*e = &engine_state;
	struct mesh_peer	*p;
	const struct mesh_peer	*via;
	struct ctl_peer		 cp;
	size_t			 i;
	int64_t			 now = now_seconds();

	for (i = 0; i < e->mesh.npeers; i++) {
		p = &e->mesh.peers[i];
		if (name != NULL && strcmp(name, p->name) != 0)
			continue;
		memset(&cp, 0, sizeof(cp));
		if (p->iface < e->nifaces)
			strlcpy(cp.ifname, e->ifaces[p->iface].ifname,
			    sizeof(cp.ifname));
		strlcpy(cp.name, p->name, sizeof(cp.name));
		engine_ctl_reason(p, cp.reason, sizeof(cp.reason), now);
		memcpy(cp.public_key, p->public_key, WG_KEY_LEN);
		memcpy(cp.address, p->address, 16);
		cp.endpoint = p->device.endpoint;
		cp.last_handshake = p->device.last_handshake;
		cp.now = now;
		cp.rx_bytes = p->rx_total;
		cp.tx_bytes = p->tx_total;
		cp.endpoint_changes = p->endpoint_changes;
		cp.keepalive = p->keepalive;
		cp.origin = p->origin;
		cp.state = p->state;
		cp.path = mesh_peer_path(&e->mesh, p, now, &via);
		if (via != NULL) {
			strlcpy(cp.via, via->name, sizeof(cp.via));
			strlcpy(cp.path_why, p->trial_at != 0 ?
			    "trying a direct path" : p->relay_why,
			    sizeof(cp.path_why));
		}
		cp.flaps = p->flaps;
		cp.last_rx = p->rx_at;
		cp.up_since = p->up_since;
		cp.state_since = p->state_since;
		imsgev_compose(iev, IMSG_CTL_PEER, 0, -1, &cp, sizeof(cp));
	}
}

void
engine_ctl_ifaces(struct imsgev *iev)
{
	struct engine		*e = &engine_state;
	struct ctl_iface	 ci;
	size_t			 i, j;
	int64_t			 now = now_seconds();

	for (i = 0; i < e->nifaces; i++) {
		memset(&ci, 0, sizeof(ci));
		strlcpy(ci.ifname, e->ifaces[i].ifname, sizeof(ci.ifname));
		strlcpy(ci.node_name, e->ifaces[i].node_name,
		    sizeof(ci.node_name));
		strlcpy(ci.backend, e->ifaces[i].backend, sizeof(ci.backend));
		memcpy(ci.public_key, e->ifaces[i].public_key, WG_KEY_LEN);
		memcpy(ci.address, e->ifaces[i].address, 16);
		ci.npeers = e->ifaces[i].npeers;
		for (j = 0; j < e->mesh.npeers; j++)
			if (e->mesh.peers[j].iface == i &&
			    mesh_peer_is_up(&e->mesh.peers[j], now) &&
			    !mesh_peer_mismatch(&e->mesh.peers[j]))
				ci.npeers_up++;
		ci.listen_port = e->ifaces[i].listen_port;
		ci.keepalive = e->ifaces[i].keepalive;
		if (upnp_mapping(ci.ifname, &ci.upnp,
		    &ci.mapping_protocol) == -1) {
			memset(&ci.upnp, 0, sizeof(ci.upnp));
			ci.mapping_protocol = 0;
		}
		for (j = 0; e->mesh.relays != NULL &&
		    j < MESH_RELAY_PAIRS_MAX; j++)
			if (e->mesh.relays[j].used &&
			    e->mesh.relays[j].open == 2 &&
			    e->mesh.relays[j].iface == i)
				ci.relay_pairs++;
		strlcpy(ci.self_endpoint_host, e->ifaces[i].self_endpoint_host,
		    sizeof(ci.self_endpoint_host));
		ci.self_endpoint_port = e->ifaces[i].self_endpoint_port;
		ci.upnp_enabled = e->ifaces[i].upnp != 0;
		imsgev_compose(iev, IMSG_CTL_IFACE, 0, -1, &ci, sizeof(ci));
	}
}

/* struct gossip_counters has a field for each of gossip_open()'s verdicts. */
_Static_assert(GOSSIP_E_MAX == 9, "a gossip_result without a counter");

void
engine_ctl_counters(struct imsgev *iev)
{
	struct engine		*e = &engine_state;
	struct ctl_counters	 cc;

	memset(&cc, 0, sizeof(cc));
	cc.gossip = e->mesh.stats;
	cc.lan = e->lan.stats;
	cc.relay = e->relay_stats;
	imsgev_compose(iev, IMSG_CTL_COUNTERS, 0, -1, &cc, sizeof(cc));
}

void
engine_ctl_reload(uint32_t client)
{
	struct engine	*e = &engine_state;

	imsgev_compose(&e->iev_parent, IMSG_CTL_RELOAD, client, -1, NULL, 0);
}

void
engine_ctl_verbose(int verbose)
{
	struct engine		*e = &engine_state;
	struct ctl_log_verbose	 lv;

	log_setverbose(verbose);
	lv.level = verbose;
	imsgev_compose(&e->iev_parent, IMSG_CTL_LOG_VERBOSE, 0, -1, &lv,
	    sizeof(lv));
}

/*
 * wgmeshctl ping's peer: the one of that name (on that interface, if
 * one is named), up; otherwise NULL and why, with what to do.
 */
struct mesh_peer *
engine_ctl_ping_find(const struct ctl_ping *req, char *why, size_t len)
{
	struct engine		*e = &engine_state;
	struct mesh_peer	*p, *found = NULL;
	size_t			 i, nfound = 0, off;
	int			 n;

	if (e->in_reconf) {
		snprintf(why, len, "a reload is under way; try again");
		return (NULL);
	}
	if (req->ifname[0] != '\0') {
		for (i = 0; i < e->nifaces; i++)
			if (strcmp(e->ifaces[i].ifname, req->ifname) == 0)
				break;
		if (i == e->nifaces) {
			off = (size_t)snprintf(why, len, "no interface %s; "
			    "the interfaces:", req->ifname);
			for (i = 0; i < e->nifaces && off < len; i++) {
				n = snprintf(why + off, len - off, "%s %s",
				    i > 0 ? "," : "", e->ifaces[i].ifname);
				off += n < 0 ? len : (size_t)n;
			}
			return (NULL);
		}
	}
	for (i = 0; i < e->mesh.npeers; i++) {
		p = &e->mesh.peers[i];
		if (strcmp(p->name, req->name) != 0 || p->iface >= e->nifaces ||
		    (req->ifname[0] != '\0' &&
		    strcmp(e->ifaces[p->iface].ifname, req->ifname) != 0))
			continue;
		if (nfound++ == 0)
			found = p;
	}
	if (nfound > 1) {
		snprintf(why, len, "peer %s is on %zu interfaces: name one "
		    "with -I (wgmeshctl show peers %s lists them)", req->name,
		    nfound, req->name);
		return (NULL);
	}
	if (found == NULL) {
		/* the names it could have been, as many as fit */
		off = (size_t)snprintf(why, len, "no peer named %s%s%s; the "
		    "peers:", req->name, req->ifname[0] != '\0' ? " on " : "",
		    req->ifname);
		for (i = 0; i < e->mesh.npeers && off < len; i++) {
			p = &e->mesh.peers[i];
			if (p->iface >= e->nifaces ||
			    (req->ifname[0] != '\0' && strcmp(
			    e->ifaces[p->iface].ifname, req->ifname) != 0))
				continue;
			n = snprintf(why + off, len - off, "%s %s%s%s%s",
			    off > 0 && why[off - 1] != ':' ? "," : "",
			    p->name, e->nifaces > 1 ? " (" : "",
			    e->nifaces > 1 ? e->ifaces[p->iface].ifname : "",
			    e->nifaces > 1 ? ")" : "");
			off += n < 0 ? len : (size_t)n;
		}
		if (off >= len && len > 4)
			strlcpy(why + len - 4, "...", 4);
		return (NULL);
	}
	if (engine_ping_not_up(found, "is not up", why, len))
		return (NULL);
	return (found);
}

/*
 * Whether p is not up, and then why ("p on IFACE WHAT (state: reason)"
 * and what to do): a ping goes only through a tunnel that is there, and
 * a datagram into one that is not would start a handshake.
 */
static int
engine_ping_not_up(const struct mesh_peer *p, const char *what, char *why,
    size_t len)
{
	struct engine	*e = &engine_state;

	if (mesh_peer_is_up(p, now_seconds()))
		return (0);
	snprintf(why, len, "peer %s on %s %s (%s: %s); a ping needs its "
	    "tunnel (wgmeshctl show peers %s)", p->name,
	    p->iface < e->nifaces ? e->ifaces[p->iface].ifname : "?", what,
	    p->state == PEER_STATE_UP ? "just lost" :
	    peer_state_name(p->state), p->reason, p->name);
	return (1);
}

/*
 * A peer as a ping knows it from one probe to the next: the name of its
 * interface and its key, which a reload keeps while indexes change.
 */
void
engine_ping_peer_id(const struct mesh_peer *p, char *ifname, size_t len,
    uint8_t key[WG_KEY_LEN])
{
	struct engine	*e = &engine_state;

	if (p->iface < e->nifaces)
		strlcpy(ifname, e->ifaces[p->iface].ifname, len);
	else
		ifname[0] = '\0';
	memcpy(key, p->public_key, WG_KEY_LEN);
}

struct mesh_peer *
engine_ping_peer(const char *ifname, const uint8_t key[WG_KEY_LEN])
{
	struct engine	*e = &engine_state;
	size_t		 i;

	/* in a reconfiguration, the running one holds until its end */
	for (i = 0; i < e->nifaces; i++)
		if (strcmp(e->ifaces[i].ifname, ifname) == 0)
			return (mesh_peer_by_key(&e->mesh, (uint32_t)i, key));
	return (NULL);
}

/* The path p's traffic takes now, as show peers says it. */
void
engine_ping_describe(const struct mesh_peer *p, struct ctl_pong *pong)
{
	struct engine		*e = &engine_state;
	const struct mesh_peer	*via;

	pong->path = mesh_peer_path(&e->mesh, p, now_seconds(), &via);
	if (via != NULL)
		strlcpy(pong->via, via->name, sizeof(pong->via));
	pong->endpoint = p->device.endpoint;
}

/* A probe, if p is still up; -1 and why not otherwise. */
int
engine_ping_send(struct mesh_peer *p, uint32_t id, char *why, size_t len)
{
	struct engine	*e = &engine_state;

	if (engine_ping_not_up(p, "went down", why, len))
		return (-1);
	mesh_ping(&e->mesh, p, id);
	return (0);
}

/* mesh.c's hook: a ping's probe came back from p. */
static void
engine_pong(struct mesh_peer *p, uint32_t id, void *arg)
{
	control_pong(p, id);
}

/*
 * The parent is gone (a clean shutdown closes our pipe): the state goes
 * to the storage process once more, with the last seen times of now.
 */
static __dead void
engine_exit(struct engine *e)
{
	engine_state_save(e, 1);
	if (imsgbuf_flush(&e->iev_storage.ibuf) == -1)
		log_warn("state to the storage process");
	upnp_shutdown();
	exit(0);
}

/* upnp.c's callback: a mapping made or lost, gossiped as our endpoint. */
static void
engine_upnp_endpoint(uint32_t iface, const uint8_t key[WG_KEY_LEN],
    const struct imsg_addr *addr, void *arg)
{
	struct engine	*e = arg;

	if (iface >= e->nifaces || e->in_reconf)
		return;
	if (mesh_self_endpoint(&e->mesh, iface, key, ORIGIN_UPNP, addr) == -1)
		log_warnx("%s: UPnP endpoint: out of memory",
		    e->ifaces[iface].ifname);
}

/* mesh.c's send callback: seal for the peer, into the tunnel. */
static void
engine_send(struct mesh_peer *p, uint8_t type, const uint8_t *payload,
    size_t len, void *arg)
{
	struct engine		*e = arg;
	struct sockaddr_in6	 sin6;
	uint8_t			 out[GOSSIP_MAX_DATAGRAM_BYTES];
	ssize_t			 n;
	size_t			 i;

	if (p->pair == NULL || p->iface >= e->nifaces)
		return;
	for (i = 0; i < e->ngsocks; i++)
		if (strcmp(e->gsocks[i].ifname,
		    e->ifaces[p->iface].ifname) == 0)
			break;
	if (i == e->ngsocks)
		return;
	if ((n = gossip_seal(p->pair, type, payload, len, realtime_us(), out,
	    sizeof(out))) == -1) {
		log_warnx("peer %s: cannot seal a gossip datagram", p->name);
		return;
	}
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(e->ifaces[p->iface].gossip_port);
	memcpy(&sin6.sin6_addr, p->control, 16);
	if (sendto(e->gsocks[i].fd, out, (size_t)n, 0,
	    (struct sockaddr *)&sin6, sizeof(sin6)) == -1 && errno != EAGAIN)
		log_debug("peer %s: gossip: %s", p->name, strerror(errno));
}

/*
 * Datagrams on an interface's gossip socket.  WireGuard's allowed-ips
 * make the source address name the peer; the pair key proves it.  What
 * fails a check is counted and dropped, never answered.  A bounded number
 * per wakeup, so that a flood cannot starve the rest of the loop.
 */
static void
engine_gossip_read(int fd, short event, void *arg)
{
	struct engine		*e = &engine_state;
	struct gossip_sock	*gs = arg;
	struct sockaddr_in6	 from;
	socklen_t		 fromlen;
	struct mesh_peer	*p;
	uint8_t			 buf[GOSSIP_MAX_DATAGRAM_BYTES + 1];
	uint8_t			 pt[GOSSIP_MAX_PAYLOAD_BYTES];
	uint8_t			 type;
	size_t			 ptlen;
	ssize_t			 n;
	uint32_t		 iface;
	int			 i, r;

	for (iface = 0; iface < e->nifaces; iface++)
		if (strcmp(e->ifaces[iface].ifname, gs->ifname) == 0)
			break;
	for (i = 0; i < 64; i++) {
		fromlen = sizeof(from);
		if ((n = recvfrom(fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &fromlen)) == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("%s: gossip socket", gs->ifname);
			return;
		}
		if (iface == e->nifaces || e->in_reconf) {
			/* or an interface now gone */
			e->mesh.stats.drop_reconf++;
			continue;
		}
		/* another node's engine_poke(), let through by its handshake */
		if (n == 0 && fromlen == sizeof(from) &&
		    from.sin6_family == AF_INET6 && mesh_peer_by_control(
		    &e->mesh, iface, from.sin6_addr.s6_addr) != NULL) {
			e->mesh.stats.rx_poke++;
			continue;
		}
		if (fromlen != sizeof(from) || from.sin6_family != AF_INET6 ||
		    ntohs(from.sin6_port) != e->ifaces[iface].gossip_port ||
		    (p = mesh_peer_by_control(&e->mesh, iface,
		    from.sin6_addr.s6_addr)) == NULL) {
			e->mesh.stats.drop_nopeer++;
			continue;
		}
		if (p->pair == NULL) {
			e->mesh.stats.drop_nokey++;
			continue;
		}
		r = gossip_open(p->pair, buf, (size_t)n, realtime_us(), &type, pt,
		    sizeof(pt), &ptlen);
		if (r != GOSSIP_OK) {
			(*gossip_result_counter(&e->mesh.stats, r))++;
			log_debug("peer %s: gossip dropped: %s", p->name,
			    gossip_result_name(r));
			continue;
		}
		if (mesh_receive(&e->mesh, p, type, pt, ptlen,
		    now_seconds()) == -1)
			log_debug("peer %s: malformed gossip (type %u)",
			    p->name, type);
	}
}

/* IMSG_SOCKET_GOSSIP: a socket for a configured interface. */
static void
engine_gossip_socket(struct engine *e, struct imsg *imsg)
{
	struct imsg_socket_gossip	 sg;
	struct gossip_sock		*gs, *ngs;
	size_t				 i, j;
	int				 fd;

	imsg_payload(imsg, &sg, sizeof(sg));
	if (memchr(sg.ifname, '\0', sizeof(sg.ifname)) == NULL)
		fatalx("IMSG_SOCKET_GOSSIP: unterminated name");
	for (i = 0; i < e->nifaces; i++)
		if (strcmp(e->ifaces[i].ifname, sg.ifname) == 0)
			break;
	if (i == e->nifaces || e->in_reconf)
		fatalx("IMSG_SOCKET_GOSSIP: %s is not configured", sg.ifname);
	fd = imsg_get_fd(imsg);
	for (i = 0; i < e->ngsocks; i++)
		if (strcmp(e->gsocks[i].ifname, sg.ifname) == 0)
			break;
	if (i == e->ngsocks) {
		if ((ngs = reallocarray(e->gsocks, e->ngsocks + 1,
		    sizeof(*ngs))) == NULL)
			fatal("gossip sockets");
		e->gsocks = ngs;
		e->ngsocks++;
		memset(&e->gsocks[i], 0, sizeof(e->gsocks[i]));
		/* the events point into the array: make them anew */
		for (j = 0; j < i; j++) {
			event_free(e->gsocks[j].ev);
			if ((e->gsocks[j].ev = event_new(e->base,
			    e->gsocks[j].fd, EV_READ | EV_PERSIST,
			    engine_gossip_read, &e->gsocks[j])) == NULL ||
			    event_add(e->gsocks[j].ev, NULL) == -1)
				fatalx("gossip event");
		}
	} else {
		event_free(e->gsocks[i].ev);
		close(e->gsocks[i].fd);
	}
	gs = &e->gsocks[i];
	strlcpy(gs->ifname, sg.ifname, sizeof(gs->ifname));
	gs->fd = fd;
	if ((gs->ev = event_new(e->base, fd, EV_READ | EV_PERSIST,
	    engine_gossip_read, gs)) == NULL || event_add(gs->ev, NULL) == -1)
		fatalx("gossip event");
}

/* IMSG_SOCKET_LAN: the LAN discovery socket of a gossip port. */
static void
engine_lan_socket(struct engine *e, struct imsg *imsg)
{
	struct imsg_socket_lan	sl;

	imsg_payload(imsg, &sl, sizeof(sl));
	if (sl.port == 0 || (sl.af != AF_INET && sl.af != AF_INET6) ||
	    e->in_reconf)
		fatalx("invalid IMSG_SOCKET_LAN");
	lan_socket(&e->lan, imsg_get_fd(imsg), sl.port, sl.af);
}

/* IMSG_LAN_LINKS: where IPv6 beacons go out from now on. */
static void
engine_lan_links(struct engine *e, struct imsg *imsg)
{
	struct imsg_lan_links	ll;
	size_t			i;

	imsg_payload(imsg, &ll, sizeof(ll));
	if (ll.nlinks > IMSG_LAN_LINKS_MAX)
		fatalx("invalid IMSG_LAN_LINKS");
	for (i = 0; i < ll.nlinks; i++)
		if (ll.ifindex[i] == 0)
			fatalx("IMSG_LAN_LINKS: interface index 0");
	lan_links(&e->lan, ll.ifindex, ll.nlinks);
}

/* Sockets of interfaces no longer configured are closed. */
static void
engine_gossip_prune(struct engine *e)
{
	size_t	i, j, k;

	for (i = 0; i < e->ngsocks; ) {
		for (j = 0; j < e->nifaces; j++)
			if (strcmp(e->ifaces[j].ifname,
			    e->gsocks[i].ifname) == 0)
				break;
		if (j < e->nifaces) {
			i++;
			continue;
		}
		event_free(e->gsocks[i].ev);
		close(e->gsocks[i].fd);
		for (k = i; k + 1 < e->ngsocks; k++) {
			e->gsocks[k] = e->gsocks[k + 1];
			event_free(e->gsocks[k].ev);
			if ((e->gsocks[k].ev = event_new(e->base,
			    e->gsocks[k].fd, EV_READ | EV_PERSIST,
			    engine_gossip_read, &e->gsocks[k])) == NULL ||
			    event_add(e->gsocks[k].ev, NULL) == -1)
				fatalx("gossip event");
		}
		e->ngsocks--;
	}
}

/* IMSG_PAIR_KEY: a peer's gossip key, for the current generation. */
static void
engine_pair_key(struct engine *e, struct imsg *imsg)
{
	struct imsg_pair_key	 pk;
	struct mesh_peer	*p;
	struct gossip_pair	*gp;

	imsg_payload(imsg, &pk, sizeof(pk));
	if (imsg->hdr.peerid != e->gen || e->in_reconf) {
		sodium_memzero(&pk, sizeof(pk));
		return;		/* for a configuration since replaced */
	}
	if ((p = mesh_peer_find(&e->mesh, pk.iface, pk.peer)) == NULL ||
	    pk.iface >= e->nifaces)
		fatalx("IMSG_PAIR_KEY: no peer %u/%u", pk.iface, pk.peer);
	/* the same key keeps the counters seen: no replay after a reload */
	if (p->pair != NULL && sodium_memcmp(p->pair->key, pk.key,
	    sizeof(pk.key)) == 0) {
		sodium_memzero(&pk, sizeof(pk));
		return;
	}
	if ((gp = malloc(sizeof(*gp))) == NULL)
		fatal("pair key");
	if (gossip_pair_init(gp, pk.key, e->ifaces[pk.iface].public_key,
	    p->public_key) == -1)
		fatalx("IMSG_PAIR_KEY: peer %s has our public key", p->name);
	sodium_memzero(&pk, sizeof(pk));
	if (p->pair != NULL) {
		gossip_pair_clear(p->pair);
		free(p->pair);
	}
	p->pair = gp;
}

static struct saved_state *
engine_saved(struct engine *e, const char *ifname, int create)
{
	struct saved_state	*ns;
	size_t			 i;

	for (i = 0; i < e->nsaved; i++)
		if (strcmp(e->saved[i].ifname, ifname) == 0)
			return (&e->saved[i]);
	if (!create)
		return (NULL);
	if ((ns = reallocarray(e->saved, e->nsaved + 1, sizeof(*ns))) == NULL)
		fatal("state");
	e->saved = ns;
	memset(&ns[e->nsaved], 0, sizeof(ns[0]));
	strlcpy(ns[e->nsaved].ifname, ifname, sizeof(ns[0].ifname));
	return (&e->saved[e->nsaved++]);
}

/* After a configuration: each interface's state file, once. */
static void
engine_state_load(struct engine *e)
{
	struct imsg_state_iface	 si;
	struct saved_state	*ss;
	size_t			 i;

	for (i = 0; i < e->nifaces; i++) {
		if (engine_saved(e, e->ifaces[i].ifname, 0) != NULL)
			continue;
		ss = engine_saved(e, e->ifaces[i].ifname, 1);
		ss->loading = 1;
		memset(&si, 0, sizeof(si));
		strlcpy(si.ifname, ss->ifname, sizeof(si.ifname));
		imsgev_compose(&e->iev_storage, IMSG_STATE_LOAD, 0, -1, &si,
		    sizeof(si));
	}
}

static void
engine_state_entry(struct engine *e, struct imsg *imsg)
{
	struct imsg_state_entry	 se;
	struct saved_state	*ss;
	struct mesh_peer	*p;
	size_t			 i;

	imsg_payload(imsg, &se, sizeof(se));
	if (memchr(se.ifname, '\0', sizeof(se.ifname)) == NULL)
		fatalx("IMSG_STATE_ENTRY: unterminated interface name");
	if ((ss = engine_saved(e, se.ifname, 0)) == NULL || !ss->loading)
		fatalx("IMSG_STATE_ENTRY: %s was not asked for", se.ifname);
	if (!imsg_addr_is_endpoint(&se.endpoint) || se.endpoint.scope != 0 ||
	    se.last_seen <= 0)
		fatalx("IMSG_STATE_ENTRY: not an endpoint");
	ss->nloaded++;
	if (e->in_reconf)
		return;
	for (i = 0; i < e->nifaces; i++)
		if (strcmp(e->ifaces[i].ifname, se.ifname) == 0)
			break;
	/* a peer no longer configured is forgotten at the next save */
	if (i == e->nifaces ||
	    (p = mesh_peer_by_key(&e->mesh, i, se.public_key)) == NULL)
		return;
	mesh_persisted(&e->mesh, p, &se.endpoint, se.last_seen,
	    now_seconds());
}

static void
engine_state_loaded(struct engine *e, struct imsg *imsg)
{
	struct imsg_state_iface	 si;
	struct saved_state	*ss;

	imsg_payload(imsg, &si, sizeof(si));
	if (memchr(si.ifname, '\0', sizeof(si.ifname)) == NULL)
		fatalx("IMSG_STATE_LOADED: unterminated interface name");
	if ((ss = engine_saved(e, si.ifname, 0)) == NULL || !ss->loading ||
	    si.nentries != ss->nloaded)
		fatalx("IMSG_STATE_LOADED: %s: unexpected", si.ifname);
	ss->loading = 0;
	log_debug("%s: %u endpoints from the state file", si.ifname,
	    si.nentries);
}

/*
 * What is worth remembering of iface's peers: where each one was last up
 * and, until it comes back, the newest endpoint the state file had for
 * it (else a run in which a peer stays away would forget it).  At most
 * max; returns how many are in se.
 */
static size_t
engine_state_entries(struct engine *e, uint32_t iface,
    struct imsg_state_entry *se, size_t max, int64_t now)
{
	struct mesh_peer	*p;
	const struct mesh_obs	*po;
	size_t			 j, k, n = 0;

	for (j = 0; j < e->mesh.npeers && n < max; j++) {
		p = &e->mesh.peers[j];
		if (p->iface != iface)
			continue;
		/*
		 * Not a link-local address: its scope is an interface
		 * index, which may name another link after a restart.
		 */
		if (p->learned.af != 0 && p->learned.scope == 0) {
			memset(&se[n], 0, sizeof(se[n]));
			memcpy(se[n].public_key, p->public_key, WG_KEY_LEN);
			se[n].endpoint = p->learned;
			se[n].last_seen = mesh_peer_is_up(p, now) ? now :
			    p->learned_at;
			if (se[n].last_seen <= 0)
				se[n].last_seen = now;
			se[n].origin = ORIGIN_OBSERVED;
			n++;
		}
		po = NULL;
		for (k = 0; k < p->npersisted; k++)
			if (po == NULL ||
			    p->persisted[k].observed > po->observed)
				po = &p->persisted[k];
		if (po == NULL || n == max ||
		    imsg_addr_equal(&po->addr, &p->learned) ||
		    (p->learned.af != 0 && p->learned_at >= po->observed))
			continue;
		memset(&se[n], 0, sizeof(se[n]));
		memcpy(se[n].public_key, p->public_key, WG_KEY_LEN);
		se[n].endpoint = po->addr;
		se[n].last_seen = po->observed;
		se[n].origin = ORIGIN_PERSISTED;
		n++;
	}
	return (n);
}

/*
 * Each interface's known endpoints go to the storage process when they
 * change (it writes them coalesced), and once more at exit ("final"),
 * with the peers that are up seen now.
 */
static void
engine_state_save(struct engine *e, int final)
{
	struct imsg_state_entry	*se;
	struct imsg_state_iface	 si;
	struct saved_state	*ss;
	crypto_generichash_state h;
	uint8_t			 digest[crypto_generichash_BYTES];
	size_t			 i, j, n, max;
	int64_t			 now = now_seconds();

	if (e->in_reconf)
		return;
	/*
	 * The storage process refuses more than a file may hold; with no
	 * peers an interface's file is still saved, empty.
	 */
	max = e->mesh.npeers < STATEFILE_ENTRIES_MAX / 2 ?
	    2 * e->mesh.npeers + 1 : STATEFILE_ENTRIES_MAX;
	if ((se = calloc(max, sizeof(*se))) == NULL) {
		log_warn("state");
		return;		/* saved at the next tick */
	}
	for (i = 0; i < e->nifaces; i++) {
		if ((ss = engine_saved(e, e->ifaces[i].ifname, 0)) == NULL ||
		    ss->loading)
			continue;
		n = engine_state_entries(e, i, se, max, now);
		/* what would be written, less the times, decides */
		crypto_generichash_init(&h, NULL, 0, sizeof(digest));
		for (j = 0; j < n; j++) {
			crypto_generichash_update(&h, se[j].public_key,
			    WG_KEY_LEN);
			crypto_generichash_update(&h,
			    (const uint8_t *)&se[j].endpoint,
			    sizeof(se[j].endpoint));
			crypto_generichash_update(&h, &se[j].origin, 1);
		}
		crypto_generichash_final(&h, digest, sizeof(digest));
		if (!final && memcmp(digest, ss->digest, sizeof(digest)) == 0)
			continue;
		memcpy(ss->digest, digest, sizeof(digest));
		for (j = 0; j < n; j++) {
			strlcpy(se[j].ifname, ss->ifname,
			    sizeof(se[j].ifname));
			imsgev_compose(&e->iev_storage, IMSG_STATE_ENTRY, 0,
			    -1, &se[j], sizeof(se[j]));
		}
		memset(&si, 0, sizeof(si));
		strlcpy(si.ifname, ss->ifname, sizeof(si.ifname));
		si.nentries = n;
		imsgev_compose(&e->iev_storage, IMSG_STATE_SAVE, 0, -1, &si,
		    sizeof(si));
	}
	free(se);
}

/*
 * The relay process: the engine's side of its pipe.  What to relay, and
 * when, is decided in mesh.c (engine_relay_op()); here are the requests,
 * composed, and the relay's answers and reports, checked and kept per
 * pair.
 */

/* -1: no relay process, or the id is in use. */
int
engine_relay_open(uint32_t id, uint32_t iface, const uint8_t key[2][32],
    const struct imsg_addr expect[2])
{
	struct engine		*e = &engine_state;
	struct imsg_relay_open	 ro;

	if (!e->has_relay || id >= RELAY_PAIRS_MAX ||
	    e->relay_pairs[id].status != ENGINE_RELAY_FREE)
		return (-1);
	memset(&ro, 0, sizeof(ro));
	ro.id = id;
	ro.iface = iface;
	memcpy(ro.public_key, key, sizeof(ro.public_key));
	memcpy(ro.expect, expect, sizeof(ro.expect));
	memset(&e->relay_pairs[id], 0, sizeof(e->relay_pairs[id]));
	e->relay_pairs[id].status = ENGINE_RELAY_OPENING;
	imsgev_compose(&e->iev_relay, IMSG_RELAY_OPEN, 0, -1, &ro,
	    sizeof(ro));
	return (0);
}

/* A pair OPEN was sent for, or fatal: the engine's own mistake. */
static struct engine_relay_pair *
engine_relay_used(uint32_t id, const char *what)
{
	if (id >= RELAY_PAIRS_MAX ||
	    engine_state.relay_pairs[id].status == ENGINE_RELAY_FREE ||
	    engine_state.relay_pairs[id].status == ENGINE_RELAY_CLOSING)
		fatalx("%s: relay pair %u is not open", what, id);
	return (&engine_state.relay_pairs[id]);
}

void
engine_relay_expect(uint32_t id, const struct imsg_addr expect[2])
{
	struct imsg_relay_expect re;

	engine_relay_used(id, __func__);
	memset(&re, 0, sizeof(re));
	re.id = id;
	memcpy(re.expect, expect, sizeof(re.expect));
	imsgev_compose(&engine_state.iev_relay, IMSG_RELAY_EXPECT, 0, -1, &re,
	    sizeof(re));
}

/* ms: at most RELAY_PAUSE_MAX_MS; 0 ends a pause */
void
engine_relay_pause(uint32_t id, uint32_t ms)
{
	struct imsg_relay_pause	 rp;

	engine_relay_used(id, __func__);
	rp.id = id;
	rp.ms = ms > RELAY_PAUSE_MAX_MS ? RELAY_PAUSE_MAX_MS : ms;
	imsgev_compose(&engine_state.iev_relay, IMSG_RELAY_PAUSE, 0, -1, &rp,
	    sizeof(rp));
}

/*
 * Also for a pair whose OPEN failed, or is not answered yet: then the
 * CLOSE waits for the answer, and goes only if the pair did open.
 */
void
engine_relay_close(uint32_t id)
{
	struct engine_relay_pair *p = engine_relay_used(id, __func__);
	struct imsg_relay_close	 rc;
	int			 opened;

	if (p->status == ENGINE_RELAY_OPENING) {
		p->status = ENGINE_RELAY_CLOSING;
		return;
	}
	/* an OPEN the relay refused left nothing there to close */
	opened = p->opened.error == 0;
	memset(p, 0, sizeof(*p));
	if (!opened)
		return;
	rc.id = id;
	imsgev_compose(&engine_state.iev_relay, IMSG_RELAY_CLOSE, 0, -1, &rc,
	    sizeof(rc));
}

static void
engine_dispatch_relay(int fd, short event, void *arg)
{
	struct engine	*e = arg;
	struct imsgev	*iev = &e->iev_relay;
	struct imsg	 imsg;
	const char	*why;
	ssize_t		 n;

	if (imsgev_io(iev, event) == -1)
		fatalx("lost the relay process");
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("imsg_get from the relay process");
		if (n == 0)
			break;
		if ((why = imsg_check(&imsg, PROC_RELAY)) != NULL)
			fatalx("%s", why);
		switch (imsg.hdr.type) {
		case IMSG_RELAY_OPENED:
			engine_relay_opened(e, &imsg);
			break;
		case IMSG_RELAY_STATE:
			engine_relay_state(e, &imsg);
			break;
		case IMSG_RELAY_COUNTERS:
			imsg_payload(&imsg, &e->relay_stats,
			    sizeof(e->relay_stats));
			break;
		default:
			fatalx("unexpected %s from the relay process",
			    imsg_type_name(imsg.hdr.type));
		}
		imsg_free(&imsg);
	}
}

/*
 * The answer to an OPEN, the one unanswered OPEN of its id (an id is
 * not reused until its answer has come); for a pair closed meanwhile,
 * the CLOSE follows now.
 */
static void
engine_relay_opened(struct engine *e, struct imsg *imsg)
{
	struct imsg_relay_opened ro;
	struct engine_relay_pair *p;

	imsg_payload(imsg, &ro, sizeof(ro));
	if (ro.id >= RELAY_PAIRS_MAX)
		fatalx("IMSG_RELAY_OPENED: id %u", ro.id);
	if (ro.error != 0 && ro.error != ENOSPC && ro.error != EEXIST)
		fatalx("IMSG_RELAY_OPENED: error %d", ro.error);
	if (ro.error == 0 && (ro.port[0] == 0 || ro.port[1] == 0 ||
	    ro.port[0] == ro.port[1]))
		fatalx("IMSG_RELAY_OPENED: ports %u and %u", ro.port[0],
		    ro.port[1]);
	p = &e->relay_pairs[ro.id];
	if (p->status != ENGINE_RELAY_OPENING &&
	    p->status != ENGINE_RELAY_CLOSING)
		fatalx("IMSG_RELAY_OPENED: pair %u was not opened", ro.id);
	p->opened = ro;
	if (p->status == ENGINE_RELAY_CLOSING) {
		p->status = ENGINE_RELAY_OPEN;
		engine_relay_close(ro.id);
		return;
	}
	p->status = ENGINE_RELAY_OPEN;
	if (ro.error != 0)
		memset(p, 0, sizeof(*p));	/* nothing there to close */
	mesh_relay_opened(&e->mesh, ro.id, ro.port, ro.error, now_seconds());
	mesh_flush(&e->mesh, now_seconds());
}

/*
 * What mesh.c decided for a pair this node relays (rule 18), to the
 * relay process: a pair's ends are expected where this node's device
 * has them, their addresses alone compared (a NAT that maps each
 * destination anew keeps the address).
 */
static void
engine_relay_op(enum mesh_relay_op op, const struct mesh_relay *rp,
    const struct mesh_peer *a, const struct mesh_peer *b, void *arg)
{
	uint8_t			 key[2][32];
	struct imsg_addr	 expect[2];
	static const uint16_t	 none[2];

	switch (op) {
	case MESH_RELAY_OPEN:
		memcpy(key[0], a->public_key, sizeof(key[0]));
		memcpy(key[1], b->public_key, sizeof(key[1]));
		expect[0] = a->device.endpoint;
		expect[1] = b->device.endpoint;
		if (engine_relay_open(rp->id, rp->iface, key, expect) == -1)
			mesh_relay_opened(&engine_state.mesh, rp->id, none,
			    EEXIST, now_seconds());
		break;
	case MESH_RELAY_PAUSE:
		engine_relay_pause(rp->id, (MESH_TRIAL_SECONDS + 1) * 1000);
		break;
	case MESH_RELAY_CLOSE:
		engine_relay_close(rp->id);
		break;
	}
}

static void
engine_relay_state(struct engine *e, struct imsg *imsg)
{
	struct imsg_relay_state	 rs;
	struct engine_relay_pair *p;
	size_t			 i, n = imsg_get_len(imsg) / sizeof(rs);
	uint8_t			 buf[RELAY_STATE_MSG_MAX * sizeof(rs)];

	imsg_payload(imsg, buf, n * sizeof(rs));
	for (i = 0; i < n; i++) {
		memcpy(&rs, buf + i * sizeof(rs), sizeof(rs));
		if (rs.id >= RELAY_PAIRS_MAX)
			fatalx("IMSG_RELAY_STATE: id %u", rs.id);
		/* a report that crossed a CLOSE */
		p = &e->relay_pairs[rs.id];
		if (p->status != ENGINE_RELAY_OPEN)
			continue;
		p->state = rs;
		p->has_state = 1;
	}
}
