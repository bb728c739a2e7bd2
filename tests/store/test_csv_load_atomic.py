"""A real CSV through the real mapping: loaded twice stores once; killed half-way stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contactkpi.config import Tenant
from contactkpi.sources.base import Batch, ReadContext, SourceFile
from contactkpi.sources.registry import get_source
from contactkpi.store import LOAD_LOG, REJECTS, Warehouse, load

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "examples" / "data" / "contacts.csv"
MAPPING = REPO / "examples" / "mappings" / "contacts.toml"


def _bigger_csv(tmp_path: Path, copies: int) -> Path:
    """The example export repeated with fresh call ids, so the file spans many chunks."""
    header, *rows = DATA.read_text(encoding="utf-8").splitlines()
    out = [header]
    for k in range(copies):
        for row in rows:
            call_id, rest = row.split(",", 1)
            out.append(f"{int(call_id) + 100_000 * (k + 1)},{rest}")
    path = tmp_path / "calls.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def _ingest(wh: Warehouse, path: Path, batches: Iterator[Batch] | None = None):  # noqa: ANN202
    source = get_source("csv")
    ctx = ReadContext(tenant=Tenant("acme", timezone="Europe/London"), mapping=MAPPING,
                      chunk_rows=5)
    return load(wh, SourceFile.of(path, "csv"), batches or source.read(path, ctx),
                tenant="acme")


def _counts(wh: Warehouse) -> dict[str, int]:
    return {t: int(wh.table(t).count().execute())
            for t in ("contacts", "surveys", LOAD_LOG, REJECTS)}


def test_loading_a_csv_twice_doubles_nothing(wh: Warehouse, tmp_path: Path) -> None:
    path = _bigger_csv(tmp_path, copies=4)
    first = _ingest(wh, path)
    after_first = _counts(wh)
    second = _ingest(wh, path)
    after_second = _counts(wh)
    assert first.rows_read == second.rows_read == 48
    assert first.tables["contacts"].loaded == after_first["contacts"] > 0
    assert second.rows_loaded == 0 and second.rows_replaced == 0
    assert second.rows_duplicate == first.rows_loaded
    assert {k: v for k, v in after_second.items() if k != LOAD_LOG} == \
        {k: v for k, v in after_first.items() if k != LOAD_LOG}
    assert after_second[LOAD_LOG] == after_first[LOAD_LOG] + 1


def test_a_load_killed_mid_file_leaves_the_warehouse_unchanged(wh: Warehouse,
                                                               tmp_path: Path) -> None:
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    _ingest(wh, _bigger_csv(earlier, copies=1))
    before = _counts(wh)
    stored = wh.table("contacts").execute().sort_values("contact_id").reset_index(drop=True)
    path = _bigger_csv(tmp_path, copies=6)
    source = get_source("csv")
    ctx = ReadContext(tenant=Tenant("acme", timezone="Europe/London"), mapping=MAPPING,
                      chunk_rows=5)
    seen: list[int] = []

    def dies_half_way() -> Iterator[Batch]:
        for i, batch in enumerate(source.read(path, ctx)):
            if i == 7:  # 35 of 72 records read and staged
                raise MemoryError("killed mid-file")
            seen.append(batch.lines)
            yield batch

    with pytest.raises(MemoryError):
        _ingest(wh, path, dies_half_way())
    assert sum(seen) == 35
    assert _counts(wh) == before
    again = wh.table("contacts").execute().sort_values("contact_id").reset_index(drop=True)
    assert again.equals(stored)
    # the same file then loads completely
    result = _ingest(wh, path)
    assert result.rows_read == 72
