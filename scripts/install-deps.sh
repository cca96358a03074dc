#!/usr/bin/env bash
# Install the system packages that the tests and the demo need on Debian 12:
# Dovecot (IMAP server the tests run against), isync (mbsync, an IMAP client
# used by tests) and python3 (the demo's IMAP session). Installs only what is
# missing and prints nothing when everything is present. Rust (cargo) must
# already be installed.
set -euo pipefail

readonly PACKAGES=(dovecot-core dovecot-imapd isync python3)

is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

main() {
    local missing=() package
    for package in "${PACKAGES[@]}"; do
        is_installed "$package" || missing+=("$package")
    done

    if ((${#missing[@]} > 0)); then
        if [[ $EUID -ne 0 ]]; then
            echo "install-deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
            exit 1
        fi
        echo "install-deps.sh: installing ${missing[*]}" >&2
        # The Dovecot package tries to start its system service, which fails
        # without systemd. That failure does not affect the tests, so the
        # exit status of apt-get is checked through dpkg-query below instead.
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || true
        for package in "${missing[@]}"; do
            is_installed "$package" || { echo "install-deps.sh: failed to install $package" >&2; exit 1; }
        done
    fi

    if ! command -v cargo >/dev/null; then
        echo "install-deps.sh: cargo not found; install Rust from https://rustup.rs" >&2
        exit 1
    fi
}

main "$@"
