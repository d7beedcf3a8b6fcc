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
 * The kernel backend: WireGuard's generic netlink family, through libmnl.
 *
 * A device read is a dump (WG_CMD_GET_DEVICE with NLM_F_DUMP) that the
 * kernel spreads over as many messages as it needs; a peer whose
 * allowed-ips do not fit in one message continues in the next, under the
 * same public key, and is merged here.  A device write (WG_CMD_SET_DEVICE)
 * is split the same way when it does not fit in one message: a peer cut
 * in two continues in the next message with only its public key and the
 * rest of its allowed-ips, flagged update-only so that it cannot come back
 * to life if something removed it in between.  Every message is
 * acknowledged before the next is sent.
 *
 * Every attribute used is checked for type and length; unknown ones
 * (including the padding that precedes 64-bit counters) are skipped.
 * Buffers that held a private or preshared key are wiped after use.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <sodium.h>

#include "wgmeshd.h"
#include "netlink.h"
#include "parent.h"

#define WGNL_TIMEOUT_SEC	5
#define WGNL_RCVBUF		32768	/* a dump message fits */
#define WGNL_MSGBUF		8192	/* a set message, at most */
#define WGNL_DUMP_TRIES		4

struct wgnl {
	struct mnl_socket	*sock;
	uint32_t		 portid;
	uint32_t		 seq;
	uint16_t		 family;
	uint8_t			 rbuf[WGNL_RCVBUF];
	uint8_t			 sbuf[WGNL_MSGBUF];
};

/* What the walk over received messages reports and checks. */
struct nl_walk {
	int		 check;		/* match seq and portid */
	uint32_t	 seq;
	uint32_t	 portid;
	uint16_t	 type;		/* of data messages; 0: any */
	int		 interrupted;	/* a dump saw NLM_F_DUMP_INTR */
	int		 (*cb)(const struct nlmsghdr *, void *);
	void		*arg;
};

struct allowed_parse {
	uint32_t	 seen;		/* attribute types */
	uint16_t	 family;
	uint16_t	 alen;
	uint8_t		 addr[16];
	uint8_t		 cidr;
};

struct peer_parse {
	struct wg_peer		*peer;
	const uint8_t		*public_key;
};

typedef int (*attr_cb)(const struct nlattr *, void *);

static int	 attr_walk(const void *, size_t, attr_cb, void *);
static int	 nl_walk(const void *, size_t, struct nl_walk *);
static int	 nl_request(struct wgnl *, struct nlmsghdr *,
		    struct nl_walk *);
static int	 family_attr(const struct nlattr *, void *);
static int	 family_cb(const struct nlmsghdr *, void *);
static int	 allowedip_attr(const struct nlattr *, void *);
static int	 allowedip_one(const struct nlattr *, void *);
static int	 peer_key_attr(const struct nlattr *, void *);
static int	 peer_attr(const struct nlattr *, void *);
static int	 peer_one(const struct nlattr *, void *);
static int	 device_attr(const struct nlattr *, void *);
static int	 device_cb(const struct nlmsghdr *, void *);
static struct nlmsghdr *msg_start(struct wgnl *, uint8_t *, uint16_t,
		    uint8_t, uint16_t);
static int	 put_allowed(struct nlmsghdr *, const struct prefix *);
static int	 put_peer(struct nlmsghdr *, const struct wg_peer_set *,
		    size_t *);

/*
 * Attributes in [start, start + len), strictly: the walk must end exactly
 * at the end, give or take the last attribute's alignment padding.
 */
static int
attr_walk(const void *start, size_t len, attr_cb cb, void *arg)
{
	const struct nlattr	*a = start;
	int			 rem;

	if (len > INT32_MAX) {
		errno = EBADMSG;
		return (-1);
	}
	rem = (int)len;
	while (mnl_attr_ok(a, rem)) {
		if (cb(a, arg) == -1)
			return (-1);
		rem -= MNL_ALIGN(a->nla_len);
		a = mnl_attr_next(a);
	}
	if (rem > 0) {
		errno = EBADMSG;
		return (-1);
	}
	return (0);
}

