"""Arrivals: a non-homogeneous Poisson process per queue on the one-minute grid.

The rate is constant within each minute, so drawing a Poisson count per minute and placing the
arrivals uniformly inside it is an exact draw of the process. The expected volume of a local
day is ``daily_volume x weekly[weekday] x volume_scale``, spread over the open minutes in
proportion to the intraday shape (a base level plus morning and afternoon peaks). A few
arrivals fall just outside opening hours (they are blocked), and occasional surges that no
plan foresaw multiply the rate for an hour or three. Even without a surge no half-hour
brings exactly the volume planned: its rate deviates from the plan by a random factor
(lognormal, mean 1, sd ``volume_noise``), as real volumes do around their forecast.

Everything random about a local day (its surge, its arrivals) is drawn from a generator of
that day alone (``day_rng(date)``), so a calendar day gets the same surges and the same first
contacts whether the run lasts one day or a year. A run does not start on an empty center
either: on its first days the follow-ups of customers who contacted before it arrive with
the first contacts, so day one already brings the volume the plan expects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

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
    fresh: np.ndarray  # first contacts actually arriving (x surges), with the follow-ups of
    # contacts made before the run on its first days; the loop adds follow-ups on top
    outside: np.ndarray  # arrivals just outside opening hours (blocked)
    surge_days: list[int]


ABANDON_GUESS = 0.05  # share of calls abandoned, for the planned number of redials
_CARRY_DAYS = 14  # follow-ups of contacts made before the run are drawn this far in
_NOISE_MIN = 30  # volume deviates from the plan by half-hour


def follow_up_share(queue: QueueSim, abandon_guess: float = ABANDON_GUESS) -> float:
    """Expected follow-up contacts (repeats of unresolved customers, redials after an abandon)
    per first contact; ``daily_volume`` counts both, so first contacts are the rest."""
    p_repeat = (1.0 - queue.resolution_rate) * queue.repeat_rate
    p = min(p_repeat + abandon_guess * queue.redial_rate, 0.9)
    return p / (1.0 - p)


def carried_in(queue: QueueSim, seconds: np.ndarray,
               abandon_guess: float = ABANDON_GUESS) -> np.ndarray:
    """Follow-ups per first contact still due ``seconds`` after the run starts from customers
    who contacted before it (a center does not start empty: yesterday's unresolved customers
    call back today). Zero once every delay has passed."""
    p_repeat = (1.0 - queue.resolution_rate) * queue.repeat_rate
    p_redial = abandon_guess * queue.redial_rate
    p = p_repeat + p_redial
    if p <= 0:
        return np.zeros(len(seconds))
    share = follow_up_share(queue, abandon_guess)
    return share * (p_repeat * queue.repeat_delay_s.survival(seconds)
                    + p_redial * queue.redial_delay_s.survival(seconds)) / p


#: A generator for one local day: the same date always gives the same draws.
DayRng = Callable[[date], np.random.Generator]


def queue_load(cal: TenantCalendar, tenant: TenantSim, queue: QueueSim, scale: float,
               day_rng: DayRng) -> QueueLoad:
    """Per-minute rates of ``queue`` over the tenant's calendar, with surges drawn.

    The expected rate spreads ``daily_volume`` (first and follow-up contacts) over the day;
    first contacts arrive at that rate divided by ``1 + follow_up_share``, multiplied by the
    surges (drawn day by day from ``day_rng``); the event loop adds the follow-ups as they
    happen.
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
    lo_f, hi_f = tenant.surge_factor
    lo_h, hi_h = tenant.surge_hours
    sd = 0.0 if tenant.profile == "flat" else tenant.volume_noise  # flat: a constant rate
    for d, day in enumerate(cal.dates):
        rng = day_rng(day)
        a, b = int(cal.day_start[d]), int(cal.day_start[d + 1])
        if sd > 0:
            half_hours = -(-(b - a) // _NOISE_MIN)
            noise = np.exp(rng.normal(-0.5 * sd * sd, sd, half_hours))
            factor[a:b] = np.repeat(noise, _NOISE_MIN)[:b - a]
        if tenant.surge_rate <= 0 or rng.random() >= tenant.surge_rate:
            continue
        open_bins = np.flatnonzero(mask[a:b]) + a
        if len(open_bins) == 0:
            continue
        start = int(open_bins[rng.integers(len(open_bins))])
        length = int(rng.uniform(lo_h, hi_h) * 60)
        factor[start:min(start + length, b)] *= rng.uniform(lo_f, hi_f)
        surge_days.append(int(d))
    # first contacts, plus the follow-ups of contacts made before the run (its first days)
    fresh = expected * factor / (1.0 + follow_up_share(queue))
    warm = min(cal.n_bins, int(cal.day_start[min(_CARRY_DAYS, n_days)]))
    if warm:
        fresh[:warm] *= 1.0 + carried_in(queue, np.arange(warm) * 60.0 + 30.0)
    return QueueLoad(expected=expected, fresh=fresh, outside=outside, surge_days=surge_days)


def draw_times(rng: np.random.Generator, rate: np.ndarray, first_minute: int) -> np.ndarray:
    """Sorted arrival times (clock microseconds) of a Poisson process with per-minute rates."""
    counts = rng.poisson(rate)
    total = int(counts.sum())
    bins = np.repeat(np.arange(len(rate), dtype=np.int64), counts)
    times = (first_minute + bins) * US_PER_MIN + rng.integers(0, US_PER_MIN, total)
    times.sort()
    return times


def draw_day_times(day_rng: DayRng, rate: np.ndarray, cal: TenantCalendar) -> np.ndarray:
    """Sorted arrival times over the tenant's calendar, each local day drawn from its own
    generator (the same date gives the same arrivals in runs of any length)."""
    parts = []
    for d, day in enumerate(cal.dates):
        a, b = int(cal.day_start[d]), int(cal.day_start[d + 1])
        if rate[a:b].any():
            parts.append(draw_times(day_rng(day), rate[a:b], cal.first_minute + a))
    return np.concatenate(parts) if parts else np.array([], dtype=np.int64)
