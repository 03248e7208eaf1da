#!/usr/bin/env bash
# Runs Hush's fuzz targets with cargo-fuzz (libFuzzer), one at a time.
#
#   fuzz/run.sh [--time SECONDS] [--runs N] [--no-cmin] [--no-build] [TARGET...]
#
# Installs nightly Rust (rustup) and cargo-fuzz if they are missing, builds
# every target with debug assertions and overflow checks on, writes the
# seed corpora from the shared test data (fuzz/seeds), and runs each target
# (all by default) for --runs executions or --time seconds, whichever ends
# first (default 10,000,000 and 600), on a working corpus grown from the
# committed one and the seeds (fuzz/corpus-work). Then, unless --no-cmin,
# the working corpus is minimised (cargo fuzz cmin) into fuzz/corpus/,
# which is what is committed. Logs and a summary line per target (runs,
# exec/s, cov, ft, crashes) go to fuzz/logs/; crashes to fuzz/artifacts/.
#
# --no-build runs the binaries (targets and seed writer) built last.
#
# SANITIZER=address (default none: the Rust under test forbids unsafe, and
# without ASan a run does two to three times the executions).
#
# One target runs at a time, on one core: the machine is shared.
set -euo pipefail

cd "$(dirname "$0")"
FUZZ_DIR=$(pwd)

TIME=600
RUNS=10000000
CMIN=1
BUILD=1
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --time) TIME=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --no-cmin) CMIN=0; shift ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done

SANITIZER=${SANITIZER:-none}
CARGO_FUZZ_VERSION=0.13.2

ensure_tools() {
    if ! rustup toolchain list | grep -q '^nightly'; then
        rustup toolchain install nightly --profile minimal
    fi
    if ! cargo fuzz --version >/dev/null 2>&1; then
        cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
    fi
}

# -a: debug assertions and overflow checks (the release profile in
# Cargo.toml turns both on as well).
fuzz_flags=(-s "$SANITIZER" -a)

all_targets() {
    sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^hush-fuzz$'
}

write_seeds() {
    if [ "$BUILD" -eq 1 ]; then
        cargo build --release --quiet --manifest-path seeds/Cargo.toml --target-dir target/seeds
    fi
    rm -rf seed-corpus
    target/seeds/release/hush-fuzz-seeds seed-corpus
}

# Fields of libFuzzer's last status line ("#N DONE cov: C ft: F ... exec/s: E").
summarise() {
    local target=$1 log=$2 status=$3
    local done_line runs cov ft execs crashes
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
    runs=$(grep -oE '^Done [0-9]+ runs' "$log" | tail -1 | grep -oE '[0-9]+' || true)
    cov=$(grep -oE 'cov: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || true)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || true)
    execs=$(grep -oE 'exec/s: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || true)
    crashes=$(find "artifacts/$target" -type f 2>/dev/null | wc -l)
    printf '%s\truns=%s\texec/s=%s\tcov=%s\tft=%s\tartifacts=%s\texit=%s\n' \
        "$target" "${runs:-?}" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$crashes" "$status" \
        | tee -a logs/summary.tsv
}

ensure_tools
if [ "$BUILD" -eq 1 ]; then
    cargo +nightly fuzz build "${fuzz_flags[@]}"
fi
BIN="$FUZZ_DIR/target/x86_64-unknown-linux-gnu/release"
write_seeds
if [ ${#TARGETS[@]} -eq 0 ]; then
    mapfile -t TARGETS < <(all_targets)
fi
mkdir -p logs artifacts corpus
failed=0
for target in "${TARGETS[@]}"; do
    work="corpus-work/$target"
    mkdir -p "$work" "artifacts/$target" "corpus/$target"
    cp -n "corpus/$target/." "$work/" -r 2>/dev/null || true
    cp -n "seed-corpus/$target/." "$work/" -r 2>/dev/null || true
    log="logs/$target.log"
    echo "== $target: -runs=$RUNS -max_total_time=$TIME (sanitizer $SANITIZER)"
    status=0
    # The binary itself, as cargo fuzz run would start it: the build above
    # is the one measured, whatever changes in the tree meanwhile.
    "$BIN/$target" "$work" \
        -runs="$RUNS" -max_total_time="$TIME" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$FUZZ_DIR/artifacts/$target/" >"$log" 2>&1 || status=$?
    summarise "$target" "$log" "$status"
    [ "$status" -eq 0 ] || failed=1
    if [ "$CMIN" -eq 1 ]; then
        # What cargo fuzz cmin does: merge into an empty directory.
        rm -rf "corpus/$target.new"
        mkdir -p "corpus/$target.new"
        "$BIN/$target" -merge=1 "corpus/$target.new" "$work" >"logs/$target.cmin.log" 2>&1
        rm -rf "corpus/$target"
        mv "corpus/$target.new" "corpus/$target"
    fi
done
exit "$failed"
