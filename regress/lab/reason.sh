#!/usr/bin/env bash
# Lab test of why a peer is not up (mesh_why() in wgmeshd/mesh.c), as
# "wgmeshctl show peers" (text and -j) and the log say it: three public
# hosts with wireguard-go, h1 and h2 with one preshared key, h3 with
# another; h1 also has a peer h4 whose endpoint is a host name that does
# not resolve (h1's resolver is 127.0.0.1, where nothing answers, with a
# one-second timeout and one attempt).  Checks:
# - h1 and h2 come up (the lab works);
# - h1 and h2 say of h3 "keys or preshared key differ", unreachable,
#   within the first round of tries and its pause (KEYS_DEADLINE s of the
#   start), never a guess about NAT; h3 says it of them too, within
#   ODD_DEADLINE s (of two ends, the one that answers the other's
#   initiations sends none of its own, and so may see nothing until the
#   other, sure, sends one: rule 8 of mesh.c);
# - h1 says of h4 "cannot resolve h4.lab.invalid: " and what the resolver
#   said;
# - each reason in "show peers" (its NOTE column) and in -j, and in the
#   log once, a round of tries later too; no raw libevent message
#   ("[msg] ...") in any log.
#
#	regress/lab/reason.sh
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
# The first round (one endpoint, 5 s) and its pause (10 s), from the start.
KEYS_DEADLINE=15
ODD_DEADLINE=25
KEYS="keys or preshared key differ"
BADNAME=h4.lab.invalid

lab_require ip nsenter unshare timeout wg jq busybox wireguard-go \
    "$WGMESHD" "$WGMESHCTL"
lab_prepare
lab_init

declare -A ADDR4=([h1]=198.18.0.1 [h2]=198.18.0.2 [h3]=198.18.0.3) PUB=()

# write_conf HOST PEER[=ENDPOINT]...: HOST's configuration, with the
# preshared key in /etc/wgmeshd/IFC.psk; a PEER without an endpoint given
# has its address.
write_conf() {
	local h=$1 p
	local -a peers=()
	shift
	for p in "$@"; do
		if [ "$p" = "${p#*=}" ]; then
			peers+=("$p=${ADDR4[$p]}:$PORT")
		else
			peers+=("$p")
		fi
	done
	{
		echo "# lab $LAB_PREFIX, host $h"
		echo "interface $IFC {"
		echo "	name \"$h\""
		echo "	listen-port $PORT"
		echo "	preshared-key-file \"/etc/wgmeshd/$IFC.psk\""
		conf_peers "${peers[@]}"
		echo "}"
	} | conf_put "$h"
}

# psk HOST KEY: HOST's preshared key file.
psk() {
	on "$1" sh -c "umask 077 && echo '$2' >/etc/wgmeshd/$IFC.psk" ||
	    die "$1: preshared key"
}

# resolver_nowhere HOST: HOST's /etc/resolv.conf (in its mount namespace)
# names 127.0.0.1, where nothing listens there: a name fails in about a
# second.
resolver_nowhere() {
	local f=$LAB_DIR/$1/resolv.conf t
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$f"
	t=$(readlink -f /etc/resolv.conf)
	[ -f "$t" ] || die "/etc/resolv.conf is not a file ($t): cannot point it elsewhere"
	on "$1" mount --bind "$f" "$t" || die "$1: mount $f on $t"
}

# reason HOST PEER: HOST's reason for PEER in "show peers -j".
reason() {
	ctl "$1" -j show peers "$2" | jq -r '.peers[0] | "\(.state): \(.reason)"'
}

# says HOST PEER STATE TEXT: HOST's -j says of PEER STATE, the reason
# beginning with TEXT.
says() {
	local r
	runs "$1" || { echo "$1: wgmeshd is not running"; return 99; }
	r=$(reason "$1" "$2") || return 1
	echo "$1 of $2: $r"
	[[ $r == "$3: $4"* ]]
}

