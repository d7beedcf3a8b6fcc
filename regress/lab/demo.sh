#!/usr/bin/env bash
# "make demo": a WireGuard mesh of three nodes forming in network
# namespaces.  pub has a public address; alice sits behind the cone NAT
# router nat1, bob behind nat2 (nftables masquerade, unsolicited input
# dropped: lib.sh).  Each node runs wireguard-go and wgmeshd, and only
# pub's endpoint is in the configurations: alice and bob find each other
# through pub and punch through both NATs.  Shows "wgmeshctl show peers"
# on every node once a second while the mesh forms (at most 30 s), the
# time it took, a ping from alice to bob through their tunnel, then
# removes everything (also on Ctrl-C).
#
#	sudo make demo		or, built already: sudo bash regress/lab/demo.sh
#
# Exit status 0 when the mesh formed and the ping went through.
# LAB_KEEP=1 keeps the lab directory (configurations, logs).
#
# DEMO_KEEP=1 (make demo KEEP=1) leaves the mesh running, writes what it
# started to /run/wgmeshd-demo.state and prints commands to try on it;
#	demo.sh on NODE COMMAND...	runs a command on a node, and
#	demo.sh stop			(make demo-stop) tears it down.
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
if [ "$(id -u)" != 0 ]; then
	echo "The demo makes network namespaces, NAT routers and WireGuard"
	echo "interfaces: it needs root.  Run:"
	echo "	sudo make demo"
	exit 1
fi
HERE=$(cd "$(dirname "$0")" && pwd -P)
# A demo left running (DEMO_KEEP=1) is described here, for "stop" and "on".
DEMO_STATE=${DEMO_STATE:-/run/wgmeshd-demo.state}
DEMO_KEEP=${DEMO_KEEP:-0}
case ${1:-} in
stop|on)
	[ -f "$DEMO_STATE" ] || { echo "demo: no demo is running ($DEMO_STATE)"; exit 1; }
	;;
"")
	if [ "$DEMO_KEEP" = 1 ] && [ -f "$DEMO_STATE" ]; then
		echo "demo: a demo is running already; stop it first: make demo-stop"
		exit 1
	fi
	;;
*)
	echo "usage: demo.sh [stop | on NODE COMMAND...]"
	exit 1
	;;
esac

