"""Time grains cut in the tenant's local time, DST-correct, as engine-neutral integer maths.

Timestamps are stored in UTC. A row's *local epoch* is its UTC epoch second plus the zone's
UTC offset at that instant; the offset comes from the zone's transitions (read from the IANA
database with ``zoneinfo``) compiled into a balanced ``CASE`` tree, so every engine computes
the same local wall-clock time without needing time-zone support of its own.

Each grain turns the local epoch into an integer *period number* ``_pn``:

- ``interval_15m``, ``interval_30m``, ``hour``: the local wall-clock bucket index; a second key
  ``_o`` (the UTC offset, seconds) keeps apart the two local 02:00-03:00 hours of the autumn
  DST change, so such a day has 25 hours of intervals and the spring day 23;
- ``day``: days since 1970-01-01 (local); ``week``: Monday-based week number;
  ``month``/``quarter``/``year``: calendar numbers (``year*12+month-1``, ...);
- ``all``: no period key (the whole range).

``hour_of_day`` and ``weekday`` (0 = Monday) are cyclic: they are dimensions, and using one as
the grain means "grain all, by that dimension". Intervals are half-open ``[start, end)``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from contactkpi.config import OpeningHours, Tenant
from contactkpi.errors import QueryError

SUB_DAY = {"interval_15m": 900, "interval_30m": 1800, "hour": 3600}
CALENDAR = ("day", "week", "month", "quarter", "year")
CYCLIC = ("hour_of_day", "weekday")
GRAINS = (*SUB_DAY, *CALENDAR, "all", *CYCLIC)
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EPOCH_DAY = date(1970, 1, 1)
_DEFAULT_RANGE = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2060, 1, 1, tzinfo=UTC))


def check_grain(grain: str) -> str:
    """The grain name, or a QueryError listing the choices."""
    if grain not in GRAINS:
        raise QueryError(f"unknown grain {grain!r}", where="--grain",
                         hint="choose one of: " + ", ".join(GRAINS))
    return grain


def grain_rank(grain: str) -> int:
    """Order of grains from finest to coarsest (for 'over' checks)."""
    order = [*SUB_DAY, *CALENDAR, "all"]
    return order.index(grain)


# ---------------------------------------------------------------- zone offsets


@functools.lru_cache(maxsize=64)
def transitions(zone_name: str, lo: datetime, hi: datetime) -> tuple[tuple[int, int], ...]:
    """``((start_epoch, offset_s), ...)``: the zone's UTC offset from each instant on.

    The first entry starts at ``lo``; the offsets cover ``[lo, hi)`` exactly (found by
    scanning whole days and bisecting to the second where the offset changes).
    """
    zone = ZoneInfo(zone_name)

    def off(epoch: int) -> int:
        return int(datetime.fromtimestamp(epoch, tz=zone).utcoffset().total_seconds())

    start, end = int(lo.timestamp()), int(hi.timestamp())
    out = [(start, off(start))]
    step = 86400
    t = start
    while t < end:
        nxt = min(t + step, end)
        if off(nxt) != off(t):
            a, b = t, nxt  # off(a) != off(b): bisect to the first second with the new offset
            while b - a > 1:
                mid = (a + b) // 2
                if off(mid) == off(a):
                    a = mid
                else:
                    b = mid
            out.append((b, off(b)))
        t = nxt
    return tuple(out)


def _offset_tree(ep: ir.IntegerValue, segs: tuple[tuple[int, int], ...]) -> ir.IntegerValue:
    if len(segs) == 1:
        return ibis.literal(segs[0][1], type="int64")
    mid = len(segs) // 2
    return ibis.ifelse(ep < segs[mid][0], _offset_tree(ep, segs[:mid]),
                       _offset_tree(ep, segs[mid:]))


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(ts: dt.timestamp) -> dt.int64:  # type: ignore[valid-type, empty-body]
    """DuckDB: microseconds since 1970-01-01 UTC, read straight from the stored value."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_unix_micros(ts: dt.timestamp) -> dt.int64:  # type: ignore[valid-type, empty-body]
    """Spark: microseconds since 1970-01-01 UTC."""


#: The engine capability table: a builtin that reads a timestamp's UTC epoch without time-zone
#: arithmetic. Ibis's portable ``epoch_seconds`` casts through the session time zone, which on
#: DuckDB costs ~16x more per row; engines not listed here use it.
EPOCH_US = {"duckdb": _duckdb_epoch_us, "pyspark": _spark_unix_micros}


