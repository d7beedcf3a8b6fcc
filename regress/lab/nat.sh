#!/usr/bin/env bash
# Lab scenarios for NAT traversal with wgmeshd.  A public host p (WAN
# 198.18.0.1); a behind cone router r1, b behind cone router r2 (lib.sh:
# masquerade, unsolicited WAN input dropped).  Each runs wireguard-go and
# wgmeshd; every configuration names all three nodes, but only p's
# endpoint is configured (on a and b), so a and b must find each other
# through p.  Each host keeps its state directory in the lab directory.
# Every node has "relay-use no": these scenarios are about the direct
# paths (regress/lab/relay.sh is about relaying).
#
#	nat		the three daemons start at once: full mesh within 30 s,
#			a and b talk directly (each one's endpoint for the
#			other is the other's router), ping a <-> b
#	lan		e starts behind r1, on a's LAN: a-e up within 15 s
#			over their LAN addresses (source "lan"), e-p and
#			e-b up too; e's captured beacon replayed from its
#			own and from another LAN address changes nothing
#	lan6		f starts behind r1, on a's LAN, and IPv4 between a
#			and f on the gossip port is dropped (nftables on
#			both): a-f up within 15 s over each other's IPv6
#			link-local address with eth0 as its scope (source
#			"lan"), ping across; a beacon with hop limit 64 and
#			one from a non-link-local source are dropped and
#			counted, and change nothing
#	restart		every daemon stopped, p's endpoint removed from a's
#			configuration, a's device forgets its peers and r1
#			its mappings: a gets back to the mesh from its
#			persisted state within 20 s
#	attacks		(a) captured gossip datagrams replayed to a, from b
#			and from p; (b) datagrams from a non-peer address on
#			the underlay to a's and p's ports get no answer;
#			(c) 20000 junk datagrams to a's gossip port through
#			the tunnel; (d) a's entry for b has p's address as
#			its endpoint: the mesh still forms
#	psk		a has a preshared key that p and b do not, on devices
#			without sessions: p says of a "keys or preshared key
#			differ" within 15 s, a of p and of b, b of a within
#			25 s; no reason blames NAT; b-p stays up; a without
#			the key: the full mesh again
#	cut		wgmeshctl ping from p to a and b: a round trip and the
#			direct path at each one's router; r2 cut off the WAN
#			(nftables drops what it forwards there): p's
#			wgmeshctl monitor says b is down within the
#			keepalive + 10 s, and a ping to b fails saying it is
#			not up; r2 restored: the monitor says b is up again
#	roaming		r1's WAN address changes: the mesh is back within
#			the persistent keepalive + 15 s
#	symmetric	both routers symmetric (a new random port per flow),
#			relaying refused (relay-use no),
#			everything restarted on fresh devices: a-p and b-p up,
#			a-b "unreachable" with a reason after 40 s, and few
#			endpoint changes for it meanwhile
#
#	regress/lab/nat.sh [SCENARIO...]	default: all of them, in one
#						lab, always in the order above
#						(the ones that break the mesh
#						or the routers last)
#
# Ends with "N passed, N failed"; exit 77 after a SKIP line when the
# kernel cannot run the lab.  LAB_KEEP=1 keeps the logs and configs.
# Timings are also printed as "BENCH SCENARIO METRIC VALUE" lines, for
# regress/bench.sh.
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
. "$HERE/lib.sh"

ALL_SCENARIOS="nat lan lan6 restart attacks psk cut roaming symmetric"
declare -A WANT=()
for s in "${@:-all}"; do
	case " all $ALL_SCENARIOS " in
	*" $s "*) ;;
	*)	echo "usage: $0 [all|${ALL_SCENARIOS// /|}]..." >&2; exit 2 ;;
	esac
	if [ "$s" = all ]; then
		for x in $ALL_SCENARIOS; do WANT[$x]=1; done
	else
		WANT[$s]=1
	fi
done

IFC=wg0
PORT=51820
GPORT=1666			# the gossip port (the default)
KEEPALIVE=15			# persistent-keepalive in every configuration
MESH_DEADLINE=30		# s to a full mesh from the daemons' start
STAR_DEADLINE=15		# s to a-p and b-p up
RESTART_DEADLINE=20		# s for a to get back to the mesh
ROAM_DEADLINE=$((KEEPALIVE + 15))
# a peer quiet for the keepalive + 3 s is down (mesh_peer_is_up())
CUT_DOWN_DEADLINE=$((KEEPALIVE + 10))
CUT_UP_DEADLINE=20		# s for it to be up again once restored
BADEP_DEADLINE=20		# s to the mesh with a wrong endpoint for b
# the first round (5 s) and its pause (10 s); and then the other end's
# initiation, sent once the first is sure (psk)
KEYS_DEADLINE=15
KEYS_ODD_DEADLINE=25
KEYS_DIFFER="keys or preshared key differ"
SYM_WINDOW=40			# s watched behind symmetric NATs
SYM_MAX_CHANGES=10		# fewer endpoint changes than this meanwhile
FLOOD=20000			# junk datagrams from each sender

declare -A WAN=() LAN=() PUB=() EPCONF=() OPTS=()
WAN[p]=198.18.0.1
WAN[r1]=198.18.0.11; LAN[r1]=198.19.1.1; LAN[a]=198.19.1.2
WAN[r2]=198.18.0.12; LAN[r2]=198.19.2.1; LAN[b]=198.19.2.2
LAN[e]=198.19.1.3		# on a's LAN, in the lan scenario only
LAN[f]=198.19.1.4		# on a's LAN, in the lan6 scenario only
ULA_F=fd00:1::f			# f's address that is not link-local (lan6)
FAKE=198.19.1.9			# another address on that LAN, for replays
OFFLINK=198.18.0.77		# an address a reaches through r1 (lan attack)
# a LAN datagram's length (wire.h), as large as a sealed PING
LAN_DATAGRAM_LEN=$(($(printf '#include "wire.h"\nLAN_DATAGRAM_LEN\n' |
    cc -E -D_GNU_SOURCE -I"$HERE/../../common" -I"$HERE/../../wgmeshd" \
    -x c - 2>/dev/null | tail -n 1)))
ROAM=198.18.0.21		# r1's WAN address after the move
LAN_DEADLINE=15			# s for a-e up from e's start
HOSTS=(p a b)			# the nodes that the mesh checks are about
NODES=(p a b)			# every node configured (e, f too, for lan*)
[ -n "${WANT[lan]:-}" ] && NODES+=(e)
[ -n "${WANT[lan6]:-}" ] && NODES+=(f)
FULL_SEEN=			# 1: a full mesh was seen; 0: it was not
UDPTOOL=
GOSSIP_CAPTURE=			# pid of the capture of gossip towards a

# --- helpers ----------------------------------------------------------------

# write_conf HOST: HOST's configuration (mesh_conf): its own state
# directory in the lab, the other nodes as peers, an endpoint for a peer
# only where EPCONF[HOST:PEER] says, and the lines of OPTS[HOST] if any.
write_conf() {
	local h=$1 p
	local -a peers=()
	for p in $(others "$h" "${NODES[@]}"); do
		peers+=("$p${EPCONF[$h:$p]:+=${EPCONF[$h:$p]}}")
	done
	# relay-use no: these scenarios watch the direct paths (punching,
	# the LAN, roaming, a wrong endpoint), which a relay would otherwise
	# stand in for while they are found; relay.sh and mixed.sh relay
	mesh_conf "$h" "persistent-keepalive $KEEPALIVE
relay-use no${OPTS[$h]:+
${OPTS[$h]}}" "${peers[@]}"
}

