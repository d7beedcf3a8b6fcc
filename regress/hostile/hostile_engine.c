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
 * A hostile engine: regress/hostile/wgmeshd-regress starts this in place
 * of the real engine (WGMESHD_REGRESS_ENGINE).  It waits for the configuration,
 * records the WireGuard device, sends the parent one bad message chosen
 * by WGMESHD_HOSTILE, waits for the parent to hang up, and records the
 * device again.  It writes "unchanged" or "changed" to
 * WGMESHD_HOSTILE_RESULT.  Mode "valid" sends a good request instead and
 * checks that it was applied, so that the test can fail.  Mode "gossip"
 * checks what the parent gives the engine for gossip after the
 * configuration: a pair key for each peer, a UDP socket on the gossip
 * port, tied to the device, and one for LAN discovery (lan-discovery is
 * on by default) on the wildcard address and the gossip port, that may
 * broadcast; it writes "gossip ok" or what is wrong.
 *
 * Floods, each against a bound of the parent's: "endpoint-flood" sends
 * ENDPOINT_FLOOD valid requests for one peer at once and counts those
 * the device shows applied ("limited N in T ms" when no more than the
 * rate allows, "applied N in T ms" otherwise); "reload-flood" sends
 * RELOAD_FLOOD reload requests and reads every answer, counting the
 * reloads done ("coalesced R in T ms" or "reloaded R times");
 * "noread" sends reload requests and never reads, sampling the parent's
 * resident memory until it hangs up ("rss +N kB, hung up" or "rss +N
 * kB, still there").
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imsg.h"
#include "proto.h"
#include "fdpass.h"

#define WAIT_MS		10000
#define ENDPOINT_FLOOD	2000
#define RELOAD_FLOOD	1000
#define NOREAD_SECONDS	25
/* the parent's limits (wgmeshd.h, wgmeshd.c) */
#define SET_BURST	20
#define SET_INTERVAL_MS	200
#define RELOAD_MS	1000

static struct imsgbuf	 ibuf;
static char		 ifname[IMSG_IFNAME_MAX];
static uint16_t		 gossip_port;
static uint32_t		 gen, npeers;

static void	 die(const char *);
static int	 wait_readable(void);
static void	 read_config(void);
static void	 check_gossip(void);
static void	 check_lan_socket(struct imsg *, int);
static char	*snapshot(void);
static void	 send_endpoint(uint32_t, uint32_t, int, const char *,
		    uint16_t, size_t);
static void	 result(const char *);
static int64_t	 clock_ms(void);
static void	 endpoint_flood(void);
static void	 reload_flood(void);
static void	 noread(void);
static long	 parent_rss_kb(void);
static void	 fd_without_flag(void);

static void
die(const char *what)
{
	fprintf(stderr, "hostile engine: %s\n", what);
	result(what);
	exit(2);
}

static void
result(const char *what)
{
	const char	*path = getenv("WGMESHD_HOSTILE_RESULT");
	FILE		*fp;

	if (path == NULL || (fp = fopen(path, "w")) == NULL)
		return;
	fprintf(fp, "%s\n", what);
	fclose(fp);
}

static int
wait_readable(void)
{
	struct pollfd	pfd = { 3, POLLIN, 0 };

	return (poll(&pfd, 1, WAIT_MS));
}

/* Everything up to RECONF_END: the parent has configured the device. */
static void
read_config(void)
{
	struct imsg		 imsg;
	struct imsg_iface	 mi;
	ssize_t			 n;
	int			 done = 0;

	while (!done) {
		if (wait_readable() <= 0)
			die("no configuration from the parent");
		if ((n = imsgbuf_read(&ibuf)) == 0)
			die("parent hung up early");
		if (n == -1 && errno != EAGAIN)
			die("read");
		/* what follows the configuration stays in the buffer */
		while (!done && (n = imsg_get(&ibuf, &imsg)) > 0) {
			switch (imsg.hdr.type) {
			case IMSG_RECONF_BEGIN:
				imsg_get_data(&imsg, &gen, sizeof(gen));
				break;
			case IMSG_RECONF_IFACE:
				if (imsg_get_data(&imsg, &mi, sizeof(mi)) == 0 &&
				    mi.index == 0) {
					memcpy(ifname, mi.ifname,
					    sizeof(ifname));
					ifname[sizeof(ifname) - 1] = '\0';
					npeers = mi.npeers;
					gossip_port = mi.gossip_port;
				}
				break;
			case IMSG_RECONF_END:
				done = 1;
				break;
			}
			imsg_free(&imsg);
		}
		if (n == -1)
			die("imsg_get");
	}
}

/*
 * IMSG_SOCKET_LAN: for the gossip port of our one interface, first an
 * IPv4 UDP socket bound to 0.0.0.0 and that port, that may broadcast and
 * says where each datagram was sent (IP_PKTINFO); then (the nth, 2) an
 * IPv6 one on [::] and that port, IPv6 only, with IPV6_RECVPKTINFO and
 * IPV6_RECVHOPLIMIT, hop limit 255 and no multicast loop.  Neither
 * blocks.
 */
static void
check_lan_socket(struct imsg *imsg, int nth)
{
	struct imsg_socket_lan	 sl;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	socklen_t		 len;
	int			 fd, fl, v, i;
	static const struct {
		int		 level, name, want;
		const char	*what;	/* why it dies */
	} v6opts[] = {
		{ IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPv6 LAN: not IPV6_V6ONLY" },
		{ IPPROTO_IPV6, IPV6_RECVPKTINFO, 1,
		    "IPv6 LAN: no IPV6_RECVPKTINFO" },
		{ IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1,
		    "IPv6 LAN: no IPV6_RECVHOPLIMIT" },
		{ IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255,
		    "IPv6 LAN: unicast hop limit not 255" },
		{ IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255,
		    "IPv6 LAN: multicast hop limit not 255" },
		{ IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0,
		    "IPv6 LAN: hears its own multicast" },
	};

	if (imsg->hdr.peerid != gen ||
	    imsg_get_data(imsg, &sl, sizeof(sl)) == -1 ||
	    sl.port != gossip_port ||
	    sl.af != (nth == 1 ? AF_INET : AF_INET6))
		die("a bad IMSG_SOCKET_LAN");
	if ((fd = imsg_get_fd(imsg)) == -1)
		die("IMSG_SOCKET_LAN without a socket");
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == -1 ||
	    v != SOCK_DGRAM)
		die("the LAN socket is not UDP");
	if ((fl = fcntl(fd, F_GETFL)) == -1 || (fl & O_NONBLOCK) == 0)
		die("the LAN socket blocks");
	if (sl.af == AF_INET6) {
		len = sizeof(sin6);
		if (getsockname(fd, (struct sockaddr *)&sin6, &len) == -1 ||
		    len != sizeof(sin6) || sin6.sin6_family != AF_INET6 ||
		    ntohs(sin6.sin6_port) != gossip_port ||
		    memcmp(&sin6.sin6_addr, &in6addr_any, 16) != 0)
			die("the IPv6 LAN socket is not on [::] and the "
			    "gossip port");
		for (i = 0; i < (int)(sizeof(v6opts) / sizeof(v6opts[0]));
		    i++) {
			len = sizeof(v);
			if (getsockopt(fd, v6opts[i].level, v6opts[i].name,
			    &v, &len) == -1 || v != v6opts[i].want)
				die(v6opts[i].what);
		}
		close(fd);
		return;
	}
	len = sizeof(sin);
	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1 ||
	    len != sizeof(sin) || sin.sin_family != AF_INET ||
	    ntohs(sin.sin_port) != gossip_port ||
	    sin.sin_addr.s_addr != htonl(INADDR_ANY))
		die("the LAN socket is not on 0.0.0.0 and the gossip port");
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_BROADCAST, &v, &len) == -1 ||
	    v == 0)
		die("the LAN socket cannot broadcast");
	len = sizeof(v);
	if (getsockopt(fd, IPPROTO_IP, IP_PKTINFO, &v, &len) == -1 ||
	    v == 0)
		die("the LAN socket has no IP_PKTINFO");
	close(fd);
}

