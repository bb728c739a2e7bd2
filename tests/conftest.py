"""Shared fixtures: a fresh warehouse per test, the repo and shared-data paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from contactkpi.store import Warehouse

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    """A new DuckDB warehouse file in a temporary folder."""
    w = Warehouse.open(tmp_path / "test.duckdb")
    yield w
    w.close()
