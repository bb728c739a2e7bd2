"""The declarative KPI cases of tests/cases/*.yaml, on DuckDB and on PySpark.

Each case's expected rows were worked out by hand from the 5-20 rows of its file (the
working is in the file's comments). On Spark the whole result must also equal DuckDB's to
1e-9, not just the expected cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kpihelpers import (
    case_files,
    check_rows,
    load_case_warehouse,
    read_case_file,
    same,
    settings_of,
)

from contactkpi import errors
from contactkpi.metrics import MetricQuery, run

CASES = [
    pytest.param(path, i, id=f"{path.stem}:{case['name']}")
    for path in case_files()
    for i, case in enumerate(read_case_file(path)["cases"])
]

_WAREHOUSES: dict[Path, Any] = {}


def _duck(path: Path) -> tuple[Any, Any, dict[str, Any]]:
    if path not in _WAREHOUSES:
        spec = read_case_file(path)
        _WAREHOUSES[path] = (load_case_warehouse(spec), settings_of(spec), spec)
    return _WAREHOUSES[path]


def _query(spec: dict[str, Any], case: dict[str, Any]) -> MetricQuery:
    q = case["query"]
    return MetricQuery(
        metrics=tuple(q["metrics"]), by=tuple(q.get("by") or ()), grain=q.get("grain", "all"),
        start=q.get("from"), end=q.get("to"), where=q.get("where"),
        params=q.get("params") or {}, variants=q.get("variants") or {},
        tenant=spec.get("tenant", "acme"), targets=False, as_of=q.get("as_of"))


def _run(wh: Any, settings: Any, spec: dict[str, Any], case: dict[str, Any]) -> Any:
    query = _query(spec, case)
    if "error" in case:
        with pytest.raises(getattr(errors, case["error"]), match=case.get("match")):
            run(wh, query, settings=settings)
        return None
    result = run(wh, query, settings=settings)
    keys = list(result.dimensions) + (["period_start"] if result.grain != "all" else [])
    check_rows(result.to_dict()["rows"], case["expect"], keys)
    return result


@pytest.mark.parametrize(("path", "index"), CASES)
def test_case_duckdb(path: Path, index: int) -> None:
    wh, settings, spec = _duck(path)
    _run(wh, settings, spec, spec["cases"][index])


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize(("path", "index"), CASES)
def test_case_spark(path: Path, index: int, spark_tables: Any) -> None:
    duck, settings, spec = _duck(path)
    case = spec["cases"][index]
    swh = spark_tables.warehouse(str(path), duck)
    got = _run(swh, settings, spec, case)
    if got is None:
        return
    want = run(duck, _query(spec, case), settings=settings)
    a, b = got.to_dict()["rows"], want.to_dict()["rows"]
    assert len(a) == len(b)
    keys = list(want.dimensions) + ["period_start"]
    a = sorted(a, key=lambda r: tuple(str(r.get(k)) for k in keys))
    b = sorted(b, key=lambda r: tuple(str(r.get(k)) for k in keys))
    for ra, rb in zip(a, b, strict=True):
        assert ra.keys() == rb.keys()
        for k in ra:
            assert same(ra[k], rb[k]), f"{k}: spark {ra[k]!r} != duckdb {rb[k]!r}"