/*
 * Messages in a buffer, the way attr_walk() takes attributes.  Returns 1
 * after the message that ends the exchange (NLMSG_DONE or an ack), 0 when
 * more is to come, -1 on an error, with errno from the kernel's error
 * message where there was one.
 */
static int
nl_walk(const void *buf, size_t len, struct nl_walk *w)
{
	const struct nlmsghdr	*nlh;
	const struct nlmsgerr	*err;
	const uint8_t		*p = buf;
	size_t			 rem = len;
	int			 code;

	for (; rem > 0; nl_next(&p, &rem)) {
		nlh = (const struct nlmsghdr *)p;
		if (!nl_msg_ok(nlh, rem)) {
			errno = EBADMSG;
			return (-1);
		}
		if (w->check && (nlh->nlmsg_seq != w->seq ||
		    nlh->nlmsg_pid != w->portid))
			continue;	/* left over from an earlier request */
		if ((nlh->nlmsg_flags & NLM_F_DUMP_INTR) != 0)
			w->interrupted = 1;
		switch (nlh->nlmsg_type) {
		case NLMSG_NOOP:
			continue;
		case NLMSG_ERROR:
			if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*err)) {
				errno = EBADMSG;
				return (-1);
			}
			err = mnl_nlmsg_get_payload(nlh);
			if (err->error == 0)
				return (1);
			errno = err->error < 0 && err->error > -4096 ?
			    -err->error : EIO;
			return (-1);
		case NLMSG_DONE:
			if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
				memcpy(&code, mnl_nlmsg_get_payload(nlh),
				    sizeof(code));
				if (code < 0) {
					errno = code > -4096 ? -code : EIO;
					return (-1);
				}
			}
			return (1);
		case NLMSG_OVERRUN:
			errno = ENOBUFS;
			return (-1);
		}
		if (nlh->nlmsg_type < NLMSG_MIN_TYPE ||
		    (w->type != 0 && nlh->nlmsg_type != w->type)) {
			errno = EBADMSG;
			return (-1);
		}
		if (w->cb == NULL)
			continue;
		if (w->cb(nlh, w->arg) == -1) {
			if (errno == 0)
				errno = EBADMSG;
			return (-1);
		}
	}
	return (0);
}

/*
 * Sends one request and reads until its ack, NLMSG_DONE or an error; the
 * caller logs, errno says what went wrong.
 */
static int
nl_request(struct wgnl *nl, struct nlmsghdr *nlh, struct nl_walk *w)
{
	ssize_t	n;
	int	rv;

	w->check = 1;
	w->seq = nlh->nlmsg_seq;
	w->portid = nl->portid;
	w->interrupted = 0;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) == -1)
		return (-1);
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->rbuf, sizeof(nl->rbuf));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				errno = ETIMEDOUT;
			return (-1);
		}
		errno = 0;
		rv = nl_walk(nl->rbuf, n, w);
		if (rv == -1)
			return (-1);
		if (rv == 1)
			return (0);
	}
}

static int
family_attr(const struct nlattr *a, void *arg)
{
	uint16_t	*family = arg;

	if (mnl_attr_get_type(a) != CTRL_ATTR_FAMILY_ID)
		return (0);
	if (mnl_attr_validate(a, MNL_TYPE_U16) == -1)
		return (-1);
	*family = mnl_attr_get_u16(a);
	return (0);
}

static int
family_cb(const struct nlmsghdr *nlh, void *arg)
{
	if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN)
		return (-1);
	return (attr_walk(mnl_nlmsg_get_payload_offset(nlh, GENL_HDRLEN),
	    mnl_nlmsg_get_payload_len(nlh) - GENL_HDRLEN, family_attr, arg));
}

static struct nlmsghdr *
msg_start(struct wgnl *nl, uint8_t *buf, uint16_t type, uint8_t cmd,
    uint16_t flags)
{
	struct nlmsghdr		*nlh;
	struct genlmsghdr	*genl;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = type == GENL_ID_CTRL ? 1 : WG_GENL_VERSION;
	return (nlh);
}

