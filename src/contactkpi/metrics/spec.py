"""The KPI definition vocabulary: frozen specs loaded from ``catalog/*.yaml``.

A *measure* is a filtered aggregation over one canonical table (``count``, ``sum``, ``avg``,
``min``, ``max``, ``count_distinct``, ``percentile``, ``median``), optionally two-level
(``per`` an entity, ``then`` aggregated across entities) or evaluated as a *snapshot* at the
edge of each period (backlog, headcount). A *metric* combines measures by its ``type``:

- ``simple``: one measure (``inputs["value"]``);
- ``ratio``: ``numerator / denominator`` (null when the denominator is 0);
- ``derived``: an arithmetic ``expr`` over named inputs and params;
- ``repeat_window``: first contact resolution by the repeat-contact method;
- ``trend``: period-over-period change or coefficient of variation of another metric;
- ``score``: a weighted, normalised score of other metrics and its rank (leaderboard).

Every object keeps the file and line it was declared on, so an error can point there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from contactkpi.config import TargetSetting


class MetricType(StrEnum):
    """How a metric combines its measures."""

    SIMPLE = "simple"
    RATIO = "ratio"
    DERIVED = "derived"
    REPEAT_WINDOW = "repeat_window"
    TREND = "trend"
    SCORE = "score"


class Agg(StrEnum):
    """Aggregations a measure may use."""

    COUNT = "count"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    COUNT_DISTINCT = "count_distinct"
    PERCENTILE = "percentile"
    MEDIAN = "median"


class Unit(StrEnum):
    """What a metric's number is."""

    RATIO = "ratio"  # 0..1
    SECONDS = "seconds"
    HOURS = "hours"
    COUNT = "count"
    CURRENCY = "currency"
    SCORE = "score"
    POINTS = "points"  # NPS: -100..100
    PER_HOUR = "per_hour"
    NUMBER = "number"


class Direction(StrEnum):
    """Which way is better, for target status and leaderboards."""

    HIGHER = "higher_is_better"
    LOWER = "lower_is_better"
    NEUTRAL = "neutral"


class Format(StrEnum):
    """How outputs show the number (data stays in its unit)."""

    PERCENT = "percent"
    DURATION = "duration"
    INTEGER = "integer"
    NUMBER = "number"
    CURRENCY = "currency"
    POINTS = "points"


class ParamType(StrEnum):
    """Types of metric parameters."""

    INT = "int"
    FLOAT = "float"
    DURATION = "duration"  # seconds; YAML/CLI accept "7 days", "90m", "30s", 3600
    BOOL = "bool"
    STRING = "string"
    STRINGS = "strings"  # a list of strings (dispositions, channels)
    COLUMNS = "columns"  # a list of canonical column names (match_on)
    METRIC = "metric"  # a metric request such as "service_level@of_offered:threshold_s=30"
    WEIGHTS = "weights"  # {metric request: weight}


class Calculation(StrEnum):
    """What a repeat_window, trend or score metric reports."""

    NON_REPEAT_RATE = "non_repeat_rate"
    REPEAT_RATE = "repeat_rate"
    PENDING_COUNT = "pending_count"
    JUDGED_COUNT = "judged_count"
    CHANGE = "change"
    PCT_CHANGE = "pct_change"
    CV = "cv"
    SCORE = "score"
    RANK = "rank"


REPEAT_CALCULATIONS = frozenset(
    {Calculation.NON_REPEAT_RATE, Calculation.REPEAT_RATE, Calculation.PENDING_COUNT,
     Calculation.JUDGED_COUNT})
TREND_CALCULATIONS = frozenset({Calculation.CHANGE, Calculation.PCT_CHANGE, Calculation.CV})
SCORE_CALCULATIONS = frozenset({Calculation.SCORE, Calculation.RANK})


