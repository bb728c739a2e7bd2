"""The simulator's staffing plan: Erlang C per slot, shifts, breaks, headcount."""

from __future__ import annotations

import doctest
import math
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactkpi.simulate import erlang as sim_erlang
from contactkpi.simulate.calendar import build_calendar, build_clock
from contactkpi.simulate.config import StaffingSim, TenantSim
from contactkpi.simulate.erlang import agents_for_service_level, wait_probability
from contactkpi.simulate.workforce import (
    SLOT_MIN,
    TeamDemand,
    place_shifts,
    plan_day,
    required_agents,
    shift_lengths,
    week_headcount,
    written_erlangs,
)


def _service_level(n: int, load: float, aht_s: float, t_s: float) -> float:
    if n <= load:
        return 0.0
    return 1.0 - wait_probability(n, load) * math.exp(-(n - load) * t_s / aht_s)


def test_erlang_c_by_hand_and_its_doctests() -> None:
    # A = 2 Erlangs on 3 agents: B(3, 2) = 4/19, C = 3B / (3 - 2(1 - B)) = 4/9
    assert wait_probability(3, 2.0) == pytest.approx(4 / 9)
    assert wait_probability(1, 0.7) == pytest.approx(0.7)  # M/M/1: C = rho
    assert wait_probability(2, 2.0) == 1.0
    assert doctest.testmod(sim_erlang).failed == 0


@settings(max_examples=80, deadline=None)
@given(load=st.floats(0.01, 300.0), aht=st.floats(30.0, 900.0), target=st.floats(0.5, 0.95),
       t_s=st.floats(5.0, 60.0))
def test_agents_for_service_level_is_the_fewest_that_reach_it(load: float, aht: float,
                                                             target: float, t_s: float) -> None:
    (n,) = agents_for_service_level(np.array([load]), np.array([aht]), target, t_s).tolist()
    assert _service_level(n, load, aht, t_s) >= target
    assert n == 1 or _service_level(n - 1, load, aht, t_s) < target


def test_shifts_carry_the_base_load_long_and_the_peak_short() -> None:
    # 4-slot and 6-slot shifts: a closing and an opening 6-slot shift carry the base, a
    # 4-slot shift the peak; nothing beyond the need
    req = np.array([1, 1, 3, 3, 3, 3, 1, 1])
    shifts = place_shifts(req, [4, 6], np.random.default_rng(0))
    assert sorted(shifts) == [(0, 6), (2, 6), (2, 8)]
    # a need shorter than any shift: shifts as long as the need
    assert place_shifts(np.array([0, 0, 2, 2, 0]), [3], np.random.default_rng(0)) == [
        (2, 4), (2, 4)]


@settings(max_examples=60, deadline=None)
@given(req=st.lists(st.integers(0, 30), min_size=1, max_size=70),
       lengths=st.sets(st.integers(2, 40), min_size=1, max_size=4), seed=st.integers(0, 9))
def test_shifts_cover_the_need_without_a_shift_to_spare(req: list[int], lengths: set[int],
                                                         seed: int) -> None:
    r = np.array(req)
    shifts = place_shifts(r, sorted(lengths), np.random.default_rng(seed))
    cover = np.zeros(len(r), dtype=np.int64)
    for a, b in shifts:
        cover[a:b] += 1
    assert (cover >= r).all()
    active = np.flatnonzero(r > 0)
    shortest = min(min(lengths), int(active[-1] - active[0] + 1)) if len(active) else 0
    for a, b in shifts:
        assert b - a >= shortest
        # every shift is needed somewhere, and is cut back to where it is needed
        assert (cover[a:b] == r[a:b]).any()
        assert b - a == shortest or (cover[a] == r[a] and cover[b - 1] == r[b - 1])


