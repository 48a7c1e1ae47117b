#!/usr/bin/env bash
# The single command that builds and tests everything (what CI runs).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { echo "==> $*"; }

step "install dependencies"
bash scripts/install-deps.sh

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

# --all-targets skips doctests, so run those first (separately).
step "cargo test --doc"
cargo test --doc

step "cargo test --all-targets"
cargo test --all-targets

# The client features a firmware may choose (hosts have them all).
FIRMWARE_FEATURES="reconnect,tables,subscriptions,log-events,ack-events,persistence,lock-hooks,connect-start,offline-queue,drop-unacked"
for target in thumbv7em-none-eabihf riscv32imc-unknown-none-elf riscv32imac-unknown-none-elf; do
    # A no_std staticlib needs a panic handler: the firmware's abort hook.
    step "cargo build --lib --release --no-default-features --features panic-handler --target $target"
    cargo build --lib --release --no-default-features --features panic-handler --target "$target"
    step "cargo build --lib --release --no-default-features --features panic-handler,paho --target $target"
    cargo build --lib --release --no-default-features --features panic-handler,paho --target "$target"
    step "cargo build --lib --release --no-default-features --features panic-handler,$FIRMWARE_FEATURES --target $target"
    cargo build --lib --release --no-default-features --features "panic-handler,$FIRMWARE_FEATURES" --target "$target"
done
# The MQTT 5 codec in a firmware build (feature mqtt5; hosts have it with std).
step "cargo build --lib --release --no-default-features --features panic-handler,mqtt5 --target thumbv7em-none-eabihf"
cargo build --lib --release --no-default-features --features panic-handler,mqtt5 --target thumbv7em-none-eabihf

# The firmware C API (src/ffi/firmware.rs) is compiled only without std:
# minimal and with every client feature.
step "cargo clippy --lib --no-default-features --features panic-handler --target thumbv7em-none-eabihf -- -D warnings"
cargo clippy --lib --no-default-features --features panic-handler --target thumbv7em-none-eabihf -- -D warnings
step "cargo clippy --lib --no-default-features --features panic-handler,$FIRMWARE_FEATURES --target thumbv7em-none-eabihf -- -D warnings"
cargo clippy --lib --no-default-features --features "panic-handler,$FIRMWARE_FEATURES" --target thumbv7em-none-eabihf -- -D warnings
step "cargo clippy --lib --no-default-features --features panic-handler,mqtt5 --target thumbv7em-none-eabihf -- -D warnings"
cargo clippy --lib --no-default-features --features panic-handler,mqtt5 --target thumbv7em-none-eabihf -- -D warnings
# Every firmware feature but one (with websocket too): each such set must
# build (the storage size checks in src/ffi/firmware.rs depend on which
# are on; one left out of their list once broke every firmware without
# ack-events).
ALL_FIRMWARE="$FIRMWARE_FEATURES,websocket"
for feature in ${ALL_FIRMWARE//,/ }; do
    others="$(tr ',' '\n' <<<"$ALL_FIRMWARE" | grep -vx "$feature" | paste -sd, -)"
    step "cargo check --lib --no-default-features --features panic-handler,$others --target thumbv7em-none-eabihf"
    cargo check --lib --no-default-features --features "panic-handler,$others" --target thumbv7em-none-eabihf
done
# And all of them, without and with mqtt5 (its storage size is checked too).
for extra in "" ",mqtt5"; do
    step "cargo check --lib --no-default-features --features panic-handler,$ALL_FIRMWARE$extra --target thumbv7em-none-eabihf"
    cargo check --lib --no-default-features --features "panic-handler,$ALL_FIRMWARE$extra" --target thumbv7em-none-eabihf
done
# borrowed-callbacks changes what the client keeps: alone (as the minimal
# firmware measured with it) and with every feature.
step "cargo clippy --lib --no-default-features --features panic-handler,borrowed-callbacks --target thumbv7em-none-eabihf -- -D warnings"
cargo clippy --lib --no-default-features --features panic-handler,borrowed-callbacks --target thumbv7em-none-eabihf -- -D warnings
step "cargo clippy --lib --no-default-features --features panic-handler,$FIRMWARE_FEATURES,mqtt5,borrowed-callbacks --target thumbv7em-none-eabihf -- -D warnings"
cargo clippy --lib --no-default-features --features "panic-handler,$FIRMWARE_FEATURES,mqtt5,borrowed-callbacks" --target thumbv7em-none-eabihf -- -D warnings

step "cargo clippy --all-targets --features paho -- -D warnings"
cargo clippy --all-targets --features paho -- -D warnings
# And in a firmware build, where `c_char` is `u8`, not `i8` as on x86.
step "cargo clippy --lib --no-default-features --features panic-handler,paho --target thumbv7em-none-eabihf -- -D warnings"
cargo clippy --lib --no-default-features --features panic-handler,paho --target thumbv7em-none-eabihf -- -D warnings

# Hosts without TLS (CMake EMBERMQ_TLS=OFF).
step "cargo clippy --all-targets --no-default-features --features std -- -D warnings"
cargo clippy --all-targets --no-default-features --features std -- -D warnings

step "cargo test --lib --features paho paho::"
cargo test --lib --features paho paho::

step "scripts/check-paho-firmware.sh (Cortex-M4 layout, compile and link)"
bash scripts/check-paho-firmware.sh

step "scripts/run-baremetal.sh (firmware in QEMU: Cortex-M4, M3, M0 and RISC-V RV32IMC, UART to mosquitto)"
bash scripts/run-baremetal.sh

step "scripts/footprint.sh (embermq's text/data/bss, client struct, stack in that firmware)"
bash scripts/footprint.sh

step "scripts/check-esp-idf-cmake.sh (ESP-IDF component mode, faked)"
bash scripts/check-esp-idf-cmake.sh

if [ -x scripts/check-header.sh ]; then
    step "scripts/check-header.sh"
    scripts/check-header.sh
fi

if [ -x scripts/test-c.sh ]; then
    step "scripts/test-c.sh"
    scripts/test-c.sh
fi

step "scripts/test-lua.sh (NodeMCU, LuatOS, Lua RTOS mqtt modules on Lua 5.1/5.3/5.4)"
bash scripts/test-lua.sh

step "scripts/test-python.sh (Zerynth's lightweight MQTT library over ctypes, and its Paho embedded-C calls)"
bash scripts/test-python.sh

# Seconds: checks that the benchmark suite builds, runs and prints its table.
step "scripts/tsan.sh (ThreadSanitizer over tests/threads.rs)"
bash scripts/tsan.sh

step "scripts/miri.sh (the C entry points under Miri: tests/ffi_miri.rs)"
bash scripts/miri.sh

step "scripts/fuzz-smoke.sh (every fuzz target for 10 s)"
bash scripts/fuzz-smoke.sh

step "scripts/bench.sh --smoke"
bash scripts/bench.sh --smoke

step "all checks passed"
