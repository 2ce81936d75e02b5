/* The app firmware's output contract, C side (Python side: tinycore/export/firmware_output.py): results line by
 * line, int8 payloads as "<tag> <hex>" lines, "error <what>" on failure, "done" at the end. Header only, so no app
 * carries a copy of this printer. tc_print_hex takes the caller's line buffer, sized TC_HEX_LINE_BYTES(n) for n
 * values (one write per line); tc_print_hex_chunked prints the same line through a small buffer on its stack, for
 * payloads as large as a camera frame's model input, which a whole-line buffer would double in SRAM. */
#ifndef TC_APP_OUTPUT_H
#define TC_APP_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

/* Probes a board may lack (instruction counter, stack paint, boards/common/tc_stack.h): without them the counts
 * read 0. Include this header after TC_BOARD_HEADER so that a board's own definitions win. */
#ifndef TC_COUNTER_END
#define TC_COUNTER_BEGIN() ((void)0)
#define TC_COUNTER_END(n) ((n) = 0)
#endif
#ifndef TC_STACK_USED
#define TC_STACK_PAINT() ((void)0)
#define TC_STACK_USED(n) ((n) = 0)
#define tc_heap_used() 0ul
#endif

/* Note one model_invoke's stack use and return the deepest so far (tc_stack_note(0) reads it), for the
 * `stack <bytes> heap <bytes>` line before `done`. */
static inline unsigned long tc_stack_note(unsigned long used) {
    static unsigned long deepest;
    if (used > deepest) {
        deepest = used;
    }
    return deepest;
}

#define TC_HEX_LINE_BYTES(n) (2 * (n) + 8) /* a tag of up to 6 characters, a space, the hex, the NUL */

#define TC_HEX_CHUNK_VALUES 64 /* values per write of tc_print_hex_chunked (a 129-byte buffer on the stack) */

/* Write n values as 2 hex digits each at dst (no terminator); returns dst past the digits. */
static inline char *tc_hex_digits(char *dst, const int8_t *v, int32_t n) {
    static const char digits[] = "0123456789abcdef";
    int32_t i;
    for (i = 0; i < n; ++i) {
        *dst++ = digits[((uint8_t)v[i]) >> 4];
        *dst++ = digits[((uint8_t)v[i]) & 15u];
    }
    return dst;
}

/* Print "<tag> <2 hex digits per value>" with one puts (one semihosting call per line). */
static inline void tc_print_hex(const char *tag, const int8_t *v, int32_t n, char *line) {
    int32_t p = 0;
    for (; tag[p] != '\0'; ++p) {
        line[p] = tag[p];
    }
    line[p++] = ' ';
    *tc_hex_digits(line + p, v, n) = '\0';
    puts(line);
}

/* The same line as tc_print_hex, written TC_HEX_CHUNK_VALUES values at a time: no buffer of the line's size. */
static inline void tc_print_hex_chunked(const char *tag, const int8_t *v, int32_t n) {
    char chunk[2 * TC_HEX_CHUNK_VALUES + 1];
    int32_t i, m;
    fputs(tag, stdout);
    fputc(' ', stdout);
    for (i = 0; i < n; i += m) {
        m = n - i < TC_HEX_CHUNK_VALUES ? n - i : TC_HEX_CHUNK_VALUES;
        *tc_hex_digits(chunk, v + i, m) = '\0';
        fputs(chunk, stdout);
    }
    fputc('\n', stdout);
}

#endif /* TC_APP_OUTPUT_H */
