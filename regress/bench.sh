#!/usr/bin/env bash
# make bench: the lab's benchmark scenarios, each run BENCH_RUNS times
# (the median of each figure is shown), then the simulator, and one
# table, fixed width, to paste into the README.
#
# The lab scripts print lines "BENCH <scenario> <metric> <value>"; so does
# regress/sim/sim.  A lab scenario that printed none in any run is shown
# as n/a, with the script's exit status and last line as the reason.
#
#	BENCH_RUNS=5			runs of each lab scenario
#	BENCH_SCENARIOS="nat restart"	lab scenarios; default: nat lan
#					restart roaming symmetric attacks
#					mesh20 upnp relay (regress/lab/
#					relay.sh bench: a relayed pair,
#					iperf3 relayed and direct)
#	BENCH_SIM_ARGS="-N 10,100"	arguments for regress/sim/sim; default
#					"-T 240": N = 10, 100, 1000, one seed,
#					up to 4 minutes of wall time a run
#					(public and cone 1000: 2-3.5)
#	BENCH_LAB=0			the simulator only, even as root
#	BENCH_TIMEOUT=900		seconds allowed for one lab run
#	BENCH_NAT, BENCH_UPNP,		the lab scripts (default
#	BENCH_MESH20			regress/lab/nat.sh, upnp.sh, mesh20.sh)
#	BENCH_KEEP=1			keep the logs
#	BENCH_RELAY_SECONDS=5		the relay forwarding benchmark
#
# The lab needs root; run as another user, or with BENCH_LAB=0, only the
# simulator runs and the lab rows say SKIP.  Scenarios upnp and mesh20
# run regress/lab/upnp.sh and mesh20.sh, every other one
# "regress/lab/nat.sh SCENARIO", one lab per run, so that one scenario
# that fails or is not there yet leaves the others alone.  PSS and gossip
# figures are taken under either name the scripts use (pss_kb_parent or
# pss_parent_kib; gossip_bytes_per_node_s or
# gossip_steady_bytes_per_node_s).
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
cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-5}
ALL_SCENARIOS="nat lan restart roaming symmetric attacks mesh20 upnp relay"
SCENARIOS=${BENCH_SCENARIOS:-$ALL_SCENARIOS}
SIM_ARGS=${BENCH_SIM_ARGS:--T 240}
TIMEOUT=${BENCH_TIMEOUT:-900}
NAT=${BENCH_NAT:-regress/lab/nat.sh}
UPNP=${BENCH_UPNP:-regress/lab/upnp.sh}
MESH20=${BENCH_MESH20:-regress/lab/mesh20.sh}
SIM=regress/sim/sim

case $RUNS in
''|*[!0-9]*|0)
	echo "bench: BENCH_RUNS=$RUNS: a number of runs, at least 1" >&2
	exit 1
	;;
esac

work=$(mktemp -d /tmp/wgmeshd-bench.XXXXXX) || exit 1
if [ "${BENCH_KEEP:-0}" = 1 ]; then
	trap 'echo "bench: logs in $work"' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi
: >"$work/bench"	# "BENCH scenario metric value" from every run
: >"$work/why"		# "scenario reason" when a scenario printed nothing

# lab_run SCENARIO RUN: one lab run; its BENCH lines go to $work/bench.
lab_run() {
	local s=$1 r=$2 log="$work/lab.$1.$2" rc
	if [ "$s" = upnp ]; then
		set -- "$UPNP"
	elif [ "$s" = relay ]; then
		set -- regress/lab/relay.sh bench
	elif [ "$s" = mesh20 ]; then
		set -- "$MESH20"
	else
		set -- "$NAT" "$s"
	fi
	if [ ! -f "$1" ]; then
		echo "$s: $1 does not exist" >"$log"
		echo "RC 127" >>"$log"
		return
	fi
	timeout "$TIMEOUT" bash "$@" >"$log" 2>&1
	rc=$?
	echo "RC $rc" >>"$log"
	grep '^BENCH ' "$log" >>"$work/bench"
	printf '   %-9s run %d/%d: exit %d, %d BENCH lines\n' "$s" "$r" \
	    "$RUNS" "$rc" "$(grep -c '^BENCH ' "$log")" >&2
}

