"""Value conversions only a source can do: text, numbers, durations, local timestamps, maps.

Every function takes a pandas Series of raw cell values (text from CSV; numbers, datetimes,
times or text from XLSX and Parquet; ``None`` or NaN for blank) and works on the whole column
at once. Functions that can fail return the converted series and a boolean mask of the cells
that could not be converted; blank cells are never "bad", they stay blank.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from contactkpi.sources.mapping import DURATION_UNITS, ValueMap

__all__ = [
    "apply_map",
    "combine_date_time",
    "localize",
    "normalize_number_text",
    "parse_duration",
    "parse_timestamp",
    "to_number",
    "to_text",
]

_HMS = r"^(?P<sign>-?)(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d{1,2}(?:[.,]\d*)?)$"
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Zulu", "Zulu"})
_OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")


def _none_series(index: pd.Index) -> pd.Series:
    return pd.Series([None] * len(index), index=index, dtype="object")


def _is_text_only(s: pd.Series) -> bool:
    return s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")


def _str_mask(s: pd.Series) -> pd.Series:
    """Where a cell holds text (fast when the whole column is text)."""
    if _is_text_only(s):
        return s.notna()
    return s.map(lambda v: isinstance(v, str)).astype(bool)


def _one_text(v: Any) -> str | None:
    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, str):
        v = v.strip()
        return v or None
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, float | np.floating):
        if np.isnan(v):
            return None
        return str(int(v)) if float(v).is_integer() and abs(v) < 2**63 else repr(float(v))
    if isinstance(v, int | np.integer | Decimal):
        return str(v)
    if isinstance(v, datetime | date | time | pd.Timestamp):
        return v.isoformat()
    return str(v).strip() or None


def to_text(s: pd.Series) -> pd.Series:
    """Cell values as stripped text (object dtype), ``None`` where blank.

    Whole floats print without ``.0`` (an id read from Excel as ``1234.0`` is ``"1234"``),
    booleans as ``true``/``false``, dates and times in ISO form.
    """
    if len(s) == 0:
        return _none_series(s.index)
    if _is_text_only(s) or isinstance(s.dtype, pd.StringDtype):
        return pd.Series([None if not isinstance(v, str) or not (t := v.strip()) else t
                          for v in s.to_numpy(dtype=object)], index=s.index, dtype="object")
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("string").astype("object").where(s.notna(), None)
    return s.astype("object").map(_one_text).astype("object")


def normalize_number_text(s: pd.Series, decimal: str = ".", thousands: str | None = None
                          ) -> pd.Series:
    """Text numbers rewritten with ``.`` as decimal point and no thousands separator.

    Non-text values (numbers from XLSX/Parquet) pass through unchanged; the result is left to
    ``conform`` to type and check, so its reject still shows what the file said.
    """
    if decimal == "." and not thousands:
        return s
    is_str = _str_mask(s) if s.dtype == object else pd.Series(False, index=s.index)
    if not is_str.any():
        return s
    t = s[is_str].astype(str)
    if thousands:
        t = t.str.replace(thousands, "", regex=False)
    if decimal != ".":
        t = t.str.replace(decimal, ".", regex=False)
    out = s.astype("object").copy()
    out[is_str] = t
    return out


def to_number(s: pd.Series, decimal: str = ".", thousands: str | None = None) -> pd.Series:
    """Cell values as float64; NaN where blank or not a number."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(np.nan, index=s.index)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype("float64")
    norm = normalize_number_text(s, decimal, thousands)

    def one(v: Any) -> float:
        if v is None or isinstance(v, bool | np.bool_):
            return np.nan
        if isinstance(v, int | float | np.integer | np.floating | Decimal):
            return float(v)
        try:
            return float(str(v).strip())
        except ValueError:
            return np.nan

    if _is_text_only(norm):
        return pd.to_numeric(norm.str.strip(), errors="coerce").astype("float64")
    return norm.map(one).astype("float64")


# ----------------------------------------------------------------------------- durations