# default_endpoints: only p's endpoint, on a and b.
default_endpoints() {
	EPCONF=()
	EPCONF[a:p]=${WAN[p]}:$PORT
	EPCONF[b:p]=${WAN[p]}:$PORT
	EPCONF[e:p]=${WAN[p]}:$PORT
	EPCONF[f:p]=${WAN[p]}:$PORT
}

# start_all: the three daemons at once (those that do not run).
start_all() {
	local h
	for h in "${HOSTS[@]}"; do
		runs "$h" || lab_wgmeshd_start "$h"
	done
}

# stop_daemon HOST: SIGTERM, waits for the exit; 1 if it had to be killed.
stop_daemon() {
	local pid=${LAB_DAEMON[$1]:-}
	[ -n "$pid" ] && alive "$pid" || return 0
	if stop_pid "$pid" TERM 10; then
		reap "$pid"
		return 0
	fi
	reap "$pid"
	echo "$1: wgmeshd (pid $pid) did not exit within 10 s of SIGTERM"
	return 1
}

# stop_all: every daemon stopped, each waited for.
stop_all() {
	local h rc=0
	for h in "${HOSTS[@]}"; do
		stop_daemon "$h" || rc=1
	done
	return $rc
}

# running: every daemon runs.
running() {
	local h
	for h in "${HOSTS[@]}"; do
		runs "$h" || return 1
	done
}

# wggo_renew HOST: HOST's wireguard-go stopped and started again: a new
# wg0 with no peers, endpoints or sessions.
wggo_renew() {
	local h=$1
	stop_pid "${LAB_WGGO[$h]}" TERM 5
	wait_for 5 sh -c "! nsenter -t ${LAB_HOLDER[$h]} -n ip link show dev $IFC" ||
	    die "$h: $IFC outlived wireguard-go"
	on "$h" rm -f "/run/wireguard/$IFC.sock"
	lab_wggo "$h"
}

# router_forget ROUTER: ROUTER loses its mappings (its WAN address is
# removed and added again: masquerade forgets what used it).  The flows
# of e and f, on r1's LAN for the lan and lan6 scenarios only, are not
# counted: one they started towards r1's own WAN address just before
# their devices stopped outlives the address's removal (it is not
# masqueraded), unanswered, for conntrack's 30 s.
router_forget() {
	local r=$1 w=${LAB_ROUTER_WAN[$1]}
	lab_router_wan "$r" "$w"
	wait_for 5 sh -c "! nsenter -t ${LAB_HOLDER[$r]} -n grep 'dst=$w ' /proc/net/nf_conntrack | grep -v 'src=${LAN[e]} ' | grep -qv 'src=${LAN[f]} '" || {
		bad "$r still has mappings at $w"
		nsenter -t "${LAB_HOLDER[$r]}" -n grep "dst=$w " /proc/net/nf_conntrack |
		    sed 's/^/     /'
	}
}

# star_up: a and b see p up, p sees both.
star_up() {
	pairs_up p:a p:b a:p b:p
}

# baseline_up: the full mesh if it has been seen in this lab, else the
# star.
baseline_up() {
	if [ "$FULL_SEEN" = 1 ]; then mesh_up; else star_up; fi
}

# mesh_works: the full mesh is up and every pair pings through the
# tunnel ("up" trusts a handshake that may be two minutes old).
mesh_works() {
	mesh_up || return
	if ! { ping1 a p && ping1 b p && ping1 a b && ping1 b a; }; then
		echo "a ping through the tunnel failed"
		return 1
	fi
}

# star_works: the same for a-p and b-p.
star_works() {
	star_up || return
	if ! { ping1 a p && ping1 b p; }; then
		echo "a ping through the tunnel failed"
		return 1
	fi
}

# need_mesh WHAT: the daemons run and the mesh is up before WHAT; a full
# mesh that was never seen is waited for once only.
need_mesh() {
	local what=$1
	start_all
	if [ "$FULL_SEEN" != 0 ]; then
		learn_overlays
		if wait_for "$MESH_DEADLINE" mesh_works; then
			FULL_SEEN=1
			return 0
		fi
		bad "$what: no full mesh to start from within $MESH_DEADLINE s"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
		FULL_SEEN=0
	fi
	if wait_for "$STAR_DEADLINE" star_works; then
		note "$what: starting from a-p and b-p only"
		return 0
	fi
	bad "$what: a-p and b-p are not up within $STAR_DEADLINE s"
	printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
	return 1
}

# wg_endpoints HOST PEER...: "PEER ENDPOINT" lines of HOST's device.
wg_endpoints() {
	local h=$1 p
	shift
	for p in "$@"; do
		echo "$p $(wg_endpoint "$h" "$p")"
	done
}

# ping1 FROM TO: one echo request, 1 s to answer, for polling.
ping1() {
	on "$1" busybox ping -6 -c 1 -W 1 "$(overlay "$2")" >/dev/null 2>&1
}

# peer_json HOST PEER: HOST's "show peers -j" entry for PEER.
peer_json() {
	ctl "$1" -j show peers "$2" | jq -c '.peers[0] // empty'
}

# unreachable HOST PEER: HOST's view of PEER is "unreachable" with a
# reason.
unreachable() {
	local j
	j=$(peer_json "$1" "$2")
	echo "$1's view of $2: $j"
	jq -e '.state == "unreachable" and (.reason | type == "string" and length > 0)' \
	    <<<"$j" >/dev/null
}

# not_up HOST PEER: HOST neither sees PEER up nor has a handshake with it.
not_up() {
	local s
	s=$(peer_json "$1" "$2" | jq -r .state)
	[ "$s" != up ] || { echo "$1 sees $2 up"; return 1; }
	! handshake_on "$1" "$2" >/dev/null || { echo "$1's device has a handshake with $2"; return 1; }
}

# files_in DIR: DIR holds a non-empty file.
files_in() {
	find "$1" -type f -size +0c 2>/dev/null | grep -q . ||
	    { echo "no file in $1: $(find "$1" 2>&1 | tr '\n' ' ')"; return 1; }
}

# tcpdump_start HOST NAME COUNT SECONDS ARGS...: tcpdump on HOST writing
# $LAB_DIR/HOST/NAME.pcap, at most COUNT packets and SECONDS; waits until
# it listens.  The pid (of timeout(1), which stops tcpdump) in TCPDUMP.
tcpdump_start() {
	local h=$1 f=$LAB_DIR/$1/$2 n=$3 t=$4
	shift 4
	nsenter -t "${LAB_HOLDER[$h]}" -n -m -u -- timeout -k 2 "$t" \
	    tcpdump -Z root --immediate-mode -n -U -c "$n" -w "$f.pcap" "$@" </dev/null >"$f.err" 2>&1 &
	TCPDUMP=$!
	LAB_PIDS+=("$TCPDUMP")
	wait_for 5 grep -q 'listening on' "$f.err" ||
	    bad "$h: tcpdump $* did not start: $(cat "$f.err")"
}

# capture_gossip: non-empty datagrams to a's gossip port on its wg0,
# from before the daemons' first start (tcpdump needs the link up; the
# daemon would set it up anyway): to be replayed by the attacks.
capture_gossip() {
	on a ip link set dev "$IFC" up || die "a: ip link set $IFC up"
	tcpdump_start a gossip 40 $((LAB_TIMEOUT - 30)) -i "$IFC" \
	    "udp dst port $GPORT and ip6[4:2] > 8"
	GOSSIP_CAPTURE=$TCPDUMP
}

# pcap_count FILE: how many packets FILE holds.
pcap_count() {
	tcpdump -n -r "$1" 2>/dev/null | grep -c .
}

# udp_tool ARGS...: the python helper: "pcap FILE" lists the UDP
# datagrams of a capture as "SRC SPORT DST DPORT HEX", "send SRC SPORT
# DST DPORT hex HEX..." sends each payload, "send SRC SPORT DST DPORT
# junk COUNT MAXLEN" sends COUNT random datagrams.
udp_tool() {
	python3 "$UDPTOOL" "$@"
}