def test_breaks_go_where_agents_are_to_spare_and_gaps_are_filled() -> None:
    st_ = StaffingSim()
    req = np.zeros(96, dtype=np.int64)
    req[32:80] = 10  # 10 agents from 08:00 to 20:00
    req[40:48] = 16  # a peak from 10:00 to 12:00
    plan = plan_day(req, st_, np.random.default_rng(3))
    cover = np.zeros(96, dtype=np.int64)
    for (a, b), acts in zip(plan.shifts, plan.acts, strict=True):
        cover[a:b] += 1
        minutes = (b - a) * SLOT_MIN
        kinds = [what for _, _, what in acts]
        if minutes >= 6 * 60:
            assert kinds.count("break") == 2 and kinds.count("lunch") == 1
        elif minutes <= 4 * 60:
            assert "break" not in kinds and "lunch" not in kinds
        spans = sorted((off, off + dur) for off, dur, _ in acts)
        assert all(e0 <= s1 for (_, e0), (s1, _) in zip(spans, spans[1:], strict=False))
        assert all(s0 >= 0 and e0 <= minutes for s0, e0 in spans)
        for off, dur, _ in acts:
            cover[a + off // SLOT_MIN:a + (off + dur + SLOT_MIN - 1) // SLOT_MIN] -= 1
    assert (cover >= req).all()  # on shift and not on a break, every slot
    assert (np.array(plan.surplus) == cover - req).all()
    # the peak is not where the breaks are: fewer agents on a break then than on average
    on_break = np.zeros(96)
    for (a, _), acts in zip(plan.shifts, plan.acts, strict=True):
        for off, dur, _ in acts:
            on_break[a + off // SLOT_MIN:a + (off + dur + SLOT_MIN - 1) // SLOT_MIN] += 1
    assert on_break[40:48].mean() < on_break[32:80].mean()


def test_shift_lengths_run_from_part_time_to_full_in_whole_hours() -> None:
    # 4 h .. 8 h; six hours and more get a 30-minute lunch on top
    assert shift_lengths(StaffingSim()) == [16, 20, 26, 30, 34]
    assert shift_lengths(StaffingSim(breaks=False, part_time_h=6.0)) == [24, 28, 32]


def test_headcount_of_a_short_run_is_that_of_its_whole_week() -> None:
    weights = [1.18, 1.05, 1.0, 0.98, 0.9, 0.5, 0.0]
    monday = date(2026, 1, 5)
    week = [monday + timedelta(days=i) for i in range(7)]
    # 50 shifts in the week (10 a day at most): 50 / 5 = 10 agents, times the margin 1.1,
    # rounded up, plus one
    assert week_headcount(week, [10, 9, 9, 9, 8, 5, 0], weights, 1.1) == 12
    # one Monday of 10 shifts: the rest of its week estimated by the weights
    # (10 + 10 / 1.18 x 4.43 = 47.5 shifts: 9.5 a day; the Monday's 10 rules)
    assert week_headcount(week[:1], [10], weights, 1.1) == 12
    assert week_headcount(week[:1], [0], weights, 1.1) == 0


def test_the_nights_written_work_is_planned_before_the_phones_open() -> None:
    tenant = TenantSim(name="t", timezone="UTC", opening_hours={"mon-sun": "08:00-20:00"})
    s = tenant.settings_tenant()
    cal = build_calendar(s, date(2026, 1, 5), 2, build_clock([s], date(2026, 1, 5), 2))
    erl = written_erlangs(cal, np.full(cal.n_bins, 60.0))  # one Erlang arriving all day
    # 8 h closed before the first opening: 480 Erlang-minutes in the 120 minutes before it
    assert (erl[:360] == 0).all() and erl[360:480] == pytest.approx(4.0)
    assert erl[480:1200] == pytest.approx(1.0)  # open: as it arrives
    # 12 h closed overnight: 720 Erlang-minutes from 06:00 to 08:00 the next day
    assert (erl[1200:1440 + 360] == 0).all() and erl[1440 + 360:1440 + 480] == pytest.approx(6.0)
    always = TenantSim(name="t", timezone="UTC", opening_hours={"mon-sun": "00:00-24:00"})
    s = always.settings_tenant()
    cal = build_calendar(s, date(2026, 1, 5), 1, build_clock([s], date(2026, 1, 5), 1))
    assert written_erlangs(cal, np.full(cal.n_bins, 60.0)) == pytest.approx(1.0)


def test_the_phone_need_is_pooled_then_shared_by_the_teams() -> None:
    tenant = TenantSim(name="t", timezone="UTC", opening_hours={"mon-sun": "00:00-24:00"},
                       staffing=StaffingSim(factor=1.0, shrinkage=0.0))
    s = tenant.settings_tenant()
    cal = build_calendar(s, date(2026, 1, 5), 1, build_clock([s], date(2026, 1, 5), 1))
    n = cal.n_bins
    # 2 calls a minute of 180 s: 6 Erlangs, 3/4 of them team a's, 1/4 team b's
    demand = {"a": TeamDemand(np.full(n, 1.5), np.full(n, 270.0), np.zeros(n)),
              "b": TeamDemand(np.full(n, 0.5), np.full(n, 90.0), np.zeros(n))}
    req = required_agents(demand, cal, tenant, {"a": [1.0], "b": [1.0]})
    pooled = int(agents_for_service_level(np.array([6.0]), np.array([180.0]), 0.8, 20.0)[0])
    assert pooled == 9
    # 9 x 3/4 = 6.75 -> 7 and 9 x 1/4 = 2.25 -> 3 (whole agents: up at .1 and more)
    assert set(req["a"][0].tolist()) == {7} and set(req["b"][0].tolist()) == {3}
    half = replace(tenant, staffing=replace(tenant.staffing, factor=0.5))
    req = required_agents(demand, cal, half, {"a": [1.0], "b": [2.0]})
    assert set(req["a"][0].tolist()) == {4} and set(req["b"][0].tolist()) == {3}
