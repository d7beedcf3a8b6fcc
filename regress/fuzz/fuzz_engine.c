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
 * control socket with and without a descriptor.  engine.c and control.c
 * are included, so that the state can be reset for every input.  Host
 * names are not looked up: evdns_getaddrinfo() is replaced, and the
 * input answers, as evdns would (an error, or any number of addresses):
 * each lookup takes the next input byte, wherever the engine makes it,
 * and is answered at once when that byte is odd, by an "answer"
 * operation otherwise.  The clock is the input's too.
 *
 * Input: a flags byte
 *	bit 0		start configured (fuzz_send_conf())
 *	bit 1		start with the control socket
 *	bit 2		with a control client connected, so that answers
 *			relayed from the parent reach one
 *	bits 3-4	verbosity
 * then operations, each an op byte and what it needs:
 *	bits 0-4	0 to IMSG_TYPE_MAX - 1: a message of that type from
 *			the parent; 22: of a type of four bytes; 23: from
 *			storage, type the next byte; 24: the clock moves on
 *			(a byte of seconds) and the engine ticks; 25: a
 *			lookup is answered; 26: a well-formed configuration;
 *			more of the messages that matter most: 27:
 *			RECONF_PEER, 28-29: DEVICE_PEER, 30: RECONF_IFACE,
 *			31: CTL_END
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
 * npeers - 1, once each.
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
#include "fuzz_daemon.h"

static time_t	 fuzz_time(time_t *);
static struct evdns_getaddrinfo_request *fuzz_getaddrinfo(
		    struct evdns_base *, const char *, const char *,
		    const struct evutil_addrinfo *, evdns_getaddrinfo_cb,
		    void *);
static int	 fuzz_imsgev_compose(struct imsgev *, uint32_t, uint32_t, int,
		    const void *, size_t);

#define imsg_get		fuzz_imsg_get
#define imsg_free		fuzz_imsg_free
#define time			fuzz_time
#define evdns_getaddrinfo	fuzz_getaddrinfo
#define imsgev_compose		fuzz_imsgev_compose
#include "../../wgmeshd/engine.c"
#include "../../wgmeshd/control.c"
#undef imsgev_compose
#undef time

#define FUZZ_MAXOPS	256
#define FUZZ_LOOKUPS	32
#define FUZZ_CLOCK	1700000000

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct lookup {
	evdns_getaddrinfo_cb	 cb;
	void			*arg;
};

static int	 deliver(struct fuzz_pipe *);
static int	 settle(struct fuzz_pipe *);
static void	 check_conf(void);
static void	 check_to_parent(uint32_t, uint32_t, int, const void *,
		    size_t);
static void	 check_to_client(uint32_t, int, const void *, size_t);
static size_t	 payload(struct fuzz_in *, uint32_t, uint8_t *);
static struct evutil_addrinfo *addrinfo(struct fuzz_in *, int *);
static int	 answer(struct fuzz_in *);
static int	 tick(struct fuzz_in *);
static void	 client_connect(void);
static void	 reset(int);

static struct fuzz_pipe	 pp, ps;	/* from the parent, storage */
static struct lookup	 lookups[FUZZ_LOOKUPS];
static size_t		 nlookups;
static time_t		 fuzz_clock;
static struct fuzz_in	*fuzz_input;	/* for answers given at once */
static int		 listen_fd = -1, client_fd = -1;
static struct sockaddr_un listen_sun;
static struct mesh_peer	*checked;	/* the configuration checked */

/* the sandbox is sandbox.c's business; never reached here */
void
privdrop(const char *user, const char *dir)
{
	fuzz_fail("privdrop");
}

void
sandbox_engine(void)
{
	fuzz_fail("sandbox_engine");
}

static time_t
fuzz_time(time_t *t)
{
	if (t != NULL)
		*t = fuzz_clock;
	return (fuzz_clock);
}

/*
 * A lookup: answered at once, as evdns does from /etc/hosts or when it
 * cannot even ask, or left in flight for an "answer" operation.
 */
