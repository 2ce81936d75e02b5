"""`tinycore optimize`: fit a user's trained float model to a board within an accuracy drop, by a search around its
own architecture (TinyNAS evolution under the exact int8 memory), distillation from it, QAT and firmware proof.

    from tinycore.optimize import OptimizeConfig, run, board_budget
    report = run("model.onnx", "images/", board_budget("stm32f412"), "runs/optimize/x", OptimizeConfig())

The names load on first use (from pipeline.py), so `python -m tinycore analyze`, whose parser lists `optimize`,
does not import torch.
"""
__all__ = ["OptimizeConfig", "board_budget", "measure", "run"]


def __getattr__(name: str):
    if name in __all__:
        import importlib

        return getattr(importlib.import_module("tinycore.optimize.pipeline"), name)
    raise AttributeError(f"module 'tinycore.optimize' has no attribute {name!r}")
