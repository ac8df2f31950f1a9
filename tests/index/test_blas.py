"""The vector index's matrix products run on one BLAS thread, and only they do."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info

from cairn.index import VectorIndex
from cairn.index._blas import one_thread as one_blas_thread
from cairn.store import MemoryKV


def _blas_threads() -> list[int]:
    return [int(p["num_threads"]) for p in threadpool_info() if p["user_api"] == "blas"]


def test_one_blas_thread_limits_inside_and_restores_after() -> None:
    np.ones(4) @ np.ones(4)  # numpy's BLAS is loaded
    before = _blas_threads()
    assert before, "numpy has a BLAS that threadpoolctl can see"
    with one_blas_thread():
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before


def test_search_does_not_leave_blas_limited() -> None:
    before = _blas_threads()
    index = VectorIndex(MemoryKV(), "t")
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((50, 8)).astype(np.float32)
    index.set_many([f"v{i}" for i in range(50)], vectors)
    best = index.search(vectors[7], 3)
    assert best[0].id == "v7"
    assert _blas_threads() == before


def test_a_blas_loaded_after_the_first_search_is_limited_too() -> None:
    with one_blas_thread():  # the libraries loaded so far are found
        pass
    import scipy.linalg  # loads scipy's own OpenBLAS, a second BLAS in the process

    scipy.linalg.blas.sgemv(1.0, np.ones((2, 2), dtype=np.float32), np.ones(2, np.float32))
    before = _blas_threads()
    with one_blas_thread():
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before
