#!/usr/bin/env bash
# Benchmark "mesh20": twenty nodes, half of them behind two NAT routers,
# that only know one public node's address.
#
#	WAN (198.18.0.0/24, the switch's br0):
#	    p1 .. p10	public hosts, 198.18.0.1 .. 198.18.0.10
#	    r1, r2	cone NAT routers (lib.sh: masquerade, unsolicited WAN
#			input dropped), 198.18.0.11 and 198.18.0.12
#	r1's LAN 198.19.1.0/24: a1 .. a5 (198.19.1.2 .. 198.19.1.6)
#	r2's LAN 198.19.2.0/24: b1 .. b5 (198.19.2.2 .. 198.19.2.6)
#
# Every host is a network namespace with a mount namespace of its own
# (private /run, so /run/wireguard/wg0.sock and /run/wgmeshd.sock, and
# private /etc/wgmeshd), runs wireguard-go and wgmeshd with default
# settings.  Every configuration names all twenty nodes; the only endpoint
# configured anywhere is p1's (on the nineteen others).  The hosts behind
# one router share a LAN and may find each other by LAN discovery; the WAN
# bridge drops LAN beacons (UDP to the gossip port at the limited broadcast
# address or a multicast one), as the Internet would, so the public hosts
# learn about each other by gossip only.
#
# The twenty daemons start at once; the lab polls every host's "wgmeshctl
# -j show peers" (through /proc/HOLDER/root/run/wgmeshd.sock, no process
# entering the namespaces) until every host shows all nineteen peers "up" in
# one round, or MESH20_DEADLINE (90 s) passes.  Then pings through the
# tunnels across the NATs, a steady state window of MESH20_STEADY (30 s,
# one anti-entropy period) for the gossip traffic, and the PSS of a1's
# three wgmeshd processes.
#
#	regress/lab/mesh20.sh			(as root)
#
# Prints
#	BENCH mesh20 time_to_mesh_s S		(the deadline if not reached)
#	BENCH mesh20 pss_parent_kib N		a1's parent, engine, storage
#	BENCH mesh20 pss_engine_kib N
#	BENCH mesh20 pss_storage_kib N
#	BENCH mesh20 gossip_form_bytes_per_node_s N	start to full mesh
#	BENCH mesh20 gossip_steady_bytes_per_node_s N	the steady window
# wgmeshctl shows no gossip counters: the gossip bytes are the lab's own
# nftables counters on each host, IPv6 packets (headers included) that
# leave through wg0 to or from the gossip port, before WireGuard's own
# overhead; LAN beacons and challenges on eth0 are counted apart.
#
# A benchmark, not part of "make check": it takes about 55 s on two
# cores when the mesh forms in about 2 s (12 s to build the lab, the
# formation, 30 s of steady state, pings, 10 s to clean up), up to about
# 2.5 minutes when the deadline passes.  A polling round of the twenty
# hosts takes about 0.3 s there, the resolution of time_to_mesh_s (the end
# of the first round in which all were seen full).  Other labs running
# meanwhile make the timings noisy.  The steady state also reports the
# pairs seen not up in it (a failure).  Ends with "N passed, N failed";
# exit 77 after a SKIP line when the kernel cannot run the lab.  LAB_KEEP=1
# keeps the logs (wgmeshd -v, each line prefixed by the seconds since the
# first start) and configurations; with MESH20_TRACE=1 too, the devices of
# p1 and a1 are dumped every 2 s of the steady state into their wg-dump
# files.  MESH20_DEADLINE and MESH20_STEADY change the 90 s and 30 s.  Its
# namespaces are named m20XXXXXX-*.
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
LAB_TIMEOUT=${LAB_TIMEOUT:-300}
# shellcheck disable=SC2034	# read by lib.sh
LAB_NAME=m20
. "$HERE/lib.sh"

IFC=wg0
PORT=51820
GPORT=1666			# the gossip port (the default)
MESH20_DEADLINE=${MESH20_DEADLINE:-90}	# s from the start to a full mesh
MESH20_STEADY=${MESH20_STEADY:-30}	# s of steady state for the gossip bytes
MESH20_TARGET=5			# s, the goal (wgautomesh: about 64 s)
POLL_SLEEP=0.05			# s between two polling rounds