# write_udp_tool: the python helper, in the lab directory.
write_udp_tool() {
	UDPTOOL=$LAB_DIR/udptool.py
	cat >"$UDPTOOL" <<'PY'
import os, socket, struct, sys

def pcap(path):
    data = open(path, "rb").read()
    if len(data) < 24:
        return
    magic = data[:4]
    e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    link = struct.unpack(e + "I", data[20:24])[0]
    skip = {1: 14, 113: 16, 276: 20}.get(link, 0)
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl][skip:]
        off += 16 + incl
        if not pkt:
            continue
        if pkt[0] >> 4 == 6 and len(pkt) >= 48 and pkt[6] == 17:
            src = socket.inet_ntop(socket.AF_INET6, pkt[8:24])
            dst = socket.inet_ntop(socket.AF_INET6, pkt[24:40])
            udp = pkt[40:]
        elif pkt[0] >> 4 == 4 and len(pkt) >= 28 and pkt[9] == 17:
            ihl = (pkt[0] & 15) * 4
            src = socket.inet_ntop(socket.AF_INET, pkt[12:16])
            dst = socket.inet_ntop(socket.AF_INET, pkt[16:20])
            udp = pkt[ihl:]
        else:
            continue
        sp, dp, ln = struct.unpack(">HHH", udp[:6])
        print(src, sp, dst, dp, udp[8:ln].hex() or "-")

def send(src, sport, dst, dport, mode, args):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if dst == "255.255.255.255":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    # as a host on the link can: LAN discovery wants TTL 255
    if fam == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
    try:
        s.bind((src, int(sport)))
    except OSError as e:
        sys.exit("cannot bind to %s: %s" % (src, e.strerror))
    if mode == "hex":
        payloads = [bytes.fromhex(h) for h in args if h != "-"]
    else:
        n, maxlen = int(args[0]), int(args[1])
        payloads = (os.urandom(1 + os.urandom(1)[0] % maxlen) for _ in range(n))
    sent = errors = 0
    for p in payloads:
        try:
            s.sendto(p, (dst, int(dport)))
            sent += 1
        except OSError:
            errors += 1
    print("sent %d, %d errors" % (sent, errors))

if sys.argv[1] == "pcap":
    pcap(sys.argv[2])
else:
    send(*sys.argv[2:7], sys.argv[7:])
PY
}

# no_endpoint_change BEFORE HOST PEER...: HOST's device endpoints for
# PEERs are still BEFORE (wg_endpoints lines); prints the differences.
no_endpoint_change() {
	local before=$1 now
	shift
	now=$(wg_endpoints "$@")
	[ "$before" = "$now" ] || { diff <(echo "$before") <(echo "$now"); return 1; }
}

# endpoints_moved BEFORE HOST PEER...: the opposite, for wait_for.
endpoints_moved() {
	! no_endpoint_change "$@"
}

# up_peers HOST: the peers HOST sees up.
up_peers() {
	ctl "$1" -j show peers | jq -r '.peers[] | select(.state == "up") | .name' | tr '\n' ' '
}

# --- the lab ------------------------------------------------------------------

lab_require ip nsenter unshare timeout nft wg wireguard-go jq busybox python3 \
    tcpdump sha256sum find "$WGMESHD" "$WGMESHCTL"
lab_prepare
lab_probe
lab_init
write_udp_tool

note "p public at ${WAN[p]}; a behind cone r1 (${WAN[r1]}), b behind cone r2 (${WAN[r2]})"
lab_wan_host p "${WAN[p]}"
lab_router r1 "${WAN[r1]}" "${LAN[r1]}" cone
lab_router r2 "${WAN[r2]}" "${LAN[r2]}" cone
lab_nat_host a r1 "${LAN[a]}"
lab_nat_host b r2 "${LAN[b]}"
[ -n "${WANT[lan]:-}" ] && lab_nat_host e r1 "${LAN[e]}"
[ -n "${WANT[lan6]:-}" ] && lab_nat_host f r1 "${LAN[f]}"
for h in "${NODES[@]}"; do
	lab_wg_key "$h"
	lab_wggo "$h"
done
check_underlay a b p p
default_endpoints
for h in "${NODES[@]}"; do
	write_conf "$h"
	check "$h: the configuration is valid (wgmeshd -n)" \
	    on "$h" "$WGMESHD" -n -f "$(lab_conf "$h")"
done
[ -n "${WANT[attacks]:-}" ] && capture_gossip

# --- nat ------------------------------------------------------------------------

# sc_nat: the daemons start at once; the full mesh, direct a-b.
sc_nat() {
	local t0
	note "nat: the three daemons start; only p's endpoint is configured"
	lab_ctx p a b
	t0=$(now_us)
	start_all
	if wait_for "$MESH_DEADLINE" mesh_up; then
		FULL_SEEN=1
		learn_overlays
		ok "nat: full mesh within $MESH_DEADLINE s"
		timing "nat: time to full mesh" "$(($(now_us) - t0))" nat time_to_mesh_s
	else
		FULL_SEEN=0
		bad "nat: no full mesh within $MESH_DEADLINE s"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
		check "nat: a-p and b-p are up at least" star_up
		learn_overlays
	fi
	check "nat: p sees a at r1's WAN address" endpoint_at p a "${WAN[r1]}"
	check "nat: p sees b at r2's WAN address" endpoint_at p b "${WAN[r2]}"
	check "nat: a -> p through the tunnel" ping6 a p
	check "nat: b -> p through the tunnel" ping6 b p
	check "nat: a's endpoint for b is r2's WAN address (direct, not via p)" \
	    endpoint_at a b "${WAN[r2]}"
	check "nat: b's endpoint for a is r1's WAN address (direct, not via p)" \
	    endpoint_at b a "${WAN[r1]}"
	check "nat: a -> b through the tunnel" ping6 a b
	check "nat: b -> a through the tunnel" ping6 b a
}

# --- lan ------------------------------------------------------------------------

# source_of HOST PEER: where HOST's daemon says its endpoint for PEER came
# from.
source_of() {
	peer_json "$1" "$2" | jq -r '.endpoint_source // empty'
}

# lan_pair: a and e use each other's LAN addresses, learned by LAN
# discovery.
lan_pair() {
	pairs_up a:e e:a >/dev/null || { echo "a-e not up"; return 1; }
	endpoint_at a e "${LAN[e]}" && endpoint_at e a "${LAN[a]}" || return 1
	[ "$(source_of a e)" = lan ] || { echo "a's endpoint for e from $(source_of a e), not lan"; return 1; }
}

# replay_fake HEX: e's beacon HEX sent again from the fake address; true
# once a has challenged that address (so it read a replay), each call a
# new try (a challenges a peer at most every 2 s).
replay_fake() {
	[ "$(tcpdump -n -r "$LAB_DIR/e/fake.pcap" 2>/dev/null | grep -c .)" -gt 0 ] && return 0
	on e python3 "$UDPTOOL" send "$FAKE" "$GPORT" 255.255.255.255 "$GPORT" hex "$1" >/dev/null
	return 1
}

# lan_relay BEACON_HEX SECONDS: run on e, which plays a neighbour M on
# a's LAN: it broadcasts BEACON_HEX (in p's name) every 2 s from its
# gossip port with TTL 255, forwards what a sends it to p's gossip port
# and what comes back from p to a, all from its own address; prints
# "pings N answers M".
lan_relay() {
	on e python3 - "$1" "$2" "${LAN[e]}" "${LAN[a]}" "${WAN[p]}" "$GPORT" <<-'PY'
	import select, socket, sys, time
	beacon, secs = bytes.fromhex(sys.argv[1]), float(sys.argv[2])
	me, a, p, port = sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
	s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
	s.bind((me, port))
	end, nxt, pings, answers = time.time() + secs, 0, 0, 0
	while time.time() < end:
	    if time.time() >= nxt:
	        s.sendto(beacon, ("255.255.255.255", port))
	        nxt = time.time() + 2
	    r, _, _ = select.select([s], [], [], 0.2)
	    if not r:
	        continue
	    data, src = s.recvfrom(2048)
	    if src[0] == a:
	        pings += 1
	        s.sendto(data, (p, port))
	    elif src[0] == p:
	        answers += 1
	        s.sendto(data, (a, port))
	print("pings %d answers %d" % (pings, answers))
	PY
}

