"""Forecasts kept in the warehouse's ``forecasts`` table: find a run, read it, write one.

A *run* is the set of rows one forecast wrote for a queue: same ``model`` and ``created_at``.
Listing the runs that cover a range (:func:`list_runs`) reads the table's keys only, as a
catalogue of what is stored; the numbers themselves (forecast volume and AHT per interval)
are read through the KPI engine with the ``forecast_volume`` and ``forecast_aht_s`` metrics of
``metrics/catalog/forecast.yaml``, pinned to the run by their ``model`` and
``created_from``/``created_to`` parameters (:func:`read_run`).

Writing goes through :func:`contactkpi.store.load_frames`, so a saved forecast is checked
against the canonical model and loaded atomically like any other rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from contactkpi.errors import QueryError
from contactkpi.metrics import MetricRequest
from contactkpi.store import LoadResult, load_frames
from contactkpi.wfm.history import Scope, grain_for

__all__ = ["ForecastRun", "choose_run", "list_runs", "read_run", "save_forecast", "to_utc"]


@dataclass(frozen=True)
class ForecastRun:
    """One stored forecast of one queue.

    Attributes:
        queue: Queue.
        model: Model (or source) name as stored.
        created_at: When it was made (UTC).
        interval_s: Interval length of its rows.
        first_at: Start of its first interval inside the range asked about (UTC).
        last_at: Start of its last interval inside the range asked about (UTC).
        intervals: Its intervals inside the range.
    """

    queue: str
    model: str
    created_at: pd.Timestamp
    interval_s: int
    first_at: pd.Timestamp
    last_at: pd.Timestamp
    intervals: int

    def as_dict(self) -> dict[str, Any]:
        return {"queue": self.queue, "model": self.model,
                "created_at": self.created_at.isoformat(), "interval_s": self.interval_s,
                "first_interval_at": self.first_at.isoformat(),
                "last_interval_at": self.last_at.isoformat(), "intervals": self.intervals}


def to_utc(value: Any, zone: str) -> pd.Timestamp:
    """A local day or datetime (naive = local wall clock) as an aware UTC timestamp."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    return ts.tz_convert("UTC")


def list_runs(scope: Scope, queues: Sequence[str] | None, *, start: Any, end: Any
              ) -> list[ForecastRun]:
    """Runs with at least one interval starting in ``[start, end)`` (local days/datetimes)."""
    lo, hi = to_utc(start, scope.zone), to_utc(end, scope.zone)
    t = scope.wh.table("forecasts", tenant=scope.tenant)
    t = t.filter((t.interval_start_at >= lo.to_pydatetime())
                 & (t.interval_start_at < hi.to_pydatetime()))
    if queues:
        t = t.filter(t.queue.isin(list(queues)))
    keys = t.group_by(["queue", "model", "created_at", "interval_s"]).aggregate(
        first_at=t.interval_start_at.min(), last_at=t.interval_start_at.max(),
        intervals=t.count())
    frame = keys.to_pandas()
    runs = []
    for row in frame.itertuples(index=False):
        runs.append(ForecastRun(
            queue=str(row.queue), model=str(row.model),
            created_at=_utc(row.created_at), interval_s=int(row.interval_s),
            first_at=_utc(row.first_at), last_at=_utc(row.last_at),
            intervals=int(row.intervals)))
    return sorted(runs, key=lambda r: (r.queue, r.created_at, r.model))


