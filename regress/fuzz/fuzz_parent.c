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
 * The parent's handlers, parent_dispatch_engine() and
 * parent_dispatch_storage(), against whatever a subverted engine or
 * storage process may send.  wgmeshd.c (its main() renamed) and
 * parent_net.c are included, so that the parent's state can be set up
 * and reset; device.c, parse.y, conf.c and keys.c are the real ones,
 * with real configuration and key files in a temporary directory, but
 * the WireGuard and rtnetlink calls are the stubs below, which fail when
 * the input says so.
 *
 * The property under test is the parent's promise: it sets an endpoint
 * only for a configured peer of the running configuration, only a
 * unicast address with a port, only when the engine's request is for
 * that configuration, and only once per request; the stub wg_set()
 * aborts otherwise.  It changes devices otherwise only on a reload.
 * Everything the parent sends to its children must pass their checks:
 * each configuration a whole transaction, answers for the client that
 * asked, the verbosity in range.  After each configuration it gives the
 * engine what gossip needs, and nothing else: an IMSG_PAIR_KEY (exact
 * size, the generation, a configured peer, the key that peer's public key
 * and the interface's private key make) for each peer of each device it
 * configured, once; an IMSG_SOCKET_GOSSIP (a configured interface, with
 * a non-blocking UDP socket on the interface's derived address and gossip
 * port, tied to the device) for each whose socket is new or moved, and
 * never one when it could not tie the socket to the device; an
 * IMSG_SOCKET_LAN (the port of a configured interface with LAN
 * discovery, and an IPv4 UDP socket bound to the wildcard address and
 * that port, that may broadcast and says where datagrams went, does not
 * block, is not inherited and is tied to no device) for each port that
 * such interfaces use, once per configuration, and not again while the
 * engine keeps the one it has unless the interfaces on that port
 * changed.  Once the parent turns to the storage process, every device
 * it configured has its keys, a gossip socket where it is configured and
 * a LAN socket for its port if it discovers, unless a socket could not
 * be made.  There is no WireGuard device here, so SO_BINDTODEVICE is
 * the stub's: it succeeds, unless FAIL_GOSSIP says to ask the kernel,
 * which fails as on a host without the device; that is logged and no
 * socket is sent.
 *
 * The configurations: 0, what every input starts from, two interfaces
 * with three and two peers, each with LAN discovery on a gossip port of
 * its own; 1, one interface gone, one new, peers changed; 2, refused by
 * the parser; 3, the same as 0; 4, as 0 but both on wg1's gossip port,
 * wg1 without LAN discovery; 5, as 0 but both on wg0's gossip port, wg0
 * without LAN discovery.
 *
 * Input: a flags byte (bits 0-1: verbosity; 2-6: which stub calls fail,
 * see FAIL_*, all but FAIL_GOSSIP; 7: reloads read configuration 1, not
 * 0), the endpoint the device reports for every peer (see fuzz_addr()),
 * then operations, each an op byte and what it needs:
 *	bits 0-4	0 to 21: a message of the type fuzz_type()
 *			gives for it, from the engine (IMSG_STATE_LOADED,
 *			22, IMSG_STATE_SAVE, 23, and any other type: by 22);
 *			22: of a type of four bytes; 23: from
 *			storage, type the next byte (those too through
 *			fuzz_type()); 24: reloads read
 *			configuration N (the next byte); 25: the stubs fail
 *			differently (the next byte); 26: the devices are
 *			polled; 27-29: more IMSG_SET_ENDPOINT; 30: more
 *			IMSG_CTL_RELOAD; 31: more IMSG_CTL_LOG_VERBOSE
 *	bit 5		with a descriptor
 *	bit 6		the payload is a length (two bytes) and that many
 *			input bytes; otherwise one its type wants, mostly
 *			of plausible values
 *	bit 7		held back, to arrive with the next message
 * and for a message a byte that picks its peer id: the parent's
 * generation, the one before, client 1, or four input bytes.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "imsg.h"
#include "wgmeshd.h"
#include "wire.h"
#include "conf.h"
#include "parent.h"
#include "fuzz_daemon.h"

static int	 fuzz_imsgev_compose(struct imsgev *, uint32_t, uint32_t, int,
		    const void *, size_t);
static int	 fuzz_setsockopt(int, int, int, const void *, socklen_t);
static int	 fuzz_bind(int, const struct sockaddr *, socklen_t);
int		 wgmeshd_main(int, char *[]);

#define imsg_get		fuzz_imsg_get
#define imsg_free		fuzz_imsg_free
#define imsgev_compose		fuzz_imsgev_compose
#define setsockopt		fuzz_setsockopt
#define bind			fuzz_bind
#define main			wgmeshd_main
#include "../../wgmeshd/wgmeshd.c"
#include "../../wgmeshd/parent_net.c"
#undef main
#undef bind
#undef setsockopt
#undef imsgev_compose

#define FUZZ_MAXOPS	256
#define FUZZ_NCONF	6

/* which stub calls fail */
#define FAIL_OPEN	0x01	/* wg_open() */
#define FAIL_GET	0x02	/* wg_get() */
#define FAIL_SET	0x04	/* wg_set() */
#define FAIL_LINK	0x08	/* rtnl_link_up() */
#define FAIL_PEERS	0x10	/* wg_get() gives peers, not none */
#define FAIL_GOSSIP	0x20	/* SO_BINDTODEVICE, by the kernel */

#define FUZZ_MAXIFACES	4
#define FUZZ_MAXPEERS	8
#define FUZZ_MAXFD	1024
#define FUZZ_MAXLAN	8	/* LAN sockets the engine holds */
#define FUZZ_MAXNAMES	32	/* interface names, for lan_owners() */

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct wg_handle {
	char		 ifname[IFNAMSIZ];
	uint32_t	 magic;
};
#define HANDLE_MAGIC	0x77676d68

/* a configuration transaction as a child sees it */
struct txn {
	int		 open;
	uint32_t	 nifaces;
	uint32_t	 npeers;	/* of the last interface */
	uint32_t	 have;		/* peers of it so far */
	uint32_t	 ended;		/* the generation it last took */
};

/* what the engine was given for gossip, per interface */
struct gossip_given {
	char		 ifname[IFNAMSIZ];
	int		 socket;	/* has one, bound to: */
	uint8_t		 addr[16];
	uint16_t	 port;
	uint32_t	 socket_gen;	/* sent in this generation */
	uint32_t	 key_gen[FUZZ_MAXPEERS];
};

/* a LAN socket the engine holds */
struct lan_given {
	uint16_t	 port;		/* 0: a free slot */
	uint16_t	 af;		/* one socket of each family */
	uint32_t	 gen;		/* sent in this generation */
	uint32_t	 owners;	/* and for these interfaces */
	int		 changed;	/* they have changed since */
};

static void	 setup(void);
static void	 teardown(void);
static int	 deliver(struct fuzz_pipe *);
static void	 check_txn(struct txn *, uint32_t, uint32_t, const void *);
static void	 check_endpoint(struct wg_handle *,
		    const struct wg_peer_set *);
static void	 check_anew(struct wg_handle *, const struct wg_device_set *);
static struct iface_conf *conf_iface(uint32_t);
static struct gossip_given *given(const char *, int);
static void	 given_prune(void);
static void	 check_pair_key(uint32_t, const void *);
static void	 check_socket_gossip(uint32_t, int, const void *);
static uint32_t	 lan_owners(uint16_t);
static struct lan_given *lan_find(uint16_t, uint16_t);
static void	 check_socket_lan(uint32_t, int, const void *);
static void	 drop_queues(void);
static void	 after_dispatch(void);
static void	 check_gossip_given(void);
static size_t	 payload(struct fuzz_in *, uint32_t, uint8_t *);
static void	 write_file(const char *, const char *);
static void	 remove_tmpdir(void);

static struct fuzz_pipe	 pe, pst;	/* from the engine, storage */
static char		 tmpdir[] = "/tmp/wgmeshd-fuzz-parent.XXXXXX";
static char		 confs[FUZZ_NCONF][PATH_MAX];
static int		 fail;
static int		 applying;	/* setup() calls device_apply() */
static int		 reloading;	/* the reload timer's work, now */
static size_t		 nhandles;
static unsigned long	 set_seq;	/* the request wg_set() served */
static struct imsg_addr	 dev_endpoint;
static struct txn	 txn_engine, txn_storage;
static int		 configured;
static struct gossip_given gossip[FUZZ_MAXIFACES];
static char		 binddev[FUZZ_MAXFD][IFNAMSIZ]; /* the stub's */
static uint32_t		 gossip_failed_gen; /* a socket could not be made */
static struct lan_given	 lan[FUZZ_MAXLAN];
static uint32_t		 lan_failed_gen;	/* nor a LAN socket */
static char		 ifnames[FUZZ_MAXNAMES][IFNAMSIZ];

/* the children are started by fork and exec; never here */
void
engine(int debug, int verbose, const char *user, int relay)
{
	fuzz_fail("engine()");
}

void
relay(int debug, int verbose, const char *user,
    const struct relay_params *params)
{
	fuzz_fail("relay()");
}

int
relay_params_parse(struct relay_params *params, char *argv[], int argc)
{
	fuzz_fail("relay_params_parse()");
}

void
storage(int debug, int verbose, const char *user, const char *dir)
{
	fuzz_fail("storage()");
}

struct wg_handle *
wg_open(const char *ifname, int backend)
{
	struct wg_handle	*h;

	if (fail & FAIL_OPEN)
		return (NULL);
	if ((h = calloc(1, sizeof(*h))) == NULL)
		fuzz_fail("calloc");
	strlcpy(h->ifname, ifname, sizeof(h->ifname));
	h->magic = HANDLE_MAGIC;
	nhandles++;
	return (h);
}

void
wg_close(struct wg_handle *h)
{
	if (h->magic != HANDLE_MAGIC)
		fuzz_fail("wg_close: not a handle");
	h->magic = 0;
	free(h);
	nhandles--;
}

const char *
wg_backend_name(const struct wg_handle *h)
{
	return (strcmp(h->ifname, "wg1") == 0 ? "userspace" : "kernel");
}

/* An empty device, or one with every peer the configurations know. */
int
wg_get(struct wg_handle *h, struct wg_device *dev)
{
	struct wg_peer	*p;
	size_t		 i;

	if (h->magic != HANDLE_MAGIC)
		fuzz_fail("wg_get: not a handle");
	if (fail & FAIL_GET)
		return (-1);
	strlcpy(dev->ifname, h->ifname, sizeof(dev->ifname));
	if ((fail & FAIL_PEERS) == 0)
		return (0);
	if ((dev->peers = calloc(FUZZ_NKEYS + 1, sizeof(*p))) == NULL)
		fuzz_fail("calloc");
	dev->npeers = FUZZ_NKEYS + 1;
	for (i = 0; i < dev->npeers; i++) {
		p = &dev->peers[i];
		if (i < FUZZ_NKEYS)
			memcpy(p->public_key, fuzz_keys[i], WG_KEY_LEN);
		else
			memset(p->public_key, 0xee, WG_KEY_LEN);
		p->last_handshake = 1700000000 + i;
		p->rx_bytes = i;
		imsg_addr_to_sockaddr(&p->endpoint, &dev_endpoint);
		if (dev_endpoint.af != AF_INET && dev_endpoint.af != AF_INET6)
			p->endpoint.ss_family = dev_endpoint.af;
	}
	return (0);
}

void
wg_device_free(struct wg_device *dev)
{
	size_t	i;

	for (i = 0; i < dev->npeers; i++)
		free(dev->peers[i].allowed);
	free(dev->peers);
	dev->peers = NULL;
	dev->npeers = 0;
}

int
wg_set(struct wg_handle *h, const struct wg_device_set *set)
{
	if (h->magic != HANDLE_MAGIC)
		fuzz_fail("wg_set: not a handle");
	if (set->flags == 0 && set->npeers == 1 && set->peers[0].flags ==
	    (WGPEER_UPDATE_ONLY | WGPEER_SET_ENDPOINT | WGPEER_SET_KEEPALIVE))
		check_endpoint(h, &set->peers[0]);
	else if (set->flags == 0 && set->npeers == 2 &&
	    set->peers[0].flags == WGPEER_REMOVE &&
	    (set->peers[1].flags & ~WGPEER_SET_PSK) ==
	    (WGPEER_REPLACE_ALLOWED | WGPEER_SET_ENDPOINT |
	    WGPEER_SET_KEEPALIVE))
		check_anew(h, set);
	else if (!applying && !reloading)
		fuzz_fail("wg_set() outside a reload, %s: flags %#x, %zu peers",
		    imsg_type_name(fuzz_cur_hdr.type), set->flags,
		    set->npeers);
	return ((fail & FAIL_SET) ? -1 : 0);
}

int
rtnl_link_up(const char *ifname)
{
	return ((fail & FAIL_LINK) ? -1 : 0);
}

int
rtnl_addr_add(const char *ifname, const struct prefix *p)
{
	return (0);
}

int
rtnl_addr_del(const char *ifname, const struct prefix *p)
{
	return (0);
}

int
rtnl_route_add(const char *ifname, const struct prefix *p)
{
	return (0);
}

int
rtnl_route_del(const char *ifname, const struct prefix *p)
{
	return (0);
}

/*
 * There is no device to tie a socket to: the stub remembers the name
 * instead, for check_socket_gossip(), unless FAIL_GOSSIP lets the kernel
 * answer, which it does with ENODEV (or EPERM).
 */
static int
fuzz_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct parent	*ps = &parent_state;

	if (level != SOL_SOCKET || name != SO_BINDTODEVICE)
		return (setsockopt(fd, level, name, val, len));
	if (fd < 0 || fd >= FUZZ_MAXFD || len == 0 || len >= IFNAMSIZ)
		fuzz_fail("SO_BINDTODEVICE: descriptor %d, %u bytes", fd,
		    (unsigned int)len);
	memset(binddev[fd], 0, sizeof(binddev[fd]));
	if (fail & FAIL_GOSSIP) {
		if (setsockopt(fd, level, name, val, len) == -1) {
			gossip_failed_gen = ps->gen;
			return (-1);
		}
		return (0);
	}
	memcpy(binddev[fd], val, len);
	return (0);
}

