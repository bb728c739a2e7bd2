"""Loads are atomic and idempotent, and every record is accounted for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from contactkpi.sources.base import Batch, SourceFile
from contactkpi.store import LOAD_LOG, REJECTS, Warehouse, load, load_frames


def _contacts(n: int, start: int = 0) -> pd.DataFrame:
    ids = range(start, start + n)  # every value derives from the id: same id, same row
    return pd.DataFrame({
        "contact_id": [str(i) for i in ids],
        "channel": "voice",
        "direction": "inbound",
        "queue": "sales",
        "arrived_at": pd.Timestamp("2026-03-02T09:00:00Z") + pd.to_timedelta(ids, unit="min"),
        "wait_s": [float(i % 40) for i in ids],
        "outcome": "answered",
    })


def _count(wh: Warehouse, table: str) -> int:
    return int(wh.table(table).count().execute())


def _source(tmp_path: Path, name: str = "x.csv", content: bytes = b"x") -> SourceFile:
    p = tmp_path / name
    p.write_bytes(content)
    return SourceFile.of(p, "csv")


def test_same_rows_twice_are_stored_once(wh: Warehouse) -> None:
    first = load_frames(wh, {"contacts": _contacts(10)}, tenant="acme")
    second = load_frames(wh, {"contacts": _contacts(10)}, tenant="acme")
    assert (first.rows_loaded, first.rows_duplicate) == (10, 0)
    assert (second.rows_loaded, second.rows_duplicate) == (0, 10)
    assert _count(wh, "contacts") == 10
    assert _count(wh, LOAD_LOG) == 2


def test_overlapping_loads_store_the_union(wh: Warehouse) -> None:
    load_frames(wh, {"contacts": _contacts(10)}, tenant="acme")  # ids 0..9
    r = load_frames(wh, {"contacts": _contacts(10, start=5)}, tenant="acme")  # ids 5..14
    assert (r.rows_loaded, r.rows_duplicate) == (5, 5)
    assert _count(wh, "contacts") == 15


def test_changed_row_replaces_the_stored_one(wh: Warehouse) -> None:
    load_frames(wh, {"contacts": _contacts(3)}, tenant="acme")
    changed = _contacts(3)
    changed.loc[1, "wait_s"] = 99.0
    r = load_frames(wh, {"contacts": changed}, tenant="acme")
    assert (r.rows_loaded, r.rows_replaced, r.rows_duplicate) == (0, 1, 2)
    stored = wh.table("contacts").execute().set_index("contact_id")
    assert stored.loc["1", "wait_s"] == 99.0
    assert len(stored) == 3


def test_same_key_twice_in_one_file_keeps_the_last(wh: Warehouse) -> None:
    frame = pd.concat([_contacts(2), _contacts(2).assign(wait_s=7.0)], ignore_index=True)
    r = load_frames(wh, {"contacts": frame}, tenant="acme")
    assert (r.rows_loaded, r.rows_duplicate) == (2, 2)
    assert set(wh.table("contacts").execute()["wait_s"]) == {7.0}


def test_tenants_do_not_collide(wh: Warehouse) -> None:
    load_frames(wh, {"contacts": _contacts(4)}, tenant="acme")
    load_frames(wh, {"contacts": _contacts(4)}, tenant="globex")
    assert _count(wh, "contacts") == 8
    assert int(wh.table("contacts", tenant="globex").count().execute()) == 4


def test_a_failure_half_way_leaves_the_warehouse_unchanged(wh: Warehouse, tmp_path: Path) -> None:
    load_frames(wh, {"contacts": _contacts(5)}, tenant="acme")
    before = wh.table("contacts").execute().sort_values("contact_id").reset_index(drop=True)
    logs_before = _count(wh, LOAD_LOG)

    def batches() -> Iterator[Batch]:
        bad = _contacts(3, start=100).assign(tenant="acme", outcome="nonsense")
        yield Batch(tables={"contacts": _contacts(50, start=3).assign(tenant="acme")}, lines=50,
                    )
        yield Batch(tables={"contacts": bad}, lines=3)
        raise OSError("disk pulled out mid-file")

    with pytest.raises(OSError, match="mid-file"):
        load(wh, _source(tmp_path), batches(), tenant="acme")
    after = wh.table("contacts").execute().sort_values("contact_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(before, after)
    assert _count(wh, LOAD_LOG) == logs_before
    assert _count(wh, REJECTS) == 0
    # and the warehouse still takes the next load
    r = load_frames(wh, {"contacts": _contacts(6)}, tenant="acme")
    assert (r.rows_loaded, r.rows_duplicate) == (1, 5)


def test_every_record_is_loaded_duplicate_or_rejected(wh: Warehouse) -> None:
    frame = _contacts(6)
    frame.loc[2, "outcome"] = "eaten_by_ivr"
    frame.loc[4, "wait_s"] = -3.0
    r = load_frames(wh, {"contacts": frame}, tenant="acme")
    assert r.rows_read == 6
    assert (r.rows_loaded, r.rows_duplicate, r.rows_rejected) == (4, 0, 2)
    rej = wh.table(REJECTS).execute().sort_values("line")
    assert rej[["line", "field", "reason_code"]].values.tolist() == [
        [3, "outcome", "unknown_code"], [5, "wait_s", "out_of_range"]]
    again = load_frames(wh, {"contacts": frame}, tenant="acme")
    assert (again.rows_loaded, again.rows_duplicate, again.rows_rejected) == (0, 4, 2)
    assert _count(wh, REJECTS) == 2  # the same file's rejects are not stored twice


def test_keys_with_a_missing_part_match(wh: Warehouse) -> None:
    costs = pd.DataFrame({"period_start": ["2026-01-01"], "period_end": ["2026-01-31"],
                          "cost_type": ["labour"], "queue": [None], "amount": [1000.0]})
    load_frames(wh, {"costs": costs}, tenant="acme")
    r = load_frames(wh, {"costs": costs.assign(amount=1200.0)}, tenant="acme")
    assert (r.rows_loaded, r.rows_replaced) == (0, 1)
    assert wh.table("costs").execute()["amount"].tolist() == [1200.0]

