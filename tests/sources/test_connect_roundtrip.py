"""Canonical contacts -> CTR file -> ingest gives the same contacts; damage never crashes.

Round trip: frames built here are written by ``simulate.raw.connect`` in every file shape and
loaded through ``store.load`` into an in-memory warehouse; the stored rows equal the frames
on every column a CTR carries. Fuzz: a written file is shuffled, cut, repeated and corrupted;
the load never raises, every record is loaded, a duplicate or a reject with its line, and
loading the same file again changes nothing.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from contactkpi.config import Tenant
from contactkpi.model import TABLES
from contactkpi.model.validate import conform
from contactkpi.simulate.raw.connect import ctr_records, write_ctr
from contactkpi.sources.amazon_connect_ctr import AmazonConnectCtrSource
from contactkpi.sources.base import ReadContext, SourceFile
from contactkpi.store import REJECTS, Warehouse, load

ATTRS = {"reason": "ContactReason", "segment": "Tier", "disposition": "WrapUp"}
COLUMNS = ["contact_id", "channel", "direction", "queue", "customer_id", "agent_id",
           "parent_contact_id", "arrived_at", "answered_at", "first_response_at", "ended_at",
           "wait_s", "talk_s", "hold_s", "acw_s", "holds", "transfers", "outcome", "reason",
           "campaign", "segment", "disposition"]
T0 = pd.Timestamp("2026-03-02T08:00:00Z")


def _mapping(tmp: Path) -> Path:
    m = tmp / "mapping.toml"
    m.write_text("[connect.attributes]\n" + "".join(f'{k} = "{v}"\n' for k, v in ATTRS.items()))
    return m


_WAREHOUSE: list[Warehouse] = []


def _fresh() -> tuple[Warehouse, str]:
    """One in-memory warehouse for the module, and a new tenant that has nothing in it yet."""
    if not _WAREHOUSE:
        _WAREHOUSE.append(Warehouse.memory())
    return _WAREHOUSE[0], uuid.uuid4().hex


def _ingest(wh: Warehouse, tenant: str, path: Path, mapping: Path):
    ctx = ReadContext(tenant=Tenant(tenant), mapping=mapping, chunk_rows=7)
    return load(wh, SourceFile.of(path, "connect"), AmazonConnectCtrSource().read(path, ctx),
                tenant)


def _normal(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=range(len(df)))
    for c in COLUMNS:
        kind = TABLES["contacts"].column(c).kind.value
        s = df[c] if c in df else pd.Series([None] * len(df))
        s = s.reset_index(drop=True)
        if kind == "timestamp":
            out[c] = pd.to_datetime(s, utc=True).astype("datetime64[us, UTC]")
        elif kind in ("duration", "float"):
            out[c] = pd.to_numeric(s).astype("float64")
        elif kind == "int":
            out[c] = pd.to_numeric(s).astype("Int64")
        else:
            out[c] = s.astype("object").where(s.notna(), None)
    return out.sort_values("contact_id").reset_index(drop=True)


@st.composite
def contact_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Contacts a CTR can express: whole seconds, one transfer at most, voice-only outbound."""
    n = draw(st.integers(1, 12))
    rows = []
    for i in range(n):
        arrived = T0 + pd.Timedelta(seconds=draw(st.integers(0, 86_400)))
        word = st.sampled_from(["billing", "refund", "gold", "sale", None])
        row: dict = {"contact_id": f"k{i}", "customer_id": draw(st.sampled_from(
            ["+15550001", "+15550002", None])), "reason": draw(word), "segment": draw(word),
            "disposition": draw(word), "transfers": 0, "arrived_at": arrived}
        if draw(st.booleans()):  # inbound
            row["direction"] = "inbound"
            row["channel"] = draw(st.sampled_from(["voice", "chat", "task", "email"]))
            kind = draw(st.sampled_from(["answered", "direct", "abandoned", "timeout",
                                         "overflowed", "ivr"]))
            wait = float(draw(st.integers(0, 900)))
            if kind in ("answered", "abandoned", "timeout", "overflowed"):
                row["queue"] = draw(st.sampled_from(["Sales", "Support"]))
                row["wait_s"] = wait
            if kind in ("answered", "direct"):
                answered = arrived + pd.Timedelta(seconds=wait if kind == "answered" else 0)
                talk, hold = draw(st.integers(0, 3600)), draw(st.integers(0, 300))
                row.update(outcome="answered", answered_at=answered, agent_id=draw(
                    st.sampled_from(["ann", "bob"])), talk_s=float(talk), hold_s=float(hold),
                    acw_s=float(draw(st.integers(0, 120))), holds=draw(st.integers(0, 4)),
                    ended_at=answered + pd.Timedelta(seconds=talk + hold),
                    transfers=draw(st.integers(0, 1)))
                if row["channel"] == "chat" and draw(st.booleans()):
                    row["first_response_at"] = answered + pd.Timedelta(seconds=draw(
                        st.integers(0, 120)))
            elif kind == "ivr":
                row.update(ended_at=arrived + pd.Timedelta(seconds=30))
            else:
                row.update(outcome=kind, ended_at=arrived + pd.Timedelta(seconds=wait),
                           transfers=1 if kind == "overflowed" else 0)
            if i and draw(st.booleans()):
                row["parent_contact_id"] = f"k{draw(st.integers(0, i - 1))}"
        else:
            row.update(direction="outbound", channel="voice",
                       campaign=draw(st.sampled_from(["spring", None])),
                       agent_id=draw(st.sampled_from(["ann", None])))
            outcome = draw(st.sampled_from(["answered", "no_answer", "busy", "voicemail",
                                            "failed"]))
            row["outcome"] = outcome
            ring = draw(st.integers(1, 40))
            end = arrived + pd.Timedelta(seconds=ring)
            if outcome == "answered":
                row["answered_at"] = end
                talk = draw(st.integers(0, 900))
                end = end + pd.Timedelta(seconds=talk)
                if row["agent_id"] is not None:
                    row["talk_s"] = float(talk + ring)  # the agent is on from the dial
            row["ended_at"] = end
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("shape", ["firehose", "jsonl", "array"])
@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=contact_frames())
def test_round_trip_equals_the_frames(tmp_path: Path, shape: str, frame: pd.DataFrame) -> None:
    path = write_ctr(frame, tmp_path / f"ctr-{shape}.json", shape=shape, attributes=ATTRS)
    wh, tenant = _fresh()
    r = _ingest(wh, tenant, path, _mapping(tmp_path))
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (len(frame), len(frame), 0)
    stored = wh.table("contacts", tenant).execute()
    pd.testing.assert_frame_equal(_normal(stored), _normal(frame))


