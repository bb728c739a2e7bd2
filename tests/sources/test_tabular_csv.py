"""CSV through a mapping: malformed rows become rejects with line, field and reason; the
good rows come through; whole-file problems are one SourceError."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactkpi.config import Tenant
from contactkpi.errors import MappingError, SourceError
from contactkpi.model import TABLES
from contactkpi.model.validate import conform
from contactkpi.sources.base import Batch, ReadContext
from contactkpi.sources.readers import _decoded_lines, _LineState
from contactkpi.sources.registry import get_source
from contactkpi.sources.tabular import CsvSource

REPO = Path(__file__).resolve().parents[2]
CONTACTS_MAPPING = REPO / "examples" / "mappings" / "contacts.toml"
HEADER = ("Call ID,Date,Time,Queue,Agent,Caller,Wait Time,Talk Time,Hold Time,Wrap Time,"
          "Answered (Y/N),Transfers,CSAT,Reason\n")


def _row(call: int, date: str = "04/03/2024", time: str = "08:00:00", wait: str = "0:00:10",
         talk: str = "0:02:00", answered: str = "Y", csat: str = "", reason: str = "Billing"
         ) -> str:
    return (f"{call},{date},{time},Billing,A017,+44,{wait},{talk},0:00:00,0:00:30,{answered},0,"
            f"{csat},{reason}\n")


@pytest.fixture
def tenant() -> Tenant:
    return Tenant("acme", timezone="Europe/Paris")


def _read(path: Path, mapping: Path, tenant: Tenant, chunk_rows: int = 200_000,
          progress: list[int] | None = None) -> list[Batch]:
    ctx = ReadContext(tenant=tenant, mapping=mapping, chunk_rows=chunk_rows,
                      progress=progress.append if progress is not None else None)
    return list(CsvSource().read(path, ctx))


def _conformed(batches: list[Batch]) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Rows per table after conform (what the store would load) and all rejects."""
    rows: dict[str, list[pd.DataFrame]] = {}
    rejects = [b.rejects for b in batches]
    for b in batches:
        for name, frame in b.tables.items():
            c = conform(TABLES[name], frame)
            rows.setdefault(name, []).append(c.rows)
            rejects.append(c.rejects)
    return ({n: pd.concat(f, ignore_index=True) for n, f in rows.items()},
            pd.concat(rejects, ignore_index=True))


def _triples(rejects: pd.DataFrame) -> set[tuple[int, object, object, str]]:
    return {(int(r.line), r.table_name, r.field, r.reason_code)
            for r in rejects.itertuples()}


def test_malformed_rows_are_rejected_and_good_rows_come_through(tmp_path: Path,
                                                                tenant: Tenant) -> None:
    text = (HEADER
            + _row(1, csat="5")                                   # line 2: good, + survey
            + _row(2, date="31/02/2024")                          # 3: no such day
            + _row(3, wait="-0:00:05")                            # 4: negative duration
            + _row(4, answered="X")                               # 5: unknown code
            + "5,04/03/2024,08:00:00,Billing\n"                   # 6: 4 fields of 14
            + _row(6, date="31/03/2024", time="01:30:00")         # 7: London DST gap
            + _row(7, wait="a while")                             # 8: unparsable duration
            + _row(8, time="8h")                                  # 9: bad time of day
            + _row(9, answered="N", talk="0:00:10")               # 10: abandoned with talk
            + _row(10, csat="9")                                  # 11: CSAT out of range
            + _row(11, answered="y", csat="4"))                   # 12: good (ignore_case)
    path = tmp_path / "calls.csv"
    path.write_text(text, encoding="utf-8")
    batches = _read(path, CONTACTS_MAPPING, tenant)
    rows, rejects = _conformed(batches)
    assert sum(b.lines for b in batches) == 11
    assert _triples(rejects) == {
        (3, "contacts", "arrived_at", "bad_timestamp"),
        (4, "contacts", "wait_s", "bad_duration"),
        (5, "contacts", "outcome", "unknown_code"),
        (6, None, None, "bad_field_count"),
        (7, "contacts", "arrived_at", "bad_timestamp"),
        (8, "contacts", "wait_s", "bad_duration"),
        (9, "contacts", "arrived_at", "bad_timestamp"),
        (10, "contacts", "talk_s", "rule:abandoned_without_talk"),
        (11, "surveys", "csat", "out_of_range"),
    }
    assert rows["contacts"]["_line"].tolist() == [2, 11, 12]
    assert rows["contacts"]["contact_id"].tolist() == ["04/03/2024-1", "04/03/2024-10",
                                                       "04/03/2024-11"]
    assert rows["surveys"]["_line"].tolist() == [2, 12]
    by_line = rejects.set_index("line")
    assert "does not exist in Europe/London" in by_line.loc[7, "reason"]
    assert by_line.loc[6, "reason"] == "4 fields where the header has 14"
    assert by_line.loc[4, "value"] == "-0:00:05"
    assert by_line.loc[4, "reason"] == "wait_s is negative"


