#!/usr/bin/env bash
# Lab scenario: pairs that no direct path serves are relayed through a
# node of the mesh, and go direct when they can.  Two public nodes, p
# (198.18.0.1) and q (198.18.0.2), either of which may relay; x behind
# router r1 and y behind router r2, both routers mapping each flow to a
# new random port and dropping unsolicited input on their WAN side.  Only
# p's and q's endpoints are configured.
#
#	1. x and y come up relayed, within RELAY_DEADLINE s of the start;
#	   "show peers" says "relay via p|q" and why, -j likewise; a ping
#	   passes through the tunnel, and wgmeshctl ping says its round
#	   trip and "relay via p|q"; a capture at the relay shows datagrams
#	   on its relay ports and no overlay plaintext (a marker sent through
#	   the tunnel is nowhere in it); no relay port in any node's view of
#	   a peer but x's of y and y's of x (source "relay"), nor in any state
#	   file.
#	2. r2 keeps ports from now on (a cone NAT): x (random ports) and y
#	   (cone) stay relayed.
#	3. r1 keeps ports too: the pair goes direct at a trial, and the relay
#	   frees its ports ("show interfaces": no pair relayed).
#	4. r1 maps each flow anew again (its connection tracking flushed, as
#	   a router that restarts): the pair is relayed again.
#	5. The relaying node's daemon stops: the pair moves to the other
#	   public node's relay.
#
#	regress/lab/relay.sh		all of it, wireguard-go
#	regress/lab/relay.sh bench	step 1, then iperf3 relayed (x to y)
#					and direct (x to the other public
#					node), and the relay's CPU
#	regress/lab/relay.sh kernel	step 1 on kernel WireGuard; run in
#					the VM by regress/vm/kernel.sh
#
# Ends with "N passed, N failed"; exit 77 after a SKIP line when the
# kernel cannot run the lab.  Timings are printed as "BENCH relay METRIC
# VALUE" lines too.  LAB_KEEP=1 keeps the logs and configurations.
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
BENCH=0 MODE=userspace
case ${1:-} in
'')	;;
bench)	BENCH=1 ;;	# step 1 and iperf3, relayed and direct
kernel)	MODE=kernel ;;	# step 1 on kernel WireGuard, in regress/vm/kernel.sh
*)	echo "usage: $0 [bench|kernel]" >&2; exit 2 ;;
esac
if [ "$MODE" = kernel ] && [ "${WGMESHD_VM:-}" != 1 ]; then
	echo "$0 kernel: run by regress/vm/kernel.sh, in the VM" >&2
	exit 2
fi
LAB_TIMEOUT=${LAB_TIMEOUT:-420}
LAB_NAME=ry
. "$HERE/lib.sh"

IFC=wg0
PORT=51820
GPORT=1666
KEEPALIVE=15
RELAY_PORTS="51900-51931"
RELAY_DEADLINE=${RELAY_DEADLINE:-20}	# s for the pair to come up relayed
DIRECT_DEADLINE=${DIRECT_DEADLINE:-150}	# s for a trial to find the direct path
MARKER=wgmeshd-relay-plaintext-marker-7f3a

declare -A WAN=() LAN=() PUB=() ROUTER=()
WAN[p]=198.18.0.1
WAN[q]=198.18.0.2
WAN[r1]=198.18.0.11; LAN[r1]=198.19.1.1; LAN[x]=198.19.1.2
WAN[r2]=198.18.0.12; LAN[r2]=198.19.2.1; LAN[y]=198.19.2.2
ROUTER[x]=r1; ROUTER[y]=r2
HOSTS=(p q x y)

write_conf() {
	local h=$1 p
	local -a peers=()
	for p in $(others "$h" "${HOSTS[@]}"); do
		case $p in
		p|q)	p="$p=${WAN[$p]}:$PORT" ;;
		esac
		peers+=("$p")
	done
	mesh_conf "$h" "persistent-keepalive $KEEPALIVE" "${peers[@]}"
}

