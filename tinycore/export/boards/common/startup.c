/* Start-up shared by every board: vector table, reset (FPU on, .data copy, .bss zero, main, exit) and fault
 * handlers that report and stop.
 *
 * A fault must end the program with a nonzero status, not hang: the handler resets SP to the top of RAM (the
 * fault may be a stack overflow), prints "tc_fault <name> pc=0x... lr=0x..." through semihosting and exits with
 * status 100 + exception number (HardFault 103, MemManage 104, BusFault 105, UsageFault 106), which QEMU returns
 * as its own exit status. On real hardware this needs a debugger with semihosting enabled.
 */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack, _stack_guard;
extern int main(void);

void Reset_Handler(void);
void tc_fault_entry(void);

#define TC_SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define TC_SCB_SHCSR (*(volatile uint32_t *)0xE000ED24u)
#define TC_SCB_CCR (*(volatile uint32_t *)0xE000ED14u)
#define TC_SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define TC_GUARD_BYTES 256u /* = the guard in sections.ld; a frame that skips it (sparse writes) is not caught */
#define TC_MPU_TYPE (*(volatile uint32_t *)0xE000ED90u)
#define TC_MPU_CTRL (*(volatile uint32_t *)0xE000ED94u)
#define TC_MPU_RBAR (*(volatile uint32_t *)0xE000ED9Cu)
#define TC_MPU_RASR (*(volatile uint32_t *)0xE000EDA0u)

/* Semihosting call: r0 = operation, r1 = argument; BKPT 0xAB on M-profile. */
static inline uint32_t tc_semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* SYS_EXIT_EXTENDED (0x20) with ADP_Stopped_ApplicationExit: QEMU exits with `code`. */
void tc_semihost_exit(int code) {
    uint32_t block[2] = {0x20026u, (uint32_t)code};
    tc_semihost(0x20u, block);
    for (;;) {
    }
}

static char *tc_put_hex(char *p, uint32_t v) {
    *p++ = '0';
    *p++ = 'x';
    for (int i = 28; i >= 0; i -= 4) {
        *p++ = "0123456789abcdef"[(v >> i) & 0xFu];
    }
    return p;
}

/* Called on the fresh stack with the exception number and the stacked frame (r0-r3, r12, lr, pc, xpsr). */
void tc_fault_report(uint32_t exc, const uint32_t *frame) {
    static const char *const names[] = {"?", "?", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault"};
    /* The stacked frame is readable only if SP was inside the stack; otherwise the stack overflowed (or SP is
     * corrupt) and reading it would fault again inside the handler. */
    const uint32_t sp = (uint32_t)frame;
    int in_stack = sp >= (uint32_t)&_stack_guard + TC_GUARD_BYTES && sp <= (uint32_t)&_estack - 32u;
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    /* ARMv8-M: a stack-limit violation (CFSR.STKOF) stops at MSPLIM without stacking a frame */
    if (TC_SCB_CFSR & (1u << 20)) in_stack = 0;
#endif
    char msg[96];
    char *p = msg;
    const char *lead = "tc_fault ";
    while (*lead) *p++ = *lead++;
    const char *n = exc < 7 ? names[exc] : "IRQ";
    while (*n) *p++ = *n++;
    const char *pc = in_stack ? " pc=" : " stack overflow sp=";
    while (*pc) *p++ = *pc++;
    p = tc_put_hex(p, in_stack ? frame[6] : sp);
    if (in_stack) {
        const char *lr = " lr=";
        while (*lr) *p++ = *lr++;
        p = tc_put_hex(p, frame[5]);
    }
    *p++ = '\n';
    *p = 0;
    tc_semihost(0x04u, msg); /* SYS_WRITE0 */
    tc_semihost_exit(100 + (int)exc);
}

/* Keep the faulting frame pointer (MSP or PSP), move SP to the top of RAM, then report. */
__attribute__((naked)) void tc_fault_entry(void) {
    __asm__ volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r1, msp\n"
        "mrsne r1, psp\n"
        "mrs r0, ipsr\n"
        "ldr r2, =_estack\n"
        "mov sp, r2\n"
        "b tc_fault_report\n");
}

/* Newlib's exit() calls these through its init/fini arrays; C start-up needs nothing here. */
void _init(void) {}
void _fini(void) {}

__attribute__((naked, noreturn)) void Reset_Handler(void) {
    /* The FPU must be on before any FP instruction (hard-float code may use it anywhere), so it comes first,
     * in assembly; on cores without an FPU CPACR bits 20-23 are ignored. */
    __asm__ volatile(
        "ldr r0, =0xE000ED88\n"
        "ldr r1, [r0]\n"
        "orr r1, r1, #(0xF << 20)\n"
        "str r1, [r0]\n"
        "dsb\n"
        "isb\n"
        "b tc_reset_c\n");
}

__attribute__((noreturn, used)) void tc_reset_c(void) {
    /* Separate fault handlers (otherwise all escalate to HardFault), and trap divide by zero. */
    TC_SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18);
    TC_SCB_CCR |= (1u << 4);
    const uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    /* Stack guard: region 0 = the TC_GUARD_BYTES below the stack, no access, never execute; the rest of memory keeps
     * the default map (PRIVDEFENA). A stack that outgrows its reserve then faults (MemManage) instead of
     * silently overwriting the heap and the model arena. Skipped on a core without an MPU. ARMv8-M (Cortex-M55)
     * has a different MPU without a no-access region, but a stack limit register: MSPLIM at the top of the guard
     * makes an overflow a UsageFault (STKOF). */
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    __asm__ volatile("msr msplim, %0" ::"r"((uint32_t)&_stack_guard + TC_GUARD_BYTES) : "memory");
#else
    if ((TC_MPU_TYPE >> 8) & 0xFFu) {
        TC_MPU_RBAR = ((uint32_t)&_stack_guard & ~31u) | (1u << 4) | 0u; /* VALID, region 0 */
        TC_MPU_RASR = (1u << 28) | (0u << 24) | (7u << 1) | 1u;           /* XN, AP none, 256 B, enable */
        TC_MPU_CTRL = (1u << 2) | 1u;                                     /* PRIVDEFENA, ENABLE */
        __asm__ volatile("dsb\nisb" ::: "memory");
    }
#endif
    exit(main());
}

#define TC_N_IRQ 32
typedef void (*tc_vector)(void);

__attribute__((section(".isr_vector"), used)) const tc_vector tc_vectors[16 + TC_N_IRQ] = {
    (tc_vector)(uintptr_t)&_estack,
    Reset_Handler,
    [2 ... 16 + TC_N_IRQ - 1] = tc_fault_entry,
};
