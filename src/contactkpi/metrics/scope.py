"""The rows a KPI reads: query context (tenant, clock, range, grain) and the row scope.

``make_context`` resolves a query's tenant, time zone, grain, dimensions and range.
``RowScope`` is one canonical table as a query sees it: scoped to the tenant, joined to what
its dimensions need (roster team, contact columns), with local-time columns computed once,
virtual columns (``hour_of_day``, ``weekday``, ``in_opening_hours``), the definition
filters translated to Ibis, the user's ``--where``, the period filter and the period keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import ibis
import pandas as pd

from contactkpi.config import Settings, TargetSetting, Tenant
from contactkpi.errors import QueryError
from contactkpi.metrics import filters
from contactkpi.metrics.dimensions import (
    DEFAULT_TIME,
    DIMENSIONS,
    TIME_DERIVED,
    check_dimensions,
    dimension,
    enrich,
    reachable_columns,
)
from contactkpi.metrics.grains import (
    CYCLIC,
    SUB_DAY,
    Clock,
    business_clock,
    check_grain,
    date_period_keys,
    epoch_s,
    is_open_expr,
    period_keys,
)
from contactkpi.metrics.request import MetricQuery
from contactkpi.metrics.spec import Catalog, Measure
from contactkpi.model import TABLES, Kind

TableSource = Callable[[str], ibis.Table]
PN, OFF = "_pn", "_o"

# ---------------------------------------------------------------- context


@dataclass
class Context:
    """Everything a compilation needs besides the metrics."""

    catalog: Catalog
    query: MetricQuery
    source: TableSource
    tenant: Tenant
    scoped: bool
    clock: Clock
    grain: str
    dims: tuple[str, ...]
    start: datetime | None
    end: datetime | None
    targets: Mapping[str, TargetSetting] = field(default_factory=dict)

    @property
    def period_key_names(self) -> list[str]:
        if self.grain == "all":
            return []
        return [PN, OFF] if self.grain in SUB_DAY else [PN]

    @property
    def key_names(self) -> list[str]:
        return [*self.dims, *self.period_key_names]

    @property
    def start_day(self) -> date | None:
        return self.start.astimezone(self.clock.zone).date() if self.start else None

    @property
    def end_day(self) -> date | None:
        return self.end.astimezone(self.clock.zone).date() if self.end else None


def _as_bound(value: Any, clock: Clock, what: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value else \
                date.fromisoformat(value)
        except ValueError:
            raise QueryError(f"bad {what} {value!r}", where=f"--{what}",
                             hint="write a date YYYY-MM-DD or a datetime YYYY-MM-DDTHH:MM") \
                from None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, date):
        raise QueryError(f"bad {what} {value!r}", where=f"--{what}")
    return clock.to_utc(value)


#: Reads a canonical table, scoped to one tenant when the tenant is not None.
Tables = Callable[[str, str | None], ibis.Table]


ALL_TENANTS = "*"


def tenant_of(query: MetricQuery, settings: Settings) -> tuple[Tenant, bool]:
    """The query's tenant and whether rows are scoped to it.

    Without configured tenants every row is read in UTC; ``tenant="*"`` reads every tenant's
    rows (cut them ``--by tenant``) in their common time zone, or UTC when they differ.
    """
    if query.tenant == ALL_TENANTS or (query.tenant is None and not settings.tenants):
        zones = {t.timezone for t in settings.tenants.values()}
        return Tenant(name=ALL_TENANTS, timezone=zones.pop() if len(zones) == 1 else "UTC"), \
            False
    return settings.tenant(query.tenant), True


def make_context(catalog: Catalog, query: MetricQuery, tables: Tables,
                 settings: Settings | None, engine: str = "") -> Context:
    """Resolve tenant, clock, grain, dimensions and range of a query.

    ``engine`` names the backend (``duckdb``, ``pyspark``, ...) for its fast builtins.
    """
    settings = settings or Settings()
    tenant, scoped = tenant_of(query, settings)

    def source(name: str) -> ibis.Table:
        return tables(name, tenant.name if scoped else None)

    grain = check_grain(query.grain)
    dims = list(query.by)
    for d in dims:
        dimension(d)
    dims = [dimension(d).name for d in dims]
    if grain in CYCLIC:
        if grain not in dims:
            dims.append(grain)
        grain = "all"
    if len(set(dims)) != len(dims):
        raise QueryError("a dimension is named twice", where="--by")
    probe = Clock(tenant.timezone)
    start = _as_bound(query.start, probe, "from")
    end = _as_bound(query.end, probe, "to")
    if start and end and end <= start:
        raise QueryError("the period is empty: --to is not after --from", where="--to",
                         hint="--to is the first day not included")
    clock = Clock.for_range(tenant.timezone, start, end, engine)
    targets = settings.targets_for(tenant.name if scoped else None)
    return Context(catalog=catalog, query=query, source=source, tenant=tenant, scoped=scoped,
                   clock=clock, grain=grain, dims=tuple(dims), start=start, end=end,
                   targets=targets)


def _conjuncts(text: str | None) -> list[str]:
    """The top-level AND parts of a predicate, as SQL text (``a AND (b OR c)`` -> 2 parts)."""
    if not text:
        return []
    from sqlglot import exp

    pred = filters.parse(text, where="catalog", mode="definition")
    out: list[str] = []

    def walk(node: exp.Expression) -> None:
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.And):
            walk(node.this)
            walk(node.expression)
        else:
            out.append(node.sql())

    walk(pred.ast)
    return out


def _has_placeholder(text: str) -> bool:
    return bool(filters.parse(text, where="catalog", mode="definition").placeholders)


def _and(*conds: Any) -> Any:
    out = None
    for c in conds:
        if c is None:
            continue
        out = c if out is None else out & c
    return out


def time_dim_for(metric_td: str | None, measure: Measure) -> str:
    """The time column that puts a row of ``measure`` in a period."""
    table = TABLES[measure.table]
    if metric_td and table.has(metric_td):
        return metric_td
    return measure.time_dimension or DEFAULT_TIME[measure.table]


def _texts_columns(texts: Iterable[str | None], mode: str = "definition") -> set[str]:
    out: set[str] = set()
    for text in texts:
        if text:
            out |= filters.parse(text, where="catalog", mode=mode).columns  # type: ignore[arg-type]
    return out


# ---------------------------------------------------------------- row scope


def _all_columns() -> frozenset[str]:
    return frozenset(c for t in TABLES.values() for c in t.column_names)


class RowScope:
    """The rows of one canonical table, with dimensions, virtual columns and period keys.

    Local epochs of the time columns that need them are computed once, as columns
    (``_ep_<col>``, ``_off_<col>``, ``_lep_<col>``), so the offset ``CASE`` tree appears once
    in the SQL however many keys and filters use local time.
    """

    def __init__(self, ctx: Context, table: str, time_dim: str,
                 texts: Iterable[str | None] = (), base: ibis.Table | None = None,
                 spine_keys: bool = False, extra: Iterable[str] = ()):
        self.ctx = ctx
        self.table = table
        self.time_dim = time_dim
        self.spine_keys = spine_keys
        texts = list(texts)
        cols = _texts_columns(texts) | set(extra)
        user = set()
        if ctx.query.where:
            user = filters.parse(ctx.query.where, where="--where", mode="user").columns
        needed = set(ctx.dims) | cols | user
        t = base if base is not None else ctx.source(table)
        t = enrich(t, table, needed, ctx.source)
        self.t = self._with_local_time(t, self._lep_columns(texts, needed))

    def _lep_columns(self, texts: list[str | None], needed: set[str]) -> set[str]:
        out: set[str] = set()
        if not self.spine_keys and (self.ctx.grain != "all" or needed & TIME_DERIVED):
            out.add(self.time_dim)
        if self.table == "contacts" and "in_opening_hours" in needed:
            out.add("arrived_at")
        for text in texts:
            if text and "elapsed_s" in text:
                pred = filters.parse(text, where="catalog", mode="definition")
                out |= {c for c in pred.columns if TABLES[self.table].has(c)
                        and TABLES[self.table].column(c).kind is Kind.TIMESTAMP}
        return out

    def _with_local_time(self, t: ibis.Table, cols: set[str]) -> ibis.Table:
        todo = sorted(c for c in cols if f"_lep_{c}" not in t.columns)
        if not todo:
            return t
        stamps = [c for c in todo if TABLES[self.table].column(c).kind is Kind.TIMESTAMP]
        dates = [c for c in todo if c not in stamps]
        t = t.mutate(**{f"_ep_{c}": epoch_s(t[c], self.ctx.clock.engine) for c in stamps},
                     **{f"_ep_{c}": t[c].epoch_days().cast("int64") * 86400 for c in dates})
        t = t.mutate(**{f"_off_{c}": self.ctx.clock.offset(t[f"_ep_{c}"]) for c in stamps},
                     **{f"_off_{c}": ibis.literal(0, type="int64") for c in dates})
        return t.mutate(**{f"_lep_{c}": t[f"_ep_{c}"] + t[f"_off_{c}"] for c in todo})

    def lep(self, col: str | None = None) -> tuple[Any, Any]:
        """(local epoch, offset) columns of a time column (default: the time dimension)."""
        col = col or self.time_dim
        if f"_lep_{col}" not in self.t.columns:
            raise QueryError(f"local time of {col} was not prepared (a bug)")
        return self.t[f"_lep_{col}"], self.t[f"_off_{col}"]

    @property
    def time_kind(self) -> Kind:
        return TABLES[self.table].column(self.time_dim).kind

    def column(self, name: str) -> Any:
        t = self.t
        if name in DIMENSIONS and DIMENSIONS[name].column in t.columns:
            return t[DIMENSIONS[name].column]
        if name in t.columns and not name.startswith("_"):
            return t[name]
        if name == "hour_of_day":
            lep, _ = self.lep()
            return (lep % 86400) // 3600
        if name == "weekday":
            lep, _ = self.lep()
            return ((lep // 86400) + 3) % 7
        if name == "in_opening_hours" and self.table == "contacts":
            lep, _ = self.lep("arrived_at")
            return is_open_expr(lep, self.ctx.tenant)
        raise KeyError(name)

    def functions(self, params: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
        def elapsed_s(args: list[Any], nodes: list[Any]) -> Any:
            if len(args) not in (2, 3):
                raise QueryError("elapsed_s(start, end[, :clock]) takes 2 or 3 arguments")
            clock = "calendar"
            if len(nodes) == 3:
                node = nodes[2]
                clock = str(params.get(str(node.this), "calendar")) if \
                    type(node).__name__ == "Placeholder" else str(node.this)
            a_name, b_name = nodes[0].name, nodes[1].name
            if clock == "business":
                la, _ = self.lep(a_name)
                lb, _ = self.lep(b_name)
                return (business_clock(lb, self.ctx.tenant)
                        - business_clock(la, self.ctx.tenant)).cast("float64")
            engine = self.ctx.clock.engine
            return (epoch_s(args[1], engine) - epoch_s(args[0], engine)).cast("float64")

        def coalesce(args: list[Any], nodes: list[Any]) -> Any:
            return ibis.coalesce(*args)

        return {"elapsed_s": elapsed_s, "coalesce": coalesce}

    def expr(self, text: str | None, params: Mapping[str, Any], where: str,
             extra_params: Mapping[str, Any] | None = None) -> Any:
        """Translate a definition filter/expression (None stays None)."""
        if text is None:
            return None
        pred = filters.parse(text, where=where, mode="definition")
        lookup = {**params, **(extra_params or {})}

        def param(name: str) -> Any:
            return lookup[name]

        tr = filters.Translator(self.column, param, mode="definition", where=where,
                                functions=self.functions(params))
        return tr(pred)

    def user_where(self) -> Any:
        text = self.ctx.query.where
        if not text:
            return None
        pred = filters.parse(text, where="--where", mode="user")
        allowed = reachable_columns(self.table) | set(self.ctx.dims)
        for col in pred.columns:
            if col not in allowed and col in _all_columns():
                raise QueryError(f"--where uses {col!r}, which table {self.table} cannot reach",
                                 where="--where",
                                 hint=f"query the {self.table} KPIs without this filter")

        def no_params(name: str) -> Any:
            raise QueryError(f"--where cannot use placeholders (:{name})", where="--where",
                             hint="write the value itself")

        def column(name: str) -> Any:
            if name not in allowed:
                raise KeyError(name)
            return self.column(name)

        return filters.Translator(column, no_params, mode="user", where="--where")(pred)

    def period_filter(self) -> Any:
        ctx = self.ctx
        if ctx.start is None and ctx.end is None:
            return None
        col = self.t[self.time_dim]
        if self.time_kind is Kind.DATE:
            lo, hi = ctx.start_day, ctx.end_day
        else:
            lo, hi = ctx.start, ctx.end
        cond = None
        if lo is not None:
            cond = col >= ibis.literal(lo)
        if hi is not None:
            c2 = col < ibis.literal(hi)
            cond = c2 if cond is None else cond & c2
        return cond

    def keys(self, metric: str) -> dict[str, Any]:
        ctx = self.ctx
        out: dict[str, Any] = {}
        check_dimensions(self.table, [d for d in ctx.dims if d not in TIME_DERIVED], metric)
        for d in ctx.dims:
            if d in TIME_DERIVED and self.spine_keys:
                raise QueryError(f"{metric} is a snapshot and cannot be cut by {d}",
                                 where="--by")
            value = self.column(d)
            out[d] = value.cast("int64") if d in TIME_DERIVED else value.cast("string")
        if self.spine_keys:
            for k in ctx.period_key_names:
                out[k] = self.t[k].cast("int64")
            return out
        if ctx.grain == "all":
            keys: dict[str, Any] = {}
        elif self.time_kind is Kind.DATE:
            lep, _ = self.lep()
            keys = date_period_keys(lep // 86400, ctx.grain, metric)
        else:
            lep, off = self.lep()
            keys = period_keys(lep, off, ctx.grain)
        out.update({k: v.cast("int64") for k, v in keys.items()})
        return out