struct wgnl *
wgnl_open(void)
{
	struct wgnl	*nl;
	struct nl_walk	 w;
	struct nlmsghdr	*nlh;
	struct timeval	 tv;
	int		 one = 1;

	if ((nl = calloc(1, sizeof(*nl))) == NULL) {
		log_warn("wireguard netlink");
		return (NULL);
	}
	if ((nl->sock = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC)) ==
	    NULL || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) == -1) {
		log_warn("wireguard netlink socket");
		goto fail;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	/* The kernel answers at once; a bound stops a wedged exchange. */
	tv.tv_sec = WGNL_TIMEOUT_SEC;
	tv.tv_usec = 0;
	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO,
	    &tv, sizeof(tv)) == -1) {
		log_warn("wireguard netlink: SO_RCVTIMEO");
		goto fail;
	}
	/* Acks without a copy of the request, which may hold keys. */
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one,
	    sizeof(one));

	nlh = msg_start(nl, nl->sbuf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
	    NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	memset(&w, 0, sizeof(w));
	w.type = GENL_ID_CTRL;
	w.cb = family_cb;
	w.arg = &nl->family;
	if (nl_request(nl, nlh, &w) == -1) {
		if (errno == ENOENT)
			log_warnx("wireguard netlink family: not found (is "
			    "the wireguard module loaded?)");
		else
			log_warn("wireguard netlink family");
		goto fail;
	}
	if (nl->family == 0) {
		log_warnx("wireguard netlink family: no family id");
		goto fail;
	}
	return (nl);

 fail:
	wgnl_close(nl);
	return (NULL);
}

void
wgnl_close(struct wgnl *nl)
{
	if (nl == NULL)
		return;
	if (nl->sock != NULL)
		mnl_socket_close(nl->sock);
	sodium_memzero(nl, sizeof(*nl));
	free(nl);
}

static int
allowedip_attr(const struct nlattr *a, void *arg)
{
	struct allowed_parse	*ap = arg;
	uint16_t		 type = mnl_attr_get_type(a);

	if (type > WGALLOWEDIP_A_MAX || type == WGALLOWEDIP_A_UNSPEC)
		return (0);
	if ((ap->seen & (1U << type)) != 0)
		return (-1);
	ap->seen |= 1U << type;
	switch (type) {
	case WGALLOWEDIP_A_FAMILY:
		if (mnl_attr_validate(a, MNL_TYPE_U16) == -1)
			return (-1);
		ap->family = mnl_attr_get_u16(a);
		break;
	case WGALLOWEDIP_A_IPADDR:
		ap->alen = mnl_attr_get_payload_len(a);
		if (ap->alen != 4 && ap->alen != 16)
			return (-1);
		memcpy(ap->addr, mnl_attr_get_payload(a), ap->alen);
		break;
	case WGALLOWEDIP_A_CIDR_MASK:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == -1)
			return (-1);
		ap->cidr = mnl_attr_get_u8(a);
		break;
	}
	return (0);
}

/* One allowed-ip: a nest with family, address and length, all three. */
static int
allowedip_one(const struct nlattr *a, void *arg)
{
	struct wg_peer		*peer = arg;
	struct allowed_parse	 ap;
	struct prefix		 p;

	if (mnl_attr_validate(a, MNL_TYPE_NESTED) == -1)
		return (-1);
	memset(&ap, 0, sizeof(ap));
	if (attr_walk(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a),
	    allowedip_attr, &ap) == -1)
		return (-1);
	if (ap.seen != ((1U << WGALLOWEDIP_A_FAMILY) |
	    (1U << WGALLOWEDIP_A_IPADDR) | (1U << WGALLOWEDIP_A_CIDR_MASK)))
		return (-1);
	memset(&p, 0, sizeof(p));
	if (ap.family == AF_INET && ap.alen == 4 && ap.cidr <= 32)
		p.af = AF_INET;
	else if (ap.family == AF_INET6 && ap.alen == 16 && ap.cidr <= 128)
		p.af = AF_INET6;
	else
		return (-1);
	p.plen = ap.cidr;
	memcpy(&p.addr, ap.addr, ap.alen);
	prefix_mask(&p);
	return (wg_peer_add_allowed(peer, &p));
}

