#!/usr/bin/env bash
# Builds the bare-metal example (c_examples/baremetal: Cortex-M4 firmware for
# QEMU mps2-an386, linked with the thumbv7em-none-eabihf staticlib) and runs
# it under qemu-system-arm with UART0 connected straight to a private
# mosquitto on 127.0.0.1: the emulated MCU's UART stream is its MQTT
# connection. The firmware connects, subscribes, publishes at QoS 0/1/2,
# receives its own messages and reports over semihosting; its exit code is
# this script's.
#
#   scripts/run-baremetal.sh [build dir]     (default: build/baremetal)
#
# Everything is bounded in time; only the processes started here are
# stopped, by PID.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BUILD="${1:-$ROOT/build/baremetal}"
QEMU_TIMEOUT=60

# Second stage, run by scripts/with-broker.sh with its private mosquitto
# (127.0.0.1, own config): QEMU against EMQ_TEST_PORT.
if [ "${1:-}" = "--qemu" ]; then
    ELF="$2"
    OUT="$3"
    echo "==> qemu-system-arm -M mps2-an386, UART0 -> mosquitto on $EMQ_TEST_HOST:$EMQ_TEST_PORT"
    QEMU_PID=""
    trap '[ -z "$QEMU_PID" ] || kill -9 "$QEMU_PID" 2>/dev/null || true' EXIT
    # -serial tcp:HOST:PORT (no ,server) makes QEMU connect to the broker as
    # a TCP client; semihosting carries the report and the exit code.
    set +e
    timeout --kill-after=5 "$QEMU_TIMEOUT" qemu-system-arm -M mps2-an386 -nographic -monitor none \
        -semihosting-config enable=on,target=native \
        -serial "tcp:$EMQ_TEST_HOST:$EMQ_TEST_PORT" \
        -kernel "$ELF" >"$OUT" 2>&1 &
    QEMU_PID=$!
    wait "$QEMU_PID"
    status=$?
    QEMU_PID=""
    set -e
    cat "$OUT"
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo "run-baremetal: QEMU did not finish within ${QEMU_TIMEOUT}s" >&2
    fi
    if [ "$status" -ne 0 ]; then
        echo "run-baremetal: FAILED (exit $status); broker log:" >&2
        tail -n 30 "$EMQ_TEST_BROKER_DIR/mosquitto.log" >&2 || true
        exit 1
    fi
    grep -q "^PASS$" "$OUT" || { echo "run-baremetal: no PASS line" >&2; exit 1; }
    # The broker saw the emulated MCU's MQTT session.
    grep -q "New client connected .* as embermq-qemu-mps2-an386" "$EMQ_TEST_BROKER_DIR/mosquitto.log" \
        || { echo "run-baremetal: the broker log shows no connection from the firmware" >&2; exit 1; }
    exit 0
fi

for tool in arm-none-eabi-gcc qemu-system-arm cmake; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "run-baremetal: $tool not found; run scripts/install-deps.sh" >&2
        exit 1
    }
done

echo "==> build c_examples/baremetal ($BUILD)"
cmake -S c_examples/baremetal -B "$BUILD" \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-arm-none-eabi.cmake" \
    -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DEMBERMQ_CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}" >/dev/null
cmake --build "$BUILD"

bash scripts/with-broker.sh bash "$0" --qemu "$BUILD/embermq-qemu.elf" "$BUILD/qemu.out"
echo "run-baremetal: PASS"
