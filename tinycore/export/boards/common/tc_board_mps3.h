/* Board support for the emulated Arm MPS3 AN547 (SSE-300 subsystem, Cortex-M55) in qemu-system-arm.
 *
 * Output goes through semihosting (newlib rdimon). The SSE-300 has no CMSDK timer at 25 MHz like the MPS2 boards;
 * its 32-bit APB timers are replaced by the system counter (a 64-bit up-counter, clocked by the 32 MHz MAINCLK in
 * QEMU). The counter is enabled in its Secure control frame (CNTCR, 0x58100000) and read from its Secure status
 * frame (CNTCV, 0x58101000). Under `qemu-system-arm -icount shift=7` one instruction takes 128 ns of virtual time,
 * i.e. 4.096 counter ticks, so round(ticks / 4.096) = (ticks * 125 + 256) >> 9 is the exact number of
 * instructions retired between the two reads (including the reads and the call). Only the low 32 bits are read:
 * a difference is exact up to 2^32 ticks, about 1.05e9 instructions.
 */
#ifndef TC_BOARD_MPS3_H
#define TC_BOARD_MPS3_H

#include <stdint.h>

#include "tc_stack.h" /* TC_STACK_PAINT / TC_STACK_USED: the stack high-water mark */

extern void initialise_monitor_handles(void);

#define TC_SSE_CNTCR (*(volatile uint32_t *)0x58100000u)       /* control frame: bit 0 = enable */
#define TC_SSE_CNTCV_LO (*(volatile uint32_t *)0x58101000u)    /* status frame: counter value, low word */
#define TC_COUNTER_LABEL "instr"

static uint32_t tc_counter_mark __attribute__((unused));

static inline void tc_board_init(void) {
    initialise_monitor_handles();
    TC_SSE_CNTCR |= 1u;
}

static inline uint32_t tc_counter_read(void) { return TC_SSE_CNTCV_LO; }

/* Counter ticks between two reads -> instructions: round(ticks / 4.096) = (ticks * 125 + 256) >> 9. */
static inline uint32_t tc_counter_instructions(uint32_t start, uint32_t stop) {
    return (uint32_t)(((uint64_t)(uint32_t)(stop - start) * 125u + 256u) >> 9);
}

#define TC_COUNTER_BEGIN() (tc_counter_mark = tc_counter_read())
#define TC_COUNTER_END(n) ((n) = tc_counter_instructions(tc_counter_mark, tc_counter_read()))

#endif
