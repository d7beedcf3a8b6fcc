#!/usr/bin/env bash
# Lab test of a fleet: wgmeshgen(8) makes a mesh of three hosts (two with
# endpoints, one without) under umask 022; every host is given the
# IDENTICAL configuration file and finds itself in it by its host name;
# the full mesh forms.  Then: wgmeshgen run again changes nothing (every
# file compared byte for byte); a fourth host given no key, then another
# host's key, refuses to start with the exact errors; wgmeshgen adds the
# fourth host, keeping every other file; the new file copied to every
# host and a reload on the three brings the fourth in without touching
# their tunnels to each other (latest handshakes and received bytes kept:
# no peer remade).
#
#	regress/lab/fleet.sh		wireguard-go, as root
#
# Ends with "N passed, N failed".  LAB_KEEP=1 keeps the logs and files.
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
LAB_NAME=${LAB_NAME:-fl}
. "$HERE/lib.sh"

WGMESHGEN=${WGMESHGEN:-$LAB_REPO/wgmeshgen/wgmeshgen}
IFC=wg0
PORT=51820
MESH_DEADLINE=30
declare -A ADDR4=() PUB=() LAB_OVL=()

lab_require ip nsenter unshare timeout wg jq busybox sha256sum cmp \
    wireguard-go "$WGMESHD" "$WGMESHCTL" "$WGMESHGEN"
lab_prepare
lab_init

MESH=$LAB_DIR/mesh

# gen ARGS...: wgmeshgen -i IFC -o MESH ARGS under umask 022, as an
# operator's shell has it; its output in LAB_DIR/gen.out.
gen() {
	(umask 022 && "$WGMESHGEN" -i "$IFC" -o "$MESH" "$@") \
	    >"$LAB_DIR/gen.out" 2>&1
}

# said FILE WHAT: wgmeshgen's last output says WHAT of MESH/FILE.
said() {
	grep -q "^$MESH/$1: $2" "$LAB_DIR/gen.out" ||
	    { echo "no '$MESH/$1: $2' in:"; cat "$LAB_DIR/gen.out"; return 1; }
}

# keep: a copy of MESH as it is now, modes kept, in MESH.before.
keep() {
	rm -rf "$MESH.before" && cp -a "$MESH" "$MESH.before"
}

# unchanged [EXCEPT...]: every file and directory of MESH.before is in
# MESH with the same bytes (cmp) and mode, and MESH has nothing else; the
# paths EXCEPT (relative to MESH) are left out.
unchanged() {
	local f rc=0 skip
	skip=" $* "
	while IFS= read -r f; do
		case $skip in *" ${f#./} "*) continue ;; esac
		if [ ! -e "$MESH/$f" ]; then
			echo "$f: gone"; rc=1
		elif [ -f "$MESH.before/$f" ] && ! cmp -s "$MESH.before/$f" "$MESH/$f"; then
			echo "$f: changed"; rc=1
		elif [ "$(stat -c %a "$MESH.before/$f")" != "$(stat -c %a "$MESH/$f")" ]; then
			echo "$f: mode $(stat -c %a "$MESH.before/$f") -> $(stat -c %a "$MESH/$f")"; rc=1
		fi
	done < <(cd "$MESH.before" && find . -mindepth 1)
	while IFS= read -r f; do
		case $skip in *" ${f#./} "*) continue ;; esac
		[ -e "$MESH.before/$f" ] || { echo "$f: new"; rc=1; }
	done < <(cd "$MESH" && find . -mindepth 1)
	return $rc
}

