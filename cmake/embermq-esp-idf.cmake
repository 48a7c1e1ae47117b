# ESP-IDF component mode: included by CMakeLists.txt when ESP-IDF builds this
# directory as a component (ESP_PLATFORM set).
#
# ESP-IDF reads a component's CMakeLists.txt twice:
# 1. the early component scan (CMAKE_BUILD_EARLY_EXPANSION): a separate
#    `cmake -P` process in script mode, which only wants the requirements
#    and the Kconfig file from idf_component_register (whose early version
#    returns from this file). It sees ESP_PLATFORM and the build properties
#    (IDF_TARGET), but neither `idf.py -D...` variables nor CONFIG_ values,
#    and cannot run targets or find tools: nothing before
#    idf_component_register may choose, find or fail.
# 2. the build phase (add_subdirectory), with sdkconfig's CONFIG_ values,
#    the -D cache variables and the toolchain: here the Rust target is
#    chosen, cargo found and the staticlib added.
#
# Installed by the component manager the component is named
# <namespace>__embermq (its directory's name); nothing here depends on the
# name (${COMPONENT_LIB} is whatever ESP-IDF made), and embermq::embermq
# names the component library under either name.
idf_component_register(SRCS "port/esp-idf/emq_platform_abort.c"
                       INCLUDE_DIRS "include"
                       KCONFIG "${CMAKE_CURRENT_LIST_DIR}/../port/esp-idf/Kconfig")
if(CMAKE_BUILD_EARLY_EXPANSION)
    # ESP-IDF's early idf_component_register already returned; other
    # scanners (and the check) may not.
    return()
endif()

include("${CMAKE_CURRENT_LIST_DIR}/embermq-firmware.cmake")
set(_embermq_root "${CMAKE_CURRENT_LIST_DIR}/..")

# The Rust target for an ESP-IDF IDF_TARGET. RISC-V chips build with the
# stock rustup targets; IDF_TARGET linux (ESP-IDF's host target) gives an
# empty target: the host build. The Xtensa chips (ESP32, -S2, -S3) have no
# stock Rust target: they stop with an explanation unless the Rust target is
# set (menuconfig or -DEMBERMQ_RUST_TARGET) to one Espressif's toolchain has.
function(embermq_rust_target_for_idf idf_target out_var)
    if(idf_target STREQUAL "linux")
        set(target "")
    elseif(idf_target MATCHES "^esp32c(2|3)$")
        # RV32IMC cores.
        set(target riscv32imc-unknown-none-elf)
    elseif(idf_target MATCHES "^(esp32c5|esp32c6|esp32c61|esp32h2)$")
        # RV32IMAC cores (atomics).
        set(target riscv32imac-unknown-none-elf)
    elseif(idf_target STREQUAL "esp32p4")
        # RV32IMAFC cores (single-precision FPU, hard-float ABI).
        set(target riscv32imafc-unknown-none-elf)
    elseif(idf_target MATCHES "^esp32(s2|s3)?$")
        message(FATAL_ERROR
            "embermq: IDF_TARGET '${idf_target}' is an Xtensa chip. Stock Rust has no "
            "Xtensa backend: install Espressif's Rust toolchain with espup "
            "(`cargo install espup && espup install`, then `. ~/export-esp.sh`), and "
            "set the Rust target: in menuconfig (Component config -> embermq -> Rust build "
            "-> Rust target), e.g. with the line "
            "CONFIG_EMBERMQ_RUST_TARGET=\"xtensa-${idf_target}-none-elf\" in sdkconfig.defaults, "
            "or with `idf.py -DEMBERMQ_RUST_TARGET=xtensa-${idf_target}-none-elf build`. "
            "The rustup toolchain is esp on Xtensa chips (CONFIG_EMBERMQ_CARGO_TOOLCHAIN, "
            "or -DEMBERMQ_CARGO_TOOLCHAIN=esp), which builds core with -Zbuild-std. "
            "RISC-V chips (esp32c2/c3/c5/c6/h2/p4) need no extra toolchain.")
    else()
        message(FATAL_ERROR
            "embermq: no Rust target known for IDF_TARGET '${idf_target}'; "
            "set CONFIG_EMBERMQ_RUST_TARGET (menuconfig) or -DEMBERMQ_RUST_TARGET "
            "to the rustc target triple")
    endif()
    set(${out_var} "${target}" PARENT_SCOPE)
endfunction()

# Rust target and toolchain: idf.py -D... first, then menuconfig
# (port/esp-idf/Kconfig, "Rust build"), then the chip's default.
if(EMBERMQ_RUST_TARGET)
    set(_embermq_rust_target "${EMBERMQ_RUST_TARGET}")
elseif(CONFIG_EMBERMQ_RUST_TARGET)
    set(_embermq_rust_target "${CONFIG_EMBERMQ_RUST_TARGET}")
else()
    embermq_rust_target_for_idf("${IDF_TARGET}" _embermq_rust_target)
endif()
if(EMBERMQ_CARGO_TOOLCHAIN)
    set(_embermq_toolchain "${EMBERMQ_CARGO_TOOLCHAIN}")
