# CMake toolchain file for Cortex-M firmware with the GNU Arm Embedded
# toolchain (Debian: gcc-arm-none-eabi, libnewlib-arm-none-eabi).
#
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm-none-eabi.cmake \
#         [-DEMBERMQ_ARM_CPU=cortex-m4] ...
#
# CMAKE_SYSTEM_PROCESSOR is set to the CPU, from which embermq's
# CMakeLists.txt picks the Rust target (cortex-m4 with its FPU ->
# thumbv7em-none-eabihf); EMBERMQ_RUST_TARGET overrides that choice.
set(CMAKE_SYSTEM_NAME Generic)
set(EMBERMQ_ARM_CPU "cortex-m4" CACHE STRING "Cortex-M CPU (-mcpu), e.g. cortex-m4, cortex-m7, cortex-m3, cortex-m0plus")
set(CMAKE_SYSTEM_PROCESSOR "${EMBERMQ_ARM_CPU}")

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_AR arm-none-eabi-ar)
set(CMAKE_RANLIB arm-none-eabi-ranlib)
set(CMAKE_OBJCOPY arm-none-eabi-objcopy)
set(CMAKE_SIZE arm-none-eabi-size)

# No OS to run a test program on: check the compiler with a static library.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

if(EMBERMQ_ARM_CPU MATCHES "^cortex-m(4|7)$")
    # The FPU-enabled parts, with the hard-float ABI of thumbv7em-none-eabihf.
    if(EMBERMQ_ARM_CPU STREQUAL "cortex-m4")
        set(_embermq_fpu "-mfpu=fpv4-sp-d16")
    else()
        set(_embermq_fpu "-mfpu=fpv5-d16")
    endif()
    set(_embermq_arch_flags "-mcpu=${EMBERMQ_ARM_CPU} -mthumb -mfloat-abi=hard ${_embermq_fpu}")
else()
    set(_embermq_arch_flags "-mcpu=${EMBERMQ_ARM_CPU} -mthumb")
endif()
set(CMAKE_C_FLAGS_INIT "${_embermq_arch_flags} -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${_embermq_arch_flags}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_embermq_arch_flags} -Wl,--gc-sections")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
