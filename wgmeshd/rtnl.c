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
 * rtnetlink, through libmnl: the WireGuard link, its addresses, and a
 * route to each peer's allowed-ips through it.  Each call is one request
 * and its ack on a socket of its own, which keeps the parent free of
 * state here.  Adding what is there and deleting what is not succeed, so
 * every call can be repeated.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "wgmeshd.h"
#include "netlink.h"
#include "parent.h"

#define RTNL_TIMEOUT_SEC	5
#define RTNL_BUFSIZE		8192

static int	 rtnl_talk(struct nlmsghdr *);
static struct nlmsghdr *rtnl_msg(uint8_t *, uint16_t, uint16_t);
static int	 rtnl_addr(const char *, const struct prefix *, int);
static int	 rtnl_route(const char *, const struct prefix *, int);

/* Sends one request and waits for its ack; errno is the kernel's. */
static int
rtnl_talk(struct nlmsghdr *nlh)
{
	struct mnl_socket	*sock;
	const struct nlmsghdr	*reply;
	const struct nlmsgerr	*err;
	const uint8_t		*p;
	struct timeval		 tv;
	uint8_t			 buf[RTNL_BUFSIZE];
	uint32_t		 portid;
	size_t			 rem;
	ssize_t			 n;
	int			 one = 1, saved;

	if ((sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC)) == NULL)
		return (-1);
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) == -1)
		goto fail;
	tv.tv_sec = RTNL_TIMEOUT_SEC;
	tv.tv_usec = 0;
	if (setsockopt(mnl_socket_get_fd(sock), SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == -1)
		goto fail;
	(void)mnl_socket_setsockopt(sock, NETLINK_CAP_ACK, &one, sizeof(one));
	portid = mnl_socket_get_portid(sock);
	if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) == -1)
		goto fail;
	for (;;) {
		if ((n = mnl_socket_recvfrom(sock, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				errno = ETIMEDOUT;
			goto fail;
		}
		rem = n;
		for (p = buf; rem > 0; nl_next(&p, &rem)) {
			reply = (const struct nlmsghdr *)p;
			if (!nl_msg_ok(reply, rem)) {
				errno = EBADMSG;
				goto fail;
			}
			if (reply->nlmsg_seq != nlh->nlmsg_seq ||
			    reply->nlmsg_pid != portid ||
			    reply->nlmsg_type != NLMSG_ERROR)
				continue;
			if (mnl_nlmsg_get_payload_len(reply) < sizeof(*err)) {
				errno = EBADMSG;
				goto fail;
			}
			err = mnl_nlmsg_get_payload(reply);
			mnl_socket_close(sock);
			if (err->error == 0)
				return (0);
			errno = err->error < 0 && err->error > -4096 ?
			    -err->error : EIO;
			return (-1);
		}
	}

 fail:
	saved = errno;
	mnl_socket_close(sock);
	errno = saved;
	return (-1);
}

static struct nlmsghdr *
rtnl_msg(uint8_t *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr	*nlh;

	memset(buf, 0, RTNL_BUFSIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	return (nlh);
}

/* The link's index, 0 if there is no such link, -1 on other errors. */
int
rtnl_link_index(const char *ifname)
{
	unsigned int	idx;

	if ((idx = if_nametoindex(ifname)) != 0)
		return ((int)idx);
	if (errno == ENODEV || errno == ENXIO)
		return (0);
	log_warn("%s: if_nametoindex", ifname);
	return (-1);
}

int
rtnl_link_create_wireguard(const char *ifname)
{
	uint8_t			 buf[RTNL_BUFSIZE];
	struct nlmsghdr		*nlh;
	struct ifinfomsg	*ifi;
	struct nlattr		*info;

	nlh = rtnl_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "wireguard");
	mnl_attr_nest_end(nlh, info);
	if (rtnl_talk(nlh) == -1) {
		if (errno == EEXIST)
			return (0);
		if (errno == EOPNOTSUPP)
			log_warnx("%s: RTM_NEWLINK wireguard: the kernel "
			    "knows no such link type (no wireguard module?)",
			    ifname);
		else
			log_warn("%s: RTM_NEWLINK wireguard", ifname);
		return (-1);
	}
	log_debug("%s: created a wireguard link", ifname);
	return (0);
}

int
rtnl_link_up(const char *ifname)
{
	uint8_t			 buf[RTNL_BUFSIZE];
	struct nlmsghdr		*nlh;
	struct ifinfomsg	*ifi;
	int			 idx;

	if ((idx = rtnl_link_index(ifname)) <= 0) {
		if (idx == 0)
			log_warnx("%s: set up: no such link", ifname);
		return (-1);
	}
	nlh = rtnl_msg(buf, RTM_NEWLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = idx;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (rtnl_talk(nlh) == -1) {
		log_warn("%s: RTM_NEWLINK up", ifname);
		return (-1);
	}
	return (0);
}

static int
rtnl_addr(const char *ifname, const struct prefix *p, int add)
{
	uint8_t			 buf[RTNL_BUFSIZE];
	char			 pstr[PREFIX_STR_MAX];
	struct nlmsghdr		*nlh;
	struct ifaddrmsg	*ifa;
	size_t			 alen;
	int			 idx;

	if ((p->af != AF_INET || p->plen > 32) &&
	    (p->af != AF_INET6 || p->plen > 128)) {
		log_warnx("%s: address of family %d, length %u", ifname,
		    p->af, p->plen);
		errno = EINVAL;
		return (-1);
	}
	prefix_ntop(p, pstr, sizeof(pstr));
	if ((idx = rtnl_link_index(ifname)) <= 0) {
		if (idx == -1)
			return (-1);
		if (!add)
			return (0);	/* gone with its link */
		log_warnx("%s: address %s: no such link", ifname, pstr);
		errno = ENODEV;
		return (-1);
	}
	alen = p->af == AF_INET ? 4 : 16;
	nlh = rtnl_msg(buf, add ? RTM_NEWADDR : RTM_DELADDR,
	    add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = p->af;
	ifa->ifa_prefixlen = p->plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = idx;
	/* No duplicate address detection on a tunnel of our own. */
	if (p->af == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	mnl_attr_put(nlh, IFA_LOCAL, alen, &p->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, &p->addr);
	if (rtnl_talk(nlh) == -1) {
		if (add && errno == EEXIST)
			return (0);
		if (!add && errno == EADDRNOTAVAIL)
			return (0);
		log_warn("%s: %s %s", ifname,
		    add ? "RTM_NEWADDR" : "RTM_DELADDR", pstr);
		return (-1);
	}
	return (0);
}

int
rtnl_addr_add(const char *ifname, const struct prefix *p)
{
	return (rtnl_addr(ifname, p, 1));
}

int
rtnl_addr_del(const char *ifname, const struct prefix *p)
{
	return (rtnl_addr(ifname, p, 0));
}

/*
 * A route to the prefix through the link, in the main table, marked as
 * ours.  Adding replaces a route to the same prefix that is there (the
 * tunnel is the way there now); deleting matches our protocol and link,
 * so it never takes away somebody else's route.
 */
static int
rtnl_route(const char *ifname, const struct prefix *p, int add)
{
	uint8_t		 buf[RTNL_BUFSIZE];
	char		 pstr[PREFIX_STR_MAX];
	struct nlmsghdr	*nlh;
	struct rtmsg	*rtm;
	struct prefix	 m;
	int		 idx;

	if ((p->af != AF_INET || p->plen > 32) &&
	    (p->af != AF_INET6 || p->plen > 128)) {
		log_warnx("%s: route of family %d, length %u", ifname,
		    p->af, p->plen);
		errno = EINVAL;
		return (-1);
	}
	m = *p;
	prefix_mask(&m);
	prefix_ntop(&m, pstr, sizeof(pstr));
	if ((idx = rtnl_link_index(ifname)) <= 0) {
		if (idx == -1)
			return (-1);
		if (!add)
			return (0);	/* gone with its link */
		log_warnx("%s: route %s: no such link", ifname, pstr);
		errno = ENODEV;
		return (-1);
	}
	nlh = rtnl_msg(buf, add ? RTM_NEWROUTE : RTM_DELROUTE,
	    add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = m.af;
	rtm->rtm_dst_len = m.plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_WGMESHD;
	rtm->rtm_scope = add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, m.af == AF_INET ? 4 : 16, &m.addr);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)idx);
	if (rtnl_talk(nlh) == -1) {
		if (!add && (errno == ESRCH || errno == ENOENT))
			return (0);
		log_warn("%s: %s %s", ifname,
		    add ? "RTM_NEWROUTE" : "RTM_DELROUTE", pstr);
		return (-1);
	}
	return (0);
}

int
rtnl_route_add(const char *ifname, const struct prefix *p)
{
	return (rtnl_route(ifname, p, 1));
}

int
rtnl_route_del(const char *ifname, const struct prefix *p)
{
	return (rtnl_route(ifname, p, 0));
}
