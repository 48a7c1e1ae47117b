/* RV32 startup for QEMU virt (machine mode, from -bios none): global and
 * stack pointers, a trap vector that reports any exception as a failure,
 * .data/.bss set-up, then main(); main's result becomes the semihosting
 * exit. No interrupts are enabled: the clock is polled. */
#include <stdint.h>
#include <string.h>

#include "board.h"

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];

int main(void);
void _start(void);

/* mtvec (direct mode) needs a 4-byte aligned handler. No interrupt is
 * enabled: whatever comes here is an exception, and ends the run. */
__attribute__((aligned(4), noreturn, used)) static void trap_handler(void)
{
    uint32_t mcause, mepc;
    char digits[11];
    __asm volatile(".option push\n"
                   ".option arch, +zicsr\n"
                   "csrr %0, mcause\n"
                   "csrr %1, mepc\n"
                   ".option pop\n"
                   : "=r"(mcause), "=r"(mepc));
    semihost_write("FAIL: exception, mcause ");
    semihost_write(board_utoa(mcause, digits));
    semihost_write(", mepc ");
    semihost_write(board_utoa(mepc, digits));
    semihost_write("\n");
    semihost_exit(false);
}

/* The CPU's extensions (misa), printed, and checked against what the
 * firmware is built for: run as an ESP32-C3's RV32IMC core, the QEMU CPU
 * must have no A, F or D (scripts/run-baremetal.sh turns them off). */
static bool check_misa(void)
{
    uint32_t misa;
    char letters[27];
    int i, n = 0;
    __asm volatile(".option push\n"
                   ".option arch, +zicsr\n"
                   "csrr %0, misa\n"
                   ".option pop\n"
                   : "=r"(misa));
    for (i = 0; i < 26; i++) {
        if (misa & (1u << i)) {
            letters[n++] = (char)('A' + i);
        }
    }
    letters[n] = '\0';
    semihost_write("board " BOARD_NAME ": misa extensions ");
    semihost_write(letters);
    semihost_write("\n");
#if !defined(__riscv_atomic) && !defined(__riscv_flen)
    if (misa & ((1u << ('A' - 'A')) | (1u << ('F' - 'A')) | (1u << ('D' - 'A')))) {
        semihost_write("FAIL: the CPU has A, F or D; run it as RV32IMC\n");
        return false;
    }
#endif
    return true;
}

__attribute__((noreturn, used)) static void reset_c(void)
{
    memcpy(_sdata, _sidata, (size_t)((uintptr_t)_edata - (uintptr_t)_sdata));
    memset(_sbss, 0, (size_t)((uintptr_t)_ebss - (uintptr_t)_sbss));
    semihost_exit(check_misa() && main() == 0);
}

/* gp must be loaded without relaxation (it would be relative to itself). */
__asm__(".section .text.start, \"ax\", @progbits\n"
        ".globl _start\n"
        "_start:\n"
        ".option push\n"
        ".option norelax\n"
        "    la gp, __global_pointer$\n"
        ".option pop\n"
        "    la sp, _thread_stack_top\n"
        "    la t0, trap_handler\n"
        /* -march=rv32imc: GCC 12 keeps the CSR instructions apart (Zicsr) */
        ".option push\n"
        ".option arch, +zicsr\n"
        "    csrw mtvec, t0\n"
        ".option pop\n"
        "    j reset_c\n");
