# Builds embermq's firmware library: the no_std staticlib (no allocator, C
# transport and clock callbacks, panic handler calling emq_platform_abort)
# with cargo's `firmware` profile (release with opt-level "z", LTO, one
# codegen unit, panic = "abort").
#
#   embermq_add_firmware_library(<name>
#       SOURCE_DIR <embermq checkout> TARGET_DIR <cargo --target-dir>
#       CARGO <path to cargo>
#       [RUST_TARGET <triple>]   # empty: the host (for host-run tests)
#       [FEATURES <cargo feature>...])
#
# Defines the imported static library <name>, which brings include/ and
# EMBERMQ_FIRMWARE=1 (the header's firmware declarations) to its users,
# and sets <name>_LOCATION in the caller's scope to the .a path.
include_guard(GLOBAL)

function(embermq_add_firmware_library name)
    cmake_parse_arguments(ARG "" "SOURCE_DIR;TARGET_DIR;CARGO;RUST_TARGET" "FEATURES" ${ARGN})
    set(features panic-handler ${ARG_FEATURES})
    list(JOIN features "," features)
    if(ARG_RUST_TARGET)
        set(target_args --target "${ARG_RUST_TARGET}")
        set(out_dir "${ARG_TARGET_DIR}/${ARG_RUST_TARGET}/firmware")
    else()
        set(target_args "")
        set(out_dir "${ARG_TARGET_DIR}/firmware")
    endif()
    set(library "${out_dir}/libembermq.a")
    set(stamp "${CMAKE_CURRENT_BINARY_DIR}/${name}-cargo.stamp")
    file(GLOB_RECURSE sources CONFIGURE_DEPENDS "${ARG_SOURCE_DIR}/src/*.rs")
    add_custom_command(
        OUTPUT "${stamp}"
        BYPRODUCTS "${library}"
        COMMAND "${ARG_CARGO}" build --lib --profile firmware
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
        INTERFACE_COMPILE_DEFINITIONS "EMBERMQ_FIRMWARE=1")
    add_dependencies(${name} ${name}_cargo)
    set(${name}_LOCATION "${library}" PARENT_SCOPE)
endfunction()
