"""Forecast contacts (or handle time) per queue and interval, choosing the model by backtest.

Input is statsforecast's long format: one row per series and interval, ``unique_id``
(the queue), ``ds`` and ``y``. ``ds`` is either

- a local wall-clock timestamp (naive, the center's time zone) of each **open** interval; or
- an integer position (1, 2, 3, ...) of each open interval when dates are unknown, as in the
  bank-calls data set (then give ``intervals_per_day``).

Seasonality. A contact center's series only covers its open hours, so the series is
"intervals per open day": the daily season is the number of open intervals per day and the
weekly season that times the open days per week (a center open 07:00-21:00 on weekdays has,
at 30 minutes, seasons 28 and 140). With timestamps both are read from the data.

Public holidays (``holidays`` package, per tenant country) are handled by *adjustment*, not as
an exogenous regressor:

1. The history is laid on a regular calendar of open weekdays. Days missing from it
   (the center was closed, or no data) and public holidays are replaced by the same
   intervals one week earlier (later at the very start), so weekly positions stay aligned and a
   holiday does not distort the seasonal profile.
2. A holiday the center was open on gives a *holiday factor*: its actual volume over its
   replacement. Future public holidays are multiplied by the median factor of the series (1
   when it has none); when the history shows the center closed on its holidays, future holidays
   are left out of the forecast.

Why not a regressor: the fast, well-performing candidates (seasonal averages, MSTL, ETS) take
no exogenous variables in statsforecast, and with about ten holidays a year a coefficient per
interval would be estimated from almost nothing; one multiplicative factor per queue is robust.

Models. Candidates are statsforecast models named in :data:`MODELS`, and equal-weight
combinations of two of them (:data:`COMBINATIONS`); the two seasonal-naive models are the
baselines. :func:`forecast` runs a rolling-origin backtest (statsforecast
``cross_validation``) and keeps, per series, the candidate with the lowest WAPE. On the bank
data (bench/wfm/README.md) the 4-week seasonal average and its combinations win; MSTL is
available but costs about 1-3 s per series and fit and did no better there, so it is not in
:data:`DEFAULT_MODELS`.

Examples:
    >>> import numpy as np
    >>> days, per_day = 30, 4
    >>> y = np.tile([10.0, 20.0, 30.0, 20.0], days) * np.repeat(
    ...     np.tile([1.2, 1.0, 1.0, 1.0, 0.9], days // 5), per_day)
    >>> hist = pd.DataFrame({"unique_id": "q1", "ds": np.arange(1, y.size + 1), "y": y})
    >>> out = forecast(hist, horizon_days=1, intervals_per_day=per_day, n_windows=2)
    >>> out.forecast.y_hat.round(1).tolist()  # next day is the week's first day
    [12.0, 24.0, 36.0, 24.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from contactkpi.wfm.accuracy import accuracy

__all__ = [
    "BASELINES",
    "COMBINATIONS",
    "DEFAULT_MODELS",
    "MODELS",
    "Calendar",
    "ForecastResult",
    "backtest",
    "backtest_scores",
    "build_models",
    "forecast",
    "forecast_volume_and_aht",
    "regularise",
]


def _models() -> dict[str, Callable[[int, int], Any]]:
    from statsforecast.models import MSTL, AutoETS, SeasonalNaive, SeasonalWindowAverage

    return {
        "seasonal_naive_day": lambda d, w: SeasonalNaive(season_length=d),
        "seasonal_naive_week": lambda d, w: SeasonalNaive(season_length=w),
        "weekly_average_4": lambda d, w: SeasonalWindowAverage(season_length=w, window_size=4),
        "weekly_average_8": lambda d, w: SeasonalWindowAverage(season_length=w, window_size=8),
        "daily_average_10": lambda d, w: SeasonalWindowAverage(season_length=d, window_size=10),
        "mstl_ets": lambda d, w: MSTL(season_length=[d, w],
                                      trend_forecaster=AutoETS(model="ZZN")),
    }


#: Every model name :func:`forecast` accepts, with what it is.
MODELS: dict[str, str] = {
    "seasonal_naive_day": "same interval on the previous open day (baseline)",
    "seasonal_naive_week": "same interval one week earlier (baseline)",
    "weekly_average_4": "mean of the same interval over the last 4 weeks",
    "weekly_average_8": "mean of the same interval over the last 8 weeks",
    "daily_average_10": "mean of the same interval over the last 10 open days",
    "mstl_ets": "MSTL (daily + weekly seasons), AutoETS on the seasonally adjusted series",
    "combo_week4_day10": "mean of weekly_average_4 and daily_average_10",
    "combo_week4_naive_week": "mean of weekly_average_4 and seasonal_naive_week",
}
#: Combinations: equal-weight means of two models' forecasts (Bates and Granger 1969, "The
#: combination of forecasts"). A weekly mean reacts slowly to a change of level, the last
#: days or last week react fast; their mean hedges between the two.
COMBINATIONS: dict[str, tuple[str, str]] = {
    "combo_week4_day10": ("weekly_average_4", "daily_average_10"),
    "combo_week4_naive_week": ("weekly_average_4", "seasonal_naive_week"),
}
#: The seasonal-naive baselines every candidate is compared against.
BASELINES = ("seasonal_naive_day", "seasonal_naive_week")
#: Candidates used when none are named.
DEFAULT_MODELS = (*BASELINES, "weekly_average_4", "weekly_average_8", "daily_average_10",
                  *COMBINATIONS)


def _base_models(names: Sequence[str]) -> list[str]:
    """The statsforecast models ``names`` need (combinations expand to their parts)."""
    out: list[str] = []
    for name in names:
        for part in COMBINATIONS.get(name, (name,)):
            if part not in out:
                out.append(part)
    return out


def _add_combinations(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    for name in names:
        if name in COMBINATIONS:
            a, b = COMBINATIONS[name]
            frame[name] = (frame[a] + frame[b]) / 2.0
    return frame


def build_models(names: Sequence[str], intervals_per_day: int, days_per_week: int) -> list[Any]:
    """statsforecast model objects for ``names`` (aliases = names; combinations expanded)."""
    factories = _models()
    unknown = [n for n in names if n not in factories and n not in COMBINATIONS]
    if unknown:
        raise ValueError(f"unknown forecast model(s) {unknown}; known: "
                         f"{sorted([*factories, *COMBINATIONS])}")
    weekly = intervals_per_day * days_per_week
    out = []
    for name in _base_models(names):
        model = factories[name](intervals_per_day, weekly)
        model.alias = name
        out.append(model)
    return out


# --------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class Calendar:
    """How positions of a regular open-interval series map to local timestamps.

    Attributes:
        first_slot: Start of the first open interval of a day (offset from midnight).
        interval_s: Interval length in seconds.
        intervals_per_day: Open intervals per open day.
        weekdays: Open weekdays (0 = Monday).
        days: The history's days, in order (one per block of ``intervals_per_day``).
        country: Country code for public holidays, or ``None``.
        closed_on_holidays: Series that had no data on any public holiday of the history
            (closed then); their future holidays are left out of the forecast.
    """

    first_slot: pd.Timedelta
    interval_s: int
    intervals_per_day: int
    weekdays: tuple[int, ...]
    days: tuple[date, ...]
    country: str | None = None
    closed_on_holidays: frozenset[str] = frozenset()

    @property
    def days_per_week(self) -> int:
        return len(self.weekdays)

    def future_days(self, count: int) -> list[date]:
        """The next ``count`` open weekdays after the history (holidays included)."""
        out: list[date] = []
        d = self.days[-1]
        while len(out) < count:
            d = d + timedelta(days=1)
            if d.weekday() in self.weekdays:
                out.append(d)
        return out

    def timestamps(self, days: Sequence[date]) -> pd.DatetimeIndex:
        """Interval starts of ``days``, ``intervals_per_day`` per day."""
        base = pd.to_datetime(pd.Series(list(days))).to_numpy().repeat(self.intervals_per_day)
        offs = self.first_slot + pd.to_timedelta(
            np.tile(np.arange(self.intervals_per_day) * self.interval_s, len(days)), unit="s")
        return pd.DatetimeIndex(base + offs.to_numpy())


def _holiday_dates(country: str | None, years: Sequence[int]) -> set[date]:
    if not country:
        return set()
    import holidays

    try:
        return set(holidays.country_holidays(country, years=sorted(set(years))).keys())
    except NotImplementedError as exc:
        raise ValueError(f"the holidays package has no calendar for country {country!r}") from exc


def regularise(
    history: pd.DataFrame,
    *,
    intervals_per_day: int | None = None,
    interval_s: int | None = None,
    country: str | None = None,
) -> tuple[pd.DataFrame, Calendar | None, dict[str, float]]:
    """Lay the history on a regular grid of open intervals (see the module docstring).

    Args:
        history: ``unique_id, ds, y``; ``ds`` local timestamps or integer positions.
        intervals_per_day: Needed with integer ``ds``; read from the data with timestamps.
        interval_s: Interval length; read from the data with timestamps when not given.
        country: Public holidays of this country (ISO code) are replaced and get a factor.

    Returns:
        ``(frame, calendar, holiday_factor)``: the frame has integer ``ds`` from 1 per series
        and no missing ``y``; the calendar is ``None`` for integer ``ds``; the factor maps each
        series to its median holiday factor (only series with an open holiday in history).
    """
    _check_columns(history)
    frame = history[["unique_id", "ds", "y"]].copy()
    frame["y"] = pd.to_numeric(frame["y"], errors="coerce").astype(float)
    if not pd.api.types.is_datetime64_any_dtype(frame["ds"]):
        if intervals_per_day is None:
            raise ValueError("integer ds needs intervals_per_day")
        frame = frame.sort_values(["unique_id", "ds"], kind="stable")
        frame["ds"] = frame.groupby("unique_id").cumcount() + 1
        frame["y"] = frame.groupby("unique_id")["y"].transform(
            lambda s: _fill_by_season(s.to_numpy(), intervals_per_day, 1))
        return frame.reset_index(drop=True), None, {}

    ds = frame["ds"]
    if ds.dt.tz is not None:
        raise ValueError("ds must be local wall-clock time without a time zone; convert it "
                         "with .dt.tz_convert(zone).dt.tz_localize(None)")
    tod = ds - ds.dt.normalize()
    if interval_s is None:
        steps = np.diff(np.unique(tod.dt.total_seconds().to_numpy()))
        if steps.size == 0:
            raise ValueError("cannot read the interval length from one interval a day; "
                             "give interval_s")
        interval_s = int(steps.min())
    first_slot = tod.min()
    slot = ((tod - first_slot).dt.total_seconds() // interval_s).astype(int)
    per_day = int(slot.max()) + 1
    if intervals_per_day is not None and intervals_per_day != per_day:
        raise ValueError(f"the data has {per_day} intervals per day, not {intervals_per_day}")
    frame["day"] = ds.dt.date
    frame["slot"] = slot
    weekdays = tuple(sorted({d.weekday() for d in frame["day"].unique()}))
    first, last = frame["day"].min(), frame["day"].max()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    days = [d for d in days if d.weekday() in weekdays]
    hol = _holiday_dates(country, [d.year for d in days])
    hol_in_history = [d for d in days if d in hol]
    grid = pd.MultiIndex.from_product(
        [sorted(frame["unique_id"].unique()), range(len(days)), range(per_day)],
        names=["unique_id", "day_no", "slot"])
    day_no = {d: i for i, d in enumerate(days)}
    frame["day_no"] = frame["day"].map(day_no)
    y = frame.groupby(["unique_id", "day_no", "slot"])["y"].sum(min_count=1).reindex(grid)
    out_frames = []
    factors: dict[str, float] = {}
    closed: set[str] = set()
    is_hol_day = np.array([d in hol for d in days])
    for uid, part in y.groupby(level="unique_id", sort=True):
        values = part.to_numpy(dtype=float).reshape(len(days), per_day)
        raw = values.copy()
        if hol_in_history and np.isnan(raw[is_hol_day]).all():
            closed.add(str(uid))
        values[is_hol_day, :] = np.nan
        filled = _fill_by_season(values.ravel(), per_day, len(weekdays)).reshape(values.shape)
        ratios = [
            raw[i].sum() / filled[i].sum()
            for i in np.flatnonzero(is_hol_day)
            if np.isfinite(raw[i]).all() and filled[i].sum() > 0
        ]
        if ratios:
            factors[str(uid)] = float(np.clip(np.median(ratios), 0.0, 2.0))
        out_frames.append(pd.DataFrame({"unique_id": uid, "ds": np.arange(1, filled.size + 1),
                                        "y": filled.ravel()}))
    calendar = Calendar(first_slot=first_slot, interval_s=int(interval_s),
                        intervals_per_day=per_day, weekdays=weekdays, days=tuple(days),
                        country=country, closed_on_holidays=frozenset(closed))
    return pd.concat(out_frames, ignore_index=True), calendar, factors


def _fill_by_season(values: np.ndarray, per_day: int, days_per_week: int) -> np.ndarray:
    """Fill NaN with the value one week earlier (else later, else the series median)."""
    out = np.asarray(values, dtype=float).copy()
    if not np.isnan(out).any():
        return out
    week = per_day * days_per_week
    for _ in range(2):
        for shift in (week, -week, per_day, -per_day):
            gaps = np.flatnonzero(np.isnan(out))
            src = gaps - shift
            ok = (src >= 0) & (src < out.size)
            out[gaps[ok]] = out[src[ok]]
    med = np.nanmedian(out) if np.isfinite(out).any() else 0.0
    out[np.isnan(out)] = med
    return out


def _check_columns(history: pd.DataFrame) -> None:
    missing = {"unique_id", "ds", "y"} - set(history.columns)
    if missing:
        raise ValueError(f"history needs columns unique_id, ds, y; missing {sorted(missing)}")
    if history.empty:
        raise ValueError("history is empty")


# --------------------------------------------------------------------------- backtest


def backtest(
    frame: pd.DataFrame,
    *,
    models: Sequence[str],
    intervals_per_day: int,
    days_per_week: int,
    horizon: int,
    n_windows: int,
    step: int | None = None,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Rolling-origin backtest on a regular frame (integer ``ds``) with statsforecast.

    Returns statsforecast's ``cross_validation`` frame: ``unique_id, ds, cutoff, y`` and one
    column per model. Origins are ``step`` intervals apart (default ``horizon``), the last one
    ``horizon`` intervals before the end.
    """
    from statsforecast import StatsForecast

    sf = StatsForecast(models=build_models(models, intervals_per_day, days_per_week), freq=1,
                       n_jobs=n_jobs)
    cv = sf.cross_validation(df=frame, h=horizon, n_windows=n_windows,
                             step_size=step or horizon)
    cv = cv.reset_index() if "unique_id" not in cv.columns else cv
    return _add_combinations(cv, models)


