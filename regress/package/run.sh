#!/usr/bin/env bash
# The Debian package: "make deb" builds it (from a copy of the tree, in
# deb/), lintian finds nothing to say (with the overrides, each with its
# reason, in debian/), and it is installed, installed again over itself
# (an upgrade), removed and purged in a chroot that is this machine's own
# root under an overlay whose writes stay in memory, so that this machine
# -- also CI's, whose tests need its _wgmeshd user, /var/empty and the
# rest -- is left exactly as it was.  No systemd runs there (none is PID 1
# on these machines either): deb-systemd-helper enables the units by
# their links, and deb-systemd-invoke starts nothing.  Then "make install"
# into a directory ships the package's files, and "make uninstall" takes
# them all away again.
#
#	regress/package/run.sh		as root; about a minute
#
# Ends with "N passed, N failed"; 77 after "SKIP" when not root.
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
export LC_ALL=C
cd "$(dirname "$0")/../.." || exit 1
REPO=$(pwd -P)
pass=0 fail=0

ok() {
	pass=$((pass + 1))
	echo "ok   $*"
}

bad() {
	fail=$((fail + 1))
	echo "FAIL $*"
}

# check NAME COMMAND...: counts the result; shows the output of a failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
		return 0
	fi
	bad "$name"
	[ -n "$out" ] && printf '%s\n' "$out" | head -n 30 | sed 's/^/     /'
	return 1
}

