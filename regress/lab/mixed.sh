#!/usr/bin/env bash
# Lab scenario: a mixed fleet, one configuration style everywhere, with and
# without "upnp yes" on every node.  A public host p (WAN 198.18.0.1,
# with a STUN server for miniupnpd); a behind cone router r1, which runs
# miniupnpd (a real IGD, NAT-PMP and PCP too); b behind cone router r2;
# d and e on one LAN behind cone router r3; f behind r4, which maps each
# flow to a new random port.  Every router drops unsolicited input on its
# WAN side.  Only p's endpoint is configured.
#
#	regress/lab/mixed.sh		runs the three modes below, each in a
#					lab of its own, and compares them
#	regress/lab/mixed.sh MODE	one mode only
#
#	plain		no "upnp" line: the pairs that come up within
#			PAIRS_DEADLINE s, and when the last of them came
#	upnp		"upnp yes" on every node, miniupnpd on r1 only: every
#			pair that came up in plain mode comes up, within the
#			plain time + UPNP_SLACK s; a's mapping is made and b
#			and f learn it
#	upnp-none	"upnp yes" on every node and no IGD anywhere: the same
#
# A node must never stop learning or telling endpoints because a mapping
# is pending, failing or absent, on any node; the modes show it from the
# outside.  Ends with "N passed, N failed" (one line for all modes); exit
# 77 after a SKIP line when the kernel cannot run the lab.  Timings are
# printed as "BENCH mixed-MODE METRIC VALUE" lines too.  LAB_KEEP=1 keeps
# the logs and configurations.
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
MODES="plain upnp upnp-none"
PAIRS_DEADLINE=${MIXED_DEADLINE:-30}	# s watched for pairs to come up
SETTLE=${MIXED_SETTLE:-4}		# s without a new pair before the count is taken
UPNP_SLACK=3			# s the upnp modes may take beyond plain's time
# The pairs that must come up in every mode: all fifteen.  f's NAT maps
# each destination anew, so f's pairs with the nodes behind routers go
# through p's relay (regress/lab/relay.sh tests relaying itself).
MUST="p:a p:b p:d p:e p:f a:b a:d a:e a:f b:d b:e b:f d:e d:f e:f"

# --- the driver: each mode in a lab of its own, then the comparison --------

if [ $# -eq 0 ]; then
	export LC_ALL=C
	pass=0 fail=0
	declare -A PAIRS=() TIME=()
	for mode in $MODES; do
		echo "-- mode $mode"
		out=$(bash "$0" "$mode" 2>&1)
		rc=$?
		printf '%s\n' "$out"
		if [ "$rc" -eq 77 ] && grep -q '^SKIP' <<<"$out"; then
			exit 77
		fi
		last=$(tail -n 1 <<<"$out")
		if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
			pass=$((pass + BASH_REMATCH[1]))
			fail=$((fail + BASH_REMATCH[2]))
		else
			echo "FAIL mode $mode: exit status $rc and no summary line"
			fail=$((fail + 1))
		fi
		PAIRS[$mode]=$(sed -n 's/^MIXED pairs //p' <<<"$out")
		TIME[$mode]=$(sed -n 's/^MIXED time_ms //p' <<<"$out")
	done
	echo "-- the modes compared"
	for mode in upnp upnp-none; do
		missing=
		for hp in ${PAIRS[plain]:-}; do
			case " ${PAIRS[$mode]:-} " in
			*" $hp "*) ;;
			*) missing="$missing $hp" ;;
			esac
		done
		if [ -z "${PAIRS[plain]:-}" ] || [ -n "$missing" ]; then
			echo "FAIL $mode: the pairs up in plain mode are up here too (missing:${missing:- all})"
			fail=$((fail + 1))
		else
			echo "ok   $mode: the pairs up in plain mode are up here too ($(wc -w <<<"${PAIRS[plain]}") pairs)"
			pass=$((pass + 1))
		fi
		if [ -n "${TIME[plain]:-}" ] && [ -n "${TIME[$mode]:-}" ] &&
		    [ "${TIME[$mode]}" -le $((TIME[plain] + UPNP_SLACK * 1000)) ]; then
			echo "ok   $mode: those pairs up in ${TIME[$mode]} ms, plain in ${TIME[plain]} ms (+ at most $UPNP_SLACK s)"
			pass=$((pass + 1))
		else
			echo "FAIL $mode: those pairs up in ${TIME[$mode]:-never} ms, plain in ${TIME[plain]:-never} ms (+ at most $UPNP_SLACK s)"
			fail=$((fail + 1))
		fi
	done
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi

