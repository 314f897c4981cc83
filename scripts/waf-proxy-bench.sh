#!/usr/bin/env bash
# Throughput and latency of the Portcullis WAF proxy (`portcullis serve` with a [waf] section) against nginx,
# on loopback, with wrk.
#
#   scripts/waf-proxy-bench.sh
#
# Systems (all in front of the same nginx upstream `return 200 "ok\n"` of scripts/waf-peer.sh, 127.0.0.1:18480):
#   nginx-bare         nginx reverse proxy, no WAF                    (waf-peer "proxy", 18481)
#   nginx-crs          nginx + ModSecurity 3 + CRS 3.3.4 PL1          (waf-peer "crs",   18483)
#   portcullis-none    Portcullis listener without a web ACL          (18490)
#   portcullis-managed Portcullis listener, web ACL with the Portcullis CommonRuleSet, SQLiRuleSet and
#                      KnownBadInputsRuleSet managed groups            (18491)
#   portcullis-crs     Portcullis listener, web ACL with the OWASP CoreRuleSet group (CRS PL1, SecLang engine)
#                                                                      (18492)
# Requests: bench/waf/requests/{simple-get,browser-get,json-post-1k}.http replayed by bench/waf/wrk-request.lua.
# Each (system, request) cell: a warm-up run, then a measured run (wrk -t2 -c16 -d10s by default). With
# BENCH_ROUNDS=N the systems take turns N times per request (nginx-bare, portcullis-none, ..., then again), so a
# host that speeds up or slows down during the run moves every system of a round alike; each ratio is then
# computed per round and the table gives the median round's ratio with the range over the rounds.
#
# Output: one JSON line per cell in target/waf-proxy-bench/results.jsonl (appended), a table of requests/s and
# p99 latency, the proxy's CPU time per request (user + system time of the Portcullis process or of the nginx
# instance's workers during the measured run, divided by its requests: a busy host moves it much less than
# requests/s), how busy the proxy was (that CPU time over the run's duration, in % of one core: near 100 % a
# single-worker proxy is the bottleneck and its CPU per request sets the throughput) and how idle the host was,
# and the ratios the WAF issue sets as goals:
#   portcullis-none / nginx-bare      >= 0.9
#   portcullis-managed / nginx-bare   >= 0.7
#   portcullis-crs / nginx-crs        >= 10
#
# Environment (defaults in brackets):
#   BENCH_DURATION [10s]  BENCH_WARMUP [2s]  BENCH_THREADS [2]  BENCH_CONNECTIONS [16]  BENCH_ROUNDS [1]
#   BENCH_SYSTEMS [all five]  a subset, e.g. "nginx-bare portcullis-none portcullis-managed"
#   BENCH_REQUESTS [simple-get browser-get json-post-1k]
#   BENCH_BASE_PORT [18490]  first of the three Portcullis listener ports
#   BENCH_MAX_STEAL [5]      a measured run during which the hypervisor took more than this share (%) of the
#                            host's CPU time (steal in /proc/stat) is run again, up to BENCH_STEAL_RETRIES [3]
#                            more times; the run with the least steal is kept and its steal share recorded
#   PORTCULLIS_BIN           use this binary instead of building target/release/portcullis
#   BENCH_WORKERS            `waf.workers` of Portcullis (worker threads, each with its own event loop and
#                            SO_REUSEPORT socket) [as many as the nginx proxy's worker processes; `default`:
#                            Portcullis's own default, one per core]
#   WAF_PEER_PROXY_WORKERS   worker_processes of the nginx proxies when this script starts the peer [1]; a peer
#                            already running keeps its own (`scripts/waf-peer.sh stop` first to change it)
#
# Fairness: Portcullis runs as many worker threads as the nginx proxies run worker processes (one by default): the
# same number of event loops for each proxy, on cores that wrk and the upstream use too. BENCH_WORKERS sets another
# count (runs before 2026-12-01 14:00 UTC used one Portcullis worker per core against one nginx worker). Each result
# line records both counts.
#
# Needs wrk, nginx, libnginx-mod-http-modsecurity, modsecurity-crs and curl: scripts/waf-peer.sh installs them with
# apt-get when missing. Everything started here is stopped at the end (by pid); a peer that was already running
# is left running.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
duration=${BENCH_DURATION:-10s}
warmup=${BENCH_WARMUP:-2s}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-16}
requests=${BENCH_REQUESTS:-simple-get browser-get json-post-1k}
rounds=${BENCH_ROUNDS:-1}
pbase=${BENCH_BASE_PORT:-18490}
peer_base=${WAF_PEER_BASE_PORT:-18480}
out_dir="$root/target/waf-proxy-bench"
results="$out_dir/results.jsonl"
state=$(mktemp -d "${TMPDIR:-/tmp}/waf-proxy-bench.XXXXXX")
bench="$root/bench/waf"

