"""Apply a mapping to a chunk of raw source rows: one frame per canonical table, plus rejects.

For each table of the mapping: keep the rows where the table's ``when`` holds, build every
mapped column from its alternatives (the first whose ``when`` holds and whose value is not
blank wins), convert what only the source can convert (value maps, durations, local
timestamps to UTC, dates with a format, decimal commas) and turn each value that fails into a
reject naming line, table, field and reason. Rows with a rejected value are left out of that
table only; the same source row may still feed the other tables. Everything else (types,
required columns, allowed codes, ranges, row rules) is checked once, later, by ``conform``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from contactkpi.model.columns import Column, Kind
from contactkpi.model.validate import LINE, empty_rejects, make_rejects
from contactkpi.sources.base import Batch
from contactkpi.sources.convert import (
    apply_map,
    combine_date_time,
    localize,
    normalize_number_text,
    parse_duration,
    parse_timestamp,
    to_number,
    to_text,
)
from contactkpi.sources.mapping import (
    LINE_PLACEHOLDER,
    AllOf,
    AnyOf,
    ColumnMapping,
    Compare,
    Condition,
    FieldSpec,
    Not,
    SourceOptions,
    TableMapping,
    TabularMapping,
    template_parts,
)
from contactkpi.sources.readers import RawChunk

__all__ = ["Defaults", "apply_mapping"]


@dataclass(frozen=True)
class Defaults:
    """What the mapping may leave to the command line: the tenant and its time zone."""

    tenant: str
    timezone: str = "UTC"


@dataclass
class _Rows:
    """The raw chunk with cached text and number views of its columns."""

    frame: pd.DataFrame
    lines: pd.Series
    source: SourceOptions
    _text: dict[str, pd.Series] = field(default_factory=dict)
    _number: dict[str, pd.Series] = field(default_factory=dict)
    _present: dict[str, pd.Series] = field(default_factory=dict)

    def text(self, column: str) -> pd.Series:
        """A column as text, None where blank (readers strip text and blank the nulls)."""
        if column not in self._text:
            s = self.frame[column]
            clean = s.dtype == object and \
                pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")
            self._text[column] = s if clean else to_text(s)  # readers blank with None
        return self._text[column]

    def present(self, column: str) -> pd.Series:
        """Where a column is not blank (cached: several mappings may read one column)."""
        if column not in self._present:
            self._present[column] = self.text(column).notna()
        return self._present[column]

    def number(self, column: str) -> pd.Series:
        if column not in self._number:
            self._number[column] = to_number(self.frame[column], self.source.decimal,
                                             self.source.thousands)
        return self._number[column]

    def holds(self, cond: Condition | None) -> pd.Series:
        """Where ``cond`` is true, over all rows of the chunk."""
        if cond is None:
            return pd.Series(True, index=self.frame.index)
        if isinstance(cond, AllOf):
            out = pd.Series(True, index=self.frame.index)
            for part in cond.parts:
                out &= self.holds(part)
            return out
        if isinstance(cond, AnyOf):
            out = pd.Series(False, index=self.frame.index)
            for part in cond.parts:
                out |= self.holds(part)
            return out
        if isinstance(cond, Not):
            return ~self.holds(cond.part)
        return self._compare(cond)

    def _compare(self, c: Compare) -> pd.Series:
        text = self.text(c.column)
        if c.op == "present":
            present = self.present(c.column)
            return present if c.operand else ~present
        if c.op in ("gt", "ge", "lt", "le"):
            num = self.number(c.column)
            res = {"gt": num > c.operand, "ge": num >= c.operand,
                   "lt": num < c.operand, "le": num <= c.operand}[c.op]
            return res.fillna(False).astype(bool)
        operands = c.operand if isinstance(c.operand, tuple) else (c.operand,)
        words = [o for o in operands if isinstance(o, str)]
        numbers = [float(o) for o in operands if not isinstance(o, str)]
        match = pd.Series(False, index=self.frame.index)
        if words:
            if c.ignore_case:
                match |= text.str.lower().isin([w.strip().lower() for w in words])
            else:
                match |= text.isin([w.strip() for w in words])
        if numbers:
            match |= self.number(c.column).isin(numbers)
        match = match.fillna(False).astype(bool) & text.notna()
        return match if c.op in ("eq", "in") else ~match


@dataclass
class _Problem:
    mask: pd.Series
    code: str
    reason: str


def apply_mapping(mapping: TabularMapping, chunk: RawChunk, defaults: Defaults) -> Batch:
    """Canonical frames (with ``_line``) for every table of ``mapping``, and the rejects."""
    rows = _Rows(chunk.frame, pd.Series(chunk.lines, index=chunk.frame.index, dtype="int64"),
                 mapping.source)
    tables: dict[str, pd.DataFrame] = {}
    rejects = [chunk.rejects] if len(chunk.rejects) else []
    for tm in mapping.tables:
        frame, bad = _table(tm, rows, defaults)
        tables[tm.name] = frame
        rejects.extend(bad)
    all_rejects = pd.concat(rejects, ignore_index=True) if rejects else empty_rejects()
    return Batch(tables=tables, rejects=all_rejects, lines=chunk.records)


def _table(tm: TableMapping, rows: _Rows, defaults: Defaults
           ) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    selected = rows.holds(tm.when)
    idx = selected[selected].index
    lines = rows.lines.loc[idx]
    out: dict[str, pd.Series] = {}
    bad_row = pd.Series(False, index=idx)
    rejects: list[pd.DataFrame] = []
    table = tm.table
    for cm in tm.columns:
        column = table.column(cm.name)
        values, raw, problems = _column(cm, column, rows, idx, defaults)
        for p in problems:
            mask = p.mask.reindex(idx, fill_value=False).astype(bool)
            if mask.any():
                rejects.append(make_rejects(lines[mask], tm.name, cm.name, raw[mask], p.code,
                                            p.reason))
                bad_row |= mask
        out[cm.name] = values
    if "tenant" not in out:
        out["tenant"] = _const(defaults.tenant, idx)
    frame = pd.DataFrame(out, index=idx)
    ordered = [c for c in table.column_names if c in frame.columns]
    frame = frame.loc[~bad_row, ordered]
    frame[LINE] = lines[~bad_row]
    return frame.reset_index(drop=True), rejects


def _const(value: object, idx: pd.Index) -> pd.Series:
    """A column holding ``value`` on every row (built without a Python list)."""
    arr = np.empty(len(idx), dtype=object)
    arr.fill(value)
    return pd.Series(arr, index=idx, dtype="object", copy=False)


def _empty_for(kind: Kind, idx: pd.Index) -> pd.Series:
    if kind is Kind.TIMESTAMP:
        return pd.Series(pd.NaT, index=idx, dtype="datetime64[ns, UTC]")
    if kind is Kind.DURATION:
        return pd.Series(np.nan, index=idx, dtype="float64")
    return _const(None, idx)


def _column(cm: ColumnMapping, column: Column, rows: _Rows, idx: pd.Index, defaults: Defaults
            ) -> tuple[pd.Series, pd.Series, list[_Problem]]:
    """Values of one canonical column, the raw values shown in rejects, and the problems."""
    values = _empty_for(column.kind, idx)
    raw_shown = _const(None, idx)
    chosen = pd.Series(False, index=idx)
    problems: list[_Problem] = []
    for alt in cm.alternatives:
        applies = ~chosen & rows.holds(alt.when).loc[idx]
        if not applies.any():
            continue
        sub = applies[applies].index
        raw, present = _raw(alt, rows, sub)
        take = present[present].index
        if len(take) == 0:
            continue
        converted, found = _convert(alt, column, raw.loc[take], rows, take, defaults)
        if len(take) == len(idx):
            values = converted.reindex(idx)
        else:
            values.loc[take] = converted
        chosen.loc[take] = True
        found = [p for p in found if p.mask.any()]
        if found:  # the raw values are shown in rejects only
            bad = pd.concat([p.mask for p in found], axis=1).any(axis=1)
            where = bad[bad].index
            raw_shown.loc[where] = _shown(alt, rows, raw, where)
            problems.extend(found)
    return values, raw_shown, problems


def _raw(alt: FieldSpec, rows: _Rows, idx: pd.Index) -> tuple[pd.Series, pd.Series]:
    """Raw values of an alternative on rows ``idx`` and where they are not blank."""
    text: pd.Series | None = None
    if alt.origin == "column":
        assert alt.column is not None
        raw = rows.frame[alt.column].loc[idx]
        text = rows.text(alt.column).loc[idx]
    elif alt.origin == "value":
        raw = _const(alt.value, idx)
        blank = to_text(raw.iloc[:1]).isna().all() if len(idx) else True
        text = pd.Series(None if blank else "x", index=idx, dtype="object")
    elif alt.origin == "line":
        raw = rows.lines.loc[idx].astype("object")
        text = raw
    elif alt.origin == "template":
        assert alt.template is not None
        raw = _const("", idx)
        blank = pd.Series(False, index=idx)
        for is_col, part in template_parts(alt.template):
            if not is_col:
                raw = raw + part
                continue
            piece = rows.lines.loc[idx].astype(str) if part == LINE_PLACEHOLDER \
                else rows.text(part).loc[idx]
            blank |= piece.isna()
            raw = raw + piece.fillna("").astype(str)
        raw = raw.where(~blank, None)  # a blank part leaves the whole value blank
        text = raw
    else:  # datetime: presence is decided on both parts, the raw value is the date column
        assert alt.date_column is not None and alt.time_column is not None
        present = rows.present(alt.date_column).loc[idx] | rows.present(alt.time_column).loc[idx]
        return rows.frame[alt.date_column].loc[idx], present
    if alt.map is not None:
        raw = apply_map(raw, alt.map, text)
        return raw, raw.notna() & ~raw.isin([""])
    if alt.origin == "column":
        assert alt.column is not None
        return raw, rows.present(alt.column).loc[idx]
    return raw, text.notna()


def _shown(alt: FieldSpec, rows: _Rows, raw: pd.Series, take: pd.Index) -> pd.Series:
    if alt.origin == "datetime":
        assert alt.date_column is not None and alt.time_column is not None
        d = rows.text(alt.date_column).loc[take].fillna("")
        t = rows.text(alt.time_column).loc[take].fillna("")
        return (d + " " + t).str.strip()
    return raw.loc[take]


def _convert(alt: FieldSpec, column: Column, raw: pd.Series, rows: _Rows, idx: pd.Index,
             defaults: Defaults) -> tuple[pd.Series, list[_Problem]]:
    name = column.name
    src = rows.source
    text = rows.text(alt.column).loc[idx] if alt.origin == "column" and alt.map is None \
        else None
    if column.kind is Kind.DURATION:
        secs, bad, negative = parse_duration(raw, alt.duration, src.decimal, src.thousands,
                                             text=text)
        unit = alt.duration or "seconds"
        expect = "h:mm:ss or mm:ss" if unit == "hms" else f"a number of {unit}"
        return secs, [_Problem(bad, "bad_duration", f"{name} is not a duration ({expect})"),
                      _Problem(negative, "bad_duration", f"{name} is negative")]
    if column.kind is Kind.TIMESTAMP:
        return _timestamp(alt, name, raw, rows, idx, defaults)
    if column.kind is Kind.DATE and alt.format is not None:
        text = to_text(raw)
        is_str = text.notna() & raw.map(lambda v: isinstance(v, str)).astype(bool)
        out = raw.astype("object").copy()
        parsed = pd.to_datetime(text[is_str], format=alt.format, errors="coerce")
        out[is_str] = parsed.dt.strftime("%Y-%m-%d")
        bad = is_str & parsed.reindex(raw.index).isna()
        return out.where(~bad, None), [
            _Problem(bad, "bad_date", f"{name} does not match the date format {alt.format}")]
    if column.kind in (Kind.INT, Kind.FLOAT, Kind.MONEY):
        return normalize_number_text(raw, src.decimal, src.thousands), []
    return raw, []


def _timestamp(alt: FieldSpec, name: str, raw: pd.Series, rows: _Rows, idx: pd.Index,
               defaults: Defaults) -> tuple[pd.Series, list[_Problem]]:
    src = rows.source
    problems: list[_Problem] = []
    if alt.origin == "datetime":
        assert alt.date_column and alt.time_column and alt.date_format and alt.time_format
        naive, bad_date, bad_time = combine_date_time(
            rows.frame[alt.date_column].loc[idx], rows.frame[alt.time_column].loc[idx],
            alt.date_format, alt.time_format, rows.text(alt.date_column).loc[idx],
            rows.text(alt.time_column).loc[idx])
        aware = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns, UTC]")
        problems += [
            _Problem(bad_date, "bad_timestamp",
                     f"{name}: date in {alt.date_column!r} does not match {alt.date_format}"),
            _Problem(bad_time, "bad_timestamp",
                     f"{name}: time in {alt.time_column!r} does not match {alt.time_format}"),
        ]
    else:
        naive, aware, bad = parse_timestamp(raw, alt.format)
        expect = f"the format {alt.format}" if alt.format else "ISO-8601 (YYYY-MM-DD HH:MM:SS)"
        problems.append(_Problem(bad, "bad_timestamp", f"{name} does not match {expect}"))
    zone = alt.timezone or src.timezone or defaults.timezone
    local, gap, twice = localize(naive, zone, src.ambiguous)
    problems += [
        _Problem(gap, "bad_timestamp",
                 f"{name} is a local time that does not exist in {zone} (skipped when "
                 "clocks go forward)"),
        _Problem(twice, "bad_timestamp",
                 f"{name} is a local time that occurs twice in {zone} (clocks go back) and "
                 "ambiguous = \"reject\""),
    ]
    return aware.where(aware.notna(), local), problems
