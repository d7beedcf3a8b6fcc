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
 * The parent's side of each WireGuard interface: bring the device to what
 * the configuration says, touching only what differs, and report what the
 * device sees to the engine.  The daemon owns the interface's peer set:
 * peers that are not configured are removed.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "conf.h"
#include "parent.h"

static const struct peer_conf *old_peer(const struct iface_conf *,
		    const uint8_t *);
static const struct wg_peer *dev_peer(const struct wg_device *,
		    const uint8_t *);
static int	 allowed_same(const struct wg_peer *, const struct prefix *,
		    size_t);
static int	 iface_addresses(const struct iface_conf *, struct prefix **,
		    size_t *);
static int	 prefix_in(const struct prefix *, const struct prefix *,
		    size_t);
static void	 routes_apply(struct iface_conf *, const struct iface_conf *);
static void	 addresses_apply(struct iface_conf *, const struct iface_conf *);
static int64_t	 device_clock_ms(void);
static void	 scope_fill(struct imsg_addr *, const struct imsg_addr *);

static int
iface_addresses(const struct iface_conf *iface, struct prefix **out,
    size_t *n)
{
	struct prefix	*p;
	size_t		 i = 0;

	if ((p = calloc(iface->naddresses + 2, sizeof(*p))) == NULL)
		return (-1);
	if (iface->address_auto)
		p[i++] = iface->derived;
	/* the control address: gossip's, whatever the names (util.c) */
	p[i].af = AF_INET6;
	p[i].plen = 128;
	address_control(p[i].addr.bytes, iface->public_key);
	i++;
	/* addresses is NULL when there are none: no memcpy() from NULL */
	if (iface->naddresses > 0)
		memcpy(p + i, iface->addresses,
		    iface->naddresses * sizeof(*p));
	*out = p;
	*n = i + iface->naddresses;
	return (0);
}

static int
prefix_in(const struct prefix *p, const struct prefix *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (prefix_equal(p, &list[i]))
			return (1);
	return (0);
}

static const struct peer_conf *
old_peer(const struct iface_conf *old, const uint8_t *key)
{
	const struct peer_conf	*peer;

	if (old == NULL)
		return (NULL);
	TAILQ_FOREACH(peer, &old->peers, entry)
		if (memcmp(peer->public_key, key, WG_KEY_LEN) == 0)
			return (peer);
	return (NULL);
}

static const struct wg_peer *
dev_peer(const struct wg_device *dev, const uint8_t *key)
{
	size_t	i;

	for (i = 0; i < dev->npeers; i++)
		if (memcmp(dev->peers[i].public_key, key, WG_KEY_LEN) == 0)
			return (&dev->peers[i]);
	return (NULL);
}

static int
allowed_same(const struct wg_peer *wp, const struct prefix *want, size_t n)
{
	size_t	i;

	if (wp->nallowed != n)
		return (0);
	for (i = 0; i < n; i++)
		if (!prefix_in(&want[i], wp->allowed, wp->nallowed))
			return (0);
	return (1);
}

int
device_open(struct device *d, struct iface_conf *iface)
{
	memset(d, 0, sizeof(*d));
	d->conf = iface;
	if ((d->wg = wg_open(iface->ifname, iface->backend)) == NULL)
		return (-1);
	return (0);
}

void
device_close(struct device *d)
{
	if (d->wg != NULL)
		wg_close(d->wg);
	free(d->peers);
	memset(d, 0, sizeof(*d));
}

/*
 * Brings the device to the configuration "iface"; "old" is what was
 * applied before (NULL at start), so that a reload touches only what
 * changed.  Everything is checked before the first change is made.
 */
