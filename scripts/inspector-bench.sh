#!/usr/bin/env bash
# Same-run benchmark of `portcullis inspector scan` against cargo-audit over the corpus Cargo.lock
# files and the same RustSec data, with a check that both report the same results.
#
# Both sides read the corpus RustSec OSV export (the only RustSec data in the corpus):
#   - portcullis: `portcullis inspector db import` of it into a persisted index;
#   - cargo-audit: it only reads RustSec's native advisory-db layout, so the export is converted
#     with scripts/rustsec-native-db.py (OSV ranges -> `patched`/`unaffected` requirements).
# Timed commands (hyperfine, shell-less, warm page cache; exit status ignored since both exit 1
# when something is vulnerable):
#   portcullis inspector scan --db <index dir> <lockfile>
#   cargo-audit audit --db <advisory-db> --no-fetch --no-yanked -f <lockfile>   (the binary itself)
#   cargo audit --db <advisory-db> --no-fetch --no-yanked -f <lockfile>         (through cargo, as typed)
# Compared: the vulnerability set and the informational warnings (unmaintained/unsound/notice) as
# "kind id crate@version" lines, portcullis vs cargo-audit in this run and both vs
# lockfiles/EXPECTED_cargo-audit-0.22.2.json (cargo-audit 0.22.2 on the upstream advisory-db); then
# portcullis vs cargo-audit on a synthetic "boundary" lockfile holding every advisory's crate at the
# versions on and around each of its range bounds (timed too, but kept out of the totals).
#
# Environment:
#   PORTCULLIS_CORPORA  corpus root (default: ../shared/corpora next to the repository)
#   PORTCULLIS          portcullis binary (default: build it with `cargo build --release -p portcullis`)
#   ADVISORY_DB         a native-layout advisory-db to use instead of converting the OSV export
#   CARGO_AUDIT         cargo-audit binary (default: `cargo-audit` on PATH, ~/.cargo/bin/cargo-audit,
#                       else $CARGO_AUDIT_CACHE/bin/cargo-audit, installed there when missing unless
#                       NO_INSTALL=1; the build takes 15-30 min on 2 busy cores)
#   CARGO_AUDIT_CACHE   install root for cargo-audit (default: ~/.cache/portcullis-bench/cargo-audit-$VERSION)
#   CARGO_AUDIT_VERSION version to install (default 0.22.2)
#   CARGO_AUDIT_TARGET  cargo target dir for that install (default: $CARGO_AUDIT_CACHE/target, removed after)
#   RUNS / WARMUP       hyperfine runs / warm-up runs per lockfile and tool (default 20 / 3)
#   BOUNDARY_RUNS       hyperfine runs on the boundary lockfile (default 5)
#   NO_HYPERFINE=1      time with a plain shell loop instead (wall time only)
#   BENCH_RT            run hyperfine and the timed commands under `chrt -f $BENCH_RT` (SCHED_FIFO, root;
#                       e.g. 50): on a machine busy with builds both tools then run as on a quiet one
#                       (each timed process is single-threaded and short, so one core stays for the rest)
#   BENCH_NICE          else run them under `nice -n $BENCH_NICE` (e.g. -15; helps less)
#   WORK                scratch directory (default: a temporary directory, removed at exit)
# Exit status: 0 when every comparison is equal, 1 when one differs, 2 on a setup error.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPORA=${PORTCULLIS_CORPORA:-$ROOT/../shared/corpora}
[ -d "$CORPORA" ] && CORPORA=$(cd "$CORPORA" && pwd)
LOCKS=$CORPORA/inspector/lockfiles
OSV=$CORPORA/inspector/advisories/rustsec-osv
EXPECTED=$LOCKS/EXPECTED_cargo-audit-0.22.2.json
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
CARGO_AUDIT_VERSION=${CARGO_AUDIT_VERSION:-0.22.2}
if [ -z "${WORK:-}" ]; then
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"

if [ ! -d "$LOCKS" ] || [ ! -d "$OSV" ]; then
    echo "inspector corpus not found under $CORPORA/inspector (set PORTCULLIS_CORPORA)" >&2
    exit 2
fi
for tool in jq python3 bc; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 2; }
done

# --- portcullis and its index --------------------------------------------------------------------
if [ -z "${PORTCULLIS:-}" ]; then
    (cd "$ROOT" && cargo build --release -p portcullis >&2)
    PORTCULLIS=${CARGO_TARGET_DIR:-$ROOT/target}/release/portcullis