# text_says HOST PEER TEXT: the NOTE column of "show peers" has TEXT, and
# the SINCE column a time.
text_says() {
	local t
	t=$(ctl "$1" show peers) || return 1
	grep -F -- "$3" <<<"$t" | grep -qw "$2" ||
	    { echo "not in show peers: $3"; printf '%s\n' "$t"; return 1; }
}

# logged_once HOST PEER TEXT: HOST's log has one line saying TEXT of PEER.
logged_once() {
	local n
	n=$(grep -F -- "peer $2: " "$(lab_log "$1")" | grep -cF -- "$3")
	[ "$n" = 1 ] || { echo "$1's log says it $n times:"; grep -F -- "peer $2: " "$(lab_log "$1")"; return 1; }
}

# no_raw_libevent HOST: no line of libevent's own ("[msg] Nameserver ...")
# in HOST's log: its messages go through ours.
no_raw_libevent() {
	! grep -E '^\[(debug|msg|warn|err)\] ' "$(lab_log "$1")"
}

note "h1 and h2 with one preshared key, h3 with another, h4 a name"
for h in h1 h2 h3; do
	lab_host "$h" "${ADDR4[$h]}"
	lab_wg_key "$h"
	lab_wggo "$h"
done
PUB[h4]=$(wg genkey | wg pubkey)
k=$(wg genpsk)
psk h1 "$k"
psk h2 "$k"
psk h3 "$(wg genpsk)"
resolver_nowhere h1
write_conf h1 h2 h3 "h4=$BADNAME:$PORT"
write_conf h2 h1 h3
write_conf h3 h1 h2
lab_ctx h1 h2 h3
t0=$(now_us)
for h in h1 h2 h3; do
	lab_wgmeshd_start "$h"
done

check "h1 and h2 up" wait_for 20 says h1 h2 up ""
check "h2 sees h1 up" says h2 h1 up ""
# keys_said HOST PEER DEADLINE: HOST says PEER's keys differ within
# DEADLINE s of the start.
keys_said() {
	local left=$(($3 - ($(now_us) - t0) / 1000000))
	[ "$left" -gt 0 ] || left=1
	if wait_for "$left" says "$1" "$2" unreachable "$KEYS"; then
		ok "$1 says of $2: $KEYS, $(fmt_us $(($(now_us) - t0))) after the start"
	else
		bad "$1 does not say of $2 \"$KEYS\" within $3 s: $WAIT_OUT"
	fi
}
keys_said h1 h3 "$KEYS_DEADLINE"
keys_said h2 h3 "$KEYS_DEADLINE"
check "h1 says of h4: cannot resolve $BADNAME" \
    wait_for 10 says h1 h4 unreachable "cannot resolve $BADNAME: "
note "h1 of h4: $(reason h1 h4)"
check "h1: show peers' NOTE column says $KEYS of h3" \
    text_says h1 h3 "$KEYS"
check "h1: show peers' NOTE column says cannot resolve of h4" \
    text_says h1 h4 "cannot resolve $BADNAME"
keys_said h3 h1 "$ODD_DEADLINE"
keys_said h3 h2 "$ODD_DEADLINE"

# a round of tries later (the second ends 20 s after the start): said once
while [ $(($(now_us) - t0)) -lt 22000000 ]; do
	sleep 0.5
done
for hp in h1:h3 h2:h3 h3:h1 h3:h2; do
	h=${hp%:*} p=${hp#*:}
	check "$h's log says once of $p: $KEYS" logged_once "$h" "$p" "$KEYS"
	check "$h still says of $p: $KEYS" says "$h" "$p" unreachable "$KEYS"
done
check "h1's log says once of h4: cannot resolve $BADNAME" \
    logged_once h1 h4 "cannot resolve $BADNAME: "
check "h1's log has no word of a NAT about h3" \
    sh -c "! grep -F 'peer h3: ' '$(lab_log h1)' | grep -F NAT"
for h in h1 h2 h3; do
	check "$h: no raw libevent message in the log" no_raw_libevent "$h"
done
lab_done
