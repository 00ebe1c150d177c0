"""Shared pytest configuration (kept small on purpose).

nbval is switched on for every ``notebooks/*.ipynb`` in pyproject.toml
(``--nbval-lax --nbval-current-env``): notebooks run top to bottom in a kernel of
this environment, asserts in the notebooks carry the claims, and any error output
(also from a widget callback) fails the run.
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO
