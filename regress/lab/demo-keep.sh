#!/usr/bin/env bash
# "make demo KEEP=1" then "make demo-stop": the demo leaves its mesh
# running and says what to try; a command runs on a node through
# "demo.sh on"; "demo.sh stop" stops every process it started (by pid)
# and deletes its namespaces and directory.  Needs root, like the demo.
# Ends with "N passed, N failed".
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
pass=0 fail=0
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the demo needs root (network namespaces)"
	exit 77
fi
work=$(mktemp -d) || exit 1
# a state file of its own: a demo a person left running is not touched
export DEMO_STATE=$work/demo.state

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
check() {
	local name=$1
	shift
	if "$@" >"$work/check.out" 2>&1; then
		ok "$name"
	else
		bad "$name"
		sed 's/^/     /' "$work/check.out" | head -n 10
	fi
}
finish() {
	# whatever happened, nothing stays behind
	[ -f "$DEMO_STATE" ] && bash "$HERE/demo.sh" stop >/dev/null 2>&1
	rm -rf "$work"
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
trap finish EXIT

DEMO_KEEP=1 timeout 200 bash "$HERE/demo.sh" >"$work/demo.out" 2>&1
rc=$?
check "make demo KEEP=1: exit 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/     /' "$work/demo.out" | tail -n 20
check "it says the mesh keeps running and how to stop it" sh -c \
    "grep -q '^The mesh keeps running' '$work/demo.out' &&
    grep -q 'make demo-stop' '$work/demo.out' &&
    grep -q 'demo.sh on alice wgmeshctl show peers' '$work/demo.out'"
check "a state file names what runs" test -s "$DEMO_STATE"
# shellcheck disable=SC1090
. "$DEMO_STATE" 2>/dev/null
running() {
	local pid
	for pid in $DEMO_DAEMONS $DEMO_WGGO $DEMO_HOLDERS; do
		kill -0 "$pid" 2>/dev/null || { echo "pid $pid is gone"; return 1; }
	done
}
check "the daemons, wireguard-go and the holders still run" running
out=$(timeout 20 bash "$HERE/demo.sh" on alice wgmeshctl -j show peers 2>&1)
check "demo.sh on alice wgmeshctl: both peers up" jq -e \
    '[.peers[] | select(.state == "up")] | length == 2' <<<"$out"

timeout 60 bash "$HERE/demo.sh" stop >"$work/stop.out" 2>&1
check "make demo-stop: exit 0" test $? -eq 0
gone() {
	local pid ns
	for pid in $DEMO_DAEMONS $DEMO_WGGO $DEMO_HOLDERS; do
		# a zombie (no command line) has ended; init reaps it
		[ ! -s "/proc/$pid/cmdline" ] ||
		    { echo "pid $pid still runs: $(tr '\0' ' ' <"/proc/$pid/cmdline")"; return 1; }
	done
	for ns in $DEMO_NETNS; do
		! ip netns list | grep -qw "$ns" || { echo "namespace $ns left"; return 1; }
	done
	[ ! -e "$DEMO_DIR" ] || { echo "$DEMO_DIR left"; return 1; }
	[ ! -e "$DEMO_STATE" ] || { echo "$DEMO_STATE left"; return 1; }
}
check "everything it started is gone" gone
out=$(bash "$HERE/demo.sh" stop 2>&1)
check "a second stop says no demo is running" test "$out" = \
    "demo: no demo is running ($DEMO_STATE)"
