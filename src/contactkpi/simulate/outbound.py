"""An outbound campaign in progressive mode: each free agent dials the next due lead.

Leads are dialled in the order they become due; a lead that did not answer (no answer, busy,
voicemail) is due again after ``retry_delay_s`` until ``max_attempts``; an answered lead that
asked for a callback is due again the next day. Agents take their planned breaks between
dials. The dialling, ringing and voicemail time is written as the ``outbound`` agent state.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field

from contactkpi.simulate.calendar import US_PER_S
from contactkpi.simulate.config import CampaignSim
from contactkpi.simulate.engine import LOGIN, LOGOUT, PAUSE, Intervals
from contactkpi.simulate.workforce import Agent

_NO_RETRY = frozenset({"failed"})


@dataclass
class OutboundResult:
    """Dial attempts (column lists, in dial order) and agent intervals of one campaign.

    Agents are indices into ``agent_ids``; ``states`` carries the state name in ``reason``
    and the dial attempt's row in ``contact``.
    """

    agent_ids: list[str]
    rows: dict[str, list] = field(default_factory=lambda: {k: [] for k in (
        "agent", "customer", "arr", "ans", "end", "ring", "talk", "acw", "outcome",
        "disposition", "attempt", "revenue")})
    sessions: Intervals = field(default_factory=Intervals)
    available: Intervals = field(default_factory=Intervals)
    pauses: Intervals = field(default_factory=Intervals)
    states: Intervals = field(default_factory=Intervals)


def _add(iv: Intervals, agent: int, start: int, end: int, reason: str = "",
         contact: int = -1) -> None:
    iv.agent.append(agent)
    iv.start.append(start)
    iv.end.append(end)
    iv.reason.append(reason)
    iv.contact.append(contact)


def _pick(r: random.Random, weights: dict[str, float]) -> str:
    total = sum(weights.values())
    x = r.random() * total
    for k, w in weights.items():
        x -= w
        if x < 0:
            return k
    return next(reversed(weights))


def _shifts(plan: list[tuple[int, int, str, int]]) -> list[tuple[int, int, list]]:
    """(login, logout, pauses) per shift of a plan."""
    out = []
    login = None
    pauses: list[tuple[int, str, int]] = []
    for t, what, reason, dur in plan:
        if what == LOGIN:
            login, pauses = t, []
        elif what == PAUSE and login is not None:
            pauses.append((t, reason, dur))
        elif what == LOGOUT and login is not None:
            out.append((login, t, pauses))
            login = None
    return out


def run_campaign(c: CampaignSim, agents: list[Agent], seed: int, end_us: int) -> OutboundResult:
    """Simulate the campaign's dials over all its agents' shifts."""
    r = random.Random(seed)
    res = OutboundResult(agent_ids=[a.agent_id for a in agents])
    rows = res.rows
    leads: list[tuple[int, int, int]] = [(0, lead, 1) for lead in range(c.leads)]
    heap: list[tuple[int, int, int, int, int, list]] = []
    seq = 0
    for ai, ag in enumerate(agents):
        for login, logout, pauses in _shifts(ag.plan):
            heap.append((login, seq, ai, login, logout, sorted(pauses)))
            seq += 1
    heapq.heapify(heap)
    gap = int(c.gap_s * US_PER_S)
    while heap:
        t, _, ai, login, logout, pauses = heapq.heappop(heap)
        if pauses and pauses[0][0] <= t:
            _, reason, dur = pauses.pop(0)
            _add(res.pauses, ai, t, t + dur, reason)
            t2 = t + dur
        elif t >= logout:
            _add(res.sessions, ai, login, t)
            continue
        elif not leads or leads[0][0] > t:
            nxt = min([logout] + ([pauses[0][0]] if pauses else []) +
                      ([leads[0][0]] if leads else []))
            nxt = max(nxt, t + 1)
            _add(res.available, ai, t, nxt)
            t2 = nxt
        else:
            _, lead, attempt = heapq.heappop(leads)
            outcome = _pick(r, dict(c.outcomes))
            k = len(rows["arr"])
            ring = int(c.ring_s.one(r) * US_PER_S)
            disposition: str | None = outcome
            talk = acw = 0
            revenue = None
            ans = -1
            if outcome == "answered":
                ans = t + ring
                talk = max(int(c.talk_s.one(r) * US_PER_S), US_PER_S)
                acw = int(c.acw_s.one(r) * US_PER_S)
                end = ans + talk
                disposition = _pick(r, dict(c.dispositions))
                if disposition == "sale":
                    revenue = round(c.revenue.one(r), 2)
                _add(res.states, ai, t, ans, "outbound", k)
                _add(res.states, ai, ans, end, "on_contact", k)
                if acw > 0:
                    _add(res.states, ai, end, end + acw, "acw", k)
                done = end + acw
            else:
                length = {"no_answer": int(c.no_answer_s * US_PER_S),
                          "busy": 4 * US_PER_S,
                          "voicemail": ring + int(c.voicemail_s * US_PER_S),
                          "failed": 3 * US_PER_S}[outcome]
                ring = min(ring, length) if outcome != "no_answer" else length
                end = t + length
                _add(res.states, ai, t, end, "outbound", k)
                done = end
            rows["agent"].append(ai)
            rows["customer"].append(lead)
            rows["arr"].append(t)
            rows["ans"].append(ans)
            rows["end"].append(end)
            rows["ring"].append(ring)
            rows["talk"].append(talk)
            rows["acw"].append(acw)
            rows["outcome"].append(outcome)
            rows["disposition"].append(disposition)
            rows["attempt"].append(attempt)
            rows["revenue"].append(revenue)
            retry = None
            if outcome != "answered" and outcome not in _NO_RETRY:
                retry = done + int(c.retry_delay_s.one(r) * US_PER_S)
            elif disposition == "callback":
                retry = done + 86_400 * US_PER_S
            if retry is not None and attempt < c.max_attempts and retry < end_us:
                heapq.heappush(leads, (retry, lead, attempt + 1))
            if gap > 0:
                _add(res.available, ai, done, done + gap)
            t2 = done + gap
        heapq.heappush(heap, (t2, seq, ai, login, logout, pauses))
        seq += 1
    return res
