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
 * The WireGuard backends against the real thing:
 *
 *	test_wg parse			the reply parsers alone
 *	test_wg userspace IFNAME	wireguard-go serving IFNAME
 *	test_wg kernel IFNAME		kernel WireGuard; no IFNAME yet
 *
 * Run by regress/wg/run.sh in a network namespace of its own (and, for
 * userspace, a mount namespace with a private /run).  Every change made
 * through wg_set() is checked twice: with wg_get() against a model of
 * what the device should now hold, and with "wg show IFNAME dump", which
 * reads the device through wireguard-tools' own code.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>
#include <libmnl/libmnl.h>
#include <sodium.h>

#include "wgmeshd.h"
#include "parent.h"
#include "regress.h"

/* UAPI test keys: 64 hex digits */
#define PRIV1	"e84b5a6d2717c1003a13b431570353db" \
		    "aca9146cf150c5f8575680feba52027a"
#define PRIV1SHORT	"84b5a6d2717c1003a13b431570353dba" \
		    "ca9146cf150c5f8575680feba52027"
#define PUB1	"b85996fecc9c7f1fc6d2572a76eda11d" \
		    "59bcd20be8e543b15ce4bd85a8e75a33"
#define PUB2	"58402e695ba1772b1cc9309755f04325" \
		    "1ea77fdcf10fbe63989ceb7e19321376"
#define PUB2UC	"58402E695BA1772B1CC9309755F04325" \
		    "1EA77FDCF10FBE63989CEB7E19321376"
#define ZERO	"00000000000000000000000000000000" \
		    "00000000000000000000000000000000"

#define MODEL_ALLOWED	8
#define BIG_PEERS	300
#define BIG_ALLOWED	4
#define HUGE_ALLOWED	3000	/* one peer, over several messages */

struct model_peer {
	uint8_t			 key[WG_KEY_LEN];
	int			 has_psk;
	struct sockaddr_storage	 endpoint;
	uint16_t		 keepalive;
	struct prefix		 allowed[MODEL_ALLOWED];
	size_t			 nallowed;
};

struct model {
	uint8_t			 public_key[WG_KEY_LEN];
	uint16_t		 listen_port;
	uint32_t		 fwmark;
	struct model_peer	 peers[8];
	size_t			 npeers;
};

static const char	*mode;
static const char	*ifname;

static void	 keypair(uint8_t [WG_KEY_LEN], uint8_t [WG_KEY_LEN]);
static struct prefix pfx(const char *);
static struct sockaddr_storage ep(const char *);
static int	 ep_equal(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);
static int	 allowed_equal(const struct prefix *, size_t,
		    const struct prefix *, size_t);
static struct wg_peer *find_peer(struct wg_device *, const uint8_t *);
static struct model_peer *model_find(struct model *, const uint8_t *);
static void	 model_del(struct model *, const uint8_t *);
static void	 check_device(struct wg_handle *, const struct model *,
		    const char *);
static char	*run(const char *);
static void	 check_wg_show(const struct model *, const char *);
static void	 test_parse(void);
static void	 test_netlink_parse(void);
static void	 test_config(struct wg_handle *);
static void	 test_big(struct wg_handle *);
static void	 test_rtnl(void);
static void	 test_refused(struct wg_handle *);
static pid_t	 fake_server(const char *, const char *);
static void	 fake_stop(pid_t);
static void	 test_uapi_faults(void);
static pid_t	 fake_server_nobody(const char *);
static int	 uapi_logged(int, const char *, char *, size_t);
static void	 test_uapi_not_root(void);

static void
keypair(uint8_t priv[WG_KEY_LEN], uint8_t pub[WG_KEY_LEN])
{
	randombytes_buf(priv, WG_KEY_LEN);
	key_clamp(priv);
	key_public_from_private(pub, priv);
}

static struct prefix
pfx(const char *s)
{
	struct prefix	p;

	if (prefix_parse(s, &p) == -1) {
		printf("bad test prefix %s\n", s);
		exit(2);
	}
	return (p);
}

static struct sockaddr_storage
ep(const char *s)
{
	struct endpoint	 e;
	const char	*errstr;

	if (endpoint_parse(s, &e, &errstr) == -1 || !e.literal) {
		printf("bad test endpoint %s\n", s);
		exit(2);
	}
	return (e.ss);
}

static int
ep_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in	*b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6	*a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6	*b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family)
		return (0);
	switch (a->ss_family) {
	case AF_UNSPEC:
		return (1);
	case AF_INET:
		return (a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr);
	case AF_INET6:
		return (a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0);
	}
	return (0);
}

/* As sets: wireguard-go hands them back in trie order, not ours. */
static int
allowed_equal(const struct prefix *a, size_t na, const struct prefix *b,
    size_t nb)
{
	struct prefix	m;
	size_t		i, j;

	if (na != nb)
		return (0);
	for (i = 0; i < na; i++) {
		m = b[i];
		prefix_mask(&m);
		for (j = 0; j < na; j++)
			if (prefix_equal(&a[j], &m))
				break;
		if (j == na)
			return (0);
	}
	return (1);
}

static struct wg_peer *
find_peer(struct wg_device *dev, const uint8_t *key)
{
	size_t	i;

	for (i = 0; i < dev->npeers; i++)
		if (memcmp(dev->peers[i].public_key, key, WG_KEY_LEN) == 0)
			return (&dev->peers[i]);
	return (NULL);
}

static struct model_peer *
model_find(struct model *m, const uint8_t *key)
{
	size_t	i;

	for (i = 0; i < m->npeers; i++)
		if (memcmp(m->peers[i].key, key, WG_KEY_LEN) == 0)
			return (&m->peers[i]);
	return (NULL);
}

static void
model_del(struct model *m, const uint8_t *key)
{
	struct model_peer	*mp;

	if ((mp = model_find(m, key)) == NULL)
		return;
	*mp = m->peers[--m->npeers];
}