def _utc(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def choose_run(runs: Sequence[ForecastRun], queue: str, *, before: pd.Timestamp,
               model: str | None = None) -> ForecastRun | None:
    """The run a plan (or an accuracy check) uses for ``queue``.

    The latest run made at or before ``before`` (the forecast the centre had when the range
    began); when every run was made later, the latest one. ``model`` keeps that model's runs
    only. ``None`` when no run fits.

    Examples:
        >>> t = pd.Timestamp
        >>> runs = [ForecastRun("q", m, t(c, tz="UTC"), 1800, t("2026-01-05", tz="UTC"),
        ...                     t("2026-01-06", tz="UTC"), 10)
        ...         for m, c in [("a", "2026-01-01"), ("b", "2026-01-03"), ("a", "2026-01-07")]]
        >>> choose_run(runs, "q", before=t("2026-01-05", tz="UTC")).model
        'b'
        >>> choose_run(runs, "q", before=t("2026-01-05", tz="UTC"), model="a").created_at.day
        1
        >>> choose_run(runs, "q", before=t("2025-12-01", tz="UTC")).created_at.day
        7
    """
    mine = [r for r in runs if r.queue == queue and (model is None or r.model == model)]
    if not mine:
        return None
    made_before = [r for r in mine if r.created_at <= before]
    pool = made_before or mine
    return max(pool, key=lambda r: (r.created_at, r.intervals))


def read_run(scope: Scope, run: ForecastRun, *, interval_s: int, start: Any, end: Any
             ) -> pd.DataFrame:
    """Forecast volume and AHT of one run per interval, through the KPI engine.

    ``interval_s`` must be the run's interval length or a multiple of it (a 30-minute
    forecast read per hour adds two intervals up; read per 15 minutes it cannot be split).

    Returns:
        ``queue, period_start`` (aware, local), ``forecast_volume``, ``forecast_aht_s``: one
        row per period the run has a row in.
    """
    if interval_s < run.interval_s or interval_s % run.interval_s:
        minutes = run.interval_s // 60
        raise QueryError(f"the stored forecast of {run.queue} ({run.model}) has "
                         f"{minutes}-minute intervals, which cannot be cut into "
                         f"{interval_s // 60}-minute ones", where="--interval",
                         hint=f"use --interval {minutes}m or a multiple of it")
    pin = {"model": run.model, "created_from": run.created_at.isoformat(),
           "created_to": run.created_at.isoformat()}
    requests = [MetricRequest("forecast_volume", params=pin, column="forecast_volume"),
                MetricRequest("forecast_aht_s", params=pin, column="forecast_aht_s")]
    frame = scope.metrics(requests, grain=grain_for(interval_s), start=start, end=end,
                          queues=[run.queue])
    frame["queue"] = frame["queue"].astype(str)
    # A period where only other runs have rows comes back with no volume: not this run's.
    frame = frame[frame["forecast_volume"].notna()].reset_index(drop=True)
    return frame[["queue", "period_start", "forecast_volume", "forecast_aht_s"]]


def save_forecast(scope: Scope, frame: pd.DataFrame, *, interval_s: int,
                  created_at: datetime | None = None) -> tuple[LoadResult, pd.Timestamp]:
    """Write a forecast into ``forecasts`` through :func:`contactkpi.store.load_frames`.

    Args:
        scope: Warehouse and tenant (a tenant is needed: rows belong to one).
        frame: ``queue``, ``ds`` (naive local interval start), ``volume``, ``aht_s``, ``model``.
        interval_s: Interval length of the rows.
        created_at: The run's creation time (default: now, whole seconds, UTC).

    Returns:
        The load result and the ``created_at`` written (it identifies the run).

    Raises:
        QueryError: No tenant to write for.
    """
    if scope.tenant is None:
        raise QueryError("cannot save a forecast without a tenant", where="--tenant",
                         hint="pass --tenant NAME or set default_tenant in contactkpi.toml")
    made = pd.Timestamp(created_at or datetime.now(UTC).replace(microsecond=0))
    made = made.tz_localize("UTC") if made.tzinfo is None else made.tz_convert("UTC")
    local = pd.DatetimeIndex(frame["ds"])
    # The first of two equal wall-clock times on the autumn change; a time that does not
    # exist in spring is dropped (no interval starts then).
    aware = local.tz_localize(scope.zone, ambiguous=np.ones(len(local), dtype=bool),
                              nonexistent="NaT")
    keep = ~aware.isna()
    rows = pd.DataFrame({
        "queue": frame["queue"].to_numpy()[keep],
        "interval_start_at": aware[keep].tz_convert("UTC"),
        "interval_s": float(interval_s),
        "model": frame["model"].to_numpy()[keep],
        "created_at": made,
        "volume": frame["volume"].to_numpy(dtype=float)[keep],
        "aht_s": frame["aht_s"].to_numpy(dtype=float)[keep],
    })
    result = load_frames(scope.wh, {"forecasts": rows}, tenant=scope.tenant,
                         label=f"forecast {made.isoformat()}")
    return result, made
