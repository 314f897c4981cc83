#!/usr/bin/env bash
# The benchmark peer for Portcullis's WAF: nginx + ModSecurity 3 + OWASP CRS 3.3.4 on loopback.
#
#   scripts/waf-peer.sh start      # start the four nginx instances below, check that they answer
#   scripts/waf-peer.sh measure    # CPU per request of each request type on each target;
#                                  # starts the peer first (and stops it after) if it is not running
#   scripts/waf-peer.sh status     # which instances are running, their ports and worker pids
#   scripts/waf-peer.sh stop       # stop the instances started by `start` (by their pid files)
#
# Four private nginx instances, each `nginx -p DIR -c DIR/conf/nginx.conf` with its own prefix
# under $WAF_PEER_DIR, one worker process (so the worker's CPU time can be read from
# /proc/<pid>/stat), all listening on 127.0.0.1 only:
#
#   upstream  BASE+0  `return 200 "ok\n"` for every request (GET and POST)
#   proxy     BASE+1  plain reverse proxy to upstream (keep-alive), no WAF        -> config "proxy-only"
#   engine    BASE+2  proxy + ModSecurity with Debian's recommended engine config,
#                     SecRuleEngine On, no CRS                                    -> config "engine-no-crs"
#   crs       BASE+3  proxy + ModSecurity + CRS 3.3.4, paranoia level 1, blocking -> config "crs-3.3.4-pl1"
#
# `measure` replays each request file of bench/waf/requests/ (simple GET, browser-like GET with
# 6 args and cookies, 1 KB JSON POST, 8 KB form POST) with wrk and bench/waf/wrk-request.lua
# against the proxy, engine and crs instances: a warm-up run, then a measured run during which
# the worker's utime+stime (/proc/<pid>/stat) and its scheduler run time (/proc/<pid>/schedstat,
# nanoseconds) are sampled. Each (target, request) pair gives one JSON line in the results file
# (schema "portcullis-waf-bench/1", documented in bench/waf/README.md) and the run ends with a
# table from bench/waf/report.py. Requests answered with a status above 399 are counted in
# "non_2xx": the benign requests must all pass, so a non-zero value means a false positive.
#
# Environment (defaults in brackets):
#   WAF_PEER_DIR          state directory: prefixes, configs, logs, pid files [${TMPDIR:-/tmp}/portcullis-waf-peer]
#   WAF_PEER_BASE_PORT    first of four consecutive loopback ports [18480]
#   WAF_PEER_DURATION     measured wrk run per pair [5s]
#   WAF_PEER_WARMUP       warm-up wrk run per pair [1s]
#   WAF_PEER_CONNECTIONS  wrk connections (one thread) [1]
#   WAF_PEER_TARGETS      which instances to measure [proxy engine crs]
#   WAF_PEER_REQUESTS     which request files (names without .http) [simple-get browser-get json-post-1k form-post-8k]
#   WAF_PEER_RESULTS      JSON-lines file the results are appended to [target/waf-bench/modsecurity.jsonl]
#   WAF_PEER_PROXY_WORKERS  worker_processes of the proxy, engine and crs instances (`start`) [1]; the upstream
#                         keeps one. `measure` reads one worker's CPU time, so it needs 1.
#
# Packages (nginx, libnginx-mod-http-modsecurity, modsecurity-crs, wrk, curl) are installed with
# apt-get when missing. Nothing else on the machine is touched: the Debian nginx service is not
# used, and `stop` signals only the masters named in this script's pid files.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state=${WAF_PEER_DIR:-${TMPDIR:-/tmp}/portcullis-waf-peer}
base=${WAF_PEER_BASE_PORT:-18480}
duration=${WAF_PEER_DURATION:-5s}
warmup=${WAF_PEER_WARMUP:-1s}
conns=${WAF_PEER_CONNECTIONS:-1}
targets=${WAF_PEER_TARGETS:-proxy engine crs}
proxy_workers=${WAF_PEER_PROXY_WORKERS:-1}
requests=${WAF_PEER_REQUESTS:-simple-get browser-get json-post-1k form-post-8k}
results=${WAF_PEER_RESULTS:-$root/target/waf-bench/modsecurity.jsonl}
bench="$root/bench/waf"