/* The device, read back, must be exactly the model. */
static void
check_device(struct wg_handle *h, const struct model *m, const char *what)
{
	struct wg_device	 dev;
	struct wg_peer		*p;
	const struct model_peer	*mp;
	char			 a[64], b[64];
	size_t			 i;

	if (wg_get(h, &dev) == -1) {
		CHECK(0, "%s: wg_get failed", what);
		return;
	}
	CHECK(strcmp(dev.ifname, ifname) == 0, "%s: ifname %s", what,
	    dev.ifname);
	CHECK(dev.has_private_key, "%s: no private key", what);
	CHECK(memcmp(dev.public_key, m->public_key, WG_KEY_LEN) == 0,
	    "%s: public key not derived from the private key", what);
	CHECK(dev.listen_port == m->listen_port, "%s: listen port %u, not %u",
	    what, dev.listen_port, m->listen_port);
	CHECK(dev.fwmark == m->fwmark, "%s: fwmark %u, not %u", what,
	    dev.fwmark, m->fwmark);
	CHECK(dev.npeers == m->npeers, "%s: %zu peers, not %zu", what,
	    dev.npeers, m->npeers);
	for (i = 0; i < m->npeers; i++) {
		mp = &m->peers[i];
		if ((p = find_peer(&dev, mp->key)) == NULL) {
			CHECK(0, "%s: peer %zu missing", what, i);
			continue;
		}
		CHECK(p->has_psk == mp->has_psk, "%s: peer %zu psk %d", what,
		    i, p->has_psk);
		CHECK(ep_equal(&p->endpoint, &mp->endpoint),
		    "%s: peer %zu endpoint %s, not %s", what, i,
		    p->endpoint.ss_family == AF_UNSPEC ? "none" :
		    sockaddr_ntop((struct sockaddr *)&p->endpoint, a,
		    sizeof(a)),
		    mp->endpoint.ss_family == AF_UNSPEC ? "none" :
		    sockaddr_ntop((struct sockaddr *)&mp->endpoint, b,
		    sizeof(b)));
		CHECK(p->keepalive == mp->keepalive,
		    "%s: peer %zu keepalive %u, not %u", what, i,
		    p->keepalive, mp->keepalive);
		CHECK(allowed_equal(p->allowed, p->nallowed, mp->allowed,
		    mp->nallowed), "%s: peer %zu: %zu allowed-ips, not the "
		    "%zu expected", what, i, p->nallowed, mp->nallowed);
		CHECK(p->last_handshake == 0 && p->rx_bytes == 0,
		    "%s: peer %zu: traffic without a tunnel", what, i);
	}
	wg_device_free(&dev);
}

/* Runs a shell command; its output, or NULL.  The caller frees. */
static char *
run(const char *cmd)
{
	FILE	*fp;
	char	*out = NULL;
	size_t	 len = 0, n;
	char	 buf[4096];

	if ((fp = popen(cmd, "r")) == NULL)
		return (NULL);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		if ((out = realloc(out, len + n + 1)) == NULL)
			abort();
		memcpy(out + len, buf, n);
		len += n;
	}
	if (pclose(fp) != 0) {
		free(out);
		return (NULL);
	}
	if (out == NULL && (out = calloc(1, 1)) == NULL)
		abort();
	out[len] = '\0';
	return (out);
}

/* The same device through wireguard-tools: "wg show IFNAME dump". */
static void
check_wg_show(const struct model *m, const char *what)
{
	const struct model_peer	*mp;
	struct model		 seen;
	char			 cmd[128], *out, *line, *save, *f[9], *tok;
	char			*fsave, b64[WG_KEY_B64_LEN], buf[64];
	uint8_t			 key[WG_KEY_LEN];
	struct prefix		 allowed[MODEL_ALLOWED], p;
	size_t			 nf, nallowed, npeers = 0;
	int			 first = 1;

	snprintf(cmd, sizeof(cmd), "wg show %s dump", ifname);
	if ((out = run(cmd)) == NULL) {
		CHECK(0, "%s: %s failed", what, cmd);
		return;
	}
	memset(&seen, 0, sizeof(seen));
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		nf = 0;
		for (tok = strtok_r(line, "\t", &fsave); tok != NULL && nf < 9;
		    tok = strtok_r(NULL, "\t", &fsave))
			f[nf++] = tok;
		if (first) {
			first = 0;
			key_to_base64(b64, m->public_key);
			CHECK(nf == 4 && strcmp(f[1], b64) == 0,
			    "%s: wg show: public key", what);
			snprintf(buf, sizeof(buf), "%u", m->listen_port);
			CHECK(nf == 4 && strcmp(f[2], buf) == 0,
			    "%s: wg show: listen port", what);
			if (m->fwmark == 0)
				snprintf(buf, sizeof(buf), "off");
			else
				snprintf(buf, sizeof(buf), "0x%x", m->fwmark);
			CHECK(nf == 4 && strcmp(f[3], buf) == 0,
			    "%s: wg show: fwmark %s", what,
			    nf == 4 ? f[3] : "?");
			continue;
		}
		npeers++;
		if (nf != 8 || key_from_base64(key, f[0]) == -1 ||
		    (mp = model_find((struct model *)m, key)) == NULL) {
			CHECK(0, "%s: wg show: unexpected peer line", what);
			continue;
		}
		CHECK((strcmp(f[1], "(none)") != 0) == mp->has_psk,
		    "%s: wg show: psk %s", what, f[1]);
		if (mp->endpoint.ss_family == AF_UNSPEC)
			snprintf(buf, sizeof(buf), "(none)");
		else
			sockaddr_ntop((struct sockaddr *)&mp->endpoint, buf,
			    sizeof(buf));
		CHECK(strcmp(f[2], buf) == 0, "%s: wg show: endpoint %s, "
		    "not %s", what, f[2], buf);
		nallowed = 0;
		if (strcmp(f[3], "(none)") != 0) {
			for (tok = strtok_r(f[3], ",", &fsave); tok != NULL;
			    tok = strtok_r(NULL, ",", &fsave)) {
				if (nallowed == MODEL_ALLOWED ||
				    prefix_parse(tok, &p) == -1)
					break;
				allowed[nallowed++] = p;
			}
		}
		CHECK(allowed_equal(allowed, nallowed, mp->allowed,
		    mp->nallowed), "%s: wg show: allowed-ips", what);
		if (mp->keepalive == 0)
			snprintf(buf, sizeof(buf), "off");
		else
			snprintf(buf, sizeof(buf), "%u", mp->keepalive);
		CHECK(strcmp(f[7], buf) == 0, "%s: wg show: keepalive %s",
		    what, f[7]);
	}
	CHECK(!first && npeers == m->npeers, "%s: wg show: %zu peers", what,
	    npeers);
	free(out);
}

/*
 * The UAPI parser, alone: what wireguard-go and boringtun print is taken,
 * anything a little off is refused.
 */