finish() {
	[ -n "${WORK:-}" ] && rm -rf "$WORK"
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

secs() {
	echo "$(($(date +%s%N) / 1000000))"
}

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the package is installed in a chroot: root only"
	exit 77
fi
for c in dpkg-buildpackage dh lintian fakeroot systemd-sysusers \
    systemd-analyze unshare chroot; do
	command -v "$c" >/dev/null || { bad "$c is missing (make deps)"; finish; }
done
WORK=$(mktemp -d /tmp/wgmeshd-package.XXXXXX) || exit 1

# --- build and lintian ---------------------------------------------------

t0=$(secs)
if make -s deb >"$WORK/build.log" 2>&1; then
	ok "make deb ($(( ($(secs) - t0) / 1000 )) s)"
else
	bad "make deb"
	tail -n 30 "$WORK/build.log" | sed 's/^/     /'
	finish
fi
DEB=$(ls deb/wgmeshd_*_*.deb 2>/dev/null | head -n 1)
CHANGES=$(ls deb/wgmeshd_*_*.changes 2>/dev/null | head -n 1)
[ -n "$DEB" ] && [ -n "$CHANGES" ] || { bad "no .deb or .changes in deb/"; finish; }

t0=$(secs)
# info tags too; each override in debian/ says why
check "lintian: no tags ($(basename "$CHANGES"))" \
    lintian --fail-on error,warning,info --info "$CHANGES"
echo "---- lintian took $(( ($(secs) - t0) / 1000 )) s"

# --- in the chroot -------------------------------------------------------

# The steps run inside, each a line "ok ..." or "FAIL ..."; the phases
# (prepare, test) are separate chroot runs so that the overlay's upper
# layer can be listed between them.
cat >"$WORK/inside.sh" <<'EOS'
set -u
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
DEB=$1
EX=/usr/share/doc/wgmeshd/examples/wgmeshd.conf.example
UNITS="wgmeshd.service wgmeshd-metrics.service wgmeshd-metrics.timer"
t() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "ok   $name"
	else
		echo "FAIL $name"
		printf '%s\n' "$out" | head -n 20 | sed 's/^/     /'
	fi
}
files_present() {
	local f
	for f in /usr/sbin/wgmeshd /usr/sbin/wgmeshctl /usr/sbin/wgmeshgen \
	    /usr/share/man/man5/wgmeshd.conf.5.gz \
	    /usr/share/man/man8/wgmeshd.8.gz /usr/share/man/man8/wgmeshctl.8.gz \
	    /usr/share/man/man8/wgmeshgen.8.gz \
	    /usr/share/doc/wgmeshd/README.gz \
	    /usr/share/doc/wgmeshd/SECURITY.md.gz \
	    /usr/share/doc/wgmeshd/copyright "$EX" \
	    /usr/lib/sysusers.d/wgmeshd.conf /usr/lib/tmpfiles.d/wgmeshd.conf; do
		[ -e "$f" ] || { echo "missing $f"; return 1; }
	done
	for f in $UNITS; do
		[ -e "/lib/systemd/system/$f" ] || { echo "missing unit $f"; return 1; }
	done
}
user_made() {
	getent passwd _wgmeshd | grep -q ':/var/empty:/usr/sbin/nologin$' &&
	    [ "$(stat -c '%u %a' /var/empty)" = "0 755" ] &&
	    [ -z "$(ls -A /var/empty)" ]
}
enabled() {
	[ -L /etc/systemd/system/multi-user.target.wants/wgmeshd.service ] &&
	    [ -L /etc/systemd/system/timers.target.wants/wgmeshd-metrics.timer ]
}
conditions() {
	local u
	for u in $UNITS; do
		grep -qx 'ConditionPathExists=/etc/wgmeshd.conf' \
		    "/lib/systemd/system/$u" || { echo "$u: no condition"; return 1; }
	done
	grep -q "^ExecStart=/usr/sbin/wgmeshd -d" /lib/systemd/system/wgmeshd.service &&
	    grep -q "^ExecStart=/usr/sbin/wgmeshctl -o " /lib/systemd/system/wgmeshd-metrics.service
}
example_ok() {
	local before
	before=$(ls -A /etc/wgmeshd 2>/dev/null)
	# -nn: the file alone; this machine may lack a WireGuard backend,
	# which -n's start checks want (regress/parse tests those)
	/usr/sbin/wgmeshd -nn -f "$EX" || return 1
	/usr/sbin/wgmeshd -nn -v -f "$EX" | grep -q '^	name "alpha"$' || return 1
	# a check writes nothing: no key made
	[ "$(ls -A /etc/wgmeshd 2>/dev/null)" = "$before" ]
}
installed_enabled() {
	files_present && enabled
}
nothing_left() {
	local f rc=0
	while IFS= read -r f; do
		[ -d "$f" ] && continue	# directories shared with others
		[ -e "$f" ] || [ -L "$f" ] || continue
		echo "left: $f"
		rc=1
	done </tmp/dpkg-L
	ls /etc/systemd/system/*/ 2>/dev/null | grep wgmeshd && rc=1
	grep -rl wgmeshd /var/lib/systemd/deb-systemd-helper-enabled \
	    /var/lib/systemd/deb-systemd-helper-masked 2>/dev/null && rc=1
	[ ! -e /var/lib/wgmeshd ] || { echo "left: /var/lib/wgmeshd"; rc=1; }
	return $rc
}

case $2 in
prepare)
	# a machine that never had wgmeshd: no user, no /var/empty, no
	# configuration (the lab made them here; in this overlay they go)
	if getent passwd _wgmeshd >/dev/null; then
		userdel _wgmeshd || exit 1
	fi
	if getent group _wgmeshd >/dev/null; then
		groupdel _wgmeshd || exit 1
	fi
	rmdir /var/empty 2>/dev/null
	rm -rf /etc/wgmeshd.conf /etc/wgmeshd /var/lib/wgmeshd
	[ ! -e /var/empty ] && ! getent passwd _wgmeshd >/dev/null
	;;
test)
	t "no systemd runs here (deb-systemd-invoke starts nothing)" \
	    test ! -d /run/systemd/system
	t "dpkg -i (install)" dpkg -i "$DEB"
	dpkg -L wgmeshd >/tmp/dpkg-L
	t "installed: binaries, man pages, docs, example, units, sysusers.d, tmpfiles.d" \
	    files_present
	t "sysusers.d made the user _wgmeshd, tmpfiles.d /var/empty (root, 0755, empty)" \
	    user_made
	t "wgmeshd.service and wgmeshd-metrics.timer enabled" enabled
	t "the units run only once /etc/wgmeshd.conf exists, from /usr/sbin" \
	    conditions
	t "systemd-analyze verify the three units" \
	    sh -c "cd /lib/systemd/system && systemd-analyze verify $UNITS"
	t "wgmeshd -n accepts the example configuration, and writes no key" \
	    example_ok
	t "wgmeshctl show metrics without a daemon: exit 1" \
	    sh -c '! /usr/sbin/wgmeshctl show metrics'
	t "dpkg -i again (an upgrade over itself)" dpkg -i "$DEB"
	t "still installed and enabled" installed_enabled
	# as if the daemon and the timer had run
	mkdir -p /var/lib/prometheus/node-exporter /var/lib/wgmeshd
	echo 'wgmeshd_peer_up{interface="wg0",peer="x"} 1' \
	    >/var/lib/prometheus/node-exporter/wgmeshd.prom
	: >/var/lib/wgmeshd/wg0.state
	t "dpkg -r (remove)" dpkg -r wgmeshd
	t "removed: the binaries and the metrics file go, the state stays" \
	    sh -c '[ ! -e /usr/sbin/wgmeshd ] && [ ! -e /usr/sbin/wgmeshctl ] &&
	    [ ! -e /var/lib/prometheus/node-exporter/wgmeshd.prom ] &&
	    [ -e /var/lib/wgmeshd/wg0.state ]'
	rmdir /var/lib/prometheus/node-exporter
	t "dpkg -P (purge)" dpkg -P wgmeshd
	t "purged: dpkg knows no wgmeshd" sh -c '! dpkg -s wgmeshd >/dev/null 2>&1'
	t "purged: none of its files, links or state left" nothing_left
	;;
esac
EOS

# The upper layer's entries: "TYPE PATH", whiteouts (removals) as "w".
upper_list() {
	(cd "$1" && find . -mindepth 1 \( -type c -printf 'w %P\n' \) -o \
	    \( ! -type d -printf 'f %P\n' \) -o \( -type d -printf 'd %P\n' \)) |
	    sort
}

t0=$(secs)
unshare --mount --propagation private bash -s "$WORK" "$REPO/$DEB" \
    >"$WORK/chroot.out" 2>&1 <<'EOS'
set -u
W=$1 DEB=$2
mkdir -p "$W/ovl" && mount -t tmpfs -o mode=0700 tmpfs "$W/ovl" || exit 1
mkdir "$W/ovl/upper" "$W/ovl/work" "$W/ovl/root"
mount -t overlay overlay \
    -o "lowerdir=/,upperdir=$W/ovl/upper,workdir=$W/ovl/work" "$W/ovl/root" ||
    { echo "FAIL overlay of / not possible"; exit 1; }
R=$W/ovl/root
mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" &&
    mount -t tmpfs tmpfs "$R/run" && mount -t tmpfs tmpfs "$R/tmp" || exit 1
cp "$W/inside.sh" "$DEB" "$R/tmp/"
deb=/tmp/${DEB##*/}
chroot "$R" bash /tmp/inside.sh "$deb" prepare ||
    { echo "FAIL could not make the chroot a machine without wgmeshd"; exit 1; }
