#!/usr/bin/env bash
# Runs a command beside a throwaway Redis server, then stops it.
#
#   scripts/with-redis.sh cargo test -p portcullis-waf-redis
#
# The server keeps nothing on disk (no RDB snapshots, no AOF), works in a fresh `mktemp -d`
# directory, listens only on 127.0.0.1 at a free port with protected mode on, and the command
# runs with PORTCULLIS_TEST_REDIS_URL=redis://127.0.0.1:PORT/ exported. Whatever happens, the
# server is stopped and its directory deleted on exit, and the script exits with the command's
# status.
#
# redis-server comes from Debian's redis-server package, installed with apt-get (through sudo
# when not run as root) if it is not on PATH.
set -euo pipefail

log() { echo "with-redis: $*" >&2; }

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage_if_empty "$0" "$@"

if ! command -v redis-server >/dev/null 2>&1; then
    log "redis-server not found; installing Debian's redis-server package"
    apt_ensure redis-server
fi
server=$(command -v redis-server)
cli=$(command -v redis-cli || true)

started_at=$EPOCHREALTIME
workdir=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-redis.XXXXXX")
pid=""

cleanup() {
    local status=$?
    local stop_at=$EPOCHREALTIME
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "server did not stop in 5 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
    log "stopped and removed in $(elapsed "$stop_at")s"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Is something answering PING on $1? (redis-cli when present, a raw RESP exchange otherwise.)
pong() {
    if [ -n "$cli" ]; then
        [ "$("$cli" -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]
    else
        exec 3<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
        printf 'PING\r\n' >&3
        local reply=""
        read -r -t 1 reply <&3 || true
        exec 3<&- 3>&-
        [ "${reply%$'\r'}" = "+PONG" ]
    fi
}

port=""
for attempt in 1 2 3 4 5; do
    candidate=$(free_port)
    # Foreground server in the background of this shell, so we own its pid and it dies with us.
    "$server" --port "$candidate" --bind 127.0.0.1 --protected-mode yes --save '' \
        --appendonly no --dir "$workdir" --daemonize no --logfile "$workdir/redis.log" &
    pid=$!
    for _ in $(seq 1 50); do
        if pong "$candidate"; then
            port=$candidate
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -n "$port" ]; then
        break
    fi
    log "start on port $candidate failed (attempt $attempt)"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
done
if [ -z "$port" ]; then
    cat "$workdir/redis.log" >&2 || true
    exit 1
fi

version=$("$server" --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
export PORTCULLIS_TEST_REDIS_URL="redis://127.0.0.1:$port/"
log "Redis $version ready at $PORTCULLIS_TEST_REDIS_URL in $(elapsed "$started_at")s"

# The command runs in the background (stdin passed through) so that a signal to this script
# is handled at once: it is forwarded to the command, and the EXIT trap then cleans up.
run_forwarding "$@"
