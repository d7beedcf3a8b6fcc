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
 * peerlog.c: a peer's states as mesh.c sets them, one after the other;
 * each change that is news is said once (the event callback is called
 * exactly when the log line is written), retries are not, and up-since,
 * state-since and the flap count follow.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "wgmeshd.h"
#include "engine.h"
#include "regress.h"

static void	 count_event(const struct mesh_peer *, void *);
static void	 set(struct mesh_peer *, enum peer_state, const char *);

static size_t	 nevents;
static char	 last[128];

static void
count_event(const struct mesh_peer *p, void *arg)
{
	nevents++;
	snprintf(last, sizeof(last), "%d %s", p->state, p->reason);
}

static void
set(struct mesh_peer *p, enum peer_state s, const char *reason)
{
	p->state = s;
	snprintf(p->reason, sizeof(p->reason), "%s", reason);
}

int
main(void)
{
	struct mesh		 m;
	struct mesh_peer	 peer, *p = &peer;

	log_init(1, LOG_DAEMON);
	memset(&m, 0, sizeof(m));
	memset(&peer, 0, sizeof(peer));
	snprintf(p->name, sizeof(p->name), "far");
	m.peers = p;
	m.npeers = 1;

	TEST("peerlog: the first state is noted, not said");
	set(p, PEER_STATE_NO_ENDPOINT, "waiting for the device");
	peerlog_step(&m, 1000, count_event, NULL);
	CHECK(nevents == 0 && p->state_since == 1000 && p->up_since == 0,
	    "%zu events, since %lld", nevents, (long long)p->state_since);
	peerlog_step(&m, 1001, count_event, NULL);
	CHECK(nevents == 0, "an unchanged state said: %zu", nevents);

	TEST("peerlog: connecting, then up, each said once");
	set(p, PEER_STATE_CONNECTING, "trying 198.18.0.1:51820 (config)");
	peerlog_step(&m, 1002, count_event, NULL);
	peerlog_step(&m, 1003, count_event, NULL);
	CHECK(nevents == 1 && p->state_since == 1002, "%zu events", nevents);
	set(p, PEER_STATE_UP, "up");
	peerlog_step(&m, 1004, count_event, NULL);
	peerlog_step(&m, 1005, count_event, NULL);
	CHECK(nevents == 2 && p->up_since == 1004 && p->flaps == 0,
	    "%zu events, up since %lld, %u flaps", nevents,
	    (long long)p->up_since, p->flaps);

	TEST("peerlog: down after up is a flap");
	set(p, PEER_STATE_CONNECTING, "trying 198.18.0.1:51820 (config)");
	peerlog_step(&m, 1010, count_event, NULL);
	CHECK(nevents == 3 && p->up_since == 0 && p->flaps == 1,
	    "%zu events, up since %lld, %u flaps", nevents,
	    (long long)p->up_since, p->flaps);

	TEST("peerlog: rounds of tries for the same reason said once");
	set(p, PEER_STATE_UNREACHABLE, "no handshake at 1 endpoint");
	peerlog_step(&m, 1020, count_event, NULL);
	CHECK(nevents == 4 && p->state_since == 1020, "%zu events", nevents);
	set(p, PEER_STATE_CONNECTING, "trying 198.18.0.1:51820 (config)");
	peerlog_step(&m, 1030, count_event, NULL);
	set(p, PEER_STATE_UNREACHABLE, "no handshake at 1 endpoint");
	peerlog_step(&m, 1040, count_event, NULL);
	CHECK(nevents == 4 && p->state_since == 1020,
	    "a retry said: %zu events, since %lld", nevents,
	    (long long)p->state_since);
	set(p, PEER_STATE_CONNECTING, "trying 198.18.0.2:51820 (gossip)");
	peerlog_step(&m, 1050, count_event, NULL);
	set(p, PEER_STATE_UNREACHABLE, "no handshake at 2 endpoints");
	peerlog_step(&m, 1060, count_event, NULL);
	CHECK(nevents == 5 && strcmp(last, "3 no handshake at 2 endpoints") ==
	    0, "a new reason not said: %zu events, last \"%s\"", nevents,
	    last);

	TEST("peerlog: unreachable for a new reason, said once, since anew");
	set(p, PEER_STATE_UNREACHABLE, "keys or preshared key differ (check "
	    "public-key, preshared-key-file), or our answers are lost");
	peerlog_step(&m, 1062, count_event, NULL);
	CHECK(nevents == 6 && p->state_since == 1062 &&
	    strncmp(last, "3 keys or preshared key differ", 30) == 0,
	    "%zu events, since %lld, last \"%s\"", nevents,
	    (long long)p->state_since, last);
	peerlog_step(&m, 1063, count_event, NULL);
	set(p, PEER_STATE_CONNECTING, "trying 198.18.0.2:51820 (gossip)");
	peerlog_step(&m, 1064, count_event, NULL);
	set(p, PEER_STATE_UNREACHABLE, "keys or preshared key differ (check "
	    "public-key, preshared-key-file), or our answers are lost");
	peerlog_step(&m, 1065, count_event, NULL);
	CHECK(nevents == 6 && p->state_since == 1062,
	    "said again: %zu events, since %lld", nevents,
	    (long long)p->state_since);

	TEST("peerlog: a new reason while connecting is no news");
	set(p, PEER_STATE_CONNECTING, "trying endpoint 1 of 2");
	peerlog_step(&m, 1066, count_event, NULL);
	set(p, PEER_STATE_CONNECTING, "trying endpoint 2 of 2");
	peerlog_step(&m, 1067, count_event, NULL);
	CHECK(nevents == 6, "%zu events", nevents);

	TEST("peerlog: up again, a second flap later");
	set(p, PEER_STATE_UP, "up");
	peerlog_step(&m, 1070, count_event, NULL);
	set(p, PEER_STATE_NO_ENDPOINT, "no endpoint known");
	peerlog_step(&m, 1080, count_event, NULL);
	CHECK(nevents == 8 && p->flaps == 2 && p->up_since == 0,
	    "%zu events, %u flaps", nevents, p->flaps);

	TEST("peerlog: a peer up at its first look is said to be up");
	memset(&peer, 0, sizeof(peer));
	snprintf(p->name, sizeof(p->name), "near");
	set(p, PEER_STATE_UP, "up");
	peerlog_step(&m, 2000, count_event, NULL);
	CHECK(nevents == 9 && p->up_since == 2000, "%zu events", nevents);
	return (regress_end());
}
