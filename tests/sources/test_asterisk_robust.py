"""Asterisk queue_log robustness: split files, repeats, disorder, truncation, corruption.

Properties run on generated centres written as a queue_log by the writer
(``contactkpi.simulate.raw.asterisk``); each example loads into its own tenant of one shared
in-memory warehouse.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from contactkpi.config import Tenant
from contactkpi.simulate.raw.asterisk import format_lines, queue_log_events
from contactkpi.sources.asterisk import AsteriskQueueLogSource, pending_calls, state
from contactkpi.sources.base import ReadContext, SourceFile
from contactkpi.store import LoadResult, Warehouse, load

T0 = 1_700_000_000
AGENTS = ("PJSIP/a", "PJSIP/b", "PJSIP/c")
_TENANTS = itertools.count()
PROPS = settings(max_examples=8, deadline=None, derandomize=True,
                 phases=[Phase.explicit, Phase.reuse, Phase.generate],
                 suppress_health_check=[HealthCheck.too_slow,
                                        HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def wh() -> Warehouse:
    return Warehouse.memory()


def tenant() -> str:
    return f"t{next(_TENANTS)}"


def ingest(wh: Warehouse, path: Path, name: str, fast: bool | None = None) -> LoadResult:
    src = AsteriskQueueLogSource()
    if fast is not None:
        src.fast_min_bytes = 0 if fast else 1 << 62
    ctx = ReadContext(tenant=Tenant(name))
    return load(wh, SourceFile.of(path, "asterisk"), src.read(path, ctx), tenant=name)


def snapshot(wh: Warehouse, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    c = wh.table("contacts", name).execute().drop(columns="tenant")
    s = wh.table("agent_states", name).execute().drop(columns="tenant")
    return (c.sort_values("contact_id").reset_index(drop=True),
            s.sort_values(["agent_id", "state", "started_at"]).reset_index(drop=True))


def assert_same(a: tuple[pd.DataFrame, pd.DataFrame], b: tuple[pd.DataFrame, pd.DataFrame]
                ) -> None:
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])


def ts(seconds: int) -> pd.Timestamp:
    return pd.Timestamp(T0 + seconds, unit="s", tz="UTC")


@st.composite
def centres(draw: st.DrawFn) -> list[bytes]:
    """Queue_log lines (with newline) of a few calls, rings, sessions and pauses."""
    contacts, states = [], []
    t = 0
    for i in range(draw(st.integers(1, 7))):
        t += draw(st.integers(0, 30))
        outcome = draw(st.sampled_from(["answered", "answered", "abandoned", "timeout",
                                        "overflowed", "open"]))
        wait, talk = draw(st.integers(0, 60)), draw(st.integers(1, 200))
        agent = draw(st.sampled_from(AGENTS))
        talked = outcome == "answered" or (outcome == "open" and draw(st.booleans()))
        contacts.append({
            "contact_id": f"{T0 + t}.{i}", "channel": "voice", "direction": "inbound",
            "queue": draw(st.sampled_from(["q1", "q2"])), "customer_id": f"55510{i}",
            "agent_id": agent if talked else None, "arrived_at": ts(t),
            "answered_at": ts(t + wait) if talked else None,
            "ended_at": ts(t + wait + (talk if talked else 0)) if outcome != "open" else None,
            "ring_s": draw(st.integers(0, 9)) if talked else None, "outcome": outcome,
            "transfers": int(talked and draw(st.booleans())),
            "entry_position": draw(st.integers(1, 4)), "queue_position": 1,
        })
        for _ in range(draw(st.integers(0, 2))):
            end = t + draw(st.integers(0, wait))
            ms = draw(st.integers(0, 15_000))
            states.append({"agent_id": draw(st.sampled_from(AGENTS)), "state": "ringing",
                           "reason": draw(st.sampled_from(["no_answer", "canceled"])),
                           "queue": "q1", "contact_id": f"{T0 + t}.{i}",
                           "started_at": ts(end) - pd.Timedelta(milliseconds=ms),
                           "ended_at": ts(end)})
    for agent in draw(st.lists(st.sampled_from(AGENTS), unique=True, max_size=3)):
        start = draw(st.integers(0, 100))
        end = start + draw(st.integers(1, 400))
        states.append({"agent_id": agent, "state": "logged_in", "reason": None,
                       "queue": draw(st.sampled_from(["q1", "q2"])), "contact_id": None,
                       "started_at": ts(start), "ended_at": ts(end)})
        if draw(st.booleans()):
            p0 = draw(st.integers(start, end))
            states.append({"agent_id": agent, "state": "paused", "reason": "lunch",
                           "queue": "q1", "contact_id": None, "started_at": ts(p0),
                           "ended_at": ts(p0 + draw(st.integers(1, 50)))})
    frame = pd.DataFrame(contacts)
    sfr = pd.DataFrame(states) if states else None
    return [(x + "\n").encode() for x in format_lines(queue_log_events(frame, sfr)).tolist()]


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


@PROPS
@given(lines=centres(), data=st.data())
def test_split_repeat_disorder_and_reload_change_nothing(wh: Warehouse, tmp_path_factory,
                                                         lines: list[bytes],
                                                         data: st.DataObject) -> None:
    d = tmp_path_factory.mktemp("p")
    one, two, messy = tenant(), tenant(), tenant()
    full = write(d / "full", lines)
    ingest(wh, full, one)
    reference = snapshot(wh, one)
    # split at any line: loaded in order, the same rows as one file
    k = data.draw(st.integers(0, len(lines)), label="split")
    first, second = write(d / "a", lines[:k]), write(d / "b", lines[k:])
    ingest(wh, first, two)
    ingest(wh, second, two)
    assert_same(snapshot(wh, two), reference)
    # re-loading any file changes nothing (counted as duplicates)
    for path, name in ((full, one), (second, two)):
        again = ingest(wh, path, name)
        assert all(c.loaded == 0 and c.replaced == 0 for c in again.tables.values())
    assert_same(snapshot(wh, one), reference)
    assert_same(snapshot(wh, two), reference)
    # repeated lines and lines up to a few seconds out of order: still the same rows
    rng = random.Random(data.draw(st.integers(0, 10**6), label="seed"))
    noisy = lines + [rng.choice(lines) for _ in range(rng.randint(0, 3))] if lines else []
    keyed = sorted(noisy, key=lambda raw: int(raw.split(b"|", 1)[0]) + rng.random() * 4.9)
    ingest(wh, write(d / "messy", keyed), messy)
    assert_same(snapshot(wh, messy), reference)


@PROPS
@given(lines=centres(), data=st.data())
def test_a_load_committed_while_another_prepares_is_seen_by_it(tmp_path_factory,
                                                               lines: list[bytes],
                                                               data: st.DataObject) -> None:
    """The Asterisk source derives before its load's transaction (``Batch.prepare``). A load
    of the other half of the log, committed by another connection in between, must be
    seen: the result is that of loading the two halves one after the other."""
    d = tmp_path_factory.mktemp("c")
    k = data.draw(st.integers(0, len(lines)), label="split")
    first, second = write(d / "a", lines[:k]), write(d / "b", lines[k:])
    serial = Warehouse.open(d / "serial.duckdb")
    ingest(serial, second, "x")
    ingest(serial, first, "x")
    here, other = Warehouse.open(d / "w.duckdb"), Warehouse.open(d / "w.duckdb")
    src = AsteriskQueueLogSource()
    (batch,) = src.read(first, ReadContext(tenant=Tenant("x")))
    prepared: list[int] = []

    def prepare(db: object) -> None:
        batch.prepare(db)
        if not prepared:  # the other load commits after this one read the warehouse
            ingest(other, second, "x")
        prepared.append(1)

    load(here, SourceFile.of(first, "asterisk"), [replace(batch, prepare=prepare)],
         tenant="x")
    assert len(prepared) == 2  # prepared again inside the transaction
    assert_same(snapshot(here, "x"), snapshot(serial, "x"))
    for w in (serial, here, other):
        w.close()


_MUTATIONS = {
    "ts": (lambda f: [b"x" + f[0], *f[1:]], "bad_timestamp"),
    "byte": (lambda f: [f[0], f[1] + b"\xff\xfe", *f[2:]], "bad_encoding"),
    "event": (lambda f: [*f[:4], b"ZZ" + f[4], *f[5:]], "unknown_event"),
    "cut": (lambda f: f[:3], "missing_event"),
    "blank": (lambda f: [], "empty_line"),
    "wide": (lambda f: [*f, *([b"x"] * 24)], "too_many_fields"),
}


@PROPS
@given(lines=centres(), data=st.data())
def test_corrupted_lines_are_rejects_and_both_readers_agree(wh: Warehouse, tmp_path_factory,
                                                            lines: list[bytes],
                                                            data: st.DataObject) -> None:
    d = tmp_path_factory.mktemp("f")
    out, expected = [], {}
    for i, raw in enumerate(lines, start=1):
        kind = data.draw(st.sampled_from([None, None, *_MUTATIONS, "noise"]), label=f"m{i}")
        if kind is None:
            out.append(raw)
        elif kind == "noise":
            junk = data.draw(st.binary(max_size=30).filter(lambda b: b"\n" not in b))
            out.append(junk + b"\n")
            expected[i] = None  # may happen to be a valid line; must not crash
        else:
            mutate, code = _MUTATIONS[kind]
            out.append(b"|".join(mutate(raw.rstrip(b"\n").split(b"|"))) + b"\n")
            expected[i] = code
    if data.draw(st.booleans(), label="cut last line"):
        out.append(b"1700000999|dangling|q|NONE|ENTERQ")
        expected[len(out)] = "truncated_line"
    path = write(d / "queue_log", out)
    fast, exact = tenant(), tenant()
    ingest(wh, path, fast, fast=True)
    ingest(wh, path, exact, fast=False)
    assert_same(snapshot(wh, fast), snapshot(wh, exact))
    rej = wh.table("rejects").execute()
    parse = rej[rej.table_name.isna() & rej.tenant.isin([fast, exact])]
    by_tenant = {t: sorted(zip(g.line, g.reason_code, strict=True))
                 for t, g in parse.groupby("tenant")}
    assert by_tenant.get(fast, []) == by_tenant.get(exact, [])
    got = dict(by_tenant.get(exact, []))
    for line, code in expected.items():
        if code is not None:
            assert got.get(line) == code, (line, code, got)
    assert set(got) <= set(expected)  # untouched lines are never parse rejects
    assert parse.reason.notna().all()


def _log(path: Path, text: str) -> Path:
    path.write_text("".join(line.strip() + "\n" for line in text.strip().splitlines()))
    return path


def test_a_call_across_two_files_and_midnight_stays_pending_until_its_end(
        wh: Warehouse, tmp_path: Path) -> None:
    name = tenant()
    # 2023-11-14 23:59:50 UTC .. 2023-11-15 00:02:00 UTC
    day1 = _log(tmp_path / "queue_log.1", """
        1700006390|c9|support|NONE|ENTERQUEUE||5550009|1
        1700006395|c9|support|PJSIP/a|CONNECT|5|m9|1""")
    day2 = _log(tmp_path / "queue_log", """
        1700006520|c9|support|PJSIP/a|COMPLETECALLER|5|125|1""")
    ingest(wh, day1, name)
    assert len(snapshot(wh, name)[0]) == 0
    assert pending_calls(wh, name).callid.tolist() == ["c9"]
    on = snapshot(wh, name)[1]
    assert on.state.tolist() == ["on_contact"] and on.ended_at.isna().all()  # live: on a call
    result = ingest(wh, day2, name)
    assert result.tables["contacts"].loaded == 1
    assert result.tables["agent_states"].replaced == 1  # the open on_contact is closed
    c, s = snapshot(wh, name)
    assert (c.arrived_at[0], c.answered_at[0], c.ended_at[0], c.wait_s[0], c.talk_s[0]) == (
        pd.Timestamp("2023-11-14 23:59:50", tz="UTC"),
        pd.Timestamp("2023-11-14 23:59:55", tz="UTC"),
        pd.Timestamp("2023-11-15 00:02:00", tz="UTC"), 5.0, 125.0)
    assert s.ended_at.tolist() == [pd.Timestamp("2023-11-15 00:02:00", tz="UTC")]
    assert len(pending_calls(wh, name)) == 0


def test_a_late_line_moving_a_session_start_leaves_no_stale_interval(
        wh: Warehouse, tmp_path: Path) -> None:
    name = tenant()
    ingest(wh, _log(tmp_path / "a", "1700000100|MANAGER|q2|PJSIP/a|ADDMEMBER|"), name)
    assert snapshot(wh, name)[1].started_at.tolist() == [ts(100)]
    ingest(wh, _log(tmp_path / "b", """
        1700000099|MANAGER|q1|PJSIP/a|ADDMEMBER|
        1700000200|MANAGER|q1|PJSIP/a|REMOVEMEMBER|
        1700000200|MANAGER|q2|PJSIP/a|REMOVEMEMBER|"""), name)
    s = snapshot(wh, name)[1]
    assert [(r.state, r.started_at, r.ended_at) for r in s.itertuples()] == [
        ("logged_in", ts(99), ts(200))]


def test_a_truncated_last_line_is_read_again_when_complete(wh: Warehouse,
                                                           tmp_path: Path) -> None:
    whole = (b"1700000000|c1|q|NONE|ENTERQUEUE||555|1\n"
             b"1700000009|c1|q|NONE|ABANDON|1|1|9\n")
    live, done = tenant(), tenant()
    path = tmp_path / "queue_log"
    path.write_bytes(whole[:-12])  # Asterisk is writing the ABANDON line
    first = ingest(wh, path, live)
    assert first.rows_rejected == 1 and len(snapshot(wh, live)[0]) == 0
    path.write_bytes(whole)
    ingest(wh, path, live)
    ingest(wh, path, done)
    assert_same(snapshot(wh, live), snapshot(wh, done))
    assert snapshot(wh, live)[0].outcome.tolist() == ["abandoned"]


def test_a_failed_load_leaves_nothing_behind(wh: Warehouse, tmp_path: Path) -> None:
    name = tenant()
    path = _log(tmp_path / "q", """
        1700000000|c1|q|NONE|ENTERQUEUE||555|1
        1700000009|c1|q|NONE|ABANDON|1|1|9""")
    db = wh.raw_duckdb()
    src = AsteriskQueueLogSource()

    def boom(_: LoadResult) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        load(wh, SourceFile.of(path, "asterisk"), src.read(path, ReadContext(Tenant(name))),
             tenant=name, on_batch=boom)
    (stored,) = db.execute("SELECT count(*) FROM asterisk_events JOIN asterisk_tenants "
                           "USING (tenant_id) WHERE tenant = ?", [name]).fetchone()
    assert stored == 0 and len(snapshot(wh, name)[0]) == 0
    ingest(wh, path, name)
    assert len(snapshot(wh, name)[0]) == 1


def test_the_fast_reader_is_used_when_it_can_be_and_agrees(wh: Warehouse,
                                                           tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parent / "data" / "asterisk" / "calls.log").read_bytes()
    for name, body, fast_used in (("clean", text, True),
                                  ("blank line", text.replace(b"\n", b"\n\n", 1), False),
                                  ("crlf", text.replace(b"\n", b"\r\n"), None)):
        path = write(tmp_path / name.replace(" ", "_"), [body])
        results = {}
        for fast in (True, False):
            src = AsteriskQueueLogSource(fast_min_bytes=0 if fast else 1 << 62)
            results[fast] = tenant()
            load(wh, SourceFile.of(path, "asterisk"),
                 src.read(path, ReadContext(Tenant(results[fast]))), tenant=results[fast])
            if fast_used is not None:  # CRLF: up to DuckDB's reader; the result is the same
                assert src.timings.fast_path is (fast and fast_used), name
        assert_same(snapshot(wh, results[True]), snapshot(wh, results[False]))
        assert len(snapshot(wh, results[True])[0]) == 12


def test_the_exact_reader_reads_a_large_file_in_blocks_the_same_way(
        wh: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from contactkpi.sources.asterisk import source as module

    text = (Path(__file__).resolve().parent / "data" / "asterisk" / "calls.log").read_bytes()
    path = write(tmp_path / "q", [text, b"1700009999|c|q|NONE|ENTERQ"])
    whole, blocks = tenant(), tenant()
    ingest(wh, path, whole, fast=False)
    monkeypatch.setattr(module, "_EXACT_BLOCK", 100)  # a few lines per block
    result = ingest(wh, path, blocks, fast=False)
    assert result.rows_read == 39 and result.rows_rejected == 1
    assert_same(snapshot(wh, whole), snapshot(wh, blocks))


def test_events_stored_by_the_earlier_layout_are_read_then_moved(tmp_path: Path) -> None:
    """Before the tenant number, events were stored with the tenant's name and the typed
    parameters: a call pending in such a table is finished by the next load, which moves
    the stored events to the current layout."""
    wh = Warehouse.open(tmp_path / "w.duckdb")
    db = wh.raw_duckdb()
    db.execute("""
        CREATE TABLE asterisk_events (
          tenant VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, callid VARCHAR NOT NULL,
          queue VARCHAR NOT NULL, agent VARCHAR NOT NULL, event VARCHAR NOT NULL,
          data VARCHAR NOT NULL, kind VARCHAR NOT NULL, rank UTINYINT NOT NULL,
          n_wait BIGINT, n_talk BIGINT, n_ring BIGINT, n_pos BIGINT, n_opos BIGINT,
          txt VARCHAR)""")
    db.execute("""
        INSERT INTO asterisk_events VALUES
          ('old', TIMESTAMP '2023-11-14 23:59:50', 'c9', 'support', 'NONE', 'ENTERQUEUE',
           '|5550009|1', 'call', 2, NULL, NULL, NULL, NULL, 1, '5550009'),
          ('old', TIMESTAMP '2023-11-14 23:59:55', 'c9', 'support', 'PJSIP/a', 'CONNECT',
           '5|m9|1', 'call', 6, 5, NULL, 1, NULL, NULL, NULL)""")
    assert pending_calls(wh, "old").callid.tolist() == ["c9"]
    ingest(wh, _log(tmp_path / "queue_log", """
        1700006520|c9|support|PJSIP/a|COMPLETECALLER|5|125|1"""), "old")
    c = snapshot(wh, "old")[0]
    assert (c.customer_id[0], c.arrived_at[0], c.wait_s[0], c.talk_s[0], c.ring_s[0]) == (
        "5550009", pd.Timestamp("2023-11-14 23:59:50", tz="UTC"), 5.0, 125.0, 1.0)
    columns = {r[0] for r in db.execute("DESCRIBE asterisk_events").fetchall()}
    assert "tenant" not in columns and "tenant_id" in columns
    (stored,) = db.execute("SELECT count(*) FROM asterisk_events").fetchone()
    assert stored == 3 and len(pending_calls(wh, "old")) == 0
    wh.close()


@pytest.fixture
def keep_60s(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finished calls are closed once the newest event is a minute later (not a day)."""
    monkeypatch.setattr(state, "KEEP_FINISHED_S", 60)