log() { echo "waf-proxy-bench: $*" >&2; }
die() { log "error: $*"; exit 1; }

portcullis_pid=""
peer_started=0
cleanup() {
    if [ -n "$portcullis_pid" ] && [ -d "/proc/$portcullis_pid" ]; then
        kill -TERM "$portcullis_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do [ -d "/proc/$portcullis_pid" ] || break; sleep 0.1; done
    fi
    if [ "$peer_started" -eq 1 ]; then
        "$root/scripts/waf-peer.sh" stop || true
    fi
}
trap cleanup EXIT

# The peer (installs packages when missing).
peer_status=$("$root/scripts/waf-peer.sh" status)
if grep -q 'stopped' <<<"$peer_status"; then
    peer_started=1
    "$root/scripts/waf-peer.sh" start
fi
command -v wrk >/dev/null || die "wrk is missing"

# The binary.
bin=${PORTCULLIS_BIN:-}
if [ -z "$bin" ]; then
    log "building the release binary (cargo build --release -p portcullis)"
    (cd "$root" && cargo build --release -q -p portcullis)
    bin="${CARGO_TARGET_DIR:-$root/target}/release/portcullis"
fi
[ -x "$bin" ] || die "no binary at $bin"

# The worker processes of one peer instance (`proxy`, `crs`, ...), as `scripts/waf-peer.sh status` lists it.
running_peer=$("$root/scripts/waf-peer.sh" status)
peer_workers() { # INSTANCE
    ps -o pid= --ppid "$(sed -n "s/^$1 .*master=\([0-9]*\).*/\1/p" <<<"$running_peer")" 2>/dev/null || true
}

# The nginx proxy's worker processes: Portcullis gets as many worker threads unless BENCH_WORKERS says otherwise.
nworkers=$(peer_workers proxy | wc -l)
case "${BENCH_WORKERS:-}" in
    "") workers=$nworkers; [ "$workers" -gt 0 ] || workers="" ;;
    default) workers="" ;;
    *) workers=$BENCH_WORKERS ;;
esac

vis() { printf '{"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": "%s"}' "$1"; }
managed_rule() { # NAME PRIORITY [EXTRA]
    printf '{"Name": "%s", "Priority": %s, "OverrideAction": {"None": {}}, "VisibilityConfig": %s, "Statement": {"ManagedRuleGroupStatement": {"VendorName": "%s", "Name": "%s"%s}}}' \
        "$2-$3" "$1" "$(vis "$3")" "$2" "$3" "${4:-}"
}
cat >"$state/managed.json" <<EOF
{"Name": "bench-managed", "DefaultAction": {"Allow": {}}, "VisibilityConfig": $(vis bench-managed),
 "Rules": [
  $(managed_rule 0 Portcullis CommonRuleSet ', "RuleActionOverrides": [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]'),
  $(managed_rule 1 Portcullis SQLiRuleSet),
  $(managed_rule 2 Portcullis KnownBadInputsRuleSet)
 ]}
EOF
cat >"$state/crs.json" <<EOF
{"Name": "bench-crs", "DefaultAction": {"Allow": {}}, "VisibilityConfig": $(vis bench-crs),
 "Rules": [$(managed_rule 0 OWASP CoreRuleSet)]}
