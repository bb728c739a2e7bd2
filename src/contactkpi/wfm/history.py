"""What workforce planning reads from the warehouse, always through the KPI engine.

Nothing here computes a KPI or writes SQL: contacts offered, handle time, service level,
waits, abandons and stored forecast volumes are catalog metrics asked for with
:class:`~contactkpi.metrics.MetricQuery`; this module scopes the queries (tenant, queues,
interval grain, local days) and lays their rows on interval grids for the planning maths.

Time: every query is cut in the tenant's local time; ``period_start`` comes back aware (local
zone). Forecasting works on naive local wall-clock time (:mod:`contactkpi.wfm.forecast`),
so :func:`history` drops the zone after reading.

A queue-interval with no contacts has no row in a KPI result. Inside the days the history
covers, :func:`history` fills such intervals with 0 contacts (the centre was open and nobody
called); days without any contact are left out, and the forecast fills them from the week
before (a closed day or missing data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from contactkpi.config import Settings, Tenant
from contactkpi.errors import QueryError
from contactkpi.metrics import MetricQuery, MetricRequest, query
from contactkpi.metrics.spec import Catalog
from contactkpi.store import Warehouse

__all__ = [
    "GRAIN_OF_INTERVAL",
    "Scope",
    "check_queues",
    "grain_for",
    "history",
    "intervals",
    "last_contact_day",
    "patience_estimate",
    "queue_where",
]

#: Interval length (seconds) -> the KPI engine's grain.
GRAIN_OF_INTERVAL = {900: "interval_15m", 1800: "interval_30m", 3600: "hour"}


def grain_for(interval_s: int, where: str = "--interval") -> str:
    """The engine grain of an interval length: 15, 30 or 60 minutes.

    Examples:
        >>> grain_for(1800)
        'interval_30m'
    """
    try:
        return GRAIN_OF_INTERVAL[int(interval_s)]
    except KeyError:
        raise QueryError(f"no KPI grain for intervals of {interval_s:g} s", where=where,
                         hint="use 15m, 30m or 60m") from None


def queue_where(queues: Sequence[str] | None) -> str | None:
    """A ``--where`` filter keeping ``queues`` (quotes doubled), or ``None`` for all.

    Examples:
        >>> queue_where(["sales", "o'brien"])
        "queue IN ('sales', 'o''brien')"
    """
    if not queues:
        return None
    quoted = ", ".join("'" + str(q).replace("'", "''") + "'" for q in queues)
    return f"queue IN ({quoted})"


@dataclass(frozen=True)
class Scope:
    """Where planning reads from: a warehouse, the settings and one tenant.

    Attributes:
        wh: The warehouse.
        settings: Settings (tenants, time zones, targets).
        tenant: The tenant rows are scoped to; ``None`` when no tenant is configured or named
            (then every row is read, in UTC, as the KPI engine does).
        catalog: KPI catalog to use (default: the packaged one).
    """

    wh: Warehouse
    settings: Settings
    tenant: str | None = None
    catalog: Catalog | None = None

    @classmethod
    def resolve(cls, wh: Warehouse, settings: Settings, tenant: str | None = None,
                catalog: Catalog | None = None) -> Scope:
        """The scope for ``--tenant`` (default tenant from the settings; unknown: ConfigError)."""
        if tenant is None and not settings.tenants:
            return cls(wh, settings, None, catalog)
        return cls(wh, settings, settings.tenant(tenant).name, catalog)

    @property
    def tenant_config(self) -> Tenant:
        """The tenant's settings (time zone, country, closed days); UTC when unscoped."""
        if self.tenant is None:
            return Tenant(name="*")
        return self.settings.tenant(self.tenant)

    @property
    def zone(self) -> str:
        return self.tenant_config.timezone

    def metrics(self, requests: Sequence[str | MetricRequest], *, grain: str,
                start: Any = None, end: Any = None, queues: Sequence[str] | None = None,
                by: Sequence[str] = ("queue",)) -> pd.DataFrame:
        """Run one KPI query in this scope (no targets): the engine's pandas result."""
        q = MetricQuery(metrics=tuple(requests), by=tuple(by), grain=grain, start=start,
                        end=end, where=queue_where(queues), tenant=self.tenant, targets=False)
        return query(self.wh, q, settings=self.settings, catalog=self.catalog)


def check_queues(scope: Scope, queues: Sequence[str] | None, *, start: Any = None,
                 end: Any = None, also: Sequence[str] = ()) -> list[str]:
    """The queues to work on: ``queues`` checked against the warehouse, or every queue.

    A queue is known when it has contacts offered in ``[start, end)`` (or is in ``also``,
    e.g. queues with a stored forecast).

    Raises:
        QueryError: no contacts at all (``where="--tenant"``), or an unknown queue
            (``where="--queue"``, the hint lists the known ones).
    """
    found = scope.metrics(["offered"], grain="all", start=start, end=end)
    known = sorted(set(found.loc[found["offered"] > 0, "queue"].dropna().astype(str)) | set(also))
    span = _span(start, end)
    if not known:
        who = f"tenant {scope.tenant!r}" if scope.tenant else "the warehouse"
        raise QueryError(f"no contacts offered to any queue in {who}{span}",
                         where="--tenant" if scope.tenant else "--warehouse",
                         hint="load history first (contactkpi ingest ...), or check --tenant, "
                         "--from and --to")
    if not queues:
        return known
    unknown = [q for q in queues if q not in known]
    if unknown:
        raise QueryError(f"unknown queue {unknown[0]!r}: no contacts offered to it{span}",
                         where="--queue", hint="known queues: " + ", ".join(known))
    return list(dict.fromkeys(queues))


