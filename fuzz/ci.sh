#!/usr/bin/env bash
# CI's fuzz step: the harnesses keep building, and each keeps running clean.
#
#   fuzz/ci.sh [SECONDS_PER_TARGET]   (default 8)
#
# Installs nightly Rust and cargo-fuzz if missing, builds every target
# unoptimised (--dev: a third of the optimised build's time; debug
# assertions and overflow checks on, as in every fuzz build), and runs each
# for a bounded time from its committed corpus (fuzz/corpus/<target>, read
# only: new inputs go to a scratch directory). Any crash, failed assertion,
# timeout or out-of-memory fails the step; its input is left in
# fuzz/artifacts/<target>/ for the log to name.
set -euo pipefail

cd "$(dirname "$0")"
FUZZ_DIR=$(pwd)
SECONDS_PER_TARGET=${1:-8}
CARGO_FUZZ_VERSION=0.13.2

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

flags=(--dev -s none -a --target-dir target/ci)
cargo +nightly fuzz build "${flags[@]}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in $(cargo +nightly fuzz list); do
    mkdir -p "$scratch/$target" "artifacts/$target"
    echo "== $target (${SECONDS_PER_TARGET}s)"
    if ! cargo +nightly fuzz run "${flags[@]}" "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$FUZZ_DIR/artifacts/$target/" >"$scratch/$target.log" 2>&1; then
        tail -n 40 "$scratch/$target.log"
        failed+=("$target")
    else
        grep -E '^(#[0-9]+[[:space:]]+DONE|Done )' "$scratch/$target.log" || true
    fi
done
targets=$(cargo +nightly fuzz list | wc -l)
# One line in the form tests/run.sh adds up.
echo "fuzz tests: $((targets - ${#failed[@]})) passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz targets failed: ${failed[*]}" >&2
    exit 1
fi
