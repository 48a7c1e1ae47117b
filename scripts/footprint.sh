#!/usr/bin/env bash
# Measures embermq's footprint in a real firmware: the bare-metal QEMU
# example (c_examples/baremetal, Cortex-M4, thumbv7em-none-eabihf staticlib
# built with cargo profile `firmware`: release, opt-level "z", LTO, one
# codegen unit, panic = "abort"), linked with --gc-sections.
#
#   scripts/footprint.sh [build dir]     (default: build/baremetal)
#
# How:
#   - text/data/bss: the linker map attributes every input section to the
#     archive member it came from (scripts/footprint-map.py): embermq's own
#     code and read-only data, and separately the compiler_builtins
#     routines (memcpy/memmove...) the Rust staticlib brings;
#   - client struct: EMQ_CLIENT_STORAGE_SIZE as the firmware reports it
#     (the Rust build fails if the header constant differs from the struct,
#     and the firmware checks it against emq_client_storage_size());
#   - stack: the firmware paints its thread stack before the first embermq
#     call and reports, over semihosting, the deepest byte used below the
#     frame that calls embermq (so: embermq plus the transport and message
#     callbacks it calls); interrupts run on a separate stack;
#   - features: the firmware build enables only `panic-handler`; reconnect,
#     persistence, TLS and TCP are std-only code, so no symbol of theirs
#     can be in the ELF (checked), and a build with the optional `paho`
#     feature on is measured too: none of its functions is linked, but LTO
#     inlines differently when the crate has more callers of shared helpers.
# The QEMU run (scripts/run-baremetal.sh) must pass for the stack figure.
set -euo pipefail
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
MAP="$BUILD/embermq-qemu.map"
ELF="$BUILD/embermq-qemu.elf"
read -r _ em_text em_data em_bss < <(python3 scripts/footprint-map.py "$MAP" | grep '^embermq ')
read -r _ cb_text cb_data cb_bss < <(python3 scripts/footprint-map.py "$MAP" | grep '^compiler_builtins ')
# The firmware checked EMQ_CLIENT_STORAGE_SIZE against emq_client_storage_size().
struct_size="$(sed -n 's/^embermq-qemu: client storage bytes: //p' "$BUILD/qemu.out")"
stack="$(sed -n 's/^embermq-qemu: deepest stack in embermq calls (bytes): //p' "$BUILD/qemu.out")"
[ -n "$struct_size" ] && [ -n "$stack" ] || { echo "footprint: figures missing" >&2; exit 1; }

# Host-only features (TLS, TCP, the network thread) must leave no trace in
# the firmware.
syms="$(arm-none-eabi-nm -C "$ELF")"
if grep -Eiq 'rustls|tls|tcp|ffi::host' <<<"$syms"; then
    echo "footprint: host-only code linked into the firmware:" >&2
    grep -Ei 'rustls|tls|tcp|ffi::host' <<<"$syms" >&2
    exit 1
fi

# The same firmware with the optional paho feature on: unused, it must cost nothing.
PAHO_BUILD="$BUILD-paho"
cmake -S c_examples/baremetal -B "$PAHO_BUILD" \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-arm-none-eabi.cmake" \
    -DCMAKE_BUILD_TYPE=MinSizeRel -DEMBERMQ_FIRMWARE_FEATURES=paho \
    -DEMBERMQ_CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/footprint-paho" >/dev/null
cmake --build "$PAHO_BUILD" >"$PAHO_BUILD.log" 2>&1 || { cat "$PAHO_BUILD.log" >&2; exit 1; }
read -r _ paho_text _ _ < <(python3 scripts/footprint-map.py "$PAHO_BUILD/embermq-qemu.map" | grep '^embermq ')

echo "embermq footprint, Cortex-M4 (thumbv7em-none-eabihf, opt-level z, LTO, panic=abort)"
echo "firmware: c_examples/baremetal (connect, subscribe, publish QoS 0/1/2, poll, unsubscribe, disconnect)"
printf '| %-44s | %8s | %s\n' "what" "embermq" "Paho embedded-C target"
printf '| %-44s | %8s | %s\n' "text (code + rodata), bytes" "$em_text" "~4400"
printf '| %-44s | %8s | %s\n' "data, bytes" "$em_data" ""
printf '| %-44s | %8s | %s\n' "bss, bytes" "$em_bss" ""
printf '| %-44s | %8s | %s\n' "compiler_builtins (memcpy, memmove...), bytes" "$cb_text" ""
printf '| %-44s | %8s | %s\n' "client struct (EMQ_CLIENT_STORAGE_SIZE), bytes" "$struct_size" "96"
printf '| %-44s | %8s | %s\n' "deepest stack (measured in QEMU), bytes" "$stack" "~290"
printf '| %-44s | %8s | %s\n' "text with the paho feature on (unused)" "$paho_text" ""
if grep -q ' T MQTT' < <(arm-none-eabi-nm "$PAHO_BUILD/embermq-qemu.elf"); then
    echo "footprint: unused paho functions were linked" >&2
    exit 1
fi
echo "host-only features (TLS, TCP, network thread): no symbols in the ELF"
