#!/usr/bin/env bash
# Miri over the firmware C API (tests/ffi_miri.rs): every extern "C" entry
# point called as C calls it (raw pointers into caller storage, C strings,
# callbacks that re-enter, NULL and bad lengths) against an in-memory
# broker. The tests run natively first (a quick failure), then under Miri
# with Stacked Borrows and with Tree Borrows: any undefined behaviour fails
# the run. Needs the nightly toolchain's miri component (installed here if
# missing; skipped with a message when that is impossible). Extra Miri
# flags may come in MIRIFLAGS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FEATURES="reconnect,tables,subscriptions,log-events,ack-events,persistence,lock-hooks,connect-start,offline-queue,drop-unacked"
args=(--target-dir target/miri --no-default-features --features "$FEATURES" --test ffi_miri)

# The library as an rlib only: a no_std staticlib cannot link in a test
# build (scripts/rlib-only-rustc.sh says why). Miri builds no staticlib.
RUSTC_WRAPPER="$PWD/scripts/rlib-only-rustc.sh" cargo test "${args[@]}"
# Natively, a build without offline-queue and drop-unacked: their options
# and on_dropped are refused (the one test about that).
WITHOUT="${FEATURES//,offline-queue/}"
WITHOUT="${WITHOUT//,drop-unacked/}"
RUSTC_WRAPPER="$PWD/scripts/rlib-only-rustc.sh" cargo test --target-dir target/miri \
    --no-default-features --features "$WITHOUT" --test ffi_miri a_build_leaves_out

if ! rustup run nightly rustc --version >/dev/null 2>&1 &&
    ! rustup toolchain install nightly --profile minimal </dev/null; then
    echo "Miri: SKIPPED, the nightly toolchain could not be installed" >&2
    exit 0
fi
if ! rustup component add miri rust-src --toolchain nightly </dev/null >/dev/null; then
    echo "Miri: SKIPPED, miri for nightly could not be installed" >&2
    exit 0
fi
cargo +nightly miri setup </dev/null
# No isolation needed: the tests read no files and their clock is simulated.
base_flags=${MIRIFLAGS:-}
MIRIFLAGS="$base_flags" cargo +nightly miri test "${args[@]}"
MIRIFLAGS="$base_flags -Zmiri-tree-borrows" cargo +nightly miri test "${args[@]}"
echo "Miri: no undefined behaviour in tests/ffi_miri.rs (Stacked and Tree Borrows)"