# peer_json HOST PEER: HOST's "show peers -j" entry for PEER.
peer_json() {
	ctl "$1" -j show peers | jq -c --arg n "$2" '.peers[] | select(.name == $n)'
}

# relayed HOST PEER: HOST has PEER up through a relay.
relayed() {
	local j
	j=$(peer_json "$1" "$2") || return 1
	jq -e '.state == "up" and .path == "relay"' <<<"$j" >/dev/null ||
	    { echo "$1 has $2: $(jq -r '"\(.state) \(.path) \(.reason)"' <<<"$j")"; return 1; }
}

# direct HOST PEER: HOST has PEER up, not through a relay.
direct() {
	local j
	j=$(peer_json "$1" "$2") || return 1
	jq -e '.state == "up" and .path == "direct"' <<<"$j" >/dev/null ||
	    { echo "$1 has $2: $(jq -r '"\(.state) \(.path) \(.reason)"' <<<"$j")"; return 1; }
}

# relay_of HOST PEER: the relay HOST uses for PEER.
relay_of() {
	peer_json "$1" "$2" | jq -r '.relay // empty'
}

# pair_relayed: x has y up through a relay, y has x so, through the same.
pair_relayed() {
	relayed x y && relayed y x &&
	    [ "$(relay_of x y)" = "$(relay_of y x)" ] ||
	    { echo "x relays y via '$(relay_of x y)', y relays x via '$(relay_of y x)'"; return 1; }
}

pair_direct() {
	direct x y && direct y x
}

# pair_devices: what x and y show of each other, and their devices, now.
pair_devices() {
	local h o
	for h in x y; do
		o=y
		[ "$h" = y ] && o=x
		echo "$h at $(date +%T.%N): $(peer_json "$h" "$o" |
		    jq -c '{state, path, endpoint, reason}')"
		echo "$h's wg0: $(on "$h" wg show "$IFC" endpoints |
		    tr '\n' ' '); handshakes: $(on "$h" wg show "$IFC" \
		    latest-handshakes | tr '\n' ' ')"
	done
}

# relay_pairs HOST: the pairs HOST relays ("show interfaces -j").
relay_pairs() {
	ctl "$1" -j show interfaces | jq -r '.interfaces[0].relay_pairs // 0'
}

