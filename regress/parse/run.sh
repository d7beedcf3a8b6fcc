#!/bin/bash
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
#
# The configuration parser, through "wgmeshd -nn" (the file alone: this
# host need not have what the files name).  Run from the top of the
# tree: bash regress/parse/run.sh
#
#   good/*.conf	-nn accepts it silently, and the -v output parses again
#		to the same output
#   bad/X.conf	-nn exits 1 and prints exactly bad/X.err (the directory of
#		the test secrets written as $secrets)
#
# Then "wgmeshd -n" on a host that lacks what the start needs: each
# missing thing is one line that says how to fix it.
# Also: the address derivation vectors, a -D macro, the keyword table's
# order, and the example in wgmeshd.conf.5.  One line per failure, then
# "N passed, N failed".

# Paths in bad/*.err are relative to the top of the tree.
cd "$(dirname "$0")/../.." || exit 1

WGMESHD=./wgmeshd/wgmeshd
DIR=regress/parse
PARSE_Y=wgmeshd/parse.y
MANPAGE=wgmeshd.conf.5

passed=0
failed=0

pass() {
	passed=$((passed + 1))
}

fail() {
	echo "FAIL $1: $2"
	failed=$((failed + 1))
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

if [ ! -x "$WGMESHD" ]; then
	fail setup "$WGMESHD is not built (run make)"
	finish
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# git keeps no modes; the parser cares about them.
chmod 0644 $DIR/good/*.conf $DIR/bad/*.conf $DIR/bad/*.inc
chmod 0600 $DIR/good/*.inc $DIR/bad/include-loop.conf \
    $DIR/bad/include-secret.inc $DIR/bad/include-closes-block.inc \
    $DIR/bad/include-in-interface.inc
chmod 0666 $DIR/bad/writable.conf

# Preshared keys and gossip secrets must exist; make throwaway ones.
secrets=$tmp/secrets
mkdir -m 0700 "$secrets"
for f in mesh.psk gossip.secret edgeworth.psk; do
	(umask 077; head -c 32 /dev/urandom | base64 > "$secrets/$f")
done
# The private keys of good/fleet-*.conf, whose own entries carry their
# public keys (bernard: IKtn2MMEYLIkyMwHIS4irZ/kWclRzE1DbOTVfGS4OAg=,
# edgeworth: 8UOJSwRQ5fKN+l4dPuBwOL7Z/8J/WsuYgN/4kATt/R0=).
(umask 077
echo qGUDWZ5NDYKNAfkDd56YN3Cen427HfOfVLFB3V3ZQG0= > "$secrets/bernard.key"
echo sLUeMIi7lK3th8zmwcsbstC8GzBvt7ACawZdXzSiJVc= > "$secrets/edgeworth.key")
DEFS=(-D "secrets=$secrets")

# check_good name file [wgmeshd arguments]
check_good() {
	local name=$1 conf=$2 out1=$tmp/out1 out2=$tmp/out2 err=$tmp/err
	shift 2

	if ! "$WGMESHD" -nn "$@" -f "$conf" > "$out1" 2> "$err"; then
		fail "$name" "-nn failed: $(head -n 3 "$err")"
		return
	fi
	if [ -s "$err" ] || [ -s "$out1" ]; then
		fail "$name" "-nn was not silent: $(head -n 3 "$err" "$out1")"
		return
	fi
	if ! "$WGMESHD" -nn -v "$@" -f "$conf" > "$out1" 2> "$err" ||
	    [ -s "$err" ]; then
		fail "$name" "-nn -v failed: $(head -n 3 "$err")"
		return
	fi
	(umask 077; cat "$out1" > "$tmp/reparse.conf")
	if ! "$WGMESHD" -nn -v -f "$tmp/reparse.conf" > "$out2" 2> "$err" ||
	    [ -s "$err" ]; then
		fail "$name" "-v output does not parse: $(head -n 3 "$err")"
		return
	fi
	# where this node's own entry was found is the one line that differs
	sed -i "/^		# this node's own entry (/d" "$out1" "$out2"
	if ! cmp -s "$out1" "$out2"; then
		fail "$name" "-v output parses to something else:" \
		    "$(diff "$out1" "$out2" | head -n 5)"
		return
	fi
	pass
}

for conf in $DIR/good/*.conf; do
	check_good "good/$(basename "$conf" .conf)" "$conf" "${DEFS[@]}"
done

# The NixOS fleet module's vectors, as wgmeshd -n -v shows them.
"$WGMESHD" -nn -v -f $DIR/good/fleet-example.conf > "$tmp/fleet" 2>&1
for want in 'address auto  # fd00:1c86:78d4:dcef::1/64' \
    '# address: fd00:cac2:10cb:6ee9::1/64' \
    'allowed-ips auto  # fd00:cac2:10cb:6ee9::/64'; do
	if grep -qF -- "$want" "$tmp/fleet"; then
		pass
	else
		fail vectors "-v output lacks \"$want\""
	fi
done

# One file for every node: -v says which entry is this node, and takes
# it out of the peers.
"$WGMESHD" -n -v "${DEFS[@]}" -f $DIR/good/fleet-self.conf > "$tmp/self" 2>&1
if grep -qF -- "# this node's own entry ($DIR/good/fleet-self.conf:9), not a peer" \
    "$tmp/self" && [ "$(grep -c '^	peer ' "$tmp/self")" -eq 3 ] &&
    grep -qF -- "# public key: IKtn2MMEYLIkyMwHIS4irZ/kWclRzE1DbOTVfGS4OAg=" \
    "$tmp/self"; then
	pass
else
	fail fleet-self "-v does not show entry $DIR/good/fleet-self.conf:9" \
	    "as this node: $(head -n 20 "$tmp/self")"
fi
"$WGMESHD" -n -v "${DEFS[@]}" -f $DIR/good/fleet-include.conf \
    > "$tmp/self" 2>&1
if grep -qF -- "# this node's own entry ($DIR/good/fleet-include.inc:6), not a peer" \
    "$tmp/self" && grep -q '^	persistent-keepalive 15$' "$tmp/self"; then
	pass
else
	fail fleet-include "-v does not show entry $DIR/good/fleet-include.inc:6" \
	    "as this node, or the block's line after the include is lost"
fi

# A macro given with -D wins over the file's own definition.
if "$WGMESHD" -nn -v -D port=51999 -f $DIR/good/macros-include.conf \
    2>&1 | grep -q '^	listen-port 51999$'; then
	pass
else
	fail cmdline-macro "-D port=51999 did not set listen-port"
fi

# "upnp yes" is "port-mapping auto"; each protocol is printed back.
"$WGMESHD" -n -v -f $DIR/good/port-mapping.conf > "$tmp/pm" 2>&1
for want in 'port-mapping auto external-port 51820' \
    'port-mapping nat-pmp external-port 33723' \
    'port-mapping pcp external-port 51822' \
    'port-mapping upnp external-port 51823' \
    'port-mapping auto external-port 33724' 'port-mapping no'; do
	if grep -qxF -- "	$want" "$tmp/pm"; then
		pass
	else
		fail port-mapping "-v output lacks \"$want\""
	fi
done

for conf in $DIR/bad/*.conf; do
	name=bad/$(basename "$conf" .conf)
	want=${conf%.conf}.err
	if [ ! -f "$want" ]; then
		fail "$name" "no $want"
		continue
	fi
	"$WGMESHD" -nn "${DEFS[@]}" -f "$conf" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if [ "$rc" -ne 1 ]; then
		fail "$name" "exit status $rc, not 1"
	elif [ -s "$tmp/out" ]; then
		fail "$name" "printed to stdout"
	elif ! sed -i "s|$secrets|\$secrets|g" "$tmp/err" ||
	    ! cmp -s "$want" "$tmp/err"; then
		fail "$name" "unexpected errors: $(diff "$want" "$tmp/err" |
		    head -n 5)"
	else
		pass
	fi
done

# wgmeshgen(8), which writes such files (no root needed; regress/lab/
# fleet.sh runs the mesh it makes): modes under umask 022, a second run
# that changes nothing, nothing written when an existing secret is bad,
# and a file that wgmeshd reads (the names are no host's here: every
# entry is a peer, and the private key may be missing for -n).
WGMESHGEN=./wgmeshgen/wgmeshgen
mesh=$tmp/mesh
if (umask 022 && "$WGMESHGEN" -k "$mesh" -i wg0 -o "$mesh" gen-a \
    gen-b=198.18.0.2:51820 > "$tmp/gen" 2>&1) &&
    [ "$(cd "$mesh" && stat -c '%n %a' -- * */* | sort | tr '\n' ' ')" = \
    "gen-a 700 gen-a/wg0.key 600 gen-b 700 gen-b/wg0.key 600 wg0.gossip 600 wg0.psk 600 wgmeshd.conf 644 " ]
