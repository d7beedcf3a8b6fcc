#!/usr/bin/env bash
# Every check of kernel WireGuard, in one boot of the VM (a boot costs
# about 6 s under TCG, the whole run about 2.5 min): the netlink backend
# (regress/wg/run.sh kernel), the 3-host lab with the daemon creating
# its own kernel links (regress/lab/mesh.sh kernel) and a pair behind two
# NATs that map each flow anew, relayed (regress/lab/relay.sh kernel).  Run on the host as
#	bash regress/vm/kernel.sh
# which boots the VM (see regress/vm/run.sh: when no VM can boot, exit 77
# and "SKIP: ..."; under CI=true a failure).  Nothing is made on the host:
# the guest makes what the daemon needs (its user, /var/empty, mount
# points) in its own overlay.  Prints each part's output and one
# "N passed, N failed" line for all.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${WGMESHD_VM:-}" != 1 ]; then
	# Bounds for a loaded machine, where TCG may run at half speed: the
	# whole VM, and the lab's own watchdog inside it.
	VM_TIMEOUT=${VM_TIMEOUT:-600}
	LAB_TIMEOUT=${LAB_TIMEOUT:-420}
	VM_PASSENV="${VM_PASSENV:-} LAB_TIMEOUT"
	export VM_TIMEOUT LAB_TIMEOUT VM_PASSENV
	exec bash "$here/regress/vm/run.sh" "$here/regress/vm/kernel.sh"
fi
pass=0 fail=0
part() {
	local name=$1 out rc last
	shift
	echo "-- $name"
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v '^test: '
	last=$(printf '%s\n' "$out" | tail -n 1)
	if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		pass=$((pass + BASH_REMATCH[1]))
		fail=$((fail + BASH_REMATCH[2]))
		[ "$rc" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ] &&
		    fail=$((fail + 1))
	else
		echo "FAIL $name: exit status $rc and no summary line"
		fail=$((fail + 1))
	fi
}
part "netlink backend" bash "$here/regress/wg/run.sh" kernel
part "3-host mesh" bash "$here/regress/lab/mesh.sh" kernel
part "a relayed pair" bash "$here/regress/lab/relay.sh" kernel
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
