"""Drill-down: the rows behind one cell of a query, so a KPI can be checked by hand.

``drill(wh, query, "service_level", {"queue": "sales", "period_start": "2026-03-02T09:00+01:00"})``
returns the contacts of that queue and interval that the KPI looked at (the union of its
inputs' rows on its main table), the metric's drill columns, and one ``in_<input>`` flag per
input (``in_numerator``, ``in_denominator``, ...) plus ``<input>_value`` for averaged or summed
inputs. For a repeat-window KPI each base contact comes with its next matching contact and
``fcr_status`` (resolved, repeated or pending).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import ibis
import pandas as pd

from contactkpi.config import Settings
from contactkpi.errors import QueryError
from contactkpi.metrics.compile import Compiler, RepeatAtom, _bind, _texts_placeholders
from contactkpi.metrics.dimensions import TIME_DERIVED
from contactkpi.metrics.grains import EPOCH_DAY, SUB_DAY, _pn_of_day
from contactkpi.metrics.loader import default_catalog
from contactkpi.metrics.query import warehouse_tables
from contactkpi.metrics.request import MetricQuery, parse_request
from contactkpi.metrics.resolve import Resolved, resolve
from contactkpi.metrics.scope import OFF, PN, RowScope, _and, make_context, time_dim_for
from contactkpi.metrics.spec import Catalog, MetricType
from contactkpi.metrics.spread import split_unit, spread_rows
from contactkpi.model import TABLES
from contactkpi.store import Warehouse


def _cell_keys(cell_period: Any, grain: str, zone: Any) -> dict[str, int]:
    if grain == "all" or cell_period in (None, ""):
        return {}
    if isinstance(cell_period, str):
        try:
            when = datetime.fromisoformat(cell_period)
        except ValueError:
            raise QueryError(f"bad period_start {cell_period!r}", where="--cell",
                             hint="copy period_start from the query output (ISO-8601)") from None
    else:
        when = pd.Timestamp(cell_period).to_pydatetime()
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    local = when.astimezone(zone)
    off = int(local.utcoffset().total_seconds())
    if grain in SUB_DAY:
        lep = int(when.timestamp()) + off
        return {PN: lep // SUB_DAY[grain], OFF: off}
    return {PN: _pn_of_day((local.date() - EPOCH_DAY).days, grain)}


def _cell_filter(scope: RowScope, comp: Compiler, cell: Mapping[str, Any]) -> Any:
    ctx = comp.ctx
    conds = []
    for key, value in cell.items():
        if key == "period_start":
            continue
        if key not in ctx.dims:
            raise QueryError(f"{key!r} is not a dimension of this query", where="--cell",
                             hint="cells are named by the query's --by dimensions and "
                             "period_start")
        col = scope.column(key)
        if value is None:
            conds.append(col.isnull())
        elif key in TIME_DERIVED:
            conds.append(col == int(value))
        else:
            conds.append(col.cast("string") == str(value))
    keys = _cell_keys(cell.get("period_start"), ctx.grain, ctx.clock.zone)
    if keys:
        computed = scope.keys("drill")
        for k, v in keys.items():
            conds.append(computed[k] == v)
    return _and(*conds)


def _repeat_drill(comp: Compiler, r: Resolved, cell: Mapping[str, Any]) -> ibis.Table:
    m = r.metric
    assert m.repeat is not None
    # build the same atom the query builds, to share its definition exactly
    comp.add(parse_request(r.column) if not r.hidden else r.column)
    atom: RepeatAtom = next(iter(comp.repeats))
    scope, repeated, pending = comp.repeat_rows(atom)
    t = scope.t
    status = ibis.cases((repeated, "repeated"), (pending, "pending"), else_="resolved")
    cols = {c: t[c] for c in (m.drill or t.columns) if c in t.columns and not c.startswith("_")}
    cols["fcr_status"] = status
    keep = _and(scope.period_filter(), scope.user_where(), _cell_filter(scope, comp, cell))
    if keep is not None:
        cols["_keep"] = keep
    rows = t.select(**cols)
    if keep is not None:
        rows = rows.filter(rows._keep).drop("_keep")
    return rows.order_by([rows[atom.time_dim]] if atom.time_dim in rows.columns else [])


def drill(
    wh: Warehouse | Any,
    query: MetricQuery,
    metric: str,
    cell: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    catalog: Catalog | None = None,
    limit: int | None = None,
    output: str = "pandas",
) -> Any:
    """The rows behind one cell of ``query`` for ``metric`` (pandas, or ``ibis``).

    Args:
        wh: the warehouse (or an Ibis backend).
        query: the query the cell comes from (range, grain, --by, --where, params, variants).
        metric: the metric request as asked (``service_level@of_offered:threshold_s=30``).
        cell: dimension values and ``period_start`` of the cell (ISO text as output).
        limit: at most this many rows.
    """
    catalog = catalog or default_catalog()
    warehouse = wh if isinstance(wh, Warehouse) else Warehouse.from_backend(wh)
    ctx = make_context(catalog, query, warehouse_tables(warehouse), settings or Settings(),
                       warehouse.backend_name)
    comp = Compiler(ctx)
    cell = dict(cell or {})
    r = resolve(catalog, parse_request(metric), query)
    if r.metric.type is MetricType.TREND:
        return drill(wh, query, str(r.params["of"]), cell, settings=settings,
                     catalog=catalog, limit=limit, output=output)
    if r.metric.type is MetricType.SCORE:
        raise QueryError(f"{metric} is a score of other KPIs and has no rows of its own",
                         where="METRIC", hint="drill one of its component KPIs")
    if r.metric.type is MetricType.REPEAT_WINDOW:
        rows = _repeat_drill(comp, r, cell)
    else:
        rows = _input_drill(comp, r, cell)
    if limit is not None:
        rows = rows.limit(limit)
    if output == "ibis":
        return rows
    return rows.to_pandas()


def _input_drill(comp: Compiler, r: Resolved, cell: Mapping[str, Any]) -> ibis.Table:
    ctx = comp.ctx
    m = r.metric
    catalog = ctx.catalog
    first = catalog.measures[next(iter(m.inputs.values())).measure]
    table = first.table
    aliases = [a for a, ref in m.inputs.items() if catalog.measures[ref.measure].table == table]
    if any(catalog.measures[m.inputs[a].measure].snapshot for a in aliases):
        raise QueryError(f"{m.name} is a snapshot (state at period end); drill is not "
                         "available for it yet", where="METRIC",
                         hint="query the rows with --where and the period instead")
    td = time_dim_for(m.time_dimension, first)
    texts: list[str | None] = []
    for a in aliases:
        measure = catalog.measures[m.inputs[a].measure]
        texts += [measure.filter, measure.expr, r.filter_of(a), measure.per]
    base = None
    if first.spread_until:  # interval rows: the pieces inside the cell (bounds clipped)
        base = spread_rows(ctx.source(table), td, first.spread_until, ctx.clock,
                           split_unit(ctx.grain, ctx.dims), ctx.start, ctx.end)
    scope = RowScope(ctx, table, td, texts, base=base)
    t = scope.t
    wanted = m.drill or TABLES[table].column_names
    cols: dict[str, Any] = {c: t[c] for c in wanted if c in t.columns}
    flags = []
    for a in aliases:
        measure = catalog.measures[m.inputs[a].measure]
        extra = r.filter_of(a)
        params = dict(_bind(r.params, _texts_placeholders(measure.filter, measure.expr, extra)))
        where = f"{measure.location}: measures.{measure.name}"
        pred = _and(scope.expr(measure.filter, params, where), scope.expr(extra, params, where))
        flag = (pred if pred is not None else ibis.literal(True)).fill_null(False)
        cols[f"in_{a}"] = flag
        flags.append(flag)
        if measure.expr:
            cols[f"{a}_value"] = scope.expr(measure.expr, params, where)
    any_flag = flags[0]
    for f in flags[1:]:
        any_flag = any_flag | f
    cols["_keep"] = _and(any_flag, scope.period_filter(), scope.user_where(),
                         _cell_filter(scope, comp, cell))
    rows = t.select(**cols)
    rows = rows.filter(rows._keep).drop("_keep")
    order = [rows[td]] if td in rows.columns else []
    if "contact_id" in rows.columns:
        order.append(rows.contact_id)
    return rows.order_by(order) if order else rows
