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
 * The engine's side of the control socket, control_dispatch(), against
 * whatever a local client may send.  A client connects to a listening
 * socket and is accepted by control_accept(); the engine behind it has a
 * configuration (fuzz_send_conf()) and has heard from the device, so
 * that the answers have something in them (its host names resolve at
 * once, to 198.18.5.5: fuzz_daemon.c).  engine.c and control.c are
 * included, so that their state can be reached.
 *
 * Input: a control byte, then the bytes the client sends.  The control
 * byte's low four bits bound the size of each write (1 << n bytes, the
 * sizes drawn from a generator it seeds); bit 4: a descriptor rides on
 * the first write; bit 5: the client shuts its side down at the end;
 * bit 6: the parent answers a reload; bit 7: the client reads answers as
 * they come, rather than at the end.
 *
 * The first message the client sent decides what must have happened.
 * A ping (IMSG_CTL_PING) of a peer that is up here runs: its first
 * probe is sent and nothing answered until the peer answers or the
 * timer fires, which does not happen here; of a name that is no peer,
 * or on two interfaces, or not up, it is answered at once with an
 * IMSG_CTL_END of status 1 and a reason.
 * Nothing a client sends may be fatal to the engine.  A bad request
 * (framing, type, size, a NUL missing, a descriptor, on any message)
 * closes the connection unanswered; a good one is answered in full,
 * with as many peers or interfaces as the engine has, or its counters
 * once, each as the engine has it (distinct values, set by
 * counter_set()), and the connection closed after the answer; a reload
 * is passed to the parent with the client's id, and the parent's answer
 * to the client; a request not yet whole leaves the connection open.
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
#include <netdb.h>
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

#include "wgmeshd.h"
#include "engine.h"
#include "fuzz_daemon.h"
#include "fdpass.h"

static int	 fuzz_imsgev_compose(struct imsgev *, uint32_t, uint32_t, int,
		    const void *, size_t);

#define imsg_get		fuzz_imsg_get
#define imsg_free		fuzz_imsg_free
#define time			fuzz_time
#define realtime_us		fuzz_realtime_us
#define evdns_getaddrinfo	fuzz_getaddrinfo
#define imsgev_compose		fuzz_imsgev_compose
#include "../../wgmeshd/engine.c"
#include "../../wgmeshd/control.c"
#undef imsgev_compose
#undef realtime_us
#undef time

#define FUZZ_MAXINPUT	(64 * 1024)
#define FUZZ_CLOCK	1700000000
#define FUZZ_ANSWER_MAX	(256 * 1024)
#define FUZZ_COUNTER0	1000	/* struct ctl_counters' field i: this + i */

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum request {
	REQ_INCOMPLETE,		/* not whole yet */
	REQ_BAD,		/* to be refused */
	REQ_ANSWER,		/* to be answered */
	REQ_RELOAD,		/* to be passed to the parent */
	REQ_MONITOR,		/* no answer; open until more comes */
	REQ_PING,		/* a ping: see ping_runs() */
};

static enum request request(const uint8_t *, size_t, size_t *);
static void	 pump(void);
static void	 client_read(void);
static void	 check_answer(size_t, size_t, size_t, int);
static void	 check_counters(const struct ctl_counters *);
static void	 counter_set(void);
static uint32_t	 next_rand(uint32_t *);
static int	 ping_runs(const struct ctl_ping *);
static void	 check_refused(void);

static struct fuzz_pipe	 pp, ps;
static int		 listen_fd = -1, client_fd = -1;
static struct sockaddr_un listen_sun;
static uint8_t		 answer[FUZZ_ANSWER_MAX];
static size_t		 answer_len;
static uint32_t		 reload_client;	/* in a CTL_RELOAD */
static int		 verbose_sent = -1;
static int		 starting;	/* LLVMFuzzerInitialize() */

static int
fuzz_imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid,
    int fd, const void *data, size_t len)
{
	struct engine	*e = &engine_state;
	int		 v;

	if (iev == &e->iev_parent) {
		switch (type) {
		case IMSG_CTL_RELOAD:
			if (len != 0 || peerid == 0 || reload_client != 0)
				fuzz_fail("IMSG_CTL_RELOAD: %zu bytes, client "
				    "%u", len, peerid);
			reload_client = peerid;
			break;
		case IMSG_CTL_LOG_VERBOSE:
			if (len != sizeof(v))
				fuzz_fail("IMSG_CTL_LOG_VERBOSE: %zu", len);
			memcpy(&v, data, sizeof(v));
			if (v < 0 || v > 2 || verbose_sent != -1)
				fuzz_fail("IMSG_CTL_LOG_VERBOSE %d", v);
			verbose_sent = v;
			break;
		case IMSG_SET_ENDPOINT:
			/* the engine's own business, at start */
			break;
		default:
			fuzz_fail("%s to the parent", imsg_type_name(type));
		}
	}
	/* the state file is asked for once configured; a client has no say */
	if (iev == &e->iev_storage && (!starting || type != IMSG_STATE_LOAD))
		fuzz_fail("%s to storage", imsg_type_name(type));
	return (imsgev_compose(iev, type, peerid, fd, data, len));
}

