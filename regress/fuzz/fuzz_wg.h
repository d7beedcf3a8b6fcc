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
 * What a parsed device must look like, whichever backend's reply it came
 * from: shared by fuzz_netlink.c and fuzz_uapi.c.
 */

#ifndef WGM_FUZZ_WG_H
#define WGM_FUZZ_WG_H

#include <stdlib.h>
#include <string.h>

#include "wgmeshd.h"
#include "parent.h"

static void
fuzz_check_device(const struct wg_device *dev, int merged)
{
	const struct wg_peer	*peer;
	struct prefix		 m;
	size_t			 i, j;
	int			 af;

	if (dev->npeers > WG_PEERS_MAX || (dev->npeers > 0) !=
	    (dev->peers != NULL))
		abort();
	if (dev->ifname[sizeof(dev->ifname) - 1] != '\0')
		abort();
	for (i = 0; i < dev->npeers; i++) {
		peer = &dev->peers[i];
		/* merged: no two neighbours share a key */
		if (merged && i > 0 && memcmp(peer->public_key,
		    dev->peers[i - 1].public_key, WG_KEY_LEN) == 0)
			abort();
		af = peer->endpoint.ss_family;
		if (af != AF_UNSPEC && af != AF_INET && af != AF_INET6)
			abort();
		if (peer->last_handshake < 0 || peer->nallowed >
		    WG_ALLOWED_MAX)
			abort();
		for (j = 0; j < peer->nallowed; j++) {
			m = peer->allowed[j];
			if ((m.af != AF_INET || m.plen > 32) &&
			    (m.af != AF_INET6 || m.plen > 128))
				abort();
			prefix_mask(&m);
			if (!prefix_equal(&m, &peer->allowed[j]))
				abort();
		}
	}
}

#endif /* WGM_FUZZ_WG_H */
