"""Shared pytest configuration (kept small on purpose).

nbval is switched on for every ``notebooks/*.ipynb`` in pyproject.toml
(``--nbval-lax --nbval-current-env``): notebooks run top to bottom in a kernel of
this environment, asserts in the notebooks carry the claims, and any error output
(also from a widget callback) fails the run.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Idle OpenMP threads sleep instead of spinning. The notebook kernels that nbval starts inherit this;
# on a busy 2-core machine spinning threads of the kernel and of pytest itself starve each other
# (measured 10-60x slower notebook cells under load). No effect on results.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a test module on one torch thread: many tiny tensor ops, where OpenMP waits cost more than
    they save on a busy 2-core machine (same speed when idle). Use with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    from ntk_teach._threads import torch_threads

    with torch_threads(1):
        yield