def _stored_callids(wh: Warehouse, name: str) -> set[str]:
    return {r[0] for r in wh.raw_duckdb().execute(
        "SELECT DISTINCT callid FROM asterisk_events JOIN asterisk_tenants USING (tenant_id) "
        "WHERE tenant = ?", [name]).fetchall()}


def _rejects(wh: Warehouse, result: LoadResult) -> list[tuple[int, str, str | None, str]]:
    rej = wh.table("rejects").execute()
    rej = rej[rej.load_id == result.load_id]
    return sorted((int(r.line), r.reason_code, r.field, r.value) for r in rej.itertuples())


def test_a_finished_call_is_closed_later_and_only_a_new_line_of_it_is_rejected(
        wh: Warehouse, tmp_path: Path, keep_60s: None) -> None:
    name = tenant()
    first = _log(tmp_path / "a", """
        1700000000|c1|q|NONE|ENTERQUEUE||555|1
        1700000005|c1|q|PJSIP/a|CONNECT|5|m1|2
        1700000010|c3|q|NONE|ENTERQUEUE||557|1
        1700000020|c4|q|PJSIP/b|CONNECT|4|m4|1
        1700000030|c4|q|PJSIP/b|COMPLETEAGENT|4|10|1
        1700000100|c1|q|PJSIP/a|COMPLETECALLER|5|95|1
        1700001000|c2|q|NONE|ENTERQUEUE||556|1
        1700001010|c2|q|NONE|ABANDON|1|1|10""")
    ingest(wh, first, name)
    # c1 ended 910 s before the newest event: closed; c3 is pending, c4 has no ENTERQUEUE
    assert _stored_callids(wh, name) == {"c2", "c3", "c4"}
    assert pending_calls(wh, name).callid.tolist() == ["c3"]
    before = snapshot(wh, name)
    assert sorted(before[0].contact_id) == ["c1", "c2", "c4"]
    again = ingest(wh, first, name)  # every line is known by its key: nothing to say
    assert again.rows_rejected == 0
    assert all(c.loaded == 0 and c.replaced == 0 for c in again.tables.values())
    assert_same(snapshot(wh, name), before)
    later = ingest(wh, _log(tmp_path / "b", """
        1700000000|c1|q|NONE|DID|5551234
        1700000003|c1|q|PJSIP/c|RINGNOANSWER|2000
        1700000015|c4|q|NONE|ENTERQUEUE||558|2
        1700001020|c3|q|NONE|ABANDON|1|1|1010"""), name)
    # a DID changes no contact; the ring of closed c1 cannot be derived any more
    assert _rejects(wh, later) == [(2, "late_event", "callid", "c1")]
    c = snapshot(wh, name)[0].set_index("contact_id")
    assert c.loc["c1"].equals(before[0].set_index("contact_id").loc["c1"])
    assert c.loc["c4", "arrived_at"] == ts(15) and c.loc["c4", "customer_id"] == "558"
    assert c.loc["c3", "outcome"] == "abandoned"
    # c4 now has its ENTERQUEUE and ended long ago: closed by the load that touched it
    assert _stored_callids(wh, name) == {"c2", "c3"}
    # a load of later calls closes the finished calls it does not touch
    ingest(wh, _log(tmp_path / "c", "1700005000|c5|q|NONE|ENTERQUEUE||559|1"), name)
    assert _stored_callids(wh, name) == {"c5"}
    assert pending_calls(wh, name).callid.tolist() == ["c5"]