MODE=$1
case " $MODES " in
*" $MODE "*) ;;
*)	echo "usage: $0 [${MODES// /|}]" >&2; exit 2 ;;
esac
LAB_TIMEOUT=${LAB_TIMEOUT:-150}
LAB_NAME=wx
. "$HERE/lib.sh"

IFC=wg0
PORT=51820
GPORT=1666
EXTPORT=${MIXED_EXTPORT:-51820}		# a's external port on r1
KEEPALIVE=15

declare -A WAN=() LAN=() PUB=() ROUTER=()
WAN[p]=198.18.0.1
WAN[r1]=198.18.0.11; LAN[r1]=198.19.1.1; LAN[a]=198.19.1.2
WAN[r2]=198.18.0.12; LAN[r2]=198.19.2.1; LAN[b]=198.19.2.2
WAN[r3]=198.18.0.13; LAN[r3]=198.19.3.1; LAN[d]=198.19.3.2; LAN[e]=198.19.3.3
WAN[r4]=198.18.0.14; LAN[r4]=198.19.4.1; LAN[f]=198.19.4.2
ROUTER[a]=r1; ROUTER[b]=r2; ROUTER[d]=r3; ROUTER[e]=r3; ROUTER[f]=r4
HOSTS=(p a b d e f)

# write_conf HOST: every other node a peer, only p's endpoint given; "upnp
# yes" in the upnp modes.
write_conf() {
	local h=$1 p opts="persistent-keepalive $KEEPALIVE"
	local -a peers=()
	[ "$MODE" != plain ] && opts="$opts
upnp yes${MIXED_EXTPORT:+ external-port $EXTPORT}"
	for p in $(others "$h" "${HOSTS[@]}"); do
		[ "$p" = p ] && p="p=${WAN[p]}:$PORT"
		peers+=("$p")
	done
	mesh_conf "$h" "$opts" "${peers[@]}"
}

