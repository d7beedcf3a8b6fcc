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
 * A peer's history as an operator sees it: each change of its state
 * (mesh.c decides the state), and of why it is unreachable, said once in
 * the log; when it came, since when it is up and how often it went down
 * after being up.  The engine calls peerlog_step() after mesh.c has run
 * (engine_tick()); nothing here changes what mesh.c decides.  No I/O but
 * the log, so the unit tests drive it with peers of their own.
 */

#include <sys/types.h>

#include <stdint.h>
#include <string.h>

#include "wgmeshd.h"
#include "engine.h"

static int		 peerlog_news(const struct mesh_peer *);
static int		 peerlog_new_reason(const struct mesh_peer *);

/*
 * Whether a change is news.  Going up or down always is; a peer that is
 * tried again after a round without a handshake (unreachable, then
 * connecting, then unreachable for the same reason) is not: its log
 * would otherwise repeat two lines at every round.
 */
static int
peerlog_news(const struct mesh_peer *p)
{
	if (p->state == PEER_STATE_UP || p->log_state == PEER_STATE_UP)
		return (1);
	if (p->log_state == PEER_STATE_UNREACHABLE &&
	    p->state == PEER_STATE_CONNECTING)
		return (0);
	if (p->state == PEER_STATE_UNREACHABLE &&
	    strcmp(p->reason, p->log_reason) == 0)
		return (0);
	return (1);
}

/*
 * Unreachable still, for another reason (mesh_why(): the keys are now
 * seen to differ, a name no longer resolves), or another disagreement
 * (identity.c): news, as a change of state is.  Only in those states: a
 * peer connecting changes its reason at every try.  The reasons say no
 * numbers that count down (the time left before the next round is
 * wgmeshctl's), so a round that ends as the last did is said once.
 */
static int
peerlog_new_reason(const struct mesh_peer *p)
{
	return ((p->state == PEER_STATE_UNREACHABLE ||
	    p->state == PEER_STATE_MISMATCH) &&
	    strcmp(p->reason, p->log_reason) != 0);
}

/*
 * A peer's first state is noted without a word unless it is up (the
 * start says nothing new); every later change is logged once, with the
 * reason when it is not up, and handed to "event" (the control clients
 * that watch: wgmeshctl monitor), which may be NULL.
 */
void
peerlog_step(struct mesh *m, int64_t now, peerlog_event_cb event, void *arg)
{
	struct mesh_peer	*p;
	char			 buf[ENDPOINT_STR_MAX];
	size_t			 i;
	int			 first, news, was_up;

	for (i = 0; i < m->npeers; i++) {
		p = &m->peers[i];
		first = !p->log_known;
		if (!first && p->log_state == p->state &&
		    !peerlog_new_reason(p))
			continue;
		was_up = !first && p->log_state == PEER_STATE_UP;
		if (was_up)
			p->flaps++;
		if (p->state == PEER_STATE_UP || p->log_state == PEER_STATE_UP ||
		    first)
			p->up_since = p->state == PEER_STATE_UP ? now : 0;
		news = first ? p->state == PEER_STATE_UP : peerlog_news(p);
		p->log_known = 1;
		p->log_state = p->state;
		if (first) {
			p->state_since = now;
			p->log_reported = p->state;
		}
		if (!news)
			continue;
		p->log_previous = first ? p->state : p->log_reported;
		p->log_reported = p->state;
		p->state_since = now;
		strlcpy(p->log_reason, p->reason, sizeof(p->log_reason));
		/*
		 * imsg_addr_ntop(), not _ifname(): if_indextoname() opens
		 * a socket, which the engine's sandbox does not allow.
		 */
		if (p->state == PEER_STATE_UP)
			log_info("peer %s: up at %s", p->name,
			    imsg_addr_ntop(&p->device.endpoint, buf,
			    sizeof(buf)));
		else
			log_info("peer %s: %s%s: %s", p->name,
			    was_up ? "down, " : "", peer_state_name(p->state),
			    p->reason);
		if (event != NULL)
			event(p, arg);
	}
}