/*
 * The address may be taken by a socket the engine has not closed yet, or
 * the LAN port by another program on this host.
 */
static int
fuzz_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct parent	*ps = &parent_state;
	int		 r;

	if ((r = bind(fd, sa, len)) == -1) {
		if (sa->sa_family == AF_INET)
			lan_failed_gen = ps->gen;
		else
			gossip_failed_gen = ps->gen;
		/* the socket is closed: its descriptor tied to nothing */
		if (fd >= 0 && fd < FUZZ_MAXFD)
			memset(binddev[fd], 0, sizeof(binddev[fd]));
	}
	return (r);
}

/*
 * The request being handled must be an IMSG_SET_ENDPOINT for the running
 * configuration, for this device and for that peer, with a unicast
 * endpoint; the device is told exactly that, once.  What is configured
 * is read from ps->conf, not from the device.
 */
static void
check_endpoint(struct wg_handle *h, const struct wg_peer_set *p)
{
	struct parent			*ps = &parent_state;
	struct imsg_set_endpoint	 req;
	struct sockaddr_storage		 ss;
	struct iface_conf		*iface;
	struct peer_conf		*peer;
	uint32_t			 i;

	if (fuzz_cur_hdr.type != IMSG_SET_ENDPOINT ||
	    fuzz_cur_len != sizeof(req))
		fuzz_fail("an endpoint set for %s (%zu bytes)",
		    imsg_type_name(fuzz_cur_hdr.type), fuzz_cur_len);
	if (set_seq == fuzz_cur_seq)
		fuzz_fail("an endpoint set twice for one request");
	set_seq = fuzz_cur_seq;
	memcpy(&req, fuzz_cur_data, sizeof(req));
	if (fuzz_cur_hdr.peerid != ps->gen)
		fuzz_fail("an endpoint set for generation %u; configured: %u",
		    fuzz_cur_hdr.peerid, ps->gen);
	i = 0;
	TAILQ_FOREACH(iface, &ps->conf->ifaces, entry)
		if (i++ == req.iface)
			break;
	if (iface == NULL)
		fuzz_fail("an endpoint set on interface #%u of %zu", req.iface,
		    ps->conf->nifaces);
	if (strcmp(iface->ifname, h->ifname) != 0)
		fuzz_fail("an endpoint for %s set on %s", iface->ifname,
		    h->ifname);
	i = 0;
	TAILQ_FOREACH(peer, &iface->peers, entry)
		if (i++ == req.peer)
			break;
	if (peer == NULL)
		fuzz_fail("an endpoint set for peer #%u of %s", req.peer,
		    iface->ifname);
	if (memcmp(peer->public_key, p->public_key, WG_KEY_LEN) != 0)
		fuzz_fail("an endpoint set for the wrong peer");
	if (!fuzz_addr_is_endpoint(&req.endpoint))
		fuzz_fail("an endpoint set that is none: family %u port %u",
		    req.endpoint.af, req.endpoint.port);
	if (imsg_addr_to_sockaddr(&ss, &req.endpoint) == -1 ||
	    memcmp(&ss, &p->endpoint, sizeof(ss)) != 0)
		fuzz_fail("an endpoint set other than asked for");
	if (p->keepalive != req.keepalive)
		fuzz_fail("a keepalive set other than asked for");
	if (req.keepalive != 0 && req.keepalive != peer_keepalive(iface,
	    peer))
		fuzz_fail("a keepalive of %u set; configured: %u",
		    req.keepalive, peer_keepalive(iface, peer));
}