static int
peer_key_attr(const struct nlattr *a, void *arg)
{
	struct peer_parse	*pp = arg;

	if (mnl_attr_get_type(a) != WGPEER_A_PUBLIC_KEY)
		return (0);
	if (mnl_attr_validate2(a, MNL_TYPE_BINARY, WG_KEY_LEN) == -1 ||
	    pp->public_key != NULL)
		return (-1);
	pp->public_key = mnl_attr_get_payload(a);
	return (0);
}

static int
peer_attr(const struct nlattr *a, void *arg)
{
	struct peer_parse		*pp = arg;
	struct wg_peer			*peer = pp->peer;
	const struct sockaddr		*sa;
	struct sockaddr_in		 sin;
	struct sockaddr_in6		 sin6;
	int64_t				 ts[2];
	uint16_t			 len;

	switch (mnl_attr_get_type(a)) {
	case WGPEER_A_PRESHARED_KEY:
		if (mnl_attr_validate2(a, MNL_TYPE_BINARY, WG_KEY_LEN) == -1)
			return (-1);
		peer->has_psk = !sodium_is_zero(mnl_attr_get_payload(a),
		    WG_KEY_LEN);
		break;
	case WGPEER_A_FLAGS:
	case WGPEER_A_PROTOCOL_VERSION:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == -1)
			return (-1);
		break;
	case WGPEER_A_ENDPOINT:
		len = mnl_attr_get_payload_len(a);
		sa = mnl_attr_get_payload(a);
		if (len < sizeof(sa->sa_family))
			return (-1);
		memset(&peer->endpoint, 0, sizeof(peer->endpoint));
		if (len == sizeof(sin) && sa->sa_family == AF_INET) {
			memcpy(&sin, sa, sizeof(sin));
			memcpy(&peer->endpoint, &sin, sizeof(sin));
		} else if (len == sizeof(sin6) && sa->sa_family == AF_INET6) {
			memcpy(&sin6, sa, sizeof(sin6));
			memcpy(&peer->endpoint, &sin6, sizeof(sin6));
		} else
			return (-1);
		break;
	case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
		if (mnl_attr_validate(a, MNL_TYPE_U16) == -1)
			return (-1);
		peer->keepalive = mnl_attr_get_u16(a);
		break;
	case WGPEER_A_LAST_HANDSHAKE_TIME:
		/* struct __kernel_timespec: two 64-bit fields */
		if (mnl_attr_validate2(a, MNL_TYPE_BINARY, sizeof(ts)) == -1)
			return (-1);
		memcpy(ts, mnl_attr_get_payload(a), sizeof(ts));
		if (ts[0] < 0 || ts[1] < 0 || ts[1] > 999999999)
			return (-1);
		peer->last_handshake = ts[0];
		break;
	case WGPEER_A_RX_BYTES:
		if (mnl_attr_validate(a, MNL_TYPE_U64) == -1)
			return (-1);
		peer->rx_bytes = mnl_attr_get_u64(a);
		break;
	case WGPEER_A_TX_BYTES:
		if (mnl_attr_validate(a, MNL_TYPE_U64) == -1)
			return (-1);
		peer->tx_bytes = mnl_attr_get_u64(a);
		break;
	case WGPEER_A_ALLOWEDIPS:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) == -1)
			return (-1);
		if (attr_walk(mnl_attr_get_payload(a),
		    mnl_attr_get_payload_len(a), allowedip_one, peer) == -1)
			return (-1);
		break;
	}
	return (0);
}

/*
 * One peer.  The kernel continues a peer in the next message under the
 * same public key, so a peer with the key of the last one is that peer.
 */
