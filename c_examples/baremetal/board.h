/* What main.c needs from a board: a UART byte stream (the MQTT transport),
 * a millisecond clock, semihosting for the report and the exit code, and
 * the thread stack's bounds for the stack measurement. One implementation
 * per board, chosen by CMakeLists.txt (EMBERMQ_BAREMETAL_BOARD):
 *
 *   mps2-an386  Cortex-M4 (QEMU mps2-an386): board-mps2.c, startup-cortex-m.c, mps2.ld
 *   mps2-an385  Cortex-M3 (QEMU mps2-an385): the same files (same memory map, UART, SysTick)
 *   microbit    Cortex-M0 (QEMU microbit, nRF51822): board-microbit.c, startup-cortex-m.c, microbit.ld
 *   virt        RV32IMC (QEMU riscv32 virt): board-riscv-virt.c, startup-riscv.c, riscv-virt.ld
 *
 * semihost.c holds semihosting for both architectures. CMakeLists.txt
 * defines BOARD_NAME (the name above), which the client ids carry. */
#ifndef BOARD_H
#define BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef BOARD_NAME
#error "BOARD_NAME is not defined (CMakeLists.txt defines it for the board it builds)"
#endif

void board_init(void);
uint32_t board_now_ms(void);

/* The UART that QEMU's first -serial connects: polled, no interrupts. */
void uart_write_byte(uint8_t byte);
bool uart_read_byte(uint8_t *byte);

/* Semihosting (QEMU -semihosting-config enable=on): text to the host's
 * stdout, and exit (QEMU's exit code 0 for pass, 1 for fail). */
void semihost_write(const char *text);
__attribute__((noreturn)) void semihost_exit(bool pass);

/* Decimal text of `value` in `buf` (at least 11 bytes); returns buf. */
char *board_utoa(uint32_t value, char *buf);

/* The thread stack main() and embermq run on (from the linker script):
 * main.c paints it and measures the deepest use. Interrupts, if a board
 * has any, run on a stack of their own. */
extern uint32_t _thread_stack_bottom[];

static inline __attribute__((always_inline)) uintptr_t board_current_sp(void)
{
    uintptr_t sp;
#if defined(__riscv)
    __asm volatile("mv %0, sp" : "=r"(sp));
#else
    __asm volatile("mov %0, sp" : "=r"(sp));
#endif
    return sp;
}

#endif