fi
DB=$WORK/inspector-db
start=$(date +%s%N)
"$PORTCULLIS" inspector db import --replace --db "$DB" "$OSV" >&2
end=$(date +%s%N)
echo "portcullis import of $OSV: $(((end - start) / 1000000)) ms" >&2

# --- cargo-audit and its native advisory-db ----------------------------------------------------
if [ -z "${ADVISORY_DB:-}" ]; then
    ADVISORY_DB=$WORK/advisory-db
    start=$(date +%s%N)
    python3 "$ROOT/scripts/rustsec-native-db.py" "$OSV" "$ADVISORY_DB" --check >&2
    end=$(date +%s%N)
    echo "conversion to the native layout: $(((end - start) / 1000000)) ms" >&2
fi
if [ -z "${CARGO_AUDIT:-}" ]; then
    CACHE=${CARGO_AUDIT_CACHE:-$HOME/.cache/portcullis-bench/cargo-audit-$CARGO_AUDIT_VERSION}
    for candidate in "$(command -v cargo-audit || true)" "$HOME/.cargo/bin/cargo-audit" "$CACHE/bin/cargo-audit"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            CARGO_AUDIT=$candidate
            break
        fi
    done
    if [ -z "${CARGO_AUDIT:-}" ]; then
        if [ "${NO_INSTALL:-0}" = 1 ]; then
            echo "cargo-audit not found and NO_INSTALL=1" >&2
            exit 2
        fi
        echo "installing cargo-audit $CARGO_AUDIT_VERSION into $CACHE (slow)" >&2
        export CARGO_TARGET_DIR=${CARGO_AUDIT_TARGET:-$CACHE/target}
        cargo install cargo-audit --version "$CARGO_AUDIT_VERSION" --locked --root "$CACHE" >&2 ||
            cargo install cargo-audit --version "$CARGO_AUDIT_VERSION" --root "$CACHE" >&2
        [ -n "${CARGO_AUDIT_TARGET:-}" ] || rm -rf "$CACHE/target"
        CARGO_AUDIT=$CACHE/bin/cargo-audit
    fi
fi
audit_version=$("$CARGO_AUDIT" audit --version 2>/dev/null || "$CARGO_AUDIT" --version)
case "$audit_version" in
*"$CARGO_AUDIT_VERSION"*) ;;
*) echo "!! $CARGO_AUDIT is \"$audit_version\", not $CARGO_AUDIT_VERSION" >&2 ;;
esac
loaded=$("$CARGO_AUDIT" audit --db "$ADVISORY_DB" --no-fetch --no-yanked -f "$LOCKS/ripgrep-HEAD-3fce3b5b.Cargo.lock" 2>&1 >/dev/null |
    sed -n 's/.*Loaded *\([0-9]*\) security advisories.*/\1/p' || true)
if [ -z "$loaded" ]; then
    echo "cargo-audit could not load $ADVISORY_DB:" >&2
    "$CARGO_AUDIT" audit --db "$ADVISORY_DB" --no-fetch --no-yanked -f "$LOCKS/ripgrep-HEAD-3fce3b5b.Cargo.lock" >&2 || true
    exit 2
fi
echo "cargo-audit: $audit_version, $loaded advisories loaded from $ADVISORY_DB" >&2

# --- result sets: one "kind id crate@version" line each ---------------------------------------
# (both tools exit 1 when something is vulnerable: that is not a failure here)
results_ours() {
    { "$PORTCULLIS" inspector scan --db "$DB" --format json "$1" 2>/dev/null || true; } |
        jq -r '(.findings[] | "vulnerability \(.packageVulnerabilityDetails.vulnerabilityId)"
                   + " \(.packageVulnerabilityDetails.vulnerablePackages[0].name)"
                   + "@\(.packageVulnerabilityDetails.vulnerablePackages[0].version)"),
               ((.warnings // [])[] | "\(.portcullisInformational) \(.packageVulnerabilityDetails.vulnerabilityId)"
                   + " \(.packageVulnerabilityDetails.vulnerablePackages[0].name)"
                   + "@\(.packageVulnerabilityDetails.vulnerablePackages[0].version)")' | sort
}
results_audit() {
    { "$CARGO_AUDIT" audit --db "$ADVISORY_DB" --no-fetch --no-yanked -f "$1" --json 2>/dev/null || true; } |
        jq -r '(.vulnerabilities.list[] | "vulnerability \(.advisory.id) \(.package.name)@\(.package.version)"),
               (.warnings | to_entries[] | .key as $k | .value[]
                   | "\($k) \(.advisory.id) \(.package.name)@\(.package.version)")' | sort
}
results_expected() {
    jq -r --arg f "$1" '.results[$f] | select(. != null)
        | (.vulnerabilities[] | "vulnerability \(.)"),
          (.warnings | to_entries[] | .key as $k | .value[] | "\($k) \(.)")' "$EXPECTED" | sort
}

