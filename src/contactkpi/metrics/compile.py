"""(catalog, query) -> one Ibis expression; no row-by-row Python, no SQL text.

How a query is planned:

1. every requested metric is resolved (variant, params) and broken into *atoms*: a measure
   with its extra filter and bound params (``agg``), a two-level measure (``entity``), a
   measure evaluated at period edges (``snapshot``), a repeat-window count (``repeat``) or a
   coefficient of variation over sub-periods (``cv``); identical atoms are shared;
2. atoms over the same table and time dimension become *one* filtered aggregate (one scan):
   ``group_by(dimensions, period keys).aggregate(count(where=...), sum(where=...), ...)``;
3. the partial aggregates are combined on their keys (``union all`` + ``group by``, which
   is null-safe for keys), then each metric becomes a column computed from atom columns
   (ratios and derived expressions divide safely: 0 in a denominator gives null);
4. trends (period-over-period) and scores (leaderboards) are window functions over that
   relation, and targets add ``<column>.target`` / ``<column>.status``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import pandas as pd

from contactkpi.config import Settings, TargetSetting
from contactkpi.errors import QueryError
from contactkpi.metrics import filters
from contactkpi.metrics.dimensions import (
    DEFAULT_TIME,
    TIME_DERIVED,
    enrich,
)
from contactkpi.metrics.grains import (
    CALENDAR,
    SUB_DAY,
    Clock,
    day_number_keys,
    epoch_s,
    grain_rank,
    iter_periods,
    period_days_expr,
    transitions,
)
from contactkpi.metrics.request import MetricQuery, parse_request
from contactkpi.metrics.resolve import Resolved, resolve
from contactkpi.metrics.scope import (
    OFF,
    PN,
    Context,
    RowScope,
    Tables,
    _and,
    _as_bound,
    _conjuncts,
    _has_placeholder,
    _texts_columns,
    make_context,
    time_dim_for,
)
from contactkpi.metrics.spec import (
    Agg,
    Calculation,
    Catalog,
    Direction,
    Measure,
    MetricType,
    SnapshotAt,
)
from contactkpi.metrics.spread import split_unit, spread_rows
from contactkpi.model import TABLES, Kind

_INT_AGGS = (Agg.COUNT, Agg.COUNT_DISTINCT)


# ---------------------------------------------------------------- atoms


@dataclass(frozen=True)
class Atom:
    """A measure with its extra filter and bound params, aggregated one way."""

    kind: str  # agg | entity | snapshot
    measure: Measure
    extra: str | None
    params: tuple[tuple[str, Any], ...]
    time_dim: str
    at: SnapshotAt | None = None

    @property
    def is_int(self) -> bool:
        if self.measure.per:
            return self.measure.then in _INT_AGGS and self.measure.agg in _INT_AGGS
        return self.measure.agg in _INT_AGGS


@dataclass(frozen=True)
class RepeatAtom:
    """Counts of base contacts, repeated ones and pending ones for one repeat definition."""

    base: Measure
    base_extra: str | None
    repeat_filter: str | None
    entity: str
    match_on: tuple[str, ...]
    window_s: float
    params: tuple[tuple[str, Any], ...]
    time_dim: str


@dataclass(frozen=True)
class CvAtom:
    """Coefficient of variation of one metric across sub-periods of each period."""

    request: str
    over: str


def _texts_placeholders(*texts: str | None) -> set[str]:
    out: set[str] = set()
    for t in texts:
        if t:
            out |= filters.parse(t, where="catalog", mode="definition").placeholders
    return out


def _bind(params: Mapping[str, Any], names: Iterable[str]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((n, params[n]) for n in names if n in params))


# ---------------------------------------------------------------- aggregations


def _reduce(agg: Agg, value: Any, where: Any, quantile: float | None, rows: ibis.Table) -> Any:
    if agg is Agg.COUNT:
        # some engines sum a flag for a filtered count: that sum is NULL over no rows
        return ibis.coalesce(rows.count(where=where), 0) if where is not None else rows.count()
    kw = {"where": where} if where is not None else {}
    if agg is Agg.SUM:
        return value.sum(**kw)
    if agg is Agg.AVG:
        return value.mean(**kw)
    if agg is Agg.MIN:
        return value.min(**kw)
    if agg is Agg.MAX:
        return value.max(**kw)
    if agg is Agg.COUNT_DISTINCT:
        return value.nunique(**kw)
    if agg is Agg.PERCENTILE:
        return value.quantile(quantile if quantile is not None else 0.5, **kw)
    raise QueryError(f"aggregation {agg} cannot be used here")


class Compiler:
    """Plans and builds the Ibis expression of one query."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.visible: list[Resolved] = []
        self.atoms: dict[Atom, str] = {}
        self.repeats: dict[RepeatAtom, str] = {}
        self.cvs: dict[CvAtom, str] = {}
        self.values: dict[str, Callable[[ibis.Table], Any]] = {}
        self.windowed: dict[str, Callable[[ibis.Table], Any]] = {}
        self.ranked: dict[str, Callable[[ibis.Table], Any]] = {}
        self.resolved: dict[str, Resolved] = {}
        self._hidden = 0

    # ------------------------------------------------------------ requests

    def add(self, request: Any, hidden: bool = False) -> Resolved:
        req = parse_request(request) if isinstance(request, str) else request
        column = None
        if hidden:
            column = f"_h{self._hidden}"
            self._hidden += 1
        r = resolve(self.ctx.catalog, req, None if hidden else self.ctx.query, hidden=hidden,
                    column=column)
        if not hidden and r.column in self.resolved:
            raise QueryError(f"{r.column} is asked for twice", where="METRIC")
        self.resolved[r.column] = r
        m = r.metric
        if m.type is MetricType.SIMPLE:
            col = self._atom(r, "value")
            self.values[r.column] = lambda rel, c=col: rel[c]
        elif m.type is MetricType.RATIO:
            n, d = self._atom(r, "numerator"), self._atom(r, "denominator")
            self.values[r.column] = lambda rel, n=n, d=d: filters.safe_divide(
                rel[n].cast("float64"), rel[d].cast("float64"))
        elif m.type is MetricType.DERIVED:
            cols = {alias: self._atom(r, alias) for alias in m.inputs}
            self.values[r.column] = lambda rel, r=r, cols=cols: self._derived(rel, r, cols)
        elif m.type is MetricType.REPEAT_WINDOW:
            self._repeat(r)
        elif m.type is MetricType.TREND:
            self._trend(r)
        elif m.type is MetricType.SCORE:
            self._score(r)
        if not hidden:
            self.visible.append(r)
        return r

    def _atom(self, r: Resolved, alias: str) -> str:
        ref = r.metric.inputs[alias]
        measure = self.ctx.catalog.measures[ref.measure]
        extra = r.filter_of(alias)
        names = _texts_placeholders(measure.filter, measure.expr, extra)
        kind = "snapshot" if measure.snapshot else "entity" if measure.per else "agg"
        atom = Atom(kind=kind, measure=measure, extra=extra, params=_bind(r.params, names),
                    time_dim=time_dim_for(r.metric.time_dimension, measure),
                    at=ref.at if measure.snapshot else None)
        return self.atoms.setdefault(atom, f"_a{len(self.atoms)}")

    def _derived(self, rel: ibis.Table, r: Resolved, cols: Mapping[str, str]) -> Any:
        assert r.metric.expr is not None
        pred = filters.parse(r.metric.expr, where=f"metrics.{r.metric.name}.expr",
                             mode="definition", what="expression")

        def column(name: str) -> Any:
            if name in cols:
                return rel[cols[name]].cast("float64")
            if name == "period_days":
                return self._period_days(rel)
            if name == "period_s":  # exact for sub-day buckets (no float days)
                g = self.ctx.grain
                if g in SUB_DAY:
                    return ibis.literal(float(SUB_DAY[g]))
                return self._period_days(rel) * 86400
            raise KeyError(name)

        def param(name: str) -> Any:
            return r.params[name]

        def coalesce(args: list[Any], nodes: list[Any]) -> Any:
            return ibis.coalesce(*args)

        return filters.Translator(column, param, mode="definition",
                                  where=f"metrics.{r.metric.name}.expr",
                                  functions={"coalesce": coalesce})(pred).cast("float64")

    def _period_days(self, rel: ibis.Table) -> Any:
        ctx = self.ctx
        if ctx.grain in CALENDAR:
            return period_days_expr(rel[PN], ctx.grain).cast("float64")
        if ctx.grain in SUB_DAY:
            return ibis.literal(SUB_DAY[ctx.grain] / 86400)
        if ctx.start and ctx.end:
            return ibis.literal(float((ctx.end_day - ctx.start_day).days))
        return ibis.null().cast("float64")

    def _repeat(self, r: Resolved) -> None:
        m = r.metric
        assert m.repeat is not None
        base = self.ctx.catalog.measures[m.inputs["base"].measure]
        match_on = tuple(r.params[m.repeat.match_on_param])
        if m.repeat.entity not in match_on:
            match_on = (m.repeat.entity, *match_on)
        extra = r.filter_of("base")
        rfilter = r.repeat_filter()
        names = _texts_placeholders(base.filter, extra, rfilter)
        atom = RepeatAtom(base=base, base_extra=extra, repeat_filter=rfilter,
                          entity=m.repeat.entity, match_on=match_on,
                          window_s=float(r.params[m.repeat.window_param]),
                          params=_bind(r.params, names),
                          time_dim=time_dim_for(m.time_dimension, base))
        p = self.repeats.setdefault(atom, f"_r{len(self.repeats)}")
        n, rep, pend = f"{p}_n", f"{p}_rep", f"{p}_pend"
        calc = m.repeat.calculation

        def value(rel: ibis.Table) -> Any:
            judged = (rel[n] - rel[pend]).cast("float64")
            if calc is Calculation.NON_REPEAT_RATE:
                return filters.safe_divide(judged - rel[rep].cast("float64"), judged)
            if calc is Calculation.REPEAT_RATE:
                return filters.safe_divide(rel[rep].cast("float64"), judged)
            if calc is Calculation.PENDING_COUNT:
                return rel[pend]
            return rel[n] - rel[pend]

        self.values[r.column] = value

    def _trend(self, r: Resolved) -> None:
        calc = r.metric.calculation
        of = parse_request(str(r.params["of"]), where=f"{r.column}:of")
        if calc is Calculation.CV:
            over = str(r.params["over"])
            grain = self.ctx.grain
            if grain != "all" and grain_rank(over) >= grain_rank(grain):
                raise QueryError(f"{r.column}: the grain {grain} must be coarser than "
                                 f"over={over}", where="--grain",
                                 hint=f"use a grain coarser than {over} (or all)")
            col = self.cvs.setdefault(CvAtom(of.column, over), f"_cv{len(self.cvs)}")
            self.values[r.column] = lambda rel, c=col: rel[c]
            return
        if self.ctx.grain == "all":
            raise QueryError(f"{r.column} compares periods: choose a grain", where="--grain",
                             hint="e.g. --grain month")
        base = self.add(of, hidden=True)
        self.windowed[r.column] = lambda rel, b=base.column, c=calc: self._change(rel, b, c)

    def _seq(self, rel: ibis.Table) -> Any:
        g = self.ctx.grain
        if g in SUB_DAY:
            return (rel[PN] * SUB_DAY[g] - rel[OFF]) // SUB_DAY[g]
        return rel[PN]

    def _change(self, rel: ibis.Table, base: str, calc: Calculation | None) -> Any:
        w = ibis.window(group_by=[rel[d] for d in self.ctx.dims] or None,
                        order_by=[self._seq(rel)])
        prev = rel[base].lag().over(w)
        prev_seq = self._seq(rel).lag().over(w)
        consecutive = (self._seq(rel) - prev_seq) == 1
        cur = rel[base].cast("float64")
        prev = ibis.ifelse(consecutive, prev.cast("float64"), ibis.null().cast("float64"))
        if calc is Calculation.PCT_CHANGE:
            return filters.safe_divide(cur - prev, prev)
        return cur - prev

    def _score(self, r: Resolved) -> None:
        entity = r.metric.entity_dimension or "agent"
        if entity not in self.ctx.dims:
            raise QueryError(f"{r.column} ranks by {entity}: add --by {entity}",
                             where="--by", hint=f"--by {entity}")
        parts = []
        for text, weight in r.params["weights"]:
            comp = self.add(parse_request(text, where=f"{r.column}:weights"), hidden=True)
            parts.append((comp, weight))
        score_col = r.column if r.metric.calculation is Calculation.SCORE else (
            f"_s{len(self.windowed)}_{len(self.ranked)}")
        self.windowed[score_col] = lambda rel, p=parts, e=entity: self._scored(rel, p, e)
        if r.metric.calculation is Calculation.RANK:
            self.ranked[r.column] = lambda rel, c=score_col, e=entity: self._rank(rel, c, e)

    def _rank(self, rel: ibis.Table, score_col: str, entity: str) -> Any:
        group = [rel[k] for k in self.ctx.key_names if k != entity] or None
        score = rel[score_col]
        w = ibis.window(group_by=group, order_by=[ibis.desc(score)])
        return ibis.ifelse(score.isnull(), ibis.null().cast("int64"),
                           (ibis.dense_rank().over(w) + 1).cast("int64"))

    def _scored(self, rel: ibis.Table, parts: list[tuple[Resolved, float]], entity: str
                ) -> Any:
        group = [rel[k] for k in self.ctx.key_names if k != entity] or None
        w = ibis.window(group_by=group)
        num: Any = ibis.literal(0.0)
        den: Any = ibis.literal(0.0)
        for comp, weight in parts:
            x = rel[comp.column].cast("float64")
            lo, hi = x.min().over(w), x.max().over(w)
            norm = ibis.ifelse(hi == lo, 1.0, (x - lo) / (hi - lo))
            if comp.metric.direction is Direction.LOWER:
                norm = 1.0 - norm
            norm = ibis.ifelse(x.isnull(), ibis.null().cast("float64"), norm)
            num = num + ibis.coalesce(norm * weight, 0.0)
            den = den + ibis.ifelse(norm.isnull(), 0.0, weight)
        return filters.safe_divide(num, den)

    # ------------------------------------------------------------ partials

    def _scope_needed(self, texts: Iterable[str | None]) -> set[str]:
        needed = set(self.ctx.dims) | _texts_columns(texts)
        if self.ctx.query.where:
            needed |= filters.parse(self.ctx.query.where, where="--where", mode="user").columns
        return needed

    def _agg_partial(self, table: str, time_dim: str, items: list[tuple[Atom, str]],
                     spread_until: str | None = None) -> ibis.Table:
        texts = [t for a, _ in items for t in (a.measure.filter, a.extra, a.measure.expr)]
        base = None
        if spread_until is not None:  # interval rows: one piece per overlapped period
            ctx = self.ctx
            base = spread_rows(ctx.source(table), time_dim, spread_until, ctx.clock,
                               split_unit(ctx.grain, ctx.dims), ctx.start, ctx.end)
        scope = RowScope(self.ctx, table, time_dim, texts, base=base)
        metric = items[0][0].measure.name
        keys = scope.keys(metric)
        # conditions every atom shares move to WHERE (read once, before aggregation)
        parts = [_conjuncts(a.measure.filter) + _conjuncts(a.extra) for a, _ in items]
        common = set.intersection(*[{c for c in p if not _has_placeholder(c)} for p in parts])
        shared = [c for c in parts[0] if c in common]
        cols: dict[str, Any] = dict(keys)
        for i, (atom, _) in enumerate(items):
            params = dict(atom.params)
            where = f"{atom.measure.location}: measures.{atom.measure.name}"
            own = [c for c in parts[i] if c not in common]
            pred = _and(*[scope.expr(c, params, where) for c in own])
            if pred is not None:
                cols[f"_p{i}"] = pred
            if atom.measure.expr:
                cols[f"_v{i}"] = scope.expr(atom.measure.expr, params, where)
        keep = _and(scope.period_filter(), scope.user_where(),
                    *[scope.expr(c, {}, f"measures.{metric}") for c in shared])
        base = scope.t.filter(keep) if keep is not None else scope.t
        rows = base.select(**(cols or {"_one": ibis.literal(1)}))
        aggs = {}
        for i, (atom, col) in enumerate(items):
            m = atom.measure
            where_col = rows[f"_p{i}"] if f"_p{i}" in cols else None
            value = rows[f"_v{i}"] if f"_v{i}" in cols else None
            out = _reduce(m.agg, value, where_col, m.quantile, rows)
            aggs[col] = out.cast("int64" if atom.is_int else "float64")
        return _group(rows, list(keys), aggs)

    def _entity_partial(self, atom: Atom, col: str) -> ibis.Table:
        m = atom.measure
        assert m.per is not None and m.then is not None
        scope = RowScope(self.ctx, m.table, atom.time_dim, [m.filter, atom.extra, m.expr],
                         extra=[m.per])
        keys = scope.keys(m.name)
        params = dict(atom.params)
        where = f"{m.location}: measures.{m.name}"
        cols: dict[str, Any] = dict(keys)
        cols["_e"] = scope.column(m.per)
        pred = _and(scope.expr(m.filter, params, where), scope.expr(atom.extra, params, where))
        if m.expr:
            cols["_v"] = scope.expr(m.expr, params, where)
        cols["_keep"] = _and(scope.period_filter(), scope.user_where(), pred,
                             scope.column(m.per).notnull())
        rows = scope.t.select(**cols)
        rows = rows.filter(rows._keep)
        inner = _group(rows, [*keys, "_e"], {
            "_iv": _reduce(m.agg, rows["_v"] if m.expr else None, None, m.quantile, rows)})
        outer_value = inner["_iv"].cast("float64")
        agg = _reduce(m.then, outer_value, None, None, inner)
        return _group(inner, list(keys), {col: agg.cast("int64" if atom.is_int else "float64")})

    def _snapshot_partial(self, table: str, at: SnapshotAt, items: list[tuple[Atom, str]]
                          ) -> ibis.Table:
        ctx = self.ctx
        spine = self._spine(at)
        texts = [t for a, _ in items for t in (a.measure.filter, a.extra, a.measure.expr)]
        base = enrich(ctx.source(table), table, self._scope_needed(texts), ctx.source)
        joined = base.cross_join(spine)
        scope = RowScope(ctx, table, DEFAULT_TIME[table], texts, base=joined, spine_keys=True)
        joined = scope.t
        keys = scope.keys(items[0][0].measure.name)
        cols: dict[str, Any] = dict(keys)
        special = {"as_of": joined["_as_of"], "as_of_date": joined["_as_of_date"]}
        for i, (atom, _) in enumerate(items):
            params = dict(atom.params)
            where = f"{atom.measure.location}: measures.{atom.measure.name}"
            pred = _and(scope.expr(atom.measure.filter, params, where, special),
                        scope.expr(atom.extra, params, where, special))
            if pred is not None:
                cols[f"_p{i}"] = pred
            if atom.measure.expr:
                cols[f"_v{i}"] = scope.expr(atom.measure.expr, params, where, special)
        keep = scope.user_where()
        if keep is not None:
            cols["_keep"] = keep
        rows = joined.select(**cols)
        if keep is not None:
            rows = rows.filter(rows._keep)
        aggs = {}
        for i, (atom, col) in enumerate(items):
            m = atom.measure
            out = _reduce(m.agg, rows[f"_v{i}"] if m.expr else None,
                          rows[f"_p{i}"] if f"_p{i}" in cols else None, m.quantile, rows)
            aggs[col] = out.cast("int64" if atom.is_int else "float64")
        return _group(rows, list(keys), aggs)

    def _spine(self, at: SnapshotAt) -> ibis.Table:
        ctx = self.ctx
        start, end = ctx.start, ctx.end
        if start is None or end is None:
            if ctx.grain != "all":
                raise QueryError("snapshot KPIs (backlog, headcount) need --from and --to "
                                 "when cut by period", where="--from",
                                 hint="give the range, e.g. --from 2026-01-01 --to 2026-02-01")
            as_of = _as_bound(ctx.query.as_of, ctx.clock, "as-of") or datetime.now(UTC)
            end = end or as_of
            start = start or end - timedelta(days=1)
        rows = []
        for p in iter_periods(ctx.grain, ctx.clock, start, end):
            if at is SnapshotAt.PERIOD_END:
                as_of, as_of_date = p.end, p.last_day
            else:
                as_of, as_of_date = p.start, p.first_day - timedelta(days=1)
            rows.append({PN: p.pn, OFF: p.o, "_as_of": as_of, "_as_of_date": as_of_date})
        frame = pd.DataFrame(rows, columns=[PN, OFF, "_as_of", "_as_of_date"])
        frame["_as_of"] = pd.to_datetime(frame["_as_of"], utc=True)
        schema = {PN: "int64", OFF: "int64", "_as_of": "timestamp('UTC')",
                  "_as_of_date": "date"}
        keep = [*ctx.period_key_names, "_as_of", "_as_of_date"]
        frame = frame[keep]
        return ibis.memtable(frame, schema={k: schema[k] for k in keep})

    def repeat_rows(self, atom: RepeatAtom) -> tuple[RowScope, Any, Any]:
        """Base contacts with their next matching contact; (scope, repeated, pending)."""
        ctx = self.ctx
        params = dict(atom.params)
        texts = [atom.base.filter, atom.base_extra, atom.repeat_filter]
        pre = RowScope(ctx, "contacts", atom.time_dim, texts, extra=atom.match_on)
        contacts = pre.t
        where = f"{atom.base.location}: measures.{atom.base.name}"
        known = _and(*[pre.column(c).notnull() for c in atom.match_on])
        is_base = _and(pre.expr(atom.base.filter, params, where),
                       pre.expr(atom.base_extra, params, where), known)
        is_rep = _and(pre.expr(atom.repeat_filter, params, "repeat.filter"), known)
        flagged = contacts.mutate(_is_base=is_base, _is_rep=is_rep if is_rep is not None
                                  else ibis.literal(True))
        pool = flagged.filter(flagged._is_base | flagged._is_rep)
        w = ibis.window(group_by=[pool[c] for c in atom.match_on],
                        order_by=[pool.arrived_at, pool.contact_id])
        windowed = pool.mutate(next_arrived_at=pool.arrived_at.lead().over(w),
                               next_contact_id=pool.contact_id.lead().over(w))
        base_rows = windowed.filter(windowed._is_base)
        scope = RowScope(ctx, "contacts", atom.time_dim, texts, base=base_rows)
        engine = ctx.clock.engine
        end_ep = epoch_s(base_rows[atom.time_dim], engine)
        nxt = epoch_s(base_rows.next_arrived_at, engine)
        repeated = nxt.notnull() & (nxt <= end_ep + int(atom.window_s))
        pending = ~repeated & ((end_ep + int(atom.window_s)) > self.data_end())
        return scope, repeated, pending

    def _repeat_partial(self, atom: RepeatAtom, prefix: str) -> ibis.Table:
        scope, repeated, pending = self.repeat_rows(atom)
        keys = scope.keys(atom.base.name)
        cols: dict[str, Any] = dict(keys)
        cols["_rep"] = repeated
        cols["_pend"] = pending
        keep = _and(scope.period_filter(), scope.user_where())
        if keep is not None:
            cols["_keep"] = keep
        rows = scope.t.select(**cols)
        if keep is not None:
            rows = rows.filter(rows._keep)
        return _group(rows, list(keys), {
            f"{prefix}_n": rows.count().cast("int64"),
            f"{prefix}_rep": _reduce(Agg.COUNT, None, rows._rep, None, rows).cast("int64"),
            f"{prefix}_pend": _reduce(Agg.COUNT, None, rows._pend, None, rows).cast("int64"),
        })

    def probe_clock(self) -> None:
        """Narrow the clock to the data's time range (one small query) when no range is set."""
        ctx = self.ctx
        if ctx.start is not None and ctx.end is not None:
            return
        if len(transitions(ctx.clock.zone_name, ctx.clock.lo, ctx.clock.hi)) <= 1:
            return
        texts = [t for a in self.atoms for t in (a.measure.filter, a.measure.expr, a.extra)]
        texts += [ctx.query.where]
        local = (ctx.grain != "all" or set(ctx.dims) & TIME_DERIVED or self.cvs
                 or any(t and ("in_opening_hours" in t or "elapsed_s" in t or "hour_of_day"
                               in t or "weekday" in t) for t in texts))
        if not local:
            return  # no local time in this query: the offset table is not compiled at all
        pairs = {(a.measure.table, a.time_dim) for a in self.atoms if a.kind != "snapshot"}
        pairs |= {("contacts", r.time_dim) for r in self.repeats}
        parts = []
        for table, col in sorted(pairs):
            if TABLES[table].column(col).kind is not Kind.TIMESTAMP:
                continue
            t = ctx.source(table)
            parts.append(t.aggregate(lo=t[col].min(), hi=t[col].max()))
        if not parts:
            return
        union = parts[0] if len(parts) == 1 else ibis.union(*parts)
        row = union.aggregate(lo=union.lo.min(), hi=union.hi.max()).to_pandas().iloc[0]
        if pd.isna(row["lo"]) or pd.isna(row["hi"]):
            return
        lo = pd.Timestamp(row["lo"]).to_pydatetime()
        hi = pd.Timestamp(row["hi"]).to_pydatetime() + timedelta(seconds=1)
        lo = lo if lo.tzinfo else lo.replace(tzinfo=UTC)
        hi = hi if hi.tzinfo else hi.replace(tzinfo=UTC)
        ctx.clock = Clock.for_range(ctx.clock.zone_name, ctx.start or lo, ctx.end or hi,
                                    ctx.clock.engine)

    def data_end(self) -> Any:
        """End of the known data (epoch seconds): --as-of, else the latest arrival."""
        as_of = _as_bound(self.ctx.query.as_of, self.ctx.clock, "as-of")
        if as_of is not None:
            return ibis.literal(int(as_of.timestamp()))
        latest = self.ctx.source("contacts").arrived_at.max().as_scalar()
        return epoch_s(latest, self.ctx.clock.engine)

    def _cv_partial(self, atom: CvAtom, col: str) -> ibis.Table:
        ctx = self.ctx
        sub_query = MetricQuery(metrics=(atom.request,), by=ctx.dims, grain=atom.over,
                                start=ctx.query.start, end=ctx.query.end,
                                where=ctx.query.where, tenant=ctx.query.tenant,
                                targets=False, as_of=ctx.query.as_of)
        sub_ctx = Context(catalog=ctx.catalog, query=sub_query, source=ctx.source,
                          tenant=ctx.tenant, scoped=ctx.scoped, clock=ctx.clock,
                          grain=atom.over, dims=ctx.dims, start=ctx.start, end=ctx.end)
        sub = Compiler(sub_ctx)
        sub.add(parse_request(atom.request, where="of"), hidden=False)
        rel = sub.relation()
        value = rel[sub.visible[0].column].cast("float64")
        if ctx.grain == "all":
            keys: dict[str, Any] = {}
        else:
            first_dn = _first_day_number(rel[PN], atom.over)
            keys = {PN: day_number_keys(first_dn, ctx.grain).cast("int64")}
        rows = rel.select(*[rel[d] for d in ctx.dims], _x=value, **keys)
        agg = filters.safe_divide(rows._x.std(how="sample"), rows._x.mean())
        return _group(rows, [*ctx.dims, *keys], {col: agg.cast("float64")})

    # ------------------------------------------------------------ assembly

    def partials(self) -> list[tuple[ibis.Table, list[str]]]:
        out: list[tuple[ibis.Table, list[str]]] = []
        groups: dict[tuple[str, str, str | None], list[tuple[Atom, str]]] = {}
        snaps: dict[tuple[str, SnapshotAt], list[tuple[Atom, str]]] = {}
        for atom, col in self.atoms.items():
            if atom.kind == "agg":
                key = (atom.measure.table, atom.time_dim, atom.measure.spread_until)
                groups.setdefault(key, []).append((atom, col))
            elif atom.kind == "snapshot":
                assert atom.at is not None
                snaps.setdefault((atom.measure.table, atom.at), []).append((atom, col))
            else:
                out.append((self._entity_partial(atom, col), [col]))
        for (table, td, until), items in groups.items():
            out.append((self._agg_partial(table, td, items, until), [c for _, c in items]))
        for (table, at), items in snaps.items():
            out.append((self._snapshot_partial(table, at, items), [c for _, c in items]))
        for ratom, prefix in self.repeats.items():
            out.append((self._repeat_partial(ratom, prefix),
                        [f"{prefix}_n", f"{prefix}_rep", f"{prefix}_pend"]))
        for catom, col in self.cvs.items():
            out.append((self._cv_partial(catom, col), [col]))
        return out

    def combined(self) -> ibis.Table:
        parts = self.partials()
        keys = self.ctx.key_names
        if len(parts) == 1:
            return parts[0][0]
        types: dict[str, Any] = {}
        for rel, cols in parts:
            for c in cols:
                types[c] = rel.schema()[c]
        aligned = []
        for rel, cols in parts:
            sel = [rel[k] for k in keys]
            for c, typ in types.items():
                sel.append(rel[c] if c in cols else ibis.null().cast(typ).name(c))
            aligned.append(rel.select(*sel))
        union = ibis.union(*aligned, distinct=False)
        merged = _group(union, keys, {c: union[c].max() for c in types})
        counts = {c: ibis.coalesce(merged[c], 0) for c, t in types.items() if t.is_integer()}
        return merged.mutate(**counts) if counts else merged

    def relation(self) -> ibis.Table:
        """Keys, hidden and visible metric columns (before targets and final selection)."""
        rel = self.combined()
        rel = rel.mutate(**{c: f(rel) for c, f in self.values.items()})
        if self.windowed:
            rel = rel.mutate(**{c: f(rel) for c, f in self.windowed.items()})
        if self.ranked:
            rel = rel.mutate(**{c: f(rel) for c, f in self.ranked.items()})
        return rel

    def target_for(self, r: Resolved) -> TargetSetting | None:
        """The target that applies to a column: config first, then the catalog's default."""
        candidates: list[TargetSetting] = []
        for key in (r.column, r.metric.name):
            if key in self.ctx.targets:
                candidates.append(self.ctx.targets[key])
        if r.metric.target is not None:
            t = r.metric.target
            candidates.append(TargetSetting(t.value, t.near, dict(t.params)))
        for t in candidates:
            if _params_match(r, t.params):
                return t
        return None

    def build(self) -> ibis.Table:
        """The final expression: keys, visible metrics and (optionally) targets."""
        if not self.visible:
            raise QueryError("no metric asked for", where="METRIC",
                             hint="name one or more KPIs, e.g. offered service_level")
        rel = self.relation()
        out = [rel[k] for k in self.ctx.key_names]
        for r in self.visible:
            value = rel[r.column]
            out.append(value.name(r.column))
            target = self.target_for(r) if self.ctx.query.targets else None
            if target is not None:
                out.append(ibis.literal(float(target.value)).name(f"{r.column}.target"))
                out.append(_status(value, target, r.metric.direction).name(
                    f"{r.column}.status"))
        final = rel.select(*out)
        order = [final[k] for k in self.ctx.key_names]
        return final.order_by(order) if order else final


