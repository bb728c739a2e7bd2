"""The ``agent_states`` table: sessions, and inside them available, ringing, on contact,
after-contact work, outbound dialling and paused (with its reason) intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from contactkpi.simulate.engine import ANSWERED, Intervals
from contactkpi.simulate.frames import from_parts
from contactkpi.simulate.rundata import RunData

_STATE_ORDER = {"logged_in": 0, "available": 1, "ringing": 2, "outbound": 3, "on_contact": 4,
                "acw": 5, "paused": 6}


class _Rows:
    """Interval rows from several sources, keyed by a global agent number for sorting."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, dict]] = []
        self.agent_no: list[np.ndarray] = []
        self.state_no: list[np.ndarray] = []
        self.start: list[np.ndarray] = []

    def add(self, agent_no: np.ndarray, agent_id: np.ndarray, tenant: np.ndarray, state: str,
            start: np.ndarray, end: np.ndarray, **extra: np.ndarray) -> None:
        k = len(agent_no)
        if k == 0:
            return
        self.parts.append((k, {"tenant": tenant, "agent_id": agent_id, "state": state,
                               "started_at": start, "ended_at": end, **extra}))
        self.agent_no.append(agent_no)
        self.state_no.append(np.full(k, _STATE_ORDER[state]))
        self.start.append(start)

    def frame(self, clock: object) -> pd.DataFrame:
        if not self.parts:
            return from_parts("agent_states", [], clock)
        order = np.lexsort((np.concatenate(self.state_no), np.concatenate(self.start),
                            np.concatenate(self.agent_no)))
        return from_parts("agent_states", self.parts, clock, order)


def _cols(iv: Intervals) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array(iv.agent, dtype=np.int64), np.array(iv.start, dtype=np.int64),
            np.array(iv.end, dtype=np.int64))


def build(data: RunData) -> pd.DataFrame:
    """Agent state intervals of the inbound agents and the campaign agents."""
    everyone = [a for wf in data.workforces for a in wf.agents]
    number = {(a.tenant, a.agent_id): i for i, a in enumerate(everyone)}
    ids = np.array([a.agent_id for a in everyone], dtype=object)
    tenants = np.array([a.tenant for a in everyone], dtype=object)
    engine_no = np.array([number[(a.tenant, a.agent_id)] for a in data.engine_agents],
                         dtype=np.int64)
    qname = np.array([qi.sim.name for qi in data.queues], dtype=object)
    rows = _Rows()

    def add(local: np.ndarray, to_global: np.ndarray, state: str, start: np.ndarray,
            end: np.ndarray, **extra: np.ndarray) -> None:
        g = to_global[local]
        rows.add(g, ids[g], tenants[g], state, start, end, **extra)

    log = data.log
    for state, iv in (("logged_in", log.sessions), ("available", log.available)):
        a, s, e = _cols(iv)
        add(a, engine_no, state, s, e)
    a, s, e = _cols(log.pauses)
    add(a, engine_no, "paused", s, e, reason=np.array(log.pauses.reason, dtype=object))
    b = data.book
    q = b.column("queue")
    a, s, e = _cols(log.rna)
    c = np.array(log.rna.contact, dtype=np.int64)
    add(a, engine_no, "ringing", s, e, queue=qname[q[c]], contact_id=data.inbound_ids[c])

    answered = np.flatnonzero(b.column("outcome") == ANSWERED)
    agent = b.column("agent")[answered]
    take = b.column("take")[answered]
    ans = b.column("ans")[answered]
    end = b.column("end")[answered]
    busy_end = b.column("busy_end")[answered]
    cq, cid = qname[q[answered]], data.inbound_ids[answered]
    rang = ans > take
    add(agent[rang], engine_no, "ringing", take[rang], ans[rang], queue=cq[rang],
        contact_id=cid[rang])
    add(agent, engine_no, "on_contact", ans, end, queue=cq, contact_id=cid)
    wrap = busy_end > end
    add(agent[wrap], engine_no, "acw", end[wrap], busy_end[wrap], queue=cq[wrap],
        contact_id=cid[wrap])

    for (ti, _, res), out_ids in zip(data.campaigns, data.outbound_ids, strict=True):
        tenant = data.cfg.tenants[ti].name
        to_global = np.array([number[(tenant, x)] for x in res.agent_ids] or [0],
                             dtype=np.int64)
        for state, iv in (("logged_in", res.sessions), ("available", res.available)):
            a, s, e = _cols(iv)
            add(a, to_global, state, s, e)
        a, s, e = _cols(res.pauses)
        add(a, to_global, "paused", s, e, reason=np.array(res.pauses.reason, dtype=object))
        a, s, e = _cols(res.states)
        kinds = np.array(res.states.reason, dtype=object)
        k = np.array(res.states.contact, dtype=np.int64)
        for state in ("outbound", "on_contact", "acw"):
            sel = kinds == state
            add(a[sel], to_global, state, s[sel], e[sel], contact_id=out_ids[k[sel]])
    return rows.frame(data.clock)
