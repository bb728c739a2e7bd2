"""The vectorised generator of large contacts tables."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from sim_canonical_check import problems

from contactkpi.simulate import fast_contacts, write_fast_contacts
from contactkpi.simulate.fast import CONTACTS_SCHEMA, fast_contact_batches


def test_rows_conform_and_look_like_a_contact_center() -> None:
    c = fast_contacts(30_000, seed=3, days=7)
    assert problems("contacts", c) == []
    assert len(c) == 30_000 and c["contact_id"].is_unique
    assert c["tenant"].nunique() == 3 and c["queue"].nunique() == 8
    inbound = c[c["direction"] == "inbound"]
    answered = inbound["outcome"] == "answered"
    assert 0.05 < (inbound["outcome"] == "abandoned").mean() < 0.2
    wait = (inbound["answered_at"] - inbound["arrived_at"]).dt.total_seconds()
    assert (inbound["wait_s"][answered] == wait[answered]).all()
    voice = inbound[inbound["channel"] == "voice"]
    assert 0.5 < (voice["wait_s"][voice["outcome"] == "answered"] <= 20).mean() < 0.9
    outbound = c[c["direction"] == "outbound"]
    assert 0.05 < len(outbound) / len(c) < 0.11
    assert (outbound["revenue"].notna() == (outbound["disposition"] == "sale")).all()
    # a morning peak in local time, and quiet weekends
    local = c[c["tenant"] == "brightpower"]["arrived_at"].dt.tz_convert("Europe/London")
    by_hour = local.dt.hour.value_counts()
    assert by_hour[10] > 1.5 * by_hour[8] and by_hour[10] > by_hour[13]
    by_day = local.dt.weekday.value_counts()
    assert by_day[6] < 0.4 * by_day[0]


def test_same_seed_same_rows() -> None:
    a = fast_contacts(2_000, seed=9, days=3)
    b = fast_contacts(2_000, seed=9, days=3)
    assert a.equals(b)
    assert not a["arrived_at"].equals(fast_contacts(2_000, seed=10, days=3)["arrived_at"])


def test_chunks_stream_into_one_parquet_file(tmp_path: Path) -> None:
    sizes = [t.num_rows for t in fast_contact_batches(20_000, seed=1, chunk_rows=7_000)]
    assert sizes == [7_000, 7_000, 6_000]
    path = tmp_path / "contacts.parquet"
    assert write_fast_contacts(path, 20_000, seed=1, chunk_rows=7_000) == 20_000
    table = pq.read_table(path)
    assert table.num_rows == 20_000
    assert table.schema.names == CONTACTS_SCHEMA.names
    assert len(set(table.column("contact_id").to_pylist())) == 20_000
