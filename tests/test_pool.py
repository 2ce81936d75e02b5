"""tinycore.pool: results in job order whether built here or in spawned workers."""
from tinycore.pool import map_in_processes


def test_results_keep_job_order_in_workers_and_here():
    jobs = [(b, e) for b, e in zip(range(7), (3, 1, 2, 0, 2, 1, 3))]
    expected = [b ** e for b, e in jobs]
    assert map_in_processes(pow, jobs, workers=2, progress=False, chunksize=2) == expected
    assert map_in_processes(pow, jobs, workers=1, progress=False) == expected
