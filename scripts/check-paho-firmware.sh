#!/usr/bin/env bash
# Firmware (Cortex-M4) checks of the Paho compatible API, run by
# scripts/test-all.sh after the no_std cross builds:
#   1. the layout test (tests/c/paho/test_paho_layout.c) compiled with
#      arm-none-eabi-gcc: its _Static_asserts check sizeof/offsetof of every
#      public struct against spec section 5.2 (short enums, the default;
#      -fno-short-enums, which gives the xtensa/rv32 figures; other
#      MAX_MESSAGE_HANDLERS values; MQTT_TASK);
#   2. src/paho/c/MQTTClient.c compiled with the same firmware flags and a
#      firmware platform header (4-byte Timer, 12-byte Network);
#   3. a minimal firmware linked against libembermq built for
#      thumbv7em-none-eabihf with the `paho` feature.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v arm-none-eabi-gcc >/dev/null 2>&1; then
    echo "check-paho-firmware: arm-none-eabi-gcc not found; run scripts/install-deps.sh" >&2
    exit 1
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/embermq-paho-fw.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

CC=(arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
    -std=c99 -Os -Wall -Wextra -Werror -ffunction-sections -fdata-sections
    -Iinclude/paho -Itests/c/paho -DMQTTCLIENT_PLATFORM_HEADER=firmware_platform.h)

variants=("" "-fno-short-enums" "-DMAX_MESSAGE_HANDLERS=10" "-DMQTT_TASK" "-fno-short-enums -DMAX_MESSAGE_HANDLERS=1")
for v in "${variants[@]}"; do
    # shellcheck disable=SC2086
    "${CC[@]}" $v -c tests/c/paho/test_paho_layout.c -o "$TMP/layout.o"
    # shellcheck disable=SC2086
    "${CC[@]}" $v -c src/paho/c/MQTTClient.c -o "$TMP/client.o"
    echo "paho firmware: layout asserts and MQTTClient.c ok on Cortex-M4 [${v:-short enums}]"
done

LIB=target/thumbv7em-none-eabihf/release/libembermq.a
cargo build --lib --release --no-default-features --features panic-handler,paho \
    --target thumbv7em-none-eabihf
for v in "" "-DMQTT_TASK"; do
    # shellcheck disable=SC2086
    "${CC[@]}" $v tests/c/paho/firmware_main.c src/paho/c/MQTTClient.c "$LIB" \
        --specs=nosys.specs -Wl,--gc-sections -Wl,--no-warn-execstack -o "$TMP/firmware.elf"
    # (grep the captured output: `nm | grep -q` trips pipefail on SIGPIPE)
    syms="$(arm-none-eabi-nm "$TMP/firmware.elf")"
    for sym in MQTTSerialize_publish MQTTDeserialize_publish emq_paho_topic_matches MQTTYield; do
        grep -q " T $sym\$" <<<"$syms" \
            || { echo "check-paho-firmware: $sym not linked" >&2; exit 1; }
    done
    echo "paho firmware: linked against libembermq (thumbv7em-none-eabihf) [${v:-no MQTT_TASK}]"
done
