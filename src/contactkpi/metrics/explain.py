"""Explain a KPI: definition in words, quoted source, effective params, how missing values
are treated, the measures with their filters, and the SQL for DuckDB. Never executes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis
import sqlglot
from sqlglot import exp

from contactkpi.config import Settings
from contactkpi.metrics import params as params_mod
from contactkpi.metrics.compile import compile_query
from contactkpi.metrics.dimensions import metric_dimensions
from contactkpi.metrics.loader import default_catalog
from contactkpi.metrics.request import MetricQuery, MetricRequest, as_request
from contactkpi.metrics.resolve import Resolved, resolve
from contactkpi.metrics.scope import time_dim_for
from contactkpi.metrics.spec import Catalog, MetricType


def bind_text(text: str | None, values: Mapping[str, Any]) -> str | None:
    """A filter with its ``:params`` replaced by their values, as SQL text (for reading)."""
    if text is None:
        return None

    def sub(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and str(node.this) in values:
            v = values[str(node.this)]
            if isinstance(v, tuple | list):
                return exp.Tuple(expressions=[exp.convert(x) for x in v])
            return exp.convert(v)
        return node

    return sqlglot.parse_one(text).transform(sub).sql()


@dataclass
class Explanation:
    """Everything ``metrics explain`` prints."""

    resolved: Resolved
    measures: list[dict[str, Any]] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)
    sql: str | None = None

    def to_dict(self) -> dict[str, Any]:
        r, m = self.resolved, self.resolved.metric
        return {
            "name": m.name, "label": m.label, "family": m.family, "type": m.type.value,
            "unit": m.unit.value, "format": m.format.value, "direction": m.direction.value,
            "definition": m.definition, "formula": m.formula, "missing": m.missing,
            "sources": [{"title": s.title, "url": s.url, "quote": s.quote} for s in m.sources],
            "variant": r.variant.name if r.variant else None,
            "variants": {v.name: v.description for v in m.variants.values()},
            "params": {k: {"value": params_mod.show(m.params[k], v), "from": r.origins[k],
                           "description": m.params[k].description}
                       for k, v in r.params.items()},
            "measures": self.measures, "dimensions": self.dimensions, "sql": self.sql,
            "defined_at": str(m.location),
        }

    def render(self) -> str:
        d = self.to_dict()
        lines = [f"{d['name']} - {d['label']}  [{d['type']}, {d['unit']}, {d['direction']}]",
                 f"family: {d['family']}   defined at {d['defined_at']}", "",
                 d["definition"]]
        if d["formula"]:
            lines += ["", f"formula: {d['formula']}"]
        lines += ["", f"missing values: {d['missing']}", "", "sources:"]
        for s in d["sources"]:
            lines.append(f"  - {s['title']}" + (f" <{s['url']}>" if s["url"] else ""))
            if s["quote"]:
                lines.append(f'      "{s["quote"]}"')
        if d["variants"]:
            lines += ["", f"variant: {d['variant'] or '(none)'}   available:"]
            lines += [f"  - {k}: {v}" for k, v in d["variants"].items()]
        if d["params"]:
            lines += ["", "parameters:"]
            for k, p in d["params"].items():
                lines.append(f"  {k} = {p['value']}   ({p['from']})  {p['description']}")
        if self.measures:
            lines += ["", "measures:"]
            for ms in self.measures:
                lines.append(f"  {ms['input']}: {ms['agg']}"
                             + (f"({ms['expr']})" if ms["expr"] else "")
                             + f" over {ms['table']} by {ms['time_dimension']}")
                if ms["filter"]:
                    lines.append(f"      where {ms['filter']}")
        if self.dimensions:
            lines += ["", "dimensions: " + ", ".join(self.dimensions)]
        if self.sql:
            lines += ["", "SQL (DuckDB, not executed):", self.sql]
        return "\n".join(lines)


def explain(
    metric: str | MetricRequest,
    *,
    params: Mapping[str, Any] | None = None,
    variant: str | None = None,
    sql: bool = False,
    query: MetricQuery | None = None,
    catalog: Catalog | None = None,
    settings: Settings | None = None,
) -> Explanation:
    """Explain one KPI (with optional params/variant); ``sql=True`` adds the DuckDB SQL.

    ``query`` chooses the grain, dimensions and range the SQL is shown for (default: the
    whole range, no dimensions).
    """
    from contactkpi.metrics.query import unbound_tables

    catalog = catalog or default_catalog()
    req = as_request(metric)
    merged = dict(req.params)
    merged.update(params or {})
    req = MetricRequest(name=req.name, variant=variant or req.variant, params=merged,
                        column=req.column)
    r = resolve(catalog, req)
    out = Explanation(resolved=r)
    m = r.metric
    for alias, ref in m.inputs.items():
        measure = catalog.measures[ref.measure]
        conds = [c for c in (measure.filter, r.filter_of(alias)) if c]
        text = " AND ".join(f"({c})" for c in conds) if len(conds) > 1 else (
            conds[0] if conds else None)
        out.measures.append({
            "input": alias, "measure": measure.name, "table": measure.table,
            "agg": measure.agg.value + (f"[{measure.quantile:g}]" if measure.quantile else "")
            + (f" per {measure.per} then {measure.then.value}" if measure.per and measure.then
               else ""),
            "expr": bind_text(measure.expr, r.params),
            "filter": bind_text(text, r.params),
            "time_dimension": ("snapshot at " + ref.at.value) if measure.snapshot
            else time_dim_for(m.time_dimension, measure),
        })
    tables = [catalog.measures[ref.measure].table for ref in m.inputs.values()]
    if tables:
        out.dimensions = list(m.dimensions or metric_dimensions(tables))
    if m.type is MetricType.REPEAT_WINDOW and m.repeat:
        out.measures.append({
            "input": "repeat", "measure": "(next matching contact)", "table": m.repeat.table,
            "agg": "lead(arrived_at) over match_on", "expr": None,
            "filter": bind_text(r.repeat_filter(), r.params),
            "time_dimension": "arrived_at"})
    if sql:
        q = query or MetricQuery(metrics=(req,))
        q = MetricQuery(metrics=(req,), by=q.by, grain=q.grain, start=q.start, end=q.end,
                        where=q.where, tenant=q.tenant, targets=False, as_of=q.as_of)
        _, expr = compile_query(catalog, q, unbound_tables(), settings or Settings(),
                                engine="duckdb")
        out.sql = ibis.to_sql(expr, dialect="duckdb")
    return out