static int
peer_one(const struct nlattr *a, void *arg)
{
	struct wg_device	*dev = arg;
	struct wg_peer		*last;
	struct peer_parse	 pp;

	if (mnl_attr_validate(a, MNL_TYPE_NESTED) == -1)
		return (-1);
	memset(&pp, 0, sizeof(pp));
	if (attr_walk(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a),
	    peer_key_attr, &pp) == -1 || pp.public_key == NULL)
		return (-1);
	last = dev->npeers > 0 ? &dev->peers[dev->npeers - 1] : NULL;
	if (last != NULL &&
	    memcmp(last->public_key, pp.public_key, WG_KEY_LEN) == 0)
		pp.peer = last;
	else {
		if ((pp.peer = wg_device_add_peer(dev)) == NULL)
			return (-1);
		memcpy(pp.peer->public_key, pp.public_key, WG_KEY_LEN);
	}
	return (attr_walk(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a),
	    peer_attr, &pp));
}

static int
device_attr(const struct nlattr *a, void *arg)
{
	struct wg_device	*dev = arg;
	const char		*name;
	uint16_t		 len;

	switch (mnl_attr_get_type(a)) {
	case WGDEVICE_A_IFINDEX:
	case WGDEVICE_A_FLAGS:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == -1)
			return (-1);
		break;
	case WGDEVICE_A_IFNAME:
		len = mnl_attr_get_payload_len(a);
		name = mnl_attr_get_payload(a);
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == -1 ||
		    len > IFNAMSIZ || strnlen(name, len) != len - 1U ||
		    len == 1)
			return (-1);
		if (dev->ifname[0] == '\0')
			memcpy(dev->ifname, name, len);
		else if (strcmp(dev->ifname, name) != 0)
			return (-1);
		break;
	case WGDEVICE_A_PRIVATE_KEY:
		/* Only whether there is one; the public key comes along. */
		if (mnl_attr_validate2(a, MNL_TYPE_BINARY, WG_KEY_LEN) == -1)
			return (-1);
		dev->has_private_key = !sodium_is_zero(mnl_attr_get_payload(a),
		    WG_KEY_LEN);
		break;
	case WGDEVICE_A_PUBLIC_KEY:
		if (mnl_attr_validate2(a, MNL_TYPE_BINARY, WG_KEY_LEN) == -1)
			return (-1);
		memcpy(dev->public_key, mnl_attr_get_payload(a), WG_KEY_LEN);
		break;
	case WGDEVICE_A_LISTEN_PORT:
		if (mnl_attr_validate(a, MNL_TYPE_U16) == -1)
			return (-1);
		dev->listen_port = mnl_attr_get_u16(a);
		break;
	case WGDEVICE_A_FWMARK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == -1)
			return (-1);
		dev->fwmark = mnl_attr_get_u32(a);
		break;
	case WGDEVICE_A_PEERS:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) == -1)
			return (-1);
		if (attr_walk(mnl_attr_get_payload(a),
		    mnl_attr_get_payload_len(a), peer_one, dev) == -1)
			return (-1);
		break;
	}
	return (0);
}

static int
device_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct genlmsghdr	*genl;

	if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN)
		return (-1);
	genl = mnl_nlmsg_get_payload(nlh);
	if (genl->cmd != WG_CMD_GET_DEVICE)
		return (-1);
	return (attr_walk(mnl_nlmsg_get_payload_offset(nlh, GENL_HDRLEN),
	    mnl_nlmsg_get_payload_len(nlh) - GENL_HDRLEN, device_attr, arg));
}

int
wgnl_parse_device(const void *buf, size_t len, struct wg_device *dev)
{
	struct nl_walk	w;

	memset(&w, 0, sizeof(w));
	w.cb = device_cb;
	w.arg = dev;
	errno = 0;
	if (nl_walk(buf, len, &w) == -1) {
		if (errno == 0)
			errno = EBADMSG;
		return (-1);
	}
	return (0);
}

