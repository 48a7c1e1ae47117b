#!/usr/bin/env bash
# A rustc wrapper (RUSTC_WORKSPACE_WRAPPER or RUSTC_WRAPPER) that builds
# embermq's no_std library as an rlib only. Cargo builds every crate type
# of [lib] (staticlib, cdylib, rlib) even for a test or a fuzz target, and
# a no_std staticlib or cdylib cannot link without a panic handler; the
# `panic-handler` feature would clash with std's in the test binary. Rust
# tests of the firmware C API (tests/ffi_miri.rs) and the c_api fuzz
# target need only the rlib. Every other rustc call passes through as is.
set -euo pipefail
rustc=$1
shift
if [[ " $* " != *" --crate-name embermq "* || " $* " == *'feature="std"'* ]]; then
    exec "$rustc" "$@"
fi
args=()
while (($#)); do
    if [[ $1 == --crate-type && ($2 == staticlib || $2 == cdylib) ]]; then
        shift 2
        continue
    fi
    args+=("$1")
    shift
done
exec "$rustc" "${args[@]}"