def test_line_numbers_count_the_line_where_a_multiline_record_starts(tmp_path: Path,
                                                                     tenant: Tenant) -> None:
    text = (HEADER
            + _row(1, reason='"Two\nlines"')                      # lines 2-3
            + _row(2, reason='"Three\r\nlines\r\nhere"')          # lines 4-6
            + "\n"                                                # 7: blank, not a record
            + _row(3, wait="bad")                                 # 8
            + _row(4, reason='"quoted ""x"", one line"'))         # 9
    path = tmp_path / "multi.csv"
    path.write_bytes(text.encode())
    batches = _read(path, CONTACTS_MAPPING, tenant)
    rows, rejects = _conformed(batches)
    assert rows["contacts"]["_line"].tolist() == [2, 4, 9]
    assert rows["contacts"]["reason"].tolist() == ["Two\nlines", "Three\r\nlines\r\nhere",
                                                   'quoted "x", one line']
    assert _triples(rejects) == {(8, "contacts", "wait_s", "bad_duration")}
    assert sum(b.lines for b in batches) == 4


def test_unclosed_quote_swallows_to_the_end_and_says_so(tmp_path: Path,
                                                        tenant: Tenant) -> None:
    path = tmp_path / "open.csv"
    path.write_text(HEADER + _row(1) + _row(2, reason='"never closed') + _row(3) + _row(4))
    batches = _read(path, CONTACTS_MAPPING, tenant)
    rows, rejects = _conformed(batches)
    assert rows["contacts"]["_line"].tolist() == [2]
    assert _triples(rejects) == {(3, None, None, "bad_record")}
    assert "lines 3-5 were read as one record" in rejects.loc[0, "reason"]
    assert sum(b.lines for b in batches) == 2
    # A quote left open in a middle field: the field count is wrong, and the reason says
    # where the record ends.
    path.write_text(HEADER + _row(1) + _row(2).replace("Billing", '"Billing', 1) + _row(3))
    rows, rejects = _conformed(_read(path, CONTACTS_MAPPING, tenant))
    assert _triples(rejects) == {(3, None, None, "bad_record")}
    path.write_text(HEADER + _row(1) + _row(2).replace("Billing", '"Bil"ling', 1) + _row(3))
    rows, rejects = _conformed(_read(path, CONTACTS_MAPPING, tenant))
    assert rejects.empty and rows["contacts"]["_line"].tolist() == [2, 3, 4]


def test_chunks_give_the_same_rows_and_account_for_every_record(tmp_path: Path,
                                                                tenant: Tenant) -> None:
    text = HEADER + "".join(_row(i, csat=str(i % 5 + 1) if i % 2 else "") for i in range(1, 8))
    text += "8,broken\n" + _row(9, wait="-1")
    path = tmp_path / "calls.csv"
    path.write_text(text)
    progress: list[int] = []
    small = _read(path, CONTACTS_MAPPING, tenant, chunk_rows=2, progress=progress)
    whole = _read(path, CONTACTS_MAPPING, tenant)
    assert [b.lines for b in small] == [2, 2, 2, 2, 1]
    assert sum(b.lines for b in whole) == 9
    rows_small, rej_small = _conformed(small)
    rows_whole, rej_whole = _conformed(whole)
    for name in ("contacts", "surveys"):
        pd.testing.assert_frame_equal(rows_small[name], rows_whole[name])
    assert _triples(rej_small) == _triples(rej_whole) == {
        (9, None, None, "bad_field_count"), (10, "contacts", "wait_s", "bad_duration")}
    assert progress == sorted(progress) and progress[-1] == path.stat().st_size
    assert rows_whole["surveys"]["_line"].tolist() == [2, 4, 6, 8]  # odd calls have a CSAT


