"""Target status (met / near / missed) for each direction, on DuckDB and PySpark.

Agents data of tests/cases/agents.yaml: occupancy a1 = 4/7 (0.5714), a2 = 2/3 (0.6667),
both together 0.6. Occupancy is neutral: met within `near` of the target either way, near
within twice `near`, missed beyond. Target 0.6 near 0.03: a1 is 0.0286 away (met), a2
0.0667 (missed: beyond 0.06), total 0 away (met). Target 0.62 near 0.03: a1 0.0486 (near),
a2 0.0467 (near), total 0.02 (met).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest
from kpihelpers import load_case_warehouse, read_case_file, settings_of

from contactkpi.config import Settings, TargetSetting
from contactkpi.metrics import MetricQuery, query
from contactkpi.metrics.compile import _status
from contactkpi.metrics.spec import Direction

CASE = Path(__file__).resolve().parents[1] / "cases" / "agents.yaml"


def _settings(value: float, near: float) -> Settings:
    base = settings_of(read_case_file(CASE))
    return Settings(default_tenant=base.default_tenant, tenants=base.tenants,
                    targets={"occupancy": TargetSetting(value, near)})


def _statuses(wh: Any, value: float, near: float) -> dict[str, str]:
    frame = query(wh, MetricQuery(["occupancy"], by=["agent"], where="agent IN ('a1', 'a2')"),
                  settings=_settings(value, near))
    total = query(wh, MetricQuery(["occupancy"]), settings=_settings(value, near))
    out = dict(zip(frame["agent"], frame["occupancy.status"], strict=True))
    out["all"] = total["occupancy.status"].iloc[0]
    return out


EXPECT = [
    (0.6, 0.03, {"a1": "met", "a2": "missed", "all": "met"}),
    (0.62, 0.03, {"a1": "near", "a2": "near", "all": "met"}),
]

# value, (higher, lower, neutral) status against target 0.8 near 0.05
VALUES = [
    (0.8, ("met", "met", "met")),
    (0.84, ("met", "near", "met")),
    (0.86, ("met", "missed", "near")),
    (0.77, ("near", "met", "met")),
    (0.72, ("missed", "met", "near")),
    (0.69, ("missed", "met", "missed")),
    (None, (None, None, None)),
]


def _direct(spark_tables: Any = None) -> list[tuple[Any, ...]]:
    frame = pd.DataFrame({"i": range(len(VALUES)), "v": [v for v, _ in VALUES]})
    con = spark_tables.con if spark_tables else None
    if spark_tables:  # a temporary view: nothing written to disk
        import pyarrow as pa

        arrow = pa.table({"i": pa.array(frame["i"], pa.int64()),
                          "v": pa.array([v for v, _ in VALUES], pa.float64())})
        spark_tables.spark.createDataFrame(arrow).createOrReplaceTempView("status_values")
        t = con.table("status_values")
    else:
        t = ibis.memtable(frame)
    target = TargetSetting(0.8, 0.05)
    expr = t.select(t.i, *[_status(t.v, target, d).name(d.name) for d in
                          (Direction.HIGHER, Direction.LOWER, Direction.NEUTRAL)]).order_by("i")
    got = (con.execute(expr) if con else expr.execute())
    return [tuple(None if pd.isna(x) else x for x in row[1:])
            for row in got.itertuples(index=False)]


def test_status_rule_each_direction_duckdb() -> None:
    assert _direct(None) == [s for _, s in VALUES]


@pytest.mark.parametrize(("value", "near", "want"), EXPECT)
def test_neutral_target_band_duckdb(value: float, near: float, want: dict[str, str]) -> None:
    wh = load_case_warehouse(read_case_file(CASE))
    assert _statuses(wh, value, near) == want


@pytest.mark.spark
def test_status_rule_and_neutral_band_spark(spark_tables: Any) -> None:
    assert _direct(spark_tables) == [s for _, s in VALUES]
    duck = load_case_warehouse(read_case_file(CASE))
    swh = spark_tables.warehouse(str(CASE), duck)
    for value, near, want in EXPECT:
        assert _statuses(swh, value, near) == want
