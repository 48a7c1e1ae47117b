#!/usr/bin/env bash
# Checks the ESP-IDF component mode of CMakeLists.txt without ESP-IDF (not
# installable here), emulating ESP-IDF's two passes over a component:
#
# 1. The early component scan: ESP-IDF runs every component's CMakeLists.txt
#    in a separate `cmake -P` process (script mode, CMAKE_BUILD_EARLY_EXPANSION
#    set) that sees ESP_PLATFORM and the build properties (IDF_TARGET) but no
#    `idf.py -D...` variable and no CONFIG_ value, and whose
#    idf_component_register records the requirements and Kconfig and returns
#    (tools/cmake/scripts/component_get_requirements.cmake). Emulated below
#    for every chip, Xtensa ones included, under the component's two names
#    (embermq; <namespace>__embermq from the component manager): it must pass.
# 2. The build phase, faked by tests/cmake-esp-idf: every RISC-V IDF_TARGET
#    maps to its Rust target; Xtensa chips stop with the espup explanation
#    unless the Rust target is set (-DEMBERMQ_RUST_TARGET or
#    CONFIG_EMBERMQ_RUST_TARGET), and then cargo runs as Espressif's
#    toolchain needs (cargo +esp ... --target xtensa-... -Zbuild-std=core);
#    CONFIG_EMBERMQ_* (port/esp-idf/Kconfig) choose the cargo features.
#    A component named as the component manager names it gives its users the
#    menuconfig capacities and log level (a consumer compiles against them)
#    and the embermq::embermq alias.
# The esp32c3 library is built for real (riscv32imc): its archive must not
# define memcpy & co (compiler_builtins' copies made local), so ESP-IDF's own
# stay the firmware's; with a RISC-V GCC and picolibc an application is
# linked in ESP-IDF's order and its memcpy must come from the C library.
# IDF_TARGET=linux builds the host staticlib and links and runs an
# application with ESP-IDF's link order (component libraries first, then
# the Rust archive) using the host gcc.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/embermq-esp-idf.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

fail() {
    echo "check-esp-idf-cmake: $*" >&2
    exit 1
}

# --- 1. the early component scan ---------------------------------------------
# What ESP-IDF's component_get_requirements.cmake does with a component, in
# the same setting: script mode, ESP_PLATFORM=1 and the build properties as
# plain variables (BUILD_PROPERTIES_FILE), the component's properties
# (COMPONENT_PROPERTIES_FILE), an idf_component_register macro that records
# its arguments and returns from the including file, CMakeLists.txt
# included from a function, the result written to COMPONENT_REQUIRES_FILE.
# FAKE_REGISTER_NO_RETURN=1: a register that does not return (the
# component's own CMAKE_BUILD_EARLY_EXPANSION guard must then stop it).
mkdir -p "$TMP/early"
cat >"$TMP/early/component_get_requirements.cmake" <<'EOF'
cmake_policy(SET CMP0057 NEW)
include("${BUILD_PROPERTIES_FILE}")
include("${COMPONENT_PROPERTIES_FILE}")

function(idf_build_get_property var property)
    set(${var} ${${property}} PARENT_SCOPE)
endfunction()
function(__component_get_property var component_target property)
    set(${var} ${__component_${component_target}_${property}} PARENT_SCOPE)
endfunction()
macro(require_idf_targets)
endmacro()
macro(idf_component_register)
    cmake_parse_arguments(_ "WHOLE_ARCHIVE" "KCONFIG;KCONFIG_PROJBUILD"
        "SRCS;SRC_DIRS;EXCLUDE_SRCS;INCLUDE_DIRS;PRIV_INCLUDE_DIRS;LDFRAGMENTS;REQUIRES;PRIV_REQUIRES;REQUIRED_IDF_TARGETS;EMBED_FILES;EMBED_TXTFILES"
        "${ARGN}")
    set(__component_requires "${__REQUIRES}")
    set(__component_priv_requires "${__PRIV_REQUIRES}")
    set(__component_kconfig "${__KCONFIG}")
    set(__component_include_dirs "${__INCLUDE_DIRS}")
    set(__component_registered 1)
    if(NOT FAKE_REGISTER_NO_RETURN)
        return()
    endif()
