#!/usr/bin/env bash
# Lab scenario for UPnP IGD port mapping with wgmeshd.  A public host p
# (WAN 198.18.0.1) that also runs a STUN server (regress/lab/stun.py);
# a behind router r1, which runs miniupnpd (a real IGD) and maps every
# outgoing flow to a new random port (symmetric: hole punching cannot
# reach a, only a port mapping can); b behind router r2, a plain cone NAT
# without UPnP.  Both routers drop unsolicited input on their WAN side.
# Only p's endpoint is configured on a and b; a has "upnp yes
# external-port 33723", a port other than its listen port, so that the
# mapping is seen to be used.
#
#	- the daemons start at once: full mesh (BENCH line: the time it
#	  took), a's mapping on r1 (its DNAT rule, upnpc -l), in "wgmeshctl
#	  show interfaces" and in a's log; b learns r1:33723 for a by
#	  gossip and uses it: b-a handshake, pings both ways
#	- a's engine answers wgmeshctl while the discovery runs
#	- a reload keeps the mapping (no new one) and the mesh
#	- a's wgmeshd stopped with SIGTERM: the mapping is gone from r1
#
#	regress/lab/upnp.sh
#
# Ends with "N passed, N failed"; exit 77 after a SKIP line when the
# kernel cannot run the lab.  LAB_KEEP=1 keeps the logs and configs;
# WGMESHD=regress/lab/wgmeshd-sandbox-debug names a forbidden system call
# instead of dying of it.
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
LAB_TIMEOUT=${LAB_TIMEOUT:-180}
. "$HERE/lib.sh"

IFC=wg0
PORT=51820
GPORT=1666
EXTPORT=33723			# a's external port on r1
KEEPALIVE=15
MESH_DEADLINE=20		# s to a full mesh from the daemons' start (4-9 s here)
GONE_DEADLINE=5			# s for the mapping to go after a stops
CTL_MAX_US=1000000		# wgmeshctl's answer during the discovery

declare -A WAN=() LAN=() PUB=()
WAN[p]=198.18.0.1
WAN[r1]=198.18.0.11; LAN[r1]=198.19.1.1; LAN[a]=198.19.1.2
WAN[r2]=198.18.0.12; LAN[r2]=198.19.2.1; LAN[b]=198.19.2.2
HOSTS=(p a b)
MAPPED=${WAN[r1]}:$EXTPORT	# what a's mapping must be
RULE="0x11 th dport $EXTPORT dnat ip to ${LAN[a]}:$PORT"	# 0x11: UDP

# --- helpers ----------------------------------------------------------------

# write_conf HOST: the other two nodes as peers, p's endpoint on a and b,
# UPnP on a (mesh_conf).
write_conf() {
	local h=$1 p opts="persistent-keepalive $KEEPALIVE"
	local -a peers=()
	[ "$h" = a ] && opts="$opts
upnp yes external-port $EXTPORT"
	for p in $(others "$h" "${HOSTS[@]}"); do
		[ "$p" = p ] && p="p=${WAN[p]}:$PORT"
		peers+=("$p")
	done
	mesh_conf "$h" "$opts" "${peers[@]}"
}

# upnp_shown HOST WANT: HOST's "show interfaces -j" has "upnp": WANT
# (a string, or null).
upnp_shown() {
	local j
	j=$(ctl "$1" -j show interfaces) || { echo "$j"; return 1; }
	jq -e --argjson want "$2" '.status == 0 and .interfaces[0].upnp == $want' \
	    <<<"$j" >/dev/null || { echo "$1: $j"; return 1; }
}

# peer_endpoint_shown HOST PEER WANT: HOST's "show peers -j" gives PEER
# that endpoint, up.
peer_endpoint_shown() {
	local j
	j=$(ctl "$1" -j show peers "$2" | jq -c '.peers[0] // empty')
	jq -e --arg want "$3" '.endpoint == $want and .state == "up"' \
	    <<<"$j" >/dev/null || { echo "$1's view of $2: $j"; return 1; }
}

# rule_on_r1 PRESENT: r1's DNAT rule for a's mapping is there (1) or not (0).
rule_on_r1() {
	local rules
	rules=$(lab_miniupnpd_rules r1)
	if [ "$1" = 1 ]; then
		grep -qF "$RULE" <<<"$rules" || { echo "r1's miniupnpd rules: ${rules:-none}"; return 1; }
	else
		! grep -qF "dport $EXTPORT " <<<"$rules" || { echo "r1's miniupnpd rules: $rules"; return 1; }
	fi
}

