"""mestimate._threads: how many threads, and that thread_map is an ordered map."""
import pytest

from mestimate import _threads


def test_n_workers_is_bounded_by_work_cpus_and_the_cap(monkeypatch):
    monkeypatch.setattr(_threads, "available_cpus", lambda: 2)
    assert _threads.n_workers(10, per_worker=100) == 1        # too little work
    assert _threads.n_workers(250, per_worker=100) == 2
    assert _threads.n_workers(10**9, per_worker=1) == 2       # the CPUs
    monkeypatch.setattr(_threads, "available_cpus", lambda: 64)
    assert _threads.n_workers(10**9, per_worker=1) == _threads.MAX_WORKERS
    assert _threads.n_workers(0, per_worker=0) == 1


def test_available_cpus_is_positive():
    assert _threads.available_cpus() >= 1


@pytest.mark.parametrize("workers", [1, 3])
def test_thread_map_keeps_order_and_raises(workers):
    assert _threads.thread_map(lambda x: -x, range(7), workers) == [0, -1, -2, -3, -4, -5, -6]

    def fail(x):
        if x == 4:
            raise ValueError("four")
        return x
    with pytest.raises(ValueError, match="four"):
        _threads.thread_map(fail, range(7), workers)