static struct evdns_getaddrinfo_request *
fuzz_getaddrinfo(struct evdns_base *base, const char *node,
    const char *service, const struct evutil_addrinfo *hints,
    evdns_getaddrinfo_cb cb, void *arg)
{
	struct evutil_addrinfo	*res;
	int			 result;

	if (nlookups < FUZZ_LOOKUPS && (fuzz_u8(fuzz_input) & 1) == 0) {
		lookups[nlookups].cb = cb;
		lookups[nlookups].arg = arg;
		/* the engine does not look at it */
		return ((struct evdns_getaddrinfo_request *)
		    &lookups[nlookups++]);
	}
	res = addrinfo(fuzz_input, &result);
	cb(result, res, arg);
	return (NULL);
}

static int
fuzz_imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid,
    int fd, const void *data, size_t len)
{
	struct engine	*e = &engine_state;

	if (iev == &e->iev_parent)
		check_to_parent(type, peerid, fd, data, len);
	else if (iev != &e->iev_storage)
		check_to_client(type, fd, data, len);
	return (imsgev_compose(iev, type, peerid, fd, data, len));
}

/* What the parent would refuse, and die of. */
static void
check_to_parent(uint32_t type, uint32_t peerid, int fd, const void *data,
    size_t len)
{
	struct engine			*e = &engine_state;
	struct imsg_set_endpoint	 req;
	int				 v;

	if (fd != -1)
		fuzz_fail("%s to the parent with a descriptor",
		    imsg_type_name(type));
	switch (type) {
	case IMSG_SET_ENDPOINT:
		if (len != sizeof(req))
			fuzz_fail("IMSG_SET_ENDPOINT: %zu bytes", len);
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
		break;
	case IMSG_CTL_RELOAD:
		if (len != 0 || peerid == 0)
			fuzz_fail("IMSG_CTL_RELOAD: %zu bytes, client %u", len,
			    peerid);
		break;
	case IMSG_CTL_LOG_VERBOSE:
		if (len != sizeof(v))
			fuzz_fail("IMSG_CTL_LOG_VERBOSE: %zu bytes", len);
		memcpy(&v, data, sizeof(v));
		if (v < 0 || v > 2)
			fuzz_fail("IMSG_CTL_LOG_VERBOSE %d", v);
		break;
	default:
		fuzz_fail("%s to the parent", imsg_type_name(type));
	}
}

/* What wgmeshctl is promised. */
static void
check_to_client(uint32_t type, int fd, const void *data, size_t len)
{
	const struct ctl_result	*r = data;

	if (fd != -1)
		fuzz_fail("%s to a client with a descriptor",
		    imsg_type_name(type));
	switch (type) {
	case IMSG_CTL_RESULT:
	case IMSG_CTL_END:
		if (len != sizeof(*r) ||
		    memchr(r->text, '\0', sizeof(r->text)) == NULL)
			fuzz_fail("%s to a client: %zu bytes, or no NUL",
			    imsg_type_name(type), len);
		break;
	case IMSG_CTL_PEER:
		if (len != sizeof(struct ctl_peer))
			fuzz_fail("IMSG_CTL_PEER: %zu bytes", len);
		break;
	case IMSG_CTL_IFACE:
		if (len != sizeof(struct ctl_iface))
			fuzz_fail("IMSG_CTL_IFACE: %zu bytes", len);
		break;
	default:
		fuzz_fail("%s to a client", imsg_type_name(type));
	}
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

/* Lets the engine read until the pipe is empty; -1 after fatal(). */
static int
deliver(struct fuzz_pipe *fp)
{
	struct engine	*e = &engine_state;
	struct imsgev	*iev;
	int		 avail, rounds;

	iev = fp == &pp ? &e->iev_parent : &e->iev_storage;
	for (rounds = 0; rounds < 64; rounds++) {
		fuzz_pipe_pending(fp);
		if (setjmp(fuzz_jmp) != 0) {
			fuzz_imsg_forget(1);
			return (-1);
		}
		if (fp == &pp)
			engine_dispatch_parent(iev->ibuf.fd, EV_READ, e);
		else
			engine_dispatch_storage(iev->ibuf.fd, EV_READ, e);
		fuzz_imsg_forget(0);
		if (ioctl(iev->ibuf.fd, FIONREAD, &avail) == -1)
			fuzz_fail("FIONREAD: %s", strerror(errno));
		if (avail == 0 && imsgbuf_queuelen(&fp->ibuf) == 0)
			return (0);
	}
	fuzz_fail("the pipe does not drain");
}

static int
settle(struct fuzz_pipe *fp)
{
	struct engine	*e = &engine_state;

	if (deliver(fp) == -1)
		return (-1);
	check_conf();
	/* looked at when queued; nobody reads them here */
	fuzz_queue_drop(&e->iev_parent.ibuf);
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
	struct ctl_result	 r;
	uint32_t		 gen;
	uint8_t			 sel;
	int			 v;

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
	default:
		return (0);
	}
}

