"""The ``contacts`` table (inbound, blocked, tickets, outbound) and the raw queue events.

Calls made while a tenant is closed hear its closed message: they are ``blocked``, with no
queue, no wait and no reason (they were never offered to a queue). Queued contacts carry
their position on entering the queue and, once they left it, their position when leaving
(1 when an agent took them), both read from the event loop's queue.

Inbound contact ids are numbered per tenant in order of arrival (``bri-00000001``); outbound
dial attempts have their own sequence (``kes-o0000001``). The events frame keeps what a raw
ACD log would show (enter queue, ring-no-answer, connect, transfer, complete, abandon,
timeout), so writers of source formats (Asterisk ``queue_log``) can be added on top.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from contactkpi.simulate.calendar import US_PER_S
from contactkpi.simulate.config import CampaignSim
from contactkpi.simulate.engine import ABANDONED, ANSWERED, OPEN, TIMEOUT
from contactkpi.simulate.frames import from_parts, id_strings
from contactkpi.simulate.outbound import OutboundResult
from contactkpi.simulate.rundata import RunData

_OUTCOME = np.array(["open", "answered", "abandoned", "timeout", "open", "open"], dtype=object)
_SEGMENTS = np.array(["business", "premium", "premium"] + ["standard"] * 7, dtype=object)
_CLOSE_AFTER_US = 4 * 86_400 * US_PER_S  # a solved ticket closes four days later


def _ids(codes: list[str], tenant: np.ndarray, number: np.ndarray, infix: str,
         width: int) -> np.ndarray:
    return id_strings([f"{c}-{infix}" for c in codes], tenant, number, width)


def _number_per_tenant(tenant: np.ndarray, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sequence number (1..) of each row within its tenant, in arrival order; and the order."""
    order = np.lexsort((np.arange(len(arr)), arr, tenant))
    t_sorted = tenant[order]
    starts = np.flatnonzero(np.r_[True, t_sorted[1:] != t_sorted[:-1]]) if len(order) else \
        np.array([], dtype=np.int64)
    first = np.zeros(len(order), dtype=np.int64)
    if len(order):
        first[starts] = starts
        first = np.maximum.accumulate(first)
    number = np.empty(len(order), dtype=np.int64)
    number[order] = np.arange(len(order)) - first + 1
    return number, order


def _customer_ids(customer: np.ndarray, prefix: str = "C") -> np.ndarray:
    return id_strings([prefix], np.zeros(len(customer), dtype=np.int64), customer, 7)


def _nullable_us(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, values, -1)


