/* QEMU mps2-an386 board support: the CMSDK APB UART0, a SysTick
 * millisecond clock, and ARM semihosting for output and the exit code. */
#ifndef BOARD_H
#define BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

/* The SysTick interrupt counts milliseconds here. */
extern volatile uint32_t board_ticks_ms;

void board_init(void);
uint32_t board_now_ms(void);

/* UART0 (CMSDK APB UART at 0x40004000): QEMU's first -serial. */
void uart_write_byte(uint8_t byte);
bool uart_read_byte(uint8_t *byte);

/* Semihosting (QEMU -semihosting): text to the host's stdout, and exit. */
void semihost_write(const char *text);
__attribute__((noreturn)) void semihost_exit(bool pass);

/* Decimal text of `value` in `buf` (at least 11 bytes); returns buf. */
char *board_utoa(uint32_t value, char *buf);

#endif
