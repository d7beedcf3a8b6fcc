#!/usr/bin/env bash
# Lab test of "wgmeshctl show metrics": two hosts with wireguard-go, h1 and
# h2, each configured with the other and with h3, which never runs (a peer
# that is not up and never made a handshake).  Checks:
# - promtool check metrics (Debian's prometheus package) passes on both;
# - the metrics agree with "show peers -j", "show interfaces -j" and "show
#   counters -j" taken between two metrics reads: states the same, bytes
#   and counters between the two reads, handshake ages within a second;
# - h1's peer h2 is removed from the device and added again in one step,
#   as the parent does when it makes a peer anew: the device's counters
#   start again at 0, and the metrics' byte totals (and show peers') do
#   not go back;
# - the metrics service's command line writes its file whole (a temporary
#   file renamed).
#
#	regress/lab/metrics.sh
#
# Ends with "N passed, N failed".  LAB_KEEP=1 keeps the logs and configs.
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
. "$HERE/lib.sh"

IFC=wg0
PORT=51820
KEEPALIVE=25

lab_require ip nsenter unshare timeout wg jq awk busybox promtool \
    wireguard-go "$WGMESHD" "$WGMESHCTL"
lab_prepare
lab_init

declare -A ADDR4=([h1]=198.18.0.1 [h2]=198.18.0.2 [h3]=198.18.0.3) PUB=()

# write_conf HOST PEER...: HOST's configuration, each PEER with its key
# and configured endpoint.
write_conf() {
	local h=$1 p
	local -a peers=()
	shift
	for p in "$@"; do
		peers+=("$p=${ADDR4[$p]}:$PORT")
	done
	{
		echo "# lab $LAB_PREFIX, host $h"
		echo "interface $IFC {"
		echo "	name \"$h\""
		echo "	listen-port $PORT"
		echo "	persistent-keepalive $KEEPALIVE"
		conf_peers "${peers[@]}"
		echo "}"
	} | conf_put "$h"
}

# pair_up: h1 and h2 see each other up.
pair_up() {
	local a b
	runs h1 && runs h2 || return 99
	a=$(ctl h1 -j show peers h2 | jq -r '.peers[0].state') || return 1
	b=$(ctl h2 -j show peers h1 | jq -r '.peers[0].state') || return 1
	echo "h1 sees h2 $a, h2 sees h1 $b"
	[ "$a" = up ] && [ "$b" = up ]
}

# promtool_ok HOST: HOST's metrics pass promtool's checks, which include
# its lint (names, suffixes, HELP).
promtool_ok() {
	local m out
	m=$(ctl "$1" show metrics) || { echo "show metrics failed: $m"; return 1; }
	out=$(printf '%s\n' "$m" | promtool check metrics 2>&1) ||
	    { printf '%s\n' "$out"; return 1; }
	# the families the man page promises are there
	for f in interface_info interface_peers interface_peers_up \
	    upnp_enabled upnp_mapped peer_info peer_up peer_state peer_path \
	    peer_last_handshake_timestamp_seconds peer_handshake_age_seconds \
	    peer_receive_bytes_total peer_transmit_bytes_total \
	    peer_endpoint_changes_total gossip_received_total \
	    gossip_dropped_total lan_sent_total lan_dropped_total; do
		grep -q "^# TYPE wgmeshd_$f " <<<"$m" || { echo "no wgmeshd_$f"; return 1; }
	done
}

# samples FILE: "metric{labels} value" lines of a metrics text as
# "metric|labels|value", labels sorted as they come.
samples() {
	awk '/^#/ || NF == 0 { next }
	    { v = $NF; sub(/ [^ ]*$/, "")
	      n = $0; l = ""
	      if (index(n, "{")) { l = substr(n, index(n, "{") + 1); sub(/}$/, "", l); n = substr(n, 1, index(n, "{") - 1) }
	      print n "|" l "|" v }' "$1"
}