EOF
cat >"$state/portcullis.toml" <<EOF
data_dir = "$state/data"
[api]
listen = "127.0.0.1:0"
[audit]
write_files = false
[waf]
crs_paranoia = 1
${workers:+workers = $workers}
[[waf.pools]]
name = "upstream"
upstreams = ["127.0.0.1:$peer_base"]
max_idle_per_upstream = 64
[[waf.listeners]]
name = "none"
bind = "127.0.0.1:$((pbase + 0))"
pool = "upstream"
[[waf.listeners]]
name = "managed"
bind = "127.0.0.1:$((pbase + 1))"
web_acl = "$state/managed.json"
pool = "upstream"
[[waf.listeners]]
name = "crs"
bind = "127.0.0.1:$((pbase + 2))"
web_acl = "$state/crs.json"
pool = "upstream"
EOF

log "starting $bin serve (state in $state)"
PORTCULLIS_LOG=warn "$bin" serve -c "$state/portcullis.toml" >"$state/stdout.log" 2>"$state/stderr.log" &
portcullis_pid=$!
for _ in $(seq 1 600); do
    grep -q 'export AWS_ENDPOINT_URL' "$state/stdout.log" 2>/dev/null && break
    [ -d "/proc/$portcullis_pid" ] || { cat "$state/stderr.log" >&2; die "portcullis exited"; }
    sleep 0.1
done
grep -q 'export AWS_ENDPOINT_URL' "$state/stdout.log" || die "portcullis did not start in 60 s"
grep '^WAF listener' "$state/stdout.log" | sed 's/^/waf-proxy-bench: /' >&2
pworkers=$(ls "/proc/$portcullis_pid/task" | while read -r t; do cat "/proc/$portcullis_pid/task/$t/comm"; done | grep -c '^waf-worker' || true)
[ "$pworkers" -gt 0 ] || pworkers=0
log "Portcullis worker threads: $pworkers (0: shared runtime); nginx proxy worker processes: $nworkers"

code() { curl -s -o /dev/null --max-time 10 -w '%{http_code}' -H 'Host: www.example.com' -H 'User-Agent: bench-check' -H 'Accept: */*' "$1" || true; }
sqli='/?id=1%27%20OR%201=1--'
for check in "$((pbase + 0)) / 200" "$((pbase + 1)) / 200" "$((pbase + 1)) $sqli 403" \
    "$((pbase + 2)) / 200" "$((pbase + 2)) $sqli 403" "$((pbase + 0)) $sqli 200"; do
    read -r port path want <<<"$check"
    got=$(code "http://127.0.0.1:$port$path")
    [ "$got" = "$want" ] || die "check failed: 127.0.0.1:$port$path answered $got, want $want"
done
log "functional checks passed"

# CPU time (user + system, clock ticks) of a system's proxy processes: the Portcullis process, or the workers of
# the nginx instance behind the port. Divided by the requests of a run it gives CPU per request, which a busy host
# disturbs far less than requests per second.
cpu_pids() { # SYSTEM
    case "$1" in
        portcullis-*) echo "$portcullis_pid" ;;
        nginx-bare) peer_workers proxy ;;
        nginx-crs) peer_workers crs ;;
    esac
}
cpu_ticks() { # PID...
    local t=0 p
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$t"
}
clk_tck=$(getconf CLK_TCK)

# The host's steal and total CPU time so far (clock ticks, all CPUs): on a virtual machine, steal is time the
# vCPUs wanted to run and the hypervisor gave to someone else. A measured run with much of it says more about the
# neighbours than about the proxy.
# Also the idle ticks: a host left idle during a run means some process waited on another rather than on a CPU.
host_ticks() { awk '/^cpu /{t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t, $5 + $6; exit}' /proc/stat; }
max_steal=${BENCH_MAX_STEAL:-5}
steal_retries=${BENCH_STEAL_RETRIES:-3}

json_field() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p" <<<"$2"; }
run_wrk() { # PORT REQUEST DURATION
    WAF_REQUEST_FILE="$bench/requests/$2.http" \
        wrk -t"$threads" -c"$conns" -d"$3" --timeout 10s -s "$bench/wrk-request.lua" "http://127.0.0.1:$1/" 2>&1 |
        sed -n 's/^WRK_RESULT //p' | tail -1
}

