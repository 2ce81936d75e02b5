"""--threads sets torch's threads and numpy's BLAS pool (OpenBLAS's spinning threads slow the int8 runtime)."""
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from tinycore.cli.threads import limit_threads


def test_limit_threads_sets_torch_and_blas():
    before = torch.get_num_threads()
    with threadpool_limits(limits=None):  # restores the BLAS pools when the test ends
        try:
            limit_threads(1)
            blas = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
            assert blas and all(n == 1 for n in blas)
            assert torch.get_num_threads() == 1
            limit_threads(0)  # at least one thread
            assert torch.get_num_threads() == 1
        finally:
            torch.set_num_threads(before)


def test_threads_default_is_the_apps():
    """Small-model apps default to one thread; inspect, which trains 224x224 images, to two (a fixed count, so
    its figures do not depend on the machine's cores)."""
    from apps.inspect.task import TASK as INSPECT
    from apps.kws.task import TASK as KWS
    from tinycore.cli.app import build_parser

    assert build_parser(KWS).parse_args(["data"]).threads == 1
    assert build_parser(INSPECT).parse_args(["data"]).threads == 2
    assert build_parser(INSPECT).parse_args(["--threads", "1", "data"]).threads == 1
    assert "default 2" in build_parser(INSPECT).format_help()