# Why a scenario has no figures: the last run's status and last words.
lab_why() {
	local s=$1 log="$work/lab.$1.$RUNS" rc last
	rc=$(sed -n 's/^RC //p' "$log")
	last=$(grep -v '^RC ' "$log" | grep -v '^[[:space:]]*$' | tail -n 1 |
	    cut -c 1-70)
	case $rc in
	124)	echo "$s no BENCH line: timed out after ${TIMEOUT}s" ;;
	127)	echo "$s no BENCH line: ${last:-script missing}" ;;
	77)	echo "$s no BENCH line: lab skipped: $last" ;;
	*)	echo "$s no BENCH line in $RUNS runs (not supported yet?):" \
		    "exit $rc, \"$last\"" ;;
	esac
}

lab=1
skip_why="not root, the lab did not run"
if [ "${BENCH_LAB:-1}" = 0 ]; then
	lab=0
	skip_why="BENCH_LAB=0, the lab did not run"
	echo "bench: BENCH_LAB=0: the simulator only" >&2
elif [ "$(id -u)" != 0 ]; then
	lab=0
	cat >&2 <<-EOF
	########################################################################
	SKIP: the lab needs root (network namespaces); not root, so only the
	SKIP: simulator runs.  Run "sudo make bench" for the lab figures.
	########################################################################
	EOF
fi

if [ "$lab" = 1 ]; then
	echo "bench: lab scenarios ($SCENARIOS), $RUNS runs each" >&2
	for r in $(seq 1 "$RUNS"); do
		for s in $SCENARIOS; do
			lab_run "$s" "$r"
		done
	done
	for s in $SCENARIOS; do
		grep -q "^BENCH $s " "$work/bench" || lab_why "$s" >>"$work/why"
	done
fi

echo "bench: simulator ($SIM ${SIM_ARGS:-with its default set})" >&2
if [ -x "$SIM" ]; then
	# shellcheck disable=SC2086
	"$SIM" $SIM_ARGS >"$work/sim" 2>&1
	echo "RC $?" >>"$work/sim"
	grep '^BENCH sim-' "$work/sim" >>"$work/bench"
else
	echo "RC 127" >"$work/sim"
fi
if [ "${BENCH_KEEP:-0}" = 1 ]; then
	echo "bench: the simulator's own table is in $work/sim" >&2
fi

# The table: one row per scenario, medians, the issue's targets.
awk -v lab="$lab" -v scenarios="$SCENARIOS" -v runs="$RUNS" \
    -v skipwhy="$skip_why" \
    -v whyfile="$work/why" -v simrc="$(sed -n 's/^RC //p' "$work/sim")" '
