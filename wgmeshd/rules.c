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
 * The endpoint rules that more than one process applies, or that the
 * simulator (regress/sim) must apply exactly as the daemon does: pure
 * functions, facts in, a decision out, no clock and no I/O.  The rule
 * list at the top of mesh.c names them (rules 12 and 13).
 */

#include <sys/types.h>

#include <string.h>

#include "wgmeshd.h"

/*
 * Of two ends, the one with the larger public key starts later (rule
 * 12): two handshake initiations that cross undo each other for five
 * seconds (WireGuard's REKEY_TIMEOUT), so when both ends would start at
 * once, this one waits.  Its datagram still opens its NAT for the
 * other's, which then gets through.  The parent (device_apply(): no
 * keepalive on a new peer), the engine (mesh_poke(), mesh_set_endpoint())
 * and the simulator all ask here.
 */
int
key_starts_later(const uint8_t own[WG_KEY_LEN],
    const uint8_t peer[WG_KEY_LEN])
{
	return (memcmp(own, peer, WG_KEY_LEN) > 0);
}

/*
 * What the parent does with the engine's request to set a peer's
 * endpoint (rule 13, device_set_endpoint()):
 * - DEVICE_SET_KEEP: a handshake in the last DEVICE_HANDSHAKE_GRACE_SECONDS
 *   seconds at another endpoint: WireGuard found the peer by itself, and
 *   the engine, which has not heard of it yet, would move it away on
 *   older news.  The endpoint stays.
 * - DEVICE_SET_REMAKE: no recent handshake, and nothing received (or,
 *   at the end that starts first, nothing for DEVICE_CROSSED_QUIET_MS):
 *   the peer is removed and made anew, which forgets when a handshake
 *   was last tried, so that one starts now (WireGuard starts at most
 *   one every five seconds, even towards a new endpoint).  Bytes
 *   received mean a handshake under way, or the other side trying us:
 *   remaking would throw that work away.  But two initiations that
 *   crossed leave both ends with bytes received and no session; the end
 *   that starts first, starting anew alone, ends that.
 * - DEVICE_SET_REMAKE too, whatever the handshake and the bytes, when the
 *   engine asks for it (SET_ENDPOINT_ANEW: the path changed, to a relay's
 *   port, whose legs latch only on a handshake; or the keys are seen to
 *   differ, and this end must send an initiation for the other to see it).
 * - DEVICE_SET_UPDATE: otherwise the peer is only pointed elsewhere.
 */
enum device_set_how
device_set_decide(const struct device_set_facts *f)
{
	int	fresh, quiet;

	if (!f->has_peer)
		return (DEVICE_SET_UPDATE);
	if (f->last_handshake > 0 &&
	    f->now - f->last_handshake < DEVICE_HANDSHAKE_GRACE_SECONDS &&
	    f->elsewhere)
		return (DEVICE_SET_KEEP);
	if (f->anew)
		return (DEVICE_SET_REMAKE);
	fresh = f->last_handshake > 0 &&
	    f->now - f->last_handshake < MESH_HANDSHAKE_FRESH_SECONDS;
	quiet = !f->rx_changed && f->rx_still_ms >= DEVICE_CROSSED_QUIET_MS;
	if (!fresh && (f->rx_bytes == 0 || (!f->starts_later && quiet)))
		return (DEVICE_SET_REMAKE);
	return (DEVICE_SET_UPDATE);
}
