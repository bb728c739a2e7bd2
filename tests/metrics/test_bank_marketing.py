"""Outbound KPIs on real telemarketing data: the UCI bank-marketing campaign (41,188 calls).

Loaded through the shipped mapping (examples/mappings/bank-marketing.toml) and the real load
path. Published figures (dataset README): conversion 4640 / 41188 = 11.27 %; by line type
cellular 14.74 %, telephone 5.23 %; by previous outcome success 65.11 %, failure 14.23 %,
nonexistent 8.83 %. Every row is a call that was made to the client, so these are sales per
call: conversion_rate@of_attempts. The rows have no timestamps, hence grain all.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kpihelpers import REPO, SHARED_DATA

from contactkpi.config import Tenant
from contactkpi.metrics import MetricQuery, run
from contactkpi.sources.base import ReadContext, SourceFile
from contactkpi.sources.registry import get_source
from contactkpi.store import Warehouse, load

DATA = SHARED_DATA / "bank-marketing-outbound" / "bank-additional-full.csv"
MAPPING = REPO / "examples" / "mappings" / "bank-marketing.toml"


@pytest.fixture(scope="module")
def bank() -> Warehouse:
    wh = Warehouse.memory()
    source = get_source("csv")
    ctx = ReadContext(tenant=Tenant(name="bank"), mapping=MAPPING)
    result = load(wh, SourceFile.of(Path(DATA), "csv"), source.read(Path(DATA), ctx),
                  tenant="bank")
    assert result.rows_rejected == 0
    return wh


def _by(wh: Warehouse, dim: str | None, metrics: tuple[str, ...]) -> dict[str | None, dict]:
    result = run(wh, MetricQuery(metrics=metrics, by=(dim,) if dim else ()))
    rows = result.to_dict()["rows"]
    return {r.get(dim) if dim else None: r for r in rows}


def test_overall_conversion_is_sales_per_call(bank: Warehouse) -> None:
    row = _by(bank, None, ("attempts", "sales", "conversion_rate@of_attempts",
                           "conversion_rate", "contact_rate", "attempt_number_mean"))[None]
    assert row["attempts"] == 41188
    assert row["sales"] == 4640
    assert row["conversion_rate@of_attempts"] == pytest.approx(4640 / 41188, abs=1e-12)
    assert round(row["conversion_rate@of_attempts"] * 100, 2) == 11.27
    # 4 calls lasted 0 s (not connected, none a sale): sales / connected differs slightly
    assert row["conversion_rate"] == pytest.approx(4640 / 41184, abs=1e-12)
    assert row["contact_rate"] == pytest.approx(41184 / 41188, abs=1e-12)
    assert round(row["attempt_number_mean"], 4) == 2.5676


def test_conversion_by_line_type(bank: Warehouse) -> None:
    rows = _by(bank, "script", ("conversion_rate@of_attempts",))
    got = {k: round(v["conversion_rate@of_attempts"] * 100, 2) for k, v in rows.items()}
    assert got == {"cellular": 14.74, "telephone": 5.23}


def test_conversion_by_previous_outcome(bank: Warehouse) -> None:
    rows = _by(bank, "segment", ("conversion_rate@of_attempts", "attempts"))
    got = {k: round(v["conversion_rate@of_attempts"] * 100, 2) for k, v in rows.items()}
    assert got == {"success": 65.11, "failure": 14.23, "nonexistent": 8.83}
    assert sum(v["attempts"] for v in rows.values()) == 41188
