"""Asterisk queue_log: hand-written samples (tests/sources/data/asterisk), values by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from contactkpi.config import Tenant
from contactkpi.errors import MappingError
from contactkpi.sources.asterisk import EVENTS, AsteriskQueueLogSource, pending_calls
from contactkpi.sources.base import ReadContext, SourceFile
from contactkpi.sources.registry import get_source
from contactkpi.store import LoadResult, Warehouse, load

DATA = Path(__file__).resolve().parent / "data" / "asterisk"
T0 = 1_700_000_000


def at(seconds: float, base: int = T0) -> pd.Timestamp:
    return pd.Timestamp(base + seconds, unit="s", tz="UTC")


def ingest(wh: Warehouse, path: Path, tenant: str = "acme", timezone: str = "UTC",
           mapping: Path | None = None, source: AsteriskQueueLogSource | None = None
           ) -> LoadResult:
    src = source or AsteriskQueueLogSource()
    ctx = ReadContext(tenant=Tenant(tenant, timezone=timezone), mapping=mapping)
    return load(wh, SourceFile.of(path, "asterisk"), src.read(path, ctx), tenant=tenant)


def contacts(wh: Warehouse, tenant: str = "acme") -> pd.DataFrame:
    return wh.table("contacts", tenant).execute().set_index("contact_id").sort_index()


def states(wh: Warehouse, tenant: str = "acme") -> pd.DataFrame:
    frame = wh.table("agent_states", tenant).execute()
    return frame.sort_values(["agent_id", "state", "started_at"]).reset_index(drop=True)


def rejects(wh: Warehouse) -> list[tuple[int, str, str | None, str | None]]:
    r = wh.table("rejects").execute().sort_values("line")
    return [(int(x.line), x.reason_code, x.field, x.value) for x in r.itertuples()]


@pytest.fixture
def wh() -> Warehouse:
    return Warehouse.memory()


def test_registry_knows_the_source() -> None:
    src = get_source("asterisk")
    assert isinstance(src, AsteriskQueueLogSource)
    assert src.needs_mapping is False


def test_every_event_the_issue_names_is_known() -> None:
    named = {
        "ENTERQUEUE", "CONNECT", "COMPLETEAGENT", "COMPLETECALLER", "ABANDON",
        "EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY", "TRANSFER", "BLINDTRANSFER",
        "ATTENDEDTRANSFER", "RINGNOANSWER", "RINGCANCELED", "SYSCOMPAT", "ADDMEMBER",
        "REMOVEMEMBER", "PAUSE", "UNPAUSE", "PAUSEALL", "UNPAUSEALL", "AGENTLOGIN",
        "AGENTLOGOFF", "AGENTCALLBACKLOGIN", "AGENTCALLBACKLOGOFF", "CONFIGRELOAD",
        "QUEUESTART", "DID", "INFO", "AGENTDUMP", "PENALTY", "RINGINUSE"}
    assert named <= set(EVENTS)
    assert all(s.quote and s.kind in {"call", "member", "system", "info"}
               for s in EVENTS.values())


def test_one_call_per_outcome(wh: Warehouse) -> None:
    result = ingest(wh, DATA / "calls.log")
    assert result.rows_read == 38
    assert result.rows_rejected == 0
    c = contacts(wh)
    assert len(c) == 12  # 13 visits, the last still waiting
    x = c.loc["1700000100.1"]
    assert (x.queue, x.customer_id, x.agent_id, x.outcome) == (
        "support", "5551001", "PJSIP/alice", "answered")
    assert (x.arrived_at, x.answered_at, x.ended_at) == (at(100), at(112), at(232))
    assert (x.wait_s, x.talk_s, x.ring_s, x.transfers, x.entry_position) == (12, 120, 2, 0, 1)
    assert pd.isna(x.queue_position) and x.channel == "voice" and x.direction == "inbound"
    # exits: outcome, wait = waittime, queue_position = position, entry_position = origposition
    expected = {
        "1700000200.3": ("abandoned", 45, 1, 2, at(245)),
        "1700000300.4": ("timeout", 60, 1, 1, at(360)),
        "1700000400.5": ("overflowed", 7, 2, 3, at(407)),   # EXITWITHKEY
        "1700000500.6": ("overflowed", 3, 1, 1, at(503)),   # EXITEMPTY
        "1700000900.13": ("abandoned", 8, 1, 1, at(908)),   # after RINGCANCELED
        "1700001000.14": ("abandoned", 10, 1, 1, at(1010)),  # after AGENTDUMP, SYSCOMPAT
        "1700001100.15": ("timeout", 30, 1, 1, at(1130)),
    }
    for cid, (outcome, wait, pos, opos, ended) in expected.items():
        row = c.loc[cid]
        assert (row.outcome, row.wait_s, row.queue_position, row.entry_position,
                row.ended_at) == (outcome, wait, pos, opos, ended), cid
        assert pd.isna(row.agent_id) and pd.isna(row.talk_s) and pd.isna(row.answered_at)
    # transfers: blind, attended via LINK (two channel names) and via BRIDGE
    for cid, agent, wait, talk, ring, ended in (
            ("1700000600.7", "PJSIP/alice", 5, 60, 4, at(665)),
            ("1700000700.9", "PJSIP/bob", 2, 80, 1, at(782)),
            ("1700000800.11", "PJSIP/bob", 4, 40, 3, at(844))):
        row = c.loc[cid]
        assert (row.outcome, row.agent_id, row.wait_s, row.talk_s, row.ring_s, row.transfers,
                row.ended_at) == ("answered", agent, wait, talk, ring, 1, ended), cid
    # a caller timed out of sales and was sent to support: two visits, one callid
    second = c.loc["1700001100.15#2"]
    assert second.parent_contact_id == "1700001100.15"
    assert (second.queue, second.agent_id, second.arrived_at, second.answered_at,
            second.ended_at, second.wait_s, second.talk_s, second.entry_position) == (
        "support", "PJSIP/bob", at(1131), at(1140), at(1200), 9, 60, 2)
    assert c.loc["1700001100.15"].queue == "sales"
    pend = pending_calls(wh, "acme")
    assert pend[["callid", "visit"]].values.tolist() == [["1700001300.17", 1]]


def test_call_agent_states(wh: Warehouse) -> None:
    ingest(wh, DATA / "calls.log")
    s = states(wh)
    on = s[s.state == "on_contact"]
    assert [(r.agent_id, r.started_at, r.ended_at, r.contact_id) for r in on.itertuples()] == [
        ("PJSIP/alice", at(112), at(232), "1700000100.1"),
        ("PJSIP/alice", at(605), at(665), "1700000600.7"),
        ("PJSIP/bob", at(702), at(782), "1700000700.9"),
        ("PJSIP/bob", at(804), at(844), "1700000800.11"),
        ("PJSIP/bob", at(1140), at(1200), "1700001100.15#2"),
    ]
    ring = s[s.state == "ringing"]
    assert [(r.agent_id, r.reason, r.started_at, r.ended_at, r.contact_id)
            for r in ring.itertuples()] == [
        ("PJSIP/alice", "canceled", at(900.5), at(908), "1700000900.13"),
        ("PJSIP/bob", "no_answer", at(100), at(110), "1700000100.1"),
    ]
    assert len(s) == 7


def test_members_pauses_and_agent_logins(wh: Warehouse) -> None:
    result = ingest(wh, DATA / "members.log")
    assert result.rows_rejected == 0 and result.rows_read == 18
    s = states(wh)
    got = [(r.agent_id, r.state, r.reason, r.started_at, r.ended_at) for r in s.itertuples()]
    assert got == [
        ("Agent/1001", "logged_in", None, at(0), at(5000)),       # AGENTLOGIN/LOGOFF
        ("Agent/2002", "logged_in", None, at(0), at(400)),        # callback agent
        ("PJSIP/alice", "logged_in", None, at(0), at(3600)),      # member of 2 queues
        ("PJSIP/alice", "paused", "lunch", at(100), at(1900)),    # PAUSEALL counted once
        ("PJSIP/alice", "paused", "Auto-Pause", at(2000), at(2100)),
    ]
    assert len(contacts(wh)) == 0


def test_older_parameter_lists(wh: Warehouse) -> None:
    ingest(wh, DATA / "asterisk14.log")
    c = contacts(wh)
    base = 1_200_000_000
    x = c.loc["1200000000.1"]
    assert (x.outcome, x.agent_id, x.wait_s, x.talk_s, x.transfers, x.ended_at) == (
        "answered", "Agent/1001", 10, 90, 1, at(100, base))
    assert pd.isna(x.ring_s) and pd.isna(x.entry_position)
    t = c.loc["1200000200.3"]  # EXITWITHTIMEOUT(position): wait from the timestamps
    assert (t.outcome, t.wait_s, t.queue_position) == ("timeout", 30, 1)
    k = c.loc["1200000300.4"]  # EXITWITHKEY(key|position)
    assert (k.outcome, k.wait_s, k.queue_position) == ("overflowed", 4, 1)


def test_definitive_guide_sample(wh: Warehouse) -> None:
    ingest(wh, DATA / "definitive_guide.log")
    c = contacts(wh)
    assert list(c.index) == ["psy1-1292281041.87"]
    x = c.iloc[0]
    assert (x.agent_id, x.wait_s, x.talk_s, x.ring_s, x.arrived_at, x.ended_at) == (
        "Local/9990@MemberConnector", 2, 3073, 0, at(0, 1292281046), at(0, 1292284121))
    s = states(wh)
    member = s[(s.agent_id == "Local/9990@MemberConnector") & (s.state == "logged_in")]
    # removed from both queues first (its ADDMEMBER is in an older log), added back: open
    assert member.started_at.tolist() == [at(0, 1292284491)] and member.ended_at.isna().all()
    assert (s.state == "ringing").sum() == 2  # RINGNOANSWER|0: member unreachable, 0 ms
    on = s[s.state == "on_contact"].sort_values("started_at")
    assert on.ended_at.isna().tolist() == [False, True]  # the second call is still going on
    assert pending_calls(wh, "acme").callid.tolist() == ["psy1-1292284515.93"]


def test_every_bad_line_is_a_reject_with_its_reason(wh: Warehouse, tmp_path: Path) -> None:
    good = b"1700000000|1700000000.1|q|NONE|ENTERQUEUE||555|1\n"
    lines = [
        good,                                                           # 1 ok
        b"\n",                                                          # 2 blank
        b"notatime|1700000000.2|q|NONE|ENTERQUEUE||555|1\n",            # 3
        b"1700000001|1700000000.2|q|NONE\n",                            # 4 four fields
        b"1700000002|1700000000.2|q|NONE|WENTONBREAK|600\n",            # 5 custom event
        b"1700000003|NONE|q|NONE|ENTERQUEUE||555|1\n",                  # 6
        b"1700000004|1700000000.1|q|PJSIP/a|CONNECT|abc|x|1\n",         # 7
        b"1700000005|NONE|q|NONE|ADDMEMBER|\n",                         # 8
        b"1700000005|1700000000.1|q|NONE|R\xffNGNOANSWER|1\n",          # 9
        b"1|2|3|4|DID" + b"|x" * 20 + b"\n",                            # 10 25 fields
        b"1700000006|1700000000.1|q|PJSIP/a|COMPLETEAGENT|5|6|1\n",     # 11 ok
        b"1700000007|1700000000.3|q|NONE|ENTERQUE",                     # 12 no newline
    ]
    path = tmp_path / "queue_log"
    path.write_bytes(b"".join(lines))
    result = ingest(wh, path)
    assert result.rows_read == 12 and result.rows_rejected == 10
    got = rejects(wh)
    assert [(line, code) for line, code, _, _ in got] == [
        (2, "empty_line"), (3, "bad_timestamp"), (4, "missing_event"), (5, "unknown_event"),
        (6, "missing_callid"), (7, "bad_number"), (8, "missing_agent"), (9, "bad_encoding"),
        (10, "too_many_fields"), (12, "truncated_line")]
    assert got[5][2:] == ("holdtime", "abc")
    assert got[3][2:] == ("event", "WENTONBREAK")
    assert got[9][3] == "1700000007|1700000000.3|q|NONE|ENTERQUE"
    assert all(r.reason for r in wh.table("rejects").execute().itertuples())
    c = contacts(wh)
    assert c.loc["1700000000.1"].outcome == "answered"  # its CONNECT was rejected


def test_a_number_out_of_range_is_rejected_not_a_crash(wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    path.write_text("1700000000|c1|q|NONE|ENTERQUEUE||555|1\n"
                    "1700000009|c1|q|NONE|ABANDON|1|1|99999999999999\n")
    result = ingest(wh, path)
    assert [(r[0], r[1], r[2]) for r in rejects(wh)] == [(2, "bad_number", "waittime")]
    assert result.tables["contacts"].staged == 0


def test_table_export_adaptive_columns(wh: Warehouse) -> None:
    """data1..data5 (queue_adaptive_realtime), naive Paris time: the same calls as the file."""
    ingest(wh, DATA / "calls.log", tenant="file")
    ingest(wh, DATA / "table_adaptive.csv", tenant="db", timezone="Europe/Paris")
    db = contacts(wh, "db")
    assert list(db.index) == ["1700000100.1", "1700000200.3", "1700000700.9"]
    assert db.loc["1700000100.1"].arrived_at == at(100) + pd.Timedelta(microseconds=1)
    link = db.loc["1700000700.9"]  # LINK: data5 = calltime|origposition
    assert (link.transfers, link.talk_s, link.wait_s, link.entry_position) == (1, 80, 2, 1)
    ref = contacts(wh, "file").loc[db.index]
    for col in ("arrived_at", "answered_at", "ended_at"):
        assert db[col].dt.floor("s").equals(ref[col]), col
    for col in ("queue", "customer_id", "agent_id", "outcome", "wait_s", "talk_s", "ring_s",
                "transfers", "entry_position", "queue_position"):
        assert db[col].astype(object).where(db[col].notna(), None).tolist() == \
            ref[col].astype(object).where(ref[col].notna(), None).tolist(), col
    assert len(states(wh, "db")) == 3  # 2 on_contact + 1 ringing


def test_table_export_single_data_column_with_offsets(wh: Warehouse) -> None:
    ingest(wh, DATA / "table_adaptive.csv", tenant="a", timezone="Europe/Paris")
    result = ingest(wh, DATA / "table_data.csv", tenant="b", timezone="America/New_York")
    assert result.rows_read == 9 and result.rows_rejected == 0
    a, b = contacts(wh, "a"), contacts(wh, "b")
    assert a.drop(columns="tenant").equals(b.drop(columns="tenant"))


def test_table_export_with_three_data_columns(wh: Warehouse, tmp_path: Path) -> None:
    """An older schema with data1..data3 only, ``;``-separated, epoch-second times."""
    path = tmp_path / "queue_log.csv"
    path.write_text("time;callid;queuename;agent;event;data1;data2;data3\n"
                    "1700000000;c1;q;NONE;ENTERQUEUE;;5551001;1\n"
                    "1700000004;c1;q;PJSIP/a;CONNECT;4;c1-m;2\n"
                    "1700000064;c1;q;PJSIP/a;COMPLETECALLER;4;60;1\n"
                    "1700000070;c1;q;PJSIP/a;WENTONBREAK;600;;\n")
    result = ingest(wh, path)
    assert result.rows_read == 4
    assert [(r[0], r[1]) for r in rejects(wh)] == [(5, "unknown_event")]  # header = line 1
    x = contacts(wh).loc["c1"]
    assert (x.arrived_at, x.answered_at, x.ended_at, x.wait_s, x.talk_s, x.ring_s) == (
        at(0), at(4), at(64), 4, 60, 2)


def test_server_prefix_keeps_call_ids_apart(wh: Warehouse, tmp_path: Path) -> None:
    toml = tmp_path / "pbx1.toml"
    toml.write_text('[asterisk]\nserver = "pbx1"\n')
    ingest(wh, DATA / "calls.log", mapping=toml)
    ids = contacts(wh).index.tolist()
    assert "pbx1/1700000100.1" in ids and "pbx1/1700001100.15#2" in ids
    bad = tmp_path / "bad.toml"
    bad.write_text('[asterisk]\nsrever = "x"\n')
    with pytest.raises(MappingError):
        ingest(wh, DATA / "calls.log", mapping=bad)


def test_empty_file_loads_nothing(wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    path.write_bytes(b"")
    result = ingest(wh, path)
    assert result.rows_read == 0 and result.rows_rejected == 0
    assert math.isclose(len(contacts(wh)), 0)
