"""Canonical tickets and surveys -> Zendesk-style export -> ingest gives them back.

Frames built here go through ``simulate.raw.tickets`` (JSON envelope with side-loads, with or
without audits; NDJSON Full export; CSV in the account's time zone) and ``store.load``; the
stored rows equal the frames on the columns the export carries. Fuzz: exports are shuffled,
cut and corrupted; reading never crashes, every record ends as a row or a reject with its
line, and loading a file again changes nothing.
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
from contactkpi.simulate.raw.tickets import ticket_export, write_tickets_csv, write_tickets_json
from contactkpi.sources.base import ReadContext, SourceFile
from contactkpi.sources.helpdesk_tickets import HelpdeskTicketsSource
from contactkpi.store import REJECTS, Warehouse, load

T0 = pd.Timestamp("2026-03-02T08:00:00Z")
ZONE = "Europe/Paris"
CONTACT_COLUMNS = ["contact_id", "channel", "direction", "queue", "customer_id", "agent_id",
                   "arrived_at", "first_response_at", "resolved_at", "ended_at", "status",
                   "reopens", "transfers", "outcome"]
SURVEY_COLUMNS = ["survey_id", "contact_id", "customer_id", "agent_id", "csat", "sent_at",
                  "responded_at"]


def _normal(df: pd.DataFrame, table: str, columns: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=range(len(df)))
    for c in columns:
        kind = TABLES[table].column(c).kind.value
        s = (df[c] if c in df else pd.Series([None] * len(df))).reset_index(drop=True)
        if kind == "timestamp":
            out[c] = pd.to_datetime(s, utc=True).astype("datetime64[us, UTC]")
        elif kind == "int":
            out[c] = pd.to_numeric(s).astype("Int64")
        else:
            out[c] = s.astype("object").where(s.notna(), None)
    return out.sort_values(columns[0]).reset_index(drop=True)


@st.composite
def ticket_frames(draw: st.DrawFn, *, minutes: bool, numeric_queues: bool, via: bool
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tickets an export can express, and surveys about some of them."""
    n = draw(st.integers(1, 10))
    queues = ["360010", "360011", None] if numeric_queues else ["Billing", "Tech", None]
    contacts, surveys = [], []
    for i in range(n):
        tid = str(1000 + i)
        created = T0 + pd.Timedelta(seconds=draw(st.integers(0, 7 * 86_400)))
        status = draw(st.sampled_from(["new", "open", "pending", "hold", "solved", "closed"]))
        first = None
        if draw(st.booleans()):
            step = draw(st.integers(1, 3000))
            first = created + pd.Timedelta(minutes=step) if minutes else created + pd.Timedelta(
                seconds=step)
        resolved = None
        if status in ("solved", "closed"):
            resolved = created + pd.Timedelta(seconds=draw(st.integers(60, 5 * 86_400)))
        channel = draw(st.sampled_from(["ticket", "email", "web", "chat", "voice", "sms"])
                       ) if via else "ticket"
        outbound = channel in ("voice", "ticket") and draw(st.integers(0, 4)) == 0
        if outbound and via:
            channel = "voice"
        agent = draw(st.sampled_from(["501", "502", None]))
        customer = draw(st.sampled_from(["7001", "7002", None]))
        contacts.append({
            "contact_id": tid, "channel": channel,
            "direction": "outbound" if outbound else "inbound",
            "queue": draw(st.sampled_from(queues)), "customer_id": customer, "agent_id": agent,
            "arrived_at": created, "first_response_at": first, "resolved_at": resolved,
            "ended_at": resolved, "status": status, "reopens": draw(st.integers(0, 3)),
            "transfers": draw(st.integers(0, 3)),
            "outcome": "answered" if (first is not None or resolved is not None) else "open",
        })
        if resolved is not None and draw(st.booleans()):
            csat = draw(st.sampled_from([5, 1, None]))
            sent = resolved + pd.Timedelta(hours=24)
            latest = max(t for t in (created, first, resolved) if t is not None)
            responded = None if csat is None else max(sent, latest) + pd.Timedelta(
                seconds=draw(st.integers(1, 86_400)))
            surveys.append({"survey_id": tid, "contact_id": tid, "customer_id": customer,
                            "agent_id": agent, "csat": csat, "sent_at": sent,
                            "responded_at": responded})
    return pd.DataFrame(contacts), pd.DataFrame(surveys, columns=SURVEY_COLUMNS)


_WAREHOUSE: list[Warehouse] = []


def _fresh() -> tuple[Warehouse, str]:
    """One in-memory warehouse for the module, and a new tenant that has nothing in it yet."""
    if not _WAREHOUSE:
        _WAREHOUSE.append(Warehouse.memory())
    return _WAREHOUSE[0], uuid.uuid4().hex