static void
test_parse(void)
{
	static const char *good[] = {
		"errno=0\n\n",
		"private_key=" PRIV1 "\n"
		"listen_port=51820\nfwmark=0\n"
		"public_key=" PUB1 "\n"
		"preshared_key=" ZERO "\n"
		"protocol_version=1\nendpoint=[fd00::1%7]:51820\n"
		"last_handshake_time_sec=0\nlast_handshake_time_nsec=0\n"
		"tx_bytes=0\nrx_bytes=18446744073709551615\n"
		"persistent_keepalive_interval=65535\n"
		"allowed_ip=fd00:1::5/64\nallowed_ip=198.18.0.0/15\n"
		"public_key=" PUB2 "\n"
		"endpoint=198.18.1.1:1\nerrno=0\n\n",
		/* boringtun: own_public_key, other order */
		"own_public_key=" PUB1 "\n"
		"listen_port=1\n"
		"public_key=" PUB2UC "\n"
		"allowed_ip=fd00::/8\nrx_bytes=1\ntx_bytes=2\nerrno=0\n\n",
		"jc=4\njmin=40\nlisten_port=0\nerrno=0\n\n",
		/* a LAN peer's link-local endpoint, its zone a name */
		"public_key=" PUB2 "\nendpoint=[fe80::1%lo]:51820\n"
		"errno=0\n\n",
	};
	static const char *bad[] = {
		"",
		"\n",
		"errno=0\n",			/* no empty line */
		"errno=0\n\nx",			/* data after it */
		"errno=1\n\n",			/* an error */
		"listen_port=1\n\n",		/* no errno */
		"errno=0\nlisten_port=1\n\n",	/* after errno */
		"listen_port=65536\nerrno=0\n\n",
		"listen_port=01\nerrno=0\n\n",
		"listen_port=-1\nerrno=0\n\n",
		"listen_port=\nerrno=0\n\n",
		"listen_port=1\nlisten_port=1\nerrno=0\n\n",
		"fwmark=4294967296\nerrno=0\n\n",
		"bogus=1\nerrno=0\n\n",
		"listen_port 1\nerrno=0\n\n",
		"listen_port=1 \nerrno=0\n\n",
		"=1\nerrno=0\n\n",
		"private_key=" PRIV1SHORT "\nerrno=0\n\n",
		"private_key=" PRIV1 "b\nerrno=0\n\n",
		"private_key=g" PRIV1SHORT "a\nerrno=0\n\n",
		"endpoint=198.18.1.1:1\nerrno=0\n\n",	/* before a peer */
		"public_key=" PUB2 "\n"
		"listen_port=1\nerrno=0\n\n",	/* device key after */
		"public_key=" PUB2 "\n"
		"endpoint=198.18.1.1\nerrno=0\n\n",
		"public_key=" PUB2 "\n"
		"endpoint=fd00::1:51820\nerrno=0\n\n",
		"public_key=" PUB2 "\n"
		"endpoint=[fd00::1]:65536\nerrno=0\n\n",
		"public_key=" PUB2 "\n"
		"endpoint=[198.18.1.1]:1\nerrno=0\n\n",
		"public_key=" PUB2 "\n"
		"endpoint=host.example:1\nerrno=0\n\n",
		"public_key=" PUB2 "\n"
		"endpoint=[fe80::1%nosuchif0]:1\nerrno=0\n\n",
		"public_key=" PUB2 "\n"
		"allowed_ip=198.18.0.1\nerrno=0\n\n",
		"public_key=" PUB2 "\n"
		"allowed_ip=198.18.0.1/33\nerrno=0\n\n",
		"public_key=" PUB2 "\n"
		"protocol_version=2\nerrno=0\n\n",
		"public_key=" PUB2 "\n"
		"last_handshake_time_nsec=1000000000\nerrno=0\n\n",
		"public_key=" PUB2 "\n"
		"last_handshake_time_sec=9223372036854775808\nerrno=0\n\n",
		"public_key=" PUB2 "\n"
		"rx_bytes=18446744073709551616\nerrno=0\n\n",
		"public_key=" PUB2 "\n"
		"tx_bytes=1\ntx_bytes=1\nerrno=0\n\n",
		/* boringtun's public key that does not go with the private */
		"private_key=" PRIV1 "\n"
		"own_public_key=" PUB2 "\n"
		"errno=0\n\n",
		"errno=0\r\n\n",
		"errno=0\n\n\n",
		"errno=-0\n\n",
		"errno=4096\n\n",
		"errno=+1\n\n",
	};
	struct wg_device	 dev;
	struct prefix		 want;
	char			 line[600];
	const char		*s;
	struct imsg_addr	 ia;
	size_t			 i;
	uint8_t			 priv[WG_KEY_LEN], pub[WG_KEY_LEN];

	TEST("UAPI replies: accepted");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&dev, 0, sizeof(dev));
		CHECK(uapi_parse_get(good[i], strlen(good[i]), &dev) == 0,
		    "good reply %zu refused", i);
		wg_device_free(&dev);
	}
	/* the zone's name becomes the scope, and stays one */
	memset(&dev, 0, sizeof(dev));
	memset(&ia, 0, sizeof(ia));
	s = good[sizeof(good) / sizeof(good[0]) - 1];
	CHECK(uapi_parse_get(s, strlen(s), &dev) == 0 && dev.npeers == 1 &&
	    dev.peers[0].endpoint.ss_family == AF_INET6 &&
	    ((struct sockaddr_in6 *)&dev.peers[0].endpoint)->sin6_scope_id ==
	    if_nametoindex("lo") &&
	    imsg_addr_from_sockaddr(&ia, (struct sockaddr *)
	    &dev.peers[0].endpoint) == 0 && ia.scope == if_nametoindex("lo") &&
	    imsg_addr_is_endpoint(&ia), "[fe80::1%%lo]:51820: scope %u",
	    ia.scope);
	wg_device_free(&dev);
	memset(&dev, 0, sizeof(dev));
	s = good[1];
	if (uapi_parse_get(s, strlen(s), &dev) == 0) {
		memset(priv, 0, sizeof(priv));
		sodium_hex2bin(priv, sizeof(priv), s + 12, 64, NULL, NULL,
		    NULL);
		key_public_from_private(pub, priv);
		CHECK(dev.has_private_key &&
		    memcmp(dev.public_key, pub, WG_KEY_LEN) == 0,
		    "public key not derived");
		CHECK(dev.listen_port == 51820 && dev.npeers == 2,
		    "device fields");
		CHECK(dev.npeers == 2 && !dev.peers[0].has_psk &&
		    dev.peers[0].keepalive == 65535 &&
		    dev.peers[0].rx_bytes == UINT64_MAX &&
		    dev.peers[0].endpoint.ss_family == AF_INET6 &&
		    ((struct sockaddr_in6 *)&dev.peers[0].endpoint)->
		    sin6_scope_id == 7, "peer fields");
		want = pfx("fd00:1::/64");
		CHECK(dev.npeers == 2 && dev.peers[0].nallowed == 2 &&
		    prefix_equal(&dev.peers[0].allowed[0], &want),
		    "allowed-ip not masked");
		CHECK(dev.npeers == 2 && dev.peers[1].endpoint.ss_family ==
		    AF_INET && dev.peers[1].nallowed == 0, "second peer");
	} else
		CHECK(0, "reply with peers refused");
	wg_device_free(&dev);

	TEST("UAPI replies: refused");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&dev, 0, sizeof(dev));
		strlcpy(dev.ifname, "wgtest", sizeof(dev.ifname));
		CHECK(uapi_parse_get(bad[i], strlen(bad[i]), &dev) == -1,
		    "bad reply %zu accepted", i);
		CHECK(dev.npeers == 0 && dev.peers == NULL &&
		    strcmp(dev.ifname, "wgtest") == 0,
		    "bad reply %zu left a device behind", i);
		wg_device_free(&dev);
	}
	/* the longest line that is allowed, and one more */
	memset(line, 0, sizeof(line));
	memcpy(line, "listen_port=", 12);
	memset(line + 12, '1', 255 - 12);
	strlcpy(line + 255, "\nerrno=0\n\n", sizeof(line) - 255);
	memset(&dev, 0, sizeof(dev));
	CHECK(uapi_parse_get(line, strlen(line), &dev) == -1,
	    "a long number accepted");
	memset(&dev, 0, sizeof(dev));
	CHECK(uapi_parse_get("errno=0\n\0\n", 10, &dev) == -1,
	    "a NUL accepted");
	s = "errno=-22\n\n";
	CHECK(uapi_parse_get(s, strlen(s), &dev) == -1 && errno == EINVAL,
	    "wireguard-go's errno=-22 is not EINVAL");
	s = "errno=98\n\n";
	CHECK(uapi_parse_get(s, strlen(s), &dev) == -1 && errno == EADDRINUSE,
	    "boringtun's errno=98 is not EADDRINUSE");
}

