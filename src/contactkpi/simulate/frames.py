"""Typed pandas frames in the canonical model's column order and types.

Strings and codes are ``object`` columns holding ``str`` or ``None``; integers are nullable
``Int64``; floats, durations and money ``float64`` (NaN when missing); booleans nullable
``boolean``; timestamps ``datetime64[us, UTC]``; dates ``datetime.date`` objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from contactkpi.model import TABLES, Kind


def _typed(kind: Kind, values: Any, n: int) -> pd.Series:
    if values is None:
        values = [None] * n
    if kind in (Kind.STRING, Kind.CODE):
        s = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else \
            values.astype(object)
        return s.where(s.notna(), None)
    if kind is Kind.INT:
        return pd.Series(values).astype("Int64")
    if kind in (Kind.FLOAT, Kind.DURATION, Kind.MONEY):
        return pd.Series(values, dtype="float64") if not isinstance(values, pd.Series) else \
            values.astype("float64")
    if kind is Kind.BOOL:
        return pd.Series(values).astype("boolean")
    if kind is Kind.TIMESTAMP:
        s = values if isinstance(values, pd.Series) else pd.Series(values)
        if not isinstance(s.dtype, pd.DatetimeTZDtype):
            s = pd.to_datetime(s, utc=True)
        return s.astype("datetime64[us, UTC]")
    if kind is Kind.DATE:
        return pd.Series(values, dtype=object)
    raise AssertionError(kind)  # pragma: no cover


def canonical(name: str, columns: Mapping[str, Any], n: int | None = None) -> pd.DataFrame:
    """A frame of canonical table ``name`` from column values (missing columns are null)."""
    table = TABLES[name]
    unknown = set(columns) - set(table.column_names)
    if unknown:
        raise ValueError(f"not columns of {name}: {sorted(unknown)}")
    if n is None:
        n = max((len(v) for v in columns.values() if v is not None and not np.isscalar(v)),
                default=0)
    out = {}
    for col in table.columns:
        v = columns.get(col.name)
        if v is not None and np.isscalar(v):
            v = [v] * n
        s = _typed(col.kind, v, n)
        s.index = pd.RangeIndex(n)
        out[col.name] = s
    return pd.DataFrame(out)


_DIGITS4 = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)


def id_bytes(prefixes: list[str], prefix_of_row: np.ndarray, numbers: np.ndarray,
             width: int) -> pa.StringArray:
    """Arrow strings ``prefixes[prefix_of_row] + zero-padded number``, built as one byte
    buffer (fast); every prefix must have the same length in bytes."""
    table = np.array([list(p.encode()) for p in prefixes], dtype=np.uint8)
    n = len(numbers)
    plen = table.shape[1]
    m = np.empty((n, plen + width), dtype=np.uint8)
    m[:, :plen] = table[prefix_of_row] if len(prefixes) > 1 else table[0]
    x = numbers.astype(np.int64, copy=True)
    end = plen + width
    while end - 4 >= plen:  # four digits at a time, from the right
        m[:, end - 4:end] = _DIGITS4[x % 10_000]
        x //= 10_000
        end -= 4
    for k in range(end - 1, plen - 1, -1):
        m[:, k] = 48 + (x % 10)
        x //= 10
    offsets = np.arange(0, (n + 1) * m.shape[1], m.shape[1], dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(m.tobytes()))


def id_strings(prefixes: list[str], prefix_of_row: np.ndarray, numbers: np.ndarray,
               width: int) -> np.ndarray:
    """Python strings ``prefixes[i] + zero-padded number`` per row, as an object array."""
    out = np.empty(len(numbers), dtype=object)
    lengths = {len(p.encode()) for p in prefixes}
    for length in sorted(lengths):
        group = [i for i, p in enumerate(prefixes) if len(p.encode()) == length]
        sel = np.flatnonzero(np.isin(prefix_of_row, group))
        if len(sel):
            local = np.searchsorted(group, prefix_of_row[sel])
            arr = id_bytes([prefixes[i] for i in group], local, numbers[sel], width)
            out[sel] = arr.to_numpy(zero_copy_only=False)
    return out


def _null(kind: Kind, n: int) -> np.ndarray:
    if kind is Kind.TIMESTAMP:
        return np.full(n, -1, dtype=np.int64)
    if kind in (Kind.INT, Kind.FLOAT, Kind.DURATION, Kind.MONEY):
        return np.full(n, np.nan)
    return np.full(n, None, dtype=object)


def from_parts(name: str, parts: list[tuple[int, Mapping[str, Any]]], clock: Any,
               order: np.ndarray | None = None) -> pd.DataFrame:
    """One typed frame of table ``name`` from several column sets, concatenated then ordered.

    Each part is ``(rows, {column: values})``; values are numpy arrays or scalars, and
    timestamps are clock microseconds (negative: missing) turned into UTC instants by
    ``clock.timestamps``. Integer columns may be floats with NaN for missing.
    """
    table = TABLES[name]
    for _, cols in parts:
        unknown = set(cols) - set(table.column_names)
        if unknown:
            raise ValueError(f"not columns of {name}: {sorted(unknown)}")
    out: dict[str, Any] = {}
    total = sum(n for n, _ in parts)
    for col in table.columns:
        pieces = []
        for n, cols in parts:
            v = cols.get(col.name)
            if v is None:
                v = _null(col.kind, n)
            elif np.isscalar(v):
                v = np.full(n, v, dtype=object if isinstance(v, str) else None)
            pieces.append(np.asarray(v))
        arr = np.concatenate(pieces) if pieces else _null(col.kind, 0)
        if order is not None:
            arr = arr[order]
        if col.kind is Kind.TIMESTAMP:
            out[col.name] = clock.timestamps(arr.astype(np.int64))
        elif col.kind is Kind.INT:
            values = arr.astype(np.float64)
            missing = np.isnan(values)
            out[col.name] = pd.Series(pd.arrays.IntegerArray(
                np.where(missing, 0, values).astype(np.int64), missing))
        elif col.kind is Kind.BOOL:
            out[col.name] = pd.Series(pd.array(arr, dtype="boolean"))
        elif col.kind in (Kind.FLOAT, Kind.DURATION, Kind.MONEY):
            out[col.name] = pd.Series(arr.astype(np.float64))
        else:
            out[col.name] = pd.Series(arr if arr.dtype == object else arr.astype(object),
                                      dtype=object, copy=False)
    frame = pd.DataFrame(out, copy=False)
    assert len(frame) == total
    return frame


def masked(values: np.ndarray, keep: np.ndarray, dtype: str = "Int64") -> pd.Series:
    """``values`` as a nullable series, missing where ``keep`` is False."""
    s = pd.Series(values).astype(dtype)
    return s.where(pd.Series(keep, dtype=bool), pd.NA)


def empty(name: str) -> pd.DataFrame:
    return canonical(name, {}, 0)