function median(k,	n, i, j, t, v) {
	n = split(vals[k], v, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	if (n % 2 == 1)
		return v[(n + 1) / 2] + 0
	return (v[n / 2] + v[n / 2 + 1]) / 2
}
function fmt(x) {
	if (x == int(x) && (x >= 100 || x <= -100))
		return sprintf("%d", x)
	if (x >= 1000 || x <= -1000)
		return sprintf("%.0f", x)
	return sprintf("%.3g", x)
}
function has(s, m) { return ((s SUBSEP m) in vals) }
# the median of metric a, else of b, else "-"
function either(s, a, b) {
	return has(s, a) ? fmt(med(s, a)) : has(s, b) ? fmt(med(s, b)) : "-"
}
function med(s, m) { return has(s, m) ? median(s SUBSEP m) : "" }
function row(name, n, main, target, verdict, gossip, pss, notes) {
	printf("| %-16s | %-5s | %-10s | %-8s | %-6s | %-9s | %-17s | %s\n",
	    name, n, main, target, verdict, gossip, pss, notes)
}
# The issue'\''s targets; roaming: the persistent keepalive + 2 s.
function target(s) {
	if (s == "nat" || s == "lan" || s == "restart")
		return 2
	if (s == "mesh20" || s == "relay")
		return 5
	if (s == "roaming")
		return (has(s, "keepalive_s") ? med(s, "keepalive_s") : 25) + 2
	return ""
}
FILENAME == whyfile {
	s = $1
	$1 = ""
	why[s] = substr($0, 2)
	next
}
$1 == "BENCH" && NF == 4 {
	if ($4 !~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) {
		if (!(($2 SUBSEP $3) in badseen))
			bad[$2] = bad[$2] " " $3 "=" $4
		badseen[$2, $3] = 1
		next
	}
	k = $2 SUBSEP $3
	vals[k] = (k in vals) ? vals[k] " " $4 : $4
	cnt[k]++
	if (!($2 in seen)) {
		seen[$2] = 1
		order[++norder] = $2
	}
}
END {
	row("scenario", "runs", "figure (s)", "target", "ok", "gossip", \
	    "PSS KiB", "notes")
	row("", "", "median", "", "", "B/node/s", "parent/eng/stor", "")
	printf("|------------------|-------|------------|----------|--------|" \
	    "-----------|-------------------|------\n")
	ns = split(scenarios, sc, " ")
	for (i = 1; i <= ns; i++) {
		s = sc[i]
		if (!lab) {
			row(s, "-", "SKIP", target(s) == "" ? "-" : \
			    "<= " target(s), "-", "-", "-", \
			    "SKIP: " skipwhy)
			continue
		}
		mainm = s == "roaming" ? "recovery_s" : s == "relay" ? \
		    "time_to_relayed_s" : "time_to_mesh_s"
		if (!(s in seen)) {
			row(s, "0/" runs, "n/a", target(s) == "" ? "-" : \
			    "<= " target(s), "-", "-", "-", \
			    s in why ? why[s] : "no BENCH line")
			continue
		}
		main = has(s, mainm) ? fmt(med(s, mainm)) : "n/a"
		tg = target(s)
		verdict = "-"
		if (tg != "" && main != "n/a")
			verdict = med(s, mainm) <= tg ? "yes" : "NO"
		gossip = either(s, "gossip_bytes_per_node_s", \
		    "gossip_steady_bytes_per_node_s")
		pss = "-"
		if (has(s, "pss_kb_parent") || has(s, "pss_kb_engine") || \
		    has(s, "pss_kb_storage") || has(s, "pss_parent_kib") || \
		    has(s, "pss_engine_kib") || has(s, "pss_storage_kib"))
			pss = either(s, "pss_kb_parent", "pss_parent_kib") \
			    "/" either(s, "pss_kb_engine", "pss_engine_kib") \
			    "/" either(s, "pss_kb_storage", "pss_storage_kib")
		if (pss != "-")
			gsub(/-/, "?", pss)
		notes = has(s, mainm) ? "" : mainm " missing"
		n = has(s, mainm) ? cnt[s SUBSEP mainm] : 0
		nextra = 0
		for (k in cnt) {
			split(k, p, SUBSEP)
			if (p[1] != s)
				continue
			if (!has(s, mainm) && cnt[k] > n)
				n = cnt[k]
			if (p[2] == mainm || p[2] == "keepalive_s" || \
			    p[2] == "gossip_bytes_per_node_s" || \
			    p[2] == "gossip_steady_bytes_per_node_s" || \
			    p[2] ~ /^pss_kb_/ || p[2] ~ /^pss_.*_kib$/)
				continue
			extra[++nextra] = p[2] "=" fmt(med(s, p[2]))
		}
		# sorted: for (k in cnt) has no order
		for (a = 2; a <= nextra; a++)
			for (b = a; b > 1 && extra[b - 1] > extra[b]; b--) {
				t = extra[b]; extra[b] = extra[b - 1]
				extra[b - 1] = t
			}
		for (a = 1; a <= nextra; a++)
			notes = notes (notes == "" ? "" : ", ") extra[a]
		if (s in bad)
			notes = notes (notes == "" ? "" : "; ") "not numbers:" \
			    bad[s]
		row(s, n "/" runs, main, tg == "" ? "-" : "<= " tg, verdict, \
		    gossip, pss, notes)
	}
	nsim = 0
	for (i = 1; i <= norder; i++) {
		s = order[i]
		if (s !~ /^sim-/)
			continue
		nsim++
		cut = has(s, "timed_out")
		main = has(s, "time_to_mesh_s") ? fmt(med(s, "time_to_mesh_s")) : \
		    cut ? ">" fmt(med(s, "simulated_s")) : "never"
		notes = "unreachable " fmt(med(s, "pairs_unreachable")) \
		    " (shown " (cut ? "-" : fmt(med(s, "unreachable_shown"))) ")"
		# relaying (regress/sim/sim without -R): every pair can connect
		if (has(s, "pairs_up_relayed") && \
		    med(s, "pairs_unreachable") == 0)
			notes = "up direct " fmt(med(s, "pairs_up_direct")) \
			    ", relayed " fmt(med(s, "pairs_up_relayed"))
		if (has(s, "pairs_up_relayed") && med(s, "pairs_up_relayed") > 0)
			notes = notes " (per relay " \
			    fmt(med(s, "relay_pairs_max_per_node")) " max, " \
			    fmt(med(s, "relay_pairs_mean_per_node")) \
			    " mean), relay msgs " \
			    fmt(med(s, "relay_gossip_bytes_per_node_s")) \
			    " B/node/s, path changes " \
			    fmt(med(s, "path_changes_max_per_pair")) " max/pair"
		if (has(s, "relay_ports_gossiped") && \
		    med(s, "relay_ports_gossiped") > 0)
			notes = notes ", RELAY PORTS GOSSIPED " \
			    fmt(med(s, "relay_ports_gossiped"))
		if (has(s, "time_99pct_up_s"))
			notes = notes ", 99% up " fmt(med(s, "time_99pct_up_s")) \
			    " s"
		if (has(s, "flaps"))
			notes = notes ", flaps " fmt(med(s, "flaps"))
		notes = notes ", converge " \
		    fmt(med(s, "converge_gossip_kib_per_node")) " KiB/node" \
		    ", wall " fmt(med(s, "wall_s")) " s, RSS " \
		    fmt(med(s, "rss_kb") / 1024) " MiB"
		if (cut)
			notes = notes ", CUT SHORT by the wall-time limit " \
			    "after " fmt(med(s, "simulated_s")) " simulated s"
		row(s, "1", main, "-", "-", has(s, "gossip_bytes_per_node_s") ? \
		    fmt(med(s, "gossip_bytes_per_node_s")) : "-", "-", notes)
	}
	if (nsim == 0)
		row("sim", "-", "n/a", "-", "-", "-", "-", \
		    "the simulator printed no BENCH line (exit " simrc ")")
}' "$work/why" "$work/bench"

echo
echo "figure: time to a full mesh (roaming: recovery), the median of the"
echo "runs that printed it; targets from issue 4 (roaming: the persistent"
echo "keepalive, BENCH roaming keepalive_s or else 25 s, + 2 s); sim-MIX-N:"
echo "regress/sim/sim, one deterministic run each (its own table has more):"
echo "time until every pair is up at once, relayed or direct"

# The relay process's forwarding on loopback (regress/relay/run.sh -b,
# BENCH_RELAY_SECONDS long): packets/s, Mbit/s, its CPU per Mbit.
echo
if [ "$lab" = 1 ]; then
	bash regress/relay/run.sh -b "${BENCH_RELAY_SECONDS:-5}" 2>&1 | tail -n 1
else
	echo "relay forwarding: SKIP ($skip_why)"
fi
