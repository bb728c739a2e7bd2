"""Round trip: canonical frames -> queue_log (simulate.raw.asterisk) -> ingest -> same rows.

A queue_log carries whole seconds (Asterisk stamps ``time(NULL)``), so canonical instants are
compared truncated to the second and durations as differences of truncated instants - what
Asterisk itself would have logged for those calls.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contactkpi.config import Tenant
from contactkpi.simulate import simulate
from contactkpi.simulate.raw.asterisk import queue_log_events, write_queue_log
from contactkpi.sources.asterisk import AsteriskQueueLogSource
from contactkpi.sources.base import ReadContext, SourceFile
from contactkpi.store import Warehouse, load

T0 = 1_760_000_000


def ts(s: float) -> pd.Timestamp:
    return pd.Timestamp(T0 + s, unit="s", tz="UTC")


def ingest(path: Path, tenant: str) -> Warehouse:
    wh = Warehouse.memory()
    src = AsteriskQueueLogSource()
    load(wh, SourceFile.of(path, "asterisk"), src.read(path, ReadContext(Tenant(tenant))),
         tenant=tenant)
    return wh


def _norm(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = frame[cols].copy()
    for c in cols:
        if c.endswith("_at"):
            out[c] = pd.to_datetime(out[c], utc=True).dt.floor("s").astype("datetime64[us, UTC]")
        elif c.endswith("_s") or c in ("transfers", "entry_position", "queue_position"):
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
        else:
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out.sort_values(cols[0]).reset_index(drop=True)


def test_hand_built_frames_come_back_equal(tmp_path: Path) -> None:
    contacts = pd.DataFrame({
        "contact_id": ["r1", "r2", "r3", "r4", "r5"],
        "channel": "voice", "direction": "inbound",
        "queue": ["sales", "sales", "care", "care", "care"],
        "customer_id": ["+3215550001", "+3215550002", None, "+3215550004", "+3215550005"],
        "agent_id": ["PJSIP/ann", None, None, "PJSIP/bo", None],
        "arrived_at": [ts(0), ts(10), ts(20), ts(30), ts(40)],
        "answered_at": [ts(15), None, None, ts(31), None],
        "ended_at": [ts(75), ts(19), ts(80), ts(331), ts(42)],
        "wait_s": [15.0, 9.0, 60.0, 1.0, 2.0],
        "talk_s": [60.0, None, None, 300.0, None],
        "ring_s": [3.0, None, None, 1.0, None],
        "outcome": ["answered", "abandoned", "timeout", "answered", "overflowed"],
        "transfers": [0, 0, 0, 1, 0],
        "entry_position": [1, 2, 1, 3, 1],
        "queue_position": [None, 1, 1, None, 1],
    })
    states = pd.DataFrame({
        "agent_id": ["PJSIP/ann", "PJSIP/ann", "PJSIP/bo", "PJSIP/bo"],
        "state": ["logged_in", "paused", "ringing", "logged_in"],
        "reason": [None, "coaching", "no_answer", None],
        "queue": [None, None, "sales", None],
        "contact_id": [None, None, "r1", None],
        "started_at": [ts(-100), ts(100), ts(5), ts(-50)],
        "ended_at": [ts(1000), ts(160), ts(14.5), ts(2000)],
    })
    path = tmp_path / "queue_log"
    write_queue_log(contacts, states, path)
    wh = ingest(path, "rt")
    got = wh.table("contacts", "rt").execute()
    cols = ["contact_id", "queue", "customer_id", "agent_id", "arrived_at", "answered_at",
            "ended_at", "wait_s", "talk_s", "ring_s", "outcome", "transfers",
            "entry_position", "queue_position"]
    pd.testing.assert_frame_equal(_norm(got, cols), _norm(contacts, cols))
    s = wh.table("agent_states", "rt").execute()
    kept = s[s.state != "on_contact"].sort_values(["agent_id", "state"])
    assert [(r.agent_id, r.state, r.reason, r.started_at, r.ended_at)
            for r in kept.itertuples()] == [
        ("PJSIP/ann", "logged_in", None, ts(-100), ts(1000)),
        ("PJSIP/ann", "paused", "coaching", ts(100), ts(160)),
        ("PJSIP/bo", "logged_in", None, ts(-50), ts(2000)),
        ("PJSIP/bo", "ringing", "no_answer", ts(4.5), ts(14)),  # 9500 ms, logged at 14
    ]
    on = s[s.state == "on_contact"].sort_values("started_at")
    assert on[["agent_id", "contact_id", "started_at", "ended_at"]].values.tolist() == [
        ["PJSIP/ann", "r1", ts(15), ts(75)], ["PJSIP/bo", "r4", ts(31), ts(331)]]


@pytest.fixture(scope="module")
def sim_day() -> tuple[pd.DataFrame, pd.DataFrame, str]:
    sim = simulate(seed=5, days=1)
    c, s = sim.tables["contacts"], sim.tables["agent_states"]
    tenant = str(c.tenant.iloc[0])
    return c[c.tenant == tenant], s[s.tenant == tenant], tenant


def test_a_simulated_day_comes_back_with_the_same_kpis(tmp_path: Path, sim_day) -> None:
    contacts, states, tenant = sim_day
    path = tmp_path / "queue_log"
    write_queue_log(contacts, states, path)
    wh = ingest(path, tenant)
    got = wh.table("contacts", tenant).execute().set_index("contact_id").sort_index()
    inbound = contacts[(contacts.channel == "voice") & (contacts.direction == "inbound")]
    want = inbound[inbound.outcome.isin(["answered", "abandoned", "timeout", "overflowed"])]
    want = want.set_index("contact_id").sort_index()
    assert list(got.index) == list(want.index)  # no call lost, doubled or invented
    ns = "datetime64[ns, UTC]"
    sec = {c: pd.to_datetime(want[c], utc=True).dt.floor("s").astype(ns)
           for c in ("arrived_at", "answered_at", "ended_at")}
    for c, values in sec.items():
        assert got[c].astype(ns).equals(values), c
    answered = want.outcome == "answered"
    wait = np.where(answered, (sec["answered_at"] - sec["arrived_at"]).dt.total_seconds(),
                    (sec["ended_at"] - sec["arrived_at"]).dt.total_seconds())
    assert np.array_equal(got.wait_s.to_numpy(), wait)
    talk = (sec["ended_at"] - sec["answered_at"]).dt.total_seconds()
    assert got.talk_s.fillna(-1).equals(talk.where(answered).fillna(-1))
    for col in ("queue", "outcome", "customer_id"):
        assert got[col].tolist() == want[col].tolist(), col
    assert got.agent_id.where(answered, None).tolist() == \
        want.agent_id.where(answered, None).tolist()
    assert (got.transfers.to_numpy() == want.transfers.fillna(0).to_numpy()).all()

    def kpis(frame: pd.DataFrame, wait_s: pd.Series) -> pd.DataFrame:
        f = frame.assign(w=wait_s.to_numpy(), ans=frame.outcome == "answered")
        return f.groupby("queue").apply(lambda g: pd.Series({
            "offered": len(g), "answered": g.ans.sum(),
            "abandon_rate": (g.outcome == "abandoned").mean(),
            "asa_s": g.w[g.ans].mean(),
            "service_level_20s": (g.w[g.ans] <= 20).sum() / max(len(g), 1)}),
            include_groups=False)

    pd.testing.assert_frame_equal(kpis(got, got.wait_s), kpis(want, pd.Series(wait)))


def test_a_simulated_day_keeps_sessions_pauses_and_ring_no_answers(tmp_path: Path,
                                                                   sim_day) -> None:
    contacts, states, tenant = sim_day
    path = tmp_path / "queue_log"
    write_queue_log(contacts, states, path)
    got = ingest(path, tenant).table("agent_states", tenant).execute()
    for state in ("logged_in", "paused"):
        mine = got[got.state == state]
        theirs = states[states.state == state]
        key = ["agent_id", "started_at", "ended_at"]
        a = mine[key].sort_values(key).reset_index(drop=True)
        b = theirs[key].assign(**{c: pd.to_datetime(theirs[c], utc=True).dt.floor("s")
                                  for c in ("started_at", "ended_at")})
        b = b.sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b.astype(a.dtypes.to_dict()), check_dtype=False)
        if state == "paused":
            assert sorted(mine.reason.dropna()) == sorted(theirs.reason.dropna())
    # ring-no-answer per agent: the rings that did not end in the agent's answer
    lines = queue_log_events(contacts, states)
    rna_written = lines[lines.event == "RINGNOANSWER"].groupby("agent").size()
    rna_loaded = got[(got.state == "ringing") & (got.reason == "no_answer")] \
        .groupby("agent_id").size()
    assert rna_loaded.sum() > 0
    assert rna_loaded.sort_index().tolist() == rna_written.sort_index().tolist()
