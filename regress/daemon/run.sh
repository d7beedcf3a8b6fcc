#!/usr/bin/env bash
# One daemon on one host (wireguard-go in a network namespace with a
# private /run and /etc/hosts): the control socket and wgmeshctl's errors,
# the engine's counters, wgmeshctl against a fake engine's answers,
# a client sending garbage, readiness notification, a host name endpoint
# resolved by the engine, the children's confinement as the kernel sees
# it, the engine's gossip and LAN sockets, a LAN beacon, the state file, a
# second daemon on the same socket, a missing user.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
pass=0 fail=0
ns=wgmd$$
work=$(mktemp -d /tmp/wgmeshd-daemon.XXXXXX)
holder= daemon= notify= engine= listener= lan=

cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon"
	[ -n "$notify" ] && kill "$notify" 2>/dev/null
	[ -n "$listener" ] && kill "$listener" 2>/dev/null
	[ -n "${fakepid:-}" ] && kill "$fakepid" 2>/dev/null
	[ -n "${wgpid:-}" ] && kill "$wgpid" 2>/dev/null
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf -- "$work"
}
trap cleanup EXIT

check() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then
		pass=$((pass + 1))
	else
		echo "FAIL $what"
		fail=$((fail + 1))
	fi
}
# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds
wait_for() {
	local i n=$(($1 * 10))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

getent passwd _wgmeshd >/dev/null ||
    useradd -r -d /var/empty -s /usr/sbin/nologin _wgmeshd
mkdir -p /var/empty
ctl="$top/wgmeshctl/wgmeshctl"

wg genkey > "$work/self.key"
wg genkey > "$work/p1.key"
chmod 600 "$work"/*.key
cat > "$work/wgmeshd.conf" <<CONF
interface wg0 {
	name "host"
	private-key-file "$work/self.key"
	listen-port 51820
	peer "far" {
		public-key "$(wg pubkey < "$work/p1.key")"
		endpoint "far.lab.example:51821"
	}
}
CONF
chmod 600 "$work/wgmeshd.conf"
printf '127.0.0.1 localhost\n198.18.50.7 far.lab.example\n' > "$work/hosts"

ip netns add "$ns"
# an underlay for LAN discovery to broadcast on: a veth pair, the route
if ip netns exec "$ns" ip link add lan0 type veth peer name lan1 \
    2>/dev/null &&
    ip netns exec "$ns" ip addr add 198.18.60.1/24 brd + dev lan0 &&
    ip netns exec "$ns" ip link set lan0 up &&
    ip netns exec "$ns" ip link set lan1 up &&
    ip netns exec "$ns" ip route add default dev lan0; then
	lan=1
else
	echo "no veth pair: the LAN beacon is not checked"
fi
# The holder says when its mounts are made, in a file outside them: until
# then nsenter -m would enter this host's mount namespace, and
# wireguard-go would put its socket in this host's /run.
ip netns exec "$ns" unshare --mount --propagation private sh -c "
	mount -t tmpfs tmpfs /run && mkdir -p /run/wireguard &&
	mount -t tmpfs tmpfs /var/lib &&
	mount --bind '$work/hosts' /etc/hosts && ip link set lo up &&
	touch '$work/holder.ready' && exec sleep 600" &
holder=$!
on() { nsenter -t "$holder" -n -m "$@"; }
wait_for 10 test -e "$work/holder.ready" ||
    echo "the namespace holder made no mounts within 10 s"
# nsenter execs its command, so $! is wireguard-go's own pid
nsenter -t "$holder" -n -m wireguard-go -f wg0 >"$work/wireguard-go.log" 2>&1 &
wgpid=$!
# a loaded machine may take its time; without the socket nothing below
# can pass, so say so
wait_for 30 on test -S /run/wireguard/wg0.sock ||
    echo "wireguard-go made no /run/wireguard/wg0.sock within 30 s: $(cat "$work/wireguard-go.log")"

# readiness: a notify socket that records what it is sent
nsenter -t "$holder" -n -m python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
open(sys.argv[2], "wb").write(s.recv(256))
' /run/notify.sock "$work/notify" &
notify=$!
wait_for 5 on test -S /run/notify.sock

# a neighbour on the LAN, listening on the gossip port for a beacon
if [ -n "$lan" ]; then
	# bound to the broadcast address, so that it takes no unicast
	# meant for the daemon; root, as the daemon, may share the port
	nsenter -t "$holder" -n python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("255.255.255.255", 1666))
s.settimeout(60)
while True:
    data = s.recv(512)
    if data[:4] == b"wgmL":
        open(sys.argv[1], "wb").write(data)
        break
' "$work/beacon" &
	listener=$!
	wait_for 5 sh -c "nsenter -t $holder -n ss -Hulpn 'sport = :1666' |
	    grep -q 'pid=$listener,'"
fi

nsenter -t "$holder" -n -m env NOTIFY_SOCKET=/run/notify.sock \
    "$top/wgmeshd/wgmeshd" -d -vv \
    -f "$work/wgmeshd.conf" 2>"$work/daemon.log" &
daemon=$!
check "control socket appears" wait_for 10 on test -S /run/wgmeshd.sock
check "READY=1 sent to NOTIFY_SOCKET" wait_for 10 grep -qx READY=1 \
    "$work/notify"
check "control socket mode 0660" \
    test "$(on stat -c %a /run/wgmeshd.sock)" = 660

# a host name endpoint, resolved by the engine from /etc/hosts
check "host name endpoint set on the device" wait_for 10 sh -c \
    "nsenter -t $holder -n -m wg show wg0 endpoints | grep -q 198.18.50.7:51821"
check "show peers says the endpoint came from dns" wait_for 5 sh -c \
    "nsenter -t $holder -n -m $ctl -j show peers far |
    jq -e '.peers[0].endpoint_source == \"dns\"'"

# the children's confinement, as the kernel sees it (the relay process,
# -R: "relay-offer auto" is the default)
for role in E S R; do
	pid=$(on ps -o pid= -o args= --ppid "$daemon" | awk -v r="-$role" \
	    '{ for (i = 2; i <= NF; i++) if ($i == r) print $1 }' | head -1)
	if [ -z "$pid" ]; then
		check "child -$role found" false
		continue
	fi
	check "child -$role: seccomp filter" \
	    grep -q '^Seccomp:[[:space:]]*2' /proc/$pid/status
	check "child -$role: no_new_privs" \
	    grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$pid/status
	check "child -$role: not root" sh -c \
	    "! grep -q '^Uid:[[:space:]]*0' /proc/$pid/status"
	want=/var/empty
	[ $role = S ] && want=/var/lib/wgmeshd
	check "child -$role: chrooted in $want" \
	    test "$(readlink /proc/$pid/root)" = "$want"
	[ $role = E ] && engine=$pid
	[ $role = R ] && relay=$pid
done
check "relay process: holds every relay port, 51900-51931" sh -c \
    "[ \$(nsenter -t $holder -n -m ss -Hulpn 'sport >= :51900 and sport <= :51931' |
    grep -c 'pid=${relay:-none},') -eq 32 ]"
check "relay process: no socket but its 32 ports and its 2 pipes" \
    test "$(ls -l /proc/${relay:-none}/fd 2>/dev/null | grep -c socket:)" \
    -eq 34

# process titles: ps, top and systemd tell the children apart
for role in E:engine S:storage R:relay; do
	pid=$(on ps -o pid= -o args= --ppid "$daemon" |
	    awk -v r="-${role%%:*}" \
	    '{ for (i = 2; i <= NF; i++) if ($i == r) print $1 }' | head -1)
	name=${role#*:}
	check "child -${role%%:*}: comm wgmeshd-$name" \
	    test "$(cat /proc/${pid:-none}/comm 2>&1)" = "wgmeshd-$name"
	check "child -${role%%:*}: command line begins \"wgmeshd: $name\"" \
	    test "$(tr '\0' '\n' </proc/${pid:-none}/cmdline 2>&1 |
	    head -1)" = "wgmeshd: $name"
done
# the UPnP worker: a process of the engine's, confined as it is
upnp=$(on ps -o pid= -o comm= --ppid "${engine:-0}" |
    awk '$2 == "wgmeshd-upnp" { print $1 }' | head -1)
check "engine: a UPnP worker process, wgmeshd-upnp" test -n "$upnp"
check "UPnP worker: seccomp filter" \
    grep -q '^Seccomp:[[:space:]]*2' /proc/${upnp:-none}/status
check "UPnP worker: not root" sh -c \
    "! grep -q '^Uid:[[:space:]]*0' /proc/${upnp:-none}/status"
check "UPnP worker: chrooted in /var/empty" \
    test "$(readlink /proc/${upnp:-none}/root)" = /var/empty
check "engine: one thread (UPnP is a process of its own)" \
    test "$(ls /proc/${engine:-none}/task 2>/dev/null | wc -l)" -eq 1
check "UPnP worker: holds no descriptor of the engine's but its pipe" \
    test "$(ls /proc/${upnp:-none}/fd 2>/dev/null | wc -l)" -le 5
# fd 4: what PCP and NAT-PMP need to find the default gateway
check "UPnP worker: its fd 4 is /proc/net/route, read only" sh -c \
    "readlink /proc/${upnp:-none}/fd/4 | grep -q '/net/route\$' &&
    grep -q '^flags:[[:space:]]*0*[0-7]*0\$' /proc/${upnp:-none}/fdinfo/4"

# gossip: the engine holds the socket the parent made, on the device
check "engine holds the gossip socket on wg0, port 1666" sh -c \
    "nsenter -t $holder -n -m ss -Hulpn 'sport = :1666' |
    grep '%wg0:1666' | grep -q 'pid=${engine:-none},'"
# LAN discovery: the engine alone holds the parent's socket on the
# wildcard address and the gossip port, and beacons wg0's listen port
# and public key to the broadcast address from it
lansock=$(on ss -Hulpn 'sport = :1666' | grep -F '0.0.0.0:1666')
check "engine holds the LAN socket on 0.0.0.0:1666" sh -c \
    "printf '%s\n' \"\$1\" | grep -q 'pid=${engine:-none},'" sh "$lansock"
check "the parent keeps no LAN socket" sh -c \
    "! printf '%s\n' \"\$1\" | grep -q 'pid=$daemon,'" sh "$lansock"
if [ -n "$lan" ]; then
	# as long as a sealed PING (LAN_DATAGRAM_LEN in wire.h)
	landg=$(($(printf '#include "wire.h"\nLAN_DATAGRAM_LEN\n' |
	    cc -E -D_GNU_SOURCE -Icommon -Iwgmeshd -x c - 2>/dev/null |
	    tail -n 1)))
	check "a LAN beacon: wg0's key and listen port, broadcast" \
	    wait_for 15 python3 -c '
import base64, sys
d, n = open(sys.argv[1], "rb").read(), int(sys.argv[3])
want = b"wgmL\x01\x00" + (51820).to_bytes(2, "big") + \
    base64.b64decode(sys.argv[2])
sys.exit(0 if len(d) == n and d[:40] == want and d[40:] == bytes(n - 40)
    else 1)
' "$work/beacon" "$(wg pubkey < "$work/self.key")" "$landg"
fi
check "engine asked storage for the state file" wait_for 5 grep -q \
    "wg0: 0 endpoints from the state file" "$work/daemon.log"

# wgmeshctl's errors
out=$(on "$ctl" frobnicate 2>&1)
check "unknown command: exit 1" test $? -eq 1
check "unknown command: lists valid commands" sh -c \
    "printf '%s' \"\$1\" | grep -q 'show peers' &&
    printf '%s' \"\$1\" | grep -q reload" sh "$out"
out=$(on "$ctl" -s /run/nonexistent.sock show peers 2>&1)
check "daemon not running: exit 1" test $? -eq 1
check "daemon not running: one line naming the socket" sh -c \
    "test \$(printf '%s\n' \"\$1\" | wc -l) -eq 1 &&
    printf '%s' \"\$1\" | grep -q /run/nonexistent.sock" sh "$out"
out=$(on "$ctl" status 2>&1)
check "status: exit 1" test $? -eq 1
check "status: says it is no command, then the list" sh -c \
    "test \"\$(printf '%s\n' \"\$1\" | head -n 1)\" = \
    'wgmeshctl: unknown command: status' &&
    printf '%s' \"\$1\" | grep -q 'show peers'" sh "$out"
out=$(on setpriv --reuid=65534 --regid=65534 --clear-groups "$ctl" \
    show peers 2>&1)
check "not root: exit 1" test $? -eq 1
check "not root: says to run as root or join the socket's group" \
    test "$out" = "wgmeshctl: cannot connect to /run/wgmeshd.sock: \
Permission denied; run wgmeshctl as root, or as a member of group root, \
which the socket (mode 0660) lets in"
check "show peers NAME of no peer: exit 1" sh -c \
    "! nsenter -t $holder -n -m $ctl show peers nosuch"
check "show peers NAME of no peer: says so" test \
    "$(on "$ctl" show peers nosuch 2>&1)" = "wgmeshctl: no peer named nosuch"
# wgmeshctl ping: of no peer, the peers listed; of one that is not up
# (far has never answered), its state and reason; both at once
out=$(on "$ctl" ping nosuch 2>&1)
check "ping NAME of no peer: exit 1" test $? -eq 1
check "ping NAME of no peer: says so, and lists the peers" test "$out" = \
    "wgmeshctl: no peer named nosuch; the peers: far"
out=$(on "$ctl" ping -I wg9 far 2>&1)
check "ping -I of no interface: exit 1, the interfaces listed" sh -c \
    "test $? -eq 1 && test \"\$1\" = \
    'wgmeshctl: no interface wg9; the interfaces: wg0'" sh "$out"
out=$(on timeout 5 "$ctl" ping -c 5 -W 10 far 2>&1)
check "ping of a peer not up: exit 1 at once" test $? -eq 1
check "ping of a peer not up: says so, with its state and what to do" \
    sh -c "printf '%s\n' \"\$1\" | grep -Eq \
    '^wgmeshctl: peer far on wg0 is not up \\((connecting|unreachable|waiting): .+\\); a ping needs its tunnel \\(wgmeshctl show peers far\\)\$'" \
    sh "$out"
out=$(on "$ctl" ping 2>&1)
check "ping without a name: exit 1, says which is missing" sh -c \
    "test $? -eq 1 && printf '%s\n' \"\$1\" | head -n 1 | grep -qF \
    'wgmeshctl: ping: which peer? (wgmeshctl show peers lists them)'" \
    sh "$out"
out=$(on "$ctl" ping -c 0 far 2>&1)
check "ping -c 0: exit 1, the range said" sh -c "test $? -eq 1 &&
    test \"\$1\" = 'wgmeshctl: -c 0: not a number from 1 to 1000'" sh "$out"
out=$(on "$ctl" -W 11 ping far 2>&1)
check "ping -W 11: exit 1, the range said" sh -c "test $? -eq 1 &&
    test \"\$1\" = 'wgmeshctl: -W 11: not a number from 1 to 10'" sh "$out"
out=$(on "$ctl" -c 2 show peers 2>&1)
check "-c with another command: exit 1, says it is for ping" sh -c \
    "test $? -eq 1 && test \"\$1\" = \
    'wgmeshctl: -c, -I and -W are for ping only'" sh "$out"
check "prefix matching: sh pe" on "$ctl" sh pe
check "log verbose" on "$ctl" log verbose
check "log brief" on "$ctl" log brief

# the engine's counters: junk to the LAN socket is dropped and counted
# (with TTL 255: with another it would be counted as routed, drop_hoplimit)
on python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
for i in range(3):
    s.sendto(b"junk", ("127.0.0.1", 1666))
'
check "show counters: a LAN datagram of junk counted" wait_for 5 sh -c \
    "nsenter -t $holder -n -m $ctl -j show counters |
    jq -e '.counters.lan.drop_bad >= 3'"
out=$(on "$ctl" show counters 2>&1)
check "show counters: exit 0" test $? -eq 0
check "show counters: says it is engine-wide" sh -c \
    "printf '%s\n' \"\$1\" | head -1 | grep -q 'engine-wide: all interfaces'" \
    sh "$out"
check "show counters: a line per counter, gossip, lan and relay" sh -c \
    "test \$(printf '%s\n' \"\$1\" |
    grep -Ec '^(gossip|lan|relay) +[a-z_]+ +[0-9]+\$') -eq 48" sh "$out"
check "show counters: lan drop_bad" sh -c \
    "printf '%s\n' \"\$1\" | grep -Eq '^lan +drop_bad +[1-9][0-9]*\$'" sh "$out"
out=$(on "$ctl" -j show counters 2>&1)
check "-j show counters: exit 0" test $? -eq 0
check "-j show counters: the expected keys, numbers" jq -e '
    .status == 0 and (.counters | keys) == ["gossip", "lan", "relay"] and
    (.counters.gossip | keys) == (["rx", "rx_bad", "rx_unknown", "tx",
    "tx_bytes", "punches", "alive_tx", "rx_poke", "drop_nopeer",
    "drop_nokey", "drop_reconf", "drop_short", "drop_too_long",
    "drop_bad_version", "drop_bad_type", "drop_authentication_failed", "drop_replay",
    "drop_stale", "drop_no_space"] | sort) and
    (.counters.lan | keys) == (["tx", "rx_beacon", "rx_ping", "rx_pong",
    "rx_own", "drop_bad", "drop_unicast", "drop_nopeer", "drop_nokey",
    "drop_open", "drop_nonce", "drop_reconf", "drop_hoplimit", "drop_scope", "drop_path",
    "drop_offlink"] | sort) and
    (.counters.relay | keys) == (["rx", "forwarded", "forwarded_bytes",
    "latched", "drop_junk", "drop_wrong_peer", "drop_unexpected",
    "drop_replay", "drop_unlatched", "drop_paused", "drop_rate",
    "drop_full", "drop_idle"] | sort) and
    ([.counters[][]] | all(type == "number" and . >= 0))' <<<"$out"
if [ -n "$lan" ]; then
	check "-j show counters: the LAN beacon counted as sent" jq -e \
	    '.counters.lan.tx >= 1' <<<"$out"
fi
check "prefix matching: sh co" on "$ctl" sh co

# wgmeshctl against a fake engine: an answer it must refuse, or print
# field by field in struct ctl_counters' order (counter i has value i)
fake() {
	rm -f "$work/fake.sock" "$work/fake.ready"
	python3 - "$top/common/proto.h" "$work/fake.sock" "$work/fake.ready" \
	    "$1" <<'PY' &
import re, socket, struct, sys
# the rows of IMSG_TYPES: "= N" where the number is fixed, else the next
types, number = {}, 0
for name, fixed in re.findall(r"X\((IMSG_\w+),\s*(?:=\s*(\d+))?\s*,",
    open(sys.argv[1]).read()):
    number = int(fixed) if fixed else number + 1
    types[name] = number
def msg(t, data):
    return struct.pack("=IHHII", types[t], 16 + len(data), 0, 0, 0) + data
counters = b"".join(struct.pack("=Q", i + 1) for i in range(48))
end = msg("IMSG_CTL_END", bytes(516))
answers = {
    "good": msg("IMSG_CTL_COUNTERS", counters) + end,
    "short": msg("IMSG_CTL_COUNTERS", counters[:-1]) + end,
    "long": msg("IMSG_CTL_COUNTERS", counters + bytes(8)) + end,
    "twice": msg("IMSG_CTL_COUNTERS", counters) * 2 + end,
    "none": end,
    # well formed (struct ctl_peer), but no answer to show counters
    "peer": msg("IMSG_CTL_PEER", bytes(456)) + end,
}
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[2])
s.listen(1)
open(sys.argv[3], "w").close()
s.settimeout(10)
c, _ = s.accept()
c.settimeout(10)
req = c.recv(64)
if len(req) != 16 or struct.unpack("=IHH", req[:8]) != \
    (types["IMSG_CTL_SHOW_COUNTERS"], 16, 0):
    sys.exit(1)
if sys.argv[4] == "fd":
    # a good answer, with a descriptor no answer carries
    socket.send_fds(c, [answers["good"]], [c.fileno()])
else:
    c.sendall(answers[sys.argv[4]])
c.close()
PY
	fakepid=$!
	wait_for 5 test -e "$work/fake.ready"
}
fake good
out=$("$ctl" -s "$work/fake.sock" show counters 2>&1)
check "fake engine: show counters, exit 0" test $? -eq 0
check "fake engine: counters in struct order, text" sh -c \
    "printf '%s\n' \"\$1\" | grep -Eq '^gossip +rx +1\$' &&
    printf '%s\n' \"\$1\" | grep -Eq '^gossip +rx_poke +8\$' &&
    printf '%s\n' \"\$1\" | grep -Eq '^gossip +drop_no_space +19\$' &&
    printf '%s\n' \"\$1\" | grep -Eq '^lan +tx +20\$' &&
    printf '%s\n' \"\$1\" | grep -Eq '^lan +rx_own +24\$' &&
    printf '%s\n' \"\$1\" | grep -Eq '^lan +drop_reconf +31\$' &&
    printf '%s\n' \"\$1\" | grep -Eq '^lan +drop_scope +33\$' &&
    printf '%s\n' \"\$1\" | grep -Eq '^lan +drop_offlink +35\$' &&
    printf '%s\n' \"\$1\" | grep -Eq '^relay +rx +36\$' &&
    printf '%s\n' \"\$1\" | grep -Eq '^relay +drop_idle +48\$'" sh "$out"
wait "$fakepid"
check "fake engine: the request was IMSG_CTL_SHOW_COUNTERS alone" \
    test $? -eq 0
fake good
out=$("$ctl" -s "$work/fake.sock" -j show counters 2>&1)
check "fake engine: counters in struct order, JSON" jq -e '
    .counters.gossip.rx == 1 and .counters.gossip.rx_poke == 8 and
    .counters.gossip.drop_no_space == 19 and
    .counters.lan.tx == 20 and .counters.lan.rx_own == 24 and
    .counters.lan.drop_reconf == 31 and
    .counters.lan.drop_scope == 33 and .counters.lan.drop_offlink == 35 and
    .counters.relay.rx == 36 and .counters.relay.drop_idle == 48 and
    ([.counters[][]] | length) == 48' <<<"$out"
wait "$fakepid"
for bad in \
    "short:bad answer from wgmeshd: IMSG_CTL_COUNTERS from the engine: " \
    "long:bad answer from wgmeshd: IMSG_CTL_COUNTERS from the engine: " \
    "twice:IMSG_CTL_COUNTERS twice" \
    "none:no counters from wgmeshd" "peer:unexpected answer IMSG_CTL_PEER" \
    "fd:bad answer from wgmeshd"; do
	fake "${bad%%:*}"
	out=$("$ctl" -s "$work/fake.sock" -j show counters 2>&1)
	check "fake engine: ${bad%%:*} answer refused, exit 1" test $? -eq 1
	check "fake engine: ${bad%%:*} answer refused: ${bad#*:}, no JSON" \
	    sh -c "printf '%s' \"\$1\" | grep -q '^wgmeshctl: ${bad#*:}' &&
	    ! printf '%s' \"\$1\" | grep -q '{'" sh "$out"
	wait "$fakepid"
done
fakepid=

# metrics_escaped TEXT: show metrics' label values of the fake's strings:
# a byte beyond printable ASCII as \\ooo (the value "\ooo", as show peers
# shows it), a backslash, a double quote and a newline escaped.
metrics_escaped() {
	grep -qF 'wgmeshd_peer_up{interface="wg\\033[1m0",peer="evil\\033[2J\\007\\377\\"} 0' <<<"$1" &&
	    grep -qF 'name="node\n\"x\""' <<<"$1"
}

# wgmeshctl shows a terminal no byte of the daemon's strings that it
# would act on (escapes, controls, bytes beyond ASCII), and -j stays JSON
rm -f "$work/vis.sock" "$work/vis.ready"
python3 - "$top/common/proto.h" "$work/vis.sock" "$work/vis.ready" <<'PY' &
import re, socket, struct, sys
# the rows of IMSG_TYPES: "= N" where the number is fixed, else the next
types, number = {}, 0
for name, fixed in re.findall(r"X\((IMSG_\w+),\s*(?:=\s*(\d+))?\s*,",
    open(sys.argv[1]).read()):
    number = int(fixed) if fixed else number + 1
    types[name] = number
def msg(t, data):
    return struct.pack("=IHHII", types[t], 16 + len(data), 0, 0, 0) + data
peer = struct.pack("=16s64s96s32s16sHH16sIqqQQQHBBIqqq64s64sB7s",
    b"wg\x1b[1m0", b"evil\x1b[2J\x07\xff\\", b"\x1b]0;pwned\x07\x9b",
    bytes(32), bytes(16), 0, 0, bytes(16), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, b"", b"", 0, b"")
iface = struct.pack("=16s64s16s32s16sIIHHHH16sIIH254sBB2x", b"wg\x1b[1m0",
    b"node\n\"x\"", b"userspace", bytes(32), bytes(16), 1, 0, 51820, 25,
    0, 0, bytes(16), 0, 0, 0, b"", 0, 0)
counters = b"".join(struct.pack("=Q", i + 1) for i in range(48))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[2])
s.listen(3)
open(sys.argv[3], "w").close()
s.settimeout(10)
for i in range(3):
    c, _ = s.accept()
    c.settimeout(10)
    req = c.recv(4096)
    if struct.unpack("=I", req[:4])[0] == types["IMSG_CTL_SHOW_METRICS"]:
        c.sendall(msg("IMSG_CTL_IFACE", iface) + msg("IMSG_CTL_PEER", peer) +
            msg("IMSG_CTL_COUNTERS", counters) +
            msg("IMSG_CTL_END", bytes(516)))
    else:
        c.sendall(msg("IMSG_CTL_PEER", peer) +
            msg("IMSG_CTL_END", bytes(516)))
    c.close()
PY
fakepid=$!
wait_for 5 test -e "$work/vis.ready"
out=$("$ctl" -s "$work/vis.sock" show peers 2>&1)
check "escapes from the daemon: show peers, exit 0" test $? -eq 0
check "escapes from the daemon: no control or non-ASCII byte printed" \
    sh -c "! printf '%s' \"\$1\" | LC_ALL=C grep -q '[^[:print:][:space:]]'" \
    sh "$out"
check "escapes from the daemon: shown as \\ooo" sh -c \
    "printf '%s\n' \"\$1\" | grep -qF 'wg\\033[1m0' &&
    printf '%s\n' \"\$1\" | grep -qF 'evil\\033[2J\\007\\377\\\\' &&
    printf '%s\n' \"\$1\" | grep -qF '\\033]0;pwned\\007\\233'" sh "$out"
out=$("$ctl" -s "$work/vis.sock" -j show peers 2>&1)
check "escapes from the daemon: -j is JSON, every byte kept" jq -e '
    .peers[0].interface == "wg\u001b[1m0" and
    .peers[0].name == "evil\u001b[2J\u0007\u00ff\\" and
    .peers[0].reason == "\u001b]0;pwned\u0007\u009b"' <<<"$out"
out=$("$ctl" -s "$work/vis.sock" show metrics 2>&1)
check "escapes from the daemon: show metrics, exit 0" test $? -eq 0
check "escapes from the daemon: metrics pass promtool, all ASCII" sh -c \
    "printf '%s\n' \"\$1\" | promtool check metrics &&
    ! printf '%s' \"\$1\" | LC_ALL=C grep -q '[^[:print:][:space:]]'" \
    sh "$out"
check "escapes from the daemon: label values escaped" metrics_escaped "$out"
wait "$fakepid"
fakepid=

# columns as wide as the longest name: a long peer name does not push the
# next columns out of line (peers of a fake engine)
rm -f "$work/cols.sock" "$work/cols.ready"
python3 - "$top/common/proto.h" "$work/cols.sock" "$work/cols.ready" <<'PY' &
import re, socket, struct, sys
types, number = {}, 0
for name, fixed in re.findall(r"X\((IMSG_\w+),\s*(?:=\s*(\d+))?\s*,",
    open(sys.argv[1]).read()):
    number = int(fixed) if fixed else number + 1
    types[name] = number
def msg(t, data):
    return struct.pack("=IHHII", types[t], 16 + len(data), 0, 0, 0) + data
def peer(name):
    return msg("IMSG_CTL_PEER",
        struct.pack("=16s64s96s32s16sHH16sIqqQQQHBBIqqq64s64sB7s",
        b"wg0", name, b"no endpoint known", bytes(32),
        bytes.fromhex("fd001c8678d4dcef0000000000000001"), 0, 0, bytes(16),
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b"", b"", 0, b""))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[2])
s.listen(1)
open(sys.argv[3], "w").close()
s.settimeout(10)
c, _ = s.accept()
c.settimeout(10)
c.recv(4096)
c.sendall(peer(b"a") + peer(b"a-node-with-a-rather-long-name-indeed") +
    msg("IMSG_CTL_END", bytes(516)))
c.close()
PY
fakepid=$!
wait_for 5 test -e "$work/cols.ready"
out=$("$ctl" -s "$work/cols.sock" show peers 2>&1)
check "long names: the STATE and ADDRESS columns in line" awk '
    NR == 1 { s = index($0, "STATE"); a = index($0, "ADDRESS") }
    NR > 1 && (substr($0, s, 7) != "waiting" ||
    substr($0, a, 22) != "fd00:1c86:78d4:dcef::1") { bad = 1 }
    END { exit bad || NR != 3 || s == 0 || a == 0 }' <<<"$out"
wait "$fakepid"
fakepid=

# wgmeshctl ping against a fake engine: the request as packed (struct
# ctl_ping), a line per IMSG_CTL_PONG (struct ctl_pong) with its round
# trip and path, strings from the daemon shown safely, the summary; no
# answer: exit 1 with the engine's reason; more answers than probes:
# refused
rm -f "$work/ping.sock" "$work/ping.ready" "$work/ping.req"
python3 - "$top/common/proto.h" "$work/ping.sock" "$work/ping.ready" \
    "$work/ping.req" <<'PY' &
import re, socket, struct, sys
types, number = {}, 0
for name, fixed in re.findall(r"X\((IMSG_\w+),\s*(?:=\s*(\d+))?\s*,",
    open(sys.argv[1]).read()):
    number = int(fixed) if fixed else number + 1
    types[name] = number
def msg(t, data):
    return struct.pack("=IHHII", types[t], 16 + len(data), 0, 0, 0) + data
def addr4(a, port):
    return struct.pack("=HH16sI", 2, port, bytes(a) + bytes(12), 0)
def pong(seq, rtt, answered, path, via, ep):
    return msg("IMSG_CTL_PONG", struct.pack("=16s64s64s24sIIBB6x", b"wg0",
        b"b", via, ep, seq, rtt, answered, path))
def end(status, text):
    return msg("IMSG_CTL_END", struct.pack("=i512s", status, text))
answers = [
    pong(1, 1234, 1, 1, b"", addr4([198, 18, 0, 12], 51820)) +
    pong(2, 2500, 1, 3, b"r\x1b[2Jelay", addr4([198, 18, 0, 1], 40001)) +
    end(0, b""),
    pong(1, 0, 0, 1, b"", addr4([198, 18, 0, 12], 51820)) +
    end(1, b"no answer from b on wg0 to 1 probe"),
    pong(1, 10, 1, 1, b"", bytes(24)) * 2 + end(0, b""),
]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[2])
s.listen(3)
open(sys.argv[3], "w").close()
s.settimeout(10)
reqs = []
for a in answers:
    c, _ = s.accept()
    c.settimeout(10)
    req = c.recv(4096)
    t, ln = struct.unpack("=IH", req[:6])
    ifname, name, count, wait = struct.unpack("=16s64sII", req[16:ln])
    reqs.append("%d %d %s %s %d %d" % (t == types["IMSG_CTL_PING"], ln,
        ifname.rstrip(b"\0").decode(), name.rstrip(b"\0").decode(),
        count, wait))
    c.sendall(a)
    c.close()
open(sys.argv[4], "w").write("\n".join(reqs) + "\n")
PY
fakepid=$!
wait_for 5 test -e "$work/ping.ready"
out=$("$ctl" -s "$work/ping.sock" ping -c 2 -W 3 -I wg0 b 2>&1)
check "fake engine: ping, exit 0" test $? -eq 0
check "fake engine: ping: a line per probe, its path, the summary" test \
    "$out" = "reply from b on wg0: seq=1 time=1.234 ms path direct 198.18.0.12:51820
reply from b on wg0: seq=2 time=2.500 ms path relay via r\\033[2Jelay 198.18.0.1:40001
--- b ping statistics ---
2 probes sent, 2 answered, 0% lost; rtt min/avg/max = 1.234/1.867/2.500 ms"
out=$("$ctl" -s "$work/ping.sock" ping b 2>&1)
check "fake engine: ping with no answer: exit 1" test $? -eq 1
check "fake engine: ping with no answer: the probe, summary, reason" test \
    "$out" = "no reply from b on wg0: seq=1 path direct 198.18.0.12:51820
--- b ping statistics ---
1 probes sent, 0 answered, 100% lost
wgmeshctl: no answer from b on wg0 to 1 probe"
out=$("$ctl" -s "$work/ping.sock" ping -c 1 b 2>&1)
check "fake engine: more answers than probes refused" sh -c "test $? -eq 1 &&
    printf '%s\n' \"\$1\" | grep -qx \
    'wgmeshctl: more answers than probes from wgmeshd'" sh "$out"
wait "$fakepid"
check "fake engine: the ping requests, as packed" test \
    "$(cat "$work/ping.req" 2>/dev/null)" = "1 104 wg0 b 2 3
1 104  b 3 2
1 104  b 1 2"
fakepid=

# a client that sends garbage is disconnected; the daemon goes on
on python3 -c '
import socket, sys
for junk in (b"\xff" * 64, b"\x01\x00\x00\x00\x03\x00" + b"\x00" * 10,
    b"\x63\x00\x00\x00\x10\x00\x00\x00" + b"\x00" * 8, b"x" * 40000):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("/run/wgmeshd.sock")
    try:
        s.sendall(junk)
        s.settimeout(5)
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
' >/dev/null 2>&1
check "garbage clients closed, daemon alive" kill -0 "$daemon"
check "daemon still answers" on "$ctl" show interfaces
check "daemon logged the bad clients" grep -q "invalid request\|bad framing" \
    "$work/daemon.log"

# SIGHUP reloads
kill -HUP "$daemon"
check "SIGHUP reloads" wait_for 5 grep -q "parent: reloaded" "$work/daemon.log"

# Another local user cannot bind beside the daemon's gossip and LAN
# sockets (with SO_REUSEADDR the kernel would let any user in, and on
# the device too); after reloads that move them to another port and
# back, the engine holds the new ones and the same holds.
derived=$(on ip -6 -o addr show dev wg0 scope global |
    awk '{ sub("/.*", "", $4); print $4; exit }')
lanaddr=
[ -n "$lan" ] && lanaddr=198.18.60.1
steal() {
	on setpriv --reuid=65534 --regid=65534 --clear-groups \
	    /usr/bin/python3 -c '
import errno, socket, sys
port, derived, lanaddr = int(sys.argv[1]), sys.argv[2], sys.argv[3]
tries = [(socket.AF_INET6, derived, "wg0"), (socket.AF_INET6, "::", None),
    (socket.AF_INET6, "::", "wg0"), (socket.AF_INET, "0.0.0.0", None),
    (socket.AF_INET, "127.0.0.1", None)]
if lanaddr:
    tries += [(socket.AF_INET, lanaddr, None), (socket.AF_INET, lanaddr,
        "lan0"), (socket.AF_INET, "0.0.0.0", "lan0")]
bound = []
for af, addr, dev in tries:
    for opt in (socket.SO_REUSEADDR, socket.SO_REUSEPORT, None):
        s = socket.socket(af, socket.SOCK_DGRAM)
        if af == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.setsockopt(socket.IPPROTO_IPV6, 78, 1)  # IPV6_FREEBIND
        if opt is not None:
            s.setsockopt(socket.SOL_SOCKET, opt, 1)
        if dev is not None:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                    dev.encode())
            except OSError:
                s.close()
                continue	# a kernel before 5.7: no device for users
        try:
            s.bind((addr, port))
            bound.append("%s:%d dev %s opt %s" % (addr, port, dev, opt))
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                bound.append("%s: %s" % (addr, e))
        s.close()
for b in bound:
    print("bound", b)
sys.exit(1 if bound else 0)
' "$1" "$derived" "$lanaddr"
}
holds() {
	local port=$1 ss
	ss=$(on ss -Hulpn "sport = :$port")
	printf '%s\n' "$ss" | grep "%wg0:$port" | grep -q "pid=${engine:-none}," &&
	    printf '%s\n' "$ss" | grep -F "0.0.0.0:$port" |
	    grep -q "pid=${engine:-none}," &&
	    ! printf '%s\n' "$ss" | grep -q "pid=$daemon,"
}
check "a derived address on wg0" test -n "$derived"
check "uid 65534 cannot bind beside the gossip and LAN sockets" steal 1666
sed 's/^\(\tlisten-port 51820\)$/\1\n\tgossip-port 1667/' \
    "$work/wgmeshd.conf" > "$work/port.conf"
cp "$work/wgmeshd.conf" "$work/orig.conf"
cat "$work/port.conf" > "$work/wgmeshd.conf"
check "reload to gossip port 1667" on "$ctl" reload
check "the engine holds the gossip and LAN sockets on port 1667" \
    wait_for 5 holds 1667
check "uid 65534 cannot bind beside them on 1667" steal 1667
cat "$work/orig.conf" > "$work/wgmeshd.conf"
check "reload back to gossip port 1666" on "$ctl" reload
check "the engine holds the gossip and LAN sockets on 1666 again" \
    wait_for 5 holds 1666
check "nothing left on port 1667" sh -c \
    "! nsenter -t $holder -n -m ss -Hulpn 'sport = :1667' | grep -q ."
check "uid 65534 cannot bind beside them after the reloads" steal 1666
# relay-ports at reload: said once to take effect at restart, kept
{ echo "relay-ports 52000-52009"; cat "$work/orig.conf"; } > "$work/wgmeshd.conf"
check "reload with other relay-ports" on "$ctl" reload
check "relay-ports: logged to take effect at restart" wait_for 5 sh -c \
    "grep 'relay-ports.*take effect at restart' '$work/daemon.log' |
    grep -q ."
check "relay-ports: the relay still holds 51900, not 52000" sh -c \
    "nsenter -t $holder -n -m ss -Hulpn 'sport = :51900' |
    grep -q 'pid=${relay:-none},' &&
    ! nsenter -t $holder -n -m ss -Hulpn 'sport = :52000' | grep -q ."
cat "$work/orig.conf" > "$work/wgmeshd.conf"

# a reload that fails says so once, and keeps the running configuration
printf 'listen-port 1\n' >> "$work/wgmeshd.conf"
out=$(on "$ctl" reload 2>&1)
check "failed reload: exit 1" test $? -eq 1
check "failed reload: the outcome said once" sh -c \
    "test \$(printf '%s\n' \"\$1\" | grep -c 'reload failed') -eq 1 &&
    printf '%s\n' \"\$1\" | grep -q 'syntax error'" sh "$out"
cat "$work/orig.conf" > "$work/wgmeshd.conf"

# a second daemon must not take over the socket
on "$top/wgmeshd/wgmeshd" -d -f "$work/wgmeshd.conf" 2>"$work/second.log"
check "second daemon refused" test $? -ne 0
check "second daemon says why" grep -q "another wgmeshd is running" \
    "$work/second.log"
check "first daemon still answers" on "$ctl" show peers

kill "$daemon"
wait "$daemon"
check "SIGTERM: exit 0" test $? -eq 0
daemon=
check "SIGTERM: the UPnP worker ends with the engine" \
    wait_for 5 sh -c "! kill -0 ${upnp:-0} 2>/dev/null"
check "control socket removed" sh -c \
    "! nsenter -t $holder -n -m test -e /run/wgmeshd.sock"
check "interface left as it is" sh -c \
    "nsenter -t $holder -n -m wg show wg0 peers | grep -q ."

# a missing user is refused with the line that fixes it
sed 's/^interface/user "wgmeshd-no-such-user"\ninterface/' \
    "$work/wgmeshd.conf" > "$work/nouser.conf"
chmod 600 "$work/nouser.conf"
on "$top/wgmeshd/wgmeshd" -d -f "$work/nouser.conf" 2>"$work/nouser.log"
check "missing user: exit 1" test $? -eq 1
check "missing user: names useradd" grep -q "useradd -r" "$work/nouser.log"

if [ "$fail" -ne 0 ]; then
	echo "daemon log:"
	tail -20 "$work/daemon.log" | sed 's/^/    /'
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