def test_single_record_file(tmp_path: Path) -> None:
    frame = pd.DataFrame([{"contact_id": "one", "channel": "voice", "direction": "inbound",
                           "queue": "Sales", "arrived_at": T0, "wait_s": 12.0,
                           "ended_at": T0 + pd.Timedelta(seconds=12), "outcome": "abandoned",
                           "transfers": 0}])
    path = write_ctr(frame, tmp_path / "one.json", shape="single")
    wh, tenant = _fresh()
    _ingest(wh, tenant, path, _mapping(tmp_path))
    pd.testing.assert_frame_equal(_normal(wh.table("contacts", tenant).execute()),
                                  _normal(frame))


@pytest.mark.parametrize("bad", [
    {"talk_s": 1.5}, {"arrived_at": T0 + pd.Timedelta(milliseconds=5)}, {"transfers": 2},
    {"channel": "sms"}, {"outcome": "callback"},
])
def test_writer_refuses_what_a_ctr_cannot_hold(bad: dict) -> None:
    row = {"contact_id": "x", "channel": "voice", "direction": "inbound", "queue": "Q",
           "arrived_at": T0, "answered_at": T0, "agent_id": "a", "talk_s": 10.0,
           "outcome": "answered", "transfers": 0}
    with pytest.raises(ValueError):
        ctr_records(pd.DataFrame([{**row, **bad}]))


# ------------------------------------------------------------------------------- fuzz

def _damage(text: str, ops: list[tuple[str, int, int]]) -> str:
    for op, a, b in ops:
        if not text:
            break
        i, j = sorted((a % len(text), b % len(text)))
        if op == "cut":
            text = text[:i] + text[j:]
        elif op == "garbage":
            text = text[:i] + '}{"x":[' + text[i:]
        elif op == "truncate":
            text = text[:max(i, 1)]
        elif op == "flip":
            text = text[:i] + chr((ord(text[i]) + 7) % 128 or 65) + text[i + 1:]
        elif op == "repeat":
            text = text + text[i:j]
    return text


