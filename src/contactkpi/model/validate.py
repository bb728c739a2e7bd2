"""Conform rows to a canonical table: coerce types, check every rule, split off rejects.

``conform(table, frame)`` takes a frame whose columns are canonical names (any subset, values
raw strings or already typed) plus a ``_line`` column (source line of each row). It returns the
rows that pass, typed exactly as the table declares, and one reject per problem found, each
naming the line, field, offending value, a reason code and a sentence saying what is wrong.

Reason codes: ``missing_required``, ``not_a_number``, ``not_an_integer``, ``not_a_boolean``,
``bad_timestamp``, ``bad_date``, ``unknown_code``, ``out_of_range``, ``rule:<rule name>``.
Sources add their own codes for what only they can see (``bad_duration``, ``bad_encoding``...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from contactkpi.model.columns import Column, Kind, Table

LINE = "_line"
REJECT_COLUMNS = ("line", "table_name", "field", "value", "reason_code", "reason")
_ARROW_STR = pd.StringDtype("pyarrow")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


@dataclass(frozen=True)
class Conformed:
    """Rows that passed (typed, all table columns, plus ``_line``) and the rejects."""

    rows: pd.DataFrame
    rejects: pd.DataFrame


def empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "line" else "object")
                         for c in REJECT_COLUMNS})


def make_rejects(lines: pd.Series, table: str | None, field: str | None, values: pd.Series | None,
                 code: str, reason: str) -> pd.DataFrame:
    """Reject rows for each line in ``lines``."""
    n = len(lines)
    vals = (values.astype("object").where(values.notna(), None).map(
        lambda v: None if v is None else str(v)[:200]).to_numpy()
        if values is not None else [None] * n)
    return pd.DataFrame({
        "line": lines.to_numpy(dtype="int64"),
        "table_name": [table] * n,
        "field": [field] * n,
        "value": vals,
        "reason_code": [code] * n,
        "reason": [reason] * n,
    })


def _blank(s: pd.Series) -> pd.Series:
    """True where a value is missing: None, NaN, NaT or an all-space string."""
    missing = s.isna()
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        missing |= _text(s).str.strip().fillna("").eq("")
    return missing


def _text(s: pd.Series) -> pd.Series:
    """Values as Arrow-backed strings (vectorised string kernels)."""
    return s if s.dtype == _ARROW_STR else s.astype(_ARROW_STR)


Problem = tuple["pd.Series[bool]", str, str]  # mask of rows, reason code, sentence


def reason(col: Column, code: str) -> str:
    """The sentence of a column problem: what is wrong and what is expected."""
    if code == "out_of_range":
        low = col.min if col.min is not None else "-inf"
        high = col.max if col.max is not None else "inf"
        return f"{col.name} must be within [{low}, {high}]"
    if code == "unknown_code":
        return f"{col.name} must be one of {', '.join(sorted(col.allowed or ()))}"
    return {
        "missing_required": f"{col.name} is required",
        "not_a_number": f"{col.name} must be a number",
        "not_an_integer": f"{col.name} must be a whole number",
        "not_a_boolean": f"{col.name} must be true/false (yes/no, 1/0)",
        "bad_timestamp": f"{col.name} must be an ISO-8601 timestamp with an offset",
        "bad_date": f"{col.name} must be a date YYYY-MM-DD",
    }[code]


def _coerce(col: Column, s: pd.Series) -> tuple[pd.Series, list[Problem]]:
    """The typed series and the values that failed to convert (as problems)."""
    blank = _blank(s)
    k = col.kind
    if k in (Kind.STRING, Kind.CODE):
        out = _text(s).str.strip().where(~blank, pd.NA)
        if k is Kind.CODE:
            out = out.str.lower()
        return out, []
    if k in (Kind.INT, Kind.FLOAT, Kind.DURATION, Kind.MONEY):
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            num = s.astype("float64")
        else:
            num = pd.to_numeric(_text(s).str.strip(), errors="coerce").astype("float64")
        bad = (num.isna() & ~blank) | np.isinf(num.fillna(0.0))
        problems: list[Problem] = [(bad, "not_a_number", reason(col, "not_a_number"))]
        num = num.where(~bad)
        if k is Kind.INT:
            filled = num.fillna(0.0)
            frac = num.notna() & ((filled != np.floor(filled)) | (filled.abs() > 2.0**53))
            problems.append((frac, "not_an_integer", reason(col, "not_an_integer")))
            return num.where(~frac).astype("Int64"), problems
        return num, problems
    if k is Kind.BOOL:
        if pd.api.types.is_bool_dtype(s):
            return s.astype("boolean"), []
        low = _text(s).str.strip().str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[low.isin(_TRUE).fillna(False)] = True
        out[low.isin(_FALSE).fillna(False)] = False
        bad = out.isna() & ~blank
        return out, [(bad, "not_a_boolean", reason(col, "not_a_boolean"))]
    if k is Kind.TIMESTAMP:
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            return s.dt.tz_convert("UTC").astype("datetime64[us, UTC]"), []
        out = pd.to_datetime(s.where(~blank), errors="coerce", utc=True, format="ISO8601")
        bad = out.isna() & ~blank
        return out.astype("datetime64[us, UTC]"), [
            (bad, "bad_timestamp", reason(col, "bad_timestamp"))]
    if k is Kind.DATE:
        out = pd.to_datetime(s.where(~blank), errors="coerce", format="ISO8601")
        if isinstance(out.dtype, pd.DatetimeTZDtype):
            out = out.dt.tz_localize(None)
        bad = (out.isna() & ~blank) | (out.notna() & (out != out.dt.normalize()))
        return out.dt.date.where(~bad & out.notna(), None), [
            (bad, "bad_date", reason(col, "bad_date"))]
    raise AssertionError(k)  # pragma: no cover - Kind is closed


def _nulls(col: Column, index: pd.Index) -> pd.Series:
    """An all-missing column of the right type."""
    empty = pd.Series([None] * len(index), index=index, dtype="object")
    return _coerce(col, empty)[0]


def conform(table: Table, frame: pd.DataFrame) -> Conformed:
    """Type and check ``frame`` against ``table``; rows with any problem become rejects.

    Columns of the table missing from ``frame`` are filled with nulls (then ``required`` catches
    them); columns not in the table (other than ``_line``) are an internal error of the caller.
    """
    if LINE not in frame.columns:
        frame = frame.assign(**{LINE: np.arange(1, len(frame) + 1)})
    frame = frame.reset_index(drop=True)
    extra = set(frame.columns) - set(table.column_names) - {LINE}
    if extra:
        raise ValueError(f"columns not in {table.name}: {sorted(extra)}")
    lines = frame[LINE].astype("int64")
    typed: dict[str, pd.Series] = {}
    problems: list[pd.DataFrame] = []
    bad_row = pd.Series(False, index=frame.index)

    def flag(mask: pd.Series, field: str, values: pd.Series | None, code: str, why: str) -> None:
        nonlocal bad_row
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            problems.append(make_rejects(lines[mask], table.name, field,
                                         None if values is None else values[mask], code, why))
            bad_row |= mask

    for col in table.columns:
        if col.name not in frame.columns:
            typed[col.name] = _nulls(col, frame.index)
            if col.required:
                flag(pd.Series(True, index=frame.index), col.name, None, "missing_required",
                     reason(col, "missing_required"))
            continue
        raw = frame[col.name]
        out, problems_ = _coerce(col, raw)
        failed = pd.Series(False, index=frame.index)
        for mask, code, why in problems_:
            flag(mask, col.name, raw, code, why)
            failed |= mask.fillna(False).astype(bool)
        if col.required:
            flag(out.isna() & ~failed, col.name, None, "missing_required",
                 reason(col, "missing_required"))
        if col.allowed is not None:
            unknown = out.notna() & ~out.isin(col.allowed).fillna(False)
            flag(unknown, col.name, raw, "unknown_code", reason(col, "unknown_code"))
        if col.min is not None or col.max is not None:
            num = out.astype("float64") if col.kind is not Kind.DATE else None
            if num is not None:
                low = num < col.min if col.min is not None else pd.Series(False, index=num.index)
                high = num > col.max if col.max is not None else pd.Series(False, index=num.index)
                flag(low | high, col.name, raw, "out_of_range", reason(col, "out_of_range"))
        typed[col.name] = out
    typed_frame = pd.DataFrame(typed, index=frame.index)
    for rule in table.rules:
        ok = rule.check(typed_frame)
        ok = ok.fillna(True).astype(bool)
        flag(~ok & ~bad_row, rule.field, frame.get(rule.field, None),
             f"rule:{rule.name}", rule.message)
    typed_frame[LINE] = lines
    rows = typed_frame[~bad_row].reset_index(drop=True)
    rejects = pd.concat(problems, ignore_index=True) if problems else empty_rejects()
    return Conformed(rows=rows, rejects=rejects)
