# ESP-IDF component mode: included by CMakeLists.txt when ESP-IDF builds this
# directory as a component (ESP_PLATFORM set). Maps IDF_TARGET to the Rust
# target, registers the component (include/ and the emq_platform_abort
# hook), builds the no_std staticlib with cargo and links it into the
# component. ESP-IDF evaluates component CMakeLists twice; the first pass
# (CMAKE_BUILD_EARLY_EXPANSION, script mode) only registers.
include("${CMAKE_CURRENT_LIST_DIR}/embermq-firmware.cmake")

set(_embermq_root "${CMAKE_CURRENT_LIST_DIR}/..")
if(EMBERMQ_RUST_TARGET)
    set(_embermq_rust_target "${EMBERMQ_RUST_TARGET}")
else()
    embermq_rust_target_for_idf("${IDF_TARGET}" _embermq_rust_target)
endif()

idf_component_register(SRCS "port/esp-idf/emq_platform_abort.c"
                       INCLUDE_DIRS "include"
                       KCONFIG "${CMAKE_CURRENT_LIST_DIR}/../port/esp-idf/Kconfig")
if(CMAKE_BUILD_EARLY_EXPANSION)
    return()
endif()

find_program(EMBERMQ_CARGO cargo HINTS "$ENV{CARGO_HOME}/bin" "$ENV{HOME}/.cargo/bin")
if(NOT EMBERMQ_CARGO)
    message(FATAL_ERROR "embermq: cargo not found; install Rust (rustup) and "
                        "`rustup target add ${_embermq_rust_target}`")
endif()
set(EMBERMQ_CARGO_TOOLCHAIN "" CACHE STRING "rustup toolchain for cargo (esp for Espressif's Xtensa toolchain)")
# Cargo features from menuconfig (port/esp-idf/Kconfig; sdkconfig.cmake sets
# CONFIG_EMBERMQ_<FEATURE> to y or to nothing).
set(_embermq_features "")
foreach(_embermq_feature reconnect tables subscriptions log-events persistence lock-hooks paho)
    string(TOUPPER "${_embermq_feature}" _embermq_option)
    string(REPLACE "-" "_" _embermq_option "CONFIG_EMBERMQ_${_embermq_option}")
    if(${_embermq_option})
        list(APPEND _embermq_features "${_embermq_feature}")
    endif()
endforeach()
embermq_add_firmware_library(embermq_firmware
    SOURCE_DIR "${_embermq_root}"
    TARGET_DIR "${CMAKE_CURRENT_BINARY_DIR}/cargo-target"
    CARGO "${EMBERMQ_CARGO}"
    RUST_TARGET "${_embermq_rust_target}"
    TOOLCHAIN "${EMBERMQ_CARGO_TOOLCHAIN}"
    FEATURES ${_embermq_features})
# Users of the component see the firmware declarations of embermq.h.
target_compile_definitions(${COMPONENT_LIB} PUBLIC EMBERMQ_FIRMWARE=1)
# ESP-IDF links the component's library before the Rust archive, so the
# archive's call to emq_platform_abort (the component's own hook) would find
# nothing left to pull it from: `-u` makes the linker take the hook's object
# from the component's library (ld reads -u before any archive, wherever it
# stands on the command line), as ESP-IDF's own components do for hooks.
target_link_libraries(${COMPONENT_LIB} INTERFACE embermq_firmware "-u emq_platform_abort")
message(STATUS "embermq: ESP-IDF component for ${IDF_TARGET}, Rust target ${_embermq_rust_target}, features: ${_embermq_features}")
