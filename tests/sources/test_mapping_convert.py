"""Value conversions of the mapping: durations, local timestamps (DST), value maps, text."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactkpi.sources.convert import (
    apply_map,
    combine_date_time,
    localize,
    parse_duration,
    parse_timestamp,
    to_number,
    to_text,
)
from contactkpi.sources.mapping import ValueMap, template_parts


def _s(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype="object")


def _hms(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


# ----------------------------------------------------------------------------- durations


def test_hms_durations_by_hand() -> None:
    secs, bad, negative = parse_duration(
        _s("0:00:12", "1:02:05", "26:00:00", "04:31", "75:30", "0:00:01.5", "45", None, ""),
        "hms")
    assert secs.tolist()[:7] == [12.0, 3725.0, 93600.0, 271.0, 4530.0, 1.5, 45.0]
    assert secs[7:].isna().all()
    assert not bad.any() and not negative.any()


def test_bad_and_negative_durations_are_flagged_not_blanks() -> None:
    secs, bad, negative = parse_duration(
        _s("-0:00:05", "0:61:00", "0:00:75", "abc", "1:2:3:4", "", None), "hms")
    assert bad.tolist() == [False, True, True, True, True, False, False]
    assert negative.tolist() == [True, False, False, False, False, False, False]
    assert secs.isna().all()


@pytest.mark.parametrize(("unit", "text", "expected"), [
    ("seconds", "90", 90.0),
    ("seconds", "12.5", 12.5),
    ("milliseconds", "1500", 1.5),
    ("minutes", "30", 1800.0),
    ("hours", "1.5", 5400.0),
])
def test_numeric_units(unit: str, text: str, expected: float) -> None:
    secs, bad, negative = parse_duration(_s(text), unit)
    assert secs[0] == pytest.approx(expected)
    assert not bad[0] and not negative[0]


def test_numeric_durations_with_decimal_comma_and_negative() -> None:
    secs, bad, negative = parse_duration(_s("1,5", "-3", "x"), "minutes", decimal=",")
    assert secs[0] == 90.0
    assert negative.tolist() == [False, True, False]
    assert bad.tolist() == [False, False, True]


def test_typed_cells_are_durations_in_any_unit() -> None:
    secs, bad, _ = parse_duration(_s(timedelta(minutes=2), time(0, 3, 10), 7, 2.5), "hms")
    assert secs.tolist() == [120.0, 190.0, 7.0, 2.5]
    assert not bad.any()
    secs, _, _ = parse_duration(pd.Series([1.0, np.nan, 2.0]), "minutes")
    assert secs[0] == 60.0 and np.isnan(secs[1]) and secs[2] == 120.0


@given(st.integers(min_value=0, max_value=10**7))
def test_hms_round_trips_whole_seconds(seconds: int) -> None:
    secs, bad, negative = parse_duration(_s(_hms(seconds)), "hms")
    assert secs[0] == seconds
    assert not bad[0] and not negative[0]


@given(st.integers(min_value=0, max_value=3599), st.integers(min_value=0, max_value=999))
def test_mm_ss_with_fraction_round_trips(seconds: int, millis: int) -> None:
    m, s = divmod(seconds, 60)
    secs, _, _ = parse_duration(_s(f"{m:02d}:{s:02d}.{millis:03d}"), "hms")
    assert secs[0] == pytest.approx(seconds + millis / 1000)


@given(st.integers(min_value=1, max_value=10**6))
def test_any_negative_duration_is_flagged(seconds: int) -> None:
    for unit, text in (("hms", "-" + _hms(seconds)), ("seconds", f"-{seconds}")):
        secs, bad, negative = parse_duration(_s(text), unit)
        assert negative[0] and not bad[0] and np.isnan(secs[0])


# ----------------------------------------------------------------------------- timestamps


def test_iso_text_with_and_without_offset() -> None:
    naive, aware, bad = parse_timestamp(
        _s("2024-03-04 08:01:12", "2024-03-04T09:15:00Z", "2024-03-05T08:12:55+01:00", "nope",
           None))
    assert naive[0] == pd.Timestamp("2024-03-04 08:01:12") and pd.isna(aware[0])
    assert aware[1] == pd.Timestamp("2024-03-04 09:15:00Z") and pd.isna(naive[1])
    assert aware[2] == pd.Timestamp("2024-03-05 07:12:55Z")
    assert bad.tolist() == [False, False, False, True, False]


def test_strptime_format() -> None:
    naive, _, bad = parse_timestamp(_s("05.03.2024 14:30", "2024-03-05 14:30"),
                                    "%d.%m.%Y %H:%M")
    assert naive[0] == pd.Timestamp("2024-03-05 14:30")
    assert bad.tolist() == [False, True]


def test_separate_date_and_time_columns() -> None:
    naive, bad_date, bad_time = combine_date_time(
        _s("04/03/2024", "31/02/2024", "04/03/2024", None, "04/03/2024"),
        _s("08:01:12", "08:00:00", "25:00:00", None, None),
        "%d/%m/%Y", "%H:%M:%S")
    assert naive[0] == pd.Timestamp("2024-03-04 08:01:12")
    assert bad_date.tolist() == [False, True, False, False, False]
    assert bad_time.tolist() == [False, False, True, False, True]
    assert naive[1:].isna().all()


def test_london_dst_by_hand() -> None:
    wall = pd.Series(pd.to_datetime([
        "2024-03-04 08:00",  # GMT: UTC+0
        "2024-03-31 00:30",  # before the gap
        "2024-03-31 01:30",  # in the gap: does not exist
        "2024-03-31 02:30",  # BST: UTC+1
        "2024-10-27 01:30",  # twice: 00:30 UTC (BST) then 01:30 UTC (GMT)
    ]))
    utc, gap, twice = localize(wall, "Europe/London", "earlier")
    assert gap.tolist() == [False, False, True, False, False]
    assert not twice.any()
    assert utc[0] == pd.Timestamp("2024-03-04 08:00Z")
    assert utc[1] == pd.Timestamp("2024-03-31 00:30Z")
    assert pd.isna(utc[2])
    assert utc[3] == pd.Timestamp("2024-03-31 01:30Z")
    assert utc[4] == pd.Timestamp("2024-10-27 00:30Z")
    later, _, _ = localize(wall, "Europe/London", "later")
    assert later[4] == pd.Timestamp("2024-10-27 01:30Z")
    strict, gap2, twice2 = localize(wall, "Europe/London", "reject")
    assert twice2.tolist() == [False, False, False, False, True]
    assert gap2.tolist() == gap.tolist()
    assert pd.isna(strict[4]) and strict[3] == utc[3]


_ZONES = ["Europe/Paris", "Europe/London", "America/New_York", "Australia/Sydney",
          "Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Kolkata", "UTC"]


@functools.cache
def _transitions(zone: str, year: int) -> list[datetime]:
    """Wall-clock times (old offset) at which ``zone`` changed its UTC offset in ``year``."""
    z = ZoneInfo(zone)
    out = []
    t = datetime(year, 1, 1, tzinfo=UTC)
    before = t.astimezone(z).utcoffset()
    while t.year == year:
        t += timedelta(hours=1)
        now = t.astimezone(z).utcoffset()
        if now != before:
            out.append((t - timedelta(hours=1)).astimezone(z).replace(tzinfo=None)
                       + timedelta(hours=1))
            before = now
    return out


@st.composite
def _wall_times(draw: st.DrawFn, zone: str) -> datetime:
    """Wall times anywhere, or within two hours of a DST change of ``zone``."""
    if draw(st.booleans()):
        return draw(st.datetimes(min_value=datetime(2000, 1, 1),
                                 max_value=datetime(2035, 12, 31))).replace(microsecond=0)
    year = draw(st.integers(min_value=2000, max_value=2035))
    changes = _transitions(zone, year) or [datetime(year, 6, 1)]
    at = draw(st.sampled_from(changes))
    return at + timedelta(minutes=draw(st.integers(min_value=-120, max_value=120)))


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from(_ZONES), st.sampled_from(["earlier", "later"]))
def test_localize_agrees_with_zoneinfo(data: st.DataObject, zone: str, ambiguous: str) -> None:
    """A wall time is rejected iff zoneinfo says it does not exist; otherwise the instant
    shows the same wall time in the zone, and repeated times take the chosen occurrence."""
    wall = data.draw(_wall_times(zone))
    z = ZoneInfo(zone)
    first = wall.replace(tzinfo=z, fold=0)
    second = wall.replace(tzinfo=z, fold=1)
    exists = first.astimezone(UTC).astimezone(z).replace(tzinfo=None) == wall
    utc, gap, twice = localize(pd.Series([pd.Timestamp(wall)]), zone, ambiguous)
    assert not twice[0]
    assert bool(gap[0]) is (not exists)
    if exists:
        expected = (first if ambiguous == "earlier" or first.utcoffset() == second.utcoffset()
                    else second).astimezone(UTC)
        assert utc[0].to_pydatetime() == expected


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31)))
def test_every_day_of_paris_has_a_gap_only_at_spring_forward(day: datetime) -> None:
    """Each minute 00:00-03:59 of a day: nonexistent minutes are exactly the hour after
    02:00 on the last Sunday of March."""
    start = pd.Timestamp(day.date())
    minutes = pd.Series(pd.date_range(start, periods=240, freq="min"))
    _, gap, _ = localize(minutes, "Europe/Paris")
    is_spring_day = day.month == 3 and day.weekday() == 6 and day.day >= 25
    assert int(gap.sum()) == (60 if is_spring_day else 0)
    if is_spring_day:
        assert minutes[gap].min().hour == 2 and minutes[gap].max().minute == 59


# ----------------------------------------------------------------------------- maps, text


def test_value_map_default_passthrough_blank_and_case() -> None:
    vmap = ValueMap((("y", "answered"), ("n", "abandoned")), ignore_case=True)
    out = apply_map(_s("Y", " n ", "X", None, ""), vmap)
    assert out.tolist() == ["answered", "abandoned", "X", None, None]
    strict = ValueMap((("Y", "answered"),))
    assert apply_map(_s("y", "Y"), strict).tolist() == ["y", "answered"]
    with_default = ValueMap((("Y", "answered"),), default="abandoned")
    assert apply_map(_s("Y", "Q", None), with_default).tolist() == ["answered", "abandoned", None]
    blank_key = ValueMap((("", "no_answer"), ("1", "answered")))
    assert apply_map(pd.Series([1, None], dtype="object"), blank_key).tolist() == \
        ["answered", "no_answer"]


def test_to_text_of_typed_cells() -> None:
    out = to_text(pd.Series([" a ", 1234.0, 12.5, True, None, np.nan, 7,
                             datetime(2024, 3, 4, 8, 0)], dtype="object"))
    assert out.tolist() == ["a", "1234", "12.5", "true", None, None, "7", "2024-03-04T08:00:00"]
    assert to_text(pd.Series([1, None], dtype="Int64")).tolist() == ["1", None]


def test_to_number_with_separators() -> None:
    out = to_number(_s("1.234,5", "7", "x", None), decimal=",", thousands=".")
    assert out[0] == 1234.5 and out[1] == 7.0 and out[2:].isna().all()


def test_template_parts() -> None:
    assert template_parts("{Date}-{Call ID}") == [(True, "Date"), (False, "-"), (True, "Call ID")]
    assert template_parts("{{x}}-{_line}") == [(False, "{x}-"), (True, "_line")]
    for bad in ("{", "a}", "{}", "{a"):
        with pytest.raises(ValueError):
            template_parts(bad)
