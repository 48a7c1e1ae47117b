/* QEMU riscv32 virt (run as RV32IMC, machine mode, no interrupts): the
 * NS16550A UART at 0x10000000 and the CLINT's mtime (10 MHz) as a polled
 * millisecond clock. */
#include "board.h"

#define UART0 ((volatile uint8_t *)0x10000000u)
#define UART_RBR 0 /* receive buffer (read) */
#define UART_THR 0 /* transmit holding (write) */
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_LSR 5
#define LSR_DATA_READY 0x01u
#define LSR_THR_EMPTY 0x20u

/* The low word of the CLINT's 64-bit mtime. */
#define MTIME_LO (*(volatile uint32_t *)0x0200BFF8u)
#define MTIME_TICKS_PER_MS 10000u /* QEMU virt: timebase 10 MHz */

/* The clock: whole milliseconds counted from mtime's low word, read often
 * enough (it wraps after 429 s). */
static uint32_t clock_base_ticks, clock_ms;

void board_init(void)
{
    UART0[UART_IER] = 0x00; /* polled */
    UART0[UART_LCR] = 0x03; /* 8N1 (the divisor does not matter in QEMU) */
    UART0[UART_FCR] = 0x07; /* FIFOs on and cleared */
    clock_base_ticks = MTIME_LO;
}

uint32_t board_now_ms(void)
{
    uint32_t whole = (MTIME_LO - clock_base_ticks) / MTIME_TICKS_PER_MS;
    clock_base_ticks += whole * MTIME_TICKS_PER_MS;
    clock_ms += whole;
    return clock_ms;
}

void uart_write_byte(uint8_t byte)
{
    while (!(UART0[UART_LSR] & LSR_THR_EMPTY)) {
    }
    UART0[UART_THR] = byte;
}

bool uart_read_byte(uint8_t *byte)
{
    if (!(UART0[UART_LSR] & LSR_DATA_READY)) {
        return false;
    }
    *byte = UART0[UART_RBR];
    return true;
}
