#!/bin/sh
# Find or fetch the Debian kernel (with wireguard.ko) that regress/vm/run.sh boots.
# Prints two lines: the vmlinuz path and the modules directory.  Uses an installed
# kernel when there is one; otherwise downloads the package with apt-get download
# and unpacks it (no maintainer scripts) into a cache directory.
# "fetch-kernel.sh --cache" prints the cache directory and does nothing else.
#
# Environment:
#   VM_KVER    kernel release (default 6.12.117+deb12-rt-amd64)
#   VM_CACHE   cache directory (default /var/cache/wgmeshd-regress, or
#              ~/.cache/wgmeshd-regress when that is not writable)
#   VM_FETCH   1: ignore an installed kernel and use the cache
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

KVER=${VM_KVER:-6.12.117+deb12-rt-amd64}
PKG=linux-image-$KVER

die() {
	echo "fetch-kernel: $*" >&2
	exit 1
}

# An installed kernel wins unless the caller insists on the cache.
if [ "${1:-}" != --cache ] && [ "${VM_FETCH:-0}" != 1 ] && [ -r "/boot/vmlinuz-$KVER" ] &&
    [ -r "/lib/modules/$KVER/modules.dep" ]; then
	echo "/boot/vmlinuz-$KVER"
	echo "/lib/modules/$KVER"
	exit 0
fi

if [ -n "${VM_CACHE:-}" ]; then
	CACHE=$VM_CACHE
elif mkdir -p /var/cache/wgmeshd-regress 2>/dev/null &&
    [ -w /var/cache/wgmeshd-regress ]; then
	CACHE=/var/cache/wgmeshd-regress
else
	CACHE=${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/wgmeshd-regress
fi
mkdir -p "$CACHE" || die "cannot create cache directory $CACHE"
CACHE=$(cd "$CACHE" && pwd -P) || die "cannot enter $CACHE"
if [ "${1:-}" = --cache ]; then
	echo "$CACHE"
	exit 0
fi

DEST=$CACHE/kernel-$KVER
VMLINUZ=$DEST/boot/vmlinuz-$KVER
MODDIR=$DEST/lib/modules/$KVER

ready() {
	[ -f "$DEST/.complete" ] && [ -r "$VMLINUZ" ] && [ -r "$MODDIR/modules.dep" ]
}

if ready; then
	echo "$VMLINUZ"
	echo "$MODDIR"
	exit 0
fi

for tool in apt-get dpkg-deb depmod flock timeout; do
	command -v "$tool" >/dev/null 2>&1 ||
	    [ -x "/sbin/$tool" ] || [ -x "/usr/sbin/$tool" ] ||
	    die "$tool not found (install apt, dpkg, kmod, util-linux, coreutils)"
done
PATH=$PATH:/usr/sbin:/sbin

# One fetch at a time; a second caller waits, then finds the result ready.
exec 9>"$CACHE/.lock" || die "cannot open $CACHE/.lock"
flock -w 900 9 || die "timed out waiting for the lock on $CACHE"
if ready; then
	echo "$VMLINUZ"
	echo "$MODDIR"
	exit 0
fi

WORK=$(mktemp -d "$CACHE/.fetch.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM HUP

download() {
	(cd "$WORK" && timeout -k 10 600 apt-get -q download "$PKG") \
	    >"$WORK/apt.log" 2>&1
}

if ! download; then
	# A fresh machine may not have package lists yet.
	if [ "$(id -u)" = 0 ]; then
		echo "fetch-kernel: apt-get download failed; running apt-get update" >&2
		timeout -k 10 600 apt-get -q update >"$WORK/update.log" 2>&1 ||
		    { cat "$WORK/update.log" >&2; die "apt-get update failed"; }
	fi
	download || { cat "$WORK/apt.log" >&2; die "cannot download $PKG"; }
fi

set -- "$WORK"/*.deb
[ -f "$1" ] || die "apt-get download produced no .deb for $PKG"
mkdir "$WORK/root" && dpkg-deb -x "$1" "$WORK/root" ||
    die "cannot unpack $1"
[ -r "$WORK/root/boot/vmlinuz-$KVER" ] ||
    die "$1 has no boot/vmlinuz-$KVER"
[ -d "$WORK/root/lib/modules/$KVER" ] ||
    die "$1 has no lib/modules/$KVER"
# The package leaves modules.dep to its postinst; make it here.
depmod -b "$WORK/root" "$KVER" || die "depmod failed"

rm -rf "$DEST"
mv "$WORK/root" "$DEST" || die "cannot move the kernel into $DEST"
touch "$DEST/.complete"
echo "$VMLINUZ"
echo "$MODDIR"
