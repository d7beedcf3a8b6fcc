#!/usr/bin/env bash
# Lab scenario for PCP and NAT-PMP port mapping with wgmeshd.  A public
# host p (WAN 198.18.0.1) that also runs a STUN server for miniupnpd; a
# behind router r1, which runs miniupnpd with NAT-PMP and PCP on and UPnP
# off, and maps every outgoing flow to a new random port (hole punching
# cannot reach a, only a port mapping can); b behind r2, a cone NAT whose
# port 5351 answers PCP and NAT-PMP with nothing but malformed datagrams
# (regress/lab/pmp-junk.py).  Both routers drop unsolicited input on
# their WAN side.  Only p's endpoint is configured on a and b; a asks for
# external port 33723, a port other than its listen port, so that the
# mapping is seen to be used; b has "upnp yes", and so has p, which has
# no default route.  No node uses a relay (relay-use no): the mapping is
# what is watched.
#
#	- "upnp yes" on a: PCP, tried first, maps r1:33723 (its DNAT rule
#	  on r1, "mapping ... (pcp)" in show interfaces, -j's
#	  mapping_protocol, a's log); b learns it by gossip and uses it:
#	  b-a handshake, pings both ways (BENCH: the time to PCP's mapping)
#	- b's gateway answered with junk only: b shows no mapping, its log
#	  says "only malformed answers" for PCP and NAT-PMP, its wgmeshd
#	  runs on, its peers up; p, without a default route, says so
#	- r1 grants PCP leases of 40 s: a renews at half (with its nonce),
#	  r1 still forwards the port after 45 s; r1's miniupnpd restarts:
#	  a's next renewal sees the gateway's epoch go back (logged) and
#	  the port is forwarded again
#	- a's wgmeshd stopped with SIGTERM: the mapping is gone from r1
#	- a again with "port-mapping nat-pmp": NAT-PMP (libnatpmp) maps the
#	  same port; b reaches a through it again; gone when a stops (BENCH:
#	  the time to NAT-PMP's mapping)
#
#	regress/lab/natpmp.sh
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
MAP_DEADLINE=10			# s to a's mapping from its daemon's start
MESH_DEADLINE=20		# s to a full mesh from the daemons' start
GONE_DEADLINE=5			# s for the mapping to go after a stops
LEASE_MIN=30			# miniupnpd's PCP leases: at least, the
LEASE_MAX=40			# least wgmeshd takes; at most

declare -A WAN=() LAN=() PUB=()
WAN[p]=198.18.0.1
WAN[r1]=198.18.0.11; LAN[r1]=198.19.1.1; LAN[a]=198.19.1.2
WAN[r2]=198.18.0.12; LAN[r2]=198.19.2.1; LAN[b]=198.19.2.2
HOSTS=(p a b)
MAPPED=${WAN[r1]}:$EXTPORT	# what a's mapping must be
RULE="0x11 th dport $EXTPORT dnat ip to ${LAN[a]}:$PORT"	# 0x11: UDP

# --- helpers ----------------------------------------------------------------

# write_conf HOST [MAPPING]: the other two nodes as peers, p's endpoint
# on a and b; on a MAPPING (default "upnp yes") with external port
# EXTPORT, on b and p "upnp yes".
write_conf() {
	# relay-use no: this lab watches the mapped port carry a's pairs,
	# which p's relay would stand in for if a loaded machine made the
	# first handshake there late (relaying after 6 s); relay.sh and
	# mixed.sh relay
	local h=$1 p opts="persistent-keepalive $KEEPALIVE
relay-use no"
	local -a peers=()
	case $h in
	a)	opts="$opts
${2:-upnp yes} external-port $EXTPORT" ;;
	b|p)	opts="$opts
upnp yes" ;;
	esac
	for p in $(others "$h" "${HOSTS[@]}"); do
		[ "$p" = p ] && p="p=${WAN[p]}:$PORT"
		peers+=("$p")
	done
	mesh_conf "$h" "$opts" "${peers[@]}"
}

# mapping_shown HOST WANT PROTO: HOST's "show interfaces -j" has
# "mapping": WANT and "mapping_protocol": PROTO (strings, or null), and
# "upnp", the older name, as "mapping".
mapping_shown() {
	local j
	j=$(ctl "$1" -j show interfaces) || { echo "$j"; return 1; }
	jq -e --argjson want "$2" --argjson proto "$3" '.status == 0 and
	    .interfaces[0].mapping == $want and
	    .interfaces[0].mapping_protocol == $proto and
	    .interfaces[0].upnp == $want' <<<"$j" >/dev/null ||
	    { echo "$1: $j"; return 1; }
}

