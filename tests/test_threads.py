"""nerve.set_num_threads / get_num_threads (nerve/threads.py)."""

import numpy as np
import pytest
import threadpoolctl

import nerve
from nerve import threads


def test_set_num_threads_changes_what_blas_uses():
    before = nerve.get_num_threads()
    try:
        nerve.set_num_threads(1)
        assert nerve.get_num_threads() == 1
        a = np.ones((64, 64), np.float32)
        assert (a @ a)[0, 0] == 64  # BLAS still works with one thread
        nerve.set_num_threads(2)
        assert nerve.get_num_threads() in (1, 2)  # 1 where the BLAS was built single-threaded
    finally:
        nerve.set_num_threads(before)
    assert nerve.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="set_num_threads: n must be a positive integer"):
        nerve.set_num_threads(bad)


# ------------------------------------------------------------------ small products on one thread
class _FakeBLAS:
    def __init__(self, count):
        self.count, self.calls = count, []

    def get(self):
        return self.count

    def set(self, n):
        self.calls.append(n)
        self.count = n


@pytest.mark.parametrize("shape, lowered", [
    ((64, 400, 120), True),     # LeNet's first dense layer: 3.1M multiply-adds, one thread
    ((8, 8, 8), False),         # OpenBLAS keeps this on one thread by itself
    ((128, 784, 256), False),   # W1's first layer: 25.7M, both threads
])
def test_gemm_runs_small_products_on_one_blas_thread_and_restores_the_count(
        shape, lowered, monkeypatch):
    m, k, n = shape
    fake = _FakeBLAS(2)
    monkeypatch.setattr(threads, "_openblas", lambda: fake)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k), np.float32), rng.standard_normal((n, k), np.float32).T
    np.testing.assert_array_equal(threads.gemm(a, b), a.dot(b))
    assert fake.calls == ([1, 2] if lowered else [])
    assert fake.count == 2


def test_gemm_leaves_one_thread_alone_and_restores_the_count_after_an_error(monkeypatch):
    fake = _FakeBLAS(1)
    monkeypatch.setattr(threads, "_openblas", lambda: fake)
    a = np.ones((64, 400), np.float32)
    threads.gemm(a, np.ones((400, 120), np.float32))
    assert fake.calls == []
    fake.count = 2
    with pytest.raises(ValueError):
        threads.gemm(a, np.ones((300, 120), np.float32))  # shapes that do not multiply
    assert fake.count == 2


def test_the_blas_whose_threads_gemm_sets_is_numpys():
    import os

    blas = threads._openblas()
    infos = [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
    if not infos:
        pytest.skip("NumPy is not built on OpenBLAS here")
    assert blas is not None
    assert os.path.basename(os.path.dirname(blas.path)) == "numpy.libs" or len(infos) == 1
    before = blas.get()
    assert before == threads.get_num_threads() or len(infos) > 1


# ------------------------------------------------------------------ is the other core free?
_SPARE_CORE = '''
import time
import numpy as np
import nerve
from nerve import threads

assert threads.spare_core()           # idle, two Numba threads: yes (this starts Numba's pool)
big = np.ones((512, 512), np.float32)
big @ big                             # OpenBLAS's worker now spins for about 0.1 s
assert not threads.spare_core()
deadline = time.time() + 5
while not threads.spare_core():       # until it sleeps again
    assert time.time() < deadline, "OpenBLAS's worker never went to sleep"
    time.sleep(0.05)
from nerve import _kernels
x = np.zeros(1000, np.int64)
_kernels._thread_ids_parallel(x)      # Numba's own threads, maybe still spinning, do not count
assert threads.spare_core()
nerve.set_num_threads(1)              # one thread: never parallel
assert not threads.spare_core()
print("spare core ok")
'''


def test_spare_core_sees_openblas_spinning_and_ignores_numbas_own_threads():
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    done = subprocess.run([sys.executable, "-c", _SPARE_CORE], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "spare core ok" in done.stdout


def test_spare_core_is_false_with_one_numba_thread():
    from nerve import _kernels

    if _kernels.numba is not None and _kernels.numba.get_num_threads() > 1:
        pytest.skip("this process runs Numba on several threads")
    assert not threads.spare_core()


def test_a_child_made_by_fork_keeps_the_kernels_on_one_thread(monkeypatch):
    import os

    from nerve import _kernels

    if _kernels.numba is None:
        pytest.skip("no Numba")
    monkeypatch.setattr(_kernels.numba, "get_num_threads", lambda: 2)
    monkeypatch.setattr(threads, "_pool_known", [True])
    monkeypatch.setattr(threads, "_pool_usable", [True])
    monkeypatch.setattr(threads, "_pool_pid", [os.getpid() + 1])  # started by another process
    monkeypatch.setattr(threads, "_running_threads", lambda exclude: [])
    assert not threads.spare_core()
    monkeypatch.setattr(threads, "_pool_pid", [os.getpid()])
    assert threads.spare_core()
    monkeypatch.setattr(threads, "_pool_usable", [False])  # Numba's workqueue layer: never
    assert not threads.spare_core()
