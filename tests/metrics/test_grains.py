"""Local time in the engine: offsets, DST days, opening hours and business seconds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactkpi.config import OpeningHours, Tenant
from contactkpi.metrics.grains import (
    Clock,
    business_clock,
    epoch_s,
    is_open_expr,
    iter_periods,
    local_start,
    transitions,
)

PARIS = "Europe/Paris"
TENANT = Tenant(name="t", timezone=PARIS,
                opening_hours=OpeningHours.parse({"mon-fri": "08:30-12:00,13:00-18:00",
                                                  "sat": "09:00-13:00"}, "test"),
                holidays=frozenset({date(2026, 5, 1), date(2026, 12, 25)}))
#: local time over the years the instants are drawn from (a shorter offset table, fast tests)
CLOCK = Clock.for_range(PARIS, datetime(2025, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC))


def test_paris_transitions_2026_are_exact() -> None:
    segs = transitions(PARIS, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert [(datetime.fromtimestamp(t, UTC), o) for t, o in segs] == [
        (datetime(2026, 1, 1, tzinfo=UTC), 3600),
        (datetime(2026, 3, 29, 1, tzinfo=UTC), 7200),
        (datetime(2026, 10, 25, 1, tzinfo=UTC), 3600),
    ]


@pytest.mark.parametrize(("day", "hours"), [("2026-03-29", 23), ("2026-10-25", 25),
                                            ("2026-06-01", 24)])
def test_dst_days_have_23_or_25_hours_of_intervals(day: str, hours: int) -> None:
    clock = CLOCK
    start = clock.to_utc(date.fromisoformat(day))
    end = clock.to_utc(date.fromisoformat(day) + timedelta(days=1))
    assert len(list(iter_periods("hour", clock, start, end))) == hours
    assert len(list(iter_periods("interval_15m", clock, start, end))) == hours * 4
    starts = [local_start(p.pn, p.o, "hour", ZoneInfo(PARIS)).isoformat()
              for p in iter_periods("hour", clock, start, end)]
    assert len(set(starts)) == hours


@settings(max_examples=10, deadline=None)
@given(st.lists(instants, min_size=1, max_size=40))
def test_engine_local_time_matches_zoneinfo(points: list[datetime]) -> None:
    clock = CLOCK
    t = ibis.memtable(pd.DataFrame({"ts": pd.to_datetime(points, utc=True)}))
    lep, off = clock.local_epoch(t.ts)
    got = t.select(lep=lep, off=off).to_pandas()
    zone = ZoneInfo(PARIS)
    for p, (g_lep, g_off) in zip(points, got.itertuples(index=False), strict=True):
        local = p.astimezone(zone)
        assert g_off == local.utcoffset().total_seconds()
        naive = local.replace(tzinfo=None)
        assert g_lep == int((naive - datetime(1970, 1, 1)).total_seconds() // 1)


def _business_seconds(a: datetime, b: datetime, tenant: Tenant) -> int:
    """Brute force: open seconds between two instants, minute by minute (local time)."""
    zone = tenant.zone
    total, t = 0, a
    while t < b:
        step = min(b, (t + timedelta(minutes=1)).replace(second=0, microsecond=0))
        local = t.astimezone(zone)
        if tenant.is_open(local):
            total += int((step - t).total_seconds())
        t = step
    return total


@settings(max_examples=8, deadline=None)
@given(st.lists(st.tuples(instants, st.integers(min_value=0, max_value=5 * 86400)),
                min_size=1, max_size=6))
def test_business_clock_counts_open_seconds(pairs: list[tuple[datetime, int]]) -> None:
    rows = [(a.replace(second=0, microsecond=0), a.replace(second=0, microsecond=0)
             + timedelta(seconds=60 * (d // 60))) for a, d in pairs]
    clock = CLOCK
    t = ibis.memtable(pd.DataFrame({"a": pd.to_datetime([r[0] for r in rows], utc=True),
                                    "b": pd.to_datetime([r[1] for r in rows], utc=True)}))
    la, _ = clock.local_epoch(t.a)
    lb, _ = clock.local_epoch(t.b)
    got = t.select(s=business_clock(lb, TENANT) - business_clock(la, TENANT)).to_pandas()["s"]
    for (a, b), g in zip(rows, got, strict=True):
        assert g == _business_seconds(a, b, TENANT)


@settings(max_examples=10, deadline=None)
@given(st.lists(instants, min_size=1, max_size=40))
def test_is_open_matches_config(points: list[datetime]) -> None:
    clock = CLOCK
    t = ibis.memtable(pd.DataFrame({"ts": pd.to_datetime(points, utc=True)}))
    lep, _ = clock.local_epoch(t.ts)
    got = t.select(o=is_open_expr(lep, TENANT)).to_pandas()["o"].tolist()
    assert got == [TENANT.is_open(p.astimezone(TENANT.zone)) for p in points]


def test_a_holiday_is_closed_all_day() -> None:
    clock = CLOCK
    noon = datetime.combine(date(2026, 5, 1), time(10), tzinfo=ZoneInfo(PARIS))  # a Friday
    t = ibis.memtable(pd.DataFrame({"ts": pd.to_datetime([noon], utc=True)}))
    lep, _ = clock.local_epoch(t.ts)
    assert t.select(o=is_open_expr(lep, TENANT)).to_pandas()["o"].tolist() == [False]


def test_epoch_seconds_are_whole() -> None:
    t = ibis.memtable(pd.DataFrame({"ts": pd.to_datetime(["2026-01-01T00:00:01.9Z"])}))
    assert t.select(e=epoch_s(t.ts)).to_pandas()["e"].tolist() == [1767225601]