def build(data: RunData) -> pd.DataFrame:
    """Canonical ``contacts`` of a run (inbound, blocked, tickets, outbound dials)."""
    b = data.book
    clock = data.clock
    n = len(b)
    qinfo = data.queues
    tenant_of_q = np.array([qi.tenant for qi in qinfo], dtype=np.int64)
    qname = np.array([qi.sim.name for qi in qinfo], dtype=object)
    channel = np.array([qi.sim.channel for qi in qinfo], dtype=object)
    written_q = np.array([qi.sim.written for qi in qinfo], dtype=bool)
    tenant_names = np.array([t.name for t in data.cfg.tenants], dtype=object)
    reasons = np.array(data.reasons, dtype=object)
    agent_ids = np.array([a.agent_id for a in data.engine_agents] + [None], dtype=object)

    arr = b.column("arr")
    q = b.column("queue")
    outcome = b.column("outcome")
    ans = b.column("ans")
    end = b.column("end")
    agent = b.column("agent")
    ring = b.column("ring")
    talk = b.column("talk")
    hold = b.column("hold")
    acw = b.column("acw")
    xfer = b.column("xfer")
    parent = b.column("parent")
    customer = b.column("customer")
    reason = b.column("reason")
    resolved = b.column("resolved")
    entry_pos = b.column("entry_pos")
    queue_pos = b.column("queue_pos")

    bl = data.blocked
    m = len(bl["arr"])
    all_tenant = np.concatenate([tenant_of_q[q], tenant_of_q[bl["queue"]]]) if n + m else \
        np.array([], dtype=np.int64)
    all_arr = np.concatenate([arr, bl["arr"]])
    number, _ = _number_per_tenant(all_tenant, all_arr)
    ids = _ids(data.codes, all_tenant, number, "", 8)
    data.inbound_ids = ids[:n]

    answered = outcome == ANSWERED
    gave_up = (outcome == ABANDONED) | (outcome == TIMEOUT)
    written = written_q[q]
    transferred = answered & (xfer >= 0)

    # tickets: first response when handled, solved now or later, some reopened
    r = data.rng(90, 1)
    tk = written & answered
    resolve_s = np.zeros(n)
    reopen = np.zeros(n, dtype=bool)
    for info in qinfo:
        sel = tk & (q == info.index)
        k = int(sel.sum())
        if k:
            later = info.sim.resolve_s.sample(r, k)
            resolve_s[sel] = np.where(resolved[sel], 0.0, later)
            reopen[sel] = r.random(k) < info.sim.reopen_rate
            resolve_s[sel] += np.where(reopen[sel], info.sim.resolve_s.sample(r, k), 0.0)
    solved_at = end + np.round(resolve_s * US_PER_S).astype(np.int64)
    solved = tk & (solved_at <= clock.end_us)
    status = np.full(n, None, dtype=object)
    status[tk] = np.where(reopen[tk], "open", "pending")
    status[solved] = np.where(solved_at[solved] + _CLOSE_AFTER_US <= clock.end_us, "closed",
                              "solved")
    status[written & (outcome == OPEN)] = "new"

    disposition = np.full(n, None, dtype=object)
    disposition[answered] = np.where(transferred[answered], "transferred",
                                     np.where(resolved[answered], "resolved", "follow_up"))
    parent_ids = np.full(n, None, dtype=object)
    has_parent = parent >= 0
    parent_ids[has_parent] = data.inbound_ids[parent[has_parent]]

    def dur(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.where(mask, x / US_PER_S, np.nan)

    def ints(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.where(mask, x, np.nan)

    parts: list[tuple[int, dict]] = [(n, {
        "tenant": tenant_names[tenant_of_q[q]],
        "contact_id": data.inbound_ids,
        "channel": channel[q],
        "direction": "inbound",
        "queue": qname[q],
        "reason": reasons[reason],
        "segment": _SEGMENTS[customer % 10],
        "customer_id": _customer_ids(customer),
        "agent_id": agent_ids[np.where(answered, agent, -1)],
        "parent_contact_id": parent_ids,
        "arrived_at": arr,
        "answered_at": _nullable_us(ans, answered),
        "first_response_at": _nullable_us(end, tk),
        "ended_at": _nullable_us(end, answered | gave_up),
        "resolved_at": _nullable_us(solved_at, solved),
        "wait_s": np.where(answered, (ans - arr) / US_PER_S,
                           np.where(gave_up, (end - arr) / US_PER_S, np.nan)),
        "talk_s": dur(talk, answered),
        "hold_s": dur(hold, answered),
        "acw_s": dur(acw, answered),
        "ring_s": dur(ring, answered),
        "outcome": _OUTCOME[outcome],
        "disposition": disposition,
        "status": status,
        "holds": ints((hold > 0).astype(np.int64), answered),
        "transfers": transferred.astype(np.int64),
        "reopens": ints(reopen.astype(np.int64), tk),
        "queue_position": ints(queue_pos, queue_pos > 0),
        "entry_position": entry_pos,
    })]
    bq = bl["queue"]
    parts.append((m, {
        "tenant": tenant_names[tenant_of_q[bq]],
        "contact_id": ids[n:],
        "channel": channel[bq],
        "direction": "inbound",
        "segment": _SEGMENTS[bl["customer"] % 10],
        "customer_id": _customer_ids(bl["customer"]),
        "arrived_at": bl["arr"],
        "ended_at": bl["arr"],
        "outcome": "blocked",
        "transfers": np.zeros(m, dtype=np.int64),
    }))
    sort_tenant = [tenant_of_q[q], tenant_of_q[bq]]
    sort_arr = [arr, bl["arr"]]
    data.outbound_ids = []
    dialled: dict[int, int] = {}
    for ti, c, res in data.campaigns:
        k, cols = _outbound(data, ti, c, res, dialled.get(ti, 0))
        dialled[ti] = dialled.get(ti, 0) + k
        parts.append((k, cols))
        sort_tenant.append(np.full(k, ti, dtype=np.int64))
        sort_arr.append(cols["arrived_at"])
    sort_part = np.concatenate([np.full(k, i) for i, (k, _) in enumerate(parts)])
    order = np.lexsort((np.arange(len(sort_part)), sort_part, np.concatenate(sort_arr),
                        np.concatenate(sort_tenant)))
    return from_parts("contacts", parts, clock, order)


def _outbound(data: RunData, ti: int, c: CampaignSim, res: OutboundResult,
              first: int) -> tuple[int, dict]:
    """Dial attempts of one campaign, numbered after the tenant's ``first`` earlier ones."""
    rows = res.rows
    k = len(rows["arr"])
    arr = np.asarray(rows["arr"], dtype=np.int64)
    ans = np.asarray(rows["ans"], dtype=np.int64)
    end = np.asarray(rows["end"], dtype=np.int64)
    answered = ans >= 0
    order_number, _ = _number_per_tenant(np.zeros(k, dtype=np.int64), arr)
    ids = _ids(data.codes, np.full(k, ti), order_number + first, "o", 7)
    data.outbound_ids.append(ids)
    cust = np.asarray(rows["customer"], dtype=np.int64)
    lead_ids = np.empty(k, dtype=object)
    lead_ids[:] = [f"L-{c.name}-{x:06d}" for x in cust.tolist()]
    agent_ids = np.array(res.agent_ids, dtype=object)
    talk = np.asarray(rows["talk"], dtype=np.int64)
    return k, {
        "tenant": data.cfg.tenants[ti].name,
        "contact_id": ids,
        "channel": "voice",
        "direction": "outbound",
        "campaign": c.name,
        "script": c.script,
        "customer_id": lead_ids,
        "agent_id": agent_ids[np.asarray(rows["agent"], dtype=np.int64)] if k else
        np.array([], dtype=object),
        "arrived_at": arr,
        "answered_at": np.where(answered, ans, -1),
        "ended_at": end,
        "talk_s": np.where(answered, talk / US_PER_S, np.nan),
        "hold_s": np.where(answered, 0.0, np.nan),
        "acw_s": np.where(answered, np.asarray(rows["acw"], dtype=np.int64) / US_PER_S, np.nan),
        "ring_s": np.asarray(rows["ring"], dtype=np.int64) / US_PER_S,
        "outcome": np.asarray(rows["outcome"], dtype=object),
        "disposition": np.asarray(rows["disposition"], dtype=object),
        "attempt": np.asarray(rows["attempt"], dtype=np.int64),
        "transfers": np.zeros(k, dtype=np.int64),
        "revenue": np.array([np.nan if v is None else v for v in rows["revenue"]],
                            dtype=np.float64),
    }


def events(data: RunData) -> pd.DataFrame:
    """Queue events of the inbound contacts, in time order (one row per event).

    ``entry_position`` is the position on entering the queue (on ``enterqueue`` and the
    exits), ``queue_position`` the position when leaving it (``connect``, ``abandon``,
    ``timeout``).

    Call after :func:`build` (it numbers the contacts).
    """
    b = data.book
    arr, ans, end = b.column("arr"), b.column("ans"), b.column("end")
    outcome, agent, xfer = b.column("outcome"), b.column("agent"), b.column("xfer")
    ring, talk, hold = b.column("ring"), b.column("talk"), b.column("hold")
    entry_pos, q = b.column("entry_pos"), b.column("queue")
    queue_pos = b.column("queue_pos")
    tenant_of_q = np.array([qi.tenant for qi in data.queues], dtype=np.int64)
    tenant = np.array([t.name for t in data.cfg.tenants], dtype=object)[tenant_of_q[q]] \
        if len(q) else np.array([], dtype=object)
    n = len(arr)
    qname = np.array([qi.sim.name for qi in data.queues] + [None], dtype=object)
    agent_ids = np.array([a.agent_id for a in data.engine_agents] + [None], dtype=object)
    answered = outcome == ANSWERED
    idx = np.arange(n)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in (
        "contact", "event", "at", "rank", "agent", "wait_s", "talk_s", "hold_s", "ring_s",
        "position", "leave_position", "data")}

    def part(rows: np.ndarray, event: str, at: np.ndarray, rank: int,
             **extra: np.ndarray) -> None:
        k = len(rows)
        cols["contact"].append(rows)
        cols["event"].append(np.full(k, event, dtype=object))
        cols["at"].append(at)
        cols["rank"].append(np.full(k, rank))
        cols["agent"].append(extra.get("agent", np.full(k, -1)))
        for key in ("wait_s", "talk_s", "hold_s", "ring_s", "position", "leave_position"):
            cols[key].append(np.asarray(extra.get(key, np.full(k, np.nan)), dtype=np.float64))
        cols["data"].append(extra.get("data", np.full(k, None, dtype=object)))

    part(idx, "enterqueue", arr, 0, position=entry_pos)
    rna = data.log.rna
    if len(rna):
        c_r, a_r = np.array(rna.contact, dtype=np.int64), np.array(rna.agent, dtype=np.int64)
        s_r, e_r = np.array(rna.start, dtype=np.int64), np.array(rna.end, dtype=np.int64)
        part(c_r, "ringnoanswer", e_r, 1, agent=a_r, ring_s=(e_r - s_r) / US_PER_S)
    a = idx[answered]
    part(a, "connect", ans[a], 2, agent=agent[a], wait_s=(ans - arr)[a] / US_PER_S,
         ring_s=ring[a] / US_PER_S, leave_position=queue_pos[a])
    tr = idx[answered & (xfer >= 0)]
    part(tr, "transfer", end[tr], 3, agent=agent[tr], talk_s=talk[tr] / US_PER_S,
         hold_s=hold[tr] / US_PER_S, data=qname[xfer[tr]])
    done = idx[answered & (xfer < 0)]
    part(done, "complete", end[done], 3, agent=agent[done], talk_s=talk[done] / US_PER_S,
         hold_s=hold[done] / US_PER_S, wait_s=(ans - arr)[done] / US_PER_S)
    for code, name in ((ABANDONED, "abandon"), (TIMEOUT, "timeout")):
        sel = idx[outcome == code]
        part(sel, name, end[sel], 3, wait_s=(end - arr)[sel] / US_PER_S, position=entry_pos[sel],
             leave_position=queue_pos[sel])
    ev = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.lexsort((ev["contact"], ev["rank"], ev["at"]))
    ev = {k: v[order] for k, v in ev.items()}
    c = ev["contact"]
    return pd.DataFrame({
        "tenant": tenant[c],
        "contact_id": data.inbound_ids[c],
        "queue": qname[q[c]],
        "agent_id": agent_ids[ev["agent"]],
        "event": ev["event"],
        "at": data.clock.timestamps(ev["at"]),
        "wait_s": ev["wait_s"],
        "talk_s": ev["talk_s"],
        "hold_s": ev["hold_s"],
        "ring_s": ev["ring_s"],
        "entry_position": pd.array(ev["position"], dtype="Int64"),
        "queue_position": pd.array(ev["leave_position"], dtype="Int64"),
        "data": ev["data"],
    })
