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
 * The configuration, once parse.y has built it: the checks that need the
 * whole of it, the accessors that say what a peer inherits from its
 * interface, and freeing it.  The parent's (wgmeshd -n too, and
 * wgmeshgen, which reads the files it made with it).
 *
 * One file may serve every node of a mesh: iface_check() takes the entry
 * that bears this node's name out of the peers (struct iface_conf's
 * self), after the checks that every node must make alike; keys.c holds
 * its public key against the private key.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "wgmeshd.h"
#include "conf.h"

static void	 iface_check(struct iface_conf *);
static void	 peers_check(struct peer_conf *, struct peer_conf *);
static int	 conf_is_control(const struct imsg_addr *, int,
		    const uint8_t [WG_KEY_LEN]);

void
peer_free(struct peer_conf *p)
{
	if (p == NULL)
		return;
	free(p->psk_file);
	free(p->allowed);
	free(p->file);
	free(p);
}

void
iface_free(struct iface_conf *ifc)
{
	struct peer_conf	*p;

	if (ifc == NULL)
		return;
	while ((p = TAILQ_FIRST(&ifc->peers)) != NULL) {
		TAILQ_REMOVE(&ifc->peers, p, entry);
		peer_free(p);
	}
	peer_free(ifc->self);
	free(ifc->private_key_file);
	free(ifc->psk_file);
	free(ifc->gossip_secret_file);
	free(ifc->addresses);
	free(ifc->file);
	explicit_bzero(ifc->public_key, sizeof(ifc->public_key));
	free(ifc);
}

void
conf_free(struct wgmeshd_conf *c)
{
	struct iface_conf	*ifc;

	if (c == NULL)
		return;
	while ((ifc = TAILQ_FIRST(&c->ifaces)) != NULL) {
		TAILQ_REMOVE(&c->ifaces, ifc, entry);
		iface_free(ifc);
	}
	free(c->user);
	free(c->state_dir);
	free(c->control_socket);
	free(c);
}

/* A peer's allowed-ips: the derived /64 first when "auto", then the rest. */
size_t
peer_allowed_count(const struct peer_conf *p)
{
	return (p->nallowed + (p->allowed_auto ? 1 : 0));
}

void
peer_allowed_get(const struct peer_conf *p, size_t i, struct prefix *pfx)
{
	if (p->allowed_auto) {
		if (i == 0) {
			*pfx = p->derived;
			prefix_mask(pfx);
			return;
		}
		i--;
	}
	*pfx = p->allowed[i];
}

/*
 * Is ia the control address of that key (address_control())?  Each is a
 * /128 routed into the tunnel; the rest of fd00::/64 is not ours (a
 * router may well give its LAN that prefix).
 */
static int
conf_is_control(const struct imsg_addr *ia, int has_key,
    const uint8_t key[WG_KEY_LEN])
{
	uint8_t	control[16];

	if (ia->af != AF_INET6 || !has_key)
		return (0);
	address_control(control, key);
	return (memcmp(ia->addr, control, 16) == 0);
}

/*
 * Whether an endpoint lies in the mesh's own overlay: an interface's
 * addresses (given or derived, as prefixes, and its control address) or
 * a peer's allowed IPs and control address, on any interface.  WireGuard
 * would send the datagrams for such an endpoint into one of our own
 * tunnels.  A default route (/0) through a peer says nothing about where
 * the mesh is, and is left out.
 */
int
conf_endpoint_in_overlay(const struct wgmeshd_conf *c,
    const struct imsg_addr *ia)
{
	const struct iface_conf	*ifc;
	const struct peer_conf	*p;
	struct prefix		 pfx;
	size_t			 i;

	TAILQ_FOREACH(ifc, &c->ifaces, entry) {
		if (imsg_addr_in_prefix(ia, &ifc->derived) ||
		    conf_is_control(ia, ifc->has_public_key, ifc->public_key))
			return (1);
		for (i = 0; i < ifc->naddresses; i++)
			if (imsg_addr_in_prefix(ia, &ifc->addresses[i]))
				return (1);
		TAILQ_FOREACH(p, &ifc->peers, entry) {
			if (imsg_addr_in_prefix(ia, &p->derived) ||
			    conf_is_control(ia, p->has_public_key,
			    p->public_key))
				return (1);
			for (i = 0; i < peer_allowed_count(p); i++) {
				peer_allowed_get(p, i, &pfx);
				if (pfx.plen > 0 && imsg_addr_in_prefix(ia,
				    &pfx))
					return (1);
			}
		}
	}
	return (0);
}

/* Checks that need the whole file; each error names both sides. */
void
conf_check(struct wgmeshd_conf *c)
{
	struct iface_conf	*ifc, *o;

	TAILQ_FOREACH(ifc, &c->ifaces, entry) {
		for (o = TAILQ_FIRST(&c->ifaces); o != ifc;
		    o = TAILQ_NEXT(o, entry)) {
			if (strcmp(o->ifname, ifc->ifname) == 0) {
				conf_error(ifc->file, ifc->lineno,
				    "interface %s already defined at %s",
				    printable(ifc->ifname),
				    where(ifc->file, o->file, o->lineno));
				break;
			}
			if (o->listen_port == ifc->listen_port) {
				conf_error(ifc->file, ifc->lineno,
				    "interface %s: listen-port %u already "
				    "used by interface %s at %s",
				    printable(ifc->ifname), ifc->listen_port,
				    printable(o->ifname),
				    where(ifc->file, o->file, o->lineno));
				break;
			}
		}
		iface_check(ifc);
	}
}

