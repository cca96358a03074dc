#!/usr/bin/env bash
# Benchmark imapgate against a direct Dovecot connection and nginx's mail
# proxy in one run, on loopback. See docs/benchmarks.md.
#
#   scripts/bench.sh [--quick] [--rounds N] [--dir DIR]
#
# --quick   tiny accounts and 1-second runs, one round: checks that every
#           scenario completes (under 2 minutes once built).
# --rounds  rounds of the throughput scenarios (default 5); targets are
#           interleaved within each round, in a rotating order.
# --dir     working directory (default /tmp/imapgate-bench); it is wiped.
# --only    comma-separated scenarios to run (default all): bulk, small,
#           small-serial, big-list, login, login-serial, mbsync, idle.
#
# Needs root: apt-get, Dovecot, and a file-descriptor limit of 20,000.
set -euo pipefail

cd "$(dirname "$0")/.."
readonly REPO=$PWD

QUICK=0
ROUNDS=5
WORK=/tmp/imapgate-bench
ONLY=bulk,small,small-serial,big-list,login,login-serial,mbsync,idle
while (($# > 0)); do
    case "$1" in
        --quick) QUICK=1 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --dir) WORK="$2"; shift ;;
        --only) ONLY="$2"; shift ;;
        *) echo "usage: $0 [--quick] [--rounds N] [--dir DIR] [--only LIST]" >&2; exit 2 ;;
    esac
    shift
done

# Loopback ports.
readonly DOVECOT_PORT=21143 DOVECOT_IDLE_PORT=21144 NGINX_PORT=21145 NGINX_IDLE_PORT=21146
readonly AUTH_PORT=21147 PLAIN_PORT=21148 RULES_PORT=21149 PLAIN_IDLE_PORT=21150 RULES_IDLE_PORT=21151

if ((QUICK)); then
    ROUNDS=1
    IDLE_ROUNDS=1
    IDLE_COUNTS=(20 100)
    BULK_SECS=1 SMALL_SECS=1 LIST_SECS=1 LOGIN_SECS=1
    BULK_MESSAGES=20 BIG_FOLDERS=200
else
    IDLE_ROUNDS=3
    IDLE_COUNTS=(1000 9000)
    BULK_SECS=8 SMALL_SECS=6 LIST_SECS=10 LOGIN_SECS=5
    BULK_MESSAGES=200 BIG_FOLDERS=10000
fi

readonly BENCH=$REPO/target/release/imapgate-bench
readonly GATE=$REPO/target/release/imapgate
PIDS=()

selected() { [[ ",$ONLY," == *",$1,"* ]]; }

log() { echo "bench.sh: $*" >&2; }
die() { log "$*"; exit 1; }

is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

install_packages() {
    scripts/install-deps.sh
    local missing=() package
    for package in nginx libnginx-mod-mail; do
        is_installed "$package" || missing+=("$package")
    done
    if ((${#missing[@]} > 0)); then
        log "installing ${missing[*]}"
        apt-get update -qq
        # nginx's postinst may fail to start the system service without
        # systemd; the packages are checked below instead.
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || true
        for package in "${missing[@]}"; do
            is_installed "$package" || die "failed to install $package"
        done
    fi
}

# Stops every process this script started, by pid.
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ -r "$WORK/nginx/nginx.pid" ]]; then
        pid=$(cat "$WORK/nginx/nginx.pid")
        kill -QUIT "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
    scripts/dovecot.sh stop "$WORK/dovecot" || true
    scripts/dovecot.sh stop "$WORK/dovecot-idle" || true
}

wait_for_port() {
    local port="$1" what="$2"
    for _ in $(seq 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    die "$what did not accept connections on 127.0.0.1:$port"
}

# Dovecot for every scenario but idle memory: the test defaults with
# room for the bench's parallel sessions. One imap process per session, as
# in a default installation.
start_dovecot() {
    cat >"$WORK/dovecot-main.conf" <<CONF
mail_max_userip_connections = 20000
service imap {
  process_limit = 1024
}
service imap-login {
  process_limit = 1024
}
service anvil {
  client_limit = 4000
}
service auth {
  client_limit = 4000
}
CONF
    IMAPGATE_TEST_USERS="bulk:secret small:secret big:secret sync:secret idle:secret" \
        IMAPGATE_DOVECOT_EXTRA_CONF="$WORK/dovecot-main.conf" \
        scripts/dovecot.sh start "$WORK/dovecot" "$DOVECOT_PORT"

    # Idle sessions (user idle only; the auth service sends nginx there too,
    # so no other scenario may use that user): 9,000 imap processes would need gigabytes, so one
    # process serves up to 1,000 sessions here (service_count = 0 keeps it
    # accepting after its first client). Long-lived login processes
    # (Dovecot's high-performance mode) make opening 9,000 sessions quick.
    cat >"$WORK/dovecot-idle.conf" <<CONF
mail_max_userip_connections = 20000
service imap {
  service_count = 0
  client_limit = 1000
  process_limit = 32
  vsz_limit = 2G
}
service imap-login {
  service_count = 0
  process_min_avail = 2
  client_limit = 1000
}
service anvil {
  client_limit = 20000
}
service auth {
  client_limit = 20000
}
CONF
    IMAPGATE_TEST_USERS="idle:secret" IMAPGATE_DOVECOT_EXTRA_CONF="$WORK/dovecot-idle.conf" \
        scripts/dovecot.sh start "$WORK/dovecot-idle" "$DOVECOT_IDLE_PORT"

    local quick=()
    ((QUICK)) && quick=(--quick)
    "$BENCH" seed --home "$WORK/dovecot/home" "${quick[@]}"
    chown -R imapgate-mail:imapgate-mail "$WORK/dovecot/home" "$WORK/dovecot-idle/home"
}

start_nginx() {
    python3 scripts/bench_auth.py "$AUTH_PORT" "$DOVECOT_PORT" "$DOVECOT_IDLE_PORT" &
    PIDS+=($!)
    wait_for_port "$AUTH_PORT" "the auth_http service"

    mkdir -p "$WORK/nginx"
    cat >"$WORK/nginx/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_mail_module.so;
worker_processes auto;
worker_rlimit_nofile 20000;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events {
    worker_connections 20000;
}
mail {
    auth_http 127.0.0.1:$AUTH_PORT/auth;
    proxy_pass_error_message on;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        protocol imap;
    }
    server {
        listen 127.0.0.1:$NGINX_IDLE_PORT;
        protocol imap;
    }
}
CONF
    nginx -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
    wait_for_port "$NGINX_PORT" nginx
}

