#!/usr/bin/env bash
# Checks of regress/vm/run.sh itself, with no kernel booted: what happens
# when no VM can be had.  Outside CI that is a SKIP (exit 77 after
# "SKIP: kernel VM: ..."); with CI=true it is a failure (exit 1 after
# "FAIL: kernel VM: ..." and "0 passed, 1 failed"), so that "make check"
# in CI cannot pass without the kernel tests having run.  A boot that
# fails or hangs is retried once, and a hung one is cut short.
#
#	bash regress/vm/selftest.sh
#
# Uses the kernel cache of fetch-kernel.sh (fetching the kernel if needed)
# for the checks of failed boots.  Ends with "N passed, N failed".
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
RUN=$HERE/run.sh
SMOKE=$HERE/smoke.sh
pass=0 fail=0
W=$(mktemp -d "${TMPDIR:-/tmp}/wgmeshd-vmself.XXXXXX") || exit 2
trap 'rm -rf "$W"' EXIT

ok() {
	echo "ok   $*"
	pass=$((pass + 1))
}
bad() {
	echo "FAIL $*"
	fail=$((fail + 1))
}

# harness CI ENV...: runs run.sh on the smoke test with CI set to CI (or
# unset when CI is "-") and the given variables; leaves its output in
# $out, its exit status in $rc and its time in seconds in $secs.
harness() {
	local ci=$1 t0
	shift
	t0=$(date +%s)
	if [ "$ci" = - ]; then
		out=$(env -u CI "$@" timeout -k 5 300 sh "$RUN" "$SMOKE" 2>&1)
	else
		out=$(env CI="$ci" "$@" timeout -k 5 300 sh "$RUN" "$SMOKE" 2>&1)
	fi
	rc=$?
	secs=$(($(date +%s) - t0))
}
# expect_skip NAME: run.sh skipped, loudly.
expect_skip() {
	if [ "$rc" = 77 ] && printf '%s\n' "$out" | grep -q '^SKIP: kernel VM: ' &&
	    ! printf '%s\n' "$out" | grep -q '^FAIL'; then
		ok "$1: SKIP, exit 77"
	else
		bad "$1: wanted SKIP and exit 77, got exit $rc:"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/     /'
	fi
}
# expect_fail NAME: run.sh failed, with a summary line that says so.
expect_fail() {
	if [ "$rc" = 1 ] && printf '%s\n' "$out" | grep -q '^FAIL: kernel VM: ' &&
	    ! printf '%s\n' "$out" | grep -q '^SKIP' &&
	    [ "$(printf '%s\n' "$out" | tail -n 1)" = "0 passed, 1 failed" ]; then
		ok "$1: FAIL, exit 1, \"0 passed, 1 failed\""
	else
		bad "$1: wanted FAIL, \"0 passed, 1 failed\" and exit 1, got exit $rc:"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/     /'
	fi
}

# No emulator.
harness - VM_QEMU="$W/no-such-qemu"
expect_skip "no qemu, outside CI"
harness true VM_QEMU="$W/no-such-qemu"
expect_fail "no qemu, CI=true"
harness 1 VM_QEMU="$W/no-such-qemu"
expect_fail "no qemu, CI=1"

# No kernel: the cache cannot even be made.
harness - VM_FETCH=1 VM_CACHE=/dev/null/cache
expect_skip "no kernel, outside CI"
harness true VM_FETCH=1 VM_CACHE=/dev/null/cache
expect_fail "no kernel, CI=true"

# The rest needs the kernel and the initramfs, as a real run does.
if ! sh "$HERE/fetch-kernel.sh" >"$W/fetch.log" 2>&1; then
	cat "$W/fetch.log"
	if [ -n "${CI:-}" ] && [ "$CI" != false ] && [ "$CI" != 0 ]; then
		bad "cannot get the kernel for the boot checks"
	else
		echo "---- no kernel: the checks of failed boots were not run"
	fi
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi

# A VM that stops at once without a result: tried twice, then no VM.
harness true VM_QEMU=false
expect_fail "a VM that stops at once, CI=true"
n=$(printf '%s\n' "$out" | grep -c 'retrying once')
if [ "$n" = 1 ] && printf '%s\n' "$out" | grep -q 'twice'; then
	ok "a VM that stops at once is retried once"
else
	bad "a VM that stops at once: $n retries, wanted 1"
fi
harness - VM_QEMU=false
expect_skip "a VM that stops at once, outside CI"

# A VM that hangs: cut short after VM_BOOT_TIMEOUT, retried once.  The
# fake emulator records its pid, to check that none is left.
cat >"$W/hung-qemu" <<EOF
#!/bin/sh
echo \$\$ >>"$W/hung.pids"
exec sleep 120
EOF
chmod 755 "$W/hung-qemu"
harness true VM_QEMU="$W/hung-qemu" VM_BOOT_TIMEOUT=3
expect_fail "a VM that hangs, CI=true"
if printf '%s\n' "$out" | grep -q 'had not started after 3 s, twice' &&
    [ "$secs" -lt 60 ]; then
	ok "a VM that hangs is cut short after VM_BOOT_TIMEOUT and retried once ($secs s)"
else
	bad "a VM that hangs: $secs s, output:"
	printf '%s\n' "$out" | tail -n 15 | sed 's/^/     /'
fi
n=$(wc -l <"$W/hung.pids" 2>/dev/null || echo 0)
left=
for p in $(cat "$W/hung.pids" 2>/dev/null); do
	if kill -0 "$p" 2>/dev/null; then
		left="$left $p"
		kill -KILL "$p" 2>/dev/null
	fi
done
if [ "$n" = 2 ] && [ -z "$left" ]; then
	ok "both hung emulators were stopped"
else
	bad "hung emulators: $n started, still running:${left:- none}"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
