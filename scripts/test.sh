#!/usr/bin/env bash
# Run the project's tests: install missing system packages, then run every
# test in the workspace. Exits with cargo's exit status.
# Integration tests start Dovecot, which needs root.
set -euo pipefail

cd "$(dirname "$0")/.."

scripts/install-deps.sh

cargo_args=(test --workspace)
if [[ -f Cargo.lock ]]; then
    cargo_args+=(--locked)
fi

# Keep cargo's output and print a summary of every test binary at the end.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo "${cargo_args[@]}" 2>&1 | tee "$log" || status=$?

echo
echo "=== test summary ==="
grep -E '^(     Running|   Doc-tests|test result:)' "$log" || true
exit "$status"