(cd "$W/ovl/upper" && find . -mindepth 1 ! -type d -printf '%P\n' | sort) >"$W/before"
chroot "$R" bash /tmp/inside.sh "$deb" test
(cd "$W/ovl/upper" && find . -mindepth 1 -printf '%y %P\n' | sort) >"$W/after"
(cd "$W/ovl/upper" && find . -mindepth 1 -type d -printf '%P\n' | sort) >"$W/dirs"
# what is new in the upper layer since "prepare", and is not what
# dpkg, the user database or a cache keeps: a trace of the package
awk '{ print $2 }' "$W/after" | sort >"$W/after.paths"
comm -13 "$W/before" "$W/after.paths" | while IFS= read -r p; do
	case $p in
	var/lib/dpkg/*|var/log/*|var/cache/*|tmp|tmp/*|run|run/*) continue ;;
	etc/passwd|etc/group|etc/shadow|etc/gshadow|etc/passwd-|etc/group-|\
	etc/shadow-|etc/gshadow-|etc/.pwd.lock|etc/subuid|etc/subgid) continue ;;
	var/empty) continue ;;
	esac
	# a directory that was there before, copied up: no trace
	if grep -qxF "$p" "$W/dirs" && [ -d "/$p" ]; then
		continue
	fi
	echo "TRACE $p"
done
EOS
echo "---- install, upgrade, remove, purge took $(( ($(secs) - t0) / 1000 )) s"
while IFS= read -r line; do
	case $line in
	"ok   "*) ok "${line#ok   }" ;;
	"FAIL "*) bad "${line#FAIL }" ;;
	"TRACE "*) bad "left after the purge: /${line#TRACE }" ;;
	*) echo "$line" ;;
	esac
done <"$WORK/chroot.out"
check "the machine itself: still its _wgmeshd and /var/empty" \
    sh -c 'getent passwd _wgmeshd >/dev/null && [ -d /var/empty ] &&
    ! dpkg -s wgmeshd >/dev/null 2>&1 && [ ! -e /usr/sbin/wgmeshd ]'

# --- make install, make uninstall ----------------------------------------

# the package's files, but for what debhelper adds or compresses, and the
# licence, which is debian/copyright there
deb_files() {
	dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 }' |
	    grep -v -e '^usr/share/doc/wgmeshd/changelog' -e '^usr/share/lintian/' \
	    -e '^usr/share/doc/wgmeshd/copyright$' | sed 's/\.gz$//' | sort
}
make_install_same() {
	local d=$WORK/destdir
	make -s install DESTDIR="$d" PREFIX=/usr UNITDIR=/lib/systemd/system \
	    >/dev/null || return 1
	diff <(deb_files) <(cd "$d" && find . ! -type d | sed 's|^\./||' |
	    grep -v '^usr/share/doc/wgmeshd/LICENSE$' | sort)
}
make_uninstall_all() {
	local d=$WORK/destdir
	make -s uninstall DESTDIR="$d" PREFIX=/usr UNITDIR=/lib/systemd/system \
	    >/dev/null || return 1
	[ -z "$(find "$d" ! -type d)" ] || { find "$d" ! -type d; return 1; }
}
check "make install ships the package's files (and LICENSE)" make_install_same
check "make uninstall removes every one of them" make_uninstall_all

finish