endmacro()

function(__component_get_requirements)
    __component_get_property(__component_dir ${__component_target} COMPONENT_DIR)
    __component_get_property(__component_name ${__component_target} COMPONENT_NAME)
    set(COMPONENT_NAME ${__component_name})
    set(COMPONENT_DIR ${__component_dir})
    set(COMPONENT_PATH ${__component_dir})
    include(${__component_dir}/CMakeLists.txt OPTIONAL)
    set(__component_requires "${__component_requires}" PARENT_SCOPE)
    set(__component_priv_requires "${__component_priv_requires}" PARENT_SCOPE)
    set(__component_kconfig "${__component_kconfig}" PARENT_SCOPE)
    set(__component_include_dirs "${__component_include_dirs}" PARENT_SCOPE)
    set(__component_registered ${__component_registered} PARENT_SCOPE)
endfunction()

set(CMAKE_BUILD_EARLY_EXPANSION 1)
idf_build_get_property(__component_targets __COMPONENT_TARGETS)
set(__contents "")
foreach(__component_target ${__component_targets})
    set(__component_requires "")
    set(__component_priv_requires "")
    set(__component_kconfig "")
    set(__component_include_dirs "")
    set(__component_registered 0)
    __component_get_requirements()
    if(__component_kconfig)
        get_filename_component(__component_kconfig "${__component_kconfig}" ABSOLUTE)
    endif()
    string(APPEND __contents
        "__component_set_property(${__component_target} REQUIRES \"${__component_requires}\")\n"
        "__component_set_property(${__component_target} PRIV_REQUIRES \"${__component_priv_requires}\")\n"
        "__component_set_property(${__component_target} __COMPONENT_REGISTERED ${__component_registered})\n"
        "__component_set_property(${__component_target} INCLUDE_DIRS \"${__component_include_dirs}\")\n"
        "__component_set_property(${__component_target} KCONFIG \"${__component_kconfig}\")\n")
endforeach()
file(WRITE "${COMPONENT_REQUIRES_FILE}" "${__contents}")
EOF

# early_scan <IDF_TARGET> <component dir> [extra cmake -D...]: the scan as
# ESP-IDF runs it (no -D of the user's, no CONFIG_ values).
early_scan() {
    local idf="$1" dir="$2" name target out
    shift 2
    name="$(basename "$dir")"
    target="___idf_$name"
    out="$TMP/early/$idf-$name"
    mkdir -p "$out"
    printf 'set(IDF_TARGET "%s")\nset(IDF_PATH "%s")\nset(__COMPONENT_TARGETS "%s")\nset(__COMPONENT_REQUIRES_COMMON "")\n' \
        "$idf" "$TMP/early/idf" "$target" >"$out/build_properties.temp.cmake"
    printf 'set(__component_%s_COMPONENT_DIR "%s")\nset(__component_%s_COMPONENT_NAME "%s")\nset(__component_%s_COMPONENT_ALIAS "idf::%s")\n' \
        "$target" "$dir" "$target" "$name" "$target" "$name" >"$out/component_properties.temp.cmake"
    (cd "$out" && cmake -D ESP_PLATFORM=1 \
        -D "BUILD_PROPERTIES_FILE=$out/build_properties.temp.cmake" \
        -D "COMPONENT_PROPERTIES_FILE=$out/component_properties.temp.cmake" \
        -D "COMPONENT_REQUIRES_FILE=$out/component_requires.temp.cmake" \
        "$@" -P "$TMP/early/component_get_requirements.cmake") >"$out.log" 2>&1
}

# The emulation catches a component that fails before registering.
mkdir -p "$TMP/early/broken"
echo 'message(FATAL_ERROR "chose a Rust target too early")' >"$TMP/early/broken/CMakeLists.txt"
if early_scan esp32s3 "$TMP/early/broken"; then
    fail "the early-scan emulation does not report a failing component"