/*
 * After the configuration: IMSG_PAIR_KEY for each peer of each interface
 * (ours has one), of the generation, an IMSG_SOCKET_GOSSIP for wg0 and
 * an IMSG_SOCKET_LAN for its gossip port.
 */
static void
check_gossip(void)
{
	static const uint8_t		 zero[32];
	struct imsg			 imsg;
	struct imsg_pair_key		 pk;
	struct imsg_socket_gossip	 sg;
	struct imsg_lan_links		 ll;
	struct sockaddr_in6		 sin6;
	socklen_t			 len;
	char				 dev[IMSG_IFNAME_MAX];
	uint32_t			 seen = 0;
	ssize_t				 n;
	int				 fd, fl, sockets = 0, lan = 0, v;

	for (;;) {
		while ((n = imsg_get(&ibuf, &imsg)) > 0) {
			switch (imsg.hdr.type) {
			case IMSG_PAIR_KEY:
				if (imsg.hdr.peerid != gen ||
				    imsg_get_data(&imsg, &pk, sizeof(pk)) ==
				    -1 || pk.iface != 0 || pk.peer >= npeers ||
				    memcmp(pk.key, zero, sizeof(zero)) == 0 ||
				    (seen & (1U << pk.peer)))
					die("a bad IMSG_PAIR_KEY");
				seen |= 1U << pk.peer;
				break;
			case IMSG_SOCKET_GOSSIP:
				if (imsg.hdr.peerid != gen ||
				    imsg_get_data(&imsg, &sg, sizeof(sg)) ==
				    -1 || memchr(sg.ifname, '\0',
				    sizeof(sg.ifname)) == NULL ||
				    strcmp(sg.ifname, ifname) != 0 || sockets++)
					die("a bad IMSG_SOCKET_GOSSIP");
				if ((fd = imsg_get_fd(&imsg)) == -1)
					die("IMSG_SOCKET_GOSSIP without a socket");
				len = sizeof(sin6);
				if (getsockname(fd, (struct sockaddr *)&sin6,
				    &len) == -1 || sin6.sin6_family != AF_INET6 ||
				    ntohs(sin6.sin6_port) != 1666 ||
				    sin6.sin6_addr.s6_addr[0] != 0xfd)
					die("the gossip socket is not on "
					    "[fd…]:1666");
				len = sizeof(v);
				if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v,
				    &len) == -1 || v != SOCK_DGRAM)
					die("the gossip socket is not UDP");
				memset(dev, 0, sizeof(dev));
				len = sizeof(dev);	/* IFNAMSIZ, or EINVAL */
				if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE,
				    dev, &len) == -1 ||
				    memchr(dev, '\0', sizeof(dev)) == NULL ||
				    strcmp(dev, ifname) != 0)
					die("the gossip socket is not tied to "
					    "the device");
				if ((fl = fcntl(fd, F_GETFL)) == -1 ||
				    (fl & O_NONBLOCK) == 0)
					die("the gossip socket blocks");
				close(fd);
				break;
			case IMSG_SOCKET_LAN:
				if (lan++ == 2)
					die("IMSG_SOCKET_LAN three times");
				check_lan_socket(&imsg, lan);
				break;
			case IMSG_LAN_LINKS:
				if (imsg.hdr.peerid != gen ||
				    imsg_get_data(&imsg, &ll, sizeof(ll)) ==
				    -1 || ll.nlinks > IMSG_LAN_LINKS_MAX)
					die("a bad IMSG_LAN_LINKS");
				break;
			case IMSG_DEVICE_PEER:
				break;	/* the device is polled meanwhile */
			default:
				die("unexpected message after the "
				    "configuration");
			}
			imsg_free(&imsg);
		}
		if (n == -1)
			die("imsg_get");
		if (seen == (1U << npeers) - 1 && sockets == 1 && lan >= 1)
			break;
		if (wait_readable() <= 0)
			die(seen != (1U << npeers) - 1 || sockets == 0 ?
			    "no gossip keys and socket from the parent" :
			    "no LAN socket from the parent");
		if ((n = imsgbuf_read(&ibuf)) == 0)
			die("parent hung up early");
		if (n == -1 && errno != EAGAIN)
			die("read");
	}
	result("gossip ok");
}