# up_pairs: "x:y" for each pair, x before y in HOSTS, that both ends see
# up, on one line.
up_pairs() {
	local v i j x y out=
	v=$(views "${HOSTS[@]}") || return 1
	for ((i = 0; i < ${#HOSTS[@]}; i++)); do
		for ((j = i + 1; j < ${#HOSTS[@]}; j++)); do
			x=${HOSTS[$i]} y=${HOSTS[$j]}
			grep -q "^$x: .*\b$y=up\b" <<<"$v" &&
			    grep -q "^$y: .*\b$x=up\b" <<<"$v" &&
			    out="$out $x:$y"
		done
	done
	echo "${out# }"
}

# has_all PAIRS WANT: every pair of WANT is in PAIRS.
has_all() {
	local hp
	for hp in $2; do
		case " $1 " in
		*" $hp "*) ;;
		*) return 1 ;;
		esac
	done
}

# mapping_learned HOST: HOST's daemon has a's mapping among a's endpoints
# ("show peers -j" of a: endpoint or a candidate), or uses it.
mapping_learned() {
	ctl "$1" -j show peers a | grep -qF "${WAN[r1]}:$EXTPORT" ||
	    { echo "$1 does not know ${WAN[r1]}:$EXTPORT for a"; return 1; }
}

# mapping_shown: a's "show interfaces -j" has its mapping.
mapping_shown() {
	ctl a -j show interfaces |
	    jq -e --arg m "${WAN[r1]}:$EXTPORT" '.interfaces[0].upnp == $m' >/dev/null
}

# --- the lab ------------------------------------------------------------------

lab_require ip nsenter unshare timeout nft wg wireguard-go jq busybox python3 \
    sha256sum ss miniupnpd "$WGMESHD" "$WGMESHCTL"
lab_prepare
lab_probe
lab_init

note "mode $MODE: p public; a behind cone r1 (miniupnpd$([ "$MODE" = upnp-none ] && echo ', not started')), b behind cone r2, d and e behind cone r3, f behind r4 (a new port per flow)"
lab_wan_host p "${WAN[p]}"
lab_router r1 "${WAN[r1]}" "${LAN[r1]}" cone
lab_router r2 "${WAN[r2]}" "${LAN[r2]}" cone
lab_router r3 "${WAN[r3]}" "${LAN[r3]}" cone
lab_router r4 "${WAN[r4]}" "${LAN[r4]}" symmetric
for h in a b d e f; do
	lab_nat_host "$h" "${ROUTER[$h]}" "${LAN[$h]}"
done
if [ "$MODE" = upnp ]; then
	lab_stun_start p "${WAN[p]}"
	lab_miniupnpd_start r1 "${WAN[p]}"
fi
for h in "${HOSTS[@]}"; do
	lab_wg_key "$h"
	lab_wggo "$h"
done
check_underlay a f p p
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

# Polls the pairs until MUST is up and nothing new came for SETTLE s,
# or PAIRS_DEADLINE s: LAST is the set, T_LAST when it last changed,
# T_MUST when MUST was first all up.
end=$((T0 + PAIRS_DEADLINE * 1000000))
LAST= T_LAST=0 T_MUST=
while [ "$(now_us)" -lt "$end" ]; do
	cur=$(up_pairs) || break
	if [ "$cur" != "$LAST" ]; then
		LAST=$cur
		T_LAST=$(($(now_us) - T0))
	fi
	[ -z "$T_MUST" ] && has_all "$LAST" "$MUST" && T_MUST=$T_LAST
	if has_all "$LAST" "$MUST" &&
	    [ $(($(now_us) - T0 - T_LAST)) -ge $((SETTLE * 1000000)) ]; then
		break
	fi
	sleep "$LAB_STEP"
done
n=$(wc -w <<<"$LAST")
note "mode $MODE: $n of 15 pairs up: $LAST"
echo "MIXED pairs $LAST"
if has_all "$LAST" "$MUST"; then
	ok "mode $MODE: all $(wc -w <<<"$MUST") pairs are up, f's relayed"
	echo "MIXED time_ms $((T_MUST / 1000))"
	timing "mixed $MODE: time to those pairs up" "$T_MUST" \
	    "mixed-$MODE" time_to_pairs_s
	timing "mixed $MODE: time to the last change" "$T_LAST" \
	    "mixed-$MODE" time_to_last_s
	echo "BENCH mixed-$MODE pairs_up $n"
else
	bad "mode $MODE: within $PAIRS_DEADLINE s, pairs up: $LAST; want at least: $MUST"
	views "${HOSTS[@]}" | sed 's/^/     /'
fi
for h in "${HOSTS[@]}"; do
	check "mode $MODE: $h's wgmeshd still runs" runs "$h"
done
if [ "$MODE" = upnp ]; then
	check "upnp: a shows its mapping ${WAN[r1]}:$EXTPORT" \
	    wait_for 10 mapping_shown
	check "upnp: b knows a's mapping" wait_for 10 mapping_learned b
	check "upnp: f knows a's mapping" wait_for 10 mapping_learned f
fi
if [ "$MODE" != plain ]; then
	# r2 refuses PCP's datagram: NAT-PMP is not tried, no time waited
	check "mode $MODE: b's log says PCP, NAT-PMP and UPnP discovery failed (nothing on r2)" \
	    wait_for 15 grep -q 'port mapping failed: PCP: the gateway refused the datagram (ICMP) (1104); NAT-PMP: the gateway refused the datagram (ICMP) (1104); UPnP: discovery .* failed' "$(lab_log b)"
fi
[ -n "${LAB_MINIUPNPD[r1]:-}" ] && stop_pid "${LAB_MINIUPNPD[r1]}" TERM 5
[ -n "${LAB_STUN[p]:-}" ] && stop_pid "${LAB_STUN[p]}" TERM 5

lab_done
