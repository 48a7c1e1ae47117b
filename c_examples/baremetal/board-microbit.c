/* QEMU microbit (nRF51822, Cortex-M0): the nRF51 UART and TIMER0 as a
 * polled millisecond clock (the nRF51 has no SysTick). */
#include "board.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

/* UART0 at 0x40002000. */
#define UART_STARTRX REG(0x40002000u)
#define UART_STARTTX REG(0x40002008u)
#define UART_EVENTS_RXDRDY REG(0x40002108u)
#define UART_EVENTS_TXDRDY REG(0x4000211Cu)
#define UART_ENABLE REG(0x40002500u)
#define UART_RXD REG(0x40002518u)
#define UART_TXD REG(0x4000251Cu)
#define UART_BAUDRATE REG(0x40002524u)

/* TIMER0 at 0x40008000: 16 MHz >> PRESCALER. */
#define TIMER0_START REG(0x40008000u)
#define TIMER0_CLEAR REG(0x4000800Cu)
#define TIMER0_CAPTURE0 REG(0x40008040u)
#define TIMER0_MODE REG(0x40008504u)
#define TIMER0_BITMODE REG(0x40008508u)
#define TIMER0_PRESCALER REG(0x40008510u)
#define TIMER0_CC0 REG(0x40008540u)
#define TICKS_PER_MS 1000u /* prescaler 4: 1 MHz */

/* The clock: whole milliseconds counted from the free-running 32-bit
 * counter, read often enough (it wraps after 71 minutes). */
static uint32_t clock_base_ticks, clock_ms;

void board_init(void)
{
    UART_ENABLE = 4;
    UART_BAUDRATE = 0x01D7E000u; /* 115200 (QEMU ignores it) */
    UART_EVENTS_RXDRDY = 0;
    UART_EVENTS_TXDRDY = 0;
    UART_STARTRX = 1;
    UART_STARTTX = 1;

    TIMER0_MODE = 0;      /* timer */
    TIMER0_BITMODE = 3;   /* 32 bit */
    TIMER0_PRESCALER = 4; /* 1 MHz */
    TIMER0_CLEAR = 1;
    TIMER0_START = 1;
}

uint32_t board_now_ms(void)
{
    uint32_t now, whole;
    TIMER0_CAPTURE0 = 1;
    now = TIMER0_CC0;
    whole = (now - clock_base_ticks) / TICKS_PER_MS;
    clock_base_ticks += whole * TICKS_PER_MS;
    clock_ms += whole;
    return clock_ms;
}

void uart_write_byte(uint8_t byte)
{
    UART_EVENTS_TXDRDY = 0;
    UART_TXD = byte;
    while (UART_EVENTS_TXDRDY == 0) {
    }
}

bool uart_read_byte(uint8_t *byte)
{
    if (UART_EVENTS_RXDRDY == 0) {
        return false;
    }
    UART_EVENTS_RXDRDY = 0; /* set again by the read if more bytes wait */
    *byte = (uint8_t)UART_RXD;
    return true;
}
