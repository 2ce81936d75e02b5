"""`search --family former` end to end on a tiny synthetic image task: the space evolves, a subnet is searched
under the budget, fine-tuned from its supernet weights, and the exported int8 ViT has exactly the predicted arena
and Flash; the report holds the space path and its plot."""
import json

import numpy as np
import torch
import torch.nn.functional as F

from tinycore.cli.app import build_parser
from tinycore.former import FormerSpace, SpaceGrid, ViTChoices
from tinycore.former.pipeline import FormerConfig, FormerSetup, former_search_and_export, image_setup
from tinycore.nas.evolution import EvolutionConfig
from tinycore.nas.train_supernet import SupernetConfig
from tinycore.report import RunDir
from tinycore.task import Task, TaskData, TrainSettings
from tinycore.train import accuracy


def _split(n: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 1, (n, 3, 16, 16)).astype(np.float32)
    x[:, 0, :8] += np.where(y == 1, 1.5, -1.5)[:, None, None]  # the class is the top half's red level
    return x, y.astype(np.int64)


def _data() -> TaskData:
    return TaskData(_split(96, 1), _split(48, 2), _split(48, 3), (3, 16, 16), ("no", "yes"),
                    {"name": "halves", "n_train": 96, "n_val": 48, "n_test": 48})


SETUP = FormerSetup(ViTChoices(dims=(8, 16), depths=(1, 2), heads=(1, 2), mlp_ratios=(1.0, 2.0), resolution=16),
                    SpaceGrid(rank_ratios=(0.5, 1.0), token_counts=(4, 16)), FormerSpace(0.5, 16))


def _evaluate(predict, data, split, run_dir, tag):
    x, y = getattr(data, split)
    return {"accuracy": float((np.asarray(predict(x)).argmax(1) == y).mean())}


def _task() -> Task:
    return Task(name="halves", description="", build_data=lambda o: {}, load_data=lambda o: _data(),
                default_spec=lambda d: None, train_settings=lambda q: TrainSettings(epochs=2, lr=3e-3, batch_size=32),
                loss=F.cross_entropy, metric=accuracy, evaluate=_evaluate, former_choices=lambda d: SETUP)


def test_former_search_exports_the_predicted_memory(tmp_path):
    torch.set_num_threads(1)
    cfg = FormerConfig(supernet=SupernetConfig(epochs=1, batch_size=32, n_random=1, calib_batches=1),
                       epochs_per_step=1, max_steps=1, n_subnets=2, n_fit=2,
                       subnet_search=EvolutionConfig(population=4, generations=2), finetune_epochs=2)
    run = RunDir(tmp_path / "run")
    rep = former_search_and_export(_task(), _data(), run, sram_bytes=4096, flash_bytes=1 << 20, quick=True,
                                   seed=0, progress=False, config=cfg)
    s, mem = rep["search"], rep["memory"]
    assert s["family"] == "former" and len(s["space_path"]) in (1, 2)
    assert (tmp_path / "run" / "space_evolution.png").exists()
    assert (mem["sram_smallest_bytes"], mem["flash_bytes"]) == (s["predicted_arena_bytes"], s["predicted_flash_bytes"])
    assert mem["sram_smallest_bytes"] <= mem["sram_peak_bytes"] <= 4096
    assert mem["sram_peak_bytes"] <= 4096
    assert {"float", "int8"} <= set(rep["metrics"]) and "firmware" not in rep  # no firmware in this task
    assert json.loads((tmp_path / "run" / "spec.json").read_text())["stem"][0]["kind"] == "patch_embed"


def test_family_flag_only_where_the_app_has_former_choices():
    args = build_parser(_task()).parse_args(["search", "--family", "former"])
    assert args.family == "former"
    plain = Task(**{**_task().__dict__, "former_choices": None})
    assert not hasattr(build_parser(plain).parse_args(["search"]), "family")


def test_image_setup_tiles_the_input():
    setup = image_setup(TaskData(*(_split(4, 0),) * 3, (3, 96, 96), ("a", "b"), {}))
    assert setup.grid.token_counts == (16, 36, 64, 144) and setup.start in [
        FormerSpace(r, t) for r in setup.grid.rank_ratios for t in setup.grid.token_counts]
    assert all(setup.choices.patch(FormerSpace(0.5, t)) * int(t ** 0.5) == 96 for t in setup.grid.token_counts)


def test_spectrogram_setup_makes_time_strips():
    from tinycore.former.pipeline import spectrogram_setup

    setup = spectrogram_setup(TaskData(None, None, None, (1, 49, 10), tuple("abcdefghijkl"), {}))
    assert setup.grid.token_counts == (6, 8, 12, 24) and setup.choices.pos_embed
    spec = setup.choices.to_spec(setup.choices.smallest(), setup.start)
    assert spec.stem[0].patch == (6, 10) and (spec.input.height, spec.input.width) == (49, 10)