fi

# Every chip the component supports, which idf_component.yml's `targets`
# must list exactly.
CHIPS="esp32 esp32s2 esp32s3 esp32c2 esp32c3 esp32c5 esp32c6 esp32c61 esp32h2 esp32p4 linux"
manifest="$(sed -n '/^targets:/,/^[^ #]/p' idf_component.yml | sed -n 's/^  - \([a-z0-9]*\).*/\1/p' | sort | tr '\n' ' ')"
[ "$manifest" = "$(tr ' ' '\n' <<<"$CHIPS" | sort | tr '\n' ' ')" ] \
    || fail "idf_component.yml targets ($manifest) are not the supported chips ($CHIPS)"

# The component under its own name (a project's components/embermq) and
# under the component manager's (managed_components/<namespace>__embermq).
mkdir -p "$TMP/components" "$TMP/managed_components"
ln -s "$ROOT" "$TMP/components/embermq"
ln -s "$ROOT" "$TMP/managed_components/acme__embermq"
for dir in "$TMP/components/embermq" "$TMP/managed_components/acme__embermq"; do
    name="$(basename "$dir")"
    for idf in $CHIPS; do
        early_scan "$idf" "$dir" || { cat "$TMP/early/$idf-$name.log" >&2; fail "early scan of $name for $idf failed"; }
        req="$TMP/early/$idf-$name/component_requires.temp.cmake"
        grep -qF "___idf_${name} __COMPONENT_REGISTERED 1)" "$req" || fail "early scan ($idf, $name): not registered"
        grep -qF "___idf_${name} KCONFIG \"$dir/port/esp-idf/Kconfig\")" "$req" \
            || { cat "$req" >&2; fail "early scan ($idf, $name): Kconfig not recorded"; }
        grep -qF "___idf_${name} INCLUDE_DIRS \"include\")" "$req" || fail "early scan ($idf, $name): include dir not recorded"
        if grep -qi "warning\|error" "$TMP/early/$idf-$name.log"; then
            cat "$TMP/early/$idf-$name.log" >&2
            fail "early scan ($idf, $name) printed a warning or error"
        fi
    done
    echo "esp-idf: early scan (cmake -P, no -D) of component '$name' passes for every chip, Xtensa included"
done
early_scan esp32s3 "$TMP/components/embermq" -D FAKE_REGISTER_NO_RETURN=1 \
    || { cat "$TMP/early/esp32s3-embermq.log" >&2; fail "early scan with a register that does not return failed"; }
echo "esp-idf: early scan with a register that does not return stops at the component's guard"

# --- 2. the build phase (tests/cmake-esp-idf) ---------------------------------
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
        fail "$idf failed"
    fi
    grep -q "esp-idf check: $idf -> $want: ok" "$TMP/$idf.log"
    echo "esp-idf: $idf -> $want"
done

# Xtensa without a Rust target: the build phase (only) stops and says how.
for idf in esp32 esp32s2 esp32s3; do
    if configure "$TMP/$idf" "$idf" none; then
        fail "$idf (Xtensa) configured, expected a clear error"
    fi
    log="$(tr '\n' ' ' <"$TMP/$idf.log" | tr -s ' ')"
    for word in "Xtensa" "espup" "EMBERMQ_RUST_TARGET=xtensa-$idf-none-elf" \
                "CONFIG_EMBERMQ_RUST_TARGET=\"xtensa-$idf-none-elf\"" "CONFIG_EMBERMQ_CARGO_TOOLCHAIN"; do
        grep -qF -- "$word" <<<"$log" || {
            cat "$TMP/$idf.log" >&2
            fail "$idf error does not mention $word"
        }
    done
    echo "esp-idf: $idf -> error naming Xtensa, espup, the menuconfig option and -DEMBERMQ_RUST_TARGET"
done

