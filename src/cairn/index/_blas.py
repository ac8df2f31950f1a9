"""One BLAS thread for the vector index's matrix products.

A search is one matrix-vector product over at most a few hundred thousand rows: memory
bound, and no faster on more threads. But OpenBLAS keeps its worker threads spinning for
a while after each call, and on a small machine they take the cores torch needs for the
query embedding that comes next: on 2 cores, a 10k-vector search (4 ms) made the
following MiniLM embedding go from 22 ms to 60–100 ms. So the index runs its products
on one BLAS thread (threadpoolctl: the library that knows how to find and limit every
BLAS numpy may have loaded), and leaves the process's other threads alone.
"""

from __future__ import annotations

import sys
import threading
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController

_mu = threading.Lock()
_controller: ThreadpoolController | None = None
_modules = -1  # len(sys.modules) when `_controller` was made


def one_thread() -> AbstractContextManager[object]:
    """A context in which numpy's BLAS uses one thread.

    Finding the loaded BLAS libraries costs ~3 ms, so it is done once, and again only
    after modules were imported since (an import is how another BLAS, scipy's say, gets
    loaded): an up-to-date controller, without paying for it on every search."""
    from threadpoolctl import ThreadpoolController  # lazily: 24 ms, as numpy is (package doc)

    global _controller, _modules
    with _mu:
        if _controller is None or _modules != len(sys.modules):
            _controller, _modules = ThreadpoolController(), len(sys.modules)
        controller = _controller
    limit: AbstractContextManager[object] = controller.limit(limits=1, user_api="blas")
    return limit
