"""Local calendars on the minute grid and the non-homogeneous Poisson arrivals."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest

from contactkpi.config import OpeningHours, Tenant
from contactkpi.simulate.arrivals import draw_times, intraday_shape, queue_load
from contactkpi.simulate.calendar import US_PER_MIN, build_calendar, build_clock
from contactkpi.simulate.config import QueueSim, TenantSim

LONDON = Tenant(name="uk", timezone="Europe/London",
                opening_hours=OpeningHours.parse({"mon-fri": "08:00-20:00",
                                                  "sat": "09:00-13:00"}, "test"),
                holidays=frozenset({date(2026, 3, 27)}))


def _calendar(tenant: Tenant, start: date, days: int):  # noqa: ANN202 - test helper
    clock = build_clock([tenant], start, days)
    return build_calendar(tenant, start, days, clock)


def test_clock_change_days_have_23_and_25_hours_of_minutes() -> None:
    spring = _calendar(LONDON, date(2026, 3, 28), 3)  # Sat, Sun (clocks go forward), Mon
    assert np.diff(spring.day_start).tolist() == [1440, 1380, 1440]
    autumn = _calendar(LONDON, date(2026, 10, 25), 1)  # clocks go back
    assert autumn.n_bins == 1500
    # the local wall clock repeats 01:00-01:59 once on that day
    assert (autumn.wall_minute == 60).sum() == 2


def test_opening_hours_and_holidays_in_local_time() -> None:
    cal = _calendar(LONDON, date(2026, 3, 26), 5)  # Thu, Fri (holiday), Sat, Sun, Mon
    open_minutes = np.add.reduceat(cal.open.astype(int), cal.day_start[:-1]).tolist()
    assert open_minutes == [720, 0, 240, 0, 720]
    # Monday 30 March opens at 08:00 BST = 07:00 UTC
    monday = cal.dates.index(date(2026, 3, 30))
    first_open = int(cal.day_start[monday] + np.argmax(cal.open[cal.day_start[monday]:]))
    assert cal.wall_minute[first_open] == 8 * 60
    clock = build_clock([LONDON], date(2026, 3, 26), 5)
    at = clock.origin + (cal.first_minute + first_open) * np.timedelta64(1, "m")
    assert at.hour == 7


def test_a_closed_moment_moves_into_opening_hours_along_the_profile() -> None:
    cal = _calendar(LONDON, date(2026, 3, 23), 2)  # Mon, Tue (GMT), open 08:00-20:00
    # profile: weight 3 for 10:00-11:00, 1 for the rest of the day
    weights = np.where((cal.wall_minute >= 600) & (cal.wall_minute < 660), 3.0, 1.0)
    back = cal.return_times(weights)
    r = random.Random(1)
    noon = (cal.first_minute + 12 * 60) * US_PER_MIN
    assert back.at(noon, r) == noon  # open: unchanged
    night = (cal.first_minute + 22 * 60) * US_PER_MIN  # Monday 22:00: Tuesday instead
    moved = np.array([back.at(night, r) for _ in range(4000)]) // US_PER_MIN - cal.first_minute
    assert (moved >= 1440 + 8 * 60).all() and (moved < 1440 + 20 * 60).all()
    # 10:00-11:00 has weight 3 of 3 + 11 = 14 in the day's profile
    share = ((moved >= 1440 + 600) & (moved < 1440 + 660)).mean()
    assert share == pytest.approx(3 / 14, abs=0.03)
    early = (cal.first_minute + 1440 + 6 * 60) * US_PER_MIN  # Tuesday 06:00: that same day
    assert 1440 + 8 * 60 <= back.at(early, r) // US_PER_MIN - cal.first_minute < 1440 + 1200
    # after the last opening of the period nobody calls within it
    assert back.at((cal.first_minute + 1440 + 21 * 60) * US_PER_MIN, r) is None


def test_intraday_shape_has_a_morning_and_an_afternoon_peak() -> None:
    t = TenantSim()
    m = np.array([8 * 60, 10 * 60 + 30, 12 * 60 + 45, 14 * 60 + 30, 19 * 60])
    s = intraday_shape(t, m)
    assert s[1] > s[2] < s[3] and s[1] > s[0] and s[3] > s[4]
    assert (intraday_shape(TenantSim(profile="flat"), m) == 1).all()


def _tenant(**over: object) -> TenantSim:
    base = dict(name="uk", timezone="Europe/London",
                opening_hours={"mon-fri": "08:00-20:00", "sat": "09:00-13:00"},
                holidays=("2026-03-27",), surge_rate=0.0, volume_noise=0.0)
    base.update(over)
    return TenantSim(**base)  # type: ignore[arg-type]


def _days(seed: int):  # noqa: ANN202 - test helper
    """A generator per local day, as the simulator keys them."""
    return lambda day: np.random.default_rng([seed, day.toordinal()])


def _queue(**over: object) -> QueueSim:
    base = dict(daily_volume=1000.0, repeat_rate=0.0, redial_rate=0.0)
    base.update(over)
    return QueueSim(**base)  # type: ignore[arg-type]


def test_each_day_expects_its_volume_times_the_weekly_factor() -> None:
    t = _tenant()
    cal = _calendar(t.settings_tenant(), date(2026, 3, 26), 5)
    load = queue_load(cal, t, _queue(), 2.0, _days(0))
    per_day = np.add.reduceat(load.expected, cal.day_start[:-1])
    # Thu 1.0, Fri holiday (closed), Sat 0.55, Sun closed, Mon 1.15; times volume_scale 2
    assert per_day == pytest.approx([2000.0, 0.0, 1100.0, 0.0, 2300.0])
    assert (load.expected[~cal.open] == 0).all()
    # a few arrivals just outside opening hours, never further than 15 minutes out
    near = np.convolve(cal.open.astype(int), np.ones(31, dtype=int), mode="same") > 0
    assert (load.outside[cal.open] == 0).all() and (load.outside[~near] == 0).all()
    assert 0 < load.outside.sum() < 0.01 * load.expected.sum()


def test_follow_ups_come_on_top_of_fewer_first_contacts() -> None:
    t = _tenant()
    cal = _calendar(t.settings_tenant(), date(2026, 3, 2), 20)
    q = _queue(resolution_rate=0.8, repeat_rate=0.5, redial_rate=0.0)
    load = queue_load(cal, t, q, 1.0, _days(0))
    per_day = np.add.reduceat(load.fresh, cal.day_start[:-1]) / np.maximum(
        np.add.reduceat(load.expected, cal.day_start[:-1]), 1e-9)
    # 10% of handled contacts come back: first contacts are 1 / (1 + 0.1 / 0.9) = 0.9 of the
    # plan once the run is under way ...
    assert per_day[14:][per_day[14:] > 0] == pytest.approx(0.9)
    # ... while on its first day nearly all follow-ups are still those of customers who
    # contacted before it (repeat delays of 36 h on average), drawn with the first contacts
    assert 0.97 < per_day[0] <= 1.0
    assert (np.diff(per_day[per_day > 0][:8]) <= 1e-12).all()


def test_half_hours_deviate_from_the_plan_by_the_volume_noise() -> None:
    t = _tenant(volume_noise=0.12)
    cal = _calendar(t.settings_tenant(), date(2026, 3, 2), 20)
    load = queue_load(cal, t, _queue(), 1.0, _days(5))
    used = load.expected > 0
    ratio = load.fresh[used] / load.expected[used]
    halves = (np.flatnonzero(used) // 30)
    first = np.r_[True, halves[1:] != halves[:-1]]
    assert all(len(set(np.round(ratio[halves == h], 12))) == 1 for h in halves[first][:50])
    per_half = ratio[first]
    assert per_half.mean() == pytest.approx(1.0, abs=0.02)
    assert per_half.std() == pytest.approx(0.12, rel=0.15)


def test_a_surge_multiplies_the_rate_for_its_hours() -> None:
    t = _tenant(surge_rate=1.0, surge_factor=(2.0, 2.0), surge_hours=(1.0, 1.0))
    cal = _calendar(t.settings_tenant(), date(2026, 3, 23), 3)
    load = queue_load(cal, t, _queue(), 1.0, _days(4))
    ratio = np.divide(load.fresh, load.expected, out=np.ones(cal.n_bins),
                      where=load.expected > 0)
    assert load.surge_days == [0, 1, 2]
    for d in range(3):
        day = ratio[cal.day_start[d]:cal.day_start[d + 1]]
        assert set(np.round(day, 9)) == {1.0, 2.0}
        assert 1 <= (day == 2.0).sum() <= 60  # an hour, cut short at closing time


def test_arrivals_follow_the_expected_rate_hour_by_hour() -> None:
    t = _tenant()
    cal = _calendar(t.settings_tenant(), date(2026, 3, 2), 14)
    load = queue_load(cal, t, _queue(daily_volume=3000.0), 1.0, _days(1))
    times = draw_times(np.random.default_rng(2), load.fresh, cal.first_minute)
    assert (np.diff(times) >= 0).all()
    hour = (times // US_PER_MIN - cal.first_minute) // 60
    observed = np.bincount(hour, minlength=cal.n_bins // 60)
    expected = load.fresh.reshape(-1, 60).sum(axis=1)
    used = expected > 0
    assert observed[~used].sum() == 0
    chi2 = (((observed - expected) ** 2)[used] / expected[used]).sum()
    df = int(used.sum())
    assert chi2 < df + 5 * np.sqrt(2 * df)  # Poisson counts: chi-square with df bins
    assert abs(observed.sum() - expected.sum()) < 5 * np.sqrt(expected.sum())