@dataclass(frozen=True)
class SourceLocation:
    """Where an object was declared: file and 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


NOWHERE = SourceLocation("<code>", 0)


@dataclass(frozen=True)
class Param:
    """A typed metric parameter with its default and bounds."""

    name: str
    type: ParamType
    default: Any
    description: str = ""
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    location: SourceLocation = NOWHERE


@dataclass(frozen=True)
class Source:
    """Where a definition comes from, with a short quotation of its wording."""

    title: str
    url: str | None = None
    quote: str | None = None


@dataclass(frozen=True)
class Measure:
    """A filtered aggregation over one canonical table."""

    name: str
    table: str
    agg: Agg
    expr: str | None = None  # column or arithmetic; None for count
    filter: str | None = None
    quantile: float | None = None  # for percentile
    per: str | None = None  # two-level: aggregate per entity first ...
    then: Agg | None = None  # ... then across entities with this aggregation
    snapshot: bool = False  # evaluated at a period edge (filter uses :as_of / :as_of_date)
    time_dimension: str | None = None
    description: str = ""
    location: SourceLocation = NOWHERE
    #: an interval measure: each row lasts from its time dimension to this column and is
    #: split across the periods it overlaps (time-weighted; see metrics.spread)
    spread_until: str | None = None


class SnapshotAt(StrEnum):
    """Which edge of each period a snapshot measure is evaluated at."""

    PERIOD_END = "period_end"
    PERIOD_START = "period_start"


@dataclass(frozen=True)
class InputRef:
    """A measure used by a metric, with an extra filter ANDed to the measure's own."""

    measure: str
    filter: str | None = None
    at: SnapshotAt = SnapshotAt.PERIOD_END
    location: SourceLocation = NOWHERE


@dataclass(frozen=True)
class RepeatSpec:
    """How a repeat_window metric finds a base contact's next matching contact."""

    table: str
    filter: str | None
    entity: str
    match_on_param: str  # param of type columns, e.g. match_on
    window_param: str  # param of type duration, e.g. window
    calculation: Calculation
    location: SourceLocation = NOWHERE


@dataclass(frozen=True)
class Variant:
    """A named override of params and filters (never of the metric type)."""

    name: str
    description: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    filters: Mapping[str, str | None] = field(default_factory=dict)  # input name -> filter
    repeat_filter: str | None = None
    overrides_repeat_filter: bool = False
    location: SourceLocation = NOWHERE


#: A catalog's default target has the shape of a config target (which overrides it).
TargetSpec = TargetSetting


@dataclass(frozen=True)
class Metric:
    """One KPI: the name is its CLI argument, API path segment and output column."""

    name: str
    label: str
    type: MetricType
    unit: Unit
    format: Format
    direction: Direction
    definition: str
    family: str
    formula: str = ""
    missing: str = ""
    sources: tuple[Source, ...] = ()
    params: Mapping[str, Param] = field(default_factory=dict)
    variants: Mapping[str, Variant] = field(default_factory=dict)
    default_variant: str | None = None
    target: TargetSpec | None = None
    dimensions: tuple[str, ...] | None = None
    drill: tuple[str, ...] = ()
    time_dimension: str | None = None
    inputs: Mapping[str, InputRef] = field(default_factory=dict)
    expr: str | None = None  # derived
    repeat: RepeatSpec | None = None
    calculation: Calculation | None = None  # repeat_window, trend, score
    of_param: str | None = None  # trend: the param naming the metric it follows
    over_param: str | None = None  # trend cv: the param naming the sub-period grain
    weights_param: str | None = None  # score
    entity_dimension: str | None = None  # score: who is ranked (agent)
    location: SourceLocation = NOWHERE


@dataclass(frozen=True)
class Family:
    """One catalog file: a family of KPIs."""

    name: str
    title: str
    description: str
    file: str


@dataclass(frozen=True)
class Catalog:
    """All measures and metrics, by name."""

    measures: Mapping[str, Measure]
    metrics: Mapping[str, Metric]
    families: tuple[Family, ...] = ()

    def names(self) -> list[str]:
        return list(self.metrics)