def backtest_scores(cv: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """WAPE, MAPE and bias per series and model from a :func:`backtest` frame.

    Examples:
        >>> cv = pd.DataFrame({"unique_id": "q", "y": [10.0, 20.0], "a": [11.0, 18.0],
        ...                    "b": [10.0, 22.0]})
        >>> backtest_scores(cv, ["a", "b"])[["model", "wape"]].round(3).values.tolist()
        [['a', 0.1], ['b', 0.067]]
    """
    rows = []
    for uid, part in cv.groupby("unique_id", sort=True):
        for m in models:
            acc = accuracy(part[m], part["y"])
            # A model that could not forecast every window (too little history for it) is
            # not comparable with the others: it gets no score and cannot be chosen.
            usable = part[m].notna().all()
            rows.append({"unique_id": uid, "model": m,
                         "wape": acc.wape if usable else np.nan,
                         "mape": acc.mape if usable else np.nan,
                         "bias": acc.bias if usable else np.nan, "intervals": acc.intervals})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- forecast


@dataclass(frozen=True)
class ForecastResult:
    """What :func:`forecast` returns.

    Attributes:
        forecast: ``unique_id, ds, y_hat, model``; ``ds`` local timestamps when the history
            had them (future holidays the center closes on are left out), else positions
            continuing the history's.
        scores: Backtest ``unique_id, model, wape, mape, bias, intervals`` for every candidate.
        chosen: Series -> chosen model name.
        holiday_factor: Series -> factor applied to future public holidays.
    """

    forecast: pd.DataFrame
    scores: pd.DataFrame
    chosen: dict[str, str]
    holiday_factor: dict[str, float]


def forecast(
    history: pd.DataFrame,
    *,
    horizon_days: int,
    intervals_per_day: int | None = None,
    days_per_week: int | None = None,
    interval_s: int | None = None,
    country: str | None = None,
    models: Sequence[str] = DEFAULT_MODELS,
    n_windows: int = 4,
    backtest_horizon_days: int | None = None,
    n_jobs: int = 1,
) -> ForecastResult:
    """Forecast ``horizon_days`` open days per series, choosing each series' model by backtest.

    Args:
        history: Long frame ``unique_id, ds, y`` (see the module docstring for ``ds``).
        horizon_days: Open days to forecast.
        intervals_per_day: Open intervals per day (needed with integer ``ds``).
        days_per_week: Open days per week (integer ``ds``; default 5).
        interval_s: Interval length (timestamps; read from the data when not given).
        country: Country code for public holidays (timestamps only).
        models: Candidate model names from :data:`MODELS`.
        n_windows: Backtest origins.
        backtest_horizon_days: Days ahead judged by the backtest (default ``horizon_days``).
        n_jobs: Processes statsforecast may use.

    Returns:
        A :class:`ForecastResult`; negative forecasts are clipped to 0.
    """
    if horizon_days < 1:
        raise ValueError("horizon_days must be >= 1")
    if not models:
        raise ValueError("give at least one model")
    frame, calendar, factors = regularise(history, intervals_per_day=intervals_per_day,
                                          interval_s=interval_s, country=country)
    if calendar is not None:
        per_day, per_week = calendar.intervals_per_day, calendar.days_per_week
    else:
        per_day, per_week = int(intervals_per_day or 0), int(days_per_week or 5)
    h = horizon_days * per_day
    bt_h = (backtest_horizon_days or horizon_days) * per_day
    shortest = int(frame.groupby("unique_id").size().min())
    windows = max(1, min(n_windows, (shortest - 2 * per_day * per_week) // bt_h))
    models = list(dict.fromkeys(models))
    if len(models) > 1:
        cv = backtest(frame, models=models, intervals_per_day=per_day, days_per_week=per_week,
                      horizon=bt_h, n_windows=windows, n_jobs=n_jobs)
        scores = backtest_scores(cv, models)
        best = scores.sort_values(["unique_id", "wape"], kind="stable").groupby("unique_id")
        chosen = {str(k): str(v) for k, v in best["model"].first().items()}
    else:
        scores = pd.DataFrame(columns=["unique_id", "model", "wape", "mape", "bias",
                                       "intervals"])
        chosen = {str(u): models[0] for u in frame["unique_id"].unique()}

    from statsforecast import StatsForecast

    needed = sorted(set(chosen.values()), key=models.index)
    sf = StatsForecast(models=build_models(needed, per_day, per_week), freq=1, n_jobs=n_jobs)
    fc = sf.forecast(df=frame, h=h)
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    fc = _add_combinations(fc, needed)
    fc["model"] = fc["unique_id"].astype(str).map(chosen)
    picked = np.choose(fc["model"].map(needed.index).to_numpy(),
                       [fc[m].to_numpy() for m in needed]) if len(needed) > 1 else fc[needed[0]]
    out = pd.DataFrame({"unique_id": fc["unique_id"], "ds": fc["ds"],
                        "y_hat": np.clip(np.asarray(picked, dtype=float), 0.0, None),
                        "model": fc["model"]})
    if calendar is not None:
        out = _to_calendar(out, calendar, factors, horizon_days)
    return ForecastResult(forecast=out.reset_index(drop=True), scores=scores, chosen=chosen,
                          holiday_factor=factors)


def _to_calendar(out: pd.DataFrame, cal: Calendar, factors: dict[str, float],
                 horizon_days: int) -> pd.DataFrame:
    days = cal.future_days(horizon_days)
    stamps = cal.timestamps(days)
    hol = _holiday_dates(cal.country, [d.year for d in days])
    parts = []
    for uid, part in out.groupby("unique_id", sort=True):
        part = part.sort_values("ds").copy()
        part["ds"] = stamps
        on_holiday = part["ds"].dt.date.isin(hol).to_numpy()
        if str(uid) in cal.closed_on_holidays:
            part = part[~on_holiday]
        else:
            part.loc[on_holiday, "y_hat"] *= factors.get(str(uid), 1.0)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def forecast_volume_and_aht(
    history: pd.DataFrame, *, horizon_days: int, **kwargs: Any
) -> pd.DataFrame:
    """Forecast ``volume`` and ``aht_s`` per series and interval from one history frame.

    ``history`` has ``unique_id, ds, volume, aht_s`` (``aht_s`` may be NaN where no contact
    was handled; it is filled like a missing interval). Keyword arguments go to
    :func:`forecast`. Returns ``unique_id, ds, volume, aht_s, volume_model, aht_model``.
    """
    vol = forecast(history.rename(columns={"volume": "y"})[["unique_id", "ds", "y"]],
                   horizon_days=horizon_days, **kwargs)
    aht = forecast(history.rename(columns={"aht_s": "y"})[["unique_id", "ds", "y"]],
                   horizon_days=horizon_days, **{k: v for k, v in kwargs.items()
                                                 if k != "country"})
    v = vol.forecast.rename(columns={"y_hat": "volume", "model": "volume_model"})
    a = aht.forecast.rename(columns={"y_hat": "aht_s", "model": "aht_model"})
    return v.merge(a, on=["unique_id", "ds"], how="left")
