"""Zoo counts against the published reference figures (folded params, conv/fc MACs)."""
import pytest
import torch

from tinycore.spec import (SpecError, build_model, dense_autoencoder, ds_cnn, ds_cnn_s, mobilenet_v1, mobilenet_v2,
                           model_stats, spec_from_json, spec_to_json, tc_resnet)


def test_ds_cnn_s_matches_mlperf_tiny_kws():
    s = model_stats(ds_cnn_s())
    # conv 10*4*64+64, 4 x (dw 9*64+64, pw 64*64+64), fc 64*12+12; design.md: 22.6k params, 2.66M MACs
    assert s["params"] == 2624 + 4 * (640 + 4160) + 780 == 22_604
    assert s["macs"] == 25 * 5 * 64 * 40 + 4 * 25 * 5 * 64 * (9 + 64) + 64 * 12 == 2_656_768
    assert s["input_shape"] == (1, 49, 10) and s["shapes"][0] == (64, 25, 5)
    # Keras counts the reference with a bias on every conv and BN gamma/beta trainable: 23,756 (9 BN x 64)
    assert s["params"] + 2 * 9 * 64 == 23_756
    model = build_model(ds_cnn_s())
    assert sum(p.numel() for p in model.parameters()) == 22_604 - 9 * 64 + 2 * 9 * 64  # bias-free convs + BN


def test_ds_cnn_time_stride_1_keeps_every_frame_at_the_same_params():
    base, fine = model_stats(ds_cnn(64)), model_stats(ds_cnn(64, time_stride=1))
    assert fine["params"] == base["params"]
    assert base["shapes"][0] == (64, 25, 5) and fine["shapes"][0] == (64, 50, 5)  # (49 + 2*5 - 10) / 1 + 1 frames
    assert fine["macs"] == 50 * 5 * 64 * 40 + 4 * 50 * 5 * 64 * (9 + 64) + 64 * 12  # twice the reference's but the FC
    assert ds_cnn(64, time_stride=1).name == "ds_cnn_w64_t1" and ds_cnn(64).stem[0].stride == 2  # default unchanged


def test_mobilenet_v1_matches_mlperf_tiny_vww():
    s = model_stats(mobilenet_v1(0.25, 96, 2))
    assert s["params"] == 210_850 and round(s["params"] / 1000) == 211
    assert s["macs"] == 7_489_664 and round(s["macs"] / 1e5) == 75
    assert s["shapes"][0] == (8, 48, 48) and s["shapes"][-4] == (256, 3, 3)


def test_mobilenet_v2_matches_torchvision():
    spec = mobilenet_v2(1.0, 224, 1000)
    model = build_model(spec)
    assert sum(p.numel() for p in model.parameters()) == 3_504_872  # torchvision.models.mobilenet_v2()
    assert model_stats(spec)["macs"] == 300_774_272                   # torchvision: 0.30 GMACs
    assert [b.out for b in spec.blocks][:4] == [16, 24, 24, 32]


def test_mobilenet_v2_width_rounding_and_channels():
    spec = mobilenet_v2(0.35, 96, 2, in_channels=1)
    assert spec.stem[0].out == 16                      # 32 * 0.35 = 11.2 -> 16 (multiple of 8, within 10%)
    assert [b.out for b in spec.blocks] == [8, 8, 8, 16, 16, 16, 24, 24, 24, 24, 32, 32, 32, 56, 56, 56, 112]
    assert spec.head[0].out == 1280                    # last conv never narrower than 1280
    y = build_model(spec).eval()(torch.zeros(1, 1, 96, 96))
    assert y.shape == (1, 2)


def test_dense_autoencoder_matches_mlperf_tiny_anomaly():
    spec = dense_autoencoder(bn=True)  # as the reference; bn=False (default) has the same folded counts
    s = model_stats(spec)
    assert model_stats(dense_autoencoder()) | {"layers": None} == s | {"layers": None}
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in build_model(dense_autoencoder()).modules())
    assert s["params"] == 265_864 and s["macs"] == 264_192
    assert s["input_shape"] == (640,) and s["shapes"][4] == (8,) and s["shapes"][-1] == (640,)
    # Keras summary of the reference: Dense biases plus 4 BN values per hidden feature, 269,992
    assert s["params"] + 4 * (8 * 128 + 8) == 269_992
    small = model_stats(dense_autoencoder([20, 4, 20], bn=False))
    assert small["params"] == 20 * 4 + 4 + 4 * 20 + 20


def test_ds_cnn_dw_kernel_widens_time_context_for_few_weights():
    base, wide = model_stats(ds_cnn(64)), model_stats(ds_cnn(64, dw_kernel=(5, 3)))
    assert wide["params"] - base["params"] == 4 * 64 * (15 - 9)  # depthwise weights only; BN folds into the bias
    assert wide["shapes"] == base["shapes"]  # 'same' padding keeps every map
    model = build_model(ds_cnn(64, dw_kernel=(5, 3)))
    depthwise = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    assert len(depthwise) == 4 and all(m.kernel_size == (5, 3) for m in depthwise)
    assert ds_cnn(64, dw_kernel=(5, 3)).name == "ds_cnn_w64_k53" and ds_cnn(64).blocks[0].kernel == 3


def test_tc_resnet_matches_the_papers_counts_and_keeps_time_only():
    # Choi et al. 2019 (40 MFCC): TC-ResNet8 66K, TC-ResNet14 137K, TC-ResNet14-1.5 305K params; they count BN's
    # four values per channel, torch's trainable parameters leave out the two running statistics
    for (depth, width), paper_k in {(8, 1.0): 66, (14, 1.0): 137, (14, 1.5): 305}.items():
        model = build_model(tc_resnet(depth, width, coeffs=40))
        trainable = sum(p.numel() for p in model.parameters())
        running = sum(m.running_mean.numel() + m.running_var.numel() for m in model.modules()
                      if isinstance(m, torch.nn.BatchNorm2d))
        assert round((trainable + running) / 1000) == paper_k, (depth, width, trainable + running)
    s = model_stats(tc_resnet(8, coeffs=40))
    # folded: conv 3*40*16 + 16, blocks 16->24->32->48 (two 9x1 convs + a 1x1 projection each), fc 48*12 + 12
    block = lambda a, b: 9 * a * b + 9 * b * b + a * b + 3 * b  # noqa: E731
    assert s["params"] == 1920 + 16 + block(16, 24) + block(24, 32) + block(32, 48) + 588 == 64_852
    assert s["shapes"][0] == (16, 49, 1)  # the features are channels: the map is frames x 1
    y = build_model(tc_resnet(14, 1.25)).eval()(torch.zeros(2, 1, 49, 10))
    assert y.shape == (2, 12)
    assert tc_resnet(14, 1.25).name == "tc_resnet14_w1.25" and tc_resnet().name == "tc_resnet8"
    assert spec_from_json(spec_to_json(tc_resnet(14, 1.25))) == tc_resnet(14, 1.25)  # `--model tc14.json`
    narrow = tc_resnet(14, 0.05)  # channels 1, 1, 1, 2, 2, 2, 2: the strides still follow the paper's channels
    assert [b.body[0].stride for b in narrow.blocks[::2]] == [(2, 1), (1, 1), (2, 1), (1, 1), (2, 1), (1, 1)]


def test_tc_resnet_refuses_a_depth_it_does_not_have():
    with pytest.raises(SpecError, match="depths \\[8, 14\\]"):
        tc_resnet(10)