# agree HOST: metrics, then show peers/interfaces/counters -j, then
# metrics again; everything the JSON says is between the two reads.
# Prints what disagrees.
agree() {
	local h=$1 d=$LAB_DIR/agree
	mkdir -p "$d"
	ctl "$h" show metrics >"$d/m1" &&
	    ctl "$h" -j show peers >"$d/peers" &&
	    ctl "$h" -j show interfaces >"$d/ifaces" &&
	    ctl "$h" -j show counters >"$d/counters" &&
	    ctl "$h" show metrics >"$d/m2" || { echo "wgmeshctl failed"; return 1; }
	samples "$d/m1" >"$d/s1"
	samples "$d/m2" >"$d/s2"
	# the JSON as the same "metric|labels|value" lines
	{
		jq -r '.peers[] | "interface=\"\(.interface)\",peer=\"\(.name)\"" as $l |
		    "wgmeshd_peer_up|\($l)|\(if .state == "up" then 1 else 0 end)",
		    "wgmeshd_peer_state|\($l),state=\"\(.state)\"|1",
		    "wgmeshd_peer_receive_bytes_total|\($l)|\(.rx_bytes)",
		    "wgmeshd_peer_transmit_bytes_total|\($l)|\(.tx_bytes)",
		    "wgmeshd_peer_last_handshake_timestamp_seconds|\($l)|\(.latest_handshake // 0)",
		    "wgmeshd_peer_handshake_age_seconds|\($l)|\(.handshake_age // "none")",
		    "wgmeshd_peer_info|\($l),public_key=\"\(.public_key)\",address=\"\(.address)\"|1",
		    "wgmeshd_peer_path|\($l),path=\"\(.path // "none")\"\(if .path == "relay" then ",via=\"\(.relay)\"" else "" end)|1"' "$d/peers"
		jq -r '.interfaces[] | "interface=\"\(.interface)\"" as $l |
		    "wgmeshd_interface_peers|\($l)|\(.peers)",
		    "wgmeshd_interface_peers_up|\($l)|\(.peers_up)",
		    "wgmeshd_upnp_mapped|\($l)|\(if .upnp == null then 0 else 1 end)"' "$d/ifaces"
		jq -r '.counters.gossip as $g | .counters.lan as $l |
		    "wgmeshd_gossip_received_total||\($g.rx)",
		    "wgmeshd_gossip_sent_total||\($g.tx)",
		    "wgmeshd_gossip_sent_bytes_total||\($g.tx_bytes)",
		    "wgmeshd_gossip_dropped_total|reason=\"replay\"|\($g.drop_replay)",
		    "wgmeshd_gossip_dropped_total|reason=\"nopeer\"|\($g.drop_nopeer)",
		    "wgmeshd_lan_sent_total||\($l.tx)",
		    "wgmeshd_lan_received_total|kind=\"beacon\"|\($l.rx_beacon)",
		    "wgmeshd_lan_dropped_total|reason=\"offlink\"|\($l.drop_offlink)"' "$d/counters"
	} >"$d/json" || { echo "jq failed"; return 1; }
	awk -F'|' '
	    FILENAME == ARGV[1] { a[$1 "|" $2] = $3; next }
	    FILENAME == ARGV[2] { b[$1 "|" $2] = $3; next }
	    { k = $1 "|" $2; v = $3; n++
	      if ($1 == "wgmeshd_peer_handshake_age_seconds") {
		if (v == "none") {
			if ((k in a) || (k in b)) { print k ": an age, but no handshake in show peers"; bad = 1 }
			next
		}
		# whole seconds, taken a moment apart
		if (!(k in a) || !(k in b) || a[k] - v > 1 || v - a[k] > 1 || b[k] - v > 1 || v - b[k] > 1) {
			print k ": age " v " in show peers, " a[k] " and " b[k] " in the metrics"; bad = 1
		}
		next
	      }
	      if (!(k in a) || !(k in b)) { print k ": not in the metrics"; bad = 1; next }
	      if ($1 ~ /_total$|_timestamp_seconds$/) {
		if (!(a[k] + 0 <= v + 0 && v + 0 <= b[k] + 0)) {
			print k ": " v " in the JSON, not between " a[k] " and " b[k]; bad = 1
		}
	      } else if (a[k] != v || b[k] != v) {
		print k ": " v " in the JSON, " a[k] " and " b[k] " in the metrics"; bad = 1
	      } }
	    END { if (n < 20) { print "only " n " values compared"; bad = 1 }; exit bad }' \
	    "$d/s1" "$d/s2" "$d/json"
}

# total HOST PEER METRIC: PEER's sample of wgmeshd_METRIC on HOST.
total() {
	ctl "$1" show metrics |
	    awk -v k="wgmeshd_$3{interface=\"$IFC\",peer=\"$2\"}" '$1 == k { print $2 }'
}