/* A hand-made dump: a peer cut in two, merged back. */
static void
test_netlink_parse(void)
{
	uint8_t			 buf[4096] __attribute__((aligned(4)));
	struct nlmsghdr		*nlh;
	struct genlmsghdr	*genl;
	struct nlattr		*peers, *peer, *aips, *aip;
	struct wg_device	 dev;
	uint8_t			 key[WG_KEY_LEN], pub[WG_KEY_LEN];
	struct in6_addr		 a6;
	size_t			 len = 0, i;
	int			 part;

	TEST("netlink dump: a peer continued in the next message");
	keypair(key, pub);
	memset(buf, 0, sizeof(buf));
	for (part = 0; part < 2; part++) {
		nlh = mnl_nlmsg_put_header(buf + len);
		nlh->nlmsg_type = 30;
		nlh->nlmsg_flags = NLM_F_MULTI;
		genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
		genl->cmd = WG_CMD_GET_DEVICE;
		genl->version = 1;
		if (part == 0) {
			mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
			mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wgx");
		}
		peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
		peer = mnl_attr_nest_start(nlh, 0);
		mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, pub);
		if (part == 0)
			mnl_attr_put_u16(nlh,
			    WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
		aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
		for (i = 0; i < 3; i++) {
			inet_pton(AF_INET6, "fd00::", &a6);
			a6.s6_addr[2] = part;
			a6.s6_addr[3] = i;
			aip = mnl_attr_nest_start(nlh, 0);
			mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, 32);
			mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET6);
			mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, 16, &a6);
			mnl_attr_nest_end(nlh, aip);
		}
		mnl_attr_nest_end(nlh, aips);
		mnl_attr_nest_end(nlh, peer);
		mnl_attr_nest_end(nlh, peers);
		len += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	nlh = mnl_nlmsg_put_header(buf + len);
	nlh->nlmsg_type = NLMSG_DONE;
	mnl_nlmsg_put_extra_header(nlh, sizeof(int));
	len += nlh->nlmsg_len;

	memset(&dev, 0, sizeof(dev));
	CHECK(wgnl_parse_device(buf, len, &dev) == 0, "dump refused");
	CHECK(dev.npeers == 1 && dev.peers[0].nallowed == 6 &&
	    dev.peers[0].keepalive == 25, "not merged: %zu peers", dev.npeers);
	CHECK(dev.listen_port == 51820 && strcmp(dev.ifname, "wgx") == 0,
	    "device fields");
	wg_device_free(&dev);

	/* one byte short: a truncated attribute */
	memset(&dev, 0, sizeof(dev));
	nlh = (struct nlmsghdr *)buf;
	nlh->nlmsg_len -= 1;
	CHECK(wgnl_parse_device(buf, len, &dev) == -1,
	    "truncated message accepted");
	wg_device_free(&dev);
	nlh->nlmsg_len += 1;

	/* another interface's name in the second message */
	memset(&dev, 0, sizeof(dev));
	strlcpy(dev.ifname, "wgy", sizeof(dev.ifname));
	CHECK(wgnl_parse_device(buf, len, &dev) == -1,
	    "another device's dump accepted");
	wg_device_free(&dev);
}

