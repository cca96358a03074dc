#!/usr/bin/env bash
# Start or stop a throwaway Dovecot IMAP server on 127.0.0.1 for tests and
# the demo. Everything the instance writes stays under DIR.
#
#   scripts/dovecot.sh start DIR PORT
#   scripts/dovecot.sh stop DIR
#
# Users come from IMAPGATE_TEST_USERS ("user:pass user2:pass2"), default
# "alice:secret bob:secret". Their mail is stored as the system user
# imapgate-mail (created when missing), in Maildir under DIR/home/<user>.
# Optional: IMAPGATE_DOVECOT_TLS_CERT and IMAPGATE_DOVECOT_TLS_KEY (PEM
# files) turn on TLS (STARTTLS on PORT, implicit TLS on
# IMAPGATE_DOVECOT_IMAPS_PORT); IMAPGATE_DOVECOT_HAPROXY_PORT adds a
# listener that expects a PROXY protocol header from 127.0.0.0/8;
# IMAPGATE_DOVECOT_TRUST_LOOPBACK=1 trusts ID fields from 127.0.0.0/8.
# Set IMAPGATE_DOVECOT_VERBOSE=1 to log authentication details and show
# user and command in process titles. Set IMAPGATE_DOVECOT_EXTRA_CONF to a
# file of further settings; it is included last, so its settings override
# the ones written here (the benchmark raises process limits this way).
# Needs root: the Dovecot master must start as root to switch users.
set -euo pipefail

readonly MAIL_USER=imapgate-mail
readonly START_TIMEOUT_SECS=10
readonly STOP_TIMEOUT_SECS=10

die() {
    echo "dovecot.sh: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
}

# Print the last lines of the instance log, if it has one.
show_log_tail() {
    local log="$1/dovecot.log"
    if [[ -s "$log" ]]; then
        echo "--- last lines of $log ---" >&2
        tail -n 20 "$log" >&2
    fi
}

master_pid() {
    local pid_file="$1/run/master.pid"
    [[ -r "$pid_file" ]] && cat "$pid_file"
}

is_running() {
    local pid
    pid=$(master_pid "$1") || return 1
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

ensure_mail_user() {
    if ! id -u "$MAIL_USER" >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home \
            --home-dir /nonexistent --shell /usr/sbin/nologin "$MAIL_USER" \
            || die "failed to create system user $MAIL_USER"
    fi
}

# Fail early when a Dovecot process user cannot reach DIR, for example
# because DIR lies under a mode 0700 home directory such as /root.
check_reachable() {
    local dir="$1" user
    for user in dovecot "$MAIL_USER"; do
        if ! runuser -u "$user" -- test -x "$dir"; then
            die "user $user cannot search $dir; choose a directory whose" \
                "parents are world-searchable, for example under /tmp or /var/lib"
        fi
    done
}

write_passwd() {
    local dir="$1" users="${IMAPGATE_TEST_USERS:-alice:secret bob:secret}"
    local entry name pass
    : >"$dir/passwd"
    for entry in $users; do
        name=${entry%%:*}
        pass=${entry#*:}
        [[ -n "$name" && "$entry" == *:* ]] \
            || die "invalid entry '$entry' in IMAPGATE_TEST_USERS, expected user:password"
        printf '%s:{PLAIN}%s::::%s/home/%s::\n' "$name" "$pass" "$dir" "$name" >>"$dir/passwd"
        install -d -m 0700 -o "$MAIL_USER" -g "$MAIL_USER" "$dir/home/$name"
    done
    chown root:dovecot "$dir/passwd"
    chmod 0640 "$dir/passwd"
}

write_config() {
    local dir="$1" port="$2" verbose=no
    [[ "${IMAPGATE_DOVECOT_VERBOSE:-0}" == 1 ]] && verbose=yes
    local ssl=no imaps_port=0 extra=""
    if [[ -n "${IMAPGATE_DOVECOT_TLS_CERT:-}" ]]; then
        ssl=yes
        imaps_port="${IMAPGATE_DOVECOT_IMAPS_PORT:-0}"
        extra+="ssl_cert = <${IMAPGATE_DOVECOT_TLS_CERT}"$'\n'
        extra+="ssl_key = <${IMAPGATE_DOVECOT_TLS_KEY:?IMAPGATE_DOVECOT_TLS_KEY must name the key of IMAPGATE_DOVECOT_TLS_CERT}"$'\n'
    fi
    # Trusted clients may send ID fields with the original client address.
    if [[ "${IMAPGATE_DOVECOT_TRUST_LOOPBACK:-0}" == 1 ]]; then
        extra+="login_trusted_networks = 127.0.0.0/8"$'\n'
    fi
    local haproxy_listener=""
    if [[ -n "${IMAPGATE_DOVECOT_HAPROXY_PORT:-}" ]]; then
        extra+="haproxy_trusted_networks = 127.0.0.0/8"$'\n'
        haproxy_listener="  inet_listener imap_haproxy {
    port = ${IMAPGATE_DOVECOT_HAPROXY_PORT}
    haproxy = yes
  }"
    fi
    cat >"$dir/dovecot.conf" <<CONF
# Written by scripts/dovecot.sh; rewritten on every start.
protocols = imap
listen = 127.0.0.1
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
ssl = $ssl
$extra
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = $verbose
verbose_proctitle = $verbose

default_internal_user = dovecot
default_login_user = dovenull
mail_uid = $MAIL_USER
mail_gid = $MAIL_USER
first_valid_uid = $(id -u "$MAIL_USER")
last_valid_uid = 0
mail_location = maildir:~/Maildir
# A proxy in front of this server connects from 127.0.0.1 for every client.
mail_max_userip_connections = 1000

namespace inbox {
  inbox = yes
  separator = .
  prefix = INBOX.
}

# ACL (RFC 4314) and METADATA (RFC 5464) for the tests of mapped names in
# those commands. Without ACL files the owner has every right.
mail_plugins = \$mail_plugins acl
mail_attribute_dict = file:%h/dovecot-attributes
protocol imap {
  mail_plugins = \$mail_plugins imap_acl
  imap_metadata = yes
}
plugin {
  acl = vfile
}

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $dir/passwd
}

service imap-login {
  inet_listener imap {
    port = $port
  }
  inet_listener imaps {
    port = $imaps_port
  }
$haproxy_listener
}
CONF
    if [[ -n "${IMAPGATE_DOVECOT_EXTRA_CONF:-}" ]]; then
        [[ -r "$IMAPGATE_DOVECOT_EXTRA_CONF" ]] \
            || die "IMAPGATE_DOVECOT_EXTRA_CONF names $IMAPGATE_DOVECOT_EXTRA_CONF, which is not a readable file"
        printf '\n!include %s\n' "$(realpath "$IMAPGATE_DOVECOT_EXTRA_CONF")" >>"$dir/dovecot.conf"
    fi
}

