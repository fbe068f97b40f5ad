"""``nerve.set_num_threads`` / ``get_num_threads``: how many threads the BLAS library uses.

NumPy hands every matrix product to a BLAS library (OpenBLAS in NumPy's wheels), which starts as
many threads as there are cores. For small matrices a second thread costs more than it saves, and
on a busy machine OpenBLAS's spinning threads can make a step several times slower: the examples
call ``nerve.set_num_threads(1)``. ``threadpoolctl`` (a small, pure-Python library that
scikit-learn also uses) finds the BLAS library NumPy loaded and sets its thread count.
"""

from __future__ import annotations


def _threadpoolctl():
    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency of nerve
        raise ImportError(
            "set_num_threads needs threadpoolctl: pip install threadpoolctl"
        ) from None
    return threadpoolctl


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in BLAS (matrix products) from now on, process-wide, as torch does."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive integer, got {n!r}")
    _threadpoolctl().threadpool_limits(n, user_api="blas")


def get_num_threads() -> int:
    """The number of threads BLAS uses (the largest, if NumPy loaded several BLAS libraries)."""
    infos = _threadpoolctl().threadpool_info()
    counts = [info["num_threads"] for info in infos if info.get("user_api") == "blas"]
    return max(counts) if counts else 1
