# CMake toolchain file for RV32 firmware with a riscv*-unknown-elf GCC and
# picolibc (Debian: gcc-riscv64-unknown-elf, picolibc-riscv64-unknown-elf;
# Debian's multilib GCC builds 32-bit code with -march=rv32.. -mabi=ilp32).
#
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-riscv32-picolibc.cmake \
#         [-DEMBERMQ_RISCV_ARCH=rv32imc] [-DEMBERMQ_RISCV_ABI=ilp32] \
#         [-DEMBERMQ_RISCV_PREFIX=riscv64-unknown-elf-] ...
#
# CMAKE_SYSTEM_PROCESSOR is set to the ISA string, from which embermq's
# CMakeLists.txt picks the Rust target (rv32imc -> riscv32imc-unknown-none-elf,
# the ESP32-C2/C3 cores; rv32imac -> riscv32imac-unknown-none-elf);
# EMBERMQ_RUST_TARGET overrides that choice. Code is built for the ISA
# given; picolibc and libgcc come from the multilib GCC picks for it
# (rv32im/ilp32 for rv32imc on Debian 12, which has no rv32imc multilib:
# plain 32-bit instructions, which an RV32IMC core runs too).
set(CMAKE_SYSTEM_NAME Generic)
set(EMBERMQ_RISCV_ARCH "rv32imc" CACHE STRING "RISC-V ISA (-march), e.g. rv32imc, rv32imac")
set(EMBERMQ_RISCV_ABI "ilp32" CACHE STRING "RISC-V ABI (-mabi)")
set(EMBERMQ_RISCV_PREFIX "riscv64-unknown-elf-" CACHE STRING "GCC tool prefix (riscv64-unknown-elf-, riscv32-unknown-elf-, riscv-none-elf-)")
set(CMAKE_SYSTEM_PROCESSOR "${EMBERMQ_RISCV_ARCH}")

set(CMAKE_C_COMPILER ${EMBERMQ_RISCV_PREFIX}gcc)
set(CMAKE_ASM_COMPILER ${EMBERMQ_RISCV_PREFIX}gcc)
set(CMAKE_AR ${EMBERMQ_RISCV_PREFIX}ar)
set(CMAKE_RANLIB ${EMBERMQ_RISCV_PREFIX}ranlib)
set(CMAKE_OBJCOPY ${EMBERMQ_RISCV_PREFIX}objcopy)
set(CMAKE_SIZE ${EMBERMQ_RISCV_PREFIX}size)

# No OS to run a test program on: check the compiler with a static library.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# picolibc.specs: picolibc's headers and libc.a (its crt0 and linker
# script only when the firmware brings none: -nostartfiles, -T).
set(_embermq_arch_flags "-march=${EMBERMQ_RISCV_ARCH} -mabi=${EMBERMQ_RISCV_ABI} --specs=picolibc.specs")
set(CMAKE_C_FLAGS_INIT "${_embermq_arch_flags} -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${_embermq_arch_flags}")
# (The link line has CMAKE_C_FLAGS already: picolibc.specs must come once.)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--gc-sections")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