/*
 * An endpoint set by making the peer anew (removed, then added with the
 * endpoint): when the engine asks for it (SET_ENDPOINT_ANEW), or
 * only for a peer that the device has, without a recent
 * handshake (none has one here), and that never sent anything
 * (fuzz_keys[0]) or whose key is larger than the interface's (the other
 * end starts later, so this one may start anew); and added back as
 * configured: its allowed-ips, its preshared key.
 */
static void
check_anew(struct wg_handle *h, const struct wg_device_set *set)
{
	struct parent			*ps = &parent_state;
	const struct wg_peer_set	*add = &set->peers[1];
	struct imsg_set_endpoint	 req;
	struct iface_conf		*iface;
	struct peer_conf		*peer;
	struct prefix			 want, *wl;
	const char			*pskfile;
	uint8_t				 psk[WG_KEY_LEN];
	size_t				 i, j, n;

	if (memcmp(set->peers[0].public_key, add->public_key,
	    WG_KEY_LEN) != 0)
		fuzz_fail("one peer removed, another added");
	check_endpoint(h, add);
	/* check_endpoint() found them */
	memcpy(&req, fuzz_cur_data, sizeof(req));
	iface = conf_iface(req.iface);
	if ((req.flags & SET_ENDPOINT_ANEW) == 0 &&
	    ((fail & FAIL_PEERS) == 0 ||
	    (memcmp(add->public_key, fuzz_keys[0], WG_KEY_LEN) != 0 &&
	    key_starts_later(iface->public_key, add->public_key))))
		fuzz_fail("a peer removed that the device %s",
		    (fail & FAIL_PEERS) ? "heard from" : "does not have");
	i = 0;
	TAILQ_FOREACH(peer, &iface->peers, entry)
		if (i++ == req.peer)
			break;
	/* as the device has them: its control address too */
	if (peer_allowed(peer, &wl, &n) == -1)
		fuzz_fail("peer_allowed");
	if (add->nallowed != n)
		fuzz_fail("a peer added back with %zu allowed-ips, not %zu",
		    add->nallowed, n);
	for (i = 0; i < n; i++) {
		want = wl[i];
		for (j = 0; j < add->nallowed; j++)
			if (add->allowed[j].af == want.af &&
			    add->allowed[j].plen == want.plen &&
			    memcmp(&add->allowed[j].addr, &want.addr,
			    want.af == AF_INET ? 4 : 16) == 0)
				break;
		if (j == add->nallowed)
			fuzz_fail("a peer added back without an allowed-ip");
	}
	free(wl);
	if ((pskfile = peer_psk_file(iface, peer)) == NULL) {
		if (add->flags & WGPEER_SET_PSK)
			fuzz_fail("a peer added back with a preshared key");
		return;
	}
	if ((add->flags & WGPEER_SET_PSK) == 0 ||
	    key_file_read(pskfile, psk) != 0 ||
	    memcmp(psk, add->psk, sizeof(psk)) != 0)
		fuzz_fail("a peer added back without its preshared key");
	sodium_memzero(psk, sizeof(psk));
}

/* A child's view of a configuration transaction; see engine_reconf(). */
static void
check_txn(struct txn *t, uint32_t type, uint32_t gen, const void *data)
{
	struct parent		*ps = &parent_state;
	struct imsg_iface	 mi;
	struct imsg_peer	 mp;

	switch (type) {
	case IMSG_RECONF_BEGIN:
		if (t->open)
			fuzz_fail("IMSG_RECONF_BEGIN twice");
		memcpy(&gen, data, sizeof(gen));
		if (gen != ps->gen)
			fuzz_fail("IMSG_RECONF_BEGIN: generation %u, not %u",
			    gen, ps->gen);
		memset(t, 0, sizeof(*t));
		t->open = 1;
		break;
	case IMSG_RECONF_IFACE:
		if (!t->open)
			fuzz_fail("IMSG_RECONF_IFACE out of a transaction");
		memcpy(&mi, data, sizeof(mi));
		if (mi.index != t->nifaces || (t->nifaces > 0 &&
		    t->have != t->npeers))
			fuzz_fail("IMSG_RECONF_IFACE out of order");
		if (memchr(mi.ifname, '\0', sizeof(mi.ifname)) == NULL ||
		    memchr(mi.node_name, '\0', sizeof(mi.node_name)) == NULL ||
		    memchr(mi.backend, '\0', sizeof(mi.backend)) == NULL)
			fuzz_fail("IMSG_RECONF_IFACE: a string with no NUL");
		t->nifaces++;
		t->npeers = mi.npeers;
		t->have = 0;
		break;
	case IMSG_RECONF_PEER:
		if (!t->open)
			fuzz_fail("IMSG_RECONF_PEER out of a transaction");
		memcpy(&mp, data, sizeof(mp));
		if (t->nifaces == 0 || mp.iface != t->nifaces - 1 ||
		    mp.index != t->have || mp.index >= t->npeers)
			fuzz_fail("IMSG_RECONF_PEER out of order");
		if (memchr(mp.name, '\0', sizeof(mp.name)) == NULL ||
		    memchr(mp.endpoint_host, '\0',
		    sizeof(mp.endpoint_host)) == NULL)
			fuzz_fail("IMSG_RECONF_PEER: a string with no NUL");
		t->have++;
		break;
	case IMSG_RECONF_END:
		if (!t->open || (t->nifaces > 0 &&
		    t->have != t->npeers))
			fuzz_fail("IMSG_RECONF_END out of order");
		t->open = 0;
		t->ended = ps->gen;
		break;
	}
}

/* The running configuration's interface #i, or NULL. */
static struct iface_conf *
conf_iface(uint32_t i)
{
	struct parent		*ps = &parent_state;
	struct iface_conf	*iface;
	uint32_t		 n = 0;

	TAILQ_FOREACH(iface, &ps->conf->ifaces, entry)
		if (n++ == i)
			return (iface);
	return (NULL);
}