# Xtensa with a Rust target: picked in the build phase, from idf.py -D or
# menuconfig (sdkconfig.cmake sets CONFIG_EMBERMQ_CARGO_TOOLCHAIN to esp by
# default on Xtensa chips), and cargo runs as Espressif's toolchain needs:
# `cargo +esp`, building core from source for the target.
xtensa() { # <dir> <IDF_TARGET> <expected Rust target> [cmake args]
    local dir="$1" idf="$2" want="$3" cargo
    configure "$@" || { cat "$dir.log" >&2; fail "$idf with a Rust target did not configure"; }
    grep -q "esp-idf check: $idf -> $want: ok" "$dir.log"
    cargo="$(grep -rhoE -- "cargo\"? \+esp rustc [^&]*" "$dir" | head -n 1)"
    for arg in "rustc --lib --crate-type staticlib --profile firmware" "--target $want -Zbuild-std=core"; do
        grep -qF -- "$arg" <<<"$cargo" || { echo "$cargo" >&2; fail "$idf: cargo does not run with '+esp ... $arg'"; }
    done
}
xtensa "$TMP/s3-d" esp32s3 xtensa-esp32s3-none-elf \
    -DEMBERMQ_RUST_TARGET=xtensa-esp32s3-none-elf -DCONFIG_EMBERMQ_CARGO_TOOLCHAIN=esp
echo "esp-idf: esp32s3 + idf.py -DEMBERMQ_RUST_TARGET=xtensa-esp32s3-none-elf -> cargo +esp ... --target xtensa-esp32s3-none-elf -Zbuild-std=core"
xtensa "$TMP/esp32-kconfig" esp32 xtensa-esp32-none-elf \
    -DCONFIG_EMBERMQ_RUST_TARGET=xtensa-esp32-none-elf -DCONFIG_EMBERMQ_CARGO_TOOLCHAIN=esp
echo "esp-idf: esp32 + CONFIG_EMBERMQ_RUST_TARGET=xtensa-esp32-none-elf (menuconfig) -> cargo +esp ... --target xtensa-esp32-none-elf"
xtensa "$TMP/s2-d" esp32s2 xtensa-esp32s2-none-elf \
    -DCONFIG_EMBERMQ_RUST_TARGET=xtensa-esp32-none-elf -DEMBERMQ_RUST_TARGET=xtensa-esp32s2-none-elf \
    -DEMBERMQ_CARGO_TOOLCHAIN=esp
echo "esp-idf: esp32s2: -DEMBERMQ_RUST_TARGET/-DEMBERMQ_CARGO_TOOLCHAIN win over menuconfig"
if configure "$TMP/s3-notc" esp32s3 xtensa-esp32s3-none-elf -DEMBERMQ_RUST_TARGET=xtensa-esp32s3-none-elf \
        -DCONFIG_EMBERMQ_CARGO_TOOLCHAIN=; then
    fail "an Xtensa Rust target without a toolchain configured"
fi
grep -q "CONFIG_EMBERMQ_CARGO_TOOLCHAIN to esp" "$TMP/s3-notc.log" || { cat "$TMP/s3-notc.log" >&2; fail "no toolchain error"; }
echo "esp-idf: an Xtensa Rust target with the toolchain cleared -> error naming CONFIG_EMBERMQ_CARGO_TOOLCHAIN"

# An explicit Rust target wins over the mapping.
configure "$TMP/override" esp32c3 riscv32imac-unknown-none-elf \
    -DEMBERMQ_RUST_TARGET=riscv32imac-unknown-none-elf || { cat "$TMP/override.log" >&2; exit 1; }
echo "esp-idf: EMBERMQ_RUST_TARGET overrides the mapping"

