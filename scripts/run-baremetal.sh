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

for tool in arm-none-eabi-gcc qemu-system-arm cmake; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "run-baremetal: $tool not found; run scripts/install-deps.sh" >&2
        exit 1
    }
done
MOSQUITTO="$(command -v mosquitto || true)"
[ -n "$MOSQUITTO" ] || MOSQUITTO=/usr/sbin/mosquitto
[ -x "$MOSQUITTO" ] || { echo "run-baremetal: mosquitto not found" >&2; exit 1; }

echo "==> build c_examples/baremetal ($BUILD)"
cmake -S c_examples/baremetal -B "$BUILD" \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-arm-none-eabi.cmake" \
    -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DEMBERMQ_CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}" >/dev/null
cmake --build "$BUILD"
ELF="$BUILD/embermq-qemu.elf"

DIR="$(mktemp -d "${TMPDIR:-/tmp}/embermq-baremetal.XXXXXX")"
BROKER_PID=""
QEMU_PID=""
cleanup() {
    for pid in "$QEMU_PID" "$BROKER_PID"; do
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [ -n "${EMQ_KEEP_BROKER_DIR:-}" ]; then
        echo "run-baremetal: kept $DIR" >&2
    else
        rm -rf "$DIR"
    fi
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

port_open() {
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(0.2)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()' "$1"
}

# A private broker: its own config, listening on 127.0.0.1 only.
PORT=""
for attempt in 1 2 3 4 5; do
    candidate="$(free_port)"
    {
        echo "listener $candidate 127.0.0.1"
        echo "allow_anonymous true"
        if [ "$(id -u)" -eq 0 ]; then echo "user root"; fi
        echo "log_dest file $DIR/mosquitto.log"
        echo "log_type all"
        echo "connection_messages true"
        echo "persistence false"
    } >"$DIR/mosquitto.conf"
    "$MOSQUITTO" -c "$DIR/mosquitto.conf" </dev/null >"$DIR/broker.out" 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 1 100); do
        kill -0 "$BROKER_PID" 2>/dev/null || break
        if port_open "$candidate"; then PORT="$candidate"; break; fi
        sleep 0.05
    done
    if [ -n "$PORT" ] && kill -0 "$BROKER_PID" 2>/dev/null; then break; fi
    echo "run-baremetal: mosquitto did not start on $candidate (attempt $attempt/5)" >&2
    kill -9 "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
    PORT=""
done
[ -n "$PORT" ] || { cat "$DIR/mosquitto.log" >&2 2>/dev/null || true; exit 1; }

echo "==> qemu-system-arm -M mps2-an386, UART0 -> mosquitto on 127.0.0.1:$PORT"
# -serial tcp:HOST:PORT (no ,server) makes QEMU connect to the broker as a
# TCP client; semihosting carries the report and the exit code.
set +e
timeout --kill-after=5 "$QEMU_TIMEOUT" qemu-system-arm -M mps2-an386 -nographic -monitor none \
    -semihosting-config enable=on,target=native \
    -serial "tcp:127.0.0.1:$PORT" \
    -kernel "$ELF" >"$DIR/qemu.out" 2>&1 &
QEMU_PID=$!
wait "$QEMU_PID"
status=$?
QEMU_PID=""
set -e
cat "$DIR/qemu.out"
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "run-baremetal: QEMU did not finish within ${QEMU_TIMEOUT}s" >&2
fi
if [ "$status" -ne 0 ]; then
    echo "run-baremetal: FAILED (exit $status); broker log:" >&2
    tail -n 30 "$DIR/mosquitto.log" >&2 || true
    exit 1
fi
grep -q "^PASS$" "$DIR/qemu.out" || { echo "run-baremetal: no PASS line" >&2; exit 1; }
# The broker saw the emulated MCU's MQTT session.
grep -q "New client connected .* as embermq-qemu-mps2-an386" "$DIR/mosquitto.log" \
    || { echo "run-baremetal: the broker log shows no connection from the firmware" >&2; exit 1; }
cp "$DIR/qemu.out" "$BUILD/qemu.out"
echo "run-baremetal: PASS"
