#!/usr/bin/env bash
# Lab test of a full mesh: three hosts with public addresses on one bridge,
# each configured with the others' endpoints, run wgmeshd until every host
# sees every peer up; then pings over the derived IPv6 addresses, the
# wgmeshctl views (text and JSON), a reload that adds a fourth host without
# disturbing the others, a reload of a broken file, a node renamed on one
# side only (a mismatch on both), every node reloaded to a wg-quick style
# file (explicit IPv4 addresses, /32 allowed-ips by hand: up, pings, and a
# /32 typed wrong is a mismatch on both ends), kill -9 of the engine and
# of the storage process (the daemon exits, the tunnels stay, a restart picks
# them up again) and SIGTERM (exit 0, interfaces left as they are).
#
#	regress/lab/mesh.sh [userspace]	wireguard-go, here
#	regress/lab/mesh.sh kernel		kernel WireGuard in the VM of
#					regress/vm/run.sh (77 = skip;
#					under CI=true, no VM fails)
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

MODE=${1:-userspace}
case $MODE in
userspace|kernel) ;;
*)	echo "usage: $0 [userspace|kernel]" >&2; exit 2 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd -P)
. "$HERE/lib.sh"

if [ "$MODE" = kernel ] && [ "${WGMESHD_VM:-}" != 1 ]; then
	# The guest's root is this host's under an overlay of its own: the
	# guest makes what the daemon needs (its user, /var/empty,
	# /etc/wgmeshd) there and the host is left as it is.
	lab_require "$WGMESHD" "$WGMESHCTL"
	exec bash "$LAB_REPO/regress/vm/run.sh" "$HERE/mesh.sh" kernel
fi

IFC=wg0
PORT=51820
KEEPALIVE=25
BACKEND=$MODE
# Deadlines, generous for the VM (about 0.2 s per program start there).
MESH_DEADLINE=30

need=(ip nsenter unshare timeout wg jq busybox sha256sum "$WGMESHD" "$WGMESHCTL")
[ "$MODE" = userspace ] && need+=(wireguard-go)
lab_require "${need[@]}"
lab_prepare
lab_init

# In the VM: WireGuard's own account of its handshakes (dynamic debug, no
# rate limit), shown when a check about handshakes fails.
KLOG=
if [ "$MODE" = kernel ]; then
	modprobe wireguard 2>/dev/null
	mountpoint -q /sys/kernel/debug ||
	    mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	if echo 'module wireguard +p' \
	    >/sys/kernel/debug/dynamic_debug/control 2>/dev/null; then
		sysctl -qw net.core.message_cost=0 2>/dev/null
		KLOG=1
	fi
fi
# klog_since UPTIME: WireGuard's kernel messages since then.
klog_since() {
	[ -n "$KLOG" ] || return 0
	dmesg 2>/dev/null | awk -v t="$1" '{
		s = $0; sub(/^\[ */, "", s); sub(/\].*/, "", s)
		if (s + 0 >= t && /wg0/) print }'
}
uptime_now() {
	local u _
	read -r u _ </proc/uptime
	echo "$u"
}
[ "$MODE" = kernel ] && note "kernel $(uname -r)"

declare -A ADDR4=() PUB=() MONITOR=()

# write_conf HOST PEER...: HOST's configuration, with a peer block (public
# key, configured endpoint) for each PEER.  h3 has no "name" line: its node
# name is its host name.  No state directory: the daemon's default.
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
		[ "$h" = h3 ] || echo "	name \"$h\""
		echo "	listen-port $PORT"
		conf_peers "${peers[@]}"
		echo "}"
	} | conf_put "$h"
}

