# Helpers for the network-namespace lab tests; sourced, not run.
# A lab is a switch (a network namespace with a bridge) and hosts, each a
# network namespace joined to the bridge by a veth pair plus a holder
# process with mount and UTS namespaces of its own, so that every host has
# its own /run (WireGuard UAPI sockets, the control socket), /etc/wgmeshd
# and /var/lib/wgmeshd, and its own host name.  Processes are started in the
# background and recorded by pid; a cleanup on every exit (failure, timeout,
# Ctrl-C) stops them by pid, deletes the namespaces and the lab directory.
# Underlay addresses come from 198.18.0.0/15 only.
#
#	. regress/lab/lib.sh
#	lab_require wg jq ...; lab_prepare; lab_init
#	lab_host h1 198.18.0.1; lab_wggo h1; lab_wgmeshd_start h1
#	check "what" on h1 ...; wait_for 10 CMD...
#	lab_done		# cleanup, "N passed, N failed", exit status
#
# Environment: LAB_TIMEOUT (s, whole lab, default 240), LAB_KEEP=1 keeps the
# lab directory (logs, configurations), LAB_STEP (polling step, default 0.2),
# LAB_NAME (the start of the lab's prefix, which names its namespaces and
# directory; default wl).
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

# Globals set here are read by the sourcing scripts.
# shellcheck disable=SC2034
export LC_ALL=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

LAB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
WGMESHD=${WGMESHD:-$LAB_REPO/wgmeshd/wgmeshd}
WGMESHCTL=${WGMESHCTL:-$LAB_REPO/wgmeshctl/wgmeshctl}
LAB_TIMEOUT=${LAB_TIMEOUT:-240}
LAB_STEP=${LAB_STEP:-0.2}
# wgmeshd's options besides -d -f: verbose logs explain failures.
LAB_WGMESHD_ARGS=${LAB_WGMESHD_ARGS--v}
# The daemon's fixed paths that each host gets a private tmpfs on.
LAB_PRIVATE_DIRS="/etc/wgmeshd /var/lib/wgmeshd"

LAB_PASS=0
LAB_FAIL=0
LAB_DIR=
LAB_PREFIX=
LAB_SW=
LAB_NETNS=()			# namespaces to delete
LAB_HOSTS=()			# host names, in creation order
LAB_PIDS=()			# every process started, in order
LAB_SEEN_CHILDREN=()		# engine and storage pids seen
LAB_WATCHDOG=
LAB_T0=
LAB_CLEANED=0
LAB_SUMMARY=0
LAB_CTX=			# hosts whose logs matter for a failure now
LAB_BLAME=" "			# hosts whose logs are shown at the end
declare -A LAB_HOLDER=()	# host -> holder pid
declare -A LAB_WGGO=()		# host -> wireguard-go pid
declare -A LAB_DAEMON=()	# host -> wgmeshd pid (the latest one)

# --- results --------------------------------------------------------------

ok() {
	LAB_PASS=$((LAB_PASS + 1))
	echo "ok   $*"
}

bad() {
	local h
	LAB_FAIL=$((LAB_FAIL + 1))
	echo "FAIL $*"
	for h in $LAB_CTX; do
		case $LAB_BLAME in *" $h "*) ;; *) LAB_BLAME="$LAB_BLAME$h " ;; esac
	done
}

# lab_ctx HOST...: the hosts whose daemon logs explain a failure from now on.
lab_ctx() {
	LAB_CTX="$*"
}

# check NAME COMMAND...: runs COMMAND and counts the result; shows its
# output when it fails.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
		return 0
	fi
	bad "$name"
	[ -n "$out" ] && printf '%s\n' "$out" | head -n 20 | sed 's/^/     /'
	return 1
}

# note TEXT: an informational line (sections, timings), with the time
# since the lab started.
note() {
	local t=
	[ -n "$LAB_T0" ] && t="[$(fmt_us "$(($(now_us) - LAB_T0))")] "
	echo "---- $t$*"
}

# die TEXT: a failure that makes going on pointless.
die() {
	bad "$*"
	lab_done
	exit 1
}

# lab_done: stops everything, shows the daemon logs that explain the
# failures, removes the lab, prints the summary line (always the last
# line) and returns 0 only if everything passed.
lab_done() {
	local h f
	if [ "$BASHPID" != "$$" ]; then
		# in a subshell: the main shell cleans up
		exit 1
	fi
	lab_cleanup
	if [ "$LAB_SUMMARY" = 0 ]; then
		LAB_SUMMARY=1
		if [ "$LAB_FAIL" -gt 0 ] && [ -n "$LAB_DIR" ]; then
			[ "$LAB_BLAME" = " " ] && LAB_BLAME=" ${LAB_HOSTS[*]} "
			for h in $LAB_BLAME; do
				f=$LAB_DIR/$h/wgmeshd.log
				[ -s "$f" ] || continue
				echo "---- $h: last lines of wgmeshd's log"
				tail -n 25 "$f" | sed 's/^/     /'
			done
		fi
		lab_remove
		echo "$LAB_PASS passed, $LAB_FAIL failed"
	fi
	[ "$LAB_FAIL" -eq 0 ]
}

# --- time and polling -----------------------------------------------------

# now_us: the time in microseconds.
now_us() {
	local t=${EPOCHREALTIME/./}
	echo "$((10#$t))"
}

# fmt_us MICROSECONDS: as "S.mmm s".
fmt_us() {
	printf '%d.%03d s' "$(($1 / 1000000))" "$((($1 / 1000) % 1000))"
}

