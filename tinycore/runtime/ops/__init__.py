"""One numpy function per op kind: the reference integer semantics of the project."""
from tinycore.runtime.ops.add import add_s8
from tinycore.runtime.ops.conv2d import conv2d_s8
from tinycore.runtime.ops.depthwise_conv2d import depthwise_conv2d_s8
from tinycore.runtime.ops.fully_connected import fully_connected_s8
from tinycore.runtime.ops.mean import mean_s8
from tinycore.runtime.ops.pool import avg_pool2d_s8, max_pool2d_s8
from tinycore.runtime.ops.simple import pad_s8, quantize_s8, reshape
from tinycore.runtime.ops.softmax import softmax_s8
from tinycore.runtime.ops.batch_matmul import batch_matmul_s8  # transformer ops (MCUFormer, issue #14)
from tinycore.runtime.ops.gelu import gelu_s8
from tinycore.runtime.ops.layer_norm import layer_norm_s8
from tinycore.runtime.ops.transpose import transpose_s8

OP_FUNCTIONS = {
    "conv2d_s8": conv2d_s8,
    "depthwise_conv2d_s8": depthwise_conv2d_s8,
    "fully_connected_s8": fully_connected_s8,
    "add_s8": add_s8,
    "avg_pool2d_s8": avg_pool2d_s8,
    "max_pool2d_s8": max_pool2d_s8,
    "mean_s8": mean_s8,
    "reshape": reshape,
    "pad_s8": pad_s8,
    "quantize_s8": quantize_s8,
    "softmax_s8": softmax_s8,
}

# --- detection / MobileNetV3 ops ---
from tinycore.runtime.ops.activations import hard_swish_s8, logistic_s8  # noqa: E402
from tinycore.runtime.ops.concatenation import concatenation_s8  # noqa: E402
from tinycore.runtime.ops.mul import mul_s8  # noqa: E402
from tinycore.runtime.ops.resize import resize_nearest_s8  # noqa: E402

OP_FUNCTIONS.update({
    "concatenation_s8": concatenation_s8,
    "resize_nearest_s8": resize_nearest_s8,
    "logistic_s8": logistic_s8,
    "hard_swish_s8": hard_swish_s8,
    "mul_s8": mul_s8,
})

# ---- transformer ops (MCUFormer, issue #14) ----
OP_FUNCTIONS.update({
    "layer_norm_s8": layer_norm_s8,
    "gelu_s8": gelu_s8,
    "batch_matmul_s8": batch_matmul_s8,
    "transpose_s8": transpose_s8,
})
