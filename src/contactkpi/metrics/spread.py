"""Time-weighting: split interval rows (agent states) across the periods they overlap.

A state interval ``[started_at, ended_at)`` that spans several buckets of a grain belongs
to each bucket for the seconds it overlaps it: a 07:00-14:30 session gives 1800 s to each
half-hour from 07:00 to 14:00, and a session crossing local midnight splits across the two
days. Buckets are cut in the tenant's local time, DST-correct, like the contacts grains.

The split is engine-neutral Ibis: each row gets an integer array of the bucket starts it
overlaps (``ibis.range``, i.e. DuckDB ``range`` / Spark ``sequence``), unnested into one row
per piece; the piece's start and end replace the row's own, so the measure's expression
(``elapsed_s(started_at, ended_at)``), the period keys and the dimensions computed from the
start work unchanged on the pieces.

- sub-day grains (or ``hour_of_day``): bucket starts step by the bucket length in UTC from
  the local bucket holding the start; zones change offset by whole hours (at bucket edges),
  so the UTC steps stay on local bucket edges across a DST change;
- day and coarser grains (or ``weekday``): one piece per local day, cut at local midnight
  (a DST day is 23 or 25 hours long);
- grain ``all``: no split, only the clip to the query range.

Every piece is clipped to the query range ``[--from, --to)``, so a session that began
before ``--from`` counts for its seconds inside the range. Rows still open (no end) are
kept as one piece at their start (with no end), for measures that filter them out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from contactkpi.metrics.grains import CALENDAR, SUB_DAY, Clock, epoch_s

DAY_S = 86400


def split_unit(grain: str, dims: tuple[str, ...] | list[str]) -> int | str | None:
    """The piece size a query needs: seconds of a sub-day bucket, ``"day"`` or ``None``."""
    if grain in SUB_DAY:
        return SUB_DAY[grain]
    if "hour_of_day" in dims:
        return 3600
    if grain in CALENDAR or "weekday" in dims:
        return "day"
    return None


def _midnight(dn: ir.IntegerValue, clock: Clock) -> ir.IntegerValue:
    """UTC epoch of local midnight starting local day number ``dn``."""
    local = dn * DAY_S
    guess = local - clock.offset(local)
    return local - clock.offset(guess)


def spread_rows(t: ibis.Table, start_col: str, end_col: str, clock: Clock,
                unit: int | str | None, lo: datetime | None, hi: datetime | None
                ) -> ibis.Table:
    """One row per (row, overlapped bucket), with ``start_col``/``end_col`` clipped to it.

    Args:
        t: The interval rows (any columns; ``start_col`` and ``end_col`` timestamps).
        start_col: Start of each interval (required).
        end_col: End of each interval, exclusive (null: still open).
        clock: Local time of the tenant (offsets, engine).
        unit: Bucket length in seconds, ``"day"`` (local days) or ``None`` (no split).
        lo: Range start (aware UTC) or None; pieces before it are cut off.
        hi: Range end (aware UTC, exclusive) or None.

    Returns:
        The same columns; ``start_col``/``end_col`` are the piece's bounds.
    """
    engine = clock.engine
    a = epoch_s(t[start_col], engine)
    b = epoch_s(t[end_col], engine)
    u = t.mutate(_sa=a, _sb=b)
    a, b = u._sa, u._sb
    open_ = b.isnull()
    if lo is not None:
        a = ibis.greatest(a, int(lo.timestamp()))
    if hi is not None:
        b = ibis.least(b, int(hi.timestamp()))
    # closed rows: something left after the clip; open rows: their start is in the range
    in_range: Any = ibis.literal(True)
    if lo is not None:
        in_range = in_range & (u._sa >= int(lo.timestamp()))
    if hi is not None:
        in_range = in_range & (u._sa < int(hi.timestamp()))
    keep = ibis.ifelse(open_, in_range, b > a)
    u = u.mutate(_ca=a, _cb=b).filter(keep)
    a, b = u._ca, u._cb
    stop = ibis.coalesce(b, a + 1)  # an open row is one piece at its start
    if unit is None:
        pieces = u.mutate(_ps=a, _pe=b)
    elif unit == "day":
        la = a + clock.offset(a)
        last = stop - 1
        lb = last + clock.offset(last)
        u = u.mutate(_d=ibis.range(la // DAY_S, lb // DAY_S + 1)).unnest("_d")
        start = ibis.greatest(u._ca, _midnight(u._d, clock))
        end = ibis.least(u._cb, _midnight(u._d + 1, clock))
        pieces = u.mutate(_ps=start, _pe=end)
    else:
        size = int(unit)
        first = a - (a + clock.offset(a)) % size
        u = u.mutate(_b=ibis.range(first, stop, size)).unnest("_b")
        pieces = u.mutate(_ps=ibis.greatest(u._ca, u._b), _pe=ibis.least(u._cb, u._b + size))
    pieces = pieces.filter(pieces._pe.isnull() | (pieces._pe > pieces._ps))
    shift_a = (pieces._ps - pieces._sa).as_interval("s")
    shift_b = (pieces._pe - pieces._sa).as_interval("s")
    out = pieces.mutate(**{
        start_col: pieces[start_col] + shift_a,
        end_col: ibis.ifelse(pieces._pe.isnull(), ibis.null(),
                             pieces[start_col] + shift_b).cast(t.schema()[end_col]),
    })
    return out.select(*t.columns)
