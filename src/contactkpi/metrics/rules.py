"""Validation rules over a whole catalog; each returns issues with file, line, field and hint.

The loader checks the shape of each object; these rules check what needs the whole catalog
and the canonical model: tables and columns exist, filters parse into the allowed subset,
every ``:param`` is declared, variants only override params and filters of inputs that
exist, defaults and targets fit their params, dimensions and drill columns are reachable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from contactkpi.errors import DefinitionError, QueryError
from contactkpi.metrics import filters
from contactkpi.metrics import params as params_mod
from contactkpi.metrics.dimensions import DEFAULT_TIME, DIMENSIONS, reachable_columns
from contactkpi.metrics.grains import GRAINS
from contactkpi.metrics.loader import Issue, suggest
from contactkpi.metrics.spec import (
    Agg,
    Calculation,
    Catalog,
    Metric,
    MetricType,
    ParamType,
    SourceLocation,
)
from contactkpi.model import TABLES, Kind

#: Placeholders the engine binds itself (snapshot measures).
SNAPSHOT_PLACEHOLDERS = frozenset({"as_of", "as_of_date"})
#: Computed columns a definition may use besides the canonical ones.
VIRTUAL_COLUMNS = {"contacts": frozenset({"in_opening_hours"})}
#: Names a derived expression may use besides its inputs.
DERIVED_NAMES = frozenset({"period_days", "period_s"})
#: Extra drill columns of repeat-window metrics.
REPEAT_DRILL = frozenset({"next_contact_id", "next_arrived_at", "fcr_status"})

Rule = Callable[[Catalog], Iterable[Issue]]


def _parse(text: str | None, loc: SourceLocation, field: str, out: list[Issue],
           what: str = "filter") -> filters.Predicate | None:
    if text is None:
        return None
    try:
        return filters.parse(text, where=f"{loc}: {field}", mode="definition", what=what)
    except DefinitionError as exc:
        out.append(Issue(loc, field, exc.message, exc.hint))
        return None


def _columns_ok(pred: filters.Predicate | None, table: str, loc: SourceLocation, field: str,
                out: list[Issue]) -> None:
    if pred is None:
        return
    known = reachable_columns(table) | VIRTUAL_COLUMNS.get(table, frozenset())
    for col in sorted(pred.columns - known):
        out.append(Issue(loc, field, f"unknown column {col!r} in table {table}",
                         suggest(col, known) or f"columns of {table}: "
                         + ", ".join(TABLES[table].column_names)))


def check_measures(catalog: Catalog) -> Iterable[Issue]:
    """Measures name a canonical table, valid columns, expressions and time dimensions."""
    out: list[Issue] = []
    for m in catalog.measures.values():
        field = f"measures.{m.name}"
        if m.table not in TABLES:
            out.append(Issue(m.location, f"{field}.table", f"unknown table {m.table!r}",
                             suggest(m.table, TABLES) or "tables: " + ", ".join(TABLES)))
            continue
        table = TABLES[m.table]
        _columns_ok(_parse(m.filter, m.location, f"{field}.filter", out), m.table, m.location,
                    f"{field}.filter", out)
        expr = _parse(m.expr, m.location, f"{field}.expr", out, "expression")
        _columns_ok(expr, m.table, m.location, f"{field}.expr", out)
        if expr is not None and expr.placeholders - {"clock"}:
            out.append(Issue(m.location, f"{field}.expr", "an expression may only use the "
                             ":clock parameter", "put conditions in filter"))
        if m.per and not table.has(m.per):
            out.append(Issue(m.location, f"{field}.per", f"unknown column {m.per!r}"))
        if m.quantile is not None and not 0 <= m.quantile <= 1:
            out.append(Issue(m.location, f"{field}.quantile", "quantile must be within 0..1"))
        if m.then is Agg.PERCENTILE:
            out.append(Issue(m.location, f"{field}.then", "then may not be a percentile"))
        td = m.time_dimension or DEFAULT_TIME.get(m.table)
        if td and (not table.has(td) or table.column(td).kind not in (Kind.TIMESTAMP,
                                                                       Kind.DATE)):
            out.append(Issue(m.location, f"{field}.time_dimension",
                             f"{td!r} is not a timestamp or date column of {m.table}"))
        until = m.spread_until
        if until and (not table.has(until) or table.column(until).kind is not Kind.TIMESTAMP
                      or (td and table.column(td).kind is not Kind.TIMESTAMP)
                      or m.per or m.snapshot or m.agg is not Agg.SUM):
            out.append(Issue(m.location, f"{field}.spread_until",
                             f"spread_until needs a timestamp column of {m.table} ending "
                             "intervals that start at a timestamp time_dimension, on a sum",
                             "e.g. spread_until: ended_at with agg: sum"))
        pred = _parse(m.filter, m.location, f"{field}.filter", [])
        if pred and not m.snapshot and pred.placeholders & SNAPSHOT_PLACEHOLDERS:
            out.append(Issue(m.location, f"{field}.filter", ":as_of is only for snapshot "
                             "measures", "add snapshot: true"))
    return out


def _placeholders_of(metric: Metric, catalog: Catalog) -> dict[str, tuple[SourceLocation, str,
                                                                          set[str]]]:
    """Every filter of a metric (measure, input, variants) with its placeholders."""
    found: dict[str, tuple[SourceLocation, str, set[str]]] = {}
    for alias, ref in metric.inputs.items():
        measure = catalog.measures.get(ref.measure)
        for text, field, loc in ((measure.filter if measure else None,
                                  f"measures.{ref.measure}.filter",
                                  measure.location if measure else ref.location),
                                 (ref.filter, f"metrics.{metric.name}.{alias}.filter",
                                  ref.location)):
            pred = _parse(text, loc, field, [])
            if pred:
                found[field] = (loc, field, set(pred.placeholders))
    return found


def check_metrics(catalog: Catalog) -> Iterable[Issue]:
    """Metrics reference existing measures, declare their params, and have sources."""
    out: list[Issue] = []
    for met in catalog.metrics.values():
        field = f"metrics.{met.name}"
        if not met.sources:
            out.append(Issue(met.location, f"{field}.sources", "a KPI must quote its source",
                             "add sources: [{title, url, quote}]"))
        if not met.missing:
            out.append(Issue(met.location, f"{field}.missing",
                             "a KPI must say how it treats missing inputs",
                             "add missing: ... (e.g. contacts with unknown wait are left out)"))
        declared = set(met.params)
        tables = set()
        for alias, ref in met.inputs.items():
            measure = catalog.measures.get(ref.measure)
            if measure is None:
                out.append(Issue(ref.location, f"{field}.{alias}.measure",
                                 f"unknown measure {ref.measure!r}",
                                 suggest(ref.measure, catalog.measures)))
                continue
            tables.add(measure.table)
            if measure.table in TABLES:
                pred = _parse(ref.filter, ref.location, f"{field}.{alias}.filter", out)
                _columns_ok(pred, measure.table, ref.location, f"{field}.{alias}.filter", out)
        for loc, f, ph in _placeholders_of(met, catalog).values():
            special = SNAPSHOT_PLACEHOLDERS if any(
                catalog.measures.get(r.measure) and catalog.measures[r.measure].snapshot
                for r in met.inputs.values()) else frozenset()
            for name in sorted(ph - declared - special):
                out.append(Issue(loc, f, f"placeholder :{name} is not a parameter of "
                                 f"{met.name}", f"declare params.{name} in {met.name}"))
        if met.type is MetricType.DERIVED and met.expr:
            pred = _parse(met.expr, met.location, f"{field}.expr", out, "expression")
            if pred:
                for col in sorted(pred.columns - set(met.inputs) - DERIVED_NAMES):
                    out.append(Issue(met.location, f"{field}.expr", f"{col!r} is not an input",
                                     suggest(col, met.inputs) or "name one of the inputs"))
                for name in sorted(pred.placeholders - declared):
                    out.append(Issue(met.location, f"{field}.expr",
                                     f"placeholder :{name} is not a parameter"))
        out.extend(_check_variants(met, catalog))
        out.extend(_check_kind(met, catalog, tables))
        if met.target and set(met.target.params) - declared:
            out.append(Issue(met.location, f"{field}.target.params", "unknown parameter(s) "
                             + ", ".join(sorted(set(met.target.params) - declared))))
        for d in met.dimensions or ():
            if d not in DIMENSIONS:
                out.append(Issue(met.location, f"{field}.dimensions", f"unknown dimension {d!r}",
                                 suggest(d, DIMENSIONS)))
        primary = _primary_table(met, catalog)
        if primary in TABLES:
            cols = set(TABLES[primary].column_names) | (
                REPEAT_DRILL if met.type is MetricType.REPEAT_WINDOW else set())
            for c in met.drill:
                if c not in cols:
                    out.append(Issue(met.location, f"{field}.drill",
                                     f"{c!r} is not a column of {primary}", suggest(c, cols)))
            td = met.time_dimension
            if td and not TABLES[primary].has(td):
                out.append(Issue(met.location, f"{field}.time_dimension",
                                 f"{td!r} is not a column of {primary}"))
    return out


def _primary_table(met: Metric, catalog: Catalog) -> str | None:
    for ref in met.inputs.values():
        if ref.measure in catalog.measures:
            return catalog.measures[ref.measure].table
    if met.repeat:
        return met.repeat.table
    return None


def _check_variants(met: Metric, catalog: Catalog) -> Iterable[Issue]:
    out: list[Issue] = []
    field = f"metrics.{met.name}"
    if met.default_variant and met.default_variant not in met.variants:
        out.append(Issue(met.location, f"{field}.default_variant",
                         f"{met.default_variant!r} is not a variant",
                         suggest(met.default_variant, met.variants)))
    for v in met.variants.values():
        vf = f"{field}.variants.{v.name}"
        for pname, value in v.params.items():
            if pname not in met.params:
                out.append(Issue(v.location, f"{vf}.params.{pname}", "unknown parameter",
                                 suggest(pname, met.params)))
                continue
            try:
                params_mod.coerce(met.params[pname], value)
            except ValueError as exc:
                out.append(Issue(v.location, f"{vf}.params.{pname}", str(exc)))
        for key, text in v.filters.items():
            if key not in met.inputs:
                out.append(Issue(v.location, f"{vf}.{key}", f"{met.name} has no input {key!r}",
                                 suggest(key, met.inputs)))
                continue
            pred = _parse(text, v.location, f"{vf}.{key}.filter", out)
            ref = met.inputs[key]
            measure = catalog.measures.get(ref.measure)
            if measure is not None and measure.table in TABLES:
                _columns_ok(pred, measure.table, v.location, f"{vf}.{key}.filter", out)
            if pred:
                for name in sorted(pred.placeholders - set(met.params)):
                    out.append(Issue(v.location, f"{vf}.{key}.filter",
                                     f"placeholder :{name} is not a parameter"))
        if v.overrides_repeat_filter:
            _parse(v.repeat_filter, v.location, f"{vf}.repeat.filter", out)
    return out


def _param_of(met: Metric, name: str | None, ptype: ParamType, out: list[Issue]) -> bool:
    field = f"metrics.{met.name}.params"
    if name is None or name not in met.params:
        out.append(Issue(met.location, f"{field}.{name}", f"{met.type.value} metrics need a "
                         f"parameter {name!r} of type {ptype.value}"))
        return False
    if met.params[name].type is not ptype:
        out.append(Issue(met.params[name].location, f"{field}.{name}",
                         f"{name} must be of type {ptype.value}"))
        return False
    return True


def _check_kind(met: Metric, catalog: Catalog, tables: set[str]) -> Iterable[Issue]:
    out: list[Issue] = []
    field = f"metrics.{met.name}"
    if met.type is MetricType.REPEAT_WINDOW and met.repeat:
        r = met.repeat
        if r.table != "contacts":
            out.append(Issue(r.location, f"{field}.repeat.table", "repeat windows run over "
                             "contacts"))
        elif not TABLES["contacts"].has(r.entity):
            out.append(Issue(r.location, f"{field}.repeat.entity", f"unknown column {r.entity}"))
        _param_of(met, r.match_on_param, ParamType.COLUMNS, out)
        _param_of(met, r.window_param, ParamType.DURATION, out)
        _columns_ok(_parse(r.filter, r.location, f"{field}.repeat.filter", out), "contacts",
                    r.location, f"{field}.repeat.filter", out)
    if met.type is MetricType.TREND:
        if _param_of(met, met.of_param, ParamType.METRIC, out):
            out.extend(_check_request(met, met.params["of"].default, catalog))
        if met.calculation is Calculation.CV and _param_of(met, "over", ParamType.STRING, out):
            bad = [g for g in (met.params["over"].allowed or ()) if g not in GRAINS]
            if bad:
                out.append(Issue(met.location, f"{field}.params.over", f"unknown grain {bad}"))
    if met.type is MetricType.SCORE and _param_of(met, met.weights_param, ParamType.WEIGHTS,
                                                   out):
        for request, _ in met.params["weights"].default:
            out.extend(_check_request(met, request, catalog))
        if met.entity_dimension not in DIMENSIONS:
            out.append(Issue(met.location, f"{field}.entity", "unknown dimension"))
    return out


def _check_request(met: Metric, request: str, catalog: Catalog) -> Iterable[Issue]:
    from contactkpi.metrics.request import parse_request

    try:
        req = parse_request(request, where=f"metrics.{met.name}")
    except QueryError as exc:
        return [Issue(met.location, f"metrics.{met.name}.params", exc.message)]
    target = catalog.metrics.get(req.name)
    if target is None:
        return [Issue(met.location, f"metrics.{met.name}.params",
                      f"{req.name!r} is not a metric", suggest(req.name, catalog.metrics))]
    if target.type in (MetricType.TREND, MetricType.SCORE):
        return [Issue(met.location, f"metrics.{met.name}.params",
                      f"{req.name} is a {target.type.value} metric and cannot be nested")]
    return []


RULES: tuple[Rule, ...] = (check_measures, check_metrics)


def check_catalog(catalog: Catalog) -> list[Issue]:
    """Run every rule; issues in file order."""
    issues = [i for rule in RULES for i in rule(catalog)]
    return sorted(issues, key=lambda i: (i.location.file, i.location.line))
