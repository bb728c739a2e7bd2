"""Amazon Connect contact records: each documented field lands where the module says.

Samples in ``data/connect`` follow AWS's "Data model for Amazon Connect contact records"
(admin guide page ``ctr-data-model``); the quotes in the docstrings below are from that page.
Expected values are worked out by hand from the sample records.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from contactkpi.config import Tenant
from contactkpi.errors import MappingError, SourceError
from contactkpi.model import TABLES
from contactkpi.model.validate import conform
from contactkpi.sources.amazon_connect_ctr import AmazonConnectCtrSource, AttributeMapping
from contactkpi.sources.base import ReadContext, SourceFile
from contactkpi.sources.registry import get_source
from contactkpi.store import REJECTS, Warehouse, load

DATA = Path(__file__).resolve().parent / "data" / "connect"
MAPPING = DATA / "mapping.toml"
T = pd.Timestamp


def _ingest(wh: Warehouse, path: Path, mapping: Path | None = MAPPING):
    ctx = ReadContext(tenant=Tenant("acme"), mapping=mapping)
    return load(wh, SourceFile.of(path, "connect"), AmazonConnectCtrSource().read(path, ctx),
                "acme")


def _contacts(wh: Warehouse) -> pd.DataFrame:
    return wh.table("contacts").execute().set_index("contact_id")


def _rejects(wh: Warehouse) -> pd.DataFrame:
    return wh.table(REJECTS).execute().sort_values("line").reset_index(drop=True)


def test_registry_finds_the_source() -> None:
    assert isinstance(get_source("connect"), AmazonConnectCtrSource)


def test_documented_record_maps_every_used_field() -> None:
    """One full record shaped like the data model.

    "AgentInteractionDuration: The time, in whole seconds, that an agent interacted with a
    customer." "CustomerHoldDuration: The time, in whole seconds, that the customer spent on
    hold while connected to the agent." "Duration: The difference in time, in whole seconds,
    between EnqueueTimestamp and DequeueTimestamp." The sample is consistent with hold not
    being part of the interaction: 09:00:40 + 239 s + 61 s = 09:05:40, the ACW start.
    """
    wh = Warehouse.memory()
    r = _ingest(wh, DATA / "inbound_answered.json")
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (1, 1, 0)
    row = _contacts(wh).loc["c-1"]
    assert row["channel"] == "voice" and row["direction"] == "inbound"
    assert row["queue"] == "Sales" and row["agent_id"] == "ann"
    assert row["customer_id"] == "+15550100"
    assert row["arrived_at"] == T("2026-03-02T09:00:10Z")  # EnqueueTimestamp, not Initiation
    assert row["answered_at"] == T("2026-03-02T09:00:40Z")
    assert row["ended_at"] == T("2026-03-02T09:05:40Z")
    assert (row["wait_s"], row["talk_s"], row["hold_s"], row["acw_s"]) == (30, 239, 61, 20)
    assert row["answered_at"] + pd.Timedelta(seconds=row["talk_s"] + row["hold_s"]) == T(
        "2026-03-02T09:05:40Z")
    assert (row["holds"], row["transfers"]) == (2, 0)
    assert row["outcome"] == "answered"
    assert (row["reason"], row["segment"]) == ("billing", "gold")
    assert pd.isna(row["campaign"]) and pd.isna(row["parent_contact_id"])


# contact -> (direction, channel, outcome, queue, arrived, answered, wait_s, transfers, parent)
EXPECTED = {
    "c-1": ("inbound", "voice", "answered", "Sales", "09:00:10", "09:00:40", 30, 0, None),
    "c-2": ("inbound", "voice", "abandoned", "Sales", "09:02:00", None, 45, 0, None),
    "c-3": ("inbound", "voice", "timeout", "Sales", "09:03:00", None, 600, 0, None),
    "c-4": ("inbound", "voice", "overflowed", "Sales", "09:04:00", None, 50, 1, None),
    "c-5": ("inbound", "voice", "answered", "Support", "09:04:50", "09:05:20", 30, 0, "c-4"),
    "c-6": ("inbound", "voice", None, None, "09:06:00", None, None, 0, None),
    "c-7": ("outbound", "voice", "answered", None, "09:10:00", "09:10:12", None, 0, None),
    "c-8": ("outbound", "voice", "voicemail", None, "09:20:00", None, None, 0, None),
    "c-9": ("outbound", "voice", "timeout", "Callbacks", "09:30:00", None, 7200, 0, None),
    "c-11": ("inbound", "chat", "answered", "Chat", "10:00:00", "10:00:20", 20, 0, None),
    "c-12": ("inbound", "task", "timeout", "Backoffice", "11:00:00", None, 604800, 0, None),
}


@pytest.fixture(scope="module")
def sample() -> tuple[Warehouse, object]:
    wh = Warehouse.memory()
    return wh, _ingest(wh, DATA / "records.jsonl")


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_each_sample_record_is_mapped_by_hand(sample, cid: str) -> None:
    """Outcomes follow the data model's definitions.

    Abandoned: "a contact that was disconnected by the customer while in queue ... has a
    Queue, and an Enqueue Timestamp ... It won't have a ConnectedToAgentTimestamp" (c-2).
    QUEUE_TRANSFER: "they were transferred into another queue using a flow block" (c-4 leaves
    Sales with NextContactId c-5, so it overflowed; c-5 has PreviousContactId c-4).
    CONTACT_FLOW_DISCONNECT: "Call was disconnected in a flow" (c-3, queue time-out); EXPIRED:
    "Task expired automatically because it was not assigned or completed within 7 days" (c-12).
    ConnectedToSystemTimestamp: "For OUTBOUND, CALLBACK, and API, this is when the customer
    endpoint answers" (c-7 answered at 09:10:12). c-4 has no Queue.Duration, so its wait is
    DequeueTimestamp - EnqueueTimestamp = 09:04:50 - 09:04:00 = 50 s.
    """
    wh, _ = sample
    direction, channel, outcome, queue, arrived, answered, wait, transfers, parent = EXPECTED[cid]
    row = _contacts(wh).loc[cid]
    day = "2026-03-02T"
    assert row["direction"] == direction and row["channel"] == channel
    assert (None if pd.isna(row["outcome"]) else row["outcome"]) == outcome
    assert (None if pd.isna(row["queue"]) else row["queue"]) == queue
    assert row["arrived_at"] == T(day + arrived + "Z")
    assert (None if pd.isna(row["answered_at"]) else row["answered_at"]) == (
        None if answered is None else T(day + answered + "Z"))
    assert (None if pd.isna(row["wait_s"]) else row["wait_s"]) == wait
    assert row["transfers"] == transfers
    assert (None if pd.isna(row["parent_contact_id"]) else row["parent_contact_id"]) == parent


def test_chat_first_response_and_campaign(sample) -> None:
    """ChatMetrics.ChatContactMetrics.AgentFirstResponseTimestamp is the chat's first reply;
    an outbound campaign call without a mapped attribute takes Campaign.CampaignId."""
    wh, _ = sample
    rows = _contacts(wh)
    assert rows.loc["c-11", "first_response_at"] == T("2026-03-02T10:00:35Z")
    assert rows.loc["c-8", "campaign"] == "spring-promo"
    assert rows.loc["c-7", "talk_s"] == 180 and rows.loc["c-7", "acw_s"] == 15


def test_reemitted_record_keeps_the_newest_copy(sample) -> None:
    """"Use the LastUpdateTimestamp property to determine if a copy contains new data than
    previous copies. Then use the ContactId property for deduplication." c-1 comes first with
    LastUpdateTimestamp 2026-03-03T08:00 (reason refund) and again on line 13 with an older
    copy (reason billing): the newer one is stored and the older counts as a duplicate."""
    wh, result = sample
    assert _contacts(wh).loc["c-1", "reason"] == "refund"
    counts = result.tables["contacts"]
    assert (counts.staged, counts.loaded, counts.duplicate) == (12, 11, 1)


def test_monitor_record_is_rejected_not_dropped(sample) -> None:
    """MONITOR: "A supervisor initiated monitor on an agent." Not a customer contact: the
    record (line 10) is a reject with its own reason, so every record is accounted for."""
    wh, result = sample
    assert result.rows_read == 13
    assert result.rows_rejected == 1
    rej = _rejects(wh)
    assert list(rej[["line", "reason_code"]].itertuples(index=False, name=None)) == [
        (10, "ignored_monitor")]
    assert "c-10" not in _contacts(wh).index


def _records() -> list[dict]:
    return [json.loads(line) for line in (DATA / "records.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("shape", ["firehose", "array", "single_lines"])
def test_every_file_shape_stores_the_same_rows(tmp_path: Path, sample, shape: str) -> None:
    """Firehose (records back to back), a JSON array and JSON Lines give the same contacts.

    Lines: in JSON Lines the MONITOR record is line 10; an indented array puts it where its
    ``{`` stands; a Firehose file is one line, so records are numbered by position (10th)."""
    recs = _records()
    p = tmp_path / "ctr.json"
    if shape == "firehose":
        p.write_text("".join(json.dumps(r) for r in recs))
    elif shape == "array":
        p.write_text(json.dumps(recs, indent=1))
    else:
        p.write_text("\n\n".join(json.dumps(r) for r in recs) + "\n")  # blank lines between
    wh = Warehouse.memory()
    _ingest(wh, p)
    ref, _ = sample
    pd.testing.assert_frame_equal(_contacts(wh).sort_index(), _contacts(ref).sort_index())
    text = p.read_text()
    expected_line = {
        "firehose": 10,
        "array": text[:text.index('"c-10"')].count("\n"),  # the "{" one line above the id
        "single_lines": 19,
    }[shape]
    assert _rejects(wh)["line"].tolist() == [expected_line]


def test_without_mapping_no_attribute_is_read(tmp_path: Path) -> None:
    wh = Warehouse.memory()
    _ingest(wh, DATA / "records.jsonl", mapping=None)
    rows = _contacts(wh)
    assert rows["reason"].isna().all() and rows["segment"].isna().all()
    assert rows.loc["c-8", "campaign"] == "spring-promo"


def test_mapping_by_record_path(tmp_path: Path) -> None:
    """``$.`` maps any record field: here the routing profile name into ``script``."""
    m = tmp_path / "m.toml"
    m.write_text('[connect.attributes]\nscript = "$.Agent.RoutingProfile.Name"\n'
                 'disposition = "greetingPlayed"\n')
    wh = Warehouse.memory()
    _ingest(wh, DATA / "inbound_answered.json", mapping=m)
    row = _contacts(wh).loc["c-1"]
    assert (row["script"], row["disposition"]) == ("Basic Routing Profile", "true")


@pytest.mark.parametrize(("text", "message"), [
    ('[connect.attributes]\nqueue = "Q"\n', "not a mappable column"),
    ('[connect.attributes]\nreason = 3\n', "must be an attribute name"),
    ('[connect]\nattribute = {}\n', "unknown key"),
    ('[connect.attributes\n', "not valid TOML"),
])
def test_bad_mapping_file_is_a_mapping_error(tmp_path: Path, text: str, message: str) -> None:
    m = tmp_path / "m.toml"
    m.write_text(text)
    with pytest.raises(MappingError, match=message) as info:
        AttributeMapping.load(m)
    assert info.value.where == str(m)


def test_bad_records_are_rejects_with_line_and_reason(tmp_path: Path) -> None:
    good = _records()[1]  # c-2
    lines = [
        json.dumps(good),                                               # 1 ok
        json.dumps({**good, "ContactId": "x2", "Agent": "James"}),       # 2 Agent not object
        json.dumps({**good, "ContactId": "x3", "InitiationMethod": "TELEPATHY"}),  # 3
        json.dumps({k: v for k, v in good.items() if k != "InitiationMethod"} | {
            "ContactId": "x4"}),                                        # 4 no method
        json.dumps({**good, "ContactId": "x5", "Channel": "FAX"}),       # 5 unknown channel
        json.dumps({**good, "ContactId": "x6", "DisconnectTimestamp": "yesterday"}),  # 6
        '{"ContactId": "x7", "Channel": "VOICE", "InitiationMethod": ',  # 7 cut off
        json.dumps({**good, "ContactId": "x8", "Queue": {**good["Queue"], "Duration": -5}}),
        "42",                                                            # 9 not an object
        json.dumps({k: v for k, v in good.items() if k != "ContactId"}),  # 10 no id
    ]
    p = tmp_path / "bad.jsonl"
    p.write_text("\n".join(lines) + "\n")
    wh = Warehouse.memory()
    r = _ingest(wh, p)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (10, 1, 9)
    got = {(int(x.line), x.reason_code) for x in _rejects(wh).itertuples()}
    assert got == {
        (2, "bad_structure"), (3, "unknown_initiation_method"), (4, "missing_field"),
        (5, "unknown_code"), (6, "bad_timestamp"), (7, "bad_json"), (8, "out_of_range"),
        (9, "not_an_object"), (10, "missing_field"),
    }


def test_rows_pass_the_model_untouched() -> None:
    """What the source yields conforms without rejects for the documented sample."""
    ctx = ReadContext(tenant=Tenant("acme"), mapping=MAPPING)
    (batch,) = AmazonConnectCtrSource().read(DATA / "inbound_answered.json", ctx)
    done = conform(TABLES["contacts"], batch.tables["contacts"])
    assert done.rejects.empty and len(done.rows) == 1


def test_reingest_changes_nothing(tmp_path: Path) -> None:
    wh = Warehouse.memory()
    first = _ingest(wh, DATA / "records.jsonl")
    before = _contacts(wh).sort_index()
    again = _ingest(wh, DATA / "records.jsonl")
    assert (again.rows_loaded, again.rows_replaced) == (0, 0)
    assert again.rows_duplicate == first.tables["contacts"].staged
    pd.testing.assert_frame_equal(_contacts(wh).sort_index(), before)
    assert len(_rejects(wh)) == 1  # the rejects of the same file are replaced, not doubled


def test_unreadable_files_are_source_errors(tmp_path: Path) -> None:
    ctx = ReadContext(tenant=Tenant("acme"))
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    with pytest.raises(SourceError, match="empty"):
        list(AmazonConnectCtrSource().read(empty, ctx))
    with pytest.raises(SourceError, match="cannot read"):
        list(AmazonConnectCtrSource().read(tmp_path / "missing.json", ctx))
