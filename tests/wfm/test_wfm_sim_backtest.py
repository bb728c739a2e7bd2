"""A small forecasting backtest on simulator data, read through the KPI engine.

Ten simulated weeks of one London queue (surges included). At four weekly origins the
forecast of the next week (6 open days) is made from the days before it only, as
``contactkpi forecast`` does; the backtest-chosen model must beat both seasonal-naive
baselines on WAPE over those four weeks (bench/wfm/README.md has the long version).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from contactkpi.config import Settings
from contactkpi.simulate import simulate
from contactkpi.simulate.config import QaSim, QueueSim, SimConfig, SurveySim, TenantSim
from contactkpi.store import Warehouse, load_frames
from contactkpi.wfm.accuracy import accuracy
from contactkpi.wfm.forecast import forecast
from contactkpi.wfm.history import Scope, history

SIM = SimConfig(start=date(2026, 1, 5), days=70, seed=9, tenants=(TenantSim(
    name="acme", timezone="Europe/London", country="GB",
    opening_hours={"mon-fri": "08:00-20:00", "sat": "09:00-13:00"},
    queues=(QueueSim(name="sales", daily_volume=900),), surveys=SurveySim(rate=0.0),
    qa=QaSim(per_agent_week=0.0, mystery_per_week=0.0, calibration_per_week=0.0)),))


@pytest.fixture(scope="module")
def hist() -> pd.DataFrame:
    wh = Warehouse.memory()
    load_frames(wh, {"contacts": simulate(SIM).tables["contacts"]}, tenant="acme")
    scope = Scope.resolve(wh, Settings(tenants=SIM.settings_tenants(), default_tenant="acme"))
    return history(scope, ["sales"], interval_s=1800)


def test_history_covers_the_open_days(hist):
    days = hist["ds"].dt.normalize().drop_duplicates()
    assert len(days) == 60  # 10 weeks x 6 open days; Sundays have no contacts
    assert set(days.dt.weekday) == {0, 1, 2, 3, 4, 5}
    assert hist["volume"].sum() > 50_000


def test_chosen_forecast_beats_seasonal_naive_next_week(hist):
    parts = []
    for origin in ("2026-02-16", "2026-02-23", "2026-03-02", "2026-03-09"):
        past = hist[hist["ds"] < pd.Timestamp(origin)].rename(columns={"volume": "y"})
        week = hist[(hist["ds"] >= pd.Timestamp(origin))
                    & (hist["ds"] < pd.Timestamp(origin) + pd.Timedelta(days=7))]
        row = week[["unique_id", "ds", "volume"]]
        for name, models in (("chosen", None), ("day", ["seasonal_naive_day"]),
                             ("week", ["seasonal_naive_week"])):
            res = forecast(past[["unique_id", "ds", "y"]], horizon_days=6, interval_s=1800,
                           country="GB", **({} if models is None else {"models": models}))
            row = row.merge(res.forecast.rename(columns={"y_hat": name})
                            [["unique_id", "ds", name]], on=["unique_id", "ds"], how="left")
        parts.append(row)
    frame = pd.concat(parts, ignore_index=True)
    assert frame[["chosen", "day", "week"]].notna().all().all()
    wape = {k: accuracy(frame[k], frame["volume"]).wape for k in ("chosen", "day", "week")}
    # Measured 2026-11-25: chosen 0.171, week-naive 0.199, day-naive 0.641 (Monday's
    # "previous day" is the short Saturday).
    assert wape["chosen"] < wape["week"] < wape["day"]
