"""Forecasts from the warehouse, and the accuracy of stored forecasts against what came.

:func:`make_forecast` reads each queue's history through the KPI engine
(:func:`contactkpi.wfm.history.history`), forecasts volume and AHT with the backtest-chosen
model (:func:`contactkpi.wfm.forecast.forecast_volume_and_aht`) and returns rows ready to
print or save (:func:`contactkpi.wfm.stored.save_forecast`).

:func:`stored_accuracy` picks the stored run of each queue
(:func:`contactkpi.wfm.stored.choose_run`), reads its forecast volume and the contacts offered
per interval (both through the engine) and scores them with
:func:`contactkpi.wfm.accuracy.accuracy_table`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from contactkpi.errors import QueryError
from contactkpi.wfm.accuracy import accuracy_table
from contactkpi.wfm.forecast import DEFAULT_MODELS, forecast
from contactkpi.wfm.history import (
    Scope,
    check_queues,
    history,
    intervals,
    last_contact_day,
)
from contactkpi.wfm.stored import ForecastRun, choose_run, list_runs, read_run, to_utc

__all__ = ["AccuracyReport", "Forecast", "make_forecast", "stored_accuracy"]

#: Shortest history a forecast is made from: one week of open days (at least this many
#: calendar days from first to last), which shows the weekly pattern. With less than two
#: weeks there is too little to backtest candidates, and the week-naive forecast (same
#: interval one week earlier) is used.
MIN_HISTORY_DAYS = 6


@dataclass(frozen=True)
class Forecast:
    """A forecast made from the warehouse.

    Attributes:
        rows: ``queue``, ``ds`` (naive local interval start), ``interval_start`` (aware,
            local), ``volume``, ``aht_s``, ``model`` (volume model), ``aht_model``.
        models: Per queue: the chosen volume model, its backtest WAPE and MAPE, and the
            seasonal-naive baselines' WAPE.
        history_from: First local day of the history used.
        history_to: Last local day of the history used.
        start: First local day forecast.
        end: Last local day forecast (included).
        interval_s: Interval length.
    """

    rows: pd.DataFrame
    models: pd.DataFrame
    history_from: date
    history_to: date
    start: date
    end: date
    interval_s: int


def make_forecast(scope: Scope, queues: Sequence[str] | None, *, days: int,
                  interval_s: int = 1800, start: date | None = None,
                  history_days: int | None = None,
                  models: Sequence[str] = DEFAULT_MODELS) -> Forecast:
    """Forecast contacts and AHT per queue and interval for ``days`` calendar days.

    Args:
        scope: Warehouse, settings and tenant (the tenant's country gives public holidays,
            its configured closed days are left out of the forecast).
        queues: Queues to forecast (``None``: every queue with contacts).
        days: Calendar days to forecast, from ``start``.
        interval_s: Interval length: 900, 1800 or 3600 seconds.
        start: First day to forecast; the history is every day before it. Default: the day
            after the last day with contacts.
        history_days: Calendar days of history to read before ``start`` (default: all).
        models: Candidate models (see :data:`contactkpi.wfm.forecast.MODELS`); with less
            than two weeks of history, the week-naive model alone.

    Raises:
        QueryError: bad ``days``, an unknown queue, or too little history.
    """
    if days < 1 or days > 366:
        raise QueryError(f"--days {days} is out of range", where="--days",
                         hint="forecast 1 to 366 days, e.g. --days 14")
    hist_end = start.isoformat() if start else None
    hist_start = ((start - timedelta(days=history_days)).isoformat()
                  if start and history_days else None)
    queues = check_queues(scope, queues, start=hist_start, end=hist_end)
    hist = history(scope, queues, interval_s=interval_s, start=hist_start, end=hist_end)
    if hist.empty:
        raise QueryError("no history to forecast from", where="--queue",
                         hint="load contacts first, or move --start later")
    if start is None and history_days:
        first = hist["ds"].max().normalize() - pd.Timedelta(days=history_days - 1)
        hist = hist[hist["ds"] >= first]
    hist_days = sorted({d.date() for d in hist["ds"].dt.normalize().unique()})
    span = (hist_days[-1] - hist_days[0]).days + 1
    weekdays = {d.weekday() for d in hist_days}
    per_week = len(weekdays)
    if span < MIN_HISTORY_DAYS or len(hist_days) < per_week:
        raise QueryError(f"only {span} day(s) of history; a forecast needs at least a week",
                         where="--queue",
                         hint="load more history (a few weeks give a much better forecast)")
    if len(hist_days) < 2 * per_week:
        models = ("seasonal_naive_week",)
    first_day = start or hist_days[-1] + timedelta(days=1)
    last_day = first_day + timedelta(days=days - 1)
    ahead = [hist_days[-1] + timedelta(days=i)
             for i in range(1, (last_day - hist_days[-1]).days + 1)]
    horizon = sum(d.weekday() in weekdays for d in ahead)
    if horizon == 0:
        raise QueryError("the centre was never open on the days asked for", where="--days",
                         hint="forecast more days")
    backtest_days = max(1, min(horizon, per_week, len(hist_days) // 2))
    tenant = scope.tenant_config
    both = _forecast_both(hist, horizon=horizon, backtest_days=backtest_days,
                          interval_s=interval_s, country=tenant.country, models=models)
    rows, scores = both
    rows = rows[(rows["ds"].dt.date >= first_day) & (rows["ds"].dt.date <= last_day)]
    rows = rows[~rows["ds"].dt.date.isin(tenant.holidays)]
    rows = rows.rename(columns={"unique_id": "queue"}).reset_index(drop=True)
    rows["interval_start"] = _aware(rows["ds"], scope.zone)
    rows = rows[["queue", "ds", "interval_start", "volume", "aht_s", "model", "aht_model"]]
    return Forecast(rows=rows, models=scores, history_from=hist_days[0],
                    history_to=hist_days[-1], start=first_day, end=last_day,
                    interval_s=interval_s)


def _forecast_both(hist: pd.DataFrame, *, horizon: int, backtest_days: int, interval_s: int,
                   country: str | None, models: Sequence[str]
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Volume and AHT forecasts (each with its own backtest) and the volume model table."""
    kwargs: dict[str, Any] = {"horizon_days": horizon, "backtest_horizon_days": backtest_days,
                              "interval_s": interval_s, "models": models}
    try:
        with warnings.catch_warnings():
            # Short histories: statsforecast warns that the weekly models lack a season; they
            # then forecast NaN, score no WAPE and are not chosen.
            warnings.filterwarnings("ignore", category=UserWarning, module="statsforecast")
            vol = forecast(hist.rename(columns={"volume": "y"})[["unique_id", "ds", "y"]],
                           country=country, **kwargs)
            aht_hist = hist.rename(columns={"aht_s": "y"})[["unique_id", "ds", "y"]]
            aht = forecast(aht_hist, **kwargs)
    except ValueError as exc:
        raise QueryError(f"cannot forecast from this history: {exc}", where="--queue",
                         hint="load more history or forecast fewer --days") from None
    v = vol.forecast.rename(columns={"y_hat": "volume"})
    a = aht.forecast.rename(columns={"y_hat": "aht_s", "model": "aht_model"})
    rows = v.merge(a, on=["unique_id", "ds"], how="left")
    scores = vol.scores
    table = []
    for uid, model in sorted(vol.chosen.items()):
        mine = scores[scores["unique_id"].astype(str) == uid].set_index("model") \
            if not scores.empty else pd.DataFrame()

        def score(name: str, col: str, mine: pd.DataFrame = mine) -> float:
            if name in mine.index:
                return float(mine.loc[name, col])
            return float("nan")

        table.append({"queue": uid, "model": model, "backtest_wape": score(model, "wape"),
                      "backtest_mape": score(model, "mape"),
                      "seasonal_naive_day_wape": score("seasonal_naive_day", "wape"),
                      "seasonal_naive_week_wape": score("seasonal_naive_week", "wape"),
                      "aht_model": aht.chosen.get(uid),
                      "holiday_factor": vol.holiday_factor.get(uid)})
    return rows, pd.DataFrame(table)