def epoch_s(ts: ir.TimestampValue, engine: str | None = None) -> ir.IntegerValue:
    """Whole UTC epoch seconds of a timestamp (floored: engines differ below a second)."""
    fast = EPOCH_US.get(engine or "")
    if fast is not None:
        return fast(ts) // 1_000_000
    return ts.epoch_seconds().cast("float64").floor().cast("int64")


@dataclass(frozen=True)
class Clock:
    """Local time of one tenant over one query range."""

    zone_name: str
    lo: datetime = _DEFAULT_RANGE[0]
    hi: datetime = _DEFAULT_RANGE[1]
    engine: str = ""  # backend name, for the fast epoch builtin (see EPOCH_US)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)

    @classmethod
    def for_range(cls, zone_name: str, start: datetime | None, end: datetime | None,
                  engine: str = "") -> Clock:
        """A clock whose offset table covers ``[start, end)`` with two days' margin."""
        lo = (start - timedelta(days=2)) if start else _DEFAULT_RANGE[0]
        hi = (end + timedelta(days=2)) if end else _DEFAULT_RANGE[1]
        return cls(zone_name, lo.astimezone(UTC), hi.astimezone(UTC), engine)

    def offset(self, ep: ir.IntegerValue) -> ir.IntegerValue:
        """UTC offset (seconds) at epoch ``ep`` as an engine expression."""
        segs = transitions(self.zone_name, self.lo, self.hi)
        return _offset_tree(ep, segs)

    def local_epoch(self, ts: ir.TimestampValue) -> tuple[ir.IntegerValue, ir.IntegerValue]:
        """(local wall-clock epoch seconds, offset) of a UTC timestamp column."""
        ep = epoch_s(ts, self.engine)
        off = self.offset(ep)
        return ep + off, off

    def to_utc(self, value: date | datetime) -> datetime:
        """A local date (midnight) or naive local datetime as an aware UTC datetime."""
        if not isinstance(value, datetime):
            value = datetime.combine(value, time(0))
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.zone)
        return value.astimezone(UTC)


# ---------------------------------------------------------------- civil calendar maths


