"""Loading rows a source derived in SQL (``SqlRows``): checked in DuckDB, merged by key."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from contactkpi.model.validate_sql import SqlRows
from contactkpi.sources.base import Batch, SourceFile
from contactkpi.store import Warehouse, load

ROWS = """
    SELECT * FROM (VALUES
      ('acme', 'c1', 'voice', 'inbound', ' billing ', TIMESTAMP '2026-03-02 09:00:00',
       TIMESTAMP '2026-03-02 09:00:10', 10.0, 'answered', 0::BIGINT, 1::BIGINT),
      ('acme', 'c2', 'Voice', 'inbound', 'billing', TIMESTAMP '2026-03-02 09:01:00',
       NULL, 30.0, 'abandoned', 0::BIGINT, 2::BIGINT),
      ('acme', 'c3', 'voice', 'inbound', 'sales', TIMESTAMP '2026-03-02 09:02:00',
       TIMESTAMP '2026-03-02 09:01:00', 5.0, 'answered', 0::BIGINT, 3::BIGINT),
      ('acme', 'c4', 'fax', 'inbound', 'sales', TIMESTAMP '2026-03-02 09:03:00',
       NULL, -1.0, 'answered', 0::BIGINT, 4::BIGINT))
    AS t(tenant, contact_id, channel, direction, queue, arrived_at, answered_at, wait_s,
         outcome, transfers, _line)"""


def _batch(sql: str, keys_unique: bool = False) -> Batch:
    def derive(db: object) -> Batch:
        db.execute(f"CREATE OR REPLACE TEMP TABLE _test_rows AS {sql}")  # type: ignore
        return Batch(tables={"contacts": SqlRows("_test_rows", keys_unique=keys_unique)},
                     lines=4)

    return Batch(derive=derive)


def _load(wh: Warehouse, sql: str, name: str, keys_unique: bool = False) -> object:
    source = SourceFile(path=Path(name), kind="test", sha256=name, size=0)
    return load(wh, source, [_batch(sql, keys_unique)], tenant="acme")


def test_sql_rows_are_checked_inserted_then_merged_by_key() -> None:
    wh = Warehouse.memory()
    first = _load(wh, ROWS, "a")
    counts = first.tables["contacts"]
    assert (counts.staged, counts.loaded, counts.duplicate) == (2, 2, 0)
    assert first.rows_rejected == 2 and first.rows_read == 4
    rejects = wh.raw_duckdb().execute(
        "SELECT line, field, reason_code FROM rejects ORDER BY line, field").fetchall()
    assert rejects == [(3, "answered_at", "rule:answered_at_not_before_arrived_at"),
                       (4, "channel", "unknown_code"), (4, "wait_s", "out_of_range")]
    stored = wh.table("contacts", "acme").execute().sort_values("contact_id")
    assert stored["contact_id"].tolist() == ["c1", "c2"]
    assert stored["queue"].tolist() == ["billing", "billing"]  # trimmed
    assert stored["channel"].tolist() == ["voice", "voice"]  # lower-cased
    assert stored["arrived_at"].iloc[0] == pd.Timestamp("2026-03-02 09:00:00", tz="UTC")

    again = _load(wh, ROWS, "b")  # the same rows: keys stored, the keyed merge counts them
    counts = again.tables["contacts"]
    assert (counts.loaded, counts.replaced, counts.duplicate) == (0, 0, 2)

    changed = _load(wh, ROWS.replace("10.0", "12.0"), "c")
    counts = changed.tables["contacts"]
    assert (counts.loaded, counts.replaced, counts.duplicate) == (0, 1, 1)
    stored = wh.table("contacts", "acme").execute().sort_values("contact_id")
    assert stored["wait_s"].tolist() == [12.0, 30.0]
    leftovers = wh.raw_duckdb().execute(
        "SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal").fetchone()
    assert leftovers == (0,)


def test_repeated_keys_in_one_relation_keep_the_last_line() -> None:
    wh = Warehouse.memory()
    sql = ROWS.replace("'c2'", "'c1'")  # c1 on lines 1 and 2: line 2 wins
    result = _load(wh, sql, "a")
    counts = result.tables["contacts"]
    assert (counts.staged, counts.loaded, counts.duplicate) == (2, 1, 1)
    stored = wh.table("contacts", "acme").execute()
    assert stored["outcome"].tolist() == ["abandoned"]


def test_text_columns_take_the_pandas_path() -> None:
    wh = Warehouse.memory()
    sql = ROWS.replace("10.0", "'10'").replace("30.0", "'30'").replace("5.0", "'5'") \
        .replace("-1.0", "'-1'")
    result = _load(wh, sql, "a")
    assert result.tables["contacts"].loaded == 2 and result.rows_rejected == 2
    stored = wh.table("contacts", "acme").execute().sort_values("contact_id")
    assert stored["wait_s"].tolist() == [10.0, 30.0]


def test_keys_a_source_vouches_for_are_not_grouped_but_typing_is_still_checked() -> None:
    """``SqlRows.keys_unique``: the loader skips grouping the keys as given, but two keys
    that typing makes equal (a trimmed id) are still found and merged, last line first."""
    wh = Warehouse.memory()
    grouped: list[str] = []
    db = wh.raw_duckdb()

    class Spy:
        def execute(self, sql: str, *args: object) -> object:
            if "GROUP BY" in sql and "_test_rows" in sql:
                grouped.append(sql)
            return db.execute(sql, *args)

        def __getattr__(self, name: str) -> object:
            return getattr(db, name)

    wh.raw_duckdb = lambda: Spy()  # type: ignore[method-assign]
    result = _load(wh, ROWS, "a", keys_unique=True)
    assert result.tables["contacts"].loaded == 2 and grouped == []
    merged = _load(Warehouse.memory(), ROWS.replace("'c2'", "' c1'"), "b", keys_unique=True)
    counts = merged.tables["contacts"]
    assert (counts.staged, counts.loaded, counts.duplicate) == (2, 1, 1)