/*
 * What could change: keys, port, peers, endpoints, allowed-ips.  One
 * shell for all, sorted (wireguard-go lists peers in any order), and
 * quick: the parent kills an engine that lingers after it hung up.
 */
static char *
snapshot(void)
{
	char	 cmd[512], *buf;
	size_t	 len;
	FILE	*fp;

	if ((buf = calloc(1, 65536)) == NULL)
		die("calloc");
	snprintf(cmd, sizeof(cmd), "for w in public-key listen-port fwmark "
	    "endpoints allowed-ips persistent-keepalive preshared-keys; do "
	    "wg show %s $w | sort || echo FAILED; done", ifname);
	if ((fp = popen(cmd, "r")) == NULL)
		die("popen");
	len = fread(buf, 1, 65535, fp);
	buf[len] = '\0';
	if (pclose(fp) != 0 || strstr(buf, "FAILED") != NULL)
		die("wg show failed");
	return (buf);
}

/* the interface scope and keepalive send_endpoint() gives its request */
static uint32_t	 send_scope;
static uint16_t	 send_keepalive = 25;
static uint8_t	 send_flags;

static void
send_endpoint(uint32_t iface, uint32_t peer, int af, const char *addr,
    uint16_t port, size_t size)
{
	struct imsg_set_endpoint	req;
	unsigned char			buf[sizeof(req) + 8];

	memset(&req, 0, sizeof(req));
	req.iface = iface;
	req.peer = peer;
	req.endpoint.af = af;
	req.endpoint.port = port;
	req.endpoint.scope = send_scope;
	if (addr != NULL)
		inet_pton(af == AF_INET6 ? AF_INET6 : AF_INET, addr,
		    req.endpoint.addr);
	req.keepalive = send_keepalive;
	req.flags = send_flags;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &req, sizeof(req) < size ? sizeof(req) : size);
	if (imsg_compose(&ibuf, IMSG_SET_ENDPOINT, gen, 0, -1, buf,
	    size) == -1)
		die("compose");
}