@st.composite
def damaged_files(draw: st.DrawFn) -> tuple[str, str]:
    frame = draw(contact_frames())
    recs = ctr_records(frame, ATTRS)
    recs = recs + draw(st.lists(st.sampled_from(recs), max_size=3))  # re-emitted copies
    random.Random(draw(st.integers(0, 10**6))).shuffle(recs)
    shape = draw(st.sampled_from(["firehose", "jsonl", "array"]))
    if shape == "firehose":
        text = "".join(json.dumps(r) for r in recs)
    elif shape == "jsonl":
        text = "".join(json.dumps(r) + "\n" for r in recs)
    else:
        text = json.dumps(recs, indent=1)
    ops = draw(st.lists(st.tuples(st.sampled_from(["cut", "garbage", "truncate", "flip",
                                                   "repeat"]),
                                  st.integers(0, 10**6), st.integers(0, 10**6)), max_size=3))
    return shape, _damage(text, ops)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False) | st.text(max_size=6)
    | st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00",
                       "2026-02-30T00:00:00Z", "2026-03-02T09:00:00", "  ", "VOICE", "API",
                       "MONITOR", "EXPIRED"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                  max_size=3),
    max_leaves=6)


@st.composite
def mistyped_files(draw: st.DrawFn) -> tuple[str, str]:
    """Valid JSON whose fields hold values of the wrong type or absurd instants."""
    recs = ctr_records(draw(contact_frames()), ATTRS)
    for _ in range(draw(st.integers(1, 4))):
        rec = draw(st.sampled_from(recs))
        key = draw(st.sampled_from(sorted(rec)))
        if isinstance(rec[key], dict) and rec[key] and draw(st.booleans()):
            rec[key][draw(st.sampled_from(sorted(rec[key])))] = draw(JSON_VALUES)
        else:
            rec[key] = draw(JSON_VALUES)
    return "jsonl", "".join(json.dumps(r) + "\n" for r in recs)


def _accounted(tmp_path: Path, text: str) -> None:
    """Reading never raises; every record is a row or a reject; a second load is a no-op."""
    path = tmp_path / "damaged.json"
    path.write_text(text, encoding="utf-8")
    mapping = _mapping(tmp_path)
    ctx = ReadContext(tenant=Tenant("acme"), mapping=mapping, chunk_rows=5)
    records, good_lines, bad_lines = 0, set(), set()
    for batch in AmazonConnectCtrSource().read(path, ctx):
        records += batch.lines
        bad_lines |= set(batch.rejects["line"].astype(int))
        assert batch.rejects["reason"].notna().all() and batch.rejects["reason_code"].notna().all()
        if "contacts" in batch.tables:
            done = conform(TABLES["contacts"], batch.tables["contacts"])
            good_lines |= set(done.rows["_line"].astype(int))
            bad_lines |= set(done.rejects["line"].astype(int))
    assert not good_lines & bad_lines
    assert len(good_lines | bad_lines) == records  # every record: a row or a reject, by line

    wh, tenant = _fresh()
    first = _ingest(wh, tenant, path, mapping)
    before = wh.table("contacts", tenant).execute().sort_values("contact_id").reset_index(
        drop=True)
    rejects = wh.table(REJECTS, tenant).count().execute()
    assert rejects == first.rejects
    again = _ingest(wh, tenant, path, mapping)
    assert (again.rows_loaded, again.rows_replaced) == (0, 0)
    assert again.rows_duplicate == sum(c.staged for c in first.tables.values())
    after = wh.table("contacts", tenant).execute().sort_values("contact_id").reset_index(
        drop=True)
    pd.testing.assert_frame_equal(after, before)
    assert wh.table(REJECTS, tenant).count().execute() == rejects


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=damaged_files())
def test_damaged_files_never_crash_and_lose_nothing(tmp_path: Path, case: tuple[str, str]
                                                    ) -> None:
    _, text = case
    if text.strip():  # an empty file is a SourceError, tested elsewhere
        _accounted(tmp_path, text)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=mistyped_files())
def test_mistyped_fields_never_crash_and_lose_nothing(tmp_path: Path, case: tuple[str, str]
                                                      ) -> None:
    _accounted(tmp_path, case[1])
