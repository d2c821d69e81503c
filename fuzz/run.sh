#!/usr/bin/env bash
# Builds the fuzz targets and runs each for SECONDS (default 60); exits non-zero if any target
# crashes, panics, hangs or runs out of memory. Usage: fuzz/run.sh [SECONDS]
#
# cargo-fuzz needs nightly-only flags (-Zsanitizer=address, sancov); the one toolchain here is
# stable, so RUSTC_BOOTSTRAP=1 lets stable rustc accept them. Installs cargo-fuzz if missing.
set -euo pipefail

SECONDS_EACH="${1:-60}"
TARGETS=(records config queue_file inbound invitation)
FUZZ="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$FUZZ"

export RUSTC_BOOTSTRAP=1
# The fuzz build has its own flags: never share the main crate's target dir.
TARGET_DIR="$FUZZ/target"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

echo "==> building ${TARGETS[*]}"
cargo fuzz build -O --target-dir "$TARGET_DIR"

failed=()
for t in "${TARGETS[@]}"; do
    # New inputs go to work/ (gitignored); the curated corpus and the regressions are read only.
    mkdir -p "work/$t"
    seeds=("corpus/$t")
    [ -d "regressions/$t" ] && seeds+=("regressions/$t")
    # The invitation target also starts from the calendars the tests use (a public corpus).
    [ "$t" = invitation ] && seeds+=("../tests/it/fixtures/ics" "../tests/it/fixtures/ics/icalendar-py")
    echo "==> fuzzing $t for ${SECONDS_EACH}s"
    if ! cargo fuzz run -O --target-dir "$TARGET_DIR" "$t" "work/$t" "${seeds[@]}" -- \
        -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1; then
        failed+=("$t")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "==> FAILED: ${failed[*]}; inputs in $FUZZ/artifacts/<target>/ (see fuzz/README.md)" >&2
    exit 1
fi
echo "==> no crash in ${TARGETS[*]} (${SECONDS_EACH}s each)"