def test_keys_written_by_another_duckdb_never_count_a_line_twice(
        wh: Warehouse, tmp_path: Path, keep_60s: None) -> None:
    """DuckDB's ``hash`` may change between versions: stored keys then match nothing. An open
    call's events are still compared whole, and a closed call's lines become rejects, so
    re-loading a file still changes no row."""
    name = tenant()
    path = _log(tmp_path / "a", """
        1700000000|c1|q|NONE|ENTERQUEUE||555|1
        1700000100|c1|q|NONE|ABANDON|1|1|100
        1700001000|c2|q|NONE|ENTERQUEUE||556|1
        1700001005|c2|q|PJSIP/a|CONNECT|5|m2|1
        1700001010|c2|q|PJSIP/a|COMPLETEAGENT|5|5|1""")
    ingest(wh, path, name)
    before = snapshot(wh, name)
    wh.raw_duckdb().execute("UPDATE asterisk_event_keys SET h = h + 1")
    again = ingest(wh, path, name)
    assert all(c.loaded == 0 and c.replaced == 0 for c in again.tables.values())
    assert _rejects(wh, again) == [(1, "late_event", "callid", "c1"),
                                   (2, "late_event", "callid", "c1")]
    assert_same(snapshot(wh, name), before)
    (stored,) = wh.raw_duckdb().execute(
        "SELECT count(*) FROM asterisk_events e JOIN asterisk_tenants USING (tenant_id) "
        "WHERE tenant = ?", [name]).fetchone()
    assert stored == 3  # c2's events, once