int
device_apply(struct device *d, struct iface_conf *iface,
    const struct iface_conf *old)
{
	struct wg_device	 dev;
	struct wg_device_set	 set;
	struct wg_peer_set	*ps = NULL;
	struct prefix		**allowed = NULL;
	const struct wg_peer	*wp;
	const struct peer_conf	*op;
	struct peer_conf	*peer;
	uint8_t			 priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	uint8_t			 psk[WG_KEY_LEN];
	size_t			 i, n = 0, nps = 0, *nallowed = NULL;
	uint16_t		 keepalive;
	int			 ret = -1;

	/*
	 * The device follows "iface" even when this fails: on reload the
	 * caller frees the old configuration.  Until applied, it is not
	 * polled, as after a failure at start.
	 */
	d->conf = iface;
	free(d->peers);
	d->peers = NULL;

	memset(&dev, 0, sizeof(dev));
	memset(&set, 0, sizeof(set));
	if (wg_get(d->wg, &dev) == -1)
		return (-1);

	/* this node's key, port and mark */
	if (key_file_read(iface->private_key_file, priv) != 0) {
		log_warnx("%s: cannot read private key %s", iface->ifname,
		    iface->private_key_file);
		goto done;
	}
	key_public_from_private(pub, priv);
	memcpy(iface->public_key, pub, WG_KEY_LEN);
	iface->has_public_key = 1;
	if (!dev.has_private_key ||
	    memcmp(dev.public_key, pub, WG_KEY_LEN) != 0) {
		set.flags |= WGDEV_SET_PRIVATE_KEY;
		memcpy(set.private_key, priv, WG_KEY_LEN);
	}
	sodium_memzero(priv, sizeof(priv));
	if (dev.listen_port != iface->listen_port) {
		set.flags |= WGDEV_SET_LISTEN_PORT;
		set.listen_port = iface->listen_port;
	}
	if (dev.fwmark != iface->fwmark) {
		set.flags |= WGDEV_SET_FWMARK;
		set.fwmark = iface->fwmark;
	}

	/* room for every configured peer and every peer to remove */
	n = iface->npeers + dev.npeers;
	if (n > 0 && ((ps = calloc(n, sizeof(*ps))) == NULL ||
	    (allowed = calloc(n, sizeof(*allowed))) == NULL ||
	    (nallowed = calloc(n, sizeof(*nallowed))) == NULL)) {
		log_warn("%s: peers", iface->ifname);
		goto done;
	}

	for (i = 0; i < dev.npeers; i++) {
		TAILQ_FOREACH(peer, &iface->peers, entry)
			if (memcmp(peer->public_key, dev.peers[i].public_key,
			    WG_KEY_LEN) == 0)
				break;
		if (peer != NULL)
			continue;
		ps[nps].flags = WGPEER_REMOVE;
		memcpy(ps[nps].public_key, dev.peers[i].public_key,
		    WG_KEY_LEN);
		nps++;
	}

	TAILQ_FOREACH(peer, &iface->peers, entry) {
		struct wg_peer_set	*p = &ps[nps];
		const char		*pskfile;

		memcpy(p->public_key, peer->public_key, WG_KEY_LEN);
		wp = dev_peer(&dev, peer->public_key);
		op = old_peer(old, peer->public_key);

		/* the preshared key, compared by digest, never kept */
		memset(psk, 0, sizeof(psk));
		peer->has_psk = 0;
		if ((pskfile = peer_psk_file(iface, peer)) != NULL) {
			if (key_file_read(pskfile, psk) != 0) {
				log_warnx("%s: peer %s: cannot read preshared "
				    "key %s", iface->ifname, peer->name,
				    pskfile);
				goto done;
			}
			peer->has_psk = 1;
			crypto_generichash(peer->psk_digest,
			    sizeof(peer->psk_digest), psk, sizeof(psk),
			    NULL, 0);
		}
		if (wp == NULL || wp->has_psk != peer->has_psk ||
		    (peer->has_psk && (op == NULL || !op->has_psk ||
		    sodium_memcmp(op->psk_digest, peer->psk_digest,
		    sizeof(peer->psk_digest)) != 0))) {
			p->flags |= WGPEER_SET_PSK;
			memcpy(p->psk, psk, WG_KEY_LEN);
		}
		sodium_memzero(psk, sizeof(psk));

		if (peer_allowed(peer, &allowed[nps], &nallowed[nps]) == -1) {
			log_warn("%s: allowed-ips", iface->ifname);
			goto done;
		}
		if (wp == NULL || !allowed_same(wp, allowed[nps],
		    nallowed[nps])) {
			p->flags |= WGPEER_REPLACE_ALLOWED;
			p->allowed = allowed[nps];
			p->nallowed = nallowed[nps];
		}

		keepalive = peer_keepalive(iface, peer);
		/*
		 * WireGuard sends at once to a new peer with a keepalive
		 * and an endpoint.  Two hosts started together would each
		 * start a handshake, and two that cross undo each other
		 * for five seconds (REKEY_TIMEOUT).  The end with the
		 * larger key starts later (rule 12 atop mesh.c): the engine
		 * sets its keepalive once the peer is up.
		 */
		if (wp == NULL && key_starts_later(pub, peer->public_key))
			keepalive = 0;
		if ((wp == NULL && keepalive != 0) ||
		    (wp != NULL && wp->keepalive != keepalive)) {
			p->flags |= WGPEER_SET_KEEPALIVE;
			p->keepalive = keepalive;
		}

		/*
		 * A configured address is set when the peer is new, when
		 * the device has none, or when the configuration changed
		 * it; otherwise the endpoint WireGuard follows is kept.
		 */
		if (peer->has_endpoint && peer->endpoint.literal &&
		    (wp == NULL || wp->endpoint.ss_family == AF_UNSPEC ||
		    (op != NULL && (!op->has_endpoint ||
		    strcmp(op->endpoint.host, peer->endpoint.host) != 0 ||
		    op->endpoint.port != peer->endpoint.port)))) {
			p->flags |= WGPEER_SET_ENDPOINT;
			memcpy(&p->endpoint, &peer->endpoint.ss,
			    sizeof(p->endpoint));
		}
		if (p->flags != 0)
			nps++;
		else
			memset(p, 0, sizeof(*p));
	}

	set.peers = ps;
	set.npeers = nps;
	if ((set.flags != 0 || nps > 0) && wg_set(d->wg, &set) == -1) {
		log_warnx("%s: configuring the device failed", iface->ifname);
		goto done;
	}
	if (nps > 0 || set.flags != 0)
		log_info("%s: %zu peer change%s, device settings%s changed",
		    iface->ifname, nps, nps == 1 ? "" : "s",
		    set.flags != 0 ? "" : " not");

	addresses_apply(iface, old);
	if (rtnl_link_up(iface->ifname) == -1)
		goto done;
	routes_apply(iface, old);

	/* a new peer list: what was reported to the engine starts over */
	free(d->peers);
	d->peers = calloc(iface->npeers > 0 ? iface->npeers : 1,
	    sizeof(*d->peers));
	if (d->peers == NULL) {
		log_warn("%s", iface->ifname);
		goto done;
	}
	/* no real report matches: every peer is reported at the next poll */
	for (i = 0; i < iface->npeers; i++)
		d->peers[i].seen.peer = UINT32_MAX;
	d->conf = iface;
	ret = 0;
 done:
	sodium_memzero(&set, sizeof(set));
	sodium_memzero(priv, sizeof(priv));
	if (ps != NULL)
		sodium_memzero(ps, n * sizeof(*ps));
	for (i = 0; allowed != NULL && i < n; i++)
		free(allowed[i]);
	free(allowed);
	free(nallowed);
	free(ps);
	wg_device_free(&dev);
	return (ret);
}

