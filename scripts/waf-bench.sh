#!/usr/bin/env bash
# The WAF benchmark, one run, both sides:
#
#   scripts/waf-bench.sh
#
# 1. builds crates/waf-bench in release (`cargo build --release -p portcullis-waf-bench`);
# 2. measures the peer, nginx + ModSecurity 3 + OWASP CRS 3.3.4 PL1 (`scripts/waf-peer.sh measure`: plain
#    proxy, engine without rules, CRS; CPU of the nginx worker per request, wrk on loopback);
# 3. measures Portcullis in-process (`portcullis-waf-bench`): the AWS-style web ACL (Portcullis CommonRuleSet +
#    SQLiRuleSet + KnownBadInputsRuleSet, 16 KB body inspection), CRS 3.3.4 PL1 on the SecLang engine, and both
#    together, on the same request files, plus a form/JSON body-size sweep (1-64 KB); CPU time of the
#    benchmark thread per evaluation;
# 4. prints one combined table with bench/waf/report.py, including the "Portcullis / ModSecurity" ratios.
#
# The two sides run one after the other (the peer is stopped before the Portcullis bench starts), so they do not
# compete for the CPU. Results of the run go to target/waf-bench/run-<UTC time>/{modsecurity,portcullis}.jsonl and
# are appended to target/waf-bench/{modsecurity,portcullis}.jsonl.
#
# Environment (defaults in brackets):
#   WAF_BENCH_SECONDS        measured time per (system, request) cell of the Portcullis bench, over 3 rounds [3]
#   WAF_BENCH_SWEEP_SECONDS  measured time per body-size sweep cell [1]
#   WAF_BENCH_ARGS           more arguments for portcullis-waf-bench (e.g. "--no-sweep") []
#   WAF_BENCH_SKIP_PEER      1: do not measure the peer; report with target/waf-bench/modsecurity.jsonl as is [0]
#   WAF_BENCH_RECORD         1: also copy the run's lines to bench/waf/results/waf-bench-<date>.jsonl [0]
#   CARGO_TARGET_DIR         cargo's target directory [target]
#   WAF_PEER_*               passed to scripts/waf-peer.sh (duration, warm-up, targets, requests, ...)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out="$root/target/waf-bench"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
run="$out/run-$stamp"
mkdir -p "$run"

log() { echo "waf-bench: $*" >&2; }

log "building portcullis-waf-bench (release)"
cargo build --release -q -p portcullis-waf-bench
bin="${CARGO_TARGET_DIR:-$root/target}/release/portcullis-waf-bench"
[ -x "$bin" ] || { log "error: $bin not built"; exit 1; }

if [ "${WAF_BENCH_SKIP_PEER:-0}" != 1 ]; then
    log "measuring the nginx + ModSecurity + CRS peer"
    WAF_PEER_RESULTS="$run/modsecurity.jsonl" "$root/scripts/waf-peer.sh" measure >&2
    cat "$run/modsecurity.jsonl" >>"$out/modsecurity.jsonl"
else
    log "WAF_BENCH_SKIP_PEER=1: using the peer lines already in $out/modsecurity.jsonl"
    [ -f "$out/modsecurity.jsonl" ] && cp "$out/modsecurity.jsonl" "$run/modsecurity.jsonl"
fi

log "measuring Portcullis (in-process)"
# shellcheck disable=SC2086 # WAF_BENCH_ARGS is a list of arguments
"$bin" --out "$run/portcullis.jsonl" --seconds "${WAF_BENCH_SECONDS:-3}" \
    --sweep-seconds "${WAF_BENCH_SWEEP_SECONDS:-1}" ${WAF_BENCH_ARGS:-} >&2
cat "$run/portcullis.jsonl" >>"$out/portcullis.jsonl"

if [ "${WAF_BENCH_RECORD:-0}" = 1 ]; then
    rec="$root/bench/waf/results/waf-bench-$(date -u +%Y-%m-%d).jsonl"
    cat "$run"/*.jsonl >>"$rec"
    log "recorded the run in $rec"
fi

log "run files: $run"
python3 "$root/bench/waf/report.py" "$run"/*.jsonl "$@"
