"""The tiny rendered VWW set (16 / 8 / 8 images, seed 5) the task and search tests run the shared CLI on."""
import pytest

from apps.vww import data
from apps.vww.data import DatasetSize

TINY = DatasetSize(train=16, val=8, test=8)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("vww_task")
    data.build(root, seed=5, size=TINY, progress=False, workers=2)
    return root
