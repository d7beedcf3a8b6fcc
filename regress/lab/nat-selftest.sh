#!/usr/bin/env bash
# Self-test of the lab's NAT routers (lib.sh: lab_router and friends) with
# plain WireGuard (wireguard-go, configured with wg set; no wgmeshd).  A
# public host pub; a behind cone router r1, b behind cone router r2; c
# behind r3 and d behind r4, both symmetric (masquerade fully-random).
# a, b, c and d know only pub.  Checks that:
#   - each reaches pub, which sees it at its router's WAN address and
#     mapped port (the router's conntrack table says which);
#   - the routers drop unsolicited input on their WAN side: a alone
#     sending to b's mapping gets nowhere;
#   - a and b, given each other's mapping as pub saw it, punch through
#     both NATs by sending at the same time (simultaneous open);
#   - c and d cannot (a symmetric NAT maps every destination anew), while
#     c still reaches pub;
#   - after r1's WAN address changes, pub sees a at the new one.
#
#	regress/lab/nat-selftest.sh	ends with "N passed, N failed"
#
# Copyright (c) 2026 The wgmeshd authors
#
# Permission to use, copy, modify, and distribute this software for any
# purpose with or without fee is hereby granted, provided that the above
# copyright notice and this permission notice appear in all copies.
#
# THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
# WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
# MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
# ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
# WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
# ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
# OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.

set -u
HERE=$(cd "$(dirname "$0")" && pwd -P)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}
. "$HERE/lib.sh"

IFC=wg0
PORT=51820
NET6=fd00:4e41:7::		# tunnel addresses, /64
PUNCH_DEADLINE=12		# s for a hole punch that should work
FAIL_WAIT=8			# s that one that cannot work is given (> 5 s,
				# WireGuard's handshake retry)

lab_require ip nsenter unshare nft wg wireguard-go busybox awk
lab_prepare
lab_init

declare -A WAN=() LAN=() TUN=() PUB=()
WAN[pub]=198.18.0.1
WAN[r1]=198.18.0.11; LAN[r1]=198.19.1.1; LAN[a]=198.19.1.2
WAN[r2]=198.18.0.12; LAN[r2]=198.19.2.1; LAN[b]=198.19.2.2
WAN[r3]=198.18.0.13; LAN[r3]=198.19.3.1; LAN[c]=198.19.3.2
WAN[r4]=198.18.0.14; LAN[r4]=198.19.4.1; LAN[d]=198.19.4.2
ROAM=198.18.0.21
TUN[pub]=${NET6}1; TUN[a]=${NET6}a; TUN[b]=${NET6}b; TUN[c]=${NET6}c
TUN[d]=${NET6}d
declare -A ROUTER=([a]=r1 [b]=r2 [c]=r3 [d]=r4)

# wg_up HOST: wireguard-go on HOST, a key, the listen port, the tunnel
# address, up.
wg_up() {
	local h=$1 k=$LAB_DIR/$1/private.key
	lab_wggo "$h"
	(umask 077 && wg genkey >"$k") || die "$h: wg genkey"
	PUB[$h]=$(wg pubkey <"$k") || die "$h: wg pubkey"
	on "$h" wg set "$IFC" private-key "$k" listen-port "$PORT" &&
	    on "$h" ip -6 addr add "${TUN[$h]}/64" dev "$IFC" nodad &&
	    on "$h" ip link set "$IFC" up || die "$h: $IFC"
}

# peer HOST PEER [ENDPOINT]: PEER as HOST's peer, its tunnel address.
peer() {
	on "$1" wg set "$IFC" peer "${PUB[$2]}" allowed-ips "${TUN[$2]}/128" \
	    ${3:+endpoint "$3"}
}

# ping6 HOST PEER: one ping over the tunnel, 1 s to answer (to PEER's TUN
# address: replaces lib.sh's, which pings a daemon's overlay address).
ping6() {
	on "$1" busybox ping -6 -c 1 -W 1 "${TUN[$2]}" >/dev/null
}

