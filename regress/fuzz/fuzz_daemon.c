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
 * Shared by the fuzz targets for the daemon's message handlers; see
 * fuzz_daemon.h.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <sys/ioctl.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netdb.h>
#include <sanitizer/common_interface_defs.h>

#include "log.h"
#include "util.h"
#include "wgmeshd.h"
#include "fuzz_daemon.h"

/*
 * Descriptors sent per input: more than IMSG_MAX_PENDING_FDS in flight
 * make imsgbuf_read() give up on the pipe, which ends the process by
 * design, not by a handler's choice.
 */
#define FUZZ_SEND_FDS	8
#define FUZZ_MAX_FDS	64

jmp_buf			 fuzz_jmp;
time_t			 fuzz_clock;
struct fuzz_in		*fuzz_dns_input;
const uint8_t		 fuzz_keys[FUZZ_NKEYS][32] = {
	{ 0x42, 0x01, 0x11, 0x45, 0x09, 0xc4, 0xf9, 0xb9 },
	{ 0x7f, 0x2d, 0x94, 0xb7, 0x4a, 0x82, 0x87, 0xa0 },
	{ 0x55, 0xb7, 0x9c, 0xfe, 0x6b, 0xc5, 0x42, 0x6c },
	{ 0x3c, 0xd2, 0x28, 0x67, 0xdb, 0xcf, 0x96, 0x24 },
	{ 0x19, 0x9e, 0xc1, 0x0b, 0x6f, 0xe5, 0x37, 0x5a },
};
struct imsg_hdr		 fuzz_cur_hdr;
uint8_t			 fuzz_cur_data[MAX_IMSGSIZE];
size_t			 fuzz_cur_len;
unsigned long		 fuzz_cur_seq;

static void		*fuzz_cur_ptr;	/* data not yet freed */
static int		 fuzz_cur_live;
static int		 fuzz_sentinel[2] = { -1, -1 };
static struct stat	 fuzz_sentinel_st;
static int		 fuzz_sock_sentinel[2] = { -1, -1 };
static struct stat	 fuzz_sock_sentinel_st;
static int		 fuzz_fds[FUZZ_MAX_FDS];
static size_t		 fuzz_nfds;
static size_t		 fuzz_nsent;
static struct event_base *fuzz_base;
static void		(*fuzz_cleanup)(void);
static struct {
	evdns_getaddrinfo_cb	 cb;
	void			*arg;
}			 fuzz_lookups[FUZZ_DNS_MAX];
static size_t		 fuzz_nlookups;

static void		 nonblock(int);

static void
nonblock(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		fuzz_fail("fcntl: %s", strerror(errno));
}

void
fuzz_fail(const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* stdio's stderr may point elsewhere; the sanitizers use fd 2 */
	dprintf(2, "fuzz: %s\n", msg);
	if (fuzz_cleanup != NULL)
		fuzz_cleanup();
	abort();
}

/* Run at exit, and before a finding ends the run. */
void
fuzz_atexit(void (*fn)(void))
{
	fuzz_cleanup = fn;
	__sanitizer_set_death_callback(fn);
	if (atexit(fn) != 0)
		fuzz_fail("atexit");
}

/*
 * Quiet unless FUZZ_VERBOSE is set: the handlers log every refusal.
 * Every target has its own event base on poll(2), which is never run:
 * events added and deleted there cost no system call.
 */
void
fuzz_init(int quiet)
{
	struct event_config	*cfg;

	signal(SIGPIPE, SIG_IGN);
	log_init(1, 0);
	log_fuzz_quiet(quiet && getenv("FUZZ_VERBOSE") == NULL);
	log_fuzz_onfatal(&fuzz_jmp);
	fuzz_fd_init();
	if ((cfg = event_config_new()) == NULL ||
	    event_config_avoid_method(cfg, "epoll") == -1 ||
	    event_config_avoid_method(cfg, "select") == -1 ||
	    (fuzz_base = event_base_new_with_config(cfg)) == NULL)
		fuzz_fail("event base");
	event_config_free(cfg);
}

struct event_base *
fuzz_event_base(void)
{
	return (fuzz_base);
}

/*
 * A string field: mostly one of "names", sometimes bytes of the input
 * (terminated), rarely a field with no NUL at all.
 */
void
fuzz_string(struct fuzz_in *in, char *dst, size_t len, const char *const *names,
    size_t nnames)
{
	uint8_t	sel = fuzz_u8(in);
	size_t	i;

	memset(dst, 0, len);
	if (sel < 0xf0 && nnames > 0) {
		strlcpy(dst, names[sel % nnames], len);
		return;
	}
	if (sel < 0xff) {
		fuzz_bytes(in, dst, fuzz_u8(in) % len);
		return;
	}
	fuzz_bytes(in, dst, len);
	for (i = 0; i < len; i++)
		if (dst[i] == '\0')
			dst[i] = 'x';
}