def _params_match(r: Resolved, wanted: Mapping[str, Any]) -> bool:
    from contactkpi.metrics import params as params_mod

    for name, value in wanted.items():
        if name not in r.metric.params:
            return False
        try:
            if params_mod.coerce(r.metric.params[name], value) != r.params[name]:
                return False
        except ValueError:
            return False
    return True


def _status(value: Any, target: TargetSetting, direction: Direction) -> Any:
    """met / near / missed of a value against its target (null when the value is missing).

    Higher is better: met at or above the target, near within ``near`` below it. Lower is
    better: met at or below, near within ``near`` above. Neutral KPIs (occupancy ~85%) have
    a target *range*, not a side: met within ``near`` of the target either way, near within
    twice ``near``, missed beyond (an exact match is never a fair goal for a ratio).
    """
    t, near = float(target.value), float(target.near)
    v = value.cast("float64")
    if direction is Direction.LOWER:
        met, close = v <= t, v <= t + near
    elif direction is Direction.HIGHER:
        met, close = v >= t, v >= t - near
    else:
        met, close = (v - t).abs() <= near, (v - t).abs() <= 2 * near
    return ibis.cases((v.isnull(), ibis.null().cast("string")), (met, "met"),
                      (close, "near"), else_="missed")


def _first_day_number(pn: Any, grain: str) -> Any:
    from contactkpi.metrics.grains import _days_from_civil

    if grain == "day":
        return pn
    if grain == "week":
        return pn * 7 - 3
    if grain == "month":
        return _days_from_civil(pn // 12, pn % 12 + 1)
    if grain == "quarter":
        return _days_from_civil(pn // 4, (pn % 4) * 3 + 1)
    if grain == "year":
        return _days_from_civil(pn, ibis.literal(1))
    raise QueryError(f"over={grain} is not a calendar grain", where="--param",
                     hint="use day, week or month")


def _group(rows: ibis.Table, keys: list[str], aggs: Mapping[str, Any]) -> ibis.Table:
    if keys:
        return rows.group_by([rows[k] for k in keys]).aggregate(**aggs)
    return rows.aggregate(**aggs)


def compile_query(catalog: Catalog, query: MetricQuery, tables: Tables,
                  settings: Settings | None = None, probe: bool = False, engine: str = ""
                  ) -> tuple[Compiler, ibis.Table]:
    """Plan and build one query; returns the compiler (for metadata) and the expression.

    ``probe`` (when the tables are bound to an engine): without --from/--to, read the data's
    time range first, so the offset table covers only the years present.
    """
    ctx = make_context(catalog, query, tables, settings, engine)
    comp = Compiler(ctx)
    for req in query.requests():
        comp.add(req)
    if probe:
        comp.probe_clock()
    return comp, comp.build()
