"""Conforming in DuckDB (``validate_sql``) agrees with conforming in pandas (``validate``).

Both paths get the same typed rows (DuckDB: a temp table; pandas: the frame it came from).
They must keep the same rows with the same typed values, and reject the same lines with the
same (line, table, field, value, reason code, sentence). Each ``RowRule``'s ``check`` and
``sql`` forms must agree on the same typed rows too.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contactkpi.model import TABLES
from contactkpi.model.columns import Column, Kind, RowRule, Table, quote
from contactkpi.model.validate import LINE, REJECT_COLUMNS, conform
from contactkpi.model.validate_sql import NotTyped, check_sql, conform_sql, sql_type

# duckdb 1.5 reads string[pyarrow] columns through a pandas attribute pandas 2.3 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:ArrowStringArray._data:FutureWarning")

CONTACTS = TABLES["contacts"]
ARROW_STR = pd.StringDtype("pyarrow")
DESCRIBED = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}  # DESCRIBE spells it out
#: Generated frames per table. conform_sql has a fixed cost per call that grows with the
#: number of checks (about 0.3 s for contacts), so contacts gets fewer, with more rows each.
EXAMPLES = {"contacts": 20}

# ---------------------------------------------------------------- value strategies (typed)

#: Padding: Unicode White_Space both paths strip, plus U+200B which neither strips.
PADS = ("", "", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", " \t\u00a0\u3000",
        "\x1c", "\x85", "\u2028", "\u202f", "\u200b")
WORDS = ("x", "acme", "Q 1", "ä", "Ünïcödé", "e\u0301", "x" * 210)
BASES = (dt.datetime(2026, 3, 2, 9, 0), dt.datetime(1969, 12, 31, 23, 59, 59, 500000),
         dt.datetime(2199, 12, 31, 23, 0))
BASE_DAYS = (dt.date(2026, 3, 2), dt.date(1969, 12, 31), dt.date(2000, 2, 28))
SPECIAL_FLOATS = (math.inf, -math.inf, math.nan, -0.0, 0.0, 0.5, 1.5, -3.0, -0.25, 24.0,
                  24.5, 59.9, 60.0, 1e-300, 2.0**53, 2.0**53 + 2, -(2.0**53) - 2, 2.0**63,
                  1e20, -1e300, 0.1 + 0.2)
SPECIAL_INTS = (0, 1, -1, 5, 6, 10, 11, 2**53, 2**53 + 1, -(2**53) - 1, 2**62, -(2**63) + 1)
NUMERIC_DTYPES = ("float64", "Int64", "int64", "float32", "int32", "uint8", "decimal")
INT_BOUNDS = {"int64": (-(2**63), 2**63 - 1), "int32": (-(2**31), 2**31 - 1), "uint8": (0, 255)}


def _padded(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(PADS), core, st.sampled_from(PADS)).map("".join)


def _cased(code: str, how: str) -> str:
    if how == "upper":
        return code.upper()
    if how == "title":
        return code.title()
    if how == "exotic":  # capital I with dot, Kelvin sign: both lower-case to ASCII
        return code.upper().replace("I", "\u0130").replace("K", "\u212a")
    return code


def _maybe_none(col: Column, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``values``, or also None when ``col`` may be missing."""
    return values if col.required else st.none() | values


def _strings(col: Column, good: bool) -> st.SearchStrategy[str | None]:
    words = _padded(st.sampled_from(WORDS))
    if good:
        return _maybe_none(col, words)
    text = st.text(st.characters(codec="utf-8"), max_size=4)
    return st.one_of(st.none(), st.sampled_from(PADS), words, _padded(text))


def _codes(col: Column, good: bool) -> st.SearchStrategy[str | None]:
    allowed = sorted(col.allowed or ())
    known = _padded(st.builds(_cased, st.sampled_from(allowed),
                              st.sampled_from(("lower", "upper", "title", "exotic"))))
    if good:
        return _maybe_none(col, known)
    unknown = st.sampled_from(("zzz", allowed[0] + "_x", allowed[0].replace("", " ")[1:-1],
                               "\u0130nbound", "x" * 205))
    return st.one_of(st.none(), st.sampled_from(PADS), known, _padded(unknown))