def _hms_seconds(text: pd.Series) -> pd.Series:
    """``[-]h:mm:ss``, ``[-]mm:ss`` or a bare number of seconds -> seconds; NaN if none matches.

    The regular expression runs in Arrow (RE2), which is ~10x faster than pandas ``str``.
    """
    arr = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    parts = pc.extract_regex(arr, _HMS)
    ok = pc.fill_null(parts.is_valid(), False)

    def number(name: str) -> np.ndarray:
        field = pc.if_else(ok, pc.struct_field(parts, name), "0")
        field = pc.if_else(pc.equal(field, ""), "0", field)
        field = pc.replace_substring(field, ",", ".")
        return np.asarray(pc.cast(field, pa.float64()).to_numpy(zero_copy_only=False))

    has_hours = np.asarray(pc.fill_null(pc.and_(
        ok, pc.not_equal(pc.struct_field(parts, "h"), "")), False).to_numpy(zero_copy_only=False))
    h, m, s = number("h"), number("m"), number("s")
    negative = np.asarray(pc.fill_null(pc.and_(
        ok, pc.equal(pc.struct_field(parts, "sign"), "-")), False).to_numpy(zero_copy_only=False))
    valid = np.asarray(ok.to_numpy(zero_copy_only=False)) & (s < 60) & ~(has_hours & (m >= 60))
    secs = np.where(negative, -1.0, 1.0) * (h * 3600 + m * 60 + s)
    out = pd.Series(np.where(valid, secs, np.nan), index=text.index)
    bare = ~np.asarray(ok.to_numpy(zero_copy_only=False)) & text.notna().to_numpy()
    if bare.any():
        out[bare] = pd.to_numeric(text[bare].str.replace(",", ".", regex=False),
                                  errors="coerce").to_numpy()
    return out


def _one_duration(v: Any, factor: float | None) -> float:
    if isinstance(v, timedelta | pd.Timedelta):
        return v.total_seconds()
    if isinstance(v, time):
        return v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
    if isinstance(v, bool | np.bool_):
        return np.nan
    if isinstance(v, int | float | np.integer | np.floating | Decimal):
        return float(v) * (factor or 1.0)
    return np.nan