mkdir -p "$out_dir"
run_file="$state/run.jsonl"
: >"$run_file"
all_systems="nginx-bare:$((peer_base + 1)) portcullis-none:$((pbase + 0)) portcullis-managed:$((pbase + 1)) nginx-crs:$((peer_base + 3)) portcullis-crs:$((pbase + 2))"
all_names=""
for sp in $all_systems; do all_names="$all_names ${sp%%:*}"; done
systems=""
for sp in $all_systems; do
    case " ${BENCH_SYSTEMS:-$all_names} " in *" ${sp%%:*} "*) systems="$systems $sp" ;; esac
done
[ -n "$systems" ] || die "BENCH_SYSTEMS names none of:$all_names"
ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for req in $requests; do
    [ -f "$bench/requests/$req.http" ] || die "no request file $bench/requests/$req.http"
    for round in $(seq 1 "$rounds"); do for sp in $systems; do
        system=${sp%%:*}
        port=${sp##*:}
        run_wrk "$port" "$req" "$warmup" >/dev/null
        pids=$(cpu_pids "$system")
        # Measured runs until one has at most BENCH_MAX_STEAL % steal; the one with the least is kept.
        res="" cpu=0 steal="" idle=0
        for try in $(seq 0 "$steal_retries"); do
            # shellcheck disable=SC2086
            cpu_before=$(cpu_ticks $pids)
            read -r s0 t0 i0 < <(host_ticks)
            r=$(run_wrk "$port" "$req" "$duration")
            read -r s1 t1 i1 < <(host_ticks)
            # shellcheck disable=SC2086
            cpu_after=$(cpu_ticks $pids)
            [ -n "$r" ] || die "no WRK_RESULT for $system/$req"
            pct=$(awk -v s=$((s1 - s0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.1f", (t > 0) ? s * 100 / t : 0 }')
            if [ -z "$steal" ] || awk -v a="$pct" -v b="$steal" 'BEGIN { exit !(a < b) }'; then
                res=$r cpu=$((cpu_after - cpu_before)) steal=$pct
                idle=$(awk -v i=$((i1 - i0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.1f", (t > 0) ? i * 100 / t : 0 }')
            fi
            if awk -v a="$steal" -v m="$max_steal" 'BEGIN { exit !(a <= m) }'; then break; fi
            if [ "$try" -lt "$steal_retries" ]; then
                log "$system $req (round $round): host steal $pct % > $max_steal %, measuring again"
            fi
        done
        tries=$((try + 1))
        n=$(json_field requests "$res")
        d=$(json_field duration_us "$res")
        st=$(json_field errors_status "$res")
        p50=$(json_field latency_p50_us "$res")
        p99=$(json_field latency_p99_us "$res")
        line=$(awk -v s="$system" -v r="$req" -v n="$n" -v d="$d" -v st="$st" -v p50="$p50" -v p99="$p99" \
            -v t="$threads" -v c="$conns" -v ts="$ts" -v np="$(nproc)" -v pw="$pworkers" -v nw="$nworkers" \
            -v rd="$round" -v cpu="$cpu" -v hz="$clk_tck" -v steal="$steal" -v tries="$tries" -v idle="$idle" 'BEGIN {
            rps = (d > 0) ? n * 1e6 / d : 0;
            printf "{\"schema\":\"portcullis-waf-proxy-bench/1\",\"system\":\"%s\",\"request\":\"%s\",\"round\":%d,\"requests\":%d,", s, r, rd, n;
            printf "\"non_2xx\":%d,\"duration_s\":%.3f,\"rps\":%.1f,\"latency_p50_us\":%d,\"latency_p99_us\":%d,", st, d / 1e6, rps, p50, p99;
            printf "\"proxy_cpu_us_per_request\":%.1f,", (n > 0) ? cpu * 1e6 / hz / n : 0;
            printf "\"proxy_busy_pct\":%.1f,\"host_idle_pct\":%.1f,", (d > 0) ? cpu * 100 / hz / (d / 1e6) : 0, idle;
            printf "\"host_steal_pct\":%.1f,\"tries\":%d,", steal, tries;
            printf "\"threads\":%d,\"connections\":%d,\"nproc\":%d,\"portcullis_workers\":%d,\"nginx_workers\":%d,", t, c, np, pw, nw;
            printf "\"timestamp\":\"%s\"}\n", ts;
        }')
        echo "$line" >>"$run_file"
        log "$system $req (round $round): $(json_field rps "$line") req/s, p99 $(json_field latency_p99_us "$line") us, proxy CPU $(json_field proxy_cpu_us_per_request "$line") us/request, host steal $steal %, non_2xx $st"
    done; done
done
cat "$run_file" >>"$results"
log "appended $(wc -l <"$run_file") lines to $results"

python3 - "$run_file" "$max_steal" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cells = {}
for r in rows:
    cells.setdefault((r["system"], r["request"]), []).append(r)
systems = ["nginx-bare", "portcullis-none", "portcullis-managed", "nginx-crs", "portcullis-crs"]
reqs = sorted({r["request"] for r in rows}, key=[r["request"] for r in rows].index)
rounds = max((r.get("round", 1) for r in rows), default=1)
if rows:
    print(f"Portcullis worker threads: {rows[0].get('portcullis_workers', '?')}, "
          f"nginx proxy worker processes: {rows[0].get('nginx_workers', '?')}, rounds: {rounds}")
print(f"{'system (median round)':<22}" + "".join(f"{q:>30}" for q in reqs))
for s in systems:
    out = []
    for q in reqs:
        rs = cells.get((s, q))
        if rs:
            rps = statistics.median(r["rps"] for r in rs)
            p99 = statistics.median(r["latency_p99_us"] for r in rs)
            out.append(f"{rps:>10.0f} req/s p99 {p99 / 1000:>6.2f} ms")
        else:
            out.append(f"{'-':>30}")
    print(f"{s:<22}" + "".join(f"{c:>30}" for c in out))
print()
def per_cell(title, key, fmt):
    """A table of one per-run field, one line per system: `fmt` of the runs' values of that cell."""
    print(f"{title:<40}" + "".join(f"{q:>22}" for q in reqs))
    for s in systems:
        vals = []
        for q in reqs:
            xs = [r[key] for r in cells.get((s, q), []) if key in r]
            vals.append(fmt(xs) if xs else f"{'-':>22}")
        print(f"{s:<40}" + "".join(vals))
    print()
per_cell("proxy CPU per request (median round)", "proxy_cpu_us_per_request",
         lambda xs: f"{statistics.median(xs):>19.1f} us")
per_cell("proxy busy, % of one core (median round)", "proxy_busy_pct",
         lambda xs: f"{statistics.median(xs):>20.0f} %")
per_cell("host idle, % of all cores (median round)", "host_idle_pct",
         lambda xs: f"{statistics.median(xs):>20.0f} %")
per_cell("host steal (median round; max)", "host_steal_pct",
         lambda xs: f"{statistics.median(xs):>10.1f} % ({max(xs):>4.1f} %)")
goals = [("portcullis-none", "nginx-bare", 0.9), ("portcullis-managed", "nginx-bare", 0.7), ("portcullis-crs", "nginx-crs", 10.0)]
print(f"{'ratio (req/s), per round':<40}" + "".join(f"{q:>22}" for q in reqs) + "    goal")
for a, b, goal in goals:
    vals = []
    for q in reqs:
        by_round = {}
        for r in cells.get((a, q), []) + cells.get((b, q), []):
            by_round.setdefault(r.get("round", 1), {})[r["system"]] = r["rps"]
        ratios = sorted(v[a] / v[b] for v in by_round.values() if a in v and v.get(b, 0) > 0)
        if not ratios:
            vals.append(f"{'-':>22}")
        elif len(ratios) == 1:
            vals.append(f"{ratios[0]:>22.2f}")
        else:
            vals.append(f"{statistics.median(ratios):>8.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})")
    print(f"{a + ' / ' + b:<40}" + "".join(vals) + f"    >= {goal}")
stolen = [r for r in rows if r.get("host_steal_pct", 0) > float(sys.argv[2])]
if stolen:
    print(f"warning: {len(stolen)} of {len(rows)} measured runs kept more than {sys.argv[2]} % host steal "
          "after their retries: the host was busy, compare ratios with care")
bad = [r for r in rows if r["non_2xx"] > 0]
for r in bad:
    print(f"warning: {r['system']} {r['request']}: {r['non_2xx']} responses above 399 (false positives?)")
EOF