static int64_t
clock_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * ENDPOINT_FLOOD valid requests for peer 0, each to another port, at
 * once; then 3 s of the parent's reports: each applied request is
 * reported (the parent reads the device after each), so the ports seen
 * are the requests applied.
 */
static void
endpoint_flood(void)
{
	struct imsg		 imsg;
	struct imsg_device_peer	 dp;
	static uint8_t		 seen[ENDPOINT_FLOOD];
	char			 buf[128];
	int64_t			 start = clock_ms(), end;
	long			 applied = 0, bound;
	ssize_t			 n;
	int			 i, port;

	for (i = 0; i < ENDPOINT_FLOOD; i++)
		send_endpoint(0, 0, AF_INET, "198.18.77.1", 20000 + i,
		    sizeof(struct imsg_set_endpoint));
	if (imsgbuf_flush(&ibuf) == -1)
		die("flush");
	end = clock_ms() + 3000;
	while (clock_ms() < end) {
		struct pollfd	pfd = { 3, POLLIN, 0 };

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = imsgbuf_read(&ibuf)) == 0)
			die("parent hung up");
		if (n == -1 && errno != EAGAIN)
			die("read");
		while ((n = imsg_get(&ibuf, &imsg)) > 0) {
			if (imsg.hdr.type == IMSG_DEVICE_PEER &&
			    imsg_get_data(&imsg, &dp, sizeof(dp)) == 0 &&
			    dp.iface == 0 && dp.peer == 0 &&
			    dp.endpoint.af == AF_INET) {
				port = dp.endpoint.port - 20000;
				if (port >= 0 && port < ENDPOINT_FLOOD &&
				    !seen[port]) {
					seen[port] = 1;
					applied++;
				}
			}
			imsg_free(&imsg);
		}
		if (n == -1)
			die("imsg_get");
	}
	end = clock_ms();
	bound = SET_BURST + (end - start) / SET_INTERVAL_MS + 1;
	snprintf(buf, sizeof(buf), "%s %ld in %lld ms",
	    applied >= 1 && applied <= bound ? "limited" : "applied", applied,
	    (long long)(end - start));
	result(buf);
}

