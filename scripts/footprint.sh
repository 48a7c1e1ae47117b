#!/usr/bin/env bash
# Measures embermq's footprint in a real firmware: the bare-metal QEMU
# example (c_examples/baremetal, Cortex-M4, thumbv7em-none-eabihf staticlib
# built with cargo profile `firmware`: release, opt-level "z", LTO, one
# codegen unit, panic = "abort"), linked with --gc-sections. Three firmwares:
#   - minimal (embermq-qemu): connect, subscribe, publish QoS 0/1/2, poll,
#     wait, unsubscribe, disconnect at MQTT 3.1.1; no client features;
#   - resilient (embermq-qemu-resilient): also automatic reconnect,
#     resubscribe from a subscription table in table memory, per-filter
#     handlers and log events (features reconnect, subscriptions,
#     log-events), measured across the cut link of scripts/run-baremetal.sh;
#   - MQTT 5 (embermq-qemu-mqtt5): the minimal one's calls at protocol
#     level 5, its library built with the mqtt5 feature (the v5 codec and
#     calls), subscribing with emq_client_subscribe_v5 and publishing its
#     QoS 2 message with emq_client_publish_v5 and a User Property, which
#     it checks comes back (emq_client_received_properties,
#     emq_properties_get); no other client feature.
#
#   scripts/footprint.sh [build dir]     (default: build/baremetal)
#
# How:
#   - text/data/bss: the linker map attributes every input section to the
#     archive member it came from (scripts/footprint-map.py): embermq's own
#     code and read-only data, and separately the compiler_builtins
#     routines (memcpy/memmove...) the Rust staticlib brings;
#   - client struct: emq_client_storage_size() as the firmware reports it
#     (the client in this build; EMQ_CLIENT_STORAGE_SIZE, which the firmware
#     declares, holds it with every feature, and with EMBERMQ_MQTT5 defined,
#     as for the MQTT 5 firmware, the MQTT 5 client with every feature); the
#     resilient firmware's table memory (emq_tables_size() for its
#     capacities) comes on top;
#   - stack: the firmware paints its thread stack before the first embermq
#     call and reports, over semihosting, the deepest byte used below the
#     frame that calls embermq (so: embermq plus the transport and message
#     callbacks it calls; the resilient one's include its reconnects, the
#     handlers and the log-event callback, the MQTT 5 one's its property
#     check in the message callback); interrupts run on a separate stack;
#   - features: the minimal firmware's library enables only
#     `panic-handler`, the resilient one's also reconnect, subscriptions
#     and log-events, the MQTT 5 one's also mqtt5; TLS, TCP and the network
#     thread are std-only code, so no symbol of theirs can be in any of
#     the ELFs (checked), and the minimal firmware with the optional `paho`
#     feature on is measured too: none of its functions is linked, but LTO
#     inlines differently when the crate has more callers of shared helpers.
#   - the minimal firmware with the borrowed-callbacks feature on
#     (emq_client_set_callbacks keeps a pointer to the caller's struct,
#     not a copy: a trade of the copy's safety for 32 B of RAM), measured
#     in the same way from its own QEMU run (run-baremetal.sh's
#     <build dir>-borrowed).
# The same method on RISC-V: the minimal firmware built for QEMU virt as an
# RV32IMC core (riscv32imc-unknown-none-elf, the ESP32-C2/C3 cores; GCC
# with picolibc; scripts/run-baremetal.sh's <build dir>-rv32imc), its figures
# in a column of their own from its linker map and its QEMU report. The
# MQTT 5 firmware is measured on Cortex-M4 only.
# The QEMU runs (scripts/run-baremetal.sh) must pass for the stack figures.
set -euo pipefail
# Paho embedded-C's client measured side by side in issue 16 (the same
# mps2-an386 board, calls, -Os/-Oz, --gc-sections and stack painting; its
# sources are not in this repository, so these cannot be rebuilt here).
PAHO_TEXT=3996 PAHO_TEXT_RV32=4719 PAHO_STRUCT=96 PAHO_STACK=304
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BUILD="${1:-$ROOT/build/baremetal}"
# The run log sits beside the build dir: on a fresh clone neither exists yet.
mkdir -p "$(dirname "$BUILD")"