modsec_module=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so
crs_rules=/usr/share/modsecurity-crs/rules
crs_etc=/etc/modsecurity/crs
engine_conf_src=/etc/nginx/modsecurity.conf
unicode_map=/etc/nginx/unicode.mapping

instances="upstream proxy engine crs"

log() { echo "waf-peer: $*" >&2; }
die() { log "error: $*"; exit 1; }

port_of() {
    case "$1" in
        upstream) echo $((base + 0)) ;;
        proxy) echo $((base + 1)) ;;
        engine) echo $((base + 2)) ;;
        crs) echo $((base + 3)) ;;
        *) die "unknown instance $1" ;;
    esac
}

config_of() {
    case "$1" in
        proxy) echo "proxy-only" ;;
        engine) echo "engine-no-crs" ;;
        crs) echo "crs-3.3.4-pl1" ;;
        *) echo "$1" ;;
    esac
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
    local missing=()
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
    [ -f "$modsec_module" ] || missing+=(libnginx-mod-http-modsecurity)
    [ -d "$crs_rules" ] && [ -f "$crs_etc/crs-setup.conf" ] || missing+=(modsecurity-crs)
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]} (apt-get update first)"
        export DEBIAN_FRONTEND=noninteractive
        # A policy-rc.d in minimal images keeps the package from starting nginx on :80; where
        # there is none, the Debian service may start, which this script neither needs nor stops.
        as_root apt-get update -q >&2
        as_root apt-get install -y -q "${missing[@]}" >&2
    fi
    [ -f "$modsec_module" ] || die "$modsec_module missing after install"
    [ -f "$engine_conf_src" ] || die "$engine_conf_src missing (libnginx-mod-http-modsecurity)"
}

nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }

# The pid in DIR/nginx.pid if it is a live nginx master started with this prefix.
master_pid() {
    local dir="$state/$1" pid
    [ -f "$dir/nginx.pid" ] || return 1
    pid=$(tr -dc '0-9' <"$dir/nginx.pid")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir" || return 1
    echo "$pid"
}

