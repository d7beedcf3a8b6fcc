#!/usr/bin/env bash
# The WireGuard backends against the real thing (regress/unit/test_wg):
#
#	regress/wg/run.sh userspace	wireguard-go, on this host
#	regress/wg/run.sh kernel	kernel WireGuard (module not loaded
#					yet is fine), e.g. in the VM:
#		regress/vm/run.sh $(pwd)/regress/wg/run.sh kernel
#
# Each run gets a network namespace of its own (and, for userspace, a
# mount namespace with a private /run, so the UAPI socket is ours alone),
# deleted at the end.  Build first (make regress/unit/test_wg); nothing is
# written to the tree.  Ends with "N passed, N failed"; exits 0 only if
# nothing failed, 77 after a "SKIP: ..." line when the backend is missing.
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
PATH=$PATH:/usr/sbin:/sbin
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd -P)
TEST=$ROOT/regress/unit/test_wg
IFNAME=wgt0
NS=wgmeshd-wg-$$
SCRATCH=

pass=0 fail=0

usage() {
	echo "usage: $0 userspace|kernel" >&2
	exit 2
}
skip() {
	echo "SKIP: $*"
	exit 77
}
ok() {
	echo "ok   $*"
	pass=$((pass + 1))
}
bad() {
	echo "FAIL $*"
	fail=$((fail + 1))
}

# Every process in our namespace is one we started; stop them by pid.
cleanup() {
	local pids p i
	if ip netns list 2>/dev/null | grep -qw "$NS"; then
		pids=$(ip netns pids "$NS" 2>/dev/null)
		for p in $pids; do
			kill -TERM "$p" 2>/dev/null
		done
		for i in $(seq 50); do
			pids=$(ip netns pids "$NS" 2>/dev/null)
			[ -z "$pids" ] && break
			sleep 0.1
		done
		for p in $pids; do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$NS" 2>/dev/null
	fi
	[ -n "$SCRATCH" ] && rm -rf -- "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Adds up test_wg's summary line; prints its output as it comes.
run_test() {
	local out rc last
	out=$SCRATCH/test.out
	# The log lines on stderr say why something was refused; they
	# matter only when a check failed.
	"$@" 2>"$SCRATCH/test.err" | tee "$out"
	rc=${PIPESTATUS[0]}
	last=$(tail -n 1 "$out")
	if [ "$rc" -ne 0 ] && [ -s "$SCRATCH/test.err" ]; then
		echo "----- stderr -----"
		cat "$SCRATCH/test.err"
		echo "-----"
	fi
	if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		pass=$((pass + BASH_REMATCH[1]))
		fail=$((fail + BASH_REMATCH[2]))
		[ "$rc" -eq 0 ] || [ "${BASH_REMATCH[2]}" -ne 0 ] ||
		    bad "test_wg: exit status $rc"
	else
		bad "test_wg: exit status $rc and no summary line"
	fi
}

# The part that runs inside the namespaces: wireguard-go in the
# foreground, backgrounded here, and test_wg against it.
userspace_inner() {
	local wgpid i rc
	mount -t tmpfs -o mode=755 tmpfs /run || return 1
	mkdir -p /run/wireguard
	ip link set lo up
	wireguard-go -f "$IFNAME" >"$SCRATCH/wireguard-go.log" 2>&1 &
	wgpid=$!
	for i in $(seq 100); do
		[ -S "/run/wireguard/$IFNAME.sock" ] && break
		kill -0 "$wgpid" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -S "/run/wireguard/$IFNAME.sock" ]; then
		echo "FAIL wireguard-go: no UAPI socket within 10 s"
		tail -n 20 "$SCRATCH/wireguard-go.log"
		kill "$wgpid" 2>/dev/null
		return 1
	fi
	echo "ok   wireguard-go $IFNAME is up (pid $wgpid)"
	"$TEST" userspace "$IFNAME"
	rc=$?
	kill -TERM "$wgpid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$wgpid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$wgpid" 2>/dev/null; then
		echo "wireguard-go did not stop; killed"
		kill -KILL "$wgpid" 2>/dev/null
	fi
	wait "$wgpid" 2>/dev/null
	return $rc
}

[ $# -eq 1 ] || usage
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
[ -x "$TEST" ] || {
	echo "FAIL $TEST not built (make regress/unit/test_wg)"
	echo "0 passed, 1 failed"
	exit 1
}
SCRATCH=$(mktemp -d /tmp/wgmeshd-wg.XXXXXX) || exit 2
start=$(date +%s%N)

case $1 in
userspace)
	command -v wireguard-go >/dev/null 2>&1 ||
	    skip "wireguard-go not found (apt-get install wireguard-go)"
	command -v wg >/dev/null 2>&1 ||
	    skip "wg not found (apt-get install wireguard-tools)"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	ip netns add "$NS" || skip "cannot make a network namespace"
	export IFNAME SCRATCH TEST
	export -f userspace_inner
	run_test ip netns exec "$NS" unshare --mount --propagation private \
	    bash -c userspace_inner
	# The socket was in the private /run: nothing left on the host.
	if [ -e "/run/wireguard/$IFNAME.sock" ]; then
		bad "a UAPI socket leaked into the host's /run"
	else
		ok "host /run untouched"
	fi
	;;
kernel)
	command -v wg >/dev/null 2>&1 ||
	    skip "wg not found (apt-get install wireguard-tools)"
	grep -q '^wireguard ' /proc/modules 2>/dev/null ||
	    modprobe -n -q wireguard 2>/dev/null ||
	    skip "no wireguard module for $(uname -r)"
	ip netns add "$NS" || skip "cannot make a network namespace"
	ip -n "$NS" link set lo up
	# No modprobe: creating the link through rtnetlink loads the
	# module, as it will for the daemon.
	run_test ip netns exec "$NS" "$TEST" kernel "$IFNAME"
	if grep -q '^wireguard ' /proc/modules; then
		ok "wireguard module loaded"
	else
		bad "wireguard module not loaded"
	fi
	;;
*)
	usage
	;;
esac

cleanup
if ip netns list | grep -qw "$NS"; then
	bad "namespace $NS not deleted"
else
	ok "namespace deleted"
fi
trap - EXIT
echo "time: $((($(date +%s%N) - start) / 1000000)) ms"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
