"""Time-weighted agent states (hypothesis): the pieces of each interval add up.

Sessions of random length (up to 30 h) around the autumn DST change in Paris: logged-in
hours summed over the 15-min, 30-min, hour and day buckets equal the hours of the whole
range, which equal the sessions' seconds inside the range computed here in plain Python;
and no bucket holds more than its own length per session.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kpihelpers import load_case_warehouse, read_case_file, settings_of

from contactkpi.config import Settings, Tenant
from contactkpi.metrics import MetricQuery, drill, run
from contactkpi.store import Warehouse, load_frames

START = datetime(2026, 10, 24, tzinfo=UTC)
LO, HI = datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 26, 23, tzinfo=UTC)
SETTINGS = Settings(default_tenant="t", tenants={"t": Tenant(name="t", timezone="Europe/Paris")})

session = st.tuples(st.integers(min_value=0, max_value=3 * 24 * 3600),
                    st.integers(min_value=1, max_value=30 * 3600))


def _warehouse(rows: list[tuple[int, int]]) -> Warehouse:
    frame = pd.DataFrame([{
        "agent_id": f"a{i}", "state": "logged_in",
        "started_at": START + timedelta(seconds=s), "ended_at": START + timedelta(seconds=s + d),
    } for i, (s, d) in enumerate(rows)])
    wh = Warehouse.memory()
    load_frames(wh, {"agent_states": frame}, tenant="t")
    return wh


def _hours(wh: Warehouse, grain: str, by: tuple[str, ...] = ()) -> pd.DataFrame:
    q = MetricQuery(metrics=("logged_in_hours",), grain=grain, by=by, start=LO.isoformat(),
                    end=HI.isoformat(), tenant="t", targets=False)
    return run(wh, q, settings=SETTINGS).frame


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(session, min_size=1, max_size=6))
def test_pieces_add_up_to_the_seconds_inside_the_range(rows: list[tuple[int, int]]) -> None:
    wh = _warehouse(rows)
    lo, hi = (LO - START).total_seconds(), (HI - START).total_seconds()
    inside = sum(max(0.0, min(s + d, hi) - max(s, lo)) for s, d in rows) / 3600
    whole = _hours(wh, "all")["logged_in_hours"]
    assert whole.fillna(0).sum() == pytest.approx(inside, abs=1e-9)
    for grain, size_h in (("interval_15m", 0.25), ("interval_30m", 0.5), ("hour", 1.0),
                          ("day", 25.0)):
        got = _hours(wh, grain)["logged_in_hours"]
        assert got.sum() == pytest.approx(inside, abs=1e-9), grain
        assert (got <= size_h * len(rows) + 1e-9).all(), grain
    by_hour = _hours(wh, "all", ("hour_of_day",))["logged_in_hours"]
    assert by_hour.sum() == pytest.approx(inside, abs=1e-9)


def test_drill_shows_the_pieces_inside_the_cell() -> None:
    """a1's 07:00-14:30Z session and 10:00-10:45Z pause (tests/cases/agent_intervals.yaml):
    the 11:00 local hour holds 3600 s logged in and 2700 s paused -> 0.25 staffed agents."""
    spec = read_case_file(Path(__file__).resolve().parents[1] / "cases" / "agent_intervals.yaml")
    q = MetricQuery(metrics=("staffed_agents",), by=("queue",), grain="hour",
                    start="2026-03-02", end="2026-03-03", tenant="paris")
    rows = drill(load_case_warehouse(spec), q, "staffed_agents",
                 {"queue": "q1", "period_start": "2026-03-02T11:00:00+01:00"},
                 settings=settings_of(spec)).set_index("state")
    assert rows.loc["logged_in", "logged_value"] == 3600
    assert rows.loc["paused", "paused_value"] == 2700
    assert str(rows.loc["logged_in", "started_at"]) == "2026-03-02 10:00:00+00:00"
