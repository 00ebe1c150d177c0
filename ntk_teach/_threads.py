"""One context manager for torch's intra-op thread count, used across the package.

The course's tensors are small (a few inputs by at most a few thousand units). For them one
thread is about as fast as two on an idle machine, and many times faster on a busy one,
where OpenMP worker threads spin-wait for each other (measured on the course's 2-core
machine: 10-50x for Monte Carlo loops and small-network training).
"""
from __future__ import annotations

import contextlib
import sys


@contextlib.contextmanager
def torch_threads(n: int | None = 1):
    """Run a block with ``torch.set_num_threads(n)`` and restore the previous value afterwards.

    ``n=None`` leaves the setting alone (also a no-op when torch is not imported).
    """
    torch = sys.modules.get("torch")
    if n is None or torch is None:
        yield
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be an integer >= 1 or None, got {n!r}")
    old = torch.get_num_threads()
    if old == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