static struct gossip_given *
given(const char *ifname, int create)
{
	size_t	i, free_slot = FUZZ_MAXIFACES;

	for (i = 0; i < FUZZ_MAXIFACES; i++) {
		if (gossip[i].ifname[0] == '\0') {
			if (free_slot == FUZZ_MAXIFACES)
				free_slot = i;
			continue;
		}
		if (strcmp(gossip[i].ifname, ifname) == 0)
			return (&gossip[i]);
	}
	if (!create)
		return (NULL);
	if (free_slot == FUZZ_MAXIFACES)
		fuzz_fail("too many interfaces for the harness");
	strlcpy(gossip[free_slot].ifname, ifname,
	    sizeof(gossip[free_slot].ifname));
	return (&gossip[free_slot]);
}

/*
 * The engine closes the gossip socket of an interface that is no longer
 * configured, and the LAN socket of a port that no interface discovers
 * on: what it was given for them is forgotten.
 */
static void
given_prune(void)
{
	struct parent		*ps = &parent_state;
	struct iface_conf	*iface;
	size_t			 i;

	for (i = 0; i < FUZZ_MAXIFACES; i++) {
		if (gossip[i].ifname[0] == '\0')
			continue;
		TAILQ_FOREACH(iface, &ps->conf->ifaces, entry)
			if (strcmp(iface->ifname, gossip[i].ifname) == 0)
				break;
		if (iface == NULL)
			memset(&gossip[i], 0, sizeof(gossip[i]));
	}
	/* as lan_reconf(): the ports no interface discovers on */
	for (i = 0; i < FUZZ_MAXLAN; i++) {
		if (lan[i].port == 0)
			continue;
		TAILQ_FOREACH(iface, &ps->conf->ifaces, entry)
			if (iface->lan_discovery &&
			    iface->gossip_port == lan[i].port)
				break;
		if (iface == NULL)
			memset(&lan[i], 0, sizeof(lan[i]));
		else if (lan_owners(lan[i].port) != lan[i].owners)
			lan[i].changed = 1;
	}
}

/*
 * IMSG_PAIR_KEY: for the configuration the engine has just taken, for a
 * peer of a device the parent configured, once, and the very key that
 * the interface's private key and that peer's public key make.
 */
static void
check_pair_key(uint32_t peerid, const void *data)
{
	static const uint8_t	 zero[WG_KEY_LEN];
	struct parent		*ps = &parent_state;
	struct imsg_pair_key	 pk;
	struct iface_conf	*iface;
	struct peer_conf	*peer;
	struct gossip_given	*g;
	uint8_t			 priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	uint8_t			 secret[WG_KEY_LEN], want[GOSSIP_KEY_LEN];
	uint32_t		 i = 0;

	memcpy(&pk, data, sizeof(pk));
	if (peerid != ps->gen || txn_engine.open ||
	    txn_engine.ended != ps->gen)
		fuzz_fail("IMSG_PAIR_KEY for generation %u; the parent has %u, "
		    "the engine %u%s", peerid, ps->gen, txn_engine.ended,
		    txn_engine.open ? ", in a transaction" : "");
	if ((iface = conf_iface(pk.iface)) == NULL)
		fuzz_fail("IMSG_PAIR_KEY for interface #%u", pk.iface);
	TAILQ_FOREACH(peer, &iface->peers, entry)
		if (i++ == pk.peer)
			break;
	if (peer == NULL)
		fuzz_fail("IMSG_PAIR_KEY for peer #%u of %s", pk.peer,
		    iface->ifname);
	if (pk.iface >= ps->ndevs || ps->devs[pk.iface].wg == NULL ||
	    ps->devs[pk.iface].peers == NULL)
		fuzz_fail("IMSG_PAIR_KEY for %s, not configured",
		    iface->ifname);
	if (memcmp(pk.key, zero, sizeof(zero)) == 0)
		fuzz_fail("IMSG_PAIR_KEY %u/%u: all zero", pk.iface, pk.peer);
	if (pk.peer >= FUZZ_MAXPEERS)
		fuzz_fail("too many peers for the harness");
	g = given(iface->ifname, 1);
	if (g->key_gen[pk.peer] == ps->gen)
		fuzz_fail("IMSG_PAIR_KEY %u/%u twice", pk.iface, pk.peer);
	g->key_gen[pk.peer] = ps->gen;

	if (key_file_read(iface->private_key_file, priv) != 0 ||
	    key_public_from_private(pub, priv) == -1 ||
	    (iface->gossip_secret_file != NULL &&
	    key_file_read(iface->gossip_secret_file, secret) != 0) ||
	    gossip_pair_key(want, priv, pub, peer->public_key,
	    iface->gossip_secret_file != NULL ? secret : NULL) == -1)
		fuzz_fail("the harness cannot make %s's key for %s",
		    iface->ifname, peer->name);
	if (memcmp(want, pk.key, sizeof(want)) != 0)
		fuzz_fail("IMSG_PAIR_KEY %u/%u: not the key of %s and %s",
		    pk.iface, pk.peer, iface->ifname, peer->name);
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(want, sizeof(want));
}

/*
 * IMSG_SOCKET_GOSSIP: for an interface the parent configured, when it
 * has none at the engine or the one it has is bound elsewhere; a UDP
 * socket that will not block the engine, bound where the interface's
 * peers send gossip, and tied to the device.
 */
