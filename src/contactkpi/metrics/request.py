"""Metric requests: ``NAME[@VARIANT][:PARAM=VALUE[:PARAM=VALUE...]]``.

A request names one KPI, optionally a variant and parameter values; its text is the result
column's name, so ``service_level@of_offered:threshold_s=30`` comes back under exactly that
name, next to ``service_level`` asked in the same query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from contactkpi.errors import QueryError

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class MetricRequest:
    """One KPI as asked for: name, variant, raw parameter values and the column name."""

    name: str
    variant: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    column: str = ""

    def __post_init__(self) -> None:
        if not self.column:
            object.__setattr__(self, "column", self.text())

    def text(self) -> str:
        out = self.name + (f"@{self.variant}" if self.variant else "")
        for k, v in self.params.items():
            shown = ",".join(map(str, v)) if isinstance(v, list | tuple) else v
            out += f":{k}={shown}"
        return out


def parse_request(text: str, where: str = "METRIC") -> MetricRequest:
    """Parse ``service_level@of_offered:threshold_s=30`` (the column keeps this text)."""
    raw = str(text).strip()
    head, *parts = raw.split(":")
    name, _, variant = head.partition("@")
    name, variant = name.strip(), variant.strip() or None
    if not _NAME.match(name):
        raise QueryError(f"bad metric name {name!r} in {raw!r}", where=where,
                         hint="write NAME[@VARIANT][:PARAM=VALUE...], "
                         "e.g. service_level@of_offered:threshold_s=30")
    if "@" in head and variant is None:
        raise QueryError(f"missing variant after @ in {raw!r}", where=where)
    params: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise QueryError(f"bad parameter {part!r} in {raw!r}", where=where,
                             hint="write :PARAM=VALUE, e.g. :threshold_s=30")
        params[key.strip()] = value.strip()
    return MetricRequest(name=name, variant=variant, params=params, column=raw)


def as_request(item: str | MetricRequest, where: str = "METRIC") -> MetricRequest:
    """A request from its text, or the request itself."""
    return item if isinstance(item, MetricRequest) else parse_request(item, where)


@dataclass(frozen=True)
class MetricQuery:
    """What to compute: the same object the CLI, API, pages, reports and alerts build.

    Args:
        metrics: requests such as ``"offered"`` or ``"service_level@of_offered:threshold_s=30"``.
        by: dimensions (``queue``, ``agent``, ``team``, ``hour_of_day``, ...).
        grain: ``interval_15m`` ... ``year``, ``all``, or a cyclic ``hour_of_day``/``weekday``.
        start: first local day (or local datetime) included; ``None``: from the beginning.
        end: first local day (or datetime) *excluded*; ``None``: to the end of the data.
        where: a filter in the predicate subset, e.g. ``queue = 'sales' AND channel = 'voice'``.
        params: per metric name, parameter values (``{"service_level": {"threshold_s": 30}}``).
        variants: per metric name, the variant to use (``{"service_level": "of_offered"}``).
        tenant: the tenant to scope to (default: the configured default tenant); ``"*"``
            reads every tenant (in their common time zone, else UTC).
        targets: add ``<column>.target`` and ``<column>.status`` where a target applies.
        as_of: end of the known data for pending rules (default: the latest contact arrival).
    """

    metrics: tuple[str | MetricRequest, ...]
    by: tuple[str, ...] = ()
    grain: str = "all"
    start: date | datetime | str | None = None
    end: date | datetime | str | None = None
    where: str | None = None
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    variants: Mapping[str, str] = field(default_factory=dict)
    tenant: str | None = None
    targets: bool = True
    as_of: date | datetime | str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.metrics, str | MetricRequest):
            object.__setattr__(self, "metrics", (self.metrics,))
        else:
            object.__setattr__(self, "metrics", tuple(self.metrics))
        if isinstance(self.by, str):
            object.__setattr__(self, "by", tuple(b for b in self.by.split(",") if b))
        else:
            object.__setattr__(self, "by", tuple(self.by))

    def requests(self) -> list[MetricRequest]:
        """The metric requests, parsed."""
        return [as_request(m) for m in self.metrics]
