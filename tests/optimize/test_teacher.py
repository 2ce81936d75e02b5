"""Cached teacher outputs (tinycore/optimize/teacher.py) train exactly as the teacher called every step does."""
from __future__ import annotations

import torch
from torch import nn

from tinycore.optimize.teacher import TeacherOutputs, kd_loss
from tinycore.train import fit
from tinycore.train.loop import distillation_loss

W, T = 0.7, 4.0


def _nets(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    student = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                            nn.Flatten(), nn.Linear(4, 3))
    teacher = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                            nn.Flatten(), nn.Linear(6, 3))
    teacher(torch.randn(8, 3, 12, 12))  # BatchNorm statistics away from their initial values
    return student, teacher.eval()


def _data(n: int = 40, hw: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, hw, hw, generator=g), torch.randint(0, 3, (n,), generator=g)


def test_cached_loss_and_gradients_equal_the_teachers():
    student, teacher = _nets()
    x, y = _data()
    outputs = TeacherOutputs(teacher, (12, 12))  # the student reads 8x8, the teacher its own 12x12
    with torch.no_grad():
        direct = outputs.model(x)
    ref = (1 - W) * nn.functional.cross_entropy(student(x), y) + W * distillation_loss(student(x), direct, T)
    ref_grads = torch.autograd.grad(ref, list(student.parameters()))
    cached = kd_loss(W, T)(student(x), outputs.targets(x, y))
    grads = torch.autograd.grad(cached, list(student.parameters()))
    torch.testing.assert_close(cached, ref)
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b)


def test_fit_with_cached_targets_equals_fit_with_the_teacher():
    x, y = _data()
    val = _data(12)
    runs = []
    for cached in (False, True):
        student, teacher = _nets()
        outputs = TeacherOutputs(teacher, (12, 12))
        kw = dict(epochs=3, lr=3e-3, batch_size=8, progress=False, seed=0, distill_weight=W, temperature=T)
        if cached:
            r = fit(student, (x, outputs.targets(x, y)), val, loss=kd_loss(W, T), **kw)
        else:
            r = fit(student, (x, y), val, teacher=outputs.model, **kw)
        runs.append((r, student.state_dict()))
    (a, wa), (b, wb) = runs
    assert [round(h.train_loss, 5) for h in a.history] == [round(h.train_loss, 5) for h in b.history]
    assert a.history[0].train_loss != a.history[-1].train_loss  # it trained
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=1e-5)


def test_teacher_runs_once_per_input_size():
    _, teacher = _nets()
    calls = []
    teacher.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    outputs = TeacherOutputs(teacher, (12, 12))
    x8, y = _data(hw=8)
    first = outputs.logits(x8)
    assert outputs.logits(x8) is first and outputs.targets(x8, y)[:, 1:].equal(first)
    outputs.logits(_data(hw=10)[0])
    assert sum(calls) == 2 * len(x8)  # 8x8 once, 10x10 once