# text_shows HOST: HOST's "show interfaces" table has the mapping.
text_shows() {
	local out
	out=$(ctl "$1" show interfaces) || { echo "$out"; return 1; }
	grep -qF " $MAPPED " <<<"$out" || { echo "$out"; return 1; }
}

# made_by_upnp: a's show interfaces (-j and text) says UPnP made the mapping.
made_by_upnp() {
	local j out
	j=$(ctl a -j show interfaces) && out=$(ctl a show interfaces) ||
	    { echo "$j"; return 1; }
	jq -e '.interfaces[0].mapping_protocol == "upnp"' <<<"$j" >/dev/null &&
	    grep -qF " $MAPPED (upnp) " <<<"$out" || { echo "$j"; echo "$out"; return 1; }
}

# upnpc_lists: "upnpc -l" on a (another IGD client) sees the mapping.
upnpc_lists() {
	local out
	out=$(on a timeout -k 2 15 upnpc -i -l 2>&1)
	grep -q "UDP *$EXTPORT->${LAN[a]}:$PORT" <<<"$out" || { printf '%s\n' "$out" | tail -n 8; return 1; }
}

# mapping_logged N: a's log has N lines for the making of its mapping.
mapping_logged() {
	local n
	n=$(grep -c "interface $IFC: UPnP mapping $MAPPED -> ${LAN[a]}:$PORT, lease [0-9]* s" "$(lab_log a)")
	[ "$n" = "$1" ] || { echo "$n such lines in a's log, want $1"; grep UPnP "$(lab_log a)" | tail -n 5; return 1; }
}

# rule_within SECONDS PRESENT: rule_on_r1 PRESENT within SECONDS.
rule_within() {
	wait_for "$1" rule_on_r1 "$2" || { echo "$WAIT_OUT"; return 1; }
}

# ctl_while_mapping: wgmeshctl asks a every LAB_STEP until a shows its
# mapping (at most 10 s): the answers that came meanwhile, while the
# worker waits for SSDP answers and talks to r1, count in CTL_N, the
# slowest in CTL_MAX (microseconds).
ctl_while_mapping() {
	local end t0 t j up
	CTL_N=0 CTL_MAX=0
	end=$(($(now_us) + 10000000))
	while [ "$(now_us)" -lt "$end" ]; do
		t0=$(now_us)
		if j=$(ctl a -j show interfaces 2>/dev/null); then
			t=$(($(now_us) - t0))
			up=$(jq -r '.interfaces[0].upnp' <<<"$j")
			[ "$up" != null ] && return 0
			CTL_N=$((CTL_N + 1))
			[ "$t" -gt "$CTL_MAX" ] && CTL_MAX=$t
		fi
		sleep "$LAB_STEP"
	done
	return 1
}

# --- the lab ------------------------------------------------------------------

lab_require ip nsenter unshare timeout nft wg wireguard-go jq busybox python3 \
    sha256sum ss miniupnpd upnpc "$WGMESHD" "$WGMESHCTL"
lab_prepare
lab_probe
lab_init

note "p public at ${WAN[p]} with a STUN server; a behind symmetric r1 (${WAN[r1]}, miniupnpd), b behind cone r2 (${WAN[r2]})"
lab_wan_host p "${WAN[p]}"
lab_router r1 "${WAN[r1]}" "${LAN[r1]}" symmetric
lab_router r2 "${WAN[r2]}" "${LAN[r2]}" cone
lab_nat_host a r1 "${LAN[a]}"
lab_nat_host b r2 "${LAN[b]}"
lab_stun_start p "${WAN[p]}"
lab_miniupnpd_start r1 "${WAN[p]}"
for h in "${HOSTS[@]}"; do
	lab_wg_key "$h"
	lab_wggo "$h"
done
check_underlay a b p p
check "r1: miniupnpd's STUN check reached p" \
    wait_for 10 grep -q "^stun: ${WAN[r1]}:" "$LAB_DIR/p/stun.log"
check "r1: no mapping before the daemons start" rule_on_r1 0
for h in "${HOSTS[@]}"; do
	write_conf "$h"
	check "$h: the configuration is valid (wgmeshd -n)" \
	    on "$h" "$WGMESHD" -n -f "$(lab_conf "$h")"
done