def _bounds(col: Column) -> tuple[float, float]:
    return (col.min if col.min is not None else -1e6, col.max if col.max is not None else 1e6)


def _numbers(col: Column, dtype: str, good: bool) -> st.SearchStrategy[Any]:
    """Python values for a numeric column held as ``dtype`` (None: missing)."""
    low, high = _bounds(col)
    whole = st.integers(math.ceil(low), math.floor(high))
    if dtype in INT_BOUNDS:
        lo, hi = INT_BOUNDS[dtype]
        if good:
            return st.integers(max(lo, math.ceil(low)), min(hi, math.floor(high)))
        return st.integers(lo, hi) | st.integers(max(lo, -5), 30) | st.sampled_from(
            [v for v in SPECIAL_INTS if lo <= v <= hi])
    if dtype == "Int64":
        return _maybe_none(col, whole) if good else st.none() | st.sampled_from(
            SPECIAL_INTS) | st.integers(-5, 30)
    if dtype == "decimal":
        places = st.decimals(max(low, -1e6), min(high, 1e6), places=2)
        return _maybe_none(col, places) if good else st.none() | st.decimals(
            -(10**9), 10**9, places=2)
    width = 32 if dtype == "float32" else 64
    if good:
        values = whole if col.kind is Kind.INT else whole | st.floats(low, high, width=width)
        return _maybe_none(col, values)
    if width == 32:
        return st.none() | st.sampled_from((0.5, -3.0, 1.5, -0.5, 1e10)) | st.floats(width=32)
    return st.one_of(st.none(), st.sampled_from(SPECIAL_FLOATS), st.integers(-5, 30),
                     st.floats(width=64))


def _numeric_series(values: list, dtype: str) -> pd.Series:
    if dtype == "decimal":
        return pd.Series(pd.array(values, dtype=pd.ArrowDtype(pa.decimal128(12, 2))))
    if dtype in ("float64", "float32"):
        values = [math.nan if v is None else v for v in values]
    return pd.Series(values, dtype=dtype)


@dataclass(frozen=True)
class Frame:
    """What all columns of one generated frame share."""

    n: int
    mess: int  # 0: valid values only; k: 1 value in k from anything (1: all of them)
    base: dt.datetime
    base_day: dt.date


def _cells(draw: st.DrawFn, frame: Frame, good: Callable[[], st.SearchStrategy[Any]],
           anything: Callable[[], st.SearchStrategy[Any]]) -> list[Any]:
    """``frame.n`` values: from ``anything`` 1 time in ``frame.mess``, else from ``good``."""
    return [draw(anything() if frame.mess and draw(st.integers(1, frame.mess)) == 1 else good())
            for _ in range(frame.n)]


def _instants(draw: st.DrawFn, col: Column, frame: Frame, position: int) -> list[Any]:
    """Instants (or dates) near the frame's base, later for later columns of the table, so
    ``not_before`` rules mostly hold; some steps go back (to tie or break them)."""
    unit = dt.timedelta(minutes=10) if col.kind is Kind.TIMESTAMP else dt.timedelta(days=1)
    start = frame.base if col.kind is Kind.TIMESTAMP else frame.base_day
    micros = st.sampled_from((0, 0, 0, 1, 999_999)) if col.kind is Kind.TIMESTAMP else \
        st.just(0)

    def at(steps: int | None, micro: int) -> Any:
        return None if steps is None else start + unit * steps + dt.timedelta(microseconds=micro)

    steps = (position,) * 4 + (position - 1, position - 2, position - 4)
    good = st.builds(at, st.sampled_from(steps + ((None,) if not col.required else ())),
                     micros)
    anything = st.none() | st.builds(at, st.integers(-3, 3), micros)
    return _cells(draw, frame, lambda: good, lambda: anything)


