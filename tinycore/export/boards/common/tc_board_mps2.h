/* Board support shared by the emulated Arm MPS2 boards (AN385 M3, AN386 M4F, AN500 M7) in qemu-system-arm.
 *
 * Output goes through semihosting (newlib rdimon). The counter is CMSDK timer 0 (0x40000000, 25 MHz, 32-bit,
 * down). Under `qemu-system-arm -icount shift=7` one instruction takes 128 ns of virtual time, i.e. 3.2 timer
 * ticks, so round(ticks / 3.2) is the exact number of instructions retired between the two reads (including the
 * ~3-9 instructions of the reads and the call itself). It wraps after 1.34e9 instructions. Without -icount the
 * timer follows host time and the number means nothing.
 */
#ifndef TC_BOARD_MPS2_H
#define TC_BOARD_MPS2_H

#include <stdint.h>

#include "tc_stack.h" /* TC_STACK_PAINT / TC_STACK_USED: the stack high-water mark */

extern void initialise_monitor_handles(void);

#define TC_CMSDK_TIMER0 ((volatile uint32_t *)0x40000000u) /* CTRL +0, VALUE +4, RELOAD +8 */
#define TC_COUNTER_LABEL "instr"

static uint32_t tc_counter_mark __attribute__((unused));

static inline void tc_board_init(void) {
    initialise_monitor_handles();
    TC_CMSDK_TIMER0[0] = 0u;
    TC_CMSDK_TIMER0[2] = 0xFFFFFFFFu;
    TC_CMSDK_TIMER0[1] = 0xFFFFFFFFu;
    TC_CMSDK_TIMER0[0] = 1u; /* enable */
}

static inline uint32_t tc_counter_read(void) { return TC_CMSDK_TIMER0[1]; }

/* Timer ticks between two reads -> instructions: round(ticks / 3.2) = (ticks * 5 + 8) >> 4. */
static inline uint32_t tc_counter_instructions(uint32_t start, uint32_t stop) {
    return (uint32_t)(((uint64_t)(uint32_t)(start - stop) * 5u + 8u) >> 4);
}

#define TC_COUNTER_BEGIN() (tc_counter_mark = tc_counter_read())
#define TC_COUNTER_END(n) ((n) = tc_counter_instructions(tc_counter_mark, tc_counter_read()))

#endif