int
wgnl_get(struct wgnl *nl, const char *ifname, struct wg_device *dev)
{
	struct nl_walk	 w;
	struct nlmsghdr	*nlh;
	int		 try, rv;

	for (try = 0; try < WGNL_DUMP_TRIES; try++) {
		memset(dev, 0, sizeof(*dev));
		strlcpy(dev->ifname, ifname, sizeof(dev->ifname));
		nlh = msg_start(nl, nl->sbuf, nl->family, WG_CMD_GET_DEVICE,
		    NLM_F_DUMP);
		mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
		memset(&w, 0, sizeof(w));
		w.type = nl->family;
		w.cb = device_cb;
		w.arg = dev;
		rv = nl_request(nl, nlh, &w);
		/* The buffer held the private key and the preshared keys. */
		sodium_memzero(nl->rbuf, sizeof(nl->rbuf));
		if (rv == 0 && dev->has_private_key &&
		    key_is_zero(dev->public_key)) {
			errno = EBADMSG;
			rv = -1;
		}
		if (rv == -1) {
			log_warn("%s: WG_CMD_GET_DEVICE", ifname);
			break;
		}
		if (!w.interrupted)
			return (0);
		/* The device changed during the dump: read it again. */
		log_debug("%s: WG_CMD_GET_DEVICE interrupted, again", ifname);
		wg_device_free(dev);
	}
	if (try == WGNL_DUMP_TRIES)
		log_warnx("%s: WG_CMD_GET_DEVICE: interrupted %d times",
		    ifname, WGNL_DUMP_TRIES);
	wg_device_free(dev);
	memset(dev, 0, sizeof(*dev));
	strlcpy(dev->ifname, ifname, sizeof(dev->ifname));
	return (-1);
}

static int
put_allowed(struct nlmsghdr *nlh, const struct prefix *p)
{
	struct nlattr	*nest;
	struct prefix	 m = *p;

	prefix_mask(&m);
	if ((nest = mnl_attr_nest_start_check(nlh, WGNL_MSGBUF, 0)) == NULL)
		return (-1);
	if (!mnl_attr_put_u16_check(nlh, WGNL_MSGBUF, WGALLOWEDIP_A_FAMILY,
	    m.af) ||
	    !mnl_attr_put_check(nlh, WGNL_MSGBUF, WGALLOWEDIP_A_IPADDR,
	    m.af == AF_INET ? 4 : 16, &m.addr) ||
	    !mnl_attr_put_u8_check(nlh, WGNL_MSGBUF, WGALLOWEDIP_A_CIDR_MASK,
	    m.plen)) {
		mnl_attr_nest_cancel(nlh, nest);
		return (-1);
	}
	mnl_attr_nest_end(nlh, nest);
	return (0);
}

/*
 * Adds what fits of one peer, from allowed-ip *next on.  Returns 1 when
 * the peer is complete, 0 when it was cut (*next says where to go on),
 * -1 when not even its head fitted (nothing was added).
 */
static int
put_peer(struct nlmsghdr *nlh, const struct wg_peer_set *ps, size_t *next)
{
	struct nlattr	*peer, *allowed;
	uint32_t	 flags = 0;
	size_t		 len, first = *next;
	int		 cont = first > 0;

	if ((peer = mnl_attr_nest_start_check(nlh, WGNL_MSGBUF, 0)) == NULL)
		return (-1);
	if (!mnl_attr_put_check(nlh, WGNL_MSGBUF, WGPEER_A_PUBLIC_KEY,
	    WG_KEY_LEN, ps->public_key))
		goto cancel;
	if ((ps->flags & WGPEER_REMOVE) != 0)
		flags |= WGPEER_F_REMOVE_ME;
	if ((ps->flags & WGPEER_UPDATE_ONLY) != 0 || cont)
		flags |= WGPEER_F_UPDATE_ONLY;
	if ((ps->flags & WGPEER_REPLACE_ALLOWED) != 0 && !cont)
		flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
	if (flags != 0 && !mnl_attr_put_u32_check(nlh, WGNL_MSGBUF,
	    WGPEER_A_FLAGS, flags))
		goto cancel;
	if (!cont && (ps->flags & WGPEER_SET_PSK) != 0 &&
	    !mnl_attr_put_check(nlh, WGNL_MSGBUF, WGPEER_A_PRESHARED_KEY,
	    WG_KEY_LEN, ps->psk))
		goto cancel;
	if (!cont && (ps->flags & WGPEER_SET_ENDPOINT) != 0) {
		len = ps->endpoint.ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		if (!mnl_attr_put_check(nlh, WGNL_MSGBUF, WGPEER_A_ENDPOINT,
		    len, &ps->endpoint))
			goto cancel;
	}
	if (!cont && (ps->flags & WGPEER_SET_KEEPALIVE) != 0 &&
	    !mnl_attr_put_u16_check(nlh, WGNL_MSGBUF,
	    WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, ps->keepalive))
		goto cancel;
	if (*next < ps->nallowed) {
		if ((allowed = mnl_attr_nest_start_check(nlh, WGNL_MSGBUF,
		    WGPEER_A_ALLOWEDIPS)) == NULL)
			goto cancel;
		while (*next < ps->nallowed &&
		    put_allowed(nlh, &ps->allowed[*next]) == 0)
			(*next)++;
		/* Better in the next message than with none of them. */
		if (*next == first)
			goto cancel;
		mnl_attr_nest_end(nlh, allowed);
	}
	mnl_attr_nest_end(nlh, peer);
	if (*next < ps->nallowed)
		return (0);
	*next = 0;
	return (1);

 cancel:
	*next = first;
	mnl_attr_nest_cancel(nlh, peer);
	return (-1);
}