# offlink_probe HEX: HEX sent from OFFLINK (an address of e's that a
# reaches through r1) to the broadcast address; true once a counted an
# answer it would not send there.
offlink_probe() {
	[ "$(lan_counter a drop_offlink)" -gt "$1" ] && return 0
	on e python3 "$UDPTOOL" send "$OFFLINK" "$GPORT" 255.255.255.255 "$GPORT" hex "$2" >/dev/null
	return 1
}

# lan_attack HEX: e, now a neighbour M with no daemon, uses e's beacon
# HEX in p's name: a's challenge, relayed to p and back, must not put M
# between a and p; nor a beacon from an off-link source make a send
# there.
lan_attack() {
	local hex=$1 keyhex forged out before mark hl off
	keyhex=$(printf '%s' "${PUB[p]}" | base64 -d | od -An -tx1 -v | tr -d ' \n')
	forged=${hex:0:16}$keyhex${hex:80}
	before=$(wg_endpoints a p)
	mark=$(log_size a)
	hl=$(lan_counter p drop_hoplimit)
	out=$(lan_relay "$forged" 8)
	note "lan: the relay on e: $out"
	check "lan: a challenged e, which sent a beacon in p's name" \
	    sh -c "case '$out' in 'pings 0 '*) exit 1 ;; esac"
	check "lan: p drops a's challenge relayed through r1 (drop_hoplimit)" \
	    counter_above p drop_hoplimit "$hl"
	check "lan: p answered nothing of it" \
	    sh -c "case '$out' in *' answers 0') exit 0 ;; esac; exit 1"
	check "lan: a's endpoint for p did not move to e" \
	    no_endpoint_change "$before" a p
	check "lan: a's log shows no LAN answer from e" sh -c \
	    "! tail -c +$((mark + 1)) '$(lab_log a)' | grep -q 'answered at LAN endpoint ${LAN[e]}'"
	off=$(lan_counter a drop_offlink)
	on e ip addr add "$OFFLINK/32" dev eth0 || die "e: $OFFLINK"
	tcpdump_start a offlink 4 20 -i eth0 "dst host $OFFLINK"
	check "lan: a beacon in p's name from $OFFLINK (behind r1 for a); a refuses to answer there (drop_offlink)" \
	    wait_for 10 offlink_probe "$off" "$forged"
	check "lan: a sent nothing to $OFFLINK" \
	    test "$(pcap_count "$LAB_DIR/a/offlink.pcap")" -eq 0
	on e ip addr del "$OFFLINK/32" dev eth0
}

# sc_lan: e joins on a's LAN; a-e over LAN addresses; a beacon replayed.
sc_lan() {
	local t0 pcap=$LAB_DIR/a/beacons.pcap hex before mark
	note "lan: e starts behind r1, on a's LAN (${LAN[e]})"
	need_mesh lan
	lab_ctx a e
	tcpdump_start a beacons 4 $((LAB_TIMEOUT - 30)) -i eth0 \
	    "src host ${LAN[e]} and udp dst port $GPORT and dst host 255.255.255.255"
	t0=$(now_us)
	lab_wgmeshd_start e
	HOSTS=(p a b e)
	if wait_for "$LAN_DEADLINE" lan_pair; then
		ok "lan: a and e use each other's LAN addresses within $LAN_DEADLINE s (source lan)"
		timing "lan: a-e up over the LAN" "$(($(now_us) - t0))" lan time_to_mesh_s
	else
		bad "lan: a and e do not use each other's LAN addresses within $LAN_DEADLINE s"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
		views a e | sed 's/^/     /'
	fi
	check "lan: a -> e through the tunnel" ping6 a e
	check "lan: e -> a through the tunnel" ping6 e a
	if ! wait_for "$MESH_DEADLINE" pairs_up e:p p:e e:b b:e; then
		bad "lan: e-p and e-b are not up within $MESH_DEADLINE s"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
	else
		ok "lan: e-p and e-b up too"
	fi
	HOSTS=(p a b)
	check "lan: e's daemon exits on SIGTERM" stop_daemon e
	wait_for 5 test -s "$pcap" || true
	hex=$(udp_tool pcap "$pcap" | awk 'NR == 1 { print $5 }')
	if [ -z "$hex" ]; then
		bad "lan: no beacon of e's captured on a's LAN"
		return
	fi
	check "lan: e's beacon is $((${#hex} / 2)) bytes (as large as a PING)" \
	    test "$((${#hex} / 2))" -eq "$LAN_DATAGRAM_LEN"
	before=$(wg_endpoints a e p b)
	mark=$(log_size a)
	on e ip addr add "$FAKE/24" dev eth0 || die "e: $FAKE"
	tcpdump_start e fake 4 20 -i eth0 "src host ${LAN[a]} and dst host $FAKE and udp"
	check "lan: e's beacon replayed from e's own address" \
	    on e python3 "$UDPTOOL" send "${LAN[e]}" "$GPORT" 255.255.255.255 "$GPORT" hex "$hex"
	check "lan: e's beacon replayed from another address ($FAKE); a challenges it" \
	    wait_for 8 replay_fake "$hex"
	check "lan: the replays changed none of a's endpoints" no_endpoint_change "$before" a e p b
	check "lan: a's log shows no new LAN answer" \
	    sh -c "! tail -c +$((mark + 1)) '$(lab_log a)' | grep -q 'answered at LAN'"
	on e ip addr del "$FAKE/24" dev eth0
	lan_attack "$hex"
	# e's device would keep r1's mappings alive with its keepalives
	stop_pid "${LAB_WGGO[e]}" TERM 5
}

# --- lan6 -----------------------------------------------------------------------

# link_local HOST: HOST's link-local address on eth0.
link_local() {
	on "$1" ip -6 -o addr show dev eth0 scope link |
	    awk '{ sub("/.*", "", $4); print $4; exit }'
}

# ll_endpoint_is HOST PEER: HOST's device has PEER's link-local address
# on eth0 as its endpoint.  wireguard-go 0.0.20220316 takes the scope
# ("[fe80::1%2]:51820") but prints none, so the scope is checked where
# the parent set it: its log line names the interface.
ll_endpoint_is() {
	local h=$1 peer=$2 e ll idx
	e=$(wg_endpoint "$h" "$peer")
	ll=$(link_local "$peer")
	idx=$(on "$h" ip -o link show dev eth0 | cut -d: -f1)
	case $e in
	"[$ll%eth0]:$PORT"|"[$ll%$idx]:$PORT"|"[$ll]:$PORT") ;;
	*)	echo "$h's endpoint for $peer is ${e:-missing}, want [$ll%eth0]:$PORT"
		return 1 ;;
	esac
	grep -qF "peer $peer: endpoint [$ll%eth0]:$PORT" "$(lab_log "$h")" ||
	    { echo "$h's parent did not set [$ll%eth0]:$PORT for $peer"; return 1; }
}

# ctl_endpoint_is HOST PEER ENDPOINT: HOST's daemon shows ENDPOINT for PEER.
ctl_endpoint_is() {
	local e
	e=$(peer_json "$1" "$2" | jq -r '.endpoint // empty')
	[ "$e" = "$3" ] || { echo "$1 shows ${e:-no endpoint} for $2, want $3"; return 1; }
}