# text_shows HOST PROTO: HOST's "show interfaces" table has the mapping
# and the protocol that made it.
text_shows() {
	local out
	out=$(ctl "$1" show interfaces) || { echo "$out"; return 1; }
	grep -qF " $MAPPED ($2) " <<<"$out" || { echo "$out"; return 1; }
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

# rule_within SECONDS PRESENT: rule_on_r1 PRESENT within SECONDS.
rule_within() {
	wait_for "$1" rule_on_r1 "$2" || { echo "$WAIT_OUT"; return 1; }
}

# mapping_logged PROTO N: a's log has N lines for the making of its
# mapping by PROTO (PCP, NAT-PMP).
mapping_logged() {
	local n
	n=$(grep -c "interface $IFC: $1 mapping $MAPPED -> ${LAN[a]}:$PORT, lease [0-9]* s" "$(lab_log a)")
	[ "$n" = "$2" ] || { echo "$n such lines in a's log, want $2"; grep -i mapping "$(lab_log a)" | tail -n 5; return 1; }
}

# wait_mapping PROTO: polls a's show interfaces until it shows a mapping
# (at most MAP_DEADLINE s); its protocol in MAP_PROTO, the time since T0
# in T_MAP.
wait_mapping() {
	local end j
	MAP_PROTO=
	end=$(($(now_us) + MAP_DEADLINE * 1000000))
	while [ "$(now_us)" -lt "$end" ]; do
		if j=$(ctl a -j show interfaces 2>/dev/null) &&
		    MAP_PROTO=$(jq -er '.interfaces[0].mapping_protocol // empty' <<<"$j"); then
			T_MAP=$(($(now_us) - T0))
			return 0
		fi
		sleep "$LAB_STEP"
	done
	return 1
}

# b_reaches_a: b's device has a at the mapping, with a fresh handshake
# both ways.
b_reaches_a() {
	endpoint_is b a "$MAPPED" && fresh_handshake b a && fresh_handshake a b
}

# fresh_handshake HOST PEER: HOST's device has a handshake with PEER
# since T0.
fresh_handshake() {
	local t
	t=$(on "$1" wg show "$IFC" latest-handshakes | awk -v k="${PUB[$2]}" '$1 == k { print $2 }')
	[ -n "$t" ] && [ "$t" -ge "$((T0 / 1000000))" ] ||
	    { echo "$1's device has no handshake with $2 since the start (${t:-none})"; return 1; }
}

# stop_a: SIGTERM to a's wgmeshd, its mapping gone from r1, the log line.
stop_a() {
	local t0 proto=$1
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
	check "a's log: the $proto mapping was deleted" \
	    grep -q "interface $IFC: $proto mapping of port $EXTPORT deleted" "$(lab_log a)"
}

# junk_start ROUTER: pmp-junk.py on ROUTER's LAN address, port 5351.
junk_start() {
	local r=$1
	nsenter -t "${LAB_HOLDER[$r]:?no host $r}" -n -m -u -- python3 \
	    "$LAB_REPO/regress/lab/pmp-junk.py" "${LAN[$r]}" "$((LAB_TIMEOUT + 30))" \
	    </dev/null >"$LAB_DIR/$r/junk.log" 2>&1 &
	JUNK=$!
	LAB_PIDS+=("$JUNK")
	wait_for 5 grep -q listening "$LAB_DIR/$r/junk.log" ||
	    die "router $r: pmp-junk.py did not start: $(cat "$LAB_DIR/$r/junk.log")"
}

# --- the lab ------------------------------------------------------------------

lab_require ip nsenter unshare timeout nft wg wireguard-go jq busybox python3 \
    sha256sum ss miniupnpd "$WGMESHD" "$WGMESHCTL"
lab_prepare
lab_probe
lab_init

note "p public at ${WAN[p]} with a STUN server; a behind symmetric r1 (${WAN[r1]}, miniupnpd: NAT-PMP and PCP, no UPnP), b behind cone r2 (${WAN[r2]}, junk on port 5351)"
lab_wan_host p "${WAN[p]}"
lab_router r1 "${WAN[r1]}" "${LAN[r1]}" symmetric
lab_router r2 "${WAN[r2]}" "${LAN[r2]}" cone
lab_nat_host a r1 "${LAN[a]}"
lab_nat_host b r2 "${LAN[b]}"
lab_stun_start p "${WAN[p]}"
# leases short enough to see a renewal (PCP's; NAT-PMP's are as asked)
LAB_MINIUPNPD_CONF="min_lifetime=$LEASE_MIN
max_lifetime=$LEASE_MAX" lab_miniupnpd_start r1 "${WAN[p]}" natpmp
junk_start r2
for h in "${HOSTS[@]}"; do
	lab_wg_key "$h"
	lab_wggo "$h"
done
check_underlay a b p p
check "r1: miniupnpd's STUN check reached p" \
    wait_for 10 grep -q "^stun: ${WAN[r1]}:" "$LAB_DIR/p/stun.log"
check "r1: no mapping before the daemons start" rule_on_r1 0
check "r1: miniupnpd serves no UPnP (nothing on TCP port 5000)" sh -c \
    "! on r1 ss -Htln | grep -q ':5000 '"
for h in "${HOSTS[@]}"; do
	write_conf "$h"
	check "$h: the configuration is valid (wgmeshd -n)" \
	    on "$h" "$WGMESHD" -n -f "$(lab_conf "$h")"
done

# --- "upnp yes": PCP first ---------------------------------------------------

note "the three daemons start; a (\"upnp yes\") maps $EXTPORT on r1, PCP first"
lab_ctx p a b
T0=$(now_us)
for h in "${HOSTS[@]}"; do
	# a's renewals are logged with -v
	if [ "$h" = a ]; then lab_wgmeshd_start "$h" -v; else lab_wgmeshd_start "$h"; fi
done
if wait_mapping; then
	timing "pcp: time to a's mapping" "$T_MAP" natpmp pcp_map_s
	check "a's mapping was made by PCP (mapping_protocol: $MAP_PROTO)" \
	    test "$MAP_PROTO" = pcp
else
	bad "a shows no mapping within $MAP_DEADLINE s of its start"
fi
if wait_for "$MESH_DEADLINE" mesh_up; then
	T_MESH=$(($(now_us) - T0))
	ok "full mesh within $MESH_DEADLINE s"
	timing "pcp: time to full mesh" "$T_MESH" natpmp pcp_mesh_s
else
	bad "no full mesh within $MESH_DEADLINE s"
	printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
fi
learn_overlays
note "r1's miniupnpd rules: $(lab_miniupnpd_rules r1 | tr '\n' ';')"
check "r1 forwards $EXTPORT to a's listen port (miniupnpd's DNAT rule)" \
    rule_within 5 1
check "a shows its mapping: \"mapping\": \"$MAPPED\", \"mapping_protocol\": \"pcp\" (show interfaces -j)" \
    mapping_shown a "\"$MAPPED\"" '"pcp"'
check "a shows its mapping in the text table: $MAPPED (pcp)" text_shows a pcp
check "b shows no mapping" mapping_shown b null null
check "a's log: interface $IFC: PCP mapping $MAPPED -> ${LAN[a]}:$PORT, lease N s" \
    mapping_logged PCP 1
# after miniupnpc's SSDP discovery, which waits for every kind of device
check "b's log: each protocol failed, and why (PCP and NAT-PMP: only junk)" \
    wait_for 15 grep -q "interface $IFC: port mapping failed: PCP: only malformed answers (1105); NAT-PMP: only malformed answers (1105); UPnP: " "$(lab_log b)"
check "r2's junk gateway had PCP's MAP and both NAT-PMP requests from b" sh -c \
    "grep -q '^request 2 60\$' $LAB_DIR/r2/junk.log &&
    grep -q '^request 0 2\$' $LAB_DIR/r2/junk.log &&
    grep -q '^request 0 12\$' $LAB_DIR/r2/junk.log"
check "b's wgmeshd runs on" alive "${LAB_DAEMON[b]}"
check "p's log: no default gateway for PCP and NAT-PMP" wait_for 15 grep -q \
    "interface $IFC: port mapping failed: PCP: no IPv4 default gateway (1101); NAT-PMP: no IPv4 default gateway (1101); UPnP: " "$(lab_log p)"
check "p sees a at r1's WAN address" endpoint_at p a "${WAN[r1]}"
check "b's device uses a's mapping $MAPPED for a, handshakes both ways" \
    b_reaches_a
check "b -> a through the tunnel" ping6 b a
check "a -> b through the tunnel" ping6 a b

note "r1 grants PCP leases of $LEASE_MAX s: a renews its mapping at half, with the same nonce"
check "a's log: the lease granted was $LEASE_MAX s" grep -q \
    "interface $IFC: PCP mapping $MAPPED -> ${LAN[a]}:$PORT, lease $LEASE_MAX s" "$(lab_log a)"
check "a's log: the PCP mapping renewed (within $LEASE_MAX s of its start)" \
    wait_for "$LEASE_MAX" grep -q "interface $IFC: PCP mapping $MAPPED renewed" "$(lab_log a)"
sleep_until=$((T0 + (LEASE_MAX + 5) * 1000000))
while [ "$(now_us)" -lt "$sleep_until" ]; do sleep "$LAB_STEP"; done
check "$LEASE_MAX s + 5 s after the start, r1 still forwards $EXTPORT" rule_on_r1 1
check "a still shows its PCP mapping" mapping_shown a "\"$MAPPED\"" '"pcp"'
check "a's log: no failure, nothing expired" sh -c \
    "! grep -E 'port mapping failed|expired without' $(lab_log a)"
check "b -> a through the tunnel, after the renewal" ping6 b a

note "r1's miniupnpd restarts: a's next renewal sees its epoch go back, and maps again"
stop_pid "${LAB_MINIUPNPD[r1]}" TERM 5
LAB_MINIUPNPD_CONF="min_lifetime=$LEASE_MIN
max_lifetime=$LEASE_MAX" lab_miniupnpd_start r1 "${WAN[p]}" natpmp
check "a's log: the gateway lost its PCP mappings (epoch), within $LEASE_MAX s" \
    wait_for "$LEASE_MAX" grep -q "interface $IFC: the gateway lost its PCP mappings (its epoch went back)" "$(lab_log a)"
check "r1 forwards $EXTPORT again" rule_within 5 1
check "b -> a through the tunnel, through the mapping made again" ping6 b a

note "a's wgmeshd gets SIGTERM: its PCP mapping must go"
lab_ctx a
stop_a PCP

# --- "port-mapping nat-pmp" ---------------------------------------------------

note "a again, with \"port-mapping nat-pmp\""
write_conf a "port-mapping nat-pmp"
check "a: the configuration is valid (wgmeshd -n)" \
    on a "$WGMESHD" -n -f "$(lab_conf a)"
lab_ctx a b
T0=$(now_us)
lab_wgmeshd_start a
if wait_mapping; then
	timing "nat-pmp: time to a's mapping" "$T_MAP" natpmp natpmp_map_s
	check "a's mapping was made by NAT-PMP (mapping_protocol: $MAP_PROTO)" \
	    test "$MAP_PROTO" = nat-pmp
else
	bad "a shows no mapping within $MAP_DEADLINE s of its start"
fi
check "r1 forwards $EXTPORT to a's listen port again" rule_within 5 1
check "a shows its mapping: \"mapping_protocol\": \"nat-pmp\" (show interfaces -j)" \
    mapping_shown a "\"$MAPPED\"" '"nat-pmp"'
check "a shows its mapping in the text table: $MAPPED (nat-pmp)" \
    text_shows a nat-pmp
check "a's log: interface $IFC: NAT-PMP mapping $MAPPED -> ${LAN[a]}:$PORT, lease N s" \
    mapping_logged NAT-PMP 1
check "b's device still uses a's mapping $MAPPED for a" endpoint_is b a "$MAPPED"
# only r1's forward of the mapped port lets b's datagrams in
check "b -> a through the tunnel, through the NAT-PMP mapping" ping6 b a

note "a's wgmeshd gets SIGTERM: its NAT-PMP mapping must go"
stop_a NAT-PMP
check "r1's miniupnpd still runs" alive "${LAB_MINIUPNPD[r1]}"
check "b's wgmeshd still runs, its junk gateway notwithstanding" \
    alive "${LAB_DAEMON[b]}"
check "b still shows no mapping" mapping_shown b null null
stop_pid "$JUNK" TERM 5
stop_pid "${LAB_MINIUPNPD[r1]}" TERM 5
stop_pid "${LAB_STUN[p]}" TERM 5

lab_done
