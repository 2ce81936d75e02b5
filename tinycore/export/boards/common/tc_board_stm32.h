/* Board support shared by the STM32 boards (real hardware, build only).
 *
 * Output goes through semihosting (newlib rdimon): run under OpenOCD with `arm semihosting enable`. The counter
 * is the DWT cycle counter, so on these boards the harness's count is CYCLES at the reset clock (HSI), not
 * instructions: TC_COUNTER_LABEL says so.
 */
#ifndef TC_BOARD_STM32_H
#define TC_BOARD_STM32_H

#include <stdint.h>

#include "tc_stack.h" /* TC_STACK_PAINT / TC_STACK_USED: the stack high-water mark */

extern void initialise_monitor_handles(void);

#define TC_DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define TC_DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define TC_DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define TC_DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)
#define TC_COUNTER_LABEL "cycles"

static uint32_t tc_counter_mark __attribute__((unused));

static inline void tc_board_init(void) {
    initialise_monitor_handles();
    TC_DEMCR |= 1u << 24;      /* TRCENA */
    TC_DWT_LAR = 0xC5ACCE55u;  /* unlock (Cortex-M7) */
    TC_DWT_CYCCNT = 0u;
    TC_DWT_CTRL |= 1u;         /* CYCCNTENA */
}

static inline uint32_t tc_counter_read(void) { return TC_DWT_CYCCNT; }

#define TC_COUNTER_BEGIN() (tc_counter_mark = tc_counter_read())
#define TC_COUNTER_END(n) ((n) = (uint32_t)(tc_counter_read() - tc_counter_mark))

#endif