worker_pid() {
    local master
    master=$(master_pid "$1") || return 1
    local kids
    kids=$(cat "/proc/$master/task/$master/children" 2>/dev/null || true)
    [ -n "$kids" ] || kids=$(ps -o pid= --ppid "$master" 2>/dev/null || true)
    # One worker (worker_processes 1); cache helpers are not configured.
    set -- $kids
    [ $# -ge 1 ] || return 1
    echo "$1"
}

is_running() { master_pid "$1" >/dev/null 2>&1; }

write_engine_conf() {
    local dir=$1
    sed -e 's|^SecRuleEngine .*|SecRuleEngine On|' \
        -e 's|^SecStatusEngine .*|SecStatusEngine Off|' \
        -e "s|^SecAuditLog .*|SecAuditLog $dir/logs/modsec_audit.log|" \
        -e "s|^SecTmpDir .*|SecTmpDir $dir/modsec-tmp/|" \
        -e "s|^SecDataDir .*|SecDataDir $dir/modsec-data/|" \
        -e "s|^SecUnicodeMapFile .*|SecUnicodeMapFile $unicode_map 20127|" \
        "$engine_conf_src" >"$dir/conf/modsecurity-engine.conf"
    grep -q '^SecRuleEngine On' "$dir/conf/modsecurity-engine.conf" || die "could not set SecRuleEngine On"
}

write_conf() {
    local name=$1 dir="$state/$1" port up user_line="" load_line="" modsec_lines="" location
    port=$(port_of "$name")
    up=$(port_of upstream)
    mkdir -p "$dir/conf" "$dir/logs" "$dir/tmp" "$dir/modsec-tmp" "$dir/modsec-data"
    if [ "$(id -u)" -eq 0 ]; then
        # Workers drop to nobody; they write only the temp and ModSecurity directories.
        user_line="user nobody $(getent group nogroup >/dev/null && echo nogroup || echo nobody);"
        chmod 1777 "$dir/tmp" "$dir/modsec-tmp" "$dir/modsec-data"
    fi
    case "$name" in
        upstream)
            location='location / { return 200 "ok\n"; }'
            ;;
        proxy | engine | crs)
            location="location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host \$host;
        }"
            ;;
    esac
    local procs=1
    [ "$name" = upstream ] || procs=$proxy_workers
    case "$name" in
        engine)
            write_engine_conf "$dir"
            printf 'Include %s\n' "$dir/conf/modsecurity-engine.conf" >"$dir/conf/main.conf"
            ;;
        crs)
            write_engine_conf "$dir"
            # The explicit include order of the reference (§6.4): engine, setup, 900, rules, 999.
            {
                printf 'Include %s\n' "$dir/conf/modsecurity-engine.conf"
                printf 'Include %s\n' "$crs_etc/crs-setup.conf"
                printf 'Include %s\n' "$crs_etc/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf"
                printf 'Include %s\n' "$crs_rules/*.conf"
                printf 'Include %s\n' "$crs_etc/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf"
            } >"$dir/conf/main.conf"
            ;;
    esac
    case "$name" in
        engine | crs)
            load_line="load_module $modsec_module;"
            modsec_lines="modsecurity on;
        modsecurity_rules_file $dir/conf/main.conf;"
            ;;
    esac
    cat >"$dir/conf/nginx.conf" <<EOF
# Generated by scripts/waf-peer.sh for instance "$name"; regenerated on every start.
$load_line
$user_line
worker_processes $procs;
pid $dir/nginx.pid;
error_log $dir/logs/error.log notice;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/client_body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    client_body_buffer_size 64k;
    client_max_body_size 16m;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    upstream backend {
        server 127.0.0.1:$up;
        keepalive 16;
    }
    server {
        listen 127.0.0.1:$port default_server;
        server_name _;
        $modsec_lines
        $location
    }
}
EOF
}

wait_port() {
    local port=$1 i
    for i in $(seq 1 100); do
        if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then return 0; fi
        sleep 0.1
    done
    return 1
}

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_instance() {
    local name=$1 dir="$state/$1" port
    port=$(port_of "$name")
    if is_running "$name"; then
        log "$name already running (pid $(master_pid "$name"))"
        return 0
    fi
    port_busy "$port" && die "port 127.0.0.1:$port is in use (set WAF_PEER_BASE_PORT)"
    write_conf "$name"
    "$(nginx_bin)" -t -q -p "$dir" -e "$dir/logs/error.log" -c "$dir/conf/nginx.conf" 2>"$dir/logs/configtest.log" || {
        cat "$dir/logs/configtest.log" >&2
        die "nginx -t failed for $name"
    }
    "$(nginx_bin)" -p "$dir" -e "$dir/logs/error.log" -c "$dir/conf/nginx.conf"
    wait_port "$port" || die "$name did not answer on 127.0.0.1:$port (see $dir/logs/error.log)"
    log "$name on 127.0.0.1:$port, master $(master_pid "$name"), worker $(worker_pid "$name")"
}

status_code() {
    curl -s -o /dev/null --max-time 10 -w '%{http_code}' "$@" || true
}