def test_wrong_encoding_rejects_those_records_only(tmp_path: Path, tenant: Tenant) -> None:
    body = (HEADER + _row(1) + _row(2, reason="Caf\xe9") + _row(3)).encode("latin-1")
    path = tmp_path / "latin.csv"
    path.write_bytes(body)
    rows, rejects = _conformed(_read(path, CONTACTS_MAPPING, tenant))
    assert rows["contacts"]["_line"].tolist() == [2, 4]
    assert _triples(rejects) == {(3, None, None, "bad_encoding")}
    offset = body.index(b"\xe9")
    assert rejects.loc[0, "value"] == f"byte 0xE9 at byte offset {offset}"
    assert 'encoding = "latin-1"' in rejects.loc[0, "reason"]
    mapping = tmp_path / "latin.toml"
    mapping.write_text(CONTACTS_MAPPING.read_text().replace('encoding = "utf-8"',
                                                           'encoding = "latin-1"'))
    rows, rejects = _conformed(_read(path, mapping, tenant))
    assert rejects.empty
    assert rows["contacts"]["reason"].tolist() == ["Billing", "Café", "Billing"]


def test_undecodable_header_refuses_the_file(tmp_path: Path, tenant: Tenant) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(HEADER.replace("Caller", "Appelant (n\xb0)").encode("latin-1") + b"")
    with pytest.raises(SourceError, match="header is not valid utf-8") as info:
        _read(path, CONTACTS_MAPPING, tenant)
    assert info.value.where == str(path)
    assert "latin-1" in (info.value.hint or "")
    assert "byte offset" in info.value.message


def test_utf8_bom_and_utf16_files(tmp_path: Path, tenant: Tenant) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (HEADER + _row(1)).encode())
    rows, rejects = _conformed(_read(bom, CONTACTS_MAPPING, tenant))
    assert rejects.empty and rows["contacts"]["contact_id"].tolist() == ["04/03/2024-1"]
    wide = tmp_path / "wide.csv"
    wide.write_text(HEADER + _row(1) + _row(2, reason="Café"), encoding="utf-16")
    mapping = tmp_path / "utf16.toml"
    mapping.write_text(CONTACTS_MAPPING.read_text().replace('encoding = "utf-8"',
                                                           'encoding = "utf-16"'))
    rows, rejects = _conformed(_read(wide, mapping, tenant))
    assert rejects.empty and rows["contacts"]["reason"].tolist() == ["Billing", "Café"]
    assert rows["contacts"]["_line"].tolist() == [2, 3]