def _column(draw: st.DrawFn, col: Column, frame: Frame, position: int) -> pd.Series:
    """One typed input column for ``col``; ``position``: its rank among same-kind columns."""
    k = col.kind
    if k in (Kind.STRING, Kind.CODE):
        of = _codes if k is Kind.CODE else _strings
        values = _cells(draw, frame, lambda: of(col, True), lambda: of(col, False))
        return pd.Series(values, dtype=draw(st.sampled_from(("object", ARROW_STR))))
    if k in (Kind.INT, Kind.FLOAT, Kind.DURATION, Kind.MONEY):
        dtype = draw(st.sampled_from(NUMERIC_DTYPES))
        values = _cells(draw, frame, lambda: _numbers(col, dtype, True),
                        lambda: _numbers(col, dtype, False))
        return _numeric_series(values, dtype)
    if k is Kind.BOOL:
        dtype = draw(st.sampled_from(("object", "boolean", "bool")))
        flags = st.booleans() if dtype == "bool" else st.none() | st.booleans()
        return pd.Series(_cells(draw, frame, lambda: flags, lambda: flags), dtype=dtype)
    values = _instants(draw, col, frame, position)
    if k is Kind.TIMESTAMP:
        unit, aware = draw(st.sampled_from(("ns", "us"))), draw(st.booleans())
        s = pd.Series(pd.to_datetime(values), dtype=f"datetime64[{unit}]")
        return s.dt.tz_localize("UTC") if aware else s
    if draw(st.booleans()):
        return pd.Series(values, dtype="object")
    return pd.Series(pd.array(values, dtype=pd.ArrowDtype(pa.date32())))


@st.composite
def typed_frames(draw: st.DrawFn, table: Table) -> pd.DataFrame:
    """A frame of a subset of ``table``'s columns, typed, plus ``_line`` 1..n."""
    frame = Frame(n=draw(st.integers(0, 8)), mess=draw(st.sampled_from((0, 15, 1, 1))),
                  base=draw(st.sampled_from(BASES)), base_day=draw(st.sampled_from(BASE_DAYS)))
    share = draw(st.sampled_from((0.3, 0.7, 1.0)))
    data: dict[str, pd.Series] = {}
    ranks: Counter[Kind] = Counter()
    for col in table.columns:
        ranks[col.kind] += 1
        always = col.required or col.kind in (Kind.TIMESTAMP, Kind.DATE)  # rules use them
        if (frame.mess != 1 and always) or draw(st.floats(0, 1)) < share:
            data[col.name] = _column(draw, col, frame, ranks[col.kind] - 1)
    data[LINE] = pd.Series(np.arange(1, frame.n + 1), dtype="int64")
    return pd.DataFrame(data)


# ---------------------------------------------------------------- running both paths


@pytest.fixture(scope="module")
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    """One connection for all generated examples (connecting costs more than a small
    conform); each example leaves it as it found it (see ``_duck``)."""
    con = duckdb.connect()
    yield con
    con.close()