then
	pass
else
	fail wgmeshgen "modes under umask 022: $(cat "$tmp/gen"; ls -lR "$mesh")"
fi
cp -a "$mesh" "$tmp/mesh.before"
if "$WGMESHGEN" -k "$mesh" -i wg0 -o "$mesh" gen-a gen-b=198.18.0.2:51820 \
    > "$tmp/gen" 2>&1 && diff -r "$tmp/mesh.before" "$mesh" > /dev/null &&
    grep -q ": unchanged (2 hosts)$" "$tmp/gen"; then
	pass
else
	fail wgmeshgen "a second run changed something: $(cat "$tmp/gen")"
fi
chmod 0640 "$mesh/wg0.gossip"
"$WGMESHGEN" -k "$mesh" -i wg0 -o "$mesh" gen-c > "$tmp/gen" 2>&1
rc=$?
chmod 0600 "$mesh/wg0.gossip"
if [ "$rc" -eq 1 ] && [ ! -e "$mesh/gen-c" ] &&
    diff -r "$tmp/mesh.before" "$mesh" > /dev/null &&
    [ "$(cat "$tmp/gen")" = "wgmeshgen: $mesh/wg0.gossip: group or world readable (chmod 600 it)
wgmeshgen: nothing written" ]; then
	pass
else
	fail wgmeshgen "a bad secret: exit $rc: $(cat "$tmp/gen")"
fi
if out=$("$WGMESHGEN" -i wg0 -o "$tmp/mesh2" .. 2>&1) ||
    [ "$out" != "wgmeshgen: \"..\" cannot be a host's name here" ] ||
    [ -e "$tmp/mesh2" ]; then
	fail wgmeshgen "host \"..\": $out"
else
	pass
fi
if "$WGMESHD" -nn -f "$mesh/wgmeshd.conf" 2> "$tmp/err"; then
	pass
else
	fail wgmeshgen "wgmeshd -n refuses its file: $(head -n 3 "$tmp/err")"
fi

# -n: what this host lacks for the start, one line each, with the fix; -nn
# passes the same file.  The backend's UAPI socket is one no test makes.
start_conf=$tmp/start.conf
(umask 077; cat > "$start_conf") <<EOF
user "wgmeshd-regress-no-such-user"
state-directory "$tmp/state"
interface dgnone0 {
	private-key-file "$tmp/keys/dgnone0.key"
	backend userspace
}
EOF
"$WGMESHD" -n -f "$start_conf" > "$tmp/out" 2> "$tmp/err"
rc=$?
if [ "$rc" -ne 1 ]; then
	fail start-needs "-n: exit status $rc, not 1"
else
	pass
fi
for want in "user wgmeshd-regress-no-such-user does not exist; create it\
 with: useradd -r -d /var/empty -s /usr/sbin/nologin\
 wgmeshd-regress-no-such-user" \
    "dgnone0: backend userspace: no UAPI socket\
 /var/run/wireguard/dgnone0.sock; start wireguard-go dgnone0 (or\
 boringtun) before wgmeshd"; do
	if grep -qxF -- "$want" "$tmp/err"; then
		pass
	else
		fail start-needs "-n did not say \"$want\": $(cat "$tmp/err")"
	fi
done
if "$WGMESHD" -nn -f "$start_conf" > "$tmp/out" 2>&1; then
	pass
else
	fail start-needs "-nn failed: $(head -n 3 "$tmp/out")"
fi

# The example at the top of the tree is a working configuration; a
# missing configuration file points at it.
check_good example wgmeshd.conf.example -D "keydir=$secrets"
"$WGMESHD" -n -f /nonexistent/wgmeshd-test/wgmeshd.conf > "$tmp/out" \
    2> "$tmp/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -qxE '/nonexistent/wgmeshd-test/wgmeshd.conf: No such file or directory; start from /.*/wgmeshd.conf.example \(or the EXAMPLES in wgmeshd.conf\(5\)\), then check it with: wgmeshd -n' "$tmp/err"; then
	pass
else
	fail missing-file "exit status $rc: $(cat "$tmp/err")"
fi

# lookup() searches the keyword table with bsearch: it must be sorted.
sed -n '/^} keywords\[\] = {$/,/^};$/s/^	{ "\([^"]*\)",.*/\1/p' \
    "$PARSE_Y" > "$tmp/keywords"
if [ ! -s "$tmp/keywords" ]; then
	fail keywords "no keyword table found in $PARSE_Y"
elif ! LC_ALL=C sort -c -u "$tmp/keywords" 2> "$tmp/err"; then
	fail keywords "table not sorted: $(cat "$tmp/err")"
else
	pass
fi

# The example in the manual must be a working configuration.  It names
# its key directory in a macro, which -D points at the test secrets.
awk '/^\.Sh EXAMPLES/ { ex = 1 }
    ex && /^\.Bd -literal/ { lit = 1; next }
    lit && /^\.Ed/ { exit }
    lit { print }' "$MANPAGE" |
    sed -e 's/\\e/\\/g' -e 's/^\\&//' > "$tmp/example.conf"
chmod 0600 "$tmp/example.conf"
if [ ! -s "$tmp/example.conf" ]; then
	fail manpage-example "no example found in $MANPAGE"
else
	check_good manpage-example "$tmp/example.conf" -D "keydir=$secrets"
fi

if command -v mandoc > /dev/null; then
	if out=$(mandoc -Tlint -Wwarning "$MANPAGE" 2>&1) && [ -z "$out" ]
	then
		pass
	else
		fail manpage-lint "$(echo "$out" | head -n 3)"
	fi
fi

finish
