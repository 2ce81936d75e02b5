"""Tiny op examples computed by hand. (mult 2**30, shift 1) is exactly x1.0, so outputs are plain sums."""
import numpy as np

from tinycore.runtime.ops import (add_s8, avg_pool2d_s8, conv2d_s8, depthwise_conv2d_s8, fully_connected_s8,
                                  max_pool2d_s8, mean_s8, pad_s8, quantize_s8)

ONE = (np.array([1 << 30], np.int32), np.array([1], np.int32))  # Q31 0.5 * 2**1 = 1.0


def _conv_attrs(pad=(0, 0, 0, 0), input_zp=0, output_zp=0, stride=1, **kw):
    return dict(stride_h=stride, stride_w=stride, dilation_h=1, dilation_w=1, pad_top=pad[0], pad_bottom=pad[1],
                pad_left=pad[2], pad_right=pad[3], input_zp=input_zp, output_zp=output_zp, act_min=-128,
                act_max=127, **kw)


def _pool_attrs(f, s, pad=(0, 0, 0, 0), act=(-128, 127)):
    return dict(filter_h=f, filter_w=f, stride_h=s, stride_w=s, pad_top=pad[0], pad_bottom=pad[1],
                pad_left=pad[2], pad_right=pad[3], act_min=act[0], act_max=act[1])


X9 = np.arange(1, 10, dtype=np.int8).reshape(1, 3, 3, 1)  # 1 2 3 / 4 5 6 / 7 8 9


def test_conv2d_sums_windows_minus_input_zero_point():
    w = np.ones((1, 2, 2, 1), np.int8)
    bias = np.array([1], np.int32)
    assert conv2d_s8(X9, w, bias, *ONE, **_conv_attrs()).reshape(-1).tolist() == [13, 17, 25, 29]
    assert conv2d_s8(X9, w, bias, *ONE, **_conv_attrs(input_zp=1, output_zp=-2)).reshape(-1).tolist() == \
        [7, 11, 19, 23]


def test_conv2d_padding_counts_as_zero_real():
    x = np.array([7], np.int8).reshape(1, 1, 1, 1)
    w = np.ones((1, 3, 3, 1), np.int8)
    y = conv2d_s8(x, w, np.zeros(1, np.int32), *ONE, **_conv_attrs(pad=(1, 1, 1, 1), input_zp=5))
    assert y.reshape(-1).tolist() == [2]  # only the centre tap: 7 - 5


def test_depthwise_multiplier_2_orders_channels_c_times_m():
    x = np.array([1, 2, 3, 4], np.int8).reshape(1, 2, 2, 1)
    w = np.array([1, -1], np.int8).reshape(1, 1, 1, 2)
    mult, shift = np.full(2, 1 << 30, np.int32), np.ones(2, np.int32)
    y = depthwise_conv2d_s8(x, w, np.zeros(2, np.int32), mult, shift, **_conv_attrs(depth_multiplier=2))
    assert y.reshape(-1).tolist() == [1, -1, 2, -2, 3, -3, 4, -4]


def test_fully_connected_and_saturation():
    x = np.array([[10, -20, 30]], np.int8)
    w = np.array([[1, 1, 1], [5, 0, 5]], np.int8)
    mult, shift = np.full(2, 1 << 30, np.int32), np.ones(2, np.int32)
    y = fully_connected_s8(x, w, np.array([0, 0], np.int32), mult, shift, input_zp=0, output_zp=0, act_min=-128,
                           act_max=127)
    assert y.tolist() == [[20, 127]]  # 200 saturates


def test_avg_pool_divides_by_pixels_inside_and_rounds_away_from_zero():
    a = _pool_attrs(2, 2, pad=(0, 1, 0, 1))
    assert avg_pool2d_s8(X9, **a).reshape(-1).tolist() == [3, 5, 8, 9]  # 12/4, 9/2, 15/2, 9/1
    assert avg_pool2d_s8(-X9, **a).reshape(-1).tolist() == [-3, -5, -8, -9]


def test_max_pool_ignores_padding_and_clamps():
    assert max_pool2d_s8(-X9, **_pool_attrs(2, 2, pad=(0, 1, 0, 1))).reshape(-1).tolist() == [-1, -3, -7, -9]
    assert max_pool2d_s8(X9, **_pool_attrs(2, 2, pad=(0, 1, 0, 1), act=(-128, 6))).reshape(-1).tolist() == \
        [5, 6, 6, 6]


def test_add_same_scale_is_an_integer_sum():
    # scales equal: input mults 0.5 = (2**30, 0); output 2s / (2**20 s) = 2**-19 = (2**30, -18)
    p = dict(left_shift=20, input1_mult=1 << 30, input1_shift=0, input2_mult=1 << 30, input2_shift=0,
             output_mult=1 << 30, output_shift=-18, act_min=-128, act_max=127)
    a, b = np.array([3, 100, -100], np.int8), np.array([4, 100, -100], np.int8)
    assert add_s8(a, b, input1_zp=0, input2_zp=0, output_zp=0, **p).tolist() == [7, 127, -128]
    assert add_s8(a, b, input1_zp=1, input2_zp=-2, output_zp=5, **p).tolist()[0] == 13  # (3-1)+(4+2)+5


def test_mean_rounds_half_away_from_zero():
    x = np.array([1, 2, 3, 4], np.int8).reshape(1, 2, 2, 1)
    a = dict(input_zp=0, output_zp=0, mult=1 << 30, shift=1)
    assert mean_s8(x, **a).reshape(-1).tolist() == [3]  # 2.5 -> 3
    assert mean_s8(-x, **a).reshape(-1).tolist() == [-3]


def test_pad_and_quantize():
    x = np.array([1, 2], np.int8).reshape(1, 1, 2, 1)
    y = pad_s8(x, pad_top=1, pad_bottom=0, pad_left=0, pad_right=1, pad_value=-128)
    assert y.reshape(2, 3).tolist() == [[-128, -128, -128], [1, 2, -128]]
    q = quantize_s8(np.array([10, -128, 127], np.int8), input_zp=2, output_zp=-3, mult=1 << 30, shift=0)
    assert q.tolist() == [1, -68, 60]  # (10-2)/2-3; (-130)/2-3; 125/2=62.5->63, -3
