"""XLSX and Parquet through the same mapping features as CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from contactkpi.config import Tenant
from contactkpi.errors import SourceError
from contactkpi.model import TABLES
from contactkpi.model.validate import conform
from contactkpi.sources.base import Batch, ReadContext
from contactkpi.sources.tabular import CsvSource, ParquetSource, XlsxSource

MAPPING = '''
[source]
timezone = "Europe/London"
{extra}
[tables.contacts.columns]
contact_id = {{ template = "X-{{Call ID}}" }}
arrived_at = {{ date = "Date", time = "Time", date_format = "%d/%m/%Y" }}
answered_at = "Answered at"
wait_s = {{ column = "Wait", duration = "hms" }}
talk_s = {{ column = "Talk", duration = "hms" }}
outcome = {{ column = "Answered", map = {{ Y = "answered", N = "abandoned" }}, ignore_case = true }}
[tables.contacts.constants]
channel = "voice"
direction = "inbound"
[tables.surveys]
when = {{ column = "CSAT", present = true }}
[tables.surveys.columns]
survey_id = {{ template = "X-{{Call ID}}" }}
csat = "CSAT"
'''

HEADER = ["Call ID", "Date", "Time", "Wait", "Talk", "Answered", "Answered at", "CSAT"]


def _mapping(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "m.toml"
    path.write_text(MAPPING.format(extra=extra))
    return path


def _read(source: CsvSource, path: Path, mapping: Path, chunk_rows: int = 1000
          ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, list[Batch]]:
    ctx = ReadContext(tenant=Tenant("t"), mapping=mapping, chunk_rows=chunk_rows)
    batches = list(source.read(path, ctx))
    rows: dict[str, list[pd.DataFrame]] = {}
    rejects = [b.rejects for b in batches]
    for b in batches:
        for name, frame in b.tables.items():
            c = conform(TABLES[name], frame)
            rows.setdefault(name, []).append(c.rows)
            rejects.append(c.rejects)
    return ({n: pd.concat(f, ignore_index=True) for n, f in rows.items()},
            pd.concat(rejects, ignore_index=True), batches)


def _workbook(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Calls"
    ws.append(["Call export, March"])                                       # row 1
    ws.append([])                                                           # row 2
    ws.append(HEADER)                                                       # row 3
    ws.append([1001, date(2024, 3, 4), time(8, 1, 12), timedelta(seconds=12), "0:04:31",
               "Y", datetime(2024, 3, 4, 8, 1, 24), 5])                     # row 4
    ws.append([1002.0, datetime(2024, 3, 31), "01:30:00", 65, 0, "N", None, None])  # 5: gap
    ws.append([None] * 8)                                                   # row 6: blank
    ws.append([1003, "31/03/2024", time(9, 5, 59), time(0, 3, 10), None, "n", None, ""])
    ws.append([1004, "04/03/2024", "08:30:00", "-0:00:04", "0:01:00", "Y", None, 4,
               "note beyond the header"])                                   # row 8
    other = wb.create_sheet("Notes")
    other.append(["nothing here"])
    wb.save(path)


def test_xlsx_typed_cells_rows_and_rejects(tmp_path: Path) -> None:
    book = tmp_path / "calls.xlsx"
    _workbook(book)
    rows, rejects, batches = _read(XlsxSource(), book,
                                   _mapping(tmp_path, 'sheet = "Calls"\nheader_row = 3'))
    c = rows["contacts"]
    assert c["contact_id"].tolist() == ["X-1001", "X-1003"]
    assert c["_line"].tolist() == [4, 7]
    assert c["arrived_at"].tolist() == [pd.Timestamp("2024-03-04 08:01:12Z"),
                                        pd.Timestamp("2024-03-31 08:05:59Z")]
    assert c["answered_at"][0] == pd.Timestamp("2024-03-04 08:01:24Z")
    assert c["wait_s"].tolist() == [12.0, 190.0]
    assert c["talk_s"][0] == 271.0 and pd.isna(c["talk_s"][1])
    assert c["outcome"].tolist() == ["answered", "abandoned"]
    assert {(int(r.line), r.field, r.reason_code) for r in rejects.itertuples()} == {
        (5, "arrived_at", "bad_timestamp"), (8, "wait_s", "bad_duration")}
    assert rows["surveys"]["survey_id"].tolist() == ["X-1001", "X-1004"]
    assert sum(b.lines for b in batches) == 4


def test_xlsx_sheet_by_position_chunks_and_errors(tmp_path: Path) -> None:
    book = tmp_path / "calls.xlsx"
    _workbook(book)
    rows, _, batches = _read(XlsxSource(), book, _mapping(tmp_path, "sheet = 1\nheader_row = 3"),
                             chunk_rows=1)
    assert [b.lines for b in batches] == [1, 1, 1, 1]
    assert rows["contacts"]["_line"].tolist() == [4, 7]
    rows, _, batches = _read(XlsxSource(), book,
                             _mapping(tmp_path, "header_row = 3\nskip_rows = 2"))
    assert sum(b.lines for b in batches) == 2  # rows 4 and 5 skipped, blank row 6 not counted
    assert rows["contacts"]["_line"].tolist() == [7]
    with pytest.raises(SourceError, match="no sheet 'Calls 2'") as info:
        _read(XlsxSource(), book, _mapping(tmp_path, 'sheet = "Calls 2"\nheader_row = 3'))
    assert "'Notes'" in (info.value.hint or "")
    with pytest.raises(SourceError, match="not in the file") as info:
        _read(XlsxSource(), book, _mapping(tmp_path, 'sheet = "Notes"'))
    assert "nothing here" in (info.value.hint or "")
    with pytest.raises(SourceError, match="no header in row 2"):
        _read(XlsxSource(), book, _mapping(tmp_path, "header_row = 2"))
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(SourceError, match="not a readable XLSX"):
        _read(XlsxSource(), bad, _mapping(tmp_path))
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="file is empty"):
        _read(XlsxSource(), empty, _mapping(tmp_path))


def test_xlsx_header_only_is_zero_rows(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    book = tmp_path / "h.xlsx"
    wb.save(book)
    rows, rejects, batches = _read(XlsxSource(), book, _mapping(tmp_path))
    assert len(batches) == 1 and batches[0].lines == 0
    assert len(rows["contacts"]) == 0 and rejects.empty


def _parquet(path: Path) -> None:
    table = pa.table({
        "Call ID": pa.array([1001, 1002, None, 1004], pa.int64()),
        "Date": pa.array([date(2024, 3, 4), date(2024, 10, 27), date(2024, 3, 4),
                          date(2024, 3, 31)], pa.date32()),
        "Time": ["08:01:12", "01:30:00", "09:00:00", "01:15:00"],
        "Wait": pa.array([12.0, 30.5, None, 3.0]),
        "Talk": pa.array([271, 0, 10, 5], pa.int32()),
        "Answered": [" Y ", "n", "Y", "y"],
        "Answered at": pa.array([datetime(2024, 3, 4, 8, 1, 24, tzinfo=UTC),
                                 None, None, None], pa.timestamp("us", tz="UTC")),
        "CSAT": pa.array([5, None, None, 2], pa.int8()),
    })
    pq.write_table(table, path, row_group_size=2)


def test_parquet_typed_columns(tmp_path: Path) -> None:
    data = tmp_path / "calls.parquet"
    _parquet(data)
    rows, rejects, batches = _read(ParquetSource(), data, _mapping(tmp_path), chunk_rows=3)
    assert [b.lines for b in batches] == [3, 1]
    c = rows["contacts"]
    assert c["contact_id"].tolist() == ["X-1001", "X-1002"]
    # 27 Oct 01:30 occurs twice in London; "earlier" is the BST one, 00:30 UTC.
    assert c["arrived_at"].tolist() == [pd.Timestamp("2024-03-04 08:01:12Z"),
                                        pd.Timestamp("2024-10-27 00:30Z")]
    assert c["answered_at"][0] == pd.Timestamp("2024-03-04 08:01:24Z")
    assert c["wait_s"].tolist() == [12.0, 30.5]
    assert c["outcome"].tolist() == ["answered", "abandoned"]
    assert {(int(r.line), r.field, r.reason_code) for r in rejects.itertuples()} == {
        (3, "contact_id", "missing_required"), (4, "arrived_at", "bad_timestamp")}
    assert rows["surveys"]["csat"].tolist() == [5, 2]  # a survey loads without its contact


def test_parquet_missing_column_and_bad_file(tmp_path: Path) -> None:
    data = tmp_path / "calls.parquet"
    pq.write_table(pa.table({"Call ID": [1]}), data)
    with pytest.raises(SourceError, match="'Date'") as info:
        _read(ParquetSource(), data, _mapping(tmp_path))
    assert "'Call ID'" in (info.value.hint or "")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 nonsense")
    with pytest.raises(SourceError, match="not a readable Parquet"):
        _read(ParquetSource(), bad, _mapping(tmp_path))


def test_format_follows_extension_then_mapping(tmp_path: Path) -> None:
    """`ingest csv x.parquet` reads Parquet; `format` in the mapping wins over both."""
    data = tmp_path / "calls.parquet"
    _parquet(data)
    rows, _, _ = _read(CsvSource(), data, _mapping(tmp_path))
    assert len(rows["contacts"]) == 2
    renamed = tmp_path / "calls.bin"
    renamed.write_bytes(data.read_bytes())
    rows, _, _ = _read(CsvSource(), renamed, _mapping(tmp_path, 'format = "parquet"'))
    assert len(rows["contacts"]) == 2
    old = tmp_path / "calls.xls"
    old.write_bytes(b"x")
    with pytest.raises(SourceError, match=r"\.xls workbooks"):
        _read(XlsxSource(), old, _mapping(tmp_path))
