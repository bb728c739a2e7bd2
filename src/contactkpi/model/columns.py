"""Column kinds, columns, row rules and tables: the vocabulary of the canonical model.

Naming rules (checked by ``Table.__post_init__``):
- durations are seconds and end in ``_s`` (``wait_s``), stored as float64;
- instants end in ``_at`` and are stored in UTC (``timestamp('UTC')``);
- calendar dates end in ``_on`` or are called ``date``/``period_*``;
- every table has a ``tenant`` column and it is part of the primary key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import ibis.expr.datatypes as dt
import pandas as pd

from contactkpi.errors import InternalError


class Kind(StrEnum):
    """How a canonical column is typed and checked."""

    STRING = "string"
    CODE = "code"  # a string from a closed set (``allowed``), lower-cased on load
    INT = "int"
    FLOAT = "float"
    DURATION = "duration"  # seconds, float
    MONEY = "money"
    BOOL = "bool"
    TIMESTAMP = "timestamp"  # an instant, stored in UTC
    DATE = "date"


_IBIS_TYPES: Mapping[Kind, dt.DataType] = {
    Kind.STRING: dt.string,
    Kind.CODE: dt.string,
    Kind.INT: dt.int64,
    Kind.FLOAT: dt.float64,
    Kind.DURATION: dt.float64,
    Kind.MONEY: dt.float64,
    Kind.BOOL: dt.boolean,
    Kind.TIMESTAMP: dt.Timestamp(timezone="UTC", scale=6),
    Kind.DATE: dt.date,
}


@dataclass(frozen=True)
class Column:
    """One canonical column: its kind and the checks every value must pass."""

    name: str
    kind: Kind
    description: str
    required: bool = False
    allowed: frozenset[str] | None = None
    min: float | None = None
    max: float | None = None

    @property
    def dtype(self) -> dt.DataType:
        return _IBIS_TYPES[self.kind]


#: A vectorised check: given the typed frame, True where the row is valid.
Check = Callable[[pd.DataFrame], "pd.Series[bool]"]


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row, e.g. ``answered_at >= arrived_at``.

    ``check`` returns True for rows that pass; rows where an input is missing must pass
    (a missing value is the business of ``required``, not of a rule). ``sql`` is the same
    rule as a SQL boolean over the typed columns (double-quoted names), used when rows are
    conformed inside DuckDB (``model.validate_sql``); a NULL result counts as a pass.
    Both forms are checked against each other on generated rows (tests/model).
    """

    name: str
    field: str
    message: str
    check: Check
    sql: str


@dataclass(frozen=True)
class Table:
    """A canonical table: columns, primary key and row rules."""

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    rules: tuple[RowRule, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise InternalError(f"table {self.name}: duplicate column names")
        if names[0] != "tenant" or self.primary_key[0] != "tenant":
            raise InternalError(f"table {self.name}: tenant must be the first column and key")
        for key in self.primary_key:
            if key not in names:
                raise InternalError(f"table {self.name}: key {key} is not a column")
        for c in self.columns:
            if c.kind is Kind.DURATION and not c.name.endswith("_s"):
                raise InternalError(f"{self.name}.{c.name}: durations end in _s")
            if c.kind is Kind.TIMESTAMP and not c.name.endswith("_at"):
                raise InternalError(f"{self.name}.{c.name}: timestamps end in _at")
            if c.kind is Kind.CODE and not c.allowed:
                raise InternalError(f"{self.name}.{c.name}: a code column needs allowed values")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return name in self.column_names

    def schema(self) -> dict[str, dt.DataType]:
        """Ibis types by column name, in declared order."""
        return {c.name: c.dtype for c in self.columns}


def tenant_column() -> Column:
    return Column(
        "tenant",
        Kind.STRING,
        "Client business the row belongs to (one warehouse serves many).",
        required=True,
    )


def quote(name: str) -> str:
    """A column name as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def not_before(later: str, earlier: str) -> RowRule:
    """Rule ``later >= earlier`` when both are present."""

    def check(df: pd.DataFrame) -> pd.Series:
        a, b = df[later], df[earlier]
        return a.isna() | b.isna() | (a >= b)

    return RowRule(
        name=f"{later}_not_before_{earlier}",
        field=later,
        message=f"{later} is before {earlier}",
        check=check,
        sql=f"{quote(later)} IS NULL OR {quote(earlier)} IS NULL "
            f"OR {quote(later)} >= {quote(earlier)}",
    )


def required_when(column: str, predicate: Check, predicate_sql: str,
                  condition: str) -> RowRule:
    """Rule: ``column`` must be present on rows where ``predicate`` (``predicate_sql``) holds."""

    def check(df: pd.DataFrame) -> pd.Series:
        return ~predicate(df).fillna(False).astype(bool) | df[column].notna()

    return RowRule(
        name=f"{column}_required_when_{condition.replace(' ', '_')}",
        field=column,
        message=f"{column} is required when {condition}",
        check=check,
        sql=f"NOT coalesce({predicate_sql}, false) OR {quote(column)} IS NOT NULL",
    )
