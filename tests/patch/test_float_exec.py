"""The float (torch) patch executor equals the whole-frame model within 1e-5."""
import pytest

torch = pytest.importorskip("torch")

from tests.quant.models import mobilenet_v2  # noqa: E402
from tinycore.errors import UnsupportedError  # noqa: E402
from tinycore.patch.float_exec import run_patched_float  # noqa: E402


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = mobilenet_v2(0.35, classes=10).eval()
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.1, 0.1)
            mod.running_var.uniform_(0.5, 1.5)
    return m


@pytest.mark.parametrize("grid", [(1, 1), (2, 2), (3, 3), (4, 4), (3, 2), (2, 4)], ids=str)
@pytest.mark.parametrize("split", [2, 4, 6])  # stem; stride-2 block; after residual blocks
def test_float_patches_equal_whole_frame(model, split, grid):
    x = torch.randn(1, 3, 75, 61)  # odd, non-square
    with torch.no_grad():
        want = model(x)
    got = run_patched_float(model, split, grid, x)
    assert torch.allclose(got, want, atol=1e-5, rtol=0)


def test_float_unsupported_layer_is_named(model):
    with pytest.raises(UnsupportedError, match="AdaptiveAvgPool2d"):
        run_patched_float(model, len(model) - 3, (2, 2), torch.randn(1, 3, 64, 64))
