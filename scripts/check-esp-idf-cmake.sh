#!/usr/bin/env bash
# Checks the ESP-IDF component mode of CMakeLists.txt without ESP-IDF (not
# installable here): tests/cmake-esp-idf fakes what ESP-IDF gives a
# component. Every RISC-V IDF_TARGET must map to its Rust target; Xtensa
# chips must stop with the espup explanation; EMBERMQ_RUST_TARGET
# overrides. One target (esp32c3) is built for real: cargo produces the
# riscv32imc staticlib the component links.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/embermq-esp-idf.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

configure() { # <dir> <IDF_TARGET> <expected Rust target> [extra cmake args]
    local dir="$1" idf="$2" want="$3"
    shift 3
    cmake -S tests/cmake-esp-idf -B "$dir" -DIDF_TARGET="$idf" -DEXPECT_RUST_TARGET="$want" "$@" >"$dir.log" 2>&1
}

for pair in esp32c2:riscv32imc-unknown-none-elf esp32c3:riscv32imc-unknown-none-elf \
            esp32c5:riscv32imac-unknown-none-elf esp32c6:riscv32imac-unknown-none-elf \
            esp32c61:riscv32imac-unknown-none-elf esp32h2:riscv32imac-unknown-none-elf \
            esp32p4:riscv32imafc-unknown-none-elf; do
    idf="${pair%%:*}"
    want="${pair#*:}"
    if ! configure "$TMP/$idf" "$idf" "$want"; then
        cat "$TMP/$idf.log" >&2
        echo "check-esp-idf-cmake: $idf failed" >&2
        exit 1
    fi
    grep -q "esp-idf check: $idf -> $want: ok" "$TMP/$idf.log"
    echo "esp-idf: $idf -> $want"
done

for idf in esp32 esp32s2 esp32s3; do
    if configure "$TMP/$idf" "$idf" none; then
        echo "check-esp-idf-cmake: $idf (Xtensa) configured, expected a clear error" >&2
        exit 1
    fi
    log="$(tr '\n' ' ' <"$TMP/$idf.log" | tr -s ' ')"
    for word in "Xtensa" "espup" "EMBERMQ_RUST_TARGET=xtensa-$idf-none-elf"; do
        grep -q -- "$word" <<<"$log" || {
            cat "$TMP/$idf.log" >&2
            echo "check-esp-idf-cmake: $idf error does not mention $word" >&2
            exit 1
        }
    done
    echo "esp-idf: $idf -> error naming Xtensa and espup"
done

# An explicit Rust target wins over the mapping.
configure "$TMP/override" esp32c3 riscv32imac-unknown-none-elf \
    -DEMBERMQ_RUST_TARGET=riscv32imac-unknown-none-elf || { cat "$TMP/override.log" >&2; exit 1; }
echo "esp-idf: EMBERMQ_RUST_TARGET overrides the mapping"

# Build the component's library for esp32c3 for real.
cmake --build "$TMP/esp32c3" --target embermq_firmware_cargo >"$TMP/build.log" 2>&1 \
    || { cat "$TMP/build.log" >&2; exit 1; }
lib="$(find "$TMP/esp32c3" -path '*riscv32imc-unknown-none-elf/firmware/libembermq.a' | head -n 1)"
[ -n "$lib" ] || { echo "check-esp-idf-cmake: no riscv32imc staticlib built" >&2; exit 1; }
syms="$(nm "$lib" 2>/dev/null || true)"
grep -q " T emq_client_init$" <<<"$syms" || { echo "check-esp-idf-cmake: emq_client_init missing in $lib" >&2; exit 1; }
echo "esp-idf: esp32c3 component library built ($(du -k "$lib" | cut -f1) KiB archive)"
echo "check-esp-idf-cmake: ok"
