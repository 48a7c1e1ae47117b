# Builds embermq's firmware library: the no_std staticlib (no allocator, C
# transport and clock callbacks, panic handler calling emq_platform_abort)
# with cargo's `firmware` profile (release with opt-level "z", LTO, one
# codegen unit, panic = "abort").
#
#   embermq_add_firmware_library(<name>
#       SOURCE_DIR <embermq checkout> TARGET_DIR <cargo --target-dir>
#       CARGO <path to cargo>
#       [RUST_TARGET <triple>]   # empty: the host (for host-run tests)
#       [TOOLCHAIN <rustup toolchain>] # e.g. esp (espup) for Xtensa
#       [FEATURES <cargo feature>...])
#
# Defines the imported static library <name>, which brings include/ and
# EMBERMQ_FIRMWARE=1 (the header's firmware declarations) to its users,
# and sets <name>_LOCATION in the caller's scope to the .a path.
include_guard(GLOBAL)

function(embermq_add_firmware_library name)
    cmake_parse_arguments(ARG "" "SOURCE_DIR;TARGET_DIR;CARGO;RUST_TARGET;TOOLCHAIN" "FEATURES" ${ARGN})
    set(features panic-handler ${ARG_FEATURES})
    list(JOIN features "," features)
    if(ARG_RUST_TARGET)
        set(target_args --target "${ARG_RUST_TARGET}")
        set(out_dir "${ARG_TARGET_DIR}/${ARG_RUST_TARGET}/firmware")
    else()
        set(target_args "")
        set(out_dir "${ARG_TARGET_DIR}/firmware")
    endif()
    set(toolchain_args "")
    if(ARG_TOOLCHAIN)
        # A rustup toolchain without rust-std for the target (Espressif's
        # Xtensa toolchain) builds core from source.
        set(toolchain_args "+${ARG_TOOLCHAIN}")
        list(APPEND target_args -Zbuild-std=core)
    endif()
    set(library "${out_dir}/libembermq.a")
    set(stamp "${CMAKE_CURRENT_BINARY_DIR}/${name}-cargo.stamp")
    file(GLOB_RECURSE sources CONFIGURE_DEPENDS "${ARG_SOURCE_DIR}/src/*.rs")
    add_custom_command(
        OUTPUT "${stamp}"
        BYPRODUCTS "${library}"
        # `cargo rustc --crate-type staticlib`: only the staticlib (a cdylib
        # cannot be built for bare-metal targets).
        COMMAND "${ARG_CARGO}" ${toolchain_args} rustc --lib --crate-type staticlib --profile firmware
                --no-default-features --features "${features}"
                ${target_args}
                --manifest-path "${ARG_SOURCE_DIR}/Cargo.toml"
                --target-dir "${ARG_TARGET_DIR}"
        COMMAND "${CMAKE_COMMAND}" -E touch "${stamp}"
        DEPENDS ${sources} "${ARG_SOURCE_DIR}/Cargo.toml" "${ARG_SOURCE_DIR}/Cargo.lock"
        WORKING_DIRECTORY "${ARG_SOURCE_DIR}"
        COMMENT "cargo: building embermq firmware library (${ARG_RUST_TARGET})"
        USES_TERMINAL
        VERBATIM)
    add_custom_target(${name}_cargo ALL DEPENDS "${stamp}")
    add_library(${name} STATIC IMPORTED GLOBAL)
    set_target_properties(${name} PROPERTIES
        IMPORTED_LOCATION "${library}"
        INTERFACE_INCLUDE_DIRECTORIES "${ARG_SOURCE_DIR}/include"
        INTERFACE_COMPILE_DEFINITIONS "EMBERMQ_FIRMWARE=1"
        # The --features list cargo gets (read by the ESP-IDF check).
        EMBERMQ_CARGO_FEATURES "${features}")
    add_dependencies(${name} ${name}_cargo)
    set(${name}_LOCATION "${library}" PARENT_SCOPE)
endfunction()

# The Rust target for a CMAKE_SYSTEM_PROCESSOR value (as a toolchain file
# sets it), or a FATAL_ERROR naming EMBERMQ_RUST_TARGET for the others.
function(embermq_rust_target_for_processor processor out_var)
    string(TOLOWER "${processor}" p)
    if(p MATCHES "^(cortex-m4|cortex-m4f|cortex-m7|armv7e-m|armv7em)$")
        set(target thumbv7em-none-eabihf)
    elseif(p MATCHES "^(cortex-m3|armv7-m|armv7m)$")
        set(target thumbv7m-none-eabi)
    elseif(p MATCHES "^(cortex-m0|cortex-m0plus|cortex-m1|armv6-m|armv6m)$")
        set(target thumbv6m-none-eabi)
    elseif(p MATCHES "^(cortex-m33|armv8-m.main)$")
        set(target thumbv8m.main-none-eabihf)
    elseif(p MATCHES "^(riscv32|riscv32imc|rv32imc)$")
        set(target riscv32imc-unknown-none-elf)
    elseif(p MATCHES "^(riscv32imac|rv32imac)$")
        set(target riscv32imac-unknown-none-elf)
    else()
        message(FATAL_ERROR
            "embermq: no Rust target known for CMAKE_SYSTEM_PROCESSOR '${processor}'; "
            "set EMBERMQ_RUST_TARGET to the rustc target triple "
            "(e.g. -DEMBERMQ_RUST_TARGET=thumbv7em-none-eabihf)")
    endif()
    set(${out_var} "${target}" PARENT_SCOPE)
endfunction()

# The Rust target for an ESP-IDF IDF_TARGET. RISC-V chips build with the
# stock rustup targets; the Xtensa chips (ESP32, -S2, -S3) need Espressif's
# Rust toolchain, so they stop with an explanation unless EMBERMQ_RUST_TARGET
# names a target that toolchain provides. IDF_TARGET linux (ESP-IDF's host
# target) gives an empty target: the host build.
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
            "configure with -DEMBERMQ_RUST_TARGET=xtensa-${idf_target}-none-elf "
            "and -DEMBERMQ_CARGO_TOOLCHAIN=esp (which builds core with -Zbuild-std). "
            "RISC-V chips (esp32c2/c3/c5/c6/h2/p4) need no extra toolchain.")
    else()
        message(FATAL_ERROR
            "embermq: no Rust target known for IDF_TARGET '${idf_target}'; "
            "set EMBERMQ_RUST_TARGET to the rustc target triple")
    endif()
    set(${out_var} "${target}" PARENT_SCOPE)
endfunction()
