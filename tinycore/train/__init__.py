"""The training loop shared by apps and search: fit / evaluate, checkpoints, distillation, DDP under torchrun."""
from tinycore.train.config import EpochRecord, TrainConfig, TrainError, TrainResult
from tinycore.train.loop import CHECKPOINT_NAME, accuracy, distillation_loss, evaluate, fit

__all__ = ["CHECKPOINT_NAME", "EpochRecord", "TrainConfig", "TrainError", "TrainResult", "accuracy",
           "distillation_loss", "evaluate", "fit"]
