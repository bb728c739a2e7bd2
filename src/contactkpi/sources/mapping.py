"""The mapping file: how a tabular export (CSV, Parquet, XLSX) becomes canonical rows.

A mapping is a TOML file with a ``[source]`` block (how to read the file) and one
``[tables.<canonical table>]`` block per table the rows feed::

    [source]
    delimiter = ";"
    timezone = "Europe/London"

    [tables.contacts.columns]
    contact_id = "Call ID"                                  # rename
    arrived_at = { date = "Date", time = "Time", date_format = "%d/%m/%Y" }
    wait_s = { column = "Wait", duration = "hms" }
    outcome = { column = "Answered (Y/N)", map = { Y = "answered", N = "abandoned" } }

    [tables.contacts.constants]
    channel = "voice"

    [tables.surveys]
    when = { column = "CSAT", present = true }

``load_mapping`` parses and checks a file against the canonical model and raises a
``MappingError`` naming the file and the dotted key for anything wrong. The full reference is
docs/mappings.md. Nothing here reads data: see ``readers`` and ``transform``.
"""

from __future__ import annotations

import codecs
import difflib
import functools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from contactkpi.errors import MappingError
from contactkpi.model import TABLES
from contactkpi.model.columns import Column, Kind, Table

__all__ = [
    "AMBIGUOUS",
    "DURATION_UNITS",
    "FORMATS",
    "LINE_PLACEHOLDER",
    "AllOf",
    "AnyOf",
    "ColumnMapping",
    "Compare",
    "Condition",
    "FieldSpec",
    "Not",
    "SourceOptions",
    "TableMapping",
    "TabularMapping",
    "ValueMap",
    "check_format",
    "load_mapping",
    "parse_mapping",
    "template_parts",
]

FORMATS = ("csv", "parquet", "xlsx")
#: Duration unit -> seconds per unit; ``hms`` is text ``h:mm:ss`` / ``mm:ss``.
DURATION_UNITS: dict[str, float | None] = {
    "seconds": 1.0,
    "milliseconds": 0.001,
    "minutes": 60.0,
    "hours": 3600.0,
    "hms": None,
}
#: What to do with a local time that occurs twice (the hour repeated when DST ends).
AMBIGUOUS = ("earlier", "later", "reject")
#: Template placeholder for the source line number.
LINE_PLACEHOLDER = "_line"

Scalar = str | int | float | bool | date | datetime | time
Origin = Literal["column", "value", "template", "line", "datetime"]

_TOP_KEYS = ("description", "source", "tables")
_SOURCE_KEYS = (
    "format", "delimiter", "quote", "encoding", "header_row", "skip_rows", "sheet", "decimal",
    "thousands", "timezone", "ambiguous", "null_values",
)
_TABLE_KEYS = ("when", "columns", "constants")
_ORIGIN_KEYS = ("column", "value", "template", "line", "date")
_FIELD_KEYS = (
    "column", "value", "template", "line", "date", "time", "format", "date_format",
    "time_format", "timezone", "duration", "map", "default", "ignore_case", "when",
)
_COMPARE_OPS = ("eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "present")
_CONDITION_KEYS = ("column", "ignore_case", "all", "any", "not", *_COMPARE_OPS)
#: strftime directives pandas can parse (locale-dependent %c %x %X are left out).
_DIRECTIVES = set("aAbBdfHIjmMpSUwWyYzZGVu%")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


# ----------------------------------------------------------------------------- conditions


@dataclass(frozen=True)
class Compare:
    """One test on one source column, e.g. ``{ column = "CSAT", present = true }``.

    Blank cells equal nothing: ``eq``/``in`` and the comparisons are false on them, ``ne`` and
    ``not_in`` true. ``gt``/``ge``/``lt``/``le`` compare numbers; ``eq``/``ne``/``in``/``not_in``
    compare numbers when the operand is a number and text otherwise.
    """

    column: str
    op: str
    operand: Any
    ignore_case: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column,
                               self.op: list(self.operand) if isinstance(self.operand, tuple)
                               else self.operand}
        if self.ignore_case:
            out["ignore_case"] = True
        return out