static void
test_config(struct wg_handle *h)
{
	struct wg_device_set	 set;
	struct wg_peer_set	 ps[4];
	struct model		 m;
	struct model_peer	*mp;
	struct wg_device	 dev;
	uint8_t			 priv[WG_KEY_LEN], junk[WG_KEY_LEN];
	uint8_t			 keys[4][WG_KEY_LEN];
	struct prefix		 a0[2], a1[2], a2[2], a3[1];
	size_t			 i;

	TEST("configure a device: key, port, fwmark, three peers");
	memset(&m, 0, sizeof(m));
	keypair(priv, m.public_key);
	for (i = 0; i < 4; i++)
		keypair(junk, keys[i]);
	a0[0] = pfx("fd00:1::/64");
	a0[1] = pfx("198.18.10.0/24");
	a1[0] = pfx("fd00:2::/64");
	a1[1] = pfx("fd00:2:1::1/128");
	a2[0] = pfx("198.18.20.5/32");
	a2[1] = pfx("198.18.30.7/24");		/* host bits: cleared */
	a3[0] = pfx("fd00:4::/64");

	memset(&set, 0, sizeof(set));
	memset(ps, 0, sizeof(ps));
	set.flags = WGDEV_SET_PRIVATE_KEY | WGDEV_SET_LISTEN_PORT |
	    WGDEV_SET_FWMARK | WGDEV_REPLACE_PEERS;
	memcpy(set.private_key, priv, WG_KEY_LEN);
	set.listen_port = m.listen_port = 51820;
	set.fwmark = m.fwmark = 0x51;
	set.peers = ps;
	set.npeers = 3;
	for (i = 0; i < 3; i++) {
		memcpy(ps[i].public_key, keys[i], WG_KEY_LEN);
		ps[i].flags = WGPEER_SET_PSK | WGPEER_SET_KEEPALIVE |
		    WGPEER_REPLACE_ALLOWED;
		memcpy(m.peers[i].key, keys[i], WG_KEY_LEN);
	}
	randombytes_buf(ps[0].psk, WG_KEY_LEN);
	randombytes_buf(ps[1].psk, WG_KEY_LEN);
	m.peers[0].has_psk = m.peers[1].has_psk = 1;
	ps[0].flags |= WGPEER_SET_ENDPOINT;
	ps[0].endpoint = m.peers[0].endpoint = ep("198.18.1.1:51821");
	ps[1].flags |= WGPEER_SET_ENDPOINT;
	ps[1].endpoint = m.peers[1].endpoint = ep("[fd00::5]:51822");
	ps[0].keepalive = m.peers[0].keepalive = 25;
	ps[2].keepalive = m.peers[2].keepalive = 1;
	ps[0].allowed = a0;
	ps[1].allowed = a1;
	ps[2].allowed = a2;
	ps[0].nallowed = ps[1].nallowed = ps[2].nallowed = 2;
	memcpy(m.peers[0].allowed, a0, sizeof(a0));
	memcpy(m.peers[1].allowed, a1, sizeof(a1));
	memcpy(m.peers[2].allowed, a2, sizeof(a2));
	m.peers[0].nallowed = m.peers[1].nallowed = m.peers[2].nallowed = 2;
	m.npeers = 3;
	CHECK(wg_set(h, &set) == 0, "wg_set of the device failed");
	check_device(h, &m, "initial");
	check_wg_show(&m, "initial");

	TEST("update one peer's endpoint only (update-only)");
	memset(ps, 0, sizeof(ps));
	set.flags = 0;
	set.npeers = 2;
	memcpy(ps[0].public_key, keys[1], WG_KEY_LEN);
	ps[0].flags = WGPEER_SET_ENDPOINT | WGPEER_UPDATE_ONLY;
	ps[0].endpoint = m.peers[1].endpoint = ep("198.18.1.9:51900");
	/* update-only for a peer that is not there creates nothing */
	memcpy(ps[1].public_key, keys[3], WG_KEY_LEN);
	ps[1].flags = WGPEER_SET_ENDPOINT | WGPEER_UPDATE_ONLY;
	ps[1].endpoint = ep("198.18.1.10:51900");
	CHECK(wg_set(h, &set) == 0, "wg_set of an endpoint failed");
	check_device(h, &m, "endpoint");
	check_wg_show(&m, "endpoint");

	TEST("allowed-ips: added, then replaced; psk removed; keepalive");
	memset(ps, 0, sizeof(ps));
	set.npeers = 1;
	memcpy(ps[0].public_key, keys[0], WG_KEY_LEN);
	ps[0].allowed = a3;
	ps[0].nallowed = 1;
	mp = model_find(&m, keys[0]);
	mp->allowed[mp->nallowed++] = a3[0];
	CHECK(wg_set(h, &set) == 0, "wg_set adding an allowed-ip failed");
	check_device(h, &m, "allowed-ip added");
	ps[0].flags = WGPEER_REPLACE_ALLOWED | WGPEER_SET_PSK |
	    WGPEER_SET_KEEPALIVE;
	ps[0].keepalive = mp->keepalive = 0;
	mp->has_psk = 0;
	mp->allowed[0] = a3[0];
	mp->nallowed = 1;
	CHECK(wg_set(h, &set) == 0, "wg_set replacing allowed-ips failed");
	check_device(h, &m, "allowed-ips replaced");
	check_wg_show(&m, "allowed-ips replaced");

	TEST("remove a peer");
	memset(ps, 0, sizeof(ps));
	memcpy(ps[0].public_key, keys[2], WG_KEY_LEN);
	ps[0].flags = WGPEER_REMOVE;
	model_del(&m, keys[2]);
	CHECK(wg_set(h, &set) == 0, "wg_set removing a peer failed");
	check_device(h, &m, "removed");
	check_wg_show(&m, "removed");

	TEST("requests that make no sense are refused before sending");
	ps[0].flags = WGPEER_REMOVE | WGPEER_SET_KEEPALIVE;
	CHECK(wg_set(h, &set) == -1, "removal with changes accepted");
	ps[0].flags = WGPEER_SET_ENDPOINT;
	memset(&ps[0].endpoint, 0, sizeof(ps[0].endpoint));
	CHECK(wg_set(h, &set) == -1, "endpoint without a family accepted");
	ps[0].flags = 0x8000;
	CHECK(wg_set(h, &set) == -1, "unknown flag accepted");
	check_device(h, &m, "after refusals");

	TEST("replace all peers");
	memset(ps, 0, sizeof(ps));
	set.flags = WGDEV_REPLACE_PEERS | WGDEV_SET_LISTEN_PORT;
	set.listen_port = m.listen_port = 51830;
	memcpy(ps[0].public_key, keys[3], WG_KEY_LEN);
	ps[0].flags = WGPEER_SET_ENDPOINT;
	ps[0].endpoint = ep("[fd00::7]:7");
	ps[0].allowed = a2;
	ps[0].nallowed = 2;
	memset(&m.peers, 0, sizeof(m.peers));
	memcpy(m.peers[0].key, keys[3], WG_KEY_LEN);
	m.peers[0].endpoint = ps[0].endpoint;
	memcpy(m.peers[0].allowed, a2, sizeof(a2));
	m.peers[0].nallowed = 2;
	m.npeers = 1;
	CHECK(wg_set(h, &set) == 0, "wg_set replacing peers failed");
	check_device(h, &m, "peers replaced");
	check_wg_show(&m, "peers replaced");

	TEST("fwmark cleared");
	set.flags = WGDEV_SET_FWMARK;
	set.npeers = 0;
	set.fwmark = m.fwmark = 0;
	CHECK(wg_set(h, &set) == 0, "wg_set clearing the fwmark failed");
	check_device(h, &m, "fwmark cleared");
	check_wg_show(&m, "fwmark cleared");

	/* nothing of the private key is kept */
	if (wg_get(h, &dev) == 0) {
		CHECK(memmem(&dev, sizeof(dev), priv, WG_KEY_LEN) == NULL,
		    "private key in the device");
		wg_device_free(&dev);
	}
	sodium_memzero(priv, sizeof(priv));
}

/*
 * Enough to split requests and dumps over many netlink messages: many
 * small peers, and one peer whose allowed-ips alone fill several.
 */
