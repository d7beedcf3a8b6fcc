#!/bin/busybox sh
# Stage 2 of the VM that regress/vm/run.sh boots: runs as PID 1 (busybox sh) in
# the chrooted host root, seen through an overlay that keeps every write in
# guest memory (see initramfs-init).  Mounts what a test needs, making any
# mount point the host lacks, runs the job that run.sh left in the results
# share and writes its output and exit status there, then powers the
# machine off.
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

# Directories a test starts empty: a tmpfs on each (a symlink counts as its
# target), made first if the host has none.  The overlay alone would do
# for writing; a fresh tmpfs also hides what the host keeps there (its
# /run/netns, its logs).
TMPFS_DIRS="/run /var/run /tmp /var/tmp /var/lib /var/log"
# Where the work tree is set aside (made in the overlay, not the host).
KEEP=/.wgvm-keep
# Where the results share appears in the guest (under the /run tmpfs).
R=/run/wgmeshd-vm

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

read -r wgvm_t_stage2 _ </proc/uptime

# PID 1 must never exit: that panics the kernel before the power-off is
# done.  poweroff here may be systemctl, which cannot work without
# systemd, so ask the kernel directly and wait.
finish() {
	sync
	echo o >/proc/sysrq-trigger 2>/dev/null
	busybox poweroff -f 2>/dev/null
	while :; do
		sleep 1
	done
}
fail() {
	echo "wgvm-guest: $*"
	finish
}

# Kernel modules, where modprobe and the kernel's module loader look for
# them: /lib/modules/$(uname -r).  A fresh host has no /lib/modules at all;
# the directory is made in the overlay.  Bound before the tmpfs mounts so
# that a module directory below one of them (a cache in /tmp, say) stays
# reachable.
kver=$(uname -r)
if [ -n "${wgvm_moddir:-}" ] && [ "$wgvm_moddir" != "/lib/modules/$kver" ]; then
	[ -r "$wgvm_moddir/modules.dep" ] ||
	    fail "no modules.dep in $wgvm_moddir"
	mkdir -p "/lib/modules/$kver" &&
	    mount --bind "$wgvm_moddir" "/lib/modules/$kver" ||
	    fail "cannot make $wgvm_moddir visible as /lib/modules/$kver"
fi

# The work tree is set aside before the tmpfs mounts and put back at the
# same path after them, in case it lives below one of them.
if [ -n "${wgvm_keep:-}" ]; then
	mkdir -p "$KEEP" && mount --bind "$wgvm_keep" "$KEEP" ||
	    fail "cannot set $wgvm_keep aside"
fi

done_dirs=" "
for d in $TMPFS_DIRS; do
	t=$d
	[ -L "$d" ] && t=$(readlink -f "$d")
	case $done_dirs in *" $t "*) continue ;; esac
	mkdir -p "$t" || fail "cannot make $t"
	case $t in /tmp|/var/tmp) mode=1777 ;; *) mode=755 ;; esac
	mount -t tmpfs -o "mode=$mode" tmpfs "$t" || fail "cannot mount tmpfs on $t"
	done_dirs="$done_dirs$t "
done

if [ -n "${wgvm_keep:-}" ] && [ ! -d "$wgvm_keep/regress/vm" ]; then
	mkdir -p "$wgvm_keep" && mount --bind "$KEEP" "$wgvm_keep" ||
	    fail "cannot put $wgvm_keep back"
fi

mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
ip link set lo up
hostname wgmeshd-vm

mkdir -p "$R" &&
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results "$R" ||
    fail "cannot mount the results share"
[ -r "$R/job" ] || fail "no job in the results share"

read -r wgvm_t_job _ </proc/uptime
echo "init ${wgvm_t_init:-?} stage2 $wgvm_t_stage2 job $wgvm_t_job" >"$R/times"

# The job sets VM_SCRIPT_TIMEOUT, the environment, the directory and "$@".
unset wgvm_stage2 wgvm_moddir wgvm_keep wgvm_t_init wgvm_t_stage2 wgvm_t_job
mkdir -p /root
HOME=/root TERM=dumb WGMESHD_VM=1 VM_RESULTS=$R
export HOME TERM WGMESHD_VM VM_RESULTS
. "$R/job"
: >"$R/started"
/usr/bin/timeout -k 5 "$VM_SCRIPT_TIMEOUT" "$@" </dev/null >"$R/output" 2>&1
echo $? >"$R/status.tmp" && mv "$R/status.tmp" "$R/status"

read -r t _ </proc/uptime
echo "end $t" >>"$R/times"
finish
