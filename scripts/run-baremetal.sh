#!/usr/bin/env bash
# Builds the bare-metal example (c_examples/baremetal) for four QEMU boards
# and runs it with the board's UART connected to a private mosquitto on
# 127.0.0.1: the emulated MCU's UART stream is its MQTT connection.
#
#  1. Cortex-M4, mps2-an386 (thumbv7em-none-eabihf), qemu-system-arm:
#     a. embermq-qemu, the minimal firmware, straight to the broker: it
#        connects, subscribes, publishes at QoS 0/1/2, receives its own
#        messages and reports over semihosting.
#     b. embermq-qemu-resilient through scripts/link-cut-proxy.py, which
#        cuts the link once mid-run (after EMQ_CUT_AFTER_BYTES bytes,
#        default 700); QEMU's socket chardev connects again (reconnect=1),
#        and the firmware must notice the dead link (keepalive), reconnect,
#        resubscribe and complete its exchange.
#     c. embermq-qemu-mqtt5, the minimal firmware at protocol level 5 (its
#        embermq library built with the mqtt5 feature), straight to the
#        broker: the same exchange with emq_client_subscribe_v5 and a User
#        Property on an emq_client_publish_v5 that must come back; the
#        broker's log must show the session at protocol level 5.
#  2. RISC-V, virt as an RV32IMC core like the ESP32-C3's
#     (riscv32imc-unknown-none-elf, riscv64-unknown-elf-gcc with picolibc),
#     qemu-system-riscv32 with its NS16550A UART: the minimal and the
#     resilient firmware, the same two runs (build dir <build dir>-rv32imc).
#  3. Cortex-M3, mps2-an385 (thumbv7m-none-eabi): the minimal firmware
#     (<build dir>-cortex-m3).
#  4. Cortex-M0, microbit (nRF51822; thumbv6m-none-eabi, the Cortex-M0/M0+
#     target): the minimal firmware (<build dir>-cortex-m0).
#  5. Cortex-M4 again: the minimal firmware with its library built with the
#     borrowed-callbacks feature (emq_client_set_callbacks keeps a pointer,
#     not a copy; <build dir>-borrowed), for the client struct it gives.
#
# Every run must pass (QEMU's exit code, a PASS line, the broker's log);
# this script's exit code says so.
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
# (127.0.0.1, own config): QEMU against EMQ_TEST_PORT, directly (mode
# "direct") or through the link-cutting proxy (mode "cut"), on the board
# given (default mps2-an386); with a protocol level, the broker's log must
# show the client's session(s) at that level (mosquitto's "(p5, ...").
#   run-baremetal.sh --qemu <elf> <output file> <client id> <direct|cut> [board] [protocol level]
if [ "${1:-}" = "--qemu" ]; then
    ELF="$2"
    OUT="$3"
    CLIENT_ID="$4"
    MODE="$5"
    BOARD="${6:-mps2-an386}"
    PROTOCOL_LEVEL="${7:-}"
    case "$BOARD" in
        mps2-an386 | mps2-an385 | microbit)
            QEMU=(qemu-system-arm -M "$BOARD")
            UART=UART0
            ;;
        virt)
            # An RV32IMC hart with M and U modes, as on ESP32-C3: no A, F,
            # D, no hypervisor or supervisor mode (startup-riscv.c checks
            # misa). -bios none: QEMU jumps to the ELF's entry in M-mode.
            QEMU=(qemu-system-riscv32 -M virt -smp 1 -bios none
                  -cpu rv32,g=false,i=true,m=true,a=false,f=false,d=false,c=true,s=false,h=false)
            UART="the NS16550A UART"
            ;;
        *)
            echo "run-baremetal: unknown board $BOARD" >&2
            exit 2
            ;;
    esac
    QEMU_PID=""
    PROXY_PID=""
    stop_started() {
        # QEMU_PID is timeout's: it passes SIGTERM on to QEMU.
        [ -z "$QEMU_PID" ] || kill "$QEMU_PID" 2>/dev/null || true
        if [ -n "$PROXY_PID" ]; then
            kill "$PROXY_PID" 2>/dev/null || true
            wait "$PROXY_PID" 2>/dev/null || true
        fi
    }
    trap stop_started EXIT
    if [ "$MODE" = "cut" ]; then
        # The proxy picks a free 127.0.0.1 port and writes it to a file.
        PORT_FILE="$OUT.proxy-port"
        rm -f "$PORT_FILE"
        python3 scripts/link-cut-proxy.py --target-host "$EMQ_TEST_HOST" --target-port "$EMQ_TEST_PORT" \
            --cut-after-bytes "${EMQ_CUT_AFTER_BYTES:-700}" --port-file "$PORT_FILE" \
            --lifetime $((QEMU_TIMEOUT + 15)) >"$OUT.proxy.log" 2>&1 &
        PROXY_PID=$!
        for _ in $(seq 1 100); do
            [ -s "$PORT_FILE" ] && break
            kill -0 "$PROXY_PID" 2>/dev/null || break
            sleep 0.05
        done
        [ -s "$PORT_FILE" ] || { cat "$OUT.proxy.log" >&2; echo "run-baremetal: the proxy did not start" >&2; exit 1; }
        PROXY_PORT="$(cat "$PORT_FILE")"
        echo "==> ${QEMU[0]} -M $BOARD, $UART -> link-cut proxy 127.0.0.1:$PROXY_PORT -> mosquitto on $EMQ_TEST_HOST:$EMQ_TEST_PORT"
        # A client socket chardev with reconnect=1 connects again a second
        # after the proxy dropped it (the guest's UART output meanwhile goes
        # nowhere, as on a real cable).
        SERIAL=(-chardev "socket,id=uart0,host=127.0.0.1,port=$PROXY_PORT,reconnect=1" -serial chardev:uart0)
    else
        echo "==> ${QEMU[0]} -M $BOARD, $UART -> mosquitto on $EMQ_TEST_HOST:$EMQ_TEST_PORT"
        # -serial tcp:HOST:PORT (no ,server) makes QEMU connect to the
        # broker as a TCP client.
        SERIAL=(-serial "tcp:$EMQ_TEST_HOST:$EMQ_TEST_PORT")
    fi
    # Semihosting carries the report and the exit code.
    set +e
    timeout --kill-after=5 "$QEMU_TIMEOUT" "${QEMU[@]}" -nographic -monitor none \
        -semihosting-config enable=on,target=native \
        "${SERIAL[@]}" \
        -kernel "$ELF" >"$OUT" 2>&1 &
    QEMU_PID=$!
    wait "$QEMU_PID"
    status=$?
    QEMU_PID=""
    set -e
    cat "$OUT"
    if [ -n "$PROXY_PID" ]; then
        stop_started
        PROXY_PID=""
        sed 's/^/link-cut-proxy: /' "$OUT.proxy.log"
    fi
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo "run-baremetal: QEMU did not finish within ${QEMU_TIMEOUT}s" >&2
    fi
    if [ "$status" -ne 0 ]; then
        echo "run-baremetal: FAILED (exit $status); broker log:" >&2
        tail -n 40 "$EMQ_TEST_BROKER_DIR/mosquitto.log" >&2 || true
        exit 1
    fi
    grep -q "^PASS$" "$OUT" || { echo "run-baremetal: no PASS line" >&2; exit 1; }
    # The broker saw the emulated MCU's MQTT session(s).
    sessions="$(grep -c "New client connected .* as $CLIENT_ID" "$EMQ_TEST_BROKER_DIR/mosquitto.log" || true)"
    if [ "$sessions" -lt 1 ]; then
        echo "run-baremetal: the broker log shows no connection from the firmware" >&2
        exit 1
    fi
    if [ -n "$PROTOCOL_LEVEL" ]; then
        at_level="$(grep -c "New client connected .* as $CLIENT_ID (p$PROTOCOL_LEVEL," "$EMQ_TEST_BROKER_DIR/mosquitto.log" || true)"
        if [ "$at_level" -ne "$sessions" ]; then
            echo "run-baremetal: the broker saw $CLIENT_ID at another protocol level than $PROTOCOL_LEVEL:" >&2
            grep "New client connected .* as $CLIENT_ID" "$EMQ_TEST_BROKER_DIR/mosquitto.log" >&2 || true
            exit 1
        fi
        echo "run-baremetal: the broker saw $CLIENT_ID at protocol level $PROTOCOL_LEVEL"
    fi
    if [ "$MODE" = "cut" ]; then
        grep -q "\] cut: " "$OUT.proxy.log" || { echo "run-baremetal: the proxy never cut the link" >&2; exit 1; }
        if [ "$sessions" -lt 2 ]; then
            echo "run-baremetal: the broker log shows no second session of $CLIENT_ID" >&2
            exit 1
        fi
        # mosquitto logs "<client id> <qos> <filter>" for every filter it
        # subscribes: the last session (after the reconnect) subscribed the
        # QoS 2 filter again.
        if ! awk -v id="$CLIENT_ID" '
                $0 ~ ("New client connected .* as " id " ") { again = 0 }
                $0 ~ (": " id " 2 embermq/qemu-resilient/qos2$") { again = 1 }
                END { exit !again }' "$EMQ_TEST_BROKER_DIR/mosquitto.log"; then
            echo "run-baremetal: the broker saw no subscription in the session after the reconnect" >&2
            exit 1
        fi
        # The broker's view: sessions, their ends, and connections that
        # never got as far as CONNECT (a packet of the old session sent
        # into the new socket before the firmware noticed the cut).
        echo "run-baremetal: the broker saw $sessions sessions of $CLIENT_ID, the last one subscribed again:"
        grep -E "as $CLIENT_ID|Client ($CLIENT_ID|<unknown>) (closed|disconnected)|Socket error|$CLIENT_ID 2 embermq" \
            "$EMQ_TEST_BROKER_DIR/mosquitto.log" | sed 's/^/mosquitto: /' || true
    fi
    exit 0
fi

for tool in arm-none-eabi-gcc qemu-system-arm riscv64-unknown-elf-gcc qemu-system-riscv32 cmake; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "run-baremetal: $tool not found; run scripts/install-deps.sh" >&2
        exit 1
    }
