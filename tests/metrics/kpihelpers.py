"""Helpers for the KPI engine tests: declarative cases, DuckDB and PySpark warehouses.

A case file (``tests/cases/*.yaml``) holds one small dataset (``tables``), the tenant config
it needs (``config``) and cases: a query and the rows worked out by hand (``expect``). The
same cases run on DuckDB always and on PySpark local mode under the ``spark`` marker.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from contactkpi.config import OpeningHours, Settings, Tenant
from contactkpi.model import TABLES
from contactkpi.store import Warehouse, load_frames

REPO = Path(__file__).resolve().parents[2]
CASES_DIR = REPO / "tests" / "cases"
SHARED_DATA = REPO.parent / "shared" / "data"
_ARITH = re.compile(r"^[\d\s.+\-*/()]+$")


def case_files() -> list[Path]:
    return sorted(CASES_DIR.glob("*.yaml"))


def read_case_file(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def frames_of(spec: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Canonical frames from a case file's ``tables`` (rows as lists under ``columns``)."""
    frames: dict[str, list[pd.DataFrame]] = {}
    for key, t in (spec.get("tables") or {}).items():
        table = t.get("table", key)
        frame = pd.DataFrame(t.get("rows") or [], columns=t["columns"], dtype="object")
        for col, value in (t.get("defaults") or {}).items():
            frame[col] = value
        frames.setdefault(table, []).append(frame)
    return {name: pd.concat(parts, ignore_index=True) for name, parts in frames.items()}


def settings_of(spec: dict[str, Any]) -> Settings:
    """Settings with the case file's tenant (timezone, opening hours, holidays)."""
    tenant = spec.get("tenant", "acme")
    cfg = spec.get("config") or {}
    hours = cfg.get("opening_hours")
    from datetime import date

    t = Tenant(
        name=tenant,
        timezone=cfg.get("timezone", "UTC"),
        opening_hours=OpeningHours.parse(hours, "case") if hours else OpeningHours.always(),
        holidays=frozenset(date.fromisoformat(d) for d in cfg.get("holidays", [])),
    )
    return Settings(default_tenant=tenant, tenants={tenant: t})


def load_case_warehouse(spec: dict[str, Any]) -> Warehouse:
    """A DuckDB warehouse with the case file's rows, loaded through the real load path."""
    wh = Warehouse.memory()
    frames = frames_of(spec)
    if frames:
        result = load_frames(wh, frames, tenant=spec.get("tenant", "acme"))
        assert result.rows_rejected == 0, wh.table("rejects").to_pandas().to_string()
    return wh


def expected_value(v: Any) -> Any:
    """Numbers, null, or hand-written fractions such as ``5/7``."""
    if isinstance(v, str) and _ARITH.match(v):
        return float(eval(v, {"__builtins__": {}}))  # noqa: S307 - digits and operators only
    return v


def same(a: Any, b: Any, tol: float = 1e-9) -> bool:
    if b is None or (isinstance(b, float) and pd.isna(b)):
        return a is None or (isinstance(a, float) and pd.isna(a)) or a is pd.NaT
    if a is None or a is pd.NaT or (isinstance(a, float) and pd.isna(a)):
        return False
    if isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return str(a) == str(b)
    return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(b)))


def row_key(row: dict[str, Any], keys: list[str]) -> tuple[Any, ...]:
    out = []
    for k in keys:
        v = row.get(k)
        if v is None or (isinstance(v, float) and pd.isna(v)):
            out.append(None)
        else:
            out.append(str(v))
    return tuple(out)


def check_rows(actual: list[dict[str, Any]], expect: list[dict[str, Any]], keys: list[str],
               exact_count: bool = True) -> None:
    """Every expected row is found by its keys and its numbers agree to 1e-9."""
    by_key = {row_key(r, keys): r for r in actual}
    assert len(by_key) == len(actual), "duplicate result keys"
    if exact_count:
        assert len(actual) == len(expect), (
            f"{len(actual)} rows, expected {len(expect)}:\n" + "\n".join(map(str, actual)))
    for e in expect:
        key = row_key(e, keys)
        assert key in by_key, f"no row {key}; rows: {list(by_key)}"
        got = by_key[key]
        for col, want in e.items():
            if col in keys:
                continue
            want = expected_value(want)
            assert col in got, f"no column {col}"
            assert same(got[col], want), f"{key} {col}: got {got[col]!r}, expected {want!r}"


def spark_session() -> Any:
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("contactkpi-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkTables:
    """Registers a dataset's canonical tables in the Spark session.

    Tables are created from the DuckDB warehouse's Arrow data with
    ``spark.createDataFrame(arrow)`` as temporary views: going through pandas (as
    ``con.create_table(name, frame)`` does) turns missing floats into NaN, which Spark does
    not treat as NULL, so medians and means would differ from DuckDB.
    """

    def __init__(self, spark: Any):
        import ibis

        self.spark = spark
        self.con = ibis.pyspark.connect(spark)
        self.current: str | None = None

    def warehouse(self, name: str, duck: Warehouse) -> Warehouse:
        if self.current != name:
            for table in TABLES:
                arrow = duck.table(table).to_pyarrow()
                self.spark.createDataFrame(arrow).createOrReplaceTempView(table)
            self.current = name
        return Warehouse.from_backend(self.con)