# no_relay_port_seen: no node shows a relay port as a peer's endpoint,
# but x for y and y for x with the source "relay"; no state file has one.
no_relay_port_seen() {
	local h j bad=0 lo=${RELAY_PORTS%-*} hi=${RELAY_PORTS#*-}
	for h in "${HOSTS[@]}"; do
		j=$(ctl "$h" -j show peers) || return 1
		if jq -e --argjson lo "$lo" --argjson hi "$hi" --arg h "$h" '
		    [.peers[] | select(.endpoint != null) |
		     select((.endpoint | sub(".*:"; "") | tonumber) as $p |
		      $p >= $lo and $p <= $hi) |
		     select(($h == "x" and .name == "y" or $h == "y" and .name == "x")
		      and .endpoint_source == "relay" | not)] | length > 0' \
		    <<<"$j" >/dev/null; then
			echo "$h shows a relay port: $(jq -c '[.peers[] | {name, endpoint, endpoint_source}]' <<<"$j")"
			bad=1
		fi
		if grep -qsE ":(5190[0-9]|5191[0-9]|5192[0-9]|5193[01])\b" \
		    "$LAB_DIR/$h/state/"* 2>/dev/null; then
			echo "$h's state file has a relay port:"
			cat "$LAB_DIR/$h/state/"*
			bad=1
		fi
	done
	return $bad
}

need=(ip nsenter unshare timeout nft wg jq busybox tcpdump conntrack sha256sum
    "$WGMESHD" "$WGMESHCTL")
[ "$MODE" = userspace ] && need+=(wireguard-go)
[ "$BENCH" = 1 ] && need+=(iperf3)
lab_require "${need[@]}"
if [ "$MODE" = kernel ]; then
	# the VM has no udev: modules are loaded by hand
	modprobe wireguard 2>/dev/null
	modprobe tun 2>/dev/null
	for m in nf_tables nft_nat nft_masq nft_ct nf_conntrack; do
		modprobe "$m" 2>/dev/null
	done
	[ -c /dev/net/tun ] || { mkdir -p /dev/net &&
	    mknod /dev/net/tun c 10 200 2>/dev/null; }
fi
lab_prepare
lab_probe
lab_init

note "p and q public; x behind r1, y behind r2, both routers mapping each flow to a new random port"
lab_wan_host p "${WAN[p]}"
lab_wan_host q "${WAN[q]}"
lab_router r1 "${WAN[r1]}" "${LAN[r1]}" symmetric
lab_router r2 "${WAN[r2]}" "${LAN[r2]}" symmetric
for h in x y; do
	lab_nat_host "$h" "${ROUTER[$h]}" "${LAN[$h]}"
done
note "$MODE WireGuard"
for h in "${HOSTS[@]}"; do
	lab_wg_key "$h"
	# kernel: the daemon makes its link itself
	[ "$MODE" = userspace ] && lab_wggo "$h"
done
check_underlay x y p p
for h in "${HOSTS[@]}"; do
	write_conf "$h"
	check "$h: the configuration is valid (wgmeshd -n)" \
	    on "$h" "$WGMESHD" -n -f "$(lab_conf "$h")"
done

lab_ctx "${HOSTS[@]}"
T0=$(now_us)
for h in "${HOSTS[@]}"; do
	lab_wgmeshd_start "$h"
done

# --- 1. relayed, and what the relay sees ---------------------------------

if wait_for "$RELAY_DEADLINE" pair_relayed; then
	t=$(($(now_us) - T0))
	ok "x and y up through $(relay_of x y)'s relay in $(fmt_us "$t") (at most $RELAY_DEADLINE s)"
	timing "relay: time to a relayed pair from the start" "$t" relay \
	    time_to_relayed_s
else
	bad "x and y not up through a relay within $RELAY_DEADLINE s"
	views "${HOSTS[@]}" | sed 's/^/     /'
fi
R=$(relay_of x y)
[ -n "$R" ] || R=p
OTHER=q
[ "$R" = q ] && OTHER=p
# shows_relay HOST PEER RELAY: show peers' text has "relay via RELAY" and
# why on PEER's line.
shows_relay() {
	local out
	out=$(ctl "$1" show peers "$2" 2>&1)
	grep -E "relay via $3 .*(maps? each destination anew|no direct path)" \
	    <<<"$out" >/dev/null || { echo "$out"; return 1; }
}
check "show peers on x: \"relay via $R\" and the reason" \
    shows_relay x y "$R"
check "show peers -j on y: path relay, relay $R, a reason" \
    sh -c "nsenter -t ${LAB_HOLDER[y]} -n -m -u '$WGMESHCTL' -j show peers x | jq -e '.peers[0] | .path == \"relay\" and .relay == \"$R\" and (.path_reason | length > 0)'"
check "x pings y through the tunnel, relayed" ping6 x y
# ping_relayed: "wgmeshctl ping y" on x: a round trip, "relay via R"
ping_relayed() {
	local out
	out=$(ctl x ping -c 1 y 2>&1) || { echo "$out"; return 1; }
	printf '%s\n' "$out"
	grep -qE "^reply from y on $IFC: seq=1 time=[0-9.]+ ms path relay via $R ${WAN[$R]//./\\.}:[0-9]+\$" \
	    <<<"$out"
}
check "wgmeshctl ping y on x: a round trip, the path relay via $R" \
    ping_relayed
# full-sized WireGuard datagrams: 1400 bytes of ICMPv6, fragmented to the
# tunnel's MTU, go through the relay too
check "a 1400-byte ping through the relay, in full-sized datagrams" \
    on x busybox ping -6 -c 3 -s 1400 -W 2 "$(overlay y)"
check "$R relays one pair" sh -c "[ \"\$(nsenter -t ${LAB_HOLDER[$R]} -n -m -u '$WGMESHCTL' -j show interfaces | jq -r '.interfaces[0].relay_pairs')\" = 1 ]"

cap=$LAB_DIR/relay.pcap
on "$R" timeout 20 tcpdump -i eth0 -n -U -w "$cap" "udp portrange $RELAY_PORTS" \
    >"$LAB_DIR/tcpdump.log" 2>&1 &
TCPDUMP=$!
LAB_PIDS+=("$TCPDUMP")
wait_for 5 grep -q "listening on" "$LAB_DIR/tcpdump.log" >/dev/null
for i in 1 2 3; do
	on x /usr/bin/python3 -c "
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.sendto(b'$MARKER' * 8, ('$(overlay y)', 9))
" >/dev/null 2>&1
	ping6 x y >/dev/null
done
stop_pid "$TCPDUMP" INT 5
n=$(tcpdump -r "$cap" -n 2>/dev/null | wc -l)
check "the capture at $R has relayed datagrams ($n)" test "$n" -ge 6
check "and no overlay plaintext: the marker is not in it" \
    sh -c "! grep -qa '$MARKER' '$cap'"
check "no relay port is gossiped, observed or saved" wait_for 3 no_relay_port_seen

# --- bench: relayed against direct throughput, the relay's CPU ---------------

# iperf_mbit FROM TO: Mbit/s received in 5 s of TCP from FROM to TO's
# overlay address.
iperf_mbit() {
	local out
	on "$2" timeout 20 iperf3 -s -1 >/dev/null 2>&1 &
	LAB_PIDS+=("$!")
	wait_for 5 on "$2" sh -c "ss -ltn | grep -q ':5201 '" >/dev/null
	out=$(on "$1" timeout 20 iperf3 -c "$(overlay "$2")" -t 5 -J 2>/dev/null)
	jq -r '.error // empty' <<<"$out" 2>/dev/null | sed 's/^/     iperf3: /' >&2
	jq -r '.end.sum_received.bits_per_second / 1000000 | floor' <<<"$out" 2>/dev/null
}

# relay_cpu_ticks HOST: CPU ticks used by HOST's relay process so far.
relay_cpu_ticks() {
	local c
	for c in $(pgrep -P "${LAB_DAEMON[$1]}"); do
		[ "$(cat /proc/$c/comm 2>/dev/null)" = wgmeshd-relay ] || continue
		awk '{ print $14 + $15 }' "/proc/$c/stat"
		return 0
	done
	echo 0
}

if [ "$MODE" = kernel ]; then
	check "x's $IFC is a kernel wireguard link" \
	    on x sh -c "ip -d link show dev $IFC | grep -qw wireguard"
	lab_done
	exit
fi
if [ "$BENCH" = 1 ]; then
	hz=$(getconf CLK_TCK)
	c0=$(relay_cpu_ticks "$R")
	relayed=$(iperf_mbit x y)
	c1=$(relay_cpu_ticks "$R")
	ctl "$R" show counters | grep '^relay' | sed 's/^/     /'
	direct=$(iperf_mbit x "$OTHER")
	if [ -n "$relayed" ] && [ -n "$direct" ] && [ "$direct" -gt 0 ]; then
		ok "iperf3 x->y through $R's relay: $relayed Mbit/s; x->$OTHER direct: $direct Mbit/s"
		echo "BENCH relay relayed_mbit $relayed"
		echo "BENCH relay direct_mbit $direct"
		echo "BENCH relay relayed_pct_of_direct $((relayed * 100 / direct))"
		# CPU of the relay process, % of one core, per 100 Mbit/s relayed
		awk -v t=$((c1 - c0)) -v hz="$hz" -v m="$relayed" 'BEGIN {
			if (m > 0) printf("BENCH relay relay_cpu_pct_per_100mbit %.2f\n",
			    100 * t / hz / 5 / m * 100) }'
	else
		bad "iperf3: relayed '${relayed:-}' Mbit/s, direct '${direct:-}' Mbit/s"
	fi
	lab_done
	exit