# modes: "FILE MODE" of the secrets, the host directories and the file.
modes() {
	(cd "$MESH" && stat -c '%n %a' -- * */*.key)
}

# install_host HOST [KEYHOST]: what the operator copies to HOST: KEYHOST's
# private key (default HOST's own; "none" for none), the mesh's two
# secrets, and the shared file, unchanged, as HOST's configuration.
install_host() {
	local h=$1 k=${2:-$1}
	on "$h" rm -f "/etc/wgmeshd/$IFC.key"
	if [ "$k" != none ]; then
		on "$h" install -m 0600 "$MESH/$k/$IFC.key" "/etc/wgmeshd/$IFC.key" ||
		    return 1
	fi
	on "$h" install -m 0600 "$MESH/$IFC.psk" "$MESH/$IFC.gossip" \
	    /etc/wgmeshd/ &&
	    install -m 0644 "$MESH/wgmeshd.conf" "$(lab_conf "$h")"
}

# entry_line HOST: the line of HOST's entry in the shared file.
entry_line() {
	grep -n "^	peer \"$1\" {\$" "$MESH/wgmeshd.conf" | cut -d: -f1
}

# all_up N HOST...: every HOST reports N peers, all up; 99 if a daemon
# has ended.
all_up() {
	local n=$1 h j rc=0
	shift
	for h in "$@"; do
		runs "$h" || { echo "$h: wgmeshd is not running"; return 99; }
		j=$(ctl "$h" -j show peers 2>&1) || { echo "$h: $j"; rc=1; continue; }
		j=$(jq -r --argjson n "$n" '[.peers[] | "\(.name)=\(.state)"] +
		    [if (.peers | length) == $n and all(.peers[]; .state == "up")
		    then "(all up)" else "(not yet)" end] | join(" ")' <<<"$j" 2>&1)
		echo "$h: $j"
		[[ $j == *"(all up)" ]] || rc=1
	done
	return $rc
}

# ping_pairs HOST...: every ordered pair pings through the tunnel.
ping_pairs() {
	local a b
	for a in "$@"; do
		for b in "$@"; do
			[ "$a" = "$b" ] || ping6 "$a" "$b" 2 || return 1
		done
	done
}

# peer_names HOST: HOST's peers, as its daemon names them, sorted.
peer_names() {
	ctl "$1" -j show peers | jq -r '[.peers[].name] | sort | join(" ")'
}

# wg_state HOST: "PUBKEY HANDSHAKE RX" per peer of HOST's device, sorted.
wg_state() {
	on "$1" sh -c "wg show $IFC latest-handshakes | sort; echo; wg show $IFC transfer | sort" |
	    awk 'NF == 0 { t = 1; next } !t { hs[$1] = $2; next } { print $1, hs[$1], $2 }'
}

# kept_tunnels BEFORE AFTER: no tunnel of BEFORE lost its handshake or
# its received bytes (both are reset when a peer is removed and made
# again); a regular rekey (every 120 s) is not a loss.
kept_tunnels() {
	local now
	now=$(date +%s)
	awk -v now="$now" 'NR == FNR { hs[$1] = $2; rx[$1] = $3; next }
	    !($1 in hs) { next }
	    $2 != hs[$1] && now - hs[$1] < 110 {
		print "handshake with " $1 " renewed: " hs[$1] " -> " $2; bad = 1 }
	    $3 < rx[$1] { print "rx of " $1 " went from " rx[$1] " to " $3; bad = 1 }
	    END { exit bad }' <(echo "$1") <(echo "$2")
}

# refused HOST WANT: HOST's wgmeshd exits non-zero at once, its log
# having the line WANT exactly.
refused() {
	local h=$1 want=$2 pid mark
	mark=$(log_size "$h")
	lab_wgmeshd_start "$h"
	pid=${LAB_DAEMON[$h]}
	wait_for 10 dead "$pid" || { echo "$h: wgmeshd still runs"; stop_pid "$pid" TERM 5; return 1; }
	reap "$pid"
	[ "$REAPED" -ne 0 ] || { echo "$h: exit status 0"; return 1; }
	log_since "$h" "$mark" | grep -qxF -- "$want" ||
	    { echo "want: $want"; echo "log:"; log_since "$h" "$mark"; return 1; }
}

# nv_refused HOST WANT: "wgmeshd -n" on HOST exits 1 and prints exactly
# WANT.
nv_refused() {
	local out rc
	out=$(on "$1" "$WGMESHD" -n -f "$(lab_conf "$1")" 2>&1)
	rc=$?
	[ "$rc" -eq 1 ] && [ "$out" = "$2" ] ||
	    { echo "exit $rc, want 1"; echo "want: $2"; echo "got:  $out"; return 1; }
}

# ------------------------------------------------------------------------
note "wgmeshgen makes a mesh of three, umask 022"
HOSTS=(fa fb fc)
i=1
for h in fa fb fc fd; do
	ADDR4[$h]=198.18.0.$i
	i=$((i + 1))
done
check "wgmeshgen -i $IFC -o DIR fa=... fb=... fc" \
    gen "fa=${ADDR4[fa]}:$PORT" "fb=${ADDR4[fb]}:$PORT" fc ||
    die "giving up: no mesh made"
for f in "$IFC.psk" "$IFC.gossip" "fa/$IFC.key" "fb/$IFC.key" "fc/$IFC.key"; do
	check "it says it created $f" said "$f" created
done
check "it says it wrote wgmeshd.conf" said wgmeshd.conf written
check "secrets 0600, host directories 0700, the file 0644 under umask 022" \
    test "$(modes | sort | tr '\n' ' ')" = "fa 700 fa/$IFC.key 600 fb 700 fb/$IFC.key 600 fc 700 fc/$IFC.key 600 $IFC.gossip 600 $IFC.psk 600 wgmeshd.conf 644 "
for h in fa fb fc; do
	PUB[$h]=$(wg pubkey <"$MESH/$h/$IFC.key")
done
check "the file has each host's public key, endpoints for fa and fb only" \
    sh -c "grep -c 'public-key' '$MESH/wgmeshd.conf' | grep -qx 3 &&
    grep -qF '${PUB[fc]}' '$MESH/wgmeshd.conf' &&
    test \"\$(grep -c 'endpoint' '$MESH/wgmeshd.conf')\" = 2 &&
    grep -qF 'endpoint \"${ADDR4[fb]}:$PORT\"' '$MESH/wgmeshd.conf'"

keep
check "wgmeshgen run again with the same hosts" \
    gen "fa=${ADDR4[fa]}:$PORT" "fb=${ADDR4[fb]}:$PORT" fc
check "it says every key and secret is kept" \
    sh -c "test \"\$(grep -c ': kept (' '$LAB_DIR/gen.out')\" = 5"
check "it says wgmeshd.conf is unchanged" said wgmeshd.conf unchanged
check "and nothing changed (every file, byte for byte, and its mode)" \
    unchanged

# ------------------------------------------------------------------------
note "the same file on every host"
for h in "${HOSTS[@]}" fd; do
	lab_host "$h" "${ADDR4[$h]}"
	lab_wggo "$h"
done
for h in "${HOSTS[@]}"; do
	install_host "$h" || die "$h: cannot install its files"
done
check "the three hosts' configuration files are identical" \
    sh -c "cmp '$(lab_conf fa)' '$(lab_conf fb)' && cmp '$(lab_conf fa)' '$(lab_conf fc)'"
for h in "${HOSTS[@]}"; do
	lab_ctx "$h"
	check "$h: wgmeshd -n -v takes entry $(lab_conf "$h"):$(entry_line "$h") as itself" \
	    sh -c "nsenter -t ${LAB_HOLDER[$h]} -n -m -u -- '$WGMESHD' -n -v -f '$(lab_conf "$h")' |
	    grep -qxF \"		# this node's own entry ($(lab_conf "$h"):$(entry_line "$h")), not a peer\""
done

lab_ctx "${HOSTS[@]}"
t0=$(now_us)
for h in "${HOSTS[@]}"; do
	lab_wgmeshd_start "$h"
done
if wait_for "$MESH_DEADLINE" all_up 2 "${HOSTS[@]}"; then
	ok "full mesh of 3 from one file within $MESH_DEADLINE s"
	timing "time to full mesh (3 hosts, one file)" "$(($(now_us) - t0))"
else
	bad "no full mesh of 3 within $MESH_DEADLINE s"
	printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
	die "giving up: the rest needs the mesh"
fi
learn_overlays
for h in "${HOSTS[@]}"; do
	check "$h: its peers are the two others" \
	    test "$(peer_names "$h")" = "$(others "$h" "${HOSTS[@]}" | xargs -n 1 | sort | xargs)"
	check "$h: the log names the entry it took as itself" \
	    grep -qF "$IFC: this node is peer \"$h\" at $(lab_conf "$h"):$(entry_line "$h")" "$(lab_log "$h")"
done
check "ping every pair" ping_pairs "${HOSTS[@]}"
check "fa: show self carries the endpoint of its own entry" \
    sh -c "nsenter -t ${LAB_HOLDER[fa]} -n -m -u -- '$WGMESHCTL' show self |
    grep -qxF '	endpoint \"${ADDR4[fa]}:$PORT\"	# this node'\''s own entry'\''s'"
check "fa: show self -j too" \
    sh -c "nsenter -t ${LAB_HOLDER[fa]} -n -m -u -- '$WGMESHCTL' -j show self |
    jq -e '.interfaces[0].endpoint == \"${ADDR4[fa]}:$PORT\"'"
check "fc, whose entry has none: show self has no endpoint, -j null" \
    sh -c "nsenter -t ${LAB_HOLDER[fc]} -n -m -u -- '$WGMESHCTL' show self |
    grep -q '^	# endpoint \"HOST:$PORT\"' &&
    nsenter -t ${LAB_HOLDER[fc]} -n -m -u -- '$WGMESHCTL' -j show self |
    jq -e '.interfaces[0].endpoint == null'"

# ------------------------------------------------------------------------
note "a host whose key does not match its entry refuses to start"
check "wgmeshgen adds fd, given fd alone" gen fd
check "it says it created fd's key" said "fd/$IFC.key" created
for f in "$IFC.psk" "$IFC.gossip" "fa/$IFC.key" "fb/$IFC.key" "fc/$IFC.key"; do
	check "it says it kept $f" said "$f" kept
done
check "it says it wrote wgmeshd.conf" said wgmeshd.conf written
PUB[fd]=$(wg pubkey <"$MESH/fd/$IFC.key")
check "every other file is as it was (byte for byte, mode)" \
    unchanged fd "fd/$IFC.key" wgmeshd.conf
check "the new file has fd's entry, with its key, and four entries" \
    sh -c "test \"\$(grep -c '^	peer ' '$MESH/wgmeshd.conf')\" = 4 &&
    grep -qF '${PUB[fd]}' '$MESH/wgmeshd.conf'"
keep
check "wgmeshgen run again with all four" \
    gen "fa=${ADDR4[fa]}:$PORT" "fb=${ADDR4[fb]}:$PORT" fc fd
check "and nothing changed (every file, byte for byte, and its mode)" \
    unchanged

lab_ctx fd
conf=$(lab_conf fd)
line=$(entry_line fd)
install_host fd none
check "fd without its key: refused, the exact error" refused fd \
    "parent: $conf:$line: peer \"fd\" is this node, but private-key-file /etc/wgmeshd/$IFC.key does not exist: copy this node's key there (a new key would not match public-key ${PUB[fd]})"
check "fd: no key was made for it" on fd test ! -e "/etc/wgmeshd/$IFC.key"
install_host fd fb
check "fd with fb's key: refused, the exact error, both public keys" refused fd \
    "parent: $conf:$line: peer \"fd\" is this node, but its public-key ${PUB[fd]} is not the public key of private-key-file /etc/wgmeshd/$IFC.key, which is ${PUB[fb]}"
# and, the key being fb's, that fb's entry carries this node's key
check "fd: wgmeshd -n says the same, and whose key it is, and exits 1" \
    nv_refused fd "$conf:$line: peer \"fd\" is this node, but its public-key ${PUB[fd]} is not the public key of private-key-file /etc/wgmeshd/$IFC.key, which is ${PUB[fb]}
$conf:$(entry_line fb): peer \"fb\" has this node's own public key (from /etc/wgmeshd/$IFC.key)"

# ------------------------------------------------------------------------
note "fd brought in: the new file everywhere, a reload on the three"
lab_ctx fa fb fc fd
declare -A before=()
for h in "${HOSTS[@]}"; do
	before[$h]=$(wg_state "$h")
done
install_host fd || die "fd: cannot install its files"
t0=$(now_us)
lab_wgmeshd_start fd
for h in "${HOSTS[@]}"; do
	install -m 0644 "$MESH/wgmeshd.conf" "$(lab_conf "$h")"
	lab_ctx "$h"
	check "$h: reload says 'configuration reloaded'" \
	    test "$(ctl "$h" reload 2>&1)" = "configuration reloaded"
done
check "the four hosts' configuration files are identical" \
    sh -c "for h in fb fc fd; do cmp '$(lab_conf fa)' $LAB_DIR/\$h/wgmeshd.conf || exit 1; done"
HOSTS=(fa fb fc fd)
lab_ctx "${HOSTS[@]}"
if wait_for "$MESH_DEADLINE" all_up 3 "${HOSTS[@]}"; then
	ok "full mesh of 4 after the reloads"
	timing "time from fd's start to the mesh of 4" "$(($(now_us) - t0))"
else
	bad "no full mesh of 4 within $MESH_DEADLINE s"
	printf '%s\n' "$WAIT_OUT" | sed 's/^/     /'
fi
learn_overlays
for h in fa fb fc; do
	lab_ctx "$h"
	check "$h: its tunnels to the two others were not touched (handshake, rx)" \
	    kept_tunnels "${before[$h]}" "$(wg_state "$h")"
done
check "fd and every other host ping each other" ping_pairs "${HOSTS[@]}"
for h in "${HOSTS[@]}"; do
	check "$h: its peers are the three others" \
	    test "$(peer_names "$h")" = "$(others "$h" "${HOSTS[@]}" | xargs -n 1 | sort | xargs)"
done

note "timings: $LAB_TIMINGS"
lab_done
