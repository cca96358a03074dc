#!/usr/bin/env bash
# Demo of imapgate on one machine: a Dovecot IMAP server with sample mail on
# 127.0.0.1:10143 and imapgate in front of it on 127.0.0.1:1143, configured
# by examples/demo.toml. Both keep running until "scripts/demo.sh stop".
#
#   scripts/demo.sh [start]   install, build, (re)start both, show the result
#   scripts/demo.sh stop      stop both
#
# State (logs, pid files, the Dovecot instance) lives in IMAPGATE_DEMO_DIR,
# default ${XDG_STATE_HOME:-$HOME/.local/state}/imapgate-demo. When port
# 10143 or 1143 is taken, set IMAPGATE_DEMO_SERVER_PORT or
# IMAPGATE_DEMO_PROXY_PORT; the demo then runs imapgate with a copy of
# examples/demo.toml that uses those ports. Needs root, because Dovecot must
# start as root.
set -euo pipefail

cd "$(dirname "$0")/.."
readonly REPO=$PWD
readonly EXAMPLE_CONFIG=examples/demo.toml
readonly BINARY=target/release/imapgate
readonly SERVER_PORT=${IMAPGATE_DEMO_SERVER_PORT:-10143}
readonly PROXY_PORT=${IMAPGATE_DEMO_PROXY_PORT:-1143}
readonly USER_NAME=alice
readonly USER_PASSWORD=secret
readonly STATE_DIR=${IMAPGATE_DEMO_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/imapgate-demo}
# Used when Dovecot's system users cannot reach STATE_DIR (as under /root).
readonly FALLBACK_DOVECOT_DIR=/var/lib/imapgate-demo/dovecot
readonly STARTUP_TIMEOUT_SECS=10

die() {
    echo "demo.sh: $*" >&2
    exit 1
}

step() {
    echo "==> $*"
}

port_accepts() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The Dovecot instance directory chosen by the last start, if any.
recorded_dovecot_dir() {
    [[ -r "$STATE_DIR/dovecot-dir" ]] && cat "$STATE_DIR/dovecot-dir"
}

choose_dovecot_dir() {
    if runuser -u nobody -- test -x "$STATE_DIR"; then
        echo "$STATE_DIR/dovecot"
    else
        echo "$FALLBACK_DOVECOT_DIR"
    fi
}

stop_imapgate() {
    local pid_file="$STATE_DIR/imapgate.pid" pid
    [[ -r "$pid_file" ]] || return 0
    pid=$(cat "$pid_file")
    rm -f "$pid_file"

    # Only signal the pid if it still belongs to imapgate.
    if [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q imapgate; then
        kill -TERM "$pid"
        local deadline=$((SECONDS + STARTUP_TIMEOUT_SECS))
        while kill -0 "$pid" 2>/dev/null; do
            ((SECONDS < deadline)) || die "imapgate (pid $pid) did not exit within ${STARTUP_TIMEOUT_SECS}s"
            sleep 0.1
        done
        echo "stopped imapgate (pid $pid)"
    fi
}

stop_dovecot() {
    local dir
    dir=$(recorded_dovecot_dir) || return 0
    if [[ -r "$dir/run/master.pid" ]]; then
        scripts/dovecot.sh stop "$dir"
        echo "stopped Dovecot ($dir)"
    fi
}

cmd_stop() {
    stop_imapgate
    stop_dovecot
}

start_dovecot() {
    local dir="$1"
    step "starting Dovecot on 127.0.0.1:$SERVER_PORT ($dir)"
    # Start from empty mailboxes so that a second run shows the same mail.
    if [[ -d "$dir/home" ]]; then
        rm -rf -- "${dir:?}/home"
    fi
    IMAPGATE_TEST_USERS="$USER_NAME:$USER_PASSWORD" scripts/dovecot.sh start "$dir" "$SERVER_PORT"
    echo "$dir" >"$STATE_DIR/dovecot-dir"

    step "creating folders and messages for $USER_NAME"
    python3 scripts/demo_imap.py seed "$SERVER_PORT" "$USER_NAME" "$USER_PASSWORD"
}

# Print the config file to run imapgate with: the example itself, or a copy
# with the ports changed when they are not the example's.
config_path() {
    if [[ "$SERVER_PORT" == 10143 && "$PROXY_PORT" == 1143 ]]; then
        echo "$EXAMPLE_CONFIG"
        return
    fi
    local copy="$STATE_DIR/imapgate.toml"
    sed -e "s/127\.0\.0\.1:1143\"/127.0.0.1:$PROXY_PORT\"/" \
        -e "s/127\.0\.0\.1:10143\"/127.0.0.1:$SERVER_PORT\"/" \
        "$EXAMPLE_CONFIG" >"$copy"
    echo "$copy"
}

start_imapgate() {
    local log="$STATE_DIR/imapgate.log" config
    config=$(config_path)
    step "checking $config"
    "$BINARY" check --config "$config" || die "imapgate check rejected $config"

    step "starting imapgate on 127.0.0.1:$PROXY_PORT (log: $log)"
    port_accepts "$PROXY_PORT" && die "127.0.0.1:$PROXY_PORT is already in use by another program; set IMAPGATE_DEMO_PROXY_PORT"
    nohup "$BINARY" run --config "$config" >"$log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$STATE_DIR/imapgate.pid"

    local deadline=$((SECONDS + STARTUP_TIMEOUT_SECS))
    until port_accepts "$PROXY_PORT"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$log" >&2 || true
            die "imapgate exited during startup; see $log." \
                "Dovecot keeps running until scripts/demo.sh stop"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 20 "$log" >&2 || true
            die "imapgate did not accept connections on 127.0.0.1:$PROXY_PORT within" \
                "${STARTUP_TIMEOUT_SECS}s; see $log. Stop the demo with scripts/demo.sh stop"
        fi
        sleep 0.1
    done
}

print_usage_hints() {
    cat <<TEXT

Both servers keep running. Point a mail client at imapgate:
  host:     127.0.0.1
  port:     $PROXY_PORT (plain IMAP, no TLS)
  user:     $USER_NAME
  password: $USER_PASSWORD
Dovecot itself is on 127.0.0.1:$SERVER_PORT with the same login.
Logs: $STATE_DIR/imapgate.log and $(recorded_dovecot_dir)/dovecot.log
Stop both with:
  $REPO/scripts/demo.sh stop
TEXT
}

cmd_start() {
    [[ $EUID -eq 0 ]] || die "must run as root, because Dovecot starts as root"

    step "installing missing packages"
    scripts/install-deps.sh

    step "building imapgate (release)"
    cargo build --release -p imapgate

    mkdir -p "$STATE_DIR"
    cmd_stop

    port_accepts "$SERVER_PORT" \
        && die "127.0.0.1:$SERVER_PORT is already in use by another program; set IMAPGATE_DEMO_SERVER_PORT"
    local dovecot_dir
    dovecot_dir=$(choose_dovecot_dir)
    start_dovecot "$dovecot_dir"
    start_imapgate

    step "comparing the server's view with the client's view"
    python3 scripts/demo_imap.py show "$SERVER_PORT" "$PROXY_PORT" "$USER_NAME" "$USER_PASSWORD"
    print_usage_hints
}

case "${1:-start}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    *)
        echo "usage: $0 [start|stop]" >&2
        exit 2
        ;;
esac
