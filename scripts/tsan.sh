#!/usr/bin/env bash
# ThreadSanitizer over the Rust concurrency tests (tests/threads.rs: many
# threads publishing, querying and subscribing on one client, callbacks
# re-entering from the network thread, stop inside a callback, reconnects
# while publishing, concurrent start/stop/free). Needs the nightly
# toolchain (installed here if missing) and mosquitto. Any reported race
# fails the run (halt_on_error).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Without a nightly toolchain (no network to install one) the run is
# skipped with a message; a race found always fails.
if ! rustup run nightly rustc --version >/dev/null 2>&1 &&
    ! rustup toolchain install nightly --profile minimal; then
    echo "ThreadSanitizer: SKIPPED, the nightly toolchain could not be installed" >&2
    exit 0
fi
# -Zbuild-std rebuilds std with the sanitizer, so its atomics and locks are
# seen by TSan too (otherwise every Mutex would look like a race).
if ! rustup component add rust-src --toolchain nightly >/dev/null; then
    echo "ThreadSanitizer: SKIPPED, rust-src for nightly could not be installed" >&2
    exit 0
fi
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Zsanitizer=thread"
export RUSTDOCFLAGS="-Zsanitizer=thread"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
cargo +nightly test -Zbuild-std --target "$host" --target-dir target/tsan \
    --test threads -- --test-threads=1
echo "ThreadSanitizer: no data races in tests/threads.rs"