/*
 * RELOAD_FLOOD reload requests from as many clients, read until every
 * one is answered; the reloads done are the RECONF_BEGINs that come.
 */
static void
reload_flood(void)
{
	struct imsg	 imsg;
	char		 buf[128];
	int64_t		 start = clock_ms(), deadline;
	long		 answered = 0, reloads = 0, bound;
	ssize_t		 n;
	uint32_t	 i;

	for (i = 1; i <= RELOAD_FLOOD; i++)
		if (imsg_compose(&ibuf, IMSG_CTL_RELOAD, i, 0, -1, NULL,
		    0) == -1)
			die("compose");
	if (imsgbuf_flush(&ibuf) == -1)
		die("flush");
	deadline = start + 20000;
	while (answered < RELOAD_FLOOD && clock_ms() < deadline) {
		if (wait_readable() <= 0)
			break;
		if ((n = imsgbuf_read(&ibuf)) == 0)
			die("parent hung up");
		if (n == -1 && errno != EAGAIN)
			die("read");
		while ((n = imsg_get(&ibuf, &imsg)) > 0) {
			if (imsg.hdr.type == IMSG_CTL_END)
				answered++;
			else if (imsg.hdr.type == IMSG_RECONF_BEGIN)
				reloads++;
			imsg_free(&imsg);
		}
		if (n == -1)
			die("imsg_get");
	}
	bound = 1 + (clock_ms() - start) / RELOAD_MS + 1;
	if (answered != RELOAD_FLOOD)
		snprintf(buf, sizeof(buf), "answered %ld of %d, reloaded %ld "
		    "times", answered, RELOAD_FLOOD, reloads);
	else if (reloads > bound)
		snprintf(buf, sizeof(buf), "reloaded %ld times", reloads);
	else
		snprintf(buf, sizeof(buf), "coalesced %ld in %lld ms",
		    reloads, (long long)(clock_ms() - start));
	result(buf);
}

