"""Resolve a request against the catalog: the metric, its variant and effective params.

Precedence of a parameter value, last wins: the param's default, the variant's override, the
query's ``--param metric.name=value``, the request's own ``:name=value``. Each value is
checked against its declared type and bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contactkpi.errors import QueryError
from contactkpi.metrics import params as params_mod
from contactkpi.metrics.loader import suggest
from contactkpi.metrics.request import MetricQuery, MetricRequest
from contactkpi.metrics.spec import Catalog, InputRef, Metric, Variant


@dataclass(frozen=True)
class Resolved:
    """A metric as it will be computed: column name, variant, effective params."""

    column: str
    metric: Metric
    variant: Variant | None
    params: Mapping[str, Any]
    origins: Mapping[str, str] = field(default_factory=dict)
    hidden: bool = False

    def filter_of(self, alias: str) -> str | None:
        """The extra filter of input ``alias`` after the variant's override."""
        if self.variant is not None and alias in self.variant.filters:
            return self.variant.filters[alias]
        return self.metric.inputs[alias].filter

    def input(self, alias: str) -> InputRef:
        return self.metric.inputs[alias]

    def repeat_filter(self) -> str | None:
        if self.variant is not None and self.variant.overrides_repeat_filter:
            return self.variant.repeat_filter
        return self.metric.repeat.filter if self.metric.repeat else None

    def shown_params(self) -> dict[str, str]:
        return {k: params_mod.show(self.metric.params[k], v) for k, v in self.params.items()}


def find_metric(catalog: Catalog, name: str, where: str = "METRIC") -> Metric:
    """The metric ``name`` or a QueryError with a suggestion."""
    if name in catalog.metrics:
        return catalog.metrics[name]
    raise QueryError(f"unknown metric {name!r}", where=where,
                     hint=suggest(name, catalog.metrics)
                     or "run `contactkpi metrics list` to see the catalog")


def resolve(catalog: Catalog, request: MetricRequest, query: MetricQuery | None = None,
            hidden: bool = False, column: str | None = None) -> Resolved:
    """Resolve one request (and the query-wide ``params``/``variants``)."""
    metric = find_metric(catalog, request.name, where=request.column)
    where = request.column
    vname = request.variant or (query.variants.get(metric.name) if query else None) \
        or metric.default_variant
    variant = None
    if vname is not None:
        if vname not in metric.variants:
            raise QueryError(f"{metric.name} has no variant {vname!r}", where=where,
                             hint=suggest(vname, metric.variants) or "variants: "
                             + (", ".join(metric.variants) or "none"))
        variant = metric.variants[vname]
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, p in metric.params.items():
        values[name], origins[name] = p.default, "default"
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if variant is not None:
        layers.append((f"variant {variant.name}", variant.params))
    if query is not None and metric.name in query.params:
        layers.append(("--param", query.params[metric.name]))
    layers.append(("request", request.params))
    for origin, layer in layers:
        for name, raw in layer.items():
            if name not in metric.params:
                raise QueryError(f"{metric.name} has no parameter {name!r}", where=where,
                                 hint=suggest(name, metric.params) or "parameters: "
                                 + (", ".join(metric.params) or "none"))
            try:
                values[name] = params_mod.coerce(metric.params[name], raw)
            except ValueError as exc:
                raise QueryError(f"{metric.name}.{name}: {exc}", where=where,
                                 hint=metric.params[name].description or None) from None
            origins[name] = origin
    return Resolved(column=column or request.column, metric=metric, variant=variant,
                    params=values, origins=origins, hidden=hidden)