@dataclass(frozen=True)
class AllOf:
    """True where every part is true."""

    parts: tuple[Condition, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"all": [p.to_dict() for p in self.parts]}


@dataclass(frozen=True)
class AnyOf:
    """True where at least one part is true."""

    parts: tuple[Condition, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"any": [p.to_dict() for p in self.parts]}


@dataclass(frozen=True)
class Not:
    """True where the part is false."""

    part: Condition

    def to_dict(self) -> dict[str, Any]:
        return {"not": self.part.to_dict()}


Condition = Compare | AllOf | AnyOf | Not


def condition_columns(cond: Condition | None) -> set[str]:
    """Source columns a condition reads."""
    if cond is None:
        return set()
    if isinstance(cond, Compare):
        return {cond.column}
    if isinstance(cond, Not):
        return condition_columns(cond.part)
    return set().union(*(condition_columns(p) for p in cond.parts))


# ----------------------------------------------------------------------------- field specs


@dataclass(frozen=True)
class ValueMap:
    """Source value -> canonical value; keys are stripped (and lower-cased if ignore_case)."""

    pairs: tuple[tuple[str, Scalar], ...]
    default: Scalar | None = None
    ignore_case: bool = False

    @property
    def lookup(self) -> dict[str, Scalar]:
        return dict(self.pairs)


@dataclass(frozen=True)
class FieldSpec:
    """Where one canonical value comes from and how it is converted.

    ``origin`` is one of ``column`` (a source column), ``value`` (a constant), ``template``
    (text built from columns), ``line`` (the source line number) or ``datetime`` (separate date
    and time columns).
    """

    origin: Origin
    column: str | None = None
    value: Scalar | None = None
    template: str | None = None
    date_column: str | None = None
    time_column: str | None = None
    format: str | None = None
    date_format: str | None = None
    time_format: str | None = None
    timezone: str | None = None
    duration: str | None = None
    map: ValueMap | None = None
    when: Condition | None = None

    def source_columns(self) -> set[str]:
        cols = condition_columns(self.when)
        if self.column is not None:
            cols.add(self.column)
        if self.template is not None:
            cols |= {p for is_col, p in template_parts(self.template)
                     if is_col and p != LINE_PLACEHOLDER}
        for c in (self.date_column, self.time_column):
            if c is not None:
                cols.add(c)
        return cols

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        simple = {"column": self.column, "value": self.value, "template": self.template,
                  "date": self.date_column, "time": self.time_column, "format": self.format,
                  "date_format": self.date_format, "time_format": self.time_format,
                  "timezone": self.timezone, "duration": self.duration}
        out.update({k: v for k, v in simple.items() if v is not None})
        if self.origin == "line":
            out["line"] = True
        if self.map is not None:
            out["map"] = dict(self.map.pairs)
            if self.map.default is not None:
                out["default"] = self.map.default
            if self.map.ignore_case:
                out["ignore_case"] = True
        if self.when is not None:
            out["when"] = self.when.to_dict()
        return out


@dataclass(frozen=True)
class ColumnMapping:
    """A canonical column and its alternatives: the first that applies and is not blank wins."""

    name: str
    alternatives: tuple[FieldSpec, ...]
    where: str = field(default="", compare=False)

    def source_columns(self) -> set[str]:
        return set().union(*(a.source_columns() for a in self.alternatives))

    def to_toml_value(self) -> Any:
        if len(self.alternatives) == 1:
            only = self.alternatives[0]
            if only.origin == "column" and only.to_dict().keys() == {"column"}:
                return only.column
            return only.to_dict()
        return [a.to_dict() for a in self.alternatives]


