/* Cortex-M startup (M0, M3, M4): vector table, .data/.bss set-up, the FPU
 * on where there is one, thread mode switched to its own stack (PSP), then
 * main(); main's result becomes the semihosting exit. */
#include <stdint.h>
#include <string.h>

#include "board.h"

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];
extern uint32_t _thread_stack_top[], _handler_stack_top[];

int main(void);
void Reset_Handler(void);

static void fault_handler(void)
{
    semihost_write("FAIL: fault exception\n");
    semihost_exit(false);
}

/* A board with a SysTick clock (board-mps2.c) defines its handler. */
void SysTick_Handler(void) __attribute__((weak, alias("fault_handler")));

__attribute__((noreturn, used)) static void reset_c(void)
{
#if defined(__ARM_FP)
    /* CP10/CP11 full access: hard-float code may use the FPU. */
    SCB_CPACR |= 0xFu << 20;
    __asm volatile("dsb\n isb" ::: "memory");
#endif
    memcpy(_sdata, _sidata, (size_t)((uintptr_t)_edata - (uintptr_t)_sdata));
    memset(_sbss, 0, (size_t)((uintptr_t)_ebss - (uintptr_t)_sbss));
    semihost_exit(main() == 0);
}

/* Handlers keep MSP (the vector table's initial SP); thread code moves to
 * PSP, so the thread stack holds main and embermq only. */
__attribute__((naked, noreturn)) void Reset_Handler(void)
{
    __asm volatile(
        "ldr r0, =_thread_stack_top\n"
        "msr psp, r0\n"
        "movs r0, #2\n"
        "msr control, r0\n"
        "isb\n"
        "b reset_c\n");
}

/* The system exceptions; the boards here use no external interrupt. */
__attribute__((section(".isr_vector"), used)) static const void *const vectors[16] = {
    _handler_stack_top,
    Reset_Handler,
    fault_handler, /* NMI */
    fault_handler, /* HardFault */
    fault_handler, /* MemManage (reserved on v6-M) */
    fault_handler, /* BusFault (reserved on v6-M) */
    fault_handler, /* UsageFault (reserved on v6-M) */
    0, 0, 0, 0,
    fault_handler, /* SVCall */
    fault_handler, /* DebugMon (reserved on v6-M) */
    0,
    fault_handler, /* PendSV */
    SysTick_Handler,
};