def _civil(dn: ir.IntegerValue) -> tuple[ir.IntegerValue, ir.IntegerValue]:
    """(year, month 1..12) of a day number, as integer expressions (H. Hinnant's algorithm)."""
    z = dn + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = ibis.ifelse(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + ibis.ifelse(month <= 2, 1, 0)
    return year, month


def _days_from_civil(y: Any, m: Any) -> Any:
    """Day number of the 1st of month ``m`` of year ``y`` (expressions or ints)."""
    y2 = y - ibis.ifelse(m <= 2, 1, 0) if isinstance(m, ir.Value) else y - (1 if m <= 2 else 0)
    era = y2 // 400
    yoe = y2 - era * 400
    mp = ibis.ifelse(m > 2, m - 3, m + 9) if isinstance(m, ir.Value) else (
        m - 3 if m > 2 else m + 9)
    doy = (153 * mp + 2) // 5
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def day_number_keys(dn: ir.IntegerValue, grain: str) -> ir.IntegerValue:
    """Period number of a local day number for a calendar grain."""
    if grain == "day":
        return dn
    if grain == "week":
        return (dn + 3) // 7
    year, month = _civil(dn)
    if grain == "month":
        return year * 12 + month - 1
    if grain == "quarter":
        return year * 4 + (month - 1) // 3
    if grain == "year":
        return year
    raise QueryError(f"grain {grain} is not a calendar grain")


def period_keys(lep: ir.IntegerValue, off: ir.IntegerValue, grain: str) -> dict[str, Any]:
    """``{"_pn": ..., ["_o": ...]}`` of a local epoch for ``grain`` (nothing for ``all``)."""
    if grain == "all":
        return {}
    if grain in SUB_DAY:
        return {"_pn": lep // SUB_DAY[grain], "_o": off}
    return {"_pn": day_number_keys(lep // 86400, grain)}


def date_period_keys(dn: ir.IntegerValue, grain: str, metric: str) -> dict[str, Any]:
    """Period keys of a DATE column (a calendar day has no finer buckets)."""
    if grain == "all":
        return {}
    if grain in SUB_DAY:
        raise QueryError(f"{metric} is recorded per day and cannot be cut into {grain}",
                         where="--grain", hint="use day or a coarser grain")
    return {"_pn": day_number_keys(dn, grain)}


def period_first_day(pn: int, grain: str) -> date:
    """First local day of a calendar period number."""
    if grain == "day":
        return EPOCH_DAY + timedelta(days=pn)
    if grain == "week":
        return EPOCH_DAY + timedelta(days=pn * 7 - 3)
    if grain == "month":
        return date(pn // 12, pn % 12 + 1, 1)
    if grain == "quarter":
        return date(pn // 4, (pn % 4) * 3 + 1, 1)
    if grain == "year":
        return date(pn, 1, 1)
    raise ValueError(grain)


def period_days_expr(pn: ir.IntegerValue, grain: str) -> ir.IntegerValue:
    """Number of days in each calendar period, as an expression over ``_pn``."""
    if grain == "day":
        return ibis.literal(1)
    if grain == "week":
        return ibis.literal(7)
    if grain == "month":
        y, m = pn // 12, pn % 12 + 1
        ny, nm = ibis.ifelse(m == 12, y + 1, y), ibis.ifelse(m == 12, 1, m + 1)
    elif grain == "quarter":
        y, m = pn // 4, (pn % 4) * 3 + 1
        ny, nm = ibis.ifelse(m == 10, y + 1, y), ibis.ifelse(m == 10, 1, m + 3)
    elif grain == "year":
        y, m, ny, nm = pn, 1, pn + 1, 1
    else:
        raise ValueError(grain)
    return _days_from_civil(ny, nm) - _days_from_civil(y, m)


def local_start(pn: int, o: int | None, grain: str, zone: ZoneInfo) -> datetime:
    """The local start of a period, aware (its ISO form carries the UTC offset)."""
    if grain in SUB_DAY:
        instant = pn * SUB_DAY[grain] - int(o or 0)
        return datetime.fromtimestamp(instant, tz=zone)
    first = period_first_day(pn, grain)
    aware = datetime.combine(first, time(0)).replace(tzinfo=zone)
    # the round trip pushes a midnight that does not exist (DST at 00:00) past the gap
    return aware.astimezone(UTC).astimezone(zone)


def period_start_column(frame: pd.DataFrame, grain: str, zone: ZoneInfo) -> pd.Series:
    """``period_start`` (aware, local) computed from the ``_pn``/``_o`` keys of a result."""
    if frame.empty:
        return pd.Series([], dtype=f"datetime64[ns, {zone.key}]", index=frame.index)
    o = frame["_o"] if "_o" in frame.columns else pd.Series(0, index=frame.index)
    cache: dict[tuple[int, int], pd.Timestamp] = {}
    values = []
    for pn, off in zip(frame["_pn"], o, strict=True):
        key = (int(pn), int(off))
        if key not in cache:
            cache[key] = pd.Timestamp(local_start(key[0], key[1], grain, zone))
        values.append(cache[key])
    return pd.Series(pd.DatetimeIndex(values).tz_convert(zone.key), index=frame.index)


# ---------------------------------------------------------------- spine (snapshots)


@dataclass(frozen=True)
class Period:
    """One period of a spine: keys, bounds (UTC) and its local days."""

    pn: int | None
    o: int | None
    start: datetime  # aware UTC
    end: datetime  # aware UTC, exclusive
    first_day: date
    last_day: date


def iter_periods(grain: str, clock: Clock, start: datetime, end: datetime) -> Iterator[Period]:
    """Every period of ``grain`` that overlaps ``[start, end)`` (UTC instants)."""
    zone = clock.zone
    if grain == "all":
        ls, le = start.astimezone(zone), end.astimezone(zone)
        last = (le - timedelta(microseconds=1)).date()
        yield Period(None, None, start, end, ls.date(), last)
        return
    if grain in SUB_DAY:
        size = SUB_DAY[grain]
        t = int(start.timestamp())
        stop = int(end.timestamp())
        # align to the local bucket containing `start`
        off = int(datetime.fromtimestamp(t, tz=zone).utcoffset().total_seconds())
        t = ((t + off) // size) * size - off
        while t < stop:
            off = int(datetime.fromtimestamp(t, tz=zone).utcoffset().total_seconds())
            pn = (t + off) // size
            s = datetime.fromtimestamp(t, tz=UTC)
            e = datetime.fromtimestamp(t + size, tz=UTC)
            d = datetime.fromtimestamp(t, tz=zone).date()
            yield Period(pn, off, s, e, d, d)
            t += size
        return
    day = start.astimezone(zone).date()
    last_day = (end.astimezone(zone) - timedelta(microseconds=1)).date()
    seen: set[int] = set()
    while day <= last_day:
        dn = (day - EPOCH_DAY).days
        pn = _pn_of_day(dn, grain)
        if pn not in seen:
            seen.add(pn)
            first = period_first_day(pn, grain)
            nxt = period_first_day(pn + 1, grain)
            yield Period(pn, None, clock.to_utc(first), clock.to_utc(nxt), first,
                         nxt - timedelta(days=1))
        day += timedelta(days=1)


def _pn_of_day(dn: int, grain: str) -> int:
    d = EPOCH_DAY + timedelta(days=dn)
    if grain == "day":
        return dn
    if grain == "week":
        return (dn + 3) // 7
    if grain == "month":
        return d.year * 12 + d.month - 1
    if grain == "quarter":
        return d.year * 4 + (d.month - 1) // 3
    return d.year


# ---------------------------------------------------------------- opening hours


def _seconds(t: time) -> int:
    if t == time(23, 59, 59, 999999):
        return 86400
    return t.hour * 3600 + t.minute * 60 + t.second


def _ranges(hours: OpeningHours) -> dict[int, list[tuple[int, int]]]:
    return {d: [(_seconds(a), _seconds(b)) for a, b in hours.by_weekday.get(d, ())]
            for d in range(7)}


def is_open_expr(lep: ir.IntegerValue, tenant: Tenant) -> ir.BooleanValue:
    """Whether the centre was open at a local epoch (opening hours and holidays)."""
    dn = lep // 86400
    tod = lep - dn * 86400
    wd = (dn + 3) % 7
    ranges = _ranges(tenant.opening_hours)
    cond: ir.BooleanValue = ibis.literal(False)
    for d, rs in ranges.items():
        for a, b in rs:
            cond = cond | ((wd == d) & (tod >= a) & (tod < b))
    if tenant.holidays:
        days = sorted((h - EPOCH_DAY).days for h in tenant.holidays)
        cond = cond & ~dn.isin(days)
    return cond


def _clip(x: Any, length: int) -> Any:
    return ibis.least(ibis.greatest(x, 0), length)


def business_clock(lep: ir.IntegerValue, tenant: Tenant) -> ir.IntegerValue:
    """Open seconds elapsed from 1970-01-01 (local) to ``lep``: differences are business time.

    Weeks contribute their open seconds; the current week the open seconds of the days
    before today plus today's open seconds up to the time of day; holidays before today are
    subtracted whole, and today's part is removed when today is a holiday.
    """
    dn = lep // 86400
    tod = lep - dn * 86400
    wd = (dn + 3) % 7
    week = (dn + 3) // 7
    ranges = _ranges(tenant.opening_hours)
    day_total = {d: sum(b - a for a, b in rs) for d, rs in ranges.items()}
    week_total = sum(day_total.values())
    before = {d: sum(day_total[k] for k in range(d)) for d in range(7)}

    def in_day(d: int) -> Any:
        parts = [_clip(tod - a, b - a) for a, b in ranges[d]]
        total: Any = ibis.literal(0)
        for p in parts:
            total = total + p
        return total

    today_cases = [((wd == d), before[d] + in_day(d)) for d in range(7)]
    today = ibis.cases(*today_cases, else_=ibis.literal(0))
    clock = week * week_total + today
    if tenant.holidays:
        hols = sorted((h - EPOCH_DAY).days for h in tenant.holidays)
        cum = 0
        cuts: list[tuple[int, int]] = []
        for h in hols:
            cuts.append((h, cum))  # for dn <= h, holidays strictly before dn sum to cum
            cum += day_total[(h + 3) % 7]
        removed = ibis.cases(*[(dn <= h, c) for h, c in cuts], else_=ibis.literal(cum))
        today_part = ibis.cases(*[((wd == d), in_day(d)) for d in range(7)],
                                else_=ibis.literal(0))
        clock = clock - removed - ibis.ifelse(dn.isin(hols), today_part, 0)
    return clock