# --- timing -------------------------------------------------------------------------------------
# Prints "mean sd cpu" (ms; cpu = user + system) for portcullis, cargo-audit, and `cargo audit` (the
# same through cargo's front-end, as a user types it; "0 0 0" when cargo is absent).
time_pair() {
    local json=$WORK/hyperfine-$1.json via=()
    if command -v cargo >/dev/null; then
        via=("cargo audit --db $ADVISORY_DB --no-fetch --no-yanked -f $2")
    fi
    if command -v hyperfine >/dev/null && [ "${NO_HYPERFINE:-0}" != 1 ]; then
        PATH="$(dirname "$CARGO_AUDIT"):$PATH" "${prio[@]}" \
            hyperfine --style none -N -i --warmup "$WARMUP" --runs "$RUNS" --export-json "$json" \
            "$PORTCULLIS inspector scan --db $DB $2" \
            "$CARGO_AUDIT audit --db $ADVISORY_DB --no-fetch --no-yanked -f $2" "${via[@]}" >/dev/null 2>&1
        jq -r '.results[] | "\(.mean * 1000) \((.stddev // 0) * 1000) \((.user + .system) * 1000)"' "$json"
        [ ${#via[@]} = 1 ] || echo "0 0 0"
    else
        fallback_ms "$PORTCULLIS" inspector scan --db "$DB" "$2"
        fallback_ms "$CARGO_AUDIT" audit --db "$ADVISORY_DB" --no-fetch --no-yanked -f "$2"
        echo "0 0 0"
    fi
}
fallback_ms() { # wall time only: mean of RUNS runs; stddev and CPU time reported as 0
    local total=0 i s e
    for ((i = 0; i < WARMUP; i++)); do "$@" >/dev/null 2>&1 || true; done
    for ((i = 0; i < RUNS; i++)); do
        s=$(date +%s%N)
        "$@" >/dev/null 2>&1 || true
        e=$(date +%s%N)
        total=$((total + e - s))
    done
    echo "$(echo "scale=3; $total / $RUNS / 1000000" | bc) 0 0"
}
# Scheduling of the timed commands (and of hyperfine): SCHED_FIFO, a nice level, or unchanged.
prio=()
if [ -n "${BENCH_RT:-}" ]; then
    prio=(chrt -f "$BENCH_RT")
elif [ -n "${BENCH_NICE:-}" ]; then
    prio=(nice -n "$BENCH_NICE")
fi
verdict() { if cmp -s "$1" "$2"; then echo yes; else echo NO; fi; }
ratio() { if [ "$(echo "$2 > 0" | bc)" = 1 ]; then echo "$1 / $2" | bc -l; else echo 0; fi; }

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
if command -v hyperfine >/dev/null && [ "${NO_HYPERFINE:-0}" != 1 ]; then timer=$(hyperfine --version); else
    timer="shell loop (wall time only; 0 = not measured)"; fi
echo "timer: $timer; runs $RUNS, warm-up $WARMUP; scheduling: ${prio[*]:-default}"
echo "ms: wall = mean ± sd of the wall time, cpu = mean user+system time; ratios = cargo-audit / portcullis"
row_format='%-28s %7.2f ±%6.2f %6.2f | %7.2f ±%6.2f %6.2f | %5.1fx %5.1fx | %7.2f %6.2f %5.1fx | %-4s %-4s %-4s %s\n'
printf '%-28s %-22s | %-22s | %-12s | %-20s | %s\n' lockfile "portcullis wall cpu" "cargo-audit wall cpu" "ratio wall cpu" \
    "\`cargo audit\` wall cpu ratio" "=audit ours=exp audit=exp"
sum=(0 0 0 0 0)
log_sum=0
n=0
differ=0
for lock in "$LOCKS"/*.Cargo.lock; do
    name=$(basename "$lock")
    read -r o_mean o_sd o_cpu a_mean a_sd a_cpu c_mean _ c_cpu <<<"$(time_pair "${name%.Cargo.lock}" "$lock" | tr '\n' ' ')"
    sum=("$(echo "${sum[0]} + $o_mean" | bc)" "$(echo "${sum[1]} + $a_mean" | bc)"
        "$(echo "${sum[2]} + $o_cpu" | bc)" "$(echo "${sum[3]} + $a_cpu" | bc)" "$(echo "${sum[4]} + $c_mean" | bc)")
    log_sum=$(echo "$log_sum + l($a_mean / $o_mean)" | bc -l)
    n=$((n + 1))
    results_ours "$lock" >"$WORK/$name.ours"
    results_audit "$lock" >"$WORK/$name.audit"
    results_expected "$name" >"$WORK/$name.expected"
    same_audit=$(verdict "$WORK/$name.ours" "$WORK/$name.audit")
    ours_exp=$(verdict "$WORK/$name.ours" "$WORK/$name.expected")
    audit_exp=$(verdict "$WORK/$name.audit" "$WORK/$name.expected")
    # shellcheck disable=SC2059
    printf "$row_format" "${name%.Cargo.lock}" "$o_mean" "$o_sd" "$o_cpu" "$a_mean" "$a_sd" "$a_cpu" \
        "$(ratio "$a_mean" "$o_mean")" "$(ratio "$a_cpu" "$o_cpu")" "$c_mean" "$c_cpu" "$(ratio "$c_mean" "$o_mean")" \
        "$same_audit" "$ours_exp" "$audit_exp" "($(wc -l <"$WORK/$name.audit") results)"
    if [ "$same_audit/$ours_exp/$audit_exp" != yes/yes/yes ]; then
        differ=1
        diff -u --label cargo-audit --label portcullis "$WORK/$name.audit" "$WORK/$name.ours" | sed 's/^/    /' || true
        diff -u --label expected --label cargo-audit "$WORK/$name.expected" "$WORK/$name.audit" | sed 's/^/    /' || true
    fi
done
# Boundary lockfile: every advisory's crate at the versions on and around each range bound.
boundary=$WORK/boundary.Cargo.lock
python3 "$ROOT/scripts/rustsec-native-db.py" --boundary-lockfile "$OSV" "$boundary" 2>/dev/null
results_ours "$boundary" >"$WORK/boundary.ours"
results_audit "$boundary" >"$WORK/boundary.audit"
same_boundary=$(verdict "$WORK/boundary.ours" "$WORK/boundary.audit")
read -r o_mean o_sd o_cpu a_mean a_sd a_cpu c_mean _ c_cpu <<<"$(RUNS=${BOUNDARY_RUNS:-5} WARMUP=1 time_pair boundary "$boundary" | tr '\n' ' ')"
# shellcheck disable=SC2059
printf "$row_format" boundary-synthetic "$o_mean" "$o_sd" "$o_cpu" "$a_mean" "$a_sd" "$a_cpu" \
    "$(ratio "$a_mean" "$o_mean")" "$(ratio "$a_cpu" "$o_cpu")" "$c_mean" "$c_cpu" "$(ratio "$c_mean" "$o_mean")" \
    "$same_boundary" - - \
    "($(wc -l <"$WORK/boundary.audit") results, $(grep -c '^\[\[package\]\]' "$boundary") packages; not in the totals)"
if [ "$same_boundary" != yes ]; then
    differ=1
    diff -u --label cargo-audit --label portcullis "$WORK/boundary.audit" "$WORK/boundary.ours" | head -40 | sed 's/^/    /' || true
fi
printf 'total (%d lockfiles): wall portcullis %.2f ms, cargo-audit %.2f ms: ratio %.1fx (geometric mean of the per-lockfile ratios %.1fx); cpu %.2f vs %.2f ms: ratio %.1fx; `cargo audit` wall %.2f ms: ratio %.1fx\n' \
    "$n" "${sum[0]}" "${sum[1]}" "$(ratio "${sum[1]}" "${sum[0]}")" "$(echo "e($log_sum / $n)" | bc -l)" \
    "${sum[2]}" "${sum[3]}" "$(ratio "${sum[3]}" "${sum[2]}")" "${sum[4]}" "$(ratio "${sum[4]}" "${sum[0]}")"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$differ" = 0 ]; then
    echo "results: equal on every lockfile (portcullis = cargo-audit = EXPECTED) and on the boundary lockfile"
else
    echo "results: DIFFER (see the diffs above)"
fi
exit "$differ"