# shellcheck disable=SC2034
# wait_for SECONDS COMMAND...: runs COMMAND every LAB_STEP until it
# succeeds (0) or SECONDS have passed (1); COMMAND exits 99 to say that
# waiting is hopeless (1 at once).  Leaves the time it took in WAITED_US
# and the last output in WAIT_OUT.
wait_for() {
	local start end rc
	start=$(now_us)
	end=$((start + $1 * 1000000))
	shift
	while :; do
		WAIT_OUT=$("$@" 2>&1)
		rc=$?
		if [ "$rc" -eq 0 ]; then
			WAITED_US=$(($(now_us) - start))
			return 0
		fi
		if [ "$rc" -eq 99 ] || [ "$(now_us)" -ge "$end" ]; then
			WAITED_US=$(($(now_us) - start))
			return 1
		fi
		sleep "$LAB_STEP"
	done
}

# --- processes ------------------------------------------------------------

# alive PID: whether PID runs (a zombie does not).
alive() {
	local s
	read -r s 2>/dev/null <"/proc/$1/stat" || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

dead() {
	! alive "$1"
}

# children PID: the pids of PID's children.
children() {
	cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep .
}

# cmdline PID: the command line, words separated by spaces.
cmdline() {
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null
}

# stop_pid PID SIGNAL SECONDS: signals PID, waits that long for it to end,
# then kills it.  Returns 0 if it ended of the first signal.
stop_pid() {
	local pid=$1
	alive "$pid" || return 0
	kill -"$2" "$pid" 2>/dev/null
	wait_for "$3" dead "$pid" && return 0
	kill -KILL "$pid" 2>/dev/null
	wait_for 3 dead "$pid"
	return 1
}

# shellcheck disable=SC2034
# reap PID: collects the exit status of a child of this shell that has
# ended, into REAPED.
reap() {
	REAPED=0
	wait "$1" 2>/dev/null || REAPED=$?
}

# --- the lab --------------------------------------------------------------

# lab_require COMMAND...: every COMMAND must exist.
lab_require() {
	local c missing=
	for c in "$@"; do
		case $c in
		/*)	[ -x "$c" ] || missing="$missing $c" ;;
		*)	command -v "$c" >/dev/null 2>&1 || missing="$missing $c" ;;
		esac
	done
	[ -z "$missing" ] && return 0
	echo "FAIL missing:$missing (make deps; make)"
	echo "0 passed, 1 failed"
	exit 1
}

# lab_prepare: what wgmeshd needs from the system: root, its user, an
# empty root-owned /var/empty and the mount points of the hosts' private
# directories.  In the kernel VM they are made in the guest's overlay,
# which never reaches the host.
lab_prepare() {
	local d st
	[ "$(id -u)" = 0 ] || { echo "FAIL the lab needs root"; echo "0 passed, 1 failed"; exit 1; }
	if ! getent passwd _wgmeshd >/dev/null; then
		useradd -r -d /var/empty -s /usr/sbin/nologin _wgmeshd 2>&1 || {
			echo "FAIL no user _wgmeshd and useradd failed"
			echo "0 passed, 1 failed"
			exit 1
		}
		echo "---- created the user _wgmeshd"
	fi
	[ -d /var/empty ] || mkdir -m 0755 /var/empty 2>/dev/null
	st=$(stat -c '%u %a' /var/empty 2>/dev/null)
	if [ "$st" != "0 755" ]; then
		echo "FAIL /var/empty must exist, owned by root, mode 0755 (it is: ${st:-missing})"
		echo "0 passed, 1 failed"
		exit 1
	fi
	for d in $LAB_PRIVATE_DIRS; do
		[ -d "$d" ] || mkdir -m 0700 "$d" 2>/dev/null || {
			echo "FAIL $d is missing and cannot be made (a read-only root?)"
			echo "0 passed, 1 failed"
			exit 1
		}
	done
}

lab_signal() {
	trap - INT TERM HUP
	echo "FAIL lab interrupted by SIG$1 (or timed out after $LAB_TIMEOUT s)"
	LAB_FAIL=$((LAB_FAIL + 1))
	LAB_CTX="${LAB_HOSTS[*]}"
	LAB_BLAME=" ${LAB_HOSTS[*]} "
	lab_done
	exit 1
}

lab_exit() {
	local rc=$?
	lab_done || rc=1
	exit "$rc"
}

# lab_init: a new lab with a unique prefix, its directory, the switch, the
# traps and the watchdog.
lab_init() {
	LAB_T0=$(now_us)
	LAB_PREFIX=${LAB_NAME:-wl}$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/wglab-$LAB_PREFIX.XXXXXX") ||
	    die "mktemp"
	trap lab_exit EXIT
	trap 'lab_signal INT' INT
	trap 'lab_signal TERM' TERM
	trap 'lab_signal HUP' HUP
	# The watchdog: a subshell that sends us TERM; stopped by pid.
	( sleep "$LAB_TIMEOUT" && kill -TERM $$ ) </dev/null >/dev/null 2>&1 &
	LAB_WATCHDOG=$!
	LAB_SW=$LAB_PREFIX-sw
	ip netns add "$LAB_SW" || die "ip netns add $LAB_SW"
	LAB_NETNS+=("$LAB_SW")
	ip -n "$LAB_SW" link set lo up &&
	    ip -n "$LAB_SW" link add br0 type bridge &&
	    ip -n "$LAB_SW" link set br0 up || die "switch $LAB_SW: bridge br0"
	note "lab $LAB_PREFIX in $LAB_DIR"
}

# How long a holder keeps its host's namespaces: the lab's whole time, or
# longer for a lab left running (make demo KEEP=1).
LAB_HOLD_SECONDS=${LAB_HOLD_SECONDS:-$((${LAB_TIMEOUT:-240} + 60))}

# The holder: sets the host name, puts private tmpfs on /run (with
# /run/wireguard), /etc/wgmeshd and /var/lib/wgmeshd, says it is ready and
# sleeps; everything "on" the host enters its namespaces.
LAB_HOLDER_SCRIPT='
set -e
hostname "$1"
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 0755 /run/wireguard
for d in $4; do
	mount -t tmpfs -o mode=0700 tmpfs "$d"
done
: >"$2/ready"
exec sleep "$3"
'

# lab_host NAME IPV4: a host on the switch with address IPV4/24 on eth0.
# NAME is short ([a-z0-9], at most 6 characters): it names the switch port.
lab_host() {
	local h=$1 addr=$2 ns=$LAB_PREFIX-$1 d=$LAB_DIR/$1 pid
	case $h in ''|*[!a-z0-9]*) die "lab_host: bad name $h" ;; esac
	[ ${#h} -le 6 ] || die "lab_host: name $h too long"
	mkdir -p "$d" || die "mkdir $d"
	ip netns add "$ns" || die "ip netns add $ns"
	LAB_NETNS+=("$ns")
	LAB_HOSTS+=("$h")
	ip -n "$ns" link set lo up &&
	    ip link add eth0 netns "$ns" type veth peer name "$h" netns "$LAB_SW" &&
	    ip -n "$LAB_SW" link set "$h" master br0 up &&
	    ip -n "$ns" addr add "$addr/24" dev eth0 &&
	    ip -n "$ns" link set eth0 up || die "host $h: underlay"
	ip netns exec "$ns" unshare --mount --uts --propagation private \
	    sh -c "$LAB_HOLDER_SCRIPT" holder "$h" "$d" "$LAB_HOLD_SECONDS" \
	    "$LAB_PRIVATE_DIRS" </dev/null >"$d/holder.log" 2>&1 &
	pid=$!
	LAB_PIDS+=("$pid")
	LAB_HOLDER[$h]=$pid
	wait_for 10 test -e "$d/ready" ||
	    die "host $h: the holder did not start: $(cat "$d/holder.log")"
}

# on HOST COMMAND...: runs COMMAND in HOST's namespaces.  The working
# directory is / there: use absolute paths.
on() {
	local h=$1
	shift
	nsenter -t "${LAB_HOLDER[$h]:?no host $h}" -n -m -u -- "$@"
}

# lab_wggo HOST [IFACE]: starts wireguard-go on HOST (interface wg0) in
# the background and waits for its UAPI socket.
lab_wggo() {
	local h=$1 ifc=${2:-wg0} pid
	WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
	    nsenter -t "${LAB_HOLDER[$h]:?no host $h}" -n -m -u -- wireguard-go -f "$ifc" \
	    </dev/null >>"$LAB_DIR/$h/wireguard-go.log" 2>&1 &
	pid=$!
	LAB_PIDS+=("$pid")
	LAB_WGGO[$h]=$pid
	wait_for 10 on "$h" test -S "/run/wireguard/$ifc.sock" ||
	    die "host $h: wireguard-go $ifc did not start: $(tail -n 5 "$LAB_DIR/$h/wireguard-go.log")"
}

# lab_conf HOST: the path of HOST's wgmeshd.conf (written by the test).
lab_conf() {
	echo "$LAB_DIR/$1/wgmeshd.conf"
}

# lab_log HOST: the path of HOST's wgmeshd log (stderr of every start).
lab_log() {
	echo "$LAB_DIR/$1/wgmeshd.log"
}

# log_size HOST: the log's size now; log_since HOST SIZE: what came after.
log_size() {
	stat -c %s "$(lab_log "$1")" 2>/dev/null || echo 0
}
log_since() {
	tail -c +"$(($2 + 1))" "$(lab_log "$1")" 2>/dev/null
}

# lab_wgmeshd_start HOST [ARGS...]: starts "wgmeshd -d -f CONF
# LAB_WGMESHD_ARGS ARGS" on HOST in the background, stderr appended to its
# log.
lab_wgmeshd_start() {
	local h=$1 pid
	shift
	echo "==== lab: wgmeshd started at $(date +%T.%N)" >>"$(lab_log "$h")"
	# shellcheck disable=SC2086
	nsenter -t "${LAB_HOLDER[$h]:?no host $h}" -n -m -u -- \
	    "$WGMESHD" -d -f "$(lab_conf "$h")" $LAB_WGMESHD_ARGS "$@" \
	    </dev/null >>"$(lab_log "$h")" 2>&1 &
	pid=$!
	LAB_PIDS+=("$pid")
	LAB_DAEMON[$h]=$pid
}

# ctl HOST ARGS...: wgmeshctl on HOST, bounded in time.
ctl() {
	local h=$1
	shift
	on "$h" timeout -k 2 10 "$WGMESHCTL" "$@"
}

# daemon_children HOST: "ENGINE STORAGE" pids of HOST's wgmeshd (by the
# -E and -S on their command lines); remembered for the cleanup.
daemon_children() {
	local c e='' s=''
	for c in $(children "${LAB_DAEMON[$1]:-}"); do
		case " $(cmdline "$c") " in
		*" -E "*) e=$c ;;
		*" -S "*) s=$c ;;
		esac
		LAB_SEEN_CHILDREN+=("$c")
	done
	echo "$e $s"
}

# ns_pids: processes still inside the lab's network namespaces (test -ef
# compares the namespaces' inodes without starting a program per pid).
ns_pids() {
	local ns p
	for p in /proc/[0-9]*; do
		for ns in "${LAB_NETNS[@]}"; do
			if [ "$p/ns/net" -ef "/run/netns/$ns" ]; then
				echo "${p#/proc/}"
				break
			fi
		done
	done
}

# lab_cleanup: stops everything by pid (daemons first, then wireguard-go,
# the holders) and deletes the namespaces.  Processes
# that outlive this in the lab's namespaces are reported and killed.
lab_cleanup() {
	local pid h i left ns c
	[ "$LAB_CLEANED" = 1 ] && return 0
	LAB_CLEANED=1
	trap - INT TERM HUP
	if [ -n "$LAB_WATCHDOG" ]; then
		for c in $(children "$LAB_WATCHDOG"); do
			kill -TERM "$c" 2>/dev/null
		done
		kill -TERM "$LAB_WATCHDOG" 2>/dev/null
		wait "$LAB_WATCHDOG" 2>/dev/null
	fi
	for h in "${!LAB_DAEMON[@]}"; do
		pid=${LAB_DAEMON[$h]}
		alive "$pid" || continue
		daemon_children "$h" >/dev/null
		stop_pid "$pid" TERM 5 ||
		    echo "---- $h: wgmeshd (pid $pid) ignored SIGTERM; killed"
	done
	for pid in "${LAB_SEEN_CHILDREN[@]}"; do
		alive "$pid" || continue
		case $(cmdline "$pid") in *wgmeshd*) ;; *) continue ;; esac
		wait_for 3 dead "$pid" && continue
		bad "cleanup: a wgmeshd child (pid $pid: $(cmdline "$pid")) outlived its parent; killed"
		stop_pid "$pid" TERM 2
	done
	for h in "${!LAB_WGGO[@]}"; do
		stop_pid "${LAB_WGGO[$h]}" TERM 5
	done
	# Anything else left in the hosts' namespaces was started by this lab.
	left=$(ns_pids | grep -vxF -e "$(printf '%s\n' "${LAB_HOLDER[@]}")")
	for pid in $left; do
		alive "$pid" || continue
		echo "---- cleanup: killing leftover pid $pid: $(cmdline "$pid")"
		stop_pid "$pid" TERM 2
	done
	for i in "${!LAB_PIDS[@]}"; do
		alive "${LAB_PIDS[$i]}" && stop_pid "${LAB_PIDS[$i]}" TERM 3
		wait "${LAB_PIDS[$i]}" 2>/dev/null
	done
	for ns in "${LAB_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null ||
		    echo "---- cleanup: could not delete namespace $ns"
	done
	LAB_NETNS=()
}

# lab_remove: removes the lab directory unless LAB_KEEP=1.
lab_remove() {
	[ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ] || return 0
	if [ "${LAB_KEEP:-0}" = 1 ]; then
		echo "---- kept $LAB_DIR"
	else
		rm -rf "$LAB_DIR"
	fi
}

# --- NAT routers ----------------------------------------------------------
# The switch's bridge br0 (made by lab_init) is the WAN, 198.18.0.0/24:
# public hosts (lab_wan_host) and the routers' WAN legs are on it.  Each
# router has a LAN of its own, a bridge "lan-ROUTER" on the switch, e.g.
# 198.19.N.0/24, with the hosts behind it (lab_nat_host).  A router
# masquerades on its WAN interface eth0 (a "cone": the source port is
# kept when free, so the mapping is endpoint-independent in practice), or
# with "masquerade fully-random" (symmetric: a new random port per flow),
# and drops unsolicited input on eth0: only conntrack's established and
# related packets come in, to the router itself or forwarded to its LAN.
#
#	lab_wan_host pub 198.18.0.1
#	lab_router r1 198.18.0.11 198.19.1.1 [cone|symmetric]
#	lab_nat_host a r1 198.19.1.2
#	lab_nat_map r1 198.19.1.2 51820 198.18.0.1 51820	# 198.18.0.11:51820
#	lab_router_wan r1 198.18.0.21				# roaming
#
# Host names in front of routers must not be 6 characters long ending in
# "l": see lab_router.

LAB_WAN_PLEN=24
declare -A LAB_ROUTER_MODE=()	# router -> cone or symmetric
declare -A LAB_ROUTER_WAN=()	# router -> WAN address (IPv4)
declare -A LAB_ROUTER_LAN=()	# router -> LAN address (IPv4, /24)
declare -A LAB_WAN_ADDR=()	# public host -> WAN address (IPv4)
declare -A LAB_NAT_ROUTER=()	# host behind a router -> the router

# lab_bridge NAME: another bridge NAME (at most 15 characters) on the
# switch, for a LAN.
lab_bridge() {
	ip -n "$LAB_SW" link add "$1" type bridge &&
	    ip -n "$LAB_SW" link set dev "$1" up || die "switch: bridge $1"
}

# lab_holder_start HOST: HOST's namespace exists: starts its holder (the
# same as lab_host's) and waits until it is ready.
lab_holder_start() {
	local h=$1 ns=$LAB_PREFIX-$1 d=$LAB_DIR/$1 pid
	ip netns exec "$ns" unshare --mount --uts --propagation private \
	    sh -c "$LAB_HOLDER_SCRIPT" holder "$h" "$d" "$LAB_HOLD_SECONDS" \
	    "$LAB_PRIVATE_DIRS" </dev/null >"$d/holder.log" 2>&1 &
	pid=$!
	LAB_PIDS+=("$pid")
	LAB_HOLDER[$h]=$pid
	wait_for 10 test -e "$d/ready" ||
	    die "host $h: the holder did not start: $(cat "$d/holder.log")"
}

# lab_link HOST IFACE BRIDGE PORT ADDR/PLEN: a veth pair from HOST's IFACE
# to port PORT of the switch's BRIDGE, with that address, up.
lab_link() {
	local ns=$LAB_PREFIX-$1
	ip link add "$2" netns "$ns" type veth peer name "$4" netns "$LAB_SW" &&
	    ip -n "$LAB_SW" link set dev "$4" master "$3" up &&
	    ip -n "$ns" addr add "$5" dev "$2" &&
	    ip -n "$ns" link set dev "$2" up || die "host $1: $2 on $3"
}

# lab_host_on BRIDGE NAME ADDR/PLEN [GATEWAY]: like lab_host, but on the
# switch's BRIDGE, with a prefix length and a default route via GATEWAY.
lab_host_on() {
	local br=$1 h=$2 addr=$3 gw=${4:-} ns=$LAB_PREFIX-$2
	case $h in ''|*[!a-z0-9]*) die "lab_host_on: bad name $h" ;; esac
	[ ${#h} -le 6 ] || die "lab_host_on: name $h too long"
	[ -z "${LAB_HOLDER[$h]:-}" ] || die "lab_host_on: $h exists"
	mkdir -p "$LAB_DIR/$h" || die "mkdir $LAB_DIR/$h"
	ip netns add "$ns" || die "ip netns add $ns"
	LAB_NETNS+=("$ns")
	LAB_HOSTS+=("$h")
	ip -n "$ns" link set dev lo up || die "host $h: lo"
	lab_link "$h" eth0 "$br" "$h" "$addr"
	if [ -n "$gw" ]; then
		ip -n "$ns" route add default via "$gw" dev eth0 ||
		    die "host $h: default route via $gw"
	fi
	lab_holder_start "$h"
}

# lab_wan_host NAME IPV4: a public host on the WAN (the same as lab_host).
lab_wan_host() {
	lab_host_on br0 "$1" "$2/$LAB_WAN_PLEN"
	LAB_WAN_ADDR[$1]=$2
}

# lab_nat_rules IFACE MODE: the router's nftables ruleset (table inet
# labnat) for WAN interface IFACE; MODE cone or symmetric.
lab_nat_rules() {
	local masq=masquerade
	[ "$2" = symmetric ] && masq="masquerade fully-random"
	cat <<-RULES
	table inet labnat {
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			oifname "$1" $masq
		}
		chain input {
			type filter hook input priority filter; policy accept;
			iifname "$1" ct state established,related accept
			iifname "$1" drop
		}
		chain forward {
			type filter hook forward priority filter; policy accept;
			iifname "$1" ct state established,related accept
			iifname "$1" drop
		}
	}
	RULES
}

# lab_router_mode ROUTER cone|symmetric: (re)loads ROUTER's ruleset.
# Mappings that exist stay until conntrack forgets them (30 s unreplied,
# 120 s for a flow seen both ways) or the WAN address changes.
lab_router_mode() {
	local r=$1 mode=${2:-cone}
	case $mode in cone|symmetric) ;; *) die "router $r: bad mode $mode" ;; esac
	{
		on "$r" nft list table inet labnat >/dev/null 2>&1 &&
		    echo "delete table inet labnat"
		lab_nat_rules eth0 "$mode"
	} | on "$r" nft -f - || die "router $r: nftables ($mode)"
	LAB_ROUTER_MODE[$r]=$mode
}

# lab_router NAME WAN_IPV4 LAN_IPV4 [cone|symmetric]: a NAT router, eth0
# on the WAN with WAN_IPV4/24, eth1 on a new LAN bridge lan-NAME with
# LAN_IPV4/24, IPv4 forwarding on, masquerading per MODE (default cone).
# Its LAN port on the switch is "NAMEl".
lab_router() {
	local r=$1 wan=$2 lan=$3 mode=${4:-cone} ns=$LAB_PREFIX-$1
	lab_bridge "lan-$r"
	lab_host_on br0 "$r" "$wan/$LAB_WAN_PLEN"
	lab_link "$r" eth1 "lan-$r" "${r}l" "$lan/24"
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 ||
	    die "router $r: ip_forward"
	LAB_ROUTER_WAN[$r]=$wan
	LAB_ROUTER_LAN[$r]=$lan
	lab_router_mode "$r" "$mode"
}

# lab_nat_host NAME ROUTER IPV4: a host on ROUTER's LAN, IPV4/24, default
# route via the router.
lab_nat_host() {
	[ -n "${LAB_ROUTER_LAN[$2]:-}" ] || die "lab_nat_host: no router $2"
	lab_host_on "lan-$2" "$1" "$3/24" "${LAB_ROUTER_LAN[$2]}"
	LAB_NAT_ROUTER[$1]=$2
}

# lab_router_wan ROUTER IPV4: moves ROUTER's WAN leg to a new address
# (the ISP renumbers it).  Masquerade forgets the mappings made with the
# old address; new flows get the new one.
lab_router_wan() {
	local r=$1 old=${LAB_ROUTER_WAN[$1]:?no router $1} ns=$LAB_PREFIX-$1
	# Delete first: deleting a primary address deletes its secondaries.
	ip -n "$ns" addr del "$old/$LAB_WAN_PLEN" dev eth0 &&
	    ip -n "$ns" addr add "$2/$LAB_WAN_PLEN" dev eth0 ||
	    die "router $r: WAN $old -> $2"
	LAB_ROUTER_WAN[$r]=$2
}

# lab_nat_map ROUTER SRC SPORT DST DPORT: the WAN address and port
# ("ADDR:PORT") that ROUTER maps the UDP flow SRC:SPORT -> DST:DPORT to,
# from its conntrack table; fails if it has none.
lab_nat_map() {
	on "$1" cat /proc/net/nf_conntrack | awk -v s="$2" -v sp="$3" \
	    -v d="$4" -v dp="$5" '
	$3 != "udp" { next }
	{
		n = 0
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "src") n++
			f[n, kv[1]] = kv[2]
		}
		if (f[1, "src"] == s && f[1, "sport"] == sp &&
		    f[1, "dst"] == d && f[1, "dport"] == dp) {
			print f[2, "dst"] ":" f[2, "dport"]
			found = 1
			exit
		}
	}
	END { exit !found }'
}

# --- UPnP -----------------------------------------------------------------
# A router can run miniupnpd, a real UPnP IGD, with its nftables backend:
# table inet filter holds the chains it fills (miniupnpd, for forwarding,
# prerouting_miniupnpd for the DNAT of each mapping, postrouting_miniupnpd)
# and base chains that jump to them; the router's labnat forward chain lets
# a mapped (DNAT-ed) flow in from the WAN, as a home router does for its
# port forwards.  miniupnpd treats the lab's WAN (198.18.0.0/15) as
# reserved and maps nothing from it unless its STUN check finds no NAT in
# front: lab_stun_start runs regress/lab/stun.py on a public host for it.
# The router's own traffic leaves unchanged (its WAN address is its own),
# so that the check passes behind a symmetric router too.
#
#	lab_stun_start pub 198.18.0.1
#	lab_miniupnpd_start r1 198.18.0.1	# after lab_router r1 ...
#	lab_miniupnpd_start r1 198.18.0.1 natpmp	# NAT-PMP and PCP, no UPnP
#	lab_miniupnpd_rules r1			# the mappings' DNAT rules

declare -A LAB_MINIUPNPD=()	# router -> miniupnpd pid
declare -A LAB_STUN=()		# host -> STUN server pid

# lab_stun_start HOST ADDR: a STUN server on ADDR:3478 on HOST, for the
# rest of the lab.
lab_stun_start() {
	local h=$1 pid
	# nsenter itself, not "on" in a subshell: the pid is the server's
	nsenter -t "${LAB_HOLDER[$h]:?no host $h}" -n -m -u -- python3 \
	    "$LAB_REPO/regress/lab/stun.py" "$2" 3478 "$((LAB_TIMEOUT + 30))" \
	    </dev/null >"$LAB_DIR/$h/stun.log" 2>&1 &
	pid=$!
	LAB_PIDS+=("$pid")
	LAB_STUN[$h]=$pid
	wait_for 5 grep -q listening "$LAB_DIR/$h/stun.log" ||
	    die "host $h: the STUN server did not start: $(cat "$LAB_DIR/$h/stun.log")"
}

# lab_miniupnpd_rules ROUTER: the rules miniupnpd made on ROUTER, one a
# line ("udp dport 33723 dnat ip to 198.19.1.2:51820").
lab_miniupnpd_rules() {
	on "$1" nft list chain inet filter prerouting_miniupnpd 2>/dev/null |
	    sed -n 's/^[[:space:]]*\(.*dnat.*\)$/\1/p'
}

# lab_miniupnpd_start ROUTER STUN_ADDR [PROTOCOLS]: the tables, a
# configuration in the lab directory (mappings from the router's LAN only,
# to ports 1024 and up) and miniupnpd in the foreground on ROUTER; waits
# until it serves HTTP (PROTOCOLS upnp, the default) or NAT-PMP and PCP on
# UDP port 5351 (natpmp: UPnP off; all: both) on its LAN address.
# LAB_MINIUPNPD_CONF, if set, is more lines for its configuration.
lab_miniupnpd_start() {
	local r=$1 stun=$2 d=$LAB_DIR/$1 wan=${LAB_ROUTER_WAN[$1]:?no router $1}
	local lan=${LAB_ROUTER_LAN[$1]} pid protos=${3:-upnp}
	local upnp=yes natpmp=no
	case $protos in
	upnp)	;;
	natpmp)	upnp=no natpmp=yes ;;
	all)	natpmp=yes ;;
	*)	die "lab_miniupnpd_start: protocols $protos" ;;
	esac
	{
		echo "insert rule inet labnat forward iifname \"eth0\" ct status dnat accept"
		echo "insert rule inet labnat postrouting ip saddr $wan accept"
		cat <<-RULES
		table inet filter {
			chain forward {
				type filter hook forward priority filter; policy accept;
				jump miniupnpd
			}
			chain miniupnpd {
			}
			chain prerouting {
				type nat hook prerouting priority dstnat; policy accept;
				jump prerouting_miniupnpd
			}
			chain prerouting_miniupnpd {
			}
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				jump postrouting_miniupnpd
			}
			chain postrouting_miniupnpd {
			}
		}
		RULES
	} | on "$r" nft -f - || die "router $r: nftables for miniupnpd"
	cat >"$d/miniupnpd.conf" <<-CONF
	ext_ifname=eth0
	listening_ip=eth1
	http_port=5000
	enable_natpmp=$natpmp
	enable_upnp=$upnp
	secure_mode=yes
	system_uptime=no
	notify_interval=60
	ext_perform_stun=yes
	ext_stun_host=$stun
	ext_stun_port=3478
	uuid=$(cat /proc/sys/kernel/random/uuid)
	upnp_table_name=filter
	upnp_nat_table_name=filter
	upnp_forward_chain=miniupnpd
	upnp_nat_chain=prerouting_miniupnpd
	upnp_nat_postrouting_chain=postrouting_miniupnpd
	${LAB_MINIUPNPD_CONF:-}
	allow 1024-65535 ${lan%.*}.0/24 1024-65535
	deny 0-65535 0.0.0.0/0 0-65535
	CONF
	nsenter -t "${LAB_HOLDER[$r]:?no host $r}" -n -m -u -- \
	    miniupnpd -d -f "$d/miniupnpd.conf" -P "$d/miniupnpd.pid" \
	    </dev/null >"$d/miniupnpd.log" 2>&1 &
	pid=$!
	LAB_PIDS+=("$pid")
	LAB_MINIUPNPD[$r]=$pid
	if [ "$upnp" = yes ]; then
		wait_for 10 sh -c "nsenter -t ${LAB_HOLDER[$r]} -n ss -Htln | grep -q ':5000 '" ||
		    die "router $r: miniupnpd does not listen on port 5000: $(tail -n 5 "$d/miniupnpd.log")"
	fi
	if [ "$natpmp" = yes ]; then
		wait_for 10 sh -c "nsenter -t ${LAB_HOLDER[$r]} -n ss -Huln | grep -q '$lan:5351 '" ||
		    die "router $r: miniupnpd does not listen on $lan:5351: $(tail -n 5 "$d/miniupnpd.log")"
	fi
}

# --- the scenario scripts' helpers ----------------------------------------
# What the NAT, UPnP, mesh and demo scripts share: how they skip, their
# timings, and their views of the mesh (the daemons' through wgmeshctl, the
# devices' through wg), their keys and configurations.  The script sets,
# before it calls them: IFC (the WireGuard interface, e.g. wg0), PUB (an
# associative array, node -> public key), for mesh_conf PORT and GPORT
# (the listen and gossip ports) and, for views, pairs_up, mesh_up and
# learn_overlays, HOSTS (the nodes whose daemons the mesh checks are about).
#
#	lab_prepare; lab_probe; lab_init	# lab_probe may skip
#	lab_wg_key a; write_conf a		# write_conf calls mesh_conf
#	timing "nat: time to full mesh" "$us" nat time_to_mesh_s
#	wait_for 30 mesh_up; learn_overlays; check "a -> b" ping6 a b

LAB_TIMINGS=			# "WHAT S.mmm s, ..." of every timing
declare -A LAB_OVL=()		# node -> overlay address its daemon showed

# skip REASON: the lab cannot run here: a SKIP line, exit 77.
skip() {
	echo "SKIP regress/lab/${0##*/}: $*"
	exit 77
}

