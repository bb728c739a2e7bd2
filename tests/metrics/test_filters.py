"""The predicate language: translation to Ibis, and refusal of everything else."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from contactkpi.errors import DefinitionError, QueryError
from contactkpi.metrics import MetricQuery, query
from contactkpi.metrics.filters import Translator, parse
from contactkpi.store import Warehouse, load_frames

ROWS = pd.DataFrame({
    "queue": ["sales", "sales", "support", None],
    "wait_s": [10.0, 30.0, None, 5.0],
    "outcome": ["answered", "abandoned", "answered", "abandoned"],
})


def _ids(text: str, mode: str = "user", params: dict | None = None) -> list[int]:
    t = ibis.memtable(ROWS.assign(i=range(len(ROWS))))
    pred = parse(text, where="test", mode=mode)  # type: ignore[arg-type]
    tr = Translator(lambda n: t[n] if n in ROWS.columns else (_ for _ in ()).throw(KeyError(n)),
                    lambda n: (params or {})[n], mode=mode, where="test")  # type: ignore[arg-type]
    return sorted(t.filter(tr(pred)).i.to_pandas().tolist())


@pytest.mark.parametrize(("text", "ids"), [
    ("queue = 'sales'", [0, 1]),
    ("queue=sales", [0, 1]),  # a bare word after a column is text
    ("queue <> 'sales'", [2]),  # NULL <> 'sales' is unknown, so row 3 is out (SQL logic)
    ("queue IS NULL", [3]),
    ("queue IS NOT NULL AND wait_s > 5", [0, 1]),
    ("wait_s BETWEEN 5 AND 10", [0, 3]),
    ("outcome IN ('abandoned') OR queue = 'support'", [1, 2, 3]),
    ("NOT (outcome = 'answered')", [1, 3]),
    ("queue LIKE 'sup%'", [2]),
    ("wait_s * 2 >= 20", [0, 1]),
    ("wait_s + 1 = 11", [0]),
    ("-wait_s < -20", [1]),
])
def test_translation(text: str, ids: list[int]) -> None:
    assert _ids(text) == ids


def test_placeholders_bind_values_and_lists() -> None:
    assert _ids("wait_s <= :t", "definition", {"t": 10}) == [0, 3]
    assert _ids("outcome IN :o", "definition", {"o": ("abandoned",)}) == [1, 3]


@pytest.mark.parametrize("text", [
    "queue='x'; DROP TABLE contacts; --",
    "queue = 'x'; DELETE FROM contacts",
    "queue = (SELECT max(queue) FROM contacts)",
    "queue IN (SELECT queue FROM contacts)",
    "lower(queue) = 'sales'",
    "read_csv('/etc/passwd') IS NOT NULL",
    "CAST(wait_s AS INT) = 10",
    "contacts.queue = 'sales'",
    "queue = 'x' UNION SELECT * FROM rejects",
    "EXISTS (SELECT 1)",
    "wait_s = NULL",
    "queue = :name",
    "",
])
def test_user_filters_refuse_anything_else(text: str) -> None:
    with pytest.raises(QueryError):
        t = ibis.memtable(ROWS)
        pred = parse(text, where="--where", mode="user")
        Translator(lambda n: t[n], lambda n: (_ for _ in ()).throw(KeyError(n)), mode="user",
                   where="--where")(pred)


def test_definition_functions_are_definitions_only() -> None:
    assert parse("elapsed_s(arrived_at, ended_at) > 3", where="x", mode="definition").functions \
        == {"elapsed_s"}
    with pytest.raises(QueryError, match="function calls are not allowed"):
        parse("elapsed_s(arrived_at, ended_at) > 3", where="--where", mode="user")
    with pytest.raises(DefinitionError, match="not allowed"):
        parse("upper(queue) = 'X'", where="x", mode="definition")
    with pytest.raises(DefinitionError, match="function calls are not allowed"):
        parse("my_udf(queue) = 'X'", where="x", mode="definition")


def test_injection_through_the_query_api_leaves_the_warehouse_intact() -> None:
    wh = Warehouse.memory()
    rows = pd.DataFrame({"contact_id": ["1", "2"], "channel": "voice", "direction": "inbound",
                         "queue": ["sales", "x"],
                         "arrived_at": pd.Timestamp("2026-03-02 09:00", tz="UTC")})
    load_frames(wh, {"contacts": rows}, tenant="acme")
    for text in ("queue='x'; DROP TABLE contacts; --", "queue = (SELECT 'x')",
                 "password = 'x'", "queue = 'x' OR sleep(10)"):
        with pytest.raises(QueryError):
            query(wh, MetricQuery(["offered"], where=text))
    # quotes inside a value are data, not SQL
    out = query(wh, MetricQuery(["offered"], where="queue = 'x'' OR ''1''=''1'"))
    assert out["offered"].tolist() == [0]
    assert query(wh, MetricQuery(["offered"], where="queue = 'x'"))["offered"].tolist() == [1]
    assert wh.table("contacts").count().execute() == 2


def test_where_may_only_use_columns_the_table_reaches() -> None:
    wh = Warehouse.memory()
    with pytest.raises(QueryError, match="cannot reach"):
        query(wh, MetricQuery(["headcount"], where="channel = 'voice'"))