static void
addresses_apply(struct iface_conf *iface, const struct iface_conf *old)
{
	struct prefix	*want = NULL, *had = NULL;
	size_t		 nwant = 0, nhad = 0, i;

	if (iface_addresses(iface, &want, &nwant) == -1 ||
	    (old != NULL && iface_addresses(old, &had, &nhad) == -1)) {
		log_warn("%s: addresses", iface->ifname);
		goto done;
	}
	for (i = 0; i < nhad; i++)
		if (!prefix_in(&had[i], want, nwant))
			rtnl_addr_del(iface->ifname, &had[i]);
	for (i = 0; i < nwant; i++)
		rtnl_addr_add(iface->ifname, &want[i]);
 done:
	free(want);
	free(had);
}

static void
routes_apply(struct iface_conf *iface, const struct iface_conf *old)
{
	const struct peer_conf	*peer, *op;
	struct prefix		*want, *had;
	size_t			 nwant, nhad, i;
	int			 keep;

	/* routes of peers that went away or lost allowed-ips */
	if (old != NULL) {
		TAILQ_FOREACH(op, &old->peers, entry) {
			if (peer_allowed(op, &had, &nhad) == -1)
				continue;
			for (i = 0; i < nhad; i++) {
				keep = 0;
				TAILQ_FOREACH(peer, &iface->peers, entry) {
					if (peer_allowed(peer, &want,
					    &nwant) == -1)
						continue;
					keep |= prefix_in(&had[i], want, nwant);
					free(want);
				}
				if (!keep)
					rtnl_route_del(iface->ifname, &had[i]);
			}
			free(had);
		}
	}
	TAILQ_FOREACH(peer, &iface->peers, entry) {
		if (peer_allowed(peer, &want, &nwant) == -1)
			continue;
		for (i = 0; i < nwant; i++)
			rtnl_route_add(iface->ifname, &want[i]);
		free(want);
	}
}

