"""A tiny synthetic classification problem and model for the training tests (runs in well under a second)."""
import torch

from tinycore.spec import FC, Dropout, InputSpec, ModelSpec, build_model

CLASSES, FEATURES = 4, 8


def blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Four Gaussian clusters in 8-D; about 97% separable, chance is 25%."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[2.0] * 4 + [0.0] * 4, [-2.0] * 4 + [0.0] * 4, [0.0] * 4 + [2.0] * 4,
                            [0.0] * 4 + [-2.0] * 4])
    y = torch.randint(0, CLASSES, (n,), generator=g)
    x = centers[y] + 1.2 * torch.randn(n, FEATURES, generator=g)
    return x, y


def mlp(seed: int = 0, hidden: int = 16, dropout: float = 0.2) -> torch.nn.Module:
    torch.manual_seed(seed)
    spec = ModelSpec(InputSpec(features=FEATURES),
                     blocks=(FC(hidden, act="relu", bn=True), Dropout(dropout), FC(hidden, act="relu")),
                     head=(FC(CLASSES),))
    return build_model(spec)


def crashing_loss(after_calls: int):
    """Cross-entropy that raises KeyboardInterrupt on its call number `after_calls` (a crash mid-epoch)."""
    import torch.nn.functional as F
    calls = []

    def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        if len(calls) == after_calls:
            raise KeyboardInterrupt
        return F.cross_entropy(out, y)
    return loss