/*
 * An address as another process sends it: usually a plausible one of
 * either family, sometimes any family, port or bytes at all.
 */
void
fuzz_addr(struct fuzz_in *in, struct imsg_addr *a)
{
	static const uint8_t	 good4[4] = { 198, 18, 0, 1 };
	static const uint8_t	 good6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0,
				    0, 0, 0, 0, 0, 0, 0, 1 };
	uint8_t			 sel = fuzz_u8(in);

	memset(a, 0, sizeof(*a));
	switch (sel & 3) {
	case 0:
		a->af = 0;
		break;
	case 1:
		a->af = AF_INET;
		break;
	case 2:
		a->af = AF_INET6;
		break;
	default:
		a->af = fuzz_u16(in);
		break;
	}
	a->port = (sel & 4) ? fuzz_u16(in) : 51820;
	if ((sel & 8) == 0) {
		/* one of eight addresses, so that candidates repeat */
		if (a->af == AF_INET) {
			memcpy(a->addr, good4, sizeof(good4));
			a->addr[3] += sel >> 5;
		} else {
			memcpy(a->addr, good6, sizeof(good6));
			a->addr[15] += sel >> 5;
		}
		return;
	}
	fuzz_bytes(in, a->addr, sizeof(a->addr));
	if (a->af == AF_INET && (sel & 16) == 0)
		memset(a->addr + 4, 0, sizeof(a->addr) - 4);
	/* a link-local address, mostly with the scope it needs */
	if ((sel & 0x30) == 0x20 && a->af == AF_INET6) {
		a->addr[0] = 0xfe;
		a->addr[1] = 0x80 | (a->addr[1] & 0x3f);
		a->scope = (sel & 0x40) ? fuzz_u32(in) : 2;
	} else if ((sel & 0x30) == 0x30)
		a->scope = fuzz_u32(in);
}

/*
 * What the parent may set as a peer's endpoint, written out again here
 * rather than taken from util.c: a unicast address of either family, in
 * its canonical form, with a port; a scope for a link-local address, and
 * for no other.
 */
int
fuzz_addr_is_endpoint(const struct imsg_addr *a)
{
	static const uint8_t	zero[16];

	if (a->port == 0)
		return (0);
	if (a->af == AF_INET) {
		if (a->scope != 0 || memcmp(a->addr + 4, zero, 12) != 0)
			return (0);
		/* this host: 0/8, 127/8 */
		if (a->addr[0] == 0 || a->addr[0] == 127)
			return (0);
		/* multicast, class E, broadcast */
		if (a->addr[0] >= 224)
			return (0);
		return (1);
	}
	if (a->af == AF_INET6) {
		if (a->addr[0] == 0xff)
			return (0);
		/* ::/96 (::, ::1) and IPv4-mapped ::ffff:0:0/96 */
		if (memcmp(a->addr, zero, 10) == 0 &&
		    ((a->addr[10] == 0 && a->addr[11] == 0) ||
		    (a->addr[10] == 0xff && a->addr[11] == 0xff)))
			return (0);
		/* fe80::/10 with its interface, and nothing else with one */
		if ((a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80) !=
		    (a->scope != 0))
			return (0);
		return (1);
	}
	return (0);
}

ssize_t
fuzz_imsg_get(struct imsgbuf *ibuf, struct imsg *imsg)
{
	ssize_t	n;

	if (fuzz_cur_live)
		fuzz_fail("imsg_get() before the last message was freed");
	if ((n = imsg_get(ibuf, imsg)) <= 0)
		return (n);
	fuzz_cur_hdr = imsg->hdr;
	fuzz_cur_len = imsg->datalen;
	fuzz_cur_seq++;
	if (imsg->datalen > sizeof(fuzz_cur_data))
		fuzz_fail("imsg_get(): %zu bytes", imsg->datalen);
	if (imsg->datalen > 0)
		memcpy(fuzz_cur_data, imsg->data, imsg->datalen);
	fuzz_cur_ptr = imsg->data;
	fuzz_cur_live = 1;
	if (imsg->fd != -1) {
		if (fuzz_nfds == FUZZ_MAX_FDS)
			fuzz_fail("too many descriptors for the harness");
		fuzz_fds[fuzz_nfds++] = imsg->fd;
	}
	return (n);
}

