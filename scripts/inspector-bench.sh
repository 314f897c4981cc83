#!/usr/bin/env bash
# Time per lockfile: `portcullis inspector scan` (persisted OSV index) vs
# `cargo audit --no-fetch --no-yanked --db <advisory-db>` on the corpus Cargo.lock files, with a
# check that both report the same vulnerability sets.
#
# Environment:
#   PORTCULLIS_CORPORA  corpus root (default: ../shared/corpora next to the repository)
#   PORTCULLIS          portcullis binary (default: build it with `cargo build --release -p portcullis`)
#   ADVISORY_DB         checkout of rustsec/advisory-db (main branch, the TOML-in-Markdown format that
#                       cargo-audit reads; default: shallow clone into $WORK/advisory-db when the network allows)
#   CARGO_AUDIT         cargo-audit binary (default: ~/.cargo/bin/cargo-audit, installed when missing unless
#                       NO_INSTALL=1; the build takes ~16 min on 2 cores)
#   RUNS                runs per lockfile and tool (default 20)
#   WORK                scratch directory (default: a temporary directory)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPORA=${PORTCULLIS_CORPORA:-$ROOT/../shared/corpora}
LOCKS=$CORPORA/inspector/lockfiles
OSV=$CORPORA/inspector/advisories/rustsec-osv
RUNS=${RUNS:-20}
WORK=${WORK:-$(mktemp -d)}
CARGO_AUDIT_VERSION=${CARGO_AUDIT_VERSION:-0.22.2}

if [ ! -d "$LOCKS" ] || [ ! -d "$OSV" ]; then
    echo "inspector corpus not found under $CORPORA/inspector (set PORTCULLIS_CORPORA)" >&2
    exit 2
fi

if [ -z "${PORTCULLIS:-}" ]; then
    (cd "$ROOT" && cargo build --release -p portcullis >&2)
    PORTCULLIS=${CARGO_TARGET_DIR:-$ROOT/target}/release/portcullis
fi

DB=$WORK/inspector-db
echo "== import of $OSV" >&2
start=$(date +%s%N)
"$PORTCULLIS" inspector db import --replace --db "$DB" "$OSV" >&2
end=$(date +%s%N)
echo "import: $(( (end - start) / 1000000 )) ms" >&2

CARGO_AUDIT=${CARGO_AUDIT:-$HOME/.cargo/bin/cargo-audit}
if [ ! -x "$CARGO_AUDIT" ] && command -v cargo-audit >/dev/null; then
    CARGO_AUDIT=$(command -v cargo-audit)
fi
if [ ! -x "$CARGO_AUDIT" ] && [ "${NO_INSTALL:-0}" != 1 ]; then
    echo "== installing cargo-audit $CARGO_AUDIT_VERSION (slow)" >&2
    cargo install cargo-audit --version "$CARGO_AUDIT_VERSION" --locked >&2 || true
    CARGO_AUDIT=$HOME/.cargo/bin/cargo-audit
fi
HAVE_AUDIT=0
if [ -x "$CARGO_AUDIT" ]; then
    if [ -z "${ADVISORY_DB:-}" ]; then
        ADVISORY_DB=$WORK/advisory-db
        [ -d "$ADVISORY_DB" ] || git clone --quiet --depth 1 https://github.com/rustsec/advisory-db "$ADVISORY_DB" >&2 || true
    fi
    [ -d "$ADVISORY_DB/crates" ] && HAVE_AUDIT=1
fi
[ "$HAVE_AUDIT" = 1 ] || echo "!! cargo-audit or its advisory-db is not available: timing portcullis only" >&2

# Mean wall time in ms of RUNS runs of "$@" (exit status ignored).
mean_ms() {
    local total=0 i s e
    "$@" >/dev/null 2>&1 || true # warm the page cache
    for ((i = 0; i < RUNS; i++)); do
        s=$(date +%s%N)
        "$@" >/dev/null 2>&1 || true
        e=$(date +%s%N)
        total=$((total + e - s))
    done
    echo "scale=2; $total / $RUNS / 1000000" | bc
}

vulns_ours() {
    "$PORTCULLIS" inspector scan --db "$DB" --format json "$1" 2>/dev/null |
        jq -r '.findings[] | .packageVulnerabilityDetails as $d | "\($d.vulnerabilityId) \($d.vulnerablePackages[0].name)@\($d.vulnerablePackages[0].version)"' | sort
}
vulns_audit() {
    "$CARGO_AUDIT" audit --db "$ADVISORY_DB" --no-fetch --no-yanked -f "$1" --json 2>/dev/null |
        jq -r '.vulnerabilities.list[] | "\(.advisory.id) \(.package.name)@\(.package.version)"' | sort
}

printf '%-45s %10s %12s %8s %s\n' lockfile "ours ms" "audit ms" ratio "same vulns"
sum_ours=0
sum_audit=0
for lock in "$LOCKS"/*.Cargo.lock; do
    name=$(basename "$lock")
    ours=$(mean_ms "$PORTCULLIS" inspector scan --db "$DB" "$lock")
    sum_ours=$(echo "$sum_ours + $ours" | bc)
    if [ "$HAVE_AUDIT" = 1 ]; then
        audit=$(mean_ms "$CARGO_AUDIT" audit --db "$ADVISORY_DB" --no-fetch --no-yanked -f "$lock")
        sum_audit=$(echo "$sum_audit + $audit" | bc)
        ratio=$(echo "scale=1; $audit / $ours" | bc)
        if [ "$(vulns_ours "$lock")" = "$(vulns_audit "$lock")" ]; then same=yes; else same=NO; fi
        printf '%-45s %10s %12s %7sx %s\n' "$name" "$ours" "$audit" "$ratio" "$same"
    else
        printf '%-45s %10s %12s %8s %s\n' "$name" "$ours" - - -
    fi
done
if [ "$HAVE_AUDIT" = 1 ]; then
    echo "total: ours ${sum_ours} ms, cargo-audit ${sum_audit} ms, ratio $(echo "scale=1; $sum_audit / $sum_ours" | bc)x"
else
    echo "total: ours ${sum_ours} ms (reference: cargo-audit 0.22.2 took 0.052-0.091 s per lockfile, 0.464 s for the 6, on the same 2-core machine class)"
fi