/*
 * An answer as evdns gives it: an error and no list, or a list of any
 * length of addresses of both families (glibc's, from numeric hosts, so
 * that evutil_freeaddrinfo() can free it), sometimes of a family that
 * evdns would not give.
 */
static struct evutil_addrinfo *
addrinfo(struct fuzz_in *in, int *result)
{
	static const int	 errs[] = { EVUTIL_EAI_NONAME, EVUTIL_EAI_FAIL,
				    EVUTIL_EAI_AGAIN, EVUTIL_EAI_CANCEL };
	struct evutil_addrinfo	*res = NULL, **tail = &res;
	struct addrinfo		 hints, *ai;
	struct imsg_addr	 a;
	char			 host[INET6_ADDRSTRLEN];
	uint8_t			 sel;
	int			 i, count;

	sel = fuzz_u8(in);
	if (sel >= 0xc0) {
		*result = errs[sel % 4];
		return (NULL);
	}
	*result = 0;
	count = sel % 12;
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_DGRAM;
	for (i = 0; i < count; i++) {
		fuzz_addr(in, &a);
		if (inet_ntop(a.af == AF_INET ? AF_INET : AF_INET6, a.addr,
		    host, sizeof(host)) == NULL ||
		    getaddrinfo(host, "0", &hints, &ai) != 0)
			fuzz_fail("getaddrinfo %s", host);
		if (a.af != AF_INET && a.af != AF_INET6)
			ai->ai_family = a.af;
		*tail = ai;
		while (*tail != NULL)
			tail = &(*tail)->ai_next;
	}
	return (res);
}

/* An answer to one of the lookups in flight. */
static int
answer(struct fuzz_in *in)
{
	struct evutil_addrinfo	*res;
	struct lookup		 l;
	size_t			 k;
	int			 result;

	if (nlookups == 0)
		return (0);
	k = fuzz_u8(in) % nlookups;
	l = lookups[k];
	lookups[k] = lookups[--nlookups];
	res = addrinfo(in, &result);
	if (setjmp(fuzz_jmp) != 0)
		return (-1);
	l.cb(result, res, l.arg);
	check_conf();
	fuzz_queue_drop(&engine_state.iev_parent.ibuf);
	return (0);
}

static int
tick(struct fuzz_in *in)
{
	struct engine	*e = &engine_state;

	fuzz_clock += fuzz_u8(in);
	if (setjmp(fuzz_jmp) != 0)
		return (-1);
	engine_tick(-1, EV_TIMEOUT, e);
	fuzz_queue_drop(&e->iev_parent.ibuf);
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

	/* a lookup's argument is the engine's to free when answered */
	for (i = 0; i < nlookups; i++)
		free(lookups[i].arg);
	nlookups = 0;
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

	fuzz_input = &in;
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
	mesh_init(&e->mesh, engine_action, e);
	ctl_base = e->base;
	ctl_next_id = 1;

	flags = fuzz_u8(&in);
	log_setverbose(((flags >> 3) & 3) % 3);
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

	for (ops = 0; ops < FUZZ_MAXOPS && in.len > 0 && !fatal; ops++) {
		op = fuzz_u8(&in);
		sel = op & 0x1f;
		fp = &pp;
		if (sel == 24 || sel == 25 || sel == 26 || sel == 23) {
			/* these come after what is held back */
			if (held != NULL && (fatal = settle(held) == -1))
				break;
			held = NULL;
		}
		switch (sel) {
		case 22:
			type = fuzz_u32(&in);
			break;
		case 23:
			fp = &ps;
			type = fuzz_u8(&in);
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
			type = sel;
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
		fd = (op & 0x20) ? fuzz_fd_copy() : -1;
		fuzz_pipe_send(fp, type, peerid, fd, buf, len);
		if ((op & 0x80) && fp == &pp) {
			held = fp;	/* to arrive with the next one */
			continue;
		}
		held = NULL;
		fatal = settle(fp) == -1;
	}
	if (held != NULL && !fatal)
		fatal = settle(held) == -1;

	reset(fatal);
	return (0);
}
