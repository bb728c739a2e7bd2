"""Staffing plan: required vs staffed, the SL reached, and the reason a target was missed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from contactkpi.errors import QueryError
from contactkpi.wfm.erlang import erlang_c_service_level, required_agents
from contactkpi.wfm.staffing import MISS_REASONS, StaffingTarget, staffing_plan

TARGET = StaffingTarget(service_level=0.80, threshold_s=20, shrinkage=0.30)


def plan(**columns) -> pd.DataFrame:
    base = {"queue": "sales", "aht_s": 180.0, "interval_s": 1800}
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({**{k: [v] * n for k, v in base.items()}, **columns})
    return staffing_plan(frame, TARGET)


def test_worked_example_row():
    p = plan(volume=[100.0])
    row = p.iloc[0]
    assert row["traffic_erlangs"] == 10.0
    assert row["agents_required"] == 14 and row["agents_scheduled"] == 20
    assert round(row["service_level_required"], 3) == 0.888
    assert round(row["occupancy_required"], 3) == 0.714
    assert round(row["wait_probability_required"], 3) == 0.174
    assert "gap" not in p.columns  # no staffing given, nothing to compare


def test_miss_reasons():
    # Forecast 100 calls -> 14 agents needed by plan (120 calls would need 16).
    assert int(required_agents(12.0, 180, service_level=0.8, threshold_s=20)) == 16
    p = plan(
        volume=[100.0, 120.0, 120.0, 100.0, 100.0, 0.0],
        forecast_volume=[100.0, 100.0, 100.0, 100.0, 100.0, 10.0],
        staffed=[14.0, 14.0, 12.0, 12.0, 15.0, 0.0],
        service_level=[np.nan, np.nan, np.nan, np.nan, 0.70, np.nan],
    )
    # row 0: staffed to plan, volume as forecast -> met.
    # row 1: staffed to plan (14) but 120 calls came: volume above forecast.
    # row 2: 12 < 14 agents the forecast needed: understaffed (though volume was high too).
    # row 3: 12 < 14 with volume on forecast: understaffed.
    # row 4: 15 >= 14 and volume on forecast, yet the measured SL was 70%: not explained.
    # row 5: no calls: nothing missed.
    assert p["sl_met"].tolist() == [True, False, False, False, False, True]
    assert p["miss_reason"].tolist() == [None, "volume_above_forecast", "understaffed",
                                         "understaffed", "not_explained", None]
    assert p["gap"].tolist() == [0.0, -2.0, -4.0, -2.0, 1.0, 0.0]
    # 10 calls = 1 Erlang: 2 agents give 1 - (1/3) e^(-20/180) = 70.2%, so 3 are needed.
    assert p["agents_required_forecast"].tolist() == [14, 14, 14, 14, 14, 3]
    expected_sl = float(erlang_c_service_level(14, 12.0, 180, 20))
    assert p.loc[1, "service_level_staffed"] == pytest.approx(expected_sl)
    assert set(p["miss_reason"].dropna()) <= set(MISS_REASONS)


def test_without_forecast_a_miss_is_understaffing():
    p = plan(volume=[100.0, 100.0], staffed=[13.0, 14.0])
    assert p["sl_met"].tolist() == [False, True]
    assert p["miss_reason"].tolist() == ["understaffed", None]
    # 13 agents on 10 Erlangs: still stable, SL below 80%.
    assert 0 < p.loc[0, "service_level_staffed"] < 0.8


def test_patience_rows_use_erlang_a_and_others_erlang_c():
    frame = pd.DataFrame({"volume": [120.0, 120.0], "aht_s": [240.0, 240.0],
                          "interval_s": [1800, 1800], "patience_s": [90.0, np.nan],
                          "staffed": [15.0, 15.0]})
    p = staffing_plan(frame, StaffingTarget(0.8, 20))
    assert p.loc[0, "abandon_rate_required"] > 0
    assert p.loc[1, "abandon_rate_required"] == 0
    # Erlang A needs fewer agents here: abandons take load off the queue.
    assert p.loc[0, "agents_required"] < p.loc[1, "agents_required"]
    # 15 agents on 16 Erlangs: Erlang C unstable (SL 0), Erlang A still answers some in time.
    assert p.loc[1, "service_level_staffed"] == 0.0
    assert 0 < p.loc[0, "service_level_staffed"] < 0.8


def test_pass_through_columns_and_optional_targets():
    frame = pd.DataFrame({"queue": ["a", "b"], "interval_start_at": pd.to_datetime(
        ["2026-01-05 09:00", "2026-01-05 09:30"], utc=True), "volume": [100.0, 100.0],
        "aht_s": [180.0, 180.0], "interval_s": [1800, 1800]})
    p = staffing_plan(frame, StaffingTarget(0.8, 20, max_occupancy=0.6))
    assert p["queue"].tolist() == ["a", "b"]
    assert p["agents_required"].tolist() == [17, 17]


def test_bad_input_raises_query_errors():
    with pytest.raises(QueryError) as err:
        staffing_plan(pd.DataFrame({"volume": [1.0]}), TARGET)
    assert err.value.where == "staffing input"
    with pytest.raises(QueryError) as err:
        plan(volume=[10.0, -1.0])
    assert err.value.where == "staffing input.volume" and "rows [1]" in err.value.message
    with pytest.raises(QueryError) as err:
        StaffingTarget(service_level=80, threshold_s=20)
    assert err.value.where == "target.service_level" and "0.8" in err.value.hint
    with pytest.raises(QueryError) as err:
        StaffingTarget(shrinkage=1.0)
    assert err.value.where == "target.shrinkage"


def test_forecast_aht_keeps_longer_calls_apart_from_short_staffing():
    # 100 calls were forecast at 180 s (10 Erlangs -> 14 agents) and came, but took 216 s
    # (12 Erlangs -> 16 agents). 14 agents were staffed and the SL missed.
    base = {"volume": [100.0], "aht_s": [216.0], "interval_s": [1800],
            "forecast_volume": [100.0], "staffed": [14.0], "service_level": [0.7]}
    judged_at_actual_aht = staffing_plan(pd.DataFrame(base), TARGET)
    assert judged_at_actual_aht.loc[0, "agents_required_forecast"] == 16
    assert judged_at_actual_aht.loc[0, "miss_reason"] == "understaffed"
    with_plan_aht = staffing_plan(pd.DataFrame({**base, "forecast_aht_s": [180.0]}), TARGET)
    assert with_plan_aht.loc[0, "agents_required_forecast"] == 14
    assert with_plan_aht.loc[0, "agents_required"] == 16
    # The plan was staffed; the calls were longer than planned: not explained by staffing.
    assert with_plan_aht.loc[0, "miss_reason"] == "not_explained"
    with pytest.raises(QueryError) as err:
        staffing_plan(pd.DataFrame({**base, "forecast_aht_s": [0.0]}), TARGET)
    assert err.value.where == "staffing input.forecast_aht_s"