# menuconfig options become cargo features: every feature has a bool in
# port/esp-idf/Kconfig, off by default, and CONFIG_EMBERMQ_<FEATURE>=y (as
# sdkconfig.cmake sets it) puts the feature into cargo's --features.
for opt in RECONNECT TABLES SUBSCRIPTIONS LOG_EVENTS ACK_EVENTS PERSISTENCE LOCK_HOOKS CONNECT_START \
           OFFLINE_QUEUE DROP_UNACKED BORROWED_CALLBACKS MQTT5 \
           WEBSOCKET PAHO \
           RX_BUFFER_SIZE TX_BUFFER_SIZE STORE_SIZE PACKET_ID_SLOTS INBOUND_QOS2 \
           MAX_SUBSCRIPTIONS SUBSCRIPTION_BYTES LOG_LEVEL RUST_TARGET CARGO_TOOLCHAIN; do
    grep -q "^ *config EMBERMQ_$opt\$" port/esp-idf/Kconfig \
        || fail "port/esp-idf/Kconfig has no EMBERMQ_$opt"
done
[ "$(grep -c '^ *default n$' port/esp-idf/Kconfig)" -eq 14 ] \
    || fail "every Kconfig feature must default to n"
configure "$TMP/kconfig" esp32c3 riscv32imc-unknown-none-elf \
    -DCONFIG_EMBERMQ_RECONNECT=y -DCONFIG_EMBERMQ_LOG_EVENTS=y -DCONFIG_EMBERMQ_MQTT5=y \
    -DCONFIG_EMBERMQ_PAHO= \
    "-DEXPECT_FEATURES=panic-handler,reconnect,log-events,mqtt5" || { cat "$TMP/kconfig.log" >&2; exit 1; }
grep -rqF -- "--features panic-handler,reconnect,log-events,mqtt5" "$TMP/kconfig" \
    || fail "cargo is not run with the Kconfig features"
echo "esp-idf: CONFIG_EMBERMQ_RECONNECT=y, CONFIG_EMBERMQ_LOG_EVENTS=y, CONFIG_EMBERMQ_MQTT5=y -> cargo --features panic-handler,reconnect,log-events,mqtt5"

# --- the component-manager name, capacities and log level ---------------------
# ESP-IDF's build phase for a component in managed_components/acme__embermq:
# COMPONENT_NAME is the directory's name, the library __idf_<name>, its
# alias idf::<name>. The `main` component links embermq::embermq and
# compiles a file that asserts the menuconfig values it is given (the
# compile definitions reach a consumer); only that object is built (no
# cargo run).
mkdir -p "$TMP/named-src"
cat >"$TMP/named-src/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(fake_esp_idf_named LANGUAGES C)
set(ESP_PLATFORM 1)
get_filename_component(COMPONENT_NAME "${COMPONENT_DIR}" NAME)
set(COMPONENT_ALIAS "idf::${COMPONENT_NAME}")
function(idf_component_register)
    cmake_parse_arguments(ARG "WHOLE_ARCHIVE" "KCONFIG;KCONFIG_PROJBUILD" "SRCS;INCLUDE_DIRS;REQUIRES;PRIV_REQUIRES" ${ARGN})
    set(lib "__idf_${COMPONENT_NAME}")
    add_library(${lib} STATIC ${ARG_SRCS})
    set_target_properties(${lib} PROPERTIES OUTPUT_NAME ${COMPONENT_NAME})
    target_include_directories(${lib} PUBLIC ${ARG_INCLUDE_DIRS})
    add_library(${COMPONENT_ALIAS} ALIAS ${lib})
    set(COMPONENT_LIB ${lib} PARENT_SCOPE)
endfunction()
add_subdirectory("${COMPONENT_DIR}" "${COMPONENT_NAME}")
get_target_property(aliased embermq::embermq ALIASED_TARGET)
if(NOT aliased STREQUAL "__idf_${COMPONENT_NAME}")
    message(FATAL_ERROR "named check: embermq::embermq is '${aliased}', not __idf_${COMPONENT_NAME}")
endif()
add_library(__idf_main STATIC consumer.c)
target_link_libraries(__idf_main PRIVATE embermq::embermq)
message(STATUS "named check: component ${COMPONENT_NAME}, embermq::embermq -> ${aliased}")
EOF
cat >"$TMP/named-src/consumer.c" <<'EOF'
/* An application's code: the menuconfig values arrive as compile
 * definitions and fit emq_buffers and emq_options. */
#include <stddef.h>
#include "embermq.h"

