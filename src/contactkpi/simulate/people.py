"""Workforce and planning tables: ``roster``, ``absences``, ``trainings``, ``schedules`` and the
plan's ``forecasts`` (the expected volume the staffing was sized to, without surges)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from contactkpi.simulate.calendar import US_PER_MIN
from contactkpi.simulate.frames import canonical
from contactkpi.simulate.rundata import RunData
from contactkpi.simulate.workforce import BLOCK_MIN, handle_time_s

FORECAST_MODEL = "simulator_plan"


def roster(data: RunData) -> pd.DataFrame:
    rows = [a for wf in data.workforces for a in wf.agents]
    return canonical("roster", {
        "tenant": [a.tenant for a in rows],
        "agent_id": [a.agent_id for a in rows],
        "name": [a.name for a in rows],
        "team": [a.team for a in rows],
        "supervisor": [a.supervisor for a in rows],
        "site": [a.site for a in rows],
        "skills": [",".join(a.skills) if a.skills else None for a in rows],
        "employment": [a.employment for a in rows],
        "fte": [a.fte for a in rows],
        "hourly_cost": [a.hourly_cost for a in rows],
        "hired_on": [a.hired_on for a in rows],
        "left_on": [a.left_on for a in rows],
        "leave_reason": [a.leave_reason for a in rows],
    }, len(rows))


def absences(data: RunData) -> pd.DataFrame:
    rows = [(t.name, *r) for t, wf in zip(data.cfg.tenants, data.workforces, strict=True)
            for r in wf.absences]
    return canonical("absences", {
        "tenant": [r[0] for r in rows], "agent_id": [r[1] for r in rows],
        "date": [r[2] for r in rows], "kind": [r[3] for r in rows],
        "hours": [r[4] for r in rows], "planned": [r[5] for r in rows],
    }, len(rows)).sort_values(["tenant", "date", "agent_id"], ignore_index=True)


def trainings(data: RunData) -> pd.DataFrame:
    rows = [(t.name, *r) for t, wf in zip(data.cfg.tenants, data.workforces, strict=True)
            for r in wf.trainings]
    return canonical("trainings", {
        "tenant": [r[0] for r in rows], "agent_id": [r[1] for r in rows],
        "course": [r[2] for r in rows], "category": [r[3] for r in rows],
        "started_at": data.clock.timestamps(np.array([r[4] for r in rows], dtype=np.int64)),
        "hours": [r[5] for r in rows],
    }, len(rows)).sort_values(["tenant", "started_at", "agent_id"], ignore_index=True)


def schedules(data: RunData) -> pd.DataFrame:
    rows = [(t.name, *r) for t, wf in zip(data.cfg.tenants, data.workforces, strict=True)
            for r in wf.schedules]
    return canonical("schedules", {
        "tenant": [r[0] for r in rows], "agent_id": [r[1] for r in rows],
        "activity": [r[2] for r in rows], "queue": [r[3] for r in rows],
        "starts_at": data.clock.timestamps(np.array([r[4] for r in rows], dtype=np.int64)),
        "ends_at": data.clock.timestamps(np.array([r[5] for r in rows], dtype=np.int64)),
    }, len(rows)).sort_values(["tenant", "agent_id", "starts_at"], ignore_index=True)


def forecasts(data: RunData) -> pd.DataFrame:
    """Expected volume and handle time per queue and 30-minute local interval."""
    parts = []
    created = data.clock.origin - pd.Timedelta(days=7)
    for info in data.queues:
        cal = data.calendars[info.tenant]
        starts, volumes = [], []
        for d in range(len(cal.dates)):
            a, b = int(cal.day_start[d]), int(cal.day_start[d + 1])
            idx = np.arange(a, b, BLOCK_MIN)
            vol = np.add.reduceat(info.load.expected[a:b], idx - a)
            keep = vol > 0
            starts.append((cal.first_minute + idx[keep]) * US_PER_MIN)
            volumes.append(vol[keep])
        start_us = np.concatenate(starts) if starts else np.array([], dtype=np.int64)
        k = len(start_us)
        q = info.sim
        parts.append(canonical("forecasts", {
            "tenant": data.cfg.tenants[info.tenant].name,
            "queue": q.name,
            "interval_start_at": data.clock.timestamps(start_us),
            "interval_s": float(BLOCK_MIN * 60),
            "model": FORECAST_MODEL,
            "created_at": pd.Series([created] * k, dtype="datetime64[us, UTC]"),
            "volume": np.round(np.concatenate(volumes), 3) if volumes else [],
            "aht_s": round(handle_time_s(q) - (q.ring_s.mean if q.ring_s.dist != "never"
                                                else 0.0), 1),
        }, k))
    return pd.concat(parts, ignore_index=True) if parts else canonical("forecasts", {}, 0)
