#!/usr/bin/env bash
# Coverage-guided fuzzing on stable Rust, without cargo-fuzz: builds a target the way
# `cargo fuzz build -s none` does (SanitizerCoverage passes, --cfg fuzzing, a --target
# so build scripts stay uninstrumented) and runs libFuzzer on it, seeded from
# corpus/<target>/. New inputs go to target/fuzz-corpus/<target>/, crashes to
# artifacts/<target>/.
#
#   fuzz/run.sh TARGET [SECONDS] [libFuzzer options...]     (default 300 s)
#   fuzz/run.sh all [SECONDS]                                 every target in turn
#
# With cargo-fuzz installed, `cargo fuzz run TARGET -s none` is the same thing.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: run.sh TARGET|all [SECONDS] [libFuzzer options...]}
seconds=${2:-300}
shift $(( $# >= 2 ? 2 : 1 ))
triple=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR=${IMZO_FUZZ_TARGET_DIR:-$PWD/target}
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"

if [ "$target" = all ]; then
    targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^imzo-pki-fuzz$')
else
    targets=$target
fi
cargo build --release --target "$triple" $(for t in $targets; do echo --bin "$t"; done)
for t in $targets; do
    work=$CARGO_TARGET_DIR/fuzz-corpus/$t
    mkdir -p "$work" "artifacts/$t"
    echo "== $t: $seconds s" >&2
    "$CARGO_TARGET_DIR/$triple/release/$t" "$work" "corpus/$t" \
        -artifact_prefix="artifacts/$t/" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 "$@"
done
