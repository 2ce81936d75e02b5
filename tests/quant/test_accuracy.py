"""THE accuracy test: a CNN trained here on synthetic oriented bars keeps its accuracy through int8, and QAT does
not lose any of it. Seeds are fixed; training takes a few seconds of CPU."""
import numpy as np
import pytest
import torch

from tests.quant.synthetic import SmallCnn, oriented_bars, train
from tinycore.quant import quantize, quantize_input
from tinycore.quant.qat import fake_quant_finetune
from tinycore.runtime import run


def _float_accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def _int8_accuracy(graph, x, y) -> float:
    q = quantize_input(graph, x.numpy())
    pred = np.array([int(run(graph, q[i]).argmax()) for i in range(len(q))])
    return float((pred == y.numpy()).mean())


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small batches train faster on one thread than on two cores shared with other jobs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def task(one_thread):
    x_train, y_train = oriented_bars(2000, seed=0)
    x_test, y_test = oriented_bars(600, seed=1)
    torch.manual_seed(0)
    model = train(SmallCnn(), x_train, y_train, epochs=6)
    calib = [x_train[i:i + 100] for i in range(0, 400, 100)]
    graph = quantize(model, calib)
    return model, graph, calib, (x_train, y_train), (x_test, y_test)


def test_int8_accuracy_within_one_point_of_float(task):
    model, graph, _, _, (x_test, y_test) = task
    acc_float = _float_accuracy(model, x_test, y_test)
    acc_int8 = _int8_accuracy(graph, x_test, y_test)
    assert acc_float >= 0.85, f"float accuracy {acc_float:.3f}: the task or training is broken (chance is 0.10)"
    assert abs(acc_int8 - acc_float) <= 0.01, f"float {acc_float:.3f} vs int8 {acc_int8:.3f}"


def test_qat_keeps_or_improves_int8_accuracy(task):
    model, graph, calib, (x_train, y_train), (x_test, y_test) = task
    acc_ptq = _int8_accuracy(graph, x_test, y_test)
    batches = [(x_train[i:i + 64], y_train[i:i + 64]) for i in range(0, len(x_train), 64)]
    torch.manual_seed(0)
    tuned = fake_quant_finetune(model, batches, calib, epochs=1, lr=3e-4)
    assert not any("parametrizations" in n for n, _ in tuned.named_parameters())  # a plain model again
    acc_qat = _int8_accuracy(quantize(tuned, calib), x_test, y_test)
    assert acc_qat >= acc_ptq, f"int8 after QAT {acc_qat:.3f} < before {acc_ptq:.3f}"
    assert abs(acc_qat - _float_accuracy(tuned, x_test, y_test)) <= 0.01