# lan6_pair: a and f use each other's link-local addresses, learned by
# LAN discovery.
lan6_pair() {
	pairs_up a:f f:a >/dev/null || { echo "a-f not up"; return 1; }
	ll_endpoint_is a f && ll_endpoint_is f a || return 1
	[ "$(source_of a f)" = lan ] || { echo "a's endpoint for f from $(source_of a f), not lan"; return 1; }
	[ "$(source_of f a)" = lan ] || { echo "f's endpoint for a from $(source_of f a), not lan"; return 1; }
}

# no_ipv4_lan HOST: IPv4 to and from the LAN on the gossip port dropped
# (and counted) on HOST, so that only IPv6 LAN discovery can work.
no_ipv4_lan() {
	on "$1" nft -f - <<-RULES
	table inet lab6 {
		chain output {
			type filter hook output priority filter; policy accept;
			ip daddr { 198.19.1.0/24, 255.255.255.255 } udp dport $GPORT counter drop
		}
		chain input {
			type filter hook input priority filter; policy accept;
			ip saddr 198.19.1.0/24 udp dport $GPORT counter drop
		}
	}
	RULES
}

# ipv4_dropped HOST: HOST's rules dropped an IPv4 LAN datagram.
ipv4_dropped() {
	on "$1" nft list table inet lab6 | grep -q 'counter packets [1-9]' ||
	    { echo "$1 dropped no IPv4 LAN datagram"; return 1; }
}

# lan_counter HOST NAME: HOST's LAN counter NAME.
lan_counter() {
	ctl "$1" -j show counters | jq -r ".counters.lan.$2"
}

# send6 HOST SRC HOPS HEX: a datagram from SRC (or any) on HOST's eth0 to
# ff02::1, the gossip port, with hop limit HOPS.
send6() {
	on "$1" python3 - "$2" "$3" "$4" "$GPORT" <<-'PY'
	import socket, sys
	src, hops, data, port = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4])
	s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
	idx = socket.if_nametoindex("eth0")
	if src != "any":
	    s.bind((src, 0))
	s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
	s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hops)
	s.sendto(data, ("ff02::1", port, 0, idx))
	PY
}

# counter_above HOST NAME N: HOST's LAN counter NAME is above N.
counter_above() {
	local v
	v=$(lan_counter "$1" "$2")
	[ "${v:-0}" -gt "$3" ] || { echo "$1's lan $2 is $v, not above $3"; return 1; }
}

# sc_lan6: f joins on a's LAN with IPv4 LAN discovery blocked; a-f over
# link-local addresses; forged and routed-looking beacons dropped.
sc_lan6() {
	local t0 pcap=$LAB_DIR/a/beacons6.pcap hex before hl sc
	note "lan6: f starts behind r1, on a's LAN (${LAN[f]}); IPv4 LAN discovery between a and f dropped"
	need_mesh lan6
	lab_ctx a f
	check "lan6: a drops IPv4 LAN datagrams (nftables)" no_ipv4_lan a
	check "lan6: f drops IPv4 LAN datagrams (nftables)" no_ipv4_lan f
	tcpdump_start a beacons6 4 $((LAB_TIMEOUT - 30)) -i eth0 \
	    "ip6 and src host $(link_local f) and udp dst port $GPORT and dst host ff02::1"
	t0=$(now_us)
	lab_wgmeshd_start f
	HOSTS=(p a b f)
	if wait_for "$LAN_DEADLINE" lan6_pair; then
		ok "lan6: a and f use each other's link-local addresses within $LAN_DEADLINE s (source lan)"
		timing "lan6: a-f up over IPv6 link-local" "$(($(now_us) - t0))" lan6 time_to_mesh_s
	else
		bad "lan6: a and f do not use each other's link-local addresses within $LAN_DEADLINE s"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
		views a f | sed 's/^/     /'
	fi
	check "lan6: a -> f through the tunnel" ping6 a f
	check "lan6: f -> a through the tunnel" ping6 f a
	check "lan6: a drops its IPv4 LAN beacons (within a beacon interval)" \
	    wait_for 12 ipv4_dropped a
	check "lan6: f drops its IPv4 LAN beacons (within a beacon interval)" \
	    wait_for 12 ipv4_dropped f
	check "lan6: wgmeshctl shows a's endpoint for f with eth0 as its scope" \
	    ctl_endpoint_is a f "[$(link_local f)%eth0]:$PORT"
	wait_for 5 test -s "$pcap" || true
	hex=$(udp_tool pcap "$pcap" | awk 'NR == 1 { print $5 }')
	if [ -z "$hex" ]; then
		bad "lan6: no IPv6 beacon of f's captured on a's LAN"
	else
		check "lan6: f's IPv6 beacon is $((${#hex} / 2)) bytes (as large as a PING)" \
		    test "$((${#hex} / 2))" -eq "$LAN_DATAGRAM_LEN"
		before=$(wg_endpoints a f p b)
		hl=$(lan_counter a drop_hoplimit)
		sc=$(lan_counter a drop_scope)
		check "lan6: f's beacon sent again with hop limit 64" send6 f any 64 "$hex"
		check "lan6: a drops it and counts it (drop_hoplimit)" wait_for 5 counter_above a drop_hoplimit "$hl"
		on f ip addr add "$ULA_F/64" dev eth0 nodad || die "f: $ULA_F"
		check "lan6: f's beacon sent again from $ULA_F, hop limit 255" send6 f "$ULA_F" 255 "$hex"
		check "lan6: a drops it and counts it (drop_scope)" wait_for 5 counter_above a drop_scope "$sc"
		on f ip addr del "$ULA_F/64" dev eth0
		check "lan6: they changed none of a's endpoints" no_endpoint_change "$before" a f p b
	fi
	check "lan6: a's state file holds no link-local address" sh -c \
	    "! grep -rqi 'fe80' '$LAB_DIR/a/state' 2>/dev/null"
	HOSTS=(p a b)
	check "lan6: f's daemon exits on SIGTERM" stop_daemon f
	stop_pid "${LAB_WGGO[f]}" TERM 5
	on a nft delete table inet lab6
	on f nft delete table inet lab6
}

# --- restart --------------------------------------------------------------------

# sc_restart: a comes back from its persisted state alone.
sc_restart() {
	local t0 p
	note "restart: every daemon stopped; a loses p's endpoint, its device's peers and r1's mappings"
	need_mesh restart
	lab_ctx a
	if stop_all; then
		ok "restart: every daemon exits on SIGTERM"
	else
		bad "restart: every daemon exits on SIGTERM"
	fi
	check "restart: a's state directory holds a state file" files_in "$LAB_DIR/a/state"
	unset 'EPCONF[a:p]'
	write_conf a
	for p in $(others a "${NODES[@]}"); do
		on a wg set "$IFC" peer "${PUB[$p]}" remove
	done
	check "restart: a's device has no peers left" \
	    test -z "$(on a wg show "$IFC" peers)"
	router_forget r1
	t0=$(now_us)
	start_all
	if wait_for "$RESTART_DEADLINE" pairs_up a:p a:b; then
		ok "restart: a sees p and b up again within $RESTART_DEADLINE s (persisted endpoints)"
		timing "restart: a back to the full mesh" "$(($(now_us) - t0))" restart time_to_mesh_s
	else
		bad "restart: a does not see p and b up within $RESTART_DEADLINE s of the restart"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
		on a wg show "$IFC" endpoints | sed 's/^/     a: /'
	fi
	check "restart: a -> p through the tunnel" ping6 a p
	check "restart: a -> b through the tunnel" ping6 a b
	# p's endpoint back in a's configuration, for what follows
	default_endpoints
	write_conf a
	check "restart: a reloads its configuration with p's endpoint again" \
	    test "$(ctl a reload 2>&1)" = "configuration reloaded"
}