def _ingest(wh: Warehouse, tenant: str, path: Path, mapping: Path | None = None):
    ctx = ReadContext(tenant=Tenant(tenant, timezone=ZONE), mapping=mapping)
    return load(wh, SourceFile.of(path, "tickets"), HelpdeskTicketsSource().read(path, ctx),
                tenant)


def _check(wh: Warehouse, tenant: str, contacts: pd.DataFrame, surveys: pd.DataFrame, *,
           sent: bool) -> None:
    pd.testing.assert_frame_equal(
        _normal(wh.table("contacts", tenant).execute(), "contacts", CONTACT_COLUMNS),
        _normal(contacts, "contacts", CONTACT_COLUMNS))
    columns = SURVEY_COLUMNS if sent else [c for c in SURVEY_COLUMNS if c != "sent_at"]
    pd.testing.assert_frame_equal(
        _normal(wh.table("surveys", tenant).execute(), "surveys", columns),
        _normal(surveys, "surveys", columns))


@pytest.mark.parametrize("audits", [False, True])
@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_envelope_round_trip(tmp_path: Path, audits: bool, data: st.DataObject) -> None:
    """With audits the first reply is exact to the second; without, whole minutes."""
    via = data.draw(st.booleans())
    contacts, surveys = data.draw(ticket_frames(minutes=not audits, numeric_queues=False,
                                                via=via))
    path = write_tickets_json(contacts, tmp_path / "export.json", surveys, audits=audits)
    mapping = None
    if via:
        mapping = tmp_path / "m.toml"
        mapping.write_text('[tickets]\nchannel = "via"\n')
    wh, tenant = _fresh()
    r = _ingest(wh, tenant, path, mapping)
    assert r.rows_rejected == 0
    assert r.rows_read == len(contacts) + len(surveys)  # tickets + the ratings list
    _check(wh, tenant, contacts, surveys, sent=True)


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=ticket_frames(minutes=True, numeric_queues=True, via=False))
def test_ndjson_round_trip(tmp_path: Path, frames) -> None:
    """A rating embedded in a ticket has no time of its own: responded_at is the ticket's
    updated_at, which the frames make the latest instant of the ticket; sent_at is unknown."""
    contacts, surveys = frames
    path = write_tickets_json(contacts, tmp_path / "export.ndjson", surveys, shape="ndjson")
    wh, tenant = _fresh()
    r = _ingest(wh, tenant, path)
    assert (r.rows_read, r.rows_rejected) == (len(contacts), 0)
    _check(wh, tenant, contacts, surveys, sent=False)


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=ticket_frames(minutes=True, numeric_queues=False, via=False))
def test_csv_round_trip_in_local_time(tmp_path: Path, frames) -> None:
    contacts, surveys = frames
    path = write_tickets_csv(contacts, tmp_path / "export.csv", surveys, timezone=ZONE)
    wh, tenant = _fresh()
    r = _ingest(wh, tenant, path)
    assert (r.rows_read, r.rows_rejected) == (len(contacts), 0)
    _check(wh, tenant, contacts, surveys, sent=False)


def test_writer_refuses_unrepresentable_rows() -> None:
    row = {"contact_id": "1", "channel": "ticket", "direction": "inbound",
           "arrived_at": T0, "status": "open"}
    for bad in ({"resolved_at": T0}, {"status": "solved"}, {"channel": "video"}):
        with pytest.raises(ValueError):
            ticket_export(pd.DataFrame([{**row, **bad}]))
    with pytest.raises(ValueError, match="whole minutes"):
        write_tickets_csv(pd.DataFrame([{**row, "first_response_at": T0 + pd.Timedelta(
            seconds=30)}]), Path("/nonexistent/never-written.csv"))


# ------------------------------------------------------------------------------- fuzz

def _damage(text: str, ops: list[tuple[str, int, int]]) -> str:
    for op, a, b in ops:
        if not text:
            break
        i, j = sorted((a % len(text), b % len(text)))
        if op == "cut":
            text = text[:i] + text[j:]
        elif op == "garbage":
            text = text[:i] + '","x":{[' + text[i:]
        elif op == "truncate":
            text = text[:max(i, 1)]
        elif op == "flip":
            text = text[:i] + chr((ord(text[i]) + 11) % 128 or 65) + text[i + 1:]
        elif op == "newline":
            text = text[:i] + "\n" + text[i:]
    return text