void
fuzz_imsg_free(struct imsg *imsg)
{
	if (fuzz_cur_live && imsg->data == fuzz_cur_ptr) {
		fuzz_cur_live = 0;
		fuzz_cur_ptr = NULL;
	}
	imsg_free(imsg);
}

/*
 * After a handler: "fatal" says whether it ended in fatal(), in which case
 * the message it was working on is freed here, as exit() would have.
 * Otherwise every message must have been freed by the handler.
 */
void
fuzz_imsg_forget(int fatal)
{
	if (fuzz_cur_live && !fatal)
		fuzz_fail("%s: returned without imsg_free()",
		    imsg_type_name(fuzz_cur_hdr.type));
	if (fuzz_cur_live)
		free(fuzz_cur_ptr);
	fuzz_cur_ptr = NULL;
	fuzz_cur_live = 0;
}

void
fuzz_fd_init(void)
{
	if (pipe(fuzz_sentinel) == -1 ||
	    fstat(fuzz_sentinel[1], &fuzz_sentinel_st) == -1)
		fuzz_fail("pipe: %s", strerror(errno));
	/* nobody writes to the other end: a read finds nothing, at once */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    fuzz_sock_sentinel) == -1 ||
	    fstat(fuzz_sock_sentinel[0], &fuzz_sock_sentinel_st) == -1)
		fuzz_fail("socketpair: %s", strerror(errno));
}

static int
fuzz_fd_dup(int sentinel)
{
	int	fd;

	if (fuzz_nsent >= FUZZ_SEND_FDS)
		return (-1);
	fuzz_nsent++;
	if ((fd = dup(sentinel)) == -1)
		fuzz_fail("dup: %s", strerror(errno));
	return (fd);
}

/* A copy to send, or -1 once an input has sent enough. */
int
fuzz_fd_copy(void)
{
	return (fuzz_fd_dup(fuzz_sentinel[1]));
}

/* The same, of a datagram socket. */
int
fuzz_fd_socket(void)
{
	return (fuzz_fd_dup(fuzz_sock_sentinel[0]));
}

/* Is fd one of those copies? */
int
fuzz_fd_is_copy(int fd)
{
	struct stat	st;

	if (fd == fuzz_sentinel[1] || fd == fuzz_sock_sentinel[0] ||
	    fstat(fd, &st) == -1)
		return (0);
	return ((st.st_dev == fuzz_sentinel_st.st_dev &&
	    st.st_ino == fuzz_sentinel_st.st_ino) ||
	    (st.st_dev == fuzz_sock_sentinel_st.st_dev &&
	    st.st_ino == fuzz_sock_sentinel_st.st_ino));
}

/*
 * Closes what a process still holds of the descriptors it was given.
 * After a fatal error that is fine (the process would be gone); after a
 * clean run, once the target has closed what the process keeps on
 * purpose, it is a leak.
 */
void
fuzz_fd_sweep(int fatal)
{
	size_t		i;

	for (i = 0; i < fuzz_nfds; i++) {
		if (!fuzz_fd_is_copy(fuzz_fds[i]))
			continue;
		if (!fatal)
			fuzz_fail("descriptor %d leaked", fuzz_fds[i]);
		close(fuzz_fds[i]);
	}
	fuzz_nfds = 0;
	fuzz_nsent = 0;
}

/*
 * Lets a process read its end of the pipe until the pipe is empty (or
 * "stop" says so), calling its handler as libevent would; -1 when the
 * handler called fatal().
 */
int
fuzz_deliver(struct fuzz_pipe *fp, int fd, event_callback_fn dispatch,
    void *arg, const struct fuzz_hooks *h)
{
	static const struct fuzz_hooks	 none;
	int				 avail, rounds;

	if (h == NULL)
		h = &none;
	for (rounds = 0; rounds < 256; rounds++) {
		fuzz_pipe_pending(fp);
		if (h->stop != NULL && h->stop())
			return (0);
		if (setjmp(fuzz_jmp) != 0) {
			fuzz_imsg_forget(1);
			if (h->fatal != NULL)
				h->fatal();
			return (-1);
		}
		dispatch(fd, EV_READ, arg);
		fuzz_imsg_forget(0);
		if (h->after != NULL)
			h->after();
		if (h->stop != NULL && h->stop())
			return (0);
		if (ioctl(fd, FIONREAD, &avail) == -1)
			fuzz_fail("FIONREAD: %s", strerror(errno));
		if (avail == 0 && imsgbuf_queuelen(&fp->ibuf) == 0)
			return (0);
	}
	fuzz_fail("the pipe does not drain");
}