@contextmanager
def _duck(frame: pd.DataFrame,
          con: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """``con`` (default: a fresh connection) holding ``frame`` as the temp table ``rel``;
    afterwards every temp table and view is dropped again."""
    own = con is None
    con = duckdb.connect() if con is None else con
    try:
        con.register("src", frame)
        con.execute("CREATE TEMP TABLE rel AS SELECT * FROM src")
        con.unregister("src")
        yield con
    finally:
        if own:
            con.close()
        else:
            for (view,) in con.execute("SELECT view_name FROM duckdb_views() "
                                       "WHERE temporary AND NOT internal").fetchall():
                con.execute(f"DROP VIEW {quote(view)}")
            con.execute("DROP TABLE IF EXISTS rel")


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _value(kind: Kind, v: Any) -> Any:
    """A typed value as a plain Python value of its kind (missing -> None)."""
    if _missing(v):
        return None
    if kind in (Kind.STRING, Kind.CODE):
        assert isinstance(v, str), (kind, v)
        return v
    if kind is Kind.INT:
        assert float(v) == int(v), v
        return int(v)
    if kind in (Kind.FLOAT, Kind.DURATION, Kind.MONEY):
        return float(v)
    if kind is Kind.BOOL:
        return bool(v)
    if kind is Kind.TIMESTAMP:
        ts = pd.Timestamp(v)
        assert ts.tzinfo is not None, f"naive instant {v!r}"
        return ts.tz_convert("UTC")
    assert type(v) is dt.date, v
    return v


def _kept_sql(con: duckdb.DuckDBPyConnection, table: Table, view: str) -> dict[str, list]:
    names = [*table.column_names, LINE]
    rows = con.execute(f"SELECT {', '.join(quote(c) for c in names)} FROM {quote(view)} "
                       f"WHERE NOT _bad ORDER BY {LINE}").fetchall()
    return {c: [r[i] for r in rows] for i, c in enumerate(names)}


def _assert_same_rows(table: Table, sql: dict[str, list], pandas: pd.DataFrame) -> None:
    pandas = pandas.sort_values(LINE, kind="stable")
    assert sql[LINE] == [int(v) for v in pandas[LINE]]
    for col in table.columns:
        got = [_value(col.kind, v) for v in sql[col.name]]
        want = [_value(col.kind, v) for v in pandas[col.name].astype("object")]
        assert got == want, f"{table.name}.{col.name}: sql {got!r} != pandas {want!r}"
        if col.kind is Kind.INT:
            assert all(v is None or type(v) is int for v in sql[col.name])


def _reject_set(rejects: pd.DataFrame) -> Counter[tuple]:
    assert tuple(rejects.columns) == REJECT_COLUMNS
    return Counter(tuple(None if _missing(v) else (int(v) if i == 0 else v)
                         for i, v in enumerate(row))
                   for row in rejects.itertuples(index=False, name=None))


def _both(table: Table, frame: pd.DataFrame,
          db: duckdb.DuckDBPyConnection | None = None) -> None:
    """Conform ``frame`` both ways (in DuckDB on ``db``) and assert the results are the same."""
    want = conform(table, frame)
    with _duck(frame, db) as con:
        got = conform_sql(con, table, "rel")
        kept = _kept_sql(con, table, got.view)
    sql_rejects, pandas_rejects = _reject_set(got.rejects), _reject_set(want.rejects)
    assert sql_rejects == pandas_rejects, (
        f"only sql: {sorted(sql_rejects - pandas_rejects, key=repr)}; "
        f"only pandas: {sorted(pandas_rejects - sql_rejects, key=repr)}")
    _assert_same_rows(table, kept, want.rows)
    assert got.rows == len(frame)
    assert got.bad == want.rejects["line"].nunique() == len(frame) - len(want.rows)


# ---------------------------------------------------------------- 1. property, every table


@pytest.mark.parametrize("name", sorted(TABLES))
def test_sql_and_pandas_conform_agree(db: duckdb.DuckDBPyConnection, name: str) -> None:
    table = TABLES[name]

    @settings(max_examples=EXAMPLES.get(name, 30), deadline=None, report_multiple_bugs=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(frame=typed_frames(table))
    def agree(frame: pd.DataFrame) -> None:
        _both(table, frame, db)

    agree()


def test_view_has_table_columns_line_and_bad_typed_as_declared() -> None:
    frame = pd.DataFrame({"tenant": ["acme"], "contact_id": ["c1"], "channel": ["voice"],
                          "direction": ["outbound"], "wait_s": pd.Series([1], dtype="int32"),
                          LINE: [7]})
    with _duck(frame) as con:
        got = conform_sql(con, CONTACTS, "rel")
        described = con.execute(f"DESCRIBE {quote(got.view)}").fetchall()
    types = {name: type_ for name, type_, *_ in described}
    want = {c.name: DESCRIBED.get(sql_type(c.kind), sql_type(c.kind)) for c in CONTACTS.columns}
    assert types == {**want, LINE: "BIGINT", "_bad": "BOOLEAN"}


# ---------------------------------------------------------------- 2. worked by hand


def _arrived(minute: int, second: int = 0) -> pd.Timestamp:
    return pd.Timestamp(2026, 3, 2, 9, minute, second, tz="UTC")


def test_four_contacts_worked_by_hand() -> None:
    frame = pd.DataFrame({
        "tenant": ["acme"] * 4,
        "contact_id": ["c1", "c2", "c3", "c4"],
        "channel": [" Voice ", "voice", "CHAT", "voice"],
        "direction": ["inbound"] * 4,
        "arrived_at": [_arrived(0)] * 4,
        "answered_at": [_arrived(0, 12), pd.Timestamp("2026-03-02 08:59", tz="UTC"),
                        _arrived(0, 12), _arrived(0, 30)],
        "wait_s": [12.0, 0.0, -3.0, 30.0],
        "talk_s": [100.0, 50.0, 60.0, math.inf],
        "transfers": [0.0, 0.0, 1.5, 0.0],
        LINE: [1, 2, 3, 4],
    })
    with _duck(frame) as con:
        got = conform_sql(con, CONTACTS, "rel")
        kept = _kept_sql(con, CONTACTS, got.view)
    assert (got.rows, got.bad) == (4, 3)
    assert got.rejects.to_dict("records") == [
        {"line": 3, "table_name": "contacts", "field": "wait_s", "value": "-3.0",
         "reason_code": "out_of_range", "reason": "wait_s must be within [0, inf]"},
        {"line": 4, "table_name": "contacts", "field": "talk_s", "value": "inf",
         "reason_code": "not_a_number", "reason": "talk_s must be a number"},
        {"line": 3, "table_name": "contacts", "field": "transfers", "value": "1.5",
         "reason_code": "not_an_integer", "reason": "transfers must be a whole number"},
        {"line": 2, "table_name": "contacts", "field": "answered_at",
         "value": "2026-03-02 08:59:00+00:00",
         "reason_code": "rule:answered_at_not_before_arrived_at",
         "reason": "answered_at is before arrived_at"},
    ]
    assert kept[LINE] == [1]
    assert kept["channel"] == ["voice"]
    assert kept["transfers"] == [0]
    assert kept["wait_s"] == [12.0]
    assert pd.Timestamp(kept["answered_at"][0]) == _arrived(0, 12)
    assert kept["queue"] == [None]
    # conform (pandas) reports the very same, in the same order
    assert conform(CONTACTS, frame).rejects.to_dict("records") == got.rejects.to_dict("records")


def test_a_row_breaking_two_rules() -> None:
    """answered_at and ended_at both before arrived_at; ended_at also before answered_at."""
    frame = pd.DataFrame({
        "tenant": ["acme"], "contact_id": ["c1"], "channel": ["voice"],
        "direction": ["inbound"], "arrived_at": [_arrived(30)], "answered_at": [_arrived(20)],
        "ended_at": [_arrived(10)], LINE: [1],
    })
    _both(CONTACTS, frame)


def test_all_null_column_of_another_type_is_accepted() -> None:
    """A source writing ``NULL AS campaign`` gets an INTEGER column of NULLs in DuckDB."""
    con = duckdb.connect()
    try:
        con.execute("""CREATE TEMP TABLE rel AS SELECT 'acme' AS tenant, 'c1' AS contact_id,
                       'voice' AS channel, 'outbound' AS direction, NULL AS campaign,
                       NULL AS answered_at, NULL AS transfers, 1::BIGINT AS _line""")
        got = conform_sql(con, CONTACTS, "rel")
        assert (got.rows, got.bad) == (1, 0)
        assert con.execute(f"SELECT campaign, answered_at, transfers "
                           f"FROM {quote(got.view)}").fetchall() == [(None, None, None)]
    finally:
        con.close()


@pytest.mark.parametrize(("series", "shown"), [
    (pd.Series([-0.5], dtype="float32"), "-0.5"),
    (pd.Series([-0.1], dtype="float32"), str(float(np.float32(-0.1)))),
])
def test_float32_value_shown_as_pandas_shows_it(series: pd.Series, shown: str) -> None:
    frame = pd.DataFrame({"tenant": ["acme"], "contact_id": ["c1"], "channel": ["voice"],
                          "direction": ["outbound"], "wait_s": series, LINE: [1]})
    assert conform(CONTACTS, frame).rejects["value"].tolist() == [shown]
    _both(CONTACTS, frame)


@pytest.mark.parametrize(("started", "ended", "shown"), [
    ("2026-03-02 09:00:00.000001999", "2026-03-02 09:00:00.000000999",
     "2026-03-02 09:00:00.000000999"),
    ("1969-12-31 23:59:59.000001999", "1969-12-31 23:59:59.000000999",
     "1969-12-31 23:59:59.000000999"),
])
def test_nanosecond_instants(started: str, ended: str, shown: str) -> None:
    """Naive datetime64[ns] with a sub-microsecond part: pandas floors to microseconds (also
    before 1970) and shows the rejected value as given."""
    frame = pd.DataFrame({"tenant": ["acme"] * 2, "agent_id": ["a1", "a2"],
                          "state": ["acw"] * 2, "started_at": pd.to_datetime([started] * 2),
                          "ended_at": pd.to_datetime([started, ended]), LINE: [1, 2]})
    want = conform(TABLES["agent_states"], frame)
    assert want.rejects["value"].tolist() == [shown]
    assert want.rows["started_at"].tolist() == [pd.Timestamp(started[:-3], tz="UTC")]
    _both(TABLES["agent_states"], frame)


def test_decimal_input() -> None:
    frame = pd.DataFrame({
        "tenant": ["acme"] * 2, "contact_id": ["c1", "c2"], "channel": ["voice"] * 2,
        "direction": ["outbound"] * 2,
        "wait_s": pd.array([Decimal("-1.50"), Decimal("2.25")],
                           dtype=pd.ArrowDtype(pa.decimal128(6, 2))),
        LINE: [1, 2]})
    _both(CONTACTS, frame)


# ---------------------------------------------------------------- 3. RowRule.check == .sql


def _canonical(col: Column) -> st.SearchStrategy[Any]:
    """Values as ``conform`` types them (missing as None)."""
    k = col.kind
    if k is Kind.CODE:
        return st.none() | st.sampled_from(sorted(col.allowed or ())) | st.just("zzz")
    if k is Kind.STRING:
        return st.none() | st.sampled_from(("a", "b", ""))
    if k is Kind.INT:
        return st.none() | st.integers(-3, 12)
    if k in (Kind.FLOAT, Kind.DURATION, Kind.MONEY):
        return st.none() | st.sampled_from((-1.0, -0.0, 0.0, 0.5, 1.0, 10.0, 1e300))
    if k is Kind.BOOL:
        return st.none() | st.booleans()
    if k is Kind.TIMESTAMP:
        return st.none() | st.integers(-3, 3).map(
            lambda m: pd.Timestamp(2026, 3, 2, 9, tz="UTC") + pd.Timedelta(minutes=10 * m))
    return st.none() | st.integers(-3, 3).map(lambda d: dt.date(2026, 3, 2) + dt.timedelta(d))


_PANDAS_TYPES: dict[Kind, Callable[[list], pd.Series]] = {
    Kind.STRING: lambda v: pd.Series(v, dtype=ARROW_STR),
    Kind.CODE: lambda v: pd.Series(v, dtype=ARROW_STR),
    Kind.INT: lambda v: pd.Series(v, dtype="Int64"),
    Kind.FLOAT: lambda v: pd.Series([math.nan if x is None else x for x in v], dtype="float64"),
    Kind.BOOL: lambda v: pd.Series(v, dtype="boolean"),
    Kind.TIMESTAMP: lambda v: pd.Series(pd.to_datetime(v, utc=True)).astype(
        "datetime64[us, UTC]"),
    Kind.DATE: lambda v: pd.Series(v, dtype="object"),
}


@st.composite
def canonical_frames(draw: st.DrawFn, table: Table) -> pd.DataFrame:
    """All of ``table``'s columns, typed exactly as ``conform`` returns them."""
    n = draw(st.integers(1, 8))
    data = {}
    for col in table.columns:
        kind = Kind.FLOAT if col.kind in (Kind.DURATION, Kind.MONEY) else col.kind
        data[col.name] = _PANDAS_TYPES[kind](draw(st.lists(_canonical(col), min_size=n,
                                                           max_size=n)))
    data[LINE] = pd.Series(np.arange(1, n + 1), dtype="int64")
    return pd.DataFrame(data)


RULES = [(t.name, r.name) for t in TABLES.values() for r in t.rules]


def _rule(table: str, name: str) -> RowRule:
    return next(r for r in TABLES[table].rules if r.name == name)


def test_every_table_with_rules_is_covered() -> None:
    assert {t for t, _ in RULES} == {t.name for t in TABLES.values() if t.rules}
    assert len(RULES) == sum(len(t.rules) for t in TABLES.values())


@pytest.mark.parametrize("table_name", sorted({t for t, _ in RULES}))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_rule_check_and_sql_agree(db: duckdb.DuckDBPyConnection, table_name: str,
                                  data: st.DataObject) -> None:
    table = TABLES[table_name]
    frame = data.draw(canonical_frames(table), label="frame")
    got = _rules_sql(table, table.rules, frame, db)
    for rule, sql in zip(table.rules, got, strict=True):
        want = rule.check(frame).fillna(True).astype(bool).tolist()
        assert sql == want, f"{rule.name}: sql {sql} != check {want}"


T9, T10 = (pd.Timestamp("2026-03-02 09:00", tz="UTC"),
           pd.Timestamp("2026-03-02 10:00", tz="UTC"))
D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)

#: Per rule, two rows by hand: the first passes the rule, the second breaks it.
RULE_PAIRS: dict[str, dict[str, list]] = {
    "answered_at_not_before_arrived_at": {"answered_at": [T10, T9], "arrived_at": [T9, T10]},
    "first_response_at_not_before_arrived_at": {"first_response_at": [T9, T9],
                                                "arrived_at": [T9, T10]},
    "ended_at_not_before_arrived_at": {"ended_at": [T10, T9], "arrived_at": [T10, T10]},
    "ended_at_not_before_answered_at": {"ended_at": [T10, T9], "answered_at": [None, T10]},
    "resolved_at_not_before_arrived_at": {"resolved_at": [T10, T9], "arrived_at": [T9, T10]},
    "arrived_at_required_when_direction_is_inbound": {"direction": ["outbound", "inbound"],
                                                      "arrived_at": [None, None]},
    "abandoned_without_talk": {"outcome": ["abandoned", "abandoned"], "talk_s": [0.0, 30.0]},
    "ended_at_not_before_started_at": {"ended_at": [T9, T9], "started_at": [T9, T10]},
    "responded_at_not_before_sent_at": {"responded_at": [T10, T9], "sent_at": [T10, T10]},
    "score_within_max": {"score": [5.0, 5.5], "max_score": [5.0, 5.0]},
    "left_on_not_before_hired_on": {"left_on": [D2, D1], "hired_on": [D2, D2]},
    "ends_at_not_before_starts_at": {"ends_at": [T10, T9], "starts_at": [T9, T10]},
    "period_end_not_before_period_start": {"period_end": [D1, D1], "period_start": [D1, D2]},
    "valid_to_not_before_valid_from": {"valid_to": [D2, D1], "valid_from": [D1, D2]},
}


def _rules_sql(table: Table, rules: tuple[RowRule, ...], frame: pd.DataFrame,
               db: duckdb.DuckDBPyConnection | None = None) -> list[list[bool]]:
    """Per rule, ``rule.sql`` (NULL = pass) on each row of ``frame``, its columns cast to
    the DuckDB types of ``table``."""
    columns = ", ".join(f"CAST({quote(c.name)} AS {sql_type(c.kind)}) AS {quote(c.name)}"
                        for c in table.columns)
    tests = ", ".join(f"coalesce(({r.sql}), true)" for r in rules)
    with _duck(frame, db) as con:
        rows = con.execute(f"SELECT {tests} FROM (SELECT {columns}, {LINE} FROM rel) "
                           f"ORDER BY {LINE}").fetchall()
    return [[row[i] for row in rows] for i in range(len(rules))]


def test_every_rule_has_a_pair_by_hand() -> None:
    assert sorted(RULE_PAIRS) == sorted({r for _, r in RULES})


@pytest.mark.parametrize(("table_name", "rule_name"), RULES)
def test_rule_passes_one_row_and_breaks_the_other(table_name: str, rule_name: str) -> None:
    table, rule = TABLES[table_name], _rule(table_name, rule_name)
    pair = RULE_PAIRS[rule_name]
    data = {}
    for col in table.columns:
        kind = Kind.FLOAT if col.kind in (Kind.DURATION, Kind.MONEY) else col.kind
        data[col.name] = _PANDAS_TYPES[kind](pair.get(col.name, [None, None]))
    frame = pd.DataFrame({**data, LINE: [1, 2]})
    assert rule.check(frame).fillna(True).tolist() == [True, False]
    assert _rules_sql(table, (rule,), frame) == [[True, False]]


# ---------------------------------------------------------------- 4. NotTyped


@pytest.mark.parametrize(("table_name", "column", "sql_value"), [
    ("contacts", "wait_s", "'12'"),
    ("contacts", "transfers", "'1'"),
    ("contacts", "revenue", "'9.99'"),
    ("contacts", "arrived_at", "'2026-03-02T09:00:00Z'"),
    ("contacts", "arrived_at", "1772442000::BIGINT"),
    ("surveys", "fcr", "'yes'"),
    ("surveys", "csat", "'5'"),
    ("roster", "hired_on", "'2026-03-02'"),
    ("roster", "hired_on", "TIMESTAMP '2026-03-02 00:00'"),
])
def test_a_column_needing_parsing_raises_not_typed(table_name: str, column: str,
                                                   sql_value: str) -> None:
    """Text for a number, instant, flag or date (or an epoch / a timestamp for an instant /
    a date) is left to ``conform``: NotTyped, naming the column."""
    con = duckdb.connect()
    try:
        con.execute(f"CREATE TEMP TABLE rel AS SELECT 'acme' AS tenant, "
                    f"{sql_value} AS {quote(column)}, 1::BIGINT AS _line")
        with pytest.raises(NotTyped, match=column):
            conform_sql(con, TABLES[table_name], "rel")
    finally:
        con.close()


# -- keys_repeat: the loader's shortcut for "no key repeats" ----------------------------------

_KEY_TEXT = st.sampled_from(["a1", " a1", "a1\u00a0", "A1", "", None, "b2", "b2 "])
_STATE = st.sampled_from(["paused", "Paused", " paused", "logged_in", None])
_AT = st.sampled_from([None, dt.datetime(2026, 3, 2, 9), dt.datetime(2026, 3, 2, 9, 0, 1)])
_NS_1 = pd.Timestamp("2026-03-02 09:00:00.000001")
_NS = st.sampled_from([_NS_1,
                       pd.Timestamp("2026-03-02 09:00:00.000001500"),
                       pd.Timestamp("2026-03-02 09:00:00.000001900")])


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_KEY_TEXT, _STATE, _AT, _NS), max_size=6),
       drop_tenant=st.booleans(), nanos=st.booleans())
