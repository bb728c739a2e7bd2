"""Arrivals: a non-homogeneous Poisson process per queue on the one-minute grid.

The rate is constant within each minute, so drawing a Poisson count per minute and placing the
arrivals uniformly inside it is an exact draw of the process. The expected volume of a local
day is ``daily_volume x weekly[weekday] x volume_scale``, spread over the open minutes in
proportion to the intraday shape (a base level plus morning and afternoon peaks). A few
arrivals fall just outside opening hours (they are blocked), and occasional surges that no
plan foresaw multiply the rate for an hour or three.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contactkpi.simulate.calendar import US_PER_MIN, TenantCalendar
from contactkpi.simulate.config import QueueSim, TenantSim


def intraday_shape(tenant: TenantSim, wall_minute: np.ndarray) -> np.ndarray:
    """Relative arrival intensity at each local wall-clock minute (flat profile: all ones)."""
    if tenant.profile == "flat":
        return np.ones(len(wall_minute))
    m = wall_minute.astype(np.float64)
    shape = np.full(len(m), tenant.base)
    for p in tenant.peaks:
        shape += p.weight * np.exp(-0.5 * ((m - p.at_minute) / p.width_min) ** 2)
    return shape


@dataclass(frozen=True)
class QueueLoad:
    """Expected and actual arrival rates of one queue, per one-minute bin."""

    expected: np.ndarray  # plan: all contacts a forecast would expect (no surges)
    fresh: np.ndarray  # first contacts actually arriving (x surges); follow-ups come on top
    outside: np.ndarray  # arrivals just outside opening hours (blocked)
    surge_days: list[int]


def follow_up_share(queue: QueueSim, abandon_guess: float = 0.08) -> float:
    """Expected follow-up contacts (repeats of unresolved customers, redials after an abandon)
    per first contact; ``daily_volume`` counts both, so first contacts are the rest."""
    p_repeat = (1.0 - queue.resolution_rate) * queue.repeat_rate
    p = min(p_repeat + abandon_guess * queue.redial_rate, 0.9)
    return p / (1.0 - p)


def queue_load(cal: TenantCalendar, tenant: TenantSim, queue: QueueSim, scale: float,
               rng: np.random.Generator) -> QueueLoad:
    """Per-minute rates of ``queue`` over the tenant's calendar, with surges drawn.

    The expected rate spreads ``daily_volume`` (first and follow-up contacts) over the day;
    first contacts arrive at that rate divided by ``1 + follow_up_share``, multiplied by the
    surges; the event loop adds the follow-ups as they happen.
    """
    n_days = len(cal.dates)
    shape = intraday_shape(tenant, cal.wall_minute)
    always = queue.arrival_mode == "always"
    if always:
        mask = np.ones(cal.n_bins, dtype=bool)
        if tenant.profile != "flat":
            shape = shape + 0.25 * shape.mean()
    else:
        mask = cal.open
    weekly = np.ones(7) if tenant.profile == "flat" else np.asarray(tenant.weekly)
    day_volume = queue.daily_volume * scale * weekly[[d.weekday() for d in cal.dates]]
    starts = cal.day_start[:-1]
    denom = np.add.reduceat(shape * mask, starts) if cal.n_bins else np.zeros(n_days)
    per_unit = np.divide(day_volume, denom, out=np.zeros(n_days), where=denom > 0)
    expected = per_unit[cal.day] * shape * mask
    outside = np.zeros(cal.n_bins)
    if not always and tenant.outside_hours_rate > 0 and tenant.outside_hours_min > 0:
        k = int(round(tenant.outside_hours_min))
        near = np.convolve(cal.open.astype(np.int32), np.ones(2 * k + 1, dtype=np.int32),
                           mode="same") > 0
        edge = near & ~cal.open
        outside = np.where(edge, per_unit[cal.day] * shape * tenant.outside_hours_rate, 0.0)
    factor = np.ones(cal.n_bins)
    surge_days: list[int] = []
    if tenant.surge_rate > 0:
        hits = rng.random(n_days) < tenant.surge_rate
        lo_f, hi_f = tenant.surge_factor
        lo_h, hi_h = tenant.surge_hours
        for d in np.flatnonzero(hits):
            a, b = cal.day_start[d], cal.day_start[d + 1]
            open_bins = np.flatnonzero(mask[a:b]) + a
            if len(open_bins) == 0:
                continue
            start = int(open_bins[rng.integers(len(open_bins))])
            length = int(rng.uniform(lo_h, hi_h) * 60)
            factor[start:min(start + length, b)] *= rng.uniform(lo_f, hi_f)
            surge_days.append(int(d))
    fresh = expected * factor / (1.0 + follow_up_share(queue))
    return QueueLoad(expected=expected, fresh=fresh, outside=outside, surge_days=surge_days)


def draw_times(rng: np.random.Generator, rate: np.ndarray, first_minute: int) -> np.ndarray:
    """Sorted arrival times (clock microseconds) of a Poisson process with per-minute rates."""
    counts = rng.poisson(rate)
    total = int(counts.sum())
    bins = np.repeat(np.arange(len(rate), dtype=np.int64), counts)
    times = (first_minute + bins) * US_PER_MIN + rng.integers(0, US_PER_MIN, total)
    times.sort()
    return times
