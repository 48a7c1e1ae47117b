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
                       INCLUDE_DIRS "include")
if(CMAKE_BUILD_EARLY_EXPANSION)
    return()
endif()

find_program(EMBERMQ_CARGO cargo HINTS "$ENV{CARGO_HOME}/bin" "$ENV{HOME}/.cargo/bin")
if(NOT EMBERMQ_CARGO)
    message(FATAL_ERROR "embermq: cargo not found; install Rust (rustup) and "
                        "`rustup target add ${_embermq_rust_target}`")
endif()
set(EMBERMQ_CARGO_TOOLCHAIN "" CACHE STRING "rustup toolchain for cargo (esp for Espressif's Xtensa toolchain)")
embermq_add_firmware_library(embermq_firmware
    SOURCE_DIR "${_embermq_root}"
    TARGET_DIR "${CMAKE_CURRENT_BINARY_DIR}/cargo-target"
    CARGO "${EMBERMQ_CARGO}"
    RUST_TARGET "${_embermq_rust_target}"
    TOOLCHAIN "${EMBERMQ_CARGO_TOOLCHAIN}")
# Users of the component see the firmware declarations of embermq.h.
target_compile_definitions(${COMPONENT_LIB} PUBLIC EMBERMQ_FIRMWARE=1)
target_link_libraries(${COMPONENT_LIB} INTERFACE embermq_firmware)
message(STATUS "embermq: ESP-IDF component for ${IDF_TARGET}, Rust target ${_embermq_rust_target}")
