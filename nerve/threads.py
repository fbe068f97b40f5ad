"""Threads: how many nerve uses, and how its two thread pools keep out of each other's way.

Two libraries run nerve's work on several cores. NumPy hands every matrix product to a BLAS library
(OpenBLAS in NumPy's wheels); the compiled kernels (``nerve/_kernels.py``, with Numba) run some
loops over the batch on Numba's threads. ``set_num_threads(n)`` sets both, process-wide, as
``torch.set_num_threads`` does; ``threadpoolctl`` (a small library scikit-learn also uses) finds
the BLAS library NumPy loaded.

Two findings shape the rest of this module (measured on the 2-core machine the benchmarks run on):

- After each product that OpenBLAS splits across threads, its worker threads keep spinning for
  about 0.1 s, waiting for the next one. A parallel kernel that starts in that time shares a core
  with a spinning thread and ran 3 to 5 times slower than on one thread. So a parallel kernel runs
  only when ``spare_core()`` sees no other thread of the process running (it reads each thread's
  state in /proc; elsewhere than Linux the kernels stay on one thread).
- For products of fewer than ``SMALL_GEMM`` multiply-adds a second BLAS thread gains nothing
  (64x400 by 400x120: 64.5 us on one thread, 67.2 us on two) but wakes the spinning workers.
  ``gemm`` runs those on one BLAS thread, so that a model of small layers (LeNet-5's 400-120-84-10)
  leaves the second core to the convolutions.

Work that runs while OpenBLAS's workers spin (an LSTM's recurrence, between a training step's
products) goes to those workers themselves: ``blas_pool`` hands compiled tasks to OpenBLAS's own
threads, so that nothing competes with them for a core.
"""

from __future__ import annotations

import ctypes
import os
import threading

import numpy as np

# Fewer multiply-adds than this: one BLAS thread (measured above). From 64x256 by 256x256 (2^22)
# up, a second thread is 20% faster or more.
SMALL_GEMM = 1 << 22
# Fewer than this and OpenBLAS uses one thread by itself (65536 x GEMM_MULTITHREAD_THRESHOLD 4).
_BLAS_ONE_THREAD = 1 << 18


def _threadpoolctl():
    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency of nerve
        raise ImportError(
            "set_num_threads needs threadpoolctl: pip install threadpoolctl"
        ) from None
    return threadpoolctl


def set_num_threads(n: int) -> None:
    """Use ``n`` threads from now on, process-wide, as torch does: in BLAS (matrix products) and
    in the compiled kernels (at most the ``NUMBA_NUM_THREADS`` Numba started with)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive integer, got {n!r}")
    _threadpoolctl().threadpool_limits(n, user_api="blas")
    from nerve import _kernels

    if _kernels.numba is not None:
        _kernels.numba.set_num_threads(min(n, _kernels.numba.config.NUMBA_NUM_THREADS))


def get_num_threads() -> int:
    """The number of threads BLAS uses (the largest, if NumPy loaded several BLAS libraries)."""
    infos = _threadpoolctl().threadpool_info()
    counts = [info["num_threads"] for info in infos if info.get("user_api") == "blas"]
    return max(counts) if counts else 1


# ------------------------------------------------------------------ small products on one thread
class _OpenBLAS:
    """The thread-count calls of the OpenBLAS that NumPy loaded (symbol names vary by build)."""

    def __init__(self, path, prefix, suffix):
        self.path = path
        lib = ctypes.CDLL(path)
        self.get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}")
        self.set = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}")
        self.get.restype, self.get.argtypes = ctypes.c_int, []
        self.set.restype, self.set.argtypes = None, [ctypes.c_int]


_openblas_cache: list = []


def _openblas():
    """NumPy's OpenBLAS, or None (another BLAS, or calls not found): looked up once.

    NOTE: SciPy's wheels load an OpenBLAS of their own, with its own threads: NumPy's is the one
    in NumPy's folder (``numpy.libs`` in its wheels), or the only one loaded."""
    if not _openblas_cache:
        libs = [info["filepath"] for info in _threadpoolctl().threadpool_info()
                if info.get("internal_api") == "openblas"]
        numpy_dir = os.path.dirname(os.path.dirname(os.path.realpath(np.__file__)))
        ours = [path for path in libs if os.path.realpath(path).startswith(
            os.path.join(numpy_dir, "numpy"))]
        path = ours[0] if ours else (libs[0] if len(libs) == 1 else None)
        found = None
        for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "64_"), ("", "")):
            if path is None or found is not None:
                break
            try:
                found = _OpenBLAS(path, prefix, suffix)
            except (OSError, AttributeError):
                continue
        _openblas_cache.append(found)
    return _openblas_cache[0]