# Succeed when the server on PORT sends its ready greeting. Right after
# startup Dovecot may first send "* OK Waiting for authentication process to
# respond.." while its auth process is still starting.
greets_ready() {
    local port="$1" line
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    read -r -t 2 line <&3 || line=
    exec 3<&-
    [[ "$line" == "* OK "* && "$line" != *"Waiting for authentication"* ]]
}

cmd_start() {
    local dir="$1" port="$2"
    [[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) \
        || die "invalid port '$port', expected 1-65535"
    [[ $EUID -eq 0 ]] || die "must run as root to start Dovecot"
    command -v dovecot >/dev/null || die "dovecot not found; run scripts/install-deps.sh"

    if is_running "$dir"; then
        cmd_stop "$dir"
    fi

    # Prepare the instance directory.
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    chmod 0755 "$dir"
    ensure_mail_user
    check_reachable "$dir"
    mkdir -p "$dir/run" "$dir/state"
    write_passwd "$dir"
    write_config "$dir" "$port"
    : >"$dir/dovecot.log"

    # The master forks into the background and writes run/master.pid. It
    # keeps its standard streams open, so they must not be the caller's
    # pipes: a caller that reads them to the end would wait forever.
    local startup_log="$dir/dovecot-startup.log"
    if ! dovecot -c "$dir/dovecot.conf" </dev/null >"$startup_log" 2>&1; then
        cat "$startup_log" >&2
        show_log_tail "$dir"
        die "dovecot failed to start with $dir/dovecot.conf"
    fi

    # Wait until the IMAP port accepts connections and greets.
    local deadline=$((SECONDS + START_TIMEOUT_SECS))
    until greets_ready "$port" 2>/dev/null; do
        if ! is_running "$dir"; then
            show_log_tail "$dir"
            die "dovecot exited during startup (config $dir/dovecot.conf)"
        fi
        if ((SECONDS >= deadline)); then
            show_log_tail "$dir"
            die "dovecot did not send a ready greeting on 127.0.0.1:$port within ${START_TIMEOUT_SECS}s"
        fi
        sleep 0.05
    done
}

cmd_stop() {
    local dir="$1" pid
    pid=$(master_pid "$dir") || return 0
    [[ -n "$pid" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0

    local deadline=$((SECONDS + STOP_TIMEOUT_SECS))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            show_log_tail "$dir"
            die "dovecot master (pid $pid) did not exit within ${STOP_TIMEOUT_SECS}s"
        fi
        sleep 0.05
    done
}

main() {
    case "${1:-}" in
        start)
            [[ $# -eq 3 ]] || usage
            cmd_start "$2" "$3"
            ;;
        stop)
            [[ $# -eq 2 ]] || usage
            cmd_stop "$2"
            ;;
        *) usage ;;
    esac
}

main "$@"
