#!/usr/bin/env bash
# Runs every check and test of Portcullis on a fresh machine, installing what it needs:
#
#   1. formatting and lints (cargo fmt --check, cargo clippy -D warnings);
#   2. one debug build of the workspace, reused by everything below;
#   3. unit, conformance and end-to-end tests (cargo nextest, or cargo test), beside a
#      throwaway SoftHSM token (the PKCS#11 root key), a throwaway PostgreSQL server (so
#      the store's conformance suite runs on both backends) and a throwaway Redis (the WAF's
#      shared rate counters); Guard's NATS JetStream tests start their own nats-server;
#   4. the OWASP CRS regression suite through `portcullis waf crs-test`;
#   5. the real-client suite in compat/ (boto3, the AWS CLI, the AWS Encryption SDK and
#      `cryptography` in a venv) against the binary: once on SQLite with the root key in a
#      file, once on PostgreSQL with the root key in a SoftHSM token.
#
# Environment: PORTCULLIS_CORPORA (default ../shared/corpora) points the tests at the
# external corpora; with CI=true a missing corpus, token or PostgreSQL is an error, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

export PORTCULLIS_CORPORA="${PORTCULLIS_CORPORA:-$root/../shared/corpora}"
if [ ! -d "$PORTCULLIS_CORPORA" ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "error: corpus not found at PORTCULLIS_CORPORA=$PORTCULLIS_CORPORA" >&2
        exit 1
    fi
    echo "WARNING: corpus not found at $PORTCULLIS_CORPORA; corpus-driven tests will skip" >&2
fi

step "system packages"
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -f /usr/lib/softhsm/libsofthsm2.so ] || need+=(softhsm2)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
[ -f /usr/share/modsecurity-crs/rules/REQUEST-942-APPLICATION-ATTACK-SQLI.conf ] || need+=(modsecurity-crs)
# C libinjection, inside libmodsecurity: the SQLi/XSS detectors are compared with it (waf-injection tests).
/sbin/ldconfig -p 2>/dev/null | grep -q 'libmodsecurity\.so\.3 ' || need+=(libmodsecurity3)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
{ command -v rpmbuild && command -v db5.3_load; } >/dev/null 2>&1 || need+=(rpm db5.3-util)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${need[@]}" || { apt-get update -q && apt-get install -y -q "${need[@]}"; }
else
    echo "all present"
fi

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build"
cargo build --workspace --all-targets --locked

step "tests (with a throwaway SoftHSM token and PostgreSQL)"
if cargo nextest --version >/dev/null 2>&1; then
    scripts/with-softhsm.sh scripts/with-postgres.sh scripts/with-redis.sh cargo nextest run --workspace --locked --no-fail-fast
    cargo test --workspace --doc --locked
else
    scripts/with-softhsm.sh scripts/with-postgres.sh scripts/with-redis.sh cargo test --workspace --locked --no-fail-fast
fi

step "OWASP CRS 3.3.4 regression suite against the SecLang engine"
# The pass-rate floor is asserted by waf-seclang's corpus test above; this prints the figures.
target/debug/portcullis waf crs-test --allow-failures -q "$PORTCULLIS_CORPORA/waf/crs-3.3.4-regression"

step "real-client compatibility suite: SQLite store, root key in a file"
PORTCULLIS_BIN="$root/target/debug/portcullis" compat/run.sh

step "real-client compatibility suite: PostgreSQL store, root key in a SoftHSM token"
PORTCULLIS_BIN="$root/target/debug/portcullis" PORTCULLIS_COMPAT_STORE=postgres PORTCULLIS_COMPAT_ROOT_KEY=pkcs11 \
    scripts/with-softhsm.sh scripts/with-postgres.sh compat/run.sh

# The KMS suites on the other two store x root-key combinations, so every pairing is covered.
step "KMS compatibility: PostgreSQL store, root key in a file"
PORTCULLIS_BIN="$root/target/debug/portcullis" PORTCULLIS_COMPAT_STORE=postgres \
    scripts/with-postgres.sh compat/run.sh -k "kms or variant"

step "KMS compatibility: SQLite store, root key in a SoftHSM token"
PORTCULLIS_BIN="$root/target/debug/portcullis" PORTCULLIS_COMPAT_ROOT_KEY=pkcs11 \
    scripts/with-softhsm.sh compat/run.sh -k "kms or variant"
