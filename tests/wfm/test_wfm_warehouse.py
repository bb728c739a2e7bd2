"""Planning from the warehouse: history, stored forecasts, accuracy and the plan, by hand.

The centre (tenant acme, Europe/Paris: UTC+1 in January) on Monday 2026-01-05, local time:

sales    09:00  c1 answered, wait 10, handle 100+0+20 = 120
                c2 answered, wait 30, handle 200+10+30 = 240
                c3 abandoned after 40 s
         09:30  c4 answered, wait 5, handle 150+0+30 = 180
         10:00  c6 answered, wait 30, handle 80+0+20 = 100
                c7 answered, wait 50, handle 120+0+20 = 140
support  09:00  c5 answered, wait 25, handle 300

So sales offered 3, 1, 2 with AHT 180, 180, 120 and service level (80/20, net of short
abandons) 1/3, 1, 0; support offered 1, AHT 300, SL 0. Sales patience = total wait / abandons
= (10 + 30 + 40 + 5 + 30 + 50) / 1 = 165 s; support has no abandons (no estimate: Erlang C).

Stored forecasts of sales (30-minute intervals): run m1 made 2026-01-01 with volume 4, 2, 1,
1 and AHT 150, 200, 100, 100 for 09:00 .. 10:30; run m2 made 2026-01-06 with 10 contacts in
each of those and in 11:00 (AHT 100), where m1 has no row.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactkpi.config import Settings, TargetSetting, Tenant
from contactkpi.errors import QueryError
from contactkpi.metrics import MetricQuery, MetricRequest, query
from contactkpi.store import Warehouse, load_frames
from contactkpi.wfm import erlang
from contactkpi.wfm.history import Scope, check_queues, history, patience_estimate
from contactkpi.wfm.plan import plan_range, target_from_settings
from contactkpi.wfm.runs import stored_accuracy
from contactkpi.wfm.stored import choose_run, list_runs, read_run, save_forecast

ZONE = "Europe/Paris"


def local(hhmm: str, day: str = "2026-01-05") -> pd.Timestamp:
    return pd.Timestamp(f"{day} {hhmm}", tz=ZONE)


def contacts() -> pd.DataFrame:
    rows = [  # id, queue, local arrival, outcome, wait, talk, hold, acw
        ("c1", "sales", "09:01", "answered", 10, 100, 0, 20),
        ("c2", "sales", "09:12", "answered", 30, 200, 10, 30),
        ("c3", "sales", "09:20", "abandoned", 40, None, None, None),
        ("c4", "sales", "09:40", "answered", 5, 150, 0, 30),
        ("c6", "sales", "10:05", "answered", 30, 80, 0, 20),
        ("c7", "sales", "10:10", "answered", 50, 120, 0, 20),
        ("c5", "support", "09:05", "answered", 25, 300, 0, 0),
    ]
    frame = pd.DataFrame(rows, columns=["contact_id", "queue", "t", "outcome", "wait_s",
                                        "talk_s", "hold_s", "acw_s"])
    frame["arrived_at"] = [local(t).tz_convert("UTC") for t in frame.pop("t")]
    return frame.assign(channel="voice", direction="inbound")


def forecasts() -> pd.DataFrame:
    starts = [local(t).tz_convert("UTC") for t in ("09:00", "09:30", "10:00", "10:30")]
    m1 = pd.DataFrame({"queue": "sales", "interval_start_at": starts, "interval_s": 1800.0,
                       "model": "m1", "created_at": pd.Timestamp("2026-01-01", tz="UTC"),
                       "volume": [4.0, 2.0, 1.0, 1.0], "aht_s": [150.0, 200.0, 100.0, 100.0]})
    m2 = m1.assign(model="m2", created_at=pd.Timestamp("2026-01-06", tz="UTC"), volume=10.0)
    m2_late = m2.iloc[[-1]].assign(interval_start_at=local("11:00").tz_convert("UTC"))
    return pd.concat([m1, m2, m2_late], ignore_index=True)


def sessions() -> pd.DataFrame:
    """logged_in sessions, one per agent and interval (queue known): sales 1, 1, 2; support 1."""
    rows = [("a1", "sales", "09:00"), ("a1", "sales", "09:30"), ("a1", "sales", "10:00"),
            ("a2", "sales", "10:00"), ("a3", "support", "09:00")]
    start = [local(t).tz_convert("UTC") for _, _, t in rows]
    return pd.DataFrame({"agent_id": [a for a, _, _ in rows], "queue": [q for _, q, _ in rows],
                         "state": "logged_in", "started_at": start,
                         "ended_at": [s + pd.Timedelta(minutes=30) for s in start]})


SETTINGS = Settings(tenants={"acme": Tenant("acme", timezone=ZONE)}, default_tenant="acme",
                    targets={"service_level": TargetSetting(0.8, 0.05, {"threshold_s": 20})})

@pytest.fixture(scope="module")
def wh() -> Warehouse:
    wh = Warehouse.memory()
    load_frames(wh, {"contacts": contacts(), "forecasts": forecasts(),
                     "agent_states": sessions()}, tenant="acme")
    return wh


@pytest.fixture(scope="module")
def scope(wh: Warehouse) -> Scope:
    return Scope.resolve(wh, SETTINGS)


def test_history_is_local_and_fills_empty_intervals_with_zero(scope):
    h = history(scope, ["sales", "support"], interval_s=1800)
    sales = h[h.unique_id == "sales"]
    assert sales.ds.dt.strftime("%H:%M").tolist() == ["09:00", "09:30", "10:00"]
    assert sales.volume.tolist() == [3.0, 1.0, 2.0]
    assert sales.aht_s.tolist() == [180.0, 180.0, 120.0]
    support = h[h.unique_id == "support"]
    # support had no contact at 09:30 or 10:00 on a day with data: 0 offered, AHT unknown.
    assert support.volume.tolist() == [1.0, 0.0, 0.0]
    assert support.aht_s.iloc[0] == 300.0 and support.aht_s.iloc[1:].isna().all()
    hourly = history(scope, ["sales"], interval_s=3600)
    assert hourly.volume.tolist() == [4.0, 2.0]
    assert hourly.aht_s.tolist() == [180.0, 120.0]


def test_patience_is_total_wait_over_abandons(scope):
    assert patience_estimate(scope, ["sales", "support"]) == {"sales": pytest.approx(165.0)}


def test_unknown_queue_and_empty_warehouse(scope):
    with pytest.raises(QueryError) as err:
        check_queues(scope, ["billing"])
    assert err.value.where == "--queue" and "sales, support" in err.value.hint
    empty = Scope.resolve(Warehouse.memory(), SETTINGS)
    with pytest.raises(QueryError) as err:
        check_queues(empty, None)
    assert err.value.where == "--tenant" and "acme" in err.value.message


def test_runs_are_listed_chosen_and_read_through_the_engine(scope):
    runs = list_runs(scope, ["sales"], start="2026-01-05", end="2026-01-06")
    assert [(r.model, r.intervals) for r in runs] == [("m1", 4), ("m2", 5)]
    begin = local("00:00").tz_convert("UTC")
    m1 = choose_run(runs, "sales", before=begin)
    assert m1.model == "m1" and m1.interval_s == 1800
    assert choose_run(runs, "sales", before=begin, model="m2").model == "m2"
    assert choose_run(runs, "support", before=begin) is None
    fc = read_run(scope, m1, interval_s=1800, start="2026-01-05", end="2026-01-06")
    # 11:00 has a row of m2 only: not part of m1.
    assert fc.period_start.dt.strftime("%H:%M").tolist() == ["09:00", "09:30", "10:00", "10:30"]
    assert fc.forecast_volume.tolist() == [4.0, 2.0, 1.0, 1.0]
    hourly = read_run(scope, m1, interval_s=3600, start="2026-01-05", end="2026-01-06")
    # (4 x 150 + 2 x 200) / 6 and (1 x 100 + 1 x 100) / 2
    assert hourly.forecast_volume.tolist() == [6.0, 2.0]
    assert hourly.forecast_aht_s.tolist() == pytest.approx([1000 / 6, 100.0])
    with pytest.raises(QueryError) as err:
        read_run(scope, m1, interval_s=900, start="2026-01-05", end="2026-01-06")
    assert err.value.where == "--interval" and "30m" in err.value.hint


def test_catalog_forecast_kpis_by_hand(wh):
    q = MetricQuery(["forecast_volume", "forecast_aht_s", "forecast_bias",
                     MetricRequest("forecast_bias", params={
                         "model": "m1", "created_from": "2026-01-01T00:00:00+00:00",
                         "created_to": "2026-01-01T00:00:00+00:00"}, column="bias_m1"),
                     "forecast_volume:model=m2"],
                    by=("queue",), start="2026-01-05", end="2026-01-06", tenant="acme",
                    targets=False)
    row = query(wh, q, settings=SETTINGS).set_index("queue").loc["sales"]
    assert row["forecast_volume"] == 8.0 + 50.0  # both runs add up when none is named
    assert row["forecast_volume:model=m2"] == 50.0
    # m2: 10 x (150 + 200 + 100 + 100 + 100) = 6500 s, m1: 4 x 150 + 2 x 200 + 100 + 100
    assert row["forecast_aht_s"] == pytest.approx((6500 + 1200) / 58)
    assert row["forecast_bias"] == pytest.approx((58 - 6) / 6)
    assert row["bias_m1"] == pytest.approx((8 - 6) / 6)


def test_stored_accuracy_by_hand(scope):
    rep = stored_accuracy(scope, ["sales"], start=date(2026, 1, 5), end=date(2026, 1, 5))
    row = rep.summary.iloc[0]
    assert (row["model"], row["intervals"]) == ("m1", 4)
    # forecast 4, 2, 1, 1 against 3, 1, 2, 0: every interval one contact out.
    assert row["wape"] == pytest.approx(4 / 6)
    assert row["mape"] == pytest.approx((1 / 3 + 1 + 1 / 2) / 3)
    assert row["mape_skipped"] == 1
    assert row["bias"] == pytest.approx(2 / 6)
    assert row["within_5"] == 0 and row["within_10"] == 0
    assert (row["days"], row["day_wape"], row["day_bias"]) == (1, pytest.approx(2 / 6),
                                                               pytest.approx(2 / 6))
    assert rep.intervals.actual.tolist() == [3.0, 1.0, 2.0, 0.0]
    m2 = stored_accuracy(scope, ["sales"], start=date(2026, 1, 5), end=date(2026, 1, 5),
                         model="m2").summary.iloc[0]
    assert m2["intervals"] == 5 and m2["bias"] == pytest.approx((50 - 6) / 6)


def test_stored_accuracy_bad_input(scope):
    with pytest.raises(QueryError) as err:
        stored_accuracy(scope, None, start=date(2026, 1, 6), end=date(2026, 1, 5))
    assert err.value.where == "--to"
    with pytest.raises(QueryError) as err:
        stored_accuracy(scope, ["support"], start=date(2026, 1, 5), end=date(2026, 1, 5))
    assert err.value.where == "--from" and "--save" in err.value.hint
    with pytest.raises(QueryError) as err:
        stored_accuracy(scope, ["sales"], start=date(2026, 1, 5), end=date(2026, 1, 5),
                        model="nope")
    assert err.value.where == "--model" and "m1" in err.value.hint


def test_plan_requires_agents_by_erlang_for_the_planned_volume(scope):
    target = target_from_settings(scope, shrinkage=0.3)
    assert (target.service_level, target.threshold_s) == (0.8, 20.0)
    res = plan_range(scope, None, start=date(2026, 1, 5), end=date(2026, 1, 5), target=target)
    p = res.rows.set_index(["queue", res.rows.interval_start.dt.strftime("%H:%M")])
    assert res.patience_s == {"sales": pytest.approx(165.0)}
    assert res.notes == []
    # support 09:00 has no forecast: 1 call x 300 s = 1/6 Erlang, Erlang C. One agent gives
    # SL = 1 - (1/6) e^(-(1 - 1/6) 20 / 300) = 0.8423 >= 0.8; with 30% shrinkage 2 scheduled.
    s = p.loc[("support", "09:00")]
    assert (s.volume_source, s.erlang, s.agents_required, s.agents_scheduled) == \
        ("actual", "C", 1, 2)
    assert float(erlang.erlang_c_service_level(1, 1 / 6, 300, 20)) == pytest.approx(
        1 - (1 / 6) * np.exp(-(5 / 6) * 20 / 300))
    # support had nothing at 09:30 or 10:00 and no forecast there: no rows; nor has sales
    # at 11:00, where only the later run m2 (not the one planned with) has a row.
    assert ("support", "09:30") not in p.index and ("sales", "11:00") not in p.index
    # sales 09:00: the forecast (4 calls at 150 s) is planned, with Erlang A at 165 s.
    r = p.loc[("sales", "09:00")]
    assert (r.volume_source, r.forecast_volume, r.actual_volume, r.planned_aht_s) == \
        ("forecast", 4.0, 3.0, 150.0)
    need = erlang.required_agents(4 * 150 / 1800, 150, service_level=0.8, threshold_s=20,
                                  patience_s=165)
    assert r.agents_required == int(need) == 2 and r.erlang == "A"
    assert r.agents_required_actual == int(erlang.required_agents(
        3 * 180 / 1800, 180, service_level=0.8, threshold_s=20, patience_s=165))
    assert r.service_level == pytest.approx(1 / 3) and not r.sl_met
    # 10:30 has a forecast but has not happened yet (after the last contact): no actual.
    late = p.loc[("sales", "10:30")]
    assert np.isnan(late.actual_volume) and pd.isna(late.sl_met)


def test_plan_with_staffed_agents_flags_the_misses(scope):
    res = plan_range(scope, None, start=date(2026, 1, 5), end=date(2026, 1, 5))
    assert res.notes == []
    p = res.rows.set_index(["queue", res.rows.interval_start.dt.strftime("%H:%M")])
    assert p["staffed"].dropna().to_dict() == pytest.approx({
        ("sales", "09:00"): 1.0, ("sales", "09:30"): 1.0, ("sales", "10:00"): 2.0,
        ("support", "09:00"): 1.0})
    # 09:00: 1 agent where the forecast needed 2, SL 1/3: understaffed (gap -1).
    assert p.loc[("sales", "09:00"), "flag"] == "understaffed"
    assert p.loc[("sales", "09:00"), "gap"] == pytest.approx(-1.0)
    # 09:30: SL 100%, met.
    assert bool(p.loc[("sales", "09:30"), "sl_met"]) and p.loc[("sales", "09:30"), "flag"] is None
    # 10:00: 2 agents for a forecast of 1 call (1 needed), 2 came and waited 30 and 50 s.
    assert p.loc[("sales", "10:00"), "flag"] == "volume_above_forecast"
    # support 09:00: 1 agent, 1 needed, 1 call, answered after 25 s: not explained by staffing.
    assert p.loc[("support", "09:00"), "flag"] == "not_explained"
    # What 1 agent could do for 1 call of 300 s (Erlang C): the 0.8423 above.
    assert p.loc[("support", "09:00"), "service_level_achievable"] == pytest.approx(
        1 - (1 / 6) * np.exp(-(5 / 6) * 20 / 300))


def test_plan_bad_input(scope):
    with pytest.raises(QueryError) as err:
        plan_range(scope, None, start=date(2026, 1, 6), end=date(2026, 1, 5))
    assert err.value.where == "--to"
    with pytest.raises(QueryError) as err:
        plan_range(scope, ["billing"], start=date(2026, 1, 5), end=date(2026, 1, 5))
    assert err.value.where == "--queue"
    with pytest.raises(QueryError) as err:
        plan_range(scope, None, start=date(2026, 3, 2), end=date(2026, 3, 2))
    assert err.value.where == "--from" and "nothing to plan" in err.value.message


def test_save_forecast_round_trip(tmp_path: Path):
    wh = Warehouse.memory()
    scope = Scope.resolve(wh, SETTINGS)
    frame = pd.DataFrame({"queue": "sales",
                          "ds": pd.to_datetime(["2026-03-29 01:30", "2026-03-29 02:30",
                                                "2026-03-29 03:00"]),
                          "volume": [1.0, 2.0, 3.0], "aht_s": [100.0, 100.0, 100.0],
                          "model": "weekly_average_4"})
    result, made = save_forecast(scope, frame, interval_s=1800,
                                 created_at=pd.Timestamp("2026-03-20 12:00", tz="UTC"))
    # 02:30 does not exist in Paris on the spring change (clocks jump 02:00 -> 03:00).
    assert result.rows_loaded == 2
    stored = wh.table("forecasts").to_pandas().sort_values("interval_start_at")
    assert stored.interval_start_at.dt.strftime("%H:%M").tolist() == ["00:30", "01:00"]
    assert stored.model.unique().tolist() == ["weekly_average_4"]
    assert made == pd.Timestamp("2026-03-20 12:00", tz="UTC")
    with pytest.raises(QueryError) as err:
        save_forecast(Scope(wh, Settings()), frame, interval_s=1800)
    assert err.value.where == "--tenant"


@settings(max_examples=10, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 2),
                          st.integers(8 * 60, 18 * 60 - 1)), min_size=1, max_size=40))
def test_history_keeps_every_contact_on_a_full_grid(calls):
    """Whatever the arrivals (queue, day 0-2, local minute), the 30-minute history counts each
    contact once, in its local half hour, and lays every queue on the same grid."""
    frame = pd.DataFrame({
        "contact_id": [f"c{i}" for i in range(len(calls))],
        "queue": [q for q, _, _ in calls],
        "arrived_at": [(pd.Timestamp("2026-01-05", tz=ZONE) + pd.Timedelta(days=d, minutes=m))
                       .tz_convert("UTC") for _, d, m in calls],
        "channel": "voice", "direction": "inbound", "outcome": "answered", "wait_s": 1.0,
        "talk_s": 60.0, "hold_s": 0.0, "acw_s": 0.0})
    wh = Warehouse.memory()
    load_frames(wh, {"contacts": frame}, tenant="acme")
    queues = sorted({q for q, _, _ in calls})
    h = history(Scope.resolve(wh, SETTINGS), queues, interval_s=1800)
    for q in queues:
        mine = [(d, m // 30) for qq, d, m in calls if qq == q]
        got = h[h.unique_id == q]
        assert got.volume.sum() == len(mine)
        slots = ((got.ds - pd.Timestamp("2026-01-05")).dt.total_seconds() // 1800).astype(int)
        counted = dict(zip(slots, got.volume, strict=True))
        for d, half_hour in set(mine):
            assert counted[d * 48 + half_hour] == mine.count((d, half_hour))
    sizes = h.groupby("unique_id").size()
    assert sizes.nunique() == 1  # the same grid for every queue
    assert not h.duplicated(["unique_id", "ds"]).any()