functional_check() {
    local crs proxy code ok=1
    crs=$(port_of crs)
    proxy=$(port_of proxy)
    check() {
        local want=$1
        shift
        code=$(status_code -H 'Host: www.example.com' -H 'User-Agent: waf-peer-check' "$@")
        if [ "$code" = "$want" ]; then
            log "check ok   $want ${*: -1}"
        else
            log "check FAIL want $want got $code: $*"
            ok=0
        fi
    }
    check 403 "http://127.0.0.1:$crs/?id=1%27%20OR%201=1--"
    check 200 "http://127.0.0.1:$crs/?id=42"
    check 403 "http://127.0.0.1:$crs/?q=%3Cscript%3Ealert(1)%3C/script%3E"
    check 403 -H 'Content-Type: application/json' --data '{"a":"1 UNION SELECT password FROM users"}' \
        "http://127.0.0.1:$crs/api"
    check 200 "http://127.0.0.1:$proxy/?id=1%27%20OR%201=1--"
    check 200 "http://127.0.0.1:$(port_of engine)/?id=1%27%20OR%201=1--"
    [ "$ok" -eq 1 ]
}

cmd_start() {
    ensure_packages
    mkdir -p "$state"
    local name
    for name in $instances; do
        start_instance "$name"
    done
    grep -h 'rules loaded' "$state/crs/logs/error.log" 2>/dev/null | tail -1 | sed 's/^/waf-peer: crs: /' >&2 || true
    functional_check || die "functional check failed; the peer is running, see $state/*/logs"
}

cmd_stop() {
    local name pid i
    for name in $instances; do
        pid=$(master_pid "$name") || continue
        kill -QUIT "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do
            [ -d "/proc/$pid" ] || break
            sleep 0.1
        done
        if [ -d "/proc/$pid" ]; then
            log "$name (pid $pid) did not quit; sending TERM"
            kill -TERM "$pid" 2>/dev/null || true
        fi
        log "stopped $name (pid $pid)"
    done
}

cmd_status() {
    local name
    for name in $instances; do
        if is_running "$name"; then
            echo "$name 127.0.0.1:$(port_of "$name") master=$(master_pid "$name") worker=$(worker_pid "$name")"
        else
            echo "$name stopped"
        fi
    done
}

# utime+stime in clock ticks, and scheduler run time in ns, of a pid.
cpu_sample() {
    local pid=$1 ticks ns
    ticks=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')
    ns=$(awk '{print $1}' "/proc/$pid/schedstat" 2>/dev/null || echo 0)
    echo "$ticks $ns"
}

json_field() { # json_field NAME JSON -> number
    sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p" <<<"$2"
}

run_wrk() { # run_wrk PORT REQUEST DURATION -> WRK_RESULT json on stdout
    local port=$1 req=$2 dur=$3 out
    out=$(WAF_REQUEST_FILE="$bench/requests/$req.http" \
        wrk -t1 -c"$conns" -d"$dur" --timeout 10s -s "$bench/wrk-request.lua" "http://127.0.0.1:$port/" 2>&1) ||
        die "wrk failed: $out"
    sed -n 's/^WRK_RESULT //p' <<<"$out" | tail -1
}