bash scripts/run-baremetal.sh "$BUILD" >"$BUILD.run.log" 2>&1 || {
    cat "$BUILD.run.log" >&2
    echo "footprint: the QEMU run failed" >&2
    exit 1
}
# figures <firmware name> <QEMU output> [build dir]: reads its linker map
# and QEMU report into fig_*.
figures() {
    local map="${3:-$BUILD}/$1.map" out="$2"
    read -r _ fig_text fig_data fig_bss < <(python3 scripts/footprint-map.py "$map" | grep '^embermq ')
    read -r _ fig_cb _ _ < <(python3 scripts/footprint-map.py "$map" | grep '^compiler_builtins ')
    # The firmware checked emq_client_storage_size() against its storage.
    fig_struct="$(sed -n "s/^$1: client storage bytes: //p" "$out")"
    fig_tables="$(sed -n "s/^$1: table bytes (emq_tables_size): //p" "$out")"
    fig_stack="$(sed -n "s/^$1: deepest stack in embermq calls (bytes): //p" "$out")"
    [ -n "$fig_struct" ] && [ -n "$fig_stack" ] || { echo "footprint: figures of $1 missing" >&2; exit 1; }
    fig_tables="${fig_tables:-0}"
}
figures embermq-qemu "$BUILD/qemu.out"
em_text=$fig_text em_data=$fig_data em_bss=$fig_bss cb_text=$fig_cb
struct_size=$fig_struct stack=$fig_stack
figures embermq-qemu-resilient "$BUILD/qemu-resilient.out"
rs_text=$fig_text rs_data=$fig_data rs_bss=$fig_bss rs_cb=$fig_cb
rs_struct=$fig_struct rs_tables=$fig_tables rs_stack=$fig_stack
figures embermq-qemu-mqtt5 "$BUILD/qemu-mqtt5.out"
m5_text=$fig_text m5_data=$fig_data m5_bss=$fig_bss m5_cb=$fig_cb
m5_struct=$fig_struct m5_stack=$fig_stack
reconnects="$(sed -n 's/^embermq-qemu-resilient: reconnected (CONNACKs after the first): //p' "$BUILD/qemu-resilient.out")"
RV_BUILD="$BUILD-rv32imc"
figures embermq-qemu "$RV_BUILD/qemu.out" "$RV_BUILD"
rv_text=$fig_text rv_data=$fig_data rv_bss=$fig_bss rv_cb=$fig_cb
rv_struct=$fig_struct rv_stack=$fig_stack
BORROWED_BUILD="$BUILD-borrowed"
figures embermq-qemu "$BORROWED_BUILD/qemu.out" "$BORROWED_BUILD"
bc_text=$fig_text bc_struct=$fig_struct bc_stack=$fig_stack

