# Shared helpers of the scripts/with-*.sh wrappers; sourced, not run.
#
#   apt_ensure PKG...         install Debian packages (through sudo when not root), retrying
#                             once after `apt-get update`
#   elapsed START             seconds since START (an $EPOCHREALTIME reading), two decimals
#   free_port                 a loopback TCP port nobody listens on (a race remains possible:
#                             callers retry their start on a new port)
#   run_forwarding CMD...     runs CMD in the background with stdin passed through, forwards
#                             INT/TERM to it, and exits with its status (the caller's EXIT
#                             trap then cleans up)
#   usage_if_empty NAME ARGS  prints "usage: NAME CMD [ARGS...]" and exits 2 when ARGS is empty

usage_if_empty() {
    local name=$1
    shift
    if [ $# -eq 0 ]; then
        echo "usage: $name CMD [ARGS...]" >&2
        exit 2
    fi
}

apt_ensure() {
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo[@]}" apt-get install -y -q "$@" >&2; then
        "${sudo[@]}" apt-get update -q >&2
        "${sudo[@]}" apt-get install -y -q "$@" >&2
    fi
}

elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

run_forwarding() {
    _child=""
    _forward() {
        if [ -n "$_child" ]; then
            kill "-$1" "$_child" 2>/dev/null || true
            wait "$_child" 2>/dev/null || true
        fi
        exit "$2"
    }
    trap '_forward INT 130' INT
    trap '_forward TERM 143' TERM
    local status
    set +e
    "$@" <&0 &
    _child=$!
    wait "$_child"
    status=$?
    set -e
    exit "$status"
}
