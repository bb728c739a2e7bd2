"""The simulation clock and each tenant's local calendar on a one-minute grid.

The clock counts integer microseconds from ``origin``, the earliest tenant's first local
midnight (in UTC). Each tenant has one bin per real minute of its simulated local days, so a
day has 1,440 bins, or 1,380 / 1,500 when the clocks change: every bin knows its local
wall-clock minute, local day and weekday, and whether the tenant is open.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from datetime import date, time, timedelta

import numpy as np
import pandas as pd

from contactkpi.config import OpeningHours, Tenant

US_PER_S = 1_000_000
US_PER_MIN = 60 * US_PER_S


@dataclass(frozen=True)
class Clock:
    """Integer microseconds since ``origin`` (a UTC instant on a whole minute)."""

    origin: pd.Timestamp
    end_us: int

    def timestamps(self, us: np.ndarray) -> pd.Series:
        """Clock values as ``datetime64[us, UTC]``; negative values mean missing."""
        us = np.asarray(us, dtype=np.int64)
        base = self.origin.value // 1000
        values = (us + base).astype("datetime64[us]")
        out = pd.Series(values).dt.tz_localize("UTC")
        if (us < 0).any():
            out = out.where(us >= 0)
        return out.astype("datetime64[us, UTC]")


def _minute_ranges(hours: OpeningHours, weekday: int) -> list[tuple[int, int]]:
    out = []
    for a, b in hours.by_weekday.get(weekday, ()):
        start = a.hour * 60 + a.minute
        end = 1440 if b == time(23, 59, 59, 999999) else b.hour * 60 + b.minute
        out.append((start, end))
    return out


def local_midnight_utc(day: date, zone: str) -> pd.Timestamp:
    """The instant a local day starts (the first existing minute if midnight is skipped)."""
    ts = pd.Timestamp(day).tz_localize(zone, nonexistent="shift_forward", ambiguous=False)
    return ts.tz_convert("UTC")


@dataclass
class TenantCalendar:
    """A tenant's simulated days as one-minute bins on the global minute grid."""

    tenant: Tenant
    dates: list[date]
    first_minute: int  # global minute (since the clock origin) of bin 0
    wall_minute: np.ndarray  # local wall-clock minute of day of each bin
    day: np.ndarray  # local day index (0 .. days-1)
    weekday: np.ndarray  # local weekday, 0 = Monday
    open: np.ndarray  # the tenant is open during the bin
    day_start: np.ndarray  # bin index where each local day starts (len days + 1)
    open_starts_us: list[int]
    open_ends_us: list[int]

    @property
    def n_bins(self) -> int:
        return len(self.wall_minute)

    def hours_mask(self, hours: OpeningHours) -> np.ndarray:
        """Bins inside ``hours`` (holidays closed), e.g. a campaign's calling window."""
        mask = np.zeros(self.n_bins, dtype=bool)
        for wd in range(7):
            on_day = self.weekday == wd
            for start, end in _minute_ranges(hours, wd):
                mask |= on_day & (self.wall_minute >= start) & (self.wall_minute < end)
        holiday = np.array([d in self.tenant.holidays for d in self.dates], dtype=bool)
        if holiday.any():
            mask &= ~holiday[self.day]
        return mask

    def return_times(self, weights: np.ndarray) -> ReturnTimes:
        """When customers who meant to call while closed call instead, with the intraday
        arrival profile ``weights`` (one per bin, zero where closed)."""
        w = np.where(self.open, np.asarray(weights, dtype=np.float64), 0.0)
        cum = np.concatenate(([0.0], np.cumsum(w)))
        per_day = cum[self.day_start[1:]] - cum[self.day_start[:-1]]
        nxt = [-1] * (len(self.dates) + 1)
        for d in range(len(self.dates) - 1, -1, -1):
            nxt[d] = d if per_day[d] > 0 else nxt[d + 1]
        return ReturnTimes(first_minute=self.first_minute, cum=cum.tolist(),
                           day=self.day.tolist(), day_start=self.day_start.tolist(),
                           next_day=nxt, open_starts_us=self.open_starts_us,
                           open_ends_us=self.open_ends_us)


