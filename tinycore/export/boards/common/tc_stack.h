/* Stack and heap use measured on the device, for the SRAM total (tinycore.export.firmware.sram_section).
 *
 * TC_STACK_PAINT() fills the free stack, from the top of the MPU guard (sections.ld: _stack_guard + 256) up to
 * the stack pointer of a small out-of-line function, with a pattern, word by word through a volatile pointer
 * (so that the compiler cannot turn the loop into a memset call, whose own frame would lie in the painted
 * area). After the measured call, TC_STACK_USED(n) assigns the bytes from the top of the stack (_estack) down
 * to the deepest word that no longer holds the pattern: the high-water mark of everything on the stack, main's
 * frames included. A word the call wrote with the pattern value itself would be missed; that needs the exact
 * 32-bit value 0x5AC3A55C at the deepest point. tc_heap_used() is what newlib's sbrk handed out since `end`.
 */
#ifndef TC_STACK_H
#define TC_STACK_H

#include <stdint.h>

#define TC_STACK_PATTERN 0x5AC3A55Cu
#define TC_STACK_GUARD_BYTES 256u

extern uint32_t _estack, _stack_guard;
extern char end;
extern void *_sbrk(int incr); /* newlib (rdimon): the heap break; _sbrk(0) reads it */

static __attribute__((noinline, unused)) void tc_stack_paint(void)
{
    volatile uint32_t *p = (volatile uint32_t *)((uintptr_t)&_stack_guard + TC_STACK_GUARD_BYTES);
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    while ((uintptr_t)p < sp) {
        *p++ = TC_STACK_PATTERN;
    }
}

static inline __attribute__((unused)) unsigned long tc_stack_used(void)
{
    const volatile uint32_t *p = (const volatile uint32_t *)((uintptr_t)&_stack_guard + TC_STACK_GUARD_BYTES);
    while ((uintptr_t)p < (uintptr_t)&_estack && *p == TC_STACK_PATTERN) {
        ++p;
    }
    return (unsigned long)((uintptr_t)&_estack - (uintptr_t)p);
}

static inline __attribute__((unused)) unsigned long tc_heap_used(void)
{
    return (unsigned long)((char *)_sbrk(0) - &end);
}

#define TC_STACK_PAINT() tc_stack_paint()
#define TC_STACK_USED(n) ((n) = tc_stack_used())

#endif
