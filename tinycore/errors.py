"""Typed errors: each says where (file, op, tensor), what is wrong, and what to try.

The CLI prints the message of any `TinycoreError` and exits 2; other exceptions are bugs.
"""


class TinycoreError(Exception):
    """Base of every error a user can cause."""


class GraphFileError(TinycoreError):
    """A graph file cannot be read: damaged, truncated, wrong version."""


class GraphValidationError(TinycoreError):
    """A graph's contents are inconsistent: missing array, shape or dtype mismatch."""


class UnsupportedError(TinycoreError):
    """A layer, op or setting that we do not implement."""


class CalibrationError(TinycoreError):
    """Calibration data is missing or unusable."""


class BudgetError(TinycoreError):
    """A model does not fit an SRAM or Flash budget."""


class BuildError(TinycoreError):
    """A C compiler or emulator run failed."""


class ModelFileError(TinycoreError):
    """A model file (for example a .tflite) cannot be read."""


class SpecError(TinycoreError):
    """A model spec is malformed or describes a network that cannot run (vanishing map, bad channels)."""


class TrainError(TinycoreError):
    """Bad training settings or data, or a checkpoint that does not fit the model being trained."""


class DataError(TinycoreError):
    """A data set folder or data file is missing or unusable."""


class CheckError(TinycoreError):
    """A check the command ran has failed (firmware outputs differ from the runtime's, a validation mismatch):
    the command printed its results, then exits 1 with this reason last."""
    exit_code = 1


class PlanError(TinycoreError):
    """An arena plan is invalid: two buffers alive at once share bytes, or a buffer lies outside the arena."""
