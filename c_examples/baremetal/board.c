#include "board.h"

/* CMSDK APB UART registers. */
typedef struct {
    volatile uint32_t data;
    volatile uint32_t state; /* bit 0: TX full, bit 1: RX full */
    volatile uint32_t ctrl;  /* bit 0: TX enable, bit 1: RX enable */
    volatile uint32_t intstatus;
    volatile uint32_t bauddiv;
} cmsdk_uart;

#define UART0 ((cmsdk_uart *)0x40004000u)
#define UART_STATE_TX_FULL 1u
#define UART_STATE_RX_FULL 2u

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
/* mps2-an386 runs the core at 25 MHz. */
#define CORE_CLOCK_HZ 25000000u

volatile uint32_t board_ticks_ms;

void SysTick_Handler(void)
{
    board_ticks_ms++;
}

void board_init(void)
{
    UART0->bauddiv = 16; /* the smallest divider the UART accepts */
    UART0->ctrl = 3;     /* TX and RX on, no interrupts: polled */
    SYST_RVR = CORE_CLOCK_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7; /* processor clock, interrupt, enable */
}

uint32_t board_now_ms(void)
{
    return board_ticks_ms;
}

void uart_write_byte(uint8_t byte)
{
    while (UART0->state & UART_STATE_TX_FULL) {
    }
    UART0->data = byte;
}

bool uart_read_byte(uint8_t *byte)
{
    if (!(UART0->state & UART_STATE_RX_FULL)) {
        return false;
    }
    *byte = (uint8_t)UART0->data;
    return true;
}

static uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihost_write(const char *text)
{
    semihost_call(0x04, text); /* SYS_WRITE0 */
}

void semihost_exit(bool pass)
{
    /* SYS_EXIT: ApplicationExit makes QEMU exit 0, RunTimeErrorUnknown 1. */
    semihost_call(0x18, (const void *)(uintptr_t)(pass ? 0x20026u : 0x20023u));
    for (;;) {
    }
}

char *board_utoa(uint32_t value, char *buf)
{
    char tmp[11];
    int n = 0, i = 0;
    do {
        tmp[n++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0);
    while (n > 0) {
        buf[i++] = tmp[--n];
    }
    buf[i] = '\0';
    return buf;
}
