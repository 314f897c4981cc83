#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for the given number of seconds each (default 30), one
# after the other, and prints a one-line summary per target. Not called by CI.
#
#   scripts/fuzz.sh [seconds]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). The project pins stable Rust;
# cargo-fuzz passes nightly-only flags (-Zsanitizer=address, ...), which stable accepts
# with RUSTC_BOOTSTRAP=1. Environment:
#   FUZZ_TARGETS     space-separated subset of targets to run (default: all)
#   FUZZ_SANITIZER   cargo-fuzz sanitizer (default: address; `none` is about 2x faster)
#   FUZZ_RSS_MB      libFuzzer -rss_limit_mb (default 2048)
#   CARGO_TARGET_DIR build directory (default fuzz/target)
# Crashes are written to fuzz/artifacts/<target>/, the growing corpus to fuzz/corpus/<target>/;
# the script exits non-zero if any target found a crash.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

secs=${1:-30}
sanitizer=${FUZZ_SANITIZER:-address}
rss=${FUZZ_RSS_MB:-2048}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

targets=${FUZZ_TARGETS:-$(cargo fuzz list)}
failed=()
mkdir -p artifacts
for t in $targets; do
    printf '\n==> %s (%ss)\n' "$t" "$secs"
    log="artifacts/$t.log"
    mkdir -p "corpus/$t"
    features=()
    # kms_ciphertext needs the optional kms-core dependency (aws-lc-sys: a long first build).
    if [ "$t" = kms_ciphertext ]; then features=(--features kms); fi
    if cargo fuzz run "${features[@]}" --sanitizer "$sanitizer" "$t" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb="$rss" -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    else
        status=CRASH
        failed+=("$t")
    fi
    # The last status line libFuzzer printed: "#runs DONE cov: N ft: N corp: N/N exec/s: N ...".
    line=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
    printf '%-20s %-6s runs=%s  %s\n' "$t" "$status" "${runs:-?}" "$line"
    if [ "$status" = CRASH ]; then
        grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -n 5 || true
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    printf '\ncrashes in: %s (logs in fuzz/artifacts/<target>.log)\n' "${failed[*]}"
    exit 1
fi
printf '\nno crashes\n'
