#!/bin/sh
# Runs a test script inside a VM booted from Debian's kernel (which has
# wireguard.ko), so the kernel backend can be tested for real:
#
#	regress/vm/run.sh SCRIPT [ARGS...]
#
# The guest sees the host's root (over 9p, read-only) under an overlay whose
# writes go to guest memory, with fresh tmpfs on /run, /tmp, /var/tmp,
# /var/lib and /var/log, and runs SCRIPT (by its host path) as root.  Any
# mount point the host lacks (/lib/modules on a machine with no kernel
# installed) is made in the overlay; nothing is written to the host but
# the results share.  Prints the script's output and exits with its status.
#
# When no VM can be had (no qemu, no kernel, no boot twice running): outside
# CI, exits 77 after a line "SKIP: kernel VM: ..."; when CI is set (CI=true,
# as CI services set it), that is a failure: "FAIL: kernel VM: ...", then
# "0 passed, 1 failed" and exit status 1.
#
# Environment:
#   CI            set and not "false" or "0": no SKIP, see above
#   VM_TIMEOUT    bound on the whole VM in seconds (default 300); the script
#                 itself gets 20 s less
#   VM_BOOT_TIMEOUT  bound in seconds from starting qemu to the script's
#                 start (default 120; a boot takes about 6 s under TCG):
#                 a boot that misses it counts as a failed boot
#   VM_MEM        guest memory in MiB (default 1024)
#   VM_QEMU       the emulator (default qemu-system-x86_64; regress/vm/
#                 selftest.sh puts a missing or failing one here)
#   VM_PASSENV    names of variables to pass to the script
#   VM_VERBOSE    1: print guest timings and the console log on stderr
#   VM_KEEP       1: keep the scratch directory (output, console log)
#   VM_KVER, VM_CACHE, VM_FETCH: see fetch-kernel.sh
# In the guest, WGMESHD_VM=1 and VM_RESULTS names a directory whose files
# the host keeps in the scratch directory (share/) when VM_KEEP=1.
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

# Modules needed to mount a 9p root; built-in ones are skipped.
INITRD_MODULES="virtio_pci 9pnet_virtio 9p overlay"
# Directories the guest covers with tmpfs (keep in step with guest.sh).
GUEST_TMPFS="/run /tmp /var/tmp /var/lib /var/log"

VM_TIMEOUT=${VM_TIMEOUT:-300}
VM_BOOT_TIMEOUT=${VM_BOOT_TIMEOUT:-120}
VM_MEM=${VM_MEM:-1024}
VM_QEMU=${VM_QEMU:-qemu-system-x86_64}
PATH=$PATH:/usr/sbin:/sbin

# Under CI every dependency is there: a VM that cannot run is a failure.
skip() {
	case ${CI:-} in
	''|0|false|False|FALSE)
		echo "SKIP: kernel VM: $*"
		exit 77
		;;
	esac
	echo "FAIL: kernel VM: $* (CI is set: no VM is a failure, not a skip)"
	echo "0 passed, 1 failed"
	exit 1
}
usage() {
	echo "usage: $0 SCRIPT [ARGS...]" >&2
	exit 2
}
say() {
	echo "vm: $*" >&2
}

[ $# -ge 1 ] || usage
case $VM_TIMEOUT in ''|*[!0-9]*) usage ;; esac
case $VM_BOOT_TIMEOUT in ''|*[!0-9]*) usage ;; esac
case $VM_MEM in ''|*[!0-9]*) usage ;; esac
# The script's own limit leaves time to boot and report.
GUEST_TIMEOUT=$((VM_TIMEOUT - 20))
[ "$GUEST_TIMEOUT" -ge 5 ] || GUEST_TIMEOUT=5

HERE=$(cd "$(dirname "$0")" && pwd -P) || exit 2
SCRIPT=$(readlink -f -- "$1") && [ -f "$SCRIPT" ] && [ -r "$SCRIPT" ] || {
	echo "$0: cannot read $1" >&2
	exit 2
}
shift
# The work tree this harness belongs to stays visible at its own path in
# the guest, even under a directory the guest covers with a tmpfs (a
# clone in /tmp, say); other scripts must not live under those.
TREE=$(cd "$HERE/../.." && pwd -P) || exit 2
case $TREE in *[!A-Za-z0-9_./+-]*)
	echo "$0: $TREE: unusual characters (it goes on the kernel command line)" >&2
	exit 2
