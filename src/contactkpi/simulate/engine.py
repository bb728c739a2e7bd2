"""The event loop: agents with skills serving FCFS queues, exactly.

Queue discipline (what the tests hold):

- each queue is first come, first served by arrival time;
- an agent who becomes free (logs in, ends a contact's wrap-up, returns from a pause) takes at
  once the longest-waiting contact among the queues it has skills for, looking at the queues of
  the best routing priority first (1, then 2, ...: e-mails wait while calls queue, as in a
  routing profile); if none waits it becomes idle;
- a contact that arrives while agents with its skill are idle goes to the one idle longest;
- a customer leaves the queue when patience runs out (``abandoned``) or the queue's maximum
  wait is reached (``timeout``), whichever is first; patience may be infinite;
- an agent who does not answer a ringing contact (ring-no-answer) is paused briefly and the
  contact goes back to the head of its queue, keeping its place.

Positions are read from the queue itself: ``entry_pos`` is the number of contacts waiting in
the queue once the contact has joined it (1 when an agent takes it at once), ``queue_pos`` the
contact's place when it leaves (1 when an agent takes it: always from the head; for a caller
who gives up, 1 + the contacts still waiting ahead of it; 0 while it never left).

Every time is an integer number of microseconds on the simulation clock, so durations derived
from timestamps are exact. Contacts are stored column-wise in :class:`ContactBook` (Python lists,
fast to index one value at a time); the loop appends follow-up contacts (transfers, repeat
calls of unresolved customers, redials after an abandon) to the same book as they happen.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from contactkpi.simulate.config import Dist

NEVER = 1 << 62

# contact outcome codes (engine-internal)
WAITING, ANSWERED, ABANDONED, TIMEOUT, RINGING, OPEN = 0, 1, 2, 3, 4, 5
# contact kinds
FRESH, TRANSFER, REPEAT, REDIAL = 0, 1, 2, 3
# agent states
OFF, IDLE, BUSY, PAUSED = 0, 1, 2, 3
# planned agent events
LOGIN, PAUSE, LOGOUT = 0, 1, 2
# heap event kinds
_PLAN, _FINISH, _PAUSE_END, _RNA_END, _ARRIVE, _GIVE_UP = 0, 1, 2, 3, 4, 5

#: A planned agent event: (time_us, LOGIN|PAUSE|LOGOUT, pause reason, pause duration_us).
PlanItem = tuple[int, int, str, int]


@dataclass(frozen=True)
class QueueSpec:
    """What the loop needs to know about one queue to create and route its contacts."""

    talk_s: Dist
    hold_rate: float
    hold_s: Dist
    acw_s: Dist
    ring_s: Dist
    patience_s: Dist
    max_wait_s: float
    transfer_rate: float = 0.0
    transfer_to: tuple[int, ...] = ()
    resolution_rate: float = 1.0
    repeat_rate: float = 0.0
    repeat_delay_s: Dist = Dist("constant", 0.0)
    redial_rate: float = 0.0
    redial_delay_s: Dist = Dist("constant", 0.0)
    rna_rate: float = 0.0
    rna_timeout_s: float = 15.0
    priority: int = 1  # routing: lower is served first by an agent with several skills


def _us(seconds: float) -> int:
    return NEVER if seconds >= 4e12 else int(round(seconds * 1_000_000))


class ContactBook:
    """All contacts of a run, column-wise; rows are appended, never removed.

    ``end_us`` is when follow-up contacts stop arriving: one time for every queue, or one per
    queue (the end of its tenant's last local day).
    """

    def __init__(self, specs: Sequence[QueueSpec], rng_seed: int,
                 next_open: Sequence[Callable[[int], int | None]],
                 end_us: int | Sequence[int], max_depth: int = 4) -> None:
        self.specs = list(specs)
        self.r = random.Random(rng_seed)
        self.next_open = list(next_open)
        self.queue_end = [end_us] * len(self.specs) if isinstance(end_us, int) else \
            [int(x) for x in end_us]
        self.end_us = max(self.queue_end, default=0)
        self.max_depth = max_depth
        # inputs
        self.arr: list[int] = []
        self.queue: list[int] = []
        self.deadline: list[int] = []
        self.give_up: list[int] = []
        self.ring: list[int] = []
        self.talk: list[int] = []
        self.hold: list[int] = []
        self.acw: list[int] = []
        self.rna: list[bool] = []
        self.xfer: list[int] = []
        self.res_u: list[float] = []
        self.rep_u: list[float] = []
        self.rep_delay: list[int] = []
        self.redial_u: list[float] = []
        self.redial_delay: list[int] = []
        self.customer: list[int] = []
        self.reason: list[int] = []
        self.parent: list[int] = []
        self.depth: list[int] = []
        self.kind: list[int] = []
        # outputs
        self.agent: list[int] = []
        self.take: list[int] = []
        self.ans: list[int] = []
        self.end: list[int] = []
        self.busy_end: list[int] = []
        self.outcome: list[int] = []
        self.resolved: list[bool] = []
        self.entry_pos: list[int] = []
        self.queue_pos: list[int] = []
        self.first_offer: list[int] = []
        self.watched: list[bool] = []
        self.n_fresh = 0

    def __len__(self) -> int:
        return len(self.arr)

    def column(self, name: str) -> np.ndarray:
        """A column as a numpy array (cached: call after the run only)."""
        cache = self.__dict__.setdefault("_arrays", {})
        if name not in cache:
            values = getattr(self, name)
            cache[name] = np.array(values, dtype=bool if name in ("rna", "resolved", "watched")
                                   else np.int64)
        return cache[name]

    def add_fresh(self, cols: dict[str, list]) -> None:
        """Append the pre-drawn arrivals (sorted by time) as whole columns."""
        n = len(cols["arr"])
        for name, values in cols.items():
            getattr(self, name).extend(values)
        self.parent.extend([-1] * n)
        self.depth.extend([0] * n)
        self.kind.extend([FRESH] * n)
        for name, value in (("agent", -1), ("take", -1), ("ans", -1), ("end", -1),
                            ("busy_end", -1), ("outcome", WAITING), ("resolved", False),
                            ("entry_pos", 0), ("queue_pos", 0), ("first_offer", -1),
                            ("watched", False)):
            getattr(self, name).extend([value] * n)
        self.n_fresh = len(self.arr)

    def spawn(self, q: int, t: int, parent_c: int, kind: int) -> int:
        """Append a follow-up contact of ``parent_c``'s customer arriving at ``t`` in ``q``."""
        s = self.specs[q]
        r = self.r
        rand = r.random
        c = len(self.arr)
        patience = s.patience_s.one(r)
        limit = min(patience, s.max_wait_s)
        self.arr.append(t)
        self.queue.append(q)
        self.deadline.append(NEVER if limit >= 4e12 else t + _us(limit))
        self.give_up.append(ABANDONED if patience <= s.max_wait_s else TIMEOUT)
        self.ring.append(_us(s.ring_s.one(r)))
        self.talk.append(max(_us(s.talk_s.one(r)), 1_000_000))
        self.hold.append(_us(s.hold_s.one(r)) if rand() < s.hold_rate else 0)
        self.acw.append(_us(s.acw_s.one(r)))
        self.rna.append(rand() < s.rna_rate)
        if kind != TRANSFER and s.transfer_to and rand() < s.transfer_rate:
            self.xfer.append(s.transfer_to[int(rand() * len(s.transfer_to))])
        else:
            self.xfer.append(-1)
        self.res_u.append(rand())
        self.rep_u.append(rand())
        self.rep_delay.append(_us(s.repeat_delay_s.one(r)))
        self.redial_u.append(rand())
        self.redial_delay.append(_us(s.redial_delay_s.one(r)))
        self.customer.append(self.customer[parent_c])
        self.reason.append(self.reason[parent_c])
        self.parent.append(parent_c if kind == TRANSFER else -1)
        self.depth.append(self.depth[parent_c] + (kind != TRANSFER))
        self.kind.append(kind)
        self.agent.append(-1)
        self.take.append(-1)
        self.ans.append(-1)
        self.end.append(-1)
        self.busy_end.append(-1)
        self.outcome.append(WAITING)
        self.resolved.append(False)
        self.entry_pos.append(0)
        self.queue_pos.append(0)
        self.first_offer.append(-1)
        self.watched.append(False)
        return c


@dataclass
class AgentSpec:
    """One agent as the loop sees it: skills (queue indices), speed, plan of the day(s)."""

    skills: tuple[int, ...]
    plan: list[PlanItem]
    speed: float = 1.0  # multiplies talk time
    resolve: float = 1.0  # multiplies the queue's resolution rate
    rna_pause_s: float = 60.0  # pause after letting a contact ring unanswered


@dataclass
class Intervals:
    """Intervals as columns: agent index, start, end, and a contact index or a reason."""

    agent: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    contact: list[int] = field(default_factory=list)
    reason: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.agent)