# --- psk ------------------------------------------------------------------------

# keys_differ HOST PEER: HOST says PEER is unreachable because the keys
# or the preshared key differ (mesh_why()).
keys_differ() {
	local j
	j=$(peer_json "$1" "$2")
	echo "$1's view of $2: $j"
	jq -e --arg k "$KEYS_DIFFER" \
	    '.state == "unreachable" and (.reason | startswith($k))' \
	    <<<"$j" >/dev/null
}

# no_nat_guess: no node gives any peer a reason that blames NAT.
no_nat_guess() {
	local h r rc=0
	for h in "${HOSTS[@]}"; do
		r=$(ctl "$h" -j show peers |
		    jq -r '.peers[] | select(.reason // "" | test("NAT")) | "\(.name): \(.reason)"')
		[ -z "$r" ] || { echo "$h: $r"; rc=1; }
	done
	return $rc
}

# sc_psk: a has a preshared key that p and b do not (issue 14: every pair
# then said "both behind NAT" after three minutes).  On devices without
# sessions, since a session made before the key changed lives on.
sc_psk() {
	local t0 h p lp
	note "psk: a has a preshared key that p and b do not; devices without sessions"
	need_mesh psk || return
	lab_ctx p a b
	if stop_all; then
		ok "psk: every daemon exits on SIGTERM"
	else
		bad "psk: every daemon exits on SIGTERM"
	fi
	for h in "${HOSTS[@]}"; do
		for p in $(others "$h" "${HOSTS[@]}"); do
			on "$h" wg set "$IFC" peer "${PUB[$p]}" remove
		done
	done
	(umask 077 && wg genpsk >"$LAB_DIR/a/$IFC.psk")
	OPTS[a]="preshared-key-file \"$LAB_DIR/a/$IFC.psk\""
	write_conf a
	check "psk: a's file with the key is valid (wgmeshd -n)" \
	    on a "$WGMESHD" -n -f "$(lab_conf a)"
	lp=$(log_size p)
	t0=$(now_us)
	start_all
	if wait_for "$KEYS_DEADLINE" keys_differ p a; then
		ok "psk: p says of a \"$KEYS_DIFFER\" within $KEYS_DEADLINE s"
		timing "psk: keys seen to differ (p of a)" "$(($(now_us) - t0))" psk time_to_reason_s
	else
		bad "psk: p does not say of a \"$KEYS_DIFFER\" within $KEYS_DEADLINE s"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
	fi
	# the end that only answered may see an initiation of the other's
	# only once that one is sure (rule 8 of mesh.c)
	for h in a:p a:b b:a; do
		check "psk: ${h%:*} says of ${h#*:} \"$KEYS_DIFFER\"" \
		    wait_for "$KEYS_ODD_DEADLINE" keys_differ "${h%:*}" "${h#*:}"
	done
	check "psk: no reason blames NAT, on any node" no_nat_guess
	check "psk: b and p up with each other meanwhile" pairs_up b:p p:b
	check "psk: p logged the reason for a once" \
	    test "$(log_since p "$lp" | grep -c "peer a: .*$KEYS_DIFFER")" -eq 1
	unset 'OPTS[a]'
	write_conf a
	check "psk: a without the key: reload" \
	    test "$(ctl a reload 2>&1)" = "configuration reloaded"
	t0=$(now_us)
	if wait_for "$MESH_DEADLINE" mesh_works; then
		ok "psk: the full mesh again within $MESH_DEADLINE s of a's reload"
		timing "psk: mended key to the full mesh" "$(($(now_us) - t0))" psk time_to_mesh_s
	else
		bad "psk: no full mesh within $MESH_DEADLINE s of a's reload"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
	fi
}

# --- cut ------------------------------------------------------------------------

# ping_direct HOST PEER ADDR: "wgmeshctl ping -c 2 PEER" on HOST: both
# probes answered, each with a round trip and the direct path at ADDR
# (the peer's router), then the summary; -j the same as JSON.
ping_direct() {
	local out
	out=$(ctl "$1" ping -c 2 "$2" 2>&1) || { echo "exit $?: $out"; return 1; }
	printf '%s\n' "$out"
	[ "$(grep -cE "^reply from $2 on $IFC: seq=[12] time=[0-9]+\.[0-9]{3} ms path direct $3:[0-9]+\$" <<<"$out")" -eq 2 ] ||
	    { echo "want two replies, path direct $3"; return 1; }
	grep -qE '^2 probes sent, 2 answered, 0% lost; rtt min/avg/max = [0-9.]+/[0-9.]+/[0-9.]+ ms$' <<<"$out" ||
	    { echo "no summary"; return 1; }
	out=$(ctl "$1" -j ping -c 1 -W 2 -I "$IFC" "$2" 2>&1) || { echo "-j: $out"; return 1; }
	jq -se --arg p "$2" --arg ifc "$IFC" --arg a "$3" '
	    length == 2 and (.[0] | .peer == $p and .interface == $ifc and
	    .seq == 1 and .answered and .rtt_ms > 0 and .path == "direct" and
	    (.endpoint | startswith($a + ":"))) and
	    (.[1] | .sent == 1 and .answered == 1 and .rtt_min_ms > 0)' \
	    <<<"$out" >/dev/null || { echo "-j: $out"; return 1; }
}

# ping_fails HOST PEER TEXT: "wgmeshctl ping PEER" on HOST exits 1 at once
# and says TEXT.
ping_fails() {
	local out rc t0
	t0=$(now_us)
	out=$(ctl "$1" ping "$2" 2>&1)
	rc=$?
	echo "exit $rc in $(fmt_us $(($(now_us) - t0))): $out"
	[ "$rc" -eq 1 ] && grep -qF "$3" <<<"$out" &&
	    [ $(($(now_us) - t0)) -lt 2000000 ]
}

# r2_cut on|off: r2 forwards nothing on its WAN side, or again.
r2_cut() {
	if [ "$1" = on ]; then
		on r2 nft -f - <<-RULES
		table inet labcut {
			chain forward {
				type filter hook forward priority filter - 10; policy accept;
				iifname "eth0" drop
				oifname "eth0" drop
			}
		}
		RULES
	else
		on r2 nft delete table inet labcut
	fi
}

# monitor_says FILE PEER STATE: wgmeshctl monitor's output in FILE has a
# line saying PEER went to STATE (down: any state after up).
monitor_says() {
	local re
	if [ "$3" = down ]; then
		re="^[0-9TZ:-]+ $IFC $2 (connecting|unreachable|waiting) \\(was up\\): "
	else
		re="^[0-9TZ:-]+ $IFC $2 up at "
	fi
	grep -E "$re" "$1" || { cat "$1"; return 1; }
}