static void
check_socket_gossip(uint32_t peerid, int fd, const void *data)
{
	struct parent			*ps = &parent_state;
	struct imsg_socket_gossip	 sg;
	struct iface_conf		*iface;
	struct gossip_given		*g;
	struct sockaddr_in6		 sin6;
	socklen_t			 slen;
	char				 dev[IFNAMSIZ];
	uint8_t				 control[16];
	uint32_t			 ii = 0;
	int				 v, fl;

	memcpy(&sg, data, sizeof(sg));
	if (memchr(sg.ifname, '\0', sizeof(sg.ifname)) == NULL)
		fuzz_fail("IMSG_SOCKET_GOSSIP: no NUL");
	if (peerid != ps->gen || txn_engine.open ||
	    txn_engine.ended != ps->gen)
		fuzz_fail("IMSG_SOCKET_GOSSIP for generation %u; the parent "
		    "has %u, the engine %u", peerid, ps->gen,
		    txn_engine.ended);
	TAILQ_FOREACH(iface, &ps->conf->ifaces, entry) {
		if (strcmp(iface->ifname, sg.ifname) == 0)
			break;
		ii++;
	}
	if (iface == NULL)
		fuzz_fail("IMSG_SOCKET_GOSSIP for %s, not configured",
		    sg.ifname);
	if (ii >= ps->ndevs || ps->devs[ii].wg == NULL ||
	    ps->devs[ii].peers == NULL)
		fuzz_fail("IMSG_SOCKET_GOSSIP for %s, not set up", sg.ifname);
	g = given(sg.ifname, 1);
	if (g->socket_gen == ps->gen)
		fuzz_fail("IMSG_SOCKET_GOSSIP for %s twice", sg.ifname);
	/* the control address: the key's, whatever the name */
	address_control(control, iface->public_key);
	if (g->socket && g->port == iface->gossip_port &&
	    memcmp(g->addr, control, 16) == 0)
		fuzz_fail("IMSG_SOCKET_GOSSIP for %s again, unchanged",
		    sg.ifname);

	slen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &slen) == -1 ||
	    v != AF_INET6)
		fuzz_fail("IMSG_SOCKET_GOSSIP: not an IPv6 socket");
	slen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &slen) == -1 ||
	    v != SOCK_DGRAM)
		fuzz_fail("IMSG_SOCKET_GOSSIP: not a datagram socket");
	slen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &slen) == -1 ||
	    v != IPPROTO_UDP)
		fuzz_fail("IMSG_SOCKET_GOSSIP: not UDP");
	slen = sizeof(v);
	if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &slen) == -1 ||
	    v != 1)
		fuzz_fail("IMSG_SOCKET_GOSSIP: not IPv6 only");
	slen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &v, &slen) == -1 ||
	    v != 1)
		fuzz_fail("IMSG_SOCKET_GOSSIP: no SO_REUSEPORT, so the LAN "
		    "socket cannot share its port");
	slen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, &slen) == -1 ||
	    v != 0)
		fuzz_fail("IMSG_SOCKET_GOSSIP: SO_REUSEADDR, so any local "
		    "user may bind beside it");
	if ((fl = fcntl(fd, F_GETFL)) == -1 || (fl & O_NONBLOCK) == 0)
		fuzz_fail("IMSG_SOCKET_GOSSIP: a socket that blocks");
	if ((fl = fcntl(fd, F_GETFD)) == -1 || (fl & FD_CLOEXEC) == 0)
		fuzz_fail("IMSG_SOCKET_GOSSIP: not close-on-exec");
	slen = sizeof(sin6);
	if (getsockname(fd, (struct sockaddr *)&sin6, &slen) == -1 ||
	    slen != sizeof(sin6) || sin6.sin6_family != AF_INET6 ||
	    ntohs(sin6.sin6_port) != iface->gossip_port ||
	    memcmp(&sin6.sin6_addr, control, 16) != 0)
		fuzz_fail("IMSG_SOCKET_GOSSIP: %s's socket bound elsewhere",
		    sg.ifname);
	/* tied to the device: by the stub, or by the kernel */
	memset(dev, 0, sizeof(dev));
	if (fd < FUZZ_MAXFD && binddev[fd][0] != '\0')
		memcpy(dev, binddev[fd], sizeof(dev));
	else {
		slen = sizeof(dev);	/* IFNAMSIZ, or EINVAL */
		if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev,
		    &slen) == -1 || memchr(dev, '\0', sizeof(dev)) == NULL)
			dev[0] = '\0';
	}
	if (fd < FUZZ_MAXFD)
		memset(binddev[fd], 0, sizeof(binddev[fd]));
	if (strcmp(dev, sg.ifname) != 0)
		fuzz_fail("IMSG_SOCKET_GOSSIP: %s's socket tied to \"%s\"",
		    sg.ifname, dev);
	g->socket = 1;
	g->socket_gen = ps->gen;
	g->port = iface->gossip_port;
	memcpy(g->addr, control, 16);
}

/* A bit for each interface name: the sets of lan_owners(). */
static uint32_t
name_bit(const char *ifname)
{
	size_t	i;

	for (i = 0; i < FUZZ_MAXNAMES && ifnames[i][0] != '\0'; i++)
		if (strcmp(ifnames[i], ifname) == 0)
			return (1U << i);
	if (i == FUZZ_MAXNAMES)
		fuzz_fail("too many interface names for the harness");
	strlcpy(ifnames[i], ifname, sizeof(ifnames[i]));
	return (1U << i);
}

/* The interfaces set up with LAN discovery on port, as a set. */
static uint32_t
lan_owners(uint16_t port)
{
	struct parent		*ps = &parent_state;
	struct iface_conf	*iface;
	uint32_t		 ii = 0, set = 0;

	TAILQ_FOREACH(iface, &ps->conf->ifaces, entry) {
		if (iface->lan_discovery && iface->gossip_port == port &&
		    ii < ps->ndevs && ps->devs[ii].wg != NULL &&
		    ps->devs[ii].peers != NULL)
			set |= name_bit(iface->ifname);
		ii++;
	}
	return (set);
}

static struct lan_given *
lan_find(uint16_t port, uint16_t af)
{
	size_t	i;

	for (i = 0; i < FUZZ_MAXLAN; i++)
		if (lan[i].port != 0 && lan[i].port == port &&
		    lan[i].af == af)
			return (&lan[i]);
	return (NULL);
}

/*
 * IMSG_SOCKET_LAN: for the configuration the engine has, the gossip port
 * of an interface the parent configured, that discovers on its LAN; a
 * UDP socket on the wildcard address and that port, that will not block
 * the engine.  IPv4: it can send to the broadcast address and learn
 * where a datagram was sent to.  IPv6 (after the IPv4 one): IPv6 only,
 * learns where a datagram was sent to and its hop limit, sends with hop
 * limit 255 and does not hear its own multicast.  Once per port, family
 * and configuration, and, as long as the engine keeps the socket, not
 * again unless the interfaces that discover on that port (set up)
 * changed in some configuration.
 */
static void
check_socket_lan(uint32_t peerid, int fd, const void *data)
{
	struct parent		*ps = &parent_state;
	struct imsg_socket_lan	 sl;
	struct lan_given	*l, *l4;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 slen;
	char			 dev[IFNAMSIZ];
	uint32_t		 owners;
	size_t			 i;
	int			 v, fl;

	memcpy(&sl, data, sizeof(sl));
	if (sl.af != AF_INET && sl.af != AF_INET6)
		fuzz_fail("IMSG_SOCKET_LAN: family %u", sl.af);
	if (peerid != ps->gen || txn_engine.open ||
	    txn_engine.ended != ps->gen)
		fuzz_fail("IMSG_SOCKET_LAN for generation %u; the parent "
		    "has %u, the engine %u", peerid, ps->gen,
		    txn_engine.ended);
	if (sl.port == 0 || (owners = lan_owners(sl.port)) == 0)
		fuzz_fail("IMSG_SOCKET_LAN for port %u, where no interface "
		    "set up discovers", sl.port);
	if ((l = lan_find(sl.port, sl.af)) != NULL && l->gen == ps->gen)
		fuzz_fail("IMSG_SOCKET_LAN for port %u twice", sl.port);
	if (l != NULL && !l->changed && l->owners == owners)
		fuzz_fail("IMSG_SOCKET_LAN for port %u again, its interfaces "
		    "unchanged", sl.port);
	if (sl.af == AF_INET6 && ((l4 = lan_find(sl.port, AF_INET)) ==
	    NULL || l4->gen != ps->gen))
		fuzz_fail("IMSG_SOCKET_LAN: IPv6 for port %u without IPv4",
		    sl.port);

	slen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &slen) == -1 ||
	    v != sl.af)
		fuzz_fail("IMSG_SOCKET_LAN: not a socket of family %u", sl.af);
	slen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &slen) == -1 ||
	    v != SOCK_DGRAM)
		fuzz_fail("IMSG_SOCKET_LAN: not a datagram socket");
	slen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &slen) == -1 ||
	    v != IPPROTO_UDP)
		fuzz_fail("IMSG_SOCKET_LAN: not UDP");
	if (sl.af == AF_INET) {
		slen = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_BROADCAST, &v, &slen) ==
		    -1 || v != 1)
			fuzz_fail("IMSG_SOCKET_LAN: cannot broadcast");
		slen = sizeof(v);
		if (getsockopt(fd, IPPROTO_IP, IP_PKTINFO, &v, &slen) == -1 ||
		    v != 1)
			fuzz_fail("IMSG_SOCKET_LAN: no IP_PKTINFO");
	} else {
		slen = sizeof(v);
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &slen) ==
		    -1 || v != 1)
			fuzz_fail("IMSG_SOCKET_LAN: not IPv6 only");
		slen = sizeof(v);
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &v,
		    &slen) == -1 || v != 1)
			fuzz_fail("IMSG_SOCKET_LAN: no IPV6_RECVPKTINFO");
		slen = sizeof(v);
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &v,
		    &slen) == -1 || v != 1)
			fuzz_fail("IMSG_SOCKET_LAN: no IPV6_RECVHOPLIMIT");
		slen = sizeof(v);
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v,
		    &slen) == -1 || v != 255)
			fuzz_fail("IMSG_SOCKET_LAN: unicast hop limit %d", v);
		slen = sizeof(v);
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &v,
		    &slen) == -1 || v != 255)
			fuzz_fail("IMSG_SOCKET_LAN: multicast hop limit %d",
			    v);
		slen = sizeof(v);
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &v,
		    &slen) == -1 || v != 0)
			fuzz_fail("IMSG_SOCKET_LAN: hears its own multicast");
	}
	slen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &v, &slen) == -1 ||
	    v != 1)
		fuzz_fail("IMSG_SOCKET_LAN: no SO_REUSEPORT, so no other "
		    "socket on that port once the engine has it");
	slen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, &slen) == -1 ||
	    v != 0)
		fuzz_fail("IMSG_SOCKET_LAN: SO_REUSEADDR, so any local user "
		    "may bind beside it");
	if ((fl = fcntl(fd, F_GETFL)) == -1 || (fl & O_NONBLOCK) == 0)
		fuzz_fail("IMSG_SOCKET_LAN: a socket that blocks");
	if ((fl = fcntl(fd, F_GETFD)) == -1 || (fl & FD_CLOEXEC) == 0)
		fuzz_fail("IMSG_SOCKET_LAN: not close-on-exec");
	slen = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &slen) == -1 ||
	    (sl.af == AF_INET && (slen != sizeof(*sin) ||
	    sin->sin_family != AF_INET || ntohs(sin->sin_port) != sl.port ||
	    sin->sin_addr.s_addr != htonl(INADDR_ANY))) ||
	    (sl.af == AF_INET6 && (slen != sizeof(*sin6) ||
	    sin6->sin6_family != AF_INET6 ||
	    ntohs(sin6->sin6_port) != sl.port ||
	    memcmp(&sin6->sin6_addr, &in6addr_any, 16) != 0)))
		fuzz_fail("IMSG_SOCKET_LAN: bound elsewhere than the "
		    "wildcard address and port %u", sl.port);
	/* the LAN is the underlay's, not any WireGuard device's */
	memset(dev, 0, sizeof(dev));
	slen = sizeof(dev);
	if ((fd < FUZZ_MAXFD && binddev[fd][0] != '\0') ||
	    (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &slen) == 0 &&
	    slen > 0 && dev[0] != '\0'))
		fuzz_fail("IMSG_SOCKET_LAN: tied to a device");

	if (l == NULL) {
		for (i = 0; i < FUZZ_MAXLAN && lan[i].port != 0; i++)
			;
		if (i == FUZZ_MAXLAN)
			fuzz_fail("too many LAN sockets for the harness");
		l = &lan[i];
	}
	l->port = sl.port;
	l->af = sl.af;
	l->gen = ps->gen;
	l->owners = owners;
	l->changed = 0;
}