/*
 * wireguard-go (0.0.20220316) takes "[fe80::1%2]:51820" but reports it
 * as "[fe80::1]:51820": a link-local endpoint without a scope gets the
 * one of "known", the endpoint set, when it is the same address and
 * port.  One it found by itself keeps none, and so is no endpoint to
 * the engine (imsg_addr_is_endpoint()).
 */
static void
scope_fill(struct imsg_addr *cur, const struct imsg_addr *known)
{
	if (imsg_addr_is_link_local(cur) && cur->scope == 0 &&
	    known->af == AF_INET6 && known->port == cur->port &&
	    memcmp(known->addr, cur->addr, 16) == 0)
		cur->scope = known->scope;
}

/*
 * Reads the device and reports each configured peer whose endpoint,
 * handshake or counters changed since the last report; sets *waiting
 * when a peer has no recent handshake.
 */
int
device_poll(struct device *d, uint32_t index, device_report_cb report,
    void *arg, int *waiting)
{
	int64_t			 t = (int64_t)time(NULL);
	struct wg_device	 dev;
	struct imsg_device_peer	 now;
	const struct wg_peer	*wp;
	struct peer_conf	*peer;
	uint32_t		 i = 0;

	memset(&dev, 0, sizeof(dev));
	if (wg_get(d->wg, &dev) == -1)
		return (-1);
	TAILQ_FOREACH(peer, &d->conf->peers, entry) {
		memset(&now, 0, sizeof(now));
		now.iface = index;
		now.peer = i;
		if ((wp = dev_peer(&dev, peer->public_key)) != NULL) {
			/* the engine refuses a time before 1970 */
			now.last_handshake = wp->last_handshake > 0 ?
			    wp->last_handshake : 0;
			now.rx_bytes = wp->rx_bytes;
			now.tx_bytes = wp->tx_bytes;
			imsg_addr_from_sockaddr(&now.endpoint,
			    (const struct sockaddr *)&wp->endpoint);
			scope_fill(&now.endpoint, &d->peers[i].set);
		}
		if (now.last_handshake == 0 ||
		    t - now.last_handshake >= MESH_HANDSHAKE_FRESH_SECONDS)
			*waiting = 1;
		if (now.rx_bytes != d->peers[i].seen.rx_bytes)
			d->peers[i].rx_at = device_clock_ms();
		if (memcmp(&now, &d->peers[i].seen, sizeof(now)) != 0) {
			d->peers[i].seen = now;
			report(&now, arg);
		}
		i++;
	}
	wg_device_free(&dev);
	return (0);
}

