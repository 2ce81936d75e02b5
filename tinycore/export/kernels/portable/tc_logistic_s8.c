/* tc_logistic_s8: TFLite LOGISTIC for int8 by a 256-entry table, which the exporter fills with TFLite Micro's
 * integer arithmetic for every input (tinycore.runtime.ops.activations). Elementwise, so out may equal in. */
#include "tc_kernels.h"

void tc_logistic_s8(const int8_t *in, int8_t *out, int32_t size, const int8_t *table)
{
    tc_lookup_s8(in, out, size, table);
}
