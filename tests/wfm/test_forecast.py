"""Forecasting: calendar and holiday handling on hand-made series, and a short bank backtest."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contactkpi.wfm.accuracy import accuracy
from contactkpi.wfm.forecast import (
    BASELINES,
    DEFAULT_MODELS,
    MODELS,
    backtest_scores,
    forecast,
    forecast_volume_and_aht,
    regularise,
)

BANK = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "bank-calls-5min"
        / "calls_5min.derived.csv")

PROFILE = np.array([4.0, 8.0, 12.0, 6.0])  # four 2-hour intervals, 08:00-16:00
WEEKDAY = np.array([1.5, 1.0, 1.0, 1.0, 0.8])  # Monday peak, quiet Friday


def weekday_series(start: str, end: str, queue: str, holidays: dict[date, float | None]):
    """Noise-free volumes: PROFILE x WEEKDAY factor; a holiday is scaled or (None) closed."""
    rows = []
    for day in pd.bdate_range(start, end):
        factor = WEEKDAY[day.weekday()]
        if day.date() in holidays:
            if holidays[day.date()] is None:
                continue
            factor *= holidays[day.date()]
        for slot, base in enumerate(PROFILE):
            rows.append((queue, day + pd.Timedelta(hours=8 + 2 * slot), base * factor))
    return pd.DataFrame(rows, columns=["unique_id", "ds", "y"])


def test_model_names_are_documented():
    assert set(DEFAULT_MODELS) <= set(MODELS)
    assert set(BASELINES) <= set(DEFAULT_MODELS)


def test_holidays_closed_and_open_keep_the_week_aligned():
    # Germany, spring 2025: Good Friday 18 Apr, Easter Monday 21 Apr, 1 May (Thu),
    # Ascension 29 May (Thu), Whit Monday 9 Jun. Queue "closed" has no rows on holidays;
    # queue "open" takes half its normal volume on them.
    hol = [date(2025, 4, 18), date(2025, 4, 21), date(2025, 5, 1), date(2025, 5, 29)]
    closed = weekday_series("2025-03-03", "2025-06-06", "closed", dict.fromkeys(hol))
    opened = weekday_series("2025-03-03", "2025-06-06", "open", dict.fromkeys(hol, 0.5))
    history = pd.concat([closed, opened], ignore_index=True)

    result = forecast(history, horizon_days=5, country="DE", n_windows=2)
    assert result.holiday_factor == {"open": pytest.approx(0.5)}
    fc = result.forecast
    # Next week is 9-13 June; 9 June is Whit Monday.
    days = sorted(fc["ds"].dt.date.unique())
    assert days[0] == date(2025, 6, 9) and days[-1] == date(2025, 6, 13)
    by_day = fc.groupby(["unique_id", fc["ds"].dt.date])["y_hat"].sum()
    assert (date(2025, 6, 9) not in by_day.loc["closed"].index)  # closed on holidays
    # Monday peak on the holiday, halved, for the open queue: 30 x 1.5 x 0.5.
    assert by_day.loc[("open", date(2025, 6, 9))] == pytest.approx(22.5)
    # Tuesday .. Friday keep their own weekday level: 30, 30, 30, 24.
    for queue in ("closed", "open"):
        assert by_day.loc[queue].loc[date(2025, 6, 10):].tolist() == pytest.approx(
            [30.0, 30.0, 30.0, 24.0])
    # Intervals start at the history's times of day.
    tuesday = fc[(fc.unique_id == "open") & (fc.ds.dt.date == date(2025, 6, 10))]
    assert tuesday["ds"].dt.strftime("%H:%M").tolist() == ["08:00", "10:00", "12:00", "14:00"]
    assert tuesday["y_hat"].tolist() == pytest.approx(PROFILE.tolist())


def test_regularise_fills_missing_days_from_the_week_before():
    history = weekday_series("2025-03-03", "2025-03-21", "q", {date(2025, 3, 12): None})
    frame, calendar, _ = regularise(history)
    assert calendar is not None and calendar.intervals_per_day == 4
    assert calendar.weekdays == (0, 1, 2, 3, 4) and len(calendar.days) == 15
    wed = frame["y"].to_numpy().reshape(15, 4)[7]  # the missing Wednesday 12 March
    assert wed.tolist() == PROFILE.tolist()


def test_integer_positions_and_errors():
    y = np.tile(PROFILE, 30)
    y[5] = np.nan
    frame, calendar, factors = regularise(
        pd.DataFrame({"unique_id": "q", "ds": np.arange(1, 121), "y": y}), intervals_per_day=4)
    assert calendar is None and factors == {}
    assert frame["y"].iloc[5] == PROFILE[1]
    with pytest.raises(ValueError, match="intervals_per_day"):
        regularise(pd.DataFrame({"unique_id": "q", "ds": [1, 2], "y": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="missing"):
        forecast(pd.DataFrame({"ds": [1], "y": [1.0]}), horizon_days=1, intervals_per_day=1)
    with pytest.raises(ValueError, match="unknown forecast model"):
        forecast(pd.DataFrame({"unique_id": "q", "ds": np.arange(1, 121), "y": np.tile(
            PROFILE, 30)}), horizon_days=1, intervals_per_day=4, models=["prophet", "x"])
    tz = weekday_series("2025-03-03", "2025-03-07", "q", {})
    tz["ds"] = tz["ds"].dt.tz_localize("Europe/Berlin")
    with pytest.raises(ValueError, match="wall-clock"):
        regularise(tz)


def test_backtest_scores_disqualify_models_without_full_history():
    cv = pd.DataFrame({"unique_id": "q", "y": [10.0, 10.0], "good": [10.0, 11.0],
                       "short": [np.nan, 10.0]})
    scores = backtest_scores(cv, ["good", "short"]).set_index("model")
    assert scores.loc["good", "wape"] == pytest.approx(0.05)
    assert np.isnan(scores.loc["short", "wape"])


def _bank_30min() -> np.ndarray:
    if not BANK.exists():
        pytest.skip(f"bank-calls data not found at {BANK}")
    raw = pd.read_csv(BANK)
    raw = raw[raw["interval_index"] <= 168]  # drop 21:00-21:05 so days split evenly
    raw["slot"] = (raw["interval_index"] - 1) // 6
    return raw.groupby(["day_index", "slot"])["calls"].sum().sort_index().to_numpy(float)


@pytest.mark.parametrize(("horizon_days", "origins"), [(1, range(159, 164)),
                                                        (5, (149, 154, 159))])
def test_bank_calls_chosen_forecast_beats_seasonal_naive(horizon_days, origins):
    # Real arrivals (164 weekdays, 28 half hours a day). At each origin forecast() chooses
    # its model by backtest on the history before the origin only; the next day (week) is
    # then compared with the seasonal-naive forecasts made at the same origin.
    y = _bank_30min()
    per_day, h = 28, horizon_days * 28
    chosen, naive_day, naive_week, actual = [], [], [], []
    for origin in origins:
        hist = y[: origin * per_day]
        res = forecast(pd.DataFrame({"unique_id": "bank", "ds": np.arange(1, hist.size + 1),
                                     "y": hist}),
                       horizon_days=horizon_days, intervals_per_day=per_day, days_per_week=5,
                       n_windows=3)
        chosen.append(res.forecast["y_hat"].to_numpy())
        naive_day.append(np.tile(hist[-per_day:], horizon_days))
        naive_week.append(hist[-5 * per_day:][:h])
        actual.append(y[origin * per_day: origin * per_day + h])
    act = np.concatenate(actual)
    ours = accuracy(np.concatenate(chosen), act)
    for base in (np.concatenate(naive_day), np.concatenate(naive_week)):
        ref = accuracy(base, act)
        assert ours.wape < ref.wape
        assert ours.mape < ref.mape


def test_volume_and_aht_together():
    history = weekday_series("2025-03-03", "2025-04-25", "q", {}).rename(
        columns={"y": "volume"})
    history["aht_s"] = 300.0
    history.loc[history.index[::7], "aht_s"] = np.nan  # intervals without handled contacts
    out = forecast_volume_and_aht(history, horizon_days=2, n_windows=2)
    assert list(out.columns) == ["unique_id", "ds", "volume", "volume_model", "aht_s",
                                 "aht_model"]
    assert len(out) == 2 * len(PROFILE)
    assert out["aht_s"].tolist() == pytest.approx([300.0] * 8)
    # Monday 28 April then Tuesday.
    assert out["volume"].tolist() == pytest.approx((PROFILE * 1.5).tolist() + PROFILE.tolist())