# no_handshake HOST PEER: HOST has had no handshake with PEER.
no_handshake() {
	! handshake_on "$@" >/dev/null
}

# ruleset_has ROUTER REGEX: ROUTER's nftables table labnat matches REGEX.
ruleset_has() {
	on "$1" nft list table inet labnat | grep -q -- "$2"
}

# no_mapping_at ROUTER ADDR: ROUTER's conntrack table names ADDR nowhere.
no_mapping_at() {
	! on "$1" grep "dst=$2 " /proc/net/nf_conntrack
}

# pings_both H1 H2: pings from both sides at once, in the background
# (pids recorded, collected at the end); the handshakes are waited for.
pings_both() {
	local h
	for h in "$1" "$2"; do
		local o=$2
		[ "$h" = "$2" ] && o=$1
		on "$h" busybox ping -6 -c 4 -W 1 "${TUN[$o]}" \
		    </dev/null >>"$LAB_DIR/$h/ping.log" 2>&1 &
		LAB_PIDS+=("$!")
		PINGS+=("$!")
	done
}
PINGS=()

# --- the network ------------------------------------------------------------

note "WAN, 4 routers (r1 r2 cone, r3 r4 symmetric), 5 hosts"
lab_wan_host pub "${WAN[pub]}"
lab_router r1 "${WAN[r1]}" "${LAN[r1]}" cone
lab_router r2 "${WAN[r2]}" "${LAN[r2]}" cone
lab_router r3 "${WAN[r3]}" "${LAN[r3]}" symmetric
lab_router r4 "${WAN[r4]}" "${LAN[r4]}" symmetric
for h in a b c d; do
	lab_nat_host "$h" "${ROUTER[$h]}" "${LAN[$h]}"
done

check "r3's ruleset masquerades fully-random" ruleset_has r3 "masquerade fully-random"
check "r1's ruleset masquerades, not fully-random" \
    ruleset_has r1 'oifname "eth0" masquerade$'
check "a reaches pub through r1 (plain UDP path: ping)" \
    on a busybox ping -c 1 -W 2 "${WAN[pub]}"
check "pub cannot reach a's LAN address (no route to a LAN)" \
    sh -c "! nsenter -t ${LAB_HOLDER[pub]} -n busybox ping -c 1 -W 1 ${LAN[a]}"
check "r1 drops unsolicited input on its WAN side (pub -> r1: no answer)" \
    sh -c "! nsenter -t ${LAB_HOLDER[pub]} -n busybox ping -c 1 -W 1 ${WAN[r1]}"
check "r1 answers on its LAN side (a -> r1)" \
    on a busybox ping -c 1 -W 2 "${LAN[r1]}"

note "WireGuard (wireguard-go) on pub, a, b, c, d"
for h in pub a b c d; do
	wg_up "$h"
done
for h in a b c d; do
	peer pub "$h" || die "pub: peer $h"
	peer "$h" pub "${WAN[pub]}:$PORT" || die "$h: peer pub"
done

# --- through the NATs to the public host ---------------------------------------

note "a, b, c, d -> pub"
declare -A SEEN=()
for h in a b c d; do
	r=${ROUTER[$h]}
	if wait_for 10 ping6 "$h" pub; then
		ok "$h -> pub: handshake and ping over the tunnel ($(fmt_us "$WAITED_US"))"
	else
		bad "$h -> pub: no ping over the tunnel in 10 s"
		on "$h" wg show "$IFC" | sed "s/^/     $h: /"
		continue
	fi
	check "pub has had a handshake with $h" handshake_on pub "$h"
	m=$(lab_nat_map "$r" "${LAN[$h]}" "$PORT" "${WAN[pub]}" "$PORT") || {
		bad "$r has no mapping for $h -> pub"
		continue
	}
	SEEN[$h]=$(wg_endpoint pub "$h")
	check "pub sees $h at $r's WAN address and mapped port ($m)" \
	    endpoint_is pub "$h" "$m"
	case ${SEEN[$h]%:*} in
	"${WAN[$r]}") ok "$h's endpoint on pub is $r's WAN address (${SEEN[$h]})" ;;
	*) bad "$h's endpoint on pub is ${SEEN[$h]}, not $r's WAN address" ;;
	esac
