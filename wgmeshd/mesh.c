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
 * The engine's endpoint choice, as a state machine with no I/O: events go
 * in (configuration, the device's view, resolved names, time), actions
 * come out through a callback.  The engine drives it with real events;
 * regress/ drives it with made-up ones.
 *
 * A peer is left alone until the parent has reported the device's view of
 * it.  A peer with a recent handshake is left alone: WireGuard itself follows
 * a peer that roams.  Otherwise its candidates (configured addresses,
 * resolved names, the last endpoint that worked) are tried in turn, each
 * for MESH_TRY_SECONDS; a full round without a handshake backs off.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wgmeshd.h"

static void	 mesh_peer_step(struct mesh *, struct mesh_peer *, int64_t);
static int	 mesh_candidate_find(const struct mesh_peer *,
		    const struct imsg_addr *);
static void	 mesh_set_state(struct mesh_peer *, enum peer_state,
		    const char *, ...) __attribute__((__format__(printf, 3, 4)));

void
mesh_init(struct mesh *m, mesh_action_cb cb, void *arg)
{
	memset(m, 0, sizeof(*m));
	m->action = cb;
	m->arg = arg;
}

void
mesh_clear(struct mesh *m)
{
	free(m->peers);
	m->peers = NULL;
	m->npeers = 0;
}

/*
 * A new configuration: peers are matched by public key, so one that is
 * still configured keeps what was learned about it.
 */
int
mesh_reconf(struct mesh *m, const struct mesh_peer *conf, size_t n)
{
	struct mesh_peer	*np;
	size_t			 i, j;

	if (n == 0) {
		mesh_clear(m);
		return (0);
	}
	if ((np = calloc(n, sizeof(*np))) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		np[i] = conf[i];
		for (j = 0; j < m->npeers; j++) {
			if (memcmp(m->peers[j].public_key, conf[i].public_key,
			    WG_KEY_LEN) != 0)
				continue;
			/*
			 * Everything learned stays; the candidates too,
			 * until the names are resolved again and differ.
			 */
			np[i].device = m->peers[j].device;
			np[i].device_known = m->peers[j].device_known;
			np[i].learned = m->peers[j].learned;
			np[i].state = m->peers[j].state;
			np[i].source = m->peers[j].source;
			memcpy(np[i].reason, m->peers[j].reason,
			    sizeof(np[i].reason));
			memcpy(np[i].cand, m->peers[j].cand,
			    sizeof(np[i].cand));
			memcpy(np[i].cand_source, m->peers[j].cand_source,
			    sizeof(np[i].cand_source));
			np[i].ncand = m->peers[j].ncand;
			np[i].next = m->peers[j].next;
			np[i].try_until = m->peers[j].try_until;
			np[i].retry_at = m->peers[j].retry_at;
			np[i].failures = m->peers[j].failures;
			break;
		}
		if (j == m->npeers)
			mesh_set_state(&np[i], PEER_STATE_NO_ENDPOINT,
			    "no endpoint known yet");
	}
	free(m->peers);
	m->peers = np;
	m->npeers = n;
	return (0);
}

struct mesh_peer *
mesh_peer_find(struct mesh *m, uint32_t iface, uint32_t index)
{
	size_t	i;

	for (i = 0; i < m->npeers; i++)
		if (m->peers[i].iface == iface && m->peers[i].index == index)
			return (&m->peers[i]);
	return (NULL);
}

static void
mesh_set_state(struct mesh_peer *p, enum peer_state state, const char *fmt,
    ...)
{
	va_list	ap;

	p->state = state;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
}

static int
mesh_candidate_find(const struct mesh_peer *p, const struct imsg_addr *a)
{
	size_t	i;

	for (i = 0; i < p->ncand; i++)
		if (imsg_addr_equal(&p->cand[i], a))
			return (i);
	return (-1);
}

/* The device's view of a peer changed. */
void
mesh_device(struct mesh *m, struct mesh_peer *p,
    const struct imsg_device_peer *dev, int64_t now)
{
	int	c;

	p->device = *dev;
	p->device_known = 1;
	if (dev->endpoint.af == 0)
		p->source = EP_SOURCE_NONE;
	else if ((c = mesh_candidate_find(p, &dev->endpoint)) != -1)
		p->source = p->cand_source[c];
	else
		p->source = EP_SOURCE_DEVICE;
	mesh_peer_step(m, p, now);
}

/* Addresses for the peer's configured host name (or its literal). */
void
mesh_candidates(struct mesh *m, struct mesh_peer *p,
    const struct imsg_addr *addrs, size_t n, uint8_t source, int64_t now)
{
	size_t	i;

	if (n > MESH_MAX_CANDIDATES)
		n = MESH_MAX_CANDIDATES;
	if (n == p->ncand && (n == 0 ||
	    memcmp(addrs, p->cand, n * sizeof(*addrs)) == 0))
		return;
	memset(p->cand, 0, sizeof(p->cand));
	for (i = 0; i < n; i++) {
		p->cand[i] = addrs[i];
		p->cand_source[i] = source;
	}
	p->ncand = n;
	p->next = 0;
	p->failures = 0;
	p->retry_at = 0;
	p->try_until = 0;
	mesh_peer_step(m, p, now);
}

void
mesh_tick(struct mesh *m, int64_t now)
{
	size_t	i;

	for (i = 0; i < m->npeers; i++)
		mesh_peer_step(m, &m->peers[i], now);
}

int
mesh_peer_is_up(const struct mesh_peer *p, int64_t now)
{
	return (p->device.last_handshake != 0 &&
	    now - p->device.last_handshake < MESH_HANDSHAKE_FRESH);
}

static void
mesh_peer_step(struct mesh *m, struct mesh_peer *p, int64_t now)
{
	struct imsg_set_endpoint	 set;
	const struct imsg_addr		*try;
	size_t				 ntry;
	int64_t				 backoff;

	/*
	 * Nothing is set before the device has been read: at a start or
	 * a reload the session may be up, and must not be disturbed.
	 */
	if (!p->device_known)
		return;
	if (mesh_peer_is_up(p, now)) {
		/* only what the parent would set again when asked to */
		if (imsg_addr_is_endpoint(&p->device.endpoint))
			p->learned = p->device.endpoint;
		p->failures = 0;
		p->next = 0;
		p->try_until = 0;
		p->retry_at = 0;
		mesh_set_state(p, PEER_STATE_UP, "handshake %llds ago",
		    (long long)(now - p->device.last_handshake));
		return;
	}

	/* The candidates, and the endpoint that worked last, in turn. */
	ntry = p->ncand + (p->learned.af != 0 &&
	    mesh_candidate_find(p, &p->learned) == -1 ? 1 : 0);
	if (ntry == 0) {
		mesh_set_state(p, PEER_STATE_NO_ENDPOINT,
		    "no endpoint known; waiting for the peer");
		return;
	}
	if (now < p->retry_at)
		return;
	if (now < p->try_until) {
		/* WireGuard handshakes only when it has something to send. */
		m->action(MESH_ACTION_POKE, p, NULL, m->arg);
		return;
	}

	if (p->next >= ntry) {
		/* A whole round without a handshake: back off. */
		p->failures++;
		backoff = MESH_TRY_SECONDS << (p->failures < 6 ?
		    p->failures : 6);
		if (backoff > MESH_BACKOFF_MAX)
			backoff = MESH_BACKOFF_MAX;
		p->retry_at = now + backoff;
		p->next = 0;
		mesh_set_state(p, PEER_STATE_UNREACHABLE,
		    "no handshake at %zu endpoint%s; retry in %llds", ntry,
		    ntry == 1 ? "" : "s", (long long)backoff);
		return;
	}

	try = p->next < p->ncand ? &p->cand[p->next] : &p->learned;
	p->next++;
	p->try_until = now + MESH_TRY_SECONDS;
	memset(&set, 0, sizeof(set));
	set.iface = p->iface;
	set.peer = p->index;
	set.endpoint = *try;
	set.keepalive = p->keepalive;
	if (p->state != PEER_STATE_UNREACHABLE)
		mesh_set_state(p, PEER_STATE_CONNECTING,
		    "trying endpoint %zu of %zu", p->next, ntry);
	m->action(MESH_ACTION_SET_ENDPOINT, p, &set, m->arg);
}
