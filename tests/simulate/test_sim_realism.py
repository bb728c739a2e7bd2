"""The default center behaves like a planned contact center, whatever the run length.

Service level here is the KPI engine's: answered within the threshold over offered contacts
(contacts with a queue) less abandons under 5 s. Targets are the ones the demo judges against
and the default center staffs for: brightpower 80 % in 20 s, kestrel_bank 90 % in 30 s.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from contactkpi.simulate import Simulation, default_config, simulate
from contactkpi.simulate.calendar import local_midnight_utc
from contactkpi.simulate.engine import FRESH

TARGETS = {"brightpower": (0.80, 20.0), "kestrel_bank": (0.90, 30.0)}
ZONES = {"brightpower": "Europe/London", "kestrel_bank": "America/New_York"}


def _service_level(c: pd.DataFrame, threshold_s: float) -> float:
    short = (c["outcome"] == "abandoned") & (c["wait_s"] < 5)
    met = (c["outcome"] == "answered") & (c["wait_s"] <= threshold_s)
    return float(met.sum() / max(int((~short).sum()), 1))


def _by(v: pd.DataFrame, key: str, threshold_s: float) -> pd.DataFrame:
    """Offered calls and service level per value of ``key``."""
    return pd.DataFrame([{key: k, "offered": len(g), "sl": _service_level(g, threshold_s)}
                         for k, g in v.groupby(key)]).set_index(key)


def _voice(sim: Simulation, tenant: str) -> pd.DataFrame:
    """Offered inbound calls of ``tenant`` with local time columns."""
    c = sim["contacts"]
    v = c[(c["tenant"] == tenant) & (c["direction"] == "inbound") & (c["channel"] == "voice")
          & c["queue"].notna()].copy()
    local = v["arrived_at"].dt.tz_convert(ZONES[tenant])
    v["day"] = local.dt.date
    v["hour"] = local.dt.hour
    v["half_hour"] = local.dt.floor("30min")
    return v


@pytest.fixture(scope="module")
def fortnight() -> Simulation:
    """Two weeks of the shipped default center, as shipped."""
    return simulate(seed=11, days=14)


# -- 1. short runs ------------------------------------------------------------------------

def test_a_calendar_day_gets_the_same_arrivals_whatever_the_run_length() -> None:
    cfg = default_config()
    cfg = replace(cfg, tenants=tuple(replace(t, surge_rate=0.5) for t in cfg.tenants))
    runs = {days: simulate(cfg, seed=3, days=days).data for days in (1, 9)}
    short, long = runs[1], runs[9]
    for qs, ql in zip(short.queues, long.queues, strict=True):
        cal = short.calendars[qs.tenant]
        n = cal.n_bins
        # the plan (expected) and the intensity with surges are the same for that day ...
        assert np.array_equal(qs.load.expected[:n], ql.load.expected[:n])
        assert np.array_equal(qs.load.fresh[:n], ql.load.fresh[:n])
        assert qs.load.surge_days == [d for d in ql.load.surge_days if d == 0]
    assert any(ql.load.surge_days for ql in long.queues)
    # the staffing plan of that day is the same too (shifts and their breaks, per team)
    for ws, wl in zip(short.workforces, long.workforces, strict=True):
        assert ws.planned.keys() == wl.planned.keys()
        for team, days in ws.planned.items():
            assert len(days[0]) > 10 and days[0] == wl.planned[team][0]
    # ... and so are the first contacts drawn from it
    end = int(min(local_midnight_utc(date(2026, 1, 6), z) - short.clock.origin
                  for z in ZONES.values()).total_seconds() * 1e6)
    s_kind, l_kind = short.book.column("kind"), long.book.column("kind")
    s_arr, l_arr = short.book.column("arr"), long.book.column("arr")
    s_q, l_q = short.book.column("queue"), long.book.column("queue")
    a = (s_kind == FRESH) & (s_arr < end)
    b = (l_kind == FRESH) & (l_arr < end)
    assert a.sum() > 1000
    assert np.array_equal(s_arr[a], l_arr[b]) and np.array_equal(s_q[a], l_q[b])


def test_a_one_day_run_is_staffed_like_the_same_day_of_a_long_run() -> None:
    one = simulate(seed=1, days=1)
    week = simulate(seed=1, days=7)
    for tenant, (target, threshold) in TARGETS.items():
        v1 = _voice(one, tenant)
        v7 = _voice(week, tenant)
        monday = v7[v7["day"] == date(2026, 1, 5)]
        assert len(v1) == pytest.approx(len(monday), rel=0.06), tenant
        assert _service_level(v1, threshold) > target - 0.1, tenant
        assert (v1["outcome"] == "abandoned").mean() < 0.06, tenant


# -- 2. staffing follows the intraday profile ---------------------------------------------

def test_every_hour_of_the_day_is_staffed_for_its_target(fortnight: Simulation) -> None:
    for tenant, (target, threshold) in TARGETS.items():
        v = _voice(fortnight, tenant)
        by_hour = _by(v, "hour", threshold)
        busy = by_hour[by_hour["offered"] >= 150]
        assert len(busy) >= 8, tenant
        # no hour of the day is missed as a rule (the old plan missed 08:00-10:00 every day)
        assert (busy["sl"] > target - 0.15).all(), (tenant, busy.round(3).to_dict())
        # about the target day by day; a surge day (kestrel's Saturday 10th: 43 %) pulls
        # the mean down, not the median
        by_day = _by(v, "day", threshold)["sl"]
        assert target - 0.03 < by_day.median() < target + 0.12, (tenant, by_day.round(3))
        assert target - 0.06 < by_day.mean(), (tenant, by_day.round(3))


def test_misses_are_occasional_not_systematic(fortnight: Simulation) -> None:
    for tenant, (target, threshold) in TARGETS.items():
        v = _voice(fortnight, tenant)
        halves = _by(v, "half_hour", threshold)
        halves = halves[halves["offered"] >= 10]
        missed = halves["sl"] < target
        slot = halves.index.to_series().dt.strftime("%H:%M").to_numpy()
        assert 0.02 < missed.mean() < 0.4, (tenant, missed.mean())
        assert (halves["sl"] < 0.5).mean() < 0.08, tenant
        # no half-hour of the day misses on most days
        assert missed.groupby(slot).mean().max() <= 0.6, tenant


def test_scheduled_agents_follow_the_erlang_c_need_of_the_plan(fortnight: Simulation) -> None:
    """Phone agents scheduled to work (schedules, breaks excluded) against the Erlang C need
    computed here from the plan's forecasts, per 30-minute interval, for the whole tenant:
    the plan staffs ``factor`` times that need, morning, noon and evening alike."""
    f = fortnight["forecasts"]
    s = fortnight["schedules"]
    roster = fortnight["roster"]
    s = s[(s["activity"] == "work") & s["agent_id"].isin(roster["agent_id"][
        roster["skills"].notna()])]
    factor = {t.name: t.staffing.factor for t in fortnight.config.tenants}
    for tenant, (target, threshold) in TARGETS.items():
        fv = f[(f["tenant"] == tenant) & f["queue"].isin(["billing", "moving_home", "cards"])]
        per = fv.assign(work=fv["volume"] * fv["aht_s"]).groupby("interval_start_at")[
            ["volume", "work"]].sum()
        per = per[per["volume"] >= 5]
        need = np.array([_erlang_c_agents(w / 1800.0, w / v, target, threshold)
                         for v, w in zip(per["volume"], per["work"], strict=True)])
        mine = s[s["tenant"] == tenant]
        starts = mine["starts_at"].to_numpy("int64")
        ends = mine["ends_at"].to_numpy("int64")
        staffed = []
        for t0 in per.index:
            a, b = t0.value // 1000, t0.value // 1000 + 1_800_000_000
            overlap = np.clip(np.minimum(ends, b) - np.maximum(starts, a), 0, None)
            staffed.append(overlap.sum() / 1_800_000_000)
        ratio = pd.Series(np.array(staffed) / (factor[tenant] * need),
                          index=per.index.tz_convert(ZONES[tenant]).hour)
        assert (ratio >= 0.9).mean() > 0.95, (tenant, ratio.describe())
        by_hour = ratio.groupby(level=0).mean()
        assert by_hour.min() >= 1.0, (tenant, by_hour.round(2).to_dict())
        assert np.corrcoef(staffed, need)[0, 1] > 0.75, tenant


def _erlang_c_agents(load: float, aht_s: float, target: float, threshold_s: float) -> int:
    """Fewest agents whose Erlang C service level reaches ``target``."""
    b, n = 1.0, 0
    while True:
        n += 1
        b = load * b / (n + load * b)
        if n > load:
            c = n * b / (n - load * (1.0 - b))
            if 1.0 - c * np.exp(-(n - load) * threshold_s / aht_s) >= target:
                return n


# -- 3. nothing arrives after a tenant's last day -----------------------------------------

def test_no_contact_arrives_after_the_tenants_last_local_day() -> None:
    sim = simulate(seed=2, days=2)
    c = sim["contacts"]
    for tenant, zone in ZONES.items():
        end = local_midnight_utc(date(2026, 1, 5) + timedelta(days=2), zone)
        mine = c[c["tenant"] == tenant]
        assert (mine["arrived_at"] < end).all(), (tenant, mine["arrived_at"].max(), end)
    # the e-mail helpdesk still gets its follow-ups inside the period
    email = c[c["channel"] == "email"]
    assert (email["customer_id"].duplicated()).any()


# -- 4. calls while closed hear a closed message ------------------------------------------

def test_calls_while_closed_are_blocked_without_a_queue(fortnight: Simulation) -> None:
    c = fortnight["contacts"]
    blocked = c[c["outcome"] == "blocked"]
    assert len(blocked) > 20
    assert blocked["queue"].isna().all() and blocked["wait_s"].isna().all()
    assert blocked["answered_at"].isna().all() and blocked["agent_id"].isna().all()
    assert set(blocked["channel"]) == {"voice"} and set(blocked["direction"]) == {"inbound"}
    settings = fortnight.config.settings_tenants()
    for row in blocked.itertuples():
        t = settings[row.tenant]
        assert not t.is_open(row.arrived_at.tz_convert(t.timezone).to_pydatetime())
    # offered = contacts with a queue: none of them is blocked
    assert not (c["queue"].notna() & (c["outcome"] == "blocked")).any()


# -- 5. queue positions -------------------------------------------------------------------

def test_queue_positions_are_filled_for_every_queued_contact(fortnight: Simulation) -> None:
    c = fortnight["contacts"]
    queued = c[(c["direction"] == "inbound") & c["queue"].notna()]
    assert queued["entry_position"].notna().all() and (queued["entry_position"] >= 1).all()
    left = queued[queued["outcome"].isin(["answered", "abandoned", "timeout"])]
    assert left["queue_position"].notna().all()
    assert (left["queue_position"][left["outcome"] == "answered"] == 1).all()
    gave_up = left[left["outcome"] != "answered"]
    assert (gave_up["queue_position"] >= 1).all()
    assert (gave_up["queue_position"] > 1).mean() > 0.2  # not a constant
    still = queued[queued["outcome"] == "open"]
    assert still["queue_position"].isna().all()
    other = c[(c["direction"] == "outbound") | (c["outcome"] == "blocked")]
    assert other["queue_position"].isna().all() and other["entry_position"].isna().all()