done
check "r1 (cone) kept a's source port ($PORT)" \
    test "${SEEN[a]:-}" = "${WAN[r1]}:$PORT"
check "r2 (cone) kept b's source port ($PORT)" \
    test "${SEEN[b]:-}" = "${WAN[r2]}:$PORT"

# --- unsolicited packets; no hole punching through symmetric NATs ----------

note "a -> b alone (b does not know a yet), and c <-> d behind symmetric NATs given each other's mappings: $FAIL_WAIT s"
peer a b "${SEEN[b]:-${WAN[r2]}:$PORT}" || die "a: peer b"
on a busybox ping -6 -c 3 -W 1 "${TUN[b]}" </dev/null >>"$LAB_DIR/a/ping.log" 2>&1 &
LAB_PIDS+=("$!")
PINGS+=("$!")
peer c d "${SEEN[d]:-${WAN[r4]}:$PORT}" || die "c: peer d"
peer d c "${SEEN[c]:-${WAN[r3]}:$PORT}" || die "d: peer c"
pings_both c d
if wait_for "$FAIL_WAIT" handshake_on c d || handshake_on d c >/dev/null; then
	bad "c <-> d: a handshake through symmetric NATs ($(fmt_us "$WAITED_US"))"
else
	ok "c <-> d: no handshake in $FAIL_WAIT s"
fi
check "a -> b alone: no handshake (r2 dropped a's unsolicited packets)" \
    no_handshake a b
m=$(lab_nat_map r3 "${LAN[c]}" "$PORT" "${WAN[r4]}" "${SEEN[d]#*:}")
check "r3 mapped c -> r4 to a new port (${m:-none}, pub saw ${SEEN[c]:-none})" \
    test -n "$m" -a "$m" != "${SEEN[c]:-}"
check "c -> pub still works" wait_for 5 ping6 c pub
check "d -> pub still works" wait_for 5 ping6 d pub

# --- hole punching through cone NATs ---------------------------------------

note "a <-> b: b is given a's mapping as pub saw it too; both send"
peer b a "${SEEN[a]:-${WAN[r1]}:$PORT}" || die "b: peer a"
t0=$(now_us)
pings_both a b
if wait_for "$PUNCH_DEADLINE" handshake_on a b && wait_for 2 handshake_on b a; then
	ok "a <-> b: handshake through both NATs ($(fmt_us "$(($(now_us) - t0))"))"
else
	bad "a <-> b: no handshake in $PUNCH_DEADLINE s"
	for h in a b; do on "$h" wg show "$IFC" | sed "s/^/     $h: /"; done
fi
check "a -> b: ping over the direct tunnel" wait_for 5 ping6 a b
check "b -> a: ping over the direct tunnel" wait_for 5 ping6 b a
check "a still sends to b at r2's mapping" endpoint_is a b "${SEEN[b]:-}"
check "b still sends to a at r1's mapping" endpoint_is b a "${SEEN[a]:-}"
check "r1 mapped a -> r2 to the same port as a -> pub (endpoint-independent)" \
    test "$(lab_nat_map r1 "${LAN[a]}" "$PORT" "${WAN[r2]}" "$PORT")" = "${SEEN[a]:-}"

# --- a new WAN address ------------------------------------------------------

note "r1's WAN address moves to $ROAM"
lab_router_wan r1 "$ROAM"
check "r1 forgot the mappings made with its old address" \
    no_mapping_at r1 "${WAN[r1]}"
if wait_for 10 ping6 a pub; then
	ok "a -> pub after the move ($(fmt_us "$WAITED_US"))"
else
	bad "a -> pub: no ping in 10 s after the move"
fi
check "pub sees a at r1's new address" endpoint_is pub a "$ROAM:$PORT"

for p in "${PINGS[@]}"; do
	wait_for 10 dead "$p"
done
lab_done