done

# build <dir> <toolchain file> <resilient ON|OFF> <mqtt5 ON|OFF> [cmake -D...]:
# configures and builds c_examples/baremetal there. The builds share one
# cargo target dir (each Rust target has its own subdirectory in it), but
# for one with other cargo features (a later -D of its own wins).
build() {
    local dir="$1" toolchain="$2" resilient="$3" mqtt5="$4"
    shift 4
    echo "==> build c_examples/baremetal ($dir)"
    cmake -S c_examples/baremetal -B "$dir" \
        -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/$toolchain" \
        -DCMAKE_BUILD_TYPE=MinSizeRel -DEMBERMQ_BAREMETAL_RESILIENT="$resilient" \
        -DEMBERMQ_BAREMETAL_MQTT5="$mqtt5" \
        -DEMBERMQ_CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}" "$@" >/dev/null
    cmake --build "$dir"
}

# qemu_run <build dir> <firmware> <output file> <direct|cut> <board> [protocol level]
qemu_run() {
    bash scripts/with-broker.sh bash "$0" --qemu "$1/$2.elf" "$1/$3" "$2-$5" "$4" "$5" "${@:6}"
}

# 1. Cortex-M4 (mps2-an386).
build "$BUILD" toolchain-arm-none-eabi.cmake ON ON
qemu_run "$BUILD" embermq-qemu qemu.out direct mps2-an386
echo "run-baremetal: embermq-qemu PASS"
qemu_run "$BUILD" embermq-qemu-resilient qemu-resilient.out cut mps2-an386
echo "run-baremetal: embermq-qemu-resilient PASS (across a cut link)"
qemu_run "$BUILD" embermq-qemu-mqtt5 qemu-mqtt5.out direct mps2-an386 5
echo "run-baremetal: embermq-qemu-mqtt5 PASS (MQTT 5)"

