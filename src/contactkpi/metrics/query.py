"""Run a MetricQuery: compile once, execute on the warehouse's engine, shape the result.

``query(wh, MetricQuery(...), output="pandas")`` is what the CLI, API, pages, reports and
alerts call. Outputs: ``pandas`` (default), ``arrow`` (pyarrow), ``ibis`` (the unexecuted
expression, with internal period keys ``_pn``/``_o``), or ``result`` (a QueryResult that also
carries metric metadata and renders the JSON shape ``{"metrics": [...], "rows": [...]}``).
Rows hold the dimension values, ``period_start`` (local time with its UTC offset) and one
column per requested metric, named as asked; ratios are 0..1 and durations seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import ibis
import pandas as pd
import pyarrow as pa

from contactkpi.config import Settings
from contactkpi.errors import QueryError, WarehouseError
from contactkpi.metrics.compile import Compiler, compile_query
from contactkpi.metrics.grains import period_start_column
from contactkpi.metrics.loader import default_catalog
from contactkpi.metrics.request import MetricQuery
from contactkpi.metrics.scope import OFF, PN, Tables
from contactkpi.metrics.spec import Catalog
from contactkpi.model import TABLES
from contactkpi.store import Warehouse

Output = Literal["pandas", "arrow", "pyarrow", "ibis", "result"]


def warehouse_tables(wh: Warehouse) -> Tables:
    """Canonical tables of a warehouse, tenant-scoped on demand."""

    cache: dict[tuple[str, str | None], ibis.Table] = {}

    def tables(name: str, tenant: str | None) -> ibis.Table:
        if (name, tenant) not in cache:
            cache[(name, tenant)] = wh.table(name, tenant=tenant)
        return cache[(name, tenant)]

    return tables


def unbound_tables() -> Tables:
    """Canonical tables as unbound Ibis tables (for explain: compile, never execute)."""

    def tables(name: str, tenant: str | None) -> ibis.Table:
        t = ibis.table(TABLES[name].schema(), name=name)
        return t.filter(t.tenant == tenant) if tenant is not None else t

    return tables


@dataclass
class QueryResult:
    """Rows and metadata of one query."""

    frame: pd.DataFrame
    metrics: list[dict[str, Any]]
    dimensions: list[str]
    grain: str
    timezone: str
    expr: ibis.Table | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """``{"metrics": [...], "rows": [...]}`` with JSON-ready values."""
        return {"metrics": self.metrics, "rows": records(self.frame)}


def _plain(v: Any) -> Any:
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp | datetime | date):
        return v.isoformat()
    if hasattr(v, "item"):
        v = v.item()
        if isinstance(v, float) and math.isnan(v):
            return None
    return v


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NaN/NaT become null, times ISO-8601 with offset."""
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def metric_info(comp: Compiler) -> list[dict[str, Any]]:
    """What each result column is: metric, variant, params, unit, target."""
    out = []
    for r in comp.visible:
        target = comp.target_for(r)
        out.append({
            "name": r.column,
            "metric": r.metric.name,
            "label": r.metric.label,
            "unit": r.metric.unit.value,
            "format": r.metric.format.value,
            "direction": r.metric.direction.value,
            "variant": r.variant.name if r.variant else None,
            "params": r.shown_params(),
            "target": None if target is None else {"value": target.value, "near": target.near},
        })
    return out


def _to_frame(comp: Compiler, raw: pd.DataFrame) -> pd.DataFrame:
    ctx = comp.ctx
    zone = ctx.clock.zone
    frame = raw.copy()
    if ctx.grain == "all":
        start = ctx.start.astimezone(zone) if ctx.start else None
        period = pd.Series([pd.Timestamp(start) if start else pd.NaT] * len(frame),
                           index=frame.index, dtype=f"datetime64[ns, {zone.key}]")
    else:
        period = period_start_column(frame, ctx.grain, zone)
    frame = frame.drop(columns=[c for c in (PN, OFF) if c in frame.columns])
    frame.insert(len(ctx.dims), "period_start", period)
    for r in comp.visible:
        col = frame[r.column]
        if r.metric.unit.value == "count" and col.notna().all() and len(col):
            frame[r.column] = col.astype("int64")
    return frame.reset_index(drop=True)


def run(
    wh: Warehouse | Any,
    query: MetricQuery,
    *,
    settings: Settings | None = None,
    catalog: Catalog | None = None,
) -> QueryResult:
    """Compile and execute ``query``; the result keeps rows and metric metadata."""
    catalog = catalog or default_catalog()
    settings = settings or Settings()
    warehouse = wh if isinstance(wh, Warehouse) else Warehouse.from_backend(wh)
    comp, expr = compile_query(catalog, query, warehouse_tables(warehouse), settings,
                               probe=True, engine=warehouse.backend_name)
    try:
        raw = expr.to_pandas()
    except (QueryError, WarehouseError):
        raise
    frame = _to_frame(comp, raw)
    return QueryResult(frame=frame, metrics=metric_info(comp), dimensions=list(comp.ctx.dims),
                       grain=comp.ctx.grain, timezone=comp.ctx.clock.zone_name, expr=expr)


def query(
    wh: Warehouse | Any,
    query: MetricQuery,
    *,
    output: Output = "pandas",
    settings: Settings | None = None,
    catalog: Catalog | None = None,
) -> Any:
    """Compute KPIs. ``output``: ``pandas`` | ``arrow`` | ``ibis`` | ``result``.

    Examples:
        >>> import pandas as pd
        >>> from contactkpi.store import Warehouse, load_frames
        >>> from contactkpi.metrics import MetricQuery, query
        >>> wh = Warehouse.memory()
        >>> t = pd.Timestamp("2026-03-02 09:00", tz="UTC")
        >>> rows = pd.DataFrame({"contact_id": ["1", "2", "3", "4"], "channel": "voice",
        ...     "direction": "inbound", "queue": "sales", "arrived_at": t,
        ...     "outcome": ["answered", "answered", "abandoned", "answered"],
        ...     "wait_s": [10.0, 25.0, 40.0, 5.0]})
        >>> _ = load_frames(wh, {"contacts": rows}, tenant="acme")
        >>> query(wh, MetricQuery(["offered", "service_level@of_offered"], targets=False))
          period_start  offered  service_level@of_offered
        0          NaT        4                       0.5
    """
    if output == "ibis":
        catalog = catalog or default_catalog()
        warehouse = wh if isinstance(wh, Warehouse) else Warehouse.from_backend(wh)
        _, expr = compile_query(catalog, query, warehouse_tables(warehouse),
                                settings or Settings(), engine=warehouse.backend_name)
        return expr
    result = run(wh, query, settings=settings, catalog=catalog)
    if output == "pandas":
        return result.frame
    if output in ("arrow", "pyarrow"):
        return pa.Table.from_pandas(result.frame, preserve_index=False)
    if output == "result":
        return result
    raise QueryError(f"unknown output {output!r}", where="output",
                     hint="pandas, arrow, ibis or result")


Runner = Callable[[MetricQuery], QueryResult]