# lab_probe: what a NAT lab needs from the kernel, checked before anything
# is made: /dev/net/tun (wireguard-go needs it) and nftables NAT in a new
# network namespace; skips otherwise.
lab_probe() {
	local out
	[ -c /dev/net/tun ] || skip "no /dev/net/tun (wireguard-go needs it)"
	out=$(lab_nat_rules eth0 cone | unshare -n nft -f - 2>&1) ||
	    skip "nftables NAT does not work in a new network namespace: $out"
}

# secs MICROSECONDS: as seconds with three decimals ("S.mmm").
secs() {
	printf '%d.%03d' "$(($1 / 1000000))" "$((($1 / 1000) % 1000))"
}

# timing WHAT MICROSECONDS [SCENARIO METRIC]: a timing line, also kept
# for the summary in LAB_TIMINGS, and a "BENCH SCENARIO METRIC S.mmm" line
# (for regress/bench.sh) when SCENARIO and METRIC are given.
timing() {
	note "$1: $(fmt_us "$2")"
	LAB_TIMINGS="$LAB_TIMINGS${LAB_TIMINGS:+, }$1 $(fmt_us "$2")"
	[ $# -ge 4 ] && echo "BENCH $3 $4 $(secs "$2")"
	return 0
}

# lab_wg_key HOST: HOST's private key made in /etc/wgmeshd/IFC.key (where
# wgmeshd looks for it), its public key in PUB[HOST].
lab_wg_key() {
	on "$1" sh -c "umask 077 && wg genkey >/etc/wgmeshd/$IFC.key" ||
	    die "$1: wg genkey"
	PUB[$1]=$(on "$1" sh -c "wg pubkey </etc/wgmeshd/$IFC.key") ||
	    die "$1: wg pubkey"
}

# check_underlay A B PUBLIC PROBER: two checks: A and B, hosts behind
# routers, ping the public host PUBLIC through them; their routers drop
# PROBER's pings to their WAN addresses (unsolicited input).
check_underlay() {
	local a=$1 b=$2 addr=${LAB_WAN_ADDR[$3]:?no public host $3} p=$4
	local ra=${LAB_NAT_ROUTER[$1]:?no router for $1} rb=${LAB_NAT_ROUTER[$2]:?no router for $2}
	check "underlay: $a and $b reach $3 through their routers" \
	    sh -c "nsenter -t ${LAB_HOLDER[$a]} -n busybox ping -c 1 -W 2 $addr &&
	    nsenter -t ${LAB_HOLDER[$b]} -n busybox ping -c 1 -W 2 $addr"
	check "underlay: $ra and $rb drop unsolicited input on their WAN side" \
	    sh -c "! nsenter -t ${LAB_HOLDER[$p]} -n busybox ping -c 1 -W 1 ${LAB_ROUTER_WAN[$ra]} &&
	    ! nsenter -t ${LAB_HOLDER[$p]} -n busybox ping -c 1 -W 1 ${LAB_ROUTER_WAN[$rb]}"
}

# conf_put HOST: what comes on stdin becomes HOST's wgmeshd.conf (written
# to a temporary file, mode 0600, and renamed: a reload never reads half
# a file).
conf_put() {
	local f
	f=$(lab_conf "$1")
	cat >"$f.tmp" && chmod 600 "$f.tmp" && mv -f "$f.tmp" "$f"
}

# conf_peers PEER[=ENDPOINT]...: a peer block for each PEER, with its
# public key (PUB) and the endpoint, if one is given.
conf_peers() {
	local p
	for p in "$@"; do
		echo "	peer \"${p%%=*}\" {"
		echo "		public-key \"${PUB[${p%%=*}]:-}\""
		[ "$p" = "${p#*=}" ] || echo "		endpoint \"${p#*=}\""
		echo "	}"
	done
}

# mesh_conf HOST OPTIONS PEER[=ENDPOINT]...: HOST's configuration as the
# NAT labs write it: a comment naming the lab and HOST, its own state
# directory in the lab, interface IFC named HOST on PORT with gossip-port
# GPORT and the OPTIONS lines (e.g. "persistent-keepalive 15"; none if
# empty), and conf_peers PEER...
mesh_conf() {
	local h=$1 opts=$2 o
	shift 2
	{
		echo "# lab $LAB_PREFIX, host $h"
		echo "state-directory \"$LAB_DIR/$h/state\""
		echo "interface $IFC {"
		echo "	name \"$h\""
		echo "	listen-port $PORT"
		echo "	gossip-port $GPORT"
		if [ -n "$opts" ]; then
			while IFS= read -r o; do
				echo "	$o"
			done <<<"$opts"
		fi
		conf_peers "$@"
		echo "}"
	} | conf_put "$h"
}

# others HOST NODE...: the NODEs but HOST, separated by spaces.
others() {
	local h=$1 x
	shift
	for x in "$@"; do
		[ "$x" = "$h" ] || printf '%s ' "$x"
	done
}

# addr6 NODE: NODE's derived address on IFC, fd00:h[0:4]:h[4:8]:h[8:12]::1
# of sha256(NODE || IFC), as wgmeshd.conf(5) defines it; used when the
# daemon cannot say.
addr6() {
	local h
	h=$(printf '%s%s' "$1" "$IFC" | sha256sum)
	printf 'fd00:%x:%x:%x::1' "0x${h:0:4}" "0x${h:4:4}" "0x${h:8:4}"
}

# learn_overlays: each HOSTS node's address on the tunnel, as its daemon
# shows it ("show interfaces"), remembered in LAB_OVL.
learn_overlays() {
	local h a
	for h in "${HOSTS[@]}"; do
		[ -n "${LAB_OVL[$h]:-}" ] && continue
		a=$(ctl "$h" -j show interfaces 2>/dev/null |
		    jq -r '.interfaces[0].address // empty' 2>/dev/null)
		[ -n "$a" ] && LAB_OVL[$h]=${a%/*}
	done
}

# overlay NODE: NODE's address on the tunnel (derived until its daemon
# has said).
overlay() {
	echo "${LAB_OVL[$1]:-$(addr6 "$1")}"
}

# control_addr HOST: HOST's control address (common/util.c's
# address_control(): fd00::/64 and the first 8 bytes of SHA-256 of
# "wgmeshd control" and its public key), where its engine's gossip is.
control_addr() {
	/usr/bin/python3 -c 'import base64, hashlib, ipaddress, sys
h = hashlib.sha256(b"wgmeshd control" + base64.b64decode(sys.argv[1])).digest()
print(ipaddress.IPv6Address(bytes([0xfd]) + bytes(7) + h[:8]))' "${PUB[$1]:?no key for $1}"
}

# ping6 FROM TO [WAIT]: FROM pings TO's overlay address through the tunnel
# (three tries of one echo request, WAIT s each, default 1).
ping6() {
	local _ a
	a=$(overlay "$2")
	for _ in 1 2 3; do
		on "$1" busybox ping -6 -c 1 -W "${3:-1}" "$a" >/dev/null 2>&1 && return 0
	done
	echo "$1 cannot ping $2 ($a) through the tunnel"
	return 1
}

# runs HOST: HOST's wgmeshd runs.
runs() {
	[ -n "${LAB_DAEMON[$1]:-}" ] && alive "${LAB_DAEMON[$1]}"
}

# views HOST...: "HOST: peer=state ..." for each HOST; 99 if a daemon
# has ended.
views() {
	local h j
	for h in "$@"; do
		runs "$h" || { echo "$h: wgmeshd is not running"; return 99; }
		j=$(ctl "$h" -j show peers 2>&1) || { echo "$h: wgmeshctl: $j"; continue; }
		echo "$h: $(jq -r '[.peers[] | "\(.name)=\(.state)"] | join(" ")' <<<"$j" 2>&1)"
	done
}

# pairs_up HOST:PEER...: each HOST sees its PEER "up"; prints the views of
# HOSTS (for a failed wait); 99 if a daemon has ended.
pairs_up() {
	local v rc=0 hp
	v=$(views "${HOSTS[@]}") || { echo "$v"; return 99; }
	echo "$v"
	for hp in "$@"; do
		grep -q "^${hp%%:*}: .*\b${hp#*:}=up\b" <<<"$v" || rc=1
	done
	return $rc
}

# mesh_up: every HOSTS node sees every other one up (pairs_up).
mesh_up() {
	local h p
	local -a hp=()
	for h in "${HOSTS[@]}"; do
		for p in "${HOSTS[@]}"; do
			[ "$h" = "$p" ] || hp+=("$h:$p")
		done
	done
	pairs_up "${hp[@]}"
}

# wg_endpoint HOST PEER: HOST's device's endpoint for PEER ("(none)" if
# none).
wg_endpoint() {
	on "$1" wg show "$IFC" endpoints | awk -v k="${PUB[$2]}" '$1 == k { print $2 }'
}

# endpoint_is HOST PEER ENDPOINT: HOST's device uses ENDPOINT for PEER.
endpoint_is() {
	local e
	e=$(wg_endpoint "$1" "$2")
	[ "$e" = "$3" ] || { echo "$1's endpoint for $2 is ${e:-missing}, want $3"; return 1; }
}

# endpoint_at HOST PEER ADDR: the same, any port.
endpoint_at() {
	local e
	e=$(wg_endpoint "$1" "$2")
	[ "${e%:*}" = "$3" ] || { echo "$1's endpoint for $2 is ${e:-missing}, want $3:*"; return 1; }
}

# handshake_on HOST PEER: HOST's device has had a handshake with PEER;
# says so when it has not.
handshake_on() {
	local t
	t=$(on "$1" wg show "$IFC" latest-handshakes | awk -v k="${PUB[$2]}" '$1 == k { print $2 }')
	[ -n "$t" ] && [ "$t" != 0 ] || { echo "$1's device has no handshake with $2"; return 1; }
}