# 2. RISC-V RV32IMC (virt).
build "$BUILD-rv32imc" toolchain-riscv32-picolibc.cmake ON OFF -DEMBERMQ_RISCV_ARCH=rv32imc
qemu_run "$BUILD-rv32imc" embermq-qemu qemu.out direct virt
echo "run-baremetal: RISC-V rv32imc (virt) embermq-qemu PASS"
qemu_run "$BUILD-rv32imc" embermq-qemu-resilient qemu-resilient.out cut virt
echo "run-baremetal: RISC-V rv32imc (virt) embermq-qemu-resilient PASS (across a cut link)"

# 3. Cortex-M3 (mps2-an385) and 4. Cortex-M0 (microbit): the minimal firmware.
build "$BUILD-cortex-m3" toolchain-arm-none-eabi.cmake OFF OFF -DEMBERMQ_ARM_CPU=cortex-m3
qemu_run "$BUILD-cortex-m3" embermq-qemu qemu.out direct mps2-an385
echo "run-baremetal: Cortex-M3 (mps2-an385) embermq-qemu PASS"
build "$BUILD-cortex-m0" toolchain-arm-none-eabi.cmake OFF OFF -DEMBERMQ_ARM_CPU=cortex-m0
qemu_run "$BUILD-cortex-m0" embermq-qemu qemu.out direct microbit
echo "run-baremetal: Cortex-M0 (microbit) embermq-qemu PASS"

# 5. Cortex-M4, the minimal firmware with borrowed callbacks (a library and
# cargo target dir of its own).
build "$BUILD-borrowed" toolchain-arm-none-eabi.cmake OFF OFF \
    -DEMBERMQ_FIRMWARE_FEATURES=borrowed-callbacks \
    -DEMBERMQ_CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/borrowed"
qemu_run "$BUILD-borrowed" embermq-qemu qemu.out direct mps2-an386
echo "run-baremetal: embermq-qemu with borrowed-callbacks PASS"
echo "run-baremetal: PASS"