_Static_assert(EMBERMQ_RX_BUFFER_SIZE == EXPECT_RX, "EMBERMQ_RX_BUFFER_SIZE");
_Static_assert(EMBERMQ_TX_BUFFER_SIZE == EXPECT_TX, "EMBERMQ_TX_BUFFER_SIZE");
_Static_assert(EMBERMQ_STORE_SIZE == EXPECT_STORE, "EMBERMQ_STORE_SIZE");
_Static_assert(EMBERMQ_PACKET_ID_SLOTS == EXPECT_SLOTS, "EMBERMQ_PACKET_ID_SLOTS");
_Static_assert(EMBERMQ_INBOUND_QOS2 == EXPECT_QOS2, "EMBERMQ_INBOUND_QOS2");
_Static_assert(EMBERMQ_MAX_SUBSCRIPTIONS == EXPECT_SUBS, "EMBERMQ_MAX_SUBSCRIPTIONS");
_Static_assert(EMBERMQ_SUBSCRIPTION_BYTES == EXPECT_SUB_BYTES, "EMBERMQ_SUBSCRIPTION_BYTES");
_Static_assert(EMBERMQ_LOG_LEVEL == EXPECT_LOG, "EMBERMQ_LOG_LEVEL");

static unsigned char rx[EMBERMQ_RX_BUFFER_SIZE], tx[EMBERMQ_TX_BUFFER_SIZE];
static unsigned char store[EMBERMQ_STORE_SIZE + 1];

void consumer_setup(struct emq_buffers *b, struct emq_options *o);
void consumer_setup(struct emq_buffers *b, struct emq_options *o)
{
    const struct emq_buffers buffers = {
        .rx = rx, .rx_size = sizeof rx, .tx = tx, .tx_size = sizeof tx,
        .store = EMBERMQ_STORE_SIZE ? store : NULL, .store_size = EMBERMQ_STORE_SIZE,
        .packet_ids = EMBERMQ_PACKET_ID_SLOTS, .inbound_qos2 = EMBERMQ_INBOUND_QOS2,
        .subscriptions = EMBERMQ_MAX_SUBSCRIPTIONS,
        .subscription_bytes = EMBERMQ_SUBSCRIPTION_BYTES,
    };
    *b = buffers;
    o->log_level = EMBERMQ_LOG_LEVEL;
}
EOF
named() { # <component dir> <expected: rx tx store slots qos2 subs bytes log> [cmake -D...]
    local dir="$1" name out
    read -r rx tx store slots qos2 subs bytes loglevel <<<"$2"
    shift 2
    name="$(basename "$dir")"
    out="$TMP/named-$name"
    cmake -G "Unix Makefiles" -S "$TMP/named-src" -B "$out" -DIDF_TARGET=esp32c3 -DCOMPONENT_DIR="$dir" \
        "-DCMAKE_C_FLAGS=-DEXPECT_RX=$rx -DEXPECT_TX=$tx -DEXPECT_STORE=$store -DEXPECT_SLOTS=$slots -DEXPECT_QOS2=$qos2 -DEXPECT_SUBS=$subs -DEXPECT_SUB_BYTES=$bytes -DEXPECT_LOG=$loglevel" \
        "$@" >"$out.log" 2>&1 || { cat "$out.log" >&2; fail "component named $name did not configure"; }
    grep -q "named check: component $name, embermq::embermq -> __idf_$name" "$out.log"
    (cd "$out" && make -f CMakeFiles/__idf_main.dir/build.make CMakeFiles/__idf_main.dir/consumer.c.o) \
        >"$out.build.log" 2>&1 || { cat "$out.build.log" >&2; fail "the consumer of $name does not compile with the expected values"; }
}
named "$TMP/managed_components/acme__embermq" "4096 2048 8192 16 12 6 300 4" \
    -DCONFIG_EMBERMQ_TABLES=y -DCONFIG_EMBERMQ_SUBSCRIPTIONS=y \
    -DCONFIG_EMBERMQ_RX_BUFFER_SIZE=4096 -DCONFIG_EMBERMQ_TX_BUFFER_SIZE=2048 -DCONFIG_EMBERMQ_STORE_SIZE=8192 \
    -DCONFIG_EMBERMQ_PACKET_ID_SLOTS=16 -DCONFIG_EMBERMQ_INBOUND_QOS2=12 \
    -DCONFIG_EMBERMQ_MAX_SUBSCRIPTIONS=6 -DCONFIG_EMBERMQ_SUBSCRIPTION_BYTES=300 -DCONFIG_EMBERMQ_LOG_LEVEL=4