@st.composite
def damaged_exports(draw: st.DrawFn) -> tuple[str, str]:
    shape = draw(st.sampled_from(["envelope", "ndjson", "csv"]))
    contacts, surveys = draw(ticket_frames(minutes=True, numeric_queues=shape == "ndjson",
                                           via=False))
    rng = random.Random(draw(st.integers(0, 10**6)))
    if shape == "envelope":
        doc = ticket_export(contacts, surveys, audits=draw(st.booleans()))
        for key in ("tickets", "metric_sets", "audits"):
            if key in doc:
                rng.shuffle(doc[key])
        text = json.dumps(doc, indent=draw(st.sampled_from([None, 1])))
        suffix = ".json"
    else:
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "x"
            if shape == "ndjson":
                write_tickets_json(contacts, p, surveys, shape="ndjson")
            else:
                write_tickets_csv(contacts, p, surveys, timezone=ZONE)
            lines = p.read_text(encoding="utf-8").splitlines(keepends=True)
        head, body = (lines[:1], lines[1:]) if shape == "csv" else ([], lines)
        body = body + [rng.choice(body)] if body and draw(st.booleans()) else body
        rng.shuffle(body)
        text = "".join(head + body)
        suffix = ".csv" if shape == "csv" else ".ndjson"
    ops = draw(st.lists(st.tuples(st.sampled_from(["cut", "garbage", "truncate", "flip",
                                                   "newline"]),
                                  st.integers(0, 10**6), st.integers(0, 10**6)), max_size=3))
    return suffix, _damage(text, ops)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False) | st.text(max_size=6)
    | st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00",
                       "2026-02-30T00:00:00Z", "solved", "deleted", "good", "bad", "agent"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                  max_size=3),
    max_leaves=6)


@st.composite
def mistyped_exports(draw: st.DrawFn) -> tuple[str, str]:
    """Valid JSON exports whose fields hold values of the wrong type or absurd instants."""
    contacts, surveys = draw(ticket_frames(minutes=True, numeric_queues=False, via=False))
    doc = ticket_export(contacts, surveys, audits=draw(st.booleans()))
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(["tickets", "metric_sets", "satisfaction_ratings",
                                    "audits", "users", "groups"]))
        items = doc.get(key) or doc["tickets"]
        i = draw(st.integers(0, len(items) - 1))
        if draw(st.integers(0, 5)) == 0:
            items[i] = draw(JSON_VALUES)
        elif isinstance(items[i], dict) and items[i]:
            items[i][draw(st.sampled_from(sorted(items[i])))] = draw(JSON_VALUES)
    return ".json", json.dumps(doc)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=mistyped_exports())
def test_mistyped_fields_never_crash_and_lose_nothing(tmp_path: Path, case) -> None:
    _accounted(tmp_path, *case)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=damaged_exports())
def test_damaged_exports_never_crash_and_lose_nothing(tmp_path: Path, case) -> None:
    _accounted(tmp_path, *case)


def _accounted(tmp_path: Path, suffix: str, text: str) -> None:
    """Reading never raises; every record is a row or a reject; a second load is a no-op."""
    path = tmp_path / f"damaged{suffix}"
    path.write_text(text, encoding="utf-8")
    ctx = ReadContext(tenant=Tenant("acme", timezone=ZONE))
    try:
        batches = list(HelpdeskTicketsSource().read(path, ctx))
    except Exception as exc:  # only a file that cannot be read at all may stop the load
        from contactkpi.errors import SourceError
        assert isinstance(exc, SourceError), exc
        return
    records, good, bad = 0, set(), set()
    for batch in batches:
        records += batch.lines
        bad |= set(batch.rejects["line"].astype(int))
        assert batch.rejects["reason"].notna().all()
        for name, frame in batch.tables.items():
            done = conform(TABLES[name], frame)
            good |= set(done.rows["_line"].astype(int))
            bad |= set(done.rejects["line"].astype(int))
    assert len(good | bad) == records  # every record: rows or a reject, by its line

    wh, tenant = _fresh()
    first = _ingest(wh, tenant, path)
    before = {n: wh.table(n, tenant).execute() for n in ("contacts", "surveys")}
    n_rejects = wh.table(REJECTS, tenant).count().execute()
    assert n_rejects == first.rejects
    again = _ingest(wh, tenant, path)
    assert (again.rows_loaded, again.rows_replaced) == (0, 0)
    assert again.rows_duplicate == sum(c.staged for c in first.tables.values())
    for name, frame in before.items():
        key = "contact_id" if name == "contacts" else "survey_id"
        pd.testing.assert_frame_equal(
            wh.table(name, tenant).execute().sort_values(key).reset_index(drop=True),
            frame.sort_values(key).reset_index(drop=True))
    assert wh.table(REJECTS, tenant).count().execute() == n_rejects
