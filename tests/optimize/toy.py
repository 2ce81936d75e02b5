"""A toy optimize problem that runs in seconds: a 2-class image folder (a plain textured part vs the same with a
bright defect spot) and a small MobileNetV1-style "user model" trained on it, saved as TorchScript and ONNX."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

HW = 24


def make_image_folder(root: Path, n_per_class: int = 60, hw: int = HW, seed: int = 0) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    for k, name in enumerate(("good", "defect")):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            base = rng.uniform(0.2, 0.5) + 0.08 * rng.standard_normal((hw, hw, 3))
            if k == 1:
                y, x = rng.integers(2, hw - 6, size=2)
                base[y:y + 5, x:x + 5] += 0.5
            img = (np.clip(base, 0, 1) * 255).astype(np.uint8)
            Image.fromarray(img).save(root / name / f"{name}_{i:03d}.png")
    return root


class UserNet(nn.Module):
    """MobileNetV1-like: stem, two depthwise-separable pairs (one strided), a shape-keeping pair, pool, fc."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()

        def cbr(cin, cout, k=3, s=1, g=1):
            return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(cout),
                                 nn.ReLU())
        w = width
        self.features = nn.Sequential(cbr(3, w, s=2), cbr(w, w, g=w), cbr(w, 2 * w, k=1), cbr(2 * w, 2 * w, s=2,
                                      g=2 * w), cbr(2 * w, 2 * w, k=1), cbr(2 * w, 2 * w, g=2 * w),
                                      cbr(2 * w, 2 * w, k=1))
        self.fc = nn.Linear(2 * w, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1))


def train_user_model(folder: Path, epochs: int = 15, seed: int = 0) -> nn.Module:
    from tinycore.optimize.data import load_image_folder
    from tinycore.train import fit

    torch.manual_seed(seed)
    data = load_image_folder(folder, (3, HW, HW), seed=0)
    model = UserNet()
    fit(model, tuple(torch.from_numpy(a) for a in data.train), tuple(torch.from_numpy(a) for a in data.val),
        epochs=epochs, lr=3e-3, batch_size=16, progress=False, seed=seed)
    return model.eval()


def save_user_model(model: nn.Module, path_pt: Path, path_onnx: Path | None = None) -> None:
    x = torch.zeros(1, 3, HW, HW)
    torch.jit.trace(model, x).save(str(path_pt))
    if path_onnx is not None:
        torch.onnx.export(model, x, str(path_onnx), input_names=["input"], output_names=["logits"], dynamo=False)


if __name__ == "__main__":  # python -m tests.optimize.toy DIR: the README's toy example (images + user model)
    import sys

    out = Path(sys.argv[1])
    make_image_folder(out / "images")
    save_user_model(train_user_model(out / "images"), out / "user.pt", out / "user.onnx")
    print(f"wrote {out}/images (good/, defect/), {out}/user.pt, {out}/user.onnx")
