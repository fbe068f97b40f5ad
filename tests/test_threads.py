"""nerve.set_num_threads / get_num_threads (nerve/threads.py)."""

import numpy as np
import pytest

import nerve


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