# start_gate NAME PORT UPSTREAM_PORT RULES(0|1): starts imapgate, sets GATE_PID.
start_gate() {
    local name="$1" port="$2" upstream="$3" rules="$4" config="$WORK/$1.toml"
    {
        if ((rules)); then echo 'filters = ["mailbox"]'; else echo 'filters = []'; fi
        printf '\n[[listen]]\naddress = "127.0.0.1:%s"\n\n[upstream]\naddress = "127.0.0.1:%s"\n\n' "$port" "$upstream"
        # Every benchmark session comes from 127.0.0.1, so the per-address
        # limits are raised to the machine's file-descriptor budget.
        printf '[limits]\nmax_sessions = 20000\nmax_sessions_per_address = 20000\nmax_login_failures = 1000000\n\n'
        if ((rules)); then "$BENCH" rules; fi
    } >"$config"
    "$GATE" check --config "$config" >/dev/null
    "$GATE" run --config "$config" 2>"$WORK/$name.log" &
    GATE_PID=$!
    PIDS+=("$GATE_PID")
    wait_for_port "$port" "imapgate ($name)"
}

# The targets of the throughput scenarios: label, port, mailbox names.
readonly LABELS=(direct nginx gate-plain gate-rules)
declare -A PORT_OF=([direct]=$DOVECOT_PORT [nginx]=$NGINX_PORT [gate-plain]=$PLAIN_PORT [gate-rules]=$RULES_PORT)
declare -A NAMES_OF=([direct]=server [nginx]=server [gate-plain]=server [gate-rules]=client)

run_bench() {
    local label="$1"
    shift
    "$BENCH" run --label "$label" --address "127.0.0.1:${PORT_OF[$label]}" "$@" >>"$RESULTS"
}

# A full mbsync pull of the 25-folder account into an empty Maildir.
run_mbsync() {
    local label="$1" dir="$WORK/mbsync/$1"
    rm -rf "$dir"
    mkdir -p "$dir/mail"
    cat >"$dir/mbsyncrc" <<CONF
IMAPAccount bench
Host 127.0.0.1
Port ${PORT_OF[$label]}
User sync
Pass secret
SSLType None
AuthMechs LOGIN

# imapgate's mailbox filter passes the server's NAMESPACE response
# (prefix "INBOX.", delimiter ".") unchanged, which does not fit the names
# its rules show, so mbsync is set to ignore the namespace and, through
# the rules, that the delimiter is "/".
IMAPStore remote
Account bench
UseNamespace no
$([[ "$label" == gate-rules ]] && echo "PathDelimiter /")

MaildirStore local
Path $dir/mail/
Inbox $dir/mail/INBOX
SubFolders Verbatim

Channel pull
Far :remote:
Near :local:
Patterns *
Create Near
Sync Pull
SyncState *
CONF
    local start end
    start=$(date +%s%N)
    mbsync -c "$dir/mbsyncrc" -a -q >"$dir/output" 2>&1 || { cat "$dir/output" >&2; die "mbsync through $label failed"; }
    end=$(date +%s%N)
    local messages
    messages=$(find "$dir/mail" -type f \( -path '*/cur/*' -o -path '*/new/*' \) | wc -l)
    printf 'RESULT\t%s\tmbsync\ts/pull\t%s\n' "$label" "$(awk -v start="$start" -v end="$end" 'BEGIN { printf "%.4f", (end - start) / 1e9 }')" >>"$RESULTS"
    printf 'RESULT\t%s\tmbsync\tmessages\t%s\n' "$label" "$messages" >>"$RESULTS"
}

