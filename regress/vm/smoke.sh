#!/usr/bin/env bash
# Proves the kernel VM harness: run inside the guest with
#	regress/vm/run.sh regress/vm/smoke.sh
# Checks that wireguard.ko loads and works: one interface configured with wg,
# then two network namespaces joined by a veth, each with a kernel WireGuard
# interface, pinging each other through the tunnel.  Ends with
# "N passed, N failed"; exits 0 only if nothing failed.
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

if [ "${WGMESHD_VM:-}" != 1 ]; then
	echo "smoke.sh: run me in the VM: regress/vm/run.sh $0" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

pass=0 fail=0
NSA=wgsmoke-a NSB=wgsmoke-b

ok() {
	echo "ok   $*"
	pass=$((pass + 1))
}
bad() {
	echo "FAIL $*"
	fail=$((fail + 1))
}
# check NAME COMMAND...: runs COMMAND, counts the result, shows its output
# when it fails.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		bad "$name: $*"
		[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/     /'
	fi
	return 0
}

cleanup() {
	ip link del wgtest0 2>/dev/null
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
}
trap cleanup EXIT

echo "kernel $(uname -r)"

# One interface in the initial namespace.
check "ip link add type wireguard" ip link add wgtest0 type wireguard
check "wireguard module loaded" grep -q '^wireguard ' /proc/modules
check "wg set private-key listen-port" \
    wg set wgtest0 private-key <(wg genkey) listen-port 51820
wg show wgtest0
check "wg show reports the listen port" \
    bash -c 'wg show wgtest0 listen-port | grep -qx 51820'
check "ip link del" ip link del wgtest0

check "modprobe tun" modprobe tun
check "/dev/net/tun exists" test -c /dev/net/tun

# Two hosts joined by a veth on 198.18.0.0/24, tunnel on fd00::/64.
ipa() { ip -n "$NSA" "$@"; }
ipb() { ip -n "$NSB" "$@"; }
check "ip netns add" ip netns add "$NSA"
check "ip netns add" ip netns add "$NSB"
check "veth pair" ip link add veth-a netns "$NSA" type veth peer name veth-b netns "$NSB"
check "underlay address a" ipa addr add 198.18.0.1/24 dev veth-a
check "underlay address b" ipb addr add 198.18.0.2/24 dev veth-b
ipa link set lo up
ipb link set lo up
check "underlay up a" ipa link set veth-a up
check "underlay up b" ipb link set veth-b up

keya=$(wg genkey) keyb=$(wg genkey)
puba=$(wg pubkey <<<"$keya") pubb=$(wg pubkey <<<"$keyb")
check "wg link a" ipa link add wg0 type wireguard
check "wg link b" ipb link add wg0 type wireguard
check "wg config a" ip netns exec "$NSA" wg set wg0 \
    private-key <(echo "$keya") listen-port 51820 \
    peer "$pubb" endpoint 198.18.0.2:51820 allowed-ips fd00::2/128
check "wg config b" ip netns exec "$NSB" wg set wg0 \
    private-key <(echo "$keyb") listen-port 51820 \
    peer "$puba" endpoint 198.18.0.1:51820 allowed-ips fd00::1/128
check "tunnel address a" ipa addr add fd00::1/64 dev wg0 nodad
check "tunnel address b" ipb addr add fd00::2/64 dev wg0 nodad
check "tunnel up a" ipa link set wg0 up
check "tunnel up b" ipb link set wg0 up

# busybox ping: iputils may not be installed on the host.
ping6() {
	local _
	for _ in 1 2 3 4 5; do
		ip netns exec "$1" busybox ping6 -c 1 -W 2 "$2" && return 0
	done
	return 1
}
ping4() {
	ip netns exec "$1" busybox ping -c 1 -W 2 "$2"
}
check "underlay ping a -> b" ping4 "$NSA" 198.18.0.2
check "tunnel ping a -> b" ping6 "$NSA" fd00::2
check "tunnel ping b -> a" ping6 "$NSB" fd00::1
ip netns exec "$NSA" wg show wg0
check "handshake recorded" bash -c \
    "ip netns exec $NSA wg show wg0 latest-handshakes | awk '{ exit !(\$2 > 0) }'"
check "bytes received through the tunnel" bash -c \
    "ip netns exec $NSB wg show wg0 transfer | awk '{ exit !(\$2 > 0) }'"

cleanup
check "namespaces deleted" bash -c "! ip netns list | grep -q wgsmoke-"
trap - EXIT

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