# all_peers_up N HOST...: every HOST reports N peers, all "up".  Prints each
# host's view, for the log of a failed wait; 99 if a daemon has ended.
all_peers_up() {
	local n=$1 h j rc=0
	shift
	for h in "$@"; do
		if ! alive "${LAB_DAEMON[$h]:-}"; then
			echo "$h: wgmeshd is not running"
			return 99
		fi
		j=$(ctl "$h" -j show peers 2>&1) || { echo "$h: wgmeshctl failed: $j"; rc=1; continue; }
		# one jq per host: a program start costs 0.2 s in the VM
		j=$(jq -r --argjson n "$n" '[.peers[] | "\(.name)=\(.state)"] +
		    [if (.peers | length) == $n and all(.peers[]; .state == "up")
		    then "(all up)" else "(not yet)" end] | join(" ")' <<<"$j" 2>&1)
		echo "$h: $j"
		[[ $j == *"(all up)" ]] || rc=1
	done
	return $rc
}

# four_up SECONDS START_US WHAT TIMING: every pair of h1..h4 up within
# SECONDS: "ok WHAT" and the time since START_US as TIMING; or "FAIL WHAT"
# and each host's view.
four_up() {
	if wait_for "$1" all_peers_up 3 h1 h2 h3 h4; then
		ok "$3"
		timing "$4" "$(($(now_us) - $2))"
	else
		bad "$3 (not within $1 s)"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
	fi
}

# handshake_times START_US HOST...: when each pair's latest handshake
# happened, in seconds after START_US (wgmeshctl's 1 s resolution), the
# slowest pair last.
handshake_times() {
	local start=$(($1 / 1000000)) h
	shift
	for h in "$@"; do
		ctl "$h" -j show peers | jq -r --arg h "$h" --argjson s "$start" \
		    '.peers[] | select(.name > $h) | "\($h)-\(.name) +\(.latest_handshake - $s)"'
	done | sort -t+ -k2n | tr '\n' ' '
}

# ping_all HOST...: every ordered pair.
ping_all() {
	local a b rc=0
	for a in "$@"; do
		for b in "$@"; do
			[ "$a" = "$b" ] && continue
			ping6 "$a" "$b" 2 || rc=1
		done
	done
	return $rc
}

# wg_peers HOST: how many peers HOST's device has.
wg_peers() {
	on "$1" wg show "$IFC" peers | grep -c .
}

# wg_handshakes HOST: "PUBKEY EPOCH" per peer, sorted.
wg_handshakes() {
	on "$1" wg show "$IFC" latest-handshakes | sort
}

# wg_rx HOST: "PUBKEY RX" per peer, sorted.
wg_rx() {
	on "$1" wg show "$IFC" transfer | awk '{ print $1, $2 }' | sort
}

# rx_not_reset BEFORE AFTER: no peer's received bytes went down (they are
# zeroed when a peer is removed and added again).
rx_not_reset() {
	awk 'NR == FNR { b[$1] = $2; next }
	    ($1 in b) && $2 < b[$1] { print "rx of " $1 " went from " b[$1] " to " $2; bad = 1 }
	    END { exit bad }' <(echo "$1") <(echo "$2")
}

# same_handshakes BEFORE AFTER: the latest handshakes are the ones from
# before, unless they were old enough for a regular rekey (120 s).
same_handshakes() {
	local now
	now=$(date +%s)
	awk -v now="$now" 'NR == FNR { b[$1] = $2; next }
	    ($1 in b) && $2 != b[$1] && now - b[$1] < 110 {
		print "handshake with " $1 " renewed: " b[$1] " -> " $2; bad = 1 }
	    END { exit bad }' <(echo "$1") <(echo "$2")
}

# peers_problems HOST PEER...: checks HOST's "wgmeshctl -j show peers"
# against what is configured; prints what is wrong.
peers_problems() {
	local h=$1 p exp='{}' j
	shift
	for p in "$@"; do
		exp=$(jq -c --arg n "$p" --arg k "${PUB[$p]:-}" --arg a "$(addr6 "$p")" \
		    --arg e "${ADDR4[$p]}:$PORT" \
		    '. + {($n): {public_key: $k, address: $a, endpoint: $e}}' <<<"$exp")
	done
	j=$(ctl "$h" -j show peers) || { echo "wgmeshctl -j show peers failed: $j"; return 1; }
	jq -r --argjson exp "$exp" --argjson ka "$KEEPALIVE" --arg ifc "$IFC" '
	def want(c; m): if c then empty else m end;
	def num: type == "number";
	want(.status == 0; "status is \(.status)"),
	want(([.peers[].name] | sort) == ($exp | keys);
	    "peers are \([.peers[].name])"),
	(.peers[] | . as $p | ($exp[$p.name] // {}) as $e | "\($p.name): " as $n |
	    want(.interface == $ifc; $n + "interface \(.interface)"),
	    want(.public_key == $e.public_key; $n + "public_key \(.public_key)"),
	    want((.address | tostring | sub("/64$"; "")) == $e.address;
		$n + "address \(.address), want \($e.address)"),
	    # the configured one, or a link-local address on the shared
	    # bridge, found by LAN discovery (the VM has no route for IPv4
	    # broadcast, so only IPv6 discovery works there), or that
	    # address as the device has it when WireGuard followed the
	    # peer there (roaming) before the LAN answer to this node came
	    want((.endpoint == $e.endpoint and .endpoint_source == "config") or
		(.endpoint_source == "lan" and
		(.endpoint | test("^\\[fe80::[0-9a-f:]+%eth0\\]:\($e.endpoint | sub(".*:"; ""))$"))) or
		(.endpoint_source == "device" and
		(.endpoint | test("^\\[fe80::[0-9a-f:]+(%eth0)?\\]:\($e.endpoint | sub(".*:"; ""))$")));
		$n + "endpoint \(.endpoint) (\(.endpoint_source)), want \($e.endpoint) (config) or a link-local one (lan)"),
	    want(.state == "up"; $n + "state \(.state) (\(.reason))"),
	    want((.latest_handshake | num) and .latest_handshake > 0;
		$n + "latest_handshake \(.latest_handshake)"),
	    want(has("handshake_age"); $n + "no handshake_age"),
	    want((.last_rx | num) and .last_rx > 0; $n + "last_rx \(.last_rx)"),
	    want((.up_since | num) and .up_since > 0 and
		.state_since == .up_since and (.flaps | num);
		$n + "up_since \(.up_since), state_since \(.state_since), flaps \(.flaps)"),
	    want((.rx_bytes | num) and .rx_bytes > 0; $n + "rx_bytes \(.rx_bytes)"),
	    want((.tx_bytes | num) and .tx_bytes > 0; $n + "tx_bytes \(.tx_bytes)"),
	    want(.persistent_keepalive == $ka;
		$n + "persistent_keepalive \(.persistent_keepalive)"),
	    want(.reason | type == "string"; $n + "reason \(.reason)"))
	' <<<"$j" 2>&1
}

# iface_problems HOST NPEERS: the same for "wgmeshctl -j show interfaces".
iface_problems() {
	local h=$1 n=$2 j
	j=$(ctl "$h" -j show interfaces) || { echo "wgmeshctl -j show interfaces failed: $j"; return 1; }
	jq -r --arg ifc "$IFC" --arg name "$h" --arg be "$BACKEND" \
	    --arg key "${PUB[$h]:-}" --arg addr "$(addr6 "$h")" \
	    --argjson port "$PORT" --argjson n "$n" --argjson ka "$KEEPALIVE" '
	def want(c; m): if c then empty else m end;
	want(.status == 0; "status is \(.status)"),
	want((.interfaces | length) == 1; "\(.interfaces | length) interfaces"),
	(.interfaces[0] // {} |
	    want(.interface == $ifc; "interface \(.interface)"),
	    want(.name == $name; "name \(.name)"),
	    want(.backend == $be; "backend \(.backend), want \($be)"),
	    want($key == "" or .public_key == $key; "public_key \(.public_key)"),
	    want((.address | tostring | sub("/64$"; "")) == $addr;
		"address \(.address), want \($addr)"),
	    want(.listen_port == $port; "listen_port \(.listen_port)"),
	    want(.persistent_keepalive == $ka;
		"persistent_keepalive \(.persistent_keepalive)"),
	    want(.peers == $n; "peers \(.peers)"),
	    want(.peers_up == $n; "peers_up \(.peers_up)"))
	' <<<"$j" 2>&1
}

# empty_output COMMAND...: COMMAND succeeds and prints nothing (a list of
# problems that should be empty).
empty_output() {
	local out
	out=$("$@" 2>&1) || { printf '%s\n' "$out"; return 1; }
	[ -z "$out" ] || { printf '%s\n' "$out"; return 1; }
}

# peers_text HOST FILTER PEER...: "show peers [FILTER]" prints a table: a
# header line, then one line per PEER whose first two columns are the
# interface and the peer's name.
peers_text() {
	local h=$1 filter=$2 out want got
	shift 2
	# shellcheck disable=SC2086
	out=$(ctl "$h" show peers $filter) || { echo "$out"; return 1; }
	printf '%s\n' "$out"
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	got=$(printf '%s\n' "$out" | awk -v ifc="$IFC" 'NR > 1 && $1 == ifc { print $2 }' | sort | tr '\n' ' ')
	[ "$(printf '%s\n' "$out" | grep -c .)" -eq $(($# + 1)) ] || { echo "want $(($# + 1)) lines"; return 1; }
	[ "$got" = "$want" ] || { echo "peers in the table: '$got', want '$want'"; return 1; }
	# the header names the columns: it is not a peer
	printf '%s\n' "$out" | head -n 1 | awk -v ifc="$IFC" '$1 == ifc { exit 1 }' ||
	    { echo "no header line"; return 1; }
}

# nopeer_none HOST: HOST's engine counted nothing as from no peer (before
# rx_poke and rx_own, each node's pokes and own beacons were).
nopeer_none() {
	local out
	out=$(ctl "$1" -j show counters) || { echo "$out"; return 1; }
	jq -e '.counters.gossip.drop_nopeer == 0 and
	    .counters.lan.drop_nopeer == 0' \
	    <<<"$out" >/dev/null || { echo "$out"; return 1; }
}

# nv_ok HOST PEER...: "wgmeshd -n -v" shows HOST's derived address and
# public key and each PEER's derived address.
nv_ok() {
	local h=$1 out p a
	shift
	out=$(on "$h" "$WGMESHD" -n -v -f "$(lab_conf "$h")" 2>&1) || { echo "$out"; return 1; }
	a=$(addr6 "$h")
	printf '%s\n' "$out" | grep -Eq "^[[:space:]]*address auto[[:space:]]+# $a/64\$" ||
	    { echo "no 'address auto  # $a/64'"; echo "$out"; return 1; }
	if [ -n "${PUB[$h]:-}" ]; then
		printf '%s\n' "$out" | grep -qF "${PUB[$h]:-}" ||
		    { echo "public key ${PUB[$h]:-} not shown"; echo "$out"; return 1; }
	fi
	for p in "$@"; do
		printf '%s\n' "$out" | grep -Eq "# address: $(addr6 "$p")/64\$" ||
		    { echo "peer $p: no '# address: $(addr6 "$p")/64'"; echo "$out"; return 1; }
	done
}

# self_ok HOST: "show self" is a peer block naming HOST, with its key.
self_ok() {
	local out
	out=$(ctl "$1" show self) || { echo "$out"; return 1; }
	printf '%s\n' "$out"
	printf '%s\n' "$out" | grep -qF "peer \"$1\"" &&
	    printf '%s\n' "$out" | grep -qF "${PUB[$1]:-}"
}

# ifaces_text HOST: the text table: a header, then IFC with its backend.
ifaces_text() {
	local out
	out=$(ctl "$1" show interfaces) || { echo "$out"; return 1; }
	printf '%s\n' "$out"
	[ "$(printf '%s\n' "$out" | grep -c .)" -eq 2 ] &&
	    printf '%s\n' "$out" | tail -n 1 | grep -w "$IFC" | grep -qw "$BACKEND"
}

# json_ok HOST ARGS...: "wgmeshctl -j ARGS" prints JSON with status 0.
json_ok() {
	local h=$1
	shift
	ctl "$h" -j "$@" | jq -e '.status == 0'
}

# json_one_peer HOST PEER: "-j show peers PEER" lists that peer only.
json_one_peer() {
	ctl "$1" -j show peers "$2" |
	    jq -e --arg p "$2" '.status == 0 and [.peers[].name] == [$p]'
}

# unknown_peer HOST: "show peers NAME" of a name that is no peer fails.
unknown_peer() {
	local err rc
	err=$(ctl "$1" show peers no-such-peer 2>&1 >/dev/null)
	rc=$?
	echo "exit $rc: $err"
	[ "$rc" -eq 1 ] && [ -n "$err" ]
}

# handshake_of HOST PEER: HOST's latest handshake with PEER, as wgmeshctl
# reports it.
handshake_of() {
	ctl "$1" -j show peers "$2" |
	    jq -r --arg p "$2" '.peers[] | select(.name == $p) | .latest_handshake'
}

# log_levels HOST: "log verbose" and "log brief" are accepted.
log_levels() {
	ctl "$1" log verbose && ctl "$1" log brief
}

# no_daemon: wgmeshctl on a socket nobody listens on exits 1 and says why.
no_daemon() {
	local err rc
	err=$(timeout 10 "$WGMESHCTL" -s "$LAB_DIR/no.sock" show peers 2>&1 >/dev/null)
	rc=$?
	echo "exit $rc: $err"
	[ "$rc" -eq 1 ] && [ -n "$err" ]
}

# ping_with NEW HOST...: NEW and each HOST ping each other.
ping_with() {
	local n=$1 x
	shift
	for x in "$@"; do
		ping6 "$n" "$x" 2 && ping6 "$x" "$n" 2 || return 1
	done
}

# log_grep HOST SIZE REGEX: HOST's log has a line matching REGEX after
# SIZE bytes.
log_grep() {
	log_since "$1" "$2" | grep -E "$3"
}

# all_dead PID...: none of the processes runs.
all_dead() {
	local p
	for p in "$@"; do
		alive "$p" && { echo "pid $p runs: $(cmdline "$p")"; return 1; }
	done
	return 0
}

# ------------------------------------------------------------------------
note "three hosts, $MODE WireGuard"
HOSTS=(h1 h2 h3)
i=1
for h in h1 h2 h3 h4; do
	ADDR4[$h]=198.18.0.$i
	i=$((i + 1))
done
for h in "${HOSTS[@]}"; do
	lab_host "$h" "${ADDR4[$h]}"
	# h1..h3 get keys made beforehand; h4's is made by wgmeshd
	lab_wg_key "$h"
	[ "$MODE" = userspace ] && lab_wggo "$h"
done
check "underlay: h1 reaches h2 and h3" \
    on h1 sh -c "busybox ping -c 1 -W 2 ${ADDR4[h2]} && busybox ping -c 1 -W 2 ${ADDR4[h3]}"
for h in "${HOSTS[@]}"; do
	# shellcheck disable=SC2046
	write_conf "$h" $(others "$h" "${HOSTS[@]}")
	# shellcheck disable=SC2046
	check "$h: wgmeshd -n -v shows the derived addresses and the key" \
	    nv_ok "$h" $(others "$h" "${HOSTS[@]}")
done

if [ "$MODE" = kernel ]; then
	check "no $IFC before wgmeshd starts (it must create the links)" \
	    sh -c "! ip -n $LAB_PREFIX-h1 link show dev $IFC"
fi

lab_ctx "${HOSTS[@]}"
t0=$(now_us)
for h in "${HOSTS[@]}"; do
	lab_wgmeshd_start "$h"
done
if wait_for "$MESH_DEADLINE" all_peers_up 2 "${HOSTS[@]}"; then
	ok "full mesh of 3 within $MESH_DEADLINE s"
	timing "time to full mesh (3 hosts)" "$(($(now_us) - t0))"
	note "latest handshakes (s after the start): $(handshake_times "$t0" "${HOSTS[@]}")"
else
	bad "no full mesh of 3 within $MESH_DEADLINE s"
	printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
	for h in "${HOSTS[@]}"; do
		alive "${LAB_DAEMON[$h]:-}" || echo "     $h: wgmeshd is not running"
		on "$h" wg show "$IFC" 2>&1 | sed "s/^/     $h: /"
	done
	die "giving up: the rest needs the mesh"
fi

check "ping every pair over the derived addresses" ping_all "${HOSTS[@]}"
# a healthy mesh drops nothing as "from no peer": the pokes that start
# handshakes and a node's own LAN beacons have counters of their own
for h in "${HOSTS[@]}"; do
	check "$h: no drop_nopeer on a healthy mesh (pokes, own beacons)" \
	    nopeer_none "$h"
done
# each change of a peer's state is logged once: up once, and once more
# after each time it went down.  A peer that went down on this healthy
# mesh is said loudly (its lines in the log), not failed: the logging is
# what is checked here; a flap has its own counter (show peers -j).
# up_logged_once HOST PEER: PEER's "up at" lines in HOST's log are one
# more than its "down" lines; the lines about PEER when they are not.
up_logged_once() {
	local f ups downs
	f=$(lab_log "$1")
	ups=$(grep -c ": peer $2: up at " "$f")
	downs=$(grep -c ": peer $2: down, " "$f")
	[ "$ups" -eq $((downs + 1)) ] && return 0
	echo "$1: $ups 'up at' lines for $2, $downs 'down' lines:"
	grep ": peer $2: " "$f"
	return 1
}
for p in h2 h3; do
	check "h1: its log says once that $p is up (and once for each time it came back)" \
	    up_logged_once h1 "$p"
	if grep -q ": peer $p: down, " "$(lab_log h1)"; then
		note "NOTE h1 saw $p go down on a healthy mesh; its lines:"
		grep ": peer $p: " "$(lab_log h1)" | sed 's/^/     /'
	fi
done

for h in "${HOSTS[@]}"; do
	lab_ctx "$h"
	check "$h: the device has 2 peers" test "$(wg_peers "$h")" -eq 2
	check "$h: the device has the node's key and listen port" \
	    test "$(on "$h" sh -c "wg show $IFC private-key | wg pubkey; wg show $IFC listen-port" |
	    tr '\n' ' ')" = "${PUB[$h]:-} $PORT "
	check "$h: $IFC has its derived address and is up" \
	    on "$h" sh -c "ip -6 addr show dev $IFC | grep -qF ' $(addr6 "$h")/64 ' &&
	    ip link show dev $IFC | grep -q '[<,]UP[,>]'"
	if [ "$MODE" = kernel ]; then
		check "$h: $IFC is a kernel wireguard link" \
		    on "$h" sh -c "ip -d link show dev $IFC | grep -qw wireguard"
	fi
	check "$h: the route to a peer's /64 goes through $IFC" \
	    on "$h" sh -c "ip -6 route get $(addr6 "$(others "$h" "${HOSTS[@]}" | cut -d' ' -f1)") | grep -q 'dev $IFC'"
	# shellcheck disable=SC2046
	check "$h: show peers -j: names, keys, addresses, endpoints, state" \
	    empty_output peers_problems "$h" $(others "$h" "${HOSTS[@]}")
	check "$h: show interfaces -j: backend $BACKEND, key, address, counts" \
	    empty_output iface_problems "$h" 2
	check "$h: show self names the node and its key" self_ok "$h"
done
lab_ctx h1
check "h1: show peers: a header and one line per peer" peers_text h1 "" h2 h3
check "h1: show peers h3: a header and that peer" peers_text h1 h3 h3
check "h1: show peers -j h3: that peer only" json_one_peer h1 h3
check "h1: show peers of an unknown name: exit 1 and a message" unknown_peer h1
check "h1: show interfaces: a header and $IFC with its backend" ifaces_text h1
check "h1: show self -j is valid JSON with status 0" json_ok h1 show self
check "h1: log verbose, log brief" log_levels h1
check "wgmeshctl without a daemon at the socket: exit 1 and a message" no_daemon

# ------------------------------------------------------------------------
note "a fourth host, added by reloading the others"
lab_ctx h1 h2 h3 h4
lab_host h4 "${ADDR4[h4]}"
[ "$MODE" = userspace ] && lab_wggo h4
write_conf h4 h1 h2 h3
lab_wgmeshd_start h4
if wait_for 10 ctl h4 show interfaces; then
	PUB[h4]=$(ctl h4 -j show interfaces | jq -r '.interfaces[0].public_key')
	ok "h4: wgmeshd runs with a private key it created"
else
	bad "h4: wgmeshd does not answer: $WAIT_OUT"
fi
check "h4: the key file was created, mode 0600, with the key shown" \
    on h4 sh -c "[ \"\$(stat -c %a /etc/wgmeshd/$IFC.key)\" = 600 ] &&
    [ \"\$(wg pubkey </etc/wgmeshd/$IFC.key)\" = '${PUB[h4]:-}' ]"

# wgmeshctl monitor on h1, text and JSON, sees h4 come up: one line each
for f in txt json; do
	j=; [ "$f" = json ] && j=-j
	# shellcheck disable=SC2086
	on h1 timeout -k 2 120 "$WGMESHCTL" $j monitor \
	    >"$LAB_DIR/h1/monitor.$f" 2>&1 &
	LAB_PIDS+=("$!")
	MONITOR[$f]=$!
done
check "h1: two wgmeshctl monitor clients connected" wait_for 5 sh -c \
    "test \$(nsenter -t ${LAB_HOLDER[h1]} -n -m ss -xp | grep -c '\"wgmeshctl\"') -ge 2"

hs_before=$(handshake_of h1 h2)
rx_before=$(wg_rx h1)
t0=$(now_us)
for h in h1 h2 h3; do
	# shellcheck disable=SC2046
	write_conf "$h" $(others "$h" h1 h2 h3 h4)
	out=$(ctl "$h" reload 2>&1)
	rc=$?
	lab_ctx "$h"
	check "$h: reload adding h4 says 'configuration reloaded'" \
	    test "$rc.$out" = "0.configuration reloaded" || echo "     exit $rc: $out"
done
lab_ctx h1 h2 h3 h4
four_up "$MESH_DEADLINE" "$t0" "full mesh of 4 after the reloads" \
    "time from the reloads to the mesh of 4"
check "h1: monitor says h4 is up, once" wait_for 5 sh -c \
    "test \$(grep -cE '^[0-9TZ:-]+ $IFC h4 up at ' '$LAB_DIR/h1/monitor.txt') -eq 1"
check "h1: monitor -j says h4 is up, one JSON object per line" wait_for 5 sh -c \
    "jq -se '[.[] | select(.peer == \"h4\" and .state == \"up\" and
    .interface == \"$IFC\" and (.time | type) == \"number\")] | length == 1' \
    '$LAB_DIR/h1/monitor.json'"
for f in txt json; do
	stop_pid "${MONITOR[$f]}" TERM 5
done
hs_after=$(handshake_of h1 h2)
check "h1's handshake with h2 was not disturbed by the reload ($hs_before, now $hs_after)" \
    test "$hs_before" = "$hs_after" -a "$hs_before" != null
check "h1's counters for the old peers were not reset" rx_not_reset "$rx_before" "$(wg_rx h1)"
check "h1: the device has 3 peers" test "$(wg_peers h1)" -eq 3
check "ping every pair with h4" ping_with h4 h1 h2 h3
check "h4: show peers -j" empty_output peers_problems h4 h1 h2 h3
check "h2: show peers -j" empty_output peers_problems h2 h1 h3 h4

# ------------------------------------------------------------------------
note "a broken configuration is refused and the running one kept"
lab_ctx h1
conf=$(lab_conf h1)
cp "$conf" "$conf.good"
# a line with an unknown keyword inside the interface block, before its "}"
badline=$(grep -c '' "$conf")
awk -v n="$badline" 'NR == n { print "\tno-such-setting 1" } { print }' \
    "$conf.good" >"$conf.tmp" && chmod 600 "$conf.tmp" && mv -f "$conf.tmp" "$conf"
out=$(ctl h1 reload 2>"$LAB_DIR/h1/reload.err")
rc=$?
err=$(cat "$LAB_DIR/h1/reload.err")
check "h1: reload of a broken file exits 1" test "$rc" -eq 1
check "h1: the error says $conf:$badline:" grep -qF "$conf:$badline:" "$LAB_DIR/h1/reload.err" ||
    echo "     stderr: $err"
check "h1: and not 'configuration reloaded'" test -z "$out"
j=$(ctl h1 -j reload)
check "h1: reload -j of a broken file: status 1, the message in messages" \
    jq -e --arg w "$conf:$badline:" '.status == 1 and any(.messages[]; contains($w))' <<<"$j" ||
    echo "     $j"
check "h1: wgmeshd still runs" alive "${LAB_DAEMON[h1]:-}"
check "h1: peers still up with the old configuration" all_peers_up 3 h1
check "h1: the device still has 3 peers" test "$(wg_peers h1)" -eq 3
mv -f "$conf.good" "$conf"
check "h1: reload of the repaired file" test "$(ctl h1 reload 2>&1)" = "configuration reloaded"

lab_ctx h2
mark=$(log_size h2)
kill -HUP "${LAB_DAEMON[h2]:-}"
check "h2: SIGHUP reloads (a log line about it)" wait_for 5 log_grep h2 "$mark" '[Rr]eload'
check "h2: wgmeshd still runs after SIGHUP" alive "${LAB_DAEMON[h2]:-}"
check "h2: peers still up after SIGHUP" wait_for 5 all_peers_up 3 h2

# ------------------------------------------------------------------------
note "a node renamed on its own side only: a mismatch on both sides, not up"
# h2 calls itself "alice"; h1, h3 and h4 still route the /64 derived from
# "h2" to it, so nothing passes between the names although every handshake
# works.  Both ends must say so (identity.c), and a reload of the mended
# file must bring every pair up again.
# peer_state HOST PEER: "STATE|REASON" of PEER in HOST's show peers -j.
peer_state() {
	ctl "$1" -j show peers | jq -r --arg p "$2" \
	    '.peers[] | select(.name == $p) | "\(.state)|\(.reason)"'
}
# state_is HOST PEER STATE TEXT: PEER's state is STATE, its reason has TEXT.
state_is() {
	local s
	s=$(peer_state "$1" "$2")
	echo "$1 sees $2: $s"
	[[ $s == "$3|"*"$4"* ]]
}
conf=$(lab_conf h2)
cp "$conf" "$conf.good"
sed 's/^\tname "h2"$/\tname "alice"/' "$conf.good" >"$conf.tmp" &&
    chmod 600 "$conf.tmp" && mv -f "$conf.tmp" "$conf"
mark1=$(log_size h1)
check "h2 renamed alice: reload" test "$(ctl h2 reload 2>&1)" = "configuration reloaded"
t0=$(now_us)
check "h1 shows h2 as a mismatch: it calls itself alice" \
    wait_for 10 state_is h1 h2 mismatch 'calls itself "alice", named "h2" here: make the names agree' ||
    { ctl h1 show peers; ctl h1 show counters; ctl h2 show counters; } 2>&1 | sed 's/^/     /'
timing "rename to a mismatch shown on the other side" "$(($(now_us) - t0))"
check "h3 too" wait_for 10 state_is h3 h2 mismatch 'calls itself "alice"' ||
    peer_state h3 h2 | sed 's/^/     /'
check "h2 shows h1 as a mismatch: it knows h2 by another name" \
    wait_for 10 state_is h2 h1 mismatch 'knows this node as "h2", not "alice": make the names agree' ||
    peer_state h2 h1 | sed 's/^/     /'
check "h2: every peer a mismatch, none up" \
    test "$(ctl h2 -j show peers | jq '[.peers[] | select(.state == "mismatch")] | length')" -eq 3
check "h2: show interfaces counts none up" \
    test "$(ctl h2 -j show interfaces | jq '.interfaces[0].peers_up')" -eq 0 ||
    ctl h2 -j show interfaces | sed 's/^/     /'
text_mismatch() { ctl h1 show peers | grep -qE '^wg0 +h2 +mismatch .*make the names agree$'; }
check "h1: show peers (text) says mismatch and the fix" text_mismatch ||
    ctl h1 show peers | sed 's/^/     /'
no_ping() { ! ping6 h1 h2 1 >/dev/null; }
check "h1: traffic to the address it knows for h2 is lost indeed" no_ping
check "h1: logged once: peer h2 ... mismatch" \
    test "$(log_since h1 "$mark1" | grep -c 'peer h2: .*mismatch: calls itself "alice"')" -eq 1 ||
    log_since h1 "$mark1" | sed 's/^/     /'
mv -f "$conf.good" "$conf"
check "h2 named h2 again: reload" test "$(ctl h2 reload 2>&1)" = "configuration reloaded"
t0=$(now_us)
four_up 15 "$t0" "the mended file: every pair up again" \
    "mended name to every pair up"

# ------------------------------------------------------------------------
note "wg-quick style on every node: explicit IPv4 addresses, /32 allowed-ips by hand"
# What a wg-quick user writes: "address 198.19.0.N/24" and no derived
# address; each peer routed as one /32 and nothing else.  Gossip goes
# between the control addresses, which every peer's allowed-ips gets on
# the device besides these (conf.c), so the mesh works as with derived
# addresses and the identities (identity.c) check the explicit ones: a
# /32 typed wrong on one node is a mismatch on both ends of that pair.
declare -A V4=([h1]=198.19.0.1 [h2]=198.19.0.2 [h3]=198.19.0.3 [h4]=198.19.0.4)
# write_conf_wgq HOST [WRONG]: HOST's file, wg-quick style; with WRONG,
# its peer h1 is routed 198.19.0.11/32 instead of h1's address.
write_conf_wgq() {
	local h=$1 wrong=${2:-} p a
	{
		echo "# lab $LAB_PREFIX, host $h, wg-quick style"
		echo "interface $IFC {"
		[ "$h" = h3 ] || echo "	name \"$h\""
		echo "	listen-port $PORT"
		echo "	address \"${V4[$h]}/24\""
		for p in $(others "$h" h1 h2 h3 h4); do
			a=${V4[$p]}
			[ -n "$wrong" ] && [ "$p" = h1 ] && a=198.19.0.11
			echo "	peer \"$p\" {"
			echo "		public-key \"${PUB[$p]:-}\""
			echo "		endpoint \"${ADDR4[$p]}:$PORT\""
			echo "		allowed-ips \"$a/32\""
			echo "	}"
		done
		echo "}"
	} | conf_put "$h"
}
# ping4_all HOST...: every HOST pings every other at its explicit address.
ping4_all() {
	local a b rc=0
	for a in "$@"; do
		for b in "$@"; do
			[ "$a" = "$b" ] && continue
			on "$a" busybox ping -c 1 -W 2 "${V4[$b]}" >/dev/null 2>&1 ||
			    on "$a" busybox ping -c 1 -W 2 "${V4[$b]}" >/dev/null 2>&1 ||
			    { echo "$a cannot ping $b (${V4[$b]})"; rc=1; }
		done
	done
	return $rc
}
# wgq_device HOST: HOST's wg0 has its /24 and not the derived address,
# and each peer's allowed-ips are its /32 and its control /128 only.
wgq_device() {
	local h=$1 p want got
	on "$h" ip -4 addr show dev $IFC | grep -qF " ${V4[$h]}/24 " ||
	    { echo "$h: no ${V4[$h]}/24 on $IFC"; return 1; }
	! on "$h" ip -6 addr show dev $IFC | grep -qF " $(addr6 "$h")/" ||
	    { echo "$h: the derived address is still on $IFC"; return 1; }
	for p in $(others "$h" h1 h2 h3 h4); do
		want=$(printf '%s\n' "${V4[$p]}/32" "$(control_addr "$p")/128" | sort | tr '\n' ' ')
		got=$(on "$h" wg show $IFC allowed-ips | awk -v k="${PUB[$p]:-}" \
		    '$1 == k { for (i = 2; i <= NF; i++) print $i }' | sort | tr '\n' ' ')
		[ "$got" = "$want" ] || { echo "$h: $p has allowed-ips '$got', not '$want'"; return 1; }
	done
}
for h in h1 h2 h3 h4; do
	cp "$(lab_conf "$h")" "$(lab_conf "$h").derived"
	write_conf_wgq "$h"
	check "$h: the wg-quick style file is valid (wgmeshd -n)" \
	    on "$h" "$WGMESHD" -n -f "$(lab_conf "$h")"
done
for h in h1 h2 h3 h4; do
	check "$h: reload to the wg-quick style file" \
	    test "$(ctl "$h" reload 2>&1)" = "configuration reloaded"
done
t0=$(now_us)
four_up 15 "$t0" "wg-quick style: every pair up, none a mismatch" \
    "wg-quick style files to every pair up"
for h in h1 h2 h3 h4; do
	check "$h: wg0 has its /24, no derived address; each peer its /32 and control /128" \
	    wgq_device "$h"
done
check "wg-quick style: every pair pings at the explicit addresses" \
    ping4_all h1 h2 h3 h4
mark1=$(log_size h1)
mark2=$(log_size h2)
write_conf_wgq h2 wrong
check "h2 routes 198.19.0.11/32, not h1's address, to h1: reload" \
    test "$(ctl h2 reload 2>&1)" = "configuration reloaded"
check "h2 shows h1 as a mismatch: its address is not routed to it here" \
    wait_for 10 state_is h2 h1 mismatch 'its address 198.19.0.1 is not in its allowed-ips here' ||
    peer_state h2 h1 | sed 's/^/     /'
check "h1 shows h2 as a mismatch: our address is not routed to us there" \
    wait_for 10 state_is h1 h2 mismatch 'our address 198.19.0.1 is not in its allowed-ips for us there' ||
    peer_state h1 h2 | sed 's/^/     /'
check "h2: its other peers stay up" \
    test "$(ctl h2 -j show peers | jq -r '[.peers[] | select(.name != "h1") | .state] | join(" ")')" = "up up"
# logged_once HOST MARK TEXT: HOST's log has TEXT once since MARK (the
# engine logs at its next tick, up to a second after the state changed).
logged_once() {
	test "$(log_since "$1" "$2" | grep -c "$3")" -eq 1
}
check "h1: logged once: peer h2 ... mismatch: our address" \
    wait_for 3 logged_once h1 "$mark1" 'peer h2: down, mismatch: our address 198.19.0.1 ' ||
    log_since h1 "$mark1" | sed 's/^/     /'
check "h2: logged once: peer h1 ... mismatch: its address" \
    wait_for 3 logged_once h2 "$mark2" 'peer h1: down, mismatch: its address 198.19.0.1 ' ||
    log_since h2 "$mark2" | sed 's/^/     /'
write_conf_wgq h2
check "h2 mended: reload" test "$(ctl h2 reload 2>&1)" = "configuration reloaded"
check "the mended /32: every pair up again" wait_for 10 all_peers_up 3 h1 h2 h3 h4 ||
    echo "$WAIT_OUT" | sed 's/^/     /'
for h in h1 h2 h3 h4; do
	mv -f "$(lab_conf "$h").derived" "$(lab_conf "$h")"
	check "$h: reload back to derived addresses" \
	    test "$(ctl "$h" reload 2>&1)" = "configuration reloaded"
done
check "derived addresses again: every pair up" wait_for 15 all_peers_up 3 h1 h2 h3 h4 ||
    echo "$WAIT_OUT" | sed 's/^/     /'
check "derived addresses again: every pair pings" ping_all h1 h2 h3 h4
check "h1: the explicit address is gone from wg0" \
    sh -c "! ip -n $LAB_PREFIX-h1 -4 addr show dev $IFC | grep -qF ' ${V4[h1]}/'"
# ------------------------------------------------------------------------
note "kill -9 of the engine, then of the storage process"
lab_ctx h1
for victim in engine storage; do
	read -r engine storage <<<"$(daemon_children h1)"
	if [ "$victim" = engine ]; then
		vpid=$engine other=$storage
	else
		vpid=$storage other=$engine
	fi
	if [ -z "$vpid" ] || [ -z "$other" ]; then
		bad "h1: cannot find the engine (-E) and storage (-S) children of wgmeshd ${LAB_DAEMON[h1]:-}: '$engine' '$storage'"
		children "${LAB_DAEMON[h1]:-}" | while read -r c; do echo "     $c: $(cmdline "$c")"; done
		break
	fi
	dpid=${LAB_DAEMON[h1]:-}
	kmark=$(uptime_now)
	npeers=$(wg_peers h1)
	hs=$(wg_handshakes h1)
	rx=$(wg_rx h1)
	mark=$(log_size h1)
	t0=$(now_us)
	kill -KILL "$vpid"
	if wait_for 10 dead "$dpid"; then
		ok "h1: wgmeshd exits when its $victim is killed"
		timing "exit after kill -9 of the $victim" "$WAITED_US"
		reap "$dpid"
		check "h1: with a non-zero status ($REAPED)" test "$REAPED" -ne 0
	else
		bad "h1: wgmeshd still runs 10 s after its $victim was killed"
		stop_pid "$dpid" KILL 3
		reap "$dpid"
	fi
	check "h1: a log line names the $victim" log_grep h1 "$mark" "^parent: .*$victim" ||
	    log_since h1 "$mark" | tail -n 5 | sed 's/^/     /'
	check "h1: the other child has ended too" wait_for 5 all_dead "$other"
	check "h1: the device keeps its $npeers peers" test "$(wg_peers h1)" -eq "$npeers"
	check "h1: traffic flows without the daemon" ping_with h1 h2 h3

	t0=$(now_us)
	lab_wgmeshd_start h1
	if wait_for 15 all_peers_up 3 h1; then
		ok "h1: restarted wgmeshd sees every peer up"
		timing "restart to all peers up (after the $victim)" "$WAITED_US"
	else
		bad "h1: restarted wgmeshd does not see every peer up within 15 s"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
	fi
	if ! check "h1: the handshakes survived the restart" \
	    same_handshakes "$hs" "$(wg_handshakes h1)"; then
		log_since h1 "$mark" | tail -n 20 | sed 's/^/     /'
		for h in h2 h3 h4; do
			echo "     -- $h ($(on "$h" wg show "$IFC" public-key))"
			tail -n 15 "$LAB_DIR/$h/wgmeshd.log" 2>/dev/null | sed 's/^/     /'
		done
		echo "     -- kernel, since the kill (at $kmark s)"
		klog_since "$kmark" | tail -n 40 | sed 's/^/     /'
	fi
	check "h1: the peers were not replaced (counters kept)" rx_not_reset "$rx" "$(wg_rx h1)"
done

# ------------------------------------------------------------------------
note "SIGTERM: exit 0, the interfaces stay"
for h in h1 h2 h3 h4; do
	lab_ctx "$h"
	pid=${LAB_DAEMON[$h]:-}
	read -r engine storage <<<"$(daemon_children "$h")"
	npeers=$(wg_peers "$h")
	kill -TERM "$pid"
	if wait_for 10 dead "$pid"; then
		reap "$pid"
		check "$h: SIGTERM: wgmeshd exits with status 0 ($REAPED) in $(fmt_us "$WAITED_US")" \
		    test "$REAPED" -eq 0
	else
		bad "$h: wgmeshd still runs 10 s after SIGTERM"
	fi
	# shellcheck disable=SC2086
	check "$h: its children ended" wait_for 5 all_dead $engine $storage
	check "$h: $IFC stays, with its $npeers peers" \
	    test "$(wg_peers "$h")" -eq "$npeers" -a "$npeers" -eq 3
done
check "traffic flows with every daemon stopped" ping_with h1 h2 h4

note "timings ($MODE): $LAB_TIMINGS"
lab_done