/*
 * Once the parent has moved on to the storage process: every device it
 * configured has its peers' keys, and a socket where it is configured
 * now, and one for LAN discovery on its port if it discovers, unless one
 * could not be made.
 */
static void
check_gossip_given(void)
{
	struct parent		*ps = &parent_state;
	struct iface_conf	*iface;
	struct gossip_given	*g;
	uint8_t			 control[16];
	uint32_t		 ii = 0;
	size_t			 pi;

	TAILQ_FOREACH(iface, &ps->conf->ifaces, entry) {
		if (ii >= ps->ndevs || ps->devs[ii].wg == NULL ||
		    ps->devs[ii].peers == NULL) {
			ii++;
			continue;
		}
		ii++;
		if ((g = given(iface->ifname, 0)) == NULL)
			fuzz_fail("%s: no gossip keys, no socket",
			    iface->ifname);
		for (pi = 0; pi < iface->npeers && pi < FUZZ_MAXPEERS; pi++)
			if (g->key_gen[pi] != ps->gen)
				fuzz_fail("%s: peer #%zu has no gossip key",
				    iface->ifname, pi);
		if (iface->lan_discovery && lan_failed_gen != ps->gen &&
		    lan_find(iface->gossip_port, AF_INET) == NULL)
			fuzz_fail("%s: no LAN socket for port %u at the engine",
			    iface->ifname, iface->gossip_port);
		if (gossip_failed_gen == ps->gen)
			continue;
		address_control(control, iface->public_key);
		if (!g->socket || g->port != iface->gossip_port ||
		    memcmp(g->addr, control, 16) != 0)
			fuzz_fail("%s: no gossip socket where it is configured",
			    iface->ifname);
	}
}

/*
 * What the children would refuse, and die of: first what proto.h's
 * table refuses (a type the parent does not send, a payload of another
 * size, a descriptor missing or one too many), as each child checks it;
 * then which child takes each type, and what it must mean.
 */
static int
fuzz_imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid,
    int fd, const void *data, size_t len)
{
	struct parent		*ps = &parent_state;
	struct imsg_device_peer	 dp;
	struct imsg_lan_links	 ll;
	struct ctl_log_verbose	 lv;
	struct imsg		 imsg;
	const struct ctl_result	*r = data;
	struct iface_conf	*iface;
	const char		*why;
	uint32_t		 i, k;

	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = type;
	imsg.fd = fd;
	imsg.datalen = len;
	if ((why = imsg_check(&imsg, PROC_PARENT)) != NULL)
		fuzz_fail("the parent sends what is refused: %s", why);
	switch (type) {
	case IMSG_RECONF_BEGIN:
	case IMSG_RECONF_IFACE:
	case IMSG_RECONF_PEER:
	case IMSG_RECONF_END:
		check_txn(iev == &ps->iev_engine ? &txn_engine : &txn_storage,
		    type, 0, data);
		if (iev == &ps->iev_engine && type == IMSG_RECONF_END)
			given_prune();
		/* the parent is done with the engine's share */
		if (iev == &ps->iev_storage && type == IMSG_RECONF_BEGIN)
			check_gossip_given();
		break;
	case IMSG_PAIR_KEY:
		if (iev != &ps->iev_engine)
			fuzz_fail("IMSG_PAIR_KEY to storage");
		check_pair_key(peerid, data);
		break;
	case IMSG_SOCKET_GOSSIP:
		if (iev != &ps->iev_engine)
			fuzz_fail("IMSG_SOCKET_GOSSIP to storage");
		check_socket_gossip(peerid, fd, data);
		break;
	case IMSG_SOCKET_LAN:
		if (iev != &ps->iev_engine)
			fuzz_fail("IMSG_SOCKET_LAN to storage");
		check_socket_lan(peerid, fd, data);
		break;
	case IMSG_CTL_RESULT:
	case IMSG_CTL_END:
		if (iev != &ps->iev_engine ||
		    memchr(r->text, '\0', sizeof(r->text)) == NULL)
			fuzz_fail("%s to storage, or no NUL",
			    imsg_type_name(type));
		/* a client waiting for the reload, or one turned away */
		for (i = 0; reloading && i < ps->nreload_clients; i++)
			if (ps->reload_clients[i] == peerid)
				break;
		if (peerid == 0 || ((!reloading ||
		    i == ps->nreload_clients) &&
		    (type != IMSG_CTL_END ||
		    fuzz_cur_hdr.type != IMSG_CTL_RELOAD ||
		    peerid != fuzz_cur_hdr.peerid)))
			fuzz_fail("%s for client %u, asked by %s from %u",
			    imsg_type_name(type), peerid,
			    imsg_type_name(fuzz_cur_hdr.type),
			    fuzz_cur_hdr.peerid);
		break;
	case IMSG_CTL_LOG_VERBOSE:
		if (iev != &ps->iev_storage)
			fuzz_fail("IMSG_CTL_LOG_VERBOSE to the engine");
		memcpy(&lv, data, sizeof(lv));
		if (lv.level < 0 || lv.level > 2)
			fuzz_fail("IMSG_CTL_LOG_VERBOSE %d", (int)lv.level);
		break;
	case IMSG_DEVICE_PEER:
		if (iev != &ps->iev_engine || peerid != ps->gen)
			fuzz_fail("IMSG_DEVICE_PEER to storage, or for "
			    "generation %u", peerid);
		memcpy(&dp, data, sizeof(dp));
		i = 0;
		TAILQ_FOREACH(iface, &ps->conf->ifaces, entry)
			if (i++ == dp.iface)
				break;
		if (iface == NULL || dp.peer >= iface->npeers)
			fuzz_fail("IMSG_DEVICE_PEER for peer %u/%u", dp.iface,
			    dp.peer);
		if (dp.endpoint.af != 0 && dp.endpoint.af != AF_INET &&
		    dp.endpoint.af != AF_INET6)
			fuzz_fail("IMSG_DEVICE_PEER: family %u",
			    dp.endpoint.af);
		if (dp.endpoint.scope != 0 && (dp.endpoint.af != AF_INET6 ||
		    dp.endpoint.addr[0] != 0xfe ||
		    (dp.endpoint.addr[1] & 0xc0) != 0x80))
			fuzz_fail("IMSG_DEVICE_PEER: a scope on an address "
			    "that is not link-local");
		break;
	case IMSG_LAN_LINKS:
		if (iev != &ps->iev_engine)
			fuzz_fail("IMSG_LAN_LINKS to storage");
		memcpy(&ll, data, sizeof(ll));
		if (ll.nlinks > IMSG_LAN_LINKS_MAX)
			fuzz_fail("IMSG_LAN_LINKS: %u links", ll.nlinks);
		for (i = 0; i < ll.nlinks; i++) {
			if (ll.ifindex[i] == 0)
				fuzz_fail("IMSG_LAN_LINKS: interface index 0");
			for (k = 0; k < i; k++)
				if (ll.ifindex[k] == ll.ifindex[i])
					fuzz_fail("IMSG_LAN_LINKS: link %u "
					    "twice", ll.ifindex[i]);
		}
		break;
	default:
		fuzz_fail("%s to a child", imsg_type_name(type));
	}
	return (imsgev_compose(iev, type, peerid, fd, data, len));
}

