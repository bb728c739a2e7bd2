"""The KPI catalog and its engine: the only place KPI maths exists.

Public API::

    from contactkpi.metrics import MetricQuery, query, explain, drill, load_catalog

    query(wh, MetricQuery(["offered", "service_level@of_offered:threshold_s=30"],
                          by=["queue"], grain="interval_30m",
                          start="2026-03-01", end="2026-04-01"), output="pandas")

Definitions live in ``catalog/*.yaml`` (one file per family); ``explain`` shows a KPI's
definition, source, effective params, missing-value treatment and SQL without running it;
``drill`` returns the rows behind one cell.
"""

from __future__ import annotations

from contactkpi.metrics.drill import drill
from contactkpi.metrics.explain import Explanation, explain
from contactkpi.metrics.loader import default_catalog, load_catalog
from contactkpi.metrics.query import QueryResult, query, run
from contactkpi.metrics.request import MetricQuery, MetricRequest, parse_request
from contactkpi.metrics.spec import Catalog, Measure, Metric

__all__ = [
    "Catalog",
    "Explanation",
    "Measure",
    "Metric",
    "MetricQuery",
    "MetricRequest",
    "QueryResult",
    "default_catalog",
    "drill",
    "explain",
    "load_catalog",
    "parse_request",
    "query",
    "run",
]
