#!/usr/bin/env bash
# Every check the project has: clippy with warnings denied, then every test of the
# workspace (with cargo-nextest when installed). The end-to-end test also runs against
# PostgreSQL (IMZO_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres);
# scripts/ensure-postgres.sh starts (or installs) it and OpenSSL first.
set -euo pipefail
cd "$(dirname "$0")/.."
# Build outside the clone so fresh clones (CI) reuse one cache.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/imzo-target}

scripts/ensure-postgres.sh
scripts/ensure-browser.sh
# SoftHSM2 for the PKCS#11 tests; under CI a missing one fails here and in the tests.
scripts/ensure-softhsm.sh >/dev/null
if [ -n "${CI:-}" ]; then export IMZO_REQUIRE_SOFTHSM=1; fi
# Under CI a missing browser is a failure, not a skip.
if [ -n "${CI:-}" ]; then export IMZO_REQUIRE_BROWSER=1; fi

cargo clippy --workspace --all-targets -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
    # nextest does not run doctests; run them first so its summary is the last word.
    cargo test --workspace --doc
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace
fi