def _aware(ds: pd.Series, zone: str) -> pd.Series:
    """Naive local wall-clock times as aware local times (first of two on the autumn change;
    a spring time that does not exist becomes NaT)."""
    idx = pd.DatetimeIndex(ds)
    aware = idx.tz_localize(zone, ambiguous=np.ones(len(idx), dtype=bool), nonexistent="NaT")
    return pd.Series(aware, index=ds.index)


# --------------------------------------------------------------------------- accuracy


@dataclass(frozen=True)
class AccuracyReport:
    """Accuracy of stored forecasts against the contacts offered.

    Attributes:
        summary: One row per queue: the run (``model``, ``created_at``, ``interval_s``) and
            ``intervals, wape, mape, mape_skipped, bias, within_5, within_10, missing`` with
            their ``day_*`` twins (see :mod:`contactkpi.wfm.accuracy`).
        intervals: ``queue, period_start, forecast, actual`` per interval compared.
        runs: The runs used.
        actuals_until: Last local day with contacts; later intervals are not compared.
    """

    summary: pd.DataFrame
    intervals: pd.DataFrame
    runs: list[ForecastRun] = field(default_factory=list)
    actuals_until: date | None = None


def stored_accuracy(scope: Scope, queues: Sequence[str] | None, *, start: date,
                    end: date, model: str | None = None) -> AccuracyReport:
    """Accuracy of the stored forecast of each queue over the local days ``start..end``.

    Which intervals count: those of the days the run covers, up to the last day with
    contacts. There, an interval the run has no row for counts as a forecast of 0, and an
    interval without contacts as an actual of 0.

    Raises:
        QueryError: ``end`` before ``start``, an unknown queue, or no stored forecast.
    """
    if end < start:
        raise QueryError(f"--from {start} is after --to {end}", where="--to",
                         hint="--to is the last day included; give a day on or after --from")
    lo, hi = start.isoformat(), (end + timedelta(days=1)).isoformat()
    runs_all = list_runs(scope, queues, start=lo, end=hi)
    if queues:
        check_queues(scope, queues, also=[r.queue for r in runs_all])
    wanted = sorted({r.queue for r in runs_all}) if not queues else list(queues)
    begin = to_utc(lo, scope.zone)
    chosen = [r for q in wanted if (r := choose_run(runs_all, q, before=begin, model=model))]
    if not chosen:
        what = f" of model {model!r}" if model else ""
        raise QueryError(f"no stored forecast{what} covers {start}..{end}"
                         + (f" for {', '.join(wanted)}" if wanted else ""),
                         where="--model" if model and runs_all else "--from",
                         hint="save one with `contactkpi forecast --queue Q --save`"
                         + (f"; stored models here: {sorted({r.model for r in runs_all})}"
                            if runs_all else ""))
    until = last_contact_day(scope, start=lo, end=hi)
    if until is None:
        raise QueryError(f"no contacts offered between {start} and {end}: nothing to compare "
                         "the forecast with yet", where="--from",
                         hint="choose days that have already happened and are loaded")
    parts, rows = [], []
    for run in chosen:
        fc = read_run(scope, run, interval_s=run.interval_s, start=lo, end=hi)
        act = intervals(scope, ["offered"], interval_s=run.interval_s, start=lo, end=hi,
                        queues=[run.queue])
        both = fc.merge(act, on=["queue", "period_start"], how="outer")
        covered = set(fc["period_start"].dt.date)
        day = both["period_start"].dt.date
        both = both[day.isin(covered) & (day <= until)]
        both = both.assign(forecast=both["forecast_volume"].fillna(0.0),
                           actual=both["offered"].fillna(0).astype(float))
        both = both[["queue", "period_start", "forecast", "actual"]].sort_values(
            "period_start")
        parts.append(both)
        table = accuracy_table(both, by=["queue"], ds="period_start")
        table.insert(1, "model", run.model)
        table.insert(2, "created_at", run.created_at.isoformat())
        table.insert(3, "interval_s", run.interval_s)
        rows.append(table)
    summary = pd.concat(rows, ignore_index=True)
    return AccuracyReport(summary=summary,
                          intervals=pd.concat(parts, ignore_index=True),
                          runs=chosen, actuals_until=until)
