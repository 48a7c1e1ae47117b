/* Semihosting for every board (QEMU -semihosting-config enable=on,
 * target=native): SYS_WRITE0 for the report, SYS_EXIT for the verdict,
 * and the decimal formatting the report uses. */
#include "board.h"

#define SYS_WRITE0 0x04u
#define SYS_EXIT 0x18u
/* SYS_EXIT reasons (32-bit: the reason itself is the argument). QEMU exits
 * 0 for ApplicationExit, 1 for any other reason. */
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUN_TIME_ERROR_UNKNOWN 0x20023u

#if defined(__riscv)
/* RISC-V semihosting: ebreak between two marker instructions, all three
 * uncompressed and in one page (hence the alignment); a0 the operation,
 * a1 the argument, a0 the result. Interpreted by QEMU in M-mode. */
__attribute__((noinline)) static uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t a0 __asm("a0") = op;
    register const void *a1 __asm("a1") = arg;
    __asm volatile(".option push\n"
                   ".option norvc\n"
                   ".balign 16\n"
                   "slli zero, zero, 0x1f\n"
                   "ebreak\n"
                   "srai zero, zero, 7\n"
                   ".option pop\n"
                   : "+r"(a0)
                   : "r"(a1)
                   : "memory");
    return a0;
}
#else
/* Arm semihosting on M-profile: BKPT 0xAB; r0 the operation, r1 the
 * argument, r0 the result. */
static uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
#endif

void semihost_write(const char *text)
{
    semihost_call(SYS_WRITE0, text);
}

void semihost_exit(bool pass)
{
    semihost_call(SYS_EXIT, (const void *)(uintptr_t)(pass ? ADP_STOPPED_APPLICATION_EXIT
                                                           : ADP_STOPPED_RUN_TIME_ERROR_UNKNOWN));
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