# demo_pid_is PID WORD: PID is still the process the state file names (its
# command line holds WORD), not a later one that got its number.
demo_pid_is() {
	[ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}

# demo_stop: stops what a kept demo left running, by the pids it wrote
# down (daemons, then wireguard-go, then the holders), deletes its
# namespaces and directory.
demo_stop() {
	local kind pid word ns dir i
	# shellcheck disable=SC1090
	. "$DEMO_STATE"
	for kind in DEMO_DAEMONS DEMO_WGGO DEMO_HOLDERS; do
		case $kind in
		DEMO_DAEMONS) word=wgmeshd ;;
		DEMO_WGGO) word=wireguard-go ;;
		*) word=sleep ;;
		esac
		eval "set -- \${$kind}"
		for pid in "$@"; do
			demo_pid_is "$pid" "$word" || continue
			kill -TERM "$pid" 2>/dev/null
			for i in $(seq 50); do
				demo_pid_is "$pid" "$word" || break
				sleep 0.1
			done
			demo_pid_is "$pid" "$word" && kill -KILL "$pid" 2>/dev/null
		done
	done
	for ns in $DEMO_NETNS; do
		ip netns del "$ns" 2>/dev/null || echo "demo: could not delete namespace $ns"
	done
	dir=$DEMO_DIR
	case $dir in /*/wglab-*) rm -rf "$dir" ;; esac
	rm -f "$DEMO_STATE"
	echo "demo stopped: wgmeshd, wireguard-go and the namespaces are gone"
}

# demo_on NODE COMMAND...: COMMAND in NODE's namespaces of a kept demo.
demo_on() {
	local h=$1 pid
	shift
	# shellcheck disable=SC1090
	. "$DEMO_STATE"
	pid=$(printf '%s\n' $DEMO_NODES | sed -n "s/^$h=//p")
	[ -n "$pid" ] || { echo "demo: no node $h (nodes: $DEMO_NODES)"; exit 1; }
	case $1 in wgmeshctl) shift; set -- "$DEMO_WGMESHCTL" "$@" ;; esac
	exec nsenter -t "$pid" -n -m -u -- "$@"
}

case ${1:-} in
stop)	demo_stop; exit 0 ;;
on)	shift; [ $# -ge 2 ] || { echo "usage: demo.sh on NODE COMMAND..."; exit 1; }
	demo_on "$@" ;;
esac

if [ "$DEMO_KEEP" = 1 ]; then
	# the holders outlive this script; the watchdog does not
	LAB_HOLD_SECONDS=${LAB_HOLD_SECONDS:-$((30 * 24 * 3600))}
fi
LAB_TIMEOUT=${LAB_TIMEOUT:-120}
. "$HERE/lib.sh"

IFC=wg0
PORT=51820
DEADLINE=30			# s for the mesh to form
HOSTS=(pub alice bob)
declare -A WAN=() LAN=() PUB=()
WAN[pub]=198.18.0.1
WAN[nat1]=198.18.0.11; LAN[nat1]=198.19.1.1; LAN[alice]=198.19.1.2
WAN[nat2]=198.18.0.12; LAN[nat2]=198.19.2.1; LAN[bob]=198.19.2.2

# say TEXT: a line for the human.
say() {
	printf '%s\n' "$*"
}

# die TEXT: the demo cannot go on (replaces lib.sh's, which counts tests).
die() {
	say "demo: $*" >&2
	exit 1
}

# demo_exit: on every exit: everything stopped and removed.
# shellcheck disable=SC2317
demo_exit() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ "$DEMO_KEEP" = 1 ] && [ "$rc" = 0 ] && demo_keep; then
		exit 0
	fi
	say ""
	say "tearing down: stopping wgmeshd and wireguard-go, deleting the namespaces"
	lab_cleanup
	lab_remove
	say "done."
	exit "$rc"
}

# demo_keep: the mesh stays; what runs is written down for demo_stop,
# and the commands to try are printed.
# shellcheck disable=SC2317
demo_keep() {
	local h c daemons= wggo= holders= nodes=
	for h in "${!LAB_DAEMON[@]}"; do daemons+="${LAB_DAEMON[$h]} "; done
	for h in "${!LAB_WGGO[@]}"; do wggo+="${LAB_WGGO[$h]} "; done
	for h in "${!LAB_HOLDER[@]}"; do
		holders+="${LAB_HOLDER[$h]} "
		nodes+="$h=${LAB_HOLDER[$h]} "
	done
	{
		echo "DEMO_DIR='$LAB_DIR'"
		echo "DEMO_NETNS='${LAB_NETNS[*]}'"
		echo "DEMO_DAEMONS='$daemons'"
		echo "DEMO_WGGO='$wggo'"
		echo "DEMO_HOLDERS='$holders'"
		echo "DEMO_NODES='$nodes'"
		echo "DEMO_WGMESHCTL='$WGMESHCTL'"
	} >"$DEMO_STATE" || return 1
	# the watchdog would end the mesh with this script's time
	if [ -n "$LAB_WATCHDOG" ]; then
		for c in $(children "$LAB_WATCHDOG"); do
			kill -TERM "$c" 2>/dev/null
		done
		kill -TERM "$LAB_WATCHDOG" 2>/dev/null
	fi
	c="sudo $HERE/demo.sh on"
	say ""
	say "The mesh keeps running.  Things to try (NODE: pub, alice or bob):"
	say "  $c alice wgmeshctl show peers"
	say "  $c alice wgmeshctl show interfaces"
	say "  $c bob wgmeshctl -j show peers"
	say "  $c alice busybox ping -6 -c 3 $(address_of alice bob | sed 's,/.*,,')"
	say "  $c pub wg show"
	say "  $c alice wgmeshctl reload"
	say "  less $LAB_DIR/alice/wgmeshd.log"
	say "Tear it down with: sudo make demo-stop"
	return 0
}

# demo_signal SIG: Ctrl-C or the watchdog (LAB_TIMEOUT s).
# shellcheck disable=SC2317
demo_signal() {
	say ""
	say "interrupted (SIG$1)"
	exit 130
}

# write_conf HOST: peers with their public keys; an endpoint for pub only.
# Shown to the user: no lab comment, state directory or gossip port.
write_conf() {
	local h=$1 p
	local -a peers=()
	for p in $(others "$h" "${HOSTS[@]}"); do
		[ "$p" = pub ] && p="pub=${WAN[pub]}:$PORT"
		peers+=("$p")
	done
	{
		echo "interface $IFC {"
		echo "	name \"$h\""
		echo "	listen-port $PORT"
		conf_peers "${peers[@]}"
		echo "}"
	} | conf_put "$h"
}

# tables: "wgmeshctl show peers" on each node, the node's name in front
# and without the interface and the byte counters, to fit a terminal.
tables() {
	local h
	printf '  %-6s %-6s %-11s %-24s %-7s %-10s %s\n' "" PEER STATE \
	    ENDPOINT SOURCE HANDSHAKE NOTE
	for h in "${HOSTS[@]}"; do
		ctl "$h" -j show peers 2>&1 | jq -r '.peers[] | [.name, .state,
		    (.endpoint // "-"), .endpoint_source,
		    (if .handshake_age == null then "never"
		    else "\(.handshake_age)s ago" end),
		    (if .state == "up" then "" else .reason end)] | @tsv' |
		    awk -F '\t' -v h="$h" '{ printf "  %-6s %-6s %-11s %-24s %-7s %-10s %s\n",
		    h, $1, $2, $3, $4, $5, $6 }'
	done
}

# states: "node: peer=state ..." of every node, to tell a change.
states() {
	local h
	for h in "${HOSTS[@]}"; do
		printf '%s: ' "$h"
		ctl "$h" -j show peers 2>/dev/null |
		    jq -r '[.peers[] | "\(.name)=\(.state)@\(.endpoint)"] | join(" ")' 2>/dev/null
	done
}

# all_up: every node sees both others up.
all_up() {
	local h n
	for h in "${HOSTS[@]}"; do
		n=$(ctl "$h" -j show peers 2>/dev/null |
		    jq '[.peers[] | select(.state == "up")] | length' 2>/dev/null)
		[ "${n:-0}" -eq 2 ] || return 1
	done
}

# show_tables MICROSECONDS: the tables after that time since the start,
# or one line if nothing changed since they were shown last.
show_tables() {
	local now
	now=$(states)
	if [ "$now" != "$last" ]; then
		say ""
		say "after $(fmt_us "$1"):"
		tables
		last=$now
	else
		say "after $(fmt_us "$1"): no change"
	fi
}

# address_of HOST PEER: PEER's tunnel address, as HOST's wgmeshd shows it.
address_of() {
	ctl "$1" -j show peers "$2" 2>/dev/null | jq -r '.peers[0].address // empty' 2>/dev/null
}

# ------------------------------------------------------------------------------
lab_require ip nsenter unshare timeout nft wg wireguard-go jq busybox \
    "$WGMESHD" "$WGMESHCTL"
lab_prepare
lab_init >/dev/null
trap demo_exit EXIT
trap 'demo_signal INT' INT
trap 'demo_signal TERM' TERM
trap 'demo_signal HUP' HUP

say "wgmeshd demo: a WireGuard mesh of three nodes, two of them behind NAT"
say ""
say "  pub     ${WAN[pub]}    a public address"
say "  alice   ${LAN[alice]}    behind nat1, a home router (NAT; public address ${WAN[nat1]})"
say "  bob     ${LAN[bob]}    behind nat2, a home router (NAT; public address ${WAN[nat2]})"
say ""
t0=$(now_us)
lab_wan_host pub "${WAN[pub]}"
lab_router nat1 "${WAN[nat1]}" "${LAN[nat1]}" cone
lab_router nat2 "${WAN[nat2]}" "${LAN[nat2]}" cone
lab_nat_host alice nat1 "${LAN[alice]}"
lab_nat_host bob nat2 "${LAN[bob]}"
for h in "${HOSTS[@]}"; do
	lab_wg_key "$h"
	lab_wggo "$h"
done
for h in "${HOSTS[@]}"; do
	write_conf "$h"
done
say "Each node is a network namespace running wireguard-go and wgmeshd"
say "(set up in $(fmt_us "$(($(now_us) - t0))")).  Only pub's address is configured;"
say "alice's wgmeshd.conf:"
say ""
sed 's/^/    /' "$(lab_conf alice)"
say ""
say "Starting wgmeshd on pub, alice and bob; \"wgmeshctl show peers\" on each:"

t0=$(now_us)
for h in "${HOSTS[@]}"; do
	lab_wgmeshd_start "$h"
done
formed=
last=
next=$((t0 + 1000000))
# the tables once a second, the full mesh looked for more often
while :; do
	el=$(($(now_us) - t0))
	for h in "${HOSTS[@]}"; do
		alive "${LAB_DAEMON[$h]}" || die "wgmeshd on $h has stopped; its log: $(tail -n 5 "$(lab_log "$h")")"
	done
	all_up && formed=$el
	if [ -n "$formed" ] || [ "$(now_us)" -ge "$next" ]; then
		show_tables "$el"
		next=$((next + 1000000))
	fi
	[ -n "$formed" ] && break
	[ "$el" -ge $((DEADLINE * 1000000)) ] && break
	sleep "$LAB_STEP"
done

say ""
rc=0
if [ -n "$formed" ]; then
	say "Full mesh after $(fmt_us "$formed"): every node sees both others up."
else
	say "No full mesh after $DEADLINE s (see the NOTE column above)."
	rc=1
fi
e=$(wg_endpoint alice bob)
case ${e%:*} in
"${WAN[nat2]}")	say "alice sends to bob at $e: nat2's public address, not pub's: a direct tunnel." ;;
"")		say "alice has no endpoint for bob." ;;
*)		say "alice sends to bob at $e." ;;
esac

addr=$(address_of alice bob)
addr=${addr%/*}
say ""
say "alice pings bob through their tunnel (${addr:-address unknown}):"
if [ -n "$addr" ] && on alice busybox ping -6 -c 3 -W 2 "$addr" >"$LAB_DIR/ping.out" 2>&1; then
	grep -E 'bytes from|packets' "$LAB_DIR/ping.out" | sed 's/^/    /'
else
	sed 's/^/    /' "$LAB_DIR/ping.out" 2>/dev/null
	say "    no answer"
	rc=1
fi
[ "$rc" -ne 0 ] && [ "${LAB_KEEP:-0}" != 1 ] &&
    say "(LAB_KEEP=1 keeps the configurations and logs of a run)"
exit "$rc"
