"""Training settings and results as frozen dataclasses that apps store in report.json."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tinycore.errors import TrainError

OPTIMIZERS = ("adamw", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    lr: float                       # peak learning rate; cosine-decayed per step to 0 over `epochs`
    optimizer: str = "adamw"        # 'adamw' or 'sgd' (momentum 0.9, nesterov)
    weight_decay: float = 1e-4
    batch_size: int = 64            # used when data come as (x, y) tensors; a DataLoader keeps its own
    patience: int | None = None     # stop after this many epochs without a better val metric
    maximize: bool = True           # the val metric is better when larger (accuracy, AUC); False for MSE
    distill_weight: float = 0.5     # share of the KL term when a teacher is given
    temperature: float = 4.0        # softening of student and teacher logits for distillation
    seed: int = 0                   # per-epoch seeds derive from it: shuffling and dropout replay on resume
    ema_decay: float | None = None  # validate, keep and return an EMA of the weights (tinycore.train.ema)
    mixup_alpha: float | None = None  # mix each training batch, lam ~ Beta(alpha, alpha) (tinycore.train.mixup)
    warmup_epochs: int = 0          # the lr rises linearly to `lr` over these first epochs, then the cosine decay

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise TrainError(f"train: epochs must be an int >= 1, got {self.epochs!r}")
        if not self.lr > 0:
            raise TrainError(f"train: lr must be > 0, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise TrainError(f"train: optimizer {self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
        if self.batch_size < 1:
            raise TrainError(f"train: batch_size must be >= 1, got {self.batch_size}")
        if self.patience is not None and self.patience < 1:
            raise TrainError(f"train: patience must be >= 1 or None, got {self.patience}")
        if not 0 <= self.distill_weight <= 1:
            raise TrainError(f"train: distill_weight must be in [0, 1], got {self.distill_weight}")
        if not self.temperature > 0:
            raise TrainError(f"train: temperature must be > 0, got {self.temperature}")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise TrainError(f"train: ema_decay must be in (0, 1) or None, got {self.ema_decay!r}")
        if not isinstance(self.warmup_epochs, int) or not 0 <= self.warmup_epochs < self.epochs:
            raise TrainError(f"train: warmup_epochs must be an int in [0, epochs), got {self.warmup_epochs!r}")
        if self.mixup_alpha is not None and not self.mixup_alpha > 0:
            raise TrainError(f"train: mixup_alpha must be > 0 or None, got {self.mixup_alpha!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EpochRecord:
    epoch: int          # 1-based
    train_loss: float   # mean over this rank's batches (with the distillation term when a teacher is given)
    val_metric: float
    lr: float           # learning rate at the start of the epoch


@dataclass(frozen=True)
class TrainResult:
    best_metric: float
    best_epoch: int                 # 1-based; the model returned by fit holds this epoch's weights
    epochs_run: int                 # completed epochs, counting those of a resumed run
    resumed_from_epoch: int         # 0 for a fresh run
    stopped_early: bool
    checkpoint: str | None          # out_dir/checkpoint.pt, or None without out_dir
    config: TrainConfig
    history: tuple[EpochRecord, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
