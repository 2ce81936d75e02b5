/* tc_reshape: a reshape moves no data; this copy runs only when the arena plan separates input and output. */
#include <string.h>

#include "tc_kernels.h"

void tc_reshape(const int8_t *in, int8_t *out, int32_t size)
{
    if ((const int8_t *)out != in) {
        memmove(out, in, (size_t)size);
    }
}