int
wgnl_set(struct wgnl *nl, const char *ifname, const struct wg_device_set *set)
{
	struct nl_walk	 w;
	struct nlmsghdr	*nlh;
	struct nlattr	*peers;
	size_t		 pi = 0, ai = 0, npeers;
	uint32_t	 flags;
	int		 first = 1, rv = -1, r, nmsg = 0;

	if (wg_set_valid(ifname, set) == -1) {
		errno = EINVAL;
		return (-1);
	}
	while (first || pi < set->npeers) {
		nlh = msg_start(nl, nl->sbuf, nl->family, WG_CMD_SET_DEVICE,
		    NLM_F_ACK);
		mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
		if (first) {
			flags = (set->flags & WGDEV_REPLACE_PEERS) != 0 ?
			    WGDEVICE_F_REPLACE_PEERS : 0;
			if (flags != 0)
				mnl_attr_put_u32(nlh, WGDEVICE_A_FLAGS, flags);
			if ((set->flags & WGDEV_SET_PRIVATE_KEY) != 0)
				mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY,
				    WG_KEY_LEN, set->private_key);
			if ((set->flags & WGDEV_SET_LISTEN_PORT) != 0)
				mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT,
				    set->listen_port);
			if ((set->flags & WGDEV_SET_FWMARK) != 0)
				mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK,
				    set->fwmark);
		}
		if (pi < set->npeers) {
			if ((peers = mnl_attr_nest_start_check(nlh,
			    WGNL_MSGBUF, WGDEVICE_A_PEERS)) == NULL)
				goto toobig;
			npeers = 0;
			while (pi < set->npeers) {
				r = put_peer(nlh, &set->peers[pi], &ai);
				if (r == -1)
					break;
				npeers++;
				if (r == 0)
					break;
				pi++;
			}
			if (npeers == 0)
				goto toobig;
			mnl_attr_nest_end(nlh, peers);
		}
		memset(&w, 0, sizeof(w));
		w.type = nl->family;
		r = nl_request(nl, nlh, &w);
		sodium_memzero(nl->sbuf, sizeof(nl->sbuf));
		sodium_memzero(nl->rbuf, sizeof(nl->rbuf));
		nmsg++;
		if (r == -1) {
			log_warn("%s: WG_CMD_SET_DEVICE (message %d, peer %zu)",
			    ifname, nmsg, pi);
			return (-1);
		}
		first = 0;
	}
	log_debug("%s: WG_CMD_SET_DEVICE: %zu peers in %d messages", ifname,
	    set->npeers, nmsg);
	return (0);

 toobig:
	/* Cannot happen with a sane buffer size; do not loop forever. */
	sodium_memzero(nl->sbuf, sizeof(nl->sbuf));
	log_warnx("%s: WG_CMD_SET_DEVICE: peer %zu does not fit in a message",
	    ifname, pi);
	errno = EMSGSIZE;
	return (rv);
}
