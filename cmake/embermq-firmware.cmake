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
#       [FEATURES <cargo feature>...]
#       [LIBC_SYMBOLS <symbol>...]  # e.g. memcpy memmove memset memcmp
#       [OBJCOPY <objcopy>])        # first tool tried for LIBC_SYMBOLS
#
# Defines the imported static library <name>, which brings include/ and
# EMBERMQ_FIRMWARE=1 (the header's firmware declarations) to its users,
# with EMBERMQ_MQTT5=1 too when FEATURES has mqtt5 (the header's
# EMQ_CLIENT_STORAGE_SIZE then holds the MQTT 5 client) and
# EMBERMQ_BORROWED_CALLBACKS=1 when it has borrowed-callbacks
# (emq_client_set_callbacks then keeps the caller's struct), and sets
# <name>_LOCATION in the caller's scope to the .a path.
#
# LIBC_SYMBOLS (cross builds only): the staticlib carries compiler_builtins'
# memcpy/memmove/memset/memcmp/bcmp/strlen (weak); linked before the C
# library, they would become the whole firmware's. With LIBC_SYMBOLS their
# definitions are made local in a copy of the archive (objcopy
# --localize-symbol; cargo's own output is left as it is), so the Rust code
# and everything else call the C library's. The objcopy is the first that
# works of: OBJCOPY, the Rust toolchain's LLVM objcopy (llvm-tools'
# llvm-objcopy, or rust-objcopy, shipped with rustc), llvm-objcopy on the
# PATH, CMAKE_OBJCOPY (GNU objcopy too old for the relocations of LLVM's
# RISC-V objects fails, so it comes last); with none the archive is used as
# cargo made it, with a warning.
include_guard(GLOBAL)
set_property(GLOBAL PROPERTY EMBERMQ_FIRMWARE_CMAKE "${CMAKE_CURRENT_LIST_FILE}")

function(embermq_add_firmware_library name)
    cmake_parse_arguments(ARG "" "SOURCE_DIR;TARGET_DIR;CARGO;RUST_TARGET;TOOLCHAIN;OBJCOPY" "FEATURES;LIBC_SYMBOLS" ${ARGN})
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
    set(localize_command "")
    set(linked "${library}")
    if(ARG_LIBC_SYMBOLS AND ARG_RUST_TARGET)
        # The copy keeps cargo's layout (<target>/firmware/libembermq.a).
        set(linked "${CMAKE_CURRENT_BINARY_DIR}/${name}-libc/${ARG_RUST_TARGET}/firmware/libembermq.a")
        get_property(script GLOBAL PROPERTY EMBERMQ_FIRMWARE_CMAKE)
        list(JOIN ARG_LIBC_SYMBOLS "," symbols)
        set(localize_command COMMAND "${CMAKE_COMMAND}"
            "-DEMBERMQ_LOCALIZE_INPUT=${library}" "-DEMBERMQ_LOCALIZE_OUTPUT=${linked}"
            "-DEMBERMQ_LOCALIZE_SYMBOLS=${symbols}" "-DEMBERMQ_LOCALIZE_OBJCOPY=${ARG_OBJCOPY}"
            "-DEMBERMQ_LOCALIZE_FALLBACK=${CMAKE_OBJCOPY}" "-DEMBERMQ_LOCALIZE_CARGO=${ARG_CARGO}"
            "-DEMBERMQ_LOCALIZE_TOOLCHAIN=${ARG_TOOLCHAIN}"
            -P "${script}")
    endif()
    file(GLOB_RECURSE sources CONFIGURE_DEPENDS "${ARG_SOURCE_DIR}/src/*.rs")
    add_custom_command(
        OUTPUT "${stamp}"
        BYPRODUCTS "${library}" "${linked}"
        # `cargo rustc --crate-type staticlib`: only the staticlib (a cdylib
        # cannot be built for bare-metal targets).
        COMMAND "${ARG_CARGO}" ${toolchain_args} rustc --lib --crate-type staticlib --profile firmware
                --no-default-features --features "${features}"
                ${target_args}
                --manifest-path "${ARG_SOURCE_DIR}/Cargo.toml"
                --target-dir "${ARG_TARGET_DIR}"
        ${localize_command}
        COMMAND "${CMAKE_COMMAND}" -E touch "${stamp}"
        DEPENDS ${sources} "${ARG_SOURCE_DIR}/Cargo.toml" "${ARG_SOURCE_DIR}/Cargo.lock"
        WORKING_DIRECTORY "${ARG_SOURCE_DIR}"
        COMMENT "cargo: building embermq firmware library (${ARG_RUST_TARGET})"
        USES_TERMINAL
        VERBATIM)
    add_custom_target(${name}_cargo ALL DEPENDS "${stamp}")
    add_library(${name} STATIC IMPORTED GLOBAL)
    set(definitions EMBERMQ_FIRMWARE=1)
    if(",${features}," MATCHES ",mqtt5,")
        # The header's EMQ_CLIENT_STORAGE_SIZE then holds the MQTT 5 client.
        list(APPEND definitions EMBERMQ_MQTT5=1)
    endif()
    if(",${features}," MATCHES ",borrowed-callbacks,")
        # emq_client_set_callbacks then keeps a pointer to the caller's
        # emq_callbacks: C code can check which contract it builds against.
        list(APPEND definitions EMBERMQ_BORROWED_CALLBACKS=1)
    endif()
    set_target_properties(${name} PROPERTIES
        IMPORTED_LOCATION "${linked}"
        INTERFACE_INCLUDE_DIRECTORIES "${ARG_SOURCE_DIR}/include"
        INTERFACE_COMPILE_DEFINITIONS "${definitions}"
        # The --features list cargo gets (read by the ESP-IDF check).
        EMBERMQ_CARGO_FEATURES "${features}")
    add_dependencies(${name} ${name}_cargo)
    set(${name}_LOCATION "${linked}" PARENT_SCOPE)
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