echo "esp-idf: component acme__embermq (component manager's name): embermq::embermq -> __idf_acme__embermq;" \
     "CONFIG_EMBERMQ_* capacities and log level reach a consumer as EMBERMQ_* definitions"
# Without sdkconfig values (features off): the defaults, capacities 0.
named "$TMP/components/embermq" "1024 1024 2048 0 0 0 0 3"
echo "esp-idf: component embermq: without menuconfig values the definitions are the defaults (capacities 0, log level 3)"

# --- the esp32c3 library, built for real --------------------------------------
# With Debian's RISC-V GCC and picolibc (gcc-riscv64-unknown-elf,
# picolibc-riscv64-unknown-elf) the fake project is a RISC-V one that also
# links the application in ESP-IDF's order; without them only the library
# is built (host C compiler, cargo for riscv32imc).
RV_GCC=riscv64-unknown-elf-gcc
RV_FLAGS="-march=rv32imc -mabi=ilp32 --specs=picolibc.specs"
rv_link=0
# shellcheck disable=SC2086
if command -v "$RV_GCC" >/dev/null 2>&1 \
        && echo 'int main(void) { return 0; }' \
            | "$RV_GCC" $RV_FLAGS --oslib=semihost -x c - -o "$TMP/probe.elf" >/dev/null 2>&1; then
    rv_link=1
    cat >"$TMP/riscv32imc.cmake" <<EOF
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv32)
set(CMAKE_C_COMPILER $RV_GCC)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_C_FLAGS_INIT "$RV_FLAGS")
set(CMAKE_EXE_LINKER_FLAGS_INIT "--oslib=semihost -Wl,-y,memcpy -Wl,-y,memmove")
EOF
    configure "$TMP/esp32c3-rv" esp32c3 riscv32imc-unknown-none-elf \
        -DCMAKE_TOOLCHAIN_FILE="$TMP/riscv32imc.cmake" -DFAKE_IDF_LINK_APP=ON \
        || { cat "$TMP/esp32c3-rv.log" >&2; fail "esp32c3 with the RISC-V toolchain did not configure"; }
    c3="$TMP/esp32c3-rv"
    cmake --build "$c3" --target fake_app.elf >"$TMP/build.log" 2>&1 \
        || { cat "$TMP/build.log" >&2; fail "the esp32c3 application does not link with ESP-IDF's link order"; }
else
    c3="$TMP/esp32c3"
    cmake --build "$c3" --target embermq_firmware_cargo >"$TMP/build.log" 2>&1 \
        || { cat "$TMP/build.log" >&2; exit 1; }
fi
lib="$(find "$c3" -path '*embermq_firmware-libc/riscv32imc-unknown-none-elf/firmware/libembermq.a' | head -n 1)"
cargo_lib="$(find "$c3" -path '*cargo-target/riscv32imc-unknown-none-elf/firmware/libembermq.a' | head -n 1)"
[ -n "$lib" ] && [ -n "$cargo_lib" ] || fail "no riscv32imc staticlib built"
grep -q "made local in the Rust archive" "$TMP/build.log" || { cat "$TMP/build.log" >&2; fail "the libc symbols were not made local"; }
echo "esp-idf: esp32c3 component library built ($(du -k "$lib" | cut -f1) KiB archive);" \
     "$(grep -o '[a-z, ]* made local in the Rust archive (.*)' "$TMP/build.log" | head -n 1 | sed 's/^ *//')"