fi

# --- 2. a random-port NAT and a cone NAT -----------------------------------

note "r2 keeps ports from now on (a cone NAT)"
lab_router_mode r2 cone
on r2 conntrack -F >/dev/null 2>&1
check "x (random ports) and y (cone): relayed, and a ping passes, within 40 s" \
    wait_for 40 ping6 x y
check "x and y relayed" wait_for 10 pair_relayed

# --- 3. back to direct -------------------------------------------------------

note "r1 keeps ports from now on too"
lab_ctx x y
lab_router_mode r1 cone
on r1 conntrack -F >/dev/null 2>&1
T1=$(now_us)
if wait_for "$DIRECT_DEADLINE" pair_direct; then
	ok "x and y direct after $(fmt_us $(($(now_us) - T1)))"
	timing "relay: time back to direct after the NAT changed" \
	    $(($(now_us) - T1)) relay time_to_direct_s
else
	bad "x and y not direct within $DIRECT_DEADLINE s of r1 keeping ports"
	views "${HOSTS[@]}" | sed 's/^/     /'
fi
check "$R frees the pair's ports" \
    wait_for 20 sh -c "[ \"\$(nsenter -t ${LAB_HOLDER[$R]} -n -m -u '$WGMESHCTL' -j show interfaces | jq -r '.interfaces[0].relay_pairs')\" = 0 ]"