/* Both ends non-blocking: the harness never waits for a process. */
void
fuzz_pipe_open(struct fuzz_pipe *fp)
{
	int	sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fuzz_fail("socketpair: %s", strerror(errno));
	nonblock(sv[0]);
	nonblock(sv[1]);
	imsgbuf_init(&fp->ibuf, sv[0]);
	fp->theirs = sv[1];
}

/* The process's end is closed by the process's own imsgev_clear(). */
void
fuzz_pipe_close(struct fuzz_pipe *fp)
{
	imsgbuf_clear(&fp->ibuf);
	if (fp->ibuf.fd != -1)
		close(fp->ibuf.fd);
	fp->ibuf.fd = -1;
}

/* Writes what it can; returns what is left to write. */
size_t
fuzz_pipe_pending(struct fuzz_pipe *fp)
{
	if (imsgbuf_write(&fp->ibuf) == -1)
		fuzz_fail("write to the process: %s", strerror(errno));
	return (imsgbuf_queuelen(&fp->ibuf));
}

/* Queues a message and writes what it can; "fd" is consumed. */
int
fuzz_pipe_send(struct fuzz_pipe *fp, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	if (imsg_compose(&fp->ibuf, type, peerid, 0, fd, data, len) == -1) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	fuzz_pipe_pending(fp);
	return (0);
}

/*
 * Drops what a process queued for another one, once the target has
 * looked at it: the queue would otherwise only grow, as nobody reads.
 */