# One round: every scenario, each against every target, the target order
# rotated by the round number.
throughput_round() {
    local round="$1" order=() i label
    for i in 0 1 2 3; do
        order+=("${LABELS[$(((i + round) % 4))]}")
    done
    log "round $round of $ROUNDS, order ${order[*]}"
    if selected bulk; then
        for label in "${order[@]}"; do
            run_bench "$label" --user bulk --sessions 8 --seconds "$BULK_SECS" bulk --messages "$BULK_MESSAGES"
        done
    fi
    if selected small; then
        for label in "${order[@]}"; do
            run_bench "$label" --user small --sessions 32 --seconds "$SMALL_SECS" small --names "${NAMES_OF[$label]}"
        done
    fi
    if selected small-serial; then
        for label in "${order[@]}"; do
            run_bench "$label" --user small --sessions 1 --seconds "$SMALL_SECS" --name small-serial \
                small --names "${NAMES_OF[$label]}"
        done
    fi
    if selected big-list; then
        for label in "${order[@]}"; do
            run_bench "$label" --user big --seconds "$LIST_SECS" big-list --expect "$BIG_FOLDERS"
        done
    fi
    if selected login; then
        for label in "${order[@]}"; do
            run_bench "$label" --user small --sessions 16 --seconds "$LOGIN_SECS" login
        done
    fi
    if selected login-serial; then
        for label in "${order[@]}"; do
            run_bench "$label" --user small --sessions 1 --seconds "$LOGIN_SECS" --name login-serial login
        done
    fi
    if selected mbsync; then
        for label in "${order[@]}"; do
            run_mbsync "$label"
        done
    fi
}

# Idle memory: a fresh imapgate per measurement; nginx's workers measured
# in place.
idle_round() {
    local round="$1" count label pids name
    for count in "${IDLE_COUNTS[@]}"; do
        for label in nginx gate-plain gate-rules; do
            name="idle-$count"
            case "$label" in
                nginx)
                    pids=$(pgrep -d, -P "$(cat "$WORK/nginx/nginx.pid")")
                    "$BENCH" run --label nginx --name "$name" --address "127.0.0.1:$NGINX_IDLE_PORT" \
                        --user idle --sessions "$count" --seconds 3 idle --pids "$pids" >>"$RESULTS"
                    ;;
                gate-*)
                    local rules=0 port=$PLAIN_IDLE_PORT
                    [[ "$label" == gate-rules ]] && rules=1 port=$RULES_IDLE_PORT
                    start_gate "$label-idle" "$port" "$DOVECOT_IDLE_PORT" "$rules"
                    "$BENCH" run --label "$label" --name "$name" --address "127.0.0.1:$port" \
                        --user idle --sessions "$count" --seconds 3 idle --pids "$GATE_PID" >>"$RESULTS"
                    kill -TERM "$GATE_PID"
                    wait "$GATE_PID" 2>/dev/null || true
                    ;;
            esac
        done
    done
    log "idle round $round of $IDLE_ROUNDS done"
}

main() {
    ((IDLE_ROUNDS > ROUNDS)) && IDLE_ROUNDS=$ROUNDS
    [[ $EUID -eq 0 ]] || die "must run as root (apt-get, Dovecot)"
    install_packages
    ulimit -n 20000 || die "cannot raise the file-descriptor limit to 20000 (hard limit $(ulimit -Hn))"

    cargo build --release -q -p imapgate -p imapgate-bench

    rm -rf "$WORK"
    mkdir -p "$WORK"
    chmod 0755 "$WORK"
    trap cleanup EXIT
    RESULTS="$WORK/results.txt"
    : >"$RESULTS"

    start_dovecot
    start_nginx
    start_gate gate-plain "$PLAIN_PORT" "$DOVECOT_PORT" 0
    start_gate gate-rules "$RULES_PORT" "$DOVECOT_PORT" 1

    # Warm-up: Dovecot indexes the seeded Maildirs on first access.
    log "warm-up"
    for label in direct gate-rules; do
        "$BENCH" run --label warm-up --address "127.0.0.1:${PORT_OF[$label]}" --user bulk --seconds 1 \
            bulk --messages "$BULK_MESSAGES" >/dev/null
        "$BENCH" run --label warm-up --address "127.0.0.1:${PORT_OF[$label]}" --user big --seconds 0 \
            big-list --expect "$BIG_FOLDERS" >/dev/null
        "$BENCH" run --label warm-up --address "127.0.0.1:${PORT_OF[$label]}" --user small --seconds 1 \
            small --names "${NAMES_OF[$label]}" >/dev/null
    done

    local round
    for ((round = 1; round <= ROUNDS; round++)); do
        throughput_round "$round"
    done
    if selected idle; then
        for ((round = 1; round <= IDLE_ROUNDS; round++)); do
            idle_round "$round"
        done
    fi

    echo
    echo "Medians of $ROUNDS rounds ($IDLE_ROUNDS for idle); d = direct, n = nginx, p = gate-plain."
    "$BENCH" report "$RESULTS"
    log "raw results: $RESULTS"
}

main
