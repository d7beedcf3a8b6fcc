#!/usr/bin/env bash
# A hostile engine against a real parent: for each bad request the parent
# must log why, exit non-zero, and leave the WireGuard device exactly as
# it was.  A valid request ("valid") must be applied, so the test can fail;
# and what the parent gives the engine for gossip must be right ("gossip").
# Runs wireguard-go in a network namespace with a private /run.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
pass=0 fail=0
ns=wgmh$$
work=$(mktemp -d /tmp/wgmeshd-hostile.XXXXXX)
holder=

cleanup() {
	[ -n "${wgpid:-}" ] && kill "$wgpid" 2>/dev/null
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf -- "$work"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

for cmd in wireguard-go wg ip unshare nsenter; do
	if ! command -v $cmd >/dev/null; then
		echo "FAIL: $cmd is missing (make deps installs it)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
getent passwd _wgmeshd >/dev/null ||
    useradd -r -d /var/empty -s /usr/sbin/nologin _wgmeshd
mkdir -p /var/empty

wg genkey > "$work/self.key"
wg genkey > "$work/p1.key"
wg genkey > "$work/p2.key"
chmod 600 "$work"/*.key
cat > "$work/wgmeshd.conf" <<CONF
interface wg0 {
	name "host"
	private-key-file "$work/self.key"
	listen-port 51820
	peer "one" {
		public-key "$(wg pubkey < "$work/p1.key")"
		endpoint "198.18.40.1:51820"
	}
	peer "two" {
		public-key "$(wg pubkey < "$work/p2.key")"
		allowed-ips "198.18.41.0/24"
	}
}
CONF
chmod 600 "$work/wgmeshd.conf"

# one host: a network namespace, and a mount namespace for /run
ip netns add "$ns"
# The holder says when its mounts are made, in a file outside them: until
# then nsenter -m would enter this host's mount namespace, and
# wireguard-go would put its socket in this host's /run.
ip netns exec "$ns" unshare --mount --propagation private sh -c "
	mount -t tmpfs tmpfs /run && mkdir -p /run/wireguard &&
	mount -t tmpfs tmpfs /var/lib && ip link set lo up &&
	touch '$work/holder.ready' && exec sleep 600" &
holder=$!
on() { nsenter -t "$holder" -n -m "$@"; }
for i in $(seq 200); do
	test -e "$work/holder.ready" && break
	sleep 0.05
done
# nsenter execs its command, so $! is wireguard-go's own pid
nsenter -t "$holder" -n -m wireguard-go -f wg0 >"$work/wireguard-go.log" 2>&1 &
wgpid=$!
for i in $(seq 100); do
	on test -S /run/wireguard/wg0.sock && break
	sleep 0.05
done

# run MODE EXPECTED-LOG-TEXT
run() {
	local mode=$1 want=$2 rc verdict log=$work/$1.log
	rm -f "$work/result"
	on env WGMESHD_REGRESS_ENGINE="$top/regress/hostile/hostile_engine" \
	    WGMESHD_HOSTILE="$mode" WGMESHD_HOSTILE_RESULT="$work/result" \
	    timeout 30 "$top/regress/hostile/wgmeshd-regress" -d \
	    -f "$work/wgmeshd.conf" 2>"$log"
	rc=$?
	# a parent that exits on fatalx() does not wait for its engine
	for i in $(seq 200); do
		[ -s "$work/result" ] && break
		sleep 0.05
	done
	verdict=$(cat "$work/result" 2>/dev/null)
	if [ "$mode" = valid ]; then
		[ "$verdict" = applied ] && ok ||
		    bad "valid: the request was not applied ($verdict)"
		return
	fi
	case $mode in
	ll-nosuch|ll-wg|overlay)
		# logged and ignored: the parent stays, the device unchanged
		[ "$verdict" = ignored ] && ok || bad "$mode: ${verdict:-no verdict}"
		grep -q -- "$want" "$log" && ok ||
		    { bad "$mode: log lacks \"$want\":"; sed 's/^/    /' "$log" | tail -5; }
		return ;;
	esac
	if [ "$mode" = gossip ]; then
		[ "$verdict" = "gossip ok" ] && ok ||
		    bad "gossip: ${verdict:-no verdict}"
		return
	fi
	# floods: the verdict says whether the bound held (see
	# hostile_engine.c); the log names the bound
	case $mode in
	endpoint-flood|reload-flood|noread)
		echo "  $mode: $verdict"
		case $mode:$verdict in
		"endpoint-flood:limited "*|"reload-flood:coalesced "*|\
		"noread:rss +"*", hung up") ok ;;
		*) bad "$mode: ${verdict:-no verdict}" ;;
		esac
		if [ "$mode" = noread ]; then
			# the queue's cap (64 MiB of messages, 548 bytes
			# each) and the allocator's due on top
			kb=${verdict#rss +}
			kb=${kb%% kB*}
			[ -n "$kb" ] && [ "$kb" -le $((112 * 1024)) ] && ok ||
			    bad "noread: the parent grew by ${kb:-?} kB"
			[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ok ||
			    bad "noread: parent exit status $rc"
		fi
		if grep -q -- "$want" "$log"; then
			ok
		else
			bad "$mode: log lacks \"$want\":"
			sed 's/^/    /' "$log" | tail -5
		fi
		return ;;
	esac
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ok ||
	    bad "$mode: parent exit status $rc"
	[ "$verdict" = unchanged ] && ok ||
	    bad "$mode: device ${verdict:-not checked}"
	if grep -q -- "$want" "$log"; then
		ok
	else
		bad "$mode: log lacks \"$want\":"
		sed 's/^/    /' "$log" | tail -5
	fi
}

run valid		""
run gossip		""
run short		"IMSG_SET_ENDPOINT from the engine: 35 bytes, not 36"
run long		"IMSG_SET_ENDPOINT from the engine: 37 bytes, not 36"
run empty		"IMSG_SET_ENDPOINT from the engine: 0 bytes, not 36"
run iface		"no interface #7"
run peer		"wg0 has no peer #2"
run peer-huge		"wg0 has no peer #4294967295"
run family		"not a unicast endpoint (family 99)"
run unix		"not a unicast endpoint (family 1)"
run multicast		"not a unicast endpoint"
run broadcast		"not a unicast endpoint"
run unspecified		"not a unicast endpoint"
run zero-port		"not a unicast endpoint"
run v6-multicast	"not a unicast endpoint"
run v6-unspecified	"not a unicast endpoint"
run v4-scope		"not a unicast endpoint"
run ula-scope		"not a unicast endpoint"
run ll-noscope		"not a unicast endpoint"
run ll-nosuch		"not on an underlay interface; ignored"
run ll-wg		"not on an underlay interface; ignored"
run unknown-type	"unexpected IMSG_UNKNOWN(9999) from the engine"
run wrong-type		"unexpected IMSG_RECONF_BEGIN from the engine"
run pair-key		"unexpected IMSG_PAIR_KEY from the engine"
run socket-gossip	"the engine passed a descriptor; it has none to pass"
run state-save		"unexpected IMSG_STATE_SAVE from the engine"
run with-fd		"the engine passed a descriptor; it has none to pass"
run verbose		"invalid IMSG_CTL_LOG_VERBOSE"
run reload-payload	"IMSG_CTL_RELOAD from the engine: 4 bytes, not 0"
run show-counters	"unexpected IMSG_CTL_SHOW_COUNTERS from the engine"
run bad-frame		"imsg_get from the engine"
run socket-lan		"the engine passed a descriptor; it has none to pass"
run fd-no-flag		"the engine passed a descriptor; it has none to pass"
run keepalive		"keepalive 65535, not 0 or the configured 25"
run keepalive-other	"keepalive 26, not 0 or the configured 25"
run set-flags		"unknown flags 0x82"
run endpoint-flood	"endpoint requests over the limit"
run reload-flood	"too many reloads waiting"
run noread		"the write queue to the engine holds"
# endpoints that are this host's own, or the mesh's overlay
run loopback		"not a unicast endpoint"
run zero-net		"not a unicast endpoint"
run v6-loopback		"not a unicast endpoint"
run v4-mapped		"not a unicast endpoint"
run overlay		"inside the mesh's overlay; ignored"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