measure_one() {
    local target=$1 req=$2 port worker before after res hz
    port=$(port_of "$target")
    worker=$(worker_pid "$target") || die "no worker for $target"
    hz=$(getconf CLK_TCK)
    run_wrk "$port" "$req" "$warmup" >/dev/null
    before=$(cpu_sample "$worker")
    res=$(run_wrk "$port" "$req" "$duration")
    after=$(cpu_sample "$worker")
    [ -n "$res" ] || die "no WRK_RESULT from wrk for $target/$req"
    local n dur_us st sock p50 p90 p99 mean rbytes
    n=$(json_field requests "$res")
    dur_us=$(json_field duration_us "$res")
    st=$(json_field errors_status "$res")
    sock=$(($(json_field errors_connect "$res") + $(json_field errors_read "$res") + $(json_field errors_write "$res") + $(json_field errors_timeout "$res")))
    p50=$(json_field latency_p50_us "$res")
    p90=$(json_field latency_p90_us "$res")
    p99=$(json_field latency_p99_us "$res")
    mean=$(json_field latency_mean_us "$res")
    rbytes=$(json_field request_bytes "$res")
    read -r t0 s0 <<<"$before"
    read -r t1 s1 <<<"$after"
    awk -v n="$n" -v d="$dur_us" -v t0="$t0" -v t1="$t1" -v s0="$s0" -v s1="$s1" -v hz="$hz" \
        -v target="$target" -v config="$(config_of "$target")" -v req="$req" -v st="$st" -v sock="$sock" \
        -v p50="$p50" -v p90="$p90" -v p99="$p99" -v mean="$mean" -v rbytes="$rbytes" -v conns="$conns" \
        -v nginx="$(pkg_version nginx)" -v msc="$(pkg_version libmodsecurity3)" \
        -v conn="$(pkg_version libnginx-mod-http-modsecurity)" -v crs="$(pkg_version modsecurity-crs)" \
        -v host="$(hostname)" -v nproc="$(nproc)" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
        -v ts="$(date -u +%Y-%m-%dT%H:%M:%SZ)" 'BEGIN {
        if (n <= 0) n = 0;
        cpu = (n > 0) ? (t1 - t0) * 1e6 / hz / n : 0;
        sched = (n > 0 && s1 > 0) ? (s1 - s0) / 1e3 / n : 0;
        rps = (d > 0) ? n * 1e6 / d : 0;
        printf "{\"schema\":\"portcullis-waf-bench/1\",\"system\":\"nginx-modsecurity\",\"config\":\"%s\",", config;
        printf "\"target\":\"%s\",\"request\":\"%s\",\"request_bytes\":%d,\"requests\":%d,\"non_2xx\":%d,", target, req, rbytes, n, st;
        printf "\"socket_errors\":%d,\"duration_s\":%.3f,\"rps\":%.1f,\"cpu_us_per_req\":%.2f,", sock, d / 1e6, rps, cpu;
        printf "\"sched_cpu_us_per_req\":%.2f,\"latency_mean_us\":%.1f,\"latency_p50_us\":%d,", sched, mean, p50;
        printf "\"latency_p90_us\":%d,\"latency_p99_us\":%d,\"connections\":%d,\"cpu_source\":\"nginx worker /proc/pid/stat utime+stime\",", p90, p99, conns;
        printf "\"versions\":{\"nginx\":\"%s\",\"libmodsecurity3\":\"%s\",\"nginx_connector\":\"%s\",\"crs\":\"%s\"},", nginx, msc, conn, crs;
        printf "\"host\":\"%s\",\"nproc\":%d,\"loadavg_1m\":%s,\"timestamp\":\"%s\"}\n", host, nproc, load, ts;
    }'
}

cmd_measure() {
    local started_here=0 name
    ensure_packages
    for name in $instances; do
        if ! is_running "$name"; then started_here=1; fi
    done
    if [ "$started_here" -eq 1 ]; then
        # Stop at the end whatever happens (only what this script started, by pid file).
        trap 'cmd_stop' EXIT
        cmd_start
    else
        functional_check || die "functional check failed"
    fi
    mkdir -p "$(dirname "$results")"
    local run_file target req line
    run_file=$(mktemp "${TMPDIR:-/tmp}/waf-peer-run.XXXXXX")
    for req in $requests; do
        [ -f "$bench/requests/$req.http" ] || die "no request file $bench/requests/$req.http"
    done
    log "measuring: targets [$targets], requests [$requests], ${duration} each after ${warmup} warm-up, $conns connection(s)"
    for target in $targets; do
        for req in $requests; do
            line=$(measure_one "$target" "$req")
            echo "$line" >>"$run_file"
            log "$(config_of "$target") $req: $(json_field cpu_us_per_req "$line") µs/req CPU," \
                "$(json_field requests "$line") requests, non_2xx $(json_field non_2xx "$line")"
        done
    done
    cat "$run_file" >>"$results"
    log "appended $(wc -l <"$run_file") result lines to $results"
    if command -v python3 >/dev/null 2>&1; then
        python3 "$bench/report.py" "$run_file"
    else
        cat "$run_file"
    fi
    rm -f "$run_file"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    measure) cmd_measure ;;
    *)
        sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