def _span(start: Any, end: Any) -> str:
    if start is None and end is None:
        return ""
    return f" between {start or 'the start'} and {end or 'the end'}"


def intervals(scope: Scope, requests: Sequence[str | MetricRequest], *, interval_s: int,
              start: Any = None, end: Any = None,
              queues: Sequence[str] | None = None) -> pd.DataFrame:
    """KPIs per queue and interval: ``queue, period_start`` (aware, local) and one column per
    request (named as asked)."""
    frame = scope.metrics(requests, grain=grain_for(interval_s), start=start, end=end,
                          queues=queues)
    frame["queue"] = frame["queue"].astype(str)
    return frame


def history(scope: Scope, queues: Sequence[str], *, interval_s: int, start: Any = None,
            end: Any = None) -> pd.DataFrame:
    """Contacts offered and AHT per queue and open interval, for forecasting.

    Args:
        scope: Where to read.
        queues: Queues to read (checked beforehand).
        interval_s: Interval length (900, 1800 or 3600 seconds).
        start: First local day of history (``None``: all).
        end: First local day *not* read (``None``: up to the end of the data).

    Returns:
        ``unique_id`` (queue), ``ds`` (naive local interval start), ``volume`` (contacts
        offered; 0 for an interval without contacts on a day with data), ``aht_s`` (NaN where
        nothing was answered). Empty when there is no history.
    """
    frame = intervals(scope, ["offered", "aht_s"], interval_s=interval_s, start=start, end=end,
                      queues=queues)
    if frame.empty:
        return pd.DataFrame({"unique_id": pd.Series(dtype=str),
                             "ds": pd.Series(dtype="datetime64[ns]"),
                             "volume": pd.Series(dtype=float), "aht_s": pd.Series(dtype=float)})
    ds = frame["period_start"].dt.tz_localize(None)
    long = pd.DataFrame({"unique_id": frame["queue"], "ds": ds,
                         "volume": frame["offered"].astype(float),
                         "aht_s": pd.to_numeric(frame["aht_s"], errors="coerce")})
    # Lay every queue on the same grid of (day with data) x (time-of-day slots seen).
    tod = (ds - ds.dt.normalize()).dt.total_seconds().astype(int)
    slots = np.arange(tod.min(), tod.max() + 1, interval_s)
    days = pd.DatetimeIndex(sorted(ds.dt.normalize().unique()))
    grid_ds = (days.to_numpy().repeat(len(slots))
               + np.tile(slots, len(days)).astype("timedelta64[s]"))
    grid = pd.MultiIndex.from_product([list(queues), grid_ds], names=["unique_id", "ds"])
    long = long.groupby(["unique_id", "ds"], sort=True).agg(
        volume=("volume", "sum"), aht_s=("aht_s", "mean"))
    long = long.reindex(grid.union(long.index))
    long["volume"] = long["volume"].fillna(0.0)
    return long.reset_index()


def last_contact_day(scope: Scope, *, start: Any = None, end: Any = None) -> date | None:
    """The last local day with any contact offered in the scope (all queues), or ``None``."""
    days = scope.metrics(["offered"], grain="day", start=start, end=end, by=())
    days = days[days["offered"] > 0]
    if days.empty:
        return None
    return pd.Timestamp(days["period_start"].max()).date()


def patience_estimate(scope: Scope, queues: Sequence[str], *, start: Any = None,
                      end: Any = None) -> dict[str, float]:
    """Average patience per queue, from waits and abandons: ``sum(wait) / abandons``.

    The maximum-likelihood estimate of an exponential patience from censored waits: every
    offered contact exposes its whole queue wait to the chance of abandoning, and only
    abandons end that exposure by giving up (Mandelbaum and Zeltyn, "The Palm/Erlang-A queue,
    with applications to call centers", 2007: ``theta = P(Ab) / E[W]``). The total wait is
    ``awt_s x offered`` (the catalog's mean wait over all offered contacts); abandons count
    short ones too. A queue without abandons (or without waiting) gets no estimate.

    Returns:
        Queue -> patience in seconds, for queues where it can be estimated.
    """
    frame = scope.metrics(["offered", "awt_s", "abandoned@including_short"], grain="all",
                          start=start, end=end, queues=queues)
    out: dict[str, float] = {}
    for queue, offered, awt, abandoned in zip(
            frame["queue"], frame["offered"], pd.to_numeric(frame["awt_s"], errors="coerce"),
            frame["abandoned@including_short"], strict=True):
        if abandoned > 0 and np.isfinite(awt) and awt > 0:
            out[str(queue)] = float(awt) * float(offered) / float(abandoned)
    return out


def day_range(start: date, end_inclusive: date) -> tuple[str, str]:
    """``(start, end)`` ISO strings for a query over whole local days, ``end`` excluded."""
    return start.isoformat(), (end_inclusive + timedelta(days=1)).isoformat()