esac
case $SCRIPT in "$TREE"/*) ;; *)
	for d in $GUEST_TMPFS; do
		d=$(readlink -f "$d")
		case $SCRIPT/ in "$d"/*)
			echo "$0: $SCRIPT is under $d, which the guest hides with a tmpfs" >&2
			exit 2
		esac
	done
esac
case $HERE in *[!A-Za-z0-9_./+-]*)
	echo "$0: $HERE: unusual characters (it goes on the kernel command line)" >&2
	exit 2
esac

command -v "$VM_QEMU" >/dev/null 2>&1 ||
    skip "$VM_QEMU not found (install qemu-system-x86)"
[ -x /bin/busybox ] || skip "/bin/busybox not found (install busybox-static)"
# It must be static: it runs before any library is reachable.
! grep -qa /lib64/ld-linux /bin/busybox || skip "/bin/busybox is not static (install busybox-static)"

kout=$(sh "$HERE/fetch-kernel.sh") || skip "cannot get the kernel (see above)"
VMLINUZ=$(echo "$kout" | sed -n 1p)
MODDIR=$(echo "$kout" | sed -n 2p)
KVER=${MODDIR##*/}
[ -r "$VMLINUZ" ] && [ -r "$MODDIR/modules.dep" ] ||
    skip "fetch-kernel.sh gave unusable paths '$VMLINUZ' '$MODDIR'"
case $MODDIR in *[!A-Za-z0-9_./+-]*)
	skip "$MODDIR: unusual characters (it goes on the kernel command line)"
esac
CACHE=$(sh "$HERE/fetch-kernel.sh" --cache) || skip "no cache directory"

# Prints the modules to put in the initramfs, dependencies first, as paths
# relative to $MODDIR; built-in modules are left out.
module_order() {
	awk -v want="$INITRD_MODULES" -v builtin="$MODDIR/modules.builtin" '
	function base(p, b) {
		b = p
		sub(/.*\//, "", b)
		sub(/\.ko(\.[a-z]+)?$/, "", b)
		gsub(/-/, "_", b)
		return b
	}
	function emit(p) {
		if (!(p in seen)) {
			seen[p] = 1
			print p
		}
	}
	BEGIN {
		while ((getline l < builtin) > 0)
			inkernel[base(l)] = 1
	}
	{
		k = $1
		sub(/:$/, "", k)
		line[base(k)] = $0
	}
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++) {
			m = w[i]
			gsub(/-/, "_", m)
			if (!(m in line)) {
				if (m in inkernel)
					continue
				print "module " m " not found" > "/dev/stderr"
				err = 1
				continue
			}
			c = split(line[m], f, " ")
			for (j = c; j >= 2; j--)
				emit(f[j])
			sub(/:$/, "", f[1])
			emit(f[1])
		}
		exit err
	}' "$MODDIR/modules.dep"
}

unpack_module() {
	case $1 in
	*.xz)	if command -v xz >/dev/null 2>&1; then xz -dc "$1"
		else /bin/busybox xzcat "$1"; fi ;;
	*.zst)	zstd -dcq "$1" ;;
	*.gz)	gzip -dc "$1" ;;
	*)	cat "$1" ;;
	esac
}