def parse_duration(s: pd.Series, unit: str | None = "seconds", decimal: str = ".",
                   thousands: str | None = None, text: pd.Series | None = None
                   ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Durations in seconds (float64).

    Args:
        s: raw cells.
        unit: ``seconds``, ``milliseconds``, ``minutes``, ``hours`` (numbers) or ``hms`` (text
            ``h:mm:ss`` or ``mm:ss``, optional fraction; a bare number is read as seconds).
            XLSX/Parquet time and timedelta cells are read as durations in every unit.
        decimal: decimal separator of text numbers.
        thousands: thousands separator of text numbers, if any.
        text: ``to_text(s)``, when the caller has it already.

    Returns:
        seconds, mask of unparsable cells, mask of negative durations.
    """
    unit = unit or "seconds"
    factor = DURATION_UNITS[unit]
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        secs, blank = s.dt.total_seconds(), s.isna()
    elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        secs, blank = s.astype("float64") * (factor or 1.0), s.isna()
    else:
        text = to_text(s) if text is None else text
        blank = text.isna()
        secs = pd.Series(np.nan, index=s.index)
        is_str = _str_mask(s) & ~blank
        if is_str.any():
            t = text[is_str]
            secs[is_str] = _hms_seconds(t) if factor is None else \
                to_number(t, decimal, thousands) * factor
        other = ~is_str & ~blank
        if other.any():
            secs[other] = [_one_duration(v, factor) for v in s[other]]
    bad = ~blank & (secs.isna() | np.isinf(secs.fillna(0.0)))
    negative = ~bad & (secs < 0).fillna(False)
    return secs.where(~bad & ~negative), bad, negative


# ----------------------------------------------------------------------------- timestamps


def _strings_to_datetime(t: pd.Series, fmt: str | None) -> tuple[pd.Series, pd.Series]:
    """Text -> (naive wall times, UTC instants); each NaT where the other applies or bad."""
    naive = pd.Series(pd.NaT, index=t.index, dtype="datetime64[ns]")
    aware = pd.Series(pd.NaT, index=t.index, dtype="datetime64[ns, UTC]")
    if t.empty:
        return naive, aware
    if fmt is not None:
        if "%z" in fmt or "%Z" in fmt:
            aware = pd.to_datetime(t, format=fmt, errors="coerce", utc=True)
        else:
            naive = pd.to_datetime(t, format=fmt, errors="coerce")
        return naive, aware
    has_offset = t.str.contains(_OFFSET, regex=True).fillna(False)
    if has_offset.any():
        aware[has_offset] = pd.to_datetime(t[has_offset], format="ISO8601", errors="coerce",
                                           utc=True)
    if (~has_offset).any():
        naive[~has_offset] = pd.to_datetime(t[~has_offset], format="ISO8601",
                                            errors="coerce")
    return naive, aware


def _object_to_datetime(v: Any) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    if isinstance(v, datetime | pd.Timestamp):
        ts = pd.Timestamp(v)
        return (None, ts.tz_convert("UTC")) if ts.tzinfo is not None else (ts, None)
    if isinstance(v, date):
        return pd.Timestamp(v), None
    if isinstance(v, np.datetime64):
        return pd.Timestamp(v), None
    return None, None


def parse_timestamp(s: pd.Series, fmt: str | None = None
                    ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Split raw cells into local wall times and instants with an offset.

    Text is parsed with the strptime ``fmt``, or as ISO-8601 when ``fmt`` is None; a value
    with an offset (``Z``, ``+02:00``, ``%z``) is an instant, one without is a local wall time
    to be localised with the source time zone.

    Returns:
        naive wall times (datetime64[ns], NaT elsewhere), UTC instants (NaT elsewhere), mask of
        cells that could not be parsed.
    """
    idx = s.index
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        aware = s.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        return pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]"), aware, \
            pd.Series(False, index=idx)
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return s.astype("datetime64[ns]"), pd.Series(pd.NaT, index=idx,
                                                     dtype="datetime64[ns, UTC]"), \
            pd.Series(False, index=idx)
    text = to_text(s)
    blank = text.isna()
    is_str = _str_mask(s) & ~blank
    naive, aware = _strings_to_datetime(text[is_str], fmt)
    naive = naive.reindex(idx)
    aware = aware.reindex(idx)
    other = ~is_str & ~blank
    if other.any():
        pairs = [_object_to_datetime(v) for v in s[other]]
        where = other[other].index
        naive[other] = pd.Series([p[0] if p[0] is not None else pd.NaT for p in pairs],
                                 index=where, dtype="datetime64[ns]")
        aware[other] = pd.Series([p[1] if p[1] is not None else pd.NaT for p in pairs],
                                 index=where, dtype="datetime64[ns, UTC]")
    naive = naive.astype("datetime64[ns]")
    aware = aware.astype("datetime64[ns, UTC]")
    bad = ~blank & naive.isna() & aware.isna()
    return naive, aware, bad


def _time_of_day(s: pd.Series, fmt: str) -> pd.Series:
    """Times of day as timedelta64 since midnight; NaT where blank or bad."""
    out = pd.Series(pd.NaT, index=s.index, dtype="timedelta64[ns]")
    text = to_text(s)
    is_str = _str_mask(s) & text.notna()
    if is_str.any():
        parsed = pd.to_datetime(text[is_str], format=fmt, errors="coerce")
        out[is_str] = parsed - parsed.dt.normalize()
    other = ~is_str & text.notna()
    if other.any():
        def one(v: Any) -> pd.Timedelta:
            if isinstance(v, datetime):
                v = v.time()
            if isinstance(v, time):
                return pd.Timedelta(hours=v.hour, minutes=v.minute, seconds=v.second,
                                    microseconds=v.microsecond)
            if isinstance(v, timedelta) and timedelta(0) <= v < timedelta(days=1):
                return pd.Timedelta(v)
            return pd.NaT

        out[other] = [one(v) for v in s[other]]
    return out


