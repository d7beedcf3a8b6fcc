#!/usr/bin/env bash
# Two real WireGuard peers (wireguard-go) that cannot reach each other
# talk through the relay process: a and b each have a link to r alone
# (r does not route), and each has the other's endpoint at r's relay
# port.  The relay latches both legs on the peers' own handshakes (so its
# mac1 check agrees with WireGuard's), pings pass over the tunnel, and
# each peer sees the other at the relay's port.
#	r: 198.18.1.1 (to a), 198.18.2.1 (to b); relay_test -w, wgmeshd -R
#	a: 198.18.1.2, overlay fd00:72::a	b: 198.18.2.2, fd00:72::b
set -u
umask 077
cd "$(dirname "$0")/../.."
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the relay's WireGuard test needs root"
	exit 77
fi
for cmd in wireguard-go wg ip busybox; do
	command -v $cmd >/dev/null || { bad "$cmd is missing"; finish; }
done
for f in wgmeshd/wgmeshd regress/relay/relay_test; do
	[ -x "$f" ] || { bad "$f is not built"; finish; }
done
getent passwd _wgmeshd >/dev/null ||
    useradd -r -d /var/empty -s /usr/sbin/nologin _wgmeshd
mkdir -p /var/empty

r=rlr$$ a=rla$$ b=rlb$$
work=$(mktemp -d /tmp/wgmeshd-relaywg.XXXXXX)
pids=()
# wireguard-go's sockets are in this host's /run/wireguard, by names of
# this run's own; a directory made for them goes with them (another test
# would take it for one of its own mount namespace's)
made_run_wg=0
[ -d /run/wireguard ] || made_run_wg=1
cleanup() {
	exec 9>&- 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	for n in $r $a $b; do ip netns del $n 2>/dev/null; done
	rm -f /run/wireguard/rlwga$$.sock /run/wireguard/rlwgb$$.sock
	[ "$made_run_wg" = 1 ] && rmdir /run/wireguard 2>/dev/null
	rm -rf -- "$work"
}
trap cleanup EXIT

for n in $r $a $b; do
	ip netns add $n && ip -n $n link set lo up || { bad "netns $n"; finish; }
done
ip link add rlva$$ netns $a type veth peer name rlra$$ netns $r &&
ip link add rlvb$$ netns $b type veth peer name rlrb$$ netns $r &&
ip -n $a addr add 198.18.1.2/24 dev rlva$$ &&
ip -n $r addr add 198.18.1.1/24 dev rlra$$ &&
ip -n $b addr add 198.18.2.2/24 dev rlvb$$ &&
ip -n $r addr add 198.18.2.1/24 dev rlrb$$ &&
for l in "$a rlva$$" "$b rlvb$$" "$r rlra$$" "$r rlrb$$"; do
	set -- $l; ip -n $1 link set $2 up || exit 1
done || { bad "links"; finish; }
ip netns exec $r sysctl -qw net.ipv4.ip_forward=0

# the peers' WireGuard (its UAPI sockets under /run/wireguard, by name)
for h in a b; do
	ns=${!h}
	ip netns exec $ns wireguard-go -f rlwg$h$$ >"$work/wg-$h.log" 2>&1 &
	pids+=($!)
done
for i in $(seq 50); do
	[ -S /run/wireguard/rlwga$$.sock ] && [ -S /run/wireguard/rlwgb$$.sock ] && break
	sleep 0.1
done
wg genkey >"$work/a.key"; wg genkey >"$work/b.key"
pa=$(wg pubkey <"$work/a.key"); pb=$(wg pubkey <"$work/b.key")

# the relay, with this pair: a is end 0, b end 1
mkfifo "$work/ctl"
ip netns exec $r ./regress/relay/relay_test -w ./wgmeshd/wgmeshd \
    "$work/relay.log" "$pa" "$pb" 198.18.1.2 198.18.2.2 "$work/ports" \
    <"$work/ctl" >"$work/out" 2>&1 &
pids+=($!)
exec 9>"$work/ctl"
for i in $(seq 50); do [ -s "$work/ports" ] && break; sleep 0.1; done
read -r p0 p1 <"$work/ports" || { bad "the relay opened no pair"; cat "$work/out"; finish; }
ok

ip netns exec $a wg set rlwga$$ private-key "$work/a.key" listen-port 51820 \
    peer "$pb" endpoint 198.18.1.1:$p0 allowed-ips fd00:72::b/128 \
    persistent-keepalive 1
ip netns exec $b wg set rlwgb$$ private-key "$work/b.key" listen-port 51820 \
    peer "$pa" endpoint 198.18.2.1:$p1 allowed-ips fd00:72::a/128 \
    persistent-keepalive 1
ip -n $a addr add fd00:72::a/64 dev rlwga$$ && ip -n $a link set rlwga$$ up
ip -n $b addr add fd00:72::b/64 dev rlwgb$$ && ip -n $b link set rlwgb$$ up

# busybox's ping: busybox-static is in make deps, iputils-ping is not
ping6() {
	local i
	for i in $(seq "$3"); do
		ip netns exec "$1" busybox ping -6 -c 1 -W 1 "$2" >/dev/null 2>&1 &&
		    return 0
	done
	return 1
}
if ping6 $a fd00:72::b 15; then
	ok
else
	bad "a cannot ping b through the relay"
fi
if ping6 $b fd00:72::a 5; then
	ok
else
	bad "b cannot ping a through the relay"
fi
ea=$(ip netns exec $a wg show rlwga$$ endpoints | awk '{ print $2 }')
eb=$(ip netns exec $b wg show rlwgb$$ endpoints | awk '{ print $2 }')
[ "$ea" = "198.18.1.1:$p0" ] && ok || bad "a sees b at $ea, not 198.18.1.1:$p0"
[ "$eb" = "198.18.2.1:$p1" ] && ok || bad "b sees a at $eb, not 198.18.2.1:$p1"

exec 9>&-
for i in $(seq 50); do grep -q '^forwarded' "$work/out" && break; sleep 0.1; done
line=$(grep '^forwarded' "$work/out")
echo "relay: $line"
set -- $line
# a handshake (2) and two pings each way (4)
[ "${2:-0}" -ge 6 ] && ok || bad "forwarded ${2:-none}"
[ "${4:-0}" -ge 2 ] && ok || bad "latched ${4:-none}"
[ "${8:-1}" -eq 0 ] && ok || bad "WireGuard's own handshakes dropped as for a wrong peer: ${8:-none}"
[ "$fail" -eq 0 ] || { echo "relay log:"; tail -20 "$work/relay.log"; }
finish