# device_rx HOST PEER: the device's own received bytes for PEER.
device_rx() {
	on "$1" wg show "$IFC" transfer | awk -v k="${PUB[$2]}" '$1 == k { print $2 }'
}

# not_less NAME BEFORE AFTER
not_less() {
	[ -n "$2" ] && [ -n "$3" ] && [ "$3" -ge "$2" ] ||
	    { echo "$1 went from '$2' to '$3'"; return 1; }
}

# h3_never HOST: h3, which never runs, is down and has no handshake age.
h3_never() {
	local m
	m=$(ctl "$1" show metrics) || return 1
	grep -qx "wgmeshd_peer_up{interface=\"$IFC\",peer=\"h3\"} 0" <<<"$m" &&
	    grep -qx "wgmeshd_peer_last_handshake_timestamp_seconds{interface=\"$IFC\",peer=\"h3\"} 0" <<<"$m" &&
	    ! grep -q "^wgmeshd_peer_handshake_age_seconds{interface=\"$IFC\",peer=\"h3\"}" <<<"$m"
}

# h3_gone HOST: no sample names h3; one peer configured.
h3_gone() {
	local m
	m=$(ctl "$1" show metrics) || return 1
	! grep -q 'peer="h3"' <<<"$m" &&
	    grep -qx "wgmeshd_interface_peers{interface=\"$IFC\"} 1" <<<"$m"
}

# json_refused HOST: -j show metrics fails, with a message and no output.
json_refused() {
	local out
	out=$(ctl "$1" -j show metrics 2>/dev/null) && return 1
	[ -z "$out" ]
}

# o_refused HOST: -o with another command fails.
o_refused() {
	! ctl "$1" -o "$LAB_DIR/x.prom" show peers 2>/dev/null && [ ! -e "$LAB_DIR/x.prom" ]
}

# handshake HOST PEER: HOST's latest handshake with PEER (show peers -j).
handshake() {
	ctl "$1" -j show peers "$2" | jq -r '.peers[0].latest_handshake'
}

# new_handshake HOST PEER BEFORE: the engine has heard of a handshake
# later than BEFORE, and so of the device's counters of the new peer,
# which come in the same report.
new_handshake() {
	local t
	t=$(handshake "$1" "$2")
	echo "latest handshake $t, before $3"
	[ "$t" != null ] && [ "$t" -gt "$3" ]
}