static void
test_big(struct wg_handle *h)
{
	struct wg_device_set	 set;
	struct wg_peer_set	*ps;
	struct wg_device	 dev;
	struct wg_peer		*p;
	struct prefix		*allowed, *a;
	uint8_t			 priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	uint8_t			 junk[WG_KEY_LEN];
	char			 cmd[128], *out, *s;
	size_t			 i, j, n = BIG_PEERS + 1;
	size_t			 total = 0, bad = 0;
	struct timespec		 t0, t1;

	TEST("300 peers with 4 allowed-ips each, and one with 3000");
	ps = calloc(n, sizeof(*ps));
	allowed = calloc(BIG_PEERS * BIG_ALLOWED + HUGE_ALLOWED,
	    sizeof(*allowed));
	if (ps == NULL || allowed == NULL)
		abort();
	keypair(priv, pub);
	for (i = 0; i < n; i++) {
		keypair(junk, ps[i].public_key);
		ps[i].flags = WGPEER_REPLACE_ALLOWED | WGPEER_SET_KEEPALIVE |
		    WGPEER_SET_PSK | WGPEER_SET_ENDPOINT;
		ps[i].keepalive = i % 60;
		randombytes_buf(ps[i].psk, WG_KEY_LEN);
		ps[i].endpoint = ep("198.18.2.1:51820");
		((struct sockaddr_in *)&ps[i].endpoint)->sin_port =
		    htons(1000 + i);
		ps[i].allowed = allowed + i * BIG_ALLOWED;
		ps[i].nallowed = i < BIG_PEERS ? BIG_ALLOWED : HUGE_ALLOWED;
		a = allowed + i * BIG_ALLOWED;
		if (i == BIG_PEERS) {
			for (j = 0; j < HUGE_ALLOWED; j++) {
				a[j] = pfx("fd00:300::/128");
				a[j].addr.bytes[14] = j >> 8;
				a[j].addr.bytes[15] = j & 0xff;
			}
			continue;
		}
		a[0] = pfx("fd00:100::/64");
		a[0].addr.bytes[4] = i >> 8;
		a[0].addr.bytes[5] = i & 0xff;
		a[1] = a[0];
		a[1].addr.bytes[3] = 0x01;
		a[2] = pfx("198.19.0.0/32");
		a[2].addr.bytes[2] = i >> 8;
		a[2].addr.bytes[3] = i & 0xff;
		a[3] = pfx("fd00:200::1/128");
		a[3].addr.bytes[4] = i >> 8;
		a[3].addr.bytes[5] = i & 0xff;
	}
	memset(&set, 0, sizeof(set));
	set.flags = WGDEV_SET_PRIVATE_KEY | WGDEV_REPLACE_PEERS;
	memcpy(set.private_key, priv, WG_KEY_LEN);
	set.peers = ps;
	set.npeers = n;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(wg_set(h, &set) == 0, "wg_set of %zu peers failed", n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("set %zu peers: %.0f ms\n", n, (t1.tv_sec - t0.tv_sec) *
	    1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	sodium_memzero(&set, sizeof(set));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (wg_get(h, &dev) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("get %zu peers: %.0f ms\n", dev.npeers,
		    (t1.tv_sec - t0.tv_sec) * 1e3 +
		    (t1.tv_nsec - t0.tv_nsec) / 1e6);
		CHECK(dev.npeers == n, "%zu peers read back", dev.npeers);
		CHECK(memcmp(dev.public_key, pub, WG_KEY_LEN) == 0,
		    "public key");
		for (i = 0; i < n; i++) {
			if ((p = find_peer(&dev, ps[i].public_key)) == NULL ||
			    !p->has_psk || p->keepalive != ps[i].keepalive ||
			    !ep_equal(&p->endpoint, &ps[i].endpoint) ||
			    !allowed_equal(p->allowed, p->nallowed,
			    ps[i].allowed, ps[i].nallowed))
				bad++;
			if (p != NULL)
				total += p->nallowed;
		}
		CHECK(bad == 0, "%zu peers differ", bad);
		CHECK(total == BIG_PEERS * BIG_ALLOWED + HUGE_ALLOWED,
		    "%zu allowed-ips read back", total);
		wg_device_free(&dev);
	} else
		CHECK(0, "wg_get of %zu peers failed", n);

	/* and wireguard-tools counts the same */
	snprintf(cmd, sizeof(cmd), "wg show %s allowed-ips | tr ' \\t' "
	    "'\\n\\n' | grep -cE '^[0-9a-f.:]+/[0-9]+$'", ifname);
	out = run(cmd);
	total = out != NULL ? strtoul(out, &s, 10) : 0;
	CHECK(total == BIG_PEERS * BIG_ALLOWED + HUGE_ALLOWED,
	    "wg show: %zu allowed-ips", total);
	free(out);

	/* update-only on the big peer: its allowed-ips stay */
	memset(&set, 0, sizeof(set));
	ps[BIG_PEERS].flags = WGPEER_SET_ENDPOINT | WGPEER_UPDATE_ONLY;
	ps[BIG_PEERS].nallowed = 0;
	ps[BIG_PEERS].endpoint = ep("[fd00::300]:3");
	set.peers = &ps[BIG_PEERS];
	set.npeers = 1;
	CHECK(wg_set(h, &set) == 0, "update-only of the big peer failed");
	if (wg_get(h, &dev) == 0) {
		p = find_peer(&dev, ps[BIG_PEERS].public_key);
		CHECK(p != NULL && p->nallowed == HUGE_ALLOWED &&
		    ep_equal(&p->endpoint, &ps[BIG_PEERS].endpoint),
		    "big peer after update-only");
		wg_device_free(&dev);
	}

	/* and all of it away again */
	memset(&set, 0, sizeof(set));
	set.flags = WGDEV_REPLACE_PEERS;
	CHECK(wg_set(h, &set) == 0, "wg_set of no peers failed");
	if (wg_get(h, &dev) == 0) {
		CHECK(dev.npeers == 0, "%zu peers left", dev.npeers);
		wg_device_free(&dev);
	}
	sodium_memzero(ps, n * sizeof(*ps));
	free(ps);
	free(allowed);
	sodium_memzero(priv, sizeof(priv));
}

static void
test_rtnl(void)
{
	struct prefix	 a6 = pfx("fd00:abcd::1/64");
	struct prefix	 a4 = pfx("198.18.5.1/24");
	struct prefix	 r6 = pfx("fd00:1::/64");
	struct prefix	 r4 = pfx("198.18.10.7/24");
	struct prefix	 other6 = pfx("fd00:77::/64");
	struct prefix	 other4 = pfx("198.18.99.0/24");
	char		 cmd[256], *out;
	int		 i;

	TEST("rtnetlink: link up, addresses and routes, twice each");
	CHECK(rtnl_link_up("lo") == 0, "lo up failed");
	CHECK(rtnl_link_index(ifname) > 0, "no index for %s", ifname);
	CHECK(rtnl_link_index("wgt-none") == 0, "index for a missing link");
	CHECK(rtnl_link_up(ifname) == 0, "link up failed");
	CHECK(rtnl_link_up(ifname) == 0, "link up twice failed");
	for (i = 0; i < 2; i++) {
		CHECK(rtnl_addr_add(ifname, &a6) == 0, "addr add v6 (%d)", i);
		CHECK(rtnl_addr_add(ifname, &a4) == 0, "addr add v4 (%d)", i);
		CHECK(rtnl_route_add(ifname, &r6) == 0, "route add v6 (%d)",
		    i);
		CHECK(rtnl_route_add(ifname, &r4) == 0, "route add v4 (%d)",
		    i);
	}
	snprintf(cmd, sizeof(cmd), "ip -o link show dev %s", ifname);
	out = run(cmd);
	CHECK(out != NULL && strstr(out, ",UP") != NULL, "link not up: %s",
	    out != NULL ? out : "?");
	free(out);
	snprintf(cmd, sizeof(cmd), "ip -o -6 addr show dev %s", ifname);
	out = run(cmd);
	CHECK(out != NULL && strstr(out, "inet6 fd00:abcd::1/64 ") != NULL,
	    "v6 address missing");
	free(out);
	snprintf(cmd, sizeof(cmd), "ip -o -4 addr show dev %s", ifname);
	out = run(cmd);
	CHECK(out != NULL && strstr(out, "inet 198.18.5.1/24 ") != NULL,
	    "v4 address missing");
	free(out);
	snprintf(cmd, sizeof(cmd), "ip -6 route show table main proto %d "
	    "dev %s", RTPROT_WGMESHD, ifname);
	out = run(cmd);
	CHECK(out != NULL && strncmp(out, "fd00:1::/64 ", 12) == 0 &&
	    strchr(out, '\n') == out + strlen(out) - 1,
	    "v6 route: %s", out != NULL ? out : "?");
	free(out);
	snprintf(cmd, sizeof(cmd), "ip -4 route show table main proto %d "
	    "dev %s", RTPROT_WGMESHD, ifname);
	out = run(cmd);
	CHECK(out != NULL && strncmp(out, "198.18.10.0/24 ", 15) == 0 &&
	    strstr(out, "scope link") != NULL &&
	    strchr(out, '\n') == out + strlen(out) - 1,
	    "v4 route: %s", out != NULL ? out : "?");
	free(out);

	TEST("rtnetlink: a route elsewhere is taken over, not deleted");
	CHECK(system("ip -6 route add fd00:77::/64 dev lo && "
	    "ip -4 route add 198.18.99.0/24 dev lo") == 0,
	    "ip route add via lo failed");
	CHECK(rtnl_route_add(ifname, &other6) == 0, "route replace failed");
	snprintf(cmd, sizeof(cmd), "ip -6 route show fd00:77::/64");
	out = run(cmd);
	CHECK(out != NULL && strstr(out, ifname) != NULL &&
	    strstr(out, " lo ") == NULL, "route not taken over: %s",
	    out != NULL ? out : "?");
	free(out);
	CHECK(rtnl_route_del(ifname, &other4) == 0,
	    "deleting a route we do not have failed");
	out = run("ip -4 route show 198.18.99.0/24");
	CHECK(out != NULL && strstr(out, "dev lo") != NULL,
	    "somebody else's route deleted");
	free(out);
	CHECK(system("ip -4 route del 198.18.99.0/24 dev lo") == 0,
	    "ip route del via lo failed");

	TEST("rtnetlink: deleted, twice each");
	for (i = 0; i < 2; i++) {
		CHECK(rtnl_route_del(ifname, &r6) == 0, "route del v6 (%d)",
		    i);
		CHECK(rtnl_route_del(ifname, &r4) == 0, "route del v4 (%d)",
		    i);
		CHECK(rtnl_route_del(ifname, &other6) == 0,
		    "route del v6 (%d)", i);
		CHECK(rtnl_addr_del(ifname, &a6) == 0, "addr del v6 (%d)", i);
		CHECK(rtnl_addr_del(ifname, &a4) == 0, "addr del v4 (%d)", i);
	}
	snprintf(cmd, sizeof(cmd), "ip route show table main proto %d; "
	    "ip -6 route show table main proto %d", RTPROT_WGMESHD,
	    RTPROT_WGMESHD);
	out = run(cmd);
	CHECK(out != NULL && out[0] == '\0', "routes left: %s",
	    out != NULL ? out : "?");
	free(out);
	snprintf(cmd, sizeof(cmd), "ip -o addr show dev %s | "
	    "grep -E 'fd00:abcd|198\\.18\\.5\\.1'", ifname);
	out = run(cmd);
	CHECK(out == NULL, "addresses left");
	free(out);
	CHECK(rtnl_route_add("wgt-none", &r6) == -1,
	    "route to a missing link");
	CHECK(rtnl_route_del("wgt-none", &r6) == 0,
	    "route del for a missing link");
}

/* A request the implementation itself refuses: a port in use. */
static void
test_refused(struct wg_handle *h)
{
	struct wg_device_set	 set;
	struct wg_device	 dev;
	struct sockaddr_in	 sin;
	int			 s, rv, e;

	TEST("a request the implementation refuses is reported");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(51999);
	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		CHECK(0, "cannot bind UDP port 51999: %s", strerror(errno));
		return;
	}
	memset(&set, 0, sizeof(set));
	set.flags = WGDEV_SET_LISTEN_PORT;
	set.listen_port = 51999;
	rv = wg_set(h, &set);
	e = errno;
	CHECK(rv == -1 && e == EADDRINUSE, "listen port in use: %d, %s", rv,
	    strerror(e));
	close(s);
	if (wg_get(h, &dev) == 0) {
		CHECK(dev.listen_port != 51999, "listen port taken anyway");
		wg_device_free(&dev);
	} else
		CHECK(0, "wg_get after a refusal failed");
}

/*
 * A fake userspace implementation on IFNAME's socket: it reads one
 * request and answers with the reply given, or never (NULL).
 */
static pid_t
fake_server(const char *name, const char *reply)
{
	struct sockaddr_un	 sun;
	char			 buf[4096];
	pid_t			 pid;
	int			 s, c;
	ssize_t			 n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	uapi_socket_path(name, sun.sun_path, sizeof(sun.sun_path));
	unlink(sun.sun_path);
	if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(s, 1) == -1) {
		printf("fake server %s: %s\n", sun.sun_path, strerror(errno));
		exit(2);
	}
	if ((pid = fork()) == -1)
		exit(2);
	if (pid != 0) {
		close(s);
		return (pid);
	}
	alarm(30);
	if ((c = accept(s, NULL, NULL)) == -1)
		_exit(1);
	while ((n = read(c, buf, sizeof(buf))) > 0)
		if (n >= 2 && buf[n - 1] == '\n' && buf[n - 2] == '\n')
			break;
	if (reply == NULL)
		pause();
	if (write(c, reply, strlen(reply)) == -1)
		_exit(1);
	_exit(0);
}

