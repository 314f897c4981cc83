#!/usr/bin/env bash
# Runs a command beside a throwaway SoftHSM token, then removes the token.
#
#   scripts/with-softhsm.sh cargo test -p portcullis-keyring
#   scripts/with-softhsm.sh scripts/with-postgres.sh cargo nextest run --workspace
#
# The token lives in a fresh `mktemp -d` directory named by its own softhsm2.conf
# (SOFTHSM2_CONF is exported), is initialised with label `portcullis-test`, user PIN 1234
# and SO PIN 5678, and the command runs with
#   PORTCULLIS_TEST_PKCS11_MODULE  the SoftHSM module (/usr/lib/softhsm/libsofthsm2.so)
#   PORTCULLIS_TEST_PKCS11_TOKEN   portcullis-test
#   PORTCULLIS_TEST_PKCS11_PIN     1234
# exported. Whatever happens, the directory is deleted on exit, and the script exits with
# the command's status.
#
# SoftHSM comes from Debian's softhsm2 package, installed with apt-get if the module is
# missing.
set -euo pipefail

log() { echo "with-softhsm: $*" >&2; }

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage_if_empty "$0" "$@"

module=/usr/lib/softhsm/libsofthsm2.so
if [ ! -f "$module" ] || ! command -v softhsm2-util >/dev/null 2>&1; then
    log "$module not found; installing Debian's softhsm2 package"
    apt_ensure softhsm2
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-softhsm.XXXXXX")
cleanup() {
    local status=$?
    rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir "$workdir/tokens"
cat >"$workdir/softhsm2.conf" <<CONF
directories.tokendir = $workdir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF="$workdir/softhsm2.conf"

softhsm2-util --init-token --free --label portcullis-test --pin 1234 --so-pin 5678 >"$workdir/init.log" 2>&1 ||
    { cat "$workdir/init.log" >&2; exit 1; }

export PORTCULLIS_TEST_PKCS11_MODULE="$module"
export PORTCULLIS_TEST_PKCS11_TOKEN=portcullis-test
export PORTCULLIS_TEST_PKCS11_PIN=1234
log "token portcullis-test ready (SOFTHSM2_CONF=$SOFTHSM2_CONF)"

# As in with-postgres.sh: run the command in the background so a signal reaches it at once,
# then let the EXIT trap clean up.
run_forwarding "$@"