# Global (or weak) definitions and undefined references of the C library's
# memory functions in an archive's members. readelf reads any ELF machine
# and, unlike nm, never hands the LLVM objects to a linker plugin.
MEM_RE='^(memcpy|memmove|memset|memcmp|bcmp|strlen)$'
mem_symbols() { # <archive> <dir>
    rm -rf "$2" && mkdir -p "$2"
    (cd "$2" && ar x "$1" && for member in *.o; do
        readelf -sW "$member" | awk -v m="$member" -v re="$MEM_RE" \
            '$8 ~ re && ($5 == "GLOBAL" || $5 == "WEAK") { print ($7 == "UND" ? "undefined" : "defined"), $8, m }'
    done)
}
mem_symbols "$cargo_lib" "$TMP/members-cargo" >"$TMP/mem-cargo.txt"
mem_symbols "$lib" "$TMP/members-linked" >"$TMP/mem-linked.txt"
# cargo's archive defines them (compiler_builtins, weak); the linked one
# must not, while the Rust code still calls them.
grep -q "^defined memcpy " "$TMP/mem-cargo.txt" || fail "expected compiler_builtins' memcpy in cargo's archive"
if grep "^defined " "$TMP/mem-linked.txt" >&2; then
    fail "the archive the component links still defines C library functions"
fi
grep -qE "^undefined (memcpy|memmove|memset) embermq" "$TMP/mem-linked.txt" \
    || fail "no call from the Rust code to the C library's memory functions found"
echo "esp-idf: cargo's archive defines $(grep -c '^defined ' "$TMP/mem-cargo.txt") of memcpy/memmove/memset/memcmp/bcmp/strlen;" \
     "the linked one none (local), its Rust code calls the C library's"

if [ "$rv_link" = 1 ]; then
    # ld -y: who defines memcpy/memmove in the linked application.
    for sym in memcpy memmove; do
        def="$(grep -E ": definition of $sym\$" "$TMP/build.log" || true)"
        [ "$(grep -c . <<<"$def")" = 1 ] || { cat "$TMP/build.log" >&2; fail "$sym: expected one definition"; }
        grep -q "libc\.a(" <<<"$def" && ! grep -q "libembermq\.a" <<<"$def" \
            || { echo "$def" >&2; fail "the application's $sym does not come from the C library"; }
        echo "esp-idf: esp32c3 application (RISC-V GCC, ESP-IDF's link order): $sym from ${def##*/}"
    done
else
    echo "esp-idf: esp32c3 application link skipped (no $RV_GCC with picolibc)"
fi

# --- IDF_TARGET=linux: link and run ------------------------------------------
# Link an application as ESP-IDF does (the elf's object, the `main`
# component's library, the embermq component's library, then the Rust
# archive it links), with the host gcc: IDF_TARGET=linux builds the host
# no_std staticlib. Every symbol must resolve, emq_platform_abort (in the
# component's library, called from the archive) included; the app runs; its
# memcpy is the C library's.
configure "$TMP/linux" linux host -DFAKE_IDF_LINK_APP=ON "-DCMAKE_EXE_LINKER_FLAGS=-Wl,-y,memcpy" \
    || { cat "$TMP/linux.log" >&2; exit 1; }
grep -q "esp-idf check: linux -> host: ok" "$TMP/linux.log"
cmake --build "$TMP/linux" --target fake_app.elf >"$TMP/link.log" 2>&1 \
    || { cat "$TMP/link.log" >&2; fail "the application does not link with ESP-IDF's link order"; }
"$TMP/linux/fake_app.elf" || fail "the linked application failed"
def="$(grep -E ": definition of memcpy\$" "$TMP/link.log" || true)"
grep -q "libc\.so" <<<"$def" && ! grep -q "libembermq" <<<"$def" \
    || { cat "$TMP/link.log" >&2; fail "the linux application's memcpy does not come from the C library"; }
echo "esp-idf: linux (host gcc) application linked with ESP-IDF's link order and ran; memcpy from ${def##*/}"
echo "check-esp-idf-cmake: ok"