/* xorshift32, as in fuzz_imsg.c */
static uint32_t
next_rand(uint32_t *state)
{
	uint32_t	x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return (x);
}

/* What the engine must make of the first message in "buf". */
static enum request
request(const uint8_t *buf, size_t len, size_t *msglen)
{
	struct imsg_hdr	 hdr;
	struct ctl_ping	 cp;
	size_t		 datalen;
	int		 v;

	*msglen = 0;
	if (len < IMSG_HEADER_SIZE)
		return (REQ_INCOMPLETE);
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.len < IMSG_HEADER_SIZE || hdr.len > MAX_IMSGSIZE ||
	    (hdr.flags & ~IMSGF_HASFD) != 0)
		return (REQ_BAD);
	if (hdr.len > len)
		return (REQ_INCOMPLETE);
	*msglen = hdr.len;
	/* with a descriptor, or claiming one that is not there */
	if (hdr.flags & IMSGF_HASFD)
		return (REQ_BAD);
	datalen = hdr.len - IMSG_HEADER_SIZE;
	buf += IMSG_HEADER_SIZE;
	switch (hdr.type) {
	case IMSG_CTL_SHOW_PEERS:
		if (datalen == 0 || (datalen == IMSG_NAME_MAX &&
		    memchr(buf, '\0', datalen) != NULL))
			return (REQ_ANSWER);
		return (REQ_BAD);
	case IMSG_CTL_SHOW_INTERFACES:
	case IMSG_CTL_SHOW_SELF:
	case IMSG_CTL_SHOW_COUNTERS:
	case IMSG_CTL_SHOW_METRICS:
		return (datalen == 0 ? REQ_ANSWER : REQ_BAD);
	case IMSG_CTL_RELOAD:
		return (datalen == 0 ? REQ_RELOAD : REQ_BAD);
	case IMSG_CTL_MONITOR:
		return (datalen == 0 ? REQ_MONITOR : REQ_BAD);
	case IMSG_CTL_LOG_VERBOSE:
		if (datalen != sizeof(v))
			return (REQ_BAD);
		memcpy(&v, buf, sizeof(v));
		return (v >= 0 && v <= 2 ? REQ_ANSWER : REQ_BAD);
	case IMSG_CTL_PING:
		if (datalen != sizeof(cp))
			return (REQ_BAD);
		memcpy(&cp, buf, sizeof(cp));
		if (memchr(cp.ifname, '\0', sizeof(cp.ifname)) == NULL ||
		    memchr(cp.name, '\0', sizeof(cp.name)) == NULL ||
		    cp.count < 1 || cp.count > CTL_PING_COUNT_MAX ||
		    cp.wait_seconds < 1 || cp.wait_seconds > CTL_PING_WAIT_MAX)
			return (REQ_BAD);
		return (REQ_PING);
	default:
		return (REQ_BAD);
	}
}

/* Whether a ping of cp's peer runs: the one of that name, up. */
static int
ping_runs(const struct ctl_ping *cp)
{
	struct engine		*e = &engine_state;
	struct mesh_peer	*p, *found = NULL;
	size_t			 i, n = 0;

	for (i = 0; i < e->mesh.npeers; i++) {
		p = &e->mesh.peers[i];
		if (strcmp(p->name, cp->name) != 0 || (cp->ifname[0] != '\0' &&
		    strcmp(e->ifaces[p->iface].ifname, cp->ifname) != 0))
			continue;
		found = p;
		n++;
	}
	return (n == 1 && mesh_peer_is_up(found, fuzz_clock));
}