else()
    set(_embermq_toolchain "${CONFIG_EMBERMQ_CARGO_TOOLCHAIN}")
endif()
if(_embermq_rust_target MATCHES "^xtensa-" AND NOT _embermq_toolchain)
    message(FATAL_ERROR
        "embermq: the Rust target ${_embermq_rust_target} needs Espressif's Rust toolchain: "
        "set CONFIG_EMBERMQ_CARGO_TOOLCHAIN to esp (menuconfig: Component config -> embermq "
        "-> Rust build) or pass -DEMBERMQ_CARGO_TOOLCHAIN=esp")
endif()

find_program(EMBERMQ_CARGO cargo HINTS "$ENV{CARGO_HOME}/bin" "$ENV{HOME}/.cargo/bin")
if(NOT EMBERMQ_CARGO)
    message(FATAL_ERROR "embermq: cargo not found; install Rust (rustup) and "
                        "`rustup target add ${_embermq_rust_target}`")
endif()
set(EMBERMQ_OBJCOPY "" CACHE FILEPATH
    "objcopy that localizes the Rust archive's memcpy & co (empty: the Rust toolchain's, then llvm-objcopy, then CMAKE_OBJCOPY)")

# Cargo features from menuconfig (sdkconfig.cmake sets CONFIG_EMBERMQ_<FEATURE>
# to y or to nothing).
set(_embermq_features "")
foreach(_embermq_feature reconnect tables subscriptions log-events ack-events persistence lock-hooks connect-start offline-queue drop-unacked borrowed-callbacks mqtt5 websocket paho)
    string(TOUPPER "${_embermq_feature}" _embermq_option)
    string(REPLACE "-" "_" _embermq_option "CONFIG_EMBERMQ_${_embermq_option}")
    if(${_embermq_option})
        list(APPEND _embermq_features "${_embermq_feature}")
    endif()
endforeach()

# LIBC_SYMBOLS: the compiler_builtins copies of these C library functions
# in the Rust archive are made local, so the firmware keeps ESP-IDF's own
# (in ROM, or placed in IRAM for code that runs with the flash cache off)
# and the Rust code calls them too. Without it, the Rust archive, linked
# before the C library, would define memcpy & co for the whole application.
embermq_add_firmware_library(embermq_firmware
    SOURCE_DIR "${_embermq_root}"
    TARGET_DIR "${CMAKE_CURRENT_BINARY_DIR}/cargo-target"
    CARGO "${EMBERMQ_CARGO}"
    RUST_TARGET "${_embermq_rust_target}"
    TOOLCHAIN "${_embermq_toolchain}"
    FEATURES ${_embermq_features}
    LIBC_SYMBOLS memcpy memmove memset memcmp bcmp strlen
    OBJCOPY "${EMBERMQ_OBJCOPY}")

# Capacities and log level from menuconfig, as compile definitions of the
# component's users (CONFIG_EMBERMQ_<NAME> -> EMBERMQ_<NAME>), carried by the
# firmware library the component links: always defined, 0 for a capacity
# whose feature is off (the built-in default), the emq_options default log
# level (EMQ_LOG_INFO) without sdkconfig.
set(_embermq_definitions "")
foreach(_embermq_pair RX_BUFFER_SIZE:1024 TX_BUFFER_SIZE:1024 STORE_SIZE:2048
                      PACKET_ID_SLOTS:0 INBOUND_QOS2:0 MAX_SUBSCRIPTIONS:0
                      SUBSCRIPTION_BYTES:0 LOG_LEVEL:3)
    string(REPLACE ":" ";" _embermq_pair "${_embermq_pair}")
    list(GET _embermq_pair 0 _embermq_name)
    list(GET _embermq_pair 1 _embermq_value)
    if(NOT "${CONFIG_EMBERMQ_${_embermq_name}}" STREQUAL "")
        set(_embermq_value "${CONFIG_EMBERMQ_${_embermq_name}}")
    endif()
    list(APPEND _embermq_definitions "EMBERMQ_${_embermq_name}=${_embermq_value}")
endforeach()
set_property(TARGET embermq_firmware APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS ${_embermq_definitions})

# Users of the component see the firmware declarations of embermq.h.
target_compile_definitions(${COMPONENT_LIB} PUBLIC EMBERMQ_FIRMWARE=1)
# ESP-IDF links the component's library before the Rust archive, so the
# archive's call to emq_platform_abort (the component's own hook) would find
# nothing left to pull it from: `-u` makes the linker take the hook's object
# from the component's library (ld reads -u before any archive, wherever it
# stands on the command line), as ESP-IDF's own components do for hooks.
target_link_libraries(${COMPONENT_LIB} INTERFACE embermq_firmware "-u emq_platform_abort")
# The same library under a name that does not depend on the component's
# (embermq in components/, <namespace>__embermq from the component manager).
if(NOT TARGET embermq::embermq)
    add_library(embermq::embermq ALIAS ${COMPONENT_LIB})
endif()
message(STATUS "embermq: ESP-IDF component ${COMPONENT_NAME} for ${IDF_TARGET}, "
               "Rust target ${_embermq_rust_target}, toolchain '${_embermq_toolchain}', "
               "features: ${_embermq_features}")