static void
write_file(const char *path, const char *text)
{
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || write(fd, text, strlen(text)) !=
	    (ssize_t)strlen(text) || close(fd) == -1)
		fuzz_fail("%s: %s", path, strerror(errno));
}

/* The configuration every input starts from: configuration 0. */
static void
setup(void)
{
	struct parent	*ps = &parent_state;

	applying = 1;
	fail = 0;
	memset(&txn_engine, 0, sizeof(txn_engine));
	memset(&txn_storage, 0, sizeof(txn_storage));
	memset(gossip, 0, sizeof(gossip));
	gossip_failed_gen = 0;
	memset(lan, 0, sizeof(lan));
	lan_failed_gen = 0;
	if ((ps->conf = parse_config(confs[0])) == NULL ||
	    conf_load_keys(ps->conf, 0) == -1 ||
	    parent_devices_apply(ps->conf, NULL) == -1)
		fuzz_fail("the first configuration is refused");
	applying = 0;
	if (ps->gen != 1 || ps->ndevs != 2 || nhandles != 2)
		fuzz_fail("the first configuration is not applied");
	configured = 1;
}

static void
teardown(void)
{
	struct parent	*ps = &parent_state;
	size_t		 i;

	for (i = 0; i < ps->ndevs; i++)
		device_close(&ps->devs[i]);
	free(ps->devs);
	ps->devs = NULL;
	ps->ndevs = 0;
	conf_free(ps->conf);
	ps->conf = NULL;
	ps->gen = 0;
	if (nhandles != 0)
		fuzz_fail("%zu device handles left open", nhandles);
	configured = 0;
}