# Script mode (the LIBC_SYMBOLS step, at build time): writes
# EMBERMQ_LOCALIZE_OUTPUT, a copy of EMBERMQ_LOCALIZE_INPUT with the
# comma-separated EMBERMQ_LOCALIZE_SYMBOLS made local, with the first objcopy
# that works (see embermq_add_firmware_library).
function(_embermq_localize_symbols)
    set(input "${EMBERMQ_LOCALIZE_INPUT}")
    set(output "${EMBERMQ_LOCALIZE_OUTPUT}")
    string(REPLACE "," ";" symbols "${EMBERMQ_LOCALIZE_SYMBOLS}")
    set(args "")
    foreach(symbol IN LISTS symbols)
        list(APPEND args "--localize-symbol=${symbol}")
    endforeach()
    set(tools "")
    if(EMBERMQ_LOCALIZE_OBJCOPY)
        list(APPEND tools "${EMBERMQ_LOCALIZE_OBJCOPY}")
    endif()
    # The Rust toolchain's objcopy: the LLVM that wrote the objects. Its
    # rust-objcopy loads the toolchain's libLLVM from <sysroot>/lib.
    get_filename_component(cargo_dir "${EMBERMQ_LOCALIZE_CARGO}" DIRECTORY)
    find_program(rustc NAMES rustc HINTS "${cargo_dir}" NO_DEFAULT_PATH)
    if(NOT rustc)
        find_program(rustc NAMES rustc)
    endif()
    if(rustc)
        set(plus "")
        if(EMBERMQ_LOCALIZE_TOOLCHAIN)
            set(plus "+${EMBERMQ_LOCALIZE_TOOLCHAIN}")
        endif()
        execute_process(COMMAND "${rustc}" ${plus} --print sysroot
                        OUTPUT_VARIABLE sysroot OUTPUT_STRIP_TRAILING_WHITESPACE
                        RESULT_VARIABLE sysroot_result ERROR_QUIET)
        execute_process(COMMAND "${rustc}" ${plus} -vV
                        OUTPUT_VARIABLE version RESULT_VARIABLE version_result ERROR_QUIET)
        if(sysroot_result EQUAL 0 AND version_result EQUAL 0 AND version MATCHES "host: ([^\r\n]+)")
            set(bin "${sysroot}/lib/rustlib/${CMAKE_MATCH_1}/bin")
            foreach(tool llvm-objcopy rust-objcopy)
                foreach(suffix "" ".exe")
                    if(EXISTS "${bin}/${tool}${suffix}")
                        list(APPEND tools "${bin}/${tool}${suffix}")
                    endif()
                endforeach()
            endforeach()
            if(CMAKE_HOST_WIN32)
                set(ENV{PATH} "${sysroot}/bin;$ENV{PATH}")
            else()
                foreach(var LD_LIBRARY_PATH DYLD_LIBRARY_PATH)
                    if("$ENV{${var}}" STREQUAL "")
                        set(ENV{${var}} "${sysroot}/lib")
                    else()
                        set(ENV{${var}} "${sysroot}/lib:$ENV{${var}}")
                    endif()
                endforeach()
            endif()
        endif()
    endif()
    find_program(llvm_objcopy NAMES llvm-objcopy)
    if(llvm_objcopy)
        list(APPEND tools "${llvm_objcopy}")
    endif()
    if(EMBERMQ_LOCALIZE_FALLBACK)
        list(APPEND tools "${EMBERMQ_LOCALIZE_FALLBACK}")
    endif()
    # Each attempt writes in a scratch directory (a failing GNU objcopy
    # leaves temporary files behind).
    set(scratch "${output}.localize")
    set(partial "${scratch}/libembermq.a")
    set(failures "")
    foreach(tool IN LISTS tools)
        file(REMOVE_RECURSE "${scratch}")
        file(MAKE_DIRECTORY "${scratch}")
        execute_process(COMMAND "${tool}" ${args} "${input}" "${partial}"
                        RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
        if(result EQUAL 0 AND EXISTS "${partial}")
            file(RENAME "${partial}" "${output}")
            file(REMOVE_RECURSE "${scratch}")
            list(JOIN symbols ", " shown)
            message(STATUS "embermq: ${shown} made local in the Rust archive (${tool})")
            return()
        endif()
        string(STRIP "${err}" err)
        string(REGEX REPLACE "\n.*" "" err "${err}")
        string(APPEND failures "\n  ${tool}: ${err}")
    endforeach()
    file(REMOVE_RECURSE "${scratch}")
    configure_file("${input}" "${output}" COPYONLY)
    list(JOIN symbols ", " shown)
    message(WARNING "embermq: no objcopy could make ${shown} local in ${input}; "
                    "the Rust archive's copies may replace the C library's in the firmware. "
                    "Set EMBERMQ_OBJCOPY to an llvm-objcopy (`rustup component add llvm-tools`)."
                    "${failures}")
endfunction()

if(CMAKE_SCRIPT_MODE_FILE AND DEFINED EMBERMQ_LOCALIZE_INPUT)
    _embermq_localize_symbols()
endif()