/*
 * One file for every node: the entry that bears this node's name is this
 * node, not a peer (a second entry of that name is reported as any
 * second entry is).  The peers are checked with it still among them, so
 * that every node of a mesh that shares one file finds the same mistakes
 * in it (two entries with one key, overlapping allowed-ips, colliding
 * derived addresses), its own entry's included.  It is then taken out of
 * the peers: conf_load_keys() holds its public-key against the private
 * key, and the rest of the daemon never sees it as a peer.
 */
static void
iface_check(struct iface_conf *ifc)
{
	struct peer_conf	*p, *q, *self;
	char			 b1[PREFIX_STR_MAX];

	TAILQ_FOREACH(self, &ifc->peers, entry)
		if (strcmp(self->name, ifc->node_name) == 0)
			break;
	TAILQ_FOREACH(p, &ifc->peers, entry) {
		/* with an entry of its own, peers_check() names both */
		if (self == NULL &&
		    address_collides(&p->derived, &ifc->derived))
			conf_error(p->file, p->lineno, "peer \"%s\" and this "
			    "node \"%s\" derive the same address %s",
			    printable(p->name), printable(ifc->node_name),
			    prefix_ntop(&p->derived, b1, sizeof(b1)));
		for (q = TAILQ_FIRST(&ifc->peers); q != p;
		    q = TAILQ_NEXT(q, entry))
			peers_check(p, q);
	}
	if (self != NULL) {
		TAILQ_REMOVE(&ifc->peers, self, entry);
		ifc->npeers--;
		ifc->self = self;
	}
}

/* p is defined after q */
static void
peers_check(struct peer_conf *p, struct peer_conf *q)
{
	struct prefix	 a, b;
	char		 b1[PREFIX_STR_MAX], b2[PREFIX_STR_MAX];
	size_t		 i, j;
	int		 collide;

	if (strcmp(p->name, q->name) == 0) {
		conf_error(p->file, p->lineno, "peer \"%s\" already defined "
		    "at %s", printable(p->name),
		    where(p->file, q->file, q->lineno));
		return;
	}
	if (p->has_public_key && q->has_public_key &&
	    memcmp(p->public_key, q->public_key, WG_KEY_LEN) == 0)
		conf_error(p->file, p->lineno, "peer \"%s\" has the same "
		    "public-key as peer \"%s\" at %s", printable(p->name),
		    printable(q->name), where(p->file, q->file, q->lineno));
	collide = address_collides(&p->derived, &q->derived);
	if (collide)
		conf_error(p->file, p->lineno, "peers \"%s\" and \"%s\" "
		    "derive the same address %s", printable(p->name),
		    printable(q->name),
		    prefix_ntop(&p->derived, b1, sizeof(b1)));
	for (i = 0; i < peer_allowed_count(p); i++) {
		for (j = 0; j < peer_allowed_count(q); j++) {
			/* two colliding auto /64s: said just above */
			if (collide && i == 0 && j == 0 && p->allowed_auto &&
			    q->allowed_auto)
				continue;
			peer_allowed_get(p, i, &a);
			peer_allowed_get(q, j, &b);
			if (!prefix_overlap(&a, &b))
				continue;
			conf_error(p->file, p->lineno, "allowed-ips %s of "
			    "peer \"%s\" overlaps %s of peer \"%s\" at %s",
			    prefix_ntop(&a, b1, sizeof(b1)),
			    printable(p->name),
			    prefix_ntop(&b, b2, sizeof(b2)),
			    printable(q->name),
			    where(p->file, q->file, q->lineno));
		}
	}
}

uint16_t
peer_keepalive(const struct iface_conf *iface, const struct peer_conf *peer)
{
	return (peer->keepalive == KEEPALIVE_INHERIT ? iface->keepalive :
	    peer->keepalive);
}

int
peer_relay_use(const struct iface_conf *iface, const struct peer_conf *peer)
{
	return (peer->relay_use == RELAY_USE_INHERIT ? iface->relay_use :
	    peer->relay_use);
}

/* Whether some interface may relay: then the relay process runs. */
int
conf_relay_offered(const struct wgmeshd_conf *c)
{
	struct iface_conf	*ifc;

	TAILQ_FOREACH(ifc, &c->ifaces, entry)
		if (ifc->relay_offer != RELAY_OFFER_NO)
			return (1);
	return (0);
}

/* Whether a reload leaves the relay process's parameters as they are. */
int
conf_relay_same(const struct wgmeshd_conf *a, const struct wgmeshd_conf *b)
{
	return (conf_relay_offered(a) == conf_relay_offered(b) &&
	    a->relay_port_low == b->relay_port_low &&
	    a->relay_port_high == b->relay_port_high &&
	    a->relay_max_pairs == b->relay_max_pairs &&
	    a->relay_rate_mbit == b->relay_rate_mbit &&
	    a->relay_packet_rate == b->relay_packet_rate);
}

const char *
peer_psk_file(const struct iface_conf *iface, const struct peer_conf *peer)
{
	return (peer->psk_file != NULL ? peer->psk_file : iface->psk_file);
}

/*
 * A peer's allowed-ips as its device has them: its derived /64 when auto,
 * the listed ones, and its control address (address_control()).
 */
int
peer_allowed(const struct peer_conf *peer, struct prefix **out, size_t *n)
{
	struct prefix	*p;
	size_t		 i, count = peer_allowed_count(peer);

	if ((p = calloc(count + 1, sizeof(*p))) == NULL)
		return (-1);
	for (i = 0; i < count; i++)
		peer_allowed_get(peer, i, &p[i]);
	p[count].af = AF_INET6;
	p[count].plen = 128;
	address_control(p[count].addr.bytes, peer->public_key);
	*out = p;
	*n = count + 1;
	return (0);
}