# sc_cut: wgmeshctl ping, then r2 cut off and restored under p's monitor.
sc_cut() {
	local mon=$LAB_DIR/p/monitor.txt mpid t0
	note "cut: wgmeshctl ping; r2 cut off the WAN and restored, p's wgmeshctl monitor watching"
	need_mesh cut
	lab_ctx p a b
	check "cut: p pings a: round trips, direct at r1" \
	    ping_direct p a "${LAB_ROUTER_WAN[r1]}"
	check "cut: p pings b: round trips, direct at r2" \
	    ping_direct p b "${WAN[r2]}"
	check "cut: a pings b: round trips, direct at r2" \
	    ping_direct a b "${WAN[r2]}"
	note "cut: p: $(ctl p ping -c 1 b 2>&1 | head -n 1)"
	check "cut: ping of a name that is no peer: exit 1, the peers listed" \
	    ping_fails p nosuch "no peer named nosuch; the peers: a, b"
	on p timeout -k 2 120 "$WGMESHCTL" monitor >"$mon" 2>&1 &
	mpid=$!
	LAB_PIDS+=("$mpid")
	check "cut: p's wgmeshctl monitor connected" wait_for 5 sh -c \
	    "nsenter -t ${LAB_HOLDER[p]} -n -m ss -xp | grep -q '\"wgmeshctl\"'"
	t0=$(now_us)
	r2_cut on || bad "cut: r2 could not be cut"
	if wait_for "$CUT_DOWN_DEADLINE" monitor_says "$mon" b down; then
		ok "cut: p's monitor says b is down within $CUT_DOWN_DEADLINE s"
		timing "cut: b down in p's monitor" "$(($(now_us) - t0))" cut down_s
	else
		bad "cut: p's monitor does not say b is down within $CUT_DOWN_DEADLINE s"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
		views p | sed 's/^/     /'
	fi
	check "cut: p's ping to b fails at once, saying b is not up" \
	    ping_fails p b "peer b on $IFC is not up ("
	t0=$(now_us)
	r2_cut off || bad "cut: r2 could not be restored"
	if wait_for "$CUT_UP_DEADLINE" monitor_says "$mon" b up; then
		ok "cut: p's monitor says b is up again within $CUT_UP_DEADLINE s"
		timing "cut: b up again in p's monitor" "$(($(now_us) - t0))" cut up_s
	else
		bad "cut: p's monitor does not say b is up within $CUT_UP_DEADLINE s"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
		views p | sed 's/^/     /'
	fi
	stop_pid "$mpid" TERM 5
	check "cut: the full mesh is back" wait_for "$MESH_DEADLINE" mesh_up
}

# --- roaming --------------------------------------------------------------------

# p_has_a_at ADDR: p's endpoint for a is at ADDR and p reaches a.
p_has_a_at() {
	endpoint_at p a "$1" && ping1 p a
}

# mesh_back_at ADDR: a is seen at ADDR by p and b, both reach it, and
# everyone sees everyone up.  Pings go towards a only: a's own traffic
# would tell p its new address.
mesh_back_at() {
	endpoint_at p a "$1" && endpoint_at b a "$1" || return 1
	ping1 p a || { echo "p cannot ping a"; return 1; }
	ping1 b a || { echo "b cannot ping a"; return 1; }
	mesh_up
}

# sc_roaming: r1 renumbered; p, then b, find a at its new address.
sc_roaming() {
	local t0 left
	note "roaming: r1's WAN address moves from ${LAB_ROUTER_WAN[r1]} to $ROAM"
	need_mesh roaming
	lab_ctx p a b
	echo "BENCH roaming keepalive_s $KEEPALIVE"	# for the target
	t0=$(now_us)
	lab_router_wan r1 "$ROAM"
	if wait_for "$ROAM_DEADLINE" p_has_a_at "$ROAM"; then
		ok "roaming: p reaches a at $ROAM"
		timing "roaming: p-a back" "$(($(now_us) - t0))"
	else
		bad "roaming: p does not reach a at $ROAM within $ROAM_DEADLINE s"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
	fi
	left=$(((t0 + ROAM_DEADLINE * 1000000 - $(now_us) + 999999) / 1000000))
	[ "$left" -gt 0 ] || left=1
	if wait_for "$left" mesh_back_at "$ROAM"; then
		ok "roaming: the full mesh is back within $ROAM_DEADLINE s (keepalive $KEEPALIVE s + 15 s)"
		timing "roaming: full mesh back" "$(($(now_us) - t0))" roaming recovery_s
	else
		bad "roaming: the full mesh is not back within $ROAM_DEADLINE s (b's endpoint for a: $(wg_endpoint b a))"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
		views "${HOSTS[@]}" | sed 's/^/     /'
	fi
}

# --- attacks --------------------------------------------------------------------