void
fuzz_queue_drop(struct imsgbuf *ibuf)
{
	struct ibuf	*buf;

	while ((buf = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		TAILQ_REMOVE(&ibuf->wq, buf, entry);
		if (buf->fd != -1)
			close(buf->fd);
		free(buf->buf);
		free(buf);
	}
	ibuf->wqlen = 0;
	ibuf->wqbytes = 0;
}

/* The order of the enum when the seeds were written: never reordered. */
static const uint32_t fuzz_types[FUZZ_NTYPES] = {
	IMSG_NONE, IMSG_CTL_SHOW_PEERS, IMSG_CTL_SHOW_INTERFACES,
	IMSG_CTL_SHOW_SELF, IMSG_CTL_RELOAD, IMSG_CTL_LOG_VERBOSE,
	IMSG_CTL_RESULT, IMSG_CTL_PEER, IMSG_CTL_IFACE, IMSG_CTL_END,
	IMSG_RECONF_BEGIN, IMSG_RECONF_IFACE, IMSG_RECONF_PEER,
	IMSG_RECONF_END, IMSG_SOCKET_CONTROL, IMSG_SOCKET_GOSSIP,
	IMSG_SOCKET_LAN, IMSG_DEVICE_PEER, IMSG_PAIR_KEY, IMSG_SET_ENDPOINT,
	IMSG_STATE_LOAD, IMSG_STATE_ENTRY, IMSG_STATE_LOADED,
	IMSG_STATE_SAVE, IMSG_CTL_SHOW_COUNTERS, IMSG_CTL_COUNTERS,
	IMSG_LAN_LINKS, IMSG_CTL_MONITOR, IMSG_CTL_EVENT,
	IMSG_CTL_SHOW_METRICS, IMSG_CTL_PING, IMSG_CTL_PONG,
};

uint32_t
fuzz_type(uint32_t code)
{
	return (code < FUZZ_NTYPES ? fuzz_types[code] : code);
}

void
fuzz_send_conf(struct fuzz_pipe *fp, uint32_t gen)
{
	static const struct {
		const char	*name;
		const char	*host;
		uint16_t	 port;
	} peers[FUZZ_NKEYS] = {
		{ "alpha", "198.18.0.1", 51820 },
		{ "beta", "fd00::b", 51820 },
		{ "gamma", "gamma.example", 51820 },
		{ "delta", "", 0 },
		{ "epsilon", "epsilon.example", 443 },
	};
	static const uint32_t	 npeers[2] = { 3, 2 };
	struct imsg_iface	 mi;
	struct imsg_peer	 mp;
	uint32_t		 i, j, k = 0;

	fuzz_pipe_send(fp, IMSG_RECONF_BEGIN, 0, -1, &gen, sizeof(gen));
	for (i = 0; i < 2; i++) {
		memset(&mi, 0, sizeof(mi));
		mi.index = i;
		mi.npeers = npeers[i];
		snprintf(mi.ifname, sizeof(mi.ifname), "wg%u", i);
		strlcpy(mi.node_name, "bernard", sizeof(mi.node_name));
		strlcpy(mi.backend, i == 0 ? "kernel" : "userspace",
		    sizeof(mi.backend));
		mi.public_key[0] = 0xb0 + i;
		mi.address[0] = 0xfd;
		mi.address[15] = 1;
		mi.listen_port = 51820 + i;
		mi.gossip_port = 1666 + i;
		mi.keepalive = 25;
		mi.lan_discovery = i == 0;
		fuzz_pipe_send(fp, IMSG_RECONF_IFACE, 0, -1, &mi, sizeof(mi));
		for (j = 0; j < npeers[i]; j++, k++) {
			memset(&mp, 0, sizeof(mp));
			mp.iface = i;
			mp.index = j;
			strlcpy(mp.name, peers[k].name, sizeof(mp.name));
			strlcpy(mp.endpoint_host, peers[k].host,
			    sizeof(mp.endpoint_host));
			mp.endpoint_port = peers[k].port;
			memcpy(mp.public_key, fuzz_keys[k], 32);
			mp.address[0] = 0xfd;
			mp.address[1] = k;
			mp.address[15] = 1;
			mp.keepalive = k % 2 ? 25 : 0;
			fuzz_pipe_send(fp, IMSG_RECONF_PEER, 0, -1, &mp,
			    sizeof(mp));
		}
	}
	fuzz_pipe_send(fp, IMSG_RECONF_END, 0, -1, NULL, 0);
}

/* The engine's sandbox is sandbox.c's business; never reached here. */
void
privdrop(const char *user, const char *dir)
{
	fuzz_fail("privdrop");
}

void
sandbox_proc_name(const char *name)
{
	fuzz_fail("sandbox_proc_name");
}

void
sandbox_engine(void)
{
	fuzz_fail("sandbox_engine");
}

void
sandbox_upnp(pid_t engine)
{
	fuzz_fail("sandbox_upnp");
}

time_t
fuzz_time(time_t *t)
{
	if (t != NULL)
		*t = fuzz_clock;
	return (fuzz_clock);
}

int64_t
fuzz_realtime_us(void)
{
	return ((int64_t)fuzz_clock * 1000000);
}

/*
 * A lookup: answered at once, as evdns does from /etc/hosts or when it
 * cannot even ask, or left in flight for fuzz_dns_take().
 */
struct evdns_getaddrinfo_request *
fuzz_getaddrinfo(struct evdns_base *base, const char *node,
    const char *service, const struct evutil_addrinfo *hints,
    evdns_getaddrinfo_cb cb, void *arg)
{
	struct addrinfo		 h, *ai;
	struct evutil_addrinfo	*res;
	int			 result;

	if (fuzz_dns_input == NULL) {
		memset(&h, 0, sizeof(h));
		h.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
		h.ai_socktype = SOCK_DGRAM;
		if (getaddrinfo("198.18.5.5", "0", &h, &ai) != 0)
			fuzz_fail("getaddrinfo");
		cb(0, ai, arg);
		return (NULL);
	}
	if (fuzz_nlookups < FUZZ_DNS_MAX &&
	    (fuzz_u8(fuzz_dns_input) & 1) == 0) {
		fuzz_lookups[fuzz_nlookups].cb = cb;
		fuzz_lookups[fuzz_nlookups].arg = arg;
		/* the engine does not look at it */
		return ((struct evdns_getaddrinfo_request *)
		    &fuzz_lookups[fuzz_nlookups++]);
	}
	res = fuzz_dns_addrinfo(fuzz_dns_input, &result);
	cb(result, res, arg);
	return (NULL);
}

/*
 * An answer as evdns gives it: an error and no list, or a list of any
 * length of addresses of both families (glibc's, from numeric hosts, so
 * that evutil_freeaddrinfo() can free it), sometimes of a family that
 * evdns would not give.
 */
struct evutil_addrinfo *
fuzz_dns_addrinfo(struct fuzz_in *in, int *result)
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

size_t
fuzz_dns_pending(void)
{
	return (fuzz_nlookups);
}

/* One of the lookups in flight (the next byte picks it), to answer. */
void
fuzz_dns_take(struct fuzz_in *in, evdns_getaddrinfo_cb *cb, void **arg)
{
	size_t	k;

	if (fuzz_nlookups == 0)
		fuzz_fail("no lookup in flight");
	k = fuzz_u8(in) % fuzz_nlookups;
	*cb = fuzz_lookups[k].cb;
	*arg = fuzz_lookups[k].arg;
	fuzz_lookups[k] = fuzz_lookups[--fuzz_nlookups];
}

/* A lookup's argument is the engine's to free when answered. */
void
fuzz_dns_clear(void)
{
	size_t	i;

	for (i = 0; i < fuzz_nlookups; i++)
		free(fuzz_lookups[i].arg);
	fuzz_nlookups = 0;
}
