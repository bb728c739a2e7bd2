"""Fixtures for the KPI engine tests: one SparkSession and its table registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kpihelpers import SparkTables, spark_session


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local[2] SparkSession for the whole run (UTC, no UI, 2 shuffle partitions)."""
    pytest.importorskip("pyspark")
    session = spark_session()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_tables(spark: Any) -> SparkTables:
    return SparkTables(spark)