def combine_date_time(dates: pd.Series, times: pd.Series, date_format: str, time_format: str,
                      d_text: pd.Series | None = None, t_text: pd.Series | None = None
                      ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Local wall times from a date column and a time-of-day column.

    Returns:
        naive wall times, mask of bad dates, mask of bad times. A row with one part blank and
        the other present is bad in the blank part; both blank is a blank timestamp.
        ``d_text``/``t_text`` are ``to_text`` of the columns when the caller has them.
    """
    d_text = to_text(dates) if d_text is None else d_text
    t_text = to_text(times) if t_text is None else t_text
    both_text = (_str_mask(dates) & d_text.notna() & _str_mask(times) & t_text.notna())
    out = pd.Series(pd.NaT, index=dates.index, dtype="datetime64[ns]")
    if both_text.any():  # the common case, parsed in one pass
        joined = d_text[both_text] + " " + t_text[both_text]
        out[both_text] = pd.to_datetime(joined, format=f"{date_format} {time_format}",
                                        errors="coerce")
    rest = ~both_text | out.isna()
    if rest.any():  # typed cells, and failures to tell a bad date from a bad time
        day = pd.Series(pd.NaT, index=dates.index[rest], dtype="datetime64[ns]")
        d = dates[rest]
        d_str = _str_mask(d) & d_text[rest].notna()
        if d_str.any():
            day[d_str] = pd.to_datetime(d_text[rest][d_str], format=date_format,
                                        errors="coerce")
        d_other = ~d_str & d_text[rest].notna()
        if d_other.any():
            day[d_other] = pd.Series([_object_to_datetime(v)[0] or pd.NaT for v in d[d_other]],
                                     index=d[d_other].index, dtype="datetime64[ns]")
        out[rest] = day.dt.normalize() + _time_of_day(times[rest], time_format)
    else:
        day = pd.Series(dtype="datetime64[ns]")
    both_blank = d_text.isna() & t_text.isna()
    bad_date = pd.Series(False, index=dates.index)
    bad_date[day.index] = (~both_blank[day.index] & day.isna()).to_numpy()
    bad_time = ~both_blank & out.isna() & ~bad_date
    return out.where(~bad_date & ~bad_time), bad_date, bad_time


def localize(naive: pd.Series, zone: str, ambiguous: str = "earlier"
             ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Local wall times in ``zone`` -> UTC instants, DST-correct.

    A wall time that does not exist (skipped when clocks go forward) is never shifted: it is
    reported in the ``gap`` mask. A wall time that occurs twice (clocks go back) is read as
    its ``earlier`` (summer time) or ``later`` occurrence, or reported (``reject``).

    Returns:
        UTC instants (datetime64[ns, UTC]), mask of nonexistent times, mask of rejected
        ambiguous times.
    """
    idx = naive.index
    none = pd.Series(False, index=idx)
    naive = naive.astype("datetime64[ns]")
    if zone in _UTC_NAMES:
        return naive.dt.tz_localize("UTC").astype("datetime64[ns, UTC]"), none, none
    flags = np.full(len(naive), ambiguous != "later", dtype=bool)
    out = naive.dt.tz_localize(zone, ambiguous=flags, nonexistent="NaT")
    gap = naive.notna() & out.isna()
    rejected = none
    if ambiguous == "reject":
        strict = naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        rejected = strict.isna() & out.notna()
        out = out.where(~rejected)
    return out.dt.tz_convert("UTC").astype("datetime64[ns, UTC]"), gap, rejected


# ----------------------------------------------------------------------------- value maps


def apply_map(s: pd.Series, vmap: ValueMap, text: pd.Series | None = None) -> pd.Series:
    """Replace source values by canonical ones.

    Keys match the stripped cell text (case-insensitively with ``ignore_case``). An unmapped,
    non-blank value becomes ``default`` when one is set and passes through unchanged otherwise
    (so ``conform`` can reject an unknown code). A blank cell stays blank unless the map has a
    ``""`` key. ``text`` is ``to_text(s)`` when the caller has it already.
    """
    lookup = vmap.lookup
    text = to_text(s) if text is None else text
    keys = text.str.lower() if vmap.ignore_case else text
    found = keys.isin(list(lookup)) & keys.notna()
    out = s.astype("object").copy()
    if found.any():
        out[found] = keys[found].map(lookup)
    if vmap.default is not None:
        out[~found & keys.notna()] = vmap.default
    blank = keys.isna()
    if "" in lookup:
        out[blank] = lookup[""]
    else:
        out[blank] = None
    return out
