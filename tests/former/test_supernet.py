"""ViT supernet with weight entanglement: extracted subnets are plain specs computing what the supernet computes,
subnets share their leading weights, and the shared sandwich trainer trains it, checkpoints and resumes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tinycore.errors import SpecError
from tinycore.former import FormerSpace, ViTArch, ViTChoices
from tinycore.former.supernet import FormerSupernet
from tinycore.nas.train_supernet import SupernetConfig, train_supernet

CHOICES = ViTChoices(dims=(8, 16), depths=(1, 2), heads=(1, 2), mlp_ratios=(1.0, 2.0), resolution=16, classes=3)


@pytest.mark.parametrize("ratio", [1.0, 0.25])
def test_extracted_subnets_equal_the_supernet(ratio):
    torch.manual_seed(0)
    net = FormerSupernet(CHOICES, FormerSpace(ratio, 16)).eval()
    x = torch.randn(4, 3, 16, 16)
    rng = np.random.default_rng(0)
    archs = [CHOICES.largest(), CHOICES.smallest()] + [CHOICES.sample(rng) for _ in range(4)]
    for arch in archs:
        net.set_active(arch)
        sub = net.extract()
        torch.testing.assert_close(sub(x), net(x), rtol=1e-5, atol=1e-5)
        assert sum(p.numel() for p in sub.parameters()) <= sum(p.numel() for p in net.parameters())


def test_weights_are_entangled():
    torch.manual_seed(0)
    net = FormerSupernet(CHOICES, FormerSpace(1.0, 16))
    big, small = net.extract(CHOICES.largest()), net.extract(CHOICES.smallest())
    wb, ws = big.state_dict()["blocks.0.attn.q.weight"], small.state_dict()["blocks.0.attn.q.weight"]
    assert ws.shape == (8, 8) and torch.equal(wb[:8, :8], ws)
    with torch.no_grad():
        net.blocks[0].q.weight[0, 0] += 1.0  # one shared weight moves both subnets
    assert net.extract(CHOICES.smallest()).state_dict()["blocks.0.attn.q.weight"][0, 0] == ws[0, 0] + 1.0


def test_refuses_a_subnet_outside_the_choices():
    net = FormerSupernet(CHOICES, FormerSpace(1.0, 16))
    with pytest.raises(SpecError, match="not a subnet"):
        net.set_active(ViTArch(12, (1,), (1.0,)))


def test_sandwich_training_learns_and_resumes(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 3, 16, 16, generator=g)
    y = (x[:, 0].mean(dim=(1, 2)) > 0).long() + (x[:, 1].mean(dim=(1, 2)) > 0).long()  # 3 classes
    cfg = SupernetConfig(epochs=2, lr=1e-2, batch_size=32, n_random=1, calib_batches=1)
    torch.manual_seed(0)
    net = FormerSupernet(CHOICES, FormerSpace(0.25, 16))
    hist = train_supernet(net, (x, y), (x, y), cfg, out_dir=tmp_path, progress=False)
    assert [h["epoch"] for h in hist] == [1, 2] and (tmp_path / "supernet.pt").exists()
    assert hist[-1]["largest"] > 0.45  # chance is ~1/3 with these labels
    torch.manual_seed(1)
    again = FormerSupernet(CHOICES, FormerSpace(0.25, 16))
    assert train_supernet(again, (x, y), (x, y), cfg, out_dir=tmp_path, progress=False) == hist  # resumed, no work
    for a, b in zip(again.parameters(), net.parameters()):
        assert torch.equal(a, b)


def test_extracted_subnet_is_independent_and_quantizes():
    from tinycore.quant import quantize_vit

    torch.manual_seed(0)
    net = FormerSupernet(CHOICES, FormerSpace(0.25, 16)).eval()
    sub = net.extract(CHOICES.sample(np.random.default_rng(3)))
    before = net.patch.weight.detach().clone()
    loss = sub(torch.randn(2, 3, 16, 16)).sum()
    loss.backward()
    torch.optim.SGD(sub.parameters(), lr=0.1).step()  # fine-tuning the subnet leaves the supernet alone
    assert torch.equal(net.patch.weight, before)
    graph = quantize_vit(sub.eval(), torch.randn(2, 3, 16, 16), per_head=True)
    assert graph.tensors[graph.outputs[0]].shape == (1, 3)


def test_a_new_space_inherits_the_supernet_weights():
    from tinycore.former.supernet import inherit_weights

    torch.manual_seed(0)
    old = FormerSupernet(CHOICES, FormerSpace(0.5, 16)).eval()
    same_patch = FormerSupernet(CHOICES, FormerSpace(0.25, 16)).eval()
    inherit_weights(same_patch, old)
    assert torch.equal(same_patch.patch.weight, old.patch.weight)
    assert torch.equal(same_patch.blocks[0].q.weight, old.blocks[0].q.weight)
    r = same_patch.blocks[0].fc1.v.shape[0]
    assert r < old.blocks[0].fc1.v.shape[0] and torch.equal(same_patch.blocks[0].fc1.v, old.blocks[0].fc1.v[:r])
    more_tokens = FormerSupernet(CHOICES, FormerSpace(0.5, 64)).eval()  # 2 px patches instead of 4
    inherit_weights(more_tokens, old)
    assert more_tokens.patch.weight.shape[-1] == 2 and torch.equal(more_tokens.fc.weight, old.fc.weight)
    x = torch.ones(1, 3, 16, 16)  # a constant image embeds to the same tokens at either patch size
    a = F.conv2d(x, old.patch.weight, old.patch.bias, stride=4)
    b = F.conv2d(x, more_tokens.patch.weight, more_tokens.patch.bias, stride=2)
    torch.testing.assert_close(a.mean(dim=(2, 3)), b.mean(dim=(2, 3)), rtol=1e-4, atol=1e-5)


def test_strips_and_position_embedding_extract_and_inherit():
    """KWS-style choices: (49, 10) input, tokens = full-width strips of frames, a learned position embedding
    sliced with the embedding dim and resampled along the tokens when the space moves."""
    from tinycore.former.supernet import inherit_weights

    ch = ViTChoices(dims=(8, 16), depths=(1, 2), heads=(1, 2), mlp_ratios=(1.0, 2.0), resolution=10, height=49,
                    in_channels=1, classes=4, strips=True, pos_embed=True)
    assert ch.patch(FormerSpace(0.5, 12)) == (4, 10) and ch.patch(FormerSpace(0.5, 24)) == (2, 10)
    with pytest.raises(SpecError, match="strip"):
        ch.patch(FormerSpace(0.5, 20))  # 49 // 2 = 24, 49 // 3 = 16: no strip height gives 20
    torch.manual_seed(0)
    net = FormerSupernet(ch, FormerSpace(0.5, 12)).eval()
    with torch.no_grad():
        net.pos.normal_()
    x = torch.randn(3, 1, 49, 10)
    for arch in (ch.largest(), ch.smallest()):
        net.set_active(arch)
        torch.testing.assert_close(net.extract()(x), net(x), rtol=1e-5, atol=1e-5)
    moved = FormerSupernet(ch, FormerSpace(0.5, 24))
    inherit_weights(moved, net)
    assert moved.pos.shape == (1, 24, 16) and torch.allclose(moved.pos.mean(), net.pos.mean(), atol=0.1)