# attack_replay: (a) captured gossip datagrams replayed to a from b and p.
attack_replay() {
	local pcap=$LAB_DIR/a/gossip.pcap grams src hex n before mark up
	local -a from_b=() from_p=()
	note "attacks (a): replayed gossip datagrams"
	if [ -n "$GOSSIP_CAPTURE" ] && alive "$GOSSIP_CAPTURE"; then
		wait_for 10 test "$(pcap_count "$pcap")" -gt 0
		stop_pid "$GOSSIP_CAPTURE" TERM 5
	fi
	# a's own datagrams go to port GPORT too: only those to a
	grams=$(udp_tool pcap "$pcap" 2>/dev/null | awk -v a="$(control_addr a)" '$3 == a')
	n=$(grep -c . <<<"$grams")
	if ! check "attacks (a): gossip datagrams to a were captured ($n)" test "$n" -gt 0; then
		return
	fi
	while read -r src _ _ _ hex; do
		[ "$src" = "$(control_addr b)" ] && [ ${#from_b[@]} -lt 5 ] && from_b+=("$hex")
		[ "$src" = "$(control_addr p)" ] && [ ${#from_p[@]} -lt 5 ] && from_p+=("$hex")
	done <<<"$grams"
	note "attacks (a): ${#from_b[@]} datagrams from b and ${#from_p[@]} from p to replay"
	up=$(up_peers a)
	# shellcheck disable=SC2086
	before=$(wg_endpoints a $up)
	mark=$(log_size a)
	tcpdump_start a replay 200 30 -i "$IFC" "udp dst port $GPORT"
	n=$((2 * (${#from_b[@]} + ${#from_p[@]})))
	for src in b p; do
		# b's and p's datagrams twice each: replays, and forgeries
		# from the one that did not send them
		on "$src" python3 "$UDPTOOL" send "$(control_addr "$src")" 0 \
		    "$(control_addr a)" "$GPORT" hex "${from_b[@]}" "${from_p[@]}" \
		    "${from_b[@]}" "${from_p[@]}" | sed "s/^/---- attacks (a): from $src: /"
	done
	# p's at least reach a through the tunnel
	wait_for 3 test "$(pcap_count "$LAB_DIR/a/replay.pcap")" -ge "$n"
	stop_pid "$TCPDUMP" TERM 5
	note "attacks (a): $(pcap_count "$LAB_DIR/a/replay.pcap") datagrams to a's port $GPORT seen on its $IFC meanwhile ($n sent by p, as many by b)"
	# shellcheck disable=SC2086
	if wait_for 3 endpoints_moved "$before" a $up; then
		bad "attacks (a): a's endpoints changed after the replays"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
	else
		ok "attacks (a): a's endpoints for its up peers did not change"
	fi
	check "attacks (a): a's wgmeshd still runs" runs a
	check "attacks (a): the mesh stays up" baseline_up
	note "attacks (a): a's log after the replays: $(log_since a "$mark" | grep -c .) lines"
}

# nonpeer_probe FROM FROMADDR TO TOADDR: datagrams from a non-peer
# address on the underlay to TO's listen and gossip ports; TO must send
# nothing back (UDP; the kernel's ICMP port unreachable is not wgmeshd's).
nonpeer_probe() {
	local from=$1 fa=$2 to=$3 ta=$4 sport=40001 port hexes
	# junk, a 44-byte "request", a handshake initiation's size, and any
	# captured gossip datagram
	hexes="00 $(head -c 44 /dev/urandom | od -An -tx1 | tr -d ' \n') 01000000$(head -c 144 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	hexes="$hexes $(udp_tool pcap "$LAB_DIR/a/gossip.pcap" 2>/dev/null | awk '{ print $5 }' | head -n 3 | tr '\n' ' ')"
	tcpdump_start "$to" "nonpeer-$from" 1 20 -i eth0 \
	    "udp and dst host $fa and dst port $sport"
	for port in "$PORT" "$GPORT"; do
		# shellcheck disable=SC2086
		on "$from" python3 "$UDPTOOL" send "$fa" "$sport" "$ta" "$port" hex $hexes >/dev/null
	done
	# an answer would come at once: 3 s without one is enough
	if wait_for 3 test "$(pcap_count "$LAB_DIR/$to/nonpeer-$from.pcap")" -gt 0; then
		bad "attacks (b): $to answered datagrams from the non-peer $fa"
		tcpdump -n -r "$LAB_DIR/$to/nonpeer-$from.pcap" 2>/dev/null | sed 's/^/     /'
	else
		ok "attacks (b): $to sent nothing back to the non-peer $fa:$sport"
	fi
	stop_pid "$TCPDUMP" TERM 5
	check "attacks (b): $to's wgmeshd still runs" runs "$to"
}

# attack_nonpeer: (b) r1 (not a node) probes a on its LAN and p on the WAN.
attack_nonpeer() {
	note "attacks (b): datagrams from an address that is no peer's"
	nonpeer_probe r1 "${LAN[r1]}" a "${LAN[a]}"
	nonpeer_probe r1 "${LAB_ROUTER_WAN[r1]}" p "${WAN[p]}"
	check "attacks (b): the mesh stays up" baseline_up
}

# attack_flood: (c) FLOOD junk datagrams to a's gossip port through the
# tunnel, from b (and from p, whose tunnel to a is up in any case).
attack_flood() {
	local src out t0 mark
	note "attacks (c): $FLOOD junk datagrams to a's gossip port from b's and from p's control address"
	mark=$(log_size a)
	for src in b p; do
		[ "$src" = b ] && ! handshake_on b a >/dev/null &&
		    note "attacks (c): b has no tunnel to a: its datagrams do not reach a"
		t0=$(now_us)
		out=$(on "$src" python3 "$UDPTOOL" send "$(control_addr "$src")" 0 \
		    "$(control_addr a)" "$GPORT" junk "$FLOOD" 200 2>&1)
		note "attacks (c): from $src: $out in $(fmt_us "$(($(now_us) - t0))")"
	done
	check "attacks (c): a's wgmeshd still runs" runs a
	t0=$(now_us)
	check "attacks (c): a's wgmeshd answers wgmeshctl" ctl a show peers
	timing "attacks (c): wgmeshctl on a after the flood" "$(($(now_us) - t0))"
	if wait_for 10 baseline_up; then
		ok "attacks (c): the mesh is still up after the flood"
	else
		bad "attacks (c): the mesh is not up 10 s after the flood"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
	fi
	note "attacks (c): a's log grew by $(log_since a "$mark" | grep -c .) lines"
}

# attack_bad_endpoint: (d) a's entry for b points at p's address and
# port; a restarts with a device that has forgotten b: the mesh forms.
attack_bad_endpoint() {
	local t0
	note "attacks (d): a's configuration gives p's address ${WAN[p]}:$PORT as b's endpoint"
	EPCONF[a:b]=${WAN[p]}:$PORT
	write_conf a
	stop_daemon a || bad "attacks (d): a's wgmeshd does not stop"
	on a wg set "$IFC" peer "${PUB[b]}" remove
	t0=$(now_us)
	lab_wgmeshd_start a
	if wait_for "$BADEP_DEADLINE" mesh_works; then
		ok "attacks (d): full mesh within $BADEP_DEADLINE s (up, and pings through every tunnel)"
		timing "attacks (d): time to full mesh" "$(($(now_us) - t0))"
	else
		bad "attacks (d): no full mesh within $BADEP_DEADLINE s"
		printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
	fi
	check "attacks (d): a-p and b-p up" star_up
	check "attacks (d): a's endpoint for b is r2's WAN address, not p's" \
	    endpoint_at a b "${LAB_ROUTER_WAN[r2]}"
	check "attacks (d): a -> b through the tunnel" ping6 a b
	default_endpoints
	write_conf a
	check "attacks (d): a reloads its configuration without it" \
	    test "$(ctl a reload 2>&1)" = "configuration reloaded"
}

# sc_attacks: (a) to (d).
sc_attacks() {
	need_mesh attacks
	lab_ctx a
	attack_replay
	attack_nonpeer
	attack_flood
	lab_ctx p a b
	attack_bad_endpoint
}

# --- symmetric ------------------------------------------------------------------

# sc_symmetric: both routers symmetric, and relaying refused (relay-use
# no, as in every scenario here; regress/lab/relay.sh relays such
# pairs): a-b must give up politely.
sc_symmetric() {
	local t0 end next h e ea eb ca=0 cb=0 star_t='' la lb
	note "symmetric: r1 and r2 map each flow to a new random port; fresh devices and daemons"
	lab_ctx p a b
	if stop_all; then
		ok "symmetric: every daemon exits on SIGTERM"
	else
		bad "symmetric: every daemon exits on SIGTERM"
	fi
	lab_router_mode r1 symmetric
	lab_router_mode r2 symmetric
	router_forget r1
	router_forget r2
	for h in "${HOSTS[@]}"; do
		wggo_renew "$h"
	done
	default_endpoints
	for h in "${HOSTS[@]}"; do
		write_conf "$h"
	done
	la=$(log_size a)
	lb=$(log_size b)
	t0=$(now_us)
	start_all
	end=$((t0 + SYM_WINDOW * 1000000))
	next=$t0
	ea=$(wg_endpoint a b)
	eb=$(wg_endpoint b a)
	# one sample a second: the endpoints a and b set for each other
	while [ "$(now_us)" -lt "$end" ]; do
		running || break
		e=$(wg_endpoint a b)
		[ "$e" != "$ea" ] && ca=$((ca + 1)) ea=$e
		e=$(wg_endpoint b a)
		[ "$e" != "$eb" ] && cb=$((cb + 1)) eb=$e
		if [ -z "$star_t" ] && star_up >/dev/null 2>&1; then
			star_t=$(($(now_us) - t0))
		fi
		next=$((next + 1000000))
		h=$((next - $(now_us)))
		[ "$h" -gt 0 ] && sleep "$(secs "$h")"
	done
	check "symmetric: the daemons ran through the $SYM_WINDOW s" running
	if [ -n "$star_t" ]; then
		ok "symmetric: a-p and b-p up"
		timing "symmetric: a-p and b-p up" "$star_t"
	else
		bad "symmetric: a-p and b-p not up within $SYM_WINDOW s"
	fi
	check "symmetric: p still up with a and b (and they with p)" star_up
	check "symmetric: a-b is not up (a's view, a's device)" not_up a b
	check "symmetric: b-a is not up (b's view, b's device)" not_up b a
	check "symmetric: a sees b unreachable, with a reason" unreachable a b
	check "symmetric: b sees a unreachable, with a reason" unreachable b a
	check "symmetric: a changed its endpoint for b $ca times in $SYM_WINDOW s (< $SYM_MAX_CHANGES)" \
	    test "$ca" -lt "$SYM_MAX_CHANGES"
	check "symmetric: b changed its endpoint for a $cb times in $SYM_WINDOW s (< $SYM_MAX_CHANGES)" \
	    test "$cb" -lt "$SYM_MAX_CHANGES"
	ca=$(log_since a "$la" | grep -c 'peer b: trying endpoint')
	cb=$(log_since b "$lb" | grep -c 'peer a: trying endpoint')
	check "symmetric: a's log: 'trying endpoint' for b $ca times (< $SYM_MAX_CHANGES)" \
	    test "$ca" -lt "$SYM_MAX_CHANGES"
	check "symmetric: b's log: 'trying endpoint' for a $cb times (< $SYM_MAX_CHANGES)" \
	    test "$cb" -lt "$SYM_MAX_CHANGES"
}

# ------------------------------------------------------------------------------
for s in $ALL_SCENARIOS; do
	[ -n "${WANT[$s]:-}" ] && "sc_$s"
done
note "timings: $LAB_TIMINGS"
lab_done