# ------------------------------------------------------------------ kernels on OpenBLAS's threads
class _BlasPool:
    """Runs a compiled task (a Numba ``cfunc`` taking a pointer to its record) on OpenBLAS's own
    worker threads, through ``gotoblas_pthread`` (OpenBLAS's pthread_create-like call: it hands
    each record to a thread, the caller's included, and returns when all are done).

    Why not Numba's threads: while a training step runs, OpenBLAS's workers spin between
    products (module docstring), and a Numba thread that shares a core with one runs at half
    speed. On the workers themselves, there is nothing to share the core with: measured on W3's
    LSTM forward right after a product, 10.5 ms on two OpenBLAS threads against 18.7 ms on one."""

    def __init__(self, lib, blas):
        self._start = lib.gotoblas_pthread
        self._start.restype = ctypes.c_int
        self._start.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        self._pool_size = ctypes.c_int.in_dll(lib, "blas_num_threads")
        self._blas = blas

    @property
    def parts(self) -> int:
        """How many threads a task may use now: BLAS's thread count (``set_num_threads``), at
        most the threads OpenBLAS started."""
        return max(1, min(self._blas.get(), self._pool_size.value))

    def __call__(self, task, records):
        """``task`` on each row of ``records`` (int64, C-contiguous), one thread per row when
        there are threads for all of them, else one after the other."""
        if len(records) <= 1 or len(records) > self.parts:
            run_in_turn(task, records)
            return
        self._start(len(records), task.address, records.ctypes.data, records.strides[0])


def run_in_turn(task, records):
    """``task`` (as ``_BlasPool`` takes it) on each row of ``records``, one after the other, on
    this thread."""
    for record in records:
        task.ctypes(record.ctypes.data)


_blas_pool_cache: list = []


def blas_pool():
    """The runner of compiled tasks on OpenBLAS's threads, or None: no Numba, another BLAS than
    NumPy's pthreads OpenBLAS, or fewer than two OpenBLAS threads."""
    from nerve import _kernels

    if not _blas_pool_cache:
        pool = None
        blas = _openblas()
        layers = [info.get("threading_layer") for info in _threadpoolctl().threadpool_info()
                  if blas is not None and info.get("filepath") == blas.path]
        if _kernels.numba is not None and blas is not None and layers == ["pthreads"]:
            try:
                pool = _BlasPool(ctypes.CDLL(blas.path), blas)
            except (OSError, AttributeError, ValueError):
                pool = None
        _blas_pool_cache.append(pool)
    pool = _blas_pool_cache[0]
    if pool is None or not _kernels.enabled or pool._pool_size.value < 2:
        return None
    return pool


def gemm(a, b):
    """``a.dot(b)`` for 2-D arrays a (M, K) and b (K, N), on one BLAS thread when M K N is
    below ``SMALL_GEMM`` (see the module's docstring); the thread count is restored after."""
    work = a.shape[0] * a.shape[1] * b.shape[-1] if type(a) is np.ndarray else 0
    if _BLAS_ONE_THREAD < work < SMALL_GEMM:
        blas = _openblas()
        if blas is not None:
            before = blas.get()
            if before > 1:
                blas.set(1)
                try:
                    return a.dot(b)
                finally:
                    blas.set(before)
    return a.dot(b)


# ------------------------------------------------------------------ is the other core free?
_task_dir = "/proc/self/task"
_stat_files: dict[int, int] = {}  # thread id -> open file of its /proc stat
_own_pool: set[int] = set()  # the threads Numba started for its parallel loops
_pool_known = [False]
_pool_pid = [0]  # the process that started it (a child made by fork stays on one thread)
_pool_usable = [False]  # Numba runs its loops on OpenMP or TBB (see _start_pool)


def _running_threads(exclude):
    """The ids of this process's threads that are running now (state R), but those in exclude."""
    running = []
    tids = {int(t) for t in os.listdir(_task_dir)}
    for tid in list(_stat_files):
        if tid not in tids:
            os.close(_stat_files.pop(tid))
    for tid in tids:
        if tid in exclude:
            continue
        fd = _stat_files.get(tid)
        if fd is None:
            try:
                fd = _stat_files[tid] = os.open(f"{_task_dir}/{tid}/stat", os.O_RDONLY)
            except OSError:  # the thread just ended
                continue
        try:
            stat = os.pread(fd, 512, 0)
        except OSError:
            continue
        # "tid (name) S ...": the state follows the name, which may hold spaces and parentheses
        if stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] == b"R":
            running.append(tid)
    return running


def spare_core() -> bool:
    """Whether a parallel kernel may use a second core now: Numba has more than one thread, and
    no other thread of this process (OpenBLAS's workers spinning after a product, another
    framework's pool, a thread of the user's) is running. Numba's own pool does not count."""
    from nerve import _kernels

    if _kernels.numba is None:
        return False
    try:
        if _kernels.numba.get_num_threads() < 2:
            return False
        if not _pool_known[0]:
            _start_pool(_kernels)
        if not _pool_usable[0] or _pool_pid[0] != os.getpid():  # OpenMP does not survive fork
            return False
        return not _running_threads(_own_pool | {threading.get_native_id()})
    except OSError:  # no /proc (not Linux): stay on one thread
        return False


def _start_pool(_kernels):
    """Start Numba's threads and note which they are, so that ``spare_core`` does not count
    them. NOTE: they may be shared: PyTorch and Numba can run on the same OpenMP runtime."""
    _own_pool.update(_kernels.pool_thread_ids())
    _pool_known[0] = True
    _pool_pid[0] = os.getpid()
    # NOTE: Numba's fallback "workqueue" layer ran the kernels 3x slower than OpenMP, and aborts
    # the process when two threads launch parallel loops at once.
    _pool_usable[0] = _kernels.numba.threading_layer() in ("omp", "tbb")
