"""Weight inheritance: a candidate sliced from the user's model computes what the user's model computes on the
channels it keeps (tests fail if a channel is mis-mapped anywhere: conv, depthwise, SE, residual, projection)."""
import numpy as np
import pytest
import torch

from tests.importers.models import make
from tinycore.importers import import_model
from tinycore.optimize.inherit import folded, inherit, keep_order, top_channels
from tinycore.optimize.space import Genome, UserSpace
from tinycore.spec.build import ConvBNAct, ProjectedResidualBlock, ResidualBlock, build_model

MODELS = ("mobilenet_v1", "mobilenet_v2", "mobilenet_v3_hsigmoid", "resnet")


def _imported(name: str, tmp_path):
    model, shape = make(name)
    path = tmp_path / f"{name}.pt"
    torch.jit.trace(model, torch.zeros(1, *shape)).save(str(path))
    return import_model(path, shape), shape


def _x(shape, n=4, seed=1):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32))


def _student(space, g, teacher):
    torch.manual_seed(3)
    s = build_model(space.to_spec(g)).eval()
    return s, inherit(s, teacher, space, g)


@pytest.mark.parametrize("name", MODELS)
def test_all_channels_kept_is_the_user_model(name, tmp_path):
    imp, shape = _imported(name, tmp_path)
    space = UserSpace(imp.spec)
    student, rep = _student(space, space.original, imp.model)
    assert not rep.fresh and rep.copied
    x = _x(shape)
    with torch.no_grad():
        np.testing.assert_allclose(student(x).numpy(), imp.model(x).numpy(), rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ("mobilenet_v1", "resnet"))
def test_narrow_candidate_equals_the_masked_user_model(name, tmp_path):
    """Keep the top channels of every conv at width 0.5: the student equals the teacher whose dropped output
    channels (by the same L1 rule, recomputed here) are zeroed."""
    imp, shape = _imported(name, tmp_path)
    space = UserSpace(imp.spec, channel_divisor=1)
    g = Genome(space.original.resolution, (0.5,) * space.n_stages, space.original.depths, space.original.kernels)
    student, rep = _student(space, g, imp.model)
    assert not rep.fresh
    masked = _masked_teacher(imp.model)
    x = _x(shape)
    with torch.no_grad():
        np.testing.assert_allclose(student(x).numpy(), masked(x).numpy(), rtol=0, atol=1e-5)
        assert not np.allclose(student(x).numpy(), imp.model(x).numpy(), atol=1e-3)  # it did drop something


def _masked_teacher(teacher):
    """Zero, in a copy of the teacher, the output channels a width-0.5 slice drops: per conv the lower half by L1
    norm of its folded filters; for a residual the channels its input keeps (identity) or the joint top half of
    body end + shortcut (projection); depthwise convs follow their input."""
    import copy

    m = copy.deepcopy(teacher)
    keep = None

    def zero(mod, drop_mask):
        with torch.no_grad():
            mod.conv.weight[drop_mask] = 0
            if mod.conv.bias is not None:
                mod.conv.bias[drop_mask] = 0

    def conv(mod, forced=None):
        w, _ = folded(mod)
        if mod.conv.groups > 1:  # depthwise: follows its input
            k = current[0]
        else:
            n = w.shape[0]
            half = max(1, round(n * 0.5))
            k = forced if forced is not None else top_channels(w.abs().reshape(n, -1).sum(1), half)
        mask = np.ones(w.shape[0], bool)
        mask[k] = False
        zero(mod, torch.from_numpy(mask))
        current[0] = k

    current = [np.arange(3)]
    for mod in m.blocks:
        if isinstance(mod, ConvBNAct):
            conv(mod)
        elif isinstance(mod, ResidualBlock):
            inp = current[0]
            convs = [c for c in mod.body if isinstance(c, ConvBNAct)]
            for c in convs[:-1]:
                conv(c)
            conv(convs[-1], forced=inp)
        elif isinstance(mod, ProjectedResidualBlock):
            inp = current[0]
            b, s = [c for c in mod.body if isinstance(c, ConvBNAct)], [c for c in mod.shortcut
                                                                         if isinstance(c, ConvBNAct)]
            imp = sum(folded(c)[0].abs().reshape(folded(c)[0].shape[0], -1).sum(1) for c in (b[-1], s[-1]))
            k = top_channels(imp, max(1, round(len(imp) * 0.5)))
            for c in b[:-1]:
                conv(c)
            conv(b[-1], forced=k)
            current[0] = inp
            for c in s[:-1]:
                conv(c)
            conv(s[-1], forced=k)
    return m.eval()


def test_kernel_growth_keeps_the_function_and_depth_drops_the_chosen_layer(tmp_path):
    imp, shape = _imported("mobilenet_v1", tmp_path)
    space = UserSpace(imp.spec)
    g = Genome(space.original.resolution, space.original.widths, space.original.depths,
               tuple(5 if k else 0 for k in space.original.kernels))
    student, rep = _student(space, g, imp.model)
    assert [m.conv.weight.shape[-1] for m in student.modules() if isinstance(m, ConvBNAct) and m.conv.groups > 1] \
        == [5, 5]
    x = _x(shape)
    with torch.no_grad():
        np.testing.assert_allclose(student(x).numpy(), imp.model(x).numpy(), rtol=0, atol=1e-5)


def test_keep_order_ranks_by_harm_and_drives_which_layer_is_dropped(tmp_path):
    imp, shape = _imported("mobilenet_v2", tmp_path)
    base = UserSpace(imp.spec)
    order = keep_order(base, imp.model, _x(shape, 16).numpy())
    assert sorted(order) == base.droppable() and len(order) == 2  # the two identity residual blocks
    space = UserSpace(imp.spec, keep_order=order[::-1])  # keep the least harmful one first instead
    g = Genome(space.original.resolution, space.original.widths,
               tuple(min(1, d) for d in space.original.depths), space.original.kernels)
    assert space.kept_units(g) == [i for i in range(len(space.units)) if i != order[0]]
    student, rep = _student(space, g, imp.model)
    assert not rep.fresh
    # the student is the teacher with the dropped residual block made the identity
    import copy

    t = copy.deepcopy(imp.model)
    t.blocks[order[0]] = torch.nn.Identity()
    x = _x(shape)
    with torch.no_grad():
        np.testing.assert_allclose(student(x).numpy(), t(x).numpy(), rtol=0, atol=1e-5)


def test_bn_statistics_matched_keep_the_function_and_make_train_mode_agree(tmp_path):
    """After match_bn_statistics the eval-mode outputs are unchanged, and a train-mode pass on the same data
    (batch statistics) gives nearly the same outputs: training starts from the inherited function."""
    from tinycore.optimize.inherit import match_bn_statistics

    imp, shape = _imported("mobilenet_v1", tmp_path)
    space = UserSpace(imp.spec)
    student, _ = _student(space, space.original, imp.model)
    x = _x(shape, n=64)
    with torch.no_grad():
        before = student(x).numpy()
        student.train()
        unmatched = student(x).numpy()
        student.eval()
    student, _ = _student(space, space.original, imp.model)
    match_bn_statistics(student, x.numpy())
    assert not student.training
    with torch.no_grad():
        np.testing.assert_allclose(student(x).numpy(), before, rtol=0, atol=1e-4)
        student.train()
        trained_mode = student(x).numpy()
    assert np.abs(trained_mode - before).max() < 1e-3 < np.abs(unmatched - before).max()