def test_empty_file_is_refused_and_header_only_is_zero_rows(tmp_path: Path,
                                                            tenant: Tenant) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="file is empty") as info:
        _read(empty, CONTACTS_MAPPING, tenant)
    assert info.value.where == str(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text(HEADER)
    batches = _read(header_only, CONTACTS_MAPPING, tenant)
    assert len(batches) == 1 and batches[0].lines == 0 and batches[0].rejects.empty
    rows, rejects = _conformed(batches)
    assert len(rows["contacts"]) == 0 and len(rows["surveys"]) == 0 and rejects.empty
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n")
    with pytest.raises(SourceError, match="no header at line 1"):
        _read(blank, CONTACTS_MAPPING, tenant)


def test_missing_column_refuses_the_whole_file(tmp_path: Path, tenant: Tenant) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(HEADER.replace("Wait Time", "Wait time") + _row(1))
    with pytest.raises(SourceError) as info:
        _read(path, CONTACTS_MAPPING, tenant)
    err = info.value
    assert err.where == str(path)
    assert "'Wait Time'" in err.message and "tables.contacts.columns.wait_s" in err.message
    assert "did you mean 'Wait time'?" in (err.hint or "")
    assert "'Call ID'" in (err.hint or "") and "'Reason'" in (err.hint or "")


def _mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(text)
    return path


def test_dialect_header_row_skip_rows_decimal_comma_and_nulls(tmp_path: Path,
                                                              tenant: Tenant) -> None:
    data = tmp_path / "export.txt"
    data.write_text(
        "Daily report \udcff\n"                 # line 1: title, not UTF-8: skipped raw
        "generated 2024-03-05\n"                # line 2
        "Agent|Day|Type|Hours|Planned\n"        # line 3: header
        "-|-|-|h|-\n"                           # line 4: units, skipped
        "A1|2024-03-05|sick|7,5|N\n"            # line 5
        "A2|2024-03-05|NULL|1.234,25|Y\n"       # line 6: blank kind, too many hours
        "A3|2024-03-06|vacation|8|NULL\n",      # line 7
        errors="surrogateescape")
    mapping = _mapping(tmp_path, '''
[source]
delimiter = "|"
header_row = 3
skip_rows = 1
decimal = ","
thousands = "."
null_values = ["", "NULL"]
[tables.absences.columns]
agent_id = "Agent"
date = "Day"
kind = "Type"
hours = "Hours"
planned = "Planned"
''')
    batches = _read(data, mapping, tenant)
    rows, rejects = _conformed(batches)
    assert sum(b.lines for b in batches) == 3
    assert rows["absences"]["hours"].tolist() == [7.5, 8.0]
    assert rows["absences"]["_line"].tolist() == [5, 7]
    assert rows["absences"]["planned"].isna().tolist() == [False, True]
    assert _triples(rejects) == {(6, "absences", "kind", "missing_required"),
                                 (6, "absences", "hours", "out_of_range")}


def test_no_header_columns_by_position_and_tab_separated(tmp_path: Path,
                                                         tenant: Tenant) -> None:
    data = tmp_path / "targets.tsv"
    data.write_text("service_level\t\t2024-01-01\t0.8\nasa_s\tBilling\t2024-01-01\t30\n")
    mapping = _mapping(tmp_path, '''
[source]
header_row = 0
[tables.targets.columns]
metric = "1"
queue = "2"
valid_from = "3"
value = "4"
''')
    rows, rejects = _conformed(_read(data, mapping, tenant))
    assert rejects.empty
    assert rows["targets"]["metric"].tolist() == ["service_level", "asa_s"]
    assert rows["targets"]["value"].tolist() == [0.8, 30.0]
    assert rows["targets"]["_line"].tolist() == [1, 2]


def test_alternatives_conditions_tenant_column_and_line_ids(tmp_path: Path,
                                                            tenant: Tenant) -> None:
    data = tmp_path / "mixed.csv"
    data.write_text(
        "Client,Agent,Agent ID,Secs,Kind,Start\n"
        "acme,A1,,30,IN,2024-07-01T10:00:00+02:00\n"     # line 2
        "globex,,G7,0,out,2024-07-01 10:00\n"            # 3: local time -> tz of mapping
        "acme,,,,IN,2024-07-01 11:00\n"                  # 4: no agent at all
        "acme,A2,,45,test,2024-07-01 12:00\n")           # 5: test calls feed nothing
    mapping = _mapping(tmp_path, '''
[source]
timezone = "America/New_York"
[tables.contacts]
when = { not = { column = "Kind", eq = "test" } }
[tables.contacts.columns]
tenant = "Client"
contact_id = { template = "{Client}-{_line}" }
agent_id = ["Agent", "Agent ID", { value = "unassigned" }]
direction = [
    { when = { column = "Kind", in = ["in", "inbound"], ignore_case = true }, value = "inbound" },
    { value = "outbound" },
]
outcome = [
    { when = { column = "Secs", gt = 0 }, value = "answered" },
    { when = { column = "Secs", present = true }, value = "no_answer" },
]
talk_s = "Secs"
arrived_at = "Start"
[tables.contacts.constants]
channel = "voice"
''')
    rows, rejects = _conformed(_read(data, mapping, tenant))
    assert rejects.empty
    c = rows["contacts"]
    assert c["tenant"].tolist() == ["acme", "globex", "acme"]
    assert c["contact_id"].tolist() == ["acme-2", "globex-3", "acme-4"]
    assert c["agent_id"].tolist() == ["A1", "G7", "unassigned"]
    assert c["direction"].tolist() == ["inbound", "outbound", "inbound"]
    assert c["outcome"].tolist()[:2] == ["answered", "no_answer"] and pd.isna(c["outcome"][2])
    assert c["arrived_at"].tolist() == [pd.Timestamp("2024-07-01 08:00Z"),
                                        pd.Timestamp("2024-07-01 14:00Z"),
                                        pd.Timestamp("2024-07-01 15:00Z")]


def test_tenant_time_zone_applies_when_the_mapping_has_none(tmp_path: Path) -> None:
    data = tmp_path / "s.csv"
    data.write_text("A,S\nx,2024-01-15 09:00\n")
    mapping = _mapping(tmp_path, '''
[tables.agent_states.columns]
agent_id = "A"
started_at = "S"
[tables.agent_states.constants]
state = "logged_in"
''')
    for zone, utc in (("Asia/Tokyo", "2024-01-15 00:00Z"), ("UTC", "2024-01-15 09:00Z")):
        rows, _ = _conformed(_read(data, mapping, Tenant("t", timezone=zone)))
        assert rows["agent_states"]["started_at"].tolist() == [pd.Timestamp(utc)]
        assert rows["agent_states"]["tenant"].tolist() == ["t"]


def test_sources_are_registered_and_need_a_mapping(tmp_path: Path, tenant: Tenant) -> None:
    source = get_source("csv")
    assert source.kind == "csv" and source.needs_mapping
    assert {get_source(k).kind for k in ("parquet", "xlsx")} == {"parquet", "xlsx"}
    data = tmp_path / "x.csv"
    data.write_text("a\n1\n")
    with pytest.raises(MappingError, match="need a mapping"):
        list(source.read(data, ReadContext(tenant=tenant)))
    with pytest.raises(SourceError, match="not found"):
        _read(tmp_path / "nope.csv", CONTACTS_MAPPING, tenant)


def test_batches_are_lazy(tmp_path: Path, tenant: Tenant) -> None:
    """Reading is a generator: the first batch comes before the file is read to the end."""
    path = tmp_path / "calls.csv"
    path.write_text(HEADER + "".join(_row(i) for i in range(1, 11)))
    progress: list[int] = []
    ctx = ReadContext(tenant=tenant, mapping=CONTACTS_MAPPING, chunk_rows=3,
                      progress=progress.append)
    batches: Iterator[Batch] = CsvSource().read(path, ctx)
    first = next(batches)
    assert first.lines == 3 and len(progress) == 1
    assert progress[0] < path.stat().st_size


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=12),
       st.booleans(), st.integers(min_value=1, max_value=40), st.booleans())
def test_block_decoding_matches_line_by_line(lines: list[bytes], final_newline: bool,
                                             block_size: int, bom: bool) -> None:
    """Lines, line count and the bad lines are the same whatever the block size."""
    data = (b"\xef\xbb\xbf" if bom else b"") + b"\n".join(lines) + (b"\n" if final_newline
                                                                     else b"")
    state = _LineState()
    got = list(_decoded_lines(io.BytesIO(data), "utf-8", state, block_size=block_size))
    expected: list[str] = []
    bad_lines = []
    pieces = data.split(b"\n")
    raws = [p + b"\n" for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    for n, raw in enumerate(raws, 1):
        try:
            expected.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            expected.append(raw.decode("utf-8", "replace"))
            bad_lines.append(n)
    if bom and expected:
        expected[0] = expected[0].removeprefix("\ufeff")
    assert got == expected
    assert state.count == len(expected) and state.offset == len(data)
    assert state.bad == len(bad_lines)
    if bad_lines:
        assert state.last_bad[0] == bad_lines[-1]