/* The answer is an IMSG_CTL_END alone, of status 1, with a reason. */
static void
check_refused(void)
{
	struct imsg_hdr		 hdr;
	struct ctl_result	 r;

	if (answer_len != IMSG_HEADER_SIZE + sizeof(r))
		fuzz_fail("ping refused: %zu bytes answered", answer_len);
	memcpy(&hdr, answer, sizeof(hdr));
	memcpy(&r, answer + IMSG_HEADER_SIZE, sizeof(r));
	if (hdr.type != IMSG_CTL_END || hdr.len != answer_len ||
	    r.status != 1 || memchr(r.text, '\0', sizeof(r.text)) == NULL ||
	    r.text[0] == '\0')
		fuzz_fail("ping refused: %s, status %d", imsg_type_name(
		    hdr.type), r.status);
}

/* One turn of the event loop for the client's connection. */
static void
pump(void)
{
	struct ctl_conn	*c;
	short		 ev = EV_READ;

	if ((c = TAILQ_FIRST(&ctl_conns)) == NULL)
		return;
	if (imsgbuf_queuelen(&c->iev.ibuf) > 0)
		ev |= EV_WRITE;
	if (setjmp(fuzz_jmp) != 0)
		fuzz_fail("a client made the engine die: %s",
		    log_fuzz_fatalmsg());
	control_dispatch(c->iev.ibuf.fd, ev, c);
	fuzz_imsg_forget(0);
}

static void
client_read(void)
{
	ssize_t	n;

	while (answer_len < sizeof(answer)) {
		n = read(client_fd, answer + answer_len,
		    sizeof(answer) - answer_len);
		if (n <= 0)
			break;
		answer_len += n;
	}
}

/*
 * The engine's counters, each set to a value of its own in the order of
 * struct ctl_counters' fields, so that one shown under the wrong name,
 * or not at all, is seen.
 */
static void
counter_set(void)
{
	struct engine		*e = &engine_state;
	struct gossip_counters	*ms = &e->mesh.stats;
	struct lan_counters	*ls = &e->lan.stats;
	struct relay_counters	*rs = &e->relay_stats;
	uint64_t		*order[] = {
		&ms->rx, &ms->rx_bad, &ms->rx_unknown, &ms->tx,
		&ms->tx_bytes, &ms->punches, &ms->alive_tx, &ms->rx_poke,
		&ms->drop_nopeer,
		&ms->drop_nokey, &ms->drop_reconf, &ms->drop_short,
		&ms->drop_too_long, &ms->drop_bad_version,
		&ms->drop_bad_type, &ms->drop_authentication_failed,
		&ms->drop_replay, &ms->drop_stale, &ms->drop_no_space,
		&ls->tx, &ls->rx_beacon, &ls->rx_ping, &ls->rx_pong,
		&ls->rx_own, &ls->drop_bad, &ls->drop_unicast, &ls->drop_nopeer,
		&ls->drop_nokey, &ls->drop_open, &ls->drop_nonce,
		&ls->drop_reconf, &ls->drop_hoplimit, &ls->drop_scope,
		&ls->drop_path, &ls->drop_offlink,
		&rs->rx, &rs->forwarded, &rs->forwarded_bytes, &rs->latched,
		&rs->drop_junk, &rs->drop_wrong_peer, &rs->drop_unexpected,
		&rs->drop_replay, &rs->drop_unlatched, &rs->drop_paused,
		&rs->drop_rate, &rs->drop_full, &rs->drop_idle,
	};
	size_t			 i;

	if (sizeof(order) / sizeof(order[0]) !=
	    sizeof(struct ctl_counters) / sizeof(uint64_t))
		fuzz_fail("counter_set: %zu counters, struct ctl_counters "
		    "has %zu", sizeof(order) / sizeof(order[0]),
		    sizeof(struct ctl_counters) / sizeof(uint64_t));
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		*order[i] = FUZZ_COUNTER0 + i;
}

/* What a client may not change, and the engine must show as it is. */
static void
check_counters(const struct ctl_counters *cc)
{
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i < sizeof(*cc) / sizeof(v); i++) {
		memcpy(&v, (const uint8_t *)cc + i * sizeof(v), sizeof(v));
		if (v != FUZZ_COUNTER0 + i)
			fuzz_fail("answer: counter %zu is %llu, not %llu", i,
			    (unsigned long long)v,
			    (unsigned long long)(FUZZ_COUNTER0 + i));
	}
}

/*
 * The answer: well-formed messages, IMSG_CTL_END last, "npeers",
 * "nifaces" and "ncounters" before it; or, unless "whole", a beginning
 * of such.
 */
