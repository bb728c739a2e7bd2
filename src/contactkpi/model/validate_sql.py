"""Conform rows already held in DuckDB, with the same checks as ``model.validate.conform``.

A source that derives its rows in SQL (the Asterisk queue_log) hands the loader a
:class:`SqlRows`: the name of a temp table or view on the load's own connection, with
canonical columns (any subset) already *typed* and a ``_line`` column. Copying millions of
such rows into pandas only to check them costs more than deriving them, so here the checks of
:mod:`contactkpi.model.validate` are written as SQL over the same declarations (``Column``
kind, ``required``, ``allowed``, ``min``/``max``; each ``RowRule``'s ``sql`` form) and run
inside DuckDB. The result is the same: the same typed values, the same reason codes and
sentences, on the same lines (tests/model/test_validate_sql.py compares both paths on
generated rows).

Only typed input is taken here: a column that would need text parsing (a number, time or flag
given as text) raises :class:`NotTyped`, and the loader then reads the relation into pandas
and uses ``conform``, so parsing text has one implementation.

Typing, column by column (``x`` is the input value):

- string/code: Unicode whitespace trimmed as ``str.strip`` does; blank -> NULL; code
  lower-cased;
- numbers from any numeric type: ``DOUBLE``; NaN is missing, +-inf is ``not_a_number``; an
  int column also rejects fractions and magnitudes above 2**53 (``not_an_integer``);
- timestamps: ``TIMESTAMPTZ`` as they are, naive ``TIMESTAMP`` read as UTC;
- booleans and dates only from ``BOOLEAN`` and ``DATE``; an all-NULL column from any type.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from contactkpi.model.columns import Column, Kind, Table, quote
from contactkpi.model.validate import LINE, REJECT_COLUMNS, empty_rejects, reason

#: What ``str.strip()`` removes (Unicode White_Space and the ASCII separators 0x1c-0x1f).
_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
               "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
#: The type given to a column that holds only NULLs (DuckDB types a bare NULL as INTEGER).
_ALL_NULL = "NULL"
_NAIVE_TIMES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATETIME")
_SQL_TYPES = {
    Kind.STRING: "VARCHAR", Kind.CODE: "VARCHAR", Kind.INT: "BIGINT", Kind.FLOAT: "DOUBLE",
    Kind.DURATION: "DOUBLE", Kind.MONEY: "DOUBLE", Kind.BOOL: "BOOLEAN",
    Kind.TIMESTAMP: "TIMESTAMPTZ", Kind.DATE: "DATE",
}


@dataclass(frozen=True)
class SqlRows:
    """Canonical rows in a temp table or view ``name`` of the load's DuckDB connection.

    Columns: canonical names (any subset of the table's, typed) and ``_line``. The loader
    owns the relation once it is handed over and drops it after staging, then the temp
    tables a view named in ``under`` (a view can add columns that are the same on every
    row, such as the tenant: typing and checking a constant costs nothing).

    ``keys_unique``: the source has made sure that no two rows share a primary-key value as
    given (it deduplicated them, or it knows why they cannot repeat and checked that), so the
    loader does not group them again; whether typing merges two keys is still tested.
    """

    name: str
    under: tuple[str, ...] = ()
    keys_unique: bool = False


def drop_relation(db: Any, name: str) -> None:
    """Drop the temp view or table ``name``, whichever it is (``IF EXISTS``)."""
    (views,) = db.execute("SELECT count(*) FROM duckdb_views() WHERE temporary "
                          "AND view_name = ?", [name]).fetchone()
    db.execute(f"DROP {'VIEW' if views else 'TABLE'} IF EXISTS {quote(name)}")


class NotTyped(Exception):
    """A column needs text parsing: conform it in pandas instead."""


@dataclass(frozen=True)
class SqlConformed:
    """``view``: every table column typed as declared, plus ``_line`` and ``_bad``."""

    view: str
    rows: int
    bad: int
    rejects: pd.DataFrame


@dataclass(frozen=True)
class SqlCheck:
    """The view of :func:`check_sql`; its rejects are computed only when asked for."""

    table: Table
    view: str  # table columns, _line, _bad
    inner: str  # the view it selects from, with every check's flag
    checks: tuple[_Check, ...]
    column_checks: int
    relation: str  # the rows as given
    given: frozenset[str]  # the columns ``relation`` has
    #: SQL over ``relation``: a text key that typing may change (trim, lower-case, empty);
    #: None when no key is text; "" when some key's typing may merge values otherwise.
    key_changed: str | None

    def keys_repeat(self, db: Any, given_unique: bool = False) -> bool:
        """Some primary key occurs more than once among the typed rows (good or not).

        Typing keeps distinct keys distinct, except where it trims, lower-cases or empties
        a text key: so the untyped keys are grouped (nothing is typed for that; not at all
        when the source vouches that they are unique, ``given_unique``), and the typed ones
        only when an untyped key repeats or typing may change a text key.
        """
        keys = self.table.primary_key
        if self.key_changed == "":  # some key's typing may merge values: group typed keys
            return keys_repeat_in(db, self.view, keys)
        given = [k for k in keys if k in self.given]
        if not given:  # every key NULL: one key on every row
            (n,) = db.execute(f"SELECT count(*) FROM {quote(self.relation)}").fetchone()
            return n > 1
        if not given_unique and keys_repeat_in(db, self.relation, given):
            return True
        if self.key_changed is None:
            return False
        (changed,) = db.execute(f"SELECT count(*) FROM {quote(self.relation)} "
                                f"WHERE {self.key_changed}").fetchone()
        return bool(changed) and keys_repeat_in(db, self.view, keys)

    def rejects(self, db: Any) -> pd.DataFrame:
        """One row per problem, in ``conform``'s order (see :func:`conform_sql`)."""
        return _rejects(db, self.table, self.inner, self.checks, self.column_checks)

    def drop(self, db: Any) -> None:
        """Drop both views."""
        for name in (self.view, self.inner):
            db.execute(f"DROP VIEW IF EXISTS {quote(name)}")


def keys_repeat_in(db: Any, relation: str, keys: Sequence[str]) -> bool:
    """Some value of the columns ``keys`` occurs on more than one row of ``relation``."""
    (n,) = db.execute(f"SELECT count(*) FROM (SELECT 1 FROM {quote(relation)} GROUP BY "
                      f"{', '.join(quote(k) for k in keys)} HAVING count(*) > 1)").fetchone()
    return bool(n)


def _key_changed(table: Table, types: dict[str, str]) -> str | None:
    """``SqlCheck.key_changed`` for these input types."""
    changed = []
    for key in table.primary_key:
        col = table.column(key)
        type_name = types.get(key, _ALL_NULL)
        base = _base_type(type_name)
        if type_name == _ALL_NULL or (col.kind is Kind.TIMESTAMP and (
                _with_zone(type_name) or (base in _NAIVE_TIMES and base != "TIMESTAMP_NS"))):
            continue  # all NULL, or the same instant
        if col.kind in (Kind.STRING, Kind.CODE) and base == "VARCHAR":
            # typing keeps a text value whose ends are printable (and, for a code, that is
            # lower case); this says "may change" for some values it keeps, never the reverse
            raw = quote(key)
            kept = printable_edges(raw) + (f" AND {raw} = lower({raw})"
                                           if col.kind is Kind.CODE else "")
            changed.append(f"({raw} IS NOT NULL AND NOT ({kept}))")
        else:
            return ""
    return " OR ".join(changed) or None


def sql_type(kind: Kind) -> str:
    """The DuckDB type a canonical column is stored as."""
    return _SQL_TYPES[kind]


def sql_literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _base_type(type_name: str) -> str:
    return type_name.split("(")[0].strip().upper()


def _with_zone(type_name: str) -> bool:
    return _base_type(type_name) in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")


@dataclass(frozen=True)
class _Check:
    """One problem as SQL: a boolean over the typed row, the raw column shown as the value."""

    field: str
    code: str
    sentence: str
    when: str
    value: str | None  # SQL of the value shown, or None


def _shown(raw: str, type_name: str) -> str:
    """SQL rendering a raw value as ``str()`` of the pandas value would (first 200 chars)."""
    base = _base_type(type_name)
    if base == "TIMESTAMP_NS":
        nanos = f"((epoch_ns({raw}) % 1000000000) + 1000000000) % 1000000000"
        return (f"strftime({raw}, '%Y-%m-%d %H:%M:%S') || CASE "
                f"WHEN {nanos} % 1000 <> 0 THEN '.' || lpad(CAST({nanos} AS VARCHAR), 9, '0') "
                f"WHEN {nanos} <> 0 THEN '.' || lpad(CAST({nanos} // 1000 AS VARCHAR), 6, '0') "
                f"ELSE '' END")
    if base in ("FLOAT", "REAL"):
        return f"left(CAST(CAST({raw} AS DOUBLE) AS VARCHAR), 200)"
    if _with_zone(type_name):
        naive, offset = f"timezone('UTC', {raw})", "'+00:00'"
    elif base in _NAIVE_TIMES:
        naive, offset = f"CAST({raw} AS TIMESTAMP)", "''"
    elif base == "BOOLEAN":
        return f"CASE WHEN {raw} THEN 'True' WHEN NOT {raw} THEN 'False' END"
    else:
        return f"left(CAST({raw} AS VARCHAR), 200)"
    micros = f"microsecond({naive}) % 1000000"
    return (f"strftime({naive}, '%Y-%m-%d %H:%M:%S') || CASE WHEN {micros} <> 0 "
            f"THEN '.' || lpad(CAST({micros} AS VARCHAR), 6, '0') ELSE '' END || {offset}")


def printable_edges(sql: str) -> str:
    """SQL: the first and the last character of ``sql`` are printable ASCII (no space), so
    no trim of whitespace can change it (the fastest test DuckDB offers for the last
    character is ``ascii(reverse(...))``)."""
    return f"(ascii({sql}) BETWEEN 33 AND 126 AND ascii(reverse({sql})) BETWEEN 33 AND 126)"


def _typed(col: Column, raw: str, type_name: str | None) -> tuple[str, list[_Check]]:
    """SQL of the typed value and the coercion problems (``raw`` is the input column)."""
    target = sql_type(col.kind)
    if type_name is None or type_name == _ALL_NULL:
        return f"CAST(NULL AS {target})", []
    base = _base_type(type_name)
    k = col.kind
    if k in (Kind.STRING, Kind.CODE) and base == "VARCHAR":
        # trimming with a set of characters is slow: skip it when the first and the last
        # character are printable ASCII (nearly always), where it changes nothing
        out = (f"nullif(CASE WHEN {printable_edges(raw)} THEN {raw} "
               f"ELSE trim({raw}, {sql_literal(_WHITESPACE)}) END, '')")
        return (f"lower({out})" if k is Kind.CODE else out), []
    if k in (Kind.INT, Kind.FLOAT, Kind.DURATION, Kind.MONEY) and base in _NUMERIC:
        num = f"CAST({raw} AS DOUBLE)"
        checks = [_Check(col.name, "not_a_number", reason(col, "not_a_number"),
                         f"isinf({num})", _shown(raw, type_name))]
        ok = f"CASE WHEN isnan({num}) OR isinf({num}) THEN NULL ELSE {num} END"
        if k is Kind.INT:
            checks.append(_Check(
                col.name, "not_an_integer", reason(col, "not_an_integer"),
                f"NOT isnan({num}) AND NOT isinf({num}) AND ({num} <> floor({num}) "
                f"OR abs({num}) > 9007199254740992)", _shown(raw, type_name)))
            ok = f"CASE WHEN {checks[1].when} THEN NULL ELSE CAST({ok} AS BIGINT) END"
        return ok, checks
    if k is Kind.BOOL and base == "BOOLEAN":
        return raw, []
    if k is Kind.TIMESTAMP and _with_zone(type_name):
        return f"CAST({raw} AS TIMESTAMPTZ)", []
    if k is Kind.TIMESTAMP and base == "TIMESTAMP_NS":  # floor to microseconds, as pandas
        ns = f"epoch_ns({raw})"
        return f"make_timestamptz(({ns} - (({ns} % 1000) + 1000) % 1000) // 1000)", []
    if k is Kind.TIMESTAMP and base in _NAIVE_TIMES:
        # same microseconds, read as UTC (15x faster than timezone('UTC', x))
        return f"make_timestamptz(epoch_us(CAST({raw} AS TIMESTAMP)))", []
    if k is Kind.DATE and base == "DATE":
        return raw, []
    raise NotTyped(f"{col.name}: {type_name} as {k.value}")


def _column_checks(col: Column, present: bool, value: str, coercion: list[_Check],
                   raw_shown: str | None) -> list[_Check]:
    """Every problem of one column, in the order ``conform`` reports them."""
    name = quote(col.name)
    checks = list(coercion)
    failed = " OR ".join(f"coalesce({c.when}, false)" for c in coercion) or "false"
    if col.required:
        checks.append(_Check(col.name, "missing_required", reason(col, "missing_required"),
                             f"{value} IS NULL AND NOT ({failed})" if present else "true",
                             None))
    if not present:
        return checks
    if col.allowed is not None:
        codes = ", ".join(sql_literal(c) for c in sorted(col.allowed))
        checks.append(_Check(col.name, "unknown_code", reason(col, "unknown_code"),
                             f"{name} NOT IN ({codes})", raw_shown))
    if (col.min is not None or col.max is not None) and col.kind is not Kind.DATE:
        bounds = [f"{name} < {col.min!r}" if col.min is not None else None,
                  f"{name} > {col.max!r}" if col.max is not None else None]
        checks.append(_Check(col.name, "out_of_range", reason(col, "out_of_range"),
                             " OR ".join(b for b in bounds if b), raw_shown))
    return checks


def conform_sql(db: Any, table: Table, relation: str) -> SqlConformed:
    """Type and check the rows of ``relation`` against ``table``, inside DuckDB.

    Creates the temp view ``_conformed_<table>`` (drop it when done), counts its rows and
    bad rows and computes the rejects when there are any. Raises :class:`NotTyped` when a
    column needs text parsing (use ``conform`` then) and ``ValueError`` for a column the
    table does not have.
    """
    check = check_sql(db, table, relation)
    rows, bad = db.execute(f"SELECT count(*), count(*) FILTER (WHERE _bad) "
                           f"FROM {quote(check.view)}").fetchone()
    rejects = check.rejects(db) if bad else empty_rejects()
    return SqlConformed(view=check.view, rows=int(rows), bad=int(bad), rejects=rejects)


@contextmanager
def checked_once(db: Any) -> Iterator[None]:
    """Read a view of :func:`check_sql` with ``WHERE NOT _bad`` without typing twice.

    DuckDB pushes a filter below the projections it names, copying their expressions into
    it: every column would be typed and checked once for the filter and again for the
    result. With filter pushdown off for the statement, each is computed once.
    """
    (before,) = db.execute("SELECT current_setting('disabled_optimizers')").fetchone()
    off = ",".join(x for x in (before, "filter_pushdown") if x)
    db.execute(f"SET disabled_optimizers = {sql_literal(off)}")
    try:
        yield
    finally:
        db.execute(f"SET disabled_optimizers = {sql_literal(before or '')}")


def check_sql(db: Any, table: Table, relation: str) -> SqlCheck:
    """Create the view of :func:`conform_sql` without reading it (the loader inserts its
    good rows and asks for rejects only when some rows were left out)."""
    types = {r[0]: r[1] for r in db.execute(
        f"DESCRIBE SELECT * FROM {quote(relation)}").fetchall()}
    extra = set(types) - set(table.column_names) - {LINE}
    if extra:
        raise ValueError(f"columns not in {table.name}: {sorted(extra)}")
    if LINE not in types:
        raise ValueError(f"{relation} has no {LINE} column")
    raws = {c.name: f"_r{i}" for i, c in enumerate(table.columns)}
    typed: list[str] = []
    checks: list[_Check] = []
    for col in table.columns:
        present = col.name in types
        try:
            expr, coercion = _typed(col, raws[col.name], types.get(col.name))
        except NotTyped:
            (filled,) = db.execute(f"SELECT count({quote(col.name)}) "
                                   f"FROM {quote(relation)}").fetchone()
            if filled:
                raise
            types[col.name] = _ALL_NULL  # all NULL, whatever type it was given
            expr, coercion = _typed(col, raws[col.name], _ALL_NULL)
        typed.append(f"{expr} AS {quote(col.name)}")
        shown = _shown(raws[col.name], types[col.name]) if present else None
        checks.extend(_column_checks(col, present, quote(col.name), coercion, shown))
    for rule in table.rules:
        shown = _shown(raws[rule.field], types[rule.field]) if rule.field in types else None
        checks.append(_Check(rule.field, f"rule:{rule.name}", rule.message,
                             f"NOT coalesce({rule.sql}, true)", shown))
    n_cols = sum(not c.code.startswith("rule:") for c in checks)
    inner = ", ".join(f"{quote(name)} AS {raws[name]}" for name in table.column_names
                      if name in types)
    flags = ", ".join(f"coalesce({c.when}, false) AS _q{i}" for i, c in enumerate(checks))
    col_bad = " OR ".join(f"_q{i}" for i in range(n_cols)) or "false"
    rule_bad = " OR ".join(f"_q{i}" for i in range(n_cols, len(checks))) or "false"
    view = f"_conformed_{table.name}"
    checked = f"_checked_{table.name}"
    db.execute(f"""
        CREATE OR REPLACE TEMP VIEW {quote(checked)} AS
        SELECT *, _col_bad OR ({rule_bad}) AS _bad FROM (
          SELECT *, {col_bad} AS _col_bad FROM (
            SELECT *{", " + flags if flags else ""} FROM (
              SELECT {", ".join(typed)}, CAST({LINE} AS BIGINT) AS {LINE}
                     {", " + ", ".join(raws[n] for n in table.column_names if n in types)
                      if inner else ""}
              FROM (SELECT {inner + ", " if inner else ""}{LINE}
                    FROM {quote(relation)}))))""")
    public = ", ".join(quote(c) for c in (*table.column_names, LINE, "_bad"))
    db.execute(f"CREATE OR REPLACE TEMP VIEW {quote(view)} AS "
               f"SELECT {public} FROM {quote(checked)}")
    return SqlCheck(table=table, view=view, inner=checked, checks=tuple(checks),
                    column_checks=n_cols, relation=relation, given=frozenset(types),
                    key_changed=_key_changed(table, types))


def _rejects(db: Any, table: Table, view: str, checks: tuple[_Check, ...],
             n_cols: int) -> pd.DataFrame:
    """One row per problem, in ``conform``'s order: column checks, then rules on rows that
    passed them and the rules before; within one check, in line order. The bad rows are
    copied out once, so the checks are not evaluated again for each kind of problem."""
    bad = f"_bad_rows_{table.name}"
    db.execute(f"CREATE OR REPLACE TEMP TABLE {quote(bad)} AS "
               f"SELECT * FROM {quote(view)} WHERE _bad")
    parts = []
    for i, c in enumerate(checks):
        earlier = "".join(f" AND NOT _q{j}" for j in range(n_cols, i))
        when = f"_q{i}" if i < n_cols else f"_q{i} AND NOT _col_bad{earlier}"
        parts.append(
            f"SELECT {i} AS _k, {LINE} AS line, {sql_literal(table.name)} AS table_name, "
            f"{sql_literal(c.field)} AS field, "
            f"{c.value if c.value is not None else 'CAST(NULL AS VARCHAR)'} AS value, "
            f"{sql_literal(c.code)} AS reason_code, {sql_literal(c.sentence)} AS reason "
            f"FROM {quote(bad)} WHERE {when}")
    found = db.execute(f"SELECT {', '.join(REJECT_COLUMNS)} FROM ("
                       + " UNION ALL ".join(parts) + ") ORDER BY _k, line").df()
    db.execute(f"DROP TABLE {quote(bad)}")
    found["line"] = found["line"].astype("int64")
    for col in REJECT_COLUMNS[1:]:
        found[col] = found[col].astype("object").where(found[col].notna(), None)
    return found