# The initramfs is cached per kernel and rebuilt when anything in it changes.
INITRD=$CACHE/initramfs-$KVER.cpio
initrd_key() {
	{
		cat "$HERE/initramfs-init" "$HERE/run.sh"
		echo "$MODDIR $INITRD_MODULES"
		ls -lLn --time-style=+%s /bin/busybox "$MODDIR/modules.dep"
	} | cksum
}
build_initrd() {
	key=$(initrd_key)
	[ -f "$INITRD" ] && [ "$(cat "$INITRD.key" 2>/dev/null)" = "$key" ] &&
	    return 0
	exec 8>"$CACHE/.initramfs.lock" && flock -w 120 8 || return 1
	if [ -f "$INITRD" ] && [ "$(cat "$INITRD.key" 2>/dev/null)" = "$key" ]; then
		exec 8>&-
		return 0
	fi
	w=$(mktemp -d "$CACHE/.initramfs.XXXXXX") || return 1
	(
		set -e
		r=$w/root
		mkdir -p "$r/bin" "$r/dev" "$r/proc" "$r/sys" "$r/newroot" \
		    "$r/lower" "$r/rw" "$r/modules"
		cp /bin/busybox "$r/bin/busybox"
		# Links, not the shell's applet lookup: that needs /proc.
		for a in $(/bin/busybox --list); do
			[ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
		done
		cp "$HERE/initramfs-init" "$r/init"
		chmod 755 "$r/init"
		module_order >"$w/mods"
		: >"$r/modules/order"
		while read -r p; do
			m=${p##*/}
			m=${m%%.ko*}.ko
			unpack_module "$MODDIR/$p" >"$r/modules/$m"
			echo "$m" >>"$r/modules/order"
		done <"$w/mods"
		(cd "$r" && find . | sort | /bin/busybox cpio -o -H newc -R 0:0) \
		    >"$w/initramfs.cpio" 2>/dev/null
		mv -f "$w/initramfs.cpio" "$INITRD"
		echo "$key" >"$INITRD.key"
	)
	rc=$?
	rm -rf "$w"
	exec 8>&-
	return $rc
}
build_initrd || skip "cannot build the initramfs in $CACHE"

# Booting the uncompressed kernel through its PVH entry saves about 2 s of
# decompression under TCG.  Any trouble here just means booting vmlinuz.
KERNEL=$VMLINUZ
VMLINUX=$CACHE/vmlinux-$KVER
extract_vmlinux() {
	key=$(ls -lLn --time-style=+%s "$VMLINUZ" | cksum)
	if [ -f "$VMLINUX" ] && [ "$(cat "$VMLINUX.key" 2>/dev/null)" = "$key" ]; then
		KERNEL=$VMLINUX
		return 0
	fi
	config=${VMLINUZ%/*}/config-$KVER
	grep -q '^CONFIG_PVH=y' "$config" 2>/dev/null || return 0
	case $(grep '^CONFIG_KERNEL_[A-Z0-9]*=y' "$config") in
	*ZSTD*)	magic='\050\265\057\375' unpack="zstd -dcq" ;;
	*XZ*)	magic='\3757zXZ' unpack="xz -dcq" ;;
	*GZIP*)	magic='\037\213\010' unpack="gzip -dcq" ;;
	*)	return 0 ;;
	esac
	command -v "${unpack%% *}" >/dev/null 2>&1 || return 0
	off=$(LC_ALL=C grep -abFo "$(printf "$magic")" "$VMLINUZ" | head -n 1)
	off=${off%%:*}
	[ -n "$off" ] || return 0
	t=$(mktemp "$CACHE/.vmlinux.XXXXXX") || return 0
	tail -c +"$((off + 1))" "$VMLINUZ" | $unpack >"$t" 2>/dev/null
	if [ "$(head -c 4 "$t" | od -An -c | tr -d ' ')" = 177ELF ]; then
		chmod 644 "$t" && mv -f "$t" "$VMLINUX" && echo "$key" >"$VMLINUX.key" &&
		    KERNEL=$VMLINUX
	fi
	rm -f "$t"
}
exec 8>"$CACHE/.initramfs.lock" && flock -w 120 8 && extract_vmlinux
exec 8>&-

quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

write_job() {
	echo "VM_SCRIPT_TIMEOUT=$GUEST_TIMEOUT"
	for v in ${VM_PASSENV:-}; do
		case $v in ''|[!A-Za-z_]*|*[!A-Za-z0-9_]*) continue ;; esac
		eval "[ -n \"\${$v+x}\" ]" || continue
		eval "val=\$$v"
		echo "$v=$(quote "$val"); export $v"
	done
	echo "cd $(quote "$PWD") 2>/dev/null || cd /"
	printf 'set --'
	if [ -x "$SCRIPT" ]; then
		printf ' %s' "$(quote "$SCRIPT")"
	else
		# Not executable: run it with the interpreter its #! line names.
		first=$(head -n 1 "$SCRIPT")
		case $first in
		'#!'*)	for w in ${first#??}; do printf ' %s' "$(quote "$w")"; done ;;
		*)	printf ' /bin/sh' ;;
		esac
		printf ' %s' "$(quote "$SCRIPT")"
	fi
	for a in "$@"; do
		printf ' %s' "$(quote "$a")"
	done
	echo
}

SCRATCH=
QPID=
interrupted=0
cleanup() {
	if [ -n "$SCRATCH" ] && [ -d "$SCRATCH" ]; then
		if [ "${VM_KEEP:-0}" = 1 ]; then
			say "kept $SCRATCH"
		else
			rm -rf "$SCRATCH"
		fi
	fi
}
on_signal() {
	interrupted=1
	if [ -z "$QPID" ]; then
		say "interrupted"
		exit 130
	fi
	kill -TERM "$QPID" 2>/dev/null
}
trap on_signal INT TERM HUP
trap cleanup EXIT

# Boots once; leaves the results in $SCRATCH, qemu's status in $qrc and
# boot_late=1 if the script had not started within $VM_BOOT_TIMEOUT s.
boot() {
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/wgmeshd-vm.XXXXXX") || exit 2
	mkdir "$SCRATCH/share"
	write_job "$@" >"$SCRATCH/share/job"
	t_boot=$(date +%s)
	timeout -k 10 "$VM_TIMEOUT" "$VM_QEMU" \
	    -accel tcg -smp 1 -m "$VM_MEM" \
	    -nodefaults -no-user-config -display none -no-reboot \
	    -serial "file:$SCRATCH/console.log" \
	    -kernel "$KERNEL" -initrd "$INITRD" \
	    -append "console=ttyS0 loglevel=5 panic=-1 mitigations=off wgvm_stage2=$HERE/guest.sh wgvm_moddir=$MODDIR wgvm_keep=$TREE" \
	    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	    -virtfs "local,path=$SCRATCH/share,mount_tag=results,security_model=none" \
	    </dev/null >"$SCRATCH/qemu.log" 2>&1 &
	QPID=$!
	# A boot that hangs is cut short, so that the retry comes in time.
	boot_late=0
	deadline=$((t_boot + VM_BOOT_TIMEOUT))
	while [ ! -f "$SCRATCH/share/started" ] && kill -0 "$QPID" 2>/dev/null &&
	    [ "$interrupted" = 0 ]; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			boot_late=1
			kill -TERM "$QPID" 2>/dev/null
			break
		fi
		sleep 1
	done
	qrc=0
	wait "$QPID" || qrc=$?
	t_vm=$(($(date +%s) - t_boot))
	if [ "$interrupted" = 1 ]; then
		wait "$QPID" 2>/dev/null
		QPID=
		say "interrupted"
		cleanup
		SCRATCH=
		exit 130
	fi
	QPID=
}

# What the console says about a stopped machine: the harness's own messages,
# then the first kernel complaint onwards, or else the last lines.
show_console() {
	c=$SCRATCH/console.log
	echo "----- console -----" >&2
	grep -a '^wgvm' "$c" >&2 2>/dev/null
	n=$(grep -an -m 1 -E "$SPLAT" "$c" 2>/dev/null | cut -d: -f1)
	if [ -n "$n" ]; then
		sed -n "$n,$((n + 40))p" "$c" >&2
	else
		tail -n 30 "$c" >&2 2>/dev/null
	fi
	tail -n 5 "$SCRATCH/qemu.log" >&2 2>/dev/null
	echo "-----" >&2
}

# Kernel warnings matter even when the script passed: show them.
SPLAT='Kernel panic|BUG:|Oops|WARNING:|general protection|Call Trace:|sysrq: Trigger'
complaints() {
	grep -aE "$SPLAT" "$SCRATCH/console.log" >/dev/null 2>&1 || return 0
	echo "vm: the guest kernel complained (console follows):" >&2
	grep -aE -A 3 "$SPLAT" "$SCRATCH/console.log" | head -n 40 >&2
}

verbose() {
	[ "${VM_VERBOSE:-0}" = 1 ] || return 0
	[ -f "$SCRATCH/share/times" ] &&
	    say "guest uptime at: $(tr '\n' ' ' <"$SCRATCH/share/times")"
	echo "----- console -----" >&2
	cat "$SCRATCH/console.log" >&2
	echo "-----" >&2
}

attempt=1
while :; do
	boot "$@"
	share=$SCRATCH/share
	if [ -f "$share/status" ]; then
		verbose
		# How long the boot took, in guest uptime when the job started.
		t_job=$(sed -n 's/.* job \([0-9.]*\).*/\1/p' "$share/times" 2>/dev/null)
		say "kernel $KVER: the job started ${t_job:-?} s after boot" \
		    "(attempt $attempt); the VM ran $t_vm s"
		cat "$share/output"
		[ "${VM_VERBOSE:-0}" = 1 ] || complaints
		st=$(cat "$share/status")
		case $st in ''|*[!0-9]*) st=1 ;; esac
		[ "$st" = 124 ] || [ "$st" = 137 ] &&
		    echo "FAIL: kernel VM: $SCRIPT did not finish within $GUEST_TIMEOUT s" >&2
		exit "$st"
	fi
	if [ -f "$share/started" ]; then
		# The script ran but the machine stopped under it: a failure.
		verbose
		cat "$share/output" 2>/dev/null
		if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
			echo "FAIL: kernel VM: killed after $VM_TIMEOUT s" >&2
		else
			echo "FAIL: kernel VM: the VM stopped before $SCRIPT finished" >&2
		fi
		show_console
		exit 1
	fi
	if [ "$boot_late" = 1 ]; then
		why="the script had not started after $VM_BOOT_TIMEOUT s"
	elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		why="no result within $VM_TIMEOUT s"
	else
		why="VM stopped without a result (qemu status $qrc)"
	fi
	show_console
	if [ "$attempt" -ge 2 ]; then
		skip "$why, twice"
	fi
	say "boot failed ($why); retrying once"
	cleanup
	attempt=2
done