static void
remove_tmpdir(void)
{
	char	path[PATH_MAX];
	int	i;

	for (i = 0; i < FUZZ_NCONF; i++)
		unlink(confs[i]);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/wg%d.key", tmpdir, i);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/mesh.psk", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

/* Looked at when queued; nobody reads them here. */
static void
drop_queues(void)
{
	struct parent	*ps = &parent_state;

	fuzz_queue_drop(&ps->iev_engine.ibuf);
	fuzz_queue_drop(&ps->iev_storage.ibuf);
}

/*
 * After each read: what the children would have taken, and a reload
 * asked for done at once, as the timer would once its time came (the
 * queues are empty, so it is not put off).  A fatal() in it is taken as
 * one in the dispatch that asked.
 */
static void
after_dispatch(void)
{
	struct parent	*ps = &parent_state;

	drop_queues();
	if (!ps->reload_wanted)
		return;
	evtimer_del(ps->ev_reload);
	reloading = 1;
	parent_reload_run(-1, EV_TIMEOUT, ps);
	reloading = 0;
	if (ps->reload_wanted || ps->nreload_clients != 0)
		fuzz_fail("a reload left waiting");
	drop_queues();
}

/* Lets the parent read until the pipe is empty; -1 after fatal(). */
static int
deliver(struct fuzz_pipe *fp)
{
	static const struct fuzz_hooks	 hooks = {
		NULL, after_dispatch, NULL
	};
	struct parent			*ps = &parent_state;

	if (fp == &pe)
		return (fuzz_deliver(fp, ps->iev_engine.ibuf.fd,
		    parent_dispatch_engine, ps, &hooks));
	return (fuzz_deliver(fp, ps->iev_storage.ibuf.fd,
	    parent_dispatch_storage, ps, &hooks));
}

static size_t
payload(struct fuzz_in *in, uint32_t type, uint8_t *buf)
{
	struct parent			*ps = &parent_state;
	struct imsg_set_endpoint	 req;
	uint8_t				 sel;
	int				 v;

	switch (type) {
	case IMSG_SET_ENDPOINT:
		memset(&req, 0, sizeof(req));
		sel = fuzz_u8(in);
		req.iface = sel < 0xf0 ? sel % (ps->ndevs + 1) : fuzz_u32(in);
		sel = fuzz_u8(in);
		req.peer = sel < 0xf0 ? sel % 5 : fuzz_u32(in);
		fuzz_addr(in, &req.endpoint);
		/* mostly none or the configured one, as the engine asks */
		sel = fuzz_u8(in);
		req.keepalive = sel < 0x80 ? 0 : sel < 0xf0 ?
		    (req.iface == 1 ? 15 : 25) : fuzz_u16(in);
		/* now and then a new path: the peer made anew */
		req.flags = (sel & 1) ? SET_ENDPOINT_ANEW : 0;
		memcpy(buf, &req, sizeof(req));
		return (sizeof(req));
	case IMSG_CTL_LOG_VERBOSE:
		sel = fuzz_u8(in);
		v = sel < 0xf0 ? sel % 5 - 1 : (int)fuzz_u32(in);
		memcpy(buf, &v, sizeof(v));
		return (sizeof(v));
	default:
		return (0);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char	*names[FUZZ_NKEYS] = { "alpha", "beta",
				    "gamma", "delta", "epsilon" };
	/* configurations 0, 3, 4 and 5 */
	static const char	*wg0_lan[4] = { "", "",
				    "	gossip-port 1667\n",
				    "	lan-discovery no\n" };
	static const char	*wg1_lan[4] = { "	gossip-port 1667\n",
				    "	gossip-port 1667\n",
				    "	gossip-port 1667\n"
				    "	lan-discovery no\n",
				    "	gossip-port 1666\n" };
	char			 path[PATH_MAX];
	char			 key[FUZZ_NKEYS][WG_KEY_B64_LEN];
	char			 text[4096];
	uint8_t			 priv[WG_KEY_LEN];
	int			 i;

	fuzz_init(1);
	if (sodium_init() == -1)
		fuzz_fail("sodium_init");
	if (mkdtemp(tmpdir) == NULL)
		fuzz_fail("mkdtemp: %s", strerror(errno));
	fuzz_atexit(remove_tmpdir);
	for (i = 0; i < 3; i++) {
		memset(priv, 0x10 * (i + 1), sizeof(priv));
		key_to_base64(key[0], priv);
		snprintf(path, sizeof(path), "%s/wg%d.key", tmpdir, i);
		snprintf(text, sizeof(text), "%s\n", key[0]);
		write_file(path, text);
	}
	snprintf(path, sizeof(path), "%s/mesh.psk", tmpdir);
	memset(priv, 0x77, sizeof(priv));
	key_to_base64(key[0], priv);
	snprintf(text, sizeof(text), "%s\n", key[0]);
	write_file(path, text);
	for (i = 0; i < FUZZ_NKEYS; i++)
		key_to_base64(key[i], fuzz_keys[i]);

	for (i = 0; i < FUZZ_NCONF; i++)
		snprintf(confs[i], sizeof(confs[i]), "%s/%d.conf", tmpdir, i);
	/*
	 * 0: the first, and 3, the same; 4 and 5: as 0, but with both on
	 * one gossip port, one of them without LAN discovery
	 */
	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text),
		    "interface wg0 {\n"
		    "	name \"bernard\"\n"
		    "	private-key-file \"%1$s/wg0.key\"\n"
		    "	preshared-key-file \"%1$s/mesh.psk\"\n"
		    "%12$s"
		    "	peer \"%2$s\" { public-key \"%7$s\"\n"
		    "		endpoint \"198.18.0.1:51820\" }\n"
		    "	peer \"%3$s\" { public-key \"%8$s\"\n"
		    "		endpoint \"[fd00::b]:51820\" }\n"
		    "	peer \"%4$s\" { public-key \"%9$s\"\n"
		    "		endpoint \"gamma.example:51820\" }\n"
		    "}\n"
		    "interface wg1 {\n"
		    "	name \"bernard\"\n"
		    "	private-key-file \"%1$s/wg1.key\"\n"
		    "	gossip-secret-file \"%1$s/mesh.psk\"\n"
		    "	listen-port 51821\n"
		    "%13$s"
		    "	persistent-keepalive 15\n"
		    "	peer \"%5$s\" { public-key \"%10$s\" }\n"
		    "	peer \"%6$s\" { public-key \"%11$s\"\n"
		    "		endpoint \"epsilon.example:443\"\n"
		    "		persistent-keepalive 0 }\n"
		    "}\n", tmpdir, names[0], names[1], names[2], names[3],
		    names[4], key[0], key[1], key[2], key[3], key[4],
		    wg0_lan[i], wg1_lan[i]);
		write_file(confs[i < 2 ? 3 * i : i + 2], text);
	}
	/* 1: wg1 gone, wg2 new, wg0's peers changed */
	snprintf(text, sizeof(text),
	    "interface wg0 {\n"
	    "	name \"bernard\"\n"
	    "	private-key-file \"%1$s/wg0.key\"\n"
	    "	peer \"%3$s\" { public-key \"%5$s\" }\n"
	    "	peer \"%2$s\" { public-key \"%4$s\"\n"
	    "		endpoint \"198.18.0.9:51820\" }\n"
	    "}\n"
	    "interface wg2 {\n"
	    "	name \"bernard\"\n"
	    "	private-key-file \"%1$s/wg2.key\"\n"
	    "	listen-port 51822\n"
	    "	gossip-port 1668\n"
	    "	peer \"zeta\" { public-key \"%6$s\" }\n"
	    "}\n", tmpdir, names[0], names[1], key[0], key[1], key[4]);
	write_file(confs[1], text);
	/* 2: refused */
	write_file(confs[2], "interface wg0 {\n\tlisten-port nope\n}\n");
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		 buf[MAX_IMSGSIZE];
	struct parent		*ps = &parent_state;
	struct fuzz_in		 in = { data, size };
	struct fuzz_pipe	*fp, *held = NULL;
	uint32_t		 type, peerid;
	size_t			 len, ops;
	uint8_t			 flags, op, sel;
	int			 fd, fatal = 0;

	if (!configured)
		setup();
	memset(&txn_engine, 0, sizeof(txn_engine));
	memset(&txn_storage, 0, sizeof(txn_storage));
	/* as main() would have sent it */
	txn_engine.ended = txn_storage.ended = ps->gen;
	ps->base = fuzz_event_base();
	/* parent_poll() arms it again; the base is never run */
	if (ps->ev_poll == NULL && (ps->ev_poll = evtimer_new(ps->base,
	    parent_poll, ps)) == NULL)
		fuzz_fail("evtimer_new");
	ps->engine_pid = ps->storage_pid = 0;
	ps->control_fd = -1;
	if (ps->ev_reload == NULL && (ps->ev_reload = evtimer_new(ps->base,
	    parent_reload_run, ps)) == NULL)
		fuzz_fail("evtimer_new");
	evtimer_del(ps->ev_reload);
	ps->nreload_clients = 0;
	ps->reload_wanted = 0;
	reloading = 0;
	fuzz_pipe_open(&pe);
	fuzz_pipe_open(&pst);
	imsgev_init(&ps->iev_engine, ps->base, pe.theirs,
	    parent_dispatch_engine, ps);
	imsgev_init(&ps->iev_storage, ps->base, pst.theirs,
	    parent_dispatch_storage, ps);
	/* as main() has them */
	imsgev_pipe(&ps->iev_engine, "the engine", 0);
	imsgev_pipe(&ps->iev_storage, "the storage process", 0);

	flags = fuzz_u8(&in);
	log_setverbose((flags & 3) % 3);
	fail = (flags >> 2) & 0x1f;
	ps->conffile = confs[flags >> 7];
	fuzz_addr(&in, &dev_endpoint);

	for (ops = 0; ops < FUZZ_MAXOPS && in.len > 0 && !fatal; ops++) {
		op = fuzz_u8(&in);
		sel = op & 0x1f;
		fp = &pe;
		if (sel >= 23 && sel <= 26) {
			/* these come after what is held back */
			if (held != NULL && (fatal = deliver(held) == -1))
				break;
			held = NULL;
		}
		switch (sel) {
		case 22:
			type = fuzz_type(fuzz_u32(&in));
			break;
		case 23:
			fp = &pst;
			type = fuzz_type(fuzz_u8(&in));
			break;
		case 24:
			ps->conffile = confs[fuzz_u8(&in) % FUZZ_NCONF];
			continue;
		case 25:
			fail = fuzz_u8(&in);
			continue;
		case 26:
			if (setjmp(fuzz_jmp) != 0)
				fuzz_fail("fatal in a poll: %s",
				    log_fuzz_fatalmsg());
			parent_poll(-1, EV_TIMEOUT, ps);
			fuzz_queue_drop(&ps->iev_engine.ibuf);
			continue;
		case 27:
		case 28:
		case 29:
			type = IMSG_SET_ENDPOINT;
			break;
		case 30:
			type = IMSG_CTL_RELOAD;
			break;
		case 31:
			type = IMSG_CTL_LOG_VERBOSE;
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
			peerid = ps->gen;
			break;
		case 1:
			peerid = ps->gen - 1;
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
		if ((op & 0x80) && fp == &pe) {
			held = fp;	/* to arrive with the next one */
			continue;
		}
		held = NULL;
		/* a reload may call wg_set() through device_apply() */
		fatal = deliver(fp) == -1;
	}
	if (held != NULL && !fatal)
		fatal = deliver(held) == -1;

	imsgev_clear(&ps->iev_engine);
	imsgev_clear(&ps->iev_storage);
	fuzz_pipe_close(&pe);
	fuzz_pipe_close(&pst);
	log_capture(NULL, NULL);
	fuzz_fd_sweep(fatal);
	log_setverbose(0);
	/* a reload, or a fatal error during one, changed the state */
	if (ps->gen != 1 || (fatal && reloading))
		teardown();
	reloading = 0;
	return (0);
}
