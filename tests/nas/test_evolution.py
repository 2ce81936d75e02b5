"""Evolution: never over budget, clear error when nothing fits, resumable without re-scoring; torch-free code."""
import ast
import json
from pathlib import Path

import numpy as np
import pytest

from tinycore.budget import Budget
from tinycore.errors import BudgetError
from tinycore.nas import EvolutionConfig, evolve, subnet_cost
from tests.nas.problems import tiny_space

CFG = EvolutionConfig(population=8, generations=3, mutation_prob=0.3)


def _macs_score(space):
    return lambda arch: float(subnet_cost(space.to_spec(arch, name=space.name)).macs)  # prefers big subnets


def test_no_candidate_is_ever_over_budget():
    space = tiny_space()
    budget = Budget(6 * 1024, 16 * 1024, macs=400_000)
    res = evolve(space, 1.0, 16, budget, _macs_score(space), CFG, np.random.default_rng(0))
    assert len(res.candidates) >= CFG.population
    for c in res.candidates:
        exact = subnet_cost(space.to_spec(c.arch, name=space.name))
        assert (c.arena_bytes, c.flash_bytes, c.macs) == (exact.arena_bytes, exact.flash_bytes, exact.macs)
        assert budget.fits(c.arena_bytes, c.flash_bytes, c.macs), c.arch.short()
    assert res.best.score == max(c.score for c in res.candidates)
    assert [h["generation"] for h in res.history] == [0, 1, 2]


def test_nothing_fits_at_this_width_gives_budget_error_with_nearest():
    space = tiny_space()
    with pytest.raises(BudgetError, match=r"nearest W1 R20 .* needs arena [\d,]+ B"):
        evolve(space, 1.0, 20, Budget(4 * 1024, 1024 * 1024), _macs_score(space),
               EvolutionConfig(population=4, generations=1, max_tries=20), np.random.default_rng(0))


def test_resume_continues_after_the_last_logged_generation(tmp_path):
    space = tiny_space()
    budget = Budget(6 * 1024, 24 * 1024)
    base = _macs_score(space)
    scored: list[tuple] = []

    def score(arch):
        scored.append(arch.key())
        return base(arch)

    cfg1 = EvolutionConfig(population=6, generations=1, mutation_prob=0.3)
    cfg2 = EvolutionConfig(population=6, generations=2, mutation_prob=0.3)
    ref_log = tmp_path / "reference.jsonl"
    evolve(space, 0.5, 20, budget, base, cfg2, np.random.default_rng(7), ref_log)  # uninterrupted
    ref = ref_log.read_text().splitlines()
    assert len(ref) == 2

    log = tmp_path / "evolution.jsonl"
    first = evolve(space, 0.5, 20, budget, score, cfg1, np.random.default_rng(7), log)
    gen0 = set(scored)
    assert len(gen0) == len(first.candidates) and log.read_text().splitlines() == ref[:1]
    scored.clear()
    with open(log, "a") as f:
        f.write(ref[1][:80])  # a generation cut by an interruption
    resumed = evolve(space, 0.5, 20, budget, score, cfg2, np.random.default_rng(999), log)  # RNG state from log
    assert len(scored) == json.loads(ref[1])["n_new"]  # only generation 1 was scored
    assert not gen0 & set(scored)
    assert log.read_text().splitlines() == ref  # identical to the uninterrupted run
    assert resumed.best.to_dict() == max((c for line in ref for c in json.loads(line)["new"]),
                                         key=lambda c: (c["score"], -c["arena_bytes"]))


def test_resume_with_a_rectangular_stem_kernel_rescores_nothing(tmp_path, capsys):
    """Keys holding tuples (a (10, 4) stem kernel, as KWS has) must equal what the JSON log gives back."""
    import dataclasses

    from tinycore.spec.layers import Conv

    space = dataclasses.replace(tiny_space(), stem=Conv(8, kernel=(3, 2), stride=1, act="relu6"))
    budget, scored = Budget(6 * 1024, 24 * 1024), []
    base = _macs_score(space)
    log = tmp_path / "evolution.jsonl"
    first = evolve(space, 0.5, 20, budget, base, CFG, np.random.default_rng(7), log)
    again = evolve(space, 0.5, 20, budget, lambda a: scored.append(a) or base(a), CFG, np.random.default_rng(7), log)
    assert scored == [] and "afresh" not in capsys.readouterr().err
    assert again.best == first.best


def test_search_modules_import_no_torch():
    root = Path(__file__).resolve().parents[2] / "tinycore" / "nas"
    for name in ("evolution.py", "stage1.py", "cost.py", "space.py"):
        tree = ast.parse((root / name).read_text())
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert "torch" not in imported, name
