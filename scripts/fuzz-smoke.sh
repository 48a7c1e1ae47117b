#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for a few seconds from its
# seed corpus (fuzz/corpus/TARGET): a crash, leak, timeout or failed
# invariant fails the run, with the input in fuzz/artifacts/TARGET/.
#
#   scripts/fuzz-smoke.sh [SECONDS [TARGET...]]
#
# SECONDS per target (default 10); TARGETs default to all. The long run of
# the C API target is `EMQ_FUZZ_SEED=random scripts/fuzz-smoke.sh 1800 c_api`. New inputs go to
# target/fuzz-corpus/TARGET, not into the seeds. Needs the nightly
# toolchain and cargo-fuzz (installed here if missing; skipped with a
# message when that is impossible).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-10}
shift || true
if (($#)); then
    targets=("$@")
else
    targets=()
    for file in fuzz/fuzz_targets/*.rs; do
        targets+=("$(basename "$file" .rs)")
    done
fi

if ! rustup run nightly rustc --version >/dev/null 2>&1 &&
    ! rustup toolchain install nightly --profile minimal </dev/null; then
    echo "fuzz smoke: SKIPPED, the nightly toolchain could not be installed" >&2
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1 &&
    ! cargo install cargo-fuzz --locked </dev/null; then
    echo "fuzz smoke: SKIPPED, cargo-fuzz could not be installed" >&2
    exit 0
fi

# c_api needs the no_std library as an rlib (see scripts/rlib-only-rustc.sh);
# the wrapper passes every other build through, so all targets share it.
export RUSTC_WRAPPER="$PWD/scripts/rlib-only-rustc.sh"
for target in "${targets[@]}"; do
    features=()
    if [[ $target == c_api ]]; then
        features=(--no-default-features --features firmware)
    fi
    corpus="target/fuzz-corpus/$target"
    mkdir -p "$corpus"
    echo "==> fuzz $target for ${seconds}s"
    # A fixed seed (EMQ_FUZZ_SEED; "random" for a fresh one each run): the
    # CI smoke run repeats what was run here, so it fails on a change, not
    # on luck; long runs explore with fresh seeds.
    seed=()
    if [[ ${EMQ_FUZZ_SEED:-1} != random ]]; then
        seed=(-seed="${EMQ_FUZZ_SEED:-1}")
    fi
    cargo +nightly fuzz run "${features[@]}" "$target" "$corpus" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=30 "${seed[@]}" </dev/null
done
echo "fuzz smoke: no crash in ${targets[*]} (${seconds}s each)"
