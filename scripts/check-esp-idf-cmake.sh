#!/usr/bin/env bash
# Checks the ESP-IDF component mode of CMakeLists.txt without ESP-IDF (not
# installable here): tests/cmake-esp-idf fakes what ESP-IDF gives a
# component. Every RISC-V IDF_TARGET must map to its Rust target; Xtensa
# chips must stop with the espup explanation; EMBERMQ_RUST_TARGET
# overrides; CONFIG_EMBERMQ_* (port/esp-idf/Kconfig) choose the cargo
# features. One target (esp32c3) is built for real: cargo produces the
# riscv32imc staticlib the component links. IDF_TARGET=linux builds the host
# staticlib and links an application with ESP-IDF's link order (component
# libraries first, then the Rust archive) using the host gcc.
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

# menuconfig options become cargo features: every feature has a bool in
# port/esp-idf/Kconfig, off by default, and CONFIG_EMBERMQ_<FEATURE>=y (as
# sdkconfig.cmake sets it) puts the feature into cargo's --features.
for opt in RECONNECT TABLES SUBSCRIPTIONS LOG_EVENTS PERSISTENCE LOCK_HOOKS PAHO; do
    grep -q "^ *config EMBERMQ_$opt\$" port/esp-idf/Kconfig \
        || { echo "check-esp-idf-cmake: port/esp-idf/Kconfig has no EMBERMQ_$opt" >&2; exit 1; }
done
[ "$(grep -c '^ *default n$' port/esp-idf/Kconfig)" -eq 7 ] \
    || { echo "check-esp-idf-cmake: every Kconfig feature must default to n" >&2; exit 1; }
configure "$TMP/kconfig" esp32c3 riscv32imc-unknown-none-elf \
    -DCONFIG_EMBERMQ_RECONNECT=y -DCONFIG_EMBERMQ_LOG_EVENTS=y -DCONFIG_EMBERMQ_PAHO= \
    "-DEXPECT_FEATURES=panic-handler,reconnect,log-events" || { cat "$TMP/kconfig.log" >&2; exit 1; }
grep -rqF -- "--features panic-handler,reconnect,log-events" "$TMP/kconfig" \
    || { echo "check-esp-idf-cmake: cargo is not run with the Kconfig features" >&2; exit 1; }
echo "esp-idf: CONFIG_EMBERMQ_RECONNECT=y, CONFIG_EMBERMQ_LOG_EVENTS=y -> cargo --features panic-handler,reconnect,log-events"

# Build the component's library for esp32c3 for real.
cmake --build "$TMP/esp32c3" --target embermq_firmware_cargo >"$TMP/build.log" 2>&1 \
    || { cat "$TMP/build.log" >&2; exit 1; }
lib="$(find "$TMP/esp32c3" -path '*riscv32imc-unknown-none-elf/firmware/libembermq.a' | head -n 1)"
[ -n "$lib" ] || { echo "check-esp-idf-cmake: no riscv32imc staticlib built" >&2; exit 1; }
syms="$(nm "$lib" 2>/dev/null || true)"
grep -q " T emq_client_init$" <<<"$syms" || { echo "check-esp-idf-cmake: emq_client_init missing in $lib" >&2; exit 1; }
echo "esp-idf: esp32c3 component library built ($(du -k "$lib" | cut -f1) KiB archive)"

# Link an application as ESP-IDF does (the elf's object, the `main`
# component's library, the embermq component's library, then the Rust
# archive it links), with the host gcc: IDF_TARGET=linux builds the host
# no_std staticlib. Every symbol must resolve, emq_platform_abort (in the
# component's library, called from the archive) included; the app runs.
configure "$TMP/linux" linux host -DFAKE_IDF_LINK_APP=ON || { cat "$TMP/linux.log" >&2; exit 1; }
grep -q "esp-idf check: linux -> host: ok" "$TMP/linux.log"
cmake --build "$TMP/linux" --target fake_app.elf >"$TMP/link.log" 2>&1 \
    || { cat "$TMP/link.log" >&2; echo "check-esp-idf-cmake: the application does not link with ESP-IDF's link order" >&2; exit 1; }
"$TMP/linux/fake_app.elf" || { echo "check-esp-idf-cmake: the linked application failed" >&2; exit 1; }
echo "esp-idf: linux (host gcc) application linked with ESP-IDF's link order and ran"
echo "check-esp-idf-cmake: ok"