@dataclass(frozen=True)
class ReturnTimes:
    """Moves a contact meant for a closed moment into opening hours, as customers do.

    A customer who wants to call back while the tenant is closed calls later the same local
    day if it opens again, else on its next open day, at a time drawn in proportion to the
    intraday arrival profile (so follow-ups keep the profile the plan expects instead of
    piling up at opening time).
    """

    first_minute: int
    cum: list[float]  # cumulative profile weight before each bin (len bins + 1)
    day: list[int]  # local day of each bin
    day_start: list[int]  # first bin of each day (len days + 1)
    next_day: list[int]  # first day >= d with open weight, or -1 (len days + 1)
    open_starts_us: list[int]
    open_ends_us: list[int]

    def at(self, t_us: int, r: random.Random) -> int | None:
        """``t_us`` if the tenant is open then; else the moment the customer calls instead.

        Returns None when no opening follows within the simulated days.
        """
        k = bisect.bisect_right(self.open_starts_us, t_us) - 1
        if k >= 0 and t_us < self.open_ends_us[k]:
            return t_us
        b = max(t_us // US_PER_MIN - self.first_minute, -1)
        cum = self.cum
        if b >= len(self.day):
            return None
        d = self.day[b] if b >= 0 else 0
        lo, hi = b + 1, self.day_start[d + 1]
        if cum[hi] <= cum[lo]:  # nothing open later that day: the next open day
            d = self.next_day[d + 1]
            if d < 0:
                return None
            lo, hi = self.day_start[d], self.day_start[d + 1]
        u = cum[lo] + r.random() * (cum[hi] - cum[lo])
        j = min(max(bisect.bisect_right(cum, u) - 1, lo), hi - 1)
        return (self.first_minute + j) * US_PER_MIN + int(r.random() * US_PER_MIN)


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in ``mask``."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.diff(padded)
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def build_clock(tenants: list[Tenant], start: date, days: int) -> Clock:
    """The clock spanning every tenant's local days ``start`` .. ``start + days - 1``."""
    firsts = [local_midnight_utc(start, t.timezone) for t in tenants] or [
        pd.Timestamp(start, tz="UTC")]
    lasts = [local_midnight_utc(start + timedelta(days=days), t.timezone) for t in tenants] or [
        pd.Timestamp(start + timedelta(days=days), tz="UTC")]
    origin = min(firsts)
    end_us = int((max(lasts) - origin) / pd.Timedelta(microseconds=1))
    return Clock(origin=origin, end_us=end_us)


def build_calendar(tenant: Tenant, start: date, days: int, clock: Clock) -> TenantCalendar:
    """One-minute bins of the tenant's local days, with wall-clock minute and opening."""
    dates = [start + timedelta(days=i) for i in range(days)]
    bounds = [local_midnight_utc(d, tenant.timezone) for d in dates]
    bounds.append(local_midnight_utc(start + timedelta(days=days), tenant.timezone))
    minutes = np.array([int((b - clock.origin) / pd.Timedelta(minutes=1)) for b in bounds])
    first = int(minutes[0])
    day_start = (minutes - first).astype(np.int64)
    n = int(day_start[-1])
    instants = pd.DatetimeIndex(clock.origin + pd.to_timedelta(first + np.arange(n), unit="min"))
    local = instants.tz_convert(tenant.timezone)
    wall = (local.hour * 60 + local.minute).to_numpy().astype(np.int32)
    day = np.repeat(np.arange(days, dtype=np.int32), np.diff(day_start))
    weekday = np.array([d.weekday() for d in dates], dtype=np.int8)[day]
    cal = TenantCalendar(
        tenant=tenant, dates=dates, first_minute=first, wall_minute=wall, day=day,
        weekday=weekday, open=np.zeros(n, dtype=bool), day_start=day_start,
        open_starts_us=[], open_ends_us=[],
    )
    cal.open = cal.hours_mask(tenant.opening_hours)
    s, e = runs(cal.open)
    cal.open_starts_us = ((first + s) * US_PER_MIN).tolist()
    cal.open_ends_us = ((first + e) * US_PER_MIN).tolist()
    return cal
