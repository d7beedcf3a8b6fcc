#!/usr/bin/env bash
# The relay process (wgmeshd -R) on real sockets: relay_test plays its
# parent and engine, and the ends of a pair, an attacker and a bystander
# on lab addresses of a network namespace's loopback interface.
#	run.sh		the checks (make check)
#	run.sh -b [S]	the forwarding benchmark, S seconds (make bench)
set -u
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the relay test needs root (a network namespace, a user)"
	exit 77
fi
for f in wgmeshd/wgmeshd regress/relay/relay_test; do
	if [ ! -x "$f" ]; then
		echo "FAIL: $f is not built"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
getent passwd _wgmeshd >/dev/null ||
    useradd -r -d /var/empty -s /usr/bin/nologin _wgmeshd
mkdir -p /var/empty
log=$(mktemp /tmp/wgmeshd-relay.XXXXXX)
trap 'rm -f -- "$log"' EXIT
args=(./wgmeshd/wgmeshd "$log")
[ "${1:-}" = -b ] && args=(-b ./wgmeshd/wgmeshd "$log" "${2:-3}")
# a network namespace of its own, gone when the program ends
unshare -n sh -c 'ip link set lo up &&
    for h in 1 10 11 12 13; do ip addr add 198.18.0.$h/24 dev lo; done &&
    exec ./regress/relay/relay_test "$@"' sh "${args[@]}"
rc=$?
if [ "$rc" -ne 0 ] && [ -n "${VERBOSE:-}" ]; then
	echo "the relay's log:"; cat "$log"
fi
exit $rc