/* The parent's resident set, from /proc; -1 when it has gone. */
static long
parent_rss_kb(void)
{
	char	 path[64], line[256];
	FILE	*fp;
	long	 kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)getppid());
	if ((fp = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(fp);
	return (kb);
}

/*
 * Reload requests, never reading an answer: the parent's write queue
 * to us fills.  Its memory is sampled between batches until it hangs up
 * (our write fails) or NOREAD_SECONDS pass.
 */
static void
noread(void)
{
	char		 buf[128];
	int64_t		 deadline = clock_ms() + NOREAD_SECONDS * 1000;
	long		 base, kb, peak;
	uint32_t	 id = 1;
	int		 i, gone = 0;

	if ((base = parent_rss_kb()) == -1)
		die("no VmRSS for the parent");
	peak = base;
	while (!gone && clock_ms() < deadline) {
		for (i = 0; i < 1000; i++)
			if (imsg_compose(&ibuf, IMSG_CTL_RELOAD, id++, 0, -1,
			    NULL, 0) == -1)
				die("compose");
		if (imsgbuf_flush(&ibuf) == -1)
			gone = 1;
		if (getppid() == 1 || (kb = parent_rss_kb()) == -1)
			gone = 1;
		else if (kb > peak)
			peak = kb;
	}
	snprintf(buf, sizeof(buf), "rss +%ld kB, %s", peak - base,
	    gone ? "hung up" : "still there");
	fprintf(stderr, "hostile engine: parent VmRSS %ld kB at first, "
	    "%ld kB at most\n", base, peak);
	result(buf);
}

/*
 * A valid request with a descriptor alongside, its header flag unset: a
 * descriptor on a message (and a pipe) that never carries one.
 */
static void
fd_without_flag(void)
{
	struct imsg_set_endpoint	 req;
	struct imsg_hdr			 hdr;
	unsigned char			 msgbuf[sizeof(hdr) + sizeof(req)];
	int				 p[2];

	if (pipe(p) == -1)
		die("pipe");
	memset(&req, 0, sizeof(req));
	req.endpoint.af = AF_INET;
	req.endpoint.port = 51820;
	inet_pton(AF_INET, "198.18.77.1", req.endpoint.addr);
	req.keepalive = 25;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = IMSG_SET_ENDPOINT;
	hdr.len = sizeof(msgbuf);
	hdr.peerid = gen;
	memcpy(msgbuf, &hdr, sizeof(hdr));
	memcpy(msgbuf + sizeof(hdr), &req, sizeof(req));
	if (fdpass_send(3, msgbuf, sizeof(msgbuf), &p[0], 1) !=
	    (ssize_t)sizeof(msgbuf))
		die("sendmsg");
}

int
main(int argc, char *argv[])
{
	struct imsg_pair_key pk;
	struct imsg_socket_lan sl;
	struct imsg_state_iface si;
	struct imsg_hdr	 hdr;
	const char	*mode = getenv("WGMESHD_HOSTILE");
	char		*before, *after;
	ssize_t		 n;
	int		 verbose = 7, p[2], fd;
	size_t		 sz = sizeof(struct imsg_set_endpoint);

	if (mode == NULL)
		die("WGMESHD_HOSTILE not set");
	imsgbuf_init(&ibuf, 3);
	read_config();
	if (npeers == 0)
		die("the test configuration needs a peer");
	if (strcmp(mode, "gossip") == 0) {
		check_gossip();
		return (0);
	}
	if (strcmp(mode, "endpoint-flood") == 0) {
		endpoint_flood();
		return (0);
	}
	if (strcmp(mode, "reload-flood") == 0) {
		reload_flood();
		return (0);
	}
	if (strcmp(mode, "noread") == 0) {
		noread();
		return (0);
	}
	before = snapshot();

	if (strcmp(mode, "valid") == 0)
		send_endpoint(0, 0, AF_INET, "198.18.77.1", 51820, sz);
	else if (strcmp(mode, "short") == 0)
		send_endpoint(0, 0, AF_INET, "198.18.77.1", 51820, sz - 1);
	else if (strcmp(mode, "long") == 0)
		send_endpoint(0, 0, AF_INET, "198.18.77.1", 51820, sz + 1);
	else if (strcmp(mode, "empty") == 0)
		send_endpoint(0, 0, AF_INET, "198.18.77.1", 51820, 0);
	else if (strcmp(mode, "iface") == 0)
		send_endpoint(7, 0, AF_INET, "198.18.77.1", 51820, sz);
	else if (strcmp(mode, "peer") == 0)
		send_endpoint(0, npeers, AF_INET, "198.18.77.1", 51820, sz);
	else if (strcmp(mode, "peer-huge") == 0)
		send_endpoint(0, 0xffffffff, AF_INET, "198.18.77.1", 51820,
		    sz);
	else if (strcmp(mode, "family") == 0)
		send_endpoint(0, 0, 99, "198.18.77.1", 51820, sz);
	else if (strcmp(mode, "unix") == 0)
		send_endpoint(0, 0, AF_UNIX, "198.18.77.1", 51820, sz);
	else if (strcmp(mode, "multicast") == 0)
		send_endpoint(0, 0, AF_INET, "224.0.0.1", 51820, sz);
	else if (strcmp(mode, "broadcast") == 0)
		send_endpoint(0, 0, AF_INET, "255.255.255.255", 51820, sz);
	else if (strcmp(mode, "unspecified") == 0)
		send_endpoint(0, 0, AF_INET, "0.0.0.0", 51820, sz);
	else if (strcmp(mode, "zero-port") == 0)
		send_endpoint(0, 0, AF_INET, "198.18.77.1", 0, sz);
	else if (strcmp(mode, "v6-multicast") == 0)
		send_endpoint(0, 0, AF_INET6, "ff02::1", 51820, sz);
	else if (strcmp(mode, "v6-unspecified") == 0)
		send_endpoint(0, 0, AF_INET6, "::", 51820, sz);
	else if (strcmp(mode, "v4-scope") == 0) {
		send_scope = 1;
		send_endpoint(0, 0, AF_INET, "198.18.77.1", 51820, sz);
	} else if (strcmp(mode, "ula-scope") == 0) {
		send_scope = 1;
		send_endpoint(0, 0, AF_INET6, "fd00::77", 51820, sz);
	} else if (strcmp(mode, "ll-noscope") == 0)
		send_endpoint(0, 0, AF_INET6, "fe80::77", 51820, sz);
	else if (strcmp(mode, "ll-nosuch") == 0) {
		send_scope = 999999;
		send_endpoint(0, 0, AF_INET6, "fe80::77", 51820, sz);
	} else if (strcmp(mode, "ll-wg") == 0) {
		if ((send_scope = if_nametoindex(ifname)) == 0)
			die("no such interface");
		send_endpoint(0, 0, AF_INET6, "fe80::77", 51820, sz);
	}
	else if (strcmp(mode, "keepalive") == 0) {
		send_keepalive = 65535;
		send_endpoint(0, 0, AF_INET, "198.18.77.1", 51820, sz);
	} else if (strcmp(mode, "keepalive-other") == 0) {
		send_keepalive = 26;
		send_endpoint(0, 0, AF_INET, "198.18.77.1", 51820, sz);
	} else if (strcmp(mode, "set-flags") == 0) {
		send_flags = 0x82;
		send_endpoint(0, 0, AF_INET, "198.18.77.1", 51820, sz);
	} else if (strcmp(mode, "fd-no-flag") == 0)
		fd_without_flag();
	else if (strcmp(mode, "unknown-type") == 0) {
		if (imsg_compose(&ibuf, 9999, 0, 0, -1, NULL, 0) == -1)
			die("compose");
	} else if (strcmp(mode, "wrong-type") == 0) {
		/* a message only the parent sends */
		if (imsg_compose(&ibuf, IMSG_RECONF_BEGIN, 0, 0, -1, &gen,
		    sizeof(gen)) == -1)
			die("compose");
	} else if (strcmp(mode, "with-fd") == 0) {
		if (pipe(p) == -1)
			die("pipe");
		send_endpoint(0, 0, AF_INET, "198.18.77.1", 51820, sz);
		imsgbuf_clear(&ibuf);
		if (imsg_compose(&ibuf, IMSG_SET_ENDPOINT, gen, 0, p[0],
		    NULL, 0) == -1)
			die("compose");
	} else if (strcmp(mode, "pair-key") == 0) {
		/* what the parent sends the engine, sent back */
		memset(&pk, 0, sizeof(pk));
		pk.key[0] = 1;
		if (imsg_compose(&ibuf, IMSG_PAIR_KEY, gen, 0, -1, &pk,
		    sizeof(pk)) == -1)
			die("compose");
	} else if (strcmp(mode, "socket-gossip") == 0) {
		if (pipe(p) == -1)
			die("pipe");
		if (imsg_compose(&ibuf, IMSG_SOCKET_GOSSIP, gen, 0, p[0],
		    ifname, sizeof(ifname)) == -1)
			die("compose");
	} else if (strcmp(mode, "socket-lan") == 0) {
		/* what the parent gives the engine, given back */
		memset(&sl, 0, sizeof(sl));
		sl.port = 1666;
		if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
			die("socket");
		if (imsg_compose(&ibuf, IMSG_SOCKET_LAN, gen, 0, fd, &sl,
		    sizeof(sl)) == -1)
			die("compose");
	} else if (strcmp(mode, "state-save") == 0) {
		/*
		 * for the storage process, well formed (the table passes
		 * it: the engine sends it), but sent to the parent
		 */
		memset(&si, 0, sizeof(si));
		memcpy(si.ifname, ifname, sizeof(si.ifname));
		if (imsg_compose(&ibuf, IMSG_STATE_SAVE, 0, 0, -1, &si,
		    sizeof(si)) == -1)
			die("compose");
	} else if (strcmp(mode, "verbose") == 0) {
		if (imsg_compose(&ibuf, IMSG_CTL_LOG_VERBOSE, 0, 0, -1,
		    &verbose, sizeof(verbose)) == -1)
			die("compose");
	} else if (strcmp(mode, "show-counters") == 0) {
		/* the engine answers that itself; the parent has no say */
		if (imsg_compose(&ibuf, IMSG_CTL_SHOW_COUNTERS, 0, 0, -1,
		    NULL, 0) == -1)
			die("compose");
	} else if (strcmp(mode, "reload-payload") == 0) {
		if (imsg_compose(&ibuf, IMSG_CTL_RELOAD, 1, 0, -1, &verbose,
		    sizeof(verbose)) == -1)
			die("compose");
	} else if (strcmp(mode, "bad-frame") == 0) {
		/* a header shorter than a header: framing is broken */
		memset(&hdr, 0, sizeof(hdr));
		hdr.type = IMSG_SET_ENDPOINT;
		hdr.len = 3;
		if (write(3, &hdr, sizeof(hdr)) != sizeof(hdr))
			die("write");
	} else if (strcmp(mode, "loopback") == 0)
		/* this host's own addresses, or IPv4 dressed as IPv6 */
		send_endpoint(0, 0, AF_INET, "127.0.0.1", 51820, sz);
	else if (strcmp(mode, "zero-net") == 0)
		send_endpoint(0, 0, AF_INET, "0.1.2.3", 51820, sz);
	else if (strcmp(mode, "v6-loopback") == 0)
		send_endpoint(0, 0, AF_INET6, "::1", 51820, sz);
	else if (strcmp(mode, "v4-mapped") == 0)
		send_endpoint(0, 0, AF_INET6, "::ffff:127.0.0.1", 51820, sz);
	else if (strcmp(mode, "overlay") == 0) {
		/*
		 * Inside peer "two"'s allowed-ips: the engine cannot know
		 * every allowed IP, so logged and ignored, not fatal.
		 */
		send_endpoint(0, 0, AF_INET, "198.18.41.9", 51820, sz);
		if (imsgbuf_flush(&ibuf) == -1)
			die("flush");
		usleep(1000 * 1000);
		after = snapshot();
		result(strcmp(before, after) == 0 ? "ignored" : "changed");
		return (0);
	} else
		die("unknown mode");
	if (imsgbuf_flush(&ibuf) == -1)
		die("flush");

	if (strncmp(mode, "ll-", 3) == 0 && strcmp(mode, "ll-noscope") != 0) {
		/*
		 * Not the engine's fault (an interface may go): logged and
		 * ignored, so the parent stays; the device is unchanged a
		 * second later.
		 */
		usleep(1000 * 1000);
		after = snapshot();
		result(strcmp(before, after) == 0 ? "ignored" : "changed");
		return (0);
	}
	if (strcmp(mode, "valid") == 0) {
		/* applied within a second or two */
		for (n = 0; n < 50; n++) {
			after = snapshot();
			if (strstr(after, "198.18.77.1:51820") != NULL)
				break;
			free(after);
			after = NULL;
			usleep(100 * 1000);
		}
		result(after != NULL ? "applied" : "not applied");
		return (0);
	}

	/* the parent must hang up */
	for (;;) {
		if (wait_readable() <= 0)
			die("the parent did not hang up");
		n = imsgbuf_read(&ibuf);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			break;
	}
	after = snapshot();
	if (strcmp(before, after) != 0)
		fprintf(stderr, "hostile engine: before:\n%s\nafter:\n%s\n",
		    before, after);
	result(strcmp(before, after) == 0 ? "unchanged" : "changed");
	return (0);
}