PUBLIC=(p1 p2 p3 p4 p5 p6 p7 p8 p9 p10)
BEHIND_R1=(a1 a2 a3 a4 a5)
BEHIND_R2=(b1 b2 b3 b4 b5)
NODES=("${PUBLIC[@]}" "${BEHIND_R1[@]}" "${BEHIND_R2[@]}")
SEED=p1				# the one node whose endpoint is configured
PSS_HOST=a1			# whose processes' PSS is shown

declare -A WAN=() LAN=() PUB=() KIND=()
declare -A PAIR_UP=()		# HOST:PEER -> us from the start to first "up"
declare -A HOST_FULL=()		# HOST -> us to its first full view
declare -A STAMP_FD=()		# HOST -> the write end of its log's stamper
WAN[r1]=198.18.0.11; LAN[r1]=198.19.1.1
WAN[r2]=198.18.0.12; LAN[r2]=198.19.2.1
i=1
for h in "${PUBLIC[@]}"; do
	WAN[$h]=198.18.0.$i KIND[$h]=pub
	i=$((i + 1))
done
i=2
for h in "${BEHIND_R1[@]}"; do
	LAN[$h]=198.19.1.$i KIND[$h]=r1
	i=$((i + 1))
done
i=2
for h in "${BEHIND_R2[@]}"; do
	LAN[$h]=198.19.2.$i KIND[$h]=r2
	i=$((i + 1))
done

# --- helpers ----------------------------------------------------------------

# The WAN's filter on the switch: no LAN beacon crosses it (the ports of
# br0, named after the hosts; the routers' LANs are bridges on the switch
# too, and the kernel may lack "meta ibrname").
wan_rules() {
	local ports
	ports=$(printf '"%s", ' "${PUBLIC[@]}" r1 r2)
	ports=${ports%, }
	cat <<-RULES
	table bridge m20wan {
		chain forward {
			type filter hook forward priority filter; policy accept;
			iifname { $ports } ip daddr 255.255.255.255 udp dport $GPORT drop
			iifname { $ports } ip6 daddr ff00::/8 udp dport $GPORT drop
		}
	}
	RULES
}

# Each host's counters of what leaves it: gossip through wg0 (to or from
# the gossip port), LAN discovery on eth0.
count_rules() {
	cat <<-RULES
	table inet m20count {
		counter gossip { }
		counter lan { }
		chain output {
			type filter hook output priority filter; policy accept;
			oifname "$IFC" udp dport $GPORT counter name gossip accept
			oifname "$IFC" udp sport $GPORT counter name gossip accept
			oifname "eth0" udp dport $GPORT counter name lan accept
		}
	}
	RULES
}

# probe: what the kernel must offer, checked before anything is made: the
# namespaces, then lib.sh's lab_probe (/dev/net/tun, nftables NAT), the
# bridge filter and the counters.
probe() {
	local out
	out=$(unshare -n true 2>&1) || skip "cannot make a network namespace: $out"
	out=$(unshare -m --propagation private true 2>&1) ||
	    skip "cannot make a mount namespace: $out"
	lab_probe
	out=$(wan_rules | unshare -n nft -f - 2>&1) ||
	    skip "nftables bridge filtering does not work in a new network namespace: $out"
	out=$(count_rules | unshare -n nft -f - 2>&1) ||
	    skip "nftables counters do not work in a new network namespace: $out"
}

# write_conf HOST: every other node as a peer, only SEED's endpoint, no
# other option (mesh_conf).
write_conf() {
	local h=$1 p
	local -a peers=()
	for p in $(others "$h" "${NODES[@]}"); do
		[ "$p" = "$SEED" ] && p="$p=${WAN[$SEED]}:$PORT"
		peers+=("$p")
	done
	mesh_conf "$h" "" "${peers[@]}"
}

# sock HOST: HOST's control socket, seen from here.
sock() {
	echo "/proc/${LAB_HOLDER[$1]}/root/run/wgmeshd.sock"
}