static void
fake_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static void
test_uapi_faults(void)
{
	struct wg_device	 dev;
	struct wg_device_set	 set;
	struct wg_handle	*h;
	struct timespec		 t0, t1;
	char			 path[108], *big;
	pid_t			 pid;
	double			 secs;
	int			 rv, e;

	TEST("UAPI: an implementation that answers badly or not at all");
	memset(&set, 0, sizeof(set));
	set.flags = WGDEV_SET_LISTEN_PORT;

	pid = fake_server("wgfake", "errno=22\n\n");
	rv = uapi_set("wgfake", &set);
	e = errno;
	CHECK(rv == -1 && e == EINVAL, "errno=22 on set: %d, %s", rv,
	    strerror(e));
	fake_stop(pid);

	pid = fake_server("wgfake", "errno=-98\n\n");
	rv = uapi_set("wgfake", &set);
	e = errno;
	CHECK(rv == -1 && e == EADDRINUSE, "errno=-98 on set: %d, %s", rv,
	    strerror(e));
	fake_stop(pid);

	pid = fake_server("wgfake", "listen_port=1\nbogus=2\nerrno=0\n\n");
	CHECK(uapi_get("wgfake", &dev) == -1 && dev.npeers == 0,
	    "an unknown key accepted");
	fake_stop(pid);

	pid = fake_server("wgfake", "listen_port=1\nerrno=0\n\nlisten_port");
	CHECK(uapi_get("wgfake", &dev) == -1, "data after the reply");
	fake_stop(pid);

	pid = fake_server("wgfake", "listen_port=1\n");
	CHECK(uapi_get("wgfake", &dev) == -1, "a reply cut short accepted");
	fake_stop(pid);

	/* a reply without end: refused after 1 MiB */
	if ((big = malloc(1200 * 1024 + 1)) == NULL)
		abort();
	memset(big, 'x', 1200 * 1024);
	big[1200 * 1024] = '\0';
	pid = fake_server("wgfake", big);
	rv = uapi_get("wgfake", &dev);
	e = errno;
	CHECK(rv == -1 && e == EMSGSIZE, "an endless reply: %d, %s", rv,
	    strerror(e));
	fake_stop(pid);
	free(big);

	pid = fake_server("wgfake", NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rv = uapi_get("wgfake", &dev);
	e = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(rv == -1 && e == ETIMEDOUT && secs > 4 && secs < 8,
	    "a silent implementation: %d, %s after %.1f s", rv, strerror(e),
	    secs);
	fake_stop(pid);

	/* a stale socket: nobody listens */
	uapi_socket_path("wgfake", path, sizeof(path));
	CHECK(access(path, F_OK) == 0, "the fake socket is gone");
	CHECK(uapi_get("wgfake", &dev) == -1 && errno == ECONNREFUSED,
	    "a stale socket");
	CHECK((h = wg_open("wgfake", WG_BACKEND_AUTO)) == NULL, "wg_open of a stale socket");
	wg_close(h);
	unlink(path);
}

/*
 * A socket at IFNAME's path that another user serves: made by root
 * (only root may create it in the UAPI directory), listened on as uid
 * 65534, which is what SO_PEERCRED reports.  The child exits 3 if it
 * was sent anything, 0 if the caller hung up without a word.
 */
static pid_t
fake_server_nobody(const char *name)
{
	struct sockaddr_un	 sun;
	char			 buf[256];
	pid_t			 pid;
	int			 s, c, p[2];
	ssize_t			 n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	uapi_socket_path(name, sun.sun_path, sizeof(sun.sun_path));
	unlink(sun.sun_path);
	if (pipe(p) == -1 || (pid = fork()) == -1)
		exit(2);
	if (pid != 0) {
		close(p[1]);
		if (read(p[0], buf, 1) != 1)
			exit(2);
		close(p[0]);
		return (pid);
	}
	close(p[0]);
	alarm(30);
	if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    setresgid(65534, 65534, 65534) == -1 ||
	    setresuid(65534, 65534, 65534) == -1 || listen(s, 1) == -1 ||
	    write(p[1], "r", 1) != 1)
		_exit(2);
	if ((c = accept(s, NULL, NULL)) == -1)
		_exit(1);
	n = read(c, buf, sizeof(buf));
	_exit(n > 0 ? 3 : 0);
}