if ! check "x pings y directly" ping6 x y; then
	pair_devices | sed 's/^/     /'
	wait_for 10 ping6 x y &&
	    echo "     a ping passes at $(date +%T.%N)"
fi
# no flapping: direct stays direct
check "x and y stay direct for 10 s" \
    sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do nsenter -t ${LAB_HOLDER[x]} -n -m -u '$WGMESHCTL' -j show peers y | jq -e '.peers[0].path == \"direct\"' >/dev/null || exit 1; sleep 1; done"

# --- 4. random ports again -------------------------------------------------------

lab_ctx "${HOSTS[@]}"

note "r1 maps each flow to a new random port again, its connection tracking flushed"
lab_router_mode r1 symmetric
on r1 conntrack -F >/dev/null 2>&1
T2=$(now_us)
if wait_for 60 pair_relayed; then
	ok "x and y relayed again after $(fmt_us $(($(now_us) - T2)))"
else
	bad "x and y not relayed again within 60 s"
	views "${HOSTS[@]}" | sed 's/^/     /'
fi
R=$(relay_of x y)
[ -n "$R" ] || R=p
OTHER=q
[ "$R" = q ] && OTHER=p

# --- 5. the relay stops ----------------------------------------------------------

note "$R's wgmeshd stops"
stop_pid "${LAB_DAEMON[$R]}" TERM 10
T3=$(now_us)
if wait_for 30 sh -c "[ \"\$(nsenter -t ${LAB_HOLDER[x]} -n -m -u '$WGMESHCTL' -j show peers y | jq -r '.peers[0].relay // empty')\" = $OTHER ] && [ \"\$(nsenter -t ${LAB_HOLDER[y]} -n -m -u '$WGMESHCTL' -j show peers x | jq -r '.peers[0].relay // empty')\" = $OTHER ]"; then
	ok "the pair moved to $OTHER's relay after $(fmt_us $(($(now_us) - T3)))"
	timing "relay: time to another relay after the first stopped" \
	    $(($(now_us) - T3)) relay time_to_other_relay_s
else
	bad "the pair did not move to $OTHER's relay within 30 s"
	views x y | sed 's/^/     /'
fi
check "x pings y through $OTHER" ping6 x y

lab_done