# --- the mesh, through a's mapping ------------------------------------------

note "the three daemons start; a maps $EXTPORT on r1"
lab_ctx p a b
T0=$(now_us)
for h in "${HOSTS[@]}"; do
	lab_wgmeshd_start "$h"
done
if ctl_while_mapping; then
	T_MAP=$(($(now_us) - T0))
	note "a shows its mapping $(fmt_us "$T_MAP") after the start; $CTL_N wgmeshctl answers before, the slowest in $(fmt_us "$CTL_MAX")"
	check "a's engine answered wgmeshctl while the mapping was being made ($CTL_N times, each within $(fmt_us "$CTL_MAX_US"))" \
	    test "$CTL_N" -gt 0 -a "$CTL_MAX" -lt "$CTL_MAX_US"
else
	bad "a shows no mapping within 10 s of its start ($CTL_N wgmeshctl answers)"
fi
if wait_for "$MESH_DEADLINE" mesh_up; then
	T_MESH=$(($(now_us) - T0))
	ok "full mesh within $MESH_DEADLINE s"
	timing "time to full mesh" "$T_MESH" upnp time_to_mesh_s
else
	bad "no full mesh within $MESH_DEADLINE s"
	printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
fi
learn_overlays
note "r1's miniupnpd rules: $(lab_miniupnpd_rules r1 | tr '\n' ';')"
check "r1 forwards $EXTPORT to a's listen port (miniupnpd's DNAT rule)" \
    rule_within 5 1
check "upnpc -l on a lists the mapping" upnpc_lists
check "a shows its mapping: \"upnp\": \"$MAPPED\" (show interfaces -j)" \
    upnp_shown a "\"$MAPPED\""
check "a shows its mapping in the text table (show interfaces)" text_shows a
# r1's port 5351 is closed: PCP and NAT-PMP refused at once, UPnP mapped
check "a's mapping was made by UPnP: \"mapping_protocol\": \"upnp\", \"$MAPPED (upnp)\"" \
    made_by_upnp
check "b shows no mapping: \"upnp\": null" upnp_shown b null
check "a's log: interface $IFC: UPnP mapping $MAPPED -> ${LAN[a]}:$PORT, lease N s" \
    mapping_logged 1
check "p sees a at r1's WAN address" endpoint_at p a "${WAN[r1]}"
check "b's device uses a's mapping $MAPPED for a" endpoint_is b a "$MAPPED"
check "b shows a up at $MAPPED (show peers -j)" peer_endpoint_shown b a "$MAPPED"
check "b's device has a handshake with a" handshake_on b a
check "a's device has a handshake with b" handshake_on a b
check "b -> a through the tunnel" ping6 b a
check "a -> b through the tunnel" ping6 a b
check "a -> p through the tunnel" ping6 a p

# --- reload ---------------------------------------------------------------------

note "a reloads its configuration: the mapping stays"
check "a reloads" test "$(ctl a reload 2>&1)" = "configuration reloaded"
check "a still shows its mapping after the reload" upnp_shown a "\"$MAPPED\""
check "the reload made no new mapping (one line in a's log)" mapping_logged 1
if wait_for 10 mesh_up; then
	ok "the full mesh is up after the reload"
else
	bad "the full mesh is not up 10 s after the reload"
	printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
fi
check "b -> a through the tunnel after the reload" ping6 b a

# --- a stops ------------------------------------------------------------------

note "a's wgmeshd gets SIGTERM: its mapping must go"
lab_ctx a
t0=$(now_us)
if stop_pid "${LAB_DAEMON[a]}" TERM 10; then
	reap "${LAB_DAEMON[a]}"
	ok "a's wgmeshd exits on SIGTERM ($(fmt_us "$(($(now_us) - t0))"))"
else
	reap "${LAB_DAEMON[a]}"
	bad "a's wgmeshd does not exit within 10 s of SIGTERM"
fi
check "r1 no longer forwards $EXTPORT (within $GONE_DEADLINE s of a's exit)" \
    rule_within "$GONE_DEADLINE" 0
check "a's log: the mapping was deleted" \
    grep -q "interface $IFC: UPnP mapping of port $EXTPORT deleted" "$(lab_log a)"
check "r1's miniupnpd still runs" alive "${LAB_MINIUPNPD[r1]}"
stop_pid "${LAB_MINIUPNPD[r1]}" TERM 5
stop_pid "${LAB_STUN[p]}" TERM 5

lab_done
