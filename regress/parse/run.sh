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
# The configuration parser, through "wgmeshd -n".  Run from the top of the
# tree: bash regress/parse/run.sh
#
#   good/*.conf	-n accepts it silently, and the -v output parses again
#		to the same output
#   bad/X.conf	-n exits 1 and prints exactly bad/X.err
#
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
    $DIR/bad/include-secret.inc
chmod 0666 $DIR/bad/writable.conf

# Preshared keys and gossip secrets must exist; make throwaway ones.
secrets=$tmp/secrets
mkdir -m 0700 "$secrets"
for f in mesh.psk gossip.secret edgeworth.psk; do
	(umask 077; head -c 32 /dev/urandom | base64 > "$secrets/$f")
done
DEFS=(-D "secrets=$secrets")

# check_good name file [wgmeshd arguments]
check_good() {
	local name=$1 conf=$2 out1=$tmp/out1 out2=$tmp/out2 err=$tmp/err
	shift 2

	if ! "$WGMESHD" -n "$@" -f "$conf" > "$out1" 2> "$err"; then
		fail "$name" "-n failed: $(head -n 3 "$err")"
		return
	fi
	if [ -s "$err" ] || [ -s "$out1" ]; then
		fail "$name" "-n was not silent: $(head -n 3 "$err" "$out1")"
		return
	fi
	if ! "$WGMESHD" -n -v "$@" -f "$conf" > "$out1" 2> "$err" ||
	    [ -s "$err" ]; then
		fail "$name" "-n -v failed: $(head -n 3 "$err")"
		return
	fi
	(umask 077; cat "$out1" > "$tmp/reparse.conf")
	if ! "$WGMESHD" -n -v -f "$tmp/reparse.conf" > "$out2" 2> "$err" ||
	    [ -s "$err" ]; then
		fail "$name" "-v output does not parse: $(head -n 3 "$err")"
		return
	fi
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
"$WGMESHD" -n -v -f $DIR/good/fleet-example.conf > "$tmp/fleet" 2>&1
for want in 'address auto  # fd00:1c86:78d4:dcef::1/64' \
    '# address: fd00:cac2:10cb:6ee9::1/64' \
    'allowed-ips auto  # fd00:cac2:10cb:6ee9::/64'; do
	if grep -qF -- "$want" "$tmp/fleet"; then
		pass
	else
		fail vectors "-v output lacks \"$want\""
	fi
done

# A macro given with -D wins over the file's own definition.
if "$WGMESHD" -n -v -D port=51999 -f $DIR/good/macros-include.conf \
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
	"$WGMESHD" -n "${DEFS[@]}" -f "$conf" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if [ "$rc" -ne 1 ]; then
		fail "$name" "exit status $rc, not 1"
	elif [ -s "$tmp/out" ]; then
		fail "$name" "printed to stdout"
	elif ! cmp -s "$want" "$tmp/err"; then
		fail "$name" "unexpected errors: $(diff "$want" "$tmp/err" |
		    head -n 5)"
	else
		pass
	fi
done

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
