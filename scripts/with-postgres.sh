#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server, then removes the server.
#
#   scripts/with-postgres.sh cargo test -p portcullis-store
#
# The cluster lives in a fresh `mktemp -d` directory (data, log and unix socket), listens
# only on 127.0.0.1 at a free port, and trusts every loopback connection. The command runs
# with PORTCULLIS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres exported.
# Whatever happens, the cluster is stopped and its directory deleted on exit, and the script
# exits with the command's status.
#
# PostgreSQL comes from Debian's packages (installed with apt-get if no initdb is found under
# /usr/lib/postgresql/*/bin). PostgreSQL refuses to run as root, so when run as root the
# server runs as the `postgres` system user, which the package creates.
set -euo pipefail

log() { echo "with-postgres: $*" >&2; }

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage_if_empty "$0" "$@"

find_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

bindir=$(find_bindir || true)
if [ -z "$bindir" ]; then
    log "initdb not found; installing Debian's postgresql package"
    apt_ensure postgresql
    bindir=$(find_bindir)
fi

# Run server tools as `postgres` when we are root; as ourselves otherwise.
if [ "$(id -u)" -eq 0 ]; then
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

started_at=$EPOCHREALTIME
workdir=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-pg.XXXXXX")
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$workdir"
fi
datadir="$workdir/data"
running=0

cleanup() {
    local status=$?
    local stop_at=$EPOCHREALTIME
    if [ "$running" -eq 1 ]; then
        as_pg "$bindir/pg_ctl" -D "$datadir" -m fast -w -t 20 stop >/dev/null 2>&1 ||
            as_pg "$bindir/pg_ctl" -D "$datadir" -m immediate -w stop >/dev/null 2>&1 ||
            log "could not stop the server (pid file: $datadir/postmaster.pid)"
    fi
    rm -rf "$workdir"
    log "stopped and removed in $(elapsed "$stop_at")s"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

as_pg "$bindir/initdb" -D "$datadir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync \
    >"$workdir/initdb.log" 2>&1 || { cat "$workdir/initdb.log" >&2; exit 1; }

port=""
for attempt in 1 2 3 4 5; do
    candidate=$(free_port)
    # Throwaway data: skip fsync for speed. Only loopback TCP, and the socket in our dir.
    if as_pg "$bindir/pg_ctl" -D "$datadir" -l "$workdir/postgres.log" -w -t 30 start \
        -o "-c listen_addresses=127.0.0.1 -p $candidate -k $workdir -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
        >/dev/null 2>&1; then
        port=$candidate
        running=1
        break
    fi
    log "start on port $candidate failed (attempt $attempt)"
done
if [ -z "$port" ]; then
    cat "$workdir/postgres.log" >&2 || true
    exit 1
fi

for _ in $(seq 1 60); do
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
        break
    fi
    sleep 0.5
done
"$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres || { log "server never became ready"; exit 1; }

version=$("$bindir/postgres" --version | awk '{print $3}')
export PORTCULLIS_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
log "PostgreSQL $version ready at $PORTCULLIS_TEST_POSTGRES_URL in $(elapsed "$started_at")s"

# The command runs in the background (stdin passed through) so that a signal to this script
# is handled at once: it is forwarded to the command, and the EXIT trap then cleans up.
run_forwarding "$@"