static int64_t
device_clock_ms(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Whether the engine may have peer "index" set now: a token bucket kept
 * as the time the next request is due at the steady rate (GCRA), which
 * may run up to DEVICE_SET_BURST intervals ahead of now.
 */
int
device_set_allowed(struct device *d, uint32_t index)
{
	struct device_peer	*dpeer = &d->peers[index];
	int64_t			 now = device_clock_ms();

	if (dpeer->set_tat < now)
		dpeer->set_tat = now;
	if (dpeer->set_tat - now > (int64_t)(DEVICE_SET_BURST - 1) *
	    DEVICE_SET_INTERVAL_MS)
		return (0);
	dpeer->set_tat += DEVICE_SET_INTERVAL_MS;
	return (1);
}

/*
 * The engine's one request, already validated by the caller: the peer is
 * left, made anew or pointed elsewhere as device_set_decide() says (rule
 * 13 atop mesh.c), from the facts gathered here.  "index" is the peer's
 * in the configuration applied (d->peers is not NULL).  Whatever the
 * outcome, the next poll reports the peer, changed or not.
 */
int
device_set_endpoint(struct device *d, uint32_t index,
    const struct peer_conf *peer, const struct imsg_addr *endpoint,
    uint16_t keepalive, int anew_asked)
{
	struct device_peer	*dpeer = &d->peers[index];
	struct wg_device	 dev;
	struct wg_device_set	 set;
	struct wg_peer_set	 ps[2], *p;
	const struct wg_peer	*wp;
	struct prefix		*allowed = NULL;
	struct imsg_addr	 cur;
	struct device_set_facts	 f;
	size_t			 nallowed = 0;
	const char		*pskfile;
	int64_t			 now = (int64_t)time(NULL);
	int			 anew, ret = -1;

	/* the engine starts a handshake when it sees the endpoint set */
	dpeer->seen.peer = UINT32_MAX;
	memset(&dev, 0, sizeof(dev));
	memset(&set, 0, sizeof(set));
	memset(ps, 0, sizeof(ps));
	if (wg_get(d->wg, &dev) == -1)
		return (-1);
	wp = dev_peer(&dev, peer->public_key);
	memset(&cur, 0, sizeof(cur));
	if (wp != NULL &&
	    imsg_addr_from_sockaddr(&cur,
	    (const struct sockaddr *)&wp->endpoint) == 0)
		scope_fill(&cur, endpoint);
	memset(&f, 0, sizeof(f));
	f.now = now;
	if (wp != NULL) {
		f.has_peer = 1;
		f.elsewhere = cur.af != 0 && !imsg_addr_equal(&cur, endpoint);
		f.last_handshake = wp->last_handshake;
		f.rx_bytes = wp->rx_bytes;
		f.rx_changed = wp->rx_bytes != dpeer->seen.rx_bytes;
		f.rx_still_ms = device_clock_ms() - dpeer->rx_at;
		f.starts_later = key_starts_later(d->conf->public_key,
		    peer->public_key);
		f.anew = anew_asked;
	}
	switch (device_set_decide(&f)) {
	case DEVICE_SET_KEEP:
		/* the engine hears at once: the caller reports the peer */
		log_debug("%s: peer %s: a handshake %llds ago; endpoint left "
		    "as it is", d->conf->ifname, peer->name,
		    (long long)(f.now - f.last_handshake));
		ret = 0;
		goto done;
	case DEVICE_SET_REMAKE:
		anew = 1;
		break;
	default:
		anew = 0;
		break;
	}
	p = &ps[0];
	if (anew) {
		p->flags = WGPEER_REMOVE;
		memcpy(p->public_key, peer->public_key, WG_KEY_LEN);
		p = &ps[1];
		if (peer_allowed(peer, &allowed, &nallowed) == -1) {
			log_warn("%s: allowed-ips", d->conf->ifname);
			goto done;
		}
		p->flags = WGPEER_REPLACE_ALLOWED;
		p->allowed = allowed;
		p->nallowed = nallowed;
		if ((pskfile = peer_psk_file(d->conf, peer)) != NULL) {
			if (key_file_read(pskfile, p->psk) != 0) {
				log_warnx("%s: peer %s: cannot read preshared "
				    "key %s", d->conf->ifname, peer->name,
				    pskfile);
				goto done;
			}
			p->flags |= WGPEER_SET_PSK;
		}
	} else
		p->flags = WGPEER_UPDATE_ONLY;
	memcpy(p->public_key, peer->public_key, WG_KEY_LEN);
	p->flags |= WGPEER_SET_ENDPOINT | WGPEER_SET_KEEPALIVE;
	imsg_addr_to_sockaddr(&p->endpoint, endpoint);
	p->keepalive = keepalive;
	set.peers = ps;
	set.npeers = anew ? 2 : 1;
	if ((ret = wg_set(d->wg, &set)) == 0)
		dpeer->set = *endpoint;
 done:
	sodium_memzero(ps, sizeof(ps));
	free(allowed);
	wg_device_free(&dev);
	return (ret);
}
