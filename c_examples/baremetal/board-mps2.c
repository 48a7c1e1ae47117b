/* QEMU mps2-an386 (Cortex-M4) and mps2-an385 (Cortex-M3): the CMSDK APB
 * UART0 and a SysTick millisecond clock; both boards run the core at
 * 25 MHz and share this memory map (mps2.ld). */
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
/* mps2-an385 and mps2-an386 run the core at 25 MHz. */
#define CORE_CLOCK_HZ 25000000u

/* The SysTick interrupt counts milliseconds here. */
static volatile uint32_t board_ticks_ms;

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
