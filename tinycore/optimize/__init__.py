"""`tinycore optimize`: fit a user's trained float model to a board within an accuracy drop, by a search around its
own architecture (TinyNAS evolution under the exact int8 memory), distillation from it, QAT and firmware proof.

    from tinycore.optimize import OptimizeConfig, run, board_budget
    report = run("model.onnx", "images/", board_budget("stm32f412"), "runs/optimize/x", OptimizeConfig())
"""
from tinycore.optimize.run import OptimizeConfig, board_budget, measure, run

__all__ = ["OptimizeConfig", "board_budget", "measure", "run"]