# Host-only features (TLS, TCP, the network thread) must leave no trace in
# any firmware.
for elf in "$BUILD/embermq-qemu.elf" "$BUILD/embermq-qemu-resilient.elf" "$BUILD/embermq-qemu-mqtt5.elf" \
           "$RV_BUILD/embermq-qemu.elf" "$RV_BUILD/embermq-qemu-resilient.elf" \
           "$BORROWED_BUILD/embermq-qemu.elf"; do
    case "$elf" in
        "$RV_BUILD"/*) nm=riscv64-unknown-elf-nm ;;
        *) nm=arm-none-eabi-nm ;;
    esac
    syms="$("$nm" -C "$elf")"
    if grep -Eiq 'rustls|tls|tcp|ffi::host' <<<"$syms"; then
        echo "footprint: host-only code linked into $elf:" >&2
        grep -Ei 'rustls|tls|tcp|ffi::host' <<<"$syms" >&2
        exit 1
    fi
done

# The same firmware with the optional paho feature on: unused, it must cost nothing.
PAHO_BUILD="$BUILD-paho"
cmake -S c_examples/baremetal -B "$PAHO_BUILD" \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-arm-none-eabi.cmake" \
    -DCMAKE_BUILD_TYPE=MinSizeRel -DEMBERMQ_FIRMWARE_FEATURES=paho -DEMBERMQ_BAREMETAL_RESILIENT=OFF \
    -DEMBERMQ_BAREMETAL_MQTT5=OFF \
    -DEMBERMQ_CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/footprint-paho" >/dev/null
cmake --build "$PAHO_BUILD" >"$PAHO_BUILD.log" 2>&1 || { cat "$PAHO_BUILD.log" >&2; exit 1; }
read -r _ paho_text _ _ < <(python3 scripts/footprint-map.py "$PAHO_BUILD/embermq-qemu.map" | grep '^embermq ')

echo "embermq footprint, Cortex-M4 (thumbv7em-none-eabihf, opt-level z, LTO, panic=abort)"
echo "minimal:   c_examples/baremetal embermq-qemu (connect, subscribe, publish QoS 0/1/2, poll, wait, unsubscribe, disconnect)"
echo "resilient: embermq-qemu-resilient (also auto_reconnect, resubscribe, 3 handlers, log events; reconnected $reconnects time(s) across the cut)"
echo "MQTT 5:    embermq-qemu-mqtt5 (the minimal calls at protocol level 5, feature mqtt5; subscribe_v5, publish_v5 with a User Property)"
echo "RISC-V:    the minimal firmware for riscv32imc-unknown-none-elf (RV32IMC as on ESP32-C3; QEMU riscv32 virt), same method"
row() {
    printf '| %-46s | %8s | %9s | %8s | %14s | %s\n' "$@"
}
row "what" "minimal" "resilient" "MQTT 5" "RISC-V minimal" "Paho embedded-C (measured)"
row "text (code + rodata), bytes" "$em_text" "$rs_text" "$m5_text" "$rv_text" "$PAHO_TEXT (rv32imc $PAHO_TEXT_RV32)"
row "data, bytes" "$em_data" "$rs_data" "$m5_data" "$rv_data" ""
row "bss, bytes" "$em_bss" "$rs_bss" "$m5_bss" "$rv_bss" ""
row "compiler_builtins (memcpy, memmove...), bytes" "$cb_text" "$rs_cb" "$m5_cb" "$rv_cb" ""
row "client struct (emq_client_storage_size), bytes" "$struct_size" "$rs_struct" "$m5_struct" "$rv_struct" "$PAHO_STRUCT"
row "table memory (emq_tables_size), bytes" "-" "$rs_tables" "-" "-" ""
row "deepest stack (measured in QEMU), bytes" "$stack" "$rs_stack" "$m5_stack" "$rv_stack" "$PAHO_STACK"
row "text with the paho feature on (unused)" "$paho_text" "" "" "" ""
row "with borrowed-callbacks: text" "$bc_text" "" "" "" ""
row "with borrowed-callbacks: client struct" "$bc_struct" "" "" "" ""
row "with borrowed-callbacks: deepest stack" "$bc_stack" "" "" "" ""
echo "RISC-V rv32imc text of the minimal firmware: $rv_text bytes (Cortex-M4: $em_text bytes)"
echo "MQTT 5 firmware (minimal calls at protocol level 5, feature mqtt5): text $m5_text bytes, struct $m5_struct, stack $m5_stack (3.1.1 minimal: text $em_text, struct $struct_size, stack $stack)"
if grep -q ' T MQTT' < <(arm-none-eabi-nm "$PAHO_BUILD/embermq-qemu.elf"); then
    echo "footprint: unused paho functions were linked" >&2
    exit 1
fi
echo "host-only features (TLS, TCP, network thread): no symbols in any firmware ELF"