/*
 * Runs uapi_set() or uapi_get() with stderr sent to a file; returns the
 * result and copies what was logged into log.
 */
static int
uapi_logged(int set, const char *name, char *log, size_t loglen)
{
	struct wg_device_set	 ds;
	struct wg_device	 dev;
	char			 tmpl[] = "/tmp/test_wg.XXXXXX";
	ssize_t			 n;
	int			 fd, saved, rv;

	if ((fd = mkstemp(tmpl)) == -1 || (saved = dup(2)) == -1)
		exit(2);
	unlink(tmpl);
	fflush(stderr);
	dup2(fd, 2);
	if (set) {
		memset(&ds, 0, sizeof(ds));
		ds.flags = WGDEV_SET_PRIVATE_KEY;
		memset(ds.private_key, 0x42, sizeof(ds.private_key));
		rv = uapi_set(name, &ds);
	} else {
		rv = uapi_get(name, &dev);
		if (rv == 0)
			wg_device_free(&dev);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, log, loglen - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	return (rv);
}

static void
test_uapi_not_root(void)
{
	char	 log[1024], path[108];
	pid_t	 pid;
	int	 rv, e, status;

	TEST("UAPI: a socket served by another user gets no key");
	uapi_socket_path("wgfake", path, sizeof(path));
	pid = fake_server_nobody("wgfake");
	rv = uapi_logged(1, "wgfake", log, sizeof(log));
	e = errno;
	CHECK(rv == -1 && e == EPERM, "uid 65534's socket: %d, %s", rv,
	    strerror(e));
	CHECK(strstr(log, path) != NULL && strstr(log, "uid 65534") != NULL,
	    "the refusal does not name the socket and uid: \"%s\"", log);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0,
	    "the server was sent something (status 0x%x)", status);

	pid = fake_server_nobody("wgfake");
	CHECK(uapi_logged(0, "wgfake", log, sizeof(log)) == -1,
	    "uid 65534's answer to a get believed");
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0,
	    "a get was sent (status 0x%x)", status);
	unlink(path);
}

int
main(int argc, char *argv[])
{
	struct wg_handle	*h;
	struct wg_device	 dev;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(1, 0);
	/* e.g. to see how many messages a netlink request took */
	if (getenv("TEST_WG_VERBOSE") != NULL)
		log_setverbose(1);
	if (sodium_init() == -1)
		return (2);
	if (argc == 2 && strcmp(argv[1], "parse") == 0) {
		test_parse();
		test_netlink_parse();
		return (regress_end());
	}
	if (argc != 3 || (strcmp(argv[1], "userspace") != 0 &&
	    strcmp(argv[1], "kernel") != 0)) {
		fprintf(stderr, "usage: test_wg parse | "
		    "test_wg userspace|kernel ifname\n");
		return (2);
	}
	mode = argv[1];
	ifname = argv[2];

	test_parse();
	test_netlink_parse();

	TEST("wg_open picks the backend");
	if (strcmp(mode, "kernel") == 0)
		CHECK(rtnl_link_index(ifname) == 0, "%s exists already",
		    ifname);
	if ((h = wg_open(ifname, WG_BACKEND_AUTO)) == NULL) {
		CHECK(0, "wg_open(%s) failed", ifname);
		return (regress_end());
	}
	CHECK(strcmp(wg_backend_name(h), mode) == 0, "backend %s",
	    wg_backend_name(h));
	CHECK(rtnl_link_index(ifname) > 0, "no link %s", ifname);
	if (wg_get(h, &dev) == 0) {
		CHECK(!dev.has_private_key && dev.npeers == 0,
		    "a fresh device is not empty");
		wg_device_free(&dev);
	} else
		CHECK(0, "wg_get of a fresh device failed");

	test_config(h);
	test_big(h);
	test_rtnl();		/* brings the link up */
	test_refused(h);
	wg_close(h);

	if (strcmp(mode, "kernel") == 0) {
		TEST("wg_open of an existing kernel device");
		h = wg_open(ifname, WG_BACKEND_AUTO);
		CHECK(h != NULL && strcmp(wg_backend_name(h), "kernel") == 0,
		    "reopen failed");
		wg_close(h);
	}
	if (strcmp(mode, "userspace") == 0) {
		test_uapi_faults();
		test_uapi_not_root();
	}
	return (regress_end());
}
