"""Op case tables shared by the runtime, host-C and emulator tests: one module per op, `make(seed) -> Graph`."""
from tests.cases.add import ADD_CASES
from tests.cases.conv2d import CONV2D_CASES
from tests.cases.depthwise_conv2d import DEPTHWISE_CASES
from tests.cases.fully_connected import FC_CASES
from tests.cases.mean import MEAN_CASES
from tests.cases.pad import PAD_CASES
from tests.cases.pool import AVG_POOL_CASES, MAX_POOL_CASES
from tests.cases.quantize import QUANTIZE_CASES
from tests.cases.reshape import RESHAPE_CASES
from tests.cases.softmax import SOFTMAX_CASES
from tests.cases.transformer import BATCH_MATMUL_CASES, GELU_CASES, LAYER_NORM_CASES, TRANSPOSE_CASES

# op kind -> its case table (a test checks that every kind of tinycore.ir.SCHEMAS is here)
CASE_TABLES = {
    "conv2d_s8": CONV2D_CASES,
    "depthwise_conv2d_s8": DEPTHWISE_CASES,
    "fully_connected_s8": FC_CASES,
    "add_s8": ADD_CASES,
    "avg_pool2d_s8": AVG_POOL_CASES,
    "max_pool2d_s8": MAX_POOL_CASES,
    "mean_s8": MEAN_CASES,
    "reshape": RESHAPE_CASES,
    "pad_s8": PAD_CASES,
    "softmax_s8": SOFTMAX_CASES,
    "quantize_s8": QUANTIZE_CASES,
    # transformer ops (MCUFormer, issue #14)
    "layer_norm_s8": LAYER_NORM_CASES,
    "gelu_s8": GELU_CASES,
    "batch_matmul_s8": BATCH_MATMUL_CASES,
    "transpose_s8": TRANSPOSE_CASES,
}
# detection / MobileNetV3 ops
from tests.cases.activations import HARD_SWISH_CASES, LOGISTIC_CASES  # noqa: E402
from tests.cases.concatenation import CONCATENATION_CASES  # noqa: E402
from tests.cases.mul import MUL_CASES  # noqa: E402
from tests.cases.resize_nearest import RESIZE_NEAREST_CASES  # noqa: E402

CASE_TABLES.update({
    "concatenation_s8": CONCATENATION_CASES,
    "resize_nearest_s8": RESIZE_NEAREST_CASES,
    "logistic_s8": LOGISTIC_CASES,
    "hard_swish_s8": HARD_SWISH_CASES,
    "mul_s8": MUL_CASES,
})
ALL_CASES = [(kind, case) for kind, table in CASE_TABLES.items() for case in table]