@example(rows=[("a1", "paused", None, pd.Timestamp("2026-03-02 09:00:00.000001")),
               ("a1", "paused", None, pd.Timestamp("2026-03-02 09:00:00.000001500"))],
         drop_tenant=False, nanos=True)
@example(rows=[("a1", "paused", dt.datetime(2026, 3, 2, 9), _NS_1),
               (" a1", "Paused", dt.datetime(2026, 3, 2, 9), _NS_1)],
         drop_tenant=False, nanos=False)
@example(rows=[("", None, None, _NS_1), (None, None, None, _NS_1)],
         drop_tenant=True, nanos=False)
def test_keys_repeat_agrees_with_grouping_the_typed_keys(
        db: duckdb.DuckDBPyConnection, rows: list[tuple[Any, Any, Any, Any]],
        drop_tenant: bool, nanos: bool) -> None:
    """Grouping the untyped keys (and the typed ones only when typing changed a text key)
    says the same as grouping the typed keys: trims, lower-casing, '' -> NULL, nanoseconds
    floored to one microsecond, a key column not given at all."""
    table = TABLES["agent_states"]
    frame = pd.DataFrame({
        "tenant": pd.Series(["acme"] * len(rows), dtype="object"),
        "agent_id": pd.Series([r[0] for r in rows], dtype="object"),
        "state": pd.Series([r[1] for r in rows], dtype="object"),
        "started_at": pd.Series([r[3] if nanos else r[2] for r in rows],
                                dtype="datetime64[ns]" if nanos else "object"),
        LINE: np.arange(1, len(rows) + 1, dtype="int64")})
    if not nanos:
        frame["started_at"] = pd.to_datetime(frame["started_at"]).astype("datetime64[us]")
    if drop_tenant:
        frame = frame.drop(columns="tenant")
    db.register("_keys_df", pa.Table.from_pandas(frame, preserve_index=False))
    db.execute("CREATE OR REPLACE TEMP TABLE _keys AS SELECT * FROM _keys_df")
    db.unregister("_keys_df")
    checked = check_sql(db, table, "_keys")
    keys = ", ".join(quote(k) for k in table.primary_key)
    (exact,) = db.execute(f"SELECT count(*) FROM (SELECT 1 FROM {quote(checked.view)} "
                          f"GROUP BY {keys} HAVING count(*) > 1)").fetchone()
    assert checked.keys_repeat(db) == (exact > 0)
    checked.drop(db)