static void
check_answer(size_t npeers, size_t nifaces, size_t ncounters, int whole)
{
	struct imsg_hdr		 hdr;
	struct ctl_result	 r;
	struct ctl_iface	 ci;
	struct ctl_counters	 cc;
	size_t			 off = 0, np = 0, ni = 0, nc = 0;

	while (off < answer_len) {
		if (answer_len - off < IMSG_HEADER_SIZE) {
			if (whole)
				fuzz_fail("answer: a piece of a header");
			return;
		}
		memcpy(&hdr, answer + off, sizeof(hdr));
		if (hdr.len < IMSG_HEADER_SIZE || hdr.len > MAX_IMSGSIZE ||
		    hdr.flags != 0)
			fuzz_fail("answer: bad framing");
		if (hdr.len > answer_len - off) {
			if (whole)
				fuzz_fail("answer: a piece of a message");
			return;
		}
		switch (hdr.type) {
		case IMSG_CTL_PEER:
			if (hdr.len != IMSG_HEADER_SIZE +
			    sizeof(struct ctl_peer))
				fuzz_fail("answer: IMSG_CTL_PEER size");
			np++;
			break;
		case IMSG_CTL_IFACE:
			if (hdr.len != IMSG_HEADER_SIZE +
			    sizeof(struct ctl_iface))
				fuzz_fail("answer: IMSG_CTL_IFACE size");
			memcpy(&ci, answer + off + IMSG_HEADER_SIZE,
			    sizeof(ci));
			if (memchr(ci.ifname, '\0', sizeof(ci.ifname)) == NULL)
				fuzz_fail("answer: interface name without NUL");
			if (memchr(ci.self_endpoint_host, '\0',
			    sizeof(ci.self_endpoint_host)) == NULL)
				fuzz_fail("answer: own endpoint without NUL");
			/* no UPnP worker here: no mapping to show */
			if (ci.upnp.af != 0)
				fuzz_fail("answer: a UPnP mapping (af %u)",
				    ci.upnp.af);
			ni++;
			break;
		case IMSG_CTL_COUNTERS:
			if (hdr.len != IMSG_HEADER_SIZE + sizeof(cc))
				fuzz_fail("answer: IMSG_CTL_COUNTERS size");
			memcpy(&cc, answer + off + IMSG_HEADER_SIZE,
			    sizeof(cc));
			check_counters(&cc);
			nc++;
			break;
		case IMSG_CTL_RESULT:
		case IMSG_CTL_END:
			if (hdr.len != IMSG_HEADER_SIZE + sizeof(r))
				fuzz_fail("answer: %s size",
				    imsg_type_name(hdr.type));
			memcpy(&r, answer + off + IMSG_HEADER_SIZE, sizeof(r));
			if (memchr(r.text, '\0', sizeof(r.text)) == NULL)
				fuzz_fail("answer: no NUL");
			break;
		default:
			fuzz_fail("answer: %s", imsg_type_name(hdr.type));
		}
		off += hdr.len;
		if (hdr.type == IMSG_CTL_END) {
			if (off != answer_len)
				fuzz_fail("answer: more after IMSG_CTL_END");
			if (whole && (np != npeers || ni != nifaces ||
			    nc != ncounters))
				fuzz_fail("answer: %zu peers, %zu interfaces, "
				    "%zu counters; %zu, %zu and %zu expected",
				    np, ni, nc, npeers, nifaces, ncounters);
			return;
		}
	}
	if (whole)
		fuzz_fail("answer: no IMSG_CTL_END");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct engine		*e = &engine_state;
	struct imsg_device_peer	 dp;

	fuzz_init(1);
	memset(&listen_sun, 0, sizeof(listen_sun));
	listen_sun.sun_family = AF_UNIX;
	snprintf(listen_sun.sun_path + 1, sizeof(listen_sun.sun_path) - 1,
	    "wgmeshd-fuzz-control-%ld", (long)getpid());
	if ((listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 || bind(listen_fd,
	    (struct sockaddr *)&listen_sun, sizeof(listen_sun)) == -1 ||
	    listen(listen_fd, 4) == -1)
		fuzz_fail("control listener: %s", strerror(errno));

	/* an engine with a configuration, and news from the device */
	fuzz_clock = FUZZ_CLOCK;
	starting = 1;
	memset(e, 0, sizeof(*e));
	e->base = fuzz_event_base();
	e->poke_fd = -1;
	fuzz_pipe_open(&pp);
	fuzz_pipe_open(&ps);
	imsgev_init(&e->iev_parent, e->base, pp.theirs,
	    engine_dispatch_parent, e);
	imsgev_init(&e->iev_storage, e->base, ps.theirs,
	    engine_dispatch_storage, e);
	mesh_init(&e->mesh, engine_action, engine_send, e, 1);
	lan_init(&e->lan, e->base, &e->mesh);
	ctl_base = e->base;
	fuzz_send_conf(&pp, 1);
	memset(&dp, 0, sizeof(dp));
	dp.last_handshake = FUZZ_CLOCK - 10;
	dp.endpoint.af = AF_INET;
	dp.endpoint.port = 51820;
	memcpy(dp.endpoint.addr, "\xc6\x12\x00\x01", 4);
	fuzz_pipe_send(&pp, IMSG_DEVICE_PEER, 1, -1, &dp, sizeof(dp));
	dp.iface = 1;
	dp.peer = 1;
	dp.last_handshake = FUZZ_CLOCK - 1000;
	fuzz_pipe_send(&pp, IMSG_DEVICE_PEER, 1, -1, &dp, sizeof(dp));
	if (fuzz_deliver(&pp, e->iev_parent.ibuf.fd, engine_dispatch_parent,
	    e, NULL) == -1)
		fuzz_fail("the engine refused its configuration: %s",
		    log_fuzz_fatalmsg());
	if (e->gen != 1 || e->mesh.npeers != 5 || e->nifaces != 2)
		fuzz_fail("the engine is not configured");
	fuzz_queue_drop(&e->iev_parent.ibuf);
	fuzz_queue_drop(&e->iev_storage.ibuf);
	counter_set();
	starting = 0;
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine		*e = &engine_state;
	struct ctl_conn		*c;
	struct ctl_result	 r;
	struct ctl_ping		 cp;
	struct imsg_hdr		 hdr;
	enum request		 req;
	const uint8_t		*first;
	size_t			 off = 0, chunk, maxchunk, msglen, i;
	size_t			 rounds, npeers = 0, nifaces = 0, ncounters = 0;
	ssize_t			 n;
	uint32_t		 state, id;
	uint8_t			 ctl;
	int			 fd, fd_sent, eof, relay, eager, closed, v;

	if (size < 1 || size > FUZZ_MAXINPUT + 1)
		return (0);
	ctl = data[0];
	data++;
	size--;
	maxchunk = (size_t)1 << (ctl & 0x0f);
	fd = (ctl & 0x10) ? fuzz_fd_copy() : -1;
	fd_sent = 0;
	eof = ctl & 0x20;
	relay = ctl & 0x40;
	eager = ctl & 0x80;
	state = 0x9e3779b9 ^ ctl ^ (uint32_t)size;
	answer_len = 0;
	reload_client = 0;
	verbose_sent = -1;

	if ((client_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 || connect(client_fd,
	    (struct sockaddr *)&listen_sun, sizeof(listen_sun)) == -1)
		fuzz_fail("control client: %s", strerror(errno));
	control_accept(listen_fd, EV_READ, NULL);
	if ((c = TAILQ_FIRST(&ctl_conns)) == NULL || ctl_nconns != 1)
		fuzz_fail("the client was not accepted");
	id = c->id;

	for (rounds = 0; off < size && rounds < 4 * size + 64; rounds++) {
		chunk = 1 + next_rand(&state) % maxchunk;
		if (chunk > size - off)
			chunk = size - off;
		if ((n = fdpass_send(client_fd, data + off, chunk, &fd,
		    fd != -1)) == -1) {
			if (errno != EAGAIN)
				break;	/* the engine hung up */
		} else {
			off += n;
			if (fd != -1) {
				close(fd);
				fd_sent = 1;
			}
			fd = -1;
		}
		pump();
		if (eager)
			client_read();
	}
	if (fd != -1)
		close(fd);
	if (off < size && TAILQ_FIRST(&ctl_conns) != NULL)
		fuzz_fail("the client could not send");

	/* the engine has heard all; now the parent, then maybe EOF */
	for (i = 0; i < 4; i++)
		pump();
	if (relay && reload_client != 0) {
		memset(&r, 0, sizeof(r));
		r.status = 1;
		strlcpy(r.text, "wgmeshd.conf:1: syntax error", sizeof(r.text));
		control_relay(reload_client, IMSG_CTL_RESULT, &r, sizeof(r));
		r.status = 0;
		r.text[0] = '\0';
		control_relay(reload_client, IMSG_CTL_END, &r, sizeof(r));
	}
	if (eof && shutdown(client_fd, SHUT_WR) == -1)
		fuzz_fail("shutdown: %s", strerror(errno));
	for (i = 0; i < 8; i++) {
		pump();
		client_read();
	}
	closed = TAILQ_EMPTY(&ctl_conns);

	/* the first message decides; a descriptor, on whatever it rode */
	req = request(data, off, &msglen);
	if (fd_sent)
		req = REQ_BAD;
	first = data + IMSG_HEADER_SIZE;
	switch (req) {
	case REQ_INCOMPLETE:
		if (closed != (eof != 0) || answer_len != 0)
			fuzz_fail("an incomplete request: %s, %zu bytes "
			    "answered", closed ? "closed" : "open", answer_len);
		break;
	case REQ_BAD:
		if (!closed || answer_len != 0)
			fuzz_fail("a bad request: %s, %zu bytes answered",
			    closed ? "closed" : "open", answer_len);
		break;
	case REQ_MONITOR:
		/* no peer changes here: no event; anything more ends it */
		if (answer_len != 0)
			fuzz_fail("monitor: %zu bytes answered", answer_len);
		if (!eof && off == msglen && closed)
			fuzz_fail("monitor: closed without a reason");
		break;
	case REQ_PING:
		memcpy(&cp, first, sizeof(cp));
		if (reload_client != 0 || verbose_sent != -1)
			fuzz_fail("ping: the parent was asked");
		if (!ping_runs(&cp)) {
			/* EOF or more input may close it before it is out */
			if (eof || off != msglen)
				check_answer(0, 0, 0, 0);
			else {
				if (!closed)
					fuzz_fail("ping refused: still open");
				check_refused();
			}
			break;
		}
		/* running: its first probe out, nothing answered yet */
		if (answer_len != 0)
			fuzz_fail("ping: %zu bytes answered", answer_len);
		if (!eof && off == msglen && (closed || ctl_npings != 1))
			fuzz_fail("ping: %s, %zu running", closed ? "closed" :
			    "open", ctl_npings);
		break;
	case REQ_ANSWER:
	case REQ_RELOAD:
		if (req == REQ_RELOAD && reload_client != id)
			fuzz_fail("a reload not passed on");
		if (req == REQ_ANSWER && reload_client != 0)
			fuzz_fail("a reload passed on unasked");
		/*
		 * EOF may end the connection before the answer is out, and
		 * so may a flood after the request, once it fills rbuf.
		 */
		if (eof || off - msglen >= sizeof(c->iev.ibuf.rbuf)) {
			if (req == REQ_RELOAD && !relay && answer_len != 0)
				fuzz_fail("a reload answered before the "
				    "parent did");
			check_answer(0, 0, 0, 0);
			break;
		}
		if (req == REQ_RELOAD && !relay) {
			if (closed || answer_len != 0)
				fuzz_fail("a reload answered before the "
				    "parent did");
			break;
		}
		if (!closed)
			fuzz_fail("the connection stays open after an answer");
		memcpy(&hdr, data, sizeof(hdr));
		if (hdr.type == IMSG_CTL_SHOW_PEERS) {
			for (i = 0; i < e->mesh.npeers; i++)
				if (msglen == IMSG_HEADER_SIZE ||
				    strcmp((const char *)first,
				    e->mesh.peers[i].name) == 0)
					npeers++;
		} else if (hdr.type == IMSG_CTL_SHOW_INTERFACES ||
		    hdr.type == IMSG_CTL_SHOW_SELF)
			nifaces = e->nifaces;
		else if (hdr.type == IMSG_CTL_SHOW_COUNTERS)
			ncounters = 1;
		else if (hdr.type == IMSG_CTL_SHOW_METRICS) {
			/* everything, in one answer */
			npeers = e->mesh.npeers;
			nifaces = e->nifaces;
			ncounters = 1;
		}
		else if (hdr.type == IMSG_CTL_LOG_VERBOSE) {
			memcpy(&v, first, sizeof(v));
			if (verbose_sent != v || log_getverbose() != v)
				fuzz_fail("verbosity %d asked, %d sent, %d set",
				    v, verbose_sent, log_getverbose());
		}
		check_answer(npeers, nifaces, ncounters, 1);
		break;
	}

	control_close_all();
	if (ctl_npings != 0)
		fuzz_fail("%zu pings outlive their clients", ctl_npings);
	/* a ping's probe counted an ALIVE sent */
	counter_set();
	close(client_fd);
	client_fd = -1;
	fuzz_queue_drop(&e->iev_parent.ibuf);
	fuzz_fd_sweep(0);
	log_setverbose(0);
	return (0);
}