# service_cmd HOST: the ExecStart= of wgmeshd-metrics.service, with this
# wgmeshctl and the lab's directory in place of node_exporter's, on HOST.
service_cmd() {
	local cmd
	cmd=$(sed -n 's/^ExecStart=//p' "$LAB_REPO/wgmeshd/wgmeshd-metrics.service")
	cmd=${cmd//\/var\/lib\/prometheus\/node-exporter/$MDIR}
	cmd=${cmd//@SBINDIR@\/wgmeshctl/$WGMESHCTL}
	# shellcheck disable=SC2086
	on "$1" $cmd
}

service_cmd_fails() {
	! service_cmd "$1" 2>/dev/null
}

# prom_file_ok: the file passes promtool, and is alone in its directory.
prom_file_ok() {
	promtool check metrics <"$MDIR/wgmeshd.prom" &&
	    [ "$(ls "$MDIR")" = wgmeshd.prom ] &&
	    [ "$(stat -c %a "$MDIR/wgmeshd.prom")" = 644 ]
}

# bulk FROM TO: a hundred 1200-byte pings through the tunnel, so that the
# totals before a remake are well above what the new peer counts soon
# after it.
bulk() {
	on "$1" busybox ping -6 -q -c 100 -i 0.01 -s 1200 -W 2 "$(addr6 "$2")" >/dev/null
}

# traffic: pings both ways through the tunnel, so that bytes move.
traffic() {
	ping6 h1 h2 1 >/dev/null && ping6 h2 h1 1 >/dev/null
}

# ------------------------------------------------------------------------
note "two hosts and a peer that never comes"
for h in h1 h2; do
	lab_host "$h" "${ADDR4[$h]}"
	lab_wg_key "$h"
	lab_wggo "$h"
done
PUB[h3]=$(wg genkey | wg pubkey)
write_conf h1 h2 h3
write_conf h2 h1 h3
lab_ctx h1 h2
for h in h1 h2; do
	lab_wgmeshd_start "$h"
done
if ! wait_for 30 pair_up; then
	printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
	die "h1 and h2 are not up within 30 s: the rest needs them"
fi
ok "h1 and h2 up"
check "traffic through the tunnel" traffic

for h in h1 h2; do
	check "$h: show metrics passes promtool check metrics" promtool_ok "$h"
	check "$h: show metrics agrees with show peers/interfaces/counters -j" \
	    agree "$h"
done
check "h1: h3 is not up and has no handshake age" h3_never h1
check "show metrics -j is refused" json_refused h1
check "-o is for show metrics only" o_refused h1

# ------------------------------------------------------------------------
note "h1's peer h2 made anew on the device, as the parent does"
check "h1 sends h2 a hundred 1200-byte pings" bulk h1 h2
rx0=$(total h1 h2 peer_receive_bytes_total)
tx0=$(total h1 h2 peer_transmit_bytes_total)
jrx0=$(ctl h1 -j show peers h2 | jq -r '.peers[0].rx_bytes')
dev0=$(device_rx h1 h2)
hs0=$(handshake h1 h2)
note "before: metrics rx $rx0 tx $tx0, show peers rx $jrx0, device rx $dev0"
ep=$(on h1 wg show "$IFC" endpoints | awk -v k="${PUB[h2]}" '$1 == k { print $2 }')
check "h1: peer h2 removed and added again in one wg set" \
    on h1 wg set "$IFC" peer "${PUB[h2]}" remove \
    peer "${PUB[h2]}" allowed-ips "$(addr6 h2)/64,$(control_addr h2)/128" \
    endpoint "$ep" \
    persistent-keepalive "$KEEPALIVE"
check "the device's counters started again (rx now below $dev0)" \
    test "$(device_rx h1 h2)" -lt "$dev0"
if wait_for 20 ping6 h1 h2 1; then
	ok "h1 and h2 talk again"
else
	bad "h1 cannot ping h2 within 20 s of the remake"
fi
check "traffic after the remake" traffic
check "h1: the engine has heard of the new peer's handshake" \
    wait_for 10 new_handshake h1 h2 "$hs0"
rx1=$(total h1 h2 peer_receive_bytes_total)
tx1=$(total h1 h2 peer_transmit_bytes_total)
jrx1=$(ctl h1 -j show peers h2 | jq -r '.peers[0].rx_bytes')
note "after: metrics rx $rx1 tx $tx1, show peers rx $jrx1, device rx $(device_rx h1 h2)"
check "h1: wgmeshd_peer_receive_bytes_total did not go back" not_less rx "$rx0" "$rx1"
check "h1: wgmeshd_peer_transmit_bytes_total did not go back" not_less tx "$tx0" "$tx1"
check "h1: show peers' rx_bytes did not go back" not_less rx_bytes "$jrx0" "$jrx1"
check "h1: the totals are above the device's own counters" \
    test "$rx1" -gt "$(device_rx h1 h2)"
check "h1: show metrics still passes promtool" promtool_ok h1
check "h1: and agrees with show peers -j" agree h1

# ------------------------------------------------------------------------
note "a reload that removes h3 from h1's peers"
write_conf h1 h2
check "h1: reload" test "$(ctl h1 reload 2>&1)" = "configuration reloaded"
rx2=$(total h1 h2 peer_receive_bytes_total)
tx2=$(total h1 h2 peer_transmit_bytes_total)
check "h1: h2's totals kept across the reload" \
    sh -c "[ '${rx2:-0}' -ge '${rx1:-x}' ] && [ '${tx2:-0}' -ge '${tx1:-x}' ]"
check "h1: h3 is gone from the metrics, the interface has 1 peer" \
    h3_gone h1

# ------------------------------------------------------------------------
note "the metrics service's command writes its file whole"
MDIR=$LAB_DIR/textfile
mkdir -p "$MDIR"
check "the service's command writes wgmeshd.prom" service_cmd h1
check "wgmeshd.prom passes promtool, no temporary file left" prom_file_ok
cp "$MDIR/wgmeshd.prom" "$LAB_DIR/prom.before"
stop_pid "${LAB_DAEMON[h1]}" TERM 10
check "without a daemon the command fails" service_cmd_fails h1
check "and leaves the old file as it was, and nothing else" \
    sh -c "cmp '$LAB_DIR/prom.before' '$MDIR/wgmeshd.prom' && [ \"\$(ls '$MDIR')\" = wgmeshd.prom ]"

lab_done