# stamper HOST: a process that appends what it reads to HOST's log, each
# line prefixed by the seconds since T0 (read from $LAB_DIR/t0 at its first
# line); its pipe's write end in STAMP_FD[HOST], its pid recorded for the
# cleanup.  Started before the daemons so that starting them is quick; it
# ends when the daemon's processes have closed their stderr.
stamper() {
	local h=$1 fd f
	exec {fd}> >(
		trap '' INT
		for f in "${STAMP_FD[@]}"; do
			exec {f}>&-
		done
		t0=
		while IFS= read -r line; do
			[ -n "$t0" ] || read -r t0 <"$LAB_DIR/t0"
			t=${EPOCHREALTIME/./}
			t=$((10#$t - t0))
			printf '%d.%03d %s\n' $((t / 1000000)) $(((t / 1000) % 1000)) "$line"
		done >>"$(lab_log "$h")"
	)
	LAB_PIDS+=("$!")
	STAMP_FD[$h]=$fd
}

# start_daemon HOST: lab_wgmeshd_start, stderr to HOST's stamper.
start_daemon() {
	local h=$1 fd=${STAMP_FD[$1]} f
	(
		for f in "${STAMP_FD[@]}"; do
			[ "$f" = "$fd" ] || exec {f}>&-
		done
		# shellcheck disable=SC2086
		exec nsenter -t "${LAB_HOLDER[$h]:?no host $h}" -n -m -u -- \
		    "$WGMESHD" -d -f "$(lab_conf "$h")" $LAB_WGMESHD_ARGS \
		    </dev/null >&"$fd" 2>&1
	) &
	LAB_PIDS+=("$!")
	LAB_DAEMON[$h]=$!
}

# One polling round, run by bash under timeout(1): every host's "show
# peers" into DIR/HOST, and "HOST MICROSECONDS" when each answered.
# shellcheck disable=SC2016
ROUND_SCRIPT='
ctl=$1 dir=$2
shift 2
for hs in "$@"; do
	"$ctl" -s "${hs#*=}" -j show peers >"$dir/${hs%%=*}" 2>&1
	t=${EPOCHREALTIME/./}
	echo "${hs%%=*} $((10#$t))"
done
'

# poll_round: one round; notes the pairs first seen up and the hosts'
# first full views (times since T0); true if every host sees every peer
# up.  The views stay in $LAB_DIR/poll/HOST.
poll_round() {
	local h a b full=0 dir=$LAB_DIR/poll
	local -a args=()
	local -A at=()
	for h in "${NODES[@]}"; do
		args+=("$h=$(sock "$h")")
	done
	while read -r a b; do
		at[$a]=$((b - T0))
	done < <(timeout -k 1 10 bash -c "$ROUND_SCRIPT" round "$WGMESHCTL" "$dir" "${args[@]}")
	while read -r a b; do
		if [ "$a" = FULL ]; then
			full=$((full + 1))
			[ -n "${HOST_FULL[$b]:-}" ] || HOST_FULL[$b]=${at[$b]:-0}
		elif [ -z "${PAIR_UP[$a]:-}" ]; then
			PAIR_UP[$a]=${at[${a%%:*}]:-0}
		fi
	done < <(cd "$dir" && awk -v want=$((${#NODES[@]} - 1)) '
		FNR == 1 { if (NR > 1 && n == want) print "FULL", h; h = FILENAME; n = 0 }
		match($0, /"name": "[^"]*"/) {
			name = substr($0, RSTART + 9, RLENGTH - 10)
			if ($0 ~ /"state": "up"/) { print h ":" name; n++ }
		}
		END { if (NR > 0 && n == want) print "FULL", h }' "${NODES[@]}" 2>/dev/null)
	[ "$full" -eq "${#NODES[@]}" ]
}

# wait_mesh: polls in rounds until every host shows every peer up in one
# round (true, MESH_US the time of the round's end) or the deadline.
wait_mesh() {
	local end h rounds=0
	end=$((T0 + MESH20_DEADLINE * 1000000))
	mkdir -p "$LAB_DIR/poll" || die "mkdir $LAB_DIR/poll"
	while :; do
		for h in "${NODES[@]}"; do
			runs "$h" || { echo "$h: wgmeshd is not running"; return 1; }
		done
		rounds=$((rounds + 1))
		POLL_ROUNDS=$rounds
		if poll_round; then
			MESH_US=$(($(now_us) - T0))
			return 0
		fi
		[ "$(now_us)" -ge "$end" ] && return 1
		sleep "$POLL_SLEEP"
	done
}

# pending: "HOST -> PEER: state, reason, endpoint (source)" for every
# pair not up in the last round.
pending() {
	local h
	for h in "${NODES[@]}"; do
		jq -r --arg h "$h" '.peers[] | select(.state != "up") |
		    "\($h) -> \(.name): \(.state), \"\(.reason)\", endpoint \(.endpoint // "none") (\(.endpoint_source))"' \
		    "$LAB_DIR/poll/$h" 2>/dev/null ||
		    echo "$h: $(head -c 300 "$LAB_DIR/poll/$h" 2>/dev/null)"
	done
}

# pair_class A B: which kind of pair A-B is.
pair_class() {
	local ka=${KIND[$1]} kb=${KIND[$2]}
	if [ "$ka" = pub ] && [ "$kb" = pub ]; then echo pub-pub
	elif [ "$ka" = pub ] || [ "$kb" = pub ]; then echo pub-nat
	elif [ "$ka" = "$kb" ]; then echo same-lan
	else echo cross-nat
	fi
}

# pair_report: first-up times by kind of pair, and the latest pairs.
pair_report() {
	local k h p c
	for k in "${!PAIR_UP[@]}"; do
		h=${k%%:*} p=${k#*:}
		printf '%s %s %s\n' "${PAIR_UP[$k]}" "$(pair_class "$h" "$p")" "$h->$p"
	done | sort -n >"$LAB_DIR/pairs"
	for c in pub-pub pub-nat same-lan cross-nat; do
		awk -v c="$c" '$2 == c { t[n++] = $1 }
		END {
			if (n == 0) { printf "---- pairs %-9s none up\n", c; exit }
			printf "---- pairs %-9s %3d up, first-up median %.3f s, max %.3f s\n",
			    c, n, t[int(n / 2)] / 1e6, t[n - 1] / 1e6
		}' "$LAB_DIR/pairs"
	done
	echo "---- the 10 pairs seen up last (host->peer, first seen up):"
	tail -n 10 "$LAB_DIR/pairs" | awk '{ printf "     %-8s %-9s %.3f s\n", $3, $2, $1 / 1e6 }'
}

# source_report: how the hosts' endpoints for their peers were learned,
# from the last round.
source_report() {
	local h p src
	for h in "${NODES[@]}"; do
		jq -r '.peers[] | "\(.name) \(.endpoint_source)"' "$LAB_DIR/poll/$h" 2>/dev/null |
		while read -r p src; do
			echo "$(pair_class "$h" "$p") $src"
		done
	done | sort | uniq -c | awk '{ printf "%s%s %s %d", sep, $2, $3, $1; sep = ", " } END { print "" }'
}

# ep_note HOST ADDR:PORT: where ADDR is, seen from HOST.
ep_note() {
	local h=$1 a=${2%:*} r
	case $a in
	198.19.1.*)	r=r1 ;;
	198.19.2.*)	r=r2 ;;
	"${WAN[r1]}")	[ "${KIND[$h]}" = r1 ] && echo "r1's WAN, no hairpin" || echo "r1's WAN"; return ;;
	"${WAN[r2]}")	[ "${KIND[$h]}" = r2 ] && echo "r2's WAN, no hairpin" || echo "r2's WAN"; return ;;
	*)		echo public; return ;;
	esac
	[ "${KIND[$h]}" = "$r" ] && echo "$r's LAN" || echo "$r's LAN, unreachable"
}

# tried HOST PEER UNTIL: what HOST's engine tried for PEER up to UNTIL (s),
# from its log: "TIME ADDR:PORT [where]" for each "trying", "TIME lan
# ADDR:PORT" for each LAN answer, and how often the parent set it.
tried() {
	local h=$1 p=$2 until=$3 t a sets
	awk -v p="$p" -v u="$until" '$1 <= u && $2 == "engine:" && $3 == "peer" &&
	    $4 == p ":" { if ($5 == "trying" && $6 == "endpoint") print $1, $7; else if ($5 == "answered") print $1, "lan-answer", $9 }' \
	    "$(lab_log "$h")" | while read -r t a x; do
		if [ "$a" = lan-answer ]; then
			printf ' %s LAN answer from %s;' "$t" "$x"
		else
			printf ' %s %s [%s];' "$t" "$a" "$(ep_note "$h" "$a")"
		fi
	done
	sets=$(awk -v p="$p" -v u="$until" '$1 <= u && $2 == "parent:" && $5 == p ":" && $6 == "endpoint"' \
	    "$(lab_log "$h")" | grep -c .)
	printf ' (parent set an endpoint %s times)\n' "$sets"
}

# late_report: for the pairs first seen up after the target (the latest 8
# pairs), the endpoints both ends tried, from their logs.
late_report() {
	local t c hp h p n=0 seen=" "
	while read -r t c hp; do
		[ "$t" -gt $((MESH20_TARGET * 1000000)) ] || break
		h=${hp%%->*} p=${hp#*->}
		case $seen in *" $p-$h "*|*" $h-$p "*) continue ;; esac
		seen="$seen$h-$p "
		n=$((n + 1))
		[ "$n" -le 8 ] || break
		[ "$n" = 1 ] && echo "---- pairs up after $MESH20_TARGET s, the latest first: what each end's engine tried (s since the start):"
		echo "     $h->$p ($c) up at $(secs "$t") s ($p->$h at $(secs "${PAIR_UP[$p:$h]:-0}") s)"
		echo "       $h:$(tried "$h" "$p" $((t / 1000000 + 1)))"
		echo "       $p:$(tried "$p" "$h" $((t / 1000000 + 1)))"
	done < <(sort -rn "$LAB_DIR/pairs")
}

# counter HOST NAME: the bytes counted so far.
counter() {
	nsenter -t "${LAB_HOLDER[$1]}" -n nft list counter inet m20count "$2" 2>/dev/null |
	    awk '{ for (i = 1; i < NF; i++) if ($i == "bytes") { print $(i + 1); exit } }'
}

# counters NAME: every host's counter NAME, summed.
counters() {
	local h s=0 v
	for h in "${NODES[@]}"; do
		v=$(counter "$h" "$1")
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

# per_node_s BYTES US: bytes per node per second.
per_node_s() {
	awk -v b="$1" -v us="$2" -v n="${#NODES[@]}" \
	    'BEGIN { if (us <= 0) us = 1; printf "%.0f\n", b / n / (us / 1e6) }'
}

# pss PID: its proportional set size, KiB.
pss() {
	awk '$1 == "Pss:" { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null
}

# --- the lab ------------------------------------------------------------------

lab_require ip nsenter unshare timeout nft wg wireguard-go jq busybox \
    sha256sum "$WGMESHD" "$WGMESHCTL"
lab_prepare
probe
lab_init

note "10 public hosts on the WAN; a1..a5 behind cone r1 (${WAN[r1]}), b1..b5 behind cone r2 (${WAN[r2]}); only $SEED's endpoint (${WAN[$SEED]}:$PORT) configured"
wan_rules | ip netns exec "$LAB_SW" nft -f - || die "switch: the WAN's filter"
for h in "${PUBLIC[@]}"; do
	lab_wan_host "$h" "${WAN[$h]}"
done
lab_router r1 "${WAN[r1]}" "${LAN[r1]}" cone
lab_router r2 "${WAN[r2]}" "${LAN[r2]}" cone
for h in "${BEHIND_R1[@]}"; do
	lab_nat_host "$h" r1 "${LAN[$h]}"
done
for h in "${BEHIND_R2[@]}"; do
	lab_nat_host "$h" r2 "${LAN[$h]}"
done
for h in "${NODES[@]}"; do
	lab_wg_key "$h"
	count_rules | nsenter -t "${LAB_HOLDER[$h]}" -n nft -f - ||
	    die "$h: counters"
	lab_wggo "$h"
done
check_underlay a1 b5 "$SEED" p2
for h in "${NODES[@]}"; do
	write_conf "$h"
done
check "a1's configuration is valid (wgmeshd -n)" \
    on a1 "$WGMESHD" -n -f "$(lab_conf a1)"

# --- the mesh -------------------------------------------------------------------

lab_ctx "${NODES[@]}"
for h in "${NODES[@]}"; do
	stamper "$h"
	echo "==== lab: wgmeshd starts; times are seconds since the first start" >>"$(lab_log "$h")"
done
note "the twenty daemons start"
T0=$(now_us)
echo "$T0" >"$LAB_DIR/t0"
for h in "${NODES[@]}"; do
	start_daemon "$h"
done
for h in "${NODES[@]}"; do
	fd=${STAMP_FD[$h]}
	exec {fd}>&-
done
note "started in $(fmt_us "$(($(now_us) - T0))")"
MESH_US=0 POLL_ROUNDS=0
if wait_mesh; then
	FULL=1
	ok "mesh20: every host sees its 19 peers up within $MESH20_DEADLINE s"
else
	FULL=0
	MESH_US=$((MESH20_DEADLINE * 1000000))
	bad "mesh20: no full mesh within $MESH20_DEADLINE s"
fi
GOSSIP_FORM=$(counters gossip)
LAN_FORM=$(counters lan)
FORM_US=$(($(now_us) - T0))
note "$POLL_ROUNDS polling rounds, $(fmt_us "$(((MESH_US) / (POLL_ROUNDS > 0 ? POLL_ROUNDS : 1)))") each on average"
echo "BENCH mesh20 time_to_mesh_s $(secs "$MESH_US")"
if [ "$FULL" = 1 ]; then
	echo "mesh20: time to a full mesh of 20 nodes (380 pairs up): $(secs "$MESH_US") s (target <= $MESH20_TARGET s; wgautomesh about 64 s)"
else
	echo "mesh20: no full mesh of 20 nodes within $MESH20_DEADLINE s (target <= $MESH20_TARGET s; wgautomesh about 64 s)"
fi
for h in "${NODES[@]}"; do
	printf '%s=%s ' "$h" "$( [ -n "${HOST_FULL[$h]:-}" ] && secs "${HOST_FULL[$h]}" || echo never)"
done | fold -s -w 76 | sed '1s/^/---- first full view: /; 2,$s/^/     /'
echo
pair_report
late_report
echo "---- endpoint sources now (pair kind source: count): $(source_report)"
if [ "$FULL" = 0 ]; then
	echo "---- pairs not up at the deadline (host -> peer: state, reason, endpoint):"
	pending | sed 's/^/     /'
fi

# --- pings ----------------------------------------------------------------------

lab_ctx a1 b1 a2 b3 p1 p7
check "ping a1 -> b1 through the tunnel (across both NATs)" ping6 a1 b1
check "ping b3 -> a4 through the tunnel (across both NATs)" ping6 b3 a4
check "ping a1 -> a2 through the tunnel (one LAN)" ping6 a1 a2
check "ping p7 -> b2 through the tunnel (public to behind r2)" ping6 p7 b2
check "ping a5 -> p10 through the tunnel (behind r1 to public)" ping6 a5 p10

# --- the steady state -----------------------------------------------------------

note "steady state: $MESH20_STEADY s, a polling round every 2 s"
G0=$(counters gossip)
L0=$(counters lan)
S0=$(now_us)
: >"$LAB_DIR/down"
while [ "$(now_us)" -lt $((S0 + MESH20_STEADY * 1000000)) ]; do
	sleep 2
	if [ "${MESH20_TRACE:-0}" = 1 ]; then
		# the devices' own view, for the logs (LAB_KEEP=1)
		for h in p1 a1; do
			{ echo "== $(secs $(($(now_us) - T0)))"; on "$h" wg show "$IFC" dump; } \
			    >>"$LAB_DIR/$h/wg-dump" 2>&1
		done
	fi
	poll_round && continue
	t=$(secs $(($(now_us) - T0)))
	pending | sed "s/^/$t /" >>"$LAB_DIR/down"
done
G1=$(counters gossip)
L1=$(counters lan)
S1=$(now_us)
echo "BENCH mesh20 gossip_form_bytes_per_node_s $(per_node_s "$GOSSIP_FORM" "$FORM_US")"
echo "BENCH mesh20 gossip_steady_bytes_per_node_s $(per_node_s $((G1 - G0)) $((S1 - S0)))"
echo "mesh20: gossip through the tunnels (lab nftables counters, wgmeshctl has none): $GOSSIP_FORM bytes from all 20 nodes in the first $(fmt_us "$FORM_US"), $((G1 - G0)) bytes in $(fmt_us $((S1 - S0))) of steady state; LAN discovery on eth0: $LAN_FORM bytes, then $((L1 - L0)) bytes"
if [ -s "$LAB_DIR/down" ]; then
	bad "mesh20: pairs seen not up during the steady state: $(awk '{ print $2 $3 $4 }' "$LAB_DIR/down" | sort -u | wc -l) (time since the start, host -> peer: state, reason, endpoint):"
	awk '!seen[$2 $3 $4]++' "$LAB_DIR/down" | head -n 20 | sed 's/^/     /'
else
	ok "mesh20: every host saw its 19 peers up all through the steady state"
fi

# --- memory ---------------------------------------------------------------------

read -r ENG STO <<<"$(daemon_children "$PSS_HOST")"
PAR=${LAB_DAEMON[$PSS_HOST]}
if [ -n "$ENG" ] && [ -n "$STO" ]; then
	echo "BENCH mesh20 pss_parent_kib $(pss "$PAR")"
	echo "BENCH mesh20 pss_engine_kib $(pss "$ENG")"
	echo "BENCH mesh20 pss_storage_kib $(pss "$STO")"
	echo "mesh20: PSS on $PSS_HOST (19 peers): parent $(pss "$PAR") KiB, engine $(pss "$ENG") KiB, storage $(pss "$STO") KiB"
else
	bad "mesh20: $PSS_HOST's engine and storage processes not found"
fi
lab_done