@PROPS
@given(lines=centres(), data=st.data())
def test_closing_finished_calls_at_once_changes_no_result(wh: Warehouse, tmp_path_factory,
                                                          lines: list[bytes],
                                                          data: st.DataObject) -> None:
    """With no time kept after a call ends, a log split anywhere and loaded in order still
    gives the rows of one file, and re-loading either file changes and rejects nothing."""
    d = tmp_path_factory.mktemp("k")
    one, two = tenant(), tenant()
    keep = state.KEEP_FINISHED_S
    state.KEEP_FINISHED_S = 0
    try:
        ingest(wh, write(d / "full", lines), one)
        k = data.draw(st.integers(0, len(lines)), label="split")
        first, second = write(d / "a", lines[:k]), write(d / "b", lines[k:])
        for path in (first, second):
            assert ingest(wh, path, two).rows_rejected == 0
        assert_same(snapshot(wh, two), snapshot(wh, one))
        for path in (first, second, d / "full"):
            again = ingest(wh, path, two)
            assert again.rows_rejected == 0
            assert all(c.loaded == 0 and c.replaced == 0 for c in again.tables.values())
        assert_same(snapshot(wh, two), snapshot(wh, one))
    finally:
        state.KEEP_FINISHED_S = keep


def test_the_fast_reader_numbers_lines_in_file_order_when_read_in_parallel(
        wh: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path reads, checks and types the file in one pass and numbers the lines by
    DuckDB's row order (no lines table): with the file cut in small buffers read by
    several threads, the rejects still name the right lines and the rows match the exact
    reader's."""
    from contactkpi.sources.asterisk import lines as module

    rng = random.Random(5)
    contacts = []
    for i in range(12_000):
        t, wait = 3 * i, rng.randint(0, 40)
        answered = rng.random() < 0.8
        contacts.append({
            "contact_id": f"{T0 + t}.{i}", "channel": "voice", "direction": "inbound",
            "queue": rng.choice(["q1", "q2"]), "customer_id": f"555{i:05d}",
            "agent_id": rng.choice(AGENTS) if answered else None, "arrived_at": ts(t),
            "answered_at": ts(t + wait) if answered else None,
            "ended_at": ts(t + wait + (rng.randint(1, 300) if answered else 0)),
            "ring_s": rng.randint(0, 9) if answered else None,
            "outcome": "answered" if answered else "abandoned", "transfers": 0,
            "entry_position": rng.randint(1, 4), "queue_position": 1})
    lines = [(x + "\n").encode() for x in
             format_lines(queue_log_events(pd.DataFrame(contacts), None)).tolist()]
    bad = [1, 5_001, 17_777, 29_999, len(lines)]
    for n in bad:
        lines[n - 1] = b"x" + lines[n - 1]
    path = write(tmp_path / "queue_log", lines)
    monkeypatch.setattr(module, "FAST_BUFFER_BYTES", 1 << 18)
    assert path.stat().st_size > 6 << 18  # six buffers or more
    named = {}
    for fast in (True, False):
        src = AsteriskQueueLogSource(fast_min_bytes=0 if fast else 1 << 62)
        named[fast] = tenant()
        result = load(wh, SourceFile.of(path, "asterisk"),
                      src.read(path, ReadContext(Tenant(named[fast]))), tenant=named[fast])
        assert src.timings.fast_path is fast
        assert _rejects(wh, result) == [(n, "bad_timestamp", "time",
                                         lines[n - 1].split(b"|")[0].decode()) for n in bad]
    assert_same(snapshot(wh, named[True]), snapshot(wh, named[False]))


def test_a_callid_holding_a_hash_leaves_the_contact_ids_to_the_loader(
        wh: Warehouse, tmp_path: Path) -> None:
    """Contact ids are ``callid`` and ``callid#visit``: unique, so the loader does not group
    them again - unless a callid holds a ``#``. Then ``c1``'s second visit and the call
    ``c1#2`` share an id, and the loader's keyed merge keeps one row (the later line)."""
    name = tenant()
    result = ingest(wh, _log(tmp_path / "a", """
        1700000000|c1|q1|NONE|ENTERQUEUE||555|1
        1700000030|c1|q1|NONE|EXITWITHTIMEOUT|1|1|30
        1700000031|c1|q2|NONE|ENTERQUEUE||555|1
        1700000040|c1|q2|NONE|ABANDON|1|1|9
        1700000050|c1#2|q3|NONE|ENTERQUEUE||556|1
        1700000060|c1#2|q3|NONE|ABANDON|1|1|10"""), name)
    c = snapshot(wh, name)[0]
    assert c.contact_id.tolist() == ["c1", "c1#2"]
    assert c.queue.tolist() == ["q1", "q3"]
    assert result.tables["contacts"].duplicate == 1