@dataclass(frozen=True)
class TableMapping:
    """How source rows feed one canonical table; ``when`` selects the rows that do."""

    name: str
    columns: tuple[ColumnMapping, ...]
    when: Condition | None = None
    where: str = field(default="", compare=False)

    @property
    def table(self) -> Table:
        return TABLES[self.name]

    def column(self, name: str) -> ColumnMapping | None:
        return next((c for c in self.columns if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.when is not None:
            out["when"] = self.when.to_dict()
        out["columns"] = {c.name: c.to_toml_value() for c in self.columns}
        return out


@dataclass(frozen=True)
class SourceOptions:
    """How to read the file: format, CSV dialect, header position, time zone, numbers."""

    format: str | None = None  # None: from the file extension, else the source kind
    delimiter: str | None = None  # None: "," (tab for .tsv files)
    quote: str = '"'  # "" turns quoting off
    encoding: str = "utf-8"
    header_row: int = 1  # line (CSV) or row (XLSX) holding the column names; 0 = no header
    skip_rows: int = 0  # records right after the header that are not data (units, totals)
    sheet: str | int | None = None  # XLSX: sheet name or 1-based position; None = first
    decimal: str = "."
    thousands: str | None = None
    timezone: str | None = None  # None: the tenant's time zone
    ambiguous: str = "earlier"
    null_values: tuple[str, ...] = ("",)

    def to_dict(self) -> dict[str, Any]:
        base = SourceOptions()
        out: dict[str, Any] = {}
        for name in _SOURCE_KEYS:
            v = getattr(self, name)
            if v != getattr(base, name):
                out[name] = list(v) if isinstance(v, tuple) else v
        return out


@dataclass(frozen=True)
class TabularMapping:
    """A parsed, checked mapping file."""

    source: SourceOptions
    tables: tuple[TableMapping, ...]
    description: str | None = None
    origin: str = field(default="<mapping>", compare=False)

    def source_columns(self) -> dict[str, str]:
        """Every source column the mapping reads -> the first mapping key that reads it."""
        out: dict[str, str] = {}
        for t in self.tables:
            for c in sorted(condition_columns(t.when)):
                out.setdefault(c, f"tables.{t.name}.when")
            for cm in t.columns:
                for c in sorted(cm.source_columns()):
                    out.setdefault(c, f"tables.{t.name}.columns.{cm.name}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """The mapping as TOML-ready data; ``parse_mapping(m.to_dict()) == m``."""
        out: dict[str, Any] = {}
        if self.description is not None:
            out["description"] = self.description
        src = self.source.to_dict()
        if src:
            out["source"] = src
        out["tables"] = {t.name: t.to_dict() for t in self.tables}
        return out


# ----------------------------------------------------------------------------- parsing


def load_mapping(path: str | Path) -> TabularMapping:
    """Read and check a mapping TOML file.

    Raises:
        MappingError: the file is missing, not TOML, or does not describe a valid mapping;
            ``where`` names the file and the dotted key.
    """
    p = Path(path)
    origin = str(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise MappingError(f"mapping file {origin} not found", where="--mapping",
                           hint="pass an existing TOML file; examples are in examples/mappings/"
                           ) from None
    except UnicodeDecodeError as exc:
        raise MappingError(f"not UTF-8 text (byte offset {exc.start})", where=origin,
                           hint="save the mapping file as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"not valid TOML: {exc}", where=origin,
                           hint="check quoting and brackets; inline tables { ... } must fit "
                           "on one line") from None
    return parse_mapping(data, origin=origin)


def parse_mapping(data: dict[str, Any], origin: str = "<mapping>") -> TabularMapping:
    """Check parsed TOML data and build the mapping; ``origin`` names the file in errors."""
    w = _Where(origin)
    _keys(data, _TOP_KEYS, w, "top-level keys")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise w.error("description", "description must be text")
    source = _source(data.get("source", {}), w.at("source"))
    tables_raw = data.get("tables")
    if not isinstance(tables_raw, dict) or not tables_raw:
        raise w.error("tables", "the mapping maps no table",
                      hint="add a [tables.contacts.columns] block (or another canonical table)")
    tables = tuple(_table(name, raw, w.at(f"tables.{name}")) for name, raw in tables_raw.items())
    return TabularMapping(source=source, tables=tables, description=description, origin=origin)


@dataclass(frozen=True)
class _Where:
    """A position in the mapping file, for messages: ``file.toml: tables.contacts``."""

    origin: str
    path: str = ""

    def at(self, key: str) -> _Where:
        return _Where(self.origin, f"{self.path}.{key}" if self.path else key)

    def __str__(self) -> str:
        return f"{self.origin}: {self.path}" if self.path else self.origin

    def error(self, key: str | None, message: str, hint: str | None = None) -> MappingError:
        where = self.at(key) if key else self
        return MappingError(message, where=str(where), hint=hint)


#: Names people reach for -> the key this format uses.
_SYNONYMS = {
    "unit": "duration", "units": "duration", "const": "value", "constant": "value",
    "fmt": "format", "tz": "timezone", "time_zone": "timezone", "zone": "timezone",
    "from": "column", "source": "column", "col": "column", "case_insensitive": "ignore_case",
    "sep": "delimiter", "separator": "delimiter", "quotechar": "quote", "header": "header_row",
    "skiprows": "skip_rows", "sheet_name": "sheet", "decimal_separator": "decimal",
    "if": "when", "where": "when", "values": "map", "mapping": "map", "nulls": "null_values",
}


def _suggest(word: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    if _SYNONYMS.get(word) in choices:
        return f"did you mean {_SYNONYMS[word]!r}? "
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _keys(raw: dict[str, Any], allowed: Iterable[str], w: _Where, what: str) -> None:
    allowed = tuple(allowed)
    for key in raw:
        if key not in allowed:
            raise w.error(str(key), f"unknown key {key!r}",
                          hint=_suggest(str(key), allowed) + f"{what}: " + ", ".join(allowed))


def _table_of(raw: Any, w: _Where, what: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise MappingError(f"{what} must be a table (key = value pairs), not "
                           f"{type(raw).__name__}", where=str(w))
    return raw


def _char(raw: dict[str, Any], key: str, w: _Where, allow_empty: bool = False) -> str | None:
    v = raw.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or len(v) > 1 or (not v and not allow_empty):
        raise w.error(key, f"{key} must be one character", hint='e.g. ";" or "\\t" for a tab'
                      + (' or "" for none' if allow_empty else ""))
    return v


def _int(raw: dict[str, Any], key: str, w: _Where, default: int, minimum: int) -> int:
    v = raw.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise w.error(key, f"{key} must be a whole number >= {minimum}")
    return v


def _zone(tz: Any, w: _Where, key: str) -> str:
    if not isinstance(tz, str):
        raise w.error(key, "a time zone is an IANA name in quotes", hint='e.g. "Europe/Paris"')
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise w.error(key, f"unknown time zone {tz!r}",
                      hint='use an IANA name such as "Europe/Paris" or "America/New_York"'
                      ) from None
    return tz


def _source(raw: Any, w: _Where) -> SourceOptions:
    raw = _table_of(raw, w, "source")
    _keys(raw, _SOURCE_KEYS, w, "source options")
    fmt = raw.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise w.error("format", f"unknown format {fmt!r}", hint="use csv, parquet or xlsx")
    encoding = raw.get("encoding", "utf-8")
    try:
        codecs.lookup(str(encoding))
    except LookupError:
        raise w.error("encoding", f"unknown encoding {encoding!r}",
                      hint='e.g. "utf-8", "latin-1", "cp1252", "utf-16"') from None
    sheet = raw.get("sheet")
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, str | int)
                              or (isinstance(sheet, int) and sheet < 1)):
        raise w.error("sheet", "sheet is a sheet name or its position from 1")
    decimal = raw.get("decimal", ".")
    if decimal not in (".", ","):
        raise w.error("decimal", f"decimal must be \".\" or \",\", not {decimal!r}")
    thousands = _char(raw, "thousands", w, allow_empty=True) or None
    if thousands == decimal:
        raise w.error("thousands", "thousands and decimal separators must differ")
    ambiguous = raw.get("ambiguous", "earlier")
    if ambiguous not in AMBIGUOUS:
        raise w.error("ambiguous", f"unknown choice {ambiguous!r}",
                      hint="earlier, later or reject (for local times repeated when DST ends)")
    nulls = raw.get("null_values", [""])
    if not isinstance(nulls, list) or not all(isinstance(n, str) for n in nulls):
        raise w.error("null_values", "null_values is a list of texts",
                      hint='e.g. ["", "NULL", "N/A"]')
    quote = _char(raw, "quote", w, allow_empty=True)
    delimiter = _char(raw, "delimiter", w)
    if delimiter is not None and delimiter in ('"', "\n", "\r") or (
            delimiter is not None and delimiter == quote):
        raise w.error("delimiter", f"delimiter {delimiter!r} cannot be used",
                      hint="the delimiter must differ from the quote and from a line break")
    tz = raw.get("timezone")
    return SourceOptions(
        format=fmt,
        delimiter=delimiter,
        quote='"' if quote is None else quote,
        encoding=str(encoding),
        header_row=_int(raw, "header_row", w, 1, 0),
        skip_rows=_int(raw, "skip_rows", w, 0, 0),
        sheet=sheet,
        decimal=decimal,
        thousands=thousands,
        timezone=None if tz is None else _zone(tz, w, "timezone"),
        ambiguous=ambiguous,
        null_values=tuple(n.strip() for n in nulls),
    )


def _table(name: str, raw: Any, w: _Where) -> TableMapping:
    if name not in TABLES:
        raise MappingError(f"unknown canonical table {name!r}", where=str(w),
                           hint=_suggest(name, TABLES) + "tables: " + ", ".join(TABLES))
    table = TABLES[name]
    raw = _table_of(raw, w, f"tables.{name}")
    _keys(raw, _TABLE_KEYS, w, "a table mapping has")
    when = _condition(raw["when"], w.at("when")) if "when" in raw else None
    columns: dict[str, ColumnMapping] = {}
    cols_raw = _table_of(raw.get("columns", {}), w.at("columns"), "columns")
    for col, spec in cols_raw.items():
        cw = w.at(f"columns.{col}")
        columns[col] = ColumnMapping(col, _alternatives(spec, _column(table, col, cw), cw),
                                     where=str(cw))
    consts = _table_of(raw.get("constants", {}), w.at("constants"), "constants")
    for col, value in consts.items():
        cw = w.at(f"constants.{col}")
        column = _column(table, col, cw)
        if col in columns:
            raise MappingError(f"{col} is mapped twice (in columns and in constants)",
                               where=str(cw), hint="keep one of the two")
        columns[col] = ColumnMapping(
            col, (_field({"value": value}, column, cw),), where=str(cw))
    missing = [c.name for c in table.columns
               if c.required and c.name != "tenant" and c.name not in columns]
    if missing:
        raise MappingError(
            f"required column(s) of {name} not mapped: {', '.join(missing)}", where=str(w),
            hint=f"map them under [tables.{name}.columns] or [tables.{name}.constants]")
    return TableMapping(name, tuple(columns.values()), when=when, where=str(w))


def _column(table: Table, col: str, w: _Where) -> Column:
    if not table.has(col):
        raise MappingError(
            f"{table.name} has no column {col!r}", where=str(w),
            hint=_suggest(col, table.column_names) + "columns: " + ", ".join(table.column_names))
    return table.column(col)


def _alternatives(spec: Any, column: Column, w: _Where) -> tuple[FieldSpec, ...]:
    if isinstance(spec, list):
        if not spec:
            raise MappingError("an empty list of alternatives", where=str(w),
                               hint="give at least one source for the column")
        return tuple(_field(s, column, _Where(w.origin, f"{w.path}[{i}]"))
                     for i, s in enumerate(spec, 1))
    return (_field(spec, column, w),)


def _scalar(v: Any, w: _Where, key: str) -> Scalar:
    if isinstance(v, list | dict):
        raise w.error(key, f"{key} must be a single value (text, number, true/false, date)")
    return v  # type: ignore[no-any-return]


def _field(spec: Any, column: Column, w: _Where) -> FieldSpec:
    if isinstance(spec, str):
        spec = {"column": spec}
    if not isinstance(spec, dict):
        raise MappingError(
            "a column maps to a source column name, an inline table or a list of them",
            where=str(w), hint='e.g. wait_s = "Wait" or wait_s = { column = "Wait", '
            'duration = "hms" }')
    _keys(spec, _FIELD_KEYS, w, "a column mapping has")
    origins = [k for k in _ORIGIN_KEYS if k in spec]
    if len(origins) != 1:
        raise MappingError(
            "give exactly one of column, value, template, line or date (+ time)"
            + (f"; found {', '.join(origins)}" if origins else ""), where=str(w),
            hint='e.g. { column = "Wait" }, { value = "voice" }, { template = "{Date}-{Id}" }')
    kind = column.kind
    origin: Origin = "datetime" if origins[0] == "date" else origins[0]  # type: ignore[assignment]
    if "time" in spec and origin != "datetime":
        raise w.error("time", "time goes with date (separate date and time columns)")
    for key in ("column", "template", "date", "time"):
        if key in spec and (not isinstance(spec[key], str) or not spec[key].strip()):
            raise w.error(key, f"{key} must be a non-empty text")
    if origin == "line" and spec["line"] is not True:
        raise w.error("line", "line = true is the only form", hint="remove the key otherwise")
    if origin == "datetime":
        if kind is not Kind.TIMESTAMP:
            raise w.error("date", f"separate date and time columns build a timestamp; "
                          f"{column.name} is a {kind}")
        if "time" not in spec:
            raise w.error("date", "date needs time",
                          hint='add time = "Time column"; for a date-only value use '
                          'column = ... with format = ...')
        if "format" in spec:
            raise w.error("format", "with date and time, use date_format and time_format")
    for key in ("date_format", "time_format"):
        if key in spec and origin != "datetime":
            raise w.error(key, f"{key} goes with date and time columns",
                          hint="for one column use format")
    value = _scalar(spec["value"], w, "value") if origin == "value" else None
    template = spec.get("template")
    if template is not None:
        _check_template(template, w.at("template"))
    fmt = spec.get("format")
    if fmt is not None:
        if kind not in (Kind.TIMESTAMP, Kind.DATE):
            raise w.error("format", f"format applies to timestamps and dates; {column.name} "
                          f"is a {kind}")
        check_format(fmt, "date" if kind is Kind.DATE else "datetime", w.at("format"))
    date_format = spec.get("date_format", "%Y-%m-%d") if origin == "datetime" else None
    time_format = spec.get("time_format", "%H:%M:%S") if origin == "datetime" else None
    if date_format is not None:
        check_format(date_format, "date", w.at("date_format"))
    if time_format is not None:
        check_format(time_format, "time", w.at("time_format"))
    tz = spec.get("timezone")
    if tz is not None:
        if kind is not Kind.TIMESTAMP:
            raise w.error("timezone", f"timezone applies to timestamps; {column.name} is a {kind}")
        _zone(tz, w, "timezone")
    duration = spec.get("duration")
    if duration is not None:
        if kind is not Kind.DURATION:
            raise w.error("duration", f"duration applies to *_s columns; {column.name} is a "
                          f"{kind}")
        if duration not in DURATION_UNITS:
            raise w.error("duration", f"unknown duration unit {duration!r}",
                          hint=_suggest(str(duration), DURATION_UNITS) + "units: "
                          + ", ".join(DURATION_UNITS))
    vmap = _value_map(spec, w) if "map" in spec else None
    if vmap is None:
        for key in ("default", "ignore_case"):
            if key in spec:
                raise w.error(key, f"{key} goes with map", hint="add map = { ... } or remove it")
    elif origin in ("line", "datetime"):
        raise w.error("map", f"map cannot apply to {origin} values")
    when = _condition(spec["when"], w.at("when")) if "when" in spec else None
    return FieldSpec(
        origin=origin,
        column=spec.get("column"),
        value=value,
        template=template,
        date_column=spec.get("date"),
        time_column=spec.get("time"),
        format=fmt,
        date_format=date_format,
        time_format=time_format,
        timezone=tz,
        duration=duration,
        map=vmap,
        when=when,
    )


def _value_map(spec: dict[str, Any], w: _Where) -> ValueMap:
    raw = spec["map"]
    if not isinstance(raw, dict) or not raw:
        raise w.error("map", "map is a table of source value = canonical value",
                      hint='e.g. map = { Y = "answered", N = "abandoned" }')
    ignore_case = spec.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise w.error("ignore_case", "ignore_case is true or false")
    pairs: dict[str, Scalar] = {}
    for key, value in raw.items():
        k = key.strip().lower() if ignore_case else key.strip()
        v = _scalar(value, w.at("map"), key)
        if k in pairs and pairs[k] != v:
            raise w.error(f"map.{key}", f"source value {key!r} is mapped twice to different "
                          "values" + (" (ignore_case)" if ignore_case else ""))
        pairs[k] = v
    default = _scalar(spec["default"], w, "default") if "default" in spec else None
    return ValueMap(tuple(pairs.items()), default=default, ignore_case=ignore_case)


def template_parts(template: str) -> list[tuple[bool, str]]:
    """Split ``"{Date}-{Call ID}"`` into ``[(True, "Date"), (False, "-"), (True, "Call ID")]``.

    ``{{`` and ``}}`` are literal braces. Raises ValueError on a lone brace or empty ``{}``.
    """
    parts: list[tuple[bool, str]] = []
    literal = ""
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        literal += template[pos:m.start()]
        pos = m.end()
        tok = m.group(0)
        if tok in ("{{", "}}"):
            literal += tok[0]
        elif tok in ("{", "}"):
            raise ValueError(f"lone {tok!r} at position {m.start()}; write {tok * 2} for a "
                             "literal brace")
        else:
            name = m.group(1).strip()
            if not name:
                raise ValueError("empty placeholder {}")
            if literal:
                parts.append((False, literal))
                literal = ""
            parts.append((True, name))
    literal += template[pos:]
    if literal:
        parts.append((False, literal))
    return parts


def _check_template(template: str, w: _Where) -> None:
    try:
        parts = template_parts(template)
    except ValueError as exc:
        raise MappingError(f"bad template {template!r}: {exc}", where=str(w),
                           hint='write source columns in braces, e.g. "{Date}-{Call ID}"'
                           ) from None
    if not any(is_col for is_col, _ in parts):
        raise MappingError(f"template {template!r} names no column", where=str(w),
                           hint='use value = "..." for a constant')


def check_format(fmt: Any, kind: Literal["datetime", "date", "time"], w: Any = None) -> str:
    """Check a strptime format by formatting a sample and parsing it back.

    Raises:
        MappingError: the format has no or unknown directives, or cannot be parsed back.
    """
    where = str(w) if w is not None else None
    hint = {"datetime": 'e.g. "%d/%m/%Y %H:%M:%S" or "%Y-%m-%dT%H:%M:%S%z"',
            "date": 'e.g. "%d/%m/%Y" or "%Y-%m-%d"',
            "time": 'e.g. "%H:%M:%S" or "%I:%M %p"'}[kind]
    if not isinstance(fmt, str) or "%" not in fmt:
        raise MappingError(f"bad format {fmt!r}: no % directive", where=where, hint=hint)
    directives = re.findall(r"%(.)", fmt.replace("%%", ""))
    unknown = sorted({d for d in directives if d not in _DIRECTIVES})
    if unknown or fmt.replace("%%", "").endswith("%"):
        raise MappingError(f"bad format {fmt!r}: unknown directive(s) "
                           + ", ".join(f"%{d}" for d in unknown or ["(trailing %)"]),
                           where=where, hint=hint + "; directives as in Python's strptime")
    if kind == "date" and set(directives) & set("HIMSfpzZ"):
        raise MappingError(f"bad format {fmt!r}: a date format with time directives",
                           where=where, hint=hint)
    if kind == "time" and set(directives) & set("aAbBdjmUwWyYGVu"):
        raise MappingError(f"bad format {fmt!r}: a time format with date directives",
                           where=where, hint=hint)
    problem = _round_trip_problem(fmt)
    if problem:
        raise MappingError(f"bad format {fmt!r}: {problem}", where=where, hint=hint)
    return fmt


@functools.lru_cache(maxsize=256)
def _round_trip_problem(fmt: str) -> str | None:
    """Why a sample formatted with ``fmt`` cannot be parsed back by pandas, or None."""
    aware = "%z" in fmt or "%Z" in fmt
    sample = datetime(2024, 11, 23, 13, 45, 56, 789000, tzinfo=UTC if aware else None)
    try:
        pd.to_datetime(pd.Series([sample.strftime(fmt)]), format=fmt, utc=aware)
    except (ValueError, TypeError) as exc:
        return str(exc).splitlines()[0]
    return None


def _condition(raw: Any, w: _Where) -> Condition:
    raw = _table_of(raw, w, "a condition")
    _keys(raw, _CONDITION_KEYS, w, "a condition has")
    groups = [k for k in ("all", "any", "not") if k in raw]
    ops = [k for k in _COMPARE_OPS if k in raw]
    if groups:
        if len(groups) > 1 or len(raw) > 1:
            raise MappingError(f"{groups[0]} must stand alone in its condition", where=str(w),
                               hint="nest: { all = [ {...}, {...} ] }")
        key = groups[0]
        if key == "not":
            return Not(_condition(raw["not"], w.at("not")))
        parts = raw[key]
        if not isinstance(parts, list) or not parts:
            raise w.error(key, f"{key} takes a list of conditions")
        built = tuple(_condition(p, _Where(w.origin, f"{w.path}.{key}[{i}]"))
                      for i, p in enumerate(parts, 1))
        return AllOf(built) if key == "all" else AnyOf(built)
    column = raw.get("column")
    if not isinstance(column, str) or not column.strip():
        raise w.error("column", "a condition names a source column",
                      hint='e.g. { column = "CSAT", present = true }')
    if not ops:
        raise MappingError("a condition needs an operator", where=str(w),
                           hint="one of " + ", ".join(_COMPARE_OPS))
    ignore_case = raw.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise w.error("ignore_case", "ignore_case is true or false")
    built_ops = tuple(Compare(column, op, _operand(op, raw[op], w), ignore_case) for op in ops)
    return built_ops[0] if len(built_ops) == 1 else AllOf(built_ops)


def _operand(op: str, v: Any, w: _Where) -> Any:
    def scalar_ok(x: Any) -> bool:
        return isinstance(x, str | int | float) and not isinstance(x, bool)

    if op == "present":
        if not isinstance(v, bool):
            raise w.error(op, "present is true or false")
        return v
    if op in ("in", "not_in"):
        if not isinstance(v, list) or not v or not all(scalar_ok(x) for x in v):
            raise w.error(op, f"{op} takes a non-empty list of texts or numbers")
        return tuple(v)
    if op in ("gt", "ge", "lt", "le"):
        if not isinstance(v, int | float) or isinstance(v, bool):
            raise w.error(op, f"{op} compares with a number")
        return v
    if not scalar_ok(v):
        raise w.error(op, f"{op} takes a text or a number")
    return v