@dataclass
class EngineLog:
    """Agent intervals written by the loop (contact intervals come from the book)."""

    sessions: Intervals = field(default_factory=Intervals)
    available: Intervals = field(default_factory=Intervals)
    pauses: Intervals = field(default_factory=Intervals)  # with reason
    rna: Intervals = field(default_factory=Intervals)  # ring-no-answer, with contact


def run(book: ContactBook, agents: Sequence[AgentSpec]) -> EngineLog:
    """Simulate until nothing is left to happen; fills the book's outputs and returns the log.

    Fresh contacts (``book.n_fresh`` first rows) must be sorted by arrival.
    """
    log = EngineLog()
    ses_a, ses_s, ses_e = log.sessions.agent.append, log.sessions.start.append, \
        log.sessions.end.append
    av_a, av_s, av_e = log.available.agent.append, log.available.start.append, \
        log.available.end.append
    pa_a, pa_s, pa_e, pa_r = log.pauses.agent.append, log.pauses.start.append, \
        log.pauses.end.append, log.pauses.reason.append
    rna_log = log.rna
    arr, q_of, deadline, give_up = book.arr, book.queue, book.deadline, book.give_up
    ring, talk, hold, acw, rna, xfer = book.ring, book.talk, book.hold, book.acw, book.rna, \
        book.xfer
    res_u, rep_u, rep_delay = book.res_u, book.rep_u, book.rep_delay
    redial_u, redial_delay = book.redial_u, book.redial_delay
    agent_of, take, ans_at, end_at, busy_end = book.agent, book.take, book.ans, book.end, \
        book.busy_end
    outcome, resolved, entry_pos, first_offer = book.outcome, book.resolved, book.entry_pos, \
        book.first_offer
    queue_pos = book.queue_pos
    watched, depth = book.watched, book.depth
    specs = book.specs
    res_rate = [s.resolution_rate for s in specs]
    rep_rate = [s.repeat_rate for s in specs]
    redial_rate = [s.redial_rate for s in specs]
    rna_timeout = [_us(s.rna_timeout_s) for s in specs]
    n_queues = len(specs)
    next_open = book.next_open
    spawn = book.spawn
    queue_end = book.queue_end
    max_depth = book.max_depth

    na = len(agents)
    skills = [a.skills for a in agents]
    # an agent's skills grouped by routing priority, best first
    levels: list[list[tuple[int, ...]]] = []
    for a in agents:
        prio = sorted({specs[q].priority for q in a.skills})
        levels.append([tuple(q for q in a.skills if specs[q].priority == p) for p in prio])
    speed = [a.speed for a in agents]
    resf = [a.resolve for a in agents]
    rna_pause = [_us(a.rna_pause_s) for a in agents]
    plans = [a.plan for a in agents]
    plan_ptr = [0] * na
    state = [OFF] * na
    token = [-1] * na
    idle_since = [0] * na
    login_at = [0] * na
    pend_pauses: list[list[tuple[str, int]]] = [[] for _ in range(na)]
    pend_logout = [False] * na

    waiting: list[deque[int]] = [deque() for _ in range(n_queues)]
    nwait = [0] * n_queues
    idle_heaps: list[list[tuple[int, int, int]]] = [[] for _ in range(n_queues)]
    heap: list[tuple[int, int, int, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    ringing_agent: dict[int, int] = {}  # contact ringing unanswered -> its agent
    seq = 0
    for a in range(na):
        if plans[a]:
            heap.append((plans[a][0][0], seq, _PLAN, a))
            seq += 1
    heapq.heapify(heap)

    def abandon(c: int, t: int) -> None:
        nonlocal seq
        outcome[c] = give_up[c]
        end_at[c] = t
        q = q_of[c]
        if redial_u[c] < redial_rate[q] and depth[c] < max_depth:
            t2 = next_open[q](t + redial_delay[c])
            if t2 is not None and t2 < queue_end[q]:
                child = spawn(q, t2, c, REDIAL)
                push(heap, (t2, seq, _ARRIVE, child))
                seq += 1

    def assign(a: int, c: int, t: int) -> None:
        """Agent ``a`` (not idle) is offered contact ``c`` (out of its queue) at ``t``."""
        nonlocal seq
        if first_offer[c] < 0:
            first_offer[c] = t
        state[a] = BUSY
        if rna[c]:
            rna[c] = False
            outcome[c] = RINGING
            if not watched[c] and deadline[c] < NEVER:
                watched[c] = True
                push(heap, (deadline[c], seq, _GIVE_UP, c))
                seq += 1
            ring_end = t + rna_timeout[q_of[c]]
            rna_log.agent.append(a)
            rna_log.contact.append(c)
            rna_log.start.append(t)
            rna_log.end.append(ring_end)
            push(heap, (ring_end, seq, _RNA_END, c))
            seq += 1
            ringing_agent[c] = a
            return
        outcome[c] = ANSWERED
        answer = t + ring[c]
        tk = int(talk[c] * speed[a])
        talk[c] = tk
        end = answer + tk + hold[c]
        be = end + acw[c]
        agent_of[c] = a
        take[c] = t
        ans_at[c] = answer
        end_at[c] = end
        busy_end[c] = be
        q = q_of[c]
        x = xfer[c]
        if x >= 0 and end >= queue_end[x]:  # no transfer after the period: served here
            xfer[c] = x = -1
        if x >= 0:
            child = spawn(x, end, c, TRANSFER)
            push(heap, (end, seq, _ARRIVE, child))
            seq += 1
        elif res_u[c] < res_rate[q] * resf[a]:
            resolved[c] = True
        elif rep_u[c] < rep_rate[q] and depth[c] < max_depth:
            t2 = next_open[q](end + rep_delay[c])
            if t2 is not None and t2 < queue_end[q]:
                child = spawn(q, t2, c, REPEAT)
                push(heap, (t2, seq, _ARRIVE, child))
                seq += 1
        push(heap, (be, seq, _FINISH, a))
        seq += 1

    def go_idle(a: int, t: int) -> None:
        nonlocal seq
        state[a] = IDLE
        idle_since[a] = t
        token[a] = seq
        for q in skills[a]:
            push(idle_heaps[q], (t, seq, a))
        seq += 1

    def leave_idle(a: int, t: int) -> None:
        token[a] = -1
        if t > idle_since[a]:
            av_a(a)
            av_s(idle_since[a])
            av_e(t)

    def take_next(a: int, t: int) -> None:
        """Free agent ``a`` takes the longest-waiting contact of its skills, or goes idle."""
        best_c = -1
        best_q = -1
        best_arr = NEVER
        for level in levels[a]:
            for q in level:
                dq = waiting[q]
                while dq and outcome[dq[0]] != WAITING:
                    dq.popleft()
                if dq:
                    c = dq[0]
                    if arr[c] < best_arr:
                        best_arr = arr[c]
                        best_c = c
                        best_q = q
            if best_c >= 0:
                waiting[best_q].popleft()
                nwait[best_q] -= 1
                queue_pos[best_c] = 1
                assign(a, best_c, t)
                return
        go_idle(a, t)

    def offer(c: int, t: int) -> bool:
        """Give contact ``c`` to the longest-idle agent with its skill, if any."""
        h = idle_heaps[q_of[c]]
        while h:
            _, tok, a = pop(h)
            if token[a] == tok:
                leave_idle(a, t)
                queue_pos[c] = 1
                assign(a, c, t)
                return True
        return False

    def arrive(c: int, t: int) -> None:
        nonlocal seq
        if offer(c, t):
            entry_pos[c] = 1
            return
        q = q_of[c]
        nwait[q] += 1
        entry_pos[c] = nwait[q]
        waiting[q].append(c)
        if deadline[c] < NEVER:
            watched[c] = True
            push(heap, (deadline[c], seq, _GIVE_UP, c))
            seq += 1

    def start_pause(a: int, t: int, reason: str, dur: int) -> None:
        nonlocal seq
        state[a] = PAUSED
        pa_a(a)
        pa_s(t)
        pa_e(t + dur)
        pa_r(reason)
        push(heap, (t + dur, seq, _PAUSE_END, a))
        seq += 1

    def logout(a: int, t: int) -> None:
        state[a] = OFF
        ses_a(a)
        ses_s(login_at[a])
        ses_e(t)
        pend_logout[a] = False
        pend_pauses[a].clear()

    def free(a: int, t: int) -> None:
        """Agent ``a`` ends what it was doing: pending logout, pending pause, or work."""
        if pend_logout[a]:
            logout(a, t)
        elif pend_pauses[a]:
            reason, dur = pend_pauses[a].pop(0)
            start_pause(a, t, reason, dur)
        else:
            take_next(a, t)

    n_fresh = book.n_fresh
    i = 0
    next_arr = arr[0] if n_fresh else NEVER
    while True:
        if heap and heap[0][0] <= next_arr:
            t, _, kind, x = pop(heap)
            if kind == _FINISH:
                free(x, t)
            elif kind == _GIVE_UP:
                oc = outcome[x]
                if oc == WAITING:
                    q = q_of[x]
                    nwait[q] -= 1
                    pos = 1  # 1 + the contacts still waiting ahead of it
                    for y in waiting[q]:
                        if y == x:
                            break
                        if outcome[y] == WAITING:
                            pos += 1
                    queue_pos[x] = pos
                    abandon(x, t)
                elif oc == RINGING:
                    abandon(x, t)
            elif kind == _ARRIVE:
                arrive(x, t)
            elif kind == _PAUSE_END:
                free(x, t)
            elif kind == _RNA_END:
                c = x
                a = ringing_agent.pop(c)
                if outcome[c] == RINGING:  # back to the head of its queue, keeping its place
                    outcome[c] = WAITING
                    q = q_of[c]
                    if not offer(c, t):
                        waiting[q].appendleft(c)
                        nwait[q] += 1
                if pend_logout[a]:
                    logout(a, t)
                elif rna_pause[a] > 0:
                    start_pause(a, t, "ring_no_answer", rna_pause[a])
                else:
                    free(a, t)
            else:  # _PLAN
                a = x
                _, what, reason, dur = plans[a][plan_ptr[a]]
                plan_ptr[a] += 1
                if plan_ptr[a] < len(plans[a]):
                    push(heap, (plans[a][plan_ptr[a]][0], seq, _PLAN, a))
                    seq += 1
                st = state[a]
                if what == LOGIN:
                    if st == OFF:
                        login_at[a] = t
                        pend_logout[a] = False
                        take_next(a, t)
                    else:
                        pend_logout[a] = False
                elif what == PAUSE:
                    if st == IDLE:
                        leave_idle(a, t)
                        start_pause(a, t, reason, dur)
                    elif st != OFF:
                        pend_pauses[a].append((reason, dur))
                elif st == IDLE:
                    leave_idle(a, t)
                    logout(a, t)
                elif st != OFF:
                    pend_logout[a] = True
        elif i < n_fresh:
            t = next_arr
            c = i
            i += 1
            next_arr = arr[i] if i < n_fresh else NEVER
            arrive(c, t)
        else:
            break
    for c in range(len(outcome)):
        if outcome[c] in (WAITING, RINGING):
            outcome[c] = OPEN
            queue_pos[c] = 0  # never left the queue
    return log
